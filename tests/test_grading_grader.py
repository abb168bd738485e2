"""The instructor's grader on one batch: honest, careless, broken and hostile
submissions together.

Every kind of attack the grader has met is here (tests/fixtures/hostile, each after a
cell that makes every function return NaN, so any mark would come from the attack), next
to the broken submissions of tests/fixtures/submissions, honest ones, and folder
oddities (a sub-folder per student, an empty folder, links, dotfiles, long and
formula-like names, a huge notebook, a file of unclosed fences). The batch runs once,
with 2 jobs; the tests check the rows, the feedback, and that nothing outside the
sandboxes changed. Without bubblewrap the batch is skipped with the reason.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from course_grader.cli import grade_batch, load_exercises, select_exercises
from course_grader.grade import GradeConfig
from course_grader.report import feedback_name
from course_grader.sandbox import bubblewrap_problem
from course_grader.worker.cells import extract_cells

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "fixtures" / "submissions"
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
LESSON3 = ("vae_kl", "vae_reparam", "vae_loss", "vae_elbo", "vae_grey")
CONFIG = GradeConfig(
    exercises=LESSON3,
    timeout=60,
    cell_timeout=4,
    case_timeout=4,
    kill_margin=2,
    memory_mb=1500,
    processes=48,
    max_submission_mb=2,
)
NAN_FUNCTIONS = """# %%
import torch


def _nan(*args, **kwargs):
    return torch.full((4,), float("nan"))


gaussian_kl = reparameterize = vae_loss = elbo_per_image = bce_excess = _nan

# %%
"""
SANDBOX_PROBLEM = bubblewrap_problem()
needs_sandbox = pytest.mark.skipif(
    SANDBOX_PROBLEM is not None,
    reason=f"bubblewrap cannot run here ({SANDBOX_PROBLEM}); .ci/run installs it",
)
MARKERS = [
    Path("/tmp/course-grader-hostile-marker"),
    Path.home() / "course-grader-hostile-marker",
    Path("/var/tmp/course-grader-hostile-marker"),
    Path("/dev/shm/course-grader-hostile-marker"),
]


def correct_code() -> str:
    """The lesson-3 solution's code cells, as a ``# %%`` script."""
    return (
        "\n# %%\n".join(extract_cells(ROOT / "solutions" / "lesson3_exercises.md"))
        + "\n"
    )


def _digest(*folders: Path) -> dict[str, str]:
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and not path.is_symlink()
                and "__pycache__" not in path.parts
            ):
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _attack_traces() -> list[str]:
    """Files of the repository and the Python installation that carry what the attacks
    write."""
    import site
    import sys

    traces = []
    for folder in (
        ROOT / "course_lib",
        ROOT / "course_grader",
        ROOT / "solutions",
        ROOT / "exercises",
    ):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (
                ".py",
                ".md",
                ".ipynb",
                ".csv",
                ".txt",
            ):
                text = path.read_text(errors="replace")
                if text == "vandalised" or "builtins.BACKDOOR" in text:
                    traces.append(str(path))
    for folder in [*site.getsitepackages(), str(Path(sys.base_prefix) / "lib")]:
        for name in ("sitecustomize.py", "usercustomize.py", "zz_backdoor.pth"):
            if (Path(folder) / name).exists() and "BACKDOOR" in (
                Path(folder) / name
            ).read_text(errors="replace"):
                traces.append(str(Path(folder) / name))
    return traces


