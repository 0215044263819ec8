r"""A nonlinear control task: balancing a pendulum with a torque limit (chapter 11).

The dynamics are those of Gym's ``Pendulum-v1`` (angle :math:`\vartheta = 0` upright,
:math:`g = 10`, :math:`m = l = 1`):

.. math::

    \dot\vartheta' = \mathrm{clip}\Bigl(\dot\vartheta + \Bigl(\frac{3g}{2l}
    \sin\vartheta + \frac{3}{ml^2}u\Bigr)\Delta t,\ \pm 8\Bigr), \qquad
    \vartheta' = \vartheta + \dot\vartheta'\Delta t, \qquad \Delta t = 0.05,

with the torque clipped to :math:`|u| \le 2` and the cost
:math:`\bar\vartheta^2 + 0.1\dot\vartheta^2 + 0.001u^2` (:math:`\bar\vartheta` the
angle wrapped to :math:`[-\pi, \pi)`). The task here is to *stabilise* it: episodes
start near the top, :math:`\vartheta_0 \sim U(-0.3, 0.3)`, :math:`\dot\vartheta_0 \sim
U(-0.5, 0.5)`, and last 100 steps (5 s). Gravity's angular acceleration
:math:`\tfrac{3g}{2l}\sin\vartheta` beats the largest one the torque can give,
:math:`3u_{\max}/(ml^2) = 6`, beyond :math:`|\vartheta| \approx 0.41`, so
a policy that lets the pendulum lean too far loses it: the return has no closed form
and is not quadratic in the gains.

The policy is Gaussian and linear in the features :math:`\phi(s) =
(\vartheta, \dot\vartheta)`, :math:`u \sim \mathcal N(w^\top\phi, \sigma^2)`,
:math:`\theta = (w_1, w_2, \sigma)`, as in :mod:`ngd_lib.policy_opt`.

References
----------
Brockman et al. (2016), OpenAI Gym, ``Pendulum-v1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import _show, as_float_array, as_rng
from .lq import check_count, check_positive_real, check_real
from .policy_opt import PolicyBatch

__all__ = ["PendulumTask", "pendulum_step"]


def pendulum_step(th, thdot, u, *, g=10.0, m=1.0, length=1.0, dt=0.05,
                  max_torque=2.0, max_speed=8.0):
    r"""One step of ``Pendulum-v1``, vectorised: ``(th', thdot', cost)``.

    The torque ``u`` is clipped to ``max_torque`` before it acts and before it is
    charged; the cost uses the state *before* the step, as Gym's does.

    Examples
    --------
    >>> th, thdot, cost = pendulum_step(np.array([0.1]), np.array([0.0]),
    ...                                 np.array([5.0]))
    >>> np.round(th, 5), np.round(cost, 4)
    (array([0.11874]), array([0.014]))
    """
    for name, value in (("g", g), ("m", m), ("length", length), ("dt", dt),
                        ("max_torque", max_torque), ("max_speed", max_speed)):
        check_positive_real(value, name, fix="Gym's Pendulum-v1 uses g=10, m=1, "
                            "length=1, dt=0.05, max_torque=2, max_speed=8.")
    th = as_float_array(th, "th")
    thdot = as_float_array(thdot, "thdot")
    u = np.clip(as_float_array(u, "u"), -max_torque, max_torque)
    return _step(th, thdot, u, g, m, length, dt, max_speed)


def _step(th, thdot, u, g=10.0, m=1.0, length=1.0, dt=0.05, max_speed=8.0):
    # the unchecked step of pendulum_step (u already clipped); simulate calls it
    # 100 times per rollout
    wrapped = (th + math.pi) % (2 * math.pi) - math.pi
    cost = wrapped**2 + 0.1 * thdot**2 + 0.001 * u**2
    thdot = thdot + (3 * g / (2 * length) * np.sin(th)
                     + 3.0 / (m * length**2) * u) * dt
    thdot = np.minimum(np.maximum(thdot, -max_speed), max_speed)
    return th + thdot * dt, thdot, cost


@dataclass(frozen=True)
class PendulumTask:
    r"""Stabilise ``Pendulum-v1`` near the top with a linear-Gaussian policy.

    Parameters
    ----------
    horizon : int
        Steps per episode (100 = 5 s).
    gamma : float
        Discount in (0, 1).
    th0, thdot0 : float
        Half-widths of the uniform start distributions of angle and speed.
    n_eval : int
        Episodes of :meth:`evaluate` (common random numbers, seed ``eval_seed``).

    Examples
    --------
    >>> task = PendulumTask()
    >>> batch = task.rollout(np.array([-10.0, -2.0, 0.5]), 8, rng=0)
    >>> batch.features.shape, batch.rewards.shape
    ((8, 100, 2), (8, 100))
    >>> task.evaluate([-10.0, -2.0, 0.5]) > task.evaluate([0.0, 0.0, 0.5])
    True
    """

    horizon: int = 100
    gamma: float = 0.97
    th0: float = 0.3
    thdot0: float = 0.5
    n_eval: int = 500
    eval_seed: int = 2017
    #: theta = (w_angle, w_speed, sigma)
    n_params = 3

    def __post_init__(self):
        object.__setattr__(self, "horizon", check_count(self.horizon, "horizon"))
        gamma = check_real(self.gamma, "gamma")
        if not 0 < gamma < 1:
            raise ValueError(f"gamma must lie strictly between 0 and 1; got "
                             f"{gamma!r}. Use e.g. gamma=0.97.")
        object.__setattr__(self, "gamma", gamma)
        for name in ("th0", "thdot0"):
            object.__setattr__(self, name, check_positive_real(
                getattr(self, name), name, allow_zero=True,
                fix="It is the half-width of a uniform start distribution."))
        object.__setattr__(self, "n_eval", check_count(self.n_eval, "n_eval",
                                                       minimum=2))

    def _theta(self, theta) -> np.ndarray:
        theta = as_float_array(theta, "theta", ndim=1)
        if theta.shape != (3,):
            raise ValueError(
                f"theta must be (w_angle, w_speed, sigma), a vector of length 3; got "
                f"shape {theta.shape}. Pass e.g. theta=(0.0, 0.0, 1.0)."
            )
        if not theta[2] > 0:
            raise ValueError(f"theta[2] is sigma and must be > 0; got "
                             f"{float(theta[2])!r}. Pass a positive exploration "
                             "noise such as 1.0.")
        return theta

    def simulate(self, theta, n_episodes: int, rng, *, noise: bool = True):
        """States, features, actions and rewards of ``n_episodes`` episodes."""
        theta = self._theta(theta)
        n = check_count(n_episodes, "n_episodes")
        rng = as_rng(rng)
        T = self.horizon
        th = rng.uniform(-self.th0, self.th0, n)
        thdot = rng.uniform(-self.thdot0, self.thdot0, n)
        eps = rng.standard_normal((T, n))
        # the loop carries only the state; features and costs are vectorised after it
        ths, thdots, actions = np.empty((T, n)), np.empty((T, n)), np.empty((T, n))
        w1, w2 = float(theta[0]), float(theta[1])
        noise_t = theta[2] * eps if noise else np.zeros((T, n))
        two_pi, dt = 2 * math.pi, 0.05
        for t in range(T):
            wrapped = (th + math.pi) % two_pi - math.pi
            ths[t], thdots[t] = wrapped, thdot
            u = w1 * wrapped + w2 * thdot + noise_t[t]
            actions[t] = u
            u = np.minimum(np.maximum(u, -2.0), 2.0)  # Pendulum-v1's max_torque
            thdot = thdot + (15.0 * np.sin(th) + 3.0 * u) * dt  # 3g/(2l), 3/(ml^2)
            thdot = np.minimum(np.maximum(thdot, -8.0), 8.0)
            th = th + thdot * dt
        u = np.clip(actions, -2.0, 2.0)
        rewards = -(ths**2 + 0.1 * thdots**2 + 0.001 * u**2)
        features = np.stack([ths, thdots], axis=-1)
        return (features.transpose(1, 0, 2), actions.T, rewards.T)

    def rollout(self, theta, n_episodes: int, rng) -> PolicyBatch:
        """A :class:`~ngd_lib.policy_opt.PolicyBatch` of noisy episodes at ``theta``."""
        theta = self._theta(theta)
        features, actions, rewards = self.simulate(theta, n_episodes, rng)
        return PolicyBatch(features, actions, rewards, theta.copy(), self.gamma)

    def evaluate(self, theta, *, noise: bool = True) -> float:
        r"""The normalised return :math:`(1-\gamma)\,\mathbb E[\sum_t\gamma^t r_t]`,
        estimated from ``n_eval`` episodes with a fixed seed (common random numbers,
        so two policies are compared on the same starts and noise)."""
        _, _, rewards = self.simulate(theta, self.n_eval, self.eval_seed, noise=noise)
        disc = self.gamma ** np.arange(self.horizon)
        return float((1 - self.gamma) * (rewards @ disc).mean())

    def balanced_fraction(self, theta, *, tol: float = 0.1,
                          noise: bool = True) -> float:
        r"""The fraction of the ``n_eval`` evaluation episodes (the starts and noise of
        :meth:`evaluate`) that end upright, :math:`|\bar\vartheta_T| <` ``tol``."""
        tol = check_positive_real(tol, "tol", fix="Pass an angle such as tol=0.1.")
        theta = self._theta(theta)
        rng = as_rng(self.eval_seed)
        n, T = self.n_eval, self.horizon
        th = rng.uniform(-self.th0, self.th0, n)
        thdot = rng.uniform(-self.thdot0, self.thdot0, n)
        eps = rng.standard_normal((T, n))
        for t in range(T):
            wrapped = (th + math.pi) % (2 * math.pi) - math.pi
            u = theta[0] * wrapped + theta[1] * thdot
            if noise:
                u = u + theta[2] * eps[t]
            th, thdot, _ = _step(th, thdot, np.minimum(np.maximum(u, -2.0), 2.0))
        final = (th + math.pi) % (2 * math.pi) - math.pi
        return float(np.mean(np.abs(final) < tol))

    def kl(self, theta, theta_new):
        """None: the KL has no closed form here; ``train`` uses the batch's."""
        return None

    def check(self, theta) -> str | None:
        """Why ``theta`` is not a usable policy (None if it is)."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (3,) or not np.all(np.isfinite(theta)):
            return f"theta = {_show(theta)} is not three finite numbers"
        if np.max(np.abs(theta[:2])) > 1e3:
            return (f"the gains {_show(theta[:2])} exceed 1e3 (the torque saturates "
                    "long before)")
        return None
