"""Every figure the lessons show, drawn with matplotlib in one consistent style.

Each function takes tensors (or NumPy arrays), checks them, draws, and **returns** the
:class:`~matplotlib.figure.Figure` without calling ``plt.show()``: Jupyter shows a
returned figure once when it is the cell's last expression (the figure is detached from
pyplot, see :func:`finish`),
a test can inspect it, and ``fig.savefig(...)`` writes it to a file::

    from course_lib import viz
    fig = viz.compare_rows({"original": x[:10], "reconstruction": model(x[:10])})

Images are ``(N, 1, H, W)`` (or ``(N, H, W)``, or ``(N, 3, H, W)`` for colour) with
values in ``[-1, 1]`` (tanh models) or ``[0, 1]`` (Bernoulli models, after
``torch.sigmoid`` of the logits). Functions that show images take ``value_range=(-1,
1)`` or ``(0, 1)``; with ``None`` the range is detected (any negative value means ``[-1,
1]``). Images are always shown with a fixed grey colormap, black = the low end of the
range, never rescaled per image, so a mid-grey hole stays mid-grey.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_lib.errors import CourseInputError

BOOK_WIDTH = 7.0
"""Width in inches of a figure that fills the book's text column."""

DIGIT_COLOURS = [plt.get_cmap("tab10")(k) for k in range(10)]
"""One colour per digit 0-9 (matplotlib's ``tab10``), the same in every scatter and bar
chart."""

PAD_VALUE = 0.3
"""Grey level of the 2-pixel frame between tiled images (0 = black, 1 = white)."""

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 4,
    "image.cmap": "gray",
    "image.interpolation": "nearest",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The course's matplotlib style (:data:`STYLE`), as a context:
    ``with viz.style(): ...``."""
    with plt.rc_context(cast(Any, STYLE)):  # matplotlib types its keys as literals
        yield


def finish(fig: Figure) -> Figure:
    """Detach a finished figure from pyplot and return it.

    Jupyter then shows it exactly once, as the value of a cell's last expression
    (``viz.image_grid(x)`` or ``fig``), never a second time when the cell ends, and
    ``fig = viz.image_grid(x)`` shows nothing until ``fig`` is displayed. The figure
    still draws and saves normally (``fig.savefig(path)``).
    """
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------------------
# Input checks shared by the figures, the animation and the widgets
# --------------------------------------------------------------------------------------


def as_array(x: object, name: str) -> np.ndarray:
    """``x`` (a tensor, an array or a list of numbers) as a float64 NumPy array on the
    CPU."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise CourseInputError(
            f"{name} must be a tensor or an array of numbers, got {type(x).__name__}"
        ) from None
    return array


def resolve_value_range(
    values: np.ndarray, name: str, value_range: tuple[float, float] | None
) -> tuple[float, float]:
    """Check that ``values`` lie in ``value_range`` (or detect ``(-1, 1)`` / ``(0, 1)``)
    and return the range.

    Raises:
        CourseInputError: for NaN/inf, an unknown range, or values outside the range.
    """
    if values.size and not np.isfinite(values).all():
        raise CourseInputError(
            f"{name} contains NaN or infinite values; check the model's output"
        )
    lo = float(values.min()) if values.size else 0.0
    hi = float(values.max()) if values.size else 0.0
    if value_range is None:
        value_range = (-1.0, 1.0) if lo < 0 else (0.0, 1.0)
        if lo < -1 - 1e-4 or hi > 1 + 1e-4:
            raise CourseInputError(
                f"{name} must have values in [-1, 1] or [0, 1], got values in "
                f"[{lo:.3g}, {hi:.3g}]; "
                "apply torch.sigmoid to logits, or divide bytes by 255"
            )
        return value_range
    if tuple(value_range) not in ((-1.0, 1.0), (0.0, 1.0)):
        raise CourseInputError(
            f"value_range must be (-1, 1) or (0, 1), got {value_range}"
        )
    low, high = float(value_range[0]), float(value_range[1])
    if lo < low - 1e-4 or hi > high + 1e-4:
        hint = "; apply torch.sigmoid to logits" if (low, high) == (0.0, 1.0) else ""
        if (low, high) == (0.0, 1.0) and lo >= -1 - 1e-4 and hi <= 1 + 1e-4:
            hint = (
                "; these look like [-1, 1] images: pass value_range=(-1, 1) or use "
                "course_lib.data.to_unit"
            )
        raise CourseInputError(
            f"{name} must have values in [{low:g}, {high:g}], got values in "
            f"[{lo:.3g}, {hi:.3g}]{hint}"
        )
    return low, high


