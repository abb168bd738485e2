"""Show the library's own code on a lesson page, highlighted, from the one source.

In a lesson::

    from course_lib.page.source import show_source
    show_source(vae.MLPVAE, methods=["encode", "reparameterise", "decode"])
    show_source(objectives.kl_standard_normal)
    show_source(gan.adversarial_step, docstring=False)
    show_source(aae.fit_aae, lines=("x = batch[0]", "opt_g.step()"))  # a slice

The cell's output is a :class:`Source`: Jupyter, Colab and the built book (myst-nb
stores the ``text/html`` output) show it as a highlighted code block with inline
colours, so no style sheet is needed; a terminal shows the plain text. The code shown is
read from the installed package with :func:`inspect.getsource`, so the page can never
drift from what the lesson runs.
"""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from course_lib.errors import CourseInputError

STYLE = "friendly"
"""The Pygments colour scheme (light background, readable in the book and in Colab)."""


@dataclass(frozen=True)
class Source:
    """A piece of source code and where it comes from; displays itself highlighted.

    Attributes:
        code: the Python source, dedented.
        title: e.g. ``"course_lib.vae._VAE.encode"``.
        path: the file, relative to the package's parent (e.g. ``"course_lib/vae.py"``),
            or ``""``.
        first_line: line number of the first line of ``code`` in ``path`` (0 when
            unknown).
    """

    code: str
    title: str
    path: str = ""
    first_line: int = 0

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:  # what a terminal shows for the cell's value
        return f"# {self.caption()}\n{self.code}"

    def caption(self) -> str:
        """``"course_lib.vae._VAE.encode (course_lib/vae.py, line 51)"``, or the title
        alone."""
        if not self.path:
            return self.title
        where = f"{self.path}, line {self.first_line}" if self.first_line else self.path
        return f"{self.title} ({where})"

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(
            self.code,
            PythonLexer(),
            HtmlFormatter(noclasses=True, style=STYLE, nowrap=False),
        )
        caption = html.escape(self.caption())
        return (
            '<div class="course-source" style="margin: 0.5em 0">'
            '<div style="font-size: 0.85em; color: #555; margin-bottom: '
            f'0.2em"><code>{caption}</code></div>'
            f'<div style="overflow-x: auto">{body}</div></div>'
        )

    def _repr_markdown_(self) -> str:
        return f"`{self.caption()}`\n\n```python\n{self.code}\n```\n"


def show_source(
    obj: object,
    *,
    methods: Sequence[str] | None = None,
    docstring: bool = True,
    lines: tuple[str, str] | None = None,
) -> Source:
    """The source of a library function, method or class, ready to display as a cell's
    output.

    Args:
        obj: a function (``objectives.elbo``), a method (``vae.MLPVAE.encode``, found on
            the class that defines it) or a class (``vae.MLPVAE``).
        methods: for a class, show only its ``class`` line and these methods, in this
            order; a method the class inherits is taken from the class that defines it,
            under a comment naming it.
        docstring: ``False`` leaves out docstrings (a page that explains the code in
            prose).
        lines: ``(first, last)``: show only the lines from the first one containing
            ``first`` to the first one after it containing ``last`` (e.g. the step
            function inside a recipe), dedented, with their own line number.

    Returns:
        A :class:`Source`, shown highlighted in Jupyter, Colab and the book.

    Raises:
        CourseInputError: for an object without Python source (a built-in, a C
            extension), for ``methods`` on something that is not a class, for a name
            that is not a method of it, or for ``lines`` not found in the source.
    """
    if methods is not None and not isinstance(obj, type):
        raise CourseInputError(
            f"methods= selects methods of a class, but {_name(obj)} is not a class; "
            "pass the class (e.g. show_source(MLPVAE, methods=['encode'])) or drop "
            "methods="
        )
    target = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(target, (classmethod, staticmethod)):
        target = target.__func__
    if isinstance(target, property):
        target = target.fget
    if lines is not None and methods is not None:
        raise CourseInputError("pass methods= or lines=, not both")
    if methods is None:
        code, first_line = _source(target)
        if not docstring:
            code = _strip_docstrings(code)
        if lines is None:
            return Source(code, _name(target), _path(target), first_line)
        code, offset = _slice(code, *lines, where=_name(target))
        return Source(
            code, f"part of {_name(target)}", _path(target), first_line + offset
        )
    assert isinstance(target, type)
    # defining class -> the selected methods' code, in order
    groups: dict[type, list[str]] = {}
    for method in methods:
        owner = next((c for c in target.__mro__ if method in vars(c)), None)
        if owner is None or not _is_code(vars(owner)[method]):
            known = sorted(
                {
                    n
                    for c in target.__mro__
                    if not c.__module__.startswith(("torch", "builtins"))
                    for n, v in vars(c).items()
                    if _is_code(v) and not n.startswith("__")
                }
            )
            raise CourseInputError(
                f"{target.__name__} has no method {method!r}; its methods are: "
                f"{', '.join(known)}"
            )
        member = vars(owner)[method]
        code, _ = _source(
            member.fget
            if isinstance(member, property)
            else getattr(member, "__func__", member)
        )
        if not docstring:
            code = _strip_docstrings(code)
        groups.setdefault(owner, []).append(textwrap.indent(code, "    "))
    blocks = [
        _class_line(owner) + "\n" + "\n\n".join(codes)
        for owner, codes in groups.items()
    ]
    title = f"{_name(target)}: {', '.join(methods)}"
    return Source("\n\n\n".join(blocks), title, _path(target))


