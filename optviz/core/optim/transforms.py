"""Small pure gradient transforms over (N, D) float64 arrays, optax style.

Each transform is an ``init``/``update`` pair (:class:`~optviz.core.optim.base.Optimizer`)
mapping incoming updates to outgoing ones; :func:`~optviz.core.optim.base.chain`
composes them, and ``aliases.py`` builds the named optimizers from them. Each
formula is written once here, in torch's order of operations (so the
composed optimizers equal torch.optim to the last bits where they can).

Every transform's output ``d`` is the update direction with its scaling;
the sign and learning rate come last, from :func:`scale_by_step_size`.
Hyperparameters may be floats or arrays broadcastable against (N, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from optviz.core.optim.base import Optimizer, is_zero, lerp, zeros


class EmptyState(NamedTuple):
    pass


class CountState(NamedTuple):
    count: int


class StepSizeState(NamedTuple):
    count: int
    step_size: float | np.ndarray  # α_t of the last update


def _stateless(fn: Callable) -> Optimizer:
    return Optimizer(lambda params: EmptyState(), lambda u, s, p, o: (fn(u, p), s))


def scale_by_step_size(alpha: Callable[[int], float | np.ndarray]) -> Optimizer:
    """d ← −α_t·d with α_t = ``alpha(t)``, t = 1, 2, ... (the learning rate, with
    any bias correction or decay of the rule folded in); α_t is kept in the state."""

    def update(u, state, params, oracle):
        count = state.count + 1
        a = alpha(count)
        return u * -a, StepSizeState(count, a)

    return Optimizer(lambda params: StepSizeState(0, 0.0), update)


def scale_by_learning_rate(lr) -> Optimizer:
    """d ← −lr·d."""
    return scale_by_step_size(lambda t: lr)


def add_decayed_weights(weight_decay) -> Optimizer:
    """Coupled L2 decay as torch: g ← g + λ·θ (skipped when λ is 0)."""
    if is_zero(weight_decay):
        return _stateless(lambda u, p: u)
    return _stateless(lambda u, p: u + weight_decay * p)


def add_decoupled_weight_decay(rate) -> Optimizer:
    """Decoupled decay (Loshchilov & Hutter, AdamW): step ← step − rate·θ, after the
    learning rate; torch's AdamW uses rate = lr·λ (θ ← θ(1 − lr·λ) + step)."""
    if is_zero(rate):
        return _stateless(lambda u, p: u)
    return _stateless(lambda u, p: u - rate * p)


def scale_by_sign() -> Optimizer:
    """d ← sign(d) (signSGD, Bernstein et al. 2018, arXiv:1802.04434)."""
    return _stateless(lambda u, p: np.sign(u))


# ----------------------------------------------------------------- momentum
class TraceState(NamedTuple):
    first_moment: np.ndarray  # torch's momentum buffer b
    count: int


def trace(momentum, dampening=0.0, nesterov=False) -> Optimizer:
    """Momentum as torch.optim.SGD (PyTorch 2.x).

    b ← d on the first step, else b ← μ·b + (1 − dampening)·d;
    out = d + μ·b if nesterov else b; with μ = 0 torch keeps no buffer: out = d.
    """

    def update(u, state, params, oracle):
        if state.count == 0:
            buf = u.copy()
        else:
            buf = state.first_moment * momentum + u * (1 - dampening)
        d = u + momentum * buf if nesterov else buf
        if is_zero(momentum):
            d = u
        elif np.ndim(momentum):
            d = np.where(momentum == 0, u, d)
        return d, TraceState(buf, state.count + 1)

    return Optimizer(lambda params: TraceState(zeros(params), 0), update)


# ----------------------------------------------------------------- adaptive scalings
class AdagradState(NamedTuple):
    sum_sq: np.ndarray
    denom: np.ndarray
    count: int


def scale_by_adagrad(eps=1e-10, initial_accumulator_value=0.0, eps_inside=False) -> Optimizer:
    """G ← G + g²;  d = g/(sqrt(G) + eps)  (Lasagne, ``eps_inside``: g/sqrt(G + eps))."""

    def init(params):
        return AdagradState(np.zeros_like(params) + initial_accumulator_value, zeros(params), 0)

    def update(u, state, params, oracle):
        if eps_inside:
            sum_sq = state.sum_sq + u ** 2
            denom = np.sqrt(sum_sq + eps)
        else:
            sum_sq = state.sum_sq + u * u
            denom = np.sqrt(sum_sq) + eps
        return u / denom, AdagradState(sum_sq, denom, state.count + 1)

    return Optimizer(init, update)


class RmsState(NamedTuple):
    square_avg: np.ndarray
    grad_avg: np.ndarray
    denom: np.ndarray
    count: int


