"""Decode the plain data a probe exported from the student's kernel (grader side).

Nothing here evaluates code from the submission. Arrays come back as fresh
``np.ndarray`` objects, SymPy expressions are rebuilt from their ``srepr`` by walking
its syntax tree and calling only the built-in SymPy classes in ``SYMPY_NAMES`` (a
student's subclass, a lambda or any other name is rejected), and anything the
exporter could not express becomes an :class:`Opaque` value that fails every check.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np

MAX_SYMPY_NODES = 20_000
MAX_INT_DIGITS = 40
MAX_TOTAL_DIGITS = 20_000  # digits of every integer literal and string, together
MAX_POWER_DIGITS = 10_000  # digits an exact power of numbers may have
MAX_FLOAT_PRECISION = 1_000  # decimal digits (or bits) a Float may ask for
MAX_COMBINATORIAL_ARG = 10_000  # factorial(10**8) or gamma(10**10) would run for ever
FLOAT_TEXT = re.compile(
    r"^[+-]?(\d{1,400}\.?\d{0,400}|\.\d{1,400})([eE][+-]?\d{1,4})?$|^[+-]?(nan|inf)$"
)
COMBINATORIAL = {
    "factorial",
    "binomial",
    "RisingFactorial",
    "FallingFactorial",
    "gamma",
    "loggamma",
    "polygamma",
    "digamma",
}

SYMPY_NAMES = (
    "Add Mul Pow Symbol Integer Rational Float Half One Zero NegativeOne Pi Exp1 E "
    "Infinity NegativeInfinity ImaginaryUnit NaN ComplexInfinity log exp sqrt sin cos "
    "tan atan asin acos sinh cosh tanh Abs sign gamma loggamma polygamma digamma "
    "factorial binomial RisingFactorial FallingFactorial Max Min Piecewise "
    "ExprCondPair BooleanTrue BooleanFalse StrictGreaterThan StrictLessThan "
    "GreaterThan LessThan Equality Unequality And Or Not Tuple Matrix "
    "ImmutableDenseMatrix MutableDenseMatrix floor ceiling erf erfc pi oo zoo nan I"
).split()


class Opaque:
    """A value that could not be exported as plain data; it equals nothing."""

    def __init__(self, what: str):
        self.what = str(what)[:200]

    def __repr__(self) -> str:
        return f"Opaque({self.what!r})"

    def __eq__(self, other):
        return False

    __hash__ = None

    def __bool__(self):
        raise TypeError(f"not plain data: {self.what}")


class PlainDataError(ValueError):
    pass


def decode(value):
    """The Python value of the JSON ``value`` written by ``kernel_export.encode``."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [decode(v) for v in value]
    if type(value) is not dict or len(value) == 0:
        raise PlainDataError(f"unexpected {type(value).__name__}")
    if "__ndarray__" in value:
        shape = tuple(int(s) for s in value["shape"])
        kind = value.get("kind")
        flat = [_float(v) for v in value["__ndarray__"]]
        if math.prod(shape) != len(flat):
            raise PlainDataError("array data does not match its shape")
        dtype = {"b": bool, "i": np.int64, "u": np.int64, "f": np.float64}.get(kind)
        if dtype is None:
            raise PlainDataError(f"array kind {kind!r}")
        return np.array(flat, dtype=np.float64).astype(dtype).reshape(shape)
    (key, inner), *rest = value.items()
    if rest:
        raise PlainDataError("tagged value with extra keys")
    if key == "__float__":
        return _float(value)
    if key == "__npfloat__":
        return np.float64(_float(inner))
    if key == "__npint__":
        return np.int64(int(inner))
    if key == "__npbool__":
        return np.bool_(bool(inner))
    if key == "__tuple__":
        return tuple(decode(v) for v in inner)
    if key == "__dict__":
        return {str(k): decode(v) for k, v in inner.items()}
    if key == "__sympy__":
        try:
            return parse_srepr(inner)
        except PlainDataError as error:
            return Opaque(f"SymPy expression rejected: {error}")
    if key == "__opaque__":
        return Opaque(inner)
    raise PlainDataError(f"unknown tag {key!r}")


