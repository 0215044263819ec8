r"""Policy gradients from rollouts of the 1-D linear-quadratic problem (chapter 7).

The environment and its closed forms (return, gradient, Fisher matrix, natural
gradient, optimal gain, exact ascent paths) are :class:`ngd_lib.lq.LinearQuadratic`.
This module simulates it and estimates from the episodes what the closed forms give
exactly:

* :func:`rollout` (vectorised over episodes) and :func:`rollout_reference` (one
  episode at a time, the brute-force twin);
* :func:`policy_gradient_estimate` (the likelihood-ratio or score-function estimate:
  REINFORCE and GPOMDP), :func:`fisher_estimate` (the Monte-Carlo Fisher matrix of the
  policy) and :func:`natural_gradient_estimate`;
* :func:`train_policy_gradient`, sample-based vanilla or natural policy-gradient
  ascent with a fixed step ``lr`` or a KL budget ``max_kl`` per iteration
  (:func:`ngd_lib.kl_step_size`).

A rollout whose states or rewards overflow a float (a gain with :math:`|a + bk| > 1`
over a long horizon, or a huge :math:`\sigma`) says so: :attr:`Rollout.overflow_step`
is set and :func:`rollout` warns, the estimators raise a ``ValueError`` naming the
rollout, and the trainer stops with ``success=False`` and a message naming the gain and
the iteration.

References
----------
Williams (1992); Baxter & Bartlett (2001); Kakade (2001); Peters & Schaal (2008),
Neurocomputing 71; Schulman et al. (2015), TRPO.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_memory,
    check_positive_definite,
)
from .lq import (
    LinearQuadratic,
    check_count,
    check_flag,
    check_positive_real,
    check_real,
)
from .result import History, OptimizeResult
from .trust_region import kl_step_size as _kl_step_along

__all__ = [
    "GradientEstimate",
    "Rollout",
    "fisher_estimate",
    "kl_step_size",
    "natural_gradient_estimate",
    "policy_gradient_estimate",
    "rollout",
    "rollout_reference",
    "train_policy_gradient",
]


# ---------------------------------------------------------------------- rollouts
@dataclass(frozen=True)
class Rollout:
    r"""Episodes of the linear-quadratic problem, one row per episode.

    Attributes
    ----------
    states : ndarray, shape (n_episodes, horizon + 1)
        :math:`s_0, \dots, s_T` (the last column is the state after the last action).
    actions : ndarray, shape (n_episodes, horizon)
        :math:`u_0, \dots, u_{T-1}`.
    rewards : ndarray, shape (n_episodes, horizon)
        :math:`r_t = -q s_t^2 - r u_t^2`.
    k, sigma, gamma : float
        The policy that generated them and the discount.
    overflow_step : int or None
        The first step :math:`t` at which a state, action or reward of some episode
        is not a finite float (the simulation overflowed), or None.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    k: float
    sigma: float
    gamma: float
    overflow_step: int | None = None

    @property
    def n_episodes(self) -> int:
        return self.actions.shape[0]

    @property
    def horizon(self) -> int:
        return self.actions.shape[1]

    @property
    def discounts(self) -> np.ndarray:
        r""":math:`\gamma^t` for :math:`t = 0, \dots, T-1`."""
        return self.gamma ** np.arange(self.horizon)

    @property
    def discounted_returns(self) -> np.ndarray:
        r"""Per-episode :math:`\sum_{t<T}\gamma^t r_t`, shape (n_episodes,)."""
        return self.rewards @ self.discounts

    @property
    def scores(self) -> np.ndarray:
        r"""Per-step scores :math:`\nabla_\theta\log\pi(u_t\mid s_t)`, shape (n, T, 2).

        :math:`\partial_k = \varepsilon_t s_t/\sigma`, :math:`\partial_\sigma =
        (\varepsilon_t^2 - 1)/\sigma`, :math:`\varepsilon_t = (u_t - k s_t)/\sigma`.
        """
        s = self.states[:, :-1]
        eps = (self.actions - self.k * s) / self.sigma
        return np.stack([eps * s / self.sigma, (eps**2 - 1) / self.sigma], axis=-1)


