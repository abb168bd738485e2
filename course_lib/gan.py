"""Generative adversarial networks: an MLP GAN, DCGANs, an upsampling generator, label
conditioning, minibatch discrimination, and the training recipe :func:`fit_gan`.

Conventions (shared by every model here):

* A generator maps noise ``z`` of shape ``(N, latent_dim)`` (standard normal) to images
  ``(N, C, H, W)`` in ``[-1, 1]`` (a ``tanh`` output); train it on images scaled with
  :func:`course_lib.data.to_signed`.
* A discriminator maps images ``(N, C, H, W)`` in ``[-1, 1]`` to **logits** ``(N,)``;
  the probability "real" is ``sigmoid(logit)``. The losses in
  :mod:`course_lib.gan_objectives` work on logits, so they never take the log of 0.
* Built with ``n_classes=K``, both networks are *conditional*: ``generator(z, labels)``
  and ``discriminator(x, labels)`` take ``(N,)`` int64 labels in ``0..K-1`` (Mirza &
  Osindero 2014).
* Every model has a ``config`` dict (its class and hyper-parameters), used as a cache
  key.

The DCGAN recipe (Radford et al. 2016, and the PyTorch DCGAN tutorial): transposed
convolutions with BatchNorm and ReLU in the generator, strided convolutions with
LeakyReLU(0.2) in the discriminator, no pooling, weights from ``N(0, 0.02)``
(:func:`init_dcgan_weights`), Adam with learning rate 2e-4 and ``beta1 = 0.5``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from course_lib._recipe import (
    IMAGE_SHAPE,
    check_images,
    check_label_values,
    check_labels,
    recipe_config,
    training_subset,
)
from course_lib.batches import TensorBatches
from course_lib.cache import cached_training, describe_data
from course_lib.errors import CourseInputError, check_tensor
from course_lib.gan_objectives import (
    auxiliary_class_loss,
    check_loss_kind,
    discriminator_loss_for,
    generator_loss_for,
    r1_penalty,
)
from course_lib.profiles import Budget
from course_lib.training import History, ImageSnapshot, train

MNIST_SHAPE = IMAGE_SHAPE


# --------------------------------------------------------------------------------------
# input checks shared by the networks
# --------------------------------------------------------------------------------------


def check_latent(z: object, latent_dim: int) -> torch.Tensor:
    """Check that ``z`` is a float tensor of shape ``(N, latent_dim)`` and return it."""
    if (
        isinstance(z, torch.Tensor)
        and z.is_floating_point()
        and (z.dim() != 2 or z.shape[1] != latent_dim)
    ):
        raise CourseInputError(
            f"z must have shape (N, {latent_dim}) (this generator was built with "
            f"latent_dim={latent_dim}), "
            f"got {tuple(z.shape)}; draw it with torch.randn(n, {latent_dim})"
        )
    return check_tensor(z, "z", shape=(None, latent_dim))


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation; use as ``model.apply(init_dcgan_weights)``.

    Convolution and transposed-convolution weights ``~ N(0, 0.02)``; BatchNorm scales
    ``~ N(1, 0.02)`` and BatchNorm shifts ``= 0`` (as in the PyTorch DCGAN tutorial).
    Linear layers get ``N(0, 0.02)`` weights and zero biases too. Other modules are left
    alone.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# --------------------------------------------------------------------------------------
# minibatch discrimination
# --------------------------------------------------------------------------------------


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, "Improved techniques for training
    GANs").

    Lets the discriminator see how similar each example is to the rest of its batch, so
    a generator that outputs the same image over and over (mode collapse) is easy to
    spot.

    For features ``f_i`` (``A`` numbers per example) and a learned tensor ``T`` of shape
    ``(A, B, C)``: ``M_i = f_i T`` is a ``(B, C)`` matrix; for each of the ``B`` rows,
    ``c_b(i, j) = exp(-||M_{i,b} - M_{j,b}||_1)`` and
    ``o(i)_b = sum_{j != i} c_b(i, j)``. The layer returns ``[f_i, o(i)]``. Identical
    examples give ``c_b = 1``, so ``o(i)_b`` reaches its maximum ``n - 1``; very
    different ones give ``o(i)_b ~ 0``. (The paper's sum includes ``j = i``, which only
    adds the constant 1; we leave it out.) With ``normalise=True`` the sum is divided by
    ``n - 1`` (a mean over the others), so the added features lie in ``[0, 1]`` whatever
    the batch size, on the scale of the features they join; the discriminators of this
    library use that.

    Args:
        in_features: ``A``.
        out_features: ``B``, the number of similarity features added.
        kernel_dims: ``C``.
        normalise: divide ``o(i)`` by ``n - 1``.

    Shapes: input ``(N, A)``, output ``(N, A + B)`` with the added features in
    ``[0, N - 1]`` (``[0, 1]`` when normalised).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int = 32,
        kernel_dims: int = 8,
        *,
        normalise: bool = False,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.kernel_dims = (
            in_features,
            out_features,
            kernel_dims,
        )
        self.normalise = normalise
        # scaled so that the rows of M_i have entries of about the size of the features,
        # whatever A is: L1 distances of a few units, where exp(-distance) still passes
        # gradient
        self.T = nn.Parameter(
            torch.randn(in_features, out_features, kernel_dims) / in_features**0.5
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        check_tensor(features, "features", shape=(None, self.in_features))
        n = features.shape[0]
        m = (features @ self.T.view(self.in_features, -1)).view(
            n, self.out_features, self.kernel_dims
        )
        rows = m.transpose(0, 1)  # (B, N, C): one set of N rows per similarity feature
        distances = torch.cdist(rows, rows, p=1)  # (B, N, N): L1 over C
        # (N, B); drop j = i, exp(0) = 1
        similarity = (torch.exp(-distances).sum(dim=2) - 1.0).T
        if self.normalise:
            similarity = similarity / max(n - 1, 1)
        return torch.cat([features, similarity], dim=1)


# --------------------------------------------------------------------------------------
# generators
# --------------------------------------------------------------------------------------


class _Generator(nn.Module):
    """Shared behaviour: noise and label checks, the conditioning input, ``config``."""

    latent_dim: int
    n_classes: int | None
    image_shape: tuple[int, ...]
    _config: dict[str, Any]

    def _input(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """``(N, latent_dim [+ n_classes])``: the noise, with the one-hot label appended
        if conditional."""
        z = check_latent(z, self.latent_dim)
        labels = check_labels(labels, z.shape[0], self.n_classes, "generator")
        if labels is None or self.n_classes is None:
            return z
        return torch.cat([z, F.one_hot(labels, self.n_classes).to(z.dtype)], dim=1)

    def _record_28x28(
        self, latent_dim: int, ngf: int, n_classes: int | None, channels: int
    ) -> None:
        """Store a 28x28 generator's sizes: the attributes the checks read and
        ``config``."""
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.image_shape = (channels, 28, 28)
        self._config = {
            "latent_dim": latent_dim,
            "ngf": ngf,
            "n_classes": n_classes,
            "channels": channels,
        }

    @property
    def config(self) -> dict[str, Any]:
        """Class name and hyper-parameters (JSON-serialisable; used in cache keys)."""
        return {"model": type(self).__name__, **self._config}


class _Discriminator(nn.Module):
    """Shared behaviour: image and label checks, optional minibatch discrimination,
    ``config``.

    Subclasses define ``features(x, labels) -> (N, A)``; the head is
    ``[MinibatchDiscrimination] -> Linear(., 1)`` and ``forward`` returns ``(N,)``
    logits. With an auxiliary classifier (AC-GAN) a second head ``Linear(., K)`` gives
    class logits, read with :meth:`logits_and_classes`.
    """

    n_classes: int | None
    image_shape: tuple[int, ...]
    _config: dict[str, Any]
    minibatch: MinibatchDiscrimination | None
    projection: nn.Embedding | None
    classifier: nn.Linear | None

    def _head(
        self,
        n_features: int,
        minibatch_features: int,
        projection: bool = False,
        classifier: bool = False,
    ) -> None:
        self.minibatch = (
            MinibatchDiscrimination(n_features, minibatch_features, normalise=True)
            if minibatch_features
            else None
        )
        self.out = nn.Linear(n_features + minibatch_features, 1)
        self.projection = None
        if projection and self.n_classes is not None:
            self.projection = nn.Embedding(
                self.n_classes, n_features + minibatch_features
            )
            nn.init.normal_(self.projection.weight, 0.0, 0.02)
        self.classifier = None
        if classifier and self.n_classes is not None:
            self.classifier = nn.Linear(n_features + minibatch_features, self.n_classes)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits ``(N,)`` of images ``x`` ``(N, C, H, W)`` in ``[-1, 1]`` (and labels
        if conditional)."""
        return self.logits_and_classes(x, labels)[0]

    def logits_and_classes(
        self, x: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Real/fake logits ``(N,)`` and, with an auxiliary classifier, class logits
        ``(N, K)`` (else ``None``), from one pass over the features."""
        # shape only: fit_gan checked the data's range once
        check_images(x, self.image_shape, "x")
        labels = check_labels(labels, x.shape[0], self.n_classes, "discriminator")
        h = self.features(x, labels)
        if self.minibatch is not None:
            h = self.minibatch(h)
        logits = self.out(h).squeeze(1)
        # projection discriminator
        if self.projection is not None and labels is not None:
            logits = logits + (self.projection(labels) * h).sum(dim=1)
        # auxiliary classifier (AC-GAN)
        classes = None if self.classifier is None else self.classifier(h)
        return logits, classes

    @property
    def config(self) -> dict[str, Any]:
        """Class name and hyper-parameters (JSON-serialisable; used in cache keys)."""
        return {"model": type(self).__name__, **self._config}


class MLPGenerator(_Generator):
    """Fully connected generator:
    ``z (N, latent_dim) -> Linear/LeakyReLU(0.2) ... -> tanh -> (N, 1, 28, 28)``.

    Args:
        latent_dim: size of the noise vector (100 in Goodfellow et al.'s MNIST set-up).
        hidden: widths of the hidden layers.
        n_classes: ``K`` for a label-conditioned generator (one-hot label appended to
            ``z``).
        batch_norm: BatchNorm after every hidden layer but the first (as in the
            PyTorch-GAN examples); it speeds up learning a lot. ``False`` gives the
            plain MLP of Goodfellow et al.
        image_shape: ``(C, H, W)`` of the output.

    Output values lie in ``[-1, 1]``.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        hidden: Sequence[int] = (256, 512, 1024),
        *,
        n_classes: int | None = None,
        batch_norm: bool = False,
        image_shape: Sequence[int] = MNIST_SHAPE,
    ) -> None:
        super().__init__()
        self.latent_dim, self.n_classes, self.image_shape = (
            latent_dim,
            n_classes,
            tuple(image_shape),
        )
        self._config = {
            "latent_dim": latent_dim,
            "hidden": list(hidden),
            "n_classes": n_classes,
            "batch_norm": batch_norm,
            "image_shape": list(image_shape),
        }
        layers: list[nn.Module] = []
        width = latent_dim + (n_classes or 0)
        for i, h in enumerate(hidden):
            layers.append(nn.Linear(width, h))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.LeakyReLU(0.2))
            width = h
        layers += [nn.Linear(width, int(torch.tensor(image_shape).prod())), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Images ``(N, C, H, W)`` in ``[-1, 1]`` from noise ``(N, latent_dim)``."""
        return self.net(self._input(z, labels)).view(-1, *self.image_shape)


class MLPDiscriminator(_Discriminator):
    """Fully connected discriminator:
    ``(N, 1, 28, 28) -> Linear/LeakyReLU(0.2) ... -> (N,)`` logits.

    Args:
        hidden: widths of the hidden layers.
        n_classes: ``K`` for a label-conditioned discriminator (one-hot label appended
            to the pixels).
        minibatch_features: ``B > 0`` appends a :class:`MinibatchDiscrimination` layer
            with ``B`` outputs to the last hidden layer; 0 = off.
        projection: with ``n_classes``, also add ``embed(y) . h`` to the logit, where
            ``h`` is the last hidden layer (the projection discriminator of Miyato &
            Koyama 2018): the label then acts on every feature, not only on 10 of the
            794 inputs.
        auxiliary_classifier: with ``n_classes``, add a head ``Linear(., K)`` that
            names the digit (AC-GAN, Odena et al. 2017; :func:`fit_gan` then adds the
            class cross-entropy to both players' losses). The label is then *not*
            appended to the pixels, so the class head cannot read it off its input.
        image_shape: ``(C, H, W)`` of the input.
    """

    def __init__(
        self,
        hidden: Sequence[int] = (512, 256),
        *,
        n_classes: int | None = None,
        minibatch_features: int = 0,
        projection: bool = False,
        auxiliary_classifier: bool = False,
        image_shape: Sequence[int] = MNIST_SHAPE,
    ) -> None:
        super().__init__()
        if auxiliary_classifier and n_classes is None:
            raise CourseInputError(
                "auxiliary_classifier=True needs the number of classes: "
                "MLPDiscriminator(n_classes=10, auxiliary_classifier=True)"
            )
        self.n_classes, self.image_shape = n_classes, tuple(image_shape)
        # AC-GAN: the label reaches the logit only through the projection
        self.label_input = n_classes is not None and not auxiliary_classifier
        self._config = {
            "hidden": list(hidden),
            "n_classes": n_classes,
            "minibatch_features": minibatch_features,
            "image_shape": list(image_shape),
        }
        if projection:
            self._config["projection"] = True
        if auxiliary_classifier:
            self._config["auxiliary_classifier"] = True
        layers: list[nn.Module] = []
        width = int(torch.tensor(image_shape).prod())
        width += n_classes if self.label_input and n_classes else 0
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        self.body = nn.Sequential(*layers)
        self._head(width, minibatch_features, projection, auxiliary_classifier)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = x.flatten(1)
        if labels is not None and self.n_classes is not None and self.label_input:
            h = torch.cat([h, F.one_hot(labels, self.n_classes).to(h.dtype)], dim=1)
        return self.body(h)


class DCGenerator(_Generator):
    """DCGAN generator for 28x28 images (MNIST).

    ``z (N, latent_dim) -> (N, latent_dim, 1, 1)`` then
    ``ConvT 7x7 -> (4 ngf, 7, 7)``, ``conv 3x3 -> (4 ngf, 7, 7)``,
    ``ConvT 4/2/1 -> (2 ngf, 14, 14)``, ``conv 3x3 -> (2 ngf, 14, 14)`` (each with
    BatchNorm and ReLU), ``ConvT 4/2/1 -> (C, 28, 28)`` and tanh. Initialised with
    :func:`init_dcgan_weights`.

    Why the two stride-1 ``3x3`` convolutions: a 28x28 image needs only two stride-2
    steps, so the plain recipe gives a generator of three layers. One ``3x3`` layer at
    ``7x7`` (where the digit's shape is laid out) and one at ``14x14`` (its strokes) add
    depth; on a CPU they cost about 1.5 times the time per training image, and after
    the same two epochs they raise the classifier Inception Score from 6.9 to 7.8 (seed
    0; ``benchmarks/README.md``).

    Args:
        latent_dim: size of the noise vector.
        ngf: width multiplier of the generator's feature maps.
        n_classes: ``K`` for a label-conditioned generator (one-hot label appended to
            ``z``).
        channels: ``C``, image channels.

    Output values lie in ``[-1, 1]``.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        ngf: int = 32,
        *,
        n_classes: int | None = None,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self._record_28x28(latent_dim, ngf, n_classes, channels)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(
                latent_dim + (n_classes or 0), ngf * 4, 7, 1, 0, bias=False
            ),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),  # (4 ngf, 7, 7)
            nn.Conv2d(ngf * 4, ngf * 4, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),  # (4 ngf, 7, 7)
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),  # (2 ngf, 14, 14)
            nn.Conv2d(ngf * 2, ngf * 2, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),  # (2 ngf, 14, 14)
            nn.ConvTranspose2d(ngf * 2, channels, 4, 2, 1, bias=False),
            nn.Tanh(),  # (C, 28, 28)
        )
        self.apply(init_dcgan_weights)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Images ``(N, C, 28, 28)`` in ``[-1, 1]`` from noise ``(N, latent_dim)``."""
        h = self._input(z, labels)
        return self.net(h[:, :, None, None])


class UpsampleGenerator(_Generator):
    """:class:`DCGenerator` with each stride-2 transposed convolution replaced by
    nearest-neighbour upsampling and a 3x3 convolution; the widths, BatchNorm, ReLU and
    tanh are the same, so only the upsampling operator differs.

    Why: a transposed convolution with kernel 4, stride 2 and padding 1 gives every
    output pixel exactly 2x2 taps (the overlap is even), but the four pixels of each 2x2
    output cell use four *different* 2x2 sub-kernels (the kernel entries of one parity
    each). Where the sub-kernels differ, even a constant input gives an output with
    period 2 in both directions: a checkerboard (Odena et al. 2016, "Deconvolution and
    checkerboard artifacts"; an uneven overlap, as with kernel 3 and stride 2, adds to
    it). Nearest-neighbour upsampling copies each pixel into a 2x2 block, so its output
    still has period-2 structure; the 3x3 convolution that follows applies one kernel at
    every pixel, so a constant input gives a constant output (away from the border) and
    no sub-kernel can disagree with another, but the window sees the copied blocks in a
    different arrangement at each of the four positions of a cell.

    ``z (N, latent_dim) -> (N, latent_dim, 1, 1)`` then ``ConvT 7x7 -> (4 ngf, 7, 7)``,
    ``conv 3x3 -> (4 ngf, 7, 7)``, ``upsample x2 + conv 3x3 -> (2 ngf, 14, 14)``,
    ``conv 3x3 -> (2 ngf, 14, 14)`` (each with BatchNorm and ReLU),
    ``upsample x2 + conv 3x3 -> (C, 28, 28)`` and tanh. Initialised with
    :func:`init_dcgan_weights`.

    Args:
        latent_dim, ngf, n_classes, channels: as in :class:`DCGenerator`.

    Output values lie in ``[-1, 1]``.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        ngf: int = 32,
        *,
        n_classes: int | None = None,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self._record_28x28(latent_dim, ngf, n_classes, channels)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(
                latent_dim + (n_classes or 0), ngf * 4, 7, 1, 0, bias=False
            ),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),  # (4 ngf, 7, 7)
            nn.Conv2d(ngf * 4, ngf * 4, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),  # (4 ngf, 7, 7)
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(ngf * 4, ngf * 2, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),  # (2 ngf, 14, 14)
            nn.Conv2d(ngf * 2, ngf * 2, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),  # (2 ngf, 14, 14)
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(ngf * 2, channels, 3, 1, 1, bias=False),
            nn.Tanh(),  # (C, 28, 28)
        )
        self.apply(init_dcgan_weights)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Images ``(N, C, 28, 28)`` in ``[-1, 1]`` from noise ``(N, latent_dim)``."""
        h = self._input(z, labels)
        return self.net(h[:, :, None, None])


class DCDiscriminator(_Discriminator):
    """DCGAN discriminator for 28x28 images: three stride-2 convolutions and a linear
    head, in the spirit of Radford et al. (2016).

    ``(C, 28, 28) -> conv 4/2/1 -> (ndf, 14, 14)`` with LeakyReLU(0.2) (no BatchNorm on
    the input layer, as in the paper), ``conv 4/2/1 -> (2 ndf, 7, 7)`` and
    ``conv 4/2/1 -> (4 ndf, 3, 3)``, each with BatchNorm and LeakyReLU(0.2), then a
    linear layer (the same as a 3x3 convolution) to one logit per image. Each of the
    3x3 features sees a 22x22 patch of the image (receptive field 4, then
    ``4 + 3 * 2 = 10``, then ``10 + 3 * 4 = 22``): the centre one covers rows and
    columns 1 to 22, the whole of a centred digit, so the discriminator can judge a
    digit's shape, not only its strokes.

    Args:
        ndf: width multiplier of the discriminator's feature maps.
        n_classes: ``K`` for a label-conditioned discriminator: a learned ``28 x 28``
            map per label is added to the input as an extra channel.
        minibatch_features: ``B > 0`` adds a :class:`MinibatchDiscrimination` layer on
            the flattened features; 0 = off.
        channels: ``C``, image channels.

    Input ``(N, C, 28, 28)`` in ``[-1, 1]``; output ``(N,)`` logits.
    """

    def __init__(
        self,
        ndf: int = 32,
        *,
        n_classes: int | None = None,
        minibatch_features: int = 0,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self.n_classes, self.image_shape = n_classes, (channels, 28, 28)
        self._config = {
            "ndf": ndf,
            "n_classes": n_classes,
            "minibatch_features": minibatch_features,
            "channels": channels,
        }
        self.label_maps = nn.Embedding(n_classes, 28 * 28) if n_classes else None
        self.body = nn.Sequential(
            nn.Conv2d(channels + (1 if n_classes else 0), ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),  # (ndf, 14, 14)
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),  # (2 ndf, 7, 7)
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),  # (4 ndf, 3, 3)
            nn.Flatten(),
        )
        self._head(ndf * 4 * 3 * 3, minibatch_features)
        self.apply(init_dcgan_weights)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if labels is not None and self.label_maps is not None:
            x = torch.cat([x, self.label_maps(labels).view(-1, 1, 28, 28)], dim=1)
        return self.body(x)


class DCGenerator64(_Generator):
    """The 64x64 DCGAN generator of the PyTorch DCGAN tutorial (``dcgan/main.py``).

    ``z (N, nz) -> (N, nz, 1, 1)``, then transposed convolutions to
    ``(8 ngf, 4, 4) -> (4 ngf, 8, 8) -> (2 ngf, 16, 16) -> (ngf, 32, 32)`` (BatchNorm,
    ReLU) ``-> (nc, 64, 64)``, tanh.

    Args:
        nz: size of the noise vector (100 in the tutorial).
        ngf: generator width (64).
        nc: image channels (3 for colour images).

    Output values lie in ``[-1, 1]``.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.latent_dim, self.n_classes, self.image_shape = nz, None, (nc, 64, 64)
        self._config = {"nz": nz, "ngf": ngf, "nc": nc}
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),  # (8 ngf, 4, 4)
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),  # (4 ngf, 8, 8)
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),  # (2 ngf, 16, 16)
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),  # (ngf, 32, 32)
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),  # (nc, 64, 64)
        )
        self.apply(init_dcgan_weights)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Images ``(N, nc, 64, 64)`` in ``[-1, 1]`` from noise ``(N, nz)``."""
        return self.net(self._input(z, labels)[:, :, None, None])


class DCDiscriminator64(_Discriminator):
    """The 64x64 DCGAN discriminator of the PyTorch DCGAN tutorial, returning logits.

    ``(nc, 64, 64) -> (ndf, 32, 32) -> (2 ndf, 16, 16) -> (4 ndf, 8, 8) -> (8 ndf, 4,
    4)`` with strided 4x4 convolutions, LeakyReLU(0.2) and BatchNorm (not on the first
    layer), then a 4x4 convolution to one logit (the tutorial's final sigmoid is left to
    the loss).

    Args:
        ndf: discriminator width (64).
        nc: image channels.
        minibatch_features: ``B > 0`` adds a :class:`MinibatchDiscrimination` layer; 0 =
            off.

    Input ``(N, nc, 64, 64)`` in ``[-1, 1]``; output ``(N,)`` logits.
    """

    def __init__(
        self, ndf: int = 64, nc: int = 3, *, minibatch_features: int = 0
    ) -> None:
        super().__init__()
        self.n_classes, self.image_shape = None, (nc, 64, 64)
        self._config = {"ndf": ndf, "nc": nc, "minibatch_features": minibatch_features}
        self.body = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),  # (ndf, 32, 32)
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),  # (2 ndf, 16, 16)
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),  # (4 ndf, 8, 8)
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),  # (8 ndf, 4, 4)
            nn.Flatten(),
        )
        # Linear over 8ndf x 4 x 4 == the tutorial's 4x4 conv
        self._head(ndf * 8 * 4 * 4, minibatch_features)
        self.apply(init_dcgan_weights)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.body(x)


# --------------------------------------------------------------------------------------
# sampling and training
# --------------------------------------------------------------------------------------


class GANPair(nn.Module):
    """A container holding both networks, so one ``state_dict`` (one cache file) stores
    the GAN."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator


