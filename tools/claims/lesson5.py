"""Lesson 5's claims: the DCGAN at the lesson's budget, and the upsampling comparison.

Each claim trains with the lesson's own recipe, arguments and budget
(``settings.profile.budget("dcgan")`` and ``("dcgan_upsample")``; the same run names and
arguments, so seed 0 reuses the page's cached runs) and measures what the page states,
on the page's samples (``profile.n_eval_samples`` of them, noise seed 1).
"""

from __future__ import annotations

import torch

from claims import Outcome
from course_lib import gan, metrics
from course_lib.data import load_mnist, to_signed
from course_lib.evaluator import load_evaluator
from course_lib.settings import Settings
from course_lib.training import History

EMA_DECAY = 0.999  # the page's fit_gan(..., ema_decay=0.999)


def _train(
    settings: Settings,
    generator: gan._Generator,
    recipe: str,
    ema_decay: float | None = None,
) -> tuple[gan._Generator, History]:
    """``generator`` trained by the page's call of ``fit_gan`` on the budget ``recipe``
    (against a fresh ``DCDiscriminator``, default run name), and its history."""
    images, labels = load_mnist("train")
    trained, _, history = gan.fit_gan(
        generator,
        gan.DCDiscriminator(),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget(recipe),
        device=settings.device,
        seed=settings.seed,
        ema_decay=ema_decay,
    )
    return trained, history


def claim_dcgan_lesson_budget(settings: Settings) -> Outcome:
    """At the lesson's budget the DCGAN's samples (the average of the generator's
    weights) have classifier IS >= 8.0 and cover every digit; in the last epoch the
    discriminator does not win: mean D(x) between 0.5 and 0.8, mean D(G(z)) before
    its step between 0.2 and 0.5."""
    torch.manual_seed(settings.seed)
    generator, history = _train(
        settings, gan.DCGenerator(), "dcgan", ema_decay=EMA_DECAY
    )
    evaluator = load_evaluator(settings.device)
    n = settings.profile.n_eval_samples
    samples = gan.sample_images(generator, n, seed=1)
    floor = metrics.real_data_floor(evaluator, n=n)
    report = metrics.coverage_report(samples, evaluator, signed=True)
    inception = metrics.inception_score(evaluator.probs(samples, signed=True))
    distance = metrics.frechet_distance_images(
        samples, to_signed(metrics.floor_reference(n)), evaluator, signed=True
    )
    return Outcome(
        values={
            "inception": inception,
            "frechet": distance,
            "floor": floor,
            "frechet_over_floor": distance / floor,
            "covered": report.covered,
            "min_share": report.min_share,
            "max_share": report.max_share,
            "d_x": history.last("d_x"),
            "d_g_z1": history.last("d_g_z1"),
        },
        passed=inception >= 8.0
        and report.covered == 10
        and 0.5 < history.last("d_x") < 0.8
        and 0.2 < history.last("d_g_z1") < 0.5,
    )


def claim_upsampling_checkerboard(settings: Settings) -> Outcome:
    """The checkerboard statistic (the share of an image's variance in its 2x2 phase
    pattern): untrained, the transposed-convolution generator's is more than 50 times
    the upsampling generator's; training for the same images against the same
    discriminator removes more than 99 % of it; trained, the upsampling generator's is
    at most 1.3 times real digits' and the transposed-convolution generator's stays
    above it, at least 1.5 times real digits'. Real digits: the floor's random test
    images (``metrics.floor_reference``)."""
    n = settings.profile.n_eval_samples
    makers = {"tconv": gan.DCGenerator, "upsample": gan.UpsampleGenerator}
    values = {}
    for key, make in makers.items():
        torch.manual_seed(settings.seed)
        values[f"untrained_{key}"] = metrics.checkerboard(
            gan.sample_images(make(), 256, seed=3)
        )
        torch.manual_seed(settings.seed)
        generator, _ = _train(settings, make(), "dcgan_upsample")
        values[key] = metrics.checkerboard(gan.sample_images(generator, n, seed=1))
    values["real"] = metrics.checkerboard(to_signed(metrics.floor_reference(n)))
    values["untrained_ratio"] = values["untrained_tconv"] / values["untrained_upsample"]
    values["tconv_kept"] = values["tconv"] / values["untrained_tconv"]
    values["upsample_over_real"] = values["upsample"] / values["real"]
    values["tconv_over_real"] = values["tconv"] / values["real"]
    passed = (
        values["untrained_ratio"] > 50
        and values["tconv_kept"] < 0.01
        and values["upsample_over_real"] <= 1.3
        and values["tconv_over_real"] >= 1.5
    )
    return Outcome(values=values, passed=passed)
