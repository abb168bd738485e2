"""The instructor's cases: further cases per exercise, run only by the grader, never
shipped to students.

Each case checks behaviour against an independent formula (``torch.distributions``,
explicit loops, real ``torch.nn`` layers) or a known value, and fails with a message
that says what is wrong, never the expected numbers. The cases run in the grader's
process: ``fn`` there is a stand-in that sends the inputs to the submission's sandbox
and brings back plain data, so the comparison with the expected values happens where the
submission cannot reach it.

:data:`EXERCISES` joins each public exercise of :mod:`course_lib.grading.public_cases`
(what students run with ``check``) with its instructor cases from :data:`INSTRUCTOR`. An
instructor can keep another file of the same shape (``EXERCISES = [...]``) private and
pass ``--tests PATH``.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from course_lib.grading import public_cases
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
from course_lib.grading.probes import embedding_weights, probe
from course_lib.grading.public_cases import (
    DC_DISCRIMINATOR,
    DC_GENERATOR,
    MIXTURE_RADIUS,
    Fn,
    _auroc_oracle,
    _autoencoder,
    _bce_sum,
    _binary,
    _block,
    _centres,
    _distributions,
    _excess_oracle,
    _gaussian_pairs,
    _gradient_oracle,
    _hinge_oracle,
    _is_oracle,
    _jsd_rows,
    _kl_pair_oracle,
    _kl_rows,
    _mbd_layer,
    _mixture,
    _mmd_oracle,
    _overlap_oracle,
    _pair,
    _paste_inputs,
    _probs,
    _psnr_oracle,
    _push_oracle,
    _rules,
    _sharpness_oracle,
    _signed,
    _size_case,
    _smooth_kernels,
    _smoothness_oracle,
    _state,
    _swiss_position,
    _vae_inputs,
)


def _bernoulli_loglik(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Oracle: torch.distributions, summed over every non-batch dimension."""
    return (
        torch.distributions.Bernoulli(probs=p.expand_as(x))
        .log_prob(x)
        .flatten(1)
        .sum(1)
    )


def _l0_loglik_random(fn: Fn) -> None:
    x, p = _binary((5, 1, 28, 28), 1), _probs((1, 28, 28), 2)
    verify = unchanged_inputs(x, p)
    expect_close(
        expect_tensor(fn(x, p), (5,)),
        _bernoulli_loglik(x, p),
        "the log-likelihoods of random images",
    )
    verify()


def _l0_fit_random(fn: Fn) -> None:
    x, y = (
        torch.rand(30, 1, 28, 28, generator=seeded(5)),
        torch.randint(0, 3, (30,), generator=seeded(6)),
    )
    for alpha in (0.0, 2.0):
        expected = torch.stack(
            [
                (x[y == k].sum(0) + alpha) / ((y == k).sum() + 2 * alpha)
                for k in range(3)
            ]
        )
        expect_close(
            expect_tensor(fn(x, y, 3, alpha), (3, 1, 28, 28)),
            expected,
            f"the estimates with alpha={alpha}",
        )


def _l0_posterior_random(fn: Fn) -> None:
    x, probs = _binary((6, 1, 28, 28), 11), _probs((3, 1, 28, 28), 12)
    prior = torch.tensor([0.5, 0.3, 0.2]).log()
    joint = torch.stack(
        [_bernoulli_loglik(x, probs[k]) + prior[k] for k in range(3)], dim=1
    )
    expect_close(
        expect_tensor(fn(x, probs, prior), (6, 3)),
        joint - joint.logsumexp(1, keepdim=True),
        "the log-posteriors",
        atol=1e-3,
    )


def _l0_sample_statistics(fn: Fn) -> None:
    probs = _probs((3, 1, 28, 28), 14)
    out = expect_tensor(fn(probs, 2, 4000, seeded(15)), (4000, 1, 28, 28))
    expect_true(
        float((out.mean(0) - probs[2]).abs().max()) < 0.06,
        "the average of many samples should approach the pixel probabilities of "
        "class y",
    )


def _l0_sample_generator(fn: Fn) -> None:
    probs = _probs((3, 1, 28, 28), 16)
    a, b = fn(probs, 0, 4, seeded(17)), fn(probs, 0, 4, seeded(17))
    expect_true(
        abs(float(expect_tensor(a).mean()) - float(probs[0].mean())) < 0.05,
        "the fraction of white pixels should match the probabilities of class y",
    )
    expect_true(
        torch.equal(expect_tensor(a), expect_tensor(b)),
        "two calls with identically seeded generators "
        "should give identical samples: pass generator=generator to "
        "torch.bernoulli/torch.rand",
    )


def _l0_kl_random(fn: Fn) -> None:
    p, q = _distributions(8, 12, 36), _distributions(8, 12, 37)
    p[::2, 3] = 0.0
    p = p / p.sum(1, keepdim=True)
    verify = unchanged_inputs(p, q)
    expect_close(
        expect_tensor(fn(p, q), (8,)),
        _kl_rows(p, q),
        "the divergences of random distributions",
        atol=1e-5,
    )
    r = _distributions(8, 12, 38)
    expect_close(
        expect_tensor(fn(q, r), (8,)),
        _kl_rows(q, r),
        "the divergences of another pair",
        atol=1e-5,
    )
    expect_close(
        expect_tensor(fn(r, q), (8,)),
        _kl_rows(r, q),
        "the divergences with p and q swapped (the KL is not symmetric)",
        atol=1e-5,
    )
    verify()


