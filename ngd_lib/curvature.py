r"""The curvature :math:`F` of NGD, apart from how :math:`(F+\lambda I)^{-1}g` is found.

Natural gradient descent (chapter 5) needs, at every iterate :math:`\theta`, a
curvature matrix :math:`F(\theta)` (the Fisher or an approximation of it, chapter 6)
and two operations on it: products :math:`v \mapsto Fv` (for the KL of a step and the
Levenberg-Marquardt model) and damped solves :math:`(F + \lambda I)^{-1} b`. A
:class:`Curvature` is that pair of operations at one :math:`\theta`; a *builder* is a
function :math:`\theta \mapsto` :class:`Curvature`, made once from a model and its
data. :func:`ngd_lib.natural_gradient_descent` takes a builder as ``curvature=``.

* :func:`exact`: :math:`F = \frac1n\sum_i \mathbb E_{y\sim p}[gg^\top]`, solved by
  Cholesky, or by conjugate gradient on Fisher-vector products;
* :func:`empirical`: :math:`\frac1n\sum_i g_i g_i^\top` with the observed labels,
  solved by Woodbury (``n < P``) or Cholesky;
* :func:`monte_carlo`: the same with labels sampled from the model;
* :func:`diagonal`: :math:`\operatorname{diag}(F)`, solved elementwise;
* :func:`kfac`: a block-diagonal :math:`\bigoplus_\ell A_\ell\otimes G_\ell`, two
  small solves per block.

The builders use only the model contract (:class:`ngd_lib.Model`): ``fisher``,
``fisher_vector_product``, ``fisher_diagonal``, ``per_example_grads``, ``sample``,
``kfac_blocks`` and ``n_params``. A solve never raises for a matrix it cannot invert:
it returns a :class:`SolveResult` with ``success=False`` and a ``status`` that code can
read (:data:`SOLVE_STATUSES`).

References
----------
Martens, J. (2020). New insights and perspectives on the natural gradient method.
Martens, J. & Grosse, R. (2015). Optimizing neural networks with Kronecker-factored
approximate curvature. Kunstner, F., Balles, L. & Hennig, P. (2019). Limitations of
the empirical Fisher approximation. Dangel, F. et al., curvlinops (one linear operator
per kind of curvature).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ._validation import as_float_array, as_rng, check_int, check_positive
from .kfac import KroneckerFactors, kfac_factors, kfac_solve
from .linalg import (
    NotPositiveDefiniteError,
    cg_solve,
    check_dense_memory,
    cholesky_solve,
    woodbury_solve,
)

__all__ = [
    "SOLVE_STATUSES",
    "Curvature",
    "SolveResult",
    "diagonal",
    "empirical",
    "exact",
    "kfac",
    "monte_carlo",
]

#: What :attr:`SolveResult.status` can be. ``"solved"``: ``x`` solves the damped
#: system; ``"max_iter"``: a conjugate-gradient solve stopped at its iteration cap
#: (``x`` is the truncated solution, still a descent direction); ``"not_positive_
#: definite"``: :math:`F + \lambda I` is not (numerically) positive definite;
#: ``"non_finite"``: the curvature or the solution has NaN or infinite entries.
SOLVE_STATUSES = ("solved", "max_iter", "not_positive_definite", "non_finite")

#: The relative residual at which the conjugate-gradient solves of :func:`exact`
#: stop, :math:`\lVert r\rVert \le 10^{-10}\lVert b\rVert`.
CG_RTOL = 1e-10


@dataclass(frozen=True)
class SolveResult:
    r"""The outcome of :meth:`Curvature.solve`, :math:`x = (F + \lambda I)^{-1} b`.

    Attributes
    ----------
    x : ndarray, shape (P,)
        The solution; zeros when ``status`` is ``"not_positive_definite"`` or
        ``"non_finite"``.
    success : bool
        True when ``status == "solved"``.
    message : str
        What happened, in words (for people; code reads ``status``).
    cg_iterations : int
        Conjugate-gradient iterations (curvature-vector products) used; 0 for the
        direct solves.
    status : str
        One of :data:`SOLVE_STATUSES`.
    """

    x: np.ndarray
    success: bool
    message: str
    cg_iterations: int
    status: str


@runtime_checkable
class Curvature(Protocol):
    r"""A curvature matrix :math:`F` at one :math:`\theta`, as two operations.

    ``matvec(v)`` returns :math:`Fv` (undamped) for ``v`` of shape ``(P,)``;
    ``solve(b, *, damping)`` returns a :class:`SolveResult` with
    :math:`x = (F + \lambda I)^{-1} b`, ``damping`` :math:`= \lambda \ge 0`. A solve
    reports failure in its result; it raises only for invalid arguments.

    The operators the builders of this module return also have ``matrix()``, the
    dense ``P x P`` matrix :math:`F` (undamped) whose products ``matvec`` gives: exact
    where the operator holds it (dense, Gram, diagonal), else built column by column
    as :math:`F e_j`. It is for inspection, small problems and tests (a dense twin);
    it raises ``ValueError`` when ``P x P`` would exceed
    :data:`ngd_lib.linalg.DENSE_MEMORY_LIMIT`. It is not part of the protocol: NGD
    needs only ``matvec`` and ``solve``.
    """

    def matvec(self, v) -> np.ndarray: ...

    def solve(self, b, *, damping: float) -> SolveResult: ...


# ---------------------------------------------------------------------------
# the operators
# ---------------------------------------------------------------------------
def _failed(P: int, status: str, message: str, cg_iterations: int = 0) -> SolveResult:
    return SolveResult(np.zeros(P), False, message, cg_iterations, status)


def _solved(x: np.ndarray, message: str, cg_iterations: int = 0) -> SolveResult:
    if not np.all(np.isfinite(x)):
        return _failed(x.shape[0], "non_finite",
                       "the solution has non-finite entries (the system overflowed); "
                       "use a larger damping", cg_iterations)
    return SolveResult(x, True, message, cg_iterations, "solved")


class _Operator:
    """Shared argument checks of the curvature operators (dimension ``P``)."""

    P: int

    def _vector(self, v, name: str) -> np.ndarray:
        v = as_float_array(v, name, ndim=1)
        if v.shape[0] != self.P:
            raise ValueError(
                f"{name} must have P = {self.P} entries (one per parameter); got "
                f"{v.shape[0]}."
            )
        return v

    def _damping(self, damping) -> float:
        return check_positive(damping, "damping", allow_zero=True)

    def _check_matrix_memory(self) -> None:
        check_dense_memory(self.P, self.P, "the curvature's matrix()",
                           "Use matvec(v) and solve(b, damping=...) instead.")

    def matrix(self) -> np.ndarray:
        r"""The dense ``P x P`` matrix :math:`F` (undamped), column ``j`` = ``F e_j``.

        Operators that hold :math:`F` (or a factor of it) override this with the
        exact matrix; this default makes ``P`` products on the identity's columns.

        Raises
        ------
        ValueError
            If a ``P x P`` float64 matrix would exceed
            :data:`ngd_lib.linalg.DENSE_MEMORY_LIMIT` (the message gives its size).
        """
        self._check_matrix_memory()
        identity = np.eye(self.P)
        return np.column_stack([self.matvec(e) for e in identity])


def _model_output(value, shape: tuple, what: str) -> np.ndarray:
    """``value`` as a float array of ``shape``, or a ValueError naming the method."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must return an array of real numbers; got "
                        f"{type(value).__name__}.") from None
    if arr.shape != shape:
        raise ValueError(
            f"{what} returned an array of shape {arr.shape}; the curvature needs shape "
            f"{shape}. Check the model's method against the ngd.Model contract."
        )
    return arr


