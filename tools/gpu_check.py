"""The maintainer's GPU check, under 10 minutes on one GPU: every lesson, timed, and the
VAE and DCGAN benchmarks.

Usage (on a machine with one CUDA GPU, in the course's environment)::

    python tools/gpu_check.py --dry-run          # what it would run, and where it
    writes python tools/gpu_check.py                    # run it: writes
    benchmarks/gpu/gpu_check.{json,md}

1. **Every lesson under a short GPU budget**: each ``lessons/lessonN_*.md`` executed in
   a fresh kernel (as nbval and the book do) with the ``cpu`` profile's budgets --
   meaningful results, the budgets a student without a GPU gets -- on the GPU, with one
   shared checkpoint cache in lesson order (as in the book build).
   ``--lesson-profile gpu --record`` instead runs the full ``gpu`` budgets and writes
   the times into the lessons' ``gpu`` rows (``course_lib/page/lesson_times.json``).
2. **The VAE and DCGAN benchmark rows** under the ``gpu`` profile:
   ``python -m benchmarks --profile gpu --only vae --only gan_samples``, figures against
   their targets.
3. The time of each part, the GPU, torch and the load average, written to
   ``<out>/gpu_check.json`` and ``<out>/gpu_check.md``.

Parts that would start after ``--deadline-minutes`` (default 10) are not started and are
listed as not run; the command then exits with status 1, as it does when a lesson fails
or a target is missed. Without a CUDA GPU it refuses to run (``--allow-cpu`` runs it
anyway, for testing this script with ``--lesson-profile smoke --bench-profile smoke``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

BENCHMARKS = ("vae", "gan_samples")
"""The benchmark rows of the check: the VAE likelihoods and the DCGAN's samples."""


@dataclass
class Part:
    """One timed part of the check.

    Attributes:
        name: ``lesson3_variational_autoencoders`` or ``benchmarks: vae, gan_samples``.
        command: what runs, in words a maintainer can paste (for the benchmarks) or
            read.
        status: ``"passed"``, ``"failed"``, ``"not run"`` (deadline) or ``"planned"``
            (dry run).
        seconds: wall time, ``None`` when not run.
        detail: the error, or the benchmark table.
        models_reused: for a lesson, how many trained models it loaded from the cache
            the lessons before it filled.
    """

    name: str
    command: str
    status: str = "planned"
    seconds: float | None = None
    detail: str = ""
    models_reused: int = 0


@dataclass
class Report:
    """The whole check, as written to ``gpu_check.json``."""

    device: str
    torch: str
    lesson_profile: str
    bench_profile: str
    date: str
    load_average_before: float
    deadline_minutes: float
    parts: list[Part] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(p.seconds or 0.0 for p in self.parts)

    def markdown(self) -> str:
        """The report as a markdown table plus the benchmark table."""
        lines = [
            f"GPU check, {self.date}: {self.device}, torch {self.torch}; lessons "
            f"under `{self.lesson_profile}`, "
            f"benchmarks under `{self.bench_profile}`; load average before "
            f"{self.load_average_before:.2f}; "
            f"total {self.total_seconds:.0f} s (deadline {self.deadline_minutes:g} "
            "min).",
            "",
            "| part | status | seconds |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {p.name} | {p.status} | "
            f"{'' if p.seconds is None else f'{p.seconds:.1f}'} |"
            for p in self.parts
        ]
        tables = [p for p in self.parts if p.detail and p.name.startswith("benchmarks")]
        for part in tables:
            lines += ["", f"`{part.command}`:", "", "```", part.detail.rstrip(), "```"]
        failures = [
            p
            for p in self.parts
            if p.status == "failed" and not p.name.startswith("benchmarks")
        ]
        for part in failures:
            lines += ["", f"{part.name} failed: {part.detail}"]
        return "\n".join(lines) + "\n"


def plan(
    lessons: list[Path],
    lesson_profile: str,
    bench_profile: str,
    benchmarks: tuple[str, ...],
) -> list[Part]:
    """The parts of the check, in the order they run."""
    parts = [
        Part(
            path.stem,
            f"execute {path.relative_to(ROOT)} (COURSE_PROFILE={lesson_profile}, "
            "shared cache)",
        )
        for path in lessons
    ]
    if benchmarks:
        only = " ".join(f"--only {name}" for name in benchmarks)
        parts.append(
            Part(
                f"benchmarks: {', '.join(benchmarks)}",
                f"python -m benchmarks --profile {bench_profile} {only}",
            )
        )
    return parts


def device_description() -> tuple[str, str]:
    """``(device, torch version)``: the GPU's name, or the CPU when there is none."""
    import torch

    if torch.cuda.is_available():
        return (
            f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})",
            torch.__version__,
        )
    return f"CPU only, {os.cpu_count()} cores ({platform.machine()})", torch.__version__


