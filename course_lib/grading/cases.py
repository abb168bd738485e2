"""Public and instructor test cases for every exercise of lessons 0-7.

Each case checks *behaviour* against an independent formula (``torch.distributions``, explicit
loops, SciPy, real ``torch.nn`` layers) or a known value. Messages say what is wrong, never the
expected numbers. An instructor may replace all of this with a private file of the same shape
(``EXERCISES = [...]``) and pass it to ``course-grade --tests PATH``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch
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
    unchanged_inputs,
)

Fn = Callable[..., Any]
LN2 = math.log(2.0)


def _binary(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.bernoulli(torch.full(shape, 0.4), generator=seeded(seed))


def _probs(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=seeded(seed)) * 0.9 + 0.05


def _bernoulli_loglik(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Oracle: torch.distributions, summed over every non-batch dimension."""
    return torch.distributions.Bernoulli(probs=p.expand_as(x)).log_prob(x).flatten(1).sum(1)


# ------------------------------------------------------------------------------ lesson 0
def _l0_loglik_half(fn: Fn) -> None:
    x = _binary((3, 1, 28, 28), 0)
    out = expect_tensor(fn(x, torch.full((1, 28, 28), 0.5)), (3,))
    expect_close(out, torch.full((3,), -784 * LN2), "the log-likelihoods with every probability 0.5")


def _l0_loglik_ones(fn: Fn) -> None:
    out = expect_tensor(fn(torch.ones(2, 1, 28, 28), torch.full((1, 28, 28), 0.9)), (2,))
    expect_true(bool((out < 0).all()), "a log-likelihood of binary pixels must be negative")
    expect_close(out, torch.full((2,), 784 * math.log(0.9)), "the log-likelihoods of all-white images")


def _l0_loglik_random(fn: Fn) -> None:
    x, p = _binary((5, 1, 28, 28), 1), _probs((1, 28, 28), 2)
    verify = unchanged_inputs(x, p)
    expect_close(expect_tensor(fn(x, p), (5,)), _bernoulli_loglik(x, p), "the log-likelihoods of random images")
    verify()


def _l0_fit_range(fn: Fn) -> None:
    x, y = _binary((40, 1, 28, 28), 3), torch.arange(40) % 10
    out = expect_tensor(fn(x, y, 10, 1.0), (10, 1, 28, 28))
    expect_true(bool(((out > 0) & (out < 1)).all()), "with alpha > 0 every probability must lie strictly in (0, 1)")


def _l0_fit_empty_class(fn: Fn) -> None:
    x, y = _binary((20, 1, 28, 28), 4), torch.arange(20) % 5  # classes 5..9 have no images
    out = expect_tensor(fn(x, y, 10, 1.0), (10, 1, 28, 28))
    expect_close(out[5:], torch.full((5, 1, 28, 28), 0.5), "the probabilities of a class with no images")


def _l0_fit_random(fn: Fn) -> None:
    x, y = torch.rand(30, 1, 28, 28, generator=seeded(5)), torch.randint(0, 3, (30,), generator=seeded(6))
    for alpha in (0.0, 2.0):
        expected = torch.stack([(x[y == k].sum(0) + alpha) / ((y == k).sum() + 2 * alpha) for k in range(3)])
        expect_close(expect_tensor(fn(x, y, 3, alpha), (3, 1, 28, 28)), expected, f"the estimates with alpha={alpha}")


def _l0_posterior_normalised(fn: Fn) -> None:
    x, probs = _binary((4, 1, 28, 28), 7), _probs((10, 1, 28, 28), 8)
    out = expect_tensor(fn(x, probs, torch.full((10,), -math.log(10))), (4, 10))
    expect_close(out.exp().sum(1), torch.ones(4), "the posterior probabilities of each image (summed over classes)",
                 rtol=1e-4, atol=1e-4)


def _l0_posterior_equal_classes(fn: Fn) -> None:
    x = _binary((3, 1, 28, 28), 9)
    probs = _probs((1, 28, 28), 10).expand(4, 1, 28, 28).clone()
    prior = torch.tensor([0.1, 0.2, 0.3, 0.4]).log()
    out = expect_tensor(fn(x, probs, prior), (3, 4))
    expect_close(out, prior.expand(3, 4), "the posterior when every class has the same pixel model", atol=1e-4)


def _l0_posterior_random(fn: Fn) -> None:
    x, probs = _binary((6, 1, 28, 28), 11), _probs((3, 1, 28, 28), 12)
    prior = torch.tensor([0.5, 0.3, 0.2]).log()
    joint = torch.stack([_bernoulli_loglik(x, probs[k]) + prior[k] for k in range(3)], dim=1)
    expect_close(expect_tensor(fn(x, probs, prior), (6, 3)), joint - joint.logsumexp(1, keepdim=True),
                 "the log-posteriors", atol=1e-3)


def _l0_sample_binary(fn: Fn) -> None:
    out = expect_tensor(fn(_probs((10, 1, 28, 28), 13), 3, 5), (5, 1, 28, 28))
    expect_true(bool(((out == 0) | (out == 1)).all()), "samples of a Bernoulli pixel model must be exactly 0 or 1")


def _l0_sample_deterministic(fn: Fn) -> None:
    probs = torch.zeros(2, 1, 28, 28)
    probs[1, :, :14] = 1.0
    out = expect_tensor(fn(probs, 1, 3), (3, 1, 28, 28))
    expect_close(out, probs[1].expand(3, 1, 28, 28), "samples of class y=1 whose probabilities are all 0 or 1")


def _l0_sample_statistics(fn: Fn) -> None:
    probs = _probs((3, 1, 28, 28), 14)
    out = expect_tensor(fn(probs, 2, 4000, seeded(15)), (4000, 1, 28, 28))
    expect_true(float((out.mean(0) - probs[2]).abs().max()) < 0.06,
                "the average of many samples should approach the pixel probabilities of class y")


def _l0_sample_generator(fn: Fn) -> None:
    probs = _probs((3, 1, 28, 28), 16)
    a, b = fn(probs, 0, 4, seeded(17)), fn(probs, 0, 4, seeded(17))
    expect_true(torch.equal(expect_tensor(a), expect_tensor(b)), "two calls with identically seeded generators "
                "should give identical samples: pass generator=generator to torch.bernoulli/torch.rand")


# ------------------------------------------------------------------------------ lesson 1
def _l1_loss_zero(fn: Fn) -> None:
    x = torch.rand(4, 1, 28, 28, generator=seeded(20)) * 2 - 1
    expect_true(abs(expect_scalar(fn(x, x.clone()))) < 1e-6, "a perfect reconstruction must have zero loss")


def _l1_loss_known(fn: Fn) -> None:
    value = expect_scalar(fn(torch.ones(4, 1, 28, 28), torch.zeros(4, 1, 28, 28)))
    expect_true(abs(value - 784.0) < 1e-3, "the loss should be the squared error summed over the pixels of "
                "an image and averaged over the images of the batch")


