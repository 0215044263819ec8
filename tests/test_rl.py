"""Tests for ngd_lib.rl: rollouts against their per-episode twin, the Monte-Carlo
estimators against the closed forms of ngd_lib.lq, the KL step and the trainer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ngd_lib import lq, rl

RECITATION = lq.LinearQuadratic()
PETERS = lq.LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)
GENERAL = lq.LinearQuadratic(a=0.8, b=-1.5, q=2.0, r=0.3, gamma=0.8, s0_mean=-0.4,
                             s0_var=0.5)

#: Monte-Carlo estimates must lie within this many standard errors of the closed form.
Z_TOL = 4.0


# --------------------------------------------------------------------- rollouts
def test_rollout_equals_the_per_episode_reference_loop():
    env = GENERAL
    fast = rl.rollout(env, -0.2, 0.4, n_episodes=7, horizon=13, rng=3)
    slow = rl.rollout_reference(env, -0.2, 0.4, n_episodes=7, horizon=13, rng=3)
    for name in ("states", "actions", "rewards"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name),
                                   rtol=1e-13, atol=1e-13)


def test_rollout_shapes_and_dynamics(rng):
    env = GENERAL
    ro = rl.rollout(env, -0.2, 0.4, n_episodes=5, horizon=8, rng=rng)
    assert ro.states.shape == (5, 9) and ro.actions.shape == (5, 8)
    assert ro.rewards.shape == (5, 8) and (ro.n_episodes, ro.horizon) == (5, 8)
    np.testing.assert_allclose(ro.states[:, 1:],
                               env.a * ro.states[:, :-1] + env.b * ro.actions)
    np.testing.assert_allclose(ro.rewards,
                               -env.q * ro.states[:, :-1] ** 2 - env.r * ro.actions**2)
    np.testing.assert_allclose(ro.discounted_returns,
                               (ro.rewards * env.gamma ** np.arange(8)).sum(axis=1))
    assert ro.scores.shape == (5, 8, 2)


@pytest.mark.parametrize("fn", [rl.rollout, rl.rollout_reference])
@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("env", -0.5, 0.3), {}, TypeError, "env must be a LinearQuadratic"),
        ((None, -0.5, 0.0), {}, ValueError, "sigma must be finite and > 0"),
        ((None, -0.5, 0.3), {"n_episodes": 0}, ValueError, "n_episodes must be >= 1"),
        ((None, -0.5, 0.3), {"horizon": 0}, ValueError, "horizon must be >= 1"),
        ((None, -0.5, 0.3), {"horizon": 2.5}, TypeError, "horizon must be an integer"),
        ((None, "k", 0.3), {}, TypeError, "k must be a real number"),
        ((None, -0.5, 0.3), {"rng": "seed"}, TypeError, "rng must be None"),
    ],
)
def test_rollout_validates_its_arguments(fn, args, kwargs, error, match):
    env = args[0] if args[0] is not None else RECITATION
    options = {"n_episodes": 3, "horizon": 4, "rng": 0, **kwargs}
    with pytest.raises(error, match=match):
        fn(env, *args[1:], **options)


def test_estimators_validate_their_arguments():
    ro = rl.rollout(RECITATION, -0.5, 0.3, n_episodes=30, horizon=5, rng=0)
    one = rl.rollout(RECITATION, -0.5, 0.3, n_episodes=1, horizon=5, rng=0)
    with pytest.raises(TypeError, match="rollout must be a Rollout"):
        rl.policy_gradient_estimate(ro.states)
    with pytest.raises(TypeError, match="rollout must be a Rollout"):
        rl.fisher_estimate(None)
    with pytest.raises(ValueError, match="method must be one of"):
        rl.policy_gradient_estimate(ro, method="ppo")
    with pytest.raises(ValueError, match="at least 2 episodes"):
        rl.policy_gradient_estimate(one)
    with pytest.raises(ValueError, match="at least 2 episodes"):
        rl.fisher_estimate(one, return_stderr=True)
    with pytest.raises(ValueError, match="damping must be finite and >= 0"):
        rl.natural_gradient_estimate(ro, damping=-1.0)
    with pytest.raises(ValueError, match="n_batches must be >= 2"):
        rl.natural_gradient_estimate(ro, n_batches=1)
    with pytest.raises(ValueError, match="at least 2 \\* n_batches = 40"):
        rl.natural_gradient_estimate(ro, n_batches=20)
    with pytest.raises(ValueError, match="method must be one of"):
        rl.natural_gradient_estimate(ro, method="ppo")


def test_natural_gradient_estimate_rejects_a_singular_fisher():
    # with s0 = 0 and a single step the k-score eps*s/sigma is zero: F is singular
    env = lq.LinearQuadratic(s0_var=0.0)
    ro = rl.rollout(env, -0.5, 0.3, n_episodes=40, horizon=1, rng=0)
    with pytest.raises(ValueError, match="must be positive definite"):
        rl.natural_gradient_estimate(ro)
    w = rl.natural_gradient_estimate(ro, damping=1e-3)
    assert w.grad[0] == 0.0


def test_estimators_are_the_dense_sums_they_claim(rng):
    ro = rl.rollout(GENERAL, -0.2, 0.4, n_episodes=6, horizon=5, rng=rng)
    g = GENERAL.gamma
    scores = ro.scores
    F = sum(g**t * np.outer(scores[i, t], scores[i, t])
            for i in range(6) for t in range(5)) / 6
    np.testing.assert_allclose(rl.fisher_estimate(ro), F, rtol=1e-12)
    # REINFORCE without a baseline: mean of (sum of scores) * (discounted return)
    reinforce = np.mean([scores[i].sum(axis=0) * sum(g**t * ro.rewards[i, t]
                                                     for t in range(5))
                         for i in range(6)], axis=0)
    est = rl.policy_gradient_estimate(ro, method="reinforce", baseline=False)
    np.testing.assert_allclose(est.grad, reinforce, rtol=1e-12)
    # GPOMDP without a baseline: each score times the rewards from its step on
    gpomdp = np.mean([sum(scores[i, t] * sum(g**u * ro.rewards[i, u]
                                             for u in range(t, 5)) for t in range(5))
                      for i in range(6)], axis=0)
    est = rl.policy_gradient_estimate(ro, method="gpomdp", baseline=False)
    np.testing.assert_allclose(est.grad, gpomdp, rtol=1e-12)


# ------------------------------------------------------------------ Monte Carlo
@pytest.mark.slow
@pytest.mark.parametrize(("env", "k", "sigma"), [(RECITATION, -0.5, 0.5),
                                                 (PETERS, -0.4, 0.5)])
def test_monte_carlo_estimates_match_the_closed_forms(env, k, sigma):
    horizon = env.effective_horizon(k, tol=1e-7)
    ro = rl.rollout(env, k, sigma, n_episodes=10_000, horizon=horizon,
                    rng=np.random.default_rng(2024))
    J = env.expected_return(k, sigma)
    grad = env.policy_gradient(k, sigma)
    for method in ("gpomdp", "reinforce"):
        est = rl.policy_gradient_estimate(ro, method=method)
        assert np.all(np.abs(est.grad - grad) <= Z_TOL * est.stderr), method
        assert abs(est.return_mean - J) <= Z_TOL * est.return_stderr
    F_hat, F_se = rl.fisher_estimate(ro, return_stderr=True)
    F = env.fisher(k, sigma)
    assert np.all(np.abs(F_hat - F) <= Z_TOL * F_se)
    w_hat = rl.natural_gradient_estimate(ro, n_batches=20)
    w = env.natural_gradient(k, sigma)
    assert np.all(np.abs(w_hat.grad - w) <= Z_TOL * w_hat.stderr)


@pytest.mark.slow
def test_gpomdp_with_baseline_has_lower_variance_than_reinforce():
    ro = rl.rollout(RECITATION, -0.5, 0.5, n_episodes=4000, horizon=130, rng=7)
    gpomdp = rl.policy_gradient_estimate(ro, method="gpomdp")
    reinforce = rl.policy_gradient_estimate(ro, method="reinforce")
    no_baseline = rl.policy_gradient_estimate(ro, method="gpomdp", baseline=False)
    assert np.all(gpomdp.stderr < reinforce.stderr)
    assert np.all(gpomdp.stderr < no_baseline.stderr)


# ----------------------------------------------------------------- step sizes
def test_kl_step_size_puts_the_natural_step_on_the_kl_sphere(rng):
    A = rng.standard_normal((3, 3))
    F = A @ A.T + 0.5 * np.eye(3)
    g = rng.standard_normal(3)
    for max_kl in (1e-3, 0.01, 0.5):
        alpha = rl.kl_step_size(g, F, max_kl=max_kl)
        delta = alpha * np.linalg.solve(F, g)
        assert 0.5 * delta @ F @ delta == pytest.approx(max_kl, rel=1e-12)
    # the transcription pitfall sqrt(2 max_kl / g^T F g) misses the sphere
    wrong = math.sqrt(2 * 0.01 / (g @ F @ g)) * np.linalg.solve(F, g)
    assert abs(0.5 * wrong @ F @ wrong - 0.01) > 1e-4


def test_kl_step_size_approximates_the_exact_policy_kl():
    k, sigma, max_kl = -0.1, 0.9, 1e-4
    g, F = PETERS.policy_gradient(k, sigma), PETERS.fisher(k, sigma)
    dk, ds = rl.kl_step_size(g, F, max_kl) * np.linalg.solve(F, g)
    exact = PETERS.discounted_kl(k, sigma, k + dk, sigma + ds)
    assert exact == pytest.approx(max_kl, rel=0.02)


@pytest.mark.parametrize(
    ("g", "F", "max_kl", "match"),
    [
        ([0.0, 0.0], np.eye(2), 0.1, "grad is the zero vector"),
        ([1.0, 0.0], np.eye(3), 0.1, "fisher must be 2 x 2"),
        ([1.0, 0.0], np.eye(2), 0.0, "max_kl must be finite and > 0"),
        ([1.0, 0.0], -np.eye(2), 0.1, "fisher must be positive definite"),
        ([[1.0, 0.0]], np.eye(2), 0.1, "grad must be a 1-D vector"),
    ],
)
def test_kl_step_size_validates(g, F, max_kl, match):
    with pytest.raises(ValueError, match=match):
        rl.kl_step_size(g, F, max_kl)


def test_train_policy_gradient_natural_kl_beats_vanilla_on_the_same_budget(capsys):
    options = {"max_iter": 120, "n_episodes": 50, "horizon": 100}
    k_star = PETERS.optimal_gain()
    vanilla = rl.train_policy_gradient(PETERS, [-0.1, 0.9], natural=False, lr=0.025,
                                       rng=1, **options)
    natural = rl.train_policy_gradient(PETERS, [-0.1, 0.9], natural=True,
                                       max_kl=0.01, rng=1, progress=True, **options)
    assert vanilla.success and natural.success
    assert abs(vanilla.x[0] - k_star) > 0.2
    assert abs(natural.x[0] - k_star) < 0.1
    assert natural.history.episodes[-1] == vanilla.history.episodes[-1] == 6000
    assert natural.history.x.shape == (121, 2) and natural.nit == 120
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("natural  120/120")


def test_train_policy_gradient_stops_when_a_step_leaves_the_stable_region():
    res = rl.train_policy_gradient(RECITATION, [-0.1, 0.9], natural=False, lr=50.0,
                                   max_iter=20, n_episodes=20, horizon=50, rng=0)
    assert not res.success and "left the stable region" in res.message
    assert RECITATION.is_stable(res.x[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.1, "max_kl": 0.01}, "exactly one of lr and max_kl"),
        ({}, "exactly one of lr and max_kl"),
        ({"lr": 0.1, "n_episodes": 10}, "n_episodes must be >= 20"),
        ({"max_kl": -0.1}, "max_kl must be finite and > 0"),
        ({"lr": 0.1, "sigma_min": 0.0}, "sigma_min must be finite and > 0"),
        ({"lr": 0.1, "damping": -1.0}, "damping must be finite and >= 0"),
    ],
)
def test_train_policy_gradient_validates(kwargs, match):
    options = {"max_iter": 2, "n_episodes": 20, "horizon": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        rl.train_policy_gradient(RECITATION, [-0.1, 0.9], natural=True, **options)


def test_train_policy_gradient_history_has_one_row_per_iterate_after_a_failure():
    res = rl.train_policy_gradient(RECITATION, [-0.1, 0.9], natural=False, lr=1e6,
                                   max_iter=5, n_episodes=20, horizon=20, rng=0)
    assert not res.success
    h = res.history
    for name, values in [("x", h.x), ("fun", h.fun), ("grad_norm", h.grad_norm),
                         ("estimated_return", h.estimated_return),
                         ("episodes", h.episodes)]:
        assert len(values) == res.nit + 1, name


def test_kl_step_size_handles_a_tiny_gradient_without_underflow():
    F = np.diag([4.0, 1.0])
    g = np.array([1e-200, 0.0])
    alpha = rl.kl_step_size(g, F, 0.01)
    d = alpha * np.linalg.solve(F, g)
    assert np.isfinite(alpha)
    np.testing.assert_allclose(np.sqrt(0.5 * d @ F @ d), np.sqrt(0.01), rtol=1e-12)


def test_train_policy_gradient_kl_step_spends_the_budget_on_the_estimated_fisher():
    # the first iteration, recomputed from the same random numbers: the step is
    # alpha * F_hat^-1 g_hat with 1/2 alpha^2 d^T F_hat d = max_kl (ngd.kl_step_size)
    theta0, options = np.array([-0.1, 0.9]), {"n_episodes": 40, "horizon": 60}
    res = rl.train_policy_gradient(PETERS, theta0, natural=True, max_kl=0.01,
                                   max_iter=1, rng=5, **options)
    ro = rl.rollout(PETERS, *theta0, rng=np.random.default_rng(5), **options)
    scale = 1 - PETERS.gamma
    g = scale * rl.policy_gradient_estimate(ro).grad
    F = scale * rl.fisher_estimate(ro) + 1e-3 * np.eye(2)
    d = np.linalg.solve(F, g)
    step = res.history.x[1] - res.history.x[0]
    np.testing.assert_allclose(step, res.history.step_size[0] * d, rtol=1e-10)
    assert 0.5 * step @ F @ step == pytest.approx(0.01, rel=1e-10)
    assert res.history.step_size[0] == pytest.approx(rl.kl_step_size(g, F, 0.01),
                                                     rel=1e-12)
    assert res.status == "max_iter" and res.success and np.isnan(
        res.history.step_size[-1])


def test_train_policy_gradient_reports_its_own_overflow_not_the_callers():
    # k = 0.04 is stable (gamma c^2 = 0.97) but |a + b k| = 1.04 > 1: 20,000 steps
    # overflow the states; the run reports it instead of raising about "k"
    res = rl.train_policy_gradient(RECITATION, [0.04, 0.3], natural=True, max_kl=0.01,
                                   max_iter=3, n_episodes=20, horizon=20_000, rng=0)
    assert not res.success and res.status == "overflow" and res.nit == 0
    assert res.message.startswith("iteration 0: the rollouts at k = 0.04")
    np.testing.assert_array_equal(res.x, [0.04, 0.3])
    assert np.isfinite(res.fun) and res.history.x.shape == (1, 2)


def test_rollout_records_no_overflow_for_ordinary_episodes_and_twins_agree():
    fast = rl.rollout(GENERAL, -0.2, 0.4, n_episodes=7, horizon=13, rng=3)
    slow = rl.rollout_reference(GENERAL, -0.2, 0.4, n_episodes=7, horizon=13, rng=3)
    assert fast.overflow_step is None and slow.overflow_step is None
