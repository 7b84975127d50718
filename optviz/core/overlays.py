"""What an optimizer 'sees' at each step: gradient, step, velocity / first moment.

Recorded during the simulation through the engine's ``observe`` hook; the
first moment comes from the optimizer's own state (``optim.first_moment``),
so no optimizer is special-cased here or in the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("gradient", "step", "momentum", "inner")


@dataclass
class Overlays:
    """(K, T, D) arrays for run 0 (D = 2 on a surface): at step t the gradient used, the step taken and
    the first moment after the update (NaN where an optimizer keeps none)."""

    gradient: np.ndarray
    step: np.ndarray
    momentum: np.ndarray
    # the method's second point after update t (schedule-free's y, SAM's perturbed
    # point, Lookahead's slow weights: ``optim.modern.inner_point``), in x-y units;
    # it belongs with point t + 1 of the path
    inner: np.ndarray
    inner_names: tuple[str, ...] = ()  # which second points the run's optimizers have

    def at(self, kind: str, k: int, t: int) -> np.ndarray:
        return getattr(self, kind)[k, t]


class OverlayRecorder:
    """An ``observe`` callback for :func:`optviz.core.engine.simulate`."""

    def __init__(self, k_count: int, steps: int, dim: int = 2):
        from optviz.core.optim import first_moment
        from optviz.core.optim.modern import inner_point

        self.data = Overlays(*(np.full((k_count, steps, dim), np.nan) for _ in KINDS))
        self.first_moment, self.inner_point = first_moment, inner_point

    def __call__(self, t, k, grad, step, state):
        self.data.gradient[k, t] = grad[0]
        self.data.step[k, t] = step[0]
        moment = self.first_moment(state)
        if moment is not None:
            self.data.momentum[k, t] = np.broadcast_to(moment, grad.shape)[0]
        inner = self.inner_point(state)
        if inner is not None:
            self.data.inner[k, t] = np.broadcast_to(inner[1], grad.shape)[0]
            if inner[0] not in self.data.inner_names:
                self.data.inner_names += (inner[0],)


class StepSizeRecorder:
    """An ``observe`` callback recording run 0's effective per-coordinate step size
    α_t·V_t after each update, (K, T, D), from the optimizer's own state
    (``optim.effective_step``); NaN where an optimizer does not define one."""

    def __init__(self, k_count: int, steps: int, dim: int = 2):
        from optviz.core.optim import effective_step

        self.data = np.full((k_count, steps, dim), np.nan)
        self.effective_step = effective_step

    def __call__(self, t, k, grad, step, state):
        size = self.effective_step(state)
        if size is not None:
            self.data[k, t] = np.broadcast_to(np.asarray(size, dtype=np.float64),
                                              grad.shape)[0]


def observers(*callbacks):
    """One ``observe`` callback calling each of *callbacks* (None ones left out)."""
    live = [c for c in callbacks if c is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0]

    def observe(*args):
        for c in live:
            c(*args)
    return observe
