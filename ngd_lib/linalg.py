r"""Solving with a damped curvature matrix: :math:`(M + \lambda I)\,x = b` (chapter 6).

Every natural-gradient step solves such a system, with ``M`` the Fisher and
``b`` the gradient. Three solvers, each with a use:

* :func:`cholesky_solve` factorises the dense ``d x d`` matrix, ``O(d^3)``;
* :func:`cg_solve` (conjugate gradient) needs only products ``v -> M v``, so ``M`` is
  never formed; each iteration costs one product;
* :func:`woodbury_solve` handles ``M = G^T G / n`` (an empirical Fisher from ``n``
  per-example gradients) with an ``n x n`` solve, cheap when ``n < d``.

References
----------
Nocedal, J. & Wright, S. J. (2006). *Numerical Optimization*, ch. 5 (conjugate
gradient). Martens, J. (2010). Deep learning via Hessian-free optimization. ICML.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import (
    as_float_array,
    check_int,
    check_positive,
    check_square_symmetric,
)

__all__ = [
    "CG_STATUSES",
    "CGResult",
    "DENSE_MEMORY_LIMIT",
    "NotPositiveDefiniteError",
    "cg_solve",
    "cholesky_solve",
    "scaled_norm",
    "woodbury_solve",
]


class NotPositiveDefiniteError(ValueError):
    """``M + damping * I`` is not positive definite, so it has no Cholesky factor."""


#: What :attr:`CGResult.status` can be; code reads this, never the message text.
CG_STATUSES = ("converged", "max_iter", "not_positive_definite", "non_finite")

#: The largest dense matrix (in bytes) the library forms before refusing with a
#: message that says what the request would need: 4 GiB.
DENSE_MEMORY_LIMIT = 4 * 2**30


def check_dense_memory(rows: int, cols: int, what: str, fix: str) -> None:
    """Raise ``ValueError`` if a ``rows x cols`` float64 matrix exceeds the limit.

    The message gives the size the request would need and how to avoid it.
    """
    needed = 8 * int(rows) * int(cols)
    if needed > DENSE_MEMORY_LIMIT:
        raise ValueError(
            f"{what} would be a {rows:,} x {cols:,} float64 matrix, "
            f"{needed / 1e9:.3g} GB (more than DENSE_MEMORY_LIMIT = "
            f"{DENSE_MEMORY_LIMIT / 2**30:g} GiB). {fix}"
        )


@dataclass(frozen=True)
class CGResult:
    r"""The outcome of :func:`cg_solve`.

    Attributes
    ----------
    x : ndarray, shape (d,)
        The approximate solution (always finite).
    nit : int
        Conjugate-gradient iterations taken (matrix-vector products used).
    residual_norm : float
        :math:`\lVert r\rVert_2` of the recursively updated residual
        :math:`r = b - (M + \lambda I)x` at ``x``.
    success : bool
        True when :math:`\lVert r\rVert_2 \le \mathrm{rtol}\,\lVert b\rVert_2`.
    message : str
        Why it stopped, in words (for people; code reads ``status``).
    status : str
        One of :data:`CG_STATUSES`: ``"converged"``; ``"max_iter"`` (``x`` is the
        truncated solution, still a descent direction for an SPD system);
        ``"not_positive_definite"`` (a search direction had
        :math:`p^\top(M+\lambda I)p \le 0`); ``"non_finite"`` (``matvec``
        returned NaN or infinity, or a product overflowed).
    """

    x: np.ndarray
    nit: int
    residual_norm: float
    success: bool
    message: str
    status: str


def scaled_norm(v: np.ndarray) -> float:
    """Euclidean norm of ``v`` that neither underflows nor overflows.

    ``np.linalg.norm`` squares the entries, so a vector with entries near 1e-200
    has norm 0 and one near 1e200 has norm inf; dividing by the largest entry first
    keeps the squares in range.
    """
    largest = float(np.max(np.abs(v))) if v.size else 0.0
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(v / largest))


def _check_rhs(b) -> np.ndarray:
    b = as_float_array(b, "b", ndim=1)
    if b.shape[0] == 0:
        raise ValueError("b must have at least one entry; got an empty vector.")
    return b


def _as_matvec(matvec, d: int) -> Callable[[np.ndarray], np.ndarray]:
    """Turn a dense matrix or a function into a checked ``v -> M v``."""
    if not callable(matvec):
        try:
            M = as_float_array(matvec, "matvec", ndim=2)
        except TypeError:
            raise TypeError(
                f"matvec must be a function v -> M @ v or a square matrix; got an "
                f"object of type {type(matvec).__name__}. Pass e.g. lambda v: F @ v."
            ) from None
        check_square_symmetric(M, "matvec")
        if M.shape[0] != d:
            raise ValueError(
                f"matvec is a {M.shape[0]} x {M.shape[1]} matrix but b has length {d}; "
                "they must match."
            )
        return lambda v: M @ v

    def checked(v: np.ndarray) -> np.ndarray:
        out = np.asarray(matvec(v), dtype=float)
        if out.shape != (d,):
            raise ValueError(
                f"matvec(v) must return a vector of shape ({d},) like b; got shape "
                f"{out.shape}."
            )
        return out

    return checked


def cg_solve(
    matvec,
    b,
    *,
    damping: float = 0.0,
    rtol: float = 1e-10,
    max_iter: int | None = None,
) -> CGResult:
    r"""Solve :math:`(M + \lambda I)\,x = b` by conjugate gradient.

    ``M`` must be symmetric positive semi-definite (with ``damping`` :math:`\lambda`
    making :math:`M + \lambda I` positive definite); it is given as a function
    ``v -> M v`` (a Fisher-vector product, say) or as a dense matrix. Starting from
    :math:`x_0 = 0`, iteration :math:`k` minimises the quadratic
    :math:`\tfrac12 x^\top(M + \lambda I)x - b^\top x` over the Krylov space
    :math:`\mathrm{span}\{b, Mb, \dots, M^{k-1}b\}`; in exact arithmetic it reaches the
    solution within ``d`` iterations, and faster when :math:`M + \lambda I` has few
    distinct eigenvalue clusters (Nocedal & Wright 2006, ch. 5).

    Stopping rules, checked in this order:

    * ``b = 0``: return ``x = 0`` at once (``nit = 0``, ``success=True``);
    * **converged** (``success=True``): :math:`\lVert r_k\rVert_2 \le`
      ``rtol`` :math:`\cdot\lVert b\rVert_2`, with :math:`r_k` the residual;
    * **non-positive curvature** (``success=False``,
      ``status="not_positive_definite"``): a search direction ``p`` has
      :math:`p^\top(M + \lambda I)p \le 0`, so
      :math:`M + \lambda I` is not positive definite; the last iterate is returned;
    * **non-finite product** (``success=False``, ``status="non_finite"``);
    * **out of iterations** (``success=False``, ``status="max_iter"``): ``max_iter``
      products were used.

    The iteration runs on :math:`b/\max_i|b_i|` and rescales :math:`x`, so the
    tolerance is relative whatever the size of ``b`` (``1e-170`` or ``1e200``).

    Parameters
    ----------
    matvec : callable or array_like
        ``matvec(v) -> M @ v`` for a vector ``v`` of shape ``(d,)``, or the dense
        symmetric ``d x d`` matrix ``M`` itself.
    b : array_like, shape (d,)
        The right-hand side (the gradient, in a natural-gradient step).
    damping : float, keyword-only
        :math:`\lambda \ge 0`, added to ``M`` as :math:`\lambda I` inside the solve.
    rtol : float, keyword-only
        Relative tolerance ``> 0`` of the stopping rule above.
    max_iter : int or None, keyword-only
        The largest number of iterations; ``None`` means ``10 * d`` (round-off can
        make CG need more than the ``d`` of exact arithmetic). A small ``max_iter``
        (TRPO uses 10) gives a cheap, truncated solve.

    Returns
    -------
    CGResult
        ``x``, ``nit``, ``residual_norm``, ``success``, ``message``, ``status``.

    Raises
    ------
    TypeError
        If ``matvec`` is neither callable nor a matrix, or an option has the wrong
        type.
    ValueError
        If ``b`` is not a finite non-empty vector, the matrix is not square
        symmetric or does not match ``b``, ``matvec(v)`` returns the wrong shape,
        ``damping < 0``, ``rtol <= 0`` or ``max_iter < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> F = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> res = cg_solve(lambda v: F @ v, [1.0, 1.0], damping=0.1)
    >>> res.success, res.nit, res.status
    (True, 2, 'converged')
    >>> np.allclose(res.x, np.linalg.solve(F + 0.1 * np.eye(2), [1.0, 1.0]))
    True

    References
    ----------
    Hestenes, M. R. & Stiefel, E. (1952); Nocedal & Wright (2006), Algorithm 5.2.
    Martens (2010) uses CG on curvature-vector products ("Hessian-free").
    """
    b = _check_rhs(b)
    d = b.shape[0]
    product = _as_matvec(matvec, d)
    damping = check_positive(damping, "damping", allow_zero=True)
    rtol = check_positive(rtol, "rtol")
    max_iter = (10 * d if max_iter is None
                else check_int(max_iter, "max_iter", minimum=1))

    # Solve for b / scale and multiply back: M is linear, so the iterates are the
    # same up to the factor, and neither b @ b nor p^T A p under- or overflows
    # (b = 1e-170 would give ||b|| = 0, b = 1e200 an infinite p^T A p).
    scale = float(np.max(np.abs(b)))
    if scale == 0.0:
        return CGResult(np.zeros(d), 0, 0.0, True,
                        "b is zero, so x = 0 solves the system.", "converged")
    b = b / scale
    x = np.zeros(d)
    b_norm = math.sqrt(float(b @ b))  # in [1, sqrt(d)]
    target = rtol * b_norm
    r = b.copy()
    p = r.copy()
    r_dot = b_norm**2
    for k in range(max_iter):
        Ap = product(p) + damping * p
        curvature = float(p @ Ap)
        if not math.isfinite(curvature):
            return CGResult(
                scale * x, k, scale * math.sqrt(r_dot), False,
                f"matvec returned non-finite values (or p^T M p overflowed) at "
                f"iteration {k + 1}; check M for NaN or entries near the float64 "
                "limit 1.8e308, and rescale it.", "non_finite")
        if curvature <= 0.0:
            return CGResult(
                scale * x, k, scale * math.sqrt(r_dot), False,
                f"non-positive curvature p^T (M + damping I) p = {curvature:.3g} "
                f"(for ||p|| = {scaled_norm(p):.3g}) at iteration {k + 1}: M + "
                "damping I is not positive definite. Increase damping or check M.",
                "not_positive_definite")
        alpha = r_dot / curvature
        x = x + alpha * p
        r = r - alpha * Ap
        r_dot_new = float(r @ r)
        if math.sqrt(r_dot_new) <= target:
            return CGResult(
                scale * x, k + 1, scale * math.sqrt(r_dot_new), True,
                f"converged: residual norm {scale * math.sqrt(r_dot_new):.3g} <= "
                f"rtol * ||b|| = {scale * target:.3g} after {k + 1} iterations.",
                "converged")
        p = r + (r_dot_new / r_dot) * p
        r_dot = r_dot_new
    residual = scale * math.sqrt(r_dot)
    return CGResult(
        scale * x, max_iter, residual, False,
        f"did not converge: reached max_iter = {max_iter} iterations with residual "
        f"norm {residual:.3g} > rtol * ||b|| = {scale * target:.3g}. Increase "
        "max_iter or damping (damping improves the conditioning), or accept the "
        "truncated solution.", "max_iter")


_TRIANGULAR_BLOCK = 128


def _solve_lower(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``L x = b`` for lower-triangular ``L`` by blocked forward substitution.

    numpy has no triangular solve, and ``np.linalg.solve`` would treat ``L`` as a
    general matrix (an ``O(d^3)`` LU factorisation). Here each diagonal block is
    solved on its own and the rest are matrix-vector products: ``O(d^2)`` work.
    """
    x = np.empty_like(b)
    for start in range(0, L.shape[0], _TRIANGULAR_BLOCK):
        stop = min(start + _TRIANGULAR_BLOCK, L.shape[0])
        rhs = b[start:stop] - L[start:stop, :start] @ x[:start]
        x[start:stop] = np.linalg.solve(L[start:stop, start:stop], rhs)
    return x


