"""Comparison figures: fans of many runs, median loss with its inter-quartile band,
and one tuning figure per tuned optimizer."""

from __future__ import annotations

import numpy as np

from optviz.render.contour import (
    START_RING,
    draw_start,
    draw_surface,
    figure_scale,
    layout_axes,
    looks,
    new_figure,
    plan_layout,
    too_small,
)
from optviz.render.fonts import styled

FAN_WIDTH = 0.9  # points: the many runs, thin and translucent
LEAD_WIDTH = 2.4  # the representative run (run 0: the config's start, first seed)


def run_count(config, runs: int) -> str:
    """``30 runs (10 starts x 3 seeds)``: the runs compared, and how they are made
    (the tuning's runs are another count, said in the footnote)."""
    from optviz.analysis.compare import seeds_of

    seeds = len(seeds_of(config))
    if seeds <= 1 or runs % seeds:
        return f"{runs} runs"
    return f"{runs} runs ({runs // seeds} starts x {seeds} seeds)"


def fan_alpha(runs: int) -> float:
    """Each fan line's opacity: the more runs, the fainter, so the fan reads as a density."""
    return float(np.clip(4.0 / max(runs, 1), 0.1, 0.5))


FAN_END = 3.0  # points: the dot where each run of a fan ends (or is, while it moves)
BAND_ALPHA = 0.13  # the inter-quartile band's fill; its edges are drawn as thin lines


def band(values: np.ndarray, diverged: np.ndarray) -> np.ndarray:
    """(3, T+1): the 25th, 50th and 75th percentiles over runs of *values* (N, T+1)
    (NumPy's linear interpolation), a diverged run left out, a run that ended early
    holding its last value; NaN where no run is left."""
    v = _hold_last(np.where(diverged[:, None], np.nan, values))
    out = np.full((3, v.shape[1]), np.nan)
    some = np.isfinite(v).any(axis=0)  # (where none is, NumPy would warn)
    if some.any():
        out[:, some] = np.nanpercentile(v[:, some], [25, 50, 75], axis=0)
    return out


