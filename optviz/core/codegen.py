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
- it names our cache format, the formula, and the optviz, SymPy and NumPy
  versions of this process (a stale file is rebuilt, not reused);
- the SHA-256 written inside it matches its content (a truncated or edited
  file is rebuilt);
- its source passes the same whitelist our own printer output does: function
  definitions of ``x, y``, assignments, arithmetic, numeric constants, lists,
  and calls to NumPy ufuncs and a handful of NumPy functions by name. No
  attribute access, no strings, no builtins (the code runs with an empty
  ``__builtins__``). So even a forged file whose hash was recomputed can only
  do arithmetic on the points.

Cached and freshly derived functions are the same code over the same NumPy
objects, so they agree bit for bit (tested).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Bump when the generated code or the file layout changes.
CACHE_FORMAT = 1
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


def cache_key(formula: str) -> dict[str, object]:
    """What the cached code depends on; a file for any other key is stale."""
    from optviz import __version__

    return {"format": CACHE_FORMAT, "formula": formula, "optviz": __version__,
            "sympy": sympy_version(), "numpy": np.__version__}


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
    """Parse *source* and refuse anything our printer does not write."""
    tree = ast.parse(source, mode="exec")
    defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    if defined != list(FUNCTIONS) or len(tree.body) != len(FUNCTIONS):
        raise ValueError("expected exactly the functions " + ", ".join(FUNCTIONS))
    for fn in tree.body:
        args = fn.args
        if ([a.arg for a in args.args] != ["x", "y"] or args.vararg or args.kwarg
                or args.kwonlyargs or args.defaults or args.posonlyargs or fn.decorator_list
                or fn.returns):
            raise ValueError(f"{fn.name} must take exactly (x, y)")
        local = {"x", "y"}
        for node in ast.walk(fn):
            if not isinstance(node, _NODES):
                raise ValueError(f"{type(node).__name__} is not allowed in generated code")
            if isinstance(node, ast.Constant) and (
                    node.value is not None and not isinstance(node.value, (int, float))):
                raise ValueError("only numeric constants are allowed")
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Store):
                    local.add(node.id)
                elif node.id not in names and node.id not in local:
                    raise ValueError(f"unknown name {node.id!r}")
            if isinstance(node, ast.Call) and not (
                    isinstance(node.func, ast.Name) and node.func.id in names):
                raise ValueError("only calls of NumPy names are allowed")
    return tree


def _build(source: str, names: dict[str, str]) -> Compiled:
    tree = check_source(source, names)
    ns = _namespace(names)
    exec(compile(tree, "<optviz derived surface>", "exec"), ns)  # noqa: S102 - checked above
    return tuple(ns[f] for f in FUNCTIONS)  # type: ignore[return-value]


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by this user and not writable by group or others."""
    getuid = getattr(os, "getuid", None)
    owner_ok = getuid is None or st.st_uid == getuid()
    return owner_ok and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path, formula: str) -> dict | None:
    try:
        if not _private(path.parent.stat()):
            return None
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > 1 << 20:
                return None
            entry = json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError):
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
