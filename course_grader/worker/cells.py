"""Read the code cells of a submission: ``.ipynb`` (Colab/Jupyter JSON), ``.md``
(jupytext MyST), ``.py``.

Runs inside the sandbox (a hostile file can only exhaust the sandbox's own limits) and
in time linear in the file's size: the Markdown reader walks the lines once, so a file
of unclosed code fences costs no more than any other file of its size.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SUPPORTED = (".ipynb", ".md", ".py")
_PERCENT = re.compile(r"^# ?%%")
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{code-cell\}|python3?|py|ipython3?)?(?:\s|$)")


class SubmissionError(ValueError):
    """The file is not a readable submission (wrong type, not text, not a notebook)."""


def neutralise_magics(source: str) -> str:
    """Replace IPython magics and shell escapes (``%pip``, ``!ls``) by ``pass`` at the
    same indentation."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            out.append(
                line[: len(line) - len(stripped)]
                + "pass  # magic removed by the grader"
            )
        else:
            out.append(line)
    return "\n".join(out)


def _notebook_cells(text: str) -> list[str]:
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as error:
        where = (
            f" at line {error.lineno}"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise SubmissionError(f"not a Jupyter notebook: invalid JSON{where}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError("not a Jupyter notebook: no list of 'cells' in the JSON")
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append(
                "".join(str(s) for s in source)
                if isinstance(source, list)
                else str(source)
            )
    return sources


def _markdown_cells(text: str) -> list[str]:
    """Code cells between fences: ``{code-cell}`` ones when the file has any, else
    ``python`` ones.

    A fence closes on a line holding only the same fence characters, at least as many.
    An unclosed fence runs to the end of the file and is dropped (it is prose in Jupyter
    too).
    """
    myst = "{code-cell}" in text
    cells: list[str] = []
    body: list[str] = []
    fence, options = "", False
    for line in text.splitlines():
        if fence:
            stripped = line.strip()
            if (
                stripped
                and stripped[0] == fence[0]
                and set(stripped) == {fence[0]}
                and len(stripped) >= len(fence)
            ):
                cells.append("\n".join(body))
                fence, body = "", []
            elif options and line.startswith(":"):
                continue  # a MyST cell option such as ":tags: [hide-input]"
            else:
                options = False
                body.append(line)
            continue
        match = _FENCE.match(line)
        if match and match.group(2) and (match.group(2) == "{code-cell}") == myst:
            fence, body, options = match.group(1), [], match.group(2) == "{code-cell}"
    return cells


def _script_cells(text: str) -> list[str]:
    """Cells separated by ``# %%`` lines (or the whole file); cells of only comments are
    dropped."""
    cells: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if _PERCENT.match(line):
            cells.append(current)
            current = []
        else:
            current.append(line)
    cells.append(current)
    return [
        "\n".join(c)
        for c in cells
        if any(ln.strip() and not ln.lstrip().startswith("#") for ln in c)
    ]


def extract_cells(path: Path, max_bytes: int = 50_000_000) -> list[str]:
    """The code cells of the submission at ``path``, in order, magics replaced by
    ``pass``.

    Raises:
        SubmissionError: for another file type, a file over ``max_bytes``, text that is
            not UTF-8, or a notebook that is not notebook JSON.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SubmissionError(
            f"unsupported file type {suffix or '(none)'!r}; submit .ipynb, .md or .py"
        )
    if path.stat().st_size > max_bytes:
        raise SubmissionError(
            f"file is larger than {max_bytes // 1_000_000} MB; clear the outputs and "
            "resubmit"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionError(
            f"not a text file (not UTF-8 at byte {error.start})"
        ) from None
    if suffix == ".ipynb":
        sources = _notebook_cells(text)
    elif suffix == ".md":
        sources = _markdown_cells(text)
    else:
        sources = _script_cells(text)
    return [neutralise_magics(s) for s in sources]
