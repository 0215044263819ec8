r"""From the natural policy gradient to TRPO and PPO (chapter 11).

The policies here are Gaussian and linear in features, :math:`u \sim
\mathcal N(w^\top\phi(s), \sigma^2)` with parameters :math:`\theta = (w, \sigma)` (the
last entry is :math:`\sigma`); the linear-quadratic policy of chapter 7 is the case
:math:`\phi(s) = s`, :math:`\theta = (k, \sigma)`. A batch of episodes is a
:class:`PolicyBatch` (:func:`from_rollout` converts an :class:`ngd_lib.rl.Rollout`;
:mod:`ngd_lib.control` makes them for the pendulum).

* :func:`compatible_natural_gradient`: Kakade's compatible function approximation, the
  natural gradient as the least-squares regression of the returns-to-go on the scores;
  :func:`episodic_natural_actor_critic` (eNAC, Peters & Schaal 2008): episode returns
  regressed on the summed scores and a constant.
* :func:`trpo_step`: conjugate gradient on Fisher-vector products, the step from the
  KL budget and a backtracking line search on a KL and an improvement function.
* :func:`ppo_objective`, :func:`ppo_gradient`, :func:`ppo_update`: PPO's clipped
  importance-ratio surrogate and several epochs of gradient ascent on it.
* :func:`train`: vanilla, natural, TRPO and PPO on a task (:class:`LQTask` or
  :class:`ngd_lib.control.PendulumTask`), seeded, with the samples used recorded;
  :func:`newton_gain`: Newton's method on the closed-form return of the LQ problem.

All quantities are *normalised* as in chapter 7: gradients of :math:`(1-\gamma)J`,
Fisher matrices and KL divergences under the normalised discounted state distribution
(weights :math:`(1-\gamma)\gamma^t`), so a KL budget is a mean KL per state.

References
----------
Kakade (2001); Peters & Schaal (2008), Neurocomputing 71; Schulman et al. (2015),
TRPO; Schulman et al. (2017), PPO.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._validation import _show, as_float_array, as_rng, check_choice
from .linalg import cg_solve
from .lq import (
    LinearQuadratic,
    check_count,
    check_positive_real,
    check_real,
)
from .result import History, OptimizeResult
from .trust_region import kl_step_size

__all__ = [
    "CompatibleFit",
    "LQTask",
    "PolicyBatch",
    "TRPOStep",
    "compatible_natural_gradient",
    "episodic_natural_actor_critic",
    "fisher",
    "fisher_vector_product",
    "from_rollout",
    "mean_kl",
    "newton_gain",
    "policy_gradient",
    "ppo_gradient",
    "ppo_objective",
    "ppo_update",
    "surrogate_improvement",
    "train",
    "trpo_step",
]

METHODS = ("vanilla", "natural", "trpo", "ppo")
#: The line search accepts kl <= max_kl * (1 + kl_slack); the default only absorbs the
#: round-off of an exactly quadratic KL. OpenAI Baselines' TRPO (trpo_mpi) accepts
#: kl <= 1.5 max_kl, i.e. kl_slack = 0.5.
DEFAULT_KL_SLACK = 1e-9
#: The floor on sigma in train and ppo_update.
DEFAULT_SIGMA_MIN = 0.01


# ------------------------------------------------------------------ the batch
@dataclass(frozen=True)
class PolicyBatch:
    r"""Episodes of a linear-Gaussian policy, one row per episode.

    Attributes
    ----------
    features : ndarray, shape (n_episodes, horizon, m)
        :math:`\phi(s_t)`.
    actions : ndarray, shape (n_episodes, horizon)
        The sampled actions :math:`u_t` (before any clipping by the environment).
    rewards : ndarray, shape (n_episodes, horizon)
    theta : ndarray, shape (m + 1,)
        The policy that generated them, :math:`(w, \sigma)`.
    gamma : float
        The discount.
    """

    features: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    theta: np.ndarray
    gamma: float

    def __post_init__(self):
        features = as_float_array(self.features, "features", ndim=3)
        n, T, m = features.shape
        for name in ("actions", "rewards"):
            value = as_float_array(getattr(self, name), name, ndim=2)
            if value.shape != (n, T):
                raise ValueError(
                    f"{name} must have shape (n_episodes, horizon) = {(n, T)} to match "
                    f"features {features.shape}; got {value.shape}. Pass one entry per "
                    "episode and step."
                )
            object.__setattr__(self, name, value)
        theta = as_float_array(self.theta, "theta", ndim=1)
        if theta.shape != (m + 1,):
            raise ValueError(
                f"theta must have shape ({m + 1},) (the {m} feature weights, then "
                f"sigma); got {theta.shape}."
            )
        if not theta[-1] > 0:
            raise ValueError(f"theta[-1] is sigma and must be > 0; got "
                             f"{float(theta[-1])!r}.")
        gamma = check_real(self.gamma, "gamma")
        if not 0 < gamma < 1:
            raise ValueError(f"gamma must lie strictly between 0 and 1; got {gamma!r}. "
                             "The state weights are (1 - gamma) gamma^t.")
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "gamma", gamma)

    @property
    def n_episodes(self) -> int:
        return self.actions.shape[0]

    @property
    def horizon(self) -> int:
        return self.actions.shape[1]

    @property
    def n_samples(self) -> int:
        """State-action pairs in the batch, ``n_episodes * horizon``."""
        return self.actions.size

    @property
    def weights(self) -> np.ndarray:
        r""":math:`(1-\gamma)\gamma^t`, the normalised discounted state weights."""
        return (1 - self.gamma) * self.gamma ** np.arange(self.horizon)

    def log_prob(self, theta) -> np.ndarray:
        r""":math:`\log\pi_{\theta}(u_t\mid s_t)` for every episode and step."""
        w, sigma = theta[:-1], theta[-1]
        z = (self.actions - self.features @ w) / sigma
        return -0.5 * z**2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)

    def scores_at(self, theta) -> np.ndarray:
        r""":math:`\nabla_\theta\log\pi_\theta(u_t\mid s_t)`, shape (n, T, m + 1).

        :math:`\partial_w = \varepsilon\phi/\sigma`, :math:`\partial_\sigma =
        (\varepsilon^2 - 1)/\sigma`, :math:`\varepsilon = (u - w^\top\phi)/\sigma`.
        """
        w, sigma = theta[:-1], theta[-1]
        eps = (self.actions - self.features @ w) / sigma
        return np.concatenate([eps[..., None] * self.features / sigma,
                               ((eps**2 - 1) / sigma)[..., None]], axis=-1)

    @cached_property
    def scores(self) -> np.ndarray:
        """The scores at the batch's own policy (:meth:`scores_at` ``theta``)."""
        return self.scores_at(self.theta)

    @property
    def discounted_returns(self) -> np.ndarray:
        r"""Per-episode :math:`\sum_t\gamma^t r_t`."""
        return self.rewards @ (self.gamma ** np.arange(self.horizon))

    @cached_property
    def returns_to_go(self) -> np.ndarray:
        r""":math:`\hat Q_t = \sum_{t'\ge t}\gamma^{t'-t} r_{t'}`, shape (n, T).

        Truncated at the horizon, so it estimates the return of the *truncated*
        problem (the backward recursion :math:`\hat Q_t = r_t + \gamma\hat Q_{t+1}`,
        which cannot underflow as a division by :math:`\gamma^t` would).
        """
        to_go = np.empty_like(self.rewards)
        acc = np.zeros(self.n_episodes)
        for t in range(self.horizon - 1, -1, -1):
            acc = self.rewards[:, t] + self.gamma * acc
            to_go[:, t] = acc
        return to_go

    @cached_property
    def advantages(self) -> np.ndarray:
        r""":math:`\hat Q_t - b_t`, with :math:`b_t` the mean of :math:`\hat Q_t` over
        the *other* episodes (leave-one-out: the baseline is independent of the
        episode's own actions, so the gradient estimate stays unbiased for the
        truncated return)."""
        q = self.returns_to_go
        n = q.shape[0]
        return q - (q.sum(axis=0, keepdims=True) - q) / (n - 1)


