r"""Exponential families in natural and mean parameters (chapter 8).

A (minimal, regular) exponential family has densities or mass functions

.. math:: p(x \mid \eta) = h(x)\, \exp\big(\eta^\top T(x) - A(\eta)\big),

with natural parameter :math:`\eta`, sufficient statistic :math:`T`, base measure
:math:`h` and log-partition function :math:`A`. Everything chapter 8 needs follows from
:math:`A` and its convex conjugate :math:`A^*`:

* the mean parameter :math:`\mu = \nabla A(\eta) = \mathbb{E}[T(x)]`
  (:meth:`~ExponentialFamily.to_mean`) and back, :math:`\eta = \nabla A^*(\mu)`
  (:meth:`~ExponentialFamily.to_natural`);
* the Fisher matrix :math:`F(\eta) = \nabla^2 A(\eta) = \operatorname{Cov}[T(x)]`
  (:meth:`~ExponentialFamily.fisher`) and, in mean parameters,
  :math:`\nabla^2 A^*(\mu) = F(\eta)^{-1}` (:meth:`~ExponentialFamily.fisher_mean`);
* the KL divergence as a Bregman divergence of :math:`A`,
  :math:`\operatorname{KL}(p_\eta \Vert p_{\eta'}) = B_A(\eta', \eta)`
  (:meth:`~ExponentialFamily.bregman`, :meth:`~ExponentialFamily.kl`).

The families: :class:`Bernoulli`, :class:`Poisson`, :class:`Gaussian` (mean and
variance both unknown) and :class:`Categorical` (``k`` classes, ``k - 1`` free
parameters). Each method takes one parameter vector of shape ``(dim,)`` (a number is
accepted when ``dim == 1``).

The maximum-likelihood problem of a family, given the average sufficient statistic
:math:`\bar T = \frac1n\sum_i T(x_i)` of a data set, is to minimise the mean negative
log-likelihood :math:`\mathcal L(\eta) = A(\eta) - \eta^\top\bar T` (up to a constant);
its gradient is :math:`\mu(\eta) - \bar T`, so the MLE has :math:`\hat\mu = \bar T`.
:func:`gradient_step`, :func:`natural_gradient_step` and :func:`mirror_descent_step`
take one step of the three methods of chapter 8, and :func:`fit` runs one of them.

Each family computes :math:`\nabla^2 A^*` from its own closed form in :math:`\mu`, not
by inverting :math:`F`, so that the equivalence of natural gradient descent and mirror
descent (Raskutti & Mukherjee 2015) is a property the tests check, not an identity the
code assumes.

References
----------
Amari, S. (1998). Natural gradient works efficiently in learning. Raskutti, G. and
Mukherjee, S. (2015). The information geometry of mirror descent. IEEE Trans. Inf.
Theory 61(3). Wainwright, M. J. and Jordan, M. I. (2008). Graphical models, exponential
families, and variational inference, ch. 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._validation import (
    _show,
    as_float_array,
    as_rng,
    check_choice,
    check_int,
    check_memory,
    check_positive,
)
from .result import History, OptimizeResult


def _real_array(value, name: str, *, ndim: int | None = None) -> np.ndarray:
    """:func:`as_float_array` (which refuses complex, boolean and string input)."""
    return as_float_array(value, name, ndim=ndim)


def _finite_result(value, what: str, name: str, param) -> np.ndarray:
    """Raise unless ``value`` (computed from ``param``) is finite."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"the {what} at {name} = {_show(param)} overflows floating point (got "
            f"{_show(arr)}): the parameter is too extreme to compute with. Bring it "
            "closer to the centre of the parameter space."
        )
    return value


def _positive_diagonal(matrix, what: str, name: str, param) -> np.ndarray:
    """Raise unless the (positive-definite in exact arithmetic) ``matrix`` is finite
    with a positive diagonal, i.e. did not overflow or underflow to singular."""
    _finite_result(matrix, what, name, param)
    singular = not np.all(np.diag(matrix) > 0.0)
    if not singular and matrix.shape[0] > 1:
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            singular = True
    if singular:
        raise ValueError(
            f"the {what} at {name} = {_show(param)} underflows to a singular matrix "
            f"(got {_show(matrix)}): the parameter is too extreme to compute with. "
            "Bring it closer to the centre of the parameter space."
        )
    return matrix