def fan_paths(traj, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs 1 .. N-1 of optimizer *k* as (N-1, T+1, 2) points, each held at its
    last finite point after it stops, with their last steps (N-1,) and diverged
    flags: what a fan draws, sliced per frame without a loop over runs."""
    pts = traj.points[k, 1:, :, :2]
    last = traj.steps[k, 1:]
    t = np.arange(pts.shape[1])
    held = np.minimum(t[None, :], last[:, None])
    return (np.take_along_axis(pts, held[:, :, None].repeat(2, axis=2), axis=1), last,
            traj.diverged[k, 1:])


def gap_or_loss(config, traj):
    """(values (K, N, T+1), axis label): f - f* when the surface states f*, else f."""
    fstar = config.surface.minimum_value
    if fstar is None:
        return traj.losses, "loss f"
    return traj.losses - fstar, "f − f*  (f* = %.6g)" % fstar


@styled
def comparison_figure(config, traj, summary, *, size=(12, 8), dpi=100):
    """The contour with every optimizer's fan of runs and its representative path, and
    a loss panel with each optimizer's median over the runs and its inter-quartile band."""
    from matplotlib import patheffects as pe

    from optviz.errors import LayoutError
    from optviz.render.labels import figure_note

    surface = config.surface
    fig = new_figure(size, dpi)
    scale = figure_scale(size)
    k_count, n_count, steps = traj.shape
    styles = looks(k_count)
    cols = [s.colour for s in styles]

    from optviz.render.labels import legend_heads

    # each entry: the label and its hyperparameters, as the run's figure, or where a
    # small figure has no room for them, the label alone
    heads = legend_heads(config)

    def make_handles(scale):
        return _legend_handles(summary, styles, scale, heads, fan=n_count > 1)

    # laid out as the run's figure: legend and panel beside or under the plot,
    # the figure taller where 20 optimizers' legend needs it
    planned = plan_layout(fig, make_handles(scale), surface.domain, scale=scale,
                          loss_panel=True, note=True, title=config.title)
    if planned is None:
        heads = None
        planned = plan_layout(fig, make_handles(scale), surface.domain, scale=scale,
                              loss_panel=True, note=True, title=config.title)
    if planned is None:
        raise LayoutError(too_small(size, dpi, make_handles, surface.domain, loss_panel=True,
                                    note=True, title=config.title, count=k_count,
                                    panel_optional=False))
    layout, _ = planned
    ax = layout_axes(fig, surface, rect=layout.plot)
    draw_surface(ax, surface, scale=scale)
    alpha = fan_alpha(n_count)
    for k, c in enumerate(cols):
        for n in range(1, n_count):
            p = traj.path(k, n)
            ax.plot(p[:, 0], p[:, 1], color=c, lw=FAN_WIDTH * scale, alpha=alpha, zorder=4,
                    solid_capstyle="round")
        pts, last, gone = fan_paths(traj, k)
        ends = pts[~gone, -1]  # where each run that did not diverge ends
        ax.plot(ends[:, 0], ends[:, 1], "o", color=c, ms=FAN_END * scale, mew=0, ls="",
                alpha=min(0.9, 2 * alpha + 0.2), zorder=4.5)
        lead = traj.path(k, 0)
        ax.plot(lead[:, 0], lead[:, 1], color=c, lw=LEAD_WIDTH * scale, zorder=6,
                ls=styles[k].linestyle(),
                path_effects=[pe.Stroke(linewidth=LEAD_WIDTH * scale + 2, foreground="white"),
                              pe.Normal()])
        ax.plot(lead[-1:, 0], lead[-1:, 1], "X" if traj.diverged[k, 0] else styles[k].marker,
                color=c, ls="",
                mec="white", ms=8 * scale, zorder=7)
    draw_start(ax, traj.points[0, 0, 0], scale)
    ax.set_title(config.title, fontsize=15 * scale, loc="left", pad=10, fontweight="bold")

    lax = fig.add_axes(layout.loss)
    values, ylabel = gap_or_loss(config, traj)
    t = np.arange(steps + 1)
    positive = True
    for k, c in enumerate(cols):
        lo, med, hi = band(values[k], traj.diverged[k])
        # the band's fill is faint and its edges are lines, so overlapping bands
        # stay told apart (their fills alone blended into one colour)
        lax.fill_between(t, lo, hi, color=c, alpha=BAND_ALPHA, lw=0)
        for edge in (lo, hi):
            lax.plot(t, edge, color=c, lw=0.7 * scale, alpha=0.6)
        lax.plot(t, med, color=c, lw=1.8 * scale, ls=styles[k].linestyle())
        v = np.where(traj.diverged[k][:, None], np.nan, values[k])
        finite = v[np.isfinite(v)]
        positive &= bool(finite.size and finite.min() > 0)
    if positive:
        lax.set_yscale("log")
    else:
        lax.set_yscale("symlog", linthresh=1e-3)
    lax.set_xlim(0, steps)
    lax.set_xlabel("step", fontsize=10 * scale)
    lax.set_ylabel(ylabel, fontsize=10 * scale)
    counted = run_count(config, n_count)
    lax.set_title(f"median and inter-quartile range over {counted}", fontsize=10 * scale,
                  loc="left")
    lax.tick_params(labelsize=8 * scale)
    lax.grid(alpha=0.3)
    for spine in ("top", "right"):
        lax.spines[spine].set_visible(False)
    fig.text(0.01, 0.1 * scale / fig.get_size_inches()[1],
             figure_note(config) + f" · compared over {counted} per optimizer",
             fontsize=7.5 * scale, color="#444444", va="bottom", wrap=True)
    return fig


def _legend_handles(summary, styles, scale, heads=None, fan=True):
    """Per optimizer: its label and hyperparameters (*heads*), success rate, median
    steps to tol and share of diverged runs; then the start of the bold path and
    the runs' ends."""
    from matplotlib.lines import Line2D

    handles = []
    for k, row in enumerate(summary):
        text = heads[k] if heads is not None else row["label"]
        if row.get("success_rate") is not None:
            steps_txt = ("never" if row["median_steps_to_tol"] is None
                         else f"{row['median_steps_to_tol']:.0f}")
            text += (f"\nsuccess {row['success_rate']:.0%}, median steps to tol {steps_txt}")
        if row.get("diverged_rate"):
            text += f"\ndiverged in {row['diverged_rate']:.0%} of runs (left out of the band)"
        handles.append(Line2D([], [], color=styles[k].colour, lw=LEAD_WIDTH * scale,
                              ls=styles[k].linestyle(), marker=styles[k].marker, mec="white",
                              label=text))
    handles.append(Line2D([], [], ls="", ms=10 * scale, mew=2.2 * scale,
                          label="start of the bold path (run 0)", **START_RING))
    if fan:
        handles.append(Line2D([], [], ls="-", lw=FAN_WIDTH * scale, color="#777777",
                              marker="o", ms=FAN_END * scale, mew=0, markevery=[1],
                              label="the other runs and their ends"))
    return handles


def _hold_last(v: np.ndarray) -> np.ndarray:
    """Forward-fill NaN along the steps (a stopped run holds its last value)."""
    idx = np.where(np.isnan(v), 0, np.arange(v.shape[1]))
    return np.take_along_axis(v, np.maximum.accumulate(idx, axis=1), axis=1)


@styled
def tuning_figure(result, *, title: str, size=(8, 5), dpi=100):
    """The aggregate objective over an optimizer's grid, the choice marked; diverged
    (all runs) points drawn as such; one axis: a curve, two: a heat map, more: the
    first two axes with the best over the others."""
    from matplotlib.colors import LogNorm, Normalize

    from optviz.render.analysis import cell_edges

    fig = new_figure(size, dpi)
    ax = fig.add_axes((0.12, 0.19, 0.66, 0.67))
    axes = result.axes
    shape = tuple(len(v) for v in result.values)
    scores = result.scores.reshape(shape)
    what = result.spec.objective.replace("_", " ")
    how = "worst" if result.spec.worst else "median"
    chosen = result.chosen
    if len(axes) == 1:
        x = result.values[0]
        finite = np.isfinite(scores)
        ax.plot(x[finite], scores[finite], color=looks(1)[0].colour, lw=1.8, marker="o", ms=2.5)
        if (~finite).any():
            top = scores[finite].max() if finite.any() else 1.0
            ax.plot(x[~finite], np.full((~finite).sum(), top), "x", color="#D55E00", ms=5,
                    ls="", label="diverged / never reached")
        best = scores[result.choice]
        ax.plot([chosen[axes[0].param]], [best], marker="*", ms=15, mfc="white", mec="black",
                ls="", label=f"choice {axes[0].param}={chosen[axes[0].param]:.3g}")
        if axes[0].log:
            ax.set_xscale("log")
        if finite.any() and scores[finite].min() > 0 and \
                scores[finite].max() / scores[finite].min() > 100:
            ax.set_yscale("log")
        ax.set_xlabel(axes[0].param)
        ax.set_ylabel(f"{how} {what}")
        ax.grid(alpha=0.3)
        ax.legend(frameon=True, framealpha=0.9, fontsize=9, loc="best")
    else:
        flat = scores.reshape(shape[0], shape[1], -1).min(axis=2) if len(axes) > 2 else scores
        grid = np.ma.masked_invalid(flat.T)
        finite = flat[np.isfinite(flat)]
        log = finite.size and finite.min() > 0 and finite.max() / finite.min() > 100
        norm = (LogNorm(finite.min(), finite.max()) if log
                else Normalize(finite.min(), finite.max()) if finite.size else None)
        ax.set_facecolor("#222222")  # diverged everywhere there
        mesh = ax.pcolormesh(cell_edges(result.values[0], axes[0].log),
                             cell_edges(result.values[1], axes[1].log), grid,
                             cmap="viridis_r", norm=norm, shading="flat")
        cbar = fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.03)
        cbar.set_label(f"{how} {what}")
        if axes[0].log:
            ax.set_xscale("log")
        if axes[1].log:
            ax.set_yscale("log")
        ax.plot([chosen[axes[0].param]], [chosen[axes[1].param]], marker="*", ms=16,
                mfc="white", mec="black", ls="")
        ax.set_xlabel(axes[0].param)
        ax.set_ylabel(axes[1].param)
    from optviz.analysis.compare import TIE_RULE

    fig.text(0.12, 0.93, title, fontsize=13, fontweight="bold")
    import textwrap

    note = (f"{result.points} grid points, the {how} over {result.runs} runs (starts x seeds); "
            f"{TIE_RULE}")
    fig.text(0.12, 0.015, "\n".join(textwrap.wrap(note, 105)), fontsize=7.5, color="#444444")
    return fig


