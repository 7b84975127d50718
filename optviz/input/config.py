"""Run configs: YAML in, validated frozen dataclasses out.

``yaml.safe_load`` semantics (through :mod:`optviz.input.yamldoc`, which also keeps
line numbers), every default filled in, and every mistake reported as one
:class:`~optviz.errors.ConfigError` naming the file, the line and the key,
with a did-you-mean suggestion where a near name exists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optviz.core.surfaces import Surface, load_surface
from optviz.errors import ConfigError, did_you_mean
from optviz.input import library
from optviz.input.schema import (CAMERA, CONVENTIONS, ENTRY, FORMATS, NOISE, OVER, RENDER,
                                 RESPONSE, RESPONSE_CONFIG, RESPONSE_CONVENTIONS, RUN, STARTS,
                                 STATIC_FORMATS, TUNE, TUNE_OBJECTIVES, WEB, Key, Section,
                                 number_text)
from optviz.input import models as model_input
from optviz.input.text import MATH_HINT, clean_text, lone_surrogate, mathtext_problem
from optviz.input.yamldoc import Document, load_document, parse_document

if TYPE_CHECKING:
    from optviz.core.engine import Noise

# every key, default, range and choice comes from the schema (optviz/input/schema.py)
VIEW_BOXES = RENDER["view_box"].choices
SVG_TEXT = RENDER["svg_text"].choices
MIN_PIXELS = 100  # a side; below it the scaled fonts fall under one pixel (FreeType fails)


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer of a run: its type, unique label and every hyperparameter."""

    type: str
    label: str
    hyperparams: tuple[tuple[str, Any], ...]
    auto_lr: bool = False  # ``lr: auto``: chosen by a batched grid search before the run
    noisy: bool = True  # False: this optimizer gets exact gradients in a noisy run
    tune: tuple["TuneAxis", ...] = ()  # hyperparameters searched by the tuning protocol
    custom_label: bool = False  # the config gave the label

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.hyperparams)


@dataclass(frozen=True)
class RenderConfig:
    """The ``render:`` block; what each field means and its default: schema.RENDER."""

    formats: tuple[str, ...] = RENDER.default("formats")
    fps: int = RENDER.default("fps")
    size: tuple[float, float] = RENDER.default("size")
    dpi: int = RENDER.default("dpi")
    max_frames: int = RENDER.default("max_frames")
    loss_panel: bool = RENDER.default("loss_panel")
    lr_panel: bool = RENDER.default("lr_panel")
    step_panel: bool = RENDER.default("step_panel")
    overlays: tuple[str, ...] = RENDER.default("overlays")
    view: str = RENDER.default("view")
    camera: tuple[float, float, float] = tuple(CAMERA.default(k) for k in CAMERA.names)
    view_box: str = RENDER.default("view_box")
    svg_text: str = RENDER.default("svg_text")
    # a network (D > 2): the plane its paths are drawn on, and each final model's classes
    plane: model_input.PlaneSpec = field(default_factory=model_input.PlaneSpec)
    decision_boundary: bool = RENDER.default("decision_boundary")


@dataclass(frozen=True)
class WebConfig:
    """The interactive web page (``web:`` block): live or not, the sliders' ranges, and
    the grid an optimizer without a JavaScript form is precomputed on. What each
    field means and its default: schema.WEB."""

    live: bool = WEB.default("live")
    lang: str | None = WEB.default("lang")  # None: from the config's text
    lr_values: int = WEB.default("lr_values")
    lr_decades: float = WEB.default("lr_decades")
    main_values: int = WEB.default("main_values")
    main_range: tuple[float, float] = WEB.default("main_range")
    starts: int = WEB.default("starts")
    value_grid: int = WEB.default("value_grid")


