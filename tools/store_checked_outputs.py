"""Execute chapter notebooks and keep only the outputs that nbval checks.

Usage: python tools/store_checked_outputs.py book/01_ill_conditioning.ipynb [...]

Each notebook runs top to bottom in a fresh kernel with ``book/`` as the working
directory (as MyST-NB runs it). Cells whose source contains ``NBVAL_CHECK_OUTPUT`` keep
their outputs (these are what nbval compares); every other cell is stripped of outputs
and execution counts (checked cells are numbered 1, 2, ... as nbval needs), and
notebook-level widget state is dropped. ``--strip`` only
strips, without executing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARKER = "NBVAL_CHECK_OUTPUT"


def strip(nb) -> None:
    # nbval treats a cell with outputs but no execution count as "unrun", so the
    # checked cells are numbered 1, 2, ... and every other cell is cleared.
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if MARKER in cell.source:
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
        else:
            cell.execution_count = None
            cell.outputs = []
    nb.metadata.pop("widgets", None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--strip", action="store_true", help="only strip, do not run")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if not args.strip:
            client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(path.parent)}})
            client.execute()
        strip(nb)
        nbformat.write(nb, path)
        kept = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("outputs"))
        print(f"{path}: kept outputs of {kept} checked cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
