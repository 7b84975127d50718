"""Hypothesis strategies for valid optviz configs, over the whole config space.

Every strategy here draws a config that optviz's validation accepts (a plain
dict, as YAML would load it; :func:`yaml_text` writes it out): every shipped
surface and formula surfaces, every optimizer of the registry with parameters
within their declared ranges (wrappers with a nested base, schedules, weight
decay, ``lr: auto`` and tuned ranges), many starts, gradient noise, tuning
blocks, the ``web:`` block, every render option and every format. Steps,
sizes and frame counts stay small so that each example takes a fraction of a
second. The ranges are read from the registry and the config module's tables
(the facts), never hard-coded here twice; what the strategy decides is only
which values to draw.

Text (titles, labels, the lesson) mixes Latin, Cyrillic, CJK, line breaks and
the characters that break formats: ``|`` (Markdown tables), ``<`` and ``&``
(HTML, SVG), quotes and commas (CSV), backslashes, colons and brackets (YAML).
"""

from __future__ import annotations

import math

import yaml
from hypothesis import strategies as st

from optviz.core.optim.registry import OPTIMIZERS, Param
from optviz.core.optim.schedules import SCHEDULES
from optviz.core.overlays import KINDS as OVERLAYS
from optviz.core.surfaces import list_surfaces, load_surface
from optviz.input.config import CONVENTIONS, FORMATS, SVG_TEXT, TUNE_OBJECTIVES, VIEW_BOXES

SURFACES = tuple(list_surfaces())
#: the optimizers a config may name without an optional package (type torch needs torch)
TYPES = tuple(name for name in OPTIMIZERS if name != "torch")
WRAPPERS = tuple(name for name in TYPES if any(p.optimizer for p in OPTIMIZERS[name].params))
PLAIN = tuple(name for name in TYPES if name not in WRAPPERS)

#: text that breaks formats: Cyrillic, CJK, kana, a line break, | < > & quotes , \ : # [ ] { }
ALPHABET = ("abcxyzABC 0123456789-_.,;:!?()[]{}#%*+=/\\|<>&\"'`~@\n"
            "адамсгдПриветЁё测试优化器日本語テスト한국어ΔαβÅéñ→…")
BREAKERS = ("|", "<", "&", '"', "'", "\n", ",", "<script>", "</b>", "&amp;", "a | b", "x, y",
            "Привет", "测试", "\\n")


@st.composite
def text(draw, min_size: int = 0, max_size: int = 24) -> str:
    """Drawable text: random characters of :data:`ALPHABET` with format breakers."""
    parts = draw(st.lists(st.one_of(st.text(ALPHABET, max_size=8), st.sampled_from(BREAKERS)),
                          max_size=4))
    out = "".join(parts)[:max_size]
    if len(out.strip()) < min_size:
        out = draw(st.sampled_from(["Адам", "优化", "a|b", "<&>", '"q"', "x\ny"])) + out
    return out


def label_text() -> st.SearchStrategy[str]:
    """A label: non-empty text (after stripping), at most 24 characters."""
    return text(min_size=1, max_size=24)


def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(f"{10 ** e:.4g}"))


def _fraction(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi).map(lambda v: float(f"{v:.4g}")).filter(lambda v: lo <= v <= hi)


def param_value(param: Param) -> st.SearchStrategy:
    """A value within *param*'s declared range (its ``expect``; ``None`` where allowed)."""
    if param.choices:
        return st.sampled_from(param.choices)
    expect = param.expect
    if param.name == "lr":
        values = _log_uniform(1e-3, 0.5)
    elif expect == "> 0":
        values = _log_uniform(1e-8, 10.0)
    elif expect == ">= 0":
        values = st.one_of(st.just(0.0), _log_uniform(1e-6, 0.5))
    elif expect == "in [0, 1)":
        values = st.one_of(st.just(0.0), _fraction(0.0, 0.999))
    elif expect == "in (0, 1)":
        values = _fraction(0.01, 0.99)
    elif expect == "in [0, 1]":
        values = st.one_of(st.sampled_from([0.0, 1.0]), _fraction(0.0, 1.0))
    elif expect.startswith("a whole number >= "):
        low = int(expect.rsplit(" ", 1)[1])
        values = st.integers(low, low + 6)
    elif expect == ">= 1":
        values = st.one_of(st.just(1.0), _log_uniform(1.0, 10.0))
    else:
        raise AssertionError(f"no strategy for {param.name}'s range {expect!r}: add one")
    return st.one_of(st.none(), values) if param.none else values


# ------------------------------------------------------------------ schedules
_CHILD_SCHEDULES = tuple(k for k in SCHEDULES if k not in ("sequential", "onecycle"))


