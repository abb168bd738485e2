"""Lesson 4's claims: the 1-D toy GANs (centred, uncentred, minibatch discrimination,
energy-based).

Each claim trains with the lesson's own recipe, arguments and budget
(``settings.profile.budget ("toy_gan")``; the same run names, so seed 0 reuses the
page's cached run) and measures what the page states.
"""

from __future__ import annotations

import torch

from claims import Outcome
from course_lib import gan_objectives, toys
from course_lib.settings import Settings
from course_lib.training import History

GRID = torch.linspace(-2.0, 2.0, 161)  # the page's grid for the centred toy


def _sampler(mean: float):
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return toys.gaussian_1d(n, mean=mean, std=0.5, generator=generator)

    return sample


def _spread(generator: toys.ToyGenerator) -> tuple[float, float]:
    """Mean and spread ratio (std / 0.5) of 5000 samples, as the page measures them."""
    with torch.no_grad():
        samples = generator(
            torch.randn(5000, 1, generator=torch.Generator().manual_seed(100))
        )
    return float(samples.mean()), float(samples.std()) / toys.TARGET_STD


def _uncentred(
    settings: Settings, minibatch_features: int
) -> tuple[float, float, toys.ToyDiscriminator, History]:
    torch.manual_seed(settings.seed)
    name = "toy-gan-uncentred" + ("-minibatch" if minibatch_features else "")
    g, d, history = toys.fit_toy_gan(
        toys.ToyGenerator(1, 1),
        toys.ToyDiscriminator(1, minibatch_features=minibatch_features),
        _sampler(4.0),
        budget=settings.profile.budget("toy_gan"),
        seed=settings.seed,
        frames=20,
        name=name,
    )
    mean, ratio = _spread(g)
    return mean, ratio, d, history


def claim_toy_gan_spread(settings: Settings) -> Outcome:
    """On centred data the 1-D toy GAN's spread is 0.8-1.2x the data's and D is 1/2 +-
    0.1 within 2 std of the data, although the generator has not matched the data: the
    optimal discriminator for it, p_data / (p_data + p_g) with p_g the page's kernel
    density estimate, varies more than 5 times as much as D over the same range."""
    torch.manual_seed(settings.seed)
    g, d, _ = toys.fit_toy_gan(
        toys.ToyGenerator(1, 1),
        toys.ToyDiscriminator(1),
        _sampler(0.0),
        budget=settings.profile.budget("toy_gan"),
        seed=settings.seed,
        grid=GRID,
        frames=20,
        name="toy-gan-centred",
    )
    curves = toys.curves_1d(g, d, GRID)
    near = GRID.abs() < 1.0
    d_min, d_max = float(curves["d"][near].min()), float(curves["d"][near].max())
    d_star = (curves["target"] / (curves["target"] + curves["generated"]))[near]
    d_star_min, d_star_max = float(d_star.min()), float(d_star.max())
    mean, ratio = _spread(g)
    passed = (
        0.8 <= ratio <= 1.2
        and abs(mean) < 0.3
        and 0.4 <= d_min
        and d_max <= 0.6
        and d_star_max - d_star_min > 5 * (d_max - d_min)
    )
    return Outcome(
        values={
            "mean": mean,
            "spread_ratio": ratio,
            "d_min": d_min,
            "d_max": d_max,
            "d_star_min": d_star_min,
            "d_star_max": d_star_max,
        },
        passed=passed,
    )


def _second_layer_on(
    discriminator: toys.ToyDiscriminator, x: torch.Tensor
) -> tuple[int, float]:
    """Second-layer units whose input changes sign over the points ``x`` ``(N,)``, and
    the largest distance of the logit from its least-squares line there (as the page
    measures them)."""
    with torch.no_grad():
        second = discriminator.body[:3](x.reshape(-1, 1))  # (N, width), pre-activation
        logit = discriminator(x.reshape(-1, 1)).double()
    switching = int(((second > 0).any(dim=0) & (second < 0).any(dim=0)).sum())
    design = torch.stack([x.double(), torch.ones_like(x, dtype=torch.float64)], dim=1)
    line = design @ torch.linalg.lstsq(design, logit.reshape(-1, 1)).solution
    return switching, float((line.reshape(-1) - logit).abs().max())


