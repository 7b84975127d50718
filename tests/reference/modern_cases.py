"""The modern optimizers' cases and their reference runs (needs torch and the
reference packages: pip install -e ".[reference]").

Used by test_modern_live.py (live comparison) and record_modern.py (which
writes tests/fixtures/reference_modern.json for the default suite). Every run
is float64, one start at a time (the references reduce over all parameters:
one start = one run). Each case records the path optviz must draw plus the
inner value it exposes: schedule-free's y (gradient point), SAM's perturbed
point, Lookahead's slow weights, Prodigy's d.
"""

from __future__ import annotations

import numpy as np
import torch

STARTS = [(-2.8, -2.5), (1.0, 0.5)]
SHORT, LONG = 10, 200


def wobbly_t(p):
    x, y = p[0], p[1]
    return ((x ** 2 + y ** 2) / 3 + torch.abs(x) * torch.sqrt(torch.abs(x) + 0.1)
            + 3 * torch.sin(x + y) + 3 + 8 * torch.exp(-2 * ((x + 1) ** 2 + (y + 2) ** 2)))


def bowl_t(p):
    x, y = p[0], p[1]
    return torch.log(1 + x ** 2 + 3 * y ** 2) + 0.1 * x * y


TORCH_SURFACES = {"wobbly": wobbly_t, "bowl": bowl_t}
BOWL = {"formula": "log(1 + x**2 + 3*y**2) + 0.1*x*y", "domain": {"x": [-3, 3], "y": [-3, 3]}}

# (optviz type, optviz hyperparameters); the reference's arguments follow from them.
CASES = [
    ("lion", {"lr": 0.01}),
    ("lion", {"lr": 0.02, "beta1": 0.8, "beta2": 0.9, "weight_decay": 0.5}),
    ("signsgd", {"lr": 0.01}),
    ("signsgd", {"lr": 0.02, "weight_decay": 0.3}),
    ("signum", {"lr": 0.01}),
    ("signum", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.3}),
    ("adan", {"lr": 0.05}),
    ("adan", {"lr": 0.05, "beta1": 0.9, "beta2": 0.8, "beta3": 0.95, "eps": 1e-3,
              "weight_decay": 0.2}),
    ("adopt", {"lr": 0.05}),
    ("adopt", {"lr": 0.05, "beta1": 0.7, "beta2": 0.99, "eps": 1e-3, "weight_decay": 0.2}),
    ("sam", {"rho": 0.05, "base": {"type": "sgd", "lr": 0.02}}),
    ("sam", {"rho": 0.2, "adaptive": True, "base": {"type": "momentum", "lr": 0.01}}),
    ("sam", {"rho": 0.1, "base": {"type": "adam", "lr": 0.05}}),
    ("lookahead", {"k": 5, "alpha": 0.5, "base": {"type": "adam", "lr": 0.1}}),
    ("lookahead", {"k": 3, "alpha": 0.3, "base": {"type": "sgd", "lr": 0.05}}),
    ("prodigy", {}),
    ("prodigy", {"lr": 0.5, "beta1": 0.8, "beta2": 0.99, "beta3": 0.9, "d0": 1e-4,
                 "weight_decay": 0.1, "use_bias_correction": True, "safeguard_warmup": True,
                 "growth_rate": 1.5}),
    ("prodigy", {"weight_decay": 0.1, "decouple": False, "d_coef": 0.5}),
    ("sgd_schedulefree", {"lr": 0.05}),
    ("sgd_schedulefree", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "warmup_steps": 20,
                          "r": 1.0, "weight_lr_power": 1.0}),
    ("adamw_schedulefree", {"lr": 0.05}),
    ("adamw_schedulefree", {"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-4,
                            "weight_decay": 0.1, "warmup_steps": 20, "r": 0.5,
                            "weight_lr_power": 1.0}),
    ("sophia", {"lr": 0.05}),
    ("sophia", {"lr": 0.05, "beta1": 0.9, "beta2": 0.9, "gamma": 0.1, "eps": 1e-6, "k": 3,
                "weight_decay": 0.1}),
]

# Runs that end oscillating around a minimum amplify last-bit differences (the
# order of floating-point operations, torch's fused multiply-adds; for Sophia,
# torch's autograd Hessian against SymPy's exact one; for SAM, the direction g/|g|
# of a vanishing gradient) at up to x2 per step: optviz and the reference agree to 1e-15
# up to some step and then drift apart at a rate set by the dynamics, not by the
# formulas. (case, surface) -> the steps compared at full precision; after them
# the paths must still stay within CHAOTIC_SPREAD of each other (same oscillation).
CHAOTIC = {(7, "wobbly"): 150, (7, "bowl"): 150, (22, "wobbly"): 120, (22, "bowl"): 80,
           (10, "wobbly"): 100, (10, "bowl"): 90, (12, "bowl"): 140}
