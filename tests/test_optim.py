"""Optimizers: hand-computed first steps, batch invariance, every knob matters, errors."""

import math

import numpy as np
import pytest

from optviz.core.engine import simulate
from optviz.core.optim import (
    OPTIMIZERS,
    default_label,
    describe_optimizer,
    first_moment,
    make_optimizer,
    resolve_hyperparams,
)
from optviz.core.surfaces import load_surface
from optviz.errors import ConfigError

COMPOSED = [k for k, spec in OPTIMIZERS.items() if spec.resolve is None]  # not type torch
QUAD = load_surface({"formula": "x**2 + 3*y**2", "domain": {"x": [-2, 2], "y": [-2, 2]}})
START = np.array([[1.0, -0.5]])
G0 = np.array([2.0, -3.0])  # the gradient of x² + 3y² at START


def steps_of(kind, n=2, conventions="torch", surface=QUAD, start=START, **hp):
    tr = simulate(surface, {"o": make_optimizer(kind, conventions, **hp)}, start, n)
    return np.diff(tr.points[0, 0], axis=0)  # (n, 2) the steps taken


def sign_step(lr, eps, g=G0):
    return -lr * g / (np.abs(g) + eps)


# Each first step worked out by hand from the update rule at g0 = (2, -3).
FIRST_STEPS = [
    ("sgd", {"lr": 0.1}, "torch", -0.1 * G0),
    ("momentum", {"lr": 0.1}, "torch", -0.1 * G0),  # the buffer starts at g
    ("nesterov", {"lr": 0.1}, "torch", -0.1 * (1 + 0.9) * G0),  # g + μ·b with b = g
    ("nag", {"lr": 0.1}, "torch", -0.1 * G0),  # v = 0: the look-ahead is θ itself
    # Adam, Adamax, Adagrad and AdaBound all move ~lr per coordinate on the first step
    ("adam", {"lr": 0.1}, "torch", sign_step(0.1, 1e-8)),
    ("amsgrad", {"lr": 0.1}, "torch", sign_step(0.1, 1e-8)),
    ("adamax", {"lr": 0.1}, "torch", -0.1 * (0.1 * G0) / 0.1 / (np.abs(G0) + 1e-8)),
    ("adagrad", {"lr": 0.1}, "torch", sign_step(0.1, 1e-10)),
    ("adagrad", {}, "lasagne", -1.0 * G0 / np.sqrt(G0 ** 2 + 1e-6)),
    ("rmsprop", {"lr": 0.01}, "torch", -0.01 * G0 / (math.sqrt(0.01) * np.abs(G0) + 1e-8)),
    ("rmsprop", {}, "lasagne", -1.0 * G0 / np.sqrt(0.1 * G0 ** 2 + 1e-6)),
    ("adadelta", {}, "torch", -math.sqrt(1e-6) / np.sqrt(0.1 * G0 ** 2 + 1e-6) * G0),
    ("adadelta", {"delta_init": 50.0}, "torch",
     -math.sqrt(50 + 1e-6) / np.sqrt(0.1 * G0 ** 2 + 1e-6) * G0),
    ("adam", {"lr": 0.1}, "lasagne",
     -0.1 * math.sqrt(0.001) / 0.1 * (0.1 * G0) / (math.sqrt(0.001) * np.abs(G0) + 1e-8)),
    ("radam", {"lr": 0.1}, "torch", -0.1 * G0),  # ρ_1 ≤ 5: an un-adapted momentum step
    ("adabound", {"lr": 0.1}, "torch", sign_step(0.1, 1e-8 / math.sqrt(0.001))),
    ("newton", {}, "torch", -START[0]),  # exact on a quadratic: straight to (0, 0)
    ("newton", {"lr": 0.5, "damping": 2.0}, "torch",
     -0.5 * np.array([2.0 / (2 + 2), -3.0 / (6 + 2)])),
]


@pytest.mark.parametrize("kind,hp,conv,expected", FIRST_STEPS,
                         ids=[f"{k}-{c}-{i}" for i, (k, _, c, _) in enumerate(FIRST_STEPS)])
def test_first_step_by_hand(kind, hp, conv, expected):
    np.testing.assert_allclose(steps_of(kind, 1, conv, **hp)[0], expected, rtol=1e-12)