@st.composite
def schedule(draw, kind: str | None = None, momentum: bool = True) -> dict:
    """A schedule of torch's names (:data:`optviz.core.optim.schedules.SCHEDULES`);
    *momentum*: whether onecycle may cycle the optimizer's momentum or beta1."""
    kind = kind or draw(st.sampled_from(tuple(SCHEDULES)))
    assert kind in SCHEDULES
    out: dict = {"type": kind}
    if kind == "step":
        out["step_size"] = draw(st.integers(1, 20))
        if draw(st.booleans()):
            out["gamma"] = draw(_fraction(0.05, 2.0))
    elif kind == "multistep":
        out["milestones"] = sorted(draw(st.lists(st.integers(1, 30), min_size=1, max_size=3)))
        if draw(st.booleans()):
            out["gamma"] = draw(_fraction(0.05, 1.0))
    elif kind == "exponential":
        out["gamma"] = draw(_fraction(0.5, 1.2))
    elif kind == "cosine":
        out["T_max"] = draw(st.integers(1, 40))
        if draw(st.booleans()):
            out["eta_min"] = draw(st.one_of(st.just(0.0), _log_uniform(1e-6, 0.1)))
    elif kind == "cosine_restarts":
        out["T_0"] = draw(st.integers(1, 20))
        out.update(draw(st.fixed_dictionaries({}, optional={
            "T_mult": st.integers(1, 3), "eta_min": _log_uniform(1e-6, 0.1)})))
    elif kind == "linear":
        out.update(draw(st.fixed_dictionaries({}, optional={
            "start_factor": _fraction(0.01, 1.0), "end_factor": _fraction(0.0, 1.0),
            "total_iters": st.integers(1, 30)})))
    elif kind == "onecycle":
        out["max_lr"] = draw(_log_uniform(1e-3, 1.0))
        out["total_steps"] = draw(st.integers(1, 40))
        out.update(draw(st.fixed_dictionaries({}, optional={
            "pct_start": _fraction(0.0, 1.0), "anneal_strategy": st.sampled_from(["cos", "linear"]),
            "div_factor": _log_uniform(1.0, 100.0), "final_div_factor": _log_uniform(1.0, 1e4),
            "three_phase": st.booleans()})))
        cycle = momentum and draw(st.booleans())
        out["cycle_momentum"] = cycle
        if cycle and draw(st.booleans()):
            lo, hi = sorted(draw(st.lists(_fraction(0.0, 1.0), min_size=2, max_size=2)))
            out["base_momentum"], out["max_momentum"] = lo, hi
    else:  # sequential: children that are neither sequential nor onecycle
        children = draw(st.lists(st.sampled_from(_CHILD_SCHEDULES), min_size=1, max_size=3))
        out["schedules"] = [draw(schedule(c)) for c in children]
        out["milestones"] = sorted(draw(st.lists(st.integers(1, 30), min_size=len(children) - 1,
                                                 max_size=len(children) - 1)))
    return out


def _has_momentum(kind: str) -> bool:
    return any(p.name in ("momentum", "beta1") for p in OPTIMIZERS[kind].params)


# ------------------------------------------------------------------ optimizers
@st.composite
def hyperparameters(draw, kind: str, conventions: str, depth: int = 0) -> dict:
    """Some of *kind*'s hyperparameters (each within its range), maybe a schedule;
    a wrapper's base is a nested optimizer (a wrapper around a wrapper at most once)."""
    spec = OPTIMIZERS[kind]
    out: dict = {}
    for param in spec.param_specs(conventions):
        if param.optimizer:
            if draw(st.booleans()):
                pool = TYPES if depth == 0 else PLAIN
                base = draw(st.sampled_from(pool))
                out[param.name] = {"type": base, **draw(hyperparameters(base, conventions,
                                                                        depth + 1))}
            continue
        if draw(st.integers(0, 2)) == 0:  # a third of them given
            out[param.name] = draw(param_value(param))
    if spec.schedulable and draw(st.integers(0, 3)) == 0:
        out["schedule"] = draw(schedule(momentum=_has_momentum(kind)))
    return out


@st.composite
def optimizer(draw, conventions: str = "torch", tune: bool = False) -> dict:
    """One entry of ``optimizers:``: a type, some hyperparameters, maybe a label,
    ``noisy: false``, ``lr: auto`` or (with *tune*) tuned ranges."""
    kind = draw(st.sampled_from(TYPES))
    item = {"type": kind, **draw(hyperparameters(kind, conventions))}
    params = {p.name: p for p in OPTIMIZERS[kind].param_specs(conventions)}
    if "lr" in params:
        how = draw(st.sampled_from(["given", "given", "auto", "tuned"] if tune
                                   else ["given", "given", "given", "auto"]))
        if how == "auto":
            item["lr"] = "auto"
        elif how == "tuned":
            lo = draw(_log_uniform(1e-3, 0.05))
            item["lr"] = {"tune": [lo, float(f"{lo * draw(st.floats(2, 100)):.4g}"), "log"]}
    if tune:  # maybe a main hyperparameter in [0, 1) tuned too
        units = [p.name for p in params.values() if p.expect in ("in [0, 1)", "in [0, 1]")
                 and p.name not in ("lr",)]
        if units and draw(st.booleans()):
            name = draw(st.sampled_from(units))
            lo = draw(_fraction(0.0, 0.5))
            item[name] = {"tune": [lo, float(f"{lo + draw(st.floats(0.05, 0.45)):.4g}")]}
    if draw(st.booleans()):
        item["label"] = draw(label_text())
    if draw(st.integers(0, 5)) == 0:
        item["noisy"] = False
    return item


