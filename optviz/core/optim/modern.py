"""The modern optimizers: Lion, SignSGD/Signum, Adan, ADOPT, SAM, Lookahead,
Prodigy, schedule-free SGD/AdamW and Sophia.

Each factory returns an :class:`~optviz.core.optim.base.Optimizer` over (N, D)
float64 batches, written from its reference implementation's update rule (the
docstring names the package and the version it was checked against, step by
step in float64, in tests/reference/test_modern_live.py and, from recorded
trajectories, tests/test_optim_modern.py). Hyperparameters are floats or (N, 1)
arrays. Where a reference reduces over all its parameters (Prodigy's step-size
estimate, SAM's gradient norm) the reduction here is over one run (one row), so
N runs in a batch equal the same N runs alone.

``sam`` and ``lookahead`` wrap a base Optimizer; the registry builds it from
the config's nested ``base:`` mapping.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from optviz.core.optim.base import Optimizer, first_moment, lerp, zeros

# The point, besides the path, that each method's state exposes for overlays.
INNER_POINTS = {"y": "where schedule-free takes its gradient",
                "perturbed": "SAM's perturbed point θ + e",
                "slow": "Lookahead's slow weights"}


def inner_point(state) -> tuple[str, np.ndarray] | None:
    """(field name, (N, D) point) of a modern optimizer's second point, if it has one."""
    for name in INNER_POINTS:
        if hasattr(state, name):
            return name, getattr(state, name)
    return None


def _rows(params: np.ndarray, value=0.0) -> np.ndarray:
    """An (N, 1) float64 column (per-run scalars: Prodigy's d, its counters)."""
    return np.full((params.shape[0], 1), value, dtype=np.float64)


# ----------------------------------------------------------------- Lion
class LionState(NamedTuple):
    first_moment: np.ndarray  # exp_avg
    count: int


def lion(*, lr, beta1, beta2, weight_decay) -> Optimizer:
    """Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of
    Optimization Algorithms", arXiv:2302.06675), as lion-pytorch 0.2.5's Lion.

    u = sign(β1·m + (1−β1)·g);  θ ← θ·(1 − lr·wd) − lr·u;  m ← β2·m + (1−β2)·g.

    Basic form: m_t = sign(β1·m + (1−β1)·g), V_t = 1, α_t = lr (every
    coordinate moves by exactly lr). Defaults are lion-pytorch's (lr 1e-4).
    """

    def init(params):
        return LionState(zeros(params), 0)

    def update(g, state, params, oracle):
        u = np.sign(state.first_moment * beta1 + g * (1 - beta1))
        step = -lr * u
        if np.any(weight_decay != 0):
            step = params * (1 - lr * weight_decay) - lr * u - params
        m = state.first_moment * beta2 + g * (1 - beta2)
        return step, LionState(m, state.count + 1)

    return Optimizer(init, update)


# ----------------------------------------------------------------- SignSGD / Signum
class SignState(NamedTuple):
    first_moment: np.ndarray  # momentum_buffer (zeros for signsgd)
    count: int


def _sign_descent(lr, momentum, weight_decay) -> Optimizer:
    def init(params):
        return SignState(zeros(params), 0)

    def update(g, state, params, oracle):
        buf = lerp(state.first_moment, g, 1 - momentum) if np.any(momentum > 0) else g
        if np.ndim(momentum):
            buf = np.where(momentum > 0, buf, g)
        step = -lr * np.sign(buf)
        if np.any(weight_decay != 0):  # decoupled: θ ← θ·(1 − lr·wd) first
            decayed = params * (1 - weight_decay * lr)
            step = decayed - lr * np.sign(buf) - params
        return step, SignState(buf if np.any(momentum > 0) else state.first_moment,
                               state.count + 1)

    return Optimizer(init, update)


