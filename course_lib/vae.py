"""Variational autoencoders for MNIST in ``[0, 1]``: fully connected and convolutional.

Each VAE has the shape of pytorch/examples ``vae/main.py``:

* ``encode(x) -> (mu, logvar)``, each ``(N, latent_dim)``: the Gaussian posterior
  ``q(z | x)``;
* ``reparameterise(mu, logvar) -> z``: a sample ``mu + sigma * eps`` in training mode,
  the mean ``mu`` in eval mode (for deterministic reconstructions and plots);
* ``decode(z) -> logits`` ``(N, 1, 28, 28)``: the decoder outputs **logits**, never
  probabilities, so the Bernoulli likelihood is computed stably
  (``torch.sigmoid(logits)`` gives the image);
* ``forward(x) -> (logits, mu, logvar)``;
* ``sample(n)``: images decoded from ``z ~ N(0, I)``;
* ``config``: the constructor arguments (part of the cache key).

The objectives (ELBO, KL, IWAE, test negative ELBO) live in
:mod:`course_lib.objectives`; the recipe :func:`fit_vae` trains any of these models with
them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_lib._recipe import (
    IMAGE_SHAPE,
    check_codes,
    check_images,
    mlp,
    recipe_config,
    training_subset,
)
from course_lib.autoencoders import check_sizes
from course_lib.batches import TensorBatches
from course_lib.cache import cached_training
from course_lib.errors import CourseInputError, check_tensor
from course_lib.objectives import LIKELIHOODS, elbo, sample_gaussian, test_negative_elbo
from course_lib.profiles import Budget
from course_lib.training import History, train


class _VAE(nn.Module):
    """Shared behaviour; subclasses define ``body`` (image -> features), ``to_mu``,
    ``to_logvar`` and ``decoder``."""

    body: nn.Module
    to_mu: nn.Module
    to_logvar: nn.Module
    decoder: nn.Sequential
    latent_dim: int
    config: dict[str, Any]
    # the Adam learning rate fit_vae uses for this model unless told otherwise
    default_lr: float = 1e-3

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(N, 1, 28, 28)`` in ``[0, 1]`` -> ``(mu, logvar)``, each
        ``(N, latent_dim)``."""
        features = self.body(check_images(x, name="x"))
        return self.to_mu(features), self.to_logvar(features)

    def reparameterise(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``, in training mode;
        ``mu`` in eval mode.

        The eval-mode shortcut is for reconstructions and plots only. Never evaluate a
        bound with it: :func:`course_lib.objectives.test_negative_elbo` samples
        explicitly.

        Args:
            mu, logvar: ``(N, latent_dim)``.

        Returns:
            ``z``: ``(N, latent_dim)``.
        """
        if self.training:
            return sample_gaussian(mu, logvar)
        return mu

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, latent_dim)`` -> logits ``(N, 1, 28, 28)`` (any real values;
        ``sigmoid`` gives pixels)."""
        return self.decoder(check_codes(z, self.latent_dim)).reshape(-1, *IMAGE_SHAPE)

    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(N, 1, 28, 28)`` in ``[0, 1]`` ->
        ``(logits (N, 1, 28, 28), mu (N, d), logvar (N, d))``."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterise(mu, logvar)), mu, logvar

    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        """Start the decoder from the mean training image ``(1, 28, 28)`` in ``[0, 1]``
        (per subclass)."""
        raise NotImplementedError

    def _output_bias(self) -> torch.Tensor:
        """The bias of the decoder's last layer (a linear or transposed-convolution
        layer)."""
        last = self.decoder[-1]
        assert (
            isinstance(last, (nn.Linear, nn.ConvTranspose2d)) and last.bias is not None
        )
        return last.bias

    def sample(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Decode ``n`` draws of the prior ``z ~ N(0, I)``: images ``(n, 1, 28, 28)`` in
        ``[0, 1]``.

        The prior is the *standard normal*, drawn with ``torch.randn``. A frequent slip
        (it is in the NYU practicum notebook) is ``torch.rand``, which draws from the
        uniform ``[0, 1)``: every code then lies in one corner of latent space (all
        coordinates positive, mean 0.5, spread 0.29 instead of 1), so the samples show a
        few digit styles instead of the whole prior's variety.

        Args:
            n: number of images.
            generator: optional generator for reproducible samples.

        Returns:
            ``sigmoid(decode(z))``, the Bernoulli means, in ``[0, 1]``.
        """
        if n < 1:
            raise CourseInputError(f"n must be at least 1, got {n}")
        device = next(self.parameters()).device
        z_device = generator.device if generator is not None else device
        z = torch.randn(n, self.latent_dim, generator=generator, device=z_device).to(
            device
        )
        with torch.no_grad():
            return torch.sigmoid(self.decode(z))


def _logit(p: torch.Tensor) -> torch.Tensor:
    """``log(p / (1 - p))`` with ``p`` clamped to ``[1e-3, 1 - 1e-3]`` (pixels that are
    always black stay finite)."""
    p = p.clamp(1e-3, 1 - 1e-3)
    return torch.log(p) - torch.log1p(-p)


class MLPVAE(_VAE):
    """A fully connected VAE: ``784 -> hidden... -> (mu, logvar) in R^d``,
    ``d -> ...hidden -> 784`` logits.

    The default is pytorch/examples' 784-400-20 network (ReLU hidden layers).

    Args:
        latent_dim: ``d``.
        hidden_dims: hidden layer sizes from the image side; the decoder mirrors them.
    """

    def __init__(
        self, latent_dim: int = 20, hidden_dims: tuple[int, ...] = (400,)
    ) -> None:
        super().__init__()
        hidden_dims = check_sizes(latent_dim, hidden_dims)
        self.latent_dim = latent_dim
        self.config = {"latent_dim": latent_dim, "hidden_dims": list(hidden_dims)}
        self.body = nn.Sequential(
            nn.Flatten(), *mlp((784, *hidden_dims), activate_last=True)
        )
        self.to_mu = nn.Linear(hidden_dims[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden_dims[-1], latent_dim)
        self.decoder = nn.Sequential(
            *mlp((latent_dim, *reversed(hidden_dims)), activate_last=True),
            nn.Linear(hidden_dims[0], 784),
        )

    # with the cosine schedule; chosen on a validation split (see fit_vae)
    default_lr = 4e-3

    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        """Set the last layer's bias to the logits of the mean training image, per
        pixel.

        Before any training the decoder then predicts the average digit instead of 50 %
        grey everywhere (a common trick in VAE reference code). Measured on the
        784-400-20 network, 10 epochs, cosine schedule: worth 1.2 nats of test negative
        ELBO at lr 3e-3 (104.6 -> 103.4) but only 0.7 at the default lr 4e-3 (103.9 ->
        103.2), which is why it is off by default.

        Args:
            mean_image: ``(1, 28, 28)`` (or 784 values) in ``[0, 1]``, e.g.
                ``images.mean(0)``.
        """
        check_tensor(mean_image, "mean_image", value_range=(0.0, 1.0))
        if mean_image.numel() != 784:
            raise CourseInputError(
                "mean_image must have 784 values (1, 28, 28), got shape "
                f"{tuple(mean_image.shape)}"
            )
        bias = self._output_bias()
        with torch.no_grad():
            bias.copy_(_logit(mean_image.reshape(784).to(bias)))


class ConvVAE(_VAE):
    """A convolutional VAE: ``28 -> 14 -> 7`` strided convolutions, then a
    transposed-convolution decoder.

    Encoder:
    ``Conv(1, c1, 4, s2) -> ReLU -> Conv(c1, c2, 4, s2) -> ReLU -> Linear(c2*7*7,
    hidden) -> ReLU`` then linear heads ``mu`` and ``logvar``. Decoder: ``Linear(d,
    hidden) -> ReLU -> Linear(hidden, c2*7*7) -> ReLU -> ConvTranspose(c2, c1, 4, s2) ->
    ReLU -> ConvTranspose(c1, 1, 4, s2)`` (logits).

    Args:
        latent_dim: ``d``.
        channels: ``(c1, c2)``.
        hidden_dim: width of the fully connected layer on each side.
    """

    def __init__(
        self,
        latent_dim: int = 20,
        channels: tuple[int, int] = (32, 64),
        hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        c1, c2 = (int(c) for c in channels)
        if min(latent_dim, c1, c2, hidden_dim) < 1:
            raise CourseInputError(
                "latent_dim, channels and hidden_dim must be positive, got "
                f"{latent_dim}, {channels}, {hidden_dim}"
            )
        self.latent_dim = latent_dim
        self.config = {
            "latent_dim": latent_dim,
            "channels": [c1, c2],
            "hidden_dim": hidden_dim,
        }
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1),
            nn.ReLU(),  # 28 -> 14
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),
            nn.ReLU(),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, hidden_dim),
            nn.ReLU(),
        )
        self.to_mu = nn.Linear(hidden_dim, latent_dim)
        self.to_logvar = nn.Linear(hidden_dim, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, c2 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
            nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),  # 14 -> 28, logits
        )

    # with the cosine schedule; chosen on a validation split (see fit_vae)
    default_lr = 2e-3

    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        """Set the (single, shared) bias of the last transposed convolution to the logit
        of the mean pixel.

        A convolution has one bias per channel, not per pixel, so this is the coarse
        version of :meth:`MLPVAE.init_output_bias`: the untrained decoder predicts the
        average grey level.

        Args:
            mean_image: ``(1, 28, 28)`` (or 784 values) in ``[0, 1]``, e.g.
                ``images.mean(0)``.
        """
        check_tensor(mean_image, "mean_image", value_range=(0.0, 1.0))
        with torch.no_grad():
            self._output_bias().fill_(float(_logit(mean_image.mean())))


LR_SCHEDULES = ("cosine", "constant")


def _learning_rate_factor(schedule: str, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the base learning rate at each optimiser step (for
    ``LambdaLR``)."""
    if schedule == "constant":
        return lambda step: 1.0
    return lambda step: (
        0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    )


def vae_step(
    model: _VAE,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    *,
    likelihood: str = "bernoulli",
    beta: float = 1.0,
    sigma: float = 0.1,
) -> dict[str, torch.Tensor]:
    """One training step on a batch ``x`` ``(N, 1, 28, 28)`` in ``[0, 1]``: minimise the
    negative (beta-)ELBO averaged over the batch.

    Returns:
        ``loss`` (negative ELBO), ``recon`` (``-log p(x | z)``) and ``kl``, each a
        detached scalar in nats per image.
    """
    terms = elbo(model, x, likelihood=likelihood, beta=beta, sigma=sigma, check=False)
    loss = -terms.elbo.mean()  # nats per image
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return {
        "loss": loss.detach(),
        "recon": -terms.log_likelihood.mean().detach(),
        "kl": terms.kl.mean().detach(),
    }


def fit_vae(
    model: _VAE,
    images: torch.Tensor,
    *,
    budget: Budget,
    device: torch.device | str = "cpu",
    labels: torch.Tensor | None = None,
    seed: int = 0,
    name: str | None = None,
    cache: bool = True,
    likelihood: str = "bernoulli",
    beta: float = 1.0,
    sigma: float = 0.1,
    lr: float | None = None,
    lr_schedule: str = "cosine",
    init_output_bias: bool = False,
    kl_warmup: float = 0.0,
    test_images: torch.Tensor | None = None,
) -> tuple[_VAE, History]:
    """Train a VAE with Adam on the negative (beta-)ELBO per image, or load it from the
    cache.

    The loss of one batch is ``mean_i [-log p(x_i | z_i) + beta * KL_i]`` (nats per
    image; the same gradient direction as pytorch/examples' sum over the batch, which
    Adam makes scale-free).

    Why a cosine schedule and these learning rates. Each model's peak learning rate is
    chosen on a validation split by ``benchmarks/experiments/vae_lr_validation.py``:
    trained on the first 50 000 training images (the ``cpu`` budget: batch 128, 10
    epochs, cosine decay, seed 0), scored by the negative ELBO of the last 10 000
    training images (``benchmarks/cpu/vae_lr_validation.txt``). MLP: lr 1e-3 108.95,
    2e-3 106.57, **4e-3 105.29**, 8e-3 111.25 nats; ConvVAE (output bias at the mean):
    1e-3 100.04, **2e-3 98.73**, 4e-3 102.97 nats. The test images are never used to
    choose. (pytorch/examples keeps a constant 1e-3.)

    Args:
        model: an :class:`MLPVAE` or :class:`ConvVAE`.
        images: ``(N, 1, 28, 28)`` in ``[0, 1]`` (``load_mnist`` output, not binarised).
        budget: epochs, ``n_train``, batch size, e.g.
            ``settings.profile.budget("vae")``.
        device: where to train.
        labels: ``(N,)`` labels: with them a smaller ``budget.n_train`` takes a
            class-balanced subset (without them, a seeded random one).
        seed: seeds the subset, batch order and sampling noise.
        name: the run's name in the progress output and the cache (default: the model's
            class in lower case).
        cache: load / store the trained weights.
        likelihood: ``"bernoulli"``, ``"gaussian"`` or ``"laplace"`` (see
            :mod:`course_lib.objectives`).
        beta: KL weight (1 = the ELBO).
        sigma: fixed sigma / scale of the Gaussian / Laplace likelihood.
        lr: Adam's (peak) learning rate; ``None`` takes ``model.default_lr`` (4e-3 for
            :class:`MLPVAE`, 2e-3 for :class:`ConvVAE`: the peaks chosen on the
            validation split, above).
        lr_schedule: ``"cosine"`` (decay to 0 over the run, once per step) or
            ``"constant"`` (pytorch/examples: lr 1e-3, constant).
        init_output_bias: start the decoder from the mean training image
            (``model.init_output_bias``).
        kl_warmup: KL warm-up: the fraction of the optimiser steps (0 to 1) over which
            the KL weight rises linearly from ``beta / steps`` to ``beta``
            (Bowman et al. 2016); 0 (the default) trains at ``beta`` from the first
            step. The logged ``loss`` uses the weight of each step.
        test_images: optional ``(M, 1, 28, 28)`` in ``[0, 1]``; if given, the test
            negative ELBO (``z`` sampled,
            :func:`course_lib.objectives.test_negative_elbo`) is logged every epoch as
            ``test_loss``.

    Returns:
        ``(model, history)``: the model on ``device`` in eval mode, and per-epoch
        ``loss`` (negative beta-ELBO), ``recon`` (``-log p(x|z)``) and ``kl``, in nats
        per image, plus ``test_loss`` when ``test_images`` is given.
    """
    check_images(images, value_range=(0.0, 1.0))
    if test_images is not None:
        check_images(test_images, name="test_images", value_range=(0.0, 1.0))
    if likelihood not in LIKELIHOODS:
        raise CourseInputError(
            f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}"
        )
    if lr_schedule not in LR_SCHEDULES:
        raise CourseInputError(
            f"unknown lr_schedule {lr_schedule!r}; choose one of "
            f"{', '.join(LR_SCHEDULES)}"
        )
    if beta < 0:
        raise CourseInputError(f"beta must be >= 0, got {beta}")
    if not 0.0 <= kl_warmup <= 1.0:
        raise CourseInputError(
            f"kl_warmup is a fraction of the run, from 0 to 1; got {kl_warmup}"
        )
    lr = model.default_lr if lr is None else lr
    train_images, _ = training_subset(images, labels, budget.n_train, seed)
    config = recipe_config(
        (fit_vae, vae_step, elbo),
        {"model": model},
        budget,
        train_images,
        seed,
        likelihood=likelihood,
        beta=beta,
        sigma=sigma if likelihood != "bernoulli" else None,
        lr=lr,
        lr_schedule=lr_schedule,
        init_output_bias=init_output_bias,
        kl_warmup=kl_warmup,
        test_images=test_images is not None,
    )
    name = name or type(model).__name__.lower()
    model.to(device)

    def run(m: _VAE) -> History:
        torch.manual_seed(seed)
        m.train()
        if init_output_bias:
            m.init_output_bias(train_images.mean(0))
        optimiser = torch.optim.Adam(m.parameters(), lr=lr)
        batches = TensorBatches(
            train_images, batch_size=budget.batch_size, device=device, seed=seed
        )
        total_steps = budget.epochs * len(batches)
        factor = _learning_rate_factor(lr_schedule, total_steps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
        warmup_steps = max(1, round(kl_warmup * total_steps))

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            (x,) = batch
            done = scheduler.last_epoch  # optimiser steps so far
            weight = beta * min(1.0, (done + 1) / warmup_steps) if kl_warmup else beta
            losses = vae_step(
                m, optimiser, x, likelihood=likelihood, beta=weight, sigma=sigma
            )
            scheduler.step()
            return losses

        callbacks = []
        if test_images is not None:

            def log_test_loss(epoch: int, history: History) -> None:
                value = test_negative_elbo(
                    m, test_images, likelihood=likelihood, sigma=sigma, seed=seed
                )
                history.log(test_loss=value)

            callbacks.append(log_test_loss)
        return train(step, batches, budget.epochs, name=name, callbacks=callbacks)

    model, history, _ = cached_training(name, config, model, run, enabled=cache)
    return model.to(device).eval(), history
