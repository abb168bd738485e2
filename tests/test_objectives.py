"""Objectives checked against independent formulas (torch.distributions, hand-written
textbook expressions)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as D

from course_lib import objectives
from course_lib.errors import CourseInputError
from course_lib.vae import MLPVAE


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_bernoulli_log_likelihood_equals_the_textbook_expression() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 1, 28, 28, generator=g, dtype=torch.float64) * 3
    # grey levels, not only {0, 1}
    x = torch.rand(6, 1, 28, 28, generator=g, dtype=torch.float64)
    p = 1.0 / (1.0 + torch.exp(-logits))
    by_hand = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    ours = objectives.bernoulli_log_likelihood(logits, x)
    assert ours.shape == (6,)
    torch.testing.assert_close(ours, by_hand, rtol=1e-10, atol=1e-8)


def test_bernoulli_log_likelihood_is_stable_for_extreme_logits() -> None:
    logits = torch.tensor([[100.0, -100.0]])
    x = torch.tensor([[1.0, 0.0]])
    assert torch.isfinite(objectives.bernoulli_log_likelihood(logits, x)).all()
    assert objectives.bernoulli_log_likelihood(logits, x).item() == pytest.approx(
        0.0, abs=1e-6
    )
    # the wrong way round, a confident wrong prediction, costs about |logit| nats
    assert objectives.bernoulli_log_likelihood(logits, 1 - x).item() == pytest.approx(
        -200.0, rel=1e-4
    )


@pytest.mark.parametrize("sigma", [0.1, 1.0])
def test_gaussian_log_likelihood_equals_normal_log_density(sigma: float) -> None:
    g = torch.Generator().manual_seed(2)
    mean = torch.rand(4, 1, 28, 28, generator=g, dtype=torch.float64)
    x = torch.rand(4, 1, 28, 28, generator=g, dtype=torch.float64)
    expected = D.Normal(mean, sigma).log_prob(x).flatten(1).sum(1)
    ours = objectives.gaussian_log_likelihood(mean, x, sigma=sigma)
    torch.testing.assert_close(ours, expected)
    # ... which is a scaled squared error plus a constant
    squared = ((x - mean) ** 2).flatten(1).sum(1)
    constant = -784 * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    torch.testing.assert_close(ours, -squared / (2 * sigma**2) + constant)


def test_laplace_log_likelihood_equals_laplace_log_density() -> None:
    g = torch.Generator().manual_seed(3)
    mean = torch.rand(3, 1, 28, 28, generator=g, dtype=torch.float64)
    x = torch.rand(3, 1, 28, 28, generator=g, dtype=torch.float64)
    expected = D.Laplace(mean, 0.2).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(
        objectives.laplace_log_likelihood(mean, x, scale=0.2), expected
    )


def test_reconstruction_log_likelihood_dispatches_on_sigmoid_of_logits() -> None:
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 1, 28, 28, generator=g, dtype=torch.float64)
    x = torch.rand(2, 1, 28, 28, generator=g, dtype=torch.float64)
    expected = D.Normal(torch.sigmoid(logits), 0.1).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(
        objectives.reconstruction_log_likelihood(logits, x, "gaussian", sigma=0.1),
        expected,
    )
    with pytest.raises(CourseInputError, match="unknown likelihood"):
        objectives.reconstruction_log_likelihood(logits, x, "poisson")


def test_closed_form_kl_equals_torch_distributions() -> None:
    g = torch.Generator().manual_seed(5)
    mu = torch.randn(7, 5, generator=g, dtype=torch.float64)
    logvar = torch.randn(7, 5, generator=g, dtype=torch.float64)
    q = D.Normal(mu, torch.exp(0.5 * logvar))
    expected = D.kl_divergence(
        q, D.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ).sum(1)
    ours = objectives.kl_standard_normal(mu, logvar)
    assert ours.shape == (7,)
    torch.testing.assert_close(ours, expected)
    # KL of the prior with itself is zero
    assert (
        objectives.kl_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max()
        == 0
    )


def test_monte_carlo_kl_matches_closed_form_within_sampling_error() -> None:
    g = torch.Generator().manual_seed(6)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = 0.5 * torch.randn(4, 3, generator=g, dtype=torch.float64)
    n = 20_000
    estimate = objectives.kl_monte_carlo(
        mu, logvar, n_samples=n, generator=torch.Generator().manual_seed(7)
    )
    # standard error from an independent set of samples scored with torch.distributions
    q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = D.Independent(D.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    z = q.sample((n,))
    standard_error = (q.log_prob(z) - p.log_prob(z)).std(0) / math.sqrt(n)
    exact = D.kl_divergence(q, p)
    assert ((estimate - exact).abs() < 5 * standard_error).all()


def _tiny_vae() -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE(latent_dim=4, hidden_dims=(32,)).double()


def test_elbo_terms_equal_their_definition_with_the_same_noise() -> None:
    model = _tiny_vae()
    x = _images(5).double()
    terms = objectives.elbo(
        model, x, beta=2.0, generator=torch.Generator().manual_seed(8)
    )
    mu, logvar = model.encode(x)
    eps = torch.randn(
        mu.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64
    )
    z = mu + torch.exp(0.5 * logvar) * eps
    log_px = (
        D.Bernoulli(logits=model.decode(z), validate_args=False)
        .log_prob(x)
        .flatten(1)
        .sum(1)
    )
    kl = D.kl_divergence(D.Normal(mu, torch.exp(0.5 * logvar)), D.Normal(0.0, 1.0)).sum(
        1
    )
    torch.testing.assert_close(terms.log_likelihood, log_px)
    torch.testing.assert_close(terms.kl, kl)
    torch.testing.assert_close(terms.elbo, log_px - 2.0 * kl)


def test_elbo_samples_z_even_in_eval_mode() -> None:
    model = _tiny_vae().eval()
    x = _images(3).double()
    a = objectives.elbo(model, x).elbo
    b = objectives.elbo(model, x).elbo
    assert not torch.equal(a, b)


def test_iwae_with_one_sample_equals_the_elbo_with_the_same_noise() -> None:
    model = _tiny_vae()
    x = _images(6).double()
    iwae = objectives.iwae_bound(
        model, x, 1, generator=torch.Generator().manual_seed(9)
    )
    terms = objectives.elbo(
        model, x, kl="monte_carlo", generator=torch.Generator().manual_seed(9)
    )
    torch.testing.assert_close(iwae, terms.elbo)


def test_iwae_equals_log_mean_of_importance_weights_by_hand() -> None:
    model = _tiny_vae()
    x = _images(2).double()
    k = 3
    ours = objectives.iwae_bound(
        model, x, k, generator=torch.Generator().manual_seed(10)
    )
    mu, logvar = model.encode(x)
    eps = torch.randn(
        (k, *mu.shape), generator=torch.Generator().manual_seed(10), dtype=torch.float64
    )
    q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
    for i in range(2):
        weights = []
        for j in range(k):
            z = mu[i] + torch.exp(0.5 * logvar[i]) * eps[j, i]
            log_px = (
                D.Bernoulli(logits=model.decode(z[None])[0], validate_args=False)
                .log_prob(x[i])
                .sum()
            )
            log_pz = D.Normal(0.0, 1.0).log_prob(z).sum()
            weights.append(torch.exp(log_px + log_pz - q.log_prob(z)[i]))
        by_hand = torch.log(torch.stack(weights).mean())
        torch.testing.assert_close(ours[i], by_hand)


def test_iwae_tightens_as_k_grows() -> None:
    model = _tiny_vae()
    x = _images(32).double()
    with torch.no_grad():
        bounds = {
            k: objectives.iwae_bound(
                model, x, k, generator=torch.Generator().manual_seed(11)
            ).mean()
            for k in (1, 5, 50)
        }
        analytic_elbo = torch.stack(
            [objectives.elbo(model, x).elbo.mean() for _ in range(20)]
        ).mean()
    assert bounds[1] < bounds[5] < bounds[50]
    # L_1 averages to the (analytic) ELBO
    assert abs(float(bounds[1] - analytic_elbo)) < 0.05 * abs(float(analytic_elbo))


def test_test_negative_elbo_samples_z_and_restores_the_mode() -> None:
    model = _tiny_vae().train()
    x = _images(200).double()
    value = objectives.test_negative_elbo(model, x, batch_size=128, seed=3)
    assert model.training
    # reproducible
    assert value == objectives.test_negative_elbo(model, x, batch_size=128, seed=3)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        kl = D.kl_divergence(
            D.Normal(mu, torch.exp(0.5 * logvar)), D.Normal(0.0, 1.0)
        ).sum(1)
        at_mean = -(
            D.Bernoulli(logits=model.decode(mu), validate_args=False)
            .log_prob(x)
            .flatten(1)
            .sum(1)
            - kl
        )
        per_image = torch.stack([-objectives.elbo(model, x).elbo for _ in range(10)])
    sampled_mean = per_image.mean()
    # `value` averages one draw per image, `sampled_mean` ten: the standard error of
    # their difference
    standard_error = per_image.std() * math.sqrt(1 / x.shape[0] + 1 / per_image.numel())
    assert abs(value - float(sampled_mean)) < 5 * float(standard_error)
    # plugging in the mean is a different (optimistic) number, not what the evaluation
    # returns
    assert float(at_mean.mean()) < value
    iwae = objectives.test_negative_iwae(model, x, k=10, batch_size=200)
    assert iwae < value


def test_objectives_are_not_collected_by_pytest() -> None:
    assert objectives.test_negative_elbo.__test__ is False
    assert objectives.test_negative_iwae.__test__ is False


def test_clear_errors() -> None:
    with pytest.raises(CourseInputError, match="same shape"):
        objectives.bernoulli_log_likelihood(
            torch.zeros(2, 784), torch.zeros(2, 1, 28, 28)
        )
    with pytest.raises(CourseInputError, match=r"values in \[0, 1\].*to_unit"):
        objectives.bernoulli_log_likelihood(torch.zeros(2, 784), -torch.ones(2, 784))
    with pytest.raises(CourseInputError, match="same shape"):
        objectives.kl_standard_normal(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(CourseInputError, match=r"shape \(N, D\)"):
        objectives.kl_standard_normal(torch.zeros(3), torch.zeros(3))
    with pytest.raises(CourseInputError, match="sigma must be positive"):
        objectives.gaussian_log_likelihood(
            torch.zeros(1, 3), torch.zeros(1, 3), sigma=0.0
        )
    model = _tiny_vae()
    with pytest.raises(CourseInputError, match=r"shape \(N, 1, 28, 28\)"):
        objectives.elbo(model, torch.rand(2, 784, dtype=torch.float64))
    with pytest.raises(CourseInputError, match="k must be at least 1"):
        objectives.iwae_bound(model, _images(2).double(), 0)
    with pytest.raises(CourseInputError, match="beta"):
        objectives.elbo(model, _images(2).double(), beta=-1)