class _Dense(_Operator):
    """A dense symmetric ``F``, solved by Cholesky."""

    def __init__(self, F: np.ndarray):
        self.F, self.P = F, F.shape[0]

    def matvec(self, v) -> np.ndarray:
        return self.F @ self._vector(v, "v")

    def matrix(self) -> np.ndarray:
        return self.F.copy()

    def solve(self, b, *, damping: float) -> SolveResult:
        b, damping = self._vector(b, "b"), self._damping(damping)
        if not np.all(np.isfinite(self.F)):
            return _failed(self.P, "non_finite", "the curvature matrix has non-finite "
                           "entries")
        try:
            return _solved(cholesky_solve(self.F, b, damping=damping),
                           "solved by Cholesky")
        except NotPositiveDefiniteError as error:
            return _failed(self.P, "not_positive_definite", str(error))


class _MatrixFree(_Operator):
    """``F`` given by products only, solved by conjugate gradient."""

    def __init__(self, product: Callable, P: int, cg_max_iter: int | None):
        self._product, self.P, self.cg_max_iter = product, P, cg_max_iter

    def matvec(self, v) -> np.ndarray:
        return self._product(self._vector(v, "v"))

    def solve(self, b, *, damping: float) -> SolveResult:
        b, damping = self._vector(b, "b"), self._damping(damping)
        res = cg_solve(self._product, b, damping=damping, rtol=CG_RTOL,
                       max_iter=self.cg_max_iter)
        if res.status == "converged":
            return _solved(res.x, res.message, res.nit)
        if res.status == "max_iter":  # truncated CG: usable, but not a solution
            return SolveResult(res.x, False, res.message, res.nit, "max_iter")
        return _failed(self.P, res.status, res.message, res.nit)


