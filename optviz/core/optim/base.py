"""The optimizer protocol: a pair of pure functions, in the optax style.

An :class:`Optimizer` is ``init(params) -> state`` and
``update(grad, state, params, oracle) -> (step, new_state)``; the new
parameters are ``params + step``. Parameters and gradients are float64 arrays
of shape (N, D): N trajectories of D coordinates (2 on a surface, a model's
parameter count on data) advance in one call. Hyperparameters may be
Python floats or arrays broadcastable against (N, 1) (a sweep gives each row
its own value). States are NamedTuples (or tuples of them) of arrays and are
never mutated.

A *gradient transform* has the same two functions, with ``update`` mapping
incoming updates (at first the gradient) to outgoing ones; :func:`chain`
composes transforms into an optimizer, whose last transform returns the step.

``oracle`` is the surface or model (``grad(points)``, ``hess(points)``); only the
optimizers that need more than the gradient at the current point use it
(NAG's look-ahead gradients, Newton's Hessian).

State field conventions, so renderers can show an optimizer's inner workings
without special cases: the velocity / first moment, in gradient units, is
the field ``first_moment``; the per-coordinate scaling's divisor is ``denom``
(V_t = 1/denom); the step size α_t is ``step_size``; Newton's count of
non-positive-definite fallbacks is ``fallbacks``; a step counter is ``count``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

State = Any


class Optimizer(NamedTuple):
    """``init(params) -> state``; ``update(grad, state, params, oracle) -> (step, state)``."""

    init: Callable[[np.ndarray], State]
    update: Callable[[np.ndarray, State, np.ndarray, Any], tuple[np.ndarray, State]]


GradientTransform = Optimizer  # the same pair; the name says how it is used


def chain(*transforms: Optimizer) -> Optimizer:
    """Apply *transforms* in order; the state is the tuple of their states."""

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params, oracle):
        new_state = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params, oracle)
            new_state.append(s)
        return updates, tuple(new_state)

    return Optimizer(init, update)


def find_field(state: State, name: str) -> Any | None:
    """The first field called *name* in a (nested) state, or None."""
    if isinstance(state, tuple):
        if hasattr(state, "_fields") and (  # a field, or a property derived from them
                name in state._fields or isinstance(getattr(type(state), name, None), property)):
            return getattr(state, name)
        for item in state:
            found = find_field(item, name)
            if found is not None:
                return found
    return None


def first_moment(state: State) -> np.ndarray | None:
    """The optimizer's velocity or first moment (gradient units), if it keeps one."""
    return find_field(state, "first_moment")


def effective_step(state: State) -> np.ndarray | None:
    """The per-coordinate step size α_t·V_t of the last update, where defined.

    α_t is the ``step_size`` a learning-rate transform recorded (schedule and
    bias correction included) and V_t = 1/``denom`` the adaptive scaling (1
    for optimizers without one). None for optimizers that do not split so
    (NAG, AdaBound's clipped steps are reported by AdaBound itself).
    """
    alpha = find_field(state, "step_size")
    if alpha is None:
        return None
    denom = find_field(state, "denom")
    return alpha / denom if denom is not None else alpha


def lerp(start: np.ndarray, end: np.ndarray, weight) -> np.ndarray:
    """``start + weight * (end - start)`` evaluated as torch's ``lerp`` does.

    torch switches formula at weight 0.5 for accuracy; matching it keeps our
    exponential moving averages equal to torch's to the last bits.
    """
    small = np.abs(weight) < 0.5
    if np.ndim(weight) == 0:
        return start + weight * (end - start) if small else end - (end - start) * (1 - weight)
    return np.where(small, start + weight * (end - start), end - (end - start) * (1 - weight))


def zeros(params: np.ndarray) -> np.ndarray:
    return np.zeros_like(params, dtype=np.float64)


def is_zero(value) -> bool:
    """True for a scalar 0 (a transform can then be skipped); arrays never are."""
    return np.ndim(value) == 0 and value == 0
