"""optviz on a dask.distributed cluster: a LocalCluster of 2 single-threaded worker
processes. Every command run there writes the same bytes as run here; a worker
killed mid-job and Ctrl-C leave no partial output.

Needs the [dask] extra: ``pip install -e ".[dask]" && python -m pytest tests/cluster``
(CI does). The default suite does not collect this folder (pyproject's
norecursedirs); run by name without dask, the module skips, saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="tests/cluster needs dask.distributed: "
                    'pip install -e ".[dask]"')

from distributed import Client, LocalCluster  # noqa: E402

from optviz.app.batch import batch  # noqa: E402
from optviz.app.cli import cli  # noqa: E402
from optviz.app.compare import run_compare  # noqa: E402
from optviz.app.runner import run, run_basins, run_sweep  # noqa: E402

SMALL = """\
surface: himmelblau
start: [0, 0]
steps: 60
optimizers:
  - {type: adam, lr: 0.2}
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: sgd, lr: 0.01}
render: {formats: [png], size: [4, 3], dpi: 40}
"""

# tuning (two tuned optimizers: two tasks) and three noise seeds with starts (seed tasks)
TUNED_SEEDS = """\
surface: booth
start: [-8, 6]
steps: 40
starts: {grid: 2}
noise: {sigma: 0.5, seed: 7, seeds: 3}
tune: {objective: final_gap, over: {starts: 4, seeds: 2}, budget: 12}
optimizers:
  - {type: momentum, lr: {tune: [1.0e-3, 0.2, log]}, momentum: 0.5}
  - {type: adam, lr: {tune: [1.0e-3, 1, log]}}
  - {type: sgd, lr: 0.01}
render: {formats: [png], size: [4, 3], dpi: 40}
"""

# a basin map of 10 chunks of about half a second each (3332 rows a chunk at 3000 steps)
LONG = """\
surface: wobbly
start: [-2.8, -2.5]
steps: 3000
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: nesterov, lr: 0.01, momentum: 0.9}
  - {type: rmsprop, lr: 0.05}
  - {type: adam, lr: 0.1}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def _cluster() -> LocalCluster:
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=None)


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as c:
        yield c


@pytest.fixture(scope="module")
def address(cluster) -> str:
    with Client(cluster, set_as_default=False) as client:
        client.get_task_stream()  # the scheduler records every task from now on
    return cluster.scheduler_address


