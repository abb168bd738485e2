"""Google Colab support: the published location of the course, the first cell of every
notebook, and the light dependencies that cell installs.

**One place for the published location and version.** ``pyproject.toml`` holds the
version (``[project] version``) and the repository (``[project.urls] Repository``); the
git tag of a release is ``v<version>``. :func:`release_from_pyproject` reads them, and
``python tools/sync_notebooks.py`` generates from them the first cell of every notebook,
the book's launch buttons (``repository`` in ``_config.yml``, pointed at the tag) and
the README's install line. So a notebook opened from the book's launch button is the
notebook of the tag, and its first cell installs the library of the same tag.
``python tools/release.py`` checks that all of these agree before it tags a version.

**The first cell** (:func:`first_cell`). Colab opens the paired ``.ipynb`` of a lesson
with torch, torchvision, NumPy, matplotlib and most of our other dependencies already
installed, but without ``course_lib``. The cell therefore

1. does nothing unless it runs in Colab (``"google.colab" in sys.modules``);
2. in Colab, ``pip install --no-deps`` course_lib from the release's git tag, so pip
   never touches Colab's CUDA build of torch; if that fails (no network, say) it stops
   with one line saying so;
3. calls :func:`install_missing_dependencies`, which installs only those of course_lib's
   other requirements that are missing or too old -- never torch or torchvision, which
   it also pins at their installed versions while pip runs, so no dependency can pull in
   another build.

The cell must be self-contained up to its ``pip install`` (course_lib is not importable
before it). This module must import with nothing but the standard library, because the
cell imports it before the light dependencies are installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from course_lib.errors import CourseInputError

DISTRIBUTION = "course_lib"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
"""The project file of a source checkout (absent from an installed wheel)."""

NEVER_INSTALL = frozenset({"torch", "torchvision"})
"""Requirements the Colab cell never installs: Colab ships its own (CUDA) builds."""

ALTERNATIVES = {
    "opencv-python-headless": (
        "opencv-python",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    ),
}
"""Distributions that provide the same module (``cv2``): Colab has ``opencv-python``,
and installing the headless build next to it would overwrite its files."""

FIRST_CELL_MARKER = "# Colab set-up: installs course_lib"
"""The first line of the cell starts with this; the sync tool recognises the cell by
it."""

_GITHUB = re.compile(
    r"https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)"
)
_VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")


@dataclass(frozen=True)
class Release:
    """Where a version of the course is published.

    Attributes:
        repository: the public GitHub repository, ``https://github.com/<owner>/<name>``
            (no ``.git``).
        version: the version of course_lib, e.g. ``"0.1.0"`` (PEP 440, no local label).
    """

    repository: str
    version: str

    def __post_init__(self) -> None:
        if _GITHUB.fullmatch(self.repository) is None or self.repository.endswith(
            ".git"
        ):
            raise CourseInputError(
                f"repository URL {self.repository!r} is not "
                "https://github.com/<owner>/<name>; "
                "fix [project.urls] Repository in pyproject.toml"
            )
        if _VERSION.fullmatch(self.version) is None:
            raise CourseInputError(
                f"version {self.version!r} is not a plain release number such as "
                "0.1.0; fix [project] version "
                "in pyproject.toml"
            )

    @property
    def tag(self) -> str:
        """The git tag of the release, ``v<version>``."""
        return f"v{self.version}"

    @property
    def pip_url(self) -> str:
        """The pip requirement that installs this release from its git tag."""
        return f"git+{self.repository}@{self.tag}"

    @property
    def wheel_name(self) -> str:
        """The file name of the release's wheel (attached to the GitHub release by the
        release workflow)."""
        return f"{DISTRIBUTION}-{self.version}-py3-none-any.whl"

    @property
    def wheel_url(self) -> str:
        """Where the release workflow publishes the wheel."""
        return f"{self.repository}/releases/download/{self.tag}/{self.wheel_name}"

    def colab_url(self, notebook: str) -> str:
        """The Colab address of ``notebook`` (a path in the repository, e.g.
        ``lessons/lesson0_x.ipynb``) at the tag."""
        owner, name = self.owner_and_name
        return (
            f"https://colab.research.google.com/github/{owner}/{name}"
            f"/blob/{self.tag}/{notebook}"
        )

    @property
    def owner_and_name(self) -> tuple[str, str]:
        """``("<owner>", "<name>")`` of the repository."""
        match = _GITHUB.fullmatch(self.repository)
        assert match is not None  # checked in __post_init__
        return match["owner"], match["name"]


def release_from_pyproject(path: Path | str = PYPROJECT) -> Release:
    """The release described by ``pyproject.toml``: ``[project] version`` and
    ``[project.urls] Repository``.

    Raises:
        CourseInputError: when the file is missing, or either field is missing or
            malformed.
    """
    file = Path(path)
    if not file.is_file():
        raise CourseInputError(
            f"{file} not found; run this from a clone of the course's repository"
        )
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise CourseInputError(
            "reading pyproject.toml needs Python 3.11 or newer (tomllib)"
        ) from None
    project = tomllib.loads(file.read_text(encoding="utf-8")).get("project", {})
    version = project.get("version")
    repository = project.get("urls", {}).get("Repository")
    if not isinstance(version, str) or not isinstance(repository, str):
        raise CourseInputError(
            f"{file} must set [project] version and [project.urls] Repository (the "
            "published location)"
        )
    return Release(repository=repository, version=version)


def installed_release(distribution: str = DISTRIBUTION) -> Release:
    """The release of the installed course_lib, from its metadata (``Version`` and
    ``Project-URL: Repository``)."""
    meta = metadata.metadata(distribution)
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return Release(repository=url.strip(), version=meta["Version"])
    raise CourseInputError(
        f"the installed {distribution} names no Repository URL; reinstall it from "
        "the repository"
    )


def first_cell(release: Release) -> str:
    """The source of the first code cell of every notebook (lessons, exercises,
    solutions) for ``release``."""
    return f'''\
{FIRST_CELL_MARKER} {release.tag} when this notebook runs in Google Colab; \
does nothing elsewhere.
import sys

if "google.colab" in sys.modules:
    import subprocess

    URL = "{release.pip_url}"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", URL]
    if subprocess.run(pip, capture_output=True).returncode != 0:
        why = f"is the runtime online? `!pip install {{URL}}` shows pip's message"
        raise SystemExit(f"course_lib: could not install {{URL}}; {{why}}")
    from course_lib.page.colab import install_missing_dependencies

    install_missing_dependencies()
'''


def in_colab(modules: dict[str, object] | None = None) -> bool:
    """``True`` when running inside Google Colab (its ``google.colab`` module is
    loaded)."""
    return "google.colab" in (sys.modules if modules is None else modules)


def _requirement_class() -> type:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging ships with pip everywhere we run
        from pip._vendor.packaging import requirements

        return requirements.Requirement
    return Requirement


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def missing_requirements(
    requirements: Sequence[str] | None = None,
    installed: Callable[[str], str | None] = _installed_version,
) -> tuple[list[str], list[str]]:
    """Split course_lib's run-time requirements into those to install and those to leave
    alone.

    Args:
        requirements: requirement strings (default: course_lib's installed metadata).
            Optional extras (``; extra == "dev"``) are ignored.
        installed: ``name -> version`` of an installed distribution, or ``None`` when
            absent.

    Returns:
        ``(to_install, skipped)``: requirement strings that are missing or too old here,
        and those of :data:`NEVER_INSTALL` that are missing or too old (reported, never
        installed).
    """
    Requirement = _requirement_class()
    if requirements is None:
        requirements = metadata.requires(DISTRIBUTION) or []
    to_install: list[str] = []
    skipped: list[str] = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate(
            {"extra": ""}
        ):
            continue
        candidates = (requirement.name, *ALTERNATIVES.get(requirement.name.lower(), ()))
        versions = [v for v in map(installed, candidates) if v is not None]
        if any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            continue
        plain = f"{requirement.name}{requirement.specifier}"
        (skipped if requirement.name.lower() in NEVER_INSTALL else to_install).append(
            plain
        )
    return to_install, skipped


def pinned_builds(
    installed: Callable[[str], str | None] = _installed_version,
) -> list[str]:
    """pip constraints ``name==version`` that hold the installed torch and torchvision
    where they are."""
    return [
        f"{name}=={version}"
        for name in sorted(NEVER_INSTALL)
        if (version := installed(name)) is not None
    ]


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip printed nothing"])[-1]


def install_missing_dependencies(
    *,
    requirements: Sequence[str] | None = None,
    installed: Callable[[str], str | None] = _installed_version,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
) -> list[str]:
    """Install the light dependencies course_lib needs that are missing or too old
    (never torch).

    Called by the first cell in Colab after ``pip install --no-deps course_lib``. While
    pip runs, the installed torch and torchvision are pinned (a constraints file), so no
    dependency can replace them.

    Args:
        requirements: requirement strings (default: course_lib's installed metadata).
        installed: ``name -> version or None`` lookup (default: ``importlib.metadata``).
        run: the function that runs pip (default ``subprocess.run``); it gets the
            command and ``capture_output=True, text=True`` and returns a
            ``CompletedProcess``.

    Returns:
        The requirement strings handed to pip (empty when nothing was missing).

    Raises:
        SystemExit: one line naming what could not be installed and pip's last error,
            when pip fails.
    """
    to_install, skipped = missing_requirements(requirements, installed)
    for text in skipped:
        print(
            f"course_lib: {text} is wanted but not installed here; it is left alone "
            "(Colab ships its own build)"
        )
    if not to_install:
        return []
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "keep-torch.txt"
        constraints.write_text(
            "".join(f"{line}\n" for line in pinned_builds(installed))
        )
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            os.fspath(constraints),
            *to_install,
        ]
        result = run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"course_lib: could not install {', '.join(to_install)} "
            f"({_last_error_line(result.stderr or '')}); "
            "is the runtime online?"
        )
    print(f"course_lib: installed {', '.join(to_install)}")
    return to_install
