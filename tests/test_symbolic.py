"""Tests of ngd_lib.symbolic: closed forms as tables, Monte-Carlo checks, errors.

Every expected closed form below is written by hand from the textbook formula (see
literature.md, "Chapter 3-4"), never copied from the implementation.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ngd_lib import symbolic as S

MONTE_CARLO_SAMPLES = 400_000
MONTE_CARLO_RTOL = 0.03  # about 6 standard errors for these sample sizes
MONTE_CARLO_ATOL_FRACTION = 0.01  # for zero entries: 1% of the largest entry


def same(a, b) -> bool:
    """True when the expressions (or matrices) a and b are equal for all parameters."""
    diff = sp.Matrix(a) - sp.Matrix(b) if isinstance(a, sp.MatrixBase) else a - b
    if isinstance(diff, sp.MatrixBase):
        return all(same_scalar(entry) for entry in diff)
    return same_scalar(diff)


def same_scalar(diff) -> bool:
    # force=True splits log(a/b) into log(a) - log(b), valid here because every
    # argument is positive on the parameter domains (probabilities, rates, scales).
    diff = sp.expand(sp.expand_log(diff, force=True))
    return sp.simplify(diff) == 0 or sp.simplify(diff.rewrite(sp.exp)) == 0


def categorical_fisher(k):
    """diag(1/p_i) + 1 1^T / p_k with p_k = 1 - sum of the k - 1 free probabilities."""
    probs = sp.symbols(f"p_1:{k}", positive=True)
    last = 1 - sum(probs)
    return sp.diag(*[1 / p for p in probs]) + sp.ones(k - 1, k - 1) / last


# ----------------------------------------------------------------- closed forms
FISHER_TABLE = [
    ("bernoulli", S.bernoulli, lambda p: sp.Matrix([[1 / (p * (1 - p))]])),
    ("normal", S.normal, lambda mu, sigma: sp.diag(1 / sigma**2, 2 / sigma**2)),
    ("poisson", S.poisson, lambda lam: sp.Matrix([[1 / lam]])),
    ("exponential", S.exponential, lambda lam: sp.Matrix([[1 / lam**2]])),
    ("categorical3", lambda: S.categorical(3), lambda *p: categorical_fisher(3)),
    ("categorical4", lambda: S.categorical(4), lambda *p: categorical_fisher(4)),
]


@pytest.mark.parametrize("method", S.FISHER_METHODS)
@pytest.mark.parametrize(("name", "make", "expected"), FISHER_TABLE,
                         ids=[row[0] for row in FISHER_TABLE])
def test_fisher_matches_known_closed_form(name, make, expected, method):
    family = make()
    assert same(S.fisher(family, method), expected(*family.params))


@pytest.mark.parametrize(("name", "make", "expected"), FISHER_TABLE,
                         ids=[row[0] for row in FISHER_TABLE])
def test_kl_hessian_equals_fisher(name, make, expected):
    family = make()
    assert same(S.kl_hessian(family), S.fisher(family))
    assert same(S.kl_hessian(family), expected(*family.params))


@pytest.mark.parametrize(("name", "make", "expected"), FISHER_TABLE,
                         ids=[row[0] for row in FISHER_TABLE])
def test_integral_of_pdf_hessian_is_zero(name, make, expected):
    family = make()
    d = len(family.params)
    assert S.integral_of_pdf_hessian(family) == sp.zeros(d, d)


m1, m2 = sp.symbols("m1 m2", real=True)
s1, s2 = sp.symbols("s1 s2", positive=True)
a1, a2, b1, b2 = sp.symbols("a1 a2 b1 b2", positive=True)

KL_TABLE = [
    ("normal", S.normal, (m1, s1), (m2, s2),
     sp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - sp.Rational(1, 2)),
    ("bernoulli", S.bernoulli, (a1,), (b1,),
     a1 * sp.log(a1 / b1) + (1 - a1) * sp.log((1 - a1) / (1 - b1))),
    ("poisson", S.poisson, (s1,), (s2,), s1 * sp.log(s1 / s2) - s1 + s2),
    # KL(Exp(rate s1) || Exp(rate s2)) = log(s1/s2) + s2/s1 - 1
    ("exponential", S.exponential, (s1,), (s2,), sp.log(s1 / s2) + s2 / s1 - 1),
    ("categorical3", lambda: S.categorical(3), (a1, a2), (b1, b2),
     a1 * sp.log(a1 / b1) + a2 * sp.log(a2 / b2)
     + (1 - a1 - a2) * sp.log((1 - a1 - a2) / (1 - b1 - b2))),
]


@pytest.mark.parametrize(("name", "make", "theta_p", "theta_q", "expected"), KL_TABLE,
                         ids=[row[0] for row in KL_TABLE])
def test_kl_matches_known_closed_form(name, make, theta_p, theta_q, expected):
    assert same(S.kl(make(), theta_p, theta_q), expected)


def test_kl_exponential_direction_is_p_first():
    # KL(Exp(1) || Exp(2)) = log(1/2) + 2 - 1; the reverse is log 2 + 1/2 - 1.
    value = S.kl(S.exponential(), (1,), (2,))
    assert sp.simplify(value - (1 - sp.log(2))) == 0


def test_kl_normal_matches_literature_numbers():
    # literature.md: at mu = 0.3, sigma = 0.7 and delta = (0, 0.01),
    # KL = 1.993146e-4 while (1/2) delta^T F delta = 2.040816e-4.
    exact = float(S.kl(S.normal(), (0.3, 0.7), (0.3, 0.71)))
    mu, sigma = S.normal().params
    fisher = S.fisher(S.normal()).subs({mu: 0.3, sigma: 0.7})
    delta = sp.Matrix([0, 0.01])
    quadratic = float((delta.T * fisher * delta)[0] / 2)
    assert exact == pytest.approx(1.993146e-4, rel=1e-6)
    assert quadratic == pytest.approx(2.040816e-4, rel=1e-6)


def test_kl_of_a_distribution_with_itself_is_zero():
    for family in (S.normal(), S.poisson(), S.categorical(3)):
        assert S.kl(family, family.params, family.params) == 0


@pytest.mark.parametrize(("name", "make", "expected"), FISHER_TABLE,
                         ids=[row[0] for row in FISHER_TABLE])
def test_kl_series_low_orders_vanish_and_quadratic_is_half_vFv(name, make, expected):
    family = make()
    t = sp.Symbol("t", real=True)
    v = sp.symbols(f"v1:{len(family.params) + 1}", real=True)
    series = S.kl_series(family, v, order=2, t=t)
    poly = series.removeO()
    vec = sp.Matrix(v)
    half_vfv = (vec.T * expected(*family.params) * vec)[0] / 2
    assert poly.coeff(t, 0) == 0
    assert poly.coeff(t, 1) == 0
    assert same(poly.coeff(t, 2), half_vfv)
    assert series.getO() == sp.Order(t**3, (t, 0))


def test_kl_series_normal_third_order_term():
    # By hand: KL(N(mu, s) || N(mu, s + t)) = log(1 + u) + 1/(2 (1 + u)^2) - 1/2 with
    # u = t/s, which is u^2 - 5 u^3 / 3 + O(u^4); along mu the KL is t^2/(2 s^2).
    family = S.normal()
    mu, sigma = family.params
    t = sp.Symbol("t", real=True)
    along_sigma = S.kl_series(family, (0, 1), order=3, t=t).removeO()
    along_mu = S.kl_series(family, (1, 0), order=5, t=t).removeO()
    assert same(along_sigma, t**2 / sigma**2 - sp.Rational(5, 3) * t**3 / sigma**3)
    assert same(along_mu, t**2 / (2 * sigma**2))


def test_kl_series_default_symbol_is_real_t():
    series = S.kl_series(S.poisson(), (1,), order=2)
    assert series.removeO().free_symbols == {sp.Symbol("t", real=True),
                                             S.poisson().params[0]}


def test_expectation_of_normal_moments():
    family = S.normal()
    mu, sigma = family.params
    x = family.x
    assert same(S.expectation(family, 1), 1)
    assert same(S.expectation(family, x), mu)
    assert same(S.expectation(family, (x - mu) ** 4), 3 * sigma**4)
    assert same(S.expectation(family, sp.cos(x)), sp.cos(mu) * sp.exp(-sigma**2 / 2))


def test_expectation_of_score_is_zero_for_each_family():
    for _, make, _ in FISHER_TABLE:
        family = make()
        for entry in family.score():
            assert S.expectation(family, entry) == 0


def test_reparameterize_normal_log_sigma_transforms_as_JtFJ():
    family = S.normal()
    mu, sigma = family.params
    s = sp.Symbol("s", real=True)
    log_sigma = S.reparameterize(family, (mu, s), (mu, sp.exp(s)))
    jac = sp.Matrix([mu, sp.exp(s)]).jacobian([mu, s])
    transformed = jac.T * S.fisher(family).subs(sigma, sp.exp(s)) * jac
    assert same(S.fisher(log_sigma), transformed)
    assert same(S.fisher(log_sigma), sp.diag(sp.exp(-2 * s), 2))


def test_reparameterize_bernoulli_logit_fisher_is_p_one_minus_p():
    family = S.bernoulli()
    z = sp.Symbol("z", real=True)
    logit = S.reparameterize(family, (z,), (1 / (1 + sp.exp(-z)),))
    p_of_z = 1 / (1 + sp.exp(-z))
    assert same(S.fisher(logit), sp.Matrix([[p_of_z * (1 - p_of_z)]]))


# ------------------------------------------------------------ user families
def geometric():
    x = sp.Symbol("x", integer=True, nonnegative=True)
    p = sp.Symbol("p", positive=True)
    return S.Family(x, (p,), sp.log(p) + x * sp.log(1 - p), sp.Range(0, sp.oo),
                    param_domains={p: sp.Interval.open(0, 1)}, name="Geometric(p)")


def test_user_geometric_family_fisher_and_kl():
    family = geometric()
    (p,) = family.params
    q = sp.Symbol("q", positive=True)
    assert same(S.expectation(family, family.x), (1 - p) / p)
    assert same(S.fisher(family), sp.Matrix([[1 / (p**2 * (1 - p))]]))
    assert same(S.kl_hessian(family), S.fisher(family, "hessian"))
    expected_kl = sp.log(p / q) + (1 - p) / p * sp.log((1 - p) / (1 - q))
    assert same(S.kl(family, (p,), (q,)), expected_kl)


def test_user_rayleigh_family_fisher():
    x = sp.Symbol("x", positive=True)
    sigma = sp.Symbol("sigma", positive=True)
    rayleigh = S.Family(x, (sigma,), sp.log(x / sigma**2) - x**2 / (2 * sigma**2),
                        sp.Interval(0, sp.oo))
    assert same(S.expectation(rayleigh, 1), 1)
    assert same(S.fisher(rayleigh), sp.Matrix([[4 / sigma**2]]))


def test_expectation_error_when_sympy_cannot_sum():
    # A zeta (Zipf) law: SymPy cannot even sum its normalising series.
    x = sp.Symbol("x", integer=True, positive=True)
    s = sp.Symbol("s", positive=True)
    zeta = S.Family(x, (s,), -s * sp.log(x) - sp.log(sp.zeta(s)), sp.Range(1, sp.oo),
                    param_domains={s: sp.Interval.open(1, sp.oo)}, name="Zeta(s)")
    with pytest.raises(S.ExpectationError, match="leaves the sum unevaluated"):
        S.expectation(zeta, 1)
    assert issubclass(S.ExpectationError, ValueError)


def test_expectation_error_when_condition_is_undecided():
    x = sp.Symbol("x", integer=True, nonnegative=True)
    p = sp.Symbol("p", positive=True)  # no upper bound given: p < 1 is unknown
    family = S.Family(x, (p,), sp.log(p) + x * sp.log(1 - p), sp.Range(0, sp.oo))
    with pytest.raises(S.ExpectationError, match="param_domains"):
        S.fisher(family)


def test_expectation_error_when_moment_is_infinite():
    x = sp.Symbol("x", real=True)
    g = sp.Symbol("gamma", positive=True)
    cauchy = S.Family(x, (g,), -sp.log(sp.pi * g) - sp.log(1 + (x / g) ** 2),
                      sp.Interval(-sp.oo, sp.oo), name="Cauchy")
    with pytest.raises(S.ExpectationError, match="not finite"):
        S.expectation(cauchy, x**2)


def test_expectation_error_when_sympy_runs_out_of_time():
    x = sp.Symbol("x", real=True)
    kappa = sp.Symbol("kappa", positive=True)
    von_mises = S.Family(x, (kappa,),
                         kappa * sp.cos(x) - sp.log(2 * sp.pi * sp.besseli(0, kappa)),
                         sp.Interval(-sp.pi, sp.pi), name="von Mises")
    with pytest.raises(S.ExpectationError, match="timeout=1.0"):
        S.fisher(von_mises, timeout=1)


def _von_mises():
    x = sp.Symbol("x", real=True)
    kappa = sp.Symbol("kappa", positive=True)
    return S.Family(x, (kappa,),
                    kappa * sp.cos(x) - sp.log(2 * sp.pi * sp.besseli(0, kappa)),
                    sp.Interval(-sp.pi, sp.pi), name="von Mises")


def test_time_limit_rearms_a_callers_alarm_with_the_time_it_has_left():
    # A grader's per-cell limit (signal.alarm) must survive a symbolic call.
    signal.alarm(30)
    try:
        S.fisher(S.poisson())
        left = signal.alarm(0)
    finally:
        signal.alarm(0)
    assert 25 <= left <= 30


def test_time_limit_never_outlasts_a_callers_earlier_deadline():
    class CellTimeout(Exception):
        pass

    def on_alarm(signum, frame):
        raise CellTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    start = time.monotonic()
    try:
        with pytest.raises(CellTimeout):
            S.fisher(_von_mises(), timeout=30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < 5


def test_resolve_refuses_piecewise_with_no_branch_on_the_domain():
    family = S.bernoulli()
    (p,) = family.params
    answer = sp.Piecewise((1, p > 2), (2, p < -1))
    with pytest.raises(S.ExpectationError, match="no branch"):
        S._resolve(answer, family, (), "E[test]")


def test_resolve_keeps_branch_decided_by_domain():
    family = S.bernoulli()
    (p,) = family.params
    answer = sp.Piecewise((1, p > 2), (3, sp.Abs(p - 1) < 1), (4, True))
    assert S._resolve(answer, family, (), "E[test]") == 3


# -------------------------------------------------------------- Monte Carlo
def _samplers():
    return {
        "bernoulli": (S.bernoulli(), (0.3,),
                      lambda th, n, rng: rng.binomial(1, th[0], n)),
        "normal": (S.normal(), (0.3, 0.7),
                   lambda th, n, rng: rng.normal(th[0], th[1], n)),
        "poisson": (S.poisson(), (2.5,), lambda th, n, rng: rng.poisson(th[0], n)),
        "exponential": (S.exponential(), (1.7,),
                        lambda th, n, rng: rng.exponential(1 / th[0], n)),
        "categorical3": (S.categorical(3), (0.2, 0.5),
                         lambda th, n, rng: rng.choice(
                             [1, 2, 3], n, p=[th[0], th[1], 1 - th[0] - th[1]])),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_samplers()))
def test_fisher_matches_monte_carlo_score_outer_product(name, rng):
    family, theta, sample = _samplers()[name]
    exact = sp.lambdify(family.params, S.fisher(family), "numpy")(*theta)
    score = sp.lambdify((family.x, *family.params), list(family.score()), "numpy")
    x = sample(theta, MONTE_CARLO_SAMPLES, rng)
    scores = np.stack([np.broadcast_to(s, x.shape) for s in score(x, *theta)], axis=1)
    estimate = scores.T @ scores / len(x)
    np.testing.assert_allclose(estimate, exact, rtol=MONTE_CARLO_RTOL,
                               atol=MONTE_CARLO_ATOL_FRACTION * np.abs(exact).max())


# ------------------------------------------------------------------ hypothesis
_NORMAL_KL = sp.lambdify((m1, s1, m2, s2), S.kl(S.normal(), (m1, s1), (m2, s2)),
                         "numpy")


@settings(max_examples=50, deadline=None)
@given(mu1=st.floats(-3, 3), sig1=st.floats(0.1, 3), mu2=st.floats(-3, 3),
       sig2=st.floats(0.1, 3))
def test_kl_normal_is_nonnegative_and_matches_formula(mu1, sig1, mu2, sig2):
    value = _NORMAL_KL(mu1, sig1, mu2, sig2)
    formula = np.log(sig2 / sig1) + (sig1**2 + (mu1 - mu2) ** 2) / (2 * sig2**2) - 0.5
    assert value >= -1e-12
    assert value == pytest.approx(formula, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------ validation
x_real = sp.Symbol("x", real=True)
theta = sp.Symbol("theta", positive=True)
REALS = sp.Interval(-sp.oo, sp.oo)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"x": "x"}, TypeError, "x must be a sympy Symbol"),
    ({"params": "theta"}, TypeError, "params must be a tuple"),
    ({"params": ()}, ValueError, "at least one parameter"),
    ({"params": (theta, 2)}, TypeError, "each parameter must be a sympy Symbol"),
    ({"params": (theta, theta)}, ValueError, "must not repeat"),
    ({"params": (theta, x_real)}, ValueError, "must not be a parameter"),
    ({"log_pdf": object()}, TypeError, "log_pdf must be a sympy expression"),
    ({"log_pdf": sp.Eq(theta, 1)}, TypeError, "log_pdf must be a sympy expression"),
    ({"log_pdf": -theta * x_real**2 + sp.Symbol("c")}, ValueError,
     "also contains c"),
    ({"support": sp.FiniteSet(0, 1)}, TypeError, "support must be a sympy Interval"),
    ({"support": sp.Interval(0, theta)}, ValueError, "must not depend on symbols"),
    ({"support": sp.Range(0)}, ValueError, "must not be empty"),
    ({"support": sp.Range(0, sp.oo, 2)}, ValueError, "must have step 1"),
    ({"param_domains": 3}, TypeError, "param_domains must be a dict"),
    ({"param_domains": {x_real: sp.Interval(0, 1)}}, ValueError,
     "not one of the params"),
    ({"param_domains": {theta: (0, 1)}}, TypeError, "must be a sympy Set"),
    ({"name": 3}, TypeError, "name must be a string"),
])
def test_family_validation(kwargs, error, match):
    args = {"x": x_real, "params": (theta,),
            "log_pdf": sp.log(theta) / 2 - theta * x_real**2 / 2, "support": REALS}
    args.update(kwargs)
    extra = {k: args.pop(k) for k in ("param_domains", "name") if k in args}
    with pytest.raises(error, match=match):
        S.Family(args["x"], args["params"], args["log_pdf"], args["support"], **extra)


def test_family_accepts_single_symbol_and_list_params():
    family = S.Family(x_real, theta, -theta * x_real**2, REALS)
    assert family.params == (theta,)
    family = S.Family(x_real, [theta], -theta * x_real**2, REALS,
                      param_domains=[(theta, sp.Interval.open(0, 5))])
    assert family.domain(theta) == sp.Interval.open(0, 5)


def test_family_domain_from_assumptions():
    family = S.normal()
    mu, sigma = family.params
    assert family.domain(mu) == sp.S.Reals
    assert family.domain(sigma) == sp.Interval.open(0, sp.oo)
    assert family.domain(sp.Symbol("z")) is None


def test_family_score_and_hessian_of_normal():
    family = S.normal()
    mu, sigma = family.params
    x = family.x
    assert same(family.score(), sp.Matrix([(x - mu) / sigma**2,
                                           -1 / sigma + (x - mu) ** 2 / sigma**3]))
    assert same(family.hessian_log_pdf()[0, 0], -1 / sigma**2)


def test_public_functions_reject_non_family():
    for call in (lambda: S.expectation("normal", 1), lambda: S.fisher(None),
                 lambda: S.kl(3, (1,), (1,)), lambda: S.kl_hessian(None),
                 lambda: S.kl_series(None, (1,)), lambda: S.integral_of_pdf_hessian(1),
                 lambda: S.reparameterize(None, (theta,), (theta,))):
        with pytest.raises(TypeError, match="family must be a symbolic.Family"):
            call()


def test_expectation_validation():
    family = S.exponential()
    with pytest.raises(TypeError, match="expr must be a sympy expression"):
        S.expectation(family, "x + 1")
    with pytest.raises(TypeError, match="expr must be a sympy expression"):
        S.expectation(family, sp.Eq(family.x, 1))
    with pytest.raises(TypeError, match="timeout must be a number"):
        S.expectation(family, 1, timeout=True)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        S.expectation(family, 1, timeout=0)


def test_fisher_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="method must be one of 'score', 'hessian'"):
        S.fisher(S.poisson(), method="empirical")


def test_kl_validation():
    family = S.normal()
    with pytest.raises(TypeError, match="theta_p must be a tuple of 2"):
        S.kl(family, 1, (0, 1))
    with pytest.raises(ValueError, match=r"theta_q must have one entry per parameter"):
        S.kl(family, (0, 1), (0,))
    with pytest.raises(TypeError, match=r"theta_q\[1\] must be a sympy expression"):
        S.kl(family, (0, 1), (0, object()))
    with pytest.raises(ValueError, match=r"theta_p\[1\] = -1 is outside the domain"):
        S.kl(family, (0, -1), (0, 1))


def test_kl_series_validation():
    family = S.normal()
    with pytest.raises(ValueError, match="direction must have one entry"):
        S.kl_series(family, (1,))
    with pytest.raises(ValueError, match="order must be >= 0"):
        S.kl_series(family, (1, 0), order=-1)
    with pytest.raises(TypeError, match="order must be an integer"):
        S.kl_series(family, (1, 0), order=2.0)
    with pytest.raises(TypeError, match="t must be a sympy Symbol"):
        S.kl_series(family, (1, 0), t="t")
    with pytest.raises(ValueError, match="must differ from the sample symbol"):
        S.kl_series(family, (1, 0), t=family.x)


def test_reparameterize_validation():
    family = S.normal()
    mu, sigma = family.params
    s = sp.Symbol("s", real=True)
    with pytest.raises(TypeError, match="new_params must be a tuple"):
        S.reparameterize(family, "s", (mu, sp.exp(s)))
    with pytest.raises(ValueError, match="old_in_terms_of_new must have one entry"):
        S.reparameterize(family, (mu, s), (sp.exp(s),))
    with pytest.raises(ValueError, match="may use only the new parameters"):
        S.reparameterize(family, (mu, s), (mu, sigma * sp.exp(s)))
    with pytest.raises(TypeError, match="each parameter must be a sympy Symbol"):
        S.reparameterize(family, (mu, 2), (mu, sp.Integer(2)))


def test_categorical_validation():
    with pytest.raises(ValueError, match="k must be >= 2"):
        S.categorical(1)
    with pytest.raises(TypeError, match="k must be an integer"):
        S.categorical(2.5)


def test_an_unnormalised_density_is_refused_not_given_a_wrong_fisher():
    # exp(-theta x) on [0, oo) integrates to 1/theta: without the log(theta) term the
    # score is off by 1/theta and the "Fisher" would be 2/theta**3, not 1/theta**2.
    x = sp.Symbol("x", real=True)
    theta = sp.Symbol("theta", positive=True)
    family = S.Family(x, (theta,), -theta * x, sp.Interval(0, sp.oo), name="bad")
    for call in (lambda: S.fisher(family), lambda: S.kl_hessian(family),
                 lambda: S.expectation(family, x),
                 lambda: S.kl_series(family, (1,), order=2),
                 lambda: S.kl(family, (theta,), (2 * theta,))):
        with pytest.raises(ValueError, match="not normalised.*1/theta"):
            call()
