"""The engine: lockstep batches, divergence handling, trajectories and CSV."""

import numpy as np

from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.core.surfaces import load_surface
from optviz.core.trajectories import read_csv


def bowl():
    return load_surface({"formula": "x**2 + 3*y**2", "domain": {"x": [-2, 2], "y": [-2, 2]}})


def test_plain_gradient_descent_by_hand():
    s = bowl()
    tr = simulate(s, {"sgd": make_optimizer("sgd", lr=0.1)}, [1.0, 1.0], 3)
    x, y = 1.0, 1.0
    expected = [(x, y)]
    for _ in range(3):
        x, y = x - 0.1 * 2 * x, y - 0.1 * 6 * y
        expected.append((x, y))
    np.testing.assert_allclose(tr.points[0, 0], expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(tr.losses[0, 0], [a * a + 3 * b * b for a, b in expected])
    assert tr.shape == (1, 1, 3)


def test_k_optimizers_by_n_starts_equal_separate_runs():
    s = load_surface("wobbly")
    starts = np.array([[-2.8, -2.5], [1.0, 2.0], [0.0, 0.0]])
    opts = {"adam": make_optimizer("adam", lr=0.1),
            "nesterov": make_optimizer("nesterov", lr=0.01, momentum=0.9),
            "newton": make_optimizer("newton", damping=1.0)}
    tr = simulate(s, opts, starts, 40)
    assert tr.points.shape == (3, 3, 41, 2) and tr.losses.shape == (3, 3, 41)
    for k, (label, opt) in enumerate(opts.items()):
        for n, start in enumerate(starts):
            alone = simulate(s, {label: opt}, start, 40)
            np.testing.assert_array_equal(tr.points[k, n], alone.points[0, 0])


def test_divergence_stops_one_run_and_the_others_go_on():
    s = bowl()
    tr = simulate(s, {"slow": make_optimizer("sgd", lr=0.01),
                      "wild": make_optimizer("sgd", lr=2.0)}, [1.0, 1.0], 100)
    assert tr.diverged.tolist() == [[False], [True]]
    assert tr.steps[0, 0] == 100
    stop = tr.steps[1, 0]
    assert 0 < stop < 100
    path = tr.path(1)
    assert np.isfinite(path).all() and len(path) == stop + 1
    # the last kept point is the one that left the bound
    assert (np.abs(path[-1]) > 20).any() and (np.abs(path[-2]) <= 20).all()
    assert np.isnan(tr.points[1, 0, stop + 1:]).all()
    assert np.isfinite(tr.final_losses).all()


def test_non_finite_loss_marks_a_run_diverged():
    s = load_surface({"formula": "log(x) + y**2", "domain": {"x": [0.1, 2], "y": [-1, 1]}})
    tr = simulate(s, {"sgd": make_optimizer("sgd", lr=1.0)}, [0.5, 0.5], 10)
    assert tr.diverged[0, 0]
    assert np.isfinite(tr.path(0)).all() and np.isfinite(tr.loss_path(0)).all()


def test_newton_fallbacks_are_counted():
    s = load_surface({"formula": "x**2 - y**2", "domain": {"x": [-2, 2], "y": [-2, 2]}})
    tr = simulate(s, {"newton": make_optimizer("newton", lr=0.1)}, [[1.0, 0.5], [1.0, 0.0]], 5)
    assert tr.counters["newton_fallbacks"].tolist() == [[5, 5]]


def test_csv_round_trip_at_full_precision(tmp_path):
    s = load_surface("wobbly")
    tr = simulate(s, {"adam lr=0.25": make_optimizer("adam", lr=0.25),
                      "sgd": make_optimizer("sgd", lr=0.01)}, [-2.8, -2.5], 25)
    path = tmp_path / "trajectories.csv"
    tr.save_csv(path)
    assert path.read_text().splitlines()[0] == "label,step,x,y,loss"
    back = read_csv(path)
    assert list(back) == ["adam lr=0.25", "sgd"]
    for k, label in enumerate(tr.labels):
        rows = back[label]
        np.testing.assert_array_equal(rows[:, 0], np.arange(26))
        np.testing.assert_array_equal(rows[:, 1:3], tr.points[0 if k == 0 else 1, 0])
        np.testing.assert_array_equal(rows[:, 3], tr.losses[k, 0])


def elementwise_inside(points, centre, half):
    return bool((np.abs(points - centre) <= half).all())


def test_the_fast_bound_check_equals_the_elementwise_one_at_the_edges():
    """The engine decides "every row inside the bound" from each column's extremes;
    it must agree with the elementwise test for values one ulp either side of the
    edges, for NaN and inf, for uneven bounds whose centre and half-width round,
    and for a row count of zero."""
    from optviz.core.engine import _all_inside

    rng = np.random.default_rng(3)
    bounds = [np.array([[-30.0, -20.0], [30.0, 20.0]]), np.array([[0.1, -7.3], [0.7, 1e-3]]),
              np.array([[-1e300, 1e-300], [1e300, 3e-300]]),
              np.array([[-np.inf] * 2, [np.inf] * 2])]
    checked = 0
    for bound in bounds:
        with np.errstate(all="ignore"):
            centre, half = (bound[0] + bound[1]) / 2, (bound[1] - bound[0]) / 2
        edges = np.concatenate([centre - half, centre + half])
        near = np.concatenate([np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf), edges,
                               [np.nan, np.inf, -np.inf, 0.0, -0.0]])
        for _ in range(400):
            pts = (centre + half * rng.uniform(-1, 1, (int(rng.integers(1, 6)), 2)))
            pts = np.nan_to_num(pts, nan=0.0, posinf=1.0, neginf=-1.0)
            for _ in range(int(rng.integers(0, 3))):
                pts[rng.integers(len(pts)), rng.integers(2)] = rng.choice(near)
            with np.errstate(all="ignore"):
                assert _all_inside(pts, centre, half) == elementwise_inside(pts, centre, half), \
                    (pts, bound)
            checked += 1
    assert _all_inside(np.zeros((0, 2)), np.zeros(2), np.ones(2))
    many = rng.uniform(-1, 1, (50, 20))  # wide rows take NumPy's column reductions
    assert _all_inside(many, np.zeros(20), np.ones(20))
    many[7, 13] = np.nan
    assert not _all_inside(many, np.zeros(20), np.ones(20))
    assert checked == 1600


