"""Measured run times of the lessons, shown in each lesson's "Time" box.

The figures are written by ``python tools/time_lessons.py --profile cpu`` (and
``--profile smoke``), which executes each lesson with an empty checkpoint cache (or,
with ``--shared-cache``, with the cache the lessons before it filled, as in the book
build) and records its wall time, the machine, the load average and the cache state in
``course_lib/page/lesson_times.json``. Nothing here is typed by hand. The file is
package data: it ships in the wheel, so a notebook run in Colab (course_lib installed
from the release tag) shows the same figures as the book.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TIMINGS_PATH = Path(__file__).resolve().with_name("lesson_times.json")


def load_timings(
    path: Path | str | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{lesson: {profile: {"seconds": float, "machine": str, "date": str}}}``; empty
    if none recorded."""
    file = Path(path) if path is not None else TIMINGS_PATH
    if not file.is_file():
        return {}
    return json.loads(file.read_text())


NOT_MEASURED = "No run time has been recorded for this lesson."


def timing_markdown(lesson: str, path: Path | str | None = None) -> str:
    """A markdown table of the measured run times of ``lesson`` (e.g.
    ``"lesson0_generative_models"``), written for a student.

    One row per measured student profile: ``cpu`` ("without a GPU") and ``gpu`` ("with
    a GPU"); the CI profile ``smoke`` is not shown. Profiles without a measurement are
    left out; with none at all the text is :data:`NOT_MEASURED`. A measurement taken
    after earlier lessons in one checkpoint cache (``cache_filled_by`` in the file) says
    how many trained models it loaded from them (``models_reused``), or, where that was
    not recorded, which lessons ran before it.
    """
    measured = load_timings(path).get(lesson, {})
    rows = [
        "| run | time | measured on |",
        "| --- | --- | --- |",
    ]
    for profile, label in (("cpu", "without a GPU"), ("gpu", "with a GPU")):
        entry = measured.get(profile)
        if entry is None:
            continue
        seconds = float(entry["seconds"])
        shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
        filled_by = entry.get("cache_filled_by", [])
        reused = entry.get("models_reused")
        if reused:
            shown += f" (it loads {reused} model{'s' * (reused > 1)} an earlier lesson "
            shown += "trained)"
        elif filled_by and reused is None:
            earlier = _lesson_list(filled_by)
            shown += f" (run after {earlier}, as in the book)"
        machine = entry.get("machine", "")
        if "threads" in entry:
            machine += f", {int(entry['threads'])} torch threads"
        if "date" in entry:
            machine += f", {entry['date']}"
        rows.append(f"| {label} | {shown} | {machine} |")
    return "\n".join(rows) if len(rows) > 2 else NOT_MEASURED


def _short_name(lesson: str) -> str:
    """``"lesson3_variational_autoencoders"`` -> ``"lesson 3"``."""
    number = lesson.removeprefix("lesson").split("_")[0]
    return f"lesson {number}" if number.isdigit() else lesson


def _lesson_list(lessons: list[str]) -> str:
    """``["lesson0_x", "lesson1_y", "lesson2_z"]`` -> ``"lessons 0-2"`` (an en dash);
    names that are not a run of consecutive lessons are listed."""
    numbers = [lesson.removeprefix("lesson").split("_")[0] for lesson in lessons]
    if len(numbers) > 1 and all(n.isdigit() for n in numbers):
        first, last = int(numbers[0]), int(numbers[-1])
        if [int(n) for n in numbers] == list(range(first, last + 1)):
            return f"lessons {first}\N{EN DASH}{last}"
    return ", ".join(_short_name(name) for name in lessons)


def show_timings(lesson: str):  # returns an IPython display object
    """Display :func:`timing_markdown` as rendered markdown in a notebook."""
    from IPython.display import Markdown

    return Markdown(timing_markdown(lesson))
