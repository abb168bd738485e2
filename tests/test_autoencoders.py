"""Autoencoders: shapes and ranges, the kernels, overfitting a tiny batch, the recipe,
the cache, clear errors."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.autoencoders import (
    PCA,
    Autoencoder,
    Autoencoder2D,
    DeepAutoencoder,
    LinearAutoencoder,
    PointDenoiser,
    fit_autoencoder,
    fit_point_denoiser,
    langevin_chain,
    mixture_score,
    reconstruction_loss,
)
from course_lib.corruption import Corruption
from course_lib.data import load_mnist, to_signed
from course_lib.errors import CourseInputError
from course_lib.profiles import Budget


@pytest.fixture(scope="module")
def mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """600 training digits in [-1, 1] and their labels."""
    images, labels = load_mnist("train")
    return to_signed(images[:600]), labels[:600]


MODELS = [
    lambda: Autoencoder(30),
    lambda: Autoencoder(500),
    lambda: Autoencoder(30, black_is_zero=True),
    Autoencoder2D,
]


@pytest.mark.parametrize("make", MODELS)
def test_shapes_and_ranges(make, mnist) -> None:
    torch.manual_seed(0)
    model = make()
    x = mnist[0][:8]
    code = model.encode(x)
    assert code.shape == (8, model.latent_dim)
    out = model(x)
    assert out.shape == (8, 1, 28, 28)
    assert out.min() >= -1 and out.max() <= 1  # tanh output
    assert model.decode(torch.zeros(3, model.latent_dim)).shape == (3, 1, 28, 28)
    assert isinstance(model.config, dict)


def test_encoder_weight_gives_the_kernels(mnist) -> None:
    torch.manual_seed(0)
    model = Autoencoder(30)
    weight = model.encoder_weight
    assert weight.shape == (30, 784)
    x = mnist[0][:4]
    bias = model.encoder[1].bias.detach()
    torch.testing.assert_close(
        model.encode(x), torch.tanh(x.reshape(4, 784) @ weight.T + bias)
    )


def test_black_is_zero_feeds_the_first_layer_zeros_for_black(mnist) -> None:
    torch.manual_seed(0)
    model = Autoencoder(30, black_is_zero=True)
    x = mnist[0][:4]
    weight, bias = model.encoder_weight, model.encoder[-2].bias.detach()
    torch.testing.assert_close(
        model.encode(x), torch.tanh((x.reshape(4, 784) + 1) / 2 @ weight.T + bias)
    )
    black = -torch.ones(1, 1, 28, 28)
    # black pixels add nothing
    torch.testing.assert_close(model.encode(black), torch.tanh(bias)[None])
    assert model.config == {"latent_dim": 30, "black_is_zero": True}
    # the default keeps its cache key
    assert Autoencoder(30).config == {"latent_dim": 30}


def test_code_of_the_2d_model_is_linear_and_unbounded() -> None:
    torch.manual_seed(0)
    model = Autoencoder2D()
    assert (
        isinstance(model.encoder[-1], torch.nn.Linear)
        and model.encoder[-1].out_features == 2
    )
    assert model.encode(to_signed(torch.rand(2, 1, 28, 28))).shape == (2, 2)


@pytest.mark.parametrize("make", [lambda: Autoencoder(500), Autoencoder2D])
def test_each_model_overfits_a_tiny_batch(make, mnist) -> None:
    torch.manual_seed(0)
    model, history = fit_autoencoder(
        make(), mnist[0][:32], budget=Budget(200, None, 32), device="cpu", cache=False
    )
    loss = history["loss"]
    assert len(loss) == 200
    assert loss[-1] < loss[0] / 8


def test_denoising_recipe_trains_on_corrupted_inputs(mnist) -> None:
    torch.manual_seed(0)
    _, plain = fit_autoencoder(
        Autoencoder(30),
        mnist[0][:64],
        budget=Budget(20, None, 32),
        device="cpu",
        cache=False,
    )
    torch.manual_seed(0)
    _, noisy = fit_autoencoder(
        Autoencoder(30),
        mnist[0][:64],
        budget=Budget(20, None, 32),
        device="cpu",
        corruption=Corruption("dropout", 0.5),
        cache=False,
    )
    # a different input, the same clean target
    assert noisy["loss"][0] != plain["loss"][0]
    assert noisy["loss"][-1] < noisy["loss"][0]


@pytest.mark.parametrize("make", MODELS)
def test_pre_tanh_is_the_output_before_tanh(make, mnist) -> None:
    torch.manual_seed(0)
    model = make()
    x = mnist[0][:4]
    torch.testing.assert_close(torch.tanh(model.pre_tanh(x)), model(x))


def test_reconstruction_losses_match_their_formulas(mnist) -> None:
    torch.manual_seed(0)
    model = Autoencoder(30)
    x_in, x = mnist[0][:8] * 0.5, mnist[0][:8]
    out = model(x_in).double()
    torch.testing.assert_close(
        reconstruction_loss(model, x_in, x, "mse").double(), ((out - x) ** 2).mean()
    )
    p, y = (out + 1) / 2, (x.double() + 1) / 2  # the [0, 1] scale
    bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    torch.testing.assert_close(
        reconstruction_loss(model, x_in, x, "bce").double(), bce, rtol=1e-4, atol=1e-6
    )


def test_cross_entropy_keeps_pushing_where_tanh_saturates() -> None:
    """A background pixel (target x = -1) predicted at o = tanh(h) = -0.99. Gradients in
    h: squared error 2 (o - x)(1 - o^2) = 2 * 0.01 * 0.0199; cross-entropy 2
    (sigmoid(2h) - 0) = 1 + o = 0.01, 25 times more."""
    model = Autoencoder(1)
    # output = tanh(bias) = -0.99 for every pixel, whatever the input
    with torch.no_grad():
        model.decoder[0].weight.zero_()
        model.decoder[0].bias.fill_(float(torch.atanh(torch.tensor(-0.99))))
    x = -torch.ones(1, 1, 28, 28)
    grads = {}
    for loss in ("mse", "bce"):
        model.zero_grad()
        reconstruction_loss(model, x, x, loss).backward()
        # d loss / d h of one pixel
        grads[loss] = model.decoder[0].bias.grad[0].item() * 784
    assert grads["mse"] == pytest.approx(2 * 0.01 * (1 - 0.99**2), rel=1e-3)
    assert grads["bce"] == pytest.approx(1 - 0.99, rel=1e-3)
    assert grads["bce"] > 20 * grads["mse"]


def test_stratified_subset_and_determinism(mnist) -> None:
    images, labels = mnist
    budget = Budget(1, 100, 50)
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        runs.append(
            fit_autoencoder(
                Autoencoder(8),
                images,
                labels=labels,
                budget=budget,
                device="cpu",
                seed=seed,
                cache=False,
            )[0]
        )
    assert all(
        torch.equal(a, b)
        for a, b in zip(runs[0].state_dict().values(), runs[1].state_dict().values())
    )
    assert not torch.equal(runs[0].encoder_weight, runs[2].encoder_weight)


def test_cache_stores_and_loads(mnist, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    images = mnist[0][:64]
    torch.manual_seed(0)
    trained, history = fit_autoencoder(
        Autoencoder(8), images, budget=Budget(2, None, 32), device="cpu"
    )
    assert len(list(tmp_path.glob("autoencoder-*.pt"))) == 1
    loaded, again = fit_autoencoder(
        Autoencoder(8), images, budget=Budget(2, None, 32), device="cpu"
    )
    assert torch.equal(loaded.encoder_weight, trained.encoder_weight)
    assert again["loss"] == history["loss"]
    # new key
    fit_autoencoder(
        Autoencoder(8), images, budget=Budget(2, None, 32), device="cpu", lr=5e-4
    )
    assert len(list(tmp_path.glob("autoencoder-*.pt"))) == 2


def test_clear_errors(mnist) -> None:
    images, labels = mnist
    model = Autoencoder(30)
    with pytest.raises(CourseInputError, match="to_signed"):
        fit_autoencoder(
            model,
            (images[:10] + 1) / 2,
            budget=Budget(1, None, 5),
            device="cpu",
            cache=False,
        )
    with pytest.raises(
        CourseInputError, match=r"shape \(N, 1, 28, 28\), got \(10, 784\)"
    ):
        model.encode(images[:10].reshape(10, 784))
    with pytest.raises(CourseInputError, match="latent_dim is 30"):
        model.decode(torch.zeros(4, 20))
    with pytest.raises(CourseInputError, match=r"values in \[-1, 1\]"):
        fit_autoencoder(
            model, images * 3, budget=Budget(1, None, 50), device="cpu", cache=False
        )
    with pytest.raises(CourseInputError, match="latent_dim must be at least 1"):
        Autoencoder(0)
    with pytest.raises(
        CourseInputError,
        match="unknown reconstruction loss 'l1'; choose one of mse, bce",
    ):
        fit_autoencoder(
            model,
            images[:50],
            budget=Budget(1, None, 50),
            device="cpu",
            loss="l1",
            cache=False,
        )


# --------------------------------------------------------------------------------------
# PCA, the linear autoencoder and the deep autoencoder of lesson 1


def _low_rank_images(n: int = 512, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(n, 1, 28, 28)`` in [-1, 1] that vary only in a 3-D subspace, and an
    orthonormal basis ``(784, 3)`` of that subspace. Each pixel is a sum of three codes
    uniform in ``[-s_k, s_k]`` (s = 0.5, 0.3, 0.15) times signs, so no value leaves
    [-0.95, 0.95]."""
    generator = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, (784, 3), generator=generator).float() * 2 - 1
    codes = (torch.rand(n, 3, generator=generator) * 2 - 1) * torch.tensor(
        [0.5, 0.3, 0.15]
    )
    x = codes @ signs.T
    assert x.abs().max() <= 0.95 + 1e-6
    basis, _ = torch.linalg.qr(signs)
    return x.reshape(n, 1, 28, 28), basis


