"""Widgets on the static pages: their saved state, drawn as disabled HTML controls.

Loaded by ``ngd_run_anywhere`` (the book's local extension). On a page built from a
notebook, an ipywidgets output is a ``<script type="...widget-view+json">`` that the
widget manager (``embed-amd.js``, 4.4 MB) turns into live-looking sliders. Without a
kernel those sliders are dead: dragging one moves its readout, never the figure
(issue 13). Here every widget view is replaced, when the page is written, by what
the saved widget state shows, without any JavaScript:

* boxes (``HBox``, ``VBox``) become flex boxes that wrap on a narrow screen;
* sliders become ``<input type="range" disabled>`` with their label and readout,
  dropdowns ``<select disabled>``, other value widgets a disabled text field;
* an ``Output`` widget shows the outputs it saved (the figure for the saved
  settings, with the alt text of the cell's ``mystnb.image.alt`` metadata).

``ngd_run_anywhere`` adds the "launch to interact" note under each of them. When
every view of a page has been replaced, the page no longer loads the widget state,
require.js or the widget manager.
"""

from __future__ import annotations

import html
import json
import math

from docutils import nodes
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MODEL_PREFIX = "IPY_MODEL_"
STATIC_CLASS = "ngd-static-widget"


def _readout(value, fmt: str | None) -> str:
    try:
        text = format(value, fmt.lstrip("~") if fmt else "")
    except (TypeError, ValueError):
        text = str(value)
    return text.replace("-", "\N{MINUS SIGN}")


class _Renderer:
    def __init__(self, state: dict, alt: str):
        self.state = state
        self.alt = alt
        self.images = 0

    def model(self, ref: str) -> dict:
        entry = self.state.get(ref.removeprefix(MODEL_PREFIX)) or {}
        return entry

    def render(self, ref: str) -> str:
        entry = self.model(ref)
        name = entry.get("model_name", "")
        st = entry.get("state", {})
        if name in {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel"}:
            kind = "vbox" if name == "VBoxModel" else "hbox"
            inner = "".join(self.render(c) for c in st.get("children", []))
            return f'<div class="ngd-widget-{kind}">{inner}</div>'
        if name == "OutputModel":
            return ('<div class="ngd-widget-output">'
                    + "".join(self.output(o) for o in st.get("outputs", [])) + "</div>")
        label = html.escape(st.get("description", ""))
        if name.endswith("SliderModel") and "RangeSlider" not in name:
            return self.slider(name, st, label)
        if name in {"DropdownModel", "SelectModel", "RadioButtonsModel",
                    "ToggleButtonsModel"}:
            options = st.get("_options_labels", [])
            index = st.get("index")
            opts = "".join(
                f'<option{" selected" if i == index else ""}>{html.escape(str(o))}'
                "</option>" for i, o in enumerate(options))
            return (f'<label class="ngd-widget-control"><span>{label}</span>'
                    f"<select disabled>{opts}</select></label>")
        if name in {"HTMLModel", "HTMLMathModel", "LabelModel"}:
            text = html.escape(str(st.get("value", "")))
            return f'<div class="ngd-widget-text">{text}</div>'
        if "value" in st:
            value = html.escape(str(st["value"]))
            return (f'<label class="ngd-widget-control"><span>{label}</span>'
                    f'<input type="text" value="{value}" disabled></label>')
        return ""

    def slider(self, name: str, st: dict, label: str) -> str:
        value, low, high = st.get("value", 0), st.get("min", 0), st.get("max", 1)
        step = st.get("step", 1) or 1
        position = value
        if name == "FloatLogSliderModel":  # the track runs over the exponent
            base = st.get("base", 10)
            position = math.log(value, base) if value and value > 0 else low
        readout = _readout(value, st.get("readout_format"))
        return (f'<label class="ngd-widget-control"><span>{label}</span>'
                f'<input type="range" min="{low}" max="{high}" step="{step}" '
                f'value="{position}" disabled aria-valuetext="{html.escape(readout)}">'
                f"<output>{html.escape(readout)}</output></label>")

    def output(self, out: dict) -> str:
        data = out.get("data", {}) if out.get("output_type") in {
            "display_data", "execute_result"} else {}
        for mime in ("image/png", "image/jpeg"):
            if mime in data:
                self.images += 1
                src = f"data:{mime};base64,{''.join(data[mime]).strip()}"
                meta = (out.get("metadata") or {}).get(mime) or {}
                size = "".join(f' {k}="{int(meta[k])}"' for k in ("width", "height")
                               if isinstance(meta.get(k), (int, float)))
                return (f'<img src="{src}" alt="{html.escape(self.alt)}"{size} '
                        'class="ngd-widget-figure">')
        if "image/svg+xml" in data:
            self.images += 1
            return "".join(data["image/svg+xml"])
        if out.get("output_type") == "stream":
            return f"<pre>{html.escape(''.join(out.get('text', '')))}</pre>"
        if "text/plain" in data:
            return f"<pre>{html.escape(''.join(data['text/plain']))}</pre>"
        return ""


def saved_state(env, docname: str) -> dict | None:
    """The page's saved widget state (model id -> model), or None if it has none."""
    js_files = getattr(env, "nb_metadata", {}).get(docname, {}).get("js_files", {})
    entry = js_files.get("ipywidgets_state")
    if not entry:
        return None
    body = entry[1].get("body", "")
    return json.loads(body.replace(r"<\/script>", "</script>")).get("state", {})


def _cell_alt(output: nodes.Element) -> str:
    cell = output.parent
    meta = cell.get("cell_metadata", {}) if isinstance(cell, nodes.Element) else {}
    return str(((meta.get("mystnb") or {}).get("image") or {}).get("alt", ""))


def replace_widget_views(app, doctree, docname) -> list[nodes.Element]:
    """Replace each widget view of ``docname`` by static HTML; return the outputs."""
    state = saved_state(app.env, docname)
    if state is None:
        return []
    replaced, left = [], 0
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if WIDGET_VIEW not in text:
            continue
        start, end = text.find(">") + 1, text.rfind("</script>")
        try:
            view = json.loads(text[start:end].replace(r"<\/script>", "</script>"))
            model_id = view["model_id"]
        except (ValueError, KeyError, TypeError):
            left += 1
            continue
        if model_id not in state:
            left += 1
            continue
        output = raw.parent
        while output is not None and "cell_output" not in output.get("classes", []):
            output = output.parent
        renderer = _Renderer(state, _cell_alt(output) if output is not None else "")
        body = renderer.render(model_id)
        if renderer.images and not renderer.alt:
            LOGGER.warning(
                "a widget's figure has no alt text: give its cell the metadata "
                "mystnb: {image: {alt: ...}}", location=(docname, raw.line))
        raw.parent.replace(raw, nodes.raw(
            "", f'<div class="{STATIC_CLASS}">{body}</div>', format="html"))
        if output is not None and output not in replaced:
            replaced.append(output)
    if not left:  # nothing left for the widget manager: the page does not load it
        js_files = app.env.nb_metadata[docname]["js_files"]
        for key in [k for k in js_files if k.startswith("ipywidgets_")]:
            del js_files[key]
    return replaced
