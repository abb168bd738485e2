"""GAN objectives, computed from the discriminator's **logits** so that they never overflow.

A discriminator returns one real number per image, the logit ``l``; its probability that the image
is real is ``D(x) = sigmoid(l)``. Two identities turn every ``log`` of a probability into a
numerically stable ``softplus`` (``softplus(a) = log(1 + exp(a))``, computed without overflow):

* ``-log D(x)       = -log sigmoid(l)     = softplus(-l)``
* ``-log(1 - D(x))  = -log sigmoid(-l)    = softplus(l)``

Written naively, ``torch.log(torch.sigmoid(l))`` returns ``-inf`` once ``l < -104`` in float32,
and its gradient becomes NaN; the softplus forms stay finite for every logit.

Losses (all are minimised; ``l_r`` are logits of real images, ``l_f`` of generated ones):

* discriminator: ``-mean log D(x) - mean log(1 - D(G(z)))`` (binary cross-entropy, real = 1, fake = 0);
* minimax (saturating) generator loss: ``mean log(1 - D(G(z)))``, the generator's side of the
  original game of Goodfellow et al. (2014). Its gradient vanishes exactly when the discriminator
  wins (``D(G(z)) ~ 0``), i.e. at the start of training;
* non-saturating generator loss: ``-mean log D(G(z))``, same fixed point, strong gradient when
  ``D(G(z)) ~ 0``;
* energy-based margin (hinge) loss, the EBM view (Zhao et al. 2017, "Energy-based GAN", and the
  NYU Deep Learning practicum): a cost network gives each image an energy ``E(x) >= 0``, low for
  real data. The discriminator minimises ``mean E(x) + mean max(0, m - E(G(z)))``: it pushes real
  energies down and fake energies up, but only until they exceed the margin ``m``. The generator
  minimises ``mean E(G(z))``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_lib.errors import CourseInputError, check_tensor

GAN_LOSSES = ("non_saturating", "minimax", "hinge")


def _check_logits(logits: torch.Tensor, name: str) -> torch.Tensor:
    """Accept ``(N,)`` or ``(N, 1)`` logits and return them as ``(N,)``."""
    check_tensor(logits, name)
    if logits.dim() == 2 and logits.shape[1] == 1:
        logits = logits.squeeze(1)
    if logits.dim() != 1:
        raise CourseInputError(
            f"{name} must have shape (N,) or (N, 1): one logit per image, got {tuple(logits.shape)}; "
            "the discriminator's last layer should output a single number per image"
        )
    return logits


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the discriminator: ``-mean log D(x) - mean log(1 - D(G(z)))``.

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

    Computed as ``-mean softplus(fake_logits)``. Its derivative with respect to a logit ``l`` is
    ``-sigmoid(l) = -D(G(z))``: close to zero when the discriminator confidently rejects the fakes,
    which is why the generator barely learns early in training.

    Args:
        fake_logits: ``(N,)`` or ``(N, 1)`` logits of generated images.

    Returns:
        A scalar ``<= 0`` (``-log 2`` when ``D = 1/2``).
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return -F.softplus(fake_logits).mean()


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``-mean log D(G(z))``.

    Computed as ``mean softplus(-fake_logits)``. Its derivative with respect to a logit ``l`` is
    ``-(1 - sigmoid(l))``, close to ``-1`` when ``D(G(z)) ~ 0``: a strong signal exactly where the
    minimax loss goes silent.

    Args:
        fake_logits: ``(N,)`` or ``(N, 1)`` logits of generated images.

    Returns:
        A scalar ``>= 0`` (``log 2`` when ``D = 1/2``).
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return F.softplus(-fake_logits).mean()


def energy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Read a discriminator as a cost network: energy ``E(x) = -log D(x) = softplus(-logit)``.

    The energy is ``>= 0``, near 0 for images the discriminator finds real and large for images it
    rejects, so any discriminator of this module can be trained with the margin loss.

    Args:
        logits: ``(N,)`` or ``(N, 1)`` discriminator logits.

    Returns:
        ``(N,)`` energies in ``[0, inf)``.
    """
    return F.softplus(-_check_logits(logits, "logits"))