def _l1_loss_random(fn: Fn) -> None:
    a, b = torch.randn(6, 1, 28, 28, generator=seeded(21)), torch.randn(6, 1, 28, 28, generator=seeded(22))
    a.requires_grad_(True)
    out = fn(a, b)
    expected = ((a - b) ** 2).flatten(1).sum(1).mean().detach()
    expect_true(abs(expect_scalar(out) - float(expected)) < 1e-3 * float(expected), "the loss of random images "
                "is not correct")
    expect_true(isinstance(out, torch.Tensor) and out.requires_grad, "the loss must stay differentiable "
                "(do not call .item() or .detach() inside the loss)")


def _l1_loss_batch(fn: Fn) -> None:
    a, b = torch.randn(3, 1, 28, 28, generator=seeded(23)), torch.randn(3, 1, 28, 28, generator=seeded(24))
    one, two = expect_scalar(fn(a, b)), expect_scalar(fn(torch.cat([a, a]), torch.cat([b, b])))
    expect_true(abs(one - two) < 1e-4 * abs(one), "repeating the batch twice should not change the loss: average "
                "over the batch, do not sum")


def _l1_model_shapes(fn: Fn) -> None:
    for latent in (2, 16):
        model = fn(latent)
        expect_true(isinstance(model, nn.Module), "make_autoencoder should return an nn.Module")
        x = torch.rand(5, 1, 28, 28, generator=seeded(25)) * 2 - 1
        expect_tensor(model.encoder(x), (5, latent), "model.encoder(x)")
        out = expect_tensor(model(x), (5, 1, 28, 28), "model(x)")
        expect_true(bool((out.abs() <= 1).all()), "the reconstruction must lie in [-1, 1]: end with tanh")


def _l1_model_composition(fn: Fn) -> None:
    model = fn(8).eval()
    x = torch.rand(3, 1, 28, 28, generator=seeded(26)) * 2 - 1
    with torch.no_grad():
        expect_tensor(model.decoder(torch.zeros(3, 8)), (3, 1, 28, 28), "model.decoder(z)")
        expect_close(model(x), model.decoder(model.encoder(x)), "model(x) compared with decoder(encoder(x))")


def _l1_model_gradients(fn: Fn) -> None:
    model = fn(4)
    n_params = sum(p.numel() for p in model.parameters())
    expect_true(0 < n_params < 3_000_000, "the model should have between 1 and 3 million parameters")
    x = torch.rand(4, 1, 28, 28, generator=seeded(27)) * 2 - 1
    ((model(x) - x) ** 2).sum().backward()
    expect_true(all(p.grad is not None and bool(torch.isfinite(p.grad).all()) for p in model.parameters()),
                "every parameter should receive a finite gradient from the reconstruction loss")


def _pca_error(x: torch.Tensor, k: int) -> float:
    s = torch.linalg.svdvals((x - x.mean(0)).double())
    return float((s[k:] ** 2).sum())


def _l1_pca_full(fn: Fn) -> None:
    x = torch.randn(20, 6, generator=seeded(28))
    expect_close(expect_tensor(fn(x, 6), (20, 6)), x, "the reconstruction with k equal to the dimension", atol=1e-4)


def _l1_pca_optimal(fn: Fn) -> None:
    x = torch.randn(50, 8, generator=seeded(29)) * torch.linspace(3, 0.2, 8) + 1.5
    verify = unchanged_inputs(x)
    out = expect_tensor(fn(x, 3), (50, 8)).double()
    err = float(((out - x.double()) ** 2).sum())
    expect_true(abs(err - _pca_error(x, 3)) < 1e-3 * _pca_error(x, 3), "the squared reconstruction error is not the "
                "smallest one a rank-k reconstruction can reach (centre the data first?)")
    verify()


def _l1_pca_rank(fn: Fn) -> None:
    x = torch.randn(30, 10, generator=seeded(30)) + 4.0
    out = expect_tensor(fn(x, 2), (30, 10)).double()
    expect_true(int(torch.linalg.matrix_rank(out - x.double().mean(0), rtol=1e-4)) <= 2,
                "after subtracting the data mean, the reconstructions should span at most k directions")
    expect_close(out.mean(0), x.double().mean(0), "the mean of the reconstructions", atol=1e-4)


# ------------------------------------------------------------------------------ lesson 2
def _signed(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=seeded(seed)) * 2 - 1


def _l2_gauss_zero(fn: Fn) -> None:
    x = _signed((3, 1, 28, 28), 40)
    expect_close(expect_tensor(fn(x, 0.0), (3, 1, 28, 28)), x, "the output with sigma = 0")


def _l2_gauss_range(fn: Fn) -> None:
    out = expect_tensor(fn(_signed((8, 1, 28, 28), 41), 0.8), (8, 1, 28, 28))
    expect_true(bool((out.abs() <= 1).all()), "noisy images must be clamped back to [-1, 1]")


def _l2_gauss_statistics(fn: Fn) -> None:
    x = torch.zeros(50, 1, 28, 28)
    verify = unchanged_inputs(x)
    noise = expect_tensor(fn(x, 0.1, seeded(42)), (50, 1, 28, 28))
    expect_true(abs(float(noise.std()) - 0.1) < 0.01 and abs(float(noise.mean())) < 0.01,
                "the added noise should have mean 0 and standard deviation sigma (use torch.randn)")
    verify()


def _l2_gauss_generator(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 43)
    expect_true(torch.equal(expect_tensor(fn(x, 0.3, seeded(1))), expect_tensor(fn(x, 0.3, seeded(1)))),
                "identically seeded generators should give identical noise (pass generator=generator)")


def _l2_mask_no_rescale(fn: Fn) -> None:
    x = torch.full((4, 1, 28, 28), 0.5)
    out = expect_tensor(fn(x, 0.5), (4, 1, 28, 28))
    kept = out[out != -1]
    expect_true(bool((kept == 0.5).all()), "kept pixels must keep their value exactly: F.dropout scales the "
                "survivors by 1/(1-p), which is the bug")
    expect_true(not bool((out == 0).any()), "dropped pixels must become the background -1, not 0 (grey)")


def _l2_mask_identity(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 44)
    expect_close(expect_tensor(fn(x, 0.0), (2, 1, 28, 28)), x, "the output with p = 0")


def _l2_mask_fraction(fn: Fn) -> None:
    x = torch.full((20, 1, 28, 28), 0.25)
    verify = unchanged_inputs(x)
    out = expect_tensor(fn(x, 0.3, seeded(45)), (20, 1, 28, 28))
    expect_true(abs(float((out == -1).float().mean()) - 0.3) < 0.02, "a fraction p of the pixels should be dropped")
    expect_true(bool(((out == -1) | (out == 0.25)).all()), "each pixel should be either kept or set to -1")
    verify()


def _l2_mask_generator(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 46)
    expect_true(torch.equal(expect_tensor(fn(x, 0.5, seeded(2))), expect_tensor(fn(x, 0.5, seeded(2)))),
                "identically seeded generators should give identical masks (pass generator=generator)")


