"""Quadratic objectives f(x) = ½ xᵀAx − bᵀx, the test bed of chapters 1 and 2."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_int,
    check_memory,
    check_positive,
    check_positive_definite,
)

__all__ = ["MAX_KAPPA", "Quadratic", "random_rotation"]

#: The largest condition number :meth:`Quadratic.with_condition_number` builds.
#: Rounding ``Q diag(lambda) Q^T`` moves each eigenvalue by about
#: ``eps * kappa * d`` (``eps`` = 2.2e-16), so the smallest one, 1, keeps about
#: ``-log10(eps * kappa * d)`` digits: at ``kappa = 1e12`` the measured condition
#: number is off by at most ~1e-4 relative for ``d <= 100``, while near
#: ``kappa = 1 / eps`` (4.5e15) the rounded matrix can be indefinite.
MAX_KAPPA = 1e12


def random_rotation(dim: int, *, rng=None) -> np.ndarray:
    """Draw a rotation uniformly at random (Haar measure on the orthogonal group).

    The QR factorisation of a matrix of standard normal entries gives an orthogonal
    ``Q``; multiplying each column by the sign of the matching diagonal entry of ``R``
    makes the draw uniform (Mezzadri 2007, "How to generate random matrices from the
    classical compact groups"). The result may be a reflection (determinant −1), which
    does not matter for the eigenvectors of a symmetric matrix.

    Parameters
    ----------
    dim : int
        The size ``d`` of the matrix, ``d >= 1``.
    rng : None, int or numpy.random.Generator
        The source of randomness.

    Returns
    -------
    ndarray, shape (dim, dim)
        An orthogonal matrix: ``Q.T @ Q`` is the identity.

    Raises
    ------
    TypeError, ValueError
        If ``dim`` is not an integer >= 1 or ``rng`` is not a generator or seed.

    Examples
    --------
    >>> Q = random_rotation(3, rng=0)
    >>> bool(np.allclose(Q.T @ Q, np.eye(3)))
    True
    """
    dim = check_int(dim, "dim", minimum=1)
    check_memory(3 * dim * dim, "dim", what="three dim x dim matrices")
    gen = as_rng(rng)
    q, r = np.linalg.qr(gen.standard_normal((dim, dim)))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


@dataclass(frozen=True, eq=False)
class Quadratic:
    r"""The quadratic f(x) = ½ xᵀAx − bᵀx with a symmetric positive-definite ``A``.

    .. math::

        f(x) = \tfrac12 x^\top A x - b^\top x, \qquad
        \nabla f(x) = A x - b, \qquad \nabla^2 f(x) = A,

    with the unique minimiser :math:`x^\star = A^{-1} b` and the condition number
    :math:`\kappa = \lambda_{\max}(A) / \lambda_{\min}(A)`, which decides how fast
    gradient descent converges (chapter 1).

    Parameters
    ----------
    A : array_like, shape (d, d)
        Symmetric positive definite.
    b : array_like, shape (d,), optional
        The linear term; zeros by default (then the minimiser is the origin).

    Attributes
    ----------
    A, b : ndarray
        Read-only copies of the inputs.
    dim : int
        The dimension ``d``.
    eigenvalues : ndarray
        The eigenvalues of ``A`` in ascending order.
    condition_number : float
        :math:`\lambda_{\max} / \lambda_{\min}`.

    Raises
    ------
    ValueError
        If ``A`` is not square, symmetric and positive definite, if ``b`` does not
        have shape ``(d,)``, or if either holds NaN or infinite entries.
    TypeError
        If ``A`` or ``b`` is not numeric.

    Examples
    --------
    >>> q = Quadratic([[2.0, 0.0], [0.0, 8.0]], b=[2.0, 8.0])
    >>> q.minimizer()
    array([1., 1.])
    >>> float(q.condition_number)
    4.0
    >>> q.value([[0.0, 0.0], [1.0, 1.0]])  # a batch of points
    array([ 0., -5.])

    References
    ----------
    Nocedal & Wright, *Numerical Optimization* (2006), ch. 3.
    """

    A: np.ndarray
    b: np.ndarray | None = None

    def __post_init__(self):
        A = as_float_array(self.A, "A", ndim=2).copy()
        check_positive_definite(A, "A")
        d = A.shape[0]
        if self.b is None:
            b = np.zeros(d)
        else:
            b = as_float_array(self.b, "b").copy()
            if b.shape != (d,):
                raise ValueError(
                    f"b must have shape ({d},) to match A of shape {A.shape}; got "
                    f"shape {b.shape}. Pass a vector with one entry per row of A."
                )
        A.setflags(write=False)
        b.setflags(write=False)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        """The dimension ``d`` of the domain."""
        return self.A.shape[0]

    @cached_property
    def eigenvalues(self) -> np.ndarray:
        """The eigenvalues of ``A``, ascending."""
        values = np.linalg.eigvalsh(self.A)
        values.setflags(write=False)
        return values

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = \lambda_{\max}(A) / \lambda_{\min}(A)`."""
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    # ------------------------------------------------------------------ evaluation
    def _points(self, x) -> np.ndarray:
        # fast path for the float arrays an optimiser passes in a loop; anything else,
        # or a non-finite entry, goes through the shared check (and its message)
        if not (type(x) is np.ndarray and x.dtype == np.float64
                and np.isfinite(x).all()):
            x = as_float_array(x, "x")
        if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
            raise ValueError(
                f"x must have shape ({self.dim},) or (n, {self.dim}) for this "
                f"{self.dim}-dimensional quadratic; got shape {x.shape}."
            )
        return x

    def value(self, x) -> float | np.ndarray:
        """f(x) = ½ xᵀAx − bᵀx at one point (shape (d,)) or at each row of (n, d).

        Returns a float for one point and an array of shape (n,) for a batch.
        Where the value is beyond the float range (``|x|`` near 1e154 and more)
        the result is ``inf`` (``-inf`` if ``-bᵀx`` dominates), without a warning
        and never NaN, so an optimiser can report divergence.
        """
        x = self._points(x)
        with np.errstate(over="ignore", invalid="ignore"):
            if x.ndim == 1:
                out = float(x @ (0.5 * (self.A @ x) - self.b))
            else:
                out = np.sum(x * (0.5 * (x @ self.A) - self.b), axis=-1)
        if np.all(np.isfinite(out)):
            return out
        u, scale = self._scaled(x)
        with np.errstate(over="ignore", invalid="ignore"):
            out = scale[..., 0] * (scale[..., 0] * np.sum(u * (0.5 * (u @ self.A)),
                                                          axis=-1) - u @ self.b)
        return float(out) if x.ndim == 1 else out

    def grad(self, x) -> np.ndarray:
        """∇f(x) = Ax − b, shape (d,) for one point or (n, d) for a batch.

        Entries beyond the float range are ``±inf`` (never NaN), as in :meth:`value`.
        """
        x = self._points(x)
        with np.errstate(over="ignore", invalid="ignore"):
            out = x @ self.A - self.b  # A is symmetric, so x Aᵀ = (A x)ᵀ
        if np.all(np.isfinite(out)):
            return out
        u, scale = self._scaled(x)
        with np.errstate(over="ignore", invalid="ignore"):
            return scale * (u @ self.A) - self.b

    @staticmethod
    def _scaled(x):
        """``(x / s, s)`` with ``s = max |x|`` per point (shape (..., 1)). From ``u``
        the products are finite and only the final scaling by ``s`` can overflow, to
        ``±inf`` of the right sign rather than ``inf - inf = NaN``."""
        scale = np.max(np.abs(x), axis=-1, keepdims=True)
        scale[scale == 0] = 1.0
        return x / scale, scale

    def hessian(self, x=None) -> np.ndarray:
        """∇²f(x) = A (the same at every ``x``; ``x`` is only checked if given)."""
        if x is not None:
            x = self._points(x)
            if x.ndim != 1:
                raise ValueError(
                    f"x must be one point of shape ({self.dim},) for hessian; got "
                    f"shape {x.shape}. Loop over the rows (the Hessian is A anyway)."
                )
        return self.A.copy()

    def minimizer(self) -> np.ndarray:
        """x* = A⁻¹b, computed with a Cholesky factorisation A = LLᵀ."""
        lower = np.linalg.cholesky(self.A)
        return np.linalg.solve(lower.T, np.linalg.solve(lower, self.b))

    def min_value(self) -> float:
        """f(x*) = −½ bᵀA⁻¹b."""
        return -0.5 * float(self.b @ self.minimizer())

    # ---------------------------------------------------------------- constructors
    @classmethod
    def with_condition_number(
        cls, kappa, *, dim: int = 2, rng=None, b=None, spacing: str = "geometric"
    ) -> Quadratic:
        r"""A quadratic whose ``A`` has eigenvalues from 1 to ``kappa``.

        The eigenvalues are ``np.geomspace(1, kappa, dim)`` (``spacing="geometric"``,
        the default) or ``np.linspace(1, kappa, dim)`` (``spacing="linear"``); in 2-D
        both give :math:`\{1, \kappa\}`. Without ``rng`` the matrix is diagonal
        (axis-aligned, eigenvalues ascending along the axes, so in 2-D the flat
        direction is :math:`x_1` and the steep one :math:`x_2`); with ``rng`` it is
        :math:`Q \operatorname{diag}(\lambda) Q^\top` with a uniformly random rotation
        ``Q`` (see :func:`random_rotation`).

        Parameters
        ----------
        kappa : float
            The condition number, ``kappa >= 1``.
        dim : int, keyword-only
            The dimension, ``>= 1`` (``dim = 1`` only allows ``kappa = 1``).
        rng : None, int or numpy.random.Generator, keyword-only
            If given, rotate the eigenvectors at random.
        b : array_like, shape (dim,), optional, keyword-only
            The linear term (zeros by default).
        spacing : {"geometric", "linear"}, keyword-only
            How the eigenvalues fill ``[1, kappa]``.

        Returns
        -------
        Quadratic

        Raises
        ------
        ValueError
            If ``kappa < 1``, ``kappa >`` :data:`MAX_KAPPA` (``1e12``: beyond it
            round-off in :math:`Q\operatorname{diag}(\lambda)Q^\top` makes the
            requested condition number meaningless, and near ``1 / eps`` the matrix
            indefinite), ``dim < 1``, ``dim = 1`` with ``kappa != 1``, ``dim`` too
            large to allocate, or ``spacing`` is unknown; also if the rotated matrix
            misses ``kappa`` by more than 1e-3 relative (very large ``dim`` near
            the limit), rather than return a matrix that is not what was asked.

        Examples
        --------
        >>> q = Quadratic.with_condition_number(100.0)
        >>> q.A
        array([[  1.,   0.],
               [  0., 100.]])
        >>> q = Quadratic.with_condition_number(100.0, dim=5, rng=0)
        >>> round(q.condition_number, 6)
        100.0
        """
        kappa = check_positive(kappa, "kappa")
        if kappa < 1:
            raise ValueError(
                f"kappa must be >= 1 (it is lambda_max / lambda_min); got {kappa!r}."
            )
        if kappa > MAX_KAPPA:
            raise ValueError(
                f"kappa = {kappa:.3g} is above the limit MAX_KAPPA = {MAX_KAPPA:.0e}: "
                f"kappa * eps = {kappa * np.finfo(float).eps:.2g} > 2.2e-4, so "
                "round-off in the eigenvalues would hide the requested condition "
                "number (and near 1/eps = 4.5e15 make A indefinite). Use kappa <= 1e12."
            )
        dim = check_int(dim, "dim", minimum=1)
        check_memory(3 * dim * dim, "dim", what="three dim x dim matrices")
        check_choice(spacing, "spacing", ("geometric", "linear"))
        if dim == 1 and kappa != 1:
            raise ValueError(
                f"a 1-D quadratic has condition number 1; got kappa={kappa!r} with "
                "dim=1. Use dim >= 2."
            )
        space = np.geomspace if spacing == "geometric" else np.linspace
        eigenvalues = space(1.0, kappa, dim)
        if rng is None:
            A = np.diag(eigenvalues)
        else:
            Q = random_rotation(dim, rng=rng)
            A = (Q * eigenvalues) @ Q.T
            A = 0.5 * (A + A.T)  # exact symmetry despite round-off
        out = cls(A, b)
        if abs(out.condition_number / kappa - 1.0) > 1e-3:
            raise ValueError(
                f"kappa = {kappa:.3g} with dim = {dim}: round-off in the rotated "
                f"matrix gives condition number {out.condition_number:.4g} instead. "
                "Use a smaller kappa or dim, or rng=None (a diagonal, exact A)."
            )
        return out
