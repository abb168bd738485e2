"""The training-progress animation: fixed-noise sample grids over the epochs.

A GAN (or VAE) recipe stores one ``(n, C, H, W)`` grid per epoch in ``history.snapshots`` (see
:class:`course_lib.training.ImageSnapshot`). :func:`progress_animation` turns them into a
matplotlib animation that

* plays in the notebook **and in the built book** with no kernel: its HTML is matplotlib's
  JavaScript player (``Animation.to_jshtml``) with every frame embedded as a PNG; the player's
  Font Awesome icons (loaded from a CDN by matplotlib) are replaced by plain Unicode symbols so the
  page needs no network.

Keep it small: at most ``max_frames`` evenly spaced epochs (first and last always included), at a
modest resolution; ``ProgressAnimation.html_bytes`` says how large the embedded HTML is.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from PIL import Image

from course_lib.errors import CourseInputError
from course_lib.viz import display_images, tile

# matplotlib's player asks a CDN for Font Awesome; these Unicode symbols need no download.
PLAYER_ICONS = {  # only triangles and bars: symbols that every font has (no tofu boxes)
    "fa-minus": "&#8722;",
    "fa-fast-backward": "&#9664;&#9664;",
    "fa-step-backward": "&#9664;&#9646;",
    "fa-play fa-flip-horizontal": "&#9664;",
    "fa-pause": "&#9646;&#9646;",
    "fa-play": "&#9654;",
    "fa-step-forward": "&#9646;&#9654;",
    "fa-fast-forward": "&#9654;&#9654;",
    "fa-plus": "+",
}


def offline_jshtml(jshtml: str) -> str:
    """matplotlib's ``to_jshtml()`` output without its one external URL (the Font Awesome stylesheet).

    The ``<link>`` to the CDN is removed and each ``<i class="fa fa-...">`` icon becomes a Unicode symbol.
    """
    text = re.sub(r"<link[^>]*font-awesome[^>]*>", "", jshtml, flags=re.S)
    for icon, symbol in PLAYER_ICONS.items():
        text = text.replace(f'<i class="fa {icon}"></i>', f'<span aria-hidden="true">{symbol}</span>')
    return text


FRAME_PATTERN = re.compile(r'(frames\[\d+\] = "data:image/png;base64,)([A-Za-z0-9+/=\\\n]+)(")')


def grey_frames(jshtml: str, levels: int = 256) -> str:
    """Re-encode the player's embedded RGBA PNG frames as grey PNGs with ``levels`` grey levels.

    Grey instead of RGBA keeps the picture and saves about a third; 32 levels instead of 256 look the
    same on digit grids and save another third (measured on 10 frames of 64 decoded digits:
    529 KiB -> 328 KiB of base64).
    """
    if not 2 <= levels <= 256:
        raise CourseInputError(f"levels must be between 2 and 256, got {levels}")

    def shrink(match: re.Match[str]) -> str:
        raw = base64.b64decode(match.group(2).replace("\\\n", "").replace("\n", ""))
        grey = np.asarray(Image.open(io.BytesIO(raw)).convert("L"), dtype=np.float64)
        if levels < 256:
            grey = np.round(grey / 255 * (levels - 1)) * 255 / (levels - 1)
        buffer = io.BytesIO()
        Image.fromarray(np.round(grey).astype(np.uint8)).save(buffer, format="PNG", optimize=True)
        return match.group(1) + base64.b64encode(buffer.getvalue()).decode("ascii") + match.group(3)

    return FRAME_PATTERN.sub(shrink, jshtml)


def pick_frames(count: int, max_frames: int) -> list[int]:
    """At most ``max_frames`` evenly spaced indices of ``range(count)``, always with the first and the last."""
    if max_frames < 1:
        raise CourseInputError(f"max_frames must be at least 1, got {max_frames}")
    if count <= max_frames:
        return list(range(count))
    if max_frames == 1:
        return [count - 1]
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, max_frames)})


class ProgressAnimation:
    """An animation of sample grids; displays itself as offline HTML in Jupyter and in the book.

    Attributes:
        animation: the matplotlib ``FuncAnimation`` (its figure is closed, so nothing is shown twice).
        frames: the tiled grids, one ``(H', W')`` array in ``[0, 1]`` per frame.
        labels: frame titles, e.g. ``"epoch 5"``.
        html: self-contained HTML player (no external URL).
    """

    def __init__(
        self, animation: FuncAnimation, frames: list[np.ndarray], labels: list[str], html: str
    ) -> None:
        self.animation = animation
        self.frames = frames
        self.labels = labels
        self.html = html

    @property
    def html_bytes(self) -> int:
        """Size of :attr:`html` in bytes (UTF-8)."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"ProgressAnimation({len(self.frames)} frames, {self.html_bytes / 1024:.0f} KiB of HTML)"