def unique_labels(items: list[dict]) -> list[dict]:
    """Give every optimizer after the first of its type a label, so no two labels
    clash (a clash is a config error, not what these configs are for)."""
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items):
        key = item.get("label", f"\0{item['type']}")
        if key in seen:
            item = {**item, "label": f"{item.get('label', item['type'])} #{i}"}
            key = item["label"]
        seen.add(key)
        out.append(item)
    return out


# ------------------------------------------------------------------ surfaces
#: formula templates; {a} and {b} are drawn from small numbers (SymPy derives each once)
FORMULAS = ("{a}*x**2 + {b}*y**2", "(1 - x)**2 + {a}*(y - x**2)**2",
            "(x**2 + y**2)/{a} + sin({b}*x)*cos(y)", "sqrt(x**2 + y**2 + {a}) - {b}*exp(-x**2)",
            "log(1 + {a}*x**2 + {b}*y**2)", "abs(x) + {a}*max(y, -y) + min(x, y)**2/{b}",
            "tanh(x)**2 + {a}*y**2 + arctan(x*y)/{b}", "{a}*(x**2 + y**2)**2 - {b}*(x**2 - y**2)")


@st.composite
def formula_surface(draw) -> dict:
    """``surface: {formula: ..., domain: ...}``, with some of the optional keys."""
    a, b = draw(st.sampled_from([0.5, 1, 2, 3])), draw(st.sampled_from([1, 2, 4]))
    x0, y0 = draw(st.integers(-5, -1)), draw(st.integers(-5, -1))
    x1, y1 = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    out = {"formula": draw(st.sampled_from(FORMULAS)).format(a=a, b=b),
           "domain": {"x": [x0, x1], "y": [y0, y1]}}
    out.update(draw(st.fixed_dictionaries({}, optional={
        "title": text(max_size=16).filter(lambda t: "$" not in t),
        "levels": st.one_of(st.integers(2, 40),
                            st.lists(st.integers(-5, 50), min_size=2, max_size=6,
                                     unique=True)),
        "minima": st.just([[0.0, 0.0]]), "minimum_value": st.just(0.0),
        "start": st.tuples(st.floats(x0, x1), st.floats(y0, y1)).map(list)})))
    return out


def domain_of(surface) -> tuple[tuple[float, float], tuple[float, float]]:
    if isinstance(surface, dict):
        d = surface["domain"]
        return tuple(d["x"]), tuple(d["y"])
    return load_surface(surface).domain


def minimum_value_of(surface) -> float | None:
    if isinstance(surface, dict):
        return surface.get("minimum_value")
    return load_surface(surface).minimum_value


def surface() -> st.SearchStrategy:
    return st.one_of(st.sampled_from(SURFACES), formula_surface())


@st.composite
def point_in(draw, domain) -> list[float]:
    (x0, x1), (y0, y1) = domain
    return [float(f"{draw(st.floats(x0, x1)):.6g}"), float(f"{draw(st.floats(y0, y1)):.6g}")]


@st.composite
def starts_block(draw, domain) -> dict:
    if draw(st.booleans()):
        return {"grid": draw(st.integers(1, 3))}
    out = {"random": draw(st.integers(1, 4))}
    if draw(st.booleans()):
        out["seed"] = draw(st.integers(0, 2 ** 32 - 1))
    if draw(st.booleans()):
        box = {}
        for axis, (lo, hi) in zip("xy", domain):
            mid = (lo + hi) / 2
            box[axis] = [draw(st.floats(lo, mid - 1e-3 * (hi - lo))),
                         draw(st.floats(mid, hi))]
        out["box"] = box
    return out


@st.composite
def noise_block(draw) -> dict:
    out = {"sigma": draw(st.one_of(st.just(0.0), _log_uniform(1e-3, 2.0))),
           "seed": draw(st.integers(0, 2 ** 32 - 1))}
    if draw(st.booleans()):
        out["kind"] = "student_t"
        out["df"] = draw(_log_uniform(0.5, 30.0))
    if draw(st.booleans()):
        out["seeds"] = draw(st.integers(1, 3))
    return out


