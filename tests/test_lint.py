"""The library, tests, benchmarks and tools pass ruff (the style in STYLE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINTED = ["ngd_lib", "tests", "benchmarks", "tools", "assignments/tools",
          "assignments/plugins"]


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--output-format", "concise", *LINTED],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
