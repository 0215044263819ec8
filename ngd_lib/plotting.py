"""Figures of the chapters: each helper draws on a matplotlib ``ax`` and returns it.

Only numbers go in; the helpers do not compute optimisation results themselves, so a
chapter shows in code what it plots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ._validation import as_float_array, check_int
from .optimize import ellipse_points, steepest_descent_step
from .result import OptimizeResult

__all__ = [
    "BOOK_STYLE",
    "MIN_FONT_PT",
    "drawn_font_sizes",
    "use_book_style",
    "plot_contours",
    "plot_convergence",
    "plot_iterations_vs_kappa",
    "plot_path",
    "plot_steepest_step",
]


#: The smallest font size (points, at the figure's own size) the book's figures use.
MIN_FONT_PT = 9.0

#: rcParams of the book's figures: shown at 100 dpi (their size on the page), saved
#: and sent to the page at 200 dpi (sharp on high-density screens), no text below
#: :data:`MIN_FONT_PT`.
BOOK_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.title_fontsize": 10.0,
    "figure.titlesize": 11.5,
}


def use_book_style(*, retina: bool = True) -> None:
    """Set the book's figure style: legible fonts and 2x (retina) PNGs in notebooks.

    Updates :data:`matplotlib.rcParams` with :data:`BOOK_STYLE` and, inside IPython
    (Jupyter, Colab, JupyterLite), sends each figure as a PNG at twice its pixel size
    with its display size in the metadata, so it is as large as before but sharp on
    high-density screens. Every chapter calls it in a hidden cell after its imports.

    Parameters
    ----------
    retina : bool, keyword-only
        Send 2x PNGs in IPython (``False`` keeps IPython's formats).

    Returns
    -------
    None

    Examples
    --------
    >>> import matplotlib
    >>> with matplotlib.rc_context():
    ...     use_book_style()
    ...     matplotlib.rcParams["savefig.dpi"], matplotlib.rcParams["xtick.labelsize"]
    (200.0, 9.5)
    """
    import matplotlib

    matplotlib.rcParams.update(BOOK_STYLE)
    if not retina:
        return
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: nothing to send figures to
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def drawn_font_sizes(fig) -> list[tuple[str, float]]:
    """The text a figure draws, as ``(text, size in points)`` pairs.

    The figure is drawn once on an off-screen canvas and every string the renderer
    draws is recorded (tick labels only of the ticks shown, mathtext included), so a
    test or an audit can check that nothing is smaller than :data:`MIN_FONT_PT`.

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    list of (str, float)

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib Figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_title("small", fontsize=6)
    >>> min(size for text, size in drawn_font_sizes(fig) if text == "small")
    6.0
    >>> plt.close(fig)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(
            f"fig must be a matplotlib Figure; got {type(fig).__name__}. "
            "Pass the fig of fig, ax = plt.subplots()."
        )
    sizes: list[tuple[str, float]] = []
    old_canvas = fig.canvas
    try:
        renderer = FigureCanvasAgg(fig).get_renderer()
        draw_text = renderer.draw_text

        def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if str(s).strip():
                sizes.append((str(s), float(prop.get_size_in_points())))
            return draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

        renderer.draw_text = record
        fig.draw(renderer)
    finally:
        fig.set_canvas(old_canvas)
    return sizes


def _check_ax(ax) -> None:
    if not hasattr(ax, "plot"):
        raise TypeError(
            f"ax must be a matplotlib Axes; got {type(ax).__name__}. "
            "Create one with fig, ax = plt.subplots()."
        )


def _check_limits(limits, name: str) -> tuple[float, float]:
    limits = as_float_array(limits, name, ndim=1)
    if limits.shape != (2,) or not limits[0] < limits[1]:
        raise ValueError(
            f"{name} must be (low, high) with low < high; got {limits}."
        )
    return float(limits[0]), float(limits[1])


def _as_path(path) -> np.ndarray:
    if isinstance(path, OptimizeResult):
        path = path.history.x
    path = as_float_array(path, "path", ndim=2)
    if path.shape[1] != 2 or path.shape[0] < 1:
        raise ValueError(
            f"path must have shape (n, 2) (one 2-D point per row); got {path.shape}."
        )
    return path


def _grid_values(fun, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``fun`` on the grid, vectorised when ``fun`` accepts an (n, 2) batch."""
    points = np.column_stack([X.ravel(), Y.ravel()])
    try:
        values = np.asarray(fun(points), dtype=float)
    except (TypeError, ValueError, IndexError):
        values = None
    if values is None or values.shape != (points.shape[0],):
        values = np.array([float(fun(p)) for p in points])
    return values.reshape(X.shape)


def plot_path(ax, path, *, label=None, color=None, marker="o", markersize=3.0,
              linewidth=1.2, show_ends=True):
    """Draw an optimisation path (the iterates joined by lines) on ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    path : array_like, shape (n, 2), or OptimizeResult
        The iterates; for a result, ``result.history.x``.
    label, color : optional
        Legend label and colour of the line.
    marker, markersize, linewidth : optional
        Line style.
    show_ends : bool
        Mark the start with a square and the last iterate with a star.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = plot_path(ax, [[1.0, 1.0], [0.5, -0.5], [0.0, 0.0]], label="GD")
    >>> plt.close(fig)
    """
    _check_ax(ax)
    path = _as_path(path)
    (line,) = ax.plot(path[:, 0], path[:, 1], marker=marker, markersize=markersize,
                      linewidth=linewidth, color=color, label=label)
    if show_ends:
        color = line.get_color()
        ax.plot(*path[0], marker="s", markersize=6, color=color, linestyle="none")
        ax.plot(*path[-1], marker="*", markersize=10, color=color, linestyle="none")
    return ax


def plot_contours(ax, fun: Callable, *, xlim, ylim, levels=15, num: int = 201,
                  path=None, path_label=None, path_color="C3", cmap="viridis",
                  equal_aspect=True, title=None, xlabel=r"$x_1$", ylabel=r"$x_2$"):
    """Contour lines of a 2-D function, optionally with an optimisation path.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    fun : callable
        ``fun(x)`` for ``x`` of shape (2,). If it also accepts a batch of shape
        (n, 2) and returns shape (n,) (as :meth:`ngd_lib.Quadratic.value` does), the
        grid is evaluated in one call; otherwise point by point.
    xlim, ylim : (float, float), keyword-only
        The plotted box.
    levels : int or sequence of float, keyword-only
        Explicit contour levels, or how many: an integer ``n`` puts the levels at
        ``n`` quantiles (1 % to 90 %) of the values on the grid, which spaces the
        lines evenly across the picture even when ``fun`` spans many orders of
        magnitude.
    num : int, keyword-only
        Grid points per axis.
    path : array_like (n, 2) or OptimizeResult, optional, keyword-only
        Drawn with :func:`plot_path`.
    path_label, path_color : optional, keyword-only
        Legend label and colour of the path.
    cmap : str, keyword-only
        Colour map of the contour lines.
    equal_aspect : bool, keyword-only
        Use the same scale on both axes, so that an ill-conditioned valley looks
        as narrow as it is.
    title, xlabel, ylabel : str, optional, keyword-only
        Labels; the title defaults to "Contours of f".

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a limit is not ``(low, high)`` with ``low < high`` or ``path`` is not
        (n, 2).
    TypeError
        If ``fun`` is not callable or ``ax`` is not an Axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = plot_contours(ax, lambda x: x @ x, xlim=(-1, 1), ylim=(-1, 1))
    >>> plt.close(fig)
    """
    _check_ax(ax)
    if not callable(fun):
        raise TypeError(f"fun must be callable; got {type(fun).__name__}.")
    x_low, x_high = _check_limits(xlim, "xlim")
    y_low, y_high = _check_limits(ylim, "ylim")
    num = check_int(num, "num", minimum=2)
    X, Y = np.meshgrid(np.linspace(x_low, x_high, num), np.linspace(y_low, y_high, num))
    Z = _grid_values(fun, X, Y)
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        count = check_int(int(levels), "levels", minimum=1)
        levels = np.unique(np.quantile(Z, np.linspace(0.01, 0.9, count)))
    else:
        levels = np.sort(as_float_array(levels, "levels", ndim=1))
    ax.contour(X, Y, Z, levels=levels, cmap=cmap, linewidths=0.8)
    if path is not None:
        plot_path(ax, path, label=path_label, color=path_color)
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    if equal_aspect:
        ax.set_aspect("equal", adjustable="box")
    ax.set_title("Contours of f" if title is None else title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def _as_series(values, name: str) -> dict:
    if isinstance(values, Mapping):
        return {label: as_float_array(v, name, ndim=1) for label, v in values.items()}
    return {None: as_float_array(values, name, ndim=1)}


def plot_iterations_vs_kappa(ax, kappas, iterations, theory=None, *,
                             label="measured", theory_label="theory", title=None):
    r"""Iterations to a tolerance against the condition number, on log-log axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    kappas : array_like, shape (m,)
        Condition numbers (> 0).
    iterations : array_like (m,) or dict of label -> array_like (m,)
        Measured iteration counts, drawn as markers; a dict draws one series per
        label (for example one per step-size rule).
    theory : array_like (m,) or dict of label -> array_like (m,), optional
        Predicted counts, drawn as lines in the matching colours (by order).
    label, theory_label : str, keyword-only
        Legend labels when ``iterations`` / ``theory`` are plain arrays.
    title : str, optional, keyword-only
        Defaults to "Iterations to tolerance vs condition number".

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a series does not have one entry per ``kappa`` or ``kappas`` is not
        positive.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = plot_iterations_vs_kappa(ax, [1, 10, 100], [1, 30, 300], [1, 29, 299])
    >>> plt.close(fig)
    """
    _check_ax(ax)
    kappas = as_float_array(kappas, "kappas", ndim=1)
    if np.any(kappas <= 0):
        raise ValueError(f"kappas must be positive for a log axis; got {kappas}.")
    measured = _as_series(iterations, "iterations")
    predicted = {} if theory is None else _as_series(theory, "theory")
    for name, series in (*measured.items(), *predicted.items()):
        if series.shape != kappas.shape:
            raise ValueError(
                f"each series must have one value per kappa ({kappas.size}); got "
                f"{series.size} for {name or 'a series'}."
            )
    colors = [f"C{i}" for i in range(10)]
    for i, (name, series) in enumerate(measured.items()):
        shown = np.maximum(series, 1)  # 0 iterations cannot sit on a log axis
        ax.plot(kappas, shown, "o", color=colors[i % 10],
                label=label if name is None else name)
    for i, (name, series) in enumerate(predicted.items()):
        ax.plot(kappas, np.maximum(series, 1), "-", color=colors[i % 10], alpha=0.8,
                label=theory_label if name is None else name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"condition number $\kappa$")
    ax.set_ylabel("iterations to tolerance")
    ax.set_title("Iterations to tolerance vs condition number" if title is None
                 else title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax


def plot_steepest_step(ax, g, A, eps, *, origin=(0.0, 0.0), label=None, color="C0",
                       show_gradient=True, title=None):
    r"""The ellipse :math:`\tfrac12\delta^\top A\delta = \epsilon^2` and the best step.

    Draws, around ``origin``, the constraint ellipse, the step
    :math:`\delta = -\lambda^{-1}A^{-1}g` from :func:`ngd_lib.steepest_descent_step`
    (an arrow in ``color``) and, if ``show_gradient``, the direction :math:`-g`
    scaled to the same length (a grey dashed arrow), so one sees how ``A`` turns the
    step away from the negative gradient.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    g : array_like, shape (2,)
        The gradient at ``origin`` (non-zero).
    A : array_like, shape (2, 2)
        Symmetric positive definite.
    eps : float
        The radius, ``> 0``.
    origin : (float, float), keyword-only
        Where the step starts (the current iterate).
    label : str, optional, keyword-only
        Legend label of the step.
    color : str, keyword-only
    show_gradient : bool, keyword-only
    title : str, optional, keyword-only
        Defaults to "Steepest step in the A-norm".

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        On the inputs :func:`ngd_lib.steepest_descent_step` rejects, or if they are
        not 2-D.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = plot_steepest_step(ax, [1.0, 1.0], np.diag([1.0, 4.0]), 0.5)
    >>> plt.close(fig)
    """
    _check_ax(ax)
    origin = as_float_array(origin, "origin", ndim=1)
    if origin.shape != (2,):
        raise ValueError(f"origin must have shape (2,); got {origin.shape}.")
    delta, _ = steepest_descent_step(g, A, eps)
    boundary = ellipse_points(A, eps) + origin
    g = np.asarray(g, dtype=float)
    ax.plot(boundary[:, 0], boundary[:, 1], color=color, linewidth=1.0, alpha=0.7)
    if show_gradient:
        minus_g = -g / np.linalg.norm(g) * np.linalg.norm(delta)
        ax.annotate("", xy=origin + minus_g, xytext=origin,
                    arrowprops={"arrowstyle": "->", "color": "0.4",
                                "linestyle": "--", "linewidth": 1.2})
    ax.annotate("", xy=origin + delta, xytext=origin,
                arrowprops={"arrowstyle": "-|>", "color": color, "linewidth": 1.8})
    # an invisible line carries the legend entry of the arrow
    ax.plot([], [], color=color, linewidth=1.8, label=label)
    ax.plot(*origin, "ko", markersize=4)
    ax.set_aspect("equal", adjustable="box")
    ax.set_title("Steepest step in the A-norm" if title is None else title)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    return ax


def plot_convergence(ax, results, *, quantity="grad_norm", title=None):
    """A quantity of the history against the iteration, on a log y-axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    results : OptimizeResult or dict of label -> OptimizeResult
    quantity : str, keyword-only
        A record of the history: ``"grad_norm"`` (default), ``"fun"`` or an extra.
    title : str, optional, keyword-only
        Defaults to "Convergence".

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If an entry is not an OptimizeResult.
    AttributeError
        If the history has no record ``quantity``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from ngd_lib import Quadratic, gradient_descent
    >>> q = Quadratic.with_condition_number(10.0)
    >>> res = gradient_descent(q.value, q.grad, [1.0, 1.0], lr=0.1)
    >>> fig, ax = plt.subplots()
    >>> ax = plot_convergence(ax, {"GD": res})
    >>> plt.close(fig)
    """
    _check_ax(ax)
    if isinstance(results, OptimizeResult):
        results = {None: results}
    for name, result in results.items():
        if not isinstance(result, OptimizeResult):
            raise TypeError(
                f"results must map labels to OptimizeResult; got "
                f"{type(result).__name__} for {name!r}."
            )
        values = np.asarray(getattr(result.history, quantity), dtype=float)
        ax.semilogy(np.arange(values.size), np.abs(values), label=name)
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel({"grad_norm": r"$\|\nabla f(x_t)\|$", "fun": r"$|f(x_t)|$"}.get(
        quantity, quantity))
    ax.set_title("Convergence" if title is None else title)
    ax.grid(True, which="major", alpha=0.3)
    if any(name is not None for name in results):
        ax.legend()
    return ax
