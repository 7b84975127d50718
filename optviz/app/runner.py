"""A run, end to end: config -> plan -> trajectories -> files. The CLI calls only this.

This module doubles as the example of library use::

    import optviz
    cfg = optviz.load_config("configs/default.yaml")
    result = optviz.run(cfg, formats=["png"])
    result.trajectories.final_losses

Every command takes the same road: :func:`optviz.app.plan.plan` lists the
files it writes, :func:`_executing` locks the output folder and stages them,
the command makes each planned file, writes its record last, and the files
are swapped in together. Any failure on the way (an error, Ctrl-C, a full
disk, a renderer that fails) raises and leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from optviz.analysis import budget as work
from optviz.app.cluster import executor
from optviz.app.plan import RECORDS, Plan, plan, resolve_output
from optviz.core.engine import simulate
from optviz.core.trajectories import Trajectories
from optviz.errors import ConfigError, LayoutError, RenderError
from optviz.input.config import ResponseConfig, RunConfig, load_config
from optviz.outputs import (
    output_folder,
    write_bytes,
    write_csv,
    write_csv_parts,
    write_npz,
    write_text,
)

#: Called as progress(stage, done, total); stage is "simulate" or "frames".
Progress = Callable[[str, int, int], None]


class Result:
    """What every optviz command returns: the resolved config, the values per
    label, the files written (the record last), the plan they came from and
    the notes of the swap (stale files left because optviz could not vouch
    for them). ``errors`` is empty: a command whose output fails raises an
    :class:`~optviz.errors.OptvizError` and changes nothing.

    ``result["adam"]`` (or ``result.by_label("adam")``) is one label's values;
    ``result.labels`` lists the labels. In Jupyter a result shows its figure.
    """

    config: Any
    files: list[Path]
    errors: list[str]
    plan: Plan | None
    notes: list[str]

    @property
    def per_label(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def labels(self) -> list[str]:
        return list(self.per_label)

    def by_label(self, label: str) -> Any:
        values = self.per_label
        if label not in values:
            from optviz.errors import did_you_mean

            raise KeyError(f"no label {label!r}; "
                           + (did_you_mean(label, values) or "labels: " + ", ".join(values)))
        return values[label]

    def __getitem__(self, label: str) -> Any:
        return self.by_label(label)

    def __contains__(self, label: object) -> bool:
        return label in self.per_label

    def _repr_html_(self) -> str:
        """Jupyter: the interactive page when one was written (in an iframe), else
        the animation inline (MP4 as an HTML5 video), else the figure."""
        import base64
        import html

        for path in self.files:
            if path.suffix == ".html" and path.exists():
                page = html.escape(path.read_text(encoding="utf-8"), quote=True)
                return ('<iframe style="width:100%;height:760px;border:0" '
                        f'title="{html.escape(self.config.title)}" srcdoc="{page}"></iframe>')
        for suffix, template in ((".mp4", '<video controls autoplay loop muted playsinline '
                                  'style="max-width:100%" src="data:video/mp4;base64,{}">'
                                  '</video>'),
                                 (".png", '<img style="max-width:100%" '
                                  'src="data:image/png;base64,{}">')):
            for path in self.files:
                if path.suffix == suffix and path.exists():
                    data = base64.b64encode(path.read_bytes()).decode("ascii")
                    return template.format(data)
        title = html.escape(str(getattr(self.config, "title", "")))
        return f"<pre>{title}: {len(self.files)} files</pre>"

    def _repr_png_(self) -> bytes | None:
        """Jupyter (and other front ends): the static figure."""
        for path in self.files:
            if path.suffix == ".png" and path.exists():
                return path.read_bytes()
        return None


@dataclass(frozen=True)
class OptimizerOutcome:
    """One optimizer's run (run 0): where it ended and how it got there."""

    label: str
    type: str
    final_point: tuple[float, ...]  # (x, y); a model's D parameters
    final_loss: float  # NaN when even the start has no finite loss
    diverged: bool
    steps: int
    points: np.ndarray  # (steps + 1, D): the finite path
    losses: np.ndarray  # (steps + 1,)
    counters: dict[str, int] = field(default_factory=dict)  # the registry's, e.g. Newton's
    distance_to_nearest_minimum: float | None = None


