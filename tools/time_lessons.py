"""Measure how long each lesson takes under a run profile, with an empty checkpoint cache.

Usage: python tools/time_lessons.py --profile cpu [lessons/lesson3_*.md ...]

Executes each lesson in a fresh kernel (like nbval), records the wall time, the machine and the
load average into benchmarks/lesson_times.json (read by course_lib.timings for the lessons'
"Time" boxes). Run it on an otherwise idle machine: the load average is recorded so a reader can judge.
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

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "benchmarks" / "lesson_times.json"


def machine_description(profile: str) -> str:
    if profile == "gpu":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "gpu profile on a CPU"
    return f"{os.cpu_count()} CPU cores ({platform.machine()})"


def time_lesson(path: Path, profile: str, timeout: int) -> float:
    notebook = jupytext.read(path)
    with tempfile.TemporaryDirectory() as cache:
        os.environ.update(COURSE_PROFILE=profile, COURSE_CACHE=cache, COURSE_PROGRESS="plain",
                          COURSE_STATIC_WIDGETS="1")
        started = time.perf_counter()
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", required=True, choices=("smoke", "cpu", "gpu"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("lessons", nargs="*", type=Path)
    args = parser.parse_args()
    lessons = args.lessons or sorted((ROOT / "lessons").glob("lesson*.md"))
    timings = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    for path in lessons:
        load_before = os.getloadavg()[0]
        seconds = time_lesson(path.resolve(), args.profile, args.timeout)
        entry = {
            "seconds": round(seconds, 1),
            "machine": machine_description(args.profile),
            "load_average_before": round(load_before, 2),
            "date": datetime.date.today().isoformat(),
        }
        timings.setdefault(path.stem, {})[args.profile] = entry
        OUTPUT.parent.mkdir(exist_ok=True)
        OUTPUT.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
        print(f"{path.stem}: {seconds:.1f} s under {args.profile} (load before {load_before:.2f})", flush=True)


if __name__ == "__main__":
    main()
