"""The optimizer protocol: a pair of pure functions, in the optax style.

An :class:`Optimizer` is ``init(params) -> state`` and
``update(grad, state, params, oracle) -> (step, new_state)``; the new
parameters are ``params + step``. Parameters and gradients are float64 arrays
of shape (N, 2): N trajectories advance in one call. Hyperparameters may be
Python floats or arrays broadcastable against (N, 1) (a sweep gives each row
its own value). States are NamedTuples of arrays and are never mutated.

``oracle`` is the surface (``grad(points)``, ``hess(points)``); only the
optimizers that need more than the gradient at the current point use it
(NAG's look-ahead gradients, Newton's Hessian).

State field conventions, so renderers can show an optimizer's inner workings
without special cases: the velocity / first moment, in gradient units, is
the field ``first_moment``; Newton's count of non-positive-definite
fallbacks is ``fallbacks``; the step counter is ``count``.
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


def first_moment(state: State) -> np.ndarray | None:
    """The optimizer's velocity or first moment (gradient units), if it keeps one."""
    return getattr(state, "first_moment", None)


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
