"""The 3-D view: the surface as a landscape, tinted by height, the paths on it.

With a still camera nothing but the paths moves, so the surface, axes,
legend and title are drawn once and each frame blits the paths and the step
counter over them (as the 2-D animator does). The paths are drawn over the
surface (not hidden behind hills: ``computed_zorder`` is off), so a blitted
frame and a full redraw show the same. A turning camera changes every pixel
of every frame: each frame is a full redraw, and the height tint comes in a
few flat bands on white panes without a grid, so that a GIF of it stays
compressible (125 frames at 12 x 8 in: about 3.5 MB; MP4 is still the better
format for a turning camera: benchmarks/bench_3d.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optviz.render.contour import START_COLOUR, legend_text, looks, new_figure
from optviz.render.fonts import check_text, styled

# hypsometric tints, low to high: a landscape (valley green to ridge sand and rock)
LANDSCAPE = ("#2f6f73", "#6fa58c", "#b9cf9a", "#e9dfae", "#d2b282", "#a98a6d", "#e9e4dc")
BANDS = 14  # flat colour bands of the height tint
MESH = 80  # surface mesh points per side


@dataclass(frozen=True)
class Camera:
    elev: float = 35.0
    azim: float = -60.0
    rotate: float = 0.0  # degrees of azimuth per frame (0: a fixed camera)


def _visible(points: np.ndarray, surface) -> np.ndarray:
    """Points outside the domain are hidden (NaN) so paths stay on the surface box."""
    (x0, x1), (y0, y1) = surface.domain
    out = points.copy()
    outside = (out[:, 0] < x0) | (out[:, 0] > x1) | (out[:, 1] < y0) | (out[:, 1] > y1)
    out[outside] = np.nan
    return out


class Animator3D:
    """Same interface as the 2-D Animator: ``draw(step)`` returns the RGBA buffer."""

    @styled
    def __init__(self, surface, traj, *, title=None, size=(12, 8), dpi=100, n=0,
                 camera: Camera = Camera(), entries=None, note=""):
        from matplotlib.colors import BoundaryNorm, LinearSegmentedColormap
        from matplotlib.lines import Line2D

        self.traj, self.n, self.surface, self.camera = traj, n, surface, camera
        self.total = traj.shape[2]
        w, h = size
        scale = min(w / 12, h / 8) ** 0.5
        fig = self.fig = new_figure(size, dpi)
        ax = self.ax = fig.add_axes((0.0, 0.03, 0.68, 0.88), projection="3d",
                                    computed_zorder=False)
        (x0, x1), (y0, y1) = surface.domain
        X, Y = np.meshgrid(np.linspace(x0, x1, MESH), np.linspace(y0, y1, MESH))
        Z = surface.f(np.stack([X, Y], axis=-1))
        finite = Z[np.isfinite(Z)]
        lo, hi = np.percentile(finite, [0, 99]) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        Z = np.clip(Z, lo, hi)
        self.lo, self.hi = lo, hi
        lift = 0.006 * (hi - lo)  # paths just above the ground they run on
        cmap = LinearSegmentedColormap.from_list("landscape", LANDSCAPE)
        if camera.rotate == 0:  # tinted by height and lit from the north-west
            from matplotlib.colors import LightSource, Normalize

            rgb = LightSource(azdeg=315, altdeg=45).shade(
                Z, cmap=cmap, norm=Normalize(lo, hi), blend_mode="soft",
                vert_exag=0.5 * max(x1 - x0, y1 - y0) / (hi - lo))
            ax.plot_surface(X, Y, Z, facecolors=rgb, linewidth=0, antialiased=False,
                            rstride=1, cstride=1, shade=False, zorder=0)
        else:  # a few flat bands: a turning camera's GIF stays compressible
            norm = BoundaryNorm(np.linspace(lo, hi, BANDS + 1), cmap.N)
            ax.plot_surface(X, Y, Z, cmap=cmap, norm=norm, linewidth=0, antialiased=False,
                            rstride=1, cstride=1, shade=False, zorder=0)
        if camera.rotate == 0:  # the floor's contour map (its fine lines cost a turning GIF)
            ax.contour(X, Y, Z, levels=BANDS, offset=lo, colors="#8a93a3", linewidths=0.5,
                       zorder=0)
        else:  # flat panes, no grid: fewer colours in every frame
            for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
                axis.set_pane_color((1.0, 1.0, 1.0, 1.0))
            ax.grid(False)
        ax.set_zlim(lo, hi)
        for label, name in ((ax.set_xlabel, "x"), (ax.set_ylabel, "y"), (ax.set_zlabel, "f")):
            label(name, fontsize=10 * scale)
        ax.tick_params(labelsize=8 * scale)
        ax.view_init(camera.elev, camera.azim)
        self.looks = looks(len(traj.labels))
        self.colours = [look.colour for look in self.looks]
        k_count = len(traj.labels)
        self.paths = [_visible(traj.path(k, n), surface) for k in range(k_count)]
        self.heights = [np.clip(traj.loss_path(k, n), lo, hi) + lift for k in range(k_count)]
        self.lines, self.heads = [], []
        for look in self.looks:
            (line,) = ax.plot([], [], [], color=look.colour, lw=2.4 * scale,
                              ls=look.linestyle(), zorder=5)
            (head,) = ax.plot([], [], [], look.marker, color=look.colour, mec="white",
                              ms=8 * scale, zorder=6)
            self.lines.append(line)
            self.heads.append(head)
        s0 = traj.points[0, n, 0]
        ax.plot([s0[0]], [s0[1]], [np.clip(surface.f(s0), lo, hi) + lift], "o",
                color=START_COLOUR, mec="white", ms=9 * scale, zorder=7)
        if surface.minima:
            m = np.array(surface.minima, dtype=float)
            ax.plot(m[:, 0], m[:, 1], np.clip(surface.f(m), lo, hi) + lift, "*", ls="",
                    mfc="white", mec="#222222", ms=13 * scale, zorder=7)
        heads = list(entries) if entries is not None else list(traj.labels)
        handles = [Line2D([], [], color=look.colour, lw=2.2 * scale, ls=look.linestyle(),
                          marker="X" if traj.diverged[k, n] else look.marker, mec="white",
                          ms=7 * scale,
                          label=legend_text(heads[k], traj.final_losses[k, n],
                                            bool(traj.diverged[k, n])))
                   for k, look in enumerate(self.looks)]
        handles.append(Line2D([], [], ls="", marker="o", ms=9 * scale, mfc=START_COLOUR,
                              mec="white", label="start"))
        if surface.minima:
            handles.append(Line2D([], [], ls="", marker="*", ms=13 * scale, mfc="white",
                                  mec="#222222", label="known minimum"))
        legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.69, 0.9),
                            frameon=False, fontsize=10 * scale, labelspacing=0.8 * scale)
        check_text(legend)  # CJK labels measured in their fonts
        heading = fig.text(0.02, 0.95, title or surface.title, fontsize=15 * scale,
                           fontweight="bold")
        self.counter = fig.text(0.66, 0.95, "", ha="right", fontsize=11 * scale,
                                color="#333333", family="DejaVu Sans Mono")
        # a legend longer than the figure: the figure grows taller, all else
        # keeping its place from the top (the note stays at the foot)
        tall = legend.get_window_extent(fig.canvas.get_renderer()).height / dpi + 0.1 * h \
            + 0.35 * scale
        if tall > h:
            grown = 2 * np.ceil(tall * dpi / 2) / dpi
            fig.set_size_inches(w, grown)
            ax.set_position((0.0, 1 - 0.97 * h / grown, 0.68, 0.88 * h / grown))
            legend.set_bbox_to_anchor((0.69, 1 - 0.1 * h / grown), transform=fig.transFigure)
            for text in (heading, self.counter):
                text.set_y(1 - 0.05 * h / grown)
            h = grown
        if note:
            fig.text(0.02, 0.012 * size[1] / h, note, fontsize=8 * scale, color="#555555")
        check_text(fig)
        self.size = fig.canvas.get_width_height()
        self.blit = camera.rotate == 0
        self.moving = [*self.lines, *self.heads]
        if self.blit:  # draw what does not move once
            for artist in (*self.moving, self.counter):
                artist.set_animated(True)
            fig.canvas.draw()
            self.background = fig.canvas.copy_from_bbox(fig.bbox)

    def _update(self, step: int) -> None:
        tr, n = self.traj, self.n
        for k, (line, head) in enumerate(zip(self.lines, self.heads)):
            last = int(tr.steps[k, n])
            upto = min(step, last) + 1
            p, z = self.paths[k][:upto], self.heights[k][:upto]
            line.set_data_3d(p[:, 0], p[:, 1], z)
            head.set_data_3d(p[-1:, 0], p[-1:, 1], z[-1:])
            head.set_marker("X" if tr.diverged[k, n] and step >= last else self.looks[k].marker)
        self.counter.set_text(f"step {step} / {self.total}")

    def draw(self, step: int) -> np.ndarray:
        self._update(step)
        canvas = self.fig.canvas
        if self.blit:
            canvas.restore_region(self.background)
            for artist in self.moving:
                self.ax.draw_artist(artist)
            self.fig.draw_artist(self.counter)
        else:
            self.ax.view_init(self.camera.elev, self.camera.azim + self.camera.rotate * step)
            canvas.draw()
        return np.asarray(canvas.buffer_rgba())

    def still(self, step: int):
        """The figure showing *step* for an ordinary (non-blitted) save: a still."""
        self._update(step)
        self.counter.set_text("")
        for artist in (*self.moving, self.counter):
            artist.set_animated(False)
        return self.fig

    def frames(self, steps):
        for s in steps:
            yield self.draw(int(s))