def test_pca_error_is_the_sum_of_the_dropped_variances():
    x = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    pca = PCA(x)
    for d in (0, 5, 50):
        error = ((pca.reconstruct(x, d) - x) ** 2).sum() / len(x)
        # biased variance: divide by N
        dropped = pca.variances[d:].sum() * (len(x) - 1) / len(x)
        assert torch.allclose(error, dropped, rtol=1e-3)
    assert pca.encode(x, 7).shape == (200, 7)
    assert torch.all(pca.variances[:-1] >= pca.variances[1:])


def test_pca_rejects_a_code_size_it_does_not_have():
    pca = PCA(torch.zeros(10, 1, 28, 28))
    with pytest.raises(CourseInputError, match="d must be between 0 and 10"):
        pca.reconstruct(torch.zeros(2, 1, 28, 28), 11)


def test_linear_autoencoder_is_affine_and_refuses_cross_entropy():
    torch.manual_seed(0)
    model = LinearAutoencoder(4)
    a, b = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(
            model(0.3 * a + 0.7 * b), 0.3 * model(a) + 0.7 * model(b), atol=1e-5
        )
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    with pytest.raises(CourseInputError, match="loss='mse'"):
        fit_autoencoder(
            model,
            images,
            budget=Budget(1, None, 4),
            device="cpu",
            loss="bce",
            cache=False,
        )


