"""Lesson 3's claims: the convolutional VAE beats the MLP VAE at the same budget."""

from __future__ import annotations

import torch

from claims import Outcome
from course_lib.data import load_mnist
from course_lib.objectives import test_negative_elbo
from course_lib.settings import Settings
from course_lib.vae import MLPVAE, ConvVAE, fit_vae


def claim_conv_vae_beats_mlp_vae(settings: Settings) -> Outcome:
    """Same budget: the conv VAE (output bias at the mean) beats the MLP VAE's -ELBO.

    Both train 10 epochs on the 60 000 training images (the ``vae`` and ``conv_vae``
    budgets); the conv VAE's output bias starts at the logit of the mean pixel.
    """
    images, labels = load_mnist("train")
    x_test = load_mnist("test")[0][: settings.profile.n_test]
    scores = {}
    for name, model, recipe, options in (
        ("mlp", MLPVAE(), "vae", {}),
        ("conv", ConvVAE(), "conv_vae", {"init_output_bias": True}),
    ):
        torch.manual_seed(settings.seed)
        trained, _ = fit_vae(
            model,
            images,
            labels=labels,
            budget=settings.profile.budget(recipe),
            device=settings.device,
            seed=settings.seed,
            **options,
        )
        scores[f"{name}_test_nelbo"] = test_negative_elbo(
            trained, x_test, seed=settings.seed
        )
    return Outcome(
        values=scores, passed=scores["conv_test_nelbo"] < scores["mlp_test_nelbo"]
    )
