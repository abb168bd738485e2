"""Animations that play in the notebook and in the built book, with no kernel and no
network.

* :func:`progress_animation`: the fixed-noise sample grids a recipe stores in
  ``history.snapshots`` (one ``(n, C, H, W)`` grid per epoch, see
  :class:`course_lib.training.ImageSnapshot`), tiled into frames;
* :func:`figure_player`: any matplotlib figure redrawn frame by frame (e.g. the 1-D toy
  GAN's densities over training), each frame saved as a PNG.

Both return a :class:`FramePlayer`: every frame is embedded as a PNG ``<img>``, and the
frame slider of :func:`course_lib.static_widgets.slider_html` (with a play button) shows
one at a time. The player is the course's own HTML, so nothing is edited after the fact:
no regular expressions over another library's output, no CDN icons. Keep it small: at
most ``max_frames`` evenly spaced frames (first and last always included);
:attr:`FramePlayer.html_bytes` says how large it is.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from course_lib import static_widgets as sw
from course_lib.errors import CourseInputError
from course_lib.viz import display_images, tile

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pick_frames(count: int, max_frames: int) -> list[int]:
    """At most ``max_frames`` evenly spaced indices of ``range(count)``, always with the
    first and the last."""
    if max_frames < 1:
        raise CourseInputError(f"max_frames must be at least 1, got {max_frames}")
    if count <= max_frames:
        return list(range(count))
    if max_frames == 1:
        return [count - 1]
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, max_frames)})


class FramePlayer:
    """Frames with a slider and a play button (one frame: the image alone); displays
    itself as self-contained HTML.

    Attributes:
        pngs: the embedded frames, PNG bytes.
        labels: one label per frame, e.g. ``"epoch 5"``.
        frames: the frames as ``(H, W)`` arrays in ``[0, 1]`` (grids of
            :func:`progress_animation`), or ``None`` for figure frames.
        html: the player, a ``<div>`` with no ``<script>`` and no external URL.
    """

    def __init__(
        self,
        pngs: list[bytes],
        labels: list[str],
        *,
        title: str | None,
        width: int,
        interval_ms: int,
        frames: list[np.ndarray] | None = None,
    ) -> None:
        self.pngs, self.labels, self.frames = pngs, labels, frames
        panel = sw.image_panel(
            title or "", [sw.data_uri(png) for png in pngs], width=width
        )
        if len(pngs) == 1:  # nothing to play: the image and its label, no slider
            label = html.escape(labels[0])
            self.html = f'<div style="{sw.FONT}">{panel}<div>{label}</div></div>'
        else:
            self.html = sw.slider_html(
                panel, labels, slider_name="frame", play_ms=interval_ms
            )

    @property
    def html_bytes(self) -> int:
        """Size of :attr:`html` in bytes (UTF-8)."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return (
            f"FramePlayer({len(self.pngs)} frames, {self.html_bytes / 1024:.0f} KiB "
            "of HTML)"
        )


ProgressAnimation = FramePlayer
"""The player of :func:`progress_animation` (the same class)."""


def _quantise(image: np.ndarray, levels: int) -> np.ndarray:
    if not 2 <= levels <= 256:
        raise CourseInputError(f"levels must be between 2 and 256, got {levels}")
    return np.round(image * (levels - 1)) / (levels - 1)