class _Gram(_Operator):
    r""":math:`F = G^\top G / m` from ``m`` per-example gradients (rows of ``G``).

    Solved by Woodbury (an ``m x m`` system) when ``m < P``, else by Cholesky of the
    dense ``P x P`` matrix.
    """

    def __init__(self, G: np.ndarray):
        self.G, (self.m, self.P) = G, G.shape
        self._dense = None

    def matvec(self, v) -> np.ndarray:
        return self.G.T @ (self.G @ self._vector(v, "v")) / self.m

    def matrix(self) -> np.ndarray:
        self._check_matrix_memory()
        F = self.G.T @ self.G / self.m
        return (F + F.T) / 2

    def solve(self, b, *, damping: float) -> SolveResult:
        b, damping = self._vector(b, "b"), self._damping(damping)
        if not np.all(np.isfinite(self.G)):
            return _failed(self.P, "non_finite", "per-example gradients are not finite")
        if self.m >= self.P:
            if self._dense is None:
                F = self.G.T @ self.G / self.m
                self._dense = _Dense((F + F.T) / 2)
            return self._dense.solve(b, damping=damping)
        if damping == 0.0:
            return _failed(self.P, "not_positive_definite",
                           f"G^T G / m has rank <= m = {self.m} < P = {self.P}, so it "
                           "is singular without damping; use damping > 0, e.g. 1e-4")
        try:
            return _solved(woodbury_solve(self.G, b, damping=damping),
                           f"solved by Woodbury (an {self.m} x {self.m} system)")
        except NotPositiveDefiniteError as error:
            return _failed(self.P, "not_positive_definite", str(error))


class _Diagonal(_Operator):
    """``diag(F)``, solved elementwise."""

    def __init__(self, diag: np.ndarray):
        self.diag, self.P = diag, diag.shape[0]

    def matvec(self, v) -> np.ndarray:
        return self.diag * self._vector(v, "v")

    def matrix(self) -> np.ndarray:
        self._check_matrix_memory()
        return np.diag(self.diag)

    def solve(self, b, *, damping: float) -> SolveResult:
        b, damping = self._vector(b, "b"), self._damping(damping)
        denominator = self.diag + damping
        if not np.all(np.isfinite(denominator)):
            return _failed(self.P, "non_finite", "diag(F) has non-finite entries")
        if not np.all(denominator > 0):
            return _failed(self.P, "not_positive_definite",
                           f"diag(F) + damping has {int(np.sum(denominator <= 0))} "
                           "entries <= 0; add damping > 0")
        with np.errstate(all="ignore"):
            return _solved(b / denominator, "solved elementwise")


