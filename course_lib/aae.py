"""The adversarial autoencoder (Makhzani et al. 2016, "Adversarial Autoencoders").

An autoencoder whose codes are pushed, by a GAN played *in the code space*, to look like
samples of a chosen prior ``p(z)`` (:mod:`course_lib.priors`). The encoder is the GAN's
generator; the discriminator sees codes, not images. Unlike a VAE, the prior needs
no density: any distribution one can sample from works (a mixture of 10 Gaussians, a
swiss roll, both 2-D; the standard Gaussian ``N(0, I)`` in any code size).

Training alternates, on every mini-batch, the two phases of the paper:

1. **reconstruction**: encoder and decoder minimise the mean squared error between ``x``
   and ``decode(encode(x))`` (images in ``[-1, 1]``, a ``tanh`` decoder);
2. **regularisation**: (a) the discriminator learns to tell prior samples (real, label
   1) from codes of the batch (fake, label 0); (b) the encoder, as generator, is updated
      to fool it
   (non-saturating loss ``-log D(encode(x))``).

Supervised variant (``supervised=True``, the model built with ``n_classes``): each
image's label picks the mixture component (or swiss-roll segment) its code must occupy.
The prior sample paired with a labelled image is drawn from the component of that label,
and the discriminator receives the one-hot label next to the code (Makhzani et al., Fig.
3), so codes of digit ``k`` are only compared with prior samples of component ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._recipe import (
    IMAGE_SHAPE,
    check_images,
    check_label_values,
    check_labels,
    mlp,
    recipe_config,
    training_subset,
)
from course_lib.batches import TensorBatches
from course_lib.cache import cached_training
from course_lib.errors import CourseInputError, check_tensor
from course_lib.gan_objectives import discriminator_loss, generator_loss_non_saturating
from course_lib.priors import PRIORS, mixture_prior, sample_prior
from course_lib.profiles import Budget
from course_lib.training import History, train


class AdversarialAutoencoder(nn.Module):
    """Fully connected encoder, decoder and code discriminator.

    * encoder: ``(N, 1, 28, 28)`` in ``[-1, 1]`` ->
      ``784 -> hidden (ReLU) -> latent_dim`` (a linear code);
    * decoder: ``(N, latent_dim)`` -> ``hidden (ReLU) -> 784`` -> tanh ->
      ``(N, 1, 28, 28)`` in ``[-1, 1]``;
    * discriminator: ``(N, latent_dim)`` codes (plus a one-hot label if ``n_classes``)
      -> ``disc_hidden (LeakyReLU 0.2)`` -> ``(N,)`` logits.

    Args:
        latent_dim: code size: 2 for the 2-D priors (codes that can be plotted against
            them), any size for the ``"gaussian"`` prior ``N(0, I)``.
        hidden: hidden widths of the encoder (the decoder mirrors them).
        disc_hidden: hidden widths of the discriminator.
        n_classes: ``K`` for the supervised variant (the discriminator also sees the
            label).
        image_shape: ``(C, H, W)`` of the images.
    """

    def __init__(
        self,
        latent_dim: int = 2,
        hidden: Sequence[int] = (512, 512),
        disc_hidden: Sequence[int] = (256, 256),
        *,
        n_classes: int | None = None,
        image_shape: Sequence[int] = IMAGE_SHAPE,
    ) -> None:
        super().__init__()
        self.latent_dim, self.n_classes, self.image_shape = (
            latent_dim,
            n_classes,
            tuple(image_shape),
        )
        self.config: dict[str, Any] = {
            "model": "AdversarialAutoencoder",
            "latent_dim": latent_dim,
            "hidden": list(hidden),
            "disc_hidden": list(disc_hidden),
            "n_classes": n_classes,
            "image_shape": list(image_shape),
        }
        pixels = int(torch.tensor(image_shape).prod())
        self.encoder = mlp([pixels, *hidden, latent_dim], nn.ReLU)
        self.decoder = nn.Sequential(
            mlp([latent_dim, *reversed(hidden), pixels], nn.ReLU), nn.Tanh()
        )
        self.discriminator = mlp(
            [latent_dim + (n_classes or 0), *disc_hidden, 1], lambda: nn.LeakyReLU(0.2)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, latent_dim)`` of images ``(N, C, H, W)`` in ``[-1, 1]``."""
        # shape only: fit_aae checked the data's range once
        check_images(x, self.image_shape, "x")
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(N, C, H, W)`` in ``[-1, 1]`` from codes ``(N, latent_dim)``."""
        if isinstance(z, torch.Tensor) and (
            z.dim() != 2 or z.shape[1] != self.latent_dim
        ):
            raise CourseInputError(
                f"codes must have shape (N, {self.latent_dim}) (this model's "
                f"latent_dim), got {tuple(z.shape)}"
            )
        check_tensor(z, "z")
        return self.decoder(z).view(-1, *self.image_shape)

    def discriminate(
        self, z: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits ``(N,)`` that codes ``(N, latent_dim)`` are prior samples (labels
        ``(N,)`` if supervised)."""
        check_tensor(z, "z", shape=(None, self.latent_dim))
        labels = check_labels(
            labels, z.shape[0], self.n_classes, "the code discriminator"
        )
        if labels is not None and self.n_classes is not None:
            z = torch.cat([z, F.one_hot(labels, self.n_classes).to(z.dtype)], dim=1)
        return self.discriminator(z).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions ``(N, C, H, W)`` in ``[-1, 1]`` of images in ``[-1, 1]``."""
        return self.decode(self.encode(x))


def fit_aae(
    model: AdversarialAutoencoder,
    images: torch.Tensor,
    *,
    budget: Budget,
    device: torch.device | str = "cpu",
    labels: torch.Tensor | None = None,
    seed: int = 0,
    name: str | None = None,
    cache: bool = True,
    prior: str = "mixture",
    supervised: bool = False,
    lr: float = 2e-4,
    lr_adversarial: float = 2e-4,
    lr_discriminator: float | None = None,
) -> tuple[AdversarialAutoencoder, History]:
    """Train an adversarial autoencoder in the two phases of Makhzani et al., or load it
    from the cache.

    Per mini-batch ``x``: (1) reconstruction step of encoder and decoder on
    ``mean (decode(encode(x)) - x)^2``; (2a) discriminator step on prior samples (real)
    against ``encode(x)`` (fake); (2b) encoder step with the non-saturating loss
    ``-log D(encode(x))``.

    Args:
        model: an :class:`AdversarialAutoencoder` (with ``n_classes`` for the supervised
            variant).
        images: ``(N, C, H, W)`` images in ``[-1, 1]`` (use
            :func:`course_lib.data.to_signed`).
        budget: e.g. ``settings.profile.budget("aae")``.
        device: where to train.
        labels: ``(N,)`` int64 labels; used for a class-balanced subset, and required if
            ``supervised``.
        seed: seeds the subset, batch order and prior samples.
        name: run and cache name (default ``"aae-<prior>"`` or
            ``"aae-<prior>-supervised"``).
        cache: load/store with :func:`course_lib.cache.cached_training`.
        prior: ``"gaussian"`` (``N(0, I)`` in ``model.latent_dim`` dimensions),
            ``"mixture"`` (10 Gaussians) or ``"swiss_roll"`` (both 2-D,
            :mod:`course_lib.priors`).
        supervised: the label picks the prior component of each code (needs a prior with
            10 components, ``model.n_classes = 10`` and labels).
        lr: Adam learning rate of the reconstruction phase. All three rates fall
            linearly to zero over the run (Makhzani et al. also lowered theirs). Adam
            moves every weight by about its learning rate per step whatever the loss's
            size, so the two optimisers sharing the encoder are balanced by their rates
            alone. Measured on the ``cpu`` budget ("aae": 10 epochs of 20 000 images),
            seeds 0-2. With the labels guiding the swiss roll and the discriminator at
            5e-4, the encoder's adversarial rate at 1e-4, 5e-4 and 2e-3 put the test
            codes at 0.83-0.94x, 0.24-0.30x and 0.13-0.21x the moment-matched blob's
            median distance from the spiral, and the test reconstruction error at
            0.191-0.193, 0.206-0.211 and 0.213-0.215. Without labels (mixture prior,
            both adversarial rates 5e-4) the encoder outruns the discriminator: it
            stays flat (mean output 0.50 on prior samples, blob and codes) while the
            codes gather in 2-4 of the ten petal directions (MMD^2 10-31x the blob's),
            although a fresh discriminator trained on the frozen codes tells them from
            the prior (0.89-0.99 against 0.01-0.12). With the encoder at 1e-4 and the
            discriminator at 1e-3 the codes reach all ten directions but not the
            petals' shape (MMD^2 0.77-0.87x the blob's). With 8-d codes and the
            Gaussian prior (lesson 7's "matched" budget) the discriminator at ten times
            the encoder's rate (lr 1e-3, 5e-4, 5e-3) makes the test codes fill the
            prior (covariance eigenvalues 0.86-1.15); at equal rates of 5e-4 they
            collapsed into a few directions (seed 0).
        lr_adversarial: Adam learning rate (``beta1 = 0.5``) of the encoder's generator
            step (and of the discriminator unless ``lr_discriminator`` is given).
        lr_discriminator: a different learning rate for the discriminator.

    Returns:
        ``(model, history)``: the model on ``device`` in eval mode, and per-epoch
        ``recon`` (mean squared error per pixel), ``d_loss``, ``g_loss``,
        ``d_prior`` (mean ``D`` on prior samples) and ``d_code`` (mean ``D`` on codes),
        with ``seconds`` and ``examples_per_second``.
    """
    if prior not in PRIORS:
        raise CourseInputError(
            f"unknown prior {prior!r}; choose one of {', '.join(PRIORS)}"
        )
    if not isinstance(model, AdversarialAutoencoder):
        raise CourseInputError("fit_aae needs an AdversarialAutoencoder")
    if model.latent_dim != 2 and prior != "gaussian":
        raise CourseInputError(
            f"the {prior!r} prior is 2-D, so the model needs latent_dim=2, got "
            f"{model.latent_dim}; for larger codes use prior='gaussian'"
        )
    # once, not per batch
    check_images(images, model.image_shape, value_range=(-1.0, 1.0))
    if supervised:
        if prior == "gaussian":
            raise CourseInputError(
                "the supervised AAE needs a prior with components: 'mixture' or "
                "'swiss_roll'"
            )
        if model.n_classes != 10 or labels is None:
            raise CourseInputError(
                "the supervised AAE needs labels and a model built with n_classes=10 "
                "(one prior component per digit)"
            )
    elif model.n_classes is not None:
        raise CourseInputError(
            "the model was built with n_classes (supervised) but supervised=False; "
            "pass supervised=True or build it without n_classes"
        )
    if labels is not None:
        check_label_values(labels, images.shape[0], 10)
    images, labels = training_subset(images, labels, budget.n_train, seed)
    device = torch.device(device)
    # the step's code, for the cache key
    code = (fit_aae, discriminator_loss, generator_loss_non_saturating)
    config = recipe_config(
        code,
        {"model": model},
        budget,
        images,
        seed,
        prior=prior,
        supervised=supervised,
        lr=lr,
        lr_adversarial=lr_adversarial,
        lr_discriminator=lr_discriminator,
    )
    cache_name = name or f"aae-{prior}" + ("-supervised" if supervised else "")
    model.to(device)

    def run(model: AdversarialAutoencoder) -> History:
        torch.manual_seed(seed)
        draws = torch.Generator().manual_seed(seed)
        autoencoder = list(model.encoder.parameters()) + list(
            model.decoder.parameters()
        )
        opt_recon = torch.optim.Adam(autoencoder, lr=lr)
        opt_d = torch.optim.Adam(
            model.discriminator.parameters(),
            lr=lr_discriminator or lr_adversarial,
            betas=(0.5, 0.999),
        )
        opt_g = torch.optim.Adam(
            model.encoder.parameters(), lr=lr_adversarial, betas=(0.5, 0.999)
        )
        tensors = (images,) if labels is None else (images, labels)
        batches = TensorBatches(
            *tensors, batch_size=budget.batch_size, device=device, seed=seed
        )
        # every rate falls linearly to zero over the run: at a constant rate each Adam
        # step moves the codes by more than a petal's width, and they stay a cloud
        total_steps = budget.epochs * len(batches)
        schedules = [
            torch.optim.lr_scheduler.LambdaLR(
                optimiser, lambda i: max(0.0, 1.0 - i / total_steps)
            )
            for optimiser in (opt_recon, opt_d, opt_g)
        ]

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            x = batch[0]
            y = batch[1] if supervised else None
            # 1. reconstruction phase
            recon = F.mse_loss(model(x), x)
            opt_recon.zero_grad(set_to_none=True)
            recon.backward()
            opt_recon.step()
            # 2a. regularisation phase, discriminator: prior samples are "real", codes
            # are "fake"
            if prior == "gaussian":  # N(0, I) in any code size
                z_prior = torch.randn(x.shape[0], model.latent_dim, generator=draws)
            else:
                z_prior, _ = sample_prior(
                    prior,
                    x.shape[0],
                    labels=None if y is None else y.cpu(),
                    generator=draws,
                )
            z_prior = z_prior.to(device)
            prior_logits = model.discriminate(z_prior, y)
            code_logits = model.discriminate(model.encode(x).detach(), y)
            d_loss = discriminator_loss(prior_logits, code_logits)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            # 2b. regularisation phase, generator: the encoder learns to fool the
            # discriminator
            g_loss = generator_loss_non_saturating(
                model.discriminate(model.encode(x), y)
            )
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            for schedule in schedules:
                schedule.step()
            return {
                "recon": recon.detach(),
                "d_loss": d_loss.detach(),
                "g_loss": g_loss.detach(),
                "d_prior": torch.sigmoid(prior_logits.detach()).mean(),
                "d_code": torch.sigmoid(code_logits.detach()).mean(),
            }

        model.train()
        return train(step, batches, budget.epochs, name=cache_name)

    _, history, _ = cached_training(cache_name, config, model, run, enabled=cache)
    return model.eval(), history


@torch.no_grad()
def encode_all(
    model: AdversarialAutoencoder, images: torch.Tensor, batch_size: int = 1000
) -> torch.Tensor:
    """Codes ``(N, latent_dim)`` on the CPU of images ``(N, C, H, W)`` in ``[-1, 1]``,
    in eval mode."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        return torch.cat(
            [
                model.encode(images[i : i + batch_size].to(device)).cpu()
                for i in range(0, images.shape[0], batch_size)
            ]
        )
    finally:
        model.train(was_training)


