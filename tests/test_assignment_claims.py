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

from ngd_lib import lq

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


@pytest.mark.parametrize("setting", ["master", "peters"])
def test_hw3_closed_forms_agree_with_ngd_lib_lq_without_process_noise(setting):
    # hw3 tells students that ngd_lib.lq can check their answers when noise_var = 0
    # and has no answer with noise: both halves of that sentence, for the master's
    # solutions, in the master's environment and in Peters & Schaal's
    ns = solution_namespace("hw3_policy_gradient/hw3_policy_gradient.ipynb",
                            "expected_return", "policy_gradient", "fisher",
                            "natural_gradient", "optimal_gain", "ascent_path")
    fields = {**vars(ns["env"]), "noise_var": 0.0}
    if setting == "peters":
        fields.update(a=1.0, b=1.0, q=0.5, r=0.05, gamma=0.95, s0_mean=0.3,
                      s0_var=1e-4)
    quiet = SimpleNamespace(**fields)
    env = lq.LinearQuadratic(**{name: fields[name] for name in
                                ("a", "b", "q", "r", "gamma", "s0_mean", "s0_var")})
    lo, hi = env.stable_gains()
    for k, sigma in [(lo + 0.3 * (hi - lo), 0.2), (lo + 0.6 * (hi - lo), 0.9)]:
        assert ns["expected_return"](k, sigma, quiet) == pytest.approx(
            env.expected_return(k, sigma), rel=1e-12)
        np.testing.assert_allclose(ns["policy_gradient"](k, sigma, quiet),
                                   env.policy_gradient(k, sigma), rtol=1e-10)
        np.testing.assert_allclose(ns["fisher"](k, sigma, quiet),
                                   env.fisher(k, sigma), rtol=1e-12)
        np.testing.assert_allclose(ns["natural_gradient"](k, sigma, quiet),
                                   env.natural_gradient(k, sigma), rtol=1e-10)
    assert ns["optimal_gain"](quiet) == pytest.approx(env.optimal_gain(), abs=1e-10)
    for natural in (False, True):
        path = ns["ascent_path"](quiet, -0.1, 0.9, 0.025, natural)
        res = env.gradient_ascent_path((-0.1, 0.9), natural=natural, lr=0.025)
        np.testing.assert_allclose(path, res.history.x, rtol=1e-9, atol=1e-12)
    # with process noise the closed forms of ngd_lib.lq no longer apply
    noisy = SimpleNamespace(**{**fields, "noise_var": 0.5})
    k, sigma = lo + 0.5 * (hi - lo), 0.5
    assert ns["expected_return"](k, sigma, noisy) < env.expected_return(k, sigma)