def test_nadam_first_step_by_hand():
    mu1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96 ** 0.008)
    denom = np.sqrt(0.001 * G0 ** 2 / 0.001) + 1e-8
    expected = (-0.1 * (1 - mu1) / (1 - mu1) * G0 / denom
                - 0.1 * mu2 / (1 - mu1 * mu2) * (0.1 * G0) / denom)
    np.testing.assert_allclose(steps_of("nadam", 1, lr=0.1)[0], expected, rtol=1e-12)


def test_second_steps_by_hand():
    g1 = lambda p: np.array([2 * p[0], 6 * p[1]])  # noqa: E731
    # momentum with dampening: b1 = g0, b2 = μ b1 + (1 − d) g1
    s = steps_of("momentum", 2, lr=0.1, momentum=0.5, dampening=0.25)
    p1 = START[0] - 0.1 * G0
    np.testing.assert_allclose(s[1], -0.1 * (0.5 * G0 + 0.75 * g1(p1)), rtol=1e-12)
    # nag: v1 = lr g0, v2 = γ v1 + lr ∇f(θ1 − γ v1)
    s = steps_of("nag", 2, lr=0.1, momentum=0.5)
    v1 = 0.1 * G0
    p1 = START[0] - v1
    np.testing.assert_allclose(s[1], -(0.5 * v1 + 0.1 * g1(p1 - 0.5 * v1)), rtol=1e-12)
    s = steps_of("nag", 2, lr=0.1, momentum=0.5, lookahead="weighted7")
    la = (g1(p1 - 0.25 * v1) + 2 * g1(p1 - 0.375 * v1) + 4 * g1(p1 - 0.5 * v1)) / 7
    np.testing.assert_allclose(s[1], -(0.5 * v1 + 0.1 * la), rtol=1e-12)
    s = steps_of("nag", 2, lr=0.1, momentum=0.5, lookahead="mean3")
    la = (g1(p1 - v1 / 6) + g1(p1 - v1 / 3) + g1(p1 - 0.5 * v1)) / 3
    np.testing.assert_allclose(s[1], -(0.5 * v1 + 0.1 * la), rtol=1e-12)


def test_newton_falls_back_on_a_saddle_and_counts():
    saddle = load_surface("saddle")
    tr = simulate(saddle, {"n": make_optimizer("newton", lr=0.1)}, [[1.0, 0.5]], 3)
    np.testing.assert_allclose(tr.points[0, 0, 1], [1.0 - 0.1 * 2, 0.5 + 0.1 * 1.0])
    assert tr.counters["newton_fallbacks"][0, 0] == 3
    # damping large enough makes H + λI positive definite: no fallback
    tr = simulate(saddle, {"n": make_optimizer("newton", damping=5.0)}, [[1.0, 0.5]], 3)
    assert tr.counters["newton_fallbacks"][0, 0] == 0


STARTS = np.array([[-2.8, -2.5], [1.0, 2.0], [0.3, -1.1], [2.5, 0.0], [-1.0, 1.0]])
SETTINGS = {
    "sgd": {"lr": 0.02}, "momentum": {"lr": 0.01, "dampening": 0.1},
    "nesterov": {"lr": 0.01}, "nag": {"lr": 0.01, "lookahead": "mean3"},
    "adagrad": {"lr": 0.3}, "rmsprop": {"lr": 0.02, "momentum": 0.5, "centered": True},
    "adadelta": {"lr": 5.0}, "adam": {"lr": 0.1}, "amsgrad": {"lr": 0.1},
    "adamax": {"lr": 0.1}, "nadam": {"lr": 0.1}, "radam": {"lr": 0.1},
    "adamw": {"lr": 0.1, "weight_decay": 0.1},
    "adabound": {"lr": 0.1, "gamma": 0.1}, "amsbound": {"lr": 0.1, "gamma": 0.1}, "newton": {"lr": 0.5, "damping": 1.0},
    # the modern optimizers (modern.py)
    "lion": {"lr": 0.01, "weight_decay": 0.1}, "signsgd": {"lr": 0.01, "weight_decay": 0.1},
    "signum": {"lr": 0.01, "weight_decay": 0.1}, "adan": {"lr": 0.05, "weight_decay": 0.1},
    "adopt": {"lr": 0.05, "weight_decay": 0.1},
    "sam": {"rho": 0.1, "base": {"type": "adam", "lr": 0.1}},
    "lookahead": {"k": 3, "base": {"type": "adam", "lr": 0.1}},
    "prodigy": {"weight_decay": 0.1, "beta3": 0.9, "growth_rate": 2.0},
    "sgd_schedulefree": {"lr": 0.05, "warmup_steps": 5, "weight_decay": 0.1, "r": 0.5},
    "adamw_schedulefree": {"lr": 0.05, "warmup_steps": 5, "weight_decay": 0.1, "r": 0.5},
    "sophia": {"lr": 0.05, "k": 3, "weight_decay": 0.1},
}