def run_lesson(part: Part, path: Path, profile: str, cache: str, timeout: int) -> None:
    """Execute one lesson (tools/time_lessons.py's runner) and fill ``part``."""
    from time_lessons import time_lesson

    started = time.perf_counter()
    try:
        seconds, part.models_reused = time_lesson(path, profile, timeout, cache)
        part.seconds = round(seconds, 1)
        part.status = "passed"
    # any failing cell: record it, go on with the next lesson
    except Exception as error:
        part.seconds = round(time.perf_counter() - started, 1)
        part.status = "failed"
        part.detail = (
            f"{type(error).__name__}: "
            f"{str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
        )


def run_benchmarks(part: Part, out: Path, timeout: int) -> None:
    """Run the benchmark command of ``part``; keep its table and JSON."""
    command = [
        sys.executable,
        *part.command.split()[1:],
        "--json",
        str(out / "benchmarks.json"),
    ]
    started = time.perf_counter()
    try:
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        output, status = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired:
        output, status = f"timed out after {timeout} s", 1
    part.seconds = round(time.perf_counter() - started, 1)
    part.status = "passed" if status == 0 else "failed"
    part.detail = "\n".join(
        line for line in output.splitlines() if not line.startswith("bench: running")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "gpu",
        help="where the report goes",
    )
    parser.add_argument(
        "--lesson-profile", default="cpu", choices=("smoke", "cpu", "gpu")
    )
    parser.add_argument(
        "--bench-profile", default="gpu", choices=("smoke", "cpu", "gpu")
    )
    parser.add_argument(
        "--benchmarks",
        nargs="*",
        default=list(BENCHMARKS),
        help="benchmark names (none: skip)",
    )
    parser.add_argument(
        "--deadline-minutes",
        type=float,
        default=10.0,
        help="start no part after this many minutes (default 10)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=900,
        help="seconds per notebook cell / per benchmark run",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the lesson times into the lessons' gpu rows (needs "
        "--lesson-profile gpu)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and write nothing"
    )
    parser.add_argument(
        "--allow-cpu",
        action="store_true",
        help="run without a CUDA GPU (to test this script)",
    )
    parser.add_argument(
        "lessons",
        nargs="*",
        type=Path,
        help="lesson notebooks (default: lessons/lesson*.md)",
    )
    args = parser.parse_args(argv)
    lessons = [p.resolve() for p in args.lessons] or sorted(
        (ROOT / "lessons").glob("lesson*.md")
    )
    if args.record and args.lesson_profile != "gpu":
        parser.error(
            "--record writes the lessons' gpu rows: use it with --lesson-profile gpu"
        )
    parts = plan(
        lessons, args.lesson_profile, args.bench_profile, tuple(args.benchmarks)
    )
    if args.dry_run:
        for part in parts:
            print(f"gpu_check: would run {part.name}: {part.command}")
        print(
            f"gpu_check: would write {args.out / 'gpu_check.json'} and "
            f"{args.out / 'gpu_check.md'}"
        )
        return 0
    device, torch_version = device_description()
    if device.startswith("CPU only") and not args.allow_cpu:
        print(
            "gpu_check: error: no CUDA GPU is visible to torch; run this on the GPU "
            "machine (--dry-run shows the plan; --allow-cpu runs it here anyway)",
            file=sys.stderr,
        )
        return 1
    report = Report(
        device,
        torch_version,
        args.lesson_profile,
        args.bench_profile,
        datetime.date.today().isoformat(),
        round(os.getloadavg()[0], 2),
        args.deadline_minutes,
        parts,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        for index, part in enumerate(parts):
            if time.perf_counter() - started > args.deadline_minutes * 60:
                part.status = "not run"
                part.detail = (
                    f"the {args.deadline_minutes:g}-minute deadline had passed"
                )
            elif index < len(lessons):
                run_lesson(
                    part, lessons[index], args.lesson_profile, cache, args.timeout
                )
            else:
                run_benchmarks(part, args.out, args.timeout)
            print(
                f"gpu_check: {part.name}: {part.status}"
                + ("" if part.seconds is None else f" in {part.seconds:.1f} s"),
                flush=True,
            )
    (args.out / "gpu_check.json").write_text(
        json.dumps(asdict(report) | {"total_seconds": report.total_seconds}, indent=2)
        + "\n"
    )
    (args.out / "gpu_check.md").write_text(report.markdown())
    if args.record:
        from time_lessons import record

        from course_lib.page.timings import load_timings

        timings = load_timings()
        for path, part in zip(lessons, parts):
            if part.status == "passed":
                record(
                    timings,
                    path.stem,
                    "gpu",
                    part.seconds,
                    report.load_average_before,
                    [p.stem for p in lessons[: lessons.index(path)]],
                    part.models_reused,
                )
    print(report.markdown())
    print(
        f"gpu_check: wrote {args.out / 'gpu_check.json'} and "
        f"{args.out / 'gpu_check.md'}"
    )
    return 0 if all(p.status == "passed" for p in parts) else 1


if __name__ == "__main__":
    sys.exit(main())
