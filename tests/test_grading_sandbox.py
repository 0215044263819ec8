"""Grading untrusted notebooks (issue 14): sandbox, limits, forgeries, data safety.

The slow tests grade whole classes with ``grade.py`` exactly as ``make grade`` does:
every attack of ``grading_attacks.py`` next to honest classmates in ONE run with two
parallel sandboxes and a short per-cell limit. They assert the classmates' scores and
files, each attacker's score and flags, the time, that no process and no temporary
folder outlives grading, and that no secret reaches the CSV.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import sympy as sp
from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import grade  # noqa: E402
import grading_attacks as attacks  # noqa: E402
import release  # noqa: E402
import sandbox  # noqa: E402
from ngd_grading import plain  # noqa: E402

HW1, HW2 = "hw1_conditioning_and_fisher", "hw2_natural_gradient"
LIMIT = 5  # seconds per cell in these tests
HAS_BWRAP = shutil.which("bwrap") is not None


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_hashes(folder: Path) -> dict[str, tuple[str, float]]:
    return {
        p.name: (sha(p), p.stat().st_mtime) for p in folder.iterdir() if p.is_file()
    }


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def grading_leftovers(tmpdir: Path, uid_base: int) -> tuple[set[str], set[int]]:
    """Scratch folders left in ``tmpdir`` and live processes of this run's uids."""
    folders = {p.name for p in tmpdir.iterdir()}
    procs = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        uid = next(
            (int(line.split()[1]) for line in status.splitlines()
             if line.startswith("Uid:")),
            0,
        )
        if uid_base <= uid < uid_base + 1000 or str(tmpdir).encode() in cmdline:
            procs.add(int(proc.name))
    return folders, procs


