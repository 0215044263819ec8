"""Run chapters in the in-browser site (JupyterLite) in headless Chromium, offline.

Usage:
    python tools/lite/browser_run.py SITE [CHAPTER.ipynb ...] [--pages 2] [--json out]

``SITE`` is a folder whose ``lite/`` subfolder is a site made by
tools/lite/build_lite.py (``_build/html`` after ``make book``; build it with
``--offline`` for no network). The
folder is served on 127.0.0.1; every request to any other address is aborted and
recorded (Chromium's resolver also maps every other host to nothing, which covers
web workers). Each chapter is opened in the lite notebook app, its cells run in
order (``notebook:run-cell`` on each, stopping at an error as run-all does, timing
each), and what the test needs is read back from the
app (``window.jupyterapp``): per cell errors and stderr, the widget views in the
outputs and how many the page rendered, the seconds it took. Chapters run in
``--pages`` pages at a time (each page has its own Pyodide kernel in a worker).
Default chapters: every notebook in ``SITE/lite/files``.

Never runs ``playwright install``: it drives the system Chromium (``$NGD_CHROMIUM``,
default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

CHROMIUM = os.environ.get("NGD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # pages run side by side: none of them is a throttled "background" tab
    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    # nothing but this machine resolves, whoever asks (page, worker, service worker)
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
CHAPTER_TIMEOUT_S = 120
START_TIMEOUT_S = 90

# Wait for the notebook and its kernel, run every cell, return what happened.
RUN_ALL_JS = r"""
async ([timeoutMs]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session.kernel;
  await kernel.info;
  const notebook = panel.content;
  const model = notebook.model;
  const started = performance.now();
  const cellSeconds = {};
  let outcome = "done";
  // one cell at a time (as run-all does, stopping at an error), timing each
  for (let i = 0; i < model.cells.length; i++) {
    if (model.cells.get(i).type !== "code") continue;
    const left = timeoutMs - (performance.now() - started);
    if (left <= 0) { outcome = "timeout"; break; }
    notebook.activeCellIndex = i;
    const t0 = performance.now();
    const ran = app.commands.execute("notebook:run-cell");
    const timer = new Promise((resolve) => setTimeout(() => resolve("timeout"), left));
    const result = await Promise.race([ran.then((ok) => ok === false ? "error" : "ok"),
                                       timer]);
    cellSeconds[i] = (performance.now() - t0) / 1000;
    if (result === "timeout") { outcome = "timeout"; break; }
    if (result === "error") { outcome = "error"; break; }
  }
  // outputs of the last cell are in once the kernel is idle again
  for (let i = 0; i < 200 && kernel.status !== "idle"; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1500));  // widget views render after output
  const seconds = (performance.now() - started) / 1000;
  const cells = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i).toJSON();
    if (cell.cell_type !== "code") continue;
    const outputs = cell.outputs || [];
    cells.push({
      index: i,
      seconds: cellSeconds[i] === undefined ? null : cellSeconds[i],
      execution_count: cell.execution_count,
      errors: outputs.filter((o) => o.output_type === "error")
        .map((o) => `${o.ename}: ${o.evalue}`),
      stderr: outputs.filter((o) => o.output_type === "stream" && o.name === "stderr")
        .map((o) => [].concat(o.text).join("")),
      widget_views: outputs.filter((o) => o.data &&
        o.data["application/vnd.jupyter.widget-view+json"]).length,
      text: outputs.map((o) => o.text ? [].concat(o.text).join("") :
        (o.data && o.data["text/plain"] ? [].concat(o.data["text/plain"]).join("")
          : ""))
        .join("").slice(0, 2000),
    });
  }
  const node = notebook.node;
  return {
    outcome, seconds, cells,
    rendered_widgets: node.querySelectorAll(
      ".jp-OutputArea-output .jupyter-widgets").length,
    widget_errors: [...node.querySelectorAll(".jp-OutputArea-output")]
      .map((el) => el.textContent)
      .filter((t) => /Error (displaying|rendering|loading) widget/i.test(t)),
  };
}
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".js": "text/javascript", ".json": "application/json"}

    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def serve(folder: Path):
    handler = functools.partial(_Handler, directory=str(folder))
    httpd = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _is_loopback(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname in {
        h.strip("[]") for h in LOOPBACK}


def run_chapters(site: Path, chapters: list[str], pages: int = 2,
                 timeout_s: int = CHAPTER_TIMEOUT_S) -> dict:
    """Run each chapter (a file name in ``site/lite/files``); return results by name."""
    from playwright.sync_api import sync_playwright

    httpd, base = serve(site)
    profile = tempfile.mkdtemp(prefix="ngd-lite-chromium-")
    aborted: list[str] = []
    results: dict[str, dict] = {}
    lock = threading.Lock()
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900}, service_workers="block")

            def route(route_):
                url = route_.request.url
                if _is_loopback(url):
                    route_.continue_()
                else:
                    with lock:
                        aborted.append(url)
                    route_.abort()

            context.route("**/*", route)
            # Playwright's sync API is bound to this thread: pages are driven
            # concurrently by starting each chapter's run and polling them in turn.
            queue = list(chapters)
            running: dict[str, tuple] = {}

            def start(name):
                page = context.new_page()
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                        if m.type == "error" else None)
                page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
                page.on("response", lambda r: console.append(
                    f"http {r.status}: {r.url}") if r.status >= 400 else None)
                t0 = time.perf_counter()
                page.goto(f"{base}/lite/notebooks/index.html?path={name}",
                          wait_until="domcontentloaded", timeout=START_TIMEOUT_S * 1000)
                page.wait_for_function(
                    "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                    " && window.jupyterapp.shell.currentWidget.sessionContext",
                    timeout=START_TIMEOUT_S * 1000)
                handle = page.evaluate_handle(
                    "(args) => { window.__ngd = null; (" + RUN_ALL_JS + ")(args)"
                    ".then((r) => { window.__ngd = r; })"
                    ".catch((e) => { window.__ngd = {outcome: 'error: ' + e}; });"
                    " return true; }", [timeout_s * 1000])
                handle.dispose()
                running[name] = (page, console, t0)

            while queue or running:
                while queue and len(running) < pages:
                    name = queue.pop(0)
                    try:
                        start(name)
                    except Exception as exc:  # the page never got to its kernel
                        results[name] = {"outcome": f"did not start: {exc}",
                                         "cells": [], "seconds": 0.0}
                for name, (page, console, t0) in list(running.items()):
                    result = page.evaluate("() => window.__ngd")
                    waited = time.perf_counter() - t0
                    if result is None and waited < timeout_s + START_TIMEOUT_S + 30:
                        continue
                    result = result or {"outcome": "no result", "cells": []}
                    result["wall_seconds"] = waited
                    result["console_errors"] = console
                    results[name] = result
                    page.close()
                    del running[name]
                time.sleep(0.5)
            context.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(profile, ignore_errors=True)
    return {"chapters": results, "aborted_requests": aborted}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("chapters", nargs="*")
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--timeout", type=int, default=CHAPTER_TIMEOUT_S,
                        help="seconds one chapter may run (default %(default)s)")
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted(
        p.name for p in (args.site / "lite" / "files").glob("*.ipynb"))
    report = run_chapters(args.site.resolve(), chapters, pages=args.pages,
                          timeout_s=args.timeout)
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    for name, result in report["chapters"].items():
        errors = [e for c in result.get("cells", []) for e in c["errors"]]
        print(f"{name}: {result.get('outcome')} {result.get('seconds', 0):.1f} s "
              f"(wall {result.get('wall_seconds', 0):.1f} s) errors={errors[:3]} "
              f"widgets {result.get('rendered_widgets')}/"
              f"{sum(c['widget_views'] for c in result.get('cells', []))}")
    print("aborted requests:", report["aborted_requests"][:20])
    return 0


if __name__ == "__main__":
    sys.exit(main())
