"""Running the chapters outside the book's build (Colab, JupyterLite, a bare kernel).

The chapters import ``glue`` from ``myst_nb``, the Jupyter Book extension that puts
computed numbers into the text. Readers who open a chapter in Colab, Binder or the
browser do not have it, and need not: :func:`ensure_glue` (called by every chapter's
hidden first cell) registers a stand-in ``myst_nb`` module whose :func:`glue` shows
the value in the notebook instead, so ``from myst_nb import glue`` works everywhere.
Where the real ``myst_nb`` is installed nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys
import types

__all__ = ["glue", "ensure_glue", "uses_stand_in"]

STAND_IN = "ngd_lib.notebook"


def glue(name: str, variable, display: bool = True) -> None:
    """Show ``variable`` in the notebook (the book puts it into the text instead).

    ``display=True`` shows the value as myst_nb does. ``display=False`` (the book
    shows it only where the text refers to it) shows a figure as a figure and any
    other value as one line ``name = value``, so a reader without the rendered book
    still sees the numbers the text quotes.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"glue: name must be a non-empty string; got {name!r}.")
    from IPython.display import display as show

    if display or _is_figure(variable):
        show(variable)
    else:
        print(f"{name} = {variable!r}")


def _is_figure(value) -> bool:
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(value, figure.Figure)


def ensure_glue() -> None:
    """Make ``from myst_nb import glue`` work (returns None: a notebook shows nothing).

    Does nothing when the real myst_nb can be imported; :func:`uses_stand_in` says
    which one ``myst_nb`` is.
    """
    if sys.modules.get("myst_nb") is not None:
        return
    if importlib.util.find_spec("myst_nb") is not None:
        return
    module = types.ModuleType(
        "myst_nb", "Stand-in for myst_nb (ngd_lib.notebook): glue() shows the value.")
    module.glue = glue
    module.__stand_in__ = STAND_IN
    sys.modules["myst_nb"] = module


def uses_stand_in() -> bool:
    """True if ``myst_nb`` in this process is the stand-in of :func:`ensure_glue`."""
    return getattr(sys.modules.get("myst_nb"), "__stand_in__", None) == STAND_IN
