"""The named optimizers, composed from the transforms with :func:`chain`.

Variants are parameters (amsgrad, Nesterov) or partials; Lasagne's forms
differ only where Lasagne's formula does (where eps sits, how the bias
correction is folded). Two optimizers do not split into transforms and say
so: NAG (look-ahead gradients from the oracle, its velocity in parameter
units) and AdaBound (the clip acts on the lr-scaled step size).
Hyperparameters may be floats or arrays broadcastable against (N, 1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optviz.core.optim import transforms as T
from optviz.core.optim.base import Optimizer, chain, zeros


# ----------------------------------------------------------------- SGD family
def sgd(lr, *, weight_decay) -> Optimizer:
    """Plain gradient descent as torch.optim.SGD: θ ← θ − lr·(g + λθ)."""
    return chain(T.add_decayed_weights(weight_decay), T.scale_by_learning_rate(lr))


def momentum(lr, *, momentum, dampening, weight_decay, nesterov=False) -> Optimizer:
    """Heavy-ball momentum as torch.optim.SGD (PyTorch 2.x).

    g ← g + λθ;  b ← g on the first step, else b ← μ·b + (1 − dampening)·g;
    d = g + μ·b if nesterov else b;  θ ← θ − lr·d.

    Warning: Sutskever et al. (2013) and Lasagne keep a velocity v = −lr·b
    instead; with a constant lr the trajectories are identical.
    """
    return chain(T.add_decayed_weights(weight_decay), T.trace(momentum, dampening, nesterov),
                 T.scale_by_learning_rate(lr))


def nesterov(*, lr, momentum, dampening, weight_decay) -> Optimizer:
    """torch.optim.SGD(nesterov=True): as momentum, with d = g + μ·b."""
    return globals()["momentum"](lr, momentum=momentum, dampening=dampening,
                                 weight_decay=weight_decay, nesterov=True)


class NagState(NamedTuple):
    first_moment: np.ndarray  # v, in parameter units (θ ← θ − v)
    count: int


# look-ahead fractions of v and their weights, for the article's NAG variants
LOOKAHEADS = {
    "single": ((1.0,), (1.0,)),
    "mean3": ((1 / 3, 2 / 3, 1.0), (1 / 3, 1 / 3, 1 / 3)),
    "weighted7": ((0.5, 0.75, 1.0), (1 / 7, 2 / 7, 4 / 7)),
}


def nag(lr, *, momentum, lookahead) -> Optimizer:
    """Nesterov's accelerated gradient in the seed article's look-ahead form.

    single:    v ← γv + η·∇f(θ − γv)
    mean3:     v ← γv + η/3·(∇f(θ − γv/3) + ∇f(θ − 2γv/3) + ∇f(θ − γv))
    weighted7: v ← γv + η/7·(∇f(θ − γv/2) + 2∇f(θ − 3γv/4) + 4∇f(θ − γv))
    then θ ← θ − v.

    Does not split into transforms: it evaluates the gradient at look-ahead
    points through the oracle (the gradient at θ is not used), and its
    velocity carries the learning rate (a schedule changes η for the new
    gradients only).
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


# ----------------------------------------------------------------- adaptive
def adagrad(*, lr, lr_decay, eps, initial_accumulator_value, weight_decay) -> Optimizer:
    """Adagrad as torch.optim.Adagrad (Duchi et al. 2011, JMLR 12).

    g ← g + λθ;  G ← G + g²;  θ ← θ − lr/(1 + (t−1)·lr_decay) · g/(sqrt(G) + eps).

    Warning: libraries disagree on eps (torch adds it after the square root,
    Lasagne and Keras inside) and on the initial accumulator (torch 0, TF 0.1).
    """
    return chain(T.add_decayed_weights(weight_decay),
                 T.scale_by_adagrad(eps, initial_accumulator_value),
                 T.scale_by_step_size(lambda t: lr / (1 + (t - 1) * lr_decay)))


def adagrad_lasagne(*, lr, eps) -> Optimizer:
    """Adagrad as Lasagne: G ← G + g²;  θ ← θ − lr·g/sqrt(G + eps)."""
    return chain(T.scale_by_adagrad(eps, eps_inside=True), T.scale_by_learning_rate(lr))


