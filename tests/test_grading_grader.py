"""The instructor grader on a batch of good, partial, broken and hostile submissions (one batch, in parallel)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from course_lib.errors import CourseInputError
from course_lib.grading import grader
from course_lib.grading.grader import (
    GradeConfig,
    Row,
    grade_folder,
    grade_submission,
    load_exercises,
    main,
    write_outputs,
)
from course_lib.grading.runner import SubmissionError, extract_cells

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
LESSON3 = ("vae_kl", "vae_reparam", "vae_loss", "vae_elbo", "vae_grey")
CONFIG = GradeConfig(exercises=LESSON3, timeout=20, cell_timeout=5, case_timeout=4, memory_mb=1500, kill_margin=3)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Grade every fixture plus the lesson-3 solution and its unmodified exercise, once, with 2 jobs."""
    folder = tmp_path_factory.mktemp("submissions")
    for path in FIXTURES.iterdir():
        # notebook fixtures are stored as .ipynb.in so that linters skip them
        shutil.copy(path, folder / path.name.removesuffix(".in"))
    shutil.copy(ROOT / "solutions" / "lesson3_exercises.md", folder / "solution.md")
    shutil.copy(ROOT / "exercises" / "lesson3_exercises.md", folder / "stub.md")
    before = _digest(folder)
    out = tmp_path_factory.mktemp("grades")
    rows = grade_folder(folder, out, CONFIG, jobs=2)
    with open(out / "grades.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    return {"rows": {r.submission: r for r in rows}, "csv": {r["submission"]: r for r in table}, "out": out,
            "folder": folder, "before": before, "files": sorted(p.name for p in folder.iterdir())}


def _points(batch: dict, name: str) -> dict[str, float]:
    return {key: float(batch["csv"][name][key]) for key in LESSON3}


