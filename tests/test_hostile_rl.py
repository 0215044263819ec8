"""Hostile inputs for ngd_lib.lq and ngd_lib.rl, as one table.

Each row calls the public API with something a careless or hostile user might pass:
integers beyond the float range, bools, complex numbers and strings as numbers,
empty grids, out-of-range parameters, unstable gains, policies whose closed forms or
rollouts overflow a float. Every call must end in one of three ways:

* a ``ValueError``/``TypeError`` whose message names the argument and the value
  (``match``) and says how to fix it (``fix``);
* a documented value (``-inf`` for the return of an unstable gain, an empty array for
  an empty grid), checked by ``check``, never a NaN;
* a result with ``success=False``, a ``status`` and a message naming what happened.

No row may emit a raw numpy ``RuntimeWarning`` (overflow, invalid value): the
warnings filter below turns them into failures.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from ngd_lib import lq, rl

ENV = lq.LinearQuadratic()
HUGE = 10**400  # a Python int no float can hold
STABLE = (-0.5, 0.3)
OPTIONS = {"n_episodes": 20, "horizon": 5, "rng": 0}
TRAIN = {"natural": True, "max_iter": 2, "n_episodes": 20, "horizon": 5, "rng": 0}


def _overflowing_rollout():
    """A rollout at k = 5 (|a + b k| = 6): the states overflow after ~200 steps."""
    with pytest.warns(RuntimeWarning, match="overflows a float at step"):
        return rl.rollout(ENV, 5.0, 0.3, n_episodes=30, horizon=1000, rng=0)


def _huge_but_finite_rollout():
    """k = 0.5 (|a + b k| = 1.5) for 860 steps: |s| ~ 1e151, finite, whose squares
    and products with the scores overflow in the estimators."""
    return rl.rollout(ENV, 0.5, 0.3, n_episodes=30, horizon=860, rng=0)


# (id, call, error, match (argument and value), fix)
ERRORS = [
    # ---------------------------------------------------------------- constructor
    ("env a huge int", lambda: lq.LinearQuadratic(a=HUGE), ValueError,
     r"a = 1000.* too large for a float", "Pass a finite float"),
    ("env q huge int", lambda: lq.LinearQuadratic(q=HUGE), ValueError,
     r"q = 1000.* too large for a float", "Pass a finite float"),
    ("env gamma 1.5", lambda: lq.LinearQuadratic(gamma=1.5), ValueError,
     r"gamma must lie strictly between 0 and 1; got 1\.5", r"e\.g\. gamma=0\.9"),
    ("env gamma -0.1", lambda: lq.LinearQuadratic(gamma=-0.1), ValueError,
     r"gamma must lie strictly between 0 and 1; got -0\.1", r"gamma=0\.9"),
    ("env gamma 1", lambda: lq.LinearQuadratic(gamma=1), ValueError,
     r"gamma .* got 1\.0", r"needs discounting"),
    ("env gamma bool", lambda: lq.LinearQuadratic(gamma=True), TypeError,
     r"gamma must be a real number; got True of type bool", "not a bool"),
    ("env b numpy bool", lambda: lq.LinearQuadratic(b=np.True_), TypeError,
     r"b must be a real number; got np\.True_", "not a bool"),
    ("env a complex", lambda: lq.LinearQuadratic(a=1 + 2j), TypeError,
     r"a must be a real number; got \(1\+2j\) of type complex", "Pass a float"),
    ("env r string", lambda: lq.LinearQuadratic(r="1"), TypeError,
     r"r must be a real number; got '1' of type str", "Pass a float"),
    ("env r zero", lambda: lq.LinearQuadratic(r=0.0), ValueError,
     r"r must be finite and > 0; got 0\.0", r"r=1\.0"),
    ("env s0_var nan", lambda: lq.LinearQuadratic(s0_var=float("nan")), ValueError,
     r"s0_var must be finite; got nan", "Pass a finite float"),
    # --------------------------------------------------------------- closed forms
    ("return huge int k", lambda: ENV.expected_return(HUGE, 0.5), ValueError,
     r"k holds a number too large for floating point .*: 1000", "pass a smaller"),
    ("gradient string k", lambda: ENV.policy_gradient("-0.5", 0.3), TypeError,
     r"k must be an array of real numbers; got '-0\.5' of string type",
     r"convert it with float"),
    ("gradient bool k", lambda: ENV.policy_gradient(True, 0.3), TypeError,
     r"k must be an array of real numbers; got True of boolean type",
     "not False/True"),
    ("fisher complex k", lambda: ENV.fisher(-0.5 + 0j, 0.3), TypeError,
     r"k must be real; got complex \(-0\.5\+0j\)", r"Pass k\.real"),
    ("hessian bool array sigma", lambda: ENV.return_hessian(-0.5, [True, False]),
     TypeError, r"sigma must be an array of real numbers; got \[True, False\]",
     "not False/True"),
    ("natural nan k", lambda: ENV.natural_gradient(np.nan, 0.3), ValueError,
     r"k contains NaN or infinite values: nan", "Remove or replace"),
    ("gradient sigma 0", lambda: ENV.policy_gradient(-0.5, 0.0), ValueError,
     r"sigma must be > 0; got 0\.", "needs exploration noise"),
    ("gradient unstable k", lambda: ENV.policy_gradient(0.5, 0.3), ValueError,
     r"unstable at k = 0\.5", r"Use k in the open interval \(-2\.05409, 0\.0540926\)"),
    ("return sigma 1e200 overflows", lambda: ENV.expected_return(-0.5, 1e200),
     ValueError, r"the return J overflows a float at k = -0\.5, sigma = 1e\+200",
     "Use a smaller sigma"),
    ("gradient sigma 1e200 overflows", lambda: ENV.policy_gradient(-0.5, 1e200),
     ValueError, r"gradient of J overflows a float at k = -0\.5, sigma = 1e\+200",
     "Use a smaller sigma"),
    ("fisher sigma 1e-200 overflows", lambda: ENV.fisher(-0.5, 1e-200), ValueError,
     r"Fisher matrix overflows a float at k = -0\.5, sigma = 1e-200",
     "Use a smaller sigma"),
    ("natural shapes", lambda: ENV.natural_gradient([-0.5, -0.4], [0.3, 0.2, 0.1]),
     ValueError, r"k and sigma must broadcast .* shapes \(2,\) and \(3,\)",
     "np.meshgrid"),
    ("kl sigma_new 1e-200 overflows",
     lambda: ENV.discounted_kl(-0.5, 0.5, -0.4, 1e-200), ValueError,
     r"discounted KL divergence overflows a float at k = -0\.5, sigma = 0\.5",
     "Use a smaller sigma"),
    ("kl sigma_new 0", lambda: ENV.discounted_kl(-0.5, 0.5, -0.4, 0.0), ValueError,
     r"sigma_new must be > 0; got 0\.", "KL divergence to it is infinite"),
    ("horizon tol huge int", lambda: ENV.effective_horizon(-0.5, tol=HUGE),
     ValueError, r"tol = 1000.* too large", "Pass a finite float"),
    ("horizon tol 0", lambda: ENV.effective_horizon(-0.5, tol=0), ValueError,
     r"tol must be finite and > 0; got 0\.0", r"tol=1e-6"),
    ("horizon array k", lambda: ENV.effective_horizon(np.array([-0.5, -0.4])),
     TypeError, r"k must be a real number; got \[-0\.5 -0\.4\]", "Pass a float"),
    ("field arrow 0", lambda: ENV.gradient_field(-0.5, 0.3, natural=True,
                                                 arrow_length=0), ValueError,
     r"arrow_length must be finite and > 0; got 0\.0", "use 0.1"),
    ("field arrow string", lambda: ENV.gradient_field(-0.5, 0.3, natural=True,
                                                      arrow_length="0.1"), TypeError,
     r"arrow_length must be a real number; got '0\.1'", "Pass a float"),
    # --------------------------------------------------------------------- paths
    ("path sigma0 1e200", lambda: ENV.gradient_ascent_path((-0.5, 1e200),
                                                           natural=True), ValueError,
     r"overflows a float at k = -0\.5, sigma = 1e\+200", "Use a smaller sigma"),
    ("path lr huge int", lambda: ENV.gradient_ascent_path((-0.1, 0.9), natural=True,
                                                          lr=HUGE), ValueError,
     r"lr = 1000.* too large", "Pass a finite float"),
    ("path max_iter float", lambda: ENV.newton_ascent_path((-0.1, 0.9), max_iter=2.5),
     TypeError, r"max_iter must be an integer; got 2\.5", "whole number"),
    ("path empty theta0", lambda: ENV.newton_ascent_path([]), ValueError,
     r"theta0 must be \(k, sigma\), a vector of length 2; got shape \(0,\)",
     r"theta0=\(-0\.1, 0\.9\)"),
    ("path unstable theta0", lambda: ENV.newton_ascent_path((0.5, 0.9)), ValueError,
     r"unstable at k = 0\.5", "open interval"),
    # ------------------------------------------------------------------ rollouts
    ("rollout huge int k", lambda: rl.rollout(ENV, HUGE, 0.3, **OPTIONS), ValueError,
     r"k = 1000.* too large", "Pass a finite float"),
    ("rollout numpy bool k", lambda: rl.rollout(ENV, np.False_, 0.3, **OPTIONS),
     TypeError, r"k must be a real number; got np\.False_", "not a bool"),
    ("rollout complex sigma", lambda: rl.rollout(ENV, -0.5, 0.3j, **OPTIONS),
     TypeError, r"sigma must be a real number; got 0\.3j", "Pass a float"),
    ("rollout sigma 0", lambda: rl.rollout(ENV, -0.5, 0.0, **OPTIONS), ValueError,
     r"sigma must be finite and > 0; got 0\.0", "pass sigma > 0"),
    ("rollout sigma -1", lambda: rl.rollout_reference(ENV, -0.5, -1, **OPTIONS),
     ValueError, r"sigma must be finite and > 0; got -1\.0", "pass sigma > 0"),
    ("rollout n_episodes 0", lambda: rl.rollout(ENV, *STABLE, n_episodes=0,
                                                horizon=5), ValueError,
     r"n_episodes must be >= 1; got 0", r"n_episodes=100"),
    ("rollout horizon 0", lambda: rl.rollout(ENV, *STABLE, n_episodes=5, horizon=0),
     ValueError, r"horizon must be >= 1; got 0", "effective_horizon"),
    ("rollout horizon bool", lambda: rl.rollout(ENV, *STABLE, n_episodes=5,
                                                horizon=True), TypeError,
     r"horizon must be an integer; got True", "whole number"),
    ("rollout memory", lambda: rl.rollout(ENV, *STABLE, n_episodes=10**12,
                                          horizon=10**6), ValueError,
     r"n_episodes asks for 1,000,000,000,000 episodes of 1,000,000 steps .* GiB",
     "Use a smaller n_episodes"),
    ("rollout env", lambda: rl.rollout("env", *STABLE, **OPTIONS), TypeError,
     r"env must be a LinearQuadratic; got str", r"lq\.LinearQuadratic"),
    # ---------------------------------------------------------------- estimators
    ("gradient estimate of overflowed rollout",
     lambda: rl.policy_gradient_estimate(_overflowing_rollout()), ValueError,
     r"rollout overflowed a float at step \d+ of 1000 \(k = 5, sigma = 0\.3\)",
     "shorter horizon"),
    ("fisher estimate of overflowed rollout",
     lambda: rl.fisher_estimate(_overflowing_rollout()), ValueError,
     r"rollout overflowed a float at step \d+", "shorter horizon"),
    ("natural estimate of overflowed rollout",
     lambda: rl.natural_gradient_estimate(_overflowing_rollout()), ValueError,
     r"rollout overflowed a float at step \d+", "shorter horizon"),
    ("gradient estimate overflows from finite episodes",
     lambda: rl.policy_gradient_estimate(_huge_but_finite_rollout()), ValueError,
     r"policy-gradient estimate overflows a float for this rollout \(k = 0\.5",
     "shorter horizon"),
    ("estimate damping string",
     lambda: rl.natural_gradient_estimate(rl.rollout(ENV, *STABLE, **OPTIONS),
                                          damping="0"), TypeError,
     r"damping must be a real number; got '0'", "Pass a float"),
    # ------------------------------------------------------------------- KL step
    ("kl max_kl huge int", lambda: rl.kl_step_size([1.0, 0.0], np.eye(2), HUGE),
     ValueError, r"max_kl = 1000.* too large", "Pass a finite float"),
    ("kl bool grad", lambda: rl.kl_step_size([True, False], np.eye(2), 0.1),
     TypeError, r"grad must be an array of real numbers; got \[True, False\]",
     "not False/True"),
    ("kl max_kl 0", lambda: rl.kl_step_size([1.0, 0.0], np.eye(2), 0.0), ValueError,
     r"max_kl must be finite and > 0; got 0\.0", r"max_kl=0\.01"),
    # ------------------------------------------------------------------ trainer
    ("train n_episodes 0", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **{**TRAIN, "n_episodes": 0}, max_kl=0.01), ValueError,
     r"n_episodes must be >= 20; got 0", r"n_episodes=50"),
    ("train horizon 0", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **{**TRAIN, "horizon": 0}, max_kl=0.01), ValueError,
     r"horizon must be >= 1; got 0", "effective_horizon"),
    ("train lr and max_kl", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **TRAIN, lr=0.1, max_kl=0.01), ValueError,
     r"exactly one of lr and max_kl; got lr=0\.1, max_kl=0\.01", "a KL budget"),
    ("train max_kl huge int", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **TRAIN, max_kl=HUGE), ValueError,
     r"max_kl = 1000.* too large", "Pass a finite float"),
    ("train natural string", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **{**TRAIN, "natural": "yes"}, max_kl=0.01), TypeError,
     r"natural must be True or False; got 'yes'", "natural=True"),
    ("path natural string", lambda: ENV.gradient_ascent_path((-0.1, 0.9),
                                                             natural="no"), TypeError,
     r"natural must be True or False; got 'no' of type str", "natural=False"),
    ("field natural None", lambda: ENV.gradient_field(-0.5, 0.3, natural=None),
     TypeError, r"natural must be True or False; got None", "natural=True"),
    ("progress string", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **TRAIN, max_kl=0.01, progress="yes"), TypeError,
     r"progress must be True or False; got 'yes'", "progress=False"),
    ("train unstable theta0", lambda: rl.train_policy_gradient(
        ENV, (0.5, 0.9), **TRAIN, max_kl=0.01), ValueError,
     r"unstable at k = 0\.5", "open interval"),
    ("train sigma0 1e160", lambda: rl.train_policy_gradient(
        ENV, (-0.5, 1e160), **TRAIN, max_kl=0.01), ValueError,
     r"return J overflows a float at k = -0\.5, sigma = 1e\+160", "smaller sigma"),
    ("train complex theta0", lambda: rl.train_policy_gradient(
        ENV, (-0.5 + 1j, 0.9), **TRAIN, max_kl=0.01), TypeError,
     r"theta0 must be real; got complex", r"Pass theta0\.real"),
]


@pytest.fixture(autouse=True)
def _numpy_warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # our own report of an overflowing rollout is expected where a row asks for it
        warnings.filterwarnings("default", message="the rollout at k = ",
                                category=RuntimeWarning)
        yield


@pytest.mark.parametrize(("call", "error", "match", "fix"),
                         [row[1:] for row in ERRORS], ids=[row[0] for row in ERRORS])
def test_hostile_input_gets_a_clear_error(call, error, match, fix):
    with pytest.raises(error, match=match) as info:
        call()
    assert re.search(fix, str(info.value)), f"the message says no fix: {info.value}"


def _is(shape):
    def check(value):
        assert np.shape(value) == shape and not np.isnan(value).any()
    return check


def _return_of_unstable_gain_is_minus_inf(J):
    assert np.isneginf(J[0]) and np.isfinite(J[1])


def _failed(status, *words):
    def check(res):
        assert not res.success and res.status == status, res
        assert all(word in res.message for word in words), res.message
        assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
        assert len(res.history.x) == res.nit + 1
    return check


def _finite_result(res):
    """Whatever happened, nothing in the result is NaN and the message says why."""
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.message
    assert np.all(np.isfinite(res.history.x)) and np.all(np.isfinite(res.history.fun))
    assert res.success == (res.status == "max_iter")


# (id, call, check): documented values and failures reported in results
OUTCOMES = [
    ("return of empty grid", lambda: ENV.expected_return([], 0.5), _is((0,))),
    ("gradient of empty grids", lambda: ENV.policy_gradient([], []), _is((0, 2))),
    ("hessian of empty grid", lambda: ENV.return_hessian([], 0.5), _is((0, 2, 2))),
    ("field of empty meshgrid", lambda: ENV.gradient_field(
        *np.meshgrid([], []), natural=True, arrow_length=0.1), _is((0, 0, 2))),
    ("stability of empty grid", lambda: ENV.is_stable([]), _is((0,))),
    ("return of unstable gain", lambda: ENV.expected_return([0.5, -0.5], 0.3),
     _return_of_unstable_gain_is_minus_inf),
    ("value coefficient of k 1e200", lambda: ENV.value_coefficient(1e200),
     lambda P: np.testing.assert_equal(P, np.inf)),
    ("kl step of huge gradient", lambda: rl.kl_step_size([1e200, 1e200], np.eye(2),
                                                         0.1),
     lambda alpha: np.testing.assert_allclose(alpha * 1e200, np.sqrt(0.1))),
    ("path lr 1e300", lambda: ENV.gradient_ascent_path((-0.1, 0.9), natural=True,
                                                       lr=1e300),
     _failed("unstable", "step 1 would leave the stable gains")),
    ("newton lr 1e300", lambda: ENV.newton_ascent_path((-0.1, 0.9), lr=1e300),
     _failed("unstable", "lower the step size lr")),
    ("path max_iter 0", lambda: ENV.gradient_ascent_path((-0.1, 0.9), natural=False,
                                                         max_iter=0),
     _failed("max_iter", "max_iter = 0")),
    # |a + b k| = 1.04 is a stable gain (gamma c^2 = 0.97) whose states still grow
    ("train rollouts overflow at a stable gain", lambda: rl.train_policy_gradient(
        ENV, (0.04, 0.3), **{**TRAIN, "horizon": 20_000}, max_kl=0.01),
     _failed("overflow", "iteration 0", "k = 0.04", "overflowed a float at step")),
    ("train sigma0 1e150 natural", lambda: rl.train_policy_gradient(
        ENV, (-0.5, 1e150), **{**TRAIN, "horizon": 50}, max_kl=0.01),
     _finite_result),
    ("train sigma0 1e150 vanilla", lambda: rl.train_policy_gradient(
        ENV, (-0.5, 1e150), **{**TRAIN, "horizon": 50, "natural": False}, lr=0.01),
     _failed("unstable", "iteration 0", "left the stable region")),
    ("train singular fisher without damping", lambda: rl.train_policy_gradient(
        lq.LinearQuadratic(s0_var=0.0), (-0.5, 0.3), **{**TRAIN, "horizon": 1},
        max_kl=0.01, damping=0.0),
     _failed("solve_failed", "not positive definite", "raise damping")),
    ("train lr 1e6", lambda: rl.train_policy_gradient(
        ENV, (-0.1, 0.9), **{**TRAIN, "natural": False}, lr=1e6),
     _failed("unstable", "iteration 0", "left the stable region")),
]


@pytest.mark.parametrize(("call", "check"), [row[1:] for row in OUTCOMES],
                         ids=[row[0] for row in OUTCOMES])
def test_hostile_input_gets_a_documented_value_or_a_failed_result(call, check):
    check(call())


def test_an_overflowing_rollout_says_where():
    ro = _overflowing_rollout()
    t = ro.overflow_step
    assert t is not None and np.isfinite(ro.rewards[:, :t]).all()
    assert not np.isfinite(ro.rewards[:, t]).all() or not np.isfinite(
        ro.states[:, t + 1]).all()
    # the brute-force loop agrees on where
    with pytest.warns(RuntimeWarning, match=f"at step {t} of 1000"):
        twin = rl.rollout_reference(ENV, 5.0, 0.3, n_episodes=30, horizon=1000, rng=0)
    assert twin.overflow_step == t
    # a finite rollout has none
    assert rl.rollout(ENV, *STABLE, **OPTIONS).overflow_step is None


def test_the_table_is_large():
    assert len(ERRORS) + len(OUTCOMES) >= 25
