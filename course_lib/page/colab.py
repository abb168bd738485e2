"""Google Colab support: the first cell of every notebook, and the light dependencies it installs.

Colab opens the paired ``.ipynb`` of a lesson with torch, torchvision, NumPy, matplotlib and most
of our other dependencies already installed, but without ``course_lib``. The first code cell of
every notebook (:data:`FIRST_CELL`, copied verbatim into each notebook by
``python tools/sync_notebooks.py``) therefore:

1. does nothing unless it runs in Colab (``"google.colab" in sys.modules``);
2. in Colab, ``pip install --no-deps`` course_lib at the book's version (the git tag
   ``v<version>`` of :data:`REPOSITORY_URL`), so pip never touches Colab's CUDA build of torch;
3. calls :func:`install_missing_dependencies`, which installs only those of course_lib's other
   requirements that are missing or too old -- never torch or torchvision.

The cell must be self-contained up to the ``pip install`` (course_lib is not importable before it),
so the canonical text lives here as a string and the sync tool checks every notebook against it.
The repository URL is set in two places that a test keeps equal: :data:`REPOSITORY_URL` here and
``repository.url`` in ``_config.yml``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from course_lib import __version__

REPOSITORY_URL = "https://github.com/dgm-course/deep-generative-models"
"""The public repository of the course (mirrored in ``_config.yml`` -> ``repository.url``)."""

DISTRIBUTION = "course_lib"
NEVER_INSTALL = frozenset({"torch", "torchvision"})
"""Requirements the Colab cell never installs: Colab ships its own (CUDA) builds."""

ALTERNATIVES = {
    "opencv-python-headless": ("opencv-python", "opencv-contrib-python", "opencv-contrib-python-headless"),
}
"""Distributions that provide the same module (``cv2``): Colab has ``opencv-python``, and installing
the headless build next to it would overwrite its files."""

FIRST_CELL_MARKER = "# Colab set-up: installs course_lib"
"""The first line of :data:`FIRST_CELL`; the sync tool recognises the cell by it."""

FIRST_CELL = """\
# Colab set-up: installs course_lib v0.1.0 when this notebook runs in Google Colab; does nothing elsewhere.
import sys

if "google.colab" in sys.modules:
    import subprocess

    URL = "git+https://github.com/dgm-course/deep-generative-models@v0.1.0"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", URL], check=True)
    from course_lib.page.colab import install_missing_dependencies

    install_missing_dependencies()
"""
"""The source of the first code cell of every notebook (lessons, exercises, solutions)."""


def install_url(version: str = __version__) -> str:
    """The pip requirement that installs course_lib ``version`` from the repository's git tag."""
    return f"git+{REPOSITORY_URL}@v{version}"


def in_colab(modules: dict[str, object] | None = None) -> bool:
    """``True`` when running inside Google Colab (its ``google.colab`` module is loaded)."""
    return "google.colab" in (sys.modules if modules is None else modules)


def _requirement_class() -> type:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging ships with pip everywhere we run
        from pip._vendor.packaging.requirements import Requirement
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
    """Split course_lib's run-time requirements into those to install and those to leave alone.

    Args:
        requirements: requirement strings (default: course_lib's installed metadata). Optional
            extras (``; extra == "dev"``) are ignored.
        installed: ``name -> version`` of an installed distribution, or ``None`` when absent.

    Returns:
        ``(to_install, skipped)``: requirement strings that are missing or too old here, and those of
        :data:`NEVER_INSTALL` that are missing or too old (reported, never installed).
    """
    Requirement = _requirement_class()
    if requirements is None:
        requirements = metadata.requires(DISTRIBUTION) or []
    to_install: list[str] = []
    skipped: list[str] = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        candidates = (requirement.name, *ALTERNATIVES.get(requirement.name.lower(), ()))
        versions = [v for v in map(installed, candidates) if v is not None]
        if any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            continue
        plain = f"{requirement.name}{requirement.specifier}"
        (skipped if requirement.name.lower() in NEVER_INSTALL else to_install).append(plain)
    return to_install, skipped


def install_missing_dependencies(
    *,
    requirements: Sequence[str] | None = None,
    installed: Callable[[str], str | None] = _installed_version,
    run: Callable[..., object] = subprocess.run,
) -> list[str]:
    """Install the light dependencies course_lib needs that are missing or too old (never torch).

    Called by :data:`FIRST_CELL` in Colab after ``pip install --no-deps course_lib``.

    Args:
        requirements: requirement strings (default: course_lib's installed metadata).
        installed: ``name -> version or None`` lookup (default: ``importlib.metadata``).
        run: the function that runs pip (default ``subprocess.run``).

    Returns:
        The requirement strings handed to pip (empty when nothing was missing).
    """
    to_install, skipped = missing_requirements(requirements, installed)
    for text in skipped:
        print(f"course_lib: {text} is wanted but not installed here; it is left alone (Colab ships its own build)")
    if to_install:
        run([sys.executable, "-m", "pip", "install", "-q", *to_install], check=True)
        print(f"course_lib: installed {', '.join(to_install)}")
    return to_install
