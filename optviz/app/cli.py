"""The command line: a thin click layer over optviz's Python API.

Only this module knows click. User mistakes arrive as OptvizError and leave as
one "Error: ..." paragraph on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys

import click

from optviz import __version__
from optviz.app.cluster import SCHEDULER_ENV
from optviz.errors import OptvizError
from optviz.input.text import columns, pad, terminal_text


def echo(text: str = "", err: bool = False, clear_line: bool = False) -> None:
    """Print a line: the one way out to the terminal. Text from a config (titles,
    labels, file names, values quoted in errors) arrives here and leaves without
    control characters or escape sequences (:func:`optviz.input.text.terminal_text`);
    *clear_line* first clears the progress bar's line."""
    click.echo(("\r\033[K" if clear_line else "") + terminal_text(text), err=err)


def cell(text) -> str:
    """Text as one cell of a table: printable, on one line."""
    return " ".join(terminal_text(text).split())


class UserError(click.ClickException):
    """An OptvizError on its way out: printed without a traceback, exit status 2,
    its message made safe for the terminal as :func:`echo` makes every line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(terminal_text(message))


@contextlib.contextmanager
def user_errors():
    try:
        yield
    except OptvizError as e:
        raise UserError(str(e)) from None


class ProgressBars:
    """click progress bars on a terminal (stderr); silent when piped or --quiet."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage == "simulate" and total < 2000:  # instant: a bar would only flicker
            return
        bar = self.bars.get(stage)
        if bar is None:
            label = {"simulate": "simulating", "frames": "rendering frames",
                     "sweep": "sweeping", "basins": "mapping basins",
                     "tune": "tuning"}.get(stage, stage)
            bar = click.progressbar(length=total, label=f"  {label:17}", file=sys.stderr,
                                    show_eta=True)
            bar.__enter__()
            self.bars[stage] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    def close(self) -> None:
        for bar in self.bars.values():
            if not bar.finished:
                bar.__exit__(None, None, None)


def _allow_import(ctx, param, value):
    if value:
        from optviz.core.optim.torch_adapter import allow_import

        for module in value:  # importlib reads '.x' or '../x' as a relative import
            if not all(part.isidentifier() for part in module.strip().split(".")):
                raise click.BadParameter(
                    f"{terminal_text(repr(module))} is not a module name; give a dotted "
                    "Python module name such as mypackage.optim (no paths, no leading dot)")
        allow_import(*value)
    return value


ALLOW_IMPORT = click.option(
    "--allow-import", "allow_imports", multiple=True, metavar="MODULE", expose_value=False,
    callback=_allow_import, help="Let configs name optimizer classes ({type: torch, class: "
    "MODULE.Class}) from MODULE; torch.optim and plugin packages need no permission.")


def _budget(ctx, param, value):
    if value is not None:
        from optviz.analysis import budget

        if not value > 0:
            raise click.BadParameter("must be a positive number of point-steps, e.g. 2e9")
        budget.set_default(value)
    return value


BUDGET = click.option(
    "--budget", type=float, metavar="N", expose_value=False, callback=_budget,
    help="Allow a request of up to N point-steps of work (default 3e8, about 30 s); "
    "the memory limit (3 GiB) holds whatever N.")


SCHEDULER = click.option(
    "--scheduler", metavar="ADDRESS", envvar=SCHEDULER_ENV, show_envvar=True,
    help="Run the work on the dask.distributed cluster of the scheduler at ADDRESS "
    "(e.g. tcp://10.0.0.5:8786; needs pip install \"optviz[dask]\"). The workers "
    "compute, this process writes every file: the same bytes as a run here.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="optviz")
@ALLOW_IMPORT
@BUDGET
def cli():
    """See how gradient-descent optimizers move across 2-D test surfaces.

    A YAML config names a surface, a start point and optimizers; optviz runs
    them all from that start with exact gradients and writes contour figures,
    animations and the trajectory data.

    \b
    Quick start:
      optviz run                      render configs/default.yaml
      optviz list surfaces            the shipped surfaces
      optviz describe adam            an optimizer's update rule and defaults
      optviz init article/wobbly      copy a shipped config to edit (./wobbly.yaml)
    """


@cli.command()
@click.argument("config", required=False, default="default")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Output folder "
              "(default: the config's 'output', else output/<config name>).")
