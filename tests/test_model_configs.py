"""Model configs: ``surface: {model: ..., data: ...}`` through the config, the run and
every command, with the files read back and the errors located."""

import csv
import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from optviz.app.cli import cli
from optviz.app.runner import run
from optviz.core.engine import simulate
from optviz.core.models import Minibatch, build
from optviz.core.optim import make_optimizer
from optviz.errors import BudgetError, ConfigError
from optviz.input.config import parse_config

NET = """\
title: Tiny net
surface:
  model: {mlp: [2, 4, 1], activation: tanh, loss: bce, init: {seed: 3}}
  data: {generate: moons, n: 64, seed: 0}
steps: 30
optimizers:
  - {type: sgd, lr: 0.5, label: sgd}
  - {type: adam, lr: 0.05, label: adam}
render: {size: [6, 4], dpi: 50}
"""

LINE = """\
title: Tiny line
surface:
  model: linear
  data: {generate: line, n: 64, seed: 0}
start: [-0.5, 1.0]
steps: 30
noise: {kind: minibatch, batch_size: 8, seed: 4}
optimizers:
  - {type: sgd, lr: 0.05, label: GD, noisy: false}
  - {type: sgd, lr: 0.05, label: SGD}
render: {formats: [png], size: [6, 4], dpi: 50}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ parsing
def test_a_network_config_resolves_to_the_model_and_its_init():
    cfg = parse_config(NET, "net.yaml")
    model = build({"model": {"mlp": [2, 4, 1], "init": {"seed": 3}},
                   "data": {"generate": "moons", "n": 64, "seed": 0}})
    assert cfg.surface.dim == model.dim == 17
    assert cfg.start == tuple(model.init([3])[0])  # start: left out -> the model's init
    assert cfg.render.formats == ("png",)  # a network's default: the still figure
    assert cfg.render.plane.method == "pca" and cfg.render.plane.centre == "best"
    d = cfg.to_dict()
    assert d["surface"]["parameters"] == 17 and d["surface"]["samples"] == 64
    assert d["surface"]["model"]["mlp"] == [2, 4, 1]
    json.dumps(d, allow_nan=False)  # plain strict JSON


def test_a_two_parameter_model_takes_the_configs_start_and_draws_around_it():
    cfg = parse_config(LINE, "line.yaml")
    assert cfg.start == (-0.5, 1.0)
    (x0, x1), (y0, y1) = cfg.surface.domain
    assert x0 < -0.5 < x1 and y0 < 1.0 < y1
    assert cfg.noise == Minibatch(8, 4, 1)
    assert cfg.to_dict()["noise"] == {"kind": "minibatch", "batch_size": 8, "seed": 4,
                                      "seeds": 1}


BAD = [
    # (replace this, with this, line, key, words in the message)
    ("activation: tanh", "activaton: tanh", 3, "surface.model.activaton", "activation"),
    ("mlp: [2, 4, 1]", "mlp: [3, 4, 1]", 3, "surface.model.mlp", "start the layers with 2"),
    ("n: 64", "n: 2", 4, "surface.data.n", "whole number"),
    ("generate: moons", "generate: moon", 4, "surface.data.generate", "moons"),
    ("loss: bce", "loss: bc", 3, "surface.model.loss", "bce"),
    ("steps: 30", "steps: 30\nstart: [0, 1]", 6, "start", "initialisation"),
    ("steps: 30", "steps: 30\nnoise: {kind: minibatch, batch_size: 65}", 6,
     "noise.batch_size", "64 samples"),
    ("steps: 30", "steps: 30\nnoise: {kind: minibatch}", 6, "noise", "batch_size"),
    ("steps: 30", "steps: 30\nnoise: {kind: minibach, batch_size: 3}", 6, "noise.kind",
     "minibatch"),
    ("dpi: 50}", "dpi: 50, formats: [png, web]}", 9, "render.formats[1]", "web page"),
    ("dpi: 50}", "dpi: 50, plane: {centre: adm}}", 9, "render.plane.centre", "adam"),
    ("dpi: 50}", "dpi: 50, plane: {method: pcb}}", 9, "render.plane.method", "pca"),
    ("dpi: 50}", "dpi: 50, plane: {centre: [1, 2]}}", 9, "render.plane.centre", "17"),
    ("dpi: 50}", "dpi: 50, plane: {resolution: 1}}", 9, "render.plane.resolution", "2"),
    ("dpi: 50}", "dpi: 50, decision_boundary: 1}", 9, "render.decision_boundary",
     "true or false"),
    ("dpi: 50}", "dpi: 50, step_panel: true}", 9, "render.step_panel", "17 parameters"),
]


@pytest.mark.parametrize("old, new, line, key, words", BAD, ids=[b[3] for b in BAD])
def test_mistakes_name_the_file_line_and_key(old, new, line, key, words):
    assert old in NET
    with pytest.raises(ConfigError) as info:
        parse_config(NET.replace(old, new), "net.yaml")
    e = info.value
    assert (e.file, e.line, e.key) == ("net.yaml", line, key), str(e)
    assert words in str(e)


def test_newton_runs_on_a_small_network_and_is_refused_on_a_large_one_at_its_key():
    cfg = parse_config(NET.replace("label: adam}", "label: adam}\n  - {type: newton, lr: 0.5}"),
                       "net.yaml")
    assert [o.type for o in cfg.optimizers] == ["sgd", "adam", "newton"]
    big = NET.replace("label: adam}", "label: adam}\n  - {type: newton}").replace(
        "mlp: [2, 4, 1]", "mlp: [2, 32, 32, 1]")  # 1,185 parameters
    with pytest.raises(ConfigError) as info:
        parse_config(big, "big.yaml")
    e = info.value
    assert (e.file, e.line, e.key) == ("big.yaml", 9, "optimizers[2].type")
    assert "Hessian" in str(e)


def test_minibatch_noise_on_a_surface_and_plane_on_a_contour_are_refused():
    with pytest.raises(ConfigError) as info:
        parse_config("surface: wobbly\nnoise: {kind: minibatch, batch_size: 4}\n"
                     "optimizers: [sgd]\n", "s.yaml")
    assert (info.value.line, info.value.key) == (2, "noise.kind")
    with pytest.raises(ConfigError) as info:
        parse_config(LINE.replace("dpi: 50}", "dpi: 50, plane: {method: pca}}"), "l.yaml")
    assert info.value.key == "render.plane" and "networks" in str(info.value)


def test_a_data_file_is_read_from_the_configs_folder_and_its_errors_name_it(tmp_path,
                                                                           monkeypatch):
    folder = tmp_path / "cfg"
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    rows = [f"{float(a)!r},{float(2 * a + 1 + 0.1 * b)!r}"
            for a, b in zip(x, rng.standard_normal(40))]
    (folder / "points.csv").write_text("\n".join(rows) + "\n")
    config = write(folder, "surface:\n  model: linear\n  data: {csv: points.csv}\n"
                   "steps: 5\noptimizers: [sgd]\nrender: {formats: [png], dpi: 30}\n")
    monkeypatch.chdir(tmp_path)  # the data file is beside the config, not here
    result = run(config, out=tmp_path / "out")
    data = np.loadtxt(folder / "points.csv", delimiter=",")
    assert np.array_equal(result.config.surface.data.inputs[:, 0], data[:, 0])
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    sha = hashlib.sha256((folder / "points.csv").read_bytes()).hexdigest()
    assert record["inputs"]["files"]["data"]["sha256"] == sha
    (folder / "points.csv").write_text("1,2\n3,x\n")
    r = invoke("run", config, "--out", tmp_path / "out2")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "points.csv, line 2" in r.output and "c.yaml, line 3" in r.output


# ------------------------------------------------------------------ runs
def test_a_network_run_writes_its_parameters_exactly(tmp_path):
    result = run(parse_config(NET, "net.yaml"), out=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["losses.csv", "net.png", "parameters.npz", "run.json"]
    tr = result.trajectories
    with np.load(tmp_path / "parameters.npz") as f:
        assert list(f["labels"]) == ["sgd", "adam"]
        assert f["points"].dtype == np.float64 and f["points"].shape == (2, 1, 31, 17)
        assert np.array_equal(f["points"], tr.points, equal_nan=True)
        assert np.array_equal(f["losses"], tr.losses, equal_nan=True)
        assert np.array_equal(f["steps"], tr.steps)
        assert np.array_equal(f["diverged"], tr.diverged)
    with open(tmp_path / "losses.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["label", "step", "loss"]
    for k, label in enumerate(tr.labels):
        got = [float(r["loss"]) for r in rows if r["label"] == label]
        assert got == tr.loss_path(k).tolist()
    # the same as the engine run alone on the built model
    model = build({"model": {"mlp": [2, 4, 1], "init": {"seed": 3}},
                   "data": {"generate": "moons", "n": 64, "seed": 0}})
    alone = simulate(model, {"sgd": make_optimizer("sgd", lr=0.5),
                             "adam": make_optimizer("adam", lr=0.05)}, model.start, 30)
    assert np.array_equal(alone.points, tr.points)
    record = json.loads((tmp_path / "run.json").read_text())
    listed = {f["name"]: f for f in record["files"]}
    assert set(listed) == {"losses.csv", "net.png", "parameters.npz"}
    for name, entry in listed.items():
        data = (tmp_path / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    summary = {r["label"]: r for r in record["summary"]}
    assert summary["adam"]["final_norm"] == float(np.linalg.norm(tr.final_points[1, 0]))
    assert "final_point" not in summary["adam"]
    with Image.open(tmp_path / "net.png") as im:
        assert im.size == (300, 200)  # render.size [6, 4] x dpi 50


def test_a_two_parameter_model_run_is_a_surface_run(tmp_path):
    from optviz.core.trajectories import read_csv

    result = run(parse_config(LINE, "line.yaml"), out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.png", "run.json",
                                                         "trajectories.csv"]
    back = read_csv(tmp_path / "trajectories.csv")
    tr = result.trajectories
    for k, label in enumerate(tr.labels):
        assert np.array_equal(back[label][:, 1:3], tr.path(k))
        assert np.array_equal(back[label][:, 3], tr.loss_path(k))
    # the minibatch noise is the engine's, GD takes exact gradients
    model = result.config.surface
    alone = simulate(model, {"GD": make_optimizer("sgd", lr=0.05),
                             "SGD": make_optimizer("sgd", lr=0.05)}, [(-0.5, 1.0)], 30,
                     noise=Minibatch(8, 4), exact=["GD"])
    assert np.array_equal(alone.points, tr.points)
    assert not np.array_equal(tr.points[0], tr.points[1])
    with Image.open(tmp_path / "line.png") as im:
        assert im.size == (300, 200)


@pytest.mark.parametrize("text", [NET, LINE], ids=["network", "line"])
def test_minibatch_seeds_are_runs_that_equal_each_seed_alone(tmp_path, text):
    text = text.replace("steps: 30", "steps: 12").replace(
        "noise: {kind: minibatch, batch_size: 8, seed: 4}", "")
    text += "noise: {kind: minibatch, batch_size: 8, seed: 4, seeds: 3}\n"
    cfg = parse_config(text, "seeds.yaml")
    result = run(cfg, out=tmp_path)
    tr = result.trajectories
    assert tr.shape[1] == 3
    opts = {o.label: make_optimizer(o.type, **o.params) for o in cfg.optimizers}
    exact = [o.label for o in cfg.optimizers if not o.noisy]
    for n in range(3):
        alone = simulate(cfg.surface, opts, [cfg.start], 12, noise=Minibatch(8, 4 + n),
                         exact=exact)
        assert np.array_equal(alone.points[:, 0], tr.points[:, n])
    with open(tmp_path / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["runs"]) for r in rows] == [3, 3]


def test_a_huge_network_is_refused_before_any_work(tmp_path):
    text = NET.replace("mlp: [2, 4, 1]", "mlp: [2, 256, 256, 1]").replace("steps: 30",
                                                                          "steps: 5000")
    cfg = parse_config(text, "huge.yaml")
    with pytest.raises(BudgetError) as info:
        run(cfg, out=tmp_path / "out")
    e = info.value
    assert e.key == "surface" and e.file == "huge.yaml"
    assert "66,817-parameter model on 64 samples" in str(e) and "steps" in str(e)
    assert not (tmp_path / "out").exists()
    # the same network for a few steps is within the budget
    from optviz.analysis import budget

    small = budget.of_run(parse_config(text.replace("steps: 5000", "steps: 3"), "s.yaml"))
    assert small.work < budget.WORK_BUDGET < budget.of_run(cfg).work


def test_a_networks_memory_counts_every_parameter_of_every_step(tmp_path):
    text = NET.replace("mlp: [2, 4, 1]", "mlp: [2, 128, 128, 1]").replace("steps: 30",
                                                                          "steps: 20000")
    cfg = parse_config(text, "wide.yaml")  # 2 x 20,001 x 17,025 floats: about 5 GiB
    with pytest.raises(BudgetError) as info:
        run(cfg, out=tmp_path / "out", budget=1e15)
    assert "too much memory" in str(info.value)
    from optviz.analysis import budget

    small = budget.of_run(parse_config(NET, "n.yaml"))
    assert small.memory < budget.BYTES["base"] + 2 ** 20


def test_the_budget_counts_a_models_gradient_by_its_size():
    from optviz.analysis import budget

    net = parse_config(NET, "n.yaml")
    wider = parse_config(NET.replace("mlp: [2, 4, 1]", "mlp: [2, 64, 1]"), "w.yaml")
    surface = parse_config("surface: wobbly\nsteps: 30\noptimizers: [sgd, adam]\n"
                           "render: {formats: [png]}\n", "s.yaml")
    runs = {name: next(p for p in budget.of_run(c).parts if p.what == "the runs").work
            for name, c in (("net", net), ("wider", wider), ("surface", surface))}
    assert runs["surface"] < runs["net"] < runs["wider"]
    assert budget.model_cost(wider.surface) == pytest.approx(
        budget.MODEL_COST * 257 * 64)


# ------------------------------------------------------------------ the CLI
def test_run_prints_the_parameters_norm_for_a_network(tmp_path):
    config = write(tmp_path, NET)
    r = invoke("run", config, "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "final ‖θ‖" in r.output
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    norms = {row["label"]: row["final_norm"] for row in record["summary"]}
    assert f"{norms['adam']:.4g}" in r.output


@pytest.mark.parametrize("args, words", [
    (("run", "--formats", "png,web"), "web page reruns paths over a 2-D surface"),
    (("run", "--formats", "web"), "web page reruns paths over a 2-D surface"),
    (("basins", "--resolution", "4"), "'optviz basins'"),
    (("web",), "'optviz web'"),
])
def test_what_a_network_does_not_have_is_a_clean_exit_2(tmp_path, args, words):
    config = write(tmp_path, NET)
    r = invoke(args[0], config, *args[1:], "--out", tmp_path / "out")
    assert r.exit_code == 2, r.output
    assert words in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def test_compare_tunes_a_network_over_init_and_minibatch_seeds(tmp_path):
    text = NET.replace("lr: 0.05, label: adam", "lr: {tune: [0.01, 0.1, log]}, label: adam")
    text += ("noise: {kind: minibatch, batch_size: 16, seed: 0, seeds: 2}\n"
             "tune: {over: {starts: 2, seeds: 2}, budget: 3}\n")
    config = write(tmp_path, text)
    r = invoke("compare", config, "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    record = json.loads((tmp_path / "out" / "compare.json").read_text())
    (tuned,) = record["tuning"].values()
    assert tuned["runs"] == 4  # 2 initialisations x 2 minibatch seeds
    assert tuned["objective"] == "final_loss"  # no minimum known
    with open(tmp_path / "out" / "tuning.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and sum(int(r["chosen"]) for r in rows) == 1
    with Image.open(tmp_path / "out" / "c-compare.png") as im:
        assert im.size == (300, 200)


def test_tuning_starts_of_a_network_are_its_init_and_the_next_seeds():
    from optviz.analysis.compare import tuning_starts
    from optviz.input.config import TuneSpec

    cfg = parse_config(NET, "n.yaml")
    starts = tuning_starts(TuneSpec(starts=3), cfg)
    assert np.array_equal(starts, cfg.surface.init([3, 4, 5]))


def test_sweep_runs_on_a_network(tmp_path):
    config = write(tmp_path, NET)
    r = invoke("sweep", config, "--x", "lr=0.01:1:log:4", "--optimizer", "sgd",
               "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    with np.load(tmp_path / "out" / "sweep.npz") as f:
        lrs, outcome = f["lr"], f["final_loss"]
    assert lrs[-1] == 1.0
    cfg = parse_config(NET, "n.yaml")
    alone = simulate(cfg.surface, {"sgd": make_optimizer("sgd", lr=1.0)}, [cfg.start], 30)
    assert outcome[-1] == alone.final_losses[0, 0]


def test_every_command_takes_a_two_parameter_model(tmp_path):
    config = write(tmp_path, LINE)
    for args in (("basins", "--resolution", "4"), ("web",),
                 ("sweep", "--x", "lr=0.01:0.1:3", "--optimizer", "SGD"), ("compare",)):
        r = invoke(args[0], config, *args[1:], "--out", tmp_path / args[0])
        assert r.exit_code == 0, (args, r.output)
    assert (tmp_path / "web" / "c-web.html").stat().st_size > 0
    assert (tmp_path / "basins" / "basins.npz").exists()


def test_batch_renders_model_configs(tmp_path):
    folder = tmp_path / "cfgs"
    folder.mkdir()
    out = folder / "out"
    write(folder, NET.replace("title: Tiny net", f"title: Tiny net\noutput: {out / 'net'}"),
          "net.yaml")
    write(folder, LINE.replace("title: Tiny line", f"title: Tiny line\noutput: {out / 'line'}"),
          "line.yaml")
    r = invoke("batch", folder, "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert (folder / "out" / "net" / "parameters.npz").exists()
    assert (folder / "out" / "line" / "trajectories.csv").exists()
    again = invoke("batch", folder, "--jobs", "1")
    assert "2 up to date" in again.output


def test_a_network_is_animated_on_its_plane(tmp_path):
    from optviz.render.projection import PlaneAnimation

    text = NET.replace("dpi: 50}", "dpi: 50, formats: [png, gif], fps: 5, max_frames: 8}")
    result = run(parse_config(text, "anim.yaml"), out=tmp_path)
    assert (tmp_path / "anim.gif") in result.files
    record = json.loads((tmp_path / "run.json").read_text())
    assert "anim.gif" in {f["name"] for f in record["files"]}
    with Image.open(tmp_path / "anim.gif") as im:
        assert im.size == (300, 200)
        # 8 frames of steps 0 .. 30, then the last held for 1.5 s at 5 fps
        assert im.n_frames == 8 + 8
        im.seek(0)
        first = np.asarray(im.convert("RGB")).copy()
        im.seek(7)
        last = np.asarray(im.convert("RGB")).copy()
    assert not np.array_equal(first, last)  # the paths grew
    # a blitted frame equals the same figure drawn whole (the paths up to that step)
    from optviz.app.runner import network_plane

    cfg, tr = result.config, result.trajectories
    pl = network_plane(cfg, tr)
    anim = PlaneAnimation(pl, tr, model=cfg.surface, title=cfg.title, size=(6, 4), dpi=50)
    blitted = anim.draw(30).copy()
    anim.fig.canvas.draw()  # a full redraw: the animated artists are left out of it
    p = anim.parts
    from optviz.render import contour as C

    curves, marks, dashed = C.draw_losses(p["lax"], tr, p["cols"], scale=p["scale"], upto=30,
                                          looks_=p["looks"])
    for a in [*C.draw_paths(p["ax"], pl.paths, p["cols"], scale=p["scale"], upto=30,
                            shown=p["shown"], looks_=p["looks"]),
              *curves, *(m for m, _ in marks), *dashed, anim.start, anim.counter]:
        a.axes.draw_artist(a)
    assert np.array_equal(blitted, np.asarray(anim.fig.canvas.buffer_rgba()))


# ------------------------------------------------------------------ shipped configs
def shipped(name):
    from optviz.app.runner import simulate_config
    from optviz.input.config import load_config

    cfg = load_config(f"models/{name}")
    return cfg, simulate_config(cfg)


def test_shipped_linear_minibatch_jitters_around_full_batch_gd():
    cfg, tr = shipped("linear-minibatch")
    gap = tr.final_losses[:, 0] - cfg.surface.minimum_value
    assert gap[1] > 3 * gap[0] > 0  # minibatch SGD hovers above GD's final loss
    steps = np.diff(tr.points[:, 0], axis=1)
    turns = [np.sum(np.einsum("ij,ij->i", s[1:], s[:-1]) < 0) for s in steps]
    assert turns[0] < 5 < 20 < turns[1]  # GD's path is smooth, SGD's jitters


def test_shipped_logistic_newton_full_step_diverges_and_damped_converges():
    cfg, tr = shipped("logistic")
    labels = list(tr.labels)
    full, damped = labels.index("Newton (full step)"), labels.index("Newton (lr 0.3)")
    assert tr.diverged[full, 0] and tr.steps[full, 0] <= 3
    assert np.allclose(tr.final_points[damped, 0], cfg.surface.minima[0], atol=1e-6)


def test_shipped_moons_momentum_and_adam_beat_sgd():
    cfg, tr = shipped("moons")
    final = dict(zip(tr.labels, tr.final_losses[:, 0]))
    assert final["sgd lr=0.3"] > 3 * max(final["momentum lr=0.1"], final["adam lr=0.01"])
    sgd = list(tr.labels).index("sgd lr=0.3")
    assert tr.losses[sgd, 0, 200] > 0.2  # still on the plateau at step 200


def test_shipped_spirals_adam_and_sgd_end_far_apart():
    cfg, tr = shipped("spirals")
    k = {label: i for i, label in enumerate(tr.labels)}
    sgd, adam = tr.final_points[k["sgd lr=0.5"], 0], tr.final_points[k["adam lr=0.02"], 0]
    start = np.array(cfg.start)
    assert np.linalg.norm(adam - sgd) > np.linalg.norm(sgd - start)
    assert tr.final_losses[k["sgd lr=0.5"], 0] > 100 * tr.final_losses[k["adam lr=0.02"], 0]


COMBOS = {
    "ce, 3 classes": "model: {mlp: [2, 6, 3], loss: ce}\n  data: {generate: blobs, classes: 3, n: 60}",
    "mse, one input": "model: {mlp: [1, 5, 1], loss: mse, activation: relu}\n"
                      "  data: {generate: regression, n: 40}",
    "logistic, l2": "model: logistic\n  data: {generate: blobs, noise: 2, n: 40}\n  l2: 0.1",
    "softplus on xor": "model: {mlp: [2, 5, 1], activation: softplus}\n"
                       "  data: {generate: xor, n: 40}",
}


@pytest.mark.parametrize("surface", COMBOS.values(), ids=list(COMBOS))
def test_models_losses_and_noise_combine_into_runs_that_write_their_plan(tmp_path, surface):
    text = (f"surface:\n  {surface}\nsteps: 10\n"
            "noise: {kind: minibatch, batch_size: 16, seed: 1, seeds: 2}\n"
            "optimizers: [sgd, adam, {type: lion, lr: 0.001}]\n"
            "render: {formats: [png, svg], dpi: 30}\n")
    result = run(parse_config(text, "combo.yaml"), out=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in result.plan.files)
    assert {"combo.png", "combo.svg", "summary.csv", "run.json"} <= set(names)
    assert np.isfinite(result.trajectories.final_losses).all()
    assert result.trajectories.shape[1] == 2  # two minibatch seeds


def test_a_networks_html_page_holds_the_plane_and_the_projected_paths_exactly(tmp_path):
    """Issue 23.4: the html format of a network's run: the loss on the run's plane as the
    page's value grid, every optimizer's path projected onto it (bit for bit the
    figure's), its true losses, the plane's note and axis names."""
    import importlib

    from optviz.app.runner import network_plane, run

    read_page = importlib.import_module("tests.test_web").read_page
    cfg = parse_config(NET.replace("dpi: 50}", "dpi: 50, formats: [png, html]}"), "net.yaml")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    assert (tmp_path / "net.html").name in [p.name for p in result.files]
    meta, paths, own, grid, text = read_page(tmp_path / "net.html")
    plane = network_plane(result.config, result.trajectories)
    np.testing.assert_array_equal(grid, plane.losses)
    assert meta["axes"] == ["α along PC1", "β along PC2"] and "Li et al. 2018" in \
        meta["plane_note"]
    for k in range(2):
        np.testing.assert_array_equal(own[k][:2].T, plane.paths.path(k))
        np.testing.assert_array_equal(own[k][2], result.trajectories.loss_path(k))
    assert meta["start"] == [float(v) for v in plane.paths.points[0, 0, 0]]
    assert [o["label"] for o in meta["opts"]] == ["sgd", "adam"]
