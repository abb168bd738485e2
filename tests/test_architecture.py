"""The layout: no import cycle anywhere (function-level imports counted), and a student
wheel that carries the models and the page helpers but no grader, solutions, benchmark
harness or book tools."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course_lib", "course_grader", "benchmarks")


def module_files(
    root: Path = ROOT, packages: tuple[str, ...] = PACKAGES
) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``packages`` (a package is
    its ``__init__``)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``name`` imports anywhere in its file (top level,
    functions, ``if TYPE_CHECKING`` blocks alike): ``from a import b`` counts ``a.b``
    when that is a module."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # `import a.b.c` of a non-module attribute: its module
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(
    root: Path = ROOT, packages: tuple[str, ...] = PACKAGES
) -> dict[str, set[str]]:
    modules = module_files(root, packages)
    return {
        name: imports_of(name, path, set(modules)) for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's
    algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_scan_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text(
        "def f():\n    from ..a import thing\n    return thing\n"
    )
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.sub.b"] == {"pkg.a"} and graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]


def test_no_import_cycles_in_the_packages() -> None:
    graph = import_graph()
    # the scan sees the packages
    assert "course_lib.gan" in graph and "benchmarks.models" in graph
    assert cycles(graph) == []


def test_the_models_never_import_the_page_helpers_or_tools() -> None:
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("course_lib") and not name.startswith(
            ("course_lib.page", "course_lib.grading")
        ):
            assert not {
                t
                for t in targets
                if t.startswith(("course_lib.page", "course_grader", "benchmarks"))
            }, name
        if name.startswith("course_lib"):
            assert not {
                t for t in targets if t.startswith(("course_grader", "benchmarks"))
            }, name


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """A wheel built, without network or build isolation, from a copy of the working
    tree's files."""
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for relative in filter(None, listed):
        origin = ROOT / relative
        if origin.is_file():
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / relative)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("course_lib-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_the_student_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    modules = {
        f"{'/'.join(p.relative_to(ROOT).parts)}"
        for p in (ROOT / "course_lib").rglob("*.py")
    }
    assert modules <= names  # every module of the student package ships
    assert {
        "course_lib/page/source.py",
        "course_lib/gan.py",
        "course_lib/grading/selfcheck.py",
    } <= names


def test_the_wheel_holds_no_grader_solutions_benchmarks_or_book_tools(
    wheel: zipfile.ZipFile,
) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.startswith("course_lib")} == set()
    forbidden = (
        "solutions/",
        "exercises/",
        "course_grader/",
        "benchmarks/",
        "tools/",
        "book/",
        "lessons/",
        "course_lib/bench.py",
        "course_lib/benchmarks.py",
        "course_lib/grading/cases.py",
        "course_lib/grading/grader.py",
        "course_lib/grading/runner.py",
        "course_lib/grading/markers.py",
    )
    assert [
        name for name in wheel.namelist() if any(part in name for part in forbidden)
    ] == []