def _listen() -> tuple[socket.socket, list[bytes]]:
    """A TCP server on the host that records every connection a submission manages to
    make."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    received: list[bytes] = []

    def serve() -> None:
        while server.fileno() != -1:
            try:
                connection, _ = server.accept()
                received.append(connection.recv(100) or b"(connected)")
            except OSError:
                continue

    threading.Thread(target=serve, daemon=True).start()
    return server, received


def _make_batch(folder: Path, port: int) -> None:
    # notebook fixtures are stored as .ipynb.in so that linters skip them
    for path in BROKEN.iterdir():
        shutil.copy(path, folder / path.name.removesuffix(".in"))
    for path in HOSTILE.glob("*.py"):
        text = path.read_text().replace("__PORT__", str(port))
        (folder / f"hostile_{path.name}").write_text(NAN_FUNCTIONS + text)
    correct = correct_code()
    shutil.copy(ROOT / "solutions" / "lesson3_exercises.md", folder / "solution.md")
    shutil.copy(ROOT / "exercises" / "lesson3_exercises.md", folder / "stub.md")
    (folder / "solution.py").write_text(correct)
    careless = {
        "bare_except": "def reparameterize(mu, logvar, generator=None):\n    while "
        "True:\n        try:\n"
        "            while True:\n                pass\n        except:\n            "
        "pass\n",
        "os_exit_in_function": "import os\n\n\n"
        "def elbo_per_image(logits, x, mu, logvar):\n    os._exit(1)\n",
    }
    for name, code in careless.items():
        (folder / f"careless_{name}.py").write_text(correct + "\n# %%\n" + code)
    cells = correct.split("\n# %%\n")
    middle = len(cells) // 2
    hang = (
        "while True:\n    try:\n        sum(range(10**6))\n    except:\n        pass\n"
    )
    for name, code in {
        "exit_cell": "import os\nos._exit(3)\n",
        "hang_cell": hang,
    }.items():
        (folder / f"careless_{name}.py").write_text(
            "\n# %%\n".join(cells[:middle] + [code] + cells[middle:])
        )
    (folder / "alice").mkdir()
    (folder / "alice" / "lesson3.md").write_text(correct_code_md())
    (folder / "bob").mkdir()
    (folder / ".hidden_solution.py").write_text(correct)
    (folder / "dangling.py").symlink_to(folder / "nowhere.py")
    (folder / "link_to_solution.py").symlink_to(folder / "solution.py")
    (folder / ("x" * 245 + ".py")).write_text(correct)
    for name in ("=1+2.py", "@SUM(A1).py", "-cmd.py", "+x.py"):
        (folder / name).write_text(correct)
    (folder / os.fsdecode(b"caf\xe9.py")).write_text(correct)
    # 1.2 MB, never closed
    (folder / "unclosed_fences.md").write_text("```python\nx = 1\n" * 75_000)
    (folder / "huge.ipynb").write_text(
        '{"cells": [], "pad": "' + "x" * 3_000_000 + '"}'
    )


def correct_code_md() -> str:
    return (ROOT / "solutions" / "lesson3_exercises.md").read_text()


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Grade the whole batch once (2 jobs) and read back the CSV."""
    if SANDBOX_PROBLEM is not None:
        pytest.skip(
            f"bubblewrap cannot run here ({SANDBOX_PROBLEM}); the sandbox tests are "
            "skipped"
        )
    server, received = _listen()
    folder = tmp_path_factory.mktemp("submissions")
    _make_batch(folder, server.getsockname()[1])
    # stands for the instructor's private files
    canary = tmp_path_factory.mktemp("instructor")
    (canary / "private_cases.py").write_text("EXERCISES = []\n")
    (canary / "grades.csv").write_text("submission,total\n")
    protected = [folder, canary]
    before = _digest(*protected)
    out = tmp_path_factory.mktemp("grades")
    exercises = select_exercises(load_exercises(), LESSON3)
    started = time.monotonic()
    rows, kept = grade_batch(folder, out, exercises, CONFIG, jobs=2)
    seconds = time.monotonic() - started
    time.sleep(1)
    server.close()
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    return {
        "rows": {r.submission: r for r in rows},
        "csv": {r["submission"]: r for r in table},
        "out": out,
        "folder": folder,
        "before": before,
        "after": _digest(*protected),
        "received": received,
        "traces": _attack_traces(),
        "seconds": seconds,
        "kept": kept,
        "exercises": exercises,
    }


def _points(batch: dict, name: str) -> dict[str, float]:
    return {key: float(batch["csv"][name][key]) for key in LESSON3}


def _feedback(batch: dict, name: str) -> str:
    return (batch["out"] / "feedback" / batch["csv"][name]["feedback"]).read_text()


