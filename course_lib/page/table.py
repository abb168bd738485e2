"""``show_table(rows, header)``: a results table on a lesson page, without building
Markdown by hand in the visible cell.

In a lesson::

    from course_lib.page.table import show_table

    show_table(
        [("PCA, 30 components", 0.0709), ("autoencoder, d = 30", 0.0512)],
        header=("reconstruction", "test MSE per pixel"),
        digits=4,
    )

The result renders as a table in Jupyter and in the book (myst-nb's ``gfm`` Markdown).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from course_lib.errors import CourseInputError


def format_cell(value: object, digits: int | None) -> str:
    """One cell's text: a float with ``digits`` decimals (all of ``repr`` when
    ``None``), an integer or a string as it is. A ``|`` in text is escaped so it
    cannot split the cell."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value).replace("|", r"\|")
    if isinstance(value, numbers.Integral):
        return str(value)
    if digits is None:
        return repr(float(value))
    return f"{float(value):.{digits}f}"


def table_markdown(
    rows: Sequence[Sequence[object]],
    header: Sequence[str],
    *,
    digits: int | Sequence[int | None] | None = 3,
) -> str:
    """The GitHub-flavoured Markdown of a table.

    Args:
        rows: one sequence per row, as many cells as ``header`` has names.
        header: the column names.
        digits: decimals of the floats, one number for every column or one per column
            (``None``: as Python prints them).

    Columns whose cells are all numbers are right-aligned.

    Raises:
        CourseInputError: when a row or ``digits`` has the wrong length, or there are
            no columns.
    """
    n = len(header)
    if n == 0:
        raise CourseInputError("a table needs at least one column name in header")
    per_column = [digits] * n if digits is None or isinstance(digits, int) else digits
    if len(per_column) != n:
        raise CourseInputError(
            f"digits has {len(per_column)} entries but the table has {n} columns; "
            "give one number for all columns or one per column"
        )
    for i, row in enumerate(rows):
        if len(row) != n:
            raise CourseInputError(
                f"row {i} has {len(row)} cells but header names {n} columns: "
                f"{list(header)}"
            )
    numeric = [
        bool(rows)
        and all(
            isinstance(row[j], numbers.Real) and not isinstance(row[j], bool)
            for row in rows
        )
        for j in range(n)
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---:" if num else "---" for num in numeric) + " |",
    ]
    lines += [
        "| "
        + " | ".join(format_cell(value, per_column[j]) for j, value in enumerate(row))
        + " |"
        for row in rows
    ]
    return "\n".join(lines)


def show_table(
    rows: Sequence[Sequence[object]],
    header: Sequence[str],
    *,
    digits: int | Sequence[int | None] | None = 3,
) -> object:
    """The table of :func:`table_markdown` as an ``IPython.display.Markdown`` object
    (the last expression of a cell displays it)."""
    from IPython.display import Markdown

    return Markdown(table_markdown(rows, header, digits=digits))
