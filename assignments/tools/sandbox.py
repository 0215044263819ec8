"""Run one command in a bubblewrap sandbox (the grading machine's side).

:func:`bwrap_command` builds the ``bwrap`` command line for one submission: read-only
system folders and Python, the ``ngd_lib`` package, the submission's own copy of the
autograder and of the notebook, a writable output folder that only the supervisor
(root inside the sandbox) may write, private ``/tmp`` and ``/work`` (size-limited
tmpfs), a fresh ``/proc`` of the sandbox's own pid namespace, no network, and every
capability dropped except the four the supervisor needs to start the kernel under
another uid and to stop it (``CAP_SETUID``, ``CAP_SETGID``, ``CAP_SETPCAP``,
``CAP_KILL``). :func:`run` runs it with a wall-clock limit and kills the whole
process group when time is up; ``--die-with-parent`` and ``--unshare-pid`` make every
process inside die with it, and it reads the output keeping only its tail.
:class:`Cgroup` limits one sandbox's memory, processes and CPU share as a whole.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BWRAP = "bwrap"
TMPFS_BYTES = 512 * 2**20
SYSTEM_RO = (
    "/usr",
    "/etc/fonts",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/alternatives",
    "/etc/ssl/certs/ca-certificates.crt",
)
SYMLINKS = {
    "/bin": "usr/bin",
    "/sbin": "usr/sbin",
    "/lib": "usr/lib",
    "/lib64": "usr/lib64",
}


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox here."""


def python_roots() -> list[str]:
    """Folders the grading Python needs: its prefix, its base prefix, ngd_lib."""
    roots = []
    for prefix in (sys.prefix, sys.base_prefix):
        path = os.path.realpath(prefix)
        if not path.startswith("/usr/") and path != "/usr" and path not in roots:
            roots.append(path)
    spec = importlib.util.find_spec("ngd_lib")
    if spec is not None and spec.submodule_search_locations:
        location = os.path.realpath(list(spec.submodule_search_locations)[0])
        if not any(location.startswith(r + "/") for r in roots):
            roots.append(location)
    return roots


