"""--scheduler without a cluster: the options are there, dask is imported only when
asked for, and without dask the error says what to install. (The runs on a
cluster are tests/cluster's, with the [dask] extra.)"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from optviz.app.cli import cli

SMALL = """\
surface: himmelblau
start: [0, 0]
steps: 20
optimizers:
  - {type: adam, lr: 0.2}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


@pytest.mark.parametrize("command", ["batch", "sweep", "basins", "compare", "run"])
def test_every_parallel_command_takes_a_scheduler(command):
    res = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "--scheduler ADDRESS" in text and "OPTVIZ_SCHEDULER" in text
    assert 'pip install "optviz[dask]"' in text


def test_without_dask_a_scheduler_is_a_clean_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SMALL)
    for args, env in ((["--scheduler", "tcp://127.0.0.1:8786"], {}),
                      ([], {"OPTVIZ_SCHEDULER": "tcp://127.0.0.1:8786"})):
        res = CliRunner().invoke(cli, ["basins", str(cfg), "-r", "8", "--out",
                                       str(tmp_path / "out"), *args], env=env)
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output
        assert 'pip install "optviz[dask]"' in res.output
        assert "--scheduler (or OPTVIZ_SCHEDULER)" in res.output
        assert not (tmp_path / "out").exists()  # refused before the folder was made


