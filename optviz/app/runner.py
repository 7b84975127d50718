"""A run, end to end: config -> trajectories -> files. The CLI calls only this.

This module doubles as the example of library use::

    import optviz
    cfg = optviz.load_config("configs/default.yaml")
    result = optviz.run(cfg, formats=["png"])
    result.trajectories.final_losses
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from optviz.core.engine import simulate
from optviz.core.trajectories import Trajectories
from optviz.errors import OptvizError
from optviz.input.config import STATIC_FORMATS, ResponseConfig, RunConfig, load_config
from optviz.outputs import (
    expand_path,
    previous_outputs,
    staged,
    write_csv,
    write_json,
    write_text,
)

#: Called as progress(stage, done, total); stage is "simulate" or "frames".
Progress = Callable[[str, int, int], None]


class Result:
    """What every optviz command returns: the resolved config, the values per
    label, the files written and the errors of outputs that failed.

    ``result["adam"]`` (or ``result.by_label("adam")``) is one label's values;
    ``result.labels`` lists the labels. In Jupyter a result shows its figure.
    """

    config: Any
    files: list[Path]
    errors: list[str]

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
    final_point: tuple[float, float]
    final_loss: float  # NaN when even the start has no finite loss
    diverged: bool
    steps: int
    points: np.ndarray  # (steps + 1, 2): the finite path
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

    @property
    def per_label(self) -> dict[str, OptimizerOutcome]:
        tr = self.trajectories
        minima = np.array(self.config.surface.minima) if self.config.surface.minima else None
        out = {}
        for k, opt in enumerate(self.config.optimizers):
            final = tr.final_points[k, 0]
            out[tr.labels[k]] = OptimizerOutcome(
                label=tr.labels[k], type=opt.type,
                final_point=(float(final[0]), float(final[1])),
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
                    observe=None) -> Trajectories:
    """Run the config's optimizers from its start for its steps."""
    report = (lambda done: progress("simulate", done, config.steps)) if progress else None
    if config.starts is not None or (config.noise is not None and config.noise.seeds > 1):
        from optviz.analysis.compare import simulate_runs

        return simulate_runs(config, build_optimizers(config), progress=report,
                             observe=observe)
    return simulate(config.surface, build_optimizers(config), [config.start], config.steps,
                    noise=config.noise, exact=[o.label for o in config.optimizers if not o.noisy],
                    observe=observe, progress=report)


