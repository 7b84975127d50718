"""What an optimizer 'sees' at each step: gradient, step, velocity / first moment.

Recorded during the simulation through the engine's ``observe`` hook; the
first moment comes from the optimizer's own state (``optim.first_moment``),
so no optimizer is special-cased here or in the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("gradient", "step", "momentum")


@dataclass
class Overlays:
    """(K, T, 2) arrays for run 0: at step t the gradient used, the step taken and
    the first moment after the update (NaN where an optimizer keeps none)."""

    gradient: np.ndarray
    step: np.ndarray
    momentum: np.ndarray

    def at(self, kind: str, k: int, t: int) -> np.ndarray:
        return getattr(self, kind)[k, t]


class OverlayRecorder:
    """An ``observe`` callback for :func:`optviz.core.engine.simulate`."""

    def __init__(self, k_count: int, steps: int):
        self.data = Overlays(*(np.full((k_count, steps, 2), np.nan) for _ in KINDS))

    def __call__(self, t, k, grad, step, state):
        from optviz.core.optim import first_moment

        self.data.gradient[k, t] = grad[0]
        self.data.step[k, t] = step[0]
        moment = first_moment(state)
        if moment is not None:
            self.data.momentum[k, t] = np.broadcast_to(moment, grad.shape)[0]
