"""Explorers: the pure interpolation, the static (kernel-free) HTML, the live callbacks,
and the t-SNE cache."""

from __future__ import annotations

import base64
import io
import math
import re
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import widgets
from course_lib.errors import CourseInputError

SVG_NS = "http://www.w3.org/2000/svg"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png_array(data: bytes | str) -> np.ndarray:
    """A PNG (bytes or data URI) as an array in [0, 1]."""
    if isinstance(data, str):
        data = base64.b64decode(data.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64) / 255


def _no_external_urls(html: str) -> bool:
    """No http(s) URL (other than the SVG namespace name) and no protocol-relative
    src/href/url()."""
    text = html.replace(SVG_NS, "")
    return re.search(r"https?://|(src|href)=[\"']//|url\(//", text) is None


def _frames(html: str, caption: str) -> list[np.ndarray]:
    """The per-frame images of the panel whose alt text starts with ``caption``, in
    frame order."""
    found = re.findall(
        rf'<img src="(data:image/png;base64,[^"]+)" alt="{re.escape(caption)} '
        r'\(frame (\d+)\)"',
        html,
    )
    return [_png_array(uri) for uri, _ in sorted(found, key=lambda item: int(item[1]))]


# A tiny linear "autoencoder": code = 8 fixed projections of the image; decode = tanh of
# a linear map.
_W = torch.randn(784, 8, generator=torch.Generator().manual_seed(0)) / 28


def _encode(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), -1) @ _W


def _decode(z: torch.Tensor) -> torch.Tensor:
    return torch.tanh(z @ _W.T * 20).reshape(-1, 1, 28, 28)


def _image(seed: int) -> torch.Tensor:
    return torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# -------------------------------------------------------------------------- interpolate


def test_linear_interpolation_endpoints_and_midpoint():
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 2.0, -1.0])
    path = widgets.interpolate(a, b, [0.0, 0.5, 1.0])
    torch.testing.assert_close(path, torch.stack([a, (a + b) / 2, b]))


def test_slerp_keeps_the_norm_of_equal_norm_endpoints_and_spaces_angles_evenly():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(100, generator=g), torch.randn(100, generator=g)
    b = b / b.norm() * a.norm()  # equal norms
    ts = torch.linspace(0, 1, 9)
    path = widgets.interpolate(a, b, ts, mode="slerp")
    torch.testing.assert_close(
        path.norm(dim=1), a.norm().expand(9), rtol=1e-5, atol=1e-5
    )
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)  # endpoints exact
    omega = math.acos(float(a @ b / (a.norm() * b.norm())))
    angles = torch.arccos(torch.clamp(path @ a / (path.norm(dim=1) * a.norm()), -1, 1))
    torch.testing.assert_close(angles, ts * omega, atol=1e-3, rtol=0)
    # two orthogonal unit vectors: the midpoint is (a + b) / sqrt(2)
    e1, e2 = torch.eye(2)
    torch.testing.assert_close(
        widgets.interpolate(e1, e2, [0.5], "slerp")[0], (e1 + e2) / math.sqrt(2)
    )
    # linear interpolation of the same endpoints shrinks the norm in the middle
    assert widgets.interpolate(a, b, [0.5])[0].norm() < 0.9 * a.norm()


def test_interpolate_keeps_the_code_shape_and_rejects_bad_input():
    z = torch.randn(2, 100, 1, 1)
    assert widgets.interpolate(z[0], z[1], [0, 0.5, 1], "slerp").shape == (3, 100, 1, 1)
    with pytest.raises(CourseInputError, match="same shape"):
        widgets.interpolate(torch.zeros(3), torch.zeros(4), [0.5])
    with pytest.raises(CourseInputError, match="\\[0, 1\\]"):
        widgets.interpolate(torch.ones(3), torch.ones(3), [1.5])
    with pytest.raises(CourseInputError, match="linear' or 'slerp'"):
        widgets.interpolate(torch.ones(3), torch.ones(3), [0.5], mode="cubic")
    with pytest.raises(CourseInputError, match="opposite"):
        widgets.interpolate(torch.ones(3), -torch.ones(3), [0.5], mode="slerp")
    with pytest.raises(CourseInputError, match="non-zero"):
        widgets.interpolate(torch.zeros(3), torch.ones(3), [0.5], mode="slerp")


# --------------------------------------------------------------- interpolation explorer


