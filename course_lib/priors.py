"""Two-dimensional prior distributions for the adversarial autoencoder.

An adversarial autoencoder can shape its code space like *any* distribution it can
sample from; it never needs the density. Each sampler here returns ``(n, 2)`` points,
plus the component index of every point where the prior has components:

* :func:`gaussian_prior` -- a standard normal ``N(0, I)``;
* :func:`mixture_prior` -- 10 elongated Gaussians arranged on a circle, as in Makhzani
  et al. (2016, "Adversarial Autoencoders", Fig. 2 without labels, Fig. 4 with them);
* :func:`swiss_roll_prior` -- a spiral whose position along the roll runs from the
  centre (0) to the outer end (1), split into 10 equal segments.

Passing ``labels`` to the component samplers draws each point from the component its
label names: the supervised adversarial autoencoder uses this to give every digit its
own region.
"""

from __future__ import annotations

import math

import torch

from course_lib.errors import CourseInputError, check_tensor

MIXTURE_RADIUS = 1.4
MIXTURE_RADIAL_STD = 0.5
MIXTURE_TANGENTIAL_STD = 0.05
SWISS_ROLL_RADIUS = 3.0
SWISS_ROLL_TURNS = 2.0


def _check_n(n: int) -> int:
    if not isinstance(n, int) or n < 1:
        raise CourseInputError(
            f"n (the number of samples) must be a positive int, got {n!r}"
        )
    return n


