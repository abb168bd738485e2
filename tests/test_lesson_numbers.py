"""Per-lesson numbering of equations and figures (book/_ext/lesson_numbers.py).

A small Sphinx project with the book's numbering settings (numfig, math_numfig, the
book's eqref format) is built with and without the extension: without it Sphinx counts
equations across the book (lesson 3's first equation is (3) here); with it lesson 3's
equations read (3.1), (3.2), references to them say "Eq. 3.2" (also from another page),
a figure on lesson 3 is "Figure 3.1", and a page that is not a lesson counts from 1.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from lesson_numbers import lesson_number, per_page_numbers  # noqa: E402

PAGES = {
    "index.md": "# Book\n\n```{toctree}\nlessons/lesson0_intro\nlessons/lesson3_vae\n"
    "other\n```\n",
    "lessons/lesson0_intro.md": "# Lesson 0\n\n$$\na = 1\n$$ (eq-zero)\n\n"
    "$$\nb = 2\n$$ (eq-zero-b)\n",
    "lessons/lesson3_vae.md": "# Lesson 3\n\n$$\nc = 3\n$$ (eq-elbo)\n\n"
    "$$\nd = 4\n$$ (eq-kl)\n\nSee {eq}`eq-kl`.\n\n"
    "```{figure} pic.png\n:name: fig-vae\n\nThe VAE.\n```\n\n"
    "As {numref}`fig-vae` shows.\n",
    "other.md": "# Other\n\n$$\ne = 5\n$$ (eq-other)\n\nLesson 3 has {eq}`eq-kl`.\n",
}


def build(tmp_path: Path, *, extension: bool) -> dict[str, str]:
    """Build the small project to HTML; the HTML text of each page by docname."""
    source = tmp_path / "src"
    for name, text in PAGES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    (source / "lessons" / "pic.png").write_bytes(b"")
    extensions = ["myst_parser"] + (["lesson_numbers"] if extension else [])
    (source / "conf.py").write_text(
        f"extensions = {extensions!r}\n"
        "myst_enable_extensions = ['amsmath', 'dollarmath']\n"
        "numfig = True\nmath_numfig = True\n"
        "math_eqref_format = 'Eq. {number}'\n"
        "numfig_format = {'figure': 'Figure %s'}\n"
    )
    out = tmp_path / "html"
    app = Sphinx(
        str(source),
        str(source),
        str(out),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=None,
        freshenv=True,
    )
    app.build()
    return {
        name[: -len(".md")]: (out / name.replace(".md", ".html")).read_text()
        for name in PAGES
    }


def equation_numbers(html: str) -> list[str]:
    return re.findall(r'class="eqno">\(([0-9.]+)\)', html)


def test_without_the_extension_sphinx_counts_across_the_book(tmp_path: Path) -> None:
    pages = build(tmp_path, extension=False)
    assert equation_numbers(pages["lessons/lesson3_vae"]) == ["3", "4"]


def test_lesson_pages_number_per_lesson_and_references_follow(tmp_path: Path) -> None:
    pages = build(tmp_path, extension=True)
    assert equation_numbers(pages["lessons/lesson0_intro"]) == ["0.1", "0.2"]
    lesson3 = pages["lessons/lesson3_vae"]
    assert equation_numbers(lesson3) == ["3.1", "3.2"]
    assert "Eq. 3.2" in lesson3
    assert "Figure 3.1" in lesson3
    other = pages["other"]
    assert equation_numbers(other) == ["1"]
    assert "Eq. 3.2" in other


@pytest.mark.parametrize(
    ("docname", "expected"),
    [
        ("lessons/lesson0_generative_models", 0),
        ("lessons/lesson12_more", 12),
        ("exercises/lesson3_exercises", None),
        ("book/intro", None),
    ],
)
def test_lesson_number(docname: str, expected: int | None) -> None:
    assert lesson_number(docname) == expected


def test_per_page_numbers_keep_page_order_and_count_each_type() -> None:
    numbers = {
        "displaymath": {"eq-a": (7,), "eq-b": (9,)},
        "figure": {"fig-a": (4,)},
    }
    assert per_page_numbers("lessons/lesson2_dae", numbers) == {
        "displaymath": {"eq-a": (2, 1), "eq-b": (2, 2)},
        "figure": {"fig-a": (2, 1)},
    }
    assert per_page_numbers("book/intro", numbers) == {
        "displaymath": {"eq-a": (1,), "eq-b": (2,)},
        "figure": {"fig-a": (1,)},
    }