__all__ = [
    "ExponentialFamily",
    "Bernoulli",
    "Poisson",
    "Gaussian",
    "Categorical",
    "METHODS",
    "nll",
    "gradient_step",
    "natural_gradient_step",
    "mirror_descent_step",
    "fit",
]

#: The methods :func:`fit` accepts.
METHODS = ("gd", "ngd", "ngd_mean", "mirror")


class ExponentialFamily:
    """The interface every family implements (see the module docstring).

    Subclasses define ``dim``, ``name``, the checks ``_natural_ok``/``_mean_ok`` and
    the closed forms ``_A``, ``_mean``, ``_natural``, ``_fisher``, ``_conjugate``,
    ``_conjugate_hessian``, ``_statistic`` and ``_sample``.
    """

    dim: int
    name: str
    natural_domain: str  # in words, for error messages
    mean_domain: str

    # -------------------------------------------------------------- validation
    def _vector(self, value, name: str) -> np.ndarray:
        arr = _real_array(value, name)
        if arr.ndim == 0 and self.dim == 1:
            arr = arr.reshape(1)
        if arr.shape != (self.dim,):
            raise ValueError(
                f"{name} must be a vector of {self.dim} number(s) for {self.name}; "
                f"got shape {arr.shape}. Pass np.array([...]) with {self.dim} entries."
            )
        return arr

    def check_natural(self, eta, name: str = "eta") -> np.ndarray:
        """Return ``eta`` as a float vector; raise unless it is a natural parameter."""
        eta = self._vector(eta, name)
        with np.errstate(all="ignore"):
            ok = self._natural_ok(eta)
        if not ok:
            raise ValueError(
                f"{name} = {_show(eta)} is not a natural parameter of {self.name}: "
                f"it must satisfy {self.natural_domain}."
            )
        return eta

    def check_mean(self, mu, name: str = "mu") -> np.ndarray:
        """Return ``mu`` as a float vector; raise unless it is an interior mean
        parameter (for a maximum-likelihood problem: unless the MLE exists)."""
        mu = self._vector(mu, name)
        with np.errstate(all="ignore"):
            ok = self._mean_ok(mu)
        if not ok:
            raise ValueError(
                f"{name} = {_show(mu)} is not a mean parameter of {self.name}: it must "
                f"satisfy {self.mean_domain}. On the boundary (e.g. all observations "
                "equal to 0) the maximum-likelihood natural parameter is infinite."
            )
        return mu

    def _natural_ok(self, eta) -> bool:  # pragma: no cover - every family overrides
        return True

    # -------------------------------------------------------------- public API
    def _compute(self, method, param, what: str, name: str):
        """``method(param)`` without floating-point warnings; overflow is an error."""
        try:
            with np.errstate(over="ignore", under="ignore", divide="ignore",
                             invalid="ignore"):
                value = method(param)
        except (OverflowError, ZeroDivisionError):
            value = np.inf
        return _finite_result(value, what, name, param)

    def log_partition(self, eta) -> float:
        r""":math:`A(\eta)`, the log-partition function."""
        eta = self.check_natural(eta)
        return float(self._compute(self._A, eta, "log-partition function", "eta"))

    def to_mean(self, eta) -> np.ndarray:
        r"""The mean parameter :math:`\mu = \nabla A(\eta) = \mathbb{E}_\eta[T(x)]`."""
        eta = self.check_natural(eta)
        return self._compute(self._mean, eta, "mean parameter", "eta")

    def mean(self, eta) -> np.ndarray:
        r"""Alias of :meth:`to_mean`: :math:`\nabla A(\eta)`."""
        return self.to_mean(eta)

    def to_natural(self, mu) -> np.ndarray:
        r"""The natural parameter :math:`\eta = \nabla A^*(\mu)` of the mean ``mu``."""
        mu = self.check_mean(mu)
        return self._compute(self._natural, mu, "natural parameter", "mu")

    def fisher(self, eta) -> np.ndarray:
        r""":math:`F(\eta) = \nabla^2 A(\eta) = \operatorname{Cov}_\eta[T(x)]`,
        shape (dim, dim).

        Raises ``ValueError`` where it overflows or underflows to a singular matrix
        (e.g. a Bernoulli logit beyond about 745)."""
        eta = self.check_natural(eta)
        return _positive_diagonal(self._compute(self._fisher, eta, "Fisher matrix",
                                                "eta"), "Fisher matrix", "eta", eta)

    def conjugate(self, mu) -> float:
        r""":math:`A^*(\mu) = \sup_\eta \eta^\top\mu - A(\eta)`, the negative
        entropy up to :math:`\mathbb{E}[\log h]`."""
        mu = self.check_mean(mu)
        return float(self._compute(self._conjugate, mu, "convex conjugate", "mu"))

    def fisher_mean(self, mu) -> np.ndarray:
        r"""The Fisher matrix in mean parameters, :math:`\nabla^2 A^*(\mu)` (equal
        to :math:`F(\eta)^{-1}`; computed from its own closed form)."""
        mu = self.check_mean(mu)
        value = self._compute(self._conjugate_hessian, mu, "Fisher matrix in mean "
                              "parameters", "mu")
        return _positive_diagonal(value, "Fisher matrix in mean parameters", "mu", mu)

    def bregman(self, eta1, eta2) -> float:
        r"""The Bregman divergence of :math:`A`,
        :math:`B_A(\eta_1, \eta_2) = A(\eta_1) - A(\eta_2)
        - \nabla A(\eta_2)^\top(\eta_1 - \eta_2) \ge 0`.

        It equals :math:`\operatorname{KL}(p_{\eta_2}\,\Vert\,p_{\eta_1})` (note the
        order)."""
        eta1 = self.check_natural(eta1, "eta1")
        eta2 = self.check_natural(eta2, "eta2")
        pair = np.concatenate([eta1, eta2])

        def divergence(_):
            return (self._A(eta1) - self._A(eta2)
                    - self._mean(eta2) @ (eta1 - eta2))

        value = self._compute(divergence, pair, "Bregman divergence",
                              "(eta1, eta2)")
        return max(float(value), 0.0)  # >= 0 by convexity; clip round-off

    def kl(self, eta_p, eta_q) -> float:
        r""":math:`\operatorname{KL}(p_{\eta_p}\,\Vert\,p_{\eta_q})
        = B_A(\eta_q, \eta_p)`."""
        eta_p = self.check_natural(eta_p, "eta_p")
        eta_q = self.check_natural(eta_q, "eta_q")
        return self.bregman(eta_q, eta_p)

    def sufficient_statistic(self, x) -> np.ndarray:
        """:math:`T(x)` for a 1-D array (or a number) of observations: shape (n, dim).

        Raises ``ValueError`` for values outside the family's support."""
        if np.asarray(x).dtype.kind == "b":  # True/False observations are 1/0
            x = np.asarray(x, dtype=int)
        x = _real_array(x, "x")
        if x.ndim > 1:
            raise ValueError(
                f"x must be a 1-D array of observations; got shape {x.shape}. Pass "
                "np.ravel(x) if every entry is one observation."
            )
        x = x.reshape(-1)
        if x.size and not self._support_ok(x):
            raise ValueError(
                f"x must hold observations of {self.name}, {self.support}; got "
                f"{_show(x)}."
            )
        return self._compute(self._statistic, x, "sufficient statistic", "x")

    def sample(self, eta, size: int, rng=None) -> np.ndarray:
        """Draw ``size`` observations from :math:`p(x\\mid\\eta)`."""
        eta = self.check_natural(eta)
        size = check_int(size, "size", minimum=1)
        check_memory(size, "size", what=f"{size} observations")
        self.to_mean(eta)  # raises if the distribution cannot be represented
        return self._sample(eta, size, as_rng(rng))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ------------------------------------------------------------------- families