def signsgd(*, lr, weight_decay) -> Optimizer:
    """signSGD (Bernstein, Wang, Azizzadenesheli & Anandkumar 2018, "signSGD:
    Compressed Optimisation for Non-Convex Problems", arXiv:1802.04434, ICML),
    as pytorch_optimizer 4.1.0's SignSGD with momentum=0.

    θ ← θ·(1 − lr·wd) − lr·sign(g)   (decoupled decay, pytorch_optimizer's default).

    Basic form: m_t = sign(g), V_t = 1, α_t = lr. Default lr: pytorch_optimizer's.
    """
    return _sign_descent(lr, 0.0, weight_decay)


def signum(*, lr, momentum, weight_decay) -> Optimizer:
    """Signum, sign of the momentum (Bernstein et al. 2018, arXiv:1802.04434),
    as pytorch_optimizer 4.1.0's SignSGD (momentum > 0).

    b ← lerp(b, g, 1−μ) = μ·b + (1−μ)·g  (b₀ = 0);  θ ← θ·(1 − lr·wd) − lr·sign(b).

    Basic form: m_t = sign(b), V_t = 1, α_t = lr. Defaults: pytorch_optimizer's.
    """
    return _sign_descent(lr, momentum, weight_decay)


# ----------------------------------------------------------------- Adan
class AdanState(NamedTuple):
    first_moment: np.ndarray  # exp_avg, m
    diff_moment: np.ndarray  # exp_avg_diff, n
    second_moment: np.ndarray  # exp_avg_sq, v
    previous_grad: np.ndarray  # g_{t-1}
    count: int


def adan(*, lr, beta1, beta2, beta3, eps, weight_decay) -> Optimizer:
    """Adan, adaptive Nesterov momentum (Xie, Zhou, Li, Lin & Yan 2022,
    arXiv:2208.06677, TPAMI 2024), as pytorch_optimizer 4.1.0's Adan.

    Δ = g − g_{t−1} (0 on the first step);  m ← lerp(m, g, 1−β1);  n ← lerp(n, Δ, 1−β2);
    u = g + β2·Δ;  v ← β3·v + (1−β3)·u²;  d = sqrt(v)/sqrt(1−β3ᵗ) + eps;
    θ ← θ − lr/(1−β1ᵗ)·m/d − lr·β2/(1−β2ᵗ)·n/d;  with weight_decay, then θ ← θ/(1 + lr·wd)
    (the reference's default, weight_decouple=False).

    Basic form: m_t = m/(1−β1ᵗ) + β2·n/(1−β2ᵗ), V_t = 1/d, α_t = lr.
    Note pytorch_optimizer's betas are the weights of the *old* averages
    (the paper writes 1 − β). Defaults are pytorch_optimizer's.
    """

    def init(params):
        return AdanState(zeros(params), zeros(params), zeros(params), zeros(params), 0)

    def update(g, state, params, oracle):
        count = state.count + 1
        diff = g - state.previous_grad if state.count else np.zeros_like(g)
        m = lerp(state.first_moment, g, 1 - beta1)
        n = lerp(state.diff_moment, diff, 1 - beta2)
        u = diff * beta2 + g
        v = state.second_moment * beta3 + (1 - beta3) * u * u
        denom = np.sqrt(v) / np.sqrt(1 - beta3 ** count) + eps
        # torch's addcdiv: θ + (value·t1)/t2
        new = (params + ((-lr / (1 - beta1 ** count)) * m) / denom
               + ((-lr * beta2 / (1 - beta2 ** count)) * n) / denom)
        if np.any(weight_decay != 0):
            new = new / (1 + lr * weight_decay)
        return new - params, AdanState(m, n, v, g.copy(), count)

    return Optimizer(init, update)


# ----------------------------------------------------------------- ADOPT
class AdoptState(NamedTuple):
    normed_moment: np.ndarray  # exp_avg of the normalised, clipped gradients (no units)
    second_moment: np.ndarray  # exp_avg_sq
    count: int