def train_code_discriminator(
    codes: torch.Tensor, *, steps: int = 500, batch_size: int = 100, lr: float = 5e-4
) -> nn.Module:
    """A new code discriminator, of the size and optimiser of lesson 6's, trained on
    frozen codes against samples of the 10-Gaussian mixture prior (lesson 6's test of
    whether a discriminator *can* tell collapsed codes from the prior).

    Args:
        codes: ``(N, 2)`` codes of a trained encoder (e.g. from :func:`encode_all`).
        steps: Adam steps (``beta1 = 0.5``), each on ``batch_size`` prior samples
            ("real") and as many codes drawn at random ("fake").
        batch_size: points of each kind per step.
        lr: Adam learning rate.

    Returns:
        The discriminator in eval mode: ``(N, 2) -> (N,)`` logits. Seeded (initial
        weights from ``torch.manual_seed(0)``, draws from seed 5), so reruns agree.
    """
    codes = check_tensor(codes, "codes", shape=(None, 2))
    torch.manual_seed(0)
    critic = AdversarialAutoencoder(latent_dim=2).discriminator
    optimiser = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.999))
    draws = torch.Generator().manual_seed(5)
    for _ in range(steps):
        z_prior, _ = mixture_prior(batch_size, generator=draws)
        z_code = codes[torch.randint(len(codes), (batch_size,), generator=draws)]
        loss = discriminator_loss(critic(z_prior), critic(z_code))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return critic.eval()