class _NonFinite(_Operator):
    """A curvature whose ingredients overflowed: products are NaN, solves fail."""

    def __init__(self, P: int, why: str):
        self.P, self.why = P, why

    def matvec(self, v) -> np.ndarray:
        return np.full(self._vector(v, "v").shape, math.nan)

    def matrix(self) -> np.ndarray:
        self._check_matrix_memory()
        return np.full((self.P, self.P), math.nan)

    def solve(self, b, *, damping: float) -> SolveResult:
        self._vector(b, "b"), self._damping(damping)
        return _failed(self.P, "non_finite", self.why)


class _BlockKronecker(_Operator):
    r"""Block-diagonal :math:`\bigoplus_\ell A_\ell\otimes G_\ell`, a block a layer."""

    def __init__(self, factors: list[KroneckerFactors]):
        self.factors = factors
        sizes = [f.n_params for f in factors]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.P = int(self.offsets[-1])

    def _blocks(self, v):
        for f, start, stop in zip(self.factors, self.offsets[:-1], self.offsets[1:],
                                  strict=True):
            yield f, v[start:stop]

    def matvec(self, v) -> np.ndarray:
        v = self._vector(v, "v")
        return np.concatenate([f.matvec(part) for f, part in self._blocks(v)])

    def solve(self, b, *, damping: float) -> SolveResult:
        b, damping = self._vector(b, "b"), self._damping(damping)
        for f in self.factors:
            if not (np.all(np.isfinite(f.A)) and np.all(np.isfinite(f.G))):
                return _failed(self.P, "non_finite", "a Kronecker factor is not finite")
        try:
            with np.errstate(all="ignore"):
                parts = [kfac_solve(f, part, damping=damping, factored=damping > 0)
                         for f, part in self._blocks(b)]
        except ValueError as error:  # a singular or indefinite (damped) factor
            return _failed(self.P, "not_positive_definite", str(error))
        how = "factored (pi-)damping" if damping > 0 else "exact inverse"
        return _solved(np.concatenate(parts),
                       f"solved blockwise by K-FAC ({len(parts)} blocks, {how})")


# ---------------------------------------------------------------------------
# the builders
# ---------------------------------------------------------------------------
class _Builder:
    """A function ``theta -> Curvature`` with a readable repr."""

    def __init__(self, name: str, build: Callable, P: int):
        self.name, self._build, self.n_params = name, build, P

    def __call__(self, theta) -> Curvature:
        theta = as_float_array(theta, "theta", ndim=1)
        if theta.shape[0] != self.n_params:
            raise ValueError(
                f"theta must have {self.n_params} entries (model.n_params(X)) for "
                f"this curvature; got {theta.shape[0]}."
            )
        with np.errstate(all="ignore"):  # overflow is reported by the solve
            return self._build(theta)

    def __repr__(self) -> str:
        return f"<curvature builder {self.name}, P = {self.n_params}>"