def display_images(
    images: object, name: str = "images", value_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Images as a float array ready to show: ``(N, H, W)`` grey or ``(N, H, W, 3)``
    colour, values in ``[0, 1]``.

    Args:
        images: ``(N, 1, H, W)``, ``(N, 3, H, W)``, ``(N, H, W)`` or ``(N, 784)``
            (reshaped to 28x28), values in ``value_range``.
        name: the argument's name, used in error messages.
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect.

    Raises:
        CourseInputError: for a wrong shape, no images, or values outside the range.
    """
    array = as_array(images, name)
    if array.ndim == 2 and array.shape[1] == 784:
        array = array.reshape(-1, 28, 28)
    if array.ndim == 4 and array.shape[1] in (1, 3):
        array = array[:, 0] if array.shape[1] == 1 else array.transpose(0, 2, 3, 1)
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[-1] != 3):
        raise CourseInputError(
            f"{name} must have shape (N, 1, H, W), (N, 3, H, W), (N, H, W) or (N, "
            f"784), got {array.shape}; "
            "for one image add a batch dimension with x.unsqueeze(0)"
        )
    if array.shape[0] == 0:
        raise CourseInputError(f"{name} is empty; pass at least one image")
    low, high = resolve_value_range(array, name, value_range)
    return np.clip((array - low) / (high - low), 0.0, 1.0)


def tile(
    images: np.ndarray, ncol: int, *, pad: int = 2, pad_value: float = PAD_VALUE
) -> np.ndarray:
    """Tile ``(N, H, W)`` or ``(N, H, W, 3)`` images into one picture, ``ncol`` per row,
    with a ``pad``-pixel frame.

    Returns:
        ``(rows * (H + pad) + pad, ncol * (W + pad) + pad[, 3])`` array; unused cells
        are ``pad_value``.
    """
    n, h, w = images.shape[:3]
    rows = -(-n // ncol)
    shape = (rows * (h + pad) + pad, ncol * (w + pad) + pad) + images.shape[3:]
    canvas = np.full(shape, pad_value, dtype=np.float64)
    for k in range(n):
        r, c = divmod(k, ncol)
        canvas[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = images[k]
    return canvas


def points_2d(x: object, name: str) -> np.ndarray:
    """``(N, 2)`` points as an array; a clear error for another shape or NaN."""
    array = as_array(x, name)
    if array.ndim != 2 or array.shape[1] != 2:
        raise CourseInputError(
            f"{name} must have shape (N, 2), got {array.shape}; for codes with more "
            "than 2 dimensions use "
            "course_lib.widgets.tsne_explorer (or PCA) to get 2-D points first"
        )
    if array.shape[0] == 0:
        raise CourseInputError(f"{name} is empty; pass at least one point")
    if not np.isfinite(array).all():
        raise CourseInputError(f"{name} contains NaN or infinite values")
    return array


def digit_labels(labels: object, n: int, name: str = "labels") -> np.ndarray:
    """``(n,)`` integer class labels in ``0..9`` as an int array."""
    array = as_array(labels, name)
    if array.shape != (n,):
        raise CourseInputError(
            f"{name} must have shape ({n},), one label per point, got {array.shape}"
        )
    if n and (np.any(array != np.round(array)) or array.min() < 0 or array.max() > 9):
        raise CourseInputError(
            f"{name} must be integer digits 0..9, got values in [{array.min():g}, "
            f"{array.max():g}]"
        )
    return array.astype(np.int64)


def decode_batch(
    decode: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    name: str = "decode",
) -> torch.Tensor:
    """Run ``decode(z)`` under ``torch.no_grad()`` and return ``(M, C, H, W)`` images on
    the CPU.

    ``(M, 784)`` outputs of fully connected decoders are reshaped to ``(M, 1, 28, 28)``.

    Raises:
        CourseInputError: when ``decode`` is not callable or returns something that is
            not ``M`` images.
    """
    if not callable(decode):
        raise CourseInputError(
            f"{name} must be a function taking codes (M, d) to images, got "
            f"{type(decode).__name__}"
        )
    with torch.no_grad():
        out = decode(z)
    if not isinstance(out, torch.Tensor):
        raise CourseInputError(
            f"{name} must return a tensor of images, got {type(out).__name__}"
        )
    out = out.detach().cpu().float()
    if out.dim() == 2 and out.shape[1] == 784:
        out = out.view(-1, 1, 28, 28)
    if out.dim() != 4 or out.shape[0] != z.shape[0]:
        raise CourseInputError(
            f"{name} must return ({z.shape[0]}, C, H, W) images for {z.shape[0]} "
            f"codes, got {tuple(out.shape)}"
        )
    return out


def _series(history: object, name: str = "history") -> dict[str, list[float]]:
    """A :class:`~course_lib.training.History` or a ``{name: [values]}`` dict as a plain
    dict of lists."""
    values = (
        history if isinstance(history, Mapping) else getattr(history, "values", None)
    )
    if not isinstance(values, Mapping):
        raise CourseInputError(
            f"{name} must be a History or a dict of lists, got {type(history).__name__}"
        )
    return {str(k): [float(v) for v in seq] for k, seq in values.items()}


def _pick(
    series: Mapping[str, list[float]], keys: Sequence[str], what: str
) -> dict[str, list[float]]:
    missing = [k for k in keys if k not in series]
    if missing:
        raise CourseInputError(
            f"{what}: no series named {missing}; the history has: "
            f"{', '.join(series) or 'nothing'}"
        )
    empty = [k for k in keys if not series[k]]
    if empty:
        raise CourseInputError(
            f"{what}: the series {empty} are empty; train for at least one epoch first"
        )
    return {k: series[k] for k in keys}


def _image_axes(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _show_tiles(ax: plt.Axes, shown: np.ndarray, ncol: int) -> None:
    ax.imshow(
        tile(shown, ncol), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest"
    )
    _image_axes(ax)


# --------------------------------------------------------------------------------------
# Image grids
# --------------------------------------------------------------------------------------


def image_grid(
    images: object,
    nrow: int = 8,
    *,
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
) -> Figure:
    """A grid of images, ``nrow`` images per row (as ``torchvision.utils.make_grid``).

    Args:
        images: ``(N, 1, H, W)`` (or see :func:`display_images`), values in ``[-1, 1]``
            or ``[0, 1]``.
        nrow: number of images in each row (at least 1).
        title: figure title.
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect.

    Returns:
        A figure with one axes showing the tiled images.
    """
    shown = display_images(images, "images", value_range)
    if nrow < 1:
        raise CourseInputError(f"nrow must be at least 1, got {nrow}")
    ncol = min(nrow, len(shown))
    rows = -(-len(shown) // ncol)
    cell = min(0.75, BOOK_WIDTH / ncol)
    with style():
        fig, ax = plt.subplots(
            figsize=(ncol * cell, rows * cell + (0.3 if title else 0.0))
        )
        _show_tiles(ax, shown, ncol)
        if title:
            ax.set_title(title)
    return finish(fig)


def image_panels(
    panels: Mapping[str, object],
    nrow: int = 8,
    *,
    value_range: tuple[float, float] | None = None,
) -> Figure:
    """Separate, titled grids of images stacked top to bottom, with a gap between them
    (e.g. ``{"samples": x, "least sure": y}``), so that two sets never read as one.

    Args:
        panels: panel title -> images ``(N, 1, H, W)`` (or see :func:`display_images`).
        nrow: images in each row of every panel (at least 1).
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect each panel's range.

    Returns:
        A figure with one titled axes per panel.
    """
    if not isinstance(panels, Mapping) or not panels:
        raise CourseInputError(
            "panels must be a non-empty dict, e.g. {'samples': x, 'least sure': y}"
        )
    if nrow < 1:
        raise CourseInputError(f"nrow must be at least 1, got {nrow}")
    shown = {
        title: display_images(images, f"panels[{title!r}]", value_range)
        for title, images in panels.items()
    }
    ncol = min(nrow, max(len(v) for v in shown.values()))
    cell = min(0.75, BOOK_WIDTH / ncol)
    rows = [-(-len(v) // ncol) for v in shown.values()]
    with style():
        fig, axes = plt.subplots(
            len(shown),
            1,
            figsize=(ncol * cell, sum(rows) * cell + 0.45 * len(shown)),
            squeeze=False,
            gridspec_kw={"height_ratios": rows},
        )
        for ax, (title, images) in zip(axes[:, 0], shown.items()):
            _show_tiles(ax, images, ncol)
            ax.set_title(title)
    return finish(fig)


def compare_rows(
    rows: Mapping[str, object],
    *,
    n: int | None = None,
    value_range: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Rows of images side by side, e.g.
    ``{"original": x, "corrupted": x_tilde, "reconstruction": y}``.

    Args:
        rows: row label -> images ``(N, 1, H, W)``; every row shows its first ``n``
            images.
        n: images per row (default: the smallest ``N``, at most 12).
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect each row's range
            separately.
        title: figure title.

    Returns:
        A figure with one axes per row, labelled on the left with the row's name.
    """
    if not isinstance(rows, Mapping) or not rows:
        raise CourseInputError(
            "rows must be a non-empty dict, e.g. {'original': x, 'reconstruction': y}"
        )
    shown = {
        label: display_images(images, f"rows[{label!r}]", value_range)
        for label, images in rows.items()
    }
    smallest = min(len(v) for v in shown.values())
    n = min(smallest, 12) if n is None else n
    if not 1 <= n <= smallest:
        raise CourseInputError(
            f"n must be between 1 and {smallest} (the shortest row), got {n}"
        )
    # 1.2 in for the row labels: the whole figure fits the book
    cell = min(0.9, (BOOK_WIDTH - 1.2) / n)
    with style():
        fig, axes = plt.subplots(
            len(shown),
            1,
            figsize=(n * cell + 1.2, len(shown) * cell * 1.05 + (0.3 if title else 0)),
            squeeze=False,
        )
        for ax, (label, images) in zip(axes[:, 0], shown.items()):
            _show_tiles(ax, images[:n], n)
            ax.set_ylabel(label, rotation=0, ha="right", va="center")
        if title:
            fig.suptitle(title)
    return finish(fig)


# --------------------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------------------

TIMING_KEYS = ("seconds", "examples_per_second")


def loss_curves(
    history: object,
    keys: Sequence[str] | None = None,
    *,
    title: str | None = None,
    logy: bool = False,
    separate: bool = False,
) -> Figure:
    """Per-epoch curves of a training history.

    Args:
        history: a :class:`~course_lib.training.History` or a dict
            ``{name: [one value per epoch]}``.
        keys: which series to plot (default: all but the timing series).
        title: figure title.
        logy: logarithmic y axis.
        separate: one axes per series (for losses of very different sizes) instead of
            one shared axes.

    Returns:
        A figure with one axes (or one per key when ``separate``), x = epoch (from 1).
    """
    series = _series(history)
    keys = [k for k in series if k not in TIMING_KEYS] if keys is None else list(keys)
    if not keys:
        raise CourseInputError(
            "the history has no series to plot; pass keys=[...] or train first"
        )
    chosen = _pick(series, keys, "loss_curves")
    with style():
        count = len(chosen) if separate else 1
        fig, axes = plt.subplots(
            1, count, figsize=(min(BOOK_WIDTH, 3.6 * count + 0.6), 3.0), squeeze=False
        )
        for i, (key, values) in enumerate(chosen.items()):
            ax = axes[0, i if separate else 0]
            epochs = np.arange(1, len(values) + 1)
            ax.plot(
                epochs,
                values,
                marker="o" if len(values) <= 30 else None,
                label=key,
                color=f"C{i}",
            )
            ax.set_xlabel("epoch")
            if separate:
                ax.set_title(key)
            if logy:
                ax.set_yscale("log")
            if len(values) <= 10:
                ax.set_xticks(epochs)
        if not separate:
            axes[0, 0].set_ylabel("value" if len(chosen) > 1 else keys[0])
            if len(chosen) > 1:
                axes[0, 0].legend()
        if title:
            fig.suptitle(title)
    return finish(fig)


GAN_LABELS = {
    "d_real": "D(x)",
    "d_x": "D(x)",
    "d_fake": "D(G(z))",
    "d_fake_before": "D(G(z)) before D step",
    "d_fake_after": "D(G(z)) after D step",
    "d_g_z1": "D(G(z)) before D step",
    "d_g_z2": "D(G(z)) after D step",
    "loss_d": "discriminator loss",
    "loss_g": "generator loss",
    "d_loss": "discriminator loss",
    "g_loss": "generator loss",
}


def _looks_like_probability(key: str, values: list[float]) -> bool:
    return (
        key.lower().startswith(("d_", "d("))
        and "loss" not in key.lower()
        and all(0 <= v <= 1 for v in values)
    )


def gan_curves(
    history: object,
    *,
    losses: Sequence[str] | None = None,
    probabilities: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """GAN training curves: the two losses (left) and the discriminator's outputs
    (right).

    Read the right panel as in the PyTorch DCGAN tutorial: ``D(x)`` is the mean
    probability the discriminator gives real images, ``D(G(z))`` the one it gives fakes,
    before and after its own update. At the game's equilibrium both approach 0.5 (dashed
    line); ``D(x) -> 1`` with ``D(G(z)) -> 0`` means the discriminator wins and the
    generator gets no useful gradient.

    Args:
        history: a :class:`~course_lib.training.History` or dict with one value per
            epoch.
        losses: loss series to plot (default: every key containing ``loss``).
        probabilities: series with values in ``[0, 1]`` (default: keys starting with
            ``d_`` whose values all lie in ``[0, 1]``, e.g. ``d_real``,
            ``d_fake_before``, ``d_fake_after``).
        title: figure title.

    Returns:
        A figure with two axes: losses, and discriminator outputs on a ``[0, 1]`` y
            axis.
    """
    series = _series(history)
    if losses is None:
        losses = [k for k in series if "loss" in k.lower()]
    if probabilities is None:
        probabilities = [k for k in series if _looks_like_probability(k, series[k])]
    if not losses or not probabilities:
        raise CourseInputError(
            "gan_curves needs loss series and D-output series; the history has: "
            f"{', '.join(series) or 'nothing'}. "
            "Name them with losses=[...] and probabilities=[...]"
        )
    loss_series = _pick(series, losses, "gan_curves")
    prob_series = _pick(series, probabilities, "gan_curves")
    for key, values in prob_series.items():
        if min(values) < 0 or max(values) > 1:
            raise CourseInputError(
                f"gan_curves: {key!r} must hold probabilities in [0, 1], got "
                f"{min(values):.3g}.."
                f"{max(values):.3g}; pass mean sigmoid(logits), not logits"
            )
    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.0))
        for i, (key, values) in enumerate(loss_series.items()):
            left.plot(
                np.arange(1, len(values) + 1),
                values,
                color=f"C{i}",
                label=GAN_LABELS.get(key, key),
                marker="o" if len(values) <= 30 else None,
            )
        left.set_title("losses")
        left.set_xlabel("epoch")
        left.legend()
        styles = ["-", "--", ":", "-."]
        for i, (key, values) in enumerate(prob_series.items()):
            right.plot(
                np.arange(1, len(values) + 1),
                values,
                color=f"C{i + 2}",
                linestyle=styles[i % 4],
                label=GAN_LABELS.get(key, key),
                marker="o" if len(values) <= 30 else None,
            )
        right.axhline(0.5, color="0.4", linestyle="--", linewidth=1)
        right.set_ylim(-0.02, 1.02)
        right.set_title("discriminator outputs (mean)")
        right.set_xlabel("epoch")
        right.legend()
        for ax in (left, right):  # whole epochs only
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if title:
            fig.suptitle(title)
    return finish(fig)


