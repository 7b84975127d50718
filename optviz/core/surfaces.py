"""Surfaces: a formula, its domain, and its exact gradient and Hessian.

A surface is data (``surfaces/<name>.yaml``, or an inline mapping in a run
config). Its formula is the only definition: the gradient and Hessian are
derived from it symbolically with SymPy and compiled to vectorised NumPy
functions of points of shape ``(..., 2)``, once per formula: the generated
code is cached on disk (see :mod:`optviz.core.codegen`), so a later run
does not import SymPy at all.

Kinks follow subgradient conventions: d|x|/dx = sign(x) = 0 at x = 0, the
derivative of max(a, b) splits 1/2 : 1/2 at a tie, and Dirac deltas (second
derivatives of kinks) are taken as 0.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from optviz.errors import SurfaceError, did_you_mean
from optviz.input import formula as formula_lang
from optviz.input import library
from optviz.input.text import MATH_HINT, clean_text, mathtext_problem
from optviz.input.schema import SURFACE
from optviz.input.yamldoc import Document, load_document

KEYS = SURFACE.names  # every key with its type, default and help: optviz/input/schema.py
REQUIRED = SURFACE.required
DEFAULT_LEVELS = SURFACE.default("levels")
MAX_DOMAIN = 1e6  # as large as a formula's numbers; wider ranges overflow the plot grid
MIN_DOMAIN_WIDTH = 1e-6


@dataclass(frozen=True, eq=False)
class Surface:
    """A 2-D test surface with exact derivatives.

    ``f``, ``grad``, ``value_and_grad`` and ``hess`` take points of shape
    ``(..., 2)`` (float64) and return shapes ``(...)``, ``(..., 2)`` and
    ``(..., 2, 2)``. As an oracle for :func:`optviz.core.engine.simulate` it is
    the case D = 2 (``dim``).
    """

    dim: ClassVar[int] = 2
    name: str
    title: str
    formula: str
    domain: tuple[tuple[float, float], tuple[float, float]]
    levels: tuple[float, ...] | int = DEFAULT_LEVELS
    start: tuple[float, float] | None = None
    minima: tuple[tuple[float, float], ...] = ()
    minimum_value: float | None = None
    source: str = ""
    description: str = ""
    path: Path | None = field(default=None, compare=False)

    def __getstate__(self):
        """Pickled (e.g. to a batch worker) without the derived functions: the
        receiving process compiles them again (from the disk cache)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_symbolic", "_compiled")}

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ------------------------------------------------------------ symbolic
    @functools.cached_property
    def _symbolic(self):
        import sympy as sp

        expr, (x, y) = formula_lang.parse(self.formula)

        def clean(e):  # Dirac deltas are second derivatives of kinks: take them as 0
            return e.replace(sp.DiracDelta, lambda *args: sp.S.Zero)

        grad = [clean(sp.diff(expr, v)) for v in (x, y)]
        formula_lang.check_derivatives(grad, str(self.path) if self.path else None)
        hess = [clean(sp.diff(grad[0], x)), clean(sp.diff(grad[0], y)),
                clean(sp.diff(grad[1], y))]
        return expr, grad, hess, (x, y)

    @functools.cached_property
    def _compiled(self):
        """(value, value_and_grad, hessian): cached NumPy code, derived only once per formula."""
        from optviz.core import codegen

        return codegen.compiled(self.formula, lambda: self._symbolic)

    def gradient_formulas(self) -> tuple[str, str]:
        """The derived partial derivatives, as text (for ``optviz describe``)."""
        _, grad, _, _ = self._symbolic
        return str(grad[0]), str(grad[1])

    # ------------------------------------------------------------ numeric
    def f(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = self._compiled[0](pts[..., 0], pts[..., 1])
        return np.broadcast_to(np.asarray(out, dtype=np.float64), pts.shape[:-1]).copy()

    def value_and_grad(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = np.asarray(points, dtype=np.float64)
        with np.errstate(all="ignore"):
            value, gx, gy = self._compiled[1](pts[..., 0], pts[..., 1])
        grad = np.empty(pts.shape, dtype=np.float64)
        grad[..., 0] = gx
        grad[..., 1] = gy
        return np.broadcast_to(np.asarray(value, dtype=np.float64), pts.shape[:-1]).copy(), grad

    def grad(self, points: np.ndarray) -> np.ndarray:
        return self.value_and_grad(points)[1]

    def hess(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        with np.errstate(all="ignore"):
            hxx, hxy, hyy = self._compiled[2](pts[..., 0], pts[..., 1])
        out = np.empty(pts.shape + (2,), dtype=np.float64)
        out[..., 0, 0] = hxx
        out[..., 0, 1] = hxy
        out[..., 1, 0] = hxy
        out[..., 1, 1] = hyy
        return out

    # ------------------------------------------------------------ geometry
    @property
    def extent(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.domain
        return x0, x1, y0, y1

    def bound(self, factor: float = 10.0) -> np.ndarray:
        """A generous box around the domain: ``[[xlo, ylo], [xhi, yhi]]``.

        A run that leaves it is considered diverged.
        """
        (x0, x1), (y0, y1) = self.domain
        cx, cy, wx, wy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        return np.array([[cx - factor * wx, cy - factor * wy],
                         [cx + factor * wx, cy + factor * wy]])


# ---------------------------------------------------------------- loading
def list_surfaces() -> list[str]:
    """Names of the shipped surfaces."""
    return library.names("surfaces")


def load_surface(spec: str | Path | Mapping | Surface, *, doc: Document | None = None,
                 at: tuple = (), base: Path | None = None) -> Surface:
    """A Surface from a library name, a path to a surface YAML, or a mapping.

    *doc* and *at* locate an inline mapping inside a larger document (a run
    config) so that errors name its file and line; *base* is the folder that
    relative paths start from (the config's), before the working folder.
    How a name and a path are told apart: :mod:`optviz.input.library`.
    """
    if isinstance(spec, Surface):
        return spec
    if isinstance(spec, Mapping):
        doc = doc or Document(file="<inline surface>", data=spec)
        return _from_mapping(spec, doc, at, default_name="custom")
    if not isinstance(spec, (str, Path)) or not str(spec).strip():
        raise SurfaceError("expected a surface name, a path to a surface YAML file or a "
                           "mapping with at least 'formula' and 'domain'")
    path = library.find("surfaces", spec, base)
    if path is None:
        raise SurfaceError(f"unknown surface '{spec}': no such file and no shipped surface "
                           "of that name",
                           hint=did_you_mean(Path(str(spec)).stem, list_surfaces())
                           or "run 'optviz list surfaces' to see them")
    return _load_file(path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _load_file(path: Path, mtime_ns: int) -> Surface:
    doc = load_document(path, "surface file")
    if doc.data is None:
        raise doc.error("the surface file is empty; expected a mapping with at least "
                        "'formula' and 'domain'", cls=SurfaceError)
    if not isinstance(doc.data, Mapping) or "formula" not in doc.data:
        # not a surface document: say so without quoting any of its contents
        looks = isinstance(doc.data, Mapping) and any(k in doc.data for k in
                                                      ("optimizers", "response"))
        raise SurfaceError("this is not a surface file: a surface is a YAML mapping with at "
                           "least 'formula' and 'domain'", file=str(path),
                           hint="it looks like a run config; a config names a surface in "
                                "its 'surface:' key" if looks else
                                "run 'optviz list surfaces' for the shipped ones")
    return _from_mapping(doc.data, doc, (), default_name=path.stem, path=path)


def _from_mapping(data: Any, doc: Document, at: tuple, default_name: str,
                  path: Path | None = None) -> Surface:
    def err(message: str, key: str | None = None, hint: str | None = None) -> SurfaceError:
        return doc.error(message, at + ((key,) if key else ()), hint, cls=SurfaceError)

    if not isinstance(data, Mapping):
        raise err(f"a surface must be a mapping with 'formula' and 'domain', got "
                  f"{type(data).__name__}")
    for key in data:
        if key not in KEYS:
            raise err(f"unknown key '{key}' in a surface", str(key),
                      did_you_mean(str(key), KEYS) or "surface keys: " + ", ".join(KEYS))
    for key in REQUIRED:
        if key not in data:
            raise err(f"the surface has no '{key}'", None,
                      "a surface needs at least 'formula' and 'domain'")
    try:
        tree = formula_lang.validate(data["formula"])
        from optviz.core import codegen

        # SymPy checks the constant parts it folds (x - x + 10) and the gradient's
        # size; a cache hit spares SymPy, never the limits: it checks with SymPy
        # whatever a SymPy-free test cannot rule out
        if not codegen.is_cached(data["formula"]) or formula_lang.sympy_checks_needed(tree):
            formula_lang.check_symbolic(tree, str(path) if path else None)
    except SurfaceError as e:
        raise doc.locate(e, at) from None
    domain = _domain(data["domain"], err)
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise err("the name must be a non-empty string", "name")
    title = clean_text(str(data.get("title") or name))  # no control characters
    problem = mathtext_problem(title)
    if problem:
        raise err(f"the title '{title}' has math matplotlib cannot typeset: {problem}",
                  "title", MATH_HINT)
    levels = _levels(data.get("levels", DEFAULT_LEVELS), err)
    start = _point(data["start"], err, "start") if data.get("start") is not None else None
    minima_raw = data.get("minima") or []
    if not isinstance(minima_raw, list):
        raise err("minima must be a list of [x, y] points", "minima")
    minima = tuple(_point(m, err, "minima") for m in minima_raw)
    minimum_value = data.get("minimum_value")
    if minimum_value is not None:
        minimum_value = _number(minimum_value, err, "minimum_value")
    return Surface(name=name, title=title, formula=data["formula"],
                   domain=domain, levels=levels, start=start, minima=minima,
                   minimum_value=minimum_value,
                   source=clean_text(str(data.get("source") or "")),
                   description=clean_text(str(data.get("description") or "")), path=path)


def _number(value: Any, err, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise err(f"expected a finite number, got {value!r}", key)
    return float(value)


def _point(value: Any, err, key: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise err(f"expected a point [x, y], got {value!r}", key)
    return _number(value[0], err, key), _number(value[1], err, key)


def _domain(value: Any, err) -> tuple[tuple[float, float], tuple[float, float]]:
    example = "e.g. domain: {x: [-3, 3], y: [-3, 3]}"
    if not isinstance(value, Mapping) or set(value) != {"x", "y"}:
        raise err(f"expected a mapping with x and y ranges, got {value!r}", "domain", example)
    out = []
    for axis in ("x", "y"):
        lo, hi = _point(value[axis], err, "domain")
        if not lo < hi:
            raise err(f"the {axis} range [{lo:g}, {hi:g}] is empty: the first number must be "
                      "the smaller", "domain", example)
        if max(abs(lo), abs(hi)) > MAX_DOMAIN or hi - lo < MIN_DOMAIN_WIDTH:
            raise err(f"the {axis} range [{lo:g}, {hi:g}] must lie within +-{MAX_DOMAIN:g} "
                      f"and be at least {MIN_DOMAIN_WIDTH:g} wide", "domain", example)
        out.append((lo, hi))
    return out[0], out[1]


def _levels(value: Any, err) -> tuple[float, ...] | int:
    if isinstance(value, int) and not isinstance(value, bool):
        lo, hi = SURFACE["levels"].minimum, SURFACE["levels"].maximum
        if not lo <= value <= hi:
            raise err(f"a level count must be between {lo} and {hi}, got {value}", "levels")
        return value
    if not isinstance(value, list) or len(value) < 2:
        raise err("levels must be a count or a list of at least two numbers", "levels")
    levels = sorted({_number(v, err, "levels") for v in value})
    if len(levels) < 2:
        raise err(f"levels must hold at least two different numbers, got {value!r}",
                  "levels", "e.g. levels: [0.5, 1, 2, 4], or a count such as levels: 30")
    return tuple(levels)