@dataclass(frozen=True)
class RunConfig:
    """A fully resolved run: nothing left to default."""

    title: str
    surface: Surface
    start: tuple[float, float]
    steps: int
    conventions: str
    optimizers: tuple[OptimizerConfig, ...]
    render: RenderConfig = field(default_factory=RenderConfig)
    output: Path = Path("output/run")
    file: Path | None = None
    stem: str = "run"
    noise: "Noise | None" = None  # gradient noise: (sigma, seed, kind, df, seeds)
    lesson: str = ""  # one line: what the run teaches (demos)
    starts: "StartsSpec | None" = None  # many starts: a grid or random points
    tune: "TuneSpec | None" = None  # the declared tuning protocol
    web: WebConfig = field(default_factory=WebConfig)
    #: the line of each key in the config's file (for errors found later: the budget)
    lines: Mapping[tuple, int] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (for run.json)."""
        s = self.surface
        return {
            "title": self.title,
            "surface": model_input.surface_dict(s) if hasattr(s, "samples") else
                       {"name": s.name, "title": s.title, "formula": s.formula,
                        "domain": {"x": list(s.domain[0]), "y": list(s.domain[1])},
                        "levels": s.levels if isinstance(s.levels, int) else list(s.levels),
                        "minima": [list(m) for m in s.minima],
                        "path": str(s.path) if s.path else None},
            "start": list(self.start) if len(self.start) == 2 else "the model's init",
            "steps": self.steps,
            "conventions": self.conventions,
            "optimizers": [{"type": o.type, "label": o.label,
                            **{k: _plain(v) for k, v in o.params.items()},
                            **({"lr_auto": True} if o.auto_lr else {}),
                            **({"tune": {a.param: [a.lo, a.hi, "log" if a.log else "linear"]
                                         for a in o.tune}} if o.tune else {}),
                            **({"noisy": False} if not o.noisy else {})}
                           for o in self.optimizers],
            "render": {"formats": list(self.render.formats), "fps": self.render.fps,
                       "size": list(self.render.size), "dpi": self.render.dpi,
                       "max_frames": self.render.max_frames,
                       "loss_panel": self.render.loss_panel,
                       "lr_panel": self.render.lr_panel,
                       "step_panel": self.render.step_panel,
                       "overlays": list(self.render.overlays), "view": self.render.view,
                       "camera": dict(zip(("elev", "azim", "rotate"), self.render.camera)),
                       "view_box": self.render.view_box,
                       "svg_text": self.render.svg_text,
                       **({"plane": self.render.plane.to_dict(),
                           "decision_boundary": self.render.decision_boundary}
                          if model_input.is_network(s) else {})},
            "output": str(self.output),
            "file": str(self.file) if self.file else None,
            "noise": self.noise.to_dict() if self.noise else None,
            "starts": self.starts.to_dict() if self.starts else None,
            "tune": self.tune.to_dict() if self.tune else None,
            "web": {"live": self.web.live, "lang": self.web.lang,
                    "lr_values": self.web.lr_values, "lr_decades": self.web.lr_decades,
                    "main_values": self.web.main_values,
                    "main_range": list(self.web.main_range), "starts": self.web.starts,
                    "value_grid": self.web.value_grid},
        }

    def with_overrides(self, *, steps: int | None = None, formats: Any = None,
                       output: str | Path | None = None) -> "RunConfig":
        """The same run with command-line overrides applied (validated likewise)."""
        doc = Document(file="command line", data={})
        cfg = self
        if steps is not None:
            lines = {k: v for k, v in cfg.lines.items() if k != ("steps",)}
            cfg = replace(cfg, steps=_steps(steps, doc, ("--steps",)),
                          lines={**lines, ("--steps",): 0})
        if formats is not None:
            if isinstance(formats, str):
                formats = [f.strip() for f in formats.split(",") if f.strip()]
            cfg = replace(cfg, render=replace(cfg.render,
                                              formats=_formats(formats, doc, ("--formats",))))
            model_input.check_formats(cfg, doc, ("--formats",))  # a network's: stills
        if output is not None:
            cfg = replace(cfg, output=Path(output))
        return cfg


def _plain(value: Any) -> Any:
    """A hyperparameter as plain data: a schedule as its mapping, also inside a
    wrapper's base optimizer (sam, lookahead)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ResponseConfig:
    """A gradient-response figure set: one optimizer, one varied hyperparameter,
    one figure per signal."""

    title: str
    optimizer: str
    conventions: str
    params: tuple[tuple[str, Any], ...]
    vary: tuple[str, tuple[float, ...]]
    signals: tuple[str, ...]
    render: RenderConfig = field(default_factory=RenderConfig)
    output: Path = Path("output/response")
    file: Path | None = None
    stem: str = "response"
    lines: Mapping[tuple, int] = field(default_factory=dict, compare=False, repr=False)

    def with_overrides(self, *, steps=None, formats=None, output=None) -> "ResponseConfig":
        cfg = self
        if formats is not None:
            if isinstance(formats, str):
                formats = [f.strip() for f in formats.split(",") if f.strip()]
            doc = Document(file="command line", data={})
            fmts = _formats(formats, doc, ("--formats",))
            bad = [f for f in fmts if f not in STATIC_FORMATS]
            if bad:
                raise doc.error("response figures are static: use png, svg or pdf",
                                ("--formats",))
            cfg = replace(cfg, render=replace(cfg.render, formats=fmts))
        if output is not None:
            cfg = replace(cfg, output=Path(output))
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "optimizer": self.optimizer,
                "conventions": self.conventions, "params": dict(self.params),
                "vary": {self.vary[0]: list(self.vary[1])}, "signals": list(self.signals),
                "render": {"formats": list(self.render.formats),
                           "size": list(self.render.size), "dpi": self.render.dpi},
                "output": str(self.output), "file": str(self.file) if self.file else None}



def _response_config(data: Mapping, doc: Document, stem: str) -> ResponseConfig:
    from optviz.core import optim

    _check_keys(data, RESPONSE_CONFIG.names, doc, ())
    at = ("response",)
    spec = data["response"]
    if not isinstance(spec, Mapping):
        raise doc.error("response must be a mapping with optimizer, params, vary", at)
    _check_keys(spec, RESPONSE.names, doc, at)
    kind = spec.get("optimizer")
    conventions = spec.get("conventions", RESPONSE.default("conventions"))
    if conventions not in RESPONSE_CONVENTIONS:
        raise doc.error(f"unknown conventions {conventions!r}; a response config takes one of "
                        + ", ".join(RESPONSE_CONVENTIONS), at + ("conventions",),
                        hint=did_you_mean(str(conventions), RESPONSE_CONVENTIONS))
    if conventions == "script":  # the article's response script's own rules
        from optviz.analysis.response import resolve_script_params as resolve
    else:
        if kind in optim.OPTIMIZERS and optim.needs_oracle(kind):
            raise doc.error(f"{kind} needs a surface and has no gradient response",
                            at + ("optimizer",),
                            hint="conventions: script has the article's look-ahead-in-time "
                                 "Nesterov for nag" if kind == "nag" else None)

        def resolve(kind, given):
            return optim.resolve_hyperparams(kind, given, conventions)
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise doc.error("params must be a mapping such as {lr: 0.25}", at + ("params",))
    vary = spec.get("vary")
    if not isinstance(vary, Mapping) or len(vary) != 1:
        raise doc.error("vary must name one hyperparameter and its values, e.g. "
                        "{momentum: [0.25, 0.9, 0.975]}", at + ("vary",))
    (name, values), = vary.items()
    if not isinstance(values, list) or not values:
        raise doc.error("expected a list of values", at + ("vary", name))
    try:
        resolved = resolve(kind, dict(params))
    except ConfigError as e:
        where = {"type": ("optimizer",), "optimizer": ("optimizer",),
                 "conventions": ("conventions",)}.get(
            e.key, ("params", e.key))
        raise doc.error(e.detail, at + where, hint=e.hint) from None
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise doc.error(f"vary takes numbers, got {v!r}", at + ("vary", name, i),
                            hint="vary a numeric hyperparameter such as momentum or lr")
        try:
            resolve(kind, {**params, name: v})
        except ConfigError as e:
            raise doc.error(e.detail, at + ("vary", name, i), hint=e.hint) from None
    signals = spec.get("signals") or []
    if isinstance(signals, str):
        signals = [signals]
    from optviz.analysis.response import SIGNALS

    for i, sig in enumerate(signals):
        if sig not in SIGNALS and not str(sig).endswith(".csv"):
            raise doc.error(f"unknown signal {sig!r}", at + ("signals", i),
                            hint=did_you_mean(str(sig), SIGNALS)
                            or "signals: " + ", ".join(SIGNALS) + ", or a .csv file")
    render = _render(data.get("render") or {"formats": ["png"]}, doc)
    if not set(render.formats) <= set(STATIC_FORMATS):
        raise doc.error("response figures are static: use png, svg or pdf",
                        ("render", "formats"))
    title = data.get("title", f"{kind}: response to gradient signals")
    if not isinstance(title, str):
        raise doc.error(f"title must be text, got {title!r}", ("title",))
    title = _drawable(title, doc, ("title",), "title")
    file = Path(doc.file) if doc.file and not doc.file.startswith("<") else None
    fixed = {k: v for k, v in resolved.items() if k != name}
    return ResponseConfig(title=str(title), optimizer=kind, conventions=conventions,
                          params=tuple(fixed.items()),
                          vary=(name, tuple(float(v) for v in values)),
                          signals=tuple(signals or SIGNALS), render=render,
                          output=Path(data.get("output", f"output/{stem}")), file=file,
                          stem=stem, lines=doc.lines)


