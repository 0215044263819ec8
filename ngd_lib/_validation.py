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


#: Bytes one request may ask to allocate before it is refused with a ValueError that
#: says what it would need (2 GiB).
MAX_BYTES = 2 * 1024**3

_NOT_REAL = {"c": "complex", "b": "boolean", "U": "string", "S": "bytes",
             "M": "datetime", "m": "timedelta", "V": "structured"}


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:.3g} GiB"


def check_memory(n_items, name: str, *, what: str, itemsize: int = 8) -> None:
    """Raise ``ValueError`` if ``n_items`` values of ``itemsize`` bytes exceed
    :data:`MAX_BYTES`; the message names ``name`` and says what it would need."""
    n_items = int(n_items)
    if n_items * itemsize > MAX_BYTES:
        count = f"{n_items:.3g}" if n_items < 10**300 else "more than 1e300"
        need = _gib(n_items * itemsize) if n_items < 10**300 else "more than 1e290 GiB"
        raise ValueError(
            f"{name} asks for {what}: {count} numbers, {need} of memory, more than "
            f"the {_gib(MAX_BYTES)} this library allocates for one call. Use a "
            f"smaller {name}."
        )


def _entry_kind(entry) -> str | None:
    """Why an entry of an object array is not a real number (None if it is one)."""
    if entry is None:
        return "None"
    if isinstance(entry, (bool, np.bool_)):
        return "boolean"
    if isinstance(entry, (str, bytes)):
        return "string" if isinstance(entry, str) else "bytes"
    if isinstance(entry, numbers.Complex) and not isinstance(entry, numbers.Real):
        return "complex"
    if isinstance(entry, (complex, np.complexfloating)):
        return "complex"
    return None


def _not_real(value, name: str, kind: str) -> TypeError:
    if kind == "complex":
        return TypeError(
            f"{name} must be real; got complex {_show(value)}. Pass {name}.real if "
            "the imaginary part is round-off."
        )
    return TypeError(
        f"{name} must be an array of real numbers; got {_show(value)} of {kind} type "
        f"({type(value).__name__}). Pass a list or a numpy array of floats"
        + (" (use 0.0/1.0, not False/True)." if kind == "boolean" else
           ", not text (convert it with float(...) first)." if kind in
           ("string", "bytes") else ".")
    )


def _overflow(value, name: str) -> ValueError:
    return ValueError(
        f"{name} holds a number too large for floating point (beyond about 1.8e308): "
        f"{_show(value)}. Rescale it or pass a smaller value."
    )


def as_float_array(value, name: str, *, ndim: int | None = None,
                   finite: bool = True) -> np.ndarray:
    """Return ``value`` as a finite float array, optionally of a given ``ndim``.

    Integers and floats (and arrays of them) are accepted. Refused with
    ``TypeError``: complex numbers (even with a zero imaginary part: pass ``.real``),
    booleans (``True`` is not the number 1 here), strings and bytes (``"1.5"`` is
    not parsed), ``None`` and other objects. An object array is accepted only if
    every entry is a real number (e.g. ``fractions.Fraction`` or a SymPy number).
    A Python int too large for a float raises ``ValueError``, as do NaN and
    infinite entries (unless ``finite=False``, for values a caller checks itself).
    """
    if isinstance(value, (str, bytes)):
        raise _not_real(value, name, "string" if isinstance(value, str) else "bytes")
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
    except OverflowError:
        raise _overflow(value, name) from None
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be an array of real numbers; got {_show(value)} of type "
            f"{type(value).__name__} (rows of different lengths?). Pass a list or a "
            "numpy array of floats with a rectangular shape."
        ) from None
    kind = raw.dtype.kind
    if kind in _NOT_REAL:
        raise _not_real(value, name, _NOT_REAL[kind])
    if kind == "O":
        for entry in raw.flat:
            bad = _entry_kind(entry)
            if bad is not None:
                raise _not_real(value, name, bad)
    try:
        arr = raw.astype(float, copy=False) if kind != "f" or raw.dtype != float \
            else raw
    except OverflowError:
        raise _overflow(value, name) from None
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
    # the sum is finite only if every entry is (a NaN/inf makes it NaN/inf), and
    # costs no boolean temporary; only a non-finite sum needs the entrywise check
    if not finite:
        return arr
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains NaN or infinite values: {_show(arr)}. "
            "Remove or replace them before calling."
        )
    return arr


