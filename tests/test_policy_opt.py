"""Tests for ngd_lib.policy_opt (compatible features, eNAC, TRPO, PPO, Newton) against
the closed forms of ngd_lib.lq, and for the pendulum of ngd_lib.control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ngd_lib import control, lq, rl
from ngd_lib import policy_opt as po

PETERS = lq.LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)
RECITATION = lq.LinearQuadratic()
#: Monte-Carlo estimates must lie within this many standard errors of the closed form.
Z_TOL = 4.0


def _batch(env, k, sigma, n, horizon, seed):
    return po.from_rollout(rl.rollout(env, k, sigma, n_episodes=n, horizon=horizon,
                                      rng=seed))


# ------------------------------------------------------- estimates and twins
def test_batch_estimates_are_the_normalised_rl_estimates():
    ro = rl.rollout(RECITATION, -0.5, 0.5, n_episodes=300, horizon=60, rng=0)
    b = po.from_rollout(ro)
    scale = 1 - RECITATION.gamma
    np.testing.assert_allclose(po.policy_gradient(b),
                               scale * rl.policy_gradient_estimate(ro).grad,
                               rtol=1e-10)
    np.testing.assert_allclose(po.fisher(b), scale * rl.fisher_estimate(ro),
                               rtol=1e-10)
    v = np.array([0.3, -1.2])
    np.testing.assert_allclose(po.fisher_vector_product(b, v), po.fisher(b) @ v,
                               rtol=1e-12)


def test_compatible_regression_is_the_sample_natural_gradient():
    b = _batch(PETERS, -0.4, 0.5, 200, 80, 1)
    direct = np.linalg.solve(po.fisher(b), po.policy_gradient(b))
    for baseline in (True, False):
        fit = po.compatible_natural_gradient(b, baseline=baseline)
        twin = direct if baseline else np.linalg.solve(
            po.fisher(b), np.einsum("ntd,nt,t->d", b.scores, b.returns_to_go,
                                    b.weights) / b.n_episodes)
        np.testing.assert_allclose(fit.w, twin, rtol=1e-8)


@pytest.mark.parametrize("env, k, sigma", [(PETERS, -0.4, 0.5),
                                           (RECITATION, -0.5, 0.5)])
def test_compatible_regression_converges_to_the_closed_form(env, k, sigma):
    # 20 independent batches: their mean and its standard error
    horizon = env.effective_horizon(k, tol=1e-6)
    ws = np.array([po.compatible_natural_gradient(
        _batch(env, k, sigma, 200, horizon, seed)).w for seed in range(20)])
    mean, se = ws.mean(axis=0), ws.std(axis=0, ddof=1) / math.sqrt(len(ws))
    exact = env.natural_gradient(k, sigma)
    assert np.all(np.abs(mean - exact) <= Z_TOL * se), (mean, se, exact)


def test_the_lq_advantage_is_exactly_compatible_so_enac_is_exact_for_a_fixed_start():
    env = lq.LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=0.0)
    k, sigma = -0.4, 0.5
    b = _batch(env, k, sigma, 6, 600, 2)  # gamma^600 V(s_600) is negligible
    fit = po.episodic_natural_actor_critic(b)
    np.testing.assert_allclose(fit.w, env.natural_gradient(k, sigma), rtol=1e-6)
    np.testing.assert_allclose(fit.intercept[0], env.expected_return(k, sigma),
                               rtol=1e-6)
    assert fit.r2 > 1 - 1e-9


def test_enac_converges_to_the_closed_form_with_random_starts():
    env, k, sigma = RECITATION, -0.5, 0.5
    ws = np.array([po.episodic_natural_actor_critic(
        _batch(env, k, sigma, 100, 150, seed)).w for seed in range(20)])
    mean, se = ws.mean(axis=0), ws.std(axis=0, ddof=1) / math.sqrt(len(ws))
    exact = env.natural_gradient(k, sigma)
    assert np.all(np.abs(mean - exact) <= Z_TOL * se), (mean, se, exact)


def test_exact_kl_matches_monte_carlo_over_the_state_distribution():
    # mean_kl averages the per-state Gaussian KL over sampled states; its
    # expectation is (1 - gamma) times the closed-form discounted KL
    for env, (k, sigma) in ((PETERS, (-0.4, 0.5)), (RECITATION, (-0.5, 0.5))):
        b = _batch(env, k, sigma, 4000, env.effective_horizon(k, tol=1e-8), 3)
        new = np.array([k + 0.1, sigma * 0.8])
        per_episode = np.array([po.mean_kl(po.PolicyBatch(
            b.features[i:i + 2], b.actions[i:i + 2], b.rewards[i:i + 2], b.theta,
            b.gamma), new) for i in range(0, 4000, 2)])
        exact = (1 - env.gamma) * env.discounted_kl(k, sigma, *new)
        se = per_episode.std(ddof=1) / math.sqrt(len(per_episode))
        assert abs(per_episode.mean() - exact) <= Z_TOL * se
        assert abs(po.mean_kl(b, new) - per_episode.mean()) < 1e-12


# ------------------------------------------------------------------ TRPO
def test_trpo_with_exact_gradient_and_fisher_is_the_npg_kl_step():
    task = po.LQTask(PETERS)
    theta = np.array([-0.1, 0.9])
    g = PETERS.policy_gradient(*theta, normalized=True)
    F = PETERS.fisher(*theta, normalized=True)
    max_kl = 1e-4
    res = po.trpo_step(g, lambda v: F @ v, max_kl=max_kl,
                       kl=lambda s: task.kl(theta, theta + s))
    d = np.linalg.solve(F, g)
    npg = po.kl_step_size(d, F @ d, max_kl) * d
    assert res.cg_iterations <= 2  # CG is exact in two dimensions
    np.testing.assert_allclose(res.full_step_size * res.direction, npg, rtol=1e-9)
    np.testing.assert_allclose(d, PETERS.natural_gradient(*theta), rtol=1e-9)
    # the exact KL of the NPG step is a little above its quadratic model here (the
    # step shrinks sigma), so the line search halves it once
    assert task.kl(theta, theta + npg) > max_kl
    assert res.accepted and res.n_backtracks == 1
    np.testing.assert_allclose(res.step, 0.5 * npg, rtol=1e-9)


@pytest.mark.parametrize("max_kl", [1e-3, 1e-2, 0.1, 0.5, 2.0])
def test_line_search_never_accepts_a_step_beyond_the_exact_kl_budget(max_kl):
    task = po.LQTask(PETERS)
    for theta in ([-0.1, 0.9], [-1.5, 0.3], [-0.9, 0.1]):
        theta = np.array(theta)
        g = PETERS.policy_gradient(*theta, normalized=True)
        F = PETERS.fisher(*theta, normalized=True)

        def kl(step, theta=theta):
            return task.kl(theta, theta + step)

        res = po.trpo_step(g, F, max_kl=max_kl, kl=kl, max_backtracks=30)
        assert res.accepted
        assert kl(res.step) <= max_kl * (1 + 1e-9)
        if res.n_backtracks:  # the candidate before it broke the budget (or had
            try:                # sigma <= 0, where the KL is not defined)
                assert kl(res.step / 0.5) > max_kl
            except ValueError as err:
                assert "sigma_new must be > 0" in str(err)


def test_trpo_step_rejects_every_candidate_without_improvement():
    F = np.eye(2)
    res = po.trpo_step([1.0, 0.0], F, max_kl=0.01, kl=lambda s: 0.5 * s @ s,
                       improvement=lambda s: -1.0, max_backtracks=3)
    assert not res.accepted and res.n_backtracks == 4 and not np.any(res.step)


def test_trpo_cg_with_one_iteration_is_truncated():
    F = np.diag([1.0, 100.0])
    res = po.trpo_step([1.0, 1.0], F, max_kl=0.01, kl=lambda s: 0.5 * s @ F @ s,
                       cg_iter=1)
    assert res.cg_iterations == 1
    assert not np.allclose(res.direction, np.linalg.solve(F, [1.0, 1.0]))


# ------------------------------------------------------------------- PPO
def test_ppo_gradient_at_ratio_one_is_the_vanilla_policy_gradient():
    b = _batch(PETERS, -0.4, 0.5, 100, 80, 4)
    assert po.ppo_objective(b, b.theta) == pytest.approx(
        float(np.sum(b.advantages @ b.weights) / b.n_episodes))
    np.testing.assert_allclose(po.ppo_gradient(b, b.theta), po.policy_gradient(b),
                               rtol=1e-12)
    # the surrogate's gradient at the old policy is the same (central differences)
    h = 1e-6
    fd = [(po.surrogate_improvement(b, b.theta + h * e)
           - po.surrogate_improvement(b, b.theta - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(fd, po.policy_gradient(b), rtol=1e-5)


def test_ppo_gradient_matches_finite_differences_away_from_the_old_policy():
    b = _batch(PETERS, -0.4, 0.5, 50, 60, 5)
    theta = b.theta + np.array([0.15, -0.05])  # some ratios outside [0.8, 1.2]
    rho = np.exp(b.log_prob(theta) - b.log_prob(b.theta))
    assert np.any((rho < 0.8) | (rho > 1.2))
    h = 1e-7
    fd = [(po.ppo_objective(b, theta + h * e) - po.ppo_objective(b, theta - h * e))
          / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(fd, po.ppo_gradient(b, theta), rtol=1e-4, atol=1e-9)


def test_ppo_update_stays_near_the_old_policy_and_improves_the_surrogate():
    b = _batch(PETERS, -0.4, 0.5, 100, 80, 6)
    new = po.ppo_update(b, lr=0.02, epochs=10)
    assert po.surrogate_improvement(b, new) > 0
    assert po.mean_kl(b, new) < 0.1


# ---------------------------------------------------------------- Newton
def test_minus_hessian_is_positive_definite_on_peters_grid():
    K, S = np.meshgrid(np.linspace(-2.0, 0.0, 11), np.linspace(0.1, 1.0, 10))
    eig = np.linalg.eigvalsh(PETERS.return_hessian(K, S))
    assert eig.max() < 0


def test_newton_converges_quadratically_to_k_star():
    k_star = PETERS.optimal_gain()
    res = po.newton_gain(PETERS, -0.4, 0.5)
    assert res.success and abs(res.x[0] - k_star) < 1e-12
    err = np.abs(res.history.x[:, 0] - k_star)
    err = err[err > 1e-10]
    ratios = err[1:] / err[:-1] ** 2
    assert len(ratios) >= 2 and np.all(ratios < 10)  # e_{t+1} <= C e_t^2
    assert np.all(err[1:] < err[:-1])


def test_newton_reports_running_out_of_iterations_near_the_stability_edge():
    res = po.newton_gain(PETERS, 0.025, 0.5, max_iter=20)  # P(k) is huge there
    assert not res.success and res.status == "max_iter"
    assert "after max_iter = 20 steps" in res.message
    assert po.newton_gain(PETERS, 0.025, 0.5, max_iter=60).success


# ------------------------------------------------------------------ train
@pytest.mark.parametrize("method", po.METHODS)
def test_train_is_seeded_and_counts_samples(method):
    task = po.LQTask(PETERS, horizon=50)
    a = po.train(task, (-0.1, 0.9), method=method, max_iter=5, n_episodes=20, rng=3)
    b = po.train(task, (-0.1, 0.9), method=method, max_iter=5, n_episodes=20, rng=3)
    assert a.success and a.nit == 5
    np.testing.assert_array_equal(a.history.x, b.history.x)
    np.testing.assert_array_equal(a.history.fun, b.history.fun)
    np.testing.assert_array_equal(a.history.samples, np.arange(6) * 20 * 50)
    # fun is the exact return at x: a Monte-Carlo evaluation of x agrees with it
    ro = rl.rollout(PETERS, a.x[0], a.x[1], n_episodes=4000, horizon=400, rng=9)
    per_episode = (1 - PETERS.gamma) * ro.rewards @ PETERS.gamma ** np.arange(400)
    se = per_episode.std(ddof=1) / math.sqrt(per_episode.size)
    assert abs(per_episode.mean() - a.fun) <= Z_TOL * se


def test_trpo_training_respects_the_exact_kl_budget_and_nears_k_star():
    task = po.LQTask(PETERS, horizon=100)
    res = po.train(task, (-0.1, 0.9), method="trpo", max_iter=60, n_episodes=50,
                   max_kl=0.01, rng=1)
    assert res.success
    assert np.nanmax(res.history.kl) <= 0.01 * (1 + 1e-9)
    assert abs(res.x[0] - PETERS.optimal_gain()) < 0.1


def test_train_reports_divergence_as_a_result():
    task = po.LQTask(PETERS, horizon=50)
    res = po.train(task, (-0.1, 0.9), method="vanilla", lr=1e4, max_iter=5,
                   n_episodes=20, rng=0)
    assert not res.success and res.status == "unstable"
    assert "lower max_kl or lr" in res.message
    assert np.all(np.isfinite(res.x)) and PETERS.is_stable(res.x[0])


# --------------------------------------------------------------- pendulum
# Pendulum-v1 by hand (g = 10, m = l = 1, dt = 0.05, |u| <= 2, |thdot| <= 8):
# thdot' = thdot + (15 sin th + 3 u) dt, th' = th + thdot' dt
PENDULUM_REFERENCE = [
    # (th, thdot, u) -> (th', thdot', cost)
    # u = 1 from rest: thdot' = 3 * 0.05 = 0.15, th' = 0.15 * 0.05
    ((0.0, 0.0, 1.0), (0.0075, 0.15, 0.001)),
    # u = 5 is clipped to 2: thdot' = (15 sin 0.1 + 6) 0.05 = 0.37487506...
    ((0.1, 0.0, 5.0), (0.11874375312425606, 0.37487506248512115, 0.014)),
    # 7.9 + (15 + 6) 0.05 = 8.95 is clipped to 8; cost (pi/2)^2 + 0.1 7.9^2 + 0.004
    ((math.pi / 2, 7.9, 2.0), (math.pi / 2 + 0.4, 8.0,
                               2.4674011002723395 + 6.241 + 0.004)),
    # th = 4 wraps to 4 - 2 pi in the cost: (4 - 2 pi)^2 = 5.2174...
    ((4.0, 0.0, 0.0), (4.0 + 0.75 * math.sin(4.0) * 0.05, 0.75 * math.sin(4.0),
                       (4.0 - 2 * math.pi) ** 2)),
]


@pytest.mark.parametrize("state, expected", PENDULUM_REFERENCE)
def test_pendulum_step_matches_hand_computed_gym_transitions(state, expected):
    th, thdot, cost = control.pendulum_step(*(np.array([v]) for v in state))
    np.testing.assert_allclose([th[0], thdot[0], cost[0]], expected, rtol=1e-12,
                               atol=1e-15)


def test_pendulum_rollout_follows_pendulum_step():
    task = control.PendulumTask(horizon=25)
    theta = np.array([-8.0, -1.5, 0.4])
    b = task.rollout(theta, 6, rng=4)
    th, thdot = b.features[:, 0, 0], b.features[:, 0, 1]
    for t in range(25):
        wrapped = (th + math.pi) % (2 * math.pi) - math.pi
        np.testing.assert_allclose(b.features[:, t, 0], wrapped, atol=1e-12)
        np.testing.assert_allclose(b.features[:, t, 1], thdot, atol=1e-12)
        th, thdot, cost = control.pendulum_step(th, thdot, b.actions[:, t])
        np.testing.assert_allclose(-b.rewards[:, t], cost, atol=1e-12)


def test_pendulum_step_matches_a_scalar_loop():
    rng = np.random.default_rng(0)
    th, thdot, u = rng.normal(0, 2, 50), rng.normal(0, 5, 50), rng.normal(0, 3, 50)
    new_th, new_thdot, cost = control.pendulum_step(th, thdot, u)
    for i in range(50):
        ui = min(max(u[i], -2.0), 2.0)
        wrapped = (th[i] + math.pi) % (2 * math.pi) - math.pi
        c = wrapped**2 + 0.1 * thdot[i] ** 2 + 0.001 * ui**2
        w = thdot[i] + (3 * 10.0 / 2 * math.sin(th[i]) + 3.0 * ui) * 0.05
        w = min(max(w, -8.0), 8.0)
        assert new_thdot[i] == pytest.approx(w, abs=1e-14)
        assert new_th[i] == pytest.approx(th[i] + w * 0.05, abs=1e-14)
        assert cost[i] == pytest.approx(c, abs=1e-14)


def test_pendulum_rollout_is_the_policy_it_claims():
    task = control.PendulumTask(horizon=30)
    theta = np.array([-8.0, -1.5, 0.4])
    b = task.rollout(theta, 10, rng=1)
    eps = (b.actions - b.features @ theta[:2]) / theta[2]
    assert abs(eps.mean()) < 0.2 and abs(eps.std() - 1) < 0.1
    assert np.all(np.abs(b.features[..., 0]) <= math.pi)
    again = task.rollout(theta, 10, rng=1)
    np.testing.assert_array_equal(b.rewards, again.rewards)
    assert task.evaluate(theta) > task.evaluate([0.0, 0.0, 0.4])


#: Seeds of the pendulum comparison, and how much better TRPO's median return must be
#: than NPG's (both negative; the chapter's 20-seed table shows the gap).
PENDULUM_SEEDS = range(1, 11)
RETURN_MARGIN = 0.2


def test_trpo_beats_npg_on_the_pendulum_over_seeds_and_keeps_sigma_higher():
    task = control.PendulumTask(n_eval=100)
    out = {}
    for method in ("trpo", "natural"):
        runs = [po.train(task, (-2.0, 0.0, 0.5), method=method, max_iter=60,
                         n_episodes=30, max_kl=0.1, evaluate_every=60, rng=seed)
                for seed in PENDULUM_SEEDS]
        assert all(r.success for r in runs)
        out[method] = (np.median([r.fun for r in runs]),
                       np.median([r.x[-1] for r in runs]))
    assert out["trpo"][0] > out["natural"][0] + RETURN_MARGIN, out
    # the exact-KL test rejects sigma-lowering steps more often (the chapter's
    # mechanism), so TRPO ends with more exploration noise than NPG
    assert out["trpo"][1] > 1.5 * out["natural"][1], out


def test_balanced_fraction_tells_a_balancing_policy_from_a_falling_one():
    task = control.PendulumTask(n_eval=50)
    assert task.balanced_fraction([-10.0, -2.0, 0.1]) > 0.9
    assert task.balanced_fraction([0.0, 0.0, 0.1]) < 0.1


# ---------------------------------------------------------------- hostile
@pytest.mark.parametrize("call, error, match", [
    (lambda: po.train(po.LQTask(PETERS), (-0.1, 0.9), method="adam", max_iter=1,
                      n_episodes=5), ValueError, r"method must be one of 'vanilla'"),
    (lambda: po.train("env", (-0.1, 0.9), method="trpo", max_iter=1, n_episodes=5),
     TypeError, r"task must have rollout, evaluate, kl and check methods"),
    (lambda: po.train(po.LQTask(PETERS), (0.5, 0.9), method="trpo", max_iter=1,
                      n_episodes=5), ValueError, r"not a usable policy: k = 0\.5"),
    (lambda: po.train(po.LQTask(PETERS), (-0.1, 0.9), method="trpo", max_iter=1,
                      n_episodes=5, max_kl=0), ValueError, r"max_kl must be .*> 0"),
    (lambda: po.trpo_step([1.0, 0.0], np.eye(2), max_kl=0.01, kl="kl"), TypeError,
     r"kl must be a function of the step; got str"),
    (lambda: po.trpo_step([0.0, 0.0], np.eye(2), max_kl=0.01, kl=len), ValueError,
     r"grad is the zero vector"),
    (lambda: po.trpo_step([1.0, 0.0], np.eye(2), max_kl=0.01, kl=len, backtrack=1.5),
     ValueError, r"backtrack must be < 1; got 1\.5"),
    (lambda: po.ppo_objective(_batch(PETERS, -0.4, 0.5, 5, 5, 0), [-0.4, 0.5],
                              clip=1.5), ValueError, r"clip must be < 1; got 1\.5"),
    (lambda: po.ppo_gradient(_batch(PETERS, -0.4, 0.5, 5, 5, 0), [-0.4, 0.5, 1.0]),
     ValueError, r"theta_new must have shape \(2,\)"),
    (lambda: po.mean_kl(_batch(PETERS, -0.4, 0.5, 5, 5, 0), [-0.4, 0.0]),
     ValueError, r"theta_new\[-1\] is sigma and must be > 0; got 0\.0"),
    (lambda: po.policy_gradient("batch"), TypeError, r"batch must be a PolicyBatch"),
    (lambda: po.episodic_natural_actor_critic(_batch(PETERS, -0.4, 0.5, 2, 5, 0)),
     ValueError, r"needs at least 3 episodes; got 2"),
    (lambda: po.compatible_natural_gradient(_batch(PETERS, -0.4, 0.5, 5, 5, 0),
                                            critic_features=np.ones((5, 4, 1))),
     ValueError, r"critic_features must have shape"),
    (lambda: po.newton_gain(PETERS, 0.5, 0.5), ValueError, r"unstable at k = 0\.5"),
    (lambda: po.newton_gain(PETERS, -0.4, -1.0), ValueError,
     r"sigma must be finite and > 0"),
    (lambda: control.PendulumTask(gamma=1.0), ValueError,
     r"gamma must lie strictly between 0 and 1; got 1\.0"),
    (lambda: control.PendulumTask().rollout([1.0, 0.5], 3, rng=0), ValueError,
     r"theta must be \(w_angle, w_speed, sigma\)"),
    (lambda: control.PendulumTask().rollout([1.0, 0.5, 0.0], 3, rng=0), ValueError,
     r"theta\[2\] is sigma and must be > 0"),
    # train: theta0 of the wrong shape, cg_iter not a count
    (lambda: po.train(po.LQTask(PETERS), (-0.1, 0.9, 0.3), method="trpo", max_iter=1,
                      n_episodes=5), ValueError, r"theta0 must have shape \(2,\)"),
    (lambda: po.train(po.LQTask(PETERS), (0.3,), method="trpo", max_iter=1,
                      n_episodes=5), ValueError, r"theta0 must have shape \(2,\)"),
    (lambda: po.train(po.LQTask(PETERS), (-0.1, 0.9), method="trpo", max_iter=1,
                      n_episodes=5, cg_iter=0), ValueError, r"cg_iter must be >= 1"),
    (lambda: po.train(po.LQTask(PETERS), (-0.1, 0.9), method="trpo", max_iter=1,
                      n_episodes=5, cg_iter=2.5), TypeError, r"cg_iter must be an int"),
    (lambda: po.train(po.LQTask(PETERS), (-0.1, -0.9), method="trpo", max_iter=1,
                      n_episodes=5), ValueError, r"sigma = -0\.9 must be > 0"),
    (lambda: po.trpo_step([1.0, 0.0], np.eye(2), max_kl=0.01, kl=len, cg_iter=-3),
     ValueError, r"cg_iter must be >= 1"),
    (lambda: po.trpo_step([1.0, 0.0], np.eye(2), max_kl=0.01,
                          kl=lambda s: np.array([0.0, 0.0])), TypeError,
     r"kl\(step\) must return one real number; got .* ndarray"),
    (lambda: po.trpo_step([1.0, 0.0], np.eye(2), max_kl=0.01, kl=lambda s: None),
     TypeError, r"kl\(step\) must return one real number; got None"),
    (lambda: po.LQTask(PETERS).rollout([0.1], 3, rng=0), ValueError,
     r"theta must be \(k, sigma\)"),
    # PolicyBatch validates its arrays
    (lambda: po.PolicyBatch(np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 4)),
                            [0.1, 0.5], 0.9), ValueError, r"features must be 3-D"),
    (lambda: po.PolicyBatch(np.ones((3, 4, 1)), np.ones((3, 4)), np.ones((3, 5)),
                            [0.1, 0.5], 0.9), ValueError,
     r"rewards must have shape \(n_episodes, horizon\) = \(3, 4\)"),
    (lambda: po.PolicyBatch(np.ones((3, 4, 1)), np.ones((3, 4)), np.ones((3, 4)),
                            [0.1, 0.5], 1.5), ValueError,
     r"gamma must lie strictly between 0 and 1; got 1\.5"),
    (lambda: po.PolicyBatch(np.ones((3, 4, 1)), np.ones((3, 4)), np.ones((3, 4)),
                            [0.1, -0.5], 0.9), ValueError,
     r"theta\[-1\] is sigma and must be > 0"),
    (lambda: po.PolicyBatch(np.ones((3, 4, 1)), np.ones((3, 4)),
                            np.full((3, 4), np.nan), [0.1, 0.5], 0.9), ValueError,
     r"rewards .*finite|rewards .*NaN"),
    (lambda: po.PolicyBatch(np.ones((3, 4, 1)), np.ones((3, 4)), np.ones((3, 4)),
                            [0.1, 0.5, 0.2], 0.9), ValueError,
     r"theta must have shape \(2,\)"),
    # pendulum_step validates its constants and inputs
    (lambda: control.pendulum_step(0.1, 0.0, 1.0, dt=-1), ValueError,
     r"dt must be finite and > 0"),
    (lambda: control.pendulum_step(0.1, 0.0, 1.0, max_torque=-1), ValueError,
     r"max_torque must be finite and > 0"),
    (lambda: control.pendulum_step(0.1, 0.0, "1.0"), TypeError, r"u must be"),
])
def test_hostile_inputs_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_returns_to_go_do_not_underflow_on_a_long_horizon():
    n, T, gamma = 2, 7200, 0.9
    b = po.PolicyBatch(np.zeros((n, T, 1)), np.zeros((n, T)), np.ones((n, T)),
                       [0.0, 1.0], gamma)
    q = b.returns_to_go
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q[:, -1], 1.0)
    np.testing.assert_allclose(q[:, 0], (1 - gamma**T) / (1 - gamma))


def test_compatible_fit_reports_nan_r2_when_not_finite():
    coef, r2 = po._weighted_lstsq(np.ones((4, 1)), np.array([1.0, np.inf, 0, 0]),
                                  np.ones(4))
    assert math.isnan(r2)


def test_ppo_gradient_is_zero_where_the_objective_is_flat_at_the_ratio_cap():
    # every action sits at the new mean and the new sigma is tiny: every log-ratio
    # is about 32 > 30, so every ratio is capped and the objective is flat
    rng = np.random.default_rng(7)
    b = po.PolicyBatch(np.ones((4, 5, 1)), np.full((4, 5), 0.3),
                       rng.standard_normal((4, 5)), [0.0, 1.0], 0.9)
    theta = np.array([0.3, 1e-14])
    assert np.all(po._log_ratio(b, theta) >= po._LOG_RATIO_CAP)
    assert np.any(b.advantages < 0)  # where the unclipped branch is the minimum
    np.testing.assert_array_equal(po.ppo_gradient(b, theta), 0.0)
    assert po.ppo_objective(b, theta) == po.ppo_objective(b, theta + [1e-16, 0.0])


def test_kl_slack_and_surrogate_test_change_the_line_search():
    F = np.eye(2)
    kl = lambda s: 1.2 * 0.5 * s @ s  # noqa: E731  (the exact KL is 20 % above)
    strict = po.trpo_step([1.0, 0.0], F, max_kl=0.01, kl=kl)
    loose = po.trpo_step([1.0, 0.0], F, max_kl=0.01, kl=kl, kl_slack=0.5)
    assert strict.n_backtracks == 1 and loose.n_backtracks == 0
    task = po.LQTask(PETERS, horizon=30)
    a = po.train(task, (-0.1, 0.9), method="trpo", max_iter=3, n_episodes=10, rng=0,
                 surrogate_test=False, kl_slack=0.5)
    assert a.success


def test_train_evaluates_every_few_iterations_and_at_the_end():
    task = control.PendulumTask(horizon=20, n_eval=10)
    res = po.train(task, (-2.0, 0.0, 0.5), method="natural", max_iter=7,
                   n_episodes=5, max_kl=0.05, evaluate_every=3, rng=0)
    evaluated = np.flatnonzero(np.isfinite(res.history.fun))
    np.testing.assert_array_equal(evaluated, [0, 3, 6, 7])
    assert res.fun == pytest.approx(task.evaluate(res.x))
