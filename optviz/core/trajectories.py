"""Trajectories: the plain value between the engine and the renderers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class Trajectories:
    """K optimizers x N runs x (T+1) points, as simulated in lockstep.

    ``points[k, n, t]`` is run *n* of optimizer *k* after *t* steps (t = 0 is the
    start). A run that diverged or otherwise stopped early holds NaN after its
    last point; ``steps[k, n]`` is the index of that last point, so
    ``points[k, n, : steps[k, n] + 1]`` is the whole finite trajectory.
    """

    labels: tuple[str, ...]
    points: np.ndarray  # (K, N, T+1, 2) float64
    losses: np.ndarray  # (K, N, T+1) float64
    steps: np.ndarray  # (K, N) int: steps actually taken
    diverged: np.ndarray  # (K, N) bool
    counters: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (K, N)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(K optimizers, N runs, T steps)."""
        k, n, t1, _ = self.points.shape
        return k, n, t1 - 1

    def path(self, k: int, n: int = 0) -> np.ndarray:
        """The finite points of one run, shape (steps + 1, 2)."""
        return self.points[k, n, : self.steps[k, n] + 1]

    def loss_path(self, k: int, n: int = 0) -> np.ndarray:
        return self.losses[k, n, : self.steps[k, n] + 1]

    @property
    def final_points(self) -> np.ndarray:
        """(K, N, 2): each run's last finite point."""
        idx = self.steps[..., None, None].repeat(2, axis=-1)
        return np.take_along_axis(self.points, idx, axis=2)[:, :, 0, :]

    @property
    def final_losses(self) -> np.ndarray:
        """(K, N): the loss at each run's last finite point."""
        return np.take_along_axis(self.losses, self.steps[..., None], axis=2)[:, :, 0]

    # ----------------------------------------------------------------- CSV
    def to_csv_text(self) -> str:
        """``label,step,x,y,loss`` (with a ``run`` column when N > 1), floats as repr."""
        k_count, n_count, _ = self.shape
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        many = n_count > 1
        writer.writerow(["label", "run", "step", "x", "y", "loss"] if many
                        else ["label", "step", "x", "y", "loss"])
        for k in range(k_count):
            for n in range(n_count):
                pts, loss = self.path(k, n), self.loss_path(k, n)
                for t in range(len(pts)):
                    row = [self.labels[k]] + ([n] if many else []) + [
                        t, repr(float(pts[t, 0])), repr(float(pts[t, 1])), repr(float(loss[t]))]
                    writer.writerow(row)
        return out.getvalue()

    def save_csv(self, path: str | Path) -> None:
        Path(path).write_text(self.to_csv_text(), encoding="utf-8")


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a trajectories CSV back: label -> array of rows (step, x, y, loss)."""
    rows: dict[str, list[list[float]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            rows.setdefault(rec["label"], []).append(
                [float(rec["step"]), float(rec["x"]), float(rec["y"]), float(rec["loss"])])
    return {label: np.array(r) for label, r in rows.items()}
