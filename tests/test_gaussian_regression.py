"""Tests of ngd.GaussianRegression against finite differences and sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ngd_lib as ngd


def mc_fisher(model, theta, X, *, n_samples=1, rng=None):
    """The one Monte-Carlo Fisher estimator, as a dense matrix."""
    return ngd.curvature.monte_carlo(model, X, n_samples=n_samples,
                                     rng=rng)(theta).matrix()

GaussianRegression = ngd.GaussianRegression

PARAMETERIZATIONS = ["log_std", "std"]


def data(rng, n=200, d=2):
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    y = X @ np.linspace(1.0, -1.0, d) + 0.7 * rng.standard_normal(n)
    return X, y


def start(parameterization, d):
    return np.append(np.full(d, 0.3), 0.2 if parameterization == "log_std" else 1.4)


def finite_difference_gradient(f, theta, h=1e-6):
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h)
                     for e in np.eye(theta.size)])


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_gaussian_regression_nll_matches_the_density(rng, parameterization):
    X, y = data(rng, n=5)
    model = GaussianRegression(parameterization)
    theta = start(parameterization, 2)
    sigma = math.exp(theta[-1]) if parameterization == "log_std" else theta[-1]
    density = np.exp(-((y - X @ theta[:-1]) ** 2) / (2 * sigma**2)) / math.sqrt(
        2 * math.pi * sigma**2)
    assert model.nll(theta, X, y) == pytest.approx(-np.mean(np.log(density)), rel=1e-12)


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_gaussian_regression_grad_and_hessian_match_finite_differences(
        rng, parameterization):
    X, y = data(rng)
    model = GaussianRegression(parameterization)
    theta = start(parameterization, 2)
    np.testing.assert_allclose(
        model.grad(theta, X, y),
        finite_difference_gradient(lambda t: model.nll(t, X, y), theta), rtol=1e-6)
    np.testing.assert_allclose(
        model.hessian(theta, X, y),
        finite_difference_gradient(lambda t: model.grad(t, X, y), theta),
        rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_gaussian_regression_fisher_closed_form(rng, parameterization):
    X, _ = data(rng)
    model = GaussianRegression(parameterization)
    theta = start(parameterization, 2)
    sigma = math.exp(theta[-1]) if parameterization == "log_std" else theta[-1]
    scale = 2.0 if parameterization == "log_std" else 2.0 / sigma**2
    expected = np.zeros((3, 3))
    expected[:2, :2] = X.T @ X / (len(X) * sigma**2)
    expected[2, 2] = scale
    F = model.fisher(theta, X)
    np.testing.assert_allclose(F, expected, rtol=1e-12)
    v = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(model.fisher_vector_product(theta, X, v), F @ v,
                               rtol=1e-12)
    np.testing.assert_allclose(model.fisher_diagonal(theta, X), np.diag(F), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_gaussian_regression_monte_carlo_fisher_estimates_the_fisher(parameterization):
    rng = np.random.default_rng(3)
    X, _ = data(rng, n=100)
    model = GaussianRegression(parameterization)
    theta = start(parameterization, 2)
    estimate = mc_fisher(model, theta, X, n_samples=400, rng=rng)
    exact = model.fisher(theta, X)
    # 40,000 draws: the standard error of each entry is ~1% of its scale
    np.testing.assert_allclose(estimate, exact, atol=0.06 * np.abs(exact).max())


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_gaussian_regression_hessian_equals_fisher_at_the_mle(rng, parameterization):
    X, y = data(rng)
    model = GaussianRegression(parameterization)
    theta = model.mle(X, y)
    np.testing.assert_allclose(model.grad(theta, X, y), 0.0, atol=1e-12)
    np.testing.assert_allclose(model.hessian(theta, X, y), model.fisher(theta, X),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.empirical_fisher(theta, X, y).shape, (3, 3))


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_gaussian_regression_natural_gradient_descent_reaches_the_mle(
        rng, parameterization):
    X, y = data(rng)
    model = GaussianRegression(parameterization)
    res = ngd.natural_gradient_descent(model, start(parameterization, 2), X, y,
                                       max_iter=200)
    assert res.success
    np.testing.assert_allclose(res.x, model.mle(X, y), rtol=1e-7)


def test_gaussian_regression_std_is_infinite_loss_below_zero(rng):
    X, y = data(rng, n=10)
    model = GaussianRegression("std")
    assert model.nll(np.array([0.0, 0.0, -1.0]), X, y) == math.inf
    with pytest.raises(ValueError, match="sigma = theta"):
        model.grad(np.array([0.0, 0.0, 0.0]), X, y)


def test_gaussian_regression_sample_has_the_model_moments():
    rng = np.random.default_rng(0)
    X = np.ones((20000, 1))
    y = GaussianRegression("log_std").sample(np.array([1.5, math.log(2.0)]), X, rng)
    assert abs(y.mean() - 1.5) < 0.05 and abs(y.std() - 2.0) < 0.05  # ~3.5 s.e.


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m, X, y: GaussianRegression("sigma"), ValueError,
         "parameterization must be one of"),
        (lambda m, X, y: m.nll(np.zeros(2), X, y), ValueError,
         "theta must have length 3"),
        (lambda m, X, y: m.grad(np.zeros(3), X, y[:3]), ValueError, "y must have one"),
        (lambda m, X, y: m.fisher(np.zeros(3), np.ones((0, 2))), ValueError,
         "at least one row"),
        (lambda m, X, y: m.fisher_vector_product(np.zeros(3), X, np.ones(2)),
         ValueError, "v must have length 3"),
        (lambda m, X, y: mc_fisher(m, np.zeros(3), X, n_samples=0),
         ValueError, "n_samples must be >= 1"),
    ],
)
def test_gaussian_regression_validation(rng, call, error, match):
    X, y = data(rng, n=10)
    with pytest.raises(error, match=match):
        call(GaussianRegression(), X, y)
