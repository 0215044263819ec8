"""Links from each chapter page to the live, in-browser version (JupyterLite).

Loaded by ``ngd_book_html`` (the book's local extension). ``make book`` builds the
JupyterLite site into ``<html>/lite/`` (tools/lite/build_lite.py); this extension
adds to every chapter page built from a notebook

1. under the title, one line: run the chapter in the browser (no install), in Colab,
   on Binder, or on your computer (the introduction's section on the four ways);
2. after every output with a widget (sliders), a "launch to interact" note linking
   to the live versions: on the static page the widgets are drawn disabled, in
   their saved state (``ngd_static_widgets.py``).

The browser link is relative (``../lite/notebooks/index.html?path=NN.ipynb``), so it
works on any host and in the offline test build.
"""

from __future__ import annotations

import posixpath
import urllib.parse

from docutils import nodes
from ngd_static_widgets import replace_widget_views

LITE_DIR = "lite"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RUN_CLASS = "ngd-run-anywhere"
LIVE_CLASS = "ngd-live-widgets"
# the introduction's section on the four ways to run a chapter (book/intro.md)
LOCAL_ANCHOR = "four-ways-to-run-a-chapter"


def lite_url(docname: str) -> str:
    """The relative URL of the chapter ``docname`` in the lite notebook app."""
    up = "../" * docname.count("/")
    name = posixpath.basename(docname) + ".ipynb"
    return f"{up}{LITE_DIR}/notebooks/index.html?path={urllib.parse.quote(name)}"


def _launch_urls(app, docname: str) -> dict[str, str]:
    config = app.config.html_theme_options or {}
    repo = (config.get("repository_url") or "").rstrip("/")
    branch = config.get("repository_branch") or "main"
    launch = config.get("launch_buttons") or {}
    path = config.get("path_to_docs") or ""
    notebook = posixpath.join(path, docname + ".ipynb").lstrip("/")
    urls = {}
    owner_repo = urllib.parse.urlsplit(repo).path.strip("/")
    if owner_repo and launch.get("colab_url"):
        urls["Colab"] = (f"{launch['colab_url'].rstrip('/')}/github/{owner_repo}/blob/"
                         f"{branch}/{notebook}")
    if owner_repo and launch.get("binderhub_url"):
        urls["Binder"] = (f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{owner_repo}/"
                          f"{branch}?urlpath=lab/tree/{notebook}")
    return urls


def _link(text: str, url: str) -> nodes.reference:
    return nodes.reference("", text, refuri=url, internal=False)


def _run_line(app, docname: str) -> nodes.container:
    para = nodes.paragraph()
    para += nodes.strong("", "Run this chapter: ")
    para += _link("in your browser", lite_url(docname))
    para += nodes.Text(" (no install; the first start takes a minute)")
    for name, url in _launch_urls(app, docname).items():
        para += nodes.Text(" · ")
        para += _link(f"in {name}", url)
    root = app.config.root_doc
    if root != docname:
        local = app.builder.get_relative_uri(docname, root) + "#" + LOCAL_ANCHOR
        para += nodes.Text(" · ")
        para += _link("on your computer", local)
    para += nodes.Text(".")
    box = nodes.container(classes=[RUN_CLASS])
    box += para
    return box


def _has_widget(output: nodes.Element) -> bool:
    return any(WIDGET_VIEW in raw.astext() for raw in output.findall(nodes.raw))


def add_run_links(app, doctree, docname) -> None:
    source = str(app.env.doc2path(docname, base=False))
    if not source.endswith(".ipynb"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title = next((i for i, c in enumerate(section.children)
                  if isinstance(c, nodes.title)), None)
    if title is None:
        return
    section.insert(title + 1, _run_line(app, docname))
    # The widgets become their saved state, drawn disabled (ngd_static_widgets);
    # a view it could not draw keeps the widget manager and gets the note too.
    outputs = replace_widget_views(app, doctree, docname)
    outputs += [o for o in doctree.findall(nodes.container)
                if "cell_output" in o["classes"] and _has_widget(o)
                and o not in outputs]
    for output in outputs:
        para = nodes.paragraph()
        para += nodes.strong("", "Launch to interact: ")
        para += nodes.Text("the controls above are disabled on this page and show "
                           "the saved settings. ")
        para += _link("Run this chapter in your browser", lite_url(docname))
        for name, url in _launch_urls(app, docname).items():
            para += nodes.Text(" or ")
            para += _link(f"in {name}", url)
        para += nodes.Text(" to move them.")
        note = nodes.container(classes=[LIVE_CLASS])
        note += para
        parent = output.parent
        parent.insert(parent.index(output) + 1, note)


def setup(app):
    app.connect("doctree-resolved", add_run_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
