"""Rehearse a lesson's first minutes in Colab without GitHub: Python 3.12, Colab's
stack, the real first cell.

Usage::

    python tools/colab_rehearsal.py [--lesson
    lessons/lesson3_variational_autoencoders.ipynb]

Run by tests/test_colab_rehearsal.py (hence by ``.ci/run``; ``COURSE_SKIP_COLAB=1``
leaves it out).

1. **Colab's image**: a Python 3.12 virtual environment with Colab's preinstalled stack
   (``tools/colab_stack.txt``: torch, torchvision, NumPy, matplotlib, scikit-learn,
   ipywidgets), made once and reused, outside the repository (``COURSE_COLAB_STACK``,
   default ``~/.cache/course_lib/colab-py312``; the first run downloads about 3 GB of
   CUDA torch). Python 3.12 comes from ``COURSE_COLAB_PYTHON``, else ``python3.12`` on
   PATH, else pyenv.
2. **A fresh runtime**: each rehearsal makes a new virtual environment that sees the
   stack through a ``.pth`` file (as Colab's runtime sees its system packages): whatever
   the cell installs goes into the fresh environment, and the stack itself is never
   written to. A stand-in ``google.colab`` module is imported first, as Colab's kernel
   has it loaded.
3. **The published repository**: a one-commit repository of this repository's HEAD,
   tagged with the release tag ``v<version>``, stands for GitHub; the lesson's first
   cell -- read from the copy's ``.ipynb``, exactly as Colab opens it -- is run with the
   GitHub URL replaced by the copy's file URL.
4. Then the lesson's imports (every top-level ``import`` of its code cells) and one
   short recipe run (``fit_vae`` under the smoke profile), and the lesson's Time table
   (package data in the wheel).

It fails (exit 1, one line saying why) unless: the cell installed course_lib of the tag
into the fresh environment and the light dependencies the stack lacks; torch's version,
path and files are unchanged; the lesson's imports work; the recipe trains; the Time
table shows measured figures; and the same cell, with the network down (a proxy that
refuses connections), stops with exactly one readable line.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from course_lib.page.timings import NOT_MEASURED

ROOT = Path(__file__).resolve().parents[1]
STACK_FILE = ROOT / "tools" / "colab_stack.txt"
COLAB_STACK = tuple(
    line.strip()
    for line in STACK_FILE.read_text().splitlines()
    if line.strip()[:1].isalnum()
)
"""Colab's preinstalled packages that course_lib uses (``tools/colab_stack.txt``).
Colab's image has more (scikit-image, OpenCV, tqdm...); leaving them out makes the cell
prove it installs what is missing."""
DEFAULT_LESSON = "lessons/lesson3_variational_autoencoders.ipynb"
# the discard port: nothing listens, connections are refused at once
DEAD_PROXY = "http://127.0.0.1:9"

DRIVER = r"""
import ast, json, os, sys, time
import google.colab  # the stand-in: Colab's kernel has it loaded
import torch

before = {"version": torch.__version__, "file": torch.__file__}
notebook = json.load(open(os.environ["REHEARSAL_NOTEBOOK"]))
cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
cell = cells[0].replace(
    os.environ["REHEARSAL_PUBLIC_URL"], os.environ["REHEARSAL_LOCAL_URL"]
)
started = time.perf_counter()
exec(compile(cell, "<first cell>", "exec"), {"__name__": "__main__"})
if os.environ.get("REHEARSAL_CELL_ONLY"):
    sys.exit(0)
cell_seconds = time.perf_counter() - started
imports = []
for source in cells[1:]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not Python, and not imports
        continue
    imports += [
        ast.get_source_segment(source, n)
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
    ]
namespace = {}
exec("\n".join(imports), namespace)

import course_lib
from course_lib.data import load_mnist
from course_lib.page.timings import timing_markdown
from course_lib.vae import MLPVAE, fit_vae

