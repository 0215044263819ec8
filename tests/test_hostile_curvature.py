"""Hostile inputs to linalg, kfac, curvature, trust_region and natural_gradient: each
ends in a ValueError/TypeError that names the argument (never a raw numpy or math
error, never a silent broadcast) or in a result with success=False and a status."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ngd_lib as ngd
from ngd_lib import curvature, kfac
from ngd_lib.linalg import cg_solve, cholesky_solve, woodbury_solve


def data(n=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    y = (rng.random(n) < 0.5).astype(int)
    return X, y


X, Y = data()
LOGISTIC = ngd.LogisticRegression()


def ngd_run(**kwargs):
    args = {"model": LOGISTIC, "theta0": np.zeros(3), "X": X, "y": Y}
    args.update(kwargs)
    return ngd.natural_gradient_descent(args.pop("model"), args.pop("theta0"),
                                        args.pop("X"), args.pop("y"), **args)


class WrongShapeGrad(ngd.LogisticRegression):
    """A custom model whose gradient has one entry too many (numpy would broadcast)."""

    def nll_and_grad(self, theta, X, y):
        value, grad = super().nll_and_grad(theta, X, y)
        return value, np.r_[grad, 0.0]


class ScalarGrad(ngd.LogisticRegression):
    def nll_and_grad(self, theta, X, y):
        return super().nll_and_grad(theta, X, y)[0], 1.0


class ArrayLoss(ngd.LogisticRegression):
    def nll_and_grad(self, theta, X, y):
        value, grad = super().nll_and_grad(theta, X, y)
        return np.full(2, value), grad


class WrongShapeFisher(ngd.LogisticRegression):
    def fisher(self, theta, X):
        return np.eye(2)


class WrongShapeFVP(ngd.LogisticRegression):
    def fisher_vector_product(self, theta, X, v):
        return np.r_[v, 0.0]


class BadBlocks(ngd.LogisticRegression):
    def kfac_blocks(self, theta, X, y):
        return [(np.asarray(X)[:, :2], np.ones((len(X), 1)))]  # 2 of 3 parameters


def raising_callback(theta, t):
    raise KeyError("from the callback")


class NoKfacModel:
    def n_params(self, X):
        return 3

    def sample(self, theta, X, rng=None):
        return np.zeros(len(X))


HUGE_P = 100_000
X_WIDE = np.ones((2, HUGE_P))

# (id, call, exception, pattern in the message)
RAISES = [
    ("ngd-damping-negative", lambda: ngd_run(damping=-1e-3), ValueError,
     "damping must be finite and >= 0"),
    ("ngd-damping-nan", lambda: ngd_run(damping=math.nan), ValueError,
     "damping must be finite"),
    ("ngd-damping-inf", lambda: ngd_run(damping=math.inf), ValueError,
     "damping must be finite"),
    ("ngd-damping-foo", lambda: ngd_run(damping="foo"), ValueError,
     "a number >= 0 or 'adaptive'"),
    ("ngd-damping-bool", lambda: ngd_run(damping=True), TypeError,
     "damping"),
    ("ngd-damping-list", lambda: ngd_run(damping=[0.1]), TypeError, "damping"),
    ("ngd-max-kl-zero", lambda: ngd_run(max_kl=0.0), ValueError,
     "max_kl must be finite and > 0"),
    ("ngd-max-kl-negative", lambda: ngd_run(max_kl=-1.0), ValueError, "max_kl"),
    ("ngd-max-kl-nan", lambda: ngd_run(max_kl=math.nan), ValueError, "max_kl"),
    ("ngd-lr-with-max-kl", lambda: ngd_run(max_kl=0.1, lr=0.5), ValueError,
     "lr must stay 1"),
    ("ngd-lr-zero", lambda: ngd_run(lr=0.0), ValueError, "lr must be finite and > 0"),
    ("ngd-lr-inf", lambda: ngd_run(lr=math.inf), ValueError, "lr must be finite"),
    ("ngd-max-iter-float", lambda: ngd_run(max_iter=2.5), TypeError,
     "max_iter must be an integer"),
    ("ngd-tol-negative", lambda: ngd_run(tol=-1.0), ValueError, "tol"),
    ("ngd-theta0-short", lambda: ngd_run(theta0=np.zeros(2)), ValueError,
     "theta0 must have 3 entries"),
    ("ngd-theta0-matrix", lambda: ngd_run(theta0=np.zeros((3, 1))), ValueError,
     "theta0 must be a 1-D vector"),
    ("ngd-theta0-nan", lambda: ngd_run(theta0=np.array([0.0, math.nan, 0.0])),
     ValueError, "theta0 contains NaN"),
    ("ngd-theta0-complex", lambda: ngd_run(theta0=np.zeros(3) + 1j), (TypeError,
     ValueError), "theta0"),
    ("ngd-curvature-string", lambda: ngd_run(curvature="exact"), TypeError,
     "curvature must be a builder"),
    ("ngd-callback-not-callable", lambda: ngd_run(callback="stop"), TypeError,
     "callback must be a function"),
    ("ngd-callback-raises-propagates", lambda: ngd_run(callback=raising_callback),
     KeyError, "from the callback"),
    ("ngd-model-grad-wrong-shape", lambda: ngd_run(model=WrongShapeGrad()), ValueError,
     r"gradient of shape \(4,\) for theta of shape \(3,\)"),
    ("ngd-model-grad-scalar", lambda: ngd_run(model=ScalarGrad()), ValueError,
     "gradient of shape"),
    ("ngd-model-array-loss", lambda: ngd_run(model=ArrayLoss()), ValueError,
     "scalar loss"),
    ("ngd-model-not-a-model", lambda: ngd_run(model=object()), TypeError,
     "ngd.Model contract"),
    ("ngd-y-wrong-length", lambda: ngd_run(y=Y[:-1]), ValueError,
     "y must have one entry per row of X"),
    ("ngd-custom-curvature-wrong-solve-shape", lambda: ngd_run(
        curvature=lambda theta: _ShortSolve()), ValueError,
     "Curvature.solve returned x"),
    ("direction-adaptive", lambda: ngd.natural_gradient_direction(
        LOGISTIC, np.zeros(3), X, Y, damping="adaptive"), ValueError,
     "needs an optimisation run"),
    ("exact-fisher-wrong-shape", lambda: ngd_run(
        model=WrongShapeFisher(), curvature=curvature.exact(WrongShapeFisher(), X)),
     ValueError, r"model.fisher returned an array of shape \(2, 2\)"),
    ("exact-fvp-wrong-shape", lambda: ngd_run(
        curvature=curvature.exact(WrongShapeFVP(), X, matrix_free=True)), ValueError,
     "model.fisher_vector_product returned"),
    ("exact-cg-max-iter-without-matrix-free", lambda: curvature.exact(
        LOGISTIC, X, cg_max_iter=5), ValueError, "pass matrix_free=True"),
    ("exact-cg-max-iter-zero", lambda: curvature.exact(
        LOGISTIC, X, matrix_free=True, cg_max_iter=0), ValueError,
     "cg_max_iter must be >= 1"),
    ("exact-dense-P-1e5-says-what-it-needs", lambda: curvature.exact(
        LOGISTIC, X_WIDE), ValueError, r"100,000 x 100,000 .* 80 GB"),
    ("monte-carlo-1e7-samples-says-what-it-needs", lambda: curvature.monte_carlo(
        LOGISTIC, np.ones((1, 200)), n_samples=HUGE_P * 100), ValueError,
     "per-example gradients would be"),
    ("monte-carlo-n-samples-zero", lambda: curvature.monte_carlo(
        LOGISTIC, X, n_samples=0), ValueError, "n_samples must be >= 1"),
    ("monte-carlo-rng-string", lambda: curvature.monte_carlo(
        LOGISTIC, X, rng="seed"), TypeError, "rng must be None"),
    ("kfac-model-without-kfac-blocks", lambda: curvature.kfac(NoKfacModel(), X),
     TypeError, "lacks kfac_blocks"),
    ("kfac-blocks-do-not-cover-theta", lambda: curvature.kfac(BadBlocks(), X, rng=0)(
        np.zeros(3)), ValueError, "covering theta's P = 3"),
    ("builder-theta-wrong-length", lambda: curvature.diagonal(LOGISTIC, X)(
        np.zeros(4)), ValueError, "theta must have 3 entries"),
    ("curvature-solve-b-wrong-length", lambda: curvature.exact(LOGISTIC, X)(
        np.zeros(3)).solve(np.ones(2), damping=0.1), ValueError,
     "b must have P = 3 entries"),
    ("curvature-solve-damping-negative", lambda: curvature.diagonal(LOGISTIC, X)(
        np.zeros(3)).solve(np.ones(3), damping=-1.0), ValueError,
     "damping must be finite and >= 0"),
    ("curvature-matvec-nan", lambda: curvature.exact(LOGISTIC, X)(
        np.zeros(3)).matvec([1.0, math.nan, 0.0]), ValueError, "v contains NaN"),
    ("cg-rhs-empty", lambda: cg_solve(np.eye(2), []), ValueError,
     "b must be a 1-D vector|at least one entry"),
    ("cg-matvec-wrong-shape", lambda: cg_solve(lambda v: np.r_[v, 1.0], np.ones(2)),
     ValueError, r"matvec\(v\) must return a vector of shape \(2,\)"),
    ("cholesky-indefinite", lambda: cholesky_solve(np.diag([1.0, -1.0]), np.ones(2)),
     ValueError, "not positive definite"),
    ("woodbury-tiny-damping-clear-error", lambda: woodbury_solve(
        np.ones((3, 4)), np.ones(4), damping=1e-300), ValueError,
     "numerically singular|overflowed"),
    ("woodbury-zero-damping", lambda: woodbury_solve(np.ones((3, 4)), np.ones(4),
                                                     damping=0.0), ValueError,
     "damping must be > 0"),
    ("woodbury-n-1e5-says-what-it-needs", lambda: woodbury_solve(
        np.ones((HUGE_P, 1)), np.ones(1), damping=1.0), ValueError, r"80 GB"),
    ("woodbury-overflow", lambda: woodbury_solve(np.full((2, 2), 1e200), np.ones(2),
                                                 damping=1.0), ValueError,
     "overflows float64"),
    ("kl-step-zero-direction", lambda: ngd.kl_step_size(np.zeros(2), np.zeros(2), 0.1),
     ValueError, "zero vector"),
    ("kl-step-negative-curvature", lambda: ngd.kl_step_size(
        np.ones(2), -np.ones(2), 0.1), ValueError, "must be positive"),
    ("kl-step-budget-zero", lambda: ngd.kl_step_size(np.ones(2), np.ones(2), 0.0),
     ValueError, "max_kl"),
    ("kfac-solve-singular-softmax-factor", lambda: kfac.kfac_solve(
        kfac.KroneckerFactors(np.eye(2), np.full((2, 2), 0.5)), np.ones(4),
        damping=0.0, factored=False), ValueError, "not positive definite"),
]


class _ShortSolve:
    def matvec(self, v):
        return np.asarray(v)

    def solve(self, b, *, damping):
        return curvature.SolveResult(np.ones(2), True, "", 0, "solved")


@pytest.mark.parametrize(("call", "error", "match"), [case[1:] for case in RAISES],
                         ids=[case[0] for case in RAISES])
def test_hostile_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_empirical_with_n_below_huge_p_is_a_failed_result_without_damping():
    # the Woodbury branch (n = 2 < P = 1e5) forms no P x P matrix; without damping
    # the solve fails as a result, with damping it solves
    C = curvature.empirical(LOGISTIC, X_WIDE, np.array([0, 1]))(np.zeros(HUGE_P))
    assert C.solve(np.ones(HUGE_P), damping=0.0).status == "not_positive_definite"
    assert C.solve(np.ones(HUGE_P), damping=1e-3).success


# --- results, not exceptions ------------------------------------------------------
def test_cg_tiny_rhs_is_solved_not_returned_as_zero():
    res = cg_solve(np.eye(2), [1e-170, 1e-170])
    assert res.success and res.status == "converged"
    np.testing.assert_allclose(res.x, [1e-170, 1e-170], rtol=1e-12)


def test_cg_huge_rhs_is_solved_not_called_indefinite():
    res = cg_solve(np.eye(2), [1e200, 1e200])
    assert res.success and res.status == "converged"
    np.testing.assert_allclose(res.x, [1e200, 1e200], rtol=1e-12)


def test_cg_scale_invariance():
    M = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -2.0])
    base = cg_solve(M, b)
    for scale in (1e-150, 1e150):
        res = cg_solve(M, scale * b)
        assert res.nit == base.nit and res.status == base.status
        np.testing.assert_allclose(res.x, scale * base.x, rtol=1e-12)


def test_cg_non_finite_matvec_is_a_status_not_indefinite():
    res = cg_solve(lambda v: np.full(2, math.nan), np.ones(2))
    assert not res.success and res.status == "non_finite"
    assert np.all(np.isfinite(res.x))


def test_cg_indefinite_matrix_status():
    res = cg_solve(np.diag([1.0, -1.0]), np.ones(2))
    assert not res.success and res.status == "not_positive_definite"


def test_woodbury_tiny_damping_raises_not_linalgerror():
    with pytest.raises(ValueError) as info:
        woodbury_solve(np.ones((3, 4)), np.ones(4), damping=1e-300)
    assert not isinstance(info.value, np.linalg.LinAlgError)


def test_ngd_overflowing_steps_end_in_a_result():
    # lr = 1e300 throws theta to ~1e300, where the probabilities saturate and the
    # Fisher underflows: a result with a message, finite x, never NaN
    res = ngd_run(lr=1e300, max_iter=5)
    assert not res.success and res.status in {"diverged", "solve_failed"}
    assert np.all(np.isfinite(res.x)) and math.isfinite(res.fun)
    assert "lr" in res.message


def test_ngd_huge_features_do_not_give_silent_nan():
    res = ngd_run(X=X * 1e150, max_iter=5)
    assert np.all(np.isfinite(res.x)) and math.isfinite(res.fun)
    assert res.status in {"converged", "max_iter", "diverged", "solve_failed",
                          "separable"}


def test_empirical_tiny_damping_outside_the_row_space_is_a_failed_result():
    X1 = np.column_stack([np.ones(2), np.zeros(2), np.ones(2)])  # rank 1, n < P
    C = curvature.empirical(LOGISTIC, X1, np.array([0, 1]))(np.zeros(3))
    # the exact answer 1/damping = 1e310 overflows float64
    res = C.solve(np.array([0.0, 1.0, 0.0]), damping=1e-310)
    assert not res.success and res.status in {"not_positive_definite", "non_finite"}
    assert np.all(res.x == 0) and "damping" in res.message


def test_kfac_builder_with_overflowing_blocks_reports_non_finite():
    class Overflow(ngd.LogisticRegression):
        def kfac_blocks(self, theta, X, y):
            return [(np.full((len(X), 3), math.inf), np.ones((len(X), 1)))]

    C = curvature.kfac(Overflow(), X, rng=0)(np.zeros(3))
    res = C.solve(np.ones(3), damping=0.1)
    assert not res.success and res.status == "non_finite"


def test_diagonal_with_zero_entries_and_no_damping_is_a_status():
    X0 = np.column_stack([np.ones(5), np.zeros(5)])
    res = curvature.diagonal(ngd.LinearRegression(), X0)(np.zeros(2)).solve(
        np.ones(2), damping=0.0)
    assert not res.success and res.status == "not_positive_definite"


def test_adaptive_damping_bound_is_a_result():
    # a model whose loss only grows off theta = 0: adaptive damping climbs to its
    # bound, every step rejected, and the run says so
    class OnlyWorse(ngd.LogisticRegression):
        def nll_and_grad(self, theta, X, y):
            value, grad = super().nll_and_grad(theta, X, y)
            return value + float(np.any(theta != 0)), grad

    res = ngd_run(model=OnlyWorse(), damping="adaptive", max_iter=200)
    assert not res.success and res.status in {"damping_limit", "max_iter"}
    np.testing.assert_array_equal(res.x, np.zeros(3))
    assert not res.history.accepted[1:].any()