def _l1_loss_random(fn: Fn) -> None:
    a, b = (
        torch.randn(6, 1, 28, 28, generator=seeded(21)),
        torch.randn(6, 1, 28, 28, generator=seeded(22)),
    )
    a.requires_grad_(True)
    out = fn(a, b)
    expected = ((a - b) ** 2).flatten(1).sum(1).mean().detach()
    expect_true(
        abs(expect_scalar(out) - float(expected)) < 1e-3 * float(expected),
        "the loss of random images is not correct",
    )
    expect_true(
        isinstance(out, torch.Tensor) and out.requires_grad,
        "the loss must stay differentiable (do not call .item() or .detach() inside "
        "the loss)",
    )


def _l1_loss_batch(fn: Fn) -> None:
    a, b = (
        torch.randn(3, 1, 28, 28, generator=seeded(23)),
        torch.randn(3, 1, 28, 28, generator=seeded(24)),
    )
    one, two = (
        expect_scalar(fn(a, b)),
        expect_scalar(fn(torch.cat([a, a]), torch.cat([b, b]))),
    )
    expect_true(one > 100, "the loss of two batches of random images should be large")
    expect_true(
        abs(one - two) < 1e-4 * abs(one),
        "repeating the batch twice should not change the loss: average over the "
        "batch, do not sum",
    )


def _l1_model_composition(fn: Fn) -> None:
    x = torch.rand(3, 1, 28, 28, generator=seeded(26)) * 2 - 1
    forward = [("decoder", torch.zeros(3, 8)), ("", x), ("encoder", x), ("decoder", 2)]
    decoded, out, code, composed = _autoencoder(
        fn, 8, mode="eval", no_grad=True, forward=forward
    )["outputs"]
    expect_true(
        decoded is not None and code is not None,
        "the model needs attributes encoder and decoder",
    )
    expect_tensor(decoded, (3, 1, 28, 28), "model.decoder(z)")
    expect_close(
        expect_tensor(out),
        expect_tensor(composed),
        "model(x) compared with decoder(encoder(x))",
    )


def _l1_model_gradients(fn: Fn) -> None:
    x = torch.rand(4, 1, 28, 28, generator=seeded(27)) * 2 - 1
    info = _autoencoder(fn, 4, forward=[("", x)], backward="squared_error")
    expect_true(
        0 < info["n_parameters"] < 3_000_000,
        "the model should have between 1 and 3 million parameters",
    )
    grads = info["grads"]
    expect_true(
        bool(grads)
        and all(
            isinstance(g, torch.Tensor) and bool(torch.isfinite(g).all())
            for g in grads.values()
        ),
        "every parameter should receive a finite gradient from the reconstruction loss",
    )


def _pca_error(x: torch.Tensor, k: int) -> float:
    s = torch.linalg.svdvals((x - x.mean(0)).double())
    return float((s[k:] ** 2).sum())


def _l1_pca_optimal(fn: Fn) -> None:
    x = torch.randn(50, 8, generator=seeded(29)) * torch.linspace(3, 0.2, 8) + 1.5
    verify = unchanged_inputs(x)
    out = expect_tensor(fn(x, 3), (50, 8)).double()
    err = float(((out - x.double()) ** 2).sum())
    expect_true(
        abs(err - _pca_error(x, 3)) < 1e-3 * _pca_error(x, 3),
        "the squared reconstruction error is not the "
        "smallest one a rank-k reconstruction can reach (centre the data first?)",
    )
    verify()


def _l1_pca_rank(fn: Fn) -> None:
    x = torch.randn(30, 10, generator=seeded(30)) + 4.0
    out = expect_tensor(fn(x, 2), (30, 10)).double()
    expect_true(
        int(torch.linalg.matrix_rank(out - x.double().mean(0), rtol=1e-4)) <= 2,
        "after subtracting the data mean, the reconstructions should span at most k "
        "directions",
    )
    expect_close(
        out.mean(0), x.double().mean(0), "the mean of the reconstructions", atol=1e-4
    )


def _l1_gap_random(fn: Fn) -> None:
    codes, queries = (
        torch.randn(200, 2, generator=seeded(34)) * 3,
        torch.randn(40, 2, generator=seeded(35)),
    )
    verify = unchanged_inputs(codes, queries)
    expected = torch.cdist(queries.double(), codes.double()).min(1).values
    expect_close(
        expect_tensor(fn(queries, codes), (40,)),
        expected,
        "the distances of 40 queries to 200 codes",
        atol=1e-4,
    )
    one = expect_tensor(fn(queries, codes[:1]), (40,))
    expect_close(
        one,
        (queries - codes[0]).norm(dim=1),
        "the distances to a single reference code",
        atol=1e-4,
    )
    verify()


def _l2_gauss_statistics(fn: Fn) -> None:
    x = torch.zeros(50, 1, 28, 28)
    verify = unchanged_inputs(x)
    noise = expect_tensor(fn(x, 0.1, seeded(42)), (50, 1, 28, 28))
    expect_true(
        abs(float(noise.std()) - 0.1) < 0.01 and abs(float(noise.mean())) < 0.01,
        "the added noise should have mean 0 and standard deviation sigma",
    )
    verify()


def _l2_gauss_generator(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 43) * 0.2
    first = expect_tensor(fn(x, 0.3, seeded(1)), (2, 1, 28, 28))
    expect_true(
        0.17 < float((first - x).abs().mean()) < 0.31,
        "sigma = 0.3 should move a pixel by about 0.24 on average",
    )
    expect_true(
        torch.equal(first, expect_tensor(fn(x, 0.3, seeded(1)))),
        "identically seeded generators should give identical noise (pass "
        "generator=generator)",
    )


