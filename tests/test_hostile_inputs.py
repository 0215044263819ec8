"""Hostile input to the quadratic, optimisation, exponential-family, online, data-set,
vector-field, symbolic and notebook modules (issue 12, item 7).

Every case is one call with one bad argument. It must end in a ``ValueError`` or
``TypeError`` whose message names the argument (the regex of the case), or, for
divergence and overflow, in a result with ``success=False`` and a message; never a raw
exception from inside numpy, math or SymPy, a silent coercion (a complex number's
imaginary part dropped, ``True`` read as 1, ``"1.5"`` parsed) or a silent NaN.
Before the fixes, the cases marked ``# was:`` failed in the way they describe.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

import ngd_lib as ngd
from ngd_lib import datasets, expfam, online, symbolic, vector_fields
from ngd_lib import optimize as opt
from ngd_lib.notebook import glue
from ngd_lib.quadratic import MAX_KAPPA, Quadratic, random_rotation

Q = Quadratic([[2.0, 0.0], [0.0, 8.0]], b=[2.0, 8.0])
EYE = np.eye(2)
BERN, POIS, GAUSS, CAT = (expfam.Bernoulli(), expfam.Poisson(), expfam.Gaussian(),
                          expfam.Categorical(3))
STREAM = np.random.default_rng(0).normal(1.0, 2.0, size=(2, 20))
X2 = np.ones((2, 2))
THETA2 = np.zeros((2, 2))
POISSON = symbolic.poisson()
LAM = POISSON.params[0]
X_POS = sp.Symbol("x", positive=True)
X_INT = sp.Symbol("x", integer=True)
MU = sp.Symbol("mu", real=True)
NORMAL_LOG_PDF = -((X_POS - MU) ** 2) / 2 - sp.log(2 * sp.pi) / 2
FAST = {"timeout": 5.0}  # symbolic cases use the library's own time limit


def field(theta):
    return -theta


def _gd(x0, **kwargs):
    return opt.gradient_descent(Q.value, Q.grad, x0, **kwargs)


# (id, callable, args, kwargs, exception, regex naming the argument)
RAISES = [
    # --- the shared checks: complex, bool, strings, huge ints (silent coercions before)
    ("Quadratic A complex", Quadratic, ([[2 + 1j, 0], [0, 1]],), {}, TypeError,
     r"A must be real; got complex.*\.real"),  # was: imaginary part dropped
    ("Quadratic A bool", Quadratic, (np.eye(2, dtype=bool),), {}, TypeError,
     "A must be an array of real numbers.*boolean"),  # was: read as 1/0
    ("Quadratic A strings", Quadratic, ([["2", "0"], ["0", "1"]],), {}, TypeError,
     "A must be an array of real numbers.*string"),  # was: parsed
    ("Quadratic A huge int", Quadratic, ([[10**400, 0], [0, 1]],), {}, ValueError,
     "A holds a number too large"),  # was: OverflowError
    ("Quadratic A object", Quadratic, ([[None, 0], [0, 1]],), {}, TypeError,
     "A must be an array of real numbers"),  # was: NaN message
    ("Quadratic A ragged", Quadratic, ([[1.0, 0.0], [1.0]],), {}, TypeError,
     "A must be an array of real numbers.*different lengths"),
    ("Quadratic b complex", Quadratic, (EYE,), {"b": [1j, 0]}, TypeError,
     "b must be real; got complex"),
    ("value x '1.5'", Q.value, ("1.5",), {}, TypeError, "x must be an array of real"),
    ("grad x bool", Q.grad, ([True, False],), {}, TypeError,
     "x must be an array.*bool"),
    ("value x complex 0j", Q.value, (np.array([1 + 0j, 1]),), {}, TypeError,
     "x must be real; got complex"),  # was: ComplexWarning, imaginary part dropped
    ("value x empty", Q.value, ([],), {}, ValueError, r"x must have shape \(2,\)"),
    # --- quadratic
    ("kappa 1e17", Quadratic.with_condition_number, (1e17,), {"rng": 0}, ValueError,
     "kappa = 1e\\+17 is above the limit MAX_KAPPA"),  # was: indefinite matrix accepted
    ("kappa 1e20", Quadratic.with_condition_number, (1e20,), {"rng": 0}, ValueError,
     "kappa = 1e\\+20 is above the limit"),  # was: "A must be positive definite"
    ("kappa 1e20 diagonal", Quadratic.with_condition_number, (1e20,), {}, ValueError,
     "kappa = 1e\\+20 is above the limit"),
    ("kappa huge int", Quadratic.with_condition_number, (10**400,), {}, ValueError,
     "kappa = 1000.* too large for floating point"),  # was: OverflowError
    ("kappa bool", Quadratic.with_condition_number, (True,), {}, TypeError,
     "kappa must be a real number.*boolean"),
    ("kappa complex", Quadratic.with_condition_number, (10 + 0j,), {}, TypeError,
     r"kappa must be real; got complex"),
    ("kappa string", Quadratic.with_condition_number, ("10",), {}, TypeError,
     "kappa must be a real number.*Text is not parsed"),
    ("dim float", Quadratic.with_condition_number, (10.0,), {"dim": 3.0}, TypeError,
     r"dim must be an integer; got 3.0.*int\(3.0\)"),
    ("dim huge", Quadratic.with_condition_number, (10.0,), {"dim": 10**400}, ValueError,
     "dim must be <= 9223372036854775807"),
    ("dim memory", Quadratic.with_condition_number, (10.0,), {"dim": 10**6}, ValueError,
     "dim asks for three dim x dim matrices.*GiB"),  # was: MemoryError
    ("spacing array", Quadratic.with_condition_number, (10.0,),
     {"spacing": np.array(["linear", "x"])}, ValueError,
     "spacing must be one of"),  # was: "truth value of an array is ambiguous"
    ("rotation dim memory", random_rotation, (10**6,), {}, ValueError,
     "dim asks for.*GiB"),  # was: numpy "array is too big"
    ("rotation negative seed", random_rotation, (3,), {"rng": -1}, ValueError,
     "rng must be None, a seed >= 0"),  # was: numpy "expected non-negative integer"
    ("rotation rng string", random_rotation, (3,), {"rng": "seed"}, TypeError,
     "rng must be None, an integer seed"),
    # --- optimize
    ("gd x0 complex", _gd, ([1 + 1j, 1.0],), {"lr": 0.1}, TypeError,
     "x0 must be real; got complex"),
    ("gd lr bool", _gd, ([1.0, 1.0],), {"lr": True}, TypeError, "lr must be a real"),
    ("gd lr huge int", _gd, ([1.0, 1.0],), {"lr": 10**400}, ValueError,
     "lr = .* too large for floating point"),
    ("gd max_iter float", _gd, ([1.0, 1.0],), {"lr": 0.1, "max_iter": 1e3}, TypeError,
     r"max_iter must be an integer; got 1000.0.*int\("),
    ("gd max_iter huge", _gd, ([1.0, 1.0],), {"lr": 0.1, "max_iter": 10**30},
     ValueError, "max_iter must be <="),
    ("gd fun complex", opt.gradient_descent, (lambda x: 1j, Q.grad, [0.0, 0.0]),
     {"lr": 0.1}, TypeError, r"fun\(x\) must return a real number.*complex"),
    ("gd fun string", opt.gradient_descent, (lambda x: "1.5", Q.grad, [0.0, 0.0]),
     {"lr": 0.1}, TypeError, r"fun\(x\) must return a real number"),  # was: parsed
    ("gd grad complex", opt.gradient_descent,
     (Q.value, lambda x: x.astype(complex), [0.0, 0.0]), {"lr": 0.1}, TypeError,
     r"grad\(x\) must return real numbers.*complex"),  # was: ComplexWarning
    ("gd x0 overflowing f", _gd, ([1e200, 1e200],), {"lr": 0.1}, ValueError,
     r"fun\(x0\) = inf"),
    ("steepest eps huge", opt.steepest_descent_step, ([1e-300, 0.0], EYE, 1e308), {},
     ValueError, "eps = 1e\\+308.*float range"),  # was: returned [-inf, nan]
    ("steepest g zero", opt.steepest_descent_step, ([0.0, 0.0], EYE, 1.0), {},
     ValueError, "g is the zero vector"),
    ("steepest A indefinite", opt.steepest_descent_step, ([1.0, 0.0],
     [[1.0, 0.0], [0.0, -1.0]], 1.0), {}, ValueError, "A must be positive definite"),
    ("ellipse num memory", opt.ellipse_points, (EYE, 1.0), {"num": 10**12},
     ValueError, "num asks for .*GiB"),  # was: MemoryError
    ("ellipse eps overflow", opt.ellipse_points, (EYE * 1e-300, 1e300), {"num": 5},
     ValueError, "eps = 1e\\+300.*float range"),  # was: inf points
    ("brute force num memory", opt.brute_force_steepest_step, ([1.0, 0.0], EYE, 1.0),
     {"num": 10**12}, ValueError, "num asks for"),
    ("contraction lr overflow", opt.contraction_rate, (EYE * 8, 1e308), {},
     ValueError, "lr \\* lambda_max = 1e\\+308"),  # was: returned inf
    ("iterations rate 1", opt.iterations_to_tolerance, (1.0,),
     {"initial_error": 1.0, "tol": 1e-3}, ValueError, "rate must be < 1"),
    ("best step empty", opt.best_fixed_step, (np.empty((0, 0)),), {}, ValueError,
     "A must be a square matrix of size at least 1 x 1"),  # was: IndexError
    # --- vector fields
    ("field xs empty", vector_fields.evaluate_field, (field, [], [0.0]), {},
     ValueError, "xs must hold at least one"),  # was: IndexError
    ("field ys empty", vector_fields.evaluate_field, (field, [0.0], []), {},
     ValueError, "ys must hold at least one"),  # was: IndexError
    ("field grid memory", vector_fields.evaluate_field,
     (field, np.zeros(40_000), np.zeros(40_000)), {}, ValueError, "xs, ys asks for"),
    ("field returns complex", vector_fields.evaluate_field,
     (lambda t: t + 1j, [0.0], [0.0]), {}, TypeError,
     "field must return two real numbers.*complex"),  # was: ComplexWarning
    ("field returns strings", vector_fields.integrate_flow,
     (lambda t: ["a", "b"], [0.0, 0.0]), {"step": 0.1, "n_steps": 2}, TypeError,
     "field must return two real numbers"),  # was: numpy "could not convert"
    ("flow n_steps memory", vector_fields.integrate_flow, (field, [1.0, 1.0]),
     {"step": 0.1, "n_steps": 10**12}, ValueError, "n_steps asks for"),
    ("flow step nan", vector_fields.integrate_flow, (field, [1.0, 1.0]),
     {"step": np.nan, "n_steps": 2}, ValueError, "step must be finite"),
    ("flow start shape", vector_fields.integrate_flow, (field, [1.0, 1.0, 1.0]),
     {"step": 0.1, "n_steps": 2}, ValueError, r"start must have shape \(2,\)"),
    # --- data sets
    ("kunstner n memory", datasets.kunstner_linear_regression, (10**12,), {},
     ValueError, "n asks for"),  # was: MemoryError
    ("kunstner n bool", datasets.kunstner_linear_regression, (True,), {}, TypeError,
     "n must be an integer"),
    ("kunstner seed negative", datasets.kunstner_linear_regression, (5, -1), {},
     ValueError, "seed must be >= 0"),
    ("two_gaussians memory", datasets.two_gaussians, (10**12,), {}, ValueError,
     "n_per_class asks for"),  # was: MemoryError
    ("two_gaussians shuffle", datasets.two_gaussians, (5,), {"shuffle": "yes"},
     TypeError, "shuffle must be True or False"),  # was: accepted
    ("two_gaussians offset", datasets.two_gaussians, (5,), {"offset": np.inf},
     ValueError, "offset must be finite"),
    # --- exponential families
    ("bernoulli mu 1.5", BERN.to_natural, ([1.5],), {}, ValueError,
     "mu = .* is not a mean parameter of Bernoulli"),
    ("bernoulli mu 0", BERN.to_natural, ([0.0],), {}, ValueError, "mu = .*0 < mu < 1"),
    ("bernoulli eta nan", BERN.to_mean, ([np.nan],), {}, ValueError,
     "eta contains NaN"),
    ("bernoulli eta complex", BERN.to_mean, ([1j],), {}, TypeError,
     "eta must be real; got complex"),
    ("gaussian eta2 positive", GAUSS.to_mean, ([0.0, 0.5],), {}, ValueError,
     r"eta = .* is not a natural parameter of Gaussian"),
    ("gaussian eta overflow", GAUSS.to_mean, ([1e200, -1e-200],), {}, ValueError,
     "mean parameter at eta = .* overflows"),
    ("categorical singular fisher", CAT.fisher, ([40.0, 40.0],), {}, ValueError,
     "Fisher matrix at eta = .* singular"),  # was: singular matrix returned
    ("categorical k bool", expfam.Categorical, (True,), {}, TypeError,
     "k must be an integer"),
    ("poisson size memory", POIS.sample, ([0.0], 10**12), {}, ValueError,
     "size asks for"),  # was: MemoryError
    ("poisson size float", POIS.sample, ([0.0], 5.0), {}, TypeError,
     r"size must be an integer; got 5.0"),
    ("poisson x negative", POIS.sufficient_statistic, ([-1],), {}, ValueError,
     "x must hold observations of Poisson"),
    ("fit t_bar outside", expfam.fit, (BERN, [1.2], [0.0]), {}, ValueError,
     "t_bar = .* is not a mean parameter"),
    ("fit method array", expfam.fit, (BERN, [0.3], [0.0]),
     {"method": np.array(["ngd", "gd"])}, ValueError,
     "method must be one of"),  # was: "truth value ... ambiguous"
    ("from_moments s zero", expfam.Gaussian.from_moments, (0.0, 0.0), {}, ValueError,
     "s must be finite and > 0"),
    ("ngd step t_bar shape", expfam.natural_gradient_step, (GAUSS, [0.0, -0.5], [1.0]),
     {}, ValueError, "t_bar must be a vector of 2"),
    # --- online
    ("online theta0 empty", online.online_fit, (online.gaussian_grad, [], STREAM),
     {"fisher": online.gaussian_fisher}, ValueError,
     "theta0 must hold at least one"),  # was: IndexError
    ("online record_at huge", online.online_fit,
     (online.gaussian_grad, [0.0, 1.0], STREAM),
     {"fisher": online.gaussian_fisher, "record_at": [1e308]}, ValueError,
     r"record_at must lie in 1..20"),  # was: RuntimeWarning from the int cast
    ("online lr complex", online.online_fit,
     (online.gaussian_grad, [0.0, 1.0], STREAM),
     {"fisher": online.gaussian_fisher, "lr": 1 + 0j}, TypeError,
     "lr must be real; got complex"),
    ("online power", online.online_fit, (online.gaussian_grad, [0.0, 1.0], STREAM),
     {"fisher": online.gaussian_fisher, "power": 2.0}, ValueError,
     r"power must be in \(0, 1\]"),
    ("online grad returns strings", online.online_fit,
     (lambda theta, example: np.full(theta.shape, "1.5"), [0.0, 1.0], STREAM),
     {"method": "sgd"}, TypeError,
     "grad must return an array of real numbers"),  # was: "1.5" parsed
    ("online data bool", online.online_fit,
     (online.gaussian_grad, [0.0, 1.0], STREAM > 0), {"method": "sgd"}, TypeError,
     r"data\[0\] must be an array of real numbers.*boolean"),
    ("logistic_fisher empty example", online.logistic_fisher, (THETA2, ()), {},
     TypeError, "example must be a tuple"),  # was: IndexError
    ("logistic_grad labels", online.logistic_grad, (THETA2, (X2, [0.0, 2.0])), {},
     ValueError, r"labels example\[1\] must be one per run"),
    ("logistic_grad theta 1-D", online.logistic_grad, (np.zeros(2), (X2, [0.0, 1.0])),
     {}, ValueError, r"theta must have shape \(runs, d\)"),  # was: einsum error
    ("gaussian_grad theta bool", online.gaussian_grad,
     (np.array([True, False]), (np.zeros(2),)), {}, TypeError,
     "theta must be an array of real numbers"),  # was: IndexError
    ("gaussian_grad example complex", online.gaussian_grad,
     (np.array([[0.0, 1.0]] * 2), (np.array([1j, 0]),)), {}, TypeError,
     r"example\[0\] must be real"),  # was: accepted
    ("gaussian_fisher theta shape", online.gaussian_fisher, (np.zeros((2, 3)),), {},
     ValueError, r"theta must have shape \(runs, 2\)"),
    # --- symbolic (construction and argument checks; each call well under 1 s)
    ("Family support wider than x", symbolic.Family,
     (X_POS, (MU,), NORMAL_LOG_PDF, sp.Interval(-sp.oo, sp.oo)), {}, ValueError,
     "support Interval.* is wider than .* sample symbol"),  # was: E|x| = mu
    ("Family integer x over interval", symbolic.Family,
     (X_INT, (MU,), -((X_INT - MU) ** 2) / 2, sp.Interval(-sp.oo, sp.oo)), {},
     ValueError, "support .* is wider than"),
    ("Family log_pdf oo", symbolic.Family,
     (POISSON.x, (LAM,), sp.oo, POISSON.support), {}, ValueError,
     "log_pdf = oo holds NaN or an infinity"),  # was: accepted
    ("Family log_pdf imaginary", symbolic.Family,
     (POISSON.x, (LAM,), sp.I * LAM, POISSON.support), {}, ValueError,
     "log_pdf must be a real expression"),
    ("Family x not a symbol", symbolic.Family,
     (1.5, (LAM,), POISSON.log_pdf, POISSON.support), {}, TypeError,
     "x must be a sympy Symbol"),
    ("Family support set", symbolic.Family,
     (POISSON.x, (LAM,), POISSON.log_pdf, sp.FiniteSet(0, 1)), {}, TypeError,
     "support must be a sympy Interval"),
    ("kl theta_p outside domain", symbolic.kl, (POISSON, (-1,), (2,)), FAST,
     ValueError, r"theta_p\[0\] = -1 is outside the domain"),
    ("kl theta_q nan", symbolic.kl, (POISSON, (1,), (np.nan,)), FAST, ValueError,
     r"theta_q\[0\] = nan holds NaN"),
    ("kl theta_p length", symbolic.kl, (POISSON, (1, 2), (2,)), FAST, ValueError,
     "theta_p must have one entry per parameter"),
    ("kl_series direction nan", symbolic.kl_series, (POISSON, (np.nan,)), FAST,
     ValueError, r"direction\[0\] = nan"),  # was: returned nan
    ("kl_series direction complex", symbolic.kl_series, (POISSON, (1 + 2j,)), FAST,
     ValueError, r"direction\[0\] = .* is not real"),  # was: complex series
    ("kl_series order float", symbolic.kl_series, (POISSON, (1,)),
     {"order": 2.0, **FAST}, TypeError, "order must be an integer"),
    ("kl_series t number", symbolic.kl_series, (POISSON, (1,)), {"t": 3, **FAST},
     TypeError, "t must be a sympy Symbol"),
    ("fisher timeout bool", symbolic.fisher, (POISSON,),
     {"timeout": True}, TypeError, "timeout must be a number"),
    ("fisher timeout negative", symbolic.fisher, (POISSON,), {"timeout": -1},
     ValueError, "timeout must be > 0"),
    ("fisher method", symbolic.fisher, (POISSON, "hess"), FAST, ValueError,
     "method must be one of"),
    ("expectation expr string", symbolic.expectation, (POISSON, "x"), FAST,
     TypeError, "expr must be a sympy expression"),
    ("expectation family", symbolic.expectation, (None, 1), FAST, TypeError,
     "family must be a symbolic.Family"),
    ("categorical k huge", symbolic.categorical, (10**12,), {}, ValueError,
     "k must be <= 100"),  # was: hung building 10**12 symbols
    ("categorical k float", symbolic.categorical, (3.0,), {}, TypeError,
     r"k must be an integer; got 3.0"),
    ("reparameterize old zero", symbolic.reparameterize,
     (POISSON, (sp.Symbol("s", real=True),), (0,)), {}, ValueError,
     r"old_in_terms_of_new\[0\] = 0 is outside the domain"),  # was: log_pdf zoo*x
    ("reparameterize old complex", symbolic.reparameterize,
     (POISSON, (sp.Symbol("s", real=True),), (sp.I,)), {}, ValueError,
     r"old_in_terms_of_new\[0\] = I is not real"),
    # --- notebook
    ("glue name", glue, (3, 1.0), {}, TypeError, "name must be a non-empty string"),
]


@pytest.mark.parametrize(("call", "args", "kwargs", "error", "match"),
                         [case[1:] for case in RAISES],
                         ids=[case[0] for case in RAISES])
def test_hostile_input_raises_naming_the_argument(call, args, kwargs, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning/ComplexWarning on the way
        with pytest.raises(error, match="(?s)" + match):
            call(*args, **kwargs)


# (id, thunk) -> a result with success=False, a message, and no NaN in it
def _online_diverges():
    return online.online_fit(online.gaussian_grad, [0.0, 1.0], STREAM,
                             fisher=online.gaussian_fisher, lr=1e308)


def _online_zero_scale():
    return online.online_fit(online.gaussian_grad, [0.0, 0.0], STREAM, method="sgd")


def _gd_from_far():
    return _gd([1e150, 1e150], lr=1.0)


def _gd_lr_huge():
    return _gd([0.0, 0.0], lr=1e308)


def _gd_too_few_steps():
    return _gd([0.0, 0.0], lr=0.01, max_iter=3)


def _fit_poisson_large_lr():
    return expfam.fit(POIS, [3.0], [0.0], method="gd", lr=10.0)


def _fit_categorical_boundary():
    return expfam.fit(CAT, [0.3, 0.3], [800.0, 800.0], method="ngd")


RESULTS = [
    ("online lr 1e308", _online_diverges, "diverged"),
    ("online scale 0", _online_zero_scale, "grad returned NaN or infinite"),
    ("gd from 1e150", _gd_from_far, "diverged"),
    ("gd lr 1e308", _gd_lr_huge, "diverged"),
    ("gd max_iter 3", _gd_too_few_steps, "did not converge: reached max_iter = 3"),
    ("fit poisson lr 10", _fit_poisson_large_lr, "stopped after"),
    ("fit categorical extreme start", _fit_categorical_boundary, "stopped after"),
]


@pytest.mark.parametrize(("thunk", "message"), [case[1:] for case in RESULTS],
                         ids=[case[0] for case in RESULTS])
def test_divergence_is_a_result_not_a_nan(thunk, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = thunk()
    assert res.success is False
    assert message in res.message
    assert np.all(np.isfinite(res.x))


def test_the_tables_are_large_enough():
    assert len(RAISES) + len(RESULTS) >= 60


# ------------------------------------------- wrong results, checked by value
def test_with_condition_number_at_the_limit_is_what_it_says():
    # at MAX_KAPPA the rotated matrix is positive definite with the asked kappa
    q = Quadratic.with_condition_number(MAX_KAPPA, dim=10, rng=0)
    assert np.linalg.eigvalsh(q.A)[0] > 0
    assert q.condition_number == pytest.approx(MAX_KAPPA, rel=1e-3)


def test_quadratic_overflow_is_signed_inf_never_nan():
    q = Quadratic([[2.0, 1.0], [1.0, 2.0]], b=[1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert q.value([1e200, 1e200]) == np.inf
        assert q.value([1e308, -1e308]) == np.inf  # was: overflow warnings
        grad = q.grad([[1e308, 1e308], [1.0, 2.0]])
    assert grad[0].tolist() == [np.inf, np.inf]
    assert grad[1].tolist() == [3.0, 4.0]


def test_iterations_to_tolerance_with_an_underflowing_ratio():
    # tol / initial_error = 1e-616 underflows to 0 (was: math domain error)
    t = opt.iterations_to_tolerance(0.5, initial_error=1e308, tol=1e-308)
    assert t == int(np.ceil((np.log(1e-308) - np.log(1e308)) / np.log(0.5)))


def test_expectation_with_an_honest_sample_symbol():
    # the same density with a real x: E|x - mu| = sqrt(2/pi), not 0
    x = sp.Symbol("x", real=True)
    family = symbolic.Family(x, (MU,), -((x - MU) ** 2) / 2 - sp.log(2 * sp.pi) / 2,
                             sp.Interval(-sp.oo, sp.oo))
    value = symbolic.expectation(family, sp.Abs(x - MU), timeout=20.0)
    assert sp.simplify(value - sp.sqrt(2 / sp.pi)) == 0


def test_the_top_level_import_convention_still_holds():
    assert ngd.Quadratic is Quadratic
