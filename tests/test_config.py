"""Run configs: defaults filled in, and every class of mistake named precisely."""

from pathlib import Path

import pytest

from optviz.errors import ConfigError
from optviz.input.config import RunConfig, load_config, parse_config

GOOD = """\
title: Test
surface: wobbly
start: [-2.8, -2.5]
steps: 30
optimizers:
  - {type: nesterov, lr: 0.01, momentum: 0.975}
  - {type: rmsprop, lr: 0.25, label: "RMSProp"}
  - {type: adam, lr: 0.25}
render:
  formats: [png]
"""


def test_a_good_config_is_fully_resolved():
    cfg = parse_config(GOOD, "good.yaml")
    assert isinstance(cfg, RunConfig)
    assert cfg.surface.name == "wobbly" and cfg.start == (-2.8, -2.5) and cfg.steps == 30
    assert cfg.conventions == "torch"
    labels = [o.label for o in cfg.optimizers]
    assert labels == ["nesterov momentum=0.975", "RMSProp", "adam lr=0.25"]
    adam = cfg.optimizers[2].params
    assert adam["beta1"] == 0.9 and adam["beta2"] == 0.999 and adam["eps"] == 1e-8
    assert cfg.optimizers[1].params["rho"] == 0.99  # torch's alpha, every default filled
    assert cfg.render.formats == ("png",) and cfg.render.fps == 10
    assert cfg.output == Path("output/good")


def test_defaults_from_the_surface_and_lasagne_defaults():
    cfg = parse_config("surface: wobbly\nconventions: lasagne\n"
                       "optimizers: [{type: adagrad}, {type: rmsprop}]\n", "d.yaml")
    assert cfg.start == cfg.surface.start and cfg.steps == 125
    assert cfg.optimizers[0].params["lr"] == 1.0 and cfg.optimizers[0].params["eps"] == 1e-6
    assert cfg.optimizers[1].params["rho"] == 0.9


def test_alpha_is_accepted_for_rmsprop():
    cfg = parse_config("surface: wobbly\noptimizers: [{type: rmsprop, alpha: 0.5}]\n")
    assert cfg.optimizers[0].params["rho"] == 0.5


def test_inline_surface():
    cfg = parse_config("surface: {formula: 'x**2 + y**2', domain: {x: [-1, 1], y: [-1, 1]}}\n"
                       "start: [0.5, 0.5]\noptimizers: [sgd]\n")
    assert cfg.surface.formula == "x**2 + y**2"


def test_shipped_configs_load_by_name():
    assert load_config("default").surface.name == "wobbly"
    art = load_config("article/two-minimums")
    assert art.conventions == "lasagne" and art.steps == 125
    assert [o.type for o in art.optimizers] == ["nesterov", "rmsprop", "adadelta", "adagrad",
                                                 "adam"]


