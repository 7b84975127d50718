"""Batch rendering: many configs, a process pool, one failure never stops the rest."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from optviz.analysis import budget as work
from optviz.errors import ConfigError, OptvizError
from optviz.input import library
from optviz.input.config import ResponseConfig, RunConfig, load_config


@dataclass
class JobResult:
    """How one config fared: rendered, skipped (up to date) or failed."""

    config: Path
    status: str  # "rendered" | "skipped" | "failed"
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def collect_configs(paths: Iterable[str | Path]) -> list[Path]:
    """Every YAML config in the given files and folders (folders recursively, sorted).

    A path that does not exist may name a folder or file of the shipped configs
    (``article``, ``configs/article``).
    """
    found: list[Path] = []
    for spec in paths:
        path = Path(spec)
        if not path.exists():
            shipped = library.data_dir("configs")
            rel = Path(*path.parts[1:]) if path.parts[:1] == ("configs",) else path
            for cand in (shipped / rel, (shipped / rel).with_suffix(".yaml")):
                if cand.exists():
                    path = cand
                    break
            else:
                raise ConfigError("no such file or folder", file=str(spec),
                                  hint="give config files or folders that hold them")
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ConfigError("no .yaml configs found in " + ", ".join(map(str, paths)))
    return unique


def is_up_to_date(config: RunConfig | ResponseConfig) -> bool:
    """Whether the config's outputs were made from what it is now, by content:

    its run's record (run.json, or response.json) is optviz's, made from a
    config of the same content (hash) with the same input files (config,
    surface, signal CSVs, by sha256) and the same optviz version, and every
    planned file is there with the content the record lists. Modification
    times play no part.
    """
    from optviz.app.plan import plan, resolve_output, same_inputs
    from optviz.outputs import digest, read_record

    try:
        the_plan = plan(resolve_output(config))
        record = read_record(the_plan.out_dir / the_plan.record.name)
    except (OptvizError, OSError, ValueError):
        return False
    if record is None or record.kind != the_plan.command or \
            record.config_sha256 != the_plan.config_sha256 or \
            not same_inputs(record.inputs, the_plan.inputs):
        return False
    names = [p.name for p in the_plan.products[:-1]]
    if set(record.files) != set(names):
        return False
    return all(digest(the_plan.out_dir / name) == record.files[name] for name in names)


def output_folders(configs: Sequence[tuple[Path, RunConfig | ResponseConfig]]) -> None:
    """Refuse configs that write the same folder (each would replace the other's
    outputs), naming every pair, before anything is rendered."""
    from optviz.app.plan import resolve_output

    by_folder: dict[str, list[Path]] = {}
    for path, cfg in configs:
        try:
            folder = os.path.realpath(resolve_output(cfg).output)
        except (OptvizError, OSError, ValueError):
            continue  # an output that cannot be resolved fails in its own job
        by_folder.setdefault(folder, []).append(path)
    shared = [(folder, paths) for folder, paths in by_folder.items() if len(paths) > 1]
    if shared:
        cwd = Path.cwd()

        def shown(p: Path) -> str:
            return os.path.relpath(p, cwd) if p.is_absolute() else str(p)

        detail = "; ".join(" and ".join(shown(p) for p in paths)
                           + f" {'both' if len(paths) == 2 else 'all'} write {shown(Path(f))}"
                           for f, paths in shared)
        raise ConfigError(f"nothing was rendered: {detail}",
                          hint="give each config its own 'output:' folder")


def job_cost(config: RunConfig | ResponseConfig) -> float:
    """A rough relative cost of running *config*, to schedule long jobs first:
    frames drawn and encoded dominate a run; a response figure is cheap."""
    if isinstance(config, ResponseConfig):
        return 1.0
    from optviz.input.config import STATIC_FORMATS

    animated = [f for f in config.render.formats if f not in STATIC_FORMATS]
    frames = min(config.steps + 1, config.render.max_frames)
    return 2.0 + len(animated) * frames / 10


def _render_one(path: Path, config: RunConfig | ResponseConfig | None = None,
                budget: float | None = None) -> JobResult:
    """Worker: run one config (*config*, already loaded from *path*, else loaded
    here); user errors become a failed JobResult, never a crash."""
    from optviz.app.runner import run

    global _BUSY
    t0 = time.perf_counter()
    _BUSY = True
    try:
        result = run(config if config is not None else path, budget=budget)
    except (KeyboardInterrupt, SystemExit):
        # the run has cleaned up (its folder is as it was, its ffmpeg is gone); a
        # worker that was told to stop takes no further job from the queue
        if _IN_WORKER:
            os._exit(130)
        raise
    except OptvizError as e:
        return JobResult(path, "failed", time.perf_counter() - t0, errors=[str(e)])
    except Exception as e:  # a bug must not take the other figures down with it
        if _IN_WORKER and _SIGNALLED:  # a stop signal's exception, masked by a C call
            os._exit(130)
        return JobResult(path, "failed", time.perf_counter() - t0,
                         errors=[f"internal error: {type(e).__name__}: {e}"])
    finally:
        _BUSY = False
    return JobResult(path, "failed" if result.errors else "rendered",
                     time.perf_counter() - t0, files=[str(p) for p in result.files],
                     errors=result.errors)


def _ignore_further_signals() -> None:
    """A worker told to stop cleans up and exits: a second signal (the main's
    SIGTERM after the terminal's Ctrl-C) must not cut the clean-up short."""
    # a Python no-op rather than SIG_IGN: a signal already caught but not yet handled
    # would otherwise be reported as "ignored due to race condition"
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGINT, _ignore)


