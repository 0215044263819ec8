r"""The 1-D linear-quadratic problem with a Gaussian linear policy, in closed form.

The environment of chapter 7 is a scalar linear system with a quadratic reward and a
linear Gaussian policy,

.. math::

    s_{t+1} = a s_t + b u_t, \qquad r_t = -q s_t^2 - r u_t^2, \qquad
    u_t \sim \pi_\theta(\cdot \mid s_t) = \mathcal N(k s_t, \sigma^2),
    \qquad \theta = (k, \sigma),

with :math:`s_0 \sim \mathcal N(\mu_0, v_0)` and the discounted return
:math:`J(\theta) = \mathbb E[\sum_{t\ge0}\gamma^t r_t]`. Everything the chapter needs
has a closed form here (return, gradient, Hessian, Fisher matrix, natural gradient,
optimal gain, gradient fields and the exact ascent paths);
:mod:`ngd_lib.rl` holds the Monte-Carlo twins computed from rollouts.

Write :math:`c = a + bk` for the closed loop and :math:`m_0 = \mathbb E[s_0^2] = \mu_0^2
+ v_0`. With :math:`u_t = k s_t + \sigma\varepsilon_t`, the state obeys
:math:`s_{t+1} = c s_t + b\sigma\varepsilon_t`, so :math:`m_{t+1} = c^2 m_t +
b^2\sigma^2` and, when :math:`\gamma c^2 < 1`,

.. math::

    P(k) = \frac{q + r k^2}{1 - \gamma c^2}, \qquad
    M(k, \sigma) = \sum_t \gamma^t\,\mathbb E[s_t^2]
        = \frac{m_0 + \gamma b^2\sigma^2/(1-\gamma)}{1 - \gamma c^2},

    J(k, \sigma) = -\Bigl(m_0 P + \frac{\sigma^2 (r + \gamma b^2 P)}{1-\gamma}\Bigr),

    \nabla_k J = -2 M\,(r k + \gamma b c P), \qquad
    \nabla_\sigma J = -\frac{2\sigma (r + \gamma b^2 P)}{1 - \gamma},

    F = \frac{1}{\sigma^2}\begin{pmatrix} M & 0 \\ 0 & 2/(1-\gamma)\end{pmatrix},
    \qquad
    F^{-1}\nabla J = \begin{pmatrix} -2\sigma^2 (r k + \gamma b c P) \\
        -\sigma^3 (r + \gamma b^2 P)\end{pmatrix}.

References
----------
Peters & Schaal (2008), "Natural Actor-Critic", Neurocomputing 71, Fig. 1; Kakade
(2001), "A Natural Policy Gradient"; Levine, CS285 lecture 5; Lin (2019), CMU 10-703
recitation on natural gradient descent.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import _show, as_float_array
from .result import History, OptimizeResult

__all__ = ["LinearQuadratic"]

#: The largest float; closed forms beyond it overflow.
_FLOAT_MAX = float(np.finfo(float).max)


# ------------------------------------------------------------ input checks
# The scalar checks of this module and of ngd_lib.rl (arrays go through
# as_float_array): a bool, a complex number, a string or an integer beyond the float
# range gets a message naming the argument, and a range error says how to fix it.
def check_real(value, name: str) -> float:
    """Return ``value`` as a finite float; TypeError/ValueError naming ``name``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number; got {_show(value)} of type "
            f"{type(value).__name__}. Pass a float such as 0.5 (not a bool, complex "
            "number or string)."
        )
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(
            f"{name} = {_show(value)} is too large for a float (|x| > "
            f"{_FLOAT_MAX:.3g}). Pass a finite float for {name}."
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}. Pass a finite float.")
    return value


def check_positive_real(value, name: str, *, allow_zero: bool = False,
                        fix: str = "") -> float:
    """:func:`check_real`, then ``> 0`` (or ``>= 0``); the message says how to fix."""
    value = check_real(value, name)
    if not (value >= 0 if allow_zero else value > 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}; got {value!r}. "
                         + (fix or f"Pass a positive float for {name}."))
    return value


def check_count(value, name: str, *, minimum: int = 1, fix: str = "") -> int:
    """Return ``value`` as an int ``>= minimum``; TypeError/ValueError naming it."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer; got {_show(value)} of type "
            f"{type(value).__name__}. Pass a whole number such as 100."
        )
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}. "
                         + (fix or f"Pass {name}={max(minimum, 1)} or more."))
    return int(value)


def check_flag(value, name: str) -> bool:
    """Return ``value`` as a bool; a TypeError naming ``name`` for anything else
    (a string such as ``"no"`` would otherwise count as True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False; got {_show(value)} of type "
            f"{type(value).__name__}. Pass {name}=True or {name}=False."
        )
    return bool(value)


def _scalar_or_array(x: np.ndarray):
    """Return a Python float for 0-d arrays, the array otherwise."""
    return float(x) if x.ndim == 0 else x


