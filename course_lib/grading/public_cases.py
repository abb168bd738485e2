"""The public test cases of every exercise of lessons 0-7: what ``check(name, fn)``
runs.

Each case checks *behaviour* against an independent formula (``torch.distributions``,
explicit loops, real ``torch.nn`` layers) or a known value. Messages say what is wrong,
never the expected numbers. A case calls the student's function directly, or through a
probe (:mod:`course_lib.grading.probes`) when it needs gradients, a module's layers or
callbacks, so that the same case also runs in the instructor's grader, where the
function lives in a sandbox.

The instructor's further cases are not part of this package (they live with the grader,
``course_grader/cases.py`` in the course repository).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.grading.core import (
    Case,
    CaseFailed,
    Exercise,
    expect_close,
    expect_scalar,
    expect_tensor,
    expect_true,
    seeded,
)
from course_lib.grading.probes import probe, require_module

Fn = Callable[..., Any]


LN2 = math.log(2.0)


def _binary(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.bernoulli(torch.full(shape, 0.4), generator=seeded(seed))


def _probs(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=seeded(seed)) * 0.9 + 0.05


def expect_no_nan(out: object, why: str) -> None:
    """Fail with ``why`` (the reason a NaN appears) when ``out`` is a tensor holding
    NaN."""
    if (
        isinstance(out, torch.Tensor)
        and out.is_floating_point()
        and bool(out.isnan().any())
    ):
        raise CaseFailed(why)


XLOGY_NAN = (
    "the result holds NaN: 0 * log 0 is NaN in floating point, so a term x log p "
    "with x = 0 and p = 0 "
    "must be computed by a function that defines it as 0"
)


def _l0_loglik_half(fn: Fn) -> None:
    x = _binary((3, 1, 28, 28), 0)
    out = expect_tensor(fn(x, torch.full((1, 28, 28), 0.5)), (3,))
    expect_close(
        out,
        torch.full((3,), -784 * LN2),
        "the log-likelihoods with every probability 0.5",
    )


def _l0_loglik_ones(fn: Fn) -> None:
    out = expect_tensor(
        fn(torch.ones(2, 1, 28, 28), torch.full((1, 28, 28), 0.9)), (2,)
    )
    expect_true(
        bool((out < 0).all()), "a log-likelihood of binary pixels must be negative"
    )
    expect_close(
        out,
        torch.full((2,), 784 * math.log(0.9)),
        "the log-likelihoods of all-white images",
    )


def _l0_loglik_certain(fn: Fn) -> None:
    x = _binary((2, 1, 28, 28), 1)
    probs = x[0].clone()
    # the top half uncertain, the bottom half certain of image 0's pixels
    probs[:, :14] = 0.5
    out = fn(x, probs)
    expect_no_nan(out, XLOGY_NAN)
    expect_tensor(
        out[:1],
        (1,),
        "the log-likelihood of the image that agrees with every certain pixel",
    )
    expect_close(
        out[:1],
        torch.tensor([-14 * 28 * LN2]),
        "the log-likelihood of an image that agrees with every "
        "pixel of probability 0 or 1 (those pixels contribute log 1 = 0)",
        atol=1e-3,
    )
    expect_true(
        float(out[1]) == -math.inf,
        "an image with a pixel of probability 0 (its value is impossible) must get "
        "log p(x) = -inf; clamping the probabilities hides that",
    )


def _l0_fit_range(fn: Fn) -> None:
    x, y = _binary((40, 1, 28, 28), 3), torch.arange(40) % 10
    out = expect_tensor(fn(x, y, 10, 1.0), (10, 1, 28, 28))
    expect_true(
        bool(((out > 0) & (out < 1)).all()),
        "with alpha > 0 every probability must lie strictly in (0, 1)",
    )


def _l0_fit_empty_class(fn: Fn) -> None:
    # classes 5..9 have no images
    x, y = _binary((20, 1, 28, 28), 4), torch.arange(20) % 5
    out = expect_tensor(fn(x, y, 10, 1.0), (10, 1, 28, 28))
    expect_close(
        out[5:],
        torch.full((5, 1, 28, 28), 0.5),
        "the probabilities of a class with no images",
    )


UNDERFLOW_NAN = (
    "the posteriors hold NaN: exp of a log-likelihood several hundred nats below "
    "zero is 0.0 in "
    "floating point, and 0 / 0 is NaN; normalise without leaving log space"
)


def _l0_posterior_normalised(fn: Fn) -> None:
    x, probs = _binary((4, 1, 28, 28), 7), _probs((10, 1, 28, 28), 8)
    out = fn(x, probs, torch.full((10,), -math.log(10)))
    expect_no_nan(out, UNDERFLOW_NAN)
    out = expect_tensor(out, (4, 10))
    expect_close(
        out.exp().sum(1),
        torch.ones(4),
        "the posterior probabilities of each image (summed over classes)",
        rtol=1e-4,
        atol=1e-4,
    )


def _l0_posterior_equal_classes(fn: Fn) -> None:
    x = _binary((3, 1, 28, 28), 9)
    probs = _probs((1, 28, 28), 10).expand(4, 1, 28, 28).clone()
    prior = torch.tensor([0.1, 0.2, 0.3, 0.4]).log()
    out = fn(x, probs, prior)
    expect_no_nan(out, UNDERFLOW_NAN)
    expect_close(
        expect_tensor(out, (3, 4)),
        prior.expand(3, 4),
        "the posterior when every class has the same pixel model",
        atol=1e-4,
    )


def _l0_sample_statistics_public(fn: Fn) -> None:
    probs = _probs((3, 1, 28, 28), 13)
    out = expect_tensor(fn(probs, 1, 2000, seeded(14)), (2000, 1, 28, 28))
    expect_true(
        bool(((out == 0) | (out == 1)).all()),
        "samples of a Bernoulli pixel model must be exactly 0 or 1",
    )
    expect_true(
        not bool((out == out[0]).all()),
        "the n samples are copies of one image: every image needs its own "
        "draw of every pixel",
    )
    expect_true(
        float((out.mean(0) - probs[1]).abs().max()) < 0.08,
        "the average of many samples should approach "
        "the pixel probabilities of class y",
    )


def _l0_sample_deterministic(fn: Fn) -> None:
    probs = torch.zeros(2, 1, 28, 28)
    probs[1, :, :14] = 1.0
    out = expect_tensor(fn(probs, 1, 3), (3, 1, 28, 28))
    expect_close(
        out,
        probs[1].expand(3, 1, 28, 28),
        "samples of class y=1 whose probabilities are all 0 or 1",
    )


def _kl_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Oracle: KL(p || q) per row by an explicit loop over outcomes, in float64."""
    out = []
    for row_p, row_q in zip(p.double().tolist(), q.double().tolist()):
        total = 0.0
        for a, b in zip(row_p, row_q):
            if a > 0:
                total += math.inf if b == 0 else a * math.log(a / b)
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


def _distributions(n: int, k: int, seed: int) -> torch.Tensor:
    return (torch.randn(n, k, generator=seeded(seed)) * 1.5).softmax(1)


def _l0_kl_values(fn: Fn) -> None:
    p, q = _distributions(4, 6, 30), _distributions(4, 6, 31)
    same = expect_tensor(fn(p, p.clone()), (4,), "the KL of a distribution from itself")
    expect_close(
        same,
        torch.zeros(4),
        "the divergences of distributions from themselves",
        atol=1e-5,
    )
    out = expect_tensor(fn(p, q), (4,))
    expect_true(
        bool((out > 0).all()),
        "the KL divergence of two different distributions is positive: check the "
        "sign and the order of p and q",
    )
    expect_close(
        out, _kl_rows(p, q), "the divergences of random distributions", atol=1e-5
    )


def _l0_kl_zero_p(fn: Fn) -> None:
    p, q = _distributions(3, 5, 32), _distributions(3, 5, 33)
    p[:, :2] = 0.0
    p = p / p.sum(1, keepdim=True)
    out = fn(p, q)
    expect_no_nan(
        out,
        "the result holds NaN: an outcome with p_k = 0 must contribute 0 (the limit "
        "of p log p), but 0 * log 0 is NaN in floating point",
    )
    expect_close(
        expect_tensor(out, (3,)),
        _kl_rows(p, q),
        "the divergences when p has zero entries",
        atol=1e-5,
    )


def _l0_kl_zero_q(fn: Fn) -> None:
    p, q = _distributions(2, 5, 34), _distributions(2, 5, 35)
    q[0, 1] = 0.0
    q = q / q.sum(1, keepdim=True)
    out = fn(p, q)
    expect_true(
        isinstance(out, torch.Tensor) and tuple(out.shape) == (2,),
        "return an (N,) tensor",
    )
    expect_true(
        float(out[0]) == math.inf,
        "when q gives probability 0 to an outcome that p makes possible, "
        "KL(p || q) is +inf: the model pays an infinite price (check that nothing "
        "clamps q)",
    )
    expect_close(
        out[1:],
        _kl_rows(p, q)[1:],
        "the divergence of the row without zeros",
        atol=1e-5,
    )


def _l1_loss_known(fn: Fn) -> None:
    x = torch.rand(4, 1, 28, 28, generator=seeded(20)) * 2 - 1
    expect_true(
        abs(expect_scalar(fn(x, x.clone()))) < 1e-6,
        "a perfect reconstruction must have zero loss",
    )
    value = expect_scalar(
        fn(torch.full((4, 1, 28, 28), 0.5), torch.zeros(4, 1, 28, 28))
    )
    expect_true(
        abs(value * 784 - 196.0) > 1e-2,
        "the loss is 784 times too small: it averages over the pixels of an "
        "image (as F.mse_loss does) instead of summing them",
    )
    expect_true(
        abs(value / 4 - 196.0) > 1e-2,
        "the loss is 4 times too large for a batch of 4: it sums over the "
        "images instead of averaging them",
    )
    expect_true(
        abs(value - 196.0) < 1e-3,
        "the loss should be the squared error summed over the pixels of an image "
        "and averaged over the images of the batch",
    )


def _l1_loss_batch_size(fn: Fn) -> None:
    x_hat, x = _signed((3, 1, 28, 28), 21), _signed((3, 1, 28, 28), 22)
    one = expect_scalar(fn(x_hat, x))
    twice = expect_scalar(fn(torch.cat([x_hat, x_hat]), torch.cat([x, x])))
    expect_true(
        one > 1.0,
        "the loss of random reconstructions should be large, not (almost) zero",
    )
    expect_true(
        abs(twice - one) < 1e-4 * one,
        "the same images twice should give the same loss: average over the batch",
    )


def _autoencoder(fn: Fn, latent: int, **options: Any) -> dict[str, Any]:
    """Probe ``make_autoencoder(latent)``; ``outputs`` are what the module's ``forward``
    calls returned."""
    return require_module(
        probe(fn, "module", (latent,), **options), "make_autoencoder(latent)"
    )


def _l1_model_shapes(fn: Fn) -> None:
    for latent in (2, 16):
        x = torch.rand(5, 1, 28, 28, generator=seeded(25)) * 2 - 1
        encoded, out = _autoencoder(fn, latent, forward=[("encoder", x), ("", x)])[
            "outputs"
        ]
        expect_true(
            encoded is not None,
            "the model needs an attribute encoder (a module mapping x to z)",
        )
        expect_tensor(encoded, (5, latent), "model.encoder(x)")
        out = expect_tensor(out, (5, 1, 28, 28), "model(x)")
        expect_true(
            bool((out.abs() <= 1).all()),
            "the reconstruction must lie in [-1, 1], the range of the images",
        )


def _l1_model_background(fn: Fn) -> None:
    x = torch.rand(16, 1, 28, 28, generator=seeded(26)) * 2 - 1
    torch.manual_seed(26)
    out = expect_tensor(
        _autoencoder(fn, 8, forward=[("", x)])["outputs"][0],
        (16, 1, 28, 28),
        "model(x)",
    )
    expect_true(
        bool((out < 0).any()),
        "the reconstruction is never negative, but the background of the images is "
        "-1: the last activation cannot reach it, so the loss stalls (a sigmoid "
        "covers (0, 1) only)",
    )