@click.option("--formats", help="Comma-separated formats to write, e.g. png,gif,mp4 "
              "(any of png, svg, pdf, gif, mp4, html, web).")
@click.option("--steps", type=int, help="Override the number of steps.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@SCHEDULER
@ALLOW_IMPORT
@BUDGET
def run(config, out, formats, steps, quiet, scheduler=None):
    """Simulate CONFIG and render its figures and data.

    CONFIG is a path to a YAML run config or the name of a shipped one
    (e.g. 'default', 'article/wobbly'); without it, configs/default.yaml.
    """
    from optviz.app.runner import run as run_config
    from optviz.input.config import which_config

    bars = ProgressBars(not quiet)
    with user_errors():
        which = which_config(config)
        if which:
            echo(f"note: {which}", err=True)
        try:
            result = run_config(config, out=out, formats=formats, steps=steps,
                                progress=bars, scheduler=scheduler)
        finally:
            bars.close()
    if not quiet:
        for opt in getattr(result.config, "optimizers", ()):
            if opt.auto_lr:
                from optviz.input.config import auto_lr_text

                echo(f"lr: auto chose lr={opt.params['lr']:.4g} for {opt.type} "
                     f"({auto_lr_text()})")
        if hasattr(result, "summary"):
            echo(summary_table(result))
        if getattr(result, "comparison", None):
            echo(f"over {result.trajectories.shape[1]} runs (starts x seeds):")
            echo(comparison_table(result.comparison))
        echo(f"wrote {len(result.files)} files to {result.config.output}/")
    _notes(result)
    for message in result.errors:
        echo(f"Error: {message}", err=True)
    if result.errors:
        sys.exit(1)


def table(head, body, rule: bool = False) -> str:
    """Rows of cells in columns aligned on a terminal: widths are counted in
    terminal columns, so a Chinese or Japanese label (two columns a character)
    keeps the columns after it in line; *rule* draws a line under the head."""
    widths = [max(columns(c) for c in col) for col in zip(head, *body)]
    lines = ["  ".join(pad(c, w) for c, w in zip(row, widths)).rstrip()
             for row in (head, *body)]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def comparison_table(rows) -> str:
    """Per optimizer over many runs: success rate, median steps to tol, median gap."""
    head = ("optimizer", "success", "median steps to tol", "median final gap", "diverged")

    def fmt(v, pct=False):
        return "-" if v is None else (f"{v:.0%}" if pct else f"{v:.4g}")

    body = [(cell(r["label"]), fmt(r["success_rate"], True), fmt(r["median_steps_to_tol"]),
             fmt(r["median_final_gap"]), fmt(r["diverged_rate"], True)) for r in rows]
    return table(head, body)


def summary_table(result) -> str:
    rows = result.summary()
    head = ("optimizer", "final point", "final loss", "steps", "diverged")
    network = bool(rows) and "final_norm" in rows[0]
    if network:  # D > 2: the parameters' norm, not a point
        head = ("optimizer", "final ‖θ‖", *head[2:])
    # a run stopped far out with its loss still falling escaped (f unbounded below)
    ends = [result.trajectories.ending(k) for k in range(len(rows))]
    body = [(cell(r["label"]), f"{r['final_norm']:.4g}" if network else
             f"({r['final_point'][0]:.4g}, {r['final_point'][1]:.4g})",
             f"{r['final_loss']:.6g}", str(r["steps"]),
             "no: stopped far out, loss falling" if end == "escaped"
             else "yes" if r["diverged"] else "no")
            for r, end in zip(rows, ends)]
    return f"{cell(result.config.title)}\n" + table(head, body, rule=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="Processes to use "
              "(default: the number of cores).")
@click.option("--force", "-f", is_flag=True, help="Render even configs whose outputs are "
              "up to date (made from the same config, surface and signal files).")
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and the summary.")
@SCHEDULER
@BUDGET
def batch(paths, jobs, force, quiet, scheduler):
    """Render every config in PATHS (YAML files, or folders searched recursively).

    \b
    Example: optviz batch configs/article --jobs 2
    One failing config does not stop the others; the exit status is 1 if any failed.
    """
    import os
    import time

    from optviz.app.batch import batch as run_batch
    from optviz.app.batch import collect_configs

    t0 = time.perf_counter()
    with user_errors():
        total = len(collect_configs(paths))
    show_bar = not quiet and sys.stderr.isatty()
    bar = click.progressbar(length=total, label="  rendering", file=sys.stderr) \
        if show_bar else None
    cwd = os.getcwd()

    def on_done(r):
        name = os.path.relpath(r.config, cwd)
        if r.status == "failed" or not quiet:
            mark = {"rendered": "done", "skipped": "up to date", "failed": "FAILED"}[r.status]
            line = f"{mark:10} {name}" + (f"  ({r.seconds:.1f} s)" if r.seconds else "")
            echo(line, err=r.status == "failed", clear_line=bar is not None)
        if bar:
            bar.update(1)

    with user_errors():
        if bar:
            bar.__enter__()
        try:
            results = run_batch(paths, jobs=jobs, force=force, on_done=on_done,
                                scheduler=scheduler)
        except KeyboardInterrupt:
            if bar:
                bar.__exit__(None, None, None)
                bar = None
            echo("\ninterrupted: the queued configs were cancelled; a config that "
                       "was rendering keeps its previous outputs", err=True)
            sys.exit(130)
        finally:
            if bar:
                bar.__exit__(None, None, None)
    counts = {s: sum(r.status == s for r in results) for s in ("rendered", "skipped", "failed")}
    echo(f"{counts['rendered']} rendered, {counts['skipped']} up to date, "
               f"{counts['failed']} failed in {time.perf_counter() - t0:.1f} s")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        echo("\nFailures:", err=True)
        for r in failed:
            for message in r.errors:
                echo(f"  {os.path.relpath(r.config, cwd)}: {message}", err=True)
        sys.exit(1)


def _notes(result) -> None:
    """What the user should know even with --quiet (a CSV left out, stale files left
    in the folder), on stderr."""
    for note in result.notes:
        echo(f"note: {note}", err=True)


def _report(result, quiet: bool) -> None:
    if not quiet:
        echo(f"wrote {len(result.files)} files to {result.config.output}/")


@cli.command()
@click.argument("config")
@click.option("--x", "x", required=True, metavar="PARAM=LO:HI[:log][:N]",
              help="The hyperparameter on the x axis, e.g. lr=1e-4:1:log:60.")
@click.option("--y", "y", metavar="PARAM=LO:HI[:log][:N]",
              help="A second hyperparameter: a heat map instead of a curve.")
@click.option("--optimizer", help="The config's optimizer to sweep: its label, its type "
              "where one optimizer has it (adam), or its index from 0 (default: the first).")
@click.option("--outcome", type=click.Choice(["final_loss", "distance", "steps_to_tol"]),
              default="final_loss", show_default=True,
              help="What to plot: the final loss, the distance to the nearest known "
                   "minimum, or the steps until the loss is within --tol of the minimum.")
@click.option("--tol", type=float, default=1e-3, show_default=True,
              help="Tolerance for steps_to_tol.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--formats", help="Figure formats, e.g. png,svg.")
@click.option("--csv/--no-csv", "csv", default=None,
              help="--csv writes the CSV whatever its size, --no-csv never (default: up "
                   "to 1,000,000 rows); the .npz beside the figure always holds its values.")
@click.option("--quiet", "-q", is_flag=True)
@SCHEDULER
@BUDGET
def sweep(config, x, y, optimizer, outcome, tol, out, formats, csv, quiet, scheduler):
    """Map an outcome over one or two hyperparameters of one optimizer.

    \b
    All grid points run as one vectorised batch from the config's start.
    Example: optviz sweep default --optimizer momentum --x lr=1e-3:1:log:60 --y momentum=0:0.99:40
    """
    from optviz.app.runner import run_sweep

    bars = ProgressBars(not quiet)
    with user_errors():
        try:
            result = run_sweep(config, x, y, optimizer=optimizer, outcome=outcome, tol=tol,
                               out=out, formats=formats, progress=bars, csv=csv,
                               scheduler=scheduler)
        finally:
            bars.close()
    if not quiet:
        best = ", ".join(f"{k}={v:.4g}" for k, v in result.value.best().items())
        echo(f"best: {best}")
    _notes(result)
    _report(result, quiet)


@cli.command()
@click.argument("config")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--formats", help="Figure formats, e.g. png,svg.")
@click.option("--quiet", "-q", is_flag=True)
@SCHEDULER
@BUDGET
def compare(config, out, formats, quiet, scheduler):
    """A fair comparison an article can cite: tune every optimizer under the config's
    declared protocol (tune:), run them all from every start (starts:) under every
    noise seed (noise.seeds), and write the comparison figure, tuning figures,
    summary.csv, summary.md and compare.json (with the command that reproduces it).

    \b
    Example: optviz compare article/wobbly
    """
    from optviz.app.compare import run_compare

    bars = ProgressBars(not quiet)
    with user_errors():
        try:
            result = run_compare(config, out=out, formats=formats, progress=bars,
                                 scheduler=scheduler)
        finally:
            bars.close()
    if not quiet:
        for label, res in result.tuning.items():
            chosen = ", ".join(f"{p}={v:.4g}" for p, v in res.chosen.items())
            echo(f"tuned {label}: {chosen} ({res.points} points, {res.runs} runs each)")
        echo(comparison_table(result.summary))
    _notes(result)
    _report(result, quiet)


@cli.command()
@click.argument("config")
@click.option("--resolution", "-r", type=click.IntRange(4, 1000), default=100,
              show_default=True, help="R: an R x R grid of start points over the domain.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--formats", help="Figure formats, e.g. png,svg.")
@click.option("--csv/--no-csv", "csv", default=None,
              help="--csv writes the CSV whatever its size, --no-csv never (default: up "
                   "to 1,000,000 rows); the .npz beside the figure always holds its values.")
@click.option("--quiet", "-q", is_flag=True)
@SCHEDULER
@BUDGET
def basins(config, resolution, out, formats, csv, quiet, scheduler):
    """Map where each start point ends, for every optimizer of CONFIG."""
    from optviz.app.runner import run_basins

    bars = ProgressBars(not quiet)
    with user_errors():
        try:
            result = run_basins(config, resolution, out=out, formats=formats, progress=bars,
                                csv=csv, scheduler=scheduler)
        finally:
            bars.close()
    if not quiet:
        for k, opt in enumerate(result.config.optimizers):
            shares = ", ".join(f"{name} {share:.0%}"
                               for name, share in result.value.fractions(k).items()
                               if share >= 0.005)
            echo(f"{opt.label}: {shares}")
    _notes(result)
    _report(result, quiet)


@cli.command()
@click.argument("config")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--formats", help="Figure formats, e.g. png,svg.")
@click.option("--quiet", "-q", is_flag=True)
@BUDGET
def response(config, out, formats, quiet):
    """Plot an optimizer's steps for 1-D gradient signals (a response config)."""
    from optviz.app.runner import run_response
    from optviz.errors import ConfigError
    from optviz.input.config import ResponseConfig, load_config

    with user_errors():
        cfg = load_config(config)
        if not isinstance(cfg, ResponseConfig):
            raise ConfigError("not a response config: it needs a 'response:' section",
                              file=str(config), hint="see configs/article/response-*.yaml")
        result = run_response(cfg.with_overrides(output=out, formats=formats))
    _notes(result)
    _report(result, quiet)


@cli.command()
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the demos with their lessons.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--formats", help="Formats to write, e.g. png,gif.")
@click.option("--quiet", "-q", is_flag=True)
@click.pass_context
@BUDGET
def demo(ctx, name, list_, out, formats, quiet):
    """Run a teaching demo (configs/demos/NAME.yaml); --list shows them all."""
    from optviz.errors import ConfigError, did_you_mean
    from optviz.input import library
    from optviz.input.config import load_config

    names = [n.split("/", 1)[1] for n in library.names("configs") if n.startswith("demos/")]
    if list_ or not name:
        with user_errors():
            for n in names:
                echo(f"{n:22} {load_config(f'demos/{n}').lesson}")
        return
    if name not in names:
        raise UserError(str(ConfigError(f"unknown demo '{name}'",
                                        hint=did_you_mean(name, names)
                                        or "see 'optviz demo --list'")))
    ctx.invoke(run, config=f"demos/{name}", out=out, formats=formats, steps=None, quiet=quiet)


@cli.command()
@click.argument("config", required=False, default="default")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Output folder "
              "(default: the config's 'output', else output/<config name>).")
