"""The PDF edition of the book (``make pdf``) and the printed HTML pages.

The PDF is built as ``make pdf`` builds it (``tools/build_pdf.py``: Sphinx's LaTeX
builder through jupyter-book, then XeLaTeX), into the folder of the session's HTML
build (``built_book``) with the same configuration, so the notebooks are not run
again: Sphinx reuses the executed notebooks and its environment, and only the LaTeX
stage runs. The build itself fails on a LaTeX error, an undefined reference or
citation, or a character the fonts lack.

Then every page is read as text (``pdftotext``) as a reader would: the whole book is
there in order, no page shows TeX source, directives or reprs where typeset output
belongs (only the printed code of the chapters may contain such text, and no more
often than it does), the figures are embedded, figures, equations, theorems and
exercises carry their numbers, and the bibliography lists every reference.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import ROOT, offline_config

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext_pdf"))
import build_pdf  # noqa: E402
import ngd_book_pdf  # noqa: E402

POPPLER = ("pdftotext", "pdfinfo", "pdfimages")
MIN_PAGES = 60
# An A4 page of this book holds text and figures: fewer words than this on
# average means blank or near-blank pages, more means text lost off the pages.
WORDS_PER_PAGE = (100, 700)
# Text that must not appear on a page except inside the printed code, and then at
# most as often as the code holds it: TeX source, MyST roles and directives,
# unresolved references (LaTeX prints "??"), Python reprs of figures and widgets.
RAW = (r"\frac", r"\begin", r"\end{", r"\mathbb", r"\operatorname", r"\left",
       r"\right", r"\sqrt", "$$", "$\\", r"\(", r"\[", "{eq}", "{math}", "{numref}",
       "{ref}", "{cite", "{glue", "{prf:", "{exercise", "{solution", ":label:",
       "??", "<Figure size", "(children=", "<IPython.", "object at 0x")
NOT_PRINTED = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
BACKTICKS = re.compile(r"(`{1,3})(.+?)\1", re.DOTALL)
PROOF_KINDS = ("theorem", "lemma", "proposition", "corollary", "definition",
               "example", "remark", "algorithm", "property", "observation",
               "conjecture", "axiom", "criterion", "assumption", "condition")


# --- the build ------------------------------------------------------------------------

def _need_tools() -> None:
    missing = [t for t in POPPLER + build_pdf.LATEX_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: .ci/run installs poppler-utils, "
                    "texlive-xetex, texlive-latex-extra, texlive-fonts-extra, "
                    "texlive-fonts-recommended and latexmk")


@pytest.fixture(scope="module")
def pdf(built_book) -> Path:
    """``book.pdf``, built next to the session's HTML build, from its cache."""
    _need_tools()
    out = built_book.parents[1]  # <out>/_build/html
    config, _ = offline_config()  # the configuration built_book used, if it could
    try:
        return build_pdf.build(out, config)
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:page_count(pdf)]


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def _flat(text: str) -> str:
    """Text for comparisons: typographic quotes and dashes plain, spaces collapsed."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2010", "-")
    text = re.sub(r"-\n\s*", "-", text)  # a title broken at its hyphen
    return " ".join(text.split())


# --- the sources ----------------------------------------------------------------------

def _cells(doc: str) -> list[dict]:
    source = ROOT / f"{doc}.ipynb"
    if source.exists():
        return json.loads(source.read_text())["cells"]
    return [{"cell_type": "markdown", "source": (ROOT / f"{doc}.md").read_text(),
             "metadata": {}}]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def printed_code(toc_files: list[str]) -> str:
    """The code a reader sees in the book: code cells shown, code in backticks."""
    parts = []
    for doc in toc_files:
        for cell in _cells(doc):
            text = _source(cell)
            if cell["cell_type"] == "code":
                if not NOT_PRINTED & set(cell.get("metadata", {}).get("tags", [])):
                    parts.append(text)
            elif cell["cell_type"] == "markdown":
                parts.extend(m.group(2) for m in BACKTICKS.finditer(text))
    return "\n".join(parts)


def title_of(doc: str) -> str:
    """A document's title, up to its first formula or markup."""
    for cell in _cells(doc):
        if cell["cell_type"] != "markdown":
            continue
        match = re.search(r"^# (.+)$", _source(cell), re.MULTILINE)
        if match:
            return re.split(r"[$`*{]", match.group(1))[0].strip()
    raise AssertionError(f"{doc} has no title")


