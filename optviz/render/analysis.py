"""Figures of the analysis commands: gradient responses, sweeps, basin maps."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap, LogNorm, Normalize

from optviz.render.contour import OKABE_ITO, colours, new_figure

DIVERGED_COLOUR = "#222222"
UNCONVERGED_COLOUR = "#e4e4e4"


def response_figure(name: str, signal: np.ndarray, steps: np.ndarray, labels, *, title: str,
                    size=(12, 6), dpi=100):
    """The signal (top) and the steps −Δθ_t for each hyperparameter value (bottom)."""
    fig = new_figure(size, dpi)
    top = fig.add_axes((0.07, 0.62, 0.72, 0.28))
    bottom = fig.add_axes((0.07, 0.10, 0.72, 0.46), sharex=top)
    t = np.arange(1, len(signal) + 1)
    top.plot(t, signal, color="#555555", lw=1.4)
    top.axhline(0, color="#bbbbbb", lw=0.8)
    top.set_ylabel("gradient g", fontsize=11)
    top.set_title(f"{title} — signal: {name}", loc="left", fontsize=14, fontweight="bold")
    for row, (label, c) in enumerate(zip(labels, colours(len(labels)))):
        bottom.plot(t, steps[row], color=c, lw=1.8, label=label)
    bottom.axhline(0, color="#bbbbbb", lw=0.8)
    bottom.set_ylabel("step −Δθ", fontsize=11)
    bottom.set_xlabel("t", fontsize=11)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=10)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.set_xlim(1, len(signal))
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    return fig


def sweep_figure(result, *, size=(12, 8), dpi=100):
    """A curve (one parameter) or a heat map (two), diverged points shown as such."""
    fig = new_figure(size, dpi)
    ax = fig.add_axes((0.09, 0.1, 0.68, 0.8))
    x, y = result.x, result.y
    values = np.where(result.diverged, np.nan, result.values).astype(float)
    values[~np.isfinite(values)] = np.nan
    what = result.outcome.replace("_", " ")
    title = f"{result.config.title}: {result.optimizer.label}, {what}"
    finite = values[np.isfinite(values)]
    use_log = finite.size and finite.min() > 0 and finite.max() / finite.min() > 100
    if y is None:
        ax.plot(x.values, values, color=OKABE_ITO[0], lw=2, marker="o", ms=3)
        dv = result.diverged
        if dv.any():
            top = np.nanmax(values) if finite.size else 1.0
            ax.plot(x.values[dv], np.full(dv.sum(), top), "x", color="#D55E00", ms=7,
                    mew=2, ls="", label="diverged")
            ax.legend(frameon=False)
        ax.set_xlabel(x.param, fontsize=12)
        ax.set_ylabel(what, fontsize=12)
        if x.log:
            ax.set_xscale("log")
        if use_log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    else:
        norm = LogNorm(finite.min(), finite.max()) if use_log else (
            Normalize(finite.min(), finite.max()) if finite.size else None)
        ax.set_facecolor(DIVERGED_COLOUR)  # NaN cells let the background show: diverged
        mesh = ax.pcolormesh(_edges(x), _edges(y), np.ma.masked_invalid(values),
                             cmap="viridis_r", norm=norm, shading="flat")
        cbar = fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.03)
        cbar.set_label(what + (" (log scale)" if use_log else ""), fontsize=11)
        if x.log:
            ax.set_xscale("log")
        if y.log:
            ax.set_yscale("log")
        ax.set_xlabel(x.param, fontsize=12)
        ax.set_ylabel(y.param, fontsize=12)
        best = result.best()
        ax.plot(best[x.param], best[y.param], marker="*", ms=16, mfc="white", mec="black",
                ls="", label=f"best: {x.param}={best[x.param]:.3g}, "
                             f"{y.param}={best[y.param]:.3g}")
        from matplotlib.patches import Patch

        handles = ax.get_legend_handles_labels()[0] + [
            Patch(facecolor=DIVERGED_COLOUR, label="diverged")]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=2,
                  frameon=False, fontsize=10)
    ax.set_title(title, loc="left", fontsize=14, fontweight="bold")
    return fig


def _edges(axis) -> np.ndarray:
    v = axis.values
    if axis.log:
        lv = np.log(v)
        mid = np.exp((lv[1:] + lv[:-1]) / 2)
        return np.concatenate([[v[0] ** 2 / mid[0]], mid, [v[-1] ** 2 / mid[-1]]])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def basins_figure(result, *, size=(12, 8), dpi=100):
    """One map per optimizer: each start coloured by the minimum its run reaches."""
    from matplotlib.patches import Patch

    cfg, surface = result.config, result.config.surface
    k = len(cfg.optimizers)
    cols = min(k, 3)
    rows = int(np.ceil(k / cols))
    fig = new_figure(size, dpi)
    fig.suptitle(f"{cfg.title}: where each start ends", x=0.02, ha="left", fontsize=14,
                 fontweight="bold")
    (x0, x1), (y0, y1) = surface.domain
    n_min = len(surface.minima)
    palette = [_light(c) for c in OKABE_ITO[:8]]
    cmap = ListedColormap([DIVERGED_COLOUR, UNCONVERGED_COLOUR]
                          + [palette[i % 8] for i in range(max(n_min, 1))])
    aspect = "equal" if 0.4 <= (y1 - y0) / (x1 - x0) <= 2.5 else "auto"
    grid = fig.add_gridspec(rows, cols, left=0.05, right=0.76, top=0.88, bottom=0.07,
                            wspace=0.25, hspace=0.3)
    for i, opt in enumerate(cfg.optimizers):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        extent = (x0, x1, y0, y1)
        if n_min:
            ax.imshow(result.labels[i] + 2, origin="lower", extent=extent, cmap=cmap,
                      vmin=0, vmax=cmap.N - 1, interpolation="nearest", aspect=aspect)
        else:
            loss = result.losses[i]
            ax.set_facecolor(DIVERGED_COLOUR)
            ax.imshow(np.ma.masked_invalid(loss), origin="lower", extent=extent,
                      cmap="viridis_r", interpolation="nearest", aspect=aspect)
        if n_min:
            m = np.array(surface.minima)
            ax.scatter(m[:, 0], m[:, 1], marker="*", s=120, c="white", edgecolors="black",
                       zorder=3)
        ax.set_title(opt.label, fontsize=11, loc="left")
        ax.tick_params(labelsize=8)
    handles = [Patch(facecolor=palette[j % 8], edgecolor="#999999",
                     label=f"minimum ({surface.minima[j][0]:.3g}, {surface.minima[j][1]:.3g})")
               for j in range(n_min)]
    handles += [Patch(facecolor=UNCONVERGED_COLOUR, edgecolor="#999999",
                      label="none reached" if n_min else "colour: final loss"),
                Patch(facecolor=DIVERGED_COLOUR, label="diverged")]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.78, 0.88),
               frameon=False, fontsize=10)
    return fig


def _light(hex_colour: str, amount: float = 0.45) -> tuple[float, float, float]:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return tuple(rgb + (1 - rgb) * amount)
