"""The named optimizers: defaults per convention, constraints, descriptions."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from optviz.core.optim import transforms as T
from optviz.core.optim.base import Optimizer
from optviz.errors import ConfigError, did_you_mean

CONVENTIONS = ("torch", "lasagne")

# name -> (check, expectation). Checks take arrays too (a sweep's column of values).
_UNIT = (lambda v: np.all((v >= 0) & (v < 1)), "in [0, 1)")
_POS = (lambda v: np.all(v > 0), "> 0")
_NONNEG = (lambda v: np.all(v >= 0), ">= 0")
CONSTRAINTS: dict[str, tuple[Callable, str]] = {
    "lr": _POS, "momentum": _UNIT, "beta1": _UNIT, "beta2": _UNIT, "rho": _UNIT,
    "eps": _POS, "dampening": (lambda v: np.all((v >= 0) & (v <= 1)), "in [0, 1]"),
    "initial_accumulator_value": _NONNEG, "lr_decay": _NONNEG, "delta_init": _NONNEG,
    "damping": _NONNEG, "final_lr": _POS, "gamma": _POS, "momentum_decay": _NONNEG,
}
CHOICES = {"lookahead": tuple(T.LOOKAHEADS), "centered": (False, True)}
ALIASES = {"alpha": "rho"}  # torch's name for RMSprop's decay


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    summary: str
    reference: str
    torch: Callable[..., Optimizer]
    lasagne: Callable[..., Optimizer] | None = None  # None: same as torch
    lasagne_defaults: dict[str, Any] = field(default_factory=dict)
    lr_note: str = ""

    def factory(self, conventions: str) -> Callable[..., Optimizer]:
        return self.lasagne if conventions == "lasagne" and self.lasagne else self.torch

    def defaults(self, conventions: str = "torch") -> dict[str, Any]:
        sig = inspect.signature(self.factory(conventions))
        out = {n: p.default for n, p in sig.parameters.items()
               if p.default is not inspect.Parameter.empty or n == "lr"}
        if out.get("lr", inspect.Parameter.empty) is inspect.Parameter.empty:
            out["lr"] = 0.01
        for hidden in ("amsgrad", "amsbound", "nesterov", "lasagne"):
            out.pop(hidden, None)
        if conventions == "lasagne":
            out.update(self.lasagne_defaults)
        return out


def _spec(name, summary, reference, torch, lasagne=None, lasagne_defaults=None, lr_note=""):
    return name, OptimizerSpec(name, summary, reference, torch, lasagne,
                               lasagne_defaults or {}, lr_note)


_NO_LR = "torch 2.x's SGD defaults to lr=1e-3; optviz uses 0.01, which moves visibly in 125 steps"
OPTIMIZERS: dict[str, OptimizerSpec] = dict([
    _spec("sgd", "plain gradient descent", "Robbins & Monro 1951; torch.optim.SGD",
          T.sgd, lr_note=_NO_LR),
    _spec("momentum", "heavy-ball momentum (torch.optim.SGD with momentum)",
          "Polyak 1964; torch.optim.SGD", T.momentum, lr_note=_NO_LR),
    _spec("nesterov", "Nesterov momentum (torch.optim.SGD, nesterov=True)",
          "Sutskever, Martens, Dahl & Hinton 2013 (ICML); torch.optim.SGD",
          lambda lr=0.01, momentum=0.9: T.momentum(lr, momentum, 0.0, nesterov=True),
          lr_note=_NO_LR),
    _spec("nag", "Nesterov's accelerated gradient, look-ahead form (the seed article's)",
          "Nesterov 1983; the article 'Методы оптимизации нейронных сетей' (Habr, 2017)",
          T.nag, lr_note="optviz's default lr 0.01"),
    _spec("adagrad", "per-coordinate steps shrinking with the summed squared gradients",
          "Duchi, Hazan & Singer 2011, JMLR 12:2121; torch.optim.Adagrad",
          T.adagrad, T.adagrad_lasagne),
    _spec("rmsprop", "steps scaled by a running RMS of the gradients",
          "Hinton 2012, Coursera 'Neural Networks' lecture 6e; torch.optim.RMSprop",
          T.rmsprop, T.rmsprop_lasagne),
    _spec("adadelta", "RMSProp with the step's units fixed by a running RMS of past steps",
          "Zeiler 2012, arXiv:1212.5701; torch.optim.Adadelta",
          T.adadelta, partial(T.adadelta, lasagne=True), {"rho": 0.95}),
    _spec("adam", "momentum plus RMS scaling, bias-corrected",
          "Kingma & Ba 2014, arXiv:1412.6980 (ICLR 2015); torch.optim.Adam",
          T.adam, T.adam_lasagne),
    _spec("amsgrad", "Adam with the running maximum of the second moment",
          "Reddi, Kale & Kumar 2018 (ICLR); torch.optim.Adam(amsgrad=True)",
          partial(T.adam, amsgrad=True)),
    _spec("adamax", "Adam with the infinity norm in place of the RMS",
          "Kingma & Ba 2014, arXiv:1412.6980 section 7.1; torch.optim.Adamax",
          T.adamax, partial(T.adamax, lasagne=True)),
    _spec("nadam", "Adam with Nesterov momentum",
          "Dozat 2016, ICLR workshop; torch.optim.NAdam", T.nadam),
    _spec("radam", "Adam with the variance of the adaptive lr rectified",
          "Liu et al. 2019, arXiv:1908.03265 (ICLR 2020); torch.optim.RAdam", T.radam),
    _spec("adabound", "Adam whose step sizes are clipped into bounds converging to SGD's",
          "Luo, Xiong, Liu & Sun 2019, arXiv:1902.09843 (ICLR); github.com/Luolc/AdaBound",
          T.adabound),
    _spec("amsbound", "AdaBound on AMSGrad",
          "Luo, Xiong, Liu & Sun 2019, arXiv:1902.09843 (ICLR); github.com/Luolc/AdaBound",
          partial(T.adabound, amsbound=True)),
    _spec("newton", "damped Newton's method, gradient step where the Hessian is not PD",
          "Newton-Raphson; Nocedal & Wright, Numerical Optimization (2006), ch. 3",
          T.newton),
])


def _check_conventions(conventions: str) -> None:
    if conventions not in CONVENTIONS:
        raise ConfigError(f"unknown conventions {conventions!r}; expected one of "
                          + ", ".join(CONVENTIONS), key="conventions",
                          hint=did_you_mean(str(conventions), CONVENTIONS))


def get_spec(kind: Any) -> OptimizerSpec:
    if not isinstance(kind, str) or kind not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {kind!r}", key="type",
                          hint=did_you_mean(str(kind), OPTIMIZERS)
                          or "known: " + ", ".join(OPTIMIZERS))
    return OPTIMIZERS[kind]


def resolve_hyperparams(kind: str, given: Mapping[str, Any],
                        conventions: str = "torch") -> dict[str, Any]:
    """Every hyperparameter of *kind*, defaults filled in, checked.

    Raises ConfigError (with ``key`` the parameter's name) for an unknown
    optimizer or parameter, a value of the wrong type, or one out of range.
    """
    _check_conventions(conventions)
    spec = get_spec(kind)
    params = spec.defaults(conventions)
    for raw_key, value in given.items():
        key = ALIASES.get(raw_key, raw_key) if kind == "rmsprop" else raw_key
        if key not in params:
            raise ConfigError(f"{kind} has no hyperparameter '{raw_key}'", key=str(raw_key),
                              hint=did_you_mean(str(raw_key), params)
                              or f"{kind} takes: " + ", ".join(params))
        params[key] = _check_value(kind, str(raw_key), key, value)
    return params


def _check_value(kind: str, shown: str, key: str, value: Any) -> Any:
    if key in CHOICES:
        choices = CHOICES[key]
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
    check, expect = CONSTRAINTS.get(key, (lambda v: True, ""))
    if not check(arr):
        shown_value = value if not isinstance(value, np.ndarray) else "an array with values"
        raise ConfigError(f"{kind}'s {shown} must be {expect}, got {shown_value}", key=shown)
    return arr


def make_optimizer(kind: str, conventions: str = "torch", **hyperparams) -> Optimizer:
    """An Optimizer of *kind* with the given hyperparameters (others default)."""
    params = resolve_hyperparams(kind, hyperparams, conventions)
    return OPTIMIZERS[kind].factory(conventions)(**params)


def _fmt(value: Any) -> str:
    """Compact, but never so short that two different values print alike."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def default_label(kind: str, hyperparams: Mapping[str, Any], conventions: str = "torch") -> str:
    """The type plus the hyperparameters that differ from the defaults."""
    defaults = get_spec(kind).defaults(conventions)
    changed = [f"{k}={_fmt(v)}" for k, v in hyperparams.items()
               if k in defaults and not isinstance(v, np.ndarray) and v != defaults[k]]
    return " ".join([kind, *changed])


def describe_optimizer(kind: str, conventions: str = "torch") -> str:
    """Summary, update rule, defaults (both conventions) and reference."""
    spec = get_spec(kind)
    fn = spec.torch.func if isinstance(spec.torch, partial) else spec.torch
    doc = inspect.getdoc(fn) or ""
    lines = [f"{kind}: {spec.summary}", "", doc, ""]
    for conv in CONVENTIONS:
        if conv == "lasagne" and spec.lasagne is None and not spec.lasagne_defaults:
            lines.append("lasagne conventions: same as torch")
            continue
        defaults = ", ".join(f"{k}={_fmt(v)}" for k, v in spec.defaults(conv).items())
        lines.append(f"defaults ({conv}): {defaults}")
        if conv == "lasagne" and spec.lasagne is not None:
            lfn = spec.lasagne.func if isinstance(spec.lasagne, partial) else spec.lasagne
            if lfn is not fn:
                lines.append("  " + (inspect.getdoc(lfn) or "").replace("\n", "\n  "))
    if spec.lr_note:
        lines.append(f"note: {spec.lr_note}")
    lines.append(f"reference: {spec.reference}")
    return "\n".join(lines)

