"""The loss on a plane through parameter space, the paths projected onto it, the figure."""

import numpy as np
import pytest

from optviz.analysis.projection import plane
from optviz.core import models
from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.core.trajectories import Trajectories
from optviz.errors import ConfigError

D = 6


class Bowl:
    """f(θ) = |θ|² in D dimensions (only f is needed to draw a plane)."""

    dim = D

    def f(self, p):
        return (np.asarray(p) ** 2).sum(-1)


def orthonormal(seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(D, D)))
    return q.T  # rows: orthonormal vectors


def traj_of(paths, losses=None):
    """Trajectories of K paths (T+1, D) of one run each."""
    pts = np.stack(paths)[:, None]
    k, _, t1, _ = pts.shape
    losses = Bowl().f(pts) if losses is None else losses
    return Trajectories(labels=tuple(f"o{i}" for i in range(k)), points=pts, losses=losses,
                        steps=np.full((k, 1), t1 - 1), diverged=np.zeros((k, 1), bool))


def test_paths_in_a_plane_are_held_whole_and_recovered_exactly():
    u, v = orthonormal()[:2]
    centre = np.arange(D, dtype=float) / 10
    t = np.linspace(0, 1, 21)[:, None]
    a = centre + (1 - t) * (2 * u - v) + 0.3 * np.sin(5 * t) * v
    b = centre + (1 - t) ** 2 * (-u + 3 * v)
    pl = plane(Bowl(), traj_of([a, b]), centre=centre, resolution=7)
    np.testing.assert_allclose(pl.explained, 1.0, rtol=0, atol=1e-12)
    assert np.nanmax(pl.off) < 1e-12
    assert pl.variance[0] + pl.variance[1] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pl.directions @ pl.directions.T, np.eye(2), atol=1e-12)
    for k, path in enumerate((a, b)):  # the coordinates give the points back
        np.testing.assert_allclose(pl.point(pl.paths.path(k)), path, rtol=0, atol=1e-12)
    # the plane is span(u, v): each direction is a combination of u and v only
    np.testing.assert_allclose(np.linalg.norm(pl.directions @ np.stack([u, v]).T, axis=1), 1.0)
    for d in pl.directions:  # sign: the largest component positive
        assert d[np.abs(d).argmax()] > 0


def test_what_leaves_the_plane_is_measured_by_hand():
    u, v, w = orthonormal(1)[:3]
    centre = np.zeros(D)
    t = np.linspace(0, 1, 12)
    a = np.outer(1 - t, 3 * u) + np.outer(np.sin(3 * t), v)  # in span(u, v)
    # b circles the centre 0.02 off the plane along w; its u and v parts sum to 0, so
    # the w part is uncorrelated with them and the best plane is still span(u, v)
    angle = 2 * np.pi * np.arange(12) / 12
    b = np.outer(2 * np.cos(angle), u) + np.outer(np.sin(angle), v) + 0.02 * w
    pl = plane(Bowl(), traj_of([a, b]), centre=centre, resolution=5)
    assert pl.explained[0] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pl.off[1], 0.02, rtol=1e-9)
    assert pl.off_end[1] == pytest.approx(0.02, rel=1e-9)
    share = 1 - 12 * 0.02 ** 2 / (b ** 2).sum()
    assert pl.explained[1] == pytest.approx(share, rel=1e-9)
    assert pl.reach[1] == pytest.approx(np.sqrt(4 + 0.02 ** 2))


def test_grid_losses_are_the_model_at_those_parameters_and_hold_every_path():
    net = models.build({"model": {"mlp": [2, 4, 1]}, "data": {"generate": "xor", "n": 64}})
    tr = simulate(net, {"a": make_optimizer("adam", lr=0.05), "s": make_optimizer("sgd", lr=0.5)},
                  net.init([0, 1]), 40)
    pl = plane(net, tr, run=1, resolution=9)
    assert pl.losses.shape == (9, 9)
    for i, j in ((0, 0), (3, 8), (8, 2)):
        expected = net.f(pl.centre + pl.alphas[i] * pl.directions[0]
                         + pl.betas[j] * pl.directions[1])
        assert pl.losses[j, i] == expected
    (a0, a1), (b0, b1) = pl.domain
    for k in range(2):
        p = pl.paths.path(k)
        assert (p[:, 0] > a0).all() and (p[:, 0] < a1).all()
        assert (p[:, 1] > b0).all() and (p[:, 1] < b1).all()
        # the projected paths carry the true losses of run 1
        np.testing.assert_array_equal(pl.paths.losses[k, 0], tr.losses[k, 1])
    # centre "best": the final point with the lowest final loss, at (0, 0)
    best = int(np.argmin(tr.final_losses[:, 1]))
    np.testing.assert_array_equal(pl.centre, tr.final_points[best, 1])
    np.testing.assert_allclose(pl.paths.path(best)[-1], [0, 0], atol=1e-12)


