"""The rendered book in headless Chromium: what a reader sees on every page.

The book is built once (``built_book``: the whole book, with MathJax and the widget
manager served from pinned local copies, see ``tools/fetch_vendor.py``), served on
127.0.0.1 by a thread, and Debian's Chromium visits every page of the table of
contents once. The visit collects what the checks below assert: typeset math and
equation numbers, loaded images, rendered widgets, links, launch and download
buttons, console errors, requests and their sizes. Full-page screenshots and the
page weights go to ``_build/screenshots/``.

Each page is also read as a demanding reader would (issue 13): axe-core (pinned,
vendored by ``tools/fetch_vendor.py``, injected by the test) in light and in dark
mode, the keyboard (a visible focus ring on every control, no formula as a Tab
stop), a 390 px phone (the navigation opens, nothing wider than the screen outside
a scroll container) and its sliders (they work, or are disabled with a note that
links to the live version). ``accessibility.txt`` has the per-page table.

``NGD_BOOK_HTML=<folder>`` visits an HTML build made beforehand (e.g. ``jupyter-book
build . --path-output _build/mine --config _build/vendor/_config.offline.yml``)
instead of building the book: for iterating on the pages' CSS and JavaScript.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - playwright is pinned in requirements.txt
    PlaywrightError, sync_playwright = Exception, None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("NGD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "_build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 800, "height": 1000}
MAX_PAGE_BYTES = int(1.5 * 2**20)  # transfer size of any page (issue 13)
AXE_SCRIPT = "_static/_vendor/axe-core/axe.min.js"
AXE_IMPACTS = ("critical", "serious")
SHRUNK_FIGURE = 0.75               # reported when a figure is shown smaller than this
SEARCH_TERM = "Fisher"
TIMEOUT_MS = 30_000
VENDOR_PREFIX = "/_static/_vendor/"  # local stand-ins for the CDN scripts
CDN_LIBRARIES = ("mathjax", "require", "jupyter-widgets", "html-manager")
# Chromium asks every site for /favicon.ico on its own; no page links to it.
BROWSER_OWN_REQUESTS = {"/favicon.ico"}
WIDGET_STATE = 'script[type="application/vnd.jupyter.widget-state+json"]'
# The widget manager puts each rendered view in a .widget-subarea beside its
# <script type="application/vnd.jupyter.widget-view+json"> placeholder.
WIDGETS_RENDERED = """() => [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')]
  .every((s) => s.parentElement.querySelector('.widget-subarea .jupyter-widgets'))"""
# Run in each page once it has loaded: waits for images and MathJax, then returns
# every fact the checks need.
COLLECT_JS = r"""
async () => {
  const images = [...document.images];
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const article = document.querySelector("article.bd-article")
    || document.querySelector("main") || document.body;
  const maths = [...article.querySelectorAll(".math")];
  const prose = article.cloneNode(true);
  prose.querySelectorAll(
    "pre, code, .highlight, .cell_input, .math, mjx-container, script, style"
  ).forEach((el) => el.remove());
  const proseText = prose.textContent.replace(/\s+/g, " ");
  // TeX that MathJax never saw: display or inline delimiters, environments,
  // control words (\\frac, \\sigma) or a dollar that opens inline math.
  const texPattern = /\$\$|\\[()[\]]|\\begin\{|\\[A-Za-z]{2,}|\$[^\s$]/g;
  const rawTex = [];
  let shownUpTo = -1;
  for (const m of proseText.matchAll(texPattern)) {
    if (m.index < shownUpTo) continue;  // one snippet per stretch of raw TeX
    shownUpTo = m.index + 80;
    rawTex.push(proseText.slice(Math.max(0, m.index - 40), shownUpTo));
  }
  const eqno = (div) => {
    const span = div.querySelector(":scope > .eqno");
    return span ? span.firstChild.textContent.trim() : "";
  };
  const views = [...article.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')];
  const hrefs = (selector) =>
    [...document.querySelectorAll(selector)].map((a) => a.href);
  return {
    math_elements: maths.length,
    mjx_containers: document.querySelectorAll("mjx-container").length,
    untypeset_math: maths.filter((m) => !m.querySelector("mjx-container"))
      .map((m) => m.textContent.trim().slice(0, 80)),
    math_errors: [...document.querySelectorAll("mjx-merror")]
      .map((e) => e.getAttribute("data-mjx-error") || e.textContent),
    raw_tex: rawTex,
    prose: proseText,
    equations: [...article.querySelectorAll("div.math[id^='equation-']")]
      .map((div) => ({ id: div.id, number: eqno(div) })),
    equation_refs: [...article.querySelectorAll("a[href*='#equation-']")]
      .filter((a) => !a.classList.contains("headerlink"))
      .map((a) => ({ href: a.href, text: a.textContent.trim() })),
    images: images.map((img) => ({
      src: img.currentSrc || img.src, loaded: img.complete && img.naturalWidth > 0,
    })),
    output_images: [...new Set(article.querySelectorAll(
      ".cell_output img, img.ngd-widget-figure"))]
      .map((img) => ({
        src: img.src, width: img.naturalWidth,
        shown: img.getBoundingClientRect().width,
        caption: (img.closest("figure")?.querySelector(".caption-number")
          ?.textContent || "").trim(),
      })),
    widget_views: views.length,
    rendered_widget_views: views.filter((s) => s.parentElement.querySelector(
      ".widget-subarea .jupyter-widgets")).length,
    links: hrefs("a[href]").filter((h) => h.startsWith("http")),
    ids: [...document.querySelectorAll("[id]")].map((el) => el.id),
    buttons: {
      launch: hrefs(".dropdown-launch-buttons a[href]"),
      download: hrefs(".dropdown-download-buttons a[href]"),
      repository: hrefs(".dropdown-source-buttons a[href]"),
    },
    page_width: document.documentElement.scrollWidth,
    window_width: window.innerWidth,
    // What does not fit the column (the reader has to scroll sideways to see it).
    wide_code: [...article.querySelectorAll("div.cell_input pre, div.highlight pre")]
      .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
      .map((pre) => pre.textContent.split("\n")
        .reduce((a, b) => (b.length > a.length ? b : a), "").trim().slice(0, 60)),
    wide_math: [...article.querySelectorAll("mjx-container[display='true']")]
      .filter((m) => m.scrollWidth > m.clientWidth + 1)
      .map((m) => {
        const div = m.closest("div.math");
        const number = div && div.querySelector(".eqno");
        return number ? number.firstChild.textContent.trim()
          : (div ? div.textContent : m.textContent).trim().slice(0, 40);
      }),
    wide_tables: [...article.querySelectorAll("table")]
      .filter((t) => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1
        || t.getBoundingClientRect().right
           > article.getBoundingClientRect().right + 1)
      .map((t) => t.textContent.trim().slice(0, 40)),
  };
}
"""

# Run after COLLECT_JS (1280 px). The keyboard, images, the top bar and the sliders.
READER_JS = r"""
async () => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== "hidden" && !el.closest("dialog:not([open]), [hidden]");
  };
  const describe = (el) => {
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || "")
      .replace(/\s+/g, " ").trim().slice(0, 40);
    const cls = (el.getAttribute("class") || "").split(/\s+/).slice(0, 2).join(".");
    return `${el.tagName.toLowerCase()}${cls ? "." + cls : ""} "${text}"`;
  };
  // Images: a real alt text (not empty, not a file name or path, not the src).
  const fileLike = /(\.(png|jpe?g|gif|svg|webp)\b)|^data:|\/_images\/|^[\w-]+$/i;
  const images = [...document.images].map((img) => {
    const alt = (img.getAttribute("alt") || "").trim();
    const base = (img.getAttribute("src") || "").split("/").pop().split("?")[0];
    return { src: (img.getAttribute("src") || "").slice(0, 80), alt: alt.slice(0, 80),
             real: alt.length >= 10 && !fileLike.test(alt) && alt !== base };
  });
  // Formulas must not be Tab stops (the MathJax menu makes each one focusable),
  // except a box that scrolls a formula wider than the screen right now: that one
  // must be reachable from the keyboard (WCAG 2.1.1; axe scrollable-region-focusable).
  const scrollsNow = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX)
    && el.scrollWidth > el.clientWidth;
  // (An equation's permalink, a.headerlink beside its number, is a link, not math.)
  const mathTabStops = [...document.querySelectorAll(
    "mjx-container, mjx-container *, .math, .math *")].filter((el) => el.tabIndex >= 0
      && el.matches("[tabindex], a[href], button, input")
      && !el.matches("a.headerlink") && !scrollsNow(el)).length;
  // The focus ring: each focusable control, focused from the keyboard, shows an
  // outline or a box shadow.
  const focusable = [...document.querySelectorAll(
    'a[href], button, input, select, textarea, summary, [tabindex]')]
    .filter((el) => el.tabIndex >= 0 && !el.disabled && visible(el));
  const noRing = [];
  const transparent = (c) => c === "transparent" || /rgba\(.*,\s*0\)$/.test(c);
  for (const el of focusable) {
    el.focus({ preventScroll: true });
    if (document.activeElement !== el) continue;
    const cs = getComputedStyle(el);
    const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 1
      && !transparent(cs.outlineColor);
    const shadow = cs.boxShadow && cs.boxShadow !== "none";
    if (!outline && !shadow) noRing.push(describe(el));
  }
  if (document.activeElement) document.activeElement.blur();
  // The theme's top bar: only the article header (one visible primary toggle).
  const header = document.querySelector("header.bd-header");
  const headerHeight = header && visible(header)
    ? header.getBoundingClientRect().height : 0;
  const toggles = [...document.querySelectorAll(".primary-toggle")]
    .filter(visible).length;
  // Sliders and other controls in cell outputs: disabled with a note that links
  // to the live version, or working without a kernel (a new value shows a new frame).
  const controls = [...document.querySelectorAll(
    '.cell_output input, .cell_output select, .cell_output [role="slider"]')];
  const deadControls = [];
  let disabled = 0, working = 0;
  for (const el of controls) {
    const output = el.closest(".cell_output");
    const isOff = el.disabled || el.getAttribute("aria-disabled") === "true";
    if (isOff) {
      const cell = output.closest(".cell") || output.parentElement;
      const next = cell && cell.querySelector(".ngd-live-widgets a[href]");
      if (next) {
        disabled += 1;
      } else {
        deadControls.push(`${describe(el)}: disabled, no "launch to interact" note`);
      }
      continue;
    }
    const frame = output.querySelector("img");
    const before = frame && frame.currentSrc;
    if (el.tagName === "INPUT" && el.type === "range") {
      el.value = String(el.value === el.min ? el.max : el.min);
    } else if (el.tagName === "SELECT" && el.options.length > 1) {
      el.selectedIndex = (el.selectedIndex + 1) % el.options.length;
    }
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (frame && frame.currentSrc !== before) {
      working += 1;
    } else {
      deadControls.push(`${describe(el)}: live-looking, moving it changes no figure`);
    }
  }
  return { images, math_tab_stops: mathTabStops, focusable: focusable.length,
           no_focus_ring: noRing, header_height: headerHeight, visible_toggles: toggles,
           controls: controls.length, disabled_controls: disabled,
           working_controls: working, dead_controls: deadControls };
}
"""
AXE_JS = """
async (impacts) => {
  // preload: false. axe's style-sheet preload (used only by css-orientation-lock)
  // resolves the theme's `@import "../basic.css"` against the page instead of the
  // sheet and asks for /basic.css, a 404 that is axe's, not the book's;
  // test_no_orientation_lock_in_the_style_sheets checks that rule's concern instead.
  const result = await axe.run(document, { resultTypes: ["violations"],
                                           preload: false });
  return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, count: v.nodes.length,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ").slice(0, 100) + ": "
      + (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 160)),
  }));
}
"""
# At a 390 px phone: what sticks out of the screen without a scroll container around it.
PHONE_JS = r"""
() => {
  const W = document.documentElement.clientWidth;
  const fits = (r) => r.right <= W + 1 && r.left >= -1;
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || fits(r)) continue;
    if (getComputedStyle(el).visibility === "hidden") continue;
    let p = el.parentElement, inside = false;
    while (p && p !== document.documentElement) {
      if (scrolls(p) && fits(p.getBoundingClientRect())) { inside = true; break; }
      p = p.parentElement;
    }
    if (inside) continue;
    const cls = (el.getAttribute("class") || "").split(/\s+/).slice(0, 2).join(".");
    wide.push(`${el.tagName.toLowerCase()}${cls ? "." + cls : ""} `
      + `[${Math.round(r.left)}, ${Math.round(r.right)}] `
      + (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 40));
  }
  const sliders = [...document.querySelectorAll(
    '.cell_output input[type="range"], .cell_output [role="slider"]')]
    .map((el) => Math.round(el.getBoundingClientRect().width));
  return { width: W, scroll_width: document.documentElement.scrollWidth,
           wide: wide.slice(0, 12), wide_count: wide.length, slider_widths: sliders };
}
"""
# After tapping the visible primary toggle: the table of contents is on screen.
NAV_OPEN_JS = """
() => {
  const links = [...document.querySelectorAll(
    "nav.bd-links a[href], .bd-toc-item a[href]")];
  const shown = links.filter((a) => {
    const r = a.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth
      && r.top < window.innerHeight && getComputedStyle(a).visibility !== "hidden"
      && document.elementFromPoint(r.left + Math.min(5, r.width / 2),
                                   r.top + r.height / 2)?.closest("a") === a;
  });
  return { links: links.length, shown: shown.length };
}
"""
MATHJAX_DONE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
}"""