@pytest.mark.parametrize("kind", COMPOSED)
@pytest.mark.parametrize("n", [2, 5])
def test_batch_equals_separate_runs(kind, n):
    wobbly = load_surface("wobbly")
    opt = {"o": make_optimizer(kind, **SETTINGS[kind])}
    together = simulate(wobbly, opt, STARTS[:n], 30)
    for i in range(n):
        alone = simulate(wobbly, opt, STARTS[i], 30)
        np.testing.assert_array_equal(together.points[0, i], alone.points[0, 0])


@pytest.mark.parametrize("kind", ["sgd", "nesterov", "rmsprop", "adam", "adabound", "radam"])
def test_array_hyperparameters_equal_scalar_runs(kind):
    wobbly = load_surface("wobbly")
    lrs = np.array([[0.01], [0.05], [0.2]])
    key = "lr"
    together = simulate(wobbly, {"o": make_optimizer(kind, **{key: lrs})},
                        np.repeat(STARTS[:1], 3, axis=0), 25)
    for i, lr in enumerate(lrs[:, 0]):
        alone = simulate(wobbly, {"o": make_optimizer(kind, **{key: float(lr)})}, STARTS[0], 25)
        np.testing.assert_allclose(together.points[0, i], alone.points[0, 0], rtol=1e-14)


def _perturbed(name, value):
    if name == "base":
        return {"type": "sgd", "lr": 0.05}
    if name == "k":
        return value + 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return "weighted7" if value != "weighted7" else "mean3"
    if name == "weight_decay":
        return 0.3 if value != 0.3 else 0.5
    if name in ("momentum", "beta1", "beta2", "rho", "dampening"):
        return 0.5 if value != 0.5 else 0.7
    return value * 3 + 0.1 if name in ("lr_decay", "initial_accumulator_value",
                                       "delta_init", "damping", "momentum_decay") \
        else value * 3


# the modern optimizers' sign and clipping steps hide small changes from this generic
# check: test_optim_modern.py::test_every_hyperparameter_changes_the_path sets each up
from test_optim_modern import MODERN  # noqa: E402

HYPERPARAMS = [(kind, conv, name) for kind, spec in OPTIMIZERS.items()
               if kind in COMPOSED and kind not in MODERN
               for conv in ("torch", "lasagne")
               for name in spec.defaults(conv)
               if conv == "torch" or spec.lasagne is not None]


@pytest.mark.parametrize("kind,conv,name", HYPERPARAMS,
                         ids=[f"{k}-{c}-{n}" for k, c, n in HYPERPARAMS])
def test_every_hyperparameter_changes_the_trajectory(kind, conv, name):
    wobbly = load_surface("wobbly")
    base = dict(SETTINGS[kind]) if conv == "torch" else {}
    if kind == "rmsprop" and conv == "torch" and name == "centered":
        base = {"lr": 0.02}
    base.setdefault(name, OPTIMIZERS[kind].defaults(conv)[name])
    if name == "eps":
        base["eps"] = 0.5  # eps must matter against the gradient's size
    if kind == "prodigy" and name in ("eps", "d0"):
        base[name] = 0.5 if name == "eps" else 1e-3
    if kind == "sophia" and name == "eps":
        base["eps"] = 0.5
    if name == "amsgrad":
        base["beta2"] = 0.5  # the max of v only differs from v once v falls
    changed = dict(base, **{name: _perturbed(name, base[name])})
    a = simulate(wobbly, {"o": make_optimizer(kind, conv, **base)}, STARTS[0], 20)
    b = simulate(wobbly, {"o": make_optimizer(kind, conv, **changed)}, STARTS[0], 20)
    assert not np.allclose(a.points, b.points, rtol=1e-9, atol=1e-12), (kind, name)


