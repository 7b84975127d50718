"""The optimizer registry: every fact about an optimizer in its one entry.

An :class:`OptimizerSpec` holds the factories (torch and, where it differs,
Lasagne conventions), the hyperparameters with types, defaults and ranges
(:class:`Param`), the main hyperparameter for sliders, what the optimizer
needs from the surface, its counters, what it exposes for overlays, its
"basic form" θ ← θ − α_t·V_t ⊙ m_t and its reference. explore, response, the
engine and the runner ask the registry; nothing else keeps a table.

:func:`register_optimizer` adds one (a plugin package does so through the
entry-point group ``optviz.optimizers``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from optviz.core.optim import aliases as A
from optviz.core.optim import modern as M
from optviz.core.optim import torch_adapter
from optviz.core.optim.base import Optimizer
from optviz.errors import ConfigError, did_you_mean

CONVENTIONS = ("torch", "lasagne")
NEEDS = ("gradient", "oracle", "hessian")  # gradient only / more gradients / the Hessian


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its default, and either a numeric range or choices.

    A range is given once, as bounds (``minimum`` .. ``maximum``, each inclusive
    unless ``exclusive_*``; ``integer`` for whole numbers): the check, the words
    for errors and describe (``expect``) and the config's JSON Schema come from
    them. A ``check`` of one's own (a plugin's) is kept as given.
    """

    name: str
    default: Any
    check: Callable[[Any], bool] | None = None  # for numbers; takes arrays too
    expect: str = ""  # the range in words, for errors and describe
    choices: tuple = ()  # booleans or strings: the value must be one of them
    none: str = ""  # what None means, if None is accepted (prodigy's beta3: sqrt(beta2))
    optimizer: bool = False  # a nested optimizer (sam's and lookahead's base)
    # in labels only when changed from its default: a numerical guard or a switch that
    # leaves the path alone at its default (eps, dampening, centered, ...)
    quiet: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    integer: bool = False

    def __post_init__(self):
        if self.check is None and (self.minimum is not None or self.maximum is not None
                                   or self.integer):
            object.__setattr__(self, "check", partial(_in_bounds, self))
            if not self.expect:
                object.__setattr__(self, "expect", _bounds_text(self))

    @property
    def kind(self) -> str:
        if self.optimizer:
            return "optimizer"
        if self.choices:
            return "bool" if isinstance(self.choices[0], bool) else "choice"
        return "float"

    def with_default(self, default) -> Param:
        return replace(self, default=default)

    def describe(self) -> str:
        if self.choices:
            return f"{self.name}={_fmt(self.default)} (one of {', '.join(map(str, self.choices))})"
        expect = "; ".join(x for x in (self.expect, self.none and f"None: {self.none}") if x)
        return f"{self.name}={_fmt(self.default)}" + (f" ({expect})" if expect else "")


def _in_bounds(p: Param, v) -> bool:
    ok = np.ones(np.shape(v), dtype=bool)
    if p.minimum is not None:
        ok &= (v > p.minimum) if p.exclusive_minimum else (v >= p.minimum)
    if p.maximum is not None:
        ok &= (v < p.maximum) if p.exclusive_maximum else (v <= p.maximum)
    if p.integer:
        ok &= v == np.floor(v)
    return bool(np.all(ok))


def _bounds_text(p: Param) -> str:
    lo, hi = p.minimum, p.maximum
    if lo is not None and hi is not None:
        text = ("(" if p.exclusive_minimum else "[") + f"{lo:g}, {hi:g}" + \
            (")" if p.exclusive_maximum else "]")
        text = f"in {text}"
    elif lo is not None:
        text = (">" if p.exclusive_minimum else ">=") + f" {lo:g}"
    elif hi is not None:
        text = ("<" if p.exclusive_maximum else "<=") + f" {hi:g}"
    else:
        text = ""
    return f"a whole number {text}".strip() if p.integer else text


def _unit(name, d):
    return Param(name, d, minimum=0, maximum=1, exclusive_maximum=True)


def _quiet(param: Param) -> Param:
    """*param*, shown in labels only when changed (:attr:`Param.quiet`)."""
    return replace(param, quiet=True)


def _pos(name, d):
    return Param(name, d, minimum=0, exclusive_minimum=True)


def _nonneg(name, d):
    return Param(name, d, minimum=0)


def _flag(name, d=False):
    return Param(name, d, choices=(False, True))


def _lr(d):
    return _pos("lr", d)


def _whole(name, d, low):
    return Param(name, d, minimum=low, integer=True)


def _open_unit(name, d):
    return Param(name, d, minimum=0, maximum=1, exclusive_minimum=True, exclusive_maximum=True)


def _closed_unit(name, d):
    return Param(name, d, minimum=0, maximum=1)


_WD = _nonneg("weight_decay", 0.0)
_DAMP = _quiet(_closed_unit("dampening", 0.0))


