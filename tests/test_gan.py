"""GAN models and fit_gan: layer shapes, DCGAN initialisation, minibatch discrimination
against an explicit double loop, conditioning, learning a tiny problem, and clear
errors."""

import math

import pytest
import torch
from torch import nn

from course_lib import gan as gan_module
from course_lib.errors import CourseInputError
from course_lib.gan import (
    DCDiscriminator,
    DCDiscriminator64,
    DCGenerator,
    DCGenerator64,
    MinibatchDiscrimination,
    MLPDiscriminator,
    MLPGenerator,
    UpsampleGenerator,
    fit_gan,
    init_dcgan_weights,
    sample_images,
)
from course_lib.profiles import Budget


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_PROGRESS", "off")
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    # these networks are tiny: a second thread costs more than it gives
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def shapes_after(
    module: nn.Sequential, x: torch.Tensor, kinds
) -> list[tuple[int, ...]]:
    """Output shape (without the batch) of every layer of one of the given kinds."""
    seen = []
    for layer in module:
        x = layer(x)
        if isinstance(layer, kinds):
            seen.append(tuple(x.shape[1:]))
    return seen


def test_dcgan_28_layer_shapes():
    g = DCGenerator(latent_dim=100, ngf=8)
    z = torch.randn(3, 100)
    assert shapes_after(g.net, z[:, :, None, None], nn.ConvTranspose2d) == [
        (32, 7, 7),
        (16, 14, 14),
        (1, 28, 28),
    ]
    images = g(z)
    assert images.shape == (3, 1, 28, 28) and images.abs().max() <= 1
    d = DCDiscriminator(ndf=8)
    assert shapes_after(d.body, images, nn.Conv2d) == [
        (8, 14, 14),
        (16, 7, 7),
        (32, 3, 3),
    ]
    assert d(images).shape == (3,)
    # the stride-1 3x3 convolutions keep size and width, at 7x7 and at 14x14
    convolutions = (nn.Conv2d, nn.ConvTranspose2d)
    every_layer = [(32, 7, 7), (32, 7, 7), (16, 14, 14), (16, 14, 14), (1, 28, 28)]
    assert shapes_after(g.net, z[:, :, None, None], convolutions) == every_layer
    up = UpsampleGenerator(ngf=8)
    # the same widths as DCGenerator(ngf=8): only the upsampling operator differs
    assert shapes_after(up.net, z[:, :, None, None], convolutions) == every_layer
    assert up(z).shape == (3, 1, 28, 28) and up(z).abs().max() <= 1


def test_dc_discriminator_receptive_field_covers_a_centred_digit():
    """Which input pixels reach the centre feature of the last 3x3 map, found with
    autograd (positive weights, so no contribution cancels): rows and columns 1-22, the
    22x22 patch of DCDiscriminator's docstring."""
    d = DCDiscriminator(ndf=2).eval()
    with torch.no_grad():
        for m in d.body:
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(0.1)
    x = torch.ones(1, 1, 28, 28, requires_grad=True)
    maps = d.body[:-1](x)  # (1, 4 ndf, 3, 3), before Flatten
    assert maps.shape == (1, 8, 3, 3)
    maps[0, :, 1, 1].sum().backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(dim=0)).flatten()
    assert (int(rows.min()), int(rows.max())) == (1, 22)
    assert (int(cols.min()), int(cols.max())) == (1, 22)
    # the corner feature (0, 0) sees from the image's edge to row/column 14
    x.grad = None
    d.body[:-1](x)[0, :, 0, 0].sum().backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    assert (int(rows.min()), int(rows.max())) == (0, 14)


