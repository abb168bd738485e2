"""Lesson 6's claims: the label-guided adversarial autoencoder's codes follow the
10-Gaussian and the swiss-roll priors, the unlabelled one's discriminator is outrun by
the encoder (and a ten-times faster one is not), and the encoder's two learning rates
set the balance between the prior and reconstruction.

Each claim trains with the lesson's own recipe and budget (``fit_aae`` with the page's
learning rates, ``settings.profile.budget("aae")``, the page's calls, so seed 0
reuses the page's cached run) and measures the codes of the page's test images as the
page does.
"""

from __future__ import annotations

import torch

from claims import Outcome
from course_lib import aae, metrics, priors
from course_lib.data import load_mnist, stratified_subset, to_signed
from course_lib.settings import Settings
from course_lib.training import History

RATE = 5e-4  # the page's regularisation rate (encoder and discriminator)
BALANCE_RATES = (1e-4, RATE, 2e-3)  # the page's sweep of the encoder's rate
PETAL_SCALE = (0.05, 0.1, 0.2)  # the page's MMD bandwidths, times the median distance


def _draws(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _test_images(settings: Settings) -> tuple[torch.Tensor, torch.Tensor]:
    """The page's test images (in ``[-1, 1]``) and their labels."""
    test_images, test_labels = load_mnist("test")
    test_x, test_y = stratified_subset(
        test_images, test_labels, settings.profile.n_test, seed=0
    )
    return to_signed(test_x), test_y


def _guided_run(
    settings: Settings, prior: str, encoder_rate: float = RATE
) -> tuple[aae.AdversarialAutoencoder, History]:
    """The page's label-guided AAE (``train_guided``) for ``prior``, with the encoder's
    regularisation learning rate ``encoder_rate``, and its training history."""
    images, labels = load_mnist("train")
    torch.manual_seed(settings.seed)
    return aae.fit_aae(
        aae.AdversarialAutoencoder(latent_dim=2, n_classes=10),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("aae"),
        device=settings.device,
        prior=prior,
        supervised=True,
        lr_adversarial=encoder_rate,
        lr_discriminator=RATE,
        seed=settings.seed,
    )


def _guided_model(
    settings: Settings, prior: str, encoder_rate: float = RATE
) -> aae.AdversarialAutoencoder:
    """The model of :func:`_guided_run`."""
    return _guided_run(settings, prior, encoder_rate)[0]


def _mixture_reference(
    n: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[float], torch.Tensor]:
    """The page's reference for codes under the 10-Gaussian prior: ``n`` prior draws
    ``(n, 2)`` and their components ``(n,)``, a second independent draw, the MMD
    bandwidths (``PETAL_SCALE`` times the median distance) and the moment-matched blob
    ``(n, 2)``."""
    prior_sample, components = priors.mixture_prior(n, generator=_draws(1))
    second_sample, _ = priors.mixture_prior(n, generator=_draws(2))
    median = metrics.median_bandwidth(prior_sample, second_sample)
    bandwidths = [h * median for h in PETAL_SCALE]
    blob = priors.moment_matched_gaussian(prior_sample, n, generator=_draws(3))
    return prior_sample, components, second_sample, bandwidths, blob


def claim_mixture_codes_match_prior(settings: Settings) -> Outcome:
    """With the 10-Gaussian prior and the labels choosing each digit's petal (Makhzani
    et al. Fig. 4), the codes' MMD^2 to the prior, with kernels as wide as the petals'
    spacing, is at most half the moment-matched blob's; every petal holds 5-15 % of
    the codes, and at least 70 % of the test codes lie nearest to their own digit's
    petal. Neither side of the game won: at the end the discriminator's mean outputs
    on prior samples and on codes (last epoch) are both within 0.4-0.6."""
    test_x, test_y = _test_images(settings)
    model, history = _guided_run(settings, "mixture")
    codes = aae.encode_all(model, test_x)
    n = codes.shape[0]
    prior_sample, _, second_sample, bandwidths, blob = _mixture_reference(n)
    mmd = metrics.mmd(codes, prior_sample, bandwidths)
    blob_mmd = metrics.mmd(blob, prior_sample, bandwidths)
    floor = metrics.mmd(second_sample, prior_sample, bandwidths)
    centres = priors.mixture_means()
    occupancy = metrics.component_occupancy(codes, centres)
    petal = torch.cdist(codes, centres).argmin(dim=1)
    agreement = float((petal == test_y).float().mean())
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
            "petal_is_digit": agreement,
            "d_prior": history.last("d_prior"),
            "d_code": history.last("d_code"),
        },
        passed=ratio <= 0.5
        and low >= 0.05
        and high <= 0.15
        and agreement >= 0.7
        and all(0.4 <= history.last(k) <= 0.6 for k in ("d_prior", "d_code")),
    )