def test_a_trained_linear_autoencoder_spans_the_principal_subspace():
    images, basis = _low_rank_images()
    torch.manual_seed(0)
    model, _ = fit_autoencoder(
        LinearAutoencoder(3),
        images,
        budget=Budget(200, None, 64),
        device="cpu",
        lr=3e-3,
        cache=False,
    )
    # orthonormal basis of its span
    learned, _ = torch.linalg.qr(model.decoder_weight.double())
    # cosines of the principal angles
    cosines = torch.linalg.svdvals(learned.T @ basis.double())
    assert cosines.min() > math.cos(math.radians(5))


def test_deep_autoencoder_has_an_unbounded_code_and_autoencoder2d_keeps_its_cache_key():
    torch.manual_seed(0)
    model = DeepAutoencoder(7, hidden_dims=(32,))
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert model.encode(x).shape == (5, 7) and model(x).shape == (5, 1, 28, 28)
    assert isinstance(model.encoder[-1], torch.nn.Linear)  # no activation on the code
    assert (
        Autoencoder2D().config == {"hidden_dims": [512, 128]}
        and Autoencoder2D().latent_dim == 2
    )
    with pytest.raises(CourseInputError, match="latent_dim must be at least 1"):
        DeepAutoencoder(0)


# --------------------------------------------------------------------------------------
# The 2-D denoiser of lesson 2: Tweedie's formula and Langevin sampling


