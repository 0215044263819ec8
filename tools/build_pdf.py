"""Build the book's PDF: Sphinx's LaTeX builder (through jupyter-book), then XeLaTeX.

Usage: python tools/build_pdf.py [--path-output DIR] [--config FILE]

Writes ``<DIR>/_build/latex/book.pdf`` (DIR defaults to the repository, as for
``make book``) and prints its path. The notebooks run through the same execution
cache as the HTML build (``<DIR>/_build/.jupyter_cache``), so after ``make book``
only the LaTeX stage runs. Strict, like the HTML build: Sphinx runs with
``-W -n --keep-going``, and the PDF fails if LaTeX reports an error, an undefined
reference or citation, or a character missing from the fonts (which XeLaTeX would
otherwise drop silently). Needs Debian's texlive-xetex, texlive-latex-extra,
texlive-fonts-extra and latexmk (``.ci/run`` installs them).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEX_NAME = "book.tex"
# What the final LaTeX run must not report (latexmk reruns until references settle).
LOG_PROBLEMS = re.compile(
    r"^(?:! .*|LaTeX Warning: (?:Reference|Citation|Hyper reference) .* undefined.*"
    r"|Missing character: .*)$", re.MULTILINE)
LATEX_TOOLS = ("xelatex", "latexmk", "makeindex")


def sphinx_latex(path_output: Path, config: Path | None) -> subprocess.CompletedProcess:
    """Run ``jupyter-book build --builder latex`` (warnings as errors)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    # Not Agg: in a kernel it would replace the inline backend and drop the figures.
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT),
           "--builder", "latex", "--path-output", str(path_output),
           "-W", "-n", "--keep-going"]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)


def xelatex(latex_dir: Path) -> subprocess.CompletedProcess:
    """Run latexmk (XeLaTeX, the Sphinx-written latexmkrc) on ``book.tex``."""
    return subprocess.run(
        ["latexmk", "-pdf", "-dvi-", "-ps-", "-g", "-interaction=nonstopmode",
         "-halt-on-error", TEX_NAME],
        cwd=latex_dir, capture_output=True, text=True, timeout=1200)


def log_problems(log: str) -> list[str]:
    """Errors, undefined references and missing characters in a LaTeX log."""
    return sorted(set(m.group(0).strip() for m in LOG_PROBLEMS.finditer(log)))


def build(path_output: Path, config: Path | None = None) -> Path:
    """Build the PDF; return its path. Raises RuntimeError with the reason."""
    missing = [tool for tool in LATEX_TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not found: install Debian's texlive-xetex "
            "texlive-latex-extra texlive-fonts-extra latexmk (.ci/run does)")
    proc = sphinx_latex(path_output, config)
    latex_dir = path_output / "_build" / "latex"
    if proc.returncode != 0 or not (latex_dir / TEX_NAME).is_file():
        raise RuntimeError("jupyter-book build --builder latex failed:\n"
                           + proc.stdout[-6000:] + "\n" + proc.stderr[-6000:])
    pdf = latex_dir / TEX_NAME.replace(".tex", ".pdf")
    pdf.unlink(missing_ok=True)
    proc = xelatex(latex_dir)
    log_file = latex_dir / TEX_NAME.replace(".tex", ".log")
    log = log_file.read_text(errors="replace") if log_file.is_file() else ""
    problems = log_problems(log)
    if proc.returncode != 0 or not pdf.is_file() or problems:
        raise RuntimeError(
            f"latexmk failed (exit {proc.returncode}); see {log_file}\n"
            + "\n".join(problems[:40]) + "\n" + proc.stdout[-3000:])
    return pdf


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-output", type=Path, default=ROOT,
                        help="build into DIR/_build (default: the repository)")
    parser.add_argument("--config", type=Path, default=None,
                        help="another _config.yml (as jupyter-book build --config)")
    args = parser.parse_args(argv)
    try:
        pdf = build(args.path_output.resolve(), args.config)
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    print(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