# --------------------------------------------------------------------------- server
@dataclass
class Served:
    path: str
    status: int
    size: int


class _Handler(http.server.SimpleHTTPRequestHandler):
    log: list[Served]
    lock: threading.Lock

    def log_request(self, code="-", size="-"):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        try:
            status = int(code)
        except (TypeError, ValueError):
            status = 0
        local = Path(self.translate_path(self.path))
        nbytes = local.stat().st_size if status == 200 and local.is_file() else 0
        with self.lock:
            self.log.append(Served(path, status, nbytes))

    def log_message(self, format, *args):  # keep the test output quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A page closed while Chromium was still fetching: not the book's fault.
        pass


@pytest.fixture(scope="module")
def book_html(request) -> Path:
    """The HTML to visit: ``NGD_BOOK_HTML`` if set, else the session's build."""
    given = os.environ.get("NGD_BOOK_HTML")
    if given:
        return Path(given).resolve()
    return request.getfixturevalue("built_book")


@pytest.fixture(scope="module")
def server(book_html):
    """Serve the built HTML on a free port of 127.0.0.1; yield (base_url, log)."""
    log: list[Served] = []
    handler = type("Handler", (_Handler,), {"log": log, "lock": threading.Lock()})
    httpd = _Server(("127.0.0.1", 0),
                    functools.partial(handler, directory=str(book_html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    finally:
        httpd.shutdown()
        httpd.server_close()


# -------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def chromium(book_html):
    """A headless Chromium context; fails under CI and skips elsewhere without one."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if sync_playwright is None:
        missing.append("the python package playwright is not installed")
    if not (book_html / VENDOR_PREFIX.strip("/") / "pins.json").exists():
        record = book_html.parents[1] / "result.json"
        why = json.loads(record.read_text()).get("offline_assets", "") if (
            record.exists()) else ""
        missing.append("the build lacks the local MathJax/widget copies "
                       f"(python tools/fetch_vendor.py failed: {why[-1500:]})")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    profile = tempfile.mkdtemp(prefix="ngd-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT, device_scale_factor=1,
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Visit:
    """What one page showed: collected facts, requests, console, timings."""

    doc: str
    url: str
    facts: dict = field(default_factory=dict)
    served: list[Served] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base + "/")


def _axe(page, axe_source: str) -> list[dict]:
    """The critical and serious axe-core violations of the page as it is now."""
    page.add_script_tag(content=axe_source)  # not a request: not in the page weight
    return page.evaluate(AXE_JS, list(AXE_IMPACTS))


def _visit(context, base: str, log: list[Served], doc: str,
           axe_source: str) -> Visit:
    page = context.new_page()
    # Each page's weight counts everything it loads, so nothing comes from the cache.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    visit = Visit(doc, f"{base}/{doc}.html")

    def on_request(request):
        if not _is_local(request.url, base) and not request.url.startswith(
                ("data:", "blob:", "about:")):
            visit.external.append(request.url)

    def on_console(msg):
        if msg.type != "error":
            return
        source = (msg.location or {}).get("url", "")
        if urllib.parse.urlsplit(source).path in BROWSER_OWN_REQUESTS:
            return
        if _is_local(source, base) or not source:
            visit.errors.append(f"console: {msg.text} ({source})")

    page.on("request", on_request)
    page.on("requestfailed", lambda r: visit.failed.append(
        f"{r.url} ({r.failure})"))
    page.on("console", on_console)
    page.on("pageerror", lambda exc: visit.errors.append(f"page error: {exc}"))

    start, first = time.perf_counter(), len(log)
    try:
        page.goto(visit.url, wait_until="load", timeout=TIMEOUT_MS)
        has_widgets = page.locator(WIDGET_STATE).count() > 0
        if has_widgets:  # the manager renders the views after the page has loaded
            try:
                page.wait_for_function(WIDGETS_RENDERED, timeout=TIMEOUT_MS)
            except PlaywrightError:
                pass  # the widget check reports it with the page's details
        visit.facts = page.evaluate(COLLECT_JS)
        visit.facts["has_widget_state"] = has_widgets
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{doc.replace('/', '__')}.png"),
                        full_page=True, timeout=TIMEOUT_MS)
        visit.served = log[first:]  # the weight: what the page itself loaded
        visit.facts["axe"] = _axe(page, axe_source)
        page.keyboard.press("Tab")  # from now on focus() shows the keyboard's ring
        visit.facts["reader"] = page.evaluate(READER_JS)
    except PlaywrightError as exc:  # every check then reports this page as broken
        visit.errors.append(f"the page did not finish loading: {exc}")
        visit.facts = {}
    if not visit.served:
        visit.served = log[first:]
    visit.seconds = time.perf_counter() - start
    page.close()
    return visit


@pytest.fixture(scope="module")
def axe_source(book_html) -> str:
    path = book_html / AXE_SCRIPT
    if not path.exists():
        pytest.fail(f"{path} is missing: tools/fetch_vendor.py vendors axe-core")
    return path.read_text()


@pytest.fixture(scope="module")
def all_visits(chromium, server, toc_files, axe_source) -> dict[str, Visit]:
    base, log = server
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # no stale pages from earlier runs
    return {doc: _visit(chromium, base, log, doc, axe_source) for doc in toc_files}


def _open(context, url: str, viewport: dict, dark: bool = False):
    page = context.new_page()
    page.set_viewport_size(viewport)
    if dark:  # the theme's own switch stores the mode here
        page.add_init_script("localStorage.setItem('mode', 'dark');"
                             "localStorage.setItem('theme', 'dark');")
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    page.evaluate(MATHJAX_DONE)
    return page


@pytest.fixture(scope="module")
def dark_visits(chromium, server, visits, axe_source) -> dict[str, dict]:
    """Every page in dark mode at 1280 px: the mode shown and axe-core's findings."""
    base, _ = server
    found = {}
    for doc in visits:
        page = _open(chromium, f"{base}/{doc}.html", VIEWPORT, dark=True)
        try:
            mode = page.evaluate("document.documentElement.dataset.theme")
            found[doc] = {"mode": mode, "axe": _axe(page, axe_source)}
        finally:
            page.close()
    return found


@pytest.fixture(scope="module")
def phone_visits(chromium, server, visits) -> dict[str, dict]:
    """Every page at 390 px: what sticks out, and the navigation after a tap."""
    base, _ = server
    found = {}
    for doc in visits:
        page = _open(chromium, f"{base}/{doc}.html", PHONE)
        try:
            facts = page.evaluate(PHONE_JS)
            shot = SCREENSHOTS / f"phone__{doc.replace('/', '__')}.png"
            page.screenshot(path=str(shot), full_page=False, timeout=TIMEOUT_MS)
            facts["nav_before"] = page.evaluate(NAV_OPEN_JS)
            page.locator(".primary-toggle:visible").first.click(timeout=5_000)
            page.wait_for_timeout(400)  # the sidebar slides in
            facts["nav_after"] = page.evaluate(NAV_OPEN_JS)
            found[doc] = facts
        finally:
            page.close()
    return found


@pytest.fixture(scope="module")
def visits(all_visits) -> dict[str, Visit]:
    """The pages that loaded (test_every_page_loads reports the others)."""
    return {doc: visit for doc, visit in all_visits.items() if visit.facts}


def _notebook(doc: str) -> Path | None:
    path = ROOT / f"{doc}.ipynb"
    return path if path.exists() else None


def _report(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{doc}:\n  " + "\n  ".join(items)
                     for doc, items in problems.items() if items)


# --------------------------------------------------------------------------- checks
def test_every_page_loads(all_visits):
    broken = {doc: visit.errors for doc, visit in all_visits.items() if not visit.facts}
    assert not broken, _report(broken)


def test_math_is_typeset_on_every_page(visits):
    problems = {}
    for doc, visit in visits.items():
        facts, items = visit.facts, []
        if facts["math_elements"] and not facts["mjx_containers"]:
            items.append(f"{facts['math_elements']} math elements, none typeset")
        items += [f"math left as TeX: {m!r}" for m in facts["untypeset_math"]]
        items += [f"TeX error in {m!r}" for m in facts["math_errors"]]
        items += [f"raw TeX in the text: ...{t}..." for t in facts["raw_tex"]]
        problems[doc] = items
    assert not any(problems.values()), _report(problems)
    assert any(v.facts["mjx_containers"] for v in visits.values()), "no math anywhere"


def test_numbered_equations_carry_their_numbers(visits):
    # Chapters number their equations (chapter.k), as the intro promises.
    numbers = {}  # page url -> {equation id: number shown}
    problems = {}
    owner = {}  # chapter prefix -> page
    for doc, visit in visits.items():
        items = []
        shown = [eq["number"] for eq in visit.facts["equations"]]
        unnumbered = [eq["id"] for eq in visit.facts["equations"] if not eq["number"]]
        if unnumbered:
            items.append(f"equations without a number: {unnumbered}")
        flat = [n for n in shown if n and not re.fullmatch(r"\(\d+\.\d+\)", n)]
        if flat:
            items.append(f"equations numbered {', '.join(flat)}: not (chapter.k); "
                         "are the parts of _toc.yml numbered?")
        prefixes = {n.strip("()").split(".")[0] for n in shown if n and n not in flat}
        if len(prefixes) > 1:
            items.append(f"equations of several chapters on one page: {shown}")
        for prefix in prefixes:
            if owner.setdefault(prefix, doc) != doc:
                items.append(f"equation numbers ({prefix}.k) also used by "
                             f"{owner[prefix]}")
        if len(set(shown)) < len(shown):
            items.append(f"an equation number is used twice: {shown}")
        numbers[visit.url] = {eq["id"]: eq["number"] for eq in visit.facts["equations"]}
        problems[doc] = items
    for doc, visit in visits.items():
        for ref in visit.facts["equation_refs"]:
            page, _, anchor = ref["href"].partition("#")
            target = numbers.get(page, {}).get(anchor)
            if page in numbers and target != ref["text"]:
                problems[doc].append(
                    f"reference {ref['text']!r} to #{anchor} but the equation shows "
                    f"{target!r}")
    assert not any(problems.values()), _report(problems)


def test_every_image_has_loaded(visits):
    problems = {
        doc: [f"image not loaded: {img['src']}" for img in visit.facts["images"]
              if not img["loaded"]]
        for doc, visit in visits.items()
    }
    assert not any(problems.values()), _report(problems)
    for doc, visit in visits.items():
        if _notebook(doc) and visit.facts["output_images"]:
            widths = [img["width"] for img in visit.facts["output_images"]]
            assert min(widths) > 0, f"{doc}: a figure has no width: {widths}"


def test_figures_are_not_shrunk_below_legible_type(visits):
    # The chapters draw figures in plotting.BOOK_STYLE (no text below 9.5 pt at the
    # figure's size, sent as 2x PNGs). Shown at s times that size the text is 9.5 s pt:
    # at 1280 px every figure must keep at least 9 pt, the floor.
    from ngd_lib import plotting

    smallest = min(size for key, size in plotting.BOOK_STYLE.items() if "size" in key)
    floor = 9.0 / smallest
    problems = {}
    for doc, visit in visits.items():
        if not _notebook(doc):
            continue
        problems[doc] = [
            f"{img['src'][-40:]}: shown {img['shown']:.0f} px of "
            f"{img['width'] / 2:.0f} px ({img['shown'] / (img['width'] / 2):.2f} < "
            f"{floor:.3f}), its smallest text below 9 pt"
            for img in visit.facts["output_images"]
            if img["width"] and img["shown"] < floor * img["width"] / 2 - 0.5]
    assert not any(problems.values()), _report(problems)


def test_widgets_are_rendered(visits):
    problems = {}
    for doc, visit in visits.items():
        facts = visit.facts
        if not facts["has_widget_state"]:
            continue
        if facts["widget_views"] == 0:
            problems[doc] = ["widget state saved but no widget-view output"]
        elif facts["rendered_widget_views"] < facts["widget_views"]:
            problems[doc] = [
                f"{facts['rendered_widget_views']} of {facts['widget_views']} widget "
                f"views rendered (the manager did not run; the reader sees only the "
                f"fallback)"]
    assert not problems, _report(problems)


def test_internal_links_and_assets_resolve(visits, server):
    base, log = server
    ids = {visit.url: set(visit.facts["ids"]) for visit in visits.values()}
    problems: dict[str, list[str]] = {}
    targets: dict[str, set[str]] = {}
    for doc, visit in visits.items():
        items = [f"{s.status} for {s.path}" for s in visit.served
                 if s.status >= 400 and s.path not in BROWSER_OWN_REQUESTS]
        items += [f"request failed: {f}" for f in visit.failed
                  if _is_local(f.split(" ")[0], base)]
        for href in visit.facts["links"]:
            if not _is_local(href, base):
                continue
            page, _, anchor = href.partition("#")
            targets.setdefault(page, set()).add(doc)
            if anchor and page in ids and anchor not in ids[page]:
                items.append(f"link to #{anchor} of {page[len(base):]}: no such id")
        problems[doc] = items
    for page, docs in sorted(targets.items()):
        try:
            with urllib.request.urlopen(page, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if status != 200:
            for doc in docs:
                problems[doc].append(f"link to {page[len(base):]} gives {status}")
    assert not any(problems.values()), _report(problems)
    assert len(targets) > len(visits), "found suspiciously few internal links"


def test_search_finds_the_chapters_that_mention_the_term(chromium, server, visits):
    base, _ = server
    expected = {visit.url for visit in visits.values()
                if re.search(rf"\b{SEARCH_TERM}\b", visit.facts["prose"])}
    assert expected, f"no page mentions {SEARCH_TERM!r}; pick another search term"
    page = chromium.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/search.html?q={SEARCH_TERM}", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('#search-results h2')?.innerText"
        ".startsWith('Search Results')", timeout=TIMEOUT_MS)
    found = page.eval_on_selector_all(
        "#search-results ul.search li a", "els => els.map(a => a.href)")
    # The snippets under the results (fetched page by page) show formulas as
    # symbols, not as their TeX source.
    page.wait_for_function(
        "() => document.querySelectorAll('#search-results p.context').length >= "
        "Math.min(3, document.querySelectorAll('#search-results ul.search li').length)",
        timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)  # the rest of the snippets
    snippets = page.eval_on_selector_all(
        "#search-results p.context", "els => els.map(p => p.textContent)")
    page.close()
    found = {href.split("#")[0].split("?")[0] for href in found}
    assert not errors, errors
    assert snippets, "no search result shows a snippet"
    tex = re.compile(r"\\[A-Za-z]+|\\[()\[\]]")
    raw = [text[:120] for text in snippets if tex.search(text)]
    assert not raw, f"search snippets show TeX source: {raw}"
    missing = sorted(url[len(base):] for url in expected - found)
    assert not missing, f"search for {SEARCH_TERM!r} misses {missing}; found {found}"


def test_launch_and_download_buttons_point_at_the_notebook(visits):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    owner_repo = urllib.parse.urlsplit(repo).path.strip("/")
    branch = config["repository"].get("branch", "main")
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    problems = {}
    checked = 0
    for doc, visit in visits.items():
        buttons, items = visit.facts["buttons"], []
        if _notebook(doc) is None:
            continue
        checked += 1
        path = f"{doc}.ipynb"
        want = {
            "binder": f"{binder}/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{path}",
            "colab": f"{colab}/github/{owner_repo}/blob/{branch}/{path}",
        }
        for name, url in want.items():
            if url not in buttons["launch"]:
                items.append(f"no {name} button for {url}; launch buttons: "
                             f"{buttons['launch']}")
        if not any(h.endswith(f"/_sources/{path}") for h in buttons["download"]):
            items.append(f"no download button for {path}: {buttons['download']}")
        if repo not in buttons["repository"]:
            items.append(f"no repository button for {repo}: {buttons['repository']}")
        problems[doc] = items
    assert not any(problems.values()), _report(problems)
    if not checked:
        pytest.skip("no notebook chapter in the table of contents yet")


def test_download_button_serves_the_notebook(visits, server):
    base, _ = server
    for doc, visit in visits.items():
        if _notebook(doc) is None:
            continue
        href = next(h for h in visit.facts["buttons"]["download"]
                    if h.endswith(".ipynb"))
        with urllib.request.urlopen(href, timeout=30) as response:
            notebook = json.loads(response.read())
        assert notebook["cells"], f"{doc}: the downloaded notebook has no cells"
        assert notebook == json.loads(_notebook(doc).read_text()), (
            f"{doc}: the download differs from {doc}.ipynb in the repository")


def test_no_javascript_errors_from_the_book(all_visits):
    problems = {doc: visit.errors for doc, visit in all_visits.items()}
    assert not any(problems.values()), _report(problems)


def test_no_request_leaves_the_machine_for_cdn_libraries(visits):
    problems = {
        doc: [url for url in visit.external
              if any(lib in url.lower() for lib in CDN_LIBRARIES)]
        for doc, visit in visits.items()
    }
    assert not any(problems.values()), (
        "the offline build still loads these from a CDN:\n" + _report(problems))
    other = {doc: visit.external for doc, visit in visits.items() if visit.external}
    if other:
        print("requests to the outside world (ignored):", json.dumps(other, indent=1))


# ---------------------------------------------------------------------- page weight
@functools.cache
def _transfer_bytes(path: Path) -> int:
    """Bytes on the wire: text assets gzipped (as GitHub Pages and CDNs serve them)."""
    data = path.read_bytes()
    if path.suffix in {".html", ".js", ".css", ".json", ".svg", ".txt", ".ipynb",
                       ".map", ".inv"}:
        return len(gzip.compress(data, compresslevel=6))
    return len(data)


def _weigh(visit: Visit, html_root: Path) -> dict[str, int]:
    parts = {"html": 0, "images": 0, "theme": 0, "cdn_libraries": 0, "raw": 0,
             "transfer": 0}
    for served in visit.served:
        if served.status != 200:
            continue
        local = html_root / served.path.lstrip("/")
        if local.is_dir():
            local = local / "index.html"
        if not local.is_file():
            continue
        wire = _transfer_bytes(local)
        if served.path.startswith(VENDOR_PREFIX):
            parts["cdn_libraries"] += wire
        elif served.path.startswith("/_images/") or local.suffix in {".png", ".jpg",
                                                                      ".gif"}:
            parts["images"] += wire
        elif local.suffix == ".html":
            parts["html"] += wire
        else:
            parts["theme"] += wire
        parts["raw"] += served.size
        parts["transfer"] += wire
    return parts


def test_page_weight_is_reported_and_pages_stay_light(visits, book_html):
    rows, too_heavy = [], []
    header = (f"{'page':<40} {'html':>9} {'images':>9} {'theme':>9} {'cdn libs':>9} "
              f"{'transfer':>9} {'target':>9} {'raw':>9} {'seconds':>7}")
    target = f"<={MAX_PAGE_BYTES / 1024:.0f}K"
    for doc, visit in visits.items():
        w = _weigh(visit, book_html)
        over = w["transfer"] > MAX_PAGE_BYTES
        rows.append(
            f"{doc:<40} {w['html'] / 1024:>8.0f}K {w['images'] / 1024:>8.0f}K "
            f"{w['theme'] / 1024:>8.0f}K {w['cdn_libraries'] / 1024:>8.0f}K "
            f"{w['transfer'] / 1024:>8.0f}K {target + (' !' if over else ''):>9} "
            f"{w['raw'] / 1024:>8.0f}K {visit.seconds:>7.1f}")
        if over:
            too_heavy.append(f"{doc}: {w['transfer'] / 2**20:.2f} MB")
    text = (
        "Page weight per page of the table of contents (KiB). transfer = what a "
        "reader downloads: text assets gzipped as GitHub Pages and the CDNs serve "
        "them, images as they are; target = the most any page may transfer ('!' "
        "marks a page over it); 'cdn libs' = MathJax, require.js and the widget "
        "manager (served from a CDN online); raw = uncompressed bytes served here.\n"
        + header + "\n" + "\n".join(rows) + "\n")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "page_weight.txt").write_text(text)
    print("\n" + text)
    assert not too_heavy, f"pages over {MAX_PAGE_BYTES / 2**20:.1f} MB: {too_heavy}"


def test_pages_fit_the_window_and_layout_is_reported(visits):
    """No page scrolls sideways; what scrolls inside the column goes to layout.txt."""
    lines, too_wide = [], []
    for doc, visit in visits.items():
        facts = visit.facts
        if facts["page_width"] > facts["window_width"]:
            too_wide.append(f"{doc}: {facts['page_width']} px wide in a "
                            f"{facts['window_width']} px window")
        for kind in ("wide_code", "wide_math", "wide_tables"):
            for item in facts[kind]:
                lines.append(f"{doc:<40} {kind:<12} {item}")
        for img in facts["output_images"]:
            scale = img["shown"] / img["width"] if img["width"] else 1.0
            if scale < SHRUNK_FIGURE:
                name = img["caption"] or img["src"].rsplit("/", 1)[-1][:16]
                lines.append(f"{doc:<40} {'small_text':<12} {name} shown at "
                             f"{scale:.0%} of its size: its labels shrink as much")
    text = (f"Layout at a {VIEWPORT['width']} px window. Wider than the text column "
            "(the reader scrolls them sideways): code, display equations (by "
            "number), tables; figures scaled down to fit the column (keep figures "
            "<= 6.7 in wide at dpi 100, i.e. <= 670 px, for labels at their true "
            "size).\n" + ("\n".join(lines) or "none") + "\n")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "layout.txt").write_text(text)
    print("\n" + text)
    assert not too_wide, too_wide


def test_screenshots_were_saved(visits):
    for doc in visits:
        shot = SCREENSHOTS / f"{doc.replace('/', '__')}.png"
        assert shot.exists() and shot.stat().st_size > 10_000, f"{shot} missing"


# ---------------------------------------------------------------- reader-grade pages
def _reader(visits) -> dict[str, dict]:
    return {doc: v.facts["reader"] for doc, v in visits.items()}


def _axe_report(found: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {doc: [f"{v['impact']} {v['id']} ({v['count']}x): " + " | ".join(v["nodes"])
                  for v in violations] for doc, violations in found.items()}


def test_no_serious_accessibility_violations_in_light_mode(visits):
    problems = _axe_report({doc: v.facts["axe"] for doc, v in visits.items()})
    assert not any(problems.values()), _report(problems)


def test_no_serious_accessibility_violations_in_dark_mode(dark_visits):
    modes = {doc: found["mode"] for doc, found in dark_visits.items()}
    assert set(modes.values()) == {"dark"}, f"dark mode not applied: {modes}"
    problems = _axe_report({doc: found["axe"] for doc, found in dark_visits.items()})
    assert not any(problems.values()), _report(problems)


def test_no_orientation_lock_in_the_style_sheets(book_html):
    # WCAG 1.3.4 (axe's css-orientation-lock, whose preload the axe run turns off):
    # no style sheet of the site may restrict the page to portrait or landscape.
    sheets = sorted((book_html / "_static").rglob("*.css"))
    assert len(sheets) > 5, f"no style sheets found under {book_html / '_static'}"
    locked = [str(sheet.relative_to(book_html)) for sheet in sheets
              if re.search(r"@media[^{]*orientation\s*:",
                           sheet.read_text(errors="replace"))]
    assert not locked, f"style sheets with an orientation media query: {locked}"


def test_every_image_has_a_real_alt_text(visits):
    problems = {doc: [f"{img['src']}: alt {img['alt']!r}" for img in r["images"]
                      if not img["real"]] for doc, r in _reader(visits).items()}
    assert not any(problems.values()), _report(problems)


def test_formulas_are_not_tab_stops(visits):
    problems = {doc: [f"{r['math_tab_stops']} formulas in the Tab order"]
                for doc, r in _reader(visits).items() if r["math_tab_stops"]}
    assert not problems, _report(problems)
    assert any(v.facts["mjx_containers"] for v in visits.values())


def test_every_control_shows_a_focus_ring(visits):
    reader = _reader(visits)
    problems = {doc: [f"no focus ring: {c}" for c in r["no_focus_ring"]]
                for doc, r in reader.items()}
    assert not any(problems.values()), _report(problems)
    assert all(r["focusable"] > 10 for r in reader.values()), {
        doc: r["focusable"] for doc, r in reader.items()}


def test_no_duplicate_top_bar_on_a_desktop(visits):
    problems = {}
    for doc, r in _reader(visits).items():
        items = []
        if r["header_height"]:
            items.append(f"a {r['header_height']:.0f} px top bar above the article")
        if r["visible_toggles"] != 1:
            items.append(f"{r['visible_toggles']} visible primary-sidebar toggles")
        problems[doc] = items
    assert not any(problems.values()), _report(problems)


def test_navigation_opens_on_a_phone(phone_visits):
    problems = {}
    for doc, facts in phone_visits.items():
        before, after = facts["nav_before"], facts["nav_after"]
        if before["shown"] or after["shown"] < 3:
            problems[doc] = [f"table of contents links on screen: {before['shown']} "
                             f"before the tap, {after['shown']} of {after['links']} "
                             "after it"]
    assert not problems, _report(problems)


@pytest.mark.parametrize("viewport", [TABLET, VIEWPORT], ids=["800px", "1280px"])
def test_navigation_toggle_works_on_tablets_and_desktops(chromium, server, visits,
                                                         viewport):
    base, _ = server
    doc = next(d for d in visits if _notebook(d)) if any(map(_notebook, visits)) \
        else next(iter(visits))
    page = _open(chromium, f"{base}/{doc}.html", viewport)
    try:
        shown = [page.evaluate(NAV_OPEN_JS)["shown"]]
        for _ in range(2):
            page.locator(".primary-toggle:visible").first.click(timeout=5_000)
            page.wait_for_timeout(400)
            shown.append(page.evaluate(NAV_OPEN_JS)["shown"])
            page.keyboard.press("Escape")  # closes the narrow screens' dialog
            page.wait_for_timeout(200)
    finally:
        page.close()
    if viewport["width"] >= 992:  # the sidebar is shown; the toggle hides and shows it
        assert shown[0] >= 3 and shown[1] == 0 and shown[2] >= 3, shown
    else:  # the sidebar is hidden; the toggle opens it (twice: Escape closed it)
        assert shown[0] == 0 and shown[1] >= 3 and shown[2] >= 3, shown


def test_phone_layout_fits_the_screen(phone_visits):
    problems = {}
    for doc, facts in phone_visits.items():
        items = [f"wider than the {facts['width']} px screen outside a scroll "
                 f"container ({facts['wide_count']} elements): {w}"
                 for w in facts["wide"]]
        if facts["scroll_width"] > facts["width"]:
            items.append(f"the page is {facts['scroll_width']} px wide")
        items += [f"a slider only {w} px wide"
                  for w in facts["slider_widths"] if w < 100]
        problems[doc] = items
    assert not any(problems.values()), _report(problems)


def test_sliders_work_or_say_they_are_disabled(visits):
    reader = _reader(visits)
    problems = {doc: r["dead_controls"] for doc, r in reader.items()}
    assert not any(problems.values()), _report(problems)
    with_widgets = [doc for doc in visits
                    if _notebook(doc) and "ipywidgets" in _notebook(doc).read_text()]
    for doc in with_widgets:
        assert reader[doc]["controls"], f"{doc} makes widgets but its page shows none"


def test_reader_table_is_written(visits, dark_visits, book_html):
    """The per-page table of issue 13: axe findings, alt texts, transfer size."""
    header = (f"{'page':<40} {'axe light':>9} {'axe dark':>8} {'alt/img':>8} "
              f"{'tab math':>8} {'no ring':>7} {'transfer':>9}")
    rows = []
    for doc, visit in visits.items():
        r = visit.facts["reader"]
        light = sum(v["count"] for v in visit.facts["axe"])
        dark = sum(v["count"] for v in dark_visits[doc]["axe"])
        real = sum(img["real"] for img in r["images"])
        kib = _weigh(visit, book_html)["transfer"] / 1024
        alts = f"{real}/{len(r['images'])}"
        rows.append(f"{doc:<40} {light:>9} {dark:>8} {alts:>8} "
                    f"{r['math_tab_stops']:>8} {len(r['no_focus_ring']):>7} "
                    f"{kib:>8.0f}K")
    text = ("Per page: critical+serious axe-core nodes (light, dark mode), images "
            "with a real alt text, formulas in the Tab order, controls without a "
            "focus ring, transfer size.\n" + header + "\n" + "\n".join(rows) + "\n")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "accessibility.txt").write_text(text)
    print("\n" + text)
    assert len(rows) == len(visits)
