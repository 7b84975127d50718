"""Optimizers as data: the composition of transforms a registry entry builds.

The live web page runs optimizers in JavaScript, one function per transform
(optviz/render/webengine.js). What it runs is not a second table of
optimizers: :func:`export_optimizer` calls the registry entry's own factory
(``aliases.adam`` and so on) with its ``chain`` and its transforms replaced by
recorders, so the description is the chain that factory actually composes:
each transform's name and its bound arguments.

Arguments are *expressions* over the optimizer's hyperparameters, so a slider
or a learning-rate schedule can change them: each hyperparameter enters the
factory as a :class:`Traced` float that remembers where it came from, so
``lr * weight_decay`` (AdamW's decoupled rate) is exported as that product,
not as its value. A step-size function such as ``lambda t: lr / (1 - beta1 **
t)`` is exported from its own source (found by its line in the module), with
its free variables as expressions.

Expressions (JSON): a number, boolean, string or null; ``["hp", name]`` (a
hyperparameter; ``["hp", name, default]`` when the factory may be called
without it); ``["t"]`` (a step-size function's argument); ``[op, a, b]`` for
``+ - * / **``; ``["neg", a]``; ``["sqrt", a]``; ``["lambda", body]``.

Factories that do not decompose into transforms (NAG's look-ahead, AdaBound's
clip, the modern optimizers in modern.py) are exported by name, as ``twin``
with their arguments: the page has a JavaScript twin of each
(:data:`TWINS`). Anything else -- torch classes, optimizers of plugins not
composed from these transforms, a composition that branches on a
hyperparameter's value -- raises :class:`NotExportable`, and the page falls
back to paths computed by the engine.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import sys
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from optviz.core.optim import aliases as A
from optviz.core.optim import base as _base
from optviz.core.optim import modern as M
from optviz.core.optim import transforms as _transforms

#: Factories with a JavaScript twin in webengine.js (name there).
TWINS: dict[Callable, str] = {
    A.nag: "nag", A.adabound: "adabound",
    M.lion: "lion", M.signsgd: "signsgd", M.signum: "signum", M.adan: "adan", M.adopt: "adopt",
    M.sam: "sam", M.lookahead: "lookahead", M.prodigy: "prodigy",
    M.sgd_schedulefree: "sgd_schedulefree", M.adamw_schedulefree: "adamw_schedulefree",
    M.sophia: "sophia",
}


class NotExportable(ValueError):
    """The optimizer has no form the page's JavaScript can run."""


# ----------------------------------------------------------------- traced numbers
def _expr(value) -> Any:
    """A value as an expression (see the module docstring)."""
    if isinstance(value, Traced):
        return value.expr
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        raise NotExportable("a value computed with NumPy inside the factory (its origin is lost)")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return ["num", repr(float(value))]
        return value
    if isinstance(value, types.FunctionType) and value.__name__ == "<lambda>":
        return ["lambda", _lambda_body(value)]
    raise NotExportable(f"an argument of type {type(value).__name__}")


def _binary(op: str, swap: bool = False):
    python = {"+": float.__add__, "-": float.__sub__, "*": float.__mul__,
              "/": float.__truediv__, "**": float.__pow__}[op]

    def method(self, other):
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            return NotImplemented
        a, b = (other, self) if swap else (self, other)
        value = python(float(a), float(b))
        return Traced(value, [op, _expr(a), _expr(b)])

    return method


class Traced(float):
    """A float hyperparameter that remembers its expression through arithmetic.

    Comparing it, or using it as a condition, raises :class:`NotExportable`:
    a composition that depends on a value cannot follow a slider.
    """

    expr: Any

    def __new__(cls, value: float, expr: Any):
        obj = super().__new__(cls, value)
        obj.expr = expr
        return obj

    __add__, __radd__ = _binary("+"), _binary("+", swap=True)
    __sub__, __rsub__ = _binary("-"), _binary("-", swap=True)
    __mul__, __rmul__ = _binary("*"), _binary("*", swap=True)
    __truediv__, __rtruediv__ = _binary("/"), _binary("/", swap=True)
    __pow__, __rpow__ = _binary("**"), _binary("**", swap=True)

    def __neg__(self):
        return Traced(-float(self), ["neg", self.expr])

    def __pos__(self):
        return self

    def _refuse(self, *args):
        raise NotExportable(f"the composition depends on the value of {self.expr}")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = _refuse
    __hash__ = float.__hash__


