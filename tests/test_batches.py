"""TensorBatches: every example once per epoch, shuffling, sizes, errors."""

from __future__ import annotations

import pytest
import torch

from course_lib.batches import TensorBatches
from course_lib.errors import CourseInputError


def test_each_example_appears_once_per_epoch_and_pairs_stay_aligned():
    x = torch.arange(10).float().unsqueeze(1)
    y = torch.arange(10) * 10
    batches = TensorBatches(x, y, batch_size=4, seed=0)
    assert len(batches) == 3
    seen_x, seen_y = zip(*batches)
    assert [len(b) for b in seen_x] == [4, 4, 2]
    flat_x = torch.cat(seen_x).squeeze(1).long()
    assert sorted(flat_x.tolist()) == list(range(10))
    assert torch.equal(torch.cat(seen_y), flat_x * 10)


def test_shuffling_changes_between_epochs_and_is_reproducible():
    x = torch.arange(100)
    batches = TensorBatches(x, batch_size=100, seed=3)
    first, second = next(iter(batches))[0], next(iter(batches))[0]
    assert not torch.equal(first, second)
    again = next(iter(TensorBatches(x, batch_size=100, seed=3)))[0]
    assert torch.equal(first, again)
    ordered = next(iter(TensorBatches(x, batch_size=100, shuffle=False)))[0]
    assert torch.equal(ordered, x)


def test_drop_last_skips_the_short_batch():
    batches = TensorBatches(torch.zeros(10, 2), batch_size=4, drop_last=True)
    assert len(batches) == 2 and [len(b[0]) for b in batches] == [4, 4]


def test_mismatched_sizes_are_a_clear_error():
    with pytest.raises(CourseInputError, match="same first dimension"):
        TensorBatches(torch.zeros(5), torch.zeros(6), batch_size=2)
    with pytest.raises(CourseInputError, match="batch_size"):
        TensorBatches(torch.zeros(5), batch_size=0)
