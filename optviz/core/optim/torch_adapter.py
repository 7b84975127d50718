"""``{type: torch, class: torch.optim.ASGD, lr: 0.01, ...}``: a torch.optim.Optimizer
subclass run on the surface, its steps exactly torch's.

torch is optional (the ``torch`` extra). Each run is its own float64
parameter of shape (2,) in its own param group (so per-tensor reductions
stay per run, and a sweep's (N, 1) hyperparameter gives each group its own
value); optimizers whose ``step`` needs a closure (LBFGS) get one per run,
which evaluates the surface at the run's current point. This is a loop over
runs inside torch: it is for fidelity, not for speed.

A config may name classes from ``torch.optim`` and from the packages that
register optimizers through the ``optviz.optimizers`` entry point; any other
module must be allowed explicitly (``--allow-import MODULE`` on the command
line, :func:`allow_import` from Python), because a shared config must not
import arbitrary code.
"""

from __future__ import annotations

import importlib
import inspect
import shlex
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from optviz.core.optim.base import Optimizer
from optviz.errors import ConfigError, did_you_mean

ALLOWED_IMPORTS: set[str] = set()  # modules the user allowed on the command line
_SKIP = {"self", "params", "closure"}


def allow_import(*modules: str) -> None:
    """Let configs name optimizer classes from *modules* (and their submodules)."""
    ALLOWED_IMPORTS.update(m.strip() for m in modules if m and m.strip())


def _allowed(module: str) -> bool:
    from optviz.core.optim.registry import plugin_modules

    top = module.split(".")[0]
    if module == "torch.optim" or module.startswith("torch.optim."):
        return True
    if top in plugin_modules():
        return True
    return any(module == m or module.startswith(m + ".") for m in ALLOWED_IMPORTS)


def load_class(path: Any):
    """The torch.optim.Optimizer subclass at dotted *path*, if it may be imported."""
    if not isinstance(path, str) or "." not in path:
        raise ConfigError(f"class must be a dotted name such as torch.optim.ASGD, got {path!r}",
                          key="class")
    module, _, name = path.rpartition(".")
    if not _allowed(module):
        raise ConfigError(f"the config may not import {module!r}: only torch.optim and the "
                          "packages that register optviz optimizers are allowed", key="class",
                          hint=f"run with --allow-import {shlex.quote(module)} if you trust it")
    try:
        import torch
    except ImportError:
        raise ConfigError("type torch needs PyTorch, which is not installed", key="type",
                          hint="pip install torch (or optviz[torch])") from None
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"cannot import {module!r}: {e}", key="class") from None
    cls = getattr(mod, name, None)
    if cls is None:
        names = [n for n, v in vars(mod).items() if inspect.isclass(v)
                 and issubclass(v, torch.optim.Optimizer)]
        raise ConfigError(f"{module} has no {name!r}", key="class",
                          hint=did_you_mean(name, names) or "classes: " + ", ".join(names))
    if not (inspect.isclass(cls) and issubclass(cls, torch.optim.Optimizer)):
        raise ConfigError(f"{path} is not a torch.optim.Optimizer subclass", key="class")
    return cls


def _signature(cls) -> dict[str, inspect.Parameter]:
    return {n: p for n, p in inspect.signature(cls.__init__).parameters.items()
            if n not in _SKIP and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def defaults(path: str) -> dict[str, Any]:
    """The class's own defaults (for labels: only what differs is shown)."""
    return {n: p.default for n, p in _signature(load_class(path)).items()
            if p.default is not inspect.Parameter.empty}


def resolve(given: Mapping[str, Any], conventions: str = "torch") -> dict[str, Any]:
    """Check a torch item's keys against the class's signature; fill in lr."""
    if "class" not in given:
        raise ConfigError("type torch needs a 'class', e.g. class: torch.optim.ASGD",
                          key="type")
    cls = load_class(given["class"])
    sig = _signature(cls)
    out = {"class": given["class"]}
    for key, value in given.items():
        if key == "class":
            continue
        if key == "schedule":  # run as torch's own scheduler
            from optviz.core.optim.schedules import parse_schedule

            out[key] = parse_schedule(value)
            if out[key].cycles_momentum and not {"momentum", "betas"} & set(sig):
                raise ConfigError(f"onecycle's cycle_momentum needs momentum or betas; "
                                  f"{given['class']} has neither", key="schedule",
                                  hint="set cycle_momentum: false (torch raises here too)")
            continue
        if key not in sig:
            raise ConfigError(f"{given['class']} has no argument '{key}'", key=str(key),
                              hint=did_you_mean(str(key), sig) or "arguments: " + ", ".join(sig))
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, np.ndarray) and (value.ndim != 2 or value.shape[1] != 1):
            raise ConfigError(f"{key} as an array must have shape (N, 1)", key=str(key))
        out[key] = value
    if "lr" not in out and "lr" in sig and sig["lr"].default is not inspect.Parameter.empty:
        default = sig["lr"].default
        out["lr"] = float(default) if isinstance(default, (int, float)) else default
    return out