def run_grade(name, submissions, out, dist, *extra, timeout=900, env=None):
    return subprocess.run(
        [
            sys.executable,
            str(TOOLS / "grade.py"),
            "--assignment",
            name,
            "--submissions",
            str(submissions),
            "--out",
            str(out),
            "--dist",
            str(dist),
            "--jobs",
            "2",
            "--cell-time-limit",
            str(LIMIT),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grading dist") / "assignments"
    for name in (HW1, HW2):
        release.release(name, out, run_tests=False, quiet=True)
    return out


def solutions(dist, name):
    return release.solutions_path(dist, name)


def blank(dist, name):
    return dist / name / "student" / f"{name}.ipynb"


# ------------------------------------------------------------ fast unit tests
def test_plain_data_round_trip_and_rejections():
    assert plain.decode(
        {
            "__ndarray__": [1.0, 2.0, {"__float__": "-inf"}, 4.0],
            "shape": [2, 2],
            "kind": "f",
        }
    ).tolist() == [[1, 2], [-np.inf, 4]]
    assert plain.decode({"__tuple__": [1, {"__npint__": 3}]}) == (1, 3)
    r, mu = sp.symbols("r mu", positive=True)
    expr = r * sp.log(r / (r + mu)) + sp.pi * sp.sqrt(2) + sp.Rational(1, 3)
    assert plain.decode({"__sympy__": sp.srepr(expr)}) == expr
    for hostile in (
        "__import__('os').system('id')",
        "Symbol('x').__class__",
        "Pow(Integer(10), Integer(10**9))",
        "(lambda: 1)()",
        "Add(*[Symbol('x')])",
        "Mul(Integer(2), Symbol('x', f=print))",
        "LyingSymbol('x')",
        # Eager SymPy evaluation that would hold the checker in one long C call:
        "factorial(Integer(100000000))",
        "gamma(Integer(10000000000))",
        "Pow(Pow(Pow(Integer(2), Integer(10000)), Integer(10000)), Integer(10000))",
        "Float('1.5', 100000000)",
        "Float('1e100000000000', precision=53)",
    ):
        value = plain.decode({"__sympy__": hostile})
        assert isinstance(value, plain.Opaque), hostile
        assert value != value and not (value == 0)
        with pytest.raises(TypeError):
            bool(value)
    with pytest.raises(plain.PlainDataError):
        plain.decode({"__ndarray__": [1.0], "shape": [3], "kind": "f"})
    with pytest.raises(plain.PlainDataError):
        plain.decode({"__pickle__": "gASV..."})


def test_a_relation_check_wants_the_values_too():
    # hw3 q3 once asked only that w be equal and g differ across two environments:
    # constants did that. A forged answer of constants must now fail.
    cells, _ = release.hidden_tests(release.master_path("hw3_policy_gradient"))
    namespace: dict = {}
    for source in cells["q3"]:
        exec(compile(source, "hw3 q3", "exec"), namespace)
    check = namespace["check_q3_natural_k_component_ignores_noise_and_start"]
    forged = {"w_quiet": np.zeros(2), "w_noisy": np.zeros(2),
              "g_quiet": np.array([0.0, 0.0]), "g_noisy": np.array([1.0, 0.0])}
    with pytest.raises(AssertionError):
        check([dict(forged), dict(forged)])


def test_a_flood_of_output_does_not_fill_the_graders_memory():
    import tracemalloc

    tracemalloc.start()
    try:
        result = sandbox.run(
            [
                "/bin/sh",
                "-c",
                "head -c 300000000 /dev/zero; head -c 300000000 /dev/zero >&2",
            ],
            timeout=120,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["returncode"] == 0
    assert len(result["stdout"]) == 2_000_000 and len(result["stderr"]) == 20_000
    assert peak < 50 * 2**20, peak  # communicate() held all 600 MB


def test_run_limit_does_not_grow_with_padding_cells():
    # 10,000 cells that each sleep just under the limit: the run limit stays
    # a multiple of the release's cells, not 10,000 x the limit.
    assert grade.run_steps(10_000, 5_000, 12, release_cells=30) == 60 + 24 + 12
    assert grade.run_steps(40, 8, 12, release_cells=30) == 40 + 8 + 12


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_a_sandbox_cgroup_limits_memory_and_processes_as_a_whole():
    group = sandbox.Cgroup(
        f"ngd-test-{os.getpid()}", memory=300 * 2**20, pids=40, cpus=1.0
    )
    if not group.available:
        pytest.skip(group.why)
    try:
        # Each process stays under any per-process limit; together they do not fit.
        code = (
            "import os, time\n"
            "kids = []\n"
            "for i in range(8):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        b = bytearray(100 * 2**20); time.sleep(5); os._exit(0)\n"
            "    kids.append(pid)\n"
            "codes = [os.waitpid(k, 0)[1] for k in kids]\n"
            "print(sum(1 for c in codes if c == 0))\n"
        )
        cmd = sandbox.bwrap_command(
            [sys.executable, "-c", code], ro={}, rw={}, env={"PATH": "/usr/bin"}
        )
        result = sandbox.run(group.wrap(cmd), timeout=60)
        assert result["stdout"].strip() != "8", result
        bomb = (
            "import os, time\nn = 0\ntry:\n    while True:\n"
            "        if os.fork() == 0:\n            time.sleep(30)\n"
            "        n += 1\nexcept OSError:\n    print(n)\n"
        )
        cmd = sandbox.bwrap_command(
            [sys.executable, "-c", bomb], ro={}, rw={}, env={"PATH": "/usr/bin"}
        )
        result = sandbox.run(group.wrap(cmd), timeout=60)
        assert 0 < int(result["stdout"].strip().splitlines()[0]) < 40, result
    finally:
        group.remove()
    assert not any(p.exists() for p in group.paths)


def test_hidden_cells_must_split_into_probe_and_check():
    good = (
        "# HIDDEN\ndef inputs_t():\n    return 2\n\n"
        "def probe_t(f):\n    return f(inputs_t())\n\n"
        "def check_t(answer):\n    expected = 4\n    assert answer == expected\n"
    )
    test = release.split_hidden_cell(good, "q1", "cell")
    assert test["names"] == ["f"] and test["test"] == "q1/t"
    assert "expected" not in test["probe_source"] and "inputs_t" in test["probe_source"]
    bad = {
        "module-level code": good + "x = 1\n",
        "no check": "# HIDDEN\ndef probe_t(f):\n    return f(1)\n",
        "check asserts nothing": "# HIDDEN\ndef probe_t(f):\n    return 1\n\n"
        "def check_t(answer):\n    return answer\n",
        "names differ": "# HIDDEN\ndef probe_a(f):\n    return 1\n\n"
        "def check_b(answer):\n    assert answer\n",
    }
    for why, source in bad.items():
        with pytest.raises(release.ReleaseError):
            release.split_hidden_cell(source, "q1", why)


def test_every_master_keeps_expected_values_out_of_the_kernel():
    """Whatever a master sends to the kernel holds no check_* code (all assignments)."""
    for name in release.available_assignments():
        _, tests = release.hidden_tests(release.master_path(name))
        assert tests, name
        for test in tests:
            assert "def check_" not in test["probe_source"], test["test"]
            assert "assert " not in test["probe_source"], test["test"]


def test_grading_refuses_without_bubblewrap(monkeypatch, tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a.ipynb").write_text("{}")
    monkeypatch.setattr(sandbox, "BWRAP", "bwrap-is-not-installed-here")
    code = grade.main(
        [
            "--assignment",
            HW2,
            "--submissions",
            str(folder),
            "--out",
            str(tmp_path / "x.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "bubblewrap (bwrap) is not installed" in err and "--unsafe-no-sandbox" in err
    assert not (tmp_path / "x.csv").exists()


def test_csv_cells_are_escaped_and_names_found(tmp_path):
    assert grade.escape_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert grade.escape_cell("+1") == "'+1" and grade.escape_cell("@x") == "'@x"
    assert grade.escape_cell("-3") == "-3" and grade.escape_cell("12") == "12"
    assert grade.sanitize("a\nb\x1b[31m" + "x" * 500).count("\n") == 0
    assert len(grade.sanitize("x" * 500)) == grade.ERROR_CHARS
    for name in ("A.IPYNB", "b.Zip", ".c.ipynb", "d.txt"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "sub").mkdir()
    found, warnings = grade.find_submissions(tmp_path)
    assert [p.name for p in found] == ["A.IPYNB", "b.Zip"]
    text = " ".join(warnings)
    assert ".c.ipynb" in text and "d.txt" in text and "sub/" in text


# ------------------------------------------------------------- slow: a class
@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_a_class_of_attackers_cannot_harm_classmates_or_forge(dist, tmp_path):
    folder = tmp_path / "class of 2026"
    expect = attacks.build_class(folder, solutions(dist, HW2), blank(dist, HW2))
    before = folder_hashes(folder)
    scratch = tmp_path / "grader tmp"
    scratch.mkdir()
    uid_base = 300_000_000 + (os.getpid() % 100_000) * 1000
    out = tmp_path / "grades" / "hw2.csv"
    start = time.monotonic()
    proc = run_grade(
        HW2, folder, out, dist,
        env={"TMPDIR": str(scratch), "NGD_KERNEL_UID_BASE": str(uid_base)},
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The output flood never reached the grader's memory (it read ~150 MB per second
    # of flood into memory before).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert peak < 600 * 2**20, peak
    rows = {row["submission"]: row for row in read_csv(out)}
    assert set(rows) == set(expect)
    table = []
    for name, want in expect.items():
        row = rows[name]
        table.append(f"{name}: {row['total']} [{row['flags']}] {row['seconds']} s")
        if "min_score" in want:
            assert float(row["total"]) >= want["min_score"], (name, row)
        else:
            assert float(row["total"]) == want["score"], (name, row)
        for flag in want["flags"]:
            assert flag in row["flags"], (name, flag, row["flags"])
        assert float(row["seconds"]) < 25 * LIMIT, (name, row["seconds"])
        assert len(row["error"]) <= grade.ERROR_CHARS
    print("\n".join(table))
    # Honest classmates: full (or their honest partial) marks, no flags.
    for name in ("honest_alice.ipynb", "honest_bob.ipynb", "honest_carol.ipynb"):
        assert rows[name]["flags"] == "" and rows[name]["error"] == "", rows[name]
    # The stopped kernels are reported.
    assert "kernel killed" in rows["disarm_c_call.ipynb"]["flags"]
    assert "kernel killed" in rows["disarm_ignore_signals.ipynb"]["flags"]
    assert "kernel exited" in rows["disarm_os_exit.ipynb"]["flags"]
    # Every original is intact, byte for byte and untouched.
    assert folder_hashes(folder) == before
    assert all(rows[n]["sha256"] == before[n][0] for n in rows)
    # Nothing outlives grading, not even the detached CSV rewriter.
    folders, procs = grading_leftovers(scratch, uid_base)
    assert not folders, folders
    assert not procs, procs
    text = out.read_text()
    time.sleep(10)  # the vandal's detached process would rewrite CSVs after 8 s
    assert out.read_text() == text
    # No secret in the CSV: no canary, no solution or hidden-test line.
    assert attacks.CANARY not in text
    for line in attacks.secrets_of(release.master_path(HW2)):
        assert line not in text, line
    assert elapsed < 400, elapsed
    assert "graded 19 submissions with 2 parallel sandbox(es)" in proc.stdout


SUBCLASS = r'''
import sympy as sp

class Agreeable(sp.Symbol):
    """A SymPy symbol that equals everything and evaluates to whatever is asked."""
    def __eq__(self, other):
        return True
    __hash__ = sp.Symbol.__hash__
    def subs(self, *args, **kwargs):
        return self
    def __float__(self):
        import sys
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals:
                return float(frame.f_locals["expected"])
            frame = frame.f_back
        return 0.0

kl_negative_binomial = Agreeable("r")
fisher_negative_binomial = Agreeable("r")
kl_cubic_coefficient = Agreeable("r")
'''


@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_a_lying_sympy_subclass_scores_nothing(dist, tmp_path):
    folder = tmp_path / "hw1 class"
    folder.mkdir()
    honest = nbformat.read(solutions(dist, HW1), as_version=4)
    nbformat.write(honest, folder / "honest.ipynb")
    liar = copy.deepcopy(honest)
    liar.cells.append(nbformat.v4.new_code_cell(SUBCLASS))
    nbformat.write(liar, folder / "liar.ipynb")
    out = tmp_path / "hw1.csv"
    proc = run_grade(HW1, folder, out, dist)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {row["student"]: row for row in read_csv(out)}
    assert float(rows["honest"]["total"]) == 10 and rows["honest"]["flags"] == ""
    assert float(rows["liar"]["q4"]) == 0.0
    assert float(rows["liar"]["total"]) == 6.0  # q1 and q2 stay honest
    assert "answer not plain data" in rows["liar"]["flags"]
    assert "frame access" in rows["liar"]["flags"]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_make_grade_names_duplicates_spaces_and_manual_columns(dist, tmp_path):
    folder = tmp_path / "my submissions (week 3)"
    folder.mkdir()
    shutil.copy(blank(dist, HW2), folder / "Upper.IPYNB")
    shutil.copy(blank(dist, HW2), folder / "=HYPERLINK(1).ipynb")
    with zipfile.ZipFile(folder / "alice.zip", "w") as zf:
        zf.write(blank(dist, HW2), arcname=f"{HW2}.ipynb")
    os.utime(folder / "alice.zip", (time.time() - 3600,) * 2)
    shutil.copy(solutions(dist, HW2), folder / "alice.ipynb")
    shutil.copy(blank(dist, HW2), folder / ".alice-backup.ipynb")
    (folder / "notes.txt").write_text("not a submission")
    before = folder_hashes(folder)
    out = tmp_path / "grade output" / "hw2 grades.csv"
    make = [
        shutil.which("make") or "make",
        "-s",
        "grade",
        f"ASSIGNMENT={HW2}",
        f"SUBMISSIONS={folder}",
        f"DIST={dist}",
        f"GRADES={out}",
        "JOBS=2",
    ]
    env = {**os.environ, "NGD_CELL_TIME_LIMIT": str(LIMIT)}
    proc = subprocess.run(
        make, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = read_csv(out)
    by_student = {row["student"]: row for row in rows}
    assert sorted(by_student) == ["'=HYPERLINK(1)", "Upper", "alice"]
    assert by_student["alice"]["submission"] == "alice.ipynb"  # the newer one
    assert float(by_student["alice"]["total"]) == 12
    assert "duplicate" in by_student["alice"]["flags"]
    assert "duplicate submissions for 'alice'" in proc.stdout
    assert ".alice-backup.ipynb is a hidden file" in proc.stdout
    assert "notes.txt is not a .ipynb or .zip file" in proc.stdout
    raw = out.read_text()
    assert "\n=" not in raw and ",=" not in raw
    assert folder_hashes(folder) == before
    # The grader fills in a written question, then grades again: it is kept.
    for row in rows:
        row["q5_manual"] = "2.5" if row["student"] == "alice" else ""
        row["comment"] = "see me" if row["student"] == "Upper" else ""
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    proc = subprocess.run(
        [
            sys.executable,
            str(TOOLS / "grade.py"),
            "--assignment",
            HW2,
            "--submissions",
            str(folder),
            "--out",
            str(out),
            "--dist",
            str(dist),
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    again = {row["student"]: row for row in read_csv(out)}
    assert again["alice"]["q5_manual"] == "2.5"
    assert again["Upper"]["comment"] == "see me"
    assert sorted(again) == sorted(by_student)


@pytest.mark.slow
@pytest.mark.skipif(
    not HAS_BWRAP or os.geteuid() != 0,
    reason="needs bubblewrap and root, as in Gradescope's container",
)
def test_the_same_zip_runs_in_the_gradescope_layout(dist, tmp_path):
    """/autograder/{source,submission,results} in a container-like sandbox (as root)."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(release.zip_path(dist, HW2)) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(solutions(dist, HW2), root / "submission" / "student work.ipynb")
    (root / "results").mkdir()
    cmd = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--die-with-parent",
        "--new-session",
        *(arg for path in ("/usr", "/etc") for arg in ("--ro-bind", path, path)),
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        *sandbox.python_binds(),
        "--bind",
        str(root),
        "/autograder",
        "--setenv",
        "NGD_PYTHON",
        sys.executable,
        "--setenv",
        "NGD_CELL_TIME_LIMIT",
        str(LIMIT),
        "--",
        "bash",
        "/autograder/source/run_autograder",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    scores = {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]}
    assert scores == {"q1": (3, 3), "q2": (3, 3), "q3": (3, 3), "q4": (3, 3)}
    assert results["score"] == 12
    assert oct((root / "source").stat().st_mode & 0o777) == "0o700"


@pytest.mark.slow
def test_unsafe_mode_grades_trusted_notebooks_and_says_so(dist, tmp_path):
    folder = tmp_path / "trusted"
    folder.mkdir()
    shutil.copy(solutions(dist, HW2), folder / "teacher.ipynb")
    out = tmp_path / "trusted.csv"
    proc = run_grade(HW2, folder, out, dist, "--unsafe-no-sandbox")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WITHOUT isolation" in proc.stderr
    (row,) = read_csv(out)
    assert float(row["total"]) == 12 and row["error"] == "", row
