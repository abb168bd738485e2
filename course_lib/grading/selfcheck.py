"""``check(name, fn)``: the student's self-check after each exercise, in Colab or
Jupyter.

It runs the exercise's *public* cases and prints one line per case: which case failed,
what is wrong (a shape, a NaN, a property) and a hint, never the expected values. The
instructor's grader runs further cases, so passing here is necessary, not sufficient.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Callable
from typing import Any

from course_lib.errors import CourseInputError
from course_lib.grading.core import Exercise, run_case

# a notebook's output cell, in the book and in Colab, without a horizontal scroll bar
WIDTH = 88


def _say(text: str, indent: str = "", hang: str = "        ") -> None:
    """Print ``text`` wrapped to :data:`WIDTH` columns, continuation lines indented by
    ``hang``."""
    print(
        textwrap.fill(
            text,
            WIDTH,
            initial_indent=indent,
            subsequent_indent=indent + hang,
            break_on_hyphens=False,
            break_long_words=False,
        )
    )


def find_exercise(name: str) -> Exercise:
    """The packaged exercise called ``name``; an unknown name is a clear error listing
    close matches."""
    from course_lib.grading.public_cases import BY_NAME

    if name in BY_NAME:
        return BY_NAME[name]
    close = difflib.get_close_matches(str(name), list(BY_NAME), n=3)
    suggestion = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise CourseInputError(
        f"no exercise called {name!r}{suggestion} Known: {', '.join(sorted(BY_NAME))}"
    )


def check(name: str, fn: Callable[..., Any], *, verbose: bool = True) -> bool | None:
    """Run the public cases of exercise ``name`` on ``fn`` and print what passed and
    what did not.

    Args:
        name: the exercise's key, e.g. ``"vae_kl"`` (given next to each exercise).
        fn: your function (or class), e.g. ``gaussian_kl``; pass it, do not call it.
        verbose: print the report (``False``: only return the result).

    Returns:
        With ``verbose=False``: ``True`` when every public case passes, else ``False``
        (an unimplemented stub gives ``False``, never an exception). With the default
        printed report: ``None``, so that a notebook cell ending in ``check(...)`` shows
            the report and no raw
        ``True``/``False``.

    Raises:
        CourseInputError: for an unknown exercise name, or when ``fn`` is not callable.
    """
    exercise = find_exercise(name)
    if not callable(fn):
        raise CourseInputError(
            f"check({name!r}, fn): fn must be your function {exercise.function}, got "
            f"{type(fn).__name__}; pass the function itself, without calling it"
        )
    results = [run_case(case, fn) for case in exercise.public]
    passed = sum(r.passed for r in results)
    if not verbose:
        return passed == len(results)
    if any(r.not_implemented for r in results):
        _say(
            f"{name}: {exercise.function} is not attempted yet. Replace its `raise "
            "NotImplementedError(...)` "
            "line with your code, run that cell, then run this check again.",
            hang="  ",
        )
        return None
    for k, result in enumerate(results, 1):
        if result.passed:
            _say(f"ok    case {k}/{len(results)}: {result.description}", "  ")
        else:
            _say(
                f"FAIL  case {k}/{len(results)}: {result.description}: "
                f"{result.message}",
                "  ",
            )
            if result.hint:
                _say(f"hint: {result.hint}", "        ", "      ")
    if passed == len(results):
        print(
            f"{name}: all {len(results)} public checks passed. (The grader runs more "
            "cases.)"
        )
    else:
        print(f"{name}: {passed}/{len(results)} public checks passed.")
    return None
