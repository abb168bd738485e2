"""GAN objectives, computed from the discriminator's **logits** so that they never
overflow.

A discriminator returns one real number per image, the logit ``l``; its probability that
the image is real is ``D(x) = sigmoid(l)``. Two identities turn every ``log`` of a
probability into a numerically stable ``softplus`` (``softplus(a) = log(1 + exp(a))``,
computed without overflow):

* ``-log D(x)       = -log sigmoid(l)     = softplus(-l)``
* ``-log(1 - D(x))  = -log sigmoid(-l)    = softplus(l)``

Written naively, ``torch.log(torch.sigmoid(l))`` returns ``-inf`` once ``l < -104`` in
float32, and its gradient becomes NaN; the softplus forms stay finite for every logit.

Losses (all are minimised; ``l_r`` are logits of real images, ``l_f`` of generated
ones):

* discriminator: ``-mean log D(x) - mean log(1 - D(G(z)))`` (binary cross-entropy, real
  = 1, fake = 0);
* minimax (saturating) generator loss: ``mean log(1 - D(G(z)))``, the generator's side
  of the original game of Goodfellow et al. (2014). Its gradient vanishes exactly when
  the discriminator wins (``D(G(z)) ~ 0``), i.e. at the start of training;
* non-saturating generator loss: ``-mean log D(G(z))``, same fixed point, strong
  gradient when ``D(G(z)) ~ 0``;
* hinge loss (Lim & Ye 2017; the loss of SNGAN, Miyato et al. 2018, and BigGAN, Brock et
  al. 2019), on raw logits: the discriminator minimises
  ``mean max(0, 1 - l_r) + mean max(0, 1 + l_f)``, the generator minimises
  ``-mean l_f``. A real image scored above 1, or a fake below -1, gives the
  discriminator no more gradient; the generator's gradient is 1 per sample, whatever the
  logit;
* energy-based margin loss (Zhao et al. 2017, "Energy-based GAN", and the NYU Deep
  Learning course): the discriminator is a cost network giving each sample an energy
  ``E(x) >= 0``, low for real data (in EBGAN, an autoencoder's reconstruction error). It
  minimises ``mean E(x) + mean max(0, m - E(G(z)))``: real energies are pushed down,
  fake energies up until they reach the margin ``m``. The generator minimises
  ``mean E(G(z))``. With ``loss="energy"`` the discriminator's output *is* the energy
  (not a logit); it must be ``>= 0``.

A regulariser for the discriminator, added to any of the logit losses above:

* R1 gradient penalty (Mescheder et al. 2018): ``gamma / 2 * mean ||grad_x l(x)||^2``
  over real images ``x``. It keeps the discriminator flat on the data, so it cannot
  build ever steeper logits there, and a generator that matches the data meets no
  gradient pushing it away (:func:`r1_penalty`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_lib.errors import CourseInputError, check_tensor

GAN_LOSSES = ("non_saturating", "minimax", "hinge", "energy")


def _check_logits(logits: torch.Tensor, name: str) -> torch.Tensor:
    """Accept ``(N,)`` or ``(N, 1)`` logits and return them as ``(N,)``."""
    check_tensor(logits, name)
    if logits.dim() == 2 and logits.shape[1] == 1:
        logits = logits.squeeze(1)
    if logits.dim() != 1:
        raise CourseInputError(
            f"{name} must have shape (N,) or (N, 1): one logit per image, got "
            f"{tuple(logits.shape)}; "
            "the discriminator's last layer should output a single number per image"
        )
    return logits


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """Binary cross-entropy of the discriminator:
    ``-mean log D(x) - mean log(1 - D(G(z)))``.

    Computed as ``mean softplus(-real_logits) + mean softplus(fake_logits)``.

    Args:
        real_logits: ``(N,)`` or ``(N, 1)`` logits of real images, any real values.
        fake_logits: ``(M,)`` or ``(M, 1)`` logits of generated images.

    Returns:
        A scalar ``>= 0``; ``2 log 2 ~ 1.386`` when ``D`` outputs 1/2 everywhere.
    """
    real_logits = _check_logits(real_logits, "real_logits")
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """Minimax (saturating) generator loss ``mean log(1 - D(G(z)))``, to be minimised.

    Computed as ``-mean softplus(fake_logits)``. Its derivative with respect to a logit
    ``l`` is ``-sigmoid(l) = -D(G(z))``: close to zero when the discriminator
    confidently rejects the fakes, which is why the generator barely learns early in
    training.

    Args:
        fake_logits: ``(N,)`` or ``(N, 1)`` logits of generated images.

    Returns:
        A scalar ``<= 0`` (``-log 2`` when ``D = 1/2``).
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return -F.softplus(fake_logits).mean()


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``-mean log D(G(z))``.

    Computed as ``mean softplus(-fake_logits)``. Its derivative with respect to a logit
    ``l`` is ``-(1 - sigmoid(l))``, close to ``-1`` when ``D(G(z)) ~ 0``: a strong
    signal exactly where the minimax loss goes silent.

    Args:
        fake_logits: ``(N,)`` or ``(N, 1)`` logits of generated images.

    Returns:
        A scalar ``>= 0`` (``log 2`` when ``D = 1/2``).
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return F.softplus(-fake_logits).mean()