@dataclass
class RunResult(Result):
    """What a run made: the resolved config, the trajectories and the files.

    ``result["adam"].final_loss`` is one optimizer's outcome (an
    :class:`OptimizerOutcome`); :meth:`summary` has them all as plain rows.
    """

    config: RunConfig
    trajectories: Trajectories
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    comparison: list[dict] = field(default_factory=list)  # over many starts / seeds
    tuning: dict[str, Any] = field(default_factory=dict)  # label -> TuneResult
    plan: Plan | None = None
    notes: list[str] = field(default_factory=list)
    page: Any = None  # ``optviz web``: the WebPage written (size, paths, precision)

    @property
    def per_label(self) -> dict[str, OptimizerOutcome]:
        tr = self.trajectories
        minima = np.array(self.config.surface.minima) if self.config.surface.minima else None
        out = {}
        for k, opt in enumerate(self.config.optimizers):
            final = tr.final_points[k, 0]
            out[tr.labels[k]] = OptimizerOutcome(
                label=tr.labels[k], type=opt.type,
                final_point=tuple(float(v) for v in final),
                final_loss=float(tr.final_losses[k, 0]), diverged=bool(tr.diverged[k, 0]),
                steps=int(tr.steps[k, 0]), points=tr.path(k), losses=tr.loss_path(k),
                counters={name: counts[k, 0].item() for name, counts in tr.counters.items()},
                distance_to_nearest_minimum=float(
                    np.min(np.linalg.norm(minima - final, axis=1)))
                if minima is not None else None)
        return out

    def summary(self) -> list[dict[str, Any]]:
        """One row per optimizer (run 0): label, final point, final loss, diverged, steps."""
        rows = []
        for o in self.per_label.values():
            row = {"label": o.label, "type": o.type, "final_point": list(o.final_point),
                   "final_loss": o.final_loss, "diverged": o.diverged, "steps": o.steps}
            if len(o.final_point) > 2:  # a network: its size, not D numbers
                del row["final_point"]
                row["final_norm"] = float(np.linalg.norm(o.final_point))
            row.update(o.counters)  # e.g. newton_fallbacks
            if o.distance_to_nearest_minimum is not None:
                row["distance_to_nearest_minimum"] = o.distance_to_nearest_minimum
            if not math.isfinite(o.final_loss):
                row["final_loss_reason"] = (
                    "no finite loss: " + ("diverged" if o.diverged else "not finite")
                    + (" at the start" if o.steps == 0 else ""))
            rows.append(row)
        return rows


def build_optimizers(config: RunConfig) -> dict[str, Any]:
    """label -> Optimizer for every optimizer of the config."""
    from optviz.core.optim import make_optimizer

    return {o.label: make_optimizer(o.type, config.conventions, **o.params)
            for o in config.optimizers}


def write_lr_figure(config: RunConfig, out_dir: Path) -> list[Path]:
    """``<stem>-lr.png``: the learning rate of every optimizer at each step."""
    from optviz.core.optim import lr_over_steps
    from optviz.render.schedule import lr_figure
    from optviz.render.static import save_figure

    lrs = [lr_over_steps(o.type, o.params, config.steps, config.conventions)
           for o in config.optimizers]
    fig = lr_figure([o.label for o in config.optimizers], lrs,
                    title=f"{config.title or config.stem}: learning rate", dpi=config.render.dpi)
    return save_figure(fig, out_dir / f"{config.stem}-lr", ["png"])


def simulate_config(config: RunConfig, progress: Progress | None = None,
                    observe=None, executor=None) -> Trajectories:
    """Run the config's optimizers from its start for its steps (many seeds: each
    seed a task of *executor* when given, :mod:`optviz.app.cluster`)."""
    report = (lambda done: progress("simulate", done, config.steps)) if progress else None
    if config.starts is not None or (config.noise is not None and config.noise.seeds > 1):
        from optviz.analysis.compare import simulate_runs

        return simulate_runs(config, build_optimizers(config), progress=report,
                             observe=observe, executor=executor)
    return simulate(config.surface, build_optimizers(config), [config.start], config.steps,
                    noise=config.noise, exact=[o.label for o in config.optimizers if not o.noisy],
                    observe=observe, progress=report)


