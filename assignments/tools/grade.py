"""Grade a folder of submissions locally with ``otter run`` (no Docker) into one CSV.

Usage::

    python assignments/tools/grade.py --assignment <name> \\
        --submissions path/to/submissions --out dist/grades/<name>.csv

Every ``*.ipynb`` notebook and every ``*.zip`` file that ``grader.export()`` writes, in
the submissions folder (not its subfolders), is graded with ``otter run`` against the
assignment's autograder zip ``<dist>/<name>/autograder/<name>-autograder.zip``; if that
zip is missing, the script builds it first with ``release.py``. The zip carries the
per-cell time limit plugin; otter imports plugins by name, so each ``otter run`` gets
the extracted zip on ``PYTHONPATH`` (the plugin is loaded from the zip, not from this
repository).

The CSV has one row per submission and the columns ``submission``, one column per
auto-graded question (points scored), ``total`` and ``possible`` (auto-graded points),
one empty column ``<question>_manual`` per written question for the grader to fill in,
and ``error`` (empty unless grading that submission failed; its scores are then 0).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import release  # noqa: E402  (the sibling script)

DEFAULT_DIST = release.ROOT / "dist" / "assignments"
SUBMISSION_SUFFIXES = (".ipynb", ".zip")


class GradingError(RuntimeError):
    """The command line cannot be carried out (unknown assignment, no submissions)."""


def find_submissions(folder: Path) -> list[Path]:
    """The notebooks and zip files directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        raise GradingError(
            f"submissions folder {str(folder)!r} does not exist or is not "
            "a folder. Pass the folder that holds the submitted notebooks."
        )
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix in SUBMISSION_SUFFIXES
        and not p.name.startswith(".")
    )
    if not found:
        raise GradingError(
            f"no submissions in {str(folder)!r}: expected .ipynb notebooks or the .zip "
            "files that grader.export() writes, directly inside that folder."
        )
    return found


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
        return json.loads(zf.read(release.ZIP_MANIFEST_NAME))


def run_otter(
    submission: Path,
    zip_file: Path,
    plugin_root: Path,
    *,
    cell_time_limit: int | None,
    timeout: float,
) -> dict:
    """Grade one submission with ``otter run``: scores per question, or an error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(plugin_root), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if cell_time_limit is not None:
        env["NGD_CELL_TIME_LIMIT"] = str(cell_time_limit)
    with tempfile.TemporaryDirectory(prefix="ngd-grade-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "otter",
            "run",
            "--no-logo",
            "-a",
            str(zip_file.resolve()),
            "-o",
            tmp,
            str(submission.resolve()),
        ]
        try:
            proc = subprocess.run(
                cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return {"scores": {}, "error": f"otter run took longer than {timeout:g} s"}
        results_file = Path(tmp) / "results.json"
        if proc.returncode != 0 or not results_file.is_file():
            lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
            return {"scores": {}, "error": f"otter run failed: {lines[-1]}"}
        results = json.loads(results_file.read_text())
    scores, errors = {}, []
    for test in results.get("tests", []):
        if "score" in test and "max_score" in test:
            scores[test["name"]] = float(test["score"])
        elif test.get("name") in (
            "Autograder Failed",
            "Autograder Error",
            "Autograder Exception",
        ):
            errors.append(test.get("output", test["name"]).strip().splitlines()[-1])
    return {"scores": scores, "error": "; ".join(errors)}


def _number(value: float) -> str:
    return f"{round(value, 5):g}"


def grade(
    name: str,
    submissions: Path,
    out: Path,
    *,
    dist: Path = DEFAULT_DIST,
    autograder: Path | None = None,
    cell_time_limit: int | None = None,
    timeout: float = 3600.0,
) -> list[dict]:
    """Grade every submission in ``submissions`` and write the CSV ``out``."""
    check_assignment(name)
    found = find_submissions(submissions)
    zip_file = autograder_zip(name, dist, autograder)
    manifest = read_zip_manifest(zip_file)
    auto = [q for q in manifest["questions"] if not q["manual"]]
    manual = [q for q in manifest["questions"] if q["manual"]]
    possible = sum(q["points"] for q in auto)
    columns = (
        ["submission"]
        + [q["name"] for q in auto]
        + ["total", "possible"]
        + [f"{q['name']}_manual" for q in manual]
        + ["error"]
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="ngd-autograder-") as plugin_root:
        with zipfile.ZipFile(zip_file) as zf:
            zf.extractall(plugin_root)
        for i, submission in enumerate(found, 1):
            start = time.perf_counter()
            result = run_otter(
                submission,
                zip_file,
                Path(plugin_root),
                cell_time_limit=cell_time_limit,
                timeout=timeout,
            )
            scores = result["scores"]
            error = result["error"]
            missing = [q["name"] for q in auto if q["name"] not in scores]
            if missing and not error:
                error = f"no result for {', '.join(missing)}"
            row = {"submission": submission.name}
            for q in auto:
                row[q["name"]] = _number(scores.get(q["name"], 0.0))
            total = sum(scores.get(q["name"], 0.0) for q in auto)
            row.update(total=_number(total), possible=_number(possible), error=error)
            row.update({f"{q['name']}_manual": "" for q in manual})
            rows.append(row)
            status = f"  ERROR: {error}" if error else ""
            print(
                f"[{i}/{len(found)}] {submission.name}: {row['total']} / "
                f"{row['possible']} ({time.perf_counter() - start:.1f} s){status}",
                flush=True,
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    if manual:
        names = ", ".join(f"{q['name']} ({q['points']} pts)" for q in manual)
        print(f"written questions to grade by hand: {names}")
    print(f"wrote {out}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Grade submitted notebooks locally with otter run into one CSV."
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
        "--timeout",
        type=float,
        default=3600.0,
        help="give up on one submission after this many seconds",
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
            timeout=args.timeout,
        )
    except (GradingError, release.ReleaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
