r"""Families of distributions in SymPy: expectations, Fisher matrices and KL expansions.

A :class:`Family` is a log-density (or log-mass function) ``log p(x; theta)`` written as
a SymPy expression in a sample symbol ``x`` and parameter symbols ``theta``, together
with its support: a SymPy ``Interval`` (expectations are integrals) or a ``Range``
(expectations are sums, infinite ones included). From it this module computes, in
closed form,

* the expectation :math:`\mathbb{E}_{x\sim p_\theta}[g(x)]` (:func:`expectation`),
* the Fisher matrix :math:`F(\theta) = \mathbb{E}[\nabla\log p\,
  \nabla\log p^\top] = -\mathbb{E}[\nabla^2\log p]` (:func:`fisher`),
* the KL divergence :math:`\operatorname{KL}(p_{\theta_p}\,\Vert\,p_{\theta_q})`
  (:func:`kl`), its Hessian at :math:`\delta = 0` (:func:`kl_hessian`) and its Taylor
  series along a direction (:func:`kl_series`).

Built-in families: :func:`bernoulli`, :func:`normal` (in :math:`\mu, \sigma`),
:func:`poisson`, :func:`exponential` (rate :math:`\lambda`) and :func:`categorical`;
any other family works through :class:`Family`, and :func:`reparameterize` rewrites a
family in new parameters.

When SymPy cannot do an expectation (the result keeps an unevaluated ``Integral`` or
``Sum``, or a convergence condition that the parameter domains do not decide, or the
computation runs past ``timeout`` seconds), an :class:`ExpectationError` says so; a
closed form is never guessed.

References
----------
Lin, X. (2019). Natural gradient descent, CMU 10-703 recitation, pages "Fisher
Information Matrix" and "Detailed derivation". Amari, S. (1998). Natural gradient works
efficiently in learning. Neural Computation 10(2).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from ngd_lib._validation import check_choice, check_int, check_positive

__all__ = [
    "ExpectationError",
    "Family",
    "expectation",
    "fisher",
    "kl",
    "kl_hessian",
    "kl_series",
    "integral_of_pdf_hessian",
    "reparameterize",
    "bernoulli",
    "normal",
    "poisson",
    "exponential",
    "categorical",
    "DEFAULT_TIMEOUT",
    "MAX_CATEGORIES",
]

#: Seconds one public call may spend in SymPy before :class:`ExpectationError`.
DEFAULT_TIMEOUT = 60.0

#: The largest number of classes :func:`categorical` builds.
MAX_CATEGORIES = 100

FISHER_METHODS = ("score", "hessian")


class ExpectationError(ValueError):
    """SymPy could not compute an expectation in closed form (or not in time)."""


# --------------------------------------------------------------------------- Family
@dataclass(frozen=True)
class Family:
    r"""A parametric family of distributions given by its log-density.

    .. math:: \log p(x;\theta), \qquad x \in \text{support},\ \theta \in
       \text{domain}

    Parameters
    ----------
    x : sympy.Symbol
        The sample symbol.
    params : tuple of sympy.Symbol
        The parameter symbols :math:`\theta = (\theta_1, \dots, \theta_d)`. Give
        them SymPy assumptions (``real=True``, ``positive=True``) so that results
        simplify and convergence conditions can be decided.
    log_pdf : sympy.Expr
        :math:`\log p(x;\theta)`, an expression in ``x`` and ``params`` only,
        normalised over the support (not checked; ``expectation(family, 1)`` checks it).
    support : sympy.Interval or sympy.Range
        Where ``x`` lives: an ``Interval`` with numeric (or infinite) ends means a
        density (expectations are integrals), a ``Range`` means a mass function
        (expectations are sums; an infinite ``Range`` needs step 1). Supports that
        depend on the parameters are not allowed (such families are not regular).
    param_domains : mapping of Symbol to sympy.Set, optional, keyword-only
        Bounds that SymPy's assumptions cannot express, such as ``p < 1`` for a
        probability: ``{p: sp.Interval.open(0, 1)}``. Parameters without an entry get
        their domain from their assumptions (positive -> (0, oo), real -> the reals).
        Used only to decide convergence conditions of sums and integrals.
    name : str, optional, keyword-only
        A name used in messages.

    Raises
    ------
    TypeError
        If ``x`` or a parameter is not a Symbol, ``log_pdf`` is not an expression,
        or ``support`` is neither an ``Interval`` nor a ``Range``.
    ValueError
        If ``params`` is empty or repeats a symbol, ``x`` is a parameter, ``log_pdf``
        contains other symbols, NaN, an infinity or the imaginary unit, the support
        is empty, symbolic, an infinite ``Range`` with step other than 1, or wider
        than the values the assumptions of ``x`` allow (a ``positive=True`` ``x``
        over all of R: SymPy would use ``x > 0`` inside the integral and return
        wrong expectations), or ``param_domains`` names a non-parameter.

    Examples
    --------
    A geometric distribution (failures before the first success) on 0, 1, 2, ...:

    >>> import sympy as sp
    >>> x = sp.Symbol("x", integer=True, nonnegative=True)
    >>> p = sp.Symbol("p", positive=True)
    >>> geometric = Family(x, (p,), sp.log(p) + x * sp.log(1 - p), sp.Range(0, sp.oo),
    ...                    param_domains={p: sp.Interval.open(0, 1)})
    >>> fisher(geometric)
    Matrix([[-1/(p**2*(p - 1))]])
    """

    x: sp.Symbol
    params: tuple
    log_pdf: sp.Expr
    support: sp.Set
    param_domains: tuple = field(default=(), kw_only=True)
    name: str = field(default="family", kw_only=True)

    def __post_init__(self):
        if not isinstance(self.x, sp.Symbol):
            raise TypeError(
                f"x must be a sympy Symbol; got {self.x!r} of type "
                f"{type(self.x).__name__}. Use x = sp.Symbol('x', real=True)."
            )
        params = self.params
        if isinstance(params, sp.Symbol):
            params = (params,)
        if not isinstance(params, Sequence) or isinstance(params, str):
            raise TypeError(
                f"params must be a tuple of sympy Symbols; got {params!r}. "
                "Use params=(mu, sigma)."
            )
        params = tuple(params)
        if not params:
            raise ValueError("params must hold at least one parameter symbol; got ().")
        for p in params:
            if not isinstance(p, sp.Symbol):
                raise TypeError(
                    f"each parameter must be a sympy Symbol; got {p!r} of type "
                    f"{type(p).__name__}. Use sp.Symbol('theta', real=True)."
                )
        if len(set(params)) != len(params):
            raise ValueError(f"params must not repeat a symbol; got {params}.")
        if self.x in params:
            raise ValueError(
                f"the sample symbol x={self.x} must not be a parameter; got "
                f"params={params}. Use different symbols for the sample and the "
                "parameters."
            )
        object.__setattr__(self, "params", params)

        try:
            log_pdf = sp.sympify(self.log_pdf, strict=True)
        except sp.SympifyError:
            raise TypeError(
                f"log_pdf must be a sympy expression; got {self.log_pdf!r} of type "
                f"{type(self.log_pdf).__name__}."
            ) from None
        if not isinstance(log_pdf, sp.Expr):
            raise TypeError(
                f"log_pdf must be a sympy expression; got {log_pdf!r} of type "
                f"{type(log_pdf).__name__}."
            )
        _check_finite_expr(log_pdf, "log_pdf")
        if log_pdf.has(sp.I):
            raise ValueError(
                f"log_pdf must be a real expression; got {log_pdf}, which contains the "
                "imaginary unit I (a log of a negative number?). Check the density "
                "and the parameter substitutions."
            )
        extra = log_pdf.free_symbols - {self.x, *params}
        if extra:
            names = ", ".join(sorted(str(s) for s in extra))
            raise ValueError(
                f"log_pdf may depend only on x={self.x} and params={params}; it also "
                f"contains {names}. Add them to params or substitute numbers for them."
            )
        object.__setattr__(self, "log_pdf", log_pdf)
        _check_support(self.support)
        _check_support_fits_symbol(self.support, self.x)
        object.__setattr__(
            self, "param_domains", _normalise_domains(self.param_domains, params)
        )
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string; got {self.name!r}.")

    # -- derived quantities
    @cached_property
    def pdf(self) -> sp.Expr:
        r"""The density or mass function :math:`p(x;\theta) = \exp\log p`.

        Each term :math:`c\log b` of ``log_pdf`` becomes the power :math:`b^c` (the
        definition of a power, so exact); SymPy sums and integrates that form far
        more readily than :math:`\exp(c\log b)`.
        """
        powers, rest = [], []
        for term in sp.Add.make_args(self.log_pdf):
            logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
            if len(logs) == 1:
                coefficient = term / logs[0]
                powers.append(logs[0].args[0] ** coefficient)
            else:
                rest.append(term)
        return sp.Mul(*powers) * sp.exp(sp.Add(*rest))

    def score(self) -> sp.Matrix:
        r"""The score :math:`\nabla_\theta \log p(x;\theta)` as a d x 1 Matrix."""
        return sp.Matrix([sp.diff(self.log_pdf, p) for p in self.params])

    def hessian_log_pdf(self) -> sp.Matrix:
        r"""The Hessian :math:`\nabla^2_\theta \log p(x;\theta)`, a d x d Matrix."""
        return sp.hessian(self.log_pdf, self.params)

    def domain(self, symbol: sp.Symbol) -> sp.Set | None:
        """The set of values of a parameter: its ``param_domains`` entry or the set
        its assumptions give; ``None`` when nothing is known (a complex symbol)."""
        return dict(self.param_domains).get(symbol, _domain_from_assumptions(symbol))

    @property
    def is_discrete(self) -> bool:
        """True when the support is a ``Range`` (a mass function)."""
        return isinstance(self.support, sp.Range)


def _check_support(support) -> None:
    if not isinstance(support, (sp.Interval, sp.Range)):
        raise TypeError(
            f"support must be a sympy Interval (densities) or Range (mass functions); "
            f"got {support!r} of type {type(support).__name__}. Use, e.g., "
            "sp.Interval(-sp.oo, sp.oo) or sp.Range(0, sp.oo)."
        )
    if support.free_symbols:
        raise ValueError(
            f"support must not depend on symbols; got {support}. Families whose "
            "support moves with the parameters are not regular (their Fisher "
            "matrix is not the KL Hessian)."
        )
    if isinstance(support, sp.Range):
        if support.size == 0:
            raise ValueError(
                f"support must not be empty; got {support!r}. Use, e.g., sp.Range(2) "
                "for {0, 1}."
            )
        if not support.is_finite_set and support.step != 1:
            raise ValueError(
                f"an infinite Range support must have step 1; got {support}. "
                "Reparameterise x so that it counts 0, 1, 2, ...."
            )


def _values_allowed(x: sp.Symbol) -> sp.Set | None:
    """The real values the assumptions of ``x`` allow (None: no real assumption)."""
    if x.is_integer:
        base = sp.S.Integers
    elif x.is_real:
        base = sp.S.Reals
    else:
        return None
    if x.is_positive:
        base = base.intersect(sp.Interval.open(0, sp.oo))
    elif x.is_nonnegative:
        base = base.intersect(sp.Interval(0, sp.oo))
    elif x.is_negative:
        base = base.intersect(sp.Interval.open(-sp.oo, 0))
    elif x.is_nonpositive:
        base = base.intersect(sp.Interval(-sp.oo, 0))
    return base


def _value_fits(value, x: sp.Symbol) -> bool:
    """Whether the number ``value`` is consistent with every assumption of ``x``."""
    value = sp.sympify(value)
    for key, wanted in x.assumptions0.items():
        have = getattr(value, f"is_{key}", None)
        if have is not None and wanted is not None and have != wanted:
            return False
    return True


def _check_support_fits_symbol(support, x: sp.Symbol) -> None:
    """Raise unless the support lies where the assumptions of ``x`` allow.

    SymPy uses those assumptions inside the integral or sum (``Abs(x)`` becomes
    ``x`` for a positive ``x``), so a support wider than them gives wrong
    expectations, not an error. A density's endpoints do not matter (a positive
    ``x`` may integrate over ``[0, oo)``).
    """
    allowed = _values_allowed(x)
    if isinstance(support, sp.Range) and support.is_finite_set:
        bad = [v for v in support if not _value_fits(v, x)]
        fits = not bad
    elif allowed is None:
        fits = True
    else:
        target = allowed.closure if isinstance(support, sp.Interval) else allowed
        fits = support.is_subset(target) is True
    if not fits:
        flags = ", ".join(f"{k}=True" for k, v in sorted(x.assumptions0.items())
                          if v is True and k in ("integer", "real", "positive",
                                                 "nonnegative", "negative",
                                                 "nonpositive", "even", "odd"))
        raise ValueError(
            f"support {support} is wider than the values the sample symbol "
            f"x={x} may take ({flags or 'its assumptions'}): SymPy would apply those "
            "assumptions inside the integral or sum (e.g. Abs(x) -> x) and give wrong "
            "expectations. Give x assumptions that hold on the whole support, e.g. "
            f"sp.Symbol('{x.name}', real=True), or narrow the support."
        )


def _normalise_domains(domains, params) -> tuple:
    if isinstance(domains, Mapping):
        items = domains.items()
    else:
        try:
            items = [tuple(pair) for pair in domains]
        except TypeError:
            items = None
        if items is None or any(len(pair) != 2 for pair in items):
            raise TypeError(
                f"param_domains must be a dict {{symbol: sympy Set}}; got {domains!r}."
            )
    out = []
    for symbol, dom in items:
        if symbol not in params:
            raise ValueError(
                f"param_domains names {symbol!r}, which is not one of the params "
                f"{params}. Give domains only for parameters."
            )
        if not isinstance(dom, sp.Set):
            raise TypeError(
                f"the domain of {symbol} in param_domains must be a sympy Set such as "
                f"sp.Interval.open(0, 1); got {dom!r}."
            )
        out.append((symbol, dom))
    return tuple(sorted(out, key=lambda pair: params.index(pair[0])))


def _domain_from_assumptions(symbol: sp.Symbol) -> sp.Set | None:
    if symbol.is_positive:
        return sp.Interval.open(0, sp.oo)
    if symbol.is_nonnegative:
        return sp.Interval(0, sp.oo)
    if symbol.is_negative:
        return sp.Interval.open(-sp.oo, 0)
    if symbol.is_nonpositive:
        return sp.Interval(-sp.oo, 0)
    if symbol.is_real:
        return sp.S.Reals
    return None


def _check_family(family) -> Family:
    if not isinstance(family, Family):
        raise TypeError(
            f"family must be a symbolic.Family; got {type(family).__name__}. Build one "
            "with Family(x, params, log_pdf, support) or use symbolic.normal() etc."
        )
    return family


def _as_expr(value, name: str) -> sp.Expr:
    try:
        expr = sp.sympify(value, strict=True)
    except sp.SympifyError:
        raise TypeError(
            f"{name} must be a sympy expression or a number; got {value!r} of type "
            f"{type(value).__name__}."
        ) from None
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"{name} must be a sympy expression; got {expr!r}.")
    _check_finite_expr(expr, name)
    return expr


def _check_finite_expr(expr: sp.Expr, name: str) -> None:
    """Raise if ``expr`` holds NaN or an infinity (SymPy would carry them along)."""
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(
            f"{name} = {expr} holds NaN or an infinity; pass a finite expression."
        )


def _check_real_entries(values: tuple, name: str) -> tuple:
    """Raise if a number in ``values`` is not real (a complex direction or
    parameter value has no meaning for a family of real parameters)."""
    for i, value in enumerate(values):
        if value.is_real is False or (value.is_number and value.has(sp.I)):
            raise ValueError(
                f"{name}[{i}] = {value} is not real; the parameters are real, so "
                f"pass a real number (use sp.re({name}[{i}]) if the imaginary part "
                "is round-off)."
            )
    return values


def _as_theta(theta, family: Family, name: str) -> tuple:
    if isinstance(theta, (str, sp.Basic)) or not isinstance(theta, Sequence):
        raise TypeError(
            f"{name} must be a tuple of {len(family.params)} expressions, one per "
            f"parameter {family.params}; got {theta!r}."
        )
    if len(theta) != len(family.params):
        raise ValueError(
            f"{name} must have one entry per parameter {family.params} "
            f"({len(family.params)}); got {len(theta)} entries: {tuple(theta)}."
        )
    return tuple(_as_expr(value, f"{name}[{i}]") for i, value in enumerate(theta))


def _reads_negative(coefficient: sp.Expr) -> bool:
    """Whether ``-coefficient`` reads better: its numerator's constant term (or, if
    none, its leading numeric factor) is negative, so 1 - p stays and -1 flips."""
    numerator = sp.fraction(sp.together(coefficient))[0]
    constant = numerator.as_coeff_Add()[0]
    if constant != 0:
        return bool(constant.is_negative)
    return bool(sp.expand(numerator).as_ordered_terms()[0].as_coeff_Mul()[0] < 0)


def _check_in_domain(theta: tuple, family: Family, name: str) -> tuple:
    """Raise if a numeric entry of ``theta`` lies outside its parameter's domain."""
    for i, (value, param) in enumerate(zip(theta, family.params, strict=True)):
        dom = family.domain(param)
        if value.is_number and dom is not None and dom.contains(value) == sp.false:
            raise ValueError(
                f"{name}[{i}] = {value} is outside the domain {dom} of the parameter "
                f"{param} of {family.name}. Pick a value inside it."
            )
    return theta