CHAOTIC_SPREAD = 0.1
# (rtol, atol) where not (1e-9, 1e-12): Prodigy's d is a ratio of sums accumulated
# with cancellation, SAM normalises the gradient; both carry last-bit differences
# up to ~1e-9 relative (measured: at most 6e-9) without drifting further.
TOLERANCE = {"prodigy": (1e-8, 1e-10), "sam": (1e-8, 1e-9)}

# What each type exposes in its state, compared alongside the path.
EXTRA = {"sam": "perturbed", "lookahead": "slow", "prodigy": "d",
         "sgd_schedulefree": "y", "adamw_schedulefree": "y"}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in
            ("torch", "lion-pytorch", "schedulefree", "prodigyopt", "pytorch_optimizer")}


# ----------------------------------------------------------------- building the references
def _torch_base(base: dict):
    """torch.optim class and keyword arguments for a wrapper's base."""
    kind, hp = base["type"], {k: v for k, v in base.items() if k != "type"}
    if kind == "sgd":
        return torch.optim.SGD, {"lr": hp["lr"]}
    if kind == "momentum":
        return torch.optim.SGD, {"lr": hp["lr"], "momentum": hp.get("momentum", 0.9)}
    if kind == "adam":
        return torch.optim.Adam, {"lr": hp["lr"]}
    raise ValueError(kind)


def _betas(hp, names, defaults):
    return tuple(hp.get(n, d) for n, d in zip(names, defaults))


def make_reference(kind: str, hp: dict, p: torch.Tensor):
    from lion_pytorch import Lion
    from prodigyopt import Prodigy
    from pytorch_optimizer import ADOPT, SAM, Adan, Lookahead, SignSGD
    from schedulefree import AdamWScheduleFree, SGDScheduleFree

    wd = hp.get("weight_decay", 0.0)
    if kind == "lion":
        return Lion([p], lr=hp["lr"], betas=_betas(hp, ("beta1", "beta2"), (0.9, 0.99)),
                    weight_decay=wd)
    if kind in ("signsgd", "signum"):
        mom = 0.0 if kind == "signsgd" else hp.get("momentum", 0.9)
        return SignSGD([p], lr=hp["lr"], momentum=mom, weight_decay=wd)
    if kind == "adan":
        return Adan([p], lr=hp["lr"], eps=hp.get("eps", 1e-8), weight_decay=wd,
                    betas=_betas(hp, ("beta1", "beta2", "beta3"), (0.98, 0.92, 0.99)))
    if kind == "adopt":
        return ADOPT([p], lr=hp["lr"], eps=hp.get("eps", 1e-6), weight_decay=wd,
                     betas=_betas(hp, ("beta1", "beta2"), (0.9, 0.9999)))
    if kind == "sam":
        cls, kw = _torch_base(hp["base"])
        return SAM([p], cls, rho=hp.get("rho", 0.05), adaptive=hp.get("adaptive", False), **kw)
    if kind == "lookahead":
        cls, kw = _torch_base(hp["base"])
        return Lookahead(cls([p], **kw), k=hp.get("k", 5), alpha=hp.get("alpha", 0.5))
    if kind == "prodigy":
        keys = ("lr", "beta3", "eps", "weight_decay", "decouple", "use_bias_correction",
                "safeguard_warmup", "d0", "d_coef", "growth_rate")
        return Prodigy([p], betas=_betas(hp, ("beta1", "beta2"), (0.9, 0.999)),
                       **{k: hp[k] for k in keys if k in hp})
    if kind == "sgd_schedulefree":
        keys = ("lr", "momentum", "weight_decay", "warmup_steps", "r", "weight_lr_power")
        return SGDScheduleFree([p], **{k: hp[k] for k in keys if k in hp})
    if kind == "adamw_schedulefree":
        keys = ("lr", "eps", "weight_decay", "warmup_steps", "r", "weight_lr_power")
        return AdamWScheduleFree([p], betas=_betas(hp, ("beta1", "beta2"), (0.9, 0.999)),
                                 **{k: hp[k] for k in keys if k in hp})
    raise ValueError(kind)