def run(config: RunConfig | str | Path, *, out: str | Path | None = None,
        formats: Sequence[str] | str | None = None, steps: int | None = None,
        progress: Progress | None = None) -> RunResult:
    """Simulate a config and write every requested output into its folder.

    Writes ``trajectories.csv``, ``run.json`` and ``<stem>.<format>`` for each
    format. The outputs change all at once (:func:`optviz.outputs.staged`):
    an error, Ctrl-C or SIGTERM leaves the previous run's files as they were.
    If one renderer fails (say ffmpeg is missing) the other files still
    replace the previous run's, the failure is listed in ``result.errors`` and
    in run.json, and the previous run's file of that format is removed (the
    folder holds one run). If the trajectories cannot be computed nothing is
    written.
    """
    if not isinstance(config, (RunConfig, ResponseConfig)):
        config = load_config(config)
    config = _expand_output(config.with_overrides(steps=steps, formats=formats, output=out),
                            out)
    if isinstance(config, ResponseConfig):
        return run_response(config)
    from optviz.analysis.compare import resolve_tuning

    config, tuning = resolve_tuning(config, progress=_fraction(progress, "tune"))
    from optviz.core.overlays import OverlayRecorder, StepSizeRecorder, observers

    k_count = len(config.optimizers)
    recorder = OverlayRecorder(k_count, config.steps) if config.render.overlays else None
    sizes = StepSizeRecorder(k_count, config.steps) if config.render.step_panel else None
    trajectories = simulate_config(config, progress, observe=observers(recorder, sizes))
    result = RunResult(config=config, trajectories=trajectories)
    result.tuning = tuning
    out_dir = config.output

    with staged(out_dir, replaces=previous_outputs(out_dir)) as stage:
        write_text(stage.path("trajectories.csv"), trajectories.to_csv_text())
        result.files.append(out_dir / "trajectories.csv")

        static = [f for f in config.render.formats if f in STATIC_FORMATS]
        if static and trajectories.shape[1] > 1:  # many starts or seeds: fans of runs
            from optviz.analysis.compare import summarize
            from optviz.render.compare import comparison_figure

            result.comparison = summarize(config, trajectories)
            from optviz.analysis.compare import SUMMARY_FIELDS

            write_csv(stage.path("summary.csv"), SUMMARY_FIELDS,
                      [[r[f] for f in SUMMARY_FIELDS] for r in result.comparison])
            result.files.append(out_dir / "summary.csv")
            try:
                result.files += _save(comparison_figure(
                    config, trajectories, result.comparison, size=config.render.size,
                    dpi=config.render.dpi), stage, config.stem, static, config.render.svg_text)
            except OptvizError as e:
                result.errors.append(stage.public(str(e)))
        animated = [f for f in config.render.formats
                    if f not in STATIC_FORMATS and f not in PAGE_FORMATS]
        # with a 2-D animation, the PNG comes from the animation's drawing
        # (its contours drawn once; byte-identical, tested)
        png_from_animation = ("png" in static and bool(animated)
                              and trajectories.shape[1] == 1 and config.render.view != "3d")

        def static_figure(formats: Sequence[str], pixels=None) -> None:
            from optviz.render.static import render_static, save_pixels

            try:
                if pixels is not None:
                    files = [save_pixels(pixels, stage.dir / f"{config.stem}.png",
                                         config.render.dpi)]
                else:
                    files = render_static(config.surface, trajectories, stage.dir,
                                          config.stem, formats, **static_options(config))
                result.files += [stage.final(p) for p in files]
            except OptvizError as e:
                result.errors.append(stage.public(str(e)))

        if static and trajectories.shape[1] == 1:
            formats = [f for f in static if not (png_from_animation and f == "png")]
            if formats:
                static_figure(formats)
        if sizes is not None:
            from optviz.render.schedule import step_size_figure

            try:
                result.files += _save(step_size_figure(
                    [o.label for o in config.optimizers], sizes.data,
                    title=f"{config.title or config.stem}: effective step size α_t·V_t",
                    dpi=config.render.dpi), stage, f"{config.stem}-step-size", ["png"])
            except OptvizError as e:
                result.errors.append(stage.public(str(e)))
        if config.render.lr_panel:
            try:
                result.files += [stage.final(p) for p in write_lr_figure(config, stage.dir)]
            except OptvizError as e:
                result.errors.append(stage.public(str(e)))
        for fmt in [f for f in config.render.formats if f in PAGE_FORMATS]:
            try:
                page = write_web(config, trajectories, stage.dir, own_only=fmt == "html")
                result.files.append(stage.final(page.path))
            except OptvizError as e:
                result.errors.append(stage.public(f"{fmt}: {e}"))
        if animated:
            try:
                from optviz.render import render_animation
            except ImportError:
                result.errors.append("animated formats (" + ", ".join(animated) +
                                     ") are not available in this version")
                if png_from_animation:
                    static_figure(["png"])
            else:
                report = (lambda done, total: progress("frames", done, total)) if progress \
                    else None
                on_still = ((lambda pixels: static_figure(["png"], pixels))
                            if png_from_animation else None)
                files, errors = render_animation(config, trajectories, stage.dir, animated,
                                                 progress=report,
                                                 overlays=recorder.data if recorder else None,
                                                 on_still=on_still)
                result.files += [stage.final(p) for p in files]
                result.errors += [stage.public(e) for e in errors]

        result.files.append(out_dir / "run.json")
        write_json(stage.path("run.json"), run_record(result))
    return result


PAGE_FORMATS = ("web", "html")


