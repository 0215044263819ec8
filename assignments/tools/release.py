"""Make the student release and the autograder zip of graded assignments.

Usage::

    python assignments/tools/release.py --all --out dist/assignments
    python assignments/tools/release.py hw1_conditioning_and_fisher --out /tmp/dist

For each assignment ``assignments/<name>/<name>.ipynb`` (an otter-grader master
notebook with solutions and hidden tests) this runs ``otter assign`` and writes::

    <out>/<name>/student/<name>.ipynb              student release (public tests only)
    <out>/<name>/autograder/<name>-autograder.zip  autograder (hidden tests, plugin)
    <out>/<name>/solutions/<name>.ipynb            solutions notebook (instructors only)
    <out>/<name>/manifest.json                     questions, points, manual or not

The zip also holds the per-cell time limit plugin (``otter_cell_time_limit.py``, at the
zip root and in ``files/``) and a copy of the manifest (``ngd_manifest.json``). By
default ``otter assign`` grades the solutions notebook against its own autograder and
fails unless it scores full marks; ``--no-run-tests`` skips that check. Before it
finishes, the script scans the student release for solution and test markers and fails
if it finds one.

The solutions notebook is moved out of ``autograder/`` to
``<out>/<name>/solutions/<name>.ipynb``: nothing that is handed to a grading machine
sits next to it.

Writing hidden tests that survive a hostile kernel
--------------------------------------------------
Grading never runs a hidden test inside the student's kernel: the kernel only
*produces answers*, and the grader *checks* them in a process the student's code never
touched (``ngd_grading/checker.py``). So this script removes every ``# HIDDEN`` cell
from the copy of the master that ``otter assign`` sees (otter's ``tests/`` in the zip
hold the public tests only, and a plain ``otter run`` grades nothing hidden) and ships
the hidden cells in the zip as ``ngd/hidden/<question>.py`` plus an index
``ngd/hidden.json``. A hidden test cell holds only function definitions:

* ``probe_<t>(<answer names>)`` runs in the student's kernel. Its parameters are the
  names of the student's answers (looked up in the kernel's globals); it calls them on
  fixed inputs and returns plain data: None, bool, int, float, str, list, tuple, dict
  with str keys, ``np.ndarray`` (exactly that class, numeric dtype), numpy scalars and
  SymPy expressions. An answer that should raise is caught in the probe
  (``except ValueError: return True``); any other exception scores 0.
* ``check_<t>(answer)`` runs in the grader on the decoded data and asserts. Expected
  values, reference implementations and tolerances live only here: every function of
  the cell *except* the ``check_*`` ones is sent to the kernel, and the kernel can read
  whatever it is sent. Inputs may be built by a shared helper (``inputs_<t>()``), which
  the check calls again: never trust inputs echoed back by the probe.
* Decoding rebuilds arrays as fresh ``np.ndarray`` and SymPy answers from ``srepr``
  with built-in SymPy classes only; anything else (a subclass, an object with a lying
  ``__eq__``) arrives as an ``Opaque`` value that fails every check. Test types
  explicitly in the check (``isinstance(a, np.ndarray)``,
  ``isinstance(a, (float, np.floating))``, ``isinstance(e, sp.Expr)``).
* Each hidden test is worth an equal share of its question's points. Public tests are
  feedback for students and are not graded (they run in the kernel). Seed every
  random generator; keep a probe and its check to a few seconds.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import yaml

TOOLS = Path(__file__).resolve().parent
ASSIGNMENTS = TOOLS.parent
ROOT = ASSIGNMENTS.parent
PLUGIN_FILE = ASSIGNMENTS / "plugins" / "otter_cell_time_limit.py"
MANIFEST_NAME = "manifest.json"
ZIP_MANIFEST_NAME = "ngd_manifest.json"
RUNTIME = TOOLS / "ngd_grading"
RUNTIME_FILES = (
    "__init__.py",
    "plain.py",
    "kernel_export.py",
    "kernel_launcher.py",
    "supervisor.py",
    "checker.py",
    "gradescope.py",
)
RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope entry point (ngd): the submission runs as an unprivileged user under a
# supervisor; the hidden checks run afterwards as root, outside the student's reach.
if [ -n "${NGD_PYTHON:-}" ]; then
  exec "$NGD_PYTHON" /autograder/source/ngd_grading/gradescope.py
fi
export PATH=/root/miniforge3/bin:$PATH
eval "$(mamba shell hook --shell bash)"
mamba activate otter-env
exec python /autograder/source/ngd_grading/gradescope.py
"""

