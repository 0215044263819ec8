"""Tests of ngd_lib.linalg: each solver against a dense solve of (M + λI)x = b."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngd_lib as ngd
from ngd_lib.linalg import NotPositiveDefiniteError, cholesky_solve, woodbury_solve


def random_spd(d: int, rng, *, condition: float = 100.0) -> np.ndarray:
    """A random symmetric positive-definite matrix with the given condition number."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eigenvalues = np.geomspace(1.0, condition, d)
    return (Q * eigenvalues) @ Q.T


def dense_solve(M, b, damping):
    return np.linalg.solve(M + damping * np.eye(M.shape[0]), b)


# --- cg_solve -------------------------------------------------------------------------
def test_cg_solve_matches_dense_solve_with_damping(rng):
    F = random_spd(20, rng)
    g = rng.standard_normal(20)
    x = ngd.cg_solve(lambda v: F @ v, g, damping=0.1)
    np.testing.assert_allclose(x.x, np.linalg.solve(F + 0.1 * np.eye(20), g), rtol=1e-8)
    assert x.success and isinstance(x, ngd.CGResult)


def test_cg_solve_accepts_a_dense_matrix_like_a_matvec(rng):
    F = random_spd(15, rng)
    g = rng.standard_normal(15)
    from_matrix = ngd.cg_solve(F, g, damping=0.3)
    from_function = ngd.cg_solve(lambda v: F @ v, g, damping=0.3)
    np.testing.assert_allclose(from_matrix.x, from_function.x, rtol=1e-12)
    assert from_matrix.nit == from_function.nit


def test_cg_solve_stops_by_the_relative_residual_rule(rng):
    F = random_spd(30, rng, condition=1e3)
    b = rng.standard_normal(30)
    rtol = 1e-6
    res = ngd.cg_solve(F, b, rtol=rtol)
    true_residual = np.linalg.norm(b - F @ res.x)
    assert res.success
    assert res.residual_norm <= rtol * np.linalg.norm(b)
    # the recursive residual tracks the true one closely at this accuracy
    assert true_residual <= 10 * rtol * np.linalg.norm(b)
    # and it stopped as soon as the rule held, not later: one step fewer fails it
    fewer = ngd.cg_solve(F, b, rtol=rtol, max_iter=res.nit - 1)
    assert not fewer.success


