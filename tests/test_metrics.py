"""Metrics against known values and independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from skimage.metrics import peak_signal_noise_ratio

from course_lib.errors import CourseInputError
from course_lib.metrics import (
    class_histogram,
    component_occupancy,
    frechet_distance,
    frechet_distance_from_stats,
    inception_score,
    kl_to_uniform,
    mmd,
    prior_match,
    psnr,
    sharpness,
    ssim,
)

# ------------------------------------------------------------------ PSNR / SSIM /
# sharpness


def test_psnr_of_a_constant_offset_of_0_1_is_20_db() -> None:
    a = torch.full((3, 1, 28, 28), 0.5)
    b = a + 0.1
    assert torch.allclose(
        psnr(a, b), torch.full((3,), 20.0, dtype=torch.float64), atol=1e-9
    )


def test_psnr_matches_scikit_image_per_image() -> None:
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(4, 1, 28, 28, generator=generator)
    b = (a + 0.2 * torch.randn(4, 1, 28, 28, generator=generator)).clamp(0, 1)
    expected = [
        peak_signal_noise_ratio(x.numpy(), y.numpy(), data_range=1.0)
        for x, y in zip(a, b)
    ]
    assert np.allclose(psnr(a, b).numpy(), expected, rtol=1e-5)


def test_psnr_rejects_signed_images_with_a_hint() -> None:
    with pytest.raises(CourseInputError, match="to_unit"):
        psnr(torch.full((1, 1, 28, 28), -1.0), torch.zeros(1, 1, 28, 28))


def test_ssim_of_an_image_with_itself_is_1_and_lower_with_noise() -> None:
    generator = torch.Generator().manual_seed(1)
    a = torch.rand(3, 1, 28, 28, generator=generator)
    assert torch.allclose(ssim(a, a), torch.ones(3, dtype=torch.float64))
    noisy = (a + 0.3 * torch.randn(3, 1, 28, 28, generator=generator)).clamp(0, 1)
    assert (ssim(a, noisy) < 0.9).all()


def test_ssim_of_two_constant_images_is_the_luminance_term() -> None:
    # Constant windows have zero variance, so SSIM = (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 +
    # C1), C1 = 0.01^2.
    mu1, mu2, c1 = 0.2, 0.6, 0.01**2
    expected = (2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1)
    value = ssim(torch.full((1, 1, 28, 28), mu1), torch.full((1, 1, 28, 28), mu2))
    assert float(value[0]) == pytest.approx(expected, rel=1e-6)


def test_sharpness_of_constant_and_ramp_images() -> None:
    constant = torch.full((1, 1, 28, 28), 0.4)
    assert float(sharpness(constant)[0]) == 0.0
    # horizontal slope 0.01 per pixel
    ramp = (torch.arange(28.0) / 100.0).expand(1, 1, 28, 28)
    assert float(sharpness(ramp)[0]) == pytest.approx(0.01, rel=1e-6)
    checker = (
        ((torch.arange(28)[:, None] + torch.arange(28)[None, :]) % 2)
        .float()
        .expand(1, 1, 28, 28)
    )
    assert float(sharpness(checker)[0]) == pytest.approx(math.sqrt(2), rel=1e-6)


def test_blurring_lowers_sharpness() -> None:
    from course_lib.data import load_mnist

    images = load_mnist("test")[0][:50]
    blurred = torch.nn.functional.avg_pool2d(
        images, 3, stride=1, padding=1, count_include_pad=False
    )
    assert sharpness(blurred).mean() < 0.8 * sharpness(images).mean()


# ------------------------------------------------------------------ histograms, KL,
# Inception Score


def test_class_histogram_from_labels_and_from_probabilities() -> None:
    labels = torch.tensor([0, 0, 1, 3])
    expected = torch.tensor([0.5, 0.25, 0.0, 0.25] + [0.0] * 6, dtype=torch.float64)
    assert torch.equal(class_histogram(labels), expected)
    probs = torch.nn.functional.one_hot(labels, 10).float() * 0.9 + 0.01
    assert torch.equal(class_histogram(probs), expected)


def test_kl_of_uniform_histogram_is_zero_and_of_one_class_is_log_10() -> None:
    assert kl_to_uniform(torch.full((10,), 0.1, dtype=torch.float64)) == pytest.approx(
        0.0, abs=1e-12
    )
    one_class = torch.zeros(10, dtype=torch.float64)
    one_class[3] = 1.0
    assert kl_to_uniform(one_class) == pytest.approx(math.log(10))
    two_classes = torch.tensor([0.5, 0.5] + [0.0] * 8, dtype=torch.float64)
    assert kl_to_uniform(two_classes) == pytest.approx(math.log(5))


def test_kl_rejects_a_histogram_that_does_not_sum_to_one() -> None:
    with pytest.raises(CourseInputError, match="sum to 1"):
        kl_to_uniform(torch.full((10,), 0.2))


def test_inception_score_of_one_hot_predictions_over_10_equal_classes_is_10() -> None:
    probs = torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).double()
    assert inception_score(probs) == pytest.approx(10.0)
    assert inception_score(probs, splits=10) == pytest.approx(10.0)


def test_inception_score_of_constant_predictions_is_1() -> None:
    generator = torch.Generator().manual_seed(0)
    row = torch.rand(10, generator=generator).softmax(0)
    assert inception_score(row.expand(500, 10)) == pytest.approx(1.0)
    assert inception_score(torch.full((500, 10), 0.1)) == pytest.approx(1.0)


def test_inception_score_matches_a_direct_numpy_formula() -> None:
    generator = torch.Generator().manual_seed(2)
    probs = (3 * torch.randn(400, 10, generator=generator)).softmax(1).double()
    p = probs.numpy()
    marginal = p.mean(0)
    expected = math.exp(
        np.mean([np.sum(row * (np.log(row) - np.log(marginal))) for row in p])
    )
    assert inception_score(probs) == pytest.approx(expected, rel=1e-9)


def test_inception_score_rejects_logits() -> None:
    with pytest.raises(CourseInputError):
        inception_score(torch.randn(20, 10))


# ------------------------------------------------------------------ Fréchet distance


def test_frechet_distance_of_a_set_with_itself_is_about_zero() -> None:
    features = torch.randn(2000, 16, generator=torch.Generator().manual_seed(3))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_one_dimensional_gaussians() -> None:
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 2.
    assert frechet_distance_from_stats(
        np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)
    ) == pytest.approx(2.0)


def test_frechet_distance_of_diagonal_gaussians_has_its_closed_form() -> None:
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum(
        (np.sqrt(var_a) - np.sqrt(var_b)) ** 2
    )
    value = frechet_distance_from_stats(mu_a, np.diag(var_a), mu_b, np.diag(var_b))
    assert value == pytest.approx(expected)


def test_frechet_distance_of_full_covariances_matches_scipy_sqrtm() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    sigma_a, sigma_b = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu_a, mu_b = rng.normal(size=5), rng.normal(size=5)
    covmean = scipy.linalg.sqrtm(sigma_a @ sigma_b).real
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a + sigma_b - 2 * covmean)
    assert frechet_distance_from_stats(mu_a, sigma_a, mu_b, sigma_b) == pytest.approx(
        expected, rel=1e-8
    )


def test_frechet_distance_of_samples_approaches_the_closed_form() -> None:
    generator = torch.Generator().manual_seed(5)
    n = 40_000
    a = torch.randn(n, 2, generator=generator) * torch.tensor([1.0, 2.0])
    b = torch.randn(n, 2, generator=generator) * torch.tensor(
        [3.0, 1.0]
    ) + torch.tensor([1.0, -1.0])
    expected = (1.0 + 1.0) + (1.0 - 3.0) ** 2 + (2.0 - 1.0) ** 2  # = 7
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.03)


def test_frechet_distance_stays_finite_with_singular_covariances() -> None:
    features = torch.randn(100, 8, generator=torch.Generator().manual_seed(6))
    features[:, 5:] = 0.0  # dead units, as ReLU features often have
    value = frechet_distance(features, features + 1.0)
    assert math.isfinite(value)
    assert value == pytest.approx(8.0, rel=1e-6)  # a pure shift by 1 in 8 dimensions


def test_frechet_distance_rejects_mismatched_feature_sizes() -> None:
    with pytest.raises(CourseInputError, match="feature sizes"):
        frechet_distance(torch.randn(10, 4), torch.randn(10, 5))


# ------------------------------------------------------------------ MMD, occupancy


def _brute_force_mmd2(x: np.ndarray, y: np.ndarray, bandwidths: list[float]) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> float:
        return sum(math.exp(-np.sum((a - b) ** 2) / (2 * h * h)) for h in bandwidths)

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (
        n * (n - 1)
    )
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (
        m * (m - 1)
    )
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_matches_the_unbiased_formula_term_by_term() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(12, 3)), rng.normal(loc=0.5, size=(9, 3))
    bandwidths = [0.5, 2.0]
    expected = _brute_force_mmd2(x, y, bandwidths)
    value = mmd(torch.from_numpy(x), torch.from_numpy(y), bandwidths)
    assert value == pytest.approx(expected, rel=1e-9)


def test_mmd_is_about_zero_for_the_same_distribution_and_large_for_shifted_sets() -> (
    None
):
    generator = torch.Generator().manual_seed(8)
    x, y = (
        torch.randn(1500, 2, generator=generator),
        torch.randn(1500, 2, generator=generator),
    )
    same = mmd(x, y, bandwidths=[1.0])
    shifted = mmd(x, y + 2.0, bandwidths=[1.0])
    assert abs(same) < 0.005
    assert shifted > 0.3


def test_component_occupancy_of_points_at_known_centres() -> None:
    centres = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0]])
    counts = torch.tensor([10, 20, 30, 40])
    # each point near its own centre
    codes = centres.repeat_interleave(counts, dim=0) + 0.1
    shares = component_occupancy(codes, centres)
    assert torch.allclose(
        shares, torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    )


def test_prior_match_reports_occupancy_deviation() -> None:
    centres = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    codes = torch.cat(
        [torch.zeros(30, 2), torch.full((10, 2), 4.0) * torch.tensor([1.0, 0.0])]
    )
    report = prior_match(codes, codes.flip(0), centres, bandwidths=[1.0])
    assert report["occupancy"] == pytest.approx([0.75, 0.25])
    assert report["max_occupancy_deviation"] == pytest.approx(0.25)
    assert isinstance(report["mmd2"], float)


def test_checkerboard_statistic_known_values():
    from course_lib.metrics import checkerboard

    flat = torch.full((3, 1, 28, 28), 0.3)
    assert checkerboard(flat) == 0.0
    # +1 on the (even, even) phase, -1 elsewhere: all of the variance is in the phases
    pattern = -torch.ones(2, 1, 28, 28)
    pattern[:, :, ::2, ::2] = 1.0
    assert checkerboard(pattern) == pytest.approx(1.0)
    assert checkerboard(0.01 * pattern) == pytest.approx(1.0)  # contrast does not count
    # a horizontal ramp j = 0..W-1: odd columns are 1 higher than even ones, so the
    # between-phase variance is 1/4 and the whole variance (W^2 - 1) / 12
    ramp = torch.arange(28.0).expand(1, 1, 28, 28)
    assert checkerboard(ramp) == pytest.approx(3 / (28**2 - 1))
    with pytest.raises(CourseInputError, match="even height and width"):
        checkerboard(torch.zeros(1, 1, 27, 28))


def test_checkerboard_is_the_r2_of_a_least_squares_fit_on_the_phase():
    from course_lib.metrics import checkerboard

    images = torch.rand(4, 2, 6, 8, generator=torch.Generator().manual_seed(0))
    shares = []
    for image in images.double().numpy():
        c, h, w = image.shape
        i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        phase = np.broadcast_to(2 * (i % 2) + j % 2, (c, h, w)).ravel()
        design = np.eye(4)[phase]  # one indicator column per phase
        y = image.ravel()
        fit = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        shares.append(1 - ((y - fit) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    assert checkerboard(images) == pytest.approx(float(np.mean(shares)), rel=1e-9)
