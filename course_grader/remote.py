"""The grader's stand-in for a student's function: calling it runs the real one in the
sandbox.

Cases (public and hidden) are written against a function ``fn``. In the grader, ``fn``
is a :class:`RemoteFunction`: its arguments travel to the sandbox as plain data, the
student's code runs there, and only plain data comes back (tensors as bytes, numbers,
strings, tuples, ...). The case then judges that data here, in the grader's process,
which never imports student code: a submission cannot patch the comparison, return an
object that always compares equal, or see the expected values.

Outcomes other than a value become exceptions that
:func:`course_lib.grading.core.run_case` reports: the student's own exception (by its
name and message), or :class:`~course_lib.grading.core.CaseStopped` for a time limit or
a sandbox that ended.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from course_grader.sandbox import Sandbox, Stopped
from course_lib.grading.core import CaseStopped

_NAME = re.compile(r"[^A-Za-z0-9_]")


class FunctionMissing(Exception):
    """The submission does not define the exercise's function (or it is not
    callable)."""


@dataclass
class Session:
    """One sandbox serving calls for one submission, with the time limits of the grader.

    Attributes:
        case_timeout: seconds one call may take (the worker stops it; the grader kills
            the sandbox ``kill_margin`` seconds later if it did not).
        deadline: ``time.monotonic()`` by which the whole submission must be done.
        broken: why the sandbox is no longer usable ("" while it is).
        timed_out: set when the last call hit its time limit (the exercise stops there).
    """

    sandbox: Sandbox
    case_timeout: float
    kill_margin: float
    deadline: float
    broken: str = ""
    timed_out: bool = False
    # requests sent; each reply must carry its request's number
    calls: int = field(default=0)

    def request(self, message: dict[str, Any], limit: float) -> Any:
        """Send ``message`` and wait for the reply for ``limit`` seconds (plus the
        margin)."""
        if self.broken:
            raise CaseStopped(f"skipped: {self.broken}")
        deadline = min(time.monotonic() + limit + self.kill_margin, self.deadline)
        self.calls += 1
        message = {**message, "id": self.calls}
        try:
            self.sandbox.send(message, deadline)
            # frames without this request's id are stale (a forked child's, a late
            # reply)
            while True:
                reply = self.sandbox.receive(deadline)
                if isinstance(reply, dict) and reply.get("id") == self.calls:
                    return reply
        except Stopped as stop:
            out_of_time = time.monotonic() >= self.deadline
            self.broken = (
                "the submission ran out of time"
                if out_of_time
                else f"the call did not finish ({stop}); the sandbox was stopped"
                if str(stop) == "timed out"
                else f"{stop} during the call (os._exit, a crash or a memory limit)"
            )
            self.timed_out = True
            self.sandbox.kill()
            raise CaseStopped(self.broken) from None

    def begin(self, function: str, seed: int = 0) -> None:
        """Reseed the sandbox's generators before an exercise; :class:`FunctionMissing`
        if undefined."""
        reply = self.request(
            {"op": "begin", "function": function, "seed": seed}, self.case_timeout
        )
        if isinstance(reply, dict) and reply.get("status") == "missing":
            raise FunctionMissing(
                str(reply.get("message", f"{function} is not defined"))
            )

    def call(
        self,
        function: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        probe: str | None = None,
    ) -> Any:
        """Run ``function(*args, **kwargs)`` (or the probe ``probe`` on it) in the
        sandbox; return its value."""
        limit = max(0.1, min(self.case_timeout, self.deadline - time.monotonic()))
        reply = self.request(
            {
                "op": "call",
                "function": function,
                "probe": probe,
                "args": list(args),
                "kwargs": dict(kwargs),
                "timeout": round(limit, 2),
            },
            limit,
        )
        status = reply.get("status") if isinstance(reply, dict) else None
        if status == "ok":
            _copy_back(args, reply.get("mutated"))
            return reply.get("value")
        message = str(reply.get("message", "")) if isinstance(reply, dict) else ""
        if status == "timeout":
            self.timed_out = True
            raise CaseStopped(message or "timed out")
        if status == "exit":
            raise CaseStopped(message)
        if status == "missing":
            raise FunctionMissing(message)
        if status == "error":
            raise _student_exception(
                str(reply.get("type", "Exception")),
                str(reply.get("builtin", "")),
                message,
            )
        self.broken = "the sandbox sent a malformed reply"
        self.sandbox.kill()
        raise CaseStopped(self.broken)


def _copy_back(args: Sequence[Any], mutated: Any) -> None:
    """Apply in-place changes the student's function made to tensor arguments to the
    grader's copies."""
    if not isinstance(mutated, dict):
        return
    for key, value in mutated.items():
        index = int(key) if str(key).isdigit() else -1
        if (
            0 <= index < len(args)
            and isinstance(args[index], torch.Tensor)
            and isinstance(value, torch.Tensor)
            and value.shape == args[index].shape
        ):
            with torch.no_grad():
                args[index].copy_(value.to(args[index].dtype))


def _student_exception(name: str, builtin: str, message: str) -> Exception:
    """An exception named like the student's, of its nearest built-in class (so
    ``except ValueError`` works)."""
    base = getattr(builtins, builtin, Exception)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    clean = _NAME.sub("_", name)[:60] or "Exception"
    if clean[0].isdigit():
        clean = "_" + clean
    return type(clean, (base,), {})(message)


class RemoteFunction:
    """Stands for the submission's function ``name`` in the cases; calls go to the
    sandbox."""

    def __init__(self, session: Session, name: str) -> None:
        self.session, self.__name__ = session, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.session.call(self.__name__, args, kwargs)

    def __course_remote_probe__(
        self, kind: str, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> Any:
        """Run the probe ``kind`` (:mod:`course_lib.grading.probes`) on the function, in
        the sandbox."""
        return self.session.call(self.__name__, args, kwargs, probe=kind)
