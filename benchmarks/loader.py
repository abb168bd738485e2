"""The loader benchmark: the course's on-device mini-batches against torchvision's
``DataLoader``."""

from __future__ import annotations

import statistics
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness import Result, device_label, register
from course_lib.settings import Settings


def write_mnist_idx_files(root: Path) -> None:
    """Write the embedded MNIST as the four raw IDX files torchvision's ``MNIST`` class
    reads.

    This lets the benchmark compare with ``torchvision.datasets.MNIST`` without any
    download.
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
            struct.pack(">II", 2049, len(labels))
            + labels.numpy().astype(np.uint8).tobytes()
        )


LOADER_REPEATS = 3  # epochs per side in the loader benchmark; the median is reported


@register("loader_speed")
def loader_speed(settings: Settings) -> list[Result]:
    """One epoch of the pytorch/examples VAE fed by TensorBatches vs torchvision MNIST +
    DataLoader.

    Both sides train the same model (784-400-20, Bernoulli ELBO summed over pixels,
    batch 128, Adam 1e-3) with the same step function on all 60 000 training images;
    only the data source differs. Each side runs :data:`LOADER_REPEATS` epochs,
    interleaved with the other side's, and the judged figure is the ratio of the median
    whole-epoch times; the "loading only" rows time the same two iterators with no
    model, which shows the iterator's own cost (on a CPU the model's arithmetic
    dominates an epoch, so the whole-epoch ratio cannot fall far below 1 there). The
    DataLoader side follows pytorch/examples ``vae/main.py``: ``ToTensor()``,
    ``shuffle=True``, and ``num_workers=1, pin_memory=True`` only on CUDA.
    """
    import torchvision
    from torch.utils.data import DataLoader

    from course_lib.batches import TensorBatches
    from course_lib.data import load_mnist
    from course_lib.objectives import elbo
    from course_lib.vae import MLPVAE

    device = settings.device

    def one_epoch(batches) -> float:
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
    ours_batches = TensorBatches(
        images, labels, batch_size=128, device=device, seed=settings.seed
    )
    with tempfile.TemporaryDirectory() as root:
        write_mnist_idx_files(Path(root))
        dataset = torchvision.datasets.MNIST(
            root,
            train=True,
            download=False,
            transform=torchvision.transforms.ToTensor(),
        )
        extra = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
        loader = DataLoader(dataset, batch_size=128, shuffle=True, **extra)
        # warm-up
        one_epoch(
            TensorBatches(images[:2048], labels[:2048], batch_size=128, device=device)
        )
        ours_runs, theirs_runs = [], []
        # interleaved, so a change of machine load hits both sides
        for _ in range(LOADER_REPEATS):
            ours_runs.append(one_epoch(ours_batches))
            theirs_runs.append(one_epoch(loader))
        ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
        ours_loading, theirs_loading = (
            loading_only(ours_batches, device),
            loading_only(loader, device),
        )
    ratio = ours / theirs
    label, profile = device_label(settings), settings.profile.name
    n = len(images)
    return [
        Result("loader_speed.ours_epoch", ours, "s", "", None, ours, label, profile),
        Result(
            "loader_speed.dataloader_epoch",
            theirs,
            "s",
            "",
            None,
            theirs,
            label,
            profile,
        ),
        Result(
            "loader_speed.ours_images_per_second",
            n / ours,
            "images/s",
            "",
            None,
            ours,
            label,
            profile,
        ),
        Result(
            "loader_speed.ratio",
            ratio,
            "x",
            "<= 0.5",
            ratio <= 0.5,
            ours + theirs,
            label,
            profile,
        ),
        Result(
            "loader_speed.ours_loading_only",
            ours_loading,
            "s",
            "",
            None,
            ours_loading,
            label,
            profile,
        ),
        Result(
            "loader_speed.dataloader_loading_only",
            theirs_loading,
            "s",
            "",
            None,
            theirs_loading,
            label,
            profile,
        ),
        Result(
            "loader_speed.loading_only_ratio",
            ours_loading / theirs_loading,
            "x",
            "",
            None,
            ours_loading + theirs_loading,
            label,
            profile,
        ),
    ]


# any iterable of (x, y) batches
def loading_only(batches, device: torch.device) -> float:
    """Seconds to draw one epoch of batches and move them to ``device``, with no model:
    the loader's own cost."""
    started = time.perf_counter()
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started
