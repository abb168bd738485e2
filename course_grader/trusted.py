"""Score the instructor's OWN code in this process: solutions, reference bugs, the
library's versions.

This is how the cases themselves are tested (every solution earns full marks, every
bug-hunt bug loses some). It runs the code here, with no sandbox and no time limit, so
it is only for code the instructor trusts: submissions go through
:func:`course_grader.grade.grade_file`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from course_lib.grading.core import Exercise, run_case


def execute_cells(cells: Sequence[str], namespace: dict[str, Any]) -> list[str]:
    """Run trusted ``cells`` in ``namespace``; return one ``"cell n: Error: message"``
    per failing cell."""
    problems = []
    for number, source in enumerate(cells, 1):
        try:
            # trusted code only
            exec(compile(source, f"<cell {number}>", "exec"), namespace)
        except Exception as error:
            problems.append(f"cell {number}: {type(error).__name__}: {error}")
    return problems


def grade_namespace(
    namespace: dict[str, Any], exercises: Sequence[Exercise]
) -> list[dict[str, Any]]:
    """Score each exercise's function found in ``namespace``: name, points, points_max
    and the first failure.

    The global generators are reseeded before each exercise, as the sandbox does.
    """
    results = []
    for exercise in exercises:
        random.seed(0)
        torch.manual_seed(0)
        fn = namespace.get(exercise.function)
        if not callable(fn):
            results.append(
                {
                    "name": exercise.name,
                    "points": 0.0,
                    "points_max": exercise.points,
                    "reason": f"{exercise.function} is not defined",
                }
            )
            continue
        outcomes = [run_case(case, fn) for case in exercise.all_cases()]
        failed = [o for o in outcomes if not o.passed]
        reason = ""
        if failed:
            reason = (
                "not implemented"
                if all(o.not_implemented for o in failed)
                else f"{failed[0].description}: {failed[0].message}"
            )
        points = round(
            exercise.points * (len(outcomes) - len(failed)) / len(outcomes), 2
        )
        results.append(
            {
                "name": exercise.name,
                "points": points,
                "points_max": exercise.points,
                "reason": reason,
            }
        )
    return results
