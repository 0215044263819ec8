r"""K-FAC for one dense layer: the Fisher block as a Kronecker product (chapter 6).

A dense layer maps its input :math:`a` (with a trailing 1 for the bias, if any) to
pre-activations :math:`s = W^\top a`, :math:`W` of shape ``(d_in, d_out)``. The
gradient of the per-example loss is :math:`\nabla_W = a\,g^\top` with
:math:`g = \partial(-\log p)/\partial s`, so with the parameters flattened row-major
(``W.ravel()``, the layout of :class:`ngd_lib.models.SoftmaxRegression`) the
layer's Fisher block is

.. math::

    F = \mathbb E\big[(a a^\top) \otimes (g g^\top)\big]
    \;\approx\; \mathbb E[a a^\top] \otimes \mathbb E[g g^\top] = A \otimes G,

the K-FAC approximation (Martens & Grosse 2015): it pretends that inputs and output
gradients are independent. Its inverse is cheap, :math:`(A\otimes G)^{-1} =
A^{-1}\otimes G^{-1}`, so a ``d_in d_out``-dimensional solve costs two small ones:
:math:`(A\otimes G)^{-1}\operatorname{vec}(V) = \operatorname{vec}(A^{-1} V G^{-1})`.
For the *true* Fisher, ``g`` is back-propagated with labels sampled from the model,
not the observed ones.

References
----------
Martens, J. & Grosse, R. (2015). Optimizing neural networks with Kronecker-factored
approximate curvature. ICML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import (
    as_float_array,
    check_positive,
    check_positive_definite,
    check_square_symmetric,
)

__all__ = ["KroneckerFactors", "kfac_factors", "kfac_solve"]


@dataclass(frozen=True)
class KroneckerFactors:
    r"""The two K-FAC factors of one dense layer, :math:`F \approx A \otimes G`.

    Attributes
    ----------
    A : ndarray, shape (d_in, d_in)
        :math:`\mathbb E[a a^\top]`, the second moment of the layer's inputs.
    G : ndarray, shape (d_out, d_out)
        :math:`\mathbb E[g g^\top]`, the second moment of the back-propagated
        gradients with respect to the layer's outputs.
    """

    A: np.ndarray
    G: np.ndarray

    def __post_init__(self):
        for name in ("A", "G"):
            value = as_float_array(getattr(self, name), name, ndim=2)
            check_square_symmetric(value, name)
            object.__setattr__(self, name, value)

    @property
    def n_params(self) -> int:
        """``d_in * d_out``, the size of the block."""
        return self.A.shape[0] * self.G.shape[0]

    def dense(self) -> np.ndarray:
        r"""The ``(d_in d_out) x (d_in d_out)`` matrix :math:`A \otimes G` (checks)."""
        return np.kron(self.A, self.G)

    def matvec(self, v) -> np.ndarray:
        r""":math:`(A \otimes G)\,v = \operatorname{vec}(A V G)`, with ``V`` = ``v``
        reshaped to ``(d_in, d_out)``, without forming the Kronecker product."""
        V = self._as_matrix(v)
        return (self.A @ V @ self.G).ravel()

    def _as_matrix(self, v) -> np.ndarray:
        v = as_float_array(v, "v", ndim=1)
        if v.shape[0] != self.n_params:
            raise ValueError(
                f"v must have d_in * d_out = {self.A.shape[0]} * {self.G.shape[0]} = "
                f"{self.n_params} entries (W.ravel(), row-major); got {v.shape[0]}."
            )
        return v.reshape(self.A.shape[0], self.G.shape[0])


def kfac_factors(inputs, output_grads) -> KroneckerFactors:
    r"""Estimate :math:`A = \frac1n\sum_i a_i a_i^\top` and
    :math:`G = \frac1n\sum_i g_i g_i^\top` from per-example rows.

    Parameters
    ----------
    inputs : array_like, shape (n, d_in)
        The layer's input :math:`a_i` for each example (include the constant 1 of a
        bias as a column).
    output_grads : array_like, shape (n, d_out)
        :math:`g_i = \partial(-\log p(y_i\mid x_i))/\partial s_i` for each example;
        with ``y_i`` sampled from the model for the true Fisher.

    Returns
    -------
    KroneckerFactors

    Raises
    ------
    ValueError
        If the arrays are not finite 2-D arrays with the same number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> f = kfac_factors(np.array([[1.0, 2.0], [1.0, 0.0]]), np.array([[0.5], [-0.5]]))
    >>> f.A, f.G
    (array([[1., 1.],
           [1., 2.]]), array([[0.25]]))
    """
    a = as_float_array(inputs, "inputs", ndim=2)
    g = as_float_array(output_grads, "output_grads", ndim=2)
    if a.shape[0] != g.shape[0] or a.shape[0] == 0:
        raise ValueError(
            f"inputs and output_grads need the same (non-zero) number of rows, one "
            f"per example; got {a.shape[0]} and {g.shape[0]}."
        )
    n = a.shape[0]
    A = a.T @ a / n
    G = g.T @ g / n
    return KroneckerFactors((A + A.T) / 2, (G + G.T) / 2)


def kfac_solve(factors: KroneckerFactors, v, *, damping: float,
               factored: bool = True) -> np.ndarray:
    r"""Apply the inverse of the damped K-FAC block to ``v``.

    * ``factored=True`` (Martens & Grosse 2015, sec. 6.3): damp each factor,

      .. math::

          \big[(A + \pi\sqrt\lambda\,I) \otimes (G + \tfrac{1}{\pi}\sqrt\lambda\,I)
          \big]^{-1} v, \qquad
          \pi = \sqrt{\frac{\operatorname{tr}(A)/d_{\mathrm{in}}}
                           {\operatorname{tr}(G)/d_{\mathrm{out}}}},

      two small dense solves, :math:`O(d_{\mathrm{in}}^3 +
      d_{\mathrm{out}}^3)`. The product expands to :math:`A\otimes G + \lambda I`
      plus cross terms :math:`\pi\sqrt\lambda\, I\otimes G +
      \tfrac{\sqrt\lambda}{\pi} A\otimes I`; :math:`\pi` balances them;
    * ``factored=False``: exactly :math:`(A\otimes G + \lambda I)^{-1} v`, via the
      eigendecompositions of ``A`` and ``G`` (same cost order).

    Parameters
    ----------
    factors : KroneckerFactors
    v : array_like, shape (d_in * d_out,)
        A vector in the layer's parameter layout (``W.ravel()``).
    damping : float, keyword-only
        :math:`\lambda`; ``> 0`` when factored, ``>= 0`` otherwise.
    factored : bool, keyword-only

    Returns
    -------
    ndarray, shape (d_in * d_out,)

    Raises
    ------
    TypeError
        If ``factors`` is not a :class:`KroneckerFactors`.
    ValueError
        If ``v`` has the wrong length, ``damping`` is out of range, a trace is
        zero (factored) or the product is singular to round-off (``damping=0``, or
        ``damping`` below the round-off of the largest eigenvalue).

    Examples
    --------
    >>> import numpy as np
    >>> f = KroneckerFactors(np.diag([1.0, 4.0]), np.array([[2.0]]))
    >>> kfac_solve(f, [2.0, 8.0], damping=0.0, factored=False)
    array([1., 1.])
    """
    if not isinstance(factors, KroneckerFactors):
        raise TypeError(
            f"factors must be a KroneckerFactors (from kfac_factors); got "
            f"{type(factors).__name__}."
        )
    V = factors._as_matrix(v)
    A, G = factors.A, factors.G
    if factored:
        damping = check_positive(damping, "damping")
        trace_a, trace_g = np.trace(A) / A.shape[0], np.trace(G) / G.shape[0]
        if not (trace_a > 0 and trace_g > 0):
            raise ValueError(
                f"factored damping needs positive traces of A and G; got tr(A)/d_in = "
                f"{trace_a:.3g}, tr(G)/d_out = {trace_g:.3g}. Use factored=False."
            )
        pi = math.sqrt(trace_a / trace_g)
        root = math.sqrt(damping)
        A_damped = A + pi * root * np.eye(A.shape[0])
        G_damped = G + root / pi * np.eye(G.shape[0])
        # A^{-1} V G^{-1}: only defined for positive-definite damped factors
        check_positive_definite(A_damped, "the damped factor A + pi sqrt(damping) I")
        check_positive_definite(G_damped, "the damped factor G + sqrt(damping)/pi I")
        left = np.linalg.solve(A_damped, V)
        return np.linalg.solve(G_damped, left.T).T.ravel()
    damping = check_positive(damping, "damping", allow_zero=True)
    eig_a, Q_a = np.linalg.eigh(A)
    eig_g, Q_g = np.linalg.eigh(G)
    denominator = eig_a[:, None] * eig_g[None, :] + damping
    # eigenvalues below the round-off of the largest one are zeros: a singular factor
    # (G of a softmax, whose rows sum to zero) gives ~1e-17, not 0
    floor = (np.finfo(float).eps * max(A.shape[0], G.shape[0])
             * float(np.max(np.abs(eig_a)) * np.max(np.abs(eig_g))))
    if np.any(denominator <= floor):
        raise ValueError(
            f"A (x) G + damping * I is not positive definite (smallest eigenvalue "
            f"{denominator.min():.3g}, at or below the round-off {floor:.2g} of the "
            "largest); use damping > 0."
        )
    inner = (Q_a.T @ V @ Q_g) / denominator
    return (Q_a @ inner @ Q_g.T).ravel()