def find_config(spec: str | Path) -> Path:
    """A config path from a path or a shipped name (``default``, ``article/wobbly``)."""
    path = library.find("configs", spec)
    if path is None:
        raise ConfigError(f"config '{spec}' not found: no such file and no shipped config "
                          "of that name",
                          hint=did_you_mean(str(spec), library.names("configs"))
                          or "shipped configs: " + ", ".join(library.names("configs")))
    return path


def which_config(spec: str | Path) -> str | None:
    """One line saying which file a config *name* means, when it could mean two (a
    local ``<name>.yaml`` and a shipped config); None when only one answers to it."""
    pair = library.rivals("configs", spec)
    if pair is None:
        return None
    local, shipped = pair
    chosen = find_config(spec)
    if chosen.resolve() == local.resolve():
        return f"running the local file {local}, not the shipped config '{spec}' of that name"
    try:
        load_document(local, "config file")
        why = "is not a run config (it has no 'optimizers' or 'response')"
    except ConfigError as e:
        why = f"could not be read ({' '.join(e.detail.split())})"
    return f"running the shipped config '{spec}' ({shipped}); {local} {why}"


def load_config(spec: str | Path | Mapping) -> RunConfig:
    """Load and validate a run config from a path, a shipped name or a mapping."""
    if isinstance(spec, Mapping):
        return parse_config(spec)
    path = find_config(spec)
    return config_from_document(load_document(path, "config file"), stem=path.stem,
                                base=path.parent)


def parse_config(source: str | Path | Mapping, file: str | None = None) -> RunConfig:
    """Validate a config given as YAML text, a path (a ``Path``, or one line of
    text ending in .yaml or .yml) or a mapping.

    *file* names the config (its files are ``<stem>.png`` ...). Without it, an
    in-memory config is named from its title as a safe slug: ``title: "Adam vs
    SGD"`` writes ``output/adam-vs-sgd/adam-vs-sgd.png``.
    """
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                    and library.is_path(source.strip())):
        return load_config(Path(str(source).strip()))
    name = file if file is not None else "<config>"
    doc = Document(file=name, data=dict(source)) if isinstance(source, Mapping) else \
        parse_document(source, name)
    if file is not None and not file.startswith("<"):
        return config_from_document(doc, stem=Path(file).stem or "run")
    config = config_from_document(doc, stem="run")
    stem = slug(config.title) or ("response" if isinstance(config, ResponseConfig) else "run")
    named = {"stem": stem}
    if "output" not in doc.data:
        named["output"] = Path(f"output/{stem}")
    return replace(config, **named)


def slug(text: str, limit: int = 60) -> str:
    """*text* as a file name: ASCII lower-case letters, digits and hyphens."""
    import re
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].rstrip("-")


