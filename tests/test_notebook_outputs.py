"""Committed notebooks store outputs only in the cells that nbval checks."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT

CHECK_MARKERS = ("NBVAL_CHECK_OUTPUT",)
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _is_checked(cell) -> bool:
    return any(marker in cell.source for marker in CHECK_MARKERS)


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, "no notebooks under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_checked_cells_store_outputs(path):
    nb = nbformat.read(path, as_version=4)
    offenders = [
        i for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.get("outputs") and not _is_checked(cell)
    ]
    assert not offenders, (
        f"{path.name}: cells {offenders} store outputs nbval never checks"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_cells_store_the_outputs_they_check(path):
    nb = nbformat.read(path, as_version=4)
    empty = [
        i for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and _is_checked(cell) and not cell.get("outputs")
    ]
    assert not empty, (
        f"{path.name}: cells {empty} are marked NBVAL_CHECK_OUTPUT but store no "
        "output, so nbval compares nothing. Run "
        "`python tools/store_checked_outputs.py` on the notebook."
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_seeded_and_import_the_library(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import ngd_lib as ngd" in code
    if "rng" in code or "random" in code:
        assert "default_rng(" in code, f"{path.name} uses randomness without a seed"
