"""Grade one submission: start its sandbox, run its cells, run each exercise's cases,
restart after a hang.

Per-exercise isolation: a call that does not stop at its time limit (a bare ``except``
around a loop swallows the worker's alarm) or that ends the worker (``os._exit``, a
crash, a memory limit) costs the rest of *that* exercise; the grader kills the sandbox
and starts a fresh one for the next exercise. A cell that hangs or ends the worker is
skipped in the next start. Every message names the exercise, the case or the cell.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_grader.limits import Limits
from course_grader.remote import FunctionMissing, RemoteFunction, Session
from course_grader.sandbox import HOME, STOPPING, SUBMISSION_DIR, Stopped, open_sandbox
from course_grader.worker.cells import SUPPORTED
from course_lib.grading.core import CaseResult, Exercise, run_case

STATUSES = ("graded", "timeout", "crashed", "invalid", "error")


@dataclass(frozen=True)
class GradeConfig:
    """Limits and choices for one grading run (see ``python -m course_grader --help``).

    Times are wall-clock seconds: ``timeout`` for the whole submission (parsing, cells,
    cases, restarts), ``cell_timeout`` per cell, ``case_timeout`` per call of the
    student's function; ``kill_margin`` is how long past a limit the grader waits before
    it kills the sandbox.
    """

    exercises: tuple[str, ...] = ()
    timeout: float = 180.0
    cell_timeout: float = 60.0
    case_timeout: float = 10.0
    kill_margin: float = 3.0
    memory_mb: int = 3000
    processes: int = 64
    file_mb: int = 64
    max_submission_mb: int = 50
    output_chars: int = 20_000
    include_output: bool = False
    sandboxed: bool = True
    startup_timeout: float = 60.0

    def limits(self) -> Limits:
        """The sandbox limits of this configuration."""
        return Limits(
            memory_mb=self.memory_mb,
            processes=self.processes,
            file_mb=self.file_mb,
            cpu_seconds=int(self.timeout) + 5,
        )


@dataclass
class Row:
    """The grade of one submission (``submission`` is its path relative to the
    submissions folder)."""

    submission: str
    status: str
    points: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    feedback: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> float:
        """The sum of the exercises' points, rounded to 2 decimals."""
        return round(sum(self.points.values()), 2)


@dataclass
class _Outcome:
    """What one exercise earned and why."""

    exercise: Exercise
    results: list[CaseResult]
    reason: str = ""

    @property
    def points(self) -> float:
        passed = sum(r.passed for r in self.results)
        return round(
            self.exercise.points * passed / max(len(self.exercise.all_cases()), 1), 2
        )


def _grade_exercise(session: Session, exercise: Exercise) -> _Outcome:
    """Run every case of ``exercise`` through the sandbox; after a time-out or a lost
    sandbox, skip the rest."""
    try:
        session.begin(exercise.function)
    except FunctionMissing as missing:
        return _Outcome(exercise, [], str(missing))
    except Exception as stopped:  # CaseStopped: the sandbox is gone
        return _Outcome(exercise, [], str(stopped))
    fn = RemoteFunction(session, exercise.function)
    results = []
    for case in exercise.all_cases():
        if session.timed_out or session.broken:
            why = session.broken or "skipped after a time-out in an earlier case"
            results.append(
                CaseResult(
                    case.description,
                    False,
                    why if why.startswith("skipped") else f"skipped: {why}",
                    case.hint,
                )
            )
            continue
        try:
            results.append(run_case(case, fn))
        except FunctionMissing as missing:
            return _Outcome(exercise, [], str(missing))
    failed = [r for r in results if not r.passed]
    reason = ""
    if failed:
        reason = (
            "not implemented"
            if all(r.not_implemented for r in failed)
            else f"{failed[0].description}: {failed[0].message}"
        )
    return _Outcome(exercise, results, reason)


@dataclass
class _Attempt:
    """The state carried from one start of the sandbox to the next."""

    skip: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    output: str = ""
    invalid: str = ""
    ended: str = ""