def test_csv_has_one_row_per_submission_and_the_right_columns(batch: dict) -> None:
    assert sorted(batch["csv"]) == batch["files"]
    first = next(iter(batch["csv"].values()))
    assert list(first) == ["submission", "status", *LESSON3, "total", "max_total", "reason"]
    assert all(row["max_total"] == "5" for row in batch["csv"].values())
    for row in batch["csv"].values():
        assert float(row["total"]) == pytest.approx(sum(_points(batch, row["submission"]).values()))
    leftovers = [p.name for p in batch["out"].rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert sorted(p.name for p in (batch["out"] / "feedback").iterdir()) == [f"{n}.txt" for n in batch["files"]]


def test_solution_earns_full_marks_despite_its_neighbours(batch: dict) -> None:
    row = batch["csv"]["solution.md"]
    assert (row["status"], row["total"], row["reason"]) == ("graded", "5", "")


def test_unmodified_exercise_scores_zero_without_crashing(batch: dict) -> None:
    row = batch["csv"]["stub.md"]
    assert row["status"] == "graded" and row["total"] == "0"
    assert row["reason"].count("not implemented") == 5


def test_partial_colab_notebook_gets_partial_credit(batch: dict) -> None:
    points = _points(batch, "partial.ipynb")
    assert points["vae_kl"] == 1 and 0 < points["vae_reparam"] < 1 and 0 < points["vae_loss"] < 1
    assert points["vae_elbo"] == 0 and points["vae_grey"] == 0
    feedback = (batch["out"] / "feedback" / "partial.ipynb.txt").read_text()
    assert "torch.randn" in feedback and "bce_excess is not defined" in feedback


def test_infinite_loops_are_stopped_per_cell_and_per_case(batch: dict) -> None:
    row = batch["csv"]["infinite_loop.py"]
    assert row["status"] == "graded" and _points(batch, "infinite_loop.py")["vae_kl"] == 1
    assert "cell 2: timed out" in row["reason"] and "vae_reparam" in row["reason"]
    assert _points(batch, "infinite_loop.py")["vae_reparam"] == 0


def test_a_loop_that_swallows_the_time_limit_is_killed(batch: dict) -> None:
    row = batch["rows"]["stubborn_loop.py"]
    assert row.status == "timeout" and row.total == 0 and "killed after 23 s" in row.reason
    assert row.seconds < 40


def test_sys_exit_loses_only_its_cell_and_its_case(batch: dict) -> None:
    row = batch["csv"]["sys_exit.py"]
    assert row["status"] == "graded" and _points(batch, "sys_exit.py")["vae_kl"] == 1
    assert "called sys.exit('I am done')" in row["reason"] and "sys.exit(0)" in row["reason"]


def test_os_exit_is_a_crash_row(batch: dict) -> None:
    row = batch["csv"]["os_exit.py"]
    assert (row["status"], row["total"]) == ("crashed", "0") and "exit status 3" in row["reason"]


def test_exception_at_import_scores_zero_with_the_reason(batch: dict) -> None:
    row = batch["csv"]["import_error.py"]
    assert row["total"] == "0" and "ModuleNotFoundError" in row["reason"]


def test_syntax_error_loses_only_its_cell(batch: dict) -> None:
    points = _points(batch, "syntax_error.ipynb")
    assert points == {"vae_kl": 1, "vae_reparam": 0, "vae_loss": 0, "vae_elbo": 1, "vae_grey": 0}
    assert "cell 3: SyntaxError" in batch["csv"]["syntax_error.ipynb"]["reason"]


def test_missing_functions_are_named(batch: dict) -> None:
    row = batch["csv"]["missing_function.py"]
    assert row["total"] == "1" and "reparameterize is not defined" in row["reason"]


def test_wrong_shapes_and_types_score_zero_with_the_reason(batch: dict) -> None:
    row = batch["csv"]["wrong_shapes.py"]
    assert row["total"] == "0"
    for words in ("shape (4, 3), the task asks for (4,)", "1-tuple", "should be a scalar", "got list"):
        assert words in row["reason"]


def test_nans_score_zero(batch: dict) -> None:
    row = batch["csv"]["nans.py"]
    assert row["total"] == "0" and "NaN" in row["reason"]


def test_huge_output_is_truncated(batch: dict) -> None:
    assert _points(batch, "huge_output.py")["vae_kl"] == 1
    feedback = batch["out"] / "feedback" / "huge_output.py.txt"
    assert feedback.stat().st_size < 50_000 and "characters of output dropped" in feedback.read_text()


def test_memory_hog_hits_the_limit_and_the_rest_is_graded(batch: dict) -> None:
    row = batch["csv"]["memory_hog.py"]
    assert row["status"] == "graded" and _points(batch, "memory_hog.py")["vae_kl"] == 1
    assert "MemoryError" in row["reason"]


def test_vandal_only_damages_its_own_temporary_copy(batch: dict) -> None:
    assert _digest(batch["folder"]) == batch["before"]
    assert _points(batch, "vandal.py")["vae_kl"] == 1
    assert batch["csv"]["solution.md"]["total"] == "5"  # its fake grades.csv went nowhere


def test_files_that_are_not_notebooks_get_an_invalid_row(batch: dict) -> None:
    junk, notes = batch["csv"]["not_a_notebook.ipynb"], batch["csv"]["notes.txt"]
    assert (junk["status"], junk["total"]) == ("invalid", "0") and "not a" in junk["reason"]
    assert (notes["status"], notes["total"]) == ("invalid", "0") and "unsupported file type" in notes["reason"]


def test_extract_cells_reads_colab_json_myst_and_percent_scripts(tmp_path: Path) -> None:
    notebook = tmp_path / "n.ipynb"
    shutil.copy(FIXTURES / "partial.ipynb.in", notebook)
    cells = extract_cells(notebook)
    assert len(cells) == 7 and cells[0].startswith("pass  # magic removed")
    assert len(extract_cells(FIXTURES / "sys_exit.py")) == 3
    assert len(extract_cells(ROOT / "solutions" / "lesson3_exercises.md")) >= 10
    (tmp_path / "plain.md").write_text("text\n```python\nx = 1\n```\n")
    assert extract_cells(tmp_path / "plain.md") == ["x = 1"]
    (tmp_path / "bad.ipynb").write_text('{"not": "a notebook"}')
    with pytest.raises(SubmissionError, match="no list of 'cells'"):
        extract_cells(tmp_path / "bad.ipynb")


PRIVATE_TESTS = '''
from course_lib.grading import Case, CaseFailed, Exercise


def _doubles(fn):
    if fn(21) != 42:
        raise CaseFailed("double(21) is wrong")


EXERCISES = [Exercise("double", 9, "double", "twice x", (Case("21", _doubles, "multiply by 2"),))]
'''


@pytest.mark.parametrize("backend", ["forkserver", "subprocess"])
def test_private_tests_file_and_command_line(backend: str, tmp_path: Path, capsys: pytest.CaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "subprocess":  # the fallback where fork servers do not exist
        monkeypatch.setattr(grader, "_forkserver", lambda: None)
    tests = tmp_path / "private_cases.py"
    tests.write_text(PRIVATE_TESTS)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "right.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "wrong.py").write_text("def double(x):\n    return x + 2\n")
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out), "--tests", str(tests), "--jobs", "2", "--timeout", "20"]) == 0
    rows = {r["submission"]: r for r in csv.DictReader(open(out / "grades.csv", newline=""))}
    assert (rows["right.py"]["double"], rows["wrong.py"]["double"]) == ("1", "0")
    assert "double(21) is wrong" in (out / "feedback" / "wrong.py.txt").read_text()
    assert "graded 2 submissions" in capsys.readouterr().out


def test_bad_arguments_are_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(CourseInputError, match="no such file"):
        load_exercises(tmp_path / "missing.py")
    (tmp_path / "empty.py").write_text("X = 1\n")
    with pytest.raises(CourseInputError, match="must define EXERCISES"):
        load_exercises(tmp_path / "empty.py")
    assert main([str(tmp_path), "--out", str(tmp_path / "o"), "--exercise", "nope"]) == 2
    assert "unknown exercise" in capsys.readouterr().err


def test_outputs_are_replaced_atomically(tmp_path: Path) -> None:
    exercises = load_exercises()[:2]
    (tmp_path / "grades.csv").write_text("old contents\n")
    write_outputs([Row("a.py", "graded", {exercises[0].name: 1.0}, feedback="fine\n")], exercises, tmp_path)
    text = (tmp_path / "grades.csv").read_text()
    assert "old contents" not in text and text.splitlines()[1].startswith("a.py,graded,1,0,1,2,")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_grader_side_failure_becomes_an_error_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def full_disk(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", full_disk)
    (tmp_path / "a.py").write_text("x = 1\n")
    row = grade_submission(tmp_path / "a.py", load_exercises()[:1], CONFIG)
    assert row.status == "error" and row.total == 0 and "No space left on device" in row.reason