def sample_labels(n: int, n_classes: int) -> torch.Tensor:
    """``(n,)`` int64 labels ``0, 1, ..., K-1, 0, 1, ...``: the same number of each
    class (for sample grids)."""
    return torch.arange(n) % n_classes


@torch.no_grad()
def sample_images(
    generator: _Generator,
    n: int,
    *,
    labels: torch.Tensor | None = None,
    seed: int = 0,
    batch_size: int = 500,
) -> torch.Tensor:
    """Draw ``n`` images from a generator, in eval mode (BatchNorm uses its running
    statistics).

    Args:
        generator: a generator of this module.
        n: number of images.
        labels: ``(n,)`` labels for a conditional generator (default: balanced, see
            :func:`sample_labels`).
        seed: seed of the noise, so the same call gives the same images.
        batch_size: images generated per forward pass.

    Returns:
        ``(n, C, H, W)`` images in ``[-1, 1]`` on the CPU.
    """
    n_classes = getattr(generator, "n_classes", None)
    if n_classes is not None and labels is None:
        labels = sample_labels(n, n_classes)
    noise = torch.randn(
        n, generator.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    chunks = []
    for start in range(0, n, batch_size):
        y = None if labels is None else labels[start : start + batch_size]
        chunks.append(
            sample_from_noise(generator, noise[start : start + batch_size], y)
        )
    return torch.cat(chunks)


@torch.no_grad()
def sample_from_noise(
    generator: nn.Module, noise: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """The generator, in eval mode, applied to given ``noise`` ``(n, latent_dim)`` (and
    labels ``(n,)``).

    Returns:
        ``(n, C, H, W)`` images in ``[-1, 1]`` on the CPU; the generator's mode is
        restored afterwards.
    """
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        y = None if labels is None else labels.to(device)
        return generator(noise.to(device), y).cpu()
    finally:
        generator.train(was_training)


def judge(
    discriminator: nn.Module, images: torch.Tensor, labels: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's logits ``(N,)`` for ``images`` (given ``labels`` when not
    ``None``), and the class cross-entropy (a scalar) of its AC-GAN class head on them
    (:func:`~course_lib.gan_objectives.auxiliary_class_loss`; 0 without a class head or
    labels)."""
    if isinstance(discriminator, _Discriminator) and labels is not None:
        logits, classes = discriminator.logits_and_classes(images, labels)
        if classes is not None:
            return logits, auxiliary_class_loss(classes, labels)
        return logits, logits.new_zeros(())
    extra = () if labels is None else (labels,)
    return discriminator(images, *extra), images.new_zeros(())


def adversarial_step(
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    x: torch.Tensor,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    loss: str = "non_saturating",
    margin: float = 1.0,
    r1_weight: float = 0.0,
) -> dict[str, torch.Tensor]:
    """One GAN training step: a discriminator update, then a generator update.

    1. ``fake = G(z)``; the discriminator minimises its loss on ``D(x)`` and
       ``D(fake.detach())``;
    2. the generator minimises its loss on ``D(fake)``, scored by the *updated*
       discriminator.

    With an auxiliary classifier (``MLPDiscriminator(auxiliary_classifier=True)``,
    AC-GAN) and labels, the discriminator also minimises the class cross-entropy
    :func:`~course_lib.gan_objectives.auxiliary_class_loss` of its class head on the
    real batch, and the generator that of its fakes.

    Args:
        generator, discriminator: the two networks (called with ``labels`` when they are
            given).
        opt_g, opt_d: their optimisers.
        x: a batch of real data ``(N, ...)``.
        z: noise ``(N, latent_dim)``.
        labels: ``(N,)`` labels for conditional networks, else ``None``.
        loss: ``"non_saturating"``, ``"minimax"``, ``"hinge"`` or ``"energy"``
            (:mod:`course_lib.gan_objectives`); for ``"energy"`` the discriminator
            returns energies.
        margin: margin of the energy loss (ignored by the others).
        r1_weight: ``gamma`` of the R1 penalty on real images,
            ``gamma / 2 * mean ||grad_x l(x)||^2``
            (:func:`~course_lib.gan_objectives.r1_penalty`), added to the
            discriminator's loss; 0 (default) = off.

    Returns:
        Detached scalars: ``d_loss`` (with the penalty), ``g_loss``, ``d_x`` (mean
        ``D(x)``), ``d_g_z1`` (mean ``D(G(z))`` before the discriminator step) and
        ``d_g_z2`` (after it), as in the PyTorch
        DCGAN tutorial. For ``"energy"`` the last three are mean energies ``E(x)``,
        ``E(G(z))`` before and after.
    """
    fake = generator(z, *([] if labels is None else [labels]))
    if r1_weight:  # the penalty needs d logit / d x
        x = x.detach().requires_grad_(True)
    # class_loss is 0 unless the discriminator has an AC-GAN class head
    real_logits, real_class_loss = judge(discriminator, x, labels)
    # the class head learns from real images only: classifying the fakes too (as
    # Odena et al. do) lets it learn the generator's mistakes
    fake_logits, _ = judge(discriminator, fake.detach(), labels)
    d_loss = (
        discriminator_loss_for(loss, real_logits, fake_logits, margin) + real_class_loss
    )
    if r1_weight:
        d_loss = d_loss + r1_weight / 2 * r1_penalty(real_logits, x)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    fake_logits_after, fake_class_loss = judge(discriminator, fake, labels)
    g_loss = generator_loss_for(loss, fake_logits_after) + fake_class_loss
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    read = (
        (lambda out: out.detach().mean())
        if loss == "energy"
        else (lambda out: torch.sigmoid(out.detach()).mean())
    )
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_x": read(real_logits),
        "d_g_z1": read(fake_logits),
        "d_g_z2": read(fake_logits_after),
    }


def use_average(
    generator: _Generator, average: nn.Module, *, seed: int = 0, n: int = 5000
) -> None:
    """Load the averaged weights ``average`` (a copy of ``generator`` holding an average
    of its past weights) into ``generator``, then measure its BatchNorm statistics
    afresh: the running statistics of the generator being trained describe *its*
    activations, not those of the averaged weights. One pass in training mode over ``n``
    noise vectors (drawn from ``seed + 2``) in batches of 500, with
    ``torch.optim.swa_utils.update_bn``; the weights do not change."""
    generator.load_state_dict(average.state_dict())
    device = next(generator.parameters()).device
    noise = torch.randn(
        n,
        generator.latent_dim,
        generator=torch.Generator().manual_seed(seed + 2),
    ).to(device)
    update_bn(noise.split(500), generator)


def fit_gan(
    generator: _Generator,
    discriminator: _Discriminator,
    images: torch.Tensor,
    *,
    budget: Budget,
    device: torch.device | str = "cpu",
    labels: torch.Tensor | None = None,
    seed: int = 0,
    name: str | None = None,
    cache: bool = True,
    loss: str = "non_saturating",
    snapshot_noise: torch.Tensor | None = None,
    lr: float = 2e-4,
    lr_discriminator: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    margin: float = 1.0,
    ema_decay: float | None = None,
    r1_weight: float = 0.0,
) -> tuple[_Generator, _Discriminator, History]:
    """Train a GAN (alternating discriminator and generator steps), or load it from the
    cache.

    One step on a batch ``x`` of real images, as in the PyTorch DCGAN tutorial:

    1. discriminator: ``z ~ N(0, I)``, ``fake = G(z)``; minimise the discriminator loss
       of ``loss`` on ``D(x)`` and ``D(fake.detach())``;
    2. generator: minimise the generator loss of ``loss`` on ``D(fake)`` (the updated
       discriminator).

    Args:
        generator: e.g. :class:`DCGenerator`; moved to ``device`` and trained in place.
        discriminator: e.g. :class:`DCDiscriminator`, for the same image shape.
        images: ``(N, C, H, W)`` real images in ``[-1, 1]`` (use
            :func:`course_lib.data.to_signed`).
        budget: epochs, training-set size (a class-balanced subset when ``labels`` are
            given) and batch size, e.g. ``settings.profile.budget("dcgan")``. Incomplete
            batches are dropped (BatchNorm).
        device: where to train.
        labels: ``(N,)`` int64 class labels. Used to pick a class-balanced subset, and
            given to both networks when they are conditional (built with ``n_classes``;
            then they are required).
        seed: seeds the subset, the batch order and the noise.
        name: the run's name in the progress output and the cache (default
            ``"gan-<generator class>-<loss>"``).
        cache: load/store the trained networks with
            :func:`course_lib.cache.cached_training`.
        loss: ``"non_saturating"`` (default), ``"minimax"`` (saturating), ``"hinge"``
            (SNGAN's hinge) or ``"energy"`` (EBGAN's margin; the discriminator must
            return energies ``>= 0``), see :mod:`course_lib.gan_objectives`.
        snapshot_noise: ``(n, latent_dim)`` fixed noise for the per-epoch sample grids
            (default: 64 vectors from ``seed``); a conditional generator gets labels
            ``0, 1, ..., K-1, 0, ...``.
        lr: Adam learning rate of the generator (and of the discriminator unless
            ``lr_discriminator``).
        lr_discriminator: a different learning rate for the discriminator (e.g. to make
            it stronger).
        betas: Adam's ``(beta1, beta2)``; DCGAN uses ``beta1 = 0.5``.
        margin: the margin ``m`` of the energy loss (ignored by the other losses).
        ema_decay: ``d`` in ``(0, 1)``, e.g. 0.999: keep an exponential moving average
            of the generator's weights, ``avg <- d * avg + (1 - d) * weights`` after
            every step (Yazici et al. 2019), and return the *average* as the generator,
            with BatchNorm statistics measured afresh for its own weights (one pass in
            training mode over 5 000 noise vectors,
            ``torch.optim.swa_utils.update_bn``). ``None`` (default): return the
            generator as trained. Unconditional generators only. The per-epoch
            snapshots show the generator being trained, not the average.
        r1_weight: ``gamma >= 0`` of the R1 gradient penalty on real images
            (Mescheder et al. 2018), see :func:`adversarial_step`; e.g. 10. 0 (default)
            = off. Not with ``loss="energy"``.

    Returns:
        ``(generator, discriminator, history)``, both networks on ``device`` in eval
        mode. ``history`` has per-epoch means of ``d_loss``,
        ``g_loss``, ``d_x`` (mean ``D(x)`` on real images), ``d_g_z1`` (mean ``D(G(z))``
        before the discriminator step), ``d_g_z2`` (after it, seen by the generator
        step), plus ``seconds`` and ``examples_per_second``; ``history.snapshots`` holds
        one ``(n, C, H, W)`` grid of fixed-noise samples in ``[-1, 1]`` per epoch
        (generator in eval mode).

    Raises:
        CourseInputError: for an unknown loss, images of the wrong shape or range,
            networks that disagree on image shape or labels, or too few images for one
            batch.
    """
    check_loss_kind(loss)
    if not (math.isfinite(r1_weight) and r1_weight >= 0.0):
        raise CourseInputError(
            f"r1_weight must be a finite number >= 0 (e.g. 10), got {r1_weight}; "
            "use 0 for no penalty"
        )
    if r1_weight and loss == "energy":
        raise CourseInputError(
            "r1_weight penalises the slope of a discriminator's logits; the energy "
            "loss has energies, not logits: use r1_weight=0 with loss='energy'"
        )
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise CourseInputError(
            f"ema_decay must lie strictly between 0 and 1 (e.g. 0.999), got "
            f"{ema_decay}; use None for no average"
        )
    if not isinstance(generator, _Generator) or not isinstance(
        discriminator, _Discriminator
    ):
        raise CourseInputError(
            "fit_gan needs a generator and a discriminator from course_lib.gan "
            "(e.g. DCGenerator() and DCDiscriminator())"
        )
    if generator.image_shape != discriminator.image_shape:
        raise CourseInputError(
            f"the generator makes images of shape {generator.image_shape} but the "
            "discriminator expects "
            f"{discriminator.image_shape}; build them for the same image size"
        )
    if generator.n_classes != discriminator.n_classes:
        raise CourseInputError(
            f"generator has n_classes={generator.n_classes} but discriminator has "
            f"{discriminator.n_classes}; "
            "condition both networks on labels or neither"
        )
    # once, not per batch
    check_images(images, generator.image_shape, value_range=(-1.0, 1.0))
    if labels is not None:
        check_label_values(labels, images.shape[0], generator.n_classes)
    elif generator.n_classes is not None:
        raise CourseInputError(
            "a conditional GAN (n_classes set) needs labels: fit_gan(..., "
            "labels=labels)"
        )
    if ema_decay is not None and generator.n_classes is not None:
        raise CourseInputError(
            "ema_decay averages unconditional generators only; train the conditional "
            "GAN with ema_decay=None"
        )
    images, labels = training_subset(images, labels, budget.n_train, seed)
    if images.shape[0] < budget.batch_size:
        raise CourseInputError(
            f"need at least batch_size={budget.batch_size} images, got "
            f"{images.shape[0]}"
        )
    conditional = generator.n_classes is not None
    device = torch.device(device)
    if snapshot_noise is None:
        snapshot_noise = torch.randn(
            64, generator.latent_dim, generator=torch.Generator().manual_seed(seed + 1)
        )
    check_latent(snapshot_noise, generator.latent_dim)
    snapshot_labels = (
        sample_labels(snapshot_noise.shape[0], generator.n_classes)
        if generator.n_classes is not None
        else None
    )

    config = recipe_config(
        (fit_gan, adversarial_step, judge),
        {"generator": generator, "discriminator": discriminator},
        budget,
        images,
        seed,
        loss=loss,
        lr=lr,
        lr_discriminator=lr_discriminator,
        betas=list(betas),
        margin=margin,
        ema_decay=ema_decay,
        r1_weight=r1_weight,
        snapshot_noise=describe_data(snapshot_noise),
        labels=labels is not None,
    )
    pair = GANPair(generator, discriminator).to(device)
    # in the progress output and the cache file
    run_name = name or f"gan-{type(generator).__name__}-{loss}"

    def run(pair: GANPair) -> History:
        torch.manual_seed(seed)
        noise = torch.Generator(device=device).manual_seed(seed)
        opt_d = torch.optim.Adam(
            discriminator.parameters(), lr=lr_discriminator or lr, betas=betas
        )
        opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
        averaged = (
            None
            if ema_decay is None
            else AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay))
        )
        tensors = (images,) if labels is None else (images, labels)
        batches = TensorBatches(
            *tensors,
            batch_size=budget.batch_size,
            drop_last=True,
            device=device,
            seed=seed,
        )

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            x = batch[0]
            y = batch[1] if conditional else None
            z = torch.randn(
                x.shape[0], generator.latent_dim, device=device, generator=noise
            )
            losses = adversarial_step(
                generator,
                discriminator,
                opt_g,
                opt_d,
                x,
                z,
                y,
                loss=loss,
                margin=margin,
                r1_weight=r1_weight,
            )
            if averaged is not None:
                averaged.update_parameters(generator)
            return losses

        def snapshot() -> torch.Tensor:
            return sample_from_noise(generator, snapshot_noise, snapshot_labels)

        pair.train()
        history = train(
            step,
            batches,
            budget.epochs,
            name=run_name,
            callbacks=[ImageSnapshot(snapshot)],
        )
        if averaged is not None:
            use_average(generator, averaged.module, seed=seed)
        return history

    _, history, _ = cached_training(run_name, config, pair, run, enabled=cache)
    pair.eval()
    return generator, discriminator, history
