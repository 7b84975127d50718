"""A surface's f, gradient and Hessian as JavaScript, for the live web page.

The JavaScript is translated from the very NumPy source the engine runs
(:func:`optviz.core.codegen.generate`: SymPy's printer over the same SymPy
expressions, with the same common subexpressions), node by node, so both
interpreters perform the same IEEE operations in the same order:

- every operation is written fully parenthesised (JavaScript's precedence,
  ``-x**2`` and the like, never decides anything);
- parts that do not depend on x and y (``pi**2``, ``1/3``, ``40*pi**2``) are
  evaluated here, by Python, exactly as the engine evaluates them, and written
  as exact literals (``repr`` of a float round-trips);
- ``a**b`` follows what NumPy does for an array base: ``**2`` is NumPy's
  ``square`` (``a*a``), ``**0.5`` its ``sqrt``, ``**-1`` its ``reciprocal``
  (``1/a``), ``**1`` the value; any other exponent is ``Math.pow``;
- NumPy names map to their JavaScript equivalents (``arctan`` ->
  ``Math.atan``, ``reduce(maximum, [a, b])`` -> ``Math.max(a, b)``, which also
  propagates NaN, ``select`` -> a chain of conditionals, ...).

Exactness: +, -, *, /, sqrt, a*a and 1/a are IEEE-exact in both, so
polynomial surfaces give the same bits. NumPy's transcendental functions
(its own SIMD ``exp``, ``power``, ``tanh``, ``log`` on this machine class)
and glibc's ``sin``/``cos`` differ from V8's ``Math`` functions in the last
bit for a few per cent of arguments; the web page's parity test
(tests/browser/test_web_parity.py) measures what that does to trajectories.

Anything outside this vocabulary raises :class:`NotTranslatable`; the page
then falls back to paths computed by the engine.
"""

from __future__ import annotations

import ast
import functools
import math

import numpy as np

from optviz.core import codegen


class NotTranslatable(ValueError):
    """The source uses something the JavaScript translation does not cover."""


UNARY = {"sin": "Math.sin", "cos": "Math.cos", "tan": "Math.tan", "exp": "Math.exp",
         "log": "Math.log", "sqrt": "Math.sqrt", "abs": "Math.abs", "tanh": "Math.tanh",
         "sinh": "Math.sinh", "cosh": "Math.cosh", "arctan": "Math.atan",
         "arcsin": "Math.asin", "arccos": "Math.acos", "sign": "SGN"}
COMPARE = {"greater": ">", "less": "<", "greater_equal": ">=", "less_equal": "<=",
           "equal": "===", "not_equal": "!=="}
BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
#: What the translated functions may call besides Math: NumPy's sign (NaN stays NaN).
PRELUDE = "function SGN(v) { return v > 0 ? 1 : v < 0 ? -1 : v; }\n"


