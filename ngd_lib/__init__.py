"""ngd_lib: the library behind the course book on natural gradient descent.

Import it as ``import ngd_lib as ngd``. The names below are loaded on first use, so
``import ngd_lib`` stays fast and SymPy or matplotlib are only imported by the chapters
that need them.

Optimisation on quadratics (chapters 1-2)
    Quadratic, gradient_descent, steepest_descent_step, best_fixed_step,
    contraction_rate, iterations_to_tolerance, OptimizeResult, History
Models p(y | x, theta) and their Fisher matrices (chapters 4-5)
    Model (the model contract), ScalarGLM (base of a canonical-link GLM),
    LogisticRegression, LinearRegression, PoissonRegression, SoftmaxRegression,
    GaussianRegression, ModelDomainError
Natural gradient descent and its linear algebra (chapters 5-6)
    natural_gradient_descent, natural_gradient_direction, cg_solve, CGResult,
    cholesky_solve, woodbury_solve, kl_step_size (the one KL trust-region step)
Submodules
    symbolic (SymPy: KL expansions, Fisher matrices of families), lq (the
    linear-quadratic control problem in closed form: return, gradient, Fisher,
    natural gradient, optimal gain, exact ascent paths), rl (rollouts of it,
    policy-gradient and Fisher estimates, sample-based training), plotting
    (figures of the chapters), datasets (the data sets the chapters
    reproduce), vector_fields (gradient fields and flows), kfac
    (Kronecker-factored Fisher blocks), curvature (what F is for natural gradient
    descent: exact, empirical, monte_carlo, diagonal and kfac builders), expfam
    (exponential families: natural and mean parameters, Bregman divergences,
    natural gradient and mirror descent; chapter 8), online (one-example-at-a-time
    natural gradient and SGD over many runs; chapter 9), mlp (a small neural network,
    MLPClassifier, with its Fisher, Gauss-Newton and Hessian, and train: SGD, Adam,
    K-FAC and NGD on mini-batches; chapter 10), policy_opt (compatible function
    approximation, eNAC, TRPO, PPO-clip and Newton for linear-Gaussian policies;
    chapter 11), control (the torque-limited pendulum of chapter 11)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Quadratic": "quadratic",
    "gradient_descent": "optimize",
    "steepest_descent_step": "optimize",
    "best_fixed_step": "optimize",
    "contraction_rate": "optimize",
    "iterations_to_tolerance": "optimize",
    "OptimizeResult": "result",
    "History": "result",
    "LogisticRegression": "models",
    "LinearRegression": "models",
    "SoftmaxRegression": "models",
    "PoissonRegression": "models",
    "GaussianRegression": "models",
    "Model": "models",
    "ScalarGLM": "models",
    "ModelDomainError": "models",
    "natural_gradient_descent": "natural_gradient",
    "natural_gradient_direction": "natural_gradient",
    "cg_solve": "linalg",
    "CGResult": "linalg",
    "cholesky_solve": "linalg",
    "woodbury_solve": "linalg",
    "kl_step_size": "trust_region",
    "MLPClassifier": "mlp",
}
_SUBMODULES = ("plotting", "symbolic", "lq", "rl", "datasets", "vector_fields",
               "kfac", "curvature", "expfam", "online", "mlp", "policy_opt",
               "control")

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'ngd_lib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
