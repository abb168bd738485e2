"""Build the book (smoke profile) and read it as a reader would: every page, offline, in
headless Chromium.

Marked ``book`` (select with ``-m book``, leave out with ``-m "not book"``): building
executes every notebook, so it takes minutes, not seconds. The build goes to
``<COURSE_BOOK_OUTPUT>/_build/html`` (default: the repository's ``_build``, sharing its
per-profile jupyter-cache with ``bash tools/build_book.sh``); screenshots of every page
(its first 6000 pixels) and of every static widget after the test moved it go to
``<...>/_build/screenshots/``.

Checks: the build succeeds with ``-W -n`` (no warning); every page of ``_toc.yml`` was
built; every local link and asset resolves (and every ``#fragment`` exists); no page
loads a script, stylesheet or image from the network; lesson and exercise pages launch
their paired ``.ipynb`` in Colab and Binder. In Chromium, with DNS disabled: each page
loads without JavaScript errors or failed requests, every equation is typeset by MathJax
(``mjx-container``, no ``mjx-merror``) and fits the text column, every image loads,
lesson pages show figures (matplotlib output, not only widgets), no figure is printed as
``<Figure size ...>``, no cell output holds a Python traceback (except cells tagged
``raises-exception``), and every static widget responds (moving a slider or changing a
select changes what is shown). Without Chromium the browser test is skipped with a
message saying how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from headless_chromium import Browser, find_chromium  # noqa: E402

pytestmark = pytest.mark.book

OUTPUT_ROOT = Path(os.environ.get("COURSE_BOOK_OUTPUT", str(ROOT))).resolve()
HTML = OUTPUT_ROOT / "_build" / "html"
SCREENSHOTS = OUTPUT_ROOT / "_build" / "screenshots"
BUILD_TIMEOUT_S = int(os.environ.get("COURSE_BOOK_TIMEOUT", "3600"))
NOTEBOOK_FOLDERS = ("lessons", "exercises")
# index.html only redirects to the root page
SKIPPED_PAGES = {"genindex.html", "search.html", "index.html"}


# ---- the build
# ------------------------------------------------------------------------------------


def jupyter_book() -> str:
    beside = Path(sys.executable).with_name("jupyter-book")
    return (
        str(beside)
        if beside.is_file()
        else (shutil.which("jupyter-book") or "jupyter-book")
    )


@pytest.fixture(scope="module")
def build() -> subprocess.CompletedProcess:
    """Build the book once for this module (smoke profile unless COURSE_PROFILE says
    otherwise)."""
    env = dict(os.environ)
    env.setdefault("COURSE_PROFILE", "smoke")
    env.setdefault("COURSE_PROGRESS", "plain")
    env.setdefault("COURSE_STATIC_WIDGETS", "1")
    command = [jupyter_book(), "build", str(ROOT), "-W", "-n", "--keep-going"]
    if OUTPUT_ROOT != ROOT:
        command += ["--path-output", str(OUTPUT_ROOT)]
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    print(
        f"book build ({env['COURSE_PROFILE']} profile): "
        f"{time.monotonic() - started:.1f} s"
    )
    return result


def html_pages() -> list[Path]:
    """Every content page of the built book."""
    return sorted(
        p
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
        and p.relative_to(HTML).as_posix() not in SKIPPED_PAGES
    )


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_book_builds_without_warnings(build: subprocess.CompletedProcess) -> None:
    log = build.stdout + build.stderr
    # Sphinx's "file:line: WARNING: ..." and "ERROR: ..." lines (kernels' own
    # "[IPKernelApp] WARNING |" lines on stderr are not build warnings).
    warnings = [
        line
        for line in log.splitlines()
        if re.search(r"(^|: |\x1b\[\d+m)(WARNING|ERROR|CRITICAL): ", line)
    ]
    assert build.returncode == 0, (
        "jupyter-book build failed:\n" + "\n".join(warnings[:40]) + "\n" + log[-3000:]
    )
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings[:40])


def test_every_toc_page_is_built(build: subprocess.CompletedProcess) -> None:
    missing = [f for f in toc_files() if not (HTML / f"{f}.html").is_file()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"
    stale = [
        f
        for f in toc_files()
        if not any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb"))
    ]
    assert not stale, (
        f"_toc.yml lists pages that do not exist: {stale}; run python "
        "tools/sync_notebooks.py"
    )


# ---- links and assets, read from the HTML
# ---------------------------------------------------------


class PageParser(HTMLParser):
    """Collects the ids and the (tag, attribute, url) references of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.references: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.ids.add(values[key])
        for key in ("href", "src"):
            if values.get(key):
                self.references.append((tag, key, values[key]))


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def is_remote(url: str) -> bool:
    """True for a URL that needs the network (``data:``, ``mailto:`` and relative paths
    do not)."""
    return urlsplit(url).scheme in (
        "http",
        "https",
        "ftp",
        "ws",
        "wss",
    ) or url.startswith("//")


def all_pages() -> list[Path]:
    """Every HTML page Sphinx wrote (not the theme's template fragments under
    ``_static``)."""
    return sorted(
        p
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
    )


