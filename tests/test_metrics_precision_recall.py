"""Improved precision and recall (Kynkäänniemi et al., 2019) against known values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.errors import CourseInputError
from course_lib.metrics import knn_radii, precision_recall


def test_identical_sets_have_precision_and_recall_1() -> None:
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    result = precision_recall(x, x.clone())
    assert (result.precision, result.recall, result.k) == (1.0, 1.0, 3)


def test_disjoint_far_apart_sets_have_precision_and_recall_0() -> None:
    draw = torch.Generator().manual_seed(1)
    real = torch.randn(100, 4, generator=draw)
    fake = torch.randn(100, 4, generator=draw) + 100.0
    result = precision_recall(real, fake)
    assert (result.precision, result.recall) == (0.0, 0.0)


def test_a_hand_computed_one_dimensional_example() -> None:
    # real 0, 1, 2, 3: with k = 1 every radius is 1, so the real manifold is [-1, 4].
    # fake 0, 0.1, 10, 10.2: radii 0.1, 0.1, 0.2, 0.2.
    # precision: 0 and 0.1 lie in [-1, 4], 10 and 10.2 do not -> 2/4.
    # recall: only the real 0 lies within 0.1 of a fake point (0 itself) -> 1/4.
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.0], [0.1], [10.0], [10.2]])
    np.testing.assert_allclose(knn_radii(real, 1), [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(knn_radii(fake, 1), [0.1, 0.1, 0.2, 0.2], atol=1e-6)
    result = precision_recall(real, fake, k=1)
    assert result.precision == pytest.approx(0.5)
    assert result.recall == pytest.approx(0.25)


def test_knn_radii_match_a_brute_force_sort() -> None:
    x = np.random.default_rng(2).normal(size=(60, 5))
    distances = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    for k in (1, 3, 7):
        expected = np.sort(distances, axis=1)[:, k]  # column 0 is the point itself
        np.testing.assert_allclose(knn_radii(x, k), expected, rtol=1e-10)


def test_a_collapsed_generator_keeps_precision_and_loses_recall() -> None:
    # Real data: two well-separated clusters of equal size. The "generator" draws only
    # from the first one, so its samples are all realistic (precision about 1) but it
    # covers about half of the data (recall about 0.5).
    draw = torch.Generator().manual_seed(3)
    real = torch.cat(
        [torch.randn(500, 2, generator=draw), torch.randn(500, 2, generator=draw) + 20]
    )
    fake = torch.randn(500, 2, generator=draw)
    result = precision_recall(real, fake)
    assert result.precision > 0.95
    assert 0.45 < result.recall < 0.55


def test_precision_recall_rejects_bad_input_with_a_hint() -> None:
    x = torch.randn(10, 3)
    with pytest.raises(CourseInputError, match="feature sizes differ"):
        precision_recall(x, torch.randn(10, 4))
    with pytest.raises(CourseInputError, match="k must be an integer between 1"):
        precision_recall(x, x, k=10)
    with pytest.raises(CourseInputError, match="NaN"):
        precision_recall(x, torch.full((10, 3), float("nan")))
    with pytest.raises(CourseInputError, match=r"shape \(N, D\)"):
        precision_recall(torch.randn(10), x)
