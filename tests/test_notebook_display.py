"""ngd_lib.notebook.print_math and MathLine: SymPy results typeset, text as print."""

from __future__ import annotations

import pytest
import sympy as sp

from ngd_lib.notebook import MathLine


def test_plain_text_is_what_print_writes(capsys):
    mu, sigma = sp.symbols("mu sigma")
    parts = ("F in (mu, sigma) :", sp.Matrix([[1 / sigma**2, 0], [0, 2 / sigma**2]]),
             3, True)
    print(*parts)
    assert repr(MathLine(*parts)) == capsys.readouterr().out.rstrip("\n")
    assert repr(MathLine("a", mu, sep=" | ")) == "a | mu"


def test_latex_sets_sympy_parts_as_math_and_text_as_text():
    x, mu, sigma = sp.symbols("x mu sigma")
    expr = (x - mu) ** 2 / (2 * sigma**2)
    latex = MathLine("log p = 50% of_this & more:", expr)._repr_latex_()
    assert latex.startswith("$\\displaystyle ") and latex.endswith("$")
    assert sp.latex(expr) in latex
    assert r"\text{log p = 50\% of\_this \& more:}" in latex
    assert "**" not in latex  # no Python power notation left


def test_lists_of_sympy_results_are_math():
    k = sp.Symbol("k")
    latex = MathLine("roots", [k - 1, k + 1])._repr_latex_()
    assert sp.latex([k - 1, k + 1]) in latex
    assert r"\text{[k - 1" not in latex


def test_sep_must_be_a_string():
    with pytest.raises(TypeError, match="sep must be a string"):
        MathLine("a", sep=1)