def test_random_directions_are_filter_normalised_at_the_centre():
    net = models.build({"model": {"mlp": [2, 5, 3, 1]}, "data": {"generate": "moons", "n": 32}})
    tr = simulate(net, {"a": make_optimizer("adam", lr=0.05)}, net.start, 10)
    pl = plane(net, tr, method="random", centre="start", seed=4)
    again = plane(net, tr, method="random", centre="start", seed=4)
    other = plane(net, tr, method="random", centre="start", seed=5)
    np.testing.assert_array_equal(pl.directions, again.directions)
    assert not np.array_equal(pl.directions, other.directions)
    centre_layers = net.unpack(pl.centre[None])
    for d in pl.directions:
        for (w, b), (wc, _) in zip(net.unpack(d[None]), centre_layers):
            np.testing.assert_allclose(np.linalg.norm(w[0], axis=0),
                                       np.linalg.norm(wc[0], axis=0), rtol=1e-9)
            assert not b.any()
    assert pl.variance is None and (pl.explained < 1).all()


@pytest.mark.parametrize("kw,fragment", [
    ({"method": "tsne"}, "unknown plane method"),
    ({"centre": "nowhere"}, "unknown centre"),
    ({"centre": [1.0, 2.0]}, "needs 6 finite numbers"),
    ({"resolution": 1}, "resolution"),
    ({"run": 3}, "no run 3"),
])
def test_bad_plane_requests(kw, fragment):
    u, v = orthonormal()[:2]
    t = np.linspace(0, 1, 5)[:, None]
    tr = traj_of([t * u + t ** 2 * v, t * v])
    with pytest.raises(ConfigError, match=fragment):
        plane(Bowl(), tr, **kw)


def test_a_path_along_one_line_spans_no_plane():
    u = orthonormal()[0]
    tr = traj_of([np.linspace(0, 1, 5)[:, None] * u])
    with pytest.raises(ConfigError, match="less than a plane"):
        plane(Bowl(), tr, centre="start")


# ------------------------------------------------------------ the figure
def test_the_figure_says_the_paths_are_projections_and_how_much_they_hold(tmp_path):
    from matplotlib.image import imread

    from optviz.render.projection import PlaneView, make_figure, render_plane

    net = models.build({"model": {"mlp": [2, 8, 1]}, "data": {"generate": "moons", "n": 96}})
    opts = {"adam": make_optimizer("adam", lr=0.05), "sgd": make_optimizer("sgd", lr=0.5)}
    tr = simulate(net, opts, net.start, 60)
    pl = plane(net, tr, resolution=30)
    fig = make_figure(pl, tr, model=net, title="a test", size=(15, 9), dpi=60)
    texts = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "projections onto a plane through the final point of" in texts
    a, b = pl.variance
    assert f"{a:.1%} and {b:.1%}" in texts
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    for k in range(2):
        assert f"{pl.explained[k]:.0%} in the plane" in legend
    # the plane, the loss panel and one decision map per optimizer
    assert len(fig.axes) == 4
    paths = render_plane(pl, tr, tmp_path / "plane", model=net, size=(15, 9), dpi=60)
    image = imread(paths[0])
    assert image.shape[:2] == (540, 900)
    assert image[:, :, :3].std() > 0.05  # not blank
    view = PlaneView(pl)
    with pytest.raises(ValueError, match="own grid"):
        view.f(np.zeros((3, 3, 2)))


def test_log_levels_are_round_numbers_over_decades():
    from optviz.render.projection import _nice_levels

    z = np.geomspace(0.003, 40, 50)
    assert _nice_levels(z, 30) == (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)
    assert _nice_levels(np.linspace(1, 5, 10), 30) == 30


@pytest.mark.parametrize("shape", [(300, 20), (20, 300)])
def test_principal_directions_equal_numpy_s_svd(shape):
    from optviz.analysis.projection import _principal

    rng = np.random.default_rng(2)
    rows = rng.normal(size=shape) * np.linspace(3, 0.2, shape[1])
    dirs, variance = _principal(rows)
    _, s, vt = np.linalg.svd(rows, full_matrices=False)
    np.testing.assert_allclose(np.abs((dirs * vt[:2]).sum(1)), 1.0, atol=1e-10)
    np.testing.assert_allclose(variance, s[:2] ** 2 / (s ** 2).sum(), rtol=1e-10)


def test_many_iterates_and_parameters_use_every_s_th_iterate(monkeypatch):
    from optviz.analysis import projection

    rows = np.random.default_rng(3).normal(size=(50, 40)) * np.linspace(4, 0.1, 40)
    monkeypatch.setattr(projection, "PCA_ROWS", 30)  # 50 x 40: both over 30
    dirs, _ = projection._principal(rows)
    _, _, vt = np.linalg.svd(rows[::2], full_matrices=False)  # s = 2
    np.testing.assert_allclose(np.abs((dirs * vt[:2]).sum(1)), 1.0, atol=1e-10)
