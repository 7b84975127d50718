"""Learning-rate schedules and weight decay against torch (recorded, and live where
torch is installed), by hand, in batches, and in configs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from reference.schedule_cases import CASES, STARTS, STEPS, SURFACE

from optviz.core.engine import simulate
from optviz.core.optim import default_label, make_optimizer, resolve_hyperparams
from optviz.core.optim.schedules import parse_schedule
from optviz.core.surfaces import load_surface
from optviz.errors import ConfigError
from optviz.input.config import parse_config

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "reference_schedules.json")
                     .read_text())
BOWL = load_surface(SURFACE)
IDS = [c[0] for c in CASES]


def ours(case, steps=STEPS):
    _, kind, hp = case[:3]
    return simulate(BOWL, {"o": make_optimizer(kind, **hp)}, STARTS, steps)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_recorded_torch(case):
    recorded = FIXTURE["cases"][case[0]]
    tr = ours(case)
    assert tr.steps[0].tolist() == [STEPS] * len(STARTS)
    for n in range(len(STARTS)):
        np.testing.assert_allclose(tr.points[0, n], recorded["points"][n], rtol=1e-9,
                                   atol=1e-12)
    if "lrs" in recorded:
        sched = parse_schedule(case[2]["schedule"])
        np.testing.assert_allclose(sched.lrs(case[2]["lr"], STEPS), recorded["lrs"],
                                   rtol=1e-12, atol=0)




def lrs(schedule, base=1.0, steps=8):
    return parse_schedule(schedule).lrs(base, steps)


def test_schedules_by_hand():
    assert lrs({"type": "step", "step_size": 3, "gamma": 0.5}) == \
        [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert lrs({"type": "multistep", "milestones": [2, 5], "gamma": 0.1}, steps=6) == \
        pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01], rel=1e-15)
    assert lrs({"type": "exponential", "gamma": 0.5}, 2.0, 4) == [2.0, 1.0, 0.5, 0.25]
    cos = lrs({"type": "cosine", "T_max": 4, "eta_min": 0.2}, steps=6)
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(cos[:5], expected, rtol=1e-12, atol=1e-15)
    assert cos[5] == pytest.approx(0.2 + 0.8 * (1 + math.cos(math.pi * 5 / 4)) / 2)  # goes up
    # linear warm-up from 1/4 to 1 over 3 steps, then flat
    np.testing.assert_allclose(lrs({"type": "linear", "start_factor": 0.25, "total_iters": 3},
                                   steps=5), [0.25, 0.5, 0.75, 1, 1], rtol=1e-12)
    # restarts: T_0 = 2, T_mult = 2: periods 2, 4, ...
    r = lrs({"type": "cosine_restarts", "T_0": 2, "T_mult": 2}, steps=7)
    np.testing.assert_allclose(r, [1, 0.5, 1, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                   (1 + math.cos(3 * math.pi / 4)) / 2, 1], atol=1e-15)
    # onecycle: starts at max_lr/div_factor, peaks at max_lr, ends at initial/final_div
    # (phase ends at pct_start·total_steps − 1 = step 4, then total_steps − 1 = step 9)
    oc = lrs({"type": "onecycle", "max_lr": 1.0, "total_steps": 10, "pct_start": 0.5,
              "anneal_strategy": "linear", "div_factor": 4.0, "final_div_factor": 2.5},
             steps=10)
    np.testing.assert_allclose(oc, [0.25, 0.4375, 0.625, 0.8125, 1.0, 0.82, 0.64, 0.46, 0.28,
                                    0.1], rtol=1e-12)


def test_onecycle_cycles_beta1_and_momentum():
    """The first Adam step with beta1 = max_momentum 0.95 differs from beta1 0.9's only
    through the bias correction (none at t = 1); the second step shows it."""
    sched = {"type": "onecycle", "max_lr": 0.1, "total_steps": 20}
    a = simulate(BOWL, {"o": make_optimizer("adam", schedule=sched)}, STARTS[0], 3)
    b = simulate(BOWL, {"o": make_optimizer("adam", schedule=dict(sched, cycle_momentum=False))},
                 STARTS[0], 3)
    np.testing.assert_allclose(a.points[0, 0, 1], b.points[0, 0, 1], rtol=1e-14)
    assert not np.allclose(a.points[0, 0, 2], b.points[0, 0, 2], rtol=1e-9)
    with pytest.raises(ConfigError, match="cycle_momentum"):
        resolve_hyperparams("adagrad", {"schedule": sched})


def test_batch_with_a_schedule_equals_separate_runs():
    lrs_ = np.array([[0.02], [0.1], [0.3]])
    sched = {"type": "cosine", "T_max": 15, "eta_min": 0.001}
    starts = np.repeat([STARTS[0]], 3, axis=0)
    together = simulate(BOWL, {"o": make_optimizer("adam", lr=lrs_, schedule=sched)}, starts, 25)
    for i, lr in enumerate(lrs_[:, 0]):
        alone = simulate(BOWL, {"o": make_optimizer("adam", lr=float(lr), schedule=sched)},
                         STARTS[0], 25)
        np.testing.assert_allclose(together.points[0, i], alone.points[0, 0], rtol=1e-14)


def test_every_schedule_parameter_changes_the_path():
    base = {"type": "onecycle", "max_lr": 0.2, "total_steps": 40}
    changes = {"max_lr": 0.3, "total_steps": 30, "pct_start": 0.5, "anneal_strategy": "linear",
               "cycle_momentum": False, "base_momentum": 0.7, "max_momentum": 0.99,
               "div_factor": 5.0, "final_div_factor": 10.0, "three_phase": True}
    a = simulate(BOWL, {"o": make_optimizer("momentum", lr=0.1, schedule=base)}, STARTS[0], 30)
    for key, value in changes.items():
        b = simulate(BOWL, {"o": make_optimizer("momentum", lr=0.1,
                                                schedule=dict(base, **{key: value}))},
                     STARTS[0], 30)
        assert not np.allclose(a.points, b.points, rtol=1e-9), key


def test_schedule_in_label_and_run_json_round_trip():
    cfg = parse_config("surface: wobbly\noptimizers:\n  - type: adam\n    lr: 0.1\n"
                       "    schedule: {type: cosine, T_max: 100}\n")
    assert cfg.optimizers[0].label == "adam lr=0.1 cosine(T_max=100)"
    data = cfg.to_dict()["optimizers"][0]["schedule"]
    assert data == {"type": "cosine", "T_max": 100, "eta_min": 0.0}
    assert parse_schedule(data) == cfg.optimizers[0].params["schedule"]
    seq = resolve_hyperparams("sgd", {"schedule": {
        "type": "sequential", "milestones": [5],
        "schedules": [{"type": "linear", "start_factor": 0.1}, {"type": "exponential",
                                                                 "gamma": 0.9}]}})
    assert default_label("sgd", seq) == \
        "sgd [linear(start_factor=0.1) → exponential(gamma=0.9) @ 5]"


@pytest.mark.parametrize("schedule,line,key,fragment", [
    ("{type: cosin, T_max: 10}", 5, "optimizers[0].schedule.type", "did you mean 'cosine'"),
    ("{type: cosine}", 5, "optimizers[0].schedule", "needs 'T_max'"),
    ("{type: cosine, T_max: 10, tmax: 3}", 5, "optimizers[0].schedule.tmax", "no parameter"),
    ("{type: step, step_size: 2.5}", 5, "optimizers[0].schedule.step_size", "whole number"),
    ("{type: linear, start_factor: 0}", 5, "optimizers[0].schedule.start_factor", "(0, 1]"),
    ("{type: onecycle, max_lr: 1, total_steps: 9, anneal_strategy: cosine}", 5,
     "optimizers[0].schedule.anneal_strategy", "cos or linear"),
    ("\n      type: sequential\n      milestones: [3, 4]\n      schedules:\n"
     "        - {type: exponential, gamma: 0.9}\n        - {type: step, step_size: 2}", 7,
     "optimizers[0].schedule.milestones", "one milestone fewer"),
    ("cosine", 5, "optimizers[0].schedule", "a mapping"),
])
def test_bad_schedules_name_file_line_and_key(schedule, line, key, fragment):
    text = ("surface: wobbly\nsteps: 10\noptimizers:\n  - type: adam\n"
            f"    schedule: {schedule}\n")
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    e = err.value
    assert e.key == key and fragment in str(e), str(e)
    assert e.line == line, str(e)


def test_weight_decay_first_steps_by_hand():
    quad = load_surface({"formula": "x**2 + 3*y**2", "domain": {"x": [-2, 2], "y": [-2, 2]}})
    p0, g0 = np.array([1.0, -0.5]), np.array([2.0, -3.0])
    tr = simulate(quad, {"sgd": make_optimizer("sgd", lr=0.1, weight_decay=0.5),
                         "adamw": make_optimizer("adamw", lr=0.1, weight_decay=0.5)}, p0, 1)
    np.testing.assert_allclose(tr.points[0, 0, 1], p0 - 0.1 * (g0 + 0.5 * p0), rtol=1e-15)
    # AdamW: θ(1 − lr·λ) − lr·g/(|g| + eps) on the first step
    np.testing.assert_allclose(tr.points[1, 0, 1],
                               p0 * (1 - 0.05) - 0.1 * g0 / (np.abs(g0) + 1e-8), rtol=1e-14)


def test_lr_panel_writes_a_png_of_the_schedule(tmp_path):
    from PIL import Image

    from optviz.app.runner import run
    from optviz.core.optim import lr_over_steps

    cfg = parse_config("surface: wobbly\nsteps: 30\nrender: {formats: [png], lr_panel: true, "
                       "size: [6, 4], dpi: 80}\noptimizers:\n"
                       "  - {type: adam, lr: 0.1, schedule: {type: step, step_size: 10, "
                       "gamma: 0.5}}\n  - {type: sgd, lr: 0.01}\n")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    png = tmp_path / f"{cfg.stem}-lr.png"
    assert png in result.files and png.exists()
    with Image.open(png) as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(int)
    # both optimizers' colours appear (the palette's blue and vermilion)
    for colour in ((0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)):
        assert (np.abs(pixels - colour).sum(axis=1) < 60).sum() > 20, colour
    assert lr_over_steps("adam", cfg.optimizers[0].params, 21) == [0.1] * 10 + [0.05] * 10 + \
        [0.025]
    with pytest.raises(ConfigError, match="lr_panel must be true or false"):
        parse_config("surface: wobbly\nrender: {lr_panel: 1}\noptimizers: [adam]\n")


SCHEDULE_CHANGES = [
    ({"type": "step", "step_size": 5}, {"step_size": 7, "gamma": 0.5}),
    ({"type": "multistep", "milestones": [4, 9]}, {"milestones": [4, 12], "gamma": 0.5}),
    ({"type": "exponential", "gamma": 0.9}, {"gamma": 0.8}),
    ({"type": "cosine", "T_max": 10}, {"T_max": 7, "eta_min": 0.01}),
    ({"type": "cosine_restarts", "T_0": 4}, {"T_0": 5, "T_mult": 2, "eta_min": 0.01}),
    ({"type": "linear"}, {"start_factor": 0.5, "end_factor": 0.5, "total_iters": 8}),
    ({"type": "sequential", "milestones": [5], "schedules": [{"type": "linear"},
                                                             {"type": "exponential",
                                                              "gamma": 0.9}]},
     {"milestones": [7]}),
]


@pytest.mark.parametrize("base,changes", SCHEDULE_CHANGES, ids=[b["type"] for b, _ in
                                                                 SCHEDULE_CHANGES])
def test_every_schedule_parameter_changes_the_lrs(base, changes):
    ref = parse_schedule(base).lrs(0.1, 20)
    assert ref != [0.1] * 20  # the schedule itself does something
    for key, value in changes.items():
        assert parse_schedule(dict(base, **{key: value})).lrs(0.1, 20) != ref, key


def test_scale_by_schedule_in_a_chain_of_ones_own():
    from optviz.core.optim import chain
    from optviz.core.optim import transforms as T
    from optviz.core.optim.schedules import scale_by_schedule

    sched = {"type": "step", "step_size": 2, "gamma": 0.5}
    mine = chain(T.scale_by_sign(), scale_by_schedule(sched, 0.2))
    tr = simulate(BOWL, {"m": mine}, STARTS[0], 5)
    signs = np.sign(np.array([BOWL.grad(p[None])[0] for p in tr.points[0, 0, :5]]))
    np.testing.assert_allclose(np.diff(tr.points[0, 0], axis=0),
                               -np.array([0.2, 0.2, 0.1, 0.1, 0.05])[:, None] * signs,
                               rtol=1e-12)  # differences of positions: a few ulps