def progress_animation(
    snapshots: Sequence[torch.Tensor],
    *,
    nrow: int | None = None,
    value_range: tuple[float, float] | None = None,
    labels: Sequence[str] | None = None,
    max_frames: int = 10,
    scale: int = 2,
    interval_ms: int = 600,
    title: str | None = None,
    grey_levels: int = 32,
) -> FramePlayer:
    """Animate sample grids over the epochs (e.g. ``history.snapshots`` of a GAN trained
    on fixed noise).

    Args:
        snapshots: one ``(n, C, H, W)`` tensor per epoch, all the same shape, values in
            ``[-1, 1]`` or ``[0, 1]``.
        nrow: images per row of each grid (default: about the square root of ``n``).
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect from all the
            snapshots together.
        labels: one label per snapshot (default ``"epoch 1"``, ``"epoch 2"``, ...).
        max_frames: keep at most this many evenly spaced snapshots (first and last
            included).
        scale: screen pixels per image pixel (the grid is enlarged without smoothing).
        interval_ms: time between frames when playing.
        title: caption above the grid.
        grey_levels: grey levels of the embedded frames (256 = exact; 32 looks the same
            on digit grids and is smaller).

    Returns:
        A :class:`FramePlayer` whose :attr:`~FramePlayer.frames` are the tiled grids.

    Raises:
        CourseInputError: no snapshots, snapshots of different shapes, labels of the
            wrong length, values outside the range, or ``grey_levels`` outside
            ``2..256``.
    """
    if len(snapshots) == 0:
        raise CourseInputError(
            "snapshots is empty; train with callbacks=[ImageSnapshot(...)] so "
            "history.snapshots has one grid per epoch"
        )
    shapes = {tuple(s.shape) for s in snapshots}
    if len(shapes) != 1:
        raise CourseInputError(
            f"all snapshots must have the same shape, got {sorted(shapes)}"
        )
    if labels is not None and len(labels) != len(snapshots):
        raise CourseInputError(
            f"labels must have one entry per snapshot ({len(snapshots)}), got "
            f"{len(labels)}"
        )
    chosen = pick_frames(len(snapshots), max_frames)
    stacked = torch.stack([torch.as_tensor(snapshots[i]) for i in chosen])
    n = stacked.shape[1]
    shown = display_images(stacked.flatten(0, 1), "snapshots", value_range)
    shown = shown.reshape((len(chosen), n) + shown.shape[1:])
    ncol = nrow or int(np.ceil(np.sqrt(n)))
    frames = [tile(grid, ncol) for grid in shown]
    pngs = [sw.png_bytes(_quantise(frame, grey_levels)) for frame in frames]
    frame_labels = [
        labels[i] if labels is not None else f"epoch {i + 1}" for i in chosen
    ]
    return FramePlayer(
        pngs,
        frame_labels,
        title=title,
        width=frames[0].shape[1] * scale,
        interval_ms=interval_ms,
        frames=frames,
    )


def _settle_layout(figure: Figure, dpi: int, passes: int = 5) -> None:
    """Render ``figure`` at ``dpi`` until its layout engine stops moving the axes (at
    most ``passes`` renders)."""
    previous = None
    for _ in range(passes):
        figure.savefig(io.BytesIO(), format="png", dpi=dpi)
        positions = [ax.get_position().bounds for ax in figure.axes]
        if positions == previous:
            return
        previous = positions


def figure_player(
    figure: object,
    draw: Callable[[int], object],
    n_frames: int,
    *,
    labels: Sequence[str] | None = None,
    interval_ms: int = 600,
    dpi: int = 80,
    title: str | None = None,
) -> FramePlayer:
    """Play a matplotlib figure that ``draw(k)`` updates to frame ``k``
    (``k = 0 .. n_frames - 1``).

    Each frame is saved as a PNG after ``draw(k)``; the figure is closed afterwards, so
    a cell ending in the player shows the player only. A figure with a layout engine
    (the course's style uses constrained layout) is laid out once, on frame 0, until
    the layout stops moving (a first pass after the caller changed limits or labels can
    leave an axis label outside the figure), and every frame keeps that layout, so the
    axes do not jump while the player plays.

    Args:
        figure: a ``matplotlib.figure.Figure``.
        draw: updates the figure's artists for frame ``k`` (its return value is
            ignored).
        n_frames: number of frames, at least 1.
        labels: one label per frame (default ``"frame 1"``, ...).
        interval_ms: time between frames when playing.
        dpi: resolution of the saved frames.
        title: caption above the frames.

    Returns:
        A :class:`FramePlayer`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(figure, Figure):
        raise CourseInputError(
            f"figure must be a matplotlib Figure, got {type(figure).__name__}"
        )
    if n_frames < 1:
        raise CourseInputError(f"n_frames must be at least 1, got {n_frames}")
    if labels is not None and len(labels) != n_frames:
        raise CourseInputError(
            f"labels must have one entry per frame ({n_frames}), got {len(labels)}"
        )
    draw(0)
    _settle_layout(figure, dpi)
    engine = figure.get_layout_engine()
    if engine is not None:  # keep the settled layout for every frame: no jitter
        figure.set_layout_engine("none")
    pngs = []
    try:
        for k in range(n_frames):
            draw(k)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=dpi)
            pngs.append(buffer.getvalue())
    finally:
        if engine is not None:
            figure.set_layout_engine(engine)
    width = int(round(figure.get_figwidth() * dpi))
    plt.close(figure)
    frame_labels = (
        list(labels)
        if labels is not None
        else [f"frame {k + 1}" for k in range(n_frames)]
    )
    return FramePlayer(
        pngs, frame_labels, title=title, width=width, interval_ms=interval_ms
    )