def adopt(*, lr, beta1, beta2, eps, weight_decay) -> Optimizer:
    """ADOPT (Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with
    Any β2 with the Optimal Rate", arXiv:2411.02853, NeurIPS), as
    pytorch_optimizer 4.1.0's ADOPT (clip_lambda t^¼, coupled L2 weight decay).

    g ← g + wd·θ;  step 1: v ← g², no move;  then
    ĝ = clip(g / max(sqrt(v), eps), ±t^¼);  m ← lerp(m, ĝ, 1−β1);  θ ← θ − lr·m;
    v ← β2·v + (1−β2)·g²  (v is updated *after* it normalised g).

    Basic form: m_t = m, V_t = 1 (the scaling is inside m, by the previous v).
    """

    def init(params):
        return AdoptState(zeros(params), zeros(params), 0)

    def update(g, state, params, oracle):
        count = state.count + 1
        if np.any(weight_decay != 0):
            g = g + params * weight_decay
        if count == 1:
            return np.zeros_like(g), AdoptState(state.normed_moment, state.second_moment + g * g,
                                                count)
        clip = count ** 0.25
        normed = np.clip(g / np.maximum(np.sqrt(state.second_moment), eps), -clip, clip)
        m = lerp(state.normed_moment, normed, 1 - beta1)
        v = state.second_moment * beta2 + (1 - beta2) * g * g
        return -lr * m, AdoptState(m, v, count)

    return Optimizer(init, update)


# ----------------------------------------------------------------- SAM
class SamState(NamedTuple):
    base: Any  # the base optimizer's state
    perturbed: np.ndarray  # θ + e, where the step's gradient was taken (overlay)
    count: int

    @property
    def first_moment(self):  # the base's, for the momentum overlay
        return first_moment(self.base)


PERTURB_EPS = 1e-12  # pytorch_optimizer's perturb_eps


def sam(base: Optimizer, *, rho, adaptive) -> Optimizer:
    """Sharpness-Aware Minimization (Foret, Kleiner, Mobahi & Neyshabur 2020,
    arXiv:2010.01412, ICLR 2021; adaptive: ASAM, Kwon et al. 2021,
    arXiv:2102.11600), as pytorch_optimizer 4.1.0's SAM, around any base.

    e = ρ·w²·g / (‖w·g‖ + 1e-12) with w = |θ| if adaptive else 1;
    the base optimizer then steps from θ with the gradient at θ + e (basic
    form: the base's, with g_t = ∇f(θ + e)). Costs two gradients a step.

    The norm is per run (the reference takes it over all its parameters;
    it also computes it in float32, optviz in float64). The path drawn is θ;
    the perturbed point θ + e is in the state as ``perturbed``.
    """

    def init(params):
        return SamState(base.init(params), params.copy(), 0)

    def update(g, state, params, oracle):
        weighted = g * np.abs(params) if adaptive else g
        norm = np.sqrt(np.sum(weighted * weighted, axis=1, keepdims=True)) + PERTURB_EPS
        scale = rho / norm
        e = (params ** 2 if adaptive else 1.0) * g * scale
        perturbed = params + e
        step, base_state = base.update(oracle.grad(perturbed), state.base, params, oracle)
        return step, SamState(base_state, perturbed, state.count + 1)

    return Optimizer(init, update)


# ----------------------------------------------------------------- Lookahead
class LookaheadState(NamedTuple):
    base: Any  # the base (fast) optimizer's state
    slow: np.ndarray  # slow weights (overlay)
    count: int

    @property
    def first_moment(self):  # the base's, for the momentum overlay
        return first_moment(self.base)


def lookahead(base: Optimizer, *, k, alpha) -> Optimizer:
    """Lookahead (Zhang, Lucas, Hinton & Ba 2019, arXiv:1907.08610, NeurIPS),
    as pytorch_optimizer 4.1.0's Lookahead (pullback_momentum 'none').

    The base optimizer takes k fast steps; then θ ← lerp(θ, φ, 1−α) = φ + α(θ − φ)
    and the slow weights φ ← θ (basic form: the base's, plus that pull). The path drawn is the fast weights θ (the
    parameters); φ is in the state as ``slow``.
    """

    def init(params):
        return LookaheadState(base.init(params), params.copy(), 0)

    def update(g, state, params, oracle):
        step, base_state = base.update(g, state.base, params, oracle)
        count = state.count + 1
        fast = params + step
        sync = np.equal(np.mod(count, k), 0)
        if not np.any(sync):
            return step, LookaheadState(base_state, state.slow, count)
        pulled = lerp(fast, state.slow, 1 - alpha)
        new = np.where(sync, pulled, fast)
        slow = np.where(sync, new, state.slow)
        return new - params, LookaheadState(base_state, slow, count)

    return Optimizer(init, update)


