"""Prior samplers: shapes, moments (against closed forms or numerical integrals) and
component balance."""

import math

import pytest
import torch
from scipy import integrate

from course_lib.errors import CourseInputError
from course_lib.priors import (
    gaussian_prior,
    mixture_means,
    mixture_prior,
    moment_matched_gaussian,
    sample_prior,
    swiss_roll,
    swiss_roll_prior,
)

N = 20_000


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_prior_moments():
    z = gaussian_prior(N, generator=gen())
    assert z.shape == (N, 2) and z.dtype == torch.float32
    assert z.mean(0).abs().max() < 0.04  # 5 standard errors (1 / sqrt(N) = 0.007)
    assert torch.allclose(torch.cov(z.T), torch.eye(2), atol=0.05)
    assert (
        gaussian_prior(N, std=2.0, generator=gen()).std(0).sub(2.0).abs().max() < 0.08
    )


def test_mixture_prior_balance_and_component_geometry():
    z, c = mixture_prior(N, generator=gen())
    assert z.shape == (N, 2) and c.shape == (N,) and c.dtype == torch.int64
    share = torch.bincount(c, minlength=10).float() / N
    assert (share - 0.1).abs().max() < 0.012  # standard error of a share is 0.002
    for k in range(10):
        a = 2 * math.pi * k / 10
        members = z[c == k]
        assert torch.allclose(
            members.mean(0),
            torch.tensor([1.4 * math.cos(a), 1.4 * math.sin(a)]),
            atol=0.06,
        )
        radial = members @ torch.tensor([math.cos(a), math.sin(a)])
        tangential = members @ torch.tensor([-math.sin(a), math.cos(a)])
        assert radial.std().item() == pytest.approx(0.5, rel=0.1)
        assert tangential.std().item() == pytest.approx(0.05, rel=0.1)
    # whole mixture: mean 0, covariance ((r^2 + s_r^2) + s_t^2) / 2 * I by the symmetry
    # of the 10 angles
    assert z.mean(0).abs().max() < 0.04
    expected = ((1.4**2 + 0.5**2) + 0.05**2) / 2
    assert torch.allclose(torch.cov(z.T), expected * torch.eye(2), atol=0.06)
    assert torch.allclose(mixture_means()[0], torch.tensor([1.4, 0.0]))


def test_mixture_labels_pick_components_and_assignment_recovers_them():
    labels = torch.arange(N) % 10
    z, c = mixture_prior(N, labels=labels, generator=gen(1))
    assert torch.equal(c, labels)
    # petals are thin across and 2.8 standard deviations away from the origin: the angle
    # identifies them
    nearest_direction = (
        torch.round(torch.atan2(z[:, 1], z[:, 0]) / (2 * math.pi / 10))
        .long()
        .remainder(10)
    )
    assert (nearest_direction == labels).float().mean() > 0.99


def test_swiss_roll_moments_match_numerical_integrals():
    z, segment = swiss_roll_prior(N, generator=gen(2))
    assert z.shape == (N, 2) and segment.shape == (N,)
    # u ~ U(0, 1), r = 3 sqrt(u), angle = 4 pi sqrt(u)
    ex = integrate.quad(
        lambda u: 3 * math.sqrt(u) * math.cos(4 * math.pi * math.sqrt(u)), 0, 1
    )[0]
    ey = integrate.quad(
        lambda u: 3 * math.sqrt(u) * math.sin(4 * math.pi * math.sqrt(u)), 0, 1
    )[0]
    assert z.mean(0).tolist() == pytest.approx([ex, ey], abs=0.04)
    # E[r^2] = 9 E[u] = 4.5
    assert (z**2).sum(1).mean().item() == pytest.approx(4.5, rel=0.02)
    share = torch.bincount(segment, minlength=10).float() / N
    assert (share - 0.1).abs().max() < 0.012
    # the segment index grows with the position u = (r / 3)^2
    u = (z.norm(dim=1) / 3) ** 2
    assert torch.equal(segment, (u * 10).floor().long().clamp(max=9))


