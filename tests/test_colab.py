"""The Colab first cell and its dependency logic, tested without Colab (fake modules,
fake pip)."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tomllib
import yaml

import course_lib
from course_lib.errors import CourseInputError
from course_lib.page import colab

ROOT = Path(__file__).resolve().parents[1]


RELEASE = colab.release_from_pyproject(ROOT / "pyproject.toml")
FIRST_CELL = colab.first_cell(RELEASE)


def run_first_cell(
    monkeypatch: pytest.MonkeyPatch,
    *,
    in_colab: bool,
    pip_status: int = 0,
    cell: str = FIRST_CELL,
) -> list[list[str]]:
    """Execute the first cell as a notebook would, with pip and course_lib.page.colab
    replaced by recorders."""
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        commands.append(list(command))
        return subprocess.CompletedProcess(
            command, pip_status, b"", b"fatal: unable to access"
        )

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(
        colab, "install_missing_dependencies", lambda: commands.append(["<light deps>"])
    )
    if in_colab:
        google = types.ModuleType("google")
        google_colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(cell, "<first cell>", "exec"), {"__name__": "__main__"})
    return commands


def test_first_cell_does_nothing_outside_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_first_cell(monkeypatch, in_colab=False) == []


def test_first_cell_in_colab_installs_the_tag_of_this_version_without_dependencies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands = run_first_cell(monkeypatch, in_colab=True)
    assert len(commands) == 2
    pip, light = commands
    assert pip[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-deps" in pip
    assert (
        pip[-1] == "git+https://github.com/dgm-course/deep-generative-models@v"
        f"{course_lib.__version__}"
    )
    assert pip[-1] == RELEASE.pip_url
    assert not any("torch" in part for part in pip)
    assert light == ["<light deps>"]


def test_first_cell_stops_with_one_line_when_pip_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SystemExit) as stopped:
        run_first_cell(monkeypatch, in_colab=True, pip_status=1)
    message = str(stopped.value.code)
    assert "\n" not in message
    assert (
        message.startswith("course_lib: could not install ")
        and RELEASE.pip_url in message
    )
    assert "online" in message


def test_first_cell_is_short_and_starts_with_its_marker() -> None:
    lines = FIRST_CELL.splitlines()
    assert lines[0].startswith(colab.FIRST_CELL_MARKER)
    assert f"v{course_lib.__version__} " in lines[0]
    assert len(lines) <= 14
    # shown on the getting-started page
    assert max(len(line) for line in lines[1:]) <= 100


def test_one_published_location_everywhere() -> None:
    """pyproject.toml is the source; the package, its metadata and the book's launch
    buttons agree with it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert RELEASE == colab.Release(project["urls"]["Repository"], project["version"])
    assert course_lib.__version__ == RELEASE.version, (
        "course_lib/__init__.py's __version__ must equal pyproject's"
    )
    assert colab.installed_release() == RELEASE, (
        "reinstall: pip install -e . (metadata predates pyproject.toml)"
    )
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == RELEASE.repository
    # launch buttons open the tag's notebooks
    assert config["repository"]["branch"] == f"v{RELEASE.version}"
    readme = (ROOT / "README.md").read_text()
    assert (
        f'pip install "course_lib @ git+{RELEASE.repository}@v{RELEASE.version}"'
        in readme
    )


def test_release_addresses() -> None:
    release = colab.Release("https://github.com/owner/repo", "1.2.3")
    assert release.tag == "v1.2.3"
    assert release.pip_url == "git+https://github.com/owner/repo@v1.2.3"
    assert release.wheel_url == (
        "https://github.com/owner/repo/releases/download/v1.2.3/"
        "course_lib-1.2.3-py3-none-any.whl"
    )
    assert release.colab_url("lessons/l.ipynb") == (
        "https://colab.research.google.com/github/owner/repo/"
        "blob/v1.2.3/lessons/l.ipynb"
    )


@pytest.mark.parametrize(
    ("url", "version", "names"),
    [
        ("https://gitlab.com/owner/repo", "0.1.0", "Repository"),
        ("https://github.com/owner/repo.git", "0.1.0", "Repository"),
        ("https://github.com/owner", "0.1.0", "Repository"),
        ("https://github.com/owner/repo", "v0.1.0", "version"),
        ("https://github.com/owner/repo", "0.1.0+local", "version"),
    ],
)
def test_malformed_published_location_is_one_clear_error(
    url: str, version: str, names: str
) -> None:
    with pytest.raises(CourseInputError, match=f"{names} in pyproject.toml"):
        colab.Release(url, version)


def test_pyproject_without_the_location_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "course_lib"\nversion = "0.1.0"\n')
    with pytest.raises(CourseInputError, match=r"\[project.urls\] Repository"):
        colab.release_from_pyproject(path)
    with pytest.raises(CourseInputError, match="not found"):
        colab.release_from_pyproject(tmp_path / "missing.toml")