def scale_by_rms(rho=0.99, eps=1e-8, centered=False, eps_inside=False) -> Optimizer:
    """a ← ρa + (1−ρ)g²;  centered: ḡ ← lerp(ḡ, g, 1−ρ), a' = a − ḡ², else a' = a;
    d = g/(sqrt(a') + eps)  (Lasagne, ``eps_inside``: g/sqrt(a + eps))."""

    def init(params):
        return RmsState(zeros(params), zeros(params), zeros(params), 0)

    def update(u, state, params, oracle):
        grad_avg = state.grad_avg
        if eps_inside:
            square_avg = rho * state.square_avg + (1 - rho) * u ** 2
            denom = np.sqrt(square_avg + eps)
        else:
            square_avg = state.square_avg * rho + (1 - rho) * u * u
            if centered:
                grad_avg = lerp(grad_avg, u, 1 - rho)
                denom = np.sqrt(square_avg - grad_avg * grad_avg) + eps
            else:
                denom = np.sqrt(square_avg) + eps
        return u / denom, RmsState(square_avg, grad_avg, denom, state.count + 1)

    return Optimizer(init, update)


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray
    acc_delta: np.ndarray
    count: int


def scale_by_adadelta(rho=0.9, eps=1e-6, delta_init=0.0, lasagne=False) -> Optimizer:
    """a ← ρa + (1−ρ)g²;  Δ = sqrt(D + eps)/sqrt(a + eps)·g;  D ← ρD + (1−ρ)Δ²;  d = Δ.

    ``lasagne`` only follows Lasagne's order of operations.
    """

    def init(params):
        return AdadeltaState(zeros(params), np.zeros_like(params) + delta_init, 0)

    def update(u, state, params, oracle):
        square_avg = state.square_avg * rho + (1 - rho) * u * u
        if lasagne:
            delta = u * np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps)
        else:
            delta = np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps) * u
        acc_delta = state.acc_delta * rho + (1 - rho) * delta * delta
        return delta, AdadeltaState(square_avg, acc_delta, state.count + 1)

    return Optimizer(init, update)


class AdamState(NamedTuple):
    first_moment: np.ndarray  # m
    second_moment: np.ndarray  # v (Adamax: the infinity norm u)
    max_second_moment: np.ndarray  # AMSGrad's running max of v
    denom: np.ndarray
    count: int
    mu_product: float | np.ndarray = 1.0  # NAdam's momentum schedule product


def _adam_init(params):
    return AdamState(zeros(params), zeros(params), zeros(params), zeros(params), 0)


def _moments(state, u, beta1, beta2):
    m = lerp(state.first_moment, u, 1 - beta1)
    v = state.second_moment * beta2 + (1 - beta2) * u * u
    return m, v


def scale_by_adam(beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, lasagne=False) -> Optimizer:
    """m ← lerp(m, g, 1−β1);  v ← β2v + (1−β2)g²;  (AMSGrad: v̂ ← max(v̂, v), use v̂)
    d = m/(sqrt(v)/sqrt(1−β2ᵗ) + eps) -- the 1/(1−β1ᵗ) goes into the step size.

    Lasagne (``lasagne``, the paper's "efficient" form of section 2):
    d = m/(sqrt(v) + eps), with sqrt(1−β2ᵗ)/(1−β1ᵗ) in the step size.
    """

    def update(u, state, params, oracle):
        count = state.count + 1
        if lasagne:
            m = beta1 * state.first_moment + (1 - beta1) * u
            v = beta2 * state.second_moment + (1 - beta2) * u ** 2
            denom = np.sqrt(v) + eps
            return m / denom, AdamState(m, v, state.max_second_moment, denom, count)
        m, v = _moments(state, u, beta1, beta2)
        vmax = np.maximum(state.max_second_moment, v) if amsgrad else state.max_second_moment
        denom = np.sqrt(vmax if amsgrad else v) / (1 - beta2 ** count) ** 0.5 + eps
        return m / denom, AdamState(m, v, vmax, denom, count)

    return Optimizer(_adam_init, update)


def scale_by_adamax(beta1=0.9, beta2=0.999, eps=1e-8, lasagne=False) -> Optimizer:
    """m ← lerp(m, g, 1−β1);  torch: u ← max(β2u, |g| + eps), d = m/u;
    Lasagne: u ← max(β2u, |g|), d = m/(u + eps).  (1/(1−β1ᵗ) goes into the step size.)"""

    def update(u_in, state, params, oracle):
        count = state.count + 1
        if lasagne:
            m = beta1 * state.first_moment + (1 - beta1) * u_in
            u = np.maximum(beta2 * state.second_moment, np.abs(u_in))
            denom = u + eps
        else:
            m = lerp(state.first_moment, u_in, 1 - beta1)
            u = np.maximum(state.second_moment * beta2, np.abs(u_in) + eps)
            denom = u
        return m / denom, AdamState(m, u, state.max_second_moment, denom, count)

    return Optimizer(_adam_init, update)


