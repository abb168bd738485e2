"""One vocabulary: an exercise that shares a name with the course library has the
library's contract.

An exercise function (or class) named like a public function or class of ``course_lib``
must take the library's parameters, in the library's order, and the library's own
implementation must pass every case of the exercise, public and instructor: the exercise
then teaches the function the lessons use, and the cases test the specification, not the
reference solution.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest
from exercise_support import outcomes, solution

import course_lib
from course_grader.cases import EXERCISES

# the exercises' own machinery, not the taught library
SKIPPED_PACKAGES = ("course_lib.grading",)


def _library_objects() -> dict[str, list[tuple[str, Any]]]:
    """Every public function and class defined in a ``course_lib`` module: name ->
    [(module, object)]."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        if info.name.startswith(SKIPPED_PACKAGES):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                not name.startswith("_")
                and (inspect.isfunction(value) or inspect.isclass(value))
                and value.__module__ == info.name
            ):
                found.setdefault(name, []).append((info.name, value))
    return found


LIBRARY = _library_objects()
SHARED = [
    (e.name, module, value)
    for e in EXERCISES
    for module, value in LIBRARY.get(e.function, [])
]


def _parameters(obj: Any) -> list[str]:
    """The positional-or-keyword parameter names (of ``__init__`` for a class, without
    ``self``)."""
    signature = inspect.signature(obj)
    return [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def test_the_shared_names_are_the_ones_the_exercises_teach() -> None:
    """The list is not empty by accident: these exercises deliberately implement a
    library function."""
    names = {name for name, _, _ in SHARED}
    assert {
        "vae_loglik",
        "gan_d_loss",
        "gan_hinge",
        "gan_mbd",
        "dae_psnr",
        "dae_paste",
        "aae_occupancy",
        "aae_mmd",
        "cmp_sharpness",
        "cmp_interp",
    } <= names


@pytest.mark.parametrize(
    ("name", "module", "value"), SHARED, ids=[f"{n}-{m}" for n, m, _ in SHARED]
)
def test_an_exercise_named_like_the_library_has_the_library_parameters(
    name: str, module: str, value: Any
) -> None:
    assert _parameters(solution(name)) == _parameters(value), (
        f"{name}: rename the exercise or use {module}'s contract"
    )


@pytest.mark.parametrize(
    ("name", "module", "value"), SHARED, ids=[f"{n}-{m}" for n, m, _ in SHARED]
)
def test_the_library_passes_every_case_of_the_exercise_it_implements(
    name: str, module: str, value: Any
) -> None:
    failed = [(r.description, r.message) for r in outcomes(name, value) if not r.passed]
    assert failed == []
