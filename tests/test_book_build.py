"""The book builds with warnings as errors, and a raising cell fails build and tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_book_config, run_build

pytestmark = pytest.mark.slow


def test_book_builds_without_warnings_or_cell_errors(built_book, toc_files):
    # built_book fails the test on any warning or cell error; here we check it made
    # one page per entry of the table of contents.
    for doc in toc_files:
        page = built_book / f"{doc}.html"
        assert page.exists(), f"{page} missing from the build"
    assert (built_book / "index.html").exists()


def _raising_book(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    copy_book_config(tmp_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A chapter that breaks"),
        nbformat.v4.new_code_cell(
            "raise RuntimeError('this cell is broken on purpose')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "book" / "broken.ipynb")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n\nA scratch book.\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/broken\n"
    )
    # The scratch book cites nothing; keep the bibliography extension quiet.
    return tmp_path


def test_cell_that_raises_fails_the_book_build(tmp_path):
    book = _raising_book(tmp_path / "src")
    proc = run_build(book, tmp_path / "out")
    assert proc.returncode != 0
    assert "this cell is broken on purpose" in proc.stdout + proc.stderr


def test_cell_that_raises_fails_nbval(tmp_path):
    book = _raising_book(tmp_path / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "-p", "no:cacheprovider",
         str(book / "book" / "broken.ipynb")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout
    assert "1 failed" in proc.stdout


def test_repository_root_holds_the_book_config():
    assert (ROOT / "_config.yml").exists() and (ROOT / "_toc.yml").exists()