# ------------------------------------------------------------------- time limit
_timer_active = threading.local()


class _TimeUp(Exception):
    pass


def _has_interval_timer() -> bool:
    """SIGALRM and a real-time interval timer exist (not so in Pyodide or Windows)."""
    names = ("SIGALRM", "setitimer", "ITIMER_REAL")
    return all(hasattr(signal, name) for name in names)


@contextlib.contextmanager
def _time_limit(seconds, what: str):
    """Raise ExpectationError if the block runs longer than ``seconds``.

    Uses SIGALRM and ``signal.setitimer``, so it works in the main thread on Unix
    (scripts, pytest, Jupyter kernels). Where either is missing (Windows; Pyodide in
    the browser, which has SIGALRM but no ``setitimer``), off the main thread, or when
    an outer call already holds the timer, the block runs without a limit.
    A timer the caller armed (``signal.alarm``, e.g. a grader's per-cell limit) keeps
    its deadline: the limit here never outlasts it, and it is re-armed afterwards
    with the time it has left (or fires at once if that time has run out).
    """
    usable = (
        seconds is not None
        and _has_interval_timer()
        and threading.current_thread() is threading.main_thread()
        and not getattr(_timer_active, "on", False)
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    _timer_active.on = True
    limit = float(seconds) if outer_delay == 0 else min(float(seconds), outer_delay)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    except _TimeUp:
        raise ExpectationError(
            f"SymPy did not finish {what} within timeout={seconds} s. The integral or "
            "sum may have no closed form SymPy knows; give the symbols assumptions "
            "(positive=True, ...), simplify log_pdf, or pass a larger timeout."
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _timer_active.on = False
        if outer_delay > 0:
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), outer_interval)