def test_a_run_that_reaches_the_bound_exactly_stays_and_one_ulp_beyond_stops():
    s = load_surface({"formula": "y**2", "domain": {"x": [-2, 2], "y": [-2, 2]}})  # x stays
    edge = float(s.bound()[1, 0])
    for start, stops in ((edge, False), (np.nextafter(edge, np.inf), True)):
        tr = simulate(s, {"sgd": make_optimizer("sgd", lr=0.1)}, [[0.0, 0.0], [start, 0.0]], 2)
        assert tr.diverged.tolist() == [[False, stops]]


def test_a_run_that_leaves_the_bound_keeps_its_loss_there_when_batched():
    """A run stopped by leaving the bound ends at the point outside with that point's
    loss, whether it ran alone or beside a run that goes on (the batch once wrote the
    loss of the point before over it, at the next step)."""
    from optviz import load_surface, make_optimizer, simulate

    surface = load_surface("rosenbrock")
    opt = {"sgd": make_optimizer("sgd", lr=0.01)}
    alone = simulate(surface, opt, [[-1.2, 1.0]], 50)
    batched = simulate(surface, opt, [[-1.2, 1.0], [1.0, 1.0]], 50)
    steps = int(alone.steps[0, 0])
    assert alone.diverged[0, 0] and steps < 50  # it does leave, early
    assert batched.steps[0, 0] == steps and not batched.diverged[0, 1]
    assert alone.final_losses[0, 0] == batched.final_losses[0, 0]
    np.testing.assert_array_equal(alone.loss_path(0, 0), batched.loss_path(0, 0))
    x, y = alone.final_points[0, 0]
    assert alone.final_losses[0, 0] == (1 - x) ** 2 + 100 * (y - x * x) ** 2