def check_square_symmetric(A: np.ndarray, name: str, *, rtol: float = 1e-10) -> None:
    """Raise unless ``A`` is a square symmetric matrix."""
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(
            f"{name} must be a square matrix of size at least 1 x 1; got shape "
            f"{A.shape}. Pass a d x d array."
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


def _scalar_type_error(value, name: str, what: str) -> TypeError:
    if isinstance(value, (complex, np.complexfloating)) or (
            isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real)):
        return _not_real(value, name, "complex")
    hint = ""
    if isinstance(value, (bool, np.bool_)):
        hint = " A boolean is not accepted as a number."
    elif isinstance(value, (str, bytes)):
        hint = " Text is not parsed: pass the number itself, e.g. 1.5, not '1.5'."
    elif isinstance(value, np.ndarray) and value.ndim:
        hint = f" Pass one number, not an array of shape {value.shape}."
    return TypeError(
        f"{name} must be {what}; got {_show(value)} of type {type(value).__name__}."
        + hint
    )


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, raising unless it is a finite positive number.

    Accepts Python and numpy real numbers (and 0-d real arrays); refuses booleans,
    complex numbers and strings with ``TypeError``, and NaN, infinities, numbers
    beyond the float range and non-positive values with ``ValueError``.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _scalar_type_error(value, name, "a real number")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(
            f"{name} = {_show(value)} is too large for floating point (beyond about "
            "1.8e308); pass a smaller number."
        ) from None
    ok = value >= 0 if allow_zero else value > 0
    if not np.isfinite(value) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}; got {value!r}.")
    return value


#: The largest integer :func:`check_int` accepts by default (numpy's int64 limit).
MAX_INT = 2**63 - 1


def check_int(value, name: str, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """Return ``value`` as an int, raising unless it is an integer in
    ``[minimum, maximum]``.

    Python and numpy integers are accepted. Floats are refused with ``TypeError``,
    whole ones included (``3.0``, ``1e4``): a count is an ``int``, as for ``range``;
    the message says to pass ``int(value)``. Booleans are refused too.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
                and float(value).is_integer()):
            raise TypeError(
                f"{name} must be an integer; got {_show(value)} of type "
                f"{type(value).__name__}. Pass int({value!r}) if you mean the whole "
                "number."
            )
        raise _scalar_type_error(value, name, "an integer")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}.")
    if value > maximum:
        raise ValueError(
            f"{name} must be <= {maximum}; got {_show(value)}. Pass a smaller "
            f"{name}."
        )
    return int(value)


def check_choice(value, name: str, choices) -> str:
    """Raise unless ``value`` is one of ``choices``; the message lists them."""
    valid = ", ".join(repr(c) for c in choices)
    # compare only values of a type among the choices' (an array's == is elementwise)
    if not any(isinstance(value, type(c)) for c in choices) or value not in choices:
        raise ValueError(f"{name} must be one of {valid}; got {_show(value)}.")
    return value


def as_rng(rng) -> np.random.Generator:
    """Return a numpy ``Generator`` from ``None``, a seed (an integer >= 0) or a
    ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(
                f"rng must be None, a seed >= 0 or a numpy Generator; got the negative "
                f"seed {_show(rng)}. Use a seed such as rng=0."
            )
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be None, an integer seed or a numpy Generator; got {_show(rng)} of "
        f"type {type(rng).__name__}. Use rng=np.random.default_rng(0)."
    )