def static_options(config: RunConfig) -> dict:
    """render_static's keywords for a config's still figure."""
    from optviz.render.labels import figure_note, legend_heads

    r = config.render
    return dict(title=config.title, size=r.size, dpi=r.dpi, loss_panel=r.loss_panel,
                view=r.view, camera=r.camera, entries=legend_heads(config),
                note=figure_note(config), view_box=r.view_box, svg_text=r.svg_text)


def web_path(config: RunConfig, out_dir: Path, own_only: bool = False) -> Path:
    """``<stem>-web.html`` (the page with sliders) or ``<stem>.html`` (the run's own values)."""
    return out_dir / (f"{config.stem}.html" if own_only else f"{config.stem}-web.html")


def write_web(config: RunConfig, trajectories: Trajectories, out_dir: Path, *,
              own_only: bool = False):
    """Write the interactive page of a simulated config; returns a WebPage."""
    from optviz.render.web import write_page

    return write_page(config, trajectories, web_path(config, out_dir, own_only),
                      own_only=own_only)


def run_web(config: RunConfig | str | Path, *, out: str | Path | None = None,
            progress: Progress | None = None):
    """``optviz web``: the config's interactive page, ``<stem>-web.html``.

    Returns (RunResult, WebPage): the config's own run and what the page holds
    (its size, trajectory count and precision).
    """
    if not isinstance(config, RunConfig):
        config = load_config(config)
        if not isinstance(config, RunConfig):
            from optviz.errors import ConfigError

            raise ConfigError("a response config has no trajectories to show on a page",
                              file=str(config.file) if config.file else None)
    config = _expand_output(config.with_overrides(output=out), out)
    from optviz.analysis.compare import resolve_tuning

    config, _ = resolve_tuning(config, progress=_fraction(progress, "tune"))
    from optviz.render.web import check_size

    check_size(config)  # before the run: a grid too large fails at once
    trajectories = simulate_config(config, progress)
    with staged(config.output) as stage:
        page = write_web(config, trajectories, stage.dir)
        path = stage.final(page.path)
    page = replace(page, path=path)
    return RunResult(config=config, trajectories=trajectories, files=[path]), page


def versions() -> dict[str, str]:
    """The versions a run's files record: optviz, NumPy, Matplotlib, Python."""
    import matplotlib

    from optviz import __version__

    return {"optviz": __version__, "numpy": np.__version__,
            "matplotlib": matplotlib.__version__, "python": platform.python_version()}


