"""The frame pipeline: draw the static part once, then only what moves.

The background (filled contours, labels, minima, legend, title) is drawn once
and its pixels saved; each frame restores them, updates the moving artists
(paths, heads, the step counter), draws only those (blitting on the Agg
canvas) and hands the canvas buffer to the encoders. The moving artists sit
above everything they can cross, so a blitted frame equals a full redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.transforms import Bbox, ScaledTranslation

from optviz.render.contour import (
    DIVERGED_GROW,
    HALO_ALPHA,
    PATH_Z,
    Look,
    PathStyle,
    compose,
    draw_losses,
    draw_start,
)
from optviz.render.encoders import open_writers
from optviz.render.fonts import styled
from optviz.render.labels import number
from optviz.render.spec import RenderSpec, render_spec

HOLD_SECONDS = 1.5  # the last frame stays this long before the loop restarts


def frame_steps(steps: int, max_frames: int) -> np.ndarray:
    """The step shown by each frame: 0 .. steps, strided to at most *max_frames*."""
    count = min(steps + 1, max(2, max_frames))
    return np.unique(np.round(np.linspace(0, steps, count)).astype(int))


def hold_frames(fps: int) -> int:
    return max(1, round(HOLD_SECONDS * fps))


class Animator:
    """A figure whose frames are drawn by blitting. ``draw(step)`` returns the
    canvas's RGBA buffer (H, W, 4): a view, valid until the next call."""

    @styled
    def __init__(self, surface, traj, spec: RenderSpec = RenderSpec(), *, n=0, overlays=None):
        """What is drawn and how: *spec* (its ``overlays`` are the kinds drawn from
        the recorded *overlays*, times its ``overlay_lrs``; its ``moment_scale``
        turns each first moment into gradient units)."""
        self.traj, self.n = traj, n
        self.total = traj.shape[2]
        loss_panel = spec.loss_panel
        scene = self.scene = compose(surface, traj, spec, n=n)
        fig, ax, scale = scene.fig, scene.ax, scene.scale
        self.fig, self.ax = fig, ax
        self.looks = scene.looks
        self.colours = [look.colour for look in self.looks]
        self.loss_lines, self.loss_heads, self.loss_now = [], [], []
        self.loss_marks, self.loss_overs = [], []
        if loss_panel:
            lax = self.loss_ax = scene.lax
            self.loss_lines, self.loss_marks, self.loss_overs = draw_losses(
                lax, traj, self.colours, n=n, scale=scale, upto=0, looks_=self.looks,
                shared=scene.loss_shared)
            self.loss_shared = scene.loss_shared
            self.loss_heads = [lax.plot([], [], "o", ms=5 * scale, color=c, ls="",
                                        clip_on=False)[0] for c in self.colours]
            self.loss_now = current_losses(lax, self.colours, scale)
        heading = scene.heading
        style = PathStyle()
        self.trails = Trails(scene.shown, self.looks, width=style.width * scale,
                             halo=style.halo * scale, head_size=style.head_size * scale,
                             diverged_size=(style.head_size + DIVERGED_GROW) * scale,
                             shared=scene.shared, ring=scale, start=traj.points[0, n, 0, :2])
        self.trails.set_zorder(PATH_Z)
        ax.add_artist(self.trails)
        # with starts: or noise seeds, the other runs: a fan under the paths, and
        # in the loss panel their median and inter-quartile band
        self.fans, self.bands = None, None
        fan = [self.fans] if self._fans(traj, scale) else []
        self.overlays, self.quivers = overlays, {}
        if overlays is not None and spec.overlays:
            self._make_quivers(ax, surface, spec.overlays, scale, spec.overlay_lrs,
                               spec.moment_scale)
        # the start ring is redrawn over the paths (the known minima lie under them)
        self.on_top = [draw_start(ax, traj.points[0, n, 0], scale)]
        # above the plot's top right corner, or under it if the title reaches
        # there and the figure has the room below
        # (else the title is shrunk, then shortened, to end before the caption)
        renderer = fig.canvas.get_renderer()
        ax.apply_aspect()  # the axes' final place: a draw would apply it first
        pitch = StepCounter.pitch(ax, scale)
        caption_width = len(StepCounter.text(self.total, self.total)) * pitch * fig.dpi
        room = ax.bbox.x1 - caption_width - 12 * scale * fig.dpi / 72  # where the title ends
        crowded = heading.get_window_extent(renderer).x1 > room
        # under the plot, on the x label's line, where it clears the label
        label_x0 = ax.xaxis.label.get_window_extent(renderer).x0
        below = (crowded and StepCounter.depth_below(scale) * fig.dpi < ax.bbox.y0
                 and ax.bbox.x1 - caption_width > label_x0 + caption_width / len(
                     StepCounter.text(self.total, self.total)))
        self.title_fitted = crowded and not below
        if self.title_fitted:
            fit_text(heading, room, renderer)
        self.counter = StepCounter(ax, self.total, scale, pitch, below=below)
        # the loss panel's frame is drawn over its curves (spines sit above lines)
        loss_frame = list(self.loss_ax.spines.values()) if loss_panel else []
        # in the order of their zorder, as a full draw draws them
        band = [*self.bands[0], *self.bands[1]] if self.bands else []
        self.moving = [*fan, self.trails, *self.quivers.values(), *self.on_top, *band,
                       *self.loss_lines, *self.loss_heads, *self.loss_overs, *loss_frame,
                       *(m for m, _ in self.loss_marks), *self.loss_now]
        for artist in [*self.moving, *self.counter.texts]:
            artist.set_animated(True)
        canvas = fig.canvas
        # one full draw, first without the caption's fixed characters: the
        # still figure's background (final_still); then they are drawn over it
        # (nothing else reaches their place, so this equals drawing them in
        # the full draw: the blitting tests compare with a full redraw)
        for text in self.counter.fixed:
            text.set_visible(False)
        canvas.draw()
        self.still_background = canvas.copy_from_bbox(fig.bbox)
        for text in self.counter.fixed:
            text.set_visible(True)
            ax.draw_artist(text)
        self.background = canvas.copy_from_bbox(fig.bbox)
        w, h = canvas.get_width_height()
        self.size = (w, h)
        self.scale = scale

    def _fans(self, traj, scale) -> bool:
        """Make the fan and, with a loss panel, the bands (runs 1 .. N-1), if any."""
        if self.n != 0 or traj.shape[1] < 2:
            return False
        from optviz.render.compare import band_polygons, fan_trails

        self.fans = fan_trails(traj, self.colours, scale)
        self.fans.set_zorder(PATH_Z - 0.5)
        self.ax.add_artist(self.fans)
        if self.loss_lines:
            self.bands = band_polygons(self.loss_ax, traj, self.colours,
                                       self.loss_ax.loss_scale)
        return True

    # one look per kind (none is an optimizer's colour, whose steps show as such):
    # face colour (None: the optimizer's), edge colour, key text
    OVERLAY_STYLE = {"gradient": ("#222222", "#222222", "−lr·gradient"),
                     "momentum": ("white", "#222222", "−lr·first moment"),
                     "step": (None, "white", "step taken (true length)"),
                     "inner": ("#bdbdbd", "#222222", "to the method's second point")}

    def _make_quivers(self, ax, surface, kinds, scale, lrs, moment_scale):
        """One quiver per overlay kind, one arrow per optimizer, in parameter
        units: each optimizer's gradient and first moment (in gradient units,
        *moment_scale* converting those kept otherwise) times its own lr, the
        step plain gradient descent would take; gradient and first moment
        share one stretch, stated in the key, that makes the longest arrow 15%
        of the plot; steps are drawn at their true length."""
        from matplotlib.legend import Legend
        from matplotlib.patches import FancyArrow

        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        span = max(abs(x1 - x0), abs(y1 - y0))
        k_count = len(self.colours)
        lrs = np.ones(k_count) if lrs is None else np.asarray(lrs, float)
        per_k = {"gradient": -lrs,
                 "momentum": -lrs * (np.ones(k_count) if moment_scale is None
                                     else np.asarray(moment_scale, float)),
                 "step": np.ones(k_count), "inner": np.ones(k_count)}
        true_length = ("step", "inner")
        biggest = 0.0
        for kind in kinds:
            if kind not in true_length:
                norms = np.linalg.norm(getattr(self.overlays, kind), axis=-1) \
                    * np.abs(per_k[kind])[:, None]
                if np.isfinite(norms).any():
                    biggest = max(biggest, float(np.nanmax(norms)))
        stretch = 0.15 * span / biggest if biggest > 0 else 1.0
        self.stretch, self.factors, handles, texts = stretch, {}, [], []
        for kind in kinds:
            factor = per_k[kind] * (1.0 if kind in true_length else stretch)
            self.factors[kind] = factor[:, None]
            face, edge, label = self.OVERLAY_STYLE[kind]
            q = ax.quiver(np.zeros(k_count), np.zeros(k_count), np.zeros(k_count),
                          np.zeros(k_count), color=self.colours if face is None else face,
                          edgecolor=edge, linewidth=0.8 * scale, angles="xy",
                          scale_units="xy", scale=1, width=0.005 * scale, headwidth=4,
                          headlength=5, zorder=7)
            self.quivers[kind] = q
            handles.append(FancyArrow(0, 0, 1, 0, width=0.3, head_width=0.8,
                                      facecolor=face or self.colours[0], edgecolor=edge))
            if kind == "inner":
                from optviz.core.optim.modern import INNER_POINTS

                names = getattr(self.overlays, "inner_names", ())
                label += (":\n  " + "\n  ".join(INNER_POINTS[n] for n in names) if names
                          else " (none here)")
            texts.append(label if kind in true_length else f"{label} ×{number(stretch, 3)}")
        # a second legend, added as an artist so the optimizers' legend stays
        from matplotlib.legend_handler import HandlerPatch

        key = Legend(ax, handles, texts, loc="lower right", fontsize=8 * scale,
                     framealpha=0.9, title="arrows, in x-y units" +
                     ("" if moment_scale is None or "momentum" not in kinds
                      or np.all(np.asarray(moment_scale) == 1) else " (NAG's v ÷ its lr)"),
                     title_fontsize=8 * scale,
                     handler_map={FancyArrow: HandlerPatch(patch_func=_arrow_handle)})
        ax.add_artist(key)

    def overlay_vectors(self, kind: str, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions (K, 2), vectors (K, 2)) drawn for *kind* at frame *step*; NaN
        vectors where there is nothing to draw (a run's end, no first moment)."""
        tr, n = self.traj, self.n
        data = getattr(self.overlays, kind)
        pos = np.zeros((len(self.colours), 2))
        vec = np.full((len(self.colours), 2), np.nan)
        for k in range(len(self.colours)):
            last = int(tr.steps[k, n])
            pos[k] = tr.points[k, n, min(step, last)]
            if kind == "inner":  # a point, kept with the path point its update made
                if 0 < step <= last and step - 1 < data.shape[1]:
                    vec[k] = data[k, step - 1] - pos[k]
            elif step < last and step < data.shape[1]:
                vec[k] = data[k, step] * self.factors[kind][k]
        return pos, vec

    def draw(self, step: int) -> np.ndarray:
        canvas, tr, n = self.fig.canvas, self.traj, self.n
        canvas.restore_region(self.background)
        # the counter first: its digits lie under anything moving (as in a full
        # draw), and the cells it keeps hold only background
        self.counter.show(step)
        self.counter.draw(canvas)
        self.trails.show(step)
        if self.fans is not None:
            self.fans.show(step)
        if self.bands is not None:
            from optviz.render.compare import show_bands

            show_bands(*self.bands, step)
        if self.loss_lines:
            shown = self.loss_ax.loss_scale
        for k in range(len(self.loss_lines)):
            upto = min(step, int(tr.steps[k, n]))
            loss = shown.values(tr.losses[k, n, : upto + 1])
            self.loss_lines[k].set_data(np.arange(upto + 1), loss)
            over = self.loss_shared[k][: upto + 1]
            self.loss_overs[k].set_data(np.arange(len(over)), over)
            head = loss[-1] if np.isfinite(loss[-1]) else shown.limits[0]  # at f*: the edge
            self.loss_heads[k].set_data([upto], [min(head, shown.limits[1])])
            self.loss_now[k].set_text(now_text(tr.losses[k, n, upto], shown,
                                               upto < step and bool(tr.diverged[k, n])))
        for mark, t in self.loss_marks:
            mark.set_visible(t <= step)
        for kind, q in self.quivers.items():
            pos, vec = self.overlay_vectors(kind, step)
            q.set_offsets(pos)
            q.set_UVC(np.ma.masked_invalid(vec[:, 0]), np.ma.masked_invalid(vec[:, 1]))
        for artist in self.moving:
            artist.axes.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())

    def final_still(self) -> np.ndarray | None:
        """The finished static figure (every whole path, no step counter) from
        the background already drawn: what ``contour.make_figure`` draws, pixel
        for pixel (tested), or None where the animation's figure differs from
        it: its title had to be shortened, it has overlays or a loss panel, or
        it is not 12 x 8 in (the static figure's path halo has a fixed width,
        the animation's scales with the figure)."""
        if self.title_fitted or self.quivers or self.loss_lines or self.scale != 1.0:
            return None
        canvas = self.fig.canvas
        canvas.restore_region(self.still_background)
        self.trails.show(self.total)
        if self.fans is not None:
            self.fans.show(self.total)
        for artist in self.moving:
            artist.axes.draw_artist(artist)
        return np.array(canvas.buffer_rgba())

    def frames(self, steps: Sequence[int]) -> Iterator[np.ndarray]:
        for s in steps:
            yield self.draw(int(s))