def test_cg_solve_converges_in_as_many_steps_as_distinct_eigenvalues(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    eigenvalues = np.repeat([1.0, 5.0, 20.0], [10, 15, 15])
    M = (Q * eigenvalues) @ Q.T
    res = ngd.cg_solve(M, rng.standard_normal(40), rtol=1e-9)
    assert res.success and res.nit == 3


def test_cg_solve_zero_rhs_returns_zero_immediately():
    calls = []

    def matvec(v):
        calls.append(v)
        return v

    res = ngd.cg_solve(matvec, np.zeros(4))
    assert res.success and res.nit == 0 and res.residual_norm == 0.0
    np.testing.assert_array_equal(res.x, np.zeros(4))
    assert calls == []


def test_cg_solve_reports_non_positive_curvature_without_nan():
    M = np.diag([1.0, -2.0, 3.0])
    res = ngd.cg_solve(M, np.ones(3))
    assert not res.success and res.status == "not_positive_definite"
    assert "non-positive curvature" in res.message
    assert np.all(np.isfinite(res.x))


def test_cg_solve_reports_non_finite_matvec_without_nan():
    res = ngd.cg_solve(lambda v: np.full_like(v, np.nan), np.ones(3))
    assert not res.success and np.all(np.isfinite(res.x))
    assert res.status == "non_finite"


def test_cg_solve_singular_matrix_is_solved_with_damping(rng):
    G = rng.standard_normal((3, 10))
    M = G.T @ G  # rank 3 of 10
    b = rng.standard_normal(10)
    res = ngd.cg_solve(M, b, damping=1e-2)
    np.testing.assert_allclose(res.x, dense_solve(M, b, 1e-2), rtol=1e-7)


def test_cg_solve_max_iter_exhaustion_is_a_result(rng):
    F = random_spd(50, rng, condition=1e4)
    res = ngd.cg_solve(F, rng.standard_normal(50), max_iter=3)
    assert not res.success and res.nit == 3 and res.status == "max_iter"
    assert "max_iter = 3" in res.message
    assert np.all(np.isfinite(res.x))


def test_cg_solve_default_max_iter_is_ten_times_the_dimension(rng):
    # a noisy operator: the curvature stays positive but the residual never reaches
    # the (hopeless) tolerance, so CG runs until the default cap of 10 * d products
    calls = []

    def noisy_identity(v):
        calls.append(1)
        return v + 1e-3 * np.linalg.norm(v) * rng.standard_normal(v.shape)

    res = ngd.cg_solve(noisy_identity, np.ones(4), rtol=1e-300)
    assert not res.success and res.status == "max_iter"
    assert res.nit == 40 and len(calls) == 40


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 12),
    damping=st.floats(0.0, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_cg_solve_property_matches_dense_solve(d, damping, seed):
    rng = np.random.default_rng(seed)
    M = random_spd(d, rng, condition=50.0)
    b = rng.standard_normal(d)
    res = ngd.cg_solve(M, b, damping=damping, rtol=1e-12)
    assert res.success
    np.testing.assert_allclose(res.x, dense_solve(M, b, damping), rtol=1e-7, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(d=st.integers(2, 10), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 10))
def test_cg_solve_property_is_linear_in_b(d, seed, scale):
    rng = np.random.default_rng(seed)
    M = random_spd(d, rng)
    b = rng.standard_normal(d)
    x1 = ngd.cg_solve(M, b, rtol=1e-12).x
    x2 = ngd.cg_solve(M, scale * b, rtol=1e-12).x
    np.testing.assert_allclose(x2, scale * x1, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"b": [[1.0, 2.0]]}, ValueError, "b must be a 1-D vector"),
        ({"b": []}, ValueError, "b must have at least one entry"),
        ({"b": [1.0, np.nan]}, ValueError, "b contains NaN"),
        ({"matvec": "F"}, TypeError, "matvec must be a function"),
        ({"matvec": np.ones((2, 3))}, ValueError, "matvec must be a square matrix"),
        ({"matvec": np.array([[1.0, 2.0], [0.0, 1.0]])}, ValueError, "symmetric"),
        ({"matvec": np.eye(3)}, ValueError, "3 x 3 matrix but b has length 2"),
        ({"matvec": lambda v: np.ones(3)}, ValueError, "must return a vector"),
        ({"damping": -1.0}, ValueError, "damping must be finite and >= 0"),
        ({"damping": "big"}, TypeError, "damping must be a real number"),
        ({"rtol": 0.0}, ValueError, "rtol must be finite and > 0"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
    ],
)
def test_cg_solve_validation(kwargs, error, match):
    args = {"matvec": np.eye(2), "b": [1.0, 2.0], **kwargs}
    matvec, b = args.pop("matvec"), args.pop("b")
    with pytest.raises(error, match=match):
        ngd.cg_solve(matvec, b, **args)


# --- cholesky_solve ------------------------------------------------------------
def test_cholesky_solve_matches_dense_solve_with_damping(rng):
    F = random_spd(12, rng)
    b = rng.standard_normal(12)
    np.testing.assert_allclose(
        cholesky_solve(F, b, damping=0.5), dense_solve(F, b, 0.5), rtol=1e-10
    )
    np.testing.assert_allclose(cholesky_solve(F, b), dense_solve(F, b, 0.0), rtol=1e-10)


@pytest.mark.parametrize("d", [1, 127, 128, 129, 300])
def test_blocked_triangular_solves_match_dense_solves(rng, d):
    from ngd_lib.linalg import _cholesky_solve_factor, _solve_lower

    L = np.tril(rng.standard_normal((d, d))) + d * np.eye(d)
    b = rng.standard_normal(d)
    np.testing.assert_allclose(_solve_lower(L, b), np.linalg.solve(L, b), rtol=1e-10)
    np.testing.assert_allclose(_cholesky_solve_factor(L, b),
                               np.linalg.solve(L @ L.T, b), rtol=1e-9)