def _cholesky_solve_factor(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(L L^T)^{-1} b`` from the Cholesky factor ``L``: two triangular solves."""
    y = _solve_lower(L, b)
    # L^T x = y is lower-triangular in reversed order: J L^T J (J x) = J y
    return _solve_lower(L.T[::-1, ::-1], y[::-1])[::-1]


def cholesky_solve(F, b, *, damping: float = 0.0) -> np.ndarray:
    r"""Solve :math:`(F + \lambda I)\,x = b` for a dense symmetric ``F`` via Cholesky.

    The Cholesky factorisation :math:`F + \lambda I = LL^\top` exists exactly when
    :math:`F + \lambda I` is positive definite, so it doubles as the check; then
    :math:`x = L^{-\top}L^{-1}b` by two triangular solves. Cost :math:`d^3/3`
    operations for the factor and :math:`O(d^2)` for the solves; :math:`O(d^2)`
    memory.

    Parameters
    ----------
    F : array_like, shape (d, d)
        A symmetric matrix (a Fisher: positive semi-definite).
    b : array_like, shape (d,)
        The right-hand side.
    damping : float, keyword-only
        :math:`\lambda \ge 0`.

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    NotPositiveDefiniteError
        (a ``ValueError``) if :math:`F + \lambda I` is not positive definite; the
        message gives its smallest eigenvalue and a damping that would fix it.
    ValueError
        If ``F`` is not square symmetric, ``b`` does not match it, or ``damping < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> cholesky_solve(np.diag([4.0, 0.0]), [2.0, 1.0], damping=1.0)
    array([0.4, 1. ])
    """
    F = as_float_array(F, "F", ndim=2)
    check_square_symmetric(F, "F")
    b = _check_rhs(b)
    if F.shape[0] != b.shape[0]:
        raise ValueError(
            f"F is {F.shape[0]} x {F.shape[1]} but b has length {b.shape[0]}; "
            "they must match."
        )
    damping = check_positive(damping, "damping", allow_zero=True)
    A = F
    if damping:
        A = F.copy()
        A.flat[:: F.shape[0] + 1] += damping  # F + damping I without a d x d identity
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(A)[0])
        # enough to lift the smallest eigenvalue, and at least 1e-3 of the mean one
        mean_eigenvalue = float(np.trace(F)) / F.shape[0]
        suggestion = max(10 * abs(smallest) + damping, 1e-3 * mean_eigenvalue, 1e-8)
        raise NotPositiveDefiniteError(
            f"F + damping * I is not positive definite (damping = {damping:g}; its "
            f"smallest eigenvalue is {smallest:.3g}), so it has no Cholesky factor. "
            f"Use a larger damping, e.g. damping={suggestion:.2g}."
        ) from None
    return _cholesky_solve_factor(L, b)


def woodbury_solve(G, b, *, damping: float) -> np.ndarray:
    r"""Solve :math:`(G^\top G/n + \lambda I)\,x = b` with an ``n x n`` system.

    ``G`` holds ``n`` per-example gradients as rows, so :math:`G^\top G/n` is the
    empirical Fisher, of rank at most ``n``. The Woodbury identity gives

    .. math::

        \Big(\tfrac1n G^\top G + \lambda I\Big)^{-1} b
        = \frac1\lambda\Big(b - G^\top (n\lambda I_n + G G^\top)^{-1} G b\Big),

    which costs :math:`O(n^2 d + n^3)` instead of :math:`O(d^3)`: a saving when
    ``n < d``. The ``n x n`` matrix :math:`n\lambda I + GG^\top` is positive definite
    for every :math:`\lambda > 0`, so the solve is always defined; for
    :math:`\lambda = 0` the ``d x d`` system is singular when ``n < d``.

    Parameters
    ----------
    G : array_like, shape (n, d)
        Per-example gradients, one per row.
    b : array_like, shape (d,)
        The right-hand side.
    damping : float, keyword-only
        :math:`\lambda > 0` (required: it is what makes the system solvable).

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    NotPositiveDefiniteError
        (a ``ValueError``) if the ``n x n`` system is numerically singular (damping
        below the round-off of :math:`GG^\top`); the message suggests a damping.
    ValueError
        If ``G`` is not a finite 2-D array, ``b`` does not have ``G.shape[1]``
        entries, ``damping <= 0``, :math:`GG^\top` overflows, or the ``n x n``
        matrix would exceed :data:`DENSE_MEMORY_LIMIT` (the message says how much
        it would need).

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[1.0, 2.0, 0.0]])
    >>> x = woodbury_solve(G, [1.0, 0.0, 1.0], damping=0.5)
    >>> np.allclose(x, np.linalg.solve(G.T @ G + 0.5 * np.eye(3), [1.0, 0.0, 1.0]))
    True
    """
    G = as_float_array(G, "G", ndim=2)
    b = _check_rhs(b)
    if G.shape[1] != b.shape[0]:
        raise ValueError(
            f"G has {G.shape[1]} columns (parameters) but b has length {b.shape[0]}; "
            "they must match (G is n x d, one per-example gradient per row)."
        )
    damping = check_positive(damping, "damping", allow_zero=True)
    if damping == 0.0:
        raise ValueError(
            "damping must be > 0 for the Woodbury solve; got 0.0. The empirical "
            "Fisher G^T G / n has rank <= n, so without damping the system is "
            "singular when n < d; use e.g. damping=1e-4."
        )
    n = G.shape[0]
    check_dense_memory(n, n, "the Woodbury system n lambda I + G G^T",
                       "Use fewer examples (a mini-batch) or cg_solve.")
    with np.errstate(all="ignore"):
        small = G @ G.T
        small.flat[:: n + 1] += n * damping
    if not np.all(np.isfinite(small)):
        raise ValueError(
            "G G^T overflows float64 (per-example gradients of size "
            f"{float(np.max(np.abs(G))):.3g}); rescale G and b, e.g. divide both by "
            "the largest entry of G."
        )
    try:
        L = np.linalg.cholesky((small + small.T) / 2)
    except np.linalg.LinAlgError:
        largest = float(np.trace(small)) / n
        raise NotPositiveDefiniteError(
            f"n lambda I + G G^T is numerically singular at damping = {damping:.3g}: "
            f"it is below the round-off of G G^T (mean diagonal {largest:.3g}). "
            f"Use a larger damping, e.g. damping={max(1e-12 * largest / n, 1e-8):.2g}."
        ) from None
    with np.errstate(all="ignore"):
        x = (b - G.T @ _cholesky_solve_factor(L, G @ b)) / damping
    if not np.all(np.isfinite(x)):
        raise NotPositiveDefiniteError(
            f"the Woodbury solve at damping = {damping:.3g} overflowed (1 / damping "
            "times the part of b outside G's row space); use a larger damping."
        )
    return x