def _arrow_handle(legend, orig_handle, xdescent, ydescent, width, height, fontsize):
    from matplotlib.patches import FancyArrow

    return FancyArrow(-xdescent, height / 2 - ydescent, width, 0, width=height * 0.3,
                      head_width=height * 0.9, head_length=width * 0.3,
                      length_includes_head=True)


def current_losses(lax, cols, scale):
    """One text per optimizer in the loss panel's upper right corner: its loss
    at the frame's step, in its colour (redrawn every frame)."""
    step = 1.25 * 8 * scale / 72 * lax.figure.dpi  # one line, in pixels
    from matplotlib.transforms import offset_copy

    texts = []
    for k, c in enumerate(cols):
        where = offset_copy(lax.transAxes, fig=lax.figure, x=0, y=-k * step, units="dots")
        texts.append(lax.text(0.99, 0.97, "", transform=where, ha="right", va="top",
                              fontsize=8 * scale, color=c, family="DejaVu Sans Mono",
                              zorder=4))
    return texts


def now_text(loss: float, scale, stopped: bool) -> str:
    """The loss-panel reading: the shown quantity (f − f* on that scale) now."""
    from optviz.render.labels import number

    value = float(loss) - scale.shift
    what = "f−f*" if scale.shift or scale.label.startswith("f − f*") else "f"
    return f"{what} {number(value, 3)}" + (" (stopped)" if stopped else "")


