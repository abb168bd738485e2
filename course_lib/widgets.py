"""Explorers: t-SNE of latent codes, interpolation between two codes, and a walk through
a 2-D latent space.

Each explorer is an object that Jupyter displays by itself. **Which version is shown**
(the rule):

* ``COURSE_STATIC_WIDGETS=1`` (set by the book build and by nbval in CI): the **static**
  version, self-contained HTML with precomputed frames (base64 PNG or inline SVG) and an
  ``<input type=range>`` / ``<select>`` whose few lines of inline JavaScript swap what
  is shown. It works in the built book offline: no kernel, no widget manager, no
  require.js, no CDN.
* otherwise, when ``ipywidgets`` is importable and a Jupyter kernel is running (Jupyter,
  Colab): the **live** version, ipywidgets controls whose callbacks recompute in Python;
* otherwise (a plain Python script): the static version.

Neither version ever waits for input, so a headless run never blocks.
``explorer.static_html()`` and ``explorer.widget()`` give either version explicitly,
``explorer.save_html(path)`` writes a standalone page. The pure functions behind them
(:func:`interpolate`, :func:`embed_codes`) are usable and tested on their own.

The explorers take tensors and plain functions (``encode``, ``decode``), never a model
class::

    explorer = interpolation_explorer(lambda x: vae.encode(x)[0], lambda z:
    torch.sigmoid(vae.decode(z)),
                                      x_test[0], x_test[1], mode="slerp")
    explorer            # the last expression of a cell: displayed
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_lib import static_widgets as sw
from course_lib.errors import CourseInputError, check_tensor
from course_lib.viz import decode_batch, digit_labels, display_images, points_2d

STATIC_ENV = "COURSE_STATIC_WIDGETS"
DISPLAY_WIDTH = 112
"""CSS pixels at which a 28x28 image is shown (4x, crisp)."""


def display_mode() -> str:
    """``"static"`` or ``"live"``, following the rule in this module's docstring.

    ``COURSE_STATIC_WIDGETS`` = ``1``/``true``/``yes`` forces static;
    ``0``/``false``/``no`` asks for live (still static when ipywidgets is missing);
    unset: live inside a running Jupyter kernel, else static.
    """
    flag = os.environ.get(STATIC_ENV, "").strip().lower()
    if flag in ("1", "true", "yes", "on", "static"):
        return "static"
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return "static"
    if flag in ("0", "false", "no", "off", "live"):
        return "live"
    try:
        from IPython import get_ipython
    except ImportError:
        return "static"
    shell = get_ipython()
    return (
        "live"
        if shell is not None and getattr(shell, "kernel", None) is not None
        else "static"
    )


class Explorer:
    """Base class: displays the live widget or the static HTML according to
    :func:`display_mode`."""

    title = "course_lib explorer"

    def static_html(self) -> str:
        """The kernel-free version: a self-contained ``<div>`` (no ``<script>``, no
        external URL)."""
        raise NotImplementedError

    def widget(self) -> Any:
        """The live version: an ipywidgets box whose callbacks run in the kernel."""
        raise NotImplementedError

    def save_html(self, path: str | Path) -> Path:
        """Write :meth:`static_html` as a standalone page and return its path."""
        return sw.save_page(self.static_html(), path, title=self.title)

    def _repr_html_(self) -> str:
        return self.static_html()

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if display_mode() == "live":
            display(self.widget())
        else:
            display(HTML(self.static_html()))


def _image_uri(image: np.ndarray) -> str:
    return sw.png_data_uri(image)


def _png(image: np.ndarray) -> bytes:
    return sw.png_bytes(image)


# --------------------------------------------------------------------------------------
# Interpolation
# --------------------------------------------------------------------------------------

INTERPOLATION_MODES = ("linear", "slerp")


def interpolate(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    ts: Sequence[float] | np.ndarray | torch.Tensor,
    mode: str = "linear",
) -> torch.Tensor:
    """Points between two codes: ``(1 - t) z_a + t z_b`` (linear) or along the great
    circle (slerp).

    Spherical interpolation (Shoemake 1985; White 2016 for generative models) of the
    flattened codes,
    with ``omega`` the angle between them::

        slerp(t) = sin((1 - t) omega) / sin(omega) * z_a + sin(t omega) / sin(omega) *
        z_b

    For endpoints of equal norm every point keeps that norm, which matters for Gaussian
    latents: a linear midpoint of two typical samples of ``N(0, I)`` in ``d`` dimensions
    has norm about ``sqrt(d / 2)`` instead of ``sqrt(d)``, a region the generator never
    saw in training.

    Args:
        z_a: a code of any shape (e.g. ``(d,)`` or ``(nz, 1, 1)``).
        z_b: a code of the same shape.
        ts: ``T`` values of ``t`` in ``[0, 1]``; ``t = 0`` gives ``z_a`` and ``t = 1``
            gives ``z_b`` exactly.
        mode: ``"linear"`` or ``"slerp"``.

    Returns:
        ``(T, *z_a.shape)`` tensor of interpolated codes.

    Raises:
        CourseInputError: different shapes, ``t`` outside ``[0, 1]``, an unknown mode,
            or (slerp) a zero code or two opposite codes, for which the great circle is
            not defined.
    """
    check_tensor(z_a, "z_a")
    check_tensor(z_b, "z_b")
    if z_a.shape != z_b.shape:
        raise CourseInputError(
            f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and "
            f"{tuple(z_b.shape)}"
        )
    if mode not in INTERPOLATION_MODES:
        raise CourseInputError(f"mode must be 'linear' or 'slerp', got {mode!r}")
    t = torch.as_tensor(ts, dtype=torch.float64).flatten()
    if t.numel() == 0 or t.min() < 0 or t.max() > 1:
        raise CourseInputError("ts must be a non-empty list of values in [0, 1]")
    a = z_a.detach().flatten().to(torch.float64)
    b = z_b.detach().flatten().to(torch.float64)
    t = t.view(-1, 1)
    if mode == "linear":
        path = (1 - t) * a + t * b
    else:
        norm_a, norm_b = a.norm(), b.norm()
        if norm_a == 0 or norm_b == 0:
            raise CourseInputError(
                "slerp needs non-zero codes (the angle to a zero vector is "
                "undefined); use linear"
            )
        cos = torch.clamp(torch.dot(a, b) / (norm_a * norm_b), -1.0, 1.0)
        omega = torch.arccos(cos)
        if omega < 1e-6:
            # (almost) the same direction: slerp and lerp coincide
            path = (1 - t) * a + t * b
        elif torch.pi - omega < 1e-6:
            raise CourseInputError(
                "slerp between opposite codes is undefined (any great circle joins "
                "them)"
            )
        else:
            path = (
                torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b
            ) / torch.sin(omega)
        path[t.flatten() == 0] = a
        path[t.flatten() == 1] = b
    return path.to(z_a.dtype).view(-1, *z_a.shape)


def _single(x: torch.Tensor, name: str) -> torch.Tensor:
    """One image or code with a batch dimension of 1: ``(1, ...)``."""
    check_tensor(x, name)
    if x.dim() >= 2 and x.shape[0] == 1:
        return x
    return x.unsqueeze(0)


def _first_code(
    encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, name: str
) -> torch.Tensor:
    with torch.no_grad():
        z = encode(x)
    if isinstance(z, (tuple, list)):
        raise CourseInputError(
            f"encode returned a {type(z).__name__} for {name}; return the code only, "
            "e.g. for a VAE "
            "encode=lambda x: vae.encode(x)[0] (the mean)"
        )
    if not isinstance(z, torch.Tensor) or z.shape[0] != 1:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise CourseInputError(
            f"encode must return a (1, d) code for one image {name}, got {shape}"
        )
    return z[0].detach()


class InterpolationExplorer(Explorer):
    """Decoded codes between two endpoints next to the pixel-space blend, with a slider
    over ``t``.

    Build it with :func:`interpolation_explorer`. Attributes:
        ts: the ``T`` values of ``t`` of the static frames.
        z_a, z_b: the two codes.
        endpoint_a, endpoint_b: ``(H, W)`` images in ``[0, 1]`` at the ends (originals,
        or ``G(z)``). latent_frames, pixel_frames: ``(T, H, W)`` decoded path and pixel
        blend, in ``[0, 1]``. images: live-widget image elements (``"latent"``,
        ``"pixel"``), created by :meth:`widget`.
    """

    title = "interpolation explorer"

    def __init__(
        self,
        decode: Callable[[torch.Tensor], torch.Tensor],
        z_a: torch.Tensor,
        z_b: torch.Tensor,
        endpoint_a: np.ndarray,
        endpoint_b: np.ndarray,
        *,
        steps: int,
        mode: str,
        value_range: tuple[float, float] | None,
        device: torch.device | str | None,
        captions: tuple[str, str],
    ) -> None:
        self.decode = decode
        self.z_a, self.z_b = z_a, z_b
        self.endpoint_a, self.endpoint_b = endpoint_a, endpoint_b
        self.mode = mode
        self.value_range = value_range
        self.device = device
        self.captions = captions
        self.ts = np.linspace(0.0, 1.0, steps)
        self.t = 0.5
        self.latent_frames = self._decode_path(self.ts, mode)
        self.pixel_frames = self.pixel_blend(self.ts)
        self.images: dict[str, Any] = {}
        self._captions: dict[str, Any] = {}
        self._status: Any = None
        self._box: Any = None

    def _decode_path(self, ts: Sequence[float] | np.ndarray, mode: str) -> np.ndarray:
        codes = interpolate(self.z_a, self.z_b, ts, mode)
        if self.device is not None:
            codes = codes.to(self.device)
        return display_images(
            decode_batch(self.decode, codes), "decode(z)", self.value_range
        )

    def pixel_blend(self, ts: Sequence[float] | np.ndarray) -> np.ndarray:
        """``(1 - t) A + t B`` in pixel space for each ``t``: ``(T, H, W)`` in
        ``[0, 1]``."""
        t = np.asarray(ts, dtype=np.float64).reshape(
            (-1,) + (1,) * self.endpoint_a.ndim
        )
        return (1 - t) * self.endpoint_a + t * self.endpoint_b

    def frame(self, t: float, mode: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The decoded image and the pixel blend at one ``t`` (computed now): two
        ``(H, W)`` arrays in ``[0, 1]``."""
        mode = mode or self.mode
        return self._decode_path([t], mode)[0], self.pixel_blend([t])[0]

    def figure(self, n: int | None = None) -> Any:
        """Both paths at once as a matplotlib figure: decoded codes above, pixel blend
        below.

        Args:
            n: how many of the precomputed ``t`` values to show (default all, at most
                12).
        """
        from course_lib.viz import compare_rows

        return compare_rows(
            {"decoded path": self.latent_frames, "pixel blend": self.pixel_frames},
            n=n or min(len(self.ts), 12),
            value_range=(0.0, 1.0),
            title=f"{self.mode} interpolation, t from 0 to 1",
        )

    # One rendering core: the panels and the label of any set of t values. The static
    # page draws them for every precomputed t, the live widget for the slider's t; only
    # the drawing differs.

    def panels(
        self, latent: np.ndarray, pixel: np.ndarray
    ) -> list[tuple[str, str, np.ndarray]]:
        """``(key, caption, frames)`` of the four panels, frames ``(T, H, W)`` in
        ``[0, 1]``: the fixed endpoints (one frame each), the decoded path ``latent``
        and the pixel blend ``pixel``."""
        return [
            ("a", self.captions[0], self.endpoint_a[None]),
            ("latent", f"decoded {self.mode} path", latent),
            ("pixel", "pixel blend", pixel),
            ("b", self.captions[1], self.endpoint_b[None]),
        ]

    def label(self, t: float) -> str:
        """``"t = 0.50, |z_t| = 3.21"``: the slider's value and the length of the code
        there."""
        code = interpolate(self.z_a, self.z_b, [t], self.mode)[0]
        return f"t = {t:.2f}, |z_t| = {float(code.norm()):.2f}"

    def static_html(self) -> str:
        initial = int(np.argmin(np.abs(self.ts - 0.5)))
        body = "".join(
            sw.image_panel(
                caption,
                [_image_uri(f) for f in frames],
                width=DISPLAY_WIDTH,
                initial=initial,
            )
            for _, caption, frames in self.panels(self.latent_frames, self.pixel_frames)
        )
        return sw.slider_html(
            body,
            [self.label(t) for t in self.ts],
            title=f"Interpolation ({self.mode}) between two codes",
            initial=initial,
            slider_name="t",
            note="Precomputed frames: move the slider (works without a kernel).",
        )

    def update(self, t: float | None = None, mode: str | None = None) -> None:
        """Callback of the live widget: decode the code at ``t`` (and ``mode``) and show
        it.

        Works without a front end too (the image elements are created by
        :meth:`widget`).
        """
        if t is not None:
            if not 0 <= t <= 1:
                raise CourseInputError(f"t must be in [0, 1], got {t}")
            self.t = float(t)
        if mode is not None:
            if mode not in INTERPOLATION_MODES:
                raise CourseInputError(
                    f"mode must be 'linear' or 'slerp', got {mode!r}"
                )
            self.mode = mode
        if not self.images:
            self.widget()
        latent, pixel = self.frame(self.t)
        for key, caption, frames in self.panels(latent[None], pixel[None]):
            self.images[key].value = _png(frames[0])
            self._captions[key].value = _caption_html(caption)
        self._status.value = self.label(self.t)

    def widget(self) -> Any:
        import ipywidgets as w

        if self.images:
            return self._box
        columns = []
        for key, caption, frames in self.panels(
            self.latent_frames[:1], self.pixel_frames[:1]
        ):
            self.images[key] = w.Image(
                value=_png(frames[0]),
                format="png",
                width=DISPLAY_WIDTH,
                height=DISPLAY_WIDTH,
                layout=w.Layout(object_fit="contain"),
            )
            self._captions[key] = w.HTML(_caption_html(caption))
            columns.append(
                w.VBox(
                    [self._captions[key], self.images[key]],
                    layout=w.Layout(align_items="center", margin="0 8px 0 0"),
                )
            )
        slider = w.FloatSlider(
            value=self.t,
            min=0.0,
            max=1.0,
            step=0.01,
            description="t",
            continuous_update=True,
            readout_format=".2f",
        )
        modes = w.ToggleButtons(
            options=list(INTERPOLATION_MODES), value=self.mode, description="path"
        )
        self._status = w.Label()
        slider.observe(lambda change: self.update(t=change["new"]), names="value")
        modes.observe(lambda change: self.update(mode=change["new"]), names="value")
        self._box = w.VBox([w.HBox(columns), w.HBox([slider, modes]), self._status])
        self.update()
        return self._box


