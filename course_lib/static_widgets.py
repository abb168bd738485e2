"""Kernel-free widgets: self-contained HTML that works in the built book, offline, with
no Python.

ipywidgets need a live kernel for every callback, so in static HTML their sliders move
and nothing happens. The explorers of :mod:`course_lib.widgets` therefore also render
*precomputed* versions:

* a **frame slider** (:func:`slider_html`): every frame is embedded as a base64 PNG (or
  inline SVG) element carrying a ``data-k="<frame index>"`` attribute; an
  ``<input type=range>`` shows the elements of the chosen frame and hides the others;
* a **scatter explorer** (:func:`scatter_explorer_html`): an inline-SVG scatter per
  model, a ``<select>`` to switch among them, and a thumbnail of each point's image (and
  reconstruction) shown on hover or click, cut from one embedded PNG "atlas" of all
  images with CSS ``background-position``.

All behaviour is in inline event attributes (``oninput``, ``onchange``,
``onmouseover``), not in ``<script>`` tags: inline handlers also run where HTML is
inserted with ``innerHTML`` (an ipywidgets ``HTML`` widget, many notebook front ends),
where ``<script>`` tags are silently dropped. No require.js, no CDN, no widget manager,
no network.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import to_hex
from PIL import Image

from course_lib.errors import CourseInputError

_ids = itertools.count(1)

FONT = (
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:14px;"
)
PIXELATED = "image-rendering:pixelated;image-rendering:crisp-edges;"


def new_id(prefix: str = "cw") -> str:
    """A page-unique element id (so several widgets can share one page)."""
    return f"{prefix}-{next(_ids)}-{np.random.default_rng().integers(1 << 30):x}"


def png_bytes(image: np.ndarray) -> bytes:
    """PNG encoding of an ``(H, W)`` grey or ``(H, W, 3)`` colour image with values in
    ``[0, 1]``."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise CourseInputError(
            f"image must have shape (H, W) or (H, W, 3), got {array.shape}"
        )
    data = np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(data).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_data_uri(image: np.ndarray) -> str:
    """``data:`` URI of an ``(H, W)`` or ``(H, W, 3)`` image in ``[0, 1]``."""
    return data_uri(png_bytes(image))