def _check_timeout(timeout):
    """``None`` (no limit) or a positive number of seconds; ``inf`` and limits
    beyond a year mean no limit (an interval timer cannot hold them)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None; got {timeout!r}."
        )
    if timeout >= 3.2e7:  # a year or more (inf, 10**400): no limit
        return None
    try:
        timeout = check_positive(timeout, "timeout")
    except TypeError:
        raise TypeError(
            f"timeout must be a number of seconds or None; got {timeout!r}."
        ) from None
    except ValueError:
        raise ValueError(
            f"timeout must be > 0 seconds (or None); got {timeout!r}."
        ) from None
    return timeout if timeout < 3.2e7 else None


# ----------------------------------------------------------------- expectations
def expectation(family: Family, expr, *, timeout: float | None = DEFAULT_TIMEOUT):
    r"""The expectation :math:`\mathbb{E}_{x\sim p_\theta}[g(x)]` in closed form.

    .. math:: \mathbb{E}[g] = \int g(x)\,p(x;\theta)\,dx \quad\text{or}\quad
       \sum_{x} g(x)\,p(x;\theta).

    How it is computed: over a finite ``Range`` the sum is written out term by term;
    otherwise, when ``g`` is a polynomial in ``x``, by linearity from the moments
    :math:`\mathbb{E}[x^n]` (each integrated or summed once and cached; exact, and much
    faster for the Gaussian); else by integrating or summing ``g p`` directly.
    Piecewise results (convergence conditions) keep the branch whose condition the
    parameter domains decide to be true.

    Parameters
    ----------
    family : Family
    expr : sympy expression or number
        :math:`g(x)`; it may contain the parameters and other symbols (held fixed).
    timeout : float or None, optional, keyword-only
        Seconds SymPy may take (see :data:`DEFAULT_TIMEOUT`); ``None`` for no limit.

    Returns
    -------
    sympy.Expr
        The simplified expectation.

    Raises
    ------
    ExpectationError
        If SymPy leaves an ``Integral`` or ``Sum`` unevaluated, returns a convergence
        condition the parameter domains do not decide, the result is infinite, or the
        computation takes longer than ``timeout``.
    TypeError
        If ``family`` is not a Family or ``expr`` not an expression.

    Examples
    --------
    >>> family = normal()
    >>> mu, sigma = family.params
    >>> expectation(family, (family.x - mu) ** 2)
    sigma**2
    """
    _check_family(family)
    expr = _as_expr(expr, "expr")
    timeout = _check_timeout(timeout)
    with _time_limit(timeout, f"E[{expr}] under {family.name}"):
        _require_normalised(family)
        return _expectation(family, expr, ())


@functools.lru_cache(maxsize=256)
def _require_normalised(family: Family) -> None:
    """Raise unless the density sums or integrates to 1 for every parameter value.

    An unnormalised ``log_pdf`` would still give closed forms, but wrong ones (its
    score is off by the gradient of the log normaliser), so they are refused.
    """
    total = _expectation(family, sp.Integer(1), ())
    if sp.simplify(total - 1) != 0:
        kind = "sum" if family.is_discrete else "integral"
        raise ValueError(
            f"the density of {family.name} is not normalised: its {kind} over the "
            f"support is {total}, not 1, so its Fisher matrix and KL would be wrong. "
            f"Subtract log({total}) from log_pdf."
        )


@functools.lru_cache(maxsize=1024)
def _expectation(family: Family, expr: sp.Expr, extra_domains: tuple) -> sp.Expr:
    x = family.x
    what = f"E[{expr}] under {family.name}"
    if family.is_discrete and family.support.is_finite_set:
        terms = [(expr * family.pdf).subs(x, value) for value in family.support]
        total = sp.Add(*terms)
    else:
        expanded = sp.expand(expr)
        if expanded.is_polynomial(x):
            coeffs = sp.Poly(expanded, x).as_dict()
            total = sp.Add(
                *[c * _moment(family, n) for (n,), c in coeffs.items()]
            )
        else:
            total = _integrate_over_support(family, expanded * family.pdf)
    total = _resolve(total, family, extra_domains, what)
    return _finite_or_raise(sp.simplify(total), what)


@functools.lru_cache(maxsize=256)
def _moment(family: Family, n: int) -> sp.Expr:
    what = f"the moment E[{family.x}**{n}] under {family.name}"
    value = _integrate_over_support(family, family.x**n * family.pdf)
    value = sp.simplify(_resolve(value, family, (), what))
    return _finite_or_raise(value, what)


def _integrate_over_support(family: Family, integrand: sp.Expr) -> sp.Expr:
    x, support = family.x, family.support
    if family.is_discrete:
        if support.is_finite_set:
            return sp.Add(*[integrand.subs(x, value) for value in support])
        return sp.summation(integrand, (x, support.inf, support.sup))
    return sp.integrate(integrand, (x, support.inf, support.sup))


def _finite_or_raise(value: sp.Expr, what: str) -> sp.Expr:
    if value.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        raise ExpectationError(
            f"{what} is not finite (SymPy gives {value}). The expectation does not "
            "exist for this family; check log_pdf and the support."
        )
    return value


def _resolve(value: sp.Expr, family: Family, extra_domains: tuple, what: str):
    """Pick Piecewise branches by the parameter domains; refuse what is left open."""
    domains = {p: family.domain(p) for p in family.params}
    domains.update(dict(extra_domains))

    def choose(*pairs):
        for pair in pairs:
            decided = _decide(pair.cond, domains)
            if decided is True:
                return pair.expr
            if decided is None:
                raise ExpectationError(
                    f"could not compute {what}: SymPy's answer depends on the "
                    f"condition {pair.cond}, which the parameter domains do not "
                    f"decide. Give the symbols assumptions (e.g. "
                    "sp.Symbol('sigma', positive=True)) or bounds through "
                    "Family(..., param_domains={p: sp.Interval.open(0, 1)})."
                )
        raise ExpectationError(
            f"could not compute {what}: no branch of SymPy's Piecewise answer holds "
            "on the parameter domains."
        )

    value = value.replace(sp.Piecewise, choose)
    if value.has(sp.Integral, sp.Sum):
        kind = "integral" if value.has(sp.Integral) else "sum"
        raise ExpectationError(
            f"could not compute {what}: SymPy leaves the {kind} unevaluated "
            f"({value}). It may have no closed form; assumptions on the symbols "
            "(positive=True, integer=True, ...) or a simpler log_pdf can help."
        )
    return value


def _decide(cond, domains: dict):
    """True/False if ``cond`` holds/fails on all of its symbol's domain, else None."""
    if cond in (sp.true, sp.false):
        return bool(cond)
    symbols = cond.free_symbols
    if len(symbols) == 1:
        (symbol,) = symbols
        dom = domains.get(symbol, _domain_from_assumptions(symbol))
        if dom is not None:
            decided = _decide_on_domain(cond, symbol, dom)
            if decided is not None:
                return decided
    refined = sp.refine(cond)  # slower; uses the symbols' assumptions
    if refined in (sp.true, sp.false):
        return bool(refined)
    return None