def _caption_html(caption: str) -> str:
    return f"<small>{html.escape(caption)}</small>"


def interpolation_explorer(
    encode: Callable[[torch.Tensor], torch.Tensor] | None,
    decode: Callable[[torch.Tensor], torch.Tensor],
    x_a: torch.Tensor,
    x_b: torch.Tensor,
    *,
    steps: int = 11,
    mode: str = "linear",
    value_range: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
) -> InterpolationExplorer:
    """Interpolate between two codes, decode, and compare with blending the pixels.

    Autoencoders (AE, VAE, AAE): ``x_a`` and ``x_b`` are two images; ``encode`` maps
    ``(1, 1, 28, 28)`` images to ``(1, d)`` codes (for a VAE the mean:
    ``lambda x: vae.encode(x)[0]``) and ``decode`` maps ``(T, d)`` codes to
    ``(T, 1, 28, 28)`` images (for logits: ``lambda z: torch.sigmoid(vae.decode(z))``).

    GANs: pass ``encode=None``; ``x_a`` and ``x_b`` are two noise vectors (e.g.
    ``(100,)`` or ``(100, 1, 1)``) and ``decode`` is the generator. The pixel blend is
    then between ``G(z_a)`` and ``G(z_b)``.

    Args:
        encode: image -> code, or ``None`` when ``x_a``/``x_b`` are codes already.
        decode: ``(T, *code_shape)`` codes -> ``(T, C, H, W)`` images in ``[0, 1]`` or
            ``[-1, 1]``.
        x_a: first image ``(1, 28, 28)`` / ``(1, 1, 28, 28)``, or first code.
        x_b: second image or code, same shape as ``x_a``.
        steps: number of precomputed values of ``t`` (at least 2) for the static
            version.
        mode: ``"linear"`` or ``"slerp"`` (see :func:`interpolate`).
        value_range: range of the images (``None``: detect).
        device: where the model lives; inputs are moved there before
            ``encode``/``decode``.

    Returns:
        An :class:`InterpolationExplorer` (displayed as live widget or static frames,
        see :func:`display_mode`).
    """
    if steps < 2:
        raise CourseInputError(f"steps must be at least 2, got {steps}")
    if mode not in INTERPOLATION_MODES:
        raise CourseInputError(f"mode must be 'linear' or 'slerp', got {mode!r}")
    a, b = _single(x_a, "x_a"), _single(x_b, "x_b")
    if a.shape != b.shape:
        raise CourseInputError(
            f"x_a and x_b must have the same shape, got {tuple(x_a.shape)} and "
            f"{tuple(x_b.shape)}"
        )
    if device is not None:
        a, b = a.to(device), b.to(device)
    if encode is None:
        z_a, z_b = a[0].detach(), b[0].detach()
        ends = display_images(
            decode_batch(decode, torch.cat([a, b])), "decode(z)", value_range
        )
        captions = ("G(z_a)", "G(z_b)")
    else:
        if a.dim() == 3:  # (1, 28, 28) was one image without channel: (1, 1, 28, 28)
            a, b = a.unsqueeze(1), b.unsqueeze(1)
        ends = display_images(torch.cat([a, b]).cpu(), "x_a and x_b", value_range)
        z_a, z_b = _first_code(encode, a, "x_a"), _first_code(encode, b, "x_b")
        captions = ("image A", "image B")
    return InterpolationExplorer(
        decode,
        z_a,
        z_b,
        ends[0],
        ends[1],
        steps=steps,
        mode=mode,
        value_range=value_range,
        device=device,
        captions=captions,
    )


