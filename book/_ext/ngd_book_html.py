"""Fixes for the book's HTML pages (a local Sphinx extension).

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. Each fix removes a
JavaScript error that the browser tests (tests/test_browser.py) saw on the pages:

1. Sphinx 7.4 writes an inline script twice when an extension adds it after the
   builder started (``None`` and ``""`` file names do not compare equal), so
   sphinx-thebe's ``const THEBE_JS_URL = ...`` throws "Identifier 'THEBE_JS_URL'
   has already been declared" on every page. Exact duplicates are dropped.
2. On pages with widgets, the widget manager bundle (``embed-amd.js``) looks for its
   fonts next to the page (``book/@jupyter-widgets/html-manager/dist/...``, 404).
   A RequireJS path sends it to the folder the bundle really comes from (the CDN
   online, the local copy in the offline test build).
3. ipywidgets 8 typesets widget labels with the MathJax 2 call
   ``MathJax.Hub.Queue``; the book loads MathJax 3, so rendering a widget throws
   "Cannot read properties of undefined (reading 'Queue')". MathJax 3 gets a
   ``Hub.Queue`` that typesets with ``MathJax.typesetPromise``.

Two more things for the reader: the test marker ``# NBVAL_CHECK_OUTPUT`` (first line
of the code cells whose output nbval compares) is left out of the rendered code (the
notebooks keep it), and every page gets the book's style sheet,
``book/_static/ngd_book.css``, and its page script, ``book/_static/ngd_book.js``
(jupyter-book only injects the files of ``<root>/_static``, and the book's root is
the repository, so ``book/_static`` is registered here).

4. Pages leave out Font Awesome's 1.5 MB script (``scripts/fontawesome.js``, which
   replaces each icon by an SVG): the theme's style sheet already carries Font
   Awesome's CSS and web fonts, which draw the same icons. The theme's asset macros
   are overridden by ``templates/static/webpack-macros.html`` (a template path added
   at ``config-inited``, before the builder loads its templates).
5. The figures' 2x PNGs are stored with a 256-colour palette where that loses
   nothing visible (``ngd_image_weight.py``), so no page transfers more than 1.5 MB.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from docutils import nodes
from sphinx.builders.html._assets import _JavaScript

TEST_MARKER = "# NBVAL_CHECK_OUTPUT"
STATIC = Path(__file__).resolve().parents[1] / "_static"
TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLE_SHEET = "ngd_book.css"
PAGE_SCRIPT = "ngd_book.js"
EMBED_SCRIPT = "embed-amd.js"
BUNDLE_MODULES = "@jupyter-widgets/html-manager/dist"

MATHJAX2_HUB_SHIM = """(function () {
  function withHub(mathjax) {
    if (mathjax && mathjax.version && !mathjax.Hub) {
      mathjax.Hub = {Queue: function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        var ready = (mathjax.startup && mathjax.startup.promise) || Promise.resolve();
        ready.then(function () {
          return mathjax.typesetPromise(element ? [element] : undefined);
        }).catch(function (err) { console.warn("MathJax: widget label", err); });
      }};
    }
    return mathjax;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true, enumerable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); }
  });
})();"""


def _key(script) -> tuple:
    if isinstance(script, str):
        return (script, 0, ())
    attributes = tuple(sorted((k, str(v)) for k, v in script.attributes.items()))
    return (script.filename or "", script.priority, attributes)


def fix_page_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    fixed, seen = [], set()
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        name = key[0]
        if name.endswith("/" + EMBED_SCRIPT):
            folder = posixpath.dirname(name)
            if "://" not in folder:
                folder = context["pathto"](folder, resource=True)
            paths = json.dumps({BUNDLE_MODULES: folder})
            body = (f"if (window.require && require.config) "
                    f"require.config({{paths: {paths}}});\n" + MATHJAX2_HUB_SHIM)
            fixed.append(_JavaScript("", priority=script.priority, body=body))
        fixed.append(script)
    context["script_files"] = fixed


def fix_page_body(app, pagename, templatename, context, doctree) -> None:
    """ARIA of the rendered body that axe-core reports as serious.

    sphinxcontrib-bibtex marks the bibliography ``role="list"`` with entries of the
    deprecated ``role="doc-biblioentry"``, which no longer counts as a list item
    (aria-required-children): the entries become ``role="listitem"``.
    """
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def drop_test_markers(app, doctree, docname) -> None:
    """Remove the nbval marker line from the code of the rendered cells."""
    for cell_input in doctree.findall(nodes.container):
        if "cell_input" not in cell_input["classes"]:
            continue
        for block in cell_input.findall(nodes.literal_block):
            code = block.astext()
            first, _, rest = code.partition("\n")
            if first.strip() == TEST_MARKER:
                block.children = [nodes.Text(rest)]
                block.rawsource = rest


def add_templates(app, config) -> None:
    if str(TEMPLATES) not in map(str, config.templates_path):
        config.templates_path.append(str(TEMPLATES))


def add_static_files(app) -> None:
    if str(STATIC) not in map(str, app.config.html_static_path):
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    # "Run in your browser" (JupyterLite) links on chapter pages: ngd_run_anywhere.py
    app.setup_extension("ngd_run_anywhere")
    # 2x PNG figures stored with a 256-colour palette where no one can see it
    app.setup_extension("ngd_image_weight")
    app.connect("config-inited", add_templates)
    app.connect("builder-inited", add_static_files)
    app.add_css_file(STYLE_SHEET)
    app.add_js_file(PAGE_SCRIPT, loading_method="defer")
    app.connect("doctree-resolved", drop_test_markers)
    # After myst-nb (priority 500) has added the widget scripts of the page.
    app.connect("html-page-context", fix_page_scripts, priority=900)
    app.connect("html-page-context", fix_page_body, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