def test_transposed_convolution_makes_a_checkerboard_from_a_flat_input():
    """Docstring of UpsampleGenerator: with k=4, s=2, p=1 each output pixel gets 2x2
    taps, one sub-kernel per output parity; sub-kernels with different sums turn a
    constant input into a period-2 pattern, while nearest upsampling + one 3x3 kernel
    keeps a constant input constant away from the border."""
    tconv = nn.ConvTranspose2d(1, 1, 4, 2, 1, bias=False)
    conv = nn.Conv2d(1, 1, 3, 1, 1, bias=False)
    with torch.no_grad():
        tconv.weight.copy_(torch.arange(16.0).view(1, 1, 4, 4))
        conv.weight.copy_(torch.arange(9.0).view(1, 1, 3, 3))
    flat = torch.ones(1, 1, 8, 8)
    out = tconv(flat)[0, 0, 2:-2, 2:-2]  # interior: every pixel gets 2x2 taps
    w = torch.arange(16.0).view(4, 4)
    # the pixel of parity (a, b) sums kernel entries of the opposite parity of a+1, b+1
    for a in (0, 1):
        for b in (0, 1):
            sub = w[(1 - a) :: 2, (1 - b) :: 2]
            assert sub.shape == (2, 2)
            torch.testing.assert_close(
                out[a::2, b::2], torch.full((6, 6), float(sub.sum()))
            )
    assert out[0::2, 0::2].mean() != out[1::2, 1::2].mean()
    up = conv(nn.functional.interpolate(flat, scale_factor=2, mode="nearest"))
    torch.testing.assert_close(up[0, 0, 1:-1, 1:-1], torch.full((14, 14), 36.0))


def test_dcgan_64_layer_shapes_and_parameter_count():
    nz, ngf, ndf, nc = 100, 64, 64, 3
    g, d = DCGenerator64(nz, ngf, nc), DCDiscriminator64(ndf, nc)
    z = torch.randn(2, nz)
    assert shapes_after(g.net, z[:, :, None, None], nn.ConvTranspose2d) == [
        (512, 4, 4),
        (256, 8, 8),
        (128, 16, 16),
        (64, 32, 32),
        (3, 64, 64),
    ]
    images = g(z)
    assert shapes_after(d.body, images, nn.Conv2d) == [
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
        (512, 4, 4),
    ]
    assert d(images).shape == (2,)
    # the tutorial's networks: 4x4 kernels without bias, BatchNorm with scale and shift
    widths = [nz, 8 * ngf, 4 * ngf, 2 * ngf, ngf, nc]
    expected_g = sum(16 * a * b for a, b in zip(widths, widths[1:])) + 2 * sum(
        widths[1:-1]
    )
    assert sum(p.numel() for p in g.parameters()) == expected_g == 3_576_704
    widths = [nc, ndf, 2 * ndf, 4 * ndf, 8 * ndf]
    expected_d = (
        sum(16 * a * b for a, b in zip(widths, widths[1:]))
        + 2 * sum(widths[2:])
        + (16 * 8 * ndf + 1)
    )
    # + 1: our final linear layer has a bias
    assert sum(p.numel() for p in d.parameters()) == expected_d


def test_dcgan_initialisation_statistics():
    g = DCGenerator64()
    for m in g.modules():
        if isinstance(m, nn.ConvTranspose2d):
            assert abs(m.weight.mean().item()) < 0.002
            assert m.weight.std().item() == pytest.approx(0.02, rel=0.05)
        if isinstance(m, nn.BatchNorm2d) and m.num_features >= 256:
            assert m.weight.mean().item() == pytest.approx(1.0, abs=0.005)
            assert m.weight.std().item() == pytest.approx(0.02, rel=0.2)
            assert torch.count_nonzero(m.bias) == 0
    layer = nn.Linear(10, 10)
    init_dcgan_weights(layer)
    assert torch.count_nonzero(layer.bias) == 0


def test_minibatch_discrimination_matches_double_loop():
    layer = MinibatchDiscrimination(in_features=5, out_features=3, kernel_dims=4)
    x = torch.randn(6, 5)
    out = layer(x)
    assert out.shape == (6, 8) and torch.equal(out[:, :5], x)
    m = torch.einsum("na,abc->nbc", x, layer.T)
    for i in range(6):
        for b in range(3):
            o = sum(
                math.exp(-(m[i, b] - m[j, b]).abs().sum().item())
                for j in range(6)
                if j != i
            )
            assert out[i, 5 + b].item() == pytest.approx(o, rel=1e-5)