# --------------------------------------------------------------------------------------
# Latent walk along a 2-D path
# --------------------------------------------------------------------------------------


class LatentWalk(Explorer):
    """Decoded images along a path of 2-D codes, with the path drawn over the prior; a
    slider picks the step.

    Build it with :func:`latent_walk`. Attributes:
        path: ``(T, 2)`` codes; frames: ``(T, H, W)`` decoded images in ``[0, 1]``.
    """

    title = "latent walk"

    def __init__(
        self,
        path: np.ndarray,
        frames: np.ndarray,
        background: np.ndarray | None,
        title: str,
    ) -> None:
        self.path = path
        self.frames = frames
        self.background = background
        self.caption = title
        self.index = 0
        self.images: dict[str, Any] = {}
        self._box: Any = None

    # One rendering core: the path drawing (an SVG, with the marker at one step or, for
    # the static page, one marker per step) and the label of a step; the static page and
    # the live widget draw the same pictures, the live one for the slider's step only.

    def path_svg(self, step: int | None = None, size: int = 220) -> str:
        """The path over the prior samples as inline SVG, with a marker at ``step``
        (``None``: one marker per step, each tagged ``data-k`` for the frame slider)."""
        pts = (
            self.path
            if self.background is None
            else np.concatenate([self.path, self.background])
        )
        low, high = pts.min(axis=0), pts.max(axis=0)
        span = float(max((high - low).max(), 1e-9))

        def xy(p: np.ndarray) -> tuple[float, float]:
            x = 8 + (p[0] - low[0]) / span * (size - 16)
            return x, size - (8 + (p[1] - low[1]) / span * (size - 16))

        dots = ""
        if self.background is not None:
            dots = "".join(
                '<circle cx="{:.1f}" cy="{:.1f}" r="1.3"/>'.format(*xy(p))
                for p in self.background
            )
            dots = f'<g fill="#9a9a9a" fill-opacity="0.5">{dots}</g>'
        line = " ".join("{:.1f},{:.1f}".format(*xy(p)) for p in self.path)
        steps = range(len(self.path)) if step is None else [step]
        markers = "".join(
            f'<circle cx="{xy(self.path[k])[0]:.1f}" cy="{xy(self.path[k])[1]:.1f}" '
            'r="5" fill="#d62728" '
            f'stroke="#000"{sw.frame_attrs(k, 0) if step is None else ""}/>'
            for k in steps
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'width="{size}" height="{size}" '
            f'style="background:#fff;border:1px solid #ddd">{dots}'
            f'<polyline points="{line}" fill="none" stroke="#1f77b4" '
            f'stroke-width="1.5"/>{markers}</svg>'
        )

    def label(self, step: int) -> str:
        """``"step 3/30: z = (0.12, -1.40)"``."""
        p = self.path[step]
        return f"step {step + 1}/{len(self.path)}: z = ({p[0]:.2f}, {p[1]:.2f})"

    def static_html(self) -> str:
        body = (
            '<figure style="margin:0 10px 0 0;text-align:center"><figcaption '
            'style="font-size:12px;color:#333">'
            f"path in the latent space</figcaption>{self.path_svg()}</figure>"
            + sw.image_panel(
                "decoded", [_image_uri(f) for f in self.frames], width=2 * DISPLAY_WIDTH
            )
        )
        return sw.slider_html(
            body,
            [self.label(k) for k in range(len(self.path))],
            title=self.caption,
            slider_name="step",
            note="Precomputed frames: move the slider (works without a kernel).",
        )

    def update(self, index: int) -> None:
        """Callback of the live widget: show step ``index`` (0-based)."""
        if not 0 <= index < len(self.path):
            raise CourseInputError(
                f"index must be in 0..{len(self.path) - 1}, got {index}"
            )
        self.index = int(index)
        if not self.images:
            self.widget()
        self.images["decoded"].value = _png(self.frames[self.index])
        self.images["path"].value = self.path_svg(self.index)
        self.images["label"].value = self.label(self.index)

    def widget(self) -> Any:
        import ipywidgets as w

        if self.images:
            return self._box
        self.images = {
            "path": w.HTML(self.path_svg(self.index)),
            "decoded": w.Image(
                value=_png(self.frames[self.index]),
                format="png",
                width=2 * DISPLAY_WIDTH,
                height=2 * DISPLAY_WIDTH,
            ),
            "label": w.Label(self.label(self.index)),
        }
        slider = w.IntSlider(
            value=self.index, min=0, max=len(self.path) - 1, description="step"
        )
        slider.observe(lambda change: self.update(change["new"]), names="value")
        self._box = w.VBox(
            [
                w.HTML(f"<b>{html.escape(self.caption)}</b>"),
                w.HBox([self.images["path"], self.images["decoded"]]),
                w.HBox([slider, self.images["label"]]),
            ]
        )
        return self._box


