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
    check_arguments(cls, given["class"], {k: v for k, v in out.items()
                                          if k not in ("class", "schedule")})
    return out


#: Classes that cannot run here whatever their arguments, and why.
UNUSABLE = {
    "SparseAdam": ("takes sparse gradients only, and a surface's gradients are dense",
                   "use torch.optim.Adam"),
}


class _Enough(Exception):
    """Raised by the trial closure: the trial step has seen enough evaluations."""


def check_arguments(cls, path: str, kwargs: Mapping[str, Any]) -> None:
    """Build *cls* on a dummy parameter and take one step with a dummy gradient, as
    a run would; torch's own error becomes a ConfigError naming the argument.

    An array argument (a sweep's (N, 1) column) is tried at its smallest and
    largest value. A closure class's trial step is cut short after a few
    evaluations, so a huge ``max_iter`` costs nothing here (the work budget
    counts it)."""
    import torch

    if cls is torch.optim.Optimizer or cls.step is torch.optim.Optimizer.step:
        raise ConfigError(f"{path} is the abstract base class of the torch optimizers "
                          "(it has no step of its own)", key="class",
                          hint="name a concrete optimizer such as torch.optim.Adam")
    if cls.__name__ in UNUSABLE and cls.__module__.startswith("torch.optim"):
        why, hint = UNUSABLE[cls.__name__]
        raise ConfigError(f"{path} {why}", key="class", hint=hint)
    arrays = {k: v for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    trials = [{k: (float(np.nanmin(v)) if k in arrays else v) for k, v in kwargs.items()}]
    if arrays:
        trials.append({k: (float(np.nanmax(v)) if k in arrays else v)
                       for k, v in kwargs.items()})
        for k, v in arrays.items():
            if not np.isfinite(v).all():
                raise ConfigError(f"{k} must be finite, got {v[~np.isfinite(v)][0]}", key=k)
    for trial in trials:
        problem = _trial_step(cls, trial)
        if problem is None:
            continue
        # which argument: the first that fails on its own (the class's defaults
        # for the rest), else the whole item
        culprit = next((k for k in trial if _trial_step(cls, {k: trial[k]}) is not None), None)
        shown = f"{culprit}={trial[culprit]!r}" if culprit else "these arguments"
        raise ConfigError(f"{path} refuses {shown}: {problem}",
                          key=culprit if culprit else "class",
                          hint=f"see help({path}) for what each argument accepts")


def _trial_step(cls, kwargs: Mapping[str, Any]) -> str | None:
    """None if *cls* builds with *kwargs* and takes a step; else torch's message."""
    import warnings

    import torch

    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    grad = torch.tensor([0.5, -0.25], dtype=torch.float64)
    evaluations = [0]

    def closure():
        evaluations[0] += 1
        if evaluations[0] > 3:
            raise _Enough
        p.grad = grad.clone()
        return torch.tensor(1.0 + evaluations[0], dtype=torch.float64)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = cls([p], **kwargs)
            if _needs_closure(cls):
                opt.step(closure)
            else:
                p.grad = grad.clone()
                opt.step()
    except _Enough:
        return None
    except Exception as e:  # torch's checks raise ValueError, TypeError, RuntimeError,
        # AssertionError (capturable on a CPU), ... : any of them means "not here"
        text = " ".join(str(e).split()) or type(e).__name__
        return text if len(text) <= 200 else text[:197] + "..."
    return None


def _needs_closure(cls) -> bool:
    """Whether *cls*'s step takes a closure (LBFGS, or a step whose closure is required)."""
    import torch

    step = inspect.signature(cls.step).parameters.get("closure")
    return issubclass(cls, torch.optim.LBFGS) or (
        step is not None and step.default is inspect.Parameter.empty)


def evaluations_per_step(resolved: Mapping[str, Any]) -> tuple[int, tuple[str, str] | None]:
    """How many times one step of one run may evaluate the surface, and why (the key
    that sets it and a phrase), for the work budget: 1 for a class without a
    closure; LBFGS's ``max_eval`` (``max_iter`` * 5/4 by default; a strong-Wolfe
    line search may overshoot it by its 25 evaluations); 2 for another closure class."""
    import torch

    cls = load_class(resolved["class"])
    if not _needs_closure(cls):
        return 1, None
    if not issubclass(cls, torch.optim.LBFGS):
        return 2, ("class", "a closure class, counted as 2 evaluations a step")
    sig = _signature(cls)
    max_iter = _largest(resolved.get("max_iter", sig["max_iter"].default))
    max_eval = resolved.get("max_eval")
    if max_eval is None:
        evals, key = int(max_iter * 5 // 4), "max_iter"
    else:
        evals, key = int(_largest(max_eval)), "max_eval"
    if resolved.get("line_search_fn") == "strong_wolfe":
        evals += 25
    given = resolved.get(key, max_iter)
    return max(1, evals), (key, f"{key}: {_largest(given):g}")


def _largest(value) -> float:
    return float(np.max(value)) if isinstance(value, np.ndarray) else float(value)


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
        self.closure = _needs_closure(cls)
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
            _step_schedule(s)
        new = np.stack([p.detach().numpy().copy() for p in self.params])
        return new - params


def _step_schedule(scheduler) -> None:
    """Step torch's scheduler; from a OneCycleLR's total_steps on, optviz keeps the
    cycle's last values (torch computes one more, extrapolating the anneal, a linear
    one below zero, then raises), as its own onecycle does."""
    total = getattr(scheduler, "total_steps", None)
    if total is not None and scheduler.last_epoch + 1 >= total:
        return
    try:
        scheduler.step()
    except ValueError as e:
        if "Tried to step" not in str(e):
            raise


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