def literal(value) -> str:
    """A float as an exact JavaScript literal."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "(-Infinity)"
    text = repr(v)
    return f"({text})" if text.startswith("-") else text


class _Translator:
    def __init__(self, names: dict[str, str]):
        self.names = names
        self.ns = self._namespace(names)
        self.constants: dict[str, float] = {}  # locals whose value does not depend on x, y
        self.locals: set[str] = set()

    @staticmethod
    def _namespace(names):
        ns = {"__builtins__": {}}
        for name, attr in names.items():
            ns[name] = functools.reduce if attr == "functools.reduce" else getattr(np, attr)
        return ns

    def is_constant(self, node) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and (n.id in ("x", "y") or n.id in self.locals):
                return False
        return True

    def fold(self, node) -> str:
        env = dict(self.ns, **self.constants)
        try:
            with np.errstate(all="ignore"):
                value = eval(compile(ast.Expression(node), "<surface>", "eval"), env)  # noqa: S307
        except Exception as e:  # e.g. 1/0 in a constant part
            raise NotTranslatable(f"cannot evaluate a constant part: {e}") from None
        if isinstance(value, (bool, np.bool_)):
            return "true" if value else "false"
        if not isinstance(value, (int, float, np.floating, np.integer)):
            raise NotTranslatable(f"a constant part is not a number: {value!r}")
        return literal(value)

    def expr(self, node) -> str:
        if self.is_constant(node) and not isinstance(node, (ast.List, ast.Tuple)):
            return self.fold(node)
        if isinstance(node, ast.Name):
            return node.id if node.id in ("x", "y") else "v_" + node.id
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return self.power(node)
            op = BINOPS.get(type(node.op))
            if op is None:
                raise NotTranslatable(f"operator {type(node.op).__name__}")
            return f"({self.expr(node.left)} {op} {self.expr(node.right)})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return f"(-{self.expr(node.operand)})"
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand)
            raise NotTranslatable(f"unary {type(node.op).__name__}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node)
        raise NotTranslatable(f"{type(node).__name__} in an expression")

    def power(self, node) -> str:
        base = self.expr(node.left)
        if not self.is_constant(node.right):
            return f"Math.pow({base}, {self.expr(node.right)})"
        env = dict(self.ns, **self.constants)
        e = eval(compile(ast.Expression(node.right), "<surface>", "eval"), env)  # noqa: S307
        e = float(e)
        # NumPy's fast paths for an array base (numpy/_core/src/multiarray/number.c)
        if e == 2.0:
            return f"({base} * {base})"
        if e == 0.5:
            return f"Math.sqrt({base})"
        if e == -1.0:
            return f"(1 / {base})"
        if e == 1.0:
            return base
        return f"Math.pow({base}, {literal(e)})"

    def call(self, node) -> str:
        fn = self.names.get(node.func.id)
        if node.keywords and fn != "select":
            raise NotTranslatable(f"keyword arguments to {node.func.id}")
        args = node.args
        if fn in UNARY and len(args) == 1:
            return f"{UNARY[fn]}({self.expr(args[0])})"
        if fn in COMPARE and len(args) == 2:
            return f"({self.expr(args[0])} {COMPARE[fn]} {self.expr(args[1])})"
        if fn in ("maximum", "minimum") and len(args) == 2:
            name = "Math.max" if fn == "maximum" else "Math.min"
            return f"{name}({self.expr(args[0])}, {self.expr(args[1])})"
        if fn == "functools.reduce" and len(args) == 2 and isinstance(args[0], ast.Name) \
                and self.names.get(args[0].id) in ("maximum", "minimum") \
                and isinstance(args[1], (ast.List, ast.Tuple)) and args[1].elts:
            name = "Math.max" if self.names[args[0].id] == "maximum" else "Math.min"
            out = self.expr(args[1].elts[0])
            for item in args[1].elts[1:]:  # reduce folds from the left
                out = f"{name}({out}, {self.expr(item)})"
            return out
        if fn == "select" and len(args) == 2 and all(isinstance(a, (ast.List, ast.Tuple))
                                                     for a in args):
            default = "NaN"
            for kw in node.keywords:
                if kw.arg != "default":
                    raise NotTranslatable(f"select's {kw.arg}")
                default = self.expr(kw.value)
            conds, values = args[0].elts, args[1].elts
            if len(conds) != len(values):
                raise NotTranslatable("select with unequal lists")
            out = default
            for c, v in reversed(list(zip(conds, values))):  # the first true condition wins
                out = f"({self.expr(c)} ? {self.expr(v)} : {out})"
            return out
        if fn == "where" and len(args) == 3:
            return f"({self.expr(args[0])} ? {self.expr(args[1])} : {self.expr(args[2])})"
        if fn == "heaviside" and len(args) == 2:
            a, h = self.expr(args[0]), self.expr(args[1])
            return f"HEAVISIDE({a}, {h})"
        raise NotTranslatable(f"the function {node.func.id}")

    def function(self, fn: ast.FunctionDef, name: str) -> str:
        self.constants, self.locals = {}, set()
        lines = [f"function {name}(x, y, out) {{"]
        for stmt in fn.body:
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise NotTranslatable("an assignment to more than one name")
                target = stmt.targets[0].id
                if self.is_constant(stmt.value):
                    env = dict(self.ns, **self.constants)
                    with np.errstate(all="ignore"):
                        self.constants[target] = eval(  # noqa: S307
                            compile(ast.Expression(stmt.value), "<surface>", "eval"), env)
                    continue
                lines.append(f"  var v_{target} = {self.expr(stmt.value)};")
                self.locals.add(target)
            elif isinstance(stmt, ast.Return):
                value = stmt.value
                if isinstance(value, (ast.List, ast.Tuple)):
                    for i, item in enumerate(value.elts):
                        lines.append(f"  out[{i}] = {self.expr(item)};")
                    lines.append("  return out;")
                else:
                    lines.append(f"  return {self.expr(value)};")
            else:
                raise NotTranslatable(f"{type(stmt).__name__} statement")
        lines.append("}")
        return "\n".join(lines)


HEAVISIDE = "function HEAVISIDE(a, h) { return a < 0 ? 0 : a > 0 ? 1 : a === 0 ? h : a; }\n"


def translate(source: str, names: dict[str, str]) -> str:
    """JavaScript for the three generated functions (value, value_and_grad, hessian)
    as one object expression ``{f, vg, hess}``. ``vg(x, y, out)`` and
    ``hess(x, y, out)`` write [f, fx, fy] and [fxx, fxy, fyy] into *out*."""
    tree = codegen.check_source(source, names)  # the whitelist our printer output passes
    t = _Translator(names)
    funcs = {fn.name: fn for fn in tree.body}
    parts = [t.function(funcs["value"], "f"), t.function(funcs["value_and_grad"], "vg"),
             t.function(funcs["hessian"], "hess")]
    return ("(function () {\n" + PRELUDE + HEAVISIDE + "\n".join(parts)
            + "\nreturn {f: f, vg: vg, hess: hess};\n})()")


@functools.lru_cache(maxsize=16)
def surface_js(surface) -> str:
    """The surface's functions as a JavaScript expression (see :func:`translate`).

    Derived from the surface's SymPy expressions through the same NumPy printer
    as the engine's code (SymPy is imported; cached per surface object)."""
    if not hasattr(surface, "_symbolic"):  # a model on data (optviz.core.models)
        raise NotTranslatable("a model on data is computed in Python, from its data")
    source, names = codegen.generate(*surface._symbolic)
    return translate(source, names)


#: Math functions that are correctly rounded in both NumPy and JavaScript (IEEE).
EXACT_CALLS = frozenset({"Math.sqrt", "Math.abs", "Math.max", "Math.min"})


def is_exact(js: str) -> bool:
    """Whether translated code performs only IEEE-exact operations (+ - * /, sqrt,
    abs, min/max, comparisons), so that it gives NumPy's bits wherever NumPy
    evaluates the same operations; False when it calls a transcendental
    function or ``Math.pow``, which may differ from NumPy in the last bit."""
    import re

    return set(re.findall(r"Math\.[a-z0-9]+", js)) <= EXACT_CALLS
