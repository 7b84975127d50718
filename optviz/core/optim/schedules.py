"""Learning-rate schedules with torch.optim.lr_scheduler's semantics.

A schedule is stepped once per optimizer step, as a torch scheduler's
``step()`` after each ``optimizer.step()``: the first step uses the lr the
scheduler set when it was made (LinearLR: lr·start_factor; OneCycleLR:
max_lr/div_factor). The lr values are computed with torch's own recursive
``get_lr`` forms (and its closed forms where torch uses them: a
SequentialLR milestone), in the same order of operations, so an optviz run
equals torch's optimizer + scheduler pair to rounding.

Parameter names are torch's:

    step            step_size, gamma=0.1                     StepLR
    multistep       milestones, gamma=0.1                    MultiStepLR
    exponential     gamma                                    ExponentialLR
    cosine          T_max, eta_min=0                         CosineAnnealingLR
    cosine_restarts T_0, T_mult=1, eta_min=0                 CosineAnnealingWarmRestarts
    linear          start_factor=1/3, end_factor=1, total_iters=5   LinearLR
    onecycle        max_lr, total_steps, pct_start=0.3, anneal_strategy=cos,
                    cycle_momentum=true, base_momentum=0.85, max_momentum=0.95,
                    div_factor=25, final_div_factor=1e4, three_phase=false   OneCycleLR
    sequential      schedules: [...], milestones: [...]      SequentialLR

OneCycle's cycle_momentum cycles torch's ``momentum`` or ``betas[0]``, i.e.
optviz's ``momentum`` or ``beta1``. From total_steps on, optviz's OneCycle keeps
the values of the cycle's last step (total_steps - 1), where torch computes one
more value, extrapolating the anneal (a linear one goes below zero: a negative
lr), and then raises.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from optviz.core.optim.base import Optimizer
from optviz.errors import ConfigError, did_you_mean

_REQ = object()  # a required parameter

# type -> {parameter: (default or _REQ, kind)}; kinds: int, pos_int, float, pos, unit01, choice
SCHEDULES: dict[str, dict[str, tuple[Any, str]]] = {
    "step": {"step_size": (_REQ, "pos_int"), "gamma": (0.1, "pos")},
    "multistep": {"milestones": (_REQ, "int_list"), "gamma": (0.1, "pos")},
    "exponential": {"gamma": (_REQ, "pos")},
    "cosine": {"T_max": (_REQ, "pos_int"), "eta_min": (0.0, "nonneg")},
    "cosine_restarts": {"T_0": (_REQ, "pos_int"), "T_mult": (1, "pos_int"),
                        "eta_min": (0.0, "nonneg")},
    "linear": {"start_factor": (1.0 / 3, "factor_start"), "end_factor": (1.0, "factor_end"),
               "total_iters": (5, "pos_int")},
    "onecycle": {"max_lr": (_REQ, "pos"), "total_steps": (_REQ, "pos_int"),
                 "pct_start": (0.3, "unit_closed"), "anneal_strategy": ("cos", "anneal"),
                 "cycle_momentum": (True, "bool"), "base_momentum": (0.85, "unit_closed"),
                 "max_momentum": (0.95, "unit_closed"), "div_factor": (25.0, "pos"),
                 "final_div_factor": (1e4, "pos"), "three_phase": (False, "bool")},
    "sequential": {"schedules": (_REQ, "schedules"), "milestones": (_REQ, "int_list")},
}
TORCH_NAMES = {"step": "StepLR", "multistep": "MultiStepLR", "exponential": "ExponentialLR",
               "cosine": "CosineAnnealingLR", "cosine_restarts": "CosineAnnealingWarmRestarts",
               "linear": "LinearLR", "onecycle": "OneCycleLR", "sequential": "SequentialLR"}


class ScheduleError(ConfigError):
    """A ConfigError whose ``path`` is the key path inside ``schedule``."""

    def __init__(self, message, path=(), hint=None):
        super().__init__(message, key=".".join(map(str, ("schedule", *path))), hint=hint)
        self.path = ("schedule", *path)


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: its type, its parameters (defaults filled in), children."""

    type: str
    params: tuple[tuple[str, Any], ...]
    children: tuple[Schedule, ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def cycles_momentum(self) -> bool:
        return (self.type == "onecycle" and self.kwargs["cycle_momentum"]) or any(
            c.cycles_momentum for c in self.children)

    def label(self) -> str:
        """Short text for legends: ``cosine(T_max=100)``."""
        if self.type == "sequential":
            inner = " → ".join(c.label() for c in self.children)
            return f"[{inner} @ {','.join(map(str, self.kwargs['milestones']))}]"
        shown = [f"{k}={_fmt(v)}" for k, v in self.params
                 if SCHEDULES[self.type][k][0] is _REQ or v != SCHEDULES[self.type][k][0]]
        return f"{self.type}({', '.join(shown)})"

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :func:`parse_schedule` reads back to this schedule."""
        out: dict[str, Any] = {"type": self.type}
        for k, v in self.params:
            out[k] = list(v) if isinstance(v, tuple) else v
        if self.children:
            out["schedules"] = [c.to_dict() for c in self.children]
        return out

    def lrs(self, base_lr: Any, steps: int, momentum: Any = None) -> list:
        """The lr used at optimizer steps 1..steps (torch's group['lr'] at each step)."""
        seq = LrSequence(self, base_lr, momentum)
        return [seq[t][0] for t in range(steps)]


def _fmt(v):
    if isinstance(v, float):
        s = f"{v:g}"
        return s if float(s) == v else repr(v)
    return str(v)


def parse_schedule(data: Any, path: tuple = ()) -> Schedule:
    """Validate a schedule mapping (YAML or Python); errors name the key path."""
    if isinstance(data, Schedule):
        return data
    if not isinstance(data, Mapping):
        raise ScheduleError("a schedule is a mapping such as {type: cosine, T_max: 100}", path,
                            hint="types: " + ", ".join(SCHEDULES))
    kind = data.get("type")
    if kind not in SCHEDULES:
        raise ScheduleError(f"unknown schedule type {kind!r}", path + ("type",),
                            hint=did_you_mean(str(kind), SCHEDULES)
                            or "types: " + ", ".join(SCHEDULES))
    table = SCHEDULES[kind]
    for key in data:
        if key != "type" and key not in table:
            raise ScheduleError(f"schedule {kind} has no parameter '{key}'", path + (key,),
                                hint=did_you_mean(str(key), table)
                                or f"{kind} takes: " + ", ".join(table))
    values, children = {}, ()
    for key, (default, check) in table.items():
        if key not in data:
            if default is _REQ:
                raise ScheduleError(f"schedule {kind} needs '{key}' (torch's {TORCH_NAMES[kind]})",
                                    path, hint=f"{kind} takes: " + ", ".join(table))
            values[key] = default
            continue
        value = data[key]
        if check == "schedules":
            if not isinstance(value, list) or not value:
                raise ScheduleError("schedules must be a non-empty list of schedules",
                                    path + (key,))
            children = tuple(parse_schedule(v, path + (key, i)) for i, v in enumerate(value))
            for i, c in enumerate(children):
                if c.type in ("sequential", "onecycle"):
                    raise ScheduleError(f"a {c.type} schedule inside sequential is not supported",
                                        path + (key, i, "type"),
                                        hint="use it as the whole schedule")
            values[key] = len(children)
            continue
        values[key] = _check(kind, key, check, value, path + (key,))
    if kind == "sequential" and len(values["milestones"]) != values["schedules"] - 1:
        raise ScheduleError("sequential needs one milestone fewer than schedules",
                            path + ("milestones",),
                            hint=f"{values['schedules']} schedules: "
                                 f"{values['schedules'] - 1} milestones")
    if kind == "sequential":
        del values["schedules"]
    if kind == "onecycle" and values["base_momentum"] > values["max_momentum"]:
        raise ScheduleError("base_momentum must not exceed max_momentum",
                            path + ("base_momentum",))
    if kind == "onecycle" and _onecycle_ends(values)[0] == 0:
        raise ScheduleError(f"onecycle's warm-up has no steps: pct_start x total_steps is 1 "
                            f"({values['pct_start']:g} x {values['total_steps']}), and torch's "
                            "OneCycleLR divides by zero there", path + ("pct_start",),
                            hint="a pct_start whose product with total_steps is not 1")
    return Schedule(kind, tuple(values.items()), children)


def _check(kind, key, check, value, path):
    if check == "bool":
        if not isinstance(value, bool):
            raise ScheduleError(f"{key} must be true or false, got {value!r}", path)
        return value
    if check == "anneal":
        if value not in ("cos", "linear"):
            raise ScheduleError(f"anneal_strategy must be cos or linear, got {value!r}", path,
                                hint=did_you_mean(str(value), ("cos", "linear")))
        return value
    if check == "int_list":
        if (not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                   and v > 0 for v in value)):
            raise ScheduleError(f"{key} must be a list of positive step numbers, got {value!r}",
                                path, hint="e.g. [30, 80]")
        if kind == "sequential" and value != sorted(value):
            raise ScheduleError(f"{key} must increase, got {value!r}", path)
        return tuple(value)
    if check == "pos_int":
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ScheduleError(f"{key} must be a whole number > 0, got {value!r}", path)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScheduleError(f"{key} must be a finite number, got {value!r}", path)
    value = float(value)
    ok, expect = {"pos": (value > 0, "> 0"), "nonneg": (value >= 0, ">= 0"),
                  "unit_closed": (0 <= value <= 1, "in [0, 1]"),
                  "factor_start": (0 < value <= 1, "in (0, 1]"),
                  "factor_end": (0 <= value <= 1, "in [0, 1]")}[check]
    if not ok:
        raise ScheduleError(f"{key} must be {expect}, got {value!r}", path)
    return value


# ----------------------------------------------------------------- torch's stepping
class _Scheduler:
    """torch.optim.lr_scheduler.LRScheduler over one param group (a dict)."""

    closed_form = False

    def __init__(self, group: dict, **kw):
        self.group = group
        self.__dict__.update(kw)
        group.setdefault("initial_lr", group["lr"])
        self.base = group["initial_lr"]
        self.last_epoch = -1
        self.is_initial = False
        self._initial_step()

    def _initial_step(self):
        self.step_count = 0
        self.is_initial = True
        self.step()
        self.is_initial = False

    def step(self):
        self.step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch):
        if epoch is None:
            self.last_epoch += 1
            value = self.get_lr()
        else:
            self.last_epoch = epoch
            value = self.closed() if self.closed_form else self.get_lr()
        self.group["lr"] = value


