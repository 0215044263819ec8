"""Tests of ngd_lib.expfam: each closed form against a brute-force twin, properties
over random parameters (hypothesis), the NGD = mirror descent equivalence, errors.

The twins do not use the module's formulas: means and Fisher matrices come from
finite differences of A and from sums (integrals) of T(x) against p(x) written out
from the textbook densities; KL divergences from the definition E_p[log p - log q].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngd_lib import expfam as E

FAMILIES = {
    "bernoulli": E.Bernoulli(),
    "poisson": E.Poisson(),
    "gaussian": E.Gaussian(),
    "categorical3": E.Categorical(3),
    "categorical5": E.Categorical(5),
}


def natural_point(family, rng) -> np.ndarray:
    """A random natural parameter of moderate size."""
    if isinstance(family, E.Gaussian):
        return family.from_moments(rng.uniform(-2, 2), rng.uniform(0.3, 3))
    return rng.uniform(-2, 2, family.dim)


# ------------------------------------------------------ brute-force twins
def support_and_log_pmf(family, eta):
    """Points x, T(x) and log p(x | eta) from the textbook formulas (discrete) or a
    fine grid with quadrature weights (Gaussian)."""
    if isinstance(family, E.Bernoulli):
        p = 1 / (1 + math.exp(-eta[0]))
        x = np.array([0.0, 1.0])
        return x[:, None], np.log([1 - p, p]), np.ones(2)
    if isinstance(family, E.Poisson):
        lam = math.exp(eta[0])
        x = np.arange(0, 400)
        logp = x * math.log(lam) - lam - np.array([math.lgamma(k + 1) for k in x])
        return x[:, None].astype(float), logp, np.ones(x.size)
    if isinstance(family, E.Categorical):
        k = family.k
        logits = np.append(eta, 0.0)
        probs = np.exp(logits) / np.exp(logits).sum()
        T = np.eye(k)[:, : k - 1]
        return T, np.log(probs), np.ones(k)
    var = -0.5 / eta[1]
    m, s = eta[0] * var, math.sqrt(var)
    x = np.linspace(m - 14 * s, m + 14 * s, 40001)
    w = np.full(x.size, x[1] - x[0])
    logp = -((x - m) ** 2) / (2 * var) - 0.5 * math.log(2 * math.pi * var)
    return np.column_stack([x, x**2]), logp, w


def brute_moments(family, eta):
    T, logp, w = support_and_log_pmf(family, eta)
    p = np.exp(logp) * w
    mean = p @ T
    cov = (T - mean).T @ ((T - mean) * p[:, None])
    return mean, cov


def brute_kl(family, eta_p, eta_q):
    T, logp, w = support_and_log_pmf(family, eta_p)
    if isinstance(family, E.Gaussian):  # evaluate log q on p's grid
        var = -0.5 / eta_q[1]
        m = eta_q[0] * var
        x = T[:, 0]
        logq = -((x - m) ** 2) / (2 * var) - 0.5 * math.log(2 * math.pi * var)
    else:
        _, logq, _ = support_and_log_pmf(family, eta_q)
    p = np.exp(logp) * w
    return float(p @ (logp - logq))


def finite_difference_grad(f, x, h=1e-5):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def finite_difference_hessian(f, x, h=1e-4):
    E_ = h * np.eye(x.size)
    return np.array([[(f(x + a + b) - f(x + a - b) - f(x - a + b) + f(x - a - b))
                      / (4 * h**2) for b in E_] for a in E_])


@pytest.mark.parametrize("name", FAMILIES)
def test_mean_and_fisher_match_moments_of_the_sufficient_statistic(name, rng):
    family = FAMILIES[name]
    for _ in range(5):
        eta = natural_point(family, rng)
        mean, cov = brute_moments(family, eta)
        np.testing.assert_allclose(family.to_mean(eta), mean, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(family.fisher(eta), cov, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", FAMILIES)
def test_mean_and_fisher_are_derivatives_of_the_log_partition(name, rng):
    family = FAMILIES[name]
    eta = natural_point(family, rng)
    np.testing.assert_allclose(finite_difference_grad(family.log_partition, eta),
                               family.mean(eta), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(finite_difference_hessian(family.log_partition, eta),
                               family.fisher(eta), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_bregman_of_log_partition_is_the_kl_divergence(name, rng):
    family = FAMILIES[name]
    for _ in range(5):
        eta_p, eta_q = natural_point(family, rng), natural_point(family, rng)
        kl = brute_kl(family, eta_p, eta_q)
        assert family.kl(eta_p, eta_q) == pytest.approx(kl, rel=1e-7, abs=1e-10)
        assert family.bregman(eta_q, eta_p) == pytest.approx(kl, rel=1e-7, abs=1e-10)


def test_gaussian_kl_matches_the_textbook_closed_form():
    fam = E.Gaussian()
    m1, s1, m2, s2 = 0.3, 0.7, -1.1, 1.9
    expected = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    got = fam.kl(fam.from_moments(m1, s1), fam.from_moments(m2, s2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_fisher_closed_forms_of_the_literature():
    # Bernoulli in the logit: p(1 - p); Poisson in log(lambda): lambda
    p = 0.3
    eta = math.log(p / (1 - p))
    assert E.Bernoulli().fisher(eta)[0, 0] == pytest.approx(p * (1 - p), rel=1e-12)
    assert E.Poisson().fisher(math.log(2.5))[0, 0] == pytest.approx(2.5, rel=1e-12)
    probs = np.array([0.2, 0.5, 0.3])
    eta = np.log(probs[:2] / probs[2])
    np.testing.assert_allclose(E.Categorical(3).fisher(eta),
                               np.diag(probs[:2]) - np.outer(probs[:2], probs[:2]),
                               rtol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
def test_sample_mean_of_statistic_approaches_the_mean_parameter(name):
    family = FAMILIES[name]
    rng = np.random.default_rng(7)
    eta = natural_point(family, rng)
    n = 200_000
    T = family.sufficient_statistic(family.sample(eta, n, rng))
    _, cov = brute_moments(family, eta)
    standard_error = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(T.mean(axis=0) - family.to_mean(eta)) < 5 * standard_error)


# ---------------------------------------------------- properties (hypothesis)
def gaussian_or_vector(family, draw_values):
    if isinstance(family, E.Gaussian):
        m, log_s = draw_values[0] * 1.5, draw_values[1] * 0.8
        return family.from_moments(m, math.exp(log_s))
    return np.asarray(draw_values[: family.dim]) * 3


params = st.lists(st.floats(-1, 1), min_size=4, max_size=4)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(FAMILIES)[:4]), values=params)
def test_to_natural_inverts_to_mean(name, values):
    family = FAMILIES[name]
    eta = gaussian_or_vector(family, values)
    np.testing.assert_allclose(family.to_natural(family.to_mean(eta)), eta,
                               rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(FAMILIES)[:4]), values=params)
def test_fisher_in_mean_parameters_is_the_inverse_fisher(name, values):
    family = FAMILIES[name]
    eta = gaussian_or_vector(family, values)
    F = family.fisher(eta)
    G = family.fisher_mean(family.to_mean(eta))
    np.testing.assert_allclose(G @ F, np.eye(family.dim), atol=1e-8 * np.linalg.cond(F))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(FAMILIES)[:4]), values=params)
def test_conjugate_is_the_fenchel_dual(name, values):
    family = FAMILIES[name]
    eta = gaussian_or_vector(family, values)
    mu = family.to_mean(eta)
    # A*(mu) = eta^T mu - A(eta) at eta = grad A*(mu), and A* is >= any eta'^T mu - A
    value = family.conjugate(mu)
    assert value == pytest.approx(eta @ mu - family.log_partition(eta), abs=1e-9)
    other = eta + 0.1
    if family._natural_ok(other):
        assert value >= other @ mu - family.log_partition(other) - 1e-12


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(FAMILIES)), values=params,
       data_values=params, lr=st.floats(0.05, 1.0))
def test_natural_gradient_step_equals_mirror_descent_step(name, values, data_values,
                                                          lr):
    family = FAMILIES[name]
    eta = gaussian_or_vector(family, values)
    t_bar = family.to_mean(gaussian_or_vector(family, data_values))
    # the same dual point: both steps succeed and agree, or both leave the space
    outcomes = []
    for step in (lambda: family.to_mean(E.natural_gradient_step(family, eta, t_bar,
                                                                lr=lr)),
                 lambda: E.mirror_descent_step(family, family.to_mean(eta), t_bar,
                                               lr=lr)):
        try:
            outcomes.append(step())
        except ValueError as err:
            assert "left the" in str(err)
            outcomes.append(None)
    if outcomes[0] is None or outcomes[1] is None:
        assert outcomes[0] is None and outcomes[1] is None
    else:
        np.testing.assert_allclose(outcomes[0], outcomes[1], rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(FAMILIES)), values=params, data_values=params)
def test_natural_gradient_in_mean_parameters_with_unit_step_is_the_mle(
        name, values, data_values):
    family = FAMILIES[name]
    mu = family.to_mean(gaussian_or_vector(family, values))
    t_bar = family.to_mean(gaussian_or_vector(family, data_values))
    new = E.natural_gradient_step(family, mu, t_bar, lr=1.0, coordinates="mean")
    np.testing.assert_allclose(new, t_bar, rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(FAMILIES)), a=params, b=params)
def test_bregman_is_nonnegative_and_zero_only_on_the_diagonal(name, a, b):
    family = FAMILIES[name]
    eta1, eta2 = gaussian_or_vector(family, a), gaussian_or_vector(family, b)
    assert family.bregman(eta1, eta2) >= 0
    assert family.bregman(eta1, eta1) == pytest.approx(0, abs=1e-12)


# ---------------------------------------------------------------- fitting
def test_fit_methods_reach_the_mle_and_ngd_is_faster_than_gd():
    family = E.Gaussian()
    t_bar = family.to_mean(family.from_moments(1.0, 0.7))
    start_eta = family.from_moments(0.0, 1.0)
    ngd = E.fit(family, t_bar, start_eta, method="ngd", lr=0.5)
    mirror = E.fit(family, t_bar, family.to_mean(start_eta), method="mirror", lr=0.5)
    one = E.fit(family, t_bar, family.to_mean(start_eta), method="ngd_mean", lr=1.0)
    gd = E.fit(family, t_bar, start_eta, method="gd", lr=0.05, max_iter=200)
    assert ngd.success and mirror.success and one.success
    assert one.nit == 1
    np.testing.assert_allclose(ngd.history.x, mirror.history.x, rtol=1e-8)
    np.testing.assert_allclose(ngd.history.mean[-1], t_bar, atol=1e-9)
    assert not gd.success and "max_iter" in gd.message
    assert np.all(np.diff(ngd.history.fun) <= 1e-12)


def test_fit_reports_a_step_that_leaves_the_parameter_space():
    family = E.Gaussian()
    t_bar = family.to_mean(family.from_moments(2.0, 0.5))
    res = E.fit(family, t_bar, family.from_moments(0.0, 1.0), method="gd", lr=0.2)
    assert not res.success
    assert "left the parameter space" in res.message
    assert res.nit == 0 and np.all(np.isfinite(res.x)) and res.x[1] < 0


# ---------------------------------------------------------------- errors
def test_mle_on_the_boundary_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="the maximum-likelihood natural parameter"):
        E.fit(E.Bernoulli(), [0.0], [0.0])


@pytest.mark.parametrize(("family", "call", "match"), [
    (E.Gaussian(), lambda f: f.fisher([0.0, 1.0]), r"eta\[1\] < 0"),
    (E.Gaussian(), lambda f: f.to_natural([1.0, 0.5]), "positive variance"),
    (E.Gaussian(), lambda f: f.fisher([1.0]), "vector of 2"),
    (E.Bernoulli(), lambda f: f.to_natural(1.0), "0 < mu < 1"),
    (E.Poisson(), lambda f: f.log_partition(800.0), "700"),
    (E.Categorical(3), lambda f: f.to_natural([0.6, 0.5]), "sum"),
    (E.Categorical(3), lambda f: f.sufficient_statistic([0, 3]), "class labels"),
    (E.Bernoulli(), lambda f: f.fisher([np.nan]), "NaN"),
])
def test_invalid_parameters_raise_value_error_naming_the_fix(family, call, match):
    with pytest.raises(ValueError, match=match):
        call(family)


def test_invalid_arguments_of_the_steps():
    fam = E.Bernoulli()
    with pytest.raises(TypeError, match="family must be an expfam family"):
        E.natural_gradient_step("bernoulli", [0.0], [0.5])
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        E.mirror_descent_step(fam, [0.5], [0.3], lr=0.0)
    with pytest.raises(ValueError, match="coordinates must be one of"):
        E.natural_gradient_step(fam, [0.0], [0.3], coordinates="dual")
    with pytest.raises(ValueError, match="method must be one of"):
        E.fit(fam, [0.3], [0.0], method="adam")
    with pytest.raises(ValueError, match="k must be >= 2"):
        E.Categorical(1)
    with pytest.raises(ValueError, match="left the"):
        E.natural_gradient_step(E.Gaussian(), E.Gaussian().from_moments(0, 1),
                                [2.0, 4.25], lr=0.5)


# ------------------------------------------------- hostile input (review of issue 15)
@pytest.mark.parametrize("bad", [np.array([1 + 2j]), True, "1.5", np.array(["0.3"])])
def test_complex_boolean_and_string_parameters_are_refused(bad):
    # numpy would silently drop the imaginary part, read True as 1, parse "1.5"
    with pytest.raises(TypeError, match="must be (real|an array of real numbers)"):
        E.Bernoulli().to_mean(bad)
    with pytest.raises(TypeError, match="must be (real|an array of real numbers)"):
        E.natural_gradient_step(E.Bernoulli(), [0.0], bad)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: E.Gaussian().to_mean([1e200, -1e-200]), "overflows floating point"),
    (lambda: E.Gaussian().log_partition([1e200, -1e-200]), "overflows"),
    (lambda: E.Gaussian().fisher([1.0, -1e-300]), "overflows"),
    (lambda: E.Gaussian().sample([0.0, -1e-320], 3, rng=0), "overflows"),
    (lambda: E.Bernoulli().fisher([1e5]), "underflows to a singular matrix"),
    (lambda: E.Categorical(3).fisher([800.0, -800.0]), "underflows"),
    (lambda: E.Bernoulli().fisher_mean([1e-320]), "overflows"),
    (lambda: E.Gaussian().fisher_mean([0.0, 1e-200]), "overflows"),
    (lambda: E.Gaussian.from_moments(1.0, 1e-200), "overflow floating point"),
    (lambda: E.Gaussian.from_moments(1e300, 1e-10), "overflow floating point"),
    (lambda: E.Poisson().sample([50.0], 3, rng=0), "rate below 1e15"),
    (lambda: E.natural_gradient_step(E.Bernoulli(), [1e5], [0.5]), "singular"),
    # the Fisher itself refuses: it is singular in floating point (p_k = 0)
    (lambda: E.natural_gradient_step(E.Categorical(3), [1e308, 1e308], [0.3, 0.3]),
     "underflows to a singular matrix"),
    (lambda: E.Categorical(3).fisher([40.0, 40.0]), "underflows to a singular"),
])
def test_extreme_parameters_raise_instead_of_returning_nan_or_inf(call, match):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way either
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize(("family", "x"), [
    (E.Bernoulli(), [0, 2]), (E.Bernoulli(), [np.nan]), (E.Poisson(), [-1]),
    (E.Poisson(), [1.5]), (E.Gaussian(), [[1.0, 2.0], [3.0, 4.0]]),
    (E.Gaussian(), [np.inf]), (E.Categorical(3), [1.5]),
])
def test_observations_outside_the_support_are_refused(family, x):
    with pytest.raises(ValueError, match=r"^x (must|contains)"):
        family.sufficient_statistic(x)


def test_boolean_observations_are_zero_one_data():
    np.testing.assert_array_equal(E.Bernoulli().sufficient_statistic([True, False]),
                                  [[1.0], [0.0]])


def test_fit_with_too_large_a_step_stops_with_a_message_not_an_overflow():
    for method, start in (("gd", [0.0]), ("ngd", [0.0]), ("mirror", [1.0]),
                          ("ngd_mean", [1.0])):
        res = E.fit(E.Poisson(), [3.0], start, method=method, lr=10.0)
        assert not res.success and "stopped after" in res.message
        assert np.all(np.isfinite(res.history.x)) and np.isfinite(res.fun)


def test_kl_names_its_own_arguments():
    with pytest.raises(TypeError, match="eta_p must be an array of real numbers"):
        E.Poisson().kl("a", 1.0)
