"""Input checks shared by the library.

Every check raises ``ValueError`` or ``TypeError`` with a message that names the
argument, shows the value it got and says how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np


def _show(value) -> str:
    """A short repr of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=6)
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_float_array(value, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float array, optionally of a given ``ndim``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be an array of real numbers; got {_show(value)} of type "
            f"{type(value).__name__}. Pass a list or a numpy array of floats."
        ) from None
    if ndim is not None and arr.ndim != ndim:
        kinds = {0: "a scalar", 1: "a 1-D vector", 2: "a 2-D matrix"}
        shape = kinds.get(ndim, f"{ndim}-D")
        raise ValueError(
            f"{name} must be {shape}; got an array of shape {arr.shape}. "
            f"Reshape it (e.g. np.ravel for a vector) before passing it."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains NaN or infinite values: {_show(arr)}. "
            "Remove or replace them before calling."
        )
    return arr


def check_square_symmetric(A: np.ndarray, name: str, *, rtol: float = 1e-10) -> None:
    """Raise unless ``A`` is a square symmetric matrix."""
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(
            f"{name} must be a square matrix; got shape {A.shape}. "
            "Pass a d x d array."
        )
    # relative to the largest entry, so a small matrix is judged like a large one
    scale = float(np.max(np.abs(A))) if A.size else 0.0
    if not np.allclose(A, A.T, rtol=0.0, atol=rtol * scale):
        raise ValueError(
            f"{name} must be symmetric; got {_show(A)}. "
            f"Use ({name} + {name}.T) / 2 if the asymmetry is round-off."
        )


def check_positive_definite(A: np.ndarray, name: str) -> None:
    """Raise unless the symmetric matrix ``A`` is positive definite."""
    check_square_symmetric(A, name)
    try:
        np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(A)[0])
        raise ValueError(
            f"{name} must be positive definite; its smallest eigenvalue is "
            f"{smallest:.3g}. Add a multiple of the identity (damping) or pick a "
            "positive-definite matrix."
        ) from None


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, raising unless it is a finite positive number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number; got {_show(value)} of type "
            f"{type(value).__name__}."
        )
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not np.isfinite(value) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}; got {value!r}.")
    return value


def check_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, raising unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer; got {_show(value)} of type "
            f"{type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}.")
    return int(value)


def check_choice(value, name: str, choices) -> str:
    """Raise unless ``value`` is one of ``choices``; the message lists them."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}.")
    return value


def as_rng(rng) -> np.random.Generator:
    """Return a numpy ``Generator`` from ``None``, a seed or a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be None, an integer seed or a numpy Generator; got {_show(rng)}. "
        "Use rng=np.random.default_rng(0)."
    )
