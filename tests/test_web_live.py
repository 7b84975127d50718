"""What the live web page is made of, checked without a browser: the surface's
JavaScript (core/jscode.py), the optimizers as data (core/optim/export.py) and
the page that embeds them. The JavaScript itself runs in tests/browser (parity
with the engine over every optimizer, schedule and surface)."""

import math
import re

import numpy as np
import pytest

from optviz.app.runner import run, run_web
from optviz.core import codegen
from optviz.core.jscode import NotTranslatable, is_exact, surface_js, translate
from optviz.core.optim import OPTIMIZERS, register_optimizer
from optviz.core.optim import aliases, base, transforms
from optviz.core.optim.export import NotExportable, export_optimizer
from optviz.core.optim.registry import BUILTIN
from optviz.core.surfaces import list_surfaces, load_surface
from optviz.input.config import parse_config


def js_of(body: str, names=None) -> str:
    """translate() of a value_and_grad whose body is *body* (the other two trivial)."""
    names = names or {"sin": "sin", "cos": "cos", "exp": "exp", "pi": "pi",
                      "reduce": "functools.reduce", "maximum": "maximum", "select": "select",
                      "greater": "greater", "equal": "equal", "nan": "nan", "sqrt": "sqrt"}
    source = ("def value(x, y):\n    return x\n\n"
              f"def value_and_grad(x, y):\n{body}\n\n"
              "def hessian(x, y):\n    return [0, 0, 0]\n")
    return translate(source, names)


def vg(js: str) -> str:
    return js.split("function vg(x, y, out) {")[1].split("\nfunction hess")[0]


def test_powers_follow_numpys_fast_paths():
    out = vg(js_of("    return [x**2 + y**3, x**(-1.0) + y**0.5, x**1 + x**(-2.0)]"))
    assert "out[0] = ((x * x) + Math.pow(y, 3.0));" in out  # square; pow otherwise
    assert "out[1] = ((1 / x) + Math.sqrt(y));" in out  # reciprocal, sqrt
    assert "out[2] = (x + Math.pow(x, (-2.0)));" in out


def test_constant_parts_are_folded_by_python_exactly():
    out = vg(js_of("    x0 = 40*pi**2\n    return [(1/3)*x + x0*cos(2*pi*y), -x**2, -(-y)]"))
    assert repr(40 * math.pi ** 2) in out and repr(1 / 3) in out and repr(2 * math.pi) in out
    assert "var v_x0" not in out  # a constant local is folded, not computed
    for literal in re.findall(r"\d+\.\d+(?:e[-+]?\d+)?", out):
        assert repr(float(literal)) == literal  # each literal is the float itself
    assert "out[1] = (-(x * x));" in out and "out[2] = (-(-y));" in out  # no -x**2 ambiguity


def test_max_select_and_their_nan_rules():
    out = vg(js_of("    x0 = (select([greater(x, 1),equal(x, 1),True], [0,1/2,1], default=nan))\n"
                   "    return [reduce(maximum, [x, y, 1]), x0, x0]"))
    assert "out[0] = Math.max(Math.max(x, y), 1.0);" in out  # folds from the left
    # the first true condition wins; NaN fails both comparisons and takes True's value
    assert "var v_x0 = ((x > 1.0) ? 0.0 : ((x === 1.0) ? 0.5 : (true ? 1.0 : NaN)));" in out


@pytest.mark.parametrize("body, what", [
    ("    return [x % 2, x, y]", "Mod"),
    ("    return [x // 2, x, y]", "FloorDiv"),
])
def test_what_is_not_covered_is_refused(body, what):
    with pytest.raises((NotTranslatable, ValueError)):
        js_of(body)


def test_every_shipped_surface_translates_and_the_polynomials_are_exact():
    exact = {n for n in list_surfaces() if is_exact(surface_js(load_surface(n)))}
    assert exact == {"booth", "goldstein-price", "himmelblau", "matyas", "ravine",
                     "rosenbrock", "saddle", "simple-quad"}
    js = surface_js(load_surface("wobbly"))
    assert "</" not in js and "<!--" not in js and "Math.sin" in js and not is_exact(js)


def test_the_translation_reads_the_engines_own_source():
    s = load_surface("rosenbrock")
    source, names = codegen.generate(*s._symbolic)
    assert surface_js(s) == translate(source, names)


