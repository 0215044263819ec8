r"""Natural gradient descent for any model of the :class:`ngd_lib.Model` contract.

The recitation's algorithm, one iteration at a time:

1. forward pass: compute the loss :math:`L(\theta)`;
2. compute the gradient :math:`g = \nabla L(\theta)`;
3. build the curvature :math:`F` (:mod:`ngd_lib.curvature`: exact, Monte-Carlo,
   empirical, diagonal or K-FAC);
4. compute the natural gradient :math:`\tilde g = (F + \lambda I)^{-1} g`;
5. update :math:`\theta \leftarrow \theta - \alpha\,\tilde g`.

:func:`natural_gradient_direction` does steps 2-4 once; :func:`natural_gradient_descent`
repeats all five with step-size control (a fixed ``lr``, a KL trust region through
:func:`ngd_lib.kl_step_size`, or Levenberg-Marquardt damping,
:func:`levenberg_marquardt`) and reports why it stopped. What :math:`F` is (the
``curvature=`` builder) is separate from how the step is chosen.

Step rules of :func:`natural_gradient_descent`
----------------------------------------------
* default: :math:`\alpha_t =` ``lr``. With the exact Fisher, ``lr = 1`` and no damping
  this is Newton's method (IRLS) for logistic, softmax and linear regression, whose
  Fisher equals the Hessian (Martens 2020, sec. 9.2);
* ``max_kl=δ``: :math:`\alpha_t = \sqrt{2\delta/(d_t^\top F_t d_t)}`
  (:func:`ngd_lib.kl_step_size`), so that :math:`\tfrac12 (\alpha_t d_t)^\top F_t
  (\alpha_t d_t) = \delta`, the second-order KL between the model before and after the
  step (TRPO's step, Schulman et al. 2015, App. C; without damping
  :math:`d_t^\top F_t d_t = g_t^\top F_t^{-1} g_t`). When :math:`d_t` lies in
  :math:`F_t`'s null space (possible with damping) the damped
  :math:`d_t^\top(F_t + \lambda I)d_t` is used. A backtracking line search then halves
  :math:`\alpha_t` until the loss decreases, at most ``MAX_HALVINGS = 30`` times;
* ``damping="adaptive"``: Levenberg-Marquardt (Martens 2010,
  :func:`levenberg_marquardt`). With the step :math:`s = -\alpha_t d_t`, the quadratic
  model :math:`M(s) = g^\top s + \tfrac12 s^\top(F + \lambda I)s` and the reduction
  ratio :math:`\rho = (L(\theta + s) - L(\theta))/M(s)`: :math:`\lambda \leftarrow
  1.5\lambda` if :math:`\rho < 1/4`, :math:`\lambda/1.5` if :math:`\rho > 3/4`,
  starting from ``ADAPTIVE_DAMPING_START = 1e-3`` within ``ADAPTIVE_DAMPING_BOUNDS =
  (1e-8, 1e8)``. A step that does not decrease the loss (or a failed solve) is
  rejected: :math:`\theta` stays, :math:`\lambda` grows, and the iteration counts.

Stopping rules (the result's ``status``), checked in this order at every iterate
--------------------------------------------------------------------------------
* ``"separable"`` (``success=False``; models with ``linear_classifier = True``, i.e.
  logistic and softmax regression): the mean loss is below :math:`\log(2)/n`, which
  proves that every label has probability above 1/2; then the loss tends to 0 as
  :math:`\theta` is scaled up and the maximum-likelihood estimate does not exist;
* ``"converged"`` (``success=True``): :math:`\lVert g_t\rVert_2 \le` ``tol``;
* ``"max_iter"`` (``success=False``): ``max_iter`` steps were taken;
* ``"solve_failed"``, ``"no_decrease"``, ``"damping_limit"``, ``"diverged"``
  (``success=False``): the solve failed (:math:`F + \lambda I` not positive definite,
  say), the line search found no decrease, adaptive damping reached its bound, or the
  loss or gradient became non-finite (or left the model's domain) or the gradient norm
  grew :math:`10^{12}`-fold;
* ``"callback"`` (``success=False``): the callback returned True.

The returned ``x`` is always the last finite iterate, never NaN.

References
----------
Amari (1998), Natural gradient works efficiently in learning. Martens (2020), New
insights and perspectives on the natural gradient method. Schulman et al. (2015),
Trust region policy optimization. Martens (2010), Deep learning via Hessian-free
optimization.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import curvature as _curvature
from ._validation import as_float_array, check_int, check_positive
from .linalg import scaled_norm
from .models import ModelDomainError
from .result import History, OptimizeResult
from .trust_region import kl_step_size

__all__ = [
    "ADAPTIVE_DAMPING_BOUNDS",
    "ADAPTIVE_DAMPING_START",
    "HISTORY_COLUMNS",
    "LM_FACTOR",
    "MAX_HALVINGS",
    "NaturalGradient",
    "levenberg_marquardt",
    "natural_gradient_descent",
    "natural_gradient_direction",
]

#: ``damping="adaptive"`` starts from this lambda ...
ADAPTIVE_DAMPING_START = 1e-3
#: ... and keeps it within these bounds.
ADAPTIVE_DAMPING_BOUNDS = (1e-8, 1e8)
#: Levenberg-Marquardt rule: lambda *= 1.5 if rho < 1/4, lambda /= 1.5 if rho > 3/4.
LM_FACTOR = 1.5
#: Under ``max_kl`` a step that does not decrease the loss is halved, at most this
#: many times (a backtracking line search, a fixed rule).
MAX_HALVINGS = 30
#: A run has diverged once the gradient norm exceeds this multiple of its start.
DIVERGENCE_FACTOR = 1e12
#: The columns of every ``natural_gradient_descent`` history, whatever the options.
HISTORY_COLUMNS = ("damping", "step_size", "cg_iterations", "halvings", "rho",
                   "accepted")

#: Every stopping message, keyed by the result's ``status``.
_MESSAGES = {
    "converged": "converged: gradient norm {grad_norm:.3g} <= tol = {tol:g} after "
                 "{t} steps.",
    "max_iter": "did not converge: reached max_iter = {max_iter} steps with gradient "
                "norm {grad_norm:.3g} > tol = {tol:g}. Increase max_iter, or check the "
                "loss history for slow progress.",
    "separable": "the data look linearly separable: after {t} steps the mean loss is "
                 "{fun:.3g} < log(2)/n = {log2n:.3g}, so every label has probability "
                 "> 1/2, and ||theta|| = {theta_norm:.3g} would grow without bound as "
                 "the loss goes to 0. The maximum-likelihood estimate does not exist: "
                 "add a prior (an L2 penalty) to the loss or stop early; damping only "
                 "keeps the steps finite.",
    "solve_failed": "failed at step {step}: the natural-gradient solve failed "
                    "({detail}). Use damping > 0 (e.g. damping=1e-3 or 'adaptive').",
    "no_decrease": "failed at step {step}: the line search found no decrease of the "
                   "loss in {halvings} halvings of the KL step (max_kl = {max_kl:g}); "
                   "the gradient norm is {grad_norm:.3g}. Lower tol.",
    "damping_limit": "failed at step {step}: the damping reached its upper bound "
                     "{high:g} and the step still does not decrease the loss.",
    "diverged": "diverged at step {step}: the step led to {detail} (from "
                "{start_norm:.3g} at the start). Use damping (e.g. damping=1e-3 or "
                "'adaptive'), a smaller lr, or max_kl.",
    "callback": "stopped by the callback after {t} steps.",
}
_GREW = (" The loss grew from {start_fun:.3g} to {fun:.3g} on the way: the steps were "
         "too long, so a smaller lr or max_kl helps too.")


@dataclass(frozen=True)
class NaturalGradient:
    r"""One natural-gradient direction :math:`d = (F + \lambda I)^{-1} g`.

    Attributes
    ----------
    direction : ndarray, shape (P,)
        :math:`d` (always finite; zeros when the solve failed).
    grad : ndarray, shape (P,)
        The gradient :math:`g` it was computed from.
    curvature : float
        :math:`d^\top F d` with the undamped curvature, so
        :math:`\tfrac12 (\alpha d)^\top F (\alpha d)` is the KL of a step
        :math:`\alpha d` to second order (NaN if not asked for or failed).
    cg_iterations : int
        Conjugate-gradient iterations used (0 for direct solves).
    success : bool
        True when the solve succeeded (``status == "solved"``).
    message : str
        What happened, in words.
    status : str
        The solve's status, one of :data:`ngd_lib.curvature.SOLVE_STATUSES`.
    """

    direction: np.ndarray
    grad: np.ndarray
    curvature: float
    cg_iterations: int
    success: bool
    message: str
    status: str


def levenberg_marquardt(damping: float, rho: float) -> float:
    r"""The next damping of the Levenberg-Marquardt rule (Martens 2010, sec. 4.1).

    :math:`\lambda \leftarrow` ``LM_FACTOR`` :math:`\cdot\lambda` if the reduction
    ratio :math:`\rho < 1/4` (the quadratic model over-promised: trust it less),
    :math:`\lambda/` ``LM_FACTOR`` if :math:`\rho > 3/4`, unchanged otherwise;
    clipped to ``ADAPTIVE_DAMPING_BOUNDS``. A NaN :math:`\rho` counts as
    :math:`-\infty` (a failed step).

    Examples
    --------
    >>> levenberg_marquardt(1.0, 0.1), levenberg_marquardt(1.0, 0.5)
    (1.5, 1.0)
    >>> round(levenberg_marquardt(1.0, 0.9), 6)
    0.666667
    """
    low, high = ADAPTIVE_DAMPING_BOUNDS
    if not rho >= 0.25:  # also NaN
        return min(damping * LM_FACTOR, high)
    if rho > 0.75:
        return max(damping / LM_FACTOR, low)
    return damping


def _check_model_data(model, theta, X, y, theta_name: str):
    if not callable(getattr(model, "nll_and_grad", None)):
        raise TypeError(
            f"model must follow the ngd.Model contract, with a method "
            f"nll_and_grad(theta, X, y) -> (loss, gradient) like "
            f"ngd.LogisticRegression(); got {model!r}."
        )
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have one entry per row of X ({X.shape[0]}); got {y.shape[0]}."
        )
    theta = as_float_array(theta, theta_name, ndim=1)
    n_params = getattr(model, "n_params", None)
    if callable(n_params) and theta.shape[0] != n_params(X):
        raise ValueError(
            f"{theta_name} must have {n_params(X)} entries (model.n_params(X)); got "
            f"{theta.shape[0]}."
        )
    if callable(getattr(model, "check_inputs", None)):
        model.check_inputs(theta, X, y)  # the model's own checks (labels, say), once
    # A read-only view: X must not change during the fit, and the models then check
    # it (and compute X @ theta per theta) once instead of at every call.
    X = X.view()
    X.flags.writeable = False
    return theta.copy(), X, y


def _check_curvature(curvature, model, X):
    if curvature is None:
        return _curvature.exact(model, X)
    if not callable(curvature):
        raise TypeError(
            f"curvature must be a builder theta -> Curvature such as "
            f"ngd.curvature.exact(model, X) or ngd.curvature.kfac(model, X); got "
            f"{curvature!r}. (The old fisher=/solver= strings are gone.)"
        )
    return curvature


def _check_damping(damping, *, allow_adaptive: bool):
    if isinstance(damping, str):
        if damping == "adaptive" and allow_adaptive:
            return damping
        allowed = "a number >= 0 or 'adaptive'" if allow_adaptive else "a number >= 0"
        hint = "" if allow_adaptive else (
            " damping='adaptive' needs an optimisation run: use "
            "natural_gradient_descent(..., damping='adaptive').")
        raise ValueError(f"damping must be {allowed}; got {damping!r}.{hint}")
    return check_positive(damping, "damping", allow_zero=True)


def _evaluate(model, theta, X, y):
    """``(loss, gradient)``, or ``(loss, None)`` where either is not finite."""
    if not np.all(np.isfinite(theta)):
        return math.nan, None
    with np.errstate(all="ignore"):
        try:
            value, g = model.nll_and_grad(theta, X, y)
        except ModelDomainError:  # theta left the model's domain: a failed step
            return math.nan, None
    if np.ndim(value) != 0:
        raise ValueError(f"model.nll_and_grad must return a scalar loss first; got an "
                         f"array of shape {np.shape(value)}.")
    g = np.asarray(g, dtype=float)
    if g.shape != theta.shape:
        raise ValueError(
            f"model.nll_and_grad returned a gradient of shape {g.shape} for theta of "
            f"shape {theta.shape}; it must have one entry per parameter (no "
            "broadcasting is done)."
        )
    value = float(value)
    if not (math.isfinite(value) and np.all(np.isfinite(g))):
        return value, None
    return value, g


def _solve(C, g: np.ndarray, damping: float):
    """The damped solve at ``C``: ``(direction or None, SolveResult)``.

    A truncated conjugate-gradient solve (``status="max_iter"``) is still a descent
    direction, so it is used.
    """
    with np.errstate(all="ignore"):
        res = C.solve(g, damping=damping)
    x = np.asarray(res.x, dtype=float)
    if x.shape != g.shape:
        raise ValueError(f"Curvature.solve returned x of shape {x.shape}; it must have "
                         f"the gradient's shape {g.shape}.")
    usable = res.status in ("solved", "max_iter") and bool(np.all(np.isfinite(x)))
    return (x if usable else None), res


def _dFd(C, d: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(d @ np.asarray(C.matvec(d), dtype=float))


def natural_gradient_direction(
    model, theta, X, y, *, curvature=None, damping: float = 0.0,
    with_curvature: bool = True,
) -> NaturalGradient:
    r"""The damped natural gradient :math:`d = (F + \lambda I)^{-1}\nabla L(\theta)`.

    Steps 2-4 of the recitation's algorithm, once, with the same ``curvature=``
    builders as :func:`natural_gradient_descent` (``None``: the exact Fisher;
    ``damping`` must be a number here). ``with_curvature=False`` skips
    :math:`d^\top F d` (one more curvature-vector product) and leaves it NaN.

    Returns
    -------
    NaturalGradient
        ``direction``, ``grad``, ``curvature`` (:math:`d^\top F d`),
        ``cg_iterations``, ``success``, ``message``, ``status``.

    Raises
    ------
    TypeError, ValueError
        As :func:`natural_gradient_descent`, and for ``damping="adaptive"``.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]); y = np.array([0, 1, 1])
    >>> model = ngd.LogisticRegression()
    >>> cg = ngd.curvature.exact(model, X, matrix_free=True)
    >>> step = natural_gradient_direction(model, np.zeros(2), X, y, curvature=cg)
    >>> F, g = model.fisher(np.zeros(2), X), model.grad(np.zeros(2), X, y)
    >>> bool(np.allclose(step.direction, np.linalg.solve(F, g)))
    True
    """
    damping = _check_damping(damping, allow_adaptive=False)
    theta, X, y = _check_model_data(model, theta, X, y, "theta")
    build = _check_curvature(curvature, model, X)
    value, g = _evaluate(model, theta, X, y)
    if g is None:
        raise ValueError(f"the loss or its gradient is not finite at theta (loss "
                         f"{value!r}); pick parameters where the model is defined.")
    C = build(theta)
    d, res = _solve(C, g, damping)
    quad = _dFd(C, d) if d is not None and with_curvature else math.nan
    if d is None:
        d = np.zeros_like(g)
    return NaturalGradient(d, g, quad, res.cg_iterations, res.success, res.message,
                           res.status)


def _separable(model, value: float, n: int) -> bool:
    """True when the mean loss proves that every label has probability > 1/2.

    For a ``linear_classifier`` model (labels are classes, logits linear in theta:
    logistic and softmax regression) each per-example loss is >= 0, so a mean below
    log(2)/n bounds every one below log 2: p(y_i | x_i) > 1/2 for all i. Then theta
    classifies every example correctly with a positive margin, L(c theta) -> 0 as
    c -> infinity, and the loss has no minimiser.
    """
    return bool(getattr(model, "linear_classifier", False)) and value < math.log(2) / n


def _options(damping, lr, max_kl, max_iter, tol, callback):
    adaptive = damping == "adaptive" if isinstance(damping, str) else False
    damping = _check_damping(damping, allow_adaptive=True)
    lr = check_positive(lr, "lr")
    if max_kl is not None:
        max_kl = check_positive(max_kl, "max_kl")
        if lr != 1.0:
            raise ValueError(
                f"max_kl={max_kl:g} sets the step length itself, so lr must stay 1; "
                f"got lr={lr:g}. Pass one of lr or max_kl."
            )
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function callback(theta, t); got "
                        f"{callback!r}.")
    return (adaptive, ADAPTIVE_DAMPING_START if adaptive else damping, lr, max_kl,
            check_int(max_iter, "max_iter", minimum=0),
            check_positive(tol, "tol", allow_zero=True))


def _read_only(theta: np.ndarray) -> np.ndarray:
    view = theta.view()
    view.setflags(write=False)
    return view


def _line_search(model, theta, X, y, step, value):
    """Halve ``step`` until the loss decreases, at most ``MAX_HALVINGS`` times.

    Returns ``(step, new_value, new_grad or None, halvings, decreased)``.
    """
    for halvings in range(MAX_HALVINGS + 1):
        new_value, new_g = _evaluate(model, theta + step, X, y)
        if new_g is not None and new_value < value:
            return step, new_value, new_g, halvings, True
        if halvings < MAX_HALVINGS:
            step = step / 2.0
    return step, new_value, new_g, MAX_HALVINGS, False


def _reduction_ratio(C, g, step, lam, value, new_value, new_g) -> float:
    """rho = actual / predicted decrease; -inf for a non-finite trial point."""
    with np.errstate(all="ignore"):
        predicted = float(g @ step + 0.5 * _dFd(C, step) + 0.5 * lam * (step @ step))
        rho = (new_value - value) / predicted if new_g is not None else math.nan
    return rho if math.isfinite(rho) else -math.inf


def _kl_alpha(C, d, lam, max_kl):
    with np.errstate(all="ignore"):
        Fd = np.asarray(C.matvec(d), dtype=float)
        if not d @ Fd > 0:  # d in F's null space: the damped curvature
            Fd = Fd + lam * d
    return kl_step_size(d, Fd, max_kl)


def natural_gradient_descent(
    model, theta0, X, y, *, curvature=None, damping: float | str = 0.0,
    lr: float = 1.0, max_kl: float | None = None, max_iter: int = 100,
    tol: float = 1e-8, callback: Callable[[np.ndarray, int], bool | None] | None = None,
) -> OptimizeResult:
    r"""Minimise the mean negative log-likelihood of ``model`` by natural gradient.

    Repeat (Amari 1998): :math:`L, g` = ``model.nll_and_grad``; :math:`F` =
    ``curvature(theta)``; solve :math:`(F + \lambda I)\,d = g`; :math:`\theta
    \leftarrow \theta - \alpha d`; until :math:`\lVert g\rVert_2 \le` ``tol``. The
    step rules (``lr``, ``max_kl``, ``damping="adaptive"``) and stopping rules
    (``status``) are in the module's documentation, :mod:`ngd_lib.natural_gradient`.

    Parameters
    ----------
    model : ngd.Model
        ``ngd.LogisticRegression()`` etc., or any object with ``nll_and_grad`` and
        what the curvature builder needs.
    theta0, X, y : array_like
        The start (P,); the inputs (n, d), unchanged during the fit; the targets (n,).
    curvature : callable or None, keyword-only
        A builder ``theta -> Curvature`` of :mod:`ngd_lib.curvature`; ``None`` is
        ``curvature.exact(model, X)``.
    damping : float or "adaptive", keyword-only
        :math:`\lambda \ge 0` (Tikhonov; K-FAC damps its factors) or ``"adaptive"``.
    lr : float, keyword-only
        The step length :math:`\alpha > 0` (must stay 1 under ``max_kl``).
    max_kl : float or None, keyword-only
        The KL budget :math:`\delta > 0` of each step (then :math:`\alpha` from it).
    max_iter, tol : int, float, keyword-only
        Stop after ``max_iter`` steps or once :math:`\lVert g\rVert_2 \le` ``tol``.
    callback : callable, optional, keyword-only
        ``callback(theta_t, t)`` after each accepted step (read-only); True stops.
        Its exceptions propagate unchanged.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit``, ``success``, ``message``, ``status``, ``history``
        (``x``, ``fun``, ``grad_norm`` and the fixed :data:`HISTORY_COLUMNS`:
        ``damping``, ``step_size``, ``cg_iterations``, ``halvings`` (0 without
        ``max_kl``), ``rho`` (NaN unless adaptive), ``accepted``).

    Raises
    ------
    TypeError
        If ``model`` lacks ``nll_and_grad``, ``curvature``/``callback`` is not
        callable, or an option has the wrong type.
    ValueError
        For an invalid option (``damping < 0``, ``max_kl`` with ``lr != 1``, ...),
        mismatched shapes (a model gradient's too), or a non-finite start.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(200), rng.standard_normal(200)])
    >>> y = (rng.random(200) < 1 / (1 + np.exp(-(0.5 + 2 * X[:, 1])))).astype(int)
    >>> res = ngd.natural_gradient_descent(ngd.LogisticRegression(), np.zeros(2), X, y)
    >>> res.success, res.nit, res.status
    (True, 5, 'converged')
    """
    adaptive, lam, lr, max_kl, max_iter, tol = _options(damping, lr, max_kl, max_iter,
                                                        tol, callback)
    theta, X, y = _check_model_data(model, theta0, X, y, "theta0")
    build = _check_curvature(curvature, model, X)
    value, g = _evaluate(model, theta, X, y)
    if g is None:
        raise ValueError(f"the loss or its gradient is not finite at theta0 (loss "
                         f"{value!r}). Start where the model is defined, e.g. zeros.")
    grad_norm = scaled_norm(g)
    info = {"tol": tol, "max_iter": max_iter, "max_kl": max_kl, "start_norm": grad_norm,
            "log2n": math.log(2) / X.shape[0], "high": ADAPTIVE_DAMPING_BOUNDS[1],
            "halvings": MAX_HALVINGS}
    rows = {key: [] for key in ("x", "fun", "grad_norm", *HISTORY_COLUMNS)}

    def record(lam, step_size=0.0, nit=0, halvings=0, rho=math.nan, accepted=True):
        values = (theta.copy(), value, grad_norm, lam, step_size, nit, halvings, rho,
                  accepted)
        for key, val in zip(rows, values, strict=True):
            rows[key].append(val)

    record(lam)
    t, status = 0, None
    while status is None:
        if _separable(model, value, X.shape[0]):
            status = "separable"
        elif grad_norm <= tol:
            status = "converged"
        elif t >= max_iter:
            status = "max_iter"
        if status is not None:
            break
        C = build(theta)
        d, solved = _solve(C, g, lam)
        nit = solved.cg_iterations
        if d is None and adaptive and lam < info["high"]:  # reject, raise the damping
            t += 1
            record(lam, nit=nit, rho=-math.inf, accepted=False)
            lam = levenberg_marquardt(lam, -math.inf)
            continue
        info["detail"] = solved.message
        try:
            alpha = lr if d is None or max_kl is None else _kl_alpha(C, d, lam, max_kl)
        except ValueError as error:
            d, info["detail"] = None, str(error)
        if d is None:
            status = "solve_failed"
            break
        step, halvings = -alpha * d, 0
        if max_kl is None:
            new_value, new_g = _evaluate(model, theta + step, X, y)
        else:
            step, new_value, new_g, halvings, decreased = _line_search(
                model, theta, X, y, step, value)
            if not decreased:
                status = "no_decrease"
                break
        rho, step_lam = math.nan, lam
        if adaptive:
            rho = _reduction_ratio(C, g, step, lam, value, new_value, new_g)
            lam = levenberg_marquardt(lam, rho)
            if not (new_g is not None and new_value < value):  # reject the step
                t += 1
                record(step_lam, nit=nit, halvings=halvings, rho=rho, accepted=False)
                if step_lam >= info["high"]:
                    status, info["step"] = "damping_limit", t
                continue
        elif new_g is None or scaled_norm(new_g) > DIVERGENCE_FACTOR * max(
                info["start_norm"], 1e-300):
            status = "diverged"
            info["detail"] = ("a non-finite loss or gradient" if new_g is None else
                              f"a gradient norm of {scaled_norm(new_g):.3g}")
            break
        t += 1
        theta, value, g = theta + step, new_value, new_g
        grad_norm = scaled_norm(g)
        record(step_lam, scaled_norm(step), nit, halvings, rho)
        if callback is not None and callback(_read_only(theta), t):
            status = "callback"
    message = _MESSAGES[status].format(
        t=t, step=info.pop("step", t + 1), grad_norm=grad_norm, fun=value,
        theta_norm=scaled_norm(theta), **info)
    if status == "solve_failed" and value > rows["fun"][0]:
        message += _GREW.format(start_fun=rows["fun"][0], fun=value)
    return OptimizeResult(x=theta, fun=value, nit=t, success=status == "converged",
                          message=message, history=History.from_lists(**rows),
                          status=status)
