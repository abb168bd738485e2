"""GAN losses against the textbook -log D forms, written out by hand with sigmoid and
log."""

import math

import pytest
import torch

from course_lib.errors import CourseInputError
from course_lib.gan_objectives import (
    auxiliary_class_loss,
    check_loss_kind,
    discriminator_loss,
    discriminator_loss_for,
    energy_discriminator_loss,
    energy_generator_loss,
    generator_loss_for,
    generator_loss_minimax,
    generator_loss_non_saturating,
    hinge_discriminator_loss,
    hinge_generator_loss,
    r1_penalty,
)


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, generator=g, dtype=torch.float64) * 3, torch.randn(
        48, generator=g, dtype=torch.float64
    ) * 3


def test_discriminator_loss_is_binary_cross_entropy(logits):
    real, fake = logits
    d_real, d_fake = 1 / (1 + torch.exp(-real)), 1 / (1 + torch.exp(-fake))
    by_hand = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    assert torch.allclose(discriminator_loss(real, fake), by_hand, atol=1e-12)
    # (N, 1) logits are accepted too
    assert torch.allclose(
        discriminator_loss(real[:, None], fake[:, None]), by_hand, atol=1e-12
    )


def test_discriminator_loss_at_one_half_is_two_log_two():
    zeros = torch.zeros(10)
    assert discriminator_loss(zeros, zeros).item() == pytest.approx(
        2 * math.log(2), abs=1e-6
    )


def test_generator_losses_match_log_forms(logits):
    _, fake = logits
    d_fake = 1 / (1 + torch.exp(-fake))
    assert torch.allclose(
        generator_loss_minimax(fake), torch.log(1 - d_fake).mean(), atol=1e-12
    )
    assert torch.allclose(
        generator_loss_non_saturating(fake), -torch.log(d_fake).mean(), atol=1e-12
    )
    assert torch.allclose(
        generator_loss_for("minimax", fake), torch.log(1 - d_fake).mean(), atol=1e-12
    )
    assert torch.allclose(
        generator_loss_for("non_saturating", fake),
        -torch.log(d_fake).mean(),
        atol=1e-12,
    )


def test_losses_stay_finite_for_extreme_logits():
    extreme = torch.tensor([-500.0, -120.0, 0.0, 120.0, 500.0], requires_grad=True)
    naive = -torch.log(torch.sigmoid(extreme)).mean()
    assert not torch.isfinite(naive)  # what the stable form avoids
    for loss in (
        discriminator_loss(extreme, extreme),
        generator_loss_minimax(extreme),
        generator_loss_non_saturating(extreme),
    ):
        (grad,) = torch.autograd.grad(loss, extreme)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


def test_non_saturating_gradient_dominates_when_discriminator_wins():
    # D(G(z)) = sigmoid(-10) ~ 4.5e-5: the discriminator confidently rejects the fakes
    logit = torch.full((8,), -10.0, requires_grad=True)
    (g_minimax,) = torch.autograd.grad(generator_loss_minimax(logit), logit)
    (g_non_sat,) = torch.autograd.grad(generator_loss_non_saturating(logit), logit)
    d = 1 / (1 + math.exp(10.0))
    # analytic derivatives per element (loss is a mean over 8): -D/8 and -(1 - D)/8
    assert torch.allclose(g_minimax, torch.full((8,), -d / 8), rtol=1e-4)
    assert torch.allclose(g_non_sat, torch.full((8,), -(1 - d) / 8), rtol=1e-4)
    assert (g_non_sat.abs() / g_minimax.abs()).min() > 1000
    # both push the logit up (minimising either loss raises D(G(z)))
    assert (g_minimax < 0).all() and (g_non_sat < 0).all()


def test_hinge_losses_match_sngan_formula():
    real = torch.tensor([2.0, 0.5, -1.0])  # hinge terms 0, 0.5, 2 -> mean 2.5 / 3
    fake = torch.tensor([-3.0, 0.0])  # hinge terms 0, 1 -> mean 0.5
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 0.5)
    assert hinge_generator_loss(fake).item() == pytest.approx(1.5)
    assert torch.allclose(
        discriminator_loss_for("hinge", real, fake),
        hinge_discriminator_loss(real, fake),
    )
    assert torch.allclose(generator_loss_for("hinge", fake), -fake.mean())