def _mean_output(
    model: aae.AdversarialAutoencoder,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
) -> float:
    """The discriminator's mean output ``D`` on points ``(N, 2)``."""
    device = next(model.parameters()).device
    with torch.no_grad():
        y = None if labels is None else labels.to(device)
        return float(torch.sigmoid(model.discriminate(z.to(device), y)).mean())


def _fresh_discriminator_outputs(
    model: aae.AdversarialAutoencoder, test_codes: torch.Tensor, prior: torch.Tensor
) -> tuple[float, float]:
    """The page's fresh discriminator (``aae.train_code_discriminator``), trained on the
    frozen model's codes of the first 10 000 training images; its mean output on
    ``prior`` and on ``test_codes`` (both ``(N, 2)``)."""
    images, _ = load_mnist("train")
    codes = aae.encode_all(model, to_signed(images[:10_000]))
    critic = aae.train_code_discriminator(codes)
    with torch.no_grad():
        return (
            float(torch.sigmoid(critic(prior)).mean()),
            float(torch.sigmoid(critic(test_codes)).mean()),
        )


def _unlabelled_model(
    settings: Settings, encoder_rate: float, discriminator_rate: float
) -> aae.AdversarialAutoencoder:
    """The page's unlabelled mixture AAE with the given adversarial rates."""
    images, labels = load_mnist("train")
    torch.manual_seed(settings.seed)
    model, _ = aae.fit_aae(
        aae.AdversarialAutoencoder(latent_dim=2),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("aae"),
        device=settings.device,
        prior="mixture",
        lr_adversarial=encoder_rate,
        lr_discriminator=discriminator_rate,
        seed=settings.seed,
    )
    return model


def claim_unlabelled_discriminator_outrun(settings: Settings) -> Outcome:
    """Without labels, at the labelled runs' rates (reconstruction 2e-4, both
    adversarial steps 5e-4) and the same budget, the codes miss the petals (MMD^2 to
    the 10-Gaussian prior above half the blob's; at most 5 of the 10 petal directions
    hold >= 1 % of the codes) while the trained discriminator is flat (the petal-less
    blob within 0.05 of the prior's mean output); a fresh discriminator of the same
    size, trained 500 steps on the frozen codes, rates the test codes more than 0.3
    below prior samples. With the encoder's step at 1e-4 and the discriminator's at
    1e-3, the discriminator rates the blob more than 0.05 below the prior and all ten
    petal directions hold >= 1 % of the codes, which still miss the petals' shape
    (MMD^2 above half the blob's). The label-guided discriminator rates the blob
    (random digits) more than 0.1 below the prior."""
    test_x, test_y = _test_images(settings)
    plain = _unlabelled_model(settings, RATE, RATE)
    slow = _unlabelled_model(settings, 1e-4, 1e-3)
    guided = _guided_model(settings, "mixture")
    codes = aae.encode_all(plain, test_x)
    slow_codes = aae.encode_all(slow, test_x)
    n = codes.shape[0]
    prior_sample, components, _, bandwidths, blob = _mixture_reference(n)
    blob_mmd = metrics.mmd(blob, prior_sample, bandwidths)
    digits = torch.randint(0, 10, (n,), generator=_draws(4))
    centres = priors.mixture_means()
    occupancy = metrics.component_occupancy(codes, centres)
    slow_occupancy = metrics.component_occupancy(slow_codes, centres)
    fresh_prior, fresh_codes = _fresh_discriminator_outputs(plain, codes, prior_sample)
    values = {
        "mmd_over_blob": metrics.mmd(codes, prior_sample, bandwidths) / blob_mmd,
        "petals_hit": int((occupancy >= 0.01).sum()),
        "largest_petal_share": float(occupancy.max()),
        "plain_d_prior": _mean_output(plain, prior_sample),
        "plain_d_blob": _mean_output(plain, blob),
        "plain_d_codes": _mean_output(plain, codes),
        "fresh_d_prior": fresh_prior,
        "fresh_d_codes": fresh_codes,
        "slow_mmd_over_blob": metrics.mmd(slow_codes, prior_sample, bandwidths)
        / blob_mmd,
        "slow_petals_hit": int((slow_occupancy >= 0.01).sum()),
        "slow_d_prior": _mean_output(slow, prior_sample),
        "slow_d_blob": _mean_output(slow, blob),
        "guided_d_prior": _mean_output(guided, prior_sample, components),
        "guided_d_blob": _mean_output(guided, blob, digits),
    }
    passed = (
        values["mmd_over_blob"] > 0.5
        and values["petals_hit"] <= 5
        and abs(values["plain_d_blob"] - values["plain_d_prior"]) < 0.05
        and fresh_prior - fresh_codes > 0.3
        and values["slow_d_prior"] - values["slow_d_blob"] > 0.05
        and values["slow_petals_hit"] == 10
        and values["slow_mmd_over_blob"] > 0.5
        and values["guided_d_blob"] < values["guided_d_prior"] - 0.1
    )
    return Outcome(values=values, passed=passed)


