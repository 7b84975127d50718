"""The modern optimizers (optviz/core/optim/modern.py) without torch.

- against the reference trajectories recorded by tests/reference/record_modern.py
  (lion-pytorch, pytorch_optimizer, prodigyopt, schedulefree, and a transcription
  of Sophia's Algorithm 3): the path and the exposed inner value;
- first steps worked out by hand on f = x² + 2y² (∇f = (2x, 4y), diag ∇²f = (2, 4));
- N runs stacked equal N runs alone; (N, 1) hyperparameters equal scalar runs;
- every hyperparameter changes the path; config and describe.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from optviz.core.engine import simulate
from optviz.core.optim import OPTIMIZERS, describe_optimizer, make_optimizer
from optviz.core.surfaces import load_surface
from optviz.errors import ConfigError
from optviz.input.config import parse_config

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "reference_modern.json").read_text())
MODERN = ["lion", "signsgd", "signum", "adan", "adopt", "sam", "lookahead", "prodigy",
          "sgd_schedulefree", "adamw_schedulefree", "sophia"]
QUAD = load_surface({"formula": "x**2 + 2*y**2", "domain": {"x": [-5, 5], "y": [-5, 5]}})
SURFACES = {name: load_surface(spec) for name, spec in FIXTURE["surfaces"].items()}


def run(kind, hp, starts, steps, surface=QUAD, field=None):
    extra = []

    def observe(t, k, grad, step, state):
        if field is not None:
            extra.append(np.array(getattr(state, field), dtype=np.float64))

    tr = simulate(surface, {"o": make_optimizer(kind, **hp)}, starts, steps, observe=observe)
    return tr, (np.array(extra) if field else None)


# ----------------------------------------------------------------- recorded references
GROUPS = sorted({(r["case"], r["surface"]) for r in FIXTURE["runs"]})


def test_fixture_covers_every_modern_optimizer_and_names_its_versions():
    assert {r["type"] for r in FIXTURE["runs"]} == set(MODERN)
    assert set(FIXTURE["versions"]) == {"torch", "lion-pytorch", "schedulefree", "prodigyopt",
                                        "pytorch_optimizer"}
    assert all(len(r["points"]) == r["steps"] + 1 == 201 for r in FIXTURE["runs"])


@pytest.mark.parametrize("case,surface", GROUPS, ids=[f"{c}-{s}" for c, s in GROUPS])
def test_matches_recorded_reference(case, surface):
    runs = [r for r in FIXTURE["runs"] if r["case"] == case and r["surface"] == surface]
    first = runs[0]
    starts = np.array([r["start"] for r in runs])  # both starts in one batch
    tr, extra = run(first["type"], first["hyperparams"], starts, first["steps"],
                    SURFACES[surface], first["extra_field"])
    rtol, atol = first["tolerance"]
    for n, r in enumerate(runs):
        ref = np.array(r["points"])
        exact = r["exact_steps"] + 1
        assert tr.steps[0, n] == r["steps"]
        np.testing.assert_allclose(tr.points[0, n, :exact], ref[:exact], rtol=rtol, atol=atol)
        if exact < len(ref):  # chaotic tail: same oscillation, see modern_cases.CHAOTIC
            assert np.abs(tr.points[0, n, exact:] - ref[exact:]).max() < FIXTURE["chaotic_spread"]
        if r["extra"] is not None:
            ref_extra = np.array(r["extra"])
            ours = extra[:, n].reshape(ref_extra.shape)
            np.testing.assert_allclose(ours[:exact - 1], ref_extra[:exact - 1], rtol=rtol,
                                       atol=atol)


# ----------------------------------------------------------------- first steps by hand
X0 = np.array([[1.0, 1.0]])  # ∇f = (2, 4)


def one(kind, hp, steps=1, field=None):
    tr, extra = run(kind, hp, X0, steps, field=field)
    return tr.points[0, 0], extra


def test_lion_first_step_is_lr_times_sign():
    pts, _ = one("lion", {"lr": 0.1})
    np.testing.assert_allclose(pts[1], [0.9, 0.9], rtol=0, atol=1e-15)
    pts, _ = one("lion", {"lr": 0.1, "weight_decay": 0.5})  # θ(1 − 0.05) − 0.1
    np.testing.assert_allclose(pts[1], [0.85, 0.85], rtol=1e-15)


def test_sign_methods_first_steps():
    for kind in ("signsgd", "signum"):
        pts, _ = one(kind, {"lr": 0.25})
        np.testing.assert_allclose(pts[1], [0.75, 0.75], rtol=1e-15)
    # signum's momentum remembers: after (2, 4) at (1, 1), a gradient at (0.75, -0.25)
    # is (1.5, -1); b = 0.9·(0.2, 0.4) + 0.1·(1.5, −1) = (0.33, 0.26): both still positive
    quad = {"lr": 0.25}
    pts, _ = one("signum", quad, steps=2)
    np.testing.assert_allclose(pts[2], [0.5, 0.5], rtol=1e-15)
    # signsgd follows the sign of the latest gradient: (0.75, 0.75) -> g = (1.5, 3) -> (0.5, 0.5)


def test_adan_first_step():
    # Δ = 0, m = 0.02g, n = 0, v = 0.01g², d = |g| + eps: step = −lr·g/(|g| + eps)
    pts, _ = one("adan", {"lr": 0.1})
    np.testing.assert_allclose(pts[1], [1 - 0.1 * 2 / (2 + 1e-8), 1 - 0.1 * 4 / (4 + 1e-8)],
                               rtol=1e-14)


def test_adopt_waits_one_step_then_normalises_by_the_old_moment():
    pts, _ = one("adopt", {"lr": 0.1}, steps=2)
    np.testing.assert_array_equal(pts[1], [1.0, 1.0])  # step 1 only sets v = g² = (4, 16)
    # step 2, same gradient: ĝ = g/sqrt(v) = (1, 1) (clip 2^¼ inactive), m = 0.1·ĝ
    np.testing.assert_allclose(pts[2], [0.99, 0.99], rtol=1e-15)


def test_sam_takes_the_gradient_at_the_perturbed_point():
    pts, perturbed = one("sam", {"rho": 0.5, "base": {"type": "sgd", "lr": 0.1}},
                         field="perturbed")
    e = 0.5 * np.array([2.0, 4.0]) / (np.sqrt(20.0) + 1e-12)  # pytorch_optimizer's perturb_eps
    p = np.array([1.0, 1.0]) + e
    np.testing.assert_allclose(perturbed[0, 0], p, rtol=1e-15)
    np.testing.assert_allclose(pts[1], [1 - 0.1 * 2 * p[0], 1 - 0.1 * 4 * p[1]], rtol=1e-14)


def test_lookahead_pulls_back_every_k_steps():
    hp = {"k": 2, "alpha": 0.5, "base": {"type": "sgd", "lr": 0.1}}
    pts, slow = one("lookahead", hp, steps=2, field="slow")
    # fast: (1, 1) -> (0.8, 0.6) -> (0.64, 0.36); then halfway back to (1, 1)
    np.testing.assert_allclose(pts[1], [0.8, 0.6], rtol=1e-15)
    np.testing.assert_allclose(pts[2], [0.82, 0.68], rtol=1e-14)
    np.testing.assert_array_equal(slow[0, 0], [1.0, 1.0])
    np.testing.assert_allclose(slow[1, 0], [0.82, 0.68], rtol=1e-14)


def test_prodigy_first_step_and_estimate():
    pts, d = one("prodigy", {}, steps=1, field="d")
    # d stays d0 = 1e-6; step = −d0·lr·(1−β1)·g/(sqrt(1−β2)·|g| + eps)
    expect = 1 - 1e-6 * 0.1 * np.array([2, 4]) / (np.sqrt(0.001) * np.array([2, 4]) + 1e-8)
    np.testing.assert_allclose(pts[1], expect, rtol=1e-14)
    assert d[0, 0, 0] == 1e-6
    _, d = one("prodigy", {}, steps=30, field="d")
    assert d[-1, 0, 0] > 1e-3  # the estimate grows by orders of magnitude


def test_schedulefree_path_is_the_average_and_y_where_the_gradient_is_taken():
    lr, beta = 0.1, 0.9
    pts, y = one("sgd_schedulefree", {"lr": lr, "momentum": beta}, steps=2, field="y")
    z1 = np.array([1.0, 1.0]) - lr * np.array([2.0, 4.0])  # c_1 = 1: x1 = y1 = z1
    np.testing.assert_allclose(pts[1], z1, rtol=1e-15)
    np.testing.assert_allclose(y[0, 0], z1, rtol=1e-15)
    z2 = z1 - lr * np.array([2 * z1[0], 4 * z1[1]])  # gradient at y1
    np.testing.assert_allclose(pts[2], (z1 + z2) / 2, rtol=1e-14)  # c_2 = 1/2: the mean
    np.testing.assert_allclose(y[1, 0], (1 - beta) * z2 + beta * (z1 + z2) / 2, rtol=1e-14)


def test_sophia_first_step_clipped_and_unclipped():
    # m = 0.04·(2, 4), h = 0.01·(2, 4): m/(γh) = 4/γ per coordinate
    pts, _ = one("sophia", {"lr": 0.1})  # γ = 0.01: ratio 400 -> clipped to 1
    np.testing.assert_allclose(pts[1], [0.9, 0.9], rtol=1e-15)
    pts, _ = one("sophia", {"lr": 0.1, "gamma": 10.0})  # ratio 0.4
    np.testing.assert_allclose(pts[1], [0.96, 0.96], rtol=1e-14)


def test_sophia_refreshes_the_hessian_every_k_steps():
    opt = make_optimizer("sophia", k=3)
    calls = []

    class Counting:
        def grad(self, p):
            return QUAD.grad(p)

        def hess(self, p):
            calls.append(len(calls))
            return QUAD.hess(p)

    state, x = opt.init(X0.copy()), X0.copy()
    for _ in range(7):
        step, state = opt.update(QUAD.grad(x), state, x, Counting())
        x = x + step
    assert len(calls) == 3  # t = 1, 4, 7


# ----------------------------------------------------------------- batches and arrays
STARTS = np.array([[-2.8, -2.5], [1.0, 2.0], [0.3, -1.1], [2.5, 0.0], [-1.0, 1.0]])
SETTINGS = {
    "lion": {"lr": 0.02}, "signsgd": {"lr": 0.02}, "signum": {"lr": 0.02},
    "adan": {"lr": 0.05}, "adopt": {"lr": 0.05},
    "sam": {"rho": 0.1, "base": {"type": "adam", "lr": 0.05}},
    "lookahead": {"k": 3, "base": {"type": "momentum", "lr": 0.01}},
    "prodigy": {"lr": 0.5}, "sgd_schedulefree": {"lr": 0.05, "warmup_steps": 5},
    "adamw_schedulefree": {"lr": 0.05, "warmup_steps": 5}, "sophia": {"lr": 0.05, "k": 3},
}


@pytest.mark.parametrize("kind", MODERN)
def test_batch_equals_separate_runs(kind):
    wobbly = SURFACES["wobbly"]
    together, _ = run(kind, SETTINGS[kind], STARTS, 40, wobbly)
    for i in range(len(STARTS)):
        alone, _ = run(kind, SETTINGS[kind], STARTS[i], 40, wobbly)
        np.testing.assert_array_equal(together.points[0, i], alone.points[0, 0])


@pytest.mark.parametrize("kind,name,values", [
    ("lion", "lr", [0.01, 0.03, 0.1]), ("signum", "momentum", [0.0, 0.5, 0.9]),
    ("adan", "beta2", [0.5, 0.92, 0.99]), ("adopt", "lr", [0.01, 0.05, 0.2]),
    ("sam", "rho", [0.0, 0.05, 0.3]), ("lookahead", "alpha", [0.2, 0.5, 1.0]),
    ("lookahead", "k", [1.0, 3.0, 5.0]), ("prodigy", "d0", [1e-6, 1e-4, 1e-2]),
    ("sgd_schedulefree", "lr", [0.01, 0.05, 0.2]),
    ("adamw_schedulefree", "warmup_steps", [0.0, 5.0, 20.0]), ("sophia", "gamma", [0.01, 0.1, 1.0]),
])
def test_array_hyperparameters_equal_scalar_runs(kind, name, values):
    wobbly = SURFACES["wobbly"]
    column = np.array(values)[:, None]
    together, _ = run(kind, dict(SETTINGS[kind], **{name: column}),
                      np.repeat(STARTS[:1], 3, axis=0), 30, wobbly)
    for i, v in enumerate(values):
        alone, _ = run(kind, dict(SETTINGS[kind], **{name: v}), STARTS[0], 30, wobbly)
        np.testing.assert_allclose(together.points[0, i], alone.points[0, 0], rtol=1e-14)


def _changed(kind, name, value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, dict):
        return {"type": "nesterov", "lr": 0.01}
    table = {"beta3": 0.5, "growth_rate": 1.01, "warmup_steps": 20, "k": 2, "alpha": 0.9,
             "r": 2.0, "weight_lr_power": 0.5, "weight_decay": 0.3, "eps": 0.5, "rho": 0.3,
             "d0": 1e-3, "d_coef": 0.3, "gamma": 0.5}
    if name in table and value != table[name]:
        return table[name]
    if name in ("beta1", "beta2", "momentum"):
        return 0.5
    return value * 3


# settings where each hyperparameter matters (decouple needs decay; weight_lr_power
# needs a changing lr, so a warm-up; use_bias_correction and eps need small d / big eps)
HP_BASE = dict(SETTINGS, prodigy={"lr": 0.5, "weight_decay": 0.2},
               adamw_schedulefree={"lr": 0.05, "warmup_steps": 5},
               sgd_schedulefree={"lr": 0.05, "warmup_steps": 5},
               sophia={"lr": 0.05, "k": 3, "gamma": 1.0})  # unclipped: every term counts
NEAR_MINIMUM = {"lion", "signum", "sophia"}  # sign steps: momentum shows when the path turns
HP_CASES = [(kind, name) for kind in MODERN for name in OPTIMIZERS[kind].defaults()]


@pytest.mark.parametrize("kind,name", HP_CASES, ids=[f"{k}-{n}" for k, n in HP_CASES])
def test_every_hyperparameter_changes_the_path(kind, name):
    wobbly = SURFACES["wobbly"]
    base = dict(HP_BASE[kind])
    base.setdefault(name, OPTIMIZERS[kind].defaults()[name])
    if base[name] is None:  # prodigy's derived defaults
        base[name] = {"beta3": np.sqrt(0.999), "growth_rate": 1e9}[name]
    changed = dict(base, **{name: _changed(kind, name, base[name])})
    start = [0.3, -1.1] if kind in NEAR_MINIMUM else STARTS[0]
    a, _ = run(kind, base, start, 30, wobbly)
    b, _ = run(kind, changed, start, 30, wobbly)
    assert not np.allclose(a.points, b.points, rtol=1e-9, atol=1e-12), (kind, name)


# ----------------------------------------------------------------- config, describe
def test_nested_base_from_yaml_and_its_errors():
    text = ("surface: wobbly\noptimizers:\n  - {type: sam, rho: 0.1, base: {type: adam, "
            "lr: 0.1}}\n  - type: lookahead\n    base:\n      type: sgd\n      lr: 2x\n")
    with pytest.raises(ConfigError) as err:
        parse_config(text, "run.yaml")
    assert err.value.line == 7 and err.value.key == "optimizers[1].base.lr"
    for bad, fragment in [("base: {lr: 0.1}", "with a 'type'"), ("base: 3", "with a 'type'"),
                          ("base: {type: adma}", "did you mean 'adam'"),
                          ("base: {type: sgd, mom: 0.9}", "no hyperparameter")]:
        with pytest.raises(ConfigError, match=fragment):
            parse_config(f"surface: wobbly\noptimizers: [{{type: sam, {bad}}}]\n")
    cfg = parse_config(text.replace("2x", "0.2"))
    sam, look = cfg.optimizers
    assert sam.label == "sam base=(adam lr=0.1) rho=0.1"
    assert look.params["base"] == {"type": "sgd", "lr": 0.2, "weight_decay": 0.0}
    # the run's trajectory is the wrapper around that base, as built by hand
    opt = make_optimizer("sam", rho=0.1, base={"type": "adam", "lr": 0.1})
    ref = simulate(SURFACES["wobbly"], {"a": opt}, [[1.0, 0.5]], 20).points
    built = make_optimizer(sam.type, **sam.params)
    np.testing.assert_array_equal(simulate(SURFACES["wobbly"], {"a": built}, [[1.0, 0.5]],
                                           20).points, ref)


def test_sam_around_sam_and_string_bases():
    opt = make_optimizer("lookahead", base={"type": "sam", "base": "sgd"})
    tr = simulate(QUAD, {"o": opt}, X0, 5)
    assert np.isfinite(tr.points).all() and not np.allclose(tr.points[0, 0, -1], X0[0])


@pytest.mark.parametrize("kind", MODERN)
def test_describe_names_paper_and_reference(kind):
    text = describe_optimizer(kind)
    assert "arXiv:" in text and "defaults (torch)" in text
    version = {"lion": "0.2.5", "prodigy": "1.1.2", "sgd_schedulefree": "1.4.1",
               "adamw_schedulefree": "1.4.1", "sophia": "Algorithm 3"}.get(kind, "4.1.0")
    assert version in text


def test_bad_modern_hyperparameters():
    for kind, hp, fragment in [("lookahead", {"k": 2.5}, "whole number"),
                               ("lookahead", {"alpha": 1.5}, r"in \[0, 1\]"),
                               ("prodigy", {"d0": 0}, "> 0"),
                               ("prodigy", {"use_bias_correction": "yes"}, "must be one of"),
                               ("sgd_schedulefree", {"warmup_steps": -1}, "whole number"),
                               ("sgd_schedulefree", {"momentum": 0.0}, r"in \(0, 1\)"),
                               ("adan", {"beta3": None}, "must be a number"),
                               ("lion", {"weight_decay": -0.1}, ">= 0")]:
        with pytest.raises(ConfigError, match=fragment):
            make_optimizer(kind, **hp)


def test_overlay_values_in_the_state():
    from optviz.core.optim import first_moment
    from optviz.core.optim.modern import inner_point

    def state_after(kind, hp, steps=3):
        opt = make_optimizer(kind, **hp)
        state, x = opt.init(X0.copy()), X0.copy()
        for _ in range(steps):
            step, state = opt.update(QUAD.grad(x), state, x, QUAD)
            x = x + step
        return state

    sam = state_after("sam", {"base": {"type": "adam", "lr": 0.1}})
    assert inner_point(sam)[0] == "perturbed"
    np.testing.assert_array_equal(first_moment(sam), first_moment(sam.base))  # the base's m
    look = state_after("lookahead", {"k": 2, "base": {"type": "sgd", "lr": 0.1}})
    assert inner_point(look)[0] == "slow" and first_moment(look) is None  # sgd keeps none
    for kind in ("sgd_schedulefree", "adamw_schedulefree"):
        name, y = inner_point(state_after(kind, {"lr": 0.1}))
        assert name == "y" and y.shape == (1, 2)
    prodigy = state_after("prodigy", {})
    np.testing.assert_allclose(first_moment(prodigy), prodigy.exp_avg / prodigy.d)
    assert inner_point(state_after("adan", {})) is None


def test_prodigy_records_its_final_d():
    opt = make_optimizer("prodigy")
    tr = simulate(SURFACES["wobbly"], {"p": opt, "a": make_optimizer("adam")}, [[1.0, 0.5]], 20)
    d = tr.counters["prodigy_d"]
    assert d.shape == (2, 1) and d[0, 0] > 1e-6 and d[1, 0] == 0  # adam keeps none
    state, x = opt.init(np.array([[1.0, 0.5]])), np.array([[1.0, 0.5]])
    for _ in range(20):
        step, state = opt.update(SURFACES["wobbly"].grad(x), state, x, SURFACES["wobbly"])
        x = x + step
    assert d[0, 0] == state.d[0, 0]


def test_explore_takes_wrappers_and_modern_optimizers():
    from types import SimpleNamespace

    from test_teaching import _explorer

    e, _ = _explorer("surface: wobbly\nsteps: 20\noptimizers: [{type: sam, base: {type: adam, "
                     "lr: 0.1}}, {type: lookahead}, {type: lion, lr: 0.01}, {type: prodigy}, "
                     "{type: sophia}, {type: sgd_schedulefree, lr: 0.05}]\n")
    assert e.lr_sliders[0] is None and e.lr_sliders[2] is not None  # sam's lr is its base's
    e.step_slider.set_val(10)
    e.on_click(SimpleNamespace(inaxes=e.ax, xdata=1.0, ydata=-2.0))
    e.main_sliders[0].set_val(0.2)
    assert e.params[0]["rho"] == 0.2
    e.radio.set_active([t.get_text() for t in e.radio.labels].index("rosenbrock"))
    assert e.surface.name == "rosenbrock" and "lr" not in e.params[0]


def test_web_page_grid_refuses_wrappers_clearly():
    from optviz.render.web import optimizer_grids

    cfg = parse_config("surface: wobbly\nsteps: 5\noptimizers: [{type: lion, lr: 0.01}, "
                       "{type: sam, base: {type: adam, lr: 0.1}}]\n")
    with pytest.raises(ConfigError, match="sam has none of its own"):
        optimizer_grids(cfg)
    assert len(optimizer_grids(parse_config("surface: wobbly\noptimizers: [lion, prodigy]\n"))) == 2


@pytest.mark.parametrize("kind", ["momentum", "adam", "amsgrad", "adamax", "adabound",
                                  "amsbound", "prodigy"])
def test_step_is_minus_alpha_v_times_m(kind):
    """The basic form θ ← θ − α_t·V_t ⊙ m_t holds for what the state exposes (the
    step panel's α_t·V_t and the overlays' first moment), step after step."""
    from optviz.core.optim import effective_step, first_moment

    surface = load_surface("wobbly")
    opt = make_optimizer(kind)
    p = np.array([[-2.8, -2.5], [1.0, 0.5]])
    state = opt.init(p)
    for _ in range(20):
        step, state = opt.update(surface.grad(p), state, p, surface)
        m = first_moment(state)
        np.testing.assert_allclose(step, -np.broadcast_to(effective_step(state), m.shape) * m,
                                   rtol=1e-12, atol=1e-15)
        p = p + step
