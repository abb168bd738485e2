"""benchmarks/experiments/vae_lr_validation.py: the split never touches the test set,
the chosen rate has the lowest validation score, a rerun skips what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_lib.data import load_mnist
from course_lib.vae import MLPVAE, ConvVAE

SCRIPT = (
    Path(__file__).resolve().parents[1] / "benchmarks/experiments/vae_lr_validation.py"
)


def _run(out: Path, *lrs: str) -> str:
    command = [sys.executable, str(SCRIPT), "--profile", "smoke", "--models", "mlp"]
    command += ["--mlp-lrs", *lrs, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout


def test_validation_split_choice_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import vae_lr_validation

    fit_images, fit_labels, validation = vae_lr_validation.split()
    assert (len(fit_images), len(fit_labels), len(validation)) == (
        50_000,
        50_000,
        10_000,
    )
    train = load_mnist("train")[0]
    assert torch.equal(validation, train[50_000:])  # training images, never test ones

    out = tmp_path / "lr.json"
    _run(out, "1e-3", "4e-2")
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert [row["lr"] for row in rows] == [1e-3, 4e-2]
    assert all(row["n_validation"] == 10_000 for row in rows)
    best = min(rows, key=lambda row: row["validation_nelbo"])
    assert data["chosen_lr"]["mlp"] == best["lr"]
    table = out.with_suffix(".txt").read_text()
    assert table.count("<- chosen") == 1

    printed = _run(out, "1e-3", "4e-2")  # both measured: nothing trains again
    assert '"validation_nelbo"' not in printed
    assert json.loads(out.read_text())["rows"] == rows


def test_default_learning_rates_are_the_recorded_choice() -> None:
    record = SCRIPT.parents[1] / "cpu" / "vae_lr_validation.json"
    data = json.loads(record.read_text())
    for name, model_class in (("mlp", MLPVAE), ("conv", ConvVAE)):
        rows = [row for row in data["rows"] if row["model"] == name]
        assert len(rows) >= 3, f"{name}: fewer than three peaks were compared"
        best = min(rows, key=lambda row: row["validation_nelbo"])
        assert model_class.default_lr == best["lr"] == data["chosen_lr"][name]
        assert all(row["n_fit"] == 50_000 and row["epochs"] == 10 for row in rows)
