"""The result every optimiser in ``ngd_lib`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class History:
    """Per-iteration records of an optimiser run.

    Row ``t`` of every array describes the iterate after ``t`` steps (row 0 is the
    starting point), so each array has ``nit + 1`` rows. Each optimiser records a
    fixed set of ``extra`` columns whatever its options (a column an option does not
    use holds 0 or NaN), listed in its docstring.

    Attributes
    ----------
    x : ndarray, shape (nit + 1, d)
        The iterates.
    fun : ndarray, shape (nit + 1,)
        Objective values at the iterates.
    grad_norm : ndarray, shape (nit + 1,)
        Euclidean norms of the gradient at the iterates.
    extra : dict of str to ndarray
        Further per-iteration diagnostics (for example ``damping``, ``step_size``,
        ``cg_iterations``); also reachable as attributes, ``history.damping``.
    """

    x: np.ndarray
    fun: np.ndarray
    grad_norm: np.ndarray
    extra: dict = field(default_factory=dict)

    def __getattr__(self, name):
        extra = object.__getattribute__(self, "extra")
        if name in extra:
            return extra[name]
        raise AttributeError(
            f"History has no record {name!r}; it has x, fun, grad_norm"
            + "".join(f", {k}" for k in extra)
        )

    @classmethod
    def from_lists(cls, x, fun, grad_norm, **extra) -> History:
        """Build a history from per-iteration lists, freezing them as arrays."""
        arrays = {k: np.asarray(v) for k, v in extra.items()}
        for arr in (*arrays.values(),):
            arr.setflags(write=False)
        out = cls(np.asarray(x, dtype=float), np.asarray(fun, dtype=float),
                  np.asarray(grad_norm, dtype=float), arrays)
        for arr in (out.x, out.fun, out.grad_norm):
            arr.setflags(write=False)
        return out


@dataclass(frozen=True)
class OptimizeResult:
    """What an optimiser returns: scipy-like fields and the history.

    Attributes
    ----------
    x : ndarray
        The final parameters (always finite: a diverging run returns its last finite
        iterate).
    fun : float
        The objective at ``x``.
    nit : int
        The number of steps taken.
    success : bool
        True when the stopping tolerance was met within ``max_iter`` steps.
    message : str
        Why it stopped, in words.
    history : History
        Per-iteration arrays.
    status : str
        Why it stopped, as a short code that programs can read (the optimiser's
        docstring lists its codes, e.g. ``"converged"``, ``"max_iter"``,
        ``"diverged"``); ``""`` for optimisers that do not set one. Code reads
        ``status``, never ``message``.
    """

    x: np.ndarray
    fun: float
    nit: int
    success: bool
    message: str
    history: History
    status: str = ""

    def __repr__(self) -> str:
        return (
            f"OptimizeResult(success={self.success}, status={self.status!r}, "
            f"nit={self.nit}, fun={self.fun:.6g}, message={self.message!r})"
        )