def latent_walk(
    decode: Callable[[torch.Tensor], torch.Tensor],
    path_points: torch.Tensor,
    *,
    background: torch.Tensor | None = None,
    value_range: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
    title: str = "Walking through the latent space",
) -> LatentWalk:
    """Decode every point of a 2-D path (e.g. along the swiss-roll prior from its centre
    outwards).

    Example (an AAE trained with the swiss-roll prior)::

        path = course_lib.priors.swiss_roll(torch.linspace(0, 1, 30))    # centre ->
        outer end latent_walk(lambda z: aae.decode(z), path, background=prior_samples)

    Args:
        decode: ``(T, 2)`` codes -> ``(T, 1, 28, 28)`` images in ``[0, 1]`` or
            ``[-1, 1]``.
        path_points: ``(T, 2)`` codes, in walking order (``T`` at least 2; about 20-40
            is enough).
        background: optional ``(M, 2)`` prior samples drawn under the path.
        value_range: range of the decoded images (``None``: detect).
        device: where to put the codes before ``decode``.
        title: shown above the explorer.

    Returns:
        A :class:`LatentWalk` with a slider over the steps.
    """
    path = points_2d(path_points, "path_points")
    if len(path) < 2:
        raise CourseInputError(f"path_points needs at least 2 points, got {len(path)}")
    codes = torch.as_tensor(path, dtype=torch.float32)
    frames = display_images(
        decode_batch(decode, codes.to(device) if device else codes),
        "decode(z)",
        value_range,
    )
    back = None if background is None else points_2d(background, "background")
    return LatentWalk(path, frames, back, title)