@functools.lru_cache(maxsize=256)
def _decide_on_domain(cond, symbol: sp.Symbol, dom: sp.Set):
    """Decide a condition in one symbol by solving it and comparing with ``dom``."""
    try:
        solution = cond.subs(symbol, sp.Dummy("s", real=True)).as_set()
    except (NotImplementedError, TypeError, ValueError):
        return None
    if dom.is_subset(solution) is True:
        return True
    if dom.intersect(solution) is sp.S.EmptySet:
        return False
    return None


# ---------------------------------------------------------------------- Fisher
def fisher(family: Family, method: str = "score", *,
           timeout: float | None = DEFAULT_TIMEOUT) -> sp.Matrix:
    r"""The Fisher information matrix :math:`F(\theta)` of a family.

    .. math:: F(\theta) = \mathbb{E}\big[\nabla\log p\,\nabla\log p^\top\big]
       \quad(\texttt{"score"}), \qquad
       F(\theta) = -\mathbb{E}\big[\nabla^2\log p\big]
       \quad(\texttt{"hessian"}).

    The two agree for regular families (recitation, "Detailed derivation").

    Parameters
    ----------
    family : Family
    method : {"score", "hessian"}
    timeout : float or None, optional, keyword-only
        Seconds for the whole call (see :func:`expectation`).

    Returns
    -------
    sympy.Matrix
        The d x d matrix, entries simplified.

    Raises
    ------
    ValueError
        If ``method`` is not one of the two.
    ExpectationError
        If an entry cannot be computed (see :func:`expectation`).

    Examples
    --------
    >>> mu, sigma = normal().params
    >>> fisher(normal()) == sp.diag(1 / sigma**2, 2 / sigma**2)
    True
    """
    _check_family(family)
    check_choice(method, "method", FISHER_METHODS)
    timeout = _check_timeout(timeout)
    with _time_limit(timeout, f"the Fisher matrix of {family.name}"):
        _require_normalised(family)
        return _fisher(family, method)