# ----------------------------------------------------------------- Prodigy
class ProdigyState(NamedTuple):
    exp_avg: np.ndarray  # the reference's exp_avg (carries a factor d)
    second_moment: np.ndarray  # exp_avg_sq (carries d²)
    s: np.ndarray
    p0: np.ndarray  # the start
    d: np.ndarray  # (N, 1) the step-size estimate (overlay)
    d_max: np.ndarray  # (N, 1)
    d_numerator: np.ndarray  # (N, 1)
    k: np.ndarray  # (N, 1) steps taken (the reference skips one whose d_denom is 0)
    count: int
    step_size: np.ndarray | float = 0.0  # dlr·d of the last update (N, 1): α_t·V_t·denom
    denom: np.ndarray | float = 1.0  # sqrt(v) + d·eps of the last update

    @property
    def first_moment(self):  # in gradient units, for the momentum overlay
        return self.exp_avg / self.d


def prodigy(*, lr, beta1, beta2, beta3, eps, weight_decay, decouple, use_bias_correction,
            safeguard_warmup, d0, d_coef, growth_rate) -> Optimizer:
    """Prodigy (Mishchenko & Defazio 2023, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", arXiv:2306.06101, ICML 2024), as prodigyopt
    1.1.2's Prodigy, with its estimate per run.

    dlr = d·lr·(sqrt(1−β2ᵏ⁺¹)/(1−β1ᵏ⁺¹) if use_bias_correction else 1);
    m ← β1·m + d(1−β1)·g;  v ← β2·v + d²(1−β2)·g²;  s ← β3·s + (d/d0)·dlr·g
    (safeguard_warmup: (d/d0)·d·g);  r ← β3·r + (d/d0)·dlr·⟨g, θ₀ − θ⟩;
    d̂ = d_coef·r/‖s‖₁;  d ← max(d, d̂) while d = d0;  d_max ← max(d_max, d̂);
    d ← min(d_max, d·growth_rate);  θ ← θ − dlr·m/(sqrt(v) + d·eps)
    (dlr from the old d; decoupled decay first: θ ← θ − wd·dlr·θ; coupled:
    g ← g + wd·θ). β3 None: sqrt(β2); growth_rate None: no limit (the
    reference's inf).

    Basic form: α_t = d·lr, m_t = m/d, V_t = d/(sqrt(v) + d·eps). The estimate
    d is in the state as ``d``; α_t·V_t (``render.step_panel``) grows with it.
    """
    b3 = np.sqrt(beta2) if beta3 is None else beta3
    growth = np.inf if growth_rate is None else growth_rate

    def init(params):
        return ProdigyState(zeros(params), zeros(params), zeros(params), params.copy(),
                            _rows(params, d0), _rows(params, d0), _rows(params), _rows(params), 0)

    def update(g, state, params, oracle):
        d, k = state.d, state.k
        if use_bias_correction:
            bias = (1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))
        else:
            bias = 1.0
        dlr = d * lr * bias
        if np.any(weight_decay != 0) and not decouple:
            g = g + params * weight_decay
        d_numerator = state.d_numerator * b3
        delta = (d / d0) * dlr * np.sum(g * (state.p0 - params), axis=1, keepdims=True)
        m = state.exp_avg * beta1 + g * (d * (1 - beta1))
        v = state.second_moment * beta2 + (d * d * (1 - beta2)) * g * g
        s = state.s * b3 + g * ((d / d0) * (d if safeguard_warmup else dlr))
        d_denom = np.sum(np.abs(s), axis=1, keepdims=True)
        moved = d_denom != 0
        with np.errstate(invalid="ignore", divide="ignore"):
            numerator = d_numerator + delta
            d_hat = d_coef * numerator / d_denom
            new_d = np.where(d == d0, np.maximum(d, d_hat), d)
            d_max = np.maximum(state.d_max, d_hat)
            new_d = np.minimum(d_max, new_d * growth)
        new_d = np.where(moved, new_d, d)
        d_max = np.where(moved, d_max, state.d_max)
        numerator = np.where(moved, numerator, state.d_numerator)
        denom = np.sqrt(v) + new_d * eps
        new = params
        if np.any(weight_decay != 0) and decouple:
            new = new + new * (-weight_decay * dlr)
        if np.all(beta1 > 0):
            new = new + ((-dlr) * m) / denom  # torch's addcdiv order
        else:  # the reference keeps no first moment when beta1 = 0
            new = np.where(beta1 > 0, new + ((-dlr) * m) / denom, new + ((-dlr * new_d) * g) / denom)
        step = np.where(moved, new - params, 0.0)
        # α_t·V_t = dlr·d/(sqrt(v) + d·eps): the step per unit of m_t = m/d (d as now)
        return step, ProdigyState(m, v, s, state.p0, new_d, d_max, numerator,
                                  k + moved, state.count + 1, dlr * new_d, denom)

    return Optimizer(init, update)


