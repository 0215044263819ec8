"""The book's PDF edition and its printed pages (a local Sphinx extension).

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. ``make pdf`` builds the
PDF with Sphinx's LaTeX builder (tools/build_pdf.py); this extension makes the LaTeX
say what the HTML says:

1. **Macros.** The book's TeX macros are written once, for MathJax
   (``mathjax3_config.tex.macros`` in ``_config.yml``). The same definitions are
   appended to ``latex_elements["preamble"]`` as ``\\renewcommand`` lines, so the
   two editions cannot drift apart.
2. **Front and back matter.** The introduction, the notation page and the back
   matter are not numbered in the HTML (their parts of ``_toc.yml`` are not
   ``numbered``); in the LaTeX they are unnumbered chapters too, so "Chapter 1" is
   the first chapter in both editions. The parts show their captions only (the
   captions already say "Part I: ...").
3. **Widgets.** A widget has no printed form: LaTeX would show its Python repr
   (``VBox(children=...)``). In the PDF a widget output becomes the figures its
   saved state holds (an ``Output`` widget's images) and a line naming each control
   and its value, with the address of the chapter online where it moves.
4. **Links.** Links relative to the HTML site (the in-browser version of a chapter,
   ``../lite/...``) point nowhere in a PDF; they are made absolute on the book's
   address (``html.baseurl``).

For the HTML edition it adds the print style sheet ``book/_static/print.css`` (code
cells and figures kept whole on a page), puts the chapter number in the printed title
(the theme prints a title without it), and makes the "download .pdf" entry of the
download menu a link to the book's PDF when one has been built (``make pdf`` before
``make book``: the PDF is copied into the site as ``book.pdf``); otherwise the entry
prints the page, and says so.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import urllib.parse
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parents[1] / "_static"
PRINT_CSS = "print.css"
PDF_NAME = "book.pdf"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MACRO_NAME = re.compile(r"[A-Za-z]+")
MODEL_REF = "IPY_MODEL_"
NOTE_CLASS = "ngd-print-widget-note"

# Fonts Debian's TeX packages carry (Sphinx's XeLaTeX default, FreeSerif, is not one):
# Latin Modern for text, DejaVu Sans Mono (wide Unicode coverage) for code and outputs.
FONTPKG = r"""
\setmainfont{Latin Modern Roman}
\setsansfont{Latin Modern Sans}
\setmonofont[Scale=0.88]{DejaVu Sans Mono}
"""

# In the preamble: switch chapter numbering off (front and back matter) and on again.
PREAMBLE = r"""
% --- ngd_book_pdf (book/_ext_pdf/ngd_book_pdf.py) ---
\newcounter{ngdsecnumdepth}
\newcommand{\ngdunnumbered}{%
  \ifnum\value{secnumdepth}>-1 \setcounter{ngdsecnumdepth}{\value{secnumdepth}}\fi
  \setcounter{secnumdepth}{-1}}
\newcommand{\ngdnumbered}{\setcounter{secnumdepth}{\value{ngdsecnumdepth}}}
% parts show their captions ("Part I: ..."), not a second "Part I"
\renewcommand{\thepart}{}
\addto\captionsenglish{\renewcommand{\partname}{}}
% figures, tables and equations numbered in their chapter (1.1, 1.2, ...), as in the
% HTML: with the part as top sectioning level Sphinx passes numfigreset=0, and
% sphinxlatexnumfig.sty sets plain numbers when the document begins, so this comes after
% (the introduction, before chapter 1, numbers its figures 1, 2, ... as the HTML does)
\AtBeginDocument{%
  \counterwithin{figure}{chapter}\counterwithin{table}{chapter}%
  \counterwithin{equation}{chapter}\counterwithin{literalblock}{chapter}%
  \def\ngdinchapter#1{\ifnum\value{chapter}>0 \arabic{chapter}.\fi\arabic{#1}}%
  \renewcommand{\thefigure}{\ngdinchapter{figure}}%
  \renewcommand{\thetable}{\ngdinchapter{table}}%
  \renewcommand{\theequation}{\ngdinchapter{equation}}%
  \renewcommand{\theliteralblock}{\ngdinchapter{literalblock}}}