# Strings that must never reach a student: otter's solution and test markers. (The
# student notebook does contain "<!-- BEGIN QUESTION -->": otter's PDF-filter comment.)
FORBIDDEN_MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "# SOLUTION",
    "BEGIN TESTS",
    "END TESTS",
    "# HIDDEN",
    "ASSIGNMENT CONFIG",
)


class ReleaseError(RuntimeError):
    """A master notebook or its release is not as it should be."""


def available_assignments() -> list[str]:
    """Names of the assignments: folders ``assignments/<name>/<name>.ipynb``."""
    return sorted(
        p.parent.name for p in ASSIGNMENTS.glob("*/*.ipynb") if p.stem == p.parent.name
    )


def master_path(name: str) -> Path:
    """The master notebook of assignment ``name``; raise if there is none."""
    path = ASSIGNMENTS / name / f"{name}.ipynb"
    if not path.is_file():
        valid = ", ".join(available_assignments()) or "(none)"
        raise ReleaseError(
            f"unknown assignment {name!r}: there is no {path.relative_to(ROOT)}. "
            f"Valid names: {valid}."
        )
    return path


def zip_path(out: Path, name: str) -> Path:
    """Where the release puts the autograder zip of ``name`` under ``out``."""
    return out / name / "autograder" / f"{name}-autograder.zip"


def _raw_config(cell, header: str):
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    if cell.cell_type != "raw" or not re.match(rf"#\s+{header}\b", source, re.I):
        return None
    return yaml.safe_load(source) or {}


def read_manifest(master: Path) -> dict:
    """Questions (name, points, manual) and the config of a master notebook."""
    nb = nbformat.read(master, as_version=4)
    questions, config = [], {}
    for cell in nb.cells:
        assignment_config = _raw_config(cell, "ASSIGNMENT CONFIG")
        if assignment_config is not None:
            config = assignment_config
        question = _raw_config(cell, "BEGIN QUESTION")
        if question is not None:
            if "points" not in question:
                raise ReleaseError(
                    f"{master.name}: question {question.get('name')!r} has no "
                    "'points'; set the points of every question explicitly."
                )
            questions.append(
                {
                    "name": str(question["name"]),
                    "points": question["points"],
                    "manual": bool(question.get("manual", False)),
                }
            )
    if not questions:
        raise ReleaseError(f"{master.name}: no '# BEGIN QUESTION' cells found.")
    auto = sum(q["points"] for q in questions if not q["manual"])
    manual = sum(q["points"] for q in questions if q["manual"])
    return {
        "assignment": master.stem,
        "questions": questions,
        "autograded_points": auto,
        "manual_points": manual,
        "total_points": auto + manual,
        "cell_time_limit": _configured_time_limit(config),
    }


def _configured_time_limit(config: dict):
    for plugin in config.get("plugins", []):
        if isinstance(plugin, dict):
            for key, value in plugin.items():
                if key.startswith("otter_cell_time_limit.") and isinstance(value, dict):
                    return value.get("seconds")
    return None


