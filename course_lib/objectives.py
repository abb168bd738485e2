"""Likelihood objectives shared by the VAE family: reconstruction log-likelihoods, KL
terms, ELBO, IWAE.

Sign conventions (the most common source of "is this loss right?"):

* every function returns **one value per example**, summed over pixels (or latent
  dimensions), never averaged over them: the numbers are in **nats per image**;
* ``*_log_likelihood`` functions return ``log p(x | z)`` (a log density, usually
  negative);
* ``kl_*`` functions return ``KL(q(z|x) || p(z)) >= 0``;
* :func:`elbo` returns ``log p(x|z) - beta * KL``; the training loss is ``-elbo.mean()``
  and the figure reported in papers (and by pytorch/examples) is the *negative* ELBO,
  about 100 nats on MNIST.

A VAE here is any module with ``encode(x) -> (mu, logvar)`` (each ``(N, D)``) and
``decode(z) -> logits`` (``(N, 1, 28, 28)``); see :mod:`course_lib.vae`.

The Bernoulli likelihood is used on the grey-level MNIST pixels in ``[0, 1]``, exactly
as in pytorch/examples and most papers' "continuous" MNIST numbers: ``BCE(x, p)`` is
then a cross-entropy, not a normalised log-density of grey levels, but it is the
standard objective and the numbers are comparable with those references.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple, Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.errors import CourseInputError, check_tensor

LIKELIHOODS = ("bernoulli", "gaussian", "laplace")
LOG_2PI = math.log(2.0 * math.pi)


class LatentVariableModel(Protocol):
    """What the objectives need from a VAE."""

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


def _check_pair(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Both tensors, same shape, at least one (batch) dimension."""
    check_tensor(a, name_a)
    check_tensor(b, name_b)
    if a.shape != b.shape:
        raise CourseInputError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )
    if a.dim() < 1:
        raise CourseInputError(
            f"{name_a} needs a batch dimension, got a scalar; use shape (N, ...)"
        )


def _per_example(values: torch.Tensor) -> torch.Tensor:
    """Sum everything but the first (batch) dimension: ``(N, ...) -> (N,)``."""
    return values.reshape(values.shape[0], -1).sum(dim=1)


def bernoulli_log_likelihood(
    logits: torch.Tensor, x: torch.Tensor, *, check: bool = True
) -> torch.Tensor:
    """``log p(x | z)`` of independent Bernoulli pixels, from decoder logits.

    Equals ``sum_i x_i log p_i + (1 - x_i) log(1 - p_i)`` with ``p = sigmoid(logits)``,
    computed as ``-binary_cross_entropy_with_logits(..., reduction="none")`` summed over
    pixels, which never takes the log of 0 (unlike ``BCE(sigmoid(logits), x)``).

    Args:
        logits: ``(N, ...)`` decoder outputs, any real values.
        x: ``(N, ...)`` targets in ``[0, 1]`` (same shape).
        check: validate the value range of ``x`` (one pass over it; recipes check the
            data once and pass ``False``).

    Returns:
        ``(N,)``: log-likelihood in nats per example (``<= 0``).
    """
    _check_pair(logits, x, "logits", "x")
    if check:
        check_tensor(x, "x", value_range=(0.0, 1.0))
    return -_per_example(
        F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    )


def gaussian_log_likelihood(
    mean: torch.Tensor, x: torch.Tensor, *, sigma: float = 0.1
) -> torch.Tensor:
    """``log N(x; mean, sigma^2 I)`` summed over pixels, with its constant.

    Per pixel: ``-(x - mean)^2 / (2 sigma^2) - log(sigma) - log(2 pi) / 2``. Up to the
    constant this is the squared error scaled by ``1 / (2 sigma^2)`` (``= 50`` for
    ``sigma = 0.1``): "L2 loss" is a Gaussian likelihood whose ``sigma`` sets the weight
    of reconstruction against the KL.

    Args:
        mean: ``(N, ...)`` predicted means (for a VAE: ``sigmoid(logits)``, in
            ``[0, 1]``).
        x: ``(N, ...)`` targets, same shape.
        sigma: the fixed standard deviation, ``> 0``.

    Returns:
        ``(N,)``: log-density in nats per example.
    """
    _check_pair(mean, x, "mean", "x")
    if not sigma > 0:
        raise CourseInputError(f"sigma must be positive, got {sigma}")
    per_pixel = -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma) - 0.5 * LOG_2PI
    return _per_example(per_pixel)