@click.option("--open", "open_", is_flag=True, help="Open the page in the web browser.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@BUDGET
def web(config, out, open_, quiet):
    """Write CONFIG's interactive figure: one self-contained HTML page.

    \b
    Readers move each optimizer's learning rate and main hyperparameter,
    choose the start on the plot and play the steps. The page computes the
    paths itself with optviz's engine in JavaScript; an optimizer without a
    JavaScript form (a torch class, noisy gradients) gets paths computed here
    beforehand on a grid (the config's 'web:' block). The page needs no
    network and no server.
    """
    from optviz.app.runner import run_web

    bars = ProgressBars(not quiet)
    with user_errors():
        try:
            result = run_web(config, out=out, progress=bars)
        finally:
            bars.close()
    page = result.page
    _notes(result)
    if not quiet:
        count = len(result.config.optimizers)
        parts = [f"{len(page.live)} of {count} optimizers live"]
        if page.trajectories:
            parts.append(f"{page.trajectories:,} precomputed paths of {result.config.steps} "
                         f"steps, positions to within {page.position_precision:.2g}, losses to "
                         f"a relative {page.loss_precision:.1g}")
        echo(f"wrote {page.path} ({page.bytes / 1e6:.2f} MB: {'; '.join(parts)})")
    if open_:
        import webbrowser

        webbrowser.open(page.path.resolve().as_uri())


@cli.command()
@click.argument("config", required=False, default="default")
def explore(config):
    """Open an interactive window: sliders for each optimizer's learning rate and
    main hyperparameter, a step slider, a surface chooser; click to move the start."""
    from optviz.app.explore import explore as open_window
    from optviz.input.config import load_config

    with user_errors():
        open_window(load_config(config))


@cli.command("list")
@click.argument("what", type=click.Choice(["surfaces", "optimizers", "configs"]))
def list_(what):
    """List the shipped surfaces, the optimizers or the shipped configs, one per line."""
    with user_errors():
        if what == "surfaces":
            from optviz.core.surfaces import list_surfaces, load_surface

            for name in list_surfaces():
                s = load_surface(name)
                echo(f"{name:18} {s.title}: {s.formula}")
        elif what == "optimizers":
            from optviz.core.optim import OPTIMIZERS, load_plugins

            load_plugins()
            for name, spec in OPTIMIZERS.items():
                origin = "" if spec.origin == "optviz" else f"  [{spec.origin}]"
                echo(f"{name:10} {spec.summary}{origin}")
        else:
            from optviz.input import library

            for name in library.names("configs"):
                echo(name)


@cli.command()
@click.option("--markdown", is_flag=True, help="The reference table of every key "
              "(docs/config-reference.md) instead of the JSON Schema.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write to this file "
              "instead of printing.")
def schema(markdown, out):
    """Print the config's JSON Schema (draft 2020-12), for editors.

    \b
    optviz schema > optviz.schema.json
    then start a config with the line
      # yaml-language-server: $schema=optviz.schema.json
    and the YAML language server (VS Code's YAML extension, ...) completes and checks it.
    """
    from optviz.input import schema as config_schema

    text = config_schema.markdown() if markdown else config_schema.json_text()
    if out is None:
        click.echo(text, nl=False)
        return
    with user_errors():
        config_schema.write(text, out)
    echo(f"wrote {out}", err=True)


@cli.command()
@click.argument("name")
@click.argument("dest", required=False)
def init(name, dest):
    """Copy the shipped config NAME into DEST for editing (default: ./NAME.yaml).

    \b
    DEST is a file (ending in .yaml) or a folder; a surface or signal file the
    config names by a relative path is copied beside it. Nothing is overwritten.
    Example: optviz init article/wobbly my-wobbly.yaml && optviz run my-wobbly.yaml
    """
    from optviz.input.library import copy_config

    with user_errors():
        written = copy_config(name, dest)
    config, *others = written
    echo(f"wrote {config} (a copy of the shipped config '{name}')")
    for path in others:
        echo(f"wrote {path} (named by the config)")
    echo(f"edit it, then run it: optviz run {config}")


@cli.command()
@click.argument("name")
def describe(name):
    """Show a surface (formula, gradient, domain, minima) or an optimizer (rule, defaults)."""
    with user_errors():
        from optviz.core.optim import OPTIMIZERS, describe_optimizer, load_plugins
        from optviz.core.surfaces import list_surfaces, load_surface
        from optviz.errors import ConfigError, did_you_mean

        load_plugins()
        if name in OPTIMIZERS:
            echo(describe_optimizer(name))
            return
        if name not in list_surfaces() and not name.endswith((".yaml", ".yml")):
            raise ConfigError(f"'{name}' is neither a surface nor an optimizer",
                              hint=did_you_mean(name, [*OPTIMIZERS, *list_surfaces()])
                              or "see 'optviz list surfaces' and 'optviz list optimizers'")
        echo(describe_surface(load_surface(name)))


def describe_surface(s) -> str:
    gx, gy = s.gradient_formulas()
    (x0, x1), (y0, y1) = s.domain
    lines = [f"{s.name}: {s.title}", f"  f(x, y) = {s.formula}", f"  df/dx   = {gx}",
             f"  df/dy   = {gy}", f"  domain  x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]"]
    if s.start:
        lines.append(f"  start   ({s.start[0]:g}, {s.start[1]:g})")
    if s.minima:
        lines.append("  minima  " + ", ".join(f"({a:.6g}, {b:.6g})" for a, b in s.minima)
                     + (f"; f* = {s.minimum_value:.10g}" if s.minimum_value is not None
                        else ""))
    levels = s.levels if isinstance(s.levels, int) else f"{len(s.levels)} given"
    lines.append(f"  levels  {levels}")
    if s.description:
        lines.append(f"  about   {s.description}")
    if s.source:
        lines.append(f"  source  {s.source}")
    return "\n".join(lines)


_STOPPED_BY: list[int] = []  # the signals that asked this process to stop


def _terminated(signum, frame):
    """SIGTERM: raise, so that every context manager runs (staging folders and
    ffmpeg processes are cleaned up as on Ctrl-C); exit status 128 + 15."""
    _STOPPED_BY.append(signum)
    raise SystemExit(128 + signum)


def _interrupted(signum, frame):
    """SIGINT: Python's KeyboardInterrupt, noted first (see :func:`main`)."""
    _STOPPED_BY.append(signum)
    raise KeyboardInterrupt


class _TerminalLog(logging.Handler):
    """The library's ``optviz`` logger (e.g. "waiting for another optviz ...") printed
    through :func:`echo`, so what it quotes is cleaned like every other line."""

    def emit(self, record: logging.LogRecord) -> None:
        echo(f"note: {record.getMessage()}", err=True)


def _log_to_terminal() -> None:
    log = logging.getLogger("optviz")
    log.addHandler(_TerminalLog())
    log.propagate = False


def main():
    import signal
    import warnings

    from optviz.render import matplotlib_folder

    matplotlib_folder()  # before matplotlib is imported: no warnings on a read-only HOME
    _log_to_terminal()
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, _interrupted)

    # NumPy's floating-point warnings (a diverging run overflows) are not for the
    # user: optviz reports non-finite results itself (diverged runs, notes on plots)
    warnings.filterwarnings("ignore", category=RuntimeWarning,
                            message=r"(overflow|underflow|invalid value|divide by zero) "
                                    r"encountered")
    try:
        cli(prog_name="optviz")
    except Exception:
        # A signal's exception raised inside a C call that calls back into Python
        # (Agg's draw_markers, say) can come out as another error (ValueError:
        # "Invalid affine transformation matrix"). Every clean-up has run by now;
        # the process stops as the signal asked, without a traceback.
        if not _STOPPED_BY:
            raise
        if _STOPPED_BY[-1] == signal.SIGINT:
            echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(128 + _STOPPED_BY[-1])
