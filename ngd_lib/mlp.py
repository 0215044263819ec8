r"""A small multilayer perceptron classifier, with its Fisher, GGN and Hessian (ch. 10).

:class:`MLPClassifier` is a network of dense layers, ``tanh`` hidden units and a
softmax output, written with numpy only: forward and backward passes by hand, so that
every curvature quantity of the book can be computed, and checked, on a real network.
With :math:`\bar a = (a, 1)` (the layer input with a trailing 1 for the bias),

.. math::

    s_\ell = W_\ell^\top \bar a_{\ell-1}, \quad a_\ell = \tanh(s_\ell)
    \ (\ell < L), \quad z = s_L, \quad p = \operatorname{softmax}(z),

:math:`W_\ell` of shape ``(d_{l-1} + 1, d_l)``. For an output distribution in an
exponential family whose natural parameter is the network output :math:`z` (here the
categorical with logits :math:`z`), the Fisher is the generalised Gauss-Newton
matrix (Schraudolph 2002; Martens 2020, sec. 9.2):

.. math::

    F = \frac1n \sum_i J_i^\top \Lambda_i J_i, \qquad
    J_i = \frac{\partial z_i}{\partial\theta}, \quad
    \Lambda_i = \nabla_z^2(-\log p(y\mid z_i)) = \operatorname{diag}(p_i) - p_ip_i^\top,

and the Hessian of the loss adds :math:`\frac1n\sum_i \sum_c (p_{ic} - [y_i = c])
\nabla^2_\theta z_{ic}`, a term that depends on the labels and vanishes only where the
residuals do. :func:`train` trains the network with SGD, Adam, K-FAC or exact
natural gradient on mini-batches.

References
----------
Martens, J. & Grosse, R. (2015). Optimizing neural networks with Kronecker-factored
approximate curvature. ICML. Martens, J. (2020). New insights and perspectives on the
natural gradient method. JMLR 21(146). Schraudolph, N. N. (2002). Fast curvature
matrix-vector products for second-order gradient descent. Neural Computation 14(7).
Pearlmutter, B. A. (1994). Fast exact multiplication by the Hessian. Neural
Computation 6(1). Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of
training deep feedforward neural networks. AISTATS.
"""

from __future__ import annotations

import collections.abc
import math
import numbers
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._validation import (
    _show,
    as_float_array,
    as_rng,
    check_choice,
    check_int,
    check_positive,
)
from .linalg import check_dense_memory, cholesky_solve, woodbury_solve
from .models import (
    _FISHER_INSTEAD,
    _GRADS_INSTEAD,
    ModelDomainError,
    _check_dense,
    _check_vector,
    _check_X,
    _check_y,
)
from .result import History, OptimizeResult

__all__ = ["DEFAULT_DAMPING", "DEFAULT_LR", "METHODS", "NGD_MAX_PARAMS",
           "MLPClassifier", "kfac_direction", "train"]

#: The activations of the hidden layers.
ACTIVATIONS = ("tanh",)
#: The training methods of :func:`train`.
METHODS = ("sgd", "adam", "kfac", "ngd")
#: The largest network (parameters) that ``train(method="ngd")`` solves with a dense
#: Fisher: a P x P matrix formed and factorised at every step.
NGD_MAX_PARAMS = 5000
#: Directions per batch of Hessian-vector products when the Hessian is formed.
_HVP_CHUNK = 64


@dataclass(frozen=True)
class _Forward:
    """The quantities of one forward pass: layer inputs, tanh outputs, probs."""

    inputs: list  # bar a_{l-1}, (n, d_{l-1} + 1), one per layer
    hidden: list  # a_l = tanh(s_l), (n, d_l), one per hidden layer
    log_probs: np.ndarray  # (n, k)

    @property
    def probs(self) -> np.ndarray:
        return np.exp(self.log_probs)


def _with_ones(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a, np.ones(a.shape[:-1] + (1,))], axis=-1)