def _check_rollout_args(env, k, sigma, n_episodes, horizon):
    if not isinstance(env, LinearQuadratic):
        raise TypeError(
            f"env must be a LinearQuadratic; got {type(env).__name__}. "
            "Build one with lq.LinearQuadratic(...)."
        )
    k = check_real(k, "k")
    sigma = check_positive_real(
        sigma, "sigma", fix="sigma is the policy's standard deviation; the scores "
        "divide by it, so pass sigma > 0 (e.g. 0.3).")
    n_episodes = check_count(n_episodes, "n_episodes",
                             fix="Pass n_episodes=100 or more for an estimate.")
    horizon = check_count(horizon, "horizon", fix="Pass horizon >= 1 steps, e.g. "
                          "env.effective_horizon(k).")
    check_memory(3 * (horizon + 1) * n_episodes, "n_episodes",
                 what=f"{n_episodes:,} episodes of {horizon:,} steps (states, actions "
                 "and rewards)")
    return k, sigma, n_episodes, horizon


def _overflow_step(states, rewards) -> int | None:
    """First step with a non-finite reward or next state (arrays time-major)."""
    # one reduction in the common case: a finite sum means every entry is finite
    if np.isfinite(rewards.sum()) and np.isfinite(states[-1]).all():
        return None
    bad = ~np.isfinite(rewards).all(axis=1) | ~np.isfinite(states[1:]).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None  # else: only the sum is huge


def _warn_overflow(ro: Rollout) -> None:
    if ro.overflow_step is not None:
        warnings.warn(
            f"the rollout at k = {ro.k:.6g}, sigma = {ro.sigma:.6g} overflows a float "
            f"at step {ro.overflow_step} of {ro.horizon}; estimates from it raise "
            "ValueError. Use a shorter horizon, a smaller sigma or a gain with "
            "|a + b k| <= 1.", RuntimeWarning, stacklevel=3)


def rollout(env: LinearQuadratic, k, sigma, *, n_episodes: int, horizon: int,
            rng=None) -> Rollout:
    r"""Simulate ``n_episodes`` episodes of ``horizon`` steps, vectorised over episodes.

    All episodes advance together: a few in-place numpy operations per time step on
    rows of ``n_episodes`` numbers, no Python loop over episodes. The random numbers
    are :math:`s_0` (``n_episodes`` draws) and then :math:`\varepsilon` (``horizon x
    n_episodes``, one row per step), in that order, so :func:`rollout_reference` with
    the same ``rng`` state gives the same episodes. The closed loop need not be
    stable here (states then grow); if they overflow a float, the result's
    ``overflow_step`` says where and a ``RuntimeWarning`` is issued.

    Parameters
    ----------
    env : LinearQuadratic
    k : float
        The gain.
    sigma : float
        The policy's standard deviation, ``> 0``.
    n_episodes, horizon : int, keyword-only
        ``>= 1``.
    rng : None, int or numpy.random.Generator, keyword-only

    Returns
    -------
    Rollout
        ``states`` of shape ``(n_episodes, horizon + 1)``, ``actions`` and
        ``rewards`` of shape ``(n_episodes, horizon)`` (transposed views of
        time-major arrays, i.e. Fortran-ordered).

    Raises
    ------
    TypeError
        If ``env`` is not a :class:`~ngd_lib.lq.LinearQuadratic` or an argument has
        the wrong type.
    ValueError
        If ``sigma <= 0``, ``n_episodes``/``horizon`` < 1, a number is not finite, or
        the arrays would need more than the library's 2 GiB per call.

    Warns
    -----
    RuntimeWarning
        If the episodes overflow a float (``overflow_step`` is then set).

    Examples
    --------
    >>> from ngd_lib.lq import LinearQuadratic
    >>> ro = rollout(LinearQuadratic(), -0.5, 0.3, n_episodes=4, horizon=10, rng=0)
    >>> ro.states.shape, ro.actions.shape, ro.overflow_step
    ((4, 11), (4, 10), None)
    """
    ro = _simulate(env, k, sigma, n_episodes=n_episodes, horizon=horizon, rng=rng)
    _warn_overflow(ro)
    return ro


