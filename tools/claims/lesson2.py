"""Lesson 2's claims: the denoising autoencoder against the plain one at an equal
budget, their dead units (saturated by the background's shared offset, and harmless),
and the 2-D denoiser as a score model that samples by iterated denoising."""

from __future__ import annotations

import math

import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from claims import Outcome
from course_lib.autoencoders import (
    Autoencoder,
    PointDenoiser,
    fit_autoencoder,
    fit_point_denoiser,
    langevin_chain,
    mixture_score,
)
from course_lib.corruption import Corruption, corrupt_dropout, merge_digits
from course_lib.data import load_mnist, to_signed
from course_lib.settings import Settings
from course_lib.toys import modes_covered, ring_means, ring_of_gaussians

BLOB_STD, SIGMA = 0.1, 0.3  # the lesson's toy: blob width and noise level


def claim_toy_denoiser_score_and_sampling(settings: Settings) -> Outcome:
    """2-D denoiser (lr 1e-2): score cosine to the exact score > 0.9; its Langevin chain
    samples p_sigma (median distance to the nearest blob centre <= 1.25 x p_sigma's own,
    std * sqrt(2 ln 2)); one final denoising step puts > 80 % of the points within 0.3
    of a centre (half the gap between blobs is 0.77), all 8 blobs hit."""
    generator = torch.Generator().manual_seed(settings.seed)
    points, _ = ring_of_gaussians(2048, std=BLOB_STD, generator=generator)
    denoiser, _ = fit_point_denoiser(
        PointDenoiser(),
        points,
        budget=settings.profile.budget("toy_dae"),
        sigma=SIGMA,
        seed=settings.seed,
        lr=1e-2,
    )
    blurred_std = math.sqrt(BLOB_STD**2 + SIGMA**2)
    probe = points[:1000] + SIGMA * torch.randn(1000, 2, generator=generator)
    with torch.no_grad():
        learned = denoiser.score(probe, SIGMA)
    cosine = float(
        nn.functional.cosine_similarity(
            learned, mixture_score(probe, ring_means(), blurred_std), dim=1
        ).median()
    )
    start = (torch.rand(2000, 2, generator=generator) * 2 - 1) * 3
    chain = langevin_chain(denoiser, start, sigma=SIGMA, steps=100, generator=generator)
    with torch.no_grad():
        denoised = denoiser(chain)
    chain_median = float(torch.cdist(chain, ring_means()).min(dim=1).values.median())
    p_sigma_median = blurred_std * math.sqrt(2 * math.log(2))
    sharp = modes_covered(denoised, std=0.3, n_sigma=1.0)
    return Outcome(
        values={
            "median_cosine": cosine,
            "chain_median_distance": chain_median,
            "p_sigma_median_distance": p_sigma_median,
            "denoised_within_0.3": sharp.quality,
            "blobs_reached": sharp.modes_hit,
        },
        passed=cosine > 0.9
        and chain_median <= 1.25 * p_sigma_median
        and sharp.quality > 0.8
        and sharp.modes_hit == 8,
    )


def _equal_budget_models(
    settings: Settings,
) -> tuple[dict[str, Autoencoder], torch.Tensor, torch.Tensor, torch.Tensor]:
    """The lesson's DAE and plain AE (d = 500, the ``dae`` budget, same seed); the
    training images, the test images and the test images with 50 % of pixels dropped
    (the lesson's mask)."""
    images, labels = load_mnist("train")
    x_train = to_signed(images)
    x_test = to_signed(load_mnist("test")[0][: settings.profile.n_test]).to(
        settings.device
    )
    budget = settings.profile.budget("dae")
    models = {}
    for name, corruption in (("dae", Corruption("dropout", 0.5)), ("ae", None)):
        torch.manual_seed(settings.seed)
        models[name], _ = fit_autoencoder(
            Autoencoder(500),
            x_train,
            labels=labels,
            budget=budget,
            device=settings.device,
            corruption=corruption,
            seed=settings.seed,
        )
    corrupted, _ = corrupt_dropout(
        x_test.cpu(),
        0.5,
        torch.Generator().manual_seed(settings.seed),
        value_range=(-1, 1),
    )
    return models, x_train, x_test, corrupted.to(settings.device)


def claim_dae_vs_ae_equal_budget(settings: Settings) -> Outcome:
    """Equal budgets: the AE copies clean digits better; the DAE restores 50 %-dropped
    ones at < half its error."""
    models, _, x_test, corrupted = _equal_budget_models(settings)
    values = {}
    with torch.no_grad():
        for name, model in models.items():
            values[f"{name}_mse_clean"] = float(((model(x_test) - x_test) ** 2).mean())
            restored = model(corrupted)
            values[f"{name}_mse_corrupted"] = float(((restored - x_test) ** 2).mean())
    passed = (
        values["ae_mse_clean"] < values["dae_mse_clean"]
        and values["dae_mse_corrupted"] < 0.5 * values["ae_mse_corrupted"]
    )
    return Outcome(values=values, passed=passed)


