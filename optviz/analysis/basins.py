"""Basin maps: where each start point ends up, for every optimizer, in chunks.

An R x R map is a :class:`~optviz.analysis.sweep.Grid` of starts per optimizer,
run chunk by chunk (:func:`basins_chunk`, a pure function of the config, the
optimizer's index and the chunk's index), so a 1000 x 1000 map needs no more
memory for its runs than a 200 x 200 one: only the (K, R, R) results grow.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from optviz.analysis.sweep import CSV_BLOCK, Grid, chunk_count, grid_chunk
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
    # the CSV text of :meth:`rows`, in order, when the chunks' tasks made it (a cluster
    # formats the table in parallel, where it computes); None: made from rows()
    table: list[str] | None = None

    def fractions(self, k: int) -> dict[str, float]:
        lab = self.labels[k]
        out = {f"minimum {i}": float((lab == i).mean())
               for i in range(len(self.config.surface.minima))}
        out["unconverged"] = float((lab == UNCONVERGED).mean())
        out["diverged"] = float((lab == DIVERGED).mean())
        return out

    def columns(self) -> list[str]:
        return ["label", "x", "y", "ends_at", "final_loss"]

    def rows(self) -> Iterator[tuple]:
        """The table (:meth:`columns`), optimizer by optimizer, each start y outer and
        x inner, as plain Python values made a block at a time."""
        r = len(self.xs)
        for k, opt in enumerate(self.config.optimizers):
            labels, losses = self.labels[k].ravel(), self.losses[k].ravel()
            for lo in range(0, r * r, CSV_BLOCK):
                hi = min(r * r, lo + CSV_BLOCK)
                yield from _table_rows(opt.label, self.xs, self.ys, lo, labels[lo:hi],
                                       losses[lo:hi])

    def arrays(self) -> dict[str, np.ndarray]:
        """The table's columns on the grid: ``label`` (K,), ``x`` (R,), ``y`` (R,),
        ``ends_at`` (K, R, R) int64 and ``final_loss`` (K, R, R) float64, where
        ``[k, i, j]`` is optimizer k's run from (x[j], y[i])."""
        return {"label": np.array([o.label for o in self.config.optimizers], dtype=str),
                "x": self.xs, "y": self.ys, "ends_at": self.labels, "final_loss": self.losses}


def _table_rows(label: str, xs: np.ndarray, ys: np.ndarray, lo: int, lab: np.ndarray,
                loss: np.ndarray) -> Iterator[tuple]:
    """The table's rows (:meth:`BasinsResult.columns`) of one optimizer's grid rows
    lo, lo + 1, ... (the map flattened, y outer), whose outcomes are *lab*, *loss*."""
    iy, ix = np.divmod(np.arange(lo, lo + len(lab)), len(xs))
    return zip(itertools.repeat(label, len(lab)), xs[ix].tolist(), ys[iy].tolist(),
               lab.tolist(), loss.tolist())


def start_grid(surface, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys = grid_axes(surface, resolution)
    X, Y = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([X.ravel(), Y.ravel()])


def grid_axes(surface, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The R pixel centres along x and along y, so the map covers the domain exactly."""
    (x0, x1), (y0, y1) = surface.domain
    xs = x0 + (np.arange(resolution) + 0.5) * (x1 - x0) / resolution
    ys = y0 + (np.arange(resolution) + 0.5) * (y1 - y0) / resolution
    return xs, ys


def basin_grid(surface, resolution: int) -> Grid:
    """The R x R starts as a grid: y outer (axis 1 of the start), x inner (axis 0)."""
    xs, ys = grid_axes(surface, resolution)
    return Grid(((1, ys), (0, xs)))


def default_tol(surface) -> float:
    """How near a known minimum a run must end to count as reaching it: 2% of the domain."""
    (x0, x1), (y0, y1) = surface.domain
    return 0.02 * max(x1 - x0, y1 - y0)


def basins_chunk(config: RunConfig, resolution: int, k: int, index: int,
                 tol: float | None = None, progress=None) -> tuple[int, np.ndarray, np.ndarray]:
    """Chunk *index* of optimizer *k*'s map: (first row, ends_at (n,), final loss (n,)).

    A pure function of its arguments: chunks may run in any order or place."""
    surface = config.surface
    tol = tol if tol is not None else default_tol(surface)
    chunk = grid_chunk(config, config.optimizers[k], basin_grid(surface, resolution), index,
                       progress=progress)
    finals, diverged = chunk.finals, chunk.diverged
    loss = surface.f(finals)
    lab = np.full(len(finals), UNCONVERGED)
    if surface.minima:
        minima = np.array(surface.minima)
        d = np.linalg.norm(finals[:, None, :] - minima[None], axis=-1)
        near = d.min(axis=1) <= tol
        lab[near] = d.argmin(axis=1)[near]
    lab[diverged] = DIVERGED
    loss[diverged] = np.nan
    return chunk.lo, lab, loss


def basins_chunk_table(config: RunConfig, resolution: int, k: int, index: int,
                       tol: float | None = None) -> tuple[int, np.ndarray, np.ndarray, str]:
    """:func:`basins_chunk` and the CSV text of its rows of the table (a cluster's
    task: the table of a big map is formatted on the workers, in parallel)."""
    from optviz.outputs import csv_lines

    lo, lab, loss = basins_chunk(config, resolution, k, index, tol)
    xs, ys = grid_axes(config.surface, resolution)
    return lo, lab, loss, csv_lines(_table_rows(config.optimizers[k].label, xs, ys, lo,
                                                lab, loss))


def basins(config: RunConfig, resolution: int = 100, tol: float | None = None,
           progress=None, executor=None, table: bool = False) -> BasinsResult:
    """Run every optimizer from R x R starts over the domain, chunk by chunk.

    With an *executor* (:mod:`optviz.app.cluster`) the chunks are its tasks,
    wherever they run, and *progress* counts the tasks done; the result is the same.
    There, with *table*, the tasks also format the CSV table (``BasinsResult.table``)."""
    xs, ys = grid_axes(config.surface, resolution)
    k_count = len(config.optimizers)
    n_chunks = chunk_count(config, basin_grid(config.surface, resolution))
    labels = np.empty((k_count, resolution * resolution), dtype=np.int64)
    losses = np.empty((k_count, resolution * resolution))
    total = k_count * n_chunks
    pieces = [""] * total if table and executor is not None else None

    def place(k: int, lo: int, lab: np.ndarray, loss: np.ndarray) -> None:
        labels[k, lo:lo + len(lab)] = lab
        losses[k, lo:lo + len(lab)] = loss

    if executor is not None:
        tasks = [(config, resolution, k, index, tol)
                 for k in range(k_count) for index in range(n_chunks)]
        task = basins_chunk_table if pieces is not None else basins_chunk
        for done, (i, (lo, lab, loss, *text)) in enumerate(executor.map(task, tasks), 1):
            place(i // n_chunks, lo, lab, loss)
            if pieces is not None:
                pieces[i] = text[0]
            if progress is not None:
                progress(done / total)
    else:
        done = 0
        for k in range(k_count):
            for index in range(n_chunks):
                report = (lambda t, done=done: progress(
                    (done + t / max(config.steps, 1)) / total)) if progress else None
                place(k, *basins_chunk(config, resolution, k, index, tol, report))
                done += 1
                if progress is not None:
                    progress(done / total)
    shape = (k_count, resolution, resolution)
    return BasinsResult(config, xs, ys, labels.reshape(shape), losses.reshape(shape), pieces)