def _run_cells(
    sandbox: Any, attempt: _Attempt, config: GradeConfig, deadline: float
) -> bool:
    """Wait for the worker to parse and run the cells; ``True`` when it is ready for
    calls.

    A cell that outlives ``cell_timeout`` (plus the margin) or ends the worker is added
    to ``attempt.skip`` (the caller restarts without it).
    """
    now = time.monotonic()
    reply = sandbox.receive(min(now + config.startup_timeout, deadline))
    if not isinstance(reply, dict) or reply.get("event") not in ("parsed", "invalid"):
        raise Stopped("the sandbox sent a malformed reply")
    if reply["event"] == "invalid":
        attempt.invalid = str(reply.get("reason", "not a submission"))[:300]
        return False
    current = 0
    while True:
        limit = (
            config.cell_timeout + config.kill_margin
            if current
            else config.startup_timeout
        )
        try:
            reply = sandbox.receive(min(time.monotonic() + limit, deadline))
        except Stopped as stop:
            if not current:
                raise
            what = (
                "did not finish in time"
                if str(stop) == "timed out"
                else "ended the sandbox (os._exit, a crash or a memory limit)"
            )
            attempt.skip.add(current)
            attempt.ended = f"cell {current}: {what}"
            return False
        if not isinstance(reply, dict):
            raise Stopped("the sandbox sent a malformed reply")
        if reply.get("event") == "cell" and isinstance(reply.get("n"), int):
            current = reply["n"]
        elif reply.get("event") == "ready":
            problems = reply.get("problems")
            attempt.problems = (
                [str(p)[:400] for p in problems] if isinstance(problems, list) else []
            )
            attempt.output = str(reply.get("output", ""))[: config.output_chars + 100]
            return True
        else:
            raise Stopped("the sandbox sent a malformed reply")


def grade_file(
    path: Path, name: str, exercises: Sequence[Exercise], config: GradeConfig
) -> Row:
    """Grade the submission file ``path`` (shown as ``name``); never raises (a grader
    failure is an ``error`` row)."""
    started = time.monotonic()
    try:
        row = _grade_file(path, name, exercises, config, started)
    # a grader-side failure (disk full, ...) must not stop the batch
    except Exception as error:
        message = (
            f"the grader failed on this submission: {type(error).__name__}: {error}"
        )
        row = Row(
            name, "error", {e.name: 0.0 for e in exercises}, message, message + "\n"
        )
    row.seconds = round(time.monotonic() - started, 2)
    return row