def _ignore(signum, frame) -> None:
    pass


def _terminate(signum, frame):
    global _SIGNALLED
    _SIGNALLED = True
    _ignore_further_signals()
    raise SystemExit(128 + signum)


_IN_WORKER = False  # True in the pool's worker processes
_BUSY = False  # True while a worker renders a config
_SIGNALLED = False  # True once a worker was told to stop


def _interrupt(signum, frame):
    global _SIGNALLED
    if _BUSY:  # stop the run (it cleans up); an idle worker waits for the main's SIGTERM
        _SIGNALLED = True
        _ignore_further_signals()
        raise KeyboardInterrupt


def _worker_init() -> None:
    """In each worker: SIGTERM raises (so a run's staging folder and its ffmpeg
    processes are cleaned up, as on Ctrl-C); SIGINT (Ctrl-C reaches every process
    of the terminal's group) interrupts a run, and is left to the main process
    between runs (no traceback from an idle worker)."""
    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _interrupt)


def _told_to_stop(pool: ProcessPoolExecutor, wait: float = 2.0) -> bool:
    """Whether a worker ended because it was told to stop (Ctrl-C or SIGTERM reached
    it: exit status 130 or 128 + signal), rather than by a crash. The terminal's
    Ctrl-C reaches the workers and this process at once; a worker may exit first."""
    stops = {130, 128 + signal.SIGTERM, -signal.SIGINT, -signal.SIGTERM}
    procs = list((getattr(pool, "_processes", None) or {}).values())
    deadline = time.monotonic() + wait
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    return any(p.exitcode in stops for p in procs)


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove each of *folders* (output folders that did not exist when the batch began)
    if it is empty: a worker stopped before its clean-up leaves it behind. A folder
    holding anything is left (rmdir removes only an empty one)."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _stop(pool: ProcessPoolExecutor, grace: float = 10.0) -> None:
    """Cancel every queued job and end the workers: SIGTERM (each cleans up its run,
    killing its ffmpeg), then SIGKILL for any still alive after *grace* seconds."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # no public API for this
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            with contextlib.suppress(OSError):
                p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            with contextlib.suppress(OSError):
                p.kill()
            p.join(1.0)


def _make_one(path: Path, config: RunConfig | ResponseConfig, budget: float | None = None):
    """A cluster's task: one config's files made on a worker (a Made), or the failed
    JobResult of a user error (or a bug) there. Nothing is written outside the
    worker's own temporary folder."""
    from optviz.app.runner import make_elsewhere

    t0 = time.perf_counter()
    try:
        return make_elsewhere(config, budget)
    except OptvizError as e:
        return JobResult(path, "failed", time.perf_counter() - t0, errors=[str(e)])
    except Exception as e:  # a bug must not take the other figures down with it
        return JobResult(path, "failed", time.perf_counter() - t0,
                         errors=[f"internal error: {type(e).__name__}: {e}"])


