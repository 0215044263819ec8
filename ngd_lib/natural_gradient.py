r"""Natural gradient descent for the models of :mod:`ngd_lib.models` (chapters 5-6).

The recitation's algorithm, one iteration at a time:

1. forward pass: compute the loss :math:`L(\theta)`;
2. compute the gradient :math:`g = \nabla L(\theta)`;
3. compute the Fisher :math:`F` (exact, Monte-Carlo, empirical or its diagonal);
4. compute the natural gradient :math:`\tilde g = (F + \lambda I)^{-1} g`;
5. update :math:`\theta \leftarrow \theta - \alpha\,\tilde g`.

:func:`natural_gradient_direction` does steps 2-4 once; :func:`natural_gradient_descent`
repeats all five with step-size control (a fixed ``lr``, a KL trust region, or
Levenberg-Marquardt damping) and reports why it stopped.

References
----------
Amari (1998), Natural gradient works efficiently in learning. Martens (2020), New
insights and perspectives on the natural gradient method. Schulman et al. (2015),
Trust region policy optimization. Martens (2010), Deep learning via Hessian-free
optimization.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, as_rng, check_choice, check_int, check_positive
from .linalg import NotPositiveDefiniteError, cg_solve, cholesky_solve, woodbury_solve
from .result import History, OptimizeResult

__all__ = [
    "ADAPTIVE_DAMPING_BOUNDS",
    "ADAPTIVE_DAMPING_START",
    "FISHERS",
    "NaturalGradient",
    "SOLVERS",
    "natural_gradient_descent",
    "natural_gradient_direction",
]

#: The Fisher approximations ``fisher=`` accepts.
FISHERS = ("exact", "empirical", "monte_carlo", "diagonal")
#: The linear solvers ``solver=`` accepts.
SOLVERS = ("direct", "cg", "woodbury")
#: ``damping="adaptive"`` starts from this lambda ...
ADAPTIVE_DAMPING_START = 1e-3
#: ... and keeps it within these bounds.
ADAPTIVE_DAMPING_BOUNDS = (1e-8, 1e8)
#: Levenberg-Marquardt rule: lambda *= 1.5 if rho < 1/4, lambda /= 1.5 if rho > 3/4.
_LM_FACTOR = 1.5
#: A run has diverged once the gradient norm exceeds this multiple of its start.
_DIVERGENCE_FACTOR = 1e12


@dataclass(frozen=True)
class NaturalGradient:
    r"""One natural-gradient direction :math:`d = (F + \lambda I)^{-1} g`.

    Attributes
    ----------
    direction : ndarray, shape (P,)
        :math:`d` (always finite; zeros when ``success`` is False).
    grad : ndarray, shape (P,)
        The gradient :math:`g` it was computed from.
    curvature : float
        :math:`d^\top F d` with the undamped Fisher approximation used, so
        :math:`\tfrac12 (\alpha d)^\top F (\alpha d)` is the KL of a step
        :math:`\alpha d` to second order.
    cg_iterations : int
        Conjugate-gradient iterations (Fisher-vector products) used; 0 for the
        other solvers.
    success : bool
        False when the solve failed (the matrix is not positive definite, CG did
        not reach its tolerance, or values are not finite).
    message : str
        What happened, in words.
    """

    direction: np.ndarray
    grad: np.ndarray
    curvature: float
    cg_iterations: int
    success: bool
    message: str


@dataclass(frozen=True)
class _Curvature:
    """A Fisher approximation at one theta: ``matvec(v) = F v`` and a damped solve."""

    matvec: Callable[[np.ndarray], np.ndarray]
    solve: Callable[[np.ndarray, float], tuple[np.ndarray, int, bool, str]]


class _ScalarGLMFastPath:
    """Loss, gradient and exact Fisher of logistic or linear regression from one
    ``z = X theta`` per iteration.

    The generic path calls ``model.nll``, ``model.grad`` and ``model.fisher``, each of
    which re-validates ``X`` and recomputes ``X theta``; here the three share ``z``,
    and the Fisher comes from the models' own ``_weighted_gram`` of the shared ``z``.
    Used only for the exact classes ``LogisticRegression`` and
    ``LinearRegression`` (tests compare it with their methods).
    """

    def __init__(self, model, X: np.ndarray, y: np.ndarray):
        from .models import LogisticRegression

        self.X, self.y = X, y
        self.logistic = type(model) is LogisticRegression
        self.noise_var = None if self.logistic else float(model.noise_var)

    def evaluate(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        X, y = self.X, self.y
        z = X @ theta
        if self.logistic:
            value = float(np.mean(np.logaddexp(0.0, (1.0 - 2.0 * y) * z)))
            residual = np.exp(-np.logaddexp(0.0, -z)) - y  # sigmoid(z) - y
        else:
            residual = (z - y) / self.noise_var
            value = float(np.mean((z - y) ** 2) / (2 * self.noise_var)
                          + 0.5 * math.log(2 * math.pi * self.noise_var))
        return value, X.T @ residual / X.shape[0], z

    def fisher(self, z: np.ndarray) -> np.ndarray:
        from .models import _weighted_gram

        if self.logistic:
            # p (1 - p) = exp(log sigmoid(z) + log sigmoid(-z)), stable for large |z|
            w = np.exp(-(np.logaddexp(0.0, -z) + np.logaddexp(0.0, z)))
        else:
            w = np.full(z.shape, 1.0 / self.noise_var)
        return _weighted_gram(self.X, w)


def _fast_path(model, X, y) -> _ScalarGLMFastPath | None:
    from .models import LinearRegression, LogisticRegression

    if type(model) in (LogisticRegression, LinearRegression):
        return _ScalarGLMFastPath(model, X, y)
    return None


def _direct_solve(F: np.ndarray):
    def solve(g, damping):
        if not np.all(np.isfinite(F)):
            return np.zeros_like(g), 0, False, "the Fisher has non-finite entries"
        try:
            return cholesky_solve(F, g, damping=damping), 0, True, "solved by Cholesky"
        except NotPositiveDefiniteError as error:
            return np.zeros_like(g), 0, False, str(error)

    return solve


def _cg_solver(matvec, cg_rtol, cg_maxiter):
    def solve(g, damping):
        res = cg_solve(matvec, g, damping=damping, rtol=cg_rtol, maxiter=cg_maxiter)
        # a truncated CG solve (maxiter reached) is still a descent direction: use it
        ok = res.success or "maxiter" in res.message
        return res.x, res.nit, ok, res.message

    return solve


def _curvature(model, theta, X, y, *, fisher, solver, rng, cg_rtol, cg_maxiter,
               mc_samples, exact_fisher=None) -> _Curvature:
    """Build the operator and solver of the chosen Fisher approximation at theta.

    ``exact_fisher``, if given, is the dense exact Fisher at theta, already computed.
    """
    if fisher == "diagonal":
        diagonal = np.asarray(model.fisher_diagonal(theta, X), dtype=float)

        def solve_diagonal(g, damping):
            denominator = diagonal + damping
            if not (np.all(np.isfinite(denominator)) and np.all(denominator > 0)):
                return (np.zeros_like(g), 0, False,
                        "diag(F) + damping has zero or non-finite entries; add damping")
            return g / denominator, 0, True, "solved elementwise"

        return _Curvature(lambda v: diagonal * v, solve_diagonal)

    if solver == "direct":
        if fisher == "exact":
            F = model.fisher(theta, X) if exact_fisher is None else exact_fisher
        elif fisher == "empirical":
            F = model.empirical_fisher(theta, X, y)
        else:
            F = model.monte_carlo_fisher(theta, X, n_samples=mc_samples, rng=rng)
        F = np.asarray(F, dtype=float)
        return _Curvature(lambda v: F @ v, _direct_solve(F))

    if fisher == "exact":  # solver == "cg": Fisher-vector products, no P x P matrix
        def fvp(v):
            return np.asarray(model.fisher_vector_product(theta, X, v), dtype=float)

        return _Curvature(fvp, _cg_solver(fvp, cg_rtol, cg_maxiter))

    # empirical or Monte-Carlo: F = G^T G / m from per-example gradients G (m x P)
    if fisher == "empirical":
        G = model.per_example_grads(theta, X, y)
    else:
        X_repeated = np.tile(X, (mc_samples, 1)) if mc_samples > 1 else X
        G = model.per_example_grads(theta, X_repeated,
                                    model.sample(theta, X_repeated, rng))
    G = np.asarray(G, dtype=float)
    m = G.shape[0]

    def gram_product(v):
        return G.T @ (G @ v) / m

    if solver == "cg":
        return _Curvature(gram_product, _cg_solver(gram_product, cg_rtol, cg_maxiter))

    def solve_woodbury(g, damping):
        if not np.all(np.isfinite(G)):
            return np.zeros_like(g), 0, False, "per-example gradients are not finite"
        return woodbury_solve(G, g, damping=damping), 0, True, "solved by Woodbury"

    return _Curvature(gram_product, solve_woodbury)


def _solve_step(curvature: _Curvature, g: np.ndarray, damping: float, *,
                need_curvature: bool = True):
    """``(direction, dᵀFd, cg_iterations, success, message)`` at one damping.

    ``dᵀFd`` costs one more product with F; it is NaN unless ``need_curvature``.
    """
    with np.errstate(all="ignore"):
        d, nit, ok, message = curvature.solve(g, damping)
        if ok and not np.all(np.isfinite(d)):
            ok, message = False, "the natural-gradient direction is not finite"
        quad = math.nan
        if ok and need_curvature:
            quad = float(d @ curvature.matvec(d))
        if ok and need_curvature and not math.isfinite(quad):
            ok, message = False, "d^T F d is not finite"
    if not ok:
        d = np.zeros_like(g)
    return d, quad, nit, ok, message


def _check_options(fisher, solver, damping, cg_rtol, cg_maxiter, mc_samples):
    check_choice(fisher, "fisher", FISHERS)
    check_choice(solver, "solver", SOLVERS)
    if fisher == "diagonal" and solver != "direct":
        raise ValueError(
            f"fisher='diagonal' is solved elementwise, so solver must be 'direct' (the "
            f"default); got solver={solver!r}."
        )
    if solver == "woodbury" and fisher != "empirical":
        raise ValueError(
            f"solver='woodbury' needs fisher='empirical' (F = G^T G / n from the "
            f"per-example gradients G); got fisher={fisher!r}. Use solver='cg' or "
            "'direct' for this Fisher."
        )
    if isinstance(damping, str):
        if damping != "adaptive":
            raise ValueError(
                f"damping must be a number >= 0 or 'adaptive'; got {damping!r}."
            )
    else:
        damping = check_positive(damping, "damping", allow_zero=True)
        if solver == "woodbury" and damping == 0.0:
            raise ValueError(
                "solver='woodbury' needs damping > 0 (the empirical Fisher has rank "
                "<= n); got damping=0.0. Use e.g. damping=1e-4 or 'adaptive'."
            )
    cg_rtol = check_positive(cg_rtol, "cg_rtol")
    if cg_maxiter is not None:
        cg_maxiter = check_int(cg_maxiter, "cg_maxiter", minimum=1)
    mc_samples = check_int(mc_samples, "mc_samples", minimum=1)
    return damping, cg_rtol, cg_maxiter, mc_samples


def _check_model_data(model, theta, X, y, theta_name: str):
    for method in ("nll", "grad"):
        if not callable(getattr(model, method, None)):
            raise TypeError(
                f"model must have methods nll(theta, X, y) and grad(theta, X, y), like "
                f"ngd.LogisticRegression(); got {model!r} without {method!r}."
            )
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have one entry per row of X ({X.shape[0]}); got {y.shape[0]}."
        )
    theta = as_float_array(theta, theta_name, ndim=1)
    n_params = getattr(model, "n_params", None)
    if callable(n_params) and theta.shape[0] != n_params(X):
        raise ValueError(
            f"{theta_name} must have {n_params(X)} entries (model.n_params(X)); got "
            f"{theta.shape[0]}."
        )
    return theta.copy(), X, y


def natural_gradient_direction(
    model, theta, X, y, *, fisher: str = "exact", solver: str = "direct",
    damping: float = 0.0, rng=None, cg_rtol: float = 1e-10,
    cg_maxiter: int | None = None, mc_samples: int = 1, with_curvature: bool = True,
) -> NaturalGradient:
    r"""The damped natural gradient :math:`d = (F + \lambda I)^{-1}\nabla L(\theta)`.

    Steps 2-4 of the recitation's algorithm, once; see
    :func:`natural_gradient_descent` for the meaning of ``fisher``, ``solver`` and
    the other options (``damping`` must be a number here). ``with_curvature=False``
    skips :math:`d^\top F d` (one more Fisher-vector product with ``solver="cg"``) and
    leaves ``curvature`` NaN.

    Returns
    -------
    NaturalGradient
        ``direction``, ``grad``, ``curvature`` (:math:`d^\top F d`),
        ``cg_iterations``, ``success``, ``message``.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]); y = np.array([0, 1, 1])
    >>> model = ngd.LogisticRegression()
    >>> step = natural_gradient_direction(model, np.zeros(2), X, y, solver="cg")
    >>> F, g = model.fisher(np.zeros(2), X), model.grad(np.zeros(2), X, y)
    >>> dense = np.linalg.solve(F, g)
    >>> bool(np.allclose(step.direction, dense))
    True
    """
    if damping == "adaptive":
        raise ValueError(
            "damping='adaptive' needs an optimisation run; pass a number here, or use "
            "natural_gradient_descent(..., damping='adaptive')."
        )
    damping, cg_rtol, cg_maxiter, mc_samples = _check_options(
        fisher, solver, damping, cg_rtol, cg_maxiter, mc_samples)
    rng = as_rng(rng)
    theta, X, y = _check_model_data(model, theta, X, y, "theta")
    g = np.asarray(model.grad(theta, X, y), dtype=float)
    curvature = _curvature(
        model, theta, X, y, fisher=fisher, solver=solver, rng=rng, cg_rtol=cg_rtol,
        cg_maxiter=cg_maxiter, mc_samples=mc_samples)
    d, quad, nit, ok, message = _solve_step(curvature, g, damping,
                                            need_curvature=bool(with_curvature))
    return NaturalGradient(d, g, quad, nit, ok, message)


def _separation_certified(model, value: float, n: int) -> bool:
    """True when the mean loss proves that every label has probability > 1/2.

    For a model with discrete labels each per-example loss is >= 0, so a mean below
    log(2)/n bounds every one of them below log 2: p(y_i | x_i) > 1/2 for all i. For
    logistic and softmax regression that means the current theta classifies every
    example correctly with a positive margin, so L(c theta) -> 0 as c -> infinity and
    the loss has no minimiser.
    """
    from .models import LogisticRegression, SoftmaxRegression

    return isinstance(model, LogisticRegression | SoftmaxRegression) and (
        value < math.log(2.0) / n
    )


def natural_gradient_descent(
    model, theta0, X, y, *, fisher: str = "exact", solver: str = "direct",
    damping: float | str = 0.0, lr: float = 1.0, kl_radius: float | None = None,
    max_iter: int = 100, tol: float = 1e-8, rng=None,
    callback: Callable[[np.ndarray, int], bool | None] | None = None,
    cg_rtol: float = 1e-10, cg_maxiter: int | None = None, mc_samples: int = 1,
    max_halvings: int = 30,
) -> OptimizeResult:
    r"""Minimise the mean negative log-likelihood of ``model`` by natural gradient.

    The recitation's algorithm (Amari 1998): repeat

    1. forward pass: :math:`L(\theta_t) = -\frac1n\sum_i \log p(y_i\mid x_i,\theta_t)`;
    2. gradient :math:`g_t = \nabla L(\theta_t)`;
    3. Fisher :math:`F_t` (``fisher=``: exact, Monte-Carlo, empirical, diagonal);
    4. natural gradient: solve :math:`(F_t + \lambda I)\,d_t = g_t` (``solver=``);
    5. update :math:`\theta_{t+1} = \theta_t - \alpha_t d_t`

    until :math:`\lVert g_t\rVert_2 \le` ``tol``. The step length :math:`\alpha_t`:

    * default: :math:`\alpha_t =` ``lr``. With the exact Fisher, ``lr = 1`` and no
      damping this is Newton's method (IRLS) for logistic, softmax and linear
      regression, whose Fisher equals the Hessian (Martens 2020, sec. 9.2);
    * ``kl_radius=ε``: :math:`\alpha_t = \sqrt{2\varepsilon/(d_t^\top F_t d_t)}`, so
      that :math:`\tfrac12 (\alpha_t d_t)^\top F_t(\alpha_t d_t) = \varepsilon`, the
      second-order KL between the model before and after the step (TRPO's step,
      Schulman et al. 2015, App. C; without damping
      :math:`d_t^\top F_t d_t = g_t^\top F_t^{-1} g_t` — not :math:`g^\top F g`). A
      backtracking line search then halves :math:`\alpha_t` until the loss decreases,
      at most ``max_halvings`` times;
    * ``damping="adaptive"``: Levenberg-Marquardt (Martens 2010). With the step
      :math:`s = -\alpha_t d_t`, the quadratic model
      :math:`M(s) = g^\top s + \tfrac12 s^\top(F + \lambda I)s` and the reduction
      ratio :math:`\rho = (L(\theta + s) - L(\theta))/(M(s) - M(0))`:
      :math:`\lambda \leftarrow 1.5\lambda` if :math:`\rho < 1/4`,
      :math:`\lambda \leftarrow \lambda/1.5` if :math:`\rho > 3/4`, starting from
      ``ADAPTIVE_DAMPING_START = 1e-3`` within ``ADAPTIVE_DAMPING_BOUNDS =
      (1e-8, 1e8)``. A step that does not decrease the loss (or a failed solve) is
      rejected: :math:`\theta` stays, :math:`\lambda` grows, and the iteration
      counts.

    Stopping rules, checked in this order at every iterate:

    * **separable data** (``success=False``; logistic and softmax regression): the
      mean loss is below :math:`\log(2)/n`, which proves that every label has
      probability above 1/2. Then the loss tends to 0 as :math:`\theta` is scaled
      up, and the maximum-likelihood estimate does not exist;
    * **converged** (``success=True``): :math:`\lVert g_t\rVert_2 \le` ``tol``;
    * **out of iterations** (``success=False``): ``max_iter`` steps were taken;
    * **failed** (``success=False``): the solve failed (:math:`F + \lambda I` not
      positive definite, say), the line search found no decrease, the loss or
      gradient became non-finite or the gradient norm grew :math:`10^{12}`-fold;
    * **stopped by the callback** (``success=False``).

    The returned ``x`` is always the last finite iterate, never NaN.

    Parameters
    ----------
    model : object
        A model of :mod:`ngd_lib.models` (``LogisticRegression()``,
        ``LinearRegression()``, ``SoftmaxRegression(k)``) or any object with the
        same methods (``nll``, ``grad``, and those the chosen Fisher needs).
    theta0 : array_like, shape (P,)
        The starting parameters.
    X : array_like, shape (n, d)
        The inputs, one example per row (add a column of ones for a bias).
    y : array_like, shape (n,)
        The targets.
    fisher : {"exact", "empirical", "monte_carlo", "diagonal"}, keyword-only
        ``"exact"``: :math:`F = \frac1n\sum_i \mathbb E_{y\sim p(\cdot|x_i)}[g g^\top]`
        in closed form; ``"monte_carlo"``: the same with ``mc_samples`` labels per
        input sampled from the model; ``"empirical"``:
        :math:`\frac1n\sum_i g_i g_i^\top` with the *observed* labels (Kunstner et
        al. 2019: not an estimate of F); ``"diagonal"``: the diagonal of the exact
        Fisher, solved elementwise.
    solver : {"direct", "cg", "woodbury"}, keyword-only
        ``"direct"``: Cholesky of the dense :math:`F + \lambda I`, :math:`O(P^3)`;
        ``"cg"``: conjugate gradient on Fisher-vector products (``model.
        fisher_vector_product`` for the exact Fisher, :math:`G^\top(Gv)/n` from the
        per-example gradients ``G`` otherwise), no ``P x P`` matrix is formed;
        ``"woodbury"``: only with ``fisher="empirical"`` and damping > 0, an
        ``n x n`` solve, cheap when ``n < P``. ``fisher="diagonal"`` needs
        ``"direct"`` (its solve is elementwise).
    damping : float or "adaptive", keyword-only
        :math:`\lambda \ge 0` added to the Fisher (Tikhonov damping), or
        ``"adaptive"`` (see above).
    lr : float, keyword-only
        The step length :math:`\alpha > 0` (ignored under ``kl_radius``; leave it at
        1).
    kl_radius : float or None, keyword-only
        :math:`\varepsilon > 0`: pick the step length from the KL budget instead.
    max_iter : int, keyword-only
        The largest number of iterations, ``>= 0``.
    tol : float, keyword-only
        Stop when :math:`\lVert\nabla L\rVert_2 \le` ``tol`` (``>= 0``).
    rng : None, int or numpy.random.Generator, keyword-only
        Randomness for ``fisher="monte_carlo"``.
    callback : callable, optional, keyword-only
        ``callback(theta_t, t)`` after each step (read-only ``theta_t``); return
        True to stop.
    cg_rtol, cg_maxiter : keyword-only
        The CG stopping rule :math:`\lVert r\rVert \le` ``cg_rtol``
        :math:`\lVert g\rVert` and its iteration cap (``None``: ``10 P``); a CG
        solve that reaches ``cg_maxiter`` is used as it is (a truncated solve).
    mc_samples : int, keyword-only
        Labels sampled per input for ``fisher="monte_carlo"``.
    max_halvings : int, keyword-only
        The most halvings of the line search under ``kl_radius``, ``>= 0``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit``, ``success``, ``message`` and ``history`` with rows
        ``0..nit`` of ``x``, ``fun``, ``grad_norm`` and the extras ``damping`` (the
        :math:`\lambda` of the step into row ``t``; row 0 the starting value),
        ``step_size`` (:math:`\lVert\theta_t - \theta_{t-1}\rVert_2`, 0 in row 0 and
        for rejected steps), and where used ``cg_iterations``, ``halvings``
        (``kl_radius``), ``rho`` and ``accepted`` (``"adaptive"``; ``rho`` is NaN in
        row 0).

    Raises
    ------
    TypeError
        If ``model`` lacks ``nll``/``grad``, ``callback`` is not callable, ``rng`` is
        not None/int/Generator, or an option has the wrong type.
    ValueError
        For an unknown ``fisher``/``solver`` (the message lists the valid ones),
        ``solver="woodbury"`` without ``fisher="empirical"`` or with zero damping,
        ``fisher="diagonal"`` with another solver, ``damping < 0``, ``lr <= 0``,
        ``kl_radius <= 0``, ``kl_radius`` together with ``lr != 1``, a negative
        ``tol``/``max_iter``, shapes that do not match, or a non-finite loss at
        ``theta0``.

    Examples
    --------
    >>> import numpy as np, ngd_lib as ngd
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(200), rng.standard_normal(200)])
    >>> y = (rng.random(200) < 1 / (1 + np.exp(-(0.5 + 2 * X[:, 1])))).astype(int)
    >>> res = ngd.natural_gradient_descent(ngd.LogisticRegression(), np.zeros(2), X, y)
    >>> res.success, res.nit
    (True, 5)
    >>> res = ngd.natural_gradient_descent(ngd.LogisticRegression(), np.zeros(2), X, y,
    ...                                    kl_radius=0.01, max_iter=3)
    >>> float(np.round(res.history.step_size[1], 3))
    0.293

    References
    ----------
    Amari (1998); Martens (2020); Schulman et al. (2015), TRPO; Martens (2010),
    Hessian-free optimisation (Levenberg-Marquardt damping).
    """
    adaptive = isinstance(damping, str) and damping == "adaptive"
    damping, cg_rtol, cg_maxiter, mc_samples = _check_options(
        fisher, solver, damping, cg_rtol, cg_maxiter, mc_samples)
    lr = check_positive(lr, "lr")
    if kl_radius is not None:
        kl_radius = check_positive(kl_radius, "kl_radius")
        if lr != 1.0:
            raise ValueError(
                f"kl_radius={kl_radius:g} sets the step length itself, so lr must stay "
                f"1; got lr={lr:g}. Pass one of lr or kl_radius."
            )
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    tol = check_positive(tol, "tol", allow_zero=True)
    max_halvings = check_int(max_halvings, "max_halvings", minimum=0)
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be a function callback(theta, t); got {callback!r}."
        )
    rng = as_rng(rng)
    theta, X, y = _check_model_data(model, theta0, X, y, "theta0")
    n = X.shape[0]

    model.nll(theta, X, y)  # the model's own checks of theta, X and y, once
    fast = _fast_path(model, X, y)

    def evaluate(point):
        """``(loss, gradient or None if not finite, cache for the Fisher)``."""
        if not np.all(np.isfinite(point)):
            return math.nan, None, None
        with np.errstate(all="ignore"):
            if fast is not None:
                value, gradient, cache = fast.evaluate(point)
            else:
                value, cache = float(model.nll(point, X, y)), None
            if not math.isfinite(value):
                return value, None, None
            if fast is None:
                gradient = np.asarray(model.grad(point, X, y), dtype=float)
        return value, gradient, cache

    value, g, cache = evaluate(theta)
    if g is None or not np.all(np.isfinite(g)):
        raise ValueError(
            f"the loss or its gradient is not finite at theta0 (loss {value!r}). "
            "Start from parameters where the model is defined, e.g. zeros."
        )
    grad_norm = float(np.linalg.norm(g))
    limit = _DIVERGENCE_FACTOR * max(grad_norm, 1e-300)
    lam = ADAPTIVE_DAMPING_START if adaptive else damping
    low, high = ADAPTIVE_DAMPING_BOUNDS
    records = {"x": [theta.copy()], "fun": [value], "grad_norm": [grad_norm],
               "damping": [lam], "step_size": [0.0]}
    if solver == "cg":
        records["cg_iterations"] = [0]
    if kl_radius is not None:
        records["halvings"] = [0]
    if adaptive:
        records["rho"] = [math.nan]
        records["accepted"] = [True]

    def record(**row):
        for key, val in row.items():
            if key in records:
                records[key].append(val)

    t = 0
    success = False
    while True:
        if _separation_certified(model, value, n):
            message = (
                f"the data look linearly separable: after {t} steps the mean loss is "
                f"{value:.3g} < log(2)/n = {math.log(2) / n:.3g}, so every label has "
                f"probability > 1/2, and ||theta|| = {np.linalg.norm(theta):.3g} "
                "would grow without bound as the loss goes to 0. The "
                "maximum-likelihood estimate does not exist: add a prior (an L2 "
                "penalty) to the loss or stop early; damping only keeps the steps "
                "finite."
            )
            break
        if grad_norm <= tol:
            success = True
            message = (f"converged: gradient norm {grad_norm:.3g} <= tol = {tol:g} "
                       f"after {t} steps.")
            break
        if t >= max_iter:
            message = (
                f"did not converge: reached max_iter = {max_iter} steps with gradient "
                f"norm {grad_norm:.3g} > tol = {tol:g}. Increase max_iter, or check "
                "the loss history for slow progress."
            )
            break

        with np.errstate(all="ignore"):
            exact_fisher = None
            if fast is not None and fisher == "exact" and solver == "direct":
                exact_fisher = fast.fisher(cache)
            curvature = _curvature(
                model, theta, X, y, fisher=fisher, solver=solver, rng=rng,
                cg_rtol=cg_rtol, cg_maxiter=cg_maxiter, mc_samples=mc_samples,
                exact_fisher=exact_fisher)
        d, quad, cg_nit, ok, solve_message = _solve_step(
            curvature, g, lam, need_curvature=kl_radius is not None)
        if not ok:
            if adaptive and lam < high:
                t += 1
                # the row records the damping of the failed solve, then it is raised
                record(x=theta.copy(), fun=value, grad_norm=grad_norm, damping=lam,
                       step_size=0.0, cg_iterations=cg_nit, rho=-math.inf,
                       accepted=False)
                lam = min(lam * _LM_FACTOR, high)
                continue
            message = (
                f"failed at step {t + 1}: the natural-gradient solve failed "
                f"({solve_message}). Use damping > 0 (e.g. damping=1e-3 or "
                "'adaptive')."
            )
            start_value = records["fun"][0]
            if value > start_value:
                message += (
                    f" The loss grew from {start_value:.3g} to {value:.3g} on the way: "
                    "the steps were too long, so a smaller lr or kl_radius helps too."
                )
            break

        if kl_radius is not None:
            # 1/2 (alpha d)^T F (alpha d) = eps; fall back on d^T (F + lam I) d = g^T d
            # when d lies in F's null space (possible only with damping)
            base = quad if quad > 0 else float(g @ d)
            alpha = math.sqrt(2.0 * kl_radius / base)
        else:
            alpha = lr
        step = -alpha * d
        new_value, new_g, new_cache = evaluate(theta + step)
        halvings = 0
        if kl_radius is not None:
            while not (new_g is not None and new_value < value) and (
                    halvings < max_halvings):
                halvings += 1
                step = step / 2.0
                new_value, new_g, new_cache = evaluate(theta + step)
            if not (new_g is not None and new_value < value):
                message = (
                    f"failed at step {t + 1}: the line search found no decrease of "
                    f"the loss in {max_halvings} halvings of the KL step "
                    f"(kl_radius = {kl_radius:g}); the gradient norm is "
                    f"{grad_norm:.3g}. Lower tol, or raise max_halvings."
                )
                break

        finite = new_g is not None and bool(np.all(np.isfinite(new_g)))
        rho = math.nan
        if adaptive:
            with np.errstate(all="ignore"):
                predicted = float(g @ step + 0.5 * step @ curvature.matvec(step)
                                  + 0.5 * lam * step @ step)
                rho = (new_value - value) / predicted if finite else -math.inf
            if not math.isfinite(rho):
                rho = -math.inf
            accepted = finite and new_value < value
            step_lam = lam
            if rho < 0.25:
                lam = min(lam * _LM_FACTOR, high)
            elif rho > 0.75:
                lam = max(lam / _LM_FACTOR, low)
            t += 1
            if not accepted:
                record(x=theta.copy(), fun=value, grad_norm=grad_norm, damping=step_lam,
                       step_size=0.0, cg_iterations=cg_nit, halvings=halvings, rho=rho,
                       accepted=False)
                if step_lam >= high:
                    message = (
                        f"failed at step {t}: the damping reached its upper bound "
                        f"{high:g} and the step still does not decrease the loss."
                    )
                    break
                continue
        else:
            step_lam = lam
            if not finite or float(np.linalg.norm(new_g)) > limit:
                what = "a non-finite loss or gradient" if not finite else (
                    f"a gradient norm of {np.linalg.norm(new_g):.3g}")
                message = (
                    f"diverged at step {t + 1}: the step led to {what} (from "
                    f"{records['grad_norm'][0]:.3g} at the start). Use damping (e.g. "
                    "damping=1e-3 or 'adaptive'), a smaller lr, or kl_radius."
                )
                break
            t += 1

        theta = theta + step
        value, g, cache = new_value, new_g, new_cache
        grad_norm = float(np.linalg.norm(g))
        record(x=theta.copy(), fun=value, grad_norm=grad_norm, damping=step_lam,
               step_size=float(np.linalg.norm(step)), cg_iterations=cg_nit,
               halvings=halvings, rho=rho, accepted=True)
        if callback is not None:
            view = theta.view()
            view.setflags(write=False)
            if callback(view, t):
                message = f"stopped by the callback after {t} steps."
                break

    history = History.from_lists(**records)
    return OptimizeResult(x=theta, fun=value, nit=t, success=success, message=message,
                          history=history)