def _slice(code: str, first: str, last: str, *, where: str) -> tuple[str, int]:
    """The lines of ``code`` from the first containing ``first`` to the next one
    containing ``last``, dedented, and the index of the first of them."""
    rows = code.split("\n")
    start = next((i for i, row in enumerate(rows) if first in row), None)
    if start is None:
        raise CourseInputError(f"no line of {where} contains {first!r}")
    stop = next((i for i in range(start, len(rows)) if last in rows[i]), None)
    if stop is None:
        raise CourseInputError(f"no line of {where} after {first!r} contains {last!r}")
    return textwrap.dedent("\n".join(rows[start : stop + 1])), start


def _is_code(value: object) -> bool:
    return inspect.isfunction(value) or isinstance(
        value, (classmethod, staticmethod, property)
    )


def _name(obj: object) -> str:
    module = getattr(obj, "__module__", None) or ""
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{qualname}" if module else qualname


def _source(obj: object) -> tuple[str, int]:
    try:
        lines, first_line = inspect.getsourcelines(obj)  # type: ignore[arg-type]
    except (OSError, TypeError) as error:
        raise CourseInputError(
            f"cannot show the source of {_name(obj)}: it has no Python source file "
            f"({error}); "
            "pass a function, method or class defined in a .py file, e.g. from "
            "course_lib"
        ) from None
    return textwrap.dedent("".join(lines)).rstrip("\n"), first_line


def _path(obj: object) -> str:
    try:
        file = inspect.getsourcefile(obj)  # type: ignore[arg-type]
    except TypeError:
        return ""
    if not file:
        return ""
    module = getattr(obj, "__module__", "") or ""
    parts = file.replace("\\", "/").split("/")
    top = module.split(".")[0]
    return "/".join(parts[parts.index(top) :]) if top in parts else parts[-1]


def _class_line(cls: type) -> str:
    """``class Name(Base, ...):`` exactly as written (with decorators dropped)."""
    code, _ = _source(cls)
    tree = ast.parse(code)
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)
    lines = code.splitlines()
    body_start = node.body[0].lineno - 1  # the first statement of the class body
    header = [line for line in lines[node.lineno - 1 : body_start] if line.strip()]
    header = [
        line for line in header if not line.lstrip().startswith(("#", '"""', "'''"))
    ]
    return (
        "\n".join(header)
        if header[-1].rstrip().endswith(":")
        else f"class {cls.__name__}:"
    )


def _strip_docstrings(code: str) -> str:
    """``code`` without the docstrings of its functions and classes (the rest
    unchanged)."""
    tree = ast.parse(code)
    drop: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
        ):
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
                and first.end_lineno is not None
            ):
                drop.update(range(first.lineno, first.end_lineno + 1))
    lines = [
        line
        for number, line in enumerate(code.splitlines(), start=1)
        if number not in drop
    ]
    return "\n".join(lines)
