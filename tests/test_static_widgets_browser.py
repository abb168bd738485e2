"""The static widgets in a real headless browser (Debian's ``chromium``), offline.

One page holds an interpolation slider and a scatter explorer (as the book shows them
when built with ``COURSE_STATIC_WIDGETS=1``) and the training-progress player. Chromium
is driven over the DevTools protocol by ``tools/headless_chromium.py`` (no extra
package), with DNS disabled: the test clicks the sliders and moves the mouse over a
point with real input events, as a reader does, and checks that the displayed image
changes, that no request leaves the machine and that no script fails. A screenshot is
saved under ``build/test-artifacts/``.

Skipped, with a message, when Chromium is not installed
(``apt-get install -y chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from course_lib import static_widgets as sw
from course_lib import widgets
from course_lib.animation import progress_animation
from course_lib.data import load_mnist, to_signed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from headless_chromium import Browser, find_chromium  # noqa: E402

ARTIFACTS = ROOT / "build" / "test-artifacts"

VISIBLE_FRAMES = """
Array.from(document.querySelectorAll('.cw-slider')[WHICH]
  .querySelectorAll('img.cw-frame'))
  .filter(e => getComputedStyle(e).display !== 'none')
  .map(e => e.getAttribute('data-k') + ':' + e.src.slice(-32))
"""
VISIBLE_LABEL = """
Array.from(document.querySelectorAll('.cw-slider')[WHICH]
  .querySelectorAll('span[data-k]'))
  .filter(e => getComputedStyle(e).display !== 'none').map(e => e.textContent).join('')
"""
INTERPOLATION, PLAYER = "0", "1"  # the page's two frame sliders, in page order
THUMB = """
(() => { const t = document.querySelector('.cw-scatter [data-role=thumb]');
         return t.style.backgroundPosition + '|' + getComputedStyle(t).visibility; })()
"""


def _page(tmp_path: Path) -> Path:
    w = torch.randn(784, 6, generator=torch.Generator().manual_seed(0)) / 28
    encode = lambda x: x.reshape(len(x), -1) @ w  # noqa: E731
    decode = lambda z: torch.tanh(z @ w.T * 20).reshape(-1, 1, 28, 28)  # noqa: E731
    images, labels = load_mnist("test")
    x, labels = to_signed(images[:40]), labels[:40]
    slider = widgets.interpolation_explorer(
        encode, decode, x[0], x[1], steps=5
    ).static_html()
    codes = torch.randn(40, 2, generator=torch.Generator().manual_seed(1))
    scatter = widgets.tsne_explorer(
        {"model A": codes, "model B": -codes},
        x,
        labels,
        {"model A": x.flip(-1)},
        n_points=40,
    ).static_html()
    player = progress_animation([x[:4] * k / 3 for k in range(4)], max_frames=4).html
    return sw.save_page(
        slider + scatter + player,
        tmp_path / "static_widgets.html",
        title="static widgets",
    )


def _centre(
    browser: Browser, selector: str, fraction: float = 0.5
) -> tuple[float, float]:
    """Viewport coordinates of a point ``fraction`` of the way across the element's
    width, mid-height."""
    box = browser.evaluate(
        f"(() => {{ const r = "
        f"document.querySelector({selector!r}).getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; })()"
    )
    return box[0] + fraction * box[2], box[1] + box[3] / 2


def _click(browser: Browser, x: float, y: float) -> None:
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
        )


def test_static_widgets_work_in_headless_chromium(tmp_path):
    if find_chromium() is None:
        pytest.skip(
            "Chromium is not installed (apt-get install -y chromium); the browser "
            "check did not run"
        )
    page = _page(tmp_path)
    with Browser(width=900, height=1100) as browser:
        load = browser.open(page)
        assert load.remote_requests == [] and load.failed_requests == []

        # the interpolation slider: a click at its right end shows the last frame (t =
        # 1) instead of t = 0.5
        frames, label = (
            VISIBLE_FRAMES.replace("WHICH", INTERPOLATION),
            VISIBLE_LABEL.replace("WHICH", INTERPOLATION),
        )
        before = browser.evaluate(frames)
        assert [item.split(":")[0] for item in before] == ["2", "2"]
        assert browser.evaluate(label).startswith("t = 0.50, |z_t| = ")
        _click(browser, *_centre(browser, ".cw-slider input[type=range]", 0.995))
        after = browser.evaluate(frames)
        assert [item.split(":")[0] for item in after] == ["4", "4"]
        assert after != before  # another image is displayed
        assert browser.evaluate(label).startswith("t = 1.00, |z_t| = ")

        # the scatter: moving the mouse onto a point shows its thumbnail: tile i of the
        # 7-column atlas
        assert browser.evaluate(THUMB).endswith("|hidden")
        x, y = _centre(browser, '.cw-scatter circle[data-i="7"]')
        hit = browser.evaluate(
            f"document.elementFromPoint({x}, {y}).getAttribute('data-i')"
        )  # the topmost point
        browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        i = int(hit)
        assert (
            browser.evaluate(THUMB) == f"{-(i % 7) * 84}px {-(i // 7) * 84}px|visible"
        )
        digit = browser.evaluate(
            "document.querySelector('.cw-scatter "
            f"circle[data-i=\"{i}\"]').getAttribute('data-d')"
        )
        caption = browser.evaluate(
            "document.querySelector('.cw-scatter [data-role=caption]').textContent"
        )
        assert caption == f"point {i}: digit {digit}"
        # the model selector switches the panel
        browser.evaluate(
            "(() => { const s = document.querySelector('.cw-scatter select'); "
            "s.value = '1'; s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )
        panels = browser.evaluate(
            "Array.from(document.querySelectorAll('.cw-scatter svg')).map(s => "
            "getComputedStyle(s.parentNode).display)"
        )
        assert panels == ["none", "block"]

        # the progress player: its play button advances the frames (600 ms each), a
        # second click pauses
        frames, label = (
            VISIBLE_FRAMES.replace("WHICH", PLAYER),
            VISIBLE_LABEL.replace("WHICH", PLAYER),
        )
        assert [item.split(":")[0] for item in browser.evaluate(frames)] == ["0"]
        assert browser.evaluate(label) == "epoch 1"
        play = "document.querySelectorAll('.cw-slider')[1].querySelector('button')"
        browser.evaluate(f"{play}.click()")
        browser.evaluate("new Promise(r => setTimeout(r, 1500))")
        browser.evaluate(f"{play}.click()")
        shown = browser.evaluate(frames)
        # moved on, one frame at a time
        assert len(shown) == 1 and shown[0].split(":")[0] in {"1", "2", "3"}
        assert browser.evaluate(label) == f"epoch {int(shown[0].split(':')[0]) + 1}"
        assert browser.evaluate(f"{play}.textContent").endswith("play")  # paused
        browser.evaluate("new Promise(r => setTimeout(r, 800))")
        assert browser.evaluate(frames) == shown  # stays paused

        late = browser.drain_events(0.3)
        assert (
            late.remote_requests == []
            and late.console_errors == []
            and load.console_errors == []
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = browser.screenshot(ARTIFACTS / "static_widgets.png")
    assert shot.stat().st_size > 5000
