"""Every training recipe (``fit_*``) runs one short epoch on a device: the CPU here,
CUDA under ``-m gpu``.

``python -m pytest -m gpu tests/test_gpu_recipes.py`` (run by .github/workflows/gpu.yml
and tools/gpu_check.py) trains each recipe on ``cuda``; without CUDA those cases are
skipped. The ``cpu`` cases run in every test run, so the cases themselves are known to
work. A new ``fit_*`` anywhere in course_lib without a case here fails
:func:`test_every_recipe_has_a_device_case`.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable

import pytest
import torch
from torch import nn

import course_lib
from course_lib import toys
from course_lib.aae import AdversarialAutoencoder, fit_aae
from course_lib.autoencoders import (
    Autoencoder,
    PointDenoiser,
    fit_autoencoder,
    fit_point_denoiser,
)
from course_lib.gan import DCDiscriminator, DCGenerator, fit_gan
from course_lib.profiles import Budget
from course_lib.training import History
from course_lib.vae import ConvVAE, fit_vae

N_IMAGES = 64
ONE_EPOCH = Budget(epochs=1, n_train=None, batch_size=32)


def images_and_labels(signed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(64, 1, 28, 28)`` random images in [0, 1] (or [-1, 1] when ``signed``) and
    labels 0..9, on the CPU."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(N_IMAGES, 1, 28, 28, generator=generator)
    labels = torch.arange(N_IMAGES) % 10
    return (images * 2 - 1 if signed else images), labels


def run_autoencoder(device: str) -> tuple[list[nn.Module], History]:
    images, labels = images_and_labels(signed=True)
    model, history = fit_autoencoder(
        Autoencoder(latent_dim=4),
        images,
        labels=labels,
        budget=ONE_EPOCH,
        device=device,
        cache=False,
    )
    return [model], history


def run_point_denoiser(device: str) -> tuple[list[nn.Module], History]:
    points = torch.randn(N_IMAGES, 2, generator=torch.Generator().manual_seed(0))
    model, history = fit_point_denoiser(
        PointDenoiser(hidden=16),
        points,
        budget=ONE_EPOCH,
        device=device,
        cache=False,
        sigma=0.1,
    )
    return [model], history


def run_vae(device: str) -> tuple[list[nn.Module], History]:
    images, labels = images_and_labels(signed=False)
    model, history = fit_vae(
        ConvVAE(latent_dim=4, channels=(4, 8), hidden_dim=16),
        images,
        labels=labels,
        budget=ONE_EPOCH,
        device=device,
        cache=False,
    )
    return [model], history


def run_gan(device: str) -> tuple[list[nn.Module], History]:
    images, labels = images_and_labels(signed=True)
    generator, discriminator, history = fit_gan(
        DCGenerator(latent_dim=8, ngf=8),
        DCDiscriminator(ndf=8),
        images,
        labels=labels,
        budget=ONE_EPOCH,
        device=device,
        cache=False,
    )
    return [generator, discriminator], history


def run_aae(device: str) -> tuple[list[nn.Module], History]:
    images, labels = images_and_labels(signed=True)
    model, history = fit_aae(
        AdversarialAutoencoder(latent_dim=2, hidden=(32, 32)),
        images,
        labels=labels,
        budget=ONE_EPOCH,
        device=device,
        cache=False,
    )
    return [model], history


def run_toy_gan(device: str) -> tuple[list[nn.Module], History]:
    generator, discriminator, history = toys.fit_toy_gan(
        toys.ToyGenerator(),
        toys.ToyDiscriminator(),
        lambda n, rng: toys.gaussian_1d(n, generator=rng),
        budget=Budget(epochs=20, n_train=128, batch_size=64),
        device=device,
        cache=False,
        frames=2,
        snapshot_n=64,
    )
    return [generator, discriminator], history


CASES: dict[str, Callable[[str], tuple[list[nn.Module], History]]] = {
    "fit_autoencoder": run_autoencoder,
    "fit_point_denoiser": run_point_denoiser,
    "fit_vae": run_vae,
    "fit_gan": run_gan,
    "fit_aae": run_aae,
    "fit_toy_gan": run_toy_gan,
}


def recipes_in_course_lib() -> set[str]:
    """Names of the public ``fit_*`` functions defined in any module of course_lib."""
    found = set()
    for info in pkgutil.walk_packages(course_lib.__path__, prefix="course_lib."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                name.startswith("fit_")
                and inspect.isfunction(value)
                and value.__module__ == module.__name__
            ):
                found.add(name)
    return found


def test_every_recipe_has_a_device_case() -> None:
    assert recipes_in_course_lib() == set(CASES)


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(
                not torch.cuda.is_available(), reason="needs a CUDA GPU"
            ),
        ],
    ),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("recipe", sorted(CASES))
def test_recipe_trains_on_the_device(recipe: str, device: str) -> None:
    models, history = CASES[recipe](device)
    assert history.keys(), f"{recipe} recorded no loss"
    for name in history.keys():
        assert all(math.isfinite(v) for v in history[name]), (
            f"{recipe}: {name} is not finite: {history[name]}"
        )
    for model in models:
        devices = {p.device.type for p in model.parameters()}
        assert devices == {device}, (
            f"{recipe} returned {type(model).__name__} with parameters on {devices}"
        )
