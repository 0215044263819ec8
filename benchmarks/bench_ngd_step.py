"""Cost of one natural-gradient step for softmax regression with P = 10^3 ... 10^5.

One step = the gradient and the solve (F + damping I) d = g, computed by
``natural_gradient_direction``:

* direct:   Cholesky of the dense exact Fisher (P x P);
* CG:       10 conjugate-gradient iterations on exact Fisher-vector products, as in
            TRPO (no P x P matrix);
* Woodbury: the empirical Fisher of the n examples, an n x n solve.

Times are medians of several runs (one run for the dense solve at P = 10^4, which
takes tens of seconds), reported relative to one gradient evaluation (``model.grad``)
timed in the same process, all with one BLAS thread (on a shared 2-core machine,
multithreaded timings of these products vary several-fold from run to run). Peak
memory is what numpy and Python allocate during one step (the data themselves are
allocated before). Target: at P = 10^5 the CG step stays under 1 GB and under 20
gradient evaluations of time.

Run: python benchmarks/bench_ngd_step.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, median_time, peak_memory_mb, print_table  # noqa: E402

import ngd_lib as ngd  # noqa: E402
from ngd_lib import curvature  # noqa: E402

N_SAMPLES, N_CLASSES, DAMPING, CG_ITERATIONS = 500, 10, 1e-3, 10
SIZES = (1_000, 10_000, 100_000)
# the dense route needs the P x P Fisher several times over (the matrix, its
# symmetrised copy, the Cholesky factor): skip it where that passes a few GB
DIRECT_LIMIT = 10_000


def make_problem(n_params: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_features = n_params // N_CLASSES
    X = rng.standard_normal((N_SAMPLES, n_features)) / np.sqrt(n_features)
    model = ngd.SoftmaxRegression(n_classes=N_CLASSES)
    theta = rng.standard_normal(n_params)
    y = model.sample(theta, X, rng)
    return model, 0.5 * theta, X, y


def measure(n_params: int) -> tuple[list, bool]:
    """Table rows for one problem size, and whether the CG target holds there."""
    model, theta, X, y = make_problem(n_params)

    def gradient():
        return model.grad(theta, X, y)

    grad_time = median_time(gradient, repeat=7)
    methods = {  # built lazily: the dense builder refuses a P x P Fisher over 4 GiB
        "direct (Cholesky)": lambda: curvature.exact(model, X),
        f"CG, {CG_ITERATIONS} iterations": lambda: curvature.exact(
            model, X, matrix_free=True, cg_max_iter=CG_ITERATIONS),
        f"Woodbury (empirical Fisher, n = {N_SAMPLES})": lambda: curvature.empirical(
            model, X, y),
    }
    rows, ok = [], True
    for name, builder in methods.items():
        direct = name.startswith("direct")
        if direct and n_params > DIRECT_LIMIT:
            gigabytes = 8 * n_params**2 / 1e9
            rows.append((f"{n_params:,}", name, "skipped", "-", "-",
                         f"the P x P Fisher alone would take {gigabytes:.0f} GB"))
            continue

        def step(builder=builder):
            return ngd.natural_gradient_direction(model, theta, X, y, damping=DAMPING,
                                                  curvature=builder(),
                                                  with_curvature=False)

        slow = direct and n_params >= 10_000
        seconds = median_time(step, repeat=1, warmup=0) if slow else median_time(step)
        memory = peak_memory_mb(step)
        ratio = seconds / grad_time
        note = "1 run" if slow else ""
        if name.startswith("CG") and n_params == SIZES[-1]:
            ok = memory < 1024 and ratio < 20
            note = "target < 1 GB and < 20 gradients: " + ("met" if ok else "NOT met")
        rows.append((f"{n_params:,}", name, 1e3 * seconds, ratio, memory, note))
    rows.append((f"{n_params:,}", "one gradient evaluation", 1e3 * grad_time, 1.0,
                 peak_memory_mb(gradient), ""))
    return rows, ok


def main() -> int:
    print(f"# {machine_line()}, one BLAS thread")
    rows, ok = [], True
    with threadpool_limits(limits=1):
        for n_params in SIZES:
            size_rows, size_ok = measure(n_params)
            rows += size_rows
            ok = ok and size_ok
    print_table(
        f"One NGD step, softmax regression (n = {N_SAMPLES}, k = {N_CLASSES}, "
        f"damping = {DAMPING:g})",
        ["parameters P", "method", "time (ms)", "time / gradient", "peak memory (MB)",
         "note"],
        rows)
    print(f"\nCG target at P = {SIZES[-1]:,}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
