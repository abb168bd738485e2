"""Limits for a sandbox's whole process tree: rlimits for each process, cgroups for the
tree.

* Each process: ``prlimit`` sets the data size (memory), CPU seconds, file size, open
  files, no core dumps, and a process count. These hold everywhere, but they are per
  process (the count per user), so a submission that forks could multiply its memory.
* The tree: where the grader may create cgroups (root in a container, or a delegated
  cgroup v2 subtree), each sandbox gets its own memory and pids cgroup, so the memory
  limit and the process count cover the submission and everything it starts, together.

:func:`tree_limits` says which of the two applies; the instructors' guide explains both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """The limits of one sandbox.

    Attributes:
        memory_mb: memory of the whole tree (cgroup) and the data size of each process
            (rlimit).
        processes: processes and threads of the tree (cgroup), or of each user (rlimit).
        file_mb: the largest file a process may write.
        cpu_seconds: CPU time of each process.
        open_files: descriptors of each process.
    """

    memory_mb: int = 3000
    processes: int = 64
    file_mb: int = 64
    cpu_seconds: int = 300
    open_files: int = 512

    def prlimit(self) -> list[str]:
        """The ``prlimit`` command prefix that applies the per-process limits."""
        mb = 1024 * 1024
        return [
            "prlimit",
            f"--data={self.memory_mb * mb}",
            f"--cpu={self.cpu_seconds}",
            f"--fsize={self.file_mb * mb}",
            f"--nofile={self.open_files}",
            "--core=0",
            f"--nproc={self.processes}",
            "--",
        ]


def _v2_base() -> Path | None:
    """Our own cgroup v2 directory when it can hold children with memory and pids, else
    None."""
    try:
        entries = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    own = next(
        (line.split("::", 1)[1] for line in entries if line.startswith("0::")), None
    )
    root = V1_ROOT if (V1_ROOT / "cgroup.controllers").exists() else None
    if own is None or root is None:
        return None
    base = root / own.lstrip("/")
    controllers = (
        (base / "cgroup.controllers").read_text().split()
        if (base / "cgroup.controllers").exists()
        else []
    )
    return (
        base
        if {"memory", "pids"} <= set(controllers) and os.access(base, os.W_OK)
        else None
    )


def _v1_bases() -> tuple[Path, Path] | None:
    """The cgroup v1 memory and pids hierarchies when both are writable, else None."""
    memory, pids = V1_ROOT / "memory", V1_ROOT / "pids"
    if (
        (memory / "memory.limit_in_bytes").exists()
        and (pids / "cgroup.procs").exists()
        and os.access(memory, os.W_OK)
        and os.access(pids, os.W_OK)
    ):
        return memory, pids
    return None


def tree_limits() -> str:
    """``"cgroup v2"``, ``"cgroup v1"`` or ``"none"``: how the tree-wide limits are
    enforced here."""
    if _v2_base() is not None:
        return "cgroup v2"
    return "cgroup v1" if _v1_bases() is not None else "none"


@dataclass
class TreeGroup:
    """The cgroup directories of one sandbox (empty when cgroups are not available)."""

    directories: list[Path]

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid into to join the
        group."""
        return [str(d / "cgroup.procs") for d in self.directories]

    def kill_all(self) -> None:
        """SIGKILL every process still in the group (the pid namespace normally did it
        already)."""
        for directory in self.directories:
            kill = directory / "cgroup.kill"
            if kill.exists():
                with contextlib.suppress(OSError):
                    kill.write_text("1")
                continue
            with contextlib.suppress(OSError):
                for pid in (directory / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), signal.SIGKILL)

    def peak_memory_mb(self) -> float | None:
        """The tree's peak memory use in MB, when the cgroup records it."""
        for directory in self.directories:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                with contextlib.suppress(OSError, ValueError):
                    return int((directory / name).read_text()) / 1024 / 1024
        return None


@contextlib.contextmanager
def tree_group(limits: Limits) -> Iterator[TreeGroup]:
    """Create this sandbox's cgroups with ``limits`` (nothing when unavailable); remove
    them after."""
    name = f"course-grader-{uuid.uuid4().hex[:12]}"
    directories: list[Path] = []
    memory = str(limits.memory_mb * 1024 * 1024)
    try:
        base = _v2_base()
        bases = _v1_bases()
        if base is not None:
            directory = base / name
            directory.mkdir()
            directories.append(directory)
            (directory / "memory.max").write_text(memory)
            if (directory / "memory.swap.max").exists():
                (directory / "memory.swap.max").write_text("0")
            (directory / "pids.max").write_text(str(limits.processes))
        elif bases is not None:
            memory_dir, pids_dir = bases[0] / name, bases[1] / name
            memory_dir.mkdir()
            directories.append(memory_dir)
            (memory_dir / "memory.limit_in_bytes").write_text(memory)
            swap = memory_dir / "memory.memsw.limit_in_bytes"
            if swap.exists():
                with contextlib.suppress(OSError):
                    swap.write_text(memory)
            pids_dir.mkdir()
            directories.append(pids_dir)
            (pids_dir / "pids.max").write_text(str(limits.processes))
    except OSError:
        _remove(directories)
        directories = []
    group = TreeGroup(directories)
    try:
        yield group
    finally:
        group.kill_all()
        _remove(directories)


def _remove(directories: list[Path]) -> None:
    for directory in reversed(directories):
        for _ in range(50):  # the killed processes may take a moment to leave
            try:
                directory.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
