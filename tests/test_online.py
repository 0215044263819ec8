"""Tests of ngd_lib.online: the batched runs against a plain one-run loop (dense
twin), exact special cases, Fisher efficiency by Monte Carlo, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ngd_lib import online as O


def logistic_stream(runs, n, theta_true, rng):
    X = rng.standard_normal((runs, n, len(theta_true)))
    p = 1 / (1 + np.exp(-X @ theta_true))
    y = (rng.random((runs, n)) < p).astype(float)
    return X, y


def one_run_by_hand(X, y, theta0, *, natural, lr, offset, prior_weight=1.0):
    """Amari's online NGD (or SGD) on one stream, written out with plain numpy."""
    theta = np.array(theta0, dtype=float)
    fisher_sum = prior_weight * np.eye(len(theta))
    for t in range(1, len(y) + 1):
        x, label = X[t - 1], y[t - 1]
        p = 1 / (1 + np.exp(-x @ theta))
        g = (p - label) * x
        if natural:
            fisher_sum += p * (1 - p) * np.outer(x, x)
            g = np.linalg.solve(fisher_sum / (prior_weight + t), g)
        theta = theta - lr / (t + offset) * g
    return theta


@pytest.mark.parametrize("natural", [True, False])
def test_batched_runs_match_a_plain_loop_per_run(natural, rng):
    X, y = logistic_stream(4, 300, np.array([1.0, -2.0, 0.5]), rng)
    res = O.online_fit(O.logistic_grad, np.zeros(3), (X, y),
                       method="natural" if natural else "sgd",
                       fisher=O.logistic_fisher, lr=1.0, offset=2.0)
    assert res.success and res.nit == 300
    for r in range(4):
        expected = one_run_by_hand(X[r], y[r], np.zeros(3), natural=natural, lr=1.0,
                                   offset=2.0)
        np.testing.assert_allclose(res.x[r], expected, rtol=1e-10, atol=1e-12)


def test_runs_are_independent(rng):
    X, y = logistic_stream(3, 200, np.array([0.5, 1.0]), rng)
    together = O.online_fit(O.logistic_grad, np.zeros(2), (X, y),
                            fisher=O.logistic_fisher)
    alone = O.online_fit(O.logistic_grad, np.zeros(2), (X[1:2], y[1:2]),
                         fisher=O.logistic_fisher)
    np.testing.assert_allclose(together.x[1], alone.x[0], rtol=1e-12)


def test_gaussian_natural_gradient_mean_is_the_running_mean(rng):
    x = rng.normal(1.5, 0.7, size=(5, 400))
    res = O.online_fit(O.gaussian_grad, [0.0, 1.0], x, fisher=O.gaussian_fisher,
                       fisher_estimate="current", record_at=[10, 400])
    running = np.cumsum(x, axis=1) / np.arange(1, 401)
    np.testing.assert_allclose(res.history[0, :, 0], running[:, 9], rtol=1e-12)
    np.testing.assert_allclose(res.x[:, 0], running[:, -1], rtol=1e-12)
    np.testing.assert_array_equal(res.steps, [10, 400])


def test_step_sizes_follow_the_power_schedule():
    # SGD on the Gaussian mean with s = 1 fixed by hand: m_t = m_{t-1} + a_t (x_t - m)
    x = np.array([[1.0, 2.0, -1.0, 0.5]])
    res = ngd_online_fit_sgd(x, lr=0.8, offset=1.0, power=0.6)
    m, expected = 0.0, []
    for t, xt in enumerate(x[0], start=1):
        m = m + 0.8 / (t + 1.0) ** 0.6 * (xt - m)
        expected.append(m)
    np.testing.assert_allclose(res.history[:, 0, 0], expected, rtol=1e-12)


def ngd_online_fit_sgd(x, **kwargs):
    def grad_mean_only(theta, example):  # d/dm of (x - m)^2 / 2, no scale parameter
        return (theta - example[0][:, None])

    return O.online_fit(grad_mean_only, [0.0], x, method="sgd", **kwargs)


def test_polyak_average_is_the_mean_of_the_iterates(rng):
    X, y = logistic_stream(2, 50, np.array([1.0, 1.0]), rng)
    res = O.online_fit(O.logistic_grad, np.zeros(2), (X, y), method="sgd",
                       average=True)
    np.testing.assert_allclose(res.average, res.history.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(res.average_history[-1], res.average)


def test_running_fisher_is_the_average_of_per_example_fishers_and_prior(rng):
    X, y = logistic_stream(2, 30, np.array([1.0, -1.0]), rng)
    res = O.online_fit(O.logistic_grad, np.zeros(2), (X, y), fisher=O.logistic_fisher,
                       prior_weight=3.0, fisher_init=2 * np.eye(2))
    thetas = np.concatenate([np.zeros((1, 2, 2)), res.history[:-1]])  # theta_{t-1}
    per_example = [O.logistic_fisher(thetas[t], (X[:, t], y[:, t]))
                   for t in range(30)]
    expected = (3.0 * 2 * np.eye(2) + np.sum(per_example, axis=0)) / 33.0
    np.testing.assert_allclose(res.fisher, expected, rtol=1e-10)


def test_sampled_fisher_is_unbiased_for_the_exact_one():
    rng = np.random.default_rng(3)
    runs = 200_000
    x = np.tile([[0.5, -1.0]], (runs, 1))
    theta = np.tile([[0.3, 0.8]], (runs, 1))
    mc = O.logistic_sampled_fisher(theta, (x,), rng).mean(axis=0)
    exact = O.logistic_fisher(theta[:1], (x[:1],))[0]
    np.testing.assert_allclose(mc, exact, rtol=0.02)


def test_seeded_monte_carlo_fisher_is_reproducible(rng):
    X, y = logistic_stream(2, 40, np.array([1.0, 0.0]), rng)
    runs = [O.online_fit(O.logistic_grad, np.zeros(2), (X, y),
                         fisher=O.logistic_sampled_fisher, rng=7) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].x, runs[1].x)


