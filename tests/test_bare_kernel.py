"""Every chapter runs top to bottom in a kernel that has only the scientific stack.

This is what a reader who clicks "Open in Colab" has: numpy, scipy, sympy,
matplotlib, ipywidgets and scikit-learn, but neither ``ngd_lib`` nor ``myst_nb`` (nor
JupyterLab). The chapter's hidden setup cell (tools/setup_cell.py) must install
``ngd_lib`` itself, here from a wheel of this checkout (``NGD_LIB_SPEC``), and make
``from myst_nb import glue`` work.

The scientific stack (:data:`STACK`, the versions of requirements.txt, plus
ipykernel and nbclient to execute) is installed once into a virtual environment
cached in ``_build/bare-kernel/`` under a hash of its requirements. Each chapter then
runs in a fresh, empty virtual environment of its own that sees that stack through a
``.pth`` file, so the chapter's ``pip install`` of ngd_lib lands in a folder nothing
else has touched and every chapter installs it anew.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
import venv
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402

pytestmark = pytest.mark.slow

# The scientific stack a hosted notebook (Colab) has, at the book's pinned versions.
STACK_NAMES = ("numpy", "scipy", "sympy", "matplotlib", "ipywidgets", "scikit-learn",
               "threadpoolctl", "ipykernel")
EXECUTE = ("nbclient==0.11.0", "nbformat==5.11.1")
CELL_TIMEOUT_S = 120
CACHE = ROOT / "_build" / "bare-kernel"
TIMES = ROOT / "_build" / "run-anywhere-times.json"
NOT_THERE = ("ngd_lib", "myst_nb", "jupyterlab", "jupyter_book", "pytest")


def _pins() -> list[str]:
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pinned[name.strip().lower()] = version.strip()
    # scipy is not pinned by the book (scikit-learn brings it): take its resolution
    stack = [f"{n}=={pinned[n]}" if n in pinned else n for n in STACK_NAMES]
    return stack + list(EXECUTE)


STACK = _pins()


def _chapters() -> list[str]:
    return [str(p.relative_to(ROOT)) for p in setup_cell.chapters(ROOT)]


def _site_packages(env: Path) -> Path:
    return Path(sysconfig.get_path(
        "purelib", vars={"base": str(env), "platbase": str(env)}))


@pytest.fixture(scope="session")
def stack_env() -> Path:
    """The cached environment with the scientific stack only (made once)."""
    key = hashlib.sha256("\n".join([sys.version, *STACK]).encode()).hexdigest()[:16]
    env = CACHE / f"stack-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (env / ".complete").exists():
            shutil.rmtree(env, ignore_errors=True)
            venv.EnvBuilder(with_pip=True, clear=True).create(env)
            proc = subprocess.run(
                [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", *STACK],
                capture_output=True, text=True, timeout=1200)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            (env / ".complete").write_text("\n".join(STACK) + "\n")
    return env


@pytest.fixture(scope="session")
def ngd_lib_wheel(tmp_path_factory) -> Path:
    """A wheel of the checkout (tools/lite/build_lite.py builds it from a copy)."""
    sys.path.insert(0, str(ROOT / "tools" / "lite"))
    from build_lite import ngd_lib_wheel as build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


RUNNER = textwrap.dedent("""
    import json, sys, time
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path, workdir, out = sys.argv[1:4]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="ngd-bare", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": workdir}})
    start, failure = time.perf_counter(), None
    try:
        client.execute()
    except CellExecutionError as exc:
        failure = str(exc)[-3000:]
    seconds = time.perf_counter() - start
    cells = [{"index": i, "outputs": c.get("outputs", [])}
             for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    json.dump({"seconds": seconds, "failure": failure, "cells": cells},
              open(out, "w"))
""").replace("CELL_TIMEOUT", str(CELL_TIMEOUT_S))


def _fresh_env(stack: Path, where: Path) -> Path:
    """An empty virtual environment that sees ``stack``'s packages (not its own)."""
    env = where / "env"
    venv.EnvBuilder(with_pip=False, clear=True).create(env)
    python = env / "bin" / "python"
    own = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    (own / "bare_stack.pth").write_text(str(_site_packages(stack)) + "\n")
    kernels = where / "jupyter" / "kernels" / "ngd-bare"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bare scientific stack", "language": "python"}))
    return env


def _environ(where: Path, wheel: Path) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "CONDA"))}
    path = [p for p in keep.get("PATH", "").split(os.pathsep)
            if not p.startswith(str(ROOT))]  # not the authoring .venv/bin
    return {**keep, "PATH": os.pathsep.join(path),
            "JUPYTER_PATH": str(where / "jupyter"),
            "JUPYTER_DATA_DIR": str(where / "jupyter-data"), "HOME": str(where),
            "NGD_LIB_SPEC": str(wheel), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def _record(chapter: str, seconds: float) -> None:
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with open(TIMES.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(TIMES.read_text()) if TIMES.exists() else {}
        data.setdefault("bare_kernel", {})[chapter] = round(seconds, 1)
        TIMES.write_text(json.dumps(data, indent=1, sort_keys=True))


@pytest.mark.parametrize("chapter", _chapters())
def test_chapter_runs_in_a_bare_kernel(chapter, stack_env, ngd_lib_wheel, tmp_path):
    env = _fresh_env(stack_env, tmp_path)
    environ = _environ(tmp_path, ngd_lib_wheel)
    python = str(env / "bin" / "python")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u, json; print(json.dumps("
         f"[n for n in {NOT_THERE!r} if u.find_spec(n)]))"],
        capture_output=True, text=True, env=environ, cwd=tmp_path, check=True)
    assert json.loads(probe.stdout) == [], f"not a bare kernel: {probe.stdout}"

    workdir = tmp_path / "work"
    workdir.mkdir()
    notebook = workdir / Path(chapter).name
    shutil.copy(ROOT / chapter, notebook)
    (tmp_path / "runner.py").write_text(RUNNER)
    out = tmp_path / "result.json"
    start = time.perf_counter()
    proc = subprocess.run([python, str(tmp_path / "runner.py"), str(notebook),
                           str(workdir), str(out)],
                          capture_output=True, text=True, env=environ, cwd=workdir,
                          timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    _record(chapter, time.perf_counter() - start)
    assert result["failure"] is None, f"{chapter} failed in a bare kernel:\n" \
        f"{result['failure']}"
    errors = [(c["index"], o.get("ename"), o.get("evalue")) for c in result["cells"]
              for o in c["outputs"] if o.get("output_type") == "error"]
    assert not errors, errors
    # the setup cell installed ngd_lib from the wheel, into this environment only
    installed = list(_site_packages(env).glob("ngd_lib-*.dist-info"))
    assert len(installed) == 1, f"ngd_lib was not installed into {env}"
    direct = json.loads((installed[0] / "direct_url.json").read_text())
    assert direct["url"].endswith(ngd_lib_wheel.name), direct
    assert not list(_site_packages(stack_env).glob("ngd_lib*")), \
        "ngd_lib leaked into the cached stack environment"
