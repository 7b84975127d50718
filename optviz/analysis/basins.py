"""Basin maps: where each start point ends up, for every optimizer, in batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optviz.analysis.sweep import run_grid
from optviz.input.config import RunConfig

UNCONVERGED, DIVERGED = -1, -2


@dataclass
class BasinsResult:
    """For each optimizer an (R, R) map over the domain (row 0 at the bottom, y low).

    ``labels[k]`` holds, per start, the index of the known minimum the run ends
    within ``tol`` of, UNCONVERGED (-1) or DIVERGED (-2); ``losses[k]`` the final
    loss (NaN where diverged). Surfaces without stated minima have labels -1.
    """

    config: RunConfig
    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray  # (K, R, R) int
    losses: np.ndarray  # (K, R, R)

    def fractions(self, k: int) -> dict[str, float]:
        lab = self.labels[k]
        out = {f"minimum {i}": float((lab == i).mean())
               for i in range(len(self.config.surface.minima))}
        out["unconverged"] = float((lab == UNCONVERGED).mean())
        out["diverged"] = float((lab == DIVERGED).mean())
        return out


def start_grid(surface, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = surface.domain
    # pixel centres, so the map covers the domain exactly
    xs = x0 + (np.arange(resolution) + 0.5) * (x1 - x0) / resolution
    ys = y0 + (np.arange(resolution) + 0.5) * (y1 - y0) / resolution
    X, Y = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([X.ravel(), Y.ravel()])


def basins(config: RunConfig, resolution: int = 100, tol: float | None = None,
           progress=None) -> BasinsResult:
    """Run every optimizer from R x R starts over the domain (one batch per optimizer)."""
    surface = config.surface
    xs, ys, starts = start_grid(surface, resolution)
    (x0, x1), (y0, y1) = surface.domain
    tol = tol if tol is not None else 0.02 * max(x1 - x0, y1 - y0)
    minima = np.array(surface.minima) if surface.minima else np.zeros((0, 2))
    labels, losses = [], []
    k_count = len(config.optimizers)
    for k, opt in enumerate(config.optimizers):
        report = (lambda frac, k=k: progress((k + frac) / k_count)) if progress else None
        _, diverged, finals = run_grid(config, opt, {}, starts=starts, progress=report)
        loss = surface.f(finals)
        lab = np.full(len(starts), UNCONVERGED)
        if len(minima):
            d = np.linalg.norm(finals[:, None, :] - minima[None], axis=-1)
            near = d.min(axis=1) <= tol
            lab[near] = d.argmin(axis=1)[near]
        lab[diverged] = DIVERGED
        loss[diverged] = np.nan
        labels.append(lab.reshape(resolution, resolution))
        losses.append(loss.reshape(resolution, resolution))
    return BasinsResult(config, xs, ys, np.array(labels), np.array(losses))