def _log1p_exp(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass(frozen=True, repr=False)
class Bernoulli(ExponentialFamily):
    r"""Bernoulli on {0, 1}: :math:`T(x) = x`, :math:`\eta = \log\frac{p}{1-p}`,
    :math:`A(\eta) = \log(1 + e^\eta)`, :math:`\mu = p`, :math:`F = p(1-p)`.

    Examples
    --------
    >>> fam = Bernoulli()
    >>> fam.to_mean([0.0]), fam.fisher([0.0])
    (array([0.5]), array([[0.25]]))
    """

    dim: ClassVar[int] = 1
    name: ClassVar[str] = "Bernoulli"
    natural_domain: ClassVar[str] = "eta real"
    mean_domain: ClassVar[str] = "0 < mu < 1"
    support: ClassVar[str] = "0 or 1"

    def _natural_ok(self, eta):
        return True

    def _support_ok(self, x):
        return bool(np.all((x == 0) | (x == 1)))

    def _mean_ok(self, mu):
        return bool(0.0 < mu[0] < 1.0)

    def _A(self, eta):
        return _log1p_exp(eta[0])

    def _mean(self, eta):
        return np.array([_sigmoid(eta[0])])

    def _natural(self, mu):
        return np.array([math.log(mu[0]) - math.log1p(-mu[0])])

    def _fisher(self, eta):
        # p (1 - p) as sigmoid(eta) sigmoid(-eta): no cancellation for large |eta|
        return np.array([[_sigmoid(eta[0]) * _sigmoid(-eta[0])]])

    def _conjugate(self, mu):
        m = mu[0]
        return m * math.log(m) + (1.0 - m) * math.log1p(-m)

    def _conjugate_hessian(self, mu):
        m = mu[0]
        return np.array([[1.0 / m + 1.0 / (1.0 - m)]])

    def _statistic(self, x):
        return np.asarray(x, dtype=float).reshape(-1, 1)

    def _sample(self, eta, size, rng):
        return (rng.random(size) < _sigmoid(eta[0])).astype(int)


@dataclass(frozen=True, repr=False)
class Poisson(ExponentialFamily):
    r"""Poisson on 0, 1, 2, ...: :math:`T(x) = x`, :math:`\eta = \log\lambda`,
    :math:`A(\eta) = e^\eta`, :math:`\mu = \lambda`, :math:`F = \lambda`.

    Natural parameters with :math:`|\eta| > 700` are refused (``exp`` would overflow
    or underflow to a singular Fisher).
    """

    dim: ClassVar[int] = 1
    name: ClassVar[str] = "Poisson"
    natural_domain: ClassVar[str] = "|eta| <= 700 (exp(eta) finite and nonzero)"
    mean_domain: ClassVar[str] = "mu > 0"
    support: ClassVar[str] = "counts 0, 1, 2, ..."

    def _natural_ok(self, eta):
        return bool(abs(eta[0]) <= 700.0)

    def _support_ok(self, x):
        return bool(np.all((x >= 0) & (x == np.round(x))))

    def _mean_ok(self, mu):
        return bool(mu[0] > 0.0)

    def _A(self, eta):
        return math.exp(eta[0])

    def _mean(self, eta):
        return np.array([math.exp(eta[0])])

    def _natural(self, mu):
        return np.array([math.log(mu[0])])

    def _fisher(self, eta):
        return np.array([[math.exp(eta[0])]])

    def _conjugate(self, mu):
        return mu[0] * math.log(mu[0]) - mu[0]

    def _conjugate_hessian(self, mu):
        return np.array([[1.0 / mu[0]]])

    def _statistic(self, x):
        return np.asarray(x, dtype=float).reshape(-1, 1)

    def _sample(self, eta, size, rng):
        lam = math.exp(eta[0])
        if lam > 1e15:  # numpy's Poisson sampler refuses (or loses precision) beyond
            raise ValueError(
                f"cannot sample a Poisson with rate exp(eta) = {lam:.3g}: numpy's "
                "sampler needs a rate below 1e15. Take eta <= 34."
            )
        return rng.poisson(lam, size)


@dataclass(frozen=True, repr=False)
class Gaussian(ExponentialFamily):
    r"""The Gaussian :math:`\mathcal N(m, s^2)` with both parameters unknown.

    :math:`T(x) = (x, x^2)`, :math:`\eta = (m/s^2,\, -1/(2s^2))`,
    :math:`A(\eta) = -\eta_1^2/(4\eta_2) - \tfrac12\log(-2\eta_2)` (with
    :math:`h(x) = 1/\sqrt{2\pi}`), :math:`\mu = (m,\, m^2 + s^2)` and

    .. math:: F(\eta) = \operatorname{Cov}[(x, x^2)]
       = \begin{pmatrix} s^2 & 2ms^2 \\ 2ms^2 & 4m^2s^2 + 2s^4 \end{pmatrix}.

    Examples
    --------
    >>> fam = Gaussian()
    >>> fam.to_mean(fam.from_moments(1.0, 2.0))   # (m, m^2 + s^2)
    array([1., 5.])
    """

    dim: ClassVar[int] = 2
    name: ClassVar[str] = "Gaussian"
    natural_domain: ClassVar[str] = "eta[1] < 0"
    mean_domain: ClassVar[str] = "mu[1] > mu[0]**2 (a positive variance)"
    support: ClassVar[str] = "real numbers"

    @staticmethod
    def from_moments(m: float, s: float) -> np.ndarray:
        """The natural parameter of :math:`\\mathcal N(m, s^2)` (``s`` > 0)."""
        m = float(_real_array(m, "m", ndim=0))
        s = check_positive(float(_real_array(s, "s", ndim=0)), "s")
        with np.errstate(over="ignore", under="ignore"):
            var = np.float64(s) ** 2
            eta = np.array([m / var, -0.5 / var]) if var > 0 else np.array([np.inf])
        if not (np.all(np.isfinite(eta)) and eta[1] < 0):
            raise ValueError(
                f"N(m={m!r}, s={s!r}^2) has natural parameters (m/s^2, -1/(2 s^2)) "
                "that overflow floating point; take s > 1e-150 and |m|/s^2 < 1e300."
            )
        return eta

    def moments(self, eta) -> tuple[float, float]:
        """The mean ``m`` and standard deviation ``s`` of :math:`p(x\\mid\\eta)`."""
        eta = self.check_natural(eta)
        m, second = self.to_mean(eta)  # raises on overflow
        return float(m), math.sqrt(-0.5 / eta[1])

    def _natural_ok(self, eta):
        return bool(eta[1] < 0.0)

    def _support_ok(self, x):
        return True

    def _mean_ok(self, mu):
        return bool(mu[1] - mu[0] ** 2 > 0.0)

    def _A(self, eta):
        return -eta[0] ** 2 / (4.0 * eta[1]) - 0.5 * math.log(-2.0 * eta[1])

    def _mean(self, eta):
        var = -0.5 / eta[1]
        m = eta[0] * var
        return np.array([m, m**2 + var])

    def _natural(self, mu):
        var = mu[1] - mu[0] ** 2
        return np.array([mu[0] / var, -0.5 / var])

    def _fisher(self, eta):
        var = -0.5 / eta[1]
        m = eta[0] * var
        off = 2.0 * m * var
        return np.array([[var, off], [off, 4.0 * m**2 * var + 2.0 * var**2]])

    def _conjugate(self, mu):
        return -0.5 - 0.5 * math.log(mu[1] - mu[0] ** 2)

    def _conjugate_hessian(self, mu):
        v = mu[1] - mu[0] ** 2
        off = -mu[0] / v**2
        return np.array([[1.0 / v + 2.0 * mu[0] ** 2 / v**2, off], [off, 0.5 / v**2]])

    def _statistic(self, x):
        x = np.asarray(x, dtype=float).reshape(-1)
        return np.column_stack([x, x**2])

    def _sample(self, eta, size, rng):
        var = -0.5 / eta[1]
        return rng.normal(eta[0] * var, math.sqrt(var), size)


@dataclass(frozen=True, repr=False)
class Categorical(ExponentialFamily):
    r"""The categorical distribution on {0, ..., k-1} in its minimal form.

    :math:`T(x)` is the one-hot vector of :math:`x` without its last entry,
    :math:`\eta_i = \log(p_i/p_{k-1})` for :math:`i < k-1`,
    :math:`A(\eta) = \log\big(1 + \sum_i e^{\eta_i}\big)`, :math:`\mu = (p_0, \dots,
    p_{k-2})` and :math:`F = \operatorname{diag}(\mu) - \mu\mu^\top`.

    Parameters
    ----------
    k : int
        Number of classes, >= 2 (``k = 2`` is the Bernoulli with the classes swapped).
    """

    k: int = 3

    def __post_init__(self):
        object.__setattr__(self, "k", check_int(self.k, "k", minimum=2))

    def __repr__(self) -> str:
        return f"Categorical(k={self.k})"

    @property
    def dim(self) -> int:
        return self.k - 1

    @property
    def name(self) -> str:
        return f"Categorical(k={self.k})"

    natural_domain: ClassVar[str] = "every eta real"
    mean_domain: ClassVar[str] = "mu > 0 and sum(mu) < 1"

    @property
    def support(self) -> str:
        return f"class labels 0, ..., {self.k - 1}"

    def _natural_ok(self, eta):
        return True

    def _support_ok(self, x):
        return bool(np.all((x == np.round(x)) & (x >= 0) & (x < self.k)))

    def _mean_ok(self, mu):
        return bool(np.all(mu > 0.0) and mu.sum() < 1.0 and 1.0 - mu.sum() > 0.0)

    def _probs(self, eta):
        z = np.append(eta, 0.0)
        z = z - z.max()
        p = np.exp(z)
        return p / p.sum()

    def _A(self, eta):
        top = max(0.0, float(eta.max()))
        return top + math.log(math.exp(-top) + float(np.exp(eta - top).sum()))

    def _mean(self, eta):
        return self._probs(eta)[:-1]

    def _natural(self, mu):
        return np.log(mu) - math.log(1.0 - mu.sum())

    def _fisher(self, eta):
        p = self._probs(eta)[:-1]
        return np.diag(p) - np.outer(p, p)

    def _conjugate(self, mu):
        last = 1.0 - mu.sum()
        return float(mu @ np.log(mu) + last * math.log(last))

    def _conjugate_hessian(self, mu):
        return np.diag(1.0 / mu) + 1.0 / (1.0 - mu.sum())

    def _statistic(self, x):
        return (x.astype(int)[:, None] == np.arange(self.k - 1)).astype(float)

    def _sample(self, eta, size, rng):
        return rng.choice(self.k, size=size, p=self._probs(eta))


# ------------------------------------------------- the maximum-likelihood problem
def _check_family(family) -> ExponentialFamily:
    if not isinstance(family, ExponentialFamily):
        raise TypeError(
            f"family must be an expfam family such as expfam.Bernoulli(); got "
            f"{_show(family)} of type {type(family).__name__}."
        )
    return family


def _check_lr(lr) -> float:
    return check_positive(lr, "lr")


def nll(family, eta, t_bar) -> float:
    r"""The mean negative log-likelihood :math:`A(\eta) - \eta^\top\bar T` of data
    whose average sufficient statistic is ``t_bar`` (up to the base measure)."""
    family = _check_family(family)
    eta = family.check_natural(eta)
    t_bar = family._vector(t_bar, "t_bar")
    return float(family._A(eta) - eta @ t_bar)


def _left_domain(family, what: str, value, lr) -> ValueError:
    return ValueError(
        f"the {what} step with lr={lr!r} left the parameter space of {family.name} "
        f"(got {_show(value)}; it must satisfy {family.natural_domain}). Take a "
        "smaller lr or start closer to the optimum."
    )


def gradient_step(family, eta, t_bar, *, lr: float = 1.0) -> np.ndarray:
    r"""One gradient-descent step in natural parameters,
    :math:`\eta - \alpha(\mu(\eta) - \bar T)`.

    Raises
    ------
    ValueError
        If the inputs are invalid or the step leaves the natural parameter space.
    """
    family = _check_family(family)
    eta = family.check_natural(eta)
    t_bar = family._vector(t_bar, "t_bar")
    lr = _check_lr(lr)
    with np.errstate(over="ignore", invalid="ignore"):
        new = eta - lr * (family.to_mean(eta) - t_bar)
    if not (np.all(np.isfinite(new)) and family._natural_ok(new)):
        raise _left_domain(family, "gradient", new, lr)
    return new


def natural_gradient_step(family, theta, t_bar, *, lr: float = 1.0,
                          coordinates: str = "natural",
                          damping: float = 0.0) -> np.ndarray:
    r"""One natural-gradient step on the maximum-likelihood problem.

    In natural parameters (``coordinates="natural"``, ``theta`` is :math:`\eta`):

    .. math:: \eta \leftarrow \eta - \alpha\,(F(\eta) + \lambda I)^{-1}
       \big(\mu(\eta) - \bar T\big).

    In mean parameters (``coordinates="mean"``, ``theta`` is :math:`\mu`), with the
    Fisher :math:`G(\mu) = \nabla^2 A^*(\mu)` and the gradient
    :math:`\nabla_\mu \mathcal L = G(\mu)(\mu - \bar T)`:

    .. math:: \mu \leftarrow \mu - \alpha\,(G(\mu) + \lambda I)^{-1}
       G(\mu)(\mu - \bar T),

    which for :math:`\lambda = 0`, :math:`\alpha = 1` is :math:`\bar T`, the MLE.

    Parameters
    ----------
    family : ExponentialFamily
    theta : array_like, shape (dim,)
        The current natural (or mean) parameter.
    t_bar : array_like, shape (dim,)
        The average sufficient statistic of the data.
    lr : float, keyword-only
        Step size :math:`\alpha > 0`.
    coordinates : {"natural", "mean"}, keyword-only
    damping : float, keyword-only
        :math:`\lambda \ge 0`.

    Returns
    -------
    ndarray, shape (dim,)
        The new parameter, in the same coordinates as ``theta``.

    Raises
    ------
    ValueError
        If an input is invalid or the step leaves the parameter space.
    """
    family = _check_family(family)
    check_choice(coordinates, "coordinates", ("natural", "mean"))
    t_bar = family._vector(t_bar, "t_bar")
    lr = _check_lr(lr)
    damping = check_positive(damping, "damping", allow_zero=True)
    identity = np.eye(family.dim)
    if coordinates == "natural":
        eta = family.check_natural(theta, "theta")
        grad = family.to_mean(eta) - t_bar
        metric = family.fisher(eta)  # raises where it under- or overflows
    else:
        mu = family.check_mean(theta, "theta")
        metric = family.fisher_mean(mu)
        grad = metric @ (mu - t_bar)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            new = theta_of = (eta if coordinates == "natural" else mu)
            new = theta_of - lr * np.linalg.solve(metric + damping * identity, grad)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the Fisher matrix at theta = {_show(theta_of)} is numerically singular "
            f"(condition number {np.linalg.cond(metric):.3g}); add damping or start "
            "closer to the centre of the parameter space."
        ) from None
    ok = np.all(np.isfinite(new)) and (family._natural_ok(new) if coordinates
                                       == "natural" else family._mean_ok(new))
    if not ok:
        raise ValueError(
            f"the natural-gradient step with lr={lr!r} left the {coordinates} "
            f"parameter space of {family.name} (got {_show(new)}). Take a smaller "
            "lr, add damping, or start closer to the optimum."
        )
    return new