def _config(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    """Every entry of the folder (hidden ones too: a staging folder left would show)."""
    return {p.name: p.read_bytes() if p.is_file() else b"<folder>"
            for p in sorted(folder.iterdir()) if p.name != ".optviz.lock"}


def _ran_there(address: str, since: float) -> int:
    """How many tasks the cluster's workers computed since *since* (time.time())."""
    with Client(address, set_as_default=False) as client:
        stream = client.get_task_stream(start=since)
    return sum(any(p["action"] == "compute" for p in t["startstops"]) for t in stream)


def _same_here_and_there(make, out: Path, address: str, tasks: int) -> dict[str, bytes]:
    """Run *make* here, then on the cluster (where *tasks* tasks must run) into the
    same folder: every file (data, figures, the record) must have the same bytes.
    Returns the files."""
    make(out, None)
    here = _files(out)
    assert any(name.endswith((".csv", ".npz")) for name in here)
    shutil.rmtree(out)  # the cluster's run writes them all again
    since = time.time()
    make(out, address)
    assert _ran_there(address, since) == tasks
    there = _files(out)
    assert set(there) == set(here)
    for name in here:
        assert there[name] == here[name], f"{name} differs between here and the cluster"
    return there


def test_basins_on_the_cluster_writes_the_same_bytes(tmp_path, address):
    cfg = _config(tmp_path, SMALL)
    files = _same_here_and_there(
        lambda out, s: run_basins(cfg, 30, out=out, scheduler=s), tmp_path / "out", address,
        tasks=3)  # one chunk per optimizer
    import numpy as np

    with np.load(tmp_path / "out" / "basins.npz") as z:
        assert z["ends_at"].shape == (3, 30, 30)
    assert files["basins.csv"].count(b"\n") == 1 + 3 * 30 * 30


def test_sweep_on_the_cluster_writes_the_same_bytes(tmp_path, address):
    cfg = _config(tmp_path, SMALL.replace("steps: 60", "steps: 9000"))  # 2 chunks of 1110 rows
    _same_here_and_there(
        lambda out, s: run_sweep(cfg, "lr=1e-4:0.5:log:40", "momentum=0:0.95:30",
                                 optimizer="1", out=out, scheduler=s),
        tmp_path / "out", address, tasks=2)


def test_compare_tuning_and_seeds_on_the_cluster_write_the_same_bytes(tmp_path, address):
    cfg = _config(tmp_path, TUNED_SEEDS)
    files = _same_here_and_there(lambda out, s: run_compare(cfg, out=out, scheduler=s),
                                 tmp_path / "out", address, tasks=2 + 3)  # tuned, seeds
    assert "tuning.csv" in files and b"momentum" in files["tuning.csv"]


def test_a_run_of_many_seeds_on_the_cluster_writes_the_same_bytes(tmp_path, address):
    cfg = _config(tmp_path, TUNED_SEEDS)
    files = _same_here_and_there(lambda out, s: run(cfg, out=out, scheduler=s),
                                 tmp_path / "out", address, tasks=2 + 3)  # tuned, seeds
    assert "summary.csv" in files and "trajectories.csv" in files


def test_a_run_whose_figure_watches_its_first_seed_runs_that_seed_here(tmp_path, address):
    cfg = _config(tmp_path, TUNED_SEEDS.replace("render: {", "render: {step_panel: true, "))
    files = _same_here_and_there(lambda out, s: run(cfg, out=out, scheduler=s),
                                 tmp_path / "out", address, tasks=2 + 2)  # tuned, seeds 2, 3
    assert "c-step-size.png" in files


def test_a_model_s_minibatch_seeds_on_the_cluster_give_the_same_trajectories(address):
    import numpy as np

    from optviz.analysis.compare import simulate_seeds
    from optviz.app.cluster import executor
    from optviz.core.models import Minibatch, build
    from optviz.core.optim import make_optimizer

    net = build({"model": {"mlp": [2, 8, 1], "activation": "tanh", "loss": "bce",
                           "init": {"seed": 0}},
                 "data": {"generate": "moons", "n": 128, "seed": 0}})
    opts = {"sgd": make_optimizer("sgd", lr=0.5), "adam": make_optimizer("adam", lr=0.01)}
    seeds = [Minibatch(16, s) for s in range(4)]
    here = simulate_seeds(net, opts, np.array([net.start]), 150, seeds, exact=["sgd"])
    with executor(address) as ex:
        there = simulate_seeds(net, opts, np.array([net.start]), 150, seeds, exact=["sgd"],
                               executor=ex)
    assert here.points.shape == (2, 4, 151, net.dim)
    for name in ("points", "losses", "steps", "diverged"):
        assert np.array_equal(getattr(here, name), getattr(there, name), equal_nan=True), name
    assert not np.array_equal(here.points[1, 0], here.points[1, 1])  # the seeds differ


def test_batch_on_the_cluster_writes_the_same_bytes(tmp_path, address):
    folder = tmp_path / "configs"
    folder.mkdir()
    for i, text in enumerate((SMALL, TUNED_SEEDS)):
        _config(folder, text.replace("render:", f"output: {tmp_path}/out{i}\nrender:"),
                f"c{i}.yaml")
    _config(folder, "response:\n  optimizer: adam\n  params: {lr: 0.1}\n"
            "  vary: {beta1: [0.0, 0.9]}\n  signals: [spikes]\n"
            f"output: {tmp_path}/out2\nrender: {{formats: [png], size: [4, 3], dpi: 40}}\n",
            "r.yaml")
    results = batch([folder], jobs=1)
    assert [r.status for r in results] == ["rendered"] * 3, [r.errors for r in results]
    here = {i: _files(tmp_path / f"out{i}") for i in range(3)}
    seen = []
    for i in range(3):
        shutil.rmtree(tmp_path / f"out{i}")
    since = time.time()
    results = batch([folder], scheduler=address, on_done=seen.append)
    assert [r.status for r in results] == ["rendered"] * 3, [r.errors for r in results]
    assert _ran_there(address, since) == 3  # each config a task
    assert len(seen) == 3  # progress counts the cluster's tasks
    for i in range(3):
        assert _files(tmp_path / f"out{i}") == here[i]
    # up to date by content: nothing goes to the cluster
    assert [r.status for r in batch([folder], scheduler=address)] == ["skipped"] * 3


def _busy_workers(client: Client) -> list[str]:
    return [w for w, tasks in client.processing().items() if tasks]


def test_a_worker_killed_mid_job_changes_nothing(tmp_path, address):
    cfg = _config(tmp_path, LONG)
    out = tmp_path / "out"
    run_basins(cfg, 60, out=out)
    here = _files(out)
    shutil.rmtree(out)
    with Client(address, set_as_default=False) as client:
        result: dict = {}

        def job():
            try:
                result["value"] = run_basins(cfg, 60, out=out, scheduler=address)
            except BaseException as e:  # noqa: BLE001 -- reported below
                result["error"] = e

        thread = threading.Thread(target=job)
        thread.start()
        deadline = time.monotonic() + 30
        while not _busy_workers(client) and time.monotonic() < deadline:
            time.sleep(0.05)
        victims = _busy_workers(client)
        assert victims, "no task reached a worker"
        # the worker process dies at once, its tasks with it; the nanny starts another
        with contextlib.suppress(Exception):  # the call's answer never comes
            client.run(os._exit, 1, workers=victims[:1])
        thread.join(120)
        assert not thread.is_alive()
        assert "error" not in result, result.get("error")
        assert _files(out) == here
        assert victims[0] not in client.scheduler_info()["workers"]  # it did die
        client.wait_for_workers(2, timeout=60)  # the nanny's new worker, for the next test


def test_ctrl_c_cancels_the_cluster_tasks_and_leaves_no_output(tmp_path, address):
    cfg = _config(tmp_path, LONG)
    out = tmp_path / "out"
    env = {**os.environ, "OPTVIZ_SCHEDULER": address}
    proc = subprocess.Popen([sys.executable, "-m", "optviz", "basins", str(cfg), "-r", "100",
                             "--out", str(out)], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True)
    with Client(address, set_as_default=False) as client:
        deadline = time.monotonic() + 60
        while not _busy_workers(client) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert _busy_workers(client), "no task reached a worker"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode != 0
        assert b"Traceback" not in err, err.decode()
        # every task of the job is gone from the cluster (20 were queued: far from done)
        deadline = time.monotonic() + 15
        while (_busy_workers(client) or client.run_on_scheduler(_task_count))\
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _busy_workers(client) and client.run_on_scheduler(_task_count) == 0
    left = [p.name for p in out.iterdir()] if out.exists() else []
    assert not [n for n in left if n != ".optviz.lock"], left


def _task_count(dask_scheduler=None) -> int:
    return len(dask_scheduler.tasks)


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "not a scheduler:::"])
def test_a_scheduler_that_is_not_there_is_a_clean_error(tmp_path, address):
    from click.testing import CliRunner

    cfg = _config(tmp_path, SMALL)
    loops = [t.name for t in threading.enumerate() if t.name == "IO loop"]
    t0 = time.monotonic()
    for args, env in ((["--scheduler", address], {}), ([], {"OPTVIZ_SCHEDULER": address})):
        res = CliRunner().invoke(cli, ["basins", str(cfg), "-r", "8", "--out",
                                       str(tmp_path / "out"), *args], env=env)
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and res.exception.__class__ is SystemExit
        assert "--scheduler" in res.output and "OPTVIZ_SCHEDULER" in res.output
        assert "cannot reach a dask scheduler" in res.output
    assert time.monotonic() - t0 < 2 * 8  # the 5 s timeout, twice, not dask's 30 s
    # the failed client's IO loop thread is stopped now, not left to the garbage
    # collector (whose Client.__del__ once deadlocked the next Client's start)
    assert [t.name for t in threading.enumerate() if t.name == "IO loop"] == loops
    assert not (tmp_path / "out").exists() or not [
        p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]


def _allow_failures(n: int, dask_scheduler=None) -> int:
    """Set the scheduler's allowed-failures to *n*; returns what it was."""
    was, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, n
    return was


def test_a_task_that_kills_its_workers_is_a_clean_error(address):
    from optviz.app.cluster import ClusterError, executor

    # the module's cluster (a second one in this process is a second event loop, whose
    # start dask gives 10 s: a loaded CI machine missed it once)
    with Client(address, set_as_default=False) as client:
        was = client.run_on_scheduler(_allow_failures, 0)
        try:
            with executor(address) as ex:
                with pytest.raises(ClusterError, match="KilledWorker.*nothing was written"):
                    list(ex.map(os._exit, [(1,), (1,)]))
                # a batch goes on: the lost task comes back as its error instead of raising
                got = dict(ex.map(os._exit, [(1,)], keep_going=True))
                assert isinstance(got[0], ClusterError)
        finally:
            client.run_on_scheduler(_allow_failures, was)
            client.wait_for_workers(2, timeout=60)
