"""Start a submission's worker inside bubblewrap and talk to it with deadlines.

The sandbox (``bwrap``, Debian's ``bubblewrap`` package):

* a read-only view of the system (``/usr``), of the Python installation and of the
  student package ``course_lib``, and nothing else of the host: not the repository (the
  instructor's cases, ``solutions/``), not the other submissions, not the grades;
* the submission itself, read-only, and a private writable home (a size-limited tmpfs),
  both gone when the sandbox ends;
* no network, its own PID, IPC and UTS namespaces, an unprivileged user with no
  capabilities, a new session, and ``--die-with-parent``: when the grader kills it,
  every process it started dies with it (the PID namespace ends with its first process);
* the limits of :mod:`course_grader.limits` (per process and, where possible, for the
  tree).

:class:`Sandbox` is the grader's end: it sends and receives
:mod:`course_grader.worker.wire` frames without ever blocking past a deadline, and kills
the whole sandbox on request.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import course_lib
from course_grader.limits import Limits, TreeGroup, tree_group
from course_grader.worker import wire

WORKER = Path(__file__).resolve().parent / "worker"
HOME = "/home/student"
SUBMISSION_DIR = "/submission"
SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "COURSE_PROFILE": "smoke",
    "COURSE_PROGRESS": "off",
}
_BOOT = (
    "import sys; sys.path.insert(0, '/opt/course-grader'); from worker.main import "
    "main; sys.exit(main())"
)


_LIVE: set[Sandbox] = set()
_LIVE_LOCK = threading.Lock()
STOPPING = threading.Event()


def stop_all() -> None:
    """Kill every running sandbox and refuse to start new ones (the grader was
    interrupted)."""
    STOPPING.set()
    with _LIVE_LOCK:
        running = list(_LIVE)
    for sandbox in running:
        sandbox.kill()


class SandboxError(RuntimeError):
    """The sandbox could not be used (bubblewrap missing or refused), or it broke the
    protocol."""


class Stopped(Exception):
    """The sandbox ended or missed a deadline; the message says which, in words for the
    student."""


def bubblewrap_problem() -> str | None:
    """``None`` when bubblewrap can start a sandbox here, else one line saying why not
    and what to do."""
    path = shutil.which("bwrap")
    if path is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if shutil.which("prlimit") is None:
        return "prlimit is not installed (Debian/Ubuntu: apt-get install util-linux)"
    try:
        probe = subprocess.run(
            [path, *_isolation(), "--ro-bind", "/", "/", "--", "true"],
            capture_output=True,
            timeout=30,
            text=True,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if probe.returncode != 0:
        reason = " ".join(probe.stderr.split())[:200]
        return (
            f"bubblewrap cannot create a sandbox here ({reason}); user namespaces "
            "may be disabled"
        )
    return None


def _isolation() -> list[str]:
    return [
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]


def _system_binds() -> list[str]:
    """Read-only binds of the system and the Python that runs the grader (symlinks kept
    as symlinks)."""
    args: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in (
        "ld.so.cache",
        "ld.so.conf",
        "ld.so.conf.d",
        "localtime",
        "nsswitch.conf",
        "passwd",
        "group",
    ):
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    roots = {
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).resolve(),
        Path(sys.exec_prefix).resolve(),
        Path(course_lib.__file__).resolve().parent,
    }
    for root in sorted(roots):
        if not str(root).startswith(("/usr/", "/bin/", "/lib")):
            args += ["--ro-bind", str(root), str(root)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        args += ["--ro-bind", str(Path(sys.prefix).resolve()), str(Path(sys.prefix))]
    return args


def sandbox_command(
    submission: Path,
    suffix: str,
    limits: Limits,
    *,
    sandboxed: bool = True,
    extra_ro: tuple[Path, ...] = (),
) -> list[str]:
    """The command line that runs the worker on ``submission`` (bound as
    ``/submission/submission<suffix>``).

    With ``sandboxed=False`` (the instructor's explicit choice where bubblewrap cannot
    run) the worker runs with the same limits but no isolation at all.
    """
    boot = [sys.executable, "-I", "-c", _BOOT]
    if not sandboxed:
        return [
            *limits.prlimit(),
            sys.executable,
            "-I",
            "-c",
            _BOOT.replace("/opt/course-grader", str(WORKER.parent)),
        ]
    size = str(limits.file_mb * 4 * 1024 * 1024)
    # The private /tmp and home come first: a bind made before them would be hidden
    # under them (a clone or a virtual environment under /tmp, as CI may use).
    args = [
        "bwrap",
        *_isolation(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        "--size",
        size,
        "--tmpfs",
        HOME,
        *_system_binds(),
        "--ro-bind",
        str(WORKER),
        "/opt/course-grader/worker",
        "--ro-bind",
        str(submission),
        f"{SUBMISSION_DIR}/submission{suffix}",
    ]
    for path in extra_ro:
        args += ["--ro-bind", str(path), str(path)]
    for key, value in {**SANDBOX_ENV, "HOME": HOME}.items():
        args += ["--setenv", key, value]
    return [*limits.prlimit(), *args, "--chdir", HOME, "--", *boot]


@dataclass(eq=False)
class Sandbox:
    """A running worker: frames in and out with deadlines, and :meth:`kill` for the
    whole tree."""

    process: subprocess.Popen[bytes]
    group: TreeGroup
    buffer: bytearray = field(default_factory=bytearray)
    max_frame: int = 64 * 1024 * 1024
    ended: str = ""

    def send(self, value: Any, deadline: float) -> None:
        """Write one frame; :class:`Stopped` when the worker does not take it before
        ``deadline``."""
        data = memoryview(wire.encode(value))
        fd = self.process.stdin.fileno()  # type: ignore[union-attr]
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Stopped("timed out")
            _, ready, _ = select.select([], [fd], [], left)
            if ready:
                try:
                    data = data[os.write(fd, data[: 1 << 16]) :]
                except (BrokenPipeError, OSError):
                    raise Stopped("the sandbox ended") from None

    def receive(self, deadline: float) -> Any:
        """Read one frame; :class:`Stopped` on a deadline, the end of the worker or a
        malformed frame."""
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        while True:
            frame = self._take()
            if frame is not None:
                return frame[0]
            left = deadline - time.monotonic()
            if left <= 0:
                raise Stopped("timed out")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(fd, 1 << 20)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise Stopped("the sandbox ended")
                self.buffer += chunk

    def _take(self) -> tuple[Any] | None:
        if len(self.buffer) < 4:
            return None
        (h,) = struct.unpack(">I", self.buffer[:4])
        if h > wire.MAX_HEADER:
            raise Stopped("the sandbox sent a malformed reply")
        if len(self.buffer) < 12 + h:
            return None
        (p,) = struct.unpack(">Q", self.buffer[4 + h : 12 + h])
        if 12 + h + p > self.max_frame:
            raise Stopped(
                f"the sandbox sent more than {self.max_frame // 2**20} MB at once"
            )
        if len(self.buffer) < 12 + h + p:
            return None
        header, payload = (
            bytes(self.buffer[4 : 4 + h]),
            bytes(self.buffer[12 + h : 12 + h + p]),
        )
        del self.buffer[: 12 + h + p]
        try:
            return (wire.decode(header, payload),)
        except wire.WireError:
            raise Stopped("the sandbox sent a malformed reply") from None

    def kill(self) -> None:
        """Kill the sandbox and everything in it; safe to call twice."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.group.kill_all()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def close(self) -> None:
        """Close the grader's ends of the pipes (by the thread that talks to the
        sandbox, after :meth:`kill`)."""
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def open_sandbox(
    submission: Path,
    suffix: str,
    limits: Limits,
    log: Path,
    *,
    sandboxed: bool = True,
    extra_ro: tuple[Path, ...] = (),
) -> Iterator[Sandbox]:
    """Start the worker on ``submission`` in its own sandbox and cgroups; kill it all on
    exit.

    ``log`` receives the sandbox's own stderr (bubblewrap's errors; the worker silences
    its fds). Without the sandbox (``sandboxed=False``) the worker gets the same
    environment, with ``HOME`` the folder of ``log``.
    """
    if STOPPING.is_set():
        raise Stopped("the grader is stopping")
    command = sandbox_command(
        submission, suffix, limits, sandboxed=sandboxed, extra_ro=extra_ro
    )
    with tree_group(limits) as group, open(log, "wb") as errors:
        join = (
            'for f in $COURSE_GRADER_CGROUPS; do echo $$ > "$f" || exit 125; done; '
            'exec "$@"'
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "COURSE_GRADER_CGROUPS": " ".join(group.procs_files),
        }
        if not sandboxed:
            env.update({**SANDBOX_ENV, "PATH": env["PATH"], "HOME": str(log.parent)})
        process = subprocess.Popen(
            ["/bin/sh", "-c", join, "sh", *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            start_new_session=True,
        )
        sandbox = Sandbox(process, group)
        with _LIVE_LOCK:
            _LIVE.add(sandbox)
        try:
            yield sandbox
        finally:
            sandbox.kill()
            with _LIVE_LOCK:
                _LIVE.discard(sandbox)
            sandbox.close()
