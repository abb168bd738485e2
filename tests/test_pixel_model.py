"""The independent-pixel model against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.errors import CourseInputError
from course_lib.pixel_model import BernoulliPixelModel


def _two_class_data():
    # Class 0: only pixel 0 on; class 1: all pixels on. Three examples of class 0, one
    # of class 1.
    x = torch.zeros(4, 1, 28, 28)
    x.view(4, -1)[:3, 0] = 1.0
    x[3] = 1.0
    return x, torch.tensor([0, 0, 0, 1])


def test_fit_is_smoothed_counting():
    x, y = _two_class_data()
    model = BernoulliPixelModel(num_classes=2, smoothing=1.0).fit(x, y)
    assert model.theta[0, 0].item() == pytest.approx((3 + 1) / (3 + 2))
    assert model.theta[0, 1].item() == pytest.approx(1 / 5)
    assert model.theta[1, 5].item() == pytest.approx(2 / 3)
    assert model.log_prior.exp().tolist() == pytest.approx([4 / 6, 2 / 6])


def test_log_likelihood_matches_the_product_of_coins():
    x, y = _two_class_data()
    model = BernoulliPixelModel(num_classes=2).fit(x, y)
    # log p(x_3 | y=0) for the all-ones image: pixel 0 has theta 4/5, the 783 others
    # 1/5.
    expected = math.log(4 / 5) + 783 * math.log(1 / 5)
    assert model.log_likelihood_given_class(x[3:])[0, 0].item() == pytest.approx(
        expected, rel=1e-5
    )
    posterior = model.predict_proba(x)
    assert torch.allclose(posterior.sum(1), torch.ones(4))
    assert posterior.argmax(1).tolist() == y.tolist()
    evidence = model.log_evidence(x[3:]).item()
    by_hand = math.log(sum(math.exp(v) for v in model.log_joint(x[3:])[0].tolist()))
    assert evidence == pytest.approx(by_hand, rel=1e-6)


def test_samples_have_the_pixel_frequencies():
    x, y = _two_class_data()
    model = BernoulliPixelModel(num_classes=2).fit(x, y)
    samples = model.sample(
        torch.zeros(4000, dtype=torch.long), generator=torch.Generator().manual_seed(0)
    )
    assert samples.shape == (4000, 1, 28, 28)
    assert samples.view(4000, -1)[:, 0].mean().item() == pytest.approx(0.8, abs=0.03)


def test_clear_errors():
    with pytest.raises(CourseInputError, match="not fitted"):
        BernoulliPixelModel().predict_proba(torch.zeros(1, 1, 28, 28))
    with pytest.raises(CourseInputError, match="28x28"):
        BernoulliPixelModel().fit(
            torch.zeros(2, 1, 14, 14), torch.zeros(2, dtype=torch.long)
        )
    with pytest.raises(CourseInputError, match=r"\[0, 1\]"):
        BernoulliPixelModel().fit(
            torch.full((2, 784), 2.0), torch.zeros(2, dtype=torch.long)
        )
