"""Lesson 7's claims: the three families compared at equal training images.

Each family trains for the DCGAN's lesson-5 budget (``profile.budget("dcgan")``: the
same images seen, the same batch size): the convolutional VAE and the DCGAN with 100-d
codes, the AAE with lesson 6's 2-d mixture prior (the course's priors are 2-D). The
DCGAN is lesson 5's recipe call exactly (seed 0 reuses lesson 5's cached run). The
models are scored as the page scores them: the same number of samples, the frozen
classifier's features, a class-balanced test reference.
"""

from __future__ import annotations

import torch

from claims import Outcome
from course_lib import aae, gan, metrics, priors
from course_lib.data import load_mnist, stratified_subset, to_signed, to_unit
from course_lib.evaluator import load_evaluator
from course_lib.settings import Settings
from course_lib.vae import ConvVAE, fit_vae

LATENT = 100  # the DCGAN's noise size (DCGenerator's default), given to the VAE too


def _matched_vae(settings: Settings) -> ConvVAE:
    """The page's convolutional VAE: 100-d codes, the DCGAN's budget."""
    images, labels = load_mnist("train")
    torch.manual_seed(settings.seed)
    vae, _ = fit_vae(
        ConvVAE(latent_dim=LATENT),
        images,
        labels=labels,
        budget=settings.profile.budget("dcgan"),
        device=settings.device,
        seed=settings.seed,
        name="conv-vae-matched",
        init_output_bias=True,
    )
    return vae


def _matched_dcgan(settings: Settings) -> gan.DCGenerator:
    """Lesson 5's DCGAN, by lesson 5's recipe call (seed ``settings.seed``)."""
    images, labels = load_mnist("train")
    torch.manual_seed(settings.seed)
    generator, _, _ = gan.fit_gan(
        gan.DCGenerator(),
        gan.DCDiscriminator(),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("dcgan"),
        device=settings.device,
        seed=settings.seed,
    )
    return generator


def _matched_aae(settings: Settings) -> aae.AdversarialAutoencoder:
    """Lesson 6's AAE (2-d codes, mixture prior) at the DCGAN's budget."""
    images, labels = load_mnist("train")
    torch.manual_seed(settings.seed)
    model, _ = aae.fit_aae(
        aae.AdversarialAutoencoder(latent_dim=2),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("dcgan"),
        device=settings.device,
        seed=settings.seed,
        prior="mixture",
        name="aae-mixture-matched",
    )
    return model


def _samples(settings: Settings) -> dict[str, torch.Tensor]:
    """``n_eval`` samples in ``[0, 1]`` of each of the page's three matched models."""
    vae = _matched_vae(settings)
    dcgan = _matched_dcgan(settings)
    adversarial_ae = _matched_aae(settings)
    if dcgan.latent_dim != LATENT:
        raise ValueError(
            f"the page gives the VAE the DCGAN's {dcgan.latent_dim}-d codes"
        )
    n = settings.profile.n_eval_samples
    draw = torch.Generator().manual_seed(1)
    coins = torch.Generator().manual_seed(2)
    with torch.no_grad():
        codes, _ = priors.mixture_prior(n, generator=draw)
        vae_mean = vae.sample(n, generator=draw).cpu()
        return {
            "vae": vae_mean,
            "vae_draw": torch.bernoulli(vae_mean, generator=coins),
            "dcgan": to_unit(gan.sample_images(dcgan, n, seed=1)),
            "aae": to_unit(adversarial_ae.decode(codes.to(settings.device)).cpu()),
        }


def claim_gan_precise_vae_covering(settings: Settings) -> Outcome:
    """At equal training images the DCGAN has the higher precision and the VAE the
    higher recall (k = 3, classifier features)."""
    samples = _samples(settings)
    n = settings.profile.n_eval_samples
    test_images, test_labels = load_mnist("test")
    reference, _ = stratified_subset(test_images, test_labels, n, seed=0)
    evaluator = load_evaluator(settings.device)
    reference_features = evaluator.features(reference)
    floor = metrics.real_data_floor(evaluator, n=n)
    values: dict[str, float] = {"fd_floor": floor}
    for name, images in samples.items():
        features = evaluator.features(images)
        pr = metrics.precision_recall(reference_features, features)
        values[f"{name}_precision"] = pr.precision
        values[f"{name}_recall"] = pr.recall
        fd = metrics.frechet_distance(features, reference_features)
        values[f"{name}_fd_over_floor"] = fd / floor
        values[f"{name}_sharpness"] = float(metrics.sharpness(images).mean())
    return Outcome(
        values=values,
        passed=values["dcgan_precision"] > values["vae_precision"]
        and values["vae_recall"] > values["dcgan_recall"],
    )