def _check_energy(energy: torch.Tensor, name: str) -> torch.Tensor:
    energy = _check_logits(energy, name)
    if energy.numel() > 0 and float(energy.detach().min()) < 0:
        raise CourseInputError(
            f"{name} must be non-negative (an energy), got a minimum of {float(energy.detach().min()):.3g}; "
            "turn discriminator logits into energies with energy_from_logits"
        )
    return energy


def hinge_discriminator_loss(
    real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float = 2.0
) -> torch.Tensor:
    """Energy-based margin loss of the discriminator: ``mean E(x) + mean max(0, m - E(G(z)))``.

    Real energies are pushed towards 0; fake energies are pushed up only while they are below the
    margin ``m``: once a fake costs more than ``m``, it gives the discriminator no more gradient.

    Args:
        real_energy: ``(N,)`` energies ``>= 0`` of real images.
        fake_energy: ``(M,)`` energies ``>= 0`` of generated images.
        margin: ``m > 0``.

    Returns:
        A scalar ``>= 0``; it equals ``m`` for a cost network that gives every image energy 0.
    """
    if margin <= 0:
        raise CourseInputError(f"margin must be positive, got {margin}")
    real_energy = _check_energy(real_energy, "real_energy")
    fake_energy = _check_energy(fake_energy, "fake_energy")
    return real_energy.mean() + F.relu(margin - fake_energy).mean()


def hinge_generator_loss(fake_energy: torch.Tensor) -> torch.Tensor:
    """Energy-based generator loss ``mean E(G(z))``: make the fakes cheap for the cost network.

    With the energy of :func:`energy_from_logits` this equals the non-saturating loss
    ``-mean log D(G(z))``; the two set-ups differ in the discriminator's loss (the margin).

    Args:
        fake_energy: ``(N,)`` energies ``>= 0`` of generated images.

    Returns:
        A scalar ``>= 0``.
    """
    return _check_energy(fake_energy, "fake_energy").mean()


def discriminator_loss_for(
    kind: str, real_logits: torch.Tensor, fake_logits_detached: torch.Tensor, margin: float = 2.0
) -> torch.Tensor:
    """The discriminator's loss for the training set-up ``kind`` (see :data:`GAN_LOSSES`).

    ``"non_saturating"`` and ``"minimax"`` share the cross-entropy discriminator loss; ``"hinge"``
    uses the margin loss on ``energy_from_logits``.

    Args:
        kind: ``"non_saturating"``, ``"minimax"`` or ``"hinge"``.
        real_logits: ``(N,)`` logits of real images.
        fake_logits_detached: ``(M,)`` logits of generated images (detached from the generator).
        margin: the margin ``m`` of the hinge loss.

    Returns:
        A scalar loss for the discriminator.
    """
    check_loss_kind(kind)
    if kind == "hinge":
        return hinge_discriminator_loss(energy_from_logits(real_logits), energy_from_logits(fake_logits_detached),
                                        margin)
    return discriminator_loss(real_logits, fake_logits_detached)


def generator_loss_for(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's loss for the training set-up ``kind`` (see :data:`GAN_LOSSES`).

    Args:
        kind: ``"non_saturating"``, ``"minimax"`` or ``"hinge"``.
        fake_logits: ``(N,)`` logits of generated images (not detached).

    Returns:
        A scalar loss for the generator.
    """
    check_loss_kind(kind)
    if kind == "minimax":
        return generator_loss_minimax(fake_logits)
    if kind == "hinge":
        return hinge_generator_loss(energy_from_logits(fake_logits))
    return generator_loss_non_saturating(fake_logits)


def check_loss_kind(kind: str) -> str:
    """Return ``kind`` if it names a known GAN loss, else raise a clear :class:`CourseInputError`."""
    if kind not in GAN_LOSSES:
        raise CourseInputError(f"unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSSES)}")
    return kind
