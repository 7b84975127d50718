"""Fair comparisons: a declared tuning protocol, many starts and seeds, a summary.

Tuning: every tuned optimizer gets the same budget of grid points over its
tuned hyperparameters and the same objective, aggregated (the median, or the
worst) over the same starts and noise seeds. Each optimizer's grid x starts
runs as one batch per seed. The choice is the grid point with the lowest
aggregate objective; ties (within a relative 1e-9) go to the smallest lr,
then to the smallest value of each other tuned hyperparameter in the order
the config gives them -- the most conservative of the equally good settings.

Many runs: ``starts: {grid: 7}`` / ``{random: 50, seed: 1}`` and
``noise: {..., seeds: 20}`` run every optimizer from every start under every
seed. Run 0 is always the config's own start under the first seed: the
representative path drawn boldly over the translucent fan of the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from optviz.analysis.sweep import run_grid
from optviz.core.engine import Noise, simulate
from optviz.core.trajectories import Trajectories
from optviz.input.config import (
    AUTO_TUNE,
    OptimizerConfig,
    RunConfig,
    StartsSpec,
    TuneSpec,
)

TIE_RTOL = 1e-9
TIE_RULE = ("ties (within a relative 1e-9) go to the smallest lr, then the smallest "
            "value of each other tuned hyperparameter")


# ------------------------------------------------------------------ starts
def start_points(spec: StartsSpec, surface) -> np.ndarray:
    """(S, 2) start points: the cell centres of a grid x grid lattice, or seeded
    uniform random points, over the spec's box (default: the surface's domain)."""
    (x0, x1), (y0, y1) = spec.box or surface.domain
    if spec.grid:
        n = spec.grid
        xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
        ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
        X, Y = np.meshgrid(xs, ys)
        return np.column_stack([X.ravel(), Y.ravel()])
    rng = np.random.default_rng(spec.seed)
    u = rng.random((spec.random, 2))
    return np.column_stack([x0 + u[:, 0] * (x1 - x0), y0 + u[:, 1] * (y1 - y0)])


def run_starts(config: RunConfig) -> np.ndarray:
    """The starts of a run: the config's start first, then its ``starts:`` points."""
    own = np.array([config.start], dtype=np.float64)
    if config.starts is None:
        return own
    return np.concatenate([own, start_points(config.starts, config.surface)])


def tuning_starts(spec: TuneSpec, config: RunConfig) -> np.ndarray:
    """The starts the objective is taken over: the run's own start when there is
    one; else a centred k x k grid when ``starts`` is a square k², else seeded
    random points (seed 0) over the domain. A network's starts are initialisations:
    its own (``model.init.seed``) and those of the next ``starts - 1`` seeds."""
    if spec.starts == 1:
        return np.array([config.start], dtype=np.float64)
    if getattr(config.surface, "dim", 2) > 2:  # a network: its init and the next seeds'
        seed = config.surface.init_seed
        return np.concatenate([np.array([config.start], dtype=np.float64),
                               config.surface.init(range(seed + 1, seed + spec.starts))])
    k = math.isqrt(spec.starts)
    sub = StartsSpec(grid=k) if k * k == spec.starts else StartsSpec(random=spec.starts)
    return start_points(sub, config.surface)


def seeds_of(config: RunConfig, wanted: int | None = None) -> list[Noise | None]:
    """One noise model per seed (``[None]`` for an exact run)."""
    noise = config.noise
    if noise is None or not noise.active:
        return [None]
    count = noise.seeds if wanted is None else wanted
    return [noise.with_seed(noise.seed + j) for j in range(count)]