def test_minibatch_features_are_larger_for_identical_samples():
    layer = MinibatchDiscrimination(in_features=16, out_features=8, kernel_dims=4)
    identical = torch.randn(1, 16).repeat(10, 1)
    distinct = torch.randn(10, 16) * 3
    same, diff = layer(identical)[:, 16:], layer(distinct)[:, 16:]
    # exp(0) summed over the 9 others
    assert torch.allclose(same, torch.full_like(same, 9.0))
    assert (diff < same).all() and diff.mean() < 0.5 * same.mean()
    normalised = MinibatchDiscrimination(
        in_features=16, out_features=8, kernel_dims=4, normalise=True
    )
    normalised.T.data.copy_(layer.T.data)
    # the mean over the 9 others, in [0, 1]
    assert torch.allclose(normalised(distinct)[:, 16:], diff / 9)
    assert torch.allclose(normalised(identical)[:, 16:], torch.ones(10, 8))
    d = MLPDiscriminator(hidden=(32,), minibatch_features=8)
    assert d(torch.rand(4, 1, 28, 28) * 2 - 1).shape == (4,)
    assert DCDiscriminator(ndf=4, minibatch_features=8)(
        torch.zeros(4, 1, 28, 28)
    ).shape == (4,)


def test_conditional_networks_use_labels():
    g = MLPGenerator(hidden=(32,), n_classes=10)
    d = MLPDiscriminator(hidden=(32,), n_classes=10)
    z = torch.randn(1, 100).repeat(2, 1)
    images = g(z, torch.tensor([3, 7]))
    assert images.shape == (2, 1, 28, 28) and not torch.allclose(images[0], images[1])
    logits = d(images[:1].repeat(2, 1, 1, 1), torch.tensor([3, 7]))
    assert logits[0] != logits[1]
    gc, dc = DCGenerator(ngf=4, n_classes=10), DCDiscriminator(ndf=4, n_classes=10)
    assert dc(gc(torch.randn(4, 100), torch.arange(4)), torch.arange(4)).shape == (4,)
    samples = sample_images(gc, 20, seed=3)  # balanced labels by default
    assert samples.shape == (20, 1, 28, 28) and torch.equal(
        samples, sample_images(gc, 20, seed=3)
    )


def test_wrong_inputs_raise_clear_errors():
    g, d = MLPGenerator(hidden=(8,)), MLPDiscriminator(hidden=(8,))
    with pytest.raises(CourseInputError, match="latent_dim=100"):
        g(torch.randn(2, 64))
    # forward checks shapes only (no device-to-host read per call); fit_gan checks the
    # values once
    assert d(torch.rand(2, 1, 28, 28) * 255).shape == (2,)
    with pytest.raises(CourseInputError, match=r"shape \(N, 1, 28, 28\)"):
        d(torch.zeros(2, 784))
    with pytest.raises(CourseInputError, match="unconditional"):
        g(torch.randn(2, 100), torch.tensor([1, 2]))
    gc = MLPGenerator(hidden=(8,), n_classes=10)
    with pytest.raises(CourseInputError, match="needs labels"):
        gc(torch.randn(2, 100))
    with pytest.raises(CourseInputError, match="int64"):
        gc(torch.randn(2, 100), torch.tensor([1.0, 2.0]))


def test_fit_gan_rejects_bad_set_ups():
    budget = Budget(1, None, 8)
    images = torch.rand(16, 1, 28, 28) * 2 - 1
    g, d = MLPGenerator(hidden=(8,)), MLPDiscriminator(hidden=(8,))
    with pytest.raises(CourseInputError, match="to_signed|values in"):
        fit_gan(g, d, images * 100, budget=budget, cache=False)
    with pytest.raises(CourseInputError, match="unknown GAN loss"):
        fit_gan(g, d, images, budget=budget, loss="wgan", cache=False)
    with pytest.raises(CourseInputError, match="same image size"):
        fit_gan(
            DCGenerator64(ngf=4),
            DCDiscriminator(ndf=4),
            images,
            budget=budget,
            cache=False,
        )
    with pytest.raises(CourseInputError, match="condition both"):
        fit_gan(
            MLPGenerator(hidden=(8,), n_classes=10),
            d,
            images,
            budget=budget,
            cache=False,
        )
    with pytest.raises(CourseInputError, match="needs labels"):
        fit_gan(
            MLPGenerator(hidden=(8,), n_classes=10),
            MLPDiscriminator(hidden=(8,), n_classes=10),
            images,
            budget=budget,
            cache=False,
        )
    with pytest.raises(CourseInputError, match="at least batch_size"):
        fit_gan(g, d, images, budget=Budget(1, None, 32), cache=False)
    with pytest.raises(CourseInputError, match=r"0\.\.9"):
        fit_gan(
            MLPGenerator(hidden=(8,), n_classes=10),
            MLPDiscriminator(hidden=(8,), n_classes=10),
            images,
            labels=torch.arange(16) % 11,
            budget=budget,
            cache=False,
        )


