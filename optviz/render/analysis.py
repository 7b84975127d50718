"""Figures of the analysis commands: gradient responses, sweeps, basin maps."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap, LogNorm, Normalize

from optviz.render.contour import OKABE_ITO, colours, new_figure
from optviz.render.fonts import styled
from optviz.render.labels import number

DIVERGED_COLOUR = "#222222"
UNCONVERGED_COLOUR = "#e4e4e4"


@styled
def response_figure(name: str, signal: np.ndarray, steps: np.ndarray, labels, *, title: str,
                    size=(12, 6), dpi=100, note: str = ""):
    """The signal (top) and the steps −Δθ_t for each hyperparameter value
    (bottom); *note*: the optimizer and its fixed settings, said under the plot."""
    fig = new_figure(size, dpi)
    s = _scale(fig)
    if note:
        fig.text(0.07, 0.012, note, fontsize=8 * s, color="#555555", va="bottom")
    top = fig.add_axes((0.07, 0.62, 0.72, 0.28))
    bottom = fig.add_axes((0.07, 0.10, 0.72, 0.46), sharex=top)
    t = np.arange(1, len(signal) + 1)
    top.plot(t, signal, color="#555555", lw=1.4)
    top.axhline(0, color="#bbbbbb", lw=0.8)
    top.set_ylabel("gradient g", fontsize=11 * s)
    top.set_title(_heading(title, f"signal {name}"), loc="left", fontsize=14 * s,
                  fontweight="bold")
    for row, (label, c) in enumerate(zip(labels, colours(len(labels)))):
        bottom.plot(t, steps[row], color=c, lw=1.8, label=label)
    bottom.axhline(0, color="#bbbbbb", lw=0.8)
    bottom.set_ylabel("step −Δθ", fontsize=11 * s)
    bottom.set_xlabel("t", fontsize=11 * s)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=10 * s)
    _ticks(top, bottom, s=s)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.set_xlim(1, len(signal))
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    return fig


def _scale(fig) -> float:
    """Font and marker scale: 1 at 12 x 8 in, as in the trajectory figures."""
    w, h = fig.get_size_inches()
    return min(w / 12, h / 8) ** 0.5


def _ticks(*axes, s=1.0) -> None:
    for ax in axes:
        ax.tick_params(labelsize=9 * s)


def _heading(config_title: str, *parts: str) -> str:
    """A title and its qualifiers, never two colons: "Wobbly — adam, final loss"."""
    return f"{config_title.rstrip(': ')} — " + ", ".join(p for p in parts if p)


@styled
def sweep_figure(result, *, size=(12, 8), dpi=100):
    """A curve (one parameter) or a heat map (two); diverged points, and for
    steps_to_tol the runs that never got within tol, drawn as such; the best
    point starred, with the tie rule stated."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = new_figure(size, dpi)
    s = _scale(fig)
    ax = fig.add_axes((0.09, 0.17, 0.68, 0.73))
    x, y = result.x, result.y
    raw = np.asarray(result.values, dtype=float)
    diverged = np.asarray(result.diverged, dtype=bool)
    unreached = ~diverged & ~np.isfinite(raw)  # steps_to_tol: never within tol
    values = np.where(diverged | unreached, np.nan, raw)
    what = result.outcome.replace("_", " ")
    fig.suptitle(_heading(result.config.title, result.optimizer.label, what), x=0.09,
                 y=0.97, ha="left", fontsize=14 * s, fontweight="bold")
    finite = values[np.isfinite(values)]
    use_log = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 100)
    best = result.best()
    ties = len(result.ties())
    star = f"best: {x.param}={number(best[x.param])}"
    if y is not None:
        star += f", {y.param}={number(best[y.param])}"
    star += f" ({what} {number(best[result.outcome])})"
    rule = ("best = lowest " + what + (f"; {ties} points tie, the one nearest their centre "
                                       "is starred" if ties > 1 else ""))
    handles = []
    if y is None:
        ax.plot(x.values, values, color=OKABE_ITO[0], lw=2, marker="o", ms=3 * s)
        top = np.nanmax(values) if finite.size else 1.0
        if unreached.any():
            ax.plot(x.values[unreached], np.full(unreached.sum(), top), marker="^", ls="",
                    mfc="white", mec="#555555", ms=7 * s, mew=1.5)
            handles.append(Line2D([], [], marker="^", ls="", mfc="white", mec="#555555",
                                  ms=7 * s, mew=1.5,
                                  label=f"not within tol in {result.config.steps} steps "
                                        "(drawn at the top)"))
        if diverged.any():
            ax.plot(x.values[diverged], np.full(diverged.sum(), top), "x", color="#D55E00",
                    ms=7 * s, mew=2, ls="")
            handles.append(Line2D([], [], marker="x", ls="", color="#D55E00", ms=7 * s, mew=2,
                                  label="diverged (drawn at the top)"))
        if np.isfinite(best[result.outcome]):
            ax.plot(best[x.param], best[result.outcome], marker="*", ms=16 * s, mfc="white",
                    mec="black", ls="", zorder=5)
            handles.insert(0, Line2D([], [], marker="*", ms=14 * s, mfc="white", mec="black",
                                     ls="", label=star))
        ax.set_xlabel(x.param, fontsize=12 * s)
        ax.set_ylabel(what, fontsize=12 * s)
        if x.log:
            ax.set_xscale("log")
        if use_log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    else:
        norm = LogNorm(finite.min(), finite.max()) if use_log else (
            Normalize(finite.min(), finite.max()) if finite.size else None)
        ax.set_facecolor(DIVERGED_COLOUR)  # NaN cells let the background show: diverged
        edges = (_edges(x), _edges(y))
        if unreached.any():
            ax.pcolormesh(*edges, np.ma.masked_where(~unreached, np.ones_like(raw)),
                          cmap=ListedColormap([UNCONVERGED_COLOUR]), shading="flat")
            handles.append(Patch(facecolor=UNCONVERGED_COLOUR, edgecolor="#999999",
                                 label=f"not within tol in {result.config.steps} steps"))
        mesh = ax.pcolormesh(*edges, np.ma.masked_invalid(values), cmap="viridis_r",
                             norm=norm, shading="flat")
        cbar = fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.03)
        cbar.set_label(what + (" (log scale)" if use_log else ""), fontsize=11 * s)
        if x.log:
            ax.set_xscale("log")
        if y.log:
            ax.set_yscale("log")
        ax.set_xlabel(x.param, fontsize=12 * s)
        ax.set_ylabel(y.param, fontsize=12 * s)
        ax.plot(best[x.param], best[y.param], marker="*", ms=16 * s, mfc="white", mec="black",
                ls="")
        handles.insert(0, Line2D([], [], marker="*", ms=14 * s, mfc="white", mec="black", ls="",
                                 label=star))
        if diverged.any():
            handles.append(Patch(facecolor=DIVERGED_COLOUR, label="diverged"))
    _ticks(ax, s=s)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.1), ncol=2,
              frameon=False, fontsize=10 * s)
    fig.text(0.09, 0.015, rule, fontsize=9 * s, color="#555555")
    return fig


