"""The interactive web figure: one self-contained HTML page per config.

Live: the page computes its paths itself, for any start and any value of
each optimizer's learning rate and main hyperparameter. It carries optviz's
engine in JavaScript (webengine.js: one function per transform, twins of the
optimizers that do not split into transforms, torch's schedules, the
engine's stopping rules), the surface's f, gradient and Hessian translated
from the NumPy code the engine runs (core/jscode.py), and each optimizer as
the composition its registry entry builds (core/optim/export.py). The
config's own runs are stored exactly (they are what the page shows at the
config's values, and the page checks its own computation against them).

Fallback: an optimizer without a JavaScript form (a torch class, a plugin
not composed from optviz's transforms, noisy gradients, a surface the
translation does not cover) gets today's precomputed paths: computed here
with optviz's own engine, one batch per optimizer: every trajectory on the
grid of slider values (a log-spaced learning-rate grid x the main
hyperparameter's grid) x a grid of start points, with the config's own values
inserted as grid points. Its sliders and start snap to that grid, and the
page says which optimizers are live.

Storage of precomputed paths (decoded in the page by the browser's own ``DecompressionStream``):

- positions quantised to ``q = span / 2**14`` of the domain's larger side
  (error at most q/2), losses to a relative ``2**-14`` through an
  ``asinh(loss / s)`` code (relative error at most 2**-15 for ``|loss| >> s``,
  absolute ``s * 2**-15`` near zero);
- each coordinate of a trajectory delta-coded along the steps, as zigzag
  varints, gzip-compressed and base64-encoded;
- the config's own trajectories (one per optimizer) and the value grid behind
  the hover read-out stored exactly, as float64.

The contour background is matplotlib's (``draw_surface`` on an axes without
margins, so the pixel <-> data mapping is exact), embedded as a PNG. The same
page, with the run's own values only, is the ``html`` format.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from optviz.core.engine import simulate
from optviz.core.trajectories import Trajectories
from optviz.errors import ConfigError, RenderError
from optviz.input.config import RunConfig
from optviz.outputs import atomic_path

POSITION_BITS = 14  # q = span / 2**14
LOSS_QUANTUM = 2.0 ** -14  # in asinh(loss / s)
LOSS_SCALE = 1e-6  # s, relative to the largest |f| on the value grid
MAX_VALUES = 4_000_000  # points (x, y, loss) a page may hold (~20 MB); the default holds 0.7 M
# points of the html format's fan (runs 1 .. N-1), stored exactly: 250,000 points are
# 6 MB of float64 before gzip; past it the page shows run 0 and says so
MAX_FAN_POINTS = 250_000
PLOT_WIDTH = 900  # pixels of the background image


def main_param(kind: str) -> str | None:
    """The hyperparameter an optimizer's second slider controls (None: no second slider)."""
    from optviz.core.optim.registry import get_spec

    return get_spec(kind).main_param


@dataclass(frozen=True)
class OptimizerGrid:
    """One optimizer's slider values: lrs (L,), mains (M,) for its main hyperparameter."""

    label: str
    type: str
    lrs: np.ndarray
    main: str | None
    mains: np.ndarray
    own_lr: int  # index of the config's lr in lrs
    own_main: int  # index of the config's main value in mains (0 without a main)

    @property
    def count(self) -> int:
        return len(self.lrs) * len(self.mains)


def rounded(grid: np.ndarray, digits: int = 3) -> np.ndarray:
    """Grid values rounded to *digits* significant digits, so that the value a
    slider shows is the value the path was computed with."""
    return np.unique([float(f"{v:.{digits}g}") for v in grid])


def with_value(grid: np.ndarray, value: float, scale: float) -> tuple[np.ndarray, int]:
    """*grid* with *value* in it exactly: (grid, index). The nearest grid point,
    if within 1% of *scale*, is replaced by it; otherwise it is inserted."""
    grid = np.asarray(grid, dtype=np.float64)
    near = int(np.argmin(np.abs(grid - value)))
    if abs(grid[near] - value) <= 0.01 * scale:
        grid = grid.copy()
        grid[near] = value
        return grid, near
    grid = np.sort(np.append(grid, value))
    return grid, int(np.flatnonzero(grid == value)[0])


