"""The config schema, declared once: every key with its type, default, range and help.

Each section of a config (the top level, ``render``, ``web``, ``noise``,
``starts``, ``tune``, an inline ``surface``, a response config's
``response``) is a :class:`Section` of :class:`Key` entries. Everything else is
derived from this table:

- :mod:`optviz.input.config` takes the allowed keys, the defaults, the ranges
  and the choices from it (its messages name the file, the line and the key);
- :func:`json_schema` writes a JSON Schema (draft 2020-12) for editors
  (``optviz schema``; the YAML language server reads
  ``# yaml-language-server: $schema=...``);
- :func:`markdown` writes the reference table of the docs
  (``docs/config-reference.md``, ``optviz schema --markdown``).

An optimizer's hyperparameters are not repeated here: they are read from its
registry entry (:mod:`optviz.core.optim.registry`), and a schedule's from
:data:`optviz.core.optim.schedules.SCHEDULES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from optviz.core.data import GENERATORS
from optviz.core.engine import NOISE_KINDS
from optviz.core.models import ACTIVATIONS, LOSSES
from optviz.core.overlays import KINDS as OVERLAYS

DIALECT = "https://json-schema.org/draft/2020-12/schema"

class _NoDefault:
    def __repr__(self) -> str:
        return "<no default>"


_NONE = _NoDefault()  # no default of its own (required, or derived from something else)


@dataclass(frozen=True)
class Key:
    """One config key.

    *type* is one of ``text``, ``int``, ``number``, ``bool``, ``choice``, ``point``
    ([x, y]), ``range`` ([lo, hi]), ``choices`` (a list of choices, or one),
    ``section`` (a mapping, *keys*), or ``special`` (a shape of its own, given in
    *json*). *default* is the value a missing key takes; *derived* says in words
    where a default without a value comes from. *example* is a valid value (for
    keys without a default: the docs and the test that every key is accepted).
    """

    name: str
    type: str
    help: str
    default: Any = _NONE
    derived: str = ""
    minimum: float | None = None  # of a number, or of each of a point's numbers
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple = ()
    keys: Section | None = None
    example: Any = _NONE
    required: bool = False
    json: Mapping | None = None  # the JSON Schema of a ``special`` key
    shape: str = ""  # a ``special`` key's type in words, for the docs

    @property
    def has_default(self) -> bool:
        return self.default is not _NONE

    def sample(self) -> Any:
        """A valid value: the example, else the default."""
        return self.example if self.example is not _NONE else self.default

    def range_text(self) -> str:
        if self.choices:
            return ", ".join(map(str, self.choices))
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            text = f"{_num(lo)} .. {_num(hi)}"
            if self.exclusive_minimum or self.exclusive_maximum:
                text = ("(" if self.exclusive_minimum else "[") + f"{_num(lo)}, {_num(hi)}" + \
                    (")" if self.exclusive_maximum else "]")
            return ("each " + text) if self.type in ("point", "range") else text
        if lo is not None:
            return (">" if self.exclusive_minimum else ">=") + f" {_num(lo)}"
        return ""


@dataclass(frozen=True, eq=False)
class Section:
    """The keys of one mapping of a config."""

    name: str
    help: str
    keys: tuple[Key, ...]
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", {k.name: k for k in self.keys})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def __getitem__(self, name: str) -> Key:
        return self._index[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def default(self, name: str) -> Any:
        value = self._index[name].default
        if value is _NONE:
            raise KeyError(f"{self.name}.{name} has no default")
        return tuple(value) if isinstance(value, list) else value

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys if k.required)


def number_text(v: float) -> str:
    """A bound as people write it: 100,000, 0.99, 1e6, 1e-8."""
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{v:g}")


_num = number_text


# ----------------------------------------------------------------- the table
FORMATS = ("png", "svg", "pdf", "gif", "mp4", "html", "web")
STATIC_FORMATS = ("png", "svg", "pdf")
CONVENTIONS = ("torch", "lasagne")
# script: the seed article's response script, where its formulas are its own
RESPONSE_CONVENTIONS = (*CONVENTIONS, "script")
TUNE_OBJECTIVES = ("final_loss", "final_gap", "steps_to_tol", "mean_loss")
SEED_MAX = 2 ** 32 - 1

CAMERA = Section("render.camera", "the 3-D view's camera", (
    Key("elev", "number", "elevation, degrees", 35.0),
    Key("azim", "number", "azimuth, degrees", -60.0),
    Key("rotate", "number", "degrees the camera turns per animation frame", 0.0),
))

PLANE = Section("render.plane", "a network's plane through parameter space (Li et al. "
                "2018): the loss on it and every path projected onto it", (
    Key("method", "choice", "pca: of all optimizers' iterates; random: filter-normalised "
        "random directions", "pca", choices=("pca", "random")),
    Key("centre", "special", "the plane's centre: best, start, mean, an optimizer's label, "
        "or the network's D numbers", "best", shape="text or list of numbers",
        json={"anyOf": [{"type": "string", "minLength": 1},
                        {"type": "array", "items": {"type": "number"}, "minItems": 3}]}),
    Key("resolution", "int", "the loss on an R x R grid of the plane", 100, minimum=2,
        maximum=400),
    Key("seed", "int", "the random directions' seed (random only)", 0, minimum=0,
        maximum=SEED_MAX),
))

RENDER = Section("render", "what is drawn and how", (
    Key("formats", "choices", "the files to write", ["png", "gif", "mp4"], choices=FORMATS),
    Key("fps", "int", "animation frames per second", 10, minimum=1, maximum=60),
    Key("size", "point", "figure size in inches [width, height]", [12.0, 8.0], minimum=1,
        maximum=40),
    Key("dpi", "int", "pixels per inch", 100, minimum=20, maximum=600),
    Key("max_frames", "int", "animation frames at most (long runs are strided)", 300,
        minimum=2, maximum=5000),
    Key("loss_panel", "bool", "a loss-vs-step panel beside the contour plot", False),
    Key("overlays", "choices", "arrows at each head", [], choices=OVERLAYS,
        example=["gradient"]),
    Key("view", "choice", "the contour plot, or a 3-D surface", "2d", choices=("2d", "3d")),
    Key("camera", "section", "the 3-D view's camera", keys=CAMERA, example={"elev": 30}),
    Key("lr_panel", "bool", "also write <name>-lr.png: each optimizer's lr over the steps",
        False),
    Key("step_panel", "bool", "also write <name>-step-size.png: α_t·V_t over the steps",
        False),
    Key("view_box", "choice", "paths: the domain grown to hold the paths; domain: the "
        "surface's domain", "paths", choices=("domain", "paths")),
    Key("svg_text", "choice", "SVG text as text naming its fonts, or paths (outlines)",
        "text", choices=("text", "paths")),
    Key("plane", "section", "a network (a model of more than two parameters): the plane "
        "its paths are drawn on", keys=PLANE, example={"method": "pca"}),
    Key("decision_boundary", "bool", "a network: each optimizer's final model's classes on "
        "the data, beside the plane", True),
))

WEB = Section("web", "the interactive web page (format web, optviz web)", (
    Key("live", "bool", "compute paths in the page where it can; false: precompute all",
        True),
    Key("lang", "special", "the page's language (BCP 47 tag such as en, ru, pt-BR)",
        None, derived="from the config's text", example="en",
        shape="text or null",
        json={"type": ["string", "null"],
              "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"}),
    Key("lr_values", "int", "log-spaced learning rates per optimizer (+ the config's own)",
        7, minimum=1, maximum=41),
    Key("lr_decades", "number", "the lr slider spans lr/10**d .. lr*10**d", 1.5, minimum=0,
        maximum=5, exclusive_minimum=True),
    Key("main_values", "int", "values of the main hyperparameter (+ the config's own)", 5,
        minimum=1, maximum=21),
    Key("main_range", "range", "the main hyperparameter's range [lo, hi], lo < hi, spaced "
        "evenly in log(1 - value)", [0.0, 0.99], minimum=0, maximum=1, exclusive_maximum=True),
    Key("starts", "int", "an S x S grid of start points over the domain", 6, minimum=1,
        maximum=30),
    Key("value_grid", "int", "f(x, y) on an R x R grid for the hover read-out", 121,
        minimum=8, maximum=400),
))

NOISE = Section("noise", "gradient noise: the gradient plus seeded random noise", (
    Key("sigma", "number", "the noise's standard deviation (at most 1e6)", 0.0, minimum=0,
        maximum=1e6),
    Key("seed", "int", "the random seed", 0, minimum=0, maximum=SEED_MAX),
    Key("kind", "choice", "the noise's distribution; minibatch: a model's gradient on "
        "sampled batches", "gaussian", choices=(*NOISE_KINDS, "minibatch")),
    Key("batch_size", "int", "minibatch only: samples per step", derived="needed by "
        "minibatch", minimum=1, example=8),
    Key("df", "number", "student_t's degrees of freedom (> 0; student_t only)",
        derived="needed by student_t", minimum=0, exclusive_minimum=True, example=3.0),
    Key("seeds", "int", "runs with seeds seed, seed+1, ... (the summary aggregates them)",
        1, minimum=1, maximum=1000),
))

STARTS = Section("starts", "many start points: a grid or random points (one of grid, "
                 "random)", (
    Key("grid", "int", "a G x G lattice of cell centres", derived="grid or random",
        minimum=1, maximum=100, example=5),
    Key("random", "int", "this many random points", derived="grid or random", minimum=1,
        maximum=10_000, example=20),
    Key("seed", "int", "the random points' seed (random only)", 0, minimum=0,
        maximum=SEED_MAX),
    Key("box", "special", "where the starts lie: {x: [lo, hi], y: [lo, hi]}",
        derived="the surface's domain", example={"x": [-1, 1], "y": [-1, 1]},
        shape="{x: [lo, hi], y: [lo, hi]}",
        json={"$ref": "#/$defs/box"}),
))

OVER = Section("tune.over", "what each tuned value is scored over", (
    Key("starts", "int", "start points", 9, minimum=1, maximum=400),
    Key("seeds", "int", "noise seeds", 5, minimum=1, maximum=100),
    Key("worst", "bool", "score by the worst case, not the median", False),
))

TUNE = Section("tune", "the tuning protocol of tuned hyperparameters ({tune: [lo, hi]})", (
    Key("objective", "choice", "what the tuning minimises", "final_gap",
        choices=TUNE_OBJECTIVES),
    Key("tol", "number", "the tolerance of steps_to_tol", 1e-3, minimum=0,
        exclusive_minimum=True),
    Key("over", "section", "the starts and seeds each value is scored over", keys=OVER,
        example={"starts": 4}),
    Key("budget", "int", "grid points per tuned optimizer", 400, minimum=2, maximum=100_000),
))

SURFACE = Section("surface", "a surface written inline (or in a surface file)", (
    Key("name", "text", "the surface's name", derived="the file's name, or custom",
        example="bowl"),
    Key("title", "text", "the figure's title", derived="the name", example="A bowl"),
    Key("formula", "text", "f(x, y): numbers, x, y, pi, + - * / **, and functions such as "
        "sin, exp, log", required=True, example="x**2 + y**2"),
    Key("domain", "special", "the plotted ranges {x: [lo, hi], y: [lo, hi]}", required=True,
        example={"x": [-3, 3], "y": [-3, 3]}, shape="{x: [lo, hi], y: [lo, hi]}",
        json={"$ref": "#/$defs/box"}),
    Key("levels", "special", "contour levels: a count (2 .. 200) or a list of values", 30,
        minimum=2, maximum=200,
        shape="int or list of numbers",
        json={"anyOf": [{"type": "integer", "minimum": 2, "maximum": 200},
                        {"type": "array", "items": {"type": "number"}, "minItems": 2}]}),
    Key("start", "point", "the suggested start point", derived="none", example=[1, 1]),
    Key("minima", "special", "the known minima, [[x, y], ...]", [], example=[[0, 0]],
        shape="list of points",
        json={"type": "array", "items": {"$ref": "#/$defs/point"}}),
    Key("minimum_value", "number", "the minimum's value (for the final gap)",
        derived="unknown", example=0.0),
    Key("source", "text", "where the surface comes from", ""),
    Key("description", "text", "a line about the surface", ""),
))

MODEL = Section("model_surface", "a model trained on data, in place of a surface "
                "(optviz/core/models.py)", (
    Key("model", "special", "linear or logistic (two parameters), or a network {mlp: "
        "[sizes], activation, loss, init: {seed}}", required=True, example="linear",
        shape="name or mapping",
        json={"anyOf": [{"enum": ["linear", "logistic"]},
                        {"type": "object", "required": ["mlp"], "additionalProperties": False,
                         "properties": {
                             "mlp": {"type": "array", "minItems": 2,
                                     "items": {"type": "integer", "minimum": 1}},
                             "activation": {"enum": list(ACTIVATIONS)},
                             "loss": {"enum": list(LOSSES)},
                             "init": {"type": "object", "additionalProperties": False,
                                      "properties": {"seed": {"type": "integer",
                                                              "minimum": 0}}}}}]}),
    Key("data", "special", "generated {generate: moons, n, noise, seed, classes, factor} or "
        "read {csv: path}", required=True, example={"generate": "line", "seed": 0},
        shape="mapping",
        json={"anyOf": [
            {"type": "object", "required": ["generate"], "additionalProperties": False,
             "properties": {"generate": {"enum": list(GENERATORS)},
                            "n": {"type": "integer", "minimum": 4},
                            "noise": {"type": "number", "minimum": 0},
                            "seed": {"type": "integer", "minimum": 0},
                            "classes": {"type": "integer", "minimum": 2},
                            "factor": {"type": "number", "minimum": 0, "maximum": 1}}},
            {"type": "object", "required": ["csv"], "additionalProperties": False,
             "properties": {"csv": {"type": "string", "minLength": 1}}}]}),
    Key("l2", "number", "two parameters: ½·l2·|θ|² added to the loss", 0.0, minimum=0),
    Key("start", "point", "two parameters: the drawn start", derived="(0, 0)",
        example=[0.5, 0.5]),
    Key("domain", "special", "two parameters: the plotted ranges {x: [lo, hi], y: [lo, hi]}",
        derived="around the start and the minimum", example={"x": [-3, 3], "y": [-3, 3]},
        shape="{x: [lo, hi], y: [lo, hi]}", json={"$ref": "#/$defs/box"}),
    Key("levels", "int", "two parameters: contour levels", 30, minimum=2, maximum=200),
))

RUN = Section("config", "a run config: a surface, a start and optimizers", (
    Key("title", "text", "the figure's title", derived="the surface's title",
        example="My run"),
    Key("surface", "special", "a shipped surface's name, a path (.yaml) or an inline "
        "surface", required=True, example="wobbly",
        shape="name, path or mapping",
        json={"anyOf": [{"type": "string", "minLength": 1}, {"$ref": "#/$defs/surface"},
                        {"$ref": "#/$defs/model_surface"}]}),
    Key("start", "point", "the start point [x, y]", derived="the surface's start",
        example=[1, 1]),
    Key("starts", "section", "many start points", keys=STARTS, example={"grid": 3}),
    Key("steps", "int", "optimizer steps", 125, minimum=1, maximum=100_000),
    Key("conventions", "choice", "torch.optim's formulas, or Lasagne's", "torch",
        choices=CONVENTIONS),
    Key("optimizers", "special", "the optimizers: a list of {type: ..., hyperparameters}",
        required=True, example=[{"type": "adam", "lr": 0.1}],
        shape="list of mappings",
        json={"anyOf": [{"type": "array", "minItems": 1,
                         "items": {"$ref": "#/$defs/optimizer_entry"}},
                        {"$ref": "#/$defs/optimizer"}]}),
    Key("render", "section", "what is drawn and how", keys=RENDER, example={"fps": 12}),
    Key("output", "text", "the output folder", derived="output/<config name>",
        example="output/mine"),
    Key("noise", "section", "gradient noise", keys=NOISE, example={"sigma": 0.5}),
    Key("lesson", "text", "one line: what the run teaches", "", example="momentum overshoots"),
    Key("tune", "section", "the tuning protocol", keys=TUNE,
        example={"objective": "final_loss"}),
    Key("web", "section", "the web page's sliders and grids", keys=WEB,
        example={"lr_values": 5}),
))

RESPONSE = Section("response", "one optimizer's response to gradient signals", (
    Key("optimizer", "text", "the optimizer's type", required=True, example="adam"),
    Key("conventions", "choice", "torch, lasagne, or the seed article's response script",
        "torch", choices=RESPONSE_CONVENTIONS),
    Key("params", "special", "fixed hyperparameters, e.g. {lr: 0.25}", {},
        example={"lr": 0.1},
        shape="mapping",
        json={"type": "object", "additionalProperties": {"type": ["number", "boolean",
                                                                   "string"]}}),
    Key("vary", "special", "one hyperparameter and its values, e.g. {beta1: [0.9, 0.99]}",
        required=True, example={"beta1": [0.9, 0.99]},
        shape="mapping",
        json={"type": "object", "minProperties": 1, "maxProperties": 1,
              "additionalProperties": {"type": "array", "minItems": 1,
                                       "items": {"type": "number"}}}),
    Key("signals", "special", "the gradient signals (or .csv files)",
        derived="every signal", example=["spikes"],
        shape="name, path or list",
        json={"anyOf": [{"$ref": "#/$defs/signal"},
                        {"type": "array", "items": {"$ref": "#/$defs/signal"}}]}),
))

RESPONSE_CONFIG = Section("response config", "a response config: figures of one "
                          "optimizer's response to gradient signals", (
    Key("title", "text", "the figure's title", derived="<optimizer>: response to gradient "
        "signals", example="Adam"),
    Key("response", "section", "the optimizer, the varied hyperparameter and the signals",
        keys=RESPONSE, required=True),
    Key("render", "section", "as a run's render (static formats only)", keys=RENDER,
        example={"formats": ["png"]}),
    Key("output", "text", "the output folder", derived="output/<config name>",
        example="output/mine"),
))

#: the keys of one optimizer entry besides its hyperparameters
ENTRY = Section("optimizer", "one optimizer of a run", (
    Key("type", "text", "the optimizer (optviz list optimizers)", required=True,
        example="adam"),
    Key("label", "text", "its name in the legend and the data", derived="the type and the "
        "hyperparameters that differ from the defaults", example="mine"),
    Key("noisy", "bool", "false: exact gradients in a noisy run", True),
    Key("schedule", "special", "a learning-rate schedule with torch's names",
        derived="none", example={"type": "cosine", "T_max": 100},
        shape="mapping",
        json={"$ref": "#/$defs/schedule"}),
))

SECTIONS = (RUN, RENDER, CAMERA, PLANE, WEB, NOISE, STARTS, TUNE, OVER, SURFACE, MODEL,
            RESPONSE_CONFIG, RESPONSE, ENTRY)


# ----------------------------------------------------------------- JSON Schema
def _bounds(key: Key) -> dict:
    out = {}
    if key.minimum is not None:
        out["exclusiveMinimum" if key.exclusive_minimum else "minimum"] = key.minimum
    if key.maximum is not None:
        out["exclusiveMaximum" if key.exclusive_maximum else "maximum"] = key.maximum
    return out


def _key_json(key: Key) -> dict:
    out: dict[str, Any]
    if key.type == "special":
        out = dict(key.json or {})
    elif key.type == "section":
        out = {"$ref": f"#/$defs/{key.keys.name.replace('.', '_').replace(' ', '_')}"}
    elif key.type == "text":
        out = {"type": "string"}
    elif key.type in ("int", "number"):
        out = {"type": "integer" if key.type == "int" else "number", **_bounds(key)}
    elif key.type == "bool":
        out = {"type": "boolean"}
    elif key.type == "choice":
        out = {"enum": list(key.choices)}
    elif key.type == "choices":
        out = {"anyOf": [{"enum": list(key.choices)},
                         {"type": "array", "items": {"enum": list(key.choices)}}]}
    elif key.type in ("point", "range"):
        number = {"type": "number", **_bounds(key)}
        out = {"$ref": "#/$defs/point"} if number == {"type": "number"} else \
            {"type": "array", "items": number, "minItems": 2, "maxItems": 2}
    else:
        raise ValueError(f"unknown key type {key.type!r}")
    if "$ref" in out:
        return {**out, "description": key.help}
    out["description"] = key.help
    if key.has_default and key.default is not None:
        out["default"] = key.default
    return out


def _section_json(section: Section) -> dict:
    out = {"type": "object", "description": section.help,
           "properties": {k.name: _key_json(k) for k in section.keys},
           "additionalProperties": False}
    if section.required:
        out["required"] = list(section.required)
    return out


def _param_json(p, lr_auto: bool) -> dict:
    """A registry hyperparameter (:class:`~optviz.core.optim.registry.Param`)."""
    if p.optimizer:
        return {"$ref": "#/$defs/base", "description": "the wrapped optimizer"}
    if p.choices:
        out: dict[str, Any] = {"enum": list(p.choices)}
    else:
        out = {"type": "integer" if p.integer else "number"}
        if p.minimum is not None:
            out["exclusiveMinimum" if p.exclusive_minimum else "minimum"] = p.minimum
        if p.maximum is not None:
            out["exclusiveMaximum" if p.exclusive_maximum else "maximum"] = p.maximum
        alternatives = [out]
        if lr_auto:
            alternatives.append({"const": "auto", "description": "chosen by a grid search"})
            alternatives.append({"$ref": "#/$defs/tune_range"})
        if p.none:
            alternatives.append({"type": "null", "description": p.none})
        if len(alternatives) > 1:
            out = {"anyOf": alternatives}
    out["description"] = p.describe()
    if p.default is not None:
        out["default"] = p.default
    return out


def _optimizer_json(specs: Mapping, entry: bool) -> dict:
    """One optimizer mapping: a run's entry (*entry*: labels, noise flags, tuned ranges,
    lr: auto) or a wrapper's base (plain values)."""
    names = list(specs)
    branches = []
    for name, spec in specs.items():
        if spec.resolve is not None:  # type torch: the class's own keyword arguments
            then = {"required": ["class"], "properties": {
                "class": {"type": "string", "description": "a torch.optim class, e.g. "
                          "torch.optim.ASGD"}}}
            branches.append({"if": {"properties": {"type": {"const": name}}}, "then": then})
            continue
        props: dict[str, Any] = {"type": {"const": name}}
        common = ENTRY.keys if entry else (ENTRY["type"], ENTRY["schedule"])
        for key in common:
            if key.name != "type" and (key.name != "schedule" or spec.schedulable):
                props[key.name] = _key_json(key)
        params = {}
        for conventions in CONVENTIONS:
            for p in spec.param_specs(conventions):
                params.setdefault(p.name, p)
        for p in params.values():
            props[p.name] = _param_json(p, entry and not p.choices and not p.optimizer)
        for alias, target in spec.aliases.items():
            if target in params:
                props[alias] = {**_param_json(params[target], entry), "description":
                                f"{alias}: another name for {target}"}
        branches.append({"if": {"properties": {"type": {"const": name}}},
                         "then": {"properties": props, "additionalProperties": False}})
    return {"type": "object", "required": ["type"],
            "properties": {"type": {"enum": names, "description": ENTRY["type"].help}},
            "allOf": branches}


