"""The Colab first cell and its dependency logic, tested without Colab (fake modules, fake pip)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

import course_lib
from course_lib import colab

ROOT = Path(__file__).resolve().parents[1]


def run_first_cell(monkeypatch: pytest.MonkeyPatch, *, in_colab: bool) -> list[list[str]]:
    """Execute FIRST_CELL as a notebook would, with pip and course_lib.colab replaced by recorders."""
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        assert kwargs.get("check") is True, "pip must be run with check=True so a failed install stops the cell"
        commands.append(list(command))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(colab, "install_missing_dependencies", lambda: commands.append(["<light deps>"]))
    if in_colab:
        google = types.ModuleType("google")
        google_colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(colab.FIRST_CELL, "<first cell>", "exec"), {"__name__": "__main__"})
    return commands


def test_first_cell_does_nothing_outside_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_first_cell(monkeypatch, in_colab=False) == []


def test_first_cell_in_colab_installs_this_version_without_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    commands = run_first_cell(monkeypatch, in_colab=True)
    assert len(commands) == 2
    pip, light = commands
    assert pip[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-deps" in pip
    url = f"git+{colab.REPOSITORY_URL}@v{course_lib.__version__}"
    assert pip[-1] == url == colab.install_url()
    assert not any("torch" in part for part in pip)
    assert light == ["<light deps>"]


def test_first_cell_is_short_and_starts_with_its_marker() -> None:
    lines = colab.FIRST_CELL.splitlines()
    assert lines[0].startswith(colab.FIRST_CELL_MARKER)
    assert f"v{course_lib.__version__}" in lines[0], "update FIRST_CELL when the version changes"
    assert len(lines) <= 12


def test_repository_url_matches_book_config() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == colab.REPOSITORY_URL
    assert colab.REPOSITORY_URL.startswith("https://github.com/")
    owner, name = colab.REPOSITORY_URL.removeprefix("https://github.com/").split("/")
    assert owner and name


FAKE_REQUIREMENTS = [
    "torch>=2.2",
    "torchvision>=0.17",
    "numpy>=1.24",
    "tqdm>=4.64",
    "matplotlib>=3.7",
    "opencv-python-headless>=4.8",
    'pytest>=8; extra == "dev"',
]


def test_only_missing_or_old_light_dependencies_are_installed() -> None:
    versions = {"torch": "2.5.1+cu121", "numpy": "1.26.4", "matplotlib": "3.6.0", "opencv-python": "4.10.0.84"}
    commands: list[list[str]] = []
    installed = colab.install_missing_dependencies(
        requirements=FAKE_REQUIREMENTS,
        installed=versions.get,
        run=lambda command, **kwargs: commands.append(command),
    )
    # tqdm is absent and matplotlib 3.6 is older than 3.7; opencv-python provides cv2 already;
    # torchvision is absent but is never installed; pytest belongs to an extra.
    assert installed == ["tqdm>=4.64", "matplotlib>=3.7"]
    assert commands == [[sys.executable, "-m", "pip", "install", "-q", "tqdm>=4.64", "matplotlib>=3.7"]]


def test_torch_is_reported_not_installed(capsys: pytest.CaptureFixture[str]) -> None:
    to_install, skipped = colab.missing_requirements(["torch>=2.2", "numpy>=1.24"], {"numpy": "2.1.0"}.get)
    assert to_install == []
    assert skipped == ["torch>=2.2"]
    colab.install_missing_dependencies(
        requirements=["torch>=2.2"], installed={}.get, run=lambda *a, **k: pytest.fail("pip must not run")
    )
    assert "torch>=2.2 is wanted but not installed" in capsys.readouterr().out


def test_nothing_to_install_in_this_complete_environment() -> None:
    calls: list[object] = []
    assert colab.install_missing_dependencies(run=lambda *a, **k: calls.append(a)) == []
    assert calls == []


def test_in_colab_detection() -> None:
    assert colab.in_colab({"google.colab": object()})
    assert not colab.in_colab({})