def _roll_offset(codes: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Median distance of ``(N, 2)`` codes to the spiral over the blob's, and each
    code's nearest tenth of the roll ``(N,)``."""
    n = codes.shape[0]
    curve_u = torch.linspace(0.0, 1.0, 2001)
    curve = priors.swiss_roll(curve_u)
    nearest = torch.cdist(codes, curve).min(dim=1)
    prior_sample, _ = priors.swiss_roll_prior(n, generator=_draws(1))
    blob = priors.moment_matched_gaussian(prior_sample, n, generator=_draws(3))
    blob_offset = torch.cdist(blob, curve).min(dim=1).values.median()
    tenth = (curve_u[nearest.indices] * 10).clamp(max=9.999).long()
    return float(nearest.values.median() / blob_offset), tenth


def claim_swiss_roll_codes_on_curve(settings: Settings) -> Outcome:
    """With the swiss-roll prior and the labels choosing each digit's tenth of the roll
    (Makhzani et al. Fig. 4), the codes' median distance to the spiral is at most half
    the moment-matched blob's, and at least 70 % of the test codes lie nearest to their
    own digit's tenth."""
    test_x, test_y = _test_images(settings)
    codes = aae.encode_all(_guided_model(settings, "swiss_roll"), test_x)
    ratio, tenth = _roll_offset(codes)
    agreement = float((tenth == test_y).float().mean())
    return Outcome(
        values={"offset_over_blob": ratio, "tenth_is_digit": agreement},
        passed=ratio <= 0.5 and agreement >= 0.7,
    )


def claim_phase_balance(settings: Settings) -> Outcome:
    """Raising the encoder's regularisation learning rate (1e-4, 5e-4, 2e-3; the
    reconstruction rate 2e-4 and the discriminator's 5e-4 fixed) brings the swiss-roll
    codes closer to the spiral and raises the test reconstruction error, both
    strictly; at 1e-4 the discriminator wins (in the last epoch its mean output on prior
    samples exceeds its mean output on codes by more than 0.2)."""
    test_x, _ = _test_images(settings)
    values: dict[str, float] = {}
    offsets, errors = [], []
    for rate in BALANCE_RATES:
        model, history = _guided_run(settings, "swiss_roll", rate)
        values[f"d_prior_{rate:g}"] = history.last("d_prior")
        values[f"d_code_{rate:g}"] = history.last("d_code")
        codes = aae.encode_all(model, test_x)
        with torch.no_grad():
            decoded = model.decode(codes.to(settings.device)).cpu()
        offsets.append(_roll_offset(codes)[0])
        errors.append(float(((decoded - test_x) ** 2).mean()))
        values[f"offset_over_blob_{rate:g}"] = offsets[-1]
        values[f"test_error_{rate:g}"] = errors[-1]
    falling = all(a > b for a, b in zip(offsets, offsets[1:]))
    rising = all(a < b for a, b in zip(errors, errors[1:]))
    low = BALANCE_RATES[0]
    wins = values[f"d_prior_{low:g}"] > values[f"d_code_{low:g}"] + 0.2
    return Outcome(values=values, passed=falling and rising and wins)