# ----------------------------------------------------------------- export
def evaluate(e, hp, t=0):
    """A reader of the exported expressions, independent of the page's."""
    if not isinstance(e, list):
        return e
    op, *a = e
    if op == "hp":
        return hp.get(a[0], a[1] if len(a) > 1 else None)
    if op == "t":
        return t
    if op == "neg":
        return -evaluate(a[0], hp, t)
    if op == "sqrt":
        return math.sqrt(evaluate(a[0], hp, t))
    x, y = evaluate(a[0], hp, t), evaluate(a[1], hp, t)
    return {"+": x + y, "-": x - y, "*": x * y, "/": x / y, "**": x ** y}[op]


def test_adamw_exports_its_chain_with_expressions():
    x = export_optimizer("adamw", {"lr": 0.1, "beta1": 0.8, "weight_decay": 0.05})
    names = [t["name"] for t in x["desc"]["chain"]]
    assert names == ["scale_by_adam", "scale_by_step_size", "add_decoupled_weight_decay"]
    rate = x["desc"]["chain"][2]["args"]["rate"]
    assert rate == ["*", ["hp", "lr"], ["hp", "weight_decay"]]  # follows a scheduled lr
    alpha = x["desc"]["chain"][1]["args"]["alpha"]
    assert alpha[0] == "lambda"
    for t in (1, 2, 7):  # aliases.adamw's own step size, from its source
        assert evaluate(alpha[1], x["hp"], t) == 0.1 / (1 - 0.8 ** t)
    assert x["hp"]["weight_decay"] == 0.05 and x["schedule"] is None


def test_every_shipped_optimizer_exports_and_torch_does_not():
    for kind in BUILTIN - {"torch"}:
        for conv in ("torch", "lasagne"):
            x = export_optimizer(kind, {}, conv)
            assert ("chain" in x["desc"]) != ("twin" in x["desc"]), kind
    with pytest.raises(NotExportable, match="torch"):
        export_optimizer("torch", {"class": "torch.optim.SGD", "lr": 0.1})


def test_a_schedule_is_exported_with_how_it_drives_the_optimizer():
    x = export_optimizer("adabound", {"lr": 0.01, "schedule": {"type": "cosine", "T_max": 50}})
    assert x["schedule"] == {"type": "cosine", "T_max": 50, "eta_min": 0.0}
    assert x["base_lr_param"] is True and x["momentum_name"] == "beta1"
    assert x["desc"]["twin"] == "adabound"


@pytest.fixture
def registered():
    added = []

    def add(name, factory):
        register_optimizer(name, factory)
        added.append(name)

    yield add
    for name in added:
        OPTIMIZERS.pop(name, None)


def test_a_users_chain_is_exported_from_what_it_composes(registered):
    def half_momentum(lr=0.1):
        from optviz.core.optim import chain
        from optviz.core.optim import transforms as T

        return chain(T.trace(0.5), T.scale_by_learning_rate(lr))

    registered("half_momentum_test", half_momentum)
    x = export_optimizer("half_momentum_test", {"lr": 0.2})
    assert x["desc"] == {"chain": [
        {"name": "trace", "args": {"momentum": 0.5, "dampening": 0.0, "nesterov": False}},
        {"name": "scale_by_learning_rate", "args": {"lr": ["hp", "lr"]}}]}


def test_compositions_the_page_cannot_follow_are_refused_and_nothing_stays_patched(registered):
    def branches(lr=0.1):
        from optviz.core.optim import chain
        from optviz.core.optim import transforms as T

        return chain(T.scale_by_learning_rate(lr if lr > 1 else 2 * lr))

    def opaque(lr=0.1):
        from optviz.core.optim import chain
        from optviz.core.optim import transforms as T

        return chain(T.scale_by_learning_rate(lr), base.Optimizer(lambda p: (), None))

    registered("branches_test", branches)
    registered("opaque_test", opaque)
    with pytest.raises(NotExportable, match="depends on the value"):
        export_optimizer("branches_test", {})
    with pytest.raises(NotExportable, match="not a chain"):
        export_optimizer("opaque_test", {})
    assert aliases.chain is base.chain and aliases.T is transforms
    assert transforms.scale_by_adam.__module__ == transforms.__name__
    from optviz.core.optim import chain, make_optimizer

    assert chain is base.chain
    make_optimizer("adam", lr=0.1).init(np.zeros((1, 2)))  # the real thing works