def _check_batch(batch) -> PolicyBatch:
    if not isinstance(batch, PolicyBatch):
        raise TypeError(
            f"batch must be a PolicyBatch; got {type(batch).__name__}. Convert an "
            "rl.Rollout with policy_opt.from_rollout(rollout), or simulate one with "
            "a task's rollout method."
        )
    if batch.n_episodes < 2:
        raise ValueError(
            f"batch must hold at least 2 episodes (for the baseline); got "
            f"{batch.n_episodes}. Simulate more episodes."
        )
    return batch


def _check_theta(theta, batch: PolicyBatch, name: str = "theta_new") -> np.ndarray:
    theta = as_float_array(theta, name, ndim=1)
    if theta.shape != batch.theta.shape:
        raise ValueError(
            f"{name} must have shape {batch.theta.shape} (the feature weights, then "
            f"sigma); got shape {theta.shape}. Pass a vector like batch.theta."
        )
    if not theta[-1] > 0:
        raise ValueError(
            f"{name}[-1] is sigma and must be > 0; got {float(theta[-1])!r}. A "
            "Gaussian policy needs a positive standard deviation."
        )
    return theta


def from_rollout(rollout) -> PolicyBatch:
    r"""The :class:`PolicyBatch` of an LQ :class:`ngd_lib.rl.Rollout`.

    The feature is the state, :math:`\phi(s) = s`, so :math:`\theta = (k, \sigma)`.

    Examples
    --------
    >>> from ngd_lib import lq, rl
    >>> ro = rl.rollout(lq.LinearQuadratic(), -0.5, 0.3, n_episodes=4, horizon=10,
    ...                 rng=0)
    >>> batch = from_rollout(ro)
    >>> batch.features.shape, batch.theta
    ((4, 10, 1), array([-0.5,  0.3]))
    """
    from .rl import Rollout

    if not isinstance(rollout, Rollout):
        raise TypeError(
            f"rollout must be an rl.Rollout; got {type(rollout).__name__}. Simulate "
            "one with rl.rollout(env, k, sigma, n_episodes=..., horizon=..., rng=...)."
        )
    if rollout.overflow_step is not None:
        raise ValueError(
            f"rollout overflowed a float at step {rollout.overflow_step} (k = "
            f"{rollout.k:.6g}); use a shorter horizon or a stable gain."
        )
    return PolicyBatch(rollout.states[:, :-1, None], np.asarray(rollout.actions),
                       np.asarray(rollout.rewards),
                       np.array([rollout.k, rollout.sigma]), rollout.gamma)


# ------------------------------------------------------------ estimates
def policy_gradient(batch: PolicyBatch) -> np.ndarray:
    r"""The GPOMDP estimate of :math:`\nabla_\theta (1-\gamma)J` with a baseline.

    :math:`\hat g = \frac{1-\gamma}{N}\sum_i\sum_t \gamma^t\,\psi_t^{(i)}
    \hat A_t^{(i)}`, :math:`\psi_t = \nabla\log\pi(u_t\mid s_t)`,
    :math:`\hat A_t` from :attr:`PolicyBatch.advantages`; for an LQ batch it is
    :math:`(1-\gamma)` times :func:`ngd_lib.rl.policy_gradient_estimate`.
    """
    batch = _check_batch(batch)
    return np.einsum("ntd,nt,t->d", batch.scores, batch.advantages,
                     batch.weights) / batch.n_episodes


