"""The course's error types and the small input checks every module shares.

Every message names the problem *and* the fix, so a student never has to read a deep
stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class CourseError(Exception):
    """Base class for every error ``course_lib`` raises on purpose."""


class CourseInputError(CourseError, ValueError):
    """An argument has the wrong shape, dtype or value range."""


class DataError(CourseError, RuntimeError):
    """Data is missing, corrupted or cannot be downloaded."""


class ProfileError(CourseError, ValueError):
    """An unknown run profile or budget name."""


class DeviceError(CourseError, RuntimeError):
    """A device was asked for that this machine does not have."""


class TrainingDiverged(CourseError, FloatingPointError):
    """A loss became NaN or infinite during training."""


def check_tensor(
    x: object,
    name: str,
    *,
    shape: Sequence[int | None] | None = None,
    value_range: tuple[float, float] | None = None,
    floating: bool = True,
) -> torch.Tensor:
    """Check that ``x`` is a tensor of the expected shape and value range, and return
    it.

    Args:
        x: the object to check.
        name: the argument's name, used in the message.
        shape: expected shape; ``None`` entries accept any size (e.g.
            ``(None, 1, 28, 28)``).
        value_range: inclusive ``(low, high)`` every element must lie in (checked with a
            1e-4 tolerance).
        floating: require a floating-point dtype.

    Raises:
        CourseInputError: with a message that says what was expected and what was given.
    """
    if not isinstance(x, torch.Tensor):
        raise CourseInputError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; convert it with "
            "torch.as_tensor"
        )
    if floating and not x.is_floating_point():
        raise CourseInputError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; call "
            ".float() first"
        )
    if shape is not None:
        ok = x.dim() == len(shape) and all(
            s is None or s == d for s, d in zip(shape, x.shape)
        )
        if not ok:
            want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
            raise CourseInputError(
                f"{name} must have shape {want}, got {tuple(x.shape)}"
            )
    if value_range is not None and x.numel() > 0:
        low, high = value_range
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if not (lo >= low - 1e-4 and hi <= high + 1e-4):
            hint = ""
            if (low, high) == (-1.0, 1.0) and lo >= 0:
                hint = "; scale [0, 1] images with course_lib.data.to_signed"
            elif (low, high) == (0.0, 1.0) and lo < 0:
                hint = "; scale [-1, 1] images back with course_lib.data.to_unit"
            raise CourseInputError(
                f"{name} must have values in [{low:g}, {high:g}], got values in "
                f"[{lo:.3g}, {hi:.3g}]{hint}"
            )
    return x