@dataclass(frozen=True)
class BasicForm:
    """θ ← θ − α_t · V_t ⊙ m_t: the step size, the per-coordinate scaling, the direction."""

    alpha: str
    V: str
    m: str
    note: str = ""

    def text(self) -> str:
        lines = ["basic form θ ← θ − α_t · V_t ⊙ m_t:", f"  α_t = {self.alpha}",
                 f"  V_t = {self.V}", f"  m_t = {self.m}"]
        if self.note:
            lines.append(f"  ({self.note})")
        return "\n".join(lines)


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything optviz knows about one optimizer."""

    name: str
    summary: str
    reference: str
    torch: Callable[..., Optimizer]  # the factory under torch conventions
    params: tuple[Param, ...]
    lasagne: Callable[..., Optimizer] | None = None  # None: same as torch
    lasagne_params: tuple[Param, ...] | None = None  # None: the torch ones
    main_param: str | None = None  # the second slider in explore
    needs: str = "gradient"  # "gradient", "oracle" (more gradients) or "hessian"
    counters: Mapping[str, str] = field(default_factory=dict)  # output name -> state field
    exposes: tuple[str, ...] = ()  # state fields overlays may show ("first_moment")
    # the units of the exposed first moment: "gradient", or "parameter" where it is kept
    # as a step (NAG's v: θ ← θ − v), which the overlays divide by the lr
    moment_units: str = "gradient"
    basic_form: BasicForm | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)  # other spellings: {"alpha": "rho"}
    lr_note: str = ""
    schedulable: bool = True  # the lr (and momentum) may change every step
    origin: str = "optviz"  # "optviz", or who registered it
    resolve: Callable[..., dict] | None = None  # its own checking (type torch's open arguments)
    # conventions: script (a response config): the seed article's response script's own
    # rule for it, these its hyperparameters (the rule: optviz.analysis.response)
    script_params: tuple[Param, ...] | None = None

    def factory(self, conventions: str) -> Callable[..., Optimizer]:
        return self.lasagne if conventions == "lasagne" and self.lasagne else self.torch

    def param_specs(self, conventions: str = "torch") -> tuple[Param, ...]:
        if conventions == "lasagne" and self.lasagne_params is not None:
            return self.lasagne_params
        return self.params

    def defaults(self, conventions: str = "torch") -> dict[str, Any]:
        return {p.name: p.default for p in self.param_specs(conventions)}

    @property
    def needs_oracle(self) -> bool:
        """True if the update rule asks the surface for more than the gradient at θ."""
        return self.needs != "gradient"


_NO_LR = "torch 2.x's SGD defaults to lr=1e-3; optviz uses 0.01, which moves visibly in 125 steps"
_ADAM_FORM = BasicForm("lr/(1 − β1ᵗ) (with the schedule's lr_t)",
                       "1/(sqrt(v_t/(1 − β2ᵗ)) + eps), v_t = β2·v + (1 − β2)·g²",
                       "β1·m_{t−1} + (1 − β1)·g")
_ADAM_PARAMS = (_lr(0.001), _unit("beta1", 0.9), _unit("beta2", 0.999), _quiet(_pos("eps", 1e-8)), _WD)
_NO_SCALE = "1 (no per-coordinate scaling)"


def _adam_variant(**kw):
    return dict(main_param="beta1", exposes=("first_moment",), **kw)


OPTIMIZERS: dict[str, OptimizerSpec] = {s.name: s for s in [
    OptimizerSpec(
        "sgd", "plain gradient descent", "Robbins & Monro 1951; torch.optim.SGD",
        A.sgd, (_lr(0.01), _WD), lr_note=_NO_LR,
        basic_form=BasicForm("lr", _NO_SCALE, "g + λθ")),
    OptimizerSpec(
        "momentum", "heavy-ball momentum (torch.optim.SGD with momentum)",
        "Polyak 1964; torch.optim.SGD", A.momentum,
        (_lr(0.01), _unit("momentum", 0.9), _DAMP, _WD), main_param="momentum",
        exposes=("first_moment",), lr_note=_NO_LR,
        basic_form=BasicForm("lr", _NO_SCALE, "b_t = μ·b + (1 − dampening)·g (b_1 = g)")),
    OptimizerSpec(
        "nesterov", "Nesterov momentum (torch.optim.SGD, nesterov=True)",
        "Sutskever, Martens, Dahl & Hinton 2013 (ICML); torch.optim.SGD", A.nesterov,
        (_lr(0.01), _unit("momentum", 0.9), _DAMP, _WD), main_param="momentum",
        exposes=("first_moment",), lr_note=_NO_LR,
        basic_form=BasicForm("lr", _NO_SCALE, "g + μ·b_t, b_t = μ·b + (1 − dampening)·g")),
    OptimizerSpec(
        "nag", "Nesterov's accelerated gradient, look-ahead form (the seed article's)",
        "Nesterov 1983; the article 'Методы оптимизации нейронных сетей' (Habr, 2017)",
        A.nag, (_lr(0.01), _unit("momentum", 0.9),
                _quiet(Param("lookahead", "single", choices=tuple(A.LOOKAHEADS)))),
        main_param="momentum", needs="oracle", exposes=("first_moment",),
        moment_units="parameter", lr_note="optviz's default lr 0.01",
        script_params=(_lr(0.25), _unit("momentum", 0.9),
                       # in time: the signal read at i + γv, or the mean of four points
                       Param("lookahead", "single", choices=("single", "mean4")),
                       Param("read", "article", choices=("article", "linear"))),
        basic_form=BasicForm("1", _NO_SCALE, "v_t = γ·v + lr·∇f(θ − γ·v) (parameter units)",
                             "the look-ahead gradients come from the surface, not from g")),
    OptimizerSpec(
        "adagrad", "per-coordinate steps shrinking with the summed squared gradients",
        "Duchi, Hazan & Singer 2011, JMLR 12:2121; torch.optim.Adagrad",
        A.adagrad, (_lr(0.01), _quiet(_nonneg("lr_decay", 0.0)), _quiet(_pos("eps", 1e-10)),
                    _quiet(_nonneg("initial_accumulator_value", 0.0)), _WD),
        lasagne=A.adagrad_lasagne, lasagne_params=(_lr(1.0), _quiet(_pos("eps", 1e-6))),
        basic_form=BasicForm("lr/(1 + (t − 1)·lr_decay)", "1/(sqrt(G_t) + eps), G_t = G + g²",
                             "g")),
    OptimizerSpec(
        "rmsprop", "steps scaled by a running RMS of the gradients",
        "Hinton 2012, Coursera 'Neural Networks' lecture 6e; torch.optim.RMSprop",
        A.rmsprop, (_lr(0.01), _unit("rho", 0.99), _quiet(_pos("eps", 1e-8)), _unit("momentum", 0.0),
                    _quiet(_flag("centered")), _WD),
        lasagne=A.rmsprop_lasagne,
        lasagne_params=(_lr(1.0), _unit("rho", 0.9), _quiet(_pos("eps", 1e-6))),
        main_param="rho", aliases={"alpha": "rho"}, exposes=("first_moment",),
        basic_form=BasicForm("lr", "1/(sqrt(a_t) + eps), a_t = ρ·a + (1 − ρ)·g²",
                             "g (with momentum μ > 0: b_t = μ·b + V_t⊙g, and V_t = 1)")),
    OptimizerSpec(
        "adadelta", "RMSProp with the step's units fixed by a running RMS of past steps",
        "Zeiler 2012, arXiv:1212.5701; torch.optim.Adadelta",
        A.adadelta, (_lr(1.0), _unit("rho", 0.9), _quiet(_pos("eps", 1e-6)), _quiet(_nonneg("delta_init", 0.0)),
                     _WD),
        lasagne=partial(A.adadelta, lasagne=True, weight_decay=0.0),
        lasagne_params=(_lr(1.0), _unit("rho", 0.95), _quiet(_pos("eps", 1e-6)),
                        _quiet(_nonneg("delta_init", 0.0))),
        main_param="rho",
        basic_form=BasicForm("lr", "sqrt(D + eps)/sqrt(a_t + eps), a_t = ρ·a + (1 − ρ)·g²", "g")),
    OptimizerSpec(
        "adam", "momentum plus RMS scaling, bias-corrected",
        "Kingma & Ba 2014, arXiv:1412.6980 (ICLR 2015); torch.optim.Adam",
        A.adam, _ADAM_PARAMS, lasagne=A.adam_lasagne, lasagne_params=_ADAM_PARAMS[:4],
        basic_form=_ADAM_FORM, script_params=(_lr(0.25), *_ADAM_PARAMS[1:3], _pos("eps", 1e-7)),
        **_adam_variant()),
    OptimizerSpec(
        "adamw", "Adam with decoupled weight decay",
        "Loshchilov & Hutter 2017, arXiv:1711.05101 (ICLR 2019); torch.optim.AdamW",
        A.adamw, (*_ADAM_PARAMS[:4], _nonneg("weight_decay", 0.01), _flag("amsgrad")),
        basic_form=replace(_ADAM_FORM, note="then θ ← θ − lr·λ·θ, decoupled from m and V"),
        **_adam_variant()),
    OptimizerSpec(
        "amsgrad", "Adam with the running maximum of the second moment",
        "Reddi, Kale & Kumar 2018 (ICLR); torch.optim.Adam(amsgrad=True)",
        partial(A.adam, amsgrad=True), _ADAM_PARAMS,
        basic_form=replace(_ADAM_FORM, V="1/(sqrt(max_{s≤t} v_s/(1 − β2ᵗ)) + eps)"),
        **_adam_variant()),
    OptimizerSpec(
        "adamax", "Adam with the infinity norm in place of the RMS",
        "Kingma & Ba 2014, arXiv:1412.6980 section 7.1; torch.optim.Adamax",
        A.adamax, (_lr(0.002), *_ADAM_PARAMS[1:]), lasagne=partial(A.adamax, lasagne=True, weight_decay=0.0),
        lasagne_params=(_lr(0.002), *_ADAM_PARAMS[1:4]),
        basic_form=BasicForm("lr/(1 − β1ᵗ)", "1/u_t, u_t = max(β2·u, |g| + eps)",
                             "β1·m_{t−1} + (1 − β1)·g"), **_adam_variant()),
    OptimizerSpec(
        "nadam", "Adam with Nesterov momentum", "Dozat 2016, ICLR workshop; torch.optim.NAdam",
        A.nadam, (_lr(0.002), *_ADAM_PARAMS[1:4], _quiet(_nonneg("momentum_decay", 0.004)), _WD),
        basic_form=BasicForm("lr", "1/(sqrt(v_t/(1 − β2ᵗ)) + eps)",
                             "(1 − μ_t)/(1 − Π_t)·g + μ_{t+1}/(1 − Π_t·μ_{t+1})·m_t"),
        **_adam_variant()),
    OptimizerSpec(
        "radam", "Adam with the variance of the adaptive lr rectified",
        "Liu et al. 2019, arXiv:1908.03265 (ICLR 2020); torch.optim.RAdam", A.radam,
        _ADAM_PARAMS, basic_form=BasicForm(
            "lr", "r_t·sqrt(1 − β2ᵗ)/(sqrt(v_t) + eps) where ρ_t > 5, else 1",
            "m_t/(1 − β1ᵗ)"), **_adam_variant()),
    OptimizerSpec(
        "adabound", "Adam whose step sizes are clipped into bounds converging to SGD's",
        "Luo, Xiong, Liu & Sun 2019, arXiv:1902.09843 (ICLR); github.com/Luolc/AdaBound",
        A.adabound, (_lr(0.001), _pos("final_lr", 0.1), _pos("gamma", 1e-3),
                     *_ADAM_PARAMS[1:]),
        basic_form=BasicForm("1", "clip(lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ)/(sqrt(v_t) + eps), lower_t, "
                             "upper_t)", "m_t", "α_t and V_t do not split: the clip acts on "
                             "their product"), **_adam_variant()),
    OptimizerSpec(
        "amsbound", "AdaBound on AMSGrad",
        "Luo, Xiong, Liu & Sun 2019, arXiv:1902.09843 (ICLR); github.com/Luolc/AdaBound",
        partial(A.adabound, amsbound=True),
        (_lr(0.001), _pos("final_lr", 0.1), _pos("gamma", 1e-3), *_ADAM_PARAMS[1:]),
        basic_form=BasicForm("1", "clip(lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ)/(sqrt(max v) + eps), ...)",
                             "m_t", "as adabound, with the running max of v"),
        **_adam_variant()),
    OptimizerSpec(
        "newton", "damped Newton's method, gradient step where the Hessian is not PD",
        "Newton-Raphson; Nocedal & Wright, Numerical Optimization (2006), ch. 3",
        A.newton, (_lr(1.0), _quiet(_nonneg("damping", 0.0)), _quiet(_flag("fallback", True))),
        needs="hessian",
        counters={"newton_fallbacks": "fallbacks"},
        basic_form=BasicForm("lr", "(H + λI)⁻¹ (a matrix, not per-coordinate), or 1 where "
                             "H + λI is not positive definite", "g")),
]}
# ----------------------------------------------------------------- modern optimizers
# Issue 11 item 4; the factories are in modern.py, checked against the packages named.
def _base(kind: str, conventions: str = "torch") -> Param:
    default = {"type": kind, **OPTIMIZERS[kind].defaults(conventions)}
    return Param("base", default, expect="an optimizer: base: {type: sgd, lr: 0.1}",
                 optimizer=True)


_REF_LR = "the reference's default lr"
_LION_PARAMS = (_lr(1e-4), _unit("beta1", 0.9), _unit("beta2", 0.99), _WD)
_SF_TAIL = (_WD, _whole("warmup_steps", 0, 0), _nonneg("r", 0.0),
            _nonneg("weight_lr_power", 2.0))
_SF_FORM = "z (the base iterate); the path x averages the z's, the gradient is taken at y"
_WRAPPED = "the base's, with "
for _s in [
    OptimizerSpec(
        "lion", "sign of an interpolated momentum, fixed-size steps",
        "Chen et al. 2023, arXiv:2302.06675; lion-pytorch 0.2.5 Lion", M.lion, _LION_PARAMS,
        main_param="beta1", exposes=("first_moment",),
        lr_note=_REF_LR + " (1e-4) barely moves on these surfaces: try 0.01",
        basic_form=BasicForm("lr", _NO_SCALE, "sign(β1·m + (1 − β1)·g), m_t = β2·m + (1 − β2)·g",
                             "then θ ← θ − lr·λ·θ, decoupled; every coordinate moves by lr")),
    OptimizerSpec(
        "signsgd", "steps of the gradient's sign",
        "Bernstein et al. 2018, arXiv:1802.04434 (ICML); pytorch_optimizer 4.1.0 SignSGD "
        "(momentum=0)", M.signsgd, (_lr(1e-3), _WD), lr_note=_REF_LR,
        basic_form=BasicForm("lr", _NO_SCALE, "sign(g)")),
    OptimizerSpec(
        "signum", "steps of the sign of the momentum",
        "Bernstein et al. 2018, arXiv:1802.04434 (ICML); pytorch_optimizer 4.1.0 SignSGD",
        M.signum, (_lr(1e-3), _unit("momentum", 0.9), _WD), main_param="momentum",
        exposes=("first_moment",), lr_note=_REF_LR,
        basic_form=BasicForm("lr", _NO_SCALE, "sign(b_t), b_t = μ·b + (1 − μ)·g")),
    OptimizerSpec(
        "adan", "Adam-like with a momentum of gradient differences (Nesterov)",
        "Xie et al. 2022, arXiv:2208.06677 (TPAMI 2024); pytorch_optimizer 4.1.0 Adan",
        M.adan, (_lr(1e-3), _unit("beta1", 0.98), _unit("beta2", 0.92), _unit("beta3", 0.99),
                 _quiet(_pos("eps", 1e-8)), _WD), main_param="beta1", exposes=("first_moment",),
        basic_form=BasicForm("lr (bias-corrected moments)", "1/(sqrt(n_t) + eps), n_t an EMA "
                             "of (g + β2'·(g − g_prev))²", "m_t + β2'·v_t, v_t an EMA of "
                             "g − g_prev", "the β's are the reference's: EMA weights 1 − β")),
    OptimizerSpec(
        "adopt", "Adam normalising by the previous second moment, then averaging",
        "Taniguchi et al. 2024, arXiv:2411.02853 (NeurIPS); pytorch_optimizer 4.1.0 ADOPT",
        M.adopt, (_lr(1e-3), _unit("beta1", 0.9), _unit("beta2", 0.9999), _quiet(_pos("eps", 1e-6)),
                  _WD), main_param="beta1", exposes=("first_moment",),
        basic_form=BasicForm("lr", "1 (the scaling is inside m_t)",
                             "β1·m + (1 − β1)·clip(g/max(sqrt(v_{t−1}), eps))",
                             "v_t = β2·v + (1 − β2)·g² after the step")),
    OptimizerSpec(
        "sam", "sharpness-aware: the base steps with the gradient at a perturbed point",
        "Foret et al. 2020, arXiv:2010.01412 (ICLR 2021); pytorch_optimizer 4.1.0 SAM",
        M.sam, (_base("sgd"), _nonneg("rho", 0.05), _flag("adaptive")),
        lasagne_params=(_base("sgd", "lasagne"), _nonneg("rho", 0.05), _flag("adaptive")),
        main_param="rho", needs="oracle", exposes=("first_moment", "perturbed"),
        schedulable=False, lr_note="no lr of its own: the base's",
        basic_form=BasicForm(_WRAPPED + "g_t = ∇f(θ + e)", _WRAPPED + "g_t = ∇f(θ + e)",
                             _WRAPPED + "g_t = ∇f(θ + e)",
                             "e = ρ·w²·g/‖w·g‖ (w = |θ| if adaptive, else 1): two gradients "
                             "a step")),
    OptimizerSpec(
        "lookahead", "k fast base steps, then a pull towards slow weights",
        "Zhang, Lucas, Hinton & Ba 2019, arXiv:1907.08610 (NeurIPS); pytorch_optimizer 4.1.0 "
        "Lookahead", M.lookahead,
        (_base("adam"), _whole("k", 5, 1),
         _closed_unit("alpha", 0.5)),
        lasagne_params=(_base("adam", "lasagne"), _whole("k", 5, 1),
                        _closed_unit("alpha", 0.5)),
        main_param="alpha", exposes=("first_moment", "slow"), schedulable=False,
        lr_note="no lr of its own: the base's",
        basic_form=BasicForm("the base's", "the base's", "the base's",
                             "every k steps θ ← φ + α(θ − φ) and φ ← θ (φ: the slow weights)")),
    OptimizerSpec(
        "prodigy", "Adam with a self-estimated step size d (parameter-free)",
        "Mishchenko & Defazio 2023, arXiv:2306.06101 (ICML 2024); prodigyopt 1.1.2 Prodigy",
        M.prodigy,
        (_lr(1.0), _unit("beta1", 0.9), _unit("beta2", 0.999),
         replace(_unit("beta3", None), none="sqrt(beta2)"), _quiet(_pos("eps", 1e-8)), _WD,
         _flag("decouple", True), _flag("use_bias_correction"), _flag("safeguard_warmup"),
         _pos("d0", 1e-6), _pos("d_coef", 1.0),
         Param("growth_rate", None, none="no limit", minimum=1)),
        main_param="d_coef", exposes=("first_moment", "d"), counters={"prodigy_d": "d"},
        lr_note="lr multiplies the estimate d; keep 1",
        basic_form=BasicForm("d·lr (d: the estimate, growing from d0 while the path moves "
                             "away from the start)", "d/(sqrt(v_t) + d·eps)",
                             "m/d (m: the reference's exp_avg, which carries d)")),
    OptimizerSpec(
        "sgd_schedulefree", "schedule-free SGD: path x (average), gradient at y",
        "Defazio et al. 2024, arXiv:2405.15682 (NeurIPS); schedulefree 1.4.1 SGDScheduleFree",
        M.sgd_schedulefree, (_lr(1.0), _open_unit("momentum", 0.9), *_SF_TAIL),
        main_param="momentum", needs="oracle", exposes=("y",),
        basic_form=BasicForm("lr_t (warm-up)", _NO_SCALE, "∇f(y) + λy", _SF_FORM)),
    OptimizerSpec(
        "adamw_schedulefree", "schedule-free AdamW: path x (average), gradient at y",
        "Defazio et al. 2024, arXiv:2405.15682 (NeurIPS); schedulefree 1.4.1 "
        "AdamWScheduleFree", M.adamw_schedulefree,
        (_lr(0.0025), _open_unit("beta1", 0.9), _unit("beta2", 0.999), _quiet(_pos("eps", 1e-8)),
         *_SF_TAIL), main_param="beta1", needs="oracle", exposes=("y",),
        basic_form=BasicForm("lr_t (warm-up)", "1/(sqrt(v_t/(1 − β2ᵗ)) + eps)", "∇f(y)",
                             _SF_FORM)),
    OptimizerSpec(
        "sophia", "clipped Newton-like steps with an EMA of the exact Hessian diagonal",
        "Liu et al. 2023, arXiv:2305.14342 (ICLR 2024), Algorithm 3 with the exact diagonal",
        M.sophia, (_lr(0.01), _unit("beta1", 0.96), _unit("beta2", 0.99), _pos("gamma", 0.01),
                   _quiet(_pos("eps", 1e-12)), _whole("k", 10, 1), _WD),
        main_param="gamma", needs="hessian", exposes=("first_moment",),
        basic_form=BasicForm("lr", "1/max(γ·h_t, eps), h_t an EMA of diag ∇²f every k steps",
                             "β1·m + (1 − β1)·g", "V_t·m_t clipped to [−1, 1] per coordinate")),
]:
    OPTIMIZERS[_s.name] = _s

# What each exposed state field is, for describe.
EXPOSED = {"first_moment": "the velocity / first moment, in gradient units",
           "d": "Prodigy's step-size estimate d (the step size is d·lr; its final value is "
                "in run.json's summary as prodigy_d)",
           **M.INNER_POINTS}


OPTIMIZERS["torch"] = OptimizerSpec(
    "torch", "any torch.optim.Optimizer subclass: {type: torch, class: torch.optim.ASGD, ...}",
    "PyTorch, torch.optim (optional extra)", torch_adapter.torch_optimizer, (),
    needs="oracle", resolve=torch_adapter.resolve,
    basic_form=BasicForm("as the class computes it", "as the class computes it",
                         "as the class computes it", "optviz passes the exact gradient (and, "
                         "for LBFGS, a closure evaluating the surface)"))
BUILTIN = frozenset(OPTIMIZERS)


# ----------------------------------------------------------------- bring your own
def register_optimizer(name: str, factory: Callable[..., Optimizer] | None = None, *,
                       params: Mapping[str, Any] | tuple[Param, ...] | None = None,
                       summary: str = "", reference: str = "", replace_existing: bool = False,
                       **spec_fields) -> OptimizerSpec:
    """Add an optimizer to the registry; it then works in configs, describe,
    sweeps, basins and explore like a built-in.

    Either pass an :class:`OptimizerSpec` as *factory* (its name must be *name*),
    or a factory ``f(lr, ...) -> Optimizer`` with the init/update protocol.
    Parameters come from *params* (a tuple of :class:`Param`, or a mapping
    name -> default) or, by default, from the factory's signature (every
    argument needs a default; ``lr`` must be one of them). Any other
    OptimizerSpec field (main_param, needs, counters, exposes, basic_form, ...)
    may be given by keyword.
    """
    if isinstance(factory, OptimizerSpec):
        spec = factory
    else:
        if not callable(factory):
            raise TypeError("register_optimizer needs a factory returning an Optimizer")
        spec = OptimizerSpec(name, summary or (inspect.getdoc(factory) or name).split("\n")[0],
                             reference or "registered by the user", factory,
                             _params_of(factory, params), **spec_fields)
    if not isinstance(name, str) or not name or name != spec.name:
        raise ValueError(f"the optimizer's name must be a non-empty string equal to the "
                         f"spec's name, got {name!r}")
    if name in BUILTIN or (name in OPTIMIZERS and not replace_existing):
        raise ValueError(f"an optimizer called {name!r} is already registered")
    if "lr" not in spec.defaults("torch"):
        raise ValueError(f"{name}: every optimizer needs an 'lr' hyperparameter")
    OPTIMIZERS[name] = spec
    return spec


_KNOWN = {"lr": _lr, "momentum": _unit, "beta1": _unit, "beta2": _unit,
          "eps": lambda n, d: _quiet(_pos(n, d)),
          "weight_decay": _nonneg}


def _params_of(factory, params) -> tuple[Param, ...]:
    if params is not None and not isinstance(params, Mapping):
        return tuple(params)
    if params is None:
        sig = inspect.signature(factory)
        params = {}
        for n, p in sig.parameters.items():
            if p.default is inspect.Parameter.empty:
                raise ValueError(f"{getattr(factory, '__name__', factory)}: parameter {n!r} "
                                 "needs a default (or pass params=...)")
            params[n] = p.default
    out = []
    for n, d in params.items():
        if isinstance(d, Param):
            out.append(d)
        elif isinstance(d, bool):
            out.append(_flag(n, d))
        elif n in _KNOWN:
            out.append(_KNOWN[n](n, d) if n != "lr" else _lr(d))
        else:
            out.append(Param(n, d))
    return tuple(out)


_PLUGINS_LOADED = False


def load_plugins() -> list[str]:
    """Register the optimizers of installed packages (entry-point group
    ``optviz.optimizers``; each entry point loads an OptimizerSpec, a factory,
    or a list of OptimizerSpecs). Returns the names added; runs once."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return []
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    added = []
    for ep in entry_points(group="optviz.optimizers"):
        obj = ep.load()
        items = obj if isinstance(obj, (list, tuple)) else [obj]
        for item in items:
            if isinstance(item, OptimizerSpec):
                spec = replace(item, origin=ep.value.split(":")[0].split(".")[0])
                register_optimizer(spec.name, spec, replace_existing=True)
            else:
                spec = register_optimizer(ep.name, item, replace_existing=True)
            added.append(spec.name)
    return added


