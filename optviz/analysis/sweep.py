"""Hyperparameter sweeps and automatic learning rates, each one batched run.

Every grid point is a row of one (G, 2) batch whose swept hyperparameters are
(G, 1) arrays, so a 100 x 100 sweep is one lockstep simulation, not 10,000.

Big grids stream: a :class:`Grid` is described, not stored, and is run in
chunks of :func:`chunk_rows` rows, each a pure function of the config and the
chunk's index (:func:`grid_chunk`), so memory stays bounded whatever the
grid's size, chunks may run in any order or on other machines, and the
results are the same bytes.

Memory of a grid of G runs: one chunk's trajectories at a time (at most
CHUNK_VALUES floats, 240 MB, whatever G and the steps), plus the results,
8 bytes per run for the outcome, 1 for ``diverged`` and 16 for the final
point (a basin map keeps 16 per run and optimizer: ``ends_at`` and the loss).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from optviz.core.engine import simulate
from optviz.core.trajectories import Trajectories
from optviz.errors import ConfigError, did_you_mean
from optviz.input.config import OptimizerConfig, RunConfig

OUTCOMES = ("final_loss", "distance", "steps_to_tol", "final_gap", "mean_loss")
CHUNK_VALUES = 30_000_000  # floats of trajectory kept at once (about 240 MB)
CSV_BLOCK = 1 << 16  # rows of a CSV table made into Python values at once


def chunk_rows(steps: int) -> int:
    """Rows per chunk of a grid: a chunk's trajectories (steps + 1 points and
    losses, 3 floats a step) hold at most CHUNK_VALUES floats."""
    return max(64, CHUNK_VALUES // (3 * (steps + 1)))


@dataclass(frozen=True)
class Axis:
    """One swept hyperparameter: ``PARAM=LO:HI[:log][:N]``."""

    param: str
    lo: float
    hi: float
    log: bool = False
    n: int = 50

    @property
    def values(self) -> np.ndarray:
        if self.log:
            return np.geomspace(self.lo, self.hi, self.n)
        return np.linspace(self.lo, self.hi, self.n)

    def __str__(self) -> str:
        return f"{self.param}={self.lo:g}:{self.hi:g}" + (":log" if self.log else "") + \
            f":{self.n}"


def parse_axis(text: str, option: str = "--x") -> Axis:
    """Parse ``lr=1e-4:1:log:60`` (log and N optional, in either order)."""
    example = "e.g. lr=1e-4:1:log:60 or momentum=0:0.99:40"
    if "=" not in text:
        raise ConfigError(f"expected PARAM=LO:HI[:log][:N], got {text!r}", key=option,
                          hint=example)
    param, spec = text.split("=", 1)
    parts = spec.split(":")
    if len(parts) < 2:
        raise ConfigError(f"expected LO:HI after '{param}=', got {spec!r}", key=option,
                          hint=example)
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"LO and HI must be numbers, got {parts[0]!r} and {parts[1]!r}",
                          key=option, hint=example) from None
    log, n = False, 50
    for extra in parts[2:]:
        if extra == "log":
            log = True
        elif extra.isdigit() and 2 <= int(extra) <= 1000:
            n = int(extra)
        else:
            raise ConfigError(f"unexpected {extra!r} in {text!r}: expected 'log' or a count "
                              "between 2 and 1000", key=option, hint=example)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ConfigError(f"the range {lo:g}:{hi:g} is empty: LO must be below HI", key=option)
    if log and lo <= 0:
        raise ConfigError("a log range must be positive", key=option, hint=example)
    return Axis(param.strip(), lo, hi, log, n)


def outcome(traj: Trajectories, surface, kind: str = "final_loss",
            tol: float = 1e-3) -> np.ndarray:
    """(K, N) outcome of each run; +inf for diverged runs (never 'good')."""
    if kind == "final_loss":
        values = traj.final_losses.copy()
    elif kind == "distance":
        if not surface.minima:
            raise ConfigError(f"surface '{surface.name}' states no minima",
                              key="outcome", hint="use the final_loss outcome")
        minima = np.array(surface.minima)
        d = np.linalg.norm(traj.final_points[:, :, None, :] - minima, axis=-1)
        values = d.min(axis=-1)
    elif kind in ("steps_to_tol", "final_gap"):
        target = surface.minimum_value
        if target is None:
            raise ConfigError(f"surface '{surface.name}' states no minimum value",
                              key="outcome", hint="use final_loss or distance")
        if kind == "final_gap":
            values = traj.final_losses - target
        else:
            reached = traj.losses - target <= tol  # NaN (after a stop) compares False
            first = np.argmax(reached, axis=2).astype(float)
            first[~reached.any(axis=2)] = np.inf
            values = first
    elif kind == "mean_loss":  # over the steps a run took (NaN after its end is ignored)
        values = np.nanmean(traj.losses, axis=2)
    else:
        raise ConfigError(f"unknown outcome {kind!r}", key="outcome",
                          hint=did_you_mean(kind, OUTCOMES) or "one of " + ", ".join(OUTCOMES))
    values[traj.diverged] = np.inf
    return values


def run_rows(config: RunConfig, opt: OptimizerConfig, params: dict[str, np.ndarray],
             starts: np.ndarray, kind: str = "final_loss", tol: float = 1e-3, progress=None,
             noise_models=None, noise_rows: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch: *opt* from each row of *starts* with its row of the (n,) swept
    hyperparameter arrays *params*. Returns (outcome (n,), diverged (n,), final
    points (n, D)); *progress* gets the steps done."""
    from optviz.core.optim import make_optimizer, resolve_hyperparams

    given = {**dict(opt.params),
             **{k: np.asarray(v, dtype=float)[:, None] for k, v in params.items()}}
    try:
        resolved = resolve_hyperparams(opt.type, given, config.conventions)
    except ConfigError as e:
        raise ConfigError(f"the sweep range of {e.key} is invalid: {e.detail}",
                          key=e.key, hint=e.hint) from None
    tr = simulate(config.surface, {opt.label: make_optimizer(opt.type, config.conventions,
                                                             **resolved)},
                  starts, config.steps, progress=progress,
                  noise=config.noise if noise_rows is None else noise_models,
                  noise_rows=noise_rows)
    return outcome(tr, config.surface, kind, tol)[0], tr.diverged[0], tr.final_points[0]


