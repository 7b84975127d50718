"""A run, end to end: config -> trajectories -> files. The CLI calls only this.

This module doubles as the example of library use::

    import optviz
    cfg = optviz.load_config("configs/default.yaml")
    result = optviz.run(cfg, formats=["png"])
    result.trajectories.final_losses
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optviz.core.engine import simulate
from optviz.core.trajectories import Trajectories
from optviz.errors import OptvizError, RenderError
from optviz.input.config import STATIC_FORMATS, ResponseConfig, RunConfig, load_config
from optviz.outputs import write_text

#: Called as progress(stage, done, total); stage is "simulate" or "frames".
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """What a run made: the resolved config, the trajectories and the files."""

    config: RunConfig
    trajectories: Trajectories
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """Jupyter: the animation inline (MP4 as an HTML5 video), else the figure."""
        import base64

        for suffix, template in ((".mp4", '<video controls autoplay loop muted playsinline '
                                  'style="max-width:100%" src="data:video/mp4;base64,{}">'
                                  '</video>'),
                                 (".png", '<img style="max-width:100%" '
                                  'src="data:image/png;base64,{}">')):
            for path in self.files:
                if path.suffix == suffix and path.exists():
                    data = base64.b64encode(path.read_bytes()).decode("ascii")
                    return template.format(data)
        return f"<pre>{self.config.title}: {len(self.files)} files</pre>"

    def _repr_png_(self) -> bytes | None:
        """Jupyter (and other front ends): the static figure."""
        for path in self.files:
            if path.suffix == ".png" and path.exists():
                return path.read_bytes()
        return None

    def summary(self) -> list[dict[str, Any]]:
        """One row per optimizer (run 0): label, final point, final loss, diverged, steps."""
        tr = self.trajectories
        rows = []
        for k, opt in enumerate(self.config.optimizers):
            row = {"label": tr.labels[k], "type": opt.type,
                   "final_point": [float(v) for v in tr.final_points[k, 0]],
                   "final_loss": float(tr.final_losses[k, 0]),
                   "diverged": bool(tr.diverged[k, 0]),
                   "steps": int(tr.steps[k, 0])}
            if "newton_fallbacks" in tr.counters:
                row["newton_fallbacks"] = int(tr.counters["newton_fallbacks"][k, 0])
            if self.config.surface.minima:
                minima = np.array(self.config.surface.minima)
                row["distance_to_nearest_minimum"] = float(
                    np.min(np.linalg.norm(minima - tr.final_points[k, 0], axis=1)))
            rows.append(row)
        return rows


def build_optimizers(config: RunConfig) -> dict[str, Any]:
    """label -> Optimizer for every optimizer of the config."""
    from optviz.core.optim import make_optimizer

    return {o.label: make_optimizer(o.type, config.conventions, **o.params)
            for o in config.optimizers}


def simulate_config(config: RunConfig, progress: Progress | None = None,
                    observe=None) -> Trajectories:
    """Run the config's optimizers from its start for its steps."""
    report = (lambda done: progress("simulate", done, config.steps)) if progress else None
    return simulate(config.surface, build_optimizers(config), [config.start], config.steps,
                    noise=config.noise, exact=[o.label for o in config.optimizers if not o.noisy],
                    observe=observe, progress=report)


def run(config: RunConfig | str | Path, *, out: str | Path | None = None,
        formats: Sequence[str] | str | None = None, steps: int | None = None,
        progress: Progress | None = None) -> RunResult:
    """Simulate a config and write every requested output into its folder.

    Writes ``trajectories.csv``, ``run.json`` and ``<stem>.<format>`` for each
    format. Every file is written atomically. If one renderer fails (say
    ffmpeg is missing) the other files are still written and the failure is
    listed in ``result.errors``; if the trajectories cannot be computed
    nothing is written.
    """
    if not isinstance(config, (RunConfig, ResponseConfig)):
        config = load_config(config)
    config = config.with_overrides(steps=steps, formats=formats, output=out)
    if isinstance(config, ResponseConfig):
        return run_response(config)
    from optviz.analysis.sweep import resolve_auto_lr

    config = resolve_auto_lr(config)
    recorder = None
    if config.render.overlays:
        from optviz.core.overlays import OverlayRecorder

        recorder = OverlayRecorder(len(config.optimizers), config.steps)
    trajectories = simulate_config(config, progress, observe=recorder)
    result = RunResult(config=config, trajectories=trajectories)
    out_dir = _out_dir(config.output)

    csv_path = out_dir / "trajectories.csv"
    write_text(csv_path, trajectories.to_csv_text())
    result.files.append(csv_path)

    static = [f for f in config.render.formats if f in STATIC_FORMATS]
    if static:
        from optviz.render import render_static

        try:
            result.files += render_static(config.surface, trajectories, out_dir, config.stem,
                                          static, title=config.title, size=config.render.size,
                                          dpi=config.render.dpi,
                                          loss_panel=config.render.loss_panel,
                                          view=config.render.view,
                                          camera=config.render.camera)
        except OptvizError as e:
            result.errors.append(str(e))
    animated = [f for f in config.render.formats if f not in STATIC_FORMATS]
    if animated:
        try:
            from optviz.render import render_animation
        except ImportError:
            result.errors.append("animated formats (" + ", ".join(animated) +
                                 ") are not available in this version")
        else:
            report = (lambda done, total: progress("frames", done, total)) if progress else None
            files, errors = render_animation(config, trajectories, out_dir, animated,
                                             progress=report,
                                             overlays=recorder.data if recorder else None)
            result.files += files
            result.errors += errors

    json_path = out_dir / "run.json"
    write_text(json_path, json.dumps(run_record(result), indent=2) + "\n")
    result.files.append(json_path)
    return result