def fisher(batch: PolicyBatch) -> np.ndarray:
    r"""The Monte-Carlo normalised Fisher matrix :math:`\frac{1-\gamma}{N}
    \sum_i\sum_t\gamma^t\psi_t\psi_t^\top` (dense; the twin of
    :func:`fisher_vector_product`)."""
    batch = _check_batch(batch)
    psi = batch.scores
    return np.einsum("ntd,nte,t->de", psi, psi, batch.weights) / batch.n_episodes


def fisher_vector_product(batch: PolicyBatch, v) -> np.ndarray:
    r""":math:`\hat F v` without forming :math:`\hat F`: two passes over the scores,
    :math:`\frac{1-\gamma}{N}\sum\gamma^t\psi_t(\psi_t^\top v)`."""
    batch = _check_batch(batch)
    psi = batch.scores
    v = as_float_array(v, "v", ndim=1)
    if v.shape != (psi.shape[-1],):
        raise ValueError(f"v must have shape ({psi.shape[-1]},); got {v.shape}.")
    return np.einsum("ntd,nt,t->d", psi, psi @ v, batch.weights) / batch.n_episodes


@dataclass(frozen=True)
class CompatibleFit:
    r"""A least-squares fit of returns on the scores.

    Attributes
    ----------
    w : ndarray
        The coefficients of the scores: the natural-gradient estimate.
    intercept : ndarray
        The coefficients of the other columns (the baseline or value part).
    r2 : float
        The fraction of the (weighted) variance of the targets the fit explains.
    """

    w: np.ndarray
    intercept: np.ndarray
    r2: float


def _weighted_lstsq(X, y, weights) -> tuple[np.ndarray, float]:
    root = np.sqrt(weights)
    coef = np.linalg.lstsq(X * root[:, None], y * root, rcond=None)[0]
    resid = y - X @ coef
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.sum(weights * y) / np.sum(weights)
        total = np.sum(weights * (y - mean) ** 2)
    if not (np.all(np.isfinite(coef)) and np.isfinite(total)):
        return coef, math.nan
    r2 = 1.0 - np.sum(weights * resid**2) / total if total > 0 else 1.0
    return coef, float(r2)


def compatible_natural_gradient(batch: PolicyBatch, *, baseline: bool = True,
                                critic_features=None) -> CompatibleFit:
    r"""The natural gradient by compatible function approximation (Kakade 2001).

    Fit :math:`\hat Q_t \approx \psi_t^\top w + b_t` by least squares over every
    episode and step with weights :math:`\gamma^t` (the discounted state
    distribution). The normal equations are

    .. math::

        \Bigl(\sum\gamma^t\psi_t\psi_t^\top\Bigr) w = \sum\gamma^t\psi_t(\hat Q_t -
        b_t), \qquad\text{i.e.}\qquad \hat F w = \hat g,

    so :math:`w = \hat F^{-1}\hat g`: the regression coefficient *is* the natural
    gradient, without forming :math:`\hat F` (the twin is
    ``np.linalg.solve(fisher(batch), policy_gradient(batch))``). ``baseline``
    subtracts the leave-one-out mean :math:`b_t`; ``critic_features`` (shape
    ``(n, T, p)``) are fitted jointly as a value function :math:`v^\top\chi(s_t)`,
    which leaves :math:`w` consistent (the scores have mean zero given the state) and
    lowers its variance. ``r2`` is NaN when the fit is not finite.

    Parameters
    ----------
    batch : PolicyBatch
    baseline : bool, keyword-only
    critic_features : array_like, optional, keyword-only

    Returns
    -------
    CompatibleFit

    Raises
    ------
    TypeError
        If ``batch`` is not a :class:`PolicyBatch`.
    ValueError
        If ``critic_features`` has the wrong shape or is not finite.

    Examples
    --------
    >>> from ngd_lib import lq, rl
    >>> ro = rl.rollout(lq.LinearQuadratic(), -0.5, 0.5, n_episodes=200,
    ...                 horizon=60, rng=1)
    >>> b = from_rollout(ro)
    >>> fit = compatible_natural_gradient(b)
    >>> bool(np.allclose(fit.w, np.linalg.solve(fisher(b), policy_gradient(b))))
    True
    """
    batch = _check_batch(batch)
    target = batch.advantages if baseline else batch.returns_to_go
    X = batch.scores
    if critic_features is not None:
        chi = as_float_array(critic_features, "critic_features", ndim=3)
        if chi.shape[:2] != target.shape:
            raise ValueError(
                f"critic_features must have shape (n_episodes, horizon, p) = "
                f"{target.shape + ('p',)}; got {chi.shape}. Pass one row of value "
                "features per episode and step."
            )
        X = np.concatenate([X, chi], axis=-1)
    d = batch.theta.size
    weights = np.broadcast_to(batch.gamma ** np.arange(batch.horizon), target.shape)
    coef, r2 = _weighted_lstsq(X.reshape(-1, X.shape[-1]), target.ravel(),
                               weights.ravel())
    return CompatibleFit(coef[:d], coef[d:], r2)


def episodic_natural_actor_critic(batch: PolicyBatch) -> CompatibleFit:
    r"""Episodic natural actor-critic (Peters & Schaal 2008, Table 2).

    Regress each episode's return :math:`R_i = \sum_t\gamma^t r_t` on the summed
    score :math:`\Phi_i = \sum_t\gamma^t\psi_t` and a constant :math:`J`:
    :math:`R_i \approx \Phi_i^\top w + J`. Summing the advantages along an episode
    telescopes, :math:`\sum_t\gamma^t A(s_t, u_t) = R - V(s_0)` (for deterministic
    dynamics, up to the tail :math:`\gamma^T V(s_T)`), so if the advantage is
    compatible, :math:`A = \psi^\top w^\star`, the regression recovers
    :math:`w^\star = F^{-1}\nabla J` (exactly when :math:`s_0` is fixed).

    Returns
    -------
    CompatibleFit
        ``w`` the natural-gradient estimate, ``intercept`` ``[J]``.

    Raises
    ------
    TypeError
        If ``batch`` is not a :class:`PolicyBatch`.
    ValueError
        If there are fewer episodes than parameters plus one.
    """
    batch = _check_batch(batch)
    d = batch.theta.size
    if batch.n_episodes < d + 1:
        raise ValueError(
            f"eNAC regresses the episode returns on {d} scores and a constant, so it "
            f"needs at least {d + 1} episodes; got {batch.n_episodes}. Simulate more."
        )
    disc = batch.gamma ** np.arange(batch.horizon)
    Phi = np.einsum("ntd,t->nd", batch.scores, disc)
    X = np.column_stack([Phi, np.ones(batch.n_episodes)])
    coef, r2 = _weighted_lstsq(X, batch.discounted_returns, np.ones(batch.n_episodes))
    return CompatibleFit(coef[:d], coef[d:], r2)