def test_first_moment_is_exposed_where_an_optimizer_has_one():
    for kind, expected in [("adam", True), ("momentum", True), ("nag", True), ("sgd", False),
                           ("newton", False)]:
        opt = make_optimizer(kind)
        state = opt.init(START.copy())
        _, state = opt.update(QUAD.grad(START), state, START, QUAD)
        assert (first_moment(state) is not None) == expected, kind


@pytest.mark.parametrize("kind,given,key,fragment", [
    ("adma", {}, "type", "did you mean 'adam'"),
    ("adam", {"betas": 0.9}, "betas", "did you mean 'beta1'"),
    ("adam", {"lr": 0}, "lr", "> 0"),
    ("adam", {"lr": -0.1}, "lr", "> 0"),
    ("momentum", {"momentum": 1.0}, "momentum", "[0, 1)"),
    ("adam", {"beta2": 1.5}, "beta2", "[0, 1)"),
    ("adam", {"eps": 0}, "eps", "> 0"),
    ("adam", {"lr": "fast"}, "lr", "must be a number"),
    ("adam", {"lr": True}, "lr", "must be a number"),
    ("adam", {"lr": float("nan")}, "lr", "finite"),
    ("adadelta", {"delta_init": -1}, "delta_init", ">= 0"),
    ("nag", {"lookahead": "mean4"}, "lookahead", "did you mean 'mean3'"),
    ("rmsprop", {"centered": "yes"}, "centered", "must be one of"),
    ("adabound", {"gamma": 0}, "gamma", "> 0"),
    ("sgd", {"momentum": 0.9}, "momentum", "sgd has no hyperparameter"),
])
def test_bad_hyperparameters(kind, given, key, fragment):
    with pytest.raises(ConfigError) as err:
        resolve_hyperparams(kind, given)
    assert err.value.key == key and fragment in str(err.value)


def test_unknown_conventions():
    with pytest.raises(ConfigError, match="did you mean 'lasagne'"):
        resolve_hyperparams("adam", {}, "lasange")


def test_labels_and_descriptions():
    assert default_label("nesterov", resolve_hyperparams("nesterov", {"momentum": 0.975})) \
        == "nesterov momentum=0.975"
    assert default_label("adam", resolve_hyperparams("adam", {})) == "adam"
    assert default_label("adam", resolve_hyperparams("adam", {"lr": 0.25})) == "adam lr=0.25"
    for kind in COMPOSED:
        text = describe_optimizer(kind)
        assert "defaults (torch)" in text and "reference" in text
        assert ("lr=" in text) != (kind in ("sam", "lookahead")), kind  # wrappers: the base's


def test_labels_keep_values_apart():
    a = default_label("adam", resolve_hyperparams("adam", {"lr": 0.1234567}))
    b = default_label("adam", resolve_hyperparams("adam", {"lr": 0.1234568}))
    assert a != b and a == "adam lr=0.1234567"
    cfg_text = ("surface: wobbly\noptimizers: [{type: adam, lr: 0.1234567}, "
                "{type: adam, lr: 0.1234568}]\n")
    from optviz.input.config import parse_config

    assert len(parse_config(cfg_text).optimizers) == 2


def test_hyperparameter_arrays_must_be_one_value_per_run():
    with pytest.raises(ConfigError, match=r"shape \(N, 1\)"):
        make_optimizer("sgd", lr=np.array([0.1, 10.0]))  # would act per coordinate
    make_optimizer("sgd", lr=np.array([[0.1], [10.0]]))


def test_quoted_number_gets_a_hint():
    with pytest.raises(ConfigError) as err:
        resolve_hyperparams("adam", {"lr": "1e-3"})
    assert "without quotes" in str(err.value)