def _load(config) -> RunConfig | ResponseConfig:
    if isinstance(config, (RunConfig, ResponseConfig)):
        return config
    return load_config(config)


@contextlib.contextmanager
def _executing(the_plan: Plan):
    """Lock the plan's folder and stage its files (:func:`optviz.outputs.output_folder`);
    in :func:`make_elsewhere`, a scratch folder whose files go back to the client.
    A figure that no layout fits is reported at the config's render.size (file, line)."""
    scratch = _SCRATCH.get()
    folder = contextlib.nullcontext(scratch) if scratch is not None else output_folder(
        the_plan.out_dir, products=the_plan.names, record=the_plan.record.name,
        records=list(RECORDS.values()))
    with folder as stage:
        try:
            yield stage
        except LayoutError as e:
            config = the_plan.config
            lines = getattr(config, "lines", {}) or {}
            line = lines.get(("render", "size"), lines.get(("render",)))
            file = str(config.file) if getattr(config, "file", None) else None
            raise ConfigError(str(e), file=file, line=line, key=e.key) from None


# ------------------------------------------------------------------ made elsewhere
class _Scratch:
    """A stage in a temporary folder of a worker: no lock and no swap; the record's
    content is kept (:attr:`written`), not written, for the client to write."""

    def __init__(self, folder: Path):
        self.dir = folder
        self.notes: list[str] = []
        self.written: dict | None = None

    def path(self, name: str) -> Path:
        return self.dir / name

    def write_record(self, content: dict) -> dict:
        self.written = content
        return content


_SCRATCH: contextvars.ContextVar[_Scratch | None] = contextvars.ContextVar(
    "optviz_scratch", default=None)


@dataclass
class Made:
    """A config's files made by :func:`make_elsewhere` (on a cluster's worker): each
    planned file's bytes, the record's content and the seconds it took."""

    files: dict[str, bytes]
    record: dict[str, Any]
    seconds: float


def make_elsewhere(config: RunConfig | ResponseConfig, budget: float | None = None) -> Made:
    """Run *config* as :func:`run` does, into a temporary folder of this process,
    and return the files' bytes instead of writing them into the output folder:
    a task of ``optviz batch --scheduler`` that writes nothing where a worker dies.
    :func:`write_made` writes them, on the client."""
    import tempfile
    import time

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="optviz-task-") as tmp:
        scratch = _Scratch(Path(tmp))
        token = _SCRATCH.set(scratch)
        try:
            result = run(config, budget=budget)
        finally:
            _SCRATCH.reset(token)
        files = {p.name: scratch.path(p.name).read_bytes() for p in result.plan.products[:-1]}
    return Made(files, scratch.written or {}, time.perf_counter() - t0)


def write_made(config: RunConfig | ResponseConfig, made: Made) -> list[Path]:
    """Write what :func:`make_elsewhere` made for *config* into its output folder,
    as :func:`run` would have: locked, staged, swapped in together, the record
    last with this machine's plan header. Returns the files."""
    from optviz.app.cluster import ClusterError

    config = resolve_output(config)
    the_plan = plan(config, "run")
    if set(made.files) != set(the_plan.names[:-1]):
        raise ClusterError(f"the worker made {', '.join(sorted(made.files))}; this machine's "
                           f"plan is {', '.join(the_plan.names[:-1])}: is the same optviz "
                           "installed on the workers?")
    with _executing(the_plan) as stage:
        for name in the_plan.names[:-1]:
            write_bytes(stage.path(name), made.files[name])
        header = the_plan.header()
        stage.write_record({**header, **{k: v for k, v in made.record.items()
                                         if k not in header}})
    return the_plan.files


def _done(result: Result, the_plan: Plan, stage) -> Result:
    result.plan, result.files = the_plan, the_plan.files
    result.notes = [*result.notes, *stage.notes]
    return result


