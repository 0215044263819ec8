"""Grade a folder of untrusted submissions, each in its own sandbox, into one CSV.

Usage::

    python assignments/tools/grade.py --assignment <name> \\
        --submissions path/to/submissions --out dist/grades/<name>.csv [--jobs N]

What happens, in order:

1. **Find and secure the submissions.** Every file directly in the folder whose name
   ends in ``.ipynb`` or ``.zip`` (any case) is a submission; a ``.zip`` is read for the
   notebook ``grader.export()`` put in it. Dotfiles, subfolders and other files are not
   graded but reported. Each submission is hashed (SHA-256) and copied into a private
   staging folder before anything runs; the originals are never opened for writing, and
   their hashes are checked again at the end. Two files of one student (``alice.ipynb``
   and ``alice.zip``) give one row, graded from the newest, with a warning.
2. **Run each submission in a sandbox** (``sandbox.py``: bubblewrap), ``--jobs`` at a
   time: its own copy of the autograder and of the notebook, no network, no view of
   other submissions, the release folder, the solutions, the repository or the host's
   processes. Inside, a supervisor runs the notebook cell by cell in a kernel that has
   an unprivileged uid of its own and rlimits (CPU, memory, processes, file size);
   the per-cell limit is enforced by the supervisor (interrupt, then kill), and the
   whole run by this script (cells x limit + a margin). The kernel only *produces
   answers*: after each question's ``grader.check`` cell and at the end, the hidden
   tests' probes export the answers as plain data.
3. **Check the answers outside the kernel** (``ngd_grading/checker.py``), in a second
   sandbox that runs no student code, against the pristine hidden tests. Test-file
   hashes are verified after the run.
4. **Write the CSV**: one row per student, the points per autograded question,
   ``total``, ``possible``, the ``<question>_manual`` columns (kept from the previous
   CSV on a re-run), ``flags`` (what a human should look at: suspicious code, stopped
   cells, killed kernels, rejected answers, hash mismatches, duplicates), ``error`` (one
   sanitised line) and ``seconds``. Cells are escaped against formula injection.

Without bubblewrap the script refuses to grade; ``--unsafe-no-sandbox`` grades anyway
(trusted notebooks only: nothing then separates a submission from this machine).
For debugging the grader itself, ``NGD_GRADE_DEBUG=1`` prints the supervisor's and the
checker's output and ``NGD_GRADE_KEEP=1`` keeps each submission's scratch folder.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import release  # noqa: E402  (the sibling script)
import sandbox  # noqa: E402

DEFAULT_DIST = release.ROOT / "dist" / "assignments"
SUBMISSION_SUFFIXES = (".ipynb", ".zip")
RUN_MARGIN = 180.0  # seconds on top of steps x limit: kernel starts, the setup cell
CHECK_CALL = re.compile(r"""grader\.check\(\s*["']([^"']+)["']""")  # as the supervisor
CHECK_TIMEOUT = 600.0
MAX_NOTEBOOK_BYTES = 50 * 2**20
ERROR_CHARS = 160
KERNEL_UID_BASE = 200_000
# Limits on one sandbox as a whole (a cgroup, where the machine allows one).
SANDBOX_MEMORY = int(os.environ.get("NGD_SANDBOX_MEMORY", str(6 * 2**30)))
SANDBOX_PIDS = 512
SANDBOX_CPUS = 1.0
PYTHON = sys.executable

# Code a human should look at, scanned in the submission's own lines (the lines of the
# student release, such as ``import otter`` and ``grader.check("q1")``, are exempt).
SUSPICIOUS = {
    "otter internals": r"\botter\b|\bgrader\s*\.\s*(?!check\b|check_all\b|export\b)\w",
    "tests/": r"tests\s*[/\\]|['\"]tests['\"]",
    "signal": r"\bsignal\b|\balarm\s*\(",
    "pickle": r"\b(c?pickle|dill|cloudpickle|marshal|shelve)\b|__reduce",
    "frame access": r"_getframe|currentframe|\bf_back\b|\bf_locals\b|\bf_globals\b|"
    r"\btb_frame\b|\bgi_frame\b|inspect\s*\.\s*(stack|getouterframes|trace)",
    "builtins": r"\bbuiltins\b|__builtins__|__import__",
    "/proc": r"/proc\b|\bpsutil\b",
    "exit": r"\bos\s*\.\s*_exit\b|\bsys\s*\.\s*exit\b|(?<![\w.])(exit|quit)\s*\("
    r"|os\s*\.\s*abort",
    "processes": r"\bsubprocess\b|os\s*\.\s*(system|fork|kill|killpg|exec\w*|spawn\w*|"
    r"popen|setsid)\b|\bmultiprocessing\b|\bpty\b",
    "ctypes": r"\bctypes\b|\bcffi\b",
    "network": r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\b",
    "gc": r"\bgc\s*\.\s*(get_referrers|get_objects|get_referents)",
    "sys.modules": r"sys\s*\.\s*modules",
    "tracing": r"settrace|setprofile|addaudithook|sys\s*\.\s*monitoring",
    "kernel hooks": r"get_ipython|\bIPython\b|events\s*\.\s*register",
    "grading internals": r"__ngd|ngd_grading|answer\+json",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = re.compile(r"^-?\d+(\.\d+)?(e-?\d+)?$")


class GradingError(RuntimeError):
    """The command line cannot be carried out (unknown assignment, no submissions)."""


# ------------------------------------------------------------------ submissions
def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_submissions(folder: Path) -> tuple[list[Path], list[str]]:
    """The submission files directly inside ``folder`` and warnings about the rest."""
    if not folder.is_dir():
        raise GradingError(
            f"submissions folder {str(folder)!r} does not exist or is not "
            "a folder. Pass the folder that holds the submitted notebooks."
        )
    found, warnings = [], []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        looks = path.suffix.lower() in SUBMISSION_SUFFIXES
        if path.is_dir():
            if path.name != ".ipynb_checkpoints":
                warnings.append(
                    f"not graded: {path.name}/ is a folder (put the "
                    "submissions directly in the submissions folder)"
                )
        elif path.name.startswith("."):
            if looks:
                warnings.append(
                    f"not graded: {path.name} is a hidden file (a dotfile); "
                    "rename it if it is a submission"
                )
        elif not path.is_file():
            warnings.append(f"not graded: {path.name} is not a regular file")
        elif looks:
            found.append(path)
        else:
            warnings.append(f"not graded: {path.name} is not a .ipynb or .zip file")
    if not found:
        raise GradingError(
            f"no submissions in {str(folder)!r}: expected .ipynb notebooks or the .zip "
            "files that grader.export() writes, directly inside that folder."
        )
    return found, warnings


def student_of(path: Path) -> str:
    """The student a submission belongs to: the file name without its suffix."""
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def notebook_bytes(path: Path, assignment: str) -> bytes:
    """The notebook of a submission (from inside a zip if need be)."""
    if path.suffix.lower() == ".ipynb":
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise GradingError("the notebook is larger than 50 MB")
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as zf:
            members = [
                i
                for i in zf.infolist()
                if i.filename.lower().endswith(".ipynb")
                and not i.is_dir()
                and "__MACOSX" not in i.filename
                and not Path(i.filename).name.startswith(".")
            ]
            if not members:
                raise GradingError("the zip file holds no notebook")
            preferred = [i for i in members if Path(i.filename).stem == assignment]
            member = (preferred or sorted(members, key=lambda i: i.filename))[0]
            if member.file_size > MAX_NOTEBOOK_BYTES:
                raise GradingError("the notebook in the zip is larger than 50 MB")
            return zf.read(member)
    except zipfile.BadZipFile:
        raise GradingError("not a valid zip file") from None


def plan_rows(found: list[Path]) -> tuple[dict[str, list[Path]], list[str]]:
    """Group submissions by student; warn about duplicates (newest file is graded)."""
    groups: dict[str, list[Path]] = {}
    keys: dict[str, str] = {}
    for path in found:
        key = student_of(path).casefold()
        keys.setdefault(key, student_of(path))
        groups.setdefault(keys[key], []).append(path)
    warnings = []
    for student, paths in groups.items():
        paths.sort(
            key=lambda p: (p.stat().st_mtime, p.suffix.lower() == ".ipynb"),
            reverse=True,
        )
        if len(paths) > 1:
            warnings.append(
                f"duplicate submissions for {student!r}: graded {paths[0].name}, "
                f"ignored {', '.join(p.name for p in paths[1:])}"
            )
    return groups, warnings


# ---------------------------------------------------------------- autograder zip
def check_assignment(name: str) -> None:
    valid = release.available_assignments()
    if name not in valid:
        raise GradingError(
            f"unknown assignment {name!r}. Valid names: {', '.join(valid)}."
        )


def autograder_zip(name: str, dist: Path, given: Path | None) -> Path:
    """The autograder zip to grade with; build it with ``release.py`` if missing."""
    if given is not None:
        if not given.is_file():
            raise GradingError(f"autograder zip {str(given)!r} does not exist.")
        return given
    path = release.zip_path(dist, name)
    if not path.is_file():
        print(f"{path} is missing: building it with release.py ...", flush=True)
        release.release(name, dist, run_tests=True, quiet=True)
    return path


def read_zip_manifest(zip_file: Path) -> dict:
    with zipfile.ZipFile(zip_file) as zf:
        manifest = json.loads(zf.read(release.ZIP_MANIFEST_NAME))
        if "ngd/hidden.json" not in zf.namelist():
            raise GradingError(
                f"{zip_file.name} was made by an older release.py (no ngd/hidden.json);"
                " run `make assignments` again."
            )
        manifest["tests"] = json.loads(zf.read("ngd/hidden.json"))["tests"]
    return manifest


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------ static flags
def release_lines(zip_manifest: dict, student_release: Path | None) -> set[str]:
    lines = set()
    if student_release is not None and student_release.is_file():
        nb = json.loads(student_release.read_text())
        for cell in nb.get("cells", []):
            source = cell.get("source", "")
            source = source if isinstance(source, str) else "".join(source)
            lines.update(line.strip() for line in source.splitlines())
    return lines


def code_flags(notebook: dict, exempt: set[str]) -> list[str]:
    flags = set()
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = source if isinstance(source, str) else "".join(map(str, source))
        for line in source.splitlines():
            if line.strip() in exempt:
                continue
            for flag, pattern in SUSPICIOUS.items():
                if re.search(pattern, line):
                    flags.add(flag)
    return sorted(flags)


# ---------------------------------------------------------------- one submission
def sanitize(text: str, limit: int = ERROR_CHARS) -> str:
    """One printable line of at most ``limit`` characters."""
    line = " ".join(str(text).split())
    line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def grade_one(
    notebook: bytes,
    autograder_dir: Path,
    manifest: dict,
    *,
    index: int,
    cell_limit: int,
    uid: int,
    use_sandbox: bool,
    scratch_root: Path,
    release_cells: int | None = None,
) -> dict:
    """Run one notebook in a sandbox, check its answers; scores, flags, error."""
    start = time.monotonic()
    flags, error = [], ""
    tmp = Path(tempfile.mkdtemp(prefix="ngd-grade-", dir=scratch_root))
    group = None
    if use_sandbox:
        group = sandbox.Cgroup(
            f"ngd-{tmp.name}",
            memory=SANDBOX_MEMORY,
            pids=SANDBOX_PIDS,
            cpus=SANDBOX_CPUS,
        )
    try:
        os.chmod(tmp, 0o700)
        ag = tmp / "autograder"
        shutil.copytree(autograder_dir, ag)
        before = tree_hashes(ag)
        sub = tmp / "submission"
        sub.mkdir()
        (sub / "submission.ipynb").write_bytes(notebook)
        sub_hash = sha256(sub / "submission.ipynb")
        out = tmp / "out"
        out.mkdir(mode=0o700)
        os.chmod(ag, 0o700)
        try:
            nb = json.loads(notebook)
            n_cells = sum(
                1
                for c in nb.get("cells", [])
                if isinstance(c, dict) and c.get("cell_type") == "code"
            )
        except (ValueError, AttributeError):
            nb, n_cells = None, 0
        if nb is None:
            return {
                "scores": {},
                "flags": [],
                "error": "not a valid notebook (JSON)",
                "seconds": time.monotonic() - start,
            }
        probes = [
            {
                "test": t["test"],
                "question": t["question"],
                "function": t["probe"],
                "names": t["names"],
                "source": t["probe_source"],
            }
            for t in manifest["tests"]
        ]
        # The supervisor's steps: every code cell, each question's probes after each of
        # its grader.check cells, and every probe once more at the end.
        per_question: dict[str, int] = {}
        for probe in probes:
            per_question[probe["question"]] = per_question.get(probe["question"], 0) + 1
        mid = 0
        for cell in nb.get("cells", []):
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                src = cell.get("source", "")
                source = src if isinstance(src, str) else "".join(map(str, src))
                checked_here = set(CHECK_CALL.findall(source))
                mid += sum(per_question.get(q, 0) for q in checked_here)
        steps = run_steps(n_cells, mid, len(probes), release_cells)
        run_limit = steps * cell_limit + RUN_MARGIN
        root = "/autograder" if use_sandbox else str(ag)
        job = {
            "notebook": "/submission/submission.ipynb"
            if use_sandbox
            else str(sub / "submission.ipynb"),
            "probes": probes,
            "cell_limit": cell_limit,
            "run_limit": run_limit,
            # Without a sandbox the kernel keeps this process's uid: the interpreter
            # may not even be executable by another uid (a Python under /root).
            "kernel_uid": uid if use_sandbox else os.geteuid(),
            "kernel_cpu_seconds": int(run_limit),
            "out_dir": "/out" if use_sandbox else str(out),
            "runtime_dir": "/tmp/ngd-runtime" if use_sandbox else str(tmp / "runtime"),
            "workdir": "/scratch" if use_sandbox else str(tmp / "work"),
            "in_sandbox": use_sandbox,
            "kernel_env": kernel_env(use_sandbox, tmp),
        }
        (tmp / "job.json").write_text(json.dumps(job))
        os.chmod(tmp / "job.json", 0o600)  # the supervisor's, not the kernel's
        supervisor = [PYTHON, "-I", f"{root}/ngd_grading/supervisor.py"]
        if use_sandbox:
            cmd = sandbox.bwrap_command(
                supervisor + ["/job.json"],
                ro={
                    "/autograder": str(ag),
                    "/submission": str(sub),
                    "/job.json": str(tmp / "job.json"),
                },
                rw={"/out": str(out)},
                env=supervisor_env(),
            )
            result = sandbox.run(group.wrap(cmd), timeout=run_limit + 30)
            group.kill_all()
        else:
            (tmp / "work").mkdir(mode=0o700)
            os.chmod(tmp / "work", 0o700)
            result = sandbox.run(
                supervisor + [str(tmp / "job.json")],
                timeout=run_limit + 30,
                env=supervisor_env(),
            )
        report = read_report(out / "report.json")
        if os.environ.get("NGD_GRADE_DEBUG"):
            print(result["stderr"][-3000:], report, file=sys.stderr)
        if result["timed_out"]:
            flags.append("run time limit")
            error = f"the whole run took longer than {run_limit:.0f} s and was stopped"
        elif result["returncode"] != 0 and not report:
            error = (
                "the grading sandbox failed: "
                + (result["stderr"].strip().splitlines() or ["no message"])[-1]
            )
        if report and report.get("setup", "ok") != "ok":
            error = error or f"grading setup failed in the sandbox: {report['setup']}"
        if report.get("timeouts"):
            flags.append(f"cell time limit x{len(report['timeouts'])}")
        if report.get("killed"):
            flags.append(f"kernel killed x{len(report['killed'])}")
        if report.get("died"):
            flags.append(f"kernel exited x{len(report['died'])}")
        if report.get("run_limit_reached"):
            flags.append("run time limit")
        if tree_hashes(ag) != before or sha256(sub / "submission.ipynb") != sub_hash:
            flags.append("hash mismatch")
            error = error or "the autograder or submission copy changed during the run"
            return {
                "scores": {},
                "flags": flags,
                "error": error,
                "seconds": time.monotonic() - start,
            }
        checked = run_checker(ag, out, use_sandbox, tmp, group)
        if "error" in checked:
            error = error or checked["error"]
            scores = {}
        else:
            scores = {}
            for test in checked["tests"].values():
                scores[test["question"]] = scores.get(test["question"], 0.0) + float(
                    test["score"]
                )
            flags += [f for f in checked.get("flags", [])]
            for test in checked["tests"].values():
                if "rejected" in test.get("reason", "") or "not plain" in test.get(
                    "reason", ""
                ):
                    flags.append("answer not plain data")
        return {
            "scores": scores,
            "flags": flags,
            "error": error,
            "seconds": time.monotonic() - start,
            "report": report,
        }
    finally:
        if group is not None:
            group.remove()
        if os.environ.get("NGD_GRADE_KEEP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_steps(
    n_cells: int, mid: int, n_probes: int, release_cells: int | None
) -> int:
    """Steps the run limit pays for: the submission's cells and mid-run probes, but
    no more than a generous multiple of the release's (a notebook of 10,000 cells that
    each sleep just under the limit must not hold a grading slot for days), and every
    probe once at the end (the supervisor keeps time for those, whatever came first).
    """
    if release_cells:
        n_cells = min(n_cells, max(2 * release_cells, release_cells + 30))
        mid = min(mid, 2 * n_probes)
    return n_cells + min(mid, 1000) + n_probes


def kernel_env(use_sandbox: bool, tmp: Path) -> dict:
    home = "/tmp" if use_sandbox else str(tmp / "work")
    return {
        "PATH": os.path.dirname(PYTHON) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.mpl",
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter-runtime",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "NGD_KERNEL_CWD": "/scratch" if use_sandbox else str(tmp / "work"),
    }


def supervisor_env() -> dict:
    return {
        "PATH": os.path.dirname(PYTHON) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
        return report if isinstance(report, dict) else {}
    except (OSError, ValueError):
        return {}


def run_checker(
    ag: Path, out: Path, use_sandbox: bool, tmp: Path, group=None
) -> dict:
    """Check the answers in a fresh process (a sandbox too) that ran no student code."""
    answers = out / "answers.jsonl"
    if use_sandbox:
        cmd = sandbox.bwrap_command(
            [
                PYTHON,
                "-I",
                "/autograder/ngd_grading/checker.py",
                "/autograder",
                "/answers.jsonl",
            ],
            ro={"/autograder": str(ag), "/answers.jsonl": str(answers)}
            if answers.is_file()
            else {"/autograder": str(ag)},
            rw={},
            env=supervisor_env(),
            workdir=None,
        )
    else:
        cmd = [
            PYTHON,
            "-I",
            str(ag / "ngd_grading" / "checker.py"),
            str(ag),
            str(answers),
        ]
    if group is not None:
        cmd = group.wrap(cmd)
    result = sandbox.run(cmd, timeout=CHECK_TIMEOUT, env=supervisor_env())
    if group is not None:
        group.kill_all()
    if os.environ.get("NGD_GRADE_DEBUG"):
        print(result["stdout"][-3000:], result["stderr"][-3000:], file=sys.stderr)
    if result["timed_out"]:
        return {"error": "checking the answers took too long"}
    try:
        checked = json.loads(result["stdout"].strip().splitlines()[-1])
        assert isinstance(checked, dict) and isinstance(checked["tests"], dict)
        return checked
    except (ValueError, IndexError, KeyError, AssertionError):
        return {
            "error": "the checker failed: "
            + (result["stderr"].strip().splitlines() or ["no message"])[-1]
        }


# -------------------------------------------------------------------- the class
def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _number(value: float) -> str:
    return f"{round(value, 5):g}"


def escape_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text and text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "'" + text
    return text


def previous_rows(out: Path) -> dict[str, dict]:
    if not out.is_file():
        return {}
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    key = "student" if rows and "student" in rows[0] else "submission"
    return {row.get(key, ""): row for row in rows}


def grade(
    name: str,
    submissions: Path,
    out: Path,
    *,
    dist: Path = DEFAULT_DIST,
    autograder: Path | None = None,
    cell_time_limit: int | None = None,
    jobs: int | None = None,
    unsafe_no_sandbox: bool = False,
) -> list[dict]:
    """Grade every submission in ``submissions`` and write the CSV ``out``."""
    total_start = time.monotonic()
    check_assignment(name)
    if unsafe_no_sandbox:
        print(
            "WARNING: --unsafe-no-sandbox: submissions run WITHOUT isolation; grade "
            "only notebooks you trust.",
            file=sys.stderr,
            flush=True,
        )
    else:
        try:
            sandbox.check_available()
        except sandbox.SandboxUnavailable as error:
            raise GradingError(str(error)) from None
        probe_group = sandbox.Cgroup(
            f"ngd-probe-{os.getpid()}", memory=2**30, pids=8, cpus=1.0
        )
        if probe_group.available:
            probe_group.remove()
        else:
            print(
                f"warning: {probe_group.why}: each sandbox's processes are limited "
                "one by one (rlimits), not as a whole, so one submission can slow or "
                "starve the others (see book/assignments.md)",
                file=sys.stderr,
                flush=True,
            )
    found, warnings = find_submissions(submissions)
    groups, duplicate_warnings = plan_rows(found)
    warnings += duplicate_warnings
    zip_file = autograder_zip(name, dist, autograder)
    manifest = read_zip_manifest(zip_file)
    auto = [q for q in manifest["questions"] if not q["manual"]]
    manual = [q for q in manifest["questions"] if q["manual"]]
    possible = sum(q["points"] for q in auto)
    limit = int(
        cell_time_limit
        or os.environ.get("NGD_CELL_TIME_LIMIT")
        or manifest.get("cell_time_limit")
        or 60
    )
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    columns = (
        ["student", "submission", "sha256"]
        + [q["name"] for q in auto]
        + ["total", "possible"]
        + [f"{q['name']}_manual" for q in manual]
        + ["flags", "error", "seconds"]
    )
    old = previous_rows(out)
    for warning in warnings:
        print(f"warning: {warning}", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="ngd-class-"))
    os.chmod(scratch, 0o700)
    if threading.current_thread() is threading.main_thread():
        # A grader stopped with SIGTERM still removes its scratch folder (the hidden
        # tests are in it) and its sandboxes (they die with this process).
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        # 1. Hash and copy every submission before anything runs.
        staged = {}
        original_hashes = {}
        for student, paths in groups.items():
            chosen = paths[0]
            digest = sha256(chosen)
            original_hashes[chosen] = digest
            copy = scratch / "staged" / f"{len(staged):05d}{chosen.suffix.lower()}"
            copy.parent.mkdir(exist_ok=True)
            shutil.copyfile(chosen, copy)
            if sha256(copy) != digest:
                raise GradingError(f"{chosen.name} changed while it was being copied")
            staged[student] = (chosen, copy, digest)
        autograder_dir = scratch / "autograder"
        with zipfile.ZipFile(zip_file) as zf:
            zf.extractall(autograder_dir)
        student_release = zip_file.parent.parent / "student" / f"{name}.ipynb"
        exempt = release_lines(manifest, student_release)
        release_cells = None
        if student_release.is_file():
            release_cells = sum(
                1
                for c in json.loads(student_release.read_text()).get("cells", [])
                if c.get("cell_type") == "code"
            )
        uid_base = int(os.environ.get("NGD_KERNEL_UID_BASE", 0)) or (
            KERNEL_UID_BASE + secrets.randbelow(1_000_000) * 1000
        )

        lock = threading.Lock()
        done = [0]

        def one(item):
            index, (student, (original, copy, digest)) = item
            flags, error = [], ""
            if len(groups[student]) > 1:
                flags.append("duplicate")
            try:
                data = notebook_bytes(copy, name)
                try:
                    flags += code_flags(json.loads(data), exempt)
                except ValueError:
                    pass
                result = grade_one(
                    data,
                    autograder_dir,
                    manifest,
                    index=index,
                    cell_limit=limit,
                    uid=uid_base + index % 1000,
                    use_sandbox=not unsafe_no_sandbox,
                    scratch_root=scratch,
                    release_cells=release_cells,
                )
            except GradingError as exc:
                result = {"scores": {}, "flags": [], "error": str(exc), "seconds": 0.0}
            except Exception as exc:  # noqa: BLE001 - one row fails, not the class
                result = {"scores": {}, "flags": [], "seconds": 0.0,
                          "error": f"internal grading error ({type(exc).__name__}); "
                          "grade this submission again"}
            flags += result["flags"]
            error = result["error"]
            scores = result["scores"]
            missing = [q["name"] for q in auto if q["name"] not in scores]
            if missing and not error and not scores:
                error = "no answers were checked"
            row = {"student": student, "submission": original.name, "sha256": digest}
            for q in auto:
                row[q["name"]] = _number(scores.get(q["name"], 0.0))
            row["total"] = _number(sum(scores.get(q["name"], 0.0) for q in auto))
            row["possible"] = _number(possible)
            previous = old.get(student, old.get(original.name, {}))
            for q in manual:
                row[f"{q['name']}_manual"] = previous.get(f"{q['name']}_manual", "")
            row["flags"] = "; ".join(dict.fromkeys(flags))
            row["error"] = sanitize(error) if error else ""
            row["seconds"] = f"{result['seconds']:.1f}"
            with lock:
                done[0] += 1
                status = f"  ERROR: {row['error']}" if row["error"] else ""
                flag_text = f"  flags: {row['flags']}" if row["flags"] else ""
                print(
                    f"[{done[0]}/{len(staged)}] {original.name}: {row['total']} / "
                    f"{row['possible']} ({result['seconds']:.1f} s){flag_text}{status}",
                    flush=True,
                )
            return row

        items = list(enumerate(staged.items()))
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(one, items))

        changed = [
            p.name for p, digest in original_hashes.items() if sha256(p) != digest
        ]
        if changed:
            print(
                f"warning: submissions changed during grading: {', '.join(changed)}",
                flush=True,
            )
    finally:
        if not os.environ.get("NGD_GRADE_KEEP"):
            shutil.rmtree(scratch, ignore_errors=True)

    extra = [c for row in old.values() for c in row if c not in columns]
    extra = list(dict.fromkeys(extra))
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns + extra)
    writer.writeheader()
    for row in rows:
        previous = old.get(row["student"], old.get(row["submission"], {}))
        for column in extra:
            row[column] = previous.get(column, "")
        writer.writerow({k: escape_cell(v) for k, v in row.items()})
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(buffer.getvalue(), encoding="utf-8")
    tmp_out.replace(out)
    if manual:
        names = ", ".join(f"{q['name']} ({q['points']} pts)" for q in manual)
        print(f"written questions to grade by hand: {names}")
    elapsed = time.monotonic() - total_start
    per = [float(r["seconds"]) for r in rows]
    print(
        f"graded {len(rows)} submissions with {jobs} parallel sandbox(es) in "
        f"{elapsed:.1f} s (per submission: mean {sum(per) / len(per):.1f} s, "
        f"max {max(per):.1f} s)"
    )
    print(f"wrote {out}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Grade submitted notebooks, each in its own sandbox, into one CSV."
    )
    parser.add_argument(
        "--assignment", required=True, help="assignment name (a folder in assignments/)"
    )
    parser.add_argument(
        "--submissions",
        required=True,
        type=Path,
        help="folder with the submitted .ipynb or .zip files",
    )
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.add_argument(
        "--dist",
        type=Path,
        default=DEFAULT_DIST,
        help="release folder holding the autograder zips (default: dist/assignments)",
    )
    parser.add_argument(
        "--autograder",
        type=Path,
        default=None,
        help="grade with this autograder zip instead of the one in --dist",
    )
    parser.add_argument(
        "--cell-time-limit",
        type=int,
        default=None,
        help="override the zip's per-cell time limit (seconds)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="sandboxes to run in parallel (default: the number of cores)",
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without bubblewrap: only for notebooks you trust",
    )
    args = parser.parse_args(argv)
    try:
        grade(
            args.assignment,
            args.submissions,
            args.out,
            dist=args.dist,
            autograder=args.autograder,
            cell_time_limit=args.cell_time_limit,
            jobs=args.jobs,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
        )
    except (GradingError, release.ReleaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