def test_getting_started_shows_the_cell_word_for_word() -> None:
    """The getting-started page includes the cell from lesson 0's source; Sphinx's own
    reader extracts it."""
    from sphinx.config import Config
    from sphinx.directives.code import LiteralIncludeReader

    page = (ROOT / "book" / "getting_started.md").read_text()
    include = re.search(r"`{3,}\{literalinclude\} (\S+)\n---\n(.*?)\n---\n", page, re.S)
    assert include is not None, "getting_started.md no longer includes the Colab cell"
    options = {
        key.strip(): value.strip().strip("'")
        for key, value in (line.split(":", 1) for line in include.group(2).splitlines())
    }
    options.pop("language")
    source = (ROOT / "book" / include.group(1)).resolve()
    text, _ = LiteralIncludeReader(str(source), options, Config({}, {})).read()
    assert text.rstrip() == FIRST_CELL.rstrip()


FAKE_REQUIREMENTS = [
    "torch>=2.2",
    "torchvision>=0.17",
    "numpy>=1.24",
    "tqdm>=4.64",
    "matplotlib>=3.7",
    "opencv-python-headless>=4.8",
    'pytest>=8; extra == "dev"',
]


def test_only_missing_or_old_light_dependencies_are_installed_with_torch_held() -> None:
    versions = {
        "torch": "2.5.1+cu121",
        "numpy": "1.26.4",
        "matplotlib": "3.6.0",
        "opencv-python": "4.10.0.84",
    }
    commands: list[list[str]] = []
    constraints: list[str] = []

    def fake_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        commands.append(command)
        constraints.append(Path(command[command.index("-c") + 1]).read_text())
        return subprocess.CompletedProcess(command, 0, "", "")

    installed = colab.install_missing_dependencies(
        requirements=FAKE_REQUIREMENTS, installed=versions.get, run=fake_pip
    )
    # tqdm is absent and matplotlib 3.6 is older than 3.7; opencv-python provides cv2
    # already; torchvision is absent but is never installed; pytest belongs to an extra.
    assert installed == ["tqdm>=4.64", "matplotlib>=3.7"]
    assert commands[0][:4] == [sys.executable, "-m", "pip", "install"]
    assert commands[0][-2:] == ["tqdm>=4.64", "matplotlib>=3.7"]
    # Colab's torch build is held where it is
    assert constraints == ["torch==2.5.1+cu121\n"]


def test_a_failed_install_is_one_line_naming_pips_error() -> None:
    pip_output = (
        "WARNING: Retrying after connection broken\nERROR: No matching distribution "
        "found for tqdm\n"
    )
    with pytest.raises(SystemExit) as stopped:
        colab.install_missing_dependencies(
            requirements=["tqdm>=4.64"],
            installed={}.get,
            run=lambda command, **kwargs: subprocess.CompletedProcess(
                command, 1, "", pip_output
            ),
        )
    assert str(stopped.value.code) == (
        "course_lib: could not install tqdm>=4.64 (ERROR: No matching distribution "
        "found for tqdm); "
        "is the runtime online?"
    )


def test_torch_is_reported_not_installed(capsys: pytest.CaptureFixture[str]) -> None:
    to_install, skipped = colab.missing_requirements(
        ["torch>=2.2", "numpy>=1.24"], {"numpy": "2.1.0"}.get
    )
    assert to_install == []
    assert skipped == ["torch>=2.2"]
    colab.install_missing_dependencies(
        requirements=["torch>=2.2"],
        installed={}.get,
        run=lambda *a, **k: pytest.fail("pip must not run"),
    )
    assert "torch>=2.2 is wanted but not installed" in capsys.readouterr().out


def test_nothing_to_install_in_this_complete_environment() -> None:
    calls: list[object] = []
    assert colab.install_missing_dependencies(run=lambda *a, **k: calls.append(a)) == []
    assert calls == []


def test_in_colab_detection() -> None:
    assert colab.in_colab({"google.colab": object()})
    assert not colab.in_colab({})


# ---- the sync tool that puts FIRST_CELL into every notebook
# -----------------------------------------

sys.path.insert(0, str(ROOT / "tools"))
import sync_notebooks  # noqa: E402

NOTEBOOK = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Lesson 9: a title

Some prose with $x$.

```{code-cell} ipython3
import course_lib
settings = course_lib.setup(seed=0)
```

More prose.

