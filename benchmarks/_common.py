"""Timing and table helpers shared by the benchmark scripts.

Each benchmark times the median of several runs and reports ratios against a
baseline run in the same process, so the numbers compare like with like on
whatever machine runs them.
"""

from __future__ import annotations

import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np


def median_time(fn: Callable[[], object], *, repeat: int = 5,
                warmup: int = 1) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn``, after ``warmup``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory_mb(fn: Callable[[], object]) -> float:
    """Peak memory in MB that Python and numpy allocate during one call of ``fn``."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Print a Markdown table (pasteable into benchmarks/README.md)."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    def line(values):
        padded = (v.ljust(w) for v, w in zip(values, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    print(f"\n### {title}\n")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))


def machine_line() -> str:
    """One line describing the machine and numpy, printed above each table."""
    return (f"{platform.machine()}, Python {platform.python_version()}, "
            f"numpy {np.__version__}, {platform.processor() or 'cpu'}")
