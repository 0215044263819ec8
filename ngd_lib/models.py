"""Models p(y | x, theta) and their Fisher information matrices.

Three generalised linear models with canonical links, each a small frozen dataclass:

* :class:`LogisticRegression`: ``p(y=1 | x, theta) = sigmoid(x^T theta)``, y in {0, 1};
* :class:`LinearRegression`: ``y | x ~ N(x^T theta, noise_var)``;
* :class:`SoftmaxRegression`: ``p(y=c | x, theta) = softmax(W^T x)_c``, y in 0..k-1.

Every model has the same methods, with ``theta`` a flat 1-D parameter vector, ``X`` an
``n x d`` design matrix (one row per example, no implicit bias column) and ``y`` a 1-D
vector of ``n`` targets:

``nll(theta, X, y)``
    the mean negative log-likelihood ``L = -(1/n) sum_i log p(y_i | x_i, theta)``;
``grad``, ``hessian``
    its gradient and exact Hessian;
``per_example_grads``
    the ``n x P`` matrix whose row ``i`` is ``g_i = -grad log p(y_i | x_i, theta)``;
``fisher``
    the exact Fisher ``F = (1/n) sum_i E_{y ~ p(y|x_i,theta)}[g g^T]`` in closed form;
``empirical_fisher``
    the (uncentred) empirical Fisher ``(1/n) sum_i g_i g_i^T`` with the observed labels;
``monte_carlo_fisher``
    ``F`` estimated with labels sampled from the model;
``fisher_vector_product``, ``fisher_diagonal``
    ``F v`` and ``diag(F)`` without forming the ``P x P`` matrix;
``n_params``, ``sample``
    the number ``P`` of parameters for a given ``X``, and labels drawn from the model.

All three models write the per-example gradient as ``g_i = x_i (x) r_i``, a Kronecker
product of the input with an *output residual* ``r_i`` (a scalar, or a k-vector for
softmax). Then every Fisher is ``(1/n) sum_i (x_i x_i^T) (x) Lambda_i`` with an output
matrix ``Lambda_i``: ``E[r r^T]`` for the exact Fisher, ``r_i r_i^T`` for the empirical
one. For these canonical-link models ``E[r r^T]`` equals the second derivative of
``-log p`` in the model output, which is why the exact Fisher equals the Hessian of the
NLL (Martens 2020, sec. 9.2; Kunstner, Balles & Hennig 2019, Prop. 1).

References
----------
Martens, J. (2020). New insights and perspectives on the natural gradient method.
JMLR 21(146). Kunstner, F., Balles, L. & Hennig, P. (2019). Limitations of the empirical
Fisher approximation for natural gradient descent. NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ngd_lib._validation import as_float_array, as_rng, check_int, check_positive

__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression"]


# ---------------------------------------------------------------------------
# input checks shared by the models
# ---------------------------------------------------------------------------
def _check_X(X) -> np.ndarray:
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"X must have at least one row (example) and one column (feature); got "
            f"shape {X.shape}."
        )
    return X


def _check_vector(value, name: str, size: int, what: str) -> np.ndarray:
    arr = as_float_array(value, name, ndim=1)
    if arr.shape[0] != size:
        raise ValueError(
            f"{name} must have length {size} ({what}); got length {arr.shape[0]}."
        )
    return arr


def _check_y_length(y: np.ndarray, n: int) -> None:
    if y.shape[0] != n:
        raise ValueError(
            f"y must have one entry per row of X (length {n}); got length {y.shape[0]}."
        )


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log sigmoid(z) = -log(1 + exp(-z))``, without overflow."""
    return -np.logaddexp(0.0, -z)