def run(config: RunConfig | str | Path, *, out: str | Path | None = None,
        formats: Sequence[str] | str | None = None, steps: int | None = None,
        progress: Progress | None = None, budget: float | None = None,
        scheduler: str | None = None) -> RunResult:
    """Simulate a config and write every planned output into its folder.

    Writes ``trajectories.csv``, ``<stem>.<format>`` for each format and
    ``run.json`` (the record: the config, versions, summary and each file's
    sha256), as :func:`optviz.app.plan.plan` lists them. The outputs change all
    at once: an error in any of them (ffmpeg missing, a full disk), Ctrl-C or
    SIGTERM raises and leaves the previous run's files as they were.

    *scheduler*: the address of a dask scheduler; the tuning and the seeds of a
    run of many seeds (a model's minibatch seeds) run on its workers
    (:mod:`optviz.app.cluster`), the files are written here, the same bytes.
    """
    config = _load(config)
    config = resolve_output(config.with_overrides(steps=steps, formats=formats, output=out),
                            out)
    if isinstance(config, ResponseConfig):
        return run_response(config, budget=budget)
    the_plan = plan(config, "run")
    work.check(work.of_run(config), budget)
    with executor(scheduler) as ex, _executing(the_plan) as stage:
        from optviz.analysis.compare import resolve_tuning
        from optviz.core.overlays import OverlayRecorder, StepSizeRecorder, observers

        config, tuning = resolve_tuning(config, progress=_fraction(progress, "tune"),
                                        executor=ex)
        k_count = len(config.optimizers)
        recorder = OverlayRecorder(k_count, config.steps) if config.render.overlays else None
        sizes = StepSizeRecorder(k_count, config.steps) if config.render.step_panel else None
        trajectories = simulate_config(config, progress, observe=observers(recorder, sizes),
                                       executor=ex)
        result = RunResult(config=config, trajectories=trajectories, tuning=tuning)
        _make_run(the_plan, stage, result, progress, recorder, sizes)
        stage.write_record({**the_plan.header(), **run_record(result)})
    return _done(result, the_plan, stage)


def write_step_size_figure(config: RunConfig, sizes, stage) -> None:
    """``<stem>-step-size.png`` (``render.step_panel``, in run and compare) from a
    :class:`~optviz.core.overlays.StepSizeRecorder` of the run."""
    from optviz.render.schedule import STEP_SIZE, step_size_figure

    _save(step_size_figure([o.label for o in config.optimizers], sizes.data,
                           title=f"{config.title or config.stem}: effective step size "
                                 f"{STEP_SIZE}", dpi=config.render.dpi),
          stage, f"{config.stem}-step-size", ["png"])


def _make_run(the_plan: Plan, stage, result: RunResult, progress, recorder, sizes) -> None:
    """Make every planned file of a run in the stage; any failure raises."""
    config, trajectories, stem = result.config, result.trajectories, result.config.stem
    if the_plan.made_by("parameters"):  # a network: parameters, losses, the plane
        return _make_network_run(the_plan, stage, result, progress)
    write_text(stage.path("trajectories.csv"), trajectories.to_csv_text())
    if the_plan.made_by("summary"):  # many starts or seeds: fans of runs
        from optviz.analysis.compare import SUMMARY_FIELDS, summarize
        from optviz.render.compare import comparison_figure

        result.comparison = summarize(config, trajectories)
        write_csv(stage.path("summary.csv"), SUMMARY_FIELDS,
                  [[r[f] for f in SUMMARY_FIELDS] for r in result.comparison])
        _save(comparison_figure(config, trajectories, result.comparison,
                                size=config.render.size, dpi=config.render.dpi),
              stage, stem, the_plan.formats("comparison-figure"), config.render.svg_text)
    still = the_plan.formats("figure")
    animated = the_plan.formats("animation")
    # with a 2-D animation, the PNG comes from the animation's drawing
    # (its contours drawn once; byte-identical, tested)
    png_from_animation = "png" in still and bool(animated) and config.render.view != "3d"

    def static_figure(formats: Sequence[str], pixels=None) -> None:
        from optviz.render.spec import render_spec
        from optviz.render.static import render_static, save_pixels

        if pixels is not None:
            save_pixels(pixels, stage.path(f"{stem}.png"), config.render.dpi)
        else:
            render_static(config.surface, trajectories, stage.dir, stem, formats,
                          render_spec(config))

    formats = [f for f in still if not (png_from_animation and f == "png")]
    if formats:
        static_figure(formats)
    if the_plan.made_by("step-size-figure"):
        write_step_size_figure(config, sizes, stage)
    if the_plan.made_by("lr-figure"):
        write_lr_figure(config, stage.dir)
    for product in the_plan.products:
        if product.maker in ("web-page", "page"):
            try:
                write_web(config, trajectories, stage.path(product.name),
                          own_only=product.maker == "page")
            except RenderError as e:
                raise RenderError(f"{product.name}: {e}") from None
    if animated:
        try:
            from optviz.render import render_animation
        except ImportError:
            raise RenderError("animated formats (" + ", ".join(animated) +
                              ") are not available in this version") from None
        report = (lambda done, total: progress("frames", done, total)) if progress else None
        on_still = ((lambda pixels: static_figure(["png"], pixels))
                    if png_from_animation else None)
        _, errors = render_animation(config, trajectories, stage.dir, animated,
                                     progress=report,
                                     overlays=recorder.data if recorder else None,
                                     on_still=on_still)
        if errors:
            raise RenderError("; ".join(errors) + " (drop the format to write the others: "
                              "--formats or render.formats)")


