"""``python -m course_grader SUBMISSIONS --out GRADES``: grade a folder of submissions.

Every entry of ``SUBMISSIONS`` (sub-folders per student included) gets one row in
``GRADES/grades.csv``, written as soon as it is graded, and a feedback file in
``GRADES/feedback/``. Each submission runs in its own bubblewrap sandbox (see
:mod:`course_grader.sandbox`); where bubblewrap cannot run, the grader refuses unless
``--no-sandbox`` says the submissions are trusted. The last line printed is the summary,
and the exit status is 0 when every submission was graded, 1 when some were not
(invalid, crashed, timed out, grader error), 2 for a usage error, 130 after Ctrl-C
(rerun to resume).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from course_grader.discover import Found, find_submissions
from course_grader.grade import GradeConfig, Row, grade_file
from course_grader.report import GradeBook
from course_grader.sandbox import bubblewrap_problem, stop_all
from course_lib.errors import CourseInputError
from course_lib.grading.core import Exercise


def load_exercises(tests: Path | None = None) -> list[Exercise]:
    """The instructor's exercises (:mod:`course_grader.cases`), or ``EXERCISES`` from
    the Python file ``tests``.

    Raises:
        CourseInputError: when the file is missing, fails to import, or defines no valid
            ``EXERCISES``.
    """
    if tests is None:
        from course_grader.cases import EXERCISES

        return list(EXERCISES)
    path = Path(tests)
    if not path.is_file():
        raise CourseInputError(
            f"--tests {path}: no such file; give the path of a Python file defining "
            "EXERCISES"
        )
    spec = importlib.util.spec_from_file_location("course_grader_private_tests", path)
    if spec is None or spec.loader is None:
        raise CourseInputError(
            f"--tests {path}: cannot be imported; it must be a .py file"
        )
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise CourseInputError(
            f"--tests {path}: importing it failed with {type(error).__name__}: {error}"
        ) from None
    exercises = list(getattr(module, "EXERCISES", ()))
    if not exercises or not all(isinstance(e, Exercise) for e in exercises):
        raise CourseInputError(
            f"--tests {path}: it must define EXERCISES, a non-empty sequence of "
            "course_lib.grading.Exercise"
        )
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise CourseInputError(
            f"--tests {path}: exercise names must be unique, got {names}"
        )
    return exercises


def select_exercises(
    exercises: Sequence[Exercise],
    names: Sequence[str] = (),
    lessons: Sequence[int] = (),
) -> list[Exercise]:
    """Keep the exercises named in ``names`` or of ``lessons`` (all of them when both
    are empty)."""
    known = {e.name for e in exercises}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CourseInputError(
            f"unknown exercise(s) {unknown}; known: {', '.join(sorted(known))}"
        )
    if not names and not lessons:
        return list(exercises)
    chosen = [e for e in exercises if e.name in names or e.lesson in lessons]
    if not chosen:
        raise CourseInputError(f"no exercise belongs to lesson(s) {list(lessons)}")
    return chosen


def _invalid(found: Found, exercises: Sequence[Exercise]) -> Row:
    return Row(
        found.name,
        "invalid",
        {e.name: 0.0 for e in exercises},
        found.problem,
        f"{found.name}: not graded: {found.problem}\n",
    )


def grade_batch(
    folder: Path,
    out: Path,
    exercises: Sequence[Exercise],
    config: GradeConfig,
    jobs: int = 1,
) -> tuple[list[Row], int]:
    """Grade every submission in ``folder`` not already in ``out/grades.csv``; rows are
    written as they finish.

    Returns:
        The rows graded in this run, and how many earlier rows were kept (a resumed
        run).
    """
    book = GradeBook(out, exercises)
    kept = len(book.done)
    todo = [f for f in find_submissions(folder) if f.name not in book.done]
    rows: list[Row] = []
    for found in (f for f in todo if f.problem):
        rows.append(_invalid(found, exercises))
        book.add(rows[-1])
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running: dict[Future[Row], Found] = {}
        try:
            for found in (f for f in todo if not f.problem):
                running[
                    pool.submit(grade_file, found.path, found.name, exercises, config)
                ] = found
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    rows.append(future.result())
                    book.add(rows[-1])
        except KeyboardInterrupt:
            # the running sandboxes die now; their submissions are graded on the next
            # run
            stop_all()
            for future in running:
                future.cancel()
            raise
    return rows, kept


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_grader",
        description=(
            "Grade a folder of submissions, each in its own bubblewrap sandbox."
        ),
    )
    parser.add_argument(
        "submissions",
        type=Path,
        help="folder of submissions (.ipynb, .md, .py; sub-folders too)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for grades.csv and feedback/ (resumable)",
    )
    parser.add_argument(
        "--tests",
        type=Path,
        help="a private Python file defining EXERCISES (default: the "
        "instructor cases of course_grader/cases.py)",
    )
    parser.add_argument(
        "--lesson",
        type=int,
        action="append",
        default=[],
        help="grade this lesson's exercises",
    )
    parser.add_argument(
        "--exercise",
        action="append",
        default=[],
        help="grade this exercise (repeatable)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded at once",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180,
        help="seconds per submission, everything included",
    )
    parser.add_argument(
        "--cell-timeout", type=float, default=60, help="seconds per notebook cell"
    )
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=10,
        help="seconds per call of a student function",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=3000,
        help="memory of a submission's whole sandbox",
    )
    parser.add_argument(
        "--processes", type=int, default=64, help="processes and threads of a sandbox"
    )
    parser.add_argument(
        "--max-mb", type=int, default=50, help="largest submission file accepted"
    )
    parser.add_argument(
        "--include-output",
        action="store_true",
        help="put the submission's printed output in "
        "its feedback file (off by default: it may show anything the code could read)",
    )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run submissions WITHOUT bubblewrap (only for "
        "trusted files, where bubblewrap cannot run)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (see the module docstring)."""
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        exercises = select_exercises(
            load_exercises(args.tests), args.exercise, args.lesson
        )
        problem = None if args.no_sandbox else bubblewrap_problem()
        if problem:
            print(
                "error: refusing to grade untrusted submissions without a sandbox: "
                f"{problem}; install it, or "
                "pass --no-sandbox for trusted files only",
                file=sys.stderr,
            )
            return 2
        config = GradeConfig(
            timeout=args.timeout,
            cell_timeout=args.cell_timeout,
            case_timeout=args.case_timeout,
            memory_mb=args.memory_mb,
            processes=args.processes,
            max_submission_mb=args.max_mb,
            include_output=args.include_output,
            sandboxed=not args.no_sandbox,
        )
        rows, kept = grade_batch(
            args.submissions, args.out, exercises, config, args.jobs
        )
    except CourseInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: the rows written so far are in {args.out / 'grades.csv'}; "
            "run the same command again "
            "to grade the rest",
            file=sys.stderr,
        )
        return 130
    counts = {
        status: sum(r.status == status for r in rows)
        for status in ("graded", "invalid", "crashed", "timeout", "error")
    }
    summary = (
        ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing new"
    )
    resumed = f" ({kept} kept from an earlier run)" if kept else ""
    print(
        f"graded {len(rows)} submissions: {summary}{resumed} in "
        f"{time.monotonic() - started:.1f} s -> "
        f"{args.out / 'grades.csv'}"
    )
    return 0 if all(r.status == "graded" for r in rows) else 1