def fit_text(text, right: float, renderer, *, min_shrink: float = 0.7) -> None:
    """Make *text* end left of *right* (pixels): a smaller font, down to
    *min_shrink* of its size, then the words cut short with an ellipsis."""
    def end() -> float:
        return text.get_window_extent(renderer).x1

    size = text.get_fontsize()
    while end() > right and text.get_fontsize() > size * min_shrink:
        text.set_fontsize(text.get_fontsize() * 0.95)
    if end() <= right:
        return
    full = text.get_text()
    lo, hi = 0, len(full)  # the longest prefix that fits, by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        text.set_text(full[:mid].rstrip() + "…")
        if end() <= right:
            lo = mid
        else:
            hi = mid - 1
    text.set_text(full[:lo].rstrip() + "…")


class Trails(Artist):
    """Every optimizer's path up to the current step, a coloured line (solid,
    dashed or dotted: its :class:`~optviz.render.contour.Look`) on a white
    halo, and its head marker; paths are drawn in order (a later one crosses
    over an earlier one), then the stretches of each that later ones hide,
    dashed over them, then the heads and marks. A path is drawn in the segments
    the view shows (``contour.shown_path``): where it leaves, an arrow head
    pointing out (a larger X where a diverged run leaves), where it comes back
    an open circle, unclipped, as in the static figure; no head while it is
    out of view.

    Pixel for pixel what ``Line2D`` artists with a ``Stroke`` halo path effect
    draw (tests/test_animation.py checks it), without their per-draw
    bookkeeping: paths and heads are redrawn every frame, so they are most of
    an animation's drawing time. Each frame only slices the precomputed points.
    """

    def __init__(self, shows: Sequence, looks: Sequence[Look], *, width: float, halo: float,
                 head_size: float, diverged_size: float | None = None,
                 head_edge: float = 1.4, shared: Sequence | None = None, ring: float = 0.0,
                 start=None):
        """*shows*: each path's ``contour.Shown``; *shared*: each path's hidden
        stretches (``contour.hidden_stretches``), or None; *ring*: the scale of a
        head's growth where later heads or the *start* lie on it
        (``contour.head_rings``); sizes in points."""
        super().__init__()
        from matplotlib.colors import to_rgba
        from matplotlib.markers import MarkerStyle

        self.shows = list(shows)
        self.paths = [np.asarray(sh.points, dtype=float) for sh in self.shows]
        self.shared = list(shared) if shared is not None else None
        self.looks = list(looks)
        self.rgba = [to_rgba(look.colour) for look in self.looks]
        self.ends = [sh.end for sh in self.shows]
        self.width, self.halo = width, halo
        self.head_size, self.head_edge = head_size, head_edge
        self.diverged_size = head_size if diverged_size is None else diverged_size
        self.ring, self.start = ring, start
        self.step = 0
        self.upto = [sh.upto(0) for sh in self.shows]
        kinds = {look.marker for look in self.looks} | {e[1] for e in self.ends if e} \
            | {mk[1] for sh in self.shows for mk in sh.marks}
        self.markers = {kind: MarkerStyle(kind) for kind in kinds}

    def show(self, step: int) -> None:
        """Show each path up to *step* (or its last point, if it ended earlier)."""
        self.step = step
        self.upto = [sh.upto(step) for sh in self.shows]

    def head(self, k: int) -> tuple[np.ndarray, str] | None:
        """Where path *k*'s head is drawn, and its marker (None: out of view)."""
        upto = self.upto[k]
        if self.ends[k] is not None and upto == len(self.paths[k]):
            return self.ends[k]
        if not self.shows[k].head_shown(self.step):
            return None
        return self.paths[k][upto - 1], self.looks[k].marker

    def _gc(self, renderer, width, colour, alpha=None):
        gc = renderer.new_gc()
        gc.set_clip_rectangle(self.axes.bbox)
        gc.set_antialiased(True)
        gc.set_linewidth(width)
        gc.set_foreground(colour, isRGBA=True)
        if alpha is not None:
            gc.set_alpha(alpha)
        return gc

    def _mark(self, renderer, point, kind, size, edge, face, clip):
        from matplotlib.path import Path

        transform = self.axes.transData
        marker = self.markers[kind]
        size = renderer.points_to_pixels(size)
        gc = self._gc(renderer, self.head_edge, edge)
        if not clip:  # at the plot's edge: the whole mark shows
            gc.set_clip_rectangle(None)
        snap = marker.get_snap_threshold()
        gc.set_snap(size >= snap if snap is not None else None)
        gc.set_joinstyle(marker.get_joinstyle())
        gc.set_capstyle(marker.get_capstyle())
        renderer.draw_markers(gc, marker.get_path(), marker.get_transform().scale(size),
                              transform.transform_path_non_affine(Path(point[None])),
                              transform.get_affine().frozen(), face)
        gc.restore()

    def draw(self, renderer) -> None:
        from matplotlib.path import Path

        from optviz.render.contour import ENTRY_SHRINK, SHARED_DASHES, head_rings

        if not self.get_visible():
            return
        transform = self.axes.transData
        affine = transform.get_affine().frozen()
        white = (1.0, 1.0, 1.0, 1.0)
        for pts, upto, rgba, look in zip(self.paths, self.upto, self.rgba, self.looks):
            tpath = transform.transform_path_non_affine(Path(pts[:upto]))
            for gc in (self._gc(renderer, self.halo, white, HALO_ALPHA),
                       self._gc(renderer, self.width, rgba)):
                gc.set_joinstyle("round")
                gc.set_capstyle("round")
                if look.dashes is not None:  # Line2D's: scaled by its width, in points
                    gc.set_dashes(0, [d * self.width for d in look.dashes])
                renderer.draw_path(gc, tpath, affine)
                gc.restore()
        for sh, rgba in zip(self.shared or (), self.rgba):
            pts = sh.points[: sh.upto(self.step)]
            if not np.isfinite(pts).any():
                continue
            gc = self._gc(renderer, self.width, rgba)
            gc.set_joinstyle("round")
            gc.set_capstyle("butt")
            gc.set_dashes(0, [d * self.width for d in SHARED_DASHES])
            renderer.draw_path(gc, transform.transform_path_non_affine(Path(pts)), affine)
            gc.restore()
        heads = [self.head(k) for k in range(len(self.rgba))]
        px = transform.transform(np.array([h[0] if h is not None else (np.nan, np.nan)
                                           for h in heads], float))
        rings = head_rings(px, renderer.points_to_pixels(self.head_size),
                           None if self.start is None else transform.transform([self.start])[0])
        for k, rgba in enumerate(self.rgba):
            head = heads[k]
            if head is not None:
                point, kind = head
                ended = self.ends[k] is not None and self.upto[k] == len(self.paths[k])
                self._mark(renderer, point, kind,
                           (self.diverged_size if kind == "X" else self.head_size)
                           + self.ring * rings[k], white, rgba, clip=not ended)
            for point, kind, step in self.shows[k].marks:
                if step > self.step:
                    continue
                entry = kind == "o"
                self._mark(renderer, point, kind,
                           self.head_size * (ENTRY_SHRINK if entry else 1.0),
                           rgba if entry else white, white if entry else rgba, clip=False)
        self.stale = False


