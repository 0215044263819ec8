"""The one KL trust-region step of the library.

Natural gradient descent under a KL budget (chapter 5), the natural policy gradient
(chapter 7) and TRPO all take a step :math:`\\alpha d` along a direction :math:`d`
(usually :math:`F^{-1} g`) whose length puts the quadratic model of the KL divergence,
:math:`\\tfrac12 \\alpha^2 d^\\top F d`, on the budget. This module is that step, once.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import as_float_array, check_positive

__all__ = ["kl_step_size"]


def kl_step_size(d, Fd, max_kl) -> float:
    r"""The step length that spends exactly the KL budget along ``d``.

    The step :math:`\Delta = \alpha d` has the second-order KL
    :math:`\tfrac12 \Delta^\top F \Delta = \tfrac12 \alpha^2 d^\top F d`, which equals
    the budget :math:`\delta` (``max_kl``) for

    .. math::

        \alpha = \sqrt{\frac{2\,\delta}{d^\top F d}}.

    With :math:`d = F^{-1} g` the denominator is :math:`g^\top F^{-1} g` (TRPO's
    :math:`\beta = \sqrt{2\delta / s^\top A s}`, Schulman et al. 2015, App. C). The
    budget :math:`\delta` is a KL value, the square :math:`\varepsilon^2` of chapter 2's
    radius :math:`\varepsilon`; it is never a radius here.

    Parameters
    ----------
    d : array_like, shape (P,)
        The step direction, non-zero.
    Fd : array_like, shape (P,)
        The Fisher (or any SPD curvature) applied to ``d``; only
        :math:`d^\top F d` is used, which must be positive.
    max_kl : float
        The KL budget :math:`\delta`, ``> 0``.

    Returns
    -------
    float
        :math:`\alpha > 0`.

    Raises
    ------
    ValueError
        If the shapes differ, ``max_kl <= 0``, or :math:`d^\top F d \le 0` (a zero
        direction, or a curvature that is not positive along ``d``).

    Examples
    --------
    >>> F = np.diag([4.0, 1.0]); d = np.linalg.solve(F, [2.0, 0.0])
    >>> alpha = kl_step_size(d, F @ d, 0.01)
    >>> round(float(0.5 * (alpha * d) @ F @ (alpha * d)), 12)
    0.01
    """
    d = as_float_array(d, "d", ndim=1)
    Fd = as_float_array(Fd, "Fd", ndim=1)
    if d.shape != Fd.shape:
        raise ValueError(
            f"Fd must have the shape of d, {d.shape}; got {Fd.shape}. Pass the "
            "curvature applied to d (F @ d), not F itself."
        )
    max_kl = check_positive(max_kl, "max_kl")
    # scale before the dot product so that huge or tiny directions do not overflow
    scale = float(np.max(np.abs(d))) if d.size else 0.0
    if scale == 0.0:
        raise ValueError(
            "d is the zero vector, so no step length reaches the KL budget; the "
            "gradient is zero (a stationary point) or the solve failed."
        )
    curvature = float((d / scale) @ Fd)  # = d^T F d / scale
    if not curvature > 0.0 or not math.isfinite(curvature):
        raise ValueError(
            f"d^T F d must be positive and finite; got {curvature * scale!r}. The "
            "curvature is not positive along d: add damping or check Fd = F @ d."
        )
    # alpha = sqrt(2 max_kl / (scale * curvature)), arranged to avoid overflow
    return math.sqrt(2.0 * max_kl / curvature) / math.sqrt(scale)
