"""Toy GANs: the targets against closed forms, the mode count, and a 1-D GAN that
learns."""

import math

import pytest
import torch
from scipy import stats

from course_lib.errors import CourseInputError
from course_lib.profiles import Budget
from course_lib.toys import (
    AutoencoderEnergy,
    ToyDiscriminator,
    ToyGenerator,
    curves_1d,
    fit_toy_gan,
    gaussian_1d,
    kde_1d,
    modes_covered,
    normal_density,
    ring_means,
    ring_of_gaussians,
)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS", "off")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is faster
    yield
    torch.set_num_threads(threads)


def test_normal_density_and_kde():
    x = torch.linspace(2, 6, 41, dtype=torch.float64)
    assert torch.allclose(
        normal_density(x, mean=4, std=0.5),
        torch.from_numpy(stats.norm.pdf(x.numpy(), 4, 0.5)),
    )
    samples = gaussian_1d(20_000, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (20_000, 1)
    assert samples.mean().item() == pytest.approx(0.0, abs=0.02)  # centred by default
    assert samples.std().item() == pytest.approx(0.5, rel=0.03)
    grid = torch.linspace(-4, 4, 801)
    estimate = kde_1d(samples, grid)
    assert torch.trapezoid(estimate, grid).item() == pytest.approx(1.0, abs=0.01)
    assert (estimate - normal_density(grid)).abs().max() < 0.05  # peak height is 0.80


def test_ring_of_gaussians():
    points, component = ring_of_gaussians(
        16_000, generator=torch.Generator().manual_seed(0)
    )
    assert points.shape == (16_000, 2) and component.shape == (16_000,)
    assert (
        (torch.bincount(component, minlength=8).float() / 16_000) - 0.125
    ).abs().max() < 0.012
    means = ring_means()
    assert torch.allclose(means.norm(dim=1), torch.full((8,), 2.0))
    for k in range(8):
        assert torch.allclose(points[component == k].mean(0), means[k], atol=0.005)
        assert points[component == k].std(0).sub(0.02).abs().max() < 0.002


def test_modes_covered_on_known_point_sets():
    points, _ = ring_of_gaussians(20_000, generator=torch.Generator().manual_seed(1))
    coverage = modes_covered(points)
    # a 2-D isotropic Gaussian lies within 3 sigma of its mean with probability 1 -
    # exp(-9/2)
    assert coverage.quality == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert coverage.modes_hit == 8 and coverage.counts.sum() == round(
        coverage.quality * 20_000
    )
    collapsed = ring_means()[3].repeat(500, 1)
    assert (
        modes_covered(collapsed).modes_hit == 1
        and modes_covered(collapsed).quality == 1.0
    )
    assert (
        modes_covered(torch.zeros(100, 2)).quality == 0.0
        and modes_covered(torch.zeros(100, 2)).modes_hit == 0
    )
    with pytest.raises(CourseInputError, match=r"shape \(N, 2\)"):
        modes_covered(torch.zeros(10, 3))


def test_one_d_toy_gan_moves_towards_the_target():
    torch.manual_seed(0)
    g, d = ToyGenerator(), ToyDiscriminator()
    with torch.no_grad():
        start = g(torch.randn(4000, 1)).mean().item()
    assert abs(start - 4.0) > 3  # the untrained generator sits near 0
    grid = torch.linspace(-1, 7, 81)
    g, d, history = fit_toy_gan(
        g,
        d,
        lambda n, r: gaussian_1d(n, mean=4.0, generator=r),
        # 300 steps
        budget=Budget(75, 512, 128),
        frames=5,
        grid=grid,
        cache=False,
    )
    with torch.no_grad():
        samples = g(torch.randn(4000, 1))
    # GAN dynamics overshoot and oscillate around the target (seeds 0-3 end 0.0-0.7 away
    # after 300 steps, some having passed 6 on the way), so ask for at least half of the
    # distance covered
    assert abs(samples.mean().item() - 4.0) < 0.5 * abs(start - 4.0)
    assert (
        history.epochs == 5
        and len(history.snapshots) == 5
        and history.snapshots[0].shape == (2, 81)
    )
    curves = curves_1d(g, d, grid, mean=4.0, n_samples=2000)
    assert (
        curves["d"].shape == (81,) and 0 <= curves["d"].min() and curves["d"].max() <= 1
    )
    assert torch.allclose(curves["target"], normal_density(grid, mean=4.0))


def test_autoencoder_energy_is_the_reconstruction_error():
    torch.manual_seed(0)
    energy = AutoencoderEnergy(in_dim=2)
    x = torch.randn(7, 2)
    with torch.no_grad():
        by_hand = (energy.decoder(energy.encoder(x)) - x).abs().sum(dim=1)
        assert (
            torch.allclose(energy(x), by_hand)
            and (energy(x) >= 0).all()
            and energy(x).shape == (7,)
        )
    with pytest.raises(CourseInputError, match=r"shape \(N, 2\)"):
        energy(torch.zeros(3, 1))


def test_energy_gan_on_the_1d_toy_trains_a_cost_network():
    torch.manual_seed(0)
    grid = torch.linspace(-2, 2, 41)
    g, e, history = fit_toy_gan(
        ToyGenerator(),
        AutoencoderEnergy(),
        lambda n, r: gaussian_1d(n, generator=r),
        budget=Budget(25, 512, 128),
        frames=2,
        grid=grid,
        loss="energy",
        margin=1.0,
        cache=False,
    )  # 100 steps
    assert (
        history.snapshots[-1].shape == (2, 41) and (history.snapshots[-1][1] >= 0).all()
    )
    assert all(v >= 0 for v in history["d_x"])  # mean energies of real points
    real = gaussian_1d(2000, generator=torch.Generator().manual_seed(3))
    # the cost network has learnt to price the data below points far away
    with torch.no_grad():
        assert e(real).mean() < e(torch.full((100, 1), 3.0)).mean()


def test_two_d_toy_gan_runs_and_reports_points():
    torch.manual_seed(0)
    g, d = (
        ToyGenerator(latent_dim=2, out_dim=2),
        ToyDiscriminator(in_dim=2, minibatch_features=4),
    )
    g, d, history = fit_toy_gan(
        g,
        d,
        lambda n, r: ring_of_gaussians(n, generator=r),
        budget=Budget(5, 256, 64),
        frames=2,
        snapshot_n=100,
        loss="minimax",
    )
    assert history.snapshots[-1].shape == (100, 2)
    with pytest.raises(CourseInputError, match="latent_dim=2"):
        g(torch.randn(3, 1))
    with pytest.raises(CourseInputError, match="unknown GAN loss"):
        fit_toy_gan(
            g, d, ring_of_gaussians, budget=Budget(1, 64, 64), loss="least_squares"
        )