def _otter_env() -> dict:
    """Environment in which otter can import the time-limit plugin."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PLUGIN_FILE.parent), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def find_leaks(directory: Path) -> list[str]:
    """Solution or test markers found in the text files under ``directory``."""
    leaks = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in FORBIDDEN_MARKERS:
            if marker.lower() in text.lower():
                leaks.append(f"{path.name}: {marker!r}")
    return leaks


def _is_hidden_test(cell) -> bool:
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return cell.cell_type == "code" and source.lstrip().upper().startswith("# HIDDEN")


def split_hidden_cell(source: str, question: str, where: str) -> dict:
    """The probe and the check of one hidden test cell (see the module docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ReleaseError(f"{where}: hidden test does not parse: {error}") from None
    functions = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            raise ReleaseError(
                f"{where}: a hidden test cell may hold only function definitions; "
                f"found {type(node).__name__} on line {node.lineno}. Move the code "
                "into probe_<t> (kernel side) or check_<t> (grader side)."
            )
        functions[node.name] = node
    probes = [n for n in functions if n.startswith("probe_")]
    checks = [n for n in functions if n.startswith("check_")]
    if len(probes) != 1 or len(checks) != 1 or probes[0][6:] != checks[0][6:]:
        raise ReleaseError(
            f"{where}: a hidden test cell needs exactly one probe_<t> and one "
            f"check_<t> with the same <t>; found {sorted(functions)}."
        )
    probe, check = functions[probes[0]], functions[checks[0]]
    if len(check.args.args) != 1:
        raise ReleaseError(f"{where}: {check.name} must take one argument (answer)")
    if not any(isinstance(n, ast.Assert) for n in ast.walk(check)):
        raise ReleaseError(f"{where}: {check.name} asserts nothing")
    kernel_side = "\n\n".join(
        ast.get_source_segment(source, node, padded=False)
        for name, node in functions.items()
        if not name.startswith("check_")
    )
    return {
        "test": f"{question}/{probe.name[6:]}",
        "question": question,
        "probe": probe.name,
        "check": check.name,
        "names": [a.arg for a in probe.args.args],
        "probe_source": kernel_side,
    }


def hidden_tests(master: Path) -> tuple[dict[str, list[str]], list[dict]]:
    """Per question the hidden test cells of a master, and the tests they define."""
    nb = nbformat.read(master, as_version=4)
    question, points = None, {}
    cells: dict[str, list[str]] = {}
    tests: list[dict] = []
    for index, cell in enumerate(nb.cells):
        config = _raw_config(cell, "BEGIN QUESTION")
        if config is not None:
            question = str(config["name"])
            points[question] = config.get("points", 0)
        elif _raw_config(cell, "END QUESTION") is not None:
            question = None
        elif _is_hidden_test(cell):
            where = f"{master.name} cell {index}"
            if question is None:
                raise ReleaseError(f"{where}: hidden test outside a question")
            source = cell.source
            source = source if isinstance(source, str) else "".join(source)
            tests.append(split_hidden_cell(source, question, where))
            cells.setdefault(question, []).append(source)
    for question, sources in cells.items():
        share = points[question] / len(sources)
        for test in tests:
            if test["question"] == question:
                test["points"] = share
    names = [t["test"] for t in tests]
    if len(set(names)) != len(names):
        raise ReleaseError(f"{master.name}: two hidden tests share a name: {names}")
    return cells, tests


def _strip_hidden_tests(notebook: Path) -> None:
    """Remove the hidden test cells from the staged master that otter assign reads."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [cell for cell in nb.cells if not _is_hidden_test(cell)]
    nbformat.write(nb, notebook)


def solutions_path(out: Path, name: str) -> Path:
    """Where the release puts the solutions notebook of ``name`` (instructors only)."""
    return out / name / "solutions" / f"{name}.ipynb"


def release(
    name: str, out: Path, *, run_tests: bool = True, quiet: bool = False
) -> Path:
    """Run ``otter assign`` on one master; return the assignment's output folder."""
    master = master_path(name)
    manifest = read_manifest(master)
    dest = (out / name).resolve()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix=f"ngd-release-{name}-") as tmp:
        stage = Path(tmp) / name
        shutil.copytree(
            master.parent,
            stage,
            ignore=shutil.ignore_patterns(
                "student", "autograder", ".ipynb_checkpoints", "__pycache__"
            ),
        )
        shutil.copy(PLUGIN_FILE, stage / PLUGIN_FILE.name)
        hidden_cells, tests = hidden_tests(master)
        if not tests:
            raise ReleaseError(f"{master.name}: no hidden tests")
        _strip_hidden_tests(stage / master.name)
        cmd = [
            sys.executable,
            "-m",
            "otter",
            "assign",
            str(stage / master.name),
            str(dest),
            "--no-pdfs",
        ]
        if not run_tests:
            cmd.append("--no-run-tests")
        proc = subprocess.run(
            cmd, cwd=tmp, env=_otter_env(), capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise ReleaseError(
                f"otter assign failed for {name} (exit {proc.returncode}):\n"
                + proc.stdout[-4000:]
                + "\n"
                + proc.stderr[-4000:]
            )
        if not quiet:
            print(proc.stdout.strip())
    zips = sorted((dest / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(zips) != 1:
        raise ReleaseError(
            f"expected one autograder zip in {dest / 'autograder'}; "
            f"found {[z.name for z in zips]}"
        )
    stable_zip = zip_path(out, name).resolve()
    zips[0].rename(stable_zip)
    with zipfile.ZipFile(stable_zip, "a") as zf:
        names = set(zf.namelist())
        if f"files/{PLUGIN_FILE.name}" not in names:
            raise ReleaseError(
                f"{stable_zip.name} lacks files/{PLUGIN_FILE.name}; "
                "list it under autograder_files in the master's config."
            )
        # At the root too: a containerised run_otter.py has the zip root on sys.path.
        zf.write(PLUGIN_FILE, arcname=PLUGIN_FILE.name)
        zf.writestr(ZIP_MANIFEST_NAME, json.dumps(manifest, indent=2))
        for question, sources in hidden_cells.items():
            zf.writestr(f"ngd/hidden/{question}.py", "\n\n\n".join(sources) + "\n")
        zf.writestr("ngd/hidden.json", json.dumps({"tests": tests}, indent=2))
        for file in RUNTIME_FILES:
            zf.write(RUNTIME / file, arcname=f"ngd_grading/{file}")
    _replace_member(stable_zip, "run_autograder", RUN_AUTOGRADER)
    solutions = solutions_path(out, name).resolve()
    solutions.parent.mkdir(parents=True, exist_ok=True)
    (dest / "autograder" / f"{name}.ipynb").rename(solutions)
    (dest / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    # The student release needs no plugin; otter copies autograder_files only to
    # the autograder folder, but make sure.
    (dest / "student" / PLUGIN_FILE.name).unlink(missing_ok=True)
    leaks = find_leaks(dest / "student")
    if leaks:
        raise ReleaseError(f"the student release of {name} leaks: " + "; ".join(leaks))
    return dest


def _replace_member(zip_file: Path, member: str, text: str) -> None:
    """Rewrite ``zip_file`` with ``member`` replaced by ``text`` (executable)."""
    tmp = zip_file.with_suffix(".tmp")
    with (
        zipfile.ZipFile(zip_file) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info, src.read(info.filename))
        info = zipfile.ZipInfo(member)
        info.external_attr = 0o755 << 16
        dst.writestr(info, text)
    tmp.replace(zip_file)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Run otter assign on master notebooks: student releases and "
        "autograder zips."
    )
    parser.add_argument(
        "names", nargs="*", help="assignment names (folders in assignments/)"
    )
    parser.add_argument("--all", action="store_true", help="release every assignment")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "dist" / "assignments",
        help="output folder (default: dist/assignments)",
    )
    parser.add_argument(
        "--no-run-tests",
        action="store_true",
        help="skip otter's check that the solutions score full marks",
    )
    args = parser.parse_args(argv)
    valid = available_assignments()
    names = valid if args.all else args.names
    if not names:
        parser.error(
            f"name an assignment or pass --all. Valid names: {', '.join(valid)}"
        )
    try:
        for name in names:
            dest = release(name, args.out, run_tests=not args.no_run_tests, quiet=True)
            manifest = json.loads((dest / MANIFEST_NAME).read_text())
            print(
                f"{name}: {len(manifest['questions'])} questions, "
                f"{manifest['autograded_points']} autograded + "
                f"{manifest['manual_points']} manual points"
            )
            print(f"  student release: {dest / 'student' / (name + '.ipynb')}")
            print(f"  autograder zip:  {zip_path(args.out, name).resolve()}")
            print(f"  solutions:       {solutions_path(args.out, name).resolve()}")
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