@functools.lru_cache(maxsize=128)
def _fisher(family: Family, method: str) -> sp.Matrix:
    d = len(family.params)
    score = family.score()
    hess = family.hessian_log_pdf() if method == "hessian" else None
    entries = {}
    for i in range(d):
        for j in range(i, d):
            if method == "score":
                integrand = score[i] * score[j]
            else:
                integrand = -hess[i, j]
            entries[i, j] = entries[j, i] = _expectation(family, integrand, ())
    return sp.ImmutableMatrix(d, d, lambda i, j: entries[i, j]).as_mutable()


def integral_of_pdf_hessian(family: Family, *,
                            timeout: float | None = DEFAULT_TIMEOUT) -> sp.Matrix:
    r"""The matrix :math:`\int \nabla^2_\theta p(x;\theta)\,dx` (or the sum).

    The recitation's middle term, zero for regular families because
    :math:`\int p\,dx = 1` for every :math:`\theta`. Each entry integrates (sums)
    :math:`\partial^2 p / \partial\theta_i\partial\theta_j` over the support;
    to help SymPy, it is written as :math:`p \cdot (\partial^2 p/\partial\theta_i
    \partial\theta_j) / p` with the ratio simplified, i.e. as the expectation of
    that ratio.

    Returns
    -------
    sympy.Matrix
        d x d, simplified (the zero matrix for a regular family).
    """
    _check_family(family)
    timeout = _check_timeout(timeout)
    params = family.params
    with _time_limit(timeout, f"the integral of the pdf Hessian of {family.name}"):
        d = len(params)
        out = sp.zeros(d, d)
        for i in range(d):
            for j in range(i, d):
                second = sp.diff(family.pdf, params[i], params[j])
                ratio = sp.simplify(second / family.pdf)
                out[i, j] = out[j, i] = _expectation(family, ratio, ())
    return out


