"""The GitHub workflows: linted against the workflow schema (offline), and checked for
what they must do.

The release workflow is exercised for real: its steps run in a scratch clone whose
``origin`` is a scratch bare repository, up to (not including) the step that uploads the
release.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DEAD_PROXY = "http://127.0.0.1:9"
RELEASE_MACHINERY = (
    "tools/release.py",
    ".github/workflows/release.yml",
    "tools/sync_notebooks.py",
    "course_lib/page/colab.py",
    "pyproject.toml",
)
sys.path.insert(0, str(ROOT / "tools"))
import release  # noqa: E402


def load(name: str) -> dict:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    # YAML 1.1 reads the key `on` as True
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def lint(*paths: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with its built-in (vendored) GitHub-workflow schema and no
    network at all."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    env = dict(
        os.environ,
        HTTP_PROXY=DEAD_PROXY,
        HTTPS_PROXY=DEAD_PROXY,
        http_proxy=DEAD_PROXY,
        https_proxy=DEAD_PROXY,
    )
    results = [
        subprocess.run(
            [str(checker), "--builtin-schema", schema, *map(str, paths)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        for schema in (
            "vendor.github-workflows",
            "custom.github-workflows-require-timeout",
        )
    ]
    failed = [r for r in results if r.returncode != 0]
    return failed[0] if failed else results[0]


def test_every_workflow_passes_the_linter_offline() -> None:
    assert {p.name for p in WORKFLOWS} >= {
        "ci.yml",
        "book.yml",
        "gpu.yml",
        "release.yml",
    }
    result = lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linter_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "name: x\non: push\njobs:\n  a:\n    timeout-minutes: 5\n    steps:\n      - "
        "run: echo\n"
    )
    result = lint(broken)  # no runs-on
    assert result.returncode != 0 and "runs-on" in result.stdout + result.stderr
    untimed = tmp_path / "untimed.yml"
    untimed.write_text(
        "name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    "
        "steps:\n      - run: echo\n"
    )
    assert lint(untimed).returncode != 0  # every job must have a timeout


def test_ci_runs_the_unit_tests_on_python_3_12_too() -> None:
    job = load("ci.yml")["jobs"]["test"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert "bash .ci/run" in runs
    assert any("pytest" in run and "tests" in run for run in runs)


def test_gpu_workflow_would_run() -> None:
    workflow = load("gpu.yml")
    # never push: no queue without a GPU runner
    assert set(workflow["on"]) == {"workflow_dispatch", "schedule"}
    job = workflow["jobs"]["gpu"]
    assert "workflow_dispatch" in job["if"] and "vars.GPU_RUNNER" in job["if"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    steps = job["steps"]
    assert any(step.get("uses", "").startswith("actions/setup-node@") for step in steps)
    script = "\n".join(step.get("run", "") for step in steps)
    assert (
        "$HOME/.cache/course_lib/venv-gpu-" in script
        and "github.workspace" not in yaml.safe_dump(job)
    )
    assert "-m gpu" in script and "tests/test_gpu_recipes.py" in script
    assert (
        "tools/gpu_check.py" in script and (ROOT / "tools" / "gpu_check.py").is_file()
    )
    assert "python -m benchmarks --profile gpu --json" in script
    uploads = [
        step
        for step in steps
        if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert uploads and "bench" in uploads[0]["with"]["path"]


def test_gpu_workflow_installs_without_the_cpu_torch_pins(tmp_path: Path) -> None:
    """Run the workflow's own filter on tools/constraints.txt: torch and torchvision are
    unpinned, the rest kept."""
    step = next(
        s["run"]
        for s in load("gpu.yml")["jobs"]["gpu"]["steps"]
        if "constraints-gpu.txt" in s.get("run", "")
    )
    line = next(
        line.strip() for line in step.splitlines() if line.strip().startswith("grep -v")
    )
    subprocess.run(
        ["bash", "-c", line],
        cwd=ROOT,
        env=dict(os.environ, RUNNER_TEMP=str(tmp_path)),
        check=True,
    )
    kept = (tmp_path / "constraints-gpu.txt").read_text().splitlines()
    original = (ROOT / "tools" / "constraints.txt").read_text().splitlines()
    assert not [c for c in kept if c.startswith(("torch==", "torchvision=="))]
    assert [c for c in original if c not in kept] == [
        c for c in original if c.startswith(("torch==", "torchvision=="))
    ]


# ---- the release, exercised up to the upload
# ------------------------------------------------------


def scratch_repository(tmp_path: Path, *, regenerate: bool = True) -> tuple[Path, Path]:
    """A bare ``origin`` cloned from this repository's HEAD, and a working clone of it;
    returns both."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(ROOT), str(origin)], check=True
    )
    subprocess.run(["git", "clone", "--quiet", str(origin), str(work)], check=True)
    for tag in subprocess.run(
        ["git", "tag"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.split():
        subprocess.run(
            ["git", "tag", "-d", tag], cwd=work, capture_output=True, check=True
        )
    # The release machinery as it is in the working tree, on the repository at HEAD.
    for path in RELEASE_MACHINERY:
        shutil.copy2(ROOT / path, work / path)
    # Generated files out of step at HEAD fail check_generated.sh in the test command;
    # here, regenerate them with the command the check names, so this test is about the
    # release alone.
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    for _ in range(3 if regenerate else 0):
        check = subprocess.run(
            ["bash", "tools/check_generated.sh"],
            cwd=work,
            capture_output=True,
            text=True,
            env=env,
        )
        fix = re.search(r"run '([^']+)' and commit", check.stderr)
        if check.returncode == 0 or fix is None:
            break
        subprocess.run(
            fix.group(1), shell=True, cwd=work, env=env, capture_output=True, check=True
        )
    if subprocess.run(
        ["git", "status", "--porcelain"], cwd=work, capture_output=True, text=True
    ).stdout:
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qam",
                "regenerate",
            ],
            cwd=work,
            check=True,
        )
        subprocess.run(
            ["git", "push", "-q", "origin", "HEAD"],
            cwd=work,
            check=True,
            capture_output=True,
        )
    return origin, work