def _pca_optimum(x: torch.Tensor, k: int) -> float:
    """Oracle: the smallest total squared error of a rank-k reconstruction of the
    centred rows (eigenvalues)."""
    centred = x.double() - x.double().mean(0)
    eigenvalues = torch.linalg.eigvalsh(centred.T @ centred)  # ascending
    return float(eigenvalues[: x.shape[1] - k].clamp_min(0).sum())


def _l1_pca_full(fn: Fn) -> None:
    x = torch.randn(20, 6, generator=seeded(28))
    expect_close(
        expect_tensor(fn(x, 6), (20, 6)),
        x,
        "the reconstruction with k equal to the dimension",
        atol=1e-4,
    )


def _l1_pca_offset(fn: Fn) -> None:
    x = (
        torch.randn(40, 5, generator=seeded(29))
        * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2])
        + 10.0
    )
    out = expect_tensor(fn(x, 2), (40, 5))
    expect_close(
        out.mean(0),
        x.mean(0),
        "the mean of the reconstructions (it should be the data's mean: add the "
        "mean back)",
        atol=1e-3,
    )
    error = float((out.double() - x.double()).pow(2).sum())
    expect_true(
        error <= _pca_optimum(x, 2) * (1 + 1e-3) + 1e-4,
        "the reconstruction error is larger than the best "
        "rank-k error: centre the data before finding the directions, and keep the "
        "largest ones",
    )


def _l1_gap_copies(fn: Fn) -> None:
    codes = torch.randn(30, 3, generator=seeded(31))
    out = expect_tensor(fn(codes[[4, 9, 17]], codes), (3,))
    expect_close(
        out,
        torch.zeros(3),
        "the distances of queries that are reference codes",
        atol=1e-3,
    )
    far = expect_tensor(fn(codes[:2] + torch.tensor([0.0, 0.0, 100.0]), codes), (2,))
    expect_true(
        bool((far > 90).all()),
        "a query far from every code should have a large distance",
    )


def _l1_gap_values(fn: Fn) -> None:
    codes, queries = (
        torch.randn(25, 4, generator=seeded(32)),
        torch.randn(6, 4, generator=seeded(33)),
    )
    expected = torch.stack([min((q - c).norm() for c in codes) for q in queries])
    out = expect_tensor(fn(queries, codes), (6,))
    expect_true(
        not bool(torch.allclose(out, expected.pow(2), atol=1e-3)),
        "these are squared distances: take the Euclidean distance itself",
    )
    expect_close(out, expected, "the distances to the nearest code", atol=1e-4)


def _signed(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=seeded(seed)) * 2 - 1


def _l2_gauss_zero(fn: Fn) -> None:
    x = _signed((3, 1, 28, 28), 40)
    expect_close(
        expect_tensor(fn(x, 0.0), (3, 1, 28, 28)), x, "the output with sigma = 0"
    )


def _l2_gauss_range(fn: Fn) -> None:
    out = expect_tensor(fn(_signed((8, 1, 28, 28), 41), 0.8), (8, 1, 28, 28))
    expect_true(
        bool((out.abs() <= 1).all()), "noisy images must be clamped back to [-1, 1]"
    )
    expect_true(
        bool((out == -1).any()) and bool((out == 1).any()),
        "with sigma = 0.8 some pixels should be pushed "
        "past -1 and past 1 and clamped there",
    )


def _l2_gauss_distribution(fn: Fn) -> None:
    out = expect_tensor(fn(torch.zeros(8, 1, 28, 28), 0.3, seeded(42)), (8, 1, 28, 28))
    expect_true(
        abs(float(out.mean())) < 0.03,
        "the noise is not centred on the image: uniform numbers in [0, 1) "
        "have mean 1/2; the task asks for standard normal noise",
    )
    expect_true(
        abs(float(out.std()) - 0.3) < 0.02,
        "the noise's standard deviation should be sigma",
    )
    tail = float((out.abs() > 0.6).float().mean())
    expect_true(
        abs(tail - 0.0455) < 0.012,
        "the noise's tails do not look Gaussian: about 4.6 % of standard normal "
        "draws lie beyond two standard deviations",
    )


def _l2_mask_no_rescale(fn: Fn) -> None:
    x = torch.full((4, 1, 28, 28), 0.5)
    out = expect_tensor(fn(x, 0.5, seeded(43)), (4, 1, 28, 28))
    expect_true(
        bool(((out == 0.5) | (out == -1) | (out == 0)).all()),
        "kept pixels changed value (dropout rescales "
        "the survivors by 1 / (1 - p)): they must keep their value exactly",
    )
    expect_true(
        not bool((out == 0).any()),
        "dropped pixels became 0, which is mid-grey in images scaled to [-1, 1]; "
        "the background they must become is -1",
    )
    dropped = float((out == -1).float().mean())
    expect_true(
        abs(dropped - 0.5) < 0.05,
        "with p = 0.5 about half of the pixels should be dropped",
    )


def _l2_mask_identity(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 44)
    expect_close(expect_tensor(fn(x, 0.0), (2, 1, 28, 28)), x, "the output with p = 0")


def _l2_loss_perfect(fn: Fn) -> None:
    x = _signed((4, 1, 28, 28), 47)
    value = expect_scalar(probe(fn, "denoise", x, "brighten", output=x.clone())["out"])
    expect_true(
        abs(value) < 1e-6, "a model that outputs the clean images must have zero loss"
    )
    value = expect_scalar(probe(fn, "denoise", x, "brighten", output=x + 0.5)["out"])
    expect_true(
        abs(value - 196.0) < 1e-2,
        "a model whose output is off by 0.5 on every pixel should have the loss "
        "of lesson 1: squared error summed over the pixels, averaged over the images",
    )


def _l2_loss_target(fn: Fn) -> None:
    x = torch.zeros(3, 1, 28, 28)
    # the model is the identity
    value = expect_scalar(probe(fn, "denoise", x, "shift")["out"])
    expect_true(
        value > 1e-3,
        "compare the model's output with the CLEAN images, not the corrupted input",
    )
    expect_true(
        abs(value - 784 * 0.01) < 1e-3,
        "the loss should be the squared error summed over pixels and "
        "averaged over the batch",
    )