def claim_dead_units_saturated_and_harmless(settings: Settings) -> Outcome:
    """The AE's and the DAE's dead units (output std < 0.05 over the clean test
    images) are saturated (mean |h| > 0.99): their mean pre-activation exceeds 3 times
    its spread over images, more than half of it from the weights of the pixels black in
    > 90 % of training images; freezing them to their mean changes the test MSE by
    < 1 %."""
    models, x_train, x_test, corrupted = _equal_budget_models(settings)
    background = (x_train > -1).float().mean(dim=0).flatten() < 0.1  # (784,)
    values: dict[str, float] = {}
    passed = True
    for name, inputs in (("ae", x_test), ("dae", corrupted)):
        model = models[name]
        linear = model.encoder[-2]
        with torch.no_grad():
            # dead as on the page: output std < 0.05 over the clean test images
            dead = model.encode(x_test).std(dim=0) < 0.05
            a = linear(inputs.flatten(1))  # (n_test, 500)
            h = torch.tanh(a)
            frozen = h.clone()
            frozen[:, dead] = h[:, dead].mean(dim=0)
            part = -linear.weight[:, background.to(a.device)].sum(dim=1)[dead]
            mse, mse_frozen = (
                float(((model.decoder(c).view_as(x_test) - x_test) ** 2).mean())
                for c in (h, frozen)
            )
        row = {
            "dead": int(dead.sum()),
            "saturation": float(h[:, dead].abs().mean()),
            "offset": float(a[:, dead].mean(dim=0).abs().median()),
            "spread": float(a[:, dead].std(dim=0).median()),
            "black_part": float(part.abs().median()),
            "mse": mse,
            "mse_frozen": mse_frozen,
        }
        values.update({f"{name}_{key}": value for key, value in row.items()})
        passed = passed and (
            row["saturation"] > 0.99
            and row["offset"] > 3 * row["spread"]
            and row["black_part"] > 0.5 * row["offset"]
            and abs(mse_frozen - mse) < 0.01 * mse
        )
    return Outcome(values=values, passed=passed)


def _auroc(inlier: torch.Tensor, outlier: torch.Tensor) -> float:
    """AUROC of a score (N,) of 'outlier' (higher = more likely an outlier)."""
    labels = torch.cat([torch.zeros(len(inlier)), torch.ones(len(outlier))])
    return float(roc_auc_score(labels.numpy(), torch.cat([inlier, outlier]).numpy()))


def claim_ood_merged_digits_auroc(settings: Settings) -> Outcome:
    """The DAE's reconstruction error separates uniform noise from test digits (AUROC
    > 0.99) better than merged digits (alpha 0.5 composites of two test digits of
    different classes), and those still with AUROC > 0.6; the distance to the mean
    training digit ranks merged digits as more typical (AUROC < 0.5); the plain
    autoencoder's error separates merged digits better than the DAE's."""
    models, x_train, x_test, _ = _equal_budget_models(settings)
    y_test = load_mnist("test")[1][: settings.profile.n_test]
    generator = torch.Generator().manual_seed(settings.seed)  # the page's draws
    partner = torch.randperm(len(x_test), generator=generator)
    pairs = torch.nonzero(y_test != y_test[partner]).flatten()
    a = x_test[pairs.to(settings.device)]
    b = x_test[partner[pairs].to(settings.device)]
    merged = merge_digits(a, b, alpha=0.5)
    noise = torch.rand(a.shape, generator=generator).mul(2).sub(1).to(settings.device)
    mean_digit = x_train.mean(dim=0).to(settings.device)

    def squared_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((x - target) ** 2).flatten(1).sum(1).cpu()  # (N,)

    scores = {
        "mean": lambda x: squared_error(x, mean_digit),
        "ae": lambda x: squared_error(models["ae"](x), x),
        "dae": lambda x: squared_error(models["dae"](x), x),
    }
    values: dict[str, float] = {}
    with torch.no_grad():
        for name, score in scores.items():
            digits = score(x_test)
            values[f"{name}_auroc_merged"] = _auroc(digits, score(merged))
            values[f"{name}_auroc_noise"] = _auroc(digits, score(noise))
    passed = (
        values["dae_auroc_noise"] > 0.99
        and values["dae_auroc_noise"] > values["dae_auroc_merged"] > 0.6
        and values["mean_auroc_merged"] < 0.5
        and values["ae_auroc_merged"] > values["dae_auroc_merged"]
    )
    return Outcome(values=values, passed=passed)