def _grade_file(
    path: Path,
    name: str,
    exercises: Sequence[Exercise],
    config: GradeConfig,
    started: float,
) -> Row:
    deadline = started + config.timeout
    size = path.stat().st_size
    if size > config.max_submission_mb * 1_000_000:
        reason = (
            f"file of {size / 1e6:.0f} MB is larger than {config.max_submission_mb} "
            "MB; clear the outputs"
        )
        return Row(
            name,
            "invalid",
            {e.name: 0.0 for e in exercises},
            reason,
            f"{name}: not graded: {reason}\n",
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        reason = (
            f"unsupported file type {suffix or '(none)'!r}; submit .ipynb, .md or .py"
        )
        return Row(
            name,
            "invalid",
            {e.name: 0.0 for e in exercises},
            reason,
            f"{name}: not graded: {reason}\n",
        )
    attempt = _Attempt()
    outcomes: dict[str, _Outcome] = {}
    pending = list(exercises)
    notes: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        for _ in range(len(exercises) + 6):
            if not pending or time.monotonic() >= deadline:
                break
            sandbox_path = (
                f"{SUBMISSION_DIR}/submission{suffix}"
                if config.sandboxed
                else str(path)
            )
            cwd = HOME if config.sandboxed else str(scratch)
            if STOPPING.is_set():
                # the batch was interrupted: this row is left for the next run
                raise KeyboardInterrupt
            with open_sandbox(
                path,
                suffix,
                config.limits(),
                scratch / "sandbox.log",
                sandboxed=config.sandboxed,
            ) as sandbox:
                start = {
                    "submission": sandbox_path,
                    "cwd": cwd,
                    "cell_timeout": config.cell_timeout,
                    "skip": sorted(attempt.skip),
                    "output_chars": config.output_chars,
                    "include_output": config.include_output,
                    "max_bytes": config.max_submission_mb * 1_000_000,
                }
                try:
                    sandbox.send(
                        start, min(time.monotonic() + config.startup_timeout, deadline)
                    )
                    ready = _run_cells(sandbox, attempt, config, deadline)
                except Stopped as stop:
                    if STOPPING.is_set():
                        # interrupted: this row is left for the next run
                        raise KeyboardInterrupt from None
                    late = str(stop) == "timed out"
                    notes.append(
                        f"the sandbox {'did not start in time' if late else stop}"
                    )
                    break
                if attempt.invalid:
                    reason = attempt.invalid
                    return Row(
                        name,
                        "invalid",
                        {e.name: 0.0 for e in exercises},
                        reason,
                        f"{name}: not graded: {reason}\n",
                    )
                if not ready:
                    notes.append(attempt.ended)
                    continue
                session = Session(
                    sandbox, config.case_timeout, config.kill_margin, deadline
                )
                for exercise in list(pending):
                    outcome = _grade_exercise(session, exercise)
                    outcomes[exercise.name] = outcome
                    pending.remove(exercise)
                    if session.broken:
                        notes.append(f"{exercise.name}: {session.broken}")
                        break
                    session.timed_out = False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    status = (
        "graded"
        if not pending
        else "timeout"
        if time.monotonic() >= deadline
        else "crashed"
    )
    return _row(name, status, exercises, outcomes, attempt, notes, config)


def _row(
    name: str,
    status: str,
    exercises: Sequence[Exercise],
    outcomes: dict[str, _Outcome],
    attempt: _Attempt,
    notes: list[str],
    config: GradeConfig,
) -> Row:
    """Assemble the row and the feedback text from what each exercise earned."""
    row = Row(name, status, {e.name: 0.0 for e in exercises})
    problems = [p for p in attempt.problems if p]
    cell_notes = [n for n in notes if n.startswith("cell ")]
    lines = [f"{name}: {status}", ""]
    if problems or cell_notes:
        lines += (
            ["Problems while running the notebook:"]
            + [f"  {p}" for p in cell_notes + problems]
            + [""]
        )
    reasons = [*(cell_notes[:1] or problems[:1])]
    for exercise in exercises:
        outcome = outcomes.get(exercise.name)
        total = len(exercise.all_cases())
        if outcome is None:
            why = (
                "not graded: the submission ran out of time"
                if status == "timeout"
                else "not graded: the sandbox could not run the submission"
            )
            lines.append(
                f"{exercise.name} ({exercise.function}): 0/{exercise.points:g} ({why})"
            )
            reasons.append(f"{exercise.name}: {why}")
            continue
        row.points[exercise.name] = outcome.points
        passed = sum(r.passed for r in outcome.results)
        lines.append(
            f"{exercise.name} ({exercise.function}): "
            f"{outcome.points:g}/{exercise.points:g} "
            f"({passed}/{total} cases)"
        )
        if outcome.reason and not outcome.results:
            lines.append(f"  {outcome.reason}")
        for number, result in enumerate(outcome.results, 1):
            mark = "ok  " if result.passed else "FAIL"
            lines.append(
                f"  {mark} case {number}: {result.description}"
                + ("" if result.passed else f": {result.message}")
            )
            if not result.passed and result.hint:
                lines.append(f"       hint: {result.hint}")
        if outcome.reason:
            reasons.append(f"{exercise.name}: {outcome.reason}")
    other = [n for n in notes if not n.startswith("cell ")]
    if other:
        lines += ["", "Grader notes:"] + [f"  {n}" for n in other]
    if config.include_output and attempt.output:
        lines += [
            "",
            "Output of the notebook (truncated; included because the instructor "
            "asked):",
            attempt.output,
        ]
    row.reason = "; ".join(r for r in reasons if r)
    if len(row.reason) > 500:
        row.reason = row.reason[:497] + "..."
    row.feedback = "\n".join(lines) + "\n"
    return row
