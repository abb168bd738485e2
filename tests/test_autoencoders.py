"""Autoencoders: shapes and ranges, the kernels, overfitting a tiny batch, the recipe, the cache, clear errors."""

from __future__ import annotations

import pytest
import torch

from course_lib.autoencoders import (
    Autoencoder,
    Autoencoder2D,
    fit_autoencoder,
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


MODELS = [lambda: Autoencoder(30), lambda: Autoencoder(500), lambda: Autoencoder(30, black_is_zero=True),
          Autoencoder2D]


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
    torch.testing.assert_close(model.encode(x), torch.tanh(x.reshape(4, 784) @ weight.T + bias))


def test_black_is_zero_feeds_the_first_layer_zeros_for_black(mnist) -> None:
    torch.manual_seed(0)
    model = Autoencoder(30, black_is_zero=True)
    x = mnist[0][:4]
    weight, bias = model.encoder_weight, model.encoder[-2].bias.detach()
    torch.testing.assert_close(model.encode(x), torch.tanh((x.reshape(4, 784) + 1) / 2 @ weight.T + bias))
    black = -torch.ones(1, 1, 28, 28)
    torch.testing.assert_close(model.encode(black), torch.tanh(bias)[None])  # black pixels add nothing
    assert model.config == {"latent_dim": 30, "black_is_zero": True}
    assert Autoencoder(30).config == {"latent_dim": 30}  # the default keeps its cache key


def test_code_of_the_2d_model_is_linear_and_unbounded() -> None:
    torch.manual_seed(0)
    model = Autoencoder2D()
    assert isinstance(model.encoder[-1], torch.nn.Linear) and model.encoder[-1].out_features == 2
    assert model.encode(to_signed(torch.rand(2, 1, 28, 28))).shape == (2, 2)


@pytest.mark.parametrize("make", [lambda: Autoencoder(500), Autoencoder2D])
def test_each_model_overfits_a_tiny_batch(make, mnist) -> None:
    torch.manual_seed(0)
    model, history = fit_autoencoder(make(), mnist[0][:32], budget=Budget(200, None, 32), device="cpu",
                                     cache=False)
    loss = history["loss"]
    assert len(loss) == 200
    assert loss[-1] < loss[0] / 8


def test_denoising_recipe_trains_on_corrupted_inputs(mnist) -> None:
    torch.manual_seed(0)
    _, plain = fit_autoencoder(Autoencoder(30), mnist[0][:64], budget=Budget(20, None, 32), device="cpu",
                               cache=False)
    torch.manual_seed(0)
    _, noisy = fit_autoencoder(Autoencoder(30), mnist[0][:64], budget=Budget(20, None, 32), device="cpu",
                               corruption=Corruption("dropout", 0.5), cache=False)
    assert noisy["loss"][0] != plain["loss"][0]  # a different input, the same clean target
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
    torch.testing.assert_close(reconstruction_loss(model, x_in, x, "mse").double(), ((out - x) ** 2).mean())
    p, y = (out + 1) / 2, (x.double() + 1) / 2  # the [0, 1] scale
    bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    torch.testing.assert_close(reconstruction_loss(model, x_in, x, "bce").double(), bce, rtol=1e-4, atol=1e-6)


def test_cross_entropy_keeps_pushing_where_tanh_saturates() -> None:
    """A background pixel (target x = -1) predicted at o = tanh(h) = -0.99. Gradients in h: squared error
    2 (o - x)(1 - o^2) = 2 * 0.01 * 0.0199; cross-entropy 2 (sigmoid(2h) - 0) = 1 + o = 0.01, 25 times more."""
    model = Autoencoder(1)
    with torch.no_grad():  # output = tanh(bias) = -0.99 for every pixel, whatever the input
        model.decoder[0].weight.zero_()
        model.decoder[0].bias.fill_(float(torch.atanh(torch.tensor(-0.99))))
    x = -torch.ones(1, 1, 28, 28)
    grads = {}
    for loss in ("mse", "bce"):
        model.zero_grad()
        reconstruction_loss(model, x, x, loss).backward()
        grads[loss] = model.decoder[0].bias.grad[0].item() * 784  # d loss / d h of one pixel
    assert grads["mse"] == pytest.approx(2 * 0.01 * (1 - 0.99**2), rel=1e-3)
    assert grads["bce"] == pytest.approx(1 - 0.99, rel=1e-3)
    assert grads["bce"] > 20 * grads["mse"]


def test_stratified_subset_and_determinism(mnist) -> None:
    images, labels = mnist
    budget = Budget(1, 100, 50)
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        runs.append(fit_autoencoder(Autoencoder(8), images, labels=labels, budget=budget, device="cpu",
                                    seed=seed, cache=False)[0])
    assert all(torch.equal(a, b) for a, b in zip(runs[0].state_dict().values(), runs[1].state_dict().values()))
    assert not torch.equal(runs[0].encoder_weight, runs[2].encoder_weight)


def test_cache_stores_and_loads(mnist, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    images = mnist[0][:64]
    torch.manual_seed(0)
    trained, history = fit_autoencoder(Autoencoder(8), images, budget=Budget(2, None, 32), device="cpu")
    assert len(list(tmp_path.glob("autoencoder-*.pt"))) == 1
    loaded, again = fit_autoencoder(Autoencoder(8), images, budget=Budget(2, None, 32), device="cpu")
    assert torch.equal(loaded.encoder_weight, trained.encoder_weight)
    assert again["loss"] == history["loss"]
    fit_autoencoder(Autoencoder(8), images, budget=Budget(2, None, 32), device="cpu", lr=5e-4)  # new key
    assert len(list(tmp_path.glob("autoencoder-*.pt"))) == 2


def test_clear_errors(mnist) -> None:
    images, labels = mnist
    model = Autoencoder(30)
    with pytest.raises(CourseInputError, match="to_signed"):
        fit_autoencoder(model, (images[:10] + 1) / 2, budget=Budget(1, None, 5), device="cpu", cache=False)
    with pytest.raises(CourseInputError, match=r"shape \(N, 1, 28, 28\), got \(10, 784\)"):
        model.encode(images[:10].reshape(10, 784))
    with pytest.raises(CourseInputError, match="latent_dim is 30"):
        model.decode(torch.zeros(4, 20))
    with pytest.raises(CourseInputError, match=r"values in \[-1, 1\]"):
        fit_autoencoder(model, images * 3, budget=Budget(1, None, 50), device="cpu", cache=False)
    with pytest.raises(CourseInputError, match="latent_dim must be at least 1"):
        Autoencoder(0)
    with pytest.raises(CourseInputError, match="unknown reconstruction loss 'l1'; choose one of mse, bce"):
        fit_autoencoder(model, images[:50], budget=Budget(1, None, 50), device="cpu", loss="l1", cache=False)
