"""Fair comparisons: the tuning protocol, many starts and seeds, noise models, the report."""

import csv
import json
import math

import numpy as np
import pytest

from optviz.analysis.compare import (
    TIE_RTOL,
    choose,
    per_axis,
    resolve_tuning,
    run_starts,
    simulate_runs,
    start_points,
    summarize,
    tune_optimizer,
)
from optviz.app.cli import cli
from optviz.app.compare import run_compare
from optviz.app.runner import build_optimizers
from optviz.core.engine import Noise, NoisyGradients, simulate
from optviz.core.optim import make_optimizer
from optviz.errors import ConfigError
from optviz.input.config import StartsSpec, parse_config

TUNED = """\
surface: booth
start: [-8, 6]
steps: 40
tune: {objective: final_gap, over: {starts: 4, seeds: 1}, budget: 12}
optimizers:
  - {type: momentum, lr: {tune: [1.0e-3, 0.2, log]}, momentum: 0.5}
  - {type: sgd, lr: 0.01}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def _strict(text):
    def refuse(name):
        raise ValueError(f"non-JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_grid_per_axis_respects_the_budget():
    assert per_axis(1, 400) == 400 and per_axis(2, 400) == 20 and per_axis(3, 400) == 7
    assert per_axis(2, 3) == 2


def test_tuned_choice_is_the_grid_best_by_independent_single_runs():
    cfg = parse_config(TUNED, "t.yaml")
    opt = cfg.optimizers[0]
    res = tune_optimizer(cfg, opt, cfg.tune)
    lrs = np.geomspace(1e-3, 0.2, 12)
    np.testing.assert_allclose(res.grid["lr"], lrs)
    (x0, x1), (y0, y1) = cfg.surface.domain
    # starts: 4 = a centred 2 x 2 grid of cell centres over the domain
    starts = [(x0 + (i + 0.5) * (x1 - x0) / 2, y0 + (j + 0.5) * (y1 - y0) / 2)
              for j in range(2) for i in range(2)]
    expected = []
    for lr in lrs:  # every (lr, start) alone, the objective computed here
        gaps = []
        for s in starts:
            tr = simulate(cfg.surface, {"m": make_optimizer("momentum", lr=lr, momentum=0.5)},
                          [s], cfg.steps)
            gap = tr.final_losses[0, 0] - cfg.surface.minimum_value
            gaps.append(math.inf if tr.diverged[0, 0] else gap)
        expected.append(float(np.median(gaps)))
    np.testing.assert_allclose(res.scores, expected, rtol=1e-12)
    best = int(np.argmin(expected))
    assert res.choice == best
    for nb in (best - 1, best + 1):  # its neighbours are no better
        if 0 <= nb < len(lrs):
            assert expected[nb] >= expected[best]
    assert res.runs == 4 and res.points == 12


def test_tie_rule_smallest_lr_then_the_next_parameter():
    grid = {"lr": np.array([0.1, 0.01, 0.01, 0.5]), "beta1": np.array([0.9, 0.9, 0.5, 0.5])}
    scores = np.array([1.0, 1.0 + TIE_RTOL / 2, 1.0, 2.0])
    assert choose(scores, grid, ["lr", "beta1"]) == 2  # lr 0.01 twice: beta1 0.5 < 0.9
    assert choose(np.array([np.inf, np.inf, np.inf, np.inf]), grid, ["lr", "beta1"]) == 2
    scores = np.array([1.0, 1.001, 5.0, 0.5])
    assert choose(scores, grid, ["lr", "beta1"]) == 3


def test_labels_and_config_record_the_choice():
    cfg, tuning = resolve_tuning(parse_config(TUNED, "t.yaml"))
    label = cfg.optimizers[0].label
    res = tuning[label]
    assert label == f"momentum momentum=0.5 lr={res.chosen['lr']:.3g}, tuned on 12 pts x 4 runs"
    assert cfg.optimizers[0].params["lr"] == res.chosen["lr"]
    assert cfg.optimizers[1].label == "sgd"  # untuned: its label is unchanged
    record = cfg.to_dict()["optimizers"][0]
    assert record["tune"] == {"lr": [1e-3, 0.2, "log"]}


def test_lr_auto_is_the_protocol_shorthand():
    cfg = parse_config("surface: wobbly\nsteps: 30\noptimizers:\n  - {type: adam, lr: auto}\n")
    tuned, results = resolve_tuning(cfg)
    (label, res), = results.items()
    assert res.points == 200 and res.runs == 1 and res.spec.objective == "final_loss"
    np.testing.assert_allclose(res.grid["lr"], np.geomspace(1e-5, 10, 200))
    assert label == f"adam lr=auto ({res.chosen['lr']:.3g})"


MANY = """\
surface: himmelblau
start: [0, 0]
steps: 25
starts: {grid: 3}
noise: {sigma: 0.5, seed: 7, seeds: 3, kind: student_t, df: 3}
optimizers:
  - {type: adam, lr: 0.2}
  - {type: sgd, lr: 0.01, noisy: false}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def test_fans_equal_the_same_runs_done_alone():
    cfg = parse_config(MANY, "m.yaml")
    starts = run_starts(cfg)
    assert len(starts) == 10 and tuple(starts[0]) == (0.0, 0.0)
    tr = simulate_runs(cfg, build_optimizers(cfg))
    assert tr.shape == (2, 30, 25)
    for j, seed in enumerate((7, 8, 9)):
        for i in (0, 4, 9):
            alone = simulate(cfg.surface, build_optimizers(cfg), [starts[i]], cfg.steps,
                             noise=Noise(0.5, seed, "student_t", 3.0),
                             exact=[cfg.optimizers[1].label])
            np.testing.assert_array_equal(tr.points[:, j * 10 + i], alone.points[:, 0])


