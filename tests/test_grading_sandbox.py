"""The grader's parts one by one: the wire format, the cell reader, the CSV, the command
line, the sandbox's walls."""

from __future__ import annotations

import json
import math
import socket
import struct
import time
from pathlib import Path

import pytest
import torch

from course_grader import cli
from course_grader.limits import tree_limits
from course_grader.report import GradeBook, neutralise, restore
from course_grader.sandbox import bubblewrap_problem
from course_grader.worker import wire
from course_grader.worker.cells import SubmissionError, extract_cells

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_PROBLEM = bubblewrap_problem()
needs_sandbox = pytest.mark.skipif(
    SANDBOX_PROBLEM is not None,
    reason=f"bubblewrap cannot run here ({SANDBOX_PROBLEM}); .ci/run installs it",
)


def _roundtrip(value: object) -> object:
    frame = wire.encode(value)
    (h,) = struct.unpack(">I", frame[:4])
    return wire.decode(frame[4 : 4 + h], frame[12 + h :])


def test_values_cross_the_wire_as_plain_data() -> None:
    generator = torch.Generator().manual_seed(5)
    value = {
        "t": torch.arange(6, dtype=torch.float64).reshape(2, 3),
        "i": torch.tensor([1, 2]),
        "n": 3,
        "f": -math.inf,
        "s": "x",
        "b": True,
        "none": None,
        "tuple": (1, [2.5]),
        "empty": torch.zeros(0, 4),
        "half": torch.ones(2, dtype=torch.bfloat16),
        "gen": generator,
    }
    back = _roundtrip(value)
    assert torch.equal(back["t"], value["t"]) and back["t"].dtype == torch.float64
    assert torch.equal(back["i"], value["i"]) and back["empty"].shape == (0, 4)
    assert (
        back["half"].dtype == torch.bfloat16
        and back["f"] == -math.inf
        and back["tuple"] == (1, [2.5])
    )
    assert (back["n"], back["s"], back["b"], back["none"]) == (3, "x", True, None)
    assert torch.equal(
        torch.rand(3, generator=back["gen"]), torch.rand(3, generator=generator)
    )


def test_what_cannot_travel_arrives_as_its_type_name_only() -> None:
    class Sneaky(torch.Tensor):
        def __eq__(self, other: object) -> bool:  # type: ignore[override]
            return True

    import numpy as np

    back = _roundtrip(
        {
            "array": np.zeros(3),
            "sub": torch.zeros(2).as_subclass(Sneaky),
            "fn": print,
            "f64": np.float64(0.5),
        }
    )
    # a float subclass arrives as a plain float
    assert type(back["f64"]) is float and back["f64"] == 0.5
    assert type(back["array"]).__name__ == "ndarray" and isinstance(
        back["array"], wire.Opaque
    )
    # the subclass and its __eq__ stayed in the sandbox
    assert type(back["sub"]) is torch.Tensor
    assert type(back["fn"]).__name__ == "builtin_function_or_method"


@pytest.mark.parametrize(
    ("header", "payload", "words"),
    [
        (
            b'{"$tensor": {"dtype": "float32", "shape": [4], "offset": 0, "nbytes": '
            b"16}}",
            b"\0" * 8,
            "size",
        ),
        (
            b'{"$tensor": {"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8}}',
            b"\0" * 8,
            "dtype",
        ),
        (b'{"$pickle": "gASV"}', b"", "unknown tag"),
        (b'{"a": 1, "b": 2}', b"", "untagged"),
        (b"[" * 100_000 + b"]" * 100_000, b"", "JSON"),
        (b"not json", b"", "JSON"),
    ],
)
def test_malformed_frames_are_rejected(
    header: bytes, payload: bytes, words: str
) -> None:
    with pytest.raises(wire.WireError, match=words):
        wire.decode(header, payload)