# --------------------------------------------------------------------------------------
# Encoder kernels and latent sizes
# --------------------------------------------------------------------------------------


def _kernels(weights: object, name: str, n: int) -> np.ndarray:
    array = as_array(weights, name)
    if array.ndim != 2 or array.shape[1] != 784:
        hint = (
            "; it looks transposed: pass weights.T"
            if array.ndim == 2 and array.shape[0] == 784
            else ""
        )
        raise CourseInputError(
            f"{name} must have shape (d, 784), one 28x28 kernel per row "
            "(nn.Linear(784, d).weight), "
            f"got {array.shape}{hint}"
        )
    if not np.isfinite(array).all():
        raise CourseInputError(f"{name} contains NaN or infinite values")
    if n < 1:
        raise CourseInputError(f"n must be at least 1, got {n}")
    kernels = array[:n].reshape(-1, 28, 28)
    scale = np.abs(kernels).max(axis=(1, 2), keepdims=True)
    scale[scale == 0] = 1.0
    # each kernel on its own symmetric scale: 0 weight = mid-grey
    return 0.5 + 0.5 * kernels / scale


def _draw_kernels(ax: plt.Axes, kernels: np.ndarray, title: str | None) -> None:
    ncol = int(np.ceil(np.sqrt(len(kernels))))
    _show_tiles(ax, kernels, ncol)
    if title:
        ax.set_title(title)


