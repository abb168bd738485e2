"""Re-run the lessons' claims for several seeds and record whether each holds.

    python tools/check_claims.py              # every lesson, seeds 0 1 2, profile cpu
    python tools/check_claims.py --lessons 4 6 --seeds 0 --only toy_gan_spread
    python tools/check_claims.py --profile smoke --out /tmp/claims.json  # code paths
    only

Each claim is a function ``claim_<name>(settings) -> Outcome`` in
``tools/claims/lesson<N>.py`` (see ``tools/claims/__init__.py``). The results go to
``benchmarks/<profile>/claims.json``: one row per claim with ``lesson``, ``name``,
``statement``, ``seeds``, the measured ``values`` per seed and ``passed`` (true when it
held for every seed). The file is rewritten after every claim, so an interrupted run
keeps what it finished; rows of claims that were not re-run are kept. The exit status is
1 when a claim failed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from claims import Outcome  # noqa: E402

import course_lib  # noqa: E402
from course_lib.settings import Settings  # noqa: E402

Claim = Callable[[Settings], Outcome]


def discover(
    lessons: list[int] | None, only: list[str] | None
) -> list[tuple[int, str, Claim]]:
    """``(lesson, name, function)`` of each ``claim_*`` in ``claims/lesson<N>.py``."""
    found = []
    for path in sorted((REPO / "tools" / "claims").glob("lesson*.py")):
        lesson = int(path.stem.removeprefix("lesson"))
        if lessons is not None and lesson not in lessons:
            continue
        module = importlib.import_module(f"claims.{path.stem}")
        functions = [
            (name, value)
            for name, value in vars(module).items()
            if name.startswith("claim_")
            and inspect.isfunction(value)
            and value.__module__ == module.__name__
        ]
        functions.sort(key=lambda item: inspect.getsourcelines(item[1])[1])
        for name, function in functions:
            short = name.removeprefix("claim_")
            if only is None or short in only:
                found.append((lesson, short, function))
    if only is not None:
        missing = set(only) - {name for _, name, _ in found}
        if missing:
            names = ", ".join(sorted(missing))
            raise SystemExit(
                f"error: no claim named {names} in tools/claims/lesson*.py"
            )
    return found


def run_claim(function: Claim, seeds: list[int], profile: str) -> dict:
    """Run one claim for every seed; the row written to the JSON file."""
    values: dict[str, dict[str, float]] = {}
    passes = []
    started = time.perf_counter()
    for seed in seeds:
        settings = course_lib.setup(seed=seed, profile=profile, quiet=True)
        outcome = function(settings)
        if not isinstance(outcome, Outcome):
            kind = type(outcome).__name__
            raise TypeError(
                f"{function.__name__} must return a claims.Outcome, not {kind}"
            )
        values[str(seed)] = {
            key: _plain(value) for key, value in outcome.values.items()
        }
        passes.append(bool(outcome.passed))
    doc = inspect.getdoc(function) or ""
    return {
        "statement": " ".join(doc.split("\n\n")[0].split()),  # the first paragraph
        "seeds": seeds,
        "values": values,
        "passed_per_seed": passes,
        "passed": all(passes),
        "seconds": round(time.perf_counter() - started, 1),
        "profile": profile,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "date": date.today().isoformat(),
    }


def _plain(value: object) -> float | int | bool | str:
    """A JSON-friendly number: tensors and NumPy scalars become Python numbers."""
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, (int, bool, str)):
        return value
    raise TypeError(
        f"claim values must be numbers or strings, not {type(value).__name__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lessons", type=int, nargs="+", help="lesson numbers (default: all)"
    )
    parser.add_argument(
        "--only", nargs="+", help="claim names without the claim_ prefix"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    parser.add_argument(
        "--out", type=Path, help="JSON file (default benchmarks/<profile>/claims.json)"
    )
    args = parser.parse_args(argv)

    out = args.out or REPO / "benchmarks" / args.profile / "claims.json"
    failed = []
    for lesson, name, function in discover(args.lessons, args.only):
        print(
            f"lesson {lesson} {name} (seeds {' '.join(map(str, args.seeds))}) ...",
            flush=True,
        )
        row = {
            "lesson": lesson,
            "name": name,
            **run_claim(function, args.seeds, args.profile),
        }
        # Read the file again: another run may have added rows since this one started.
        rows = json.loads(out.read_text())["claims"] if out.is_file() else []
        rows = [r for r in rows if (r["lesson"], r["name"]) != (lesson, name)] + [row]
        rows.sort(key=lambda r: r["lesson"])
        shown = "; ".join(
            f"seed {seed}: "
            + ", ".join(f"{key} {value}" for key, value in figures.items())
            for seed, figures in row["values"].items()
        )
        verdict = "PASS" if row["passed"] else "FAIL"
        print(f"  {verdict} in {row['seconds']:.0f} s  {shown}", flush=True)
        if not row["passed"]:
            failed.append(f"lesson {lesson} {name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        machine = {"platform": platform.platform(), "cpus": os.cpu_count()}
        out.write_text(
            json.dumps({"machine": machine, "claims": rows}, indent=1) + "\n"
        )
    listed = (": " + ", ".join(failed)) if failed else ""
    print(f"{len(failed)} claim(s) failed{listed}; results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
