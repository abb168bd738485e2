"""The exercise generator: stubs from marked regions, loud failure on malformed markers,
no leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from course_grader import markers
from course_grader.markers import BEGIN, END, MarkerError, generate

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n---\n\n# Title\n\n"
)


def notebook(*cells: str) -> str:
    """A MyST notebook whose code cells are ``cells``."""
    return HEADER + "\n".join(
        f"```{{code-cell}} ipython3\n{cell}\n```\n" for cell in cells
    )


def code_cells(text: str) -> list[tuple[str, str]]:
    """(options, body) of each code cell of a generated notebook."""
    pattern = r"```\{code-cell\} ipython3\n((?::[^\n]*\n)*)(.*?)\n```"
    return [(m.group(1), m.group(2)) for m in re.finditer(pattern, text, re.S)]


SOLVED = notebook(
    "import torch",
    'def double(x):\n    """Twice x."""\n    # BEGIN SOLUTION\n    # HINT: multiply '
    "by two\n    y = x * 2\n"
    "    return y\n    # END SOLUTION",
    "def plain(x):\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION",
    "check('double', double)",
    "value = double(3)\nprint(value)",
    "print(value + 1)",
    "print('independent')",
)


def test_region_becomes_a_stub_with_the_hint_at_the_same_indentation() -> None:
    cells = code_cells(generate(SOLVED, "s.md"))
    assert cells[1][1] == (
        'def double(x):\n    """Twice x."""\n    # Hint: multiply by two\n'
        "    raise NotImplementedError('not attempted yet')"
    )
    assert (
        cells[2][1]
        == "def plain(x):\n    raise NotImplementedError('not attempted yet')"
    )


def test_stub_raises_not_implemented_as_not_attempted_yet() -> None:
    namespace: dict = {}
    exec(code_cells(generate(SOLVED))[1][1], namespace)
    with pytest.raises(NotImplementedError, match="not attempted yet"):
        namespace["double"](1)


def test_a_long_hint_wraps_into_comment_lines_within_88_columns() -> None:
    hint = (
        "think about what happens to the variance when you halve the log-variance " * 3
    )
    source = notebook(
        f"def f(x):\n    # BEGIN SOLUTION\n    # HINT: {hint}\n    return x\n    # "
        "END SOLUTION"
    )
    body = code_cells(generate(source))[0][1].split("\n")
    assert all(len(line) <= 88 for line in body)
    assert sum(line.lstrip().startswith("#") for line in body) >= 3
    assert body[-1] == "    raise NotImplementedError('not attempted yet')"


def test_rubrics_are_dropped_from_the_student_version() -> None:
    source = notebook("x = 1").replace(
        "\n```{code-cell}",
        "\nAnswer here.\n\n<!-- BEGIN RUBRIC -->\n"
        "Full marks: names the variance.\n<!-- END RUBRIC -->\n\n```{code-cell}",
        1,
    )
    out = generate(source, "s.md")
    assert "Answer here." in out and "Full marks" not in out and "RUBRIC" not in out
    with pytest.raises(markers.MarkerError, match="not closed"):
        generate(source.replace("<!-- END RUBRIC -->", ""), "s.md")


def test_cells_that_call_a_stub_are_tagged_and_others_are_not() -> None:
    options = [opts for opts, _ in code_cells(generate(SOLVED))]
    tagged = [markers.RAISES_TAG in opts for opts in options]
    # import, def, def, check(...) (check reports stubs itself), call, uses the call's
    # result, independent
    assert tagged == [False, False, False, False, True, True, False]


def test_a_demonstration_guarded_by_check_is_not_tagged() -> None:
    guarded = (
        "if check('double', double, verbose=False):\n    "
        "print(double(2))\nelse:\n    print('later')"
    )
    unguarded = "if True:\n    print(double(2))"
    options = [
        opts
        for opts, _ in code_cells(
            generate(notebook(*notebook_cells(), guarded, unguarded))
        )
    ]
    assert [markers.RAISES_TAG in opts for opts in options[-2:]] == [False, True]


def notebook_cells() -> list[str]:
    """The code cells of SOLVED, as written in the solution."""
    return [body for _, body in code_cells(SOLVED)]


def test_existing_tags_are_kept_and_extended() -> None:
    text = HEADER + (
        "```{code-cell} ipython3\n:tags: [hide-input]\ndef f():\n    # BEGIN "
        "SOLUTION\n    return 1\n"
        "    # END SOLUTION\n```\n\n```{code-cell} ipython3\n:tags: "
        "[hide-output]\nf()\n```\n"
    )
    out = generate(text)
    assert ":tags: [hide-input]\n" in out
    assert ":tags: [hide-output, raises-exception]\n" in out


def test_markdown_and_header_are_unchanged_and_a_generated_note_is_added() -> None:
    out = generate(SOLVED, "solutions/x.md")
    assert out.startswith(HEADER.split("\n# Title")[0].rstrip("\n").split("\n\n")[0])
    assert "# Title" in out and "GENERATED" in out and "solutions/x.md" in out
    assert out.count("```{code-cell}") == SOLVED.count("```{code-cell}")


def _solution_only_lines(text: str) -> set[str]:
    lines = text.split("\n")
    inside, region, outside = False, set(), set()
    for line in lines:
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and not line.strip().startswith("# HINT:"):
            region.add(line.strip())
        else:
            outside.add(line.strip())
    return {line for line in region - outside if line}


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "solutions").glob("lesson*_exercises.md")),
    ids=lambda p: p.name,
)
def test_no_solution_line_survives_in_the_real_exercises(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    solution_lines = _solution_only_lines(text)
    assert len(solution_lines) >= 3
    generated = {line.strip() for line in generate(text, str(path)).split("\n")}
    assert not solution_lines & generated
    committed = (ROOT / "exercises" / path.name).read_text(encoding="utf-8")
    assert not solution_lines & {line.strip() for line in committed.split("\n")}
    assert committed.count("raise NotImplementedError(") >= 3


def test_committed_exercises_are_up_to_date() -> None:
    code = markers.main(
        [
            "--solutions",
            str(ROOT / "solutions"),
            "--exercises",
            str(ROOT / "exercises"),
            "--check",
        ]
    )
    assert code == 0


def test_check_mode_reports_outdated_missing_and_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / "lesson9_exercises.md").write_text(SOLVED)
    args = ["--solutions", str(solutions), "--exercises", str(exercises)]
    assert markers.main([*args, "--check"]) == 1  # missing
    assert markers.main(args) == 0
    assert markers.main([*args, "--check"]) == 0
    target = exercises / "lesson9_exercises.md"
    target.write_text(target.read_text() + "\nhand edit\n")
    assert markers.main([*args, "--check"]) == 1  # out of date
    assert markers.main(args) == 0
    (exercises / "orphan.md").write_text("x")
    assert markers.main([*args, "--check"]) == 1  # no solution generates it
    assert "orphan.md" in capsys.readouterr().err


MALFORMED = {
    "unmatched BEGIN": (
        "def f():\n    # BEGIN SOLUTION\n    return 1",
        11,
        "not closed",
    ),
    "END before BEGIN": (
        "def f():\n    return 1\n    # END SOLUTION\n    # BEGIN SOLUTION",
        12,
        "without a matching",
    ),
    "nested": (
        "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # "
        "END SOLUTION\n"
        "    # END SOLUTION",
        12,
        "nested",
    ),
    "misspelt": (
        "def f():\n    # BEGIN SOLUTON\n    return 1\n    # END SOLUTION",
        11,
        "malformed marker",
    ),
    "no space": (
        "def f():\n    #BEGIN SOLUTION\n    return 1\n    # END SOLUTION",
        11,
        "malformed marker",
    ),
    "lower case": (
        "def f():\n    # begin solution\n    return 1\n    # end solution",
        11,
        "malformed marker",
    ),
    "END OF": (
        "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END OF SOLUTION",
        13,
        "malformed marker",
    ),
    "underscore": (
        "def f():\n    # BEGIN_SOLUTION\n    return 1\n    # END SOLUTION",
        11,
        "malformed marker",
    ),
    "inline": (
        "def f():\n    x = 1  # BEGIN SOLUTION\n    return x\n    # END SOLUTION",
        11,
        "malformed marker",
    ),
    "misplaced hint": (
        "def f():\n    # BEGIN SOLUTION\n    return 1\n    # HINT: late\n    # END "
        "SOLUTION",
        13,
        "right after",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_markers_fail_loudly_with_file_and_line(name: str) -> None:
    cell, line, words = MALFORMED[name]
    with pytest.raises(MarkerError, match=rf"^bad\.md:{line}: .*{words}"):
        generate(notebook(cell), "bad.md")


def test_a_region_may_not_cross_a_cell_boundary() -> None:
    with pytest.raises(MarkerError, match="bad.md:11: .*same code cell"):
        generate(
            notebook(
                "def f():\n    # BEGIN SOLUTION\n    return 1", "    # END SOLUTION"
            ),
            "bad.md",
        )


def test_markers_in_markdown_are_rejected() -> None:
    text = HEADER + "Some text\n# BEGIN SOLUTION\nthe answer is 42\n# END SOLUTION\n"
    with pytest.raises(
        MarkerError, match="bad.md:10: solution marker outside a code cell"
    ):
        generate(text, "bad.md")


def test_a_malformed_marker_makes_the_command_fail_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / "a.md").write_text(SOLVED)
    (solutions / "b.md").write_text(
        notebook("def f():\n    # BEGIN SOLUTON\n    return 42\n    # END SOLUTION")
    )
    assert (
        markers.main(["--solutions", str(solutions), "--exercises", str(exercises)])
        == 2
    )
    assert "b.md:11" in capsys.readouterr().err
    assert not exercises.exists()


def test_leak_guard_refuses_a_result_that_contains_a_solution_line() -> None:
    lines = ["x", "    secret = 42", "y"]
    with pytest.raises(MarkerError, match="leaked"):
        markers._assert_no_leak(
            "x\n    secret = 42\n", {"secret = 42"}, lines, {1}, "s.md"
        )