def kernel_comparison(
    ae_weights: object,
    dae_weights: object,
    n: int = 64,
    *,
    titles: tuple[str, str] = ("autoencoder", "denoising autoencoder"),
) -> Figure:
    """Encoder kernels of two models side by side (e.g. the plain AE and the DAE).

    Args:
        ae_weights: ``(d, 784)`` first-layer weights of the first model.
        dae_weights: ``(d', 784)`` first-layer weights of the second model.
        n: kernels per panel.
        titles: the two panel titles.

    Returns:
        A figure with two axes.
    """
    left = _kernels(ae_weights, "ae_weights", n)
    right = _kernels(dae_weights, "dae_weights", n)
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(BOOK_WIDTH, BOOK_WIDTH / 2 + 0.3))
        _draw_kernels(axes[0], left, titles[0])
        _draw_kernels(axes[1], right, titles[1])
    return finish(fig)


def error_vs_latent_size(
    sizes: Sequence[int],
    errors: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    ylabel: str = "test reconstruction MSE",
    title: str | None = None,
) -> Figure:
    """Reconstruction error against latent size, on a log-2 x axis with one tick per
    size.

    Args:
        sizes: latent sizes, e.g. ``[2, 10, 100]`` (positive, increasing).
        errors: one error per size, or ``{model name: errors}`` for several curves.
        ylabel: y-axis label.
        title: axes title.

    Returns:
        A figure with one axes; with a single curve each point is annotated with its
        value.
    """
    size_array = as_array(sizes, "sizes")
    if size_array.ndim != 1 or len(size_array) == 0 or np.any(size_array <= 0):
        raise CourseInputError(
            "sizes must be a non-empty list of positive latent sizes, got "
            f"{list(size_array)}"
        )
    if np.any(np.diff(size_array) <= 0):
        raise CourseInputError(f"sizes must be increasing, got {list(size_array)}")
    curves = dict(errors) if isinstance(errors, Mapping) else {"": errors}
    with style():
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
        for i, (label, values) in enumerate(curves.items()):
            curve = as_array(values, f"errors[{label!r}]" if label else "errors")
            if curve.shape != size_array.shape:
                raise CourseInputError(
                    f"errors must have one value per size ({len(size_array)}), got "
                    f"shape {curve.shape}"
                )
            ax.plot(size_array, curve, marker="o", color=f"C{i}", label=label or None)
            if len(curves) == 1:  # with several curves the labels would collide
                for s, e in zip(size_array, values):
                    ax.annotate(
                        f"{e:.3g}",
                        (s, e),
                        textcoords="offset points",
                        xytext=(4, 5),
                        fontsize=8,
                    )
        ax.set_xscale("log", base=2)
        ax.set_xticks(
            size_array, [f"{int(s)}" if s == int(s) else f"{s:g}" for s in size_array]
        )
        ax.minorticks_off()
        ax.set_xlabel("latent size d")
        ax.set_ylabel(ylabel)
        if len(curves) > 1:
            ax.legend()
        if title:
            ax.set_title(title)
    return finish(fig)


