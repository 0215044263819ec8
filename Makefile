# Two commands on a fresh machine (python3 >= 3.10, make, git):
#   make book   build the HTML book into _build/html
#   make test   run the whole test suite
# Both create .venv and install what they need first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

JB_FLAGS := -W -n --keep-going
ASSIGNMENT ?=
SUBMISSIONS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DIST ?= dist/assignments
GRADES ?= dist/grades/$(ASSIGNMENT).csv

.PHONY: help setup vendor book pdf test lab assignments grade benchmarks lint clean

help:
	@echo "make book         build the book into _build/html"
	@echo "make pdf          build the whole book as one PDF into _build/latex/book.pdf (needs TeX, see README)"
	@echo "make test         run the whole test suite (library, notebooks, build, assignments, browser)"
	@echo "make lab          open the chapters in JupyterLab (light install in .venv-lab)"
	@echo "make assignments  make student releases and autograders under dist/assignments/"
	@echo "make grade ASSIGNMENT=<name> SUBMISSIONS=<dir> [JOBS=N]   grade submissions, each in a sandbox"
	@echo "make benchmarks   run the speed benchmarks"
	@echo "make clean        remove build outputs (keeps .venv)"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@# The assignments' per-cell time-limit plugin, importable by a plain `otter run`.
	$(PY) -c 'import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()["purelib"], "ngd_assignment_plugins.pth").write_text(str(pathlib.Path("assignments/plugins").resolve()) + "\n")'
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@# The in-browser site (JupyterLite, Pyodide) the "run in your browser" links open.
	$(PY) tools/lite/build_lite.py --out _build/html/lite
	@echo
	@echo "The book is built. Open it with:"
	@echo "  $(abspath _build/html/index.html)"

# The PDF edition: Sphinx's LaTeX builder (through jupyter-book), then XeLaTeX (latexmk).
# Reuses the notebooks executed by `make book` (_build/.jupyter_cache). Needs Debian's
# texlive-xetex texlive-latex-extra texlive-fonts-extra texlive-fonts-recommended latexmk.
pdf: $(STAMP)
	$(PY) tools/build_pdf.py

# Pinned local copies of MathJax and the widget manager (npm) for the offline browser
# tests, under _build/vendor; `make book` keeps loading them from CDNs.
vendor: $(STAMP)
	$(PY) tools/fetch_vendor.py

test: $(STAMP) vendor
	$(PY) -m pytest -n 2 --dist loadscope --nbval-lax --nbval-cell-timeout=120 tests book

# The light student install (requirements-lab.txt), in its own .venv-lab.
LAB_VENV  := .venv-lab
LAB_STAMP := $(LAB_VENV)/.installed-stamp

$(LAB_STAMP): requirements-lab.txt pyproject.toml
	@test -x $(LAB_VENV)/bin/python || $(PYTHON) -m venv $(LAB_VENV)
	$(LAB_VENV)/bin/python -m pip install --quiet -r requirements-lab.txt
	@touch $(LAB_STAMP)

lab: $(LAB_STAMP)
	$(LAB_VENV)/bin/jupyter lab book

assignments: $(STAMP)
	$(PY) assignments/tools/release.py --all --out dist/assignments

grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || (echo "usage: make grade ASSIGNMENT=<name> SUBMISSIONS=<dir>"; exit 2)
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade ASSIGNMENT=<name> SUBMISSIONS=<dir>"; exit 2)
	$(PY) assignments/tools/grade.py --assignment "$(ASSIGNMENT)" --submissions "$(SUBMISSIONS)" \
		--dist "$(DIST)" --out "$(GRADES)" --jobs "$(JOBS)"

benchmarks: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check ngd_lib tests benchmarks tools assignments/tools assignments/plugins

clean:
	rm -rf _build dist .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