def _weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(1/n) X^T diag(w) X``, the Fisher of a scalar-output model with weights w."""
    # S^T S with S = sqrt(w) X is a symmetric product (BLAS syrk), about half the
    # cost of the general (X * w).T @ X; every caller has w >= 0.
    S = X * np.sqrt(w)[:, None]
    G = S.T @ S / X.shape[0]
    return (G + G.T) / 2  # exact symmetry, so eigvalsh and Cholesky see the same matrix


class _ScalarOutputModel:
    """Shared methods of the models with one output per example.

    A subclass supplies ``_validate(theta, X, y)``, ``_residual(theta, X, y)`` (the
    derivative ``r_i`` of ``-log p(y_i | x_i)`` in the output ``z_i = x_i^T theta``),
    ``_output_fisher(theta, X)`` (``E[r_i^2] = -d^2/dz^2 log p``) and
    ``_monte_carlo_weights(theta, X, n_samples, rng)`` (the average of ``r^2`` over
    sampled labels). Then ``g_i = r_i x_i`` and ``F = (1/n) X^T diag(E[r^2]) X``.
    """

    def n_params(self, X) -> int:
        """Number of parameters ``P = d`` (one weight per column of ``X``)."""
        return _check_X(X).shape[1]

    def _check_theta_X(self, theta, X) -> tuple[np.ndarray, np.ndarray]:
        X = _check_X(X)
        theta = _check_vector(theta, "theta", X.shape[1], "one weight per column of X")
        return theta, X

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, ``(1/n) sum_i r_i x_i = X^T r / n``, shape (d,)."""
        theta, X, y = self._validate(theta, X, y)
        return X.T @ self._residual(theta, X, y) / X.shape[0]

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Gradients ``g_i = -grad log p(y_i | x_i, theta) = r_i x_i``, shape (n, d).

        Their mean is :meth:`grad`.
        """
        theta, X, y = self._validate(theta, X, y)
        return self._residual(theta, X, y)[:, None] * X

    def fisher(self, theta, X) -> np.ndarray:
        """Exact Fisher ``F = (1/n) sum_i E_y[g g^T] = X^T diag(E[r^2]) X / n``.

        The expectation over ``y ~ p(y | x_i, theta)`` is done in closed form; the
        result is ``d x d``, symmetric and positive semi-definite.
        """
        theta, X = self._check_theta_X(theta, X)
        return _weighted_gram(X, self._output_fisher(theta, X))

    def hessian(self, theta, X, y) -> np.ndarray:
        """Exact Hessian of the mean NLL, ``(1/n) X^T diag(d^2(-log p)/dz^2) X``.

        For a canonical link the second derivative of ``-log p`` in ``z = x^T theta``
        does not depend on ``y`` and equals ``E[r^2]``, so the Hessian *is* the Fisher
        (tests check this against finite differences of :meth:`grad`).
        """
        theta, X, y = self._validate(theta, X, y)
        return _weighted_gram(X, self._output_fisher(theta, X))

    def empirical_fisher(self, theta, X, y) -> np.ndarray:
        """Empirical Fisher ``(1/n) sum_i g_i g_i^T`` with the observed labels ``y``.

        Uncentred: this is *not* the covariance of the ``g_i`` (``np.cov`` subtracts
        their mean, the gradient). It is not an estimate of :meth:`fisher` either,
        unless the model is well specified and ``n`` is large (Kunstner et al. 2019).
        """
        theta, X, y = self._validate(theta, X, y)
        return _weighted_gram(X, self._residual(theta, X, y) ** 2)

    def monte_carlo_fisher(
        self, theta, X, *, n_samples: int = 1, rng=None
    ) -> np.ndarray:
        """Monte-Carlo Fisher: the mean of ``g g^T`` over labels drawn from the model.

        ``(1/(n S)) sum_i sum_s g_is g_is^T`` with ``S = n_samples`` labels
        ``y_is ~ p(y | x_i, theta)`` for every ``x_i``. Because
        ``g_is g_is^T = r_is^2 x_i x_i^T``, only the average of ``r_is^2`` over the
        ``S`` draws matters; it is drawn directly from its exact distribution (a
        binomial count for logistic, a chi-square for linear regression), so the cost
        does not grow with ``S``. The estimate is unbiased and its error shrinks like
        ``1/sqrt(n S)``.

        Parameters
        ----------
        theta : array_like, shape (d,)
        X : array_like, shape (n, d)
        n_samples : int, optional
            Labels sampled per example (``>= 1``).
        rng : None, int or numpy.random.Generator, optional
            Source of randomness; pass a seeded Generator for reproducible results.
        """
        theta, X = self._check_theta_X(theta, X)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        weights = self._monte_carlo_weights(theta, X, n_samples, as_rng(rng))
        return _weighted_gram(X, weights)

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        """``F v = X^T (E[r^2] * (X v)) / n`` in ``O(n d)``, without forming ``F``."""
        theta, X = self._check_theta_X(theta, X)
        v = _check_vector(v, "v", X.shape[1], "one entry per parameter")
        return X.T @ (self._output_fisher(theta, X) * (X @ v)) / X.shape[0]

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        """``diag(F)_j = (1/n) sum_i E[r_i^2] X_ij^2``, without forming ``F``."""
        theta, X = self._check_theta_X(theta, X)
        return (X**2).T @ self._output_fisher(theta, X) / X.shape[0]


@dataclass(frozen=True)
class LogisticRegression(_ScalarOutputModel):
    r"""Logistic regression ``p(y = 1 | x, theta) = sigmoid(x^T theta)``, y in {0, 1}.

    With ``z_i = x_i^T theta`` and ``p_i = sigmoid(z_i)``:

    .. math::

        L(\theta) = \frac1n \sum_i \log(1 + e^{(1 - 2y_i) z_i}), \quad
        g_i = (p_i - y_i)\, x_i, \quad
        F = H = \frac1n X^\top \operatorname{diag}(p_i (1 - p_i)) X.

    The empirical Fisher replaces ``p_i (1 - p_i)`` by ``(p_i - y_i)^2``. The parameter
    vector has length ``d``; add a column of ones to ``X`` for an intercept.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.LogisticRegression()
    >>> X = np.array([[1.0, 0.0], [1.0, 2.0]]); y = np.array([0, 1])
    >>> model.fisher(np.zeros(2), X)
    array([[0.25, 0.25],
           [0.25, 0.5 ]])
    """

    def _validate(self, theta, X, y):
        theta, X = self._check_theta_X(theta, X)
        y = as_float_array(y, "y", ndim=1)
        _check_y_length(y, X.shape[0])
        bad = ~np.isin(y, (0.0, 1.0))
        if np.any(bad):
            raise ValueError(
                f"y must contain only the labels 0 and 1 for logistic regression; got "
                f"{y[bad][:5]} at positions {np.flatnonzero(bad)[:5]}. Map your two "
                "classes to 0 and 1 (e.g. y = (labels == positive_class))."
            )
        return theta, X, y

    def predict_proba(self, theta, X) -> np.ndarray:
        """``p(y = 1 | x_i, theta) = sigmoid(x_i^T theta)`` for each row, shape (n,)."""
        theta, X = self._check_theta_X(theta, X)
        return np.exp(_log_sigmoid(X @ theta))

    def nll(self, theta, X, y) -> float:
        """Mean NLL ``(1/n) sum_i log(1 + exp((1 - 2 y_i) z_i))`` (stable log1p-exp)."""
        theta, X, y = self._validate(theta, X, y)
        return float(np.mean(np.logaddexp(0.0, (1.0 - 2.0 * y) * (X @ theta))))

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Labels ``y_i ~ Bernoulli(p_i)``, integers 0 or 1, shape (n,)."""
        p = self.predict_proba(theta, X)
        return (as_rng(rng).random(p.shape[0]) < p).astype(int)

    def _residual(self, theta, X, y):
        return np.exp(_log_sigmoid(X @ theta)) - y

    def _output_fisher(self, theta, X):
        z = X @ theta
        # p (1 - p) = sigmoid(z) sigmoid(-z), in logs to avoid 1 - p cancelling.
        return np.exp(_log_sigmoid(z) + _log_sigmoid(-z))

    def _monte_carlo_weights(self, theta, X, n_samples, rng):
        p = np.exp(_log_sigmoid(X @ theta))
        ones = rng.binomial(n_samples, p) / n_samples  # fraction of sampled y = 1
        return ones * (1.0 - p) ** 2 + (1.0 - ones) * p**2


