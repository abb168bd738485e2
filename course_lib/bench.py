"""The benchmark command: figures that prove the course's code is fast and its models work.

Usage::

    python -m course_lib.bench                       # every benchmark, profile chosen as usual
    python -m course_lib.bench --profile cpu --only loader_speed --json benchmarks/cpu.json

Each benchmark returns :class:`Result` rows; the command prints them as a table (figure, value,
target, pass/fail, seconds, device) and optionally writes them as JSON. A missed target is printed,
never hidden, and makes the command exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from course_lib.errors import CourseError
from course_lib.settings import Settings, setup


@dataclass
class Result:
    """One benchmark figure.

    Attributes:
        name: short identifier, e.g. ``"loader_speed.ratio"``.
        value: the measured value.
        unit: e.g. ``"nats"``, ``"dB"``, ``"x"``, ``"images/s"``.
        target: human-readable target, e.g. ``"<= 0.5"``, or ``""`` for a figure without one.
        passed: whether the target is met (``None`` when there is no target).
        seconds: wall time spent producing the figure.
        device: where it ran, e.g. ``"cpu"`` or ``"cuda (NVIDIA H100)"``.
        profile: the run profile.
    """

    name: str
    value: float
    unit: str
    target: str
    passed: bool | None
    seconds: float
    device: str
    profile: str


Benchmark = Callable[[Settings], list[Result]]
BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str) -> Callable[[Benchmark], Benchmark]:
    """Decorator adding a benchmark function to :data:`BENCHMARKS` under ``name``."""

    def add(function: Benchmark) -> Benchmark:
        BENCHMARKS[name] = function
        return function

    return add


def device_label(settings: Settings) -> str:
    """``"cpu (N threads)"`` or ``"cuda (GPU name)"``."""
    if settings.device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(settings.device)})"
    return f"{settings.device.type} ({torch.get_num_threads()} threads, {platform.machine()})"


def write_mnist_idx_files(root: Path) -> None:
    """Write the embedded MNIST as the four raw IDX files torchvision's ``MNIST`` class reads.

    This lets the benchmark compare with ``torchvision.datasets.MNIST`` without any download.
    """
    from course_lib.data import load_mnist

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = load_mnist(split)
        pixels = (images * 255).round().to(torch.uint8).squeeze(1).numpy()
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, len(pixels), 28, 28) + pixels.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, len(labels)) + labels.numpy().astype(np.uint8).tobytes()
        )


LOADER_REPEATS = 3  # epochs per side in the loader benchmark; the median is reported


@register("loader_speed")
def loader_speed(settings: Settings) -> list[Result]:
    """One epoch of the pytorch/examples VAE fed by TensorBatches vs torchvision MNIST + DataLoader.

    Both sides train the same model (784-400-20, Bernoulli ELBO summed over pixels, batch 128,
    Adam 1e-3) with the same step function on all 60 000 training images; only the data source
    differs. Each side runs :data:`LOADER_REPEATS` epochs, interleaved with the other side's, and the
    judged figure is the ratio of the median whole-epoch times; the "loading only" rows time the
    same two iterators with no model, which shows the iterator's own cost (on a CPU the model's
    arithmetic dominates an epoch, so the whole-epoch ratio cannot fall far below 1 there).
    The DataLoader side follows pytorch/examples ``vae/main.py``: ``ToTensor()``,
    ``shuffle=True``, and ``num_workers=1, pin_memory=True`` only on CUDA.
    """
    import torchvision
    from torch.utils.data import DataLoader

    from course_lib.batches import TensorBatches
    from course_lib.data import load_mnist
    from course_lib.objectives import elbo
    from course_lib.vae import MLPVAE

    device = settings.device

    def one_epoch(batches) -> float:  # noqa: ANN001
        torch.manual_seed(settings.seed)
        model = MLPVAE().to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        started = time.perf_counter()
        for x, _ in batches:
            x = x.to(device, non_blocking=True)
            loss = -elbo(model, x, check=False).elbo.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    images, labels = load_mnist("train")
    ours_batches = TensorBatches(images, labels, batch_size=128, device=device, seed=settings.seed)
    with tempfile.TemporaryDirectory() as root:
        write_mnist_idx_files(Path(root))
        dataset = torchvision.datasets.MNIST(
            root, train=True, download=False, transform=torchvision.transforms.ToTensor()
        )
        extra = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
        loader = DataLoader(dataset, batch_size=128, shuffle=True, **extra)
        one_epoch(TensorBatches(images[:2048], labels[:2048], batch_size=128, device=device))  # warm-up
        ours_runs, theirs_runs = [], []
        for _ in range(LOADER_REPEATS):  # interleaved, so a change of machine load hits both sides
            ours_runs.append(one_epoch(ours_batches))
            theirs_runs.append(one_epoch(loader))
        ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
        ours_loading, theirs_loading = loading_only(ours_batches, device), loading_only(loader, device)
    ratio = ours / theirs
    label, profile = device_label(settings), settings.profile.name
    n = len(images)
    return [
        Result("loader_speed.ours_epoch", ours, "s", "", None, ours, label, profile),
        Result("loader_speed.dataloader_epoch", theirs, "s", "", None, theirs, label, profile),
        Result("loader_speed.ours_images_per_second", n / ours, "images/s", "", None, ours, label, profile),
        Result("loader_speed.ratio", ratio, "x", "<= 0.5", ratio <= 0.5, ours + theirs, label, profile),
        Result("loader_speed.ours_loading_only", ours_loading, "s", "", None, ours_loading, label, profile),
        Result("loader_speed.dataloader_loading_only", theirs_loading, "s", "", None, theirs_loading, label, profile),
        Result("loader_speed.loading_only_ratio", ours_loading / theirs_loading, "x", "", None,
               ours_loading + theirs_loading, label, profile),
    ]


def loading_only(batches, device: torch.device) -> float:  # noqa: ANN001 - any iterable of (x, y) batches
    """Seconds to draw one epoch of batches and move them to ``device``, with no model: the loader's own cost."""
    started = time.perf_counter()
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def format_table(results: list[Result]) -> str:
    """The results as an aligned plain-text table."""
    header = ("figure", "value", "unit", "target", "pass", "seconds", "device")
    rows = [
        (r.name, f"{r.value:.4g}", r.unit, r.target or "-",
         "-" if r.passed is None else ("PASS" if r.passed else "MISS"), f"{r.seconds:.1f}", r.device)
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_lib.bench`` and ``course-bench``."""
    import course_lib.benchmarks  # noqa: F401 - registers the model benchmarks

    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", help="smoke, cpu or gpu (default: COURSE_PROFILE or automatic)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only this benchmark (repeatable); known: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse-cache", action="store_true",
                        help="load models from COURSE_CACHE when present (default: train everything afresh, "
                             "so training times are real)")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"error: unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    try:
        settings = setup(args.seed, profile=args.profile)
    except CourseError as error:
        raise SystemExit(f"error: {error}") from None
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as fresh_cache:
        previous = os.environ.get("COURSE_CACHE")
        if not args.reuse_cache:  # models shared between benchmarks are still trained only once per run
            os.environ["COURSE_CACHE"] = fresh_cache
        try:
            for name in names:
                print(f"bench: running {name} ...", flush=True)
                results.extend(BENCHMARKS[name](settings))
        finally:
            if previous is None:
                os.environ.pop("COURSE_CACHE", None)
            else:
                os.environ["COURSE_CACHE"] = previous
    print(format_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        print(f"bench: wrote {args.json}")
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: the benchmarks register themselves in
    # course_lib.bench.BENCHMARKS, which is a different dict from this script's when run with -m.
    from course_lib.bench import main as module_main

    sys.exit(module_main())