def _setup(model, X, needs: tuple[str, ...], builder: str):
    missing = [m for m in ("n_params", *needs) if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(
            f"curvature.{builder} needs a model with the methods "
            f"{', '.join(('n_params', *needs))} (the ngd.Model contract); "
            f"{model!r} lacks {', '.join(missing)}."
        )
    X = as_float_array(X, "X", ndim=2)
    return X, check_int(model.n_params(X), "model.n_params(X)", minimum=1)


def exact(model, X, *, matrix_free: bool = False,
          cg_max_iter: int | None = None) -> Callable[[np.ndarray], Curvature]:
    r"""The exact Fisher :math:`F(\theta) = \frac1n\sum_i
    \mathbb E_{y\sim p(\cdot\mid x_i,\theta)}[g g^\top]`.

    ``matrix_free=False``: the dense ``model.fisher(theta, X)``, solved by Cholesky
    (:math:`O(P^3)` time, :math:`O(P^2)` memory). ``matrix_free=True``: conjugate
    gradient on ``model.fisher_vector_product`` (no ``P x P`` matrix; each iteration
    one product), stopped at a relative residual :data:`CG_RTOL` or after
    ``cg_max_iter`` iterations (``None``: ``10 P``); a solve that reaches the cap
    has ``status="max_iter"`` and its truncated ``x``.

    Parameters
    ----------
    model : ngd.Model
        Needs ``n_params`` and ``fisher`` (or ``fisher_vector_product``).
    X : array_like, shape (n, d)
    matrix_free : bool, keyword-only
    cg_max_iter : int or None, keyword-only
        Only with ``matrix_free=True``.

    Returns
    -------
    callable
        ``theta -> Curvature``.

    Raises
    ------
    TypeError
        If the model lacks the methods.
    ValueError
        If ``X`` is not a finite matrix, ``cg_max_iter < 1`` or is given without
        ``matrix_free=True``, or the dense Fisher would exceed
        :data:`ngd_lib.linalg.DENSE_MEMORY_LIMIT` (the message gives its size).

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]); theta = np.zeros(2)
    >>> F = ngd.LogisticRegression().fisher(theta, X)
    >>> C = exact(ngd.LogisticRegression(), X)(theta)
    >>> bool(np.allclose(C.solve([1.0, 0.0], damping=0.1).x,
    ...                  np.linalg.solve(F + 0.1 * np.eye(2), [1.0, 0.0])))
    True
    >>> exact(ngd.LogisticRegression(), X, matrix_free=True)(theta).solve(
    ...     [1.0, 0.0], damping=0.1).cg_iterations
    2
    """
    if cg_max_iter is not None:
        cg_max_iter = check_int(cg_max_iter, "cg_max_iter", minimum=1)
        if not matrix_free:
            raise ValueError(
                f"cg_max_iter={cg_max_iter} applies only to the conjugate-gradient "
                "solve; pass matrix_free=True with it, or drop it (the dense Fisher "
                "is solved by Cholesky)."
            )
    if matrix_free:
        X, P = _setup(model, X, ("fisher_vector_product",), "exact")

        def build(theta):
            def product(v):
                return _model_output(model.fisher_vector_product(theta, X, v), (P,),
                                     "model.fisher_vector_product")
            return _MatrixFree(product, P, cg_max_iter)

        return _Builder("exact (matrix-free, CG)", build, P)
    X, P = _setup(model, X, ("fisher",), "exact")
    check_dense_memory(P, P, "the dense Fisher",
                       "Use curvature.exact(model, X, matrix_free=True) (CG on "
                       "Fisher-vector products), curvature.kfac or curvature.diagonal.")
    return _Builder("exact (dense, Cholesky)",
                    lambda theta: _Dense(_model_output(model.fisher(theta, X), (P, P),
                                                       "model.fisher")), P)


def _gram_builder(name, model, X, P, labels):
    def build(theta):
        Xs, ys = labels(theta)
        G = _model_output(model.per_example_grads(theta, Xs, ys), (Xs.shape[0], P),
                          "model.per_example_grads")
        return _Gram(G)

    return _Builder(name, build, P)


def _check_gram_memory(m: int, P: int, builder: str) -> None:
    what = (f"curvature.{builder}'s m x m Woodbury system" if m < P
            else f"curvature.{builder}'s dense P x P matrix")
    check_dense_memory(min(m, P), min(m, P), what,
                       "Use fewer examples or samples, or curvature.exact(model, X, "
                       "matrix_free=True).")
    check_dense_memory(m, P, f"curvature.{builder}'s per-example gradients",
                       "Use fewer examples or samples.")


def empirical(model, X, y) -> Callable[[np.ndarray], Curvature]:
    r"""The empirical Fisher :math:`\frac1n\sum_i g_i g_i^\top` with the *observed*
    labels (Kunstner et al. 2019: not an estimate of :math:`F`).

    With ``G = model.per_example_grads(theta, X, y)`` (``n x P``) the matrix is
    :math:`G^\top G/n`, of rank at most ``n``. When ``n < P`` the solve is the
    Woodbury identity's ``n x n`` system (needs ``damping > 0``; without it the
    result has ``status="not_positive_definite"``), else Cholesky of the dense matrix.

    Returns
    -------
    callable
        ``theta -> Curvature``.

    Raises
    ------
    TypeError
        If the model lacks ``n_params`` or ``per_example_grads``.
    ValueError
        If ``X``/``y`` are not finite or do not match, or the matrices would exceed
        the memory limit.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]); y = np.array([0, 1, 1])
    >>> G = ngd.LogisticRegression().per_example_grads(np.zeros(2), X, y)
    >>> C = empirical(ngd.LogisticRegression(), X, y)(np.zeros(2))
    >>> bool(np.allclose(C.matvec([1.0, 2.0]), G.T @ G @ [1.0, 2.0] / 3))
    True
    """
    X, P = _setup(model, X, ("per_example_grads",), "empirical")
    y = as_float_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}); got "
                         f"{y.shape[0]}.")
    _check_gram_memory(X.shape[0], P, "empirical")
    return _gram_builder("empirical", model, X, P, lambda theta: (X, y))


