"""Corruptions for denoising autoencoders: pixel dropout (masking noise) and merged
digits.

Every function works on images in either of the course's two scalings and needs to know
which, because "black" differs: ``-1`` on ``[-1, 1]`` (tanh models) and ``0`` on
``[0, 1]``. Pass ``value_range=(-1, 1)`` or ``(0, 1)`` explicitly, or leave it ``None``
to infer it from the data: any negative value means ``[-1, 1]``, otherwise ``[0, 1]``.
(Inference is safe for MNIST, whose every image contains black pixels; for a single
image with no black pixel pass it explicitly.)

Why not ``nn.Dropout``? The classic recipe (NYU practicum) builds the corruption as
``x * nn.Dropout(p)(torch.ones_like(x))``. ``nn.Dropout`` in training mode does
*inverted* dropout: it zeroes each element with probability ``p`` and multiplies the
kept ones by ``1 / (1 - p)`` so that the expectation is unchanged. Applied to a tensor
of ones with ``p = 0.5``, the "mask" is therefore ``{0, 2}``, not ``{0, 1}``: kept
pixels are **doubled** (a white ``1`` becomes ``2``, out of the tanh range) and dropped
pixels become ``0``, which on ``[-1, 1]`` is **mid-grey**, not black. The network then
learns to undo a contrast change as well as the holes. (And in eval mode ``nn.Dropout``
is the identity, so nothing is dropped at all.) :func:`corrupt_dropout` does what was
meant: a ``{0, 1}`` mask, kept pixels unchanged, dropped pixels set to the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.errors import CourseInputError, check_tensor

VALUE_RANGES = ((-1.0, 1.0), (0.0, 1.0))


def infer_value_range(
    x: torch.Tensor, value_range: tuple[float, float] | None = None
) -> tuple[float, float]:
    """The scaling of ``x``: ``value_range`` if given, else ``(-1, 1)`` if any value is
    negative, else ``(0, 1)``.

    Raises:
        CourseInputError: for a range other than ``(-1, 1)`` / ``(0, 1)``, or values
            outside it.
    """
    check_tensor(x, "x")
    if value_range is None:
        value_range = (
            (-1.0, 1.0) if x.numel() > 0 and float(x.min()) < 0 else (0.0, 1.0)
        )
    low, high = float(value_range[0]), float(value_range[1])
    if (low, high) not in VALUE_RANGES:
        raise CourseInputError(
            f"value_range must be (-1, 1) or (0, 1), got {tuple(value_range)}"
        )
    check_tensor(x, "x", value_range=(low, high))
    return low, high


def _check_probability(p: float, name: str = "p") -> None:
    if not 0.0 <= p < 1.0:
        raise CourseInputError(
            f"{name} must be in [0, 1), got {p}; it is the fraction of pixels corrupted"
        )


def _uniform_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform ``[0, 1)`` draws shaped like ``x`` (drawn on the generator's device,
    moved to ``x``'s)."""
    device = generator.device if generator is not None else x.device
    return torch.rand(x.shape, generator=generator, device=device, dtype=x.dtype).to(
        x.device
    )


def corrupt_dropout(
    x: torch.Tensor,
    p: float,
    generator: torch.Generator | None = None,
    *,
    value_range: tuple[float, float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each pixel independently with probability ``p``: set it to black, keep the
    others as they are.

    Unlike ``x * nn.Dropout(p)(torch.ones_like(x))`` (see the module docstring), kept
    pixels are *not* rescaled by ``1 / (1 - p)`` and dropped pixels take the background
    value of the current scaling, so the corrupted image stays a valid image of the same
    range.

    Args:
        x: images, any shape (usually ``(N, 1, 28, 28)``), in ``[-1, 1]`` or ``[0, 1]``.
        p: probability of dropping a pixel, in ``[0, 1)``.
        generator: optional generator, for reproducible masks.
        value_range: ``(-1, 1)`` or ``(0, 1)``; ``None`` infers it (negative values mean
            ``[-1, 1]``).

    Returns:
        ``(x_corrupted, mask)``, both shaped like ``x``: ``mask`` is ``1.0`` for kept
        pixels and ``0.0`` for dropped ones;
        ``x_corrupted = mask * x + (1 - mask) * background``.
    """
    low, _ = infer_value_range(x, value_range)
    _check_probability(p)
    mask = (_uniform_like(x, generator) >= p).to(x.dtype)
    return torch.where(mask.bool(), x, torch.full_like(x, low)), mask


def merge_digits(a: torch.Tensor, b: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """Alpha-composite two images: ``alpha * a + (1 - alpha) * b`` (an
    out-of-distribution input).

    Both images must use the same scaling; black stays black in either (``-1`` or
    ``0``), so the result is two faded, overlapping digits on a black background.

    Args:
        a, b: images of the same shape (e.g. ``(N, 1, 28, 28)``), both in ``[-1, 1]`` or
            both in ``[0, 1]``.
        alpha: weight of ``a``, in ``[0, 1]``.

    Returns:
        The composite, same shape and range.
    """
    check_tensor(a, "a")
    check_tensor(b, "b")
    if a.shape != b.shape:
        raise CourseInputError(
            f"a and b must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise CourseInputError(f"alpha must be in [0, 1], got {alpha}")
    range_a, range_b = infer_value_range(a), infer_value_range(b)
    if range_a != range_b:
        raise CourseInputError(
            f"a is in {list(range_a)} but b is in {list(range_b)}; convert one with "
            "course_lib.data.to_signed / to_unit"
        )
    return alpha * a + (1.0 - alpha) * b


CORRUPTIONS = ("dropout",)


@dataclass(frozen=True)
class Corruption:
    """A named corruption with its strength, for
    :func:`course_lib.autoencoders.fit_autoencoder`.

    Attributes:
        kind: ``"dropout"``, the masking noise of lesson 2 (the one kind the course
            trains with).
        amount: the drop probability, in ``[0, 1)``.
    """

    kind: str
    amount: float

    def __post_init__(self) -> None:
        if self.kind not in CORRUPTIONS:
            raise CourseInputError(
                f"unknown corruption {self.kind!r}; choose one of "
                f"{', '.join(CORRUPTIONS)}"
            )
        _check_probability(self.amount, "amount")

    def __call__(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        value_range: tuple[float, float] | None = None,
    ) -> torch.Tensor:
        """Corrupt ``x`` (any shape, ``[-1, 1]`` or ``[0, 1]``); returns the corrupted
        images only."""
        return corrupt_dropout(x, self.amount, generator, value_range=value_range)[0]

    def config(self) -> dict[str, float | str]:
        """A JSON-serialisable description (part of the cache key)."""
        return {"kind": self.kind, "amount": self.amount}