class StepCounter:
    """The caption "step 37 / 125" over the plot's top right corner (or under
    its bottom right corner).

    It is set one monospaced character per slot, slots two pixels wider than
    a character. "step" and "/ 125" are background; the number's digits are
    redrawn per frame. Text is costly to draw, so each (slot, digit) is drawn
    once and its pixels kept, and a frame pastes them back. A kept cell reaches
    one pixel past its character on each side (antialiased edges) and cells
    never overlap, so a pasted digit equals a drawn one. The digit texts are
    real artists holding the current digits, so a full redraw shows the same.
    """

    def __init__(self, ax, total: int, scale: float, pitch: float, *, below: bool = False):
        """*pitch*: a slot's width in inches (:meth:`pitch`); *below*: under the
        plot's bottom right corner, on the x label's line (under the tick
        labels), instead of above the top right corner."""
        fig = ax.figure
        self.ax, self.patches, self.value = ax, {}, ""
        font = self.font(scale)
        if below:
            y, drop, font["va"] = 0.0, self.drop(scale), "top"
        else:
            y, drop = 1.012, 0.0

        def slot(i: int, text: str = ""):  # slot 0 is the rightmost
            shift = ScaledTranslation(-i * pitch, -drop, fig.dpi_scale_trans)
            return ax.text(1.0, y, text, transform=ax.transAxes + shift, **font)

        digits, tail = len(str(total)), f" / {total}"
        self.fixed = [slot(i, c) for i, c in enumerate(reversed(tail)) if c != " "]
        self.texts = [slot(len(tail) + j) for j in range(digits)]  # the number
        self.fixed += [slot(len(tail) + digits + 1 + i, c) for i, c in enumerate(reversed("step"))]
        self.total = total

    @staticmethod
    def drop(scale: float) -> float:
        """Inches from the axes' bottom to the top of the caption under it:
        ticks 3.5 pt + pad 3.5 pt + tick labels (9 pt text) + 4 pt."""
        return (11 + 9 * 1.2 * scale) / 72

    @classmethod
    def depth_below(cls, scale: float) -> float:
        """Inches the caption needs under the axes, its own height included."""
        return cls.drop(scale) + (11 * 1.3 * scale + 2) / 72

    @staticmethod
    def font(scale: float) -> dict:
        return {"va": "bottom", "ha": "right", "fontsize": 11 * scale, "color": "#333333",
                "family": "DejaVu Sans Mono"}

    @classmethod
    def pitch(cls, ax, scale: float) -> float:
        """One slot's width in inches: a character and two pixels."""
        fig = ax.figure
        probe = ax.text(0, 0, "0" * 10, **cls.font(scale))
        char = probe.get_window_extent(fig.canvas.get_renderer()).width / 10 / fig.dpi
        probe.remove()
        return char + 2 / fig.dpi

    @staticmethod
    def text(step, total: int) -> str:
        return f"step {step} / {total}"

    def caption(self) -> str:
        return self.text(self.value, self.total)

    def get_text(self) -> str:
        return self.value

    def show(self, step: int) -> None:
        self.value = str(step)
        chars = self.value.rjust(len(self.texts))[::-1]
        for text, c in zip(self.texts, chars):
            text.set_text(c.strip())

    def draw(self, canvas) -> None:
        """Paste each digit, drawing it (over the restored background) the first time."""
        for j, text in enumerate(self.texts):
            c = text.get_text()
            if not c:
                continue
            patch = self.patches.get((j, c))
            if patch is None:
                self.ax.draw_artist(text)
                # the digit's own cell only: a neighbour's cell may hold another digit
                x0, y0, x1, y1 = text.get_window_extent(canvas.get_renderer()).extents
                box = Bbox([[np.floor(x0) - 1, y0 - 2], [np.ceil(x1) + 1, y1 + 2]])
                self.patches[j, c] = canvas.copy_from_bbox(box)
            else:
                canvas.restore_region(patch)


