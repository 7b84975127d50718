"""The config schema (optviz/input/schema.py): one table, and what is derived from it.

The JSON Schema (``optviz schema``) and optviz's own validation must agree: every
shipped config passes both, known-bad configs fail both naming the same key, every
key of the table is accepted by parse_config, and every registry hyperparameter's
range is the same in both. The committed docs are the generated ones.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from optviz.core.optim import registry
from optviz.core.optim.schedules import SCHEDULES
from optviz.errors import ConfigError
from optviz.input import schema
from optviz.input.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
SURFACES = sorted((ROOT / "surfaces").rglob("*.yaml"))
OPTVIZ = Path(sys.executable).parent / "optviz"
BUILTIN = [n for n in registry.OPTIMIZERS if n in registry.BUILTIN]


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def validator():
    sch = schema.json_schema(BUILTIN)
    jsonschema.Draft202012Validator.check_schema(sch)
    return jsonschema.Draft202012Validator(sch)


def test_optviz_schema_prints_strict_json_of_draft_2020_12():
    out = subprocess.run([OPTVIZ, "schema"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    sch = _strict(out.stdout)
    assert sch["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(sch)
    # every optimizer type and every schedule type is known to it
    assert set(BUILTIN) <= set(sch["$defs"]["optimizer"]["properties"]["type"]["enum"])
    assert sch["$defs"]["schedule"]["properties"]["type"]["enum"] == list(SCHEDULES)


def test_optviz_schema_out_writes_the_same_text(tmp_path):
    target = tmp_path / "s.json"
    out = subprocess.run([OPTVIZ, "schema", "--out", target], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    printed = subprocess.run([OPTVIZ, "schema"], capture_output=True, text=True, timeout=120)
    assert target.read_text(encoding="utf-8") == printed.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left
    bad = subprocess.run([OPTVIZ, "schema", "--out", tmp_path / "no" / "such" / "s.json"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Error: cannot write")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_every_shipped_config_validates_against_the_json_schema(path, validator):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


def test_the_shipped_configs_cover_both_kinds():
    kinds = {"response" in yaml.safe_load(p.read_text(encoding="utf-8")) for p in CONFIGS}
    assert kinds == {True, False}


@pytest.mark.parametrize("path", SURFACES, ids=lambda p: p.stem)
def test_every_shipped_surface_validates_as_an_inline_surface(path, validator):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    config = {"surface": data, "optimizers": ["adam"]}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(config)]
    assert errors == []


# ----------------------------------------------------------------- known-bad configs
def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_keys(errors) -> set[str]:
    """The keys a JSON Schema validation names: each error's path, and for an
    unknown key the key itself (optviz names the key, the schema its mapping)."""
    out = set()
    for e in errors:
        path = list(e.absolute_path)
        out.add(_where(path))
        if e.validator in ("additionalProperties", "unevaluatedProperties") and \
                isinstance(e.instance, dict):
            known = e.schema.get("properties", {})
            out |= {_where([*path, k]) for k in e.instance if k not in known}
        out |= _schema_keys(e.context or ())
    return out


BASE = "surface: wobbly\nstart: [1, 1]\n"
BAD = [  # (config text, the key both must name)
    (BASE + "optimizers: [adam]\nrender: {fsp: 3}\n", "render.fsp"),
    (BASE + "optimizers: [adam]\nrender: {fps: 0}\n", "render.fps"),
    (BASE + "optimizers: [adam]\nrender: {fps: 61}\n", "render.fps"),
    (BASE + "optimizers: [adam]\nrender: {dpi: 2.5}\n", "render.dpi"),
    (BASE + "optimizers: [adam]\nrender: {formats: [png, jpg]}\n", "render.formats[1]"),
    (BASE + "optimizers: [adam]\nrender: {view_box: everything}\n", "render.view_box"),
    (BASE + "optimizers: [adam]\nrender: {loss_panel: yes please}\n", "render.loss_panel"),
    (BASE + "optimizers: [adam]\nrender: {camera: {elevation: 3}}\n", "render.camera.elevation"),
    (BASE + "optimizers: [adam]\nrender: {size: [50, 8]}\n", "render.size"),
    (BASE + "optimizers: [adam]\nrender: {size: [12, 0.5]}\n", "render.size"),
    (BASE + "optimizers: [adam]\nweb: {main_range: [0, 1]}\n", "web.main_range"),
    (BASE + "optimizers: [adam]\nsteps: 0\n", "steps"),
    (BASE + "optimizers: [adam]\nsteps: 100001\n", "steps"),
    (BASE + "optimizers: [adam]\nstep: 10\n", "step"),
    (BASE + "optimizers: [adam]\nconventions: keras\n", "conventions"),
    (BASE + "optimizers: [adam]\nnoise: {sigma: -1}\n", "noise.sigma"),
    (BASE + "optimizers: [adam]\nnoise: {seeds: 1001}\n", "noise.seeds"),
    (BASE + "optimizers: [adam]\nnoise: {kind: cauchy}\n", "noise.kind"),
    (BASE + "optimizers: [adam]\nstarts: {grid: 101}\n", "starts.grid"),
    (BASE + "optimizers: [adam]\ntune: {objective: best}\n", "tune.objective"),
    (BASE + "optimizers: [adam]\ntune: {over: {starts: 0}}\n", "tune.over.starts"),
    (BASE + "optimizers: [adam]\ntune: {budget: 1}\n", "tune.budget"),
    (BASE + "optimizers: [adam]\nweb: {lr_values: 42}\n", "web.lr_values"),
    (BASE + "optimizers: [adam]\nweb: {lr_decades: 0}\n", "web.lr_decades"),
    (BASE + "optimizers: [adam]\nweb: {lang: 'not a tag'}\n", "web.lang"),
    (BASE + "optimizers: [adam]\nweb: {live: maybe}\n", "web.live"),
    (BASE + "optimizers: [{type: adam, lr: -1}]\n", "optimizers[0].lr"),
    (BASE + "optimizers: [{type: adam, lrr: 0.1}]\n", "optimizers[0].lrr"),
    (BASE + "optimizers: [{type: adam, beta1: 1}]\n", "optimizers[0].beta1"),
    (BASE + "optimizers: [{type: sgd, lr: 0.1}, {type: momentum, momentum: 1.5}]\n",
     "optimizers[1].momentum"),
    (BASE + "optimizers: [{type: adamw, amsgrad: 1}]\n", "optimizers[0].amsgrad"),
    (BASE + "optimizers: [{type: nag, lookahead: double}]\n", "optimizers[0].lookahead"),
    (BASE + "optimizers: [{type: lookahead, k: 2.5}]\n", "optimizers[0].k"),
    (BASE + "optimizers: [{type: adam, noisy: 0}]\n", "optimizers[0].noisy"),
    (BASE + "optimizers: [{type: adam, schedule: {type: cosin, T_max: 9}}]\n",
     "optimizers[0].schedule.type"),
    (BASE + "optimizers: [{type: adam, schedule: {type: cosine, T_max: 9, eta: 0}}]\n",
     "optimizers[0].schedule.eta"),
    (BASE + "optimizers: [{type: adam, schedule: {type: step, step_size: 0}}]\n",
     "optimizers[0].schedule.step_size"),
    (BASE + "optimizers: [{type: sam, base: {type: sgd, lr: -1}}]\n", "optimizers[0].base.lr"),
    (BASE + "optimizers: [{type: sam, base: {type: sgd, momentum: 0.9}}]\n",
     "optimizers[0].base.momentum"),
    ("surface: {formula: x**2 + y**2, domain: {x: [-1, 1], y: [-1, 1]}, level: 3}\n"
     "start: [0.5, 0.5]\noptimizers: [adam]\n", "surface.level"),
    ("surface: {formula: x**2 + y**2, domain: {x: [-1, 1], y: [-1, 1]}, levels: 1}\n"
     "start: [0.5, 0.5]\noptimizers: [adam]\n", "surface.levels"),
    ("title: R\nresponse: {optimizer: adam, vary: {beta1: [0.9]}, signal: [spikes]}\n",
     "response.signal"),
    ("title: R\nresponse: {optimizer: adam, vary: {beta1: [0.9]}, conventions: keras}\n",
     "response.conventions"),
    ("title: R\nresponse: {optimizer: adam, vary: {beta1: [0.9]}, signals: [wiggles]}\n",
     "response.signals[0]"),
    ("title: R\nresponse: {optimizer: adam, vary: {beta1: [0.9]}}\nrender: {formats: [gif]}\n",
     "render.formats"),
    ("title: R\nresponse: {optimizer: adam, vary: {beta1: [0.9]}}\nsurface: wobbly\n",
     "surface"),
]


@pytest.mark.parametrize("text,key", BAD, ids=[k for _, k in BAD])
def test_a_bad_config_is_refused_by_both_naming_the_same_key(text, key, validator):
    with pytest.raises(ConfigError) as e:
        parse_config(text, "bad.yaml")
    assert e.value.key == key, str(e.value)
    assert e.value.file == "bad.yaml" and e.value.line is not None
    errors = list(validator.iter_errors(yaml.safe_load(text)))
    assert errors, "the JSON Schema accepted it"
    named = _schema_keys(errors)  # the key, or one of its items ([w, h]'s w)
    assert key in named or any(k.startswith(key + "[") for k in named), named


# ----------------------------------------------------------------- no drift
def _config_with(section: schema.Section, key: schema.Key) -> dict:
    """A valid config that sets *key* of *section* to its sample value."""
    value = copy.deepcopy(key.sample())
    run = {"surface": "wobbly", "start": [1, 1], "optimizers": ["adam"]}
    resp = {"title": "R", "response": {"optimizer": "adam", "vary": {"beta1": [0.9]}}}
    if section is schema.RUN:
        return {**run, key.name: value}
    if section is schema.RESPONSE_CONFIG:
        return {**resp, key.name: value} if key.name != "response" else resp
    if section is schema.RESPONSE:
        return {**resp, "response": {**resp["response"], key.name: value}}
    if section is schema.ENTRY:
        return {**run, "optimizers": [{"type": "adam", key.name: value}]}
    if section is schema.SURFACE:
        surface = {"formula": "x**2 + y**2", "domain": {"x": [-3, 3], "y": [-3, 3]}}
        return {**run, "surface": {**surface, key.name: value}}
    if section is schema.CAMERA:
        return {**run, "render": {"view": "3d", "camera": {key.name: value}}}
    net = {"model": {"mlp": [2, 3, 1]}, "data": {"generate": "moons", "n": 16}}
    if section is schema.PLANE:
        return {"surface": net, "optimizers": ["adam"], "steps": 3,
                "render": {"plane": {key.name: value}}}
    if section is schema.RENDER and key.name in ("plane", "decision_boundary"):
        return {"surface": net, "optimizers": ["adam"], "steps": 3, "render": {key.name: value}}
    if section is schema.MODEL:
        surface = {"model": "linear", "data": {"generate": "line", "seed": 0}}
        return {**run, "surface": {**surface, key.name: value}}
    if section is schema.NOISE and key.name == "batch_size":
        return {"surface": {"model": "linear", "data": {"generate": "line", "seed": 0}},
                "optimizers": ["adam"], "noise": {"kind": "minibatch", key.name: value}}
    if section is schema.OVER:
        return {**run, "tune": {"objective": "final_loss", "over": {key.name: value}}}
    block = {key.name: value}
    if section is schema.NOISE and key.name == "df":
        block["kind"] = "student_t"
    if section is schema.STARTS and key.name not in ("grid", "random"):
        block["random" if key.name == "seed" else "grid"] = 3
    if section is schema.TUNE and key.name != "objective":
        block["objective"] = "final_loss"
    name = {schema.RENDER: "render", schema.WEB: "web", schema.NOISE: "noise",
            schema.STARTS: "starts", schema.TUNE: "tune"}[section]
    return {**run, name: block}


KEYS = [(s, k) for s in schema.SECTIONS for k in s.keys]


@pytest.mark.parametrize("section,key", KEYS, ids=[f"{s.name}.{k.name}" for s, k in KEYS])
def test_every_key_of_the_schema_is_accepted_by_parse_config_and_the_json_schema(
        section, key, validator):
    config = _config_with(section, key)
    assert list(validator.iter_errors(config)) == []
    parsed = parse_config(config)
    assert parsed is not None


def test_every_section_of_the_table_is_reached():
    # the sections the drift test builds configs for are all the schema has
    assert {s.name for s, _ in KEYS} == {s.name for s in schema.SECTIONS}


def test_defaults_in_the_schema_are_the_parsed_defaults():
    cfg = parse_config({"surface": "wobbly", "optimizers": ["adam"]})
    assert cfg.steps == schema.RUN.default("steps")
    assert cfg.conventions == schema.RUN.default("conventions")
    for name in ("fps", "dpi", "max_frames", "formats", "size", "view", "view_box", "svg_text"):
        assert getattr(cfg.render, name) == schema.RENDER.default(name), name
    for name in ("live", "lr_values", "lr_decades", "main_values", "main_range", "starts",
                 "value_grid"):
        assert getattr(cfg.web, name) == schema.WEB.default(name), name
    assert cfg.render.camera == tuple(schema.CAMERA.default(k) for k in schema.CAMERA.names)


def _outside(p) -> list:
    """Values just outside a registry Param's range (or its choices)."""
    if p.choices:
        return ["neither"] if not isinstance(p.choices[0], bool) else [1, "yes"]
    out = []
    if p.minimum is not None:
        out.append(p.minimum if p.exclusive_minimum else p.minimum - 0.5)
    if p.maximum is not None:
        out.append(p.maximum if p.exclusive_maximum else p.maximum + 0.5)
    if p.integer:
        out.append((p.minimum or 0) + 1.5)
    return out


