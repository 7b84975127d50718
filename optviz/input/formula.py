"""The safe formula language: a whitelisted arithmetic subset of Python.

A formula is parsed with :func:`ast.parse` and every node is checked against a
whitelist *before* anything is evaluated; the SymPy expression is then built
from the validated tree by hand. SymPy's own string parser (which calls
``eval``) never sees user text, so a formula cannot run code, touch files or
reach attributes. Limits on length, size, nesting, constants and exponents keep
SymPy from hanging on power towers such as ``10**10**10``. The same limits are
checked again on every SymPy node as it is built, because SymPy folds parts
that only look variable: ``(x - x + 10)**(x - x + 10)**(x - x + 10)`` is the
tower ``10**10**10`` once ``x - x`` is 0.

Allowed: numbers, the variables ``x`` and ``y``, the constant ``pi``,
``+ - * / **``, unary minus and plus, parentheses, and the functions
abs, sqrt, exp, log, sin, cos, tan, tanh, arctan (atan), sinh, cosh,
min and max (two arguments).
"""

from __future__ import annotations

import ast
import math
from typing import Any

from optviz.errors import SurfaceError, did_you_mean

MAX_LENGTH = 2000
MAX_NODES = 600
MAX_DEPTH = 40
MAX_CONSTANT = 1e6  # largest numeric literal
MAX_EXPONENT = 100  # largest constant exponent of **
MAX_FOLDED = 1e12  # largest value a constant sub-expression may take
MAX_GRADIENT_OPS = 2000  # SymPy operations in the gradient (shipped surfaces: under 200);
#                          past it the Hessian takes SymPy minutes ((x+y)**(x+y)**... 40 deep)

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi}
UNARY = {
    "abs": abs, "sqrt": math.sqrt, "exp": math.exp, "log": math.log,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh,
    "arctan": math.atan, "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh,
}
BINARY = {"min": min, "max": max}
FUNCTIONS = {**UNARY, **BINARY}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}

_DESCRIBE = {
    ast.Attribute: "attribute access (a.b)", ast.Subscript: "indexing (a[i])",
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'", ast.IfExp: "an 'if' expression", ast.List: "a list",
    ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "a string",
    ast.Starred: "a '*' argument", ast.NamedExpr: "':='", ast.Slice: "a slice",
}
LANGUAGE = ("allowed: numbers, x, y, pi, + - * / **, parentheses and the functions "
            + ", ".join(sorted(FUNCTIONS)))


def _fail(message: str, node: ast.AST | None = None, hint: str | None = None) -> SurfaceError:
    if node is not None and hasattr(node, "col_offset"):
        message += f" (at column {node.col_offset + 1})"
    return SurfaceError(message, key="formula", hint=hint)


def validate(text: Any) -> ast.Expression:
    """Check *text* against the whitelist; return its AST or raise SurfaceError."""
    if not isinstance(text, str):
        raise SurfaceError(f"a formula must be a string, got {type(text).__name__}",
                           key="formula")
    if not text.strip():
        raise SurfaceError("the formula is empty", key="formula")
    if len(text) > MAX_LENGTH:
        raise SurfaceError(f"the formula is {len(text)} characters long; the limit is "
                           f"{MAX_LENGTH}", key="formula")
    if text.count("(") > MAX_DEPTH:
        nesting = depth = 0
        for ch in text:
            depth += (ch == "(") - (ch == ")")
            nesting = max(nesting, depth)
        if nesting > MAX_DEPTH:
            raise SurfaceError(f"the formula nests parentheses {nesting} deep; the limit "
                               f"is {MAX_DEPTH}", key="formula")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise SurfaceError(f"the formula is not a valid expression: {e.msg}"
                           + (f" at column {e.offset}" if e.offset else ""),
                           key="formula") from None
    except (RecursionError, MemoryError, ValueError):
        raise SurfaceError("the formula is too deeply nested", key="formula") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise SurfaceError(f"the formula has {nodes} syntax nodes; the limit is {MAX_NODES}",
                           key="formula")
    _check(tree.body, 0)
    return tree