def make_animator(config, traj, overlays=None):
    """The 2-D (blitted) or 3-D animator a config asks for."""
    spec = render_spec(config)
    if spec.view == "3d":
        from optviz.render.view3d import Animator3D

        return Animator3D(config.surface, traj, spec)
    return Animator(config.surface, traj, spec, overlays=overlays)


def frame_stream(config, traj) -> Iterator[np.ndarray]:
    """Every frame of a config's animation (the hold on the last frame included)."""
    anim = make_animator(config, traj)
    steps = frame_steps(traj.shape[2], config.render.max_frames)
    frame = None
    for frame in anim.frames(steps):
        yield frame
    for _ in range(hold_frames(config.render.fps)):
        yield frame


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


@styled
def render_animation(config, traj, out_dir, formats: Sequence[str], *,
                     progress: Callable[[int, int], None] | None = None, overlays=None,
                     on_still: Callable[[np.ndarray | None], None] | None = None
                     ) -> tuple[list[Path], list[str]]:
    """Draw the animation once and stream it into every requested encoder.

    *on_still*, if given, is called with the finished static figure's pixels
    (:meth:`Animator.final_still`; None where the animation cannot give them)
    while the encoders finish: a run that writes a PNG too draws its contours
    once. Returns the files written and one message per format that failed
    (the other formats are still written).
    """
    anim = make_animator(config, traj, overlays)
    finish = None if on_still is None else (
        lambda: on_still(anim.final_still() if isinstance(anim, Animator) else None))
    return encode(anim, Path(out_dir) / config.stem, formats, steps=traj.shape[2],
                  fps=config.render.fps, max_frames=config.render.max_frames,
                  progress=progress, finish=finish)


