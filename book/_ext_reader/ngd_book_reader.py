"""What the reader sees of the bibliography, the glued numbers and the Proof Index.

A local Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``):

1. **Author-year bibliography.** The text cites author-year ("Lin, 2019", through
   ``bibtex_reference_style: author_year``), but pybtex's default styles label the
   bibliography "[Lin19]". The pybtex formatting style ``ngd_authoryear``
   (``bibtex_default_style`` in ``_config.yml``) labels each entry as the text cites
   it: "Lin, 2019", "Peters and Schaal, 2008", "Martens et al., 2015" (a, b, ...
   when two entries would share a label), sorted by author, year and title.
2. **Glued numbers read like numbers.** ``{glue:text}`` pastes Python's text of a
   value: ``-0.82`` with a hyphen-minus, ``2.0e-04``. Every pasted number gets a real
   minus sign (U+2212) and a power of ten (``2.0 × 10⁻⁴``); a pasted float with more
   than six decimals (a missing format spec) is reported as a warning, which the
   book's ``-W`` build turns into an error.
3. **A Proof Index by title.** sphinx-proof lists theorems under their raw labels
   (``thm-best-fixed-step``); here they are grouped by kind and shown by their titles.
"""

from __future__ import annotations

import re

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

MINUS = "\u2212"
SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
LONG_DECIMALS = re.compile(r"\d\.\d{7,}")
# a MyST role in a directive's title: {cite:p}`key` (dropped), {math}`x` (kept as x)
CITE_ROLE = re.compile(r"\s*\{cite(?::\w+)?\}`[^`]*`")
ANY_ROLE = re.compile(r"\{[\w:-]+\}`([^`]*)`")


# ----------------------------------------------------------------- 1. bibliography
def _last_names(person) -> str:
    return " ".join(str(part) for part in person.rich_prelast_names
                    + person.rich_last_names) or str(person)


def author_year_label(entry) -> str:
    """The label of ``entry`` as the text cites it: "Lin, 2019"."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_names(p) for p in persons]
    if not names:
        who = entry.fields.get("key") or entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    who = re.sub(r"[{}]", "", str(who))
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """pybtex label style ``ngd_authoryear``: author-year labels, made unique."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        seen: dict[str, int] = {}
        for label in labels:
            if counts[label] == 1:
                yield label
            else:
                seen[label] = seen.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]


class AuthorYearStyle(UnsrtStyle):
    """pybtex formatting style ``ngd_authoryear``: unsrt entries, author-year labels."""

    default_label_style = "ngd_authoryear"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "ngd_authoryear", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "ngd_authoryear", AuthorYearStyle)


def _cite_years_with_suffix() -> None:
    """In-text author-year citations show the label's a/b suffix ("2008a") too."""
    from pybtex.richtext import Text
    from sphinxcontrib.bibtex.style import template
    from sphinxcontrib.bibtex.style.referencing import basic_author_year, extra_year

    plain_year = template.year

    @template.node
    def year(children, data):
        text = plain_year.format_data(data)
        entry = data.get("formatted_entry")
        found = re.search(r"\d{4}([a-z])$", getattr(entry, "label", "") or "")
        return Text(text, found.group(1)) if found else text

    basic_author_year.year = year
    extra_year.year = year


# ------------------------------------------------------------ 2. glued numbers
def _number(match: re.Match) -> str:
    text = match.group(0)
    mantissa, _, exponent = text.replace("E", "e").partition("e")
    if exponent:
        power = str(int(exponent)).translate(SUPERSCRIPT)
        text = f"{mantissa} × 10{power}"
    return text.replace("-", MINUS, 1) if text.startswith("-") else text


def typeset_number_text(text: str) -> str:
    """``text`` with every number given a real minus sign and a power of ten.

    >>> typeset_number_text("-0.82 and 2.0e-04")
    '−0.82 and 2.0 × 10⁻⁴'
    """
    return NUMBER.sub(_number, text)


class TypesetGluedNumbers(SphinxPostTransform):
    """Minus signs and powers of ten in the text that ``{glue:text}`` pasted."""

    default_priority = 900  # after myst-nb has pasted glue from other documents

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.inline):
            if "pasted-text" not in node.get("classes", []):
                continue
            text = node.astext()
            if LONG_DECIMALS.search(text):
                logger.warning(
                    f"glued text {text!r} shows a float unformatted: give the "
                    "{glue:text} role a format spec, e.g. {glue:text}`name:.3f`",
                    location=node, type="ngd", subtype="glue")
            new = typeset_number_text(text)
            if new != text:
                node.clear()  # (not `node.children = ...`: the Text needs its parent)
                node += nodes.Text(new)


# ------------------------------------------------------------- 3. proof index
def plain_title(title: str) -> str:
    """A theorem's title for the Proof Index: citations dropped, other roles' text.

    >>> plain_title("Fisher efficiency {cite:p}`amari1998natural`")
    'Fisher efficiency'
    >>> plain_title("The {term}`Fisher information` bound")
    'The Fisher information bound'
    """
    return ANY_ROLE.sub(r"\1", CITE_ROLE.sub("", title)).strip()


def _record_titles(app) -> None:
    from sphinx_proof import directive

    if getattr(directive.ElementDirective.run, "_ngd_titles", False):
        return
    run = directive.ElementDirective.run

    def run_and_record(self):
        result = run(self)
        label = self.options.get("label", "")
        entry = getattr(self.env, "proof_list", {}).get(label)
        if entry is not None:
            entry["title"] = plain_title(self.arguments[0]) if self.arguments else ""
        return result

    run_and_record._ngd_titles = True
    directive.ElementDirective.run = run_and_record

    from sphinx_proof.domain import ProofIndex

    def generate(index, docnames=None):
        proofs = getattr(index.domain.env, "proof_list", {})
        groups: dict[str, list] = {}
        for anchor, values in proofs.items():
            if docnames and values["docname"] not in docnames:
                continue
            kind = values["realtype"].capitalize()
            title = values.get("title") or anchor
            titles = getattr(index.domain.env, "titles", {})
            chapter = (titles[values["docname"]].astext()
                       if values["docname"] in titles else values["docname"])
            groups.setdefault(kind, []).append(
                (title, 0, values["docname"], anchor, chapter, "", kind))
        content = [(kind, sorted(entries, key=lambda e: (e[2], e[0].lower())))
                   for kind, entries in sorted(groups.items())]
        return content, True

    ProofIndex.generate = generate


def setup(app):
    _cite_years_with_suffix()
    app.add_post_transform(TypesetGluedNumbers)
    app.connect("builder-inited", _record_titles)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
