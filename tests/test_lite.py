"""Every chapter runs in the browser (JupyterLite, Pyodide kernel), offline.

The book built by ``built_book`` carries the in-browser site in ``html/lite`` (built
with ``tools/lite/build_lite.py --offline``: Pyodide served by the site itself, ngd_lib
from a wheel of this checkout, the PyPI fallback off). Headless Chromium opens each
chapter of the table of contents in the lite notebook app with every request to
anything but 127.0.0.1 aborted, runs all its cells and reads the results back from
the app (tools/lite/browser_run.py): every code cell ran, none has an error output,
each chapter took at most 120 s, and each widget the chapter displays rendered. The
static pages link each chapter, and each widget, to its live version.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools" / "lite"))
import browser_run  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTER_LIMIT_S = 120
PAGES = 2  # chapters run side by side (each page has its own kernel)
TIMES = ROOT / "_build" / "run-anywhere-times.json"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
# Every chapter, chapter 6 included (its comparison and network cells run at a reduced
# size under sys.platform == 'emscripten' and say so), must finish within the limit.


def _chapters(toc_files) -> list[str]:
    return [doc for doc in toc_files if (ROOT / f"{doc}.ipynb").exists()]


@pytest.fixture(scope="module")
def lite_runs(built_book, toc_files):
    missing = []
    if not Path(browser_run.CHROMIUM).exists():
        missing.append(f"{browser_run.CHROMIUM} is not installed (apt-get install "
                       "chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the python package playwright is not installed")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("the in-browser test cannot run under CI: "
                        + "; ".join(missing))
        pytest.skip("; ".join(missing))
    names = [Path(doc).name + ".ipynb" for doc in _chapters(toc_files)]
    report = browser_run.run_chapters(built_book, names, pages=PAGES,
                                      timeout_s=CHAPTER_LIMIT_S)
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with open(TIMES.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(TIMES.read_text()) if TIMES.exists() else {}
        data["browser"] = {name: round(r.get("seconds", 0.0), 1)
                           for name, r in report["chapters"].items()}
        data["browser_with_kernel_start"] = {
            name: round(r.get("wall_seconds", 0.0), 1)
            for name, r in report["chapters"].items()}
        TIMES.write_text(json.dumps(data, indent=1, sort_keys=True))
    print(json.dumps({k: (v.get("outcome"), v.get("seconds"))
                      for k, v in report["chapters"].items()}, indent=1))
    return report


def test_the_lite_site_is_in_the_book(built_book, toc_files):
    lite = built_book / "lite"
    config = json.loads((lite / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"][KERNEL_PLUGIN]
    assert kernel["disablePyPIFallback"] is True
    assert kernel["pyodideUrl"].startswith("./"), "offline build loads a CDN Pyodide"
    index = json.loads((lite / "pypi" / "all.json").read_text())
    assert "ngd-lib" in {name.replace("_", "-") for name in index}
    for doc in _chapters(toc_files):
        assert (lite / "files" / f"{Path(doc).name}.ipynb").exists(), doc


def test_every_chapter_page_links_to_its_live_version(built_book, toc_files):
    problems = []
    for doc in _chapters(toc_files):
        html = (built_book / f"{doc}.html").read_text()
        name = Path(doc).name
        target = f"lite/notebooks/index.html?path={name}.ipynb"
        links = re.findall(r'href="([^"]*' + re.escape(target) + ')"', html)
        if not links:
            problems.append(f"{doc}: no 'run in your browser' link to {target}")
        for link in links:
            page = (built_book / doc).parent / link.split("?")[0]
            if not page.resolve().exists():
                problems.append(f"{doc}: {link} does not exist in the build")
        widgets = html.count('type="application/vnd.jupyter.widget-view+json"')
        notes = html.count('class="ngd-live-widgets')
        if notes < widgets:
            problems.append(f"{doc}: {widgets} widgets but {notes} links to the live "
                            "version next to them")
    assert not problems, "\n".join(problems)


def test_every_chapter_runs_in_the_browser_without_errors(lite_runs, toc_files):
    problems = []
    for doc in _chapters(toc_files):
        name = Path(doc).name + ".ipynb"
        run = lite_runs["chapters"].get(name, {})
        if run.get("outcome") != "done":
            problems.append(f"{name}: {run.get('outcome')!r}")
        for cell in run.get("cells", []):
            if cell["execution_count"] is None:
                problems.append(f"{name}: cell {cell['index']} did not run")
            problems += [f"{name}: cell {cell['index']}: {e}" for e in cell["errors"]]
            problems += [f"{name}: cell {cell['index']} stderr: {s[-500:]}"
                         for s in cell["stderr"] if "Traceback" in s]
    assert not problems, "\n".join(problems)


def test_every_chapter_runs_in_the_browser_within_the_limit(lite_runs):
    slow = {name: run.get("seconds") for name, run in lite_runs["chapters"].items()
            if (not run.get("seconds") or run["seconds"] > CHAPTER_LIMIT_S)}
    assert not slow, f"chapters over {CHAPTER_LIMIT_S} s in the browser: {slow}"


def test_widgets_render_in_the_browser(lite_runs):
    problems, checked = [], 0
    for name, run in lite_runs["chapters"].items():
        views = sum(cell["widget_views"] for cell in run.get("cells", []))
        if run.get("widget_errors"):
            problems.append(f"{name}: {run['widget_errors']}")
        if views:
            checked += 1
            if run.get("rendered_widgets", 0) < views:
                problems.append(f"{name}: {run.get('rendered_widgets')} of {views} "
                                "widget views rendered")
    assert not problems, "\n".join(problems)
    assert checked, "no chapter displayed a widget in the browser"


def test_nothing_left_the_machine_and_pyodide_was_local(lite_runs):
    # Requests that would have left the machine were aborted; the chapters still ran
    # (above). None of them may be the kernel's runtime or its packages.
    needed = [url for url in lite_runs["aborted_requests"]
              if re.search(r"pyodide|pypi|files\.pythonhosted|jsdelivr", url)]
    assert not needed, f"the site reached for the network: {needed}"