def encode(anim, stem_path: Path, formats: Sequence[str], *, steps: int, fps: int,
           max_frames: int, progress: Callable[[int, int], None] | None = None,
           finish: Callable[[], None] | None = None) -> tuple[list[Path], list[str]]:
    """Stream an animator's frames (anything with ``draw(step)``, ``size`` and
    ``colours``) into every requested encoder as ``stem_path.<fmt>``, the last frame
    held; *finish* runs while the encoders finish. Returns the files written and one
    message per format that failed (the other formats are still written)."""
    shown = [int(s) for s in frame_steps(steps, max_frames)]
    # the GIF palette's samples are the first and the last frame: drawn once,
    # they are also the frames written (nothing is drawn twice)
    first, last = anim.draw(shown[0]).copy(), anim.draw(shown[-1]).copy()
    writers = open_writers(Path(stem_path), formats, anim.size, fps, samples=[first, last],
                           pinned=[_rgb(c) for c in anim.colours])
    with writers:
        for i, step in enumerate(shown):
            frame = first if i == 0 else last if i == len(shown) - 1 else anim.draw(step)
            writers.write_frame(frame)
            if progress:
                progress(i + 1, len(shown))
        for _ in range(hold_frames(fps)):
            writers.write_frame(last)
        if finish is not None:
            finish()
    return writers.files, [f"{fmt}: {msg}" for fmt, msg in writers.errors.items()]