def own_lr(params) -> float:
    """An optimizer's lr: its own, or a wrapper's base's (sam, lookahead)."""
    while "lr" not in params:
        params = params["base"]
    return params["lr"]


def in_range(kind: str, name: str, value: float, config: RunConfig) -> bool:
    """Whether *value* is within the declared range of *kind*'s hyperparameter *name*."""
    from optviz.core.optim.registry import get_spec

    param = {p.name: p for p in get_spec(kind).param_specs(config.conventions)}[name]
    return param.check is None or bool(param.check(value))


def optimizer_grids(config: RunConfig, own_only: bool = False,
                    only: list[int] | None = None) -> list[OptimizerGrid]:
    """Each optimizer's lr and main-hyperparameter grid, the config's values included
    (*only*: the optimizers with these indices)."""
    web = config.web
    out = []
    for k, o in enumerate(config.optimizers):
        if only is not None and k not in only:
            continue
        params = o.params
        if "lr" not in params and not own_only:  # sam / lookahead: the lr is the base's
            from optviz.errors import ConfigError

            at = ("optimizers", k, "type")
            raise ConfigError(f"the web page's grid varies each optimizer's lr; {o.type} has "
                              "none of its own (its base's)",
                              file=str(config.file) if config.file else None,
                              line=config.lines.get(at, config.lines.get(at[:2])),
                              key=f"optimizers[{k}].type",
                              hint=f"leave {o.label!r} out of the web page's config")
        lr = float(own_lr(params))
        main = main_param(o.type)
        if own_only or web.lr_values == 1:
            lrs, il = np.array([lr]), 0
        else:
            lrs, il = with_value(rounded(np.geomspace(lr / 10 ** web.lr_decades,
                                                      lr * 10 ** web.lr_decades,
                                                      web.lr_values)), lr, lr)
        if main is None:
            mains, im = np.array([np.nan]), 0
        else:
            value = float(params[main])
            if own_only or web.main_values == 1:
                mains, im = np.array([value]), 0
            else:
                lo, hi = web.main_range
                # even in log(1 - value): 0, 0.68, 0.9, 0.968, 0.99 for [0, 0.99] and 5 values
                spaced = 1.0 - np.geomspace(1.0 - lo, 1.0 - hi, web.main_values)
                # only values in the hyperparameter's declared range (d_coef > 0)
                spaced = [v for v in rounded(spaced) if in_range(o.type, main, v, config)]
                mains, im = with_value(spaced or [value], value, max(1.0 - value, 1e-6))
        out.append(OptimizerGrid(o.label, o.type, lrs, main, mains, il, im))
    return out


def start_grid(config: RunConfig, own_only: bool = False) -> tuple[np.ndarray, int]:
    """(S, 2) start points: an n x n grid of cell centres over the domain, then the
    config's start (unless it is a grid point); and the index of the config's start."""
    start = np.array(config.start, dtype=np.float64)
    n = config.web.starts
    if own_only or n == 1:
        return start[None, :], 0
    (x0, x1), (y0, y1) = config.surface.domain
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    X, Y = np.meshgrid(xs, ys)
    grid = np.stack([X.ravel(), Y.ravel()], axis=1)
    same = np.flatnonzero((grid == start).all(axis=1))
    if same.size:
        return grid, int(same[0])
    return np.vstack([grid, start]), len(grid)


def check_size(config: RunConfig, own_only: bool = False) -> int:
    """The number of precomputed points the page will hold; ConfigError if over MAX_VALUES."""
    if own_only:
        return 0
    only = fallback_indices(config)
    if not only:
        return 0
    grids = optimizer_grids(config, own_only, only)
    starts = len(start_grid(config, own_only)[0])
    total = sum(g.count for g in grids) * starts * (config.steps + 1)
    if total > MAX_VALUES:
        raise ConfigError(f"the web page would hold {total:,} points ({starts} starts, "
                          f"{config.steps} steps); the limit is {MAX_VALUES:,}",
                          file=str(config.file) if config.file else None, key="web",
                          hint="lower web.lr_values, web.main_values or web.starts, or steps")
    return total