PARAMS = [(name, p) for name in BUILTIN for p in registry.OPTIMIZERS[name].params
          if not p.optimizer]


@pytest.mark.parametrize("kind,param", PARAMS, ids=[f"{k}.{p.name}" for k, p in PARAMS])
def test_each_registry_hyperparameter_has_the_same_range_in_both(kind, param, validator):
    def config(value):
        return {"surface": "wobbly", "start": [1, 1],
                "optimizers": [{"type": kind, param.name: value}]}

    if param.default is not None:  # the default is valid for both
        assert list(validator.iter_errors(config(param.default))) == []
        parse_config(config(param.default))
    outside = _outside(param)
    assert outside or param.check is None, "a range the JSON Schema cannot say"
    for value in outside:
        with pytest.raises(ConfigError) as e:
            parse_config(config(value))
        assert e.value.key == f"optimizers[0].{param.name}"
        assert f"optimizers[0].{param.name}" in _schema_keys(
            validator.iter_errors(config(value))), value


def test_a_tuned_range_and_lr_auto_pass_both(validator):
    config = {"surface": "wobbly", "start": [1, 1],
              "optimizers": [{"type": "adam", "lr": "auto"},
                             {"type": "momentum", "momentum": {"tune": [0.5, 0.99]},
                              "lr": {"tune": [1e-3, 1, "log"]}}]}
    assert list(validator.iter_errors(config)) == []
    parse_config(config)