def directives(toc_files: list[str], name: str) -> int:
    """How many ``{name}`` directives (backtick or colon fences) the sources hold."""
    fence = re.compile(r"^\s*(?:```+|:::+)\{" + re.escape(name) + r"\}", re.MULTILINE)
    return sum(len(fence.findall(_source(cell))) for doc in toc_files
               for cell in _cells(doc) if cell["cell_type"] == "markdown")


# --- the PDF --------------------------------------------------------------------------

@pytest.mark.slow
def test_page_count_is_sane(pdf, pages):
    count = page_count(pdf)
    words = sum(len(page.split()) for page in pages)
    low, high = WORDS_PER_PAGE
    print(f"book.pdf: {count} pages, {words} words, {words / count:.0f} words per page")
    assert count >= MIN_PAGES, f"only {count} pages"
    assert low <= words / count <= high, (
        f"{words} words on {count} pages: {words / count:.0f} a page, expected "
        f"{low}-{high}")
    assert not [i + 1 for i, page in enumerate(pages) if not page.strip()], \
        "blank pages"


@pytest.mark.slow
def test_every_document_of_the_toc_is_in_order(pages, toc_files):
    text = _flat("\n".join(pages)).casefold()  # chapter headings are set in capitals
    # the root document's title heads the title page; the other titles are listed in
    # the table of contents, then head their chapters in the order of the toc
    assert _flat(title_of(toc_files[0])) in _flat(pages[0]), "title page"
    contents = text.find(_flat(title_of(toc_files[-1])).casefold())
    assert contents >= 0, "no table of contents"
    position, missing = contents + 1, []
    for doc in toc_files[1:]:
        found = text.find(_flat(title_of(doc)).casefold(), position)
        if found < 0:
            missing.append(doc)
        else:
            position = found
    assert not missing, f"not in the PDF in the order of the toc: {missing}"