def precompute(config: RunConfig, grids: list[OptimizerGrid], starts: np.ndarray
               ) -> list[Trajectories]:
    """Every precomputed trajectory of the page, one batch per optimizer (those of
    *grids*, matched by label): rows ordered (lr, main value, start), i.e.
    row = (il * M + im) * S + s."""
    from optviz.core.optim import make_optimizer, resolve_hyperparams

    check_size(config)
    out = []
    s = len(starts)
    by_label = {o.label: o for o in config.optimizers}
    for g in grids:
        o = by_label[g.label]
        il, im, si = np.meshgrid(np.arange(len(g.lrs)), np.arange(len(g.mains)),
                                 np.arange(s), indexing="ij")
        given = dict(o.params, lr=g.lrs[il.ravel()][:, None])
        if g.main is not None:
            given[g.main] = g.mains[im.ravel()][:, None]
        params = resolve_hyperparams(o.type, given, config.conventions)
        opt = make_optimizer(o.type, config.conventions, **params)
        # the same noise sequence as the run (one draw per step, shared by every row)
        out.append(simulate(config.surface, {o.label: opt}, starts[si.ravel()], config.steps,
                            noise=config.noise if o.noisy else None))
    return out



# ------------------------------------------------------------------ language
#: the language a script's letters most likely mean, when the config names none
SCRIPT_LANGS = {"LATIN": "en", "CYRILLIC": "ru", "GREEK": "el", "HANGUL": "ko",
                "HIRAGANA": "ja", "KATAKANA": "ja", "CJK": "zh", "ARABIC": "ar", "HEBREW": "he",
                "DEVANAGARI": "hi", "THAI": "th", "ARMENIAN": "hy", "GEORGIAN": "ka"}


def page_lang(config: RunConfig) -> str:
    """The page's ``lang``: web.lang if given, else the language of the script most
    of the config's text (title, lesson, labels) is written in (Latin: en; kana
    over CJK: ja); "und" (undetermined) for a script it does not know."""
    import unicodedata

    if config.web.lang:
        return config.web.lang
    text = " ".join([config.title, config.lesson, *(o.label for o in config.optimizers)])
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = unicodedata.name(ch, "").split(" ")[0]
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "en"
    if counts.get("HIRAGANA") or counts.get("KATAKANA"):
        return "ja"
    script = max(counts, key=lambda k: (counts[k], k == "LATIN"))
    return SCRIPT_LANGS.get(script, "und")


# ------------------------------------------------------------------ live
def engine_code() -> str:
    """optviz's engine in JavaScript (webengine.js), as the page embeds it."""
    return resources.files("optviz.render").joinpath("webengine.js").read_text("utf-8")


def live_forms(config: RunConfig) -> tuple[str | None, list[dict | str]]:
    """(the surface's JavaScript, or None if it has none; per optimizer its export
    for the page, or the reason it has none and falls back to precomputed paths)."""
    from optviz.core.jscode import NotTranslatable, surface_js
    from optviz.core.optim.export import NotExportable, export_optimizer

    if not config.web.live:
        return None, ["the config asks for precomputed paths (web.live: false)"] \
            * len(config.optimizers)
    try:
        code = surface_js(config.surface)
    except NotTranslatable as e:
        return None, [f"the surface has no JavaScript form ({e})"] * len(config.optimizers)
    forms: list[dict | str] = []
    for o in config.optimizers:
        if config.noise is not None and config.noise.active and o.noisy:
            forms.append("its gradients are noisy (NumPy's random generator draws the noise)")
            continue
        try:
            forms.append(export_optimizer(o.type, o.params, config.conventions))
        except NotExportable as e:
            forms.append(str(e))
    return code, forms


