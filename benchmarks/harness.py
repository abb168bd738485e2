"""The benchmark harness: figures that prove the course's code is fast and its models
work.

Usage, from a clone of the course repository (the harness is not part of the installed
package)::

    python -m benchmarks                       # every benchmark, profile chosen as
    usual python -m benchmarks --profile cpu --only loader_speed --json
    benchmarks/cpu/loader_speed.json

Each benchmark returns :class:`Result` rows; the command prints them as a table (figure,
value, target, pass/fail, seconds, device) and optionally writes them as JSON. A missed
target is printed, never hidden, and makes the command exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from course_lib.errors import CourseError
from course_lib.settings import Settings, setup


@dataclass
class Result:
    """One benchmark figure.

    Attributes:
        name: short identifier, e.g. ``"loader_speed.ratio"``.
        value: the measured value.
        unit: e.g. ``"nats"``, ``"dB"``, ``"x"``, ``"images/s"``.
        target: human-readable target, e.g. ``"<= 0.5"``, or ``""`` for a figure without
            one.
        passed: whether the target is met (``None`` when there is no target).
        seconds: wall time spent producing the figure.
        device: where it ran, e.g. ``"cpu"`` or ``"cuda (NVIDIA H100)"``.
        profile: the run profile.
    """

    name: str
    value: float
    unit: str
    target: str
    passed: bool | None
    seconds: float
    device: str
    profile: str


Benchmark = Callable[[Settings], list[Result]]
BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str) -> Callable[[Benchmark], Benchmark]:
    """Decorator adding a benchmark function to :data:`BENCHMARKS` under ``name``."""

    def add(function: Benchmark) -> Benchmark:
        BENCHMARKS[name] = function
        return function

    return add


def device_label(settings: Settings) -> str:
    """``"cpu (N threads)"`` or ``"cuda (GPU name)"``."""
    if settings.device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(settings.device)})"
    return (
        f"{settings.device.type} ({torch.get_num_threads()} threads, "
        f"{platform.machine()})"
    )


def format_table(results: list[Result]) -> str:
    """The results as an aligned plain-text table."""
    header = ("figure", "value", "unit", "target", "pass", "seconds", "device")
    rows = [
        (
            r.name,
            f"{r.value:.4g}",
            r.unit,
            r.target or "-",
            "-" if r.passed is None else ("PASS" if r.passed else "MISS"),
            f"{r.seconds:.1f}",
            r.device,
        )
        for r in results
    ]
    widths = [
        max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))
    ]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command ``python -m benchmarks``; runs the benchmarks registered in
    :data:`BENCHMARKS`."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--profile", help="smoke, cpu or gpu (default: COURSE_PROFILE or automatic)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this benchmark (repeatable); known: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="also write the results as JSON here"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reuse-cache",
        action="store_true",
        help="load models from COURSE_CACHE when present (default: train everything "
        "afresh, so training times are real)",
    )
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(
            f"error: unknown benchmark {', '.join(unknown)}; known: "
            f"{', '.join(BENCHMARKS)}"
        )
    try:
        settings = setup(args.seed, profile=args.profile)
    except CourseError as error:
        raise SystemExit(f"error: {error}") from None
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as fresh_cache:
        previous = os.environ.get("COURSE_CACHE")
        # models shared between benchmarks are still trained only once per run
        if not args.reuse_cache:
            os.environ["COURSE_CACHE"] = fresh_cache
        try:
            for name in names:
                print(f"bench: running {name} ...", flush=True)
                results.extend(BENCHMARKS[name](settings))
        finally:
            if previous is None:
                os.environ.pop("COURSE_CACHE", None)
            else:
                os.environ["COURSE_CACHE"] = previous
    print(format_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        print(f"bench: wrote {args.json}")
    return 0 if all(r.passed is not False for r in results) else 1
