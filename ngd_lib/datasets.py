"""Small synthetic data sets of the chapters, generated reproducibly from a seed.

* :func:`kunstner_linear_regression`: the 1-D regression problem of Kunstner, Balles &
  Hennig (2019, Fig. 1), where the empirical Fisher misleads (chapter 4).
* :func:`two_gaussians`: Kristiadi's two-blob logistic-regression toy (chapter 5).
"""

from __future__ import annotations

import numpy as np

from ngd_lib._validation import _show, check_int, check_memory, check_positive

__all__ = ["KUNSTNER_THETA_TRUE", "kunstner_linear_regression", "two_gaussians"]

KUNSTNER_THETA_TRUE = np.array([2.0, 2.0])
"""The true (intercept, slope) of :func:`kunstner_linear_regression`."""


def _check_seed(seed) -> int:
    return check_int(seed, "seed", minimum=0)


def kunstner_linear_regression(
    n: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""The linear-regression data of Kunstner, Balles & Hennig (2019), Fig. 1.

    Inputs ``x_i = (1, u_i)`` with ``u_i ~ LogNormal(0, 0.75)`` (a column of ones for
    the intercept), targets

    .. math:: y_i = x_i^\top \theta_{\mathrm{true}} + \varepsilon_i, \quad
              \theta_{\mathrm{true}} = (2, 2), \quad \varepsilon_i \sim N(0, 1).

    The draws use numpy's legacy ``RandomState(seed)`` in the order of the authors'
    code (the log-normal column, then the noise), so ``seed=0`` gives the very data
    set of their figure.

    Parameters
    ----------
    n : int, optional
        Number of examples (>= 1).
    seed : int, optional
        Seed (>= 0) of the ``RandomState``.

    Returns
    -------
    X : numpy.ndarray, shape (n, 2)
        Columns: the constant 1, then ``u``.
    y : numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError, TypeError
        If ``n`` or ``seed`` is not a positive / non-negative integer, or ``n``
        asks for more than 2 GiB.

    References
    ----------
    Kunstner, F., Balles, L. & Hennig, P. (2019). Limitations of the empirical Fisher
    approximation for natural gradient descent. NeurIPS. Code:
    github.com/fKunstner/limitations-empirical-fisher (``gradient_field_problem``).

    Examples
    --------
    >>> X, y = kunstner_linear_regression(5, seed=0)
    >>> X.shape, y.shape
    ((5, 2), (5,))
    >>> bool(np.all(X[:, 0] == 1.0))
    True
    """
    n = check_int(n, "n", minimum=1)
    check_memory(4 * n, "n", what=f"{n} examples (X and y)")
    state = np.random.RandomState(_check_seed(seed))  # legacy: matches the paper's data
    u = state.lognormal(0.0, 0.75, (n, 1))
    X = np.hstack([np.ones((n, 1)), u])
    y = X @ KUNSTNER_THETA_TRUE + state.randn(n, 1)[:, 0]
    return X, y


def two_gaussians(
    n_per_class: int = 100, *, offset: float = 1.0, seed: int = 0, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs for logistic regression (Kristiadi 2018).

    Class 0 is ``N((-offset, -offset), I)``, class 1 is ``N((+offset, +offset), I)``,
    ``n_per_class`` points each; there is no intercept column (the classes are
    symmetric about the origin, so logistic regression without bias fits them).
    ``offset=1`` is the blog post's set-up; ``offset=2`` gives nearly separable data,
    where the empirical-Fisher NGD of the post produced NaNs.

    Parameters
    ----------
    n_per_class : int, optional
        Points per class (>= 1).
    offset : float, keyword-only, optional
        Distance of each blob centre from the origin along each axis (> 0).
    seed : int, keyword-only, optional
        Seed (>= 0) of ``numpy.random.default_rng``.
    shuffle : bool, keyword-only, optional
        Shuffle the rows (otherwise class 0 comes first).

    Returns
    -------
    X : numpy.ndarray, shape (2 n_per_class, 2)
    y : numpy.ndarray of int, shape (2 n_per_class,)
        Labels 0 and 1.

    Raises
    ------
    ValueError, TypeError
        If ``n_per_class`` or ``seed`` is not a positive / non-negative integer
        (or asks for more than 2 GiB), ``offset`` is not a finite number > 0, or
        ``shuffle`` is not a bool.

    Examples
    --------
    >>> X, y = two_gaussians(50, seed=1)
    >>> X.shape, int(y.sum())
    ((100, 2), 50)
    """
    n_per_class = check_int(n_per_class, "n_per_class", minimum=1)
    check_memory(8 * n_per_class, "n_per_class", what=f"2 x {n_per_class} examples")
    offset = check_positive(offset, "offset")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False; got {_show(shuffle)}.")
    rng = np.random.default_rng(_check_seed(seed))
    X = np.vstack(
        [
            rng.standard_normal((n_per_class, 2)) - offset,
            rng.standard_normal((n_per_class, 2)) + offset,
        ]
    )
    y = np.repeat([0, 1], n_per_class)
    if shuffle:
        order = rng.permutation(2 * n_per_class)
        X, y = X[order], y[order]
    return X, y