def _simulate(env, k, sigma, *, n_episodes, horizon, rng) -> Rollout:
    """:func:`rollout` without the warning (the trainer reports overflow itself)."""
    k, sigma, n_episodes, horizon = _check_rollout_args(env, k, sigma, n_episodes,
                                                        horizon)
    # Work time-major, so each step touches contiguous rows of n_episodes numbers
    # that stay in cache, and allocate only the three outputs (first touches of
    # fresh memory cost as much as the arithmetic).
    try:
        actions = np.empty((horizon, n_episodes))
        states = np.empty((horizon + 1, n_episodes))
        rewards = np.empty((horizon, n_episodes))
    except MemoryError:  # within the 2 GiB of check_memory, yet more than is free
        raise ValueError(
            f"n_episodes = {n_episodes:,} and horizon = {horizon:,} need "
            f"{3 * (horizon + 1) * n_episodes * 8 / 2**30:,.3g} GiB, more than is "
            "free. Simulate fewer episodes per call (in batches) or a shorter horizon."
        ) from None
    s0, _ = _draw(env, n_episodes, horizon, as_rng(rng), out=actions)
    actions *= sigma                      # sigma eps_t, completed to u_t below
    states[0] = s0
    row = np.empty(n_episodes)
    with np.errstate(over="ignore", invalid="ignore"):  # reported as overflow_step
        for t in range(horizon):
            s, u, s_next = states[t], actions[t], states[t + 1]
            np.multiply(s, k, out=row)
            u += row                      # u_t = k s_t + sigma eps_t
            np.multiply(s, env.a, out=s_next)
            np.multiply(u, env.b, out=row)
            s_next += row                 # s_{t+1} = a s_t + b u_t
            np.multiply(s, s, out=rewards[t])
            rewards[t] *= -env.q
            np.multiply(u, u, out=row)
            row *= env.r
            rewards[t] -= row             # r_t = -q s_t^2 - r u_t^2
        overflow = _overflow_step(states, rewards)
    # transposed views: episodes in rows, as documented, without copying
    return Rollout(states.T, actions.T, rewards.T, k, sigma, env.gamma, overflow)


def _draw(env, n_episodes, horizon, rng, out=None):
    """The random numbers of a rollout, drawn in one fixed order.

    ``s0`` (n_episodes draws), then the noise, time-major (row t is step t), written
    into ``out`` if given (saves allocating a second large array).
    """
    s0 = env.s0_mean + math.sqrt(env.s0_var) * rng.standard_normal(n_episodes)
    if out is None:
        out = np.empty((horizon, n_episodes))
    rng.standard_normal(out=out)
    return s0, out


def rollout_reference(env: LinearQuadratic, k, sigma, *, n_episodes: int,
                      horizon: int, rng=None) -> Rollout:
    """The same episodes as :func:`rollout`, simulated one episode at a time.

    A plain Python loop over episodes and steps with scalar arithmetic: the
    brute-force twin that tests and the benchmark compare :func:`rollout` with.
    Parameters, returns, warnings and errors as in :func:`rollout`.
    """
    k, sigma, n_episodes, horizon = _check_rollout_args(env, k, sigma, n_episodes,
                                                        horizon)
    s0, eps = _draw(env, n_episodes, horizon, as_rng(rng))
    states = np.empty((n_episodes, horizon + 1))
    actions = np.empty((n_episodes, horizon))
    rewards = np.empty((n_episodes, horizon))
    a, b, q, r = env.a, env.b, env.q, env.r
    for i in range(n_episodes):
        s = float(s0[i])
        states[i, 0] = s
        noise = eps[:, i].tolist()
        for t in range(horizon):  # Python floats overflow to inf as numpy's do
            u = k * s + sigma * noise[t]
            actions[i, t] = u
            rewards[i, t] = -q * s * s - r * u * u
            s = a * s + b * u
            states[i, t + 1] = s
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = _overflow_step(states.T, rewards.T)
    ro = Rollout(states, actions, rewards, k, sigma, env.gamma, overflow)
    _warn_overflow(ro)
    return ro


# -------------------------------------------------------------------- estimators
@dataclass(frozen=True)
class GradientEstimate:
    """A Monte-Carlo policy-gradient estimate and its standard errors.

    Attributes
    ----------
    grad : ndarray, shape (2,)
        The estimate of :math:`\\nabla_\\theta J` (or of the natural gradient).
    stderr : ndarray, shape (2,)
        Standard errors of ``grad``.
    return_mean, return_stderr : float
        The mean truncated discounted return of the episodes and its standard error.
    n_episodes : int
    """

    grad: np.ndarray
    stderr: np.ndarray
    return_mean: float
    return_stderr: float
    n_episodes: int


def _check_rollout(rollout_) -> Rollout:
    if not isinstance(rollout_, Rollout):
        raise TypeError(
            f"rollout must be a Rollout; got {type(rollout_).__name__}. Simulate one "
            "with rl.rollout(env, k, sigma, n_episodes=..., horizon=..., rng=...)."
        )
    if rollout_.overflow_step is not None:
        raise ValueError(
            f"rollout overflowed a float at step {rollout_.overflow_step} of "
            f"{rollout_.horizon} (k = {rollout_.k:.6g}, sigma = {rollout_.sigma:.6g}): "
            "its states or rewards are not finite, so no estimate can be formed. "
            "Simulate a shorter horizon, a smaller sigma or a gain with |a + b k| <= 1."
        )
    return rollout_