# --------------------------------------------------------------------------------------
# Latent spaces
# --------------------------------------------------------------------------------------


def _scatter_digits(
    ax: plt.Axes, points: np.ndarray, labels: np.ndarray, *, legend: bool = True
) -> None:
    size = float(np.clip(3000 / len(points), 2, 25))
    for digit in range(10):
        chosen = labels == digit
        if chosen.any():
            ax.scatter(
                points[chosen, 0],
                points[chosen, 1],
                s=size,
                color=DIGIT_COLOURS[digit],
                alpha=0.75,
                linewidths=0,
                label=str(digit),
            )
    if legend:
        ax.legend(
            title="digit",
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            markerscale=max(1.0, 20 / size) ** 0.5,
            handletextpad=0.2,
            borderaxespad=0.3,
        )


def latent_scatter(
    codes: object, labels: object, *, title: str | None = None
) -> Figure:
    """2-D codes as points coloured by digit, with a legend.

    Args:
        codes: ``(N, 2)`` codes (e.g. encoder outputs or means), any real values.
        labels: ``(N,)`` digits 0..9.
        title: axes title.

    Returns:
        A figure with one axes, equal aspect ratio, axes labelled ``z1``/``z2``.
    """
    points = points_2d(codes, "codes")
    digits = digit_labels(labels, len(points))
    with style():
        fig, ax = plt.subplots(figsize=(5.4, 4.4))
        _scatter_digits(ax, points, digits)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        ax.set_aspect("equal", adjustable="datalim")
        if title:
            ax.set_title(title)
    return finish(fig)