# -------------------------------------------------------------------------- KL
def kl(family: Family, theta_p, theta_q, *,
       timeout: float | None = DEFAULT_TIMEOUT) -> sp.Expr:
    r"""The Kullback-Leibler divergence between two members of a family.

    .. math:: \operatorname{KL}(p_{\theta_p}\,\Vert\,p_{\theta_q})
       = \mathbb{E}_{x\sim p_{\theta_p}}\big[\log p(x;\theta_p)
       - \log p(x;\theta_q)\big].

    Computed once per family for free parameters (cached, written with logarithms
    gathered as :math:`c\log(a/b)`) and then substituted without further
    simplification, so ``theta_p`` and ``theta_q`` may be any expressions (numbers,
    symbols, ``theta + delta``). They are assumed to lie in the parameter domains;
    numeric entries outside them raise ``ValueError``.

    Parameters
    ----------
    family : Family
    theta_p, theta_q : tuple of expressions
        One entry per parameter, in the order of ``family.params``.
    timeout : float or None, optional, keyword-only

    Returns
    -------
    sympy.Expr
        The simplified divergence.

    Raises
    ------
    TypeError, ValueError
        If a theta is not a tuple of expressions of the right length.
    ExpectationError
        If SymPy cannot do the expectation.

    Examples
    --------
    >>> lam = poisson().params[0]
    >>> mu = sp.Symbol("mu", positive=True)
    >>> kl(poisson(), (lam,), (mu,))
    lambda*log(lambda/mu) - lambda + mu
    """
    _check_family(family)
    theta_p = _check_in_domain(_as_theta(theta_p, family, "theta_p"), family, "theta_p")
    theta_q = _check_in_domain(_as_theta(theta_q, family, "theta_q"), family, "theta_q")
    timeout = _check_timeout(timeout)
    with _time_limit(timeout, f"the KL divergence of {family.name}"):
        _require_normalised(family)
        generic, q_symbols = _generic_kl(family)
        mapping = dict(zip(family.params, theta_p, strict=True))
        mapping.update(zip(q_symbols, theta_q, strict=True))
        value = generic.subs(mapping, simultaneous=True)
        with_logs, rest = [], []
        for term in sp.Add.make_args(value):
            (with_logs if term.has(sp.log) else rest).append(term)
        return sp.Add(*with_logs) + sp.factor(sp.simplify(sp.Add(*rest)))


def _tidy_logs(expr: sp.Expr) -> sp.Expr:
    """Simplify, then gather logarithms with equal coefficients: c log(a/b).

    SymPy's ``simplify`` folds logs into forms like ``log(s2**(2*s2**2))``; this
    writes a KL as a readable sum such as ``log(s2/s1) + (...)/(2*s2**2)``.
    The result equals the input (only log rules valid for positive arguments are
    used, through ``expand_log`` without ``force``).
    """
    expr = sp.expand(sp.expand_log(sp.simplify(expr)))
    logs = sorted(expr.atoms(sp.log), key=sp.default_sort_key)
    parts = sp.collect(expr, logs, evaluate=False)
    rest = parts.pop(sp.S.One, sp.S.Zero)
    groups: dict = {}
    for log_term, coefficient in parts.items():
        coefficient = sp.together(coefficient)
        same = [key for key in groups if sp.simplify(key - coefficient) == 0]
        opposite = [key for key in groups if sp.simplify(key + coefficient) == 0]
        if same or opposite:
            key, flip = (same[0], False) if same else (opposite[0], True)
        else:
            flip = _reads_negative(coefficient)
            key = sp.together(-coefficient) if flip else coefficient
        groups.setdefault(key, ([], []))[1 if flip else 0].append(log_term.args[0])
    out = sp.factor(rest)
    for coefficient, (numerator, denominator) in groups.items():
        out += coefficient * sp.log(sp.Mul(*numerator) / sp.Mul(*denominator))
    return out