def _l2_mask_fraction(fn: Fn) -> None:
    x = torch.full((20, 1, 28, 28), 0.25)
    verify = unchanged_inputs(x)
    out = expect_tensor(fn(x, 0.3, seeded(45)), (20, 1, 28, 28))
    expect_true(
        abs(float((out == -1).float().mean()) - 0.3) < 0.02,
        "a fraction p of the pixels should be dropped",
    )
    expect_true(
        bool(((out == -1) | (out == 0.25)).all()),
        "each pixel should be either kept or set to -1",
    )
    verify()


def _l2_mask_generator(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 46)
    first = expect_tensor(fn(x, 0.5, seeded(2)), (2, 1, 28, 28))
    expect_true(
        0.3 < float((first == -1).float().mean()) < 0.7,
        "p = 0.5 should drop about half of the pixels",
    )
    expect_true(
        torch.equal(first, expect_tensor(fn(x, 0.5, seeded(2)))),
        "identically seeded generators should give identical masks (pass "
        "generator=generator)",
    )


def _l2_loss_calls(fn: Fn) -> None:
    x = _signed((2, 1, 28, 28), 48)
    seen = probe(fn, "denoise", x, "negate")
    expect_true(
        expect_scalar(seen["out"]) > 1.0,
        "an identity model facing negated images should have a large loss",
    )
    expect_true(
        seen["corrupt_calls"] == 1 and seen["model_calls"] == 1,
        "corrupt and the model should each be called once per batch",
    )
    expect_true(
        isinstance(seen["seen"], torch.Tensor) and torch.equal(seen["seen"], -x),
        "the model should see the corrupted images",
    )


def _l2_psnr_random(fn: Fn) -> None:
    a = torch.rand(6, 1, 28, 28, generator=seeded(56))
    b = (
        a
        + 0.05
        * torch.randn(6, 1, 28, 28, generator=seeded(57))
        * torch.arange(1, 7).view(6, 1, 1, 1)
    ).clamp(0, 1)
    verify = unchanged_inputs(a, b)
    expect_close(
        expect_tensor(fn(a, b), (6,)),
        _psnr_oracle(a, b),
        "the PSNRs of six images",
        atol=1e-3,
    )
    expect_close(
        expect_tensor(fn(b, a), (6,)),
        _psnr_oracle(a, b),
        "the PSNRs with the arguments swapped",
        atol=1e-3,
    )
    verify()


def _l2_paste_random(fn: Fn) -> None:
    output, corrupted, mask = _paste_inputs(58)
    verify = unchanged_inputs(output, corrupted, mask)
    expect_close(
        expect_tensor(fn(output, corrupted, mask), (4, 1, 28, 28)),
        mask * corrupted + (1 - mask) * output,
        "the pasted-back images",
    )
    verify()


def _l2_auroc_random(fn: Fn) -> None:
    inlier = torch.randint(0, 20, (40,), generator=seeded(115)).float()
    outlier = torch.randint(5, 30, (25,), generator=seeded(116)).float()
    verify = unchanged_inputs(inlier, outlier)
    value = expect_scalar(fn(inlier, outlier))
    expect_true(
        abs(value - _auroc_oracle(inlier, outlier)) < 1e-9,
        "the AUROC of 40 inliers and 25 outliers",
    )
    expect_true(
        abs(expect_scalar(fn(outlier, inlier)) - (1 - value)) < 1e-9,
        "swapping the roles should give 1 - AUROC",
    )
    verify()


def _l2_smooth_random(fn: Fn) -> None:
    g = seeded(118)
    # a digit-shaped live region, and kernels that mix smooth and noisy parts
    live = (torch.rand(28, 28, generator=g) < 0.8) & (
        (torch.arange(28.0).view(-1, 1) - 13.5).abs() < 11
    )
    smooth = _smooth_kernels(119).repeat(2, 1)
    weights = smooth + torch.rand(8, 1, generator=g) * torch.randn(8, 784, generator=g)
    weights = weights.double()
    verify = unchanged_inputs(weights, live)
    out = expect_tensor(fn(weights, live), (8,))
    expect_close(
        out,
        _smoothness_oracle(weights, live).to(out.dtype),
        "the correlations of eight kernels over a ragged set of live pixels",
        atol=1e-6,
    )
    verify()


def _l5_rules_several(fn: Fn) -> None:
    g = ["Linear", "ReLU", "Unflatten", "ConvTranspose2d", "ReLU", "MaxPool2d"]
    g += ["ConvTranspose2d", "BatchNorm2d", "LeakyReLU", "ConvTranspose2d", "Sigmoid"]
    expect_true(
        _rules(fn, g, "generator") == (1, 2, 4),
        "a generator with pooling, missing BatchNorm and two wrong activations",
    )
    d = ["Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d", "LeakyReLU", "Flatten"]
    d += ["Linear", "LeakyReLU", "Linear", "Sigmoid"]
    expect_true(
        _rules(fn, d, "discriminator") == (2, 3),
        "a discriminator with BatchNorm misplaced, a hidden Linear and a Sigmoid logit",
    )
    expect_true(
        _rules(fn, DC_DISCRIMINATOR, "generator") != (),
        "the role matters: a discriminator's layers do not make a valid generator",
    )
    try:
        fn(list(DC_GENERATOR), "critic")
    except ValueError:
        return
    raise CaseFailed("an unknown role should raise ValueError naming the two roles")


def _l4_hinge_random(fn: Fn) -> None:
    g = seeded(120)
    real, fake = torch.randn(37, generator=g) * 3, torch.randn(23, generator=g) * 3
    verify = unchanged_inputs(real, fake)
    expect_true(
        abs(expect_scalar(fn(real, fake)) - _hinge_oracle(real, fake)) < 1e-4,
        "the hinge loss of 37 real and 23 fake random logits",
    )
    verify()
    report = probe(fn, "gradients", (real, fake), (1,))
    expect_true(
        report["requires_grad"],
        "the loss must stay differentiable (a tensor attached to the graph)",
    )
    expected = (fake > -1).float() / len(fake)
    expect_close(
        report["grads"][0],
        expected,
        "the gradient with respect to the fakes: 1/M before the margin, 0 past it",
    )


