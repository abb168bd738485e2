"""``grades.csv`` and the feedback files, written as each submission finishes, resumable
after a stop.

* Each row is appended, flushed and synced as soon as its submission is graded, so a
  crash or a Ctrl-C keeps every finished row; a rerun with the same ``--out`` skips the
  submissions already in the CSV (a half-written last line is dropped first).
* Cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return) get a leading apostrophe; the points columns are numbers
  the grader wrote.
* Feedback files get a safe name (letters, digits, ``.-_`` and a short hash of the real
  name), listed in the CSV's ``feedback`` column, so any submission name works.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

from course_grader.grade import STATUSES, Row
from course_lib.errors import CourseInputError
from course_lib.grading.core import Exercise

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading apostrophe when it starts like a
    formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def restore(text: str) -> str:
    """The inverse of :func:`neutralise` (to recognise finished submissions on a
    rerun)."""
    return (
        text[1:]
        if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_START)
        else text
    )


def feedback_name(submission: str) -> str:
    """A file name for ``submission``'s feedback that is safe on any system and unique
    per submission."""
    digest = hashlib.sha256(submission.encode("utf-8", "backslashreplace")).hexdigest()[
        :10
    ]
    stem = _UNSAFE.sub("_", submission).strip("._")[:80] or "submission"
    return f"{stem}-{digest}.txt"


class GradeBook:
    """The output folder: ``grades.csv`` (one row per submission) and ``feedback/``."""

    def __init__(self, out: Path, exercises: Sequence[Exercise]) -> None:
        self.out, self.exercises = out, list(exercises)
        self.header = [
            "submission",
            "status",
            *[e.name for e in exercises],
            "total",
            "max_total",
            "reason",
            "feedback",
        ]
        self.max_total = round(sum(e.points for e in exercises), 2)
        self.path = out / "grades.csv"
        self.feedback = out / "feedback"
        self.done: dict[str, str] = {}
        out.mkdir(parents=True, exist_ok=True)
        self.feedback.mkdir(exist_ok=True)
        self._resume()

    def _resume(self) -> None:
        """Read the rows of an earlier run; keep the complete ones; refuse a CSV of
        other exercises."""
        if not self.path.exists():
            self._write_rows([])
            return
        text = self.path.read_text(encoding="utf-8", errors="replace")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or rows[0] != self.header:
            raise CourseInputError(
                f"{self.path} holds grades for other exercises or another grader "
                "version; pass another --out folder or move that file away"
            )
        complete = [
            r for r in rows[1:] if len(r) == len(self.header) and r[1] in STATUSES
        ]
        if len(complete) != len(rows) - 1 or not text.endswith("\n"):
            self._write_rows(complete)  # drop a line cut short by a crash
        self.done = {restore(r[0]): r[1] for r in complete}

    def _write_rows(self, rows: list[list[str]]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.header)
        writer.writerows(rows)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(buffer.getvalue(), encoding="utf-8")
        os.replace(temporary, self.path)

    def add(self, row: Row) -> None:
        """Write ``row``'s feedback file, then append its CSV line and push it to the
        disk."""
        name = feedback_name(row.submission)
        temporary = self.feedback / f".{name}.tmp"
        temporary.write_text(row.feedback, encoding="utf-8", errors="backslashreplace")
        os.replace(temporary, self.feedback / name)
        cells = [
            neutralise(row.submission),
            row.status,
            *[f"{row.points.get(e.name, 0.0):g}" for e in self.exercises],
            f"{row.total:g}",
            f"{self.max_total:g}",
            neutralise(" ".join(row.reason.split())),
            name,
        ]
        buffer = io.StringIO()
        csv.writer(buffer).writerow(cells)
        with open(
            self.path, "a", encoding="utf-8", errors="backslashreplace"
        ) as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        self.done[row.submission] = row.status
