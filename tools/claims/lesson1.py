"""Lesson 1's claims: a linear autoencoder finds the PCA subspace; the one-layer tanh
autoencoder loses to PCA; a deep one beats PCA; uniform codes of the 2-D autoencoder
decode to digits in the wrong proportions.

Each claim trains with the lesson's own recipe and budget (``ae`` for the deep
autoencoders, ``linear_ae`` for the linear one) on the lesson's data, with the seed of
the run.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import subspace_angles

from claims import Outcome
from course_lib.autoencoders import (
    PCA,
    Autoencoder,
    Autoencoder2D,
    DeepAutoencoder,
    LinearAutoencoder,
    fit_autoencoder,
)
from course_lib.data import load_mnist, stratified_subset, to_signed
from course_lib.evaluator import load_evaluator
from course_lib.settings import Settings


def _data(
    settings: Settings, recipe: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, PCA]:
    """The lesson's training images and labels, its test images, and PCA fitted to the
    same training subset the recipe trains on."""
    images, labels = load_mnist("train")
    x_train = to_signed(images)
    x_test = to_signed(load_mnist("test")[0][: settings.profile.n_test])
    budget = settings.profile.budget(recipe)
    subset = (
        x_train
        if budget.n_train is None
        else stratified_subset(x_train, labels, budget.n_train, seed=settings.seed)[0]
    )
    return x_train, labels, x_test, PCA(subset)


def _test_mse(reconstruction: torch.Tensor, x_test: torch.Tensor) -> float:
    return float(((reconstruction.cpu() - x_test) ** 2).mean())


def _fit(
    model: torch.nn.Module,
    x_train: torch.Tensor,
    labels: torch.Tensor,
    settings: Settings,
    recipe: str = "ae",
) -> torch.nn.Module:
    """``model`` trained by the lesson's recipe with the ``recipe`` budget."""
    trained, _ = fit_autoencoder(
        model,
        x_train,
        labels=labels,
        budget=settings.profile.budget(recipe),
        device=settings.device,
        seed=settings.seed,
    )
    return trained


def _trained_test_mse(
    model: torch.nn.Module,
    x_train: torch.Tensor,
    labels: torch.Tensor,
    x_test: torch.Tensor,
    settings: Settings,
) -> float:
    """Train ``model`` with the ``ae`` recipe and budget; its test MSE per pixel."""
    trained = _fit(model, x_train, labels, settings)
    with torch.no_grad():
        return _test_mse(trained(x_test.to(settings.device)), x_test)


def claim_linear_ae_finds_pca(settings: Settings) -> Outcome:
    """A linear autoencoder (d = 10) is within 5 % of PCA's test error; PCA's first 5
    axes lie in its span (< 5°)."""
    d = 10
    x_train, labels, x_test, pca = _data(settings, "linear_ae")
    torch.manual_seed(settings.seed)
    model = _fit(LinearAutoencoder(d), x_train, labels, settings, "linear_ae")
    with torch.no_grad():
        linear_mse = _test_mse(model(x_test.to(settings.device)), x_test)
    pca_mse = _test_mse(pca.reconstruct(x_test, d), x_test)
    learned = model.decoder_weight.numpy().astype(np.float64)  # (784, d)
    axes = pca.components[:d].T.numpy().astype(np.float64)
    angles = np.degrees(subspace_angles(learned, axes))  # d angles, largest first
    leading = np.degrees(subspace_angles(learned, axes[:, : d // 2])).max()
    ratio = linear_mse / pca_mse
    return Outcome(
        values={
            "linear_mse": linear_mse,
            "pca_mse": pca_mse,
            "mse_ratio": ratio,
            "max_angle_leading_half": float(leading),
            "median_angle": float(np.median(angles)),
            "max_angle": float(angles.max()),
        },
        passed=ratio < 1.05 and leading < 5.0,
    )


def claim_deep_ae_beats_pca(settings: Settings) -> Outcome:
    """A deep autoencoder (784-512-128-d, linear code) beats PCA on test error at d = 10
    and d = 30."""
    x_train, labels, x_test, pca = _data(settings, "ae")
    values: dict[str, float] = {}
    for d in (10, 30):
        torch.manual_seed(settings.seed)  # as the page: seed, then build the model
        values[f"deep_mse_d{d}"] = _trained_test_mse(
            DeepAutoencoder(d), x_train, labels, x_test, settings
        )
        values[f"pca_mse_d{d}"] = _test_mse(pca.reconstruct(x_test, d), x_test)
    passed = all(values[f"deep_mse_d{d}"] < values[f"pca_mse_d{d}"] for d in (10, 30))
    return Outcome(values=values, passed=passed)


def claim_tanh_ae_loses_to_pca(settings: Settings) -> Outcome:
    """The one-layer tanh autoencoder (784-d-784) is worse than PCA on test error at
    every code size d = 2, 10, 30, 100, 500, and beats the mean image at d = 30 by more
    than half."""
    x_train, labels, x_test, pca = _data(settings, "ae")
    values: dict[str, float] = {
        "mean_image_mse": _test_mse(pca.reconstruct(x_test, 0), x_test)
    }
    for d in (2, 10, 30, 100, 500):
        torch.manual_seed(settings.seed)  # as the page: seed, then build the model
        values[f"tanh_mse_d{d}"] = _trained_test_mse(
            Autoencoder(d), x_train, labels, x_test, settings
        )
        values[f"pca_mse_d{d}"] = _test_mse(pca.reconstruct(x_test, d), x_test)
    sizes = (2, 10, 30, 100, 500)
    passed = all(values[f"tanh_mse_d{d}"] > values[f"pca_mse_d{d}"] for d in sizes)
    passed = passed and values["tanh_mse_d30"] < 0.5 * values["mean_image_mse"]
    return Outcome(values=values, passed=passed)


def claim_uniform_box_decodes_wrong_proportions(settings: Settings) -> Outcome:
    """Codes drawn uniformly in the box of the 2-D autoencoder's test codes decode to
    digits in the wrong proportions: the frozen classifier reads the most frequent digit
    in more than twice its share of the test images."""
    x_train, labels, x_test, _ = _data(settings, "ae")
    y_test = load_mnist("test")[1][: settings.profile.n_test]
    torch.manual_seed(settings.seed)  # as the page: seed, then build the model
    model = _fit(Autoencoder2D(), x_train, labels, settings)
    with torch.no_grad():
        codes = model.encode(x_test.to(settings.device)).cpu()
        low, high = codes.min(dim=0).values, codes.max(dim=0).values
        generator = torch.Generator().manual_seed(settings.seed)  # as the page
        points = low + (high - low) * torch.rand(1000, 2, generator=generator)
        images = model.decode(points.to(settings.device))
    classes = load_evaluator(settings.device).predict(images, signed=True).cpu()
    shares = torch.bincount(classes, minlength=10) / len(classes)
    top = int(shares.argmax())
    test_share = float((y_test == top).float().mean())
    return Outcome(
        values={
            "top_digit": top,
            "top_share": float(shares[top]),
            "top_digit_test_share": test_share,
            "ratio": float(shares[top]) / test_share,
        },
        passed=float(shares[top]) > 2 * test_share,
    )
