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