def auxiliary_class_loss(
    class_logits: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """The auxiliary classifier term of AC-GAN (Odena et al. 2017): the cross-entropy
    ``-mean log softmax(c)_y`` of the discriminator's class logits ``c`` against the
    labels ``y``.

    The discriminator minimises it on real images (it learns to name the digit; Odena
    et al. also use the generated ones) and the generator minimises it on its own
    images (it must draw the digit it was asked for); each adds it to its adversarial
    loss.

    Args:
        class_logits: ``(N, K)`` unnormalised class scores, any real values.
        labels: ``(N,)`` int64 classes in ``0..K-1``.

    Returns:
        A scalar ``>= 0``; ``log K`` for uniform scores.
    """
    check_tensor(class_logits, "class_logits")
    if class_logits.dim() != 2 or labels.shape != class_logits.shape[:1]:
        raise CourseInputError(
            f"class_logits must be (N, K) and labels (N,), got "
            f"{tuple(class_logits.shape)} and {tuple(labels.shape)}; give one row of "
            "class scores per image and one label per image"
        )
    return F.cross_entropy(class_logits, labels)


def hinge_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """Hinge loss of the discriminator (SNGAN, BigGAN):
    ``mean max(0, 1 - l_r) + mean max(0, 1 + l_f)``.

    Real logits are pushed above ``+1`` and fake logits below ``-1``; beyond that a
    sample gives no gradient, so the discriminator cannot grow its logits without bound.

    Args:
        real_logits: ``(N,)`` or ``(N, 1)`` logits of real images, any real values.
        fake_logits: ``(M,)`` or ``(M, 1)`` logits of generated images.

    Returns:
        A scalar ``>= 0``; 2 when every logit is 0.
    """
    real_logits = _check_logits(real_logits, "real_logits")
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the generator (SNGAN, BigGAN): ``-mean l_f``, raise the fakes'
    logits.

    Its derivative with respect to each logit is ``-1/M``: it never saturates.

    Args:
        fake_logits: ``(M,)`` or ``(M, 1)`` logits of generated images.

    Returns:
        A scalar, any real value.
    """
    return -_check_logits(fake_logits, "fake_logits").mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of the discriminator's logit with respect to its real
    input: ``mean_i ||d l_i / d x_i||^2``; the R1 penalty of Mescheder et al. (2018) is
    ``gamma / 2`` times it.

    Built with ``create_graph=True``, so it can be added to the discriminator's loss and
    differentiated with respect to the discriminator's weights.

    Args:
        real_logits: ``(N,)`` or ``(N, 1)`` logits that the discriminator gave
            ``real_images``.
        real_images: ``(N, ...)`` the real batch, with ``requires_grad`` set *before* it
            went through the discriminator (``x = x.detach().requires_grad_(True)``).

    Returns:
        A scalar ``>= 0``; for a linear discriminator ``l(x) = w . x + b`` it is
        ``||w||^2``.

    Raises:
        CourseInputError: if ``real_images`` does not require gradients.
    """
    real_logits = _check_logits(real_logits, "real_logits")
    if not real_images.requires_grad:
        raise CourseInputError(
            "r1_penalty needs the gradient of the logits with respect to the real "
            "images: call x = x.detach().requires_grad_(True) before the "
            "discriminator sees x"
        )
    (slope,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return slope.pow(2).flatten(1).sum(1).mean()


def _check_energy(energy: torch.Tensor, name: str) -> torch.Tensor:
    energy = _check_logits(energy, name)
    if energy.numel() > 0 and float(energy.detach().min()) < 0:
        raise CourseInputError(
            f"{name} must be non-negative (an energy), got a minimum of "
            f"{float(energy.detach().min()):.3g}; "
            "a cost network should end in a non-negative quantity, e.g. a "
            "reconstruction error "
            "(course_lib.toys.AutoencoderEnergy)"
        )
    return energy


def energy_discriminator_loss(
    real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float = 1.0
) -> torch.Tensor:
    """Energy-based margin loss of the cost network (EBGAN):
    ``mean E(x) + mean max(0, m - E(G(z)))``.

    Real energies are pushed towards 0; fake energies are pushed up only while they are
    below the margin ``m``: once a fake costs more than ``m``, it gives the cost network
    no more gradient.

    Args:
        real_energy: ``(N,)`` energies ``>= 0`` of real samples.
        fake_energy: ``(M,)`` energies ``>= 0`` of generated samples.
        margin: ``m > 0``.

    Returns:
        A scalar ``>= 0``; it equals ``m`` for a cost network that gives every sample
        energy 0.
    """
    if margin <= 0:
        raise CourseInputError(f"margin must be positive, got {margin}")
    real_energy = _check_energy(real_energy, "real_energy")
    fake_energy = _check_energy(fake_energy, "fake_energy")
    return real_energy.mean() + F.relu(margin - fake_energy).mean()


def energy_generator_loss(fake_energy: torch.Tensor) -> torch.Tensor:
    """Energy-based generator loss ``mean E(G(z))``: make the fakes cheap for the cost
    network.

    Args:
        fake_energy: ``(N,)`` energies ``>= 0`` of generated samples.

    Returns:
        A scalar ``>= 0``.
    """
    return _check_energy(fake_energy, "fake_energy").mean()


def discriminator_loss_for(
    kind: str,
    real_out: torch.Tensor,
    fake_out_detached: torch.Tensor,
    margin: float = 1.0,
) -> torch.Tensor:
    """The discriminator's loss for the training set-up ``kind`` (see
    :data:`GAN_LOSSES`).

    ``"non_saturating"`` and ``"minimax"`` share the cross-entropy discriminator loss;
    ``"hinge"`` is the hinge loss on logits; ``"energy"`` reads the discriminator's
    outputs as energies and uses the margin loss.

    Args:
        kind: ``"non_saturating"``, ``"minimax"``, ``"hinge"`` or ``"energy"``.
        real_out: ``(N,)`` outputs on real samples (logits, or energies for
            ``"energy"``).
        fake_out_detached: ``(M,)`` outputs on generated samples (detached from the
            generator).
        margin: the margin ``m`` of the energy loss (ignored by the others).

    Returns:
        A scalar loss for the discriminator.
    """
    check_loss_kind(kind)
    if kind == "energy":
        return energy_discriminator_loss(real_out, fake_out_detached, margin)
    if kind == "hinge":
        return hinge_discriminator_loss(real_out, fake_out_detached)
    return discriminator_loss(real_out, fake_out_detached)


def generator_loss_for(kind: str, fake_out: torch.Tensor) -> torch.Tensor:
    """The generator's loss for the training set-up ``kind`` (see :data:`GAN_LOSSES`).

    Args:
        kind: ``"non_saturating"``, ``"minimax"``, ``"hinge"`` or ``"energy"``.
        fake_out: ``(N,)`` outputs on generated samples (not detached): logits, or
            energies.

    Returns:
        A scalar loss for the generator.
    """
    check_loss_kind(kind)
    if kind == "minimax":
        return generator_loss_minimax(fake_out)
    if kind == "hinge":
        return hinge_generator_loss(fake_out)
    if kind == "energy":
        return energy_generator_loss(fake_out)
    return generator_loss_non_saturating(fake_out)


def check_loss_kind(kind: str) -> str:
    """Return ``kind`` if it names a known GAN loss, else raise a clear
    :class:`CourseInputError`."""
    if kind not in GAN_LOSSES:
        raise CourseInputError(
            f"unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSSES)}"
        )
    return kind
