r"""Models p(y | x, theta), their gradients and their Fisher information matrices.

Every model satisfies one contract, :class:`Model` (what natural gradient descent and
the curvature builders of :mod:`ngd_lib.curvature` need); its docstring is the
contract's documentation. The models:

* :class:`ScalarGLM`: the base of a generalised linear model with canonical link,
  defined by four functions of the natural parameter ``eta = x^T theta``; its
  subclasses

  - :class:`LogisticRegression`: ``p(y=1 | x, theta) = sigmoid(x^T theta)``, y 0 or 1;
  - :class:`LinearRegression`: ``y | x ~ N(x^T theta, noise_var)``;
  - :class:`PoissonRegression`: ``y | x ~ Poisson(exp(x^T theta))``;

* :class:`SoftmaxRegression`: ``p(y=c | x, theta) = softmax(W^T x)_c``, y in 0..k-1;
* :class:`GaussianRegression`: ``y | x ~ N(x^T w, sigma^2)`` with the scale fitted too,
  in ``(w, log sigma)`` or ``(w, sigma)`` (chapter 5's model whose Fisher is not its
  Hessian).

For the GLMs and softmax the per-example gradient is ``g_i = x_i (x) r_i``, a Kronecker
product of the input with an *output residual* ``r_i`` (a scalar, or a k-vector for
softmax). Then every Fisher is ``(1/n) sum_i (x_i x_i^T) (x) Lambda_i`` with an output
matrix ``Lambda_i``: ``E[r r^T]`` for the exact Fisher, ``r_i r_i^T`` for the empirical
one. For canonical-link models ``E[r r^T]`` equals the second derivative of ``-log p``
in the model output, which is why the exact Fisher equals the Hessian of the NLL
(Martens 2020, sec. 9.2; Kunstner, Balles & Hennig 2019, Prop. 1).

References
----------
Martens, J. (2020). New insights and perspectives on the natural gradient method.
JMLR 21(146). Kunstner, F., Balles, L. & Hennig, P. (2019). Limitations of the empirical
Fisher approximation for natural gradient descent. NeurIPS. McCullagh, P. & Nelder,
J. A. (1989). Generalized Linear Models, 2nd ed., ch. 2. Amari, S. (1998). Natural
gradient works efficiently in learning. Neural Computation 10(2).
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from ngd_lib._validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_int,
    check_positive,
)

__all__ = [
    "MAX_DENSE_BYTES",
    "GaussianRegression",
    "LinearRegression",
    "LogisticRegression",
    "Model",
    "ModelDomainError",
    "PoissonRegression",
    "ScalarGLM",
    "SoftmaxRegression",
]

#: The largest dense matrix (in bytes) a model method builds: a P x P Fisher or an
#: n x P matrix of per-example gradients beyond it is refused with a ValueError that
#: says what it would need and what to use instead (2 GiB).
MAX_DENSE_BYTES = 2 * 1024**3
#: Rows of X per block when the Fisher X^T W X is accumulated (about 0.5 MB: the
#: scaled block stays in cache, so it is never written to and read from memory).
_CHUNK_BYTES = 2**19


class ModelDomainError(ValueError):
    """``theta`` is where the model's quantities are not finite in float64.

    Raised instead of returning NaN or infinity: the Poisson rate ``exp(x^T theta)``
    overflowing, ``X @ theta`` overflowing, ``sigma <= 0`` or ``sigma = exp(log
    sigma)`` beyond the float range in :class:`GaussianRegression`. A ``ValueError``;
    the message names the argument, the value and what to do.
    """


# ---------------------------------------------------------------------------
# the contract
# ---------------------------------------------------------------------------
@runtime_checkable
class Model(Protocol):
    r"""The model contract: what natural gradient descent and the curvature builders
    need from a model :math:`p(y \mid x, \theta)`.

    ``theta`` is a flat parameter vector of length ``P = n_params(X)``, ``X`` an
    ``(n, d)`` design matrix (one row per example) and ``y`` a vector of ``n``
    labels or targets. Every method validates its inputs and raises ``ValueError``
    or ``TypeError`` naming the argument, the value and the fix; a ``theta`` where
    the model's floats overflow raises :class:`ModelDomainError` (never a silent NaN
    or infinity). Methods that would build a dense matrix larger than
    :data:`MAX_DENSE_BYTES` raise ``ValueError`` saying what it would need.

    ``n_params(X) -> int``
        ``P``.
    ``check_inputs(theta, X, y=None) -> (theta, X, y)``
        the validated float arrays (``y`` in the model's label dtype, or None).
    ``nll(theta, X, y) -> float``
        the *mean* negative log-likelihood
        :math:`L = -\frac1n \sum_i \log p(y_i \mid x_i, \theta)`.
    ``grad(theta, X, y) -> (P,)``
        :math:`\nabla L`.
    ``nll_and_grad(theta, X, y) -> (float, (P,))``
        both, fused (one pass over ``X`` for the model output).
    ``per_example_grads(theta, X, y) -> (n, P)``
        row ``i`` is :math:`g_i = -\nabla \log p(y_i \mid x_i, \theta)` (not divided by
        ``n``); their mean is ``grad``.
    ``fisher(theta, X) -> (P, P)``
        the exact Fisher
        :math:`F = \frac1n \sum_i E_{y \sim p(\cdot \mid x_i, \theta)}[g g^\top]`.
    ``fisher_vector_product(theta, X, v) -> (P,)``
        :math:`F v` without forming ``F``.
    ``fisher_diagonal(theta, X) -> (P,)``
        :math:`\operatorname{diag}(F)` without forming ``F``.
    ``hessian(theta, X, y) -> (P, P)``
        :math:`\nabla^2 L` (equal to ``F`` for canonical-link models).
    ``sample(theta, X, rng=None) -> (n,)``
        labels drawn from the model, :math:`y_i \sim p(\cdot \mid x_i, \theta)`.
    ``kfac_blocks(theta, X, y) -> list[(inputs (n, a), output_grads (n, b))]``
        one pair per weight block, in parameter order: the block's input and the
        per-example gradient of :math:`-\log p(y_i \mid x_i)` with respect to the
        block's pre-activation output, so that the block's part of row ``i`` of
        ``per_example_grads`` is ``np.outer(inputs[i], output_grads[i]).ravel()``
        (an ``a x b`` matrix in row-major order). :func:`ngd_lib.kfac.kfac_factors`
        turns a pair into Kronecker factors. Pass labels from ``sample`` for K-FAC,
        the observed labels for its empirical variant. A model without Kronecker
        structure raises ``TypeError``.

    Optional attribute: ``linear_classifier`` (bool, False when absent). True means
    the labels are classes and ``p(y | x)`` comes from logits linear in ``theta``
    (logistic, softmax), so a mean loss below ``log(2) / n`` proves the data are
    separated and the maximum-likelihood estimate does not exist.

    The check is structural: any object with these methods is a ``Model``.

    Examples
    --------
    >>> import ngd_lib as ngd
    >>> isinstance(ngd.LogisticRegression(), ngd.Model)
    True
    >>> isinstance(object(), ngd.Model)
    False
    """

    def n_params(self, X) -> int: ...

    def check_inputs(self, theta, X, y=None) -> tuple: ...

    def nll(self, theta, X, y) -> float: ...

    def grad(self, theta, X, y) -> np.ndarray: ...

    def nll_and_grad(self, theta, X, y) -> tuple[float, np.ndarray]: ...

    def per_example_grads(self, theta, X, y) -> np.ndarray: ...

    def fisher(self, theta, X) -> np.ndarray: ...

    def fisher_vector_product(self, theta, X, v) -> np.ndarray: ...

    def fisher_diagonal(self, theta, X) -> np.ndarray: ...

    def hessian(self, theta, X, y) -> np.ndarray: ...

    def sample(self, theta, X, rng=None) -> np.ndarray: ...

    def kfac_blocks(self, theta, X, y) -> list[tuple[np.ndarray, np.ndarray]]: ...


# ---------------------------------------------------------------------------
# input checks and numerics shared by the models
# ---------------------------------------------------------------------------
# A read-only X is checked once and its X @ theta computed once per theta: the
# per-iteration calls of natural_gradient_descent, which hands the models a read-only
# view of the X it validated, then skip the passes over X (about a third of the time
# of a logistic fit at n = 100,000). A writeable X is checked at every call, since
# its caller may change it between calls. One slot each, keyed by identity.
_CHECKED_X: list = [None]  # weakref to the last read-only X that passed _check_X
_ETA: list = [None]  # (weakref to a read-only X, theta, X @ theta)


def _same_read_only(ref, X) -> bool:
    return (ref is not None and isinstance(X, np.ndarray) and not X.flags.writeable
            and ref() is X)


def _check_X(X) -> np.ndarray:
    if _same_read_only(_CHECKED_X[0], X):
        return X
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"X must have at least one row (example) and one column (feature); got "
            f"shape {X.shape}. Pass an (n, d) array with n >= 1 and d >= 1."
        )
    if not X.flags.writeable:
        _CHECKED_X[0] = weakref.ref(X)
    return X


def _linear_predictor(theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``X @ theta``, reused while a read-only X and theta stay the same.

    Callers get their own array (a copy of the stored one costs n floats, against
    n d multiply-adds for the product), so a result such as LinearRegression's
    ``predict_mean``, which is ``eta`` itself, stays the caller's to change.
    """
    cached = _ETA[0]
    if (cached is not None and _same_read_only(cached[0], X)
            and np.array_equal(cached[1], theta)):
        return cached[2].copy()
    with np.errstate(over="ignore", invalid="ignore"):
        eta = X @ theta
    if not X.flags.writeable:
        stored = eta.copy()
        stored.flags.writeable = False
        _ETA[0] = (weakref.ref(X), theta.copy(), stored)
    return eta


def _check_vector(value, name: str, size: int, what: str) -> np.ndarray:
    arr = as_float_array(value, name, ndim=1)
    if arr.shape[0] != size:
        raise ValueError(
            f"{name} must have length {size} ({what}); got length {arr.shape[0]}."
        )
    return arr


def _check_y(y, n: int) -> np.ndarray:
    y = as_float_array(y, "y", ndim=1)
    if y.shape[0] != n:
        raise ValueError(
            f"y must have one entry per row of X (length {n}); got length {y.shape[0]}."
        )
    return y


def _check_dense(rows: int, cols: int, what: str, instead: str) -> None:
    """Refuse a dense float64 ``rows x cols`` result beyond :data:`MAX_DENSE_BYTES`."""
    need = rows * cols * 8
    if need > MAX_DENSE_BYTES:
        raise ValueError(
            f"{what} would be a dense {rows:,} x {cols:,} matrix of float64: "
            f"{need / 1024**3:.3g} GiB, more than the {MAX_DENSE_BYTES / 1024**3:.3g} "
            f"GiB limit (ngd_lib.models.MAX_DENSE_BYTES). {instead}"
        )


_FISHER_INSTEAD = (
    "Use model.fisher_vector_product(theta, X, v) (or "
    "ngd.curvature.exact(model, X, matrix_free=True), which solves by conjugate "
    "gradients), model.fisher_diagonal, or ngd.curvature.kfac."
)
_GRADS_INSTEAD = (
    "Use model.grad for their mean, model.kfac_blocks for the factored form, or "
    "pass fewer rows of X at a time."
)


def _domain_error(model, what: str, eta: np.ndarray, bad=None) -> ModelDomainError:
    """A :class:`ModelDomainError` that shows the model output where it failed."""
    flat = np.abs(np.asarray(eta, dtype=float)).reshape(eta.shape[0], -1).max(axis=1)
    if bad is not None and np.any(bad):
        row = int(np.flatnonzero(bad)[0])
    else:
        row = int(np.argmax(np.where(np.isnan(flat), np.inf, flat)))
    return ModelDomainError(
        f"{type(model).__name__}: {what} is not finite in float64 at this theta: "
        f"|X @ theta| reaches {flat[row]:.4g} at row {row}. theta (or X) is too "
        "large for this model: start from a smaller theta (e.g. zeros), rescale "
        "the columns of X, or take shorter steps (damping, max_kl)."
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow, accurate in both tails."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(1/n) X^T diag(w) X`` for weights ``w >= 0``, as a symmetric product.

    ``S^T S`` with ``S = sqrt(w) X`` is a BLAS ``syrk`` (half the flops of the general
    ``(X * w).T @ X``). It is accumulated over blocks of rows of about
    ``_CHUNK_BYTES`` so that each scaled block ``S`` stays in cache: at n = 100,000
    and d = 50 this is about 2.5x faster than scaling all of ``X`` at once.
    """
    n, d = X.shape
    root = np.sqrt(w)
    rows = max(64, _CHUNK_BYTES // (8 * d))
    if n <= rows:
        S = X * root[:, None]
        G = S.T @ S
    else:
        G = np.zeros((d, d))
        buffer = np.empty((rows, d))
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            S = buffer[: stop - start]
            np.multiply(X[start:stop], root[start:stop, None], out=S)
            G += S.T @ S
    G /= n
    return (G + G.T) / 2  # exact symmetry, so eigvalsh and Cholesky see the same matrix


def _finite(value) -> bool:
    """All entries finite; one sum instead of an n-sized boolean array."""
    return bool(np.isfinite(np.sum(value))) or bool(np.all(np.isfinite(value)))


# ---------------------------------------------------------------------------
# generalised linear models with canonical link
# ---------------------------------------------------------------------------
class ScalarGLM(ABC):
    r"""Base class of a generalised linear model with canonical link.

    The natural parameter of example ``i`` is :math:`\eta_i = x_i^\top\theta` and

    .. math::

        -\log p(y_i \mid \eta_i) = \frac{A(\eta_i) - y_i \eta_i}{\phi} + c(y_i),

    with log-partition :math:`A`, dispersion :math:`\phi` (``dispersion``, 1 unless
    the subclass sets it) and a constant :math:`c` (``nll_constant``). A subclass
    defines four functions of ``eta`` and one label check:

    ``log_partition(eta)``
        :math:`A(\eta)`;
    ``mean(eta)``
        :math:`A'(\eta) = E[y]`;
    ``variance(eta)``
        :math:`A''(\eta)`, so that :math:`\operatorname{Var}[y] = \phi A''(\eta)`;
    ``sample_response(eta, rng)``
        one draw of :math:`y_i` per entry of ``eta``;
    ``check_labels(y)``
        returns the finite float labels ``y`` or raises ``ValueError`` (default:
        any real ``y``).

    Everything else follows. With residuals :math:`r_i = (A'(\eta_i) - y_i)/\phi`
    and weights :math:`w_i = A''(\eta_i)/\phi = E[r_i^2]`:

    .. math::

        \nabla L = \frac1n X^\top r, \quad g_i = r_i x_i, \quad
        F = H = \frac1n X^\top \operatorname{diag}(w) X,

    the Fisher equal to the Hessian because for a canonical link
    :math:`\partial^2(-\log p)/\partial\eta^2 = A''(\eta)/\phi` does not depend on
    ``y``. ``fisher`` is a symmetric product (BLAS ``syrk``) and K-FAC has one
    block, ``(X, r[:, None])``.

    Optional overrides: ``nll_terms(eta, y)``, a more accurate formula for the same
    per-example loss (logistic and linear regression use one to avoid the
    cancellation in :math:`A(\eta) - y\eta`), and ``nll_constant(y)``.

    Where ``X @ theta`` or the functions of ``eta`` overflow, the methods raise
    :class:`ModelDomainError` rather than return infinity or NaN.

    Examples
    --------
    A Bernoulli GLM written out from its four functions agrees with
    :class:`LogisticRegression`:

    >>> import numpy as np, ngd_lib as ngd
    >>> class Bernoulli(ngd.ScalarGLM):
    ...     def log_partition(self, eta): return np.logaddexp(0.0, eta)
    ...     def mean(self, eta): return 1.0 / (1.0 + np.exp(-eta))
    ...     def variance(self, eta): return self.mean(eta) * self.mean(-eta)
    ...     def sample_response(self, eta, rng):
    ...         return (rng.random(eta.shape) < self.mean(eta)).astype(int)
    >>> X = np.array([[1.0, 0.0], [1.0, 2.0]]); y = np.array([0.0, 1.0])
    >>> theta = np.array([0.3, -0.2])
    >>> bool(np.isclose(Bernoulli().nll(theta, X, y),
    ...                 ngd.LogisticRegression().nll(theta, X, y)))
    True
    >>> bool(np.allclose(Bernoulli().fisher(theta, X),
    ...                  ngd.LogisticRegression().fisher(theta, X)))
    True
    """

    #: See :class:`Model`: True for classifiers with logits linear in theta.
    linear_classifier: ClassVar[bool] = False
    #: The dispersion phi (LinearRegression: its noise variance).
    dispersion: float = 1.0

    # -- what a subclass defines ------------------------------------------------
    @abstractmethod
    def log_partition(self, eta: np.ndarray) -> np.ndarray:
        """The log-partition function ``A(eta)``, elementwise."""

    @abstractmethod
    def mean(self, eta: np.ndarray) -> np.ndarray:
        """``A'(eta) = E[y | eta]``, elementwise."""

    @abstractmethod
    def variance(self, eta: np.ndarray) -> np.ndarray:
        """``A''(eta) = Var[y | eta] / dispersion``, elementwise."""

    @abstractmethod
    def sample_response(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One label ``y_i ~ p(y | eta_i)`` per entry of ``eta``."""

    def check_labels(self, y: np.ndarray) -> np.ndarray:
        """Return the (finite, 1-D) labels ``y`` or raise ``ValueError``."""
        return y

    def nll_constant(self, y: np.ndarray):
        """The part ``c(y)`` of ``-log p(y | eta)`` that does not depend on ``eta``."""
        return 0.0

    def nll_terms(self, eta: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``-log p(y_i | eta_i) = (A(eta_i) - y_i eta_i) / phi + c(y_i)``."""
        natural = (self.log_partition(eta) - y * eta) / self.dispersion
        return natural + self.nll_constant(y)

    # -- checks and shared pieces -------------------------------------------------
    def n_params(self, X) -> int:
        """Number of parameters ``P = d`` (one weight per column of ``X``)."""
        return _check_X(X).shape[1]

    def check_inputs(self, theta, X, y=None):
        """Validated ``(theta, X, y)`` as float arrays (``y`` None if not given)."""
        X = _check_X(X)
        theta = _check_vector(theta, "theta", X.shape[1], "one weight per column of X")
        if y is not None:
            y = self.check_labels(_check_y(y, X.shape[0]))
        return theta, X, y

    def _eta(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        eta = _linear_predictor(theta, X)
        if not _finite(eta):
            raise _domain_error(self, "X @ theta", eta, ~np.isfinite(eta))
        return eta

    def _checked(self, values: np.ndarray, what: str, eta: np.ndarray) -> np.ndarray:
        if not _finite(values):
            bad = ~np.isfinite(values) if values.shape == eta.shape else None
            raise _domain_error(self, what, eta, bad)
        return values

    def _residual(self, eta: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``r = d(-log p)/d eta = (A'(eta) - y) / phi``."""
        with np.errstate(over="ignore", invalid="ignore"):
            r = (self.mean(eta) - y) / self.dispersion
        return self._checked(r, "the residual (mean(eta) - y) / dispersion", eta)

    def _weights(self, eta: np.ndarray) -> np.ndarray:
        """``w = E[r^2] = A''(eta) / phi``."""
        with np.errstate(over="ignore", invalid="ignore"):
            w = self.variance(eta) / self.dispersion
        return self._checked(w, "the Fisher weight variance(eta) / dispersion", eta)

    def _value(self, eta: np.ndarray, y: np.ndarray) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            terms = self.nll_terms(eta, y)
            value = float(np.mean(terms))
        if not math.isfinite(value):
            bad = ~np.isfinite(terms) if np.shape(terms) == eta.shape else None
            raise _domain_error(self, "the negative log-likelihood", eta, bad)
        return value

    def _mean_grad(self, X: np.ndarray, r: np.ndarray, eta) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            g = X.T @ r / X.shape[0]
        return self._checked(g, "the gradient X^T r / n", eta)

    def _gram(self, X, w, eta, what="the Fisher X^T W X / n") -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            G = _weighted_gram(X, w)
        return self._checked(G, what, eta)

    def _check_square(self, X, what: str) -> None:
        P = X.shape[1]
        _check_dense(P, P, f"{what} with P = {P:,} parameters (X has {P:,} columns)",
                     _FISHER_INSTEAD)

    # -- the model ------------------------------------------------------------------
    def predict_mean(self, theta, X) -> np.ndarray:
        """The mean ``E[y | x_i] = A'(x_i^T theta)`` for each row, shape ``(n,)``."""
        theta, X, _ = self.check_inputs(theta, X)
        eta = self._eta(theta, X)
        return self._checked(self.mean(eta), "mean(X @ theta)", eta)

    def nll(self, theta, X, y) -> float:
        """Mean NLL ``(1/n) sum_i -log p(y_i | x_i, theta)``."""
        theta, X, y = self.check_inputs(theta, X, y)
        return self._value(self._eta(theta, X), y)

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, ``X^T r / n``, shape ``(d,)``."""
        theta, X, y = self.check_inputs(theta, X, y)
        eta = self._eta(theta, X)
        return self._mean_grad(X, self._residual(eta, y), eta)

    def nll_and_grad(self, theta, X, y) -> tuple[float, np.ndarray]:
        """``(nll, grad)`` from one ``X @ theta`` and one ``X^T r``."""
        theta, X, y = self.check_inputs(theta, X, y)
        eta = self._eta(theta, X)
        value = self._value(eta, y)
        return value, self._mean_grad(X, self._residual(eta, y), eta)

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Gradients ``g_i = -grad log p(y_i | x_i, theta) = r_i x_i``, shape (n, d).

        Their mean is :meth:`grad`.
        """
        theta, X, y = self.check_inputs(theta, X, y)
        _check_dense(*X.shape, "per_example_grads", _GRADS_INSTEAD)
        eta = self._eta(theta, X)
        return self._residual(eta, y)[:, None] * X

    def fisher(self, theta, X) -> np.ndarray:
        """Exact Fisher ``F = (1/n) sum_i E_y[g g^T] = X^T diag(w) X / n``.

        The expectation over ``y ~ p(y | x_i, theta)`` is done in closed form,
        ``E[r_i^2] = w_i = A''(eta_i) / phi``; the result is ``d x d``, symmetric and
        positive semi-definite.
        """
        theta, X, _ = self.check_inputs(theta, X)
        self._check_square(X, "fisher")
        eta = self._eta(theta, X)
        return self._gram(X, self._weights(eta), eta)

    def hessian(self, theta, X, y) -> np.ndarray:
        """Exact Hessian of the mean NLL, ``(1/n) X^T diag(A''(eta) / phi) X``.

        For a canonical link the second derivative of ``-log p`` in ``eta`` does not
        depend on ``y``, so the Hessian *is* the Fisher (tests check this against
        finite differences of :meth:`grad`).
        """
        theta, X, y = self.check_inputs(theta, X, y)
        self._check_square(X, "hessian")
        eta = self._eta(theta, X)
        return self._gram(X, self._weights(eta), eta, "the Hessian")

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        """``F v = X^T (w * (X v)) / n`` in ``O(n d)``, without forming ``F``."""
        theta, X, _ = self.check_inputs(theta, X)
        v = _check_vector(v, "v", X.shape[1], "one entry per parameter")
        eta = self._eta(theta, X)
        with np.errstate(over="ignore", invalid="ignore"):
            Fv = X.T @ (self._weights(eta) * (X @ v)) / X.shape[0]
        return self._checked(Fv, "F v", eta)

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        """``diag(F)_j = (1/n) sum_i w_i X_ij^2``, without forming ``F``."""
        theta, X, _ = self.check_inputs(theta, X)
        eta = self._eta(theta, X)
        with np.errstate(over="ignore", invalid="ignore"):
            diagonal = np.square(X).T @ self._weights(eta) / X.shape[0]
        return self._checked(diagonal, "diag(F)", eta)

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Labels ``y_i ~ p(y | x_i, theta)``, shape ``(n,)``."""
        theta, X, _ = self.check_inputs(theta, X)
        rng = as_rng(rng)
        return self.sample_response(self._eta(theta, X), rng)

    def kfac_blocks(self, theta, X, y) -> list[tuple[np.ndarray, np.ndarray]]:
        """One Kronecker block: ``[(X, r[:, None])]`` with ``g_i = x_i r_i``."""
        theta, X, y = self.check_inputs(theta, X, y)
        eta = self._eta(theta, X)
        return [(X, self._residual(eta, y)[:, None])]

    def empirical_fisher(self, theta, X, y) -> np.ndarray:
        """Empirical Fisher ``(1/n) sum_i g_i g_i^T`` with the observed labels ``y``.

        Uncentred: this is *not* the covariance of the ``g_i`` (``np.cov`` subtracts
        their mean, the gradient). It is not an estimate of :meth:`fisher` either,
        unless the model is well specified and ``n`` is large (Kunstner et al. 2019).
        """
        theta, X, y = self.check_inputs(theta, X, y)
        self._check_square(X, "empirical_fisher")
        eta = self._eta(theta, X)
        return self._gram(X, self._residual(eta, y) ** 2, eta, "the empirical Fisher")


def _binary_labels_error(y: np.ndarray, bad: np.ndarray) -> ValueError:
    return ValueError(
        f"y must contain only the labels 0 and 1 for logistic regression; got "
        f"{y[bad][:5]} at positions {np.flatnonzero(bad)[:5]}. Map your two classes "
        "to 0 and 1 (e.g. y = (labels == positive_class).astype(int))."
    )


@dataclass(frozen=True)
class LogisticRegression(ScalarGLM):
    r"""Logistic regression ``p(y = 1 | x, theta) = sigmoid(x^T theta)``, y in {0, 1}.

    A :class:`ScalarGLM` with :math:`A(\eta) = \log(1 + e^\eta)`,
    :math:`A' = \sigma(\eta) = p` and :math:`A'' = p(1 - p)`. With
    ``z_i = x_i^T theta`` and ``p_i = sigmoid(z_i)``:

    .. math::

        L(\theta) = \frac1n \sum_i \log(1 + e^{(1 - 2y_i) z_i}), \quad
        g_i = (p_i - y_i)\, x_i, \quad
        F = H = \frac1n X^\top \operatorname{diag}(p_i (1 - p_i)) X.

    The loss is computed in the form above (never overflows, accurate for large
    :math:`|z|`). The empirical Fisher replaces ``p_i (1 - p_i)`` by
    ``(p_i - y_i)^2``. The parameter vector has length ``d``; add a column of ones
    to ``X`` for an intercept.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.LogisticRegression()
    >>> X = np.array([[1.0, 0.0], [1.0, 2.0]]); y = np.array([0, 1])
    >>> model.fisher(np.zeros(2), X)
    array([[0.25, 0.25],
           [0.25, 0.5 ]])
    >>> model.nll(np.array([0.0, 1e5]), X, y)  # log 2 / 2: no overflow at z = 2e5
    0.34657359027997264
    """

    linear_classifier: ClassVar[bool] = True

    def log_partition(self, eta):
        return np.logaddexp(0.0, eta)

    def mean(self, eta):
        return _sigmoid(eta)

    def variance(self, eta):
        e = np.exp(-np.abs(eta))  # p (1 - p) = e / (1 + e)^2, no cancellation
        return e / (1.0 + e) ** 2

    def sample_response(self, eta, rng):
        return (rng.random(eta.shape[0]) < _sigmoid(eta)).astype(int)

    def check_labels(self, y):
        bad = (y != 0.0) & (y != 1.0)
        if np.any(bad):
            raise _binary_labels_error(y, bad)
        return y

    def nll_terms(self, eta, y):
        # A(eta) - y eta = log(1 + exp((1 - 2y) eta)) for y in {0, 1}, without the
        # cancellation of two large numbers
        return np.logaddexp(0.0, (1.0 - 2.0 * y) * eta)

    def predict_proba(self, theta, X) -> np.ndarray:
        """``p(y = 1 | x_i, theta) = sigmoid(x_i^T theta)`` for each row, shape (n,)."""
        return self.predict_mean(theta, X)


@dataclass(frozen=True)
class LinearRegression(ScalarGLM):
    r"""Linear regression with Gaussian noise, ``y | x ~ N(x^T theta, noise_var)``.

    A :class:`ScalarGLM` with :math:`A(\eta) = \eta^2/2`, :math:`A' = \eta`,
    :math:`A'' = 1` and dispersion :math:`\phi = \sigma^2` (``noise_var``, known).
    With residuals ``e_i = y_i - x_i^T theta``:

    .. math::

        L(\theta) = \frac1n \sum_i \Big[\frac{e_i^2}{2\sigma^2}
                    + \tfrac12 \log(2\pi\sigma^2)\Big], \quad
        g_i = -\frac{e_i}{\sigma^2} x_i, \quad
        F = H = \frac{1}{n\sigma^2} X^\top X.

    The Fisher does not depend on ``theta``. The empirical Fisher is
    ``(1/n) sum_i (e_i^2 / sigma^4) x_i x_i^T``: it vanishes where the residuals do.

    Parameters
    ----------
    noise_var : float, optional
        The noise variance ``sigma^2 > 0``.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.LinearRegression(noise_var=0.5)
    >>> model.fisher(np.zeros(1), np.array([[1.0], [3.0]]))
    array([[10.]])
    """

    noise_var: float = 1.0

    def __post_init__(self):
        object.__setattr__(
            self, "noise_var", check_positive(self.noise_var, "noise_var")
        )

    @property
    def dispersion(self) -> float:
        """The dispersion ``phi = noise_var``."""
        return self.noise_var

    def log_partition(self, eta):
        return 0.5 * eta**2

    def mean(self, eta):
        return eta

    def variance(self, eta):
        return np.ones_like(eta)

    def sample_response(self, eta, rng):
        return eta + math.sqrt(self.noise_var) * rng.standard_normal(eta.shape)

    def nll_constant(self, y):
        var = self.noise_var
        return y**2 / (2 * var) + 0.5 * math.log(2 * math.pi * var)

    def nll_terms(self, eta, y):
        # (A(eta) - y eta) / phi + c(y), written as a square (no cancellation)
        return (y - eta) ** 2 / (2 * self.noise_var) + 0.5 * math.log(
            2 * math.pi * self.noise_var
        )


#: numpy's Poisson sampler refuses rates above about 9.2e18.
_POISSON_MAX_RATE = 1e18


@dataclass(frozen=True)
class PoissonRegression(ScalarGLM):
    r"""Poisson regression (log link), ``y | x ~ Poisson(exp(x^T theta))``.

    A :class:`ScalarGLM` with :math:`A(\eta) = A'(\eta) = A''(\eta) = e^\eta`, so
    with rates :math:`\mu_i = e^{x_i^\top\theta}`:

    .. math::

        L(\theta) = \frac1n \sum_i \big[\mu_i - y_i\, x_i^\top\theta + \log y_i!\big],
        \quad g_i = (\mu_i - y_i)\, x_i, \quad
        F = H = \frac1n X^\top \operatorname{diag}(\mu_i) X.

    The class is only the four functions of :class:`ScalarGLM` and a label check;
    the Fisher, its products, per-example gradients, sampling and K-FAC come from the
    base. Labels are counts 0, 1, 2, ... . Where :math:`e^\eta` overflows
    (:math:`\eta > 709.78`) the methods raise :class:`ModelDomainError`.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.PoissonRegression()
    >>> X = np.array([[1.0], [1.0]]); y = np.array([0, 2])
    >>> model.fisher(np.log([3.0]), X)  # the mean rate, 3
    array([[3.]])
    >>> round(model.nll(np.zeros(1), X, y), 6)  # mean of 1 + log 0! and 1 + log 2!
    1.346574
    """

    def log_partition(self, eta):
        return np.exp(eta)

    def mean(self, eta):
        return np.exp(eta)

    def variance(self, eta):
        return np.exp(eta)

    def sample_response(self, eta, rng):
        rate = np.exp(np.minimum(eta, 50.0))  # exact below the sampler's limit
        if np.any(rate > _POISSON_MAX_RATE):
            what = f"sampling (a rate above {_POISSON_MAX_RATE:.0e})"
            raise _domain_error(self, what, eta, rate > _POISSON_MAX_RATE)
        return rng.poisson(rate)

    def check_labels(self, y):
        bad = (y < 0) | (y != np.floor(y))
        if np.any(bad):
            raise ValueError(
                f"y must contain non-negative integer counts for Poisson regression; "
                f"got {y[bad][:5]} at positions {np.flatnonzero(bad)[:5]}. Pass counts "
                "0, 1, 2, ... (round or clip your data, or use LinearRegression for "
                "real-valued targets)."
            )
        return y

    def nll_constant(self, y):
        counts, index = np.unique(y, return_inverse=True)
        return np.array([math.lgamma(c + 1.0) for c in counts])[index.ravel()]


# ---------------------------------------------------------------------------
# softmax regression
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SoftmaxRegression:
    r"""Softmax (multinomial logistic) regression with ``k = n_classes`` classes.

    The flat parameter vector ``theta`` of length ``d k`` holds the weight matrix
    ``W = theta.reshape(d, k)`` (row-major: ``theta[j * k + c] = W[j, c]``, the weight
    of feature ``j`` for class ``c``). With logits ``z_i = W^T x_i`` and probabilities
    ``p_i = softmax(z_i)``:

    .. math::

        L(\theta) = \frac1n \sum_i \big[\operatorname{logsumexp}(z_i) - z_{i, y_i}\big],
        \quad g_i = x_i \otimes (p_i - e_{y_i}),
        \quad F = H = \frac1n \sum_i (x_i x_i^\top) \otimes
                      (\operatorname{diag}(p_i) - p_i p_i^\top).

    All ``k`` classes keep their own weights (no reference class is fixed), so the
    parameterisation is redundant: adding the same vector to every column of ``W``
    leaves ``p`` unchanged. Hence ``F`` is singular, with null vectors
    ``a (x) 1_k`` for every ``a`` in ``R^d``; use damping or a pseudo-inverse when
    solving with it. K-FAC has one block, ``(X, P - onehot(y))``.

    Parameters
    ----------
    n_classes : int
        The number of classes ``k >= 2``; labels are the integers ``0, ..., k - 1``.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.SoftmaxRegression(n_classes=3)
    >>> X = np.ones((1, 1))
    >>> np.round(model.fisher(np.zeros(3), X) * 9, 6)
    array([[ 2., -1., -1.],
           [-1.,  2., -1.],
           [-1., -1.,  2.]])
    """

    n_classes: int
    linear_classifier: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(
            self, "n_classes", check_int(self.n_classes, "n_classes", minimum=2)
        )

    # -- checks and the shared quantities -----------------------------------
    def n_params(self, X) -> int:
        """Number of parameters ``P = d * n_classes``."""
        return _check_X(X).shape[1] * self.n_classes

    def check_inputs(self, theta, X, y=None):
        """Validated ``(theta, X, y)``; ``y`` as integer class labels (or None)."""
        X = _check_X(X)
        theta = _check_vector(
            theta,
            "theta",
            X.shape[1] * self.n_classes,
            f"d * n_classes = {X.shape[1]} * {self.n_classes}, the weight matrix "
            "W of shape (d, n_classes) flattened row-major",
        )
        if y is None:
            return theta, X, None
        y = _check_y(y, X.shape[0])
        bad = (y != np.round(y)) | (y < 0) | (y > self.n_classes - 1)
        if np.any(bad):
            raise ValueError(
                f"y must contain integer class labels 0, ..., {self.n_classes - 1} "
                f"(n_classes={self.n_classes}); got {y[bad][:5]} at positions "
                f"{np.flatnonzero(bad)[:5]}. Encode classes as 0..k-1 (e.g. with "
                "np.unique(labels, return_inverse=True))."
            )
        return theta, X, y.astype(np.intp)

    def _log_probs(self, theta, X) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            logits = X @ theta.reshape(X.shape[1], self.n_classes)
        if not _finite(logits):
            raise _domain_error(self, "the logits X @ W", logits,
                                ~np.all(np.isfinite(logits), axis=1))
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))

    @staticmethod
    def _residual_from(log_probs, y) -> np.ndarray:
        """``p_i - e_{y_i}``, shape ``(n, k)``."""
        residual = np.exp(log_probs)
        residual[np.arange(log_probs.shape[0]), y] -= 1.0
        return residual

    @staticmethod
    def _kron_rows(X, R) -> np.ndarray:
        """Rows ``x_i (x) r_i``, shape ``(n, d k)`` (row-major, as ``theta``)."""
        return (X[:, :, None] * R[:, None, :]).reshape(X.shape[0], -1)

    def _block_diagonal_gram(self, X, Q) -> np.ndarray:
        """``(1/n) sum_i (x_i x_i^T) (x) diag(q_i)`` as a ``(d k, d k)`` matrix."""
        n, d = X.shape
        k = self.n_classes
        blocks = (self._kron_rows(X, Q).T @ X / n).reshape(d, k, d)  # [j, c, l]
        out = np.zeros((d, k, d, k))
        classes = np.arange(k)
        out[:, classes, :, classes] = blocks.transpose(1, 0, 2)  # out[j,c,l,c]
        return out.reshape(d * k, d * k)

    def _check_square(self, X, what: str, *, rows: bool = True) -> None:
        P = X.shape[1] * self.n_classes
        _check_dense(P, P, f"{what} with P = d * n_classes = {P:,} parameters",
                     _FISHER_INSTEAD)
        if rows:  # the n x P matrix of rows x_i (x) p_i it is built from
            _check_dense(X.shape[0], P, f"{what} (its n x P intermediate)",
                         "Pass fewer rows of X, or use model.fisher_vector_product.")

    # -- public API ------------------------------------------------------------
    def predict_proba(self, theta, X) -> np.ndarray:
        """Class probabilities ``softmax(W^T x_i)``, shape ``(n, n_classes)``."""
        theta, X, _ = self.check_inputs(theta, X)
        return np.exp(self._log_probs(theta, X))

    def nll(self, theta, X, y) -> float:
        """Mean NLL ``(1/n) sum_i -log p_{i, y_i}`` (stable log-sum-exp)."""
        theta, X, y = self.check_inputs(theta, X, y)
        log_probs = self._log_probs(theta, X)
        return float(-np.mean(log_probs[np.arange(X.shape[0]), y]))

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, ``vec(X^T (P - Y) / n)``, shape ``(d k,)``."""
        return self.nll_and_grad(theta, X, y)[1]

    def nll_and_grad(self, theta, X, y) -> tuple[float, np.ndarray]:
        """``(nll, grad)`` from one ``X @ W``."""
        theta, X, y = self.check_inputs(theta, X, y)
        log_probs = self._log_probs(theta, X)
        value = float(-np.mean(log_probs[np.arange(X.shape[0]), y]))
        residual = self._residual_from(log_probs, y)
        return value, (X.T @ residual / X.shape[0]).ravel()

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Gradients ``g_i = x_i (x) (p_i - e_{y_i})``, shape ``(n, d k)``."""
        theta, X, y = self.check_inputs(theta, X, y)
        _check_dense(X.shape[0], X.shape[1] * self.n_classes, "per_example_grads",
                     _GRADS_INSTEAD)
        return self._kron_rows(X, self._residual_from(self._log_probs(theta, X), y))

    def kfac_blocks(self, theta, X, y) -> list[tuple[np.ndarray, np.ndarray]]:
        """One Kronecker block: ``[(X, P - onehot(y))]`` with ``g_i = x_i (x) r_i``."""
        theta, X, y = self.check_inputs(theta, X, y)
        return [(X, self._residual_from(self._log_probs(theta, X), y))]

    def fisher(self, theta, X) -> np.ndarray:
        """Exact Fisher ``(1/n) sum_i (x_i x_i^T) (x) (diag(p_i) - p_i p_i^T)``.

        Computed as a block-diagonal term minus ``Z^T Z / n`` with rows
        ``z_i = x_i (x) p_i``; shape ``(d k, d k)``, symmetric, positive
        semi-definite and singular (see the class docstring).
        """
        theta, X, _ = self.check_inputs(theta, X)
        self._check_square(X, "fisher")
        P = np.exp(self._log_probs(theta, X))
        Z = self._kron_rows(X, P)
        F = self._block_diagonal_gram(X, P) - Z.T @ Z / X.shape[0]
        return (F + F.T) / 2

    def hessian(self, theta, X, y) -> np.ndarray:
        """Exact Hessian of the mean NLL; equal to :meth:`fisher` (canonical link).

        The Hessian of ``logsumexp(z) - z_y`` in ``z`` is ``diag(p) - p p^T`` whatever
        ``y`` is, so the chain rule gives the Fisher's formula.
        """
        theta, X, y = self.check_inputs(theta, X, y)
        return self.fisher(theta, X)

    def empirical_fisher(self, theta, X, y) -> np.ndarray:
        """Empirical Fisher ``(1/n) sum_i g_i g_i^T`` (uncentred, observed labels)."""
        theta, X, y = self.check_inputs(theta, X, y)
        self._check_square(X, "empirical_fisher")
        G = self.per_example_grads(theta, X, y)
        EF = G.T @ G / G.shape[0]
        return (EF + EF.T) / 2

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        """``F v`` in ``O(n d k)`` without forming ``F``.

        With ``U = X V`` (``V = v.reshape(d, k)``), each row ``u_i`` is multiplied by
        ``diag(p_i) - p_i p_i^T``, then ``X^T (.) / n`` maps back.
        """
        theta, X, _ = self.check_inputs(theta, X)
        d, k = X.shape[1], self.n_classes
        v = _check_vector(v, "v", d * k, "one entry per parameter, d * n_classes")
        P = np.exp(self._log_probs(theta, X))
        U = X @ v.reshape(d, k)
        Q = P * U - P * np.sum(P * U, axis=1, keepdims=True)
        return (X.T @ Q / X.shape[0]).ravel()

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        """``diag(F)`` entries ``(1/n) sum_i X_ij^2 p_ic (1 - p_ic)``, shape (d k,)."""
        theta, X, _ = self.check_inputs(theta, X)
        P = np.exp(self._log_probs(theta, X))
        return (np.square(X).T @ (P * (1.0 - P)) / X.shape[0]).ravel()

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Labels ``y_i ~ Categorical(p_i)`` (inverse-CDF), integers, shape ``(n,)``."""
        P = self.predict_proba(theta, X)
        u = as_rng(rng).random((P.shape[0], 1))
        labels = np.sum(np.cumsum(P, axis=1) < u, axis=1)
        return np.minimum(labels, self.n_classes - 1)


# ---------------------------------------------------------------------------
# a Gaussian with fitted mean and scale
# ---------------------------------------------------------------------------
_PARAMETERIZATIONS = ("log_std", "std")
#: sigma must lie in [_SIGMA_MIN, _SIGMA_MAX] so that sigma^4 and 1/sigma^4 (the
#: Hessian) are normal float64 numbers.
_SIGMA_MIN, _SIGMA_MAX = 1e-75, 1e75


@dataclass(frozen=True)
class GaussianRegression:
    r"""``y | x ~ N(x^T w, sigma^2)`` with ``theta = (w, log sigma)`` or ``(w, sigma)``.

    With ``X`` a column of ones this is fitting a Gaussian's :math:`(\mu, \sigma)` by
    maximum likelihood, chapter 5's example of a model whose Fisher is not its
    Hessian (the scale is not a natural parameter) and whose conditioning depends on
    the parameterisation. With residuals :math:`e_i = y_i - x_i^\top w`, the mean
    negative log-likelihood is

    .. math::

        L(\theta) = \frac1n\sum_i \Big[\tfrac12\log(2\pi) + \log\sigma
                    + \frac{e_i^2}{2\sigma^2}\Big],

    and the Fisher, block-diagonal because odd moments of :math:`e` vanish, is

    .. math::

        F = \begin{pmatrix} X^\top X/(n\sigma^2) & 0 \\ 0 & c \end{pmatrix},
        \qquad c = 2 \text{ for } \log\sigma, \quad c = 2/\sigma^2 \text{ for }
        \sigma.

    In :math:`(w, \log\sigma)` the ratio of the two curvatures, hence gradient
    descent's condition number, changes with the data's scale :math:`\sigma`;
    natural gradient descent does not see the difference (Amari 1998). The Hessian
    equals ``F`` only at the maximum-likelihood estimate. K-FAC has two blocks: the
    weights ``(X, -e / sigma^2)`` and the scale ``(1, d(-log p)/d scale)``.

    Parameters
    ----------
    parameterization : {"log_std", "std"}
        The last entry of ``theta``: :math:`\log\sigma` (any real) or :math:`\sigma`
        (> 0).

    Raises
    ------
    ModelDomainError
        From every method but :meth:`nll` when :math:`\sigma \le 0` (``"std"``;
        :meth:`nll` returns ``inf`` there, so line searches reject the step), and
        when :math:`\sigma` is outside ``[1e-75, 1e75]`` (``|log sigma| > 172.7``),
        where its powers leave the float range.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.GaussianRegression("std")
    >>> X = np.ones((4, 1)); y = np.array([1.0, 2.0, 3.0, 4.0])
    >>> theta = model.mle(X, y); np.round(theta, 4)
    array([2.5  , 1.118])
    >>> np.round(model.fisher(theta, X), 4)
    array([[0.8, 0. ],
           [0. , 1.6]])
    """

    parameterization: str = "log_std"

    def __post_init__(self):
        check_choice(self.parameterization, "parameterization", _PARAMETERIZATIONS)

    # -- checks and shared pieces -------------------------------------------------
    def n_params(self, X) -> int:
        """``d + 1``: the weights and the scale."""
        return _check_X(X).shape[1] + 1

    def check_inputs(self, theta, X, y=None):
        """Validated ``(theta, X, y)`` as float arrays (``y`` None if not given)."""
        X = _check_X(X)
        theta = _check_vector(theta, "theta", X.shape[1] + 1,
                              "one weight per column of X, then the scale")
        if y is not None:
            y = _check_y(y, X.shape[0])
        return theta, X, y

    def _sigma(self, theta: np.ndarray) -> float:
        s = float(theta[-1])
        if self.parameterization == "log_std":
            if not math.log(_SIGMA_MIN) <= s <= math.log(_SIGMA_MAX):
                raise ModelDomainError(
                    f"log sigma = theta[-1] must be within "
                    f"+-{math.log(_SIGMA_MAX):.4g} "
                    f"(sigma in [{_SIGMA_MIN:g}, {_SIGMA_MAX:g}], where its powers are "
                    f"finite floats); got theta[-1] = {s!r}. Start from log(std(y)) "
                    "or take shorter steps."
                )
            return math.exp(s)
        if s <= 0:
            raise ModelDomainError(
                f"sigma = theta[-1] must be > 0 with parameterization='std'; got "
                f"{s!r}. Start from a positive scale, or use 'log_std'."
            )
        if not _SIGMA_MIN <= s <= _SIGMA_MAX:
            raise ModelDomainError(
                f"sigma = theta[-1] must be within [{_SIGMA_MIN:g}, {_SIGMA_MAX:g}] "
                f"(where its powers are finite floats); got {s!r}. Rescale y, or "
                "start from std(y)."
            )
        return s

    def _residuals(self, theta, X, y, *, checked: bool = False):
        if not checked:
            theta, X, y = self.check_inputs(theta, X, y)
        sigma = self._sigma(theta)
        with np.errstate(over="ignore", invalid="ignore"):
            e = y - X @ theta[:-1]
            scaled = e / sigma
            ok = _finite(scaled * scaled)
        if not ok:
            raise ModelDomainError(
                f"the scaled residuals (y - X w) / sigma overflow float64 when squared "
                f"(largest |e| = {np.nanmax(np.abs(e)):.4g}, sigma = {sigma:.4g}). "
                "Rescale y and X, or start from the least-squares fit (model.mle)."
            )
        return X, e, sigma

    def _scale_fisher(self, sigma: float) -> float:
        return 2.0 if self.parameterization == "log_std" else 2.0 / sigma**2

    def _scale_grads(self, e: np.ndarray, sigma: float) -> np.ndarray:
        """Per-example ``d(-log p)/d scale``."""
        if self.parameterization == "log_std":
            return 1.0 - (e / sigma) ** 2
        return 1.0 / sigma - (e / sigma) ** 2 / sigma

    # -- the model ----------------------------------------------------------------
    def mle(self, X, y) -> np.ndarray:
        """The maximum-likelihood ``theta``: least squares, ``sigma^2 = mean(e^2)``.

        Raises ``ValueError`` when the least-squares fit is exact (``sigma = 0``: no
        maximum exists, the likelihood grows without bound as ``sigma -> 0``).
        """
        X = _check_X(X)
        y = _check_y(y, X.shape[0])
        w = np.linalg.lstsq(X, y, rcond=None)[0]
        sigma = math.sqrt(float(np.mean((y - X @ w) ** 2)))
        if sigma <= 1e-14 * float(np.max(np.abs(y))):
            raise ValueError(
                f"y is fitted exactly by X w (residual rms {sigma:.3g}), so the "
                "maximum-likelihood sigma is 0 and the likelihood has no maximum. "
                "Use data with noise, or fewer columns in X than distinct rows."
            )
        if not _SIGMA_MIN <= sigma <= _SIGMA_MAX:
            raise ValueError(
                f"the maximum-likelihood sigma of y is {sigma:.3g}, outside "
                f"[{_SIGMA_MIN:g}, {_SIGMA_MAX:g}] where its powers are finite floats. "
                "Rescale y (e.g. y / np.std(y)) and refit."
            )
        scale = math.log(sigma) if self.parameterization == "log_std" else sigma
        return np.append(w, scale)

    def nll(self, theta, X, y) -> float:
        """Mean NLL; ``inf`` when ``sigma <= 0`` in the ``"std"`` parameterisation."""
        theta, X, y = self.check_inputs(theta, X, y)
        if self.parameterization == "std" and theta[-1] <= 0:
            return math.inf
        X, e, sigma = self._residuals(theta, X, y, checked=True)
        return float(0.5 * math.log(2 * math.pi) + math.log(sigma)
                     + np.mean((e / sigma) ** 2) / 2)

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Rows ``g_i = -grad log p(y_i | x_i)``: ``(-e_i x_i / sigma^2, ds_i)``."""
        X, e, sigma = self._residuals(theta, X, y)
        _check_dense(X.shape[0], X.shape[1] + 1, "per_example_grads", _GRADS_INSTEAD)
        return np.column_stack([-(e / sigma**2)[:, None] * X,
                                self._scale_grads(e, sigma)])

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, the mean of :meth:`per_example_grads`."""
        return self.nll_and_grad(theta, X, y)[1]

    def nll_and_grad(self, theta, X, y) -> tuple[float, np.ndarray]:
        """``(nll, grad)`` from one ``X @ w``."""
        X, e, sigma = self._residuals(theta, X, y)
        value = float(0.5 * math.log(2 * math.pi) + math.log(sigma)
                      + np.mean((e / sigma) ** 2) / 2)
        g = np.append(-X.T @ e / (X.shape[0] * sigma**2),
                      np.mean(self._scale_grads(e, sigma)))
        return value, g

    def kfac_blocks(self, theta, X, y) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two blocks: ``(X, -e / sigma^2)`` for ``w`` and ``(1, ds)`` for the scale."""
        X, e, sigma = self._residuals(theta, X, y)
        return [(X, -(e / sigma**2)[:, None]),
                (np.ones((X.shape[0], 1)), self._scale_grads(e, sigma)[:, None])]

    def _check_square(self, X, what: str) -> None:
        P = X.shape[1] + 1
        _check_dense(P, P, f"{what} with P = d + 1 = {P:,} parameters",
                     _FISHER_INSTEAD)

    def fisher(self, theta, X) -> np.ndarray:
        """Exact Fisher ``diag-block(X^T X / (n sigma^2), c)`` (see the class)."""
        theta, X, _ = self.check_inputs(theta, X)
        self._check_square(X, "fisher")
        sigma = self._sigma(theta)
        d = X.shape[1]
        F = np.zeros((d + 1, d + 1))
        F[:d, :d] = _weighted_gram(X, np.full(X.shape[0], sigma**-2))
        F[d, d] = self._scale_fisher(sigma)
        return F

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        """``F v`` without forming ``F``, ``O(n d)``."""
        theta, X, _ = self.check_inputs(theta, X)
        sigma = self._sigma(theta)
        v = _check_vector(v, "v", X.shape[1] + 1, "one entry per parameter, d + 1")
        top = X.T @ (X @ v[:-1]) / (X.shape[0] * sigma**2)
        return np.append(top, self._scale_fisher(sigma) * v[-1])

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        """``diag(F)``: ``mean(X_j^2) / sigma^2`` and ``c``."""
        theta, X, _ = self.check_inputs(theta, X)
        sigma = self._sigma(theta)
        return np.append(np.mean(np.square(X), axis=0) / sigma**2,
                         self._scale_fisher(sigma))

    def empirical_fisher(self, theta, X, y) -> np.ndarray:
        """``(1/n) sum_i g_i g_i^T`` with the observed targets (uncentred)."""
        _, X, _ = self.check_inputs(theta, X, y)
        self._check_square(X, "empirical_fisher")
        G = self.per_example_grads(theta, X, y)
        EF = G.T @ G / G.shape[0]
        return (EF + EF.T) / 2

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Targets ``x_i^T w + sigma eps_i``, shape ``(n,)``."""
        theta, X, _ = self.check_inputs(theta, X)
        sigma = self._sigma(theta)
        return X @ theta[:-1] + sigma * as_rng(rng).standard_normal(X.shape[0])

    def hessian(self, theta, X, y) -> np.ndarray:
        """Exact Hessian of the mean NLL (not :meth:`fisher` away from the MLE)."""
        X, e, sigma = self._residuals(theta, X, y)
        self._check_square(X, "hessian")
        n, d = X.shape
        H = np.zeros((d + 1, d + 1))
        H[:d, :d] = _weighted_gram(X, np.full(n, sigma**-2))
        if self.parameterization == "log_std":
            cross = 2.0 * X.T @ e / (n * sigma**2)
            H[d, d] = 2.0 * np.mean((e / sigma) ** 2)
        else:
            cross = 2.0 * X.T @ e / (n * sigma**3)
            H[d, d] = -1.0 / sigma**2 + 3.0 * np.mean((e / sigma) ** 2) / sigma**2
        H[:d, d] = H[d, :d] = cross
        return H