# (config text, line, key, fragment of the message)
BAD = [
    ("surface: wobbly\noptimizers: [{type: adma}]\n", 2, "optimizers[0].type",
     "did you mean 'adam'"),
    ("surface: wobbly\noptimizers:\n  - type: adam\n    lrr: 0.1\n", 4, "optimizers[0].lrr",
     "did you mean 'lr'"),
    ("surface: wobbly\noptimizers:\n  - type: sgd\n    lr: -1\n", 4, "optimizers[0].lr", "lr"),
    ("surface: wobbly\noptimizers:\n  - type: momentum\n    momentum: 1.2\n", 4,
     "optimizers[0].momentum", "momentum"),
    ("surface: wobbly\noptimizers:\n  - type: adam\n    lr: fast\n", 4, "optimizers[0].lr",
     "fast"),
    ("surface: wobly\noptimizers: [adam]\n", 1, "surface", "did you mean 'wobbly'"),
    ("surfce: wobbly\noptimizers: [adam]\n", 1, "surfce", "did you mean 'surface'"),
    ("surface: wobbly\noptimizers: [adam]\nsteps: 10000000\n", 3, "steps", "between 1"),
    ("surface: wobbly\noptimizers: [adam]\nsteps: 0\n", 3, "steps", "between 1"),
    ("surface: wobbly\noptimizers: [adam]\nsteps: many\n", 3, "steps", "whole number"),
    ("surface: wobbly\noptimizers: []\n", 2, "optimizers", "non-empty"),
    ("surface: wobbly\noptimizers: [adam, adam]\n", 2, "optimizers[1]", "used twice"),
    ("surface: wobbly\noptimizers:\n  - {type: adam, label: A}\n  - {type: sgd, label: A}\n", 4,
     "optimizers[1].label", "used twice"),
    ("surface: wobbly\nstart: [1]\noptimizers: [adam]\n", 2, "start", "[x, y]"),
    ("surface: wobbly\nconventions: lasange\noptimizers: [adam]\n", 2, "conventions",
     "did you mean 'lasagne'"),
    ("surface: wobbly\noptimizers: [adam]\nrender: {formats: [png, giff]}\n", 3,
     "render.formats[1]", "did you mean 'gif'"),
    ("surface: wobbly\noptimizers: [adam]\nrender: {fsp: 10}\n", 3, "render.fsp",
     "did you mean 'fps'"),
    ("surface: wobbly\noptimizers: [adam]\nrender: {size: [0, 8]}\n", 3, "render.size",
     "inches"),
    ("surface: wobbly\nsurface: ripple\noptimizers: [adam]\n", 2, "surface", "appears twice"),
    # a tuned range for a key the optimizer does not have is that key's error
    ("surface: wobbly\noptimizers:\n  - {type: sophia, tune: {k: [1, 20]}}\n", 3,
     "optimizers[0].tune", "sophia has no parameter 'tune' (it takes: lr, beta1"),
    ("surface: wobbly\noptimizers:\n  - {type: adam, betaa1: {tune: [0.5, 0.9]}}\n", 3,
     "optimizers[0].betaa1", "did you mean 'beta1'"),
    ("surface: wobbly\noptimizers: [{type: adam, lr: {tune: [1, 2, 3, 4]}}]\n", 2,
     "optimizers[0].lr", "{tune: [lo, hi, log]} (e.g."),
    ("surface: wobbly\noptimizers: [adam\n", 3, None, "not valid YAML"),
    ("- surface: wobbly\n", 1, None, "must be a mapping"),
    ("", None, None, "empty"),
    ("optimizers: [adam]\n", 1, None, "no 'surface'"),
    ("surface: {formula: 'x.real', domain: {x: [-1, 1], y: [-1, 1]}}\noptimizers: [adam]\n"
     "start: [0, 0]\n", 1, "surface.formula", "attribute"),
    ("surface: {formula: 'x**2', domain: {x: [-1, 1], y: [-1, 1]}}\noptimizers: [adam]\n", 1,
     "surface", "no start point"),
]


@pytest.mark.parametrize("text,line,key,fragment", BAD, ids=[b[3][:25] for b in BAD])
def test_mistakes_name_file_line_and_key(tmp_path, text, line, key, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    e = err.value
    assert e.file == str(path)
    assert fragment in str(e)
    assert e.line == line
    assert e.key == key
    assert "Traceback" not in str(e) and "\n" not in str(e)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("no/such/config.yaml")


def test_error_in_a_referenced_surface_file_names_that_file(tmp_path):
    (tmp_path / "s.yaml").write_text("formula: x[0]\ndomain: {x: [-1, 1], y: [-1, 1]}\n")
    (tmp_path / "c.yaml").write_text("surface: s.yaml\nstart: [0, 0]\noptimizers: [adam]\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "c.yaml")
    assert err.value.file.endswith("s.yaml") and err.value.line == 1
    assert "c.yaml" in str(err.value)


def test_overrides_are_validated():
    cfg = parse_config(GOOD)
    assert cfg.with_overrides(steps=5, formats="png,svg").steps == 5
    assert cfg.with_overrides(formats="png,svg").render.formats == ("png", "svg")
    with pytest.raises(ConfigError, match="--formats"):
        cfg.with_overrides(formats="png,jpg")
    with pytest.raises(ConfigError, match="--steps"):
        cfg.with_overrides(steps=-3)