def rmsprop(*, lr, rho, eps, momentum, centered, weight_decay) -> Optimizer:
    """RMSProp as torch.optim.RMSprop (Hinton, Coursera lecture 6e, 2012).

    g ← g + λθ;  a ← ρa + (1−ρ)g²;  centered: ḡ ← lerp(ḡ, g, 1−ρ), a' = a − ḡ², else a' = a;
    d = g/(sqrt(a') + eps);  with momentum: b ← μb + d, θ ← θ − lr·b; else θ ← θ − lr·d.
    torch calls ρ ``alpha``.
    """
    return chain(T.add_decayed_weights(weight_decay), T.scale_by_rms(rho, eps, centered),
                 T.trace(momentum), T.scale_by_learning_rate(lr))


def rmsprop_lasagne(*, lr, rho, eps) -> Optimizer:
    """RMSProp as Lasagne: a ← ρa + (1−ρ)g²;  θ ← θ − lr·g/sqrt(a + eps)."""
    return chain(T.scale_by_rms(rho, eps, eps_inside=True), T.scale_by_learning_rate(lr))


def adadelta(*, lr, rho, eps, delta_init, weight_decay, lasagne=False) -> Optimizer:
    """Adadelta (Zeiler 2012, arXiv:1212.5701) as torch.optim.Adadelta / Lasagne.

    g ← g + λθ;  a ← ρa + (1−ρ)g²;  Δ = sqrt(D + eps)/sqrt(a + eps)·g;  D ← ρD + (1−ρ)Δ²;
    θ ← θ − lr·Δ.

    D starts at ``delta_init`` (torch and Lasagne: 0); the seed article
    contrasts a zero start with a big start. torch and Lasagne share the
    formula (Lasagne's defaults: rho 0.95); Lasagne's form only follows
    Lasagne's order of operations.
    """
    return chain(T.add_decayed_weights(weight_decay),
                 T.scale_by_adadelta(rho, eps, delta_init, lasagne), T.scale_by_learning_rate(lr))


# ----------------------------------------------------------------- Adam family
def adam(*, lr, beta1, beta2, eps, weight_decay, amsgrad=False) -> Optimizer:
    """Adam as torch.optim.Adam (Kingma & Ba 2014, arXiv:1412.6980).

    g ← g + λθ;  m ← lerp(m, g, 1−β1);  v ← β2v + (1−β2)g²;  (AMSGrad: v̂ ← max(v̂, v), use v̂)
    θ ← θ − lr/(1−β1ᵗ) · m/(sqrt(v)/sqrt(1−β2ᵗ) + eps).

    AMSGrad: Reddi, Kale & Kumar 2018 (ICLR), "On the Convergence of Adam and Beyond".
    Warning: torch and the paper's Algorithm 1 add eps to the bias-corrected
    sqrt(v̂); Lasagne follows the paper's "efficient" form (section 2), adding eps
    to the raw sqrt(v) with the correction folded into the step size.
    """
    return chain(T.add_decayed_weights(weight_decay),
                 T.scale_by_adam(beta1, beta2, eps, amsgrad),
                 T.scale_by_step_size(lambda t: lr / (1 - beta1 ** t)))


def adamw(*, lr, beta1, beta2, eps, weight_decay, amsgrad) -> Optimizer:
    """AdamW as torch.optim.AdamW (Loshchilov & Hutter 2017, arXiv:1711.05101; ICLR 2019).

    Adam's step on the raw gradient, and the decay decoupled from it:
    θ ← θ(1 − lr·λ) − lr/(1−β1ᵗ) · m/(sqrt(v)/sqrt(1−β2ᵗ) + eps).
    """
    return chain(T.scale_by_adam(beta1, beta2, eps, amsgrad),
                 T.scale_by_step_size(lambda t: lr / (1 - beta1 ** t)),
                 T.add_decoupled_weight_decay(lr * weight_decay))


def adam_lasagne(*, lr, beta1, beta2, eps) -> Optimizer:
    """Adam as Lasagne: a_t = lr·sqrt(1−β2ᵗ)/(1−β1ᵗ);  θ ← θ − a_t·m/(sqrt(v) + eps)."""
    return chain(T.scale_by_adam(beta1, beta2, eps, lasagne=True),
                 T.scale_by_step_size(lambda t: lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)))


def adamax(*, lr, beta1, beta2, eps, weight_decay, lasagne=False) -> Optimizer:
    """Adamax as torch.optim.Adamax (Kingma & Ba 2014, section 7.1) or Lasagne.

    g ← g + λθ;  m ← lerp(m, g, 1−β1);  torch: u ← max(β2u, |g| + eps), θ ← θ − lr/(1−β1ᵗ)·m/u;
    Lasagne: u ← max(β2u, |g|), θ ← θ − lr/(1−β1ᵗ)·m/(u + eps).
    Warning: the two differ in where eps sits.
    """
    return chain(T.add_decayed_weights(weight_decay), T.scale_by_adamax(beta1, beta2, eps, lasagne),
                 T.scale_by_step_size(lambda t: lr / (1 - beta1 ** t)))