def test_mixture_score_is_the_gradient_of_the_log_density():
    means = torch.tensor([[0.0, 0.0], [2.0, 1.0], [-1.0, 3.0]])
    std = 0.7
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0)).requires_grad_(
        True
    )
    log_density = torch.logsumexp(
        -((x[:, None, :] - means) ** 2).sum(-1) / (2 * std**2), dim=1
    )
    # constants drop out of the gradient
    (autograd_score,) = torch.autograd.grad(log_density.sum(), x)
    assert torch.allclose(
        mixture_score(x.detach(), means, std), autograd_score, atol=1e-5
    )


def test_point_denoiser_learns_tweedies_shrinkage_for_one_gaussian():
    # Data N(0, s^2 I), noise sigma: the best denoiser is r(x) = x s^2 / (s^2 +
    # sigma^2).
    s, sigma = 1.0, 0.5
    points = s * torch.randn(2048, 2, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model, history = fit_point_denoiser(
        PointDenoiser(hidden=32),
        points,
        budget=Budget(60, None, 256),
        sigma=sigma,
        seed=0,
    )
    probe = torch.tensor([[0.5, -0.5], [1.0, 0.0], [-1.0, 1.0]])
    with torch.no_grad():
        assert torch.allclose(model(probe), probe * s**2 / (s**2 + sigma**2), atol=0.08)
        # score of the blurred density N(0, s^2 + sigma^2)
        exact_score = -probe / (s**2 + sigma**2)
        assert torch.allclose(model.score(probe, sigma), exact_score, atol=0.35)
    assert history["loss"][-1] < history["loss"][0]


def test_langevin_chain_with_an_exact_denoiser_samples_the_blurred_density():
    # Exact denoiser of N(0, I) data under noise sigma: r(x) = x / (1 + sigma^2);
    # p_sigma = N(0, 1 + sigma^2).
    sigma = 0.3
    model = PointDenoiser(hidden=1)
    exact = torch.nn.Linear(2, 2, bias=False)
    exact.weight.data = torch.eye(2) / (1 + sigma**2)
    model.net = torch.nn.Sequential(exact)
    start = torch.full((4000, 2), 5.0)
    chain = langevin_chain(
        model, start, sigma=sigma, steps=300, generator=torch.Generator().manual_seed(0)
    )
    variance = chain.var(dim=0)
    assert chain.mean(dim=0).abs().max() < 0.1
    # the discretised chain's variance is sigma^2 / (1 - (1 - a)^2), a = sigma^2 / (2 (1
    # + sigma^2))
    a = sigma**2 / (2 * (1 + sigma**2))
    assert torch.allclose(
        variance, torch.full((2,), sigma**2 / (1 - (1 - a) ** 2)), rtol=0.1
    )


def test_point_denoiser_rejects_a_non_positive_noise_level():
    with pytest.raises(CourseInputError, match="sigma must be a positive noise level"):
        fit_point_denoiser(
            PointDenoiser(), torch.zeros(8, 2), budget=Budget(1, None, 4), sigma=0.0
        )
