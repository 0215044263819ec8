"""Grade one submission on Gradescope (``run_autograder`` runs this as root).

Gradescope's layout: the autograder zip is unpacked in ``/autograder/source``, the
student's files are in ``/autograder/submission`` and the result goes to
``/autograder/results/results.json``. The container is Gradescope's sandbox (one per
submission, no other student's files); inside it this script does what the local
grader does inside bubblewrap: ``/autograder/source`` is made readable by root only,
the notebook runs under the supervisor in a kernel with an unprivileged uid and
rlimits, the hidden checks run afterwards in a fresh process as root, and every
process of the kernel's uid is killed before the checks start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# Run as a script from ngd_grading/, so its siblings import by name.
from supervisor import kill_uid

ROOT = Path(os.environ.get("NGD_AUTOGRADER_ROOT", "/autograder"))
SOURCE, SUBMISSION, RESULTS = ROOT / "source", ROOT / "submission", ROOT / "results"
KERNEL_UID = int(os.environ.get("NGD_KERNEL_UID", "64999"))
MARGIN = 60


def find_notebook(assignment: str) -> bytes | None:
    notebooks = sorted(SUBMISSION.rglob("*.ipynb"))
    preferred = [p for p in notebooks if p.stem == assignment]
    if preferred or notebooks:
        return (preferred or notebooks)[0].read_bytes()
    for path in sorted(SUBMISSION.rglob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".ipynb")]
            if names:
                return zf.read(names[0])
    return None


def main() -> int:
    manifest = json.loads((SOURCE / "ngd_manifest.json").read_text())
    tests = json.loads((SOURCE / "ngd" / "hidden.json").read_text())["tests"]
    config = json.loads((SOURCE / "otter_config.json").read_text())
    limit = int(
        os.environ.get("NGD_CELL_TIME_LIMIT") or manifest.get("cell_time_limit") or 60
    )
    os.chmod(SOURCE, 0o700)
    RESULTS.mkdir(parents=True, exist_ok=True)
    notebook = find_notebook(config.get("assignment_name", ""))
    results = {"tests": [], "score": 0.0}
    if notebook is None:
        results["output"] = "No notebook (.ipynb) found in the submission."
        (RESULTS / "results.json").write_text(json.dumps(results))
        return 0
    out = Path(tempfile.mkdtemp(prefix="ngd-out-"))
    work = Path(tempfile.mkdtemp(prefix="ngd-work-"))
    os.chmod(out, 0o700)
    os.chown(work, KERNEL_UID, KERNEL_UID)
    (out / "submission.ipynb").write_bytes(notebook)
    cells = json.loads(notebook).get("cells", [])
    steps = 1 + len(cells) + 3 * len(tests)
    run_limit = steps * limit + MARGIN
    python = sys.executable
    job = {
        "notebook": str(out / "submission.ipynb"),
        "probes": [
            {
                "test": t["test"],
                "question": t["question"],
                "function": t["probe"],
                "names": t["names"],
                "source": t["probe_source"],
            }
            for t in tests
        ],
        "cell_limit": limit,
        "run_limit": run_limit,
        "kernel_uid": KERNEL_UID,
        "kernel_cpu_seconds": int(run_limit),
        "out_dir": str(out),
        "runtime_dir": str(out / "runtime"),
        "workdir": str(work),
        "in_sandbox": False,
        "kernel_env": {
            "PATH": os.path.dirname(python) + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": str(work),
            "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
            "NGD_KERNEL_CWD": str(work),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        },
    }
    (out / "job.json").write_text(json.dumps(job))
    start = time.monotonic()
    try:
        subprocess.run(
            [
                python,
                "-I",
                str(SOURCE / "ngd_grading" / "supervisor.py"),
                str(out / "job.json"),
            ],
            timeout=run_limit + 30,
            capture_output=True,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        results["output"] = (
            f"The run took longer than {run_limit:.0f} s and was stopped."
        )
    kill_uid(KERNEL_UID)
    checked = subprocess.run(
        [
            python,
            "-I",
            str(SOURCE / "ngd_grading" / "checker.py"),
            str(SOURCE),
            str(out / "answers.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    checks = json.loads(checked.stdout.strip().splitlines()[-1])["tests"]
    by_question: dict[str, dict] = {}
    for test in checks.values():
        entry = by_question.setdefault(
            test["question"], {"score": 0.0, "max_score": 0.0}
        )
        entry["score"] += test["score"]
        entry["max_score"] += test["points"]
    for question, entry in by_question.items():
        results["tests"].append(
            {
                "name": question,
                "score": round(entry["score"], 5),
                "max_score": round(entry["max_score"], 5),
                "visibility": "after_published",
            }
        )
    results["score"] = round(sum(t["score"] for t in results["tests"]), 5)
    results["execution_time"] = round(time.monotonic() - start, 1)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