def fan_trails(traj, colours, scale: float):
    """The animation's fans (runs 1 .. N-1 of each optimizer, thin and translucent,
    a dot where each run is or ended), drawn up to the frame's step: a matplotlib
    artist with ``show(step)``, made by :class:`FanTrails` (matplotlib is imported
    here, when an animation with a fan is drawn)."""
    from matplotlib.artist import Artist
    from matplotlib.colors import to_rgba
    from matplotlib.markers import MarkerStyle
    from matplotlib.path import Path

    class FanTrails(Artist):
        def __init__(self):
            super().__init__()
            self.fans = [fan_paths(traj, k) for k in range(len(colours))]
            self.alpha = fan_alpha(traj.shape[1])
            self.rgba = [to_rgba(c) for c in colours]
            self.width = FAN_WIDTH * scale
            self.dot = MarkerStyle("o")
            self.step = 0

        def show(self, step: int) -> None:
            self.step = step

        def draw(self, renderer) -> None:
            if not self.get_visible():
                return
            transform = self.axes.transData
            affine = transform.get_affine().frozen()
            upto = self.step + 1
            for (pts, last, gone), rgba in zip(self.fans, self.rgba):
                runs = len(pts)
                if not runs:
                    continue
                shown = pts[:, :upto]  # every run to this step: one compound path
                codes = np.full(shown.shape[:2], Path.LINETO, dtype=Path.code_type)
                codes[:, 0] = Path.MOVETO
                path = Path(shown.reshape(-1, 2), codes.reshape(-1))
                gc = renderer.new_gc()
                gc.set_clip_rectangle(self.axes.bbox)
                gc.set_antialiased(True)
                gc.set_linewidth(self.width)
                gc.set_foreground(rgba, isRGBA=True)
                gc.set_alpha(self.alpha)
                gc.set_joinstyle("round")
                gc.set_capstyle("round")
                renderer.draw_path(gc, transform.transform_path_non_affine(path), affine)
                # where each run is now, or ended (a diverged run's dot goes when it stops)
                here = ~(gone & (last <= self.step))
                heads = shown[here, -1]
                if len(heads):
                    gc.set_alpha(min(0.9, 2 * self.alpha + 0.2))
                    gc.set_linewidth(0)
                    size = renderer.points_to_pixels(FAN_END * scale)
                    renderer.draw_markers(gc, self.dot.get_path(),
                                          self.dot.get_transform().scale(size),
                                          transform.transform_path_non_affine(Path(heads)),
                                          affine, rgba)
                gc.restore()
            self.stale = False

    return FanTrails()