# ------------------------------------------------------------------ tuning
@dataclass
class TuneResult:
    """One optimizer's tuning: the grid, the aggregate objective at each point, the choice."""

    label: str
    spec: TuneSpec
    axes: tuple  # TuneAxis per tuned hyperparameter
    values: tuple[np.ndarray, ...]  # each axis's grid values
    grid: dict[str, np.ndarray]  # param -> (G,) the flattened grid
    scores: np.ndarray  # (G,) aggregate objective (+inf: diverged in the aggregate)
    diverged: np.ndarray  # (G,) fraction of runs that diverged
    runs: int  # starts x seeds the objective is taken over
    choice: int  # index into the flattened grid

    @property
    def chosen(self) -> dict[str, float]:
        return {p: float(v[self.choice]) for p, v in self.grid.items()}

    @property
    def points(self) -> int:
        return len(self.scores)

    def describe(self) -> str:
        """``tuned on 400 pts x 45 runs``: the runs each grid point is judged on (the
        protocol's ``over`` starts x seeds; the footnote says how they are counted
        and aggregated), not the runs compared; ``, worst`` for the worst case."""
        return f"tuned on {self.points} pts x {self.runs} runs" + \
            (", worst" if self.spec.worst else "")

    def at_edge(self) -> list[str]:
        """A warning for each tuned value chosen at an end of its range: the best
        may lie beyond it. (An axis of one value has no edge to speak of.)"""
        out = []
        for axis, values in zip(self.axes, self.values):
            if len(values) < 2:
                continue
            v = float(self.grid[axis.param][self.choice])
            side = "top" if v == float(values[-1]) else "bottom" if v == float(values[0]) \
                else None
            if side:
                out.append(f"{self.label.split(', tuned on')[0]}: tuned {axis.param}={v:.3g} "
                           f"is at the {side} of its range [{axis.lo:g}, {axis.hi:g}]; the "
                           f"best value may lie beyond it: widen the range")
        return out


def per_axis(count_axes: int, budget: int) -> int:
    """Grid values per axis so that the grid has at most *budget* points (at least 2)."""
    n = int(math.floor(budget ** (1.0 / count_axes) + 1e-9))
    return max(2, n)


def axis_values(axis, n: int) -> np.ndarray:
    return np.geomspace(axis.lo, axis.hi, n) if axis.log else np.linspace(axis.lo, axis.hi, n)


def choose(scores: np.ndarray, grid: dict[str, np.ndarray], order: list[str]) -> int:
    """The stated rule: lowest score; ties by the smallest lr, then the others in order."""
    finite = np.isfinite(scores)
    if not finite.any():
        candidates = np.arange(len(scores))
    else:
        best = scores[finite].min()
        candidates = np.flatnonzero(scores <= best + TIE_RTOL * abs(best))
    keys = ["lr"] * ("lr" in grid) + [p for p in order if p != "lr"]
    # np.lexsort sorts by the last key first
    pick = np.lexsort([grid[p][candidates] for p in reversed(keys)]) if keys else [0]
    return int(candidates[pick[0]])


def tune_optimizer(config: RunConfig, opt: OptimizerConfig, spec: TuneSpec,
                   progress=None) -> TuneResult:
    """Run *opt* at every grid point from every tuning start under every seed, batched."""
    n = per_axis(len(opt.tune), spec.budget)
    values = tuple(axis_values(a, n) for a in opt.tune)
    mesh = np.meshgrid(*values, indexing="ij")
    grid = {a.param: m.ravel() for a, m in zip(opt.tune, mesh)}
    count = len(next(iter(grid.values())))
    starts = tuning_starts(spec, config)
    seeds = seeds_of(config, spec.seeds)
    s_count, r_count = len(starts), len(seeds)
    # rows: seed-major, then grid point, then start -- all seeds in one batch
    rows = {p: np.tile(np.repeat(v, s_count), r_count) for p, v in grid.items()}
    tiled = np.tile(starts, (count * r_count, 1))
    models = [s for s in seeds if s is not None]
    which = np.repeat(np.arange(r_count), count * s_count) if models else None
    value, diverged, _ = run_grid(config, opt, rows, starts=tiled, kind=spec.objective,
                                  tol=spec.tol, progress=progress, noise_models=models or None,
                                  noise_rows=which)
    scores = value.reshape(r_count, count, s_count)
    div = diverged.reshape(r_count, count, s_count)
    per_run = np.moveaxis(scores, 0, 1).reshape(count, -1)  # (G, seeds x starts)
    agg = per_run.max(axis=1) if spec.worst else np.median(per_run, axis=1)
    frac = np.moveaxis(div, 0, 1).reshape(count, -1).mean(axis=1)
    pick = choose(agg, grid, [a.param for a in opt.tune])
    return TuneResult(opt.label, spec, opt.tune, values, grid, agg, frac,
                      per_run.shape[1], pick)


