r"""Online (one example at a time) natural gradient and SGD, for Monte-Carlo studies.

Amari's online natural gradient (chapter 9) sees one example :math:`z_t` per step,

.. math:: \theta_{t} = \theta_{t-1} - \alpha_t\,
   (\hat F_t + \lambda I)^{-1}\,\nabla\ell(\theta_{t-1}; z_t),
   \qquad \alpha_t = \frac{\text{lr}}{(t + \text{offset})^{\text{power}}},

where :math:`\hat F_t` is either the Fisher of the current example at the current
parameter (``fisher_estimate="current"``), or a running average of those per-example
Fisher matrices,

.. math:: \hat F_t = \frac{w_0 \hat F_0 + \sum_{s \le t} F(\theta_{s-1}; z_s)}{w_0 + t},

(``fisher_estimate="running"``, prior :math:`\hat F_0` with weight :math:`w_0`).
``method="sgd"`` drops the Fisher: :math:`\theta_t = \theta_{t-1} - \alpha_t\nabla\ell`.
``average=True`` also returns the Polyak-Ruppert average
:math:`\bar\theta_t = \frac1t\sum_{s\le t}\theta_s`.

So that a Monte-Carlo study over many independent runs is fast, :func:`online_fit`
runs ``R`` independent streams side by side: parameters have shape ``(R, d)`` and the
data arrays shape ``(R, n, ...)``; run ``r`` sees only its own stream, one example per
step. The per-example gradient and Fisher are callables, and this module provides them
for logistic regression (:func:`logistic_grad`, :func:`logistic_fisher`,
:func:`logistic_sampled_fisher`) and the Gaussian in :math:`(m, s)`
(:func:`gaussian_grad`, :func:`gaussian_fisher`).

References
----------
Amari, S. (1998). Natural gradient works efficiently in learning, Theorem 2. Polyak, B.
T. and Juditsky, A. B. (1992). Acceleration of stochastic approximation by averaging.
Martens, J. (2020). New insights and perspectives on the natural gradient method, §12.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import (
    _show,
    as_float_array,
    as_rng,
    check_choice,
    check_memory,
    check_positive,
    check_positive_definite,
)
from .expfam import _real_array

__all__ = [
    "OnlineResult",
    "online_fit",
    "FISHER_ESTIMATES",
    "logistic_grad",
    "logistic_fisher",
    "logistic_sampled_fisher",
    "gaussian_grad",
    "gaussian_fisher",
]

#: The Fisher estimates ``fisher_estimate=`` accepts.
FISHER_ESTIMATES = ("running", "current")
#: A run has diverged once a parameter exceeds this size in absolute value.
_DIVERGENCE_BOUND = 1e8


@dataclass(frozen=True)
class OnlineResult:
    """What :func:`online_fit` returns.

    Attributes
    ----------
    x : ndarray, shape (R, d)
        The last iterate of every run.
    average : ndarray, shape (R, d), or None
        The Polyak-Ruppert average of the iterates (``average=True``).
    nit : int
        Examples processed per run.
    success : bool
        False if an iterate became non-finite or larger than 1e8; ``x`` is then the
        last finite iterate.
    message : str
    steps : ndarray of int, shape (k,)
        The steps ``t`` at which iterates were recorded (``record_at``).
    history : ndarray, shape (k, R, d)
        The iterates at those steps.
    average_history : ndarray, shape (k, R, d), or None
        The averages at those steps.
    fisher : ndarray, shape (R, d, d), or None
        The last Fisher estimate of every run (natural gradient only).
    """

    x: np.ndarray
    average: np.ndarray | None
    nit: int
    success: bool
    message: str
    steps: np.ndarray
    history: np.ndarray
    average_history: np.ndarray | None
    fisher: np.ndarray | None

    def __repr__(self) -> str:
        runs, d = self.x.shape
        return (f"OnlineResult(success={self.success}, nit={self.nit}, runs={runs}, "
                f"d={d}, message={self.message!r})")


def _as_data(data) -> tuple:
    arrays = data if isinstance(data, tuple) else (data,)
    out = []
    for i, arr in enumerate(arrays):
        arr = _real_array(arr, f"data[{i}]")
        if arr.ndim < 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(
                f"data[{i}] must have shape (runs, n, ...) with runs >= 1 and n >= 1: "
                f"one stream of n examples per run; got shape {arr.shape}. For a "
                "single run use data[None]."
            )
        out.append(arr)
    shapes = {arr.shape[:2] for arr in out}
    if len(shapes) != 1:
        raise ValueError(
            f"every data array must have the same (runs, n); got {sorted(shapes)}."
        )
    return tuple(out)


def _returned(value, name: str) -> np.ndarray:
    """What a user callable returned, as a float array (TypeError if not real
    numbers: complex, boolean or text; non-finite values are the caller's to judge)."""
    if type(value) is np.ndarray and value.dtype == np.float64:
        return value
    try:
        return as_float_array(value, f"{name}(...)", finite=False)
    except TypeError as err:
        raise TypeError(f"{name} must return an array of real numbers. {err}") from None


def online_fit(grad: Callable, theta0, data, *, method: str = "natural",
               fisher: Callable | None = None, fisher_estimate: str = "running",
               fisher_init=None, prior_weight: float = 1.0, lr: float = 1.0,
               offset: float = 0.0, power: float = 1.0, damping: float = 0.0,
               average: bool = False,
               record_at=None, rng=None) -> OnlineResult:
    r"""Run online natural gradient or SGD over ``R`` independent data streams.

    Parameters
    ----------
    grad : callable
        ``grad(theta, example) -> (R, d)``: the gradient of the per-example loss
        :math:`\ell = -\log p(z\mid\theta)` for every run. ``theta`` has shape
        ``(R, d)``; ``example`` is a tuple holding the ``t``-th example of every run
        (one array per entry of ``data``, each of shape ``(R, ...)``).
    theta0 : array_like, shape (d,) or (R, d)
        The start (shared by all runs when 1-D).
    data : ndarray or tuple of ndarrays, each of shape (R, n, ...)
        Run ``r`` sees ``data[..][r, t]`` at step ``t + 1``.
    method : {"natural", "sgd"}, keyword-only
    fisher : callable, keyword-only
        ``fisher(theta, example, rng) -> (R, d, d)``: the Fisher of one example at
        ``theta`` (exact over the label, or a Monte-Carlo estimate that draws with
        ``rng``). Required for ``method="natural"``.
    fisher_estimate : {"running", "current"}, keyword-only
        Average the per-example Fisher matrices seen so far (with the prior
        ``fisher_init`` of weight ``prior_weight``), or use the current one only.
    fisher_init : array_like, shape (d, d), keyword-only
        :math:`\hat F_0`; default the identity.
    prior_weight : float, keyword-only
        :math:`w_0 > 0`, in examples.
    lr, offset, power : float, keyword-only
        The step size is :math:`\alpha_t = \text{lr}/(t + \text{offset})^{p}`,
        ``t = 1, 2, ...``; ``lr > 0``, ``offset > -1``, ``0 < power <= 1`` (Amari's
        rate is ``power=1``; Polyak-Ruppert averaging wants ``1/2 < power < 1``).
    damping : float, keyword-only
        :math:`\lambda \ge 0` added to :math:`\hat F_t`.
    average : bool, keyword-only
        Also return the Polyak-Ruppert averages.
    record_at : sequence of int, optional, keyword-only
        Steps ``t`` (1..n) at which to keep the iterates; default every step.
    rng : None, int or Generator, keyword-only
        Passed to ``fisher`` (for Monte-Carlo Fisher estimates).

    Returns
    -------
    OnlineResult

    Raises
    ------
    ValueError, TypeError
        On invalid input (shapes, a non-callable ``grad``, ``method="natural"``
        without ``fisher``, non-positive ``lr``, ...).

    Examples
    --------
    Online natural gradient for the mean and scale of a Gaussian, 3 runs of 500
    examples:

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(1.0, 2.0, size=(3, 500))
    >>> res = online_fit(gaussian_grad, [0.0, 1.0], x, fisher=gaussian_fisher,
    ...                  fisher_estimate="current")
    >>> bool(np.allclose(res.x[:, 0], x.mean(axis=1)))  # the mean is the running mean
    True
    """
    if not callable(grad):
        raise TypeError(
            f"grad must be a function grad(theta, example); got {_show(grad)}."
        )
    check_choice(method, "method", ("natural", "sgd"))
    check_choice(fisher_estimate, "fisher_estimate", FISHER_ESTIMATES)
    natural = method == "natural"
    if natural and not callable(fisher):
        raise TypeError(
            "method='natural' needs fisher=, a function fisher(theta, example, rng) "
            f"returning (R, d, d) per-example Fisher matrices; got {_show(fisher)}."
        )
    arrays = _as_data(data)
    runs, n = arrays[0].shape[:2]
    theta = _real_array(theta0, "theta0")
    if theta.ndim == 1:
        theta = np.broadcast_to(theta, (runs, theta.size)).copy()
    if theta.ndim != 2 or theta.shape[0] != runs:
        raise ValueError(
            f"theta0 must have shape (d,) or (runs, d) = ({runs}, d); got "
            f"{np.shape(theta0)}."
        )
    d = theta.shape[1]
    if d < 1:
        raise ValueError(
            f"theta0 must hold at least one parameter; got shape {np.shape(theta0)}."
        )
    lr = check_positive(lr, "lr")
    if isinstance(offset, bool) or not isinstance(offset, numbers.Real):
        raise TypeError(f"offset must be a real number; got {_show(offset)}.")
    offset = float(as_float_array(offset, "offset", ndim=0))
    if offset <= -1:
        raise ValueError(
            f"offset must be > -1 so that every step is finite; got {offset}."
        )
    power = check_positive(power, "power")
    if power > 1:
        raise ValueError(
            f"power must be in (0, 1]; got {power}. Steps lr/t**power with power > 1 "
            "sum to a finite total, so the iterates stop short of the optimum."
        )
    damping = check_positive(damping, "damping", allow_zero=True)
    prior_weight = check_positive(prior_weight, "prior_weight")
    if not isinstance(average, (bool, np.bool_)):
        raise TypeError(f"average must be True or False; got {_show(average)}.")
    F0 = np.eye(d) if fisher_init is None else _real_array(fisher_init,
                                                           "fisher_init")
    if F0.shape != (d, d):
        raise ValueError(f"fisher_init must have shape ({d}, {d}); got {F0.shape}.")
    check_positive_definite(F0, "fisher_init")
    if record_at is None:
        steps = np.arange(1, n + 1)
    else:
        wanted = _real_array(record_at, "record_at")
        if wanted.ndim > 1 or np.any(wanted != np.round(wanted)):
            raise ValueError(
                f"record_at must be a sequence of whole step numbers; got "
                f"{_show(record_at)}."
            )
        if wanted.size and (wanted.min() < 1 or wanted.max() > n):
            raise ValueError(f"record_at must lie in 1..{n}; got {_show(record_at)}.")
        steps = np.unique(wanted.reshape(-1).astype(int))
    if steps.size and (steps[0] < 1 or steps[-1] > n):
        raise ValueError(f"record_at must lie in 1..{n}; got {_show(steps)}.")
    rng = as_rng(rng)
    check_memory(steps.size * runs * d * (2 if average else 1) + runs * d * d * 3,
                 "record_at", what=f"the iterates of {runs} runs at {steps.size} steps")

    fisher_sum = np.broadcast_to(prior_weight * F0, (runs, d, d)).copy()
    F_hat = None
    running_sum = np.zeros_like(theta)
    keep = {int(s): i for i, s in enumerate(steps)}
    history = np.empty((steps.size, runs, d))
    average_history = np.empty((steps.size, runs, d)) if average else None
    identity = np.eye(d)
    success, message, done = True, f"processed {n} examples per run", n
    def quiet():  # a fresh context each time (an errstate cannot be re-entered)
        return np.errstate(over="ignore", divide="ignore", invalid="ignore")

    for t in range(1, n + 1):
        example = tuple(arr[:, t - 1] for arr in arrays)
        with quiet():
            g = _returned(grad(theta, example), "grad")
        if g.shape != (runs, d):
            raise ValueError(f"grad returned shape {g.shape}; expected ({runs}, {d}).")
        if not np.all(np.isfinite(g)):
            success, done = False, t - 1
            message = (f"grad returned NaN or infinite values at step {t} (at an "
                       "iterate outside the model's domain?); take a smaller lr or "
                       "a larger offset")
            break
        step = lr / (t + offset) ** power
        if natural:
            with quiet():
                F_t = _returned(fisher(theta, example, rng), "fisher")
            if F_t.shape != (runs, d, d):
                raise ValueError(
                    f"fisher returned shape {F_t.shape}; expected ({runs}, {d}, {d})."
                )
            if not np.all(np.isfinite(F_t)):
                success, done = False, t - 1
                message = f"fisher returned NaN or infinite values at step {t}"
                break
            if fisher_estimate == "running":
                fisher_sum += F_t
                F_hat = fisher_sum / (prior_weight + t)
            else:
                F_hat = F_t
            try:
                direction = np.linalg.solve(F_hat + damping * identity,
                                            g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                success, done = False, t - 1
                message = (f"the Fisher estimate became singular at step {t}; add "
                           "damping or use fisher_estimate='running'")
                break
        else:
            direction = g
        with quiet():
            new = theta - step * direction
        if not np.all(np.isfinite(new)) or np.abs(new).max() > _DIVERGENCE_BOUND:
            success, done = False, t - 1
            message = (f"diverged at step {t} (an iterate left |theta| <= 1e8); take a "
                       "smaller lr or a larger offset")
            break
        theta = new
        running_sum += theta
        if t in keep:
            history[keep[t]] = theta
            if average:
                average_history[keep[t]] = running_sum / t
    if not success:
        kept = steps <= done
        steps, history = steps[kept], history[kept]
        if average:
            average_history = average_history[kept]
    return OnlineResult(
        x=theta, average=running_sum / max(done, 1) if average else None, nit=done,
        success=success, message=message, steps=steps, history=history,
        average_history=average_history, fisher=F_hat,
    )


# ------------------------------------------------------- per-example functions
def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _float2d(value, name: str) -> np.ndarray:
    if not (isinstance(value, np.ndarray) and value.dtype == np.float64):
        value = as_float_array(value, name)
    if value.ndim != 2 or value.shape[0] < 1 or value.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (runs, d) with runs >= 1 and d >= 1; got shape "
            f"{value.shape}."
        )
    return value


def _theta(theta, d: int | None = None) -> np.ndarray:
    """``theta`` as a (runs, d) float array (cheap when it already is one)."""
    theta = _float2d(theta, "theta")
    if d is not None and theta.shape[1] != d:
        raise ValueError(
            f"theta must have shape (runs, {d}) for this model; got shape "
            f"{theta.shape}."
        )
    return theta


def _example(example, entries: int, runs: int, what: str) -> tuple:
    """The first ``entries`` arrays of one example, each with ``runs`` rows."""
    if not isinstance(example, (tuple, list)) or len(example) < entries:
        raise TypeError(
            f"example must be a tuple {what} of arrays with one row per run; got "
            f"{_show(example)}."
        )
    out = []
    for i in range(entries):
        value = example[i]
        if not (isinstance(value, np.ndarray) and value.dtype == np.float64):
            value = as_float_array(value, f"example[{i}]")
        if value.ndim < 1 or value.shape[0] != runs:
            raise ValueError(
                f"example[{i}] must have one row per run ({runs}); got shape "
                f"{value.shape}."
            )
        out.append(value)
    return tuple(out)


def _check_labels(y) -> None:
    if y.ndim != 1 or not np.all((y >= 0.0) & (y <= 1.0)):
        raise ValueError(
            f"the labels example[1] must be one per run, each 0 or 1 (or a probability "
            f"in [0, 1]); got {_show(y)}."
        )


def _check_inputs(x, theta):
    if np.shape(x) != np.shape(theta):
        raise ValueError(
            f"the inputs x of one example have shape {np.shape(x)} but theta has "
            f"shape {np.shape(theta)}; both must be (runs, d). Give theta0 as many "
            "entries as the inputs have columns."
        )


def logistic_grad(theta, example):
    r"""Logistic regression, example ``(x, y)``: :math:`(\sigma(x^\top\theta) - y)x`."""
    theta = _theta(theta)
    x, y = _example(example, 2, theta.shape[0], "(x, y)")
    _check_inputs(x, theta)
    _check_labels(y)
    p = _sigmoid(np.einsum("rd,rd->r", x, theta))
    return (p - y)[:, None] * x


def logistic_fisher(theta, example, rng=None):
    r"""The exact Fisher of one example, :math:`\sigma(1 - \sigma)\,xx^\top` (the label
    is averaged over the model in closed form; ``rng`` is not used)."""
    theta = _theta(theta)
    (x,) = _example(example, 1, theta.shape[0], "(x, ...)")
    _check_inputs(x, theta)
    z = np.einsum("rd,rd->r", x, theta)
    w = _sigmoid(z) * _sigmoid(-z)
    return w[:, None, None] * x[:, :, None] * x[:, None, :]


def logistic_sampled_fisher(theta, example, rng):
    r"""A one-sample Monte-Carlo Fisher of one example: :math:`gg^\top` with the label
    drawn from the model, :math:`\hat y \sim \text{Bernoulli}(\sigma(x^\top\theta))`."""
    theta = _theta(theta)
    (x,) = _example(example, 1, theta.shape[0], "(x, ...)")
    _check_inputs(x, theta)
    p = _sigmoid(np.einsum("rd,rd->r", x, theta))
    y_model = (as_rng(rng).random(p.shape) < p).astype(float)
    g = (p - y_model)[:, None] * x
    return g[:, :, None] * g[:, None, :]


def gaussian_grad(theta, example):
    r"""Gaussian :math:`\mathcal N(m, s^2)` with :math:`\theta = (m, s)`:
    :math:`\nabla\ell = \big(-(x-m)/s^2,\; 1/s - (x-m)^2/s^3\big)`.

    The model depends on :math:`s^2` only, so an iterate with :math:`s < 0` is the
    same distribution as :math:`|s|` and a run may cross to it (large early steps);
    at :math:`s = 0` the gradient is infinite and :func:`online_fit` stops the run
    with ``success=False``. Compare :math:`|s|` with the truth, or start the steps
    smaller (``offset``)."""
    theta = _theta(theta, 2)
    (x,) = _example(example, 1, theta.shape[0], "(x,)")
    if x.ndim != 1:
        raise ValueError(
            f"example[0] must hold one number per run; got shape {x.shape}."
        )
    m, s = theta[:, 0], theta[:, 1]
    r = x - m
    return np.column_stack([-r / s**2, 1.0 / s - r**2 / s**3])


def gaussian_fisher(theta, example=None, rng=None):
    r"""The Fisher of :math:`\mathcal N(m, s^2)` in :math:`(m, s)`,
    :math:`\operatorname{diag}(1/s^2, 2/s^2)` (the same for every example; infinite
    at :math:`s = 0`, where :func:`online_fit` stops the run)."""
    theta = _theta(theta, 2)
    s = theta[:, 1]
    out = np.zeros((len(theta), 2, 2))
    out[:, 0, 0] = 1.0 / s**2
    out[:, 1, 1] = 2.0 / s**2
    return out
