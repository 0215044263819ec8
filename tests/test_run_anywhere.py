"""Fast checks behind "run anywhere" (issue 10): the setup cell, glue without myst_nb,
the symbolic time limit where there is no interval timer, the light install's pins.

The slow ends are tests/test_bare_kernel.py (every chapter in a kernel with only the
scientific stack) and tests/test_lite.py (every chapter in the browser).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import nbformat
import pytest
import sympy as sp
import yaml
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402

from ngd_lib import notebook  # noqa: E402
from ngd_lib import symbolic as S  # noqa: E402


# ----------------------------------------------------------------- the setup cell
def test_every_chapter_starts_with_the_current_setup_cell(toc_files):
    chapters = [ROOT / f"{doc}.ipynb" for doc in toc_files
                if (ROOT / f"{doc}.ipynb").exists()]
    assert chapters, "no chapter notebook in _toc.yml"
    stale = [p.name for p in chapters
             if not setup_cell.is_current(nbformat.read(p, as_version=4))]
    assert not stale, (f"{stale}: setup cell missing or out of date; run "
                       "`python tools/setup_cell.py`")


def test_setup_cell_installs_from_the_repository_at_this_versions_tag():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    from ngd_lib import __version__ as version
    source = setup_cell.setup_source()
    url = config["repository"]["url"]
    assert f'"ngd_lib[chapters] @ git+{url}@v{version}"' in source
    assert 'os.environ.get("NGD_LIB_SPEC")' in source
    assert max(map(len, source.splitlines())) <= 88
    assert len(source.splitlines()) <= 12, "keep the setup cell short"


def test_setup_cell_tool_is_idempotent_and_replaces_an_old_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    old = nbformat.v4.new_code_cell("print('an old setup')")
    old.metadata = {"tags": ["remove-cell"], setup_cell.MARKER: True}
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), old,
                nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    assert setup_cell.update(path) is True
    first = path.read_bytes()
    assert setup_cell.update(path) is False and path.read_bytes() == first
    cells = nbformat.read(path, as_version=4).cells
    assert [c.cell_type for c in cells] == ["code", "markdown", "code"]
    assert cells[0].source == setup_cell.setup_source()
    assert cells[0].metadata["tags"] == ["remove-cell"]
    assert sum(map(setup_cell.is_setup_cell, cells)) == 1
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "setup_cell.py"),
                           "--check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    cells[0].source += "\n# edited by hand"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "setup_cell.py"),
                           "--check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "out of date" in proc.stdout


def _run_cell_source(source: str, **env):
    """Execute the setup cell's non-magic logic in a subprocess (ngd_lib present)."""
    code = source.replace("%pip install -q ngd_lib[chapters]", "pass")
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env or None, timeout=120)


def test_setup_cell_does_nothing_where_ngd_lib_and_myst_nb_exist():
    proc = _run_cell_source(setup_cell.setup_source() + "\nimport myst_nb, ngd_lib\n"
                            "print(getattr(myst_nb, '__stand_in__', 'real'))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "real"


# -------------------------------------------------------------- glue without myst_nb
def test_glue_stand_in_is_installed_only_without_myst_nb(monkeypatch):
    monkeypatch.delitem(sys.modules, "myst_nb", raising=False)
    monkeypatch.setattr(notebook.importlib.util, "find_spec",
                        lambda name, *a: None if name == "myst_nb" else object())
    assert notebook.ensure_glue() is None  # a notebook cell shows nothing
    assert notebook.uses_stand_in()
    from myst_nb import glue

    assert glue is notebook.glue
    notebook.ensure_glue()  # a second call keeps the stand-in
    assert notebook.uses_stand_in()
    monkeypatch.undo()
    sys.modules.pop("myst_nb", None)
    pytest.importorskip("myst_nb")
    notebook.ensure_glue()
    assert not notebook.uses_stand_in()


def test_glue_stand_in_shows_the_value(capsys, monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda value: shown.append(value))
    notebook.glue("kappa", 42.5)
    notebook.glue("rate", 0.25, display=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    notebook.glue("fig", fig, display=False)
    plt.close(fig)
    assert shown == [42.5, fig]
    assert capsys.readouterr().out == "rate = 0.25\n"
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        notebook.glue("", 1)


# ------------------------------------------------- symbolic without an interval timer
def test_symbolic_time_limit_degrades_without_setitimer(monkeypatch):
    # Pyodide has signal.SIGALRM but no signal.setitimer: the call must still work.
    monkeypatch.delattr(signal, "setitimer")
    monkeypatch.delattr(signal, "ITIMER_REAL")
    assert hasattr(signal, "SIGALRM")
    p = S.bernoulli().params[0]
    F = S.fisher(S.bernoulli(), timeout=5)
    assert sp.simplify(F[0, 0] - 1 / (p * (1 - p))) == 0
    assert S._has_interval_timer() is False


def test_symbolic_time_limit_is_on_where_the_timer_exists():
    assert S._has_interval_timer() is True
    with pytest.raises(S.ExpectationError, match="timeout"):
        with S._time_limit(0.2, "a busy loop"):
            while True:
                pass


# ------------------------------------------------------------ the light install
def test_light_install_pins_the_scientific_stack_as_the_book_does():
    def pins(path):
        out = {}
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                out[name.strip().lower().replace("_", "-")] = version.strip()
        return out

    lab, book = pins(ROOT / "requirements-lab.txt"), pins(ROOT / "requirements.txt")
    for name in ("numpy", "sympy", "matplotlib", "scikit-learn", "ipywidgets",
                 "jupyterlab", "ipykernel"):
        assert lab.get(name) == book.get(name), f"{name}: lab {lab.get(name)} != " \
            f"book {book.get(name)}"
    authoring = {"jupyter-book", "sphinx", "myst-nb", "pytest", "playwright",
                 "otter-grader", "ruff", "nbval", "hypothesis"}
    assert not authoring & set(lab), f"authoring tools in the light install: " \
        f"{authoring & set(lab)}"
    assert "-e ." in (ROOT / "requirements-lab.txt").read_text() or \
        ". " in (ROOT / "requirements-lab.txt").read_text()


def test_binder_uses_the_light_install():
    lines = [line.strip() for line in
             (ROOT / "binder" / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == ["-r ../requirements-lab.txt"], lines


def test_lite_wheels_are_pinned_by_hash():
    lines = [line for line in (ROOT / "tools" / "lite" / "wheels.txt").read_text()
             .splitlines() if line.strip() and not line.startswith("#")]
    assert lines and all("==" in line and "--hash=sha256:" in line for line in lines)
    names = {line.split("==")[0].lower() for line in lines}
    assert {"sympy", "mpmath", "ipywidgets"} <= names
    sys.path.insert(0, str(ROOT / "tools" / "lite"))
    import build_lite as lite_build

    assert len(lite_build.OFFLINE_PYODIDE["sha256"]) == 64
    assert json.dumps(lite_build.site_settings(offline=False)).count(
        "disablePyPIFallback") == 1
