"""Derived NumPy code for a formula, generated once and cached on disk.

Deriving a surface's gradient and Hessian with SymPy and compiling them with
``lambdify`` costs about a second per process (most of it importing SymPy).
The result is plain NumPy source, so it is generated once per formula and
kept in the user's cache folder; a later run executes that source and never
imports SymPy.

Where: ``$OPTVIZ_CACHE_DIR`` if set (an empty value turns the disk cache
off), else ``$XDG_CACHE_HOME/optviz``, else ``~/.cache/optviz``; one JSON file
per formula under ``surfaces/``.

A cache file is trusted only if all of these hold, else it is rebuilt:

- the folder and the file belong to this user and nobody else can write them
  (a folder we create is 0700, a file 0600);
- it is a regular file of at most 1 MB, checked with ``lstat`` before it is
  opened (without following a link, without blocking: a FIFO or a device is
  never opened for reading);
- it names our cache format, the formula, the SymPy and NumPy versions of this
  process and the SHA-256 of the code that derives and prints the functions
  (this module, :mod:`optviz.input.formula`, :mod:`optviz.core.surfaces`), so an
  entry written by any other build of optviz is rebuilt, not reused;
- the SHA-256 written inside it matches its content (a truncated or edited
  file is rebuilt);
- its source passes the same whitelist our own printer output does: function
  definitions of ``x, y``, assignments, arithmetic, numeric constants, lists,
  and calls to NumPy ufuncs and a handful of NumPy functions by name. No
  attribute access, no strings, no builtins (the code runs with an empty
  ``__builtins__``). So even a forged file whose hash was recomputed can only
  do arithmetic on the points;
- and that arithmetic is bounded as a formula's is (:func:`check_source`): at
  most :data:`MAX_CODE_NODES` syntax nodes nested at most :data:`MAX_CODE_DEPTH`
  deep, straight-line code (no loops; no function calls another, no name shadows
  a NumPy name, so nothing recurses), lists only as call arguments and return
  values (``[x] * 10**15`` is refused), every constant and every constant part
  (``0*(9**9**9)``) evaluated in floats first and refused unless finite, constant
  exponents within :data:`MAX_CODE_EXPONENT`; and the built functions are tried
  on two points before they are used.

A cache hit skips SymPy, never the formula's limits: :mod:`optviz.core.surfaces`
runs SymPy's checks on a hit too unless a SymPy-free test
(:func:`optviz.input.formula.sympy_checks_needed`) shows they cannot refuse.

Cached and freshly derived functions are the same code over the same NumPy
objects, so they agree bit for bit (tested).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Bump when the file layout changes (a change of the generating code changes the
#: key by itself: :func:`generator_digest`).
CACHE_FORMAT = 2
MAX_ENTRY_BYTES = 1 << 20
MAX_CODE_NODES = 200_000  # the Hessian of a 600-node formula is a few thousand
MAX_CODE_DEPTH = 200  # syntax nesting; a formula nests at most 40 levels
MAX_CODE_LIST = 1000  # items in one list (select's conditions, reduce's arguments)
MAX_CODE_EXPONENT = 100_000  # a constant exponent (x**100 * x**100 is x**200)
MAX_CODE_CONSTANT = 2.0 ** 53  # |integer constants|; floats must be finite
ENV = "OPTVIZ_CACHE_DIR"
FUNCTIONS = ("value", "value_and_grad", "hessian")
#: NumPy names the generated code may call besides ufuncs (SymPy's NumPy printer
#: writes Piecewise/Heaviside as select, Min/Max as reduce(minimum, [...])).
_CALLABLES = {"select", "where", "amin", "amax", "heaviside", "reduce"}
_NODES = (ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Assign, ast.Return,
          ast.Name, ast.Load, ast.Store, ast.BinOp, ast.UnaryOp, ast.Call, ast.keyword,
          ast.Constant, ast.List, ast.Tuple, ast.operator, ast.unaryop)

Compiled = tuple[Callable, Callable, Callable]


def cache_dir() -> Path | None:
    """The folder the derived code is cached in, or None if caching is off."""
    env = os.environ.get(ENV)
    if env is not None:
        return Path(env).expanduser() if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "optviz"


@functools.lru_cache(maxsize=1)
def sympy_version() -> str:
    """SymPy's version without importing SymPy (its release.py, else metadata)."""
    import importlib.util

    spec = importlib.util.find_spec("sympy")
    if spec is not None and spec.origin:
        try:
            text = (Path(spec.origin).parent / "release.py").read_text(encoding="utf-8")
            match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text)
            if match:
                return match.group(1)
        except OSError:
            pass
    from importlib.metadata import version

    return version("sympy")


