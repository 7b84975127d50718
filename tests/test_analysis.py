"""Analysis: response signals and values by hand, sweeps, lr: auto, basins, noise."""

import math

import numpy as np
import pytest
from click.testing import CliRunner

from optviz.analysis.basins import DIVERGED, basins
from optviz.analysis.compare import choose_lr, resolve_auto_lr
from optviz.analysis.response import article_signals, load_signal, respond
from optviz.analysis.sweep import Axis, parse_axis, sweep
from optviz.app.cli import cli
from optviz.app.runner import run, simulate_config
from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.errors import ConfigError
from optviz.input.config import ResponseConfig, load_config, parse_config


# ---------------------------------------------------------------- signals
def test_signals_are_generated_as_specified():
    s = article_signals()
    assert all(len(v) == 300 for v in s.values())
    assert s["spikes"][0] == 1 and s["spikes"][60] == 1 and s["spikes"][59] == 0
    assert s["rectangles"][19] == 1 and s["rectangles"][20] == -1 and s["rectangles"][40] == 1
    assert s["uneven-sawtooth"][7] == 7 / 5 and s["uneven-sawtooth"][81] == 1 / 20
    assert s["saturation"][39] == 1 and s["saturation"][40] == 0
    np.random.seed(413)  # the legacy global stream, in the order the signals are listed
    u = [np.random.random() for _ in range(600)]
    assert s["noisy-sin"][5] == math.sin(5 / 20) + u[5] - 0.5
    assert s["very-noisy-sin"][7] == math.sin(7 / 20) / 5 + u[300 + 7] - 0.5


def test_custom_signal_from_csv(tmp_path):
    path = tmp_path / "sig.csv"
    path.write_text("g\n1\n0.5\n-2\n")
    np.testing.assert_array_equal(load_signal(path), [1, 0.5, -2])
    path.write_text("1\nabc\n")
    with pytest.raises(ConfigError, match="not a number"):
        load_signal(path)


# ---------------------------------------------------------------- response values by hand
G = np.array([1.0, 0.0, -1.0, 2.0])


def test_momentum_response_by_hand():
    out = respond("momentum", G, conventions="lasagne", vary=("momentum", [0.5, 0.9]), lr=0.25)
    for row, mu in enumerate([0.5, 0.9]):
        v, expected = 0.0, []
        for g in G:
            v = mu * v - 0.25 * g  # Lasagne's velocity form
            expected.append(-v)
        np.testing.assert_allclose(out[row], expected, rtol=1e-14)


def test_adagrad_response_by_hand():
    out = respond("adagrad", G, conventions="lasagne", vary=("eps", [1e-7, 10.0]), lr=2.5)
    for row, eps in enumerate([1e-7, 10.0]):
        acc, expected = 0.0, []
        for g in G:
            acc += g * g
            expected.append(2.5 * g / math.sqrt(acc + eps))
        np.testing.assert_allclose(out[row], expected, rtol=1e-14)


def test_rmsprop_response_by_hand():
    out = respond("rmsprop", G, conventions="lasagne", vary=("rho", [0.25, 0.975]), lr=0.25,
                  eps=1e-5)
    for row, rho in enumerate([0.25, 0.975]):
        a, expected = 0.0, []
        for g in G:
            a = rho * a + (1 - rho) * g * g
            expected.append(0.25 * g / math.sqrt(a + 1e-5))
        np.testing.assert_allclose(out[row], expected, rtol=1e-14)


@pytest.mark.parametrize("delta_init", [0.0, 50.0])
def test_adadelta_response_by_hand_zero_and_big_start(delta_init):
    out = respond("adadelta", G, conventions="lasagne", vary=("rho", [0.25, 0.9]), lr=1.0,
                  eps=1e-3, delta_init=delta_init)
    for row, rho in enumerate([0.25, 0.9]):
        a, d, expected = 0.0, delta_init, []
        for g in G:
            a = rho * a + (1 - rho) * g * g
            step = g * math.sqrt(d + 1e-3) / math.sqrt(a + 1e-3)
            d = rho * d + (1 - rho) * step * step
            expected.append(step)
        np.testing.assert_allclose(out[row], expected, rtol=1e-13)
    assert (out[:, 0] > 5).all() == (delta_init == 50.0)  # a big start takes a big step