def mirror_descent_step(family, mu, t_bar, *, lr: float = 1.0) -> np.ndarray:
    r"""One mirror-descent step in mean parameters with the mirror map :math:`A^*`.

    .. math:: \nabla A^*(\mu_{t+1}) = \nabla A^*(\mu_t)
       - \alpha\,\nabla_\mu \mathcal L(\mu_t),
       \qquad \nabla_\mu\mathcal L(\mu) = \nabla^2A^*(\mu)\,(\mu - \bar T),

    i.e. map :math:`\mu_t` to the dual space (:math:`\eta_t = \nabla A^*(\mu_t)`), take
    a gradient step there with the *mean-parameter* gradient and map back with
    :math:`\nabla A`. Equivalently :math:`\mu_{t+1} = \arg\min_\mu \alpha\langle
    \nabla_\mu\mathcal L(\mu_t), \mu\rangle + B_{A^*}(\mu, \mu_t)`.

    Returns
    -------
    ndarray, shape (dim,)
        :math:`\mu_{t+1}`.

    Raises
    ------
    ValueError
        If an input is invalid or the dual step leaves the natural parameter space.
    """
    family = _check_family(family)
    mu = family.check_mean(mu)
    t_bar = family._vector(t_bar, "t_bar")
    lr = _check_lr(lr)
    with np.errstate(over="ignore", invalid="ignore"):
        grad_mu = family.fisher_mean(mu) @ (mu - t_bar)
        dual = family.to_natural(mu) - lr * grad_mu
    if not (np.all(np.isfinite(dual)) and family._natural_ok(dual)):
        raise _left_domain(family, "mirror-descent", dual, lr)
    # like to_mean, this may round to the boundary of the mean space (a class
    # probability below 1e-16 of the largest); fit stops there with a message
    return family.to_mean(dual)


