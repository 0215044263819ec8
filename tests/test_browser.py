"""The rendered book in headless Chromium: what a reader sees on every page.

The book is built once (``built_book``: the whole book, with MathJax and the widget
manager served from pinned local copies, see ``tools/fetch_vendor.py``), served on
127.0.0.1 by a thread, and Debian's Chromium visits every page of the table of
contents once. The visit collects what the checks below assert: typeset math and
equation numbers, loaded images, rendered widgets, links, launch and download
buttons, console errors, requests and their sizes. Full-page screenshots and the
page weights go to ``_build/screenshots/``.
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
MAX_CHAPTER_BYTES = 5 * 2**20      # transfer size of one chapter page
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
    output_images: [...article.querySelectorAll(".cell_output img")]
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
def server(built_book):
    """Serve the built HTML on a free port of 127.0.0.1; yield (base_url, log)."""
    log: list[Served] = []
    handler = type("Handler", (_Handler,), {"log": log, "lock": threading.Lock()})
    httpd = _Server(("127.0.0.1", 0),
                    functools.partial(handler, directory=str(built_book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    finally:
        httpd.shutdown()
        httpd.server_close()


# -------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def chromium(built_book):
    """A headless Chromium context; fails under CI and skips elsewhere without one."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if sync_playwright is None:
        missing.append("the python package playwright is not installed")
    if not (built_book / VENDOR_PREFIX.strip("/") / "pins.json").exists():
        record = built_book.parents[1] / "result.json"
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


def _visit(context, base: str, log: list[Served], doc: str) -> Visit:
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
    except PlaywrightError as exc:  # every check then reports this page as broken
        visit.errors.append(f"the page did not finish loading: {exc}")
        visit.facts = {}
    visit.served = log[first:]
    visit.seconds = time.perf_counter() - start
    page.close()
    return visit


@pytest.fixture(scope="module")
def all_visits(chromium, server, toc_files) -> dict[str, Visit]:
    base, log = server
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # no stale pages from earlier runs
    return {doc: _visit(chromium, base, log, doc) for doc in toc_files}


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
    page.close()
    found = {href.split("#")[0].split("?")[0] for href in found}
    assert not errors, errors
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


def test_page_weight_is_reported_and_chapters_stay_small(visits, built_book):
    rows, too_heavy = [], []
    header = (f"{'page':<40} {'html':>9} {'images':>9} {'theme':>9} {'cdn libs':>9} "
              f"{'transfer':>9} {'raw':>9} {'seconds':>7}")
    for doc, visit in visits.items():
        w = _weigh(visit, built_book)
        rows.append(
            f"{doc:<40} {w['html'] / 1024:>8.0f}K {w['images'] / 1024:>8.0f}K "
            f"{w['theme'] / 1024:>8.0f}K {w['cdn_libraries'] / 1024:>8.0f}K "
            f"{w['transfer'] / 1024:>8.0f}K {w['raw'] / 1024:>8.0f}K "
            f"{visit.seconds:>7.1f}")
        if _notebook(doc) and w["transfer"] > MAX_CHAPTER_BYTES:
            too_heavy.append(f"{doc}: {w['transfer'] / 2**20:.1f} MB")
    text = (
        "Page weight per page of the table of contents (KiB). transfer = what a "
        "reader downloads: text assets gzipped as GitHub Pages and the CDNs serve "
        "them, images as they are; 'cdn libs' = MathJax, require.js and the widget "
        "manager (served from a CDN online); raw = uncompressed bytes served here.\n"
        + header + "\n" + "\n".join(rows) + "\n")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "page_weight.txt").write_text(text)
    print("\n" + text)
    assert not too_heavy, f"chapter pages over {MAX_CHAPTER_BYTES / 2**20:.0f} MB: " \
        f"{too_heavy}"


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