% characters the text font lacks (Latin Modern has no Greek and no superscript digits)
% come from DejaVu Serif (see LatinModernGaps); not \newunicodechar: unicode-math,
% loaded later by sphinx-jupyterbook-latex, would turn an active ⁻ into a math-only
% superscript
\newfontfamily\ngdfallback{DejaVu Serif}[Scale=MatchLowercase]
"""
# Greek letters, superscript and subscript digits and signs: set in DejaVu Serif
FALLBACK = re.compile("[\u0391-\u03a9\u03b1-\u03c9\u03d1\u03d5\u03f5\u2070-\u209c]+")


# --- 1. macros ------------------------------------------------------------------------

def latex_macros(macros: dict) -> str:
    r"""LaTeX definitions of MathJax macros (``mathjax3_config.tex.macros``).

    Parameters
    ----------
    macros : dict
        Name (without the backslash) to a definition: a string, or a list
        ``[body, nargs]`` or ``[body, nargs, default]`` as MathJax takes them.

    Returns
    -------
    str
        One ``\providecommand ... \renewcommand`` line per macro (``\providecommand``
        first, so a macro a LaTeX package already defines is redefined, not an error).

    Raises
    ------
    ValueError
        If a name is not letters only or a definition has an unknown form.

    Examples
    --------
    >>> print(latex_macros({"R": r"\mathbb{R}", "norm": [r"\lVert #1 \rVert", 1]}))
    \providecommand{\R}{}\renewcommand{\R}{\mathbb{R}}
    \providecommand{\norm}{}\renewcommand{\norm}[1]{\lVert #1 \rVert}
    """
    lines = []
    for name, definition in macros.items():
        if not MACRO_NAME.fullmatch(str(name)):
            raise ValueError(f"mathjax3_config.tex.macros: macro name {name!r} must be "
                             "letters only (LaTeX control word); rename it")
        args = ""
        if isinstance(definition, str):
            body = definition
        elif (isinstance(definition, (list, tuple)) and 2 <= len(definition) <= 3
              and isinstance(definition[0], str)):
            body, nargs = definition[0], int(definition[1])
            args = f"[{nargs}]"
            if len(definition) == 3:
                args += f"[{definition[2]}]"
        else:
            raise ValueError(f"mathjax3_config.tex.macros[{name!r}] = {definition!r}: "
                             "expected a string or [body, nargs(, default)]")
        lines.append(rf"\providecommand{{\{name}}}{{}}\renewcommand{{\{name}}}{args}{{{body}}}")
    return "\n".join(lines)


def add_latex_preamble(app, config) -> None:
    app.ngd_numfig_secnum_depth = config.numfig_secnum_depth
    macros = ((config.mathjax3_config or {}).get("tex") or {}).get("macros") or {}
    elements = dict(config.latex_elements or {})
    elements.setdefault("fontpkg", FONTPKG)
    elements.setdefault("papersize", "a4paper")
    # read on a screen more than bound: no blank page before each chapter
    elements.setdefault("extraclassoptions", "openany,oneside")
    elements["preamble"] = (elements.get("preamble", "") + PREAMBLE
                            + "% the MathJax macros of _config.yml\n"
                            + latex_macros(macros) + "\n")
    config.latex_elements = elements


# --- 2. front and back matter ---------------------------------------------------------

def html_numbering(app) -> None:
    """Number theorems and exercises as the HTML does (1.1, not 1.3.1).

    sphinx-jupyterbook-latex sets ``numfig_secnum_depth = 2`` for the LaTeX builder
    (its top level is the part); the numbers Sphinx computes (sphinx-proof,
    sphinx-exercise) then count sections. The book's own depth is restored, and the
    preamble numbers figures and equations per chapter (``\\counterwithin``).
    """
    if app.builder.format == "latex":
        app.config.numfig_secnum_depth = app.ngd_numfig_secnum_depth


def _raw_latex(text: str) -> nodes.raw:
    return nodes.raw("", text + "\n", format="latex")


class NumberedPartsOnly(SphinxPostTransform):
    """Number only the chapters of numbered parts (after sphinx-jupyterbook-latex).

    sphinx-jupyterbook-latex turns each caption of ``_toc.yml`` into a part: a
    ``start_of_file`` named after the caption, holding the part's chapters. A part
    is numbered if its chapters have section numbers in the HTML (``toc_secnumbers``).
    """

    default_priority = 800  # sphinx-jupyterbook-latex builds the parts at 700
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        docs = self.env.all_docs
        files = list(self.document.findall(lambda n: n.tagname == "start_of_file"))
        if not any(f.get("docname") == self.config.root_doc for f in files) and \
                self.env.docname != self.config.root_doc:
            return
        # the introduction (the root document) comes before any part
        self.document.insert(0, _raw_latex(r"\ngdunnumbered"))
        for part in files:
            if part.get("docname") in docs or part.parent is None:
                continue
            chapters = [f["docname"] for f in part.findall(
                lambda n: n.tagname == "start_of_file") if f.get("docname") in docs]
            if not chapters:
                continue
            numbered = bool((self.env.toc_secnumbers.get(chapters[0]) or {}).get(""))
            switch = r"\ngdnumbered" if numbered else r"\ngdunnumbered"
            parent = part.parent
            parent.insert(parent.index(part), _raw_latex(switch))


class LatinModernGaps(SphinxPostTransform):
    """Set the characters Latin Modern lacks in DejaVu Serif (LaTeX only).

    Prose and glued numbers hold Greek letters (``κ = 30``) and superscripts
    (``10⁻⁴``); XeLaTeX would drop them silently. Code and outputs are left alone
    (DejaVu Sans Mono has them), and so is math.
    """

    default_priority = 990  # after the glue is pasted (myst-nb, ngd_book_reader: 900)
    formats = ("latex",)
    SKIP = (nodes.literal_block, nodes.literal, nodes.math, nodes.math_block,
            nodes.raw, nodes.comment)

    def run(self, **kwargs) -> None:
        for text in list(self.document.findall(nodes.Text)):
            if not FALLBACK.search(text) or text.parent is None:
                continue
            node, skip = text.parent, False
            while node is not None:
                if isinstance(node, self.SKIP):
                    skip = True
                    break
                node = node.parent
            if skip:
                continue
            parts, last = [], 0
            for match in FALLBACK.finditer(text):
                if match.start() > last:
                    parts.append(nodes.Text(text[last:match.start()]))
                parts.append(nodes.raw("", r"{\ngdfallback " + match.group(0) + "}",
                                       format="latex"))
                last = match.end()
            if last < len(text):
                parts.append(nodes.Text(text[last:]))
            text.parent.replace(text, parts)


# --- 3. widgets -----------------------------------------------------------------------

def widget_states(env) -> dict:
    """The saved widget models of every notebook (model id -> model), from MyST-NB."""
    states: dict = {}
    for meta in getattr(env, "nb_metadata", {}).values():
        entry = (meta.get("js_files") or {}).get("ipywidgets_state")
        if not entry:
            continue
        try:
            saved = json.loads(entry[1]["body"])
        except (KeyError, TypeError, ValueError):
            continue
        states.update(saved.get("state", {}))
    return states


def _children(model: dict) -> list[str]:
    found = []

    def walk(value):
        if isinstance(value, str) and value.startswith(MODEL_REF):
            found.append(value[len(MODEL_REF):])
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(model.get("state", {}))
    return found


def describe_widget(model_id: str, states: dict) -> tuple[list[str], list[bytes]]:
    """The controls (``"kappa = 30"``) and the PNG images of a widget's saved state."""
    controls, images, seen, todo = [], [], set(), [model_id]
    while todo:
        key = todo.pop(0)
        if key in seen or key not in states:
            continue
        seen.add(key)
        model = states[key]
        state = model.get("state", {})
        name = model.get("model_name", "")
        if name == "OutputModel":
            for output in state.get("outputs", []):
                png = (output.get("data") or {}).get("image/png")
                if png:
                    images.append(base64.b64decode(png))
        description = state.get("description")
        if description and "value" in state:
            value = state["value"]
            if name == "DropdownModel" and "_options_labels" in state:
                index = state.get("index")
                labels = state["_options_labels"]
                value = labels[index] if isinstance(index, int) else value
            if isinstance(value, float):
                value = f"{value:.3g}"
            controls.append(f"{description} = {value}")
        todo.extend(_children(model))
    return controls, images


def page_url(config, docname: str) -> str:
    base = (config.html_baseurl or "").rstrip("/") + "/"
    return urllib.parse.urljoin(base, docname + ".html")


def docnames_of(tree, kind, default: str) -> dict[int, str]:
    """The document each node of type ``kind`` comes from, in a LaTeX build's tree.

    The LaTeX builder inlines the chapters into one tree under ``start_of_file``
    nodes (without parent links), so this walks down from each of them; the
    innermost one wins. Keys are ``id(node)``.
    """
    owner = {id(node): default for node in tree.findall(kind)}
    for part in tree.findall(lambda n: n.tagname == "start_of_file"):
        for node in part.findall(kind):
            owner[id(node)] = part.get("docname", default)
    return owner


class WidgetsInPrint(SphinxPostTransform):
    """Replace widget outputs by their saved figures and a note (LaTeX only)."""

    default_priority = 3  # before MyST-NB picks a mime type (SelectMimeType, 4)
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        states = None
        bundles = [n for n in self.document.findall(nodes.container)
                   if n.get("nb_element") == "mime_bundle"]
        owner = docnames_of(self.document, nodes.container, self.env.docname)
        for count, bundle in enumerate(bundles):
            views = [c for c in bundle.children if c.get("mime_type") == WIDGET_VIEW]
            if not views:
                continue
            if states is None:
                states = widget_states(self.env)
            match = re.search(r'"model_id"\s*:\s*"([^"]+)"', views[0].astext())
            controls, images = (describe_widget(match.group(1), states) if match
                                else ([], []))
            docname = owner[id(bundle)]
            replacement = nodes.container(classes=[NOTE_CLASS])
            outdir = Path(self.app.builder.outdir)
            for number, png in enumerate(images):
                name = f"widget-{count}-{number}.png"
                (outdir / name).write_bytes(png)
                replacement += nodes.image("", uri=name, candidates={"*": name})
            para = nodes.paragraph()
            what = "Interactive figure" if images else "Interactive controls"
            shown = "; ".join(controls)
            para += nodes.emphasis("", f"{what} ({shown}). " if shown else f"{what}. ")
            para += nodes.Text("The controls move in the online book and in the "
                               "notebook: ")
            url = page_url(self.config, docname)
            para += nodes.reference("", url, refuri=url, internal=False)
            para += nodes.Text(".")
            replacement += para
            bundle.replace_self(replacement)


# --- 4. links -------------------------------------------------------------------------

def absolute_links(app, doctree, docname) -> None:
    """Make links relative to the HTML site absolute (LaTeX only)."""
    if app.builder.format != "latex":
        return
    owner = docnames_of(doctree, nodes.reference, docname)
    for ref in doctree.findall(nodes.reference):
        uri = ref.get("refuri")
        if not uri or ref.get("internal") or uri.startswith(("%", "#", "mailto:")):
            continue
        if urllib.parse.urlsplit(uri).scheme:
            continue
        ref["refuri"] = urllib.parse.urljoin(page_url(app.config, owner[id(ref)]), uri)


# --- HTML: print style, printed title, the PDF button --------------------------------

def add_static_files(app) -> None:
    if str(STATIC) not in map(str, app.config.html_static_path):
        app.config.html_static_path.append(str(STATIC))


def built_pdf(app) -> Path | None:
    """The book's PDF built by ``make pdf`` next to this HTML build, if any."""
    if app.builder.format != "html":
        return None
    candidate = Path(app.outdir).parent / "latex" / PDF_NAME
    return candidate if candidate.is_file() else None


def numbered_title(app, pagename, templatename, context, doctree) -> None:
    """Put the chapter number in the title the theme prints (``pagetitle``)."""
    number = (getattr(app.env, "toc_secnumbers", {}).get(pagename) or {}).get("")
    if number and context.get("pagetitle"):
        prefix = ".".join(map(str, number)) + app.config.html_secnumber_suffix
        if not context["pagetitle"].startswith(prefix):
            context["pagetitle"] = prefix + context["pagetitle"]


def pdf_button(app, pagename, templatename, context, doctree) -> None:
    """Point the download menu's ".pdf" entry at the book's PDF, or say it prints."""
    pdf = app.env.ngd_book_pdf if hasattr(app.env, "ngd_book_pdf") else None
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        for index, button in enumerate(group.get("buttons", [])):
            if button.get("label") != "download-pdf-button":
                continue
            printing = dict(button, text=".pdf (print page)",
                            tooltip="Print this page or save it as PDF")
            if pdf:
                book = {"type": "link", "url": context["pathto"](PDF_NAME, 1),
                        "text": ".pdf (whole book)", "icon": "fas fa-file-pdf",
                        "tooltip": "Download the whole book as PDF",
                        "label": "download-book-pdf-button"}
                group["buttons"][index:index + 1] = [book, printing]
            else:
                group["buttons"][index] = printing
            return


def find_pdf(app) -> None:
    app.env.ngd_book_pdf = str(built_pdf(app) or "")


def copy_pdf(app, exception) -> None:
    if exception is None and getattr(app.env, "ngd_book_pdf", ""):
        shutil.copy2(app.env.ngd_book_pdf, Path(app.outdir) / PDF_NAME)


def setup(app):
    app.connect("config-inited", add_latex_preamble)
    # after sphinx-jupyterbook-latex (builder-inited, 500)
    app.connect("builder-inited", html_numbering, priority=900)
    app.add_post_transform(WidgetsInPrint)
    app.add_post_transform(NumberedPartsOnly)
    app.add_post_transform(LatinModernGaps)
    app.connect("doctree-resolved", absolute_links, priority=900)
    app.connect("builder-inited", add_static_files)
    app.connect("builder-inited", find_pdf)
    app.add_css_file(PRINT_CSS, media="print")
    # after the theme: its page title (priority 500) and header buttons (501)
    app.connect("html-page-context", numbered_title, priority=600)
    app.connect("html-page-context", pdf_button, priority=600)
    app.connect("build-finished", copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
