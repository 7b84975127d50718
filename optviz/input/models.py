"""Model configs: the parts of a run config that train a model on data.

A run config whose ``surface:`` is a mapping with ``model:`` trains that model
(:func:`optviz.core.models.build`) instead of moving a point on a surface::

    surface:
      model: {mlp: [2, 16, 16, 1], activation: tanh, loss: bce, init: {seed: 0}}
      data: {generate: moons, n: 512, seed: 0}      # or {csv: data.csv}
    noise: {kind: minibatch, batch_size: 32, seed: 0, seeds: 1}
    render: {plane: {method: pca, centre: best, resolution: 100},
             decision_boundary: true}

Everything here is called from :mod:`optviz.input.config` at a few marked
hooks, and every error names the config's file, line and key (an error inside
a data file names that file and, in its hint, the config's key that reads it).
``start:`` may be left out: a two-parameter model starts at (0, 0), a network
at its initialisation (``model.init.seed``); a network takes no ``start:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optviz.errors import ConfigError, did_you_mean
from optviz.input.schema import NOISE, PLANE  # the keys, defaults and ranges
from optviz.input.yamldoc import Document

PLANE_KEYS = PLANE.names
MINIBATCH_KEYS = tuple(n for n in NOISE.names if n not in ("sigma", "df"))
#: formats a network (D > 2) is drawn in: the plane figure, still or with the paths
#: growing over it (the pages draw a 2-D surface)
NETWORK_FORMATS = ("png", "svg", "pdf", "gif", "mp4", "html")


@dataclass(frozen=True)
class PlaneSpec:
    """``render.plane``: the plane a network's paths are drawn on
    (:func:`optviz.analysis.projection.plane`)."""

    method: str = PLANE.default("method")  # pca of the iterates, or random directions
    centre: Any = PLANE.default("centre")  # best, start, mean, a label, or D numbers
    resolution: int = PLANE.default("resolution")  # the loss on an R x R grid
    seed: int = PLANE.default("seed")  # the random directions' seed

    def to_dict(self) -> dict[str, Any]:
        centre = list(self.centre) if isinstance(self.centre, tuple) else self.centre
        return {"method": self.method, "centre": centre, "resolution": self.resolution,
                "seed": self.seed}


def is_model(spec: Any) -> bool:
    """Whether a config's ``surface:`` value is a model on data."""
    return isinstance(spec, Mapping) and "model" in spec


def is_network(surface: Any) -> bool:
    """A model with more than two parameters: drawn on a plane, not as a contour."""
    return getattr(surface, "dim", 2) > 2


def load_model(data: Mapping, doc: Document, base: Path | None):
    """The model of ``surface:`` and the run's start: the config's ``start:`` for a
    two-parameter model (its drawn domain then holds it), else the model's own."""
    from optviz.core.models import build

    at = ("surface",)
    spec = dict(data["surface"])
    start = None
    if "start" in data:
        if isinstance(spec.get("model"), Mapping):
            raise doc.error("a network starts from its initialisation, not from a point",
                            ("start",), hint="leave start out; choose another init with "
                            "surface.model.init.seed")
        start = _point(data["start"], doc, ("start",))
        if "start" not in spec:  # the drawn domain holds the start
            spec["start"] = list(start)
    try:
        model = build(spec, base)
    except ConfigError as e:
        raise _located(e, doc, at) from None
    return model, (start if start is not None else tuple(float(v) for v in model.start))


def _located(e: ConfigError, doc: Document, at: tuple) -> ConfigError:
    """A model's error at its key under *at*; one inside a data file names that file."""
    if e.file and e.file != doc.file:
        used = f"used by {doc.file}, line {doc.line(at + ('data',))}, key 'surface.data'"
        return ConfigError(e.detail, file=e.file, line=e.line, key=e.key,
                           hint=f"{e.hint}; {used}" if e.hint else used)
    path = at if not e.key or e.key == "surface" else at + tuple(
        int(p) if p.isdigit() else p for p in str(e.key).split("."))
    return doc.error(e.detail, path, hint=e.hint)