@pytest.mark.slow
def test_online_natural_gradient_is_fisher_efficient_and_sgd_is_not():
    # Amari (1998), Theorem 2: t Cov(theta_t - theta*) -> F^{-1} with step 1/t.
    rng = np.random.default_rng(0)
    theta_true = np.array([1.0, -0.5])
    runs, n = 800, 2000
    X, y = logistic_stream(runs, n, theta_true, rng)
    x_big = rng.standard_normal((400_000, 2))
    p = 1 / (1 + np.exp(-x_big @ theta_true))
    F = (x_big * (p * (1 - p))[:, None]).T @ x_big / len(x_big)
    bound = np.trace(np.linalg.inv(F))
    ngd = O.online_fit(O.logistic_grad, np.zeros(2), (X, y), fisher=O.logistic_fisher,
                       offset=10.0, record_at=[n])
    sgd = O.online_fit(O.logistic_grad, np.zeros(2), (X, y), method="sgd",
                       offset=10.0, record_at=[n])
    # mean squared error, not np.cov: SGD's slow convergence shows as a bias
    err_ngd = n * np.mean(np.sum((ngd.x - theta_true) ** 2, axis=1))
    err_sgd = n * np.mean(np.sum((sgd.x - theta_true) ** 2, axis=1))
    assert err_ngd == pytest.approx(bound, rel=0.15)
    assert err_sgd > 1.3 * bound


def test_divergence_is_reported_not_a_nan(rng):
    x = rng.normal(0.0, 1.0, size=(2, 50))
    res = O.online_fit(O.gaussian_grad, [0.0, 1e-3], x, method="sgd", lr=1e6)
    assert not res.success
    assert "diverged at step" in res.message
    assert np.all(np.isfinite(res.x)) and res.nit < 50
    assert len(res.steps) == res.nit


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"method": "adam"}, ValueError, "method must be one of"),
    ({"fisher": None}, TypeError, "needs fisher="),
    ({"lr": -1.0}, ValueError, "lr must be finite and > 0"),
    ({"offset": -1.0}, ValueError, "offset must be > -1"),
    ({"power": 1.5}, ValueError, "power must be in \\(0, 1\\]"),
    ({"fisher_estimate": "ema"}, ValueError, "fisher_estimate must be one of"),
    ({"record_at": [0]}, ValueError, "record_at must lie in"),
    ({"theta0": np.zeros((3, 2))}, ValueError, "theta0 must have shape"),
    ({"data": np.zeros(5)}, ValueError, "shape \\(runs, n, ...\\)"),
])
def test_invalid_input_raises_naming_the_argument(kwargs, error, match):
    args = {"grad": O.gaussian_grad, "theta0": [0.0, 1.0], "data": np.zeros((2, 5)),
            "fisher": O.gaussian_fisher}
    args.update(kwargs)
    grad, theta0, data = args.pop("grad"), args.pop("theta0"), args.pop("data")
    with pytest.raises(error, match=match):
        O.online_fit(grad, theta0, data, **args)


# ------------------------------------------------- hostile input (review of issue 15)
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"data": np.zeros((0, 5))}, ValueError, "runs >= 1 and n >= 1"),
    ({"data": np.zeros((2, 0))}, ValueError, "runs >= 1 and n >= 1"),
    ({"data": np.full((2, 5), np.nan)}, ValueError, "NaN"),
    ({"theta0": "ab"}, TypeError, "theta0 must be an array of real numbers"),
    ({"theta0": np.array([0.0, 1.0 + 1j])}, TypeError, "theta0 must be real; got"),
    ({"offset": True}, TypeError, "offset must be a real number"),
    ({"record_at": [2.5]}, ValueError, "whole step numbers"),
    ({"record_at": ["a"]}, TypeError, "record_at must be an array of real numbers"),
    ({"fisher_init": np.zeros((2, 2))}, ValueError, "positive definite"),
    ({"fisher_init": [[1.0, 5.0], [0.0, 1.0]]}, ValueError, "symmetric"),
    ({"average": "no"}, TypeError, "average must be True or False"),
])
def test_more_invalid_input_raises_naming_the_argument(kwargs, error, match):
    test_invalid_input_raises_naming_the_argument(kwargs, error, match)


def test_a_non_finite_gradient_or_fisher_is_reported_without_warnings(rng):
    import warnings
    x = rng.normal(0.0, 1.0, size=(2, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = O.online_fit(O.gaussian_grad, [0.0, 0.0], x, fisher=O.gaussian_fisher)
        assert not res.success and "grad returned NaN or infinite" in res.message
        res = O.online_fit(O.gaussian_grad, [0.0, 1.0], x,
                           fisher=lambda th, ex, r: np.full((2, 2, 2), np.nan))
        assert not res.success and "fisher returned NaN or infinite" in res.message
    assert res.nit == 0 and np.all(np.isfinite(res.x))


def test_logistic_functions_name_a_shape_mismatch(rng):
    X = rng.normal(size=(2, 10, 3))
    y = (rng.random((2, 10)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="Give theta0 as many entries"):
        O.online_fit(O.logistic_grad, np.zeros(2), (X, y), fisher=O.logistic_fisher)


def test_a_callable_returning_no_numbers_is_named(rng):
    with pytest.raises(TypeError, match="grad must return an array of real numbers"):
        O.online_fit(lambda th, ex: "x", [0.0, 1.0], [[1.0, 2.0]], method="sgd")
