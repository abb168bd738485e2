"""The tools that enforce the conventions: pre-commit's hooks run the environment's ruff
(with the unused-noqa rule) and mypy, and the test command type-checks the package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_test_command_runs_ruff_and_mypy_over_the_package() -> None:
    script = (ROOT / "tools" / "run_tests.sh").read_text().splitlines()
    assert "ruff check ." in script and "mypy" in script
    assert "ruff format --check ." in script
    assert _pyproject()["tool"]["mypy"]["files"] == ["course_lib"]
    assert "RUF100" in _pyproject()["tool"]["ruff"]["lint"]["select"]


def test_every_line_of_python_fits_a_book_column() -> None:
    """Lesson pages show the library's code: no line of the repository's Python (outside
    the notebooks) is wider than 88 characters, the limit ruff is configured with."""
    assert _pyproject()["tool"]["ruff"]["line-length"] == 88
    folders = ("course_lib", "course_grader", "benchmarks", "tools", "tests", "book")
    wide = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "_build" not in path.parts and "vendor" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        # as in ruff, a trailing type-ignore or noqa pragma does not count
        if len(re.split(r"  # (?:type: ignore|noqa)", line)[0]) > 88
    ]
    assert not wide, f"lines wider than 88 characters: {wide[:10]}"


def test_every_pre_commit_hook_runs_a_tool_that_is_installed() -> None:
    yaml = pytest.importorskip("yaml")
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        pytest.skip(
            "pre-commit is not installed in this environment (pip install -e .[dev])"
        )
    subprocess.run(
        [pre_commit, "validate-config", str(ROOT / ".pre-commit-config.yaml")],
        check=True,
    )
    hooks = [
        hook
        for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())[
            "repos"
        ]
        for hook in repo["hooks"]
    ]
    assert {hook["id"] for hook in hooks} >= {
        "ruff",
        "ruff-format",
        "mypy",
        "generated",
    }
    for hook in hooks:
        program, *arguments = hook["entry"].split()
        assert shutil.which(
            program, path=str(Path(sys.executable).parent)
        ) or shutil.which(program), hook["id"]
        assert all((ROOT / a).is_file() for a in arguments if a.endswith(".sh"))


def test_the_ruff_hook_rejects_an_unused_noqa(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None or shutil.which("git") is None:
        pytest.skip("needs pre-commit and git")
    for name in ("pyproject.toml", ".pre-commit-config.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "clean.py").write_text("import os\n\nprint(os.sep)\n")
    # os is used: stale
    (tmp_path / "stale.py").write_text("import os  # noqa: F401\n\nprint(os.sep)\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PRE_COMMIT_HOME": str(tmp_path / ".cache"),
    }

    def hook(file: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "run", "ruff", "--files", file],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert hook("clean.py").returncode == 0
    stale = hook("stale.py")
    assert stale.returncode != 0 and "RUF100" in stale.stdout
