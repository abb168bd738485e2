"""Deterministic autoencoders for MNIST in ``[-1, 1]``: fully connected, 2-D latent,
convolutional.

All three map images ``(N, 1, 28, 28)`` in ``[-1, 1]`` to codes ``(N, d)`` and back, end
in ``tanh`` (so reconstructions are in ``[-1, 1]``, black = -1) and are trained by
:func:`fit_autoencoder` with the mean squared error (or, with ``loss="bce"``, the
pixel-wise cross-entropy, see :func:`reconstruction_loss`), optionally on corrupted
inputs (a denoising
autoencoder, see :mod:`course_lib.corruption`)::

    images, labels = course_lib.data.load_mnist("train")
    model = Autoencoder(latent_dim=30)
    model, history = fit_autoencoder(model, to_signed(images), labels=labels,
                                     budget=settings.profile.budget("ae"),
                                     device=settings.device)

Every model has ``encode``, ``decode``, ``forward`` and a ``config`` dict of its
constructor arguments (part of the cache key).
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
from course_lib.errors import CourseInputError, check_tensor
from course_lib.profiles import Budget
from course_lib.training import History, train


class _ImageAutoencoder(nn.Module):
    """Shared ``encode`` / ``decode`` / ``forward`` with input checks; subclasses set
    the two networks."""

    encoder: nn.Sequential
    decoder: nn.Sequential
    latent_dim: int
    config: dict[str, Any]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` in ``[-1, 1]`` -> codes ``(N, latent_dim)``."""
        return self.encoder(check_images(x, name="x"))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, latent_dim)`` -> images ``(N, 1, 28, 28)`` in ``[-1, 1]`` (tanh
        output)."""
        return self.decoder(check_codes(z, self.latent_dim)).reshape(-1, *IMAGE_SHAPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct: ``(N, 1, 28, 28)`` in ``[-1, 1]`` -> ``(N, 1, 28, 28)`` in
        ``[-1, 1]``."""
        return self.decode(self.encode(x))

    def pre_tanh(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's output before its final tanh: ``(N, 1, 28, 28)``, any real
        value.

        ``forward(x) == tanh(pre_tanh(x))``; the cross-entropy loss works on this value.
        """
        return self.decoder[:-1](self.encode(x)).reshape(-1, *IMAGE_SHAPE)


class BlackAsZero(nn.Module):
    """Map images from ``[-1, 1]`` to ``[0, 1]``: ``(x + 1) / 2``, any shape.

    On this scale a black pixel, background or dropped, is exactly 0, so it adds nothing
    to the next layer's weighted sum and its weights get no gradient from it. MNIST on
    ``[-1, 1]`` has a mean of about -0.74 (most pixels are background at -1); on
    ``[0, 1]`` about 0.13, much closer to centred.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1) / 2


class Autoencoder(_ImageAutoencoder):
    """The one-hidden-layer autoencoder ``784 -> d -> 784`` with tanh on the code and
    the output.

    ``d = 30`` is under-complete (the code must compress); ``d = 500`` is over-complete
    (it could copy the input, and only training dynamics or corruption stop it).

    Args:
        latent_dim: ``d``, the size of the code.
        black_is_zero: start the encoder with :class:`BlackAsZero`, so the first layer
            sees black pixels as 0 instead of -1. The model still takes and returns
            images in ``[-1, 1]``, and computes the same family of functions (the bias
            absorbs the shift); only training changes.
    """

    def __init__(self, latent_dim: int = 30, *, black_is_zero: bool = False) -> None:
        super().__init__()
        if latent_dim < 1:
            raise CourseInputError(f"latent_dim must be at least 1, got {latent_dim}")
        self.latent_dim = latent_dim
        self.config: dict[str, Any] = {"latent_dim": latent_dim}
        if black_is_zero:
            self.config["black_is_zero"] = True
        first = [BlackAsZero()] if black_is_zero else []
        self.encoder = nn.Sequential(
            *first, nn.Flatten(), nn.Linear(784, latent_dim), nn.Tanh()
        )
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 784), nn.Tanh())

    @property
    def encoder_weight(self) -> torch.Tensor:
        """The encoder's weights ``(d, 784)`` on the CPU, detached: row ``i`` reshaped
        to 28x28 is kernel ``i``."""
        layer = self.encoder[-2]
        assert isinstance(layer, nn.Linear)
        return layer.weight.detach().cpu()