@pytest.mark.slow
def test_no_page_shows_raw_tex_or_reprs(pages, toc_files):
    code = printed_code(toc_files)
    problems = []
    for needle in RAW:
        where = [i + 1 for i, page in enumerate(pages) if needle in page]
        found = sum(page.count(needle) for page in pages)
        allowed = code.count(needle)
        if found > allowed:
            problems.append(f"{needle!r}: {found} times (the printed code has "
                            f"{allowed}), pages {where[:12]}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_figures_are_embedded(pdf, built_book):
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    images = sum(1 for row in listing if row.split()[2] == "image")
    tex = (pdf.parent / build_pdf.TEX_NAME).read_text()
    included = tex.count(r"\sphinxincludegraphics")
    html_images = [p for p in (built_book / "_images").iterdir() if p.is_file()]
    print(f"{images} images in the PDF, {included} in the LaTeX, "
          f"{len(html_images)} in the HTML")
    assert included >= len(html_images) > 0, "figures of the HTML missing in the LaTeX"
    assert images >= included, "figures of the LaTeX not embedded in the PDF"


@pytest.mark.slow
def test_figures_equations_and_boxes_are_numbered_per_chapter(pages, toc_files):
    text = "\n".join(pages)
    chapters = sum(1 for doc in toc_files if (ROOT / f"{doc}.ipynb").exists())
    captions = [tuple(map(int, m)) for m in re.findall(r"^Fig\. (\d+)\.(\d+):", text,
                                                       re.MULTILINE)]
    assert captions, "no numbered figure captions"
    by_chapter: dict[int, list[int]] = {}
    for chapter, number in captions:
        by_chapter.setdefault(chapter, []).append(number)
    for chapter, numbers in by_chapter.items():
        assert 1 <= chapter <= chapters, f"figure numbered in chapter {chapter}"
        assert numbers == list(range(1, len(numbers) + 1)), (chapter, numbers)
    assert re.search(r"^\(1\.1\)$", text, re.MULTILINE), "no equation (1.1)"
    # an equation's number stands on a line of its own (pdftotext)
    equations = {int(c) for c in re.findall(r"^\((\d+)\.\d+\)$", text, re.MULTILINE)}
    assert equations <= set(range(1, chapters + 1)), sorted(equations)
    exercises = set(re.findall(r"Exercise (\d+\.\d+)", text))
    assert len(exercises) == directives(toc_files, "exercise") > 0, sorted(exercises)
    solutions = set(re.findall(r"Solution to Exercise (\d+\.\d+)", text))
    assert solutions <= exercises and len(solutions) == directives(toc_files,
                                                                    "solution")
    boxes = {(kind, n) for kind in PROOF_KINDS for n in re.findall(
        kind.capitalize() + r" (\d+\.\d+)", text)}
    expected = sum(directives(toc_files, f"prf:{kind}") for kind in PROOF_KINDS)
    assert len(boxes) == expected > 0, sorted(boxes)
    proofs = sum(page.count("Proof.") for page in pages)
    assert proofs >= directives(toc_files, "prf:proof") > 0


@pytest.mark.slow
def test_bibliography_lists_every_reference(pages):
    from pybtex.database import parse_file

    # NFKC: the ligatures the PDF's fonts use (ﬁ, ﬃ) as letters
    text = unicodedata.normalize("NFKC", "".join(pages[-8:])).lower()
    text = re.sub(r"[^a-z0-9]", "", text)
    entries = parse_file(str(ROOT / "book" / "references.bib")).entries
    missing = []
    for key, entry in entries.items():
        title = re.sub(r"\\.|[{}]", "", entry.fields.get("title", key))
        words = re.sub(r"[^a-z0-9]", "", " ".join(title.lower().split()[:5]))
        if words not in text:
            missing.append(key)
    assert not missing, f"not in the bibliography of the PDF: {missing}"


@pytest.mark.slow
def test_widgets_print_as_figures_and_a_note(pdf, pages):
    tex = (pdf.parent / build_pdf.TEX_NAME).read_text()
    widgets = tex.count(r"\begin{sphinxuseclass}{" + ngd_book_pdf.NOTE_CLASS + "}")
    notes = sum(page.count("The controls move in the online book") for page in pages)
    assert widgets > 0 and notes == widgets
    assert "Interactive figure" in "".join(pages)  # an Output widget's saved figure


@pytest.mark.slow
def test_preamble_defines_the_mathjax_macros(pdf):
    import yaml

    macros = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"][
        "mathjax3_config"]["tex"]["macros"]
    tex = (pdf.parent / build_pdf.TEX_NAME).read_text()
    preamble = tex[:tex.index(r"\begin{document}")]
    for line in ngd_book_pdf.latex_macros(macros).splitlines():
        assert line in preamble


# --- fast checks of the extension -----------------------------------------------------

@pytest.mark.parametrize("bad", [{"R2": "x"}, {"a-b": "x"}, {"R": 3}, {"R": ["x"]}])
def test_latex_macros_refuses_what_latex_cannot_define(bad):
    with pytest.raises(ValueError, match="macro"):
        ngd_book_pdf.latex_macros(bad)


def test_latex_macros_with_arguments():
    assert ngd_book_pdf.latex_macros({"abs": [r"\lvert #1\rvert", 1, "x"]}) == (
        r"\providecommand{\abs}{}\renewcommand{\abs}[1][x]{\lvert #1\rvert}")


def test_log_problems_finds_errors_references_and_missing_characters():
    log = ("! Undefined control sequence.\nLaTeX Warning: Reference `x' on page 3 "
           "undefined on input line 9.\nMissing character: There is no ≈ in font x!\n"
           "LaTeX Warning: Citation `y' on page 1 undefined on input line 2.\n"
           "Package hyperref Warning: Token not allowed in a PDF string\n")
    assert len(build_pdf.log_problems(log)) == 4


