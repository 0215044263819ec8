r"""Policy gradients on the 1-D linear-quadratic problem (chapter 7).

The environment is a scalar linear system with a quadratic reward and a linear
Gaussian policy,

.. math::

    s_{t+1} = a s_t + b u_t, \qquad r_t = -q s_t^2 - r u_t^2, \qquad
    u_t \sim \pi_\theta(\cdot \mid s_t) = \mathcal N(k s_t, \sigma^2),
    \qquad \theta = (k, \sigma),

with :math:`s_0 \sim \mathcal N(\mu_0, v_0)` and the discounted return
:math:`J(\theta) = \mathbb E[\sum_{t\ge0}\gamma^t r_t]`. Everything the chapter needs
has a closed form here (return, gradient, Fisher matrix, natural gradient, optimal
gain), and every closed form has a Monte-Carlo twin computed from rollouts.

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

from ._validation import (
    _show,
    as_float_array,
    as_rng,
    check_choice,
    check_int,
    check_positive,
    check_positive_definite,
)
from .optimize import steepest_descent_step
from .result import History, OptimizeResult

__all__ = [
    "GradientEstimate",
    "LinearQuadratic",
    "Rollout",
    "fisher_estimate",
    "gradient_ascent_path",
    "gradient_field",
    "kl_step_size",
    "natural_gradient_estimate",
    "newton_ascent_path",
    "policy_gradient_estimate",
    "rollout",
    "rollout_reference",
    "train_policy_gradient",
]


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number; got {_show(value)} of type "
            f"{type(value).__name__}."
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}.")
    return value


def _scalar_or_array(x: np.ndarray):
    """Return a Python float for 0-d arrays, the array otherwise."""
    return float(x) if x.ndim == 0 else x


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
            object.__setattr__(self, name, _check_real(getattr(self, name), name))
        if self.b == 0.0:
            raise ValueError(
                "b must be non-zero; got 0.0. With b = 0 the action has no effect on "
                "the state and there is nothing to control."
            )
        object.__setattr__(self, "q", check_positive(self.q, "q", allow_zero=True))
        object.__setattr__(self, "r", check_positive(self.r, "r"))
        object.__setattr__(
            self, "s0_var", check_positive(self.s0_var, "s0_var", allow_zero=True)
        )
        gamma = _check_real(self.gamma, "gamma")
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
        stable = self.gamma * (self.a + self.b * k) ** 2 < 1.0
        return bool(stable) if stable.ndim == 0 else stable

    def _check_policy(self, k, sigma) -> tuple[np.ndarray, np.ndarray]:
        """Broadcast ``k``, ``sigma``; raise unless sigma > 0 and the loop is stable."""
        k = as_float_array(k, "k")
        sigma = as_float_array(sigma, "sigma")
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
        return np.broadcast_arrays(k, sigma)

    def value_coefficient(self, k):
        r""":math:`P(k) = (q + r k^2)/(1 - \gamma(a + bk)^2)`.

        The value of state :math:`s` under the policy is :math:`-P s^2 -
        \sigma^2(r + \gamma b^2 P)/(1-\gamma)`. ``inf`` where the loop is unstable.
        """
        k = as_float_array(k, "k")
        denom = 1.0 - self.gamma * (self.a + self.b * k) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            P = np.where(denom > 0, (self.q + self.r * k**2) / denom, np.inf)
        return _scalar_or_array(P)

    def discounted_state_moment(self, k, sigma):
        r""":math:`M = \sum_t \gamma^t \mathbb E[s_t^2]` under the noisy closed loop.

        :math:`m_{t+1} = (a+bk)^2 m_t + b^2\sigma^2` sums to
        :math:`M = (m_0 + \gamma b^2\sigma^2/(1-\gamma))/(1 - \gamma(a+bk)^2)`.

        Raises
        ------
        ValueError
            If ``sigma <= 0`` or the closed loop is unstable.
        """
        k, sigma = self._check_policy(k, sigma)
        return _scalar_or_array(self._moment(k, sigma))

    # Unvalidated kernels (arrays or floats, stable k and sigma > 0 assumed); the
    # public methods validate and then call these, the path loop calls them directly.
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
            policy); broadcast against each other.
        normalized : bool, keyword-only
            Return :math:`(1-\gamma) J` (Peters & Schaal's normalised return, the
            expected reward under the normalised discounted state distribution).

        Returns
        -------
        float or ndarray
            ``-inf`` where :math:`\gamma(a+bk)^2 \ge 1`.

        Raises
        ------
        ValueError
            If any ``sigma < 0``.
        """
        k = as_float_array(k, "k")
        sigma = as_float_array(sigma, "sigma")
        if np.any(sigma < 0):
            bad = sigma[sigma < 0] if sigma.ndim else sigma
            raise ValueError(
                f"sigma must be >= 0; got {_show(bad)}. It is the standard deviation "
                "of the policy's noise."
            )
        k, sigma = np.broadcast_arrays(k, sigma)
        P = np.asarray(self.value_coefficient(k))
        with np.errstate(invalid="ignore"):
            J = -(self.initial_second_moment * P
                  + sigma**2 * (self.r + self.gamma * self.b**2 * P) / (1 - self.gamma))
        J = np.where(np.isfinite(P), J, -np.inf)
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
            If ``sigma <= 0`` or the closed loop is unstable (the message gives the
            interval of stable gains).
        """
        k, sigma = self._check_policy(k, sigma)
        grad = np.stack(self._gradient(k, sigma), axis=-1)
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
            If ``sigma <= 0`` or the closed loop is unstable.

        Examples
        --------
        >>> env = LinearQuadratic()
        >>> H = env.return_hessian(-0.5, 0.5)
        >>> bool(np.all(np.linalg.eigvalsh(H) < 0))
        True
        """
        k, sigma = self._check_policy(k, sigma)
        h_kk, h_ks, h_ss = self._hessian(k, sigma)
        H = np.empty(k.shape + (2, 2))
        H[..., 0, 0] = h_kk
        H[..., 0, 1] = H[..., 1, 0] = h_ks
        H[..., 1, 1] = h_ss
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
            If ``sigma <= 0`` or the closed loop is unstable.
        """
        k, sigma = self._check_policy(k, sigma)
        F = np.zeros(k.shape + (2, 2))
        F[..., 0, 0] = self._moment(k, sigma) / sigma**2
        F[..., 1, 1] = 2 / ((1 - self.gamma) * sigma**2)
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
            If ``sigma <= 0`` or the closed loop is unstable.
        """
        k, sigma = self._check_policy(k, sigma)
        return np.stack(self._natural(k, sigma), axis=-1)

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
            If a ``sigma`` is not positive or the old policy is unstable.
        """
        k, sigma = self._check_policy(k, sigma)
        k_new = as_float_array(k_new, "k_new")
        sigma_new = as_float_array(sigma_new, "sigma_new")
        if np.any(sigma_new <= 0):
            raise ValueError(
                f"sigma_new must be > 0; got {_show(sigma_new)}. A policy with "
                "sigma = 0 is deterministic and the KL divergence to it is infinite."
            )
        noise_part = (np.log(sigma_new / sigma) + sigma**2 / (2 * sigma_new**2)
                      - 0.5) / (1 - self.gamma)
        gain_part = (k - k_new) ** 2 * self._moment(k, sigma) / (2 * sigma_new**2)
        return _scalar_or_array(noise_part + gain_part)

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
        """
        check_positive(tol, "tol")
        self._check_policy(k, 1.0)
        rho = max(self.gamma, self.gamma * (self.a + self.b * float(k)) ** 2)
        return max(1, math.ceil(math.log(min(tol, 1.0)) / math.log(rho)))