def _unit_pair(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.rand(3, 1, 28, 28, generator=seeded(seed)) * 0.5 + 0.25
    b = a + torch.tensor([0.1, 0.01, 0.2]).view(3, 1, 1, 1) * torch.randn(
        3, 1, 28, 28, generator=seeded(seed + 1)
    )
    return a, b.clamp(0, 1)


def _psnr_oracle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack(
        [10 * torch.log10(1 / ((x - y).double() ** 2).mean()) for x, y in zip(a, b)]
    )


def _l2_psnr_values(fn: Fn) -> None:
    a, b = _unit_pair(50)
    out = fn(a, b)
    expect_true(
        not (isinstance(out, torch.Tensor) and out.dim() == 0),
        "one number for the whole batch: the PSNR "
        "must be computed per image (the PSNR of the batch's mean error is not the "
        "mean per-image PSNR)",
    )
    expect_close(
        expect_tensor(out, (3,)),
        _psnr_oracle(a, b),
        "the PSNRs of three images with different errors",
        atol=1e-3,
    )


def _l2_psnr_identical(fn: Fn) -> None:
    a, b = _unit_pair(52)
    b[1] = a[1]
    out = fn(a, b)
    expect_true(
        isinstance(out, torch.Tensor) and tuple(out.shape) == (3,),
        "return an (N,) tensor",
    )
    expect_true(
        float(out[1]) == math.inf,
        "two identical images have zero error, so an infinite PSNR",
    )
    expect_close(
        out[[0, 2]],
        _psnr_oracle(a, b)[[0, 2]],
        "the PSNRs of the other images",
        atol=1e-3,
    )


def _paste_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = seeded(seed)
    output, corrupted = (
        torch.rand(4, 1, 28, 28, generator=g),
        torch.rand(4, 1, 28, 28, generator=g),
    )
    return output, corrupted, (torch.rand(4, 1, 28, 28, generator=g) > 0.4).float()


def _l2_paste_values(fn: Fn) -> None:
    output, corrupted, mask = _paste_inputs(54)
    out = expect_tensor(fn(output, corrupted, mask), (4, 1, 28, 28))
    kept = mask.bool()
    expect_true(
        torch.equal(out[kept], corrupted[kept]),
        "kept pixels (mask 1) must come from the corrupted input, exactly",
    )
    expect_true(
        torch.equal(out[~kept], output[~kept]),
        "dropped pixels (mask 0) must come from the model's output",
    )


def _l2_paste_extremes(fn: Fn) -> None:
    output, corrupted, _ = _paste_inputs(55)
    expect_close(
        expect_tensor(fn(output, corrupted, torch.ones_like(output)), (4, 1, 28, 28)),
        corrupted,
        "the result when every pixel is known",
    )
    expect_close(
        expect_tensor(fn(output, corrupted, torch.zeros_like(output)), (4, 1, 28, 28)),
        output,
        "the result when every pixel was dropped",
    )


def _auroc_oracle(inlier: torch.Tensor, outlier: torch.Tensor) -> float:
    """Oracle: the share of (outlier, inlier) pairs the outlier wins, ties one half, by
    explicit loops."""
    total = 0.0
    for o in outlier.tolist():
        for i in inlier.tolist():
            total += 1.0 if o > i else 0.5 if o == i else 0.0
    return total / (len(outlier) * len(inlier))


def _l2_auroc_extremes(fn: Fn) -> None:
    inlier, outlier = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([5.0, 6.0])
    value = expect_scalar(fn(inlier, outlier))
    expect_true(
        abs(value) > 1e-6 or abs(expect_scalar(fn(outlier, inlier)) - 1) > 1e-6,
        "the direction is reversed: a HIGHER score must mean 'more likely an outlier'",
    )
    expect_true(
        abs(value - 1.0) < 1e-9,
        "outliers that all score above every inlier should give an AUROC of 1",
    )
    expect_true(
        abs(expect_scalar(fn(outlier, inlier)) - 0.0) < 1e-9,
        "outliers that all score below every inlier should give an AUROC of 0",
    )


def _l2_auroc_ties(fn: Fn) -> None:
    inlier, outlier = torch.tensor([1.0, 2.0, 3.0, 3.0]), torch.tensor([3.0, 4.0, 0.0])
    value = expect_scalar(fn(inlier, outlier))
    expected = _auroc_oracle(inlier, outlier)
    expect_true(
        abs(value - expected) < 1e-9 or abs(value - (expected - 1 / 12)) > 1e-9,
        "ties are ignored: a tied pair counts one half",
    )
    expect_true(
        abs(value - expected) < 1e-9,
        "the AUROC of overlapping scores with ties is not correct",
    )


def _smoothness_oracle(weights: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """Oracle: per kernel, torch.corrcoef of the (pixel, right neighbour) pairs whose
    two pixels are live, pair by pair in explicit loops."""
    values = []
    for kernel in weights.double().reshape(-1, 28, 28):
        pairs = [
            (kernel[r, c], kernel[r, c + 1])
            for r in range(28)
            for c in range(27)
            if live[r, c] and live[r, c + 1]
        ]
        values.append(torch.corrcoef(torch.tensor(pairs).T)[0, 1])
    return torch.stack(values)


def _smooth_kernels(seed: int) -> torch.Tensor:
    """(4, 784): noise around an offset of 0.5, a smooth blob, horizontal stripes (rows
    of +1 and -1), a blurred noise image."""
    g = seeded(seed)
    grid = torch.arange(28.0)
    rows, cols = grid.view(-1, 1), grid.view(1, -1)
    noise = 0.5 + 0.1 * torch.randn(28, 28, generator=g)
    blob = torch.exp(-((rows - 12) ** 2 + (cols - 15) ** 2) / 40) + 0.02 * torch.randn(
        28, 28, generator=g
    )
    stripes = (1 - 2 * (rows % 2)).expand(28, 28) + 0.1 * torch.randn(
        28, 28, generator=g
    )
    blurred = F.avg_pool2d(torch.randn(1, 1, 32, 32, generator=g), 5, stride=1).view(
        28, 28
    )
    return torch.stack([noise, blob, stripes, blurred]).reshape(4, 784)


KERNEL_PER_ROW = (
    "every kernel got the same value: compute one correlation per kernel (per row of "
    "weights), not one over all kernels together"
)
KERNEL_CENTRED = (
    "a kernel of independent noise around a constant offset should score near 0, "
    "yours scores high: a correlation subtracts the mean of the left weights and of "
    "the right weights before multiplying (a cosine similarity does not)"
)
KERNEL_HORIZONTAL = (
    "a kernel of horizontal stripes is smooth along its rows and should score near "
    "+1, yours scores negative: compare each pixel with its right-hand neighbour "
    "(same row, next column) of the 28 x 28 kernel, not with the pixel below it"
)


def _l2_smooth_kinds(fn: Fn) -> None:
    weights, live = _smooth_kernels(60), torch.ones(28, 28, dtype=torch.bool)
    out = expect_tensor(fn(weights, live), (4,))
    expect_true(bool(out.max() - out.min() > 1e-3), KERNEL_PER_ROW)
    expect_true(abs(float(out[0])) < 0.3, KERNEL_CENTRED)
    expect_true(float(out[2]) > 0, KERNEL_HORIZONTAL)
    expect_close(
        out,
        _smoothness_oracle(weights, live).float(),
        "the correlations of noise, a blob, horizontal stripes and a blurred kernel",
        atol=1e-4,
    )


def _l2_smooth_live(fn: Fn) -> None:
    weights = _smooth_kernels(61).view(4, 28, 28)
    live = torch.zeros(28, 28, dtype=torch.bool)
    live[5:23, 3:25] = True
    # outside the live pixels: large noise, like a frozen border that never trained
    border = 5 * torch.randn(4, 28, 28, generator=seeded(62))
    weights = torch.where(live, weights, border).reshape(4, 784)
    out = expect_tensor(fn(weights, live), (4,))
    expect_true(
        float(out[1]) > 0.5,
        "a smooth blob with noise outside the live pixels should still score high: "
        "keep only the pairs whose two pixels are both live",
    )
    expect_close(
        out,
        _smoothness_oracle(weights, live).float(),
        "the correlations over the pairs of live pixels",
        atol=1e-4,
    )


def _is_oracle(probs: torch.Tensor, splits: int) -> float:
    """Oracle: the Inception Score by explicit loops over chunks, rows and classes,
    float64."""
    scores = []
    for chunk in torch.tensor_split(probs.double(), splits):
        marginal = chunk.mean(0).tolist()
        kls = [
            sum(p * math.log(p / m) for p, m in zip(row, marginal) if p > 0)
            for row in chunk.tolist()
        ]
        scores.append(math.exp(sum(kls) / len(kls)))
    return sum(scores) / len(scores)


def _l5_is_extremes(fn: Fn) -> None:
    confident = torch.eye(10).repeat(2, 1)  # every class twice, each with certainty
    value = fn(confident)
    expect_true(
        not (isinstance(value, float) and math.isnan(value))
        and not (isinstance(value, torch.Tensor) and bool(value.isnan().any())),
        XLOGY_NAN,
    )
    expect_true(
        abs(expect_scalar(value) - 10.0) < 1e-6,
        "confident predictions spread evenly over 10 classes should score 10",
    )
    same = (
        torch.softmax(torch.randn(1, 10, generator=seeded(113)), 1)
        .expand(8, 10)
        .clone()
    )
    expect_true(
        abs(expect_scalar(fn(same)) - 1.0) < 1e-6,
        "identical predictions for every sample should score 1",
    )


def _l5_is_random(fn: Fn) -> None:
    probs = torch.softmax(torch.randn(12, 5, generator=seeded(114)) * 2, 1)
    value = expect_scalar(fn(probs))
    p64 = probs.double()
    kl = (p64 * (p64 / p64.mean(0)).log()).sum(1)
    expect_true(
        abs(value - float(kl.exp().mean())) > 1e-6,
        "the exponential is taken per sample and then averaged: "
        "average the KL divergences first, then take the exponential",
    )
    expect_true(
        abs(value - _is_oracle(probs, 1)) < 1e-5,
        "the score of random predictions is not correct",
    )
    split = expect_scalar(fn(probs, 3))
    expect_true(
        abs(split - _is_oracle(probs, 1)) > 1e-6,
        "splits is ignored: each chunk has its own marginal p(y)",
    )
    expect_true(
        abs(split - _is_oracle(probs, 3)) < 1e-5,
        "the score averaged over 3 splits is not correct",
    )


def _kl_pair_oracle(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor,
    logvar_p: torch.Tensor,
) -> torch.Tensor:
    """Oracle: torch.distributions' KL between two diagonal Gaussians, summed over
    dimensions, float64."""
    q = torch.distributions.Normal(mu_q.double(), (0.5 * logvar_q.double()).exp())
    p = torch.distributions.Normal(mu_p.double(), (0.5 * logvar_p.double()).exp())
    return torch.distributions.kl_divergence(q, p).sum(1)


def _gaussian_pairs(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = seeded(seed)
    return (
        torch.randn(n, 3, generator=g),
        torch.randn(n, 3, generator=g) * 0.8,
        torch.randn(n, 3, generator=g),
        torch.randn(n, 3, generator=g) * 0.8,
    )


def _l3_pair_known(fn: Fn) -> None:
    mu, logvar = (
        torch.randn(2, 3, generator=seeded(49)),
        torch.randn(2, 3, generator=seeded(50)),
    )
    expect_close(
        expect_tensor(fn(mu, logvar, mu.clone(), logvar.clone()), (2,)),
        torch.zeros(2),
        "the KL of a Gaussian from itself",
        atol=1e-5,
    )
    out = expect_tensor(
        fn(torch.ones(2, 2), torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2)),
        (2,),
    )
    expect_true(
        bool((out > 0).all()),
        "the KL divergence of two different Gaussians is positive: check its sign",
    )
    expect_close(
        out,
        torch.ones(2),
        "the KL for unit variances and means one apart in each of two dimensions",
    )


def _l3_pair_random(fn: Fn) -> None:
    mu_q, logvar_q, mu_p, logvar_p = _gaussian_pairs(5, 51)
    out = expect_tensor(fn(mu_q, logvar_q, mu_p, logvar_p), (5,))
    if torch.allclose(
        out.double(), _kl_pair_oracle(mu_p, logvar_p, mu_q, logvar_q), atol=1e-4
    ):
        raise CaseFailed(
            "this is KL(p || q), with the two Gaussians swapped: the divergence is "
            "not symmetric"
        )
    if torch.allclose(
        out.double(), _kl_pair_oracle(mu_q, 2 * logvar_q, mu_p, 2 * logvar_p), atol=1e-4
    ):
        raise CaseFailed(
            "the values treat exp(logvar) as the standard deviation: logvar is the "
            "log of the VARIANCE"
        )
    expect_close(
        out,
        _kl_pair_oracle(mu_q, logvar_q, mu_p, logvar_p),
        "the divergences of random Gaussians",
        atol=1e-4,
    )


def _l3_kl_known(fn: Fn) -> None:
    out = expect_tensor(fn(torch.zeros(4, 3), torch.zeros(4, 3)), (4,))
    expect_close(out, torch.zeros(4), "the KL of the standard normal from itself")
    out = expect_tensor(fn(torch.ones(2, 2), torch.zeros(2, 2)), (2,))
    expect_true(
        bool((out > 0).all()), "the KL divergence is never negative: check its sign"
    )
    expect_close(
        out,
        torch.ones(2),
        "the KL for unit variance and a shifted mean (sum over the latent dimensions)",
    )


def _l3_kl_variance(fn: Fn) -> None:
    logvar = torch.tensor([[math.log(4.0), -1.0, 0.5]])
    out = expect_tensor(fn(torch.zeros(1, 3), logvar), (1,))
    if torch.allclose(
        out.double(),
        _kl_pair_oracle(
            torch.zeros(1, 3), 2 * logvar, torch.zeros(1, 3), torch.zeros(1, 3)
        ),
        atol=1e-4,
    ):
        raise CaseFailed(
            "the values treat exp(logvar) as the standard deviation: logvar is the "
            "log of the VARIANCE"
        )
    expect_close(
        out,
        _kl_pair_oracle(
            torch.zeros(1, 3), logvar, torch.zeros(1, 3), torch.zeros(1, 3)
        ),
        "the KL of zero-mean Gaussians with other variances",
        atol=1e-4,
    )


def _l3_rep_collapse(fn: Fn) -> None:
    mu = torch.randn(4, 3, generator=seeded(52))
    expect_close(
        expect_tensor(fn(mu, torch.full((4, 3), -40.0)), (4, 3)),
        mu,
        "samples with (almost) zero variance",
        atol=1e-6,
    )


def _l3_rep_symmetric(fn: Fn) -> None:
    z = expect_tensor(
        fn(torch.zeros(20000, 10), torch.zeros(20000, 10), seeded(53)), (20000, 10)
    )
    expect_true(
        abs(float((z < 0).float().mean()) - 0.5) < 0.01,
        "with mu = 0 about half of the samples should be "
        "negative: the noise must be standard normal, not uniform on [0, 1)",
    )
    expect_true(
        abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02,
        "with mu = 0 and logvar = 0 samples should have mean 0 and standard "
        "deviation 1",
    )
    tail = float((z.abs() > 2).float().mean())
    expect_true(
        abs(tail - 0.0455) < 0.005,
        "the samples' tails do not look Gaussian (about 4.6 % of standard normal "
        "draws lie beyond 2)",
    )


def _l3_rep_std(fn: Fn) -> None:
    z = expect_tensor(
        fn(
            torch.full((20000, 4), 3.0),
            torch.full((20000, 4), math.log(4.0)),
            seeded(54),
        ),
        (20000, 4),
    )
    spread = float(z.std())
    expect_true(
        abs(spread - 4) > 0.2,
        "the samples' standard deviation is exp(logvar), the variance: the standard "
        "deviation is its square root",
    )
    expect_true(
        abs(float(z.mean()) - 3) < 0.05 and abs(spread - 2) < 0.05,
        "with mu = 3 and a variance of 4 the "
        "samples should have mean 3 and standard deviation 2",
    )


def _l3_rep_differentiable(fn: Fn) -> None:
    seen = probe(
        fn, "gradients", (torch.zeros(3, 2), torch.zeros(3, 2), seeded(55)), (0, 1)
    )
    expect_tensor(seen["out"], (3, 2))
    expect_true(
        seen["requires_grad"]
        and all(isinstance(g, torch.Tensor) for g in seen["grads"]),
        "no gradient reaches mu and logvar: a sample drawn by torch.normal(mu, std) "
        "is not differentiable; "
        "compute z from mu, logvar and noise that does not depend on them",
    )
    mu_grad, logvar_grad = seen["grads"]
    expect_true(
        bool((mu_grad == 1).all()),
        "moving mu should move z by the same amount (dz/dmu = 1)",
    )
    expect_true(bool((logvar_grad != 0).any()), "z should depend on logvar")


def _bce_sum(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Oracle: -log Bernoulli(x | sigmoid(logits)) per image, via
    torch.distributions."""
    return (
        -torch.distributions.Bernoulli(logits=logits.double())
        .log_prob(x.double())
        .flatten(1)
        .sum(1)
    )


def _vae_inputs(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = seeded(seed)
    logits = torch.randn(n, 1, 28, 28, generator=g) * 3
    x = torch.rand(n, 1, 28, 28, generator=g).round()
    return (
        logits,
        x,
        torch.randn(n, 4, generator=g),
        torch.randn(n, 4, generator=g) * 0.5,
    )


LOG_SIGMOID_NAN = (
    "NaN or infinite for confident logits: sigmoid(l) rounds to exactly 0 or 1 in "
    "floating point and "
    "its log is -inf; compute the term from the logits without forming sigmoid(l)"
)


def _l3_loglik_zero(fn: Fn) -> None:
    x = _binary((3, 1, 28, 28), 56)
    out = expect_tensor(fn(torch.zeros(3, 1, 28, 28), x), (3,))
    expect_true(
        bool((out < 0).all()),
        "a log-likelihood of binary pixels is negative: check the sign",
    )
    expect_close(
        out,
        torch.full((3,), -784 * LN2),
        "the log-likelihoods with every logit 0",
        atol=1e-3,
    )


def _l3_loglik_confident(fn: Fn) -> None:
    x = _binary((2, 1, 28, 28), 57)
    logits = (2 * x - 1) * 120.0  # confidently right everywhere...
    logits[1, :, :3] *= -1  # ...except three rows of image 1, confidently wrong
    out = fn(logits, x)
    if (
        isinstance(out, torch.Tensor)
        and out.is_floating_point()
        and not bool(torch.isfinite(out).all())
    ):
        raise CaseFailed(LOG_SIGMOID_NAN)
    expect_close(
        expect_tensor(out, (2,)),
        _bce_sum(logits, x).neg(),
        "the log-likelihoods for confident logits (+-120)",
        rtol=1e-4,
        atol=1e-2,
    )


def _l3_loss_known(fn: Fn) -> None:
    value = expect_scalar(
        fn(
            torch.zeros(2, 1, 28, 28),
            _binary((2, 1, 28, 28), 55),
            torch.zeros(2, 3),
            torch.zeros(2, 3),
        )
    )
    expect_true(
        abs(value * 784 - 784 * LN2) > 1.0,
        "the reconstruction term is 784 times too small: it averages the "
        "cross-entropy over the pixels; sum it over the pixels of each image",
    )
    expect_true(
        abs(value - 784 * LN2) < 1e-2,
        "the loss should be the binary cross-entropy SUMMED over the pixels "
        "of an image (then averaged over the batch), plus beta times the KL",
    )


def _l3_loss_beta(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(3, 56)
    recon = float(_bce_sum(logits, x).mean())
    value = expect_scalar(fn(logits, x, mu, logvar, beta=0.0))
    expect_true(
        abs(value - recon) < 1e-3 * recon,
        "with beta = 0 the loss should be the reconstruction term alone",
    )


def _l3_elbo_bound(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(5, 59)
    out = expect_tensor(fn(logits, x, mu, logvar), (5,))
    expect_true(
        bool((out <= 0).all()),
        "the ELBO of binary images is a lower bound on a log-probability, so it "
        "can never be positive",
    )
    zero = expect_tensor(
        fn(torch.zeros(2, 1, 28, 28), x[:2], torch.zeros(2, 4), torch.zeros(2, 4)), (2,)
    )
    expect_close(
        zero,
        torch.full((2,), -784 * LN2),
        "the ELBO with zero logits and q(z | x) equal to the prior",
        atol=1e-3,
    )


def _l3_elbo_monotone(fn: Fn) -> None:
    logits, x = torch.zeros(1, 1, 28, 28), _binary((1, 1, 28, 28), 60)
    values = [
        float(
            expect_tensor(fn(logits, x, torch.full((1, 2), m), torch.zeros(1, 2)), (1,))
        )
        for m in (0, 1, 2)
    ]
    expect_true(
        values[0] > values[1] > values[2],
        "moving the posterior mean away from the prior should LOWER the "
        "ELBO: check the sign of the KL term",
    )


def _excess_oracle(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Oracle: KL(Bernoulli(x) || Bernoulli(sigmoid(logits))) summed per image,
    float64."""
    target = torch.distributions.Bernoulli(probs=x.double())
    model = torch.distributions.Bernoulli(logits=logits.double())
    return torch.distributions.kl_divergence(target, model).flatten(1).sum(1)


def _l3_grey_known(fn: Fn) -> None:
    x = torch.full((2, 1, 28, 28), 0.5)
    out = expect_tensor(fn(torch.zeros(2, 1, 28, 28), x), (2,))
    expect_close(
        out,
        torch.zeros(2),
        "the excess for a perfect prediction of grey pixels",
        atol=1e-4,
    )
    logits = torch.full((2, 1, 28, 28), 2.0)
    expect_close(
        expect_tensor(fn(logits, x), (2,)),
        _excess_oracle(logits, x),
        "the excess of an imperfect prediction of grey pixels",
        atol=1e-3,
    )


def _l3_grey_binary(fn: Fn) -> None:
    x = _binary((2, 1, 28, 28), 61)
    logits = torch.randn(2, 1, 28, 28, generator=seeded(62))
    out = fn(logits, x)
    expect_no_nan(out, XLOGY_NAN)
    expect_close(
        expect_tensor(out, (2,)),
        _bce_sum(logits, x),
        "the excess for binary pixels (their entropy is 0, so it equals the BCE)",
        atol=1e-2,
    )


def _l3_grey_nonnegative(fn: Fn) -> None:
    x = torch.rand(4, 1, 28, 28, generator=seeded(62))
    out = expect_tensor(fn(torch.randn(4, 1, 28, 28, generator=seeded(63)), x), (4,))
    expect_true(
        bool((out >= -1e-4).all()),
        "the excess over the best achievable BCE can never be negative",
    )
    expect_true(
        bool((out > 1).all()),
        "random logits should be far from optimal: the excess should be large",
    )


def _l3_iwae_single(fn: Fn) -> None:
    log_w = torch.randn(4, 1, generator=seeded(64)) * 5 - 100
    expect_close(
        expect_tensor(fn(log_w), (4,)),
        log_w[:, 0],
        "the bound with one sample (it is that sample's log-weight)",
        atol=1e-4,
    )
    same = log_w.expand(4, 3).clone()
    expect_close(
        expect_tensor(fn(same), (4,)),
        log_w[:, 0],
        "the bound with three equal log-weights",
        atol=1e-4,
    )


def _l3_iwae_jensen(fn: Fn) -> None:
    log_w = torch.randn(5, 8, generator=seeded(65)) * 2 - 10
    out = expect_tensor(fn(log_w), (5,))
    if torch.allclose(out, log_w.mean(1), atol=1e-4):
        raise CaseFailed(
            "this is the average of the log-weights (the ELBO estimate); the bound "
            "is the log of the "
            "average weight, which is larger by Jensen's inequality"
        )
    expect_close(
        out,
        log_w.double().exp().mean(1).log(),
        "the bounds of eight log-weights",
        atol=1e-4,
    )


def _l3_iwae_underflow(fn: Fn) -> None:
    log_w = torch.randn(3, 16, generator=seeded(66)) * 5 - 400
    out = fn(log_w)
    if (
        isinstance(out, torch.Tensor)
        and out.is_floating_point()
        and not bool(torch.isfinite(out).all())
    ):
        raise CaseFailed(
            "the bound is -inf or NaN for log-weights near -400: exp of them is 0.0 "
            "in floating point; "
            "average the weights without leaving log space"
        )
    expected = torch.logsumexp(log_w.double(), 1) - math.log(16)
    expect_close(
        expect_tensor(out, (3,)),
        expected,
        "the bounds for log-weights near -400",
        atol=1e-3,
    )


def _l4_dstar_values(fn: Fn) -> None:
    p_data, p_model = (
        torch.tensor([0.3, 1.0, 2.0, 0.5]),
        torch.tensor([0.1, 1.0, 0.5, 1.5]),
    )
    out = expect_tensor(fn(p_data, p_model), (4,))
    expect_true(
        not torch.allclose(out, p_model / (p_data + p_model), atol=1e-5),
        "this is the probability that x is "
        "FAKE: D(x) is the probability that x comes from the data",
    )
    expect_close(
        out, p_data / (p_data + p_model), "the optimal discriminator at four points"
    )


def _l4_dstar_edges(fn: Fn) -> None:
    p = torch.rand(3, 4, generator=seeded(70)) + 0.1
    expect_close(
        expect_tensor(fn(p, p.clone()), (3, 4)),
        torch.full((3, 4), 0.5),
        "D* where the generator matches "
        "the data (it cannot do better than a coin flip)",
    )
    p_data, p_model = torch.tensor([0.0, 0.7, 0.0]), torch.tensor([0.4, 0.0, 0.0])
    out = fn(p_data, p_model)
    expect_no_nan(
        out,
        "D* is NaN where both densities are 0: 0 / 0 must be handled (the task says "
        "1/2 there)",
    )
    expect_close(
        expect_tensor(out, (3,)),
        torch.tensor([0.0, 1.0, 0.5]),
        "D* where only one density, or neither, is positive",
    )


def _jsd_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = 0.5 * (p.double() + q.double())
    return 0.5 * (_kl_rows(p, m) + _kl_rows(q, m))


def _l4_jsd_values(fn: Fn) -> None:
    p, q = _distributions(4, 6, 71), _distributions(4, 6, 72)
    expect_close(
        expect_tensor(fn(p, p.clone()), (4,)),
        torch.zeros(4),
        "the JSD of a distribution with itself",
        atol=1e-5,
    )
    out = expect_tensor(fn(p, q), (4,))
    expect_close(
        out, _jsd_rows(p, q), "the divergences of random distributions", atol=1e-5
    )


def _l4_jsd_disjoint(fn: Fn) -> None:
    p = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.2, 0.3, 0.5, 0.0]])
    q = torch.tensor([[0.0, 0.0, 0.3, 0.7], [0.0, 0.3, 0.2, 0.5]])
    out = fn(p, q)
    expect_no_nan(out, XLOGY_NAN)
    expect_close(
        expect_tensor(out, (2,)),
        _jsd_rows(p, q),
        "the divergences of distributions with zero entries "
        "(disjoint supports give the maximum, log 2, whatever the distance between "
        "them)",
        atol=1e-5,
    )