def scale_by_nadam(beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=0.004) -> Optimizer:
    """μ_t = β1(1 − ½·0.96^(t·ψ)), Π_t = Π_{t−1}μ_t;  m, v as Adam;
    D = sqrt(v/(1−β2ᵗ)) + eps;  d = (1−μ_t)/(1−Π_t)·g/D + μ_{t+1}/(1−Π_t·μ_{t+1})·m/D."""

    def update(u, state, params, oracle):
        count = state.count + 1
        bc2 = 1 - beta2 ** count
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (count * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((count + 1) * momentum_decay))
        mu_product = state.mu_product * mu
        m, v = _moments(state, u, beta1, beta2)
        denom = np.sqrt(v / bc2) + eps
        d = ((1.0 - mu) / (1.0 - mu_product)) * (u / denom) \
            + (mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
        return d, AdamState(m, v, state.max_second_moment, denom, count, mu_product)

    return Optimizer(_adam_init, update)


def scale_by_radam(beta1=0.9, beta2=0.999, eps=1e-8) -> Optimizer:
    """m, v as Adam;  ρ∞ = 2/(1−β2) − 1;  ρ_t = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ);
    if ρ_t > 5: d = m/(1−β1ᵗ) · r_t·sqrt(1−β2ᵗ)/(sqrt(v) + eps),
        r_t = sqrt((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t));
    else (variance not yet tractable): d = m/(1−β1ᵗ)."""

    def update(u, state, params, oracle):
        count = state.count + 1
        m, v = _moments(state, u, beta1, beta2)
        bc1, bc2 = 1 - beta1 ** count, 1 - beta2 ** count
        corrected = m / bc1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * count * (beta2 ** count) / bc2
        with np.errstate(invalid="ignore", divide="ignore"):  # only used where ρ_t > 5
            rect = np.sqrt(np.float64((rho_t - 4) * (rho_t - 2) * rho_inf)
                           / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        denom = (np.sqrt(v) + eps) / bc2 ** 0.5
        adaptive = bc2 ** 0.5 / (np.sqrt(v) + eps)
        d = np.where(rho_t > 5.0, corrected * adaptive * rect, corrected)
        denom = np.where(rho_t > 5.0, denom / rect, 1.0)
        return d, AdamState(m, v, state.max_second_moment, denom, count)

    return Optimizer(_adam_init, update)


# ----------------------------------------------------------------- second order
class NewtonState(NamedTuple):
    fallbacks: np.ndarray  # (N,) steps that fell back to a gradient step
    count: int


def scale_by_newton(damping=0.0, fallback=True) -> Optimizer:
    """d = (H + λI)⁻¹g where H + λI is positive definite, else d = g (counted per
    run in ``fallbacks``). With ``fallback=False``, d = (H + λI)⁻¹g wherever
    H + λI is invertible, positive definite or not (pure Newton, which heads for
    any critical point, saddles included; the non-PD steps are still counted).
    Not a transform of the gradient alone: it takes the Hessian at θ from the
    oracle."""
    lam = np.reshape(damping, -1) if np.ndim(damping) else damping  # (N, 1) -> (N,)

    def init(params):
        return NewtonState(np.zeros(params.shape[0], dtype=np.int64), 0)

    def update(g, state, params, oracle):
        h = oracle.hess(params)
        if g.shape[1] == 2:
            direction, pd = _newton_2d(h, g, lam, fallback)
        else:
            direction, pd = _newton_nd(h, g, lam, fallback)
        return direction, NewtonState(state.fallbacks + ~pd, state.count + 1)

    return Optimizer(init, update)


def _newton_2d(h, g, lam, fallback):
    """Newton's direction for D = 2 in closed form (the 2 x 2 inverse): (direction, PD)."""
    a = h[:, 0, 0] + lam
    b = h[:, 0, 1]
    d = h[:, 1, 1] + lam
    det = a * d - b * b
    pd = (a > 0) & (det > 0)
    usable = pd if fallback else det != 0
    safe = np.where(usable, det, 1.0)
    newton_dir = np.stack([(d * g[:, 0] - b * g[:, 1]) / safe,
                           (a * g[:, 1] - b * g[:, 0]) / safe], axis=1)
    return np.where(usable[:, None], newton_dir, g), pd


def _newton_nd(h, g, lam, fallback):
    """Newton's direction for any D: H + λI is positive definite where its smallest
    eigenvalue is > 0 and invertible where none is 0; a batched solve (N, D, D)."""
    n, dim = g.shape
    eye = np.eye(dim)
    m = h + (lam[:, None, None] if np.ndim(lam) else lam) * eye
    finite = np.isfinite(m).all(axis=(1, 2))
    eig = np.linalg.eigvalsh(np.where(finite[:, None, None], m, eye))
    pd = finite & (eig[:, 0] > 0)
    usable = pd if fallback else finite & np.all(eig != 0, axis=1)
    newton_dir = np.linalg.solve(np.where(usable[:, None, None], m, eye), g[..., None])[..., 0]
    direction = np.where(usable[:, None], newton_dir, g)
    if not fallback:  # a Hessian that is not finite gives no direction: the run stops
        direction = np.where(finite[:, None], direction, np.nan)
    return direction, pd
