"""The 3-D view (issue 21.7): the floor's contours under the surface, paths
hidden by the surface drawn as such (pale, still visible), a turning
camera's frames drawn as the still."""

import numpy as np
import pytest

from optviz.app.runner import run, simulate_config
from optviz.input.config import parse_config
from optviz.render.spec import RenderSpec

BUMP = ("surface: {formula: '5*exp(-(x**2 + y**2))', domain: {x: [-3, 3], y: [-3, 3]}}\n"
        "start: [0.5, -2.5]\nsteps: 10\noptimizers: [{type: sgd, lr: 0.01}]\n")


def _animator(text, camera=(35, -60, 0), size=(6, 4), dpi=50):
    from optviz.render.view3d import Animator3D

    cfg = parse_config(text, "v.yaml")
    tr = simulate_config(cfg)
    return Animator3D(cfg.surface, tr, RenderSpec(size=size, dpi=dpi, camera=tuple(camera))), tr


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int).copy()


@pytest.mark.parametrize("surface", ["two-minimums", "wobbly"])
def test_the_floor_contours_never_show_over_the_surface(surface):
    """Drawn with and without the floor's contour map, the figure differs only
    where the surface is not: the surface covers the floor (on main the
    contours at z = lo were drawn over the valley)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    anim, tr = _animator(f"surface: {surface}\nsteps: 5\noptimizers: [sgd]\n",
                         size=(8, 6), dpi=60)
    fig = anim.still(5)
    ax = fig.axes[0]
    # the surface: a mesh artist (on main: plot_surface's Poly3DCollection)
    [surf] = [*ax.artists, *(c for c in ax.collections if isinstance(c, Poly3DCollection))]
    floor = [c for c in ax.collections if c is not surf]
    assert floor, "the floor's contours are drawn"
    for artist in (*ax.lines, *fig.legends, *fig.texts):
        artist.set_visible(False)

    def show(**on):
        surf.set_visible(on.get("surface", False))
        for c in floor:
            c.set_visible(on.get("floor", False))
        return _pixels(fig)

    empty, ground, both, floor_only = show(), show(surface=True), \
        show(surface=True, floor=True), show(floor=True)
    covered = (np.abs(ground - empty).sum(-1) > 0)
    # the surface's inside (its antialiased rim excluded: one pixel in)
    inner = covered.copy()
    for axis in (0, 1):
        for shift in (1, -1):
            inner &= np.roll(covered, shift, axis=axis)
    over = (np.abs(both - ground).sum(-1) > 0) & inner
    lines = (np.abs(floor_only - empty).sum(-1) > 0)
    assert lines.sum() > 200  # the floor map is there to be hidden
    assert over.sum() == 0, f"{over.sum()} pixels of floor contour over the surface"


def test_hidden_from_says_what_a_hill_hides():
    """A bump of height 5 at the origin, the camera low on the -y side: a point
    on the ground behind the bump (y = +1.5) is hidden, one in front (y = -1.5)
    and one beside it (x = 2.8) are not, nor one above the bump's top."""
    from optviz.render.view3d import hidden_from

    anim, _ = _animator(BUMP, camera=(15, -90, 0))
    xy = np.array([[0.0, 1.5], [0.2, 2.0], [0.0, -1.5], [2.8, 1.5], [0.0, 1.5], [np.nan] * 2])
    z = 5 * np.exp(-(xy ** 2).sum(axis=1)) + anim.lift  # on the ground, just above
    z[4] = 6.0
    pts = np.column_stack([xy, z])
    hidden = hidden_from(anim.ax, pts, anim.xs, anim.ys, anim.Z, anim.tol)
    assert hidden.tolist() == [True, True, False, False, False, False]
    # from the other side (+y), the other way round
    anim.ax.view_init(15, 90)
    hidden = hidden_from(anim.ax, pts, anim.xs, anim.ys, anim.Z, anim.tol)
    assert hidden.tolist() == [False, False, True, False, False, False]
    # from straight above nothing is hidden
    anim.ax.view_init(90, -90)
    assert not hidden_from(anim.ax, pts, anim.xs, anim.ys, anim.Z, anim.tol).any()