def test_interpolation_explorer_static_html_has_every_frame_and_a_slider():
    x_a, x_b = _image(1), _image(2)
    explorer = widgets.interpolation_explorer(_encode, _decode, x_a, x_b, steps=5)
    html = explorer.static_html()
    assert html.count('type="range"') == 1 and 'max="4"' in html
    assert "<script" not in html and _no_external_urls(html)
    latent = _frames(html, "decoded linear path")
    pixel = _frames(html, "pixel blend")
    assert len(latent) == len(pixel) == 5
    # frame k is decode((1 - t) z_a + t z_b), computed here independently, shown on [0,
    # 1]
    z_a, z_b = _encode(x_a.unsqueeze(0))[0], _encode(x_b.unsqueeze(0))[0]
    for k, t in enumerate(np.linspace(0, 1, 5)):
        expected = (
            _decode(((1 - t) * z_a + t * z_b).unsqueeze(0).float())[0, 0].numpy() + 1
        ) / 2
        np.testing.assert_allclose(latent[k], expected, atol=1 / 255 + 1e-6)
        np.testing.assert_allclose(
            pixel[k],
            ((1 - t) * x_a[0].numpy() + t * x_b[0].numpy() + 1) / 2,
            atol=1 / 255 + 1e-6,
        )
    fig = explorer.figure()
    assert [ax.get_ylabel() for ax in fig.axes] == ["decoded path", "pixel blend"]
    # only the middle frame (t = 0.5) is visible before the slider moves
    tagged = re.findall(r'data-k="(\d+)"(?: style="([^"]*)")?', html)
    assert len(tagged) == 3 * 5  # two image panels and the labels
    assert (
        all(("display:none" in style) == (k != "2") for k, style in tagged)
        and "t = 0.50" in html
    )


def test_interpolation_explorer_for_a_gan_from_two_noise_vectors():
    nz = 8
    z = torch.randn(2, nz, 1, 1, generator=torch.Generator().manual_seed(3))

    def generator(codes: torch.Tensor) -> torch.Tensor:
        assert codes.shape[1:] == (nz, 1, 1)
        return _decode(codes.flatten(1))

    explorer = widgets.interpolation_explorer(
        None, generator, z[0], z[1], steps=3, mode="slerp"
    )
    np.testing.assert_allclose(
        explorer.endpoint_a,
        (_decode(z[0].view(1, nz))[0, 0].numpy() + 1) / 2,
        atol=1e-6,
    )
    html = explorer.static_html()
    assert (
        "G(z_a)" in html
        and "G(z_b)" in html
        and len(_frames(html, "decoded slerp path")) == 3
    )


def test_interpolation_callback_changes_the_shown_image():
    pytest.importorskip("ipywidgets")
    x_a, x_b = _image(1), _image(2)
    explorer = widgets.interpolation_explorer(_encode, _decode, x_a, x_b)
    explorer.widget()
    before = explorer.images["latent"].value
    explorer.update(t=0.9)
    after = explorer.images["latent"].value
    assert after != before
    z = 0.1 * _encode(x_a.unsqueeze(0))[0] + 0.9 * _encode(x_b.unsqueeze(0))[0]
    np.testing.assert_allclose(
        _png_array(after),
        (_decode(z.unsqueeze(0))[0, 0].numpy() + 1) / 2,
        atol=1 / 255 + 1e-6,
    )
    explorer.update(mode="slerp")
    assert explorer.images["latent"].value != after and explorer.mode == "slerp"
    with pytest.raises(CourseInputError, match="t must be in"):
        explorer.update(t=2.0)


def test_interpolation_explorer_rejects_a_tuple_encoder_and_mismatched_inputs():
    with pytest.raises(CourseInputError, match=r"vae.encode\(x\)\[0\]"):
        widgets.interpolation_explorer(
            lambda x: (_encode(x), _encode(x)), _decode, _image(1), _image(2)
        )
    with pytest.raises(CourseInputError, match="same shape"):
        widgets.interpolation_explorer(None, _decode, torch.randn(8), torch.randn(9))
    with pytest.raises(CourseInputError, match="steps"):
        widgets.interpolation_explorer(_encode, _decode, _image(1), _image(2), steps=1)


# -------------------------------------------------------------------------- latent walk


def _decode_2d(z: torch.Tensor) -> torch.Tensor:
    """Brightness of the image = sigmoid(z1): a decoder whose output is easy to
    predict."""
    return torch.sigmoid(z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)