def plugin_modules() -> set[str]:
    """Top-level modules of the packages that registered optimizers (a config may
    name torch optimizer classes from them)."""
    from importlib.metadata import entry_points

    return {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="optviz.optimizers")}


# ----------------------------------------------------------------- resolution
def _check_conventions(conventions: str) -> None:
    if conventions not in CONVENTIONS:
        raise ConfigError(f"unknown conventions {conventions!r}; expected one of "
                          + ", ".join(CONVENTIONS), key="conventions",
                          hint=did_you_mean(str(conventions), CONVENTIONS))


def get_spec(kind: Any) -> OptimizerSpec:
    if isinstance(kind, str) and kind not in OPTIMIZERS:
        load_plugins()
    if not isinstance(kind, str) or kind not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {kind!r}", key="type",
                          hint=did_you_mean(str(kind), OPTIMIZERS)
                          or "known: " + ", ".join(OPTIMIZERS))
    return OPTIMIZERS[kind]


def resolve_hyperparams(kind: str, given: Mapping[str, Any],
                        conventions: str = "torch") -> dict[str, Any]:
    """Every hyperparameter of *kind*, defaults filled in, checked.

    A ``schedule`` entry (a mapping such as ``{type: cosine, T_max: 100}``) is
    validated and kept as a :class:`~optviz.core.optim.schedules.Schedule`.
    Raises ConfigError (with ``key`` the parameter's name) for an unknown
    optimizer or parameter, a value of the wrong type, or one out of range.
    """
    _check_conventions(conventions)
    spec = get_spec(kind)
    if spec.resolve is not None:
        return spec.resolve(given, conventions)
    specs = {p.name: p for p in spec.param_specs(conventions)}
    params = spec.defaults(conventions)
    for raw_key, value in given.items():
        if raw_key == "schedule":
            params["schedule"] = _schedule(spec, value, params, given)
            continue
        key = spec.aliases.get(raw_key, raw_key)
        if key not in specs:
            hint = did_you_mean(str(raw_key), [*specs, "schedule"]) \
                or f"{kind} takes: " + ", ".join([*specs, "schedule"])
            if "base" in specs and raw_key == "lr":
                hint = f"{kind} has no lr of its own: give the base's, base: {{type: sgd, lr: 0.1}}"
            raise ConfigError(f"{kind} has no hyperparameter '{raw_key}'", key=str(raw_key),
                              hint=hint)
        params[key] = _check_value(kind, str(raw_key), specs[key], value, conventions)
    if params.get("schedule") is None:
        params.pop("schedule", None)
    return params


