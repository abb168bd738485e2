"""Release a version of the course: check, build the wheel, tag. The upload is the
release workflow's.

Usage (from a clean clone, in the course's environment)::

    python tools/release.py --dry-run   # every check and the wheel, no tag
    python tools/release.py             # the same, then the annotated tag v<version> at
    HEAD git push origin v<version>          # .github/workflows/release.yml attaches
    the wheel to a GitHub release

(Or run the *Release* workflow by hand on GitHub: it runs this command and pushes the
tag itself.)

The published location is one place, ``pyproject.toml`` (``[project] version``,
``[project.urls] Repository``). To make a new version: edit ``version`` there and
``__version__`` in ``course_lib/__init__.py``, run ``python tools/sync_notebooks.py``
(regenerates every notebook's first cell, the launch buttons and the README's install
block) and the exercises' generator (``tools/check_generated.sh`` names it), commit,
then run this.

Checks, each failing with one line that names the fix:

1. the working tree is clean (the wheel and the tag are exactly HEAD);
2. the versions agree: pyproject.toml, ``course_lib.__version__``, and the generated
   files (``tools/check_generated.sh``: every notebook installs ``v<version>``,
   ``_config.yml``'s launch buttons point at the tag, the README names it; exercises
   generated from solutions);
3. the tag ``v<version>`` is new, or already marks HEAD (a re-run);
4. the wheel, built from ``git archive HEAD`` (never from stray files), has the right
   name and metadata (version, Repository URL) and carries what pages read at run time:
   the embedded MNIST, the frozen evaluator and the lessons' measured times.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.errors import CourseError  # noqa: E402
from course_lib.page.colab import Release, release_from_pyproject  # noqa: E402

WHEEL_MUST_CONTAIN = (
    "course_lib/assets/mnist.npz",
    "course_lib/assets/evaluator.pt",
    "course_lib/page/lesson_times.json",
    "course_lib/page/colab.py",
)
"""Files the wheel must carry: what the lessons read at run time, in Colab too."""


class ReleaseError(RuntimeError):
    """A release check failed; the message names the problem and the fix."""


def git(*args: str, root: Path = ROOT) -> str:
    """Run ``git args`` in ``root`` and return its stripped standard output (raise
    ReleaseError on failure)."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(
            f"`git {' '.join(args)}` failed: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout.strip()


def check_clean(root: Path = ROOT) -> None:
    """The working tree has no modified, staged or untracked (non-ignored) file."""
    status = git("status", "--porcelain", root=root)
    if status:
        first = status.splitlines()[0]
        count = len(status.splitlines())
        raise ReleaseError(
            f"the working tree is not clean ({count} paths, first: {first.strip()}); "
            "commit or remove them"
        )


def package_version(root: Path = ROOT) -> str:
    """``__version__`` as written in ``course_lib/__init__.py`` (read, not imported)."""
    for line in (
        (root / "course_lib" / "__init__.py").read_text(encoding="utf-8").splitlines()
    ):
        if line.startswith("__version__ = "):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise ReleaseError(
        "course_lib/__init__.py has no `__version__ = ...` line; add one equal to "
        "pyproject's version"
    )


def check_versions(release: Release, root: Path = ROOT) -> None:
    """pyproject.toml, ``course_lib.__version__`` and every generated file name the same
    release."""
    written = package_version(root)
    if written != release.version:
        raise ReleaseError(
            f"course_lib/__init__.py says __version__ = {written!r} but "
            f"pyproject.toml says {release.version!r}; "
            "make them equal"
        )
    # The test command's own check of the generated files (notebooks' first cells,
    # launch buttons, README block, paired notebooks, exercises from solutions); its
    # last line names the fix.
    # this environment's python first
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["bash", "tools/check_generated.sh"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
    )
    if result.returncode != 0:
        stale = (result.stdout + result.stderr).strip().splitlines()
        raise ReleaseError(
            f"generated files do not match {release.tag}: {stale[-1] if stale else '?'}"
        )