def test_without_a_scheduler_dask_is_never_imported(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SMALL)
    code = ("import sys; from optviz.app.cli import cli; "
            f"cli(['basins', {str(cfg)!r}, '-r', '8', '-q', '--out', {str(tmp_path / 'o')!r}],"
            " standalone_mode=False); print('dask' in sys.modules, 'distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr
    assert (tmp_path / "o" / "basins.npz").exists()


class _Recording:
    """An executor that runs each task here, in order, and keeps its arguments."""

    def __init__(self):
        self.tasks = []

    def map(self, fn, tasks, keep_going=False):
        from optviz.app.cluster import _task
        from optviz.core.optim.torch_adapter import ALLOWED_IMPORTS

        for i, args in enumerate(tasks):
            self.tasks.append((fn, args))
            yield i, _task(tuple(sorted(ALLOWED_IMPORTS)), fn, *args)


def test_a_batch_s_tasks_carry_this_process_s_budget_and_write_a_local_run_s_bytes(
        tmp_path, monkeypatch):
    import contextlib

    from optviz.analysis import budget
    from optviz.app import batch as batch_module
    from optviz.app import cluster

    folder = tmp_path / "configs"
    folder.mkdir()
    for i in range(2):
        (folder / f"c{i}.yaml").write_text(
            SMALL.replace("render:", f"output: {tmp_path}/out{i}\nrender:")
            .replace("lr: 0.2", f"lr: 0.{i + 1}"))
    results = batch_module.batch([folder], jobs=1)
    assert [r.status for r in results] == ["rendered"] * 2
    here = {i: {p.name: p.read_bytes() for p in (tmp_path / f"out{i}").iterdir()
                if p.is_file() and not p.name.startswith(".")} for i in range(2)}
    for i in range(2):
        shutil.rmtree(tmp_path / f"out{i}")
    recording = _Recording()

    @contextlib.contextmanager
    def fake(address):
        assert address == "tcp://somewhere:8786"
        yield recording

    monkeypatch.setattr(cluster, "executor", fake)
    monkeypatch.setattr(budget, "_DEFAULT", [4.5e8])  # as --budget 4.5e8 sets it
    results = batch_module.batch([folder], scheduler="tcp://somewhere:8786")
    assert [r.status for r in results] == ["rendered"] * 2, [r.errors for r in results]
    assert [args[2] for _, args in recording.tasks] == [4.5e8, 4.5e8]
    for i in range(2):
        there = {p.name: p.read_bytes() for p in (tmp_path / f"out{i}").iterdir()
                 if p.is_file() and not p.name.startswith(".")}
        assert there == here[i]


def test_a_task_gets_the_modules_allowed_here(monkeypatch):
    from optviz.app.cluster import _task
    from optviz.core.optim import torch_adapter

    monkeypatch.setattr(torch_adapter, "ALLOWED_IMPORTS", set())
    assert _task((), torch_adapter._allowed, "mypackage.optim") is False
    assert _task(("mypackage",), torch_adapter._allowed, "mypackage.optim") is True


class _Reversed:
    """An executor that runs the tasks last first and hands them back in that order,
    as a cluster may: the results must be placed by their index, not their arrival."""

    def __init__(self):
        self.count = 0

    def map(self, fn, tasks):
        tasks = list(tasks)
        self.count += len(tasks)
        for i in reversed(range(len(tasks))):
            yield i, fn(*tasks[i])


def test_chunks_that_come_back_in_any_order_give_the_same_maps(monkeypatch):
    import numpy as np

    from optviz.analysis import sweep as sweep_module

    from optviz.analysis.basins import basins
    from optviz.analysis.compare import simulate_runs
    from optviz.analysis.sweep import parse_axis, sweep
    from optviz.app.runner import build_optimizers
    from optviz.input.config import parse_config

    cfg = parse_config(SMALL, "c.yaml")
    monkeypatch.setattr(sweep_module, "CHUNK_VALUES", 3 * 21 * 100)  # chunks of 100 rows
    ex = _Reversed()
    here, there = basins(cfg, 36), basins(cfg, 36, executor=ex)
    assert ex.count == 13
    assert np.array_equal(here.labels, there.labels)
    assert np.array_equal(here.losses, there.losses, equal_nan=True)
    ex, seen = _Reversed(), []
    x, y = parse_axis("lr=1e-3:0.5:log:30"), parse_axis("beta1=0:0.95:30")
    here = sweep(cfg, x, y)
    there = sweep(cfg, x, y, executor=ex, progress=seen.append)
    assert ex.count == 9 and seen == [i / 9 for i in range(1, 10)]  # counts the tasks
    assert np.array_equal(here.values, there.values) and np.array_equal(here.diverged,
                                                                        there.diverged)
    many = parse_config(SMALL.replace("steps: 20", "steps: 30\nstarts: {grid: 2}\n"
                                      "noise: {sigma: 0.3, seed: 3, seeds: 3}"), "m.yaml")
    ex = _Reversed()
    here = simulate_runs(many, build_optimizers(many))
    there = simulate_runs(many, build_optimizers(many), executor=ex)
    assert ex.count == 3 and here.points.shape[1] == 15
    assert np.array_equal(here.points, there.points, equal_nan=True)


def test_files_made_by_a_different_optviz_are_refused_before_the_folder_changes(tmp_path):
    from optviz.app.cluster import ClusterError
    from optviz.app.runner import Made, write_made
    from optviz.input.config import parse_config

    cfg = parse_config(SMALL.replace("render:", f"output: {tmp_path}/out\nrender:"), "c.yaml")
    made = Made({"trajectories.csv": b"x\n", "other.png": b"png"}, {}, 0.1)
    with pytest.raises(ClusterError, match="same optviz"):
        write_made(cfg, made)
    assert not (tmp_path / "out").exists()


def test_a_basin_table_formatted_by_the_tasks_is_the_bytes_of_one_made_here(
        tmp_path, monkeypatch):
    """On a cluster the chunks' tasks format their rows of basins.csv (in parallel);
    joined by their index, whatever order they come back in, the files are a local
    run's, byte for byte."""
    import contextlib

    from optviz.analysis import sweep as sweep_module
    from optviz.analysis.basins import basins_chunk_table
    from optviz.app import runner

    cfg = tmp_path / "c.yaml"
    cfg.write_text(SMALL)
    monkeypatch.setattr(sweep_module, "CHUNK_VALUES", 3 * 21 * 100)  # chunks of 100 rows
    out = tmp_path / "out"
    runner.run_basins(cfg, 36, out=out)
    here = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    shutil.rmtree(out)
    ex = _Reversed()
    calls = []

    @contextlib.contextmanager
    def fake(address):
        yield ex

    def spy(*args):
        calls.append(args[2:4])
        return basins_chunk_table(*args)

    monkeypatch.setattr(runner, "executor", fake)
    monkeypatch.setattr("optviz.analysis.basins.basins_chunk_table", spy)
    runner.run_basins(cfg, 36, out=out, scheduler="tcp://somewhere:8786")
    assert len(calls) == 13 == ex.count and calls[0] == (0, 12)  # the last first
    there = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    assert "basins.csv" in here and set(there) == set(here)
    for name in here:
        assert there[name] == here[name], name
