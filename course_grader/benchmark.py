"""Time the grader on two batches: N honest lesson-3 submissions, and N that all hang.

Usage::

    python -m course_grader.benchmark [--students 30] [--jobs 2] [--cell-timeout 5]
    [--case-timeout 3]

The honest batch is N copies of the lesson-3 solution (each must earn 5/5). In the
hanging batch every student's notebook defines the functions and then hangs in a cell
whose loop swallows every interruption (``except:``), and every function hangs the same
way, so each submission costs a killed cell, a restart, and a killed call and a restart
per exercise: the worst case. (The loops sleep rather than spin, to spare a shared
machine; the grader's cost is the same.) Prints one line per batch (wall seconds,
seconds per submission, the statuses) and the load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from course_grader.cli import grade_batch, load_exercises, select_exercises
from course_grader.grade import GradeConfig

ROOT = Path(__file__).resolve().parents[1]
HANG = """
import time


def _hang(*args, **kwargs):
    while True:
        try:
            time.sleep(0.05)
        except:  # noqa: E722 - the point: swallow the time limit
            pass


gaussian_kl = reparameterize = vae_loss = elbo_per_image = bce_excess = _hang

# %%
_hang()
"""


def _run(
    folder: Path, config: GradeConfig, jobs: int
) -> tuple[float, Counter[str], list[float]]:
    exercises = select_exercises(load_exercises(), lessons=[3])
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        rows, _ = grade_batch(folder, Path(out), exercises, config, jobs)
        seconds = time.monotonic() - started
    return (
        seconds,
        Counter(f"{r.status} {r.total:g}" for r in rows),
        [r.seconds for r in rows],
    )


def main(argv: list[str] | None = None) -> int:
    """Build both batches in a temporary folder, grade them, print the timings."""
    parser = argparse.ArgumentParser(
        prog="python -m course_grader.benchmark", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cell-timeout", type=float, default=5)
    parser.add_argument("--case-timeout", type=float, default=3)
    parser.add_argument("--skip-hanging", action="store_true")
    args = parser.parse_args(argv)
    config = GradeConfig(
        cell_timeout=args.cell_timeout, case_timeout=args.case_timeout, timeout=600
    )
    solution = (ROOT / "solutions" / "lesson3_exercises.md").read_text()
    batches = {"honest": solution}
    if not args.skip_hanging:
        batches["hanging"] = "# %%\n" + HANG
    for name, text in batches.items():
        with tempfile.TemporaryDirectory() as folder:
            for k in range(args.students):
                suffix = ".md" if name == "honest" else ".py"
                (Path(folder) / f"student{k:03d}{suffix}").write_text(text)
            seconds, statuses, each = _run(Path(folder), config, args.jobs)
        print(
            f"{name}: {args.students} submissions, --jobs {args.jobs}, cell/case "
            f"timeouts {args.cell_timeout:g}/"
            f"{args.case_timeout:g} s: {seconds:.1f} s wall "
            f"({seconds / args.students:.2f} s per submission; "
            f"each took {min(each):.1f}-{max(each):.1f} s); {dict(statuses)}; load "
            f"average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