def _make_network_run(the_plan: Plan, stage, result: RunResult, progress) -> None:
    """A network's run: ``parameters.npz`` (every parameter vector, exact),
    ``losses.csv``, the summary of many runs, the plane figure of run 0 and its
    animation (the paths growing over the plane)."""
    config, trajectories, stem = result.config, result.trajectories, result.config.stem
    write_npz(stage.path("parameters.npz"), trajectories.arrays())
    write_text(stage.path("losses.csv"), trajectories.loss_csv_text())
    if the_plan.made_by("summary"):
        from optviz.analysis.compare import SUMMARY_FIELDS, summarize

        result.comparison = summarize(config, trajectories)
        write_csv(stage.path("summary.csv"), SUMMARY_FIELDS,
                  [[r[f] for f in SUMMARY_FIELDS] for r in result.comparison])
    formats, animated = the_plan.formats("plane-figure"), the_plan.formats("plane-animation")
    page = the_plan.made_by("plane-page")
    the_plane = network_plane(config, trajectories) if formats or animated or page else None
    if page:  # the html format: the plane and the projected paths as the interactive page
        from optviz.render.web import write_page

        try:
            write_page(config, trajectories, stage.path(f"{stem}.html"), own_only=True,
                       plane=the_plane)
        except RenderError as e:
            raise RenderError(f"{stem}.html: {e}") from None
    if formats:
        _save(plane_figure(config, trajectories, the_plane), stage, stem, formats,
              config.render.svg_text)
    if animated:
        from optviz.render.fonts import text_style
        from optviz.render.projection import animate_plane

        r = config.render
        report = (lambda done, total: progress("frames", done, total)) if progress else None
        with text_style():
            _, errors = animate_plane(the_plane, trajectories, stage.dir / stem, animated,
                                      model=config.surface, title=config.title, size=r.size,
                                      dpi=r.dpi, decisions=r.decision_boundary, fps=r.fps,
                                      max_frames=r.max_frames, progress=report)
        if errors:
            raise RenderError("; ".join(errors) + " (drop the format to write the others: "
                              "--formats or render.formats)")
    if the_plan.made_by("lr-figure"):
        write_lr_figure(config, stage.dir)


def plane_figure(config: RunConfig, trajectories: Trajectories, the_plane=None):
    """A network's figure: the loss on the config's plane (``render.plane``) with every
    path of run 0 projected onto it, the loss panel and the final models."""
    from optviz.render.projection import make_figure

    if the_plane is None:
        the_plane = network_plane(config, trajectories)
    return make_figure(the_plane, trajectories, model=config.surface, title=config.title,
                       size=config.render.size, dpi=config.render.dpi,
                       decisions=config.render.decision_boundary)