class _Recorder(nn.Module):
    """A 'model' that returns a fixed tensor and counts calls (for the denoising-loss cases)."""

    def __init__(self, output: torch.Tensor | None = None) -> None:
        super().__init__()
        self.output, self.calls, self.seen = output, 0, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.seen = x
        return x if self.output is None else self.output


def _l2_loss_perfect(fn: Fn) -> None:
    x = _signed((4, 1, 28, 28), 47)
    value = expect_scalar(fn(_Recorder(x.clone()), x, lambda t: (t + 0.3).clamp(-1, 1)))
    expect_true(abs(value) < 1e-6, "a model that outputs the clean images must have zero loss")


def _l2_loss_target(fn: Fn) -> None:
    x = torch.zeros(3, 1, 28, 28)
    model = _Recorder()  # identity
    value = expect_scalar(fn(model, x, lambda t: t + 0.1))
    expect_true(value > 1e-3, "compare the model's output with the CLEAN images, not the corrupted input")
    expect_true(abs(value - 784 * 0.01) < 1e-3, "the loss should be the squared error summed over pixels and "
                "averaged over the batch")


def _l2_loss_calls(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 48)
    calls = []

    def corrupt(t: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return -t

    model = _Recorder()
    expect_scalar(fn(model, x, corrupt))
    expect_true(len(calls) == 1 and model.calls == 1, "corrupt and the model should each be called once per batch")
    expect_true(model.seen is not None and torch.equal(model.seen, -x), "the model should see the corrupted images")


# ------------------------------------------------------------------------------ lesson 3
def _kl_oracle(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    q = torch.distributions.Normal(mu.double(), (0.5 * logvar.double()).exp())
    p = torch.distributions.Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    return torch.distributions.kl_divergence(q, p).sum(1)


def _l3_kl_zero(fn: Fn) -> None:
    out = expect_tensor(fn(torch.zeros(4, 3), torch.zeros(4, 3)), (4,))
    expect_close(out, torch.zeros(4), "the KL of the standard normal from itself")


def _l3_kl_shift(fn: Fn) -> None:
    out = expect_tensor(fn(torch.ones(2, 2), torch.zeros(2, 2)), (2,))
    expect_true(bool((out > 0).all()), "the KL divergence is never negative: check its sign")
    expect_close(out, torch.ones(2), "the KL for unit variance and a shifted mean")


def _l3_kl_random(fn: Fn) -> None:
    mu, logvar = torch.randn(6, 5, generator=seeded(50)), torch.randn(6, 5, generator=seeded(51))
    verify = unchanged_inputs(mu, logvar)
    expect_close(expect_tensor(fn(mu, logvar), (6,)), _kl_oracle(mu, logvar), "the KL values for random inputs")
    verify()


def _l3_kl_extreme(fn: Fn) -> None:
    mu, logvar = torch.zeros(2, 2), torch.tensor([[-20.0, 20.0], [5.0, -5.0]])
    expect_close(expect_tensor(fn(mu, logvar), (2,)), _kl_oracle(mu, logvar), "the KL for extreme log-variances",
                 rtol=1e-3)


def _l3_rep_collapse(fn: Fn) -> None:
    mu = torch.randn(4, 3, generator=seeded(52))
    expect_close(expect_tensor(fn(mu, torch.full((4, 3), -40.0)), (4, 3)), mu,
                 "samples with (almost) zero variance", atol=1e-6)


def _l3_rep_gradient(fn: Fn) -> None:
    mu, logvar = torch.zeros(3, 2, requires_grad=True), torch.zeros(3, 2, requires_grad=True)
    z = expect_tensor(fn(mu, logvar), (3, 2))
    expect_true(z.requires_grad, "z must be differentiable with respect to mu and logvar (do not sample z "
                "with torch.normal(mu, std): write mu + std * eps)")
    z.sum().backward()
    expect_true(mu.grad is not None and bool((mu.grad == 1).all()), "dz/dmu should be 1: z = mu + std * eps")
    expect_true(logvar.grad is not None and bool((logvar.grad != 0).any()), "z should depend on logvar")


def _l3_rep_symmetric(fn: Fn) -> None:
    z = expect_tensor(fn(torch.zeros(20000, 10), torch.zeros(20000, 10), seeded(53)), (20000, 10))
    expect_true(abs(float((z < 0).float().mean()) - 0.5) < 0.01, "with mu = 0 about half of the samples should be "
                "negative: the noise must be standard normal (torch.randn), not uniform (torch.rand)")
    expect_true(abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02,
                "with mu = 0 and logvar = 0 samples should have mean 0 and standard deviation 1")
    tail = float((z.abs() > 2).float().mean())
    expect_true(abs(tail - 0.0455) < 0.005, "the samples' tails do not look Gaussian")


def _l3_rep_scale(fn: Fn) -> None:
    z = expect_tensor(fn(torch.full((20000, 4), 3.0), torch.full((20000, 4), math.log(4.0)), seeded(54)))
    expect_true(abs(float(z.mean()) - 3) < 0.05 and abs(float(z.std()) - 2) < 0.05, "with logvar = log 4 the "
                "standard deviation should be 2: std = exp(0.5 * logvar)")


def _l3_rep_generator(fn: Fn) -> None:
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    expect_true(torch.equal(expect_tensor(fn(mu, logvar, seeded(3))), expect_tensor(fn(mu, logvar, seeded(3)))),
                "identically seeded generators should give identical samples (pass generator=generator)")


def _bce_sum(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Oracle: -log Bernoulli(x | sigmoid(logits)) per image, via torch.distributions."""
    return -torch.distributions.Bernoulli(logits=logits.double()).log_prob(x.double()).flatten(1).sum(1)


def _vae_inputs(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = seeded(seed)
    logits = torch.randn(n, 1, 28, 28, generator=g) * 3
    x = torch.rand(n, 1, 28, 28, generator=g).round()
    return logits, x, torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g) * 0.5


def _l3_loss_known(fn: Fn) -> None:
    value = expect_scalar(fn(torch.zeros(2, 1, 28, 28), _binary((2, 1, 28, 28), 55), torch.zeros(2, 3),
                             torch.zeros(2, 3)))
    expect_true(abs(value - 784 * LN2) < 1e-2, "the loss should be the binary cross-entropy SUMMED over the pixels "
                "of an image (then averaged over the batch), plus beta times the KL")


def _l3_loss_beta(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(3, 56)
    recon = float(_bce_sum(logits, x).mean())
    value = expect_scalar(fn(logits, x, mu, logvar, beta=0.0))
    expect_true(abs(value - recon) < 1e-3 * recon, "with beta = 0 the loss should be the reconstruction term alone")


def _l3_loss_random(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(4, 57)
    for beta in (1.0, 4.0):
        expected = float((_bce_sum(logits, x) + beta * _kl_oracle(mu, logvar)).mean())
        value = expect_scalar(fn(logits, x, mu, logvar, beta=beta))
        expect_true(abs(value - expected) < 1e-3 * expected, f"the loss with beta = {beta} is not correct")


def _l3_loss_batch(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(3, 58)
    one = expect_scalar(fn(logits, x, mu, logvar, beta=1.0))
    two = expect_scalar(fn(*(torch.cat([t, t]) for t in (logits, x, mu, logvar)), beta=1.0))
    expect_true(abs(one - two) < 1e-4 * abs(one), "repeating the batch should not change the loss: average over "
                "images (and sum over pixels and latent dimensions)")


def _l3_loss_stable(fn: Fn) -> None:
    logits = torch.full((2, 1, 28, 28), 100.0)
    logits[0] = -100.0
    value = expect_scalar(fn(logits, torch.ones(2, 1, 28, 28), torch.zeros(2, 2), torch.zeros(2, 2)))
    expect_true(abs(value - 784 * 100 / 2) < 1.0, "the loss for very confident logits (+-100) is not correct")


def _l3_elbo_bound(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(5, 59)
    out = expect_tensor(fn(logits, x, mu, logvar), (5,))
    expect_true(bool((out <= 0).all()), "the ELBO of binary images is a lower bound on a log-probability, so it "
                "can never be positive")


def _l3_elbo_monotone(fn: Fn) -> None:
    logits, x = torch.zeros(1, 1, 28, 28), _binary((1, 1, 28, 28), 60)
    values = [float(expect_tensor(fn(logits, x, torch.full((1, 2), m), torch.zeros(1, 2)), (1,))) for m in (0, 1, 2)]
    expect_true(values[0] > values[1] > values[2], "moving the posterior mean away from the prior should LOWER the "
                "ELBO: check the sign of the KL term")


def _l3_elbo_random(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(4, 61)
    expect_close(expect_tensor(fn(logits, x, mu, logvar), (4,)), -_bce_sum(logits, x) - _kl_oracle(mu, logvar),
                 "the ELBO values", rtol=1e-4, atol=1e-3)


def _excess_oracle(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    q = torch.distributions.Bernoulli(probs=x.double().flatten(1))
    p = torch.distributions.Bernoulli(logits=logits.double().flatten(1))
    return torch.distributions.kl_divergence(q, p).sum(1)


def _l3_grey_perfect(fn: Fn) -> None:
    x = torch.full((2, 1, 28, 28), 0.5)
    out = expect_tensor(fn(torch.zeros(2, 1, 28, 28), x), (2,))
    expect_close(out, torch.zeros(2), "the excess for a perfect prediction of grey pixels", atol=1e-4)


def _l3_grey_nonnegative(fn: Fn) -> None:
    x = torch.rand(4, 1, 28, 28, generator=seeded(62))
    out = expect_tensor(fn(torch.randn(4, 1, 28, 28, generator=seeded(63)), x), (4,))
    expect_true(bool((out >= -1e-4).all()), "the excess over the best achievable BCE can never be negative")


def _l3_grey_random(fn: Fn) -> None:
    x = torch.rand(3, 1, 28, 28, generator=seeded(64))
    x[0] = x[0].round()  # exact 0s and 1s: 0 * log 0 must count as 0
    logits = torch.randn(3, 1, 28, 28, generator=seeded(65)) * 2
    expect_close(expect_tensor(fn(logits, x), (3,)), _excess_oracle(logits, x), "the excess values", atol=1e-3)


# ------------------------------------------------------------------------------ lesson 4
def _softplus(t: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(torch.zeros_like(t), t)


def _l4_d_zero(fn: Fn) -> None:
    value = expect_scalar(fn(torch.zeros(4), torch.zeros(6)))
    expect_true(abs(value - 2 * LN2) < 1e-4, "with zero logits the loss should be the sum of the two mean "
                "binary cross-entropies (real labelled 1, fake labelled 0)")


def _l4_d_perfect(fn: Fn) -> None:
    value = expect_scalar(fn(torch.full((3,), 30.0), torch.full((3,), -30.0)))
    expect_true(0 <= value < 1e-6, "a discriminator that is confidently right should have (almost) zero loss")
    value = expect_scalar(fn(torch.full((3,), -200.0), torch.full((3,), 200.0)))
    expect_true(abs(value - 400) < 1e-2, "the loss of a confidently wrong discriminator (logits +-200) is not "
                "correct")


def _l4_d_random(fn: Fn) -> None:
    real, fake = torch.randn(5, generator=seeded(70)) * 3, torch.randn(7, generator=seeded(71)) * 3
    expected = float(_softplus(-real).mean() + _softplus(fake).mean())
    expect_true(abs(expect_scalar(fn(real, fake)) - expected) < 1e-4, "the loss for random logits is not correct")


def _l4_g_value(fn: Fn) -> None:
    value = expect_scalar(fn(torch.zeros(5)))
    expect_true(abs(value - LN2) < 1e-4, "with zero logits the loss should be -mean(log D(G(z)))")


def _l4_g_gradient(fn: Fn) -> None:
    logits = torch.full((4,), -10.0, requires_grad=True)
    out = fn(logits)
    expect_scalar(out)
    expect_true(isinstance(out, torch.Tensor) and out.requires_grad, "the loss must be differentiable")
    out.backward()
    expect_true(logits.grad is not None and bool((logits.grad < -0.2).all()), "when D confidently rejects the "
                "fakes the generator's gradient vanishes: that is the saturating loss log(1 - D(G(z))). Minimise "
                "-log D(G(z)) instead")


def _l4_g_decreasing(fn: Fn) -> None:
    values = [expect_scalar(fn(torch.full((3,), v))) for v in (-3.0, 0.0, 3.0)]
    expect_true(values[0] > values[1] > values[2] >= 0, "the generator's loss should fall as D rates the fakes as "
                "more real, and never be negative")


def _l4_g_random(fn: Fn) -> None:
    logits = torch.randn(9, generator=seeded(72)) * 4
    expect_true(abs(expect_scalar(fn(logits)) - float(_softplus(-logits).mean())) < 1e-4,
                "the loss for random logits is not correct")
    expect_true(abs(expect_scalar(fn(torch.full((2,), -200.0))) - 200) < 1e-2,
                "the loss for very negative logits (-200) is not correct")


def _mbd_oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    n, (_, b, _) = x.shape[0], t.shape
    m = torch.einsum("na,abc->nbc", x.double(), t.double())
    o = torch.zeros(n, b, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            if i != j:
                o[i] += torch.exp(-(m[i] - m[j]).abs().sum(1))
    return torch.cat([x.double(), o], 1)


def _mbd_layer(fn: Fn, a: int, b: int, c: int) -> nn.Module:
    layer = fn(a, b, c)
    expect_true(isinstance(layer, nn.Module), "MinibatchDiscrimination should be an nn.Module")
    t = getattr(layer, "T", None)
    expect_true(isinstance(t, nn.Parameter) and tuple(t.shape) == (a, b, c),
                "the layer needs a parameter T of shape (in_features, out_features, kernel_dims)")
    return layer


def _l4_mbd_shape(fn: Fn) -> None:
    layer = _mbd_layer(fn, 6, 3, 2)
    x = torch.randn(5, 6, generator=seeded(73))
    out = expect_tensor(layer(x), (5, 9))
    expect_close(out[:, :6], x, "the first in_features columns (they should be the input itself)")


def _l4_mbd_identical(fn: Fn) -> None:
    layer = _mbd_layer(fn, 4, 3, 5)
    x = torch.randn(1, 4, generator=seeded(74)).expand(6, 4).clone()
    expect_close(expect_tensor(layer(x), (6, 7))[:, 4:], torch.full((6, 3), 5.0),
                 "the features of a batch of identical rows (sum over the OTHER samples only)")


def _l4_mbd_values(fn: Fn) -> None:
    layer = _mbd_layer(fn, 5, 4, 3)
    t = torch.randn(5, 4, 3, generator=seeded(75)) * 0.3
    with torch.no_grad():
        layer.T.copy_(t)
    x = torch.randn(7, 5, generator=seeded(76))
    expect_close(expect_tensor(layer(x), (7, 9)), _mbd_oracle(x, t), "the minibatch features", atol=1e-4)
    layer(x).sum().backward()
    expect_true(layer.T.grad is not None and bool(layer.T.grad.abs().sum() > 0), "T should receive a gradient")


# ------------------------------------------------------------------------------ lesson 5
@functools.cache
def _torch_size(size: int, kernel: int, stride: int, padding: int, transposed: bool, output_padding: int) -> int:
    if transposed:
        layer: nn.Module = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding=output_padding)
    else:
        layer = nn.Conv2d(1, 1, kernel, stride, padding)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, size, size)).shape[-1])


def _size_case(settings: list[tuple[int, int, int, int, bool, int]], what: str) -> Callable[[Fn], None]:
    def run(fn: Fn) -> None:
        for size, kernel, stride, padding, transposed, output_padding in settings:
            got = fn(size, kernel, stride, padding, transposed=transposed, output_padding=output_padding)
            expect_true(isinstance(got, int) and not isinstance(got, bool), "conv_output_size should return an int")
            kind = "transposed convolution" if transposed else "convolution"
            expect_true(got == _torch_size(size, kernel, stride, padding, transposed, output_padding),
                        f"wrong size for a {kind} with kernel {kernel}, stride {stride}, padding {padding} on a "
                        f"{size}x{size} input ({what})")
    return run


_SIZE_GRID = [(s, k, st, p, tr, op) for s in (5, 28) for k in (3, 4) for st in (1, 2, 3)
              for p in (0, 2) for tr in (False, True) for op in (0, 1) if op < st and (tr or op == 0)]


def _init_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(64, 64, 4), nn.BatchNorm2d(2000), nn.ConvTranspose2d(64, 64, 4, bias=False),
                         nn.Linear(300, 300), nn.BatchNorm1d(2000), nn.Embedding(100, 50))


def _apply_init(fn: Fn) -> nn.Module:
    model = _init_model()
    model.apply(fn)
    return model


def _l5_init_conv(fn: Fn) -> None:
    model = _apply_init(fn)
    for layer in (model[0], model[2], model[3]):
        w = layer.weight.detach()
        expect_true(abs(float(w.mean())) < 0.002 and abs(float(w.std()) - 0.02) < 0.002,
                    f"{type(layer).__name__} weights should be drawn from a normal with mean 0 and std 0.02")
    expect_true(bool((model[0].bias == 0).all()) and bool((model[3].bias == 0).all()),
                "convolution and linear biases (when present) should be set to 0")


def _l5_init_bn(fn: Fn) -> None:
    model = _apply_init(fn)
    for bn in (model[1], model[4]):
        w = bn.weight.detach()
        expect_true(abs(float(w.mean()) - 1) < 0.003 and abs(float(w.std()) - 0.02) < 0.003,
                    f"{type(bn).__name__} weights should be drawn from a normal with mean 1 and std 0.02")
        expect_true(bool((bn.bias == 0).all()), "BatchNorm biases should be 0")


def _l5_init_others(fn: Fn) -> None:
    before = _init_model()[5].weight.detach().clone()
    expect_true(torch.equal(_apply_init(fn)[5].weight.detach(), before), "only convolutions, linear and BatchNorm "
                "layers should be re-initialised; leave other modules (here an nn.Embedding) alone")


def _block(fn: Fn, cin: int, cout: int) -> nn.Module:
    block = fn(cin, cout)
    expect_true(isinstance(block, nn.Module), "generator_block should return an nn.Module")
    return block


def _l5_block_shape(fn: Fn) -> None:
    block = _block(fn, 8, 4)
    out = expect_tensor(block(torch.randn(2, 8, 7, 7, generator=seeded(80))), (2, 4, 14, 14))
    expect_true(bool((out >= 0).all()), "the block should end with a ReLU")


def _l5_block_sizes(fn: Fn) -> None:
    block = _block(fn, 3, 5)
    for size in (3, 14):
        expect_tensor(block(torch.randn(2, 3, size, size, generator=seeded(81))), (2, 5, 2 * size, 2 * size))


def _l5_block_structure(fn: Fn) -> None:
    block = _block(fn, 6, 4)
    expect_true(any(isinstance(m, nn.BatchNorm2d) for m in block.modules()), "the block needs a BatchNorm2d")
    convs = [m for m in block.modules() if isinstance(m, nn.ConvTranspose2d)]
    expect_true(len(convs) == 1 and convs[0].bias is None, "use one ConvTranspose2d with bias=False (BatchNorm "
                "follows it, so a bias would be redundant)")
    n = sum(p.numel() for p in block.parameters())
    expect_true(n == 6 * 4 * 16 + 2 * 4, "the block's parameter count does not match a 4x4 transposed convolution "
                "followed by BatchNorm2d")
    block.train()
    out = block(torch.randn(64, 6, 5, 5, generator=seeded(82)) * 5 + 3)
    zeros = (out == 0).float().mean((0, 2, 3))
    expect_true(bool(((zeros > 0.35) & (zeros < 0.65)).all()), "in training mode BatchNorm should centre each "
                "channel, so about half of the ReLU outputs are zero")


# ------------------------------------------------------------------------------ lesson 6
SWISS_RADIUS, SWISS_TURNS = 3.0, 2.0  # the geometry of lesson 6's swiss roll (course_lib.priors)


def _swiss_position(z: torch.Tensor) -> torch.Tensor:
    """sqrt(u) of each point, read off its radius."""
    return z.double().norm(dim=1) / SWISS_RADIUS


def _l6_swiss_on_curve(fn: Fn) -> None:
    z = expect_tensor(fn(500), (500, 2))
    root = _swiss_position(z)
    expect_true(bool((root <= 1 + 1e-5).all()), "every point's radius should be at most 3")
    angle = 2 * math.pi * SWISS_TURNS * root
    on_curve = SWISS_RADIUS * root[:, None] * torch.stack([angle.cos(), angle.sin()], 1)
    expect_close(z.double(), on_curve, "the points' positions on the spiral (angle 4 pi sqrt(u) at radius "
                 "3 sqrt(u))", atol=1e-4)


def _l6_swiss_uniform(fn: Fn) -> None:
    z = expect_tensor(fn(5000, seeded(90)), (5000, 2))
    u = _swiss_position(z) ** 2
    grid = (torch.arange(1, 5001, dtype=torch.float64) - 0.5) / 5000
    expect_true(float((u.sort().values - grid).abs().max()) < 0.03, "u should be uniform on [0, 1] (torch.rand): the "
                "points are not spread along the spiral as the task asks")


def _l6_swiss_generator(fn: Fn) -> None:
    a, b = expect_tensor(fn(10, seeded(4))), expect_tensor(fn(10, seeded(4)))
    expect_true(torch.equal(a, b), "identically seeded generators should give identical points")
    expect_true(not torch.equal(a, expect_tensor(fn(10, seeded(5)))), "different seeds should give different points")


def _centres(k: int, radius: float) -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    return radius * torch.stack([angles.cos(), angles.sin()], 1)


def _mixture(fn: Fn, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    out = fn(*args, **kwargs)
    expect_true(isinstance(out, tuple) and len(out) == 2, "return a tuple (points, components)")
    points, comps = out
    expect_true(isinstance(comps, torch.Tensor) and comps.dtype == torch.long, "components should be an int64 tensor")
    return points, comps


def _l6_mix_exact(fn: Fn) -> None:
    points, comps = _mixture(fn, 200, 10, 4.0, 0.0)
    expect_tensor(points, (200, 2), "points")
    expect_true(tuple(comps.shape) == (200,) and bool(((comps >= 0) & (comps < 10)).all()),
                "components should have shape (n,) with values in 0..n_components-1")
    expect_close(points.double(), _centres(10, 4.0)[comps], "points with std = 0 (they should sit on their centres)",
                 atol=1e-4)


def _l6_mix_statistics(fn: Fn) -> None:
    points, comps = _mixture(fn, 10000, 10, 4.0, 0.5, seeded(91))
    counts = torch.bincount(comps, minlength=10)
    expect_true(bool(((counts > 850) & (counts < 1150)).all()), "the components should be equally likely")
    residual = points.double() - _centres(10, 4.0)[comps]
    expect_true(abs(float(residual.std()) - 0.5) < 0.02 and float(residual.mean().abs()) < 0.02,
                "points should scatter around their centre with standard deviation std")


def _l6_mix_other(fn: Fn) -> None:
    points, comps = _mixture(fn, 100, 4, 2.0, 0.0)
    expect_close(points.double(), _centres(4, 2.0)[comps], "points for 4 components on radius 2", atol=1e-4)


def _l6_occ_centres(fn: Fn) -> None:
    out = expect_tensor(fn(_centres(10, 4.0).float(), 10, 4.0), (10,))
    expect_close(out, torch.full((10,), 0.1), "the occupancy of one code on each centre")


def _l6_occ_single(fn: Fn) -> None:
    z = _centres(10, 4.0)[3].float() + 0.3 * torch.randn(50, 2, generator=seeded(92))
    expected = torch.zeros(10)
    expected[3] = 1.0
    expect_close(expect_tensor(fn(z, 10, 4.0), (10,)), expected, "the occupancy when every code is near centre 3")


def _l6_occ_random(fn: Fn) -> None:
    z = torch.randn(300, 2, generator=seeded(93)) * 3
    d = torch.cdist(z.double(), _centres(4, 2.0))
    expected = torch.bincount(d.argmin(1), minlength=4).double() / 300
    expect_close(expect_tensor(fn(z, 4, 2.0), (4,)), expected, "the occupancy of random codes")


# ------------------------------------------------------------------------------ lesson 7
def _l7_interp_ends(fn: Fn) -> None:
    z0, z1 = torch.randn(5, generator=seeded(100)), torch.randn(5, generator=seeded(101))
    for method in ("linear", "slerp"):
        out = expect_tensor(fn(z0, z1, 7, method), (7, 5))
        expect_close(out[0], z0, f"the first {method} point (it should be z0)", atol=1e-5)
        expect_close(out[-1], z1, f"the last {method} point (it should be z1)", atol=1e-5)


def _l7_interp_linear(fn: Fn) -> None:
    z0, z1 = torch.zeros(3), torch.tensor([4.0, -2.0, 8.0])
    out = expect_tensor(fn(z0, z1, 5, "linear"), (5, 3))
    expect_close(out, torch.linspace(0, 1, 5)[:, None] * z1, "the evenly spaced linear points")


def _l7_interp_slerp(fn: Fn) -> None:
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    out = expect_tensor(fn(z0, z1, 5, "slerp"), (5, 2))
    angles = torch.linspace(0, math.pi / 2, 5)
    expect_close(out, torch.stack([angles.cos(), angles.sin()], 1), "slerp between orthogonal unit vectors "
                 "(points should stay on the circle at evenly spaced angles)", atol=1e-5)
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = expect_tensor(fn(z0, z1, 3, "slerp"), (3, 2))[1]
    expect_close(mid, (z0 + z1) * math.sin(math.pi / 4) / math.sin(math.pi / 2),
                 "slerp between vectors of different lengths (slerp does not normalise them)", atol=1e-5)


def _l7_interp_parallel(fn: Fn) -> None:
    z = torch.tensor([1.0, 2.0, 3.0])
    out = expect_tensor(fn(z, 2 * z, 4, "slerp"), (4, 3))
    expect_close(out, torch.linspace(1, 2, 4)[:, None] * z, "slerp between parallel vectors (fall back to linear)",
                 atol=1e-4)


def _l7_interp_unknown(fn: Fn) -> None:
    try:
        fn(torch.zeros(2), torch.ones(2), 3, "cubic")
    except ValueError:
        return
    raise CaseFailed("an unknown method should raise ValueError (with a message naming the known methods)")


def _laplacian_oracle(images: torch.Tensor) -> torch.Tensor:
    """Oracle: the 5-point Laplacian written with slices (no convolution), population variance."""
    x = images[:, 0].double()
    response = x[:, 1:-1, :-2] + x[:, 1:-1, 2:] + x[:, :-2, 1:-1] + x[:, 2:, 1:-1] - 4 * x[:, 1:-1, 1:-1]
    return ((response - response.mean((1, 2), keepdim=True)) ** 2).mean((1, 2))


def _l7_sharp_constant(fn: Fn) -> None:
    out = expect_tensor(fn(torch.full((3, 1, 28, 28), 0.7)), (3,))
    expect_close(out, torch.zeros(3), "the sharpness of constant images", atol=1e-6)


def _l7_sharp_blur(fn: Fn) -> None:
    x = torch.rand(4, 1, 28, 28, generator=seeded(102))
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    a, b = expect_tensor(fn(x), (4,)), expect_tensor(fn(blurred), (4,))
    expect_true(bool((b < a).all()), "a blurred image should be less sharp than the original")


def _l7_sharp_random(fn: Fn) -> None:
    x = torch.rand(3, 1, 20, 24, generator=seeded(103))
    expect_close(expect_tensor(fn(x), (3,)), _laplacian_oracle(x), "the sharpness values (valid region, population "
                 "variance)", rtol=1e-4, atol=1e-6)


def _l7_nn_zero(fn: Fn) -> None:
    train = torch.rand(20, 1, 28, 28, generator=seeded(104))
    out = expect_tensor(fn(train[[3, 7]], train), (2,))
    expect_close(out, torch.zeros(2), "the distance of a copied training image", atol=1e-3)


def _l7_nn_random(fn: Fn) -> None:
    train, samples = torch.rand(30, 1, 28, 28, generator=seeded(105)), torch.rand(5, 1, 28, 28, generator=seeded(106))
    expected = torch.tensor([min(float((s - t).pow(2).sum().sqrt()) for t in train) for s in samples])
    expect_close(expect_tensor(fn(samples, train), (5,)), expected, "the nearest-neighbour distances", rtol=1e-4)


NEEDS = ("compress", "denoise", "likelihood", "sharp", "prior")
_CHOICES = {"compress": "ae", "denoise": "dae", "likelihood": "vae", "sharp": "gan", "prior": "aae"}
MODELS = ("ae", "dae", "vae", "gan", "aae")


def _l7_choose_valid(fn: Fn) -> None:
    for need in NEEDS:
        answer = fn(need)
        expect_true(answer in MODELS, f"choose_model({need!r}) should return one of {', '.join(MODELS)}")


def _l7_choose_unknown(fn: Fn) -> None:
    try:
        fn("teleport")
    except ValueError:
        return
    raise CaseFailed("an unknown need should raise ValueError")


def _choice_case(need: str) -> Case:
    def run(fn: Fn) -> None:
        expect_true(fn(need) == _CHOICES[need], f"the model chosen for {need!r} is not the best fit")
    return Case(f"the model for {need!r}", run, "re-read the comparison table of lesson 7")


# ------------------------------------------------------------------------------ the registry
EXERCISES: tuple[Exercise, ...] = (
    Exercise("pixel_loglik", 0, "bernoulli_log_likelihood", "log-likelihood under a per-pixel Bernoulli model",
             (Case("every probability 0.5", _l0_loglik_half, "each pixel contributes log 0.5 whatever its value"),
              Case("all-white images", _l0_loglik_ones, "a white pixel contributes log p")),
             (Case("random images and probabilities", _l0_loglik_random, "x log p + (1 - x) log(1 - p), summed"),)),
    Exercise("pixel_fit", 0, "fit_pixel_probs", "per-class pixel probabilities with Laplace smoothing",
             (Case("probabilities in (0, 1)", _l0_fit_range, "(sum + alpha) / (count + 2 alpha)"),
              Case("a class with no images", _l0_fit_empty_class, "with no data the estimate is the smoothing alone")),
             (Case("random data, alpha 0 and 2", _l0_fit_random, "select the class with images[labels == k]"),)),
    Exercise("bayes_classifier", 0, "class_log_posterior", "log p(y | x) by Bayes' rule",
             (Case("posteriors sum to one", _l0_posterior_normalised, "normalise with torch.logsumexp, not exp/sum"),
              Case("identical class models", _l0_posterior_equal_classes, "equal likelihoods leave the prior")),
             (Case("random images", _l0_posterior_random, "log p(x|y) + log p(y) - logsumexp over y"),)),
    Exercise("sample_class", 0, "sample_class", "sampling images from p(x | y)",
             (Case("binary samples", _l0_sample_binary, "torch.bernoulli draws 0/1 values"),
              Case("probabilities 0 and 1", _l0_sample_deterministic, "index the probabilities with y")),
             (Case("sample statistics", _l0_sample_statistics, "expand probs[y] to n copies, then draw"),
              Case("reproducible with a generator", _l0_sample_generator, "torch.bernoulli(p, generator=generator)"))),
    Exercise("ae_loss", 1, "reconstruction_loss", "the autoencoder's reconstruction loss",
             (Case("perfect reconstruction", _l1_loss_zero, "(x_hat - x) ** 2"),
              Case("known value", _l1_loss_known, "sum over pixels, mean over images")),
             (Case("random images", _l1_loss_random, "keep it a tensor"),
              Case("batch repeated", _l1_loss_batch, "average over the batch"))),
    Exercise("ae_model", 1, "make_autoencoder", "a fully connected autoencoder",
             (Case("shapes and range", _l1_model_shapes, "Flatten -> Linear ... -> Linear -> Tanh -> Unflatten"),),
             (Case("forward = decoder(encoder(x))", _l1_model_composition, "store encoder and decoder as attributes"),
              Case("size and gradients", _l1_model_gradients, "keep the layers small"))),
    Exercise("ae_pca", 1, "pca_reconstruct", "the optimal linear autoencoder (PCA)",
             (Case("k = dimension", _l1_pca_full, "with every direction kept nothing is lost"),),
             (Case("optimal error", _l1_pca_optimal, "centre, take the top-k right singular vectors, project, add "
                   "the mean back"),
              Case("rank and mean", _l1_pca_rank, "project onto k directions"))),
    Exercise("dae_gaussian", 2, "gaussian_corrupt", "additive Gaussian noise corruption",
             (Case("sigma = 0", _l2_gauss_zero, "x + sigma * noise"),
              Case("stays in [-1, 1]", _l2_gauss_range, "clamp the result")),
             (Case("noise statistics", _l2_gauss_statistics, "torch.randn(x.shape, generator=generator)"),
              Case("reproducible", _l2_gauss_generator, "pass the generator"))),
    Exercise("dae_mask", 2, "mask_corrupt", "bug-hunt: the x2 dropout mask",
             (Case("kept pixels keep their value", _l2_mask_no_rescale, "draw your own mask with torch.rand"),
              Case("p = 0", _l2_mask_identity, "keep where rand >= p")),
             (Case("dropped fraction", _l2_mask_fraction, "torch.where(mask, x, -1)"),
              Case("reproducible", _l2_mask_generator, "pass the generator to torch.rand"))),
    Exercise("dae_objective", 2, "denoising_loss", "the denoising objective",
             (Case("perfect denoiser", _l2_loss_perfect, "the target is the clean image"),
              Case("identity model", _l2_loss_target, "model(corrupt(x)) compared with x")),
             (Case("calls", _l2_loss_calls, "corrupt once, then the model once"),)),
    Exercise("vae_kl", 3, "gaussian_kl", "the closed-form KL divergence to N(0, I)",
             (Case("standard normal", _l3_kl_zero, "-0.5 * sum(1 + logvar - mu^2 - exp(logvar))"),
              Case("shifted mean", _l3_kl_shift, "the KL is never negative; sum over latent dimensions")),
             (Case("random inputs", _l3_kl_random, "sum over dim=1"),
              Case("extreme log-variances", _l3_kl_extreme, "use logvar.exp(), never log of a variance"))),
    Exercise("vae_reparam", 3, "reparameterize", "bug-hunt: reparameterisation with torch.rand",
             (Case("zero variance", _l3_rep_collapse, "std = exp(0.5 * logvar)"),
              Case("noise distribution", _l3_rep_symmetric, "eps ~ N(0, 1): torch.randn")),
             (Case("gradients", _l3_rep_gradient, "z = mu + std * eps"),
              Case("scale", _l3_rep_scale, "std = exp(0.5 * logvar), not exp(logvar)"),
              Case("reproducible", _l3_rep_generator, "torch.randn(mu.shape, generator=generator)"))),
    Exercise("vae_loss", 3, "vae_loss", "bug-hunt: the beta-VAE objective (sum vs mean)",
             (Case("zero logits", _l3_loss_known, "reduction='none', sum per image, then mean over the batch"),
              Case("beta = 0", _l3_loss_beta, "beta multiplies the KL only")),
             (Case("random inputs, beta 1 and 4", _l3_loss_random, "recon + beta * KL, per image, then mean"),
              Case("batch repeated", _l3_loss_batch, "mean over the batch"),
              Case("large logits", _l3_loss_stable, "compute the loss from logits with "
                   "F.binary_cross_entropy_with_logits, never log(sigmoid(...))"))),
    Exercise("vae_elbo", 3, "elbo", "bug-hunt: the sign of the KL in the ELBO",
             (Case("never positive", _l3_elbo_bound, "ELBO = log p(x|z) - KL"),
              Case("moving away from the prior", _l3_elbo_monotone, "the KL is subtracted")),
             (Case("random inputs", _l3_elbo_random, "per image, shape (N,)"),)),
    Exercise("vae_grey", 3, "bce_excess", "the BCE on grey pixels caveat",
             (Case("perfect grey prediction", _l3_grey_perfect, "subtract the entropy of x"),
              Case("non-negative", _l3_grey_nonnegative, "BCE(x, p) >= H(x)")),
             (Case("random images", _l3_grey_random, "torch.xlogy handles 0 * log 0"),)),
    Exercise("gan_d_loss", 4, "discriminator_loss", "the discriminator's loss from logits",
             (Case("zero logits", _l4_d_zero, "real labelled 1, fake labelled 0"),
              Case("confident discriminators", _l4_d_perfect, "work with logits: log(sigmoid(l)) overflows, "
                   "F.binary_cross_entropy_with_logits does not")),
             (Case("random logits", _l4_d_random, "mean over each batch, then add"),)),
    Exercise("gan_g_loss", 4, "generator_loss", "bug-hunt: the saturating generator loss",
             (Case("zero logits", _l4_g_value, "-log sigmoid(l)"),
              Case("gradient when D wins", _l4_g_gradient, "non-saturating: label the fakes as real")),
             (Case("monotone", _l4_g_decreasing, "softplus(-l)"),
              Case("random and extreme logits", _l4_g_random, "compute from logits: F.softplus or "
                   "F.binary_cross_entropy_with_logits"))),
    Exercise("gan_mbd", 4, "MinibatchDiscrimination", "a minibatch-discrimination layer",
             (Case("shape", _l4_mbd_shape, "torch.cat([x, o], dim=1)"),
              Case("identical rows", _l4_mbd_identical, "exclude j = i from the sum")),
             (Case("values and gradient", _l4_mbd_values, "M = x @ T.view(A, B*C); L1 over the kernel dim"),)),
    Exercise("dcgan_shape", 5, "conv_output_size", "output sizes of convolutions and transposed convolutions",
             (Case("the DCGAN layers", _size_case([(28, 4, 2, 1, False, 0), (7, 4, 2, 1, True, 0),
                                                  (1, 7, 1, 0, True, 0)], "DCGAN layers"),
                   "floor((n + 2p - k) / s) + 1 and (n - 1) s - 2p + k + output_padding"),),
             (Case("many settings", _size_case(_SIZE_GRID, "grid"), "compare with a real layer on a zero tensor"),)),
    Exercise("dcgan_init", 5, "dcgan_weights_init", "the DCGAN N(0, 0.02) initialisation",
             (Case("convolutions and linear layers", _l5_init_conv, "nn.init.normal_(m.weight, 0.0, 0.02)"),
              Case("BatchNorm", _l5_init_bn, "nn.init.normal_(m.weight, 1.0, 0.02)")),
             (Case("other modules untouched", _l5_init_others, "isinstance checks"),)),
    Exercise("dcgan_block", 5, "generator_block", "a DCGAN generator block",
             (Case("doubles the size", _l5_block_shape, "ConvTranspose2d(k=4, s=2, p=1)"),
              Case("other sizes", _l5_block_sizes, "the same block works for any input size")),
             (Case("structure", _l5_block_structure, "ConvTranspose2d(bias=False), BatchNorm2d, ReLU"),)),
    Exercise("aae_swiss", 6, "sample_swiss_roll", "a swiss-roll prior sampler",
             (Case("on the spiral", _l6_swiss_on_curve, "r = 3 sqrt(u), angle = 4 pi sqrt(u)"),),
             (Case("uniform along the spiral", _l6_swiss_uniform, "u = torch.rand(n, generator=generator)"),
              Case("reproducible", _l6_swiss_generator, "pass the generator"))),
    Exercise("aae_mixture", 6, "sample_gaussian_mixture", "a mixture-of-Gaussians prior sampler",
             (Case("std = 0", _l6_mix_exact, "centre k at angle 2 pi k / K"),),
             (Case("statistics", _l6_mix_statistics, "torch.randint for the components"),
              Case("4 components", _l6_mix_other, "use the arguments, not constants"))),
    Exercise("aae_occupancy", 6, "component_occupancy", "how evenly codes use the mixture's components",
             (Case("one code per centre", _l6_occ_centres, "nearest centre: torch.cdist(...).argmin(1)"),
              Case("all near one centre", _l6_occ_single, "fractions, not counts")),
             (Case("random codes", _l6_occ_random, "torch.bincount(..., minlength=K) / N"),)),
    Exercise("cmp_interp", 7, "interpolate", "linear and spherical interpolation",
             (Case("endpoints", _l7_interp_ends, "include both ends"),
              Case("linear points", _l7_interp_linear, "(1 - t) z0 + t z1")),
             (Case("slerp", _l7_interp_slerp, "sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1"),
              Case("parallel vectors", _l7_interp_parallel, "when sin(omega) is tiny, interpolate linearly"),
              Case("unknown method", _l7_interp_unknown, "raise ValueError"))),
    Exercise("cmp_sharpness", 7, "laplacian_sharpness", "a sharpness statistic: variance of the Laplacian",
             (Case("constant images", _l7_sharp_constant, "F.conv2d with the 3x3 Laplacian, no padding"),
              Case("blur lowers it", _l7_sharp_blur, "variance over the pixels of each image")),
             (Case("random images", _l7_sharp_random, "var(unbiased=False) over the valid region"),)),
    Exercise("cmp_memorise", 7, "nearest_train_distance", "distance to the nearest training image",
             (Case("a copied training image", _l7_nn_zero, "torch.cdist on flattened images"),),
             (Case("random images", _l7_nn_random, "minimum over the training set"),)),
    Exercise("cmp_choose", 7, "choose_model", "which model for which need",
             (Case("valid answers", _l7_choose_valid, "return a model name"),
              Case("unknown need", _l7_choose_unknown, "raise ValueError")),
             tuple(_choice_case(need) for need in NEEDS)),
)

BY_NAME: dict[str, Exercise] = {exercise.name: exercise for exercise in EXERCISES}