def config_from_document(doc: Document, *, stem: str,
                         base: Path | None = None) -> RunConfig | ResponseConfig:
    from optviz.core import optim

    data = doc.data
    if data is None:
        raise doc.error("the config is empty; expected a mapping with at least 'surface' "
                        "and 'optimizers'")
    if not isinstance(data, Mapping):
        raise doc.error(f"the top level of a config must be a mapping (key: value lines), "
                        f"got a {type(data).__name__}",
                        hint="start with e.g. 'surface: wobbly'")
    if "response" in data:
        return _response_config(data, doc, stem)
    surface_like = "formula" in data and "surface" not in data and "optimizers" not in data
    if surface_like or not any(key in RUN for key in data):
        # no key of a config at all (or a surface file): not a config, so quote none of it
        raise doc.error("this is not a run config: a config is a mapping with at least "
                        "'surface' and 'optimizers' (or 'response')",
                        hint="it looks like a surface file: name it in a config's "
                             "'surface:' key" if surface_like else
                             "run 'optviz list configs' for the shipped ones")
    _check_keys(data, RUN.names, doc, ())
    for key in RUN.required:
        if key not in data:
            raise doc.error(f"the config has no '{key}'", (), hint=_REQUIRED_HINT[key])

    if model_input.is_model(data["surface"]):  # a model on data: input/models.py
        surface, model_start = model_input.load_model(data, doc, base)
    else:
        surface, model_start = _surface(data["surface"], doc, base), None
    conventions = data.get("conventions", RUN.default("conventions"))
    if conventions not in CONVENTIONS:
        raise doc.error(f"unknown conventions {conventions!r}; expected one of "
                        + ", ".join(CONVENTIONS), ("conventions",),
                        hint=did_you_mean(str(conventions), CONVENTIONS))
    if model_start is not None:
        start = model_start
    elif "start" in data:
        start = _point(data["start"], doc, ("start",))
    elif surface.start is not None:
        start = surface.start
    else:
        raise doc.error("no start point: the surface suggests none, so the config needs "
                        "one", ("surface",), hint="add e.g. 'start: [-2, 2]'")
    steps = _steps(data.get("steps", RUN.default("steps")), doc, ("steps",))
    optimizers = _optimizers(data["optimizers"], conventions, doc, optim)
    render = _render(data.get("render") or {}, doc)
    network_formats = model_input.default_formats(data, surface)  # a network: png
    if network_formats:
        render = replace(render, formats=network_formats)
    output = data.get("output", f"output/{stem}")
    if not isinstance(output, str) or not output.strip() or "\0" in output:
        raise doc.error("output must be a folder path (text without NUL characters)",
                        ("output",))
    title = data.get("title", surface.title)
    if not isinstance(title, str):
        raise doc.error(f"title must be text, got {title!r}", ("title",))
    title = _drawable(title, doc, ("title",) if "title" in data else ("surface",), "title")
    file = Path(doc.file) if doc.file and not doc.file.startswith("<") else None
    noise = _noise(data["noise"], doc) if data.get("noise") is not None else None
    starts = _starts(data["starts"], doc, surface) if data.get("starts") is not None else None
    tune = _tune(data["tune"], doc, surface) if data.get("tune") is not None else None
    if tune is None and any(o.tune and not o.auto_lr for o in optimizers):
        tune = TuneSpec()
    tune = model_input.tune(tune, data, surface)  # a network's default objective
    if tune is not None and tune.needs_minimum and surface.minimum_value is None:
        raise doc.error(f"the objective {tune.objective} needs the surface's minimum value, "
                        f"which surface '{surface.name}' does not state", ("tune", "objective"),
                        hint="use objective: final_loss or mean_loss, or add minimum_value "
                             "to the surface")
    lesson = data.get("lesson", RUN.default("lesson"))
    if not isinstance(lesson, str):
        raise doc.error("lesson must be one line of text", ("lesson",))
    lesson = _drawable(lesson, doc, ("lesson",), "lesson")
    web = _web(data["web"], doc) if data.get("web") is not None else WebConfig()
    config = RunConfig(title=title, surface=surface, start=start, steps=steps,
                       conventions=conventions, optimizers=optimizers, render=render,
                       output=Path(output), file=file, stem=stem, noise=noise, lesson=lesson,
                       starts=starts, tune=tune, web=web, lines=doc.lines)
    model_input.check(config, doc, data)  # models on data: input/models.py
    return config


def _web(data: Any, doc: Document) -> WebConfig:
    at = ("web",)
    if not isinstance(data, Mapping):
        raise doc.error("web must be a mapping such as {lr_values: 7, starts: 6}", at)
    _check_keys(data, WEB.names, doc, at)
    d = WebConfig()
    live = _flag(WEB, "live", data, doc, at, hint="live: false precomputes every path on the "
                 "grid")
    lang = data.get("lang", d.lang)
    if lang is not None and (not isinstance(lang, str)
                             or not re.fullmatch(WEB["lang"].json["pattern"], lang)):
        raise doc.error(f"lang must be a language tag such as en, ru or pt-BR, got {lang!r}",
                        at + ("lang",), hint="leave it out to take it from the config's text")
    lr_values, main_values, starts, value_grid = (
        _whole(WEB, key, data, doc, at)
        for key in ("lr_values", "main_values", "starts", "value_grid"))
    decades = _number(data.get("lr_decades", d.lr_decades), doc, at + ("lr_decades",))
    lim = WEB["lr_decades"]
    if not lim.minimum < decades <= lim.maximum:
        raise doc.error(f"lr_decades must be above {lim.minimum:g} and at most "
                        f"{lim.maximum:g}, got {decades:g}",
                        at + ("lr_decades",), hint="e.g. lr_decades: 1.5 (lr/30 .. lr*30)")
    lo, hi = d.main_range
    if "main_range" in data:
        lo, hi = _point(data["main_range"], doc, at + ("main_range",))
        if not WEB["main_range"].minimum <= lo < hi < WEB["main_range"].maximum:
            raise doc.error(f"main_range must be [lo, hi] with 0 <= lo < hi < 1, got "
                            f"[{lo:g}, {hi:g}]", at + ("main_range",),
                            hint="e.g. main_range: [0, 0.99]")
    return WebConfig(live=live, lang=lang, lr_values=lr_values, lr_decades=decades, main_values=main_values,
                     main_range=(lo, hi), starts=starts, value_grid=value_grid)


