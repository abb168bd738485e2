"""Lesson 6's claims: the adversarial autoencoder's codes follow the 10-Gaussian and the
swiss-roll priors.

Each claim trains with the lesson's own recipe and budget (``fit_aae`` with its default
learning rates, ``settings.profile.budget("aae")``, the page's run names, so seed 0
reuses the page's cached run) and measures the codes of the page's test images as the
page does.
"""

from __future__ import annotations

import torch

from claims import Outcome
from course_lib import aae, metrics, priors
from course_lib.data import load_mnist, stratified_subset, to_signed
from course_lib.settings import Settings


def _codes(settings: Settings, prior: str) -> torch.Tensor:
    """Train the page's AAE for ``prior`` and encode the page's test images."""
    images, labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")
    test_x, _ = stratified_subset(
        test_images, test_labels, settings.profile.n_test, seed=0
    )
    torch.manual_seed(settings.seed)
    model, _ = aae.fit_aae(
        aae.AdversarialAutoencoder(latent_dim=2),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("aae"),
        device=settings.device,
        prior=prior,
        seed=settings.seed,
    )
    return aae.encode_all(model, to_signed(test_x))


def _draws(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def claim_mixture_codes_match_prior(settings: Settings) -> Outcome:
    """With the 10-Gaussian prior the codes' MMD^2 to the prior is at most half the
    moment-matched blob's, and every petal holds 5-15 % of the codes."""
    codes = _codes(settings, "mixture")
    n = codes.shape[0]
    prior_sample, _ = priors.mixture_prior(n, generator=_draws(1))
    second_sample, _ = priors.mixture_prior(n, generator=_draws(2))
    bandwidths = [
        h * metrics.median_bandwidth(prior_sample, second_sample)
        for h in (0.5, 1.0, 2.0)
    ]
    blob = priors.moment_matched_gaussian(prior_sample, n, generator=_draws(3))
    mmd = metrics.mmd(codes, prior_sample, bandwidths)
    blob_mmd = metrics.mmd(blob, prior_sample, bandwidths)
    floor = metrics.mmd(second_sample, prior_sample, bandwidths)
    occupancy = metrics.component_occupancy(codes, priors.mixture_means())
    ratio = mmd / blob_mmd
    low, high = float(occupancy.min()), float(occupancy.max())
    return Outcome(
        values={
            "mmd": mmd,
            "mmd_blob": blob_mmd,
            "mmd_floor": floor,
            "mmd_over_blob": ratio,
            "occupancy_min": low,
            "occupancy_max": high,
        },
        passed=ratio <= 0.5 and low >= 0.05 and high <= 0.15,
    )


def claim_swiss_roll_codes_on_curve(settings: Settings) -> Outcome:
    """With the swiss-roll prior the codes' median distance to the spiral is at most
    half the moment-matched blob's."""
    codes = _codes(settings, "swiss_roll")
    n = codes.shape[0]
    prior_sample, _ = priors.swiss_roll_prior(n, generator=_draws(1))
    curve = priors.swiss_roll(torch.linspace(0.0, 1.0, 2001))
    offset = float(torch.cdist(codes, curve).min(dim=1).values.median())
    blob = priors.moment_matched_gaussian(prior_sample, n, generator=_draws(3))
    blob_offset = float(torch.cdist(blob, curve).min(dim=1).values.median())
    ratio = offset / blob_offset
    return Outcome(
        values={
            "offset_median": offset,
            "blob_offset_median": blob_offset,
            "offset_over_blob": ratio,
        },
        passed=ratio <= 0.5,
    )