# ---------------------------------------------------------------------- rollouts
@dataclass(frozen=True)
class Rollout:
    r"""Episodes of the linear-quadratic problem, one row per episode.

    Attributes
    ----------
    states : ndarray, shape (n_episodes, horizon + 1)
        :math:`s_0, \dots, s_T` (the last column is the state after the last action).
    actions : ndarray, shape (n_episodes, horizon)
        :math:`u_0, \dots, u_{T-1}`.
    rewards : ndarray, shape (n_episodes, horizon)
        :math:`r_t = -q s_t^2 - r u_t^2`.
    k, sigma, gamma : float
        The policy that generated them and the discount.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    k: float
    sigma: float
    gamma: float

    @property
    def n_episodes(self) -> int:
        return self.actions.shape[0]

    @property
    def horizon(self) -> int:
        return self.actions.shape[1]

    @property
    def discounts(self) -> np.ndarray:
        r""":math:`\gamma^t` for :math:`t = 0, \dots, T-1`."""
        return self.gamma ** np.arange(self.horizon)

    @property
    def discounted_returns(self) -> np.ndarray:
        r"""Per-episode :math:`\sum_{t<T}\gamma^t r_t`, shape (n_episodes,)."""
        return self.rewards @ self.discounts

    @property
    def scores(self) -> np.ndarray:
        r"""Per-step scores :math:`\nabla_\theta\log\pi(u_t\mid s_t)`, shape (n, T, 2).

        :math:`\partial_k = \varepsilon_t s_t/\sigma`, :math:`\partial_\sigma =
        (\varepsilon_t^2 - 1)/\sigma`, :math:`\varepsilon_t = (u_t - k s_t)/\sigma`.
        """
        s = self.states[:, :-1]
        eps = (self.actions - self.k * s) / self.sigma
        return np.stack([eps * s / self.sigma, (eps**2 - 1) / self.sigma], axis=-1)


def _check_rollout_args(env, k, sigma, n_episodes, horizon):
    if not isinstance(env, LinearQuadratic):
        raise TypeError(
            f"env must be a LinearQuadratic; got {type(env).__name__}. "
            "Build one with rl.LinearQuadratic(...)."
        )
    k = _check_real(k, "k")
    sigma = check_positive(sigma, "sigma")
    return k, sigma, check_int(n_episodes, "n_episodes"), check_int(horizon, "horizon")


def _draw(env, n_episodes, horizon, rng, out=None):
    """The random numbers of a rollout, drawn in one fixed order.

    ``s0`` (n_episodes draws), then the noise, time-major (row t is step t), written
    into ``out`` if given (saves allocating a second large array).
    """
    s0 = env.s0_mean + math.sqrt(env.s0_var) * rng.standard_normal(n_episodes)
    if out is None:
        out = np.empty((horizon, n_episodes))
    rng.standard_normal(out=out)
    return s0, out


def rollout(env: LinearQuadratic, k, sigma, *, n_episodes: int, horizon: int,
            rng=None) -> Rollout:
    r"""Simulate ``n_episodes`` episodes of ``horizon`` steps, vectorised over episodes.

    All episodes advance together: a few in-place numpy operations per time step on
    rows of ``n_episodes`` numbers, no Python loop over episodes. The random numbers
    are :math:`s_0` (``n_episodes`` draws) and then :math:`\varepsilon` (``horizon x
    n_episodes``, one row per step), in that order, so :func:`rollout_reference` with
    the same ``rng`` state gives the same episodes. The closed loop need not be
    stable here (states then grow).

    Parameters
    ----------
    env : LinearQuadratic
    k : float
        The gain.
    sigma : float
        The policy's standard deviation, ``> 0``.
    n_episodes, horizon : int, keyword-only
        ``>= 1``.
    rng : None, int or numpy.random.Generator, keyword-only

    Returns
    -------
    Rollout
        ``states`` of shape ``(n_episodes, horizon + 1)``, ``actions`` and
        ``rewards`` of shape ``(n_episodes, horizon)`` (transposed views of
        time-major arrays, i.e. Fortran-ordered).

    Raises
    ------
    TypeError
        If ``env`` is not a :class:`LinearQuadratic` or an argument has the wrong type.
    ValueError
        If ``sigma <= 0`` or ``n_episodes``/``horizon`` < 1.

    Examples
    --------
    >>> ro = rollout(LinearQuadratic(), -0.5, 0.3, n_episodes=4, horizon=10, rng=0)
    >>> ro.states.shape, ro.actions.shape
    ((4, 11), (4, 10))
    """
    k, sigma, n_episodes, horizon = _check_rollout_args(env, k, sigma, n_episodes,
                                                        horizon)
    # Work time-major, so each step touches contiguous rows of n_episodes numbers
    # that stay in cache, and allocate only the three outputs (first touches of
    # fresh memory cost as much as the arithmetic).
    actions = np.empty((horizon, n_episodes))
    s0, _ = _draw(env, n_episodes, horizon, as_rng(rng), out=actions)
    actions *= sigma                      # sigma eps_t, completed to u_t below
    states = np.empty((horizon + 1, n_episodes))
    states[0] = s0
    rewards = np.empty((horizon, n_episodes))
    row = np.empty(n_episodes)
    for t in range(horizon):
        s, u, s_next = states[t], actions[t], states[t + 1]
        np.multiply(s, k, out=row)
        u += row                          # u_t = k s_t + sigma eps_t
        np.multiply(s, env.a, out=s_next)
        np.multiply(u, env.b, out=row)
        s_next += row                     # s_{t+1} = a s_t + b u_t
        np.multiply(s, s, out=rewards[t])
        rewards[t] *= -env.q
        np.multiply(u, u, out=row)
        row *= env.r
        rewards[t] -= row                 # r_t = -q s_t^2 - r u_t^2
    # transposed views: episodes in rows, as documented, without copying
    return Rollout(states.T, actions.T, rewards.T, k, sigma, env.gamma)


def rollout_reference(env: LinearQuadratic, k, sigma, *, n_episodes: int,
                      horizon: int, rng=None) -> Rollout:
    """The same episodes as :func:`rollout`, simulated one episode at a time.

    A plain Python loop over episodes and steps with scalar arithmetic: the
    brute-force twin that tests and the benchmark compare :func:`rollout` with.
    Parameters, returns and errors as in :func:`rollout`.
    """
    k, sigma, n_episodes, horizon = _check_rollout_args(env, k, sigma, n_episodes,
                                                        horizon)
    s0, eps = _draw(env, n_episodes, horizon, as_rng(rng))
    states = np.empty((n_episodes, horizon + 1))
    actions = np.empty((n_episodes, horizon))
    rewards = np.empty((n_episodes, horizon))
    a, b, q, r = env.a, env.b, env.q, env.r
    for i in range(n_episodes):
        s = float(s0[i])
        states[i, 0] = s
        noise = eps[:, i].tolist()
        for t in range(horizon):
            u = k * s + sigma * noise[t]
            actions[i, t] = u
            rewards[i, t] = -q * s * s - r * u * u
            s = a * s + b * u
            states[i, t + 1] = s
    return Rollout(states, actions, rewards, k, sigma, env.gamma)


# -------------------------------------------------------------------- estimators
@dataclass(frozen=True)
class GradientEstimate:
    """A Monte-Carlo policy-gradient estimate and its standard errors.

    Attributes
    ----------
    grad : ndarray, shape (2,)
        The estimate of :math:`\\nabla_\\theta J` (or of the natural gradient).
    stderr : ndarray, shape (2,)
        Standard errors of ``grad``.
    return_mean, return_stderr : float
        The mean truncated discounted return of the episodes and its standard error.
    n_episodes : int
    """

    grad: np.ndarray
    stderr: np.ndarray
    return_mean: float
    return_stderr: float
    n_episodes: int


def _check_rollout(rollout_) -> Rollout:
    if not isinstance(rollout_, Rollout):
        raise TypeError(
            f"rollout must be a Rollout; got {type(rollout_).__name__}. Simulate one "
            "with rl.rollout(env, k, sigma, n_episodes=..., horizon=..., rng=...)."
        )
    return rollout_


def _leave_one_out_mean(x: np.ndarray) -> np.ndarray:
    """Mean over the other episodes (axis 0): keeps a baseline from biasing."""
    n = x.shape[0]
    return (x.sum(axis=0, keepdims=True) - x) / (n - 1)


def _per_episode_gradients(ro: Rollout, method: str, baseline: bool) -> np.ndarray:
    scores = ro.scores                      # (n, T, 2)
    discounted = ro.rewards * ro.discounts  # gamma^t r_t, (n, T)
    if method == "reinforce":
        total = discounted.sum(axis=1)      # (n,)
        if baseline:
            total = total - _leave_one_out_mean(total)
        return scores.sum(axis=1) * total[:, None]
    # GPOMDP: each score is weighted only by the rewards that follow it
    to_go = np.cumsum(discounted[:, ::-1], axis=1)[:, ::-1]  # sum_{t'>=t} g^t' r_t'
    if baseline:
        to_go = to_go - _leave_one_out_mean(to_go)
    return np.einsum("ntd,nt->nd", scores, to_go)


def policy_gradient_estimate(rollout: Rollout, *, method: str = "gpomdp",
                             baseline: bool = True) -> GradientEstimate:
    r"""The likelihood-ratio (REINFORCE or GPOMDP) estimate of :math:`\nabla_\theta J`.

    REINFORCE: :math:`\hat g = \frac1N\sum_i \bigl(\sum_t\nabla\log\pi_t^{(i)}\bigr)
    (R^{(i)} - b)` with :math:`R^{(i)} = \sum_t\gamma^t r_t^{(i)}`. GPOMDP weights each
    score only by the rewards after it: :math:`\hat g = \frac1N\sum_i\sum_t
    \nabla\log\pi_t^{(i)}(G_t^{(i)} - b_t)`, :math:`G_t = \sum_{t'\ge t}\gamma^{t'}
    r_{t'}`. The baseline :math:`b_t` is the mean of :math:`G_t` over the *other*
    episodes (leave-one-out), so it lowers the variance without adding bias.

    The estimate targets the return truncated at the rollout's horizon; choose the
    horizon with :meth:`LinearQuadratic.effective_horizon` to compare with the
    infinite-horizon closed form.

    Parameters
    ----------
    rollout : Rollout
        At least 2 episodes.
    method : {"gpomdp", "reinforce"}, keyword-only
    baseline : bool, keyword-only

    Returns
    -------
    GradientEstimate
        The mean over episodes, standard errors ``std/sqrt(N)`` of the per-episode
        terms, and the mean return with its standard error.

    Raises
    ------
    TypeError
        If ``rollout`` is not a :class:`Rollout`.
    ValueError
        If ``method`` is unknown or there is a single episode.

    References
    ----------
    Williams (1992); Baxter & Bartlett (2001); Peters & Schaal (2008), sec. 2.
    """
    ro = _check_rollout(rollout)
    check_choice(method, "method", ("gpomdp", "reinforce"))
    if ro.n_episodes < 2:
        raise ValueError(
            f"rollout must hold at least 2 episodes for a standard error and a "
            f"baseline; got {ro.n_episodes}. Simulate more episodes."
        )
    per_episode = _per_episode_gradients(ro, method, baseline)
    n = ro.n_episodes
    returns = ro.discounted_returns
    return GradientEstimate(
        grad=per_episode.mean(axis=0),
        stderr=per_episode.std(axis=0, ddof=1) / math.sqrt(n),
        return_mean=float(returns.mean()),
        return_stderr=float(returns.std(ddof=1) / math.sqrt(n)),
        n_episodes=n,
    )


def fisher_estimate(rollout: Rollout, *, return_stderr: bool = False):
    r"""The Monte-Carlo Fisher matrix :math:`\frac1N\sum_i\sum_t\gamma^t
    \nabla\log\pi_t^{(i)}\nabla\log\pi_t^{(i)\top}`.

    Its expectation is :meth:`LinearQuadratic.fisher` (truncated at the horizon).
    The actions are sampled from the policy itself, so this is the true (model)
    Fisher, estimated, not the empirical Fisher of chapter 4.

    Parameters
    ----------
    rollout : Rollout
    return_stderr : bool, keyword-only
        Also return the entrywise standard errors ``std/sqrt(N)`` of the
        per-episode sums (needs at least 2 episodes).

    Returns
    -------
    F : ndarray, shape (2, 2)
    stderr : ndarray, shape (2, 2)
        Only if ``return_stderr``.
    """
    ro = _check_rollout(rollout)
    scores = ro.scores
    per_episode = np.einsum("ntd,nte,t->nde", scores, scores, ro.discounts)
    F = per_episode.mean(axis=0)
    if not return_stderr:
        return F
    if ro.n_episodes < 2:
        raise ValueError(
            "rollout must hold at least 2 episodes for a standard error; got 1."
        )
    return F, per_episode.std(axis=0, ddof=1) / math.sqrt(ro.n_episodes)


def natural_gradient_estimate(rollout: Rollout, *, damping: float = 0.0,
                              method: str = "gpomdp", n_batches: int = 10
                              ) -> GradientEstimate:
    r"""The sample-based natural gradient :math:`(\hat F + \lambda I)^{-1}\hat g`.

    :math:`\hat g` from :func:`policy_gradient_estimate`, :math:`\hat F` from
    :func:`fisher_estimate`, both from the same episodes. The standard errors come
    from batch means: the episodes are split into ``n_batches`` groups and the
    estimate is recomputed on each.

    Parameters
    ----------
    rollout : Rollout
        At least ``2 * n_batches`` episodes.
    damping : float, keyword-only
        :math:`\lambda \ge 0`, added to the diagonal of :math:`\hat F`.
    method : {"gpomdp", "reinforce"}, keyword-only
    n_batches : int, keyword-only
        ``>= 2``.

    Returns
    -------
    GradientEstimate

    Raises
    ------
    ValueError
        If ``damping < 0``, ``n_batches < 2``, too few episodes, or :math:`\hat F +
        \lambda I` is not positive definite.
    """
    ro = _check_rollout(rollout)
    damping = check_positive(damping, "damping", allow_zero=True)
    n_batches = check_int(n_batches, "n_batches", minimum=2)
    check_choice(method, "method", ("gpomdp", "reinforce"))
    if ro.n_episodes < 2 * n_batches:
        raise ValueError(
            f"rollout must hold at least 2 * n_batches = {2 * n_batches} episodes; got "
            f"{ro.n_episodes}. Simulate more episodes or lower n_batches."
        )

    def solve(sub: Rollout) -> np.ndarray:
        F = fisher_estimate(sub) + damping * np.eye(2)
        check_positive_definite(F, "the estimated Fisher matrix plus damping")
        g = _per_episode_gradients(sub, method, True).mean(axis=0)
        return np.linalg.solve(F, g)

    w = solve(ro)
    batches = np.array_split(np.arange(ro.n_episodes), n_batches)
    per_batch = np.array([solve(_subset(ro, idx)) for idx in batches])
    returns = ro.discounted_returns
    return GradientEstimate(
        grad=w,
        stderr=per_batch.std(axis=0, ddof=1) / math.sqrt(n_batches),
        return_mean=float(returns.mean()),
        return_stderr=float(returns.std(ddof=1) / math.sqrt(ro.n_episodes)),
        n_episodes=ro.n_episodes,
    )


def _subset(ro: Rollout, idx: np.ndarray) -> Rollout:
    return Rollout(ro.states[idx], ro.actions[idx], ro.rewards[idx], ro.k, ro.sigma,
                   ro.gamma)


# ---------------------------------------------------------------- step sizes
def kl_step_size(grad, fisher, max_kl) -> float:
    r"""The step size :math:`\alpha` that puts the natural step on a KL sphere.

    The step :math:`\Delta = \alpha F^{-1}g` has
    :math:`\mathrm{KL} \approx \tfrac12\Delta^\top F\Delta = \epsilon^2` (the KL
    budget ``max_kl``) for

    .. math::

        \alpha = \sqrt{\frac{2\epsilon^2}{g^\top F^{-1} g}}.

    (Lecture transcriptions often write :math:`g^\top F g` in the denominator; that
    does not satisfy the constraint.) This is TRPO's step (Schulman et al. 2015,
    App. C, :math:`\beta = \sqrt{2\delta/(s^\top A s)}` with :math:`s = F^{-1}g`), and
    chapter 2's steepest step under :math:`\tfrac12\delta^\top F\delta = \epsilon^2`
    with radius :math:`\epsilon = \sqrt{\text{max\_kl}}` (TRPO's :math:`\delta` is
    :math:`\epsilon^2`).

    Parameters
    ----------
    grad : array_like, shape (d,)
        Non-zero.
    fisher : array_like, shape (d, d)
        Symmetric positive definite.
    max_kl : float
        The KL budget :math:`\epsilon^2`, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``grad`` is zero or of the wrong shape, ``fisher`` is not SPD or
        ``max_kl <= 0``.

    Examples
    --------
    >>> F = np.diag([4.0, 1.0]); g = np.array([2.0, 0.0])
    >>> alpha = kl_step_size(g, F, 0.01)
    >>> d = alpha * np.linalg.solve(F, g); round(float(0.5 * d @ F @ d), 10)
    0.01
    """
    g = as_float_array(grad, "grad", ndim=1)
    F = as_float_array(fisher, "fisher", ndim=2)
    check_positive_definite(F, "fisher")
    if F.shape[0] != g.shape[0]:
        raise ValueError(
            f"fisher must be {g.shape[0]} x {g.shape[0]} to match grad of shape "
            f"{g.shape}; got shape {F.shape}."
        )
    max_kl = check_positive(max_kl, "max_kl")
    if not np.any(g):
        raise ValueError(
            "grad is the zero vector, so no step size reaches the KL budget; the "
            "policy is at a stationary point."
        )
    # chapter 2's steepest step with A = F and radius sqrt(max_kl) is -(1/lam) F^-1 g
    _, lam = steepest_descent_step(g, F, math.sqrt(max_kl))
    return 1.0 / lam


# ------------------------------------------------------------- learning paths
def gradient_field(env: LinearQuadratic, k, sigma, *, natural: bool,
                   arrow_length: float | None = None) -> np.ndarray:
    r"""The vanilla or natural gradient of the normalised return on a grid.

    Parameters
    ----------
    env : LinearQuadratic
    k, sigma : array_like
        Broadcast against each other (e.g. from ``np.meshgrid``).
    natural : bool, keyword-only
        :math:`F^{-1}\nabla J` instead of :math:`(1-\gamma)\nabla J`.
    arrow_length : float, optional, keyword-only
        Rescale every non-zero vector to this length (Peters & Schaal use 0.1).

    Returns
    -------
    ndarray, shape (..., 2)
    """
    field = (env.natural_gradient(k, sigma) if natural
             else env.policy_gradient(k, sigma, normalized=True))
    if arrow_length is not None:
        arrow_length = check_positive(arrow_length, "arrow_length")
        norm = np.linalg.norm(field, axis=-1, keepdims=True)
        field = np.where(norm > 0, arrow_length * field / np.where(norm > 0, norm, 1),
                         0.0)
    return field


def _check_theta(theta0) -> np.ndarray:
    theta = as_float_array(theta0, "theta0", ndim=1)
    if theta.shape != (2,):
        raise ValueError(
            f"theta0 must be (k, sigma), a vector of length 2; got shape {theta.shape}."
        )
    return theta.copy()


def gradient_ascent_path(env: LinearQuadratic, theta0, *, step: float = 0.025,
                         natural: bool, stop_sigma: float = 0.1,
                         max_iter: int = 10_000) -> OptimizeResult:
    r"""Follow the exact vanilla or natural gradient with a fixed step.

    As in Peters & Schaal's Fig. 1 (their ``LQR_1d_AF.m``): the vanilla step is
    :math:`\theta \leftarrow \theta + \alpha(1-\gamma)\nabla J` (the gradient of the
    normalised return), the natural step is :math:`\theta \leftarrow \theta +
    \alpha F^{-1}\nabla J`. The run stops when :math:`\sigma <` ``stop_sigma`` (the
    exploration is nearly gone).

    Parameters
    ----------
    env : LinearQuadratic
    theta0 : array_like, shape (2,)
        The start :math:`(k_0, \sigma_0)`, with :math:`\sigma_0 \ge` ``stop_sigma``
        and a stable :math:`k_0`.
    step : float, keyword-only
        :math:`\alpha > 0`.
    natural : bool, keyword-only
    stop_sigma : float, keyword-only
        ``> 0``.
    max_iter : int, keyword-only

    Returns
    -------
    OptimizeResult
        ``x`` the last :math:`(k, \sigma)`, ``fun`` its normalised return
        :math:`(1-\gamma)J`; ``success`` is True when :math:`\sigma` fell below
        ``stop_sigma`` within ``max_iter`` steps; False when ``max_iter`` ran out or
        a step left the stable region (``x`` is then the last stable point). The
        history records ``x``, ``fun`` (normalised return), ``grad_norm`` (the norm
        of the direction followed) and ``step_size``.

    Raises
    ------
    ValueError
        If ``theta0`` is not a stable :math:`(k, \sigma)` with :math:`\sigma > 0`,
        or a step option is not positive.
    """
    theta = _check_theta(theta0)
    step = check_positive(step, "step")
    stop_sigma = check_positive(stop_sigma, "stop_sigma")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    env._check_policy(theta[0], theta[1])
    scale = 1 - env.gamma

    def direction(th):  # plain float arithmetic: this loop can run thousands of steps
        if natural:
            return np.array(env._natural(float(th[0]), float(th[1])))
        return scale * np.array(env._gradient(float(th[0]), float(th[1])))

    return _ascent_path(env, theta, direction, step, stop_sigma, max_iter)


def newton_ascent_path(env: LinearQuadratic, theta0, *, step: float = 0.025,
                       stop_sigma: float = 0.1,
                       max_iter: int = 10_000) -> OptimizeResult:
    r"""Follow the exact Newton direction of the return with a fixed step.

    The step is :math:`\theta \leftarrow \theta - \alpha\,(\nabla^2 J)^{-1}\nabla J`
    (the same for :math:`J` and for :math:`(1-\gamma)J`), an ascent direction
    wherever :math:`\nabla^2 J` (:meth:`LinearQuadratic.return_hessian`) is negative
    definite. It is the baseline that uses the curvature of the *objective* where
    the natural gradient uses the Fisher matrix of the *policy*. The run stops when
    :math:`\sigma <` ``stop_sigma``, as :func:`gradient_ascent_path` does.

    Parameters
    ----------
    env : LinearQuadratic
    theta0 : array_like, shape (2,)
        The start :math:`(k_0, \sigma_0)`, stable, with :math:`\sigma_0 > 0`.
    step : float, keyword-only
        :math:`\alpha > 0` (``1`` is the full Newton step).
    stop_sigma : float, keyword-only
        ``> 0``.
    max_iter : int, keyword-only

    Returns
    -------
    OptimizeResult
        As :func:`gradient_ascent_path`; ``success`` is also False (with a message)
        when the Hessian stops being negative definite, where Newton's direction is
        no longer an ascent direction.

    Raises
    ------
    ValueError
        If ``theta0`` is not a stable :math:`(k, \sigma)` with :math:`\sigma > 0`,
        or a step option is not positive.

    Examples
    --------
    >>> env = LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)
    >>> res = newton_ascent_path(env, (-0.1, 0.9))
    >>> res.success, res.nit
    (True, 20)
    """
    theta = _check_theta(theta0)
    step = check_positive(step, "step")
    stop_sigma = check_positive(stop_sigma, "stop_sigma")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    env._check_policy(theta[0], theta[1])

    def direction(th):
        k, sigma = float(th[0]), float(th[1])
        g_k, g_s = env._gradient(k, sigma)
        h_kk, h_ks, h_ss = env._hessian(k, sigma)
        det = h_kk * h_ss - h_ks * h_ks
        if not (h_kk < 0 and det > 0):
            return None  # not negative definite: no Newton ascent direction
        # -H^{-1} g for the 2 x 2 symmetric H
        return -np.array([h_ss * g_k - h_ks * g_s, h_kk * g_s - h_ks * g_k]) / det

    return _ascent_path(env, theta, direction, step, stop_sigma, max_iter)


def _ascent_path(env, theta, direction, step, stop_sigma, max_iter) -> OptimizeResult:
    """The fixed-step loop shared by the vanilla, natural and Newton paths."""
    scale = 1 - env.gamma

    def normalized_return(th):
        return scale * env._return(float(th[0]), float(th[1]))

    def no_direction(nit):
        return (f"at step {nit} the Hessian of J is not negative definite, so "
                "Newton's direction is not an ascent direction; stopped there.")

    xs, funs, norms = [theta.copy()], [normalized_return(theta)], []
    d = direction(theta)
    norms.append(float("nan") if d is None else float(np.linalg.norm(d)))
    success, message = theta[1] < stop_sigma, ""
    nit = 0
    while not success and nit < max_iter:
        if d is None:
            message = no_direction(nit)
            break
        new = theta + step * d
        if not env.gamma * (env.a + env.b * new[0]) ** 2 < 1:
            lo, hi = env.stable_gains()
            message = (f"step {nit + 1} would leave the stable gains ({lo:.4g}, "
                       f"{hi:.4g}) (k = {new[0]:.4g}); lower the step size.")
            break
        if new[1] <= 0:
            message = (f"step {nit + 1} would make sigma = {new[1]:.3g} <= 0; lower "
                       "the step size.")
            break
        theta, nit = new, nit + 1
        xs.append(theta.copy())
        funs.append(normalized_return(theta))
        if theta[1] < stop_sigma:
            success = True
            norms.append(float("nan"))
            break
        d = direction(theta)
        norms.append(float("nan") if d is None else float(np.linalg.norm(d)))
    if success:
        message = (f"sigma = {theta[1]:.3g} < stop_sigma = {stop_sigma:g} after "
                   f"{nit} steps.")
    elif not message:
        message = f"sigma still >= {stop_sigma:g} after max_iter = {max_iter} steps."
    history = History.from_lists(xs, funs, norms, step_size=[step] * len(xs))
    return OptimizeResult(theta, float(funs[-1]), nit, bool(success), message, history)


def train_policy_gradient(env: LinearQuadratic, theta0, *, natural: bool,
                          n_iter: int, n_episodes: int, horizon: int,
                          step: float | None = None, kl_radius: float | None = None,
                          damping: float = 1e-3, sigma_min: float = 0.01,
                          rng=None, progress: bool = False) -> OptimizeResult:
    r"""Sample-based vanilla or natural policy-gradient ascent.

    Each iteration simulates ``n_episodes`` episodes (:func:`rollout`), estimates the
    gradient of the normalised return with GPOMDP and a baseline
    (:func:`policy_gradient_estimate`, times :math:`1-\gamma`) and, for the natural
    version, solves with the estimated normalised Fisher plus ``damping``. The step is
    either a fixed ``step`` or, with the KL budget ``kl_radius`` :math:`= \epsilon^2`,
    the one that makes
    :math:`\tfrac12\Delta^\top\hat F\Delta = \epsilon^2` with :math:`\hat F` the
    estimated *normalised* Fisher (plus damping): the mean KL divergence per state
    under the normalised discounted state distribution, as in TRPO
    (:func:`kl_step_size`; the vanilla direction is scaled to the same radius).
    :math:`\sigma` is kept at or above ``sigma_min`` so the policy keeps exploring.

    Parameters
    ----------
    env : LinearQuadratic
    theta0 : array_like, shape (2,)
    natural : bool, keyword-only
    n_iter, n_episodes, horizon : int, keyword-only
        Iterations, episodes per iteration (``>= 20``) and steps per episode; the
        rollout budget is ``n_iter * n_episodes`` episodes.
    step : float, optional, keyword-only
    kl_radius : float, optional, keyword-only
        The KL budget :math:`\epsilon^2` per iteration. Exactly one of ``step`` and
        ``kl_radius`` must be given.
    damping : float, keyword-only
        Added to the estimated normalised Fisher before solving (natural only).
    sigma_min : float, keyword-only
        The floor for :math:`\sigma`.
    rng : None, int or Generator, keyword-only
    progress : bool, keyword-only
        Print a short line about ten times during the run.

    Returns
    -------
    OptimizeResult
        ``x`` the final :math:`(k, \sigma)`, ``fun`` its exact normalised return
        (from the closed form, for evaluation only); ``success`` is False if a step
        left the stable region (the run stops there). The history has ``x``,
        ``fun`` (exact normalised return), ``grad_norm`` (of the estimated
        direction), ``estimated_return`` (the batch's mean normalised return) and
        ``episodes`` (episodes used so far).

    Raises
    ------
    ValueError
        If both or neither of ``step`` and ``kl_radius`` are given, an option is out
        of range or ``theta0`` is not a stable policy with :math:`\sigma > 0`.
    """
    theta = _check_theta(theta0)
    env._check_policy(theta[0], theta[1])
    n_iter = check_int(n_iter, "n_iter")
    n_episodes = check_int(n_episodes, "n_episodes", minimum=20)
    horizon = check_int(horizon, "horizon")
    if (step is None) == (kl_radius is None):
        raise ValueError(
            f"give exactly one of step and kl_radius; got step={step!r}, "
            f"kl_radius={kl_radius!r}."
        )
    if step is not None:
        step = check_positive(step, "step")
    else:
        kl_radius = check_positive(kl_radius, "kl_radius")
    damping = check_positive(damping, "damping", allow_zero=True)
    sigma_min = check_positive(sigma_min, "sigma_min")
    rng = as_rng(rng)
    scale = 1 - env.gamma

    xs, funs, norms, est, used = [theta.copy()], [], [], [], []
    success, message = True, f"ran all {n_iter} iterations."
    report_every = max(1, n_iter // 10)
    for it in range(n_iter):
        ro = rollout(env, theta[0], theta[1], n_episodes=n_episodes, horizon=horizon,
                     rng=rng)
        ge = policy_gradient_estimate(ro)
        g = scale * ge.grad
        F = scale * fisher_estimate(ro) + damping * np.eye(2)
        d = np.linalg.solve(F, g) if natural else g
        funs.append(env.expected_return(*theta, normalized=True))
        est.append(scale * ge.return_mean)
        used.append(it * n_episodes)
        norms.append(float(np.linalg.norm(d)))
        if kl_radius is not None:
            alpha = math.sqrt(2 * kl_radius / max(float(d @ F @ d), 1e-300))
        else:
            alpha = step
        new = theta + alpha * d
        new[1] = max(new[1], sigma_min)
        if not env.is_stable(new[0]):
            success = False
            message = (f"iteration {it}: the step to k = {new[0]:.4g} left the stable "
                       f"region {env.stable_gains()}; lower the step size.")
            break
        theta = new
        xs.append(theta.copy())
        if progress and ((it + 1) % report_every == 0 or it + 1 == n_iter):
            print(f"{'natural' if natural else 'vanilla'} {it + 1:4d}/{n_iter}: "
                  f"k = {theta[0]:+.3f}, sigma = {theta[1]:.3f}, "
                  f"(1-gamma)J = {env.expected_return(*theta, normalized=True):.4f}")
    # the record after the last accepted step (no estimate was made there); a run
    # stopped by an unstable step already has one row per iterate
    if len(funs) < len(xs):
        funs.append(env.expected_return(*theta, normalized=True))
        est.append(np.nan)
        norms.append(np.nan)
        used.append(len(funs[:-1]) * n_episodes)
    history = History.from_lists(xs, funs, norms, estimated_return=est, episodes=used)
    return OptimizeResult(theta, float(funs[-1]), len(xs) - 1, success, message,
                          history)