def test_cells_are_read_from_colab_json_myst_plain_markdown_and_scripts(
    tmp_path: Path,
) -> None:
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(
        json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "source": ["%pip install x\n", "a = 1"]},
                    {"cell_type": "markdown", "source": "text"},
                ]
            }
        )
    )
    assert extract_cells(notebook) == ["pass  # magic removed by the grader\na = 1"]
    assert len(extract_cells(ROOT / "solutions" / "lesson3_exercises.md")) >= 10
    (tmp_path / "plain.md").write_text(
        "text\n```python\nx = 1\n```\n````python\ny = 2\n```\nz = 3\n````\n"
    )
    assert extract_cells(tmp_path / "plain.md") == ["x = 1", "y = 2\n```\nz = 3"]
    (tmp_path / "s.py").write_text(
        "# %%\nx = 1\n# %% [markdown]\n# only a comment\n# %%\ny = 2\n"
    )
    assert extract_cells(tmp_path / "s.py") == ["x = 1", "y = 2"]
    (tmp_path / "bad.ipynb").write_text('{"not": "a notebook"}')
    with pytest.raises(SubmissionError, match="no list of 'cells'"):
        extract_cells(tmp_path / "bad.ipynb")


def test_unclosed_fences_are_read_in_linear_time(tmp_path: Path) -> None:
    small, large = tmp_path / "small.md", tmp_path / "large.md"
    small.write_text("```python\nx = 1\n" * 20_000)
    large.write_text("```python\nx = 1\n" * 200_000)  # 3.2 MB
    timings = []
    for path in (small, large):
        started = time.perf_counter()
        assert extract_cells(path) == []
        timings.append(time.perf_counter() - started)
    # 10x the size: about 10x the time
    assert timings[1] < 2.0 and timings[1] < 30 * timings[0] + 0.2


def test_spreadsheet_formulas_are_neutralised_and_recognised_on_resume(
    tmp_path: Path,
) -> None:
    for text in ("=1+2", "+x", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text).startswith("'") and restore(neutralise(text)) == text
    assert (
        neutralise("alice.py") == "alice.py" and restore("'quoted.py") == "'quoted.py"
    )
    exercises = cli.load_exercises()[:2]
    book = GradeBook(tmp_path, exercises)
    from course_grader.grade import Row

    book.add(Row("=evil.py", "graded", {exercises[0].name: 1.0}, "-reason"))
    text = (tmp_path / "grades.csv").read_text()
    assert "'=evil.py" in text and "'-reason" in text
    assert GradeBook(tmp_path, exercises).done == {"=evil.py": "graded"}
    with pytest.raises(cli.CourseInputError, match="other exercises"):
        GradeBook(tmp_path, cli.load_exercises()[:3])


def test_without_bubblewrap_the_grader_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(
        cli,
        "bubblewrap_problem",
        lambda: "bubblewrap is not installed (apt-get install bubblewrap)",
    )
    assert cli.main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert (
        len(err.strip().splitlines()) == 1
        and "refusing" in err
        and "--no-sandbox" in err
    )


PRIVATE_TESTS = """
from course_lib.grading import Case, CaseFailed, Exercise


def _doubles(fn):
    if fn(21) != 42:
        raise CaseFailed("double(21) is wrong")


EXERCISES = [
    Exercise("double", 9, "double", "twice x", (Case("21", _doubles, "multiply by 2"),))
]
"""