def test_hidden_from_agrees_with_a_depth_buffer():
    """Against an independent test: a dense cloud of surface points
    projected to the screen; a path point is hidden when a surface point
    farther than 0.25 from it in x-y lands within 1.5 px of it on the screen,
    nearer the camera. (The two may disagree on points grazing a rim.)"""
    from mpl_toolkits.mplot3d import proj3d

    from optviz.render.view3d import _eye, hidden_from

    anim, tr = _animator("surface: wobbly\nstart: [-2.8, -2.5]\nsteps: 60\noptimizers: "
                         "[{type: adam, lr: 0.25}, {type: rmsprop, lr: 0.25}]\n",
                         camera=(35, 60, 0), size=(8, 6), dpi=80)
    ax = anim.ax
    fig = anim.still(60)
    fig.canvas.draw()
    M = ax.get_proj()
    eye, perspective = _eye(M)
    assert perspective
    X, Y = np.meshgrid(np.linspace(-3, 3, 300), np.linspace(-3, 3, 300))
    Z = np.clip(anim.surface.f(np.stack([X, Y], -1)), anim.lo, anim.hi)
    cloud = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    pts = np.concatenate(anim.pieces)
    pts = pts[np.isfinite(pts).all(1)][::5]

    def screen(p):
        sx, sy, _ = proj3d.proj_transform(p[:, 0], p[:, 1], p[:, 2], M)
        return ax.transData.transform(np.column_stack([sx, sy]))

    cs, ps = screen(cloud), screen(pts)
    dc, dp = np.linalg.norm(cloud - eye, axis=1), np.linalg.norm(pts - eye, axis=1)
    brute = np.array([np.any((np.abs(cs - s).max(axis=1) < 1.5)
                             & (np.hypot(*(cloud[:, :2] - p[:2]).T) > 0.25) & (dc < d))
                      for s, p, d in zip(ps, pts, dp)])
    ours = hidden_from(ax, pts, anim.xs, anim.ys, anim.Z, anim.tol)
    assert 0.2 < brute.mean() < 0.98  # the case has both
    assert (ours == brute).mean() > 0.97, (ours == brute).mean()


def test_a_path_behind_the_surface_is_drawn_pale_and_stays_visible():
    """A path behind the bump: its pieces go to the pale line (drawn), none to
    the bold one, and the legend says what pale means; in front: bold."""
    from matplotlib.colors import to_rgb

    from optviz.render.view3d import BEHIND

    text = BUMP.replace("start: [0.5, -2.5]", "start: [0.3, 2.2]")
    for camera, behind in (((15, -90, 0), True), ((15, 90, 0), False)):
        anim, tr = _animator(text, camera=camera)
        fig = anim.still(10)
        seen = np.column_stack(anim.lines[0].get_data_3d())
        pale = np.column_stack(anim.behind[0].get_data_3d())
        assert np.isfinite(pale).all(axis=1).any() == behind
        assert np.isfinite(seen).all(axis=1).any() != behind
        colour = np.array(to_rgb(anim.colours[0]))
        np.testing.assert_allclose(to_rgb(anim.behind[0].get_color()),
                                   colour + BEHIND * (1 - colour))
        texts = [t.get_text() for t in fig.legends[0].get_texts()]
        assert ("pale: behind the surface" in texts) == behind


