"""Numbers that the assignments' written solutions state, recomputed.

The written (manually graded) answers of the master notebooks quote numbers; a grader
reads them as the reference, so they are checked here like the book's numbers. The
functions come from the masters' own solution cells, so a change of a solution that
moves a quoted number fails this test.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def solution_namespace(master: str, *defines: str) -> dict:
    """Run the master's first code cell and the code cells that define ``defines``."""
    nb = nbformat.read(ROOT / "assignments" / master, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    chosen = [code[0]] + [src for src in code[1:]
                          if any(f"def {name}(" in src for name in defines)]
    namespace: dict = {}
    for src in chosen:
        exec(compile(src, master, "exec"), namespace)  # noqa: S102 - our own masters
    missing = [name for name in defines if name not in namespace]
    assert not missing, f"{master} defines no {missing}"
    return namespace


def test_hw2_q5_ngd_step_counts_for_the_stated_data():
    ns = solution_namespace("hw2_natural_gradient/hw2_natural_gradient.ipynb",
                            "gaussian_grad", "gaussian_fisher", "ngd_path")
    # x_obs as the master draws it, after the Poisson data of the first cell
    master = ROOT / "assignments/hw2_natural_gradient/hw2_natural_gradient.ipynb"
    nb = nbformat.read(master, as_version=4)
    draw = [c.source for c in nb.cells if c.cell_type == "code"
            and c.source.startswith("x_obs = rng.normal(3.0, 0.05, size=500)")]
    assert len(draw) == 1
    exec(draw[0].splitlines()[0], ns)  # noqa: S102
    x_obs = ns["x_obs"]
    assert x_obs.std() == pytest.approx(0.0502873, rel=1e-6)  # the master's x_obs

    def steps_to_tolerance(x):
        path = ns["ngd_path"](x, 0.0, 1.0, lr=0.5, n_steps=200)
        norms = [np.linalg.norm(ns["gaussian_grad"](x, *eta)) for eta in path]
        return next(t for t, g in enumerate(norms) if g < 1e-6)

    rescaled = [steps_to_tolerance(3 + (s / 0.05) * (x_obs - 3))
                for s in (0.5, 0.05, 0.005)]
    assert rescaled == [28, 41, 54]
    fresh = np.random.default_rng(0)
    assert [steps_to_tolerance(fresh.normal(3.0, s, size=500))
            for s in (0.5, 0.05, 0.005)] == [28, 41, 54]


@pytest.mark.parametrize("noise_var", [0.0, 0.01, 1.0])
def test_hw3_q4_process_noise_does_not_change_the_optimal_gain(noise_var):
    ns = solution_namespace("hw3_policy_gradient/hw3_policy_gradient.ipynb",
                            "expected_return", "optimal_gain")
    env = SimpleNamespace(**{**vars(ns["env"]), "noise_var": noise_var})
    grid = np.linspace(-1.5, 0.0, 15_001)
    returns = [ns["expected_return"](k, 1e-3, env) for k in grid]
    best = grid[int(np.argmax(returns))]
    k_star = ns["optimal_gain"](env)
    assert abs(best - k_star) <= 1e-4
    assert k_star == pytest.approx(ns["optimal_gain"](ns["env"]), abs=1e-12)
    # the noise does lower the return
    if noise_var > 0:
        quiet = SimpleNamespace(**{**vars(ns["env"]), "noise_var": 0.0})
        assert ns["expected_return"](k_star, 0.5, env) < ns["expected_return"](
            k_star, 0.5, quiet)
