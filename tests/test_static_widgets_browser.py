"""A static widget page in a real headless browser (Debian's ``chromium``), offline.

The page holds an interpolation slider, a scatter explorer (as the book shows them when built with
``COURSE_STATIC_WIDGETS=1``) and the training-progress player. A small script appended for the test
moves the sliders (sets the value and dispatches an ``input`` event, as a user's drag does), hovers a
point and switches the model, then writes what is visible into the DOM, which ``chromium --dump-dom``
prints. A screenshot of the page
after the slider moved is saved under ``build/test-artifacts/``.

Skipped, with a message, when Chromium is not installed (``apt-get install chromium``; ``.ci/run``
installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib import static_widgets as sw  # noqa: E402
from course_lib import widgets  # noqa: E402
from course_lib.animation import progress_animation  # noqa: E402
from course_lib.data import load_mnist, to_signed  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: the page must not need the network
]

PROBE = """
<pre id="probe-result"></pre>
<script>
function probe() {
  function visibleFrames() {
    var shown = [];
    document.querySelectorAll('.cw-slider img.cw-frame').forEach(function (img) {
      if (getComputedStyle(img).display !== 'none') shown.push(img.getAttribute('data-k') + ':' + img.src.slice(-24));
    });
    return shown;
  }
  function visibleLabel() {
    var text = '';
    document.querySelectorAll('.cw-slider span[data-k]').forEach(function (s) {
      if (getComputedStyle(s).display !== 'none') text += s.textContent;
    });
    return text;
  }
  var out = {before: visibleFrames(), labelBefore: visibleLabel()};
  var slider = document.querySelector('.cw-slider input[type=range]');
  slider.value = slider.max;
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  out.after = visibleFrames();
  out.labelAfter = visibleLabel();
  var thumb = document.querySelector('.cw-scatter [data-role=thumb]');
  out.thumbBefore = thumb.style.backgroundPosition + '|' + getComputedStyle(thumb).visibility;
  var point = document.querySelector('.cw-scatter circle[data-i="7"]');
  point.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  out.thumbAfter = thumb.style.backgroundPosition + '|' + getComputedStyle(thumb).visibility;
  out.caption = document.querySelector('.cw-scatter [data-role=caption]').textContent;
  var select = document.querySelector('.cw-scatter select');
  select.value = '1';
  select.dispatchEvent(new Event('change', {bubbles: true}));
  out.panels = Array.prototype.map.call(document.querySelectorAll('.cw-scatter svg'), function (svg) {
    return getComputedStyle(svg.parentNode).display;
  });
  var player = document.querySelector('img[id^=_anim_img]');
  var playerSlider = document.querySelector('input[id^=_anim_slider]');
  out.playerBefore = player.src.slice(-24);
  playerSlider.value = playerSlider.max;
  playerSlider.dispatchEvent(new Event('input', {bubbles: true}));
  out.playerAfter = player.src.slice(-24);
  document.getElementById('probe-result').textContent = JSON.stringify(out);
}
// matplotlib's player is set up in a setTimeout(0) after its script runs
window.addEventListener('load', function () { setTimeout(probe, 100); });
</script>
"""


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _page(tmp_path: Path) -> Path:
    w = torch.randn(784, 6, generator=torch.Generator().manual_seed(0)) / 28
    encode = lambda x: x.reshape(len(x), -1) @ w  # noqa: E731
    decode = lambda z: torch.tanh(z @ w.T * 20).reshape(-1, 1, 28, 28)  # noqa: E731
    g = torch.Generator().manual_seed(1)
    images, labels = load_mnist("test")
    x, labels = to_signed(images[:40]), labels[:40]
    player = progress_animation([x[:4] * k / 3 for k in range(4)], max_frames=4).html
    slider = widgets.interpolation_explorer(encode, decode, x[0], x[1], steps=5).static_html()
    codes = torch.randn(40, 2, generator=g)
    scatter = widgets.tsne_explorer(
        {"model A": codes, "model B": -codes}, x, labels, {"model A": x.flip(-1)}, n_points=40
    ).static_html()
    return sw.save_page(
        slider + scatter + player + PROBE, tmp_path / "static_widgets.html", title="static widgets"
    )


def _run(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def test_static_widgets_work_in_headless_chromium(tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); the browser check did not run")
    page = _page(tmp_path)
    html = page.read_text()
    assert re.search(r"https?://", html.replace("http://www.w3.org/2000/svg", "")) is None

    dumped = _run(chromium, tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', dumped.stdout, re.S)
    assert match and match.group(1), f"the probe did not run; chromium said: {dumped.stderr[-2000:]}"
    result = json.loads(match.group(1).replace("&amp;", "&").replace("&quot;", '"'))

    # slider: before, frame 2 (t = 0.5) of both animated panels; after, the last frame (4)
    assert [item.split(":")[0] for item in result["before"]] == ["2", "2"]
    assert [item.split(":")[0] for item in result["after"]] == ["4", "4"]
    assert result["before"] != result["after"]  # a different image is displayed
    assert result["labelBefore"] == "t = 0.50" and result["labelAfter"] == "t = 1.00"
    # scatter: hovering point 7 moves the thumbnail to tile 7 of the atlas (7 columns of 84 px) and shows it
    assert result["thumbBefore"].endswith("|hidden")
    assert result["thumbAfter"] == "0px -84px|visible"
    assert result["caption"] == "point 7: digit " + str(int(result["caption"].split()[-1]))
    assert result["panels"] == ["none", "block"]  # the select switched the panel
    # the progress player (matplotlib's JavaScript, no CDN) shows another frame after its slider moved
    assert result["playerBefore"] != result["playerAfter"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "static_widgets.png"
    shot.unlink(missing_ok=True)
    _run(
        chromium,
        tmp_path,
        "--virtual-time-budget=5000",
        "--window-size=900,1100",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.is_file() and shot.stat().st_size > 5000
