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

from .config import STATIC_FORMATS, RunConfig, load_config
from .engine import simulate
from .errors import OptvizError, RenderError
from .outputs import write_text
from .trajectories import Trajectories

#: Called as progress(stage, done, total); stage is "simulate" or "frames".
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """What a run made: the resolved config, the trajectories and the files."""

    config: RunConfig
    trajectories: Trajectories
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

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
    from .optim import make_optimizer

    return {o.label: make_optimizer(o.type, config.conventions, **o.params)
            for o in config.optimizers}


def simulate_config(config: RunConfig, progress: Progress | None = None) -> Trajectories:
    """Run the config's optimizers from its start for its steps."""
    report = (lambda done: progress("simulate", done, config.steps)) if progress else None
    return simulate(config.surface, build_optimizers(config), [config.start], config.steps,
                    progress=report)


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
    if not isinstance(config, RunConfig):
        config = load_config(config)
    config = config.with_overrides(steps=steps, formats=formats, output=out)
    trajectories = simulate_config(config, progress)
    result = RunResult(config=config, trajectories=trajectories)
    out_dir = config.output
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RenderError(f"cannot create the output folder {out_dir}: {e.strerror}") from None

    csv_path = out_dir / "trajectories.csv"
    write_text(csv_path, trajectories.to_csv_text())
    result.files.append(csv_path)

    static = [f for f in config.render.formats if f in STATIC_FORMATS]
    if static:
        from .render import render_static

        try:
            result.files += render_static(config.surface, trajectories, out_dir, config.stem,
                                          static, title=config.title, size=config.render.size,
                                          dpi=config.render.dpi)
        except OptvizError as e:
            result.errors.append(str(e))
    animated = [f for f in config.render.formats if f not in STATIC_FORMATS]
    if animated:
        try:
            from .render import render_animation
        except ImportError:
            result.errors.append("animated formats (" + ", ".join(animated) +
                                 ") are not available in this version")
        else:
            report = (lambda done, total: progress("frames", done, total)) if progress else None
            files, errors = render_animation(config, trajectories, out_dir, animated,
                                             progress=report)
            result.files += files
            result.errors += errors

    json_path = out_dir / "run.json"
    write_text(json_path, json.dumps(run_record(result), indent=2) + "\n")
    result.files.append(json_path)
    return result


def run_record(result: RunResult) -> dict[str, Any]:
    """The content of run.json: resolved config, versions, per-optimizer summary."""
    import matplotlib

    from . import __version__

    return {
        "config": result.config.to_dict(),
        "versions": {"optviz": __version__, "numpy": np.__version__,
                     "matplotlib": matplotlib.__version__,
                     "python": platform.python_version()},
        "summary": result.summary(),
        "files": [p.name for p in result.files],
        "errors": result.errors,
    }
