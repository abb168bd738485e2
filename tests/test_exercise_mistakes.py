"""The self-checks catch the classic mistakes, say why, and never reveal an answer.

Each mistake of :data:`MISTAKES` is the reference solution with one classic error
planted in it (``std = exp(logvar)``, ``log(sigmoid(x))``, ``log`` where ``xlogy`` is
needed, ...): the public ``check`` must fail it with a message that names the problem.
The reference solutions pass every case, public and instructor; trivial answers (zeros
of the right shape) pass none; and no stub of a generated exercise shows a line of its
solution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from exercise_support import ROOT, outcomes, solution, solution_functions

from course_grader import markers
from course_grader.cases import EXERCISES
from course_lib.grading import check

NAMES = [exercise.name for exercise in EXERCISES]
LESSONS = sorted({exercise.lesson for exercise in EXERCISES})


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------ the
# mistakes
def _log_pixel_log_likelihood(x: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    return (x * probs.log() + (1 - x) * (1 - probs).log()).flatten(1).sum(dim=1)


def _clamped_pixel_log_likelihood(x: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    p = probs.clamp(1e-6, 1 - 1e-6)
    return (x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(dim=1)


def _exp_sum_posterior(
    x: torch.Tensor, probs: torch.Tensor, log_prior: torch.Tensor
) -> torch.Tensor:
    flat_x, flat_p = x.flatten(1), probs.flatten(1)
    joint = (
        flat_x @ flat_p.log().T + (1 - flat_x) @ (1 - flat_p).log().T + log_prior
    ).exp()
    return (joint / joint.sum(dim=1, keepdim=True)).log()


def _one_draw_sampler(
    probs: torch.Tensor, y: int, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    one = torch.bernoulli(probs[y], generator=generator)
    return one.expand(n, *one.shape)


def _threshold_sampler(
    probs: torch.Tensor, y: int, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    return (probs[y] > 0.5).float().expand(n, *probs.shape[1:])


def _log_discrete_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (p * (p.log() - q.log())).sum(dim=1)


def _clamped_discrete_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (torch.xlogy(p, p) - torch.xlogy(p, q.clamp_min(1e-12))).sum(dim=1)


def _mse_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x_hat, x)


def _batch_sum_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (x_hat - x).pow(2).sum()


def _sigmoid_autoencoder(latent_dim: int) -> torch.nn.Module:
    model = solution("ae_model")(latent_dim)
    model.decoder[3] = torch.nn.Sigmoid()  # the buggy notebook's last activation
    return model


def _uncentred_pca(x: torch.Tensor, k: int) -> torch.Tensor:
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    return x @ vh[:k].T @ vh[:k]


def _squared_code_distance(queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    return torch.cdist(queries, codes).pow(2).min(dim=1).values


def _uniform_noise(
    x: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    return (x + sigma * torch.rand(x.shape, generator=generator)).clamp(-1, 1)


def _centred_uniform_noise(
    x: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    return (
        x + sigma * 3**0.5 * (2 * torch.rand(x.shape, generator=generator) - 1)
    ).clamp(-1, 1)


def _dropout_mask(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    return F.dropout(x, p)


def _zero_fill_mask(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    return torch.where(
        torch.rand(x.shape, generator=generator) >= p, x, torch.zeros_like(x)
    )


def _noisy_target_loss(
    model: Any, x: torch.Tensor, corrupt: Callable[..., Any]
) -> torch.Tensor:
    noisy = corrupt(x)
    return (model(noisy) - noisy).pow(2).flatten(1).sum(1).mean()


def _batch_psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(1 / F.mse_loss(a, b))


def _inverted_paste(
    output: torch.Tensor, corrupted: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    return mask * output + (1 - mask) * corrupted


def _reversed_auroc(inlier: torch.Tensor, outlier: torch.Tensor) -> float:
    return 1.0 - solution("dae_auroc")(inlier, outlier)


def _tie_blind_auroc(inlier: torch.Tensor, outlier: torch.Tensor) -> float:
    return float((outlier.view(-1, 1) > inlier.view(1, -1)).double().mean())


def _pairs(weights: torch.Tensor, live: torch.Tensor) -> tuple[torch.Tensor, ...]:
    kernels, both = weights.reshape(-1, 28, 28), live[:, :-1] & live[:, 1:]
    return kernels[:, :, :-1][:, both], kernels[:, :, 1:][:, both]


def _cosine_smoothness(weights: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(*_pairs(weights, live), dim=1)


def _vertical_smoothness(weights: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    transposed = weights.reshape(-1, 28, 28).transpose(1, 2).reshape(-1, 784)
    return solution("dae_kernel_smoothness")(transposed, live.T)


def _all_pixels_smoothness(weights: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    return solution("dae_kernel_smoothness")(weights, torch.ones_like(live))


def _pooled_smoothness(weights: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    left, right = (side.reshape(1, -1) for side in _pairs(weights, live))
    pooled = torch.corrcoef(torch.cat([left, right]))[0, 1]
    return pooled.expand(len(weights)).clone()


def _log_inception_score(probs: torch.Tensor, splits: int = 1) -> float:
    marginal = probs.mean(0, keepdim=True)
    return float(torch.exp((probs * (probs.log() - marginal.log())).sum(1).mean()))


def _mean_of_exp_score(probs: torch.Tensor, splits: int = 1) -> float:
    marginal = probs.mean(0, keepdim=True)
    return float(
        torch.exp(
            (torch.xlogy(probs, probs) - torch.xlogy(probs, marginal)).sum(1)
        ).mean()
    )


def _no_split_score(probs: torch.Tensor, splits: int = 1) -> float:
    return solution("dcgan_is")(probs, 1)


def _swapped_pair_kl(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor,
    logvar_p: torch.Tensor,
) -> torch.Tensor:
    return solution("vae_kl_pair")(mu_p, logvar_p, mu_q, logvar_q)


def _std_pair_kl(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor,
    # exp(logvar) taken as the standard deviation
    logvar_p: torch.Tensor,
) -> torch.Tensor:
    return solution("vae_kl_pair")(mu_q, 2 * logvar_q, mu_p, 2 * logvar_p)


def _std_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return solution("vae_kl")(mu, 2 * logvar)


def _exp_logvar_std(
    mu: torch.Tensor, logvar: torch.Tensor, generator: Any = None
) -> torch.Tensor:
    return mu + torch.exp(logvar) * torch.randn(mu.shape, generator=generator)


def _normal_sampler(
    mu: torch.Tensor, logvar: torch.Tensor, generator: Any = None
) -> torch.Tensor:
    return torch.normal(
        mu.detach(), torch.exp(0.5 * logvar).detach(), generator=generator
    )


def _uniform_reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: Any = None
) -> torch.Tensor:
    return mu + torch.exp(0.5 * logvar) * torch.rand(mu.shape, generator=generator)


def _log_sigmoid_loglik(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)


def _pixel_mean_vae_loss(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
) -> torch.Tensor:
    recon = F.binary_cross_entropy_with_logits(logits, x)
    return recon + beta * solution("vae_kl")(mu, logvar).mean()


def _plus_kl_elbo(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    log_px = (
        -F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        .flatten(1)
        .sum(1)
    )
    return log_px + solution("vae_kl")(mu, logvar)


def _log_entropy_excess(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    entropy = -(x * x.log() + (1 - x) * (1 - x).log())
    return (bce - entropy).flatten(1).sum(1)


def _mean_log_weights(log_weights: torch.Tensor) -> torch.Tensor:
    return log_weights.mean(dim=1)


def _exp_mean_log(log_weights: torch.Tensor) -> torch.Tensor:
    return log_weights.exp().mean(dim=1).log()


def _fake_probability(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    return p_model / (p_data + p_model)


def _unguarded_dstar(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    return p_data / (p_data + p_model)


def _log_jensen_shannon(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = 0.5 * (p + q)
    return 0.5 * ((p * (p / m).log()).sum(1) + (q * (q / m).log()).sum(1))


def _log_sigmoid_d_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    return (
        -torch.log(torch.sigmoid(real_logits)).mean()
        - torch.log(1 - torch.sigmoid(fake_logits)).mean()
    )


def _pooled_d_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    logits = torch.cat([real_logits, fake_logits])
    labels = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])
    return F.binary_cross_entropy_with_logits(logits, labels)


def _swapped_gradients(fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    d = torch.sigmoid(fake_logits)
    return d - 1, -d


def _sign_gradients(fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    d = torch.sigmoid(fake_logits)
    return d, d - 1


def _true_division_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    transposed: bool = False,
    output_padding: int = 0,
) -> int:
    if transposed:
        return (size - 1) * stride - 2 * padding + kernel + output_padding
    return round((size + 2 * padding - kernel) / stride + 1)


def _conv_formula_everywhere(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    transposed: bool = False,
    output_padding: int = 0,
) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _stride_one_overlap(n_in: int, kernel: int, stride: int) -> torch.Tensor:
    counts = torch.zeros((n_in - 1) * stride + kernel, dtype=torch.int64)
    for i in range(n_in):
        counts[i : i + kernel] += 1
    return counts


def _no_root_swiss_roll(
    n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    u = torch.rand(n, generator=generator)
    radius, angle = 3.0 * u, 4 * math.pi * u
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


def _uniform_mixture(
    n: int,
    n_components: int = 10,
    radius: float = 1.4,
    std: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    points, k = solution("aae_mixture")(n, n_components, radius, 0.0, generator)
    return points + std * torch.rand((n, 2), generator=generator), k


def _count_occupancy(codes: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    return torch.bincount(
        torch.cdist(codes, centres).argmin(1), minlength=len(centres)
    ).double()


def _biased_mmd(x: torch.Tensor, y: torch.Tensor, bandwidths: Any) -> float:
    def mean_kernel(a: torch.Tensor, b: torch.Tensor) -> float:
        squared = torch.cdist(a.double(), b.double()).pow(2)
        return float(sum(torch.exp(-squared / (2 * h * h)).mean() for h in bandwidths))

    return mean_kernel(x, x) + mean_kernel(y, y) - 2 * mean_kernel(x, y)


def _plus_cross_mmd(x: torch.Tensor, y: torch.Tensor, bandwidths: Any) -> float:
    unbiased = solution("aae_mmd")(x, y, bandwidths)
    cross = float(
        sum(
            torch.exp(-torch.cdist(x.double(), y.double()).pow(2) / (2 * h * h)).mean()
            for h in bandwidths
        )
    )
    return unbiased + 4 * cross


def _laplacian_variance(images: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(
        1, 1, 3, 3
    )
    return F.conv2d(images[:, :1], kernel).flatten(1).var(dim=1, unbiased=False)


def _most_probable(plausible: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return plausible[weights.argmax()]


def _linear_only(
    z_a: torch.Tensor, z_b: torch.Tensor, ts: Any, mode: str = "linear"
) -> torch.Tensor:
    t = torch.as_tensor(ts, dtype=z_a.dtype).view(-1, 1)
    return (1 - t) * z_a.flatten() + t * z_b.flatten()


def _audit(layers: list[str], role: str) -> set[int]:
    return set(solution("dcgan_rules")(layers, role))


def _batchnorm_everywhere(layers: list[str], role: str) -> tuple[int, ...]:
    """Rule 2 without its exceptions: every weighted layer needs a BatchNorm."""
    broken = _audit(layers, role)
    weighted = [i for i, n in enumerate(layers) if n in ("Conv2d", "ConvTranspose2d")]
    if any(i + 1 == len(layers) or "BatchNorm" not in layers[i + 1] for i in weighted):
        broken.add(2)
    return tuple(sorted(broken))


def _logit_as_hidden(layers: list[str], role: str) -> tuple[int, ...]:
    broken = _audit(layers, role)
    return tuple(sorted(broken | ({3} if "Linear" in layers[1:] else set())))


def _leaky_generator(layers: list[str], role: str) -> tuple[int, ...]:
    if role == "generator":
        swap = {"ReLU": "LeakyReLU", "LeakyReLU": "ReLU"}
        layers = [swap.get(name, name) for name in layers]
    return tuple(sorted(_audit(layers, role)))


def _max_pool_only(layers: list[str], role: str) -> tuple[int, ...]:
    return tuple(sorted(_audit([n for n in layers if n != "AvgPool2d"], role)))


def _output_unchecked(layers: list[str], role: str) -> tuple[int, ...]:
    if role == "generator" and layers[-1] in ("Sigmoid", "ReLU"):
        layers = layers[:-1] + ["Tanh"]
    return tuple(sorted(_audit(layers, role)))


def _linear_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return (1 - real).mean() + (1 + fake).mean()


def _swapped_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return solution("gan_hinge")(fake, real)


def _energy_on_logits(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return real.mean() + (1 - fake).clamp(min=0).mean()


def _cross_entropy_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _pooled_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    both = torch.cat([(1 - real).flatten(), (1 + fake).flatten()])
    return both.clamp(min=0).mean()


def _push(fake: torch.Tensor, a: float, b: float, factor: torch.Tensor) -> torch.Tensor:
    return -factor * a / len(fake)


def _minimax_push(fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return _push(fake, a, b, torch.sigmoid(a * fake + b))


def _no_chain_push(fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return solution("gan_affine_push")(fake, a, b) / a


def _sum_push(fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return solution("gan_affine_push")(fake, a, b) * len(fake)


def _ascent_push(fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return -solution("gan_affine_push")(fake, a, b)


def _unstable_push(fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    d = 1 / (1 + torch.exp(-(a * fake + b)))
    return -(torch.exp(-(a * fake + b)) * d) * a / len(fake)


# (exercise, the mistaken function, a phrase the failure message must contain)
MISTAKES: list[tuple[str, Callable[..., Any], str]] = [
    ("pixel_loglik", _log_pixel_log_likelihood, "0 * log 0 is NaN"),
    ("pixel_loglik", _clamped_pixel_log_likelihood, "-inf"),
    ("bayes_classifier", _exp_sum_posterior, "0 / 0 is NaN"),
    ("sample_class", _one_draw_sampler, "copies of one image"),
    ("sample_class", _threshold_sampler, "copies of one image"),
    ("pixel_kl", _log_discrete_kl, "0 * log 0 is NaN"),
    ("pixel_kl", _clamped_discrete_kl, "+inf"),
    ("ae_loss", _mse_loss, "784 times too small"),
    ("ae_loss", _batch_sum_loss, "sums over the images"),
    ("ae_model", _sigmoid_autoencoder, "background of the images is -1"),
    ("ae_pca", _uncentred_pca, "add the mean back"),
    ("ae_code_gap", _squared_code_distance, "squared distances"),
    ("dae_gaussian", _uniform_noise, "not centred"),
    ("dae_gaussian", _centred_uniform_noise, "tails do not look Gaussian"),
    ("dae_mask", _dropout_mask, "dropout rescales"),
    ("dae_mask", _zero_fill_mask, "mid-grey in images scaled to [-1, 1]"),
    ("dae_objective", _noisy_target_loss, "CLEAN images"),
    ("dae_psnr", _batch_psnr, "computed per image"),
    ("dae_paste", _inverted_paste, "must come from the corrupted input"),
    ("dae_auroc", _reversed_auroc, "direction is reversed"),
    ("dae_auroc", _tie_blind_auroc, "ties are ignored"),
    ("dae_kernel_smoothness", _cosine_smoothness, "a cosine similarity does not"),
    ("dae_kernel_smoothness", _vertical_smoothness, "right-hand neighbour"),
    ("dae_kernel_smoothness", _all_pixels_smoothness, "both live"),
    ("dae_kernel_smoothness", _pooled_smoothness, "one correlation per kernel"),
    ("vae_kl_pair", _swapped_pair_kl, "not symmetric"),
    ("vae_kl_pair", _std_pair_kl, "log of the VARIANCE"),
    ("vae_kl", _std_kl, "log of the VARIANCE"),
    ("vae_reparam", _exp_logvar_std, "standard deviation is its square root"),
    ("vae_reparam", _normal_sampler, "torch.normal(mu, std) is not differentiable"),
    ("vae_reparam", _uniform_reparameterize, "not uniform"),
    ("vae_loglik", _log_sigmoid_loglik, "sigmoid(l) rounds to exactly 0 or 1"),
    ("vae_loss", _pixel_mean_vae_loss, "784 times too small"),
    ("vae_elbo", _plus_kl_elbo, "check the sign of the KL"),
    ("vae_grey", _log_entropy_excess, "0 * log 0 is NaN"),
    ("vae_iwae", _mean_log_weights, "Jensen's inequality"),
    ("vae_iwae", _exp_mean_log, "without leaving log space"),
    ("gan_optimal_d", _fake_probability, "FAKE"),
    ("gan_optimal_d", _unguarded_dstar, "0 / 0 must be handled"),
    ("gan_jsd", _log_jensen_shannon, "0 * log 0 is NaN"),
    ("gan_d_loss", _log_sigmoid_d_loss, "sigmoid(l) rounds to exactly 0 or 1"),
    ("gan_d_loss", _pooled_d_loss, "sum of the two mean binary cross-entropies"),
    ("gan_g_grad", _swapped_gradients, "swapped"),
    ("gan_affine_push", _minimax_push, "belongs to the minimax loss"),
    ("gan_affine_push", _no_chain_push, "dl/dx = a"),
    ("gan_affine_push", _sum_push, "carries 1/M"),
    ("gan_affine_push", _ascent_push, "wrong sign"),
    ("gan_affine_push", _unstable_push, "stably"),
    ("gan_hinge", _linear_hinge, "max(0, .) of the hinge is missing"),
    ("gan_hinge", _swapped_hinge, "must be exactly 0"),
    ("gan_hinge", _energy_on_logits, "must be exactly 0"),
    ("gan_hinge", _cross_entropy_hinge, "must be exactly 0"),
    ("gan_hinge", _pooled_hinge, "not one mean over both batches"),
    ("gan_g_grad", _sign_gradients, "wrong sign"),
    ("dcgan_shape", _true_division_size, "(rounding)"),
    ("dcgan_shape", _conv_formula_everywhere, "transposed convolution"),
    ("dcgan_overlap", _stride_one_overlap, "not correct"),
    ("dcgan_rules", _batchnorm_everywhere, "no BatchNorm by design"),
    ("dcgan_rules", _logit_as_hidden, "not a hidden one"),
    ("dcgan_rules", _leaky_generator, "ReLU is the generator's hidden activation"),
    ("dcgan_rules", _max_pool_only, "average pooling is pooling too"),
    ("dcgan_rules", _output_unchecked, "Sigmoid output breaks rule 4"),
    ("dcgan_is", _log_inception_score, "0 * log 0 is NaN"),
    ("dcgan_is", _mean_of_exp_score, "average the KL divergences first"),
    ("dcgan_is", _no_split_score, "splits is ignored"),
    ("aae_swiss", _no_root_swiss_roll, "square root"),
    ("aae_mixture", _uniform_mixture, "uniform noise"),
    ("aae_occupancy", _count_occupancy, "shares"),
    ("aae_mmd", _biased_mmd, "i = j terms are included"),
    ("aae_mmd", _plus_cross_mmd, "not correct"),
    ("cmp_sharpness", _laplacian_variance, "one-pixel vertical stripes"),
    ("cmp_blur", _most_probable, "0-1 loss"),
    ("cmp_interp", _linear_only, "should all have norm 3"),
]


@pytest.mark.parametrize(
    ("name", "mistake", "phrase"),
    MISTAKES,
    ids=[f"{n}-{m.__name__.strip('_')}" for n, m, _ in MISTAKES],
)
def test_the_public_check_catches_each_classic_mistake_and_says_why(
    name: str, mistake: Callable[..., Any], phrase: str, capsys: pytest.CaptureFixture
) -> None:
    assert check(name, mistake, verbose=False) is False
    check(name, mistake)
    report = capsys.readouterr().out
    assert all(len(line) <= 88 for line in report.splitlines())
    out = " ".join(report.split())  # the report wraps long lines
    assert "FAIL" in out and phrase in out, out


def test_every_lesson_has_a_planted_mistake() -> None:
    covered = {
        next(e.lesson for e in EXERCISES if e.name == name) for name, _, _ in MISTAKES
    }
    assert covered == set(LESSONS)


# ------------------------------------------------------------------------------ right
# and trivial answers
@pytest.mark.parametrize("name", NAMES)
def test_the_reference_solution_passes_every_case(name: str) -> None:
    failed = [
        (r.description, r.message)
        for r in outcomes(name, solution(name))
        if not r.passed
    ]
    assert failed == []


def _trivial(reference: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """A function returning zeros (or ones) shaped like the reference's answer: right
    shape, no work."""

    def fill(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return (
                torch.zeros_like(value) if kind == "zeros" else torch.ones_like(value)
            )
        if isinstance(value, tuple):
            return tuple(fill(v) for v in value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return type(value)(0 if kind == "zeros" else 1)
        return value

    def trivial(*args: Any, **kwargs: Any) -> Any:
        return fill(reference(*args, **kwargs))

    return trivial


# they build or change modules
MODULE_EXERCISES = ("ae_model", "gan_mbd", "dcgan_init", "dcgan_block")
TENSOR_EXERCISES = [e.name for e in EXERCISES if e.name not in MODULE_EXERCISES]


@pytest.mark.parametrize("kind", ["zeros", "ones"])
@pytest.mark.parametrize("name", TENSOR_EXERCISES)
def test_trivial_answers_of_the_right_shape_earn_nothing(name: str, kind: str) -> None:
    passed = [
        r.description
        for r in outcomes(name, _trivial(solution(name), kind))
        if r.passed
    ]
    assert passed == []


# ------------------------------------------------------------------------------ hints
# never give the answer
def _stub_comments(text: str) -> list[str]:
    """The ``# Hint:`` comment lines (and their continuations) of every stub of a
    generated notebook."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.strip().startswith("raise NotImplementedError("):
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("#"):
                out.append(lines[j].strip().lstrip("#").strip())
                j -= 1
    return out


def _code_lines(lesson: int) -> set[str]:
    """Every line of code inside the solution regions of a lesson (stripped, comments
    excluded)."""
    text = (ROOT / "solutions" / f"lesson{lesson}_exercises.md").read_text(
        encoding="utf-8"
    )
    regions = re.findall(rf"{markers.BEGIN}\n(.*?){markers.END}", text, re.S)
    return {
        line.strip()
        for region in regions
        for line in region.split("\n")
        if line.strip() and not line.strip().startswith("#")
    }


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_stub_hint_or_check_message_contains_a_line_of_the_solution(
    lesson: int,
) -> None:
    generated = markers.generate(
        (ROOT / "solutions" / f"lesson{lesson}_exercises.md").read_text(
            encoding="utf-8"
        )
    )
    hints = _stub_comments(generated)
    assert hints, "every lesson's stubs carry hints"
    messages = hints + [
        case.hint for e in EXERCISES if e.lesson == lesson for case in e.all_cases()
    ]
    for line in _code_lines(lesson):
        if len(_normal(line)) < 12 or line.startswith(
            ("return torch.stack", "probs = []")
        ):
            continue  # too short to be an answer ("return x", "probs = []")
        for message in messages:
            assert _normal(line) not in _normal(message), (line, message)


def test_a_failure_message_never_prints_the_expected_numbers(
    capsys: pytest.CaptureFixture,
) -> None:
    wrong = lambda x, probs: _log_pixel_log_likelihood(x, probs) * 1.01  # noqa: E731
    check("pixel_loglik", wrong)
    out = capsys.readouterr().out
    for value in (-784 * math.log(2), 784 * math.log(0.9), -14 * 28 * math.log(2)):
        for text in (f"{value:.1f}", f"{value:.2f}", f"{value:g}"):
            assert text not in out


def test_an_unattempted_stub_reads_as_not_attempted_yet_and_shows_no_raw_false(
    capsys: pytest.CaptureFixture,
) -> None:
    namespace: dict[str, Any] = {}
    stub = markers.generate(
        (ROOT / "solutions" / "lesson0_exercises.md").read_text(encoding="utf-8")
    )
    source = re.search(
        r"(def pixel_log_likelihood.*?raise NotImplementedError\('not attempted "
        r"yet'\))",
        stub,
        re.S,
    )
    assert source is not None
    exec("import torch\n" + source.group(1), namespace)
    # a notebook shows nothing after it
    assert check("pixel_loglik", namespace["pixel_log_likelihood"]) is None
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Traceback" not in out and "FAIL" not in out
    # no horizontal scroll bar on the page
    assert all(len(line) <= 88 for line in out.splitlines())
    assert (
        check("pixel_loglik", namespace["pixel_log_likelihood"], verbose=False) is False
    )


def test_solution_functions_are_found_for_every_exercise() -> None:
    for exercise in EXERCISES:
        assert exercise.function in solution_functions(exercise.lesson), exercise.name


# ------------------------------------------------------------------------------ what a
# student's page holds
@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_mixes_kinds_and_ends_with_one_open_experiment_with_a_rubric(
    lesson: int,
) -> None:
    text = (ROOT / "solutions" / f"lesson{lesson}_exercises.md").read_text(
        encoding="utf-8"
    )
    kinds = re.findall(r"^## Exercise \d+\.\d+ \(([^)]*)\)", text, re.M)
    assert len(kinds) >= 4 and len({kind.split(",")[0] for kind in kinds}) >= 3, kinds
    assert sum(kind == "open experiment" for kind in kinds) == 1
    open_part = text[text.index("(open experiment)") :]
    assert markers.RUBRIC_BEGIN in open_part and "Rubric (instructor only)" in open_part
    # graded exercises with self-checks
    assert len([e for e in EXERCISES if e.lesson == lesson]) >= 3


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_student_page_has_no_rubric_and_no_cell_expected_to_raise(
    lesson: int,
) -> None:
    student = (ROOT / "exercises" / f"lesson{lesson}_exercises.md").read_text(
        encoding="utf-8"
    )
    assert "Rubric" not in student and "RUBRIC" not in student
    assert markers.RAISES_TAG not in student  # no traceback on the published page
    assert student.count("raise NotImplementedError('not attempted yet')") == len(
        [e for e in EXERCISES if e.lesson == lesson]
    )
    # after the Colab set-up cell
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", student, re.S)[1:]
    assert (
        len(cells) > 5
        and [line for cell in cells for line in cell.split("\n") if len(line) > 88]
        == []
    )


def test_an_unmodified_student_notebook_shows_no_error_no_raw_value_and_no_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lesson 3's student notebook, run as a reader runs it: every check reads 'not
    attempted yet'."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = jupytext.read(ROOT / "exercises" / "lesson3_exercises.md")
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", allow_errors=True
    ).execute()
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    shown = [
        (out.output_type, getattr(out, "name", ""))
        for out in outputs
        if out.output_type != "stream" or out.name == "stderr"
    ]
    assert shown == []  # no traceback, no raw True/False, nothing on stderr
    reports = sum("not attempted yet" in out.get("text", "") for out in outputs)
    assert reports == len([e for e in EXERCISES if e.lesson == 3])


def test_the_rule_audit_cases_hold_the_library_networks_layers() -> None:
    """Exercise 5.8's 'networks that follow the rules' are course_lib.gan's, layer by
    layer."""
    from course_lib import gan
    from course_lib.grading.public_cases import DC_DISCRIMINATOR, DC_GENERATOR

    discriminator = gan.DCDiscriminator()
    assert [type(m).__name__ for m in gan.DCGenerator().net] == DC_GENERATOR
    assert [
        type(m).__name__ for m in (*discriminator.body, discriminator.out)
    ] == DC_DISCRIMINATOR
