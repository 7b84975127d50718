"""Pure drawing on a given Axes: the surface, the paths, the legend, the layout.

No file I/O and no pyplot: figures are plain ``matplotlib.figure.Figure``
objects on an Agg canvas, so nothing global leaks and no display is needed.
The animation pipeline reuses these pieces (:func:`compose` lays out both
alike): the background (surface, minima, start, legend, title) is drawn
once, the paths are the only moving artists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optviz.input.schema import RENDER
from optviz.render.fonts import check_text, styled
from optviz.render.labels import number
from optviz.render.spec import RenderSpec
from optviz.render.styles import (  # noqa: F401 - colours, looks: used by the other renderers
    BACKGROUND,
    CONTOUR_ALPHA,
    CONTOUR_LINE,
    LEVEL_LABEL,
    OKABE_ITO,
    START_COLOUR,
    Look,
    colours,
    looks,
)

PATH_Z, HEAD_Z, START_Z = 6, 7, 8  # above contour labels (blitted frames stay exact)
#: the known minima lie under the paths, so no head hides under them (the start
#: is a ring over them: a head at the start shows inside it)
MARK_Z = PATH_Z - 0.5
START_RING = {"marker": "o", "mfc": "none", "mec": START_COLOUR}
HALO_ALPHA = 0.9  # the white edge under each path: lifts it off the contours
DIVERGED_GROW = 3.0  # a diverged run's X is this many points larger than a head dot
MAX_LABELLED_LEVELS = 12
EXIT_MARKERS = {"right": ">", "left": "<", "top": "^", "bottom": "v"}
VIEW_BOXES = RENDER["view_box"].choices


def new_figure(size=(12.0, 8.0), dpi=100):
    """A Figure on an Agg canvas with pixel dimensions rounded to even numbers."""
    w = 2 * round(size[0] * dpi / 2)
    h = 2 * round(size[1] * dpi / 2)
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def equal_aspect(box) -> bool:
    """Equal axes (the gradient meets the contours at right angles) unless
    that would make the plot a sliver (sides more than 4 : 1)."""
    (x0, x1), (y0, y1) = box
    return 0.25 <= (y1 - y0) / (x1 - x0) <= 4


def view_box(surface, traj=None, mode: str = "paths", n: int = 0, pad: float = 0.04,
             reach: float = 3.0):
    """The plotted box: the surface's domain, or (*mode* "paths") the domain
    grown to hold every path that did not diverge, padded by *pad* of its
    span, but never past *reach* half-spans from the domain's centre. A run
    that diverged, or goes farther, leaves the view there, marked."""
    (x0, x1), (y0, y1) = surface.domain
    if mode != "paths" or traj is None:
        return (x0, x1), (y0, y1)
    lo, hi = np.array([x0, y0], float), np.array([x1, y1], float)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    kept = [traj.path(k, n) for k in range(len(traj.labels)) if not traj.diverged[k, n]]
    pts = np.concatenate(kept) if kept else np.empty((0, 2))
    pts = pts[np.all(np.abs(pts - centre) <= reach * half, axis=1)]
    if pts.size:
        below, above = pts.min(axis=0) < lo, pts.max(axis=0) > hi
        lo, hi = np.minimum(lo, pts.min(axis=0)), np.maximum(hi, pts.max(axis=0))
        lo, hi = lo - pad * (hi - lo) * below, hi + pad * (hi - lo) * above
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


class Framed:
    """The surface seen through another box: *box* as its domain (for drawing)."""

    def __init__(self, surface, box):
        self._surface, self.domain = surface, box

    def __getattr__(self, name):
        return getattr(self._surface, name)


def surface_grid(surface, resolution=300):
    (x0, x1), (y0, y1) = surface.domain
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, surface.f(np.stack([X, Y], axis=-1))


OFF_SCALE = 1e200  # values beyond are drawn as off the scale (matplotlib's extend='both'
#                   puts its own bounds at +-1e250, so levels must stay well inside)
LOG_RANGE = 1e12  # a positive surface spanning more than this gets log-spaced levels


def _levels(surface, Z):
    """The contour levels for the values *Z*, and a one-line note (or None).

    Levels come from the finite values within +-OFF_SCALE only. None instead
    of levels when no contour can be drawn: f is nowhere finite, or constant.
    """
    finite = Z[np.isfinite(Z) & (np.abs(Z) < OFF_SCALE)]
    undefined, huge = np.isnan(Z).mean(), 1.0 - np.isnan(Z).mean() - finite.size / Z.size
    if finite.size == 0:
        return None, ("f is not finite anywhere on this domain: no contours to draw"
                      if huge == 0 else "f overflows on all of this domain: no contours to draw")
    lo, hi = float(finite.min()), float(finite.max())
    where = None
    if undefined >= 0.5:
        where = f"f is undefined on {undefined:.0%} of this domain (left blank)"
    elif huge >= 0.5:
        where = (f"f overflows or passes {OFF_SCALE:g} on {huge:.0%} of this domain "
                 "(shaded as above the top level)")
    if lo == hi:
        return None, f"f is constant ({lo:.6g}) where it is finite: no contours to draw"
    if isinstance(surface.levels, int):
        from matplotlib.ticker import MaxNLocator

        if lo > 0 and hi / lo > LOG_RANGE:  # linear levels would show one band
            levels = np.geomspace(lo, hi, surface.levels + 1)
            return levels, where or "f spans more than 12 decades: log-spaced levels"
        return MaxNLocator(surface.levels + 1).tick_values(lo, hi), where
    levels = np.asarray(surface.levels, dtype=float)
    levels = levels[np.abs(levels) < OFF_SCALE]
    inside = levels[(levels >= lo) & (levels <= hi)]
    if len(inside) >= 2:
        return inside, where
    if len(levels) >= 2:
        return levels, where
    return None, f"the surface's levels are off the scale of f ({lo:.3g} .. {hi:.3g})"


def draw_note(ax, note: str, scale: float = 1.0, centre: bool = False):
    """A one-line note about the surface, on the plot (centred, or at its foot)."""
    return ax.text(0.5, 0.5 if centre else 0.02, note, transform=ax.transAxes,
                   ha="center", va="center" if centre else "bottom", fontsize=9 * scale,
                   color="#3a404b", zorder=1.5, wrap=True,
                   bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#c3c8d1",
                         "alpha": 0.9})


def significant_digits(value: float) -> int:
    """Digits it takes to write *value*: 1 for 0, 4, 0.5 and 10; 3 for 2.25 and 0.0625."""
    mantissa = f"{abs(value):.6e}".split("e")[0].replace(".", "").rstrip("0")
    return max(1, len(mantissa))


def roundness(value: float) -> tuple[int, int]:
    """Sorts the roundest numbers first: fewer digits, then 0 and a leading 1
    (0.01, 10, 1000), then a 5, then the rest."""
    lead = f"{abs(value):.6e}"[0]
    return significant_digits(value), {"0": 0, "1": 0, "5": 1}.get(lead, 2)


def labelled_levels(levels, *, most: int = MAX_LABELLED_LEVELS, least: int = 6) -> list:
    """The levels worth a label: the roundest ones (so 1, 4 and 9 before 2.25,
    2.25 before 7.5625, and the powers of ten of a 1-2-5 series first), the
    fewest roundness classes that give at least *least* of them, then every
    other one (or third...) down to *most*."""
    levels = [float(v) for v in levels]
    if not levels:
        return []
    ranks = [roundness(v) for v in levels]
    for r in sorted(set(ranks)):
        chosen = [v for v, rank in zip(levels, ranks) if rank <= r]
        if len(chosen) >= min(least, len(levels)):
            break
    step = max(1, int(np.ceil(len(chosen) / most)))
    return chosen[::step]


def draw_surface(ax, surface, *, resolution=300, scale=1.0):
    """Filled contours in a calm grey ramp, thin labelled level lines, known minima.

    Where no contour can honestly be drawn (f nowhere finite, or constant) the
    plot holds a one-line note instead; a mostly undefined or overflowing f gets
    its contours and a note. Returns the line ContourSet, or None."""
    X, Y, Z = surface_grid(surface, resolution)
    levels, note = _levels(surface, Z)
    if note:
        draw_note(ax, note, scale, centre=levels is None)
    if levels is None:
        lines = None
    else:
        lines = _draw_levels(ax, X, Y, Z, levels, scale)
    if surface.minima:
        m = np.array(surface.minima)
        ax.scatter(m[:, 0], m[:, 1], marker="*", s=160 * scale ** 2, c="white",
                   edgecolors="#222222", linewidths=0.9, zorder=MARK_Z,
                   label="known minimum")
    return lines


def _draw_levels(ax, X, Y, Z, levels, scale):
    from matplotlib.colors import LinearSegmentedColormap

    Z = np.clip(Z, -OFF_SCALE, OFF_SCALE)  # overflow: beyond the top (or bottom) level; NaN stays
    cmap = LinearSegmentedColormap.from_list("optviz", BACKGROUND)
    ax.contourf(X, Y, Z, levels=levels, cmap=cmap, extend="both", zorder=0)
    lines = ax.contour(X, Y, Z, levels=levels, colors=CONTOUR_LINE, linewidths=0.5 * scale,
                       alpha=CONTOUR_ALPHA, zorder=1)
    ax.clabel(lines, labelled_levels(lines.levels), inline=True, fontsize=7 * scale,
              fmt="%g", colors=LEVEL_LABEL)
    return lines


@dataclass(frozen=True)
class PathStyle:
    width: float = 2.2
    halo: float = 4.2
    head_size: float = 8.0


def path_effects(style: PathStyle):
    from matplotlib import patheffects as pe

    return [pe.Stroke(linewidth=style.halo, foreground="white", alpha=HALO_ALPHA), pe.Normal()]


def legend_text(label: str, loss: float, diverged: bool, left_at: int | None = None, *,
                escaped_at: int | None = None, note: str = "") -> str:
    """An optimizer's legend entry: its label (and settings), then how it ended
    (*escaped_at*: the step where the engine stopped a run that was still
    descending far out, :func:`ending`), then a *note* (:func:`follow_notes`)."""
    if escaped_at is not None:
        where = f"left the view at step {left_at}, " if left_at is not None else ""
        end = (f"{where}still descending:\nloss {number(loss)} at step {escaped_at}, "
               "where it was stopped far out")
    elif diverged:
        end = f"diverged (left the view at step {left_at}; last loss {number(loss)})" \
            if left_at is not None else f"diverged (last loss {number(loss)})"
    elif left_at is not None:
        end = f"left the view at step {left_at}; final loss {number(loss)}"
    else:
        end = f"final loss {number(loss)}"
    return f"{label}\n{end}" + (f"\n{note}" if note else "")


def draw_start(ax, start, scale=1.0):
    return ax.plot([start[0]], [start[1]], ls="", ms=10 * scale, mew=2.2 * scale,
                   zorder=START_Z, label="start", **START_RING)[0]


# ------------------------------------------------------------ leaving the view
def ending(traj, k: int, n: int = 0) -> str | None:
    """How a run ended, in the figure's words (``Trajectories.ending``)."""
    return traj.ending(k, n)


