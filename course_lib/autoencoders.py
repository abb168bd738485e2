"""Deterministic autoencoders for MNIST in ``[-1, 1]``: fully connected, 2-D latent, convolutional.

All three map images ``(N, 1, 28, 28)`` in ``[-1, 1]`` to codes ``(N, d)`` and back, end in
``tanh`` (so reconstructions are in ``[-1, 1]``, black = -1) and are trained by
:func:`fit_autoencoder` with the mean squared error (or, with ``loss="bce"``, the pixel-wise
cross-entropy, see :func:`reconstruction_loss`), optionally on corrupted inputs (a denoising
autoencoder, see :mod:`course_lib.corruption`)::

    images, labels = course_lib.data.load_mnist("train")
    model = Autoencoder(latent_dim=30)
    model, history = fit_autoencoder(model, to_signed(images), labels=labels,
                                     budget=settings.profile.budget("ae"), device=settings.device)

Every model has ``encode``, ``decode``, ``forward`` and a ``config`` dict of its constructor
arguments (part of the cache key).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib._recipe import (
    IMAGE_SHAPE,
    check_codes,
    check_images,
    check_signed_images,
    mlp,
    recipe_config,
    training_subset,
)
from course_lib.batches import TensorBatches
from course_lib.cache import cached_training
from course_lib.corruption import Corruption
from course_lib.errors import CourseInputError
from course_lib.profiles import Budget
from course_lib.training import History, train


class _ImageAutoencoder(nn.Module):
    """Shared ``encode`` / ``decode`` / ``forward`` with input checks; subclasses set the two networks."""

    encoder: nn.Sequential
    decoder: nn.Sequential
    latent_dim: int
    config: dict[str, Any]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` in ``[-1, 1]`` -> codes ``(N, latent_dim)``."""
        return self.encoder(check_images(x, name="x"))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, latent_dim)`` -> images ``(N, 1, 28, 28)`` in ``[-1, 1]`` (tanh output)."""
        return self.decoder(check_codes(z, self.latent_dim)).reshape(-1, *IMAGE_SHAPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct: ``(N, 1, 28, 28)`` in ``[-1, 1]`` -> ``(N, 1, 28, 28)`` in ``[-1, 1]``."""
        return self.decode(self.encode(x))

    def pre_tanh(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's output before its final tanh: ``(N, 1, 28, 28)``, any real value.

        ``forward(x) == tanh(pre_tanh(x))``; the cross-entropy loss works on this value.
        """
        return self.decoder[:-1](self.encode(x)).reshape(-1, *IMAGE_SHAPE)


class BlackAsZero(nn.Module):
    """Map images from ``[-1, 1]`` to ``[0, 1]``: ``(x + 1) / 2``, any shape.

    On this scale a black pixel, background or dropped, is exactly 0, so it adds nothing to the next
    layer's weighted sum and its weights get no gradient from it. MNIST on ``[-1, 1]`` has a mean of
    about -0.74 (most pixels are background at -1); on ``[0, 1]`` about 0.13, much closer to centred.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1) / 2


class Autoencoder(_ImageAutoencoder):
    """The one-hidden-layer autoencoder ``784 -> d -> 784`` with tanh on the code and the output.

    ``d = 30`` is under-complete (the code must compress); ``d = 500`` is over-complete (it could
    copy the input, and only training dynamics or corruption stop it).

    Args:
        latent_dim: ``d``, the size of the code.
        black_is_zero: start the encoder with :class:`BlackAsZero`, so the first layer sees black
            pixels as 0 instead of -1. The model still takes and returns images in ``[-1, 1]``, and
            computes the same family of functions (the bias absorbs the shift); only training changes.
    """

    def __init__(self, latent_dim: int = 30, *, black_is_zero: bool = False) -> None:
        super().__init__()
        if latent_dim < 1:
            raise CourseInputError(f"latent_dim must be at least 1, got {latent_dim}")
        self.latent_dim = latent_dim
        self.config = {"latent_dim": latent_dim, **({"black_is_zero": True} if black_is_zero else {})}
        first = [BlackAsZero()] if black_is_zero else []
        self.encoder = nn.Sequential(*first, nn.Flatten(), nn.Linear(784, latent_dim), nn.Tanh())
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 784), nn.Tanh())

    @property
    def encoder_weight(self) -> torch.Tensor:
        """The encoder's weights ``(d, 784)`` on the CPU, detached: row ``i`` reshaped to 28x28 is kernel ``i``."""
        layer = self.encoder[-2]
        assert isinstance(layer, nn.Linear)
        return layer.weight.detach().cpu()


class Autoencoder2D(_ImageAutoencoder):
    """A deeper autoencoder with a linear 2-D code, for scatter plots of the latent space and decoded grids.

    Encoder ``784 -> hidden[0] -> ... -> 2`` (ReLU between layers, no activation on the code, so it
    can spread out); decoder mirrors it and ends in tanh.

    Args:
        hidden_dims: sizes of the hidden layers from the image side, e.g. ``(512, 128)``.
    """

    def __init__(self, hidden_dims: tuple[int, ...] = (512, 128)) -> None:
        super().__init__()
        hidden_dims = tuple(int(h) for h in hidden_dims)
        if not hidden_dims or min(hidden_dims) < 1:
            raise CourseInputError(f"hidden_dims must be a non-empty tuple of positive sizes, got {hidden_dims}")
        self.latent_dim = 2
        self.config = {"hidden_dims": list(hidden_dims)}
        self.encoder = nn.Sequential(nn.Flatten(), *mlp((784, *hidden_dims, 2)))
        self.decoder = nn.Sequential(*mlp((2, *reversed(hidden_dims), 784)), nn.Tanh())