def _check_estimate(value: np.ndarray, what: str, ro: Rollout) -> np.ndarray:
    """Raise a ValueError naming the rollout if ``value`` overflowed a float."""
    if not np.all(np.isfinite(value)):
        largest = float(np.max(np.abs(ro.states)))
        raise ValueError(
            f"{what} overflows a float for this rollout (k = {ro.k:.6g}, sigma = "
            f"{ro.sigma:.6g}, horizon {ro.horizon}): its states reach |s| = "
            f"{largest:.3g}, and products of scores and returns exceed "
            f"{np.finfo(float).max:.3g}. Simulate a shorter horizon, a smaller sigma "
            "or a gain with |a + b k| <= 1."
        )
    return value


def _leave_one_out_mean(x: np.ndarray) -> np.ndarray:
    """Mean over the other episodes (axis 0): keeps a baseline from biasing."""
    n = x.shape[0]
    return (x.sum(axis=0, keepdims=True) - x) / (n - 1)


def _per_episode_gradients(ro: Rollout, method: str, baseline: bool) -> np.ndarray:
    scores = ro.scores                      # (n, T, 2)
    discounted = ro.rewards * ro.discounts  # gamma^t r_t, (n, T)
    if method == "reinforce":
        total = discounted.sum(axis=1)      # (n,)
        if baseline:
            total = total - _leave_one_out_mean(total)
        return scores.sum(axis=1) * total[:, None]
    # GPOMDP: each score is weighted only by the rewards that follow it
    to_go = np.cumsum(discounted[:, ::-1], axis=1)[:, ::-1]  # sum_{t'>=t} g^t' r_t'
    if baseline:
        to_go = to_go - _leave_one_out_mean(to_go)
    return np.einsum("ntd,nt->nd", scores, to_go)


def _per_episode_fisher(ro: Rollout) -> np.ndarray:
    scores = ro.scores
    return np.einsum("ntd,nte,t->nde", scores, scores, ro.discounts)


def policy_gradient_estimate(rollout: Rollout, *, method: str = "gpomdp",
                             baseline: bool = True) -> GradientEstimate:
    r"""The likelihood-ratio (REINFORCE or GPOMDP) estimate of :math:`\nabla_\theta J`.

    REINFORCE: :math:`\hat g = \frac1N\sum_i \bigl(\sum_t\nabla\log\pi_t^{(i)}\bigr)
    (R^{(i)} - b)` with :math:`R^{(i)} = \sum_t\gamma^t r_t^{(i)}`. GPOMDP weights each
    score only by the rewards after it: :math:`\hat g = \frac1N\sum_i\sum_t
    \nabla\log\pi_t^{(i)}(G_t^{(i)} - b_t)`, :math:`G_t = \sum_{t'\ge t}\gamma^{t'}
    r_{t'}`. The baseline :math:`b_t` is the mean of :math:`G_t` over the *other*
    episodes (leave-one-out), so it lowers the variance without adding bias.

    The estimate targets the return truncated at the rollout's horizon; choose the
    horizon with :meth:`~ngd_lib.lq.LinearQuadratic.effective_horizon` to compare with
    the infinite-horizon closed form.

    Parameters
    ----------
    rollout : Rollout
        At least 2 episodes.
    method : {"gpomdp", "reinforce"}, keyword-only
    baseline : bool, keyword-only

    Returns
    -------
    GradientEstimate
        The mean over episodes, standard errors ``std/sqrt(N)`` of the per-episode
        terms, and the mean return with its standard error.

    Raises
    ------
    TypeError
        If ``rollout`` is not a :class:`Rollout`.
    ValueError
        If ``method`` is unknown, there is a single episode, or the rollout (or the
        estimate) overflowed a float.

    References
    ----------
    Williams (1992); Baxter & Bartlett (2001); Peters & Schaal (2008), sec. 2.
    """
    ro = _check_rollout(rollout)
    check_choice(method, "method", ("gpomdp", "reinforce"))
    if ro.n_episodes < 2:
        raise ValueError(
            f"rollout must hold at least 2 episodes for a standard error and a "
            f"baseline; got {ro.n_episodes}. Simulate more episodes."
        )
    n = ro.n_episodes
    with np.errstate(over="ignore", invalid="ignore"):
        per_episode = _per_episode_gradients(ro, method, baseline)
        returns = ro.discounted_returns
        grad = per_episode.mean(axis=0)
        stderr = per_episode.std(axis=0, ddof=1) / math.sqrt(n)
        return_stderr = float(returns.std(ddof=1) / math.sqrt(n))
    _check_estimate(np.r_[grad, stderr, returns.mean(), return_stderr],
                    "the policy-gradient estimate", ro)
    return GradientEstimate(grad=grad, stderr=stderr,
                            return_mean=float(returns.mean()),
                            return_stderr=return_stderr, n_episodes=n)