@dataclass(frozen=True)
class Shown:
    """What of one path is drawn.

    *points* (R, 2): its points in the view, a NaN row between the segments
    where it is out of view and the edge point where it leaves or comes back
    (a run that diverged is drawn only to where it first leaves). *end*:
    (point, marker) for a run that ends out of view (an arrow head pointing
    out at its last exit) or diverged (an X), else None. *left_at*: the step
    of the first point outside the view (None: it stays). *rows* (M,): how many
    rows of *points* are drawn by step t (the animation's slices); *inside*
    (M,): whether step t's point is in the view (its head is drawn); *marks*:
    ((point, marker, step), ...) where it leaves (an arrow head) or comes back
    (an open circle, marker "o") on the way, each shown from its step on."""

    points: np.ndarray
    end: tuple[np.ndarray, str] | None
    left_at: int | None
    rows: np.ndarray | None = None
    inside: np.ndarray | None = None
    marks: tuple = ()

    def upto(self, step: int) -> int:
        """The number of rows of *points* drawn at *step*."""
        if self.rows is None:
            return min(step, len(self.points) - 1) + 1
        return int(self.rows[min(step, len(self.rows) - 1)])

    def head_shown(self, step: int) -> bool:
        return True if self.inside is None else bool(self.inside[min(step, len(self.inside) - 1)])


def first_exit(path: np.ndarray, xlim, ylim):
    """Where *path* (M, 2) first leaves the box *xlim* x *ylim*: (index of the
    first point outside, the edge point, the edge's name), or None if it stays
    (or starts outside)."""
    lo = np.array([min(xlim), min(ylim)])
    hi = np.array([max(xlim), max(ylim)])
    path = np.asarray(path, dtype=float)
    outside = np.any((path < lo) | (path > hi), axis=1)
    if not outside.any() or outside[0]:
        return None
    j = int(np.argmax(outside))
    a, d = path[j - 1], path[j] - path[j - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, (hi - a) / d, np.where(d < 0, (lo - a) / d, np.inf))
    axis = int(np.argmin(t))
    point = a + min(float(t[axis]), 1.0) * d
    point[axis] = hi[axis] if d[axis] > 0 else lo[axis]  # exactly on the edge
    edge = (("left", "right"), ("bottom", "top"))[axis][int(d[axis] > 0)]
    return j, point, edge