def _schedule_json() -> dict:
    from optviz.core.optim.schedules import _REQ, SCHEDULES, TORCH_NAMES

    kinds = {"pos_int": {"type": "integer", "exclusiveMinimum": 0},
             "int_list": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0}},
             "pos": {"type": "number", "exclusiveMinimum": 0},
             "nonneg": {"type": "number", "minimum": 0},
             "unit_closed": {"type": "number", "minimum": 0, "maximum": 1},
             "factor_start": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
             "factor_end": {"type": "number", "minimum": 0, "maximum": 1},
             "anneal": {"enum": ["cos", "linear"]},
             "bool": {"type": "boolean"},
             "schedules": {"type": "array", "minItems": 1,
                           "items": {"$ref": "#/$defs/schedule"}}}
    branches = []
    for kind, table in SCHEDULES.items():
        props: dict[str, Any] = {"type": {"const": kind}}
        for name, (default, check) in table.items():
            props[name] = dict(kinds[check])
            if default is not _REQ:
                props[name]["default"] = default
        branches.append({"if": {"properties": {"type": {"const": kind}}},
                         "then": {"properties": props, "additionalProperties": False,
                                  "required": [n for n, (d, _) in table.items() if d is _REQ],
                                  "description": f"torch's {TORCH_NAMES[kind]}"}})
    return {"type": "object", "required": ["type"],
            "properties": {"type": {"enum": list(SCHEDULES)}}, "allOf": branches}


