"""``optviz compare``: a comparison an article can cite.

Tunes every tuned optimizer under the config's declared protocol, runs every
optimizer from every start under every seed, and writes the comparison
figure, one tuning figure per tuned optimizer, the summary as CSV and
Markdown, the tuning grid as CSV and ``compare.json`` with the resolved
config, the versions and the command that reproduces it all. Nothing in the
data files depends on the time or the machine's speed: a re-run writes them
byte for byte the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optviz.analysis import budget as work
from optviz.app.runner import Result
from optviz.input.config import RunConfig


@dataclass
class CompareResult(Result):
    """What ``optviz compare`` made: the tuned config, trajectories, summary and files.

    A :class:`~optviz.app.runner.Result`: ``result[label]`` is the optimizer's
    summary row (success rate, medians, runs), ``result.tuning[label]`` its
    TuneResult when tuned.
    """

    config: RunConfig
    trajectories: Any
    summary: list[dict]
    tuning: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    plan: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def per_label(self) -> dict[str, dict]:
        return {r["label"]: r for r in self.summary}

    def row(self, label: str) -> dict:
        """The summary row of the optimizer labelled *label*."""
        return self.by_label(label)


def versions() -> dict[str, str]:
    """A run's versions (``runner.versions``) and SymPy's, read without importing it."""
    from optviz.app import runner
    from optviz.core.codegen import sympy_version

    found = runner.versions()
    python = found.pop("python")
    return {**found, "sympy": sympy_version(), "python": python}


def command_for(config: RunConfig) -> str | None:
    """The shell command that re-runs this comparison (from the same folder), every
    word shell-quoted: a config file or output folder named ``x; rm -rf ~`` stays one
    word. None for a config built in Python, which has no file to name."""
    import shlex

    if config.file is None:
        return None
    where = config.file.as_posix()
    if where.startswith("-"):  # not an option to the shell's reader, nor to optviz's
        where = "./" + where
    return shlex.join(["optviz", "compare", where, f"--out={config.output.as_posix()}"])


def summary_markdown(result: CompareResult) -> str:
    cfg = result.config
    title = " ".join(cfg.title.split())  # one heading line
    lines = [f"# {title}", "", f"Surface `{cfg.surface.name}`, {cfg.steps} steps, "
             f"{result.trajectories.shape[1]} runs per optimizer (starts x seeds).", ""]
    head = ["optimizer", "success rate", "median steps to tol", "median final gap",
            "median final loss", "diverged"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def fmt(v, pct=False):
        if v is None:
            return "–"
        return f"{v:.0%}" if pct else f"{v:.4g}"

    def cell(text) -> str:
        """Text as one table cell: a '|' or a line break would end the cell or row."""
        return " ".join(str(text).replace("\\", "\\\\").replace("|", "\\|").split())

    for r in result.summary:
        lines.append(f"| {cell(r['label'])} | {fmt(r['success_rate'], True)} | "
                     f"{fmt(r['median_steps_to_tol'])} | {fmt(r['median_final_gap'])} | "
                     f"{fmt(r['median_final_loss'])} | {fmt(r['diverged_rate'], True)} |")
    if cfg.tune is not None or result.tuning:
        from optviz.analysis.compare import TIE_RULE

        spec = cfg.tune
        lines += ["", "## Tuning protocol", ""]
        if spec is not None:
            how = "worst" if spec.worst else "median"
            lines.append(f"Objective `{spec.objective}` (tol {spec.tol:g}), the {how} over "
                         f"{spec.starts} starts x {spec.seeds} seeds, {spec.budget} grid "
                         f"points per optimizer; {TIE_RULE}.")
        for label, res in result.tuning.items():
            chosen = ", ".join(f"{p} = {v!r}" for p, v in res.chosen.items())
            lines.append(f"- {cell(label)}: {chosen} ({res.points} points)")
            lines += [f"  - **warning**: {cell(w)}" for w in res.at_edge()]
    command = command_for(cfg)
    if command is None:
        lines += ["", "## Reproduce", "", "The config was given in Python, not as a file: "
                  "save it as YAML and run `optviz compare` on that file.", ""]
    else:
        import re

        fence = "`" * max(3, 1 + max(map(len, re.findall("`+", command)), default=0))
        lines += ["", "## Reproduce", "", fence, command, fence, ""]
    lines += [", ".join(f"{k} {v}" for k, v in versions().items()), ""]
    return "\n".join(lines)


def run_compare(config: RunConfig | str | Path, *, out=None, formats=None,
                progress=None, budget: float | None = None,
                scheduler: str | None = None) -> CompareResult:
    """Tune, run every start under every seed, and write the report (see module doc):
    the files :func:`optviz.app.plan.plan` lists for ``compare``, ``compare.json``
    (the record) last. They change all at once, as a run's do. *scheduler*: a dask
    scheduler's address; each tuned optimizer and each seed is then a task on its
    workers (:mod:`optviz.app.cluster`), with the same results."""
    from optviz.analysis.compare import SUMMARY_FIELDS, resolve_tuning, summarize
    from optviz.app.cluster import executor
    from optviz.app.plan import network, plan, resolve_output
    from optviz.app.runner import (_done, _executing, _fraction, _load, _save, simulate_config,
                                   write_step_size_figure)
    from optviz.core.overlays import StepSizeRecorder
    from optviz.outputs import write_csv, write_text
    from optviz.render.compare import comparison_figure, tuning_figure

    config = _load(config)
    config = resolve_output(config.with_overrides(output=out, formats=formats), out)
    the_plan = plan(config, "compare")
    work.check(work.of_compare(config), budget)
    with executor(scheduler) as ex, _executing(the_plan) as stage:
        config, tuning = resolve_tuning(config, progress=_fraction(progress, "tune"),
                                        executor=ex)
        sizes = StepSizeRecorder(len(config.optimizers), config.steps) \
            if config.render.step_panel else None
        traj = simulate_config(config, progress, observe=sizes, executor=ex)
        rows = summarize(config, traj)
        result = CompareResult(config, traj, rows, tuning)
        result.notes += [warning for res in tuning.values() for warning in res.at_edge()]
        size, dpi = config.render.size, config.render.dpi
        if network(config):  # a network: run 0 of every optimizer on the plane
            from optviz.app.runner import plane_figure

            figure = plane_figure(config, traj)
        else:
            figure = comparison_figure(config, traj, rows, size=size, dpi=dpi)
        _save(figure, stage,
              f"{config.stem}-compare", the_plan.formats("comparison-figure"),
              config.render.svg_text)
        for i, (label, res) in enumerate(tuning.items(), 1):
            _save(tuning_figure(res, title=label, dpi=dpi), stage, f"{config.stem}-tune-{i}",
                  the_plan.formats("tuning-figure", str(i)), config.render.svg_text)
        if sizes is not None:
            write_step_size_figure(config, sizes, stage)
        write_csv(stage.path("summary.csv"), SUMMARY_FIELDS,
                  [[r[f] for f in SUMMARY_FIELDS] for r in rows])
        write_text(stage.path("summary.md"), summary_markdown(result))
        if the_plan.made_by("tuning"):
            params = list(dict.fromkeys(p for res in tuning.values() for p in res.grid))
            table = [[label, *[res.grid[p][g] if p in res.grid else None for p in params],
                      res.scores[g], res.diverged[g], int(g == res.choice)]
                     for label, res in tuning.items() for g in range(res.points)]
            write_csv(stage.path("tuning.csv"), ["label", *params, "objective",
                                                 "diverged_fraction", "chosen"], table)
        stage.write_record({**the_plan.header(), "config": config.to_dict(),
                            "versions": versions(), "command": command_for(config),
                            "summary": rows,
                            "tuning": {label: {"chosen": res.chosen, "points": res.points,
                                               "runs": res.runs,
                                               "objective": res.spec.objective,
                                               "worst": res.spec.worst}
                                       for label, res in tuning.items()}})
    return _done(result, the_plan, stage)
