"""The figure of a model's training: the loss on a plane, the paths projected onto it.

Left, the plane (:mod:`optviz.analysis.projection`) with every optimizer's path
projected onto it, drawn with the contour figure's own pieces
(:mod:`optviz.render.contour`: the level ramp, the paths and their heads, the
legend's handles, the loss panel). The figure says on itself that the paths
are projections, through which centre and along which directions, and how
much of each path the plane holds (in each legend entry: the share of the
path's squared distance from the centre that lies in the plane, and how far
off the plane it ends). Right, the training loss against the step for each
optimizer and, for a model with one or two inputs, what each optimizer's final
model predicts on the data (decision boundaries, or fitted curves).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from optviz.render import contour as C
from optviz.render.labels import number

CLASS_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
CENTRE_MARK = dict(marker="P", ms=11, mfc="white", mec="#222222", mew=1.2, ls="")


class PlaneView:
    """The plane as the contour machinery's surface: its domain, levels and loss,
    the loss on the plane's own grid read from the plane (computed once)."""

    def __init__(self, plane, levels: int = 30):
        self.plane = plane
        self.domain = plane.domain
        self.levels = _nice_levels(plane.losses, levels)
        self.minima = ()
        self.minimum_value = None
        self.title = ""

    def f(self, points: np.ndarray) -> np.ndarray:
        p = self.plane
        if points.shape == (len(p.betas), len(p.alphas), 2) and \
                np.array_equal(points[0, :, 0], p.alphas) and \
                np.array_equal(points[:, 0, 1], p.betas):
            return p.losses
        raise ValueError("the plane's loss is known on its own grid only")


def _nice_levels(z: np.ndarray, count: int):
    """Log-spaced round levels (1, 2, 5 per decade) when the loss is positive and
    spans more than two decades, else a count for the contour figure to choose."""
    finite = z[np.isfinite(z)]
    if finite.size == 0 or finite.min() <= 0 or finite.max() / finite.min() < 100:
        return count
    lo, hi = np.log10(finite.min()), np.log10(finite.max())
    levels = [m * 10.0 ** e for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1)
              for m in (1, 2, 5)]
    levels = [v for v in levels if finite.min() <= v <= finite.max()]
    return tuple(levels) if len(levels) >= 2 else count


def plane_note(plane) -> str:
    """What the plane is, in words, for the figure."""
    if plane.method == "pca":
        a, b = plane.variance
        how = (f"its two principal directions (PCA of every optimizer's iterates, Li et al. "
               f"2018 §7) hold {a:.1%} and {b:.1%} of the iterates' squared distance from it")
    else:
        how = ("two random filter-normalised directions (Li et al. 2018 §4; biases 0), "
               "which need not follow any path")
    return (f"The paths are projections onto a plane through {plane.centre_text}; {how}. "
            "Colours: the loss on the plane, not along the paths, which leave it. Under each "
            "optimizer: the share of its path's squared distance from the centre that lies "
            "in the plane, how far off the plane it ends, and its largest distance from the "
            "centre (reach).")


def legend_entries(plane, traj) -> list[str]:
    """Each optimizer's entry: label, final loss, and how much of its path the plane holds."""
    entries = []
    for k, label in enumerate(traj.labels):
        end = C.legend_text(label, traj.final_losses[k, plane.run],
                            bool(traj.diverged[k, plane.run]))
        entries.append(f"{end}\n{plane.explained[k]:.0%} in the plane; ends "
                       f"{number(plane.off_end[k], 2)} off it (reach {number(plane.reach[k], 2)})")
    return entries