def json_schema(optimizers: Iterable[str] | None = None) -> dict:
    """The config's JSON Schema (draft 2020-12): a run config or a response config.

    *optimizers*: the optimizer types it knows (default: every registered one,
    plugins included)."""
    from optviz.analysis.response import SIGNALS
    from optviz.core.optim import registry

    if optimizers is None:
        registry.load_plugins()
        optimizers = list(registry.OPTIMIZERS)
    specs = {name: registry.OPTIMIZERS[name] for name in optimizers}
    defs: dict[str, Any] = {
        # items, not prefixItems, where the items are alike: draft-07 readers (older
        # YAML language servers) read it the same
        "point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "box": {"type": "object", "properties": {"x": {"$ref": "#/$defs/point"},
                                                 "y": {"$ref": "#/$defs/point"}},
                "required": ["x", "y"], "additionalProperties": False},
        "tune_range": {"type": "object", "required": ["tune"], "additionalProperties": False,
                       "description": "a tuned hyperparameter: {tune: [lo, hi]} or "
                                      "{tune: [lo, hi, log]}",
                       "properties": {"tune": {
                           "type": "array", "minItems": 2, "maxItems": 3,
                           "prefixItems": [{"type": "number"}, {"type": "number"},
                                           {"enum": ["log", "linear"]}]}}},
        "signal": {"anyOf": [{"enum": list(SIGNALS)},
                             {"type": "string", "pattern": "\\.csv$"}]},
        "schedule": _schedule_json(),
        "optimizer": _optimizer_json(specs, entry=True),
        "optimizer_entry": {"anyOf": [{"enum": list(specs)}, {"$ref": "#/$defs/optimizer"}]},
        "base": {"anyOf": [{"enum": list(specs)}, _optimizer_json(specs, entry=False)]},
    }
    for section in SECTIONS:
        if section not in (RUN, RESPONSE_CONFIG, ENTRY):
            defs[section.name.replace(".", "_").replace(" ", "_")] = _section_json(section)
    run = _section_json(RUN)
    response = _section_json(RESPONSE_CONFIG)
    response["properties"]["render"] = {"allOf": [
        {"$ref": "#/$defs/render"},
        {"properties": {"formats": {"anyOf": [{"enum": list(STATIC_FORMATS)},
                                              {"type": "array",
                                               "items": {"enum": list(STATIC_FORMATS)}}]}}}]}
    defs["run_config"] = run
    defs["response_config"] = response
    return {"$schema": DIALECT, "title": "optviz config",
            "description": "An optviz run config (surface, start, optimizers) or response "
                           "config (response: ...). Generated by `optviz schema`.",
            "if": {"type": "object", "required": ["response"]},
            "then": {"$ref": "#/$defs/response_config"},
            "else": {"$ref": "#/$defs/run_config"},
            "$defs": defs}


