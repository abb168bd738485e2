"""check_tensor: one message naming the problem and the fix, and no side effects on
valid input."""

from __future__ import annotations

import warnings

import pytest
import torch

from course_lib.errors import CourseInputError, check_tensor


def test_valid_input_is_returned_unchanged() -> None:
    x = torch.rand(3, 1, 28, 28)
    assert check_tensor(x, "x", shape=(None, 1, 28, 28), value_range=(0.0, 1.0)) is x


def test_a_tensor_that_needs_gradients_is_checked_without_a_warning() -> None:
    x = torch.rand(2, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        check_tensor(x, "x", value_range=(0.0, 1.0))


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (
            [1.0, 2.0],
            {},
            "x must be a torch.Tensor, got list; convert it with torch.as_tensor",
        ),
        (
            torch.ones(2, dtype=torch.int64),
            {},
            "x must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            torch.ones(2, 784),
            {"shape": (None, 1, 28, 28)},
            r"x must have shape \(N, 1, 28, 28\), got \(2, 784\)",
        ),
        (
            torch.full((2,), 1.5),
            {"value_range": (-1.0, 1.0)},
            r"values in \[-1, 1\].*to_signed",
        ),
        (
            torch.full((2,), -0.5),
            {"value_range": (0.0, 1.0)},
            r"values in \[0, 1\].*to_unit",
        ),
    ],
)
def test_each_problem_gets_its_message(x, kwargs, message) -> None:
    with pytest.raises(CourseInputError, match=message):
        check_tensor(x, "x", **kwargs)