@dataclass(frozen=True)
class MLPClassifier:
    r"""A multilayer perceptron with ``tanh`` hidden layers and a softmax output.

    ``layer_sizes = (d_0, d_1, ..., d_L)``: ``d_0`` inputs (the width of ``X``),
    hidden layers of widths ``d_1 .. d_{L-1}`` and ``k = d_L`` classes, labels
    ``0 .. k-1``. Layer ``l`` has a weight matrix ``W_l`` of shape
    ``(d_{l-1} + 1, d_l)`` whose last row is the bias; ``theta`` concatenates
    ``W_1.ravel(), ..., W_L.ravel()`` (row-major). This is the layout of
    :meth:`kfac_blocks`, so :func:`ngd_lib.curvature.kfac` works on the network
    unchanged. It satisfies the whole :class:`ngd_lib.Model` contract; see the module
    docstring for the math. Like softmax regression, the output layer is redundant
    (adding a vector to every class's weights changes nothing), so ``F`` is singular:
    damp it.

    Parameters
    ----------
    layer_sizes : sequence of int
        An ordered sequence (tuple, list or 1-D array; not a set or a dict) of at
        least two sizes, each >= 1, the last (the number of classes) >= 2.
    activation : {"tanh"}, keyword-only
        The hidden units' nonlinearity.

    Raises
    ------
    TypeError
        If ``layer_sizes`` is not an ordered sequence of integers.
    ValueError
        If a size is out of range, or a weight matrix or ``theta`` would exceed
        :data:`ngd_lib.linalg.DENSE_MEMORY_LIMIT`.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> model = ngd.MLPClassifier((4, 3, 2))
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> theta = model.init_params(0)
    >>> model.n_params(X), model.predict_proba(theta, X).shape
    (23, (5, 2))
    """

    layer_sizes: tuple
    activation: str = "tanh"
    linear_classifier: ClassVar[bool] = False

    def __init__(self, layer_sizes, *, activation: str = "tanh"):
        # an ordered sequence: a set or a dict has a length but no meaningful order
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(
                layer_sizes, (collections.abc.Sequence, np.ndarray)):
            raise TypeError(
                f"layer_sizes must be an ordered sequence of integers such as "
                f"(64, 32, 10) (inputs, hidden widths, classes); got "
                f"{_show(layer_sizes)} of type {type(layer_sizes).__name__}. Pass a "
                "tuple or a list."
            )
        sizes = tuple(check_int(s, f"layer_sizes[{i}]") for i, s in
                      enumerate(layer_sizes))
        if len(sizes) < 2 or sizes[-1] < 2:
            raise ValueError(
                f"layer_sizes must list at least the input width and the number of "
                f"classes (>= 2), e.g. (64, 32, 10); got {sizes}."
            )
        # refuse here, with sizes in the message, what init_params could not allocate
        for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            check_dense_memory(a + 1, b, f"layer {layer + 1}'s weight matrix for "
                               f"layer_sizes = {sizes}", "Use smaller layer sizes.")
        check_dense_memory(1, sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:],
                                                               strict=True)),
                           f"theta (all parameters) for layer_sizes = {sizes}",
                           "Use smaller layer sizes.")
        object.__setattr__(self, "layer_sizes", sizes)
        object.__setattr__(self, "activation",
                           check_choice(activation, "activation", ACTIVATIONS))

    # -- sizes and checks ----------------------------------------------------
    @property
    def n_classes(self) -> int:
        """``k = layer_sizes[-1]``."""
        return self.layer_sizes[-1]

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(d_{l-1} + 1, d_l)`` for each layer, in parameter order."""
        return [(a + 1, b) for a, b in zip(self.layer_sizes[:-1],
                                           self.layer_sizes[1:], strict=True)]

    @property
    def size(self) -> int:
        """The number of parameters ``P``."""
        return sum(a * b for a, b in self.shapes)

    def n_params(self, X) -> int:
        """Number of parameters ``P = sum_l (d_{l-1} + 1) d_l`` (checks ``X``)."""
        self._check_X(X)
        return self.size

    def _check_X(self, X) -> np.ndarray:
        X = _check_X(X)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X must have layer_sizes[0] = {self.layer_sizes[0]} columns (one per "
                f"input unit); got shape {X.shape}. Build the model with "
                f"MLPClassifier(({X.shape[1]}, ...)) or pass matching inputs."
            )
        return X

    def check_inputs(self, theta, X, y=None):
        """Validated ``(theta, X, y)``; ``y`` as integer class labels (or None)."""
        X = self._check_X(X)
        theta = _check_vector(
            theta, "theta", self.size,
            f"P = sum of (d_in + 1) * d_out over the layers {self.shapes}; "
            "model.init_params(rng) makes one")
        if y is None:
            return theta, X, None
        y = _check_y(y, X.shape[0])
        k = self.n_classes
        bad = (y != np.round(y)) | (y < 0) | (y > k - 1)
        if np.any(bad):
            raise ValueError(
                f"y must contain integer class labels 0, ..., {k - 1} (layer_sizes"
                f"[-1] = {k}); got {y[bad][:5]} at positions {np.flatnonzero(bad)[:5]}."
                " Encode classes as 0..k-1 (np.unique(labels, return_inverse=True))."
            )
        return theta, X, y.astype(np.intp)

    def weights(self, theta) -> list[np.ndarray]:
        """The weight matrices ``W_l`` (views of ``theta``), bias in the last row."""
        theta = _check_vector(theta, "theta", self.size, "P entries")
        out, start = [], 0
        for a, b in self.shapes:
            out.append(theta[start:start + a * b].reshape(a, b))
            start += a * b
        return out

    def init_params(self, rng=None) -> np.ndarray:
        r"""Glorot-uniform weights, :math:`U(\pm\sqrt{6/(d_{in} + d_{out})})`, zero
        biases (Glorot & Bengio 2010), from ``rng`` (a seed or a Generator)."""
        rng = as_rng(rng)
        blocks = []
        for a, b in self.shapes:
            W = np.zeros((a, b))
            limit = math.sqrt(6.0 / (a - 1 + b))
            W[:-1] = rng.uniform(-limit, limit, size=(a - 1, b))
            blocks.append(W.ravel())
        return np.concatenate(blocks)

    # -- the passes ----------------------------------------------------------
    def _forward(self, theta, X) -> _Forward:
        Ws = self.weights(theta)
        inputs, hidden = [], []
        a = X
        with np.errstate(over="ignore", invalid="ignore"):
            for layer, W in enumerate(Ws):
                a_bar = _with_ones(a)
                inputs.append(a_bar)
                s = a_bar @ W
                if layer < len(Ws) - 1:
                    a = np.tanh(s)
                    hidden.append(a)
            finite = bool(np.isfinite(np.sum(s)))
        if not finite:
            row = int(np.flatnonzero(~np.all(np.isfinite(s), axis=1))[0])
            raise ModelDomainError(
                f"MLPClassifier: the logits are not finite in float64 at this theta "
                f"(first at row {row} of X). theta (or X) is too large: start from "
                "model.init_params(rng), rescale X, or take shorter steps (smaller "
                "lr, more damping)."
            )
        shifted = s - s.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        return _Forward(inputs, hidden, log_probs)

    def _backward(self, theta, fwd: _Forward, delta) -> list[np.ndarray]:
        """Output gradients ``d(loss_i)/d s_l`` of every layer, from ``delta`` at the
        logits (shape ``(..., n, k)``: leading axes are back-propagated together)."""
        Ws = self.weights(theta)
        deltas = [delta]
        for layer in range(len(Ws) - 1, 0, -1):
            a = fwd.hidden[layer - 1]
            delta = (delta @ Ws[layer][:-1].T) * (1.0 - a * a)
            deltas.append(delta)
        return deltas[::-1]

    @staticmethod
    def _onehot_residual(probs, y) -> np.ndarray:
        residual = probs.copy()
        residual[np.arange(probs.shape[0]), y] -= 1.0
        return residual

    def _jvp(self, theta, fwd: _Forward, V) -> np.ndarray:
        r"""Forward mode: :math:`J v` (the change of the logits), ``V`` of shape
        ``(m, P)`` (m directions) -> ``(m, n, k)``."""
        Ws = self.weights(theta)
        Vs = self._directions(V)
        ds = fwd.inputs[0] @ Vs[0]  # (m, n, d_1)
        for layer in range(1, len(Ws)):
            a = fwd.hidden[layer - 1]
            ds = fwd.inputs[layer] @ Vs[layer] + ((1.0 - a * a) * ds) @ Ws[layer][:-1]
        return ds

    def _directions(self, V) -> list[np.ndarray]:
        """``(m, P)`` directions as one ``(m, d_in + 1, d_out)`` array per layer."""
        out, start = [], 0
        for a, b in self.shapes:
            out.append(V[:, start:start + a * b].reshape(V.shape[0], a, b))
            start += a * b
        return out

    def _layer_grads(self, fwd: _Forward, deltas) -> np.ndarray:
        """``(1/n) sum_i a_bar_i (x) delta_i`` per layer, concatenated (…, P)."""
        n = fwd.log_probs.shape[0]
        parts = [np.swapaxes(np.swapaxes(d, -1, -2) @ a, -1, -2) / n
                 for a, d in zip(fwd.inputs, deltas, strict=True)]
        lead = parts[0].shape[:-2]
        return np.concatenate([p.reshape(lead + (-1,)) for p in parts], axis=-1)

    # -- the Model contract ----------------------------------------------------
    def predict_proba(self, theta, X) -> np.ndarray:
        """Class probabilities ``softmax(z_i)``, shape ``(n, k)``."""
        theta, X, _ = self.check_inputs(theta, X)
        return self._forward(theta, X).probs

    def nll(self, theta, X, y) -> float:
        """Mean NLL ``(1/n) sum_i -log p(y_i | x_i, theta)``."""
        theta, X, y = self.check_inputs(theta, X, y)
        log_probs = self._forward(theta, X).log_probs
        return float(-np.mean(log_probs[np.arange(X.shape[0]), y]))

    def nll_and_grad(self, theta, X, y) -> tuple[float, np.ndarray]:
        """``(nll, grad)`` from one forward and one backward pass (backprop)."""
        theta, X, y = self.check_inputs(theta, X, y)
        fwd = self._forward(theta, X)
        value = float(-np.mean(fwd.log_probs[np.arange(X.shape[0]), y]))
        deltas = self._backward(theta, fwd, self._onehot_residual(fwd.probs, y))
        return value, self._layer_grads(fwd, deltas)

    def grad(self, theta, X, y) -> np.ndarray:
        """Gradient of the mean NLL, shape ``(P,)``."""
        return self.nll_and_grad(theta, X, y)[1]

    def kfac_blocks(self, theta, X, y) -> list[tuple[np.ndarray, np.ndarray]]:
        """One ``(a_bar_{l-1}, d(-log p_i)/d s_l)`` pair per layer (not divided by n),
        so that layer l's part of row i of :meth:`per_example_grads` is
        ``np.outer(inputs[i], output_grads[i]).ravel()``."""
        theta, X, y = self.check_inputs(theta, X, y)
        fwd = self._forward(theta, X)
        deltas = self._backward(theta, fwd, self._onehot_residual(fwd.probs, y))
        return list(zip(fwd.inputs, deltas, strict=True))

    def per_example_grads(self, theta, X, y) -> np.ndarray:
        """Rows ``g_i = -grad log p(y_i | x_i, theta)``, shape ``(n, P)``."""
        theta, X, y = self.check_inputs(theta, X, y)
        _check_dense(X.shape[0], self.size, "per_example_grads", _GRADS_INSTEAD)
        return self._per_example(theta, self._forward(theta, X), y)

    def _per_example(self, theta, fwd, y) -> np.ndarray:
        deltas = self._backward(theta, fwd, self._onehot_residual(fwd.probs, y))
        n = fwd.log_probs.shape[0]
        return np.concatenate([(a[:, :, None] * d[:, None, :]).reshape(n, -1)
                               for a, d in zip(fwd.inputs, deltas, strict=True)],
                              axis=1)

    def _check_square(self, X, what: str) -> None:
        P = self.size
        _check_dense(P, P, f"{what} with P = {P:,} parameters", _FISHER_INSTEAD)
        _check_dense(X.shape[0], P, f"{what} (its n x P intermediate)",
                     "Pass fewer rows of X, or use model.fisher_vector_product.")

    def fisher(self, theta, X) -> np.ndarray:
        r"""Exact Fisher :math:`\frac1n\sum_i\sum_c p_{ic}\, g_{ic} g_{ic}^\top`.

        The expectation over the label is taken exactly: ``g_ic`` is the per-example
        gradient with label ``c`` (one backward pass per class). Equal to
        :meth:`gauss_newton` (the GGN), which is computed from the Jacobian instead.
        """
        theta, X, _ = self.check_inputs(theta, X)
        self._check_square(X, "fisher")
        fwd = self._forward(theta, X)
        probs = fwd.probs
        F = np.zeros((self.size, self.size))
        for c in range(self.n_classes):
            rows = self._per_example(theta, fwd, np.full(X.shape[0], c))
            rows *= np.sqrt(probs[:, c])[:, None]
            F += rows.T @ rows
        F /= X.shape[0]
        return (F + F.T) / 2

    def jacobian(self, theta, X) -> np.ndarray:
        r""":math:`J_i = \partial z_i/\partial\theta`, shape ``(n, k, P)`` (one backward
        pass per output unit)."""
        theta, X, _ = self.check_inputs(theta, X)
        _check_dense(X.shape[0] * self.n_classes, self.size, "jacobian",
                     "Use model.fisher_vector_product.")
        fwd = self._forward(theta, X)
        n, k = X.shape[0], self.n_classes
        unit = np.broadcast_to(np.eye(k)[:, None, :], (k, n, k))
        deltas = self._backward(theta, fwd, unit)  # each (k, n, d_l)
        parts = [(a[None, :, :, None] * d[:, :, None, :]).reshape(k, n, -1)
                 for a, d in zip(fwd.inputs, deltas, strict=True)]
        return np.concatenate(parts, axis=2).transpose(1, 0, 2)

    def gauss_newton(self, theta, X, y=None) -> np.ndarray:
        r"""The generalised Gauss-Newton matrix :math:`\frac1n\sum_i J_i^\top\Lambda_i
        J_i`, :math:`\Lambda_i = \operatorname{diag}(p_i) - p_ip_i^\top`, from
        :meth:`jacobian`. The softmax's :math:`\Lambda` does not depend on ``y``
        (accepted and ignored), and the GGN equals :meth:`fisher`."""
        theta, X, _ = self.check_inputs(theta, X, y)
        self._check_square(X, "gauss_newton")
        J = self.jacobian(theta, X)
        p = self._forward(theta, X).probs
        Lam = (p[:, :, None] * np.eye(self.n_classes)
               - p[:, :, None] * p[:, None, :])  # diag(p_i) - p_i p_i^T
        G = np.einsum("nkp,nkl,nlq->pq", J, Lam, J, optimize=True) / X.shape[0]
        return (G + G.T) / 2

    def fisher_vector_product(self, theta, X, v) -> np.ndarray:
        r""":math:`F v = \frac1n \sum_i J_i^\top \Lambda_i (J_i v)` without forming
        ``F``: :math:`J v` by a forward-mode pass, :math:`\Lambda` on the logits,
        :math:`J^\top` by back-propagation (Schraudolph 2002). ``v`` of shape
        ``(P,)``, or ``(m, P)`` for m products at once."""
        theta, X, _ = self.check_inputs(theta, X)
        V = as_float_array(v, "v")
        if V.ndim not in (1, 2) or V.shape[-1] != self.size:
            raise ValueError(
                f"v must have shape (P,) or (m, P) with P = {self.size}; got shape "
                f"{V.shape}."
            )
        fwd = self._forward(theta, X)
        p = fwd.probs
        dz = self._jvp(theta, fwd, np.atleast_2d(V))  # (m, n, k)
        q = p * dz - p * np.sum(p * dz, axis=-1, keepdims=True)
        out = self._layer_grads(fwd, self._backward(theta, fwd, q))
        return out[0] if V.ndim == 1 else out

    def fisher_diagonal(self, theta, X) -> np.ndarray:
        r""":math:`\operatorname{diag}(F) = \frac1n\sum_i\sum_c p_{ic}\,g_{ic}^2`, one
        backward pass per class and no ``n x P`` matrix."""
        theta, X, _ = self.check_inputs(theta, X)
        fwd = self._forward(theta, X)
        p = fwd.probs
        k = self.n_classes
        delta = (np.eye(k)[:, None, :] - p[None]) * np.sqrt(p.T)[:, :, None]
        deltas = self._backward(theta, fwd, delta)  # each (k, n, d_l)
        parts = [(np.square(a).T @ np.square(d).sum(axis=0)).ravel()
                 for a, d in zip(fwd.inputs, deltas, strict=True)]
        return np.concatenate(parts) / X.shape[0]

    def hessian_vector_product(self, theta, X, y, v) -> np.ndarray:
        r"""Exact :math:`\nabla^2 L\, v` by forward-over-reverse differentiation of
        back-propagation (Pearlmutter 1994); ``v`` of shape ``(P,)`` or ``(m, P)``."""
        theta, X, y = self.check_inputs(theta, X, y)
        V = as_float_array(v, "v")
        if V.ndim not in (1, 2) or V.shape[-1] != self.size:
            raise ValueError(
                f"v must have shape (P,) or (m, P) with P = {self.size}; got shape "
                f"{V.shape}."
            )
        out = self._hvp(theta, self._forward(theta, X), y, np.atleast_2d(V))
        return out[0] if V.ndim == 1 else out

    def _hvp(self, theta, fwd, y, V) -> np.ndarray:
        Ws = self.weights(theta)
        Vs = self._directions(V)
        L = len(Ws)
        # forward: R{a_bar_l} (the change of each layer's input) and R{s_l}
        r_inputs = [np.zeros((V.shape[0],) + fwd.inputs[0].shape)]
        for layer in range(L):
            rs = fwd.inputs[layer] @ Vs[layer] + r_inputs[layer] @ Ws[layer]
            if layer < L - 1:
                a = fwd.hidden[layer]
                ra = (1.0 - a * a) * rs
                r_inputs.append(np.concatenate(  # the bias input 1 does not change
                    [ra, np.zeros(ra.shape[:-1] + (1,))], axis=-1))
        p = fwd.probs
        delta = self._onehot_residual(p, y)
        r_delta = p * rs - p * np.sum(p * rs, axis=-1, keepdims=True)
        n = p.shape[0]
        grads = [None] * L
        for layer in range(L - 1, -1, -1):
            grads[layer] = (np.swapaxes(r_inputs[layer], -1, -2) @ delta
                            + fwd.inputs[layer].T @ r_delta) / n
            if layer == 0:
                break
            a = fwd.hidden[layer - 1]
            W = Ws[layer][:-1]
            back = delta @ W.T
            r_back = r_delta @ W.T + delta @ np.swapaxes(Vs[layer][:, :-1], -1, -2)
            r_a = r_inputs[layer][..., :-1]
            r_delta = r_back * (1.0 - a * a) - back * 2.0 * a * r_a
            delta = back * (1.0 - a * a)
        return np.concatenate([g.reshape(V.shape[0], -1) for g in grads], axis=1)

    def hessian(self, theta, X, y) -> np.ndarray:
        r"""The exact Hessian :math:`\nabla^2 L` of the mean NLL, from
        Hessian-vector products with the unit vectors (in chunks); not equal to
        the Fisher away from where the residuals vanish."""
        theta, X, y = self.check_inputs(theta, X, y)
        self._check_square(X, "hessian")
        fwd = self._forward(theta, X)
        P = self.size
        eye = np.eye(P)
        H = np.concatenate([self._hvp(theta, fwd, y, eye[i:i + _HVP_CHUNK])
                            for i in range(0, P, _HVP_CHUNK)])
        return (H + H.T) / 2

    def sample(self, theta, X, rng=None) -> np.ndarray:
        """Labels ``y_i ~ Categorical(p_i)`` (inverse CDF), integers, shape ``(n,)``."""
        probs = self.predict_proba(theta, X)
        u = as_rng(rng).random((probs.shape[0], 1))
        labels = np.sum(np.cumsum(probs, axis=1) < u, axis=1)
        return np.minimum(labels, self.n_classes - 1)

    def accuracy(self, theta, X, y) -> float:
        """The share of rows whose most probable class is ``y_i``."""
        theta, X, y = self.check_inputs(theta, X, y)
        return float(np.mean(np.argmax(self._forward(theta, X).log_probs, axis=1) == y))


# ---------------------------------------------------------------------------
# training on mini-batches
# ---------------------------------------------------------------------------
#: The step sizes :func:`train` uses when ``lr`` is not given (reasonable on the digits;
#: chapter 10 picks each from a grid).
DEFAULT_LR = {"sgd": 0.5, "adam": 1e-2, "kfac": 0.3, "ngd": 0.3}
#: The damping of the curvature methods when ``damping`` is not given.
DEFAULT_DAMPING = {"kfac": 1e-2, "ngd": 1e-2}
_ADAM_BETAS, _ADAM_EPS = (0.9, 0.999), 1e-8
#: How :attr:`OptimizeResult.status` of :func:`train` reads.
TRAIN_STATUSES = ("completed", "diverged")
#: :func:`train` calls a run diverged when the training loss exceeds this many times
#: the larger of the starting loss and log k (the loss of a uniform prediction).
DIVERGENCE_FACTOR = 4.0


def _check_train_inputs(model, X, y, X_test, y_test, theta0, rng):
    if not isinstance(model, MLPClassifier):
        raise TypeError(
            f"model must be an ngd.MLPClassifier (train uses its forward and backward "
            f"passes); got {type(model).__name__}. For other models use "
            "ngd.natural_gradient_descent."
        )
    rng = as_rng(rng)
    if theta0 is None:
        theta0 = model.init_params(rng)
    theta, X, y = model.check_inputs(theta0, X, y)
    if (X_test is None) != (y_test is None):
        raise ValueError(
            f"X_test and y_test go together; got X_test "
            f"{'None' if X_test is None else 'an array'} and y_test "
            f"{'None' if y_test is None else 'an array'}. Pass both or neither."
        )
    if X_test is not None:
        _, X_test, y_test = model.check_inputs(theta, X_test, y_test)
    return theta.copy(), X, y, X_test, y_test, rng


def _check_train_options(model, method, epochs, batch_size, lr, damping, factor_decay):
    method = check_choice(method, "method", METHODS)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = DEFAULT_LR[method] if lr is None else check_positive(lr, "lr")
    if method in DEFAULT_DAMPING:
        damping = (DEFAULT_DAMPING[method] if damping is None
                   else check_positive(damping, "damping"))
    if isinstance(factor_decay, (bool, np.bool_)) or not isinstance(
            factor_decay, numbers.Real):
        raise TypeError(
            f"factor_decay must be a real number in [0, 1); got "
            f"{_show(factor_decay)} of type {type(factor_decay).__name__}. Pass a "
            "float such as 0.95 (0.0 keeps no average), not True/False.")
    if not 0 <= factor_decay < 1:
        raise ValueError(f"factor_decay must be a number in [0, 1); got "
                         f"{_show(factor_decay)}. Use 0.95 (0 keeps no average).")
    if method == "ngd" and model.size > NGD_MAX_PARAMS:
        raise ValueError(
            f"method='ngd' forms and factorises the dense P x P Fisher at every step; "
            f"this network has P = {model.size:,} parameters, more than "
            f"NGD_MAX_PARAMS = {NGD_MAX_PARAMS:,}. Use method='kfac' or a smaller "
            "network."
        )
    return method, epochs, batch_size, lr, damping


def kfac_direction(factors, g, damping: float) -> np.ndarray:
    r"""K-FAC's damped direction, layer by layer: :math:`\operatorname{vec}\big(
    (A + \pi\sqrt\lambda I)^{-1} V (G + \pi^{-1}\sqrt\lambda I)^{-1}\big)`.

    The factored Tikhonov damping of :func:`ngd_lib.kfac.kfac_solve` (its dense
    twin in the tests), without its input checks, which cost more than the solves for
    the small factors of a training step. ``factors`` is a list of ``(A, G)`` pairs in
    parameter order and ``g`` the flat gradient. A zero trace (no curvature in a
    factor) gives :math:`\pi = 1`.
    """
    out, start, root = [], 0, math.sqrt(damping)
    for A, G in factors:
        a, b = A.shape[0], G.shape[0]
        trace_a, trace_g = np.trace(A) / a, np.trace(G) / b
        pi = math.sqrt(trace_a / trace_g) if trace_a > 0 and trace_g > 0 else 1.0
        V = g[start:start + a * b].reshape(a, b)
        left = np.linalg.solve(A + pi * root * np.eye(a), V)
        out.append(np.linalg.solve(G + root / pi * np.eye(b), left.T).T.ravel())
        start += a * b
    return np.concatenate(out)


class _Stepper:
    """The update rule of one method: ``direction(theta, Xb, yb) -> (loss, d)``."""

    def __init__(self, model, method, lr, damping, factor_decay, rng):
        self.model, self.method, self.lr, self.damping = model, method, lr, damping
        self.decay, self.rng = factor_decay, rng
        self.t, self.m, self.v, self.factors = 0, 0.0, 0.0, None
        self.curvature_time = 0.0

    def step(self, theta, Xb, yb) -> np.ndarray:
        model = self.model
        fwd = model._forward(theta, Xb)
        probs = fwd.probs
        deltas = model._backward(theta, fwd, model._onehot_residual(probs, yb))
        g = model._layer_grads(fwd, deltas)
        self.t += 1
        if self.method == "sgd":
            return theta - self.lr * g
        if self.method == "adam":
            (b1, b2), t = _ADAM_BETAS, self.t
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            m_hat, v_hat = self.m / (1 - b1**t), self.v / (1 - b2**t)
            return theta - self.lr * m_hat / (np.sqrt(v_hat) + _ADAM_EPS)
        start = time.perf_counter()
        d = self._kfac(theta, fwd, probs, g) if self.method == "kfac" else \
            self._ngd(theta, fwd, probs, g)
        self.curvature_time += time.perf_counter() - start
        return theta - self.lr * d

    def _kfac(self, theta, fwd, probs, g) -> np.ndarray:
        model, n = self.model, probs.shape[0]
        u = self.rng.random((n, 1))  # labels sampled from the model: the true Fisher
        sampled = np.minimum(np.sum(np.cumsum(probs, axis=1) < u, axis=1),
                             model.n_classes - 1)
        deltas = model._backward(theta, fwd, model._onehot_residual(probs, sampled))
        new = [(a.T @ a / n, s.T @ s / n) for a, s in zip(fwd.inputs, deltas,
                                                          strict=True)]
        if self.factors is None:
            self.factors = new
        else:
            r = self.decay
            self.factors = [(r * A + (1 - r) * A1, r * G + (1 - r) * G1)
                            for (A, G), (A1, G1) in zip(self.factors, new, strict=True)]
        return kfac_direction(self.factors, g, self.damping)

    def _ngd(self, theta, fwd, probs, g) -> np.ndarray:
        # F_B = (1/n) sum_i sum_c p_ic g_ic g_ic^T = R^T R / n, one row of R per
        # (example, class): the label expectation, exactly
        model, n, k = self.model, probs.shape[0], self.model.n_classes
        R = np.concatenate([model._per_example(theta, fwd, np.full(n, c))
                            * np.sqrt(probs[:, c])[:, None] for c in range(k)])
        try:
            if n * k < model.size:  # Woodbury: an (n k) x (n k) system, not P x P
                return woodbury_solve(math.sqrt(k) * R, g, damping=self.damping)
            return cholesky_solve(R.T @ R / n, g, damping=self.damping)
        except ValueError as err:  # the solvers' overflow / not-positive-definite
            raise ModelDomainError(f"the batch Fisher solve failed: {err}") from err


def train(model, X, y, *, method: str, epochs: int = 10, batch_size: int = 64,
          lr: float | None = None, damping: float | None = None, rng=None,
          theta0=None, X_test=None, y_test=None,
          factor_decay: float = 0.95) -> OptimizeResult:
    r"""Train an :class:`MLPClassifier` on mini-batches with SGD, Adam, K-FAC or NGD.

    Each epoch visits the rows of ``X`` once in a fresh random order, in batches of
    ``batch_size``; on a batch with gradient :math:`g` of the mean NLL:

    * ``"sgd"``: :math:`\theta \leftarrow \theta - \alpha g`;
    * ``"adam"``: Adam with :math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`
      (Kingma & Ba 2015);
    * ``"kfac"``: :math:`\theta \leftarrow \theta - \alpha\,\tilde F^{-1} g` with one
      Kronecker block :math:`A_\ell \otimes G_\ell` per layer (Martens & Grosse 2015),
      ``G`` from labels sampled from the model, both factors averaged over batches
      with weight ``factor_decay`` on the past, and factored Tikhonov damping
      (:func:`kfac_direction`, the damping of :func:`ngd_lib.kfac.kfac_solve`).
      Simpler than the paper's K-FAC: the factors are inverted at every step (no
      amortised inversion), and there is no momentum and no adaptive damping or
      step-size rescaling;
    * ``"ngd"``: :math:`\theta \leftarrow \theta - \alpha (F_B + \lambda I)^{-1} g`
      with the exact Fisher :math:`F_B` of the batch: ``k`` rows
      :math:`\sqrt{p_{ic}}\,g_{ic}` per example, solved by Woodbury when the batch
      has fewer rows than parameters and by Cholesky otherwise; for networks of at
      most :data:`NGD_MAX_PARAMS` parameters.

    Parameters
    ----------
    model : MLPClassifier
    X, y : array_like
        Training inputs ``(n, layer_sizes[0])`` and labels ``0 .. k-1``.
    method : {"sgd", "adam", "kfac", "ngd"}, keyword-only
    epochs, batch_size : int, keyword-only
        Passes over the data (>= 1); rows per step (>= 1; the last batch of an epoch
        may be smaller).
    lr : float, keyword-only
        :math:`\alpha > 0`; default :data:`DEFAULT_LR` of the method.
    damping : float, keyword-only
        :math:`\lambda > 0` of ``"kfac"`` and ``"ngd"`` (default
        :data:`DEFAULT_DAMPING`); unused by ``"sgd"`` and ``"adam"``.
    rng : None, int or numpy.random.Generator, keyword-only
        Shuffles the batches, samples K-FAC's labels, and draws ``theta0`` if absent.
    theta0 : array_like, keyword-only
        The start; default ``model.init_params(rng)``.
    X_test, y_test : array_like, keyword-only
        Held-out data for the accuracy recorded after each epoch (both or neither).
    factor_decay : float, keyword-only
        K-FAC's running-average weight in ``[0, 1)`` (a real number, numpy floats
        included; not a bool): the factors after a batch are ``factor_decay`` times
        the previous ones plus ``1 - factor_decay`` times the batch's; 0 uses the
        current batch only.

    Returns
    -------
    OptimizeResult
        ``x`` (the last finite parameters), ``fun`` (the training loss there), ``nit``
        (epochs completed), ``success`` and ``status`` (``"completed"`` or
        ``"diverged"``: a non-finite loss or step, or a loss above
        :data:`DIVERGENCE_FACTOR` times the start's or log k; never a silent NaN),
        ``message``;
        ``history`` has one row per epoch (row 0 the start): ``x``, ``fun`` (mean NLL
        on all of ``X``), ``grad_norm``, and ``time`` (cumulative training seconds,
        evaluation excluded), ``epoch_time``, ``curvature_time`` (seconds of the
        epoch spent building and solving with the curvature: K-FAC's factors, the
        dense Fisher), ``test_accuracy`` (NaN without test data).

    Raises
    ------
    TypeError
        If ``model`` is not an :class:`MLPClassifier` or an option has a wrong type
        (``factor_decay=True``, for instance).
    ValueError
        For invalid data or options (unknown method, ``epochs < 1``, ``lr <= 0``),
        or ``method="ngd"`` on a network with more than :data:`NGD_MAX_PARAMS`
        parameters.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
    >>> model = ngd.MLPClassifier((2, 8, 2))
    >>> res = ngd.mlp.train(model, X, y, method="kfac", epochs=20, rng=0)
    >>> res.status, bool(res.fun < res.history.fun[0])
    ('completed', True)
    """
    theta, X, y, X_test, y_test, rng = _check_train_inputs(model, X, y, X_test,
                                                           y_test, theta0, rng)
    method, epochs, batch_size, lr, damping = _check_train_options(
        model, method, epochs, batch_size, lr, damping, factor_decay)
    stepper = _Stepper(model, method, lr, damping, float(factor_decay), rng)
    rows = {key: [] for key in ("x", "fun", "grad_norm", "time", "epoch_time",
                                "curvature_time", "test_accuracy")}

    def record(theta, value, g, elapsed, epoch_time, curvature_time):
        accuracy = (model.accuracy(theta, X_test, y_test) if X_test is not None
                    else math.nan)
        for key, val in zip(rows, (theta.copy(), value, float(np.linalg.norm(g)),
                                   elapsed, epoch_time, curvature_time, accuracy),
                            strict=True):
            rows[key].append(val)

    value, g = model.nll_and_grad(theta, X, y)
    record(theta, value, g, 0.0, 0.0, 0.0)
    ceiling = DIVERGENCE_FACTOR * max(value, math.log(model.n_classes))
    n, elapsed, status, message = X.shape[0], 0.0, "completed", ""
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        before, start = stepper.curvature_time, time.perf_counter()
        new = theta
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for first in range(0, n, batch_size):
                    batch = order[first:first + batch_size]
                    new = stepper.step(new, X[batch], y[batch])
                    if not np.isfinite(np.sum(new)):
                        raise ModelDomainError("the step is not finite")
            epoch_time = time.perf_counter() - start
            new_value, new_g = model.nll_and_grad(new, X, y)
        except (ModelDomainError, np.linalg.LinAlgError) as err:
            status = "diverged"
            message = (f"diverged in epoch {epoch} ({err}); x is the parameters after "
                       f"epoch {epoch - 1}. Use a smaller lr (was {lr:g})"
                       + (f" or more damping (was {damping:g})." if damping else "."))
            break
        if not (math.isfinite(new_value) and np.isfinite(np.sum(new_g))
                and new_value <= ceiling):
            status, message = "diverged", (
                f"the training loss is {new_value:.4g} after epoch {epoch} (more than "
                f"{DIVERGENCE_FACTOR:g} x max(start, log k) = {ceiling:.4g}, or not "
                f"finite); x is the parameters after epoch {epoch - 1}. Use a smaller "
                f"lr (was {lr:g}).")
            break
        theta, value, g = new, new_value, new_g
        elapsed += epoch_time
        record(theta, value, g, elapsed, epoch_time, stepper.curvature_time - before)
    nit = len(rows["fun"]) - 1
    if status == "completed":
        message = f"completed {epochs} epochs of {method}; training loss {value:.4g}."
    history = History.from_lists(rows.pop("x"), rows.pop("fun"), rows.pop("grad_norm"),
                                 **rows)
    return OptimizeResult(theta, float(value), nit, status == "completed", message,
                          history, status)