def test_mlp_gan_learns_a_one_image_data_set():
    """A tiny problem: every real image is the same pattern; the generator must learn to
    draw it."""
    target = -torch.ones(1, 28, 28)
    target[:, 8:20, 10:18] = 1.0
    images = target.repeat(256, 1, 1, 1)
    g, d = MLPGenerator(latent_dim=8, hidden=(128,)), MLPDiscriminator(hidden=(128,))
    # about 1: the untrained output is ~0
    before = (sample_images(g, 64) - target).abs().mean().item()
    g, d, history = fit_gan(
        g, d, images, budget=Budget(20, None, 32), lr=1e-3, cache=False
    )
    after = (sample_images(g, 64) - target).abs().mean().item()
    assert after < 0.7 * before  # about 0.5 after these 160 steps, whatever the seed
    assert set(history.keys()) >= {"d_loss", "g_loss", "d_x", "d_g_z1", "d_g_z2"}
    for key in ("d_x", "d_g_z1", "d_g_z2"):
        assert all(0 <= v <= 1 for v in history[key])
    assert len(history.snapshots) == 20 and history.snapshots[0].shape == (
        64,
        1,
        28,
        28,
    )


def test_fit_gan_dcgan_conditional_hinge_and_cache(monkeypatch):
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    labels = torch.arange(64) % 10
    budget = Budget(1, None, 16)

    def build(seed: int = 1):
        torch.manual_seed(seed)
        return DCGenerator(ngf=4, n_classes=10), DCDiscriminator(
            ndf=4, n_classes=10, minibatch_features=4
        )

    _, _, history = fit_gan(
        *build(),
        images,
        budget=budget,
        labels=labels,
        loss="hinge",
        snapshot_noise=torch.randn(10, 100),
    )
    assert history.snapshots[0].shape == (10, 1, 28, 28) and history.epochs == 1
    g3, _, history3 = fit_gan(
        *build(),
        images,
        budget=budget,
        labels=labels,
        loss="hinge",
        snapshot_noise=torch.zeros(10, 100),
    )
    monkeypatch.setattr(
        gan_module,
        "train",
        lambda *a, **k: pytest.fail("trained instead of loading the cache"),
    )
    g4, _, history4 = fit_gan(
        *build(seed=2),
        images,
        budget=budget,
        labels=labels,
        loss="hinge",
        # other initial weights: a hit replaces them
        snapshot_noise=torch.zeros(10, 100),
    )
    assert history4.values == history3.values
    for a, b in zip(g3.state_dict().values(), g4.state_dict().values()):
        assert torch.equal(a, b)


def test_mlp_generator_batch_norm_option():
    plain, normed = MLPGenerator(), MLPGenerator(batch_norm=True)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in plain.modules())
    assert [
        m.num_features for m in normed.modules() if isinstance(m, nn.BatchNorm1d)
    ] == [512, 1024]
    assert normed.config["batch_norm"] is True and plain.config != normed.config
    images = normed(torch.randn(4, 100))
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1


def test_projection_discriminator_adds_the_label_embedding_times_the_features():
    torch.manual_seed(0)
    d = MLPDiscriminator(hidden=(16, 8), n_classes=10, projection=True)
    x, y = torch.rand(5, 1, 28, 28) * 2 - 1, torch.tensor([0, 3, 3, 9, 1])
    with torch.no_grad():
        h = d.features(x, y)
        by_hand = d.out(h).squeeze(1) + (d.projection.weight[y] * h).sum(dim=1)
        assert torch.allclose(d(x, y), by_hand)
        d.projection.weight[3] += 1.0  # only the rows asking for digit 3 change
        changed = (d(x, y) - by_hand).abs() > 1e-6
    assert changed.tolist() == [False, True, True, False, False]
    # unconditional: no projection
    assert MLPDiscriminator(hidden=(8,), projection=True).projection is None