# --------------------------------------------------------------------------------------
# t-SNE explorer
# --------------------------------------------------------------------------------------

_MEMORY: dict[str, np.ndarray] = {}
TSNE_VERSION = 1  # part of the cache key: bump when the embedding recipe changes


def _tsne_cache_folder(cache_dir: str | Path | None) -> Path | None:
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("COURSE_CACHE", "").strip().lower() == "off":
        return None
    from course_lib.cache import cache_dir as default_cache_dir

    return default_cache_dir() / "tsne"


def tsne_threads() -> int:
    """Threads for t-SNE: ``COURSE_TSNE_THREADS``, default 1.

    One thread by default: on a shared 2-core machine, OpenMP's busy-waiting threads
    made sklearn's t-SNE of 300 points take 48 s with 2 threads against 4.4 s with 1
    (measured under load).
    """
    value = os.environ.get("COURSE_TSNE_THREADS", "1").strip()
    if not value.isdigit() or int(value) < 1:
        raise CourseInputError(
            f"COURSE_TSNE_THREADS must be a positive integer, got {value!r}"
        )
    return int(value)


def tsne_key(codes: np.ndarray, perplexity: float, seed: int) -> str:
    """Cache key: SHA-256 of the codes' bytes, shape and the t-SNE parameters (16 hex
    digits)."""
    digest = hashlib.sha256(np.ascontiguousarray(codes, dtype=np.float32).tobytes())
    digest.update(
        json.dumps(
            {
                "shape": codes.shape,
                "perplexity": float(perplexity),
                "seed": seed,
                "version": TSNE_VERSION,
            }
        ).encode()
    )
    return digest.hexdigest()[:16]