# ------------------------------------------------- KL, surrogate and PPO
def _gaussian_kl(mean_old, sigma_old, mean_new, sigma_new):
    return (np.log(sigma_new / sigma_old)
            + (sigma_old**2 + (mean_old - mean_new) ** 2) / (2 * sigma_new**2) - 0.5)


def mean_kl(batch: PolicyBatch, theta_new) -> float:
    r"""The mean KL per state, :math:`\frac{1-\gamma}{N}\sum_i\sum_t\gamma^t
    \mathrm{KL}(\pi_\theta(\cdot\mid s_t)\Vert\pi_{\theta'}(\cdot\mid s_t))`.

    Each term is the closed-form KL of two Gaussians; only the states are sampled.
    For the LQ problem its expectation is ``(1 - gamma) * env.discounted_kl``
    (truncated at the horizon).
    """
    batch = _check_batch(batch)
    theta_new = _check_theta(theta_new, batch)
    old, new = batch.theta, theta_new
    kl = _gaussian_kl(batch.features @ old[:-1], old[-1], batch.features @ new[:-1],
                      new[-1])
    return float(np.sum(kl @ batch.weights) / batch.n_episodes)


#: Log-ratios are capped here (ratios at e^30) so that products with the advantages
#: stay finite; a ratio that large is far outside any clip range.
_LOG_RATIO_CAP = 30.0


def _log_ratio(batch, theta_new):
    return batch.log_prob(theta_new) - batch.log_prob(batch.theta)


def _ratio(batch, theta_new):
    return np.exp(np.minimum(_log_ratio(batch, theta_new), _LOG_RATIO_CAP))


def surrogate_improvement(batch: PolicyBatch, theta_new) -> float:
    r"""TRPO's importance-sampled surrogate :math:`L(\theta') - L(\theta)`.

    :math:`\frac{1-\gamma}{N}\sum_i\sum_t\gamma^t(\rho_t - 1)\hat A_t` with the ratio
    :math:`\rho_t = \pi_{\theta'}(u_t\mid s_t)/\pi_\theta(u_t\mid s_t)`; its gradient
    at :math:`\theta' = \theta` is :func:`policy_gradient`.
    """
    batch = _check_batch(batch)
    theta_new = _check_theta(theta_new, batch)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = (_ratio(batch, theta_new) - 1) * batch.advantages
        value = float(np.sum(terms @ batch.weights) / batch.n_episodes)
    return value if math.isfinite(value) else -math.inf


def ppo_objective(batch: PolicyBatch, theta_new, *, clip: float = 0.2) -> float:
    r"""PPO's clipped surrogate (Schulman et al. 2017, eq. 7).

    .. math::

        L^{\mathrm{clip}}(\theta') = \frac{1-\gamma}{N}\sum_i\sum_t\gamma^t
        \min\bigl(\rho_t\hat A_t,\ \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon)
        \hat A_t\bigr).
    """
    batch = _check_batch(batch)
    theta_new = _check_theta(theta_new, batch)
    clip = _check_clip(clip)
    rho, adv = _ratio(batch, theta_new), batch.advantages
    terms = np.minimum(rho * adv, np.clip(rho, 1 - clip, 1 + clip) * adv)
    return float(np.sum(terms @ batch.weights) / batch.n_episodes)


def ppo_gradient(batch: PolicyBatch, theta_new, *, clip: float = 0.2) -> np.ndarray:
    r"""The gradient of :func:`ppo_objective` in :math:`\theta'`.

    A term contributes :math:`\rho_t\hat A_t\nabla\log\pi_{\theta'}(u_t\mid s_t)`
    where the unclipped branch is the minimum: inside :math:`[1-\epsilon,
    1+\epsilon]`, and also outside it on the side that makes the term worse
    (:math:`\hat A_t < 0` with :math:`\rho_t > 1+\epsilon`, or :math:`\hat A_t > 0`
    with :math:`\rho_t < 1-\epsilon`); it contributes nothing where the clip is
    active, or where the log-ratio reaches the cap of 30 (the objective is flat
    there too). At :math:`\theta' = \theta` every ratio is 1 and the gradient is
    :func:`policy_gradient`.
    """
    batch = _check_batch(batch)
    theta_new = _check_theta(theta_new, batch)
    clip = _check_clip(clip)
    log_rho, adv = _log_ratio(batch, theta_new), batch.advantages
    rho = np.exp(np.minimum(log_rho, _LOG_RATIO_CAP))
    active = (rho * adv <= np.clip(rho, 1 - clip, 1 + clip) * adv) & (
        log_rho < _LOG_RATIO_CAP)
    coef = np.where(active, rho * adv, 0.0) * batch.weights
    return np.einsum("ntd,nt->d", batch.scores_at(theta_new), coef) / batch.n_episodes


def _check_clip(clip) -> float:
    clip = check_positive_real(clip, "clip", fix="PPO uses clip=0.2.")
    if clip >= 1:
        raise ValueError(f"clip must be < 1; got {clip!r}. PPO uses clip=0.2.")
    return clip


