"""Iterations to tolerance against the condition number, for GD and NGD.

Two problems, each run at condition numbers kappa = 1 ... 10^4 of the Hessian at the
optimum, where kappa is set by the scale of the data:

* fitting N(mu, sigma^2) in (mu, log sigma) to 1000 samples of scale s: the Fisher at
  the optimum is diag(1/s^2, 2), so kappa = max(1/s^2, 2) / min(1/s^2, 2) exactly;
* logistic regression (n = 2000, a bias and two features) whose second feature is
  multiplied by c; the labels do not change with c, so each run is the same problem in
  rescaled coordinates, and c is chosen to give the wanted kappa.

Gradient descent uses the best fixed step for the Hessian at the optimum,
2 / (lambda_min + lambda_max); NGD uses the exact Fisher and lr = 1. Both stop when
the loss is within 1e-10 of its minimum. Times are medians of 3 runs with one BLAS
thread, with the ratio GD / NGD. Expected: NGD's count flat, GD's growing like kappa.

Run: python benchmarks/bench_kappa.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, median_time, print_table  # noqa: E402

import ngd_lib as ngd  # noqa: E402
from ngd_lib.optimize import best_fixed_step  # noqa: E402

KAPPAS = (1.0, 10.0, 100.0, 1e3, 1e4)
GAP = 1e-10
MAX_GD_STEPS = 500_000


def gaussian_problem(kappa: float):
    """(model, X, y, start) with Hessian condition number kappa at the optimum."""
    noise = np.random.default_rng(0).standard_normal(1000)
    noise = (noise - noise.mean()) / noise.std()  # the MLE of sigma is exactly s
    s = 1.0 / math.sqrt(2.0 * kappa)
    model = ngd.GaussianRegression("log_std")
    X, y = np.ones((noise.size, 1)), 1.0 + s * noise
    optimum = model.mle(X, y)
    return model, X, y, np.array([optimum[0] + 2 * s, math.log(2 * s)])


def logistic_base(seed: int = 0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((2000, 2))
    X = np.column_stack([np.ones(2000), features])
    y = (rng.random(2000) < 1 / (1 + np.exp(-X @ [0.3, 1.0, -0.5]))).astype(int)
    model = ngd.LogisticRegression()
    optimum = ngd.natural_gradient_descent(model, np.zeros(3), X, y, tol=1e-12).x
    return model, X, y, optimum


def logistic_problem(kappa: float, base):
    """Scale the second feature by c so that the Hessian at the optimum has kappa."""
    model, X, y, optimum = base

    def condition(log_c):
        c = math.exp(log_c)
        scale = np.array([1.0, 1.0, c])
        eigenvalues = np.linalg.eigvalsh(model.hessian(optimum / scale, X * scale, y))
        return eigenvalues[-1] / eigenvalues[0]

    low, high = 0.0, 10.0  # bisection on log c; kappa grows with c from kappa(1)
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if condition(middle) < kappa else (low, middle)
    scale = np.array([1.0, 1.0, math.exp(low)])
    return model, X * scale, y, np.zeros(3), condition(low)


def count_iterations(model, X, y, start):
    """(GD steps, NGD steps, GD seconds, NGD seconds) to loss - L* <= GAP."""
    optimum = ngd.natural_gradient_descent(model, start, X, y, tol=1e-12,
                                           max_iter=200).x
    best = model.nll(optimum, X, y)
    lr = best_fixed_step(model.hessian(optimum, X, y))

    def close(theta, t):
        return model.nll(theta, X, y) - best <= GAP

    def gd():
        return ngd.gradient_descent(lambda th: model.nll(th, X, y),
                                    lambda th: model.grad(th, X, y), start, lr=lr,
                                    max_iter=MAX_GD_STEPS, tol=0.0, callback=close)

    def nat():
        return ngd.natural_gradient_descent(model, start, X, y, tol=0.0,
                                            max_iter=200, callback=close)

    gd_res, ngd_res = gd(), nat()
    for res in (gd_res, ngd_res):
        if not close(res.x, res.nit):  # the callback stopped it at the tolerance
            raise RuntimeError(f"a run did not reach the tolerance: {res.message}")
    return (gd_res.nit, ngd_res.nit, median_time(gd, repeat=3, warmup=0),
            median_time(nat, repeat=3, warmup=0))


def main() -> int:
    print(f"# {machine_line()}, one BLAS thread")
    rows = []
    flat = True
    with threadpool_limits(limits=1):
        base = logistic_base()
        for problem in ("Gaussian (mu, log sigma)", "logistic regression"):
            counts = []
            for kappa in KAPPAS:
                if problem.startswith("Gaussian"):
                    model, X, y, start = gaussian_problem(kappa)
                    measured = kappa
                else:
                    if kappa < 2:  # a logistic Hessian cannot be perfectly conditioned
                        continue
                    model, X, y, start, measured = logistic_problem(kappa, base)
                gd_steps, ngd_steps, gd_time, ngd_time = count_iterations(model, X, y,
                                                                          start)
                counts.append(ngd_steps)
                rows.append((problem, f"{measured:.3g}", gd_steps, ngd_steps,
                             1e3 * gd_time, 1e3 * ngd_time, gd_time / ngd_time))
            flat = flat and max(counts) - min(counts) <= 1
    print_table(
        f"Iterations to loss - L* <= {GAP:g} against the condition number "
        "(median time of 3 runs)",
        ["problem", "kappa", "GD steps", "NGD steps", "GD time (ms)", "NGD time (ms)",
         "time GD / NGD"],
        rows)
    print(f"\nNGD's count flat across kappa (spread <= 1 step): {flat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
