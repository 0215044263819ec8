"""Grading at class scale: N honest hw2 submissions, each in its own sandbox.

Releases hw2 into a temporary folder, writes N copies of its solutions notebook (each
with a different student name and a harmless extra cell, so no two files are equal),
grades them with ``assignments/tools/grade.py --jobs J`` exactly as ``make grade``
does, and prints the total wall time, the per-submission times and whether every
submission got full marks. Target on a 2-core machine: 60 submissions in at most 15
minutes (900 s).

Usage: python benchmarks/bench_grading.py [--students 60] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, print_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "assignments" / "tools"))
import release  # noqa: E402

NAME = "hw2_natural_gradient"
TARGET_SECONDS = 900


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="ngd-bench-grading-") as tmp:
        tmp = Path(tmp)
        dist = tmp / "dist"
        release.release(NAME, dist, run_tests=False, quiet=True)
        solutions = nbformat.read(release.solutions_path(dist, NAME), as_version=4)
        folder = tmp / "submissions"
        folder.mkdir()
        for i in range(args.students):
            nb = solutions
            nb.cells.append(nbformat.v4.new_code_cell(f"student_id = {i}"))
            nbformat.write(nb, folder / f"student_{i:03d}.ipynb")
            nb.cells.pop()
        out = tmp / "grades.csv"
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "assignments" / "tools" / "grade.py"),
             "--assignment", NAME, "--submissions", str(folder), "--out", str(out),
             "--dist", str(dist), "--jobs", str(args.jobs)],
            capture_output=True, text=True,
        )
        total = time.monotonic() - start
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return 1
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    seconds = [float(r["seconds"]) for r in rows]
    full = sum(1 for r in rows if r["total"] == r["possible"] and not r["flags"])
    print_table(
        f"Grading {len(rows)} honest {NAME} submissions",
        ["submissions", "jobs", "total [s]", "per submission: mean [s]", "median [s]",
         "max [s]", "full marks", f"within {TARGET_SECONDS} s"],
        [[len(rows), args.jobs, f"{total:.0f}", f"{statistics.mean(seconds):.1f}",
          f"{statistics.median(seconds):.1f}", f"{max(seconds):.1f}",
          f"{full}/{len(rows)}", str(total <= TARGET_SECONDS)]],
    )
    return 0 if full == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
