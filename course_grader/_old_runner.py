"""The child process of ``course-grade``: run one submission's cells, then the instructor's cases.

It is started by :mod:`course_lib.grading.grader` in a fresh temporary directory with a spec file,
and it

1. limits itself (``resource.setrlimit``): address-space data, CPU seconds, file size, no core dumps;
2. executes the submission cell by cell in one namespace, each cell under a time limit
   (``SIGALRM``), so an exception, ``sys.exit()`` or an endless loop in one cell only loses that
   cell; printed output is truncated;
3. looks up each exercise's function and runs its cases, each under a time limit;
4. writes a JSON result file atomically.

The functions :func:`extract_cells` and :func:`execute_cells` are also used in-process by tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SUPPORTED = (".ipynb", ".md", ".py")


class SubmissionError(ValueError):
    """The file is not a readable submission (not a notebook, wrong type, too large)."""


class TimeLimit(BaseException):
    """Raised by the alarm; a BaseException so that a student's ``except Exception`` cannot swallow it."""


def _neutralise_magics(source: str) -> str:
    """Replace IPython magics and shell escapes (``%pip``, ``!ls``) by ``pass`` at the same indentation."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            out.append(line[: len(line) - len(stripped)] + "pass  # magic removed by the grader")
        else:
            out.append(line)
    return "\n".join(out)


def extract_cells(path: Path, max_bytes: int = 100_000_000) -> list[str]:
    """The code cells of a submission, in order.

    ``.ipynb``: the code cells of the JSON notebook (as downloaded from Colab or Jupyter; outputs are
    ignored, but count towards ``max_bytes``).
    ``.md``: the code cells of a jupytext MyST (or plain ```` ```python ````) markdown notebook.
    ``.py``: cells separated by ``# %%`` lines, or the whole file as one cell.

    Raises:
        SubmissionError: for another file type, a file over ``max_bytes``, or a file that does not parse.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SubmissionError(f"unsupported file type {suffix or '(none)'!r}; submit .ipynb, .md or .py")
    if path.stat().st_size > max_bytes:
        raise SubmissionError(f"file is larger than {max_bytes // 1_000_000} MB; clear the outputs and resubmit")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionError(f"not a text file (not UTF-8 at byte {error.start}); a notebook is JSON text") from None
    if suffix == ".ipynb":
        try:
            notebook = json.loads(text)
        except json.JSONDecodeError as error:
            raise SubmissionError(f"not a Jupyter notebook: invalid JSON at line {error.lineno}") from None
        cells = notebook.get("cells") if isinstance(notebook, dict) else None
        if not isinstance(cells, list):
            raise SubmissionError("not a Jupyter notebook: no list of 'cells' in the JSON")
        sources = []
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                sources.append("".join(source) if isinstance(source, list) else str(source))
        return [_neutralise_magics(s) for s in sources]
    if suffix == ".md":
        if "{code-cell}" in text:
            pattern = r"^(`{3,})\{code-cell\}[^\n]*\n((?::[^\n]*\n)*)(.*?)^\1[ \t]*$"
            return [_neutralise_magics(m.group(3)) for m in re.finditer(pattern, text, re.M | re.S)]
        return [_neutralise_magics(m.group(2))
                for m in re.finditer(r"^(`{3,})(?:python|py|ipython3)[ \t]*\n(.*?)^\1[ \t]*$", text, re.M | re.S)]
    parts = re.split(r"^# ?%%[^\n]*$", text, flags=re.M)
    return [_neutralise_magics(p) for p in parts if any(ln.strip() and not ln.lstrip().startswith("#")
                                                       for ln in p.splitlines())]


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimit` in the main thread after ``seconds`` (no limit when <= 0)."""
    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeLimit(f"time limit of {seconds:.0f} s exceeded")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class CappedStream(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        note = f"\n[... {self.dropped} more characters of output dropped]" if self.dropped else ""
        return "".join(self.parts) + note


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    if isinstance(error, TimeLimit):
        return f"timed out ({text})"
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    if isinstance(error, MemoryError):
        return "ran out of memory (MemoryError)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def execute_cells(cells: list[str], namespace: dict[str, Any], *, cell_timeout: float = 0.0,
                  deadline: float | None = None, output: CappedStream | None = None) -> list[str]:
    """Run ``cells`` in ``namespace`` one by one; return a list of problems ("cell 3: ...").

    Every error is caught per cell (``SyntaxError``, any exception, ``SystemExit``, the time limit)
    and execution goes on with the next cell. Output goes to ``output`` (if given).
    """
    problems: list[str] = []
    stream = output or CappedStream(20_000)
    for number, source in enumerate(cells, 1):
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            problems.append(f"cell {number}: skipped, the submission ran out of time")
            continue
        limit = cell_timeout if remaining is None else (min(cell_timeout, remaining) if cell_timeout else remaining)
        try:
            code = compile(source, f"<cell {number}>", "exec")
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None)
            problems.append(f"cell {number}: SyntaxError{f' at line {line}' if line else ''}: "
                            f"{getattr(error, 'msg', error)}")
            continue
        try:
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream), time_limit(limit or 0):
                exec(code, namespace)  # noqa: S102 - running the submission is the point
        except BaseException as error:  # noqa: BLE001 - a submission may raise anything, even SystemExit
            problems.append(f"cell {number}: {_describe(error)}")
    return problems


def _seed(seed: int) -> None:
    """Seed Python's, NumPy's (if loaded) and torch's global generators."""
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)


def _display(*objects: Any, **kwargs: Any) -> None:
    """Stand-in for IPython's ``display`` (not defined outside a kernel): print the objects' reprs."""
    for obj in objects:
        print(repr(obj))


def _load_exercises(tests: str | None) -> list[Any]:
    from course_lib.grading.grader import load_exercises

    return load_exercises(Path(tests) if tests else None)


def grade_namespace(namespace: dict[str, Any], exercises: list[Any], case_timeout: float,
                    deadline: float | None = None) -> list[dict[str, Any]]:
    """Run each exercise's cases on the submission's function; one JSON-able dict per exercise.

    Each case runs under ``case_timeout`` seconds (and never past ``deadline``, a ``time.monotonic``
    value); after a case times out, the exercise's remaining cases are skipped (they fail).
    """
    from course_lib.grading.core import CaseResult, run_case

    results = []
    for exercise in exercises:
        _seed(0)  # the same random state for every exercise, whatever ran before: reproducible grades
        cases = exercise.all_cases()
        fn = namespace.get(exercise.function)
        entry: dict[str, Any] = {"name": exercise.name, "function": exercise.function, "total": len(cases),
                                 "points_max": exercise.points}
        if fn is None or not callable(fn):
            problem = "is not defined" if fn is None else f"is a {type(fn).__name__}, not a function"
            entry.update(passed=0, points=0.0, reason=f"{exercise.function} {problem}", cases=[])
            results.append(entry)
            continue
        outcomes = []
        timed_out = False
        for case in cases:
            limit = case_timeout if deadline is None else min(case_timeout, deadline - time.monotonic())
            if timed_out or limit <= 0:
                why = "skipped after a time-out" if timed_out else "skipped: the submission ran out of time"
                outcome = CaseResult(case.description, False, why, case.hint)
            else:
                try:
                    with contextlib.redirect_stdout(CappedStream(0)), time_limit(limit):
                        outcome = run_case(case, fn)
                except BaseException as error:  # noqa: BLE001 - TimeLimit, KeyboardInterrupt, ...
                    timed_out = isinstance(error, TimeLimit)
                    outcome = CaseResult(case.description, False, _describe(error), case.hint)
            outcomes.append({"description": outcome.description, "passed": outcome.passed,
                             "message": outcome.message, "hint": outcome.hint,
                             "not_implemented": outcome.not_implemented})
        passed = sum(o["passed"] for o in outcomes)
        reason = ""
        if passed < len(cases):
            first = next(o for o in outcomes if not o["passed"])
            reason = "not implemented" if all(o["not_implemented"] for o in outcomes if not o["passed"]) \
                else f"{first['description']}: {first['message']}"
        entry.update(passed=passed, points=round(exercise.points * passed / len(cases), 2), reason=reason,
                     cases=outcomes)
        results.append(entry)
    return results


def _limit_resources(memory_mb: int, cpu_seconds: int, file_mb: int) -> None:
    import resource

    for limit, value in ((resource.RLIMIT_DATA, memory_mb * 1024 * 1024), (resource.RLIMIT_CPU, cpu_seconds),
                         (resource.RLIMIT_FSIZE, file_mb * 1024 * 1024), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # a hard limit already lower: keep it
            pass
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit raises OSError instead


def main(spec_path: str) -> int:
    """Grade one submission as described by the JSON spec at ``spec_path`` (see the grader)."""
    spec = json.loads(Path(spec_path).read_text())
    start = time.monotonic()
    _limit_resources(spec["memory_mb"], spec["cpu_seconds"], spec["file_mb"])
    import torch

    torch.set_num_threads(1)
    exercises = _load_exercises(spec["tests"])
    wanted = spec.get("exercises")
    if wanted:
        exercises = [e for e in exercises if e.name in wanted]
    _seed(0)
    output = CappedStream(spec["output_chars"])
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__,
                                 "display": _display}
    deadline = start + spec["timeout"] - spec["grading_reserve"]
    real_stdout, real_stderr, real_exit = sys.stdout, sys.stderr, sys.exit
    problems = execute_cells(spec["cells"], namespace, cell_timeout=spec["cell_timeout"], deadline=deadline,
                             output=output)
    sys.stdout, sys.stderr, sys.exit = real_stdout, real_stderr, real_exit
    if os.path.isdir(spec["sandbox"]):
        os.chdir(spec["sandbox"])  # the submission may have changed directory
    results = grade_namespace(namespace, exercises, spec["case_timeout"], start + spec["timeout"] - 1.0)
    payload = {"problems": problems, "exercises": results, "output": output.getvalue(),
               "seconds": round(time.monotonic() - start, 2)}
    temporary = spec["result"] + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    os.replace(temporary, spec["result"])
    return 0


def child_entry(spec_path: str, log_path: str, sandbox: str, env: dict[str, str]) -> None:
    """Entry point of a child forked by the grader's fork server: isolate, then :func:`main`.

    Leads its own session (so the grader can kill it with everything it starts), sends fds 1 and 2
    to ``log_path``, works in ``sandbox``, takes the grader's environment, and drops the current
    directory from ``sys.path`` (a submission must not shadow modules such as ``torch``).
    """
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(sandbox)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    code = main(spec_path)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