def fisher_estimate(rollout: Rollout, *, return_stderr: bool = False):
    r"""The Monte-Carlo Fisher matrix :math:`\frac1N\sum_i\sum_t\gamma^t
    \nabla\log\pi_t^{(i)}\nabla\log\pi_t^{(i)\top}`.

    Its expectation is :meth:`~ngd_lib.lq.LinearQuadratic.fisher` (truncated at the
    horizon). The actions are sampled from the policy itself, so this is the true
    (model) Fisher, estimated, not the empirical Fisher of chapter 4.

    Parameters
    ----------
    rollout : Rollout
    return_stderr : bool, keyword-only
        Also return the entrywise standard errors ``std/sqrt(N)`` of the
        per-episode sums (needs at least 2 episodes).

    Returns
    -------
    F : ndarray, shape (2, 2)
    stderr : ndarray, shape (2, 2)
        Only if ``return_stderr``.

    Raises
    ------
    TypeError
        If ``rollout`` is not a :class:`Rollout`.
    ValueError
        If the rollout (or the estimate) overflowed a float, or ``return_stderr`` is
        asked of a single episode.
    """
    ro = _check_rollout(rollout)
    if return_stderr and ro.n_episodes < 2:
        raise ValueError(
            "rollout must hold at least 2 episodes for a standard error; got 1. "
            "Simulate more episodes or pass return_stderr=False."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        per_episode = _per_episode_fisher(ro)
        F = _check_estimate(per_episode.mean(axis=0), "the Fisher estimate", ro)
        if not return_stderr:
            return F
        stderr = per_episode.std(axis=0, ddof=1) / math.sqrt(ro.n_episodes)
    return F, _check_estimate(stderr, "the Fisher estimate's standard error", ro)


def natural_gradient_estimate(rollout: Rollout, *, damping: float = 0.0,
                              method: str = "gpomdp", n_batches: int = 10
                              ) -> GradientEstimate:
    r"""The sample-based natural gradient :math:`(\hat F + \lambda I)^{-1}\hat g`.

    :math:`\hat g` from :func:`policy_gradient_estimate`, :math:`\hat F` from
    :func:`fisher_estimate`, both from the same episodes. The standard errors come
    from batch means: the episodes are split into ``n_batches`` groups and the
    estimate is recomputed on each.

    Parameters
    ----------
    rollout : Rollout
        At least ``2 * n_batches`` episodes.
    damping : float, keyword-only
        :math:`\lambda \ge 0`, added to the diagonal of :math:`\hat F`.
    method : {"gpomdp", "reinforce"}, keyword-only
    n_batches : int, keyword-only
        ``>= 2``.

    Returns
    -------
    GradientEstimate

    Raises
    ------
    ValueError
        If ``damping < 0``, ``n_batches < 2``, too few episodes, :math:`\hat F +
        \lambda I` is not positive definite, or the rollout overflowed a float.
    """
    ro = _check_rollout(rollout)
    damping = check_positive_real(
        damping, "damping", allow_zero=True,
        fix="Pass damping=0.0 or a small positive value such as 1e-3.")
    n_batches = check_count(n_batches, "n_batches", minimum=2)
    check_choice(method, "method", ("gpomdp", "reinforce"))
    if ro.n_episodes < 2 * n_batches:
        raise ValueError(
            f"rollout must hold at least 2 * n_batches = {2 * n_batches} episodes; got "
            f"{ro.n_episodes}. Simulate more episodes or lower n_batches."
        )

    def solve(sub: Rollout) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            F = _per_episode_fisher(sub).mean(axis=0) + damping * np.eye(2)
            g = _per_episode_gradients(sub, method, True).mean(axis=0)
        _check_estimate(np.r_[F.ravel(), g], "the natural-gradient estimate", ro)
        check_positive_definite(F, "the estimated Fisher matrix plus damping")
        return np.linalg.solve(F, g)

    w = solve(ro)
    batches = np.array_split(np.arange(ro.n_episodes), n_batches)
    per_batch = np.array([solve(_subset(ro, idx)) for idx in batches])
    returns = ro.discounted_returns
    return GradientEstimate(
        grad=w,
        stderr=per_batch.std(axis=0, ddof=1) / math.sqrt(n_batches),
        return_mean=float(returns.mean()),
        return_stderr=float(returns.std(ddof=1) / math.sqrt(ro.n_episodes)),
        n_episodes=ro.n_episodes,
    )


def _subset(ro: Rollout, idx: np.ndarray) -> Rollout:
    return Rollout(ro.states[idx], ro.actions[idx], ro.rewards[idx], ro.k, ro.sigma,
                   ro.gamma)


# ---------------------------------------------------------------- step sizes
def kl_step_size(grad, fisher, max_kl) -> float:
    r"""The step size :math:`\alpha` that puts the natural step on the KL budget.

    The natural direction :math:`d = F^{-1}g`, then :func:`ngd_lib.kl_step_size`
    (the library's one KL step): :math:`\Delta = \alpha d` has
    :math:`\tfrac12\Delta^\top F\Delta = \delta` (``max_kl``) for

    .. math::

        \alpha = \sqrt{\frac{2\delta}{d^\top F d}}
               = \sqrt{\frac{2\delta}{g^\top F^{-1} g}}.

    (Lecture transcriptions often write :math:`g^\top F g` in the denominator; that
    does not satisfy the constraint.) This is TRPO's step (Schulman et al. 2015,
    App. C, :math:`\beta = \sqrt{2\delta/(s^\top A s)}` with :math:`s = F^{-1}g`), and
    chapter 2's steepest step under :math:`\tfrac12\delta^\top F\delta \le
    \epsilon^2` with radius :math:`\epsilon = \sqrt{\delta}`.

    Parameters
    ----------
    grad : array_like, shape (P,)
        Non-zero.
    fisher : array_like, shape (P, P)
        Symmetric positive definite.
    max_kl : float
        The KL budget :math:`\delta`, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``grad`` is zero or of the wrong shape, ``fisher`` is not SPD or
        ``max_kl <= 0``.

    Examples
    --------
    >>> F = np.diag([4.0, 1.0]); g = np.array([2.0, 0.0])
    >>> alpha = kl_step_size(g, F, 0.01)
    >>> d = alpha * np.linalg.solve(F, g); round(float(0.5 * d @ F @ d), 10)
    0.01
    """
    g = as_float_array(grad, "grad")
    F = as_float_array(fisher, "fisher")
    if g.ndim != 1:
        raise ValueError(
            f"grad must be a 1-D vector; got an array of shape {g.shape}. Pass the "
            "gradient as a flat vector (np.ravel)."
        )
    check_positive_definite(F, "fisher")
    if F.shape[0] != g.shape[0]:
        raise ValueError(
            f"fisher must be {g.shape[0]} x {g.shape[0]} to match grad of shape "
            f"{g.shape}; got shape {F.shape}. Pass the Fisher matrix of the same "
            "parameters."
        )
    max_kl = check_positive_real(max_kl, "max_kl", fix="It is a KL budget such as "
                                 "max_kl=0.01.")
    if not np.any(g):
        raise ValueError(
            "grad is the zero vector, so no step size reaches the KL budget; the "
            "policy is at a stationary point."
        )
    d = np.linalg.solve(F, g)
    return _kl_step_along(d, F @ d, max_kl)


# ---------------------------------------------------------------------- training
def _check_trainer_args(env, theta0, natural, max_iter, n_episodes, horizon, lr,
                        max_kl, damping, sigma_min):
    if not isinstance(env, LinearQuadratic):
        raise TypeError(
            f"env must be a LinearQuadratic; got {type(env).__name__}. "
            "Build one with lq.LinearQuadratic(...)."
        )
    check_flag(natural, "natural")
    theta = as_float_array(theta0, "theta0")
    if theta.shape != (2,):
        raise ValueError(
            f"theta0 must be (k, sigma), a vector of length 2; got shape "
            f"{theta.shape}. Pass e.g. theta0=(-0.1, 0.9)."
        )
    env.check_policy(theta[0], theta[1])
    env.expected_return(theta[0], theta[1])  # a ValueError if it overflows
    max_iter = check_count(max_iter, "max_iter", minimum=0)
    n_episodes = check_count(n_episodes, "n_episodes", minimum=20,
                             fix="The baseline and the Fisher estimate need a "
                             "batch; pass n_episodes=50, say.")
    horizon = check_count(horizon, "horizon", fix="Pass horizon >= 1, e.g. "
                          "env.effective_horizon(k).")
    if (lr is None) == (max_kl is None):
        raise ValueError(
            f"give exactly one of lr and max_kl; got lr={lr!r}, max_kl={max_kl!r}. "
            "lr=0.025 is a fixed step, max_kl=0.01 a KL budget per iteration."
        )
    if lr is not None:
        lr = check_positive_real(lr, "lr", fix="Pass a step such as lr=0.025.")
    else:
        max_kl = check_positive_real(max_kl, "max_kl",
                                     fix="It is a KL budget, e.g. max_kl=0.01.")
    damping = check_positive_real(
        damping, "damping", allow_zero=True,
        fix="Pass damping=0.0 or a small positive value such as 1e-3.")
    sigma_min = check_positive_real(sigma_min, "sigma_min",
                                    fix="Pass a small floor such as sigma_min=0.01.")
    return theta, max_iter, n_episodes, horizon, lr, max_kl, damping, sigma_min


def _step(env, theta, ro, natural, lr, max_kl, damping):
    """One iteration's direction and step: (d, alpha, estimate, failure), with
    failure None or (status, why it failed)."""
    scale = 1 - env.gamma
    horizon = ro.horizon
    c = env.a + env.b * theta[0]
    if ro.overflow_step is not None:
        return None, None, None, ("overflow",
            f"the rollouts at k = {theta[0]:.6g}, sigma = {theta[1]:.6g} overflowed a "
            f"float at step {ro.overflow_step} of {horizon} (|a + b k| = {abs(c):.4g}: "
            "the state grows like |a + b k|^t although the discounted return is "
            "finite); use a shorter horizon or smaller steps (lr or max_kl)")
    with np.errstate(over="ignore", invalid="ignore"):
        g = scale * _per_episode_gradients(ro, "gpomdp", True).mean(axis=0)
        F = scale * _per_episode_fisher(ro).mean(axis=0) + damping * np.eye(2)
        returns = ro.discounted_returns.mean()
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(F))
            and np.isfinite(returns)):
        return None, None, None, ("overflow",
            f"the policy-gradient estimate at k = {theta[0]:.6g}, sigma = "
            f"{theta[1]:.6g} overflowed a float (states reach |s| = "
            f"{float(np.max(np.abs(ro.states))):.3g} over {horizon} steps); use a "
            "shorter horizon or smaller steps (lr or max_kl)")
    if natural:
        try:
            np.linalg.cholesky(F)
        except np.linalg.LinAlgError:
            return None, None, None, ("solve_failed",
                f"the estimated Fisher matrix plus damping at k = {theta[0]:.6g}, "
                f"sigma = {theta[1]:.6g} is not positive definite (smallest "
                f"eigenvalue {float(np.linalg.eigvalsh(F)[0]):.3g}); raise damping")
        d = np.linalg.solve(F, g)
    else:
        d = g
    if lr is not None:
        return d, lr, scale * returns, None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return d, _kl_step_along(d, F @ d, max_kl), scale * returns, None
    except ValueError as err:  # a zero direction or no curvature along it
        return None, None, None, ("solve_failed",
                                  f"no KL step along the estimated direction: {err}")