def _noise(data: Any, doc: Document) -> "Noise":
    from optviz.core.engine import NOISE_KINDS, Noise

    at = ("noise",)
    if not isinstance(data, Mapping):
        raise doc.error("noise must be a mapping such as {sigma: 0.5, seed: 1}", at)
    if data.get("kind") == "minibatch":  # a model's sampling noise: input/models.py
        return model_input.minibatch(data, doc)
    kind = data.get("kind", NOISE.default("kind"))  # first: the kind decides which keys belong
    if kind not in NOISE_KINDS:
        kinds = (*NOISE_KINDS, "minibatch")
        raise doc.error(f"unknown noise kind {kind!r}; expected one of " + ", ".join(kinds),
                        at + ("kind",), hint=did_you_mean(str(kind), kinds))
    _check_keys(data, tuple(n for n in NOISE.names if n != "batch_size"), doc, at)
    sigma = _number(data.get("sigma", NOISE.default("sigma")), doc, at + ("sigma",))
    if sigma < NOISE["sigma"].minimum:
        raise doc.error(f"sigma must be >= {NOISE['sigma'].minimum:g}, got {sigma:g}",
                        at + ("sigma",))
    if sigma > NOISE["sigma"].maximum:
        raise doc.error(f"sigma must be at most {number_text(NOISE['sigma'].maximum)}, "
                        f"got {sigma:g}",
                        at + ("sigma",), hint="gradient noise beyond that only overflows")
    seed = _whole(NOISE, "seed", data, doc, at)
    df = math.inf
    if kind == "student_t":
        if "df" not in data:
            raise doc.error("student_t noise needs df, its degrees of freedom", at,
                            hint="e.g. noise: {kind: student_t, df: 3, sigma: 0.5}")
        df = _number(data["df"], doc, at + ("df",))
        if df <= 0:
            raise doc.error(f"df must be > 0, got {df:g}", at + ("df",))
    elif "df" in data:
        raise doc.error("df applies to kind: student_t only", at + ("df",))
    seeds = _whole(NOISE, "seeds", data, doc, at)
    return Noise(sigma, seed, kind, df, seeds)


@dataclass(frozen=True)
class StartsSpec:
    """Many start points: a ``grid`` x ``grid`` lattice of cell centres, or ``random``
    points (seeded ``seed``), over the domain or a ``box``."""

    grid: int = 0
    random: int = 0
    seed: int = 0
    box: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def count(self) -> int:
        return self.grid ** 2 if self.grid else self.random

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"grid": self.grid} if self.grid else {"random": self.random,
                                                                      "seed": self.seed}
        if self.box:
            out["box"] = {"x": list(self.box[0]), "y": list(self.box[1])}
        return out


def _starts(data: Any, doc: Document, surface) -> StartsSpec:
    at = ("starts",)
    example = "e.g. starts: {grid: 7} or starts: {random: 50, seed: 1}"
    if not isinstance(data, Mapping):
        raise doc.error("starts must be a mapping", at, hint=example)
    _check_keys(data, STARTS.names, doc, at)
    if ("grid" in data) == ("random" in data):
        raise doc.error("starts needs exactly one of grid or random", at, hint=example)
    grid = _whole(STARTS, "grid", data, doc, at) if "grid" in data else 0
    rnd = _whole(STARTS, "random", data, doc, at) if "random" in data else 0
    if "seed" in data and not rnd:
        raise doc.error("seed applies to random starts only", at + ("seed",))
    seed = _whole(STARTS, "seed", data, doc, at)
    box = None
    if "box" in data:
        b = data["box"]
        if not isinstance(b, Mapping) or set(b) != {"x", "y"}:
            raise doc.error("box must be a mapping with x and y ranges", at + ("box",),
                            hint="e.g. box: {x: [-2, 2], y: [-1, 3]}")
        box = tuple(_point(b[a], doc, at + ("box", a)) for a in ("x", "y"))
        for a, (lo, hi) in zip("xy", box):
            if not lo < hi:
                raise doc.error(f"the box's {a} range is empty", at + ("box", a))
    return StartsSpec(grid=grid, random=rnd, seed=seed, box=box)


@dataclass(frozen=True)
class TuneAxis:
    """One tuned hyperparameter: searched over [lo, hi], log-spaced if *log*."""

    param: str
    lo: float
    hi: float
    log: bool = False


#: ``lr: auto``: the shorthand for tuning lr alone over 200 log-spaced values in
#: 1e-5 .. 10 by the final loss from the run's own start (AUTO_TUNE).
AUTO_LR = TuneAxis("lr", 1e-5, 10.0, log=True)


@dataclass(frozen=True)
class TuneSpec:
    """The declared tuning protocol: every tuned optimizer gets the same *budget* of
    grid points and the same *objective*, aggregated (median, or the worst with
    *worst*) over *starts* start points and *seeds* noise seeds."""

    objective: str = TUNE.default("objective")
    tol: float = TUNE.default("tol")
    starts: int = OVER.default("starts")
    seeds: int = OVER.default("seeds")
    worst: bool = OVER.default("worst")
    budget: int = TUNE.default("budget")

    @property
    def needs_minimum(self) -> bool:
        return self.objective in ("final_gap", "steps_to_tol")

    def to_dict(self) -> dict[str, Any]:
        return {"objective": self.objective, "tol": self.tol,
                "over": {"starts": self.starts, "seeds": self.seeds, "worst": self.worst},
                "budget": self.budget}


AUTO_TUNE = TuneSpec(objective="final_loss", starts=1, seeds=1, budget=200)


def auto_lr_text() -> str:
    """What ``lr: auto`` does, in words: "best final loss of 200 learning rates, 1e-05 .. 10"."""
    return (f"best {AUTO_TUNE.objective.replace('_', ' ')} of {AUTO_TUNE.budget} learning "
            f"rates, {AUTO_LR.lo:g} .. {AUTO_LR.hi:g}".replace("e-0", "e-"))


