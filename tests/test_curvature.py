"""Dense twins of every ngd_lib.curvature builder: matvec and damped solve against
numpy on the dense matrix, built here independently of the library."""

from __future__ import annotations

import numpy as np
import pytest

import ngd_lib as ngd
from ngd_lib import curvature


def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def logistic_setup(rng, n=60, d=4):
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    theta = 0.4 * rng.standard_normal(d)
    p = 1 / (1 + np.exp(-X @ theta))
    y = (rng.random(n) < p).astype(int)
    return ngd.LogisticRegression(), X, y, theta, p


def dense_fisher_logistic(X, p):
    return (X * (p * (1 - p))[:, None]).T @ X / X.shape[0]


def check_twin(C, F, rng, damping):
    """C.matrix() = F, C.matvec = F @ v and C.solve = solve(F + damping I)."""
    P = F.shape[0]
    M = C.matrix()
    assert M.shape == (P, P)
    np.testing.assert_allclose(M, F, rtol=1e-10, atol=1e-12)
    M[...] = np.nan  # a copy: writing to it leaves the operator as it was
    np.testing.assert_allclose(C.matrix(), F, rtol=1e-10, atol=1e-12)
    for _ in range(3):
        v = rng.standard_normal(P)
        np.testing.assert_allclose(C.matvec(v), F @ v, rtol=1e-10, atol=1e-12)
        res = C.solve(v, damping=damping)
        assert res.success and res.status == "solved"
        np.testing.assert_allclose(res.x, np.linalg.solve(F + damping * np.eye(P), v),
                                   rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_exact_dense_twin(rng, damping):
    model, X, y, theta, p = logistic_setup(rng)
    C = curvature.exact(model, X)(theta)
    check_twin(C, dense_fisher_logistic(X, p), rng, damping)
    assert C.solve(np.ones(4), damping=damping).cg_iterations == 0
    assert isinstance(C, curvature.Curvature)


@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_exact_matrix_free_twin_uses_cg(rng, damping):
    model, X, y, theta, p = logistic_setup(rng, d=6)
    C = curvature.exact(model, X, matrix_free=True)(theta)
    check_twin(C, dense_fisher_logistic(X, p), rng, damping)
    assert 1 <= C.solve(np.ones(6), damping=damping).cg_iterations <= 60


def test_exact_matrix_free_truncated_solve_is_usable_not_success(rng):
    model, X, y, theta, p = logistic_setup(rng, d=6)
    res = curvature.exact(model, X, matrix_free=True, cg_max_iter=2)(theta).solve(
        rng.standard_normal(6), damping=0.0)
    assert not res.success and res.status == "max_iter" and res.cg_iterations == 2
    assert np.all(np.isfinite(res.x)) and np.any(res.x != 0)


def test_softmax_exact_twin(rng):
    n, d, k = 40, 3, 3
    X = rng.standard_normal((n, d))
    theta = 0.5 * rng.standard_normal(d * k)
    probs = softmax(X @ theta.reshape(d, k))
    F = sum(np.kron(np.outer(x, x), np.diag(q) - np.outer(q, q))
            for x, q in zip(X, probs, strict=True)) / n
    model = ngd.SoftmaxRegression(n_classes=k)
    check_twin(curvature.exact(model, X)(theta), F, rng, 0.1)
    check_twin(curvature.exact(model, X, matrix_free=True)(theta), F, rng, 0.1)


@pytest.mark.parametrize(("n", "damping"), [(60, 0.0), (60, 0.05), (3, 0.05)])
def test_empirical_twin_dense_and_woodbury(rng, n, damping):
    # n = 3 < P = 4: the Woodbury branch; n = 60: the dense branch
    model, X, y, theta, p = logistic_setup(rng, n=n)
    G = (p - y)[:, None] * X
    check_twin(curvature.empirical(model, X, y)(theta), G.T @ G / n, rng, damping)


def test_empirical_woodbury_without_damping_is_a_failed_result(rng):
    model, X, y, theta, p = logistic_setup(rng, n=3)
    res = curvature.empirical(model, X, y)(theta).solve(np.ones(4), damping=0.0)
    assert not res.success and res.status == "not_positive_definite"
    assert "rank" in res.message and np.all(res.x == 0)


@pytest.mark.parametrize(("n_samples", "n"), [(1, 60), (3, 60), (1, 2)])
def test_monte_carlo_twin_reproduces_the_sampled_labels(rng, n_samples, n):
    model, X, y, theta, p = logistic_setup(rng, n=n)
    C = curvature.monte_carlo(model, X, n_samples=n_samples, rng=5)(theta)
    # the same labels, drawn here with the same seed and the model's sampler
    Xr = np.tile(X, (n_samples, 1))
    ys = model.sample(theta, Xr, np.random.default_rng(5))
    pr = 1 / (1 + np.exp(-Xr @ theta))
    G = (pr - ys)[:, None] * Xr
    check_twin(C, G.T @ G / Xr.shape[0], rng, 0.2)


def test_monte_carlo_estimates_the_exact_fisher(rng):
    model, X, y, theta, p = logistic_setup(rng, n=200)
    estimate = curvature.monte_carlo(model, X, n_samples=200, rng=1)(theta)
    F = dense_fisher_logistic(X, p)
    E = estimate.matrix()
    assert np.linalg.norm(E - F) / np.linalg.norm(F) < 0.05  # ~ 1/sqrt(4e4), x10


def test_monte_carlo_draws_fresh_labels_at_every_theta(rng):
    model, X, y, theta, p = logistic_setup(rng)
    build = curvature.monte_carlo(model, X, rng=0)
    v = np.ones(4)
    assert not np.allclose(build(theta).matvec(v), build(theta).matvec(v))


@pytest.mark.parametrize("damping", [0.0, 0.1])
def test_diagonal_twin(rng, damping):
    model, X, y, theta, p = logistic_setup(rng)
    check_twin(curvature.diagonal(model, X)(theta),
               np.diag(np.diag(dense_fisher_logistic(X, p))), rng, damping)


def test_kfac_twin_factored_damping_and_exact_inverse(rng):
    n, d, k = 50, 3, 4
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    theta = 0.3 * rng.standard_normal(d * k)
    model = ngd.SoftmaxRegression(n_classes=k)
    C = curvature.kfac(model, X, rng=3)(theta)
    ys = model.sample(theta, X, np.random.default_rng(3))
    R = softmax(X @ theta.reshape(d, k)) - np.eye(k)[ys]
    A, G = X.T @ X / n, R.T @ R / n
    K = np.kron(A, G)
    v = rng.standard_normal(d * k)
    np.testing.assert_allclose(C.matvec(v), K @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(C.matrix(), K, rtol=1e-10, atol=1e-12)
    # damping 0: the exact inverse of A (x) G (G is singular for softmax: rows of R
    # sum to 0), so the solve fails as a result
    res = C.solve(v, damping=0.0)
    assert not res.success and res.status == "not_positive_definite"
    # damping > 0: factored pi-damping, (A + pi sqrt(l) I) (x) (G + sqrt(l)/pi I)
    lam = 0.01
    pi = np.sqrt((np.trace(A) / d) / (np.trace(G) / k))
    root = np.sqrt(lam)
    damped = np.kron(A + pi * root * np.eye(d), G + root / pi * np.eye(k))
    res = C.solve(v, damping=lam)
    assert res.success
    np.testing.assert_allclose(res.x, np.linalg.solve(damped, v), rtol=1e-8)


def test_kfac_of_a_scalar_glm_is_exact_with_the_expected_output_factor(rng):
    # one block (X, r): A (x) G with G = mean r^2 over sampled labels; exact inverse
    model, X, y, theta, p = logistic_setup(rng)
    C = curvature.kfac(model, X, rng=0)(theta)
    ys = model.sample(theta, X, np.random.default_rng(0))
    r = p - ys
    K = (X.T @ X / X.shape[0]) * np.mean(r**2)
    check_twin(C, K, rng, 0.0)


def test_builders_reject_theta_of_the_wrong_length(rng):
    model, X, y, theta, p = logistic_setup(rng)
    with pytest.raises(ValueError, match="theta must have 4 entries"):
        curvature.exact(model, X)(np.zeros(3))


def test_kfac_matrix_is_block_diagonal_over_two_blocks(rng):
    # a model with two K-FAC blocks: matrix() is block-diagonal A_l (x) G_l
    class TwoBlocks:
        def n_params(self, X):
            return 2 * X.shape[1]

        def sample(self, theta, X, rng=None):
            return np.zeros(X.shape[0])

        def kfac_blocks(self, theta, X, y):
            return [(X, X[:, :1]), (X, 2 * X[:, 1:2])]

    X = rng.standard_normal((30, 3))
    C = curvature.kfac(TwoBlocks(), X, rng=0)(np.zeros(6))
    A = X.T @ X / 30
    K1, K2 = np.kron(A, A[:1, :1]), np.kron(A, 4 * A[1:2, 1:2])
    expected = np.block([[K1, np.zeros((3, 3))], [np.zeros((3, 3)), K2]])
    np.testing.assert_allclose(C.matrix(), expected, rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(6)
    np.testing.assert_allclose(C.matvec(v), expected @ v, rtol=1e-10, atol=1e-12)


def test_matrix_of_a_non_finite_curvature_is_nan(rng):
    class Overflowing:
        def n_params(self, X):
            return X.shape[1]

        def sample(self, theta, X, rng=None):
            return np.zeros(X.shape[0])

        def kfac_blocks(self, theta, X, y):
            return [(X, np.full((X.shape[0], 1), np.inf))]

    C = curvature.kfac(Overflowing(), np.ones((4, 2)), rng=0)(np.zeros(2))
    assert C.matrix().shape == (2, 2) and np.all(np.isnan(C.matrix()))
    assert C.solve(np.ones(2), damping=1.0).status == "non_finite"


def test_matrix_refuses_a_matrix_beyond_the_memory_limit(monkeypatch):
    from ngd_lib import linalg
    model = ngd.LinearRegression()
    X = np.ones((5, 3))
    C = curvature.exact(model, X, matrix_free=True)(np.zeros(3))
    monkeypatch.setattr(linalg, "DENSE_MEMORY_LIMIT", 8 * 8)  # 8 entries < 3 x 3
    with pytest.raises(ValueError, match=r"matrix\(\) would be a 3 x 3 float64"):
        C.matrix()
    with pytest.raises(ValueError, match="Use matvec"):
        curvature.diagonal(model, X)(np.zeros(3)).matrix()