def claim_toy_gan_uncentred_collapse(settings: Settings) -> Outcome:
    """On uncentred data (mean 4) the same GAN collapses at the data, not on the way:
    after the first of its rounds the fakes (the page's fixed-noise outputs) have mean
    within 0.5 of 4 and at least 0.9x the data's spread, every later round keeps the
    mean within 0.5 of 4, and at the end the spread is below 0.7x the data's. Over
    [3, 5] the discriminator's logit is affine: no first-layer kink lies there, no
    second-layer unit changes sign there, and the logit deviates from its
    least-squares line by less than 1e-3 (401 points)."""
    mean, ratio, d, history = _uncentred(settings, 0)
    first = d.body[0]
    kinks = -first.bias.detach() / first.weight.detach()[:, 0]
    in_data = int(((kinks >= 3.0) & (kinks <= 5.0)).sum())
    switching, affine_dev = _second_layer_on(d, torch.linspace(3.0, 5.0, 401))
    rounds = [
        (float(p.mean()), float(p.std()) / toys.TARGET_STD) for p in history.snapshots
    ]
    return Outcome(
        values={
            "mean": mean,
            "spread_ratio": ratio,
            "kinks_in_data": in_data,
            "second_layer_switching": switching,
            "affine_deviation": affine_dev,
            "first_round_mean": rounds[0][0],
            "first_round_spread_ratio": rounds[0][1],
            "round_mean_min": min(m for m, _ in rounds),
            "round_mean_max": max(m for m, _ in rounds),
        },
        passed=ratio < 0.7
        and rounds[0][1] >= 0.9
        and all(abs(m - 4.0) < 0.5 for m, _ in rounds)
        and in_data == 0
        and switching == 0
        and affine_dev < 1e-3,
    )


def claim_toy_gan_minibatch_remedy(settings: Settings) -> Outcome:
    """Minibatch discrimination (4 features) fixes the uncentred collapse: spread
    0.8-1.2x, 0.2 above plain."""
    _, plain_ratio, _, _ = _uncentred(settings, 0)
    mean, ratio, _, _ = _uncentred(settings, 4)
    passed = 0.8 <= ratio <= 1.2 and ratio > plain_ratio + 0.2
    return Outcome(
        values={"mean": mean, "spread_ratio": ratio, "plain_spread_ratio": plain_ratio},
        passed=passed,
    )


def claim_toy_gan_energy(settings: Settings) -> Outcome:
    """The energy-based GAN (autoencoder energy, margin 1) reaches the data: mean within
    0.2, spread 0.7-1.3x; the cost network's loss over the last logged round is the
    margin (within 0.05), so it no longer prefers any energy shape on the data; the
    real batches' mean energy over that round (``d_x``) is below the margin."""
    torch.manual_seed(settings.seed)
    g, _, history = toys.fit_toy_gan(
        toys.ToyGenerator(1, 1),
        toys.AutoencoderEnergy(),
        _sampler(0.0),
        budget=settings.profile.budget("toy_gan"),
        seed=settings.seed,
        grid=GRID,
        frames=20,
        loss="energy",
        margin=1.0,
        name="toy-ebgan",
    )
    mean, ratio = _spread(g)
    real_energy = history["d_x"][-1]  # energies for loss="energy", not probabilities
    final_loss = history["d_loss"][-1]
    passed = (
        abs(mean) <= 0.2
        and 0.7 <= ratio <= 1.3
        and real_energy < 1.0
        and abs(final_loss - 1.0) < 0.05
    )
    return Outcome(
        values={
            "mean": mean,
            "spread_ratio": ratio,
            "real_energy": real_energy,
            "final_cost_loss": final_loss,
        },
        passed=passed,
    )


def claim_energy_marks_data(settings: Settings) -> Outcome:
    """The cost network alone (autoencoder energy, margin 1, the page's 500 Adam steps
    against fakes that stay at N(1.5, 0.5^2)) marks the data: mean energy below 0.2 on
    5000 data draws and above the margin on 5000 fake draws."""
    torch.manual_seed(settings.seed)
    cost_net = toys.AutoencoderEnergy()
    opt = torch.optim.Adam(cost_net.parameters(), lr=1e-3, betas=(0.5, 0.999))
    draws = torch.Generator().manual_seed(settings.seed)
    for _ in range(500):
        real = toys.gaussian_1d(64, mean=0.0, std=0.5, generator=draws)
        fake = toys.gaussian_1d(64, mean=1.5, std=0.5, generator=draws)
        cost = gan_objectives.energy_discriminator_loss(
            cost_net(real), cost_net(fake), margin=1.0
        )
        opt.zero_grad()
        cost.backward()
        opt.step()
    with torch.no_grad():
        values = {
            f"{name}_energy": float(
                cost_net(
                    toys.gaussian_1d(5000, mean=mean, std=0.5, generator=draws)
                ).mean()
            )
            for name, mean in (("real", 0.0), ("fake", 1.5))
        }
    return Outcome(
        values=values,
        passed=values["real_energy"] < 0.2 and values["fake_energy"] > 1.0,
    )


