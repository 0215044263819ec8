"""Tests of ngd_lib.kfac against dense Kronecker products and the exact Fisher."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngd_lib as ngd
from ngd_lib.kfac import KroneckerFactors, kfac_factors, kfac_solve


def random_factors(rng, d_in, d_out):
    a = rng.standard_normal((50, d_in))
    g = rng.standard_normal((50, d_out)) * rng.uniform(0.1, 2.0, d_out)
    return kfac_factors(a, g), a, g


def test_kfac_factors_are_the_second_moments(rng):
    factors, a, g = random_factors(rng, 3, 2)
    np.testing.assert_allclose(factors.A, np.mean([np.outer(r, r) for r in a], axis=0))
    np.testing.assert_allclose(factors.G, np.mean([np.outer(r, r) for r in g], axis=0))


def test_kfac_matvec_matches_dense_kronecker_product(rng):
    factors, _, _ = random_factors(rng, 4, 3)
    v = rng.standard_normal(12)
    np.testing.assert_allclose(factors.matvec(v), np.kron(factors.A, factors.G) @ v,
                               rtol=1e-12)
    np.testing.assert_array_equal(factors.dense(), np.kron(factors.A, factors.G))


def test_kfac_solve_exact_damping_matches_dense_solve(rng):
    factors, _, _ = random_factors(rng, 4, 3)
    v = rng.standard_normal(12)
    dense = np.linalg.solve(factors.dense() + 0.3 * np.eye(12), v)
    np.testing.assert_allclose(kfac_solve(factors, v, damping=0.3, factored=False),
                               dense, rtol=1e-10)


def test_kfac_solve_factored_damping_matches_dense_damped_kronecker(rng):
    factors, _, _ = random_factors(rng, 5, 2)
    v = rng.standard_normal(10)
    lam = 0.2
    pi = math.sqrt((np.trace(factors.A) / 5) / (np.trace(factors.G) / 2))
    dense = np.kron(factors.A + pi * math.sqrt(lam) * np.eye(5),
                    factors.G + math.sqrt(lam) / pi * np.eye(2))
    np.testing.assert_allclose(kfac_solve(factors, v, damping=lam),
                               np.linalg.solve(dense, v), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(d_in=st.integers(1, 5), d_out=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
       damping=st.floats(1e-3, 10.0))
def test_kfac_solve_property_inverts_matvec(d_in, d_out, seed, damping):
    rng = np.random.default_rng(seed)
    factors, _, _ = random_factors(rng, d_in, d_out)
    v = rng.standard_normal(d_in * d_out)
    x = kfac_solve(factors, v, damping=damping, factored=False)
    np.testing.assert_allclose(factors.matvec(x) + damping * x, v, rtol=1e-7,
                               atol=1e-9)


def test_kfac_is_exact_when_output_factor_is_constant(rng):
    # for a single example (or identical g g^T for all examples) A (x) G is exact
    n, d, k = 30, 3, 4
    X = rng.standard_normal((n, d))
    g = np.tile(rng.standard_normal(k), (n, 1))
    per_example = np.einsum("ij,ik->ijk", X, g).reshape(n, -1)
    exact = per_example.T @ per_example / n
    np.testing.assert_allclose(kfac_factors(X, g).dense(), exact, rtol=1e-12)


def test_kfac_softmax_factors_approximate_the_exact_fisher_block(rng):
    # softmax regression is one dense layer: its exact Fisher is E[x x^T (x) Lambda]
    n, d, k = 400, 3, 3
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    model = ngd.SoftmaxRegression(n_classes=k)
    theta = 0.5 * rng.standard_normal(d * k)
    P = model.predict_proba(theta, X)
    Lambda = np.mean([np.diag(p) - np.outer(p, p) for p in P], axis=0)
    factors = KroneckerFactors(X.T @ X / n, Lambda)
    exact = model.fisher(theta, X)
    error = np.linalg.norm(factors.dense() - exact) / np.linalg.norm(exact)
    assert error < 0.2  # an approximation (0.10 here), with the right structure
    # and the factors estimated with sampled labels converge to the same G
    labels = np.concatenate([model.sample(theta, X, rng) for _ in range(50)])
    g = np.tile(P, (50, 1)) - np.eye(k)[labels]
    sampled = kfac_factors(np.tile(X, (50, 1)), g)
    np.testing.assert_allclose(sampled.G, Lambda, atol=0.01)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda f: kfac_factors(np.ones((3, 2)), np.ones((4, 1))), ValueError,
         "same"),
        (lambda f: kfac_factors(np.ones(3), np.ones((3, 1))), ValueError,
         "inputs must be a 2-D matrix"),
        (lambda f: KroneckerFactors(np.ones((2, 3)), np.eye(2)), ValueError,
         "A must be a square matrix"),
        (lambda f: KroneckerFactors(np.eye(2), [[1.0, 2.0], [0.0, 1.0]]), ValueError,
         "G must be symmetric"),
        (lambda f: kfac_solve(f, np.ones(5), damping=1.0), ValueError,
         "v must have d_in \\* d_out = 2 \\* 2 = 4"),
        (lambda f: kfac_solve(f, np.ones(4), damping=0.0), ValueError,
         "damping must be finite and > 0"),
        (lambda f: kfac_solve(f, np.ones(4), damping=-1.0, factored=False),
         ValueError, "damping must be finite and >= 0"),
        (lambda f: kfac_solve(KroneckerFactors(np.zeros((2, 2)), np.eye(2)),
                              np.ones(4), damping=1.0), ValueError, "positive traces"),
        (lambda f: kfac_solve(KroneckerFactors(np.zeros((2, 2)), np.eye(2)),
                              np.ones(4), damping=0.0, factored=False), ValueError,
         "not positive definite"),
        (lambda f: kfac_solve(np.eye(4), np.ones(4), damping=1.0), TypeError,
         "factors must be a KroneckerFactors"),
    ],
)
def test_kfac_validation(call, error, match):
    with pytest.raises(error, match=match):
        call(KroneckerFactors(np.eye(2), np.eye(2)))


def test_kfac_solve_factored_refuses_an_indefinite_damped_factor():
    factors = KroneckerFactors(np.diag([3.0, -1.0]), np.array([[1.0]]))
    with pytest.raises(ValueError, match="damped factor A .* positive definite"):
        kfac_solve(factors, np.ones(2), damping=0.04)
