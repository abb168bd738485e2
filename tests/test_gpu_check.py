"""tools/gpu_check.py, the maintainer's GPU check, tested on the CPU: its plan, its
refusals, a smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = [sys.executable, str(ROOT / "tools" / "gpu_check.py")]
LESSONS = sorted((ROOT / "lessons").glob("lesson*.md"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SCRIPT, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )


def test_dry_run_lists_every_lesson_and_both_benchmark_rows(tmp_path: Path) -> None:
    result = run("--dry-run", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    planned = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("gpu_check: would run ")
    ]
    assert [line.split()[3].rstrip(":") for line in planned[:-1]] == [
        p.stem for p in LESSONS
    ]
    assert all("COURSE_PROFILE=cpu" in line for line in planned[:-1])
    assert planned[-1].endswith(
        "python -m benchmarks --profile gpu --only vae --only gan_samples"
    )
    assert not (tmp_path / "out").exists()


def test_refusals_are_one_line(tmp_path: Path) -> None:
    record = run("--record", "--out", str(tmp_path))
    assert (
        record.returncode == 2
        and "--record writes the lessons' gpu rows" in record.stderr
    )
    if not torch.cuda.is_available():
        no_gpu = run("--out", str(tmp_path))
        assert no_gpu.returncode == 1
        assert no_gpu.stderr.strip().splitlines() == [no_gpu.stderr.strip()]
        assert "no CUDA GPU" in no_gpu.stderr


def test_past_the_deadline_nothing_starts_and_the_check_fails(tmp_path: Path) -> None:
    result = run("--allow-cpu", "--deadline-minutes", "0", "--out", str(tmp_path))
    assert result.returncode == 1
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [p["status"] for p in report["parts"]] == ["not run"] * (len(LESSONS) + 1)
    assert report["total_seconds"] == 0


def test_a_smoke_run_on_the_cpu_times_each_part(tmp_path: Path) -> None:
    lesson = ROOT / "lessons" / "lesson0_generative_models.md"
    result = run(
        "--allow-cpu",
        "--lesson-profile",
        "smoke",
        "--bench-profile",
        "smoke",
        "--benchmarks",
        "vae",
        "--out",
        str(tmp_path),
        str(lesson),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [p["name"] for p in report["parts"]] == [
        "lesson0_generative_models",
        "benchmarks: vae",
    ]
    assert all(p["status"] == "passed" and p["seconds"] > 0 for p in report["parts"])
    assert report["total_seconds"] == sum(p["seconds"] for p in report["parts"])
    assert "vae_mlp.test_negative_elbo" in report["parts"][1]["detail"]
    assert json.loads((tmp_path / "benchmarks.json").read_text())
    table = (tmp_path / "gpu_check.md").read_text()
    assert (
        "| lesson0_generative_models | passed |" in table
        and "lessons under `smoke`" in table
    )