# ----------------------------------------------------------------- schedule-free
class ScheduleFreeState(NamedTuple):
    y: np.ndarray  # where the gradient is taken (the torch parameter in train mode; overlay)
    z: np.ndarray  # the base SGD / Adam iterate
    second_moment: np.ndarray  # exp_avg_sq (AdamW only; zeros for SGD)
    lr_max: np.ndarray | float
    weight_sum: np.ndarray | float
    count: int


def _schedulefree(lr, beta, weight_decay, warmup_steps, r, weight_lr_power,
                  beta2=None, eps=None) -> Optimizer:
    adam_like = beta2 is not None
    if not np.all(beta > 0):  # x = lerp(y, z, 1 − 1/β) needs β > 0
        from optviz.errors import ConfigError

        raise ConfigError(f"{'beta1' if adam_like else 'momentum'} must be > 0 for "
                          "schedule-free methods", key="beta1" if adam_like else "momentum")

    def init(params):
        return ScheduleFreeState(params.copy(), params.copy(), zeros(params), -1.0, 0.0, 0)

    def update(g, state, params, oracle):
        k = state.count
        y, z = state.y, state.z
        g = oracle.grad(y)  # the engine's gradient is at x; the method's at y
        sched = np.where(k < warmup_steps, (k + 1) / np.maximum(warmup_steps, 1), 1.0)
        clr = lr * sched
        lr_max = np.maximum(clr, state.lr_max)
        weight = ((k + 1) ** r) * (lr_max ** weight_lr_power)
        weight_sum = state.weight_sum + weight
        with np.errstate(invalid="ignore", divide="ignore"):
            ckp1 = np.where(weight_sum != 0, weight / weight_sum, 0.0)
        v = state.second_moment
        if adam_like:
            v = v * beta2 + (1 - beta2) * g * g
            g = g / (np.sqrt(v / (1 - beta2 ** (k + 1))) + eps)
        if np.any(weight_decay != 0):
            g = g + y * weight_decay
        y = lerp(y, z, ckp1)
        y = y + g * (clr * (beta * (1 - ckp1) - 1))
        z = z - g * clr
        x = lerp(y, z, 1 - 1 / beta)  # the reference's eval(): the averaged point
        return x - params, ScheduleFreeState(y, z, v, lr_max, weight_sum, k + 1)

    return Optimizer(init, update)


_SF_DOC = """
    The method keeps three sequences: z (the base iterate), x (the weighted
    average of the z's, the point the method *returns*, what schedulefree's
    ``eval()`` puts in the parameters) and y = (1−β)z + βx (the point where
    the gradient is taken, the parameters in ``train()`` mode). optviz draws
    x as the path (its losses are at x) and exposes y in the state as ``y``
    (the overlay point) and z as ``z``; the gradient the engine takes at x
    is not used: the update takes its own gradient at y.
    warm-up: lr_t = lr·min(1, (t+1)/warmup_steps); weight c_t ∝ (t+1)^r ·
    max_{s≤t}(lr_s)^weight_lr_power;  c_{t+1} = weight/Σweights.
    Basic form (of z, the base iterate): α_t = lr_t, m_t = the gradient at y
    (AdamW: V_t = 1/(sqrt(v/(1−β2ᵗ)) + eps)); x then averages the z's.
"""