def test_summary_by_hand():
    cfg = parse_config(MANY, "m.yaml")
    tr = simulate_runs(cfg, build_optimizers(cfg))
    rows = summarize(cfg, tr, tol=1e-2)
    gap = tr.final_losses[0] - 0.0
    gap = np.where(tr.diverged[0], np.inf, gap)
    assert rows[0]["success_rate"] == pytest.approx(np.mean(gap <= 1e-2))
    assert rows[0]["median_final_gap"] == pytest.approx(np.median(gap))
    assert rows[0]["runs"] == 30
    first = []
    for n in range(30):
        hits = np.flatnonzero(tr.losses[0, n] <= 1e-2)
        first.append(hits[0] if hits.size else np.inf)
    med = np.median(first)
    assert rows[0]["median_steps_to_tol"] == (med if np.isfinite(med) else None)


def test_random_and_boxed_starts():
    cfg = parse_config(MANY, "m.yaml")
    pts = start_points(StartsSpec(random=500, seed=3, box=((-1, 0), (2, 4))), cfg.surface)
    assert pts.shape == (500, 2)
    assert (pts[:, 0] >= -1).all() and (pts[:, 0] <= 0).all()
    assert (pts[:, 1] >= 2).all() and (pts[:, 1] <= 4).all()
    again = start_points(StartsSpec(random=500, seed=3, box=((-1, 0), (2, 4))), cfg.surface)
    np.testing.assert_array_equal(pts, again)


def _student_t_cdf_df3(t):
    u = t / math.sqrt(3)
    return 0.5 + (u / (1 + u * u) + math.atan(u)) / math.pi


def test_student_t_noise_has_the_stated_distribution():
    """Kolmogorov-Smirnov against the closed-form t(3) CDF, fixed seed, n = 20,000."""
    class Flat:
        def value_and_grad(self, p):
            return np.zeros(len(p)), np.zeros_like(p)

    noisy = NoisyGradients(Flat(), sigma=2.0, seed=11, kind="student_t", df=3.0)
    draws = []
    for _ in range(10_000):
        noisy.next_step()
        draws.extend(noisy.grad(np.zeros((1, 2)))[0] / 2.0)
    x = np.sort(draws)
    n = len(x)
    cdf = np.array([_student_t_cdf_df3(v) for v in x])
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.36 / math.sqrt(n)  # the 5 % critical value
    # and it is heavy-tailed: far more mass beyond 4 than a Gaussian's 6e-5
    assert np.mean(np.abs(x) > 4) > 0.01
    gauss = NoisyGradients(Flat(), sigma=1.0, seed=11)
    gauss.next_step()
    assert np.all(np.isfinite(gauss.current))


