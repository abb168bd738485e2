"""Find every submission in a folder: one entry per file, per student sub-folder, per
link and oddity.

Course platforms export one sub-folder per student, so the folder is walked recursively.
Nothing is skipped silently: hidden files get a row like any other, a symbolic link is
reported (never followed: it could point at the instructor's files), and so are empty
folders, special files and entries that cannot be read. Names are kept exactly, shown
with undecodable bytes escaped.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseInputError


@dataclass(frozen=True)
class Found:
    """One entry of the submissions folder.

    Attributes:
        name: its path relative to the folder, printable (the CSV's ``submission``
            column).
        path: where it is.
        problem: why it cannot be graded ("" for a regular file that will be graded).
    """

    name: str
    path: Path
    problem: str = ""


def printable(relative: str) -> str:
    """``relative`` with bytes that are not UTF-8 shown as ``\\xNN`` escapes (file names
    may hold anything)."""
    return os.fsencode(relative).decode("utf-8", "backslashreplace")


def find_submissions(folder: Path) -> list[Found]:
    """Every file, link, empty folder and special file under ``folder``, sorted by name.

    Raises:
        CourseInputError: when ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise CourseInputError(
            f"{folder} is not a folder; pass the folder that holds the submissions"
        )
    found: list[Found] = []
    for directory, subfolders, files in os.walk(
        folder, followlinks=False, onerror=None
    ):
        here = Path(directory)
        entries = [(name, True) for name in subfolders] + [
            (name, False) for name in files
        ]
        if here != folder and not entries:
            found.append(
                Found(
                    printable(os.path.relpath(here, folder)) + "/",
                    here,
                    "empty folder: no submission from this student",
                )
            )
        for name, is_folder in entries:
            path = here / name
            relative = printable(os.path.relpath(path, folder))
            try:
                info = os.lstat(path)
            except OSError as error:
                found.append(
                    Found(relative, path, f"cannot be read ({error.strerror})")
                )
                continue
            if stat.S_ISLNK(info.st_mode):
                target = printable(os.readlink(path))
                dangling = "" if path.exists() else ", which does not exist"
                found.append(
                    Found(
                        relative,
                        path,
                        f"a symbolic link to {target}{dangling}; links are not "
                        "followed, submit the file itself",
                    )
                )
            elif is_folder:
                if not os.access(path, os.R_OK | os.X_OK):
                    found.append(
                        Found(relative + "/", path, "a folder that cannot be read")
                    )
            elif not stat.S_ISREG(info.st_mode):
                found.append(
                    Found(
                        relative, path, "not a regular file (a pipe, socket or device)"
                    )
                )
            elif not os.access(path, os.R_OK):
                found.append(
                    Found(relative, path, "cannot be read (permission denied)")
                )
            else:
                found.append(Found(relative, path))
    return sorted(found, key=lambda f: f.name)
