"""Toy GANs small enough to watch: a 1-D Gaussian target and a 2-D ring of 8 Gaussians.

* 1-D: the target is ``N(mean, std^2)``, centred by default (``N(0, 0.5^2)``: like every
  input to a network, the data should be centred, see :func:`gaussian_1d`); a tiny
  generator turns 1-D noise into numbers. With
  :func:`curves_1d` one plots, on a grid, the target density, the generator's density
  and the discriminator's ``D(x)`` (the picture of Goodfellow et al. 2014, Fig. 1).
* 2-D: 8 Gaussians on a circle (radius 2, standard deviation 0.02, as in Metz et al.
  2017). A generator that covers only some of them has *mode-collapsed*;
  :func:`modes_covered` counts it.

:func:`fit_toy_gan` trains on fresh target samples every step (there is no fixed data
set), with the same step as the image GANs (:func:`course_lib.gan.adversarial_step`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_lib._recipe import code_fingerprint, mlp
from course_lib.cache import cached_training, describe_data
from course_lib.errors import CourseInputError, check_tensor
from course_lib.gan import (
    GANPair,
    MinibatchDiscrimination,
    adversarial_step,
    check_latent,
    judge,
)
from course_lib.gan_objectives import check_loss_kind
from course_lib.profiles import Budget
from course_lib.training import Callback, History, ImageSnapshot, train

TARGET_MEAN = 0.0
TARGET_STD = 0.5
RING_RADIUS = 2.0
RING_STD = 0.02


# --------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------


def gaussian_1d(
    n: int,
    *,
    mean: float = TARGET_MEAN,
    std: float = TARGET_STD,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``(n, 1)`` samples of the 1-D target ``N(mean, std^2)`` (default
    ``N(0, 0.5^2)``).

    Centre the data. A :class:`ToyDiscriminator` is piecewise linear, with its kinks
    spread around 0 at initialisation; data far from 0 (``mean=4``) fall where few kinks
    lie, ``D`` is nearly affine over them and can compare only the means of real and
    generated samples, not their spread.
    """
    if n < 1:
        raise CourseInputError(f"n must be a positive number of samples, got {n}")
    return torch.randn(n, 1, generator=generator) * std + mean