#: The modules whose code derives and prints the cached functions.
GENERATORS = ("optviz.core.codegen", "optviz.input.formula", "optviz.core.surfaces")


@functools.lru_cache(maxsize=1)
def generator_digest() -> str:
    """SHA-256 of the source of the code that derives and prints the functions:
    an entry written by another build (even one with the same version string)
    has another key."""
    import importlib.util

    digest = hashlib.sha256()
    for module in GENERATORS:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        try:
            digest.update(Path(origin).read_bytes() if origin else module.encode())
        except OSError:
            digest.update(module.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cache_key(formula: str) -> dict[str, object]:
    """What the cached code depends on; a file for any other key is stale."""
    from optviz import __version__

    return {"format": CACHE_FORMAT, "formula": formula, "optviz": __version__,
            "generator": generator_digest(), "sympy": sympy_version(),
            "numpy": np.__version__}


def cache_path(formula: str, root: Path | None = None) -> Path | None:
    root = root if root is not None else cache_dir()
    if root is None:
        return None
    digest = hashlib.sha256(json.dumps(cache_key(formula), sort_keys=True)
                            .encode()).hexdigest()
    return root / "surfaces" / f"{digest[:32]}.json"


def is_cached(formula: str) -> bool:
    """Whether the cache holds a sound entry for *formula*: one written after the
    formula was derived, so it passed every check a derivation makes."""
    path = cache_path(formula)
    return path is not None and _read(path, formula) is not None


def compiled(formula: str, derive: Callable[[], tuple]) -> Compiled:
    """``(value, value_and_grad, hessian)`` of *formula*, from the cache if it is sound.

    *derive* returns ``(expr, grad, hess, (x, y))`` as SymPy objects; it is
    called only when the cache has no sound entry.
    """
    path = cache_path(formula)
    if path is not None:
        entry = _read(path, formula)
        if entry is not None:
            try:
                return _build(entry["source"], entry["names"])
            except Exception:  # unusable after all (a forged or odd file): derive again
                pass
    symbolic = derive()
    try:
        source, names = generate(*symbolic)
        funcs = _build(source, names)
    except ValueError:  # SymPy printed a name we do not whitelist: compile without caching
        return _lambdify(*symbolic)
    if path is not None:
        _write(path, formula, source, names)
    return funcs


def _lambdify(expr, grad, hess, xy) -> Compiled:
    import sympy as sp

    return tuple(sp.lambdify(xy, target, modules="numpy", cse=True)  # type: ignore[return-value]
                 for target in (expr, [expr, *grad], hess))


def generate(expr, grad, hess, xy) -> tuple[str, dict[str, str]]:
    """SymPy's NumPy source for the three functions and the NumPy names it uses.

    Returns ``(source, names)``: *names* maps each free name of the source to
    the NumPy attribute (or ``functools.reduce``) lambdify bound it to.
    """
    import inspect

    import sympy as sp

    parts, names = [], {}
    for fname, target in zip(FUNCTIONS, (expr, [expr, *grad], hess)):
        fn = sp.lambdify(xy, target, modules="numpy", cse=True)
        src = inspect.getsource(fn)
        head = "def _lambdifygenerated("
        if not src.startswith(head):
            raise ValueError("unexpected lambdify output")
        parts.append(f"def {fname}(" + src[len(head):].rstrip() + "\n")
        for name in fn.__code__.co_names:
            names[name] = _numpy_name(name, fn.__globals__[name])
    return "\n".join(parts), names


def _numpy_name(name: str, obj) -> str:
    if obj is functools.reduce:
        return "functools.reduce"
    for attr in (name, getattr(obj, "__name__", None)):
        if isinstance(attr, str) and hasattr(np, attr) and getattr(np, attr) is obj:
            return attr
    raise ValueError(f"lambdify bound '{name}' to {obj!r}, which is not a NumPy name")


def _namespace(names: dict[str, str]) -> dict[str, object]:
    ns: dict[str, object] = {"__builtins__": {}}
    for name, attr in names.items():
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"bad name {name!r}")
        if name in FUNCTIONS or name in ("x", "y"):  # a call of it would recurse
            raise ValueError(f"the name {name!r} is not a NumPy name")
        if attr == "functools.reduce":
            obj = functools.reduce
        elif isinstance(attr, str) and attr.isidentifier() and not attr.startswith("_"):
            obj = getattr(np, attr)
        else:
            raise ValueError(f"bad NumPy name {attr!r}")
        if not (isinstance(obj, (np.ufunc, float)) or
                (callable(obj) and attr.rsplit(".", 1)[-1] in _CALLABLES)):
            raise ValueError(f"{attr} is not allowed in generated code")
        ns[name] = obj
    return ns