def fallback_indices(config: RunConfig) -> list[int]:
    """The optimizers whose paths the page cannot compute (they are precomputed)."""
    return [k for k, f in enumerate(live_forms(config)[1]) if isinstance(f, str)]


#: a hyperparameter's declared range (the registry's ``expect``) as
#: (lowest, lowest allowed, highest, highest allowed); None: unbounded
DECLARED = {"> 0": (0.0, False, None, False), ">= 0": (0.0, True, None, False),
            "in [0, 1)": (0.0, True, 1.0, False), "in (0, 1)": (0.0, False, 1.0, False),
            "in [0, 1]": (0.0, True, 1.0, True)}


def _slider(key, name, path, value, scale, lo, hi, expect) -> dict:
    low, low_in, high, high_in = DECLARED.get(expect, (None, False, None, False))
    return {"key": key, "name": name, "path": path, "own": value, "scale": scale,
            "lo": lo, "hi": hi, "min": low, "min_in": low_in, "max": high, "max_in": high_in}


def live_sliders(config: RunConfig, o, form: dict) -> list[dict]:
    """A live optimizer's sliders: its lr (log, lr/10**d .. lr*10**d, d =
    web.lr_decades; a wrapper's: its base's) and its main hyperparameter (a
    value in [0, 1]: even in log(1 - value) over web.main_range; a positive one:
    log, value/10**d .. value*10**d). Any value in the declared range can be typed."""
    from optviz.core.optim.registry import get_spec

    d = config.web.lr_decades
    hp = form["hp"]
    out = []
    path, lr = ["lr"], hp.get("lr")
    if "lr" not in hp and isinstance(hp.get("base"), dict):
        path, lr = ["base", "hp", "lr"], hp["base"]["hp"].get("lr")
    if isinstance(lr, float) and lr > 0:
        out.append(_slider("lr", "lr", path, lr, "log", lr / 10 ** d, lr * 10 ** d, "> 0"))
    spec = get_spec(o.type)
    main = spec.main_param
    params = {p.name: p for p in spec.param_specs(config.conventions)}
    value = hp.get(main) if main else None
    if isinstance(value, float) and main in params:
        expect = params[main].expect
        if expect.startswith("in "):
            lo, hi = config.web.main_range
            lo = max(min(lo, value), 0.01 if expect.startswith("in (") else 0.0)
            out.append(_slider("main", main, [main], value, "log1m", lo, max(hi, value), expect))
        elif value > 0:
            out.append(_slider("main", main, [main], value, "log", value / 10 ** d,
                               value * 10 ** d, expect))
    return out


def live_label(config: RunConfig, o) -> dict:
    """How the page names a live optimizer at other values: the config's label if it
    gave one, else the type, the slider values that differ from the registry's
    defaults, and the other hyperparameters its default label shows."""
    from optviz.core.optim import default_label
    from optviz.core.optim.registry import get_spec

    spec = get_spec(o.type)
    defaults = spec.defaults(config.conventions)
    main = spec.main_param
    rest = dict(o.params)
    for key in ("lr", main):
        if key in rest and key in defaults:
            rest[key] = defaults[key]
    tokens = default_label(o.type, rest, config.conventions).split(" ")[1:]
    return {"custom": o.custom_label, "label_rest": tokens,
            "defaults": {k: defaults.get(k) for k in ("lr", main) if k and
                         isinstance(defaults.get(k), float)}}

