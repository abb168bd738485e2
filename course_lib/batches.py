"""Fast mini-batches from tensors that already sit on the target device.

MNIST is small (60 000 x 784 floats = 188 MB), so the whole set fits on any device.
Indexing one tensor with a shuffled index per batch is much faster than a ``DataLoader``
that builds every batch from 128 separate Python calls, converts each image and collates
them.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from course_lib.errors import CourseInputError


class TensorBatches:
    """Shuffled mini-batches over one or more tensors sharing their first dimension.

    Example::

        batches = TensorBatches(images, labels, batch_size=128, device="cuda")
        for x, y in batches:   # x: (128, 1, 28, 28), y: (128,) on the device
            ...

    Args:
        *tensors: tensors of shape ``(N, ...)``; all must have the same ``N``.
        batch_size: examples per batch (the last batch may be smaller unless
            ``drop_last``).
        shuffle: draw a new random order every epoch.
        drop_last: skip a final batch smaller than ``batch_size`` (useful for BatchNorm
            GANs).
        device: move the tensors there once, up front (``None`` keeps them where they
            are).
        seed: seed of the shuffling generator; ``None`` draws from torch's global
            generator.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        device: torch.device | str | None = None,
        seed: int | None = None,
    ) -> None:
        if not tensors:
            raise CourseInputError("TensorBatches needs at least one tensor")
        sizes = {t.shape[0] for t in tensors}
        if len(sizes) != 1:
            raise CourseInputError(
                "all tensors must have the same first dimension, got sizes "
                f"{sorted(sizes)}"
            )
        if batch_size < 1:
            raise CourseInputError(f"batch_size must be at least 1, got {batch_size}")
        self.tensors = tuple(t.to(device) if device is not None else t for t in tensors)
        self.n = sizes.pop()
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = (
            torch.Generator().manual_seed(seed) if seed is not None else None
        )

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n // self.batch_size
        return (self.n + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator).to(
                self.tensors[0].device
            )
        else:
            order = torch.arange(self.n, device=self.tensors[0].device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            # index_select on dimension 0 is the cheapest gather PyTorch has (faster
            # than t[index]).
            yield tuple(t.index_select(0, index) for t in self.tensors)