def monte_carlo(model, X, *, n_samples: int = 1,
                rng=None) -> Callable[[np.ndarray], Curvature]:
    r"""The Fisher estimated with labels sampled from the model.

    At each :math:`\theta`: draw ``n_samples`` labels per input,
    :math:`\tilde y_{is}\sim p(\cdot\mid x_i,\theta)` (``model.sample``), take the
    ``m = n * n_samples`` per-example gradients ``G`` at the sampled labels and use
    :math:`\hat F = G^\top G / m`, an unbiased estimate of :math:`F` (Martens 2020,
    sec. 10). One estimator whatever the solve: Woodbury (``m x m``) when ``m < P``,
    else Cholesky. A fresh sample is drawn at every :math:`\theta`, from ``rng``.

    Parameters
    ----------
    model : ngd.Model
        Needs ``n_params``, ``sample`` and ``per_example_grads``.
    X : array_like, shape (n, d)
    n_samples : int, keyword-only
        Labels per input, ``>= 1``.
    rng : None, int or numpy.random.Generator, keyword-only

    Returns
    -------
    callable
        ``theta -> Curvature``.

    Raises
    ------
    TypeError
        If the model lacks the methods or ``rng`` is not None/int/Generator.
    ValueError
        If ``n_samples < 1`` or the matrices would exceed the memory limit.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.column_stack([np.ones(400), np.linspace(-1, 1, 400)])
    >>> model, theta = ngd.LogisticRegression(), np.array([0.2, 1.0])
    >>> C = monte_carlo(model, X, n_samples=50, rng=0)(theta)
    >>> F = model.fisher(theta, X)
    >>> bool(np.linalg.norm(C.matvec([1.0, 0.0]) - F[:, 0]) < 0.01)
    True
    """
    X, P = _setup(model, X, ("sample", "per_example_grads"), "monte_carlo")
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    rng = as_rng(rng)
    _check_gram_memory(X.shape[0] * n_samples, P, "monte_carlo")
    X_repeated = np.tile(X, (n_samples, 1)) if n_samples > 1 else X

    def labels(theta):
        return X_repeated, model.sample(theta, X_repeated, rng)

    return _gram_builder(f"monte_carlo ({n_samples} per input)", model, X_repeated, P,
                         labels)


def diagonal(model, X) -> Callable[[np.ndarray], Curvature]:
    r"""The diagonal of the exact Fisher, ``model.fisher_diagonal(theta, X)``,
    solved elementwise: :math:`x_j = b_j / (F_{jj} + \lambda)`.

    Returns
    -------
    callable
        ``theta -> Curvature``.

    Raises
    ------
    TypeError
        If the model lacks ``n_params`` or ``fisher_diagonal``.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.array([[1.0, 0.0], [1.0, 2.0]])
    >>> diagonal(ngd.LinearRegression(), X)(np.zeros(2)).solve([1.0, 2.0],
    ...                                                        damping=0.0).x
    array([1., 1.])
    """
    X, P = _setup(model, X, ("fisher_diagonal",), "diagonal")
    return _Builder("diagonal", lambda theta: _Diagonal(_model_output(
        model.fisher_diagonal(theta, X), (P,), "model.fisher_diagonal")), P)