def _schedule(spec: OptimizerSpec, value, params, given):
    from optviz.core.optim.schedules import Schedule, parse_schedule

    if value is None:
        return None
    if not spec.schedulable:
        raise ConfigError(f"{spec.name} takes no schedule", key="schedule",
                          hint="give it to the base: base: {type: sgd, lr: 0.1, schedule: ...}"
                          if any(p.optimizer for p in spec.params) else None)
    sched = value if isinstance(value, Schedule) else parse_schedule(value)
    if sched.cycles_momentum:
        names = {p.name for p in spec.params}
        if "beta1" not in names and "momentum" not in names:
            raise ConfigError(f"onecycle's cycle_momentum needs an optimizer with momentum or "
                              f"beta1; {spec.name} has neither", key="schedule",
                              hint="set cycle_momentum: false (torch raises here too)")
    return sched


def _check_value(kind: str, shown: str, param: Param, value: Any,
                 conventions: str = "torch") -> Any:
    if param.optimizer:
        return resolve_base(value, conventions)
    if value is None and param.none:
        return None
    if param.choices:
        choices = param.choices
        if value not in choices or (isinstance(value, bool) != isinstance(choices[0], bool)):
            raise ConfigError(f"{shown} must be one of {', '.join(map(str, choices))}, got "
                              f"{value!r}", key=shown,
                              hint=did_you_mean(str(value), map(str, choices)))
        return value
    if isinstance(value, np.ndarray):
        if value.ndim != 2 or value.shape[1] != 1:
            raise ConfigError(f"{shown} as an array must have shape (N, 1), one value per run; "
                              f"got shape {value.shape}", key=shown,
                              hint="use values[:, None]")
        arr = value.astype(np.float64)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = None
        if isinstance(value, str):
            try:
                hint = f"write it without quotes, as {float(value)!r}"
            except ValueError:
                pass
        raise ConfigError(f"{shown} must be a number, got {value!r}", key=shown, hint=hint)
    else:
        arr = float(value)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{shown} must be finite, got {value!r}", key=shown)
    if param.check is not None and not param.check(arr):
        shown_value = value if not isinstance(value, np.ndarray) else \
            f"values from {np.min(arr):g} to {np.max(arr):g}"
        raise ConfigError(f"{kind}'s {shown} must be {param.expect}, got {shown_value}",
                          key=shown)
    return arr


