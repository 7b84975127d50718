"""Pure drawing on a given Axes: the surface, the paths, the legend.

No file I/O and no pyplot: figures are plain ``matplotlib.figure.Figure``
objects on an Agg canvas, so nothing global leaks and no display is needed.
The animation pipeline reuses these pieces: the background (surface, minima,
start, legend, title) is drawn once, the paths are the only moving artists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every
# common colour-vision deficiency. Yellow is last: it reads poorly on light grey.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
BACKGROUND = ("#fbfbfc", "#c3c8d1")  # the filled contours' light ramp, low to high
CONTOUR_LINE = "#4d5563"
PATH_Z, HEAD_Z, START_Z = 6, 7, 8  # above contour labels (blitted frames stay exact)
HALO_ALPHA = 0.9  # the white edge under each path: lifts it off the contours
DIVERGED_GROW = 3.0  # a diverged run's X is this many points larger than a head dot
MAX_LABELLED_LEVELS = 12


def colours(k: int) -> list[str]:
    """One distinct colour per optimizer (the palette repeats past eight)."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(k)]


def new_figure(size=(12.0, 8.0), dpi=100):
    """A Figure on an Agg canvas with pixel dimensions rounded to even numbers."""
    w = 2 * round(size[0] * dpi / 2)
    h = 2 * round(size[1] * dpi / 2)
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def layout_axes(fig, surface, loss_panel: bool = False):
    """The plot axes, leaving a column on the right for the legend (and loss panel)."""
    w, h = fig.get_size_inches()
    scale = min(w / 12, h / 8)
    ax = fig.add_axes((0.06, 0.08, 0.50, 0.83) if loss_panel else (0.07, 0.08, 0.60, 0.83))
    (x0, x1), (y0, y1) = surface.domain
    ratio = (y1 - y0) / (x1 - x0)
    if 0.4 <= ratio <= 2.5:
        ax.set_aspect("equal")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x", fontsize=11 * scale)
    ax.set_ylabel("y", fontsize=11 * scale, rotation=0, labelpad=8)
    ax.tick_params(labelsize=9 * scale, colors="#333333")
    for spine in ax.spines.values():
        spine.set_color("#888888")
    return ax


def surface_grid(surface, resolution=300):
    (x0, x1), (y0, y1) = surface.domain
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, surface.f(np.stack([X, Y], axis=-1))


def _levels(surface, Z):
    finite = Z[np.isfinite(Z)]
    if isinstance(surface.levels, int):
        from matplotlib.ticker import MaxNLocator

        return MaxNLocator(surface.levels + 1).tick_values(finite.min(), finite.max())
    levels = np.asarray(surface.levels, dtype=float)
    inside = levels[(levels >= finite.min()) & (levels <= finite.max())]
    return inside if len(inside) >= 2 else levels


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
    """Filled contours in a calm grey ramp, thin labelled level lines, known minima."""
    from matplotlib.colors import LinearSegmentedColormap

    X, Y, Z = surface_grid(surface, resolution)
    levels = _levels(surface, Z)
    cmap = LinearSegmentedColormap.from_list("optviz", BACKGROUND)
    ax.contourf(X, Y, Z, levels=levels, cmap=cmap, extend="both", zorder=0)
    lines = ax.contour(X, Y, Z, levels=levels, colors=CONTOUR_LINE, linewidths=0.5 * scale,
                       alpha=0.55, zorder=1)
    ax.clabel(lines, labelled_levels(lines.levels), inline=True, fontsize=7 * scale,
              fmt="%g", colors="#3a404b")
    if surface.minima:
        m = np.array(surface.minima)
        ax.scatter(m[:, 0], m[:, 1], marker="*", s=160 * scale ** 2, c="white",
                   edgecolors="#222222", linewidths=0.9, zorder=START_Z,
                   label="known minimum")
    return lines


@dataclass(frozen=True)
class PathStyle:
    width: float = 2.2
    halo: float = 4.2
    head_size: float = 8.0


def path_effects(style: PathStyle):
    from matplotlib import patheffects as pe

    return [pe.Stroke(linewidth=style.halo, foreground="white", alpha=HALO_ALPHA), pe.Normal()]


def legend_text(label: str, loss: float, diverged: bool) -> str:
    if diverged:
        return f"{label}\ndiverged (last loss {loss:.4g})"
    return f"{label}\nfinal loss {loss:.4g}"


def draw_start(ax, start, scale=1.0):
    return ax.plot([start[0]], [start[1]], "o", ms=9 * scale, mfc="black", mec="white",
                   mew=1.5, zorder=START_Z, label="start")[0]