def make_figure(plane, traj, *, model: Any = None, title: str | None = None,
                size=(15.0, 9.0), dpi: int = 100, decisions: bool = True,
                parts: dict | None = None):
    """The plane with the projected paths, the training loss and (with *model*, for
    one or two inputs) each optimizer's final predictions. Returns the figure.

    With *parts* (a dict, filled in), the paths, the start and the loss curves
    are left out for an animation to draw (:class:`PlaneAnimation`)."""
    fig = C.new_figure(size, dpi)
    scale = min(size[0] / 15, size[1] / 9) ** 0.5
    W, H = fig.get_size_inches()
    paths = plane.paths
    k_count = len(paths.labels)
    looks = C.looks(k_count)
    cols = [look.colour for look in looks]
    view = PlaneView(plane)
    box = view.domain
    side = 0.58 * H
    left, top = 0.85 * scale, 1.5 * scale  # inches: room for the y label; title and note
    ax = fig.add_axes((left / W, 1 - (top + side) / H, side / W * 1.05, side / H))
    if C.equal_aspect(box):
        ax.set_aspect("equal")
        ax.set_anchor("NW")
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    axis = "PC" if plane.method == "pca" else "random direction "
    ax.set_xlabel(f"α along {axis}1", fontsize=10 * scale)
    ax.set_ylabel(f"β along {axis}2", fontsize=10 * scale)
    ax.tick_params(labelsize=8.5 * scale)
    C.draw_surface(ax, view, resolution=len(plane.alphas), scale=scale)
    shown = [C.shown_path(paths.path(k), *box, bool(paths.diverged[k, 0]))
             for k in range(k_count)]
    if parts is None:
        C.draw_paths(ax, paths, cols, scale=scale, shown=shown, looks_=looks)
        C.draw_start(ax, paths.points[0, 0, 0], scale)
    ax.plot([0.0], [0.0], zorder=C.START_Z, **{**CENTRE_MARK, "ms": 11 * scale})
    fig.text(left / W, 1 - 0.3 * scale / H, title or "Training on a plane through parameter space",
             fontsize=15 * scale, fontweight="bold", va="top")
    chars = int((W - left - 0.3) * 72 / (9.5 * scale * 0.52))
    fig.text(left / W, 1 - 0.68 * scale / H, "\n".join(textwrap.wrap(plane_note(plane), chars)),
             fontsize=9.5 * scale, va="top", color="#333333")

    right = (left + side * 1.05 + 1.0) / W
    width = 1 - right - 0.3 / W
    predictions = decisions and model is not None and hasattr(model, "predict") \
        and getattr(model, "data", None) is not None and model.data.features <= 2
    loss_h = 0.30 if predictions else 0.55
    lax = C.loss_axes(fig, traj, n=plane.run, scale=scale,
                      rect=(right, 1 - (top / H) - loss_h, width, loss_h),
                      surface=model if getattr(model, "minimum_value", None) is not None
                      else None)
    lax.set_title("training loss (all the data)" + (f": {lax.loss_scale.label}"
                  if lax.loss_scale.scale != "linear" else ""), fontsize=10.5 * scale, loc="left")
    if parts is None:
        C.draw_losses(lax, traj, cols, n=plane.run, scale=scale, looks_=looks)
    else:
        parts.update(ax=ax, lax=lax, shown=shown, cols=cols, looks=looks, scale=scale)
    if predictions:
        below = 1 - (top / H) - loss_h - 0.09
        draw_predictions(fig, model, traj, cols, looks, (right, 0.26, width, below - 0.26),
                         run=plane.run, scale=scale)

    from matplotlib.lines import Line2D

    handles = C.legend_handles(legend_entries(plane, traj), looks, [s.end for s in shown],
                               has_minima=False, scale=scale)
    handles.append(Line2D([], [], label="the plane's centre", **{**CENTRE_MARK,
                                                                 "ms": 11 * scale}))
    ncol = max(1, min(4, int(W // 3.6)))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(left / W, 0.205),
               frameon=False, fontsize=8.5 * scale, ncol=ncol, labelspacing=0.7 * scale,
               handlelength=2.2, columnspacing=1.2)
    return fig


def draw_predictions(fig, model, traj, cols, looks, rect, *, run: int = 0, scale: float = 1.0):
    """What each optimizer's final model predicts on the data, in *rect*: for two
    inputs and classes, one small map per optimizer (the class regions, the
    boundary in the optimizer's colour, the data); for one input, one plot of
    the data and every optimizer's fitted curve (or probability of class 1)."""
    x0, y0, w, h = rect
    data = model.data
    final = traj.final_points[:, run]
    if data.features == 1:
        ax = fig.add_axes(rect)
        xs = data.inputs[:, 0]
        ax.scatter(xs, data.targets, s=6 * scale, c="#888888", alpha=0.6, lw=0,
                   label="data")
        grid = np.linspace(xs.min(), xs.max(), 200)
        out = model.predict(final, grid[:, None])[..., 0]
        for k, look in enumerate(looks):
            ax.plot(grid, out[k], color=look.colour, ls=look.linestyle(), lw=1.6 * scale)
        ax.set_title("each optimizer's final model on the data", fontsize=10.5 * scale,
                     loc="left")
        ax.tick_params(labelsize=8 * scale)
        return [ax]
    k_count = len(traj.labels)
    ncol = min(k_count, 5)
    nrow = int(np.ceil(k_count / ncol))
    gap = 0.008
    cell_w = (w - gap * (ncol - 1)) / ncol
    cell_h = (h - 0.03 - gap * (nrow - 1)) / nrow
    lo, hi = data.inputs.min(0), data.inputs.max(0)
    pad = 0.08 * (hi - lo)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 90)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 90)
    X, Y = np.meshgrid(gx, gy)
    out = model.predict(final, np.c_[X.ravel(), Y.ravel()])  # (K, M, out)
    classes = max(2, data.classes)
    point_colours = [CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] if data.classes else "#555555"
                     for c in data.targets]
    fig.text(x0, y0 + h, "each optimizer's final model: its classes on the data",
             fontsize=10.5 * scale, va="bottom")
    axes = []
    from matplotlib.colors import ListedColormap

    regions = ListedColormap([_light(c) for c in CLASS_COLOURS[:classes]])
    for k in range(k_count):
        r, c = divmod(k, ncol)
        ax = fig.add_axes((x0 + c * (cell_w + gap), y0 + h - 0.03 - (r + 1) * cell_h - r * gap,
                           cell_w, cell_h))
        if out.shape[-1] == 1:
            prob = out[k, :, 0].reshape(X.shape)
            label = (prob > 0.5).astype(float)
            level = 0.5
        else:
            label = out[k].argmax(-1).reshape(X.shape).astype(float)
            prob, level = label, None
        ax.pcolormesh(X, Y, label, cmap=regions, vmin=-0.5, vmax=classes - 0.5,
                      shading="auto", rasterized=True)
        if level is not None and np.nanmin(prob) < level < np.nanmax(prob):
            ax.contour(X, Y, prob, levels=[level], colors=[cols[k]], linewidths=1.8 * scale)
        ax.scatter(data.inputs[:, 0], data.inputs[:, 1], s=3 * scale, c=point_colours, lw=0)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color(cols[k])
            spine.set_linewidth(2.0 * scale)
        ax.text(0.03, 0.97, traj.labels[k], transform=ax.transAxes, fontsize=7.5 * scale,
                va="top", ha="left", bbox={"fc": "white", "ec": "none", "alpha": 0.8,
                                            "pad": 1.0})
        axes.append(ax)
    return axes