def network_plane(config: RunConfig, trajectories: Trajectories, run: int = 0):
    """The plane of ``render.plane`` through run *run* of every optimizer (errors
    located at the config's render.plane)."""
    from optviz.analysis.projection import plane

    spec = config.render.plane
    centre = np.array(spec.centre) if isinstance(spec.centre, tuple) else spec.centre
    try:
        the_plane = plane(config.surface, trajectories, method=spec.method, centre=centre,
                          run=run, resolution=spec.resolution, seed=spec.seed)
    except ConfigError as e:  # e.g. iterates that span less than a plane
        where = str(config.file) if config.file else None
        key = "render." + e.key if e.key else "render.plane"
        raise ConfigError(e.detail, file=where, line=config.lines.get(("render", "plane")),
                          key=key, hint=e.hint) from None
    return the_plane


def write_web(config: RunConfig, trajectories: Trajectories, target: Path, *,
              own_only: bool = False):
    """Write the interactive page of a simulated config to *target*; returns a WebPage."""
    from optviz.render.web import write_page

    return write_page(config, trajectories, target, own_only=own_only)


def run_web(config: RunConfig | str | Path, *, out: str | Path | None = None,
            progress: Progress | None = None, budget: float | None = None) -> RunResult:
    """``optviz web``: the config's interactive page, ``<stem>-web.html``, and ``web.json``.

    Returns the config's own run as a RunResult; ``result.page`` is what the
    page holds (its path, size, trajectory count and precision).
    """
    config = _load(config)
    if not isinstance(config, RunConfig):
        raise ConfigError("a response config has no trajectories to show on a page",
                          file=str(config.file) if config.file else None)
    config = resolve_output(config.with_overrides(output=out), out)
    the_plan = plan(config, "web")
    work.check(work.of_web(config), budget)
    with _executing(the_plan) as stage:
        from optviz.analysis.compare import resolve_tuning
        from optviz.render.web import check_size

        config, tuning = resolve_tuning(config, progress=_fraction(progress, "tune"))
        check_size(config)  # before the run: a grid too large fails at once
        trajectories = simulate_config(config, progress)
        (product,) = the_plan.made_by("web-page")
        page = write_web(config, trajectories, stage.path(product.name))
        result = RunResult(config=config, trajectories=trajectories, tuning=tuning,
                           page=replace(page, path=the_plan.out_dir / product.name))
        stage.write_record({**the_plan.header(), "config": config.to_dict(),
                            "versions": versions()})
    return _done(result, the_plan, stage)


def versions() -> dict[str, str]:
    """The versions a run's files record: optviz, NumPy, Matplotlib, Python."""
    import matplotlib

    from optviz import __version__

    return {"optviz": __version__, "numpy": np.__version__,
            "matplotlib": matplotlib.__version__, "python": platform.python_version()}


def run_record(result: RunResult) -> dict[str, Any]:
    """run.json's own content: resolved config, versions, per-optimizer summary
    (the record adds its format key, the config's and inputs' hashes and the files).

    Strict JSON: a loss that is not finite is ``null`` with a ``..._reason``
    beside it (:func:`optviz.outputs.json_text`).
    """
    return {
        "config": result.config.to_dict(),
        "versions": versions(),
        "summary": result.summary(),
        **({"comparison": result.comparison} if result.comparison else {}),
        **({"tuning": {label: {"chosen": r.chosen, "points": r.points, "runs": r.runs,
                               "objective": r.spec.objective}
                       for label, r in result.tuning.items()}} if result.tuning else {}),
    }


# ------------------------------------------------------------------ analysis
@dataclass
class AnalysisResult(Result):
    """What an analysis command made: its result value, per-label values, files.

    ``kind`` is "sweep", "basins" or "response". ``value`` is the analysis
    object (:class:`~optviz.analysis.sweep.SweepResult`,
    :class:`~optviz.analysis.basins.BasinsResult`, or signal name -> (H, T)
    steps for a response). ``result[label]``: for a sweep, the swept
    optimizer's label -> its :class:`SweepResult`; for basins, each
    optimizer's :class:`BasinMap`; for a response, each varied value's label
    (``"beta1=0.9"``) -> signal name -> its (T,) steps.
    """

    config: Any
    value: Any
    kind: str = ""
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def per_label(self) -> dict[str, Any]:
        return self.values


@dataclass(frozen=True)
class BasinMap:
    """One optimizer's basin map: (R, R) arrays over the grid ``xs`` x ``ys``."""

    label: str
    xs: np.ndarray
    ys: np.ndarray
    ends_at: np.ndarray  # index of the minimum reached, -1 unconverged, -2 diverged
    final_loss: np.ndarray  # NaN where diverged
    fractions: dict[str, float]