def _l4_d_zero(fn: Fn) -> None:
    value = expect_scalar(fn(torch.zeros(4), torch.zeros(6)))
    expect_true(
        abs(value - 2 * LN2) < 1e-4,
        "with zero logits the loss should be the sum of the two mean "
        "binary cross-entropies (real labelled 1, fake labelled 0)",
    )
    value = expect_scalar(fn(torch.full((2,), 2.0), torch.full((5,), -1.0)))
    expect_true(
        abs(value - (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-1.0)))) < 1e-4,
        "the loss of a "
        "discriminator that is right with moderate confidence: real labelled 1, fake "
        "labelled 0, each batch "
        "averaged over its own size",
    )


def _l4_d_confident(fn: Fn) -> None:
    out = fn(torch.full((3,), 200.0), torch.full((3,), -200.0))
    expect_true(
        not (isinstance(out, torch.Tensor) and bool(out.isnan().any())), LOG_SIGMOID_NAN
    )
    value = expect_scalar(out)
    expect_true(
        0 <= value < 1e-6,
        "a discriminator that is confidently right should have (almost) zero loss",
    )
    out = fn(torch.full((3,), -200.0), torch.full((3,), 200.0))
    if (
        isinstance(out, torch.Tensor)
        and out.dim() == 0
        and not bool(torch.isfinite(out))
    ):
        raise CaseFailed(LOG_SIGMOID_NAN)
    expect_true(
        abs(expect_scalar(out) - 400) < 1e-2,
        "the loss of a confidently wrong discriminator (logits +-200) "
        "is not correct: it should grow like the logits, not saturate",
    )