def make_optimizer(kind: str, conventions: str = "torch", **hyperparams) -> Optimizer:
    """An Optimizer of *kind* with the given hyperparameters (others default).

    ``schedule=`` (a mapping or a Schedule) changes the learning rate (and,
    for onecycle, the momentum or beta1) every step, as torch's schedulers.
    """
    params = resolve_hyperparams(kind, hyperparams, conventions)
    for p in OPTIMIZERS[kind].param_specs(conventions):
        if p.optimizer:  # sam / lookahead: build the nested base optimizer
            base = dict(params[p.name])
            params[p.name] = make_optimizer(base.pop("type"), conventions, **base)
    factory = OPTIMIZERS[kind].factory(conventions)
    if OPTIMIZERS[kind].resolve is not None:  # type torch: torch's own scheduler
        return factory(**params)
    schedule = params.pop("schedule", None)
    if schedule is None:
        return factory(**params)
    from optviz.core.optim.schedules import scheduled

    return scheduled(factory, params, schedule, **schedule_options(kind))


def schedule_options(kind: str) -> dict[str, Any]:
    """How a schedule drives *kind* (the keywords of ``schedules.scheduled``): the
    hyperparameter onecycle cycles, and whether the factory also takes the lr before
    the schedule as ``base_lr`` (AdaBound's bounds follow the scheduled lr)."""
    return {"momentum_name": _momentum_name(get_spec(kind)),
            "base_lr_param": kind in ("adabound", "amsbound")}


