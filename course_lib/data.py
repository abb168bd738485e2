"""MNIST, embedded and exact, plus the small data helpers every lesson uses.

MNIST ships inside the package (``course_lib/assets/mnist.npz``, ``uint8``, about 11
MB), so the course works offline. See ``course_lib/assets/MNIST.md`` for provenance and
licence.

Value ranges used in the course:

* ``[0, 1]`` -- what :func:`load_mnist` returns; used with Bernoulli likelihoods (VAE).
* ``[-1, 1]`` -- :func:`to_signed`; used with tanh outputs (autoencoders, GANs).
  Background is -1.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
import torch

from course_lib.errors import CourseInputError, DataError, check_tensor

MNIST_PATH = Path(__file__).resolve().parent / "assets" / "mnist.npz"
MNIST_SHA256 = "39b9b1ffaa0ba4d8995a616551f0966941fe02a3fe79ba4a9db7373db16d53ad"
MNIST_SIZES = {"train": 60_000, "test": 10_000}


@functools.lru_cache(maxsize=4)
def _read_mnist_arrays(path: str, expected_sha256: str) -> dict[str, np.ndarray]:
    """Read and verify the embedded ``.npz``; cached, so the checksum is computed once
    per process."""
    file = Path(path)
    if not file.is_file():
        raise DataError(
            f"the embedded MNIST file is missing: {file}. Reinstall the course with "
            "`pip install -e .` from a complete checkout (the file is tracked in git)."
        )
    raw = file.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected_sha256:
        raise DataError(
            f"the embedded MNIST file {file} is corrupted (SHA-256 {digest[:12]}..., "
            f"expected {expected_sha256[:12]}...). Restore it with `git checkout -- "
            "course_lib/assets/mnist.npz`."
        )
    import io

    with np.load(io.BytesIO(raw)) as archive:
        return {key: archive[key] for key in archive.files}


def load_mnist(
    split: str = "train", *, path: Path | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load MNIST from the embedded file, in the official order.

    Args:
        split: ``"train"`` (60 000 images) or ``"test"`` (10 000 images).
        path: another ``.npz`` with the same layout (for tests); its checksum must still
            match.

    Returns:
        ``(images, labels)``: images ``float32`` of shape ``(N, 1, 28, 28)`` with values
        ``k/255`` in ``[0, 1]`` for the original byte ``k``; labels ``int64`` of shape
        ``(N,)`` in ``0..9``.

    Raises:
        CourseInputError: for an unknown split.
        DataError: when the file is missing or its SHA-256 does not match.
    """
    if split not in MNIST_SIZES:
        raise CourseInputError(f"split must be 'train' or 'test', got {split!r}")
    arrays = _read_mnist_arrays(str(path or MNIST_PATH), MNIST_SHA256)
    images = (
        torch.from_numpy(arrays[f"{split}_images"]).float().div_(255.0).unsqueeze(1)
    )
    labels = torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64))
    return images, labels


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """Map images from ``[0, 1]`` to ``[-1, 1]`` (``2x - 1``); background becomes -1
    (black)."""
    check_tensor(x, "x", value_range=(0.0, 1.0))
    return x * 2.0 - 1.0


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Map images from ``[-1, 1]`` back to ``[0, 1]`` (``(x + 1) / 2``)."""
    check_tensor(x, "x", value_range=(-1.0, 1.0))
    return (x + 1.0) / 2.0


def binarise(
    x: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Dynamic binarisation: each pixel becomes 1 with probability equal to its
    intensity.

    Args:
        x: images in ``[0, 1]``, any shape.
        generator: optional random generator, for reproducible draws.

    Returns:
        A tensor of the same shape and dtype with values in ``{0, 1}``; a fresh draw
        each call.
    """
    check_tensor(x, "x", value_range=(0.0, 1.0))
    return torch.bernoulli(x.clamp(0.0, 1.0), generator=generator)


def stratified_subset(
    images: torch.Tensor, labels: torch.Tensor, n: int | None, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Take ``n`` examples with (as nearly as possible) equal counts per class.

    Args:
        images: ``(N, ...)`` tensor.
        labels: ``(N,)`` integer tensor.
        n: subset size, at most ``N``; ``None`` returns the inputs unchanged.
        seed: which examples are picked (the same seed always gives the same subset).

    Returns:
        ``(images[idx], labels[idx])`` with ``idx`` sorted, so the official order is
        kept.
    """
    if n is None:
        return images, labels
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise CourseInputError(
            f"labels must have shape ({images.shape[0]},) to match images, got "
            f"{tuple(labels.shape)}"
        )
    if not 0 < n <= labels.shape[0]:
        raise CourseInputError(f"n must be between 1 and {labels.shape[0]}, got {n}")
    generator = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    per_class = [torch.nonzero(labels == c).flatten() for c in classes]
    quota = [
        n // len(classes) + (1 if i < n % len(classes) else 0)
        for i in range(len(classes))
    ]
    chosen = []
    for members, q in zip(per_class, quota):
        if q > len(members):
            raise CourseInputError(
                f"cannot take {q} examples of a class that has only {len(members)}"
            )
        chosen.append(members[torch.randperm(len(members), generator=generator)[:q]])
    idx = torch.sort(torch.cat(chosen)).values
    return images[idx], labels[idx]


TORCHVISION_DATASETS = ("FashionMNIST", "CIFAR10")


def load_torchvision_dataset(
    name: str,
    split: str = "train",
    *,
    root: Path | str | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load Fashion-MNIST or CIFAR-10 through torchvision (downloads on first use; needs
    the network).

    Args:
        name: ``"FashionMNIST"`` or ``"CIFAR10"``.
        split: ``"train"`` or ``"test"``.
        root: where torchvision keeps the files (default: ``<COURSE_CACHE>/datasets``).
        download: allow torchvision to download missing files.

    Returns:
        ``(images, labels)``: ``float32`` images ``(N, C, H, W)`` in ``[0, 1]`` (C = 1
        for Fashion-MNIST at 28x28, 3 for CIFAR-10 at 32x32) and ``int64`` labels
        ``(N,)``.

    Raises:
        DataError: when the files are absent and cannot be downloaded, saying what to
            do.
    """
    if name not in TORCHVISION_DATASETS:
        raise CourseInputError(
            f"unknown dataset {name!r}; choose one of {', '.join(TORCHVISION_DATASETS)}"
        )
    if split not in ("train", "test"):
        raise CourseInputError(f"split must be 'train' or 'test', got {split!r}")
    import torchvision

    from course_lib.cache import cache_dir

    root = Path(root) if root is not None else cache_dir() / "datasets"
    dataset_class = getattr(torchvision.datasets, name)
    try:
        dataset = dataset_class(str(root), train=(split == "train"), download=download)
    # URLError is an OSError; torchvision raises RuntimeError
    except (OSError, RuntimeError) as error:
        # one line, however torchvision formats it
        reason = " ".join(str(error).split())
        raise DataError(
            f"{name} is not in {root} and could not be downloaded "
            f"({type(error).__name__}: {reason}). "
            "Connect to the internet and run again, or copy the torchvision files "
            "into that folder; "
            "MNIST needs no download: use course_lib.data.load_mnist."
        ) from None
    data = torch.as_tensor(np.asarray(dataset.data))
    images = data.float().div(255.0)
    images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
    labels = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)
    return images.contiguous(), labels