def band_polygons(lax, traj, colours, shown):
    """The loss panel's inter-quartile band of each optimizer over its runs, on the
    panel's scale (*shown*: its LossScale), as polygons :func:`show_bands` cuts at a
    step; with the median as a line. Returns (polygons, medians, bands)."""
    from matplotlib.patches import Polygon

    bands = [band(traj.losses[k], traj.diverged[k]) for k in range(len(colours))]
    polys, meds = [], []
    for c, b in zip(colours, bands):
        poly = Polygon(np.zeros((0, 2)), closed=True, color=c, alpha=BAND_ALPHA, lw=0)
        lax.add_patch(poly)
        polys.append(poly)
        (med,) = lax.plot([], [], color=c, lw=0.9, alpha=0.7, ls=(0, (3, 2)))
        meds.append(med)
    return polys, meds, [np.array([shown.values(row) for row in b]) for b in bands]


def show_bands(polys, meds, bands, step: int) -> None:
    """Cut each band and median at *step* (NaN where no run is left: not drawn)."""
    t = np.arange(step + 1)
    for poly, med, (lo, mid, hi) in zip(polys, meds, bands):
        ok = np.isfinite(lo[: step + 1]) & np.isfinite(hi[: step + 1])
        tt = t[ok]
        poly.set_xy(np.concatenate([np.c_[tt, hi[: step + 1][ok]],
                                    np.c_[tt[::-1], lo[: step + 1][ok][::-1]]])
                    if tt.size else np.zeros((0, 2)))
        med.set_data(t, mid[: step + 1])