def _point(value: Any, doc: Document, at: tuple) -> tuple[float, float]:
    from optviz.input.config import _point as point

    return point(value, doc, at)


def minibatch(data: Mapping, doc: Document):
    """``noise: {kind: minibatch, batch_size: B, seed: S, seeds: n}``."""
    from optviz.core.models import Minibatch
    from optviz.input.config import _check_keys, _int

    at = ("noise",)
    _check_keys(data, MINIBATCH_KEYS, doc, at)
    if "batch_size" not in data:
        raise doc.error("minibatch noise needs batch_size", at,
                        hint="e.g. noise: {kind: minibatch, batch_size: 32, seed: 0}")
    size = _int(data["batch_size"], doc, at + ("batch_size",), NOISE["batch_size"].minimum,
                10 ** 9, "batch_size")
    seed = _int(data.get("seed", NOISE.default("seed")), doc, at + ("seed",),
                NOISE["seed"].minimum, NOISE["seed"].maximum, "seed")
    seeds = _int(data.get("seeds", NOISE.default("seeds")), doc, at + ("seeds",),
                 NOISE["seeds"].minimum, NOISE["seeds"].maximum, "seeds")
    return Minibatch(size, seed, seeds)


def plane(value: Any, doc: Document) -> PlaneSpec:
    """``render.plane: {method: pca|random, centre: ..., resolution: R, seed: S}``."""
    from optviz.analysis.projection import METHODS
    from optviz.input.config import _check_keys, _int, _number

    at = ("render", "plane")
    if not isinstance(value, Mapping):
        raise doc.error("plane must be a mapping such as {method: pca, centre: best}", at)
    _check_keys(value, PLANE_KEYS, doc, at)
    method = value.get("method", PLANE.default("method"))
    if method not in METHODS:
        raise doc.error(f"unknown plane method {method!r}", at + ("method",),
                        hint=did_you_mean(str(method), METHODS)
                        or "pca (of the iterates) or random (filter-normalised)")
    centre = value.get("centre", PLANE.default("centre"))
    if isinstance(centre, list):
        centre = tuple(_number(v, doc, at + ("centre", i)) for i, v in enumerate(centre))
    elif not isinstance(centre, str):
        raise doc.error(f"centre must be best, start, mean, an optimizer's label or a list "
                        f"of numbers, got {centre!r}", at + ("centre",))
    res = PLANE["resolution"]
    resolution = _int(value.get("resolution", res.default), doc, at + ("resolution",),
                      res.minimum, res.maximum, "resolution")
    seed = _int(value.get("seed", PLANE.default("seed")), doc, at + ("seed",),
                PLANE["seed"].minimum, PLANE["seed"].maximum, "seed")
    return PlaneSpec(method, centre, resolution, seed)