def fit(family, t_bar, start, *, method: str = "ngd", lr: float = 1.0,
        max_iter: int = 100, tol: float = 1e-10) -> OptimizeResult:
    r"""Minimise :math:`\mathcal L(\eta) = A(\eta) - \eta^\top\bar T` with one method.

    ``method`` is ``"gd"`` (gradient descent in :math:`\eta`), ``"ngd"``
    (natural gradient in :math:`\eta`), ``"ngd_mean"`` (natural gradient in
    :math:`\mu`) or ``"mirror"`` (mirror descent in :math:`\mu`). ``start`` is a
    natural parameter for ``"gd"``/``"ngd"`` and a mean parameter otherwise.

    Stops when :math:`\lVert\mu(\eta_t) - \bar T\rVert \le` ``tol`` (success) or after
    ``max_iter`` steps, or when a step leaves the parameter space (not success, with
    the reason in ``message``).

    Returns
    -------
    OptimizeResult
        ``x`` and ``history.x`` in natural parameters whatever the method;
        ``history.mean`` holds the mean parameters, ``fun`` is :math:`\mathcal L`.
    """
    family = _check_family(family)
    check_choice(method, "method", METHODS)
    t_bar = family.check_mean(t_bar, "t_bar")
    lr = _check_lr(lr)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    tol = check_positive(tol, "tol")
    in_mean = method in ("ngd_mean", "mirror")
    theta = family.check_mean(start, "start") if in_mean else family.check_natural(
        start, "start")

    etas, means, funs, norms = [], [], [], []

    def record(theta):  # raises ValueError if the loss or the mean overflow
        eta = family.to_natural(theta) if in_mean else theta
        mean = family.to_mean(eta)
        fun = float(family.log_partition(eta) - eta @ t_bar)
        if not math.isfinite(fun):
            raise ValueError(f"the loss at eta = {_show(eta)} overflows")
        etas.append(eta)
        means.append(mean)
        funs.append(fun)
        norms.append(float(np.linalg.norm(mean - t_bar)))

    record(theta)
    message, success = f"reached max_iter={max_iter} steps", False
    for _ in range(max_iter):
        if norms[-1] <= tol:
            break
        try:
            if method == "gd":
                theta = gradient_step(family, theta, t_bar, lr=lr)
            elif method == "ngd":
                theta = natural_gradient_step(family, theta, t_bar, lr=lr)
            elif method == "ngd_mean":
                theta = natural_gradient_step(family, theta, t_bar, lr=lr,
                                              coordinates="mean")
            else:
                theta = mirror_descent_step(family, theta, t_bar, lr=lr)
            if in_mean and not family._mean_ok(theta):
                raise ValueError("the iterate reached the boundary of the mean space")
            record(theta)
        except (ValueError, OverflowError, np.linalg.LinAlgError) as err:
            message = f"stopped after {len(etas) - 1} steps: {err}"
            break
    if norms[-1] <= tol:
        success = True
        message = f"|grad| <= tol={tol:g} after {len(etas) - 1} steps"
    history = History.from_lists(etas, funs, norms, mean=np.array(means))
    return OptimizeResult(x=history.x[-1].copy(), fun=funs[-1], nit=len(etas) - 1,
                          success=success, message=message, history=history)