def _crossings(path, lo, hi):
    """Each segment's part inside the box [lo, hi] (Liang-Barsky, vectorised):
    (t0, t1) with t0 <= t1 where segment i, path[i] + t (path[i+1] - path[i]),
    crosses it; t0 > t1 where it misses it."""
    a, d = path[:-1], np.diff(path, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo, t_hi = (lo - a) / d, (hi - a) / d
    inside = (a >= lo) & (a <= hi)
    enter = np.where(d == 0, np.where(inside, -np.inf, np.inf), np.minimum(t_lo, t_hi))
    leave = np.where(d == 0, np.where(inside, np.inf, -np.inf), np.maximum(t_lo, t_hi))
    return np.maximum(enter.max(axis=1), 0.0), np.minimum(leave.min(axis=1), 1.0), a, d


def _edge_marker(point, lo, hi, d):
    """The arrow head pointing out through the edge *point* lies on (direction *d*)."""
    gap = np.abs(np.stack([point - lo, hi - point]))  # (2, 2): lo/hi x axis
    axis = int(np.argmin(gap.min(axis=0)))
    return EXIT_MARKERS[(("left", "right"), ("bottom", "top"))[axis][int(d[axis] > 0)]]


def shown_path(path: np.ndarray, xlim, ylim, diverged: bool) -> Shown:
    """The part of a path the figure draws: every stretch in the view, cut at
    the edges where it leaves (an arrow head there) and comes back (an open
    circle), and a run that *diverged* only to where it first leaves (an X)."""
    path = np.asarray(path, dtype=float)
    m = len(path)
    leaving = first_exit(path, xlim, ylim)
    if leaving is None:
        end = (last_seen(path, xlim, ylim), "X") if diverged else None
        return Shown(path, end, None, np.arange(1, m + 1), np.ones(m, bool))
    j, point, _ = leaving
    if diverged:
        rows = np.minimum(np.arange(1, m + 1), j + 1)
        return Shown(np.vstack([path[:j], point]), (point, "X"), j, rows, np.arange(m) < j)
    lo = np.array([min(xlim), min(ylim)])
    hi = np.array([max(xlim), max(ylim)])
    inside = np.all((path >= lo) & (path <= hi), axis=1)
    t0, t1, a, d = _crossings(path, lo, hi)
    crosses = t0 <= t1
    # one block of up to four rows per point i: the point (if inside), then for
    # the segment i -> i+1 the edge point where it comes in (it starts outside)
    # and the edge point where it leaves plus a break (it ends outside)
    enters = np.append(crosses & ~inside[:-1], False)
    exits = np.append(crosses & ~inside[1:], False)
    nan = np.full((m, 2), np.nan)
    t0e, t1e = np.append(t0, 0.0)[:, None], np.append(t1, 0.0)[:, None]
    ae, de = np.vstack([a, path[-1:]]), np.vstack([d, np.zeros((1, 2))])
    blocks = np.stack([path, ae + t0e * de, ae + t1e * de, nan], axis=1)  # (m, 4, 2)
    keep = np.stack([inside, enters, exits, exits], axis=1)
    points = blocks[keep]
    counts = keep.sum(axis=1)
    rows = np.concatenate([[0], np.cumsum(counts)[:-1]]) + inside
    marks = []
    for i in np.flatnonzero(enters):
        marks.append((blocks[i, 1], "o", int(i) + 1))
    for i in np.flatnonzero(exits):
        marks.append((blocks[i, 2], _edge_marker(blocks[i, 2], lo, hi, d[i]), int(i) + 1))
    end = None
    if not inside[-1]:  # it ends out of view: its last exit is the end mark, no break after
        points = points[:-1]
        rows = np.minimum(rows, len(points))
        i = max(range(len(marks)), key=lambda i: (marks[i][2], marks[i][1] != "o"))
        end = marks.pop(i)[:2]
    marks.sort(key=lambda mk: mk[2])
    return Shown(points, end, j, rows, inside, tuple(marks))


# ------------------------------------------------------------ the loss panel
@dataclass(frozen=True)
class LossScale:
    """How the loss panel shows losses: ``values(f)`` is what is plotted."""

    scale: str = "linear"  # linear, log or symlog
    shift: float = 0.0  # subtracted from every loss (the minimum value f*)
    floor: float = 0.0  # log scale: smaller positive values are drawn here
    label: str = "loss f"
    linthresh: float = 1.0  # symlog: linear within ±linthresh
    limits: tuple[float, float] = (0.0, 1.0)
    footnote: str = ""  # said in the panel's corner (values drawn at the floor)
    exact: bool = False  # f* is known: f − f* <= 0 is reaching it, drawn at the bottom edge

    def values(self, loss: np.ndarray) -> np.ndarray:
        """What is plotted for each loss. On the log scale of f − f*, a run that
        reaches f* (f − f* <= 0, e.g. Newton's exact step) goes down to the
        panel's bottom edge at that step, and its curve stops there (NaN) until
        it leaves f* again: no plateau at another run's loss."""
        v = np.asarray(loss, dtype=float) - self.shift
        if self.scale != "log":
            return v
        y = np.maximum(v, self.floor)
        if not self.exact:
            return y
        at = v <= 0
        if not at.any():
            return y
        before = np.concatenate([[False], at[:-1]])
        after = np.concatenate([at[1:], [False]])
        rises = np.concatenate([v[1:] > 0, [False]])
        # a run's first step at f*, and its last one before it rises again
        edge = at & (~before | ~after & rises)
        return np.where(at, np.where(edge, self.limits[0], np.nan), y)

    def reached(self, loss: np.ndarray) -> list[int]:
        """The steps at which a run comes down to f* (f − f* <= 0), on this scale."""
        if not (self.exact and self.scale == "log"):
            return []
        at = np.asarray(loss, dtype=float) - self.shift <= 0
        return [int(t) for t in np.flatnonzero(at & ~np.concatenate([[False], at[:-1]]))]


def loss_scale(surface, traj, n: int = 0) -> LossScale:
    """A log scale of f − f* when the surface's minimum value f* is known (with
    a floor 16 decades under the largest value, stated when reached; a run at
    f* itself is drawn down to the bottom edge); else a log scale of f if it is
    positive and spans more than two decades, symlog if it changes sign over
    more than two decades, linear otherwise. The scale is fitted to the runs
    that did not diverge (:func:`ending`); a diverged run's values widen it by
    at most half as much again (the others keep two thirds of the panel), and
    past that it is clipped, marked where it leaves (:func:`draw_losses`)."""
    k_count = len(traj.labels)
    blew = [ending(traj, k, n) == "diverged" for k in range(k_count)]
    per_k = [traj.loss_path(k, n) for k in range(k_count)]
    fit = [l for l, b in zip(per_k, blew) if not b] or per_k
    wild = np.concatenate([l for l, b in zip(per_k, blew) if b] or [np.empty(0)])
    wild = wild[np.isfinite(wild)]
    base = _fitted_scale(surface, np.concatenate(fit))
    if not wild.size or base.scale == "symlog":
        return base
    lo, hi = base.limits
    top = float(wild.max()) - base.shift
    if base.scale == "log":
        if top > hi:
            hi = min(top * 2, hi * (hi / lo) ** 0.5)
    elif top > hi:
        hi = min(top + 0.05 * (top - lo), hi + 0.5 * (hi - lo))
    from dataclasses import replace

    return replace(base, limits=(lo, hi))


def _fitted_scale(surface, losses) -> LossScale:
    finite = losses[np.isfinite(losses)]
    if not finite.size:
        return LossScale()
    fstar = getattr(surface, "minimum_value", None)
    if fstar is not None:
        v = finite - fstar
        top = max(float(v.max()), 1e-300)
        positive = v[v > 0]
        floor = max(float(positive.min()) if positive.size else top * 1e-16, top * 1e-16,
                    1e-15 * abs(fstar), 1e-300)
        footnote = f"values under {number(floor, 2)} drawn at it" \
            if ((v < floor) & (v > 0)).any() else ""
        return LossScale("log", float(fstar), floor, f"f − f*  (f* = {number(fstar)}, log scale)",
                         limits=(floor / 2, max(top, floor * 10) * 2), footnote=footnote,
                         exact=True)
    lo, hi = float(finite.min()), float(finite.max())
    if lo > 0 and hi / lo > 100:
        return LossScale("log", 0.0, lo, "loss f  (log scale)", limits=(lo / 1.5, hi * 1.5))
    biggest = max(abs(lo), abs(hi))
    small = np.abs(finite[finite != 0]).min() if (finite != 0).any() else biggest
    if lo <= 0 < hi and biggest / max(small, 1e-300) > 100:
        thresh = biggest * 1e-3
        return LossScale("symlog", 0.0, 0.0,
                         f"loss f  (symlog scale, linear within ±{number(thresh, 2)})",
                         thresh, limits=(lo - 0.05 * (hi - lo), hi * 1.5))
    pad = 0.05 * (hi - lo or 1.0)
    return LossScale("linear", 0.0, 0.0, "loss f", limits=(lo - pad, hi + pad))


def loss_notes(traj, loss: LossScale, names=None, *, n: int = 0):
    """What the loss panel says and marks besides its curves: per optimizer the
    steps where it reaches f* (a mark on the bottom edge) and the step where a
    curve first leaves the panel above (a mark on the top edge, the run
    clipped there); and one line of text each: "Newton reaches f* exactly at
    step 1", "lr 0.5 above the panel from step 2 (last loss 6912)".
    Returns ([(k, step, y, marker)], [text])."""
    names = list(names) if names is not None else list(traj.labels)
    marks, texts = [], []
    top = loss.limits[1]
    for k in range(len(traj.labels)):
        path = traj.loss_path(k, n)
        name = names[k].split("\n")[0]
        for t in loss.reached(path):
            marks.append((k, t, loss.limits[0], "v"))
            exact = path[t] - loss.shift == 0
            texts.append(f"{name} reaches f* {'exactly ' if exact else '(f − f* ≤ 0) '}"
                         f"at step {t}")
        over = np.flatnonzero(loss.values(path) > top)
        if over.size:
            t = int(over[0])
            marks.append((k, t, top, "^"))
            texts.append(f"{name} above the panel from step {t} "
                         f"({'last' if ending(traj, k, n) else 'final'} loss "
                         f"{number(path[-1])})")
    return marks, texts


def loss_axes(fig, traj, *, n=0, scale=1.0, rect=(0.64, 0.50, 0.33, 0.41), surface=None,
              loss=None, names=None):
    """The loss-vs-step panel, scaled for the whole run so that an animation
    never rescales (see :func:`loss_scale`); one title: the quantity shown;
    its notes (:func:`loss_notes`) in the lower left corner."""
    lax = fig.add_axes(rect)
    loss = loss or loss_scale(surface, traj, n)
    lax.set_xlim(0, traj.shape[2])
    if loss.scale == "symlog":
        lax.set_yscale("symlog", linthresh=loss.linthresh)
    elif loss.scale == "log":
        lax.set_yscale("log")
    lax.set_ylim(*loss.limits)
    lax.set_xlabel("step", fontsize=10 * scale)
    lax.set_title(loss.label, fontsize=10.5 * scale, loc="left")
    marks, texts = loss_notes(traj, loss, names, n=n)
    lines = ([loss.footnote] if loss.footnote else []) + texts
    if lines:
        lax.text(0.02, 0.035, "\n".join(lines), transform=lax.transAxes, fontsize=7.5 * scale,
                 color="#3a404b", va="bottom", zorder=1,
                 bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none",
                       "alpha": 0.8})
    lax.tick_params(labelsize=8 * scale)
    lax.grid(alpha=0.3)
    for spine in ("top", "right"):
        lax.spines[spine].set_visible(False)
    lax.loss_scale = loss
    lax.loss_marks = marks
    return lax