def test_registry_bounds_give_the_same_words_and_checks_as_before():
    # the words errors and describe print come from the bounds
    words = {p.expect for _, p in PARAMS if not p.choices}
    assert words == {"> 0", ">= 0", "in [0, 1)", "in (0, 1)", "in [0, 1]", ">= 1",
                     "a whole number >= 0", "a whole number >= 1"}
    momentum = {p.name: p for p in registry.OPTIMIZERS["momentum"].params}["momentum"]
    assert momentum.check(0.0) and momentum.check(0.999) and not momentum.check(1.0)
    assert not momentum.check(-1e-12) and not momentum.check(math.nan)


# ----------------------------------------------------------------- the committed docs
def test_the_committed_reference_table_is_the_generated_one():
    committed = (ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert committed == schema.markdown(), \
        "run: optviz schema --markdown -o docs/config-reference.md"


def test_the_committed_json_schema_is_the_generated_one():
    committed = (ROOT / "docs" / "config.schema.json").read_text(encoding="utf-8")
    assert committed == schema.json_text(BUILTIN), "run: optviz schema -o docs/config.schema.json"


def test_the_reference_table_names_every_key_and_optimizer():
    text = schema.markdown()
    for section in schema.SECTIONS:
        for key in section.keys:
            assert re.search(rf"^\| `{re.escape(key.name)}` \|", text, re.M), key.name
    for name in registry.BUILTIN:
        assert f"| `{name}` |" in text
    for kind in SCHEDULES:
        assert f"| `{kind}` |" in text


def test_the_readme_configs_pass_both(validator):
    """Every YAML block of the README that is a whole config (it names optimizers)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
              if re.search(r"^(surface|response):", b, re.M)]
    assert len(blocks) >= 2
    for block in blocks:
        data = yaml.safe_load(block)
        assert [e.message for e in validator.iter_errors(data)] == [], block
        parse_config(block, "readme.yaml")
    assert "# yaml-language-server: $schema=optviz.schema.json" in readme


@pytest.mark.parametrize("section", schema.SECTIONS, ids=[s.name for s in schema.SECTIONS])
def test_a_key_outside_the_table_is_refused_by_both_in_every_section(section, validator):
    stray = schema.Key("not_a_key", "text", "", example="x")
    config = _config_with(section, stray)
    with pytest.raises(ConfigError) as e:
        parse_config(config)
    where = _where(_path_of(config, "not_a_key"))
    assert e.value.key == where, str(e.value)
    assert where in _schema_keys(validator.iter_errors(config))


def _path_of(data, key, path=()):
    """The path of *key* inside nested mappings and lists."""
    if isinstance(data, dict):
        if key in data:
            return [*path, key]
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for k, v in items:
        found = _path_of(v, key, (*path, k))
        if found:
            return found
    return None