def test_response_configs_in_the_article_set():
    for name in ("momentum", "adagrad", "rmsprop", "adadelta-zero-start",
                 "adadelta-big-start", "adam"):
        cfg = load_config(f"article/response-{name}")
        assert isinstance(cfg, ResponseConfig) and len(cfg.vary[1]) == 3
        assert len(cfg.signals) == 6


def test_run_response_writes_a_figure_per_signal(tmp_path):
    cfg = parse_config("response:\n  optimizer: momentum\n  params: {lr: 0.25}\n"
                       "  vary: {momentum: [0.25, 0.9]}\n  signals: [spikes, saturation]\n"
                       "render: {formats: [png], size: [4, 3], dpi: 40}\n", "mom.yaml")
    result = run(cfg, out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mom-saturation.png", "mom-spikes.png", "response.csv", "response.json"]
    lines = (tmp_path / "response.csv").read_text().splitlines()
    assert lines[0] == "signal,label,t,g,step" and len(lines) == 1 + 2 * 2 * 300
    assert result.value["spikes"].shape == (2, 300)


# ---------------------------------------------------------------- sweeps
CONFIG = """\
surface: wobbly
steps: 60
optimizers:
  - {type: momentum, lr: 0.01}
  - {type: adam, lr: 0.1}
"""


def test_parse_axis():
    assert parse_axis("lr=1e-4:1:log:60") == Axis("lr", 1e-4, 1.0, True, 60)
    assert parse_axis("momentum=0:0.99") == Axis("momentum", 0.0, 0.99, False, 50)
    for bad in ("lr", "lr=1", "lr=a:b", "lr=1:0", "lr=0:1:log", "lr=1e-3:1:sqrt"):
        with pytest.raises(ConfigError):
            parse_axis(bad)


def test_a_sweep_point_equals_the_same_run_alone():
    cfg = parse_config(CONFIG)
    x, y = parse_axis("lr=1e-3:0.5:log:7"), parse_axis("momentum=0:0.95:5", "--y")
    res = sweep(cfg, x, y, optimizer="momentum")
    assert res.values.shape == (5, 7)
    for iy, ix in [(0, 0), (2, 3), (4, 6)]:
        alone = simulate(cfg.surface, {"m": make_optimizer(
            "momentum", lr=float(x.values[ix]), momentum=float(y.values[iy]))},
            cfg.start, cfg.steps)
        assert res.values[iy, ix] == alone.final_losses[0, 0]


def test_diverged_points_are_marked_not_huge():
    cfg = parse_config(CONFIG)
    res = sweep(cfg, parse_axis("lr=0.01:100:log:9"), optimizer="momentum")
    assert res.diverged[-1] and not res.diverged[0]
    assert np.isinf(res.values[res.diverged]).all()


def test_distance_and_steps_to_tolerance_outcomes():
    cfg = parse_config(CONFIG)
    dist = sweep(cfg, parse_axis("lr=0.01:0.3:4"), optimizer=1, kind="distance")
    tr = simulate(cfg.surface, {"a": make_optimizer("adam", lr=float(dist.x.values[2]))},
                  cfg.start, cfg.steps)
    m = np.array(cfg.surface.minima)
    assert dist.values[2] == pytest.approx(np.linalg.norm(tr.final_points[0, 0] - m, axis=1).min())
    steps = sweep(cfg, parse_axis("lr=0.01:0.3:4"), optimizer=1, kind="steps_to_tol", tol=0.5)
    first = np.argmax(tr.losses[0, 0] - cfg.surface.minimum_value <= 0.5)
    assert steps.values[2] == first


def test_lr_auto_picks_the_best_of_the_stated_grid():
    """The README's rule (200 log-spaced values in 1e-5 .. 10, by final loss; a run
    that leaves the surface's bound never wins), worked out by a hand loop of SGD
    over the whole grid, independent of run_grid."""
    cfg = parse_config("surface: wobbly\nsteps: 60\noptimizers: [{type: sgd, lr: auto}]\n")
    opt = cfg.optimizers[0]
    assert opt.auto_lr and opt.label == "sgd lr=auto"
    lrs = np.geomspace(1e-5, 10, 200)
    p = np.repeat(np.array([cfg.start], dtype=np.float64), len(lrs), axis=0)
    (x0, x1), (y0, y1) = cfg.surface.domain  # the bound: 10x the domain about its centre
    centre, half = np.array([x0 + x1, y0 + y1]) / 2, 10 * np.array([x1 - x0, y1 - y0]) / 2
    left = np.zeros(len(lrs), bool)
    with np.errstate(all="ignore"):
        for _ in range(cfg.steps):
            p = p - lrs[:, None] * cfg.surface.grad(np.where(left[:, None], 0.0, p))
            left |= ~(np.abs(p - centre) <= half).all(axis=1)
        loss = cfg.surface.value_and_grad(np.where(left[:, None], 0.0, p))[0]
    final = np.where(left, np.inf, loss)
    assert 0 < left.sum() < len(lrs)  # large rates diverge here: the rule is exercised
    best, runner_up = np.sort(final)[:2]
    assert runner_up - best > 1e-9  # a clear winner, whatever the order of float operations
    lr = choose_lr(cfg, opt)
    assert lr == lrs[int(np.argmin(final))]
    resolved = resolve_auto_lr(cfg)
    assert resolved.optimizers[0].params["lr"] == lr
    assert resolved.optimizers[0].label == f"sgd lr=auto ({lr:.3g})"


def test_lr_auto_adam_beats_its_grid_neighbours_run_alone():
    cfg = parse_config("surface: wobbly\nsteps: 60\noptimizers: [{type: adam, lr: auto}]\n")
    lr = choose_lr(cfg, cfg.optimizers[0])
    grid = np.geomspace(1e-5, 10, 200)
    i = int(np.flatnonzero(grid == lr)[0])  # one of the grid's values, exactly
    final = {}
    for j in range(max(0, i - 2), min(len(grid), i + 3)):
        tr = simulate(cfg.surface, {"a": make_optimizer("adam", lr=float(grid[j]))}, cfg.start,
                      cfg.steps)
        final[j] = np.inf if tr.diverged[0, 0] else tr.final_losses[0, 0]
    assert np.isfinite(final[i]) and final[i] == min(final.values()), final


def test_lr_auto_run_records_the_choice(tmp_path):
    import json

    cfg = parse_config("surface: ravine\nsteps: 40\noptimizers: [{type: sgd, lr: auto}]\n"
                       "render: {formats: [png], size: [4, 3], dpi: 40}\n", "auto.yaml")
    result = run(cfg, out=tmp_path)
    record = json.loads((tmp_path / "run.json").read_text())
    chosen = record["config"]["optimizers"][0]
    assert chosen["lr_auto"] and chosen["lr"] == result.config.optimizers[0].params["lr"]
    assert "lr=auto (" in record["summary"][0]["label"]


# ---------------------------------------------------------------- basins
def test_a_basin_pixel_equals_the_same_start_alone():
    cfg = parse_config("surface: himmelblau\nsteps: 80\n"
                       "optimizers: [{type: adam, lr: 0.1}, {type: sgd, lr: 0.5}]\n")
    res = basins(cfg, resolution=12)
    assert res.labels.shape == (2, 12, 12)
    assert (res.labels[1] == DIVERGED).all()  # lr 0.5 is far too large here
    for iy, ix in [(0, 0), (5, 7), (11, 3)]:
        start = [res.xs[ix], res.ys[iy]]
        alone = simulate(cfg.surface, {"a": make_optimizer("adam", lr=0.1)}, start, 80)
        end = alone.final_points[0, 0]
        d = np.linalg.norm(np.array(cfg.surface.minima) - end, axis=1)
        assert res.labels[0, iy, ix] == (d.argmin() if d.min() <= 0.2 else -1)
        assert res.losses[0, iy, ix] == pytest.approx(alone.final_losses[0, 0], rel=1e-12)


def test_cli_sweep_and_basins_write_figures_and_csv(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG + "render: {formats: [png], size: [4, 3], dpi: 40}\n")
    r = CliRunner().invoke(cli, ["sweep", str(cfg), "--x", "lr=1e-3:1:log:5", "--y",
                                 "momentum=0:0.9:3", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert "best: lr=" in r.output
    assert len((tmp_path / "s" / "sweep.csv").read_text().splitlines()) == 1 + 15
    r = CliRunner().invoke(cli, ["basins", str(cfg), "-r", "6", "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "b" / "c-basins.png").exists()
    r = CliRunner().invoke(cli, ["sweep", str(cfg), "--x", "lrr=1:2"])
    assert r.exit_code == 2 and "did you mean 'lr'" in r.output


# ---------------------------------------------------------------- noise
def test_noise_is_reproducible_shared_and_seeded():
    text = ("surface: wobbly\nsteps: 30\nnoise: {sigma: 0.5, seed: %d}\n"
            "optimizers: [{type: sgd, lr: 0.01}, {type: sgd, lr: 0.01, label: twin}]\n")
    a = simulate_config(parse_config(text % 1))
    b = simulate_config(parse_config(text % 1))
    c = simulate_config(parse_config(text % 2))
    exact = simulate_config(parse_config(text.replace("noise: {sigma: 0.5, seed: %d}\n", "")))
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.points[0], a.points[1])  # same noise for every optimizer
    assert not np.array_equal(a.points, c.points)
    assert not np.array_equal(a.points, exact.points)
    # step 1 by hand: the gradient plus the first draw of the seeded generator
    s = parse_config(text % 1).surface
    g = s.grad(np.array([s.start]))[0] + 0.5 * np.random.default_rng(1).standard_normal((1, 2))[0]
    np.testing.assert_allclose(a.points[0, 0, 1], np.array(s.start) - 0.01 * g, rtol=1e-15)


def test_noisy_sweep_point_equals_the_same_noisy_run_alone():
    cfg = parse_config(CONFIG + "noise: {sigma: 0.3, seed: 7}\n")
    res = sweep(cfg, parse_axis("lr=1e-3:0.1:log:5"), optimizer="momentum")
    alone = simulate(cfg.surface, {"m": make_optimizer("momentum", lr=float(res.x.values[3]))},
                     cfg.start, cfg.steps, noise=cfg.noise)
    assert res.values[3] == alone.final_losses[0, 0]


def test_noise_config_errors():
    with pytest.raises(ConfigError, match="sigma must be >= 0"):
        parse_config("surface: wobbly\nnoise: {sigma: -1}\noptimizers: [sgd]\n")
    with pytest.raises(ConfigError, match="did you mean 'seed'"):
        parse_config("surface: wobbly\nnoise: {sigma: 1, sed: 2}\noptimizers: [sgd]\n")


def test_the_optimizer_option_takes_a_label_a_unique_type_or_an_index(tmp_path):
    """`--optimizer adam` failed unless some label was exactly 'adam' (issue 20.3)."""
    from optviz.analysis.sweep import find_optimizer

    cfg = parse_config("surface: wobbly\nsteps: 5\noptimizers:\n"
                       "  - {type: sgd, lr: 0.05}\n  - {type: sgd, lr: 0.1, label: fast}\n"
                       "  - {type: adam, lr: 0.1}\n")
    assert find_optimizer(cfg, "adam").label == "adam lr=0.1"
    assert find_optimizer(cfg, "fast").params["lr"] == 0.1
    assert find_optimizer(cfg, "0").label == "sgd lr=0.05" and find_optimizer(cfg, 2).type == "adam"
    with pytest.raises(ConfigError, match=r"2 optimizers are of type 'sgd'.*'fast'"):
        find_optimizer(cfg, "sgd")
    path = tmp_path / "c.yaml"
    path.write_text("surface: wobbly\nsteps: 5\noptimizers:\n  - {type: sgd, lr: 0.05}\n"
                    "  - {type: adam, lr: 0.1}\nrender: {formats: [png], size: [4, 3], dpi: 40}\n")
    r = CliRunner().invoke(cli, ["sweep", str(path), "--x", "lr=0.01:0.1:3", "--optimizer", "adam",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    last = (tmp_path / "o" / "sweep.csv").read_text().splitlines()[-1].split(",")
    alone = simulate_config(parse_config("surface: wobbly\nsteps: 5\noptimizers: "
                                         "[{type: adam, lr: 0.1}]\n"))
    assert float(last[0]) == 0.1 and float(last[1]) == alone.final_losses[0, 0]


# ------------------------------------------------------------------ issue 21.9: the figures
def _fake_basins(k, surface="article/two-minimums", r=10, seed=0):
    """A basin map's fields, made up (the figure only draws them): K optimizers
    of the config's first, labels drawn at random from the minima, none, diverged."""
    from dataclasses import replace
    from types import SimpleNamespace

    cfg = load_config(surface)
    opts = [replace(cfg.optimizers[0], label=f"optimizer number {i} lr=0.05") for i in range(k)]
    cfg = replace(cfg, optimizers=opts)
    rng = np.random.default_rng(seed)
    labels = rng.integers(-2, len(cfg.surface.minima), size=(k, r, r))
    return SimpleNamespace(config=cfg, labels=labels, losses=np.zeros((k, r, r)))


@pytest.mark.parametrize("k", [1, 3, 6, 7, 8, 13])
@pytest.mark.parametrize("size", [(12, 8), (8, 5), (5, 3.5)])
def test_basins_figure_keeps_its_key_on_the_page_names_its_axes_and_shares(k, size):
    """The key inside the figure and clear of every panel, each panel's axes
    named where no panel is beside or under it, each panel's shares equal to
    the labels' counts, a footnote of the grid, steps and tolerance (on main:
    no labels, no shares, no footnote)."""
    from optviz.render.analysis import basins_figure

    res = _fake_basins(k)
    fig = basins_figure(res, size=size, dpi=40)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    [legend] = fig.legends
    key = legend.get_window_extent(renderer)
    page = fig.bbox
    assert page.x0 <= key.x0 and key.x1 <= page.x1 + 1 and page.y0 <= key.y0 \
        and key.y1 <= page.y1 + 1, (key, page)
    for ax in fig.axes:
        assert not key.overlaps(ax.get_window_extent(renderer)), "the key over a panel"
    xlabels = [ax.get_xlabel() for ax in fig.axes]
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert xlabels.count("start x") >= min(k, len({round(a.get_position().x0, 3)
                                                    for a in fig.axes}))
    assert "start y" in ylabels
    for i, ax in enumerate(fig.axes):
        lab = res.labels[i]
        want = {"A": (lab == 0).mean(), "B": (lab == 1).mean(), "none": (lab == -1).mean(),
                "diverged": (lab == -2).mean()}
        shares = ax.get_title(loc="left").split("\n")[1]
        got = dict(part.rsplit(" ", 1) for part in shares.split(" · "))
        assert got == {name: f"{v:.0%}" for name, v in want.items() if v >= 0.005}
    notes = [t.get_text() for t in fig.texts if "starts over the domain" in t.get_text()]
    assert notes == [f"10 x 10 starts over the domain, {res.config.steps} steps each · a start "
                     "reaches a minimum when its run ends within 0.12 of it · lasagne "
                     "conventions (Lasagne formulas)"]
    legend_texts = [t.get_text() for t in legend.get_texts()]
    assert legend_texts[:2] == ["A: minimum (0, 0)", "B: minimum (-2.5, -2.5)"]


def test_the_response_figure_shows_its_first_sample_clear_of_the_spine():
    """t = 1 sat on the left spine (xlim started at 1): the first sample, a
    spike, now lies inside the axes, at least 2 px from the spine, and the
    last likewise from the right edge."""
    from optviz.render.analysis import response_figure

    signal = np.zeros(300)
    signal[0] = 1.0
    fig = response_figure("spikes", signal, np.vstack([signal, signal / 2]), ["a", "b"],
                          title="t", size=(12, 6), dpi=50)
    fig.canvas.draw()
    for ax in fig.axes:
        left, right = ax.get_window_extent().x0, ax.get_window_extent().x1
        first = ax.transData.transform((1, 0))[0]
        last = ax.transData.transform((300, 0))[0]
        assert first - left >= 2 and right - last >= 2


def test_the_sweep_title_names_what_is_swept_not_the_configs_value():
    """Sweeping adam's lr over 1e-3..1: the title named "adam lr=0.1" (the
    config's value, contradicted by the plot); it now names the fixed settings,
    the outcome and the swept hyperparameter."""
    from optviz.render.analysis import sweep_figure

    cfg = parse_config("title: Wobbly\nsurface: wobbly\nsteps: 20\noptimizers:\n"
                       "  - {type: adam, lr: 0.1, beta1: 0.8}\n  - {type: sgd, lr: 0.05}\n",
                       "w.yaml")
    res = sweep(cfg, parse_axis("lr=1e-3:1:log:4"), None, optimizer="0")
    title = sweep_figure(res, size=(6, 4), dpi=40)._suptitle.get_text()
    assert "lr=" not in title and title.endswith(", final loss over lr")
    assert "adam beta1=0.8" in title
    res = sweep(cfg, parse_axis("lr=1e-3:1:log:3"), parse_axis("beta1=0.5:0.9:3"),
                optimizer="0")
    title = sweep_figure(res, size=(6, 4), dpi=40)._suptitle.get_text()
    assert "lr=" not in title and "beta1=" not in title and title.endswith("over lr and beta1")