def test_latent_walk_static_frames_and_callback():
    t = torch.linspace(0, 1, 6)
    path = torch.stack([4 * t * torch.cos(5 * t), 4 * t * torch.sin(5 * t)], dim=1)
    walk = widgets.latent_walk(_decode_2d, path, background=torch.randn(50, 2))
    html = walk.static_html()
    assert len(_frames(html, "decoded")) == 6 and html.count("<polyline") == 1
    assert len(re.findall(r'<circle[^>]*data-k="\d"', html)) == 6 and _no_external_urls(
        html
    )
    np.testing.assert_allclose(
        walk.frames[:, 0, 0], torch.sigmoid(path[:, 0]).numpy(), atol=1e-6
    )
    pytest.importorskip("ipywidgets")
    walk.widget()
    before = walk.images["decoded"].value
    walk.update(5)
    assert walk.images["decoded"].value != before
    assert _png_array(walk.images["decoded"].value)[0, 0] == pytest.approx(
        float(torch.sigmoid(path[5, 0])), abs=0.003
    )
    with pytest.raises(CourseInputError, match="index"):
        walk.update(6)
    with pytest.raises(CourseInputError, match="shape \\(N, 2\\)"):
        widgets.latent_walk(_decode_2d, torch.randn(5, 3))


# ------------------------------------------------------------------------- display rule


def test_display_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    assert widgets.display_mode() == "static"
    monkeypatch.delenv("COURSE_STATIC_WIDGETS")
    assert widgets.display_mode() == "static"  # pytest runs no Jupyter kernel
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "0")
    assert widgets.display_mode() == "live"


