"""Vector fields in the plane and their flow lines (chapters 4 and 7).

A *field* is a function ``field(theta) -> direction`` from a point ``theta`` of shape
(2,) to a direction of shape (2,), e.g. ``lambda t: -np.linalg.solve(F(t), g(t))``
for natural gradient descent. :func:`evaluate_field` samples it on a grid (for a
quiver plot), :func:`integrate_flow` follows it from a starting point with small
Euler steps (the path that gradient descent with an infinitesimal step would take),
and :func:`plot_vector_field` draws both on a matplotlib ``ax``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ngd_lib._validation import (
    _show,
    as_float_array,
    check_int,
    check_memory,
    check_positive,
)

__all__ = ["evaluate_field", "integrate_flow", "plot_vector_field"]

Field = Callable[[np.ndarray], np.ndarray]


def _check_field(field) -> None:
    if not callable(field):
        raise TypeError(
            f"field must be callable, theta -> direction (both shape (2,)); got "
            f"{type(field).__name__}."
        )


def _direction(field: Field, theta: np.ndarray) -> np.ndarray:
    raw = field(theta)
    try:
        value = np.asarray(raw)
        kind = value.dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in "iuf":
        raise TypeError(
            f"field must return two real numbers; at theta={theta} it returned "
            f"{_show(raw)} of type {type(raw).__name__}"
            + (" (complex: return .real if the imaginary part is round-off)."
               if kind == "c" else ".")
        )
    value = value.astype(float, copy=False).reshape(-1)
    if value.shape != (2,):
        raise ValueError(
            f"field must return a direction of shape (2,); at theta={theta} it "
            f"returned shape {value.shape}."
        )
    return value


def _grid(values, name: str) -> np.ndarray:
    values = as_float_array(values, name, ndim=1)
    if values.size == 0:
        raise ValueError(
            f"{name} must hold at least one grid coordinate; got an empty array. "
            f"Use e.g. {name}=np.linspace(-1, 1, 15)."
        )
    return values


def evaluate_field(field: Field, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """The field on the grid ``xs x ys``, laid out for ``ax.quiver(xs, ys, U, V)``.

    Parameters
    ----------
    field : callable
        ``field(theta)`` for ``theta = (x, y)`` of shape (2,) returns shape (2,).
    xs, ys : array_like, 1-D
        Grid coordinates along the horizontal and vertical axis.

    Returns
    -------
    U, V : numpy.ndarray, shape (len(ys), len(xs))
        ``U[j, i], V[j, i] = field((xs[i], ys[j]))``.

    Raises
    ------
    TypeError
        If ``field`` is not callable or returns something other than real numbers.
    ValueError
        If the grid is empty, not 1-D or not finite, would need more than 2 GiB,
        or ``field`` returns the wrong shape.

    Examples
    --------
    >>> U, V = evaluate_field(lambda t: -t, [0.0, 1.0], [2.0])
    >>> U.tolist(), V.tolist()
    ([[-0.0, -1.0]], [[-2.0, -2.0]])
    """
    _check_field(field)
    xs = _grid(xs, "xs")
    ys = _grid(ys, "ys")
    check_memory(2 * xs.size * ys.size, "xs, ys", what="a grid of len(xs) x len(ys) "
                 "directions")
    values = np.array([[_direction(field, np.array([x, y])) for x in xs] for y in ys])
    return values[..., 0], values[..., 1]


def integrate_flow(field: Field, start, *, step: float, n_steps: int) -> np.ndarray:
    r"""Follow the flow ``d theta / dt = field(theta)`` from ``start`` with Euler steps.

    .. math:: \theta_{t+1} = \theta_t + h\, \mathrm{field}(\theta_t)

    with ``h = step``.

    With ``field = -gradient`` this is gradient descent with learning rate ``h``; as
    ``h -> 0`` (with ``h * n_steps`` fixed) the path tends to the continuous flow line.
    The integration stops early, returning the finite part of the path, if the field
    returns a non-finite value or the iterate overflows.

    Parameters
    ----------
    field : callable
        ``field(theta)``, shape (2,) to shape (2,).
    start : array_like, shape (2,)
    step : float, keyword-only
        Euler step ``h > 0``.
    n_steps : int, keyword-only
        Number of steps (>= 1).

    Returns
    -------
    numpy.ndarray, shape (m + 1, 2)
        The path, ``m = n_steps`` unless it stopped early.

    Raises
    ------
    TypeError, ValueError
        For a non-callable field (or one returning non-real values), a start that
        is not a finite 2-vector, a non-positive step or step count, or a step
        count whose path would need more than 2 GiB.

    Examples
    --------
    >>> path = integrate_flow(lambda t: -t, [1.0, 2.0], step=0.5, n_steps=2)
    >>> path.tolist()
    [[1.0, 2.0], [0.5, 1.0], [0.25, 0.5]]
    """
    _check_field(field)
    start = as_float_array(start, "start", ndim=1)
    if start.shape != (2,):
        raise ValueError(f"start must have shape (2,); got shape {start.shape}.")
    step = check_positive(step, "step")
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    check_memory(2 * (n_steps + 1), "n_steps", what=f"a path of {n_steps} + 1 points")
    path = np.empty((n_steps + 1, 2))
    path[0] = start
    for t in range(n_steps):
        with np.errstate(all="ignore"):  # a diverging flow is reported by truncation
            direction = _direction(field, path[t])
            path[t + 1] = path[t] + step * direction
        if not np.all(np.isfinite(path[t + 1])):
            return path[: t + 1].copy()
    return path


def plot_vector_field(
    ax,
    xs,
    ys,
    U,
    V,
    *,
    paths: Sequence = (),
    normalize: bool = False,
    scale: float | None = None,
    color: str = "0.35",
    path_color: str = "C3",
    title: str | None = None,
    xlabel: str = r"$\theta_1$",
    ylabel: str = r"$\theta_2$",
):
    """Draw a field as arrows (quiver) and flow lines with start and end markers.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    xs, ys : array_like, 1-D
        Grid coordinates, as given to :func:`evaluate_field`.
    U, V : array_like, shape (len(ys), len(xs))
        The field on the grid.
    paths : sequence of array_like (m, 2), keyword-only
        Flow lines (e.g. from :func:`integrate_flow`); each gets a hexagon at its
        start and a star at its end.
    normalize : bool, keyword-only
        Draw every arrow with the same length (shows directions only).
    scale : float, optional, keyword-only
        Passed to ``ax.quiver`` (larger means shorter arrows); ``None`` lets
        matplotlib choose.
    color, path_color : str, keyword-only
        Colours of the arrows and the flow lines.
    title, xlabel, ylabel : str, keyword-only
        Labels.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``U`` or ``V`` do not have shape (len(ys), len(xs)) or a path is not (m, 2).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> xs = ys = np.linspace(-1, 1, 5)
    >>> U, V = evaluate_field(lambda t: -t, xs, ys)
    >>> path = integrate_flow(lambda t: -t, [1.0, 0.5], step=0.1, n_steps=30)
    >>> ax = plot_vector_field(ax, xs, ys, U, V, paths=[path], title="-theta")
    >>> plt.close(fig)
    """
    if not hasattr(ax, "quiver"):
        raise TypeError(
            f"ax must be a matplotlib Axes; got {type(ax).__name__}. "
            "Create one with fig, ax = plt.subplots()."
        )
    xs = _grid(xs, "xs")
    ys = _grid(ys, "ys")
    U = as_float_array(U, "U", ndim=2)
    V = as_float_array(V, "V", ndim=2)
    for name, arr in (("U", U), ("V", V)):
        if arr.shape != (ys.size, xs.size):
            raise ValueError(
                f"{name} must have shape (len(ys), len(xs)) = ({ys.size}, {xs.size}); "
                f"got {arr.shape}. Use evaluate_field(field, xs, ys)."
            )
    if normalize:
        length = np.hypot(U, V)
        length[length == 0] = 1.0
        U, V = U / length, V / length
    ax.quiver(
        xs,
        ys,
        U,
        V,
        angles="xy",
        scale=scale,
        color=color,
        width=0.005,
        headwidth=4,
        headlength=3,
    )
    if isinstance(paths, np.ndarray) and paths.ndim == 2:
        raise TypeError(
            "paths must be a sequence of (m, 2) arrays; got one array of shape "
            f"{paths.shape}. Pass paths=[path]."
        )
    try:
        paths = list(paths)
    except TypeError:
        raise TypeError(
            f"paths must be a sequence of (m, 2) arrays; got {_show(paths)}. Pass "
            "paths=[path] for one flow line."
        ) from None
    for path in paths:
        path = as_float_array(path, "path", ndim=2)
        if path.shape[1] != 2 or path.shape[0] < 1:
            raise ValueError(f"each path must have shape (m, 2); got {path.shape}.")
        ax.plot(path[:, 0], path[:, 1], color=path_color, linewidth=2.5, alpha=0.9)
        ax.plot(*path[0], marker="h", color="k", markersize=6, linestyle="none")
        ax.plot(*path[-1], marker="*", color="k", markersize=9, linestyle="none")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    if title is not None:
        ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