def check(config, doc: Document, data: Mapping) -> None:
    """What a model config needs of its other keys, checked once all are read: minibatch
    noise needs a model; a network is drawn on a plane (still formats only, no 3-D
    view or overlays; the plane's centre names an optimizer or gives D numbers); no
    optimizer may need a Hessian the model does not have."""
    from optviz.core.models import Minibatch, check_optimizers
    from optviz.analysis.projection import CENTRES

    model = config.surface
    render = data.get("render") or {}
    on_data = hasattr(model, "samples")
    if isinstance(config.noise, Minibatch):
        if not on_data:
            raise doc.error("minibatch noise needs a model on data, not a surface",
                            ("noise", "kind"), hint="use kind: gaussian on a surface")
        if config.noise.batch_size > model.samples:
            raise doc.error(f"batch_size must be at most the {model.samples} samples, got "
                            f"{config.noise.batch_size}", ("noise", "batch_size"))
    for key in ("plane", "decision_boundary"):
        if key in render and not is_network(model):
            raise doc.error(f"render.{key} applies to networks (models with more than two "
                            "parameters)", ("render", key),
                            hint="a surface or two-parameter model is drawn as a contour")
    if not on_data:
        return
    try:
        check_optimizers(model, {o.label: o.type for o in config.optimizers})
    except ConfigError as e:
        i = next(i for i, o in enumerate(config.optimizers) if f"'{o.label}'" in e.detail)
        raise doc.error(e.detail, ("optimizers", i, "type"), hint=e.hint) from None
    if not is_network(model):
        return
    if config.starts is not None:
        raise doc.error("a network runs from its initialisation: starts does not apply",
                        ("starts",), hint="compare initialisations with optviz compare "
                        "and tune: {over: {seeds: n}}, or change surface.model.init.seed")
    at = ("render", "formats")
    if isinstance(render.get("formats"), list):
        bad = [f for f in render["formats"] if str(f).lower().lstrip(".") not in NETWORK_FORMATS]
        at += (render["formats"].index(bad[0]),) if bad else ()
    check_formats(config, doc, at)
    if config.render.view != "2d" or config.render.overlays:
        raise doc.error("a network's plane figure has no 3-D view or overlays",
                        ("render", "view" if config.render.view != "2d" else "overlays"))
    if config.render.step_panel:
        raise doc.error(f"step_panel draws one panel per coordinate of a 2-D point; this "
                        f"network has {model.dim:,} parameters", ("render", "step_panel"),
                        hint="leave it out (lr_panel works; the plane figure has the loss)")
    centre = config.render.plane.centre
    labels = [o.label for o in config.optimizers]
    if isinstance(centre, tuple):
        if len(centre) != model.dim:
            raise doc.error(f"a centre point needs the network's {model.dim} parameters, "
                            f"got {len(centre)} numbers", ("render", "plane", "centre"),
                            hint="or best, start, mean or an optimizer's label")
    elif centre not in CENTRES and centre not in labels:
        raise doc.error(f"unknown centre {centre!r}", ("render", "plane", "centre"),
                        hint=did_you_mean(centre, [*CENTRES, *labels])
                        or "best, start, mean or an optimizer's label: " + ", ".join(labels))


def check_formats(config, doc: Document, at: tuple) -> None:
    """A network is drawn on a plane, still, animated or as the html page of its run:
    the web page (sliders that rerun the paths over a surface) is refused at *at*."""
    if not is_network(config.surface):
        return
    bad = [f for f in config.render.formats if f not in NETWORK_FORMATS]
    if bad:
        raise doc.error(f"a network's run is drawn on a plane through its parameters; "
                        f"the {bad[0]} page reruns paths over a 2-D surface and is not made "
                        "for networks", at,
                        hint="use formats png, svg, pdf, gif, mp4 or html (the run's page)")


def tune(spec, data: Mapping, surface: Any):
    """A tuning protocol on a model with no known minimum (a network) tunes for the
    final loss unless the config names an objective (the gap needs the minimum)."""
    from dataclasses import replace

    given = data.get("tune")
    if spec is None or getattr(surface, "samples", None) is None \
            or surface.minimum_value is not None \
            or (isinstance(given, Mapping) and "objective" in given):
        return spec
    return replace(spec, objective="final_loss")


def default_formats(data: Mapping, surface: Any) -> tuple[str, ...] | None:
    """A network's formats when the config names none: the still figure (PNG)."""
    render = data.get("render") or {}
    if is_network(surface) and not (isinstance(render, Mapping) and "formats" in render):
        return ("png",)
    return None


def surface_dict(model: Any) -> dict[str, Any]:
    """A model's entry in run.json: what it is, its data, its size."""
    out: dict[str, Any] = {"name": model.name, "title": model.title,
                           "model": _plain(model.spec["model"]),
                           "data": _plain(model.spec["data"]),
                           "parameters": model.dim, "samples": model.samples,
                           "path": None}
    if "csv" in model.spec["data"]:
        out["data"] = {"csv": Path(str(model.spec["data"]["csv"])).name}
        out["path"] = str(model.data.source)
    if not is_network(model):
        out.update({"l2": model.l2,
                    "domain": {"x": list(model.domain[0]), "y": list(model.domain[1])},
                    "levels": model.levels if isinstance(model.levels, int)
                    else list(model.levels),
                    "minima": [list(m) for m in model.minima]})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