def check_sizes(latent_dim: int, hidden_dims: tuple[int, ...]) -> tuple[int, ...]:
    """Check a code size and hidden widths; return the widths as a tuple of ints.

    Raises:
        CourseInputError: when ``latent_dim < 1`` or ``hidden_dims`` is empty or has a
            width < 1.
    """
    widths = tuple(int(h) for h in hidden_dims)
    if latent_dim < 1 or not widths or min(widths) < 1:
        raise CourseInputError(
            "latent_dim must be at least 1 and hidden_dims a non-empty tuple of "
            "positive sizes, "
            f"got {latent_dim} and {hidden_dims}"
        )
    return widths


class DeepAutoencoder(_ImageAutoencoder):
    """A deeper autoencoder with a linear code: ``784 -> hidden... -> d`` and back.

    Encoder ``784 -> hidden[0] -> ... -> d`` (ReLU between layers, no activation on the
    code, so no code unit can saturate); the decoder mirrors it and ends in tanh. The
    depth is what lets it beat PCA: a one-hidden-layer autoencoder decodes with a
    (squashed) linear map of its code, so it can do little better than the best linear
    code.

    Args:
        latent_dim: ``d``, the size of the code.
        hidden_dims: sizes of the hidden layers from the image side, e.g.
            ``(512, 128)``.
    """

    def __init__(
        self, latent_dim: int = 30, hidden_dims: tuple[int, ...] = (512, 128)
    ) -> None:
        super().__init__()
        hidden_dims = check_sizes(latent_dim, hidden_dims)
        self.latent_dim = latent_dim
        self.config = {"latent_dim": latent_dim, "hidden_dims": list(hidden_dims)}
        self.encoder = nn.Sequential(
            nn.Flatten(), *mlp((784, *hidden_dims, latent_dim))
        )
        self.decoder = nn.Sequential(
            *mlp((latent_dim, *reversed(hidden_dims), 784)), nn.Tanh()
        )


class Autoencoder2D(DeepAutoencoder):
    """:class:`DeepAutoencoder` with a 2-D code, for scatter plots of the latent space
    and decoded grids.

    Args:
        hidden_dims: sizes of the hidden layers from the image side, e.g.
            ``(512, 128)``.
    """

    def __init__(self, hidden_dims: tuple[int, ...] = (512, 128)) -> None:
        super().__init__(2, hidden_dims)
        self.config = {"hidden_dims": self.config["hidden_dims"]}


class LinearAutoencoder(_ImageAutoencoder):
    """The linear autoencoder ``x -> W_e x + b_e -> W_d h + b_d``: no activation
    anywhere.

    Trained on the squared error it has no local minima other than the PCA solution: at
    the optimum the columns of ``W_d`` span the subspace of the first ``d`` principal
    axes (Baldi and Hornik, 1989). Its outputs are not limited to ``[-1, 1]``; train it
    with ``loss="mse"``.

    Args:
        latent_dim: ``d``, the size of the code.
    """

    def __init__(self, latent_dim: int = 10) -> None:
        super().__init__()
        if latent_dim < 1:
            raise CourseInputError(f"latent_dim must be at least 1, got {latent_dim}")
        self.latent_dim = latent_dim
        self.config = {"latent_dim": latent_dim}
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 784))

    def pre_tanh(self, x: torch.Tensor) -> torch.Tensor:
        """Not defined: a linear autoencoder has no tanh, so it trains with
        ``loss="mse"`` only."""
        raise CourseInputError(
            "a LinearAutoencoder has no tanh output, so the cross-entropy loss does "
            "not apply; train it with loss='mse'"
        )

    @property
    def decoder_weight(self) -> torch.Tensor:
        """``W_d``, ``(784, d)`` on the CPU, detached: its columns span the learned
        subspace."""
        layer = self.decoder[0]
        assert isinstance(layer, nn.Linear)
        return layer.weight.detach().cpu()


