"""course_lib.page.table: the Markdown of a results table, checked against tables
written out by hand."""

import pytest

from course_lib.errors import CourseInputError
from course_lib.page.table import format_cell, show_table, table_markdown


def test_table_matches_a_hand_written_table() -> None:
    text = table_markdown(
        [("mean image", 0.26991), ("PCA, 30", 0.07094)],
        header=("reconstruction", "test MSE"),
        digits=4,
    )
    assert text == (
        "| reconstruction | test MSE |\n"
        "| --- | ---: |\n"
        "| mean image | 0.2699 |\n"
        "| PCA, 30 | 0.0709 |"
    )


def test_digits_per_column_and_integers_kept() -> None:
    text = table_markdown(
        [(2, 0.5, 0.123456), (10, 0.25, 1.0)], header=("d", "a", "b"), digits=(0, 1, 3)
    )
    assert text.splitlines()[2] == "| 2 | 0.5 | 0.123 |"
    assert text.splitlines()[3] == "| 10 | 0.2 | 1.000 |"


def test_text_with_a_pipe_is_escaped_and_mixed_columns_left_aligned() -> None:
    text = table_markdown([("a|b", 1), ("c", "n/a")], header=("name", "value"))
    assert text.splitlines()[1] == "| --- | --- |"
    assert r"a\|b" in text


def test_format_cell_keeps_booleans_as_text() -> None:
    assert format_cell(True, 2) == "True"
    assert format_cell(0.5, None) == "0.5"


@pytest.mark.parametrize(
    "rows, header, digits, message",
    [
        ([(1, 2)], ("a",), 3, "row 0 has 2 cells"),
        ([(1,)], ("a",), (1, 2), "digits has 2 entries"),
        ([], (), 3, "at least one column"),
    ],
)
def test_bad_input_is_a_clear_error(rows, header, digits, message) -> None:
    with pytest.raises(CourseInputError, match=message):
        table_markdown(rows, header, digits=digits)


def test_show_table_renders_markdown() -> None:
    shown = show_table([("x", 1.0)], header=("name", "value"), digits=1)
    assert shown._repr_markdown_() == "| name | value |\n| --- | ---: |\n| x | 1.0 |"