def _extent(extent: float | Sequence[float]) -> tuple[float, float, float, float]:
    if isinstance(extent, (int, float)):
        if extent <= 0:
            raise CourseInputError(f"extent must be positive, got {extent}")
        return (-float(extent), float(extent), -float(extent), float(extent))
    values = tuple(float(v) for v in extent)
    if len(values) != 4 or values[0] >= values[1] or values[2] >= values[3]:
        raise CourseInputError(
            "extent must be a number r or (z1_min, z1_max, z2_min, z2_max), got "
            f"{extent}"
        )
    return values[0], values[1], values[2], values[3]


def manifold_codes(extent: float | Sequence[float] = 3.0, n: int = 15) -> torch.Tensor:
    """The ``n x n`` grid of 2-D codes at the centres of the cells of ``extent``, top
    row first.

    Returns:
        ``(n * n, 2)`` float32 tensor; row ``i`` of the picture has ``z2`` decreasing
        from the top, column ``j`` has ``z1`` increasing to the right (so
        ``imshow(..., extent=extent)`` lines up).
    """
    x0, x1, y0, y1 = _extent(extent)
    if n < 2:
        raise CourseInputError(f"n must be at least 2, got {n}")
    z1 = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    z2 = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    grid = np.stack(np.meshgrid(z1, z2), axis=-1).reshape(-1, 2)
    return torch.as_tensor(grid, dtype=torch.float32)


def manifold_grid(
    decode: Callable[[torch.Tensor], torch.Tensor],
    extent: float | Sequence[float] = 3.0,
    n: int = 15,
    *,
    value_range: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
    title: str | None = None,
) -> Figure:
    """The decoded 2-D latent space: an ``n x n`` grid of codes, each decoded into an
    image.

    Args:
        decode: takes ``(n*n, 2)`` codes and returns ``(n*n, 1, 28, 28)`` (or
            ``(n*n, 784)``) images in ``[0, 1]`` or ``[-1, 1]``; for a VAE whose decoder
            returns logits pass ``lambda z: torch.sigmoid(vae.decode(z))``.
        extent: ``r`` for the square ``[-r, r]^2``, or
            ``(z1_min, z1_max, z2_min, z2_max)``.
        n: images per side.
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect.
        device: where to put the codes before calling ``decode`` (default CPU).
        title: axes title.

    Returns:
        A figure with one axes whose ticks are latent coordinates.
    """
    x0, x1, y0, y1 = _extent(extent)
    codes = manifold_codes(extent, n)
    images = decode_batch(decode, codes.to(device) if device is not None else codes)
    shown = display_images(images, "decode(z)", value_range)
    with style():
        fig, ax = plt.subplots(figsize=(5.0, 5.0))
        ax.imshow(
            tile(shown, n, pad=0),
            cmap="gray",
            vmin=0,
            vmax=1,
            extent=(x0, x1, y0, y1),
            interpolation="nearest",
        )
        ax.grid(False)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        if title:
            ax.set_title(title)
    return finish(fig)


