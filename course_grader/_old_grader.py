"""``course-grade``: grade a folder of submissions into ``grades.csv`` and one feedback file each.

Usage::

    course-grade SUBMISSIONS/ --out GRADES/ [--tests private_cases.py] [--lesson 3] [--jobs 4]
                 [--timeout 120] [--memory-mb 3000]

Every file in ``SUBMISSIONS/`` (``.ipynb`` as downloaded from Colab, ``.md`` jupytext notebooks,
``.py`` scripts; anything else gets a row saying so) is graded in its own Python process
(:mod:`course_lib.grading.runner`; forked from a server that has imported torch once, or a fresh
interpreter where fork servers do not exist), in a fresh temporary copy directory as working directory, with
limits on memory, CPU time, file size, wall time per cell / per case / per submission, and truncated
output. Submissions run in parallel (``--jobs``, default: the number of CPU cores). One bad
submission (an endless loop, ``sys.exit()``, a syntax error, a memory hog, a file that is not a
notebook, a notebook that deletes the files next to it) only costs its own row.

The cases are the packaged ones (:mod:`course_lib.grading.cases`) unless ``--tests PATH`` names a
Python file defining ``EXERCISES`` (a sequence of :class:`course_lib.grading.Exercise`), which may
live outside the public repository.

Outputs (both written atomically: a temporary file, then ``os.replace``):

* ``OUT/grades.csv``: one row per submission: ``submission, status, <points per exercise>, total,
  max_total, reason``; ``status`` is ``graded``, ``timeout``, ``crashed``, ``invalid`` (or ``error``
  when the grader itself failed on that file, e.g. a full disk).
* ``OUT/feedback/<submission>.txt``: what passed, what failed and why, per exercise and case.

Limits of the sandbox: it protects the batch and the other rows from accidents and crude hostility;
it is not a security boundary (a submission runs as your user, can read files and open network
connections, and could tamper with the cases running in its own process). Grade untrusted work in
a container or a throwaway account.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.errors import CourseInputError
from course_lib.grading.core import Exercise
from course_lib.grading.runner import SubmissionError, child_entry, extract_cells

_CHILD = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
          "from course_lib.grading.runner import main; sys.exit(main(sys.argv[1]))")


@dataclass(frozen=True)
class GradeConfig:
    """Limits and choices for one grading run (see ``course-grade --help``)."""

    tests: Path | None = None
    exercises: tuple[str, ...] = ()
    timeout: float = 120.0
    cell_timeout: float = 60.0
    case_timeout: float = 10.0
    memory_mb: int = 3000
    file_mb: int = 64
    output_chars: int = 20_000
    kill_margin: float = 10.0  # extra seconds before a child that ignores its own time limits is killed


@dataclass
class Row:
    """The grade of one submission."""

    submission: str
    status: str
    points: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    feedback: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return round(sum(self.points.values()), 2)


def load_exercises(tests: Path | None = None) -> list[Exercise]:
    """The exercises to grade: the packaged ones, or ``EXERCISES`` from the Python file ``tests``.

    Raises:
        CourseInputError: when the file is missing, fails to import, or defines no valid ``EXERCISES``.
    """
    if tests is None:
        from course_lib.grading.cases import EXERCISES

        return list(EXERCISES)
    path = Path(tests)
    if not path.is_file():
        raise CourseInputError(f"--tests {path}: no such file; give the path of a Python file defining EXERCISES")
    spec = importlib.util.spec_from_file_location(f"course_grade_tests_{abs(hash(str(path.resolve())))}", path)
    if spec is None or spec.loader is None:
        raise CourseInputError(f"--tests {path}: cannot be imported; it must be a .py file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise CourseInputError(f"--tests {path}: importing it failed with {type(error).__name__}: {error}") from None
    exercises = list(getattr(module, "EXERCISES", ()))
    if not exercises or not all(isinstance(e, Exercise) for e in exercises):
        raise CourseInputError(f"--tests {path}: it must define EXERCISES, a non-empty sequence of "
                               "course_lib.grading.Exercise")
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise CourseInputError(f"--tests {path}: exercise names must be unique, got {names}")
    return exercises


def select_exercises(exercises: Sequence[Exercise], names: Sequence[str] = (),
                     lessons: Sequence[int] = ()) -> list[Exercise]:
    """Keep the exercises named in ``names`` or belonging to ``lessons`` (all of them when both are empty)."""
    known = {e.name for e in exercises}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CourseInputError(f"unknown exercise(s) {unknown}; known: {', '.join(sorted(known))}")
    if not names and not lessons:
        return list(exercises)
    chosen = [e for e in exercises if e.name in names or e.lesson in lessons]
    if not chosen:
        raise CourseInputError(f"no exercise belongs to lesson(s) {list(lessons)}")
    return chosen


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", COURSE_PROFILE="smoke",
               COURSE_PROGRESS="off", PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    return env


def _kill_group(pid: int) -> None:
    """Kill the child and anything it started (it leads its own session, so its group id is its pid)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _forkserver() -> Any:
    """A multiprocessing context whose server has imported torch and the cases once (Linux, macOS), or None.

    Forking from it saves each submission the ~2 CPU-seconds of importing torch.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "course_lib.grading.runner", "course_lib.grading.cases"])
    return context


def _run_child(spec: Path, sandbox: Path, log: Path, wait: float) -> tuple[int | None, bool]:
    """Run :mod:`course_lib.grading.runner` on ``spec`` in its own session; return (exit code, timed out).

    The child's working directory is ``sandbox``, its output goes to ``log``; after ``wait`` seconds
    (the child normally stops itself before) it is killed with its whole process group.
    """
    context = _forkserver()
    if context is not None:
        process = context.Process(target=child_entry, args=(str(spec), str(log), str(sandbox), _child_env()),
                                  daemon=False)
        process.start()
        process.join(wait)
        timed_out = process.exitcode is None
        _kill_group(process.pid)
        process.join()
        return process.exitcode, timed_out
    with open(log, "wb") as handle:
        popen = subprocess.Popen([sys.executable, "-c", _CHILD, str(spec)], cwd=sandbox, stdin=subprocess.DEVNULL,
                                 stdout=handle, stderr=subprocess.STDOUT, env=_child_env(), start_new_session=True)
        try:
            popen.wait(timeout=wait)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(popen.pid)
            popen.wait()
    return popen.returncode, timed_out


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return ("[...]\n" if size > limit else "") + text


def grade_submission(path: Path, exercises: Sequence[Exercise], config: GradeConfig) -> Row:
    """Grade one submission file in its own process and sandbox directory; never raises."""
    try:
        return _grade_submission(path, exercises, config)
    except Exception as error:  # a grader-side failure (disk full, ...) must not stop the batch
        message = f"the grader failed on this submission: {type(error).__name__}: {error}"
        return Row(path.name, "error", {e.name: 0.0 for e in exercises}, message, message + "\n")


def _grade_submission(path: Path, exercises: Sequence[Exercise], config: GradeConfig) -> Row:
    started = time.monotonic()
    row = Row(path.name, "graded", {e.name: 0.0 for e in exercises})
    try:
        cells = extract_cells(path)
    except (SubmissionError, OSError) as error:
        row.status, row.reason = "invalid", str(error)
        row.feedback = f"{path.name}: not graded: {error}\n"
        return row
    work = Path(tempfile.mkdtemp(prefix="course-grade-run-"))
    sandbox = Path(tempfile.mkdtemp(prefix="course-grade-sandbox-"))
    try:
        shutil.copy2(path, sandbox / path.name)
        spec = {"cells": cells, "tests": str(config.tests.resolve()) if config.tests else None,
                "exercises": [e.name for e in exercises], "timeout": config.timeout,
                "cell_timeout": config.cell_timeout, "case_timeout": config.case_timeout,
                "grading_reserve": min(config.timeout / 3, config.case_timeout + 5 * len(exercises)),
                "memory_mb": config.memory_mb, "cpu_seconds": int(config.timeout) + 5, "file_mb": config.file_mb,
                "output_chars": config.output_chars, "result": str(work / "result.json"), "sandbox": str(sandbox)}
        (work / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        log = work / "output.txt"
        returncode, timed_out = _run_child(work / "spec.json", sandbox, log, config.timeout + config.kill_margin)
        _fill_row(row, work / "result.json", log, returncode, timed_out, config)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sandbox, ignore_errors=True)
        row.seconds = round(time.monotonic() - started, 2)
        row.feedback += f"\n(graded in {row.seconds:.1f} s)\n"
    return row


def _fill_row(row: Row, result_path: Path, log: Path, returncode: int | None, timed_out: bool,
              config: GradeConfig) -> None:
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = None
    if result is None:
        if timed_out:
            limit = config.timeout + config.kill_margin
            row.status, row.reason = "timeout", f"killed after {limit:.0f} s (the whole submission)"
        else:
            why = f"signal {-returncode}" if returncode is not None and returncode < 0 else f"exit status {returncode}"
            if returncode is not None and -returncode in (signal.SIGXCPU, signal.SIGKILL):
                why += " (CPU time or memory limit)"
            row.status, row.reason = "crashed", f"the process ended before grading ({why})"
        row.feedback = f"{row.submission}: {row.reason}\n\nlast output:\n{_tail(log)}\n"
        return
    problems = result["problems"]
    lines = [f"{row.submission}: {row.status}", ""]
    reasons = []
    if problems:
        lines += ["Problems while running the notebook:"] + [f"  {p}" for p in problems] + [""]
        reasons.append(problems[0] + (f" (+{len(problems) - 1} more cell problems)" if len(problems) > 1 else ""))
    for entry in result["exercises"]:
        row.points[entry["name"]] = float(entry["points"])
        lines.append(f"{entry['name']} ({entry['function']}): {entry['points']:g}/{entry['points_max']:g} "
                     f"({entry['passed']}/{entry['total']} cases)")
        if entry["reason"] and not entry["cases"]:
            lines.append(f"  {entry['reason']}")
        for case in entry["cases"]:
            mark = "ok  " if case["passed"] else "FAIL"
            lines.append(f"  {mark} {case['description']}" + ("" if case["passed"] else f": {case['message']}"))
            if not case["passed"] and case["hint"]:
                lines.append(f"       hint: {case['hint']}")
        if entry["reason"]:
            reasons.append(f"{entry['name']}: {entry['reason']}")
    if result.get("output"):
        lines += ["", "Output of the notebook (truncated):", result["output"]]
    row.reason = "; ".join(reasons)
    if len(row.reason) > 500:
        row.reason = row.reason[:497] + "..."
    row.feedback = "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_outputs(rows: Sequence[Row], exercises: Sequence[Exercise], out: Path) -> Path:
    """Write ``out/grades.csv`` and ``out/feedback/*.txt`` atomically; return the CSV's path."""
    out.mkdir(parents=True, exist_ok=True)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    max_total = round(sum(e.points for e in exercises), 2)
    writer.writerow(["submission", "status", *[e.name for e in exercises], "total", "max_total", "reason"])
    for row in rows:
        writer.writerow([row.submission, row.status, *[f"{row.points.get(e.name, 0.0):g}" for e in exercises],
                         f"{row.total:g}", f"{max_total:g}", row.reason])
        _atomic_write(feedback / f"{row.submission}.txt", row.feedback)
    path = out / "grades.csv"
    _atomic_write(path, buffer.getvalue())
    return path


def submissions_in(folder: Path) -> list[Path]:
    """Every regular, non-hidden file directly in ``folder``, sorted by name."""
    if not folder.is_dir():
        raise CourseInputError(f"{folder} is not a folder; pass the folder that holds the submissions")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def grade_folder(folder: Path, out: Path, config: GradeConfig = GradeConfig(), jobs: int | None = None,
                 lessons: Sequence[int] = ()) -> list[Row]:
    """Grade every submission in ``folder`` in parallel and write the outputs into ``out``."""
    exercises = select_exercises(load_exercises(config.tests), config.exercises, lessons)
    files = submissions_in(folder)
    with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
        rows = list(pool.map(lambda p: grade_submission(p, exercises, config), files))
    write_outputs(rows, exercises, out)
    return rows


def main(argv: list[str] | None = None) -> int:
    """The ``course-grade`` command. Exit 0 when the batch was graded (whatever the grades), 2 on bad arguments."""
    parser = argparse.ArgumentParser(prog="course-grade", description="Grade a folder of submissions.")
    parser.add_argument("submissions", type=Path, help="folder of .ipynb / .md / .py submissions")
    parser.add_argument("--out", type=Path, default=Path("grading-output"), help="where grades.csv and feedback/ go")
    parser.add_argument("--tests", type=Path, default=None, help="Python file defining EXERCISES (default: packaged)")
    parser.add_argument("--lesson", type=int, action="append", default=[], help="grade only this lesson (repeatable)")
    parser.add_argument("--exercise", action="append", default=[], help="grade only this exercise (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="parallel submissions (default: CPU cores)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per submission (default 120)")
    parser.add_argument("--cell-timeout", type=float, default=None, help="seconds per cell (default: timeout / 2)")
    parser.add_argument("--case-timeout", type=float, default=10.0, help="seconds per test case (default 10)")
    parser.add_argument("--memory-mb", type=int, default=3000, help="memory limit per submission (default 3000)")
    args = parser.parse_args(argv)
    config = GradeConfig(tests=args.tests, exercises=tuple(args.exercise), timeout=args.timeout,
                         cell_timeout=args.cell_timeout or args.timeout / 2, case_timeout=args.case_timeout,
                         memory_mb=args.memory_mb)
    started = time.monotonic()
    try:
        rows = grade_folder(args.submissions, args.out, config, args.jobs, args.lesson)
    except CourseInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"graded {len(rows)} submissions ({summary}) in {time.monotonic() - started:.1f} s -> "
          f"{args.out / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
