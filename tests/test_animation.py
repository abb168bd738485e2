"""The frame player: progress grids and figure frames as offline HTML, and clear
errors."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib.animation import figure_player, pick_frames, progress_animation
from course_lib.errors import CourseInputError


def _snapshots(count: int, n: int = 4) -> list[torch.Tensor]:
    """Snapshot k is a constant grid of brightness k / (count - 1) on [-1, 1]."""
    return [
        torch.full((n, 1, 28, 28), -1.0 + 2.0 * k / max(count - 1, 1))
        for k in range(count)
    ]


def test_pick_frames_keeps_first_and_last_and_at_most_max():
    assert pick_frames(5, 10) == [0, 1, 2, 3, 4]
    chosen = pick_frames(50, 8)
    assert chosen[0] == 0 and chosen[-1] == 49 and len(chosen) == 8
    assert all(b > a for a, b in zip(chosen, chosen[1:]))
    assert pick_frames(7, 1) == [6]
    with pytest.raises(CourseInputError, match="max_frames"):
        pick_frames(3, 0)


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_frames_labels_and_offline_player():
    anim = progress_animation(_snapshots(12), max_frames=4, title="samples")
    assert anim.labels == ["epoch 1", "epoch 5", "epoch 8", "epoch 12"]
    assert len(anim.frames) == 4 and len(anim.pngs) == 4
    # 4 images of 28 px, 2 per row, with a 2-pixel frame; epoch 1 is black, epoch 12
    # white
    assert anim.frames[0].shape == (2 * 30 + 2, 2 * 30 + 2)
    assert np.all(anim.frames[0][2:30, 2:30] == 0.0) and np.all(
        anim.frames[-1][2:30, 2:30] == 1.0
    )
    html = anim._repr_html_()
    embedded = re.findall(
        r'<img src="data:image/png;base64,([^"]+)"[^>]*data-k="(\d+)"', html
    )
    assert [int(k) for _, k in embedded] == [0, 1, 2, 3]
    # the frames are the player's images
    assert [base64.b64decode(data) for data, _ in embedded] == anim.pngs
    # offline, inline handlers
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert 'type="range"' in html and 'max="3"' in html and "play</button>" in html
    assert anim.html_bytes == len(html.encode())
    first, last = _png(anim.pngs[0]), _png(anim.pngs[-1])
    assert (
        first.ndim == 2
        and first.shape == anim.frames[0].shape
        and last.mean() > first.mean() + 100
    )
    for label in anim.labels:
        assert f">{label}</span>" in html


def test_figure_player_saves_one_png_per_drawn_frame_and_closes_the_figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    (line,) = ax.plot([0, 1], [0, 0], color="k", linewidth=8)
    ax.set_ylim(-1, 1)
    ax.set_axis_off()
    heights = [-0.8, 0.0, 0.8]
    player = figure_player(
        fig,
        lambda k: line.set_ydata([heights[k]] * 2),
        3,
        labels=["low", "mid", "high"],
        dpi=50,
    )
    assert not plt.fignum_exists(fig.number) and player.frames is None
    frames = [_png(png)[..., :3].mean(axis=2) for png in player.pngs]
    assert all(f.shape == (75, 100) for f in frames)
    # where the black line is
    dark_rows = [np.flatnonzero(f.mean(axis=1) < 200).mean() for f in frames]
    # image rows count down: a higher line, a smaller row
    assert dark_rows[0] > dark_rows[1] > dark_rows[2]
    assert ">high</span>" in player.html and player.html.count("<img") == 3
    with pytest.raises(CourseInputError, match="one entry per frame"):
        figure_player(plt.figure(), lambda k: None, 2, labels=["a"])
    with pytest.raises(CourseInputError, match="matplotlib Figure"):
        figure_player("not a figure", lambda k: None, 2)


def test_bad_snapshots_are_clear_errors():
    with pytest.raises(CourseInputError, match="ImageSnapshot"):
        progress_animation([])
    with pytest.raises(CourseInputError, match="same shape"):
        progress_animation([torch.zeros(4, 1, 28, 28), torch.zeros(2, 1, 28, 28)])
    with pytest.raises(CourseInputError, match="one entry per snapshot"):
        progress_animation(_snapshots(3), labels=["a"])
    with pytest.raises(CourseInputError, match="values in"):
        progress_animation([torch.full((4, 1, 28, 28), 3.0)])


def test_grey_levels_quantise_the_embedded_frames():
    snapshots = [
        torch.linspace(-1, 1, 4 * 784).view(4, 1, 28, 28) * s for s in (0.5, 1.0)
    ]
    anim = progress_animation(snapshots, grey_levels=4)
    values = np.unique(np.concatenate([_png(png).ravel() for png in anim.pngs]))
    assert set(values.tolist()) <= {0, 85, 170, 255} and len(values) == 4
    with pytest.raises(CourseInputError, match="levels"):
        progress_animation(snapshots, grey_levels=1)


def test_a_single_frame_is_an_image_without_a_slider() -> None:
    """One snapshot (e.g. one epoch under smoke) has nothing to play: no dead slider."""
    one = progress_animation([torch.zeros(4, 1, 28, 28)], nrow=2)
    two = progress_animation(
        [torch.zeros(4, 1, 28, 28), torch.ones(4, 1, 28, 28)], nrow=2
    )
    assert 'type="range"' not in one.html and "epoch 1" in one.html
    assert one.html.count("<img") == 1
    assert 'type="range"' in two.html


def test_figure_player_lays_the_figure_out_once_for_every_frame():
    from course_lib import toys, viz

    grid = torch.linspace(-2.0, 2.0, 201)
    fig = viz.toy_gan_1d(
        grid,
        toys.normal_density(grid, mean=0.0, std=0.5),
        toys.normal_density(grid, mean=-0.2, std=0.3),
        torch.sigmoid(grid),
    )  # constrained layout, a twin axis and a legend below the axes
    fig.axes[0].set_ylim(0, 1.53)  # limits changed after the figure was made
    engine = fig.get_layout_engine()
    player = figure_player(fig, lambda k: None, 3, dpi=80)
    # nothing changes between frames, so neither may the pictures (constrained layout
    # moved the axes between the first renders: the frames differed)
    assert player.pngs[0] == player.pngs[1] == player.pngs[2]
    # the density axis' label lies inside the picture: the first column is background
    first = _png(player.pngs[0])[..., :3]
    assert (first[:, 0] > 250).all()
    assert fig.get_layout_engine() is engine  # the figure is given back as it was