def prior_vs_posterior(
    prior_samples: object,
    codes: object,
    labels: object,
    *,
    prior_components: object | None = None,
    titles: tuple[str, str] = ("samples of the prior p(z)", "encoded test images q(z)"),
) -> Figure:
    """Prior samples next to the encoded data (the aggregated posterior), with the same
    axis limits.

    Args:
        prior_samples: ``(M, 2)`` samples of the imposed prior.
        codes: ``(N, 2)`` codes of test images.
        labels: ``(N,)`` digits of those images (colours of the right panel).
        prior_components: optional ``(M,)`` mixture-component index 0..9 of each prior
            sample, to colour the left panel the same way.
        titles: the two panel titles.

    Returns:
        A figure with two axes sharing x and y limits.
    """
    prior = points_2d(prior_samples, "prior_samples")
    points = points_2d(codes, "codes")
    digits = digit_labels(labels, len(points))
    components = (
        None
        if prior_components is None
        else digit_labels(prior_components, len(prior), "prior_components")
    )
    with style():
        fig, axes = plt.subplots(
            1, 2, figsize=(BOOK_WIDTH, 3.5), sharex=True, sharey=True
        )
        if components is None:
            axes[0].scatter(
                prior[:, 0],
                prior[:, 1],
                s=float(np.clip(3000 / len(prior), 2, 25)),
                color="0.35",
                alpha=0.6,
                linewidths=0,
            )
        else:
            _scatter_digits(axes[0], prior, components, legend=False)
        _scatter_digits(axes[1], points, digits)
        for ax, text in zip(axes, titles):
            ax.set_title(text)
            ax.set_xlabel("$z_1$")
            ax.set_aspect("equal", adjustable="box")
        axes[0].set_ylabel("$z_2$")
    return finish(fig)


# --------------------------------------------------------------------------------------
# GAN toys, mode collapse
# --------------------------------------------------------------------------------------


def toy_gan_1d(
    x_grid: object,
    data_density: object,
    generator_density: object,
    d_of_x: object,
    *,
    d_optimal: object | None = None,
    title: str | None = None,
) -> Figure:
    """The 1-D toy GAN at one moment: data density, generator density and the
    discriminator's D(x).

    Args:
        x_grid: ``(K,)`` increasing x values.
        data_density: ``(K,)`` density of the data at ``x_grid`` (non-negative).
        generator_density: ``(K,)`` density of the generator's samples (e.g. a histogram
            or KDE).
        d_of_x: ``(K,)`` discriminator output ``D(x)`` in ``[0, 1]``.
        d_optimal: optional ``(K,)`` optimal discriminator for this generator,
            ``p_data / (p_data + p_g)`` in ``[0, 1]``, drawn dash-dotted next to D(x).
        title: axes title.

    Returns:
        A figure with two axes: densities (left y axis) and a twin axis for ``D(x)`` on
            ``[0, 1]``
        with a dashed line at 0.5, where an optimal D ends up when the generator matches
        the data.
    """
    x = as_array(x_grid, "x_grid")
    if x.ndim != 1 or len(x) < 2 or np.any(np.diff(x) <= 0):
        raise CourseInputError(
            "x_grid must be a 1-D increasing array of at least 2 points, got shape "
            f"{x.shape}"
        )
    arrays = {}
    for name, value in (
        ("data_density", data_density),
        ("generator_density", generator_density),
        ("d_of_x", d_of_x),
        *([] if d_optimal is None else [("d_optimal", d_optimal)]),
    ):
        arrays[name] = as_array(value, name)
        if arrays[name].shape != x.shape:
            raise CourseInputError(
                f"{name} must have shape {x.shape} like x_grid, got "
                f"{arrays[name].shape}"
            )
        if not np.isfinite(arrays[name]).all() or arrays[name].min() < 0:
            raise CourseInputError(f"{name} must be finite and non-negative")
    for name in ("d_of_x", "d_optimal"):
        if name in arrays and arrays[name].max() > 1 + 1e-6:
            raise CourseInputError(
                f"{name} must be a probability in [0, 1]; apply torch.sigmoid to the "
                "logits"
            )
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 3.2))
        ax.fill_between(x, arrays["data_density"], color="C0", alpha=0.25, linewidth=0)
        ax.plot(x, arrays["data_density"], color="C0", label="data $p_{data}(x)$")
        ax.plot(x, arrays["generator_density"], color="C1", label="generator $p_g(x)$")
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        ax.set_ylim(bottom=0)
        twin = ax.twinx()
        twin.plot(
            x,
            arrays["d_of_x"],
            color="C2",
            linestyle="--",
            label="discriminator $D(x)$",
        )
        if "d_optimal" in arrays:
            twin.plot(
                x,
                arrays["d_optimal"],
                color="C3",
                linestyle="-.",
                label="optimal $D^*(x)$ for this $p_g$",
            )
        twin.axhline(0.5, color="0.5", linestyle=":", linewidth=1, label="$D = 1/2$")
        twin.set_ylim(0, 1.02)
        twin.set_ylabel("D(x)")
        twin.grid(False)
        twin.spines["right"].set_visible(True)
        handles = (
            ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        )
        # below the axes: five entries would hide the curves' tops
        ax.legend(
            handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3
        )
        if title:
            ax.set_title(title)
    return finish(fig)