def ppo_update(batch: PolicyBatch, *, lr: float, epochs: int = 10, clip: float = 0.2,
               sigma_min: float = DEFAULT_SIGMA_MIN) -> np.ndarray:
    r"""Several epochs of Adam ascent on the clipped surrogate of one batch.

    From :math:`\theta' = \theta`, ``epochs`` full-batch steps of Adam (Kingma & Ba
    2015; the optimiser of Schulman et al. 2017, without their minibatches) on
    :func:`ppo_objective`, with :math:`\sigma'` kept at or above ``sigma_min``. Adam
    moves each parameter by about ``lr`` per epoch whatever the scale of the
    gradient, so the first-order method is not handicapped by the scale of the
    rewards. The clip removes the gradient of every term whose ratio has left
    :math:`[1-\epsilon, 1+\epsilon]` in the improving direction, which is what keeps
    the new policy near the old one; nothing bounds the KL.

    Returns
    -------
    ndarray
        The new :math:`\theta'`.
    """
    batch = _check_batch(batch)
    lr = check_positive_real(lr, "lr", fix="Pass a step such as lr=0.02.")
    epochs = check_count(epochs, "epochs", fix="PPO uses about 10 epochs.")
    sigma_min = check_positive_real(sigma_min, "sigma_min",
                                    fix="Pass a small floor such as 0.01.")
    theta = batch.theta.copy()
    m1, m2 = np.zeros_like(theta), np.zeros_like(theta)
    beta1, beta2 = 0.9, 0.999
    for t in range(1, epochs + 1):
        grad = ppo_gradient(batch, theta, clip=clip)
        m1 = beta1 * m1 + (1 - beta1) * grad
        m2 = beta2 * m2 + (1 - beta2) * grad**2
        step = (m1 / (1 - beta1**t)) / (np.sqrt(m2 / (1 - beta2**t)) + 1e-12)
        theta = theta + lr * step
        theta[-1] = max(theta[-1], sigma_min)
    return theta


# ------------------------------------------------------------------ TRPO
@dataclass(frozen=True)
class TRPOStep:
    r"""One TRPO step.

    Attributes
    ----------
    step : ndarray
        The accepted step :math:`\Delta` (zeros if none was accepted).
    direction : ndarray
        The CG solution :math:`d \approx (F + \lambda I)^{-1}g`.
    full_step_size : float
        :math:`\alpha = \sqrt{2\delta/d^\top F d}`, the step on the KL budget.
    fraction : float
        The accepted fraction :math:`\beta^j` of the full step (0 if none).
    n_backtracks : int
        Candidates rejected before the accepted one.
    kl, improvement : float
        At the accepted step (NaN if none was accepted).
    cg_iterations : int
    accepted : bool
    """

    step: np.ndarray
    direction: np.ndarray
    full_step_size: float
    fraction: float
    n_backtracks: int
    kl: float
    improvement: float
    cg_iterations: int
    accepted: bool


def trpo_step(grad, fvp, *, max_kl: float, kl, improvement=None, cg_iter: int = 10,
              damping: float = 0.0, backtrack: float = 0.5,
              max_backtracks: int = 10,
              kl_slack: float = DEFAULT_KL_SLACK) -> TRPOStep:
    r"""The TRPO step: CG direction, KL-budget step, backtracking line search.

    1. :math:`d` from ``cg_iter`` conjugate-gradient iterations on
       :math:`(F + \lambda I)d = g` with ``fvp(v)`` :math:`= Fv`
       (:func:`ngd_lib.cg_solve`);
    2. :math:`\alpha = \sqrt{2\delta/d^\top F d}` (:func:`ngd_lib.kl_step_size`), so
       the quadratic model of the KL of :math:`\alpha d` is the budget :math:`\delta`;
    3. try :math:`\Delta = \beta^j\alpha d`, :math:`j = 0, 1, \dots,`
       ``max_backtracks``, and accept the first with ``kl(Delta) <= max_kl`` and
       ``improvement(Delta) > 0`` (Schulman et al. 2015, App. C); the KL test is
       ``kl <= max_kl * (1 + kl_slack)``. The default slack :math:`10^{-9}` only
       lets the full step of an exactly quadratic KL through; OpenAI Baselines'
       ``trpo_mpi`` uses 0.5 (it accepts a KL up to :math:`1.5\delta`).

    Parameters
    ----------
    grad : array_like, shape (P,)
        The (normalised) policy gradient :math:`g`, non-zero.
    fvp : callable or array_like
        ``v -> F v`` or the matrix :math:`F`.
    max_kl : float, keyword-only
        :math:`\delta > 0`.
    kl : callable, keyword-only
        ``Delta -> KL`` of the step (the exact KL where it is known).
    improvement : callable, optional, keyword-only
        ``Delta -> improvement`` (the surrogate or the exact return difference);
        None accepts on the KL alone.
    cg_iter : int, keyword-only
        TRPO uses 10.
    damping : float, keyword-only
    backtrack : float, keyword-only
        :math:`\beta \in (0, 1)`.
    max_backtracks : int, keyword-only
    kl_slack : float, keyword-only
        Relative slack of the KL test, ``>= 0``.

    Returns
    -------
    TRPOStep

    Raises
    ------
    ValueError
        If ``grad`` is zero or not finite, an option is out of range, or CG cannot
        make a direction (the curvature is not positive).
    TypeError
        If ``kl`` or ``improvement`` is not callable, or returns something other
        than one real number.

    Examples
    --------
    >>> F = np.diag([4.0, 1.0]); g = np.array([1.0, 1.0])
    >>> res = trpo_step(g, F, max_kl=0.01, kl=lambda s: 0.5 * s @ F @ s)
    >>> res.accepted, res.n_backtracks, round(res.kl, 12)
    (True, 0, 0.01)
    """
    g = as_float_array(grad, "grad", ndim=1)
    if not np.any(g):
        raise ValueError("grad is the zero vector: the policy is at a stationary "
                         "point, and there is no step to take.")
    for name, fn in (("kl", kl), ("improvement", improvement)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be a function of the step; got "
                            f"{type(fn).__name__}. Pass e.g. kl=lambda step: ...")
    if kl is None:
        raise TypeError("kl must be a function of the step; got None. Pass the "
                        "exact KL, or policy_opt.mean_kl on the batch.")
    max_kl = check_positive_real(max_kl, "max_kl", fix="TRPO uses max_kl=0.01.")
    backtrack = check_positive_real(backtrack, "backtrack", fix="Use 0.5.")
    if backtrack >= 1:
        raise ValueError(f"backtrack must be < 1; got {backtrack!r}. Use 0.5.")
    max_backtracks = check_count(max_backtracks, "max_backtracks", minimum=0)
    cg_iter = check_count(cg_iter, "cg_iter", fix="TRPO uses cg_iter=10.")
    kl_slack = check_positive_real(kl_slack, "kl_slack", allow_zero=True,
                                   fix="Use the default 1e-9, or 0.5 as OpenAI's TRPO.")
    cg = cg_solve(fvp, g, damping=damping, max_iter=cg_iter)
    if cg.status in ("not_positive_definite", "non_finite") or not np.any(cg.x):
        raise ValueError(f"conjugate gradient gave no direction: {cg.message}")
    d = cg.x
    Fd = (fvp(d) if callable(fvp) else np.asarray(fvp, float) @ d) + damping * d
    alpha = kl_step_size(d, Fd, max_kl)
    for j in range(max_backtracks + 1):
        step = (backtrack**j) * alpha * d
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                kl_value = _real_result(kl(step), "kl")
            except ValueError:  # e.g. an unstable or sigma <= 0 candidate
                continue
            gain = (math.inf if improvement is None
                    else _real_result(improvement(step), "improvement"))
        if (math.isfinite(kl_value) and kl_value <= max_kl * (1 + kl_slack)
                and gain > 0):
            return TRPOStep(step, d, alpha, backtrack**j, j, kl_value,
                            gain if improvement is not None else math.nan, cg.nit,
                            True)
    return TRPOStep(np.zeros_like(d), d, alpha, 0.0, max_backtracks + 1, math.nan,
                    math.nan, cg.nit, False)


