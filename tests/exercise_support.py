"""Shared by the exercise tests: the solutions' functions, and every case of an exercise
run in-process.

:func:`solution_functions` executes only the imports, constants, functions and classes
of the code cells of ``solutions/lessonN_exercises.md`` (no demonstration cell, no data
download), so a test gets the reference solutions in a fraction of a second.
:func:`outcomes` runs an exercise's cases on a function with
:func:`course_lib.grading.core.run_case` (public, instructor, or both).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course_grader.cases import BY_NAME as GRADED
from course_grader.worker.cells import extract_cells
from course_lib.grading.core import CaseResult, run_case

ROOT = Path(__file__).resolve().parents[1]
KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _is_constant(node: ast.stmt) -> bool:
    """An upper-case assignment (``RADIUS = 1.4``): a constant the solutions' functions
    may read."""
    return isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
        isinstance(t, ast.Name) and t.id.isupper()
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
    )


@functools.cache
def solution_functions(lesson: int) -> dict[str, Any]:
    """The namespace of lesson ``lesson``'s solution notebook, from its definitions
    only."""
    namespace: dict[str, Any] = {"__name__": "solutions"}
    for source in extract_cells(ROOT / "solutions" / f"lesson{lesson}_exercises.md"):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        kept = [
            node for node in tree.body if isinstance(node, KEEP) or _is_constant(node)
        ]
        exec(
            compile(ast.Module(kept, type_ignores=[]), f"lesson{lesson}", "exec"),
            namespace,
        )
    return namespace


def solution(name: str) -> Callable[..., Any]:
    """The reference solution of exercise ``name`` (its function or class)."""
    exercise = GRADED[name]
    return solution_functions(exercise.lesson)[exercise.function]


def outcomes(name: str, fn: Callable[..., Any], which: str = "all") -> list[CaseResult]:
    """Run exercise ``name``'s cases (``"public"``, ``"instructor"`` or ``"all"``) on
    ``fn``."""
    exercise = GRADED[name]
    cases = {
        "public": exercise.public,
        "instructor": exercise.instructor,
        "all": exercise.all_cases(),
    }[which]
    return [run_case(case, fn) for case in cases]