def _edges(axis) -> np.ndarray:
    return cell_edges(axis.values, axis.log)


def cell_edges(v: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around grid values *v* (midpoints, in log space if *log*), for pcolormesh."""
    v = np.asarray(v, dtype=float)
    if len(v) == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1])
    if log:
        lv = np.log(v)
        mid = np.exp((lv[1:] + lv[:-1]) / 2)
        return np.concatenate([[v[0] ** 2 / mid[0]], mid, [v[-1] ** 2 / mid[-1]]])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def rounded(value: float, span: float) -> str:
    """*value* to a thousandth of *span* (a domain's width), -0 as 0: "0" for -2e-06."""
    decimals = max(0, int(-np.floor(np.log10(span / 1000))))
    return number(round(float(value), decimals) + 0.0, exact=True)


@styled
def basins_figure(result, *, size=(12, 8), dpi=100):
    """One map per optimizer: each start coloured by the minimum its run
    reaches; the panels as large as the page allows, with small gaps."""
    from matplotlib.patches import Patch

    cfg, surface = result.config, result.config.surface
    k = len(cfg.optimizers)
    fig = new_figure(size, dpi)
    s = _scale(fig)
    fig.suptitle(_heading(cfg.title, "where each start ends"), x=0.02, ha="left",
                 fontsize=14 * s, fontweight="bold")
    (x0, x1), (y0, y1) = surface.domain
    n_min = len(surface.minima)
    palette = [_light(c) for c in OKABE_ITO[:8]]
    cmap = ListedColormap([DIVERGED_COLOUR, UNCONVERGED_COLOUR]
                          + [palette[i % 8] for i in range(max(n_min, 1))])
    ratio = (y1 - y0) / (x1 - x0)
    equal = 0.25 <= ratio <= 4
    W, H = fig.get_size_inches()
    top, bottom, left = 0.75 * s, 0.45 * s, 0.5 * s
    gap_w, gap_h = 0.55 * s, 0.5 * s  # tick labels and a panel title
    legend_w = 2.6 * s  # inches: the key's column, unless it fits in a free cell

    def panel(cols, free_cell):
        rows = int(np.ceil(k / cols))
        if free_cell and rows * cols == k:
            return (0.0, cols, rows, 0.0, 0.0, 0.0, False)
        area_w = W - left - (0.2 * s if free_cell else legend_w)
        w = (area_w - gap_w * (cols - 1)) / cols
        h = (H - top - bottom - gap_h * (rows - 1)) / rows
        if equal:
            w, h = min(w, h / ratio), min(w, h / ratio) * ratio
        if free_cell and w < 2.2 * s:  # too narrow for the key
            return (0.0, cols, rows, 0.0, 0.0, 0.0, False)
        return w * h, cols, rows, w, h, area_w, free_cell

    _, cols, rows, pw, ph, area_w, in_cell = max(
        (panel(c, f) for c in range(1, k + 1) for f in (False, True)), key=lambda o: o[0])
    area_h = H - top - bottom
    grid_w, grid_h = cols * pw + (cols - 1) * gap_w, rows * ph + (rows - 1) * gap_h
    gx, gy = left + (area_w - grid_w) / 2, H - top - (area_h - grid_h) / 2
    for i, opt in enumerate(cfg.optimizers):
        r, c = divmod(i, cols)
        ax = fig.add_axes(((gx + c * (pw + gap_w)) / W, (gy - (r + 1) * ph - r * gap_h) / H,
                           pw / W, ph / H))
        extent = (x0, x1, y0, y1)
        if n_min:
            ax.imshow(result.labels[i] + 2, origin="lower", extent=extent, cmap=cmap,
                      vmin=0, vmax=cmap.N - 1, interpolation="nearest", aspect="auto")
        else:
            loss = result.losses[i]
            ax.set_facecolor(DIVERGED_COLOUR)
            ax.imshow(np.ma.masked_invalid(loss), origin="lower", extent=extent,
                      cmap="viridis_r", interpolation="nearest", aspect="auto")
        if n_min:
            m = np.array(surface.minima)
            ax.scatter(m[:, 0], m[:, 1], marker="*", s=120 * s ** 2, c="white", edgecolors="black",
                       zorder=3)
        ax.set_title(opt.label, fontsize=11 * s, loc="left")
        ax.tick_params(labelsize=8 * s)
    span = max(x1 - x0, y1 - y0)
    handles = [Patch(facecolor=palette[j % 8], edgecolor="#999999",
                     label=f"minimum ({rounded(surface.minima[j][0], span)}, "
                           f"{rounded(surface.minima[j][1], span)})")
               for j in range(n_min)]
    handles += [Patch(facecolor=UNCONVERGED_COLOUR, edgecolor="#999999",
                      label="none reached" if n_min else "colour: final loss"),
                Patch(facecolor=DIVERGED_COLOUR, label="diverged")]
    if in_cell:  # the first free cell of the last row
        r, c = divmod(k, cols)
        at = ((gx + c * (pw + gap_w) + 0.1) / W, (gy - r * (ph + gap_h)) / H)
    else:
        at = ((gx + grid_w + 0.3 * s) / W, gy / H)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=at, frameon=False,
               fontsize=10 * s)
    return fig


def _light(hex_colour: str, amount: float = 0.45) -> tuple[float, float, float]:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return tuple(rgb + (1 - rgb) * amount)