def save_page(body: str, path: str | Path, *, title: str = "course_lib widget") -> Path:
    """Write ``body`` into a minimal standalone HTML5 page (UTF-8) at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body "
        f"style='margin:16px'>\n{body}\n</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path


def _head_foot(title: str | None, note: str | None) -> tuple[str, str]:
    """A bold title line above a widget and a small grey note under it (empty strings
    when not given)."""
    head = (
        f'<div style="font-weight:600;margin-bottom:6px">{html.escape(title)}</div>'
        if title
        else ""
    )
    foot = (
        "<div "
        f'style="font-size:12px;color:#666;margin-top:4px">{html.escape(note)}</div>'
        if note
        else ""
    )
    return head, foot


def _attr(js: str) -> str:
    """A JavaScript snippet escaped for a double-quoted HTML attribute."""
    return html.escape(" ".join(js.split()), quote=True)


# --------------------------------------------------------------------------------------
# Frame slider
# --------------------------------------------------------------------------------------

SLIDER_JS = """
var c = this.closest('.cw-widget'), v = String(this.value);
c.querySelectorAll('[data-k]').forEach(function (e) {
  e.style.display = e.getAttribute('data-k') === v ? '' : 'none';
});
"""


PLAY_JS = """
var c = this.closest('.cw-widget'), r = c.querySelector('input[type=range]'), b = this;
if (c.cwTimer) { clearInterval(c.cwTimer); c.cwTimer = null; \
b.textContent = '\u25b6 play'; return; }
b.textContent = '\u275a\u275a pause';
c.cwTimer = setInterval(function () {
  r.value = (+r.value + 1) % (+r.max + 1); r.dispatchEvent(new Event('input'));
}, MS);
"""


def frame_attrs(k: int, initial: int, style: str = "") -> str:
    """``data-k`` and ``style`` attributes of an element that belongs to frame ``k``
    (hidden unless ``initial``)."""
    shown = style if k == initial else style + "display:none"
    return f' data-k="{k}"' + (f' style="{shown}"' if shown else "")


def image_panel(
    caption: str, uris: Sequence[str], *, width: int = 112, initial: int = 0
) -> str:
    """A captioned image cell: one ``<img>`` (always shown) or one per frame (``data-k``
    toggled by the slider).

    Args:
        caption: text above the image (HTML-escaped here).
        uris: one ``data:`` URI (a fixed image) or one per frame.
        width: display width in CSS pixels (small images are enlarged without
            smoothing).
        initial: the frame shown before the slider moves.
    """
    style = (
        f"width:{width}px;height:auto;{PIXELATED}background:#000;vertical-align:top;"
    )
    alt = html.escape(caption)
    if len(uris) == 1:
        images = f'<img src="{uris[0]}" alt="{alt}" style="{style}">'
    else:
        images = "".join(
            f'<img src="{uri}" alt="{alt} (frame {k})" '
            f'class="cw-frame"{frame_attrs(k, initial, style)}>'
            for k, uri in enumerate(uris)
        )
    return (
        f'<figure style="margin:0 10px 0 0;text-align:center">'
        "<figcaption "
        f'style="font-size:12px;color:#333;margin-bottom:2px">{alt}</figcaption>'
        f"{images}</figure>"
    )


def slider_html(
    body: str,
    labels: Sequence[str],
    *,
    title: str | None = None,
    initial: int = 0,
    slider_name: str = "t",
    note: str | None = None,
    play_ms: int | None = None,
) -> str:
    """A frame slider around ``body``, whose elements with ``data-k="k"`` belong to
    frame ``k``.

    Args:
        body: markup (e.g. several :func:`image_panel` cells) whose per-frame elements
            carry ``data-k``.
        labels: one label per frame, shown next to the slider (e.g. ``"t = 0.25"``).
        title: bold line above the widget.
        initial: frame shown first.
        slider_name: accessible name of the slider.
        note: small grey text under the widget.
        play_ms: add a play/pause button that advances one frame every ``play_ms``
            milliseconds (looping); ``None``: no button.

    Returns:
        A ``<div class="cw-widget">`` with ``body``, an ``<input type="range">`` from 0
        to ``len(labels) - 1`` and the frame labels; moving the slider needs no kernel
        and no network.
    """
    if len(labels) < 1:
        raise CourseInputError("a slider needs at least one frame label")
    if not 0 <= initial < len(labels):
        raise CourseInputError(
            f"initial must be a frame index in 0..{len(labels) - 1}, got {initial}"
        )
    widget_id = new_id()
    label_spans = "".join(
        f"<span{frame_attrs(k, initial)}>{html.escape(text)}</span>"
        for k, text in enumerate(labels)
    )
    head, foot = _head_foot(title, note)
    play = ""
    if play_ms is not None:
        if play_ms < 1:
            raise CourseInputError(
                f"play_ms must be a positive number of milliseconds, got {play_ms}"
            )
        play = (
            '<button type="button" '
            f'onclick="{_attr(PLAY_JS.replace("MS", str(int(play_ms))))}">'
            "&#9654; play</button>"
        )
    return (
        f'<div class="cw-widget cw-slider" id="{widget_id}" style="{FONT}margin:8px '
        f'0">{head}'
        f'<div style="display:flex;flex-wrap:wrap;align-items:flex-end">{body}</div>'
        f'<div style="margin-top:6px;display:flex;align-items:center;gap:10px">{play}'
        f'<input type="range" min="0" max="{len(labels) - 1}" step="1" '
        f'value="{initial}" '
        f'aria-label="{html.escape(slider_name)}" style="width:260px" '
        f'oninput="{_attr(SLIDER_JS)}">'
        "<span "
        f'style="font-variant-numeric:tabular-nums">{label_spans}</span></div>'
        f"{foot}</div>"
    )


# --------------------------------------------------------------------------------------
# Scatter explorer
# --------------------------------------------------------------------------------------

SELECT_JS = """
var c = this.closest('.cw-widget'), v = this.value;
c.querySelectorAll('[data-panel]').forEach(function (p) {
  p.style.display = p.getAttribute('data-panel') === v ? '' : 'none';
});
"""

HOVER_JS = """
var t = event.target, i = t.getAttribute('data-i');
if (i === null) return;
i = +i;
var c = this.closest('.cw-widget'), n = +c.getAttribute('data-cols'), \
s = +c.getAttribute('data-cell');
var pos = (-(i % n) * s) + 'px ' + (-Math.floor(i / n) * s) + 'px';
c.querySelectorAll('[data-role=thumb]').forEach(function (d) {
  d.style.backgroundPosition = pos; d.style.visibility = 'visible';
});
var m = this.querySelector('[data-role=marker]');
m.setAttribute('cx', t.getAttribute('cx')); m.setAttribute('cy', t.getAttribute('cy'));
m.style.display = '';
c.querySelector('[data-role=caption]').textContent =
  'point ' + i + ': digit ' + t.getAttribute('data-d');
