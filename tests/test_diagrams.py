"""The hand-drawn SVG diagrams of lessons 0 to 7 are legible in the book.

The book shows each diagram at the full width of the text column: 672 px in a
1280-px window (measured in headless Chromium on the built pages). A label drawn at
``s`` SVG units is therefore ``s * 672 / viewBox width`` pixels tall on screen, and
must be at least 12 px. The diagrams carry their own white background, so they stay
legible when the book is in dark mode.

Without Chromium, the layout checks (every label inside the drawing, no two labels
overlapping, measured with the browser's own text metrics) are skipped; the font-size
check needs only the SVG source.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from headless_chromium import Browser, find_chromium  # noqa: E402

DIAGRAMS = ROOT / "book" / "_static" / "diagrams"
FILES = (
    "lesson0_model_families.svg",
    "lesson1_autoencoder.svg",
    "lesson2_dae.svg",
    "lesson3_elbo_gap.svg",
    "lesson3_vae_graph.svg",
    "lesson4_gan_game.svg",
    "lesson5_dcgan_layers.svg",
    "lesson6_aae_phases.svg",
    "lesson7_model_map.svg",
)
COLUMN_PX = 672  # the text column's width at a 1280-px window
SMALLEST_PX = 12.0
SVG = "{http://www.w3.org/2000/svg}"


def view_box_width(root: ET.Element) -> float:
    return float(root.attrib["viewBox"].split()[2])


def text_sizes(root: ET.Element) -> list[tuple[str, float]]:
    """(text, font size in SVG units) of every <text>, font-size inherited from the
    enclosing groups as in CSS."""
    found: list[tuple[str, float]] = []

    def walk(node: ET.Element, size: float | None) -> None:
        size = float(node.attrib.get("font-size", size or 0)) or size
        if node.tag == f"{SVG}text":
            assert size, f"no font-size for {''.join(node.itertext())!r}"
            found.append(("".join(node.itertext()), size))
        for child in node:
            walk(child, size)

    walk(root, None)
    return found


@pytest.mark.parametrize("name", FILES)
def test_every_label_is_at_least_12_px_in_the_book(name: str) -> None:
    root = ET.parse(DIAGRAMS / name).getroot()
    scale = COLUMN_PX / view_box_width(root)
    sizes = text_sizes(root)
    assert sizes, "no labels found"
    small = [(text, round(size * scale, 1)) for text, size in sizes]
    small = [(text, px) for text, px in small if px < SMALLEST_PX]
    assert not small, f"labels under {SMALLEST_PX} px at {COLUMN_PX} px wide: {small}"


@pytest.mark.parametrize("name", FILES)
def test_the_diagram_has_its_own_light_background(name: str) -> None:
    root = ET.parse(DIAGRAMS / name).getroot()
    first = next(child for child in root if child.tag == f"{SVG}rect")
    assert first.attrib["fill"].lower() in ("#ffffff", "#fff", "white")
    assert float(first.attrib["width"]) == view_box_width(root)


def boxes_in_browser(path: Path) -> dict:
    """The drawing's size and each label's bounding box, in SVG units, from Chromium."""
    with Browser() as browser:
        browser.open(path)
        return json.loads(
            browser.evaluate(
                "const v = document.documentElement.viewBox.baseVal;"
                "JSON.stringify({box: {width: v.width, height: v.height},"
                " texts: Array.from(document.querySelectorAll('text')).map(t => {"
                " const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width,"
                " b.height]; })})"
            )
        )


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
@pytest.mark.parametrize("name", FILES)
def test_labels_stay_inside_and_do_not_overlap(name: str) -> None:
    measured = boxes_in_browser(DIAGRAMS / name)
    width, height = measured["box"]["width"], measured["box"]["height"]
    texts = measured["texts"]
    outside = [
        t[0]
        for t in texts
        if t[1] < 0 or t[2] < 0 or t[1] + t[3] > width or t[2] + t[4] > height
    ]
    assert not outside, f"labels outside the {width} x {height} drawing: {outside}"
    overlaps = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            # a label's box includes its font's ascent and descent: allow 2 units
            if (
                a[1] + 2 < b[1] + b[3]
                and b[1] + 2 < a[1] + a[3]
                and a[2] + 2 < b[2] + b[4]
                and b[2] + 2 < a[2] + a[4]
            ):
                overlaps.append((a[0], b[0]))
    assert not overlaps, f"overlapping labels: {overlaps}"