def embed_codes(
    codes: torch.Tensor | np.ndarray,
    *,
    perplexity: float = 30.0,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """2-D embedding of ``(n, d)`` codes: the codes themselves for ``d = 2``, else t-SNE
    (PCA to 50 first).

    Results are cached in memory and on disk (``<COURSE_CACHE>/tsne/<key>.npy``, or
    ``cache_dir``), keyed by a hash of the codes and the parameters, so a second call is
    instant. ``COURSE_CACHE=off`` keeps only the in-memory cache. Measured on 2 shared
    CPU cores: see the report of the widgets issue.

    Args:
        codes: ``(n, d)`` codes (e.g. VAE encoder means), ``n >= 5``.
        perplexity: t-SNE perplexity, ``1 <= perplexity < n`` (5-50 is usual).
        seed: t-SNE's random state.
        cache_dir: folder for the disk cache (default: under
            :func:`course_lib.cache.cache_dir`).

    Returns:
        ``(n, 2)`` float64 array.
    """
    array = (
        codes.detach().cpu().numpy()
        if isinstance(codes, torch.Tensor)
        else np.asarray(codes)
    )
    if array.ndim != 2 or array.shape[0] < 5 or array.shape[1] < 2:
        raise CourseInputError(
            f"codes must have shape (n, d) with n >= 5 and d >= 2, got {array.shape}"
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise CourseInputError("codes contain NaN or infinite values")
    if array.shape[1] == 2:
        return array
    if not 1 <= perplexity < array.shape[0]:
        raise CourseInputError(
            f"perplexity must be in [1, n) = [1, {array.shape[0]}), got {perplexity}; "
            "use fewer neighbours or more points"
        )
    key = tsne_key(array, perplexity, seed)
    if key in _MEMORY:
        return _MEMORY[key]
    folder = _tsne_cache_folder(cache_dir)
    path = folder / f"{key}.npy" if folder is not None else None
    if path is not None and path.is_file():
        try:
            embedding = np.load(path, allow_pickle=False)
            if embedding.shape == (array.shape[0], 2):
                _MEMORY[key] = embedding
                return embedding
        except (OSError, ValueError):
            pass  # a partial file: compute again and overwrite it
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        learning_rate="auto",
        random_state=seed,
    )
    with threadpool_limits(limits=tsne_threads()):
        reduced = (
            PCA(n_components=50, random_state=seed).fit_transform(array)
            if array.shape[1] > 50
            else array
        )
        embedding = tsne.fit_transform(reduced).astype(np.float64)
    _MEMORY[key] = embedding
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(temporary, embedding)
        os.replace(temporary, path)
    return embedding


class TsneExplorer(Explorer):
    """Latent codes of several models (or epochs) embedded in 2-D; a point shows its
    image and reconstruction.

    Build it with :func:`tsne_explorer`. Attributes:
        names: model/epoch names; labels ``(N,)``; images ``(N, H, W)`` in ``[0, 1]``.
        name, n_points, perplexity: the current choice (changed by :meth:`update`).
        order: a fixed random order of the ``N`` examples; the first ``n_points`` are
        embedded. selected: index (into the embedded points) of the point shown by the
        live widget.
    """

    title = "t-SNE explorer"

    def __init__(
        self,
        codes: dict[str, torch.Tensor],
        images: np.ndarray,
        raw_images: torch.Tensor,
        labels: np.ndarray,
        reconstruct: Mapping[str, Any] | None,
        *,
        n_points: int,
        perplexity: float,
        seed: int,
        cache_dir: str | Path | None,
        value_range: tuple[float, float] | None,
    ) -> None:
        self.codes = codes
        self.names = list(codes)
        self.images = images
        self._raw_images = raw_images
        self.labels = labels
        self.reconstruct = dict(reconstruct or {})
        self.value_range = value_range
        self.seed = seed
        self.cache_dir = cache_dir
        self.order = np.random.default_rng(seed).permutation(len(labels))
        self.name = self.names[0]
        self.n_points = n_points
        self.perplexity = perplexity
        self.selected = 0
        self.seconds: dict[tuple[str, int, float], float] = {}
        self._recon_cache: dict[tuple[str, int], np.ndarray] = {}
        self.elements: dict[str, Any] = {}
        self._box: Any = None

    @property
    def indices(self) -> np.ndarray:
        """Indices (into the ``N`` examples) of the embedded points, in embedding
        order."""
        return self.order[: self.n_points]

    def embedding(self, name: str | None = None) -> np.ndarray:
        """``(n_points, 2)`` embedding of model ``name`` (default: the current one),
        cached."""
        name = name or self.name
        codes = self.codes[name][torch.as_tensor(self.indices)]
        started = time.perf_counter()
        points = embed_codes(
            codes, perplexity=self.perplexity, seed=self.seed, cache_dir=self.cache_dir
        )
        self.seconds[(name, self.n_points, self.perplexity)] = (
            time.perf_counter() - started
        )
        return points

    def reconstructions(self, name: str | None = None) -> np.ndarray | None:
        """``(n_points, H, W)`` reconstructions in ``[0, 1]`` by model ``name``, or
        ``None`` when not given."""
        name = name or self.name
        source = self.reconstruct.get(name)
        if source is None:
            return None
        key = (name, self.n_points)
        if key not in self._recon_cache:
            index = torch.as_tensor(self.indices)
            if callable(source):
                chosen = torch.as_tensor(self._raw_images[index])
                with torch.no_grad():
                    out = source(chosen)
            else:
                out = source[index]
            self._recon_cache[key] = display_images(out, f"reconstruct[{name!r}]", None)
        return self._recon_cache[key]

    # One rendering core: the scatter page of some models (their embeddings, the digits,
    # the images and reconstructions of the embedded points). The static page shows
    # every model with a selector; the live widget shows the current one and recomputes
    # it when a control changes.

    def scatter_html(
        self, names: Sequence[str], *, title: str | None = None, note: str | None = None
    ) -> str:
        """The kernel-free scatter explorer of ``names``
        (:func:`course_lib.static_widgets.scatter_explorer_html`)."""
        recons = {
            name: r for name in names if (r := self.reconstructions(name)) is not None
        }
        return sw.scatter_explorer_html(
            {name: self.embedding(name) for name in names},
            self.labels[self.indices],
            self.images[self.indices],
            recons or None,
            title=title,
            note=note,
        )

    def static_html(self) -> str:
        method = "t-SNE" if self.codes[self.names[0]].shape[1] > 2 else "2-D codes"
        note = (
            f"{method} of {self.n_points} test images"
            + (f", perplexity {self.perplexity:g}" if method == "t-SNE" else "")
            + ". Precomputed: hover over or click a point (works without a kernel)."
        )
        return self.scatter_html(self.names, title="Latent space explorer", note=note)

    def update(
        self,
        name: str | None = None,
        n_points: int | None = None,
        perplexity: float | None = None,
    ) -> None:
        """Callback of the live widget: switch model, number of points or perplexity,
        and redraw."""
        if name is not None:
            if name not in self.codes:
                raise CourseInputError(
                    f"unknown model {name!r}; choose one of {self.names}"
                )
            self.name = name
        if n_points is not None:
            self.n_points = _check_n_points(n_points, len(self.labels))
        if perplexity is not None:
            self.perplexity = float(perplexity)
        self.selected = min(self.selected, self.n_points - 1)
        if not self.elements:
            self.widget()
        self.elements["scatter"].value = self.scatter_html([self.name])
        self.elements["point"].max = self.n_points - 1
        self.select(self.selected)

    def select(self, index: int) -> None:
        """Callback of the live widget: show embedded point ``index``'s image and
        reconstruction."""
        if not 0 <= index < self.n_points:
            raise CourseInputError(
                f"point index must be in 0..{self.n_points - 1}, got {index}"
            )
        self.selected = int(index)
        if not self.elements:
            self.widget()
        example = int(self.indices[self.selected])
        self.elements["image"].value = _png(self.images[example])
        recon = self.reconstructions()
        if recon is not None:
            self.elements["reconstruction"].value = _png(recon[self.selected])
        self.elements[
            "caption"
        ].value = f"point {self.selected}: digit {int(self.labels[example])}"

    def widget(self) -> Any:
        import ipywidgets as w

        if self.elements:
            return self._box
        big = 3 * 28
        n_options = sorted(
            {
                n
                for n in (300, 1000, 2000, 5000, len(self.labels))
                if n <= len(self.labels)
            }
            | {self.n_points}
        )
        models = w.Dropdown(options=self.names, value=self.name, description="model")
        points = w.Dropdown(
            options=n_options, value=self.n_points, description="points"
        )
        perplexity = w.Dropdown(
            options=sorted({5.0, 15.0, 30.0, 50.0, self.perplexity}),
            value=self.perplexity,
            description="perplexity",
        )
        self.elements = {
            "scatter": w.HTML(),
            "point": w.BoundedIntText(
                value=self.selected, min=0, max=self.n_points - 1, description="point #"
            ),
            "image": w.Image(format="png", width=big, height=big),
            "reconstruction": w.Image(format="png", width=big, height=big),
            "caption": w.Label(),
        }
        models.observe(lambda change: self.update(name=change["new"]), names="value")
        points.observe(
            lambda change: self.update(n_points=change["new"]), names="value"
        )
        perplexity.observe(
            lambda change: self.update(perplexity=change["new"]), names="value"
        )
        self.elements["point"].observe(
            lambda change: self.select(change["new"]), names="value"
        )
        side = w.VBox(
            [
                w.HTML(
                    "<small>kernel-side view of one point (type its number; hover "
                    "shows any point)</small>",
                    layout=w.Layout(width="200px"),
                ),
                self.elements["point"],
                w.HTML("<small>image</small>"),
                self.elements["image"],
                w.HTML("<small>reconstruction</small>"),
                self.elements["reconstruction"],
                self.elements["caption"],
            ]
        )
        # 2-D codes are shown as they are
        perplexity.disabled = self.codes[self.name].shape[1] == 2
        self._box = w.VBox(
            [
                w.HBox([models, points, perplexity]),
                w.HBox([self.elements["scatter"], side]),
            ]
        )
        self.update()
        return self._box


def _check_n_points(n_points: int, total: int) -> int:
    if not 5 <= n_points <= total:
        raise CourseInputError(
            f"n_points must be between 5 and the number of examples ({total}), got "
            f"{n_points}"
        )
    return int(n_points)


def tsne_explorer(
    codes_by_name: Mapping[str, torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    reconstruct: Mapping[str, torch.Tensor | Callable[[torch.Tensor], torch.Tensor]]
    | None = None,
    *,
    n_points: int | None = None,
    perplexity: float = 30.0,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    value_range: tuple[float, float] | None = None,
) -> TsneExplorer:
    """Explore latent codes in 2-D: t-SNE (PCA to 50 first) for ``d > 2``, the codes
    themselves for ``d = 2``.

    Args:
        codes_by_name: model or epoch name -> ``(N, d)`` codes of the same ``N`` images
            (e.g. VAE means).
        images: ``(N, 1, 28, 28)`` images in ``[0, 1]`` or ``[-1, 1]``.
        labels: ``(N,)`` digits 0..9.
        reconstruct: optional name -> ``(N, 1, 28, 28)`` reconstructions, or a function
            mapping ``(n, 1, 28, 28)`` images to their reconstructions (called on the
            embedded points only).
        n_points: how many images to embed (default: the run profile's ``tsne_points``,
            at most ``N``); a fixed random subset, the same for every model.
        perplexity: t-SNE perplexity.
        seed: subset and t-SNE random state.
        cache_dir: disk cache folder (default ``<COURSE_CACHE>/tsne``).
        value_range: range of ``images`` (``None``: detect).

    Returns:
        A :class:`TsneExplorer`; nothing is embedded until it is displayed (or
        ``embedding()`` is called).
    """
    if not isinstance(codes_by_name, Mapping) or not codes_by_name:
        raise CourseInputError(
            "codes_by_name must be a non-empty dict like {'VAE epoch 10': codes}"
        )
    shown = display_images(images, "images", value_range)
    n = len(shown)
    digits = digit_labels(labels, n)
    codes: dict[str, torch.Tensor] = {}
    for name, value in codes_by_name.items():
        check_tensor(value, f"codes_by_name[{name!r}]", shape=(n, None))
        if value.shape[1] < 2:
            raise CourseInputError(
                f"codes_by_name[{name!r}] must have at least 2 dimensions, got "
                f"{value.shape[1]}"
            )
        codes[str(name)] = value.detach().cpu().float()
    dims = {v.shape[1] == 2 for v in codes.values()}
    if len(dims) > 1:
        raise CourseInputError(
            "mix of 2-D and higher-dimensional codes: make one explorer for each"
        )
    for name, source in (reconstruct or {}).items():
        if name not in codes:
            raise CourseInputError(
                f"reconstruct has {name!r}, which is not in codes_by_name "
                f"({list(codes)})"
            )
        if isinstance(source, torch.Tensor) and source.shape[0] != n:
            raise CourseInputError(
                f"reconstruct[{name!r}] must hold {n} images, got {source.shape[0]}"
            )
        if not isinstance(source, torch.Tensor) and not callable(source):
            raise CourseInputError(
                f"reconstruct[{name!r}] must be a tensor of images or a function"
            )
    if n_points is None:
        from course_lib.profiles import get_profile

        n_points = min(get_profile().tsne_points, n)
    n_points = _check_n_points(n_points, n)
    if not 1 <= perplexity < n_points and next(iter(codes.values())).shape[1] > 2:
        raise CourseInputError(
            f"perplexity must be in [1, n_points) = [1, {n_points}), got {perplexity}"
        )
    raw = torch.as_tensor(images).detach().cpu().float()
    raw = raw if raw.dim() == 4 else raw.reshape(n, 1, 28, 28)
    return TsneExplorer(
        codes,
        shown,
        raw,
        digits,
        reconstruct,
        n_points=n_points,
        perplexity=perplexity,
        seed=seed,
        cache_dir=cache_dir,
        value_range=value_range,
    )


__all__ = [
    "Explorer",
    "InterpolationExplorer",
    "LatentWalk",
    "TsneExplorer",
    "display_mode",
    "embed_codes",
    "interpolate",
    "interpolation_explorer",
    "latent_walk",
    "tsne_explorer",
]
