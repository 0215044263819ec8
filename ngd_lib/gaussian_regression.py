r"""A Gaussian whose mean *and* scale are fitted: ``y | x ~ N(x^T w, sigma^2)``.

With ``X`` a column of ones this is fitting a Gaussian's :math:`(\mu, \sigma)` by
maximum likelihood, chapter 5's example of a model whose Fisher is not its Hessian
(the scale is not a natural parameter) and whose conditioning depends on the
parameterisation:

* in :math:`(w, \log\sigma)` the Fisher is
  :math:`\operatorname{diag}(X^\top X/(n\sigma^2),\ 2)`: the ratio of the two
  curvatures, hence gradient descent's condition number, changes with the data's
  scale :math:`\sigma`;
* in :math:`(w, \sigma)` it is :math:`\operatorname{diag}(X^\top X/(n\sigma^2),\
  2/\sigma^2)`.

Natural gradient descent does not see the difference (Amari 1998; Martens 2020).
The methods mirror those of :mod:`ngd_lib.models`, so
:func:`ngd_lib.natural_gradient.natural_gradient_descent` accepts the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, as_rng, check_choice, check_int

__all__ = ["GaussianRegression"]

_PARAMETERIZATIONS = ("log_std", "std")


@dataclass(frozen=True)
class GaussianRegression:
    r"""``y | x ~ N(x^T w, sigma^2)`` with ``theta = (w, log sigma)`` or ``(w, sigma)``.

    With residuals :math:`e_i = y_i - x_i^\top w`, the mean negative log-likelihood is

    .. math::

        L(\theta) = \frac1n\sum_i \Big[\tfrac12\log(2\pi) + \log\sigma
                    + \frac{e_i^2}{2\sigma^2}\Big],

    and the Fisher, block-diagonal because odd moments of :math:`e` vanish, is

    .. math::

        F = \begin{pmatrix} X^\top X/(n\sigma^2) & 0 \\ 0 & c \end{pmatrix},
        \qquad c = 2 \text{ for } \log\sigma, \quad c = 2/\sigma^2 \text{ for }
        \sigma.

    The Hessian equals ``F`` only at the maximum-likelihood estimate.

    Parameters
    ----------
    parameterization : {"log_std", "std"}
        The last entry of ``theta``: :math:`\log\sigma` (any real) or :math:`\sigma`
        (> 0; :meth:`nll` is ``inf`` for :math:`\sigma \le 0`, the other methods
        raise).

    Examples
    --------
    >>> import numpy as np
    >>> model = GaussianRegression("std")
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
        return self._check_X(X).shape[1] + 1

    @staticmethod
    def _check_X(X) -> np.ndarray:
        X = as_float_array(X, "X", ndim=2)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must have at least one row and column; got {X.shape}.")
        return X

    def _split(self, theta, X) -> tuple[np.ndarray, np.ndarray, float]:
        X = self._check_X(X)
        theta = as_float_array(theta, "theta", ndim=1)
        if theta.shape[0] != X.shape[1] + 1:
            raise ValueError(
                f"theta must have {X.shape[1] + 1} entries (one weight per column of "
                f"X, then the scale); got {theta.shape[0]}."
            )
        if self.parameterization == "log_std":
            return X, theta[:-1], math.exp(theta[-1])
        if theta[-1] <= 0:
            raise ValueError(
                f"sigma = theta[-1] must be > 0 with parameterization='std'; got "
                f"{theta[-1]!r}. Start from a positive scale, or use 'log_std'."
            )
        return X, theta[:-1], float(theta[-1])

    def _residuals(self, theta, X, y):
        X, w, sigma = self._split(theta, X)
        y = as_float_array(y, "y", ndim=1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must have one entry per row of X ({X.shape[0]}); got {y.shape[0]}."
            )
        return X, y - X @ w, sigma

    def _scale_fisher(self, sigma: float) -> float:
        return 2.0 if self.parameterization == "log_std" else 2.0 / sigma**2

    # -- the model ----------------------------------------------------------------
    def mle(self, X, y) -> np.ndarray:
        """The maximum-likelihood ``theta``: least squares, ``sigma^2 = mean(e^2)``."""
        X = self._check_X(X)
        y = as_float_array(y, "y", ndim=1)
        w = np.linalg.lstsq(X, y, rcond=None)[0]
        sigma = math.sqrt(float(np.mean((y - X @ w) ** 2)))
        scale = math.log(sigma) if self.parameterization == "log_std" else sigma
        return np.append(w, scale)

    def nll(self, theta, X, y) -> float:
        """Mean NLL; ``inf`` when ``sigma <= 0`` in the ``"std"`` parameterisation."""
        theta = as_float_array(theta, "theta", ndim=1)
        if self.parameterization == "std" and theta.size and theta[-1] <= 0:
            return math.inf
        X, e, sigma = self._residuals(theta, X, y)
        return float(0.5 * math.log(2 * math.pi) + math.log(sigma)
                     + np.mean(e**2) / (2 * sigma**2))

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Rows ``g_i = -grad log p(y_i | x_i)``: ``(-e_i x_i / sigma^2, ds_i)``."""
        X, e, sigma = self._residuals(theta, X, y)
        if self.parameterization == "log_std":
            scale = 1.0 - e**2 / sigma**2
        else:
            scale = 1.0 / sigma - e**2 / sigma**3
        return np.column_stack([-(e / sigma**2)[:, None] * X, scale])

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, the mean of :meth:`per_example_grads`."""
        return self.per_example_grads(theta, X, y).mean(axis=0)

    def fisher(self, theta, X) -> np.ndarray:
        """Exact Fisher ``diag-block(X^T X / (n sigma^2), c)`` (see the class)."""
        X, _, sigma = self._split(theta, X)
        d = X.shape[1]
        F = np.zeros((d + 1, d + 1))
        F[:d, :d] = X.T @ X / (X.shape[0] * sigma**2)
        F[d, d] = self._scale_fisher(sigma)
        return F

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        """``F v`` without forming ``F``, ``O(n d)``."""
        X, _, sigma = self._split(theta, X)
        v = as_float_array(v, "v", ndim=1)
        if v.shape[0] != X.shape[1] + 1:
            raise ValueError(f"v must have {X.shape[1] + 1} entries; got {v.shape[0]}.")
        top = X.T @ (X @ v[:-1]) / (X.shape[0] * sigma**2)
        return np.append(top, self._scale_fisher(sigma) * v[-1])

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        """``diag(F)``: ``mean(X_j^2) / sigma^2`` and ``c``."""
        X, _, sigma = self._split(theta, X)
        return np.append(np.mean(X**2, axis=0) / sigma**2, self._scale_fisher(sigma))

    def empirical_fisher(self, theta, X, y) -> np.ndarray:
        """``(1/n) sum_i g_i g_i^T`` with the observed targets (uncentred)."""
        G = self.per_example_grads(theta, X, y)
        return G.T @ G / G.shape[0]

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Targets ``x_i^T w + sigma eps_i``, shape ``(n,)``."""
        X, w, sigma = self._split(theta, X)
        return X @ w + sigma * as_rng(rng).standard_normal(X.shape[0])

    def monte_carlo_fisher(self, theta, X, *, n_samples: int = 1,
                           rng=None) -> np.ndarray:
        """``(1/(n S)) sum_i sum_s g_is g_is^T``, ``S`` targets sampled per input."""
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        X = self._check_X(X)
        X_repeated = np.tile(X, (n_samples, 1))
        y = self.sample(theta, X_repeated, as_rng(rng))
        return self.empirical_fisher(theta, X_repeated, y)

    def hessian(self, theta, X, y) -> np.ndarray:
        """Exact Hessian of the mean NLL (not :meth:`fisher` away from the MLE)."""
        X, e, sigma = self._residuals(theta, X, y)
        n, d = X.shape
        H = np.zeros((d + 1, d + 1))
        H[:d, :d] = X.T @ X / (n * sigma**2)
        if self.parameterization == "log_std":
            cross = 2.0 * X.T @ e / (n * sigma**2)
            H[d, d] = 2.0 * np.mean(e**2) / sigma**2
        else:
            cross = 2.0 * X.T @ e / (n * sigma**3)
            H[d, d] = -1.0 / sigma**2 + 3.0 * np.mean(e**2) / sigma**4
        H[:d, d] = H[d, :d] = cross
        return H