def sgd_schedulefree(*, lr, momentum, weight_decay, warmup_steps, r, weight_lr_power) -> Optimizer:
    """Schedule-free SGD (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky
    2024, "The Road Less Scheduled", arXiv:2405.15682, NeurIPS), as
    schedulefree 1.4.1's SGDScheduleFree.

    g ← ∇f(y) + wd·y;  y ← lerp(y, z, c);  y ← y + lr_t(β(1−c) − 1)·g;  z ← z − lr_t·g;
    x = lerp(y, z, 1 − 1/β).  β is ``momentum``.
    """
    return _schedulefree(lr, momentum, weight_decay, warmup_steps, r, weight_lr_power)


def adamw_schedulefree(*, lr, beta1, beta2, eps, weight_decay, warmup_steps, r,
                       weight_lr_power) -> Optimizer:
    """Schedule-free AdamW (Defazio et al. 2024, arXiv:2405.15682, NeurIPS), as
    schedulefree 1.4.1's AdamWScheduleFree.

    v ← β2·v + (1−β2)·g²  (g = ∇f(y));  ĝ = g/(sqrt(v/(1−β2ᵗ)) + eps) + wd·y;
    y ← lerp(y, z, c);  y ← y + lr_t(β1(1−c) − 1)·ĝ;  z ← z − lr_t·ĝ;  x = lerp(y, z, 1 − 1/β1).
    """
    return _schedulefree(lr, beta1, weight_decay, warmup_steps, r, weight_lr_power, beta2, eps)


sgd_schedulefree.__doc__ += _SF_DOC
adamw_schedulefree.__doc__ += _SF_DOC


# ----------------------------------------------------------------- Sophia
class SophiaState(NamedTuple):
    first_moment: np.ndarray  # m
    hessian: np.ndarray  # h, the EMA of the Hessian diagonal
    count: int


def sophia(*, lr, beta1, beta2, gamma, eps, k, weight_decay) -> Optimizer:
    """Sophia (Liu, Li, Hall, Liang & Ma 2023, "Sophia: A Scalable Stochastic
    Second-order Optimizer for Language Model Pre-training", arXiv:2305.14342,
    ICLR 2024), Algorithm 3, with the exact Hessian diagonal in place of the
    Hutchinson / Gauss-Newton-Bartlett estimators.

    m ← β1·m + (1−β1)·g;  every k steps (t = 1, k+1, 2k+1, ...):
    h ← β2·h + (1−β2)·diag(∇²f(θ));  θ ← θ − lr·wd·θ;
    θ ← θ − lr·clip(m / max(γ·h, eps), 1).
    Where the curvature is negative, max(γ·h, eps) = eps and the step is
    lr·sign(m). Basic form: V_t = 1/max(γh, eps), clipped per coordinate to
    |V_t·m_t| ≤ 1. Defaults: the paper's β1, β2, γ (Sophia-H), eps and k;
    lr 0.01 (the paper tunes lr per model size).
    """

    def init(params):
        return SophiaState(zeros(params), zeros(params), 0)

    def update(g, state, params, oracle):
        count = state.count + 1
        m = beta1 * state.first_moment + (1 - beta1) * g
        h = state.hessian
        refresh = np.equal(np.mod(count, k), np.mod(1, k))
        if np.any(refresh):
            hess = oracle.hess(params)
            diag = np.diagonal(hess, axis1=1, axis2=2)
            h = np.where(refresh, beta2 * h + (1 - beta2) * diag, h)
        new = params - lr * weight_decay * params
        new = new - lr * np.clip(m / np.maximum(gamma * h, eps), -1.0, 1.0)
        return new - params, SophiaState(m, h, count)

    return Optimizer(init, update)