@functools.lru_cache(maxsize=64)
def _generic_kl(family: Family):
    """KL(p_theta || p_q) with q a tuple of fresh symbols; returns (expr, q)."""
    q_symbols = tuple(sp.Dummy(f"{p.name}_q", **p.assumptions0) for p in family.params)
    q_domains = tuple(
        (q, family.domain(p))
        for q, p in zip(q_symbols, family.params, strict=True)
        if family.domain(p) is not None
    )
    to_q = dict(zip(family.params, q_symbols, strict=True))
    log_q = family.log_pdf.subs(to_q, simultaneous=True)
    log_ratio = sp.expand(sp.expand_log(family.log_pdf - log_q))
    # Tidy while the symbols still carry their assumptions (positive, ...), so that
    # only exact log rules apply; substituting theta_p, theta_q afterwards keeps the
    # readable form, e.g. log((sigma + delta)/sigma).
    return _tidy_logs(_expectation(family, log_ratio, q_domains)), q_symbols


def kl_hessian(family: Family, *, timeout: float | None = DEFAULT_TIMEOUT) -> sp.Matrix:
    r"""The Hessian in :math:`\delta`, at :math:`\delta = 0`, of
    :math:`\operatorname{KL}(p_\theta\,\Vert\,p_{\theta+\delta})`.

    Obtained by differentiating the closed-form KL of :func:`kl` twice in its second
    argument; for a regular family it equals :func:`fisher` (the recitation's
    Taylor expansion).

    Returns
    -------
    sympy.Matrix
        d x d, in the family's parameters, simplified.

    Examples
    --------
    >>> kl_hessian(exponential())
    Matrix([[lambda**(-2)]])
    """
    _check_family(family)
    timeout = _check_timeout(timeout)
    with _time_limit(timeout, f"the KL Hessian of {family.name}"):
        _require_normalised(family)
        generic, q_symbols = _generic_kl(family)
        at_theta = dict(zip(q_symbols, family.params, strict=True))
        hess = sp.hessian(generic, q_symbols).subs(at_theta, simultaneous=True)
        return hess.applyfunc(sp.simplify)


def kl_series(family: Family, direction, order: int = 3, *, t: sp.Symbol | None = None,
              timeout: float | None = DEFAULT_TIMEOUT) -> sp.Expr:
    r"""The Taylor series in :math:`t` of
    :math:`\operatorname{KL}(p_\theta\,\Vert\,p_{\theta + t v})` around 0.

    .. math:: \operatorname{KL}(p_\theta\,\Vert\,p_{\theta+tv})
       = \sum_{n=0}^{\text{order}} c_n(\theta, v)\,t^n + O(t^{\text{order}+1}),
       \qquad c_n = \frac{1}{n!}\frac{d^n}{dt^n}\operatorname{KL}\Big|_{t=0}.

    For a regular family :math:`c_0 = c_1 = 0` and :math:`c_2 = \tfrac12 v^\top F v`.

    Parameters
    ----------
    family : Family
    direction : tuple of expressions
        :math:`v`, one entry per parameter (numbers or symbols).
    order : int, optional
        Highest power of ``t`` kept (>= 0); default 3.
    t : sympy.Symbol, optional, keyword-only
        The expansion variable; default ``sp.Symbol("t", real=True)``. It must not
        be ``x`` or a parameter.
    timeout : float or None, optional, keyword-only

    Returns
    -------
    sympy.Expr
        The polynomial :math:`\sum_n c_n t^n` (coefficients simplified) plus an
        ``O(t**(order + 1))`` term. Use ``.removeO()`` for the polynomial and
        ``.coeff(t, n)`` for :math:`c_n`.

    Examples
    --------
    >>> t = sp.Symbol("t", real=True)
    >>> kl_series(normal(), (1, 0), order=3, t=t)
    t**2/(2*sigma**2) + O(t**4)
    """
    _check_family(family)
    direction = _check_real_entries(_as_theta(direction, family, "direction"),
                                    "direction")
    order = check_int(order, "order", minimum=0)
    t = sp.Symbol("t", real=True) if t is None else t
    if not isinstance(t, sp.Symbol):
        raise TypeError(f"t must be a sympy Symbol; got {t!r}.")
    if t == family.x or t in family.params:
        raise ValueError(
            f"t={t} must differ from the sample symbol and the parameters "
            f"{family.params}; pass t=sp.Symbol('t', real=True)."
        )
    timeout = _check_timeout(timeout)
    with _time_limit(timeout, f"the KL series of {family.name}"):
        _require_normalised(family)
        generic, q_symbols = _generic_kl(family)
        moved = {
            q: p + t * v
            for q, p, v in zip(q_symbols, family.params, direction, strict=True)
        }
        along = generic.subs(moved, simultaneous=True)
        terms, derivative = [], along
        for n in range(order + 1):
            coefficient = sp.simplify(derivative.subs(t, 0) / sp.factorial(n))
            terms.append(coefficient * t**n)
            derivative = sp.diff(derivative, t)
        return sp.Add(*terms) + sp.Order(t ** (order + 1), (t, 0))