```{code-cell} ipython3
:tags: [raises-exception]

1 / 0
```
"""


def code_sources(text: str) -> list[str]:
    import jupytext

    return [
        c.source
        for c in jupytext.reads(text, fmt="md:myst").cells
        if c.cell_type == "code"
    ]


def test_colab_cell_is_inserted_first_and_nothing_else_changes() -> None:
    assert not sync_notebooks.has_colab_cell(NOTEBOOK)
    updated = sync_notebooks.with_colab_cell(NOTEBOOK)
    assert sync_notebooks.has_colab_cell(updated)
    assert code_sources(updated) == [FIRST_CELL.rstrip(), *code_sources(NOTEBOOK)]
    # front matter kept
    assert updated.startswith(NOTEBOOK[: NOTEBOOK.index("# Lesson 9")].rstrip("\n"))
    assert updated.count(colab.FIRST_CELL_MARKER) == 1
    assert sync_notebooks.with_colab_cell(updated) == updated  # idempotent


def test_a_stale_colab_cell_anywhere_is_replaced_by_the_current_one() -> None:
    stale = FIRST_CELL.replace("v0.", "v99.").replace(course_lib.__version__, "99.0.0")
    old_block = f"```{{code-cell}} ipython3\n\n{stale.rstrip()}\n```\n\n"
    text = NOTEBOOK.replace("More prose.\n\n", "More prose.\n\n" + old_block)
    assert "v99" in text and not sync_notebooks.has_colab_cell(text)
    updated = sync_notebooks.with_colab_cell(text)
    assert "v99" not in updated
    assert updated.count(colab.FIRST_CELL_MARKER) == 1
    assert code_sources(updated) == [FIRST_CELL.rstrip(), *code_sources(NOTEBOOK)]


def test_paired_notebook_has_no_outputs_and_is_reproducible(tmp_path: Path) -> None:
    import nbformat

    source = tmp_path / "lesson9_demo.md"
    source.write_text(sync_notebooks.with_colab_cell(NOTEBOOK))
    first, second = (
        sync_notebooks.paired_notebook(source),
        sync_notebooks.paired_notebook(source),
    )
    # content-derived cell ids: a fresh clone regenerates the same bytes
    assert first == second
    notebook = nbformat.reads(first, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.source for c in code] == code_sources(source.read_text())
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert code[0].metadata.tags == ["remove-cell"]
    assert len({c.id for c in notebook.cells}) == len(notebook.cells)


def test_toc_lists_the_pages_present_in_lesson_order(tmp_path: Path) -> None:
    from sphinx_external_toc.parsing import parse_toc_data

    for name in (
        "lesson10_late.md",
        "lesson2_middle.md",
        "lesson0_first.md",
        "notes.md",
    ):
        (tmp_path / "lessons").mkdir(exist_ok=True)
        (tmp_path / "lessons" / name).write_text("# x\n")
    text = sync_notebooks.toc_text(tmp_path)
    toc = yaml.safe_load(text)
    assert toc["root"] == "book/intro"
    captions = [part["caption"] for part in toc["parts"]]
    # no exercises yet: no empty part
    assert captions == ["Start here", "Lessons", "Reference"]
    lessons = [chapter["file"] for chapter in toc["parts"][1]["chapters"]]
    assert lessons == [
        "lessons/lesson0_first",
        "lessons/lesson2_middle",
        "lessons/lesson10_late",
    ]
    parse_toc_data(toc)  # valid for Jupyter Book's table-of-contents parser


def test_colab_module_imports_without_the_light_dependencies() -> None:
    """In Colab the cell imports course_lib.page.colab *before* the light dependencies
    are installed, so importing it (and course_lib/__init__) must need nothing beyond
    torch and NumPy."""
    blocked = [
        "tqdm",
        "matplotlib",
        "scipy",
        "sklearn",
        "skimage",
        "cv2",
        "ipywidgets",
        "PIL",
        "torchvision",
    ]
    script = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked for the test: " + name)
sys.meta_path.insert(0, Block())
from course_lib.page.colab import install_missing_dependencies
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[
        -2000:
    ]


CONFIG = """title: T
launch_buttons:
  colab_url: https://colab.research.google.com
repository:
  url: https://github.com/old/place
  path_to_book: ""
  branch: main

sphinx:
  config:
    url: untouched
"""


def test_config_gets_the_release_url_and_tag_and_nothing_else() -> None:
    release = colab.Release("https://github.com/new/place", "2.0.1")
    updated = sync_notebooks.config_with_release(CONFIG, release)
    config = yaml.safe_load(updated)
    assert config["repository"] == {
        "url": "https://github.com/new/place",
        "path_to_book": "",
        "branch": "v2.0.1",
    }
    assert config["sphinx"]["config"]["url"] == "untouched"
    assert updated.replace("new/place", "old/place").replace("v2.0.1", "main") == CONFIG
    assert sync_notebooks.config_with_release(updated, release) == updated
    with pytest.raises(sync_notebooks.SyncError, match="no top-level `repository:`"):
        sync_notebooks.config_with_release("title: T\n", release)


def test_readme_block_is_regenerated_between_its_markers() -> None:
    release = colab.Release("https://github.com/new/place", "2.0.1")
    text = (
        f"# T\n\nbefore\n\n{sync_notebooks.README_BEGIN}\nstale "
        f"v0.0.1\n{sync_notebooks.README_END}\n\nafter\n"
    )
    updated = sync_notebooks.readme_with_release(text, release)
    assert (
        "stale" not in updated
        and updated.startswith("# T\n\nbefore\n\n")
        and updated.endswith("\n\nafter\n")
    )
    assert (
        'pip install "course_lib @ git+https://github.com/new/place@v2.0.1"' in updated
    )
    assert "/releases/download/v2.0.1/course_lib-2.0.1-py3-none-any.whl" in updated
    assert sync_notebooks.readme_with_release(updated, release) == updated
    with pytest.raises(sync_notebooks.SyncError, match="lacks the markers"):
        sync_notebooks.readme_with_release("# T\n", release)