LOSS_WIDTH = 1.8  # the loss curves' width, points


def draw_losses(lax, traj, cols, *, n=0, scale=1.0, upto: int | None = None, looks_=None,
                shared=None):
    """Each optimizer's loss curve (up to step *upto*), its marks where it reaches
    f* or leaves the panel (:func:`loss_notes`) and, with *shared*, the
    stretches a later curve hides, redrawn over it dashed. Returns (curves,
    marks, dashed): a curve and a dashed line per optimizer, (artist, step) per mark."""
    loss = getattr(lax, "loss_scale", LossScale())
    marks = getattr(lax, "loss_marks", [])
    lines, dots, overs = [], [], []
    for k, c in enumerate(cols):
        shown = loss.values(traj.loss_path(k, n))
        if upto is not None:
            shown = shown[: upto + 1]
        look = looks_[k] if looks_ else Look(c)
        (line,) = lax.plot(np.arange(len(shown)), shown, color=c, lw=LOSS_WIDTH * scale,
                           ls=look.linestyle())
        lines.append(line)
    for k, c in enumerate(cols):
        y = np.full(0, np.nan) if shared is None else shared[k]
        if upto is not None:
            y = y[: upto + 1]
        (over,) = lax.plot(np.arange(len(y)), y, color=c, lw=LOSS_WIDTH * scale,
                           ls=(0, SHARED_DASHES), dash_capstyle="butt", zorder=2.2)
        overs.append(over)
    for k, t, y, marker in marks:
        look = looks_[k] if looks_ else Look(cols[k])
        (dot,) = lax.plot([t], [y], ls="", marker=look.marker if marker == "v" else marker,
                          color=cols[k], ms=6 * scale, mec="white", mew=1.0, clip_on=False,
                          zorder=3)
        dot.set_visible(upto is None or t <= upto)
        dots.append((dot, t))
    return lines, dots, overs


def last_seen(path: np.ndarray, xlim, ylim) -> np.ndarray:
    """Where *path* (M, 2) was last on the plot: its last point if that lies in
    the box *xlim* x *ylim*, else the point where the last segment that crosses
    the box leaves it (else the box point nearest the last point).

    A diverged run ends far off the plot; its × goes here, where it is seen."""
    lo = np.array([min(xlim), min(ylim)])
    hi = np.array([max(xlim), max(ylim)])
    path = np.asarray(path, dtype=float)
    if np.all((path[-1] >= lo) & (path[-1] <= hi)):
        return path[-1]
    a, d = path[:-1], np.diff(path, axis=0)
    # each segment a + t d, t in [0, 1], clipped to the box slab by slab
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo, t_hi = (lo - a) / d, (hi - a) / d
    enter = np.where(d == 0, np.where((a >= lo) & (a <= hi), -np.inf, np.inf),
                     np.minimum(t_lo, t_hi))
    leave = np.where(d == 0, np.where((a >= lo) & (a <= hi), np.inf, -np.inf),
                     np.maximum(t_lo, t_hi))
    t0 = np.maximum(enter.max(axis=1), 0.0)
    t1 = np.minimum(leave.min(axis=1), 1.0)
    crossing = np.flatnonzero(t0 <= t1)
    if crossing.size == 0:
        return np.clip(path[-1], lo, hi)
    j = crossing[-1]
    return a[j] + t1[j] * d[j]


# ------------------------------------------------------------ paths that hide others
#: a path within this many line widths of another (on screen) is hidden by it
HIDDEN_WIDTHS = 1.0
#: a path that follows another step by step for at least this many steps gets a note
MIN_FOLLOW = 5
#: the most samples of one path tested for being hidden (longer paths are sampled sparser)
MAX_SAMPLES = 100_000


def nominal_transform(fig, box, share=(0.6, 0.83)):
    """Data to pixels for a plot of *box* taking *share* of *fig*'s width and
    height (equal axes where :func:`equal_aspect`): where the plot roughly is
    before the layout is known."""
    from matplotlib.transforms import Affine2D

    (x0, x1), (y0, y1) = box
    w, h = fig.get_size_inches() * fig.dpi * np.asarray(share)
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    if equal_aspect(box):
        sx = sy = min(sx, sy)
    return Affine2D().translate(-x0, -y0).scale(sx, sy)


