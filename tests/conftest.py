"""Shared fixtures: a seeded rng and the book built once per test session."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
JB_FLAGS = ["-W", "-n", "--keep-going"]


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def jupyter_book() -> str:
    """The jupyter-book executable of the running interpreter's environment."""
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


def run_build(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run ``jupyter-book build`` with warnings as errors; return the process."""
    # The kernels must use the inline backend: with MPLBACKEND=Agg a notebook shows
    # no figures at all (and {numref} to a figure fails the build).
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    return subprocess.run(
        [jupyter_book(), "build", str(source), "--path-output", str(output),
         *JB_FLAGS, *extra],
        capture_output=True, text=True, env=env, timeout=1500,
    )


def offline_config() -> tuple[Path | None, str]:
    """Fetch the pinned local MathJax and widget scripts (tools/fetch_vendor.py).

    Returns the config file for an offline build (the book's _config.yml pointing at
    the local copies), or None and the reason it could not be made.
    """
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fetch_vendor.py")],
        capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        return None, (proc.stdout + proc.stderr).strip()
    return Path(proc.stdout.strip().splitlines()[-1]), ""


def build_lite(out: Path) -> subprocess.CompletedProcess:
    """Build the JupyterLite site into ``out``, serving Pyodide itself (offline)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "lite" / "build_lite.py"), "--offline",
         "--out", str(out)], capture_output=True, text=True, timeout=1500)


def _shared_build_dir(basetemp: Path) -> Path:
    """The folder every process of the session builds the book into (or reads it)."""
    out = basetemp / "book-build"
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_book_once(out: Path) -> dict:
    """Build the book into ``out`` unless a process of this session already did.

    Holds ``out/.lock`` while building, so whoever comes second waits and reuses the
    result recorded in ``out/result.json``.
    """
    record = out / "result.json"
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            config, why_not = offline_config()
            proc = run_build(ROOT, out, *(("--config", str(config)) if config else ()))
            if proc.returncode == 0:  # the in-browser site, as `make book` adds it
                proc = build_lite(out / "_build" / "html" / "lite")
            record.write_text(json.dumps(
                {"returncode": proc.returncode, "stdout": proc.stdout[-20000:],
                 "stderr": proc.stderr[-20000:], "offline_assets": why_not or "ok"}))
        fcntl.flock(lock, fcntl.LOCK_UN)
    return json.loads(record.read_text())


# The whole suite under xdist (make test): the controlling process starts the book
# build as soon as the session starts, in a thread, so it runs beside the workers'
# first tests; otherwise the first worker to need the book builds it while the other
# one sits waiting for it (about 150 s of an idle core on 2 cores).
_EARLY_BUILD: list = []


def _runs_whole_suite(config) -> bool:
    tests = ROOT / "tests"
    args = [Path(a.split("::")[0]).resolve() for a in config.args]
    return bool(getattr(config.option, "numprocesses", None)) and tests in args


def pytest_sessionstart(session):
    config = session.config
    if os.environ.get("PYTEST_XDIST_WORKER") or not _runs_whole_suite(config):
        return
    import threading

    out = _shared_build_dir(config._tmp_path_factory.getbasetemp())
    thread = threading.Thread(target=build_book_once, args=(out,), daemon=True,
                              name="early-book-build")
    thread.start()
    _EARLY_BUILD.append(thread)


BOOK_FIXTURES = {"built_book", "book_html"}


def pytest_collection_modifyitems(config, items):
    """Run the tests that need the built book last, so the build overlaps the rest.

    Modules none of whose tests use ``built_book`` keep their place and come first;
    then modules where only some do (those tests moved to the module's end); then the
    modules that need the book throughout. Under ``--dist loadscope`` a module stays on
    one worker, so this keeps both workers busy while the early build runs instead of
    waiting for it. The order is the same in every process (xdist compares them).
    """
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def needs_book(item) -> bool:  # book_html asks for built_book at run time
        return bool(BOOK_FIXTURES & set(getattr(item, "fixturenames", ())))

    def group(module_items) -> int:
        users = sum(needs_book(i) for i in module_items)
        return 0 if users == 0 else 2 if users == len(module_items) else 1

    ordered = sorted(modules.values(), key=group)  # stable: same order within a group
    items[:] = [i for m in ordered for i in sorted(m, key=needs_book)]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the whole book once (across xdist workers) and return ``_build/html``.

    The first process to get the lock builds into a folder shared by the session
    (under xdist the controlling process starts it at once, see
    :func:`pytest_sessionstart`); the others wait and reuse it. A failed build is
    recorded and re-raised in each. The build serves MathJax and the widget manager
    from local copies (the browser tests run offline); if they cannot be fetched it
    uses the CDN config, and the browser tests say why they cannot run. The
    in-browser site (JupyterLite, with a local Pyodide) is built into ``html/lite``
    as ``make book`` does.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    out = _shared_build_dir(shared)
    result = build_book_once(out)
    if result["returncode"] != 0:
        pytest.fail(
            "jupyter-book build -W -n --keep-going failed:\n"
            + result["stdout"][-6000:] + "\n" + result["stderr"][-6000:]
        )
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def toc_files() -> list[str]:
    """The documents of the table of contents, as paths without suffix (book/...)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import setup_cell

    return setup_cell.toc_documents(ROOT)


def copy_book_config(dest: Path) -> None:
    """Copy the book's _config.yml and references into ``dest`` for a scratch book."""
    shutil.copy(ROOT / "_config.yml", dest / "_config.yml")
    (dest / "book").mkdir(exist_ok=True)
    shutil.copy(ROOT / "book" / "references.bib", dest / "book" / "references.bib")
    # every local extension the config loads (book/_ext*) and the site CSS
    folders = [p.name for p in sorted((ROOT / "book").glob("_ext*")) if p.is_dir()]
    for folder in folders + ["_static"]:
        if (ROOT / "book" / folder).is_dir():
            shutil.copytree(ROOT / "book" / folder, dest / "book" / folder,
                            dirs_exist_ok=True)
