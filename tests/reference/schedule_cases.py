"""The schedule cases: optviz's optimizer + schedule against torch's optimizer + scheduler.

Shared by tests/test_schedules.py and tests/reference/record_schedules.py (which
records torch's trajectories into tests/fixtures/reference_schedules.json).
Each case: (id, our type, our hyperparameters incl. schedule, torch optimizer class
name, its kwargs, a description of the torch scheduler: (class name, kwargs) or, for
SequentialLR, ("SequentialLR", {"schedulers": [(name, kwargs), ...], "milestones": [...]})).
"""

STEPS = 120
STARTS = [(-2.8, -2.5), (1.0, 0.5)]
SURFACE = {"formula": "log(1 + x**2 + 3*y**2) + 0.1*x*y", "domain": {"x": [-3, 3], "y": [-3, 3]}}


def bowl_t(p):
    import torch

    x, y = p[0], p[1]
    return torch.log(1 + x ** 2 + 3 * y ** 2) + 0.1 * x * y


CASES = [
    ("sgd-step", "sgd", {"lr": 0.3, "schedule": {"type": "step", "step_size": 30, "gamma": 0.5}},
     "SGD", {"lr": 0.3}, ("StepLR", {"step_size": 30, "gamma": 0.5})),
    ("momentum-multistep", "momentum",
     {"lr": 0.05, "schedule": {"type": "multistep", "milestones": [20, 50, 50], "gamma": 0.3}},
     "SGD", {"lr": 0.05, "momentum": 0.9},
     ("MultiStepLR", {"milestones": [20, 50, 50], "gamma": 0.3})),
    ("adam-exponential", "adam", {"lr": 0.1, "schedule": {"type": "exponential", "gamma": 0.98}},
     "Adam", {"lr": 0.1}, ("ExponentialLR", {"gamma": 0.98})),
    ("adam-cosine", "adam",
     {"lr": 0.1, "schedule": {"type": "cosine", "T_max": 40, "eta_min": 0.001}},
     "Adam", {"lr": 0.1}, ("CosineAnnealingLR", {"T_max": 40, "eta_min": 0.001})),
    ("rmsprop-restarts", "rmsprop",
     {"lr": 0.02, "schedule": {"type": "cosine_restarts", "T_0": 10, "T_mult": 2,
                               "eta_min": 0.001}},
     "RMSprop", {"lr": 0.02},
     ("CosineAnnealingWarmRestarts", {"T_0": 10, "T_mult": 2, "eta_min": 0.001})),
    ("adagrad-linear", "adagrad",
     {"lr": 0.3, "schedule": {"type": "linear", "start_factor": 0.1, "total_iters": 25}},
     "Adagrad", {"lr": 0.3}, ("LinearLR", {"start_factor": 0.1, "total_iters": 25})),
    ("adam-onecycle", "adam",
     {"lr": 0.1, "schedule": {"type": "onecycle", "max_lr": 0.2, "total_steps": 120}},
     "Adam", {"lr": 0.1}, ("OneCycleLR", {"max_lr": 0.2, "total_steps": 120})),
    ("momentum-onecycle-3phase-linear", "momentum",
     {"lr": 0.05, "schedule": {"type": "onecycle", "max_lr": 0.1, "total_steps": 150,
                               "pct_start": 0.25, "anneal_strategy": "linear",
                               "three_phase": True, "div_factor": 10.0,
                               "final_div_factor": 100.0}},
     "SGD", {"lr": 0.05, "momentum": 0.9},
     ("OneCycleLR", {"max_lr": 0.1, "total_steps": 150, "pct_start": 0.25,
                     "anneal_strategy": "linear", "three_phase": True, "div_factor": 10.0,
                     "final_div_factor": 100.0})),
    ("adamw-onecycle-no-momentum", "adamw",
     {"lr": 0.1, "weight_decay": 0.05,
      "schedule": {"type": "onecycle", "max_lr": 0.3, "total_steps": 130,
                   "cycle_momentum": False}},
     "AdamW", {"lr": 0.1, "weight_decay": 0.05},
     ("OneCycleLR", {"max_lr": 0.3, "total_steps": 130, "cycle_momentum": False})),
    ("adam-warmup-cosine", "adam",
     {"lr": 0.1, "schedule": {"type": "sequential", "milestones": [10],
                              "schedules": [{"type": "linear", "start_factor": 0.01,
                                             "total_iters": 10},
                                            {"type": "cosine", "T_max": 110}]}},
     "Adam", {"lr": 0.1},
     ("SequentialLR", {"schedulers": [("LinearLR", {"start_factor": 0.01, "total_iters": 10}),
                                      ("CosineAnnealingLR", {"T_max": 110})],
                       "milestones": [10]})),
    ("nadam-exp-then-step", "nadam",
     {"lr": 0.05, "schedule": {"type": "sequential", "milestones": [15, 60],
                               "schedules": [{"type": "exponential", "gamma": 1.05},
                                             {"type": "step", "step_size": 10, "gamma": 0.7},
                                             {"type": "multistep", "milestones": [5, 30]}]}},
     "NAdam", {"lr": 0.05},
     ("SequentialLR", {"schedulers": [("ExponentialLR", {"gamma": 1.05}),
                                      ("StepLR", {"step_size": 10, "gamma": 0.7}),
                                      ("MultiStepLR", {"milestones": [5, 30]})],
                       "milestones": [15, 60]})),
    # weight decay (coupled) on the torch optimizers, no schedule
    ("sgd-wd", "momentum", {"lr": 0.05, "weight_decay": 0.1}, "SGD",
     {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}, None),
    ("adam-wd", "adam", {"lr": 0.05, "weight_decay": 0.2}, "Adam",
     {"lr": 0.05, "weight_decay": 0.2}, None),
    ("rmsprop-wd", "rmsprop", {"lr": 0.01, "weight_decay": 0.1, "momentum": 0.3}, "RMSprop",
     {"lr": 0.01, "weight_decay": 0.1, "momentum": 0.3}, None),
    ("adagrad-wd", "adagrad", {"lr": 0.3, "weight_decay": 0.1}, "Adagrad",
     {"lr": 0.3, "weight_decay": 0.1}, None),
    ("adadelta-wd", "adadelta", {"lr": 1.0, "weight_decay": 0.1}, "Adadelta",
     {"lr": 1.0, "weight_decay": 0.1}, None),
    ("adamax-wd", "adamax", {"lr": 0.05, "weight_decay": 0.1}, "Adamax",
     {"lr": 0.05, "weight_decay": 0.1}, None),
    ("nadam-wd", "nadam", {"lr": 0.05, "weight_decay": 0.1}, "NAdam",
     {"lr": 0.05, "weight_decay": 0.1}, None),
    ("radam-wd", "radam", {"lr": 0.05, "weight_decay": 0.1}, "RAdam",
     {"lr": 0.05, "weight_decay": 0.1}, None),
    ("adamw", "adamw", {"lr": 0.05}, "AdamW", {"lr": 0.05}, None),
    ("adamw-amsgrad", "adamw", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True, "beta2": 0.9},
     "AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True, "betas": (0.9, 0.9)}, None),
]


def torch_path(case, start, steps=STEPS):
    """The torch optimizer (+ scheduler) from *start*, float64: (steps + 1, 2)."""
    import numpy as np
    import torch

    _, _, _, cls, kwargs, sched = case
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = getattr(torch.optim, cls)([p], **kwargs)
        scheduler = _scheduler(opt, sched) if sched else None
        out = [p.detach().clone().numpy()]
        for _ in range(steps):
            opt.zero_grad()
            bowl_t(p).backward()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            out.append(p.detach().clone().numpy())
        return np.array(out)
    finally:
        torch.set_default_dtype(old)


def torch_lrs(case, steps=STEPS):
    """torch's lr at optimizer steps 1..steps."""
    import torch

    _, _, _, cls, kwargs, sched = case
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls)([p], **kwargs)
    scheduler = _scheduler(opt, sched)
    out = []
    for _ in range(steps):
        out.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        scheduler.step()
    return out


def _scheduler(opt, sched):
    import torch

    name, kwargs = sched
    if name == "SequentialLR":
        subs = [getattr(torch.optim.lr_scheduler, n)(opt, **kw) for n, kw in kwargs["schedulers"]]
        return torch.optim.lr_scheduler.SequentialLR(opt, subs, kwargs["milestones"])
    return getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
