"""Tests of ngd_lib.datasets."""

from __future__ import annotations

import numpy as np
import pytest

from ngd_lib.datasets import (
    KUNSTNER_THETA_TRUE,
    kunstner_linear_regression,
    two_gaussians,
)


def test_kunstner_linear_regression_matches_legacy_generator_of_the_paper():
    # the authors' code: np.random.seed(0); lognormal column, then randn noise
    X, y = kunstner_linear_regression(1000, seed=0)
    legacy = np.random.RandomState(0)
    u = legacy.lognormal(0, 0.75, (1000, 1))
    noise = legacy.randn(1000, 1)
    np.testing.assert_array_equal(X, np.hstack([np.ones((1000, 1)), u]))
    np.testing.assert_allclose(y, (X @ np.array([[2.0], [2.0]]) + noise)[:, 0])


def test_kunstner_linear_regression_least_squares_recovers_true_theta():
    X, y = kunstner_linear_regression(20_000, seed=3)
    theta_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(theta_hat, KUNSTNER_THETA_TRUE, atol=0.05)
    residual_var = np.var(y - X @ theta_hat)
    assert abs(residual_var - 1.0) < 0.05


def test_kunstner_linear_regression_is_reproducible_and_seed_dependent():
    a = kunstner_linear_regression(10, seed=1)
    b = kunstner_linear_regression(10, seed=1)
    c = kunstner_linear_regression(10, seed=2)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[1], c[1])


def test_two_gaussians_blobs_have_the_right_means_and_labels():
    X, y = two_gaussians(5000, offset=1.5, seed=0)
    assert X.shape == (10_000, 2) and y.shape == (10_000,)
    assert set(np.unique(y)) == {0, 1} and y.sum() == 5000
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-1.5, -1.5], atol=0.05)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [1.5, 1.5], atol=0.05)
    np.testing.assert_allclose(np.cov(X[y == 1].T), np.eye(2), atol=0.06)


def test_two_gaussians_shuffle_keeps_pairs_and_unshuffled_is_ordered():
    X, y = two_gaussians(20, seed=4, shuffle=False)
    np.testing.assert_array_equal(y, np.repeat([0, 1], 20))
    Xs, ys = two_gaussians(20, seed=4, shuffle=True)
    assert not np.array_equal(ys, y)
    # the same points, only reordered
    key = np.lexsort(X.T)
    key_s = np.lexsort(Xs.T)
    np.testing.assert_array_equal(X[key], Xs[key_s])
    np.testing.assert_array_equal(y[key], ys[key_s])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: kunstner_linear_regression(0), ValueError, "n must be >= 1"),
        (
            lambda: kunstner_linear_regression(10, seed=-1),
            ValueError,
            "seed must be >= 0",
        ),
        (lambda: kunstner_linear_regression(10.0), TypeError, "n must be an integer"),
        (lambda: two_gaussians(0), ValueError, "n_per_class must be >= 1"),
        (
            lambda: two_gaussians(5, offset=0.0),
            ValueError,
            "offset must be finite and > 0",
        ),
        (lambda: two_gaussians(5, seed=1.5), TypeError, "seed must be an integer"),
    ],
)
def test_datasets_validate_their_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