def test_a_turning_camera_draws_each_frame_as_the_still(tmp_path):
    """Frame s of a turning camera is the still figure seen from that frame's
    camera (hill shading, floor contours, panes): on main the turning frames
    were a few flat height bands without the floor map. Read back from the
    GIF, each frame is within the palette's rounding of it."""
    from PIL import Image

    from optviz.render.view3d import Animator3D

    text = ("surface: two-minimums\nsteps: 8\noptimizers: [{type: adam, lr: 0.25}, "
            "{type: sgd, lr: 0.5}]\nrender: {formats: [gif], view: 3d, size: [6, 4], dpi: 50, "
            "camera: {elev: 30, azim: -50, rotate: 10}}\n")
    cfg = parse_config(text, "turn.yaml")
    tr = simulate_config(cfg)
    turning = Animator3D(cfg.surface, tr, RenderSpec(size=(6, 4), dpi=50, camera=(30, -50, 10)))
    run(cfg, out=tmp_path)
    with Image.open(tmp_path / "turn.gif") as gif:
        for step in (0, 4, 8):
            frame = turning.draw(step)[..., :3].astype(int).copy()
            still = Animator3D(cfg.surface, tr, RenderSpec(size=(6, 4), dpi=50,
                                                           camera=(30, -50 + 10 * step, 0)))
            fig = still.still(step)
            still.counter.set_text(f"step {step} / 8")
            expected = _pixels(fig)
            # the axes' region (the turning legend always keys pale paths)
            x0, y0, x1, y1 = fig.axes[0].bbox.extents
            h = expected.shape[0]
            box = np.s_[int(h - y1):int(h - y0), int(x0):int(x1)]
            differ = (np.abs(frame[box] - expected[box]).sum(-1) > 0).mean()
            assert differ < 0.002, (step, differ)
            gif.seek(step)
            decoded = np.asarray(gif.convert("RGB")).astype(int)
            assert np.abs(decoded[box] - expected[box]).mean() < 3.0
            # no terraces: the surface holds many more colours than 14 bands
            assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 400


@pytest.mark.parametrize("elev, azim", [(15, 0), (35, 0), (15, 180), (35, -60), (60, 90),
                                        (-20, 30)])
def test_the_landscape_paints_far_cells_before_near_ones(elev, azim):
    """The quad mesh drawn in Wright's order (split at the camera's foot) shows
    what matplotlib's depth-sorted plot_surface shows: every cell a random
    colour of its own, the two renderings differ only along cell edges (no
    block of pixels where a far cell covers a near one). Drawn from one side
    only (before the split at the camera's foot), cameras looking along an axis
    showed far cells over near ones (about 1% of the picture at azim 0)."""
    import matplotlib.pyplot as plt

    from optviz.input.config import load_config
    from optviz.render.view3d import _landscape

    n = 40
    surface = load_config("article/wobbly").surface
    X, Y = np.meshgrid(np.linspace(-3, 3, n), np.linspace(-3, 3, n))
    Z = surface.f(np.stack([X, Y], -1))
    lo, hi = np.percentile(Z, [0, 99])
    Z = np.clip(Z, lo, hi)
    rgb = np.random.default_rng(0).uniform(0.1, 0.9, size=(n, n, 3))
    face = (rgb[1:, 1:] + rgb[:-1, :-1] + rgb[1:, :-1] + rgb[:-1, 1:]) / 4

    def draw(ours):
        fig = plt.figure(figsize=(4, 4), dpi=60)
        ax = fig.add_axes((0, 0, 1, 1), projection="3d", computed_zorder=False)
        ax.set_axis_off()
        if ours:
            ax.add_artist(_landscape(X, Y, Z, rgb))
            ax.auto_scale_xyz(X, Y, Z, had_data=False)
        else:
            ax.plot_surface(X, Y, Z, facecolors=np.pad(face, ((0, 1), (0, 1), (0, 0)), mode="edge"),
                            linewidth=0, antialiased=False, rstride=1, cstride=1, shade=False)
        ax.set_zlim(lo, hi)
        ax.view_init(elev, azim)
        try:
            return _pixels(fig)
        finally:
            plt.close(fig)

    differ = np.abs(draw(True) - draw(False)).sum(-1) > 60
    assert differ.mean() < 0.1  # the same picture, bar the cells' edges
    inside = differ.copy()  # differences 2 px in from every side: not an edge
    for axis in (0, 1):
        for shift in (1, -1, 2, -2):
            inside &= np.roll(differ, shift, axis=axis)
    assert inside.mean() < 0.001, inside.mean()