def _tune(data: Any, doc: Document, surface) -> TuneSpec:
    at = ("tune",)
    if not isinstance(data, Mapping):
        raise doc.error("tune must be a mapping", at,
                        hint="e.g. tune: {objective: final_gap, over: {starts: 9, seeds: 5}, "
                             "budget: 400}")
    _check_keys(data, TUNE.names, doc, at)
    default = TuneSpec()
    objective = data.get("objective", default.objective)
    if objective not in TUNE_OBJECTIVES:
        raise doc.error(f"unknown objective {objective!r}; expected one of "
                        + ", ".join(TUNE_OBJECTIVES), at + ("objective",),
                        hint=did_you_mean(str(objective), TUNE_OBJECTIVES))
    tol = _number(data.get("tol", default.tol), doc, at + ("tol",))
    if tol <= TUNE["tol"].minimum:
        raise doc.error(f"tol must be > 0, got {tol:g}", at + ("tol",))
    over = data.get("over") or {}
    if not isinstance(over, Mapping):
        raise doc.error("over must be a mapping such as {starts: 9, seeds: 5}", at + ("over",))
    _check_keys(over, OVER.names, doc, at + ("over",))
    starts = _whole(OVER, "starts", over, doc, at + ("over",))
    seeds = _whole(OVER, "seeds", over, doc, at + ("over",))
    worst = _flag(OVER, "worst", over, doc, at + ("over",))
    budget = _whole(TUNE, "budget", data, doc, at)
    return TuneSpec(objective, tol, starts, seeds, worst, budget)


def _a_parameter(kind: Any, key: str, conventions: str, doc: Document, at: tuple,
                 optim) -> None:
    """Refuse a tuned range for a key that is not one of *kind*'s hyperparameters, as
    the key itself (``tune: {k: ...}`` is not a range of a parameter called tune)."""
    try:
        spec = optim.get_spec(kind)
    except Exception:  # an unknown type is refused where the type is checked
        return
    if spec.resolve is not None:  # type torch: the class's own arguments
        return
    names = [p.name for p in spec.param_specs(conventions)] + list(spec.aliases)
    if key not in names:
        raise doc.error(f"{kind} has no parameter '{key}'", at,
                        hint=did_you_mean(key, names) or "it takes: " + ", ".join(names)
                        + "; tune one as <parameter>: {tune: [lo, hi]}")


def _tune_axis(value: Any, doc: Document, at: tuple, param: str) -> TuneAxis:
    example = f"e.g. {param}: {{tune: [1.0e-4, 1.0, log]}}"
    spec = value.get("tune") if isinstance(value, Mapping) and set(value) == {"tune"} else None
    if not isinstance(spec, list) or len(spec) not in (2, 3):
        raise doc.error(f"{param} must be a number or {{tune: [lo, hi]}} / {{tune: [lo, hi, "
                        "log]}", at, hint=example)
    lo = _number(spec[0], doc, at + ("tune",))
    hi = _number(spec[1], doc, at + ("tune",))
    log = len(spec) == 3 and spec[2] == "log"
    if len(spec) == 3 and spec[2] not in ("log", "linear"):
        raise doc.error(f"the third entry of tune is log or linear, got {spec[2]!r}",
                        at + ("tune",), hint=example)
    if not lo < hi:
        raise doc.error(f"the tune range [{lo:g}, {hi:g}] is empty: lo must be below hi",
                        at + ("tune",), hint=example)
    if log and lo <= 0:
        raise doc.error("a log range must be positive", at + ("tune",), hint=example)
    return TuneAxis(param, lo, hi, log)


_REQUIRED_HINT = {
    "surface": "e.g. 'surface: wobbly'; run 'optviz list surfaces' for the names",
    "optimizers": "e.g. 'optimizers: [{type: adam, lr: 0.1}]'",
}


def _check_keys(data: Mapping, allowed: tuple[str, ...], doc: Document, at: tuple) -> None:
    for key in data:
        if key not in allowed:
            raise doc.error(f"unknown key '{key}'", at + (key,),
                            hint=did_you_mean(str(key), allowed)
                            or "allowed keys: " + ", ".join(allowed))


def _surface(spec: Any, doc: Document, base: Path | None) -> Surface:
    at = ("surface",)
    try:
        if isinstance(spec, Mapping):
            return load_surface(spec, doc=doc, at=at)
        return load_surface(spec, base=base)
    except ConfigError as e:
        if e.file and e.file != doc.file:  # an error inside a surface file names that file
            used = f"used by {doc.file}, line {doc.line(at)}, key 'surface'"
            raise ConfigError(e.detail, file=e.file, line=e.line, key=e.key,
                              hint=f"{e.hint}; {used}" if e.hint else used) from None
        raise doc.locate(e, at) if not e.file else e from None


def _drawable(text: str, doc: Document, at: tuple, what: str) -> str:
    """*text* to be drawn, without control characters or escape sequences (line breaks
    kept: :func:`~optviz.input.text.clean_text`); text that matplotlib would fail to
    typeset (bad mathtext between $ signs) is refused."""
    text = clean_text(text)
    if lone_surrogate(text):  # from a dict given in Python (the YAML reader refuses it)
        raise doc.error(f"{what} holds a lone surrogate, which is not a character", at,
                        hint="write the character itself")
    problem = mathtext_problem(text)
    if problem:
        raise doc.error(f"{what} '{text}' has math matplotlib cannot typeset: {problem}",
                        at, hint=MATH_HINT)
    return text


def _number(value: Any, doc: Document, at: tuple) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise doc.error(f"expected a finite number, got {value!r}", at)
    return float(value)


def _point(value: Any, doc: Document, at: tuple) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise doc.error(f"expected a point [x, y], got {value!r}", at,
                        hint="e.g. start: [-2.8, -2.5]")
    return _number(value[0], doc, at), _number(value[1], doc, at)