class TorchState(NamedTuple):
    runs: Any  # the torch parameters and optimizer(s); mutated by torch, as torch does
    count: int


class _Runs:
    def __init__(self, cls, kwargs, params: np.ndarray):
        import torch

        self.torch = torch
        kwargs = dict(kwargs)
        schedule = kwargs.pop("schedule", None)
        n = params.shape[0]
        self.params = [torch.tensor(params[i], dtype=torch.float64, requires_grad=True)
                       for i in range(n)]
        per_run = [{k: (float(v[i, 0]) if isinstance(v, np.ndarray) else v)
                    for k, v in kwargs.items()} for i in range(n)]
        step = inspect.signature(cls.step).parameters.get("closure")
        self.closure = issubclass(cls, torch.optim.LBFGS) or (
            step is not None and step.default is inspect.Parameter.empty)
        if self.closure:  # one optimizer per run (LBFGS flattens all its parameters)
            self.opts = [cls([p], **kw) for p, kw in zip(self.params, per_run)]
        else:
            first = per_run[0]
            groups = [{"params": [p], **{k: v for k, v in kw.items() if v != first.get(k)}}
                      for p, kw in zip(self.params, per_run)]
            self.opts = [cls(groups, **first)]
        self.schedulers = [torch_scheduler(opt, schedule) for opt in self.opts] if schedule \
            else []

    def step(self, grad: np.ndarray, params: np.ndarray, oracle) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            for i, p in enumerate(self.params):
                p.copy_(torch.from_numpy(params[i]))
        if self.closure:
            for p, opt in zip(self.params, self.opts):
                def closure(p=p, opt=opt):
                    opt.zero_grad()
                    value, g = oracle.value_and_grad(p.detach().numpy()[None].copy())
                    p.grad = torch.tensor(g[0], dtype=torch.float64)
                    return torch.tensor(float(value[0]), dtype=torch.float64)
                opt.step(closure)
        else:
            for i, p in enumerate(self.params):
                p.grad = torch.tensor(grad[i], dtype=torch.float64)
            self.opts[0].step()
        for s in self.schedulers:
            s.step()
        new = np.stack([p.detach().numpy().copy() for p in self.params])
        return new - params


def torch_scheduler(opt, schedule):
    """torch's own scheduler for an optviz Schedule (same names and parameters)."""
    import warnings

    from torch.optim import lr_scheduler as L

    from optviz.core.optim.schedules import TORCH_NAMES

    warnings.filterwarnings("ignore", module="torch.optim.lr_scheduler")
    if schedule.type == "sequential":
        children = [torch_scheduler(opt, c) for c in schedule.children]
        return L.SequentialLR(opt, children, list(schedule.kwargs["milestones"]))
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in schedule.params}
    return getattr(L, TORCH_NAMES[schedule.type])(opt, **kwargs)


def torch_optimizer(**resolved) -> Optimizer:
    """An Optimizer running ``resolved['class']`` with the other entries as arguments."""
    kwargs = dict(resolved)
    cls = load_class(kwargs.pop("class"))

    def init(params):
        return TorchState(_Runs(cls, kwargs, np.asarray(params, dtype=np.float64)), 0)

    def update(g, state, params, oracle):
        return state.runs.step(g, params, oracle), TorchState(state.runs, state.count + 1)

    return Optimizer(init, update)
