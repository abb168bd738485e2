"""How big a package is to read: lines, code lines and statements of its Python files.

    python tools/package_size.py course_lib                  # the student package
    python tools/package_size.py course_lib --exclude grading

Code lines leave out blank lines, comments and docstrings; statements count the AST's
statement nodes, which a formatter's line breaks do not change.
"""

from __future__ import annotations

import argparse
import ast
import io
import tokenize
from pathlib import Path

LAYOUT = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers of every string that stands alone as a statement (docstrings)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def measure(path: Path) -> tuple[int, int, int]:
    """``(lines, code lines, statements)`` of one Python file."""
    source = path.read_text()
    tree = ast.parse(source)
    skip = docstring_lines(tree)
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in LAYOUT:
            code.update(
                line
                for line in range(token.start[0], token.end[0] + 1)
                if line not in skip
            )
    statements = sum(isinstance(node, ast.stmt) for node in ast.walk(tree))
    return len(source.splitlines()), len(code), statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--exclude", nargs="*", default=[], help="sub-folder names")
    args = parser.parse_args()
    files = [
        path
        for path in sorted(args.package.rglob("*.py"))
        if not set(args.exclude) & set(path.relative_to(args.package).parts)
    ]
    totals = [sum(values) for values in zip(*(measure(path) for path in files))]
    print(
        f"{args.package}: {len(files)} files, {totals[0]} lines, "
        f"{totals[1]} code lines, {totals[2]} statements"
    )


if __name__ == "__main__":
    main()