def test_noise_is_shared_across_optimizers_at_equal_seeds():
    cfg = parse_config(MANY.replace("noisy: false", "noisy: true"), "m.yaml")
    a = simulate(cfg.surface, {"x": make_optimizer("sgd", lr=0.1)}, [[0, 0]], 5,
                 noise=Noise(0.5, 7, "student_t", 3.0))
    b = simulate(cfg.surface, {"y": make_optimizer("adam", lr=0.1), "x": make_optimizer(
        "sgd", lr=0.1)}, [[0, 0]], 5, noise=Noise(0.5, 7, "student_t", 3.0))
    np.testing.assert_array_equal(a.points[0], b.points[1])


def test_compare_report_is_exact_and_reproducible(tmp_path):
    cfg = parse_config(TUNED.replace("  - {type: sgd, lr: 0.01}", '  - {type: sgd, lr: 0.01, '
                                     'label: "plain, SGD"}'), str(tmp_path / "t.yaml"))
    first = run_compare(cfg, out=tmp_path / "a")
    kept = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    run_compare(cfg, out=tmp_path / "a")  # re-run: the data files come out byte-identical
    for name in ("summary.csv", "summary.md", "tuning.csv", "compare.json"):
        assert (tmp_path / "a" / name).read_bytes() == kept[name]
    with open(tmp_path / "a" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["label"] for r in rows] == [r["label"] for r in first.summary]
    assert rows[1]["label"] == "plain, SGD"
    for got, want in zip(rows, first.summary):
        for key in ("success_rate", "median_final_gap", "median_final_loss"):
            assert (got[key] == "" if want[key] is None else float(got[key]) == want[key])
    record = _strict((tmp_path / "a" / "compare.json").read_text())
    label = first.config.optimizers[0].label
    assert record["tuning"][label]["chosen"]["lr"] == first.tuning[label].chosen["lr"]
    assert record["command"].startswith("optviz compare")
    with open(tmp_path / "a" / "tuning.csv", newline="") as fh:
        grid = list(csv.DictReader(fh))
    assert len(grid) == 12 and sum(int(r["chosen"]) for r in grid) == 1
    chosen = next(r for r in grid if r["chosen"] == "1")
    assert float(chosen["lr"]) == first.tuning[label].chosen["lr"]
    scores = [float(r["objective"]) for r in grid]
    assert float(chosen["objective"]) == min(scores)
    assert (tmp_path / "a" / "t-compare.png").stat().st_size > 1000
    assert first.row("plain, SGD")["runs"] == 1


@pytest.mark.parametrize("text, key, message", [
    ("tune: {objective: final_gapp}", "tune.objective", "did you mean 'final_gap'"),
    ("tune: {over: {starts: 0}}", "tune.over.starts", "between 1"),
    ("starts: {grid: 3, random: 4}", "starts", "exactly one of grid or random"),
    ("noise: {sigma: 1, kind: student_t}", "noise", "needs df"),
    ("noise: {sigma: 1, kind: cauchy}", "noise.kind", "unknown noise kind"),
    ("noise: {sigma: 1, df: 3}", "noise.df", "student_t only"),
])
def test_bad_comparison_config(text, key, message):
    base = "surface: booth\noptimizers: [{type: adam, lr: 0.1}]\n"
    with pytest.raises(ConfigError, match=message) as e:
        parse_config(base + text + "\n", "c.yaml")
    assert f"key '{key}'" in str(e.value) and "c.yaml, line" in str(e.value)