def _real_result(value, name: str) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name}(step) must return one real number; got {_show(value)} of type "
            f"{type(value).__name__}. Return a float (e.g. reduce an array with .sum() "
            "or .mean())."
        )
    return float(value)


# ------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class LQTask:
    r"""The LQ problem of chapter 7 as a task for :func:`train`.

    Rollouts come from :func:`ngd_lib.rl.rollout`; :meth:`evaluate` is the exact
    normalised return and :meth:`kl` the exact normalised KL
    :math:`(1-\gamma)\overline{\mathrm{KL}}` (``env.discounted_kl``).
    """

    env: LinearQuadratic
    horizon: int = 100
    #: theta = (k, sigma)
    n_params = 2

    def __post_init__(self):
        if not isinstance(self.env, LinearQuadratic):
            raise TypeError(f"env must be a LinearQuadratic; got "
                            f"{type(self.env).__name__}.")
        object.__setattr__(self, "horizon", check_count(self.horizon, "horizon"))

    def _theta(self, theta) -> np.ndarray:
        theta = as_float_array(theta, "theta", ndim=1)
        if theta.shape != (2,):
            raise ValueError(f"theta must be (k, sigma), a vector of length 2; got "
                             f"shape {theta.shape}. Pass e.g. theta=(-0.1, 0.9).")
        return theta

    def rollout(self, theta, n_episodes: int, rng) -> PolicyBatch:
        from .rl import _simulate

        theta = self._theta(theta)
        ro = _simulate(self.env, float(theta[0]), float(theta[1]),
                       n_episodes=n_episodes, horizon=self.horizon, rng=rng)
        return from_rollout(ro)

    def evaluate(self, theta) -> float:
        return float(self.env.expected_return(theta[0], theta[1], normalized=True))

    def kl(self, theta, theta_new) -> float:
        return (1 - self.env.gamma) * float(self.env.discounted_kl(
            theta[0], theta[1], theta_new[0], theta_new[1]))

    def check(self, theta) -> str | None:
        """Why ``theta`` is not a usable policy (None if it is)."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (2,):
            return (f"theta = {_show(theta)} is not (k, sigma), two numbers (shape "
                    f"{theta.shape})")
        if not np.all(np.isfinite(theta)) or not self.env.is_stable(theta[0]):
            lo, hi = self.env.stable_gains()
            return (f"k = {theta[0]:.4g} left the stable gains ({lo:.4g}, {hi:.4g})")
        if not theta[1] > 0:
            return f"sigma = {theta[1]:.4g} must be > 0"
        return None


def _check_task(task):
    for name in ("rollout", "evaluate", "kl", "check"):
        if not callable(getattr(task, name, None)):
            raise TypeError(
                f"task must have rollout, evaluate, kl and check methods; got "
                f"{type(task).__name__} without {name}. Use policy_opt.LQTask(env) or "
                "control.PendulumTask()."
            )
    return task


def train(task, theta0, *, method: str, max_iter: int, n_episodes: int,
          max_kl: float = 0.01, lr: float | None = None, cg_iter: int = 10,
          damping: float = 1e-3, clip: float = 0.2, epochs: int = 10,
          sigma_min: float = DEFAULT_SIGMA_MIN, evaluate_every: int = 1,
          kl_slack: float = DEFAULT_KL_SLACK, surrogate_test: bool = True,
          rng=None) -> OptimizeResult:
    r"""Sample-based policy optimisation: vanilla PG, NPG, TRPO or PPO.

    Each iteration simulates ``n_episodes`` episodes at the current policy and
    estimates the normalised gradient :math:`\hat g` (:func:`policy_gradient`), then

    * ``"vanilla"``: :math:`\Delta = \alpha\hat g`, with the fixed ``lr`` if given,
      else :math:`\alpha` from the KL budget on :math:`\hat F`;
    * ``"natural"``: :math:`\Delta = \alpha(\hat F + \lambda I)^{-1}\hat g` on the KL
      budget (chapter 7's NPG, no line search);
    * ``"trpo"``: :func:`trpo_step` with ``cg_iter`` CG iterations on
      :func:`fisher_vector_product`, the task's KL (exact for :class:`LQTask`, else
      :func:`mean_kl` on the batch), ``kl_slack`` and, if ``surrogate_test``,
      :func:`surrogate_improvement` (else the line search tests the KL alone);
    * ``"ppo"``: :func:`ppo_update` with ``epochs``, ``clip`` and ``lr``
      (default 0.02, Adam).

    :math:`\sigma` is kept at or above ``sigma_min``.

    Parameters
    ----------
    task : LQTask or ngd_lib.control.PendulumTask
    theta0 : array_like
        The start :math:`(w, \sigma)`.
    method : {"vanilla", "natural", "trpo", "ppo"}, keyword-only
    max_iter, n_episodes : int, keyword-only
        Iterations and episodes per iteration (``>= 2``).
    max_kl, lr, cg_iter, damping, clip, epochs, sigma_min : keyword-only
        As above.
    kl_slack, surrogate_test : keyword-only
        TRPO's line search (:func:`trpo_step`): the relative slack of its KL test
        and whether it also requires the surrogate to improve.
    evaluate_every : int, keyword-only
        Call the task's :meth:`evaluate` every this many iterations (and at the
        start and the end); the other rows of ``history.fun`` are NaN. A Monte-Carlo
        evaluation (the pendulum's) costs more than the training batch.
    rng : None, int or Generator, keyword-only

    Returns
    -------
    OptimizeResult
        ``x`` the last policy, ``fun`` the task's :meth:`evaluate` there.
        ``success`` is True when all iterations ran; False (``status``
        ``"unstable"``, ``"diverged"`` or ``"solve_failed"``, with a message naming
        the iteration) when a step left the task's valid policies, an estimate was
        not finite or no direction could be formed; ``x`` is then the last good
        iterate. History: ``x``, ``fun``, ``grad_norm`` (of :math:`\hat g`),
        ``estimated_return`` (the batch mean of :math:`(1-\gamma)\sum\gamma^t r_t`
        at that iterate), ``episodes`` and ``samples`` (used before that iterate),
        ``kl`` (the task's KL of the step taken from it), ``backtracks`` (TRPO's
        rejected candidates; 0 otherwise); NaN in the last row where no step was
        taken.

    Raises
    ------
    TypeError, ValueError
        For a bad task, method or option (the message names it).
    """
    task = _check_task(task)
    method = check_choice(method, "method", METHODS)
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    expected = getattr(task, "n_params", None)
    if expected is not None and theta.shape != (expected,):
        raise ValueError(f"theta0 must have shape ({expected},) for this task (the "
                         f"feature weights, then sigma); got shape {theta.shape}.")
    why = task.check(theta)
    if why is not None or not theta[-1] > 0:
        raise ValueError(f"theta0 = {_show(theta)} is not a usable policy: "
                         f"{why or 'sigma (the last entry) must be > 0'}.")
    max_iter = check_count(max_iter, "max_iter", minimum=0)
    n_episodes = check_count(n_episodes, "n_episodes", minimum=2,
                             fix="Pass n_episodes=50, say.")
    max_kl = check_positive_real(max_kl, "max_kl", fix="TRPO uses max_kl=0.01.")
    if lr is not None:
        lr = check_positive_real(lr, "lr", fix="Pass a step such as lr=0.1.")
    damping = check_positive_real(damping, "damping", allow_zero=True)
    sigma_min = check_positive_real(sigma_min, "sigma_min")
    evaluate_every = check_count(evaluate_every, "evaluate_every")
    cg_iter = check_count(cg_iter, "cg_iter", fix="TRPO uses cg_iter=10.")
    kl_slack = check_positive_real(kl_slack, "kl_slack", allow_zero=True)
    if not isinstance(surrogate_test, (bool, np.bool_)):
        raise TypeError(f"surrogate_test must be True or False; got "
                        f"{_show(surrogate_test)}.")
    if method == "ppo":
        _check_clip(clip)
        check_count(epochs, "epochs")
    rng = as_rng(rng)

    rows = {"x": [theta.copy()], "fun": [task.evaluate(theta)], "grad_norm": [],
            "estimated_return": [], "episodes": [0], "samples": [0], "kl": [],
            "backtracks": []}
    success, status, message = True, "max_iter", f"ran all {max_iter} iterations."
    for it in range(max_iter):
        batch = task.rollout(theta, n_episodes, rng)
        with np.errstate(over="ignore", invalid="ignore"):
            g = policy_gradient(batch)
            estimated = float(batch.discounted_returns.mean() * (1 - batch.gamma))
        if not (np.all(np.isfinite(g)) and math.isfinite(estimated)):
            success, status = False, "diverged"
            message = (f"iteration {it}: the gradient estimate at theta = "
                       f"{_show(theta)} is not finite; lower max_kl or lr.")
            break
        backtracks = 0
        try:
            new, backtracks = _propose(task, batch, g, method, max_kl, lr, cg_iter,
                                       damping, clip, epochs, sigma_min, kl_slack,
                                       surrogate_test)
        except (ValueError, np.linalg.LinAlgError) as err:
            success, status = False, "solve_failed"
            message = f"iteration {it}: no step could be formed: {err}"
            break
        why = task.check(new)
        if why is not None:
            success, status = False, "unstable"
            message = (f"iteration {it}: the step to theta = {_show(new)} is not "
                       f"usable ({why}); lower max_kl or lr.")
            break
        try:
            kl_step = task.kl(theta, new)
            kl_step = mean_kl(batch, new) if kl_step is None else float(kl_step)
        except ValueError:
            kl_step = math.nan
        rows["grad_norm"].append(float(np.linalg.norm(g)))
        rows["estimated_return"].append(estimated)
        rows["kl"].append(kl_step)
        rows["backtracks"].append(backtracks)
        theta = new
        rows["x"].append(theta.copy())
        rows["fun"].append(task.evaluate(theta) if (it + 1) % evaluate_every == 0
                           or it + 1 == max_iter else math.nan)
        rows["episodes"].append((it + 1) * n_episodes)
        rows["samples"].append((it + 1) * batch.n_samples)
    if math.isnan(rows["fun"][-1]):  # stopped early between two evaluations
        rows["fun"][-1] = task.evaluate(theta)
    for name in ("grad_norm", "estimated_return", "kl", "backtracks"):
        rows[name].append(math.nan)
    history = History.from_lists(rows["x"], rows["fun"], rows["grad_norm"],
                                 **{k: v for k, v in rows.items()
                                    if k not in ("x", "fun", "grad_norm")})
    return OptimizeResult(theta, float(rows["fun"][-1]), len(rows["x"]) - 1, success,
                          message, history, status=status)


def _propose(task, batch, g, method, max_kl, lr, cg_iter, damping, clip, epochs,
             sigma_min, kl_slack=DEFAULT_KL_SLACK, surrogate_test=True):
    """The next policy from one batch: (theta_new, backtracks)."""
    theta = batch.theta

    def floored(step):
        new = theta + step
        new[-1] = max(new[-1], sigma_min)
        return new

    if method == "ppo":
        return ppo_update(batch, lr=0.02 if lr is None else lr, epochs=epochs,
                          clip=clip, sigma_min=sigma_min), 0
    if method == "trpo":
        def kl(step):
            exact = task.kl(theta, floored(step))
            return mean_kl(batch, floored(step)) if exact is None else exact

        def improvement(step):
            return surrogate_improvement(batch, floored(step))

        res = trpo_step(g, lambda v: fisher_vector_product(batch, v), max_kl=max_kl,
                        kl=kl, improvement=improvement if surrogate_test else None,
                        cg_iter=cg_iter, damping=damping, kl_slack=kl_slack)
        return floored(res.step), res.n_backtracks
    F = fisher(batch) + damping * np.eye(theta.size)
    d = g if method == "vanilla" else np.linalg.solve(F, g)
    if method == "vanilla" and lr is not None:
        return floored(lr * d), 0
    return floored(kl_step_size(d, F @ d, max_kl) * d), 0


# ---------------------------------------------------------------- Newton
def newton_gain(env: LinearQuadratic, k0, sigma, *, max_iter: int = 20,
                tol: float = 1e-12) -> OptimizeResult:
    r"""Newton's method on the gain at a fixed :math:`\sigma`, in closed form.

    :math:`k \leftarrow k - \partial_k J / \partial_k^2 J` with the exact derivatives
    (``env.policy_gradient``, ``env.return_hessian``). :math:`\partial_k J = 0`
    exactly at :math:`k^\star` for every :math:`\sigma`, and
    :math:`\partial_k^2 J < 0` near it, so the iteration converges quadratically:
    :math:`|k_{t+1} - k^\star| \le C|k_t - k^\star|^2`.

    Returns
    -------
    OptimizeResult
        ``x`` = :math:`(k, \sigma)`, ``fun`` the normalised return; ``success`` when
        :math:`|\partial_k J| \le` ``tol``; False (status ``"not_ascent"`` or
        ``"unstable"``) when :math:`\partial_k^2 J \ge 0` or a step leaves the stable
        gains. History: ``x``, ``fun``, ``grad_norm`` (:math:`|\partial_k J|`).

    Examples
    --------
    >>> env = LinearQuadratic(q=0.5, r=0.05, gamma=0.95, s0_mean=0.3, s0_var=1e-4)
    >>> res = newton_gain(env, -0.5, 0.5)
    >>> res.success, bool(abs(res.x[0] - env.optimal_gain()) < 1e-12)
    (True, True)
    """
    if not isinstance(env, LinearQuadratic):
        raise TypeError(f"env must be a LinearQuadratic; got {type(env).__name__}.")
    from .lq import check_real

    k = check_real(k0, "k0")
    sigma = check_positive_real(sigma, "sigma", fix="Pass e.g. sigma=0.5.")
    env.check_policy(k, sigma)
    max_iter = check_count(max_iter, "max_iter", minimum=0)
    tol = check_positive_real(tol, "tol")
    xs, funs, norms = [], [], []
    status, message = "max_iter", f"|dJ/dk| > tol after max_iter = {max_iter} steps."
    for it in range(max_iter + 1):
        g = float(env.policy_gradient(k, sigma)[0])
        xs.append([k, sigma])
        funs.append(float(env.expected_return(k, sigma, normalized=True)))
        norms.append(abs(g))
        if abs(g) <= tol:
            status = "converged"
            message = f"|dJ/dk| = {abs(g):.3g} <= tol after {it} steps."
            break
        if it == max_iter:
            break
        h = float(env.return_hessian(k, sigma)[0, 0])
        if not h < 0:
            status = "not_ascent"
            message = (f"step {it}: d2J/dk2 = {h:.3g} >= 0 at k = {k:.6g}; Newton's "
                       "step is not an ascent step there. Start nearer k*.")
            break
        new = k - g / h
        if not env.is_stable(new):
            status = "unstable"
            message = (f"step {it + 1} would leave the stable gains (k = {new:.4g}); "
                       "start nearer k*.")
            break
        k = new
    history = History.from_lists(xs, funs, norms)
    return OptimizeResult(np.array(xs[-1]), funs[-1], len(xs) - 1,
                          status == "converged", message, history, status=status)
