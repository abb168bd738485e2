"""Every figure renders headless on tiny inputs, shows what it was given, and rejects
bad input clearly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib import viz
from course_lib.errors import CourseInputError
from course_lib.training import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _images(n: int = 6, signed: bool = True) -> torch.Tensor:
    x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    return x * 2 - 1 if signed else x


def _rendered(fig) -> None:
    fig.canvas.draw()  # raises if anything in the figure cannot be drawn


def _shown_array(ax) -> np.ndarray:
    images = ax.get_images()
    assert len(images) == 1
    return np.asarray(images[0].get_array())


# ------------------------------------------------------------------------------- images


def test_image_grid_tiles_images_with_a_two_pixel_frame_and_maps_minus_one_to_black():
    x = _images(10)
    x[0] = -1.0  # an all-black image on [-1, 1]
    x[1] = 1.0
    fig = viz.image_grid(x, nrow=4, title="samples")
    _rendered(fig)
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "samples"
    shown = _shown_array(fig.axes[0])
    # 10 images, 4 per row -> 3 rows of 28 + 2 px frame
    assert shown.shape == (3 * 30 + 2, 4 * 30 + 2)
    assert np.all(shown[2:30, 2:30] == 0.0) and np.all(shown[2:30, 32:60] == 1.0)
    assert shown[0, 0] == pytest.approx(viz.PAD_VALUE)
    # the same picture from [0, 1] images: (x + 1) / 2
    same = viz.image_grid((x + 1) / 2, nrow=4)
    np.testing.assert_allclose(_shown_array(same.axes[0]), shown, atol=1e-6)


def test_image_grid_accepts_flat_784_vectors_and_colour():
    fig = viz.image_grid(torch.rand(3, 784), nrow=3)
    assert _shown_array(fig.axes[0]).shape == (32, 92)
    fig = viz.image_grid(torch.rand(2, 3, 8, 8), nrow=2)
    assert _shown_array(fig.axes[0]).shape == (12, 22, 3)


@pytest.mark.parametrize(
    ("images", "value_range", "message"),
    [
        (torch.rand(28, 28), None, "shape"),
        (torch.rand(2, 2, 28, 28), None, "shape"),
        (torch.rand(0, 1, 28, 28), None, "empty"),
        (torch.rand(2, 1, 28, 28) * 5, None, r"\[-1, 1\] or \[0, 1\]"),
        (torch.rand(2, 1, 28, 28) - 0.5, (0, 1), "value_range=\\(-1, 1\\)"),
        (torch.full((2, 1, 28, 28), float("nan")), None, "NaN"),
        (torch.rand(2, 1, 28, 28), (0, 255), "value_range must be"),
    ],
)
def test_image_grid_rejects_bad_images(images, value_range, message):
    with pytest.raises(CourseInputError, match=message):
        viz.image_grid(images, value_range=value_range)


def test_compare_rows_one_labelled_axes_per_row():
    x = _images(8)
    fig = viz.compare_rows(
        {"original": x, "corrupted": x.clamp(max=0), "reconstruction": x * 0.5}, n=5
    )
    _rendered(fig)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "original",
        "corrupted",
        "reconstruction",
    ]
    assert all(_shown_array(ax).shape == (32, 5 * 30 + 2) for ax in fig.axes)
    np.testing.assert_allclose(
        _shown_array(fig.axes[0])[2:30, 2:30], (x[0, 0].numpy() + 1) / 2, atol=1e-6
    )


def test_image_panels_one_titled_axes_per_set_with_its_own_rows():
    x = _images(8)
    fig = viz.image_panels({"samples": x, "least sure": x[:3]}, nrow=4)
    _rendered(fig)
    assert [ax.get_title() for ax in fig.axes] == ["samples", "least sure"]
    # 8 images in rows of 4 make two rows; 3 images one row of the same width
    assert _shown_array(fig.axes[0]).shape == (2 * 30 + 2, 4 * 30 + 2)
    assert _shown_array(fig.axes[1]).shape == (32, 4 * 30 + 2)
    with pytest.raises(CourseInputError, match="non-empty dict"):
        viz.image_panels({})


def test_compare_rows_rejects_empty_and_too_many():
    with pytest.raises(CourseInputError, match="non-empty dict"):
        viz.compare_rows({})
    with pytest.raises(CourseInputError, match="shortest row"):
        viz.compare_rows({"a": _images(3), "b": _images(5)}, n=4)


# ------------------------------------------------------------------------------- curves


def test_loss_curves_plots_each_series_against_epochs_from_one():
    history = History()
    for value in (3.0, 2.0, 1.5):
        history.log(loss=value, test_loss=value + 0.5, seconds=1.0)
    fig = viz.loss_curves(history, title="AE")
    _rendered(fig)
    lines = fig.axes[0].get_lines()
    # timing series left out
    assert [line.get_label() for line in lines] == ["loss", "test_loss"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), [3.5, 2.5, 2.0])
    assert fig.get_suptitle() == "AE"
    separate = viz.loss_curves(
        {"a": [1, 2], "b": [10, 20, 30]}, separate=True, logy=True
    )
    assert len(separate.axes) == 2 and separate.axes[1].get_yscale() == "log"


def test_loss_curves_names_missing_and_empty_series():
    with pytest.raises(CourseInputError, match=r"no series named \['kl'\].*loss"):
        viz.loss_curves({"loss": [1.0]}, keys=["kl"])
    with pytest.raises(CourseInputError, match="empty"):
        viz.loss_curves({"loss": []})
    with pytest.raises(CourseInputError, match="History or a dict"):
        viz.loss_curves([1, 2, 3])


def test_gan_curves_two_panels_and_probabilities_on_unit_axis():
    history = {
        "loss_d": [1.3, 1.1],
        "loss_g": [0.8, 1.2],
        "d_real": [0.6, 0.7],
        "d_fake_before": [0.4, 0.3],
        "d_fake_after": [0.35, 0.25],
        "seconds": [1, 1],
    }
    fig = viz.gan_curves(history)
    _rendered(fig)
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()] == [
        "discriminator loss",
        "generator loss",
    ]
    labels = [line.get_label() for line in right.get_lines()]
    assert labels[:3] == ["D(x)", "D(G(z)) before D step", "D(G(z)) after D step"]
    assert right.get_ylim()[0] < 0.01 and right.get_ylim()[1] > 0.99
    # the equilibrium line
    assert any(np.allclose(line.get_ydata(), 0.5) for line in right.get_lines())
    # two epochs: whole-epoch ticks only, no 1.5
    for ax in (left, right):
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 2]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_gan_curves_reads_the_recipe_names_of_the_pytorch_dcgan_example():
    history = {
        "d_loss": [1.3, 1.0],
        "g_loss": [0.9, 1.4],
        "d_x": [0.6, 0.8],
        "d_g_z1": [0.4, 0.2],
        "d_g_z2": [0.35, 0.15],
    }
    fig = viz.gan_curves(history)
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()] == [
        "discriminator loss",
        "generator loss",
    ]
    assert [line.get_label() for line in right.get_lines()][:3] == [
        "D(x)",
        "D(G(z)) before D step",
        "D(G(z)) after D step",
    ]
    np.testing.assert_array_equal(right.get_lines()[1].get_ydata(), [0.4, 0.2])


def test_gan_curves_rejects_logits_and_missing_series():
    with pytest.raises(CourseInputError, match="probabilities in \\[0, 1\\]"):
        viz.gan_curves(
            {"loss_d": [1.0], "loss_g": [1.0], "logit_real": [3.0]},
            probabilities=["logit_real"],
        )
    with pytest.raises(CourseInputError, match="losses=\\[...\\]"):
        viz.gan_curves({"loss": [1.0]})


# ------------------------------------------------------------------------------ kernels


def test_kernel_comparison_two_panels_and_transposed_weights_error():
    fig = viz.kernel_comparison(torch.randn(9, 784), torch.randn(16, 784), n=9)
    _rendered(fig)
    assert [ax.get_title() for ax in fig.axes] == [
        "autoencoder",
        "denoising autoencoder",
    ]
    assert _shown_array(fig.axes[0]).shape == (3 * 30 + 2, 3 * 30 + 2)
    with pytest.raises(CourseInputError, match="transposed: pass weights.T"):
        viz.kernel_comparison(torch.randn(784, 30), torch.randn(9, 784))
    with pytest.raises(CourseInputError, match="dae_weights must have shape"):
        viz.kernel_comparison(torch.randn(9, 784), torch.randn(9, 100))


def test_error_vs_latent_size_log2_axis_and_checks():
    fig = viz.error_vs_latent_size(
        [2, 10, 100], {"AE": [0.2, 0.1, 0.05], "DAE": [0.3, 0.2, 0.1]}
    )
    _rendered(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["AE", "DAE"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [2, 10, 100])
    with pytest.raises(CourseInputError, match="one value per size"):
        viz.error_vs_latent_size([2, 10], [0.1])
    with pytest.raises(CourseInputError, match="increasing"):
        viz.error_vs_latent_size([10, 2], [0.1, 0.2])


# ------------------------------------------------------------------------------ latents


def test_latent_scatter_one_colour_per_digit_and_legend():
    codes = torch.randn(30, 2)
    labels = torch.arange(30) % 3  # digits 0, 1, 2
    fig = viz.latent_scatter(codes, labels, title="codes")
    _rendered(fig)
    ax = fig.axes[0]
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    np.testing.assert_allclose(
        ax.collections[1].get_offsets(), codes[labels == 1].numpy(), atol=1e-6
    )
    assert ax.get_title() == "codes"


@pytest.mark.parametrize(
    ("codes", "labels", "message"),
    [
        (torch.randn(10, 3), torch.zeros(10), "shape \\(N, 2\\).*tsne_explorer"),
        (torch.randn(10, 2), torch.zeros(9), "shape \\(10,\\)"),
        (torch.randn(10, 2), torch.full((10,), 11), "digits 0..9"),
    ],
)
def test_latent_scatter_rejects_bad_input(codes, labels, message):
    with pytest.raises(CourseInputError, match=message):
        viz.latent_scatter(codes, labels)


def test_manifold_grid_decodes_cell_centres_top_row_first():
    seen = []

    def decode(z):
        seen.append(z.clone())
        # image brightness encodes z1 so the layout can be checked: [-1, 1] range
        return (z[:, 0] / 2).clamp(-1, 1).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)

    fig = viz.manifold_grid(decode, extent=(-2, 2, -1, 3), n=4, title="manifold")
    _rendered(fig)
    z = seen[0]
    assert z.shape == (16, 2)
    # top-left cell centre: z1 min, z2 max
    np.testing.assert_allclose(z[0].numpy(), [-1.5, 2.5])
    np.testing.assert_allclose(z[3].numpy(), [1.5, 2.5])
    np.testing.assert_allclose(z[15].numpy(), [1.5, -0.5])
    ax = fig.axes[0]
    shown = _shown_array(ax)
    assert shown.shape == (4 * 28, 4 * 28)
    # z1 = -1.5 -> -0.75 on [-1, 1]
    assert shown[0, 0] == pytest.approx((-0.75 + 1) / 2)
    assert ax.get_images()[0].get_extent() == [-2, 2, -1, 3]
    assert ax.get_xlabel() == "$z_1$"


def test_manifold_grid_rejects_logits_and_wrong_outputs():
    with pytest.raises(CourseInputError, match="sigmoid"):
        viz.manifold_grid(lambda z: torch.full((len(z), 1, 28, 28), 5.0), 1.0, 3)
    with pytest.raises(CourseInputError, match="must return \\(9, C, H, W\\)"):
        viz.manifold_grid(lambda z: torch.zeros(3, 1, 28, 28), 1.0, 3)
    with pytest.raises(CourseInputError, match="extent"):
        viz.manifold_grid(lambda z: z, (1, 0, 0, 1), 3)


def test_prior_vs_posterior_shares_limits():
    fig = viz.prior_vs_posterior(
        torch.randn(50, 2) * 5,
        torch.randn(20, 2),
        torch.arange(20) % 10,
        prior_components=torch.arange(50) % 10,
    )
    _rendered(fig)
    left, right = fig.axes[:2]
    assert left.get_xlim() == right.get_xlim() and left.get_ylim() == right.get_ylim()
    assert left.get_title().startswith("samples of the prior")
    assert len(right.collections) == 10
    with pytest.raises(
        CourseInputError, match="prior_components must have shape \\(50,\\)"
    ):
        viz.prior_vs_posterior(
            torch.randn(50, 2),
            torch.randn(20, 2),
            torch.zeros(20),
            prior_components=[0],
        )


# ----------------------------------------------------------------------------- GAN toys


def test_toy_gan_1d_densities_and_discriminator_on_twin_axis():
    x = torch.linspace(-3, 3, 50)
    data = torch.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)
    fig = viz.toy_gan_1d(x, data, data * 0.5, torch.sigmoid(x), title="step 0")
    _rendered(fig)
    assert len(fig.axes) == 2
    ax, twin = fig.axes
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), data.numpy(), atol=1e-6)
    assert twin.get_ylim() == pytest.approx((0, 1.02))
    assert ax.get_title() == "step 0"
    with pytest.raises(CourseInputError, match="probability"):
        viz.toy_gan_1d(x, data, data, x + 5)
    with pytest.raises(CourseInputError, match="shape \\(50,\\)"):
        viz.toy_gan_1d(x, data[:10], data, torch.sigmoid(x))
    with pytest.raises(CourseInputError, match="increasing"):
        viz.toy_gan_1d(x.flip(0), data, data, torch.sigmoid(x))


def test_toy_gan_1d_optimal_discriminator_and_half_line_in_the_legend():
    x = torch.linspace(-3, 3, 50)
    data = torch.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)
    generated = torch.exp(-((x - 1) ** 2) / 2) / np.sqrt(2 * np.pi)
    d_star = data / (data + generated)
    fig = viz.toy_gan_1d(x, data, generated, torch.sigmoid(x), d_optimal=d_star)
    _rendered(fig)
    twin = fig.axes[1]
    labels = [line.get_label() for line in twin.get_lines()]
    assert labels[1] == "optimal $D^*(x)$ for this $p_g$" and "$D = 1/2$" in labels
    np.testing.assert_allclose(twin.get_lines()[1].get_ydata(), d_star.numpy())
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "$D = 1/2$" in legend and "optimal $D^*(x)$ for this $p_g$" in legend
    with pytest.raises(CourseInputError, match="d_optimal must be a probability"):
        viz.toy_gan_1d(x, data, generated, torch.sigmoid(x), d_optimal=d_star + 1)


def test_class_histogram():
    shares = torch.tensor([0.5, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.05, 0.05])
    fig = viz.class_histogram_plot(shares, title="MLP GAN")
    _rendered(fig)
    ax = fig.axes[0]
    np.testing.assert_allclose(
        [p.get_height() for p in ax.patches], 100 * shares.numpy(), atol=1e-6
    )
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and np.allclose(dashed[0].get_ydata(), 10.0)
    with pytest.raises(CourseInputError, match="counts: divide them by their total"):
        viz.class_histogram_plot(torch.tensor([30.0, 70.0]))


# --------------------------------------------------------------------------- inpainting


def test_inpainting_figure_titles_carry_psnr():
    clean = _images(6, signed=False)
    noisy = clean * (torch.rand_like(clean) > 0.5)
    fig = viz.inpainting_figure(
        noisy * 2 - 1,
        clean * 2 - 1,
        clean,
        clean,
        {"dae": 20.74, "telea": 17.9, "ns": 18.8},
        clean=clean,
        n=4,
    )
    _rendered(fig)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == [
        "original",
        "corrupted input",
        "DAE: PSNR 20.7 dB",
        "Telea: PSNR 17.9 dB",
        "Navier-Stokes: PSNR 18.8 dB",
    ]
    # [-1, 1] and [0, 1] panels of the same images look the same
    np.testing.assert_allclose(
        _shown_array(fig.axes[2]), _shown_array(fig.axes[3]), atol=1e-6
    )
    assert _shown_array(fig.axes[0]).shape == (32, 4 * 30 + 2)


def test_inpainting_figure_rejects_missing_psnr_and_mismatched_counts():
    x = _images(4)
    with pytest.raises(CourseInputError, match="missing \\['ns'\\]"):
        viz.inpainting_figure(x, x, x, x, {"dae": 1.0, "telea": 1.0})
    with pytest.raises(CourseInputError, match="same images"):
        viz.inpainting_figure(x, x[:2], x, x, {"dae": 1.0, "telea": 1.0, "ns": 1.0})