def test_auxiliary_classifier_names_the_digit_without_reading_the_label():
    torch.manual_seed(0)
    d = MLPDiscriminator(
        hidden=(16, 8), n_classes=10, projection=True, auxiliary_classifier=True
    )
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    y, other = torch.tensor([0, 3, 3, 9]), torch.tensor([1, 1, 2, 2])
    with torch.no_grad():
        logits, classes = d.logits_and_classes(x, y)
        # the class head sees the pixels only: the same scores whatever label is given
        assert torch.equal(classes, d.logits_and_classes(x, other)[1])
        h = d.features(x, None)
        assert torch.allclose(classes, d.classifier(h))
        by_hand = d.out(h).squeeze(1) + (d.projection.weight[y] * h).sum(dim=1)
        assert torch.allclose(logits, by_hand) and torch.equal(d(x, y), logits)
    assert d.config["auxiliary_classifier"] is True
    assert MLPDiscriminator(hidden=(8,), n_classes=10).classifier is None
    with pytest.raises(CourseInputError, match="n_classes=10"):
        MLPDiscriminator(auxiliary_classifier=True)


def test_adversarial_step_adds_the_class_cross_entropy_for_both_players():
    torch.manual_seed(0)
    g = MLPGenerator(latent_dim=4, hidden=(8,), n_classes=3)
    d = MLPDiscriminator(hidden=(8,), n_classes=3, auxiliary_classifier=True)
    x, z, y = torch.rand(6, 1, 28, 28) * 2 - 1, torch.randn(6, 4), torch.arange(6) % 3
    # SGD with lr 0: the step changes nothing, so the losses can be recomputed by hand
    opt_g = torch.optim.SGD(g.parameters(), lr=0.0)
    opt_d = torch.optim.SGD(d.parameters(), lr=0.0)
    out = gan_module.adversarial_step(g, d, opt_g, opt_d, x, z, y)
    with torch.no_grad():
        fake = g(z, y)
        real_l, real_c = d(x, y), d.classifier(d.features(x, None))
        fake_l, fake_c = d(fake, y), d.classifier(d.features(fake, None))

        def cross_entropy(c: torch.Tensor) -> torch.Tensor:
            return -(c.log_softmax(dim=1)[torch.arange(6), y]).mean()

        adv_d = (
            torch.log1p(torch.exp(-real_l)).mean()
            + torch.log1p(torch.exp(fake_l)).mean()
        )
        # the class head learns from real images only
        d_by_hand = adv_d + cross_entropy(real_c)
        g_by_hand = torch.log1p(torch.exp(-fake_l)).mean() + cross_entropy(fake_c)
    assert out["d_loss"].item() == pytest.approx(d_by_hand.item(), rel=1e-5)
    assert out["g_loss"].item() == pytest.approx(g_by_hand.item(), rel=1e-5)


def test_adversarial_step_adds_half_gamma_times_the_r1_penalty_to_d_loss_only():
    """A linear discriminator l(x) = w . x + b has R1 penalty ||w||^2, whatever x."""
    torch.manual_seed(0)
    g = MLPGenerator(latent_dim=4, hidden=(8,))
    d = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 1), nn.Flatten(0))
    x, z = torch.rand(6, 1, 28, 28) * 2 - 1, torch.randn(6, 4)
    # SGD with lr 0: the step changes nothing, so both runs see the same networks
    opt_g = torch.optim.SGD(g.parameters(), lr=0.0)
    opt_d = torch.optim.SGD(d.parameters(), lr=0.0)
    plain = gan_module.adversarial_step(g, d, opt_g, opt_d, x, z)
    penalised = gan_module.adversarial_step(g, d, opt_g, opt_d, x, z, r1_weight=10.0)
    squared_norm = d[1].weight.detach().pow(2).sum()
    assert penalised["d_loss"].item() == pytest.approx(
        plain["d_loss"].item() + 10.0 / 2 * squared_norm.item(), rel=1e-5
    )
    assert penalised["g_loss"].item() == pytest.approx(plain["g_loss"].item())
    assert not x.requires_grad  # the caller's batch is left alone