def python_binds() -> list[str]:
    """bwrap arguments binding :func:`python_roots` read-only at their own paths."""
    args, made = [], set()
    for root in python_roots():
        # Parent folders readable by the kernel's uid (bwrap would make them 0700).
        for parent in reversed(Path(root).parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", root, root]
    return args


def check_available() -> str:
    """The bwrap executable; raise :class:`SandboxUnavailable` saying why not."""
    exe = shutil.which(BWRAP)
    if exe is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so submissions cannot be isolated "
            "from each other, the solutions and this machine. Install it (Debian/"
            "Ubuntu: apt-get install bubblewrap), or pass --unsafe-no-sandbox to grade "
            "trusted notebooks without isolation."
        )
    probe = subprocess.run(
        [exe, *base_args(), "--", "/usr/bin/true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap cannot create a sandbox here ("
            + (probe.stderr.strip().splitlines() or ["no message"])[-1]
            + "). It needs root or unprivileged user namespaces. Fix that, or pass "
            "--unsafe-no-sandbox to grade trusted notebooks without isolation."
        )
    return exe


def base_args() -> list[str]:
    args = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "grading",
    ]
    for path in SYSTEM_RO:
        args += ["--ro-bind-try", path, path]
    for link, target in SYMLINKS.items():
        if os.path.islink(link):
            args += ["--symlink", target, link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL"):
            args += ["--cap-add", cap]
    return args


def bwrap_command(
    command: list[str],
    *,
    ro: dict[str, str],
    rw: dict[str, str],
    env: dict[str, str],
    workdir: str | None = "/scratch",
) -> list[str]:
    """The bwrap command line running ``command`` with these binds and environment."""
    args = [BWRAP, *base_args(), *python_binds()]
    for dest, src in ro.items():
        args += ["--ro-bind", src, dest]
    for dest, src in rw.items():
        args += ["--bind", src, dest]
    if workdir:
        args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", workdir]
    args += ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", "/", "--", *command]
    return args


class Cgroup:
    """A cgroup (v1 or v2) that limits one sandbox's memory, processes and CPU share.

    rlimits are per process: a fork bomb of 256 processes with 4 GiB each, or files in
    the sandbox's in-memory folders, could still take the whole machine and starve the
    sandbox next door. Where the cgroup filesystem is writable (root here and in CI),
    every process of one submission's sandbox is put in a cgroup of its own: at most
    ``memory`` bytes (tmpfs included), ``pids`` processes and threads, and ``cpus``
    cores. Elsewhere :attr:`available` is False and :attr:`why` says why.
    """

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, name: str, *, memory: int, pids: int, cpus: float):
        self.paths: list[Path] = []
        self.why = ""
        try:
            self._create(name, memory, pids, cpus)
        except OSError as error:
            self.remove()
            self.paths = []
            self.why = f"cgroups not usable here ({error.strerror or error})"

    @property
    def available(self) -> bool:
        return bool(self.paths)

    def _create(self, name, memory, pids, cpus):
        unified = self.ROOT / "cgroup.controllers"
        period = 100_000
        if unified.is_file():  # cgroup v2
            path = self.ROOT / name
            path.mkdir()
            self.paths = [path]
            (path / "memory.max").write_text(str(memory))
            (path / "memory.swap.max").write_text("0") if (
                path / "memory.swap.max"
            ).exists() else None
            (path / "pids.max").write_text(str(pids))
            (path / "cpu.max").write_text(f"{int(cpus * period)} {period}")
            return
        for controller, settings in (
            ("memory", {"memory.limit_in_bytes": str(memory)}),
            ("pids", {"pids.max": str(pids)}),
            ("cpu", {"cpu.cfs_period_us": str(period),
                     "cpu.cfs_quota_us": str(int(cpus * period))}),
        ):
            path = self.ROOT / controller / name
            path.mkdir()
            self.paths.append(path)
            for key, value in settings.items():
                (path / key).write_text(value)

    def wrap(self, command: list[str]) -> list[str]:
        """``command``, started from a shell that first moves itself into the cgroup."""
        if not self.paths:
            return command
        moves = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(self.paths)))
        procs = [str(p / "cgroup.procs") for p in self.paths]
        return [
            "/bin/sh",
            "-c",
            f'{moves} && shift {len(procs)} && exec "$@"',
            "sh",
            *procs,
            *command,
        ]

    def pids(self) -> set[int]:
        found = set()
        for path in self.paths:
            try:
                found |= {int(x) for x in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def kill_all(self) -> None:
        for _ in range(50):
            left = self.pids()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths:
            for _ in range(20):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def run(
    command: list[str],
    *,
    timeout: float,
    env: dict | None = None,
    keep_stdout: int = 2_000_000,
    keep_stderr: int = 20_000,
) -> dict:
    """Run ``command`` in its own process group, killed after ``timeout`` seconds.

    Output is read as it comes and only its last ``keep_stdout`` / ``keep_stderr``
    bytes are kept, so a process that floods its output cannot fill this one's memory.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
    )
    tails = {"stdout": bytearray(), "stderr": bytearray()}

    def drain(stream, key, keep):
        buffer = tails[key]
        for block in iter(lambda: stream.read1(2**16), b""):
            buffer += block
            if len(buffer) > 2 * keep:
                del buffer[: len(buffer) - keep]
        stream.close()

    readers = [
        threading.Thread(target=drain, args=(proc.stdout, "stdout", keep_stdout)),
        threading.Thread(target=drain, args=(proc.stderr, "stderr", keep_stderr)),
    ]
    for reader in readers:
        reader.daemon = True
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        proc.wait()
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait()
    for reader in readers:
        reader.join(timeout=10)
    return {
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "stdout": bytes(tails["stdout"][-keep_stdout:]).decode("utf-8", "replace"),
        "stderr": bytes(tails["stderr"][-keep_stderr:]).decode("utf-8", "replace"),
        "seconds": time.monotonic() - start,
    }


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
