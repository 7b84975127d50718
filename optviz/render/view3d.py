"""The 3-D view: the surface as a landscape, tinted by height, the paths on it.

What is drawn, back to front: the panes (no grid), the floor's contour map
(z = the lowest height: under the surface, so the surface covers it wherever
both are seen), the surface (height tint, hill-shaded from the north-west,
its facets sorted by depth), then the paths. A path is a chain of straight
3-D segments just above the ground it runs on; each piece of it is tested
against the surface along the ray to the camera (:func:`hidden_from`): what
the surface hides is drawn thin and pale over it (a depth cue: it stays
visible, and reads as being behind), the rest bold. The start, the known
minima and the heads are tested too.

A still camera moves nothing but the paths: surface, axes, legend and title
are drawn once and each frame blits the paths and the step counter over them
(as the 2-D animator does). A turning camera looks exactly like the still
(the same hill-shaded surface, floor contours and panes); what does not
turn (legend, title, footnote) is drawn once, and each frame redraws the axes
alone over it and tests the paths again from the new camera
(benchmarks/bench_3d.py measures it against the 2-D animation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optviz.render.contour import START_COLOUR, legend_text, looks, new_figure
from optviz.render.fonts import check_text, styled
from optviz.render.spec import RenderSpec

# hypsometric tints, low to high: a landscape (valley green to ridge sand and rock)
LANDSCAPE = ("#2f6f73", "#6fa58c", "#b9cf9a", "#e9dfae", "#d2b282", "#a98a6d", "#e9e4dc")
FLOOR_LEVELS = 14  # contour levels of the floor's map
FLOOR_COLOUR = "#8a93a3"
MESH = 96  # surface mesh points per side (each a quad of the mesh to fill every frame)
SUB = 4  # pieces each step of a path is cut into for the hidden-or-seen test
RAY_SAMPLES = 24  # heights sampled along each ray towards the camera
BEHIND = 0.6  # how far a hidden piece's colour goes towards white


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


def _pale(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return tuple(c + BEHIND * (1 - c) for c in to_rgb(colour))


def _eye(M: np.ndarray) -> tuple[np.ndarray, bool]:
    """The camera in data coordinates from the projection matrix *M* of an
    Axes3D (``ax.get_proj()``): the point that the projection sends to
    x = y = w = 0, its centre. Returns (point, True) for a perspective
    projection, (direction towards the camera, False) for an orthographic one
    (its centre is at infinity)."""
    _, _, vt = np.linalg.svd(M[[0, 1, 3], :])
    c = vt[-1]
    if abs(c[3]) > 1e-12 * np.abs(c[:3]).max():
        return c[:3] / c[3], True
    return c[:3], False


def hidden_from(ax, points: np.ndarray, xs: np.ndarray, ys: np.ndarray, Z: np.ndarray,
                tol: float) -> np.ndarray:
    """Which of *points* (N, 3; NaN rows are neither) the surface hides from
    *ax*'s camera. The surface is the one drawn: heights *Z* (ny, nx) on the
    grid *xs*, *ys*, bilinear between its points. A point is hidden when,
    somewhere along the straight line from it to the camera (inside the box
    over the grid and under the surface's top), the surface is more than *tol*
    above that line."""
    points = np.asarray(points, dtype=float)
    out = np.zeros(len(points), dtype=bool)
    ok = np.isfinite(points).all(axis=1)
    if not ok.any():
        return out
    p = points[ok]
    eye, perspective = _eye(ax.get_proj())
    d = eye[None, :] - p if perspective else np.broadcast_to(eye, p.shape).copy()
    if not perspective:  # the direction's sign: towards the camera is up when elev > 0
        up = np.sign(np.sin(np.deg2rad(ax.elev))) or 1.0
        if d[0, 2] * up < 0:
            d = -d
    (x0, x1), (y0, y1), top = (xs[0], xs[-1]), (ys[0], ys[-1]), float(np.nanmax(Z))
    # how far along d the ray stays over the grid and under the top
    with np.errstate(divide="ignore", invalid="ignore"):
        t_end = np.full(len(p), np.inf)
        for axis, (a, b) in ((0, (x0, x1)), (1, (y0, y1))):
            step = d[:, axis]
            edge = np.where(step > 0, b, a)
            t = np.where(step != 0, (edge - p[:, axis]) / step, np.inf)
            t_end = np.minimum(t_end, np.where(t >= 0, t, 0.0))
        t_top = np.where(d[:, 2] > 0, (top - p[:, 2]) / d[:, 2], np.inf)
        t_end = np.minimum(t_end, np.where(t_top >= 0, t_top, 0.0))
    t_end = np.where(np.isfinite(t_end), t_end, 0.0)
    frac = (np.arange(1, RAY_SAMPLES + 1) / RAY_SAMPLES)[None, :]
    t = t_end[:, None] * frac
    rx = p[:, 0:1] + t * d[:, 0:1]
    ry = p[:, 1:2] + t * d[:, 1:2]
    rz = p[:, 2:3] + t * d[:, 2:3]
    # bilinear heights of the drawn mesh along the rays
    fx = np.clip((rx - x0) / (x1 - x0) * (len(xs) - 1), 0, len(xs) - 1 - 1e-9)
    fy = np.clip((ry - y0) / (y1 - y0) * (len(ys) - 1), 0, len(ys) - 1 - 1e-9)
    i, j = fy.astype(int), fx.astype(int)
    u, v = fx - j, fy - i
    h = (Z[i, j] * (1 - u) * (1 - v) + Z[i, j + 1] * u * (1 - v)
         + Z[i + 1, j] * (1 - u) * v + Z[i + 1, j + 1] * u * v)
    out[np.flatnonzero(ok)] = (h - rz > tol).any(axis=1)
    return out


def _pieces(path: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """A path's 3-D points with every step cut into SUB straight pieces:
    (SUB * T + 1, 3); a step to or from a hidden (NaN) point is NaN."""
    pts = np.column_stack([path, heights])
    if len(pts) < 2:
        return pts
    f = (np.arange(SUB) / SUB)[None, :, None]
    inner = pts[:-1, None, :] * (1 - f) + pts[1:, None, :] * f
    return np.concatenate([inner.reshape(-1, 3), pts[-1:]])


def _split(pts: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seen and the hidden parts of a polyline as two polylines broken by
    NaN; a piece between a seen and a hidden point goes to the hidden one."""
    seen = pts.copy()
    seen[hidden] = np.nan
    near = hidden.copy()
    near[1:] |= hidden[:-1]
    near[:-1] |= hidden[1:]
    behind = pts.copy()
    behind[~near] = np.nan
    return seen, behind


def _quadrants(eye, xs, ys):
    """The mesh's blocks of vertices, each to be drawn far cells first:
    (rows, cols, flip rows, flip cols). Along a ray to the camera the ground
    point moves straight towards the camera's foot (x, y), so a cell can only
    be hidden by cells between it and the foot: split the grid at the foot's
    row and column (up to four blocks, which hide nothing of each other) and
    draw each block from its far corner in. A camera at infinity (orthographic)
    has no foot: one block, drawn from the side away from it."""
    point, perspective = eye
    if not perspective:
        return [(slice(None), slice(None), point[1] < 0, point[0] < 0)]

    def split(v, at):
        n = len(v)
        k = int(np.clip(np.searchsorted(v, at), 0, n - 1))
        # vertices [0..k] lie below the foot (far = low index: as they are),
        # [k..n-1] above it (far = high index: flipped)
        return [(slice(0, k + 1), False), (slice(k, n), True)]

    return [(r, c, fr, fc) for r, fr in split(ys, point[1]) for c, fc in split(xs, point[0])]


def _landscape(X, Y, Z, rgb):
    """The surface as an artist of an Axes3D: one quadrilateral a mesh cell,
    flat-coloured by its corners' mean, drawn by Agg's quad-mesh routine in
    one call. No depth sort is needed: over a height field seen along
    (nearly) parallel rays, a cell can only be hidden by cells nearer the
    camera in both grid directions, so drawing the rows from the far side in,
    and each row from its far end, paints far before near (Wright's order for
    plots of z = f(x, y)). It replaces ``plot_surface``, which builds a Path
    per facet and sorts them every draw: a fine mesh then costs a turning
    camera next to nothing a frame. Rasterized in vector formats."""
    from matplotlib.artist import Artist, allow_rasterization
    from matplotlib.transforms import IdentityTransform

    rgb = np.asarray(rgb, dtype=float)
    face = (rgb[1:, 1:] + rgb[:-1, :-1] + rgb[1:, :-1] + rgb[:-1, 1:]) / 4
    if face.shape[-1] == 3:
        face = np.concatenate([face, np.ones(face.shape[:2] + (1,))], axis=-1)
    # cell (i, j) lies between vertices i..i+1, j..j+1: padded to the vertices' shape,
    # the cells among a block of vertices are that block's [:-1, :-1]
    face = np.pad(face, ((0, 1), (0, 1), (0, 0)), mode="edge")

    class Landscape(Artist):
        def __init__(self):
            super().__init__()
            self.vertices = np.stack([X, Y, Z, np.ones_like(X)], axis=-1)
            self.set_rasterized(True)

        @allow_rasterization
        def draw(self, renderer):
            if not self.get_visible():
                return
            M = self.axes.M  # the Axes3D's projection of this draw
            p = self.vertices @ M.T
            xy = self.axes.transData.transform((p[..., :2] / p[..., 3:]).reshape(-1, 2))
            xy = xy.reshape(p.shape[:2] + (2,))
            gc = renderer.new_gc()
            gc.set_clip_rectangle(self.axes.bbox)
            for rows, cols, flip_r, flip_c in _quadrants(_eye(M), X[0], Y[:, 0]):
                v, f = xy[rows, cols], face[rows, cols][:-1, :-1]  # its cells: between them
                if v.shape[0] < 2 or v.shape[1] < 2:
                    continue
                if flip_r:
                    v, f = v[::-1], f[::-1]
                if flip_c:
                    v, f = v[:, ::-1], f[:, ::-1]
                renderer.draw_quad_mesh(gc, IdentityTransform(), v.shape[1] - 1, v.shape[0] - 1,
                                        np.ascontiguousarray(v), np.zeros((1, 2)),
                                        IdentityTransform(),
                                        np.ascontiguousarray(f).reshape(-1, 4), False,
                                        np.zeros((0, 4)))
            gc.restore()
            self.stale = False

    return Landscape()


class Animator3D:
    """Same interface as the 2-D Animator: ``draw(step)`` returns the RGBA buffer."""

    @styled
    def __init__(self, surface, traj, spec: RenderSpec = RenderSpec(), *, n=0):
        """What is drawn and how: *spec* (title, size, dpi, camera: elev, azim and the
        degrees it turns per frame, entries, note)."""
        from matplotlib.colors import LightSource, LinearSegmentedColormap, Normalize
        from matplotlib.lines import Line2D

        title, size, dpi, entries, note = spec.title, spec.size, spec.dpi, spec.entries, spec.note
        camera = Camera(*spec.camera)
        self.traj, self.n, self.surface, self.camera = traj, n, surface, camera
        self.total = traj.shape[2]
        w, h = size
        scale = min(w / 12, h / 8) ** 0.5
        fig = self.fig = new_figure(size, dpi)
        ax = self.ax = fig.add_axes((0.0, 0.03, 0.68, 0.88), projection="3d",
                                    computed_zorder=False)
        ax.patch.set_visible(False)  # the figure is white: no background to fill every frame
        (x0, x1), (y0, y1) = surface.domain
        self.xs, self.ys = np.linspace(x0, x1, MESH), np.linspace(y0, y1, MESH)
        X, Y = np.meshgrid(self.xs, self.ys)
        Z = surface.f(np.stack([X, Y], axis=-1))
        finite = Z[np.isfinite(Z)]
        lo, hi = np.percentile(finite, [0, 99]) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        Z = self.Z = np.clip(np.where(np.isfinite(Z), Z, hi), lo, hi)
        self.lo, self.hi = lo, hi
        lift = self.lift = 0.006 * (hi - lo)  # paths just above the ground they run on
        self.tol = 2 * lift
        cmap = LinearSegmentedColormap.from_list("landscape", LANDSCAPE)
        # tinted by height and lit from the north-west, turning camera or not
        rgb = LightSource(azdeg=315, altdeg=45).shade(
            Z, cmap=cmap, norm=Normalize(lo, hi), blend_mode="soft",
            vert_exag=0.5 * max(x1 - x0, y1 - y0) / (hi - lo))
        # the floor's map lies under the surface: seen from above it goes first
        # (the surface covers it wherever both are in view), from below last
        below = camera.elev < 0
        c = slice(None, None, 2)  # the map needs no finer grid than this
        self.floor = ax.contour(X[c, c], Y[c, c], Z[c, c], levels=FLOOR_LEVELS, offset=lo,
                                colors=FLOOR_COLOUR, linewidths=0.5, zorder=3 if below else 1)
        self.surf = _landscape(X, Y, Z, rgb)
        self.surf.set_zorder(2)
        ax.add_artist(self.surf)
        ax.auto_scale_xyz(X, Y, Z, had_data=False)
        ax.set_zlim(lo, hi)
        for label, name in ((ax.set_xlabel, "x"), (ax.set_ylabel, "y"), (ax.set_zlabel, "f")):
            label(name, fontsize=10 * scale)
        ax.tick_params(labelsize=8 * scale)
        from matplotlib.ticker import MaxNLocator

        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # a few ticks: each costs a turning frame
            axis.set_major_locator(MaxNLocator(4))
        ax.grid(False)  # the panes without grid lines: the floor's map is the grid
        ax.view_init(camera.elev, camera.azim)
        self.looks = looks(len(traj.labels))
        self.colours = [look.colour for look in self.looks]
        k_count = len(traj.labels)
        self.paths = [_visible(traj.path(k, n), surface) for k in range(k_count)]
        self.heights = [np.clip(traj.loss_path(k, n), lo, hi) + lift for k in range(k_count)]
        self.pieces = [_pieces(p, z) for p, z in zip(self.paths, self.heights)]
        self.lines, self.behind, self.heads = [], [], []
        for look in self.looks:
            (back,) = ax.plot([], [], [], color=_pale(look.colour), lw=1.4 * scale,
                              ls=look.linestyle(), zorder=5)
            (line,) = ax.plot([], [], [], color=look.colour, lw=2.4 * scale,
                              ls=look.linestyle(), zorder=6)
            (head,) = ax.plot([], [], [], look.marker, color=look.colour, mec="white",
                              ms=8 * scale, zorder=7)
            self.behind.append(back)
            self.lines.append(line)
            self.heads.append(head)
        s0 = traj.points[0, n, 0]
        self.marks = []  # (artist, its points): faded where the surface hides them
        (start,) = ax.plot([s0[0]], [s0[1]], [np.clip(surface.f(s0), lo, hi) + lift], "o",
                           color=START_COLOUR, mec="white", ms=9 * scale, zorder=8)
        self.marks.append((start, np.array([[s0[0], s0[1], start.get_data_3d()[2][0]]])))
        if surface.minima:
            m = np.array(surface.minima, dtype=float)
            mz = np.clip(surface.f(m), lo, hi) + lift
            (stars,) = ax.plot(m[:, 0], m[:, 1], mz, "*", ls="",
                               mfc="white", mec="#222222", ms=13 * scale, zorder=8)
            self.marks.append((stars, np.column_stack([m, mz])))
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
        self._look_from(camera.azim)
        if camera.rotate != 0 or any(h.any() for h in self.hidden):
            handles.append(Line2D([], [], color=_pale("#333333"), lw=1.4 * scale,
                                  label="pale: behind the surface"))
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
        self.moving = [*self.behind, *self.lines, *self.heads]
        # draw what does not move once: a still camera keeps the whole axes
        # but the paths, a turning one the figure around the axes
        animated = (*self.moving, self.counter) if self.blit else (ax, self.counter)
        for artist in animated:
            artist.set_animated(True)
        fig.canvas.draw()
        self.background = fig.canvas.copy_from_bbox(fig.bbox)

    def _look_from(self, azim: float, step: int | None = None) -> None:
        """Point the camera and test, from it, every piece of path up to *step*
        (None: all of them) and every mark, in one batch."""
        ax = self.ax
        ax.view_init(self.camera.elev, azim)
        upto = [len(p) if step is None else SUB * min(step, int(self.traj.steps[k, self.n])) + 1
                for k, p in enumerate(self.pieces)]
        parts = [p[:u] for p, u in zip(self.pieces, upto)] + [pts for _, pts in self.marks]
        hidden = hidden_from(ax, np.concatenate(parts), self.xs, self.ys, self.Z, self.tol)
        cuts = np.cumsum([len(p) for p in parts])[:-1]
        tested = np.split(hidden, cuts)
        self.hidden = [np.pad(h, (0, len(p) - len(h)))
                       for h, p in zip(tested, self.pieces)]
        for (artist, _), h in zip(self.marks, tested[len(self.pieces):]):
            artist.set_alpha(1.0 if not h.any() else 0.45 if h.all() else 0.8)

    def _update(self, step: int) -> None:
        tr, n = self.traj, self.n
        for k, (line, back, head) in enumerate(zip(self.lines, self.behind, self.heads)):
            last = int(tr.steps[k, n])
            upto = SUB * min(step, last) + 1
            pts, hidden = self.pieces[k][:upto], self.hidden[k][:upto]
            seen, behind = _split(pts, hidden)
            line.set_data_3d(seen[:, 0], seen[:, 1], seen[:, 2])
            back.set_data_3d(behind[:, 0], behind[:, 1], behind[:, 2])
            head.set_data_3d(pts[-1:, 0], pts[-1:, 1], pts[-1:, 2])
            head.set_marker("X" if tr.diverged[k, n] and step >= last else self.looks[k].marker)
            pale = bool(hidden[-1])  # a head behind the surface: pale, edged in its colour
            head.set_markerfacecolor(_pale(self.colours[k]) if pale else self.colours[k])
            head.set_markeredgecolor(self.colours[k] if pale else "white")
        self.counter.set_text(f"step {step} / {self.total}")

    def draw(self, step: int) -> np.ndarray:
        if not self.blit:
            self._look_from(self.camera.azim + self.camera.rotate * step, step)
        self._update(step)
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        if self.blit:
            for artist in self.moving:
                self.ax.draw_artist(artist)
        else:
            self.fig.draw_artist(self.ax)
        self.fig.draw_artist(self.counter)
        return np.asarray(canvas.buffer_rgba())

    def still(self, step: int):
        """The figure showing *step* for an ordinary (non-blitted) save: a still."""
        self._update(step)
        self.counter.set_text("")
        for artist in (*self.moving, self.counter, self.ax):
            artist.set_animated(False)
        return self.fig

    def frames(self, steps):
        for s in steps:
            yield self.draw(int(s))