def test_local_links_and_assets_resolve(build: subprocess.CompletedProcess) -> None:
    pages = all_pages()
    assert pages, f"no HTML under {HTML}"
    parsed = {page: parse(page) for page in pages}
    broken = []
    for page, parser in parsed.items():
        for tag, _, url in parser.references:
            if (
                is_remote(url)
                or url in ("#", "")
                or url.startswith(("mailto:", "javascript:", "data:"))
            ):
                continue
            parts = urlsplit(url)
            target = (
                page
                if not parts.path
                else (page.parent / unquote(parts.path)).resolve()
            )
            if not target.exists():
                broken.append(
                    f"{page.relative_to(HTML)}: <{tag}> {url} -> missing {target}"
                )
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(
                        f"{page.relative_to(HTML)}: <{tag}> {url} -> no element with "
                        "that id"
                    )
    assert not broken, f"{len(broken)} broken local links:\n" + "\n".join(broken[:40])


def test_no_page_loads_anything_from_the_network(
    build: subprocess.CompletedProcess,
) -> None:
    remote = []
    for page in all_pages():
        for tag, key, url in parse(page).references:
            # scripts, images, frames, media and <link> (stylesheets, fonts, icons) are
            # loaded with the page; <a> links are navigation (the repository, Colab,
            # Binder) and may point anywhere.
            loaded = tag in (
                "script",
                "img",
                "iframe",
                "source",
                "video",
                "audio",
                "link",
                "embed",
            )
            if loaded and is_remote(url):
                remote.append(f"{page.relative_to(HTML)}: <{tag} {key}={url}>")
    assert not remote, "pages that need the network:\n" + "\n".join(remote[:40])


def launch_links(page: Path) -> dict[str, str]:
    """``{"colab": url, "binder": url}`` found in a page's launch buttons."""
    found = {}
    for _, _, url in parse(page).references:
        if url.startswith("https://colab.research.google.com/"):
            found["colab"] = url
        elif url.startswith("https://mybinder.org/"):
            found["binder"] = url
    return found


def test_launch_buttons_open_the_paired_notebooks(
    build: subprocess.CompletedProcess,
) -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    problems = []
    notebook_pages = [f for f in toc_files() if f.split("/")[0] in NOTEBOOK_FOLDERS]
    for name in notebook_pages:
        links = launch_links(HTML / f"{name}.html")
        colab = (
            f"https://colab.research.google.com/github/{repository}/blob/{branch}/"
            f"{name}.ipynb"
        )
        binder = (
            f"https://mybinder.org/v2/gh/{repository}/{branch}?urlpath=tree/"
            f"{name}.ipynb"
        )
        if links.get("colab") != colab:
            problems.append(
                f"{name}: Colab button is {links.get('colab')}, expected {colab}"
            )
        if links.get("binder") != binder:
            problems.append(
                f"{name}: Binder button is {links.get('binder')}, expected {binder}"
            )
        if not (ROOT / f"{name}.ipynb").is_file():
            problems.append(
                f"{name}.ipynb does not exist: run python tools/sync_notebooks.py"
            )
        if not (HTML / "_sources" / f"{name}.ipynb").is_file():
            problems.append(f"{name}: no downloadable .ipynb in _sources")
    for name in set(toc_files()) - set(notebook_pages):
        if launch_links(HTML / f"{name}.html"):
            problems.append(
                f"{name}: a prose page should have no launch button (it is not a "
                "notebook)"
            )
    assert not problems, "\n".join(problems)


# ---- every page in headless Chromium
# ----------------------------------------------------------------