def json_text(optimizers: Iterable[str] | None = None) -> str:
    """:func:`json_schema` as strict JSON text (no NaN or Infinity), ending in a newline."""
    return json.dumps(json_schema(optimizers), indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"


def write(text: str, path) -> None:
    """Write *text* to *path* whole or not at all (a temporary file, then renamed)."""
    import os
    import tempfile
    from pathlib import Path

    from optviz.errors import ConfigError

    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise ConfigError(f"cannot write {path}: {e.strerror or e}",
                          hint="give a file in a folder that exists and is writable") from None


# ----------------------------------------------------------------- the docs table
def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _default_text(key: Key) -> str:
    if key.required:
        return "required"
    if key.has_default and key.default is not None:
        if key.type == "section":
            return ""
        return f"`{json.dumps(key.default, ensure_ascii=False)}`"
    return key.derived


def markdown() -> str:
    """The reference table of every config key (``docs/config-reference.md``), with
    the built-in optimizers' hyperparameters and the schedules."""
    from optviz.core.optim import registry
    from optviz.core.optim.schedules import _REQ, SCHEDULES, TORCH_NAMES

    lines = ["# Config reference", "",
             "Generated from `optviz/input/schema.py` by `optviz schema --markdown`; do not "
             "edit by hand (a test checks that this file equals the generated one). "
             "`optviz schema` prints the same facts as a JSON Schema for editors.", ""]
    for section in SECTIONS:
        title = "top level" if section is RUN else section.name
        lines += [f"## {title}", "", section.help[0].upper() + section.help[1:] + ".", "",
                  "| key | type | default | allowed | description |",
                  "|---|---|---|---|---|"]
        for k in section.keys:
            kind = k.keys.name if k.type == "section" else k.shape or k.type
            lines.append(f"| `{k.name}` | {_cell(kind)} | {_cell(_default_text(k))} | "
                         f"{_cell(k.range_text())} | {_cell(k.help)} |")
        lines.append("")
    lines += ["## optimizers", "",
              "Each optimizer entry takes the keys above (`type`, `label`, `noisy`, "
              "`schedule`) and its own hyperparameters, from the optimizer registry "
              "(`optviz describe TYPE` says more). A number may also be a tuned range "
              "`{tune: [lo, hi]}` or `{tune: [lo, hi, log]}`; `lr` may be `auto`.", "",
              "| type | hyperparameters (torch conventions) | lasagne conventions |",
              "|---|---|---|"]
    for name in sorted(registry.BUILTIN):
        spec = registry.OPTIMIZERS[name]
        torch = ", ".join(p.describe() for p in spec.param_specs("torch")) or spec.summary
        lasagne = "same" if spec.lasagne_params is None else \
            ", ".join(p.describe() for p in spec.param_specs("lasagne"))
        lines.append(f"| `{name}` | {_cell(torch)} | {_cell(lasagne)} |")
    lines += ["", "## schedules", "",
              "`schedule: {type: ..., ...}` with torch.optim.lr_scheduler's names.", "",
              "| type | torch | parameters |", "|---|---|---|"]
    for kind, table in SCHEDULES.items():
        params = ", ".join(n if d is _REQ else f"{n}={d:g}" if isinstance(d, float)
                           and not isinstance(d, bool) else f"{n}={d}"
                           for n, (d, _) in table.items())
        lines.append(f"| `{kind}` | {TORCH_NAMES[kind]} | {_cell(params)} |")
    return "\n".join(lines) + "\n"