def nadam(*, lr, beta1, beta2, eps, momentum_decay, weight_decay) -> Optimizer:
    """NAdam as torch.optim.NAdam (Dozat 2016, ICLR workshop, "Incorporating
    Nesterov Momentum into Adam").

    g ← g + λθ;  μ_t = β1(1 − ½·0.96^(t·ψ)), Π_t = Π_{t−1}μ_t;  m, v as Adam;
    D = sqrt(v/(1−β2ᵗ)) + eps;
    θ ← θ − lr(1−μ_t)/(1−Π_t)·g/D − lr·μ_{t+1}/(1−Π_t·μ_{t+1})·m/D.
    """
    return chain(T.add_decayed_weights(weight_decay),
                 T.scale_by_nadam(beta1, beta2, eps, momentum_decay), T.scale_by_learning_rate(lr))


def radam(*, lr, beta1, beta2, eps, weight_decay) -> Optimizer:
    """RAdam as torch.optim.RAdam (Liu et al. 2019, arXiv:1908.03265; ICLR 2020).

    g ← g + λθ;  m, v as Adam;  ρ∞ = 2/(1−β2) − 1;  ρ_t = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ);
    if ρ_t > 5: θ ← θ − lr·m/(1−β1ᵗ) · sqrt(1−β2ᵗ)/(sqrt(v) + eps) · r_t,
        r_t = sqrt((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t));
    else (variance not yet tractable): θ ← θ − lr·m/(1−β1ᵗ).
    """
    return chain(T.add_decayed_weights(weight_decay), T.scale_by_radam(beta1, beta2, eps),
                 T.scale_by_learning_rate(lr))


class AdaBoundState(NamedTuple):
    first_moment: np.ndarray
    second_moment: np.ndarray
    max_second_moment: np.ndarray
    step_size: np.ndarray  # the clipped per-coordinate step size (α_t·V_t)
    count: int


def adabound(*, lr, final_lr, gamma, beta1, beta2, eps, weight_decay, amsbound=False,
             base_lr=None) -> Optimizer:
    """AdaBound / AMSBound (Luo, Xiong, Liu & Sun 2019, ICLR, arXiv:1902.09843),
    as the authors' implementation (github.com/Luolc/AdaBound).

    g ← g + λθ;  m, v as Adam (AMSBound: running max of v);  s = lr·sqrt(1−β2ᵗ)/(1−β1ᵗ);
    f = final_lr·lr/base_lr (base_lr: the lr before any schedule);
    lower = f(1 − 1/(γt + 1)),  upper = f(1 + 1/(γt));
    θ ← θ − clip(s/(sqrt(v) + eps), lower, upper)·m.

    Does not split into a direction and a learning rate: the clip acts on
    the lr-scaled per-coordinate step size, so it is one transform (after
    the weight decay).
    """
    final = final_lr if base_lr is None else final_lr * lr / base_lr

    def init(params):
        return AdaBoundState(zeros(params), zeros(params), zeros(params), zeros(params), 0)

    def update(g, state, params, oracle):
        count = state.count + 1
        m = state.first_moment * beta1 + (1 - beta1) * g
        v = state.second_moment * beta2 + (1 - beta2) * g * g
        vmax = np.maximum(state.max_second_moment, v) if amsbound else state.max_second_moment
        denom = np.sqrt(vmax if amsbound else v) + eps
        step_size = lr * np.sqrt(1 - beta2 ** count) / (1 - beta1 ** count)
        lower = final * (1 - 1 / (gamma * count + 1))
        upper = final * (1 + 1 / (gamma * count))
        clipped = np.clip(step_size / denom, lower, upper)
        return -(clipped * m), AdaBoundState(m, v, vmax, clipped, count)

    return chain(T.add_decayed_weights(weight_decay), Optimizer(init, update))


# ----------------------------------------------------------------- Newton
def newton(*, lr, damping, fallback) -> Optimizer:
    """Damped Newton: θ ← θ − lr·(H + λI)⁻¹g where H + λI is positive definite;
    elsewhere (negative curvature, saddles) a plain gradient step θ ← θ − lr·g,
    counted per run in ``fallbacks``. ``fallback=False``: pure Newton, the
    Newton step wherever H + λI is invertible (it heads for saddles too).

    Needs the Hessian, which it takes from the oracle (``scale_by_newton``).
    """
    return chain(T.scale_by_newton(damping, fallback), T.scale_by_learning_rate(lr))