def _gradient_oracle(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Oracle: autograd of the two per-sample generator losses, float64."""
    leaf = logits.double().clone().requires_grad_(True)
    (minimax,) = torch.autograd.grad(torch.log1p(-torch.sigmoid(leaf)).sum(), leaf)
    (non_saturating,) = torch.autograd.grad(-F.logsigmoid(leaf).sum(), leaf)
    return minimax, non_saturating


def _pair(out: object, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    expect_true(
        isinstance(out, tuple) and len(out) == 2,
        "return a tuple (minimax, non_saturating)",
    )
    assert isinstance(out, tuple)
    return expect_tensor(out[0], (n,), "minimax"), expect_tensor(
        out[1], (n,), "non_saturating"
    )


def _l4_grad_autograd(fn: Fn) -> None:
    logits = torch.tensor([-3.0, -0.5, 0.0, 1.0, 4.0])
    minimax, non_saturating = _pair(fn(logits), 5)
    expected_minimax, expected_non_saturating = _gradient_oracle(logits)
    if torch.allclose(minimax.double(), expected_non_saturating, atol=1e-5):
        raise CaseFailed(
            "the two derivatives are swapped: the first is that of log(1 - D), the "
            "minimax loss"
        )
    if torch.allclose(minimax.double(), -expected_minimax, atol=1e-5):
        raise CaseFailed(
            "the minimax derivative has the wrong sign: log(1 - D) DEcreases as l grows"
        )
    expect_close(
        minimax, expected_minimax, "the derivatives of log(1 - sigmoid(l))", atol=1e-5
    )
    expect_close(
        non_saturating,
        expected_non_saturating,
        "the derivatives of -log sigmoid(l)",
        atol=1e-5,
    )


def _l4_grad_saturation(fn: Fn) -> None:
    logits = torch.full((3,), -10.0)
    minimax, non_saturating = _pair(fn(logits), 3)
    expected_minimax, expected_non_saturating = _gradient_oracle(logits)
    expect_close(
        minimax,
        expected_minimax,
        "the minimax derivatives when D rejects the fakes (l = -10)",
        atol=1e-7,
        rtol=1e-3,
    )
    expect_close(
        non_saturating,
        expected_non_saturating,
        "the non-saturating derivatives when D rejects the fakes (l = -10)",
        atol=1e-5,
    )


def _mbd_layer(fn: Fn, a: int, b: int, c: int, **options: Any) -> dict[str, Any]:
    """Probe ``MinibatchDiscrimination(a, b, c)`` and require its parameter ``T``."""
    info = require_module(
        probe(fn, "module", (a, b, c), **options), "MinibatchDiscrimination"
    )
    expect_true(
        info["parameters"].get("T") == [a, b, c],
        "the layer needs a parameter T of shape (in_features, out_features, "
        "kernel_dims)",
    )
    return info


def _l4_mbd_shape(fn: Fn) -> None:
    x = torch.randn(5, 6, generator=seeded(73))
    out = expect_tensor(
        _mbd_layer(fn, 6, 3, 2, forward=[("", x)])["outputs"][0], (5, 9)
    )
    expect_close(
        out[:, :6], x, "the first in_features columns (they should be the input itself)"
    )


def _l4_mbd_identical(fn: Fn) -> None:
    x = torch.randn(1, 4, generator=seeded(74)).expand(6, 4).clone()
    out = _mbd_layer(fn, 4, 3, 5, forward=[("", x)])["outputs"][0]
    expect_close(
        expect_tensor(out, (6, 7))[:, 4:],
        torch.full((6, 3), 5.0),
        "the features of a batch of identical rows (sum over the OTHER samples only)",
    )


def _hinge_oracle(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Oracle: each batch's mean hinge by explicit loops, then added."""
    real_part = sum(max(0.0, 1.0 - r) for r in real.flatten().tolist()) / real.numel()
    fake_part = sum(max(0.0, 1.0 + f) for f in fake.flatten().tolist()) / fake.numel()
    return real_part + fake_part


def _l4_hinge_margins(fn: Fn) -> None:
    beyond = expect_scalar(fn(torch.tensor([3.0, 5.0]), torch.tensor([-2.0, -4.0])))
    expect_true(
        beyond >= 0,
        "the loss is negative: a sample beyond its margin must contribute 0, not a "
        "reward (the max(0, .) of the hinge is missing)",
    )
    expect_true(
        abs(beyond) < 1e-6,
        "every real logit is above +1 and every fake below -1, so each sample is "
        "beyond its margin and the loss must be exactly 0: real logits are pushed "
        "ABOVE +1, fakes BELOW -1 (check which hinge each batch goes through)",
    )
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 0.5, -0.5])
    value = expect_scalar(fn(real, fake))
    expect_true(
        abs(value - _hinge_oracle(real, fake)) < 1e-5,
        "the hinge loss of logits on both sides of their margins",
    )


def _l4_hinge_batches(fn: Fn) -> None:
    real = torch.tensor([[0.0], [4.0]])
    fake = torch.tensor([[-0.5], [-2.0], [0.0], [1.0], [-1.5], [0.25]])
    value = expect_scalar(fn(real, fake))
    expected = _hinge_oracle(real, fake)
    # one mean over the 8 logits of both batches
    pooled = float((1 - real).clamp(min=0).sum() + (1 + fake).clamp(min=0).sum()) / 8
    expect_true(
        abs(value - pooled) > 1e-6 or abs(value - expected) < 1e-6,
        "the loss is the mean hinge over the real batch PLUS the mean over the fake "
        "batch, not one mean over both batches together (they differ in size here)",
    )
    expect_true(
        abs(value - expected) < 1e-5,
        "the hinge loss of 2 real and 6 fake logits, shaped (N, 1)",
    )


def _push_oracle(fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """Oracle: autograd of -mean log sigmoid(a x + b) with respect to x, in float64."""
    x = fake.detach().double().requires_grad_(True)
    (grad,) = torch.autograd.grad(-F.logsigmoid(a * x + b).mean(), x)
    return grad


def _push_diagnosis(out: torch.Tensor, fake: torch.Tensor, a: float, b: float) -> None:
    """Fail with the reason when ``out`` is one of the classic slips of the chain
    rule."""
    expected, m = _push_oracle(fake, a, b), len(fake)
    d = torch.sigmoid(a * fake.double() + b)
    slips = (
        (
            -expected,
            "wrong sign: descending L_G must move each fake towards a higher logit "
            "(for a > 0, to the right), so dL_G/dx_i has the sign of -a",
        ),
        (expected / a, "the chain rule's second link is missing: dl/dx = a"),
        (
            expected * m,
            "L_G is a mean over the M fakes: each sample's gradient carries 1/M",
        ),
        (
            -d * a / m,
            "the factor is 1 - D(x_i) for the non-saturating loss -log D; "
            "D(x_i) belongs to the minimax loss's derivative",
        ),
    )
    for wrong, why in slips:
        expect_true(not torch.allclose(out.double(), wrong, rtol=1e-4, atol=1e-9), why)


def _l4_push_autograd(fn: Fn) -> None:
    fake = torch.randn(6, generator=seeded(63)) + 1.0
    out = expect_tensor(fn(fake, 1.5, -2.0), (6,))
    _push_diagnosis(out, fake, 1.5, -2.0)
    expect_close(
        out, _push_oracle(fake, 1.5, -2.0).float(), "the gradient against autograd"
    )


def _l4_push_confident(fn: Fn) -> None:
    fake = torch.tensor([0.0, 2.0, 4.0, 6.0, 40.0])
    # D accepts the first fakes and rejects the last ones; the last logit is -108,
    # where exp(108) overflows float32
    out = fn(fake, -3.0, 12.0)
    expect_no_nan(
        out,
        "the result holds NaN: compute 1 - D from the logit, stably, for large logits",
    )
    out = expect_tensor(out, (5,))
    _push_diagnosis(out, fake, -3.0, 12.0)
    expect_close(
        out,
        _push_oracle(fake, -3.0, 12.0).float(),
        "the gradient for a negative slope and confident logits",
        atol=1e-7,
    )


@functools.cache
def _torch_size(
    size: int,
    kernel: int,
    stride: int,
    padding: int,
    transposed: bool,
    output_padding: int,
) -> int:
    if transposed:
        layer: nn.Module = nn.ConvTranspose2d(
            1, 1, kernel, stride, padding, output_padding=output_padding
        )
    else:
        layer = nn.Conv2d(1, 1, kernel, stride, padding)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, size, size)).shape[-1])


def _size_case(
    settings: list[tuple[int, int, int, int, bool, int]], what: str
) -> Callable[[Fn], None]:
    def run(fn: Fn) -> None:
        for size, kernel, stride, padding, transposed, output_padding in settings:
            got = fn(
                size,
                kernel,
                stride,
                padding,
                transposed=transposed,
                output_padding=output_padding,
            )
            expect_true(
                isinstance(got, int) and not isinstance(got, bool),
                "conv_output_size should return an int",
            )
            kind = "transposed convolution" if transposed else "convolution"
            expect_true(
                got
                == _torch_size(
                    size, kernel, stride, padding, transposed, output_padding
                ),
                f"wrong size for a {kind} with kernel {kernel}, stride {stride}, "
                f"padding {padding} on a "
                f"{size}x{size} input ({what})",
            )

    return run


INIT_LAYERS = {
    "0": "Conv2d",
    "1": "BatchNorm2d",
    "2": "ConvTranspose2d",
    "3": "Linear",
    "4": "BatchNorm1d",
    # the layers of course_lib.grading.probes.init_model, by index
    "5": "Embedding",
}


def _state(fn: Fn) -> dict[str, Any]:
    """The state dict of the probe model after ``model.apply(fn)``; every expected entry
    a tensor."""
    state = probe(fn, "apply_init")
    expect_true(
        isinstance(state, dict)
        and all(
            isinstance(state.get(key), torch.Tensor)
            for key in (
                "0.weight",
                "0.bias",
                "1.weight",
                "1.bias",
                "2.weight",
                "3.weight",
                "3.bias",
                "4.weight",
                "4.bias",
                "5.weight",
            )
        ),
        "the initialiser should change weights in place, not replace the layers",
    )
    return state


def _l5_init_conv(fn: Fn) -> None:
    state = _state(fn)
    for index in ("0", "2", "3"):
        w = state[f"{index}.weight"]
        expect_true(
            abs(float(w.mean())) < 0.002 and abs(float(w.std()) - 0.02) < 0.002,
            f"{INIT_LAYERS[index]} weights should be drawn from a normal with mean 0 "
            "and std 0.02",
        )
    expect_true(
        bool((state["0.bias"] == 0).all()) and bool((state["3.bias"] == 0).all()),
        "convolution and linear biases (when present) should be set to 0",
    )


def _l5_init_bn(fn: Fn) -> None:
    state = _state(fn)
    for index in ("1", "4"):
        w = state[f"{index}.weight"]
        expect_true(
            abs(float(w.mean()) - 1) < 0.003 and abs(float(w.std()) - 0.02) < 0.003,
            f"{INIT_LAYERS[index]} weights should be drawn from a normal with mean 1 "
            "and std 0.02",
        )
        expect_true(
            bool((state[f"{index}.bias"] == 0).all()), "BatchNorm biases should be 0"
        )


def _block(fn: Fn, cin: int, cout: int, **options: Any) -> dict[str, Any]:
    """Probe ``generator_block(cin, cout)``."""
    return require_module(
        probe(fn, "module", (cin, cout), **options),
        "generator_block(in_channels, out_channels)",
    )


def _l5_block_shape(fn: Fn) -> None:
    x = torch.randn(2, 8, 7, 7, generator=seeded(80))
    out = expect_tensor(
        _block(fn, 8, 4, forward=[("", x)])["outputs"][0], (2, 4, 14, 14)
    )
    expect_true(bool((out >= 0).all()), "the block should end with a ReLU")


def _l5_block_sizes(fn: Fn) -> None:
    inputs = [torch.randn(2, 3, size, size, generator=seeded(81)) for size in (3, 14)]
    outputs = _block(fn, 3, 5, forward=[("", x) for x in inputs])["outputs"]
    for x, out in zip(inputs, outputs):
        size = x.shape[-1]
        expect_tensor(out, (2, 5, 2 * size, 2 * size))


