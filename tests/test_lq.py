"""Tests for ngd_lib.lq: the closed forms and their brute-force and finite-difference
twins, the optimum, the gradient fields and the exact ascent paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngd_lib import lq

RECITATION = lq.LinearQuadratic()
PETERS = lq.LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)
GENERAL = lq.LinearQuadratic(a=0.8, b=-1.5, q=2.0, r=0.3, gamma=0.8, s0_mean=-0.4,
                             s0_var=0.5)
ENVS = [RECITATION, PETERS, GENERAL]

#: Relative accuracy of central finite differences with step 1e-5.
FD_RTOL = 1e-6


def stable_point(env, frac, sigma):
    """A stable gain at fraction ``frac`` of the stable interval, and ``sigma``."""
    lo, hi = env.stable_gains()
    return lo + frac * (hi - lo), sigma


# ------------------------------------------------------------------ constructor
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"b": 0.0}, ValueError, "b must be non-zero"),
        ({"q": -1.0}, ValueError, "q must be finite and >= 0"),
        ({"r": 0.0}, ValueError, "r must be finite and > 0"),
        ({"gamma": 1.0}, ValueError, "gamma must lie strictly between 0 and 1"),
        ({"gamma": 0.0}, ValueError, "gamma must lie strictly between 0 and 1"),
        ({"s0_var": -0.1}, ValueError, "s0_var must be finite and >= 0"),
        ({"a": float("inf")}, ValueError, "a must be finite"),
        ({"a": "1"}, TypeError, "a must be a real number"),
        ({"gamma": None}, TypeError, "gamma must be a real number"),
    ],
)
def test_linear_quadratic_rejects_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        lq.LinearQuadratic(**kwargs)


def test_linear_quadratic_is_frozen():
    with pytest.raises(AttributeError):
        RECITATION.gamma = 0.5


# ------------------------------------------------------------- stability region
@pytest.mark.parametrize("env", ENVS)
def test_stable_gains_are_where_gamma_c_squared_equals_one(env):
    lo, hi = env.stable_gains()
    for k in (lo, hi):
        assert env.gamma * (env.a + env.b * k) ** 2 == pytest.approx(1.0, rel=1e-12)
    margin = 1e-6 * (hi - lo)
    assert env.is_stable(lo + margin) and env.is_stable(hi - margin)
    assert not env.is_stable(lo - margin) and not env.is_stable(hi + margin)
    np.testing.assert_array_equal(env.is_stable([lo - margin, 0.5 * (lo + hi)]),
                                  [False, True])


def test_stable_gains_recitation_setting():
    lo, hi = RECITATION.stable_gains()
    assert (lo, hi) == pytest.approx((-1 - 1 / math.sqrt(0.9), -1 + 1 / math.sqrt(0.9)))


@pytest.mark.parametrize("env", ENVS)
def test_expected_return_is_minus_infinity_outside_the_stable_gains(env):
    lo, hi = env.stable_gains()
    tiny = 1e-9  # the boundary itself is exact only up to rounding
    J = env.expected_return([lo - 0.1, lo - tiny, 0.5 * (lo + hi), hi + tiny, hi + 0.1],
                            0.3)
    assert np.isneginf(J[[0, 1, 3, 4]]).all() and np.isfinite(J[2])
    assert np.isfinite(env.expected_return([lo + tiny, hi - tiny], 0.3)).all()


@pytest.mark.parametrize("method", ["policy_gradient", "fisher", "natural_gradient",
                                    "discounted_state_moment"])
def test_closed_forms_reject_unstable_gain_naming_the_interval(method):
    interval = r"\(-2\.05409, 0\.0540926\)"
    with pytest.raises(ValueError, match=r"unstable at k = 0\.5.*" + interval):
        getattr(RECITATION, method)(0.5, 0.3)


@pytest.mark.parametrize("method", ["policy_gradient", "fisher", "natural_gradient",
                                    "discounted_state_moment"])
@pytest.mark.parametrize("sigma", [0.0, -0.2])
def test_closed_forms_reject_nonpositive_sigma(method, sigma):
    with pytest.raises(ValueError, match="sigma must be > 0"):
        getattr(RECITATION, method)(-0.5, sigma)


def test_closed_forms_reject_bad_entries_of_arrays():
    with pytest.raises(ValueError, match=r"sigma must be > 0; got \[-1\.\]"):
        RECITATION.policy_gradient([-0.5, -0.4], [0.3, -1.0])
    with pytest.raises(ValueError, match=r"unstable at k = \[3\.\]"):
        RECITATION.natural_gradient([-0.5, 3.0], 0.3)
    with pytest.raises(ValueError, match="k contains NaN"):
        RECITATION.fisher(float("nan"), 0.3)


def test_expected_return_rejects_negative_sigma_and_allows_zero():
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        RECITATION.expected_return(-0.5, -0.1)
    assert RECITATION.expected_return(-0.5, 0.0) == pytest.approx(
        -RECITATION.value_coefficient(-0.5))


# ---------------------------------------------------------------- closed forms
def brute_force_return(env, k, sigma, horizon=4000):
    """J by summing the expected rewards of the moment recursion step by step."""
    m, total = env.initial_second_moment, 0.0
    c = env.a + env.b * k
    for t in range(horizon):
        reward = -(env.q + env.r * k**2) * m - env.r * sigma**2
        total += env.gamma**t * reward
        m = c**2 * m + env.b**2 * sigma**2
    return total


def brute_force_moment(env, k, sigma, horizon=4000):
    m, total = env.initial_second_moment, 0.0
    for t in range(horizon):
        total += env.gamma**t * m
        m = (env.a + env.b * k) ** 2 * m + env.b**2 * sigma**2
    return total


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(("frac", "sigma"), [(0.3, 0.2), (0.5, 0.9), (0.7, 1.4)])
def test_expected_return_matches_step_by_step_sum(env, frac, sigma):
    k, sigma = stable_point(env, frac, sigma)
    assert env.expected_return(k, sigma) == pytest.approx(
        brute_force_return(env, k, sigma), rel=1e-10)
    assert env.discounted_state_moment(k, sigma) == pytest.approx(
        brute_force_moment(env, k, sigma), rel=1e-10)


def test_expected_return_recitation_formula():
    # J = -(E[s0^2] P + sigma^2 (1 + gamma P) / (1 - gamma)), P = (1+k^2)/(1-g(1+k)^2)
    k, sigma, g = -0.5, 0.5, 0.9
    P = (1 + k**2) / (1 - g * (1 + k) ** 2)
    assert RECITATION.expected_return(k, sigma) == pytest.approx(
        -(P + sigma**2 * (1 + g * P) / (1 - g)), rel=1e-14)


def test_expected_return_broadcasts_and_normalizes():
    K, S = np.meshgrid(np.linspace(-2, 0, 5), np.linspace(0.1, 1, 3))
    J = RECITATION.expected_return(K, S)
    assert J.shape == (3, 5)
    assert J[1, 2] == RECITATION.expected_return(K[1, 2], S[1, 2])
    np.testing.assert_allclose(RECITATION.expected_return(K, S, normalized=True),
                               0.1 * J, rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(env=st.sampled_from(ENVS), frac=st.floats(0.05, 0.95),
       sigma=st.floats(0.05, 1.5))
def test_policy_gradient_matches_finite_differences(env, frac, sigma):
    k, sigma = stable_point(env, frac, sigma)
    h = 1e-5
    J = env.expected_return
    fd = np.array([(J(k + h, sigma) - J(k - h, sigma)) / (2 * h),
                   (J(k, sigma + h) - J(k, sigma - h)) / (2 * h)])
    grad = env.policy_gradient(k, sigma)
    scale = np.abs(grad).max()
    np.testing.assert_allclose(grad, fd, rtol=FD_RTOL, atol=FD_RTOL * scale)
    np.testing.assert_allclose(env.policy_gradient(k, sigma, normalized=True),
                               (1 - env.gamma) * grad, rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(env=st.sampled_from(ENVS), frac=st.floats(0.05, 0.95),
       sigma=st.floats(0.05, 1.5))
def test_gradient_equals_fisher_times_natural_gradient(env, frac, sigma):
    k, sigma = stable_point(env, frac, sigma)
    w = env.natural_gradient(k, sigma)
    np.testing.assert_allclose(env.fisher(k, sigma) @ w, env.policy_gradient(k, sigma),
                               rtol=1e-12)
    # the natural gradient does not change when J and F are both normalised
    Fn = env.fisher(k, sigma, normalized=True)
    gn = env.policy_gradient(k, sigma, normalized=True)
    np.testing.assert_allclose(np.linalg.solve(Fn, gn), w, rtol=1e-12)


@pytest.mark.parametrize("env", ENVS)
def test_fisher_is_the_hessian_of_the_discounted_kl(env):
    k, sigma = stable_point(env, 0.4, 0.6)
    h = 1e-4

    def kl(dk, ds):
        return env.discounted_kl(k, sigma, k + dk, sigma + ds)

    hessian = np.empty((2, 2))
    e = np.eye(2) * h
    for i in range(2):
        for j in range(2):
            hessian[i, j] = (kl(*(e[i] + e[j])) - kl(*(e[i] - e[j]))
                             - kl(*(e[j] - e[i])) + kl(*(-e[i] - e[j]))) / (4 * h * h)
    np.testing.assert_allclose(hessian, env.fisher(k, sigma), rtol=1e-5, atol=1e-6)
    assert kl(0.0, 0.0) == 0.0


@settings(max_examples=40, deadline=None)
@given(env=st.sampled_from(ENVS), frac=st.floats(0.05, 0.95),
       sigma=st.floats(0.05, 1.5))
def test_return_hessian_matches_finite_differences_of_the_gradient(env, frac, sigma):
    k, sigma = stable_point(env, frac, sigma)
    h = 1e-5
    G = env.policy_gradient
    fd = np.column_stack([(G(k + h, sigma) - G(k - h, sigma)) / (2 * h),
                          (G(k, sigma + h) - G(k, sigma - h)) / (2 * h)])
    H = env.return_hessian(k, sigma)
    scale = np.abs(H).max()
    np.testing.assert_allclose(H, fd, rtol=FD_RTOL, atol=FD_RTOL * scale)
    np.testing.assert_array_equal(H, H.swapaxes(-1, -2))
    np.testing.assert_allclose(env.return_hessian(k, sigma, normalized=True),
                               (1 - env.gamma) * H, rtol=1e-14)


def test_return_hessian_matches_second_differences_of_the_return():
    # an independent twin: second differences of expected_return itself
    k, sigma, h = -0.4, 0.5, 1e-4
    J = PETERS.expected_return
    fd = np.empty((2, 2))
    fd[0, 0] = (J(k + h, sigma) - 2 * J(k, sigma) + J(k - h, sigma)) / h**2
    fd[1, 1] = (J(k, sigma + h) - 2 * J(k, sigma) + J(k, sigma - h)) / h**2
    fd[0, 1] = fd[1, 0] = (J(k + h, sigma + h) - J(k + h, sigma - h)
                           - J(k - h, sigma + h) + J(k - h, sigma - h)) / (4 * h * h)
    np.testing.assert_allclose(PETERS.return_hessian(k, sigma), fd, rtol=1e-6)


@pytest.mark.parametrize("env", [RECITATION, PETERS])
def test_return_hessian_is_negative_definite_on_peters_grid(env):
    K, S = np.meshgrid(np.linspace(-2, 0, 11), np.linspace(0.1, 1, 10))
    H = env.return_hessian(K, S)
    assert H.shape == (10, 11, 2, 2)
    assert np.all(np.linalg.eigvalsh(H) < 0)
    # and it is not the Fisher matrix (nor minus it)
    assert not np.allclose(-H, env.fisher(K, S), rtol=0.1)


def test_return_hessian_validates():
    with pytest.raises(ValueError, match="sigma must be > 0"):
        PETERS.return_hessian(-0.5, 0.0)
    with pytest.raises(ValueError, match="unstable at k = 1"):
        PETERS.return_hessian(1.0, 0.5)


@pytest.mark.parametrize("excess", [1.0, 1.05])
def test_moment_series_terms_stay_away_from_zero_when_gamma_c2_reaches_one(excess):
    # the divergent case of chapter 7's moment lemma with m0 = 0 and sigma > 0:
    # m_t >= c^(2(t-1)) b^2 sigma^2, so gamma^t m_t >= gamma b^2 sigma^2 for t >= 1
    env = lq.LinearQuadratic(a=0.5, b=2.0, gamma=0.9, s0_mean=0.0, s0_var=0.0)
    sigma = 0.3
    c = math.sqrt(excess / env.gamma)  # gamma c^2 = excess >= 1
    m, terms = env.initial_second_moment, []
    for t in range(200):
        terms.append(env.gamma**t * m)
        m = c**2 * m + env.b**2 * sigma**2
    floor = env.gamma * env.b**2 * sigma**2
    assert terms[0] == 0.0
    assert all(term >= floor * (1 - 1e-12) for term in terms[1:])
    assert sum(terms) > 150 * floor  # the partial sums grow without bound
    k = (c - env.a) / env.b
    assert not env.is_stable(k)
    with pytest.raises(ValueError, match="unstable"):
        env.discounted_state_moment(k, sigma)


def test_discounted_kl_rejects_nonpositive_new_sigma():
    with pytest.raises(ValueError, match="sigma_new must be > 0"):
        RECITATION.discounted_kl(-0.5, 0.5, -0.5, 0.0)


@settings(max_examples=30, deadline=None)
@given(frac=st.floats(0.05, 0.95), sigma=st.floats(0.05, 1.0), R=st.floats(0.01, 2.0),
       gamma=st.floats(0.5, 0.99), x0=st.floats(-1.0, 1.0))
def test_natural_gradient_matches_peters_closed_form(frac, sigma, R, gamma, x0):
    # Peters' LQR_1d_AF.m: x' = x + u, r = -1/2 x^2 - 1/2 R u^2,
    # w_k = (-k(R + gamma P) - gamma P) sigma^2, w_sigma = -1/2 (R + gamma P) sigma^3,
    # with P = (1 + R k^2) / (1 - gamma (1 + k)^2) the value matrix of the policy.
    env = lq.LinearQuadratic(q=0.5, r=0.5 * R, gamma=gamma, s0_mean=x0, s0_var=0.01)
    k, sigma = stable_point(env, frac, sigma)
    P = (1 + R * k**2) / (1 - gamma * (1 + k) ** 2)
    peters = np.array([(-k * (R + gamma * P) - gamma * P) * sigma**2,
                       -0.5 * (R + gamma * P) * sigma**3])
    np.testing.assert_allclose(env.natural_gradient(k, sigma), peters, rtol=1e-10,
                               atol=1e-14)


def test_natural_gradient_k_component_ignores_the_start_distribution():
    narrow = lq.LinearQuadratic(s0_mean=0.3, s0_var=1e-4)
    K, S = np.meshgrid(np.linspace(-1.9, -0.1, 7), np.linspace(0.1, 1, 4))
    np.testing.assert_allclose(RECITATION.natural_gradient(K, S),
                               narrow.natural_gradient(K, S), rtol=1e-14)
    assert not np.allclose(RECITATION.policy_gradient(K, S),
                           narrow.policy_gradient(K, S))


def test_closed_forms_broadcast_over_grids():
    K, S = np.meshgrid(np.linspace(-2, 0, 11), np.linspace(0.1, 1, 10))
    assert RECITATION.policy_gradient(K, S).shape == (10, 11, 2)
    assert RECITATION.natural_gradient(K, S).shape == (10, 11, 2)
    assert RECITATION.fisher(K, S).shape == (10, 11, 2, 2)
    np.testing.assert_allclose(RECITATION.fisher(K, S)[3, 4],
                               RECITATION.fisher(K[3, 4], S[3, 4]))


# -------------------------------------------------------------------- optimum
def golden_section_max(f, lo, hi, tol=1e-10):
    inv_phi = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    while b - a > tol:
        c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
        if f(c) > f(d):
            b = d
        else:
            a = c
    return 0.5 * (a + b)


@pytest.mark.parametrize("env", ENVS)
def test_optimal_gain_maximises_the_return_numerically(env):
    lo, hi = env.stable_gains()
    grid = np.linspace(lo, hi, 200_001)[1:-1]
    J = env.expected_return(grid, 1e-6)
    k_grid = grid[np.argmax(J)]
    k_golden = golden_section_max(lambda k: env.expected_return(k, 1e-6),
                                  k_grid - 1e-4, k_grid + 1e-4)
    assert env.optimal_gain() == pytest.approx(k_golden, abs=1e-7)
    assert abs(env.optimal_gain() - k_grid) <= (hi - lo) / 200_000


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.95, 0.999])
def test_optimal_gain_recitation_closed_form(gamma):
    env = lq.LinearQuadratic(gamma=gamma)
    expected = (1 - math.sqrt(1 + 4 * gamma**2)) / (2 * gamma)
    assert env.optimal_gain() == pytest.approx(expected, rel=1e-12)


def test_optimal_gain_tends_to_minus_inverse_golden_ratio():
    phi = (1 + math.sqrt(5)) / 2
    assert lq.LinearQuadratic(gamma=1 - 1e-9).optimal_gain() == pytest.approx(
        -1 / phi, abs=1e-8)


@pytest.mark.parametrize("env", ENVS)
def test_optimal_gain_zeroes_the_k_gradient_for_every_sigma(env):
    k_star = env.optimal_gain()
    grads = env.policy_gradient(k_star, np.array([0.01, 0.3, 1.0, 3.0]))
    np.testing.assert_allclose(grads[:, 0], 0.0, atol=1e-12)
    P = env.optimal_value_coefficient()
    g, a, b = env.gamma, env.a, env.b
    riccati = env.q + g * a**2 * P - (g * a * b * P) ** 2 / (env.r + g * b**2 * P)
    assert P == pytest.approx(riccati, rel=1e-12)
    assert P == pytest.approx(env.value_coefficient(k_star), rel=1e-12)


# -------------------------------------------------------------- learning paths
def test_peters_paths_vanilla_stops_far_natural_ends_near_k_star():
    k_star = PETERS.optimal_gain()
    vanilla = PETERS.gradient_ascent_path([-0.1, 0.9], lr=0.025, natural=False)
    natural = PETERS.gradient_ascent_path([-0.1, 0.9], lr=0.025, natural=True)
    assert vanilla.success and natural.success
    assert vanilla.x[1] < 0.1 and natural.x[1] < 0.1
    assert abs(vanilla.x[0] - k_star) > 0.25
    assert abs(natural.x[0] - k_star) < 0.02
    assert natural.nit > 10 * vanilla.nit
    # the history is consistent: rows are iterates, fun is the normalised return
    np.testing.assert_allclose(natural.history.x[-1], natural.x)
    assert natural.history.fun[0] == pytest.approx(
        PETERS.expected_return(-0.1, 0.9, normalized=True))
    assert natural.history.x.shape == (natural.nit + 1, 2)


def test_newton_ascent_path_takes_newton_steps_and_stops_like_the_others():
    res = PETERS.newton_ascent_path([-0.1, 0.9], lr=0.025)
    assert res.success and res.x[1] < 0.1 <= res.history.x[-2, 1]
    # every step is step * (-H^{-1} grad J) at the previous iterate, an ascent step
    for before, after in zip(res.history.x[:-1], res.history.x[1:], strict=True):
        g = PETERS.policy_gradient(*before)
        newton = -np.linalg.solve(PETERS.return_hessian(*before), g)
        np.testing.assert_allclose(after - before, 0.025 * newton, rtol=1e-10)
        assert g @ newton > 0
    np.testing.assert_allclose(res.history.fun,
                               PETERS.expected_return(*res.history.x.T,
                                                      normalized=True))
    # the return rises along the path, yet the gain ends far from k*
    assert np.all(np.diff(res.history.fun) > 0)
    assert abs(res.x[0] - PETERS.optimal_gain()) > 0.5


def test_newton_ascent_path_reports_failures_as_results(monkeypatch):
    full = PETERS.newton_ascent_path([-0.1, 0.9], lr=1.0)
    assert not full.success and full.status == "unstable"
    assert "lower the step size" in full.message
    assert full.nit == 0 and PETERS.is_stable(full.x[0])
    short = PETERS.newton_ascent_path([-0.1, 0.9], max_iter=3)
    assert not short.success and short.nit == 3 and short.status == "max_iter"
    assert "max_iter = 3" in short.message

    def indefinite(self, k, sigma):
        return -1.0, 2.0, -1.0  # det < 0

    monkeypatch.setattr(lq.LinearQuadratic, "_hessian", indefinite)
    stuck = PETERS.newton_ascent_path([-0.1, 0.9])
    assert not stuck.success and stuck.nit == 0 and stuck.status == "not_ascent"
    assert "not negative definite" in stuck.message
    np.testing.assert_array_equal(stuck.x, [-0.1, 0.9])


@pytest.mark.parametrize(
    ("theta0", "kwargs", "match"),
    [
        ([-0.1, 0.9, 0.0], {}, "theta0 must be"),
        ([-0.1, 0.9], {"lr": 0.0}, "lr must be finite and > 0"),
        ([1.0, 0.9], {}, "unstable at k = 1"),
        ([-0.1, 0.0], {}, "sigma must be > 0"),
    ],
)
def test_newton_ascent_path_validates(theta0, kwargs, match):
    with pytest.raises(ValueError, match=match):
        RECITATION.newton_ascent_path(theta0, **kwargs)


def test_recitation_natural_path_ends_near_k_star():
    natural = RECITATION.gradient_ascent_path([-0.1, 0.9], lr=0.025,
                                      natural=True)
    assert natural.success
    assert abs(natural.x[0] - RECITATION.optimal_gain()) < 0.01


def test_vanilla_field_is_dominated_by_sigma_in_peters_setting():
    K, S = np.meshgrid(np.linspace(-2, 0, 11), np.linspace(0.1, 1, 10))
    g = PETERS.gradient_field(K, S, natural=False)
    w = PETERS.gradient_field(K, S, natural=True)
    assert np.mean(np.abs(g[..., 1]) > np.abs(g[..., 0])) > 0.5
    # the natural gradient is never more than 90 degrees from the vanilla one
    assert np.all(np.sum(g * w, axis=-1) > 0)
    unit = PETERS.gradient_field(K, S, natural=True, arrow_length=0.1)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=-1), 0.1)
    np.testing.assert_allclose(unit / 0.1, w / np.linalg.norm(w, axis=-1,
                                                               keepdims=True))


def test_gradient_ascent_path_reports_failures_as_results():
    big = RECITATION.gradient_ascent_path([-0.1, 0.9], lr=5.0, natural=False)
    assert not big.success and "lower the step size" in big.message
    assert RECITATION.is_stable(big.x[0]) and big.x[1] > 0
    short = PETERS.gradient_ascent_path([-0.1, 0.9], lr=0.025, natural=True,
                                    max_iter=5)
    assert not short.success and short.nit == 5 and "max_iter = 5" in short.message


@pytest.mark.parametrize(
    ("theta0", "kwargs", "match"),
    [
        ([-0.1, 0.9, 0.0], {}, "theta0 must be"),
        ([-0.1, 0.9], {"lr": 0.0}, "lr must be finite and > 0"),
        ([-0.1, 0.9], {"stop_sigma": -1.0}, "stop_sigma must be finite and > 0"),
        ([1.0, 0.9], {}, "unstable at k = 1"),
        ([-0.1, 0.0], {}, "sigma must be > 0"),
        ([-0.1, 0.9], {"max_iter": -1}, "max_iter must be >= 0"),
    ],
)
def test_gradient_ascent_path_validates(theta0, kwargs, match):
    with pytest.raises(ValueError, match=match):
        RECITATION.gradient_ascent_path(theta0, natural=True, **kwargs)


def test_effective_horizon_bounds_the_truncation():
    T = RECITATION.effective_horizon(-0.5, tol=1e-6)
    assert 0.9**T <= 1e-6 < 0.9 ** (T - 1)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        RECITATION.effective_horizon(-0.5, tol=0.0)
    with pytest.raises(ValueError, match="unstable"):
        RECITATION.effective_horizon(0.5)




def test_check_policy_broadcasts_and_validates():
    k, sigma = RECITATION.check_policy([-0.5, -0.4], 0.3)
    assert k.shape == sigma.shape == (2,) and np.all(sigma == 0.3)
    with pytest.raises(ValueError, match="k and sigma must broadcast"):
        RECITATION.check_policy([-0.5, -0.4], [0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match="unstable at k = 0.5"):
        RECITATION.check_policy(0.5, 0.3)


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"lr": 0.025}, "converged"), ({"lr": 0.025, "max_iter": 5}, "max_iter"),
     ({"lr": 5.0}, "unstable")],
)
def test_gradient_ascent_path_status(kwargs, status):
    res = RECITATION.gradient_ascent_path([-0.1, 0.9], natural=False, **kwargs)
    assert res.status == status and res.success == (status == "converged")
