"""Local Sphinx extension: equations, figures and tables are numbered per lesson.

Sphinx numbers every equation and figure of pages that are not under a numbered toctree
with one counter across the whole book, so the first equation of lesson 3 read as (15).
A numbered toctree would prefix chapter numbers instead, but counts chapters from 1
(lesson 0 would become chapter 1) and numbers every title in the sidebar.

After Sphinx has assigned its numbers (event ``env-get-updated``), this extension
renumbers them page by page: on ``lessons/lessonN_*`` the k-th numbered equation becomes
(N.k) and the k-th figure "Figure N.k"; on any other page the counters restart at 1
(per-page numbering). Equation numbers, ``{eq}`` references and ``{numref}`` captions
all read ``env.toc_fignumbers``, so they stay in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

LESSON_PAGE = re.compile(r"^lessons/lesson(\d+)_")

# One number of a page: figure type ("displaymath", "figure", "table", "code-block")
# -> {node id -> number tuple}.
Numbers = dict[str, dict[str, tuple[int, ...]]]


def lesson_number(docname: str) -> int | None:
    """The lesson number N of ``lessons/lessonN_<name>``, or None for any other page."""
    match = LESSON_PAGE.match(docname)
    return int(match.group(1)) if match else None


def per_page_numbers(docname: str, numbers: Numbers) -> Numbers:
    """Renumber one page's numbered nodes from 1, in the order Sphinx met them (the
    order of the page), each figure type on its own counter; a lesson page's numbers
    are prefixed with its lesson number: ``(N, k)``, printed N.k."""
    prefix = lesson_number(docname)
    head: tuple[int, ...] = () if prefix is None else (prefix,)
    return {
        figtype: {node_id: (*head, k) for k, node_id in enumerate(ids, start=1)}
        for figtype, ids in numbers.items()
    }


def renumber(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    """``env-get-updated`` handler: replace Sphinx's book-wide numbers by per-lesson
    numbers; return the pages whose numbers changed, so they are written again."""
    changed = []
    for docname, numbers in list(env.toc_fignumbers.items()):
        wanted = per_page_numbers(docname, numbers)
        if wanted != numbers:
            env.toc_fignumbers[docname] = wanted
            changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict[str, Any]:
    # Priority 900: after Sphinx's own toctree collector (priority 500) has assigned the
    # book-wide numbers that this handler replaces.
    app.connect("env-get-updated", renumber, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
