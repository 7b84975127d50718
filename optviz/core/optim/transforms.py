"""The optimizers, each an init/update pair over (N, 2) float64 arrays.

Every formula is written once; variants are parameters (amsgrad, amsbound,
Nesterov) and Lasagne's forms are separate functions only where Lasagne's
formula differs from torch's (where eps sits, how bias correction is folded).
Hyperparameters may be floats or arrays broadcastable against (N, 1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optviz.core.optim.base import Optimizer, lerp, zeros


# ----------------------------------------------------------------- SGD family
class MomentumState(NamedTuple):
    first_moment: np.ndarray  # torch's momentum buffer
    count: int


def sgd(lr) -> Optimizer:
    """Plain gradient descent: θ ← θ − lr·g."""
    return Optimizer(lambda params: (), lambda g, state, params, oracle: (-lr * g, state))


def momentum(lr, momentum=0.9, dampening=0.0, nesterov=False) -> Optimizer:
    """Heavy-ball momentum as torch.optim.SGD (PyTorch 2.x).

    b ← g on the first step, else b ← μ·b + (1 − dampening)·g;
    d = g + μ·b if nesterov else b;  θ ← θ − lr·d.

    Warning: Sutskever et al. (2013) and Lasagne keep a velocity v = −lr·b
    instead; with a constant lr the trajectories are identical.
    """

    def init(params):
        return MomentumState(zeros(params), 0)

    def update(g, state, params, oracle):
        if state.count == 0:
            buf = g.copy()
        else:
            buf = state.first_moment * momentum + g * (1 - dampening)
        d = g + momentum * buf if nesterov else buf
        if np.ndim(momentum) == 0 and momentum == 0:  # torch keeps no buffer at all
            d = g
        elif np.ndim(momentum):
            d = np.where(momentum == 0, g, d)
        return -lr * d, MomentumState(buf, state.count + 1)

    return Optimizer(init, update)


class NagState(NamedTuple):
    first_moment: np.ndarray  # v, in parameter units (θ ← θ − v)
    count: int


# look-ahead fractions of v and their weights, for the article's NAG variants
LOOKAHEADS = {
    "single": ((1.0,), (1.0,)),
    "mean3": ((1 / 3, 2 / 3, 1.0), (1 / 3, 1 / 3, 1 / 3)),
    "weighted7": ((0.5, 0.75, 1.0), (1 / 7, 2 / 7, 4 / 7)),
}


def nag(lr, momentum=0.9, lookahead="single") -> Optimizer:
    """Nesterov's accelerated gradient in the seed article's look-ahead form.

    single:    v ← γv + η·∇f(θ − γv)
    mean3:     v ← γv + η/3·(∇f(θ − γv/3) + ∇f(θ − 2γv/3) + ∇f(θ − γv))
    weighted7: v ← γv + η/7·(∇f(θ − γv/2) + 2∇f(θ − 3γv/4) + 4∇f(θ − γv))
    then θ ← θ − v.

    Not a pure gradient transform: it evaluates the gradient at look-ahead
    points through the oracle (the gradient at θ is not used).
    """
    fractions, weights = LOOKAHEADS[lookahead]

    def init(params):
        return NagState(zeros(params), 0)

    def update(g, state, params, oracle):
        ahead = momentum * state.first_moment
        if len(fractions) == 1:
            look = oracle.grad(params - ahead)
        elif lookahead == "mean3":
            look = (oracle.grad(params - ahead / 3) + oracle.grad(params - 2 * ahead / 3)
                    + oracle.grad(params - ahead)) / 3
        else:
            look = (oracle.grad(params - ahead / 2) + 2 * oracle.grad(params - 3 * ahead / 4)
                    + 4 * oracle.grad(params - ahead)) / 7
        v = ahead + lr * look
        return -v, NagState(v, state.count + 1)

    return Optimizer(init, update)


# ----------------------------------------------------------------- Adagrad
class AdagradState(NamedTuple):
    sum_sq: np.ndarray
    count: int


def adagrad(lr=0.01, lr_decay=0.0, eps=1e-10, initial_accumulator_value=0.0) -> Optimizer:
    """Adagrad as torch.optim.Adagrad (Duchi et al. 2011, JMLR 12).

    G ← G + g²;  θ ← θ − lr/(1 + (t−1)·lr_decay) · g/(sqrt(G) + eps).

    Warning: libraries disagree on eps (torch adds it after the square root,
    Lasagne and Keras inside) and on the initial accumulator (torch 0, TF 0.1).
    """

    def init(params):
        return AdagradState(np.zeros_like(params) + initial_accumulator_value, 0)

    def update(g, state, params, oracle):
        count = state.count + 1
        clr = lr / (1 + (count - 1) * lr_decay)
        sum_sq = state.sum_sq + g * g
        return -clr * (g / (np.sqrt(sum_sq) + eps)), AdagradState(sum_sq, count)

    return Optimizer(init, update)


def adagrad_lasagne(lr=1.0, eps=1e-6) -> Optimizer:
    """Adagrad as Lasagne: G ← G + g²;  θ ← θ − lr·g/sqrt(G + eps)."""

    def init(params):
        return AdagradState(zeros(params), 0)

    def update(g, state, params, oracle):
        sum_sq = state.sum_sq + g ** 2
        return -(lr * g / np.sqrt(sum_sq + eps)), AdagradState(sum_sq, state.count + 1)

    return Optimizer(init, update)


# ----------------------------------------------------------------- RMSProp
class RmspropState(NamedTuple):
    square_avg: np.ndarray
    grad_avg: np.ndarray
    first_moment: np.ndarray  # momentum buffer (zeros when momentum = 0)
    count: int


def rmsprop(lr=0.01, rho=0.99, eps=1e-8, momentum=0.0, centered=False) -> Optimizer:
    """RMSProp as torch.optim.RMSprop (Hinton, Coursera lecture 6e, 2012).

    a ← ρa + (1−ρ)g²;  centered: ḡ ← lerp(ḡ, g, 1−ρ), a' = a − ḡ², else a' = a;
    d = g/(sqrt(a') + eps);  with momentum: b ← μb + d, θ ← θ − lr·b; else θ ← θ − lr·d.
    torch calls ρ ``alpha``.
    """

    def init(params):
        return RmspropState(zeros(params), zeros(params), zeros(params), 0)

    def update(g, state, params, oracle):
        square_avg = state.square_avg * rho + (1 - rho) * g * g
        grad_avg = state.grad_avg
        if centered:
            grad_avg = lerp(grad_avg, g, 1 - rho)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        buf = state.first_moment
        if np.any(momentum > 0):
            buf = buf * momentum + g / avg
            step = -lr * np.where(momentum > 0, buf, g / avg) if np.ndim(momentum) else -lr * buf
        else:
            step = -lr * (g / avg)
        return step, RmspropState(square_avg, grad_avg, buf, state.count + 1)

    return Optimizer(init, update)


def rmsprop_lasagne(lr=1.0, rho=0.9, eps=1e-6) -> Optimizer:
    """RMSProp as Lasagne: a ← ρa + (1−ρ)g²;  θ ← θ − lr·g/sqrt(a + eps)."""

    def init(params):
        return RmspropState(zeros(params), zeros(params), zeros(params), 0)

    def update(g, state, params, oracle):
        square_avg = rho * state.square_avg + (1 - rho) * g ** 2
        step = -(lr * g / np.sqrt(square_avg + eps))
        return step, state._replace(square_avg=square_avg, count=state.count + 1)

    return Optimizer(init, update)


# ----------------------------------------------------------------- Adadelta
class AdadeltaState(NamedTuple):
    square_avg: np.ndarray
    acc_delta: np.ndarray
    count: int


def adadelta(lr=1.0, rho=0.9, eps=1e-6, delta_init=0.0, lasagne=False) -> Optimizer:
    """Adadelta (Zeiler 2012, arXiv:1212.5701) as torch.optim.Adadelta / Lasagne.

    a ← ρa + (1−ρ)g²;  Δ = sqrt(D + eps)/sqrt(a + eps)·g;  D ← ρD + (1−ρ)Δ²;  θ ← θ − lr·Δ.

    D starts at ``delta_init`` (torch and Lasagne: 0); the seed article
    contrasts a zero start with a big start. torch and Lasagne share the
    formula (Lasagne's defaults: rho 0.95); ``lasagne`` only follows
    Lasagne's order of operations.
    """

    def init(params):
        return AdadeltaState(zeros(params), np.zeros_like(params) + delta_init, 0)

    def update(g, state, params, oracle):
        square_avg = state.square_avg * rho + (1 - rho) * g * g
        if lasagne:
            delta = g * np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps)
        else:
            delta = np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps) * g
        acc_delta = state.acc_delta * rho + (1 - rho) * delta * delta
        return -lr * delta, AdadeltaState(square_avg, acc_delta, state.count + 1)

    return Optimizer(init, update)


# ----------------------------------------------------------------- Adam family
class AdamState(NamedTuple):
    first_moment: np.ndarray  # m
    second_moment: np.ndarray  # v (Adamax: the infinity norm u)
    max_second_moment: np.ndarray  # AMSGrad / AMSBound running max of v
    count: int
    mu_product: float | np.ndarray = 1.0  # NAdam's momentum schedule product


def _adam_init(params):
    return AdamState(zeros(params), zeros(params), zeros(params), 0)


def adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False) -> Optimizer:
    """Adam as torch.optim.Adam (Kingma & Ba 2014, arXiv:1412.6980).

    m ← lerp(m, g, 1−β1);  v ← β2v + (1−β2)g²;  (AMSGrad: v̂ ← max(v̂, v), use v̂)
    θ ← θ − lr/(1−β1ᵗ) · m/(sqrt(v)/sqrt(1−β2ᵗ) + eps).

    AMSGrad: Reddi, Kale & Kumar 2018 (ICLR), "On the Convergence of Adam and Beyond".
    Warning: torch and the paper's Algorithm 1 add eps to the bias-corrected
    sqrt(v̂); Lasagne follows the paper's "efficient" form (section 2), adding eps
    to the raw sqrt(v) with the correction folded into the step size.
    """

    def update(g, state, params, oracle):
        count = state.count + 1
        m = lerp(state.first_moment, g, 1 - beta1)
        v = state.second_moment * beta2 + (1 - beta2) * g * g
        vmax = np.maximum(state.max_second_moment, v) if amsgrad else state.max_second_moment
        step_size = lr / (1 - beta1 ** count)
        denom = np.sqrt(vmax if amsgrad else v) / (1 - beta2 ** count) ** 0.5 + eps
        return -step_size * (m / denom), AdamState(m, v, vmax, count)

    return Optimizer(_adam_init, update)


def adam_lasagne(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8) -> Optimizer:
    """Adam as Lasagne: a_t = lr·sqrt(1−β2ᵗ)/(1−β1ᵗ);  θ ← θ − a_t·m/(sqrt(v) + eps)."""

    def update(g, state, params, oracle):
        count = state.count + 1
        a_t = lr * np.sqrt(1 - beta2 ** count) / (1 - beta1 ** count)
        m = beta1 * state.first_moment + (1 - beta1) * g
        v = beta2 * state.second_moment + (1 - beta2) * g ** 2
        return -(a_t * m / (np.sqrt(v) + eps)), AdamState(m, v, state.max_second_moment, count)

    return Optimizer(_adam_init, update)


def adamax(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, lasagne=False) -> Optimizer:
    """Adamax as torch.optim.Adamax (Kingma & Ba 2014, section 7.1) or Lasagne.

    m ← lerp(m, g, 1−β1);  torch: u ← max(β2u, |g| + eps), θ ← θ − lr/(1−β1ᵗ)·m/u;
    Lasagne: u ← max(β2u, |g|), θ ← θ − lr/(1−β1ᵗ)·m/(u + eps).
    Warning: the two differ in where eps sits.
    """

    def update(g, state, params, oracle):
        count = state.count + 1
        clr = lr / (1 - beta1 ** count)
        if lasagne:
            m = beta1 * state.first_moment + (1 - beta1) * g
            u = np.maximum(beta2 * state.second_moment, np.abs(g))
            step = -(clr * m / (u + eps))
        else:
            m = lerp(state.first_moment, g, 1 - beta1)
            u = np.maximum(state.second_moment * beta2, np.abs(g) + eps)
            step = -clr * (m / u)
        return step, AdamState(m, u, state.max_second_moment, count)

    return Optimizer(_adam_init, update)


def nadam(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=0.004) -> Optimizer:
    """NAdam as torch.optim.NAdam (Dozat 2016, ICLR workshop, "Incorporating
    Nesterov Momentum into Adam").

    μ_t = β1(1 − ½·0.96^(t·ψ)), Π_t = Π_{t−1}μ_t;  m, v as Adam;
    d = sqrt(v/(1−β2ᵗ)) + eps;
    θ ← θ − lr(1−μ_t)/(1−Π_t)·g/d − lr·μ_{t+1}/(1−Π_t·μ_{t+1})·m/d.
    """

    def update(g, state, params, oracle):
        count = state.count + 1
        bc2 = 1 - beta2 ** count
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (count * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((count + 1) * momentum_decay))
        mu_product = state.mu_product * mu
        m = lerp(state.first_moment, g, 1 - beta1)
        v = state.second_moment * beta2 + (1 - beta2) * g * g
        denom = np.sqrt(v / bc2) + eps
        step = ((-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
                + ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * (m / denom))
        return step, AdamState(m, v, state.max_second_moment, count, mu_product)

    return Optimizer(_adam_init, update)


def radam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8) -> Optimizer:
    """RAdam as torch.optim.RAdam (Liu et al. 2019, arXiv:1908.03265; ICLR 2020).

    m, v as Adam;  ρ∞ = 2/(1−β2) − 1;  ρ_t = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ);
    if ρ_t > 5: θ ← θ − lr·m/(1−β1ᵗ) · sqrt(1−β2ᵗ)/(sqrt(v) + eps) · r_t,
        r_t = sqrt((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t));
    else (variance not yet tractable): θ ← θ − lr·m/(1−β1ᵗ).
    """

    def update(g, state, params, oracle):
        count = state.count + 1
        m = lerp(state.first_moment, g, 1 - beta1)
        v = state.second_moment * beta2 + (1 - beta2) * g * g
        bc1, bc2 = 1 - beta1 ** count, 1 - beta2 ** count
        corrected = m / bc1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * count * (beta2 ** count) / bc2
        with np.errstate(invalid="ignore", divide="ignore"):  # only used where ρ_t > 5
            rect = np.sqrt(np.float64((rho_t - 4) * (rho_t - 2) * rho_inf)
                           / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = bc2 ** 0.5 / (np.sqrt(v) + eps)
        step = np.where(rho_t > 5.0, -(corrected * lr * adaptive * rect), -(corrected * lr))
        return step, AdamState(m, v, state.max_second_moment, count)

    return Optimizer(_adam_init, update)


def adabound(lr=0.001, final_lr=0.1, gamma=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
             amsbound=False) -> Optimizer:
    """AdaBound / AMSBound (Luo, Xiong, Liu & Sun 2019, ICLR, arXiv:1902.09843),
    as the authors' implementation (github.com/Luolc/AdaBound).

    m, v as Adam (AMSBound: running max of v);  s = lr·sqrt(1−β2ᵗ)/(1−β1ᵗ);
    lower = final_lr(1 − 1/(γt + 1)),  upper = final_lr(1 + 1/(γt));
    θ ← θ − clip(s/(sqrt(v) + eps), lower, upper)·m.

    Does not split into a direction and a learning rate: the clip acts on
    the lr-scaled per-coordinate step size, so it is one transform.
    """

    def update(g, state, params, oracle):
        count = state.count + 1
        m = state.first_moment * beta1 + (1 - beta1) * g
        v = state.second_moment * beta2 + (1 - beta2) * g * g
        vmax = np.maximum(state.max_second_moment, v) if amsbound else state.max_second_moment
        denom = np.sqrt(vmax if amsbound else v) + eps
        step_size = lr * np.sqrt(1 - beta2 ** count) / (1 - beta1 ** count)
        lower = final_lr * (1 - 1 / (gamma * count + 1))
        upper = final_lr * (1 + 1 / (gamma * count))
        return -(np.clip(step_size / denom, lower, upper) * m), AdamState(m, v, vmax, count)

    return Optimizer(_adam_init, update)


# ----------------------------------------------------------------- Newton
class NewtonState(NamedTuple):
    fallbacks: np.ndarray  # (N,) steps that fell back to a gradient step
    count: int


def newton(lr=1.0, damping=0.0) -> Optimizer:
    """Damped Newton: θ ← θ − lr·(H + λI)⁻¹g where H + λI is positive definite;
    elsewhere (negative curvature, saddles) a plain gradient step θ ← θ − lr·g,
    counted per run in ``fallbacks``.

    Needs the Hessian, which it takes from the oracle.
    """

    def init(params):
        return NewtonState(np.zeros(params.shape[0], dtype=np.int64), 0)

    lam = np.reshape(damping, -1) if np.ndim(damping) else damping  # (N, 1) -> (N,)

    def update(g, state, params, oracle):
        h = oracle.hess(params)
        a = h[:, 0, 0] + lam
        b = h[:, 0, 1]
        d = h[:, 1, 1] + lam
        det = a * d - b * b
        pd = (a > 0) & (det > 0)
        safe = np.where(pd, det, 1.0)
        newton_dir = np.stack([(d * g[:, 0] - b * g[:, 1]) / safe,
                               (a * g[:, 1] - b * g[:, 0]) / safe], axis=1)
        direction = np.where(pd[:, None], newton_dir, g)
        return -lr * direction, NewtonState(state.fallbacks + ~pd, state.count + 1)

    return Optimizer(init, update)