# ----------------------------------------------------------------------------------------------
# Recipe plumbing shared with course_lib.vae.fit_vae


LOSSES = ("mse", "bce")
"""The reconstruction losses :func:`fit_autoencoder` knows."""


def check_loss(loss: object) -> str:
    """Return ``loss`` if it is one of :data:`LOSSES`, else raise a :class:`CourseInputError` listing them."""
    if loss not in LOSSES:
        raise CourseInputError(f"unknown reconstruction loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return loss


def reconstruction_loss(model: _ImageAutoencoder, x_in: torch.Tensor, x: torch.Tensor,
                        loss: str = "mse") -> torch.Tensor:
    """The loss of one batch: how far ``model(x_in)`` is from the clean target ``x``.

    * ``"mse"``: the mean over pixels of ``(model(x_in) - x) ** 2``, on the ``[-1, 1]`` scale.
    * ``"bce"``: the mean over pixels of the binary cross-entropy on the ``[0, 1]`` scale, with targets
      ``y = (x + 1) / 2`` and predictions ``(1 + tanh h) / 2 = sigmoid(2 h)``, where ``h`` is
      :meth:`~_ImageAutoencoder.pre_tanh`. It is computed from the logits ``2 h``
      (``binary_cross_entropy_with_logits``), which stays exact where the tanh saturates.

    Args:
        model: an autoencoder of this module (its decoder ends in tanh).
        x_in: ``(N, 1, 28, 28)`` inputs in ``[-1, 1]`` (corrupted for a denoising autoencoder).
        x: ``(N, 1, 28, 28)`` clean targets in ``[-1, 1]``.
        loss: ``"mse"`` or ``"bce"``.

    Returns:
        A scalar tensor (with gradient).
    """
    if check_loss(loss) == "mse":
        return nn.functional.mse_loss(model(x_in), x)
    return nn.functional.binary_cross_entropy_with_logits(2 * model.pre_tanh(x_in), (x + 1) / 2)


def fit_autoencoder(
    model: _ImageAutoencoder,
    images: torch.Tensor,
    *,
    budget: Budget,
    device: torch.device | str = "cpu",
    labels: torch.Tensor | None = None,
    seed: int = 0,
    name: str | None = None,
    cache: bool = True,
    corruption: Corruption | None = None,
    lr: float = 1e-3,
    loss: str = "mse",
) -> tuple[_ImageAutoencoder, History]:
    """Train an autoencoder with Adam on the mean squared error (or cross-entropy), or load it from the cache.

    With ``corruption`` it is a denoising autoencoder: the input is ``corruption(x)`` (fresh noise
    every batch), the target is the clean ``x``.

    Args:
        model: an :class:`Autoencoder` or :class:`Autoencoder2D`.
        images: ``(N, 1, 28, 28)`` in ``[-1, 1]`` (``course_lib.data.to_signed`` of MNIST).
        budget: epochs, ``n_train`` and batch size, e.g. ``settings.profile.budget("ae")`` or ``"dae"``.
        device: where to train.
        labels: ``(N,)`` labels: with them a smaller ``budget.n_train`` takes a class-balanced subset
            (without them, a seeded random one).
        seed: seeds the subset, the batch order, the corruption noise.
        name: the run's name in the progress output and the cache (default: the model's class in
            lower case, with ``-denoising`` when ``corruption`` is given).
        cache: load / store the trained weights (:func:`course_lib.cache.cached_training`).
        corruption: e.g. ``Corruption("dropout", 0.5)``; ``None`` for a plain autoencoder.
        lr: Adam learning rate.
        loss: ``"mse"`` (default) or ``"bce"``, see :func:`reconstruction_loss`.

    Returns:
        ``(model, history)``: the trained model (on ``device``, in eval mode) and the per-epoch
        ``loss`` (MSE per pixel on the ``[-1, 1]`` scale, or cross-entropy per pixel in nats).
    """
    check_loss(loss)
    check_signed_images(images)
    train_images, _ = training_subset(images, labels, budget.n_train, seed)
    config = recipe_config(fit_autoencoder, {"model": model}, budget, train_images, seed, loss=loss, lr=lr,
                           corruption=corruption.config() if corruption is not None else None)
    name = name or type(model).__name__.lower() + ("-denoising" if corruption is not None else "")
    model.to(device)

    def run(m: _ImageAutoencoder) -> History:
        torch.manual_seed(seed)
        m.train()
        optimiser = torch.optim.Adam(m.parameters(), lr=lr)
        batches = TensorBatches(train_images, batch_size=budget.batch_size, device=device, seed=seed)

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            (x,) = batch
            x_in = corruption(x, value_range=(-1.0, 1.0)) if corruption is not None else x
            batch_loss = reconstruction_loss(m, x_in, x, loss)
            optimiser.zero_grad()
            batch_loss.backward()
            optimiser.step()
            return {"loss": batch_loss.detach()}

        return train(step, batches, budget.epochs, name=name)

    model, history, _ = cached_training(name, config, model, run, enabled=cache)
    return model.to(device).eval(), history
