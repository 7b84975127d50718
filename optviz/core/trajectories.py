"""Trajectories: the plain value between the engine and the renderers."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class Trajectories:
    """K optimizers x N runs x (T+1) points of D coordinates, as simulated in lockstep.

    ``points[k, n, t]`` is run *n* of optimizer *k* after *t* steps (t = 0 is the
    start): a point (x, y) of a surface (D = 2), or a model's D parameters. A run that diverged or otherwise stopped early holds NaN after its
    last point; ``steps[k, n]`` is the index of that last point, so
    ``points[k, n, : steps[k, n] + 1]`` is the whole finite trajectory.
    """

    labels: tuple[str, ...]
    points: np.ndarray  # (K, N, T+1, D) float64; D = 2 for a surface
    losses: np.ndarray  # (K, N, T+1) float64
    steps: np.ndarray  # (K, N) int: steps actually taken
    diverged: np.ndarray  # (K, N) bool
    counters: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (K, N)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(K optimizers, N runs, T steps)."""
        k, n, t1, _ = self.points.shape
        return k, n, t1 - 1

    @property
    def dim(self) -> int:
        """D, the number of coordinates of a point (2 for a surface)."""
        return self.points.shape[-1]

    def path(self, k: int, n: int = 0) -> np.ndarray:
        """The finite points of one run, shape (steps + 1, D)."""
        return self.points[k, n, : self.steps[k, n] + 1]

    def loss_path(self, k: int, n: int = 0) -> np.ndarray:
        return self.losses[k, n, : self.steps[k, n] + 1]

    def ending(self, k: int, n: int = 0) -> str | None:
        """How run *n* of optimizer *k* ended: "diverged" when the engine stopped
        it (``diverged``: a value went non-finite, or it passed the bound) with
        its loss not falling -- it blew up; "escaped" when it was stopped far out
        with a finite loss below its start and still falling -- it is descending
        where f is unbounded below (a saddle's escape, not a failure); None when
        it ran its steps."""
        if not self.diverged[k, n]:
            return None
        loss = self.loss_path(k, n)
        last = loss[-1]
        if len(loss) >= 2 and np.isfinite(last) and np.isfinite(loss[0]) \
                and last < loss[0] and last < loss[-2] and np.all(np.isfinite(self.path(k, n)[-1])):
            return "escaped"
        return "diverged"

    @property
    def final_points(self) -> np.ndarray:
        """(K, N, D): each run's last finite point."""
        idx = self.steps[..., None, None].repeat(self.dim, axis=-1)
        return np.take_along_axis(self.points, idx, axis=2)[:, :, 0, :]

    @property
    def final_losses(self) -> np.ndarray:
        """(K, N): the loss at each run's last finite point."""
        return np.take_along_axis(self.losses, self.steps[..., None], axis=2)[:, :, 0]

    # ----------------------------------------------------------------- CSV
    def to_csv_text(self) -> str:
        """``label,step,x,y,loss`` (with a ``run`` column when N > 1), floats exact
        (repr: ``float(text)`` gives the same float64), labels quoted where needed.
        Points of a surface only (D = 2): a model's parameters are not x and y."""
        from optviz.outputs import csv_text

        if self.dim != 2:
            raise ValueError(f"the x,y trajectories CSV holds 2-D points; these have "
                             f"{self.dim} coordinates")
        k_count, n_count, _ = self.shape
        many = n_count > 1
        header = ["label", "run", "step", "x", "y", "loss"] if many \
            else ["label", "step", "x", "y", "loss"]
        rows: list[tuple] = []
        for k in range(k_count):
            for n in range(n_count):
                pts, loss = self.path(k, n), self.loss_path(k, n)
                count = len(pts)
                # floats pre-formatted as repr (what csv_text would write), in bulk
                cols = [[self.labels[k]] * count] + ([[str(n)] * count] if many else []) + [
                    map(str, range(count)), map(repr, pts[:, 0].tolist()),
                    map(repr, pts[:, 1].tolist()), map(repr, loss.tolist())]
                rows += zip(*cols)
        return csv_text(header, rows)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every value as plain arrays (``parameters.npz``: exact float64, no pickle):
        ``labels`` (K,) text, ``points`` (K, N, T+1, D), ``losses`` (K, N, T+1),
        ``steps`` (K, N) and ``diverged`` (K, N); NaN after a run's last point."""
        return {"labels": np.array(self.labels, dtype=str), "points": self.points,
                "losses": self.losses, "steps": self.steps, "diverged": self.diverged}

    def loss_csv_text(self) -> str:
        """``label,step,loss`` (with ``run`` when N > 1): each run's loss at every step,
        floats exact (repr), for any D (``losses.csv`` of a network)."""
        from optviz.outputs import csv_text

        k_count, n_count, _ = self.shape
        many = n_count > 1
        header = ["label", "run", "step", "loss"] if many else ["label", "step", "loss"]
        rows: list[tuple] = []
        for k in range(k_count):
            for n in range(n_count):
                loss = self.loss_path(k, n)
                count = len(loss)
                cols = [[self.labels[k]] * count] + ([[str(n)] * count] if many else []) + [
                    map(str, range(count)), map(repr, loss.tolist())]
                rows += zip(*cols)
        return csv_text(header, rows)

    def save_csv(self, path: str | Path) -> None:
        from optviz.outputs import write_text

        write_text(path, self.to_csv_text())


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a trajectories CSV back: label -> array of rows (step, x, y, loss)."""
    rows: dict[str, list[list[float]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            rows.setdefault(rec["label"], []).append(
                [float(rec["step"]), float(rec["x"]), float(rec["y"]), float(rec["loss"])])
    return {label: np.array(r) for label, r in rows.items()}
