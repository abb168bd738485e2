"""VAEs: architecture sizes, logits, reparameterisation, prior samples, overfitting, the
recipe, clear errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from course_lib.data import load_mnist
from course_lib.errors import CourseInputError
from course_lib.profiles import Budget
from course_lib.vae import MLPVAE, ConvVAE, fit_vae, vae_step


@pytest.fixture(scope="module")
def mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """600 training digits in [0, 1] and their labels."""
    images, labels = load_mnist("train")
    return images[:600], labels[:600]


def _parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_default_mlp_is_the_pytorch_examples_network() -> None:
    # fc1 784->400, fc21 / fc22 400->20, fc3 20->400, fc4 400->784 (pytorch/examples
    # vae/main.py)
    expected = (
        (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)
    )
    assert _parameters(MLPVAE()) == expected


@pytest.mark.parametrize("make", [MLPVAE, ConvVAE])
def test_shapes_and_logits(make) -> None:
    torch.manual_seed(0)
    model = make()
    x = torch.rand(5, 1, 28, 28)
    logits, mu, logvar = model(x)
    assert (
        logits.shape == (5, 1, 28, 28)
        and mu.shape == (5, 20)
        and logvar.shape == (5, 20)
    )
    # logits, not probabilities (a sigmoid output is never negative)
    assert logits.min() < 0
    assert isinstance(model.config, dict)


def test_conv_encoder_halves_the_resolution_twice() -> None:
    model = ConvVAE()
    x = torch.rand(2, 1, 28, 28)
    assert model.body[:2](x).shape == (2, 32, 14, 14)
    assert model.body[:4](x).shape == (2, 64, 7, 7)


def test_reparameterise_samples_in_training_and_returns_the_mean_in_eval() -> None:
    model = MLPVAE(latent_dim=3)
    mu = torch.tensor([[0.5, -2.0, 1.0]]).expand(20_000, 3)
    logvar = torch.tensor([[0.0, 2.0, -2.0]]).expand(20_000, 3)
    z = model.train().reparameterise(mu, logvar)
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.06, rtol=0)
    torch.testing.assert_close(
        z.std(0), torch.exp(0.5 * logvar[0]), atol=0.03, rtol=0.02
    )
    assert torch.equal(model.eval().reparameterise(mu, logvar), mu)


def test_sample_decodes_standard_normal_draws() -> None:
    torch.manual_seed(0)
    model = MLPVAE()
    images = model.sample(6, generator=torch.Generator().manual_seed(1))
    z = torch.randn(6, 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(images, torch.sigmoid(model.decode(z)))
    assert images.shape == (6, 1, 28, 28) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize(
    "make", [MLPVAE, lambda: ConvVAE(channels=(16, 32), hidden_dim=128)]
)
def test_each_model_overfits_a_tiny_batch(make, mnist) -> None:
    torch.manual_seed(0)
    _, history = fit_vae(
        make(),
        mnist[0][:32],
        budget=Budget(200, None, 32),
        device="cpu",
        lr=2e-3,
        lr_schedule="constant",
        cache=False,
    )
    loss = history["loss"]
    assert loss[0] > 400  # about 784 * log(2) = 543 for 50 % grey predictions
    assert loss[-1] < loss[0] / 3
    assert set(history.keys()) >= {"loss", "recon", "kl"}
    for a, b, c in zip(history["loss"], history["recon"], history["kl"]):
        assert a == pytest.approx(b + c, rel=1e-5)


@pytest.mark.parametrize("likelihood", ["gaussian", "laplace"])
def test_other_likelihoods_and_beta_train(likelihood: str, mnist) -> None:
    torch.manual_seed(0)
    _, history = fit_vae(
        MLPVAE(latent_dim=4, hidden_dims=(64,)),
        mnist[0][:64],
        budget=Budget(3, None, 32),
        device="cpu",
        likelihood=likelihood,
        beta=4.0,
        cache=False,
    )
    for a, b, c in zip(history["loss"], history["recon"], history["kl"]):
        assert a == pytest.approx(b + 4.0 * c, rel=1e-5)


def test_recipe_logs_the_test_loss_and_is_deterministic(mnist) -> None:
    images, labels = mnist
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        runs.append(
            fit_vae(
                MLPVAE(latent_dim=4, hidden_dims=(64,)),
                images,
                labels=labels,
                budget=Budget(2, 200, 50),
                device="cpu",
                seed=seed,
                test_images=images[-100:],
                cache=False,
            )
        )
    (a, history_a), (b, history_b), (c, _) = runs
    assert len(history_a["test_loss"]) == 2
    assert history_a["loss"] == history_b["loss"]
    assert all(
        torch.equal(p, q)
        for p, q in zip(a.state_dict().values(), b.state_dict().values())
    )
    assert not torch.equal(a.to_mu.weight, c.to_mu.weight)
    assert not a.training  # returned in eval mode


def test_init_output_bias_starts_the_decoder_at_the_mean_image(mnist) -> None:
    images = mnist[0]
    mean = images.mean(0)
    model = MLPVAE()
    model.init_output_bias(mean)
    with torch.no_grad():
        model.decoder[-1].weight.zero_()  # leaves only the bias
        predicted = torch.sigmoid(model.decode(torch.randn(2, 20)))
    torch.testing.assert_close(
        predicted[0], mean.clamp(1e-3, 1 - 1e-3), atol=1e-6, rtol=1e-5
    )
    conv = ConvVAE()
    conv.init_output_bias(mean)
    assert torch.sigmoid(conv.decoder[-1].bias).item() == pytest.approx(
        float(mean.mean()), rel=1e-5
    )
    with pytest.raises(CourseInputError, match="784 values"):
        model.init_output_bias(mean[:, :10])


def test_default_learning_rate_and_cache(mnist, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    images = mnist[0][:64]
    torch.manual_seed(0)
    trained, history = fit_vae(
        MLPVAE(latent_dim=4, hidden_dims=(32,)),
        images,
        budget=Budget(1, None, 32),
        device="cpu",
        init_output_bias=True,
    )
    (path,) = tmp_path.glob("mlpvae-*.pt")
    stored = torch.load(path, weights_only=True)
    assert stored["config"]["options"]["lr"] == MLPVAE.default_lr == 4e-3
    assert stored["config"]["options"]["init_output_bias"] is True
    loaded, again = fit_vae(
        MLPVAE(latent_dim=4, hidden_dims=(32,)),
        images,
        budget=Budget(1, None, 32),
        device="cpu",
        init_output_bias=True,
    )
    assert (
        torch.equal(loaded.to_mu.weight, trained.to_mu.weight)
        and again["loss"] == history["loss"]
    )


def test_clear_errors(mnist) -> None:
    images, labels = mnist
    model = MLPVAE()
    with pytest.raises(CourseInputError, match="to_unit"):
        fit_vae(
            model, images * 2 - 1, budget=Budget(1, None, 50), device="cpu", cache=False
        )
    with pytest.raises(CourseInputError, match="latent_dim is 20"):
        model.decode(torch.zeros(3, 2))
    with pytest.raises(CourseInputError, match=r"shape \(N, 1, 28, 28\)"):
        model.encode(images[:3].reshape(3, 784))
    with pytest.raises(CourseInputError, match="unknown likelihood"):
        fit_vae(
            model,
            images,
            budget=Budget(1, None, 50),
            device="cpu",
            likelihood="mse",
            cache=False,
        )
    with pytest.raises(CourseInputError, match="unknown lr_schedule"):
        fit_vae(
            model,
            images,
            budget=Budget(1, None, 50),
            device="cpu",
            lr_schedule="step",
            cache=False,
        )
    with pytest.raises(CourseInputError, match="n must be at least 1"):
        model.sample(0)


def test_vae_step_is_one_optimiser_step_on_the_negative_elbo() -> None:
    torch.manual_seed(0)
    model = MLPVAE(latent_dim=2, hidden_dims=(16,)).train()
    x = torch.rand(8, 1, 28, 28)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    losses = vae_step(model, optimiser, x)
    assert set(losses) == {"loss", "recon", "kl"}
    # beta = 1
    assert torch.allclose(losses["loss"], losses["recon"] + losses["kl"], atol=1e-4)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    beta4 = vae_step(model, optimiser, x, beta=4.0)
    assert torch.allclose(beta4["loss"], beta4["recon"] + 4 * beta4["kl"], atol=1e-4)


def test_kl_warmup_ramps_the_kl_weight(mnist, monkeypatch) -> None:
    import course_lib.vae as vae_module

    weights: list[object] = []
    real_step = vae_module.vae_step

    def spy(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        weights.append(kwargs["beta"])
        return real_step(*args, **kwargs)

    monkeypatch.setattr(vae_module, "vae_step", spy)
    images = mnist[0][:64]  # 2 epochs of 4 batches of 16: 8 steps
    budget = Budget(2, None, 16)
    small = MLPVAE(latent_dim=4, hidden_dims=(32,))
    fit_vae(small, images, budget=budget, beta=2.0, kl_warmup=0.5, cache=False)
    # warm-up over round(0.5 * 8) = 4 steps: 2 * 1/4, 2 * 2/4, ..., then 2 to the end
    assert weights == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.0, 2.0, 2.0, 2.0])
    weights.clear()
    fit_vae(small, images, budget=budget, beta=2.0, cache=False)
    assert weights == [2.0] * 8  # no warm-up: beta from the first step
    with pytest.raises(CourseInputError, match="kl_warmup is a fraction"):
        fit_vae(small, images, budget=budget, kl_warmup=1.5, cache=False)