def check_source(source: str, names: dict[str, str]) -> ast.Module:
    """Parse *source* and refuse anything our printer does not write, and anything
    whose evaluation is not bounded (see the module's docstring)."""
    if not isinstance(source, str) or len(source) > MAX_ENTRY_BYTES:
        raise ValueError("the source is too long")
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        raise ValueError(f"the source does not parse: {type(e).__name__}") from None
    named = _check_size(tree)
    defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    if defined != list(FUNCTIONS) or len(tree.body) != len(FUNCTIONS):
        raise ValueError("expected exactly the functions " + ", ".join(FUNCTIONS))
    for name in names:
        if name in FUNCTIONS or name in ("x", "y"):
            raise ValueError(f"the name {name!r} is not a NumPy name")
    for fn in tree.body:
        args = fn.args
        if ([a.arg for a in args.args] != ["x", "y"] or args.vararg or args.kwarg
                or args.kwonlyargs or args.defaults or args.posonlyargs or fn.decorator_list
                or fn.returns):
            raise ValueError(f"{fn.name} must take exactly (x, y)")
        local = {"x", "y"}
        for node in ast.walk(fn):
            if not isinstance(node, _NODES) or (isinstance(node, ast.FunctionDef)
                                                and node is not fn):
                raise ValueError(f"{type(node).__name__} is not allowed in generated code")
            if isinstance(node, ast.Constant):
                _check_constant(node.value)
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Store):
                    if node.id in names or node.id in FUNCTIONS:  # no shadowing
                        raise ValueError(f"the local {node.id!r} shadows a name")
                    local.add(node.id)
                elif node.id not in names and node.id not in local:
                    raise ValueError(f"unknown name {node.id!r}")
            if isinstance(node, ast.Call) and not (
                    isinstance(node.func, ast.Name) and node.func.id in names
                    and node.func.id not in local):
                raise ValueError("only calls of NumPy names are allowed")
            if isinstance(node, ast.keyword) and node.arg != "default":
                raise ValueError("only select's default= keyword is allowed")
            if isinstance(node, (ast.BinOp, ast.UnaryOp)):
                operands = [node.left, node.right] if isinstance(node, ast.BinOp) \
                    else [node.operand]
                if any(isinstance(o, (ast.List, ast.Tuple)) for o in operands):
                    raise ValueError("arithmetic on a list is not allowed")
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) \
                        and id(node.right) not in named:
                    exponent = _fold(node.right)
                    if abs(exponent) > MAX_CODE_EXPONENT:
                        raise ValueError(f"the exponent {exponent:g} is too large")
                if id(node) not in named:
                    _fold(node)
            if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) > MAX_CODE_LIST:
                raise ValueError("a list is too long")
            if isinstance(node, ast.Assign) and not (
                    len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                raise ValueError("only plain assignments are allowed")
    return tree


def _check_size(tree: ast.AST) -> set[int]:
    """At most MAX_CODE_NODES nodes nested at most MAX_CODE_DEPTH deep (iteratively:
    a deep tree must not exhaust the stack here). Returns the ids of the nodes
    that hold a name (the others are constant parts)."""
    order, stack, parent = [], [(tree, 0)], {}
    while stack:
        node, depth = stack.pop()
        order.append(node)
        if len(order) > MAX_CODE_NODES:
            raise ValueError(f"the source has more than {MAX_CODE_NODES:,} syntax nodes")
        if depth > MAX_CODE_DEPTH:
            raise ValueError(f"the source nests more than {MAX_CODE_DEPTH} levels deep")
        for child in ast.iter_child_nodes(node):
            parent[id(child)] = node
            stack.append((child, depth + 1))
    named: set[int] = set()
    for node in reversed(order):  # children before their parents
        if isinstance(node, ast.Name) or id(node) in named:
            named.add(id(node))
            up = parent.get(id(node))
            if up is not None:
                named.add(id(up))
    return named


def _check_constant(value) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_CODE_CONSTANT:
            raise ValueError("an integer constant is too large")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a constant is not finite")
    else:
        raise ValueError("only numeric constants are allowed")


def _fold(node: ast.AST) -> float:
    """A constant part's value in floats (never Python's unbounded integers);
    ValueError unless finite. Depth is bounded by _check_size."""
    if isinstance(node, ast.Constant):
        _check_constant(node.value)
        return float(node.value)
    try:
        if isinstance(node, ast.UnaryOp):
            v = _fold(node.operand)
            value = {ast.USub: -v, ast.UAdd: v}.get(type(node.op))
            if value is None:
                raise ValueError(f"the operator {type(node.op).__name__} is not allowed")
        elif isinstance(node, ast.BinOp):
            a, b = _fold(node.left), _fold(node.right)
            op = type(node.op)
            if op is ast.Pow:
                if abs(b) > MAX_CODE_EXPONENT:
                    raise ValueError(f"the exponent {b:g} is too large")
                value = math.pow(a, b)
            elif op in (ast.Add, ast.Sub, ast.Mult, ast.Div):
                value = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b,
                         ast.Mult: lambda: a * b, ast.Div: lambda: a / b}[op]()
            else:
                raise ValueError(f"the operator {op.__name__} is not allowed")
        else:
            raise ValueError(f"{type(node).__name__} in a constant part")
    except (OverflowError, ZeroDivisionError):
        raise ValueError("a constant part cannot be evaluated") from None
    if not math.isfinite(value):
        raise ValueError("a constant part is not finite")
    return value