def normal_density(
    x: torch.Tensor, *, mean: float = TARGET_MEAN, std: float = TARGET_STD
) -> torch.Tensor:
    """The density ``exp(-(x - mean)^2 / (2 std^2)) / (std sqrt(2 pi))``, elementwise
    (same shape as ``x``)."""
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def ring_means(n_modes: int = 8, radius: float = RING_RADIUS) -> torch.Tensor:
    """``(n_modes, 2)`` centres ``radius * (cos 2 pi k / K, sin 2 pi k / K)`` of the
    ring's components."""
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float32) / n_modes
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def ring_of_gaussians(
    n: int,
    *,
    n_modes: int = 8,
    radius: float = RING_RADIUS,
    std: float = RING_STD,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of an equal-weight mixture of ``n_modes`` isotropic Gaussians on a
    circle.

    Returns:
        ``(points, component)``: ``(n, 2)`` float32 points and ``(n,)`` int64 component
        indices.
    """
    if n < 1:
        raise CourseInputError(f"n must be a positive number of samples, got {n}")
    component = torch.randint(0, n_modes, (n,), generator=generator)
    points = (
        ring_means(n_modes, radius)[component]
        + torch.randn(n, 2, generator=generator) * std
    )
    return points, component


@dataclass(frozen=True)
class ModeCoverage:
    """How well 2-D samples cover the ring.

    Attributes:
        quality: share of points within ``n_sigma`` standard deviations of their nearest
            mode (0..1).
        modes_hit: number of modes that received at least ``min_share`` of the points.
        counts: ``(n_modes,)`` number of good points at each mode.
    """

    quality: float
    modes_hit: int
    counts: torch.Tensor


def modes_covered(
    points: torch.Tensor,
    *,
    n_modes: int = 8,
    radius: float = RING_RADIUS,
    std: float = RING_STD,
    n_sigma: float = 3.0,
    min_share: float = 0.01,
) -> ModeCoverage:
    """Count the modes of the ring that generated points reach (the usual mode-collapse
    figure).

    A point is *good* when it lies within ``n_sigma * std`` of its nearest mode; a mode
    is *hit* when at least ``min_share`` of all points are good points at that mode.

    Args:
        points: ``(n, 2)`` generated points.
        n_modes, radius, std: the ring the points should cover.
        n_sigma: how close counts as good (3 standard deviations).
        min_share: share of all points a mode needs to count as hit (1 %).

    Returns:
        A :class:`ModeCoverage` (quality in ``[0, 1]``, modes hit in ``0..n_modes``,
        counts per mode).
    """
    check_tensor(points, "points", shape=(None, 2))
    # (n, K)
    distances = torch.cdist(points.detach().float().cpu(), ring_means(n_modes, radius))
    nearest, mode = distances.min(dim=1)
    good = nearest <= n_sigma * std
    counts = torch.bincount(mode[good], minlength=n_modes)
    n = max(points.shape[0], 1)
    return ModeCoverage(
        quality=float(good.float().mean()) if points.shape[0] else 0.0,
        modes_hit=int((counts >= min_share * n).sum()),
        counts=counts,
    )


# --------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------


class ToyGenerator(nn.Module):
    """Small MLP generator: noise ``(N, latent_dim)`` -> points ``(N, out_dim)`` (any
    real values).

    Args:
        latent_dim: noise size.
        out_dim: 1 for the 1-D toy, 2 for the ring.
        hidden: hidden widths (ReLU).
    """

    def __init__(
        self, latent_dim: int = 1, out_dim: int = 1, hidden: Sequence[int] = (16, 16)
    ) -> None:
        super().__init__()
        self.latent_dim, self.out_dim = latent_dim, out_dim
        self.config = {
            "model": "ToyGenerator",
            "latent_dim": latent_dim,
            "out_dim": out_dim,
            "hidden": list(hidden),
        }
        self.net = mlp([latent_dim, *hidden, out_dim], nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Points ``(N, out_dim)`` from noise ``(N, latent_dim)``."""
        return self.net(check_latent(z, self.latent_dim))


class ToyDiscriminator(nn.Module):
    """Small MLP discriminator: points ``(N, in_dim)`` -> logits ``(N,)``.

    Args:
        in_dim: 1 or 2.
        hidden: hidden widths (LeakyReLU(0.2)).
        minibatch_features: ``B > 0`` appends a
            :class:`course_lib.gan.MinibatchDiscrimination` layer (normalised: its
            features lie in ``[0, 1]``).
    """

    def __init__(
        self,
        in_dim: int = 1,
        hidden: Sequence[int] = (32, 32),
        minibatch_features: int = 0,
    ) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.config = {
            "model": "ToyDiscriminator",
            "in_dim": in_dim,
            "hidden": list(hidden),
            "minibatch_features": minibatch_features,
        }
        self.body = mlp(
            [in_dim, *hidden], lambda: nn.LeakyReLU(0.2), activate_last=True
        )
        width = hidden[-1]
        self.minibatch = (
            MinibatchDiscrimination(width, minibatch_features, normalise=True)
            if minibatch_features
            else None
        )
        self.out = nn.Linear(width + minibatch_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N,)`` of points ``(N, in_dim)``; ``D(x) = sigmoid(logit)``."""
        check_tensor(x, "x", shape=(None, self.in_dim))
        h = self.body(x)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.out(h).squeeze(1)


class AutoencoderEnergy(nn.Module):
    """The cost network of an energy-based GAN (Zhao et al. 2017):
    ``E(x) = |x - Dec(Enc(x))|``.

    An autoencoder's reconstruction error is an energy: ``>= 0``, pushed down on data
    and up on fakes (up to the margin) by the energy loss. Once the fakes sit on the
    data that loss no longer depends on the energy there (it equals the margin), so a
    trained energy need not be lowest on the data. Its slope does not fade as the
    energy goes to 0 (the absolute value has slope 1 on either side), so it keeps
    telling the generator where to go.

    Args:
        in_dim: 1 or 2 (the point's size).
        hidden: hidden widths of the encoder and of the decoder (LeakyReLU(0.2)).
        code_dim: size of the autoencoder's code.

    Shapes: points ``(N, in_dim)`` -> energies ``(N,)`` ``>= 0`` (L1 norm of the
    reconstruction error).
    """

    def __init__(
        self, in_dim: int = 1, hidden: Sequence[int] = (32, 32), code_dim: int = 1
    ) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.config = {
            "model": "AutoencoderEnergy",
            "in_dim": in_dim,
            "hidden": list(hidden),
            "code_dim": code_dim,
        }
        self.encoder = mlp([in_dim, *hidden, code_dim], lambda: nn.LeakyReLU(0.2))
        self.decoder = mlp([code_dim, *hidden, in_dim], lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Energies ``(N,)``, ``>= 0``, of points ``(N, in_dim)``."""
        check_tensor(x, "x", shape=(None, self.in_dim))
        return (self.decoder(self.encoder(x)) - x).abs().sum(dim=1)


# --------------------------------------------------------------------------------------
# pictures and training
# --------------------------------------------------------------------------------------


def kde_1d(
    samples: torch.Tensor, grid: torch.Tensor, bandwidth: float | None = None
) -> torch.Tensor:
    """Gaussian kernel density estimate of 1-D ``samples`` ``(n,)`` or ``(n, 1)`` on
    ``grid`` ``(G,)``.

    The bandwidth defaults to Silverman's rule ``1.06 * std * n^(-1/5)`` (at least
    ``1e-3``).

    Returns:
        ``(G,)`` densities ``>= 0`` (integrating to about 1 over a wide enough grid).
    """
    s = samples.detach().reshape(-1).float().cpu()
    g = grid.detach().reshape(-1).float().cpu()
    if bandwidth is None:
        bandwidth = max(1.06 * float(s.std()) * len(s) ** -0.2, 1e-3)
    return normal_density(g[:, None] - s[None, :], mean=0.0, std=bandwidth).mean(dim=1)


@torch.no_grad()
def curves_1d(
    generator: ToyGenerator,
    discriminator: ToyDiscriminator,
    grid: torch.Tensor,
    *,
    mean: float = TARGET_MEAN,
    std: float = TARGET_STD,
    n_samples: int = 10_000,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Everything the 1-D picture needs, on a grid of ``x`` values.

    Args:
        generator, discriminator: a 1-D toy GAN.
        grid: ``(G,)`` points at which to evaluate.
        mean, std: the target Gaussian.
        n_samples: generator samples used for its density estimate.
        seed: seed of the generator's noise.

    Returns:
        ``{"x": (G,), "target": (G,) target density, "generated": (G,) kernel density of
        the generator's samples, "d": (G,) D(x) in [0, 1], "samples": (n_samples,)
        generated values}``.
    """
    check_tensor(grid, "grid", shape=(None,))
    z = torch.randn(
        n_samples, generator.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    device = next(generator.parameters()).device
    samples = generator(z.to(device)).reshape(-1).cpu()
    d = torch.sigmoid(discriminator(grid.reshape(-1, 1).to(device))).cpu()
    return {
        "x": grid,
        "target": normal_density(grid, mean=mean, std=std),
        "generated": kde_1d(samples, grid),
        "d": d,
        "samples": samples,
    }


class _FreshBatches:
    """``steps`` batches of ``batch_size`` fresh target samples per pass (for
    :func:`train`)."""

    def __init__(
        self,
        sample: Callable[
            [int, torch.Generator], torch.Tensor | tuple[torch.Tensor, torch.Tensor]
        ],
        steps: int,
        batch_size: int,
        seed: int,
        device: torch.device,
    ) -> None:
        self.sample, self.steps, self.batch_size, self.device = (
            sample,
            steps,
            batch_size,
            device,
        )
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[tuple[torch.Tensor]]:
        for _ in range(self.steps):
            x = self.sample(self.batch_size, self.generator)
            # samplers with components return (points, component)
            if isinstance(x, tuple):
                x = x[0]
            yield (x.to(self.device),)


def fit_toy_gan(
    generator: ToyGenerator,
    discriminator: ToyDiscriminator | AutoencoderEnergy,
    sample_target: Callable[
        [int, torch.Generator], torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    ],
    *,
    budget: Budget,
    device: torch.device | str = "cpu",
    labels: torch.Tensor | None = None,
    seed: int = 0,
    name: str | None = None,
    cache: bool = True,
    loss: str = "non_saturating",
    margin: float = 1.0,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    frames: int = 20,
    snapshot_n: int = 1000,
    grid: torch.Tensor | None = None,
    callbacks: Sequence[Callback] = (),
) -> tuple[ToyGenerator, ToyDiscriminator | AutoencoderEnergy, History]:
    """Train a toy GAN on fresh samples of a target distribution.

    The ``toy_gan`` budget counts ``budget.epochs`` epochs of ``budget.n_train`` fresh
    points in batches of ``budget.batch_size``, i.e.
    ``epochs * (n_train // batch_size)`` steps, whatever ``frames`` is. They are grouped
    into ``frames`` logged chunks: the history has one row and one snapshot per chunk,
    and the summary line printed by training counts the chunks as its "epochs".

    Args:
        generator, discriminator: e.g. ``ToyGenerator(1, 1)`` and
            ``ToyDiscriminator(1)``.
        sample_target: ``sample_target(n, torch_generator)`` returns ``(n, d)`` target
            samples (or ``(points, component)``), e.g.
            ``lambda n, g: gaussian_1d(n, generator=g)``.
        budget: e.g. ``settings.profile.budget("toy_gan")``.
        device: where to train (the CPU is fastest for these sizes).
        labels: must be ``None``: the toy targets have no labels (the argument exists so
            that every recipe has the same signature).
        seed: seeds the data, the noise and nothing else (build the networks after
            ``setup(seed)``).
        name: the run's name in the progress output and the cache (default
            ``"toy-gan-<loss>"``).
        cache: load/store the trained networks with
            :func:`course_lib.cache.cached_training`; the key describes 4 096 target
            samples drawn with ``seed`` and names the callbacks.
        loss: ``"non_saturating"``, ``"minimax"``, ``"hinge"`` or ``"energy"`` (then
            ``discriminator`` is a cost network returning energies ``>= 0``, e.g.
            :class:`AutoencoderEnergy`).
        margin: the margin ``m`` of the energy loss (ignored by the others).
        lr, betas: Adam settings of both networks.
        frames: number of logged chunks (history rows, snapshots).
        snapshot_n: fixed-noise samples per snapshot.
        grid: for 1-D targets, ``(G,)`` points; the snapshot then is a ``(2, G)``
            tensor: row 0 the kernel density of the generated samples, row 1 ``D(x)``
            (the energy ``E(x)`` for ``"energy"``). Without it (and for 2-D) the
            snapshot is the ``(snapshot_n, d)`` generated points.
        callbacks: extra :func:`course_lib.training.train` callbacks, e.g. one logging
            :func:`modes_covered`.

    Returns:
        ``(generator, discriminator, history)``, both networks on ``device`` in eval
        mode; ``history`` has ``d_loss``, ``g_loss``, ``d_x``, ``d_g_z1``, ``d_g_z2``
        per frame and ``history.snapshots``.
    """
    check_loss_kind(loss)
    if labels is not None:
        raise CourseInputError(
            "fit_toy_gan trains on target samples without labels; drop labels="
        )
    steps_per_epoch = budget.n_train // budget.batch_size if budget.n_train else 1
    total_steps = budget.epochs * max(steps_per_epoch, 1)
    frames = max(1, min(frames, total_steps))
    steps_per_frame = max(1, total_steps // frames)
    device = torch.device(device)
    pair = GANPair(generator, discriminator).to(device)
    fixed_noise = torch.randn(
        snapshot_n,
        generator.latent_dim,
        generator=torch.Generator().manual_seed(seed + 2),
    )
    target = sample_target(4096, torch.Generator().manual_seed(seed))
    config = {
        "generator": generator.config,
        "discriminator": discriminator.config,
        "loss": loss,
        "seed": seed,
        "margin": margin,
        "budget": [budget.epochs, budget.n_train, budget.batch_size],
        "lr": lr,
        "betas": list(betas),
        "frames": frames,
        "snapshot_n": snapshot_n,
        "target": describe_data(target[0] if isinstance(target, tuple) else target),
        "grid": None if grid is None else describe_data(grid),
        "callbacks": [
            getattr(c, "__qualname__", type(c).__qualname__) for c in callbacks
        ],
        "code": code_fingerprint(
            fit_toy_gan, adversarial_step, judge, generator, discriminator
        ),
    }
    run_name = name or f"toy-gan-{loss}"

    def run(pair: nn.Module) -> History:
        pair.train()
        opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
        noise = torch.Generator().manual_seed(seed + 1)

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            (x,) = batch
            z = torch.randn(x.shape[0], generator.latent_dim, generator=noise).to(
                device
            )
            return adversarial_step(
                generator, discriminator, opt_g, opt_d, x, z, loss=loss, margin=margin
            )

        batches = _FreshBatches(
            sample_target, steps_per_frame, budget.batch_size, seed, device
        )
        return train(
            step,
            batches,
            frames,
            name=run_name,
            callbacks=[ImageSnapshot(snapshot), *callbacks],
        )

    def snapshot() -> torch.Tensor:
        points = generator(fixed_noise.to(device)).cpu()
        if grid is None:
            return points
        out = discriminator(grid.reshape(-1, 1).to(device)).cpu()
        return torch.stack(
            [kde_1d(points, grid), out if loss == "energy" else torch.sigmoid(out)]
        )

    _, history, _ = cached_training(run_name, config, pair, run, enabled=cache)
    pair.eval()
    return generator, discriminator, history
