"""Tests of ngd_lib.models: likelihoods, gradients and the three Fisher matrices."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngd_lib as ngd


def mc_fisher(model, theta, X, *, n_samples=1, rng=None):
    """The one Monte-Carlo Fisher estimator, as a dense matrix."""
    return ngd.curvature.monte_carlo(model, X, n_samples=n_samples,
                                     rng=rng)(theta).matrix()


# every model of ngd_lib.models: the shared property suite runs on each
MODEL_NAMES = ("logistic", "linear", "poisson", "softmax", "gaussian")

# Named tolerances.
EXACT_RTOL = 1e-10  # closed forms vs dense twins (round-off only)
FD_STEP = 1e-5  # central finite differences of grad / nll
FD_RTOL = 1e-6  # their truncation + round-off error, relative to the matrix scale
PSD_TOL = 1e-10  # smallest eigenvalue allowed, relative to the largest
MC_REL_TOL = 0.02  # Monte-Carlo Fisher vs exact, relative Frobenius error


def make_model(name: str, n_classes: int = 3):
    if name == "logistic":
        return ngd.LogisticRegression()
    if name == "linear":
        return ngd.LinearRegression(noise_var=0.7)
    if name == "poisson":
        return ngd.PoissonRegression()
    if name == "gaussian":
        return ngd.GaussianRegression()
    return ngd.SoftmaxRegression(n_classes=n_classes)


def make_problem(
    name: str,
    seed: int,
    n: int = 30,
    d: int = 3,
    n_classes: int = 3,
    scale: float = 1.0,
):
    """A model, parameters, inputs and labels drawn from the model (or not)."""
    rng = np.random.default_rng(seed)
    model = make_model(name, n_classes)
    X = rng.standard_normal((n, d))
    theta = scale * rng.standard_normal(model.n_params(X))
    if name == "logistic":
        y = rng.integers(0, 2, n)
    elif name in ("linear", "gaussian"):
        y = rng.standard_normal(n) * 2.0
    elif name == "poisson":
        theta = theta / 3  # rates exp(x^T theta) small enough to enumerate labels
        y = rng.integers(0, 6, n)
    else:
        y = rng.integers(0, n_classes, n)
    return model, theta, X, y


def fd_grad_of(f, theta, step=FD_STEP):
    """Central finite-difference gradient (vector f gives a Jacobian, rows = params)."""
    return np.array(
        [
            (np.asarray(f(theta + step * e)) - np.asarray(f(theta - step * e)))
            / (2 * step)
            for e in np.eye(theta.size)
        ]
    )


def assert_symmetric_psd(A):
    np.testing.assert_allclose(
        A, A.T, rtol=0, atol=EXACT_RTOL * max(1.0, np.abs(A).max())
    )
    eigenvalues = np.linalg.eigvalsh(A)
    assert eigenvalues[0] >= -PSD_TOL * max(1.0, eigenvalues[-1])


problems = st.builds(
    make_problem,
    st.sampled_from(MODEL_NAMES),
    st.integers(0, 2**31 - 1),
    n=st.integers(1, 25),
    d=st.integers(1, 4),
    n_classes=st.integers(2, 4),
    scale=st.sampled_from([0.1, 1.0, 3.0]),
)


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(problems)
def test_grad_matches_finite_differences_of_nll(problem):
    model, theta, X, y = problem
    fd = fd_grad_of(lambda t: model.nll(t, X, y), theta)
    np.testing.assert_allclose(model.grad(theta, X, y), fd, rtol=1e-6, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(problems)
def test_grad_is_mean_of_per_example_grads(problem):
    model, theta, X, y = problem
    G = model.per_example_grads(theta, X, y)
    assert G.shape == (X.shape[0], model.n_params(X))
    np.testing.assert_allclose(G.mean(axis=0), model.grad(theta, X, y), atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(problems)
def test_per_example_grads_match_finite_differences_of_log_likelihood(problem):
    model, theta, X, y = problem
    # row i of G is the gradient of -log p(y_i | x_i) = n * nll on that one example
    fd = np.array(
        [
            fd_grad_of(lambda t, i=i: model.nll(t, X[i : i + 1], y[i : i + 1]), theta)
            for i in range(X.shape[0])
        ]
    )
    np.testing.assert_allclose(
        model.per_example_grads(theta, X, y), fd, rtol=1e-6, atol=1e-7
    )


# ---------------------------------------------------------------------------
# exact Fisher, Hessian and their matrix-free forms
# ---------------------------------------------------------------------------
def brute_force_fisher(model, theta, X):
    """(1/n) sum_i E_y[g g^T], the expectation done by enumeration / quadrature."""
    n = X.shape[0]
    if isinstance(model, ngd.LinearRegression):
        # Gauss-Hermite (probabilists'): exact for the degree-2 polynomial g g^T in eps
        nodes, weights = np.polynomial.hermite_e.hermegauss(5)
        weights = weights / weights.sum()
        mean = X @ theta
        labels = [mean + np.sqrt(model.noise_var) * e for e in nodes]
    elif isinstance(model, ngd.GaussianRegression):
        # g g^T is a degree-4 polynomial in eps: 5 Gauss-Hermite nodes are exact
        nodes, weights = np.polynomial.hermite_e.hermegauss(5)
        weights = weights / weights.sum()
        sigma = np.exp(theta[-1])  # the default parameterization, log sigma
        labels = [X @ theta[:-1] + sigma * e for e in nodes]
    elif isinstance(model, ngd.PoissonRegression):
        # enumerate y = 0..top, far enough into the tail that the rest is < 1e-15
        rates = np.exp(X @ theta)
        top = int(np.ceil(rates.max() + 12 * np.sqrt(rates.max()) + 40))
        ys = np.arange(top + 1)
        log_pmf = (ys[:, None] * np.log(rates)[None, :] - rates[None, :]
                   - np.array([math.lgamma(k + 1) for k in ys])[:, None])
        weights = np.exp(log_pmf)
        labels = [np.full(n, k) for k in ys]
    else:
        k = 2 if isinstance(model, ngd.LogisticRegression) else model.n_classes
        probs = model.predict_proba(theta, X)
        if isinstance(model, ngd.LogisticRegression):
            probs = np.column_stack([1 - probs, probs])
        labels = [np.full(n, c) for c in range(k)]
        weights = probs.T  # weights[c, i] = p(y = c | x_i)
    F = 0.0
    for label, w in zip(labels, weights, strict=True):
        G = model.per_example_grads(theta, X, label)
        F = F + np.einsum("i,ia,ib->ab", np.broadcast_to(w, (n,)), G, G)
    return F / n


@settings(max_examples=40, deadline=None)
@given(problems)
def test_fisher_matches_expectation_over_labels(problem):
    model, theta, X, _ = problem
    F = model.fisher(theta, X)
    np.testing.assert_allclose(
        F, brute_force_fisher(model, theta, X), rtol=1e-9, atol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(problems)
def test_fisher_empirical_and_monte_carlo_are_symmetric_psd(problem):
    model, theta, X, y = problem
    assert_symmetric_psd(model.fisher(theta, X))
    assert_symmetric_psd(model.empirical_fisher(theta, X, y))
    assert_symmetric_psd(mc_fisher(model, theta, X, n_samples=3, rng=0))


@settings(max_examples=40, deadline=None)
@given(problems, st.integers(0, 2**31 - 1))
def test_fisher_vector_product_equals_fisher_times_v(problem, seed):
    model, theta, X, _ = problem
    v = np.random.default_rng(seed).standard_normal(model.n_params(X))
    np.testing.assert_allclose(
        model.fisher_vector_product(theta, X, v),
        model.fisher(theta, X) @ v,
        rtol=1e-10,
        atol=1e-12,
    )


@settings(max_examples=40, deadline=None)
@given(problems)
def test_fisher_diagonal_equals_diagonal_of_fisher(problem):
    model, theta, X, _ = problem
    np.testing.assert_allclose(
        model.fisher_diagonal(theta, X),
        np.diag(model.fisher(theta, X)),
        rtol=1e-10,
        atol=1e-14,
    )


@settings(max_examples=30, deadline=None)
@given(problems)
def test_hessian_matches_finite_differences_of_grad(problem):
    model, theta, X, y = problem
    H = model.hessian(theta, X, y)
    fd = fd_grad_of(lambda t: model.grad(t, X, y), theta)
    scale = max(1.0, np.abs(H).max())
    np.testing.assert_allclose(H, fd, rtol=0, atol=FD_RTOL * scale)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(1, 25),
    st.integers(1, 4),
    st.sampled_from([0.1, 1.0, 3.0]),
)
def test_logistic_fisher_equals_finite_difference_hessian_of_nll(seed, n, d, scale):
    model, theta, X, y = make_problem("logistic", seed, n=n, d=d, scale=scale)
    h = 1e-4  # second differences of a scalar: error ~ h^2 + eps / h^2
    E = np.eye(d) * h

    def f(t):
        return model.nll(t, X, y)

    fd = np.array(
        [
            [
                (
                    f(theta + E[a] + E[b])
                    - f(theta + E[a] - E[b])
                    - f(theta - E[a] + E[b])
                    + f(theta - E[a] - E[b])
                )
                / (4 * h * h)
                for b in range(d)
            ]
            for a in range(d)
        ]
    )
    F = model.fisher(theta, X)
    np.testing.assert_allclose(F, fd, rtol=0, atol=1e-6 * max(1.0, np.abs(F).max()))


def test_softmax_fisher_is_singular_along_shared_class_shifts(rng):
    model, theta, X, _ = make_problem("softmax", 3, n=40, d=3, n_classes=4)
    F = model.fisher(theta, X)
    for a in np.eye(3):
        null_vector = np.kron(
            a, np.ones(4)
        )  # add a_j to every class weight of feature j
        np.testing.assert_allclose(F @ null_vector, 0.0, atol=1e-12)
        np.testing.assert_allclose(
            model.predict_proba(theta + null_vector, X),
            model.predict_proba(theta, X),
            atol=1e-12,
        )
    assert np.linalg.matrix_rank(F) == 3 * (4 - 1)


def test_softmax_flattening_is_row_major_weight_matrix():
    model = ngd.SoftmaxRegression(n_classes=3)
    X = np.array([[1.0, 2.0]])
    W = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])  # W[j, c]
    logits = X @ W
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(model.predict_proba(W.ravel(), X), expected)
    assert model.n_params(X) == 6


def test_linear_fisher_is_gram_matrix_over_noise_variance(rng):
    X = rng.standard_normal((20, 3))
    model = ngd.LinearRegression(noise_var=0.25)
    np.testing.assert_allclose(
        model.fisher(rng.standard_normal(3), X), X.T @ X / (20 * 0.25), rtol=1e-12
    )


# ---------------------------------------------------------------------------
# empirical Fisher
# ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(problems)
def test_empirical_fisher_is_uncentred_mean_of_outer_products(problem):
    model, theta, X, y = problem
    G = model.per_example_grads(theta, X, y)
    EF = model.empirical_fisher(theta, X, y)
    outer_mean = np.mean([np.outer(g, g) for g in G], axis=0)
    np.testing.assert_allclose(EF, outer_mean, rtol=1e-10, atol=1e-13)
    if X.shape[0] > 1:
        # the covariance subtracts the mean gradient: EF - cov = grad grad^T
        grad = model.grad(theta, X, y)
        centred = np.cov(G.T, bias=True).reshape(EF.shape)
        np.testing.assert_allclose(EF - centred, np.outer(grad, grad), atol=1e-10)


def test_empirical_fisher_differs_from_covariance_when_gradient_is_nonzero(rng):
    model, theta, X, y = make_problem("logistic", 7, n=50, scale=3.0)
    grad = model.grad(theta, X, y)
    assert np.linalg.norm(grad) > 0.1
    G = model.per_example_grads(theta, X, y)
    difference = model.empirical_fisher(theta, X, y) - np.cov(G.T, bias=True)
    assert np.abs(difference).max() > 1e-3


def test_empirical_fisher_of_linear_regression_vanishes_with_residuals(rng):
    X = rng.standard_normal((10, 2))
    theta = rng.standard_normal(2)
    model = ngd.LinearRegression()
    y = X @ theta  # a perfect fit
    np.testing.assert_allclose(model.empirical_fisher(theta, X, y), 0.0, atol=1e-25)
    assert np.linalg.eigvalsh(model.fisher(theta, X))[0] > 0


# ---------------------------------------------------------------------------
# Monte-Carlo Fisher and sampling
# ---------------------------------------------------------------------------
def literal_monte_carlo_fisher(model, theta, X, n_samples, rng):
    """Draw labels from the model n_samples times and average g g^T: the definition."""
    total = 0.0
    for _ in range(n_samples):
        G = model.per_example_grads(theta, X, model.sample(theta, X, rng))
        total = total + G.T @ G
    return total / (n_samples * X.shape[0])


def relative_error(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_monte_carlo_fisher_converges_to_exact_fisher(name):
    model, theta, X, _ = make_problem(name, 11, n=40, d=3)
    F = model.fisher(theta, X)
    estimate = mc_fisher(model,
        theta, X, n_samples=20_000, rng=np.random.default_rng(0)
    )
    assert relative_error(estimate, F) < MC_REL_TOL
    few = mc_fisher(model, theta, X, n_samples=1, rng=np.random.default_rng(0))
    assert relative_error(few, F) > relative_error(estimate, F)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_literal_sampling_estimator_agrees_with_monte_carlo_fisher(name):
    model, theta, X, _ = make_problem(name, 5, n=40, d=3)
    F = model.fisher(theta, X)
    literal = literal_monte_carlo_fisher(
        model, theta, X, 3000, np.random.default_rng(1)
    )
    assert relative_error(literal, F) < 2 * MC_REL_TOL
    fast = mc_fisher(model,
        theta, X, n_samples=3000, rng=np.random.default_rng(2)
    )
    assert relative_error(fast, literal) < 4 * MC_REL_TOL


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_monte_carlo_fisher_is_unbiased(name):
    # the mean of many one-sample estimates matches the exact Fisher
    model, theta, X, _ = make_problem(name, 2, n=10, d=2)
    rng = np.random.default_rng(3)
    mean = np.mean(
        [
            mc_fisher(model, theta, X, n_samples=1, rng=rng)
            for _ in range(20_000)
        ],
        axis=0,
    )
    assert relative_error(mean, model.fisher(theta, X)) < MC_REL_TOL


def test_monte_carlo_fisher_is_reproducible_with_a_seed():
    model, theta, X, _ = make_problem("softmax", 1)
    a = mc_fisher(model, theta, X, n_samples=5, rng=42)
    b = mc_fisher(model, theta, X, n_samples=5, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_sample_follows_model_distribution(name):
    model, theta, X, _ = make_problem(name, 4, n=5, d=2)
    rng = np.random.default_rng(0)
    draws = np.array([model.sample(theta, X, rng) for _ in range(20_000)])
    if name == "linear":
        np.testing.assert_allclose(draws.mean(axis=0), X @ theta, atol=0.05)
        np.testing.assert_allclose(draws.var(axis=0), model.noise_var, rtol=0.05)
    elif name == "logistic":
        np.testing.assert_allclose(
            draws.mean(axis=0), model.predict_proba(theta, X), atol=0.015
        )
    elif name == "poisson":
        rates = np.exp(X @ theta)  # mean and variance of a Poisson count
        np.testing.assert_allclose(draws.mean(axis=0), rates, rtol=0.03)
        np.testing.assert_allclose(draws.var(axis=0), rates, rtol=0.05)
        assert np.all(draws == np.round(draws)) and draws.min() >= 0
    elif name == "gaussian":
        sigma = np.exp(theta[-1])
        np.testing.assert_allclose(draws.mean(axis=0), X @ theta[:-1],
                                   atol=0.05 * sigma)
        np.testing.assert_allclose(draws.var(axis=0), sigma**2, rtol=0.05)
    else:
        freqs = np.stack([(draws == c).mean(axis=0) for c in range(3)], axis=1)
        np.testing.assert_allclose(freqs, model.predict_proba(theta, X), atol=0.015)


# ---------------------------------------------------------------------------
# numerical stability
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ("logistic", "softmax"))
def test_large_logits_give_finite_values_without_warnings(name):
    model, theta, X, y = make_problem(name, 0, n=20, scale=1000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = [
            model.nll(theta, X, y),
            model.grad(theta, X, y),
            model.fisher(theta, X),
            model.empirical_fisher(theta, X, y),
            mc_fisher(model, theta, X, rng=0),
            model.fisher_diagonal(theta, X),
            model.sample(theta, X, rng=0),
        ]
    assert all(np.all(np.isfinite(v)) for v in values)


def test_logistic_nll_is_accurate_for_large_logits():
    model = ngd.LogisticRegression()
    X = np.array([[800.0], [-800.0], [40.0]])
    # -log p(y) for (z=800, y=0), (z=-800, y=1), (z=40, y=1)
    nll = model.nll(np.array([1.0]), X, np.array([0, 1, 1]))
    np.testing.assert_allclose(nll, (800 + 800 + np.exp(-40)) / 3, rtol=1e-15)


def test_softmax_nll_is_accurate_for_large_logits():
    model = ngd.SoftmaxRegression(n_classes=2)
    X = np.array([[1.0]])
    nll = model.nll(np.array([1000.0, 0.0]), X, np.array([1]))
    np.testing.assert_allclose(nll, 1000.0, rtol=1e-15)


def test_softmax_with_two_classes_matches_logistic(rng):
    X = rng.standard_normal((15, 3))
    w = rng.standard_normal(3)
    y = rng.integers(0, 2, 15)
    logistic = ngd.LogisticRegression()
    softmax = ngd.SoftmaxRegression(n_classes=2)
    theta = np.column_stack([np.zeros(3), w]).ravel()  # class 0 logit fixed at 0
    np.testing.assert_allclose(softmax.nll(theta, X, y), logistic.nll(w, X, y))
    np.testing.assert_allclose(
        softmax.predict_proba(theta, X)[:, 1], logistic.predict_proba(w, X)
    )


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
ALL = pytest.mark.parametrize("name", MODEL_NAMES)


@ALL
def test_validation_rejects_1d_X(name):
    model, theta, X, y = make_problem(name, 0)
    with pytest.raises(ValueError, match="X must be a 2-D matrix"):
        model.nll(theta, X[:, 0], y)


@ALL
def test_validation_rejects_empty_X(name):
    model = make_model(name)
    with pytest.raises(ValueError, match="X must have at least one row"):
        model.fisher(np.zeros(3), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="one column"):
        model.n_params(np.zeros((4, 0)))


@ALL
def test_validation_rejects_nan(name):
    model, theta, X, y = make_problem(name, 0)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        model.grad(theta, X_nan, y)
    with pytest.raises(ValueError, match="theta contains NaN"):
        model.fisher(np.full_like(theta, np.nan), X)
    with pytest.raises(ValueError, match="y contains NaN"):
        model.nll(theta, X, np.full(len(y), np.nan))
    with pytest.raises(ValueError, match="v contains NaN"):
        model.fisher_vector_product(theta, X, np.full_like(theta, np.nan))


@ALL
def test_validation_rejects_non_numeric_X(name):
    model, theta, _, y = make_problem(name, 0)
    with pytest.raises(TypeError, match="X must be an array of real numbers"):
        model.nll(theta, [["a", "b", "c"]], y[:1])


@ALL
def test_validation_rejects_wrong_theta_length(name):
    model, theta, X, y = make_problem(name, 0)
    with pytest.raises(ValueError, match="theta must have length"):
        model.grad(theta[:-1], X, y)
    with pytest.raises(ValueError, match="theta must be a 1-D vector"):
        model.fisher(theta[None, :], X)


@ALL
def test_validation_rejects_wrong_y_shape(name):
    model, theta, X, y = make_problem(name, 0)
    with pytest.raises(ValueError, match="y must have one entry per row of X"):
        model.nll(theta, X, y[:-1])
    with pytest.raises(ValueError, match="y must be a 1-D vector"):
        model.empirical_fisher(theta, X, y[:, None])


@ALL
def test_validation_rejects_wrong_v_length(name):
    model, theta, X, _ = make_problem(name, 0)
    with pytest.raises(ValueError, match="v must have length"):
        model.fisher_vector_product(theta, X, np.ones(theta.size + 1))


@ALL
def test_validation_rejects_bad_n_samples_and_rng(name):
    model, theta, X, _ = make_problem(name, 0)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        mc_fisher(model, theta, X, n_samples=0, rng=0)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        mc_fisher(model, theta, X, n_samples=2.5, rng=0)
    with pytest.raises(TypeError, match="rng must be None, an integer seed"):
        mc_fisher(model, theta, X, n_samples=1, rng="seed")


@pytest.mark.parametrize("bad", [2, -1, 0.5])
def test_logistic_rejects_labels_outside_zero_one(bad):
    model, theta, X, y = make_problem("logistic", 0)
    y = y.astype(float)
    y[3] = bad
    with pytest.raises(
        ValueError, match=r"y must contain only the labels 0 and 1.*\[3\]"
    ):
        model.per_example_grads(theta, X, y)


@pytest.mark.parametrize("bad", [3, -1, 1.5])
def test_softmax_rejects_labels_outside_classes(bad):
    model, theta, X, y = make_problem("softmax", 0, n_classes=3)
    y = y.astype(float)
    y[2] = bad
    with pytest.raises(ValueError, match=r"integer class labels 0, \.\.\., 2"):
        model.grad(theta, X, y)


def test_softmax_rejects_bad_n_classes():
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        ngd.SoftmaxRegression(n_classes=1)
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        ngd.SoftmaxRegression(n_classes=2.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf])
def test_linear_rejects_non_positive_noise_var(bad):
    with pytest.raises(ValueError, match="noise_var must be finite and > 0"):
        ngd.LinearRegression(noise_var=bad)


def test_linear_rejects_non_numeric_noise_var():
    with pytest.raises(TypeError, match="noise_var must be a real number"):
        ngd.LinearRegression(noise_var="1")


def test_models_are_frozen():
    model = ngd.LinearRegression(noise_var=2.0)
    with pytest.raises(AttributeError):
        model.noise_var = 3.0


# --- the read-only X fast path (natural_gradient_descent hands models a read-only X) --

def test_a_writeable_X_changed_between_calls_is_seen_at_once():
    model = ngd.LogisticRegression()
    X = np.array([[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]])
    y = np.array([1, 0, 1])
    theta = np.array([0.2, -0.3])
    before = model.nll(theta, X, y)
    X[0, 1] = 3.0
    assert model.nll(theta, X, y) == pytest.approx(
        ngd.LogisticRegression().nll(theta, X.copy(), y))
    assert model.nll(theta, X, y) != before
    X[1, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        model.nll(theta, X, y)


def test_a_read_only_X_gives_the_same_results_at_every_theta():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 3))
    y = (rng.random(50) < 0.5).astype(int)
    frozen = X.view()
    frozen.flags.writeable = False
    model = ngd.LogisticRegression()
    for theta in (np.zeros(3), np.array([0.5, -1.0, 2.0]), np.zeros(3)):
        value, grad = model.nll_and_grad(theta, frozen, y)
        assert value == model.nll(theta, X, y)
        np.testing.assert_array_equal(grad, model.grad(theta, X, y))
        np.testing.assert_array_equal(model.fisher(theta, frozen),
                                      model.fisher(theta, X))
    # what a model hands back is the caller's own array, even for the identity link
    linear = ngd.LinearRegression()
    for _ in range(2):  # computed, then from the stored X @ theta
        mean = linear.predict_mean(np.ones(3), frozen)
        assert mean.flags.writeable
        mean += 1.0
    np.testing.assert_array_equal(linear.predict_mean(np.ones(3), frozen),
                                  X.sum(axis=1))
    bad = X.copy()
    bad[2, 1] = np.inf
    bad.flags.writeable = False
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        model.fisher(np.zeros(3), bad)


def test_natural_gradient_descent_leaves_the_callers_X_writeable():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 2))
    y = (rng.random(40) < 0.5).astype(int)
    ngd.natural_gradient_descent(ngd.LogisticRegression(), np.zeros(2), X, y,
                                 damping=1e-3, max_iter=3)
    assert X.flags.writeable
    X[0, 0] = 1.0  # still the caller's to change