"""

SVG_SIZE = 360


def atlas(images: np.ndarray, levels: int = 16) -> tuple[str, int]:
    """All ``(n, H, W)`` images in ``[0, 1]`` tiled without gaps into one PNG ``data:``
    URI.

    Thumbnails are quantised to ``levels`` grey levels: invisible at thumbnail size, and
    it halves the PNG of 2 000 MNIST images (measured 430 KB -> 262 KB of base64) since
    near-black noise in the background of reconstructions becomes exactly black.

    Returns:
        ``(uri, cols)``: image ``i`` is at row ``i // cols``, column ``i % cols``.
    """
    n, h, w = images.shape[:3]
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    canvas = np.zeros((rows * h, cols * w) + images.shape[3:])
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = images[i]
    if levels >= 2:
        canvas = np.round(canvas * (levels - 1)) / (levels - 1)
    return png_data_uri(canvas), cols


def _thumb(uri: str, cols: int, cell: int, caption: str) -> str:
    return (
        f'<figure style="margin:0 0 6px 0;text-align:center">'
        "<figcaption "
        f'style="font-size:12px;color:#333">{html.escape(caption)}</figcaption>'
        '<div data-role="thumb" '
        f'style="width:{cell}px;height:{cell}px;background-color:#000;'
        f"background-image:url({uri});background-size:{cols * cell}px "
        "auto;background-repeat:no-repeat;"
        f'{PIXELATED}visibility:hidden;border:1px solid #999"></div></figure>'
    )


def scatter_svg(points: np.ndarray, labels: np.ndarray, *, size: int = SVG_SIZE) -> str:
    """An inline-SVG scatter of ``(n, 2)`` points coloured by digit; circle ``i``
    carries ``data-i``/``data-d``.

    The hover handler of :func:`scatter_explorer_html` is attached to the ``<svg>``
    element.
    """
    margin = 10.0
    low, high = points.min(axis=0), points.max(axis=0)
    span = float(max((high - low).max(), 1e-12))
    scaled = margin + (points - low) / span * (size - 2 * margin)
    scaled[:, 1] = size - scaled[:, 1]  # SVG's y axis points down
    # centre the shorter side
    scaled += (
        ((size - 2 * margin) - (high - low) / span * (size - 2 * margin))
        / 2
        * np.array([1, -1])
    )
    radius = float(np.clip(70 / np.sqrt(len(points)), 1.6, 5.0))
    colours = [to_hex(f"C{k}") for k in range(10)]
    circles = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" '
        f'fill="{colours[d % 10]}" data-i="{i}" data-d="{d}"/>'
        for i, ((x, y), d) in enumerate(zip(scaled, labels.tolist()))
    )
    marker = (
        '<circle data-role="marker" r="7" fill="none" stroke="#000" stroke-width="2" '
        'style="display:none"/>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" '
        f'style="background:#fff;border:1px solid #ddd;cursor:crosshair" '
        f'onmouseover="{_attr(HOVER_JS)}" onclick="{_attr(HOVER_JS)}">'
        f'<g fill-opacity="0.8">{circles}</g>{marker}</svg>'
    )


def digit_legend() -> str:
    """A one-line HTML legend of the ten digit colours."""
    items = "".join(
        '<span style="margin-right:8px"><span '
        'style="display:inline-block;width:10px;height:10px;'
        f'border-radius:5px;background:{to_hex(f"C{k}")};margin-right:3px"></span>'
        f"{k}</span>"
        for k in range(10)
    )
    return f'<div style="font-size:12px;margin-top:4px">digit: {items}</div>'


def scatter_explorer_html(
    panels: Mapping[str, np.ndarray],
    labels: np.ndarray,
    images: np.ndarray,
    reconstructions: Mapping[str, np.ndarray] | None = None,
    *,
    title: str | None = None,
    note: str | None = None,
    cell: int = 84,
) -> str:
    """A kernel-free scatter explorer: a ``<select>`` over panels, hover/click shows the
    point's image.

    Args:
        panels: panel name (e.g. model or epoch) -> ``(n, 2)`` points; the same ``n``
            points in every panel.
        labels: ``(n,)`` digit of each point (colour).
        images: ``(n, H, W)`` images in ``[0, 1]``, point ``i`` shows ``images[i]``.
        reconstructions: optional panel name -> ``(n, H, W)`` reconstructions in
            ``[0, 1]``.
        title: bold line above the widget.
        note: small grey text under the widget.
        cell: thumbnail size in CSS pixels.

    Returns:
        A ``<div class="cw-widget">``; everything (images included) is embedded.
    """
    if not panels:
        raise CourseInputError(
            "the scatter explorer needs at least one panel of points"
        )
    n = len(labels)
    image_uri, cols = atlas(images)
    options = "".join(
        f'<option value="{k}">{html.escape(name)}</option>'
        for k, name in enumerate(panels)
    )
    select = (
        '<label style="margin-right:8px">model <select '
        f'onchange="{_attr(SELECT_JS)}">{options}</select></label>'
        if len(panels) > 1
        else f"<span>{html.escape(next(iter(panels)))}</span>"
    )
    scatters, recons = [], []
    for k, (name, points) in enumerate(panels.items()):
        if points.shape != (n, 2):
            raise CourseInputError(
                f"panel {name!r} must have shape ({n}, 2), got {points.shape}"
            )
        hidden = "" if k == 0 else ' style="display:none"'
        scatters.append(
            f'<div data-panel="{k}"{hidden}>{scatter_svg(points, labels)}</div>'
        )
        if reconstructions is not None and name in reconstructions:
            recon_uri, _ = atlas(reconstructions[name])
            recons.append(
                "<div "
                f'data-panel="{k}"{hidden}>'
                f"{_thumb(recon_uri, cols, cell, 'reconstruction')}</div>"
            )
    side = (
        "<div "
        f'style="width:{cell + 16}px">{_thumb(image_uri, cols, cell, "image")}'
        f"{''.join(recons)}"
        f'<div data-role="caption" style="font-size:12px;color:#333;min-height:2.6em">'
        f"hover over or click a point</div></div>"
    )
    blocks = [f"<div>{''.join(scatters)}{digit_legend()}</div>"]
    head, foot = _head_foot(title, note)
    return (
        f'<div class="cw-widget cw-scatter" id="{new_id()}" data-cols="{cols}" '
        f'data-cell="{cell}" '
        f'style="{FONT}margin:8px 0">{head}<div '
        f'style="margin-bottom:6px">{select}</div>'
        "<div "
        'style="display:flex;gap:12px;align-items:flex-start"><div>'
        f"{''.join(blocks)}</div>{side}</div>{foot}</div>"
    )
