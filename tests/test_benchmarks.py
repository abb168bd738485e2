"""The benchmark harness (``python -m benchmarks``): IDX export read back by
torchvision, table, JSON, errors."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision

from benchmarks import harness as bench
from benchmarks import loader, models
from course_lib.data import load_mnist


def test_idx_files_are_read_back_by_torchvision_exactly(tmp_path):
    loader.write_mnist_idx_files(tmp_path)
    dataset = torchvision.datasets.MNIST(str(tmp_path), train=False, download=False)
    images, labels = load_mnist("test")
    assert torch.equal(dataset.data, (images.squeeze(1) * 255).round().to(torch.uint8))
    assert torch.equal(dataset.targets, labels)


def test_json_output_has_the_documented_fields_and_a_miss_fails(tmp_path, monkeypatch):
    def fake(settings):
        return [
            bench.Result(
                "fake.ok", 1.0, "x", "<= 2", True, 0.1, "cpu", settings.profile.name
            ),
            bench.Result(
                "fake.miss", 3.0, "x", "<= 2", False, 0.1, "cpu", settings.profile.name
            ),
        ]

    monkeypatch.setitem(bench.BENCHMARKS, "fake", fake)
    out = tmp_path / "out" / "results.json"
    status = bench.main(["--profile", "smoke", "--only", "fake", "--json", str(out)])
    assert status == 1
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["fake.ok", "fake.miss"]
    assert set(rows[0]) == {
        "name",
        "value",
        "unit",
        "target",
        "passed",
        "seconds",
        "device",
        "profile",
    }
    assert rows[0]["profile"] == "smoke"


def test_unknown_benchmark_and_profile_are_clear_errors():
    with pytest.raises(SystemExit, match="unknown benchmark nope"):
        bench.main(["--only", "nope"])
    with pytest.raises(SystemExit, match="unknown run profile 'huge'"):
        bench.main(["--profile", "huge", "--only", "loader_speed"])


def test_table_marks_pass_miss_and_no_target():
    rows = [
        bench.Result("a", 1.0, "s", "", None, 1.0, "cpu", "cpu"),
        bench.Result("b", 0.3, "x", "<= 0.5", True, 1.0, "cpu", "cpu"),
    ]
    table = bench.format_table(rows)
    assert "PASS" in table and table.splitlines()[2].split()[4] == "-"


def test_targets_are_printed_but_not_judged_under_smoke():
    import course_lib

    _Recorder = models._Recorder

    smoke = _Recorder(course_lib.setup(0, profile="smoke", device="cpu", quiet=True))
    smoke.add("x", 110.0, "nats", 1.0, "<= 104.5", False)
    cpu = _Recorder(course_lib.setup(0, profile="cpu", device="cpu", quiet=True))
    cpu.add("x", 110.0, "nats", 1.0, "<= 104.5", False)
    assert smoke.results[0].target == "<= 104.5" and smoke.results[0].passed is None
    assert cpu.results[0].passed is False


def test_every_benchmark_registers_and_the_command_runs_as_a_module():
    import subprocess
    import sys
    from pathlib import Path

    assert {
        "loader_speed",
        "vae",
        "dae_inpainting",
        "gan_samples",
        "aae_prior",
        "mode_collapse",
    } <= set(bench.BENCHMARKS)
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nope"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        run.returncode != 0
        and "known: loader_speed" in run.stderr
        and "mode_collapse" in run.stderr
    )


def test_training_speed_is_images_seen_over_seconds_not_the_mean_of_epoch_rates():
    from course_lib.training import History

    history = History()
    history.log(seconds=3.0, examples_per_second=100.0)  # 300 images
    history.log(seconds=1.0, examples_per_second=300.0)  # 300 images
    # 600 images in 4 s; the mean of the two rates would say 200
    assert models._images_per_second(history) == pytest.approx(150.0)