@pytest.mark.parametrize("sandboxed", [True, False])
def test_private_tests_file_command_line_summary_and_exit_status(
    sandboxed: bool, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if sandboxed and SANDBOX_PROBLEM:
        pytest.skip(f"bubblewrap cannot run here ({SANDBOX_PROBLEM})")
    tests = tmp_path / "private_cases.py"
    tests.write_text(PRIVATE_TESTS)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "right.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "wrong.py").write_text("def double(x):\n    return x + 2\n")
    out = tmp_path / "out"
    args = [
        str(folder),
        "--out",
        str(out),
        "--tests",
        str(tests),
        "--jobs",
        "2",
        "--timeout",
        "60",
    ]
    assert cli.main(args + ([] if sandboxed else ["--no-sandbox"])) == 0
    text = (out / "grades.csv").read_text()
    assert (
        "right.py,graded,1,1,1," in text
        and "wrong.py,graded,0,0,1,double: 21: double(21) is wrong" in text
    )
    assert "graded 2 submissions: 2 graded" in capsys.readouterr().out
    (folder / "notes.txt").write_text("hello")
    # resumes: only the new, invalid file
    assert cli.main(args + ([] if sandboxed else ["--no-sandbox"])) == 1
    assert (
        "graded 1 submissions: 1 invalid (2 kept from an earlier run)"
        in capsys.readouterr().out
    )


def test_bad_arguments_are_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert (
        cli.main([str(tmp_path / "nowhere"), "--out", str(tmp_path), "--no-sandbox"])
        == 2
    )
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(cli.CourseInputError, match="no such file"):
        cli.load_exercises(tmp_path / "missing.py")
    (tmp_path / "empty.py").write_text("X = 1\n")
    with pytest.raises(cli.CourseInputError, match="must define EXERCISES"):
        cli.load_exercises(tmp_path / "empty.py")
    assert (
        cli.main([str(tmp_path), "--out", str(tmp_path / "o"), "--exercise", "nope"])
        == 2
    )
    assert "unknown exercise" in capsys.readouterr().err


SPY_TESTS = """
import json

from course_lib.grading import Case, CaseFailed, Exercise


def _report(fn):
    raise CaseFailed(json.dumps(fn(), separators=(",", ":")))


EXERCISES = [
    Exercise(
        "spy", 9, "observe", "what a submission can see", (Case("report", _report),)
    )
]
"""

SPY = """
import json
import os
import socket
import time

REPO, CANARY, PORT = "__REPO__", "__CANARY__", __PORT__


def _children_that_filled(count, megabytes):
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                block = bytearray(megabytes * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                time.sleep(3)
            except BaseException:
                os._exit(1)
            os._exit(0)
        pids.append(pid)
    return sum(os.waitpid(pid, 0)[1] == 0 for pid in pids)


def _forks(limit):
    made = 0
    for _ in range(limit):
        try:
            if os.fork() == 0:
                time.sleep(5)
                os._exit(0)  # never returns into the worker
            made += 1
        except OSError:
            break
    return made


def observe():
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
        net = True
    except OSError:
        net = False
    try:
        open(os.path.join(REPO, "course_lib", "__init__.py"), "a").close()
        lib_writable = True
    except OSError:
        lib_writable = False
    return {
        "uid": os.getuid(),
        "procs": sum(p.isdigit() for p in os.listdir("/proc")),
        "net": net,
        "repo": os.path.exists(os.path.join(REPO, "course_grader")),
        "solutions": os.path.exists(os.path.join(REPO, "solutions")),
        "canary": os.path.exists(CANARY),
        "lib_writable": lib_writable,
        "filled": _children_that_filled(3, 600),
        "forks": _forks(200),
    }
"""


@needs_sandbox
def test_the_sandbox_walls(tmp_path: Path) -> None:
    """A spy submission reports what it can reach; a private exercise carries the report
    out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    canary = tmp_path / "instructor_secret.txt"
    canary.write_text("secret")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "spy.py").write_text(
        SPY.replace("__REPO__", str(ROOT))
        .replace("__CANARY__", str(canary))
        .replace("__PORT__", str(server.getsockname()[1]))
    )
    tests = tmp_path / "spy_cases.py"
    tests.write_text(SPY_TESTS)
    exercises = cli.load_exercises(tests)
    config = cli.GradeConfig(timeout=120, case_timeout=60, memory_mb=2000, processes=40)
    rows, _ = cli.grade_batch(folder, tmp_path / "out", exercises, config)
    server.close()
    reason = rows[0].reason
    facts = json.loads(reason[reason.index("{") : reason.rindex("}") + 1])
    # an unprivileged user in its own PID namespace
    assert facts["uid"] != 0 and facts["procs"] <= 3
    assert (
        facts["net"],
        facts["repo"],
        facts["solutions"],
        facts["canary"],
        facts["lib_writable"],
    ) == (False, False, False, False, False)
    assert facts["forks"] < 40  # the process limit
    if tree_limits() == "none":
        pytest.skip(
            "no cgroups here: the memory limit holds per process only (3 x 600 MB "
            "fit under 2000 MB each)"
        )
    # the worker (about 0.7 GB with torch) and 3 x 600 MB do not fit in 2000 MB
    assert facts["filled"] <= 2


def test_no_book_page_includes_or_links_the_solutions_or_the_hidden_cases() -> None:
    """The book is built from the pages of _toc.yml; none may pull in solutions/ or
    course_grader/."""
    import re

    import yaml

    def files(node: object) -> list[str]:
        if isinstance(node, dict):
            return ([node["file"]] if "file" in node else []) + [
                f for v in node.values() for f in files(v)
            ]
        return [f for v in node for f in files(v)] if isinstance(node, list) else []

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [
        ROOT / f"{name}.md"
        for name in [toc.get("root", ""), *files(toc)]
        if (ROOT / f"{name}.md").exists()
    ]
    assert len(pages) >= 10 and ROOT / "book" / "instructors" / "guide.md" in pages
    pulls = re.compile(
        r"(\]\(|\{(?:include|literalinclude)\}\s*|<|href=\"?)"
        r"[^)\s>\"]*(solutions/|course_grader/)"
    )
    assert {
        str(p.relative_to(ROOT)): pulls.findall(p.read_text())
        for p in pages
        if pulls.search(p.read_text())
    } == {}
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert {"solutions/**", "course_grader/**"} <= set(config["exclude_patterns"])


@needs_sandbox
def test_an_interrupted_batch_keeps_its_rows_and_resumes(tmp_path: Path) -> None:
    """Ctrl-C (stop_all) kills the running sandboxes at once; the finished rows stay, a
    rerun grades the rest."""
    import threading

    from course_grader import sandbox

    tests = tmp_path / "private_cases.py"
    tests.write_text(PRIVATE_TESTS)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_right.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "b_hangs.py").write_text(
        "def double(x):\n    return 2 * x\n\n# %%\nwhile True:\n    pass\n"
    )
    exercises, out = cli.load_exercises(tests), tmp_path / "out"
    config = cli.GradeConfig(timeout=120, cell_timeout=100)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            cli.grade_batch(folder, out, exercises, config, jobs=1)
        # the KeyboardInterrupt the command line turns into exit status 130
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    while (
        "a_right.py" not in (out / "grades.csv").read_text()
        if (out / "grades.csv").exists()
        else True
    ):
        time.sleep(0.2)
    time.sleep(3)  # b_hangs.py is in its endless cell now
    stopped = time.monotonic()
    sandbox.stop_all()
    thread.join(30)
    try:
        assert not thread.is_alive() and time.monotonic() - stopped < 15
        assert [type(e).__name__ for e in outcome] == ["KeyboardInterrupt"]
        assert "b_hangs.py" not in (out / "grades.csv").read_text()
    finally:
        sandbox.STOPPING.clear()
    rows, kept = cli.grade_batch(
        folder, out, exercises, cli.GradeConfig(timeout=60, cell_timeout=3)
    )
    assert kept == 1 and [(r.submission, r.total) for r in rows] == [
        ("b_hangs.py", 1.0)
    ]


def test_printed_output_reaches_the_feedback_only_when_asked(tmp_path: Path) -> None:
    tests = tmp_path / "private_cases.py"
    tests.write_text(PRIVATE_TESTS)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "chatty.py").write_text(
        "print('HELLO FROM THE NOTEBOOK')\n\ndef double(x):\n    return 2 * x\n"
    )
    exercises = cli.load_exercises(tests)
    texts = []
    for include in (False, True):
        config = cli.GradeConfig(sandboxed=False, include_output=include, timeout=60)
        out = tmp_path / f"out{include}"
        rows, _ = cli.grade_batch(folder, out, exercises, config)
        assert rows[0].total == 1
        texts.append(next((out / "feedback").iterdir()).read_text())
    assert "HELLO" not in texts[0] and "HELLO FROM THE NOTEBOOK" in texts[1]