def run_record(result: RunResult) -> dict[str, Any]:
    """The content of run.json: resolved config, versions, per-optimizer summary."""
    import matplotlib

    from optviz import __version__

    return {
        "config": result.config.to_dict(),
        "versions": {"optviz": __version__, "numpy": np.__version__,
                     "matplotlib": matplotlib.__version__,
                     "python": platform.python_version()},
        "summary": result.summary(),
        "files": [p.name for p in result.files],
        "errors": result.errors,
    }


# ------------------------------------------------------------------ analysis
@dataclass
class AnalysisResult:
    """What an analysis command made: its result value and the files written."""

    config: Any
    value: Any
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _fraction(progress: Progress | None, stage: str):
    """Adapt a Progress callback to one that takes a fraction done."""
    if progress is None:
        return None
    return lambda frac: progress(stage, int(round(1000 * frac)), 1000)


def _out_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RenderError(f"cannot create the output folder {path}: {e.strerror}") from None
    return path


def _save(fig, out_dir: Path, stem: str, formats) -> list[Path]:
    from optviz.render import save_figure

    return save_figure(fig, out_dir / stem, [f for f in formats if f in STATIC_FORMATS]
                       or ["png"])


def run_response(config: ResponseConfig) -> AnalysisResult:
    """One figure per signal and ``response.csv`` (signal,label,t,g,step)."""
    from optviz.analysis.response import choose_signals, respond
    from optviz.render.analysis import response_figure

    signals = choose_signals(config.signals, config.file.parent if config.file else None)
    name, values = config.vary
    labels = [f"{name}={v:g}" for v in values]
    out_dir = _out_dir(config.output)
    result = AnalysisResult(config, {})
    rows = ["signal,label,t,g,step"]
    for sig_name, signal in signals.items():
        steps = respond(config.optimizer, signal, conventions=config.conventions,
                        vary=(name, values), **dict(config.params))
        result.value[sig_name] = steps
        fig = response_figure(sig_name, signal, steps, labels, title=config.title,
                              size=config.render.size, dpi=config.render.dpi)
        result.files += _save(fig, out_dir, f"{config.stem}-{sig_name}", config.render.formats)
        for h, label in enumerate(labels):
            rows += [f"{sig_name},{label},{t + 1},{float(signal[t])!r},{float(steps[h, t])!r}"
                     for t in range(len(signal))]
    csv_path = out_dir / "response.csv"
    write_text(csv_path, "\n".join(rows) + "\n")
    result.files.append(csv_path)
    return result


def run_sweep(config: RunConfig | str | Path, x: str, y: str | None = None, *,
              optimizer=None, outcome: str = "final_loss", tol: float = 1e-3,
              out=None, formats=None, progress: Progress | None = None) -> AnalysisResult:
    """``optviz sweep``: the outcome over one or two hyperparameters, one batch."""
    from optviz.analysis.sweep import parse_axis, sweep
    from optviz.render.analysis import sweep_figure

    if not isinstance(config, RunConfig):
        config = load_config(config)
    config = config.with_overrides(output=out, formats=formats)
    res = sweep(config, parse_axis(x, "--x"), parse_axis(y, "--y") if y else None,
                optimizer=optimizer, kind=outcome, tol=tol,
                progress=_fraction(progress, "sweep"))
    out_dir = _out_dir(config.output)
    result = AnalysisResult(config, res)
    result.files += _save(sweep_figure(res, size=config.render.size, dpi=config.render.dpi),
                          out_dir, f"{config.stem}-sweep", config.render.formats)
    head = [res.x.param] + ([res.y.param] if res.y else []) + [outcome, "diverged"]
    rows = [",".join(head)]
    if res.y is None:
        rows += [f"{xv!r},{v!r},{int(d)}" for xv, v, d in
                 zip(res.x.values, res.values, res.diverged)]
    else:
        for iy, yv in enumerate(res.y.values):
            rows += [f"{xv!r},{yv!r},{res.values[iy, ix]!r},{int(res.diverged[iy, ix])}"
                     for ix, xv in enumerate(res.x.values)]
    csv_path = out_dir / "sweep.csv"
    write_text(csv_path, "\n".join(rows) + "\n")
    result.files.append(csv_path)
    return result


def run_basins(config: RunConfig | str | Path, resolution: int = 100, *, out=None,
               formats=None, progress: Progress | None = None) -> AnalysisResult:
    """``optviz basins``: per optimizer, where each start of an R x R grid ends."""
    from optviz.analysis.basins import basins
    from optviz.render.analysis import basins_figure

    if not isinstance(config, RunConfig):
        config = load_config(config)
    config = config.with_overrides(output=out, formats=formats)
    res = basins(config, resolution, progress=_fraction(progress, "basins"))
    out_dir = _out_dir(config.output)
    result = AnalysisResult(config, res)
    result.files += _save(basins_figure(res, size=config.render.size, dpi=config.render.dpi),
                          out_dir, f"{config.stem}-basins", config.render.formats)
    rows = ["label,x,y,ends_at,final_loss"]
    for k, opt in enumerate(config.optimizers):
        for iy, yv in enumerate(res.ys):
            rows += [f"{opt.label},{xv!r},{yv!r},{res.labels[k, iy, ix]},"
                     f"{res.losses[k, iy, ix]!r}" for ix, xv in enumerate(res.xs)]
    csv_path = out_dir / "basins.csv"
    write_text(csv_path, "\n".join(rows) + "\n")
    result.files.append(csv_path)
    return result