settings = course_lib.setup(seed=0)
images, labels = load_mnist("train")
model, history = fit_vae(
    MLPVAE(latent_dim=2, hidden_dims=(64,)),
    images,
    labels=labels,
    budget=settings.profile.budget("vae"),
    device=settings.device,
    cache=False,
)
lesson = os.path.basename(os.environ["REHEARSAL_NOTEBOOK"]).removesuffix(".ipynb")
report = {
    "torch_before": before,
    "torch_after": {"version": torch.__version__, "file": torch.__file__},
    "course_lib": {"version": course_lib.__version__, "file": course_lib.__file__},
    "imports": len(imports),
    "loss": history["loss"][-1],
    "cell_seconds": round(cell_seconds, 1),
    "timings": timing_markdown(lesson),
}
print("REHEARSAL " + json.dumps(report))
"""


class RehearsalError(RuntimeError):
    """The rehearsal failed; the message says what and why."""


def find_python312() -> str:
    """The Python 3.12 interpreter: ``COURSE_COLAB_PYTHON``, ``python3.12`` on PATH, or
    pyenv's."""
    candidates = [
        os.environ.get("COURSE_COLAB_PYTHON", ""),
        shutil.which("python3.12") or "",
    ]
    candidates += sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")),
        reverse=True,
    )
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
        )
        # a pyenv shim without 3.12 selected fails here
        if probe.stdout.strip() == "True":
            return candidate
    raise RehearsalError(
        "no Python 3.12 found (Colab runs 3.12); install it or set "
        "COURSE_COLAB_PYTHON=/path/to/python3.12"
    )


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    """Run ``command``, capturing text output; RehearsalError with its last lines when
    it fails."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RehearsalError(
            f"`{' '.join(command[:4])} ...` failed (exit {result.returncode}):\n{tail}"
        )
    return result


def site_packages(venv: Path) -> Path:
    """The site-packages folder of the virtual environment ``venv``."""
    python = venv / "bin" / "python"
    return Path(
        run(
            [
                str(python),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]
        ).stdout.strip()
    )


def colab_stack(location: Path, python312: str) -> Path:
    """Make (once) or reuse the Python 3.12 environment with :data:`COLAB_STACK`; return
    its site-packages."""
    stamp = location / ".colab-stack"
    wanted = hashlib.sha256("\n".join(COLAB_STACK).encode()).hexdigest()[:16]
    if not (stamp.is_file() and stamp.read_text().strip() == wanted):
        print(
            f"rehearsal: installing Colab's stack into {location} (first time: "
            "downloads about 3 GB)",
            flush=True,
        )
        if not (location / "bin" / "python").is_file():
            run([python312, "-m", "venv", str(location)])
        run(
            [
                str(location / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-cache-dir",
                *COLAB_STACK,
            ]
        )
        stamp.write_text(wanted + "\n")
    return site_packages(location)


def torch_fingerprint(stack: Path) -> str:
    """A digest of torch's installed RECORD (file list with hashes): changes if anything
    replaced torch."""
    records = sorted(stack.glob("torch-*.dist-info/RECORD"))
    if len(records) != 1:
        raise RehearsalError(
            f"expected one torch in {stack}, found {[r.parent.name for r in records]}"
        )
    return hashlib.sha256(records[0].read_bytes()).hexdigest()


def published_copy(work: Path, tag: str) -> Path:
    """A one-commit repository holding this repository's HEAD, tagged ``tag``: the
    stand-in for GitHub.

    Made from ``git archive HEAD`` rather than cloned: CI checks out shallow, and pip's
    partial clone (``--filter=blob:none``) of a clone of a shallow repository can hang.
    """
    dirty = run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT
    ).stdout.strip()
    if dirty:
        print(
            "rehearsal: note: uncommitted changes are not rehearsed (the copy is of "
            "HEAD)",
            flush=True,
        )
    published = work / "published"
    published.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    subprocess.run(
        ["tar", "-x", "-C", str(published)], input=archive.stdout, check=True
    )
    identity = ["-c", "user.name=rehearsal", "-c", "user.email=rehearsal@localhost"]
    run(["git", "init", "--quiet", str(published)])
    run(["git", "-C", str(published), "add", "--all"])
    run(
        [
            "git",
            "-C",
            str(published),
            *identity,
            "commit",
            "--quiet",
            "-m",
            f"HEAD of {ROOT}",
        ]
    )
    run(["git", "-C", str(published), *identity, "tag", tag])
    return published


def fresh_runtime(work: Path, python312: str, stack: Path) -> Path:
    """A new Python 3.12 environment seeing ``stack`` and the stand-in ``google.colab``;
    return its python."""
    runtime = work / "runtime"
    run([python312, "-m", "venv", str(runtime)])
    stand_in = work / "stand_in"
    (stand_in / "google" / "colab").mkdir(parents=True)
    (stand_in / "google" / "__init__.py").write_text("")
    (stand_in / "google" / "colab" / "__init__.py").write_text(
        '"""Stand-in for Colab\'s google.colab."""\n'
    )
    (site_packages(runtime) / "colab_image.pth").write_text(f"{stack}\n{stand_in}\n")
    return runtime / "bin" / "python"


