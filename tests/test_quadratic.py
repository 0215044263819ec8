"""Tests of ngd_lib.quadratic: the quadratic objective and its constructors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngd_lib as ngd
from ngd_lib.quadratic import Quadratic, random_rotation

A2 = np.array([[3.0, 1.0], [1.0, 2.0]])
B2 = np.array([1.0, -1.0])


def random_spd(dim, rng):
    M = rng.standard_normal((dim, dim))
    return M @ M.T + dim * np.eye(dim)


def finite_difference_grad(fun, x, h=1e-6):
    eye = np.eye(x.size)
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in eye])


# ------------------------------------------------------------ values and derivatives
def test_quadratic_is_exported_at_top_level():
    assert ngd.Quadratic is Quadratic


def test_value_matches_the_formula(rng):
    A = random_spd(4, rng)
    b = rng.standard_normal(4)
    x = rng.standard_normal(4)
    q = Quadratic(A, b)
    assert q.value(x) == pytest.approx(0.5 * x @ A @ x - b @ x, rel=1e-12)
    assert isinstance(q.value(x), float)


def test_value_and_grad_accept_a_batch_of_points(rng):
    A = random_spd(3, rng)
    b = rng.standard_normal(3)
    X = rng.standard_normal((7, 3))
    q = Quadratic(A, b)
    np.testing.assert_allclose(q.value(X), [q.value(x) for x in X], rtol=1e-12)
    np.testing.assert_allclose(q.grad(X), [q.grad(x) for x in X], rtol=1e-12)
    assert q.value(X).shape == (7,) and q.grad(X).shape == (7, 3)


def test_grad_matches_finite_differences(rng):
    q = Quadratic(random_spd(3, rng), rng.standard_normal(3))
    x = rng.standard_normal(3)
    np.testing.assert_allclose(q.grad(x), finite_difference_grad(q.value, x),
                               rtol=1e-6, atol=1e-8)


def test_hessian_is_A_and_a_copy():
    q = Quadratic(A2, B2)
    H = q.hessian(np.zeros(2))
    np.testing.assert_array_equal(H, A2)
    H[0, 0] = 100.0
    assert q.A[0, 0] == 3.0
    np.testing.assert_array_equal(q.hessian(), A2)


def test_minimizer_solves_A_x_equals_b_and_zeroes_the_gradient(rng):
    A = random_spd(5, rng)
    b = rng.standard_normal(5)
    q = Quadratic(A, b)
    x_star = q.minimizer()
    np.testing.assert_allclose(A @ x_star, b, atol=1e-10)
    np.testing.assert_allclose(q.grad(x_star), 0.0, atol=1e-10)
    assert q.min_value() == pytest.approx(q.value(x_star), rel=1e-10, abs=1e-12)
    # every other point is worse
    for _ in range(5):
        assert q.value(x_star + 0.1 * rng.standard_normal(5)) > q.min_value()


def test_default_b_is_zero_and_minimizer_is_origin():
    q = Quadratic(A2)
    np.testing.assert_array_equal(q.b, np.zeros(2))
    np.testing.assert_allclose(q.minimizer(), 0.0)
    assert q.dim == 2


def test_condition_number_is_the_ratio_of_extreme_eigenvalues(rng):
    A = random_spd(4, rng)
    eig = np.linalg.eigvalsh(A)
    q = Quadratic(A)
    assert q.condition_number == pytest.approx(eig[-1] / eig[0], rel=1e-12)
    np.testing.assert_allclose(q.eigenvalues, eig)


def test_inputs_are_copied_and_read_only():
    A = A2.copy()
    q = Quadratic(A, B2)
    A[0, 0] = -50.0
    assert q.A[0, 0] == 3.0
    with pytest.raises(ValueError, match="read-only"):
        q.A[0, 0] = 1.0
    with pytest.raises(AttributeError):
        q.A = np.eye(2)


# --------------------------------------------------------------------------- validation
def test_rejects_non_symmetric_A():
    with pytest.raises(ValueError, match="A must be symmetric"):
        Quadratic([[2.0, 1.0], [0.0, 2.0]])


def test_rejects_A_that_is_not_positive_definite():
    with pytest.raises(ValueError, match="A must be positive definite.*-1"):
        Quadratic([[1.0, 0.0], [0.0, -1.0]])


def test_rejects_non_square_A():
    with pytest.raises(ValueError, match="A must be a square matrix"):
        Quadratic(np.ones((2, 3)))


def test_rejects_A_that_is_not_a_matrix():
    with pytest.raises(ValueError, match="A must be a 2-D matrix"):
        Quadratic([1.0, 2.0])


def test_rejects_nan_in_A():
    with pytest.raises(ValueError, match="A contains NaN"):
        Quadratic([[1.0, np.nan], [np.nan, 1.0]])


def test_rejects_non_numeric_A():
    with pytest.raises(TypeError, match="A must be an array of real numbers"):
        Quadratic([["a", "b"], ["c", "d"]])


def test_rejects_b_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        Quadratic(A2, [1.0, 2.0, 3.0])


def test_rejects_nan_in_b():
    with pytest.raises(ValueError, match="b contains NaN"):
        Quadratic(A2, [np.nan, 1.0])


@pytest.mark.parametrize("method", ["value", "grad"])
def test_value_and_grad_reject_x_of_the_wrong_dimension(method):
    q = Quadratic(A2)
    with pytest.raises(ValueError, match=r"x must have shape \(2,\) or \(n, 2\)"):
        getattr(q, method)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"x must have shape"):
        getattr(q, method)(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("method", ["value", "grad"])
def test_value_and_grad_reject_nan_in_x(method):
    with pytest.raises(ValueError, match="x contains NaN"):
        getattr(Quadratic(A2), method)(np.array([np.nan, 0.0]))


def test_hessian_rejects_a_batch():
    with pytest.raises(ValueError, match="one point"):
        Quadratic(A2).hessian(np.zeros((3, 2)))


# -------------------------------------------------------------- with_condition_number
def test_with_condition_number_without_rng_is_diagonal_ascending():
    q = Quadratic.with_condition_number(50.0)
    np.testing.assert_array_equal(q.A, np.diag([1.0, 50.0]))
    q = Quadratic.with_condition_number(1000.0, dim=4)
    np.testing.assert_allclose(np.diag(q.A), [1.0, 10.0, 100.0, 1000.0])


def test_with_condition_number_linear_spacing():
    q = Quadratic.with_condition_number(7.0, dim=4, spacing="linear")
    np.testing.assert_allclose(q.eigenvalues, [1.0, 3.0, 5.0, 7.0])


def test_with_condition_number_passes_b():
    q = Quadratic.with_condition_number(4.0, b=[1.0, 4.0])
    np.testing.assert_allclose(q.minimizer(), [1.0, 1.0])


@settings(max_examples=40, deadline=None)
@given(kappa=st.floats(1.0, 1e5), dim=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_with_condition_number_has_the_requested_kappa_and_is_spd(kappa, dim, seed):
    q = Quadratic.with_condition_number(kappa, dim=dim, rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(q.A, q.A.T)
    np.linalg.cholesky(q.A)  # raises unless positive definite
    assert q.condition_number == pytest.approx(kappa, rel=1e-8)
    assert q.eigenvalues[0] == pytest.approx(1.0, rel=1e-8)


def test_with_condition_number_rotation_is_reproducible_and_not_axis_aligned():
    q1 = Quadratic.with_condition_number(10.0, dim=3, rng=np.random.default_rng(7))
    q2 = Quadratic.with_condition_number(10.0, dim=3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(q1.A, q2.A)
    assert np.abs(q1.A - np.diag(np.diag(q1.A))).max() > 1e-3


def test_with_condition_number_rejects_kappa_below_one():
    with pytest.raises(ValueError, match="kappa must be >= 1"):
        Quadratic.with_condition_number(0.5)


def test_with_condition_number_rejects_non_positive_or_nan_kappa():
    with pytest.raises(ValueError, match="kappa must be finite and > 0"):
        Quadratic.with_condition_number(-3.0)
    with pytest.raises(ValueError, match="kappa must be finite"):
        Quadratic.with_condition_number(float("nan"))


def test_with_condition_number_rejects_wrong_types():
    with pytest.raises(TypeError, match="kappa must be a real number"):
        Quadratic.with_condition_number("10")
    with pytest.raises(TypeError, match="dim must be an integer"):
        Quadratic.with_condition_number(10.0, dim=2.5)
    with pytest.raises(TypeError, match="rng must be None"):
        Quadratic.with_condition_number(10.0, rng="seed")


def test_with_condition_number_rejects_bad_dim_and_spacing():
    with pytest.raises(ValueError, match="dim must be >= 1"):
        Quadratic.with_condition_number(10.0, dim=0)
    with pytest.raises(ValueError, match="a 1-D quadratic has condition number 1"):
        Quadratic.with_condition_number(10.0, dim=1)
    assert Quadratic.with_condition_number(1.0, dim=1).condition_number == 1.0
    with pytest.raises(ValueError, match="spacing must be one of"):
        Quadratic.with_condition_number(10.0, spacing="cubic")


# ---------------------------------------------------------------------- random_rotation
@settings(max_examples=25, deadline=None)
@given(dim=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_random_rotation_is_orthogonal(dim, seed):
    Q = random_rotation(dim, rng=np.random.default_rng(seed))
    np.testing.assert_allclose(Q.T @ Q, np.eye(dim), atol=1e-12)


def test_random_rotation_is_uniform_in_2d():
    # under the Haar measure the angle of the first column is uniform on the circle
    rng = np.random.default_rng(3)
    angles = np.array([np.arctan2(*random_rotation(2, rng=rng)[::-1, 0])
                       for _ in range(4000)])
    counts, _ = np.histogram(angles, bins=8, range=(-np.pi, np.pi))
    expected = 4000 / 8
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 24.3  # the 0.999 quantile of chi-square with 7 degrees of freedom
