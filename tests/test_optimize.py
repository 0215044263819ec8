"""Tests of ngd_lib.optimize: gradient descent and the steepest step under an A-norm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngd_lib as ngd
from ngd_lib.optimize import (
    DIVERGENCE_FACTOR,
    best_fixed_step,
    brute_force_steepest_step,
    contraction_rate,
    ellipse_points,
    gradient_descent,
    iterations_to_tolerance,
    steepest_descent_step,
)
from ngd_lib.quadratic import Quadratic

# Round-off allowance for a per-step bound that holds exactly in exact arithmetic.
STEP_BOUND_RTOL = 1e-9


def random_spd(dim, rng, *, spread=3.0):
    """A random SPD matrix with eigenvalues between 1 and exp(spread)."""
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    eig = np.exp(rng.uniform(0.0, spread, dim))
    A = (Q * eig) @ Q.T
    return (A + A.T) / 2


seeds = st.integers(0, 2**32 - 1)


# =============================================================== gradient_descent
def test_gradient_descent_is_exported_at_top_level():
    assert ngd.gradient_descent is gradient_descent
    assert ngd.steepest_descent_step is steepest_descent_step


def test_gradient_descent_converges_to_the_minimizer(rng):
    A = random_spd(4, rng)
    q = Quadratic(A, rng.standard_normal(4))
    res = gradient_descent(q.value, q.grad, np.zeros(4), lr=best_fixed_step(A),
                           max_iter=10_000, tol=1e-10)
    assert res.success
    assert "converged" in res.message
    assert np.linalg.norm(q.grad(res.x)) <= 1e-10
    np.testing.assert_allclose(res.x, q.minimizer(), atol=1e-9)
    assert res.fun == pytest.approx(q.min_value(), abs=1e-12)


def test_gradient_descent_history_has_rows_zero_to_nit(rng):
    q = Quadratic(random_spd(3, rng))
    x0 = rng.standard_normal(3)
    res = gradient_descent(q.value, q.grad, x0, lr=0.05, max_iter=7, tol=0.0)
    h = res.history
    assert res.nit == 7
    assert h.x.shape == (8, 3) and h.fun.shape == (8,) and h.grad_norm.shape == (8,)
    np.testing.assert_array_equal(h.x[0], x0)
    np.testing.assert_array_equal(h.x[-1], res.x)
    np.testing.assert_allclose(h.fun, q.value(h.x))
    np.testing.assert_allclose(h.grad_norm, np.linalg.norm(q.grad(h.x), axis=1))


def test_gradient_descent_takes_the_gd_step(rng):
    q = Quadratic(random_spd(3, rng), rng.standard_normal(3))
    x0 = rng.standard_normal(3)
    res = gradient_descent(q.value, q.grad, x0, lr=0.01, max_iter=2, tol=0.0)
    x1 = x0 - 0.01 * q.grad(x0)
    x2 = x1 - 0.01 * q.grad(x1)
    np.testing.assert_allclose(res.history.x, [x0, x1, x2], rtol=1e-14)


def test_gradient_descent_does_not_modify_x0():
    x0 = np.array([1.0, 2.0])
    q = Quadratic.with_condition_number(3.0)
    gradient_descent(q.value, q.grad, x0, lr=0.1, max_iter=5)
    np.testing.assert_array_equal(x0, [1.0, 2.0])


def test_gradient_descent_stops_at_once_at_a_stationary_point():
    q = Quadratic.with_condition_number(3.0)
    res = gradient_descent(q.value, q.grad, [0.0, 0.0], lr=0.1)
    assert res.success and res.nit == 0
    assert res.history.x.shape == (1, 2)


def test_gradient_descent_accepts_plain_python_functions():
    res = gradient_descent(lambda x: float(x @ x), lambda x: list(2 * x), [3.0],
                           lr=0.25, tol=1e-12)
    assert res.success
    assert abs(res.x[0]) < 1e-12


def test_gradient_descent_reports_running_out_of_iterations():
    q = Quadratic.with_condition_number(1000.0)
    res = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=1e-3, max_iter=25)
    assert not res.success
    assert res.nit == 25
    assert "max_iter = 25" in res.message and "did not converge" in res.message
    assert res.history.x.shape == (26, 2)
    assert np.all(np.isfinite(res.x))


def test_gradient_descent_max_iter_zero_only_evaluates():
    q = Quadratic.with_condition_number(2.0)
    res = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1, max_iter=0)
    assert not res.success and res.nit == 0
    assert res.fun == pytest.approx(q.value([1.0, 1.0]))


@pytest.mark.parametrize("factor", [1.05, 1.5, 3.0, 100.0])
def test_gradient_descent_reports_divergence_with_a_finite_x(factor):
    q = Quadratic.with_condition_number(10.0)
    lr = factor * 2.0 / 10.0  # beyond the stability limit 2 / lambda_max
    res = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=lr, max_iter=100_000)
    assert not res.success
    assert "diverged" in res.message and "smaller lr" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    assert np.all(np.isfinite(res.history.x))
    assert res.nit < 100_000
    # the documented rule: stopped at the first gradient above the factor
    norms = res.history.grad_norm
    assert norms[-1] > DIVERGENCE_FACTOR * norms[0]
    assert np.all(norms[:-1] <= DIVERGENCE_FACTOR * norms[0])


def test_gradient_descent_reports_a_non_finite_value_as_divergence():
    def fun(x):
        return float(np.exp(x @ x)) if x @ x < 50 else math.inf

    def grad(x):
        return 2 * x * np.exp(x @ x)

    with np.errstate(over="ignore"):
        res = gradient_descent(fun, grad, [1.0, 1.0], lr=10.0)
    assert not res.success and "diverged" in res.message
    assert "non-finite" in res.message
    np.testing.assert_array_equal(res.x, [1.0, 1.0])  # the last finite iterate
    assert res.nit == 0


def test_gradient_descent_reports_an_overflowing_iterate_as_divergence():
    # the step itself overflows to inf before fun or grad see it
    with np.errstate(over="ignore"):
        res = gradient_descent(lambda x: float(x @ x), lambda x: 1e300 * np.sign(x),
                               [1.0], lr=1e10)
    assert not res.success and "diverged" in res.message
    assert np.all(np.isfinite(res.x))


def test_gradient_descent_callback_can_stop_early():
    q = Quadratic.with_condition_number(100.0)
    seen = []

    def callback(x, t):
        seen.append((t, x.copy()))
        return t == 3

    res = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.01, callback=callback)
    assert res.nit == 3 and not res.success
    assert "callback" in res.message
    assert [t for t, _ in seen] == [1, 2, 3]
    np.testing.assert_array_equal(seen[-1][1], res.x)


def test_gradient_descent_callback_gets_a_read_only_view():
    q = Quadratic.with_condition_number(2.0)

    def callback(x, t):
        with pytest.raises(ValueError, match="read-only"):
            x[0] = 5.0

    gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1, max_iter=2, callback=callback)


@settings(max_examples=30, deadline=None)
@given(kappa=st.floats(1.0, 1e3), dim=st.integers(2, 5), seed=seeds)
def test_gd_with_best_fixed_step_contracts_at_the_theoretical_rate(kappa, dim, seed):
    rng = np.random.default_rng(seed)
    q = Quadratic.with_condition_number(kappa, dim=dim, rng=rng,
                                        b=rng.standard_normal(dim))
    rho = (kappa - 1) / (kappa + 1)
    assert contraction_rate(q.A) == pytest.approx(rho, rel=1e-9, abs=1e-12)
    res = gradient_descent(q.value, q.grad, rng.standard_normal(dim),
                           lr=best_fixed_step(q.A), max_iter=30, tol=0.0)
    errors = res.history.x - q.minimizer()
    euclid = np.linalg.norm(errors, axis=1)
    a_norm = np.sqrt(np.einsum("ti,ij,tj->t", errors, q.A, errors))
    slack = 1e-12 * euclid[0]  # absolute round-off near the minimiser
    for norms in (euclid, a_norm, res.history.grad_norm):
        assert np.all(norms[1:] <= rho * norms[:-1] * (1 + STEP_BOUND_RTOL) + slack)


def test_gd_with_best_fixed_step_in_2d_meets_the_rate_exactly():
    # in 2-D both eigen-components contract by exactly rho, so the bound is tight
    q = Quadratic.with_condition_number(50.0, rng=np.random.default_rng(1))
    res = gradient_descent(q.value, q.grad, [1.0, -2.0], lr=best_fixed_step(q.A),
                           max_iter=40, tol=0.0)
    ratios = res.history.grad_norm[1:] / res.history.grad_norm[:-1]
    np.testing.assert_allclose(ratios, 49.0 / 51.0, rtol=1e-9)


@pytest.mark.parametrize("kappa", [1.0, 2.0, 10.0, 100.0, 1000.0])
def test_iterations_to_tolerance_predicts_gd_exactly_in_2d(kappa):
    q = Quadratic.with_condition_number(kappa, rng=np.random.default_rng(2))
    x0 = np.array([1.0, 1.0])
    tol = 1e-6 * np.linalg.norm(q.grad(x0)) * 1.0001  # away from a tie
    res = gradient_descent(q.value, q.grad, x0, lr=best_fixed_step(q.A),
                           max_iter=100_000, tol=tol)
    predicted = iterations_to_tolerance(contraction_rate(q.A),
                                        initial_error=np.linalg.norm(q.grad(x0)),
                                        tol=tol)
    assert res.success
    assert res.nit == predicted


def test_gd_is_stable_below_and_unstable_above_two_over_lambda_max():
    q = Quadratic.with_condition_number(20.0)
    below = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.99 * 2 / 20.0,
                             max_iter=5000, tol=1e-8)
    above = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=1.01 * 2 / 20.0,
                             max_iter=50_000, tol=1e-8)
    assert below.success
    assert not above.success and "diverged" in above.message


# ----------------------------------------------------- gradient_descent validation
def _quadratic():
    return Quadratic.with_condition_number(4.0)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_gradient_descent_rejects_bad_lr(lr):
    q = _quadratic()
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        gradient_descent(q.value, q.grad, [1.0, 1.0], lr=lr)


def test_gradient_descent_rejects_non_numeric_lr():
    q = _quadratic()
    with pytest.raises(TypeError, match="lr must be a real number"):
        gradient_descent(q.value, q.grad, [1.0, 1.0], lr="0.1")


def test_gradient_descent_rejects_negative_tol():
    q = _quadratic()
    with pytest.raises(ValueError, match="tol must be finite and >= 0"):
        gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1, tol=-1.0)


def test_gradient_descent_rejects_bad_max_iter():
    q = _quadratic()
    with pytest.raises(ValueError, match="max_iter must be >= 0"):
        gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1, max_iter=-1)
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1, max_iter=10.0)


def test_gradient_descent_rejects_nan_in_x0():
    q = _quadratic()
    with pytest.raises(ValueError, match="x0 contains NaN"):
        gradient_descent(q.value, q.grad, [np.nan, 1.0], lr=0.1)


def test_gradient_descent_rejects_x0_that_is_not_a_vector():
    q = _quadratic()
    with pytest.raises(ValueError, match="x0 must be a 1-D vector"):
        gradient_descent(q.value, q.grad, [[1.0, 1.0]], lr=0.1)


def test_gradient_descent_rejects_non_callables():
    q = _quadratic()
    with pytest.raises(TypeError, match="fun must be a function"):
        gradient_descent(q, q.grad, [1.0, 1.0], lr=0.1)
    with pytest.raises(TypeError, match="grad must be a function"):
        gradient_descent(q.value, q.A, [1.0, 1.0], lr=0.1)
    with pytest.raises(TypeError, match="callback must be a function"):
        gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1, callback=3)


def test_gradient_descent_rejects_a_gradient_of_the_wrong_shape():
    q = _quadratic()
    with pytest.raises(ValueError, match=r"grad\(x\) must return an array of shape"):
        gradient_descent(q.value, lambda x: np.ones(3), [1.0, 1.0], lr=0.1)


def test_gradient_descent_rejects_a_non_scalar_objective():
    q = _quadratic()
    with pytest.raises(ValueError, match=r"fun\(x\) must return a scalar"):
        gradient_descent(lambda x: x, q.grad, [1.0, 1.0], lr=0.1)
    with pytest.raises(TypeError, match=r"fun\(x\) must return a real number"):
        gradient_descent(lambda x: "f", q.grad, [1.0, 1.0], lr=0.1)


def test_gradient_descent_rejects_a_non_finite_start():
    with pytest.raises(ValueError, match=r"not finite at x0"):
        gradient_descent(lambda x: math.inf, lambda x: np.zeros(1), [1.0], lr=0.1)


# ========================================================== steepest_descent_step
def test_steepest_descent_step_matches_the_closed_form(rng):
    A = random_spd(4, rng)
    g = rng.standard_normal(4)
    eps = 0.3
    delta, lam = steepest_descent_step(g, A, eps)
    A_inv_g = np.linalg.solve(A, g)
    lam_expected = np.sqrt(g @ A_inv_g / (2 * eps**2))
    assert lam == pytest.approx(lam_expected, rel=1e-12)
    np.testing.assert_allclose(delta, -A_inv_g / lam_expected, rtol=1e-10)
    assert g @ delta == pytest.approx(-eps * np.sqrt(2 * g @ A_inv_g), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(dim=st.integers(1, 6), eps=st.floats(1e-3, 1e3), seed=seeds)
def test_steepest_step_meets_the_constraint_and_beats_random_feasible_steps(
        dim, eps, seed):
    rng = np.random.default_rng(seed)
    A = random_spd(dim, rng, spread=4.0)
    g = rng.standard_normal(dim)
    delta, lam = steepest_descent_step(g, A, eps)
    assert lam > 0
    assert 0.5 * delta @ A @ delta == pytest.approx(eps**2, rel=1e-9)
    # random directions scaled onto the constraint surface
    U = rng.standard_normal((200, dim))
    U *= (np.sqrt(2) * eps / np.sqrt(np.einsum("ni,ij,nj->n", U, A, U)))[:, None]
    np.testing.assert_allclose(0.5 * np.einsum("ni,ij,nj->n", U, A, U), eps**2,
                               rtol=1e-9)
    assert np.all(g @ delta <= U @ g + 1e-9 * abs(g @ delta))


@settings(max_examples=30, deadline=None)
@given(eps=st.floats(1e-2, 10.0), seed=seeds)
def test_steepest_step_matches_the_brute_force_search_in_2d(eps, seed):
    rng = np.random.default_rng(seed)
    A = random_spd(2, rng, spread=4.0)
    g = rng.standard_normal(2)
    delta, _ = steepest_descent_step(g, A, eps)
    best = brute_force_steepest_step(g, A, eps, num=20_001)
    # no grid point is better, and the best grid point is next to the closed form
    assert g @ delta <= g @ best + 1e-12 * abs(g @ delta)
    assert np.linalg.norm(best - delta) <= 1e-3 * np.linalg.norm(delta) * np.sqrt(
        np.linalg.cond(A))


def test_steepest_step_with_identity_is_normalised_gradient_descent(rng):
    g = rng.standard_normal(3)
    eps = 0.2
    delta, lam = steepest_descent_step(g, np.eye(3), eps)
    np.testing.assert_allclose(delta, -eps * np.sqrt(2) * g / np.linalg.norm(g))
    assert 1 / lam == pytest.approx(eps * np.sqrt(2) / np.linalg.norm(g))


def test_steepest_step_with_the_hessian_reaches_the_minimizer_of_a_quadratic(rng):
    q = Quadratic(random_spd(4, rng), rng.standard_normal(4))
    x = rng.standard_normal(4)
    g = q.grad(x)
    eps = np.sqrt(g @ np.linalg.solve(q.A, g) / 2)  # makes 1/lambda = 1
    delta, lam = steepest_descent_step(g, q.hessian(x), eps)
    assert lam == pytest.approx(1.0)
    np.testing.assert_allclose(x + delta, q.minimizer(), atol=1e-10)


def test_steepest_step_rejects_a_zero_gradient():
    with pytest.raises(ValueError, match="g is the zero vector.*no steepest direction"):
        steepest_descent_step(np.zeros(2), np.eye(2), 0.1)


@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan")])
def test_steepest_step_rejects_bad_eps(eps):
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        steepest_descent_step([1.0, 0.0], np.eye(2), eps)


def test_steepest_step_rejects_non_numeric_eps():
    with pytest.raises(TypeError, match="eps must be a real number"):
        steepest_descent_step([1.0, 0.0], np.eye(2), None)


def test_steepest_step_rejects_non_symmetric_A():
    with pytest.raises(ValueError, match="A must be symmetric"):
        steepest_descent_step([1.0, 0.0], [[1.0, 0.5], [0.0, 1.0]], 0.1)


def test_steepest_step_rejects_A_that_is_not_positive_definite():
    with pytest.raises(ValueError, match="A must be positive definite"):
        steepest_descent_step([1.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], 0.1)


def test_steepest_step_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"A must be 3 x 3 to match g"):
        steepest_descent_step([1.0, 0.0, 1.0], np.eye(2), 0.1)
    with pytest.raises(ValueError, match="g must be a 1-D vector"):
        steepest_descent_step([[1.0, 0.0]], np.eye(2), 0.1)


def test_steepest_step_rejects_nan():
    with pytest.raises(ValueError, match="g contains NaN"):
        steepest_descent_step([np.nan, 0.0], np.eye(2), 0.1)
    with pytest.raises(ValueError, match="A contains NaN"):
        steepest_descent_step([1.0, 0.0], [[np.nan, 0.0], [0.0, 1.0]], 0.1)


def test_steepest_step_rejects_non_numeric_g():
    with pytest.raises(TypeError, match="g must be an array of real numbers"):
        steepest_descent_step(["a", "b"], np.eye(2), 0.1)


# ============================================================== ellipse and brute force
def test_ellipse_points_lie_on_the_constraint_and_go_all_round(rng):
    A = random_spd(2, rng)
    points = ellipse_points(A, 0.7, num=400)
    np.testing.assert_allclose(0.5 * np.einsum("ni,ij,nj->n", points, A, points),
                               0.49, rtol=1e-10)
    angles = np.arctan2(points[:, 1], points[:, 0])
    assert np.ptp(angles) > 2 * np.pi - 0.1
    np.testing.assert_allclose(points[0], points[-1], atol=1e-12)  # closed curve


def test_ellipse_points_reject_bad_input():
    with pytest.raises(ValueError, match="A must be 2 x 2"):
        ellipse_points(np.eye(3), 1.0)
    with pytest.raises(ValueError, match="A must be positive definite"):
        ellipse_points(-np.eye(2), 1.0)
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        ellipse_points(np.eye(2), 0.0)
    with pytest.raises(ValueError, match="num must be >= 3"):
        ellipse_points(np.eye(2), 1.0, num=2)


def test_brute_force_steepest_step_rejects_a_gradient_that_is_not_2d():
    with pytest.raises(ValueError, match=r"g must have shape \(2,\)"):
        brute_force_steepest_step([1.0, 2.0, 3.0], np.eye(2), 1.0)


# ===================================================== step sizes, rates and counts
@settings(max_examples=30, deadline=None)
@given(dim=st.integers(1, 5), seed=seeds)
def test_best_fixed_step_minimises_the_worst_contraction(dim, seed):
    # dense twin: search the step size on a grid
    rng = np.random.default_rng(seed)
    A = random_spd(dim, rng)
    eig = np.linalg.eigvalsh(A)
    alphas = np.linspace(1e-4, 2.0 / eig[-1], 20_001)
    worst = np.max(np.abs(1 - alphas[:, None] * eig[None, :]), axis=1)
    alpha = best_fixed_step(A)
    assert contraction_rate(A) <= worst.min() + 1e-12
    assert alpha == pytest.approx(alphas[np.argmin(worst)],
                                  abs=2 * (alphas[1] - alphas[0]))
    assert contraction_rate(A, lr=alpha) == pytest.approx(contraction_rate(A))


def test_contraction_rate_is_kappa_minus_one_over_kappa_plus_one():
    A = np.diag([2.0, 5.0, 20.0])
    assert best_fixed_step(A) == pytest.approx(2 / 22)
    assert contraction_rate(A) == pytest.approx((10 - 1) / (10 + 1))
    assert contraction_rate(A, lr=0.05) == pytest.approx(0.9)
    assert contraction_rate(A, lr=0.2) == pytest.approx(3.0)  # unstable: > 1


def test_step_size_helpers_reject_bad_A_and_lr():
    with pytest.raises(ValueError, match="A must be positive definite"):
        best_fixed_step(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="A must be symmetric"):
        contraction_rate([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        contraction_rate(np.eye(2), lr=-1.0)


def test_iterations_to_tolerance_small_cases():
    assert iterations_to_tolerance(0.5, initial_error=1.0, tol=1e-3) == 10
    assert iterations_to_tolerance(0.5, initial_error=1.0, tol=2.0**-10) == 10
    assert iterations_to_tolerance(0.5, initial_error=1.0, tol=0.999 * 2.0**-10) == 11
    assert iterations_to_tolerance(0.9, initial_error=0.5, tol=1.0) == 0
    assert iterations_to_tolerance(0.0, initial_error=1.0, tol=1e-9) == 1


def test_iterations_to_tolerance_rejects_bad_input():
    with pytest.raises(ValueError, match="rate must be < 1"):
        iterations_to_tolerance(1.0, initial_error=1.0, tol=0.1)
    with pytest.raises(ValueError, match="rate must be finite and >= 0"):
        iterations_to_tolerance(-0.5, initial_error=1.0, tol=0.1)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        iterations_to_tolerance(0.5, initial_error=1.0, tol=0.0)
    with pytest.raises(ValueError, match="initial_error must be finite and >= 0"):
        iterations_to_tolerance(0.5, initial_error=-1.0, tol=0.1)


def test_steepest_step_handles_a_tiny_gradient_without_underflow():
    A = np.diag([2.0, 1.0])
    delta, lam = ngd.steepest_descent_step(np.array([1e-200, 0.0]), A, 0.5)
    assert np.all(np.isfinite(delta)) and np.isfinite(lam) and lam > 0
    np.testing.assert_allclose(0.5 * delta @ A @ delta, 0.25, rtol=1e-12)
    assert delta[0] < 0


def test_a_small_non_symmetric_matrix_is_rejected():
    A = 1e-11 * np.array([[1.0, 5.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="A must be symmetric"):
        ngd.steepest_descent_step(np.array([1.0, 0.0]), A, 1.0)