def class_histogram_plot(
    shares: object,
    *,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """The share of generated samples per class, with a dashed line at the uniform share
    (10 % for 10 classes).

    Args:
        shares: ``(K,)`` fractions in ``[0, 1]`` summing to 1 (e.g.
            ``course_lib.metrics.class_histogram``).
        title: axes title.
        class_names: ``K`` bar labels (default ``0..K-1``).

    Returns:
        A figure with one axes of ``K`` bars, y axis in percent.
    """
    values = as_array(shares, "shares")
    if values.ndim != 1 or len(values) < 2:
        raise CourseInputError(
            "shares must be a 1-D array with one share per class, got shape "
            f"{values.shape}"
        )
    if (
        not np.isfinite(values).all()
        or values.min() < 0
        or abs(values.sum() - 1.0) > 1e-3
    ):
        hint = (
            "; these look like counts: divide them by their total"
            if values.sum() > 1.5
            else ""
        )
        raise CourseInputError(
            "shares must be non-negative and sum to 1, got sum "
            f"{values.sum():.4g}{hint}"
        )
    names = (
        [str(k) for k in range(len(values))]
        if class_names is None
        else list(class_names)
    )
    if len(names) != len(values):
        raise CourseInputError(
            f"class_names must have {len(values)} names, got {len(names)}"
        )
    uniform = 1.0 / len(values)
    with style():
        fig, ax = plt.subplots(figsize=(4.8, 3.0))
        colours = [DIGIT_COLOURS[k % 10] for k in range(len(values))]
        ax.bar(np.arange(len(values)), 100 * values, color=colours, width=0.75)
        ax.axhline(
            100 * uniform,
            color="0.2",
            linestyle="--",
            linewidth=1.2,
            label=f"uniform ({100 * uniform:.3g} %)",
        )
        ax.set_xticks(np.arange(len(values)), names)
        ax.set_ylabel("share of samples (%)")
        ax.set_xlabel("class")
        ax.set_ylim(0, max(100 * values.max() * 1.1, 100 * uniform * 1.6))
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper right")
        if title:
            ax.set_title(title)
    return finish(fig)


# --------------------------------------------------------------------------------------
# Inpainting
# --------------------------------------------------------------------------------------

INPAINTING_PANELS = (
    ("noisy", "corrupted input"),
    ("dae", "DAE"),
    ("telea", "Telea"),
    ("ns", "Navier-Stokes"),
)


def inpainting_figure(
    noisy: object,
    dae: object,
    telea: object,
    ns: object,
    psnrs: Mapping[str, float],
    *,
    clean: object | None = None,
    n: int | None = None,
    value_range: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """The inpainting comparison: corrupted input, DAE, Telea and Navier-Stokes, PSNR in
    each row's title.

    Args:
        noisy: ``(N, 1, 28, 28)`` corrupted images (dropped pixels black).
        dae: ``(N, 1, 28, 28)`` DAE outputs.
        telea: ``(N, 1, 28, 28)`` OpenCV Telea results.
        ns: ``(N, 1, 28, 28)`` OpenCV Navier-Stokes results.
        psnrs: mean PSNR in dB per panel: keys ``"dae"``, ``"telea"``, ``"ns"``
            (required) and ``"noisy"`` (optional).
        clean: optional ``(N, 1, 28, 28)`` originals, shown as the first row.
        n: images per row (default ``min(N, 10)``).
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect each panel's range
            separately (the DAE may work in ``[-1, 1]`` while OpenCV results are in
            ``[0, 1]``).
        title: figure title.

    Returns:
        A figure with one axes per row (4, or 5 with ``clean``).
    """
    if not isinstance(psnrs, Mapping):
        raise CourseInputError(
            "psnrs must be a dict like {'dae': 20.7, 'telea': 17.9, 'ns': 18.8} (dB)"
        )
    missing = [k for k in ("dae", "telea", "ns") if k not in psnrs]
    if missing:
        raise CourseInputError(
            f"psnrs is missing {missing}; give the mean PSNR in dB of 'dae', 'telea' "
            "and 'ns'"
        )
    given = {"noisy": noisy, "dae": dae, "telea": telea, "ns": ns}
    panels: list[tuple[str, np.ndarray]] = []
    if clean is not None:
        panels.append(("original", display_images(clean, "clean", value_range)))
    for key, label in INPAINTING_PANELS:
        shown = display_images(given[key], key, value_range)
        if key in psnrs:
            label = f"{label}: PSNR {float(psnrs[key]):.1f} dB"
        panels.append((label, shown))
    count = len(panels[0][1])
    if any(len(images) != count for _, images in panels):
        raise CourseInputError(
            "every panel must hold the same images; got counts "
            f"{[len(i) for _, i in panels]}"
        )
    n = min(count, 10) if n is None else n
    if not 1 <= n <= count:
        raise CourseInputError(f"n must be between 1 and {count}, got {n}")
    cell = BOOK_WIDTH / max(n, 8)
    with style():
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(n * cell, len(panels) * (cell + 0.28)),
            squeeze=False,
        )
        for ax, (label, images) in zip(axes[:, 0], panels):
            _show_tiles(ax, images[:n], n)
            ax.set_title(label, loc="left", fontsize=9.5)
        if title:
            fig.suptitle(title)
    return finish(fig)
