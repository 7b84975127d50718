"""The simulation engine: K optimizers x N starts, advanced in lockstep.

Every step evaluates the oracle once per optimizer on an (N, D) batch of
parameter vectors (value and gradient together), asks the optimizer for its
step, and records the new points. A drawn surface is the case D = 2; a model
on data (:mod:`optviz.core.models`) has as many parameters as it has. There
is no per-trajectory Python loop: the only Python loops are over steps and
over the K optimizers. Runs that go non-finite or leave the bound stop there;
the others go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from optviz.core.optim.base import find_field
from optviz.core.trajectories import Trajectories


class Oracle(Protocol):
    """What an optimizer may ask of the surface or model (a Surface is one).

    Points are float64 arrays of shape (N, D); values (N,), gradients (N, D),
    Hessians (N, D, D). An oracle may also say its ``dim`` (D) and ``bound()``.
    """

    def value_and_grad(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def grad(self, points: np.ndarray) -> np.ndarray: ...
    def hess(self, points: np.ndarray) -> np.ndarray: ...


NOISE_KINDS = ("gaussian", "student_t")


class Noise(NamedTuple):
    """A gradient-noise model: ``sigma`` times a standard Gaussian or Student-t
    (``df`` degrees of freedom) vector per step, from a generator seeded ``seed``.
    ``seeds`` runs the whole comparison for seeds ``seed, seed + 1, ...``."""

    sigma: float
    seed: int
    kind: str = "gaussian"
    df: float = math.inf
    seeds: int = 1

    def with_seed(self, seed: int) -> "Noise":
        return self._replace(seed=seed, seeds=1)

    @property
    def active(self) -> bool:
        """Whether it changes the gradients at all (sigma > 0)."""
        return self.sigma > 0

    def to_dict(self) -> dict:
        return {**self._asdict(), "df": self.df if math.isfinite(self.df) else None}

    def seed_list(self) -> list[int]:
        return [self.seed + j for j in range(self.seeds)]

    def gradients(self, surface: Oracle, dim: int = 2) -> "NoisyGradients | None":
        """The noisy oracle the engine hands the optimizers (None: sigma is 0)."""
        if not self.sigma > 0:
            return None
        return NoisyGradients(surface, self.sigma, self.seed, self.kind, self.df, dim)

    @staticmethod
    def grouped(surface: Oracle, models: Sequence["Noise"], rows: np.ndarray,
                dim: int = 2) -> "GroupedNoise":
        return GroupedNoise(surface, models, rows, dim)


class NoisyGradients:
    """The surface with reproducible noise added to every gradient.

    One noise vector is drawn per step and added to every gradient taken in
    that step: by every optimizer of the run, at every start or grid point of
    a batch, and at NAG's look-ahead points. So optimizers, starts and
    hyperparameters are compared on the same noise sequence, and a point of a
    sweep or basin map equals the same run done alone with the same seed.
    Losses are exact; only gradients are noisy. ``kind`` is ``gaussian``
    (N(0, sigma²) per coordinate) or ``student_t`` (sigma times a Student-t
    variate with ``df`` degrees of freedom: heavy tails for small df). A step's
    noise vector has *dim* coordinates, drawn in order from one generator (so
    D = 2 draws exactly what it always drew).
    """

    def __init__(self, surface: Oracle, sigma: float, seed: int, kind: str = "gaussian",
                 df: float = math.inf, dim: int = 2):
        self.surface, self.sigma = surface, float(sigma)
        self.kind, self.df, self.dim = kind, float(df), int(dim)
        self.rng = np.random.default_rng(seed)
        self.current = np.zeros(self.dim)

    def next_step(self) -> None:
        if self.kind == "student_t":
            self.current = self.sigma * self.rng.standard_t(self.df, self.dim)
        else:
            self.current = self.sigma * self.rng.standard_normal(self.dim)

    def value_and_grad(self, points):
        value, grad = self.surface.value_and_grad(points)
        return value, grad + self.current

    def grad(self, points):
        return self.value_and_grad(points)[1]

    def hess(self, points):
        return self.surface.hess(points)


class GroupedNoise(NoisyGradients):
    """Several noise models in one batch: row n gets the noise of model ``rows[n]``.

    Each model keeps its own generator and draws as it would alone, so a batch of
    several seeds equals the same runs done one seed at a time.
    """

    def __init__(self, surface: Oracle, models: Sequence[Noise], rows: np.ndarray,
                 dim: int = 2):
        self.surface = surface
        self.parts = [NoisyGradients(surface, m.sigma, m.seed, m.kind, m.df, dim)
                      for m in models]
        self.rows = np.asarray(rows, dtype=np.int64)
        self.current = np.zeros((len(self.rows), dim))
        self._models = np.zeros((len(self.parts), dim))

    def next_step(self) -> None:
        for i, part in enumerate(self.parts):
            part.next_step()
            self._models[i] = part.current
        np.take(self._models, self.rows, axis=0, out=self.current)


def simulate(surface: Oracle, optimizers: Mapping[str, Any], starts, steps: int, *,
             bound: np.ndarray | None = None,
             noise: Any = None,
             noise_rows: np.ndarray | None = None,
             exact: Sequence[str] = (),
             observe: Callable[[int, int, np.ndarray, np.ndarray, Any], None] | None = None,
             progress: Callable[[int], None] | None = None) -> Trajectories:
    """Run every optimizer from every start for *steps* steps.

    Args:
        surface: anything with ``value_and_grad``, ``grad`` and ``hess`` over
            points of shape (N, D): a :class:`~optviz.core.surfaces.Surface`
            (D = 2) or a model on data (:func:`optviz.core.models.build`).
        optimizers: label -> Optimizer (an ``init``/``update`` pair).
        starts: one start (D numbers) or N starts of shape (N, D); D must be
            the oracle's ``dim`` when it states one.
        steps: number of steps T.
        bound: ``[lower corner, upper corner]``, shape (2, D); a run that leaves
            it is marked diverged and stops. Defaults to ``surface.bound()``
            when the surface has one, else no bound (only non-finite values
            stop a run).
        noise: a :class:`Noise` or ``(sigma, seed)``: add reproducible noise to
            every gradient (the same sequence for every optimizer); or any
            noise model with a ``gradients(surface, dim)`` method, such as
            :class:`optviz.core.models.Minibatch`. Its ``seeds`` is not used
            here: one call runs one seed -- or a list of noise models of one
            kind with *noise_rows* (N,) naming the model of each run.
        exact: labels of optimizers that get exact gradients even in a noisy run
            (full-batch gradient descent beside its stochastic version).
        observe: called as ``observe(t, k, grad, step, state)`` after optimizer k's
            update at step t (the gradient it was given, the step it returned and
            its new state), e.g. to draw what an optimizer "sees".
        progress: called with the number of steps done so far, now and then.

    Returns:
        Trajectories with points (K, N, T+1, D) and losses (K, N, T+1).
    """
    labels = tuple(optimizers)
    opts = [optimizers[label] for label in labels]
    dim = getattr(surface, "dim", None)
    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    if starts.ndim != 2 or (dim is not None and starts.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, D)"
        raise ValueError(f"starts must have shape {want}, got {starts.shape}")
    dim = starts.shape[1]
    steps = int(steps)
    if steps < 0:
        raise ValueError("steps must be >= 0")
    if bound is None and hasattr(surface, "bound"):
        bound = surface.bound()
    if bound is not None:
        bound = np.asarray(bound, dtype=np.float64)
        centre, half = (bound[0] + bound[1]) / 2, (bound[1] - bound[0]) / 2
    else:
        centre, half = np.zeros(dim), np.full(dim, np.inf)

    k_count, n_count = len(opts), len(starts)
    # (T+1, K, N, D) so that each step writes one contiguous block.
    points = np.full((steps + 1, k_count, n_count, dim), np.nan)
    losses = np.full((steps + 1, k_count, n_count), np.nan)
    last = np.full((k_count, n_count), steps, dtype=np.int64)
    diverged = np.zeros((k_count, n_count), dtype=bool)
    active = np.ones((k_count, n_count), dtype=bool)

    params = [starts.copy() for _ in opts]
    states = [opt.init(starts.copy()) for opt in opts]
    points[0] = starts
    report_every = max(1, steps // 100)
    noisy = None
    if noise_rows is not None:
        if len(noise_rows) != len(starts):
            raise ValueError("noise_rows needs one model index per start")
        models = [_noise_model(m) for m in noise]
        if len({type(m) for m in models}) != 1:
            raise ValueError("grouped noise models must all be of one kind")
        noisy = type(models[0]).grouped(surface, models, noise_rows, dim)
    elif noise is not None:
        noisy = _noise_model(noise).gradients(surface, dim)
    oracles = [surface if noisy is None or label in exact else noisy for label in labels]
    # An oracle whose rows do not depend on each other (``batch_invariant``, e.g. a
    # network: each run's own matrix products) is asked once a step for all the
    # optimizers it serves, their runs stacked: the same numbers, fewer calls.
    gangs = [[k for k in range(k_count) if oracles[k] is o]
             for o in {id(o): o for o in oracles}.values()
             if getattr(o, "batch_invariant", False)] if k_count > 1 else []
    ganged: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    with np.errstate(all="ignore"):
        for t in range(steps):
            if noisy is not None:
                noisy.next_step()
            for gang in gangs:
                live = [k for k in gang if active[k].any()]
                if len(live) > 1:
                    value, grad = oracles[live[0]].value_and_grad(
                        np.concatenate([params[k] for k in live]))
                    for i, k in enumerate(live):
                        rows = slice(i * n_count, (i + 1) * n_count)
                        ganged[k] = value[rows], grad[rows]
            for k, opt in enumerate(opts):
                oracle = oracles[k]
                if not active[k].any():
                    continue
                value, grad = ganged.pop(k) if k in ganged else oracle.value_and_grad(params[k])
                if active[k].all():
                    losses[t, k] = value
                else:  # a stopped row keeps the loss of its last point (one that left the
                    losses[t, k, active[k]] = value[active[k]]  # bound: there, not before)
                step, new_state = opt.update(grad, states[k], params[k], oracle)
                if observe is not None:
                    observe(t, k, grad, step, new_state)
                new = params[k] + step
                # Each column's extremes catch NaN, inf and leaving the bound
                # (NaN compares False); rows are only examined when one fails.
                if not (_all_inside(new, centre, half) and np.isfinite(value).all()):
                    inside = np.abs(new - centre) <= half
                    bad_loss = ~np.isfinite(value)
                    non_finite = ~np.isfinite(new).all(axis=1)
                    stop = active[k] & (bad_loss | ~inside.all(axis=1))
                else:
                    stop = None
                if stop is not None and stop.any():
                    # A run ends at its last point with a finite loss: a point whose loss
                    # is not finite is dropped, a non-finite step is not taken, and a
                    # finite point outside the bound is kept so the path shows it leaving.
                    at_here = stop & bad_loss
                    at_prev_step = stop & ~bad_loss & non_finite
                    leaving = stop & ~bad_loss & ~non_finite
                    if leaving.any():
                        leave_loss = surface.value_and_grad(new[leaving])[0]
                        ok = np.isfinite(leave_loss)
                        rows = np.flatnonzero(leaving)
                        points[t + 1, k, rows[ok]] = new[rows[ok]]
                        losses[t + 1, k, rows[ok]] = leave_loss[ok]
                        last[k, rows[ok]] = t + 1
                        last[k, rows[~ok]] = t
                    last[k, at_prev_step] = t
                    last[k, at_here] = max(t - 1, 0)
                    if t > 0:
                        points[t, k, at_here] = np.nan
                        losses[t, k, at_here] = np.nan
                    diverged[k, stop] = True
                    new = np.where(stop[:, None], params[k], new)
                    active[k] &= ~stop
                if not active[k].all():
                    new_state = _freeze(new_state, states[k], active[k])
                    new = np.where(active[k][:, None], new, params[k])
                    points[t + 1, k, active[k]] = new[active[k]]
                else:
                    points[t + 1, k] = new
                params[k], states[k] = new, new_state
            if progress is not None and ((t + 1) % report_every == 0 or t + 1 == steps):
                progress(t + 1)
        for k in range(k_count):  # the loss at the final point of runs still going
            if active[k].any():
                losses[steps, k, active[k]] = surface.value_and_grad(params[k][active[k]])[0]

    counters = {}
    for name, field in _counter_fields().items():
        found = [find_field(s, field) for s in states]
        if any(f is not None for f in found):
            counters[name] = np.array(
                [np.broadcast_to(np.reshape(f, -1) if np.ndim(f) == 2 else f, (n_count,))
                 if f is not None else np.zeros(n_count, int)
                 for f in found])
    return Trajectories(labels=labels, points=np.moveaxis(points, 0, 2),
                        losses=np.moveaxis(losses, 0, 2), steps=last, diverged=diverged,
                        counters=counters)


def _all_inside(points: np.ndarray, centre: np.ndarray, half: np.ndarray) -> bool:
    """``(np.abs(points - centre) <= half).all()``, exactly, from each column's
    extremes: fl(p - c) is monotone in p, so each column's passing values form
    an interval and its smallest and largest values decide (a NaN makes them
    NaN, which fails as it does elementwise). Reducing a few columns one at a
    time is about 20x faster than the broadcast comparison on (N, 2) rows."""
    if points.shape[0] == 0:
        return True
    if points.shape[1] <= 16:
        cols = [points[:, d] for d in range(points.shape[1])]
        lo = np.array([c.min() for c in cols])
        hi = np.array([c.max() for c in cols])
    else:
        lo, hi = points.min(axis=0), points.max(axis=0)
    return bool((np.abs(lo - centre) <= half).all() and (np.abs(hi - centre) <= half).all())


def _noise_model(noise: Any) -> Any:
    """A noise model: itself if it makes noisy gradients, else a Noise from a tuple."""
    return noise if hasattr(noise, "gradients") else Noise(*noise)


def _freeze(new: Any, old: Any, active: np.ndarray) -> Any:
    """Keep the old state for stopped rows (arrays whose first axis is the batch)."""
    if isinstance(new, tuple):
        items = [_freeze(a, b, active) for a, b in zip(new, old)]
        return type(new)(*items) if hasattr(new, "_fields") else tuple(items)
    if isinstance(new, np.ndarray) and new.ndim >= 1 and new.shape[0] == active.shape[0]:
        mask = active.reshape((-1,) + (1,) * (new.ndim - 1))
        return np.where(mask, new, old)
    return new


def _counter_fields() -> dict[str, str]:
    """Counter name -> state field, as the registry's entries declare them."""
    from optviz.core.optim import OPTIMIZERS

    return {name: field for spec in OPTIMIZERS.values() for name, field in spec.counters.items()}