def follow_notes(transform, traj, names, *, n=0, tol: float) -> list[str]:
    """Per optimizer, a legend note when its path coincides step by step (within
    *tol* pixels under *transform*) with one drawn over it from the start for
    at least :data:`MIN_FOLLOW` steps: "follows Adam lr=0.1 until step 80"
    (the longest such), or "… throughout"; else ""."""
    k_count = len(traj.labels)
    screen = [transform.transform(traj.path(k, n)) for k in range(k_count)]
    notes = [""] * k_count
    for k in range(k_count):
        best = None
        for j in range(k + 1, k_count):
            m = min(len(screen[k]), len(screen[j]))
            with np.errstate(invalid="ignore"):
                far = ~(np.linalg.norm(screen[k][:m] - screen[j][:m], axis=1) <= tol)
            until = int(np.argmax(far)) - 1 if far.any() else m - 1
            if until >= MIN_FOLLOW and (best is None or until > best[1]):
                best = (j, until, not far.any() and len(screen[k]) == len(screen[j]))
        if best is not None:
            j, until, whole = best
            name = names[j].split("\n")[0]
            name = name if len(name) <= 32 else name[:31] + "…"
            notes[k] = f"follows {name} throughout" if whole else \
                f"follows {name} until step {until}"
    return notes


def _samples(points, rows, transform, spacing):
    """*points* (R, 2; NaN rows break it) sampled every *spacing* pixels on
    screen: (data points, screen points, the step each appears at)."""
    steps = np.searchsorted(rows, np.arange(len(points)), side="right")  # row r: shown from
    screen = transform.transform(points)
    if len(points) < 2:
        return points, screen, steps
    a, b = screen[:-1], screen[1:]
    ok = np.all(np.isfinite(a) & np.isfinite(b), axis=1)
    length = np.where(ok, np.linalg.norm(b - a, axis=1), 0.0)
    spacing = max(spacing, float(length.sum()) / MAX_SAMPLES)
    count = np.where(ok, np.maximum(1, np.ceil(length / spacing)), 1).astype(int)
    seg = np.repeat(np.arange(len(points) - 1), count)
    frac = (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)) \
        / np.repeat(count, count)
    f = frac[:, None]
    with np.errstate(invalid="ignore"):
        data = np.where(f > 0, points[seg] + f * (points[seg + 1] - points[seg]), points[seg])
        scr = np.where(f > 0, screen[seg] + f * (screen[seg + 1] - screen[seg]), screen[seg])
    when = np.where(frac > 0, steps[seg + 1], steps[seg])
    return (np.vstack([data, points[-1:]]), np.vstack([scr, screen[-1:]]),
            np.append(when, steps[-1]))


def _disk(radius: float) -> np.ndarray:
    """The integer offsets (dx, dy) within *radius* of (0, 0)."""
    r = int(np.floor(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = dx * dx + dy * dy <= radius * radius
    return np.column_stack([dx[keep], dy[keep]])


def hidden_stretches(transform, shows, *, tol: float) -> list[Shown]:
    """Per path, the stretches that a path drawn over it (a later one) hides:
    its points within *tol* pixels of that path on screen (*transform*: data to
    pixels), NaN elsewhere, as a :class:`Shown` whose rows grow with the steps
    like the path's own. Drawn over every path, dashed (:data:`SHARED_DASHES`),
    they let both colours alternate along a shared stretch while every point
    stays where it is.

    Each path is sampled every pixel along its length (sparser past
    :data:`MAX_SAMPLES`); the later paths' samples, grown by a disk of radius
    *tol*, are marked on a pixel grid, from the last path back, and each path
    reads the marks of those after it: linear in the paths' length."""
    sampled = []
    for s in shows:
        rows = s.rows if s.rows is not None else np.arange(1, len(s.points) + 1)
        sampled.append((rows, *_samples(s.points, rows, transform, 1.0)))
    every = np.vstack([scr for _, _, scr, _ in sampled])
    every = every[np.isfinite(every).all(axis=1)]
    out: list[Shown] = [None] * len(shows)  # type: ignore[list-item]
    if not every.size:
        return [Shown(np.full((len(s.points), 2), np.nan), None, None, s.rows, None)
                for s in shows]
    disk = _disk(tol)
    origin = np.floor(every.min(axis=0)) - len(disk) ** 0.5 - 2
    size = (np.ceil(every.max(axis=0) - origin) + len(disk) ** 0.5 + 3).astype(int)
    marked = np.zeros((size[1], size[0]), bool)
    for k in range(len(shows) - 1, -1, -1):
        rows, data, scr, when = sampled[k]
        ok = np.isfinite(scr).all(axis=1)
        cell = np.zeros((len(scr), 2), int)
        cell[ok] = np.round(scr[ok] - origin).astype(int)
        hidden = ok & marked[cell[:, 1], cell[:, 0]]
        # a dashed stretch joins two hidden samples in a row: drop lone ones
        pair = hidden[:-1] & hidden[1:]
        keep = np.append(pair, False) | np.insert(pair, 0, False)
        pts = np.where(keep[:, None], data, np.nan)
        counts = np.searchsorted(when, np.arange(len(rows)), side="right")
        out[k] = Shown(pts, None, None, counts, None)
        grown = (cell[ok][:, None, :] + disk[None, :, :]).reshape(-1, 2)
        marked[grown[:, 1], grown[:, 0]] = True
    return out


def hidden_losses(transform, curves, *, tol: float) -> list[np.ndarray]:
    """Per loss curve (the plotted values over the steps), the steps where a
    curve drawn over it (a later one) is within *tol* pixels at the same step:
    its values there, NaN elsewhere (see :func:`hidden_stretches`)."""
    screens = [transform.transform(np.column_stack([np.arange(len(c)), c])) for c in curves]
    out = []
    for k, c in enumerate(curves):
        hidden = np.zeros(len(c), bool)
        for j in range(k + 1, len(curves)):
            m = min(len(c), len(curves[j]))
            with np.errstate(invalid="ignore"):
                hidden[:m] |= np.abs(screens[k][:m, 1] - screens[j][:m, 1]) <= tol
        pair = hidden[:-1] & hidden[1:]
        keep = np.append(pair, False) | np.insert(pair, 0, False)
        out.append(np.where(keep, c, np.nan))
    return out


# ------------------------------------------------------------ legend and layout
def legend_handles(entries: Sequence[str], looks_: Sequence[Look], ends, *, has_minima: bool,
                   scale=1.0, exits: bool = False, returns: bool = False):
    """Proxy handles (independent of the moving artists): one per optimizer
    (its line style and head, an X if it diverged), start, minima, the exit
    mark if a path leaves the view and the re-entry mark if one comes back."""
    from matplotlib.lines import Line2D

    style = PathStyle()
    handles = []
    for text, look, end in zip(entries, looks_, ends):
        x = end is not None and end[1] == "X"
        handles.append(Line2D([], [], color=look.colour, lw=style.width * scale,
                              ls=look.linestyle(), marker="X" if x else look.marker,
                              ms=style.head_size * (1.0 if x else 0.8) * scale, mec="white",
                              label=text))
    handles.append(Line2D([], [], ls="", ms=10 * scale, mew=2.2 * scale, label="start",
                          **START_RING))
    if has_minima:
        handles.append(Line2D([], [], ls="", marker="*", ms=13 * scale, mfc="white",
                              mec="#222222", label="known minimum"))
    if exits:
        handles.append(Line2D([], [], ls="", marker=">", ms=style.head_size * scale,
                              mfc="#555555", mec="white", label="where a path leaves the view"))
    if returns:
        handles.append(Line2D([], [], ls="", marker="o", ms=style.head_size * ENTRY_SHRINK * scale,
                              mfc="white", mec="#555555", mew=1.4,
                              label="where it comes back into view"))
    return handles


def draw_legend(ax, traj, cols, *, has_minima: bool, scale=1.0, n=0, below=False):
    """A legend of the final losses on *ax* (right of it, or *below* it): the
    plain form, for callers that lay the figure out themselves."""
    ends = [(None, "X") if traj.diverged[k, n] else None for k in range(len(cols))]
    entries = [legend_text(label, traj.final_losses[k, n], traj.diverged[k, n])
               for k, label in enumerate(traj.labels)]
    handles = legend_handles(entries, [Look(c) for c in cols], ends, has_minima=has_minima,
                             scale=scale)
    anchor = (0.0, -0.16) if below else (1.03, 1.0)
    return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=anchor,
                     borderaxespad=0.0, frameon=False, fontsize=10 * scale,
                     labelspacing=0.9 * scale, handlelength=2.2,
                     ncol=2 if below and len(handles) > 5 else 1)


@dataclass(frozen=True)
class Layout:
    """Where things go, in figure fractions: the plot, the loss panel (or
    None), the legend's upper left corner and its column count; *kind*:
    "beside" (legend, and panel, right of the plot), "below" (legend under
    the plot, and under the panel beside it), "stacked" (plot on top; panel
    and legend side by side under it) or "column" (plot, panel and legend one
    under the other); *height*: the figure's height in
    inches (grown past the size asked for when the legend needs the room)."""

    plot: tuple[float, float, float, float]
    loss: tuple[float, float, float, float] | None
    legend_at: tuple[float, float]
    ncol: int
    kind: str
    height: float = 0.0


#: the plot spans at least this share of the figure's width or height
MIN_PLOT_SHARE = 0.5
#: a figure grows to at most this many times the height asked for, within
#: the limits a config's render.size has (input/config.py)
MAX_GROWTH = 2.5
MAX_INCHES, MAX_PIXELS = 40.0, 8000
#: the loss panel's share of the figure's height when it goes under the plot
#: in a narrow figure ("column" layout)
COLUMN_PANEL = 0.22


def _legend(fig, handles, scale, ncol):
    return fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 1),
                      borderaxespad=0.0, frameon=False, fontsize=10 * scale,
                      labelspacing=0.8 * scale, handlelength=2.2, ncol=ncol,
                      columnspacing=1.2)


