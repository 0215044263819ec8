"""Tests of ngd_lib.vector_fields."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ngd_lib.vector_fields import (  # noqa: E402
    evaluate_field,
    integrate_flow,
    plot_vector_field,
)


def rotation_field(theta):
    return np.array([-theta[1], theta[0]])


def test_evaluate_field_layout_matches_quiver_convention():
    xs = np.array([0.0, 1.0, 2.0])
    ys = np.array([-1.0, 3.0])
    U, V = evaluate_field(lambda t: np.array([t[0] ** 2, t[1] + 10]), xs, ys)
    assert U.shape == V.shape == (2, 3)
    np.testing.assert_array_equal(U, np.tile(xs**2, (2, 1)))
    np.testing.assert_array_equal(V, np.tile((ys + 10)[:, None], (1, 3)))


def test_integrate_flow_converges_to_exact_flow_of_linear_field():
    # d theta/dt = -A theta has the solution expm(-A t) theta0; for diagonal A it is
    # exp(-a_i t); Euler's error at a fixed time shrinks linearly with the step.
    a = np.array([1.0, 3.0])
    start = np.array([1.0, -2.0])
    exact = start * np.exp(-a * 2.0)
    errors = []
    for step in (0.01, 0.001):
        path = integrate_flow(
            lambda t: -a * t, start, step=step, n_steps=round(2 / step)
        )
        errors.append(np.abs(path[-1] - exact).max())
    assert errors[1] < 1e-3
    assert errors[0] / errors[1] == pytest.approx(10, rel=0.1)


def test_integrate_flow_follows_a_circle_for_a_rotation():
    path = integrate_flow(rotation_field, [1.0, 0.0], step=1e-4, n_steps=31416)
    np.testing.assert_allclose(path[-1], [-1.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(np.hypot(*path.T), 1.0, atol=2e-3)


def test_integrate_flow_stops_before_non_finite_values():
    path = integrate_flow(lambda t: t**2 * 1e200, [1.0, 1.0], step=1.0, n_steps=50)
    assert len(path) < 51
    assert np.all(np.isfinite(path))
    path = integrate_flow(
        lambda t: np.array([np.nan, 0.0]), [0.0, 0.0], step=0.1, n_steps=5
    )
    np.testing.assert_array_equal(path, [[0.0, 0.0]])


def test_plot_vector_field_draws_arrows_and_paths():
    fig, ax = plt.subplots()
    xs = ys = np.linspace(-1, 1, 4)
    U, V = evaluate_field(rotation_field, xs, ys)
    path = integrate_flow(rotation_field, [0.5, 0.0], step=0.01, n_steps=100)
    out = plot_vector_field(
        ax,
        xs,
        ys,
        U,
        V,
        paths=[path],
        normalize=True,
        title="rotation",
        xlabel="a",
        ylabel="b",
    )
    assert out is ax
    assert len(ax.collections) == 1  # the quiver
    assert len(ax.lines) == 3  # the path, its start and its end
    np.testing.assert_allclose(np.hypot(ax.collections[0].U, ax.collections[0].V), 1.0)
    assert ax.get_title() == "rotation" and ax.get_xlabel() == "a"
    plt.close(fig)


def test_validation_of_vector_field_helpers():
    xs = ys = np.linspace(0, 1, 3)
    with pytest.raises(TypeError, match="field must be callable"):
        evaluate_field(3.0, xs, ys)
    with pytest.raises(ValueError, match="field must return a direction of shape"):
        evaluate_field(lambda t: np.zeros(3), xs, ys)
    with pytest.raises(ValueError, match="xs must be a 1-D vector"):
        evaluate_field(rotation_field, np.zeros((2, 2)), ys)
    with pytest.raises(ValueError, match="start must have shape"):
        integrate_flow(rotation_field, [0.0, 0.0, 0.0], step=0.1, n_steps=2)
    with pytest.raises(ValueError, match="step must be finite and > 0"):
        integrate_flow(rotation_field, [0.0, 0.0], step=0.0, n_steps=2)
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        integrate_flow(rotation_field, [0.0, 0.0], step=0.1, n_steps=0)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"U must have shape \(len\(ys\), len\(xs\)\)"):
        plot_vector_field(ax, xs, ys, np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="each path must have shape"):
        plot_vector_field(
            ax, xs, ys, np.zeros((3, 3)), np.zeros((3, 3)), paths=[np.zeros((4, 3))]
        )
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_vector_field("ax", xs, ys, np.zeros((3, 3)), np.zeros((3, 3)))
    plt.close(fig)
