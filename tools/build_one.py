"""Build a scratch book of intro + notation + the given chapters, warnings as errors.

Usage: python tools/build_one.py book/01_ill_conditioning.ipynb [...] [--out DIR]

For authors: checks one chapter's build (execution, MyST, citations, exercises)
without executing the whole book. Cross-references to chapters left out will warn
(the landing page's links to them are turned into text).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    src = Path(tempfile.mkdtemp(prefix="ngd-book-src-"))
    shutil.copy(ROOT / "_config.yml", src / "_config.yml")
    shutil.copytree(ROOT / "book", src / "book")
    built = {p.stem for p in args.chapters} | {"notation", "bibliography"}
    # the landing page links every page: links to pages left out become text
    intro = src / "book" / "intro.md"
    intro.write_text(re.sub(
        r"\[([^\]]*)\]\((\w+)\.(?:ipynb|md)\)",
        lambda m: m.group(0) if m.group(2) in built else m.group(1),
        intro.read_text()))
    fixed = ("notation", "bibliography")
    entries = "".join(f"      - file: book/{p.stem}\n" for p in args.chapters
                      if p.stem not in fixed)
    (src / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\noptions:\n  numbered: true\nparts:\n"
        "  - caption: Chapters\n    chapters:\n" + entries
        + "      - file: book/notation\n      - file: book/bibliography\n"
    )
    out = args.out or Path(tempfile.mkdtemp(prefix="ngd-book-out-"))
    jb = Path(sys.executable).with_name("jupyter-book")
    # Not Agg: in a kernel it would replace the inline backend and drop the figures.
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    proc = subprocess.run([str(jb), "build", str(src), "--path-output", str(out),
                           "-W", "-n", "--keep-going"], env=env)
    print(f"\nHTML in {out / '_build' / 'html'} (exit {proc.returncode})")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
