"""The progress animation: frames, offline HTML player, GIF, and clear errors."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from course_lib.animation import offline_jshtml, pick_frames, progress_animation  # noqa: E402
from course_lib.errors import CourseInputError  # noqa: E402


def _snapshots(count: int, n: int = 4) -> list[torch.Tensor]:
    """Snapshot k is a constant grid of brightness k / (count - 1) on [-1, 1]."""
    return [torch.full((n, 1, 28, 28), -1.0 + 2.0 * k / max(count - 1, 1)) for k in range(count)]


def test_pick_frames_keeps_first_and_last_and_at_most_max():
    assert pick_frames(5, 10) == [0, 1, 2, 3, 4]
    chosen = pick_frames(50, 8)
    assert chosen[0] == 0 and chosen[-1] == 49 and len(chosen) == 8
    assert all(b > a for a, b in zip(chosen, chosen[1:]))
    assert pick_frames(7, 1) == [6]
    with pytest.raises(CourseInputError, match="max_frames"):
        pick_frames(3, 0)


def test_frames_labels_and_offline_player():
    anim = progress_animation(_snapshots(12), max_frames=4, title="samples")
    assert anim.labels == ["epoch 1", "epoch 5", "epoch 8", "epoch 12"]
    assert len(anim.frames) == 4
    # 4 images of 28 px, 2 per row, with a 2-pixel frame; epoch 1 is black, epoch 12 white
    assert anim.frames[0].shape == (2 * 30 + 2, 2 * 30 + 2)
    assert np.all(anim.frames[0][2:30, 2:30] == 0.0) and np.all(anim.frames[-1][2:30, 2:30] == 1.0)
    html = anim._repr_html_()
    assert len(re.findall(r"frames\[\d+\] = \"data:image/png;base64,", html)) == 4
    assert "http://" not in html and "https://" not in html  # no CDN: works offline
    assert 'class="fa' not in html and "<link" not in html
    assert anim.html_bytes == len(html.encode())
    # the embedded frames are grey PNGs of the figure, the last one brighter than the first
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    first, last = (np.asarray(Image.open(io.BytesIO(base64.b64decode(f)))) for f in (frames[0], frames[-1]))
    assert first.ndim == 2 and last.mean() > first.mean() + 100


def test_offline_jshtml_replaces_every_icon():
    html = (
        '<link rel="stylesheet"\nhref="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css">'
        '<button><i class="fa fa-play"></i></button><button><i class="fa fa-pause"></i></button>'
    )
    cleaned = offline_jshtml(html)
    assert "https" not in cleaned and "fa-" not in cleaned
    assert "&#9654;" in cleaned and "&#9646;&#9646;" in cleaned


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
    snapshots = [torch.linspace(-1, 1, 4 * 784).view(4, 1, 28, 28) * s for s in (0.5, 1.0)]
    html = progress_animation(snapshots, grey_levels=4).html
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    values = np.unique(
        np.concatenate([np.asarray(Image.open(io.BytesIO(base64.b64decode(f)))).ravel() for f in frames])
    )
    assert set(values.tolist()) <= {0, 85, 170, 255}
    with pytest.raises(CourseInputError, match="levels"):
        progress_animation(snapshots, grey_levels=1)