# ------------------------------------------------------------------ encoding
def zigzag_varints(values: np.ndarray) -> bytes:
    """Signed integers as zigzag LEB128 varints (7 bits a byte, high bit: more follows)."""
    v = np.asarray(values, dtype=np.int64)
    z = ((v << 1) ^ (v >> 63)).astype(np.uint64)
    nbytes = np.ones(len(z), dtype=np.int64)
    rest = z >> np.uint64(7)
    while rest.any():
        nbytes += rest > 0
        rest >>= np.uint64(7)
    ends = np.cumsum(nbytes)
    starts = ends - nbytes
    out = np.zeros(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    for j in range(int(nbytes.max()) if len(nbytes) else 0):
        has = nbytes > j
        group = ((z[has] >> np.uint64(7 * j)) & np.uint64(0x7F)).astype(np.uint8)
        more = (nbytes[has] > j + 1).astype(np.uint8) << 7
        out[starts[has] + j] = group | more
    return out.tobytes()


@dataclass(frozen=True)
class Codec:
    """How the page's paths are quantised: x = x0 + q*i, loss = s*sinh(u*qu)."""

    x0: float
    y0: float
    q: float
    s: float
    qu: float = LOSS_QUANTUM

    def positions(self, points: np.ndarray) -> np.ndarray:
        return np.round((points - np.array([self.x0, self.y0])) / self.q).astype(np.int64)

    def losses(self, losses: np.ndarray) -> np.ndarray:
        return np.round(np.arcsinh(losses / self.s) / self.qu).astype(np.int64)


def encode_paths(trajs: list[Trajectories], codec: Codec) -> bytes:
    """Lengths of every trajectory (all optimizers), then per trajectory its x, y
    and loss codes delta-coded along the steps: zigzag varints, gzip."""
    if not trajs:
        return gzip.compress(b"", compresslevel=9, mtime=0)
    lengths = np.concatenate([t.steps[0] + 1 for t in trajs])
    chunks = [zigzag_varints(lengths)]
    for t in trajs:
        n = t.steps[0] + 1
        pts = t.points[0]
        lss = t.losses[0]
        steps = pts.shape[1]
        keep = np.arange(steps)[None, :] < n[:, None]
        # past a run's end, repeat its last point (zero deltas, then dropped)
        last = np.take_along_axis(pts, (n - 1)[:, None, None].repeat(2, axis=2), axis=1)
        pts = np.where(keep[:, :, None], pts, last)
        lss = np.where(keep, lss, np.take_along_axis(lss, (n - 1)[:, None], axis=1))
        codes = np.concatenate([np.moveaxis(codec.positions(pts), 2, 1),
                                codec.losses(lss)[:, None, :]], axis=1)  # (N, 3, T+1)
        deltas = np.diff(codes, axis=2, prepend=0)
        chunks.append(zigzag_varints(deltas[np.broadcast_to(keep[:, None, :], deltas.shape)]))
    return gzip.compress(b"".join(chunks), compresslevel=9, mtime=0)


def encode_exact(arrays: list[np.ndarray]) -> bytes:
    """float64 little-endian, concatenated, gzip."""
    data = np.concatenate([np.asarray(a, dtype="<f8").ravel() for a in arrays])
    return gzip.compress(data.tobytes(), compresslevel=9, mtime=0)


# ----------------------------------------------------------------- the page
def background_png(surface, width: int = PLOT_WIDTH, box=None, resolution: int = 300
                   ) -> tuple[bytes, int, int]:
    """The contour background as a PNG covering exactly *box* (default: the
    domain; the page passes the static figure's view box), f on a *resolution*
    grid (a network's plane: its own): (png, w, h)."""
    from optviz.render.contour import Framed, draw_surface, new_figure

    if box is not None:
        surface = Framed(surface, box)
    (x0, x1), (y0, y1) = surface.domain
    ratio = (y1 - y0) / (x1 - x0)
    ratio = ratio if 0.4 <= ratio <= 2.5 else 0.75  # the PNG's rule for an equal aspect
    height = 2 * round(width * ratio / 2)
    fig = new_figure((width / 100, height / 100), 100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    draw_surface(ax, surface, scale=1.6, resolution=resolution)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue(), width, height


def ticks(lo: float, hi: float) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    # matplotlib's AutoLocator steps, as the static figure's axes
    return [float(v) for v in MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
            if lo - 1e-9 * (hi - lo) <= v <= hi + 1e-9 * (hi - lo)]


def grid_labels(config: RunConfig, k: int, g: OptimizerGrid) -> list[list[str]]:
    """The legend label at each (lr, main) grid point: the config's label at its own
    values and wherever the label was given; else the default label for those values."""
    from optviz.core.optim import default_label

    o = config.optimizers[k]
    custom = o.label != default_label(o.type, o.params, config.conventions)
    out = []
    for il, lr in enumerate(g.lrs):
        row = []
        for im, main in enumerate(g.mains):
            if custom or (il == g.own_lr and im == g.own_main):
                row.append(o.label)
                continue
            params = dict(o.params, lr=float(lr))
            if g.main is not None:
                params[g.main] = float(main)
            row.append(default_label(o.type, params, config.conventions))
        out.append(row)
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fl(v) -> list[float | None]:
    return [None if not np.isfinite(x) else float(x) for x in np.asarray(v, dtype=float)]


@dataclass
class WebPage:
    """A written page and what it holds (for the CLI's report and the tests)."""

    path: Path
    bytes: int
    live: tuple[str, ...]  # the labels of the optimizers the page computes itself
    data_bytes: int
    trajectories: int
    position_precision: float  # the largest position error: q / 2
    loss_precision: float  # the largest relative loss error (|loss| >> s)


def build_page(config: RunConfig, own: Trajectories, *, own_only: bool = False,
               plane=None) -> tuple[str, dict]:
    """The page's HTML text and its metadata. *own* is the config's run
    (simulate_config), stored exactly and shown first. A network's page (*plane*:
    :func:`optviz.analysis.projection.plane`) shows the loss on that plane and run 0's
    paths projected onto it, their true losses in the panel (the html format)."""
    from optviz import __version__
    from optviz.analysis.compare import run_starts
    from optviz.render.contour import (
        colours,
        ending,
        last_seen,
        legend_text,
        surface_grid,
        view_box,
    )

    surface = config.surface
    if plane is not None:
        from optviz.render.projection import PlaneView, plane_note

        surface, own, own_only = PlaneView(plane), plane.paths, True
        d = "PC" if plane.method == "pca" else "random direction "  # as the PNG's axes
    surface_code, forms = (None, ["the html format shows the config's run"]
                           * len(config.optimizers)) if own_only else live_forms(config)
    fallback = [k for k, f in enumerate(forms) if isinstance(f, str)]
    grids = optimizer_grids(config, own_only, None if own_only else fallback)
    starts, own_start = start_grid(config, own_only or not fallback)
    if plane is not None:  # the projected start
        starts = own.points[:1, 0, 0, :2].copy()
    if own_only:  # run 0 of each optimizer (the fan's other runs go exactly, below)
        trajs = [Trajectories(labels=(own.labels[k],), points=own.points[k:k + 1, :1],
                              losses=own.losses[k:k + 1, :1], steps=own.steps[k:k + 1, :1],
                              diverged=own.diverged[k:k + 1, :1]) for k in range(len(grids))]
    else:
        trajs = precompute(config, grids, starts)
    (x0, x1), (y0, y1) = surface.domain
    # the static figure's view: the domain grown to hold the config's paths (render.view_box)
    (v0, v1), (w0, w1) = view_box(surface, own, config.render.view_box) if plane is None \
        else surface.domain  # a plane: its own grid, which holds the paths
    r = config.web.value_grid if surface_code is None else 0  # live: f itself, at the pointer
    if plane is not None:
        r = len(plane.alphas)
        Z = plane.losses
    else:
        Z = surface_grid(surface, r)[2] if r else np.zeros((0, 0))
    finite = Z[np.isfinite(Z)]
    zmax = float(np.max(np.abs(finite))) if finite.size else \
        float(np.max(np.abs(own.losses[np.isfinite(own.losses)]), initial=1.0))
    codec = Codec(x0=float(x0), y0=float(y0), q=max(x1 - x0, y1 - y0) / 2 ** POSITION_BITS,
                  s=LOSS_SCALE * max(zmax, 1e-12))
    paths = encode_paths(trajs, codec)
    exact_arrays = [Z]
    for k in range(len(config.optimizers)):
        exact_arrays += [own.path(k)[:, 0], own.path(k)[:, 1], own.loss_path(k)]
    # the html format's fan (starts:, noise seeds): every other run, exactly, as the
    # PNG draws it, unless the runs are too many to carry (the page then says so)
    runs = own.shape[1] if own_only else 1
    fan_points = int((own.steps[:, 1:] + 1).sum()) if runs > 1 else 0
    fan_exact = runs > 1 and fan_points <= MAX_FAN_POINTS
    if fan_exact:
        for k in range(len(config.optimizers)):
            for i in range(1, runs):
                exact_arrays += [own.path(k, i)[:, 0], own.path(k, i)[:, 1], own.loss_path(k, i)]
    exact = encode_exact(exact_arrays)
    png, pw, ph = background_png(surface, box=((v0, v1), (w0, w1))) if plane is None else \
        background_png(surface, resolution=len(plane.alphas))
    cols = colours(len(config.optimizers))
    grid_of = dict(zip(fallback if not own_only else range(len(grids)), zip(grids, trajs)))
    opts = []
    for k, o in enumerate(config.optimizers):
        entry = {
            "label": o.label, "type": o.type, "colour": cols[k],
            "own_seen": [float(v) for v in last_seen(own.path(k), (v0, v1), (w0, w1))],
            "own_n": int(own.steps[k, 0]) + 1, "own_diverged": bool(own.diverged[k, 0]),
            "own_legend": legend_text(o.label, float(own.final_losses[k, 0]),
                                      ending(own, k) == "diverged",
                                      escaped_at=int(own.steps[k, 0])
                                      if ending(own, k) == "escaped" else None),
            "live": not isinstance(forms[k], str), "count": 0,
        }
        if entry["live"]:
            entry.update(export=forms[k], sliders=live_sliders(config, o, forms[k]),
                         **live_label(config, o))
        else:
            g, t = grid_of[k]
            # a diverged run's X goes where it was last seen on the plot, as in the PNG
            gone = np.flatnonzero(t.diverged[0])
            seen = [last_seen(t.path(0, int(i)), (v0, v1), (w0, w1)) for i in gone]
            entry.update({
                "why": forms[k], "labels": grid_labels(config, k, g),
                "diverged": [[int(i), float(p[0]), float(p[1])] for i, p in zip(gone, seen)],
                "lr": _fl(g.lrs), "main": g.main, "mains": _fl(g.mains) if g.main else [],
                "own_lr": g.own_lr, "own_main": g.own_main, "count": g.count * len(starts),
            })
        opts.append(entry)
    meta = {
        "version": __version__, "title": config.title,
        "surface": surface.title if plane is None else config.surface.title,
        "lesson": config.lesson,
        # a network: what the plane is and how much of each path it holds
        "plane_note": None if plane is None else plane_note(plane),
        "axes": list(getattr(config.surface, "axes", ("x", "y"))) if plane is None else
        [f"α along {d}1", f"β along {d}2"],
        "domain": [[float(v0), float(v1)], [float(w0), float(w1)]],  # the view shown
        "surface_domain": [[float(x0), float(x1)], [float(y0), float(y1)]],
        "bound": surface.bound().tolist() if plane is None else
        [[v0 - 10 * (v1 - v0), v1 + 10 * (v1 - v0)], [w0 - 10 * (w1 - w0), w1 + 10 * (w1 - w0)]],
        "image": [pw, ph], "xticks": ticks(v0, v1), "yticks": ticks(w0, w1),
        "steps": config.steps, "fps": config.render.fps,
        "max_frames": config.render.max_frames,
        "start": [float(v) for v in starts[own_start]],
        "starts": [[float(a), float(b)] for a, b in starts], "own_start": own_start,
        "start_grid": 1 if own_only or not fallback else config.web.starts,
        "minima": [[float(a), float(b)] for a, b in surface.minima],
        "fstar": None if surface.minimum_value is None else float(surface.minimum_value),
        # a fan (the config's starts:): the other runs' starts, computed live in the page
        "fan": [] if own_only or config.starts is None else
        [[float(a), float(b)] for a, b in run_starts(config)[1:]],
        "opts": opts,
        # the html format's fan: per optimizer, [points, diverged] of runs 1 .. N-1,
        # stored exactly after the config's own paths
        "fan_exact": [[[int(own.steps[k, i]) + 1, bool(own.diverged[k, i])]
                       for i in range(1, runs)] for k in range(len(config.optimizers))]
        if fan_exact else [],
        "fan_left_out": (f"{runs - 1} further runs of each optimizer ({fan_points:,} points) "
                         f"are more than this page carries ({MAX_FAN_POINTS:,}); "
                         "the PNG and trajectories.csv have them") if runs > 1 and not fan_exact
        else None,
        "codec": {"x0": codec.x0, "y0": codec.y0, "q": codec.q, "s": codec.s, "qu": codec.qu},
        "values": {"n": r, "x": [float(x0), float(x1)], "y": [float(y0), float(y1)]},
        "own_only": own_only, "live_surface": surface_code is not None,
        "web": {"lr_values": config.web.lr_values, "lr_decades": config.web.lr_decades,
                "main_values": config.web.main_values,
                "main_range": list(config.web.main_range)},
        "bytes": {"paths": len(paths), "exact": len(exact), "png": len(png)},
        "trajectories": int(sum(o["count"] for o in opts)),
    }
    template = resources.files("optviz.render").joinpath("web.html").read_text("utf-8")
    engine = engine_code() if surface_code is not None else ""
    for code in (engine, surface_code or ""):  # program text, never data: nothing to escape
        if "</" in code or "<!--" in code:
            raise RenderError("generated JavaScript would end its <script> element")
    import html

    page = fill_template(template, {"LANG": html.escape(page_lang(config), quote=True),
                                    "TITLE": html.escape(config.title, quote=True),
                                    "META": script_json(meta), "PNG": _b64(png),
                                    "PATHS": _b64(paths), "EXACT": _b64(exact),
                                    "ENGINE": engine, "SURFACE": surface_code or "null"})
    return page, meta


_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                   0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(value) -> str:
    """*value* as JSON to embed in a ``<script>`` element: ``<``, ``>``, ``&``, U+2028
    and U+2029 written as ``\\u`` escapes (JSON.parse reads them back as the same
    text), so that a label holding ``</script>`` or ``<!--<script>`` cannot end the
    element or switch the HTML parser into its escaped-script states."""
    return json.dumps(value, allow_nan=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def fill_template(template: str, values: dict[str, str]) -> str:
    """Each ``__OPTVIZ_NAME__`` of *template* replaced by ``values[NAME]`` (already
    escaped for its place) in one pass: a title or label that spells a placeholder
    is text, never filled in again."""
    import re

    return re.sub(r"__OPTVIZ_([A-Z]+)__", lambda m: values.get(m.group(1), m.group(0)),
                  template)


def write_page(config: RunConfig, own: Trajectories, target: Path, *,
               own_only: bool = False, plane=None) -> WebPage:
    """Build the page and write it atomically to *target*."""
    page, meta = build_page(config, own, own_only=own_only, plane=plane)
    data = page.encode("utf-8")
    try:
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    except OSError as e:
        raise RenderError(f"cannot write {target}: {e.strerror or e}") from None
    codec = meta["codec"]
    return WebPage(path=Path(target), bytes=len(data),
                   live=tuple(o["label"] for o in meta["opts"] if o["live"]),
                   data_bytes=meta["bytes"]["paths"] + meta["bytes"]["exact"],
                   trajectories=meta["trajectories"], position_precision=codec["q"] / 2,
                   loss_precision=float(np.sinh(codec["qu"] / 2)))