def _check(node: ast.AST, depth: int) -> None:
    """Raise SurfaceError unless *node* uses only the whitelisted language."""
    if depth > MAX_DEPTH:
        raise _fail(f"the formula is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else repr(value)
            raise _fail(f"{kind} is not allowed in a formula", node, LANGUAGE)
        if abs(value) > MAX_CONSTANT or not math.isfinite(value):
            shown = repr(value) if len(repr(value)) < 24 else repr(value)[:20] + "..."
            raise _fail(f"the number {shown} is too large (the limit is {MAX_CONSTANT:g})",
                        node)
    elif isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _fail(f"dunder names such as '{node.id}' are not allowed", node, LANGUAGE)
        if node.id not in VARIABLES and node.id not in CONSTANTS:
            if node.id in FUNCTIONS:
                raise _fail(f"'{node.id}' is a function: call it as {node.id}(...)", node)
            hint = did_you_mean(node.id, (*VARIABLES, *CONSTANTS, *FUNCTIONS))
            raise SurfaceError(f"unknown name '{node.id}' in the formula (at column "
                               f"{node.col_offset + 1}); the variables are x and y",
                               key="formula", hint=hint)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _fail(f"the operator '{type(node.op).__name__}' is not allowed", node, LANGUAGE)
        _check(node.operand, depth + 1)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            hint = "write powers as x**2" if isinstance(node.op, ast.BitXor) else None
            raise _fail(f"the operator '{type(node.op).__name__}' is not allowed; use "
                        "+ - * / **", node, hint)
        _check(node.left, depth + 1)
        _check(node.right, depth + 1)
        if isinstance(node.op, ast.Pow) and not _has_variable(node.right):
            exponent = _fold(node.right)
            if abs(exponent) > MAX_EXPONENT:
                raise _fail(f"the exponent {exponent:g} is too large (the limit is "
                            f"{MAX_EXPONENT})", node)
        if not _has_variable(node):
            _fold(node)
    elif isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise _fail("only plain function calls such as sin(x) are allowed", node, LANGUAGE)
        if func.id.startswith("__"):
            raise _fail(f"dunder names such as '{func.id}' are not allowed", node, LANGUAGE)
        if func.id not in FUNCTIONS:
            hint = did_you_mean(func.id, FUNCTIONS)
            raise SurfaceError(f"unknown function '{func.id}' in the formula (at column "
                               f"{node.col_offset + 1})", key="formula",
                               hint=hint or LANGUAGE)
        if node.keywords:
            raise _fail(f"{func.id}() takes no keyword arguments", node)
        want = 2 if func.id in BINARY else 1
        if len(node.args) != want:
            raise _fail(f"{func.id}() takes {want} argument{'s' * (want > 1)}, "
                        f"got {len(node.args)}", node)
        for arg in node.args:
            _check(arg, depth + 1)
        if not _has_variable(node):
            _fold(node)
    else:
        what = _DESCRIBE.get(type(node), f"'{type(node).__name__}'")
        raise _fail(f"{what} is not allowed in a formula", node, LANGUAGE)


def _has_variable(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in VARIABLES for n in ast.walk(node))


def _fold(node: ast.AST) -> float:
    """Evaluate a validated constant sub-expression in floats, refusing huge values."""
    try:
        value = _eval_const(node)
    except (OverflowError, ValueError, ZeroDivisionError) as e:
        raise _fail(f"a constant part of the formula cannot be evaluated ({e})", node) from None
    if isinstance(value, complex) or not math.isfinite(value) or abs(value) > MAX_FOLDED:
        raise _fail(f"a constant part of the formula is too large or not real ({value})",
                    node)
    return value


def _eval_const(node: ast.AST) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval_const(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval_const(node.left), _eval_const(node.right)
        op = _BINOPS[type(node.op)]
        if op == "**":
            if abs(b) > MAX_EXPONENT:
                raise OverflowError(f"exponent {b:g} is too large")
            return math.pow(a, b)
        return {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*(_eval_const(a) for a in node.args))
    raise ValueError("not a constant")


#: Points where :func:`sympy_checks_needed` evaluates a formula's parts: scattered,
#: irrational-looking, of several scales, so a part that varies varies here.
PROBE_X = (0.3719, -1.4142, 2.7183, -0.0931, 11.3, -5.913, 0.7071, 173.9)
PROBE_Y = (1.2345, 0.5509, -2.2361, 3.9124, -0.8317, 7.7071, -13.07, -0.0417)
#: An upper bound on the gradient's size is trusted only this far below the limit.
GRADIENT_MARGIN = 4
_NUMERIC = {"abs": "abs", "sqrt": "sqrt", "exp": "exp", "log": "log", "sin": "sin",
            "cos": "cos", "tan": "tan", "tanh": "tanh", "arctan": "arctan",
            "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "min": "minimum",
            "max": "maximum"}


def sympy_checks_needed(tree: ast.Expression) -> bool:
    """Whether the checks that need SymPy -- the constant parts SymPy folds
    (:func:`to_sympy`) and the gradient's size (:func:`check_derivatives`) -- could
    refuse this validated formula. False only when a test without SymPy rules it
    out, so a formula whose derived code comes from the cache is held to the same
    limits as one derived afresh (and the cache still spares SymPy for the others).

    - SymPy refuses a part only when it is a constant; a part that takes different
      values at the probe points is no constant, whatever SymPy does with it.
      So: needed if any part holding x or y is constant (or nowhere finite) there.
    - The gradient: an upper bound on its operations from the rules of
      differentiation (product, quotient, chain) before any simplification;
      needed unless that bound is :data:`GRADIENT_MARGIN` times under the limit.
    """
    import numpy as np

    x, y = np.array(PROBE_X), np.array(PROBE_Y)
    needed = False

    def visit(node) -> tuple[np.ndarray, bool, int, int]:
        """(values at the probes, holds a variable, operations, derivative's bound)."""
        nonlocal needed
        if isinstance(node, ast.Constant):
            return np.full(x.shape, float(node.value)), False, 0, 0
        if isinstance(node, ast.Name):
            if node.id in VARIABLES:
                return (x if node.id == "x" else y), True, 0, 0
            return np.full(x.shape, CONSTANTS[node.id]), False, 0, 0
        if isinstance(node, ast.UnaryOp):
            v, var, ops, d = visit(node.operand)
            out = (-v if isinstance(node.op, ast.USub) else v, var, ops + 1, d + 1)
        elif isinstance(node, ast.BinOp):
            (a, va, oa, da), (b, vb, ob, db) = visit(node.left), visit(node.right)
            op = _BINOPS[type(node.op)]
            value = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                     "/": lambda: a / b, "**": lambda: np.power(np.abs(a), b)}[op]()
            if op in "+-":
                d = da + db + 1
            elif op == "*":  # da*b + a*db
                d = da + ob + oa + db + 3
            elif op == "/":  # (da*b - a*db)/b**2
                d = da + ob + oa + db + ob + 5
            elif not vb:  # c*a**(c-1)*da
                d = oa + ob + da + 5
            else:  # a**b*(db*log(a) + b*da/a)
                d = 2 * oa + ob + db + oa + ob + da + oa + 8
            out = (value, va or vb, oa + ob + 1, d)
        else:  # a call of a whitelisted function
            parts = [visit(a) for a in node.args]
            fn = getattr(np, _NUMERIC[node.func.id])
            value = fn(*(p[0] for p in parts))
            ops = sum(p[2] for p in parts) + 1
            # f'(a)*da: f' is the argument again under a few operations (exp: itself,
            # sqrt: 1/(2*sqrt(a)), tan: tan(a)**2 + 1, ...); a kink (abs, min, max)
            # brings sign, re/im parts or a Piecewise: counted four times over
            kink = node.func.id in ("abs", "min", "max")
            d = sum((4 * p[2] + 12 if kink else p[2] + 5) + p[3] for p in parts)
            out = (value, any(p[1] for p in parts), ops, d)
        value, var = out[0], out[1]
        if var:
            finite = value[np.isfinite(value)]
            if finite.size == 0 or np.ptp(finite) <= 1e-9 * max(np.max(np.abs(finite)), 1e-300):
                needed = True  # constant here: SymPy may fold it
        return out

    with np.errstate(all="ignore"):
        _, _, _, bound = visit(tree.body)
    # both partial derivatives, each within the bound
    return needed or 2 * bound * GRADIENT_MARGIN > MAX_GRADIENT_OPS


def check_symbolic(tree: ast.Expression, file: str | None = None) -> None:
    """Every check that needs SymPy: the folded constants and the gradient's size."""
    import sympy as sp

    expr, (x, y) = to_sympy(tree)
    check_derivatives([sp.diff(expr, v) for v in (x, y)], file)


def to_sympy(tree: ast.Expression):
    """Build the SymPy expression of a validated tree (x and y are real symbols)."""
    import sympy as sp

    x, y = sp.symbols("x y", real=True)
    names = {"x": x, "y": y, "pi": sp.pi}
    funcs = {"abs": sp.Abs, "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin,
             "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "arctan": sp.atan,
             "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "min": sp.Min,
             "max": sp.Max}

    def bounded(value, node):
        """A constant SymPy value, refused if it is huge, infinite or not real."""
        if value.free_symbols:
            return value
        try:
            number = complex(value.evalf(17))
        except OverflowError:
            number = complex(math.inf, 0.0)
        except (TypeError, ValueError, ArithmeticError):
            number = complex("nan")
        if abs(number.real) == math.inf and number.imag == 0:
            shown = "too large"
        elif not (math.isfinite(number.real) and math.isfinite(number.imag)):
            shown = "undefined or infinite"
        elif number.imag != 0:
            shown = "not real"
        elif abs(number.real) > MAX_FOLDED:
            shown = "too large"
        else:
            return value
        raise _fail(f"a part of the formula that simplifies to a constant is {shown} "
                    f"({str(value)[:40]})", node,
                    hint="SymPy folds x - x to 0, so such a part is a number; "
                         f"constants must stay within {MAX_FOLDED:g}")

    def power(a, b, node):
        if not b.free_symbols:  # check before SymPy computes the power exactly
            exponent = complex(b.evalf(17))
            if exponent.imag != 0 or abs(exponent.real) > MAX_EXPONENT:
                raise _fail(f"the exponent {str(b)[:40]} is too large (the limit is "
                            f"{MAX_EXPONENT})", node,
                            hint="SymPy folds x - x to 0, so this exponent is a number")
            if not a.free_symbols:
                base = complex(a.evalf(17))
                try:
                    size = abs(base) ** exponent.real if base != 0 else 0.0
                except (OverflowError, ZeroDivisionError):
                    size = math.inf
                if not size <= MAX_FOLDED:
                    raise _fail("a power in the formula simplifies to a constant that is too "
                                f"large ({str(a)[:20]}**{str(b)[:20]})", node,
                                hint=f"constants must stay within {MAX_FOLDED:g}")
        return a ** b

    def build(node: ast.AST):
        return bounded(make(node), node)

    def make(node: ast.AST):
        if isinstance(node, ast.Constant):
            v = node.value
            return sp.Integer(v) if isinstance(v, int) else sp.Float(repr(v), 17)
        if isinstance(node, ast.Name):
            return names[node.id]
        if isinstance(node, ast.UnaryOp):
            v = build(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = build(node.left), build(node.right)
            op = _BINOPS[type(node.op)]
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                    "/": lambda: a / b, "**": lambda: power(a, b, node)}[op]()
        if isinstance(node, ast.Call):
            return funcs[node.func.id](*(build(a) for a in node.args))
        raise AssertionError(f"unvalidated node {type(node).__name__}")

    return build(tree.body), (x, y)


def parse(text: str):
    """Validate *text* and return ``(expr, (x, y))`` as SymPy objects."""
    return to_sympy(validate(text))


def check_derivatives(grad, file: str | None = None) -> None:
    """Refuse a gradient too large for SymPy to differentiate again in reasonable time."""
    import sympy as sp

    ops = sp.count_ops(list(grad), visual=False)
    if ops > MAX_GRADIENT_OPS:
        raise SurfaceError(f"the formula's gradient has {ops:,} operations; the limit is "
                           f"{MAX_GRADIENT_OPS:,} (its Hessian would take SymPy minutes)",
                           file=file, key="formula",
                           hint="simplify the formula: nested powers such as "
                                "(x+y)**(x+y)**(x+y) grow fastest")