def rehearse(lesson: str, stack_location: Path, keep: bool = False) -> dict:
    """Run the rehearsal; return the figures it measured (raise RehearsalError when a
    check fails)."""
    sys.path.insert(0, str(ROOT))
    from course_lib.page.colab import release_from_pyproject

    release = release_from_pyproject(ROOT / "pyproject.toml")
    python312 = find_python312()
    stack = colab_stack(stack_location, python312)
    fingerprint = torch_fingerprint(stack)
    work = Path(tempfile.mkdtemp(prefix="colab-rehearsal-"))
    try:
        published = published_copy(work, release.tag)
        python = fresh_runtime(work, python312, stack)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("COURSE_", "VIRTUAL_ENV", "PYTHON"))
        }
        env.update(
            REHEARSAL_NOTEBOOK=str(published / lesson),
            REHEARSAL_PUBLIC_URL=release.repository,
            REHEARSAL_LOCAL_URL=published.as_uri(),
            COURSE_PROFILE="smoke",
            COURSE_CACHE="off",
            COURSE_PROGRESS="plain",
            MPLBACKEND="Agg",
            OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
            GIT_TERMINAL_PROMPT="0",
        )
        driver = work / "driver.py"
        driver.write_text(DRIVER)
        started = time.perf_counter()
        result = run([str(python), str(driver)], cwd=work, env=env, timeout=1800)
        seconds = time.perf_counter() - started
        figures = json.loads(
            next(
                line
                for line in result.stdout.splitlines()
                if line.startswith("REHEARSAL ")
            )[len("REHEARSAL ") :]
        )
        installed = [
            line
            for line in result.stdout.splitlines()
            if line.startswith("course_lib: installed ")
        ]
        figures.update(seconds=round(seconds, 1), installed=installed)
        check(
            figures,
            release.version,
            site_packages(work / "runtime"),
            fingerprint,
            torch_fingerprint(stack),
        )

        offline = dict(
            env,
            REHEARSAL_LOCAL_URL=release.repository,
            REHEARSAL_CELL_ONLY="1",
            http_proxy=DEAD_PROXY,
            https_proxy=DEAD_PROXY,
            HTTP_PROXY=DEAD_PROXY,
            HTTPS_PROXY=DEAD_PROXY,
            ALL_PROXY=DEAD_PROXY,
        )
        down = subprocess.run(
            [str(python), str(driver)],
            cwd=work,
            env=offline,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [
            line for line in (down.stdout + down.stderr).splitlines() if line.strip()
        ]
        if (
            down.returncode == 0
            or len(lines) != 1
            or not lines[0].startswith("course_lib: could not install")
        ):
            raise RehearsalError(
                f"with the network down the cell should stop with one line; it exited "
                f"{down.returncode} printing {len(lines)} lines: {lines[:6]}"
            )
        figures["network_down"] = lines[0]
        return figures
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def check(
    figures: dict,
    version: str,
    runtime_site: Path,
    fingerprint_before: str,
    fingerprint_after: str,
) -> None:
    """The checks of a rehearsal run (see the module docstring)."""
    if (
        figures["torch_before"] != figures["torch_after"]
        or fingerprint_before != fingerprint_after
    ):
        raise RehearsalError(
            f"torch changed: {figures['torch_before']} -> {figures['torch_after']}"
        )
    if figures["course_lib"]["version"] != version:
        raise RehearsalError(
            f"the cell installed course_lib {figures['course_lib']['version']}, not "
            f"{version}"
        )
    if not Path(figures["course_lib"]["file"]).is_relative_to(runtime_site):
        raise RehearsalError(
            f"course_lib was imported from {figures['course_lib']['file']}, not the "
            "fresh runtime"
        )
    if not figures["installed"]:
        raise RehearsalError(
            "the cell installed no light dependency, though the stack lacks some "
            "(e.g. scikit-image)"
        )
    if figures["imports"] < 1:
        raise RehearsalError("the lesson has no import statement to rehearse")
    # finite
    if not (figures["loss"] == figures["loss"] and abs(figures["loss"]) < 1e6):
        raise RehearsalError(f"fit_vae's final loss is {figures['loss']}")
    if figures["timings"] == NOT_MEASURED:
        raise RehearsalError(
            "the lesson's Time table is empty in the installed wheel "
            "(lesson_times.json not shipped)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lesson",
        default=DEFAULT_LESSON,
        help=f"the notebook to rehearse (default {DEFAULT_LESSON})",
    )
    stack = os.environ.get("COURSE_COLAB_STACK", "~/.cache/course_lib/colab-py312")
    parser.add_argument(
        "--stack",
        type=Path,
        default=Path(stack).expanduser(),
        help="where Colab's stack lives (made once, reused)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch folder (to debug)"
    )
    args = parser.parse_args(argv)
    try:
        figures = rehearse(args.lesson, args.stack, keep=args.keep)
    except (RehearsalError, subprocess.TimeoutExpired) as error:
        print(f"rehearsal: failed: {error}", file=sys.stderr)
        return 1
    print(
        f"rehearsal: passed in {figures['seconds']} s on Python 3.12 "
        f"({sysconfig.get_platform()}): "
        f"torch {figures['torch_after']['version']} untouched; "
        f"{'; '.join(figures['installed'])}; "
        f"course_lib {figures['course_lib']['version']} from the tag; "
        f"{figures['imports']} imports of "
        f"{args.lesson}; fit_vae smoke loss {figures['loss']:.1f}; first cell "
        f"{figures['cell_seconds']} s"
    )
    print(f"rehearsal: network down -> {figures['network_down']}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