def test_swiss_roll_walk_goes_outwards():
    position = torch.linspace(0, 1, 101)
    points = swiss_roll(position)
    assert points.shape == (101, 2)
    assert torch.allclose(points[0], torch.zeros(2)) and torch.allclose(
        points[-1], torch.tensor([3.0, 0.0]), atol=1e-5
    )
    assert (points.norm(dim=1).diff() > 0).all()
    labels = torch.arange(100) % 10
    _, segment = swiss_roll_prior(100, labels=labels, generator=gen())
    assert torch.equal(segment, labels)


def test_swiss_roll_arc_length_grows_almost_linearly_in_position():
    # the docstring's claim, against the closed form: with s = sqrt(u) the curve is
    # r = R s, angle = 2 pi T s, so ds/d(s) = R sqrt(1 + (2 pi T s)^2) and the arc
    # length is (R / (4 pi T)) * (x sqrt(1 + x^2) + asinh x) at x = 2 pi T sqrt(u)
    radius, turns = 3.0, 2.0
    position = torch.linspace(0, 1, 200_001, dtype=torch.float64)
    points = swiss_roll(position.float()).double()
    walked = torch.cat([torch.zeros(1), points.diff(dim=0).norm(dim=1).cumsum(0)])
    x = 2 * math.pi * turns * position.sqrt()
    exact = radius / (4 * math.pi * turns) * (x * (1 + x**2).sqrt() + torch.asinh(x))
    assert torch.allclose(walked, exact, rtol=1e-3, atol=1e-3)
    # the r dangle part alone is pi R T u, so the length walked per unit of u (the
    # inverse of the samples' density along the curve) is pi R T times
    # sqrt(1 + x^2) / x: within 4 % of pi R T beyond the first tenth of the roll
    coarse = slice(None, None, 1000)  # steps of 0.005 in u, above float32 noise
    speed = walked[coarse].diff() / position[coarse].diff()
    outer = position[coarse][1:] >= 0.1
    relative = speed[outer] / (math.pi * radius * turns)
    assert relative.min() > 1.0 - 1e-3 and relative.max() < 1.04


def test_sample_prior_dispatch_and_errors():
    assert sample_prior("gaussian", 5)[1] is None
    assert sample_prior("mixture", 5)[0].shape == (5, 2)
    assert sample_prior("swiss_roll", 5)[1].shape == (5,)
    with pytest.raises(CourseInputError, match="unknown prior"):
        sample_prior("uniform", 5)
    with pytest.raises(CourseInputError, match="no components"):
        sample_prior("gaussian", 3, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(CourseInputError, match="positive int"):
        gaussian_prior(0)
    with pytest.raises(CourseInputError, match=r"integers in 0\.\.9"):
        mixture_prior(3, labels=torch.tensor([0, 4, 10]))
    with pytest.raises(CourseInputError, match=r"shape \(3,\)"):
        swiss_roll_prior(3, labels=torch.zeros(4, dtype=torch.long))
    with pytest.raises(CourseInputError, match=r"values in \[0, 1\]"):
        swiss_roll(torch.tensor([0.5, 1.5]))


def test_moment_matched_gaussian_has_the_moments_and_no_shape():
    points, _ = mixture_prior(20_000, generator=gen())
    blob = moment_matched_gaussian(points, 20_000, generator=gen())
    assert blob.shape == (20_000, 2) and blob.dtype == torch.float32
    assert torch.allclose(blob.mean(dim=0), points.mean(dim=0), atol=0.03)
    assert torch.allclose(torch.cov(blob.T), torch.cov(points.T), atol=0.05)

    # the petals are gone: the mixture's points lie along the ten petal directions, the
    # blob's anywhere
    def angle_to_nearest_petal(p: torch.Tensor) -> torch.Tensor:  # radians, 0 .. pi/10
        angle = torch.atan2(p[:, 1], p[:, 0]) % (2 * math.pi / 10)
        return torch.minimum(angle, 2 * math.pi / 10 - angle)

    assert float(angle_to_nearest_petal(points).mean()) < 0.5 * float(
        angle_to_nearest_petal(blob).mean()
    )
    with pytest.raises(CourseInputError, match="more points than dimensions"):
        moment_matched_gaussian(points[:2], 5)