# ----------------------------------------------------------------- step-size functions
_LAMBDA_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


@functools.lru_cache(maxsize=32)
def _module_tree(module_name: str) -> ast.Module:
    return ast.parse(inspect.getsource(sys.modules[module_name]))


def _lambda_body(fn: types.FunctionType) -> Any:
    """A one-argument lambda (``lambda t: ...``) as an expression of ``["t"]``."""
    code = fn.__code__
    if code.co_argcount != 1:
        raise NotExportable("a step-size function of more than one argument")
    try:
        tree = _module_tree(fn.__module__)
    except (OSError, TypeError, KeyError):
        raise NotExportable("the source of a step-size function is not available") from None
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)
             and n.lineno == code.co_firstlineno]
    if len(found) != 1:
        raise NotExportable("cannot tell a step-size function's source apart")
    node = found[0]
    arg = node.args.args[0].arg if node.args.args else None
    if arg != code.co_varnames[0]:
        raise NotExportable("a step-size function's source does not match it")
    cells = dict(zip(code.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))

    def walk(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) \
                and not isinstance(n.value, bool):
            return n.value
        if isinstance(n, ast.Name):
            if n.id == arg:
                return ["t"]
            if n.id in cells:
                return _expr(cells[n.id])
            raise NotExportable(f"a step-size function reads the global {n.id!r}")
        if isinstance(n, ast.BinOp) and type(n.op) in _LAMBDA_OPS:
            return [_LAMBDA_OPS[type(n.op)], walk(n.left), walk(n.right)]
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return ["neg", walk(n.operand)]
        if (isinstance(n, ast.Call) and len(n.args) == 1 and not n.keywords
                and isinstance(n.func, ast.Attribute) and n.func.attr == "sqrt"
                and isinstance(n.func.value, ast.Name) and fn.__globals__.get(n.func.value.id)
                in (np, math)):
            return ["sqrt", walk(n.args[0])]
        raise NotExportable(f"a step-size function uses {ast.dump(n)[:60]}")

    return walk(node.body)


# ----------------------------------------------------------------- recording the chain
class _Recorded(NamedTuple):
    name: str
    args: dict


class _Chain(NamedTuple):
    items: tuple


class _Opaque(NamedTuple):
    """A chain holding something that is not a recorded transform."""