def _fraction(progress: Progress | None, stage: str):
    """Adapt a Progress callback to one that takes a fraction done."""
    if progress is None:
        return None
    return lambda frac: progress(stage, int(round(1000 * frac)), 1000)


def _save(fig, stage, stem: str, formats: Sequence[str], svg_text: str = "text") -> None:
    """Save a figure into the stage as ``<stem>.<format>`` for each planned format
    (*svg_text*: ``render.svg_text``, SVG text as text or as paths)."""
    from optviz.render import save_figure

    save_figure(fig, stage.dir / stem, formats, svg_text=svg_text)


def response_note(config: ResponseConfig) -> str:
    """The optimizer and its fixed settings, as the response figures state them."""
    from optviz.render.labels import settings

    name = config.vary[0]
    fixed = settings(config.optimizer, dict(config.params), config.conventions)
    return (f"{config.optimizer} {fixed}, {name} varied · {config.conventions} conventions · "
            "steps for the gradient signal fed in, t = 1, 2, ...")


def _analysis_record(the_plan: Plan, config) -> dict[str, Any]:
    return {**the_plan.header(), "config": config.to_dict(), "versions": versions()}


def run_response(config: ResponseConfig | str | Path, *, out=None,
                 formats=None, budget: float | None = None) -> AnalysisResult:
    """One figure per signal, ``response.csv`` (signal,label,t,g,step) and ``response.json``."""
    from optviz.analysis.response import choose_signals, respond
    from optviz.render.analysis import response_figure

    config = _load(config)
    config = resolve_output(config.with_overrides(output=out, formats=formats), out)
    the_plan = plan(config, "response")
    with _executing(the_plan) as stage:
        signals = choose_signals(config.signals, config.file.parent if config.file else None)
        work.check(work.of_response(config, [len(s) for s in signals.values()]), budget)
        name, values = config.vary
        labels = [f"{name}={v:g}" for v in values]
        result = AnalysisResult(config, {}, "response", values={label: {} for label in labels})
        rows = []
        for sig_name, signal in signals.items():  # named as the plan names them
            steps = respond(config.optimizer, signal, conventions=config.conventions,
                            vary=(name, values), **dict(config.params))
            result.value[sig_name] = steps
            fig = response_figure(sig_name, signal, steps, labels, title=config.title,
                                  size=config.render.size, dpi=config.render.dpi,
                                  note=response_note(config))
            _save(fig, stage, f"{config.stem}-{sig_name}",
                  the_plan.formats("response-figure", sig_name), config.render.svg_text)
            for h, label in enumerate(labels):
                result.values[label][sig_name] = steps[h]
                rows += [(sig_name, label, t + 1, g, s)
                         for t, (g, s) in enumerate(zip(signal.tolist(), steps[h].tolist()))]
        write_csv(stage.path("response.csv"), ["signal", "label", "t", "g", "step"], rows)
        stage.write_record(_analysis_record(the_plan, config))
    return _done(result, the_plan, stage)


