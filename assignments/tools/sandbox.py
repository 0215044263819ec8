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
process inside die with it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
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


def run(command: list[str], *, timeout: float, env: dict | None = None) -> dict:
    """Run ``command`` in its own process group, killed after ``timeout`` seconds."""
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait()
    return {
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "stdout": out[-2_000_000:].decode("utf-8", "replace"),
        "stderr": err[-20_000:].decode("utf-8", "replace"),
        "seconds": time.monotonic() - start,
    }


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