def laplace_log_likelihood(
    mean: torch.Tensor, x: torch.Tensor, *, scale: float = 0.1
) -> torch.Tensor:
    """``log Laplace(x; mean, scale)`` summed over pixels: the likelihood behind an L1
    loss.

    Per pixel: ``-|x - mean| / scale - log(2 scale)``.

    Args:
        mean: ``(N, ...)`` predicted locations (for a VAE: ``sigmoid(logits)``).
        x: ``(N, ...)`` targets, same shape.
        scale: the fixed scale ``b > 0`` (the standard deviation is ``sqrt(2) b``).

    Returns:
        ``(N,)``: log-density in nats per example.
    """
    _check_pair(mean, x, "mean", "x")
    if not scale > 0:
        raise CourseInputError(f"scale must be positive, got {scale}")
    return _per_example(-(x - mean).abs() / scale - math.log(2.0 * scale))


def reconstruction_log_likelihood(
    logits: torch.Tensor,
    x: torch.Tensor,
    likelihood: str = "bernoulli",
    *,
    sigma: float = 0.1,
    check: bool = True,
) -> torch.Tensor:
    """``log p(x | z)`` for a decoder that outputs logits, under the named likelihood.

    Args:
        logits: ``(N, 1, 28, 28)`` decoder output.
        x: ``(N, 1, 28, 28)`` images in ``[0, 1]``.
        likelihood: ``"bernoulli"`` (BCE with logits), ``"gaussian"`` (mean
            ``sigmoid(logits)``, standard deviation ``sigma``) or ``"laplace"``
            (location ``sigmoid(logits)``, scale ``sigma``).
        sigma: the fixed ``sigma`` / scale of the Gaussian and Laplace likelihoods.
        check: validate that ``x`` lies in ``[0, 1]``.

    Returns:
        ``(N,)`` log-likelihood in nats per image.
    """
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(logits, x, check=check)
    if check:
        check_tensor(x, "x", value_range=(0.0, 1.0))
    if likelihood == "gaussian":
        return gaussian_log_likelihood(torch.sigmoid(logits), x, sigma=sigma)
    if likelihood == "laplace":
        return laplace_log_likelihood(torch.sigmoid(logits), x, scale=sigma)
    raise CourseInputError(
        f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}"
    )


def _check_gaussian_parameters(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    _check_pair(mu, logvar, "mu", "logvar")
    if mu.dim() != 2:
        raise CourseInputError(
            f"mu and logvar must have shape (N, D), got {tuple(mu.shape)}"
        )


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form ``KL(N(mu, diag(exp(logvar))) || N(0, I))``, one value per example.

    ``KL = 1/2 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)`` (Kingma & Welling 2014,
    appendix B; pytorch/examples writes its negative,
    ``-0.5 * sum(1 + logvar - mu^2 - exp(logvar))``).

    Args:
        mu: ``(N, D)`` posterior means.
        logvar: ``(N, D)`` posterior log-variances (natural log of sigma^2).

    Returns:
        ``(N,)``: KL in nats, summed over the ``D`` latent dimensions (``>= 0``).
    """
    _check_gaussian_parameters(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def log_normal_diagonal(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """``log N(z; mu, diag(exp(logvar)))`` summed over the last dimension.

    Args:
        z: ``(..., D)`` points; ``mu`` and ``logvar`` broadcast against it.

    Returns:
        ``(...)``: log-densities in nats.
    """
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over the last dimension: ``(..., D) -> (...)``."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)


def sample_gaussian(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    n_samples: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Reparameterised samples ``z = mu + exp(logvar / 2) * eps`` with
    ``eps ~ N(0, I)``.

    Always samples (whatever the model's train/eval mode): this is what the objectives
    use, so a bound evaluated in eval mode is still a bound.

    Args:
        mu, logvar: ``(N, D)``.
        n_samples: ``None`` for one sample ``(N, D)``; ``k`` for ``(k, N, D)``.
        generator: optional generator for ``eps`` (its device may differ from ``mu``'s).

    Returns:
        ``(N, D)`` or ``(k, N, D)`` samples, differentiable with respect to ``mu`` and
        ``logvar``.
    """
    shape = mu.shape if n_samples is None else (n_samples, *mu.shape)
    device = generator.device if generator is not None else mu.device
    eps = torch.randn(shape, generator=generator, device=device, dtype=mu.dtype).to(
        mu.device
    )
    return mu + torch.exp(0.5 * logvar) * eps