def _float(v) -> float:
    if type(v) in (int, float):
        return float(v)
    if type(v) is dict and set(v) == {"__float__"}:
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v["__float__"]]
    raise PlainDataError(f"not a number: {type(v).__name__}")


def parse_srepr(text: str):
    """A SymPy object from its ``srepr``, built only from whitelisted classes."""
    import sympy as sp

    if type(text) is not str or len(text) > 200_000:
        raise PlainDataError("not an srepr string")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise PlainDataError("not valid srepr") from error
    if sum(1 for _ in ast.walk(tree)) > MAX_SYMPY_NODES:
        raise PlainDataError("expression too large")
    names = {name: getattr(sp, name) for name in SYMPY_NAMES if hasattr(sp, name)}
    digits = [0]

    def build(node):
        if isinstance(node, ast.Constant) and type(node.value) in (
            int,
            float,
            str,
            bool,
        ):
            if type(node.value) is int and len(str(abs(node.value))) > MAX_INT_DIGITS:
                raise PlainDataError("integer literal too large")
            if type(node.value) is str and len(node.value) > 1000:
                raise PlainDataError("string literal too long")
            if type(node.value) in (int, str):
                digits[0] += len(str(node.value))
                if digits[0] > MAX_TOTAL_DIGITS:
                    raise PlainDataError("too many digits in all")
            return node.value
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -_number(build(node.operand))
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(build(e) for e in node.elts)
        if isinstance(node, ast.Name) and node.id in names:
            obj = names[node.id]
            if isinstance(obj, type):
                raise PlainDataError(f"bare class {node.id}")
            return obj  # singletons such as pi, E, oo
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id not in names:
                raise PlainDataError(f"{node.func.id} is not a built-in SymPy class")
            args = [build(a) for a in node.args]
            kwargs = {}
            for kw in node.keywords:
                value = build(kw.value)
                if kw.arg is None or type(value) not in (bool, int, str):
                    raise PlainDataError("only constant keyword arguments")
                kwargs[kw.arg] = value
            if node.func.id == "Symbol" and not (args and type(args[0]) is str):
                raise PlainDataError("Symbol needs a name")
            _refuse_expensive(node.func.id, args, kwargs)
            try:
                return names[node.func.id](*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - malformed but harmless input
                raise PlainDataError(
                    f"{node.func.id}: {type(error).__name__}"
                ) from None
        raise PlainDataError(f"unexpected syntax {type(node).__name__}")

    def _number(v):
        if type(v) in (int, float) or isinstance(v, sp.Basic):
            return v
        raise PlainDataError("negation of a non-number")

    def _size(v) -> float:
        """Decimal digits of a number's numerator plus denominator (0 if symbolic)."""
        if isinstance(v, sp.Rational) or type(v) is int:
            r = sp.Rational(v)
            return len(str(abs(r.p))) + len(str(r.q))
        return 0

    def _refuse_expensive(name, args, kwargs):
        # SymPy evaluates these eagerly: an exact power, a factorial, a Float of a
        # billion digits would hold the checker in one long C call.
        if name == "Pow" and len(args) == 2:
            base, exponent = args
            if isinstance(exponent, (sp.Integer, int)) and _size(base):
                if abs(int(exponent)) * _size(base) > MAX_POWER_DIGITS:
                    raise PlainDataError("exact power too large")
            if isinstance(exponent, sp.Rational) and abs(exponent.q) > 10_000:
                raise PlainDataError("root of too high an order")
        if name in COMBINATORIAL:
            for a in args:
                if isinstance(a, (sp.Number, int, float)) and abs(float(a)) > (
                    MAX_COMBINATORIAL_ARG
                ):
                    raise PlainDataError(f"{name} of too large a number")
        if name == "Float":
            extra = list(args[1:]) + list(kwargs.values())
            if any(type(a) is not int or abs(a) > MAX_FLOAT_PRECISION for a in extra):
                raise PlainDataError("Float with too high a precision")
            if args and type(args[0]) is str and not FLOAT_TEXT.match(args[0]):
                raise PlainDataError("Float literal not a plain decimal number")

    result = build(tree.body)
    if not isinstance(result, sp.Basic):
        raise PlainDataError("not a SymPy object")
    return result