def _mnist_gan(
    settings: Settings,
    name: str,
    *,
    batch_norm: bool,
    loss: str,
    minibatch_features: int = 0,
    n_classes: int | None = None,
    lr: float = 2e-4,
) -> dict[str, float]:
    """Train one of the page's MLP GANs (same names, arguments and budget) and score
    5000 samples."""
    from course_lib import gan, metrics
    from course_lib.data import load_mnist, to_signed
    from course_lib.evaluator import load_evaluator

    images, labels = load_mnist("train")
    torch.manual_seed(settings.seed)
    generator = gan.MLPGenerator(n_classes=n_classes, batch_norm=batch_norm)
    discriminator = gan.MLPDiscriminator(
        n_classes=n_classes,
        minibatch_features=minibatch_features,
        projection=n_classes is not None,
        auxiliary_classifier=n_classes is not None,
    )
    generator, _, _ = gan.fit_gan(
        generator,
        discriminator,
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("mlp_gan"),
        device=settings.device,
        seed=settings.seed,
        loss=loss,
        name=name,
        lr=lr,
    )
    evaluator = load_evaluator(settings.device)
    n = settings.profile.n_eval_samples
    asked = gan.sample_labels(n, 10) if n_classes else None
    samples = gan.sample_images(generator, n, labels=asked, seed=1)
    report = metrics.coverage_report(samples, evaluator, signed=True)
    values = {
        "inception": metrics.inception_score(
            evaluator.probs(samples, signed=True), splits=1
        ),
        "kl_uniform": report.kl_uniform,
        "covered": report.covered,
        "max_share": report.max_share,
    }
    if n_classes:
        values["agreement"] = evaluator.accuracy(samples, asked, signed=True)
    return values


def claim_mnist_conditional_digits(settings: Settings) -> Outcome:
    """The conditional MLP GAN (projection discriminator with an auxiliary classifier,
    AC-GAN) draws all 10 digits: IS >= 5, labels obeyed >= 90 %."""
    v = _mnist_gan(
        settings,
        "mlp-gan-batchnorm-labels",
        batch_norm=True,
        loss="non_saturating",
        n_classes=10,
        lr=8e-4,
    )
    return Outcome(
        values=v,
        passed=v["inception"] >= 5.0 and v["agreement"] >= 0.9 and v["covered"] == 10,
    )


def claim_mnist_collapse_and_remedies(settings: Settings) -> Outcome:
    """The plain MLP GAN collapses partly (KL to uniform > 0.1); minibatch
    discrimination and labels lower the KL."""
    plain = _mnist_gan(
        settings, "mlp-gan-batchnorm", batch_norm=True, loss="non_saturating"
    )
    mbd = _mnist_gan(
        settings,
        "mlp-gan-batchnorm-mbd",
        batch_norm=True,
        loss="non_saturating",
        minibatch_features=32,
    )
    labels = _mnist_gan(
        settings,
        "mlp-gan-batchnorm-labels",
        batch_norm=True,
        loss="non_saturating",
        n_classes=10,
        lr=8e-4,
    )
    values = {
        "kl_plain": plain["kl_uniform"],
        "kl_minibatch": mbd["kl_uniform"],
        "kl_labels": labels["kl_uniform"],
        "is_plain": plain["inception"],
        "is_minibatch": mbd["inception"],
        "is_labels": labels["inception"],
    }
    passed = (
        plain["kl_uniform"] > 0.1
        and mbd["kl_uniform"] < plain["kl_uniform"]
        and labels["kl_uniform"] < plain["kl_uniform"]
    )
    return Outcome(values=values, passed=passed)


def _sample_ring(n: int, generator: torch.Generator) -> torch.Tensor:
    points, _ = toys.ring_of_gaussians(n, generator=generator)
    return points


def claim_ring_modes(settings: Settings) -> Outcome:
    """On the ring of 8 Gaussians the GAN (two hidden layers of 128 units in both
    networks, the page's recipe) hits all 8 modes at some logged point of training
    (1000 fixed-noise samples, ``toys.modes_covered``), and after it first does, the
    count falls below 8 again at a later logged point."""
    torch.manual_seed(settings.seed)
    _, _, history = toys.fit_toy_gan(
        toys.ToyGenerator(latent_dim=2, out_dim=2, hidden=(128, 128)),
        toys.ToyDiscriminator(2, hidden=(128, 128)),
        _sample_ring,
        budget=settings.profile.budget("toy_gan"),
        seed=settings.seed,
        frames=20,
        name="toy-gan-ring",
    )
    coverage = [toys.modes_covered(points) for points in history.snapshots]
    hits = [c.modes_hit for c in coverage]
    first_all = hits.index(8) if 8 in hits else len(hits)
    late_min = min(hits[first_all:], default=8)
    return Outcome(
        values={
            "final_modes": hits[-1],
            "final_quality": coverage[-1].quality,
            "final_counts_min": int(coverage[-1].counts.min()),
            "final_counts_max": int(coverage[-1].counts.max()),
            "min_modes": min(hits),
            "first_round_all_8": first_all,
            "late_min_modes": late_min,
            "rounds": len(hits),
        },
        passed=8 in hits and late_min < 8,
    )