def test_describe_gives_every_optimizer_in_the_basic_form():
    from optviz.core.optim import get_spec

    for kind in OPTIMIZERS:  # type torch too
        text = describe_optimizer(kind)
        assert "basic form θ ← θ − α_t · V_t ⊙ m_t" in text, kind
        form = get_spec(kind).basic_form
        for part in (form.alpha, form.V, form.m):
            assert part and part in text, (kind, part)
    assert "weight_decay=0.01 (>= 0)" in describe_optimizer("adamw")
    assert "amsgrad=False (one of False, True)" in describe_optimizer("adamw")
    assert "torch.optim.AdamW" in describe_optimizer("adamw")


def test_registry_answers_what_the_tables_used_to():
    from optviz.core.optim import counters_of, main_param, needs_oracle

    assert main_param("adam") == "beta1" and main_param("rmsprop") == "rho"
    assert main_param("sgd") is None and main_param("nag") == "momentum"
    assert needs_oracle("newton") and needs_oracle("nag") and not needs_oracle("adam")
    assert counters_of("newton") == {"newton_fallbacks": "fallbacks"}
    for kind, spec in OPTIMIZERS.items():
        names = spec.defaults("torch")
        assert spec.main_param is None or spec.main_param in names, kind
        assert ("first_moment" in spec.exposes) == (kind in {
            "momentum", "nesterov", "nag", "rmsprop", "adam", "adamw", "amsgrad", "adamax",
            "nadam", "radam", "adabound", "amsbound",
            "lion", "signum", "adan", "adopt", "sam", "lookahead", "prodigy", "sophia"}), kind


def test_effective_step_is_alpha_times_v():
    from optviz.core.optim import effective_step

    opt = make_optimizer("adam", lr=0.1)
    state = opt.init(START.copy())
    _, state = opt.update(G0[None], state, START, QUAD)
    # t = 1: α = lr/(1 − β1), V = 1/(|g| + eps) as sqrt(v/(1 − β2)) = |g|
    np.testing.assert_allclose(effective_step(state), 0.1 / 0.1 / (np.abs(G0) + 1e-8)[None],
                               rtol=1e-12)
    sgd = make_optimizer("sgd", lr=0.3)
    _, s = sgd.update(G0[None], sgd.init(START.copy()), START, QUAD)
    assert effective_step(s) == 0.3
    nag = make_optimizer("nag")
    _, s = nag.update(G0[None], nag.init(START.copy()), START, QUAD)
    assert effective_step(s) is None


def test_an_optimizers_defaults_live_in_its_registry_entry_only():
    """One home per fact: no factory the registry builds with repeats a default of a
    hyperparameter the registry declares (adadelta's rho was 0.9 in its factory and
    0.95 in the registry's Lasagne entry), and every factory is called with all of them."""
    import functools
    import inspect

    from optviz.core.optim.registry import OPTIMIZERS

    repeated, missing = [], []
    for name, spec in OPTIMIZERS.items():
        if spec.resolve is not None:  # type torch: torch's own signature
            continue
        for conv in ("torch", "lasagne"):
            fn, bound = spec.factory(conv), {}
            while isinstance(fn, functools.partial):
                bound.update(fn.keywords)
                fn = fn.func
            sig = inspect.signature(fn).parameters
            declared = {p.name for p in spec.param_specs(conv)}
            repeated += [(name, conv, n) for n in declared
                         if n in sig and sig[n].default is not inspect.Parameter.empty]
            missing += [(name, conv, n) for n, p in sig.items()
                        if p.default is inspect.Parameter.empty and p.kind == p.KEYWORD_ONLY
                        and n not in declared | set(bound)]
    assert repeated == [] and missing == []


def test_labels_hide_the_parameters_the_registry_calls_quiet():
    from optviz.core.optim.registry import get_spec
    from optviz.render.labels import optimizer_label

    quiet = {p.name for p in get_spec("rmsprop").params if p.quiet}
    assert quiet == {"eps", "centered"}
    assert optimizer_label("rmsprop", {"lr": 0.1, "eps": 1e-8, "rho": 0.99}) == \
        "rmsprop lr=0.1 rho=0.99"
    assert "eps=0.001" in optimizer_label("rmsprop", {"lr": 0.1, "eps": 1e-3})
    assert get_spec("nag").moment_units == "parameter" and get_spec("adam").moment_units \
        == "gradient"