def _accept(env, theta, alpha, d, sigma_min):
    """The next iterate and its exact return: (failure, new, fun), with failure None
    or (status, why it failed)."""
    with np.errstate(over="ignore", invalid="ignore"):
        new = theta + alpha * d
        new[1] = max(new[1], sigma_min)
        stable = env.gamma * (env.a + env.b * new[0]) ** 2 < 1
    if not (np.all(np.isfinite(new)) and stable):
        lo, hi = env.stable_gains()
        return ("unstable", f"the step to k = {new[0]:.4g} left the stable region "
                f"({lo:.6g}, {hi:.6g}); lower the step size (lr or max_kl)"), None, None
    try:
        return None, new, env.expected_return(*new, normalized=True)
    except ValueError:  # the return at a huge sigma overflows a float
        return ("overflow", f"the step to sigma = {new[1]:.4g} makes the return "
                "overflow a float; lower the step size (lr or max_kl)"), None, None


def train_policy_gradient(env: LinearQuadratic, theta0, *, natural: bool,
                          max_iter: int, n_episodes: int, horizon: int,
                          lr: float | None = None, max_kl: float | None = None,
                          damping: float = 1e-3, sigma_min: float = 0.01,
                          rng=None, progress: bool = False) -> OptimizeResult:
    r"""Sample-based vanilla or natural policy-gradient ascent.

    Each iteration simulates ``n_episodes`` episodes (:func:`rollout`), estimates the
    gradient of the normalised return with GPOMDP and a baseline
    (:func:`policy_gradient_estimate`, times :math:`1-\gamma`) and, for the natural
    version, solves with the estimated normalised Fisher :math:`\hat F` plus
    ``damping``. The step is either a fixed ``lr`` or, with the KL budget ``max_kl``
    :math:`= \delta`, the one of :func:`ngd_lib.kl_step_size` that makes
    :math:`\tfrac12\Delta^\top\hat F\Delta = \delta`: the mean KL divergence per
    state under the normalised discounted state distribution, as in TRPO (the
    vanilla direction is scaled to the same budget). :math:`\sigma` is kept at or
    above ``sigma_min`` so the policy keeps exploring.

    Parameters
    ----------
    env : LinearQuadratic
    theta0 : array_like, shape (2,)
        The start :math:`(k_0, \sigma_0)`: a stable gain and :math:`\sigma_0 > 0`.
    natural : bool, keyword-only
    max_iter, n_episodes, horizon : int, keyword-only
        Iterations, episodes per iteration (``>= 20``) and steps per episode; the
        rollout budget is ``max_iter * n_episodes`` episodes.
    lr : float, optional, keyword-only
        A fixed step size :math:`\alpha > 0`.
    max_kl : float, optional, keyword-only
        The KL budget :math:`\delta > 0` per iteration. Exactly one of ``lr`` and
        ``max_kl`` must be given.
    damping : float, keyword-only
        Added to the estimated normalised Fisher before solving (natural only).
    sigma_min : float, keyword-only
        The floor for :math:`\sigma`.
    rng : None, int or Generator, keyword-only
    progress : bool, keyword-only
        Print a short line about ten times during the run.

    Returns
    -------
    OptimizeResult
        ``x`` the final :math:`(k, \sigma)`, ``fun`` its exact normalised return
        (from the closed form, for evaluation only), ``nit`` the steps taken;
        ``success`` is True when all ``max_iter`` iterations ran, False (with a
        message naming the iteration and the gain) when a step would leave the
        stable region, the rollouts or the estimates overflowed a float, or the
        estimated Fisher matrix was not positive definite; the run stops there and
        ``x`` is the last accepted iterate. ``status`` is ``"max_iter"`` (all
        iterations ran), ``"unstable"``, ``"overflow"`` or ``"solve_failed"``.
        The history has ``x``, ``fun`` (exact normalised return), ``grad_norm``
        (of the estimated direction), ``step_size`` (:math:`\alpha`),
        ``estimated_return`` (the batch's mean normalised return) and ``episodes``
        (episodes used before that iterate); in the last row, where no estimate
        was made, ``grad_norm``, ``step_size`` and ``estimated_return`` are NaN.

    Raises
    ------
    TypeError
        If ``env`` is not a :class:`~ngd_lib.lq.LinearQuadratic` or an argument has
        the wrong type.
    ValueError
        If both or neither of ``lr`` and ``max_kl`` are given, an option is out of
        range or ``theta0`` is not a stable policy with :math:`\sigma > 0`. Nothing
        that happens during the run raises.
    """
    (theta, max_iter, n_episodes, horizon, lr, max_kl, damping,
     sigma_min) = _check_trainer_args(env, theta0, natural, max_iter, n_episodes,
                                      horizon, lr, max_kl, damping, sigma_min)
    progress = check_flag(progress, "progress")
    rng = as_rng(rng)

    xs, funs = [theta.copy()], [env.expected_return(*theta, normalized=True)]
    norms, alphas, est, used = [], [], [], []  # of the estimate made at each row
    success, status, message = True, "max_iter", f"ran all {max_iter} iterations."
    report_every = max(1, max_iter // 10)
    for it in range(max_iter):
        ro = _simulate(env, theta[0], theta[1], n_episodes=n_episodes,
                       horizon=horizon, rng=rng)
        d, alpha, estimated, failure = _step(env, theta, ro, natural, lr, max_kl,
                                             damping)
        if failure is None:
            failure, new, fun = _accept(env, theta, alpha, d, sigma_min)
        if failure is not None:
            success, (status, why) = False, failure
            message = f"iteration {it}: {why}."
            break
        norms.append(float(np.hypot(*d)))  # no overflow in the squares
        alphas.append(float(alpha))
        est.append(float(estimated))
        used.append(it * n_episodes)
        theta = new
        xs.append(theta.copy())
        funs.append(fun)
        if progress and ((it + 1) % report_every == 0 or it + 1 == max_iter):
            print(f"{'natural' if natural else 'vanilla'} {it + 1:4d}/{max_iter}: "
                  f"k = {theta[0]:+.3f}, sigma = {theta[1]:.3f}, "
                  f"(1-gamma)J = {fun:.4f}")
    # the last iterate: no estimate was made there
    norms.append(np.nan)
    alphas.append(np.nan)
    est.append(np.nan)
    used.append((len(xs) - 1) * n_episodes)
    history = History.from_lists(xs, funs, norms, step_size=alphas,
                                 estimated_return=est, episodes=used)
    return OptimizeResult(theta, float(funs[-1]), len(xs) - 1, success, message,
                          history, status=status)