def test_cholesky_solve_matches_dense_solve_across_blocks(rng):
    F = random_spd(300, rng, condition=1e4)
    b = rng.standard_normal(300)
    np.testing.assert_allclose(cholesky_solve(F, b, damping=1e-2),
                               dense_solve(F, b, 1e-2), rtol=1e-8)


def test_cholesky_solve_singular_fisher_raises_and_suggests_damping(rng):
    G = rng.standard_normal((2, 6))
    F = G.T @ G - 1e-3 * np.eye(6)  # indefinite
    with pytest.raises(NotPositiveDefiniteError, match="damping=") as info:
        cholesky_solve(F, np.ones(6))
    assert isinstance(info.value, ValueError)
    suggested = float(str(info.value).split("damping=")[-1].rstrip("."))
    # the suggested damping does make the system solvable
    assert np.all(np.isfinite(cholesky_solve(F, np.ones(6), damping=suggested)))


@pytest.mark.parametrize(
    ("F", "b", "damping", "error", "match"),
    [
        (np.ones((2, 3)), [1.0, 1.0], 0.0, ValueError, "F must be a square matrix"),
        ([[1.0, 2.0], [0.0, 1.0]], [1.0, 1.0], 0.0, ValueError, "F must be symmetric"),
        (np.eye(3), [1.0, 1.0], 0.0, ValueError, "F is 3 x 3 but b has length 2"),
        (np.eye(2), [1.0, 1.0], -0.1, ValueError, "damping must be finite and >= 0"),
        (np.eye(2), [[1.0, 1.0]], 0.0, ValueError, "b must be a 1-D vector"),
        (-np.eye(2), [1.0, 1.0], 0.0, NotPositiveDefiniteError, "not positive"),
    ],
)
def test_cholesky_solve_validation(F, b, damping, error, match):
    with pytest.raises(error, match=match):
        cholesky_solve(F, b, damping=damping)


# --- woodbury_solve ------------------------------------------------------------
def test_woodbury_solve_matches_dense_empirical_fisher_solve(rng):
    n, d = 7, 30
    G = rng.standard_normal((n, d))
    b = rng.standard_normal(d)
    dense = dense_solve(G.T @ G / n, b, 1e-3)
    np.testing.assert_allclose(woodbury_solve(G, b, damping=1e-3), dense, rtol=1e-7)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 8),
    d=st.integers(1, 15),
    damping=st.floats(1e-3, 1e2),
    seed=st.integers(0, 2**32 - 1),
)
def test_woodbury_solve_property_matches_dense_solve(n, d, damping, seed):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    b = rng.standard_normal(d)
    np.testing.assert_allclose(
        woodbury_solve(G, b, damping=damping),
        dense_solve(G.T @ G / n, b, damping),
        rtol=1e-6, atol=1e-9,
    )


@pytest.mark.parametrize(
    ("G", "b", "damping", "error", "match"),
    [
        (np.ones((2, 3)), [1.0, 1.0, 1.0], 0.0, ValueError, "damping must be > 0"),
        (np.ones((2, 3)), [1.0, 1.0, 1.0], -1.0, ValueError, "damping must be finite"),
        (np.ones((2, 3)), [1.0, 1.0], 1.0, ValueError, "G has 3 columns"),
        (np.ones(3), [1.0, 1.0, 1.0], 1.0, ValueError, "G must be a 2-D matrix"),
        (np.ones((2, 3)), [1.0, 1.0, 1.0], None, TypeError, "damping must be a real"),
    ],
)
def test_woodbury_solve_validation(G, b, damping, error, match):
    with pytest.raises(error, match=match):
        woodbury_solve(G, b, damping=damping)


@pytest.mark.parametrize("scale", [1e-200, 1.0, 1e200])
def test_scaled_norm_neither_underflows_nor_overflows(scale):
    from ngd_lib.linalg import scaled_norm

    v = scale * np.array([3.0, 4.0])
    assert scaled_norm(v) == pytest.approx(5.0 * scale, rel=1e-15)
    assert scaled_norm(np.zeros(3)) == 0.0