INSPECT_PAGE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const inRaisesCell = el => el.closest('.tag_raises-exception') !== null;
  const maths = Array.from(document.querySelectorAll('.math'));
  const outputs = Array.from(document.querySelectorAll('.cell_output'));
  return {
    title: document.title,
    math: maths.length,
    typeset: maths.filter(m => m.querySelector('mjx-container')).length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    brokenImages: Array.from(document.images).filter(i => !(i.naturalWidth > 0))
        .map(i => i.src.slice(0, 120)),
    outputFigures: outputs.map(o => Array.from(o.querySelectorAll('img, svg'))
        .filter(e => !e.closest('.cw-widget')).length).reduce((a, b) => a + b, 0),
    unrenderedFigures: outputs
        .filter(o => /<Figure size \d+x\d+ with \d+ Axes>/.test(o.textContent)).length,
    figures: document.querySelectorAll(
        'figure img, figure svg, .cell_output img, .cell_output svg').length,
    tracebacks: outputs.filter(o => !inRaisesCell(o) && (o.querySelector('.traceback')
        || /Traceback \(most recent call last\)/.test(o.textContent)))
        .map(o => o.textContent.slice(0, 300)),
    widgets: document.querySelectorAll('.cw-widget').length,
    wideCode: Array.from(document.querySelectorAll(
        'div.cell_input pre, div.course-source pre')).filter(
        p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60)),
    wideMath: Array.from(document.querySelectorAll('div.math')).filter(d => {
        const m = d.querySelector('mjx-math');
        return m && m.getBoundingClientRect().width > d.clientWidth + 1;
      }).map(d => d.textContent.slice(0, 60)),
  };
})()
"""

EXERCISE_WIDGETS = r"""
(() => {
  const shown = (root, selector) => Array.from(root.querySelectorAll(selector))
      .map(e => (e.style.display === 'none' ? '0' : '1')).join('');
  const results = [];
  document.querySelectorAll('.cw-widget').forEach((w, n) => {
    const slider = w.querySelector('input[type=range]');
    const select = w.querySelector('select');
    if (slider) {
      const before = shown(w, '[data-k]');
      const last = Number(slider.value) === Number(slider.max);
      const next = last ? slider.min : slider.max;
      slider.value = next;
      slider.dispatchEvent(new Event('input', {bubbles: true}));
      const changed = before !== shown(w, '[data-k]');
      results.push({widget: n, kind: 'slider', changed: changed});
    }
    if (select && select.options.length > 1) {
      const before = shown(w, '[data-panel]');
      select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
      select.dispatchEvent(new Event('change', {bubbles: true}));
      const changed = before !== shown(w, '[data-panel]');
      results.push({widget: n, kind: 'select', changed: changed});
    }
    if (!slider && !select) { results.push({widget: n, kind: 'none', changed: false}); }
  });
  return results;
})()
"""


def screenshot_name(page: Path) -> str:
    return (
        re.sub(
            r"[^A-Za-z0-9_.-]", "_", page.relative_to(HTML).with_suffix("").as_posix()
        )
        + ".png"
    )


def test_every_page_in_headless_chromium(build: subprocess.CompletedProcess) -> None:
    if find_chromium() is None:
        pytest.skip(
            "Chromium is not installed: on Debian run `apt-get install -y chromium` "
            "(.ci/run does it), "
            "or set CHROMIUM=/path/to/chrome"
        )
    assert build.returncode == 0, (
        "the book did not build; see test_book_builds_without_warnings"
    )
    pages = html_pages()
    assert pages, f"no pages under {HTML}"
    problems: list[str] = []
    total_math = 0
    with Browser() as browser:
        for page in pages:
            name = page.relative_to(HTML).as_posix()
            load = browser.open(page)
            report = browser.evaluate(INSPECT_PAGE, timeout=60)
            browser.screenshot(SCREENSHOTS / screenshot_name(page))
            widgets = browser.evaluate(EXERCISE_WIDGETS)
            # each widget after it moved, for a reader to look at
            for k in range(report["widgets"]):
                browser.screenshot_element(
                    ".cw-widget",
                    k,
                    SCREENSHOTS
                    / screenshot_name(page).replace(".png", f"__widget{k}.png"),
                )
            late = browser.drain_events(0.2)
            total_math += report["math"]
            requests = load.remote_requests + late.remote_requests
            if requests:
                problems.append(f"{name}: asked the network for {requests[:5]}")
            if load.failed_requests or late.failed_requests:
                problems.append(
                    f"{name}: failed to load "
                    f"{(load.failed_requests + late.failed_requests)[:5]}"
                )
            if load.console_errors or late.console_errors:
                problems.append(
                    f"{name}: JavaScript errors "
                    f"{(load.console_errors + late.console_errors)[:5]}"
                )
            if not report["title"]:
                problems.append(f"{name}: empty title")
            if report["typeset"] != report["math"] or report["mathErrors"]:
                problems.append(
                    f"{name}: {report['typeset']} of {report['math']} equations "
                    f"typeset, {report['mathErrors']} MathJax errors"
                )
            if report["brokenImages"]:
                problems.append(
                    f"{name}: images that did not load {report['brokenImages'][:5]}"
                )
            if name.startswith("lessons/") and report["outputFigures"] == 0:
                problems.append(
                    f"{name}: a lesson page without a single figure in its outputs"
                )
            if report["unrenderedFigures"]:
                problems.append(
                    f"{name}: {report['unrenderedFigures']} outputs print '<Figure "
                    "size ...>' instead of "
                    "showing the figure (a non-inline MPLBACKEND in the kernel?)"
                )
            if report["wideMath"]:
                problems.append(
                    f"{name}: displayed equations wider than the text column (split "
                    f"them over lines with aligned): {report['wideMath'][:3]}"
                )
            if report["wideCode"]:
                problems.append(
                    f"{name}: code cells wider than the text column (keep code lines "
                    f"within 88 characters): {report['wideCode'][:3]}"
                )
            if report["tracebacks"]:
                problems.append(
                    f"{name}: Python traceback in an output: "
                    f"{report['tracebacks'][0]!r}"
                )
            dead = [w for w in widgets if not w["changed"]]
            if dead:
                problems.append(f"{name}: static widgets that did not respond {dead}")
    assert total_math > 0, (
        "no page has an equation, so MathJax was never checked (book/intro.md has some)"
    )
    assert not problems, (
        f"{len(problems)} problems (screenshots in {SCREENSHOTS}):\n"
        + "\n".join(problems)
    )