def kl_monte_carlo(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte-Carlo estimate of ``KL(q || N(0, I))``: the mean of ``log q(z) - log p(z)``
    over samples.

    Unbiased, with a variance that shrinks like ``1 / n_samples``; it is what the ELBO
    uses when the KL has no closed form (other priors, flows).

    Args:
        mu, logvar: ``(N, D)``.
        n_samples: samples per example (``>= 1``).
        generator: optional generator for reproducible draws.

    Returns:
        ``(N,)`` estimates in nats (an individual estimate can be negative).
    """
    _check_gaussian_parameters(mu, logvar)
    if n_samples < 1:
        raise CourseInputError(f"n_samples must be at least 1, got {n_samples}")
    z = sample_gaussian(mu, logvar, n_samples=n_samples, generator=generator)
    return (log_normal_diagonal(z, mu, logvar) - log_standard_normal(z)).mean(dim=0)


class ElboTerms(NamedTuple):
    """The parts of the ELBO, each ``(N,)`` in nats per image.

    Attributes:
        elbo: ``log_likelihood - beta * kl`` (maximise it; the loss is
            ``-elbo.mean()``).
        log_likelihood: ``log p(x | z)`` at one sampled ``z`` per image (the negative
            reconstruction loss).
        kl: ``KL(q(z|x) || N(0, I))``, closed form or Monte Carlo.
    """

    elbo: torch.Tensor
    log_likelihood: torch.Tensor
    kl: torch.Tensor


def _check_images(x: torch.Tensor, check: bool) -> None:
    check_tensor(
        x, "x", shape=(None, 1, 28, 28), value_range=(0.0, 1.0) if check else None
    )


def elbo(
    model: LatentVariableModel,
    x: torch.Tensor,
    *,
    likelihood: str = "bernoulli",
    beta: float = 1.0,
    sigma: float = 0.1,
    kl: str = "analytic",
    generator: torch.Generator | None = None,
    check: bool = True,
) -> ElboTerms:
    """The (beta-weighted) evidence lower bound with one reparameterised sample of ``z``
    per image.

    ``ELBO = E_q[log p(x|z)] - beta * KL(q(z|x) || p(z))``; ``beta = 1`` gives the
    evidence lower bound on ``log p(x)``, ``beta != 1`` the beta-VAE objective (Higgins
    et al. 2017). Since the KL is ``>= 0``, every ``beta >= 1`` still gives a (looser)
    lower bound; ``beta < 1`` may exceed ``log p(x)`` and is no bound.
    ``z`` is always sampled, even in eval mode (see :func:`sample_gaussian`).

    Args:
        model: a VAE (``encode`` -> ``(mu, logvar)``, ``decode`` -> logits).
        x: ``(N, 1, 28, 28)`` images in ``[0, 1]``.
        likelihood: ``"bernoulli"``, ``"gaussian"`` or ``"laplace"`` (see
            :func:`reconstruction_log_likelihood`).
        beta: weight of the KL term (``>= 0``).
        sigma: fixed standard deviation / scale of the Gaussian / Laplace likelihoods.
        kl: ``"analytic"`` (:func:`kl_standard_normal`) or ``"monte_carlo"``
            (``log q(z|x) - log p(z)`` at the same ``z`` that is decoded; with it,
            :func:`iwae_bound` at ``k = 1`` equals this ELBO).
        generator: optional generator for the noise.
        check: validate the value range of ``x``.

    Returns:
        :class:`ElboTerms`, each ``(N,)`` in nats.
    """
    _check_images(x, check)
    if beta < 0:
        raise CourseInputError(f"beta must be >= 0, got {beta}")
    if kl not in ("analytic", "monte_carlo"):
        raise CourseInputError(f"kl must be 'analytic' or 'monte_carlo', got {kl!r}")
    mu, logvar = model.encode(x)
    _check_gaussian_parameters(mu, logvar)
    z = sample_gaussian(mu, logvar, generator=generator)
    log_likelihood = reconstruction_log_likelihood(
        model.decode(z), x, likelihood, sigma=sigma, check=False
    )
    if kl == "analytic":
        kl_value = kl_standard_normal(mu, logvar)
    else:
        kl_value = log_normal_diagonal(z, mu, logvar) - log_standard_normal(z)
    return ElboTerms(log_likelihood - beta * kl_value, log_likelihood, kl_value)


def iwae_bound(
    model: LatentVariableModel,
    x: torch.Tensor,
    k: int,
    *,
    likelihood: str = "bernoulli",
    sigma: float = 0.1,
    generator: torch.Generator | None = None,
    check: bool = True,
) -> torch.Tensor:
    """The importance-weighted bound ``L_k`` on ``log p(x)`` (Burda, Grosse &
    Salakhutdinov 2016).

    ``L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`` with ``z_i ~ q(z|x)``, computed
    with ``logsumexp`` in log space (the weights themselves under- or overflow). ``L_1``
    is the ELBO (with the Monte-Carlo KL); ``E[L_k]`` increases with ``k`` towards
    ``log p(x)``, so ``-L_k`` at large ``k`` is the usual estimate of the negative
    log-likelihood.

    Args:
        model: a VAE (``encode``, ``decode`` -> logits).
        x: ``(N, 1, 28, 28)`` images in ``[0, 1]``.
        k: number of importance samples per image (``>= 1``); memory grows like
            ``k * N`` images.
        likelihood, sigma: as in :func:`elbo`.
        generator: optional generator for the noise.
        check: validate the value range of ``x``.

    Returns:
        ``(N,)``: the bound in nats per image.
    """
    _check_images(x, check)
    if k < 1:
        raise CourseInputError(f"k must be at least 1, got {k}")
    mu, logvar = model.encode(x)
    _check_gaussian_parameters(mu, logvar)
    z = sample_gaussian(mu, logvar, n_samples=k, generator=generator)  # (k, N, D)
    n = x.shape[0]
    logits = model.decode(z.reshape(k * n, -1))
    repeated = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
    log_px_z = reconstruction_log_likelihood(
        logits, repeated, likelihood, sigma=sigma, check=False
    ).reshape(k, n)
    log_weights = log_px_z + log_standard_normal(z) - log_normal_diagonal(z, mu, logvar)
    return torch.logsumexp(log_weights, dim=0) - math.log(k)


Bound = Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor]


def _evaluate(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int,
    seed: int,
    device: torch.device | str | None,
    bound: Bound,
) -> float:
    """Average ``-bound(model, batch, generator)`` over ``images`` in eval mode, without
    gradients."""
    check_tensor(images, "images", shape=(None, 1, 28, 28), value_range=(0.0, 1.0))
    if batch_size < 1:
        raise CourseInputError(f"batch_size must be at least 1, got {batch_size}")
    parameter = next(model.parameters(), None)
    device = (
        torch.device(device)
        if device is not None
        else (parameter.device if parameter is not None else "cpu")
    )
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        with torch.no_grad():
            for start in range(0, images.shape[0], batch_size):
                batch = images[start : start + batch_size].to(device)
                total += float(-bound(model, batch, generator).sum())
    finally:
        model.train(was_training)
    return total / images.shape[0]


def test_negative_elbo(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int = 500,
    *,
    likelihood: str = "bernoulli",
    sigma: float = 0.1,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """Negative ELBO (beta = 1) averaged over a whole data set, in nats per image, with
    ``z`` sampled.

    The model is put in eval mode (for dropout/batch-norm layers) but ``z`` is still
    *sampled* (:func:`elbo` always samples): plugging in the posterior mean, as
    ``model.eval()`` makes ``reparameterise`` do, gives a number that is not a bound on
    ``-log p(x)`` and looks a few nats too good. The training mode of the model is
    restored afterwards.

    Args:
        model: a VAE.
        images: ``(N, 1, 28, 28)`` in ``[0, 1]`` (e.g. all 10 000 MNIST test images), on
            any device.
        batch_size: images per forward pass.
        likelihood, sigma: as in :func:`elbo`.
        seed: seed of the noise, so the figure is reproducible.
        device: where to compute (default: the model's device).

    Returns:
        The mean negative ELBO in nats per image (lower is better; about 100 for MNIST).
    """

    def bound(
        m: nn.Module, batch: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        # a VAE: encode and decode (nn.Module hides them from mypy)
        model = cast(LatentVariableModel, m)
        return elbo(
            model,
            batch,
            likelihood=likelihood,
            sigma=sigma,
            generator=generator,
            check=False,
        ).elbo

    return _evaluate(model, images, batch_size, seed, device, bound)


def test_negative_iwae(
    model: nn.Module,
    images: torch.Tensor,
    k: int = 100,
    batch_size: int = 100,
    *,
    likelihood: str = "bernoulli",
    sigma: float = 0.1,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """``-L_k`` (:func:`iwae_bound`) averaged over a data set: a tighter estimate of
    ``-log p(x)``.

    Args:
        model: a VAE.
        images: ``(N, 1, 28, 28)`` in ``[0, 1]``.
        k: importance samples per image; each forward pass decodes ``k * batch_size``
            images.
        batch_size, likelihood, sigma, seed, device: as in :func:`test_negative_elbo`.

    Returns:
        The mean of ``-L_k`` in nats per image (``<=`` the negative ELBO on average).
    """

    def bound(
        m: nn.Module, batch: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        model = cast(LatentVariableModel, m)
        return iwae_bound(
            model,
            batch,
            k,
            likelihood=likelihood,
            sigma=sigma,
            generator=generator,
            check=False,
        )

    return _evaluate(model, images, batch_size, seed, device, bound)


# These are evaluation functions, not tests: stop pytest collecting them when a test
# module imports them.
# B010: setattr, as __test__ is a function attribute that mypy does not know
setattr(test_negative_elbo, "__test__", False)  # noqa: B010
setattr(test_negative_iwae, "__test__", False)  # noqa: B010