def tuned_label(opt: OptimizerConfig, res: TuneResult) -> str:
    """``adam lr=0.0312 beta1=0.9, tuned on 400 pts x 45 runs``; ``lr: auto`` keeps its
    short form ``adam lr=auto (0.581)``; a label the config gave gets the choice appended."""
    chosen = " ".join(f"{p}={v:.3g}" for p, v in res.chosen.items())
    if opt.auto_lr:
        return f"{opt.label} ({res.chosen['lr']:.3g})"
    if opt.custom_label:
        return f"{opt.label} ({chosen}, {res.describe()})"
    base = opt.label.replace(" " + " ".join(f"{a.param}=tuned" for a in opt.tune), "")
    return f"{base} {chosen}, {res.describe()}"


PARALLEL_WORK = 2_000_000  # point-steps of tuning above which optimizers tune in parallel


def _tune_job(args):
    config, opt, spec = args
    return tune_optimizer(config, opt, spec)


def resolve_tuning(config: RunConfig, progress=None,
                   executor=None) -> tuple[RunConfig, dict[str, TuneResult]]:
    """The config with every tuned hyperparameter set to its choice (labels say so),
    and each tuned optimizer's TuneResult by its final label.

    Tuned optimizers are independent: with an *executor* (:mod:`optviz.app.cluster`)
    each is one of its tasks; else, with enough work, they are tuned in a pool
    of processes (one per core). Neither changes any result."""
    import os

    jobs = [(i, o, AUTO_TUNE if o.auto_lr else (config.tune or TuneSpec()))
            for i, o in enumerate(config.optimizers) if o.tune]
    if not jobs:
        return config, {}
    work = sum(spec.budget * spec.starts * spec.seeds * config.steps for _, _, spec in jobs)
    workers = min(len(jobs), os.cpu_count() or 1)
    found: dict[int, TuneResult] = {}
    if executor is not None:
        tasks = [(config, o, spec) for _, o, spec in jobs]
        for done, (j, res) in enumerate(executor.map(tune_optimizer, tasks), 1):
            found[jobs[j][0]] = res
            if progress:
                progress(done / len(jobs))
    elif workers > 1 and work > PARALLEL_WORK and hasattr(os, "fork"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {i: pool.submit(_tune_job, (config, o, spec)) for i, o, spec in jobs}
            for done, (i, fut) in enumerate(futures.items(), 1):
                found[i] = fut.result()
                if progress:
                    progress(done / len(jobs))
    else:
        for done, (i, o, spec) in enumerate(jobs):
            report = (lambda f, d=done: progress((d + f) / len(jobs))) if progress else None
            found[i] = tune_optimizer(config, o, spec, report)
    results: dict[str, TuneResult] = {}
    out = []
    for i, o in enumerate(config.optimizers):
        if i in found:
            res = found[i]
            label = tuned_label(o, res)
            o = replace(o, hyperparams=tuple(dict(o.params, **res.chosen).items()), label=label)
            res.label = label
            results[label] = res
        out.append(o)
    return replace(config, optimizers=tuple(out)), results


# ------------------------------------------------------------------ many runs
def simulate_runs(config: RunConfig, optimizers: dict[str, Any], progress=None,
                  observe=None, executor=None) -> Trajectories:
    """Every optimizer from every start under every seed: N = starts x seeds runs,
    run index ``seed_index * S + start_index`` (run 0: the config's start, first seed).
    *executor*: see :func:`simulate_seeds`."""
    return simulate_seeds(config.surface, optimizers, run_starts(config), config.steps,
                          seeds_of(config), exact=[o.label for o in config.optimizers
                                                   if not o.noisy],
                          progress=progress, observe=observe, executor=executor)


def simulate_seeds(oracle, optimizers: dict[str, Any], starts: np.ndarray, steps: int,
                   seeds, exact=(), progress=None, observe=None,
                   executor=None) -> Trajectories:
    """Every optimizer from every start (S, D) under each noise model of *seeds*
    (:class:`~optviz.core.engine.Noise`, a model's
    :class:`~optviz.core.models.Minibatch`, or None for exact gradients), on a
    surface or a model (*oracle*): run index ``seed_index * S + start_index``.

    With an *executor* (:mod:`optviz.app.cluster`) each seed is one of its tasks
    (the first seed runs here when *observe* watches it) and *progress* counts
    seeds done, in steps; the trajectories are the same."""
    seeds = list(seeds)
    if executor is not None and len(seeds) > 1:
        parts: list = [None] * len(seeds)
        first = 1 if observe is not None else 0
        if first:
            parts[0] = simulate(oracle, optimizers, starts, steps, noise=seeds[0],
                                exact=exact, observe=observe)
        tasks = [(oracle, optimizers, starts, steps, noise, exact) for noise in seeds[first:]]
        for done, (j, part) in enumerate(executor.map(_seed_run, tasks), first + 1):
            parts[first + j] = part
            if progress:
                progress(round(steps * done / len(seeds)))
    else:
        # observe sees the first seed's batch (its row 0 is run 0)
        parts = [simulate(oracle, optimizers, starts, steps, noise=noise, exact=exact,
                          progress=progress, observe=observe if j == 0 else None)
                 for j, noise in enumerate(seeds)]
    if len(parts) == 1:
        return parts[0]
    counters = {k: np.concatenate([p.counters[k] for p in parts], axis=1)
                for k in parts[0].counters}
    return Trajectories(labels=parts[0].labels,
                        points=np.concatenate([p.points for p in parts], axis=1),
                        losses=np.concatenate([p.losses for p in parts], axis=1),
                        steps=np.concatenate([p.steps for p in parts], axis=1),
                        diverged=np.concatenate([p.diverged for p in parts], axis=1),
                        counters=counters)


def _seed_run(oracle, optimizers, starts, steps, noise, exact) -> Trajectories:
    """One seed's runs (a task of :func:`simulate_seeds`)."""
    return simulate(oracle, optimizers, starts, steps, noise=noise, exact=exact)


SUMMARY_FIELDS = ("label", "runs", "success_rate", "median_steps_to_tol", "median_final_gap",
                  "median_final_loss", "diverged_rate")


def summarize(config: RunConfig, traj: Trajectories, tol: float | None = None) -> list[dict]:
    """Per optimizer over all its runs: the success rate (final f - f* <= tol), the
    median steps until f - f* <= tol (None when more than half never get there),
    the median final gap f - f*, the median final loss and the diverged rate.
    Gap-based figures are None when the surface states no minimum value."""
    tol = tol if tol is not None else (config.tune.tol if config.tune else 1e-3)
    fstar = config.surface.minimum_value
    finals = np.where(traj.diverged, np.inf, traj.final_losses)
    rows = []
    for k, label in enumerate(traj.labels):
        row: dict[str, Any] = {"label": label, "runs": int(traj.shape[1])}
        if fstar is not None:
            gap = finals[k] - fstar
            reached = traj.losses[k] - fstar <= tol
            first = np.where(reached.any(axis=1), np.argmax(reached, axis=1), np.inf)
            first[traj.diverged[k] & ~reached.any(axis=1)] = np.inf
            med_steps = float(np.median(first))
            row.update(success_rate=float(np.mean(gap <= tol)),
                       median_steps_to_tol=med_steps if math.isfinite(med_steps) else None,
                       median_final_gap=_finite(np.median(gap)))
        else:
            row.update(success_rate=None, median_steps_to_tol=None, median_final_gap=None)
        row["median_final_loss"] = _finite(np.median(finals[k]))
        row["diverged_rate"] = float(np.mean(traj.diverged[k]))
        rows.append(row)
    return rows


def _finite(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def choose_lr(config: RunConfig, opt: OptimizerConfig) -> float:
    """``lr: auto`` for one optimizer: the AUTO_TUNE protocol's choice of lr."""
    from optviz.input.config import AUTO_LR

    return tune_optimizer(config, replace(opt, tune=(AUTO_LR,)), AUTO_TUNE).chosen["lr"]


def resolve_auto_lr(config: RunConfig) -> RunConfig:
    """The config with every ``lr: auto`` (and any other tuned value) resolved."""
    return resolve_tuning(config)[0]