def _recorder(name: str, fn: Callable) -> Callable:
    sig = inspect.signature(fn)

    def record(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return _Recorded(name, {k: _expr(v) for k, v in bound.arguments.items()})

    return record


def _record_chain(*items):
    flat = []
    for item in items:
        if isinstance(item, _Chain):
            flat.extend(item.items)
        elif isinstance(item, _Recorded):
            flat.append(item)
        else:
            return _Opaque()
    return _Chain(tuple(flat))


_LOCK = threading.Lock()


def _trace(fn: Callable, kwargs: Mapping[str, Any]):
    """Call *fn* with every transform and ``chain`` replaced by recorders -- in the
    transforms module, in base and the optim package (for imports inside a
    function), and among the globals of aliases and of *fn*'s module (for imports
    at the top) -- and return what it built: a _Chain, a _Recorded or anything else.
    Under a lock; the originals are back when it returns."""
    import optviz.core.optim as package

    target = fn.func if isinstance(fn, functools.partial) else fn
    recorders = {name: _recorder(name, value) for name, value in vars(_transforms).items()
                 if inspect.isfunction(value) and value.__module__ == _transforms.__name__
                 and not name.startswith("_")}
    originals = {id(_transforms.__dict__[n]): _transforms.__dict__[n] for n in recorders}
    originals[id(_base.chain)] = _base.chain
    swaps = {id(_transforms.__dict__[n]): r for n, r in recorders.items()}
    swaps[id(_base.chain)] = _record_chain
    spaces = [_transforms.__dict__, _base.__dict__, package.__dict__, A.__dict__]
    g = getattr(target, "__globals__", None)
    if g is not None and all(g is not ns for ns in spaces):
        spaces.append(g)
    with _LOCK:
        saved = []
        try:
            for ns in spaces:
                for key, value in list(ns.items()):
                    new = swaps.get(id(value))
                    if new is not None and originals[id(value)] is value:
                        saved.append((ns, key, value))
                        ns[key] = new
            return fn(**kwargs)
        finally:
            for ns, key, value in reversed(saved):
                ns[key] = value


def _unwrap(factory) -> tuple[Callable, dict]:
    fixed: dict[str, Any] = {}
    while isinstance(factory, functools.partial):
        if factory.args:
            raise NotExportable("a factory with positional arguments bound")
        fixed = {**factory.keywords, **fixed}
        factory = factory.func
    return factory, fixed


def describe(factory: Callable, params: Mapping[str, Any]) -> dict:
    """The composition *factory* builds for *params*: ``{"chain": [...]}`` or
    ``{"twin": name, "args": {...}}``. Nested optimizers in *params* (sam's and
    lookahead's ``base``) must already be descriptions (``{"optimizer": ...}``)."""
    fn, fixed = _unwrap(factory)
    if fn in TWINS:
        sig = inspect.signature(fn)
        args = {}
        for name, p in sig.parameters.items():
            if name in fixed:
                args[name] = _expr(fixed[name])
            elif name in params and isinstance(params[name], Mapping) \
                    and "optimizer" in params[name]:
                args[name] = params[name]
            elif name in params:
                args[name] = ["hp", name]
            elif p.default is not inspect.Parameter.empty:
                args[name] = ["hp", name, _expr(p.default)]
            else:
                raise NotExportable(f"{fn.__name__} needs {name}")
        return {"twin": TWINS[fn], "args": args}
    traced = {}
    for key, value in params.items():
        if isinstance(value, float) and not isinstance(value, np.generic):
            traced[key] = Traced(value, ["hp", key])
        elif isinstance(value, (bool, str, int)) or value is None:
            traced[key] = value
        else:
            raise NotExportable(f"the hyperparameter {key} is a {type(value).__name__}")
    try:
        built = _trace(factory, traced)
    except NotExportable:
        raise
    except Exception as e:  # the factory did something the recorders cannot stand in for
        raise NotExportable(f"{getattr(fn, '__name__', fn)} does not compose recordable "
                            f"transforms ({type(e).__name__}: {e})") from None
    if isinstance(built, _Recorded):
        built = _Chain((built,))
    if not isinstance(built, _Chain):
        raise NotExportable(f"{getattr(fn, '__name__', fn)} is not a chain of optviz's "
                            "transforms")
    return {"chain": [{"name": r.name, "args": r.args} for r in built.items]}


def _json_value(value):
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        if not math.isfinite(value):
            raise NotExportable("a hyperparameter that is not finite")
        return float(value) if not isinstance(value, int) else value
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    raise NotExportable(f"a hyperparameter of type {type(value).__name__}")


def export_optimizer(kind: str, params: Mapping[str, Any], conventions: str = "torch") -> dict:
    """Optimizer *kind* with *params* as data for the page: ``{"type", "desc", "hp",
    "schedule", "momentum_name", "base_lr_param"}``; ``hp`` holds every hyperparameter
    (resolved, defaults filled in; a nested ``base`` as its own export).

    Raises NotExportable when the page has no JavaScript form for it, and
    ConfigError for hyperparameters the registry refuses.
    """
    from optviz.core.optim.registry import get_spec, resolve_hyperparams, schedule_options

    spec = get_spec(kind)
    if spec.resolve is not None:
        raise NotExportable(f"{kind} runs a torch.optim class, in torch only")
    params = dict(resolve_hyperparams(kind, params, conventions))
    hp: dict[str, Any] = {}
    for p in spec.param_specs(conventions):
        if p.optimizer:
            base = dict(params[p.name])
            sub = export_optimizer(base.pop("type"), base, conventions)
            params[p.name] = {"optimizer": sub["desc"]}
            hp[p.name] = sub
    schedule = params.pop("schedule", None)
    for key, value in params.items():
        if key not in hp:
            hp[key] = _json_value(value)
    desc = describe(spec.factory(conventions), params)
    out = {"type": kind, "desc": desc, "hp": hp, "schedule": None}
    if schedule is not None:
        out["schedule"] = schedule.to_dict()
        out.update(schedule_options(kind))
    return out


def exportable(kind: str, params: Mapping[str, Any], conventions: str = "torch") -> str | None:
    """None if *kind* exports, else the reason it does not."""
    try:
        export_optimizer(kind, params, conventions)
    except NotExportable as e:
        return str(e)
    return None
