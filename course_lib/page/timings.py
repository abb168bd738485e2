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
PROFILE_ORDER = ("smoke", "cpu", "gpu")


def load_timings(
    path: Path | str | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{lesson: {profile: {"seconds": float, "machine": str, "date": str}}}``; empty
    if none recorded."""
    file = Path(path) if path is not None else TIMINGS_PATH
    if not file.is_file():
        return {}
    return json.loads(file.read_text())


def timing_markdown(lesson: str, path: Path | str | None = None) -> str:
    """A markdown table of the measured run times of ``lesson`` (e.g.
    ``"lesson0_generative_models"``).

    Profiles without a measurement say so instead of guessing. A measurement taken after
    other lessons filled the checkpoint cache (``cache_filled_by`` in the file) says
    which ones.
    """
    measured = load_timings(path).get(lesson, {})
    rows = [
        "| profile | run time (measured) | checkpoint cache | machine |",
        "| --- | --- | --- | --- |",
    ]
    for profile in PROFILE_ORDER:
        entry = measured.get(profile)
        if entry is None:
            rows.append(f"| `{profile}` | not measured yet | | |")
            continue
        filled_by = entry.get("cache_filled_by", [])
        cache = (
            "empty"
            if not filled_by
            else "filled by " + ", ".join(_short_name(name) for name in filled_by)
        )
        seconds = float(entry["seconds"])
        shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
        machine = entry.get("machine", "")
        # a busy machine inflates the time: say how busy it was
        if "load_average_before" in entry:
            machine += f", load average {float(entry['load_average_before']):.1f}"
        rows.append(f"| `{profile}` | {shown} | {cache} | {machine} |")
    return "\n".join(rows)


def _short_name(lesson: str) -> str:
    """``"lesson3_variational_autoencoders"`` -> ``"lesson 3"``."""
    number = lesson.removeprefix("lesson").split("_")[0]
    return f"lesson {number}" if number.isdigit() else lesson


def show_timings(lesson: str):  # returns an IPython display object
    """Display :func:`timing_markdown` as rendered markdown in a notebook."""
    from IPython.display import Markdown

    return Markdown(timing_markdown(lesson))
