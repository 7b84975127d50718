"""The 3-D view: the surface shaded and semi-transparent, the paths on it.

3-D axes are redrawn whole for every frame (a turning camera changes every
pixel, and depth sorting defeats blitting), so 3-D animations are slower than
the 2-D ones; the surface mesh is kept coarse (80 x 80) for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optviz.render.contour import colours, legend_text, new_figure


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

    def __init__(self, surface, traj, *, title=None, size=(12, 8), dpi=100, n=0,
                 camera: Camera = Camera(), entries=None, note=""):
        from matplotlib.colors import LinearSegmentedColormap
        from matplotlib.lines import Line2D

        self.traj, self.n, self.surface, self.camera = traj, n, surface, camera
        self.total = traj.shape[2]
        fig = self.fig = new_figure(size, dpi)
        ax = self.ax = fig.add_axes((0.0, 0.02, 0.72, 0.9), projection="3d")
        (x0, x1), (y0, y1) = surface.domain
        X, Y = np.meshgrid(np.linspace(x0, x1, 80), np.linspace(y0, y1, 80))
        Z = surface.f(np.stack([X, Y], axis=-1))
        finite = Z[np.isfinite(Z)]
        lo, hi = np.percentile(finite, [0, 99]) if finite.size else (0, 1)
        Z = np.clip(Z, lo, hi)
        cmap = LinearSegmentedColormap.from_list("optviz3d", ["#f4f6f9", "#9aa5b8"])
        ax.plot_surface(X, Y, Z, cmap=cmap, alpha=0.55, linewidth=0, antialiased=True,
                        rstride=1, cstride=1, zorder=0)
        ax.contour(X, Y, Z, levels=12, offset=lo, colors="#8a93a3", linewidths=0.5)
        ax.set_zlim(lo, hi)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_zlabel("loss")
        ax.view_init(camera.elev, camera.azim)
        self.colours = colours(len(traj.labels))
        self.paths = [_visible(traj.path(k, n), surface) for k in range(len(traj.labels))]
        self.heights = [np.clip(traj.loss_path(k, n), lo, hi) for k in range(len(traj.labels))]
        self.lines, self.heads = [], []
        for c in self.colours:
            (line,) = ax.plot([], [], [], color=c, lw=2.2, zorder=5)
            (head,) = ax.plot([], [], [], "o", color=c, mec="white", ms=7, zorder=6)
            self.lines.append(line)
            self.heads.append(head)
        s0 = traj.points[0, n, 0]
        ax.plot([s0[0]], [s0[1]], [np.clip(surface.f(s0), lo, hi)], "o", color="black",
                mec="white", ms=9, zorder=7)
        heads = list(entries) if entries is not None else list(traj.labels)
        handles = [Line2D([], [], color=c, lw=2.2, label=legend_text(
            heads[k], traj.final_losses[k, n], traj.diverged[k, n]))
            for k, c in enumerate(self.colours)]
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.73, 0.9),
                   frameon=False, fontsize=10, labelspacing=0.9)
        fig.text(0.02, 0.95, title or surface.title, fontsize=15, fontweight="bold")
        self.counter = fig.text(0.70, 0.95, "", ha="right", fontsize=11, color="#333333",
                                family="DejaVu Sans Mono")
        self.size = fig.canvas.get_width_height()

    def draw(self, step: int) -> np.ndarray:
        tr, n = self.traj, self.n
        for k, (line, head) in enumerate(zip(self.lines, self.heads)):
            last = int(tr.steps[k, n])
            upto = min(step, last) + 1
            p, z = self.paths[k][:upto], self.heights[k][:upto]
            line.set_data_3d(p[:, 0], p[:, 1], z)
            head.set_data_3d(p[-1:, 0], p[-1:, 1], z[-1:])
            head.set_marker("X" if tr.diverged[k, n] and step >= last else "o")
        self.ax.view_init(self.camera.elev, self.camera.azim + self.camera.rotate * step)
        self.counter.set_text(f"step {step} / {self.total}")
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())

    def frames(self, steps):
        for s in steps:
            yield self.draw(int(s))
