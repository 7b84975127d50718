"""The work and memory of a whole request, estimated before any work starts.

Each command first estimates what it is about to do (:func:`of_run`,
:func:`of_sweep`, :func:`of_basins`, :func:`of_response`, :func:`of_compare`,
:func:`of_web`; :func:`of_config` for ``batch``) and :func:`check` refuses a
request past the budget before anything is computed or written, with a
:class:`~optviz.errors.BudgetError` that names the keys that multiply, the file
and line of the largest, and what to change. Every input may be within its own
limit while their product is not (``starts: {grid: 100}`` with ``steps: 100000``
is 10^9 point-steps); this is where the product is checked.

**Work** is counted in *point-steps*: one step of one run of one optimizer, one
gradient of the surface at one point (about 0.1 µs in a large NumPy batch on a
2-core machine in 2026). What costs more is counted at its measured equivalent:

- every step of a batch costs at least :data:`STEP_OVERHEAD` point-steps (the
  Python loop over steps and optimizers: about 50 µs a step);
- an optimizer that asks the surface for more than the gradient (NAG's look-ahead,
  SAM, Newton's Hessian; the registry's ``needs``) counts twice; on a network of D
  parameters the Hessian counts 2·D (one R-operator pass per parameter);
- a ``torch.optim`` class counts :data:`TORCH_STEP` per run and step (torch loops
  over the runs in Python), and a class whose ``step`` takes a closure (LBFGS)
  :data:`TORCH_STEP` per evaluation, up to its ``max_eval`` per step;
- a model on data (:mod:`optviz.core.models`) counts :data:`MODEL_COST` per
  parameter and sample for each gradient (a 2-16-16-1 network, 337 parameters, on
  512 samples: about 1,700 point-steps, 0.17 ms; a run's step measured 0.19 ms
  with 16 runs a batch, 0.28 ms alone), and :data:`MODEL_OVERHEAD` more per batch
  step (``benchmarks/bench_model_cost.py`` measures both against the estimate);
  its loss plane (``render.plane``) counts half a gradient per grid point;
- each frame of an animation counts :data:`PIXEL_COST` per pixel (drawn and
  encoded: about 12 ns a pixel), a 3-D frame :data:`VIEW3D` times that;
- each line of a response figure counts :data:`LINE_COST` (about 4 ms to draw),
  each run's path in the figure of many runs :data:`FAN_LINE`;
- each row of CSV built in memory (``trajectories.csv``, ``basins.csv``,
  ``response.csv``) counts :data:`CSV_ROW` (about 3 µs).

The budget is :data:`WORK_BUDGET` point-steps (about 30 s here); ``--budget N``
on the command line or ``budget=N`` from Python raises it. **Memory** is the peak
of the largest stage (:func:`memory_model`), refused past :data:`MEMORY_LIMIT`
whatever the budget: a request that needs more must be made smaller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optviz.errors import BudgetError

WORK_BUDGET = 3e8  # point-steps: about 30 s of work on a 2-core machine
MEMORY_LIMIT = 3 * 2 ** 30  # bytes, whatever the work budget
STEP_OVERHEAD = 400  # point-steps a batch step costs at least (the Python loop)
TORCH_STEP = 400  # point-steps of one torch.optim step (or closure evaluation) of one run
PIXEL_COST = 0.15  # point-steps per pixel of an animation frame
VIEW3D = 4  # a 3-D frame costs this many 2-D frames
LINE_COST = 40_000  # point-steps per line of a response figure
FAN_LINE = 6_000  # point-steps per run drawn in the figure of many runs (about 0.6 ms)
CSV_ROW = 30  # point-steps per row of a CSV file built in memory
MODEL_COST = 0.01  # point-steps per parameter and sample of one gradient of a model
MODEL_OVERHEAD = 1000  # point-steps a batch step of a model costs beyond STEP_OVERHEAD
LBFGS_MAX_ITER = 20  # torch.optim.LBFGS's default max_iter (max_eval: max_iter * 5 // 4)

_DEFAULT: list[float | None] = [None]  # the process's budget (the CLI's --budget)


def set_default(budget: float | None) -> None:
    """Set the budget every later check uses unless given one (``--budget N``)."""
    if budget is not None:
        budget = _valid_budget(budget)
    _DEFAULT[0] = budget


def current() -> float:
    """The budget a check uses when given none: the process's (``--budget``), else
    :data:`WORK_BUDGET` (a cluster's worker gets it with each task)."""
    return _DEFAULT[0] if _DEFAULT[0] is not None else WORK_BUDGET


def _valid_budget(budget: Any) -> float:
    try:
        value = float(budget)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BudgetError(f"the budget must be a positive number of point-steps, got "
                          f"{budget!r}", key="--budget", hint="e.g. --budget 2e9")
    return value


# ------------------------------------------------------------------ memory
#: Bytes per unit, measured (tracemalloc) on the code as it is; update them with it.
BYTES = {
    "point": 24,  # one (x, y, loss) of a trajectory in the engine's arrays
    "chunk_point": 40,  # ... of a chunk of run_grid, with its outcome's temporaries
    "csv_row": 500,  # one row of trajectories.csv while it is built (rows, then text)
    "grid_row": 400,  # one row of basins.csv / response.csv while it is built
    "web_point": 120,  # one point of the web page's grid (trajectories, codes, base64)
    "frame_pixel": 16,  # one pixel of a frame (RGBA, the canvas and a few copies)
    "base": 400 * 2 ** 20,  # the process itself: NumPy, Matplotlib, SymPy, torch
}


def memory_model(*, points: float = 0, chunk_points: float = 0, workers: int = 1,
                 csv_rows: float = 0, grid_rows: float = 0, web_points: float = 0,
                 frame_pixels: float = 0) -> float:
    """Peak bytes of one stage, the process's own excluded: *points* of trajectory
    held at once (K x N x (T+1) of a run), *chunk_points* of the chunk each of
    *workers* processes holds (sweeps, basins and tuning run in chunks of rows:
    :func:`chunk_rows`), rows of CSV built in memory, the web page's grid and one
    frame's pixels. The one place to update when a stage's memory changes (e.g.
    a CSV written as it is computed)."""
    b = BYTES
    return (points * b["point"] + chunk_points * b["chunk_point"] * workers
            + csv_rows * b["csv_row"] + grid_rows * b["grid_row"]
            + web_points * b["web_point"] + frame_pixels * b["frame_pixel"])


def chunk_rows(steps: int) -> int:
    """Rows run_grid runs in one batch (:data:`optviz.analysis.sweep.CHUNK_VALUES`)."""
    from optviz.analysis.sweep import CHUNK_VALUES

    return max(64, CHUNK_VALUES // (3 * (steps + 1)))


# ------------------------------------------------------------------ estimates
@dataclass(frozen=True)
class Factor:
    """One key that multiplies the work: its text (``starts: {grid: 100} (10,001
    runs)``), the count it stands for, and where it was given."""

    text: str
    count: float
    key: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Part:
    """One stage of a request (the runs, one optimizer's tuning, the web grid, the
    frames): the factors whose product it is, its work and its peak memory."""

    what: str
    factors: tuple[Factor, ...]
    work: float
    memory: float
    unit: str = "point-steps"

    def product(self) -> str:
        shown = [f.text for f in self.factors]
        return " x ".join(shown)


@dataclass(frozen=True)
class Estimate:
    """The work (point-steps) and peak memory (bytes) of a whole request."""

    command: str
    parts: tuple[Part, ...]
    file: str | None = None

    @property
    def work(self) -> float:
        return sum(p.work for p in self.parts)

    @property
    def memory(self) -> float:
        """The stages run one after another: the peak is the largest one's."""
        return BYTES["base"] + max((p.memory for p in self.parts), default=0.0)

    def check(self, budget: float | None = None, memory: float | None = None) -> "Estimate":
        return check(self, budget, memory)


def check(estimate: Estimate, budget: float | None = None,
          memory: float | None = None) -> Estimate:
    """Refuse (BudgetError) an estimate past the work *budget* (default: the
    process's, else :data:`WORK_BUDGET`) or past *memory* bytes (MEMORY_LIMIT)."""
    budget = _valid_budget(current() if budget is None else budget)
    limit = MEMORY_LIMIT if memory is None else float(memory)
    if estimate.memory > limit:
        part = max(estimate.parts, key=lambda p: p.memory)
        raise _refusal(estimate, part, f"too much memory for one {estimate.command}: "
                       f"{part.what}: {part.product()} needs about "
                       f"{_bytes(estimate.memory)}; the limit is {_bytes(limit)}",
                       "make it smaller: the memory limit holds whatever the budget")
    if estimate.work > budget:
        part = max(estimate.parts, key=lambda p: p.work)
        others = estimate.work - part.work
        total = (f" ({_num(estimate.work)} in all with {_plural(len(estimate.parts) - 1, 'other stage')})"
                 if others >= 0.01 * estimate.work else "")
        raise _refusal(estimate, part, f"too much work for one {estimate.command}: "
                       f"{part.what}: {part.product()} = {_num(part.work)} {part.unit}"
                       f"{total}, about {_bytes(estimate.memory)}; the budget is "
                       f"{_num(budget)} point-steps"
                       + (" (about 30 s)" if budget == WORK_BUDGET else ""),
                       f"or raise the budget: --budget {_round_up(estimate.work)} "
                       f"(budget= from Python)")
    return estimate


def _refusal(estimate: Estimate, part: Part, message: str, tail: str) -> BudgetError:
    given = [f for f in part.factors if f.key]
    largest = max(given, key=lambda f: f.count, default=None)
    keys = list(dict.fromkeys(f.key for f in given))  # in the order they multiply
    lower = "lower " + _or(keys) + "; " if keys else ""
    return BudgetError(message, file=estimate.file if largest is None or largest.line
                       is not None or not largest.key.startswith("--") else None,
                       line=largest.line if largest else None,
                       key=largest.key if largest else None, hint=lower + tail)


def _or(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n != 1 else "")


def _num(v: float) -> str:
    if v < 1e6:
        return f"{v:,.0f}"
    return f"{v:.2g}".replace("e+0", "e").replace("e+", "e")


def _round_up(v: float) -> str:
    exponent = math.floor(math.log10(v))
    mantissa = math.ceil(v / 10 ** exponent * 10) / 10
    if mantissa >= 10:
        mantissa, exponent = 1.0, exponent + 1
    return f"{mantissa:g}e{exponent}"


def _bytes(v: float) -> str:
    if v >= 100 * 2 ** 30:
        return f"{v / 2 ** 30:,.0f} GiB"
    if v >= 2 ** 30:
        return f"{v / 2 ** 30:,.1f} GiB"
    return f"{v / 2 ** 20:,.0f} MiB"


# ------------------------------------------------------------------ where keys are
def _where(config, path: tuple, shown: str | None = None) -> tuple[str, int | None]:
    """(key name, line) of *path* in the config's file; the nearest given ancestor's
    line, or no line for a value the file does not give (a default)."""
    from optviz.input.yamldoc import key_name

    lines: Mapping = getattr(config, "lines", None) or {}
    name = shown or key_name(path)
    probe = tuple(path)
    while probe:
        if probe in lines:
            return name, lines[probe]
        probe = probe[:-1]
    return name, None


def _given(config, path: tuple) -> bool:
    return tuple(path) in (getattr(config, "lines", None) or {})


def _steps_factor(config) -> Factor:
    if _given(config, ("--steps",)):
        return Factor(f"--steps {config.steps}", config.steps + 1, "--steps")
    key, line = _where(config, ("steps",))
    text = f"steps: {config.steps}" + ("" if line is not None else " (the default)")
    return Factor(text, config.steps + 1, key if line is not None else None, line)


def _optimizer_cost(config, i: int, opt) -> tuple[float, Factor | None]:
    """Point-steps one step of one run of optimizer *i* costs, and the factor that
    says why when it is more than one."""
    from optviz.core.optim import registry

    if opt.type == "torch":
        from optviz.core.optim.torch_adapter import evaluations_per_step

        evals, why = evaluations_per_step(opt.params)
        key, line = _where(config, ("optimizers", i, why[0]) if why else ("optimizers", i))
        cls = str(opt.params.get("class", "torch"))
        text = (f"{TORCH_STEP} point-steps per step of a run for {cls}"
                if evals == 1 else
                f"{TORCH_STEP} point-steps x up to {evals:,} closure evaluations per step "
                f"for {cls} ({why[1]})")
        return TORCH_STEP * evals, Factor(text, TORCH_STEP * evals, key if why else None,
                                          line)
    try:
        needs = registry.get_spec(opt.type).needs
    except Exception:  # an unknown type was refused when the config was read
        needs = "gradient"
    cost = 1.0 if needs == "gradient" else 2.0
    model = _model_factor(config)
    dim = getattr(getattr(config, "surface", None), "dim", 2)
    if needs == "hessian" and dim > 2:  # a network's Hessian: about 2·D gradients
        per = model.count if model is not None else 1.0
        key, line = _where(config, ("optimizers", i))
        return 2.0 * dim * per, Factor(
            f"{opt.type}'s Hessian of {dim:,} parameters (about {2 * dim:,} gradients a "
            f"step, each {_num(per)} point-steps)", 2 * dim * per, key, line)
    return (cost * model.count, model) if model is not None else (cost, None)


def model_cost(surface) -> float:
    """Point-steps of one gradient of *surface* at one point: 1 for a surface,
    :data:`MODEL_COST` x parameters x samples for a model on data (at least 1)."""
    samples = getattr(surface, "samples", None)
    if samples is None:
        return 1.0
    return max(1.0, MODEL_COST * getattr(surface, "dim", 2) * samples)


def _model_factor(config) -> Factor | None:
    surface = getattr(config, "surface", None)
    if getattr(surface, "samples", None) is None:
        return None
    cost = model_cost(surface)
    key, line = _where(config, ("surface", "model"))
    return Factor(f"{_num(cost)} point-steps a gradient of the {surface.dim:,}-parameter "
                  f"model on {surface.samples:,} samples (surface)", cost, "surface", line)


def _batches(config, what: str, rows: float, row_factors: list[Factor], optimizers,
             *, chunked: bool, seeds: int = 1, csv: bool = False, workers: int = 1,
             extra_memory: float = 0.0) -> Part:
    """A stage that runs each of *optimizers* ((index, OptimizerConfig) pairs) on
    *rows* runs for the config's steps: one batch per seed, or in chunks of rows."""
    steps = config.steps
    batches = math.ceil(rows / chunk_rows(steps)) if chunked else seeds
    work = 0.0
    costly = None
    overhead = STEP_OVERHEAD + (MODEL_OVERHEAD if _model_factor(config) else 0)
    for i, opt in optimizers:
        cost, why = _optimizer_cost(config, i, opt)
        work += (cost * rows + overhead * batches) * steps
        if why is not None and (costly is None or why.count > costly.count):
            costly = why
    factors = [*row_factors, _steps_factor(config)]
    if len(optimizers) > 1:
        key, line = _where(config, ("optimizers",))
        factors.append(Factor(f"{len(optimizers)} optimizers", len(optimizers), key, line))
    if costly is not None:
        factors.append(costly)
    if chunked:
        memory = memory_model(chunk_points=min(rows, chunk_rows(steps)) * (steps + 1),
                              workers=workers)
    else:
        points = rows * (steps + 1) * len(optimizers)
        # a point is (x, y, loss); a model's is its D parameters and the loss
        wide = (getattr(config.surface, "dim", 2) + 1) / 3
        # several seeds: their batches are joined into one array (twice the points)
        memory = memory_model(points=points * wide * (2 if seeds > 1 else 1),
                              csv_rows=points if csv and wide == 1 else 0)
        if csv:  # trajectories.csv: a row per point
            work += points * CSV_ROW
    return Part(what, tuple(factors), work, memory + extra_memory)


def _seeds(config) -> int:
    noise = config.noise
    return noise.seeds if noise is not None and noise.active else 1


def _run_part(config, *, csv: bool) -> Part:
    """Every optimizer from the config's start and every ``starts:`` point, under
    every noise seed (:func:`optviz.analysis.compare.simulate_runs`)."""
    starts = config.starts.count if config.starts is not None else 0
    seeds = _seeds(config)
    factors: list[Factor] = []
    if starts:
        key, line = _where(config, ("starts",))
        spec = config.starts
        given = f"{{grid: {spec.grid}}}" if spec.grid else f"{{random: {spec.random}}}"
        factors.append(Factor(f"starts: {given} ({starts + 1:,} runs)", starts + 1, key, line))
    if seeds > 1:
        key, line = _where(config, ("noise", "seeds"))
        factors.append(Factor(f"noise.seeds: {seeds}", seeds, key, line))
    return _batches(config, "the runs", (starts + 1) * seeds, factors,
                    list(enumerate(config.optimizers)), chunked=False, seeds=seeds, csv=csv)


def _tune_parts(config) -> list[Part]:
    """Each tuned optimizer's grid x tuning starts x seeds
    (:func:`optviz.analysis.compare.tune_optimizer`), two processes at a time."""
    from optviz.analysis.compare import per_axis
    from optviz.input.config import AUTO_TUNE, TuneSpec

    tuned = [(i, o) for i, o in enumerate(config.optimizers) if o.tune]
    workers = min(len(tuned), 2)
    parts = []
    for i, opt in tuned:
        spec = AUTO_TUNE if opt.auto_lr else (config.tune or TuneSpec())
        points = per_axis(len(opt.tune), spec.budget) ** len(opt.tune)
        seeds = spec.seeds if config.noise is not None and config.noise.active else 1
        if opt.auto_lr:
            key, line = _where(config, ("optimizers", i, "lr"))
            factors = [Factor(f"lr: auto ({points} learning rates)", points, key, line)]
        else:
            factors = [_given_factor(config, ("tune", "budget"),
                                     f"tune.budget: {spec.budget} ({points:,} grid points)",
                                     points)]
            if spec.starts > 1:
                factors.append(_given_factor(config, ("tune", "over", "starts"),
                                             f"tune.over.starts: {spec.starts}", spec.starts))
            if seeds > 1:
                factors.append(_given_factor(config, ("tune", "over", "seeds"),
                                             f"tune.over.seeds: {seeds}", seeds))
        rows = points * spec.starts * seeds
        parts.append(_batches(config, f"tuning {opt.label}", rows, factors, [(i, opt)],
                              chunked=True, workers=workers))
    return parts


def _given_factor(config, path: tuple, text: str, count: float) -> Factor:
    """A factor from a config key, located when the file gives it, else a default."""
    key, line = _where(config, path)
    if line is None or not _given(config, path):
        return Factor(text + " (the default)", count)
    return Factor(text, count, key, line)


def _web_part(config) -> Part:
    """The web page's grid (:func:`optviz.render.web.precompute`): each optimizer at
    every slider value (and its own) from every start (and its own)."""
    from optviz.core.optim import registry

    web = config.web
    starts = web.starts ** 2 + 1
    rows: list[float] = []
    for o in config.optimizers:
        try:
            main = registry.get_spec(o.type).main_param
        except Exception:  # an unknown type was refused when the config was read
            main = None
        rows.append((web.lr_values + 1) * ((web.main_values + 1) if main else 1) * starts)
    mains = max(r // ((web.lr_values + 1) * starts) for r in rows)
    factors = [_given_factor(config, ("web", "lr_values"),
                             f"web.lr_values: {web.lr_values} (+ the own lr)",
                             web.lr_values + 1)]
    if mains > 1:
        factors.append(_given_factor(config, ("web", "main_values"),
                                     f"web.main_values: {web.main_values} (+ the own value)",
                                     mains))
    factors.append(_given_factor(config, ("web", "starts"),
                                 f"web.starts: {web.starts} ({starts:,} starts)", starts))
    work = 0.0
    for (i, o), r in zip(enumerate(config.optimizers), rows):
        cost, _ = _optimizer_cost(config, i, o)
        work += (cost * r + STEP_OVERHEAD) * config.steps
    part = _batches(config, "the web page's grid", max(rows), factors,
                    list(enumerate(config.optimizers)), chunked=False)
    return Part(part.what, part.factors, work,
                memory_model(web_points=sum(rows) * (config.steps + 1)))


def _frames_part(config) -> Part | None:
    """The animation: every frame drawn and encoded once (GIF and MP4 share them)."""
    from optviz.input.config import STATIC_FORMATS

    r = config.render
    animated = [f for f in r.formats if f not in STATIC_FORMATS and f not in ("web", "html")]
    if not animated:
        return None
    frames = min(config.steps + 1, max(2, r.max_frames)) + 2 * r.fps  # and the hold at the end
    w, h = round(r.size[0] * r.dpi), round(r.size[1] * r.dpi)
    view = VIEW3D if r.view == "3d" else 1
    factors = (_given_factor(config, ("render", "max_frames"),
                             f"{frames:,} frames (steps or render.max_frames, and the hold)",
                             frames),
               _given_factor(config, ("render", "size"),
                             f"{w} x {h} pixels (render.size x dpi)", w * h),
               Factor(f"{PIXEL_COST} point-steps a pixel"
                      + (f" x {VIEW3D} for the 3-D view" if view > 1 else ""),
                      PIXEL_COST * view))
    return Part("the animation", factors, frames * w * h * PIXEL_COST * view,
                memory_model(frame_pixels=w * h))


def _fan_part(config, run: Part) -> Part | None:
    """The figure of many runs (:func:`optviz.render.compare.comparison_figure`):
    one line per optimizer and run."""
    runs = (config.starts.count + 1 if config.starts is not None else 1) * _seeds(config)
    if runs == 1:
        return None
    lines = runs * len(config.optimizers)
    factors = tuple(f for f in run.factors if not f.text.startswith(("steps", "--steps")))
    return Part("the figure of every run",
                (*factors, Factor(f"{FAN_LINE:,} point-steps a drawn path", FAN_LINE)),
                lines * FAN_LINE, 0.0)


def _plane_part(config) -> Part | None:
    """A network's loss plane: a forward pass (half a gradient) per grid point."""
    if getattr(config.surface, "dim", 2) <= 2 or not any(
            f in ("png", "svg", "pdf") for f in config.render.formats):
        return None
    r = config.render.plane.resolution
    model = _model_factor(config)
    factors = (_given_factor(config, ("render", "plane", "resolution"),
                             f"render.plane.resolution: {r} ({r * r:,} grid points)", r * r),
               model, Factor("a forward pass: half a gradient", 0.5))
    return Part("the loss plane", factors, r * r * model.count * 0.5, 0.0)


def _file(config) -> str | None:
    return str(config.file) if getattr(config, "file", None) else None


# ------------------------------------------------------------------ per command
def of_run(config, *, page: bool | None = None, csv: bool = True,
           command: str = "run") -> Estimate:
    """``optviz run``: the tuning, the runs (starts x seeds), the web page's grid
    when format ``web`` is asked for, and the animation's frames. *page* True: the
    grid and no frames (``optviz web``); False: neither (``optviz compare``)."""
    from optviz.input.config import STATIC_FORMATS

    parts = _tune_parts(config)
    parts.append(_run_part(config, csv=csv))
    if page is False or set(config.render.formats) & set(STATIC_FORMATS):
        fan = _fan_part(config, parts[-1])
        if fan is not None:
            parts.append(fan)
    if page or (page is None and "web" in config.render.formats):
        parts.append(_web_part(config))
    plane = _plane_part(config) if page is None else None
    if plane is not None:
        parts.append(plane)
    frames = _frames_part(config) if page is None else None
    if frames is not None:
        parts.append(frames)
    return Estimate(command, tuple(parts), _file(config))


def of_web(config) -> Estimate:
    """``optviz web``: the config's own run and the page's grid."""
    return of_run(config, page=True, csv=False, command="web page")


def of_compare(config) -> Estimate:
    """``optviz compare``: every tuning, then every optimizer from every start under
    every seed (no trajectories.csv)."""
    return of_run(config, page=False, csv=False, command="comparison")


def of_sweep(config, x, y=None, optimizer=None) -> Estimate:
    """``optviz sweep``: an x (times y) grid of one optimizer's hyperparameters, in
    chunks. *x* and *y* are Axis values or their ``PARAM=LO:HI[:log][:N]`` text."""
    from optviz.analysis.sweep import find_optimizer, parse_axis

    axes = [(parse_axis(a, option) if isinstance(a, str) else a, option)
            for a, option in ((x, "--x"), (y, "--y")) if a is not None]
    opt = find_optimizer(config, optimizer)
    index = list(config.optimizers).index(opt)
    factors = [Factor(f"{option} {a} ({a.n} values)", a.n, option) for a, option in axes]
    rows = math.prod(a.n for a, _ in axes)
    part = _batches(config, f"the sweep of {opt.label}", rows, factors, [(index, opt)],
                    chunked=True)
    return Estimate("sweep", (part,), _file(config))


def of_basins(config, resolution: int) -> Estimate:
    """``optviz basins``: every optimizer from R x R starts, in chunks."""
    rows = resolution * resolution
    factor = Factor(f"--resolution {resolution} ({rows:,} starts)", rows, "--resolution")
    part = _batches(config, "the basin maps", rows, [factor],
                    list(enumerate(config.optimizers)), chunked=True,
                    extra_memory=memory_model(grid_rows=rows * len(config.optimizers)))
    part = Part(part.what, part.factors, part.work + rows * len(config.optimizers) * CSV_ROW,
                part.memory)  # basins.csv: a row per start and optimizer
    return Estimate("basin map", (part,), _file(config))


def of_response(config, signal_lengths: Sequence[int] | None = None) -> Estimate:
    """``optviz response``: every vary value fed every signal, a line each. Without
    *signal_lengths*, a CSV signal counts as its largest allowed length."""
    from optviz.analysis.response import SIGNAL_LENGTH, SIGNALS
    from optviz.input.table import MAX_ROWS as MAX_SIGNAL_ROWS

    name, values = config.vary
    if signal_lengths is None:
        signal_lengths = [SIGNAL_LENGTH if s in SIGNALS else MAX_SIGNAL_ROWS
                          for s in config.signals]
    count, signals = len(values), len(signal_lengths)
    total = sum(signal_lengths)
    key, line = _where(config, ("response", "vary", name))
    factors = (Factor(f"vary: {{{name}: ...}} ({count:,} values)", count, key, line),
               _given_factor(config, ("response", "signals"), f"{signals} signals", signals),
               Factor(f"{LINE_COST:,} point-steps a drawn line", LINE_COST))
    work = count * signals * LINE_COST + count * total * CSV_ROW  # response.csv: a row a step
    part = Part("the response figures", factors, work,
                memory_model(grid_rows=count * total, points=count * max(signal_lengths)))
    return Estimate("response", (part,), _file(config))


def of_config(config) -> Estimate:
    """What ``optviz batch`` will do with one config: a run, or a response."""
    if hasattr(config, "vary"):
        return of_response(config)
    return of_run(config)