def test_bad_tune_values():
    base = "surface: booth\noptimizers:\n  - {type: adam, lr: %s}\n"
    for value, message in (("{tune: [1, 0.1]}", "is empty"), ("{tune: [0, 1, log]}", "positive"),
                           ("{tune: [1, 2, cubic]}", "log or linear"),
                           ("{tune: [-1, 1]}", "must be > 0")):
        with pytest.raises(ConfigError, match=message) as e:
            parse_config(base % value, "c.yaml")
        assert "optimizers[0].lr" in str(e.value)
    with pytest.raises(ConfigError, match="minimum value"):
        parse_config("surface: {formula: 'x**2 + y**2', domain: {x: [-1, 1], y: [-1, 1]}}\n"
                     "start: [0.5, 0.5]\noptimizers:\n  - {type: adam, lr: {tune: [0.01, 1]}}\n",
                     "c.yaml")


def test_compare_cli(tmp_path):
    from click.testing import CliRunner

    path = tmp_path / "t.yaml"
    path.write_text(TUNED)
    r = CliRunner().invoke(cli, ["compare", str(path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "tuned momentum" in r.output and "success" in r.output
    r = CliRunner().invoke(cli, ["compare", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 2 and "not found" in r.output


def test_run_with_many_starts_writes_fans_and_the_summary(tmp_path):
    from optviz.app.runner import run

    cfg = parse_config(MANY, str(tmp_path / "m.yaml"))
    result = run(cfg, out=tmp_path / "o")
    record = _strict((tmp_path / "o" / "run.json").read_text())
    assert [r["label"] for r in record["comparison"]] == list(result.trajectories.labels)
    assert record["comparison"][0]["runs"] == 30
    with open(tmp_path / "o" / "trajectories.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["run"]) for r in rows} == set(range(30))
    from PIL import Image

    w, h = Image.open(tmp_path / "o" / "m.png").size
    assert w == 160 and h >= 120  # taller where the legend and panel need it


# ------------------------------------------------------------------ the step-size panel
def test_step_panel_equals_alpha_v_by_hand(tmp_path):
    """α_t·V_t from the optimizers' own state, against hand loops of their formulas."""
    from optviz.app.runner import run
    from optviz.core.overlays import StepSizeRecorder

    cfg = parse_config("""\
surface: booth
start: [-4, 3]
steps: 30
optimizers:
  - {type: sgd, lr: 0.02}
  - {type: adagrad, lr: 0.5}
  - {type: adam, lr: 0.1}
  - {type: adabound, lr: 0.1, final_lr: 0.05}
render: {formats: [png], size: [4, 3], dpi: 40, step_panel: true}
""", str(tmp_path / "s.yaml"))
    rec = StepSizeRecorder(4, cfg.steps)
    from optviz.app.runner import simulate_config

    tr = simulate_config(cfg, observe=rec)
    surface = cfg.surface
    grads = [[surface.grad(tr.points[k, 0, t][None])[0] for t in range(cfg.steps)]
             for k in range(4)]
    np.testing.assert_array_equal(rec.data[0], np.full((cfg.steps, 2), 0.02))
    acc = np.zeros(2)
    for t, g in enumerate(grads[1]):  # Adagrad: lr / (sqrt(G) + eps)
        acc = acc + g * g
        np.testing.assert_allclose(rec.data[1, t], 0.5 / (np.sqrt(acc) + 1e-10), rtol=1e-12)
    v = np.zeros(2)
    for t, g in enumerate(grads[2], 1):  # Adam: lr/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps)
        v = 0.999 * v + 0.001 * g * g
        want = 0.1 / (1 - 0.9 ** t) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(rec.data[2, t - 1], want, rtol=1e-12)
    v = np.zeros(2)
    for t, g in enumerate(grads[3], 1):  # AdaBound: clip(s/(sqrt(v)+eps), lower, upper)
        v = 0.999 * v + 0.001 * g * g
        s = 0.1 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        lower, upper = 0.05 * (1 - 1 / (1e-3 * t + 1)), 0.05 * (1 + 1 / (1e-3 * t))
        np.testing.assert_allclose(rec.data[3, t - 1],
                                   np.clip(s / (np.sqrt(v) + 1e-8), lower, upper), rtol=1e-12)
    result = run(cfg, out=tmp_path / "o")
    assert (tmp_path / "o" / "s-step-size.png") in result.files
    assert (tmp_path / "o" / "s-step-size.png").stat().st_size > 1000


WILD = MANY.replace("  - {type: sgd, lr: 0.01, noisy: false}",
                    "  - {type: sgd, lr: 0.01, noisy: false}\n  - {type: sgd, lr: 0.04, label: wild}")


def test_the_comparison_figure_marks_where_every_run_ends_and_names_the_settings():
    """Issue 21.8: each run of a fan gets a dot at its end (none for a diverged run),
    and the legend keeps the hyperparameters beside the statistics."""
    from optviz.analysis.compare import summarize
    from optviz.render.compare import comparison_figure

    cfg = parse_config(WILD, "w.yaml")
    tr = simulate_runs(cfg, build_optimizers(cfg))
    assert tr.diverged[2, 1:].any() and not tr.diverged[2, 1:].all()
    fig = comparison_figure(cfg, tr, summarize(cfg, tr), size=(8, 5), dpi=40)
    ax = fig.axes[0]
    dots = [line for line in ax.lines if line.get_marker() == "o" and line.get_linestyle() == "None"
            and len(line.get_xdata()) > 1]
    assert len(dots) == 3
    for k, line in enumerate(dots):
        ok = [n for n in range(1, tr.shape[1]) if not tr.diverged[k, n]]
        ends = np.array([tr.path(k, n)[-1] for n in ok])
        np.testing.assert_array_equal(np.c_[line.get_xdata(), line.get_ydata()], ends)
    texts = [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else \
        [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("adam lr=0.2 beta1=0.9 beta2=0.999\nsuccess") for t in texts), texts


def test_the_animation_draws_the_fan_and_the_band_of_the_runs():
    """Issue 21.8: the GIF/MP4 frames draw runs 1 .. N-1 under the paths (up to the
    frame's step, a dot where each is) and, with a loss panel, their median and
    inter-quartile band cut at the step; without them a frame differs."""
    from optviz.render.frames import make_animator

    cfg = parse_config(WILD.replace("dpi: 40}", "dpi: 40, formats: [gif], loss_panel: true}")
                       .replace("render: {formats: [png], ", "render: {"), "w.yaml")
    tr = simulate_runs(cfg, build_optimizers(cfg))
    anim = make_animator(cfg, tr)
    assert anim.fans is not None and anim.bands is not None
    with_fan = anim.draw(12).copy()
    shown = anim.loss_ax.loss_scale
    polys, meds, _ = anim.bands
    for k in range(3):  # the band at step 12: numpy's percentiles of the runs
        v = np.where(tr.diverged[k][:, None], np.nan, tr.losses[k])
        lo, mid, hi = np.nanpercentile(v[:, 12], [25, 50, 75])
        xy = polys[k].get_xy()
        top = xy[(xy[:, 0] == 12)][:, 1]
        assert shown.values(hi) in top and shown.values(lo) in top
        assert meds[k].get_ydata()[-1] == shown.values(mid)
    fan = anim.fans
    for k in range(3):  # the fan's points are the runs' own, held where each stopped
        pts, last, gone = fan.fans[k]
        for n in range(1, tr.shape[1]):
            np.testing.assert_array_equal(pts[n - 1, : last[n - 1] + 1], tr.path(k, n))
    anim.fans.set_visible(False)
    for p in polys:
        p.set_visible(False)
    without = anim.draw(12).copy()
    assert (with_fan != without).any(axis=-1).sum() > 200


# ------------------------------------------------------------------ issue 21.9
EDGE = """\
title: Edges
surface: booth
start: [-8, 6]
steps: 30
starts: {grid: 2}
noise: {sigma: 0.1, seed: 1, seeds: 3}
tune: {objective: final_gap, over: {starts: 4, seeds: 2}, budget: 6}
optimizers:
  - {type: sgd, lr: {tune: [1.0e-4, 1.0e-3, log]}}
  - {type: momentum, lr: {tune: [1.0e-4, 0.2, log]}, momentum: {tune: [0.5, 0.9]}}
render: {formats: [png], size: [6, 4], dpi: 40, step_panel: true}
"""


def test_compare_warns_of_a_tuned_value_at_the_edge_of_its_range(tmp_path):
    """Through the installed command: sgd's best lr on booth is far above 1e-3, so
    the grid's top is chosen and the user is told to widen the range (stderr and
    summary.md); a value inside its range gets no warning."""
    import subprocess

    path = tmp_path / "edge.yaml"
    path.write_text(EDGE)
    r = subprocess.run(["optviz", "compare", str(path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    record = _strict((tmp_path / "o" / "compare.json").read_text())
    tuned = record["tuning"]
    sgd = next(v for k, v in tuned.items() if k.startswith("sgd"))
    assert sgd["chosen"]["lr"] == pytest.approx(1e-3)  # the top: the case is what it claims
    warning = ("sgd lr=0.001: tuned lr=0.001 is at the top of its range [0.0001, 0.001]; the best "
               "value may lie beyond it: widen the range")
    assert warning in r.stderr
    assert warning in (tmp_path / "o" / "summary.md").read_text()
    momentum = next(v for k, v in tuned.items() if k.startswith("momentum"))
    for param, (lo, hi) in (("lr", (1e-4, 0.2)), ("momentum", (0.5, 0.9))):
        inside = lo < momentum["chosen"][param] < hi
        assert (f"tuned {param}=" in r.stderr.split("momentum", 1)[-1]) != inside


def test_compare_counts_the_tuning_runs_and_the_compared_runs_apart(tmp_path):
    """The label's count (runs each grid point is judged on: 4 starts x 2 seeds)
    and the figure's (runs compared: the start and 4 grid starts, x 3 seeds) say
    what they count; on main the figure said "median of 8" beside "15 runs"."""
    result = run_compare(parse_config(EDGE, str(tmp_path / "edge.yaml")), out=tmp_path / "o")
    labels = list(result.trajectories.labels)
    assert [label.rsplit(", ", 1)[1] for label in labels] == \
        ["tuned on 6 pts x 8 runs", "tuned on 4 pts x 8 runs"]  # 6 = 6 lr, 4 = 2 x 2
    assert result.trajectories.shape[1] == 15
    from optviz.render.compare import comparison_figure

    fig = comparison_figure(result.config, result.trajectories, result.summary,
                            size=(6, 4), dpi=40)
    from matplotlib.text import Text

    texts = [t.get_text() for t in fig.findobj(Text)]
    assert any("over 15 runs (5 starts x 3 seeds)" in t for t in texts)
    [note] = [t for t in texts if "compared over" in t]
    assert "each the median of 8 tuning runs (4 starts x 2 seeds)" in note
    assert "compared over 15 runs (5 starts x 3 seeds) per optimizer" in note


def test_compare_honours_the_step_panel(tmp_path):
    """render.step_panel: compare writes <stem>-step-size.png too (it did not),
    listed in its record, and its title draws the symbol, not "α_t"."""
    from PIL import Image

    result = run_compare(parse_config(EDGE, str(tmp_path / "edge.yaml")), out=tmp_path / "o")
    target = tmp_path / "o" / "edge-step-size.png"
    assert Image.open(target).size == (440, 220)
    record = _strict((tmp_path / "o" / "compare.json").read_text())
    assert "edge-step-size.png" in [f["name"] for f in record["files"]]
    assert result.config.render.step_panel


def test_the_step_size_symbol_is_drawn_as_a_subscript():
    """αₜ·Vₜ (U+209C), never "α_t": the font draws every character of it."""
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    from optviz.render.schedule import STEP_SIZE, step_size_figure

    assert "_" not in STEP_SIZE
    font = FT2Font(findfont(FontProperties(family="DejaVu Sans")))
    assert all(ord(c) in font.get_charmap() for c in STEP_SIZE)
    fig = step_size_figure(["a"], np.full((1, 5, 2), 0.1), title=f"t: {STEP_SIZE}", dpi=40)
    from matplotlib.text import Text

    texts = [t.get_text() for t in fig.findobj(Text)]
    assert not any("α_t" in t for t in texts)