def plan_layout(fig, handles, box, *, scale=1.0, loss_panel=False, note=False, title=""):
    """The layout that gives the plot the most room, its aspect kept (equal axes
    where :func:`equal_aspect`): the legend beside the plot (one or two
    columns) or below it (as many columns as fit); with a loss panel, panel
    and legend beside the plot, panel beside and legend under both, both
    under it side by side, or one under the other. The plot spans at least :data:`MIN_PLOT_SHARE` of the figure's
    width or height: where no layout gives it that, the figure grows taller
    (up to :data:`MAX_GROWTH` times). The loss panel starts under a *title*
    too long for the plot's width. Returns (Layout, the legend), *fig* grown
    to the layout's height, or None where no layout fits (:func:`too_small`)."""
    W, H0 = fig.get_size_inches()
    dpi = fig.dpi
    renderer = fig.canvas.get_renderer()
    sizes = {}

    def size(ncol):
        if ncol not in sizes:
            leg = _legend(fig, handles, scale, ncol)
            check_text(leg)  # CJK labels measured in their fonts
            ext = leg.get_window_extent(renderer)
            leg.remove()
            sizes[ncol] = (ext.width / dpi, ext.height / dpi)
        return sizes[ncol]

    heading = fig.text(0, 0, title, fontsize=15 * scale, fontweight="bold")
    check_text(heading)
    ext = heading.get_window_extent(renderer)
    heading.remove()
    title_w = ext.width / dpi
    H, top_h = H0, min(MAX_PIXELS / dpi, MAX_INCHES, MAX_GROWTH * H0)
    while True:
        chosen = _choose(W, H, size, box, scale, loss_panel, note, title_w, len(handles))
        if chosen is not None:
            break
        if H >= top_h - 1e-9:
            return None
        H = min(top_h, 2 * np.ceil((H + 0.25 * scale) * dpi / 2) / dpi)
    if H != H0:
        fig.set_size_inches(W, H)
    layout = Layout(*chosen, height=H)
    leg = _legend(fig, handles, scale, layout.ncol)
    check_text(leg)
    leg.set_bbox_to_anchor(layout.legend_at, transform=fig.transFigure)
    return layout, leg


def figure_scale(size) -> float:
    """Font and marker scale: 1 at 12 x 8 in."""
    return min(size[0] / 12, size[1] / 8) ** 0.5


def too_small(size, dpi, make_handles, box, *, loss_panel, note, title, count,
              panel_optional=True) -> str:
    """Why no layout fits a figure of *size*, and a render.size that fits
    (*make_handles*: the legend's handles at a given scale); that dropping
    the loss panel fits, where it is *panel_optional* (render.loss_panel)."""
    def fits(trial, panel=loss_panel):
        fig = new_figure(trial, dpi)
        scale = figure_scale(trial)
        return plan_layout(fig, make_handles(scale), box, scale=scale, loss_panel=panel,
                           note=note, title=title) is not None

    w, h = size
    hints = []
    for f in (1.25, 1.5, 1.75, 2.0, 2.5, 3.0):
        trial = (np.ceil(w * f * 4) / 4, np.ceil(h * f * 4) / 4)
        if max(trial) > MAX_INCHES or max(trial) * dpi > MAX_PIXELS:
            break
        if fits(trial):
            hints.append(f"render.size: [{trial[0]:g}, {trial[1]:g}]")
            break
    if loss_panel and panel_optional and fits(size, panel=False):
        hints.append("render.loss_panel: false")
    hints.append("fewer optimizers in one figure")
    top = min(MAX_PIXELS / dpi, MAX_INCHES, MAX_GROWTH * h)
    return (f"{count} optimizers' legend leaves the contour plot less than half of a "
            f"{w:g} x {h:g} in figure (render.size), even grown to {top:.3g} in tall; "
            f"try {', or '.join(hints)}")