def check_tag(release: Release, root: Path = ROOT) -> bool:
    """``True`` when the tag marks HEAD already, ``False`` when it is free; ReleaseError
    if it marks another commit."""
    existing = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"refs/tags/{release.tag}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if existing.returncode != 0:
        return False
    head = git("rev-parse", "HEAD", root=root)
    if existing.stdout.strip() != head:
        raise ReleaseError(
            f"tag {release.tag} already marks {existing.stdout.strip()[:12]}, not "
            "HEAD; raise [project] version in pyproject.toml for a new release"
        )
    return True


def build_wheel(release: Release, out: Path, root: Path = ROOT) -> Path:
    """Build the wheel of HEAD (from ``git archive``) into ``out``; return its path
    after checking its content."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source"
        source.mkdir()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", "HEAD"],
            cwd=root,
            capture_output=True,
            check=True,
        )
        subprocess.run(
            ["tar", "-x", "-C", str(source)], input=archive.stdout, check=True
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--quiet",
                "--wheel-dir",
                str(out),
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise ReleaseError(
                f"building the wheel failed: {lines[-1] if lines else '?'}"
            )
    wheel = out / release.wheel_name
    if not wheel.is_file():
        raise ReleaseError(
            f"pip built no {release.wheel_name} in {out}; found "
            f"{sorted(p.name for p in out.iterdir())}"
        )
    check_wheel(wheel, release)
    return wheel


def check_wheel(wheel: Path, release: Release) -> None:
    """The wheel's metadata names ``release`` and it carries
    :data:`WHEEL_MUST_CONTAIN`."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [name for name in WHEEL_MUST_CONTAIN if name not in names]
        if missing:
            raise ReleaseError(
                f"{wheel.name} lacks {', '.join(missing)}; list them in "
                "[tool.setuptools.package-data] of pyproject.toml"
            )
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    urls = {
        label.strip().lower(): url.strip()
        for label, _, url in (
            entry.partition(",") for entry in metadata.get_all("Project-URL") or []
        )
    }
    if (
        metadata["Version"] != release.version
        or urls.get("repository") != release.repository
    ):
        raise ReleaseError(
            f"{wheel.name} says version {metadata['Version']}, repository "
            f"{urls.get('repository')}; "
            f"expected {release.version} and {release.repository}"
        )


def check_pushed_tag(release: Release, environ: dict[str, str]) -> None:
    """In the release workflow started by a pushed tag, that tag is the one
    pyproject.toml's version makes."""
    if (
        environ.get("GITHUB_REF_TYPE") == "tag"
        and environ.get("GITHUB_REF_NAME") != release.tag
    ):
        raise ReleaseError(
            f"the pushed tag {environ.get('GITHUB_REF_NAME')} is not {release.tag}, "
            f"which pyproject.toml's version makes; delete it and push {release.tag}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "dist",
        help="where the wheel goes (default: dist/)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and build, but create no tag"
    )
    args = parser.parse_args(argv)
    try:
        release = release_from_pyproject(ROOT / "pyproject.toml")
        check_pushed_tag(release, dict(os.environ))
        check_clean()
        check_versions(release)
        tagged = check_tag(release)
        wheel = build_wheel(release, args.out.resolve())
        print(
            f"release: {release.tag} of {release.repository}: checks passed; wheel "
            f"{wheel}"
        )
        if args.dry_run:
            print(
                "release: dry run, no tag created; without --dry-run this tags HEAD "
                f"as {release.tag}"
            )
        elif tagged:
            print(f"release: tag {release.tag} already marks HEAD")
        else:
            git("tag", "-a", release.tag, "-m", f"course_lib {release.version}")
            print(
                f"release: tagged HEAD as {release.tag}; publish with `git push "
                f"origin {release.tag}`"
            )
        # the release workflow's next steps read TAG
        if not args.dry_run and os.environ.get("GITHUB_ENV"):
            with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as env:
                env.write(f"TAG={release.tag}\n")
    except (ReleaseError, CourseError) as error:
        print(f"release: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