def test_fit_gan_rejects_a_negative_r1_weight_and_r1_with_the_energy_loss():
    images = torch.rand(32, 1, 28, 28) * 2 - 1
    with pytest.raises(CourseInputError, match="r1_weight must be"):
        fit_gan(*_small_dcgan(), images, budget=Budget(1, None, 16), r1_weight=-1.0)
    with pytest.raises(CourseInputError, match="energy"):
        fit_gan(
            *_small_dcgan(),
            images,
            budget=Budget(1, None, 16),
            loss="energy",
            r1_weight=10.0,
        )


def _small_dcgan(seed: int = 0) -> tuple[DCGenerator, DCDiscriminator]:
    torch.manual_seed(seed)
    return DCGenerator(latent_dim=8, ngf=4), DCDiscriminator(ndf=4)


def test_fit_gan_ema_with_a_tiny_decay_returns_the_last_weights():
    """With d -> 0 the average is the last generator: its weights equal those of the
    same run without an average (the average draws no random numbers)."""
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    budget = Budget(2, None, 16)
    plain, _, _ = fit_gan(*_small_dcgan(), images, budget=budget, cache=False)
    averaged, _, _ = fit_gan(
        *_small_dcgan(), images, budget=budget, cache=False, ema_decay=1e-9
    )
    for (name, a), b in zip(plain.named_parameters(), averaged.parameters()):
        torch.testing.assert_close(a, b, msg=name)


def test_fit_gan_ema_averages_the_weights_over_the_steps(monkeypatch):
    """With d = 0.5 over the 4 steps of one epoch, the average is
    w1/8 + w2/8 + w3/4 + w4/2 (the first step copies w1). The run's weights after each
    step are recorded by wrapping the training step."""
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    snapshots = []
    original_step = gan_module.adversarial_step

    def recording_step(generator, *args, **kwargs):
        out = original_step(generator, *args, **kwargs)
        snapshots.append([p.detach().clone() for p in generator.parameters()])
        return out

    monkeypatch.setattr(gan_module, "adversarial_step", recording_step)
    averaged, _, _ = fit_gan(
        *_small_dcgan(),
        images,
        budget=Budget(1, None, 16),
        cache=False,
        ema_decay=0.5,
    )
    assert len(snapshots) == 4
    for i, p in enumerate(averaged.parameters()):
        w = [s[i] for s in snapshots]
        expected = w[0] / 8 + w[1] / 8 + w[2] / 4 + w[3] / 2
        torch.testing.assert_close(p.detach(), expected)


def test_use_average_measures_the_averages_own_batchnorm_statistics():
    """After use_average, the first BatchNorm's running mean and variance are the mean
    and (unbiased) variance of the first layer's outputs over the same noise."""
    generator, _ = _small_dcgan()
    average, _ = _small_dcgan(seed=5)  # other weights, stale statistics
    average.net[1].running_mean.fill_(3.0)
    gan_module.use_average(generator, average, seed=0, n=1000)
    noise = torch.randn(1000, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        first = average.net[0](noise[:, :, None, None])  # (1000, 16, 7, 7)
    mean = first.mean(dim=(0, 2, 3))
    # update_bn averages the per-batch unbiased variances (two batches of 500)
    var = torch.stack([c.var(dim=(0, 2, 3)) for c in first.split(500)]).mean(0)
    bn = generator.net[1]
    torch.testing.assert_close(bn.running_mean, mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(bn.running_var, var, rtol=1e-4, atol=1e-5)
    for a, b in zip(generator.parameters(), average.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_fit_gan_rejects_a_bad_ema_decay(decay):
    images = torch.rand(32, 1, 28, 28) * 2 - 1
    with pytest.raises(CourseInputError, match="ema_decay must lie strictly between"):
        fit_gan(*_small_dcgan(), images, budget=Budget(1, None, 16), ema_decay=decay)


def test_fit_gan_rejects_ema_for_a_conditional_generator():
    images, labels = torch.rand(32, 1, 28, 28) * 2 - 1, torch.arange(32) % 10
    g, d = (
        DCGenerator(latent_dim=8, ngf=4, n_classes=10),
        DCDiscriminator(ndf=4, n_classes=10),
    )
    with pytest.raises(CourseInputError, match="unconditional generators only"):
        fit_gan(g, d, images, labels=labels, budget=Budget(1, None, 16), ema_decay=0.9)