# ------------------------------------------------------------ reparameterisation
def reparameterize(family: Family, new_params, old_in_terms_of_new, *,
                   param_domains=None, name: str | None = None) -> Family:
    r"""The same family written in new parameters :math:`\phi`, with
    :math:`\theta = \theta(\phi)`.

    .. math:: \log p_\phi(x;\phi) = \log p(x;\theta(\phi)).

    Only the parameters change, not the sample, so no Jacobian enters the density;
    the Fisher matrix then changes as :math:`F_\phi = J^\top F_\theta J` with
    :math:`J = \partial\theta/\partial\phi`.

    Parameters
    ----------
    family : Family
    new_params : tuple of sympy.Symbol
        The new parameter symbols :math:`\phi`.
    old_in_terms_of_new : tuple of expressions
        :math:`\theta_i(\phi)`, one per old parameter in the order of
        ``family.params``, in the new symbols only.
    param_domains : mapping, optional, keyword-only
        Bounds of the new parameters (see :class:`Family`).
    name : str, optional, keyword-only
        Default: the old name with " (reparameterised)".

    Returns
    -------
    Family

    Raises
    ------
    ValueError
        If ``old_in_terms_of_new`` has the wrong length or uses other symbols.

    Examples
    --------
    The Gaussian in :math:`(\mu, s = \log\sigma)`:

    >>> mu, sigma = normal().params
    >>> s = sp.Symbol("s", real=True)
    >>> log_sigma_family = reparameterize(normal(), (mu, s), (mu, sp.exp(s)))
    >>> fisher(log_sigma_family) == sp.diag(sp.exp(-2 * s), 2)
    True
    """
    _check_family(family)
    if isinstance(new_params, sp.Symbol):
        new_params = (new_params,)
    name_old = "old_in_terms_of_new"
    old = _as_theta(old_in_terms_of_new, family, name_old)
    old = _check_in_domain(_check_real_entries(old, name_old), family, name_old)
    if not isinstance(new_params, Sequence) or isinstance(new_params, str):
        raise TypeError(
            f"new_params must be a tuple of sympy Symbols; got {new_params!r}."
        )
    new_params = tuple(new_params)
    for i, expr in enumerate(old):
        extra = expr.free_symbols - set(new_params)
        if extra:
            names = ", ".join(sorted(str(s) for s in extra))
            raise ValueError(
                f"old_in_terms_of_new[{i}] = {expr} may use only the new parameters "
                f"{new_params}; it also contains {names}."
            )
    to_new = dict(zip(family.params, old, strict=True))
    log_pdf = family.log_pdf.subs(to_new, simultaneous=True)
    return Family(
        family.x, new_params, log_pdf, family.support,
        param_domains={} if param_domains is None else param_domains,
        name=name or f"{family.name} (reparameterised)",
    )


# ------------------------------------------------------------ built-in families
def bernoulli() -> Family:
    r"""Bernoulli(p) on {0, 1}: :math:`\log p(x) = x\log p + (1-x)\log(1-p)`.

    ``p`` is positive with domain (0, 1). Fisher: :math:`1/(p(1-p))`.
    """
    x = sp.Symbol("x", integer=True, nonnegative=True)
    p = sp.Symbol("p", positive=True)
    log_pdf = x * sp.log(p) + (1 - x) * sp.log(1 - p)
    return Family(x, (p,), log_pdf, sp.Range(2),
                  param_domains={p: sp.Interval.open(0, 1)}, name="Bernoulli(p)")


def normal() -> Family:
    r"""The Gaussian :math:`\mathcal N(\mu, \sigma^2)` in :math:`(\mu, \sigma)`.

    .. math:: \log p(x) = -\frac{(x-\mu)^2}{2\sigma^2} - \log\sigma
       - \tfrac12\log 2\pi,

    with ``mu`` real and ``sigma`` positive. Fisher:
    :math:`\operatorname{diag}(1/\sigma^2, 2/\sigma^2)`.
    """
    x = sp.Symbol("x", real=True)
    mu = sp.Symbol("mu", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    log_pdf = -((x - mu) ** 2) / (2 * sigma**2) - sp.log(sigma) - sp.log(2 * sp.pi) / 2
    return Family(x, (mu, sigma), log_pdf, sp.Interval(-sp.oo, sp.oo),
                  name="Normal(mu, sigma)")


def poisson() -> Family:
    r"""Poisson(λ) on 0, 1, 2, ...: :math:`\log p(x) = x\log\lambda - \lambda
    - \log x!`, with λ positive. Fisher: :math:`1/\lambda`."""
    x = sp.Symbol("x", integer=True, nonnegative=True)
    lam = sp.Symbol("lambda", positive=True)
    log_pdf = x * sp.log(lam) - lam - sp.log(sp.factorial(x))
    return Family(x, (lam,), log_pdf, sp.Range(0, sp.oo), name="Poisson(lambda)")


def exponential() -> Family:
    r"""Exponential with rate λ on :math:`[0, \infty)`:
    :math:`\log p(x) = \log\lambda - \lambda x`, λ positive. Fisher:
    :math:`1/\lambda^2`."""
    x = sp.Symbol("x", nonnegative=True)
    lam = sp.Symbol("lambda", positive=True)
    return Family(x, (lam,), sp.log(lam) - lam * x, sp.Interval(0, sp.oo),
                  name="Exponential(lambda)")


def categorical(k: int) -> Family:
    r"""The categorical distribution on {1, ..., k} with k - 1 free probabilities.

    The parameters are :math:`p_1, \dots, p_{k-1}` (positive, domain (0, 1)) and
    :math:`p_k = 1 - \sum_{i<k} p_i`. The log-mass function is a Piecewise
    expression, :math:`\log p(x) = \log p_i` if :math:`x = i`; expectations are
    finite sums. Fisher: :math:`\operatorname{diag}(1/p_i) + \mathbf 1\mathbf
    1^\top/p_k`.

    Parameters
    ----------
    k : int
        Number of categories, >= 2.

    Raises
    ------
    ValueError, TypeError
        If ``k`` is not an integer in ``2..MAX_CATEGORIES`` (100: the symbolic
        Fisher has ``(k - 1)**2`` entries, each a sum of ``k`` terms).
    """
    k = check_int(k, "k", minimum=2, maximum=MAX_CATEGORIES)
    x = sp.Symbol("x", integer=True, positive=True)
    probs = sp.symbols(f"p_1:{k}", positive=True)
    last = 1 - sp.Add(*probs)
    pieces = [(sp.log(p), sp.Eq(x, i + 1)) for i, p in enumerate(probs)]
    log_pdf = sp.Piecewise(*pieces, (sp.log(last), True))
    return Family(x, tuple(probs), log_pdf, sp.Range(1, k + 1),
                  param_domains={p: sp.Interval.open(0, 1) for p in probs},
                  name=f"Categorical(k={k})")