def _overlap_oracle(n_in: int, kernel: int, stride: int) -> torch.Tensor:
    """Oracle: the sum of the impulse responses of a real 1-D transposed convolution
    with unit weights."""
    layer = nn.ConvTranspose1d(1, 1, kernel, stride, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        return layer(torch.ones(1, 1, n_in)).round().long()[0, 0]


def _l5_overlap_uneven(fn: Fn) -> None:
    out = fn(5, 3, 2)
    expect_true(
        isinstance(out, torch.Tensor) and tuple(out.shape) == (11,),
        "return one count per output pixel: "
        "a tensor of (n_in - 1) * stride + kernel counts",
    )
    expect_true(
        torch.equal(out.long(), _overlap_oracle(5, 3, 2)),
        "the counts for 5 inputs, kernel 3, stride 2 are "
        "not correct (count the inputs whose k outputs include each position)",
    )


def _l5_overlap_even(fn: Fn) -> None:
    for n_in, kernel, stride in ((4, 4, 2), (3, 2, 2), (6, 5, 1)):
        out = fn(n_in, kernel, stride)
        length = (n_in - 1) * stride + kernel
        expect_true(
            isinstance(out, torch.Tensor) and tuple(out.shape) == (length,),
            "return one count per output "
            "pixel: a tensor of (n_in - 1) * stride + kernel counts",
        )
        expect_true(
            torch.equal(out.long(), _overlap_oracle(n_in, kernel, stride)),
            f"the counts for {n_in} inputs, "
            f"kernel {kernel}, stride {stride} are not correct",
        )


# the geometry of lesson 6's swiss roll (course_lib.priors)
SWISS_RADIUS, SWISS_TURNS = 3.0, 2.0


# the layers of course_lib.gan.DCGenerator().net and of DCDiscriminator (body, then out)
DC_GENERATOR = [
    "ConvTranspose2d", "BatchNorm2d", "ReLU",
    "Conv2d", "BatchNorm2d", "ReLU",
    "ConvTranspose2d", "BatchNorm2d", "ReLU",
    "Conv2d", "BatchNorm2d", "ReLU",
    "ConvTranspose2d", "Tanh",
]  # fmt: skip
DC_DISCRIMINATOR = [
    "Conv2d", "LeakyReLU",
    "Conv2d", "BatchNorm2d", "LeakyReLU",
    "Conv2d", "BatchNorm2d", "LeakyReLU",
    "Flatten", "Linear",
]  # fmt: skip


def _rules(fn: Fn, layers: list[str], role: str) -> tuple[int, ...]:
    """The student's verdict as a tuple of ints, after checking its type and order."""
    out = fn(list(layers), role)
    expect_true(
        isinstance(out, (tuple, list))
        and all(isinstance(r, int) and not isinstance(r, bool) for r in out),
        f"return a tuple of rule numbers (ints), got {type(out).__name__}",
    )
    expect_true(
        list(out) == sorted(set(out)),
        "the rule numbers should be sorted, each listed once",
    )
    return tuple(out)


def _l5_rules_library(fn: Fn) -> None:
    g, d = (
        _rules(fn, DC_GENERATOR, "generator"),
        _rules(fn, DC_DISCRIMINATOR, "discriminator"),
    )
    expect_true(
        2 not in g,
        "the library's generator breaks no rule, yet you report rule 2: its output "
        "layer has no BatchNorm by design (one of the rule's two exceptions)",
    )
    expect_true(
        2 not in d,
        "the library's discriminator breaks no rule, yet you report rule 2: its input "
        "layer has no BatchNorm by design, and its last layer outputs the logit",
    )
    expect_true(
        3 not in d,
        "the discriminator's last Linear outputs the logit: it is the output layer, "
        "not a hidden one (rule 3 is about hidden layers)",
    )
    expect_true(
        4 not in g,
        "ReLU is the generator's hidden activation (LeakyReLU is the discriminator's), "
        "and tanh its output: the library's generator follows rule 4",
    )
    expect_true(
        g == () and d == (),
        "the library's two networks follow the rules: none is broken",
    )
    projected = ["Linear", "BatchNorm1d", "ReLU", "Unflatten"] + DC_GENERATOR[3:]
    expect_true(
        _rules(fn, projected, "generator") == (),
        "a generator whose first layer is a Linear projection of z (the DCGAN "
        "paper's), reshaped into feature maps, follows the rules: that Linear is not "
        "hidden",
    )
    expect_true(
        _rules(fn, DC_GENERATOR[:-1] + ["Sigmoid"], "generator") == (4,),
        "a generator with a Sigmoid output breaks rule 4 (and only it): its images lie "
        "in [0, 1], while the data lie in [-1, 1]",
    )


def _l5_rules_broken(fn: Fn) -> None:
    for pool in ("MaxPool2d", "AvgPool2d"):
        pooled = DC_DISCRIMINATOR[:2] + [pool] + DC_DISCRIMINATOR[2:]
        expect_true(
            _rules(fn, pooled, "discriminator") == (1,),
            f"a discriminator with a {pool} layer breaks rule 1 (and only it): "
            "average pooling is pooling too",
        )
    normed = DC_DISCRIMINATOR[:1] + ["BatchNorm2d"] + DC_DISCRIMINATOR[1:]
    expect_true(
        _rules(fn, normed, "discriminator") == (2,),
        "BatchNorm on the discriminator's input layer breaks rule 2 (its exception)",
    )
    bare = [name for name in DC_GENERATOR if name != "BatchNorm2d"]
    expect_true(
        _rules(fn, bare, "generator") == (2,),
        "a generator without BatchNorm breaks rule 2",
    )
    relu = ["ReLU" if name == "LeakyReLU" else name for name in DC_DISCRIMINATOR]
    expect_true(
        _rules(fn, relu, "discriminator") == (4,),
        "a discriminator with ReLU breaks rule 4: its hidden activation is LeakyReLU",
    )
    hidden = DC_DISCRIMINATOR + ["BatchNorm1d", "LeakyReLU", "Linear"]
    expect_true(
        _rules(fn, hidden, "discriminator") == (3,),
        "a Linear between the convolutions and the logit is a hidden fully connected "
        "layer: rule 3",
    )


def _swiss_position(z: torch.Tensor) -> torch.Tensor:
    """sqrt(u) of each point, read off its radius."""
    return z.double().norm(dim=1) / SWISS_RADIUS


def _l6_swiss_on_curve(fn: Fn) -> None:
    z = expect_tensor(fn(500), (500, 2))
    root = _swiss_position(z)
    expect_true(
        bool((root <= 1 + 1e-5).all()), "every point's radius should be at most 3"
    )
    expect_true(
        float(root.std()) > 0.1,
        "the points should spread along the roll, not sit at one place",
    )
    angle = 2 * math.pi * SWISS_TURNS * root
    on_curve = SWISS_RADIUS * root[:, None] * torch.stack([angle.cos(), angle.sin()], 1)
    expect_close(
        z.double(),
        on_curve,
        "the points' positions on the spiral (angle 4 pi sqrt(u) at radius 3 sqrt(u))",
        atol=1e-4,
    )


def _l6_swiss_spread(fn: Fn) -> None:
    z = expect_tensor(fn(4000, seeded(89)), (4000, 2))
    u = _swiss_position(z) ** 2
    expect_true(
        abs(float(u.mean()) - 0.5) < 0.03,
        "the positions u along the roll should be uniform on [0, 1]: "
        "their mean is off (is the square root applied twice, or not at all?)",
    )


def _centres(k: int, radius: float) -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    return radius * torch.stack([angles.cos(), angles.sin()], 1)


def _mixture(fn: Fn, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    out = fn(*args, **kwargs)
    expect_true(
        isinstance(out, tuple) and len(out) == 2, "return a tuple (points, components)"
    )
    points, comps = out
    expect_true(
        isinstance(comps, torch.Tensor) and comps.dtype == torch.long,
        "components should be an int64 tensor",
    )
    return points, comps


MIXTURE_RADIUS = 1.4  # lesson 6's radius (course_lib.priors.MIXTURE_RADIUS)


def _l6_mix_exact(fn: Fn) -> None:
    points, comps = _mixture(fn, 200, 10, MIXTURE_RADIUS, 0.0)
    expect_tensor(points, (200, 2), "points")
    expect_true(
        tuple(comps.shape) == (200,) and bool(((comps >= 0) & (comps < 10)).all()),
        "components should have shape (n,) with values in 0..n_components-1",
    )
    expect_true(
        len(torch.unique(comps)) > 5, "200 draws should use most of the 10 components"
    )
    expect_close(
        points.double(),
        _centres(10, MIXTURE_RADIUS)[comps],
        "points with std = 0 (they should sit on their centres)",
        atol=1e-4,
    )


def _l6_mix_noise(fn: Fn) -> None:
    points, comps = _mixture(fn, 6000, 10, MIXTURE_RADIUS, 0.1, seeded(88))
    residual = (
        expect_tensor(points, (6000, 2), "points").double()
        - _centres(10, MIXTURE_RADIUS)[comps]
    )
    expect_true(
        abs(float(residual.mean())) < 0.01,
        "the noise around each centre should have mean 0 (uniform noise "
        "in [0, 1) does not)",
    )
    expect_true(
        abs(float(residual.std()) - 0.1) < 0.01,
        "points should scatter around their centre with standard deviation std",
    )


def _l6_occ_centres(fn: Fn) -> None:
    centres = _centres(10, MIXTURE_RADIUS).float()
    out = expect_tensor(fn(centres, centres), (10,))
    expect_close(
        out, torch.full((10,), 0.1), "the occupancy of one code on each centre"
    )


def _l6_occ_single(fn: Fn) -> None:
    centres = _centres(10, MIXTURE_RADIUS).float()
    z = centres[3] + 0.1 * torch.randn(50, 2, generator=seeded(92))
    expected = torch.zeros(10)
    expected[3] = 1.0
    out = expect_tensor(fn(z, centres), (10,))
    expect_true(
        float(out.sum()) < 1.5,
        "these are counts: return the share of the codes (divide by their number)",
    )
    expect_close(
        out,
        expected,
        "the occupancy when every code is near centre 3 (the empty components "
        "included)",
    )


def _mmd_sums(
    x: torch.Tensor, y: torch.Tensor, bandwidths: list[float]
) -> tuple[float, float, float]:
    """Oracle: the kernel summed over the pairs i != j of x, of y, and over all pairs
    (x_i, y_j), by loops."""

    def k(a: torch.Tensor, b: torch.Tensor) -> float:
        d2 = float(((a.double() - b.double()) ** 2).sum())
        return sum(math.exp(-d2 / (2 * h * h)) for h in bandwidths)

    n, m = len(x), len(y)
    return (
        sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j),
        sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j),
        sum(k(x[i], y[j]) for i in range(n) for j in range(m)),
    )


def _mmd_oracle(x: torch.Tensor, y: torch.Tensor, bandwidths: list[float]) -> float:
    """Oracle: the unbiased MMD^2, float64."""
    xx, yy, xy = _mmd_sums(x, y, bandwidths)
    n, m = len(x), len(y)
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)


def _l6_mmd_values(fn: Fn) -> None:
    x, y = (
        torch.randn(12, 2, generator=seeded(94)),
        torch.randn(9, 2, generator=seeded(95)) + 1.0,
    )
    bandwidths = [0.5, 1.0]
    value = expect_scalar(fn(x, y, bandwidths))
    xx, yy, xy = _mmd_sums(x, y, bandwidths)
    n, m, k = len(x), len(y), len(bandwidths)
    with_diagonal = [
        (xx + n * k) / (n * (n - 1)) + (yy + m * k) / (m * (m - 1)) - 2 * xy / (n * m),
        (xx + n * k) / n**2 + (yy + m * k) / m**2 - 2 * xy / (n * m),
    ]
    expect_true(
        all(abs(value - v) > 1e-4 for v in with_diagonal),
        "the i = j terms are included: each adds "
        "k(x, x), the number of bandwidths, and biases the estimate upwards",
    )
    expect_true(
        abs(value - _mmd_oracle(x, y, bandwidths)) < 1e-4,
        "the MMD^2 of two shifted Gaussian samples is not correct",
    )


