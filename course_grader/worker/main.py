"""The process inside the sandbox: read the submission, run its cells, then call its
functions on request.

Started by the grader inside bubblewrap with the protocol on stdin/stdout (see
:mod:`.wire`).

1. It moves the protocol to private descriptors and points fds 0-2 at ``/dev/null``, so
   the submission's prints and reads cannot touch the protocol by accident (on purpose
   they can, but then they only spoil their own results: the grader judges data, never
   trusts a verdict).
2. It parses the submission (:mod:`.cells`), reports ``parsed``, then runs each cell
   under a time limit, announcing ``cell n`` first, so that a grader which has to kill a
   cell knows which one.
3. It answers ``call`` requests: the student's function (or a probe around it, from
   :mod:`course_lib.grading.probes`) on the inputs sent, the return value sent back as
   plain data.

Nothing here knows an expected value: the cases stay in the grader.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import wire
from .cells import SubmissionError, extract_cells


class TimeLimit(BaseException):
    """Raised by the alarm; a BaseException, so ``except Exception`` in student code
    does not catch it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimit` after ``seconds``, and again every 0.2 s while the code
    keeps running."""
    if seconds <= 0:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeLimit(f"time limit of {seconds:g} s exceeded")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class CappedStream(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.dropped = limit, 0, 0
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        text = str(text)
        room = max(self.limit - self.size, 0)
        if room:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - room)
        return len(text)

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        note = (
            f"\n[... {self.dropped} more characters of output dropped]"
            if self.dropped
            else ""
        )
        return "".join(self.parts) + note


def describe(error: BaseException) -> str:
    """One line naming what went wrong, safe to show the student."""
    text = " ".join(str(error).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    if isinstance(error, TimeLimit):
        return f"timed out ({text})"
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    if isinstance(error, MemoryError):
        return "ran out of memory (MemoryError)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _display(*objects: Any, **kwargs: Any) -> None:
    """Stand-in for IPython's ``display`` outside a kernel: print the objects' reprs."""
    for obj in objects:
        print(repr(obj))


class Worker:
    """One submission's namespace and the two protocol descriptors."""

    def __init__(self, inbound: int, outbound: int) -> None:
        self.inbound = os.fdopen(inbound, "rb", buffering=0)
        self.outbound = outbound
        self.namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__builtins__": __builtins__,
            "display": _display,
        }

    def send(self, value: Any) -> None:
        try:
            wire.write_frame(self.outbound, value)
        # the value could not be encoded (a hostile tensor subclass, ...)
        except Exception as error:
            wire.write_frame(
                self.outbound,
                {
                    "status": "error",
                    "type": "ValueError",
                    "builtin": "ValueError",
                    "message": "the return value could not be sent "
                    f"({describe(error)})",
                    "id": value.get("id") if isinstance(value, dict) else None,
                },
            )

    def run_cells(
        self,
        cells: list[str],
        skip: set[int],
        cell_timeout: float,
        output: CappedStream,
    ) -> list[str]:
        """Run every cell not in ``skip``; a failing cell is one problem and execution
        goes on."""
        problems = []
        for number, source in enumerate(cells, 1):
            if number in skip:
                problems.append(
                    f"cell {number}: skipped (in an earlier run it did not finish: "
                    "an endless loop, a crash or os._exit)"
                )
                continue
            self.send({"event": "cell", "n": number})
            try:
                code = compile(source, f"<cell {number}>", "exec")
            except (SyntaxError, ValueError) as error:
                line = getattr(error, "lineno", None)
                problems.append(
                    f"cell {number}: SyntaxError{f' at line {line}' if line else ''}: "
                    f"{getattr(error, 'msg', error)}"
                )
                continue
            try:
                with (
                    contextlib.redirect_stdout(output),
                    contextlib.redirect_stderr(output),
                    time_limit(cell_timeout),
                ):
                    exec(code, self.namespace)  # running the submission is the point
            # a submission may raise anything, even SystemExit
            except BaseException as error:
                problems.append(f"cell {number}: {describe(error)}")
        return problems

    def lookup(self, name: str) -> tuple[Any, dict[str, Any]]:
        """The submission's callable ``name`` and an ``ok`` reply, or ``None`` and a
        ``missing`` reply."""
        fn = self.namespace.get(name)
        if fn is None or not callable(fn):
            problem = (
                "is not defined"
                if fn is None
                else f"is a {type(fn).__name__}, not a function"
            )
            return None, {"status": "missing", "message": f"{name} {problem}"}
        return fn, {"status": "ok"}

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one ``call`` request on the submission's function and describe the
        outcome."""
        fn, missing = self.lookup(str(request.get("function")))
        if fn is None:
            return missing
        args, kwargs = list(request.get("args", ())), dict(request.get("kwargs", {}))
        before = {i: a.detach().clone() for i, a in enumerate(args) if _is_tensor(a)}
        probe = request.get("probe")
        try:
            with (
                contextlib.redirect_stdout(CappedStream(0)),
                contextlib.redirect_stderr(CappedStream(0)),
                time_limit(float(request.get("timeout", 10))),
            ):
                if probe is None:
                    value = fn(*args, **kwargs)
                else:
                    from course_lib.grading.probes import PROBES

                    value = PROBES[str(probe)](fn, *args, **kwargs)
        except TimeLimit:
            return {
                "status": "timeout",
                "message": f"timed out after {request.get('timeout')} s",
            }
        except SystemExit as stop:
            return {
                "status": "exit",
                "message": f"the function called sys.exit({stop.code!r})",
            }
        except BaseException as error:  # the student's exception, reported by name
            builtin = next(
                (
                    c.__name__
                    for c in type(error).__mro__
                    if c.__module__ == "builtins" and issubclass(c, Exception)
                ),
                "Exception",
            )
            return {
                "status": "error",
                "type": type(error).__name__,
                "builtin": builtin,
                "message": " ".join(str(error).split())[:300],
            }
        mutated = {
            str(i): args[i].detach()
            for i, old in before.items()
            if _is_tensor(args[i])
            and args[i].shape == old.shape
            and not _same(args[i], old)
        }
        return {"status": "ok", "value": value, "mutated": mutated}

    def serve(self) -> int:
        """The whole session: start message, parsing, cells, then calls until ``stop``
        or EOF."""
        start = wire.read_frame(self.inbound)
        try:
            cells = extract_cells(
                Path(start["submission"]), int(start.get("max_bytes", 50_000_000))
            )
        except (SubmissionError, OSError) as error:
            self.send({"event": "invalid", "reason": str(error)})
            return 0
        import torch

        torch.set_num_threads(1)
        _seed(0)
        self.send({"event": "parsed", "cells": len(cells)})
        output = CappedStream(int(start.get("output_chars", 20_000)))
        os.chdir(start.get("cwd", "/tmp"))
        problems = self.run_cells(
            cells,
            {int(n) for n in start.get("skip", [])},
            float(start["cell_timeout"]),
            output,
        )
        self.send(
            {
                "event": "ready",
                "problems": problems,
                "output": output.getvalue() if start.get("include_output") else "",
            }
        )
        while True:
            try:
                request = wire.read_frame(self.inbound)
            except EOFError:
                return 0
            op = request.get("op") if isinstance(request, dict) else None
            if op == "stop":
                return 0
            if op == "begin":
                _seed(int(request.get("seed", 0)))
                reply = self.lookup(str(request.get("function")))[1]
            elif op == "call":
                reply = self.call(request)
            else:
                reply = {
                    "status": "error",
                    "type": "ValueError",
                    "builtin": "ValueError",
                    "message": f"unknown request {op!r}",
                }
            self.send(
                {
                    **reply,
                    "id": request.get("id") if isinstance(request, dict) else None,
                }
            )


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _same(a: Any, b: Any) -> bool:
    import torch

    return bool(torch.equal(a.detach(), b)) if a.dtype == b.dtype else False


def _seed(seed: int) -> None:
    """Seed Python's, NumPy's (if loaded) and torch's global generators."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)


def main() -> int:
    """Entry point in the sandbox: take the protocol off fds 0 and 1, then serve."""
    inbound, outbound = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdin = open(os.devnull)  # lives as long as the process
    sys.stdout = sys.stderr = CappedStream(0)
    return Worker(inbound, outbound).serve()


if __name__ == "__main__":
    sys.exit(main())
