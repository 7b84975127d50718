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
    pad = max(0.5, 0.01 * len(signal))  # t = 1 clear of the left spine, t = T of the right
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.set_xlim(1 - pad, len(signal) + pad)
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


def sweep_title(result) -> str:
    """"Wobbly — adam beta1=0.8, final loss over lr": the optimizer with its fixed
    settings, the outcome and what is swept; never the config's value of a swept
    hyperparameter (the label "adam lr=0.1" while lr runs over 1e-3 .. 1)."""
    from optviz.render.labels import optimizer_label

    opt, cfg = result.optimizer, result.config
    swept = [result.x.param] + ([result.y.param] if result.y is not None else [])
    words = optimizer_label(opt.type, opt.params, cfg.conventions).split(" ")
    who = " ".join(w for w in words if not any(w.startswith(f"{p}=") for p in swept))
    if getattr(opt, "custom_label", False):
        who = f"{opt.label} ({who})"
    return _heading(cfg.title, who, f"{result.outcome.replace('_', ' ')} over "
                                    f"{' and '.join(swept)}")


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
    fig.suptitle(sweep_title(result), x=0.09, y=0.97, ha="left", fontsize=14 * s,
                 fontweight="bold", wrap=True)
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


def basin_shares(result, k: int) -> str:
    """``A 46% · B 10% · none 44%``: where optimizer *k*'s starts end, the minima
    by their letters in the key (:func:`minimum_letter`), shares under 0.5% left out."""
    lab = np.asarray(result.labels[k])
    n_min = len(result.config.surface.minima)
    names = [(minimum_letter(j), j) for j in range(n_min)]
    names += [("none" if n_min else "", -1), ("diverged", -2)]
    parts = [f"{name} {share:.0%}".strip() for name, j in names
             if (share := float((lab == j).mean())) >= 0.005 and (name or j == -2)]
    return " · ".join(parts)


def minimum_letter(j: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[j] if j < 26 else f"M{j + 1}"


def basins_note(result) -> str:
    """The footnote: the grid of starts, the steps, what reaching a minimum means,
    the conventions and any noise."""
    from optviz.analysis.basins import default_tol
    from optviz.render.labels import figure_note

    cfg = result.config
    r = len(result.labels[0])
    tol = getattr(result, "tol", None)
    tol = default_tol(cfg.surface) if tol is None else tol
    rest = figure_note(cfg).split(" · ", 1)[1]  # without "N steps from (start)"
    reach = (f"a start reaches a minimum when its run ends within {number(tol)} of it · "
             if cfg.surface.minima else "colour: the final loss · ")
    return f"{r} x {r} starts over the domain, {cfg.steps} steps each · {reach}{rest}"


@styled
def basins_figure(result, *, size=(12, 8), dpi=100):
    """One map per optimizer: each start coloured by the minimum its run
    reaches, with the shares in its title and the axes named; the key sized
    to its text, beside the panels or in a free cell, never off the page; the
    panels as large as the rest allows; a footnote of how it was made."""
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
    span = max(x1 - x0, y1 - y0)
    handles = [Patch(facecolor=palette[j % 8], edgecolor="#999999",
                     label=f"{minimum_letter(j)}: minimum ({rounded(surface.minima[j][0], span)}, "
                           f"{rounded(surface.minima[j][1], span)})")
               for j in range(n_min)]
    handles += [Patch(facecolor=UNCONVERGED_COLOUR, edgecolor="#999999",
                      label="none reached" if n_min else "colour: final loss"),
                Patch(facecolor=DIVERGED_COLOUR, label="diverged")]
    legend = fig.legend(handles=handles, loc="upper left", frameon=False, fontsize=10 * s)
    box = legend.get_window_extent(fig.canvas.get_renderer())
    key_w, key_h = box.width / dpi + 0.15 * s, box.height / dpi
    note = fig.text(0.02, 0.01, basins_note(result), fontsize=7.5 * s, color="#444444",
                    va="bottom", wrap=True)
    ratio = (y1 - y0) / (x1 - x0)
    equal = 0.25 <= ratio <= 4
    W, H = fig.get_size_inches()
    # inches: title; footnote and the bottom row's x label; the y label and tick labels
    top, bottom, left, right = 0.75 * s, 0.95 * s, 0.75 * s, 0.15 * s
    gap_w, gap_h = 0.45 * s, 0.95 * s  # tick labels; a two-line panel title and x ticks

    def panel(cols, free_cell):
        rows = int(np.ceil(k / cols))
        if free_cell and rows * cols == k:
            return (0.0, cols, rows, 0.0, 0.0, 0.0, False)
        area_w = W - left - right - (0.0 if free_cell else key_w + 0.3 * s)
        w = (area_w - gap_w * (cols - 1)) / cols
        h = (H - top - bottom - gap_h * (rows - 1)) / rows
        if equal:
            w, h = min(w, h / ratio), min(w, h / ratio) * ratio
        if w <= 0 or h <= 0:
            return (0.0, cols, rows, 0.0, 0.0, 0.0, False)
        if free_cell and (w + gap_w < key_w or h + gap_h < key_h):  # the key must fit
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
        shares = basin_shares(result, i)
        ax.set_title(opt.label + (f"\n{shares}" if shares else ""), fontsize=9.5 * s,
                     loc="left")
        ax.tick_params(labelsize=8 * s)
        if c == 0:
            ax.set_ylabel("start y", fontsize=9 * s, labelpad=1)
        if i + cols >= k:  # nothing under it: the bottom of its column
            ax.set_xlabel("start x", fontsize=9 * s, labelpad=1)
    if in_cell:  # the first free cell of the last row
        r, c = divmod(k, cols)
        at = ((gx + c * (pw + gap_w) + 0.1 * s) / W, (gy - r * (ph + gap_h)) / H)
    else:
        at = ((W - right - key_w) / W, gy / H)
    legend.set_bbox_to_anchor(at, transform=fig.transFigure)
    note.set_position((left / W * 0.3, 0.08 * s / H))
    return fig


def _light(hex_colour: str, amount: float = 0.45) -> tuple[float, float, float]:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return tuple(rgb + (1 - rgb) * amount)