def lr_over_steps(kind: str, params: Mapping[str, Any], steps: int,
                  conventions: str = "torch") -> list:
    """The lr used at steps 1..steps (constant without a schedule)."""
    params = resolve_hyperparams(kind, params, conventions)
    schedule = params.get("schedule")
    if "lr" not in params and isinstance(params.get("base"), Mapping):  # a wrapper: the base's
        return lr_over_steps(params["base"]["type"],
                             {k: v for k, v in params["base"].items() if k != "type"}, steps,
                             conventions)
    if schedule is None:
        return [params["lr"]] * steps
    spec = OPTIMIZERS[kind]
    name = _momentum_name(spec)
    return schedule.lrs(params["lr"], steps, params.get(name) if name else None)


def _momentum_name(spec: OptimizerSpec) -> str | None:
    names = [p.name for p in spec.params]
    return "beta1" if "beta1" in names else "momentum" if "momentum" in names else None


# ----------------------------------------------------------------- questions
def counters_of(kind: str) -> Mapping[str, str]:
    """Output counter name -> state field, e.g. Newton's {"newton_fallbacks": "fallbacks"}."""
    return get_spec(kind).counters


def main_param(kind: str) -> str | None:
    return get_spec(kind).main_param


def needs_oracle(kind: str) -> bool:
    return get_spec(kind).needs_oracle


