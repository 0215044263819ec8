"""Tests of ngd_lib.plotting: each helper draws on the ax it gets and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ngd_lib import plotting  # noqa: E402
from ngd_lib.optimize import gradient_descent, steepest_descent_step  # noqa: E402
from ngd_lib.quadratic import Quadratic  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _labels_are_set(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def _quadratic_and_run():
    q = Quadratic.with_condition_number(10.0, rng=np.random.default_rng(0))
    res = gradient_descent(q.value, q.grad, [2.0, 1.0], lr=0.15, max_iter=20)
    return q, res


# --------------------------------------------------------------------- plot_contours
def test_plot_contours_draws_contours_and_the_path(ax):
    q, res = _quadratic_and_run()
    out = plotting.plot_contours(ax, q.value, xlim=(-3, 3), ylim=(-2, 2), levels=12,
                                 path=res, path_label="GD")
    assert out is ax
    assert len(ax.collections) >= 1  # the contour set
    path_line = [line for line in ax.get_lines() if line.get_label() == "GD"]
    assert len(path_line) == 1
    np.testing.assert_allclose(path_line[0].get_xydata(), res.history.x)
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-2.0, 2.0)
    assert _labels_are_set(ax)


def test_plot_contours_levels_follow_the_function_values(ax):
    q = Quadratic(np.eye(2))
    plotting.plot_contours(ax, q.value, xlim=(-1, 1), ylim=(-1, 1),
                           levels=[0.1, 0.2, 0.3])
    np.testing.assert_allclose(ax.collections[0].levels, [0.1, 0.2, 0.3])


def test_plot_contours_falls_back_to_point_by_point_evaluation(ax):
    calls = []

    def scalar_only(x):
        x = np.asarray(x)
        if x.ndim != 1:
            raise ValueError("one point at a time")
        calls.append(1)
        return float(x @ x)

    plotting.plot_contours(ax, scalar_only, xlim=(-1, 1), ylim=(-1, 1), num=11)
    assert len(calls) == 121


def test_plot_contours_rejects_bad_limits_and_fun(ax):
    with pytest.raises(ValueError, match="xlim must be"):
        plotting.plot_contours(ax, np.sum, xlim=(1, -1), ylim=(-1, 1))
    with pytest.raises(ValueError, match="ylim must be"):
        plotting.plot_contours(ax, np.sum, xlim=(-1, 1), ylim=(0, 1, 2))
    with pytest.raises(TypeError, match="fun must be callable"):
        plotting.plot_contours(ax, 3.0, xlim=(-1, 1), ylim=(-1, 1))
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plotting.plot_contours("ax", np.sum, xlim=(-1, 1), ylim=(-1, 1))


# ------------------------------------------------------------------------- plot_path
def test_plot_path_marks_start_and_end(ax):
    path = np.array([[1.0, 1.0], [0.5, 0.0], [0.0, 0.0]])
    out = plotting.plot_path(ax, path, label="run")
    assert out is ax
    lines = ax.get_lines()
    assert len(lines) == 3  # the path, its start and its end
    np.testing.assert_allclose(lines[1].get_xydata(), [[1.0, 1.0]])
    np.testing.assert_allclose(lines[2].get_xydata(), [[0.0, 0.0]])


def test_plot_path_rejects_a_path_that_is_not_2d(ax):
    with pytest.raises(ValueError, match=r"path must have shape \(n, 2\)"):
        plotting.plot_path(ax, np.zeros((4, 3)))


# ---------------------------------------------------------- plot_iterations_vs_kappa
def test_plot_iterations_vs_kappa_draws_measured_and_theory_on_log_axes(ax):
    kappas = [1, 10, 100, 1000]
    out = plotting.plot_iterations_vs_kappa(
        ax, kappas, {"best step": [1, 20, 200, 2000], "1/L": [1, 40, 400, 4000]},
        theory={"best (theory)": [1, 19, 199, 1999],
                "1/L (theory)": [1, 39, 399, 3999]},
    )
    assert out is ax
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["best step", "1/L", "best (theory)", "1/L (theory)"]
    # theory lines share the colour of their measured series
    lines = ax.get_lines()
    assert lines[0].get_color() == lines[2].get_color()
    assert ax.get_legend() is not None
    assert _labels_are_set(ax)


def test_plot_iterations_vs_kappa_accepts_plain_arrays(ax):
    plotting.plot_iterations_vs_kappa(ax, [1, 10], [0, 30], [1, 29])
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["measured", "theory"]
    np.testing.assert_allclose(lines[0].get_ydata(), [1, 30])  # 0 shown at 1 on log


def test_plot_iterations_vs_kappa_rejects_mismatched_lengths(ax):
    with pytest.raises(ValueError, match="one value per kappa"):
        plotting.plot_iterations_vs_kappa(ax, [1, 10, 100], [1, 2])
    with pytest.raises(ValueError, match="kappas must be positive"):
        plotting.plot_iterations_vs_kappa(ax, [0, 10], [1, 2])


# ---------------------------------------------------------------- plot_steepest_step
def test_plot_steepest_step_draws_the_ellipse_and_the_step(ax):
    A = np.array([[4.0, 1.0], [1.0, 1.0]])
    g = np.array([1.0, 2.0])
    origin = np.array([0.5, -0.5])
    out = plotting.plot_steepest_step(ax, g, A, 0.3, origin=origin, label="A-step")
    assert out is ax
    ellipse = ax.get_lines()[0].get_xydata() - origin
    np.testing.assert_allclose(0.5 * np.einsum("ni,ij,nj->n", ellipse, A, ellipse),
                               0.09, rtol=1e-10)
    arrows = [t for t in ax.texts if hasattr(t, "arrow_patch")]
    assert len(arrows) == 2  # -g and the step
    delta, _ = steepest_descent_step(g, A, 0.3)
    step_arrow = arrows[-1]
    np.testing.assert_allclose(step_arrow.xy, origin + delta)
    assert "A-step" in [line.get_label() for line in ax.get_lines()]
    assert _labels_are_set(ax)


def test_plot_steepest_step_without_gradient_arrow(ax):
    plotting.plot_steepest_step(ax, [1.0, 0.0], np.eye(2), 1.0, show_gradient=False)
    assert len([t for t in ax.texts if hasattr(t, "arrow_patch")]) == 1


def test_plot_steepest_step_rejects_zero_gradient_and_bad_origin(ax):
    with pytest.raises(ValueError, match="g is the zero vector"):
        plotting.plot_steepest_step(ax, [0.0, 0.0], np.eye(2), 1.0)
    with pytest.raises(ValueError, match=r"origin must have shape \(2,\)"):
        plotting.plot_steepest_step(ax, [1.0, 0.0], np.eye(2), 1.0, origin=[0, 0, 0])


# ------------------------------------------------------------------ plot_convergence
def test_plot_convergence_draws_one_line_per_result(ax):
    _, res = _quadratic_and_run()
    out = plotting.plot_convergence(ax, {"a": res, "b": res}, quantity="grad_norm")
    assert out is ax
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    np.testing.assert_allclose(lines[0].get_ydata(), res.history.grad_norm)
    assert _labels_are_set(ax)


def test_plot_convergence_rejects_other_objects(ax):
    with pytest.raises(TypeError, match="OptimizeResult"):
        plotting.plot_convergence(ax, {"a": [1, 2, 3]})
    _, res = _quadratic_and_run()
    with pytest.raises(AttributeError, match="no record 'damping'"):
        plotting.plot_convergence(ax, res, quantity="damping")


# ------------------------------------------------------------------ the book's style
def test_use_book_style_sets_legible_fonts_and_2x_pngs():
    with matplotlib.rc_context():
        plotting.use_book_style(retina=False)
        rc = matplotlib.rcParams
        assert rc["savefig.dpi"] >= 2 * rc["figure.dpi"]
        for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                    "ytick.labelsize", "legend.fontsize", "figure.titlesize"):
            assert matplotlib.font_manager.FontProperties(
                size=rc[key]).get_size_in_points() >= plotting.MIN_FONT_PT, key


def test_a_figure_in_the_book_style_draws_nothing_below_the_minimum():
    with matplotlib.rc_context():
        plotting.use_book_style(retina=False)
        fig, ax = plt.subplots()
        q, res = _quadratic_and_run()
        plotting.plot_contours(ax, q.value, xlim=(-3, 3), ylim=(-2, 2), path=res,
                               path_label="GD")
        ax.legend()
        sizes = plotting.drawn_font_sizes(fig)
        plt.close(fig)
    texts = {text for text, _ in sizes}
    assert {"Contours of f", "GD"} <= texts  # title and legend were drawn
    assert min(size for _, size in sizes) >= plotting.MIN_FONT_PT


def test_drawn_font_sizes_sees_a_small_tick_label_and_only_drawn_ticks():
    fig, ax = plt.subplots()
    ax.set_xlim(0, 1)
    ax.set_xticks([0.0, 0.5, 1.0], ["zero", "half", "one"])
    ax.tick_params(axis="x", labelsize=6)
    ax.set_xlim(0, 0.7)  # the tick "one" is no longer drawn
    sizes = dict(plotting.drawn_font_sizes(fig))
    plt.close(fig)
    assert sizes["half"] == 6.0
    assert "one" not in sizes


def test_drawn_font_sizes_rejects_an_axes():
    fig, ax = plt.subplots()
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plotting.drawn_font_sizes(ax)
    plt.close(fig)