def _int(value: Any, doc: Document, at: tuple, lo: int, hi: int, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(f"{what} must be a whole number, got {value!r}", at)
    if not lo <= value <= hi:
        raise doc.error(f"{what} must be between {lo} and {hi:,}, got {value:,}", at)
    return value


def _whole(section: Section, name: str, data: Mapping, doc: Document, at: tuple) -> int:
    """The whole number *data[name]* (else the schema's default) in the schema's range."""
    key: Key = section[name]
    value = data[name] if name in data else key.default
    return _int(value, doc, at + (name,), key.minimum, key.maximum, name)


def _flag(section: Section, name: str, data: Mapping, doc: Document, at: tuple,
          hint: str | None = None) -> bool:
    """The boolean *data[name]* (else the schema's default)."""
    value = data.get(name, section.default(name))
    if not isinstance(value, bool):
        raise doc.error(f"{name} must be true or false, got {value!r}", at + (name,), hint=hint)
    return value


def _steps(value: Any, doc: Document, at: tuple) -> int:
    return _int(value, doc, at, RUN["steps"].minimum, RUN["steps"].maximum, "steps")


def _formats(value: Any, doc: Document, at: tuple) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise doc.error("formats must be a list such as [png, gif, mp4]", at)
    out = []
    for i, fmt in enumerate(value):
        fmt_at = at + (i,) if at and not str(at[0]).startswith("--") else at
        if not isinstance(fmt, str) or fmt.lower().lstrip(".") not in FORMATS:
            raise doc.error(f"unknown format {fmt!r}; expected any of " + ", ".join(FORMATS),
                            fmt_at, hint=did_you_mean(str(fmt).lower(), FORMATS))
        fmt = fmt.lower().lstrip(".")
        if fmt not in out:
            out.append(fmt)
    return tuple(out)


def _render(data: Any, doc: Document) -> RenderConfig:
    at = ("render",)
    if not isinstance(data, Mapping):
        raise doc.error("render must be a mapping, e.g. {formats: [png, gif], fps: 10}", at)
    _check_keys(data, RENDER.names, doc, at)
    default = RenderConfig()
    formats = _formats(data["formats"], doc, at + ("formats",)) if "formats" in data \
        else default.formats
    fps, dpi, max_frames = (_whole(RENDER, key, data, doc, at)
                            for key in ("fps", "dpi", "max_frames"))
    size = default.size
    if "size" in data:
        w, h = _point(data["size"], doc, at + ("size",))
        lo, hi = RENDER["size"].minimum, RENDER["size"].maximum
        if not (lo <= w <= hi and lo <= h <= hi):
            raise doc.error(f"size is in inches and must be between {lo} and {hi}, got "
                            f"[{w:g}, {h:g}]", at + ("size",), hint="e.g. size: [12, 8]")
        if w * dpi > 8000 or h * dpi > 8000:
            raise doc.error(f"size x dpi gives {w * dpi:.0f} x {h * dpi:.0f} pixels; the "
                            "limit is 8000 a side", at + ("size",))
        size = (w, h)
    if min(size) * dpi < MIN_PIXELS:
        w, h = size
        raise doc.error(f"size x dpi gives {w * dpi:.0f} x {h * dpi:.0f} pixels; a figure "
                        f"needs at least {MIN_PIXELS} a side for its text to be drawn",
                        at + ("size" if "size" in data else "dpi",),
                        hint=f"raise dpi to {-(-MIN_PIXELS // min(size)):.0f} or enlarge size")
    loss_panel, lr_panel, step_panel = (_flag(RENDER, key, data, doc, at)
                                        for key in ("loss_panel", "lr_panel", "step_panel"))
    overlays = data.get("overlays", list(default.overlays))
    KINDS = RENDER["overlays"].choices

    if isinstance(overlays, str):
        overlays = [overlays]
    if not isinstance(overlays, list):
        raise doc.error("overlays must be a list such as [gradient, step, momentum]",
                        at + ("overlays",))
    for i, kind in enumerate(overlays):
        if kind not in KINDS:
            raise doc.error(f"unknown overlay {kind!r}; expected any of " + ", ".join(KINDS),
                            at + ("overlays", i), hint=did_you_mean(str(kind), KINDS))
    view = data.get("view", default.view)
    if view not in RENDER["view"].choices:
        raise doc.error(f"view must be 2d or 3d, got {view!r}", at + ("view",))
    if view == "3d" and (loss_panel or overlays):
        raise doc.error("the 3-D view has no loss panel or overlays (yet); drop them or use "
                        "view: 2d", at + ("view",))
    camera = default.camera
    if "camera" in data:
        cam = data["camera"]
        if not isinstance(cam, Mapping):
            raise doc.error("camera must be a mapping such as {elev: 35, azim: -60, rotate: 1}",
                            at + ("camera",))
        _check_keys(cam, CAMERA.names, doc, at + ("camera",))
        camera = tuple(_number(cam.get(key, d), doc, at + ("camera", key))
                       for key, d in zip(CAMERA.names, default.camera))
    view_box = data.get("view_box", default.view_box)
    if view_box not in VIEW_BOXES:
        raise doc.error(f"view_box must be one of {', '.join(VIEW_BOXES)}, got {view_box!r}",
                        at + ("view_box",), hint=did_you_mean(str(view_box), VIEW_BOXES)
                        or "domain: the surface's domain; paths: grown to hold the paths")
    svg_text = data.get("svg_text", default.svg_text)
    if svg_text not in SVG_TEXT:
        raise doc.error(f"svg_text must be one of {', '.join(SVG_TEXT)}, got {svg_text!r}",
                        at + ("svg_text",), hint=did_you_mean(str(svg_text), SVG_TEXT)
                        or "text: text naming its fonts; paths: outlines, no fonts needed")
    plane = model_input.plane(data["plane"], doc) if "plane" in data \
        else default.plane
    boundary = data.get("decision_boundary", default.decision_boundary)
    if not isinstance(boundary, bool):
        raise doc.error(f"decision_boundary must be true or false, got {boundary!r}",
                        at + ("decision_boundary",))
    return RenderConfig(formats=formats, fps=fps, size=size, dpi=dpi, max_frames=max_frames,
                        loss_panel=loss_panel, overlays=tuple(dict.fromkeys(overlays)),
                        view=view, camera=camera, lr_panel=lr_panel, step_panel=step_panel,
                        view_box=view_box, svg_text=svg_text, plane=plane,
                        decision_boundary=boundary)


def _optimizers(data: Any, conventions: str, doc: Document, optim) -> tuple[OptimizerConfig, ...]:
    at = ("optimizers",)
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list) or not data:
        raise doc.error("optimizers must be a non-empty list", at,
                        hint="e.g. optimizers: [{type: adam, lr: 0.1}, {type: sgd, lr: 0.01}]")
    out: list[OptimizerConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data):
        item_at = at + (i,)
        if isinstance(item, str):
            item = {"type": item}
        if not isinstance(item, Mapping):
            raise doc.error(f"each optimizer must be a mapping with a 'type', got {item!r}",
                            item_at, hint="e.g. {type: adam, lr: 0.1}")
        if "type" not in item:
            raise doc.error("this optimizer has no 'type'", item_at,
                            hint="types: " + ", ".join(optim.OPTIMIZERS))
        given = {k: v for k, v in item.items() if k not in ENTRY.names or k == "schedule"}
        noisy = _flag(ENTRY, "noisy", item, doc, item_at)
        auto_lr = given.get("lr") == "auto"
        if auto_lr:
            del given["lr"]
        if given.get("schedule") is not None:
            from optviz.core.optim.schedules import ScheduleError, parse_schedule

            try:
                given["schedule"] = parse_schedule(given["schedule"])
            except ScheduleError as e:
                raise doc.error(e.detail, item_at + e.path, hint=e.hint) from None
        if "base" in given:  # sam / lookahead: a nested optimizer, not a tuned range
            given["base"] = _base_optimizer(given["base"], conventions, doc, item_at + ("base",),
                                            optim)
        # every other mapping is a tuned range (the schedule is parsed above)
        axes = [AUTO_LR] if auto_lr else []
        for key in [k for k, v in given.items() if isinstance(v, Mapping) and k != "base"]:
            _a_parameter(item["type"], str(key), conventions, doc, item_at + (key,), optim)
            axes.append(_tune_axis(given.pop(key), doc, item_at + (key,), str(key)))
        if "base" in given and any(a.param == "lr" for a in axes):
            raise doc.error(f"{item['type']} has no lr of its own to tune or set to auto",
                            item_at + ("lr",), hint="tune the base's lr in a run of the base "
                            "optimizer alone, then give it: base: {type: sgd, lr: 0.1}")
        try:
            params = optim.resolve_hyperparams(item["type"], given, conventions)
            for axis in axes:  # the ends of every tuned range must be valid values
                for end in (axis.lo, axis.hi):
                    optim.resolve_hyperparams(item["type"], {**given, axis.param: end},
                                              conventions)
        except ConfigError as e:
            raise doc.locate(e, item_at) from None
        for axis in axes:  # and so must the values between them (not so a whole number's)
            inside = axis.lo + (axis.hi - axis.lo) * 0.382  # no whole number for whole ends
            try:
                optim.resolve_hyperparams(item["type"], {**given, axis.param: inside},
                                          conventions)
            except ConfigError as e:
                raise doc.error(f"{axis.param} cannot be tuned: the values between "
                                f"{axis.lo:g} and {axis.hi:g} are not all valid ({e.detail})",
                                item_at + (axis.param,),
                                hint=f"give {axis.param} one value, e.g. "
                                     f"{axis.param}: {axis.lo:g}, and tune the others") from None
        label = item.get("label")
        if label is None:
            label = optim.default_label(item["type"], params, conventions)
            if auto_lr:
                label += " lr=auto"
            elif axes:
                label += " " + " ".join(f"{a.param}=tuned" for a in axes)
        else:
            if isinstance(label, str):
                label = _drawable(label, doc, item_at + ("label",), "the label")
            if not isinstance(label, str) or not label.strip():
                raise doc.error("label must be non-empty text", item_at + ("label",))
        if label in seen:
            raise doc.error(f"the label '{label}' is used twice (also optimizers[{seen[label]}])",
                            item_at + (("label",) if "label" in item else ()),
                            hint="labels must be unique in a run: give one a 'label'")
        seen[label] = i
        out.append(OptimizerConfig(type=item["type"], label=label,
                                   hyperparams=tuple(params.items()), auto_lr=auto_lr,
                                   noisy=noisy, tune=tuple(axes),
                                   custom_label="label" in item))
    return tuple(out)