def run_sweep(config: RunConfig | str | Path, x: str, y: str | None = None, *,
              optimizer=None, outcome: str = "final_loss", tol: float = 1e-3,
              out=None, formats=None, progress: Progress | None = None,
              csv: bool | None = None, budget: float | None = None,
              scheduler: str | None = None) -> AnalysisResult:
    """``optviz sweep``: the outcome over one or two hyperparameters, in chunks
    (on the workers of the dask scheduler at *scheduler* when given).

    Writes the figure, ``sweep.npz`` and ``sweep.csv`` (*csv*: None writes it
    up to :data:`optviz.app.plan.CSV_MAX_ROWS` rows, True always, False never)."""
    from optviz.analysis.sweep import find_optimizer, parse_axis, sweep
    from optviz.render.analysis import sweep_figure

    config = _load(config)
    config = resolve_output(config.with_overrides(output=out, formats=formats), out)
    the_plan = plan(config, "sweep", x=x, y=y, optimizer=optimizer, outcome=outcome, tol=tol,
                    csv=csv)
    work.check(work.of_sweep(config, x, y, optimizer), budget)
    x_axis, y_axis = parse_axis(x, "--x"), parse_axis(y, "--y") if y else None
    # by index: tuning (lr: auto) adds the choice to the label
    k = config.optimizers.index(find_optimizer(config, optimizer))
    with executor(scheduler) as ex, _executing(the_plan) as stage:
        from optviz.analysis.compare import resolve_tuning

        config, _ = resolve_tuning(config, progress=_fraction(progress, "tune"),  # lr: auto
                                   executor=ex)
        res = sweep(config, x_axis, y_axis, optimizer=k, kind=outcome, tol=tol,
                    progress=_fraction(progress, "sweep"), executor=ex)
        result = AnalysisResult(config, res, "sweep", values={res.optimizer.label: res})
        _save(sweep_figure(res, size=config.render.size, dpi=config.render.dpi),
              stage, f"{config.stem}-sweep", the_plan.formats("sweep-figure"),
              config.render.svg_text)
        _tables(the_plan, stage, result, "sweep", res)
        stage.write_record(_analysis_record(the_plan, config))
    return _done(result, the_plan, stage)


def _tables(the_plan: Plan, stage, result: AnalysisResult, name: str, res,
            parts: list[str] | None = None) -> None:
    """``<name>.npz`` always; ``<name>.csv`` when the plan lists it (see
    :func:`optviz.app.plan.csv_rows`), from *parts* (its rows' text, made by a
    cluster's tasks) when given, else from ``res.rows()``; else a note saying why not."""
    from optviz.app.plan import CSV_MAX_ROWS

    (grid,) = the_plan.made_by(f"{name}-grid")  # the names are the plan's
    write_npz(stage.path(grid.name), res.arrays())
    for table in the_plan.made_by(f"{name}-data"):
        if parts is not None:  # the table's text, formatted where the chunks ran
            write_csv_parts(stage.path(table.name), res.columns(), parts)
        else:
            write_csv(stage.path(table.name), res.columns(), res.rows())
    if not the_plan.made_by(f"{name}-data") and the_plan.arguments.get("csv") is None:
        rows = the_plan.csv_rows
        result.notes.append(f"{name}.csv not written: {rows:,} rows (over {CSV_MAX_ROWS:,}); "
                            f"the same values are in {grid.name} (--csv writes the CSV too)")


def run_basins(config: RunConfig | str | Path, resolution: int = 100, *, out=None,
               formats=None, progress: Progress | None = None,
               csv: bool | None = None, budget: float | None = None,
               scheduler: str | None = None) -> AnalysisResult:
    """``optviz basins``: per optimizer, where each start of an R x R grid ends
    (the grid's chunks on the workers of the dask scheduler at *scheduler* when given).

    Writes the figure, ``basins.npz`` and ``basins.csv`` (*csv* as in :func:`run_sweep`)."""
    from optviz.analysis.basins import basins
    from optviz.render.analysis import basins_figure

    config = _load(config)
    config = resolve_output(config.with_overrides(output=out, formats=formats), out)
    the_plan = plan(config, "basins", resolution=resolution, csv=csv)
    work.check(work.of_basins(config, resolution), budget)
    with executor(scheduler) as ex, _executing(the_plan) as stage:
        from optviz.analysis.compare import resolve_tuning

        config, _ = resolve_tuning(config, progress=_fraction(progress, "tune"),  # lr: auto
                                   executor=ex)
        res = basins(config, resolution, progress=_fraction(progress, "basins"), executor=ex,
                     table=bool(the_plan.made_by("basins-data")))
        result = AnalysisResult(config, res, "basins", values={
            opt.label: BasinMap(opt.label, res.xs, res.ys, res.labels[k], res.losses[k],
                                res.fractions(k))
            for k, opt in enumerate(config.optimizers)})
        _save(basins_figure(res, size=config.render.size, dpi=config.render.dpi),
              stage, f"{config.stem}-basins", the_plan.formats("basins-figure"),
              config.render.svg_text)
        _tables(the_plan, stage, result, "basins", res, res.table)
        stage.write_record(_analysis_record(the_plan, config))
    return _done(result, the_plan, stage)