def _build(source: str, names: dict[str, str]) -> Compiled:
    tree = check_source(source, names)
    ns = _namespace(names)
    exec(compile(tree, "<optviz derived surface>", "exec"), ns)  # noqa: S102 - checked above
    funcs = tuple(ns[f] for f in FUNCTIONS)
    _try(funcs)
    return funcs  # type: ignore[return-value]


def _try(funcs: Compiled) -> None:
    """Evaluate each function on two points, as a surface will: an error here (a
    forged entry's odd arithmetic) refuses the entry instead of failing a run."""
    x, y = np.array([0.25, -1.5]), np.array([0.75, 2.0])
    with np.errstate(all="ignore"):
        for f in funcs:
            out = f(x, y)
            for part in (out if isinstance(out, list) else [out]):
                arr = np.asarray(part, dtype=np.float64)
                if arr.size > x.size:
                    raise ValueError("the function returns more values than points")


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by this user and not writable by group or others."""
    getuid = getattr(os, "getuid", None)
    owner_ok = getuid is None or st.st_uid == getuid()
    return owner_ok and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path, formula: str) -> dict | None:
    """The entry at *path* if it is sound, else None (nothing that is not a small
    regular file of ours is opened; a FIFO or device is never read)."""
    try:
        if not _private(path.parent.stat()):
            return None
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > MAX_ENTRY_BYTES:
            return None
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) \
            | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as fh:
            st2 = os.fstat(fh.fileno())
            if (not stat.S_ISREG(st2.st_mode) or (st2.st_dev, st2.st_ino) != (st.st_dev, st.st_ino)
                    or not _private(st2)):
                return None
            data = fh.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            return None
        entry = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != cache_key(formula):
        return None
    if entry.get("sha256") != _digest(entry):
        return None
    if not isinstance(entry.get("source"), str) or not isinstance(entry.get("names"), dict):
        return None
    return entry


def _write(path: Path, formula: str, source: str, names: dict[str, str]) -> None:
    """Write the entry atomically into a private folder; a failure only costs speed."""
    entry = {"key": cache_key(formula), "source": source, "names": names}
    entry["sha256"] = _digest(entry)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(path.parent.stat()):
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError:
        pass