@dataclass(frozen=True)
class LinearRegression(_ScalarOutputModel):
    r"""Linear regression with Gaussian noise, ``y | x ~ N(x^T theta, noise_var)``.

    With residuals ``e_i = y_i - x_i^T theta`` and ``sigma^2 = noise_var`` (known):

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

    def _validate(self, theta, X, y):
        theta, X = self._check_theta_X(theta, X)
        y = as_float_array(y, "y", ndim=1)
        _check_y_length(y, X.shape[0])
        return theta, X, y

    def predict_mean(self, theta, X) -> np.ndarray:
        """The mean ``E[y | x_i] = x_i^T theta`` for each row, shape ``(n,)``."""
        theta, X = self._check_theta_X(theta, X)
        return X @ theta

    def nll(self, theta, X, y) -> float:
        """Mean NLL ``(1/n) sum_i e_i^2 / (2 sigma^2) + log(2 pi sigma^2) / 2``."""
        theta, X, y = self._validate(theta, X, y)
        residuals = y - X @ theta
        return float(
            np.mean(residuals**2) / (2 * self.noise_var)
            + 0.5 * np.log(2 * np.pi * self.noise_var)
        )

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Targets ``y_i = x_i^T theta + sqrt(noise_var) * eps_i``, shape ``(n,)``."""
        mean = self.predict_mean(theta, X)
        return mean + np.sqrt(self.noise_var) * as_rng(rng).standard_normal(mean.shape)

    def _residual(self, theta, X, y):
        return (X @ theta - y) / self.noise_var

    def _output_fisher(self, theta, X):
        return np.full(X.shape[0], 1.0 / self.noise_var)

    def _monte_carlo_weights(self, theta, X, n_samples, rng):
        # r = -sigma eps / sigma^2: the mean of r^2 over S draws is chi2_S / (S sigma^2)
        return rng.chisquare(n_samples, size=X.shape[0]) / (n_samples * self.noise_var)


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
    solving with it.

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

    def __post_init__(self):
        object.__setattr__(
            self, "n_classes", check_int(self.n_classes, "n_classes", minimum=2)
        )

    # -- checks and the shared quantities -----------------------------------
    def n_params(self, X) -> int:
        """Number of parameters ``P = d * n_classes``."""
        return _check_X(X).shape[1] * self.n_classes

    def _check_theta_X(self, theta, X):
        X = _check_X(X)
        theta = _check_vector(
            theta,
            "theta",
            X.shape[1] * self.n_classes,
            f"d * n_classes = {X.shape[1]} * {self.n_classes}, the weight matrix "
            "W of shape (d, n_classes) flattened row-major",
        )
        return theta, X

    def _validate(self, theta, X, y):
        theta, X = self._check_theta_X(theta, X)
        y = as_float_array(y, "y", ndim=1)
        _check_y_length(y, X.shape[0])
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
        logits = X @ theta.reshape(X.shape[1], self.n_classes)
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))

    def _residual(self, theta, X, y) -> np.ndarray:
        """``p_i - e_{y_i}``, shape ``(n, k)``."""
        residual = np.exp(self._log_probs(theta, X))
        residual[np.arange(X.shape[0]), y] -= 1.0
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

    # -- public API ------------------------------------------------------------
    def predict_proba(self, theta, X) -> np.ndarray:
        """Class probabilities ``softmax(W^T x_i)``, shape ``(n, n_classes)``."""
        theta, X = self._check_theta_X(theta, X)
        return np.exp(self._log_probs(theta, X))

    def nll(self, theta, X, y) -> float:
        """Mean NLL ``(1/n) sum_i -log p_{i, y_i}`` (stable log-sum-exp)."""
        theta, X, y = self._validate(theta, X, y)
        log_probs = self._log_probs(theta, X)
        return float(-np.mean(log_probs[np.arange(X.shape[0]), y]))

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, ``vec(X^T (P - Y) / n)``, shape ``(d k,)``."""
        theta, X, y = self._validate(theta, X, y)
        return (X.T @ self._residual(theta, X, y) / X.shape[0]).ravel()

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Gradients ``g_i = x_i (x) (p_i - e_{y_i})``, shape ``(n, d k)``."""
        theta, X, y = self._validate(theta, X, y)
        return self._kron_rows(X, self._residual(theta, X, y))

    def fisher(self, theta, X) -> np.ndarray:
        """Exact Fisher ``(1/n) sum_i (x_i x_i^T) (x) (diag(p_i) - p_i p_i^T)``.

        Computed as a block-diagonal term minus ``Z^T Z / n`` with rows
        ``z_i = x_i (x) p_i``; shape ``(d k, d k)``, symmetric, positive
        semi-definite and singular (see the class docstring).
        """
        theta, X = self._check_theta_X(theta, X)
        P = np.exp(self._log_probs(theta, X))
        Z = self._kron_rows(X, P)
        F = self._block_diagonal_gram(X, P) - Z.T @ Z / X.shape[0]
        return (F + F.T) / 2

    def hessian(self, theta, X, y) -> np.ndarray:
        """Exact Hessian of the mean NLL; equal to :meth:`fisher` (canonical link).

        The Hessian of ``logsumexp(z) - z_y`` in ``z`` is ``diag(p) - p p^T`` whatever
        ``y`` is, so the chain rule gives the Fisher's formula.
        """
        theta, X, y = self._validate(theta, X, y)
        return self.fisher(theta, X)

    def empirical_fisher(self, theta, X, y) -> np.ndarray:
        """Empirical Fisher ``(1/n) sum_i g_i g_i^T`` (uncentred, observed labels)."""
        G = self.per_example_grads(theta, X, y)
        EF = G.T @ G / G.shape[0]
        return (EF + EF.T) / 2

    def monte_carlo_fisher(
        self, theta, X, *, n_samples: int = 1, rng=None
    ) -> np.ndarray:
        """Monte-Carlo Fisher with ``S = n_samples`` labels per example from the model.

        ``(1/(n S)) sum_i sum_s g_is g_is^T`` with ``g_is = x_i (x) (p_i - e_{y_is})``.
        Averaged over the draws, ``(p - e_y)(p - e_y)^T`` only depends on the class
        frequencies ``c_i`` of the ``S`` draws:
        ``diag(c_i) - p_i c_i^T - c_i p_i^T + p_i p_i^T``; ``c_i`` is drawn from its
        exact (multinomial) distribution, so the cost does not grow with ``S``.
        """
        theta, X = self._check_theta_X(theta, X)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        P = np.exp(self._log_probs(theta, X))
        P = P / P.sum(axis=1, keepdims=True)  # multinomial wants sums <= 1 exactly
        freqs = as_rng(rng).multinomial(n_samples, P) / n_samples
        Zp, Zc = self._kron_rows(X, P), self._kron_rows(X, freqs)
        cross = Zp.T @ Zc
        F = (
            self._block_diagonal_gram(X, freqs)
            + (Zp.T @ Zp - cross - cross.T) / X.shape[0]
        )
        return (F + F.T) / 2

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        """``F v`` in ``O(n d k)`` without forming ``F``.

        With ``U = X V`` (``V = v.reshape(d, k)``), each row ``u_i`` is multiplied by
        ``diag(p_i) - p_i p_i^T``, then ``X^T (.) / n`` maps back.
        """
        theta, X = self._check_theta_X(theta, X)
        d, k = X.shape[1], self.n_classes
        v = _check_vector(v, "v", d * k, "one entry per parameter, d * n_classes")
        P = np.exp(self._log_probs(theta, X))
        U = X @ v.reshape(d, k)
        Q = P * U - P * np.sum(P * U, axis=1, keepdims=True)
        return (X.T @ Q / X.shape[0]).ravel()

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        """``diag(F)`` entries ``(1/n) sum_i X_ij^2 p_ic (1 - p_ic)``, shape (d k,)."""
        theta, X = self._check_theta_X(theta, X)
        P = np.exp(self._log_probs(theta, X))
        return ((X**2).T @ (P * (1.0 - P)) / X.shape[0]).ravel()

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Labels ``y_i ~ Categorical(p_i)`` (inverse-CDF), integers, shape ``(n,)``."""
        P = self.predict_proba(theta, X)
        u = as_rng(rng).random((P.shape[0], 1))
        labels = np.sum(np.cumsum(P, axis=1) < u, axis=1)
        return np.minimum(labels, self.n_classes - 1)