def _light(colour: str, amount: float = 0.78) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


class PlaneAnimation:
    """The plane figure with the paths growing over the fixed plane: everything else
    (the loss on the plane, the legend, the final models) is drawn once; each
    frame restores it and draws only the paths up to the step, their heads, the
    start, the loss curves and the step counter (blitting, as
    :class:`optviz.render.frames.Animator`). ``draw(step)`` returns the canvas's
    RGBA buffer (H, W, 4): a view, valid until the next call."""

    def __init__(self, plane, traj, *, model=None, title=None, size=(15.0, 9.0), dpi=100,
                 decisions=True):
        from optviz.render.fonts import text_style

        self.plane, self.traj = plane, traj
        self.parts: dict = {}
        with text_style():
            self.fig = make_figure(plane, traj, model=model, title=title, size=size, dpi=dpi,
                                   decisions=decisions, parts=self.parts)
        p = self.parts
        ax, scale = p["ax"], p["scale"]
        self.total = traj.shape[2]
        self.start = C.draw_start(ax, plane.paths.points[0, 0, 0], scale)
        self.counter = ax.text(1.0, 1.01, "", transform=ax.transAxes, ha="right",
                               va="bottom", fontsize=10 * scale, family="monospace")
        for artist in (self.start, self.counter):
            artist.set_animated(True)
        canvas = self.fig.canvas
        canvas.draw()
        self.background = canvas.copy_from_bbox(self.fig.bbox)
        self.size = canvas.get_width_height()
        self.colours = p["cols"]

    def draw(self, step: int) -> np.ndarray:
        p, canvas = self.parts, self.fig.canvas
        canvas.restore_region(self.background)
        moving = C.draw_paths(p["ax"], self.plane.paths, p["cols"], scale=p["scale"],
                              upto=step, shown=p["shown"], looks_=p["looks"])
        curves, marks, dashed = C.draw_losses(p["lax"], self.traj, p["cols"], n=self.plane.run,
                                              scale=p["scale"], upto=step, looks_=p["looks"])
        moving += [*curves, *(m for m, _ in marks), *dashed]
        width = len(f"{self.total:,}")
        self.counter.set_text(f"step {step:>{width},} of {self.total:,}")
        for artist in [*moving, self.start, self.counter]:
            artist.axes.draw_artist(artist)
        for artist in moving:
            artist.remove()
        return np.asarray(canvas.buffer_rgba())


def animate_plane(plane, traj, stem_path, formats, *, model=None, title=None,
                  size=(15.0, 9.0), dpi=100, decisions=True, fps=10, max_frames=300,
                  progress=None):
    """Write the plane animation as ``stem_path.<fmt>`` for each of *formats* (gif,
    mp4), one frame stream for all, the last frame held as in every animation.
    Returns (files written, one message per format that failed)."""
    from optviz.render.frames import encode

    anim = PlaneAnimation(plane, traj, model=model, title=title, size=size, dpi=dpi,
                          decisions=decisions)
    return encode(anim, stem_path, formats, steps=traj.shape[2], fps=fps,
                  max_frames=max_frames, progress=progress)


def render_plane(plane, traj, out_path, *, model=None, title=None, formats=("png",),
                 size=(15.0, 9.0), dpi=100, decisions=True):
    """Draw the plane figure and write it (atomically) as ``out_path.<fmt>``."""
    from pathlib import Path

    from optviz.render.static import save_figure

    fig = make_figure(plane, traj, model=model, title=title, size=size, dpi=dpi,
                      decisions=decisions)
    return save_figure(fig, Path(out_path), formats)
