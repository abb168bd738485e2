"""Corruptions: dropout done right (and why nn.Dropout on ones is wrong), noise, salt
and pepper, merged digits."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_lib.corruption import (
    Corruption,
    corrupt_dropout,
    infer_value_range,
    merge_digits,
)
from course_lib.data import load_mnist, to_signed
from course_lib.errors import CourseInputError


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    """200 MNIST digits in [0, 1]."""
    return load_mnist("test")[0][:200]


@pytest.mark.parametrize("p", [0.25, 0.5, 0.75])
def test_dropout_keeps_the_expected_fraction(digits: torch.Tensor, p: float) -> None:
    x = to_signed(digits)
    _, mask = corrupt_dropout(x, p, torch.Generator().manual_seed(0))
    n = mask.numel()
    kept = float(mask.sum()) / n
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("signed", [True, False])
def test_dropout_keeps_pixels_unchanged_and_sets_dropped_ones_to_black(
    digits: torch.Tensor, signed: bool
) -> None:
    x = to_signed(digits) if signed else digits
    background = -1.0 if signed else 0.0
    corrupted, mask = corrupt_dropout(x, 0.5, torch.Generator().manual_seed(1))
    kept = mask.bool()
    assert torch.equal(corrupted[kept], x[kept])  # not rescaled by 1 / (1 - p)
    assert (corrupted[~kept] == background).all()
    assert corrupted.min() >= background and corrupted.max() <= 1.0


def test_classic_nn_dropout_recipe_doubles_kept_pixels_and_greys_dropped_ones(
    digits: torch.Tensor,
) -> None:
    """The NYU recipe ``x * nn.Dropout(0.5)(torch.ones_like(x))`` on [-1, 1] images,
    computed for real."""
    x = to_signed(digits)
    dropout = nn.Dropout(p=0.5).train()
    torch.manual_seed(2)
    ones_mask = dropout(torch.ones_like(x))
    # inverted dropout: kept ones scaled by 1/(1-p)
    assert set(ones_mask.unique().tolist()) == {0.0, 2.0}
    classic = x * ones_mask
    kept, dropped = ones_mask == 2.0, ones_mask == 0.0
    # doubled: white 1 becomes 2, black -1 becomes -2
    torch.testing.assert_close(classic[kept], 2 * x[kept])
    # outside the tanh range [-1, 1]
    assert classic.max() == 2.0 and classic.min() == -2.0
    assert (classic[dropped] == 0.0).all()  # 0 on [-1, 1] is mid-grey, not black (-1)
    # in eval mode nn.Dropout is the identity: nothing is dropped at all
    assert torch.equal(dropout.eval()(torch.ones_like(x)), torch.ones_like(x))
    # the course's corruption, with the same mask, is what the recipe meant
    ours = torch.where(kept, x, torch.full_like(x, -1.0))
    corrupted, mask = corrupt_dropout(x, 0.5, torch.Generator().manual_seed(3))
    assert corrupted.min() >= -1.0 and corrupted.max() <= 1.0
    assert torch.equal(corrupted, torch.where(mask.bool(), x, torch.full_like(x, -1.0)))
    assert ours.min() >= -1.0


def test_dropout_is_reproducible_with_a_generator(digits: torch.Tensor) -> None:
    a = corrupt_dropout(digits, 0.3, torch.Generator().manual_seed(4))
    b = corrupt_dropout(digits, 0.3, torch.Generator().manual_seed(4))
    c = corrupt_dropout(digits, 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_value_range_inference_and_explicit_override() -> None:
    grey = torch.full((1, 1, 28, 28), 0.5)  # no black pixel: inference says [0, 1]
    assert infer_value_range(grey) == (0.0, 1.0)
    assert infer_value_range(grey - 1.0) == (-1.0, 1.0)
    corrupted, mask = corrupt_dropout(
        grey, 0.5, torch.Generator().manual_seed(6), value_range=(-1, 1)
    )
    assert (corrupted[mask == 0] == -1.0).all()
    with pytest.raises(
        CourseInputError, match=r"value_range must be \(-1, 1\) or \(0, 1\)"
    ):
        corrupt_dropout(grey, 0.5, value_range=(0, 255))
    with pytest.raises(CourseInputError, match="values in"):
        corrupt_dropout(grey * 255, 0.5)


def test_merge_digits_is_an_alpha_composite(digits: torch.Tensor) -> None:
    a, b = to_signed(digits[:5]), to_signed(digits[5:10])
    merged = merge_digits(a, b, 0.3)
    torch.testing.assert_close(merged, 0.3 * a + 0.7 * b)
    assert merged.min() >= -1.0 and merged.max() <= 1.0
    torch.testing.assert_close(merge_digits(a, b, 1.0), a)
    # where both are black, the composite stays black
    both_black = (a == -1) & (b == -1)
    assert (merged[both_black] == -1).all()


def test_corruption_object_applies_the_named_corruption(digits: torch.Tensor) -> None:
    x = to_signed(digits)
    torch.manual_seed(9)
    out = Corruption("dropout", 0.5)(x)
    changed = out != x
    assert (out[changed] == -1).all()
    assert Corruption("dropout", 0.1).config() == {"kind": "dropout", "amount": 0.1}
    with pytest.raises(CourseInputError, match="unknown corruption"):
        Corruption("blur", 0.5)


def test_clear_errors(digits: torch.Tensor) -> None:
    with pytest.raises(CourseInputError, match=r"p must be in \[0, 1\)"):
        corrupt_dropout(digits, 1.0)
    with pytest.raises(CourseInputError, match="same shape"):
        merge_digits(digits[:2], digits[:3])
    with pytest.raises(CourseInputError, match="to_signed"):
        merge_digits(to_signed(digits[:2]), digits[2:4])
    with pytest.raises(CourseInputError, match="alpha"):
        merge_digits(digits[:2], digits[2:4], 1.5)
    with pytest.raises(CourseInputError, match="torch.Tensor"):
        corrupt_dropout([0.0, 1.0], 0.5)  # type: ignore[arg-type]