class _Step(_Scheduler):
    closed_form = True

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.group["lr"]
        return self.group["lr"] * self.gamma

    def closed(self):
        return self.base * self.gamma ** (self.last_epoch // self.step_size)


class _MultiStep(_Scheduler):
    closed_form = True

    def __init__(self, group, milestones, gamma):
        super().__init__(group, milestones=Counter(milestones), gamma=gamma)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self.group["lr"]
        return self.group["lr"] * self.gamma ** self.milestones[self.last_epoch]

    def closed(self):
        return self.base * self.gamma ** bisect_right(sorted(self.milestones.elements()),
                                                      self.last_epoch)


class _Exponential(_Scheduler):
    closed_form = True

    def get_lr(self):
        return self.group["lr"] if self.is_initial else self.group["lr"] * self.gamma

    def closed(self):
        return self.base * self.gamma ** self.last_epoch


class _Cosine(_Scheduler):
    closed_form = True

    def get_lr(self):
        lr, le, T, eta = self.group["lr"], self.last_epoch, self.T_max, self.eta_min
        if self.is_initial:
            return lr
        if self.step_count == 1 and le > 0:
            return eta + (self.base - eta) * (1 + math.cos(le * math.pi / T)) / 2
        if (le - 1 - T) % (2 * T) == 0:
            return lr + (self.base - eta) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * le / T)) / (1 + math.cos(math.pi * (le - 1) / T)) \
            * (lr - eta) + eta

    def closed(self):
        return self.eta_min + (self.base - self.eta_min) * (
            1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2


class _Linear(_Scheduler):
    closed_form = True

    def get_lr(self):
        lr, le, s, e, n = (self.group["lr"], self.last_epoch, self.start_factor,
                           self.end_factor, self.total_iters)
        if le == 0:
            return lr * s
        if self.is_initial or le > n:
            return lr
        return lr * (1.0 + (e - s) / (n * s + (le - 1) * (e - s)))

    def closed(self):
        return self.base * (self.start_factor + (self.end_factor - self.start_factor)
                            * min(self.total_iters, self.last_epoch) / self.total_iters)


class _CosineRestarts(_Scheduler):
    def __init__(self, group, T_0, T_mult, eta_min):
        self.T_i, self.T_cur = T_0, -1
        super().__init__(group, T_0=T_0, T_mult=T_mult, eta_min=eta_min)

    def get_lr(self):
        return self.eta_min + (self.base - self.eta_min) * (
            1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2

    def step(self):
        if self.last_epoch < 0:  # torch: step(epoch=0)
            self.T_i, self.T_cur = self.T_0, 0
            epoch = 0
        else:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        self.last_epoch = epoch
        self.group["lr"] = self.get_lr()


def _onecycle_ends(kw: Mapping[str, Any]) -> tuple[float, ...]:
    """The steps at which OneCycleLR's phases end (torch's arithmetic): the warm-up at
    pct_start x total_steps - 1, (three_phase: the way back at twice that,) the last
    at total_steps - 1."""
    p, n = kw["pct_start"], kw["total_steps"]
    if kw["three_phase"]:
        return float(p * n) - 1, float(2 * p * n) - 2, n - 1
    return float(p * n) - 1, n - 1


class _OneCycle(_Scheduler):
    def __init__(self, group, max_lr, total_steps, pct_start, anneal_strategy, cycle_momentum,
                 base_momentum, max_momentum, div_factor, final_div_factor, three_phase):
        ends = _onecycle_ends({"pct_start": pct_start, "total_steps": total_steps,
                               "three_phase": three_phase})
        if three_phase:
            phases = [(ends[0], "initial_lr", "max_lr", "max_m", "base_m"),
                      (ends[1], "max_lr", "initial_lr", "base_m", "max_m"),
                      (ends[2], "initial_lr", "min_lr", "max_m", "max_m")]
        else:
            phases = [(ends[0], "initial_lr", "max_lr", "max_m", "base_m"),
                      (ends[1], "max_lr", "min_lr", "base_m", "max_m")]
        group["initial_lr"] = max_lr / div_factor
        group["max_lr"] = max_lr
        group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            group["momentum"] = max_momentum
            group["max_m"], group["base_m"] = max_momentum, base_momentum
        super().__init__(group, total_steps=total_steps, phases=phases,
                         anneal=anneal_strategy, cycle=cycle_momentum)

    def _anneal(self, start, end, pct):
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def step(self):
        # past the cycle keep its last values (step total_steps - 1): torch computes one
        # more, extrapolating the anneal (a linear one below zero), then raises
        if self.last_epoch + 1 >= self.total_steps:
            return
        super().step()

    def get_lr(self):
        g, step_num = self.group, self.last_epoch
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(self.phases):
            if step_num <= end_step or i == len(self.phases) - 1:
                pct = (step_num - start_step) / (end_step - start_step)
                lr = self._anneal(g[lr0], g[lr1], pct)
                if self.cycle:
                    g["momentum"] = self._anneal(g[m0], g[m1], pct)
                return lr
            start_step = end_step


class _Sequential:
    def __init__(self, group, schedules, milestones):
        self.group, self.milestones = group, list(milestones)
        self.scheds = [_make(c, group) for c in schedules]
        self.last_epoch = 0
        group["lr"] = group["initial_lr"]
        for s in self.scheds:
            s.last_epoch -= 1
        self.scheds[bisect_right(self.milestones, 0)]._initial_step()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self.milestones, self.last_epoch)
        s = self.scheds[idx]
        if idx > 0 and self.milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()


_CLASSES: dict[str, Callable] = {
    "step": _Step, "multistep": _MultiStep, "exponential": _Exponential, "cosine": _Cosine,
    "cosine_restarts": _CosineRestarts, "linear": _Linear, "onecycle": _OneCycle,
}


def _make(schedule: Schedule, group: dict):
    if schedule.type == "sequential":
        return _Sequential(group, schedule.children, schedule.kwargs["milestones"])
    return _CLASSES[schedule.type](group, **schedule.kwargs)


class LrSequence:
    """(lr, momentum or None) for optimizer steps 0, 1, 2, ... (0-based), computed on demand."""

    def __init__(self, schedule: Schedule, base_lr: Any, momentum: Any = None):
        self.group = {"lr": base_lr, "momentum": momentum}
        self.cycles = schedule.cycles_momentum
        self.sched = _make(schedule, self.group)
        self.values: list = []

    def __getitem__(self, t: int):
        while len(self.values) <= t:
            if self.values:
                self.sched.step()
            self.values.append((self.group["lr"],
                                self.group["momentum"] if self.cycles else None))
        return self.values[t]


def scale_by_schedule(schedule: Schedule | Mapping, lr) -> Optimizer:
    """d ← −lr_t·d with lr_t from *schedule* (base *lr*): a transform for chains of your
    own. The built-ins take ``schedule=`` instead (:func:`scheduled`), because their lr
    also sits inside the rule (Adagrad's decay, NAG's velocity, AdaBound's bounds) and
    onecycle also moves beta1 / momentum."""
    from optviz.core.optim.transforms import scale_by_step_size

    sequence = LrSequence(parse_schedule(schedule), lr)
    return scale_by_step_size(lambda t: sequence[t - 1][0])


# ----------------------------------------------------------------- the wrapper
class ScheduledState(NamedTuple):
    inner: Any
    lr: Any  # the learning rate of the last step
    count: int


def scheduled(factory: Callable[..., Optimizer], params: Mapping[str, Any], schedule: Schedule,
              momentum_name: str | None = None, base_lr_param: bool = False) -> Optimizer:
    """*factory*'s optimizer with its lr (and momentum / beta1 for onecycle) set by
    *schedule* at every step, as torch reads ``group['lr']`` at every step.

    The factory is called again each step with the current values (the
    hyperparameter injection of optax's ``inject_hyperparams``); its state's
    layout must not depend on them, which holds for every built-in.
    """
    params = dict(params)
    sequence = LrSequence(schedule, params["lr"],
                          params.get(momentum_name) if momentum_name else None)

    def init(p):
        return ScheduledState(factory(**params).init(p), params["lr"], 0)

    def update(g, state, p, oracle):
        lr, mom = sequence[state.count]
        hp = {**params, "lr": lr}
        if mom is not None and momentum_name:
            hp[momentum_name] = mom
        if base_lr_param:
            hp["base_lr"] = params["lr"]
        step, inner = factory(**hp).update(g, state.inner, p, oracle)
        return step, ScheduledState(inner, lr, state.count + 1)

    return Optimizer(init, update)