@st.composite
def tune_block(draw, minimum: float | None) -> dict:
    objectives = TUNE_OBJECTIVES if minimum is not None else ("final_loss", "mean_loss")
    out = {"objective": draw(st.sampled_from(objectives)),
           "over": {"starts": draw(st.integers(1, 3)), "seeds": draw(st.integers(1, 2))},
           "budget": draw(st.integers(2, 12))}
    if draw(st.booleans()):
        out["tol"] = draw(_log_uniform(1e-6, 1.0))
    if draw(st.booleans()):
        out["over"]["worst"] = draw(st.booleans())
    return out


@st.composite
def web_block(draw) -> dict:
    return draw(st.fixed_dictionaries({}, optional={
        "live": st.booleans(), "lang": st.sampled_from(["en", "ru", "zh", "pt-BR", "ja"]),
        "lr_values": st.integers(1, 3), "main_values": st.integers(1, 3),
        "lr_decades": _fraction(0.1, 5.0), "starts": st.integers(1, 3),
        "value_grid": st.integers(8, 24),
        "main_range": st.tuples(_fraction(0.0, 0.45), _fraction(0.5, 0.99)).map(list)}))


# ------------------------------------------------------------------ render
@st.composite
def render_block(draw, formats=FORMATS) -> dict:
    """Every render option: formats, panels, overlays, 2-D or 3-D, the view box,
    sizes (small: at least 100 pixels a side, as validation asks), SVG text."""
    out: dict = {"formats": draw(st.lists(st.sampled_from(formats), min_size=1, max_size=4,
                                          unique=True))}
    view = draw(st.sampled_from(["2d", "2d", "3d"]))
    if view == "3d":
        out["view"] = "3d"
        if draw(st.booleans()):
            out["camera"] = draw(st.fixed_dictionaries({}, optional={
                "elev": st.integers(-90, 90), "azim": st.integers(-180, 180),
                "rotate": st.sampled_from([0, 0.5, 3])}))
    else:
        if draw(st.booleans()):
            out["view"] = "2d"
        out["loss_panel"] = draw(st.booleans())
        if draw(st.booleans()):
            out["overlays"] = draw(st.lists(st.sampled_from(OVERLAYS), max_size=3, unique=True))
    dpi = draw(st.integers(34, 45))
    out["dpi"] = dpi
    out["size"] = [draw(st.sampled_from([4, 5, 6.5, 8])), draw(st.sampled_from([3, 4, 5.5]))]
    out.update(draw(st.fixed_dictionaries({}, optional={
        "lr_panel": st.booleans(), "step_panel": st.booleans(),
        "view_box": st.sampled_from(VIEW_BOXES), "svg_text": st.sampled_from(SVG_TEXT),
        "fps": st.integers(1, 60)})))
    out["max_frames"] = draw(st.integers(2, 5))
    return out


# ------------------------------------------------------------------ whole configs
@st.composite
def run_config(draw, *, formats=FORMATS, tune: bool = False, many: bool | None = None,
               max_optimizers: int = 4) -> dict:
    """A valid run config (a dict as YAML loads it).

    *tune*: tuned ranges and a ``tune:`` block may appear (compare); *many*: True
    always gives ``starts:`` or noise seeds, False never, None either."""
    conventions = draw(st.sampled_from(CONVENTIONS))
    surf = draw(surface())
    domain = domain_of(surf)
    cfg: dict = {}
    if draw(st.booleans()):
        cfg["title"] = draw(text(max_size=30))
    cfg["surface"] = surf
    if isinstance(surf, dict) and "start" not in surf or draw(st.booleans()):
        cfg["start"] = draw(point_in(domain))
    cfg["steps"] = draw(st.integers(1, 25))
    if conventions != "torch" or draw(st.booleans()):
        cfg["conventions"] = conventions
    cfg["optimizers"] = unique_labels(draw(st.lists(optimizer(conventions, tune=tune),
                                                    min_size=1, max_size=max_optimizers)))
    if many is None:
        many = draw(st.integers(0, 3)) == 0
    if many or draw(st.integers(0, 3)) == 0:
        cfg["noise"] = draw(noise_block())
    if many:
        cfg["starts"] = draw(starts_block(domain))
    tuned = any(isinstance(v, dict) and "tune" in v for o in cfg["optimizers"] for v in o.values())
    if tune and (tuned or draw(st.booleans())):  # tuned ranges need a protocol the surface has
        cfg["tune"] = draw(tune_block(minimum_value_of(surf)))
    if draw(st.integers(0, 3)) == 0:
        cfg["lesson"] = draw(text(max_size=30))
    if draw(st.booleans()):
        cfg["web"] = draw(web_block())
    cfg["render"] = draw(render_block(formats))
    return cfg


def yaml_text(config: dict) -> str:
    """*config* as a YAML file (UTF-8 text, every string quoted where YAML needs it)."""
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=1000)
