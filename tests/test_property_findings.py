"""Regression tests for what the property-based tests (tests/test_properties.py)
found: each is the smallest config hypothesis reduced a failure to, named for
the bug, and failed before its fix."""

from __future__ import annotations

import json

import numpy as np
import pytest

import optviz
from optviz.errors import ConfigError


def write(tmp_path, text: str, name: str = "found"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("wrapper", ["sam", "lookahead"])
def test_html_format_of_a_wrapper_shows_its_run(tmp_path, wrapper):
    """format html (the run's own values) of a sam or lookahead optimizer failed with
    "the web page's grid varies each optimizer's lr; sam has none of its own": a page
    of the run's own values varies nothing."""
    path = write(tmp_path, f"surface: wobbly\nsteps: 5\noptimizers: [{{type: {wrapper}}}]\n"
                           "render: {formats: [html]}\n")
    result = optviz.run(path, out=tmp_path / "out")
    page = (tmp_path / "out" / "found.html").read_text(encoding="utf-8")
    assert f'"label":"{wrapper}"' in page
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert [f["name"] for f in record["files"]] == ["trajectories.csv", "found.html"]
    assert result.labels == [wrapper]


@pytest.mark.parametrize("kind, main", [("prodigy", "d_coef"), ("sophia", "gamma"),
                                        ("sgd_schedulefree", "momentum"),
                                        ("adamw_schedulefree", "beta1")])
def test_precomputed_page_grid_keeps_the_main_hyperparameter_in_its_range(tmp_path, kind,
                                                                           main):
    """A precomputed page (web.live: false, or noise) of an optimizer whose main
    hyperparameter must be above 0 failed: "prodigy's d_coef must be > 0, got values
    from 0 to 1" (the grid spans web.main_range, [0, 0.99], whatever the range)."""
    from test_web import read_page

    path = write(tmp_path, f"surface: wobbly\nsteps: 4\noptimizers: [{{type: {kind}}}]\n"
                           "web: {live: false, lr_values: 2, starts: 1}\n")
    result = optviz.run_web(path, out=tmp_path / "out")
    meta = read_page(result.page.path)[0]
    (opt,) = meta["opts"]
    assert opt["main"] == main and len(opt["mains"]) > 1
    assert all(v > 0 for v in opt["mains"]), opt["mains"]
    own = dict(result.config.optimizers[0].params)[main]
    assert opt["mains"][opt["own_main"]] == own


def test_a_wrapper_on_a_precomputed_page_is_an_error_naming_file_line_and_key(tmp_path):
    """A precomputed page cannot vary sam's lr (it has none of its own): the error said
    only "key 'type'", naming neither the config file nor the optimizer."""
    path = write(tmp_path, "surface: wobbly\nsteps: 3\noptimizers:\n  - {type: adam}\n"
                           "  - {type: sam, rho: 0.1}\nweb: {live: false}\n")
    with pytest.raises(ConfigError) as e:
        optviz.run_web(path, out=tmp_path / "out")
    assert (e.value.file, e.value.line, e.value.key) == (str(path), 5, "optimizers[1].type")
    assert str(e.value).startswith(f"{path}, line 5, key 'optimizers[1].type': ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("wrapper", ["sam", "lookahead"])
def test_a_schedule_of_a_wrappers_base_is_recorded(tmp_path, wrapper):
    """A schedule on a wrapper's base optimizer crashed every command at the record:
    "TypeError: Object of type Schedule is not JSON serializable" (a traceback)."""
    path = write(tmp_path, f"surface: wobbly\nsteps: 3\noptimizers:\n  - type: {wrapper}\n"
                           "    base: {type: sgd, lr: 0.1, schedule: {type: step, step_size: 1}}\n"
                           "render: {formats: [png], size: [4, 3], dpi: 40}\n")
    optviz.run(path, out=tmp_path / "out")
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    (opt,) = record["config"]["optimizers"]
    assert opt["base"]["schedule"] == {"type": "step", "step_size": 1, "gamma": 0.1}
    assert opt["base"]["lr"] == 0.1


@pytest.mark.parametrize("pct_start, total_steps, three_phase",
                         [(0.5, 2, False), (0.1, 10, True), (1.0, 1, False), (0.25, 4, False)])
def test_onecycle_whose_warm_up_has_no_steps_is_refused(tmp_path, pct_start, total_steps,
                                                        three_phase):
    """onecycle with pct_start x total_steps = 1 crashed the run with a
    ZeroDivisionError traceback (torch's formula divides by the warm-up's length, 0)."""
    path = write(tmp_path, "surface: wobbly\nsteps: 3\noptimizers:\n  - type: adam\n"
                           f"    schedule: {{type: onecycle, max_lr: 0.1, total_steps: "
                           f"{total_steps}, pct_start: {pct_start}, three_phase: "
                           f"{str(three_phase).lower()}}}\nrender: {{formats: [png]}}\n")
    with pytest.raises(ConfigError) as e:
        optviz.run(path, out=tmp_path / "out")
    assert (e.value.file, e.value.line) == (str(path), 5)
    assert e.value.key == "optimizers[0].schedule.pct_start"
    assert "no steps" in str(e.value) and not (tmp_path / "out").exists()


def test_onecycle_beside_a_warm_up_of_no_steps_still_runs(tmp_path):
    """pct_start x total_steps just below or above 1 is fine (torch's too)."""
    for pct in (0.49, 0.51, 0.0):
        path = write(tmp_path, "surface: wobbly\nsteps: 3\noptimizers:\n  - type: adam\n"
                               f"    schedule: {{type: onecycle, max_lr: 0.1, total_steps: 2, "
                               f"pct_start: {pct}}}\nrender: {{formats: [png]}}\n")
        result = optviz.run(path, out=tmp_path / f"out{pct}")
        assert result.labels and all(np.isfinite(result.trajectories.final_losses.ravel()))


@pytest.mark.parametrize("anneal", ["linear", "cos"])
def test_onecycle_past_its_total_keeps_the_cycles_last_lr(tmp_path, anneal):
    """Past total_steps, onecycle held the value torch extrapolates at step total_steps:
    with a linear anneal a negative lr (-0.0143 here), so SGD climbed the surface for
    every step after the cycle."""
    from optviz.core.optim import lr_over_steps

    schedule = {"type": "onecycle", "max_lr": 0.1, "total_steps": 10,
                "anneal_strategy": anneal, "cycle_momentum": False}
    lrs = lr_over_steps("sgd", {"lr": 0.1, "schedule": schedule}, 30)
    assert min(lrs) > 0, lrs
    assert lrs[10:] == [lrs[9]] * 20  # the cycle's last value, 0.1 / 25 / 1e4
    assert lrs[9] == pytest.approx(0.1 / 25 / 1e4)
    path = write(tmp_path, "surface: simple-quad\nstart: [2, 1]\nsteps: 30\noptimizers:\n"
                           f"  - {{type: sgd, schedule: {{type: onecycle, max_lr: 0.1, "
                           f"total_steps: 10, anneal_strategy: {anneal}, cycle_momentum: false}}}}\n"
                           "render: {formats: [png]}\n")
    result = optviz.run(path, out=tmp_path / "out")
    losses = result.trajectories.loss_path(0)
    assert np.all(np.diff(losses) <= 0), losses  # never uphill on a bowl


def test_basins_of_lr_auto_use_the_chosen_lr(tmp_path):
    """basins ignored lr: auto: the map was made with the default lr (sgd's 0.01) under
    the label "sgd lr=auto", while run chose and used another lr."""
    import csv

    auto = write(tmp_path, "surface: wobbly\nsteps: 10\noptimizers: [{type: sgd, lr: auto}]\n"
                           "render: {formats: [png]}\n", "auto")
    chosen = optviz.run(auto, out=tmp_path / "run").config.optimizers[0]
    lr = chosen.params["lr"]
    assert lr != 0.01
    given = write(tmp_path, f"surface: wobbly\nsteps: 10\noptimizers: [{{type: sgd, lr: {lr!r}}}]"
                            "\nrender: {formats: [png]}\n", "given")
    optviz.run_basins(auto, 5, out=tmp_path / "auto")
    optviz.run_basins(given, 5, out=tmp_path / "given")
    with np.load(tmp_path / "auto" / "basins.npz") as a, \
            np.load(tmp_path / "given" / "basins.npz") as b:
        np.testing.assert_array_equal(a["final_loss"], b["final_loss"])
        assert a["label"].tolist() == [chosen.label]
    with open(tmp_path / "auto" / "basins.csv", newline="") as fh:
        assert {row["label"] for row in csv.DictReader(fh)} == {chosen.label}


def test_sweep_of_an_lr_auto_optimizer_uses_the_chosen_lr(tmp_path):
    """sweep over momentum of an lr: auto optimizer ran it at the default lr."""
    auto = write(tmp_path, "surface: wobbly\nsteps: 10\noptimizers:\n"
                           "  - {type: momentum, lr: auto, label: mine}\n"
                           "render: {formats: [png]}\n", "auto")
    lr = optviz.run(auto, out=tmp_path / "run").config.optimizers[0].params["lr"]
    given = write(tmp_path, "surface: wobbly\nsteps: 10\noptimizers:\n"
                            f"  - {{type: momentum, lr: {lr!r}, label: mine}}\n"
                            "render: {formats: [png]}\n", "given")
    a = optviz.run_sweep(auto, "momentum=0:0.9:4", optimizer="mine", out=tmp_path / "a")
    b = optviz.run_sweep(given, "momentum=0:0.9:4", optimizer="mine", out=tmp_path / "b")
    np.testing.assert_array_equal(a.value.values, b.value.values)
    assert a.labels == [f"mine ({lr:.3g})"]
