"""Vendor the JavaScript the built book serves itself, so its pages work offline (no
CDN).

Today that is MathJax 3 (equations). The version is recorded in
``tools/vendor/package.json`` and ``tools/vendor/package-lock.json`` (with the
registry's integrity hash); nothing is copied by hand into the repository. This tool
runs ``npm ci`` into the ignored folder ``tools/vendor/node_modules`` and copies the
files a page needs into the ignored folder ``tools/vendor/static/mathjax/``, which
``_config.yml`` lists in ``html_static_path`` (so Sphinx copies it to
``_build/html/_static/mathjax``) and points ``mathjax_path`` at.

The book's local Sphinx extension (``book/_ext/course_book.py``) calls
:func:`ensure_vendored` at the start of every build, so ``jupyter-book build .`` is
enough; run this file by hand to vendor (or
re-vendor with ``--force``) ahead of time::

    python tools/vendor_js.py            # install if missing, print where
    python tools/vendor_js.py --check    # exit 1 unless the vendored copy matches
    package.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
STATIC_DIR = VENDOR_DIR / "static"
# the combined component Sphinx loads (TeX + MathML in, CommonHTML out)
MATHJAX_ENTRY = "tex-mml-chtml.js"
# Folders of MathJax's es5 build that the entry point loads on demand (fonts, TeX
# extensions, menu, accessibility and speech); the other combined components are not
# needed.
MATHJAX_FOLDERS = ("input", "output", "ui", "a11y", "sre", "adaptors")


class VendorError(RuntimeError):
    """The JavaScript could not be vendored; the message says what to do."""


def pinned_version(package: str = "mathjax", vendor_dir: Path = VENDOR_DIR) -> str:
    """The exact version of ``package`` pinned in ``package.json`` (e.g.
    ``"3.2.2"``)."""
    manifest = json.loads((vendor_dir / "package.json").read_text())
    return manifest["dependencies"][package]


def installed_version(
    package: str = "mathjax", vendor_dir: Path = VENDOR_DIR
) -> str | None:
    """The version of ``package`` in ``node_modules``, or ``None`` when it is not
    installed."""
    manifest = vendor_dir / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text())["version"]


def vendored_version(static_dir: Path = STATIC_DIR) -> str | None:
    """The MathJax version copied into ``static/mathjax`` (from its ``VERSION`` file),
    or ``None``."""
    marker = static_dir / "mathjax" / "VERSION"
    if not (marker.is_file() and (static_dir / "mathjax" / MATHJAX_ENTRY).is_file()):
        return None
    return marker.read_text().strip()


def npm_install(vendor_dir: Path = VENDOR_DIR) -> None:
    """Run ``npm ci`` (exact versions from the lock file) in ``vendor_dir``.

    Raises:
        VendorError: when npm is missing or the install fails.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError(
            "the book serves MathJax itself (offline HTML), and installing it needs "
            "npm, which is not on "
            "PATH. Install Node.js (e.g. `apt-get install nodejs npm` or "
            "https://nodejs.org), then build "
            "again; or build with COURSE_BOOK_MATHJAX=cdn to load MathJax from the "
            "jsDelivr CDN instead."
        )
    command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, cwd=vendor_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise VendorError(
            f"`npm ci` in {vendor_dir} failed (exit {result.returncode}); it needs "
            "the npm registry once. "
            f"npm said:\n{result.stderr.strip()[-2000:]}"
        )


def copy_mathjax(vendor_dir: Path = VENDOR_DIR, static_dir: Path = STATIC_DIR) -> Path:
    """Copy MathJax's entry point and the folders it loads into ``static_dir/mathjax``;
    return that folder."""
    source = vendor_dir / "node_modules" / "mathjax" / "es5"
    target = static_dir / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(source / MATHJAX_ENTRY, target / MATHJAX_ENTRY)
    for folder in MATHJAX_FOLDERS:
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder)
    shutil.copy2(source.parent / "LICENSE", target / "LICENSE")
    (target / "VERSION").write_text(installed_version("mathjax", vendor_dir) + "\n")
    return target


def ensure_vendored(
    *, force: bool = False, vendor_dir: Path = VENDOR_DIR, static_dir: Path = STATIC_DIR
) -> Path:
    """Make sure ``static_dir/mathjax`` holds the pinned MathJax; install and copy only
    when needed.

    Returns:
        The folder holding ``tex-mml-chtml.js``.

    Raises:
        VendorError: when npm is missing or fails, or the installed version differs from
            the pin.
    """
    wanted = pinned_version("mathjax", vendor_dir)
    if not force and vendored_version(static_dir) == wanted:
        return static_dir / "mathjax"
    if force or installed_version("mathjax", vendor_dir) != wanted:
        npm_install(vendor_dir)
    found = installed_version("mathjax", vendor_dir)
    if found != wanted:
        raise VendorError(
            f"npm installed mathjax {found}, but package.json pins {wanted}; fix "
            "package-lock.json"
        )
    return copy_mathjax(vendor_dir, static_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--force", action="store_true", help="reinstall and copy even when up to date"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the vendored copy is current",
    )
    args = parser.parse_args(argv)
    wanted = pinned_version()
    if args.check:
        found = vendored_version()
        if found != wanted:
            print(
                f"vendored MathJax is {found or 'missing'}, package.json pins "
                f"{wanted}: run python tools/vendor_js.py"
            )
            return 1
        print(f"vendored MathJax {found} in {STATIC_DIR / 'mathjax'}")
        return 0
    try:
        folder = ensure_vendored(force=args.force)
    except VendorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MathJax {vendored_version()} vendored in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