def _menu(pdf: str) -> tuple[dict, dict]:
    class Env:
        ngd_book_pdf = pdf

    class App:
        env = Env()

    group = {"label": "download-buttons", "buttons": [
        {"label": "download-source-button", "type": "link"},
        {"label": "download-pdf-button", "type": "javascript",
         "javascript": "window.print()", "text": ".pdf", "icon": "fas fa-file-pdf"}]}
    context = {"header_buttons": [group], "pathto": lambda name, resource: f"../{name}"}
    ngd_book_pdf.pdf_button(App(), "book/x", "page.html", context, None)
    return group, {b["label"]: b for b in group["buttons"]}


def test_pdf_button_links_the_book_pdf_when_there_is_one():
    group, buttons = _menu("/somewhere/_build/latex/book.pdf")
    book = buttons["download-book-pdf-button"]
    assert book["type"] == "link" and book["url"] == "../book.pdf"
    assert buttons["download-pdf-button"]["javascript"] == "window.print()"
    assert "print" in buttons["download-pdf-button"]["text"]


def test_pdf_button_says_it_prints_the_page_without_a_pdf():
    group, buttons = _menu("")
    assert "download-book-pdf-button" not in buttons
    assert buttons["download-pdf-button"]["tooltip"].startswith("Print this page")


# --- the printed HTML -----------------------------------------------------------------

def _html(built_book: Path, doc: str) -> str:
    return (built_book / f"{doc}.html").read_text()


def _h1_text(fragment: str) -> str:
    text = re.sub(r"<a class=\"headerlink\".*?</a>", "", fragment, flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", "", text).split())


@pytest.mark.slow
def test_print_css_and_numbered_printed_titles(built_book, toc_files):
    css = re.compile(r'<link[^>]+href="[^"]*_static/print\.css[^"]*"[^>]*>')
    problems = []
    for doc in toc_files:
        html = _html(built_book, doc)
        link = css.search(html)
        if not link or 'media="print"' not in link.group(0):
            problems.append(f"{doc}: print.css not linked for print")
        printed = re.search(r'id="jb-print-docs-body".*?<h1>(.*?)</h1>', html,
                            re.DOTALL)
        article = re.search(r'<article class="bd-article">.*?<h1>(.*?)</h1>', html,
                            re.DOTALL)
        if printed and article:
            shown, real = _h1_text(printed.group(1)), _h1_text(article.group(1))
            if shown != real:
                problems.append(f"{doc}: printed title {shown!r}, page title {real!r}")
    assert not problems, "\n".join(problems)
    chapter_1 = _html(built_book, next(d for d in toc_files if "/01_" in d))
    printed = re.search(r'id="jb-print-docs-body".*?<h1>(.*?)</h1>', chapter_1,
                        re.DOTALL)
    assert _h1_text(printed.group(1)).startswith("1. ")


PRINT_FACTS = """() => {
  const shown = (el) => getComputedStyle(el).display !== "none"
    && [...document.querySelectorAll(".onlyprint, .noprint, .bd-article")]
       .every((box) => !box.contains(el) || getComputedStyle(box).display !== "none");
  const style = (sel) => [...document.querySelectorAll(sel)]
    .map((el) => getComputedStyle(el).breakInside);
  return {
    titles: [...document.querySelectorAll("h1")].filter(shown)
      .map((h) => h.innerText.replace(/#$/, "").trim()),
    cells: style(".bd-article div.cell"),
    figures: style(".bd-article figure"),
  };
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_printed_chapter_keeps_cells_whole_and_its_number(built_book, toc_files):
    """Chromium in print mode: what its print dialog (and "print page") lays out."""
    from playwright.sync_api import sync_playwright

    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is needed (.ci/run installs it)")
    doc = next(d for d in toc_files if "/01_" in d)
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=chromium,
                                       args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto((built_book / f"{doc}.html").as_uri(), wait_until="load")
            page.emulate_media(media="print")
            facts = page.evaluate(PRINT_FACTS)
        finally:
            browser.close()
    assert len(facts["titles"]) == 1 and facts["titles"][0].startswith("1. "), facts
    assert facts["cells"] and set(facts["cells"]) == {"avoid"}, facts["cells"]
    assert facts["figures"] and set(facts["figures"]) == {"avoid"}, facts["figures"]