def progress_animation(
    snapshots: Sequence[torch.Tensor],
    *,
    nrow: int | None = None,
    value_range: tuple[float, float] | None = None,
    labels: Sequence[str] | None = None,
    max_frames: int = 10,
    dpi: int = 72,
    scale: int = 2,
    interval_ms: int = 600,
    title: str | None = None,
    grey_levels: int = 32,
) -> ProgressAnimation:
    """Animate sample grids over the epochs (e.g. ``history.snapshots`` of a GAN trained on fixed noise).

    Args:
        snapshots: one ``(n, C, H, W)`` tensor per epoch, all the same shape, values in ``[-1, 1]`` or
            ``[0, 1]``.
        nrow: images per row of each grid (default: about the square root of ``n``).
        value_range: ``(-1, 1)``, ``(0, 1)`` or ``None`` to detect from all the snapshots together.
        labels: one title per snapshot (default ``"epoch 1"``, ``"epoch 2"``, ...).
        max_frames: keep at most this many evenly spaced snapshots (first and last included).
        dpi: dots per inch of the embedded frames (only changes the text size relative to the grid).
        scale: pixels per image pixel in each frame (an integer keeps the pixels crisp).
        interval_ms: time between frames when playing.
        title: text above the grid, before the frame's label.
        grey_levels: grey levels of the embedded frames (256 = exact; 32 looks the same and is smaller).

    Returns:
        A :class:`ProgressAnimation`; Jupyter displays its HTML player.

    Raises:
        CourseInputError: no snapshots, snapshots of different shapes, labels of the wrong length, or
            values outside the range.
    """
    if len(snapshots) == 0:
        raise CourseInputError(
            "snapshots is empty; train with callbacks=[ImageSnapshot(...)] so history.snapshots has one grid per epoch"
        )
    shapes = {tuple(s.shape) for s in snapshots}
    if len(shapes) != 1:
        raise CourseInputError(f"all snapshots must have the same shape, got {sorted(shapes)}")
    if labels is not None and len(labels) != len(snapshots):
        raise CourseInputError(
            f"labels must have one entry per snapshot ({len(snapshots)}), got {len(labels)}"
        )
    chosen = pick_frames(len(snapshots), max_frames)
    stacked = torch.stack([torch.as_tensor(snapshots[i]) for i in chosen])
    n = stacked.shape[1]
    shown = display_images(stacked.flatten(0, 1), "snapshots", value_range)
    shown = shown.reshape((len(chosen), n) + shown.shape[1:])
    ncol = nrow or int(np.ceil(np.sqrt(n)))
    frames = [tile(grid, ncol) for grid in shown]
    frame_labels = [labels[i] if labels is not None else f"epoch {i + 1}" for i in chosen]

    height, width = frames[0].shape[:2]
    header = 22  # pixels for the frame label
    with plt.rc_context({"figure.constrained_layout.use": False}):
        fig = plt.figure(figsize=(width * scale / dpi, (height * scale + header) / dpi), dpi=dpi)
        ax = fig.add_axes((0, 0, 1, height * scale / (height * scale + header)))
        ax.set_axis_off()
        image = ax.imshow(frames[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        caption = fig.text(0.5, 1 - 3 / (height * scale + header), "", ha="center", va="top", fontsize=11)

        def draw(k: int):
            image.set_data(frames[k])
            caption.set_text(f"{title}: {frame_labels[k]}" if title else frame_labels[k])
            return image, caption

        draw(0)
        animation = FuncAnimation(fig, draw, frames=len(frames), interval=interval_ms, blit=False)
        html = grey_frames(offline_jshtml(animation.to_jshtml(default_mode="loop")), grey_levels)
    plt.close(fig)
    return ProgressAnimation(animation, frames, frame_labels, html)
