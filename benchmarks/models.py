"""The model benchmarks of ``python -m benchmarks``: train through the lessons' recipes,
measure.

Each function trains what it needs with the same recipes and run-profile budgets the
lessons use (``fit_vae``, ``fit_autoencoder``, ``fit_gan``, ``fit_aae``), scores the
result with the frozen evaluator and the metrics of :mod:`course_lib.metrics`, and
returns :class:`~benchmarks.harness.Result` rows with their targets. Targets are those
of the evaluation issue and apply to the ``cpu`` and ``gpu`` profiles; under ``smoke``
(one epoch on 600 images) every figure is printed with its target but not judged.

Models shared between benchmarks (the MLP VAE, the MLP GAN) are trained once per run
through the checkpoint cache, which :func:`benchmarks.harness.main` points at a fresh
folder unless asked to reuse the user's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from benchmarks.harness import Result, device_label, register
from course_lib.data import load_mnist, stratified_subset, to_signed, to_unit
from course_lib.settings import Settings
from course_lib.training import History

VAE_NLL_TARGET = 104.5
"""Test negative ELBO (nats) of the 784-400-20 VAE after 10 epochs; pytorch/examples
reaches 105.6."""


class _Recorder:
    """Collects results with the device and profile filled in, judging targets only
    outside ``smoke``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device = device_label(settings)
        self.profile = settings.profile.name
        self.results: list[Result] = []

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        seconds: float,
        target: str = "",
        passed: bool | None = None,
    ) -> None:
        judged = passed if (target and self.profile != "smoke") else None
        self.results.append(
            Result(
                name,
                float(value),
                unit,
                target,
                judged,
                seconds,
                self.device,
                self.profile,
            )
        )