def kfac(model, X, *, rng=None) -> Callable[[np.ndarray], Curvature]:
    r"""K-FAC: a block-diagonal Fisher whose blocks are Kronecker products.

    At each :math:`\theta`: sample one label per input from the model
    (``model.sample``, so this approximates the true Fisher, not the empirical one),
    get one (layer input, output gradient) pair per weight block from
    ``model.kfac_blocks(theta, X, y_sampled)`` and turn each into
    :math:`A_\ell\otimes G_\ell` with :func:`ngd_lib.kfac.kfac_factors`
    (Martens & Grosse 2015). Blocks follow the parameter order of ``theta``.

    Damping (Martens & Grosse 2015, sec. 6.3). For :math:`\lambda > 0` each block is
    solved with *factored Tikhonov damping*,

    .. math::

        \big[(A + \pi\sqrt\lambda\,I)\otimes(G + \tfrac1\pi\sqrt\lambda\,I)\big]^{-1},
        \qquad \pi = \sqrt{\frac{\operatorname{tr}(A)/d_{\mathrm{in}}}
                                {\operatorname{tr}(G)/d_{\mathrm{out}}}},

    which keeps the Kronecker structure (two small solves) at the price of cross
    terms beyond :math:`\lambda I`; :math:`\pi` balances them. For
    :math:`\lambda = 0` the solve is the exact :math:`(A\otimes G)^{-1}` (``status=
    "not_positive_definite"`` when a factor is singular). ``matvec`` is the
    undamped :math:`(A\otimes G)\,v`.

    Parameters
    ----------
    model : ngd.Model
        Needs ``n_params``, ``sample`` and ``kfac_blocks``.
    X : array_like, shape (n, d)
    rng : None, int or numpy.random.Generator, keyword-only
        A fresh label sample is drawn at every :math:`\theta` from it.

    Returns
    -------
    callable
        ``theta -> Curvature``.

    Raises
    ------
    TypeError
        If the model lacks the methods or ``rng`` is invalid.
    ValueError
        When called, if ``model.kfac_blocks`` returns blocks that do not cover the
        ``P`` parameters, or a factor would exceed the memory limit.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.column_stack([np.ones(50), np.linspace(-1, 1, 50)])
    >>> model = ngd.SoftmaxRegression(n_classes=3)
    >>> C = kfac(model, X, rng=0)(np.zeros(6))
    >>> C.solve(np.ones(6), damping=1e-3).success
    True
    """
    X, P = _setup(model, X, ("sample", "kfac_blocks"), "kfac")
    rng = as_rng(rng)

    def build(theta):
        blocks = model.kfac_blocks(theta, X, model.sample(theta, X, rng))
        pairs = [tuple(np.asarray(part, dtype=float) for part in block)
                 for block in blocks]
        sizes = [a.shape[-1] * g.shape[-1] for a, g in pairs if a.ndim == g.ndim == 2]
        if len(sizes) != len(pairs) or sum(sizes) != P:
            raise ValueError(
                f"model.kfac_blocks must return (inputs (n, a), output_grads (n, b)) "
                f"pairs covering theta's P = {P} parameters (a * b each, in theta's "
                f"order); got shapes {[(a.shape, g.shape) for a, g in pairs]}."
            )
        if not all(np.all(np.isfinite(a)) and np.all(np.isfinite(g)) for a, g in pairs):
            return _NonFinite(P, "model.kfac_blocks returned non-finite values")
        for i, (a, g) in enumerate(pairs):
            check_dense_memory(max(a.shape[1], g.shape[1]), max(a.shape[1], g.shape[1]),
                               f"K-FAC block {i}'s larger factor",
                               "Split the layer into smaller blocks.")
        return _BlockKronecker([kfac_factors(a, g) for a, g in pairs])

    return _Builder("kfac", build, P)