def _l4_push_random(fn: Fn) -> None:
    fake = torch.randn(40, generator=seeded(121)) * 2 + 3
    verify = unchanged_inputs(fake)
    out = expect_tensor(fn(fake, 0.7, -2.5), (40,))
    expect_close(
        out, _push_oracle(fake, 0.7, -2.5).float(), "the gradient of 40 random fakes"
    )
    verify()


def _l5_is_splits(fn: Fn) -> None:
    probs = torch.softmax(torch.randn(23, 7, generator=seeded(117)) * 3, 1)
    probs[0] = torch.eye(7)[2]
    verify = unchanged_inputs(probs)
    for splits in (1, 4, 23):
        value = expect_scalar(fn(probs, splits))
        expect_true(
            abs(value - _is_oracle(probs, splits)) < 1e-5,
            f"the score with {splits} splits of 23 rows",
        )
    verify()


def _kl_oracle(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    q = torch.distributions.Normal(mu.double(), (0.5 * logvar.double()).exp())
    p = torch.distributions.Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    return torch.distributions.kl_divergence(q, p).sum(1)


def _l3_kl_random(fn: Fn) -> None:
    mu, logvar = (
        torch.randn(6, 5, generator=seeded(50)),
        torch.randn(6, 5, generator=seeded(51)),
    )
    verify = unchanged_inputs(mu, logvar)
    expect_close(
        expect_tensor(fn(mu, logvar), (6,)),
        _kl_oracle(mu, logvar),
        "the KL values for random inputs",
    )
    verify()


def _l3_kl_extreme(fn: Fn) -> None:
    mu, logvar = torch.zeros(2, 2), torch.tensor([[-20.0, 20.0], [5.0, -5.0]])
    expect_close(
        expect_tensor(fn(mu, logvar), (2,)),
        _kl_oracle(mu, logvar),
        "the KL for extreme log-variances",
        rtol=1e-3,
    )


def _l3_rep_gradient(fn: Fn) -> None:
    seen = probe(fn, "gradients", (torch.zeros(3, 2), torch.zeros(3, 2)), (0, 1))
    expect_tensor(seen["out"], (3, 2))
    expect_true(
        seen["requires_grad"],
        "z must be differentiable with respect to mu and logvar: the noise must not "
        "depend on them",
    )
    mu_grad, logvar_grad = seen["grads"]
    expect_true(
        isinstance(mu_grad, torch.Tensor) and bool((mu_grad == 1).all()),
        "dz/dmu should be 1",
    )
    expect_true(
        isinstance(logvar_grad, torch.Tensor) and bool((logvar_grad != 0).any()),
        "z should depend on logvar",
    )


def _l3_rep_scale(fn: Fn) -> None:
    z = expect_tensor(
        fn(
            torch.full((20000, 4), 3.0),
            torch.full((20000, 4), math.log(4.0)),
            seeded(54),
        )
    )
    expect_true(
        abs(float(z.mean()) - 3) < 0.05 and abs(float(z.std()) - 2) < 0.05,
        "with logvar = log 4 the standard deviation should be 2 (the square root of "
        "the variance)",
    )


def _l3_rep_generator(fn: Fn) -> None:
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    first = expect_tensor(fn(mu, logvar, seeded(3)), (3, 2))
    expect_true(
        bool((first != 0).all()) and bool((first < 0).any()),
        "samples around mu = 0 should be spread on both sides of 0",
    )
    expect_true(
        torch.equal(first, expect_tensor(fn(mu, logvar, seeded(3)))),
        "identically seeded generators should give identical samples (pass the "
        "generator on)",
    )


def _l3_loss_random(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(4, 57)
    for beta in (1.0, 4.0):
        expected = float((_bce_sum(logits, x) + beta * _kl_oracle(mu, logvar)).mean())
        value = expect_scalar(fn(logits, x, mu, logvar, beta=beta))
        expect_true(
            abs(value - expected) < 1e-3 * expected,
            f"the loss with beta = {beta} is not correct",
        )


def _l3_loss_batch(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(3, 58)
    one = expect_scalar(fn(logits, x, mu, logvar, beta=1.0))
    two = expect_scalar(
        fn(*(torch.cat([t, t]) for t in (logits, x, mu, logvar)), beta=1.0)
    )
    expect_true(one > 1.0, "the loss of random logits should be large")
    expect_true(
        abs(one - two) < 1e-4 * abs(one),
        "repeating the batch should not change the loss: average over "
        "images (and sum over pixels and latent dimensions)",
    )


def _l3_loss_stable(fn: Fn) -> None:
    logits = torch.full((2, 1, 28, 28), 100.0)
    logits[0] = -100.0
    value = expect_scalar(
        fn(logits, torch.ones(2, 1, 28, 28), torch.zeros(2, 2), torch.zeros(2, 2))
    )
    expect_true(
        abs(value - 784 * 100 / 2) < 1.0,
        "the loss for very confident logits (+-100) is not correct",
    )


def _l3_elbo_random(fn: Fn) -> None:
    logits, x, mu, logvar = _vae_inputs(4, 61)
    expect_close(
        expect_tensor(fn(logits, x, mu, logvar), (4,)),
        -_bce_sum(logits, x) - _kl_oracle(mu, logvar),
        "the ELBO values",
        rtol=1e-4,
        atol=1e-3,
    )


def _l3_grey_random(fn: Fn) -> None:
    x = torch.rand(3, 1, 28, 28, generator=seeded(64))
    x[0] = x[0].round()  # exact 0s and 1s: 0 * log 0 must count as 0
    logits = torch.randn(3, 1, 28, 28, generator=seeded(65)) * 2
    expect_close(
        expect_tensor(fn(logits, x), (3,)),
        _excess_oracle(logits, x),
        "the excess values",
        atol=1e-3,
    )


def _l3_pair_random(fn: Fn) -> None:
    mu_q, logvar_q, mu_p, logvar_p = _gaussian_pairs(6, 67)
    logvar_q[0], logvar_p[1] = -12.0, 9.0
    verify = unchanged_inputs(mu_q, logvar_q, mu_p, logvar_p)
    expected = _kl_pair_oracle(mu_q, logvar_q, mu_p, logvar_p)
    expect_close(
        expect_tensor(fn(mu_q, logvar_q, mu_p, logvar_p), (6,)),
        expected,
        "the divergences, extreme variances included",
        rtol=1e-3,
        atol=1e-3,
    )
    verify()


def _l3_loglik_random(fn: Fn) -> None:
    logits, x, _, _ = _vae_inputs(4, 68)
    x[1] = torch.rand(1, 28, 28, generator=seeded(69))  # grey targets are allowed
    verify = unchanged_inputs(logits, x)
    l64, x64 = logits.double(), x.double()
    expected = (
        (x64 * F.logsigmoid(l64) + (1 - x64) * F.logsigmoid(-l64)).flatten(1).sum(1)
    )
    expect_close(
        expect_tensor(fn(logits, x), (4,)), expected, "the log-likelihoods", atol=1e-3
    )
    verify()


def _l3_iwae_random(fn: Fn) -> None:
    log_w = torch.randn(6, 50, generator=seeded(70)) * 3 - 250
    verify = unchanged_inputs(log_w)
    expect_close(
        expect_tensor(fn(log_w), (6,)),
        torch.logsumexp(log_w.double(), 1) - math.log(50),
        "the bounds of 50 log-weights",
        atol=1e-3,
    )
    means = [float(expect_tensor(fn(log_w[:, :k]), (6,)).mean()) for k in (1, 5, 50)]
    expect_true(
        means[0] <= means[1] <= means[2],
        "the bound should grow with the number of samples here",
    )
    verify()


def _softplus(t: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(torch.zeros_like(t), t)


def _l4_d_random(fn: Fn) -> None:
    real, fake = (
        torch.randn(5, generator=seeded(70)) * 3,
        torch.randn(7, generator=seeded(71)) * 3,
    )
    expected = float(_softplus(-real).mean() + _softplus(fake).mean())
    expect_true(
        abs(expect_scalar(fn(real, fake)) - expected) < 1e-4,
        "the loss for random logits is not correct",
    )


def _l4_dstar_random(fn: Fn) -> None:
    p_data, p_model = (
        torch.rand(5, 7, generator=seeded(73)) * 3,
        torch.rand(5, 7, generator=seeded(74)) * 3,
    )
    p_data[0, :3] = 0.0
    verify = unchanged_inputs(p_data, p_model)
    expect_close(
        expect_tensor(fn(p_data, p_model), (5, 7)),
        p_data / (p_data + p_model),
        "D* at 35 points",
    )
    verify()


def _l4_jsd_random(fn: Fn) -> None:
    p, q = _distributions(6, 9, 75), _distributions(6, 9, 76)
    p[:3, :4] = 0.0
    p = p / p.sum(1, keepdim=True)
    verify = unchanged_inputs(p, q)
    out = expect_tensor(fn(p, q), (6,))
    expect_close(out, _jsd_rows(p, q), "the divergences with zeros in p", atol=1e-5)
    expect_close(
        expect_tensor(fn(q, p), (6,)),
        out,
        "the divergences with p and q swapped (the JSD is symmetric)",
        atol=1e-5,
    )
    verify()


def _l4_grad_random(fn: Fn) -> None:
    logits = torch.randn(50, generator=seeded(77)) * 6
    verify = unchanged_inputs(logits)
    minimax, non_saturating = _pair(fn(logits), 50)
    expected_minimax, expected_non_saturating = _gradient_oracle(logits)
    expect_close(
        minimax, expected_minimax, "the minimax derivatives of 50 logits", atol=1e-5
    )
    expect_close(
        non_saturating,
        expected_non_saturating,
        "the non-saturating derivatives of 50 logits",
        atol=1e-5,
    )
    verify()


def _mbd_oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    n, (_, b, _) = x.shape[0], t.shape
    m = torch.einsum("na,abc->nbc", x.double(), t.double())
    o = torch.zeros(n, b, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            if i != j:
                o[i] += torch.exp(-(m[i] - m[j]).abs().sum(1))
    return torch.cat([x.double(), o], 1)


def _l4_mbd_values(fn: Fn) -> None:
    t = torch.randn(5, 4, 3, generator=seeded(75)) * 0.3
    x = torch.randn(7, 5, generator=seeded(76))
    info = _mbd_layer(
        fn, 5, 4, 3, set_params={"T": t}, forward=[("", x)], backward="sum"
    )
    expect_close(
        expect_tensor(info["outputs"][0], (7, 9)),
        _mbd_oracle(x, t),
        "the minibatch features",
        atol=1e-4,
    )
    grad = info["grads"].get("T")
    expect_true(
        isinstance(grad, torch.Tensor) and bool(grad.abs().sum() > 0),
        "T should receive a gradient",
    )


_SIZE_GRID = [
    (s, k, st, p, tr, op)
    for s in (5, 28)
    for k in (3, 4)
    for st in (1, 2, 3)
    for p in (0, 2)
    for tr in (False, True)
    for op in (0, 1)
    if op < st and (tr or op == 0)
]


def _l5_init_others(fn: Fn) -> None:
    expect_true(
        torch.equal(_state(fn)["5.weight"], embedding_weights()),
        "only convolutions, linear and BatchNorm "
        "layers should be re-initialised; leave other modules (here an nn.Embedding) "
        "alone",
    )


def _l5_block_structure(fn: Fn) -> None:
    x = torch.randn(64, 6, 5, 5, generator=seeded(82)) * 5 + 3
    info = _block(fn, 6, 4, mode="train", forward=[("", x)])
    modules = info["modules"]
    expect_true(
        any("BatchNorm2d" in m["kinds"] for m in modules),
        "the block needs a BatchNorm2d",
    )
    convs = [m for m in modules if "ConvTranspose2d" in m["kinds"]]
    expect_true(
        len(convs) == 1 and not convs[0]["has_bias"],
        "use one ConvTranspose2d with bias=False (BatchNorm follows it, so a bias "
        "would be redundant)",
    )
    expect_true(
        info["n_parameters"] == 6 * 4 * 16 + 2 * 4,
        "the block's parameter count does not match a 4x4 transposed convolution "
        "followed by BatchNorm2d",
    )
    out = expect_tensor(info["outputs"][0], (64, 4, 10, 10))
    zeros = (out == 0).float().mean((0, 2, 3))
    expect_true(
        bool(((zeros > 0.35) & (zeros < 0.65)).all()),
        "in training mode BatchNorm should centre each channel, so about half of the "
        "ReLU outputs are zero",
    )


def _l5_overlap_random(fn: Fn) -> None:
    for n_in, kernel, stride in ((1, 4, 2), (7, 4, 3), (10, 7, 2), (3, 1, 3)):
        out = fn(n_in, kernel, stride)
        expect_true(
            isinstance(out, torch.Tensor)
            and torch.equal(out.long(), _overlap_oracle(n_in, kernel, stride)),
            f"the counts for {n_in} inputs, kernel {kernel}, stride {stride} are not "
            "correct",
        )


def _l6_swiss_uniform(fn: Fn) -> None:
    z = expect_tensor(fn(5000, seeded(90)), (5000, 2))
    u = _swiss_position(z) ** 2
    grid = (torch.arange(1, 5001, dtype=torch.float64) - 0.5) / 5000
    expect_true(
        float((u.sort().values - grid).abs().max()) < 0.03,
        "the positions u should be uniform on [0, 1]: the points are not spread "
        "along the spiral as the task asks",
    )


def _l6_swiss_generator(fn: Fn) -> None:
    a, b = expect_tensor(fn(10, seeded(4)), (10, 2)), expect_tensor(fn(10, seeded(4)))
    expect_true(
        float(a.norm(dim=1).std()) > 0.1,
        "the points should lie at different places along the roll",
    )
    expect_true(
        torch.equal(a, b), "identically seeded generators should give identical points"
    )
    expect_true(
        not torch.equal(a, expect_tensor(fn(10, seeded(5)))),
        "different seeds should give different points",
    )


def _l6_mix_statistics(fn: Fn) -> None:
    points, comps = _mixture(fn, 10000, 10, MIXTURE_RADIUS, 0.2, seeded(91))
    counts = torch.bincount(comps, minlength=10)
    expect_true(
        bool(((counts > 850) & (counts < 1150)).all()),
        "the components should be equally likely",
    )
    residual = points.double() - _centres(10, MIXTURE_RADIUS)[comps]
    expect_true(
        abs(float(residual.std()) - 0.2) < 0.01 and float(residual.mean().abs()) < 0.01,
        "points should scatter around their centre with standard deviation std",
    )


def _l6_mix_other(fn: Fn) -> None:
    points, comps = _mixture(fn, 100, 4, 2.0, 0.0)
    expect_true(len(torch.unique(comps)) == 4, "100 draws should use all 4 components")
    expect_close(
        points.double(),
        _centres(4, 2.0)[comps],
        "points for 4 components on radius 2",
        atol=1e-4,
    )


def _l6_occ_random(fn: Fn) -> None:
    z = torch.randn(300, 2, generator=seeded(93)) * 3
    centres = _centres(4, 2.0).float()
    verify = unchanged_inputs(z, centres)
    expected = (
        torch.bincount(
            torch.cdist(z.double(), centres.double()).argmin(1), minlength=4
        ).double()
        / 300
    )
    expect_close(
        expect_tensor(fn(z, centres), (4,)), expected, "the occupancy of random codes"
    )
    three_d = torch.randn(40, 3, generator=seeded(98))
    expected = (
        torch.bincount(
            torch.cdist(three_d, three_d[:5]).argmin(1), minlength=5
        ).double()
        / 40
    )
    expect_close(
        expect_tensor(fn(three_d, three_d[:5]), (5,)),
        expected,
        "the occupancy of 3-D codes",
    )
    verify()


def _l6_mmd_random(fn: Fn) -> None:
    x, y = (
        torch.randn(15, 4, generator=seeded(99)),
        torch.randn(11, 4, generator=seeded(100)) * 1.5,
    )
    value = expect_scalar(fn(x, y, [0.3, 1.0, 3.0]))
    expect_true(
        abs(value - _mmd_oracle(x, y, [0.3, 1.0, 3.0])) < 1e-4,
        "the MMD^2 with three bandwidths in 4-D",
    )
    expect_true(
        abs(expect_scalar(fn(y, x, [0.3, 1.0, 3.0])) - value) < 1e-6,
        "the MMD^2 should be symmetric",
    )


def _l7_interp_slerp(fn: Fn) -> None:
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    out = expect_tensor(fn(z0, z1, torch.linspace(0, 1, 5), "slerp"), (5, 2))
    angles = torch.linspace(0, math.pi / 2, 5)
    expect_close(
        out,
        torch.stack([angles.cos(), angles.sin()], 1),
        "slerp between orthogonal unit vectors (points "
        "should stay on the circle at evenly spaced angles)",
        atol=1e-5,
    )
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = expect_tensor(fn(z0, z1, [0.0, 0.5, 1.0], "slerp"), (3, 2))[1]
    expect_close(
        mid,
        (z0 + z1) * math.sin(math.pi / 4) / math.sin(math.pi / 2),
        "slerp between vectors of different lengths (slerp does not normalise them)",
        atol=1e-5,
    )


def _l7_interp_parallel(fn: Fn) -> None:
    z = torch.tensor([1.0, 2.0, 3.0])
    out = expect_tensor(fn(z, 2 * z, torch.linspace(0, 1, 4), "slerp"), (4, 3))
    expect_close(
        out,
        torch.linspace(1, 2, 4)[:, None] * z,
        "slerp between parallel vectors (the linear path)",
        atol=1e-4,
    )


def _l7_interp_shape(fn: Fn) -> None:
    z0, z1 = (
        torch.randn(4, 1, 1, generator=seeded(109)),
        torch.randn(4, 1, 1, generator=seeded(110)),
    )
    out = expect_tensor(fn(z0, z1, [0.0, 0.5, 1.0], "linear"), (3, 4, 1, 1))
    expect_close(
        out[1], (z0 + z1) / 2, "the midpoint of two codes of shape (4, 1, 1)", atol=1e-5
    )


def _l7_interp_unknown(fn: Fn) -> None:
    expect_close(
        expect_tensor(
            fn(torch.ones(2), torch.full((2,), 3.0), [0.5], "linear"), (1, 2)
        ),
        torch.full((1, 2), 2.0),
        "the midpoint of a linear path",
    )
    try:
        fn(torch.ones(2), torch.ones(2), [0.0, 1.0], "cubic")
    except ValueError:
        return
    raise CaseFailed(
        "an unknown mode should raise ValueError (with a message naming the known "
        "modes)"
    )


def _l7_sharp_random(fn: Fn) -> None:
    x = torch.rand(3, 3, 9, 11, generator=seeded(103))
    verify = unchanged_inputs(x)
    expect_close(
        expect_tensor(fn(x), (3,)),
        _sharpness_oracle(x),
        "the sharpness of 3-channel images",
        atol=1e-5,
    )
    verify()


def _l7_blur_random(fn: Fn) -> None:
    plausible = torch.rand(6, 1, 7, 7, generator=seeded(111))
    weights = torch.rand(6, generator=seeded(112))
    weights = weights / weights.sum()
    verify = unchanged_inputs(plausible, weights)
    expected = (weights.double().view(6, 1, 1, 1) * plausible.double()).sum(0)
    expect_close(
        expect_tensor(fn(plausible, weights), (1, 7, 7)),
        expected,
        "the optimum of six candidates",
    )
    verify()


# ------------------------------------------------------------------------------ the
# registry
INSTRUCTOR: dict[str, tuple[Case, ...]] = {
    "pixel_loglik": (
        Case(
            "random images and probabilities",
            _l0_loglik_random,
            "every pixel's term, summed over the image",
        ),
    ),
    "pixel_fit": (
        Case(
            "random data, alpha 0 and 2",
            _l0_fit_random,
            "one class at a time; alpha = 0 is plain counting",
        ),
    ),
    "pixel_kl": (
        Case(
            "random distributions, both orders",
            _l0_kl_random,
            "p log p - p log q, summed",
        ),
    ),
    "bayes_classifier": (
        Case(
            "random images",
            _l0_posterior_random,
            "the joint log p(x|y) + log p(y), normalised over y in log space",
        ),
    ),
    "sample_class": (
        Case(
            "sample statistics", _l0_sample_statistics, "one coin per pixel per image"
        ),
        Case(
            "reproducible with a generator",
            _l0_sample_generator,
            "pass the generator on to the random draw",
        ),
    ),
    "ae_loss": (
        Case("random images", _l1_loss_random, "keep it a tensor"),
        Case("batch repeated", _l1_loss_batch, "average over the batch"),
    ),
    "ae_model": (
        Case(
            "forward = decoder(encoder(x))",
            _l1_model_composition,
            "store encoder and decoder as attributes",
        ),
        Case("size and gradients", _l1_model_gradients, "keep the layers small"),
    ),
    "ae_code_gap": (
        Case(
            "random codes",
            _l1_gap_random,
            "one distance per query, the smallest over the codes",
        ),
    ),
    "ae_pca": (
        Case(
            "optimal error",
            _l1_pca_optimal,
            "centre, take the top-k right singular vectors, project, add the mean back",
        ),
        Case("rank and mean", _l1_pca_rank, "project onto k directions"),
    ),
    "dae_gaussian": (
        Case(
            "noise statistics",
            _l2_gauss_statistics,
            "standard normal noise times sigma",
        ),
        Case("reproducible", _l2_gauss_generator, "pass the generator"),
    ),
    "dae_mask": (
        Case(
            "dropped fraction",
            _l2_mask_fraction,
            "each pixel kept exactly or set to -1",
        ),
        Case(
            "reproducible",
            _l2_mask_generator,
            "pass the generator on to the random draw",
        ),
    ),
    "dae_psnr": (
        Case("six images", _l2_psnr_random, "per image, symmetric in its arguments"),
    ),
    "dae_paste": (
        Case(
            "random masks",
            _l2_paste_random,
            "kept from the input, dropped from the output",
        ),
    ),
    "dae_auroc": (
        Case(
            "random scores, both roles", _l2_auroc_random, "every pair, ties one half"
        ),
    ),
    "dae_kernel_smoothness": (
        Case(
            "ragged live pixels, float64",
            _l2_smooth_random,
            "pairs of live pixels only, one correlation per kernel",
        ),
    ),
    "dae_objective": (
        Case("calls", _l2_loss_calls, "corrupt once, then the model once"),
    ),
    "vae_kl_pair": (
        Case(
            "random and extreme Gaussians",
            _l3_pair_random,
            "logvar is the log of the variance",
        ),
    ),
    "vae_kl": (
        Case(
            "random inputs",
            _l3_kl_random,
            "one value per example, summed over the latent dimensions",
        ),
        Case(
            "extreme log-variances",
            _l3_kl_extreme,
            "work with the log-variance directly",
        ),
    ),
    "vae_reparam": (
        Case(
            "gradients", _l3_rep_gradient, "the noise must not depend on mu and logvar"
        ),
        Case(
            "scale",
            _l3_rep_scale,
            "the standard deviation is the square root of the variance",
        ),
        Case(
            "reproducible",
            _l3_rep_generator,
            "pass the generator on to the random draw",
        ),
    ),
    "vae_loglik": (
        Case(
            "random and grey targets", _l3_loglik_random, "per image, from the logits"
        ),
    ),
    "vae_loss": (
        Case(
            "random inputs, beta 1 and 4",
            _l3_loss_random,
            "reconstruction plus beta times KL, per image, then mean",
        ),
        Case("batch repeated", _l3_loss_batch, "mean over the batch"),
        Case(
            "large logits",
            _l3_loss_stable,
            "compute the reconstruction term from the logits",
        ),
    ),
    "vae_elbo": (Case("random inputs", _l3_elbo_random, "per image, shape (N,)"),),
    "vae_grey": (Case("random images", _l3_grey_random, "0 log 0 counts as 0"),),
    "vae_iwae": (Case("random log-weights", _l3_iwae_random, "stay in log space"),),
    "gan_d_loss": (
        Case("random logits", _l4_d_random, "mean over each batch, then add"),
    ),
    "gan_affine_push": (
        Case("40 random fakes", _l4_push_random, "one gradient per fake"),
    ),
    "gan_hinge": (
        Case(
            "random logits, gradients",
            _l4_hinge_random,
            "zero gradient past the margin, 1/M before it",
        ),
    ),
    "gan_optimal_d": (
        Case(
            "random densities",
            _l4_dstar_random,
            "the data's share of the total density",
        ),
    ),
    "gan_jsd": (
        Case(
            "random distributions, both orders",
            _l4_jsd_random,
            "symmetric, through the mixture",
        ),
    ),
    "gan_g_grad": (
        Case(
            "random logits", _l4_grad_random, "both derivatives in terms of sigmoid(l)"
        ),
    ),
    "gan_mbd": (
        Case(
            "values and gradient",
            _l4_mbd_values,
            "an L1 distance over the kernel dimension, j != i",
        ),
    ),
    "dcgan_shape": (
        Case(
            "many settings",
            _size_case(_SIZE_GRID, "grid"),
            "compare with a real layer on a zero tensor",
        ),
    ),
    "dcgan_init": (
        Case(
            "other modules untouched",
            _l5_init_others,
            "change only the layer types the rules name",
        ),
    ),
    "dcgan_block": (
        Case(
            "structure",
            _l5_block_structure,
            "a transposed convolution without bias, BatchNorm, ReLU",
        ),
    ),
    "dcgan_rules": (
        Case(
            "several broken rules",
            _l5_rules_several,
            "every rule once; the role decides the exceptions",
        ),
    ),
    "dcgan_is": (
        Case("uneven splits", _l5_is_splits, "consecutive chunks of almost equal size"),
    ),
    "dcgan_overlap": (
        Case("many settings", _l5_overlap_random, "count per output pixel"),
    ),
    "aae_swiss": (
        Case(
            "uniform along the spiral",
            _l6_swiss_uniform,
            "a uniform position, then its square root",
        ),
        Case("reproducible", _l6_swiss_generator, "pass the generator on"),
    ),
    "aae_mixture": (
        Case(
            "statistics",
            _l6_mix_statistics,
            "components equally likely, noise with std",
        ),
        Case("4 components", _l6_mix_other, "use the arguments, not constants"),
    ),
    "aae_occupancy": (
        Case("random codes", _l6_occ_random, "shares per component, any dimension"),
    ),
    "aae_mmd": (
        Case("random samples", _l6_mmd_random, "one kernel per bandwidth, summed"),
    ),
    "cmp_interp": (
        Case(
            "slerp",
            _l7_interp_slerp,
            "sines of (1 - t) omega and t omega over sin omega",
        ),
        Case(
            "parallel vectors",
            _l7_interp_parallel,
            "when sin(omega) is tiny, the linear path",
        ),
        Case(
            "codes of any shape",
            _l7_interp_shape,
            "flatten, interpolate, restore the shape",
        ),
        Case("unknown mode", _l7_interp_unknown, "raise ValueError"),
    ),
    "cmp_sharpness": (
        Case("3-channel images", _l7_sharp_random, "average over the channels too"),
    ),
    "cmp_blur": (Case("six candidates", _l7_blur_random, "a weighted combination"),),
}


EXERCISES: tuple[Exercise, ...] = tuple(
    dataclasses.replace(exercise, instructor=INSTRUCTOR.get(exercise.name, ()))
    for exercise in public_cases.EXERCISES
)

BY_NAME: dict[str, Exercise] = {exercise.name: exercise for exercise in EXERCISES}