def _l6_mmd_same(fn: Fn) -> None:
    x = torch.randn(10, 3, generator=seeded(96))
    y = torch.randn(10, 3, generator=seeded(97))
    value = expect_scalar(fn(x, y, [1.0]))
    expect_true(
        abs(value - _mmd_oracle(x, y, [1.0])) < 1e-4,
        "the MMD^2 of two samples of one distribution is not "
        "correct (it is close to 0 and may be slightly negative)",
    )
    far = expect_scalar(fn(x, y + 10.0, [1.0]))
    expect_true(
        far > value + 0.05,
        "two samples far apart should have a larger MMD^2 than two samples of one "
        "distribution: check the sign of the cross term",
    )
    expect_true(
        abs(far - _mmd_oracle(x, y + 10.0, [1.0])) < 1e-4,
        "the MMD^2 of two distant samples is not correct",
    )


def _l7_interp_ends(fn: Fn) -> None:
    z0, z1 = (
        torch.randn(5, generator=seeded(100)),
        torch.randn(5, generator=seeded(101)),
    )
    ts = torch.linspace(0, 1, 7)
    for mode in ("linear", "slerp"):
        out = expect_tensor(fn(z0, z1, ts, mode), (7, 5))
        expect_close(
            out[0], z0, f"the first {mode} point, t = 0 (it should be z_a)", atol=1e-5
        )
        expect_close(
            out[-1], z1, f"the last {mode} point, t = 1 (it should be z_b)", atol=1e-5
        )


def _l7_interp_linear(fn: Fn) -> None:
    z0, z1 = torch.zeros(3), torch.tensor([4.0, -2.0, 8.0])
    out = expect_tensor(fn(z0, z1, [0.0, 0.25, 0.5, 1.0], "linear"), (4, 3))
    expect_close(
        out,
        torch.tensor([0.0, 0.25, 0.5, 1.0])[:, None] * z1,
        "the linear points at the given t",
    )


def _l7_interp_norm(fn: Fn) -> None:
    z0 = torch.tensor([3.0, 0.0, 0.0, 0.0])
    z1 = torch.tensor([0.0, 0.0, 3.0 * math.cos(2.0), 3.0 * math.sin(2.0)])
    out = expect_tensor(fn(z0, z1, torch.linspace(0, 1, 9), "slerp"), (9, 4))
    expect_true(
        bool(((out.norm(dim=1) - 3.0).abs() < 1e-4).all()),
        "slerp points between two codes of norm 3 "
        "should all have norm 3 (a linear path cuts through the inside of the sphere)",
    )


def _sharpness_oracle(images: torch.Tensor) -> torch.Tensor:
    """Oracle: mean forward-difference gradient magnitude by explicit loops over pixels,
    float64."""
    out = []
    for image in images.double():
        total, count = 0.0, 0
        for channel in image:
            for i in range(channel.shape[0] - 1):
                for j in range(channel.shape[1] - 1):
                    gx, gy = (
                        channel[i, j + 1] - channel[i, j],
                        channel[i + 1, j] - channel[i, j],
                    )
                    total += math.hypot(float(gx), float(gy))
                    count += 1
        out.append(total / count)
    return torch.tensor(out, dtype=torch.float64)


def _l7_sharp_known(fn: Fn) -> None:
    out = expect_tensor(fn(torch.full((3, 1, 28, 28), 0.7)), (3,))
    expect_close(out, torch.zeros(3), "the sharpness of constant images", atol=1e-6)
    stripes = torch.zeros(2, 1, 8, 8)
    stripes[:, :, :, ::2] = 1.0
    expect_close(
        expect_tensor(fn(stripes), (2,)),
        torch.ones(2),
        "the sharpness of one-pixel vertical stripes "
        "(every horizontal difference is +-1, every vertical one 0)",
        atol=1e-5,
    )


def _l7_sharp_blur(fn: Fn) -> None:
    x = torch.rand(4, 1, 12, 10, generator=seeded(102))
    blurred = torch.nn.functional.avg_pool2d(
        x, 3, stride=1, padding=1, count_include_pad=False
    )
    a, b = expect_tensor(fn(x), (4,)), expect_tensor(fn(blurred), (4,))
    expect_true(
        bool((b < a).all()), "a blurred image should be less sharp than the original"
    )
    expect_close(
        a,
        _sharpness_oracle(x),
        "the sharpness of random images (mean gradient length over the "
        "(H-1) x (W-1) pixels)",
        atol=1e-5,
    )


def _l7_blur_certain(fn: Fn) -> None:
    plausible = torch.rand(3, 1, 6, 6, generator=seeded(107))
    out = expect_tensor(fn(plausible, torch.tensor([0.0, 1.0, 0.0])), (1, 6, 6))
    expect_close(out, plausible[1], "the optimum when one candidate is certain")


def _l7_blur_average(fn: Fn) -> None:
    plausible = torch.rand(4, 2, 5, 5, generator=seeded(108))
    weights = torch.tensor([0.1, 0.2, 0.3, 0.4])
    out = expect_tensor(fn(plausible, weights), (2, 5, 5))
    expect_true(
        not torch.allclose(out, plausible[3]),
        "the most probable candidate is the best guess under a 0-1 "
        "loss, not under squared error: the derivation gives something else",
    )
    expected = (weights.double().view(4, 1, 1, 1) * plausible.double()).sum(0)
    expect_close(out, expected, "the optimum of four weighted candidates")