def sophia_paper(fn, start, steps, lr=0.05, beta1=0.96, beta2=0.99, gamma=0.01, eps=1e-12,
                 k=10, weight_decay=0.0):
    """Transcription of Algorithm 3 of Liu et al. (arXiv:2305.14342), with the
    exact Hessian diagonal (torch.autograd.functional.hessian) as the estimator:

        m_t = β1 m_{t−1} + (1−β1) g_t
        if t mod k = 1: h_t = β2 h_{t−k} + (1−β2) ĥ_t  else h_t = h_{t−1}
        θ_t ← θ_t − η λ θ_t
        θ_{t+1} = θ_t − η · clip(m_t / max{γ·h_t, ε}, 1)
    """
    theta = torch.tensor(start, dtype=torch.float64)
    m = torch.zeros(2, dtype=torch.float64)
    h = torch.zeros(2, dtype=torch.float64)
    out = [theta.clone().numpy()]
    for t in range(1, steps + 1):
        p = theta.clone().requires_grad_(True)
        g = torch.autograd.grad(fn(p), p)[0]
        m = beta1 * m + (1 - beta1) * g
        if t % k == 1 % k:
            h_hat = torch.diagonal(torch.autograd.functional.hessian(fn, theta))
            h = beta2 * h + (1 - beta2) * h_hat
        theta = theta - lr * weight_decay * theta
        theta = theta - lr * torch.clamp(m / torch.clamp(gamma * h, min=eps), -1.0, 1.0)
        out.append(theta.clone().numpy())
    return np.array(out), None


def _float64_gradient_norm(param_groups, device=None, *, weight_adaptive=False):
    """pytorch_optimizer's get_global_gradient_norm (utils/gradient.py, 4.1.0), the
    sum of the squared L2 norms of the (|θ|-weighted when adaptive) gradients,
    without its cast to float32."""
    grads = [p.grad * p.abs() if weight_adaptive and group.get("adaptive", False) else p.grad
             for group in param_groups for p in group["params"] if p.grad is not None]
    return torch.stack([g.norm() for g in grads]).square().sum().reshape(1)


def reference_path(kind: str, hp: dict, surface: str, start, steps: int, *,
                   sam_float64: bool = True):
    """(points (steps+1, 2), extra (steps, ...) or None) of the reference run.

    SAM: pytorch_optimizer computes the gradient norm in float32; with
    ``sam_float64`` (the default) its norm function is swapped for the same
    sum in float64 for the run, so the comparison checks the formula, not float32.
    """
    fn = TORCH_SURFACES[surface]
    if kind == "sophia":
        return sophia_paper(fn, start, steps, **hp)
    import pytorch_optimizer.optimizer.sam as sam_module

    old = torch.get_default_dtype()
    old_norm = sam_module.get_global_gradient_norm
    torch.set_default_dtype(torch.float64)
    if sam_float64:
        sam_module.get_global_gradient_norm = _float64_gradient_norm
    try:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = make_reference(kind, hp, p)
        if "schedulefree" in kind:
            opt.train()
        points, extra = [p.detach().clone().numpy()], []
        for _ in range(steps):
            opt.zero_grad()
            fn(p).backward()
            if kind == "sam":
                def closure():
                    opt.zero_grad()
                    extra.append(p.detach().clone().numpy())  # the perturbed point
                    loss = fn(p)
                    loss.backward()
                    return loss
                opt.step(closure)
            else:
                opt.step()
            if "schedulefree" in kind:
                beta = hp.get("momentum", 0.9) if kind.startswith("sgd") else hp.get("beta1", 0.9)
                z = opt.state[p]["z"]
                # what eval() puts in p, without switching modes (which would round y)
                points.append(p.detach().clone().lerp_(z, 1 - 1 / beta).numpy())
                extra.append(p.detach().clone().numpy())
                continue
            points.append(p.detach().clone().numpy())
            if kind == "lookahead":
                extra.append(opt.state[p]["slow_params"].clone().numpy())
            elif kind == "prodigy":
                extra.append(np.array([float(opt.param_groups[0]["d"])]))
        return np.array(points), (np.array(extra) if extra else None)
    finally:
        torch.set_default_dtype(old)
        sam_module.get_global_gradient_norm = old_norm


def case_id(i: int) -> str:
    return f"{CASES[i][0]}-{i}"



# ----------------------------------------------------------------- the optviz side
def optviz_path(kind: str, hp: dict, surface: str, start, steps: int):
    """optviz's (points, extra) for the same run, extra read from the state."""
    from optviz.core.engine import simulate
    from optviz.core.optim import make_optimizer
    from optviz.core.surfaces import load_surface

    extra = []
    field = EXTRA.get(kind)

    def observe(t, k, grad, step, state):
        if field is not None:
            extra.append(np.asarray(getattr(state, field), dtype=np.float64)[0])

    surf = load_surface(surface if surface != "bowl" else BOWL)
    tr = simulate(surf, {"o": make_optimizer(kind, **hp)}, [start], steps, observe=observe)
    assert tr.steps[0, 0] == steps
    return tr.points[0, 0], (np.array(extra) if extra else None)