def run_grid(config: RunConfig, opt: OptimizerConfig, grid: dict[str, np.ndarray],
             starts: np.ndarray | None = None, kind: str = "final_loss",
             tol: float = 1e-3, progress=None, noise_models=None,
             noise_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One optimizer at G grid points (hyperparameter arrays of length G), batched.

    Returns (outcome (G,), diverged (G,), final points (G, 2)). Long runs are
    split into chunks of rows so memory stays bounded; each chunk is one batch.
    *noise_models* with *noise_rows* (G,) give each row its own noise model
    (several seeds in one batch); else every row shares the config's noise.
    (Grids given as whole arrays; a product grid streams: :func:`run_product`.)
    """
    count = len(next(iter(grid.values()))) if grid else len(starts)
    if starts is None:
        starts = np.repeat(np.array([config.start]), count, axis=0)
    chunk = chunk_rows(config.steps)
    out_v, out_d, out_p = [], [], []
    n_chunks = -(-count // chunk)
    for c, lo in enumerate(range(0, count, chunk)):
        hi = min(count, lo + chunk)
        v, d, p = run_rows(config, opt, {k: v[lo:hi] for k, v in grid.items()}, starts[lo:hi],
                           kind, tol, _chunk_progress(progress, c, n_chunks, config.steps),
                           noise_models, None if noise_rows is None else noise_rows[lo:hi])
        out_v.append(v)
        out_d.append(d)
        out_p.append(p)
    return np.concatenate(out_v), np.concatenate(out_d), np.concatenate(out_p)


def _chunk_progress(progress, done: int, total: int, steps: int):
    """Chunk *done* of *total* reporting its steps as a fraction of the whole."""
    if progress is None:
        return None
    return lambda t: progress((done * steps + t) / (total * max(steps, 1)))


# ----------------------------------------------------------------- product grids
@dataclass(frozen=True)
class Grid:
    """Runs of one optimizer over a row-major product of axes, described, not stored.

    ``axes`` pairs each name with its values, outermost first; the last axis
    varies fastest (row r is ``np.unravel_index(r, shape)``, the order of
    ``np.meshgrid(x, y)`` raveled: y outer, x inner). A name is a swept
    hyperparameter, or an int d: the axis moves coordinate d of the start
    (a basin map's grid of starts); coordinates no axis moves keep the config's
    start. Any rows can be built from their indices alone (:meth:`rows`).
    """

    axes: tuple[tuple[str | int, np.ndarray], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(values) for _, values in self.axes)

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    def rows(self, start, lo: int, hi: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows lo..hi: their starts (n, D) and each swept hyperparameter's (n,) values."""
        at = np.unravel_index(np.arange(lo, hi), self.shape)
        starts = np.repeat(np.asarray(start, dtype=np.float64)[None], hi - lo, axis=0)
        params = {}
        for (name, values), i in zip(self.axes, at):
            if isinstance(name, int):
                starts[:, name] = values[i]
            else:
                params[name] = np.asarray(values)[i]
        return starts, params


class GridChunk(NamedTuple):
    """Rows ``lo`` .. ``lo + len(values)`` of a grid: outcome, diverged, final points."""

    lo: int
    values: np.ndarray
    diverged: np.ndarray
    finals: np.ndarray


def chunk_count(config: RunConfig, grid: Grid) -> int:
    return -(-grid.count // chunk_rows(config.steps))


def grid_chunk(config: RunConfig, opt: OptimizerConfig, grid: Grid, index: int,
               kind: str = "final_loss", tol: float = 1e-3, progress=None) -> GridChunk:
    """Chunk *index* of *grid*: its :func:`chunk_rows` rows simulated as one batch.

    A pure function of its arguments (the rows are rebuilt from the grid, the
    noise generator restarts from its seed), so the chunks of a grid can run in
    any order, or as tasks on a cluster, and give the same bytes as one run.
    """
    size = chunk_rows(config.steps)
    lo, hi = index * size, min(grid.count, (index + 1) * size)
    if not 0 <= lo < hi:
        raise IndexError(f"chunk {index} of a {grid.count}-row grid in chunks of {size}")
    starts, params = grid.rows(config.start, lo, hi)
    return GridChunk(lo, *run_rows(config, opt, params, starts, kind, tol, progress))


def run_product(config: RunConfig, opt: OptimizerConfig, grid: Grid, kind: str = "final_loss",
                tol: float = 1e-3, progress=None, executor=None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every chunk of *grid*, placed by its rows: (outcome (G,), diverged (G,), finals (G, D)).

    *progress* gets the fraction done, at least once per chunk. With an *executor*
    (:mod:`optviz.app.cluster`) the chunks are its tasks; the result is the same."""
    n_chunks = chunk_count(config, grid)
    values = np.empty(grid.count)
    diverged = np.empty(grid.count, dtype=bool)
    finals = None
    if executor is not None:
        tasks = [(config, opt, grid, index, kind, tol) for index in range(n_chunks)]
        chunks = (c for _, c in executor.map(grid_chunk, tasks))
    else:
        chunks = (grid_chunk(config, opt, grid, index, kind, tol,
                             _chunk_progress(progress, index, n_chunks, config.steps))
                  for index in range(n_chunks))
    for done, c in enumerate(chunks, 1):
        hi = c.lo + len(c.values)
        if finals is None:
            finals = np.empty((grid.count,) + c.finals.shape[1:])
        values[c.lo:hi], diverged[c.lo:hi], finals[c.lo:hi] = c.values, c.diverged, c.finals
        if progress is not None:
            progress(done / n_chunks)
    return values, diverged, finals


@dataclass
class SweepResult:
    config: RunConfig
    optimizer: OptimizerConfig
    x: Axis
    y: Axis | None
    outcome: str
    values: np.ndarray  # (ny, nx) or (nx,)
    diverged: np.ndarray  # same shape

    TIE_RULE = ("ties (within 0.1% of the lowest): the one nearest their centre on the grid")

    def columns(self) -> list[str]:
        """The table's columns: the swept hyperparameters, the outcome, ``diverged``."""
        return [self.x.param] + ([self.y.param] if self.y else []) + [self.outcome, "diverged"]

    def rows(self) -> Iterator[tuple]:
        """The table, one row per grid point (y outer, x inner), as plain Python values,
        made a block at a time (a million rows never exist at once)."""
        nx, count = self.x.n, self.values.size
        values, diverged = self.values.ravel(), self.diverged.ravel()
        for lo in range(0, count, CSV_BLOCK):
            at = np.arange(lo, min(count, lo + CSV_BLOCK))
            iy, ix = np.divmod(at, nx)
            cols = [self.x.values[ix].tolist()] + ([self.y.values[iy].tolist()] if self.y else [])
            yield from zip(*cols, values[at].tolist(), diverged[at].tolist())

    def arrays(self) -> dict[str, np.ndarray]:
        """The table's columns as arrays on the grid: each swept hyperparameter's values,
        the outcome and ``diverged`` of shape (ny, nx) (or (nx,)), float64 and bool."""
        out = {self.x.param: self.x.values}
        if self.y:
            out[self.y.param] = self.y.values
        out[self.outcome] = self.values
        out["diverged"] = self.diverged
        return out

    def ties(self) -> np.ndarray:
        """Flat indices of the points tied for the lowest outcome: within 0.1%
        of it (1e-12 absolute for a lowest of 0); none if every run diverged."""
        flat = np.where(self.diverged, np.inf, self.values).ravel()
        low = flat.min()
        if not np.isfinite(low):
            return np.array([int(np.argmin(flat))])
        return np.flatnonzero(flat <= low + 1e-3 * abs(low) + 1e-12)

    def best(self) -> dict[str, Any]:
        """The best point: the lowest outcome; among ties (:meth:`ties`) the
        tied point nearest the ties' mean grid position (:attr:`TIE_RULE`),
        not the first in scan order, which sits at the edge of a plateau."""
        flat = np.where(self.diverged, np.inf, self.values).ravel()
        tied = self.ties()
        at = np.stack(np.unravel_index(tied, self.values.shape), axis=1).astype(float)
        i = int(tied[np.argmin(np.linalg.norm(at - at.mean(axis=0), axis=1))])
        if self.y is None:
            return {self.x.param: float(self.x.values[i]), self.outcome: float(flat[i])}
        iy, ix = np.unravel_index(i, self.values.shape)
        return {self.x.param: float(self.x.values[ix]), self.y.param: float(self.y.values[iy]),
                self.outcome: float(flat[i])}


def find_optimizer(config: RunConfig, which: str | int | None) -> OptimizerConfig:
    if which is None:
        return config.optimizers[0]
    if isinstance(which, int) or (isinstance(which, str) and which.isdigit()):
        i = int(which)
        if not 0 <= i < len(config.optimizers):
            raise ConfigError(f"the config has {len(config.optimizers)} optimizers; index {i} "
                              "is out of range", key="--optimizer")
        return config.optimizers[i]
    labels = [o.label for o in config.optimizers]
    if which in labels:
        return config.optimizers[labels.index(which)]
    of_type = [o for o in config.optimizers if o.type == which]
    if len(of_type) == 1:  # a type, where only one optimizer has it
        return of_type[0]
    if of_type:
        raise ConfigError(f"{len(of_type)} optimizers are of type {which!r}", key="--optimizer",
                          hint="give one by its label (" + ", ".join(
                              repr(o.label) for o in of_type) + ") or its index")
    raise ConfigError(f"no optimizer labelled {which!r}", key="--optimizer",
                      hint=did_you_mean(which, labels) or "labels: " + ", ".join(labels))


def sweep(config: RunConfig, x: Axis, y: Axis | None = None, *, optimizer=None,
          kind: str = "final_loss", tol: float = 1e-3, progress=None,
          executor=None) -> SweepResult:
    """The outcome over one or two hyperparameters of one optimizer, in chunks
    (on *executor*'s workers when given, :func:`run_product`)."""
    opt = find_optimizer(config, optimizer)
    numeric = [k for k, v in opt.params.items()  # resolved: every hyperparameter is there
               if (isinstance(v, float) and not isinstance(v, bool)) or k == "lr"]
    for axis, option in ((x, "--x"), (y, "--y")):
        if axis is not None and axis.param not in numeric:
            raise ConfigError(f"{opt.type} has no numeric hyperparameter '{axis.param}'",
                              key=option, hint=did_you_mean(axis.param, numeric)
                              or "sweepable: " + ", ".join(numeric))
    if y is not None and y.param == x.param:
        raise ConfigError("--x and --y sweep the same hyperparameter", key="--y")
    if y is None:
        grid = Grid(((x.param, x.values),))
    else:
        grid = Grid(((y.param, y.values), (x.param, x.values)))
    try:
        values, diverged, _ = run_product(config, opt, grid, kind=kind, tol=tol,
                                          progress=progress, executor=executor)
    except ConfigError as e:  # name the option the user typed, not the hyperparameter
        axis, option = (y, "--y") if y is not None and e.key == y.param else (x, "--x")
        if e.key != axis.param:
            raise
        inner = e.detail.split(" is invalid: ", 1)[-1]
        raise ConfigError(f"the sweep range {axis} is invalid: {inner}", key=option,
                          hint=e.hint or "choose LO and HI inside the allowed range") from None
    return SweepResult(config, opt, x, y, kind, values.reshape(grid.shape),
                       diverged.reshape(grid.shape))