def draw_legend(ax, traj, cols, *, has_minima: bool, scale=1.0, n=0, below=False):
    """A legend of proxy handles (independent of the moving artists), right of the
    axes, or below them (*below*, for the loss panel)."""
    from matplotlib.lines import Line2D

    style = PathStyle()
    handles = [Line2D([], [], color=c, lw=style.width * scale,
                      marker="X" if traj.diverged[k, n] else "o",
                      ms=style.head_size * (1.0 if traj.diverged[k, n] else 0.8) * scale,
                      mec="white",
                      label=legend_text(label, traj.final_losses[k, n], traj.diverged[k, n]))
               for k, (label, c) in enumerate(zip(traj.labels, cols))]
    handles.append(Line2D([], [], ls="", marker="o", ms=9 * scale, mfc="black", mec="white",
                          label="start"))
    if has_minima:
        handles.append(Line2D([], [], ls="", marker="*", ms=13 * scale, mfc="white",
                              mec="#222222", label="known minimum"))
    anchor = (0.0, -0.16) if below else (1.03, 1.0)
    leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=anchor,
                    borderaxespad=0.0, frameon=False, fontsize=10 * scale,
                    labelspacing=0.9 * scale, handlelength=2.2,
                    ncol=2 if below and len(handles) > 5 else 1)
    return leg


def loss_axes(fig, traj, *, n=0, scale=1.0):
    """The loss-vs-step panel (upper right), scaled for the whole run so that an
    animation never rescales: log scale when the losses are positive and span
    more than two decades."""
    lax = fig.add_axes((0.64, 0.50, 0.33, 0.41))
    losses = np.concatenate([traj.loss_path(k, n) for k in range(len(traj.labels))])
    finite = losses[np.isfinite(losses)]
    lax.set_xlim(0, traj.shape[2])
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        lax.set_yscale("log")
        lax.set_ylim(finite.min() / 1.5, finite.max() * 1.5)
    elif finite.size:
        pad = 0.05 * (finite.max() - finite.min() or 1.0)
        lax.set_ylim(finite.min() - pad, finite.max() + pad)
    lax.set_xlabel("step", fontsize=10 * scale)
    lax.set_ylabel("loss", fontsize=10 * scale)
    lax.set_title("loss", fontsize=11 * scale, loc="left")
    lax.tick_params(labelsize=8 * scale)
    lax.grid(alpha=0.3)
    for spine in ("top", "right"):
        lax.spines[spine].set_visible(False)
    return lax


def draw_losses(lax, traj, cols, *, n=0, scale=1.0, upto: int | None = None):
    """Each optimizer's loss curve (up to step *upto*); returns the lines."""
    lines = []
    for k, c in enumerate(cols):
        loss = traj.loss_path(k, n)
        if upto is not None:
            loss = loss[: upto + 1]
        (line,) = lax.plot(np.arange(len(loss)), loss, color=c, lw=1.8 * scale)
        lines.append(line)
    return lines


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


def draw_paths(ax, traj, cols, *, n=0, scale=1.0, upto: int | None = None):
    """Each optimizer's path (up to step *upto*) and its head: a dot, or for a
    run shown to its divergence an X where it was last seen on the plot
    (unclipped, so the whole X shows at the edge). Returns the artists."""
    style = PathStyle()
    artists = []
    for k, c in enumerate(cols):
        p = traj.path(k, n)
        if upto is not None:
            p = p[: upto + 1]
        (line,) = ax.plot(p[:, 0], p[:, 1], color=c, lw=style.width * scale,
                          path_effects=path_effects(style), zorder=PATH_Z,
                          solid_capstyle="round", solid_joinstyle="round")
        diverged = bool(traj.diverged[k, n]) and (upto is None or upto >= traj.steps[k, n])
        end = last_seen(p, ax.get_xlim(), ax.get_ylim()) if diverged else p[-1]
        (head,) = ax.plot(end[:1], end[1:], marker="X" if diverged else "o",
                          ms=(style.head_size + DIVERGED_GROW * diverged) * scale, color=c,
                          mec="white", mew=1.4, zorder=HEAD_Z, ls="", clip_on=not diverged)
        artists += [line, head]
    return artists


def make_figure(surface, traj, *, title=None, size=(12, 8), dpi=100, n=0, loss_panel=False):
    """The complete static figure: surface, every path, start, minima, legend, title
    (and, with *loss_panel*, the loss of each optimizer against the step)."""
    fig = new_figure(size, dpi)
    scale = min(size[0] / 12, size[1] / 8) ** 0.5
    ax = layout_axes(fig, surface, loss_panel)
    draw_surface(ax, surface, scale=scale)
    cols = colours(len(traj.labels))
    draw_paths(ax, traj, cols, n=n, scale=scale)
    draw_start(ax, traj.points[0, n, 0], scale)
    if loss_panel:
        lax = loss_axes(fig, traj, n=n, scale=scale)
        draw_losses(lax, traj, cols, n=n, scale=scale)
        draw_legend(lax, traj, cols, has_minima=bool(surface.minima), scale=scale, n=n,
                    below=True)
    else:
        draw_legend(ax, traj, cols, has_minima=bool(surface.minima), scale=scale, n=n)
    ax.set_title(title or surface.title, fontsize=15 * scale, loc="left", pad=10,
                 fontweight="bold")
    return fig, ax
