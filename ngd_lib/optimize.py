r"""Gradient descent and the steepest step under an A-norm (chapters 1 and 2).

Gradient descent on a quadratic with Hessian ``A`` contracts the error by at most
:math:`\max_i |1 - \alpha\lambda_i|` per step; the best fixed step
:math:`\alpha^\star = 2/(\lambda_{\min} + \lambda_{\max})` gives the rate
:math:`(\kappa - 1)/(\kappa + 1)` (Nocedal & Wright 2006, ch. 3). The steepest step
under the constraint :math:`\tfrac12\delta^\top A\delta = \epsilon^2` is
:math:`\delta = -\lambda^{-1}A^{-1}g` (chapter 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._validation import (
    _show,
    as_float_array,
    check_int,
    check_memory,
    check_positive,
    check_positive_definite,
)
from .linalg import scaled_norm
from .result import History, OptimizeResult

__all__ = [
    "DIVERGENCE_FACTOR",
    "best_fixed_step",
    "brute_force_steepest_step",
    "contraction_rate",
    "ellipse_points",
    "gradient_descent",
    "iterations_to_tolerance",
    "steepest_descent_step",
]

#: Gradient descent reports divergence once ‖∇f(x_t)‖ > DIVERGENCE_FACTOR · ‖∇f(x_0)‖.
DIVERGENCE_FACTOR = 1e12


def _check_callable(value, name: str) -> None:
    if not callable(value):
        raise TypeError(
            f"{name} must be a function of x; got {value!r} of type "
            f"{type(value).__name__}. For a Quadratic q pass q.value and q.grad."
        )


def _evaluate(fun, grad, x, shape) -> tuple[float, np.ndarray]:
    """Return ``(fun(x), grad(x))``, checking that the value is a scalar and the
    gradient has the shape of ``x`` (they may be non-finite; the caller decides)."""
    value = fun(x)
    if not isinstance(value, float):  # floats (and np.float64) skip the array round
        try:
            array = as_float_array(value, "fun(x)", finite=False)
        except TypeError as err:
            raise TypeError(f"fun(x) must return a real number. {err}") from None
        if array.shape not in ((), (1,)):
            raise ValueError(
                f"fun(x) must return a scalar; got an array of shape {array.shape}. "
                "Return the objective value as a float."
            )
        value = float(array.reshape(()))
    gradient = grad(x)
    if not (type(gradient) is np.ndarray and gradient.dtype == np.float64):
        try:
            gradient = as_float_array(gradient, "grad(x)", finite=False)
        except TypeError as err:
            raise TypeError(f"grad(x) must return real numbers. {err}") from None
    if gradient.shape != shape:
        raise ValueError(
            f"grad(x) must return an array of shape {shape} like x; got shape "
            f"{gradient.shape}."
        )
    return value, gradient


def gradient_descent(
    fun: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0,
    *,
    lr: float,
    max_iter: int = 1000,
    tol: float = 1e-8,
    callback: Callable[[np.ndarray, int], bool | None] | None = None,
) -> OptimizeResult:
    r"""Minimise ``fun`` with gradient descent at a fixed step size.

    .. math::

        x_{t+1} = x_t - \alpha \nabla f(x_t), \qquad t = 0, 1, \dots

    Stopping rules, checked in this order after each evaluation:

    * **converged** (``success=True``): :math:`\lVert\nabla f(x_t)\rVert_2 \le`
      ``tol``;
    * **diverged** (``success=False``): :math:`f(x_t)` or :math:`\nabla f(x_t)` is not
      finite, or :math:`\lVert\nabla f(x_t)\rVert_2 >` ``DIVERGENCE_FACTOR``
      :math:`\cdot \lVert\nabla f(x_0)\rVert_2` (``DIVERGENCE_FACTOR = 1e12``). The
      result's ``x`` is the last iterate whose value and gradient are finite, never
      NaN; the message says to use a smaller ``lr``;
    * **stopped by the callback** (``success=False``): ``callback(x_t, t)`` returned a
      true value;
    * **out of iterations** (``success=False``): ``max_iter`` steps were taken.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, the objective.
    grad : callable
        ``grad(x) -> ndarray`` of the shape of ``x``, its gradient.
    x0 : array_like, shape (d,)
        The starting point (finite).
    lr : float, keyword-only
        The step size :math:`\alpha > 0`. On a quadratic with Hessian ``A`` the
        iteration converges iff :math:`\alpha < 2/\lambda_{\max}(A)`.
    max_iter : int, keyword-only
        The largest number of steps, ``>= 0``.
    tol : float, keyword-only
        Stop when the Euclidean norm of the gradient is at most ``tol`` (``>= 0``).
    callback : callable, optional, keyword-only
        Called as ``callback(x_t, t)`` after step ``t = 1, 2, ...`` with the new
        iterate (a read-only array; it is not called for the starting point, nor for
        a diverged iterate). Return ``True`` to stop early; ``None``/``False`` to go on.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit`` (steps taken), ``success``, ``message`` and
        ``history`` with rows ``0..nit`` of ``x``, ``fun`` and ``grad_norm``.

    Raises
    ------
    TypeError
        If ``fun``, ``grad`` or ``callback`` is not callable, or an option has the
        wrong type.
    ValueError
        If ``x0`` is not a finite 1-D vector, ``lr <= 0``, ``tol < 0``,
        ``max_iter < 0``, ``fun``/``grad`` return the wrong shape, or the objective
        or gradient at ``x0`` is not finite.

    Examples
    --------
    >>> from ngd_lib.quadratic import Quadratic
    >>> q = Quadratic.with_condition_number(10.0)
    >>> res = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=2 / 11)
    >>> res.success, res.nit
    (True, 104)
    >>> gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.3).message[:8]
    'diverged'

    References
    ----------
    Nocedal & Wright, *Numerical Optimization* (2006), ch. 3.
    """
    _check_callable(fun, "fun")
    _check_callable(grad, "grad")
    if callback is not None:
        _check_callable(callback, "callback")
    x = as_float_array(x0, "x0", ndim=1).copy()
    lr = check_positive(lr, "lr")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    tol = check_positive(tol, "tol", allow_zero=True)

    value, gradient = _evaluate(fun, grad, x, x.shape)
    if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
        raise ValueError(
            f"fun(x0) = {value!r} or grad(x0) is not finite at x0 = {x}. "
            "Start from a point where the objective is defined."
        )
    grad_norm = float(np.linalg.norm(gradient))
    limit = DIVERGENCE_FACTOR * grad_norm
    xs, values, grad_norms = [x.copy()], [value], [grad_norm]

    message = None
    success = False
    t = 0
    while True:
        if grad_norm <= tol:
            success = True
            message = (
                f"converged: gradient norm {grad_norm:.3g} <= tol = {tol:g} after "
                f"{t} steps."
            )
            break
        if t >= max_iter:
            message = (
                f"did not converge: reached max_iter = {max_iter} steps with gradient "
                f"norm {grad_norm:.3g} > tol = {tol:g}. Increase max_iter, or lr if "
                "the objective decreases steadily."
            )
            break
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is a result
            x_new = x - lr * gradient
            finite = bool(np.isfinite(x_new).all())
            if finite:
                value_new, gradient_new = _evaluate(fun, grad, x_new, x.shape)
                finite = (math.isfinite(value_new)
                          and bool(np.isfinite(gradient_new).all()))
            norm_new = float(np.linalg.norm(gradient_new)) if finite else math.inf
        if finite:
            t += 1
            x, value, gradient, grad_norm = x_new, value_new, gradient_new, norm_new
            xs.append(x)
            values.append(value)
            grad_norms.append(grad_norm)
        if not finite or norm_new > limit:
            grown = f"{norm_new:.3g}" if finite else "a non-finite value"
            message = (
                f"diverged at step {t if finite else t + 1}: the gradient norm grew "
                f"from {grad_norms[0]:.3g} to {grown}. The step size lr = {lr:g} is "
                "too large; use a smaller lr (on a quadratic, lr < 2 / lambda_max)."
            )
            break
        if callback is not None:
            view = x.view()
            view.setflags(write=False)
            if callback(view, t):
                message = f"stopped by the callback after {t} steps."
                break

    history = History.from_lists(xs, values, grad_norms)
    return OptimizeResult(x=x, fun=value, nit=t, success=success, message=message,
                          history=history)


def steepest_descent_step(g, A, eps) -> tuple[np.ndarray, float]:
    r"""The steepest step of the linearised objective inside an A-norm ball.

    Solves

    .. math::

        \min_\delta\; g^\top\delta \quad\text{s.t.}\quad
        \tfrac12 \delta^\top A \delta = \epsilon^2,

    whose Lagrangian :math:`g^\top\delta + \lambda(\tfrac12\delta^\top A\delta -
    \epsilon^2)` gives

    .. math::

        \delta = -\frac{1}{\lambda} A^{-1} g, \qquad
        \lambda = \sqrt{\frac{g^\top A^{-1} g}{2\epsilon^2}},

    so :math:`g^\top\delta = -\epsilon\sqrt{2\, g^\top A^{-1} g}`. ``A⁻¹g`` comes from a
    Cholesky factorisation ``A = LLᵀ`` (no inverse is formed).

    Parameters
    ----------
    g : array_like, shape (d,)
        The gradient; must be finite and non-zero.
    A : array_like, shape (d, d)
        Symmetric positive definite: the metric of the constraint.
    eps : float
        The radius :math:`\epsilon > 0`.

    Returns
    -------
    delta : ndarray, shape (d,)
        The minimising step.
    lam : float
        The Lagrange multiplier :math:`\lambda > 0`.

    Raises
    ------
    ValueError
        If ``g`` is zero (every feasible step then has :math:`g^\top\delta = 0`, so
        there is no steepest direction), if ``A`` is not symmetric positive definite,
        if the shapes do not match, if ``eps <= 0`` or any input holds NaN, or if
        the step or :math:`\lambda` is outside the float range (extreme ``eps``).
    TypeError
        If an input is not numeric.

    Examples
    --------
    >>> delta, lam = steepest_descent_step([1.0, 0.0], np.eye(2), 0.5)
    >>> delta, round(lam, 6)
    (array([-0.70710678, -0.        ]), 1.414214)

    References
    ----------
    Lin (2019), CMU 10-703 recitation on natural gradient descent; Schulman et al.
    (2015), App. C, for the same step with A = the Fisher matrix.
    """
    g = as_float_array(g, "g", ndim=1)
    A = as_float_array(A, "A", ndim=2)
    check_positive_definite(A, "A")
    if A.shape[0] != g.shape[0]:
        raise ValueError(
            f"A must be {g.shape[0]} x {g.shape[0]} to match g of shape {g.shape}; "
            f"got shape {A.shape}."
        )
    eps = check_positive(eps, "eps")
    if not np.any(g):
        raise ValueError(
            "g is the zero vector, so every feasible step has g @ delta = 0 and there "
            "is no steepest direction (x is a stationary point). Stop the iteration "
            "or perturb x."
        )
    lower = np.linalg.cholesky(A)
    half = np.linalg.solve(lower, g)  # L⁻¹g, so gᵀA⁻¹g = ‖L⁻¹g‖²
    direction = np.linalg.solve(lower.T, half)  # A⁻¹g
    # sqrt(gᵀA⁻¹g) as a norm: squaring a tiny g would underflow to 0
    root = scaled_norm(half)
    if not (root > 0 and math.isfinite(root)) or not np.all(np.isfinite(direction)):
        raise ValueError(
            f"g^T A^-1 g = {root:.3g}^2 cannot be computed in floating point for g of "
            f"norm {np.linalg.norm(g):.3g} and this A; rescale g or A."
        )
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        lam = root / (math.sqrt(2.0) * eps)
        delta = -(math.sqrt(2.0) * eps / root) * direction
    if not (lam > 0 and math.isfinite(lam) and np.all(np.isfinite(delta))):
        raise ValueError(
            f"the steepest step for eps = {eps:.3g} and g^T A^-1 g = {root:.3g}^2 is "
            f"outside the float range (lambda = {lam:.3g}, step {_show(delta)}); "
            "take a smaller eps or rescale g or A."
        )
    return delta, lam


def ellipse_points(A, eps, *, num: int = 721) -> np.ndarray:
    r"""Points on the ellipse :math:`\tfrac12\delta^\top A\delta = \epsilon^2` in 2-D.

    With :math:`A = LL^\top`, the points are
    :math:`\delta(\phi) = \sqrt2\,\epsilon\, L^{-\top}(\cos\phi, \sin\phi)` for
    ``num`` angles :math:`\phi` evenly spaced in :math:`[0, 2\pi]` (the first and last
    coincide, which closes the curve in a plot).

    Parameters
    ----------
    A : array_like, shape (2, 2)
        Symmetric positive definite.
    eps : float
        The radius :math:`\epsilon > 0`.
    num : int, keyword-only
        Number of points, ``>= 3``.

    Returns
    -------
    ndarray, shape (num, 2)

    Raises
    ------
    ValueError
        If ``A`` is not a 2 x 2 symmetric positive-definite matrix, ``eps <= 0``,
        the points are beyond the float range, or ``num`` would need more than
        2 GiB.

    Examples
    --------
    >>> pts = ellipse_points(np.diag([1.0, 4.0]), 1.0, num=5)
    >>> bool(np.allclose(0.5 * np.einsum("ni,ij,nj->n", pts, np.diag([1.0, 4.0]),
    ...                                  pts), 1.0))
    True
    """
    A = as_float_array(A, "A", ndim=2)
    if A.shape != (2, 2):
        raise ValueError(
            f"A must be 2 x 2 for ellipse_points; got shape {A.shape}. The ellipse "
            "is drawn in the plane."
        )
    check_positive_definite(A, "A")
    eps = check_positive(eps, "eps")
    num = check_int(num, "num", minimum=3)
    check_memory(4 * num, "num", what=f"{num} points on the ellipse")
    phi = np.linspace(0.0, 2.0 * np.pi, num)
    circle = np.stack([np.cos(phi), np.sin(phi)])  # (2, num)
    lower = np.linalg.cholesky(A)
    with np.errstate(over="ignore", invalid="ignore"):
        points = (math.sqrt(2.0) * eps * np.linalg.solve(lower.T, circle)).T
    if not np.all(np.isfinite(points)):
        raise ValueError(
            f"the ellipse for eps = {eps:.3g} and this A (smallest eigenvalue "
            f"{np.linalg.eigvalsh(A)[0]:.3g}) reaches beyond the float range; take a "
            "smaller eps or rescale A."
        )
    return points


def brute_force_steepest_step(g, A, eps, *, num: int = 100_001) -> np.ndarray:
    r"""The dense twin of :func:`steepest_descent_step` in 2-D.

    Evaluates :math:`g^\top\delta` at ``num`` points of the ellipse
    :math:`\tfrac12\delta^\top A\delta = \epsilon^2` (:func:`ellipse_points`) and
    returns the best one. The closed form should beat it or tie (up to the spacing of
    the grid).

    Parameters
    ----------
    g : array_like, shape (2,)
    A : array_like, shape (2, 2)
        Symmetric positive definite.
    eps : float
        ``> 0``.
    num : int, keyword-only
        Number of points on the ellipse.

    Returns
    -------
    ndarray, shape (2,)
        The feasible point with the smallest :math:`g^\top\delta`.

    Raises
    ------
    ValueError
        On the same inputs as :func:`ellipse_points`, or if ``g`` is not a finite
        vector of length 2.

    Examples
    --------
    >>> brute_force_steepest_step([1.0, 0.0], np.eye(2), 0.5, num=9).round(6) + 0.0
    array([-0.707107,  0.      ])
    """
    g = as_float_array(g, "g", ndim=1)
    if g.shape != (2,):
        raise ValueError(f"g must have shape (2,); got shape {g.shape}.")
    points = ellipse_points(A, eps, num=num)
    return points[np.argmin(points @ g)]


def _extreme_eigenvalues(A) -> tuple[float, float]:
    A = as_float_array(A, "A", ndim=2)
    check_positive_definite(A, "A")
    values = np.linalg.eigvalsh(A)
    return float(values[0]), float(values[-1])


def best_fixed_step(A) -> float:
    r"""The step size :math:`2/(\lambda_{\min} + \lambda_{\max})` for Hessian ``A``.

    It minimises :math:`\max_i |1 - \alpha\lambda_i|`, the worst per-step contraction
    of gradient descent on a quadratic with Hessian ``A``.

    Parameters
    ----------
    A : array_like, shape (d, d)
        Symmetric positive definite.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``A`` is not symmetric positive definite or holds NaN.

    Examples
    --------
    >>> best_fixed_step(np.diag([1.0, 9.0]))
    0.2
    """
    low, high = _extreme_eigenvalues(A)
    return 2.0 / (low + high)


def contraction_rate(A, lr=None) -> float:
    r"""The per-step contraction :math:`\max_i |1 - \alpha\lambda_i|` of GD.

    Gradient descent on a quadratic with Hessian ``A`` maps the error
    :math:`e_t = x_t - x^\star` to :math:`e_{t+1} = (I - \alpha A)e_t`, so
    :math:`\lVert e_{t+1}\rVert_2 \le \rho\,\lVert e_t\rVert_2` (and the same for the
    gradient :math:`A e_t` and the A-norm of the error) with
    :math:`\rho = \max(|1 - \alpha\lambda_{\min}|, |1 - \alpha\lambda_{\max}|)`.
    With the default ``lr`` (the best fixed step) this is
    :math:`(\kappa - 1)/(\kappa + 1)`.

    Parameters
    ----------
    A : array_like, shape (d, d)
        Symmetric positive definite.
    lr : float, optional
        The step size :math:`\alpha > 0`; defaults to :func:`best_fixed_step`.

    Returns
    -------
    float
        :math:`\rho`; the iteration converges iff :math:`\rho < 1`.

    Raises
    ------
    ValueError
        If ``A`` is not symmetric positive definite, ``lr <= 0``, or
        ``lr * lambda_max`` overflows.

    Examples
    --------
    >>> contraction_rate(np.diag([1.0, 9.0]))
    0.8
    >>> contraction_rate(np.diag([1.0, 9.0]), lr=1 / 9)
    0.8888888888888888
    """
    low, high = _extreme_eigenvalues(A)
    if lr is None:
        return (high - low) / (high + low)
    lr = check_positive(lr, "lr")
    rate = max(abs(1.0 - lr * low), abs(1.0 - lr * high))
    if not math.isfinite(rate):
        raise ValueError(
            f"lr * lambda_max = {lr:.3g} * {high:.3g} overflows floating point; the "
            "iteration diverges for any lr > 2 / lambda_max, so pass a smaller lr."
        )
    return rate


def iterations_to_tolerance(rate, *, initial_error, tol) -> int:
    r"""The fewest steps ``t`` with :math:`\rho^t e_0 \le` ``tol``.

    .. math::

        t = \left\lceil \frac{\log(\mathrm{tol}/e_0)}{\log\rho} \right\rceil
        \quad (0 \text{ if } e_0 \le \mathrm{tol},\ 1 \text{ if } \rho = 0).

    This is the iteration count that the bound :math:`e_t \le \rho^t e_0` predicts.

    Parameters
    ----------
    rate : float
        The contraction factor :math:`\rho`, ``0 <= rate < 1``.
    initial_error : float, keyword-only
        :math:`e_0 \ge 0` (for example the initial gradient norm).
    tol : float, keyword-only
        The target, ``> 0``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``rate`` is outside ``[0, 1)`` (no convergence is predicted), or
        ``initial_error < 0`` or ``tol <= 0``.

    Examples
    --------
    >>> iterations_to_tolerance(0.5, initial_error=1.0, tol=1e-3)
    10
    """
    rate = check_positive(rate, "rate", allow_zero=True)
    if rate >= 1:
        raise ValueError(
            f"rate must be < 1 for the iteration to converge; got {rate!r}. "
            "Use a smaller step size."
        )
    initial_error = check_positive(initial_error, "initial_error", allow_zero=True)
    tol = check_positive(tol, "tol")
    if initial_error <= tol:
        return 0
    if rate == 0:
        return 1
    # the small slack keeps exact powers (0.5**10 = 2**-10) from rounding up one step
    # logs of each (tol / initial_error could underflow to 0 or overflow to inf)
    steps = (math.log(tol) - math.log(initial_error)) / math.log(rate)
    return max(1, math.ceil(steps - 1e-9))
