"""show_source: the code a page shows is the code the package runs, highlighted for
every front end."""

from __future__ import annotations

import ast
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest
from IPython.core.formatters import DisplayFormatter

from course_lib import vae
from course_lib.errors import CourseInputError
from course_lib.page.source import Source, show_source

MODULE = textwrap.dedent('''\
    """A module written by the test."""


    def double(x: int) -> int:
        """Twice x."""
        return 2 * x


    class Base:
        """A base class."""

        def shared(self) -> str:
            """Inherited."""
            return "base"

        def hidden(self) -> str:
            return "not selected"


    class Child(Base):
        """A child class."""

        def own(self) -> str:
            """Defined here."""
            return "child"
    ''')


@pytest.fixture()
def module(tmp_path: Path):
    path = tmp_path / "written_by_test.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("written_by_test", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules["written_by_test"] = loaded
    spec.loader.exec_module(loaded)
    yield loaded
    del sys.modules["written_by_test"]


def test_a_function_is_shown_exactly_as_written_with_its_line(module) -> None:
    source = show_source(module.double)
    lines = MODULE.splitlines()
    start = lines.index("def double(x: int) -> int:")
    assert source.code == "\n".join(lines[start : start + 3])
    assert source.first_line == start + 1
    assert source.title == "written_by_test.double"
    assert "written_by_test.py, line 4" in source.caption()


def test_html_is_highlighted_with_inline_colours_and_escaped(module) -> None:
    page = show_source(module.double)._repr_html_()
    # pygments with inline styles: no style sheet needed
    assert "<pre" in page and 'style="color:' in page
    assert "-&gt;" in page  # the '->' of the annotation is escaped
    # the plain text carries no markup
    assert "<" not in str(show_source(module.double))


def test_every_front_end_gets_html_markdown_and_plain_text(module) -> None:
    bundle, _ = DisplayFormatter().format(show_source(module.double))
    assert set(bundle) >= {"text/html", "text/markdown", "text/plain"}
    assert "```python\ndef double" in bundle["text/markdown"]
    assert bundle["text/plain"].splitlines()[1] == "def double(x: int) -> int:"


def test_selected_methods_only_grouped_under_the_class_that_defines_them(
    module,
) -> None:
    code = show_source(module.Child, methods=["shared", "own"]).code
    assert "hidden" not in code and "A child class" not in code
    order = [
        code.index(part)
        for part in ("class Base:", "def shared", "class Child(Base):", "def own")
    ]
    assert order == sorted(order)
    ast.parse(code)  # the excerpt is valid Python


def test_docstrings_can_be_left_out(module) -> None:
    code = show_source(module.Child, methods=["shared", "own"], docstring=False).code
    assert (
        "Inherited" not in code
        and "Defined here" not in code
        and 'return "child"' in code
    )
    ast.parse(code)
    assert '"""' not in show_source(module.double, docstring=False).code


def test_library_methods_and_classes(module) -> None:
    encode = show_source(vae.MLPVAE.encode)
    assert (
        encode.code.startswith("def encode(self, x")
        and encode.path == "course_lib/vae.py"
    )
    whole = show_source(vae.MLPVAE)
    assert whole.code.startswith("class MLPVAE(") and isinstance(whole, Source)
    ast.parse(whole.code)


def test_bad_requests_name_the_problem_and_the_fix(module) -> None:
    with pytest.raises(CourseInputError, match="no Python source"):
        show_source(len)
    with pytest.raises(CourseInputError, match="not a class"):
        show_source(module.double, methods=["x"])
    with pytest.raises(CourseInputError, match="no method 'decode'.*own, shared"):
        show_source(module.Child, methods=["decode"])


def test_a_slice_of_lines_keeps_its_own_line_number(module) -> None:
    source = show_source(module.Base, lines=("def shared", 'return "base"'))
    lines = MODULE.splitlines()
    start = lines.index("    def shared(self) -> str:")
    # dedented, from the line containing the first text to the next with the last
    assert source.code == textwrap.dedent("\n".join(lines[start : start + 3]))
    assert source.first_line == start + 1
    assert source.title == "part of written_by_test.Base"
    with pytest.raises(CourseInputError, match="no line .* contains 'absent'"):
        show_source(module.Base, lines=("absent", "x"))
    with pytest.raises(CourseInputError, match="after 'def own'"):
        show_source(module.Child, lines=("def own", "hidden"))
    with pytest.raises(CourseInputError, match="not both"):
        show_source(module.Child, methods=["own"], lines=("a", "b"))