def _fmt(value: Any) -> str:
    """Compact, but never so short that two different values print alike."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    if isinstance(value, Mapping):  # a nested base optimizer, as YAML writes it
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()
                               if k == "type" or not isinstance(v, np.ndarray)) + "}"
    return str(value)


def default_label(kind: str, hyperparams: Mapping[str, Any], conventions: str = "torch") -> str:
    """The type plus the hyperparameters that differ from the defaults (and the schedule)."""
    spec = get_spec(kind)
    if spec.resolve is not None:  # type torch: the class and the arguments given
        cls = str(hyperparams.get("class", "")).rpartition(".")[2]
        defaults = torch_adapter.defaults(hyperparams["class"])
        args = [f"{k}={_fmt(v)}" for k, v in hyperparams.items() if k not in ("class", "schedule")
                and not isinstance(v, np.ndarray) and v != defaults.get(k)]
        if hyperparams.get("schedule") is not None:
            args.append(hyperparams["schedule"].label())
        return " ".join([f"{kind}.{cls}", *args])
    defaults = spec.defaults(conventions)
    changed = [f"{k}=({default_label(v['type'], v, conventions)})" if isinstance(v, Mapping)
               else f"{k}={_fmt(v)}" for k, v in hyperparams.items()
               if k in defaults and not isinstance(v, np.ndarray) and not _same(v, defaults[k])]
    if hyperparams.get("schedule") is not None:
        changed.append(hyperparams["schedule"].label())
    return " ".join([kind, *changed])


def _same(a, b) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    return a == b


def resolve_base(value: Any, conventions: str = "torch") -> dict[str, Any]:
    """A wrapper's ``base``: a type name or a mapping ``{type: ..., ...}``,
    resolved to ``{"type": kind, **every hyperparameter}``."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, Mapping) or "type" not in value:
        raise ConfigError(f"base must be an optimizer mapping with a 'type', got {value!r}",
                          key="base", hint="e.g. base: {type: sgd, lr: 0.1}")
    rest = {k: v for k, v in value.items() if k != "type"}
    return {"type": value["type"], **resolve_hyperparams(value["type"], rest, conventions)}