def test_hinge_gradients_stop_beyond_the_margin_and_never_saturate_for_the_generator():
    real = torch.tensor([2.0, 0.5], requires_grad=True)
    fake = torch.tensor([-3.0, 0.0], requires_grad=True)
    grad_real, grad_fake = torch.autograd.grad(
        hinge_discriminator_loss(real, fake), (real, fake)
    )
    assert grad_real.tolist() == [0.0, -0.5] and grad_fake.tolist() == [0.0, 0.5]
    # rejected or accepted with any confidence
    far = torch.tensor([-50.0, 50.0], requires_grad=True)
    (grad,) = torch.autograd.grad(hinge_generator_loss(far), far)
    assert grad.tolist() == [-0.5, -0.5]


def test_energy_losses_match_formula():
    real = torch.tensor([0.0, 1.0])
    fake = torch.tensor([0.5, 3.0])
    # mean(E real) = 0.5; max(0, 2 - 0.5) = 1.5, max(0, 2 - 3) = 0 -> mean 0.75
    assert energy_discriminator_loss(real, fake, margin=2.0).item() == pytest.approx(
        1.25
    )
    g = torch.Generator().manual_seed(1)
    real, fake = torch.rand(50, generator=g) * 4, torch.rand(40, generator=g) * 4
    by_hand = real.mean() + torch.clamp(1.5 - fake, min=0).mean()
    assert torch.allclose(energy_discriminator_loss(real, fake, margin=1.5), by_hand)
    assert torch.allclose(discriminator_loss_for("energy", real, fake, 1.5), by_hand)
    assert torch.allclose(energy_generator_loss(fake), fake.mean())
    assert torch.allclose(generator_loss_for("energy", fake), fake.mean())
    assert torch.allclose(
        discriminator_loss_for("minimax", real, fake), discriminator_loss(real, fake)
    )


def test_energy_loss_gives_no_gradient_to_fakes_beyond_the_margin():
    fake = torch.tensor([0.5, 3.0], requires_grad=True)
    (grad,) = torch.autograd.grad(
        energy_discriminator_loss(torch.zeros(2), fake, margin=2.0), fake
    )
    assert grad.tolist() == [-0.5, 0.0]


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(CourseInputError, match="one logit per image"):
        discriminator_loss(torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(CourseInputError, match="non-negative"):
        energy_discriminator_loss(torch.tensor([-1.0]), torch.tensor([1.0]))
    with pytest.raises(CourseInputError, match="margin must be positive"):
        energy_discriminator_loss(torch.zeros(2), torch.zeros(2), margin=0.0)
    with pytest.raises(CourseInputError, match="unknown GAN loss"):
        check_loss_kind("wasserstein")
    with pytest.raises(CourseInputError, match="floating-point"):
        generator_loss_non_saturating(torch.zeros(3, dtype=torch.long))


def test_auxiliary_class_loss_is_minus_the_mean_log_softmax_of_the_asked_class():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    # by hand: -log(e^l_y / sum_k e^l_k), averaged over the two rows
    first = -(2.0 - math.log(math.exp(2.0) + math.exp(0.0) + math.exp(-1.0)))
    second = -(0.5 - math.log(2 * math.exp(0.5) + math.exp(3.0)))
    assert auxiliary_class_loss(logits, labels).item() == pytest.approx(
        (first + second) / 2, rel=1e-6
    )
    # uniform scores: log K
    assert auxiliary_class_loss(torch.zeros(4, 10), torch.arange(4)).item() == (
        pytest.approx(math.log(10))
    )
    with pytest.raises(CourseInputError, match="one label per image"):
        auxiliary_class_loss(logits, torch.tensor([0, 1, 2]))


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    """l(x) = w . x + b has slope w at every x: the penalty is ||w||^2, and its
    gradient with respect to w is 2 w (it must reach the discriminator's weights)."""
    torch.manual_seed(0)
    w = torch.randn(5, requires_grad=True)
    x = torch.randn(7, 5, requires_grad=True)
    penalty = r1_penalty(x @ w + 0.3, x)
    assert penalty.item() == pytest.approx(w.pow(2).sum().item(), rel=1e-6)
    (grad_w,) = torch.autograd.grad(penalty, w)
    torch.testing.assert_close(grad_w, 2 * w.detach())


def test_r1_penalty_averages_each_images_own_squared_slope():
    """l(x) = sum(x^2) has slope 2 x: the penalty is mean_i 4 ||x_i||^2."""
    x = torch.tensor([[[1.0, 2.0]], [[0.0, 3.0]]], requires_grad=True)  # (2, 1, 2)
    penalty = r1_penalty(x.pow(2).sum(dim=(1, 2)), x)
    assert penalty.item() == pytest.approx((4 * 5 + 4 * 9) / 2)


def test_r1_penalty_asks_for_inputs_that_require_gradients():
    x = torch.randn(4, 3)
    with pytest.raises(CourseInputError, match="requires_grad_"):
        r1_penalty(x.sum(dim=1), x)