def _choose(W, H, size, box, scale, loss_panel, note, title_w, count):
    """The best layout of a W x H in figure as Layout fields, or None where
    none leaves the plot its share (see :func:`plan_layout`)."""
    left, right = 0.8 * scale, 0.2 * scale
    top, bottom = 0.62 * scale, 0.55 * scale + (0.22 * scale if note else 0.0)
    gap, xlab = 0.3 * scale, 0.55 * scale  # plot to legend; room for an x axis' labels
    room = 0.75 * scale  # the loss panel's tick labels, left of it
    (x0, x1), (y0, y1) = box
    ratio = (y1 - y0) / (x1 - x0) if equal_aspect(box) else None
    avail_w, avail_h = W - left - right, H - top - bottom

    def fit(w, h):
        if w <= 0 or h <= 0:
            return 0.0, 0.0
        if ratio is None:
            return w, h
        return (w, w * ratio) if w * ratio <= h else (h / ratio, h)

    options = []  # (plot area, kind, ncol, plot w, plot h)
    widest = max(1, min(count, int(avail_w // (size(1)[0] + 0.15))))
    for ncol in (1, 2):
        lw, lh = size(ncol)
        if loss_panel:
            col = max(lw, 0.3 * W)
            if avail_h - lh - xlab >= 0.3 * H:
                pw, ph = fit(avail_w - col - room - gap, avail_h)
                options.append((pw * ph, "beside", ncol, pw, ph))
            row = max(lh, 0.3 * H)  # stacked: panel and legend side by side
            if room + 0.35 * avail_w + gap + lw <= avail_w:
                pw, ph = fit(avail_w, avail_h - row - xlab)
                options.append((pw * ph * 0.97, "stacked", ncol, pw, ph))
        elif lh <= avail_h + 0.4 * scale:
            pw, ph = fit(avail_w - lw - gap, avail_h)
            options.append((pw * ph, "beside", ncol, pw, ph))
    lw, lh = size(widest)
    if not loss_panel:
        pw, ph = fit(avail_w, avail_h - lh - xlab)
        options.append((pw * ph * 0.97, "below", widest, pw, ph))  # beside wins ties
    elif lw <= avail_w:  # plot and panel side by side, the legend under both
        pw, ph = fit(avail_w - max(0.3 * W, 0.35 * avail_w) - room - gap, avail_h - lh - xlab)
        options.append((pw * ph * 0.96, "below", widest, pw, ph))
    if loss_panel and lw <= avail_w:  # a narrow figure: plot, panel, legend in a column
        pw, ph = fit(avail_w, avail_h - COLUMN_PANEL * H - 2 * xlab - 0.3 * scale - lh)
        options.append((pw * ph * 0.9, "column", widest, pw, ph))
    options = [o for o in options if o[3] > 0 and o[4] > 0
               and max(o[3] / W, o[4] / H) >= MIN_PLOT_SHARE]
    if not options:
        return None
    _, kind, ncol, pw, ph = max(options, key=lambda o: o[0])
    lw, lh = size(ncol)
    loss = None
    # a title running past the plot pushes the panel beside it down a line
    drop = 0.42 * scale if title_w > pw + gap + room else 0.0
    if kind == "beside":
        col = max(lw, 0.3 * W) if loss_panel else lw
        extra = room if loss_panel else 0.0
        px = left + max(0.0, avail_w - pw - gap - extra - col) / 2
        py = H - top - ph
        legend_x, legend_y = px + pw + gap, H - top
        if loss_panel:
            panel_h = max(0.3 * H, avail_h - lh - xlab) - drop
            loss = (legend_x + room, H - top - drop - panel_h, W - right - legend_x - room,
                    panel_h)
            legend_y = H - top - drop - panel_h - xlab
    elif kind == "below":
        px = left + (max(0.0, avail_w - pw) / 2 if not loss_panel else 0.0)
        py = H - top - ph
        # under the plot's left edge, or further left where it would pass the figure's
        legend_x = left if loss_panel else max(left, min(px, W - right - lw))
        legend_y = py - xlab
        if loss_panel:
            panel_x = px + pw + gap + room
            loss = (panel_x, py, W - right - panel_x, ph - drop)
    elif kind == "column":
        px = left + max(0.0, avail_w - pw) / 2
        py = H - top - ph
        panel_top = py - xlab - 0.3 * scale
        loss = (left + room, panel_top - COLUMN_PANEL * H, avail_w - room, COLUMN_PANEL * H)
        legend_x, legend_y = left, loss[1] - xlab
    else:  # stacked
        px = left + max(0.0, avail_w - pw) / 2
        py = H - top - ph
        row_top = py - xlab - 0.25 * scale
        panel_w = avail_w - lw - gap - room
        loss = (left + room, bottom, panel_w, row_top - bottom)
        legend_x, legend_y = left + room + panel_w + gap, row_top
    return ((px / W, py / H, pw / W, ph / H),
            None if loss is None else (loss[0] / W, loss[1] / H, loss[2] / W, loss[3] / H),
            (legend_x / W, legend_y / H), ncol, kind)


def layout_axes(fig, surface, loss_panel: bool = False, *, rect=None, box=None):
    """The plot axes at *rect* (figure fractions; a fixed default without one)
    showing *box* (default: the surface's domain), equal axes where sensible."""
    w, h = fig.get_size_inches()
    scale = min(w / 12, h / 8) ** 0.5
    if rect is None:
        rect = (0.06, 0.08, 0.50, 0.83) if loss_panel else (0.07, 0.08, 0.60, 0.83)
    ax = fig.add_axes(rect)
    (x0, x1), (y0, y1) = box or surface.domain
    if equal_aspect(((x0, x1), (y0, y1))):
        ax.set_aspect("equal")
        ax.set_anchor("NW")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    names = getattr(surface, "axes", ("x", "y"))  # a model's: slope and intercept, ...
    ax.set_xlabel(names[0], fontsize=11 * scale)
    ax.set_ylabel(names[1], fontsize=11 * scale, rotation=0 if len(names[1]) <= 2 else 90,
                  labelpad=8)
    ax.tick_params(labelsize=9 * scale, colors="#333333")
    for spine in ax.spines.values():
        spine.set_color("#888888")
    return ax


@dataclass
class Scene:
    """A laid-out figure's fixed parts, shared by the PNG and the animation:
    *shared*, each path's stretches hidden under later paths
    (:func:`hidden_stretches`); *loss_shared*, the same for the loss curves."""

    fig: object
    ax: object
    lax: object | None
    legend: object
    looks: list[Look]
    shown: list[Shown]
    scale: float
    heading: object
    shared: list[Shown] | None = None
    loss_shared: list[np.ndarray] | None = None


@styled
def compose(surface, traj, spec: RenderSpec = RenderSpec(), *, n=0, extra_handles=()) -> Scene:
    """Lay out and draw everything that does not move: the surface over the
    view box, start, minima, the legend (*entries*: each optimizer's text
    above its final loss; default its label; a note where its path follows
    another's), the title, the note of the run's conventions (bottom left) and
    the loss panel's axes; find the stretches of each path (and loss curve)
    that later ones hide. What is drawn and how: *spec* (title, size, dpi,
    loss_panel, entries, note, view_box)."""
    from optviz.errors import LayoutError

    title, size, dpi, loss_panel = spec.title, spec.size, spec.dpi, spec.loss_panel
    entries, note, view = spec.entries, spec.note, spec.view_box

    fig = new_figure(size, dpi)
    scale = figure_scale(size)
    box = view_box(surface, traj, view, n)
    k_count = len(traj.labels)
    looks_ = looks(k_count)
    ends = [ending(traj, k, n) for k in range(k_count)]
    shown = [shown_path(traj.path(k, n), *box, ends[k] == "diverged") for k in range(k_count)]
    heads = list(entries) if entries is not None else list(traj.labels)

    def texts_with(notes):
        return [legend_text(heads[k], traj.final_losses[k, n], ends[k] == "diverged",
                            shown[k].left_at, note=notes[k],
                            escaped_at=int(traj.steps[k, n]) if ends[k] == "escaped" else None)
                for k in range(k_count)]

    exits = any(s.end is not None and s.end[1] != "X" for s in shown) \
        or any(mk[1] != "o" for s in shown for mk in s.marks)
    entries_back = any(mk[1] == "o" for s in shown for mk in s.marks)

    def make_handles(scale, texts):
        return legend_handles(texts, looks_, [s.end for s in shown],
                              has_minima=bool(surface.minima), scale=scale,
                              exits=exits, returns=entries_back) + list(extra_handles)

    heading_text = title or surface.title
    tol = HIDDEN_WIDTHS * PathStyle().width * scale * dpi / 72
    # the notes are found before the layout (which their length shapes), with the
    # plot at a nominal place; the dashed stretches below use its true place
    texts = texts_with(follow_notes(nominal_transform(fig, box), traj, traj.labels, n=n,
                                    tol=tol))
    planned = plan_layout(fig, make_handles(scale, texts), box, scale=scale,
                          loss_panel=loss_panel, note=bool(note), title=heading_text)
    if planned is None:
        raise LayoutError(too_small(size, dpi, lambda sc: make_handles(sc, texts), box,
                                    loss_panel=loss_panel, note=bool(note),
                                    title=heading_text, count=k_count))
    layout, legend = planned
    ax = layout_axes(fig, surface, rect=layout.plot, box=box)
    ax.apply_aspect()
    draw_surface(ax, Framed(surface, box), scale=scale)
    shared = hidden_stretches(ax.transData, shown, tol=tol)
    lax = loss_shared = None
    if loss_panel:
        lax = loss_axes(fig, traj, n=n, scale=scale, rect=layout.loss, surface=surface,
                        names=heads)
        curves = [lax.loss_scale.values(traj.loss_path(k, n)) for k in range(k_count)]
        loss_shared = hidden_losses(lax.transData, curves,
                                    tol=LOSS_WIDTH * scale * dpi / 72)
    heading = ax.set_title(heading_text, fontsize=15 * scale, loc="left", pad=10,
                           fontweight="bold")
    if note:
        fig.text(layout.plot[0], 0.1 * scale / fig.get_size_inches()[1], note,
                 fontsize=8 * scale, color="#555555", va="bottom")
    check_text(fig)
    return Scene(fig, ax, lax, legend, looks_, shown, scale, heading, shared, loss_shared)


#: a head under later heads within its own size grows by this many points per such
#: head: it shows as a ring around them
HEAD_RING = 6.0
#: at most this many rings: of more heads at one place, the ones drawn first are
#: hidden (a legend note may say which paths coincide)
MAX_RINGS = 2


#: a head on the start ring (drawn over the heads) grows by this many points, to
#: show around it
START_CLEAR = 8.0


def head_rings(points_px: np.ndarray, size_px: float, start_px=None) -> np.ndarray:
    """(K,) for heads at *points_px* (K, 2; NaN: none drawn): how many points
    each grows so that it shows as a ring around the heads drawn after it that
    lie within *size_px* (:data:`HEAD_RING` each, up to :data:`MAX_RINGS`) and
    around the start ring
    at *start_px* (:data:`START_CLEAR`)."""
    p = np.asarray(points_px, float)
    with np.errstate(invalid="ignore"):
        near = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1) < size_px
        on_start = np.zeros(len(p), bool) if start_px is None else \
            np.linalg.norm(p - np.asarray(start_px, float), axis=-1) < size_px
    return HEAD_RING * np.minimum(np.triu(near, 1).sum(axis=1), MAX_RINGS) \
        + START_CLEAR * on_start


#: a re-entry mark's size, as a share of a head's
ENTRY_SHRINK = 0.75
#: the dashes (in line widths, butt caps) of a stretch redrawn over the path that hides it
SHARED_DASHES = (2.0, 2.0)


def draw_paths(ax, traj, cols, *, n=0, scale=1.0, upto: int | None = None, shown=None,
               looks_=None, shared=None):
    """Each optimizer's path (up to step *upto*) as far as the view shows it, in
    segments where it leaves and comes back, and its head: a dot, an X where a
    diverged run leaves, an arrow head where a path leaves the view, an open
    circle where it comes back (marks unclipped, so they show whole at the
    edge); *shared*: each path's stretches that later paths hide, redrawn
    over them dashed (:func:`hidden_stretches`). Returns the artists."""
    style = PathStyle()
    box = (ax.get_xlim(), ax.get_ylim())
    artists = []
    shows = [shown[k] if shown else shown_path(traj.path(k, n), *box, bool(traj.diverged[k, n]))
             for k in range(len(cols))]
    last = traj.shape[2] if upto is None else upto
    for k, c in enumerate(cols):
        s = shows[k]
        look = looks_[k] if looks_ else Look(c)
        p = s.points[: s.upto(last)]
        (line,) = ax.plot(p[:, 0], p[:, 1], color=c, lw=style.width * scale, ls=look.linestyle(),
                          path_effects=path_effects(style), zorder=PATH_Z,
                          solid_capstyle="round", solid_joinstyle="round",
                          dash_capstyle="round", dash_joinstyle="round")
        artists.append(line)
    if shared is not None:
        for k, c in enumerate(cols):
            q = shared[k].points[: shared[k].upto(last)]
            if np.isfinite(q).any():
                (over,) = ax.plot(q[:, 0], q[:, 1], color=c, lw=style.width * scale,
                                  ls=(0, SHARED_DASHES), dash_capstyle="butt",
                                  dash_joinstyle="round", zorder=PATH_Z + 0.5)
                artists.append(over)
    heads = []
    for k, c in enumerate(cols):
        s = shows[k]
        look = looks_[k] if looks_ else Look(c)
        count = s.upto(last)
        ended = s.end is not None and count == len(s.points)
        if ended:
            heads.append((*s.end, ended))
        elif s.head_shown(last):
            heads.append((s.points[count - 1], look.marker, ended))
        else:
            heads.append((None, None, ended))
    px = ax.transData.transform(np.array([h[0] if h[0] is not None else (np.nan, np.nan)
                                          for h in heads], float))
    rings = head_rings(px, style.head_size * scale * ax.figure.dpi / 72,
                       ax.transData.transform([traj.points[0, n, 0, :2]])[0])
    for k, c in enumerate(cols):
        s = shows[k]
        end, marker, ended = heads[k]
        if end is not None:
            grow = (DIVERGED_GROW if marker == "X" else 0.0) + rings[k] * scale
            (head,) = ax.plot([end[0]], [end[1]], marker=marker, ls="", color=c,
                              ms=(style.head_size + grow) * scale, mec="white", mew=1.4,
                              zorder=HEAD_Z, clip_on=not ended)
            artists.append(head)
        for point, marker, step in s.marks:
            if step > last:
                continue
            entry = marker == "o"
            (mark,) = ax.plot([point[0]], [point[1]], marker=marker, ls="",
                              color=c, mfc="white" if entry else c,
                              mec=c if entry else "white", mew=1.4,
                              ms=style.head_size * (ENTRY_SHRINK if entry else 1.0) * scale,
                              zorder=HEAD_Z, clip_on=False)
            artists.append(mark)
    return artists


@styled
def make_figure(surface, traj, spec: RenderSpec = RenderSpec(), *, n=0):
    """The complete static figure: surface, every path, start, minima, legend,
    title, the run's conventions (*note*) and, with *loss_panel*, the loss of
    each optimizer against the step. Returns (fig, plot axes)."""
    scene = compose(surface, traj, spec, n=n)
    cols = [look.colour for look in scene.looks]
    draw_paths(scene.ax, traj, cols, n=n, scale=scene.scale, shown=scene.shown,
               looks_=scene.looks, shared=scene.shared)
    draw_start(scene.ax, traj.points[0, n, 0], scene.scale)
    if scene.lax is not None:
        draw_losses(scene.lax, traj, cols, n=n, scale=scene.scale, looks_=scene.looks,
                    shared=scene.loss_shared)
    return scene.fig, scene.ax
