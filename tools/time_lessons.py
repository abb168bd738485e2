"""Measure how long each lesson takes under a run profile, with an empty checkpoint
cache.

Usage: python tools/time_lessons.py --profile cpu [--shared-cache] [lessons/lesson3_*.md
...]

Executes each lesson in a fresh kernel (like nbval), records the wall time, the machine
and the load average into course_lib/page/lesson_times.json (read by
course_lib.page.timings for the lessons' "Time" boxes; package data, so it ships in the
wheel). Run it on an otherwise idle machine: the load average is recorded so a reader
can judge.

By default every lesson starts from an empty checkpoint cache. With --shared-cache the
lessons run in the order given with one cache, as in the book build or a student working
through the course; each entry then records which earlier lessons filled the cache
(lesson 7 reuses the models of 3-6).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

from course_lib.page.timings import TIMINGS_PATH

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = TIMINGS_PATH


def machine_description(profile: str) -> str:
    if profile == "gpu":
        import torch

        return (
            torch.cuda.get_device_name(0)
            if torch.cuda.is_available()
            else "gpu profile on a CPU"
        )
    return f"{os.cpu_count()} CPU cores ({platform.machine()})"


def threads() -> int:
    """The torch threads a lesson gets: ``OMP_NUM_THREADS`` if set, else every core (as
    in the book build, tools/build_book.sh)."""
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def time_lesson(
    path: Path, profile: str, timeout: int, cache: str
) -> tuple[float, int]:
    """Execute the notebook at ``path`` with checkpoint cache ``cache``; return the wall
    time in seconds and the number of models it loaded from the cache (counted in the
    file ``COURSE_CACHE_HITS`` names, see :func:`course_lib.cache.cached_training`)."""
    notebook = jupytext.read(path)
    with tempfile.TemporaryDirectory() as folder:
        hits = Path(folder) / "hits.txt"
        os.environ.update(
            OMP_NUM_THREADS=str(threads()),
            COURSE_PROFILE=profile,
            COURSE_CACHE=cache,
            COURSE_CACHE_HITS=str(hits),
            COURSE_PROGRESS="plain",
            COURSE_STATIC_WIDGETS="1",
        )
        started = time.perf_counter()
        try:
            NotebookClient(
                notebook,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        finally:
            del os.environ["COURSE_CACHE_HITS"]
        return time.perf_counter() - started, models_loaded(hits)


def models_loaded(hits: Path) -> int:
    """How many trained models were loaded from the checkpoint cache: the lines of the
    ``COURSE_CACHE_HITS`` file (none when it was never written)."""
    return len(hits.read_text().splitlines()) if hits.is_file() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", required=True, choices=("smoke", "cpu", "gpu"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument(
        "--shared-cache",
        action="store_true",
        help="run the lessons in order with one checkpoint cache (default: an empty "
        "cache each)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="with --shared-cache: keep the shared checkpoint cache in this folder "
        "(e.g. to build the book from it afterwards) instead of a temporary one",
    )
    parser.add_argument("lessons", nargs="*", type=Path)
    args = parser.parse_args()
    lessons = args.lessons or sorted((ROOT / "lessons").glob("lesson*.md"))
    timings = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    if args.cache and not args.shared_cache:
        parser.error("--cache needs --shared-cache")
    with tempfile.TemporaryDirectory() as temporary:
        shared = str(args.cache.resolve()) if args.cache else temporary
        for index, path in enumerate(lessons):
            load_before = os.getloadavg()[0]
            if args.shared_cache:
                seconds, reused = time_lesson(
                    path.resolve(), args.profile, args.timeout, shared
                )
                filled_by = [p.stem for p in lessons[:index]]
            else:
                with tempfile.TemporaryDirectory() as empty:
                    seconds, reused = time_lesson(
                        path.resolve(), args.profile, args.timeout, empty
                    )
                filled_by = []
            record(
                timings,
                path.stem,
                args.profile,
                seconds,
                load_before,
                filled_by,
                reused,
            )
            print(
                f"{path.stem}: {seconds:.1f} s under {args.profile} (load before "
                f"{load_before:.2f}"
                + (
                    f", cache filled by {', '.join(filled_by)})"
                    if filled_by
                    else ", empty cache)"
                ),
                flush=True,
            )


def record(
    timings: dict,
    lesson: str,
    profile: str,
    seconds: float,
    load_before: float,
    filled_by: list[str],
    reused: int = 0,
) -> None:
    """Store one measurement in ``timings`` and write
    course_lib/page/lesson_times.json."""
    entry = {
        "seconds": round(seconds, 1),
        "machine": machine_description(profile),
        "threads": threads(),
        "load_average_before": round(load_before, 2),
        "date": datetime.date.today().isoformat(),
    }
    if filled_by:
        entry["cache_filled_by"] = filled_by
        entry["models_reused"] = reused
    timings.setdefault(lesson, {})[profile] = entry
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