def run_record(result: RunResult) -> dict[str, Any]:
    """The content of run.json: resolved config, versions, per-optimizer summary.

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
        "files": [p.name for p in result.files],
        "errors": result.errors,
    }


def _expand_output(config, out):
    """The config with ``~`` and environment variables in its output folder expanded."""
    given = out is not None
    path = expand_path(config.output, file=None if given else
                       (str(config.file) if config.file else None),
                       key="--out" if given else "output")
    return replace(config, output=path)


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


def _save(fig, stage, stem: str, formats, svg_text: str = "text") -> list[Path]:
    from optviz.render import save_figure

    files = save_figure(fig, stage.dir / stem, [f for f in formats if f in STATIC_FORMATS]
                        or ["png"], svg_text=svg_text)
    return [stage.final(p) for p in files]


def response_note(config: ResponseConfig) -> str:
    """The optimizer and its fixed settings, as the response figures state them."""
    from optviz.render.labels import settings

    name = config.vary[0]
    fixed = settings(config.optimizer, dict(config.params), config.conventions)
    return (f"{config.optimizer} {fixed}, {name} varied · {config.conventions} conventions · "
            "steps for the gradient signal fed in, t = 1, 2, ...")


def run_response(config: ResponseConfig) -> AnalysisResult:
    """One figure per signal and ``response.csv`` (signal,label,t,g,step)."""
    from optviz.analysis.response import choose_signals, respond
    from optviz.render.analysis import response_figure

    config = _expand_output(config, None)
    signals = choose_signals(config.signals, config.file.parent if config.file else None)
    name, values = config.vary
    labels = [f"{name}={v:g}" for v in values]
    result = AnalysisResult(config, {}, "response", values={label: {} for label in labels})
    rows = []
    with staged(config.output) as stage:
        for sig_name, signal in signals.items():
            steps = respond(config.optimizer, signal, conventions=config.conventions,
                            vary=(name, values), **dict(config.params))
            result.value[sig_name] = steps
            fig = response_figure(sig_name, signal, steps, labels, title=config.title,
                                  size=config.render.size, dpi=config.render.dpi,
                                  note=response_note(config))
            result.files += _save(fig, stage, f"{config.stem}-{sig_name}",
                                  config.render.formats, config.render.svg_text)
            for h, label in enumerate(labels):
                result.values[label][sig_name] = steps[h]
                rows += [(sig_name, label, t + 1, g, s)
                         for t, (g, s) in enumerate(zip(signal.tolist(), steps[h].tolist()))]
        write_csv(stage.path("response.csv"), ["signal", "label", "t", "g", "step"], rows)
        result.files.append(config.output / "response.csv")
    return result


def run_sweep(config: RunConfig | str | Path, x: str, y: str | None = None, *,
              optimizer=None, outcome: str = "final_loss", tol: float = 1e-3,
              out=None, formats=None, progress: Progress | None = None) -> AnalysisResult:
    """``optviz sweep``: the outcome over one or two hyperparameters, one batch."""
    from optviz.analysis.sweep import parse_axis, sweep
    from optviz.render.analysis import sweep_figure

    if not isinstance(config, RunConfig):
        config = load_config(config)
    config = _expand_output(config.with_overrides(output=out, formats=formats), out)
    res = sweep(config, parse_axis(x, "--x"), parse_axis(y, "--y") if y else None,
                optimizer=optimizer, kind=outcome, tol=tol,
                progress=_fraction(progress, "sweep"))
    result = AnalysisResult(config, res, "sweep", values={res.optimizer.label: res})
    head = [res.x.param] + ([res.y.param] if res.y else []) + [outcome, "diverged"]
    if res.y is None:
        rows = list(zip(res.x.values.tolist(), res.values.tolist(), res.diverged.tolist()))
    else:
        X, Y = np.meshgrid(res.x.values, res.y.values)  # row-major: y outer, x inner
        rows = list(zip(X.ravel().tolist(), Y.ravel().tolist(), res.values.ravel().tolist(),
                        res.diverged.ravel().tolist()))
    with staged(config.output) as stage:
        result.files += _save(sweep_figure(res, size=config.render.size, dpi=config.render.dpi),
                              stage, f"{config.stem}-sweep", config.render.formats,
                              config.render.svg_text)
        write_csv(stage.path("sweep.csv"), head, rows)
        result.files.append(config.output / "sweep.csv")
    return result


def run_basins(config: RunConfig | str | Path, resolution: int = 100, *, out=None,
               formats=None, progress: Progress | None = None) -> AnalysisResult:
    """``optviz basins``: per optimizer, where each start of an R x R grid ends."""
    from optviz.analysis.basins import basins
    from optviz.render.analysis import basins_figure

    if not isinstance(config, RunConfig):
        config = load_config(config)
    config = _expand_output(config.with_overrides(output=out, formats=formats), out)
    res = basins(config, resolution, progress=_fraction(progress, "basins"))
    result = AnalysisResult(config, res, "basins", values={
        opt.label: BasinMap(opt.label, res.xs, res.ys, res.labels[k], res.losses[k],
                            res.fractions(k))
        for k, opt in enumerate(config.optimizers)})
    X, Y = np.meshgrid(res.xs, res.ys)
    xs, ys = X.ravel().tolist(), Y.ravel().tolist()
    rows = []
    for k, opt in enumerate(config.optimizers):
        rows += zip([opt.label] * len(xs), xs, ys, res.labels[k].ravel().tolist(),
                    res.losses[k].ravel().tolist())
    with staged(config.output) as stage:
        result.files += _save(basins_figure(res, size=config.render.size, dpi=config.render.dpi),
                              stage, f"{config.stem}-basins", config.render.formats,
                              config.render.svg_text)
        write_csv(stage.path("basins.csv"), ["label", "x", "y", "ends_at", "final_loss"], rows)
        result.files.append(config.output / "basins.csv")
    return result
