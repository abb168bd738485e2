"""The Colab rehearsal (tools/colab_rehearsal.py): its checks, and the rehearsal itself.

The rehearsal makes (once) a Python 3.12 environment with Colab's stack, outside the
repository, then runs a lesson's first cell against a local clone at the release tag,
the lesson's imports and a short recipe (about a minute once the stack exists).
``.ci/run`` runs it; ``COURSE_SKIP_COLAB=1`` leaves it out of a quick local run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_rehearsal  # noqa: E402

from course_lib.page.timings import NOT_MEASURED  # noqa: E402


def good_figures(runtime: Path) -> dict:
    torch = {"version": "2.14.1+cu130", "file": "/stack/torch/__init__.py"}
    return {
        "torch_before": torch,
        "torch_after": dict(torch),
        "course_lib": {
            "version": "0.1.0",
            "file": str(runtime / "course_lib" / "__init__.py"),
        },
        "installed": ["course_lib: installed tqdm>=4.64"],
        "imports": 3,
        "loss": 520.0,
        "timings": "| without a GPU | 3.1 min | 2 CPU cores, 2026-11-30 |",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["torch_after"].update(version="2.15.0"), "torch changed"),
        (lambda f: f["course_lib"].update(version="0.0.9"), "not 0.1.0"),
        (
            lambda f: f["course_lib"].update(file="/work/main/course_lib/__init__.py"),
            "not the fresh runtime",
        ),
        (lambda f: f.update(installed=[]), "installed no light dependency"),
        (lambda f: f.update(loss=float("nan")), "final loss"),
        (
            lambda f: f.update(timings=NOT_MEASURED),
            "not shipped",
        ),
    ],
)
def test_each_check_fails_on_its_fault(tmp_path: Path, change, message: str) -> None:
    figures = good_figures(tmp_path)
    # the good run passes
    colab_rehearsal.check(figures, "0.1.0", tmp_path, "same", "same")
    change(figures)
    with pytest.raises(colab_rehearsal.RehearsalError, match=message):
        colab_rehearsal.check(figures, "0.1.0", tmp_path, "same", "same")


def test_a_replaced_torch_build_is_caught_by_its_files(tmp_path: Path) -> None:
    with pytest.raises(colab_rehearsal.RehearsalError, match="torch changed"):
        colab_rehearsal.check(
            good_figures(tmp_path), "0.1.0", tmp_path, "before", "after"
        )


def test_the_stack_is_colabs_and_never_names_course_libs_light_dependencies() -> None:
    names = {line.split("=")[0].split(">")[0] for line in colab_rehearsal.COLAB_STACK}
    assert names == {
        "torch",
        "torchvision",
        "numpy",
        "matplotlib",
        "scikit-learn",
        "ipywidgets",
    }


@pytest.mark.colab
@pytest.mark.skipif(
    os.environ.get("COURSE_SKIP_COLAB") == "1", reason="COURSE_SKIP_COLAB=1"
)
def test_colab_rehearsal() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "colab_rehearsal.py")],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=ROOT,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["torch_before"] == figures["torch_after"]
    assert "scikit-image" in figures["installed"][0]
    assert figures["network_down"].startswith(
        "course_lib: could not install git+https://github.com/"
    )
    print(result.stdout.splitlines()[-3])  # the summary line, for the log (-s)