def _broadcast(k, sigma) -> tuple[np.ndarray, np.ndarray]:
    """``k`` and ``sigma`` as float arrays of one shape, or a ValueError saying so."""
    k = as_float_array(k, "k")
    sigma = as_float_array(sigma, "sigma")
    try:
        return tuple(np.broadcast_arrays(k, sigma))
    except ValueError:
        raise ValueError(
            f"k and sigma must broadcast against each other; got shapes {k.shape} "
            f"and {sigma.shape}. Pass arrays of one shape (e.g. from np.meshgrid) "
            "or a scalar for one of them."
        ) from None


def _first_bad(mask, *arrays) -> tuple:
    """The entries of ``arrays`` at the first True of ``mask`` (arrays broadcast)."""
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape) if mask.ndim else ()
    return tuple(float(np.broadcast_to(a, mask.shape)[idx]) for a in arrays)


@dataclass(frozen=True)
class LinearQuadratic:
    r"""The 1-D discounted linear-quadratic problem with a Gaussian linear policy.

    Dynamics :math:`s' = a s + b u`, reward :math:`-q s^2 - r u^2`, policy
    :math:`u \sim \mathcal N(k s, \sigma^2)`, discount :math:`\gamma`, initial state
    :math:`s_0 \sim \mathcal N(\mu_0, v_0)`. The closed loop :math:`s' = (a + bk)s +
    b\sigma\varepsilon` has a finite discounted return iff
    :math:`\gamma (a + bk)^2 < 1` (see :meth:`stable_gains`).

    Parameters
    ----------
    a, b : float
        The dynamics; ``b`` must be non-zero (otherwise the action does nothing).
    q : float
        State cost, ``>= 0``.
    r : float
        Action cost, ``> 0`` (the Riccati equation needs it).
    gamma : float
        Discount factor in ``(0, 1)``.
    s0_mean, s0_var : float
        Mean and variance (``>= 0``) of the initial state.

    Raises
    ------
    TypeError
        If a parameter is not a real number (bools, complex numbers and strings are
        refused).
    ValueError
        If a parameter is out of range, not finite or beyond the float range.

    Examples
    --------
    The recitation's problem (reward :math:`-s^2 - a^2`, :math:`s' = s + a`):

    >>> env = LinearQuadratic()
    >>> round(env.optimal_gain(), 4)
    -0.5884
    >>> round(env.expected_return(-0.5, 0.5), 4)
    -7.7419

    Peters & Schaal's set-up (reward :math:`-\tfrac12(s^2 + 0.1 a^2)`):

    >>> peters = LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)

    References
    ----------
    Peters & Schaal (2008), Neurocomputing 71, Fig. 1; Lin (2019), recitation.
    """

    a: float = 1.0
    b: float = 1.0
    q: float = 1.0
    r: float = 1.0
    gamma: float = 0.9
    s0_mean: float = 0.0
    s0_var: float = 1.0

    def __post_init__(self):
        for name in ("a", "b", "s0_mean"):
            object.__setattr__(self, name, check_real(getattr(self, name), name))
        if self.b == 0.0:
            raise ValueError(
                "b must be non-zero; got 0.0. With b = 0 the action has no effect on "
                "the state and there is nothing to control."
            )
        object.__setattr__(self, "q", check_positive_real(
            self.q, "q", allow_zero=True, fix="q is the weight of the state cost."))
        object.__setattr__(self, "r", check_positive_real(
            self.r, "r", fix="r is the weight of the action cost; the Riccati "
            "equation needs r > 0, e.g. r=1.0."))
        object.__setattr__(self, "s0_var", check_positive_real(
            self.s0_var, "s0_var", allow_zero=True,
            fix="s0_var is the variance of the initial state (0 for a fixed s0)."))
        gamma = check_real(self.gamma, "gamma")
        if not 0.0 < gamma < 1.0:
            raise ValueError(
                f"gamma must lie strictly between 0 and 1; got {gamma!r}. The "
                "infinite-horizon return needs discounting, e.g. gamma=0.9."
            )
        object.__setattr__(self, "gamma", gamma)

    # ------------------------------------------------------------------ basics
    @property
    def initial_second_moment(self) -> float:
        r""":math:`m_0 = \mathbb E[s_0^2] = \mu_0^2 + v_0`."""
        return self.s0_mean**2 + self.s0_var

    def stable_gains(self) -> tuple[float, float]:
        r"""The open interval of gains with :math:`\gamma(a + bk)^2 < 1`.

        Returns
        -------
        (k_low, k_high) : tuple of float
            :math:`((\mp\gamma^{-1/2} - a)/b)`, ordered.
        """
        edge = 1.0 / math.sqrt(self.gamma)
        lo, hi = (-edge - self.a) / self.b, (edge - self.a) / self.b
        return (min(lo, hi), max(lo, hi))

    def is_stable(self, k):
        r"""Whether :math:`\gamma(a + bk)^2 < 1` (the discounted return is finite).

        Parameters
        ----------
        k : float or array_like
            Gain(s).

        Returns
        -------
        bool or ndarray of bool
        """
        k = as_float_array(k, "k")
        with np.errstate(over="ignore"):
            stable = self.gamma * (self.a + self.b * k) ** 2 < 1.0
        return bool(stable) if stable.ndim == 0 else stable

    def check_policy(self, k, sigma) -> tuple[np.ndarray, np.ndarray]:
        """Validate a policy :math:`(k, \\sigma)`: the closed forms' input check.

        Parameters
        ----------
        k, sigma : float or array_like
            Gain(s) and noise level(s), broadcast against each other.

        Returns
        -------
        (k, sigma) : tuple of ndarray
            Float arrays of the broadcast shape.

        Raises
        ------
        TypeError
            If an entry is not a real number.
        ValueError
            If the shapes do not broadcast, an entry is not finite, a ``sigma`` is not
            positive or a gain makes the closed loop unstable (the message gives the
            interval of stable gains).
        """
        k, sigma = _broadcast(k, sigma)
        if np.any(sigma <= 0):
            bad = sigma[sigma <= 0] if sigma.ndim else sigma
            raise ValueError(
                f"sigma must be > 0; got {_show(bad)}. The Gaussian policy "
                "N(k s, sigma^2) needs exploration noise: its score and Fisher matrix "
                "scale like 1/sigma and are undefined at sigma = 0."
            )
        unstable = ~np.asarray(self.is_stable(k))
        if np.any(unstable):
            bad = k[unstable] if k.ndim else k
            lo, hi = self.stable_gains()
            raise ValueError(
                f"the closed loop is unstable at k = {_show(bad)}: gamma*(a + b*k)**2 "
                f">= 1, so the discounted return is -infinity. Use k in the open "
                f"interval ({lo:.6g}, {hi:.6g})."
            )
        return k, sigma

    @staticmethod
    def _finite(out, what: str, k, sigma):
        """Raise a ValueError naming the policy where ``out`` overflowed."""
        bad = ~np.isfinite(out)
        if np.any(bad):
            if bad.ndim > np.ndim(k):  # trailing axes of a gradient or a matrix
                bad = bad.reshape(*np.shape(k), -1).any(axis=-1)
            k_bad, s_bad = _first_bad(bad, k, sigma)
            raise ValueError(
                f"{what} overflows a float at k = {k_bad!r}, sigma = {s_bad!r} "
                f"(a value beyond {_FLOAT_MAX:.3g}). Use a smaller sigma or a gain "
                "farther inside the stable interval."
            )
        return out

    def value_coefficient(self, k):
        r""":math:`P(k) = (q + r k^2)/(1 - \gamma(a + bk)^2)`.

        The value of state :math:`s` under the policy is :math:`-P s^2 -
        \sigma^2(r + \gamma b^2 P)/(1-\gamma)`. ``inf`` where the loop is unstable.
        """
        k = as_float_array(k, "k")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            denom = 1.0 - self.gamma * (self.a + self.b * k) ** 2
            P = np.where(denom > 0, (self.q + self.r * k**2) / denom, np.inf)
        return _scalar_or_array(P)

    def discounted_state_moment(self, k, sigma):
        r""":math:`M = \sum_t \gamma^t \mathbb E[s_t^2]` under the noisy closed loop.

        :math:`m_{t+1} = (a+bk)^2 m_t + b^2\sigma^2` sums to
        :math:`M = (m_0 + \gamma b^2\sigma^2/(1-\gamma))/(1 - \gamma(a+bk)^2)`.

        Raises
        ------
        ValueError
            If ``sigma <= 0``, the closed loop is unstable or :math:`M` overflows.
        """
        k, sigma = self.check_policy(k, sigma)
        with np.errstate(over="ignore", invalid="ignore"):
            M = self._moment(k, sigma)
        return _scalar_or_array(self._finite(M, "the state moment M", k, sigma))

    # Unvalidated kernels (arrays or floats, stable k and sigma > 0 assumed); the
    # public methods validate and then call these, the path loops call them directly.
    def _moment(self, k, sigma):
        c = self.a + self.b * k
        return (self.initial_second_moment
                + self.gamma * self.b**2 * sigma**2 / (1 - self.gamma)) / (
            1 - self.gamma * c**2)

    def _P(self, k):
        return (self.q + self.r * k**2) / (1 - self.gamma * (self.a + self.b * k) ** 2)

    def _return(self, k, sigma):
        P = self._P(k)
        return -(self.initial_second_moment * P
                 + sigma**2 * (self.r + self.gamma * self.b**2 * P) / (1 - self.gamma))

    def _gradient(self, k, sigma):
        c, P = self.a + self.b * k, self._P(k)
        M = self._moment(k, sigma)
        grad_k = -2 * M * (self.r * k + self.gamma * self.b * c * P)
        grad_sigma = -2 * sigma * (self.r + self.gamma * self.b**2 * P) / (
            1 - self.gamma)
        return grad_k, grad_sigma

    def _hessian(self, k, sigma):
        # J = -(m0 + gamma b^2 sigma^2/(1-gamma)) P(k) - r sigma^2/(1-gamma); with
        # D = 1 - gamma c^2: P' = 2(rk + gamma b c P)/D and, differentiating
        # P D = q + r k^2 twice, P'' = (2r + 4 gamma b c P' + 2 gamma b^2 P)/D.
        g, b = self.gamma, self.b
        c = self.a + b * k
        D = 1 - g * c**2
        P = (self.q + self.r * k**2) / D
        dP = 2 * (self.r * k + g * b * c * P) / D
        d2P = (2 * self.r + 4 * g * b * c * dP + 2 * g * b**2 * P) / D
        size = self.initial_second_moment + g * b**2 * sigma**2 / (1 - g)
        h_kk = -size * d2P
        h_ks = -2 * sigma * g * b**2 * dP / (1 - g)
        h_ss = -2 * (self.r + g * b**2 * P) / (1 - g)
        return h_kk, h_ks, h_ss

    def _natural(self, k, sigma):
        c, P = self.a + self.b * k, self._P(k)
        w_k = -2 * sigma**2 * (self.r * k + self.gamma * self.b * c * P)
        w_sigma = -(sigma**3) * (self.r + self.gamma * self.b**2 * P)
        return w_k, w_sigma

    # ------------------------------------------------------------ closed forms
    def expected_return(self, k, sigma, *, normalized: bool = False):
        r"""The discounted return :math:`J(k, \sigma)` in closed form.

        .. math::

            J = -\Bigl(m_0 P(k) + \frac{\sigma^2 (r + \gamma b^2 P(k))}{1-\gamma}\Bigr)

        Parameters
        ----------
        k, sigma : float or array_like
            Gain(s) and noise level(s) ``>= 0`` (``sigma = 0`` is the deterministic
            policy); broadcast against each other. Empty arrays give empty results.
        normalized : bool, keyword-only
            Return :math:`(1-\gamma) J` (Peters & Schaal's normalised return, the
            expected reward under the normalised discounted state distribution).

        Returns
        -------
        float or ndarray
            ``-inf`` where :math:`\gamma(a+bk)^2 \ge 1` (the return diverges); never
            NaN.

        Raises
        ------
        ValueError
            If any ``sigma < 0``, an entry is not finite, the shapes do not broadcast,
            or :math:`J` of a stable gain overflows a float (a huge ``sigma``).
        """
        k, sigma = _broadcast(k, sigma)
        if np.any(sigma < 0):
            bad = sigma[sigma < 0] if sigma.ndim else sigma
            raise ValueError(
                f"sigma must be >= 0; got {_show(bad)}. It is the standard deviation "
                "of the policy's noise."
            )
        P = np.asarray(self.value_coefficient(k))
        with np.errstate(invalid="ignore", over="ignore"):
            J = -(self.initial_second_moment * P
                  + sigma**2 * (self.r + self.gamma * self.b**2 * P) / (1 - self.gamma))
        stable = np.isfinite(P)
        self._finite(np.where(stable, J, 0.0), "the return J", k, sigma)
        J = np.where(stable, J, -np.inf)
        if normalized:
            J = (1 - self.gamma) * J
        return _scalar_or_array(J)

    def policy_gradient(self, k, sigma, *, normalized: bool = False) -> np.ndarray:
        r"""The exact gradient :math:`\nabla_\theta J`, :math:`\theta = (k, \sigma)`.

        .. math::

            \nabla_k J = -2 M (r k + \gamma b c P), \qquad
            \nabla_\sigma J = -\frac{2\sigma (r + \gamma b^2 P)}{1-\gamma},

        with :math:`c = a + bk` and :math:`M` from :meth:`discounted_state_moment`
        (from :math:`P'(k) = 2(rk + \gamma b c P)/(1 - \gamma c^2)`).

        Parameters
        ----------
        k, sigma : float or array_like
            Broadcast against each other.
        normalized : bool, keyword-only
            The gradient of :math:`(1-\gamma)J` instead.

        Returns
        -------
        ndarray, shape (..., 2)
            ``[..., 0]`` is :math:`\partial J/\partial k`, ``[..., 1]`` is
            :math:`\partial J/\partial\sigma`.

        Raises
        ------
        ValueError
            If ``sigma <= 0``, the closed loop is unstable (the message gives the
            interval of stable gains) or the gradient overflows a float.
        """
        k, sigma = self.check_policy(k, sigma)
        with np.errstate(over="ignore", invalid="ignore"):
            grad = np.stack(self._gradient(k, sigma), axis=-1)
        self._finite(grad, "the gradient of J", k, sigma)
        return (1 - self.gamma) * grad if normalized else grad

    def return_hessian(self, k, sigma, *, normalized: bool = False) -> np.ndarray:
        r"""The exact Hessian :math:`\nabla^2_\theta J` of the return.

        From :math:`J = -\bigl(m_0 + \gamma b^2\sigma^2/(1-\gamma)\bigr)P(k)
        - r\sigma^2/(1-\gamma)`,

        .. math::

            \partial_k^2 J = -\Bigl(m_0 + \frac{\gamma b^2\sigma^2}{1-\gamma}\Bigr)
                P''(k), \qquad
            \partial_k\partial_\sigma J = -\frac{2\gamma b^2\sigma P'(k)}{1-\gamma},
            \qquad
            \partial_\sigma^2 J = -\frac{2(r + \gamma b^2 P)}{1-\gamma},

        with :math:`P' = 2(rk + \gamma b c P)/D`, :math:`P'' = (2r + 4\gamma b c P'
        + 2\gamma b^2 P)/D`, :math:`c = a + bk`, :math:`D = 1 - \gamma c^2`
        (differentiate :math:`P D = q + rk^2` twice). It is not the Fisher matrix:
        it depends on the reward, the Fisher only on the policy and the states.

        Parameters
        ----------
        k, sigma : float or array_like
            Broadcast against each other.
        normalized : bool, keyword-only
            The Hessian of :math:`(1-\gamma)J` instead.

        Returns
        -------
        ndarray, shape (..., 2, 2)
            Symmetric; ``[..., 0, 0]`` is :math:`\partial_k^2 J`.

        Raises
        ------
        ValueError
            If ``sigma <= 0``, the closed loop is unstable or the Hessian overflows.

        Examples
        --------
        >>> env = LinearQuadratic()
        >>> H = env.return_hessian(-0.5, 0.5)
        >>> bool(np.all(np.linalg.eigvalsh(H) < 0))
        True
        """
        k, sigma = self.check_policy(k, sigma)
        with np.errstate(over="ignore", invalid="ignore"):
            h_kk, h_ks, h_ss = self._hessian(k, sigma)
        H = np.empty(k.shape + (2, 2))
        H[..., 0, 0] = h_kk
        H[..., 0, 1] = H[..., 1, 0] = h_ks
        H[..., 1, 1] = h_ss
        self._finite(H, "the Hessian of J", k, sigma)
        return (1 - self.gamma) * H if normalized else H

    def fisher(self, k, sigma, *, normalized: bool = False) -> np.ndarray:
        r"""The Fisher matrix :math:`\sum_t\gamma^t\mathbb E[\nabla\log\pi
        \,\nabla\log\pi^\top]` over the discounted state distribution.

        The scores are :math:`\partial_k\log\pi = \varepsilon s/\sigma` and
        :math:`\partial_\sigma\log\pi = (\varepsilon^2 - 1)/\sigma` with
        :math:`\varepsilon = (u - ks)/\sigma`, so

        .. math::

            F = \frac{1}{\sigma^2}
                \begin{pmatrix} M & 0 \\ 0 & 2/(1-\gamma)\end{pmatrix}.

        Parameters
        ----------
        k, sigma : float or array_like
        normalized : bool, keyword-only
            :math:`(1-\gamma)F`, the Fisher matrix under the normalised discounted
            state distribution (Peters & Schaal's :math:`\mathrm{diag}(\mathbb E_d[s^2],
            2)/\sigma^2`). The natural gradient is the same either way.

        Returns
        -------
        ndarray, shape (..., 2, 2)

        Raises
        ------
        ValueError
            If ``sigma <= 0``, the closed loop is unstable or :math:`F` overflows (a
            tiny ``sigma``).
        """
        k, sigma = self.check_policy(k, sigma)
        F = np.zeros(k.shape + (2, 2))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            F[..., 0, 0] = self._moment(k, sigma) / sigma**2
            F[..., 1, 1] = 2 / ((1 - self.gamma) * sigma**2)
        self._finite(F, "the Fisher matrix", k, sigma)
        return (1 - self.gamma) * F if normalized else F

    def natural_gradient(self, k, sigma) -> np.ndarray:
        r"""The natural gradient :math:`w = F^{-1}\nabla J` in closed form.

        .. math::

            w_k = -2\sigma^2 (r k + \gamma b c P), \qquad
            w_\sigma = -\sigma^3 (r + \gamma b^2 P).

        It does not depend on :math:`\mathbb E[s_0^2]`, nor on whether :math:`J` and
        :math:`F` are both normalised by :math:`(1-\gamma)`. With :math:`a = b = 1`,
        :math:`q = \tfrac12`, :math:`r = \tfrac12 R` it is Peters & Schaal's
        :math:`w_k = (-k(R + \gamma\tilde P) - \gamma\tilde P)\sigma^2`,
        :math:`w_\sigma = -\tfrac12(R + \gamma\tilde P)\sigma^3` with
        :math:`\tilde P = 2P`.

        Returns
        -------
        ndarray, shape (..., 2)

        Raises
        ------
        ValueError
            If ``sigma <= 0``, the closed loop is unstable or :math:`w` overflows.
        """
        k, sigma = self.check_policy(k, sigma)
        with np.errstate(over="ignore", invalid="ignore"):
            w = np.stack(self._natural(k, sigma), axis=-1)
        return self._finite(w, "the natural gradient", k, sigma)

    def discounted_kl(self, k, sigma, k_new, sigma_new):
        r"""The discounted KL divergence from policy :math:`(k, \sigma)` to a new one.

        .. math::

            \sum_t \gamma^t\,\mathbb E_{s_t}\bigl[\mathrm{KL}(\pi_\theta(\cdot\mid s_t)
            \,\Vert\,\pi_{\theta'}(\cdot\mid s_t))\bigr]
            = \frac{\log(\sigma'/\sigma) + \sigma^2/(2\sigma'^2) - \tfrac12}{1-\gamma}
            + \frac{(k - k')^2 M(k, \sigma)}{2\sigma'^2},

        with the states drawn under the *old* policy. Its Hessian in
        :math:`\theta'` at :math:`\theta' = \theta` is :meth:`fisher`, so for a small
        step :math:`\Delta` it is :math:`\approx \tfrac12\Delta^\top F\Delta`.

        Parameters
        ----------
        k, sigma : float or array_like
            The old policy (stable, ``sigma > 0``).
        k_new, sigma_new : float or array_like
            The new policy (``sigma_new > 0``; ``k_new`` need not be stable).

        Returns
        -------
        float or ndarray

        Raises
        ------
        ValueError
            If a ``sigma`` is not positive, the old policy is unstable, the shapes do
            not broadcast or the divergence overflows a float.
        """
        k, sigma = self.check_policy(k, sigma)
        k_new = as_float_array(k_new, "k_new")
        sigma_new = as_float_array(sigma_new, "sigma_new")
        if np.any(sigma_new <= 0):
            raise ValueError(
                f"sigma_new must be > 0; got {_show(sigma_new)}. A policy with "
                "sigma = 0 is deterministic and the KL divergence to it is infinite."
            )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            noise_part = (np.log(sigma_new / sigma) + sigma**2 / (2 * sigma_new**2)
                          - 0.5) / (1 - self.gamma)
            gain_part = (k - k_new) ** 2 * self._moment(k, sigma) / (2 * sigma_new**2)
            try:
                kl = noise_part + gain_part
            except ValueError:
                raise ValueError(
                    f"k_new and sigma_new must broadcast against k and sigma; got "
                    f"shapes {k_new.shape}, {sigma_new.shape} and {k.shape}. Pass "
                    "arrays of one shape."
                ) from None
        k, sigma, _ = np.broadcast_arrays(k, sigma, kl)  # to name a bad entry
        return _scalar_or_array(self._finite(kl, "the discounted KL divergence", k,
                                             sigma))

    # ----------------------------------------------------------------- optimum
    def optimal_value_coefficient(self) -> float:
        r"""The positive root :math:`P^\star` of the scalar discounted Riccati equation.

        :math:`P = q + \gamma a^2 P - \gamma^2 a^2 b^2 P^2/(r + \gamma b^2 P)` is the
        quadratic :math:`\gamma b^2 P^2 + (r(1-\gamma a^2) - \gamma q b^2) P - qr = 0`.
        """
        B = self.r * (1 - self.gamma * self.a**2) - self.gamma * self.q * self.b**2
        A = self.gamma * self.b**2
        return (-B + math.sqrt(B * B + 4 * A * self.q * self.r)) / (2 * A)

    def optimal_gain(self) -> float:
        r"""The optimal gain :math:`k^\star = -\gamma abP^\star/(r+\gamma b^2P^\star)`.

        :math:`k^\star` maximises :math:`J(k, \sigma)` for *every* :math:`\sigma`
        (the noise adds :math:`\sigma^2`-terms that scale :math:`P` but do not move
        its minimiser), so it is also the optimum as :math:`\sigma \to 0`. In the
        recitation's setting (:math:`a=b=q=r=1`) it is
        :math:`k^\star = (1 - \sqrt{1 + 4\gamma^2})/(2\gamma)`.

        Returns
        -------
        float
        """
        P = self.optimal_value_coefficient()
        return -self.gamma * self.a * self.b * P / (self.r + self.gamma * self.b**2 * P)

    def effective_horizon(self, k, *, tol: float = 1e-6) -> int:
        r"""The smallest horizon :math:`T` with :math:`\rho^T \le` ``tol``.

        :math:`\rho = \max(\gamma, \gamma(a+bk)^2)` is the rate at which the
        discounted terms :math:`\gamma^t\mathbb E[r_t]` decay, so truncating rollouts
        at :math:`T` changes :math:`J` by a relative amount of order ``tol``.

        Parameters
        ----------
        k : float
            A stable gain.
        tol : float, keyword-only
            ``> 0``; values ``>= 1`` give ``T = 1``.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            If ``tol <= 0`` or ``k`` is not a stable gain.
        """
        tol = check_positive_real(tol, "tol", fix="Pass a small tolerance such as "
                                  "tol=1e-6.")
        k = check_real(k, "k")
        self.check_policy(k, 1.0)
        rho = max(self.gamma, self.gamma * (self.a + self.b * k) ** 2)
        return max(1, math.ceil(math.log(min(tol, 1.0)) / math.log(rho)))

    # ------------------------------------------------------------------ fields
    def gradient_field(self, k, sigma, *, natural: bool,
                       arrow_length: float | None = None) -> np.ndarray:
        r"""The vanilla or natural gradient of the normalised return on a grid.

        Parameters
        ----------
        k, sigma : array_like
            Broadcast against each other (e.g. from ``np.meshgrid``); empty grids give
            an empty field.
        natural : bool, keyword-only
            :math:`F^{-1}\nabla J` instead of :math:`(1-\gamma)\nabla J`.
        arrow_length : float, optional, keyword-only
            Rescale every non-zero vector to this length (Peters & Schaal use 0.1).

        Returns
        -------
        ndarray, shape (..., 2)

        Raises
        ------
        ValueError
            As :meth:`policy_gradient`, or if ``arrow_length`` is not positive.
        """
        natural = check_flag(natural, "natural")
        if arrow_length is not None:
            arrow_length = check_positive_real(arrow_length, "arrow_length",
                                               fix="Peters & Schaal use 0.1.")
        field = (self.natural_gradient(k, sigma) if natural
                 else self.policy_gradient(k, sigma, normalized=True))
        if arrow_length is not None:
            norm = np.linalg.norm(field, axis=-1, keepdims=True)
            field = np.where(norm > 0,
                             arrow_length * field / np.where(norm > 0, norm, 1), 0.0)
        return field

    # --------------------------------------------------------- ascent paths
    def _check_start(self, theta0) -> np.ndarray:
        theta = as_float_array(theta0, "theta0")
        if theta.shape != (2,):
            raise ValueError(
                f"theta0 must be (k, sigma), a vector of length 2; got shape "
                f"{theta.shape}. Pass e.g. theta0=(-0.1, 0.9)."
            )
        # the closed forms at the start must be floats (a huge sigma overflows them)
        self.expected_return(theta[0], theta[1])
        self.return_hessian(theta[0], theta[1])
        self.natural_gradient(theta[0], theta[1])
        return theta.copy()

    def gradient_ascent_path(self, theta0, *, natural: bool, lr: float = 0.025,
                             stop_sigma: float = 0.1,
                             max_iter: int = 10_000) -> OptimizeResult:
        r"""Follow the exact vanilla or natural gradient with a fixed step.

        As in Peters & Schaal's Fig. 1 (their ``LQR_1d_AF.m``): the vanilla step is
        :math:`\theta \leftarrow \theta + \alpha(1-\gamma)\nabla J` (the gradient of
        the normalised return), the natural step is :math:`\theta \leftarrow \theta +
        \alpha F^{-1}\nabla J`, with :math:`\alpha` = ``lr``. The run stops when
        :math:`\sigma <` ``stop_sigma`` (the exploration is nearly gone).

        Parameters
        ----------
        theta0 : array_like, shape (2,)
            The start :math:`(k_0, \sigma_0)`, with :math:`\sigma_0 > 0` and a stable
            :math:`k_0`.
        natural : bool, keyword-only
        lr : float, keyword-only
            :math:`\alpha > 0`.
        stop_sigma : float, keyword-only
            ``> 0``.
        max_iter : int, keyword-only
            ``>= 0``.

        Returns
        -------
        OptimizeResult
            ``x`` the last :math:`(k, \sigma)`, ``fun`` its normalised return
            :math:`(1-\gamma)J`; ``success`` is True when :math:`\sigma` fell below
            ``stop_sigma`` within ``max_iter`` steps; False when ``max_iter`` ran out
            or a step left the stable region (``x`` is then the last stable point).
            ``status`` is ``"converged"``, ``"max_iter"``, ``"unstable"`` (a step
            would leave the stable gains), ``"sigma_nonpositive"``, ``"overflow"``
            or, for Newton, ``"not_ascent"``. The history records ``x``, ``fun``
            (normalised return), ``grad_norm`` (the norm of the direction followed)
            and ``step_size`` (``lr``).

        Raises
        ------
        ValueError
            If ``theta0`` is not a stable :math:`(k, \sigma)` with :math:`\sigma > 0`,
            or a step option is not positive.
        """
        theta = self._check_start(theta0)
        natural = check_flag(natural, "natural")
        scale = 1 - self.gamma

        def direction(th):  # plain float arithmetic: this loop runs thousands of steps
            if natural:
                return np.array(self._natural(float(th[0]), float(th[1])))
            return scale * np.array(self._gradient(float(th[0]), float(th[1])))

        return self._ascent_path(theta, direction, lr, stop_sigma, max_iter)

    def newton_ascent_path(self, theta0, *, lr: float = 0.025, stop_sigma: float = 0.1,
                           max_iter: int = 10_000) -> OptimizeResult:
        r"""Follow the exact Newton direction of the return with a fixed step.

        The step is :math:`\theta \leftarrow \theta - \alpha\,(\nabla^2 J)^{-1}\nabla J`
        with :math:`\alpha` = ``lr`` (the same for :math:`J` and for
        :math:`(1-\gamma)J`), an ascent direction wherever :math:`\nabla^2 J`
        (:meth:`return_hessian`) is negative definite. It is the baseline that uses
        the curvature of the *objective* where the natural gradient uses the Fisher
        matrix of the *policy*. The run stops when :math:`\sigma <` ``stop_sigma``,
        as :meth:`gradient_ascent_path` does.

        Parameters
        ----------
        theta0 : array_like, shape (2,)
            The start :math:`(k_0, \sigma_0)`, stable, with :math:`\sigma_0 > 0`.
        lr : float, keyword-only
            :math:`\alpha > 0` (``1`` is the full Newton step).
        stop_sigma : float, keyword-only
            ``> 0``.
        max_iter : int, keyword-only
            ``>= 0``.

        Returns
        -------
        OptimizeResult
            As :meth:`gradient_ascent_path`; ``success`` is also False (with a
            message) when the Hessian stops being negative definite, where Newton's
            direction is no longer an ascent direction.

        Raises
        ------
        ValueError
            If ``theta0`` is not a stable :math:`(k, \sigma)` with :math:`\sigma > 0`,
            or a step option is not positive.

        Examples
        --------
        >>> env = LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)
        >>> res = env.newton_ascent_path((-0.1, 0.9))
        >>> res.success, res.nit
        (True, 20)
        """
        theta = self._check_start(theta0)

        def direction(th):
            k, sigma = float(th[0]), float(th[1])
            g_k, g_s = self._gradient(k, sigma)
            h_kk, h_ks, h_ss = self._hessian(k, sigma)
            det = h_kk * h_ss - h_ks * h_ks
            if not (h_kk < 0 and det > 0):
                return None  # not negative definite: no Newton ascent direction
            # -H^{-1} g for the 2 x 2 symmetric H
            return -np.array([h_ss * g_k - h_ks * g_s, h_kk * g_s - h_ks * g_k]) / det

        return self._ascent_path(theta, direction, lr, stop_sigma, max_iter)

    def _ascent_path(self, theta, direction, lr, stop_sigma, max_iter):
        """The fixed-step loop shared by the vanilla, natural and Newton paths."""
        lr = check_positive_real(lr, "lr", fix="Peters & Schaal use lr=0.025.")
        stop_sigma = check_positive_real(stop_sigma, "stop_sigma",
                                         fix="The chapter uses stop_sigma=0.1.")
        max_iter = check_count(max_iter, "max_iter", minimum=0)
        scale = 1 - self.gamma

        def normalized_return(th):
            return scale * self._return(float(th[0]), float(th[1]))

        xs, funs, norms = [theta.copy()], [normalized_return(theta)], []
        d = direction(theta)
        norms.append(float("nan") if d is None else float(np.linalg.norm(d)))
        success, message, status = theta[1] < stop_sigma, "", "max_iter"
        nit = 0
        while not success and nit < max_iter:
            if d is None:
                message = (f"at step {nit} the Hessian of J is not negative "
                           "definite, so Newton's direction is not an ascent "
                           "direction; stopped there.")
                status = "not_ascent"
                break
            with np.errstate(over="ignore", invalid="ignore"):
                new = theta + lr * d
                leaves = not self.gamma * (self.a + self.b * new[0]) ** 2 < 1  # NaN too
            if leaves:
                lo, hi = self.stable_gains()
                message = (f"step {nit + 1} would leave the stable gains "
                           f"({lo:.4g}, {hi:.4g}) (k = {new[0]:.4g}); lower the step "
                           "size lr.")
                status = "unstable"
                break
            if not new[1] > 0:
                message = (f"step {nit + 1} would make sigma = {new[1]:.3g} <= 0; "
                           "lower the step size lr.")
                status = "sigma_nonpositive"
                break
            try:  # Python floats raise where numpy would give inf
                fun = normalized_return(new)
                d = None if new[1] < stop_sigma else direction(new)
            except (OverflowError, ZeroDivisionError):
                message = (f"step {nit + 1}: the closed forms overflow a float at "
                           f"k = {new[0]:.4g}, sigma = {new[1]:.4g}; lower the step "
                           "size lr.")
                status = "overflow"
                break
            theta, nit = new, nit + 1
            xs.append(theta.copy())
            funs.append(fun)
            norms.append(float("nan") if d is None else float(np.linalg.norm(d)))
            success = theta[1] < stop_sigma
        if success:
            status = "converged"
            message = (f"sigma = {theta[1]:.3g} < stop_sigma = {stop_sigma:g} after "
                       f"{nit} steps.")
        elif not message:
            message = (f"sigma still >= {stop_sigma:g} after max_iter = {max_iter} "
                       "steps.")
        history = History.from_lists(xs, funs, norms, step_size=[lr] * len(xs))
        return OptimizeResult(theta, float(funs[-1]), nit, bool(success), message,
                              history, status=status)
