"""A checkpoint cache: "load if present, else train".

A trained model is stored under ``COURSE_CACHE`` (default ``~/.cache/course_lib``, or
``$XDG_CACHE_HOME/course_lib``) in a file whose name is a hash of everything that
determines the result: the model's name and configuration, the run profile's budget, the
data and the seed. Changing any hyper-parameter therefore changes the key and misses the
cache.

Files hold only tensors, numbers and strings, and are read with
``torch.load(weights_only=True)``, so a cache file can never run code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from course_lib.training import History, progress_mode, summary_line

CACHE_FORMAT = 1

M = TypeVar("M", bound=nn.Module)


def cache_dir() -> Path:
    """The cache folder: ``$COURSE_CACHE``, else ``$XDG_CACHE_HOME/course_lib``, else
    ``~/.cache/course_lib``."""
    explicit = os.environ.get("COURSE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "course_lib"


def describe_data(data: torch.Tensor) -> dict[str, Any]:
    """A short JSON-able description of a tensor for cache keys: shape, sum, and a hash
    of a strided sample.

    Two different training sets (or noise tensors) get different descriptions, so models
    trained on them get different cache keys; computing it reads at most about 200 000
    values.
    """
    flat = data.detach().reshape(-1)
    sample = flat[:: max(1, flat.numel() // 200_000)].float().cpu().contiguous()
    digest = hashlib.sha256(sample.numpy().tobytes()).hexdigest()[:16]
    return {
        "shape": list(data.shape),
        "sum": round(float(flat.double().sum()), 3),
        "sample_sha256": digest,
    }


def cache_key(name: str, config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit key for ``name`` and a JSON-serialisable ``config``.

    Raises:
        TypeError: when ``config`` holds something JSON cannot encode (convert it to a
            string first).
    """
    text = json.dumps(
        {"name": name, "format": CACHE_FORMAT, "config": config},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(name: str, config: Mapping[str, Any]) -> Path:
    """The file that holds (or will hold) the run ``name`` with ``config``."""
    return cache_dir() / f"{name}-{cache_key(name, config)}.pt"


def cached_training(
    name: str,
    config: Mapping[str, Any],
    model: M,
    train: Callable[[M], History],
    *,
    enabled: bool = True,
    verbose: bool = True,
) -> tuple[M, History, bool]:
    """Load ``model``'s weights and history from the cache, or train it and store them.

    Args:
        name: a short label for the model, e.g. ``"vae-mlp"`` (also the start of the
            file name).
        config: everything that determines the trained weights (hyper-parameters,
            profile name and budget, data description, seed); JSON-serialisable.
        model: a freshly built model; its weights are replaced on a hit.
        train: called as ``train(model)`` on a miss; trains in place and returns the
            history.
        enabled: ``False`` always trains and writes nothing (``COURSE_CACHE=off`` does
            the same).
        verbose: on a hit, print the run's summary line
            (:func:`course_lib.training.summary_line`, the same line training printed)
            unless ``COURSE_PROGRESS=off``; a miss prints what training prints. No file
            paths: :func:`cache_path` gives the file.

    A hit is not announced on the page. Tools that count hits (``tools/
    time_lessons.py``) set ``COURSE_CACHE_HITS`` to a file: each hit appends ``name``
    and a newline to it.

    Returns:
        ``(model, history, hit)`` where ``hit`` says whether the weights came from the
        cache.
    """
    enabled = enabled and os.environ.get("COURSE_CACHE", "").lower() != "off"
    verbose = verbose and progress_mode() != "off"
    path = cache_path(name, config)
    if enabled and path.is_file():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(stored["state_dict"])
            history = History.from_dict(stored["history"])
        # a partial or stale file: train again and overwrite it
        except Exception as error:
            if verbose:
                print(
                    f"{name}: the cached weights could not be read "
                    f"({type(error).__name__}); training again"
                )
        else:
            if verbose:
                print(summary_line(name, history), flush=True)
            hits = os.environ.get("COURSE_CACHE_HITS")
            if hits:
                with open(hits, "a") as log:
                    log.write(f"{name}\n")
            return model, history, True
    history = train(model)
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        # only loadable with weights_only
        plain_config = json.loads(json.dumps(dict(config), default=str))
        torch.save(
            {"state_dict": state, "history": history.to_dict(), "config": plain_config},
            temporary,
        )
        os.replace(temporary, path)
    return model, history, False