def describe_optimizer(kind: str, conventions: str = "torch") -> str:
    """Summary, basic form, update rule, defaults (both conventions) and reference."""
    spec = get_spec(kind)
    fn = spec.torch.func if isinstance(spec.torch, partial) else spec.torch
    doc = inspect.getdoc(fn) or ""
    if spec.resolve is not None:
        doc = inspect.getdoc(torch_adapter) or ""
    lines = [f"{kind}: {spec.summary}", ""]
    if spec.basic_form is not None:
        lines += [spec.basic_form.text(), ""]
    lines += [doc, ""]
    for conv in CONVENTIONS:
        if conv == "lasagne" and spec.lasagne is None and spec.lasagne_params is None:
            lines.append("lasagne conventions: same as torch")
            continue
        defaults = ", ".join(p.describe() for p in spec.param_specs(conv))
        lines.append(f"defaults ({conv}): {defaults}")
        if conv == "lasagne" and spec.lasagne is not None:
            lfn = spec.lasagne.func if isinstance(spec.lasagne, partial) else spec.lasagne
            if lfn is not fn:
                lines.append("  " + (inspect.getdoc(lfn) or "").replace("\n", "\n  "))
    facts = []
    if spec.main_param:
        facts.append(f"main hyperparameter: {spec.main_param}")
    facts.append({"gradient": "uses the gradient at θ only",
                  "oracle": "asks the surface for more gradients (not for gradient responses)",
                  "hessian": "uses the Hessian (not for gradient responses)"}[spec.needs])
    if spec.counters:
        facts.append("counts: " + ", ".join(spec.counters))
    if spec.exposes:
        facts.append("exposes: " + ", ".join(f"{e} ({EXPOSED[e]})" if e in EXPOSED else e
                                             for e in spec.exposes))
    lines.append("; ".join(facts))
    if spec.schedulable:
        lines.append("schedule: any (schedule: {type: cosine, T_max: 100}, ...)")
    if spec.lr_note:
        lines.append(f"note: {spec.lr_note}")
    lines.append(f"reference: {spec.reference}")
    return "\n".join(lines)