def run_release_workflow(work: Path, tmp_path: Path, **github: str) -> list[str]:
    """Run release.yml's steps in ``work`` as a runner would, stopping before the
    upload; return the step names."""
    job = load("release.yml")["jobs"]["release"]
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    environment = dict(
        os.environ, GITHUB_ENV=str(github_env), RUNNER_TEMP=str(tmp_path), **github
    )
    # the 'Environment' step
    environment["PATH"] = (
        f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    )
    ran = []
    for index, step in enumerate(job["steps"]):
        if "uses" in step or step["name"] == "Environment":
            continue
        if "gh release create" in step["run"]:
            assert index == len(job["steps"]) - 1, "the upload must be the last step"
            assert "dist/*.whl" in step["run"]
            break
        exported = dict(
            line.split("=", 1)
            for line in github_env.read_text().splitlines()
            if "=" in line
        )
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=work,
            env={**environment, **step.get("env", {}), **exported},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, (
            f"step {step['name']!r} failed:\n{result.stdout}\n{result.stderr}"
        )
        ran.append(step["name"])
    else:
        pytest.fail("release.yml has no upload step (gh release create)")
    return ran


def test_release_workflow_up_to_the_upload(tmp_path: Path) -> None:
    origin, work = scratch_repository(tmp_path)
    sys.path.insert(0, str(ROOT))
    from course_lib.page.colab import release_from_pyproject

    published = release_from_pyproject(work / "pyproject.toml")
    ran = run_release_workflow(
        work, tmp_path, GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="main"
    )
    assert ran == ["Check, build the wheel, tag", "Push the tag"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True
    ).stdout.strip()
    tagged = subprocess.run(
        ["git", "rev-parse", f"{published.tag}^{{commit}}"],
        cwd=origin,
        capture_output=True,
        text=True,
    )
    assert tagged.stdout.strip() == head, "the tag did not reach origin at HEAD"
    assert f"TAG={published.tag}" in (tmp_path / "github_env").read_text()
    wheel = work / "dist" / published.wheel_name
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert set(release.WHEEL_MUST_CONTAIN) <= names
    assert not any(name.startswith(("tests/", "lessons/", "tools/")) for name in names)
    # A re-run (the tag now marks HEAD) succeeds without a new tag; a dry run never
    # tags.
    again = subprocess.run(
        [sys.executable, "tools/release.py", "--dry-run", "--out", str(tmp_path / "d")],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr


def test_release_refuses_a_dirty_tree_and_a_wrong_pushed_tag(tmp_path: Path) -> None:
    _, work = scratch_repository(tmp_path, regenerate=False)
    command = [
        sys.executable,
        "tools/release.py",
        "--dry-run",
        "--out",
        str(tmp_path / "dist"),
    ]
    wrong = subprocess.run(
        command,
        cwd=work,
        capture_output=True,
        text=True,
        env=dict(os.environ, GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v9.9.9"),
    )
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("release: error: the pushed tag v9.9.9 is not v")
    (work / "stray.txt").write_text("x")
    dirty = subprocess.run(command, cwd=work, capture_output=True, text=True)
    assert (
        dirty.returncode == 1
        and "not clean" in dirty.stderr
        and "stray.txt" in dirty.stderr
    )
    assert len(dirty.stderr.strip().splitlines()) == 1


def test_release_refuses_versions_that_disagree(tmp_path: Path) -> None:
    _, work = scratch_repository(tmp_path, regenerate=False)
    init = work / "course_lib" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9'))
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "bump one side",
        ],
        cwd=work,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "tools/release.py", "--dry-run"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "make them equal" in result.stderr
    assert not (work / "dist").exists()


def test_release_refuses_a_tag_that_marks_another_commit(tmp_path: Path) -> None:
    _, work = scratch_repository(tmp_path, regenerate=False)
    sys.path.insert(0, str(ROOT))
    from course_lib.page.colab import release_from_pyproject

    tag = release_from_pyproject(work / "pyproject.toml").tag
    # CI's checkout is shallow: no HEAD~1
    subprocess.run(["git", "tag", tag, "HEAD"], cwd=work, check=True)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "next",
        ],
        cwd=work,
        check=True,
    )
    with pytest.raises(release.ReleaseError, match="raise \\[project\\] version"):
        release.check_tag(release_from_pyproject(work / "pyproject.toml"), root=work)
