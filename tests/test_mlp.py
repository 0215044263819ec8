"""Tests of ngd_lib.mlp: the network's derivatives and curvatures against brute force,
and its training routine."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ngd_lib as ngd
from ngd_lib.mlp import MLPClassifier, train

SIZES = (3, 4, 3, 3)  # two hidden layers, so the Hessian has cross-layer terms


@pytest.fixture
def problem(rng):
    model = MLPClassifier(SIZES)
    X = rng.standard_normal((9, 3))
    y = rng.integers(0, 3, 9)
    theta = model.init_params(rng) + 0.4 * rng.standard_normal(model.size)
    return model, theta, X, y


def central_differences(fun, theta, eps=1e-6):
    """Column i: (fun(theta + eps e_i) - fun(theta - eps e_i)) / (2 eps)."""
    eye = np.eye(theta.size)
    return np.stack([(np.asarray(fun(theta + eps * e))
                      - np.asarray(fun(theta - eps * e))) / (2 * eps) for e in eye],
                    axis=-1)


def brute_force_fisher(model, theta, X):
    """(1/n) sum_i sum_c p_ic g_ic g_ic^T, one example and one label at a time."""
    probs = model.predict_proba(theta, X)
    F = np.zeros((model.size, model.size))
    for i in range(X.shape[0]):
        for c in range(model.n_classes):
            g = model.per_example_grads(theta, X[i:i + 1], [c])[0]
            F += probs[i, c] * np.outer(g, g)
    return F / X.shape[0]


def test_n_params_and_layout(problem):
    model, theta, X, _ = problem
    assert model.n_params(X) == 4 * 4 + 5 * 3 + 4 * 3 == theta.size
    Ws = model.weights(theta)
    assert [W.shape for W in Ws] == [(4, 4), (5, 3), (4, 3)]
    np.testing.assert_array_equal(np.concatenate([W.ravel() for W in Ws]), theta)
    assert isinstance(model, ngd.Model) and ngd.MLPClassifier is MLPClassifier


def test_init_params_is_seeded_glorot_with_zero_biases():
    model = MLPClassifier((64, 32, 10))
    a, b = model.init_params(0), model.init_params(0)
    np.testing.assert_array_equal(a, b)
    W1 = model.weights(a)[0]
    np.testing.assert_array_equal(W1[-1], 0.0)
    assert np.abs(W1).max() <= math.sqrt(6 / (64 + 32))


def test_grad_matches_finite_differences(problem):
    model, theta, X, y = problem
    fd = central_differences(lambda t: model.nll(t, X, y), theta)
    np.testing.assert_allclose(model.grad(theta, X, y), fd, atol=1e-8)
    value, g = model.nll_and_grad(theta, X, y)
    assert value == model.nll(theta, X, y)
    np.testing.assert_array_equal(g, model.grad(theta, X, y))


def test_per_example_grads_match_finite_differences(problem):
    model, theta, X, y = problem
    G = model.per_example_grads(theta, X, y)
    for i in (0, 4):
        fd = central_differences(lambda t, i=i: model.nll(t, X[i:i + 1], y[i:i + 1]),
                                 theta)
        np.testing.assert_allclose(G[i], fd, atol=1e-8)
    np.testing.assert_allclose(G.mean(axis=0), model.grad(theta, X, y), atol=1e-15)


def test_mean_versus_sum_scaling(problem):
    # nll and grad are means: n times them is the summed loss, whose gradient is
    # the sum (not the mean) of the per-example gradients
    model, theta, X, y = problem
    G = model.per_example_grads(theta, X, y)
    n = X.shape[0]
    np.testing.assert_allclose(n * model.grad(theta, X, y), G.sum(axis=0), atol=1e-14)
    assert not np.allclose(G.sum(axis=0), model.grad(theta, X, y))
    # the Fisher is a mean too: the average of the one-example Fishers
    single = [model.fisher(theta, X[i:i + 1]) for i in range(n)]
    np.testing.assert_allclose(np.mean(single, axis=0), model.fisher(theta, X),
                               atol=1e-14)


def test_fisher_is_the_exact_label_expectation(problem):
    model, theta, X, _ = problem
    np.testing.assert_allclose(model.fisher(theta, X),
                               brute_force_fisher(model, theta, X), atol=1e-14)


def test_gauss_newton_equals_fisher_and_uses_the_jacobian(problem):
    model, theta, X, y = problem
    J = model.jacobian(theta, X)
    fd = central_differences(lambda t: np.log(model.predict_proba(t, X)), theta)
    # d log p / d theta = (I - 1 p^T) J: compare J via the centred log-probabilities
    centred = J - np.einsum("nc,ncp->np", model.predict_proba(theta, X), J)[:, None]
    np.testing.assert_allclose(centred, fd, atol=1e-8)
    np.testing.assert_allclose(model.gauss_newton(theta, X, y), model.fisher(theta, X),
                               atol=1e-14)


def test_fisher_vector_product_matches_dense(problem, rng):
    model, theta, X, _ = problem
    F = model.fisher(theta, X)
    v = rng.standard_normal(model.size)
    np.testing.assert_allclose(model.fisher_vector_product(theta, X, v), F @ v,
                               atol=1e-14)
    V = rng.standard_normal((5, model.size))
    np.testing.assert_allclose(model.fisher_vector_product(theta, X, V), V @ F,
                               atol=1e-14)


def test_fisher_diagonal_matches_dense(problem):
    model, theta, X, _ = problem
    np.testing.assert_allclose(model.fisher_diagonal(theta, X),
                               np.diag(model.fisher(theta, X)), atol=1e-15)


def test_hessian_matches_finite_differences_of_grad(problem):
    model, theta, X, y = problem
    fd = central_differences(lambda t: model.grad(t, X, y), theta)
    H = model.hessian(theta, X, y)
    np.testing.assert_allclose(H, (fd + fd.T) / 2, atol=1e-8)
    v = np.linspace(-1, 1, model.size)
    np.testing.assert_allclose(model.hessian_vector_product(theta, X, y, v), H @ v,
                               atol=1e-13)


def test_hessian_differs_from_fisher_away_from_the_optimum(problem):
    model, theta, X, y = problem
    H, F = model.hessian(theta, X, y), model.fisher(theta, X)
    assert np.linalg.norm(H - F) > 0.1 * np.linalg.norm(F)
    assert np.linalg.eigvalsh(H)[0] < -1e-3 < 0 <= np.linalg.eigvalsh(F)[0] + 1e-12


def test_hessian_equals_fisher_for_one_layer_softmax(rng):
    # no hidden layer: a canonical-link GLM, where H = F at every theta
    model = MLPClassifier((3, 4))
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)
    theta = rng.standard_normal(model.size)
    np.testing.assert_allclose(model.hessian(theta, X, y), model.fisher(theta, X),
                               atol=1e-14)
    softmax = ngd.SoftmaxRegression(n_classes=4)
    Xb = np.column_stack([X, np.ones(6)])
    np.testing.assert_allclose(model.fisher(theta, X), softmax.fisher(theta, Xb),
                               atol=1e-14)


def test_kfac_blocks_reproduce_per_example_grads(problem):
    model, theta, X, y = problem
    blocks = model.kfac_blocks(theta, X, y)
    assert [(a.shape[1], g.shape[1]) for a, g in blocks] == model.shapes
    rows = np.concatenate([np.stack([np.outer(a[i], g[i]).ravel()
                                     for i in range(X.shape[0])])
                           for a, g in blocks], axis=1)
    np.testing.assert_allclose(rows, model.per_example_grads(theta, X, y), atol=1e-15)


def test_sample_draws_from_the_predictive_distribution(rng):
    model = MLPClassifier((2, 3, 3))
    theta = model.init_params(rng)
    X = np.repeat(rng.standard_normal((1, 2)), 40_000, axis=0)
    counts = np.bincount(model.sample(theta, X, rng), minlength=3) / 40_000
    np.testing.assert_allclose(counts, model.predict_proba(theta, X[:1])[0], atol=0.01)


def test_curvature_kfac_inside_natural_gradient_descent(rng):
    model = MLPClassifier((2, 6, 2))
    X = rng.standard_normal((120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    theta0 = model.init_params(rng)
    curvature = ngd.curvature.kfac(model, X, rng=0)
    C = curvature(theta0)
    v = rng.standard_normal(model.size)
    assert C.solve(v, damping=1e-2).success
    res = ngd.natural_gradient_descent(model, theta0, X, y, curvature=curvature,
                                       damping=1e-2, max_iter=15, tol=0.0)
    assert res.fun < 0.8 * model.nll(theta0, X, y)
    exact = ngd.natural_gradient_descent(model, theta0, X, y, damping=1e-2,
                                         max_iter=5, tol=0.0)
    assert exact.fun < model.nll(theta0, X, y)


@pytest.fixture(scope="module")
def xor_data():
    gen = np.random.default_rng(7)
    X = gen.standard_normal((240, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    return MLPClassifier((2, 8, 2)), X[:160], y[:160], X[160:], y[160:]


@pytest.mark.parametrize(("method", "lr"), [("sgd", 1.0), ("adam", 0.05),
                                            ("kfac", 0.3), ("ngd", 0.3)])
def test_train_reduces_the_loss(xor_data, method, lr):
    model, X, y, X_test, y_test = xor_data
    res = train(model, X, y, method=method, epochs=15, batch_size=32, lr=lr, rng=0,
                X_test=X_test, y_test=y_test)
    assert res.success and res.status == "completed" and res.nit == 15
    h = res.history
    assert h.fun.shape == h.time.shape == h.test_accuracy.shape == (16,)
    assert res.fun == h.fun[-1] < 0.8 * h.fun[0]
    assert np.all(np.diff(h.time) > 0) and h.test_accuracy[-1] > 0.6
    assert (h.curvature_time.sum() > 0) == (method in ("kfac", "ngd"))
    np.testing.assert_array_equal(res.x, h.x[-1])


def test_train_is_reproducible(xor_data):
    model, X, y, _, _ = xor_data
    a = train(model, X, y, method="kfac", epochs=2, rng=3)
    b = train(model, X, y, method="kfac", epochs=2, rng=3)
    np.testing.assert_array_equal(a.x, b.x)


def test_train_divergence_is_a_result_not_a_nan(xor_data):
    model, X, y, _, _ = xor_data
    res = train(model, X, y, method="sgd", epochs=5, lr=1e4, rng=0)
    assert not res.success and res.status == "diverged"
    assert "smaller lr" in res.message and np.all(np.isfinite(res.x))
    assert math.isfinite(res.fun) and res.nit < 5


def test_train_ngd_refuses_a_large_network(rng):
    model = MLPClassifier((100, 60, 10))
    X, y = rng.standard_normal((5, 100)), np.arange(5)
    with pytest.raises(ValueError, match="method='ngd'.*P = 6,670.*kfac"):
        train(model, X, y, method="ngd", epochs=1)


@pytest.mark.parametrize(("sizes", "error", "match"), [
    ((3,), ValueError, "layer_sizes must list"),
    ((3, 4, 1), ValueError, "classes"),
    ((3, 0, 2), ValueError, "layer_sizes\\[1\\]"),
    ((3, 2.5, 2), TypeError, "layer_sizes\\[1\\]"),
    ("32", TypeError, "layer_sizes must be an ordered sequence.*str"),
])
def test_bad_layer_sizes_raise(sizes, error, match):
    with pytest.raises(error, match=match):
        MLPClassifier(sizes)


def test_bad_activation_raises():
    with pytest.raises(ValueError, match="activation must be one of 'tanh'"):
        MLPClassifier((2, 2), activation="relu")


def test_hostile_inputs_raise_naming_the_argument(problem):
    model, theta, X, y = problem
    with pytest.raises(ValueError, match="X must have layer_sizes\\[0\\] = 3 columns"):
        model.nll(theta, np.ones((4, 5)), y[:4])
    bad_X = X.copy()
    bad_X[1, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        model.grad(theta, bad_X, y)
    with pytest.raises(ValueError, match="integer class labels 0, ..., 2"):
        model.nll(theta, X, np.full(9, 3))
    with pytest.raises(ValueError, match="y must contain integer"):
        model.nll(theta, X, np.full(9, 0.5))
    with pytest.raises(ValueError, match="theta must have length 43"):
        model.grad(theta[:-1], X, y)
    with pytest.raises(ValueError, match="v must have shape"):
        model.fisher_vector_product(theta, X, np.ones(3))


def test_overflow_raises_model_domain_error(problem):
    model, theta, X, y = problem
    with pytest.raises(ngd.ModelDomainError, match="logits are not finite"):
        model.nll(np.full(model.size, 1e308), X, y)


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"method": "lbfgs"}, ValueError, "method must be one of 'sgd', 'adam'"),
    ({"method": "sgd", "epochs": 0}, ValueError, "epochs"),
    ({"method": "sgd", "epochs": 1.5}, TypeError, "epochs"),
    ({"method": "sgd", "lr": -1.0}, ValueError, "lr"),
    ({"method": "kfac", "damping": 0.0}, ValueError, "damping"),
    ({"method": "sgd", "batch_size": 0}, ValueError, "batch_size"),
    ({"method": "kfac", "factor_decay": 1.0}, ValueError, "factor_decay"),
    ({"method": "sgd", "X_test": np.ones((2, 2))}, ValueError, "X_test and y_test"),
])
def test_train_bad_options_raise(xor_data, options, error, match):
    model, X, y, _, _ = xor_data
    with pytest.raises(error, match=match):
        train(model, X, y, **options)


def test_train_needs_an_mlp(xor_data):
    _, X, y, _, _ = xor_data
    with pytest.raises(TypeError, match="model must be an ngd.MLPClassifier"):
        train(ngd.SoftmaxRegression(n_classes=2), X, y, method="sgd")


def test_kfac_direction_matches_kfac_solve(rng):
    from ngd_lib.kfac import kfac_factors, kfac_solve
    from ngd_lib.mlp import kfac_direction

    blocks = [(rng.standard_normal((30, 4)), rng.standard_normal((30, 3))),
              (rng.standard_normal((30, 5)), rng.standard_normal((30, 2)))]
    factors = [kfac_factors(a, g) for a, g in blocks]
    g = rng.standard_normal(4 * 3 + 5 * 2)
    expected = np.concatenate([kfac_solve(factors[0], g[:12], damping=0.1),
                               kfac_solve(factors[1], g[12:], damping=0.1)])
    np.testing.assert_allclose(kfac_direction([(f.A, f.G) for f in factors], g, 0.1),
                               expected, rtol=1e-12)


@pytest.mark.parametrize("sizes", [{3, 4, 2}, {3: 0, 4: 0, 2: 0}, frozenset((3, 2))])
def test_unordered_layer_sizes_raise(sizes):
    with pytest.raises(TypeError, match="layer_sizes must be an ordered sequence.*"
                                        "tuple or a list"):
        MLPClassifier(sizes)


def test_layer_sizes_as_list_or_array_are_accepted():
    assert MLPClassifier([3, 4, 2]).layer_sizes == (3, 4, 2)
    assert MLPClassifier(np.array([3, 4, 2])).layer_sizes == (3, 4, 2)


@pytest.mark.parametrize(("sizes", "match"), [
    ((10**6, 10**6, 2), "layer 1's weight matrix.*1,000,001 x 1,000,000"),
    # each matrix below the limit, all of theta above it
    ((20_000, 20_000, 20_000, 2), "theta \\(all parameters\\)"),
])
def test_huge_layer_sizes_raise_a_clear_value_error(sizes, match):
    with pytest.raises(ValueError, match=match + ".*DENSE_MEMORY_LIMIT.*smaller layer"):
        MLPClassifier(sizes)


def test_train_accepts_numpy_float_factor_decay(xor_data):
    model, X, y, _, _ = xor_data
    a = train(model, X, y, method="kfac", epochs=2, rng=3, factor_decay=np.float32(0.5))
    b = train(model, X, y, method="kfac", epochs=2, rng=3, factor_decay=0.5)
    assert a.success
    np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("decay", [True, False, np.bool_(True), "0.9", None])
def test_train_factor_decay_of_a_wrong_type_raises(xor_data, decay):
    model, X, y, _, _ = xor_data
    with pytest.raises(TypeError, match="factor_decay must be a real number.*got "
                                        ".* of type .*Pass a float"):
        train(model, X, y, method="kfac", epochs=1, factor_decay=decay)


@pytest.mark.parametrize("decay", [-0.1, 1.0, math.nan])
def test_train_factor_decay_out_of_range_raises(xor_data, decay):
    model, X, y, _, _ = xor_data
    with pytest.raises(ValueError, match="factor_decay must be a number in \\[0, 1\\)"):
        train(model, X, y, method="kfac", epochs=1, factor_decay=decay)


@pytest.mark.parametrize("n", [5, 30])  # n k = 10 < P = 42 (Woodbury); 60 >= P
def test_train_ngd_step_is_the_damped_exact_fisher_solve(rng, n):
    # one batch holding all of X, lr = 1: theta_1 = theta_0 - (F + lambda I)^{-1} g
    # with the dense exact Fisher of the model, by Cholesky
    model = MLPClassifier((2, 8, 2))
    X, y = rng.standard_normal((n, 2)), rng.integers(0, 2, n)
    theta0 = model.init_params(rng)
    assert (n * 2 < model.size) == (n == 5)
    res = train(model, X, y, method="ngd", epochs=1, batch_size=n, lr=1.0,
                damping=0.05, theta0=theta0, rng=0)
    expected = theta0 - ngd.linalg.cholesky_solve(model.fisher(theta0, X),
                                                  model.grad(theta0, X, y),
                                                  damping=0.05)
    np.testing.assert_allclose(res.x, expected, rtol=1e-9, atol=1e-12)


def kfac_epoch_by_hand(model, X, y, theta0, *, seed, batch_size, decay, lr, damping,
                       empirical=False):
    """One epoch of K-FAC written out: the batch order and the sampled labels are
    drawn from the generator in the order train draws them."""
    from ngd_lib.mlp import kfac_direction

    gen = np.random.default_rng(seed)
    order = gen.permutation(X.shape[0])
    theta, factors = theta0.copy(), None
    for first in range(0, X.shape[0], batch_size):
        Xb, yb = X[order[first:first + batch_size]], y[order[first:first + batch_size]]
        labels = yb if empirical else model.sample(theta, Xb, gen)
        blocks = model.kfac_blocks(theta, Xb, labels)
        new = [(a.T @ a / len(yb), s.T @ s / len(yb)) for a, s in blocks]
        factors = new if factors is None else [
            (decay * A + (1 - decay) * A1, decay * G + (1 - decay) * G1)
            for (A, G), (A1, G1) in zip(factors, new, strict=True)]
        theta = theta - lr * kfac_direction(factors, model.grad(theta, Xb, yb),
                                            damping)
    return theta


@pytest.mark.parametrize("decay", [0.0, 0.7])
def test_train_kfac_uses_the_true_fisher_and_a_moving_average(xor_data, decay):
    model, X, y, _, _ = xor_data
    theta0 = model.init_params(5)
    options = {"batch_size": 40, "lr": 0.5, "damping": 0.03}
    res = train(model, X, y, method="kfac", epochs=1, theta0=theta0, rng=11,
                factor_decay=decay, **options)
    by_hand = kfac_epoch_by_hand(model, X, y, theta0, seed=11, decay=decay, **options)
    np.testing.assert_allclose(res.x, by_hand, rtol=1e-10, atol=1e-12)
    # the choices matter: labels from the data (the empirical Fisher) or the other
    # decay give a different run
    empirical = kfac_epoch_by_hand(model, X, y, theta0, seed=11, decay=decay,
                                   empirical=True, **options)
    other = kfac_epoch_by_hand(model, X, y, theta0, seed=11, decay=0.7 - decay,
                               **options)
    assert np.linalg.norm(empirical - res.x) > 1e-3 * np.linalg.norm(res.x - theta0)
    assert np.linalg.norm(other - res.x) > 1e-3 * np.linalg.norm(res.x - theta0)


@pytest.mark.parametrize("method", ["adam", "kfac", "ngd"])
def test_train_divergence_of_every_method_is_a_result(xor_data, method):
    model, X, y, _, _ = xor_data
    res = train(model, X, y, method=method, epochs=3, lr=1e4, rng=0)
    assert res.status == "diverged" and not res.success and res.nit == 0
    assert np.all(np.isfinite(res.x)) and "smaller lr" in res.message


def test_train_catches_solver_breakdown_but_not_other_errors(xor_data, monkeypatch):
    import ngd_lib.mlp as mlp

    model, X, y, _, _ = xor_data

    def breakdown(*args, **kwargs):
        raise ngd.linalg.NotPositiveDefiniteError("singular at this damping")

    monkeypatch.setattr(mlp, "woodbury_solve", breakdown)
    res = train(model, X, y, method="ngd", epochs=2, batch_size=8, rng=0)
    assert res.status == "diverged" and "batch Fisher solve failed" in res.message

    def bug(*args, **kwargs):
        raise KeyError("a bug, not a numerical breakdown")

    monkeypatch.setattr(mlp, "woodbury_solve", bug)
    with pytest.raises(KeyError, match="a bug"):
        train(model, X, y, method="ngd", epochs=2, batch_size=8, rng=0)