# ------------------------------------------------------------------------------ the
# registry
EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "pixel_loglik",
        0,
        "pixel_log_likelihood",
        "log-likelihood under independent Bernoulli pixels",
        (
            Case(
                "every probability 0.5",
                _l0_loglik_half,
                "each pixel contributes log 0.5 whatever its value",
            ),
            Case(
                "all-white images", _l0_loglik_ones, "a white pixel contributes log p"
            ),
            Case(
                "probabilities of exactly 0 and 1",
                _l0_loglik_certain,
                "a pixel certain of its value contributes log 1 = 0, and an "
                "impossible one -inf",
            ),
        ),
    ),
    Exercise(
        "pixel_fit",
        0,
        "fit_pixel_probs",
        "per-class pixel probabilities with Laplace smoothing",
        (
            Case(
                "probabilities in (0, 1)",
                _l0_fit_range,
                "alpha pseudo-counts of white and of black pixels",
            ),
            Case(
                "a class with no images",
                _l0_fit_empty_class,
                "with no data the estimate is the smoothing alone",
            ),
        ),
    ),
    Exercise(
        "bayes_classifier",
        0,
        "class_log_posterior",
        "log p(y | x) by Bayes' rule",
        (
            Case(
                "posteriors sum to one",
                _l0_posterior_normalised,
                "stay in log space to normalise",
            ),
            Case(
                "identical class models",
                _l0_posterior_equal_classes,
                "equal likelihoods leave the prior",
            ),
        ),
    ),
    Exercise(
        "sample_class",
        0,
        "sample_class",
        "bug hunt: sampling n images from p(x | y)",
        (
            Case(
                "many samples",
                _l0_sample_statistics_public,
                "one independent coin per pixel per image",
            ),
            Case(
                "probabilities 0 and 1",
                _l0_sample_deterministic,
                "use the probabilities of class y",
            ),
        ),
    ),
    Exercise(
        "pixel_kl",
        0,
        "discrete_kl",
        "derivation: KL(p || q) of discrete distributions",
        (
            Case(
                "identical and different distributions",
                _l0_kl_values,
                "sum over outcomes of p log(p / q)",
            ),
            Case(
                "p with zero entries",
                _l0_kl_zero_p,
                "an outcome the data never shows contributes nothing",
            ),
            Case(
                "q with a zero entry",
                _l0_kl_zero_q,
                "an outcome the model calls impossible",
            ),
        ),
    ),
    Exercise(
        "ae_loss",
        1,
        "sum_squared_error",
        "the autoencoder's reconstruction error of a batch",
        (
            Case(
                "perfect and known reconstructions",
                _l1_loss_known,
                "sum over the pixels, average over the images",
            ),
            Case(
                "the batch size",
                _l1_loss_batch_size,
                "the loss of a batch should not grow with its size",
            ),
        ),
    ),
    Exercise(
        "ae_model",
        1,
        "make_autoencoder",
        "bug hunt: a fully connected autoencoder that can draw the background",
        (
            Case(
                "shapes and range",
                _l1_model_shapes,
                "encoder to latent_dim numbers, decoder back to 28x28",
            ),
            Case(
                "the background",
                _l1_model_background,
                "which values can the last activation produce?",
            ),
        ),
    ),
    Exercise(
        "ae_pca",
        1,
        "pca_reconstruct",
        "derivation: the optimal linear autoencoder (PCA)",
        (
            Case(
                "k = dimension",
                _l1_pca_full,
                "with every direction kept nothing is lost",
            ),
            Case(
                "data far from the origin",
                _l1_pca_offset,
                "PCA describes the data around its mean",
            ),
        ),
    ),
    Exercise(
        "ae_code_gap",
        1,
        "nearest_code_distance",
        "how far random codes are from real ones",
        (
            Case(
                "queries that are codes",
                _l1_gap_copies,
                "a code is at distance 0 from itself",
            ),
            Case(
                "random queries",
                _l1_gap_values,
                "the smallest Euclidean distance over the reference codes",
            ),
        ),
    ),
    Exercise(
        "dae_gaussian",
        2,
        "gaussian_corrupt",
        "additive Gaussian noise corruption",
        (
            Case("sigma = 0", _l2_gauss_zero, "no noise, no change"),
            Case(
                "stays in [-1, 1]",
                _l2_gauss_range,
                "a noisy image must still be a valid image",
            ),
            Case(
                "the noise's distribution",
                _l2_gauss_distribution,
                "standard normal noise, times sigma",
            ),
        ),
    ),
    Exercise(
        "dae_mask",
        2,
        "mask_corrupt",
        "the dropout-mask corruption",
        (
            Case(
                "kept and dropped pixels",
                _l2_mask_no_rescale,
                "a {0, 1} mask: keep exactly or set to background",
            ),
            Case("p = 0", _l2_mask_identity, "with p = 0 nothing is dropped"),
        ),
    ),
    Exercise(
        "dae_objective",
        2,
        "denoising_loss",
        "the denoising objective",
        (
            Case(
                "perfect and imperfect denoisers",
                _l2_loss_perfect,
                "the target is the clean image",
            ),
            Case(
                "identity model",
                _l2_loss_target,
                "the corrupted images go in, the clean ones are the target",
            ),
        ),
    ),
    Exercise(
        "dae_psnr",
        2,
        "psnr",
        "bug hunt: the PSNR of each image",
        (
            Case(
                "three images, three errors",
                _l2_psnr_values,
                "one mean squared error per image",
            ),
            Case("identical images", _l2_psnr_identical, "what is log10(1 / 0)?"),
        ),
    ),
    Exercise(
        "dae_paste",
        2,
        "paste_back",
        "pasting the known pixels back",
        (
            Case(
                "known and dropped pixels",
                _l2_paste_values,
                "the mask says which source each pixel comes from",
            ),
            Case("all known, all dropped", _l2_paste_extremes, "mask 1 means kept"),
        ),
    ),
    Exercise(
        "dae_auroc",
        2,
        "auroc",
        "the AUROC of an outlier score",
        (
            Case(
                "perfect separations",
                _l2_auroc_extremes,
                "the share of (outlier, inlier) pairs the outlier wins",
            ),
            Case("overlap and ties", _l2_auroc_ties, "a tie is half a win"),
        ),
    ),
    Exercise(
        "dae_kernel_smoothness",
        2,
        "kernel_smoothness",
        "how smooth is a kernel: the neighbour correlation",
        (
            Case(
                "noise, blob, stripes, blur",
                _l2_smooth_kinds,
                "one Pearson correlation per kernel, horizontal neighbours",
            ),
            Case(
                "live pixels only",
                _l2_smooth_live,
                "a pair counts when both of its pixels are live",
            ),
        ),
    ),
    Exercise(
        "vae_kl_pair",
        3,
        "diagonal_gaussian_kl",
        "derivation: the KL divergence between two diagonal Gaussians",
        (
            Case(
                "identical and shifted Gaussians",
                _l3_pair_known,
                "one term per dimension, summed",
            ),
            Case(
                "random Gaussians",
                _l3_pair_random,
                "the expectation is under the FIRST Gaussian",
            ),
        ),
    ),
    Exercise(
        "vae_kl",
        3,
        "gaussian_kl",
        "derivation: the closed-form KL divergence to N(0, I)",
        (
            Case(
                "standard normal and shifted mean",
                _l3_kl_known,
                "the KL is never negative; one value per example",
            ),
            Case(
                "other variances", _l3_kl_variance, "logvar is the log of the variance"
            ),
        ),
    ),
    Exercise(
        "vae_reparam",
        3,
        "reparameterize",
        "the reparameterisation trick",
        (
            Case(
                "zero variance",
                _l3_rep_collapse,
                "with no variance the sample is the mean",
            ),
            Case(
                "noise distribution", _l3_rep_symmetric, "the noise is standard normal"
            ),
            Case(
                "standard deviation",
                _l3_rep_std,
                "variance, standard deviation and log-variance",
            ),
            Case(
                "gradients",
                _l3_rep_differentiable,
                "the randomness must not depend on mu and logvar",
            ),
        ),
    ),
    Exercise(
        "vae_loglik",
        3,
        "bernoulli_log_likelihood",
        "bug hunt: a Bernoulli log-likelihood that stays finite",
        (
            Case("zero logits", _l3_loglik_zero, "every pixel has probability 1/2"),
            Case("confident logits", _l3_loglik_confident, "work from the logits"),
        ),
    ),
    Exercise(
        "vae_loss",
        3,
        "vae_loss",
        "the beta-VAE objective",
        (
            Case("zero logits", _l3_loss_known, "per image first, then the batch"),
            Case("beta = 0", _l3_loss_beta, "beta multiplies the KL only"),
        ),
    ),
    Exercise(
        "vae_elbo",
        3,
        "elbo_per_image",
        "the ELBO of each image",
        (
            Case(
                "never positive",
                _l3_elbo_bound,
                "a reconstruction term and a KL term per image",
            ),
            Case(
                "moving away from the prior",
                _l3_elbo_monotone,
                "which term is subtracted?",
            ),
        ),
    ),
    Exercise(
        "vae_grey",
        3,
        "bce_excess",
        "the BCE on grey pixels caveat",
        (
            Case("grey pixels", _l3_grey_known, "subtract the entropy of x"),
            Case("binary pixels", _l3_grey_binary, "0 log 0 counts as 0"),
            Case("non-negative", _l3_grey_nonnegative, "BCE(x, p) >= H(x)"),
        ),
    ),
    Exercise(
        "vae_iwae",
        3,
        "importance_weighted_bound",
        "derivation: the importance-weighted bound from log-weights",
        (
            Case(
                "one sample, equal samples",
                _l3_iwae_single,
                "the log of the mean weight",
            ),
            Case(
                "Jensen's inequality",
                _l3_iwae_jensen,
                "log of a mean, not mean of logs",
            ),
            Case("realistic log-weights", _l3_iwae_underflow, "stay in log space"),
        ),
    ),
    Exercise(
        "gan_optimal_d",
        4,
        "optimal_discriminator",
        "derivation: the optimal discriminator",
        (
            Case("four points", _l4_dstar_values, "maximise a log y + b log(1 - y)"),
            Case(
                "equal, one-sided and zero densities",
                _l4_dstar_edges,
                "where neither density is positive, 1/2",
            ),
        ),
    ),
    Exercise(
        "gan_jsd",
        4,
        "jensen_shannon",
        "derivation: the Jensen-Shannon divergence",
        (
            Case(
                "identical and random distributions",
                _l4_jsd_values,
                "two KL divergences to the mixture",
            ),
            Case("zero entries", _l4_jsd_disjoint, "0 log 0 counts as 0"),
        ),
    ),
    Exercise(
        "gan_d_loss",
        4,
        "discriminator_loss",
        "the discriminator's loss from logits",
        (
            Case(
                "moderate logits",
                _l4_d_zero,
                "real labelled 1, fake labelled 0, each batch averaged",
            ),
            Case("confident discriminators", _l4_d_confident, "work from the logits"),
        ),
    ),
    Exercise(
        "gan_hinge",
        4,
        "hinge_discriminator_loss",
        "a margin on logits: the hinge loss",
        (
            Case(
                "samples beyond and within the margins",
                _l4_hinge_margins,
                "real logits above +1 and fakes below -1 cost nothing",
            ),
            Case(
                "batches of different sizes",
                _l4_hinge_batches,
                "one mean per batch, then add",
            ),
        ),
    ),
    Exercise(
        "gan_affine_push",
        4,
        "fake_position_gradient",
        "derivation: how an affine discriminator moves the fakes",
        (
            Case(
                "against autograd",
                _l4_push_autograd,
                "-(1 - D(x_i)) times dl/dx, over M",
            ),
            Case(
                "negative slope, confident logits",
                _l4_push_confident,
                "the sign follows a; the rejected fakes move most",
            ),
        ),
    ),
    Exercise(
        "gan_g_grad",
        4,
        "generator_gradients",
        "derivation: the generator's gradients, minimax and non-saturating",
        (
            Case(
                "against autograd",
                _l4_grad_autograd,
                "chain rule through log and sigmoid",
            ),
            Case(
                "when D rejects the fakes",
                _l4_grad_saturation,
                "which derivative vanishes as D(G(z)) -> 0?",
            ),
        ),
    ),
    Exercise(
        "gan_mbd",
        4,
        "MinibatchDiscrimination",
        "a minibatch-discrimination layer",
        (
            Case("shape", _l4_mbd_shape, "torch.cat([x, o], dim=1)"),
            Case("identical rows", _l4_mbd_identical, "exclude j = i from the sum"),
        ),
    ),
    Exercise(
        "dcgan_shape",
        5,
        "conv_output_size",
        "output sizes of convolutions and transposed convolutions",
        (
            Case(
                "the DCGAN layers",
                _size_case(
                    [
                        (28, 4, 2, 1, False, 0),
                        (7, 4, 2, 1, True, 0),
                        (1, 7, 1, 0, True, 0),
                    ],
                    "DCGAN layers",
                ),
                "one formula per kind of layer, as given above",
            ),
            Case(
                "a stride that does not divide",
                _size_case(
                    [
                        (28, 3, 2, 0, False, 0),
                        (9, 4, 3, 1, False, 0),
                        (7, 3, 2, 1, True, 1),
                    ],
                    "rounding",
                ),
                "a convolution's size rounds down",
            ),
        ),
    ),
    Exercise(
        "dcgan_init",
        5,
        "dcgan_weights_init",
        "the DCGAN N(0, 0.02) initialisation",
        (
            Case(
                "convolutions and linear layers",
                _l5_init_conv,
                "weights N(0, 0.02), biases 0",
            ),
            Case("BatchNorm", _l5_init_bn, "weights N(1, 0.02), biases 0"),
        ),
    ),
    Exercise(
        "dcgan_block",
        5,
        "generator_block",
        "a DCGAN generator block",
        (
            Case("doubles the size", _l5_block_shape, "kernel 4, stride 2, padding 1"),
            Case(
                "other sizes",
                _l5_block_sizes,
                "the same block works for any input size",
            ),
        ),
    ),
    Exercise(
        "dcgan_overlap",
        5,
        "transposed_overlap",
        "derivation: uneven overlap of a transposed convolution",
        (
            Case(
                "kernel 3, stride 2",
                _l5_overlap_uneven,
                "input i covers k consecutive outputs from i * s",
            ),
            Case(
                "other settings",
                _l5_overlap_even,
                "the same rule for any kernel and stride",
            ),
        ),
    ),
    Exercise(
        "dcgan_is",
        5,
        "inception_score",
        "the classifier Inception Score",
        (
            Case(
                "confident or identical predictions",
                _l5_is_extremes,
                "0 log 0 counts as 0",
            ),
            Case(
                "random predictions and splits",
                _l5_is_random,
                "exp of the mean KL, per chunk, then averaged",
            ),
        ),
    ),
    Exercise(
        "dcgan_rules",
        5,
        "dcgan_rule_violations",
        "auditing an architecture against the DCGAN rules",
        (
            Case(
                "networks that follow the rules",
                _l5_rules_library,
                "mind the exceptions of rules 2 and 3",
            ),
            Case(
                "one broken rule each",
                _l5_rules_broken,
                "pooling, BatchNorm, hidden Linear, activations",
            ),
        ),
    ),
    Exercise(
        "aae_swiss",
        6,
        "sample_swiss_roll",
        "a swiss-roll prior sampler",
        (
            Case(
                "on the spiral",
                _l6_swiss_on_curve,
                "radius and angle both follow from sqrt(u)",
            ),
            Case(
                "spread along the roll",
                _l6_swiss_spread,
                "u itself is uniform; only radius and angle use its root",
            ),
        ),
    ),
    Exercise(
        "aae_mixture",
        6,
        "sample_gaussian_mixture",
        "a mixture-of-Gaussians prior sampler",
        (
            Case("std = 0", _l6_mix_exact, "centre k at angle 2 pi k / K"),
            Case("the noise", _l6_mix_noise, "standard normal noise times std"),
        ),
    ),
    Exercise(
        "aae_occupancy",
        6,
        "component_occupancy",
        "how evenly codes use the mixture's components",
        (
            Case(
                "one code per centre",
                _l6_occ_centres,
                "the nearest centre of each code",
            ),
            Case(
                "all near one centre",
                _l6_occ_single,
                "shares, not counts; empty components get 0",
            ),
        ),
    ),
    Exercise(
        "aae_mmd",
        6,
        "mmd",
        "the unbiased maximum mean discrepancy",
        (
            Case(
                "two shifted samples",
                _l6_mmd_values,
                "three averages of the kernel; within a set, i != j",
            ),
            Case(
                "same and distant distributions",
                _l6_mmd_same,
                "the cross term is subtracted, twice",
            ),
        ),
    ),
    Exercise(
        "cmp_sharpness",
        7,
        "sharpness",
        "a sharpness statistic: mean gradient magnitude",
        (
            Case(
                "constant and striped images",
                _l7_sharp_known,
                "forward differences along each axis",
            ),
            Case(
                "random and blurred images",
                _l7_sharp_blur,
                "average over the (H-1) x (W-1) grid",
            ),
        ),
    ),
    Exercise(
        "cmp_blur",
        7,
        "squared_error_optimum",
        "derivation: the squared-error optimum over plausible outputs",
        (
            Case(
                "one certain candidate",
                _l7_blur_certain,
                "set the gradient of the expected error to zero",
            ),
            Case(
                "four weighted candidates",
                _l7_blur_average,
                "weights broadcast over the image dimensions",
            ),
        ),
    ),
    Exercise(
        "cmp_interp",
        7,
        "interpolate",
        "linear and spherical interpolation",
        (
            Case("endpoints", _l7_interp_ends, "t = 0 and t = 1 are the two codes"),
            Case(
                "linear points",
                _l7_interp_linear,
                "(1 - t) z_a + t z_b at each given t",
            ),
            Case(
                "slerp keeps the norm",
                _l7_interp_norm,
                "the great circle through the two codes",
            ),
        ),
    ),
)

BY_NAME: dict[str, Exercise] = {exercise.name: exercise for exercise in EXERCISES}