# ----------------------------------------------------------------- the page
CONFIG = """\
title: Live
surface: wobbly
start: [-2.8, -2.5]
steps: 30
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: sam, base: {type: adam, lr: 0.1}}
render: {formats: [png], size: [4, 3], dpi: 40}
web: {lr_decades: 1, main_range: [0, 0.99]}
"""


def embedded(text, marker):
    return text.split(marker, 1)[1]


def test_a_live_page_embeds_the_engine_the_surface_and_the_exports(tmp_path):
    from importlib import resources

    import test_web

    cfg = parse_config(CONFIG, "live.yaml")
    info = run_web(cfg, out=tmp_path).page
    meta, paths, own, grid, text = test_web.read_page(info.path)
    assert info.bytes < 1_000_000 and meta["trajectories"] == 0
    engine = resources.files("optviz.render").joinpath("webengine.js").read_text("utf-8")
    assert engine in text and f"var OPTVIZ_SURFACE = {surface_js(cfg.surface)};" in text
    sgd, mom, sam = meta["opts"]
    assert all(o["live"] for o in meta["opts"])
    assert mom["export"] == export_optimizer("momentum", cfg.optimizers[1].params)
    lr, main = mom["sliders"]
    assert (lr["scale"], lr["lo"], lr["hi"], lr["own"]) == ("log", 0.001, 0.1, 0.01)
    assert (lr["min"], lr["min_in"], lr["max"]) == (0.0, False, None)  # lr > 0
    assert (main["name"], main["scale"], main["lo"], main["hi"], main["own"]) == \
        ("momentum", "log1m", 0.0, 0.99, 0.9)
    assert (main["min"], main["min_in"], main["max"], main["max_in"]) == (0.0, True, 1.0, False)
    # a wrapper's lr slider moves its base's lr
    assert sam["sliders"][0]["path"] == ["base", "hp", "lr"] and sam["sliders"][0]["own"] == 0.1
    assert sam["sliders"][1]["name"] == "rho" and sam["sliders"][1]["scale"] == "log"
    assert meta["bound"] == cfg.surface.bound().tolist()


def test_live_false_and_the_html_format_hold_no_engine(tmp_path):
    cfg = parse_config(CONFIG.replace("  - {type: sam, base: {type: adam, lr: 0.1}}\n", "")
                       .replace("web: {", "web: {live: false, starts: 2, lr_values: 2, "
                                "main_values: 2, value_grid: 10, ").replace("[png]", "[html, web]"),
                       "grid.yaml")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    import test_web

    for name in ("grid-web.html", "grid.html"):
        meta, paths, own, grid, text = test_web.read_page(tmp_path / name)
        assert not any(o["live"] for o in meta["opts"]) and "var OPTVIZ_ENGINE" not in text
        assert "var OPTVIZ_SURFACE = null;" in text
    meta = test_web.read_page(tmp_path / "grid-web.html")[0]
    assert all("web.live: false" in o["why"] for o in meta["opts"])


@pytest.mark.parametrize("title, lang_key, expected", [
    ("Wobbly: five methods", None, "en"),
    ("Волнистая поверхность: пять методов", None, "ru"),
    ("Κυματιστή επιφάνεια", None, "el"),
    ("最適化の比較", None, "ja"),
    ("Wobbly", "pt-BR", "pt-BR"),
])
def test_the_page_language_comes_from_the_configs_text_or_its_lang(tmp_path, title, lang_key,
                                                                    expected):
    web = "web: {lang: %s}\n" % lang_key if lang_key else ""
    cfg = parse_config(f"title: \"{title}\"\nsurface: wobbly\nsteps: 5\n"
                       f"optimizers: [{{type: sgd, lr: 0.05}}]\n{web}", "lang.yaml")
    info = run_web(cfg, out=tmp_path).page
    assert info.path.read_text(encoding="utf-8").startswith(
        f'<!DOCTYPE html>\n<html lang="{expected}">')


def test_a_bad_lang_is_refused_with_its_key(tmp_path):
    from optviz.errors import ConfigError

    with pytest.raises(ConfigError, match="language tag") as e:
        parse_config("surface: wobbly\noptimizers: [sgd]\nweb: {lang: 'en\"><script>'}\n",
                     "bad.yaml")
    assert "web.lang" in str(e.value)
