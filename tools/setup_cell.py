"""Put the current "run anywhere" setup cell first in every chapter (idempotent).

Usage:
    python tools/setup_cell.py              # update every chapter of _toc.yml
    python tools/setup_cell.py --check      # exit 1 if a chapter's cell is missing/old
    python tools/setup_cell.py book/NN.ipynb ...

Every chapter starts with the same short code cell, tagged ``remove-cell`` (the
rendered book hides it), that lets the chapter run outside the book's environment:

* it installs ``ngd_lib`` when the kernel lacks it: from ``$NGD_LIB_SPEC`` when that is
  set (a wheel's path or any pip requirement; the bare-kernel test points it at a
  wheel of the checkout), in the browser (JupyterLite, ``sys.platform ==
  "emscripten"``) from the site's own wheels, and otherwise (Colab) from the
  published repository at the tag of this version (``_config.yml``'s repository url,
  ``v`` + the version in pyproject.toml);
* it makes ``from myst_nb import glue`` work without myst_nb
  (:func:`ngd_lib.notebook.ensure_glue`).

The cell is found by its metadata (``"ngd_setup": true``) and replaced when it differs
from :func:`setup_source`; a notebook whose cell is current is not rewritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "ngd-setup"
MARKER = "ngd_setup"

TEMPLATE = '''\
# Setup: lets this chapter run anywhere (Colab, Binder, JupyterLite, a bare Python).
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("ngd_lib") is None:  # install the book's library
    if sys.platform == "emscripten":  # in the browser: wheels served by the site
        %pip install -q ngd_lib[chapters]
    else:  # NGD_LIB_SPEC: a wheel or any pip requirement; else the published release
        spec = os.environ.get("NGD_LIB_SPEC") or (
            "{default_spec}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", spec], check=True)
    importlib.invalidate_caches()
from ngd_lib.notebook import ensure_glue; ensure_glue()  # glue() without myst_nb'''


def default_spec() -> str:
    """``ngd_lib[chapters] @ git+<repository>@v<version>`` from the book's config."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    return f"ngd_lib[chapters] @ git+{url}@v{version}"


def setup_source() -> str:
    return TEMPLATE.format(default_spec=default_spec())


def new_cell():
    cell = nbformat.v4.new_code_cell(setup_source())
    cell.id = CELL_ID
    cell.metadata = {"tags": ["remove-cell"], MARKER: True}
    return cell


def is_setup_cell(cell) -> bool:
    metadata = cell.get("metadata", {})
    return cell.get("cell_type") == "code" and bool(metadata.get(MARKER))


def is_current(nb) -> bool:
    cells = nb.cells
    if not cells or sum(map(is_setup_cell, cells)) != 1 or not is_setup_cell(cells[0]):
        return False
    first = cells[0]
    return (first.source == setup_source() and not first.get("outputs")
            and first.get("execution_count") is None
            and "remove-cell" in first.metadata.get("tags", []))


def update(path: Path) -> bool:
    """Make ``path``'s first cell the current setup cell; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    if is_current(nb):
        return False
    nb.cells = [new_cell(), *(c for c in nb.cells if not is_setup_cell(c))]
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return True


def toc_documents(root: Path = ROOT) -> list[str]:
    """The documents of ``root``'s table of contents, in order, without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            files.append(chapter["file"])
            files.extend(s["file"] for s in chapter.get("sections", []))
    return files


def chapters(root: Path = ROOT) -> list[Path]:
    """The notebooks of ``root``'s table of contents, in order."""
    return [root / f"{f}.ipynb" for f in toc_documents(root)
            if (root / f"{f}.ipynb").exists()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="only report chapters whose setup cell is missing or old")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="book root whose _toc.yml lists the chapters")
    args = parser.parse_args(argv)
    paths = args.notebooks or chapters(args.root)
    if args.check:
        stale = [p for p in paths if not is_current(nbformat.read(p, as_version=4))]
        for p in stale:
            print(f"{p}: setup cell missing or out of date (run tools/setup_cell.py)")
        return 1 if stale else 0
    for path in paths:
        print(f"{path}: {'updated' if update(path) else 'current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