def _on_cluster(todo, ex, budget, done: Callable[[JobResult], None]) -> None:
    """Each config a task on the cluster of *ex*; its files written here as it comes back."""
    from optviz.app.runner import write_made

    todo = sorted(todo, key=lambda job: -job_cost(job[1]))  # the longest first
    budget = work.current() if budget is None else budget  # --budget is this process's
    from optviz.app.cluster import ClusterError

    tasks = [(p, cfg, budget) for p, cfg in todo]
    with contextlib.closing(ex.map(_make_one, tasks, keep_going=True)) as made:
        for i, out in made:
            path, cfg = todo[i]
            if isinstance(out, JobResult):
                done(out)
                continue
            if isinstance(out, ClusterError):  # its workers died: the others go on
                done(JobResult(path, "failed", errors=[str(out)]))
                continue
            try:
                files = write_made(cfg, out)
            except OptvizError as e:
                done(JobResult(path, "failed", out.seconds, errors=[str(e)]))
                continue
            done(JobResult(path, "rendered", out.seconds, files=[str(f) for f in files]))


def batch(paths: Sequence[str | Path], *, jobs: int | None = None, force: bool = False,
          on_done: Callable[[JobResult], None] | None = None,
          budget: float | None = None, scheduler: str | None = None) -> list[JobResult]:
    """Render every config under *paths* in a pool of *jobs* processes, or, given the
    address of a dask *scheduler*, each config as a task on its cluster's workers
    (the files come back and are written here, :mod:`optviz.app.cluster`).

    Two configs that write the same folder stop the batch before anything is
    rendered (ConfigError naming both). Configs whose outputs are up to date by
    content (:func:`is_up_to_date`) are skipped unless *force*. *on_done* is called in this process as each job finishes.
    Ctrl-C (KeyboardInterrupt) or SIGTERM cancels what is queued, stops the
    workers (each run in progress leaves its folder as it was) and propagates.
    """
    from optviz.app.cluster import executor

    configs = collect_configs(paths)
    with executor(scheduler) as ex:  # a wrong address fails here, before any work
        return _render_all(configs, jobs=jobs, force=force, on_done=on_done, budget=budget,
                           ex=ex)


def _render_all(configs: list[Path], *, jobs, force, on_done, budget, ex) -> list[JobResult]:
    """:func:`batch` once its configs are found (and its cluster, *ex*, reached)."""
    results: list[JobResult] = []
    todo: list[tuple[Path, RunConfig | ResponseConfig]] = []

    def done(r: JobResult) -> None:
        results.append(r)
        if on_done:
            on_done(r)

    loaded = []
    for path in configs:
        try:
            cfg = load_config(path)
            work.check(work.of_config(cfg), budget)
            loaded.append((path, cfg))
        except OptvizError as e:
            done(JobResult(path, "failed", errors=[str(e)]))
    output_folders(loaded)
    for path, cfg in loaded:
        if not force and is_up_to_date(cfg):
            done(JobResult(path, "skipped"))
        else:
            todo.append((path, cfg))

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    if ex is not None:
        _on_cluster(todo, ex, budget, done)
    elif jobs == 1 or len(todo) <= 1:
        for path, cfg in todo:  # Ctrl-C stops here: _render_one lets it through
            done(_render_one(path, cfg, budget))
    else:
        # the longest jobs first, so no worker is left alone with a long one at the end
        todo.sort(key=lambda job: -job_cost(job[1]))
        # the output folders that do not exist yet: a stopped batch removes those of
        # them a worker created and left empty (one killed before its own clean-up)
        fresh = [Path(cfg.output) for _, cfg in todo if not Path(cfg.output).exists()]
        ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init)
        try:
            # the loaded config goes to the worker: nothing is parsed twice
            futures = {pool.submit(_render_one, p, cfg, budget): p for p, cfg in todo}
            for fut in as_completed(futures):
                try:
                    done(fut.result())
                except Exception as e:  # the worker process died
                    if _told_to_stop(pool):  # Ctrl-C reached the workers before us
                        raise KeyboardInterrupt from None
                    done(JobResult(futures[fut], "failed",
                                   errors=[f"worker failed: {type(e).__name__}: {e}"]))
        except BaseException:  # Ctrl-C, SIGTERM: cancel the queue, stop the workers
            _stop(pool)
            _remove_empty(fresh)
            raise
        pool.shutdown(wait=True)
    order = {p: i for i, p in enumerate(configs)}
    return sorted(results, key=lambda r: order[r.config])