class PCA:
    """Principal component analysis of flattened images: the best linear code of every
    size.

    Projecting a centred image onto the first ``d`` principal axes and back gives the
    smallest squared error any linear encoder and decoder with a ``d``-dimensional code
    can reach on the images it was fitted to.

    Args:
        images: ``(N, 1, 28, 28)`` (any value range) the axes are fitted to.

    Attributes:
        mean: ``(784,)`` the mean image.
        components: ``(min(N, 784), 784)`` the principal axes as rows, largest variance
            first.
        variances: ``(min(N, 784),)`` the variance of the images along each axis.
    """

    def __init__(self, images: torch.Tensor) -> None:
        x = check_images(images).reshape(len(images), 784).float()
        if len(x) < 2:
            raise CourseInputError(f"PCA needs at least 2 images, got {len(x)}")
        self.mean = x.mean(dim=0)
        _, singular_values, self.components = torch.linalg.svd(
            x - self.mean, full_matrices=False
        )
        self.variances = singular_values**2 / (len(x) - 1)

    def _axes(self, d: int) -> torch.Tensor:
        if not 0 <= d <= len(self.components):
            raise CourseInputError(
                f"d must be between 0 and {len(self.components)}, got {d}"
            )
        return self.components[:d].T  # (784, d)

    def encode(self, images: torch.Tensor, d: int) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` -> their coordinates ``(N, d)`` on the first ``d``
        axes."""
        x = check_images(images).reshape(len(images), 784).to(self.mean)
        return (x - self.mean) @ self._axes(d)

    def reconstruct(self, images: torch.Tensor, d: int) -> torch.Tensor:
        """Project onto the first ``d`` axes and back: ``(N, 1, 28, 28)`` ->
        ``(N, 1, 28, 28)``."""
        code = self.encode(images, d)
        return (self.mean + code @ self._axes(d).T).reshape(-1, *IMAGE_SHAPE)


# --------------------------------------------------------------------------------------
# Recipe plumbing shared with course_lib.vae.fit_vae


LOSSES = ("mse", "bce")
"""The reconstruction losses :func:`fit_autoencoder` knows."""


def check_loss(loss: object) -> str:
    """Return ``loss`` if it is one of :data:`LOSSES`, else raise a
    :class:`CourseInputError` listing them."""
    if loss not in LOSSES:
        raise CourseInputError(
            f"unknown reconstruction loss {loss!r}; choose one of {', '.join(LOSSES)}"
        )
    return loss


def reconstruction_loss(
    model: _ImageAutoencoder, x_in: torch.Tensor, x: torch.Tensor, loss: str = "mse"
) -> torch.Tensor:
    """The loss of one batch: how far ``model(x_in)`` is from the clean target ``x``.

    * ``"mse"``: the mean over pixels of ``(model(x_in) - x) ** 2``, on the ``[-1, 1]``
      scale.
    * ``"bce"``: the mean over pixels of the binary cross-entropy on the ``[0, 1]``
      scale, with targets ``y = (x + 1) / 2`` and predictions
      ``(1 + tanh h) / 2 = sigmoid(2 h)``, where ``h`` is
      :meth:`~_ImageAutoencoder.pre_tanh`. It is computed from the logits ``2 h``
      (``binary_cross_entropy_with_logits``), which stays exact where the tanh
      saturates.

    Args:
        model: an autoencoder of this module (its decoder ends in tanh).
        x_in: ``(N, 1, 28, 28)`` inputs in ``[-1, 1]`` (corrupted for a denoising
            autoencoder).
        x: ``(N, 1, 28, 28)`` clean targets in ``[-1, 1]``.
        loss: ``"mse"`` or ``"bce"``.

    Returns:
        A scalar tensor (with gradient).
    """
    if check_loss(loss) == "mse":
        return nn.functional.mse_loss(model(x_in), x)
    logits, targets = 2 * model.pre_tanh(x_in), (x + 1) / 2  # the [0, 1] scale
    return nn.functional.binary_cross_entropy_with_logits(logits, targets)


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
    """Train an autoencoder with Adam on the mean squared error (or cross-entropy), or
    load it from the cache.

    With ``corruption`` it is a denoising autoencoder: the input is ``corruption(x)``
    (fresh noise every batch), the target is the clean ``x``.

    Args:
        model: an :class:`Autoencoder`, :class:`DeepAutoencoder`, :class:`Autoencoder2D`
            or :class:`LinearAutoencoder`.
        images: ``(N, 1, 28, 28)`` in ``[-1, 1]`` (``course_lib.data.to_signed`` of
            MNIST).
        budget: epochs, ``n_train`` and batch size, e.g.
            ``settings.profile.budget("ae")`` or ``"dae"``.
        device: where to train.
        labels: ``(N,)`` labels: with them a smaller ``budget.n_train`` takes a
            class-balanced subset (without them, a seeded random one).
        seed: seeds the subset, the batch order, the corruption noise.
        name: the run's name in the progress output and the cache (default: the model's
            class in lower case, with ``-denoising`` when ``corruption`` is given).
        cache: load / store the trained weights
            (:func:`course_lib.cache.cached_training`).
        corruption: e.g. ``Corruption("dropout", 0.5)``; ``None`` for a plain
            autoencoder.
        lr: Adam learning rate.
        loss: ``"mse"`` (default) or ``"bce"``, see :func:`reconstruction_loss`.

    Returns:
        ``(model, history)``: the trained model (on ``device``, in eval mode) and the
        per-epoch ``loss`` (MSE per pixel on the ``[-1, 1]`` scale, or cross-entropy per
        pixel in nats).
    """
    check_loss(loss)
    check_signed_images(images)
    train_images, _ = training_subset(images, labels, budget.n_train, seed)
    config = recipe_config(
        (fit_autoencoder, reconstruction_loss),
        {"model": model},
        budget,
        train_images,
        seed,
        loss=loss,
        lr=lr,
        corruption=corruption.config() if corruption is not None else None,
    )
    name = name or type(model).__name__.lower() + (
        "-denoising" if corruption is not None else ""
    )
    model.to(device)

    def run(m: _ImageAutoencoder) -> History:
        torch.manual_seed(seed)
        m.train()
        optimiser = torch.optim.Adam(m.parameters(), lr=lr)
        batches = TensorBatches(
            train_images, batch_size=budget.batch_size, device=device, seed=seed
        )

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            (x,) = batch
            x_in = (
                corruption(x, value_range=(-1.0, 1.0)) if corruption is not None else x
            )
            batch_loss = reconstruction_loss(m, x_in, x, loss)
            optimiser.zero_grad()
            batch_loss.backward()
            optimiser.step()
            return {"loss": batch_loss.detach()}

        return train(step, batches, budget.epochs, name=name)

    model, history, _ = cached_training(name, config, model, run, enabled=cache)
    return model.to(device).eval(), history


# --------------------------------------------------------------------------------------
# A denoiser for 2-D points: the score-matching view of lesson 2


class PointDenoiser(nn.Module):
    """A denoising autoencoder for 2-D points: an MLP ``2 -> hidden -> hidden -> 2``
    (SiLU).

    Trained on points corrupted by Gaussian noise of standard deviation ``sigma``, it
    predicts the clean point. The optimal such denoiser is
    ``r(x) = x + sigma^2 grad log p_sigma(x)``, where ``p_sigma`` is the data density
    blurred by the noise (Tweedie's formula; Vincent, 2011), so ``(r(x) - x) / sigma^2``
    estimates the score of ``p_sigma``: see :meth:`score`.

    Args:
        hidden: width of the two hidden layers.
    """

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        if hidden < 1:
            raise CourseInputError(f"hidden must be a positive width, got {hidden}")
        self.config = {"hidden": hidden}
        self.net = mlp((2, hidden, hidden, 2), nn.SiLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Noisy points ``(N, 2)`` -> estimates of the clean points ``(N, 2)``."""
        return self.net(check_tensor(x, "x", shape=(None, 2)))

    def score(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """The estimated score ``(r(x) - x) / sigma^2`` of the noisy density,
        ``(N, 2)``."""
        return (self(x) - x) / sigma**2


def fit_point_denoiser(
    model: PointDenoiser,
    points: torch.Tensor,
    *,
    budget: Budget,
    device: torch.device | str = "cpu",
    labels: torch.Tensor | None = None,
    seed: int = 0,
    name: str | None = None,
    cache: bool = True,
    sigma: float,
    lr: float = 1e-3,
) -> tuple[PointDenoiser, History]:
    """Train a :class:`PointDenoiser` with Adam on ``mean ||r(x + sigma eps) - x||^2``
    (fresh noise).

    Args:
        model: the denoiser.
        points: ``(N, 2)`` clean training points.
        budget: epochs over the points, ``n_train`` and batch size, e.g.
            ``settings.profile.budget("toy_dae")``.
        device: where to train.
        labels: ``(N,)`` component labels: with them a smaller ``budget.n_train`` takes
            a balanced subset (without them, a seeded random one).
        seed: seeds the subset, the batch order and the noise.
        name: the run's name in the progress output and the cache (default
            ``"point-denoiser"``).
        cache: load / store the trained weights
            (:func:`course_lib.cache.cached_training`).
        sigma: standard deviation of the Gaussian corruption, > 0.
        lr: Adam learning rate.

    Returns:
        ``(model, history)``: the trained model on ``device`` in eval mode and the
        per-epoch ``loss`` (squared error per coordinate).
    """
    check_tensor(points, "points", shape=(None, 2))
    if sigma <= 0:
        raise CourseInputError(f"sigma must be a positive noise level, got {sigma}")
    train_points, _ = training_subset(points, labels, budget.n_train, seed)
    config = recipe_config(
        fit_point_denoiser,
        {"model": model},
        budget,
        train_points,
        seed,
        sigma=sigma,
        lr=lr,
    )
    name = name or "point-denoiser"
    model.to(device)

    def run(m: PointDenoiser) -> History:
        torch.manual_seed(seed)
        m.train()
        optimiser = torch.optim.Adam(m.parameters(), lr=lr)
        batches = TensorBatches(
            train_points, batch_size=budget.batch_size, device=device, seed=seed
        )

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            (x,) = batch
            noisy = x + sigma * torch.randn_like(x)
            loss = nn.functional.mse_loss(m(noisy), x)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            return {"loss": loss.detach()}

        return train(step, batches, budget.epochs, name=name)

    model, history, _ = cached_training(name, config, model, run, enabled=cache)
    return model.to(device).eval(), history


@torch.no_grad()
def langevin_chain(
    model: PointDenoiser,
    start: torch.Tensor,
    *,
    sigma: float,
    steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample by iterated denoising: Langevin steps with the denoiser's score, step size
    ``sigma^2``.

    ``x <- x + (sigma^2 / 2) score(x) + sigma z = x + (r(x) - x) / 2 + sigma z``,
    ``z ~ N(0, I)``. With an exact score the chain's stationary distribution approaches
    ``p_sigma``, the data blurred by the noise, as the step size shrinks.

    Args:
        model: a trained :class:`PointDenoiser`.
        start: ``(N, 2)`` starting points (any, e.g. uniform in a box).
        sigma: the noise level the model was trained with.
        steps: number of steps, >= 1.
        generator: for the noise ``z`` (on the CPU).

    Returns:
        ``(N, 2)`` the points after ``steps`` steps, on the CPU.
    """
    check_tensor(start, "start", shape=(None, 2))
    if steps < 1 or sigma <= 0:
        raise CourseInputError(
            f"steps must be >= 1 and sigma > 0, got {steps} and {sigma}"
        )
    device = next(model.parameters()).device
    x = start.detach().float().cpu()
    for _ in range(steps):
        noise = torch.randn(x.shape, generator=generator)
        x = x + 0.5 * (model(x.to(device)).cpu() - x) + sigma * noise
    return x


def mixture_score(x: torch.Tensor, means: torch.Tensor, std: float) -> torch.Tensor:
    """The score ``grad_x log p(x)`` of an equal-weight mixture of isotropic Gaussians.

    ``grad log p(x) = sum_k w_k(x) (mu_k - x) / std^2`` with ``w_k(x)`` the posterior
    weight of component ``k`` (a softmax of ``-||x - mu_k||^2 / (2 std^2)``).

    Args:
        x: ``(N, D)`` points.
        means: ``(K, D)`` component means.
        std: the components' common standard deviation, > 0.

    Returns:
        ``(N, D)`` the score at each point.
    """
    if std <= 0:
        raise CourseInputError(f"std must be positive, got {std}")
    weights = torch.softmax(
        -(torch.cdist(x, means) ** 2) / (2 * std**2), dim=1
    )  # (N, K)
    return (weights @ means - x) / std**2