@needs_sandbox
def test_honest_submissions_get_their_marks(batch: dict) -> None:
    for name in (
        "solution.md",
        "solution.py",
        "alice/lesson3.md",
        ".hidden_solution.py",
        "x" * 245 + ".py",
        "caf\\xe9.py",
    ):
        row = batch["csv"][name]
        assert (row["status"], row["total"], row["reason"]) == ("graded", "5", ""), name
    stub = batch["csv"]["stub.md"]
    assert stub["total"] == "0" and stub["reason"].count("not implemented") == 5
    points = _points(batch, "partial.ipynb")
    assert (
        points["vae_kl"] == 1
        and 0 < points["vae_reparam"] < 1
        and 0 < points["vae_loss"] < 1
    )
    assert points["vae_elbo"] == 0 and points["vae_grey"] == 0
    # the torch.rand noise is named
    assert "not uniform" in _feedback(batch, "partial.ipynb")
    assert "bce_excess is not defined" in _feedback(batch, "partial.ipynb")


@needs_sandbox
def test_every_attack_gains_nothing(batch: dict) -> None:
    attacks = [name for name in batch["csv"] if name.startswith("hostile_")]
    assert len(attacks) == len(list(HOSTILE.glob("*.py"))) >= 15
    gained = {
        name: batch["csv"][name]["total"]
        for name in attacks
        if batch["csv"][name]["total"] != "0"
    }
    assert gained == {}


@needs_sandbox
def test_nothing_outside_the_sandboxes_changed(batch: dict) -> None:
    # the submissions and the instructor's files, byte for byte
    assert batch["after"] == batch["before"]
    # no backdoor in the course package or the Python installation
    assert batch["traces"] == []
    assert [m for m in MARKERS if m.exists()] == []
    assert batch["received"] == []  # no connection reached the host
    leftover = subprocess.run(
        ["pgrep", "-f", "sleep 1234.5"], capture_output=True, text=True
    ).stdout
    assert leftover == ""  # the detached background process died with its sandbox
    assert "background_process.py" not in (
        batch["out"] / "grades.csv"
    ).read_text().replace("hostile_background_process.py", "")


@needs_sandbox
def test_student_output_stays_out_of_the_feedback(batch: dict) -> None:
    text = _feedback(batch, "hostile_leak_in_output.py")
    assert "LEAKED" not in text and "hostile_leak_in_output.py: graded" in text
    assert _points(batch, "huge_output.py")["vae_kl"] == 1
    assert (
        batch["out"] / "feedback" / batch["csv"]["huge_output.py"]["feedback"]
    ).stat().st_size < 5000


@needs_sandbox
def test_one_exercise_that_hangs_or_exits_costs_only_itself(batch: dict) -> None:
    hang = batch["csv"]["careless_bare_except.py"]
    assert (
        hang["total"] == "4"
        and hang["vae_reparam"] == "0"
        and "vae_reparam" in hang["reason"]
    )
    assert "did not finish" in hang["reason"]
    exits = batch["csv"]["careless_os_exit_in_function.py"]
    assert (
        exits["total"] == "4"
        and exits["vae_elbo"] == "0"
        and "the sandbox ended" in exits["reason"]
    )
    for name, words in (
        ("careless_exit_cell.py", "ended the sandbox"),
        ("careless_hang_cell.py", "did not finish"),
    ):
        row = batch["csv"][name]
        assert (
            row["total"] == "5"
            and words in row["reason"]
            and row["reason"].startswith("cell ")
        ), name


@needs_sandbox
def test_broken_submissions_lose_only_what_is_broken(batch: dict) -> None:
    csv_rows = batch["csv"]
    assert _points(batch, "infinite_loop.py")["vae_kl"] == 1
    assert "cell 2: timed out" in csv_rows["infinite_loop.py"]["reason"]
    assert "cell 1: did not finish" in csv_rows["stubborn_loop.py"]["reason"]
    assert _points(batch, "sys_exit.py")["vae_kl"] == 1
    assert "called sys.exit('I am done')" in csv_rows["sys_exit.py"]["reason"]
    assert "cell 1: ended the sandbox" in csv_rows["os_exit.py"]["reason"]
    assert "ModuleNotFoundError" in csv_rows["import_error.py"]["reason"]
    assert _points(batch, "syntax_error.ipynb") == {
        "vae_kl": 1,
        "vae_reparam": 0,
        "vae_loss": 0,
        "vae_elbo": 1,
        "vae_grey": 0,
    }
    assert "cell 3: SyntaxError" in csv_rows["syntax_error.ipynb"]["reason"]
    assert csv_rows["missing_function.py"]["total"] == "1"
    assert "reparameterize is not defined" in csv_rows["missing_function.py"]["reason"]
    for words in (
        "shape (4, 3), the task asks for (4,)",
        "1-tuple",
        "should be a scalar",
        "got list",
    ):
        assert words in csv_rows["wrong_shapes.py"]["reason"]
    assert (
        csv_rows["nans.py"]["total"] == "0" and "NaN" in csv_rows["nans.py"]["reason"]
    )
    assert (
        _points(batch, "memory_hog.py")["vae_kl"] == 1
        and "MemoryError" in csv_rows["memory_hog.py"]["reason"]
    )
    assert _points(batch, "vandal.py")["vae_kl"] == 1


