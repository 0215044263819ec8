"""Running the chapters outside the book's build (Colab, JupyterLite, a bare kernel).

The chapters import ``glue`` from ``myst_nb``, the Jupyter Book extension that puts
computed numbers into the text. Readers who open a chapter in Colab, Binder or the
browser do not have it, and need not: :func:`ensure_glue` (called by every chapter's
hidden first cell) registers a stand-in ``myst_nb`` module whose :func:`glue` shows
the value in the notebook instead, so ``from myst_nb import glue`` works everywhere.
Where the real ``myst_nb`` is installed nothing changes.

:func:`print_math` is ``print`` for lines that hold SymPy results: the notebook and
the book show the line as typeset math, and its plain text (what ``print`` would
write) stays in the output for nbval to compare.
"""

from __future__ import annotations

import importlib.util
import sys
import types

__all__ = ["glue", "ensure_glue", "uses_stand_in", "MathLine", "print_math"]

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


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$",
                   "&": r"\&", "#": r"\#", "%": r"\%", "_": r"\_",
                   "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _is_symbolic(part) -> bool:
    if hasattr(part, "_sympy_") or type(part).__module__.startswith("sympy"):
        return True
    return (isinstance(part, (list, tuple)) and bool(part)
            and all(_is_symbolic(p) or isinstance(p, (int, float)) for p in part)
            and any(_is_symbolic(p) for p in part))


def _text_latex(text: str) -> str:
    escaped = "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)
    return r"\text{" + escaped + "}" if escaped.strip() else r"\ "


class MathLine:
    r"""One output line of text and SymPy results, shown as math.

    Its plain text is what ``print(*parts, sep=sep)`` writes; its LaTeX
    (``_repr_latex_``, which Jupyter and the book render) sets each SymPy part with
    :func:`sympy.latex` and each other part as text.

    Parameters
    ----------
    *parts : object
        Strings, numbers and SymPy expressions or matrices (or lists of them).
    sep : str, keyword-only
        Separator, as for ``print``.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> line = MathLine("derivative:", sp.diff(x**3, x))
    >>> repr(line)
    'derivative: 3*x**2'
    >>> line._repr_latex_()
    '$\\displaystyle \\text{derivative:}\\ 3 x^{2}$'
    """

    def __init__(self, *parts, sep: str = " "):
        if not isinstance(sep, str):
            raise TypeError(f"sep must be a string; got {type(sep).__name__}.")
        self.parts = parts
        self.sep = sep

    def __repr__(self) -> str:
        return self.sep.join(str(part) for part in self.parts)

    def _repr_latex_(self) -> str:
        import sympy

        pieces = [sympy.latex(part) if _is_symbolic(part) else _text_latex(str(part))
                  for part in self.parts]
        glue_text = r"\ " if self.sep == " " else _text_latex(self.sep)
        return r"$\displaystyle " + glue_text.join(pieces) + "$"


def print_math(*parts, sep: str = " ") -> None:
    """Show ``parts`` as one line of math (``print`` for SymPy results).

    Displays a :class:`MathLine`: typeset in Jupyter and in the book, with the text
    of ``print(*parts)`` as its plain-text form.

    Examples
    --------
    >>> import sympy as sp
    >>> print_math("F =", sp.Matrix([[1, 0], [0, 2]]))
    F = Matrix([[1, 0], [0, 2]])
    """
    from IPython.display import display

    display(MathLine(*parts, sep=sep))