def test_headless_display_shows_the_static_html(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    explorer = widgets.interpolation_explorer(
        _encode, _decode, _image(1), _image(2), steps=3
    )
    explorer._ipython_display_()
    assert len(shown) == 1 and 'type="range"' in shown[0].data


# -------------------------------------------------------------------------------- t-SNE


def _clusters(
    n_per: int = 30, d: int = 10, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Three tight, far-apart Gaussian blobs in d dimensions, labels 0, 1, 2."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, d, generator=g) * 20
    labels = torch.arange(3).repeat_interleave(n_per)
    return centres[labels] + torch.randn(3 * n_per, d, generator=g), labels


def test_embed_codes_keeps_clusters_apart_and_caches(tmp_path, monkeypatch):
    monkeypatch.setattr(widgets, "_MEMORY", {})
    codes, labels = _clusters()
    started = time.perf_counter()
    points = widgets.embed_codes(codes, perplexity=10, cache_dir=tmp_path)
    first = time.perf_counter() - started
    assert points.shape == (90, 2) and np.isfinite(points).all()
    # every point's nearest neighbour in the embedding is in its own cluster
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.eye(90) * 1e9
    assert np.all(labels.numpy()[dist.argmin(axis=1)] == labels.numpy())
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and files[0].stem == widgets.tsne_key(
        codes.numpy().astype(np.float64), 10, 0
    )
    started = time.perf_counter()
    # memory
    assert widgets.embed_codes(codes, perplexity=10, cache_dir=tmp_path) is points
    assert time.perf_counter() - started < 0.05
    monkeypatch.setattr(widgets, "_MEMORY", {})  # a new session: read from disk
    started = time.perf_counter()
    np.testing.assert_array_equal(
        widgets.embed_codes(codes, perplexity=10, cache_dir=tmp_path), points
    )
    assert time.perf_counter() - started < min(0.5, first)
    # another perplexity is another key
    assert widgets.tsne_key(codes.numpy().astype(np.float64), 5, 0) != files[0].stem


def test_embed_codes_2d_is_the_identity_and_checks_input():
    codes = torch.randn(10, 2)
    np.testing.assert_allclose(widgets.embed_codes(codes), codes.numpy(), atol=1e-7)
    with pytest.raises(CourseInputError, match="perplexity"):
        widgets.embed_codes(torch.randn(10, 5), perplexity=30)
    with pytest.raises(CourseInputError, match="shape \\(n, d\\)"):
        widgets.embed_codes(torch.randn(10))


def _tsne_explorer(tmp_path, **kwargs):
    codes, labels = _clusters(n_per=12)
    images = torch.rand(36, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    by_name = {"epoch 1": codes, "epoch 2": codes * 2 + 1}
    recon = {"epoch 1": 1 - images, "epoch 2": lambda x: x.flip(-1)}
    return widgets.tsne_explorer(
        by_name,
        images,
        labels,
        recon,
        n_points=30,
        perplexity=8,
        cache_dir=tmp_path,
        **kwargs,
    ), images


def test_tsne_explorer_static_html(tmp_path):
    explorer, _ = _tsne_explorer(tmp_path)
    html = explorer.static_html()
    # 30 points and a hover marker per panel
    assert html.count("<circle") == 2 * (30 + 1)
    assert html.count("<option") == 2 and "onchange" in html and "onmouseover" in html
    assert "<script" not in html and _no_external_urls(html)
    # one atlas of the images and one per model's reconstructions, each 5 rows x 6
    # columns of 28 px
    atlases = [
        _png_array(uri)
        for uri in re.findall(r"url\((data:image/png;base64,[^)]+)\)", html)
    ]
    assert [a.shape for a in atlases] == [(140, 168)] * 3
    first = int(explorer.indices[0])
    np.testing.assert_allclose(
        atlases[0][:28, :28], explorer.images[first], atol=0.5 / 15 + 1 / 255
    )
    np.testing.assert_allclose(
        atlases[1][:28, :28], 1 - explorer.images[first], atol=0.5 / 15 + 1 / 255
    )
    np.testing.assert_allclose(
        atlases[2][:28, :28], explorer.images[first][:, ::-1], atol=0.5 / 15 + 1 / 255
    )


def test_tsne_explorer_callbacks_change_the_shown_point(tmp_path):
    pytest.importorskip("ipywidgets")
    explorer, images = _tsne_explorer(tmp_path)
    explorer.widget()
    before = explorer.elements["image"].value
    explorer.select(7)
    example = int(explorer.indices[7])
    assert explorer.elements["image"].value != before
    np.testing.assert_allclose(
        _png_array(explorer.elements["image"].value),
        images[example, 0].numpy(),
        atol=1 / 255 + 1e-6,
    )
    np.testing.assert_allclose(
        _png_array(explorer.elements["reconstruction"].value),
        1 - images[example, 0].numpy(),
        atol=1 / 255 + 1e-6,
    )
    scatter = explorer.elements["scatter"].value
    explorer.update(name="epoch 2")
    assert explorer.elements["scatter"].value != scatter
    np.testing.assert_allclose(
        _png_array(explorer.elements["reconstruction"].value),
        images[example, 0].flip(-1).numpy(),
        atol=1 / 255 + 1e-6,
    )
    explorer.update(n_points=20)
    assert explorer.elements["scatter"].value.count("<circle") == 21
    with pytest.raises(CourseInputError, match="point index"):
        explorer.select(25)


def test_tsne_explorer_rejects_bad_input(tmp_path):
    codes, labels = _clusters(n_per=4)
    images = torch.rand(12, 1, 28, 28)
    with pytest.raises(CourseInputError, match="shape \\(12,\\)"):
        widgets.tsne_explorer({"a": codes}, images, labels[:5])
    with pytest.raises(CourseInputError, match="shape \\(12, N\\)"):
        widgets.tsne_explorer({"a": codes[:5]}, images, labels)
    with pytest.raises(CourseInputError, match="perplexity"):
        widgets.tsne_explorer({"a": codes}, images, labels, n_points=10, perplexity=30)
    with pytest.raises(CourseInputError, match="n_points"):
        widgets.tsne_explorer({"a": codes}, images, labels, n_points=50)
    with pytest.raises(CourseInputError, match="not in codes_by_name"):
        widgets.tsne_explorer(
            {"a": codes}, images, labels, {"b": images}, n_points=10, perplexity=3
        )


# ----------------------------------------------------------------------------- one core


def test_live_and_static_interpolation_draw_the_same_panels_and_labels():
    pytest.importorskip("ipywidgets")
    explorer = widgets.interpolation_explorer(
        _encode, _decode, _image(1), _image(2), steps=5, mode="slerp"
    )
    html = explorer.static_html()
    static_latent, static_pixel = (
        _frames(html, "decoded slerp path"),
        _frames(html, "pixel blend"),
    )
    for k, t in enumerate(explorer.ts):
        explorer.update(t=float(t))
        # the live status is one of the static slider's labels
        assert explorer._status.value in html
        np.testing.assert_allclose(
            _png_array(explorer.images["latent"].value), static_latent[k], atol=1e-12
        )
        np.testing.assert_allclose(
            _png_array(explorer.images["pixel"].value), static_pixel[k], atol=1e-12
        )
    assert explorer._captions["latent"].value == "<small>decoded slerp path</small>"
    explorer.update(mode="linear")
    assert explorer._captions["latent"].value == "<small>decoded linear path</small>"


def test_live_and_static_latent_walk_draw_the_same_path_picture():
    pytest.importorskip("ipywidgets")
    path = torch.stack([torch.linspace(-1, 1, 4), torch.linspace(0, 2, 4)], dim=1)
    walk = widgets.latent_walk(_decode_2d, path)
    static_markers = re.findall(
        r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5"[^>]*data-k="(\d)"',
        walk.static_html(),
    )
    assert len(static_markers) == 4
    for cx, cy, k in static_markers:
        walk.update(int(k))
        live = re.findall(
            r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5"', walk.images["path"].value
        )
        # the live picture is the static one with only this step's marker
        assert live == [(cx, cy)]
        assert walk.images["label"].value == walk.label(
            int(k)
        ) and f"step {int(k) + 1}/4" in walk.label(int(k))
