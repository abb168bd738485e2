"""Exercises and the student's self-check.

* ``check(name, fn)`` -- the student's self-check after each exercise (public cases
  only, :mod:`course_lib.grading.public_cases`).
* :mod:`course_lib.grading.core` -- the vocabulary of cases (``Exercise``, ``Case``,
  ``run_case``).
* :mod:`course_lib.grading.probes` -- what a case needs beyond a plain call (gradients,
  a module's layers), run next to the student's code.

The instructor's tools (the grader with its hidden cases, the generator of
``exercises/``) are not part of this package: they live in ``course_grader/`` in the
course repository.
"""

from course_lib.grading.core import (
    Case,
    CaseFailed,
    CaseResult,
    CaseStopped,
    Exercise,
    run_case,
)
from course_lib.grading.selfcheck import check

__all__ = [
    "Case",
    "CaseFailed",
    "CaseResult",
    "CaseStopped",
    "Exercise",
    "check",
    "run_case",
]