def _components(
    n: int,
    n_components: int,
    labels: torch.Tensor | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``(n,)`` component indices: ``labels`` if given (checked), else uniform draws."""
    if n_components < 1:
        raise CourseInputError(f"n_components must be at least 1, got {n_components}")
    if labels is None:
        return torch.randint(0, n_components, (n,), generator=generator)
    if (
        not isinstance(labels, torch.Tensor)
        or labels.dim() != 1
        or labels.shape[0] != n
    ):
        shape = (
            tuple(labels.shape)
            if isinstance(labels, torch.Tensor)
            else type(labels).__name__
        )
        raise CourseInputError(
            f"labels must be an int64 tensor of shape ({n},), got {shape}"
        )
    if labels.is_floating_point() or (
        labels.numel() and (labels.min() < 0 or labels.max() >= n_components)
    ):
        raise CourseInputError(
            f"labels must be integers in 0..{n_components - 1}; convert them with "
            ".long()"
        )
    return labels.long().cpu()


def gaussian_prior(
    n: int, *, std: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Samples of the 2-D Gaussian ``N(0, std^2 I)``.

    Args:
        n: number of samples.
        std: standard deviation of each coordinate.
        generator: optional random generator for reproducible draws.

    Returns:
        ``(n, 2)`` float32 points; mean ``(0, 0)``, covariance ``std^2 I``.
    """
    _check_n(n)
    return torch.randn(n, 2, generator=generator) * std


def mixture_means(
    n_components: int = 10, radius: float = MIXTURE_RADIUS
) -> torch.Tensor:
    """Centres of the mixture components: ``radius * (cos a_k, sin a_k)`` with
    ``a_k = 2 pi k / K``.

    Returns:
        ``(n_components, 2)`` float32 tensor.
    """
    angles = (
        2 * math.pi * torch.arange(n_components, dtype=torch.float32) / n_components
    )
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def mixture_prior(
    n: int,
    *,
    n_components: int = 10,
    radius: float = MIXTURE_RADIUS,
    radial_std: float = MIXTURE_RADIAL_STD,
    tangential_std: float = MIXTURE_TANGENTIAL_STD,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of a mixture of ``K`` equally weighted elongated Gaussians on a circle.

    Component ``k`` is centred at ``radius * (cos a_k, sin a_k)``, ``a_k = 2 pi k / K``,
    with standard deviation ``radial_std`` along the radius and ``tangential_std``
    across it (the shape used in Makhzani et al. 2016: long thin petals around the
    origin).

    Args:
        n: number of samples.
        n_components: ``K``.
        radius, radial_std, tangential_std: geometry of the components.
        labels: optional ``(n,)`` integer tensor in ``0..K-1``: draw point ``i`` from
            component ``labels[i]`` (supervised AAE); without it the components are
            drawn uniformly.
        generator: optional random generator for reproducible draws.

    Returns:
        ``(points, component)``: ``(n, 2)`` float32 points and ``(n,)`` int64 component
        indices.
    """
    _check_n(n)
    component = _components(n, n_components, labels, generator)
    along = torch.randn(n, generator=generator) * radial_std + radius
    across = torch.randn(n, generator=generator) * tangential_std
    angle = 2 * math.pi * component.float() / n_components
    cos, sin = angle.cos(), angle.sin()
    points = torch.stack(
        [along * cos - across * sin, along * sin + across * cos], dim=1
    )
    return points, component


def swiss_roll(
    position: torch.Tensor,
    *,
    radius: float = SWISS_ROLL_RADIUS,
    turns: float = SWISS_ROLL_TURNS,
) -> torch.Tensor:
    """The point of the swiss roll at ``position`` (0 = centre, 1 = outer end).

    ``r = radius * sqrt(u)`` and angle ``2 pi turns sqrt(u)``. The arc length's
    ``r dangle`` part is ``pi radius turns u`` exactly and dominates away from the
    centre, so uniformly drawn positions spread nearly evenly along the curve (the
    length per unit of ``u`` is within 4 % of ``pi radius turns`` beyond ``u = 0.1``).
    The curve has zero area: the distribution has no density in the plane. Walking
    ``u`` from 0 to 1 traces the roll outwards.

    Args:
        position: ``(n,)`` float tensor with values in ``[0, 1]``.
        radius: distance of the outer end from the origin.
        turns: number of turns of the spiral.

    Returns:
        ``(n, 2)`` float32 points.
    """
    check_tensor(position, "position", shape=(None,), value_range=(0.0, 1.0))
    root = position.clamp(0.0, 1.0).sqrt()
    r = radius * root
    angle = 2 * math.pi * turns * root
    return torch.stack([r * angle.cos(), r * angle.sin()], dim=1)


def swiss_roll_prior(
    n: int,
    *,
    n_segments: int = 10,
    radius: float = SWISS_ROLL_RADIUS,
    turns: float = SWISS_ROLL_TURNS,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of the swiss-roll prior, split into ``n_segments`` equal segments.

    The position ``u`` is uniform on ``[0, 1]``; segment ``k`` holds ``u`` in
    ``[k/S, (k+1)/S)``. With ``labels`` each point is drawn uniformly inside the segment
    its label names.

    Args:
        n: number of samples.
        n_segments: ``S``, the number of segments (components).
        radius, turns: geometry, see :func:`swiss_roll`.
        labels: optional ``(n,)`` integer tensor in ``0..S-1``.
        generator: optional random generator for reproducible draws.

    Returns:
        ``(points, segment)``: ``(n, 2)`` float32 points and ``(n,)`` int64 segment
        indices.
    """
    _check_n(n)
    segment = _components(n, n_segments, labels, generator)
    position = (segment.float() + torch.rand(n, generator=generator)) / n_segments
    return swiss_roll(position.clamp(0.0, 1.0), radius=radius, turns=turns), segment


PRIORS = ("gaussian", "mixture", "swiss_roll")


def sample_prior(
    name: str,
    n: int,
    *,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Sample the prior called ``name`` (one of :data:`PRIORS`) with its default
    geometry.

    Args:
        name: ``"gaussian"``, ``"mixture"`` or ``"swiss_roll"``.
        n: number of samples.
        labels: ``(n,)`` component indices (only for the priors with components).
        generator: optional random generator.

    Returns:
        ``(points, component)``: ``(n, 2)`` points and ``(n,)`` indices (``None`` for
        ``"gaussian"``).
    """
    if name == "gaussian":
        if labels is not None:
            raise CourseInputError(
                "the gaussian prior has no components; use 'mixture' or 'swiss_roll' "
                "with labels"
            )
        return gaussian_prior(n, generator=generator), None
    if name == "mixture":
        return mixture_prior(n, labels=labels, generator=generator)
    if name == "swiss_roll":
        return swiss_roll_prior(n, labels=labels, generator=generator)
    raise CourseInputError(f"unknown prior {name!r}; choose one of {', '.join(PRIORS)}")


def moment_matched_gaussian(
    points: torch.Tensor, n: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` draws from the Gaussian with the same mean and covariance as ``points``.

    The "blob" baseline of lesson 6: a cloud that has the prior's centre and spread but
    none of its shape (no petals, no spiral). Codes that are no closer to the prior than
    this blob have matched the prior's first two moments only.

    Args:
        points: ``(N, D)`` samples, ``N > D``, e.g. prior samples.
        n: number of draws.
        generator: optional random generator.

    Returns:
        ``(n, D)`` float32 draws ``mean + L eps`` with ``L L^T`` the sample covariance
        of ``points``.
    """
    check_tensor(points, "points", shape=(None, None))
    if points.shape[0] <= points.shape[1]:
        raise CourseInputError(
            "need more points than dimensions to estimate a covariance, got "
            f"{tuple(points.shape)}"
        )
    points = points.detach().double()
    mean, covariance = points.mean(dim=0), torch.cov(points.T)
    cholesky = torch.linalg.cholesky(covariance)
    eps = torch.randn(
        _check_n(n), points.shape[1], generator=generator, dtype=torch.float64
    )
    return (mean + eps @ cholesky.T).float()