def _base_optimizer(spec: Any, conventions: str, doc: Document, at: tuple, optim) -> dict:
    """A wrapper's nested ``base:`` (sam, lookahead): a type name or a mapping
    ``{type: ..., hyperparameters}``, resolved, with errors located inside it."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise doc.error(f"base must be an optimizer mapping with a 'type', got {spec!r}", at,
                        hint="e.g. base: {type: sgd, lr: 0.1}")
    given = {k: v for k, v in spec.items() if k != "type"}
    if given.get("schedule") is not None:
        from optviz.core.optim.schedules import ScheduleError, parse_schedule

        try:
            given["schedule"] = parse_schedule(given["schedule"])
        except ScheduleError as e:
            raise doc.error(e.detail, at + e.path, hint=e.hint) from None
    if "base" in given:  # a wrapper around a wrapper
        given["base"] = _base_optimizer(given["base"], conventions, doc, at + ("base",), optim)
    for key, value in given.items():
        if isinstance(value, Mapping) and key != "base" or value == "auto":
            raise doc.error("a base optimizer's hyperparameters are plain values (no tuned "
                            "ranges, no auto)", at + (key,),
                            hint="tune the base optimizer alone, then give its values here")
    try:
        return {"type": spec["type"],
                **optim.resolve_hyperparams(spec["type"], given, conventions)}
    except ConfigError as e:
        raise doc.locate(e, at) from None