@needs_sandbox
def test_every_entry_has_a_row_and_the_csv_is_safe(batch: dict) -> None:
    table = batch["csv"]
    invalid = {
        name: row["reason"] for name, row in table.items() if row["status"] == "invalid"
    }
    assert "empty folder" in invalid["bob/"]
    assert (
        "symbolic link" in invalid["dangling.py"]
        and "does not exist" in invalid["dangling.py"]
    )
    assert "symbolic link" in invalid["link_to_solution.py"]
    assert "larger than 2 MB" in invalid["huge.ipynb"]
    assert (
        "unsupported file type" in invalid["notes.txt"]
        and "not a" in invalid["not_a_notebook.ipynb"]
    )
    for name in ("'=1+2.py", "'@SUM(A1).py", "'-cmd.py", "'+x.py"):
        assert table[name]["total"] == "5", name
    assert not any(
        row["reason"].startswith(("=", "+", "-", "@")) for row in table.values()
    )
    expected = {p.name for p in batch["folder"].iterdir()} - {"alice", "bob"} | {
        "alice/lesson3.md",
        "bob/",
    }
    assert len(table) == len(expected) and len(batch["rows"]) == len(expected)
    written = sorted(p.name for p in (batch["out"] / "feedback").iterdir())
    assert written == sorted(r["feedback"] for r in table.values())


@needs_sandbox
def test_a_file_of_unclosed_fences_is_read_in_linear_time(batch: dict) -> None:
    row = batch["rows"]["unclosed_fences.md"]
    assert row.total == 0 and row.seconds < 20


@needs_sandbox
def test_a_rerun_resumes_and_keeps_every_row(batch: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(batch["out"], out)
    lines = (out / "grades.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    gone = ("solution.py,", "stub.md,")
    (out / "grades.csv").write_text(
        "".join(line for line in lines if not line.startswith(gone))
        # a row cut short by a crash
        + "stub.md,gra",
        encoding="utf-8",
    )
    rows, kept = grade_batch(batch["folder"], out, batch["exercises"], CONFIG, jobs=2)
    assert sorted(r.submission for r in rows) == ["solution.py", "stub.md"]
    assert kept == len(batch["csv"]) - 2
    table = list(csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8")))
    assert (
        len(table) == len(batch["csv"])
        and {r["submission"]: r["total"] for r in table}["solution.py"] == "5"
    )


def test_feedback_names_are_safe_and_distinct() -> None:
    names = [
        "a.py",
        "a.py ",
        "x" * 300 + ".py",
        "../../etc/passwd",
        "=cmd|' /C calc'!A0.py",
        "caf\\xe9.py",
    ]
    files = [feedback_name(n) for n in names]
    assert len(set(files)) == len(files)
    assert all(
        len(f) < 100 and "/" not in f and not f.startswith((".", "=")) for f in files
    )


@needs_sandbox
def test_every_solution_earns_full_marks_through_the_sandbox() -> None:
    """Every case also works remotely: it calls fn (or a probe), and only plain data
    comes back."""
    from concurrent.futures import ThreadPoolExecutor

    from course_grader.grade import grade_file

    exercises = load_exercises()
    lessons = sorted({e.lesson for e in exercises})
    config = GradeConfig(timeout=300, cell_timeout=120, case_timeout=60)

    def grade(lesson: int) -> tuple[int, float, float, str]:
        chosen = [e for e in exercises if e.lesson == lesson]
        row = grade_file(
            ROOT / "solutions" / f"lesson{lesson}_exercises.md",
            f"lesson{lesson}",
            chosen,
            config,
        )
        return lesson, row.total, round(sum(e.points for e in chosen), 2), row.reason

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(grade, lessons))
    assert [r for r in results if r[1] != r[2]] == []