def _timed(function: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def _images_per_second(history: History) -> float:
    """Training images per second over the whole run: all images seen divided by all
    the epochs' seconds (the plain mean of the per-epoch rates would overweight the
    fast epochs of a run whose speed varied)."""
    seconds = history["seconds"]
    seen = sum(r * s for r, s in zip(history["examples_per_second"], seconds))
    return seen / sum(seconds)


def _test_set(settings: Settings) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_mnist("test")
    return stratified_subset(images, labels, settings.profile.n_test, seed=0)


def _train_mlp_vae(settings: Settings):
    from course_lib.vae import MLPVAE, fit_vae

    images, labels = load_mnist("train")
    budget = settings.profile.budget("vae")
    return _timed(
        lambda: fit_vae(
            MLPVAE(),
            images,
            labels=labels,
            budget=budget,
            device=settings.device,
            seed=settings.seed,
        )
    )


@register("vae")
def vae_likelihoods(settings: Settings) -> list[Result]:
    """MLP VAE (784-400-20) and conv VAE: test negative ELBO and importance-weighted NLL
    in nats."""
    from course_lib.objectives import test_negative_elbo, test_negative_iwae
    from course_lib.vae import ConvVAE, fit_vae

    record = _Recorder(settings)
    test_images, _ = _test_set(settings)
    (mlp, mlp_history), mlp_seconds = _train_mlp_vae(settings)
    mlp_nll, seconds = _timed(
        lambda: test_negative_elbo(mlp, test_images, device=settings.device)
    )
    record.add(
        "vae_mlp.test_negative_elbo",
        mlp_nll,
        "nats",
        mlp_seconds + seconds,
        f"<= {VAE_NLL_TARGET}",
        mlp_nll <= VAE_NLL_TARGET,
    )
    iwae, seconds = _timed(
        lambda: test_negative_iwae(mlp, test_images, k=100, device=settings.device)
    )
    record.add(
        "vae_mlp.test_negative_iwae_k100",
        iwae,
        "nats",
        seconds,
        f"< {mlp_nll:.2f} (ELBO)",
        iwae < mlp_nll,
    )
    record.add(
        "vae_mlp.train_images_per_second",
        _images_per_second(mlp_history),
        "images/s",
        mlp_seconds,
    )

    images, labels = load_mnist("train")
    budget = settings.profile.budget("conv_vae")
    (conv, conv_history), conv_seconds = _timed(
        lambda: fit_vae(
            ConvVAE(),
            images,
            labels=labels,
            budget=budget,
            device=settings.device,
            seed=settings.seed,
        )
    )
    conv_nll, seconds = _timed(
        lambda: test_negative_elbo(conv, test_images, device=settings.device)
    )
    record.add(
        "vae_conv.test_negative_elbo",
        conv_nll,
        "nats",
        conv_seconds + seconds,
        f"<= {mlp_nll - 4:.2f} (MLP - 4)",
        conv_nll <= mlp_nll - 4,
    )
    record.add(
        "vae_conv.train_images_per_second",
        _images_per_second(conv_history),
        "images/s",
        conv_seconds,
    )
    return record.results


@register("dae_inpainting")
def dae_inpainting(settings: Settings) -> list[Result]:
    """Over-complete DAE (784-500-784, 50 % pixel dropout) vs Telea and Navier-Stokes
    inpainting.

    The DAE's encoder sees black pixels as 0 (``Autoencoder(500, black_is_zero=True)``,
    the best row of lesson 2's comparison of losses and input codings).
    """
    from course_lib.autoencoders import Autoencoder, fit_autoencoder
    from course_lib.corruption import Corruption
    from course_lib.inpainting import inpainting_table

    record = _Recorder(settings)
    images, labels = load_mnist("train")
    budget = settings.profile.budget("dae_bench")
    (dae, history), train_seconds = _timed(
        lambda: fit_autoencoder(
            Autoencoder(500, black_is_zero=True),
            to_signed(images),
            labels=labels,
            budget=budget,
            device=settings.device,
            corruption=Corruption("dropout", 0.5),
            seed=settings.seed,
        )
    )
    record.add(
        "dae.train_images_per_second",
        _images_per_second(history),
        "images/s",
        train_seconds,
    )

    def inpaint(corrupted: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return to_unit(
                dae(to_signed(corrupted).to(settings.device)).cpu().clamp(-1, 1)
            )

    test_images, _ = _test_set(settings)
    rows, seconds = _timed(
        lambda: inpainting_table(test_images[:1000], inpaint, seed=settings.seed)
    )
    psnr = {(row["drop_rate"], row["method"]): row["psnr"] for row in rows}
    for (rate, method), value in sorted(psnr.items()):
        record.add(
            f"inpainting.p{int(rate * 100)}.{method.replace(' ', '_')}.psnr",
            value,
            "dB",
            seconds,
        )
    raw, pasted = psnr[(0.5, "DAE raw")], psnr[(0.5, "DAE pasted")]
    telea, navier_stokes = psnr[(0.5, "Telea")], psnr[(0.5, "Navier-Stokes")]
    record.add(
        "inpainting.p50.raw_minus_telea",
        raw - telea,
        "dB",
        seconds,
        ">= 2.5",
        raw - telea >= 2.5,
    )
    record.add(
        "inpainting.p50.raw_minus_navier_stokes",
        raw - navier_stokes,
        "dB",
        seconds,
        ">= 1.5",
        raw - navier_stokes >= 1.5,
    )
    record.add(
        "inpainting.p50.pasted_minus_telea",
        pasted - telea,
        "dB",
        seconds,
        ">= 4",
        pasted - telea >= 4,
    )
    return record.results


def _sample_scores(
    record: _Recorder,
    name: str,
    samples: torch.Tensor,
    evaluator,
    floor: float,
    reference: torch.Tensor,
    seconds: float,
    targets: bool,
) -> float:
    """Coverage, Inception Score and Fréchet distance of ``samples`` in [0, 1]; returns
    the distance."""
    from course_lib.metrics import (
        coverage_report,
        frechet_distance_images,
        inception_score,
    )

    coverage = coverage_report(samples, evaluator)
    score = inception_score(evaluator.probs(samples))
    distance = frechet_distance_images(samples, reference, evaluator)
    if targets:
        record.add(
            f"{name}.classes_covered",
            coverage.covered,
            "classes",
            seconds,
            "= 10",
            coverage.covered == 10,
        )
        in_range = 0.05 <= coverage.min_share and coverage.max_share <= 0.15
        record.add(
            f"{name}.min_class_share",
            coverage.min_share,
            "share",
            seconds,
            "5-15 % each",
            in_range,
        )
        record.add(
            f"{name}.max_class_share",
            coverage.max_share,
            "share",
            seconds,
            "5-15 % each",
            in_range,
        )
        record.add(
            f"{name}.class_kl_to_uniform",
            coverage.kl_uniform,
            "nats",
            seconds,
            "<= 0.05",
            coverage.kl_uniform <= 0.05,
        )
        record.add(
            f"{name}.inception_score", score, "", seconds, ">= 9.0", score >= 9.0
        )
        record.add(
            f"{name}.frechet_distance",
            distance,
            "",
            seconds,
            f"<= {5 * floor:.3g} (5 x floor)",
            distance <= 5 * floor,
        )
    else:
        record.add(f"{name}.classes_covered", coverage.covered, "classes", seconds)
        record.add(f"{name}.class_kl_to_uniform", coverage.kl_uniform, "nats", seconds)
        record.add(f"{name}.inception_score", score, "", seconds)
        record.add(f"{name}.frechet_distance", distance, "", seconds)
    return distance


@register("gan_samples")
def gan_samples(settings: Settings) -> list[Result]:
    """DCGAN samples scored by the frozen evaluator, against the MLP GAN and the MLP
    VAE's samples."""
    from course_lib.evaluator import load_evaluator
    from course_lib.gan import (
        DCDiscriminator,
        DCGenerator,
        MLPDiscriminator,
        MLPGenerator,
        fit_gan,
        sample_images,
    )
    from course_lib.metrics import floor_reference, real_data_floor

    record = _Recorder(settings)
    evaluator = load_evaluator(settings.device)
    n = settings.profile.n_eval_samples
    # the floor's random test images (the test set's first images are no random sample)
    reference = floor_reference(n, seed=settings.seed)
    floor, floor_seconds = _timed(
        lambda: real_data_floor(evaluator, len(reference), seed=settings.seed)
    )
    record.add("real_data.frechet_floor", floor, "", floor_seconds)

    images, labels = load_mnist("train")
    signed = to_signed(images)
    (generator, _, history), seconds = _timed(
        lambda: fit_gan(
            DCGenerator(),
            DCDiscriminator(),
            signed,
            labels=labels,
            budget=settings.profile.budget("dcgan_bench"),
            device=settings.device,
            seed=settings.seed,
            ema_decay=0.999,
            r1_weight=10.0,
        )
    )
    record.add(
        "dcgan.train_images_per_second",
        _images_per_second(history),
        "images/s",
        seconds,
    )
    samples = to_unit(sample_images(generator, len(reference), seed=settings.seed))
    dcgan_distance = _sample_scores(
        record, "dcgan", samples, evaluator, floor, reference, seconds, targets=True
    )

    (mlp_generator, _, mlp_history), seconds = _timed(
        lambda: fit_gan(
            MLPGenerator(),
            MLPDiscriminator(),
            signed,
            labels=labels,
            budget=settings.profile.budget("mlp_gan_bench"),
            device=settings.device,
            seed=settings.seed,
        )
    )
    record.add(
        "mlp_gan.train_images_per_second",
        _images_per_second(mlp_history),
        "images/s",
        seconds,
    )
    mlp_samples = to_unit(
        sample_images(mlp_generator, len(reference), seed=settings.seed)
    )
    mlp_distance = _sample_scores(
        record, "mlp_gan", mlp_samples, evaluator, floor, reference, seconds, False
    )

    (vae, _), seconds = _train_mlp_vae(settings)
    with torch.no_grad():
        # in [0, 1]
        vae_samples = vae.sample(
            len(reference), generator=torch.Generator().manual_seed(0)
        ).cpu()
    vae_distance = _sample_scores(
        record, "vae_mlp", vae_samples, evaluator, floor, reference, seconds, False
    )
    record.add(
        "dcgan.frechet_vs_mlp_gan",
        dcgan_distance - mlp_distance,
        "",
        0.0,
        "< 0 (DCGAN better)",
        dcgan_distance < mlp_distance,
    )
    record.add(
        "dcgan.frechet_vs_vae",
        dcgan_distance - vae_distance,
        "",
        0.0,
        "< 0 (DCGAN better)",
        dcgan_distance < vae_distance,
    )
    return record.results


@register("aae_prior")
def aae_prior(settings: Settings) -> list[Result]:
    """AAE with a 10-Gaussian prior: component occupancy, and MMD to the prior vs a
    plain AE and a VAE."""
    from course_lib.aae import AdversarialAutoencoder, encode_all, fit_aae
    from course_lib.autoencoders import Autoencoder2D, fit_autoencoder
    from course_lib.metrics import mmd, prior_match
    from course_lib.priors import gaussian_prior, mixture_means, mixture_prior
    from course_lib.vae import MLPVAE, fit_vae

    record = _Recorder(settings)
    images, labels = load_mnist("train")
    test_images, _ = _test_set(settings)
    budget = settings.profile.budget("aae")
    (aae, history), seconds = _timed(
        lambda: fit_aae(
            AdversarialAutoencoder(latent_dim=2),
            to_signed(images),
            labels=labels,
            budget=budget,
            device=settings.device,
            prior="mixture",
            seed=settings.seed,
        )
    )
    record.add(
        "aae.train_images_per_second",
        _images_per_second(history),
        "images/s",
        seconds,
    )
    codes = encode_all(aae, to_signed(test_images))
    prior_points, _ = mixture_prior(
        len(codes), generator=torch.Generator().manual_seed(settings.seed)
    )
    match = prior_match(codes, prior_points, mixture_means())
    deviation = float(match["max_occupancy_deviation"])
    occupancy = [float(share) for share in match["occupancy"]]
    for component, share in enumerate(occupancy):
        record.add(
            f"aae.occupancy.component{component}",
            share,
            "share",
            seconds,
            "0.10 +- 0.03",
            abs(share - 0.1) <= 0.03,
        )
    record.add(
        "aae.max_occupancy_deviation",
        deviation,
        "share",
        seconds,
        "<= 0.03",
        deviation <= 0.03,
    )
    record.add("aae.mmd2_to_mixture_prior", float(match["mmd2"]), "", seconds)

    # The same 2-D code size for the comparison models; each is compared with the prior
    # it was meant to have.
    gaussian_points = gaussian_prior(
        len(codes), generator=torch.Generator().manual_seed(settings.seed)
    )
    (ae, _), seconds = _timed(
        lambda: fit_autoencoder(
            Autoencoder2D(),
            to_signed(images),
            labels=labels,
            budget=settings.profile.budget("ae"),
            device=settings.device,
            seed=settings.seed,
        )
    )
    with torch.no_grad():
        ae_codes = ae.encode(to_signed(test_images).to(settings.device)).cpu()
    record.add(
        "ae_2d.mmd2_to_standard_normal", mmd(ae_codes, gaussian_points), "", seconds
    )
    (vae, _), seconds = _timed(
        lambda: fit_vae(
            MLPVAE(latent_dim=2),
            images,
            labels=labels,
            budget=settings.profile.budget("vae"),
            device=settings.device,
            seed=settings.seed,
        )
    )
    with torch.no_grad():
        vae_codes, _ = vae.encode(test_images.to(settings.device))
    record.add(
        "vae_2d.mmd2_to_standard_normal",
        mmd(vae_codes.cpu(), gaussian_points),
        "",
        seconds,
    )
    return record.results


@register("mode_collapse")
def mode_collapse(settings: Settings) -> list[Result]:
    """Mode collapse made visible: an MLP GAN setting that collapses, and a fix in the
    same budget.

    Collapse: the plain MLP GAN with the minimax (saturating) generator loss. Fix:
    BatchNorm in the generator plus labels given to both networks, with the
    non-saturating loss. Both are scored by the class histogram of their samples under
    the frozen evaluator (KL to the uniform histogram).
    """
    from course_lib.evaluator import load_evaluator
    from course_lib.gan import MLPDiscriminator, MLPGenerator, fit_gan, sample_images
    from course_lib.metrics import coverage_report

    record = _Recorder(settings)
    evaluator = load_evaluator(settings.device)
    images, labels = load_mnist("train")
    signed = to_signed(images)
    budget = settings.profile.budget("mlp_gan_bench")
    n = settings.profile.n_eval_samples
    settings_to_compare = {
        "collapsing_minimax": (MLPGenerator(), MLPDiscriminator(), "minimax"),
        "fixed_batchnorm_labels": (
            MLPGenerator(batch_norm=True, n_classes=10),
            MLPDiscriminator(n_classes=10),
            "non_saturating",
        ),
    }
    kl = {}
    for name, (generator, discriminator, loss) in settings_to_compare.items():
        (trained, _, history), seconds = _timed(
            lambda g=generator, d=discriminator, lo=loss: fit_gan(
                g,
                d,
                signed,
                labels=labels,
                budget=budget,
                device=settings.device,
                loss=lo,
                seed=settings.seed,
            )
        )
        coverage = coverage_report(
            to_unit(sample_images(trained, n, seed=settings.seed)), evaluator
        )
        kl[name] = coverage.kl_uniform
        record.add(
            f"mlp_gan.{name}.classes_covered", coverage.covered, "classes", seconds
        )
        record.add(
            f"mlp_gan.{name}.max_class_share", coverage.max_share, "share", seconds
        )
        record.add(
            f"mlp_gan.{name}.train_images_per_second",
            _images_per_second(history),
            "images/s",
            seconds,
        )
    record.add(
        "mlp_gan.collapsing_minimax.class_kl_to_uniform",
        kl["collapsing_minimax"],
        "nats",
        0.0,
        "> 0.1 (collapse shown)",
        kl["collapsing_minimax"] > 0.1,
    )
    record.add(
        "mlp_gan.fixed_batchnorm_labels.class_kl_to_uniform",
        kl["fixed_batchnorm_labels"],
        "nats",
        0.0,
        "< 0.1",
        kl["fixed_batchnorm_labels"] < 0.1,
    )
    return record.results
