"""Exercises, self-checks and grading.

* ``check(name, fn)`` -- the student's self-check after each exercise (public cases only).
* ``python -m course_lib.grading.markers [--check]`` -- regenerate ``exercises/``
  from the marked solution regions in ``solutions/``.
* ``course-grade SUBMISSIONS --out OUT`` (or ``python -m course_lib.grading.grader``) -- grade a folder
  of submissions into ``OUT/grades.csv`` and one feedback file per student.
"""

from course_lib.grading.core import Case, CaseFailed, CaseResult, Exercise, run_case
from course_lib.grading.selfcheck import check

__all__ = ["Case", "CaseFailed", "CaseResult", "Exercise", "check", "run_case"]
