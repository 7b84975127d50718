"""optviz on a dask.distributed cluster: how it scales, what it costs.

Run:  pip install -e ".[dask]" && python benchmarks/bench_cluster.py   (about 3 minutes)

Whole processes (``optviz ...`` timed from outside, start-up included), each
against its baseline measured in this same run; the clusters are
``LocalCluster``s of single-threaded worker processes started here (their
start-up not timed, their workers warmed by importing optviz first, as a
cluster's long-lived workers are):

1. Scaling: ``optviz basins`` (wobbly, 5 optimizers x 1000 steps, 260 x 260:
   338 M point-steps; about 21 s on one idle worker, at least the issue's 20 s) with
   ``--scheduler`` on a cluster of 1 worker, then of 2 workers.
   Target: 2 workers >= 1.7x one worker.
   Printed beside each: the tasks' compute seconds (the scheduler's task
   stream) and how many workers were busy on average, which tells a shortfall
   of the machine (other load: compute seconds grow) from one of the design
   (workers idle).
2. Overhead: ``optviz batch article --force`` (18 configs, 10 of them GIF +
   MP4) in the local pool of 2 processes (``--jobs 2``) against ``--scheduler``
   on a cluster of 2 workers; one warm-up run each, then two of each,
   alternating; the medians compared. Target: the cluster at most 10% slower.

The machine may be shared: the load average (``uptime``) is printed before
and after; compare ratios, not seconds, and only within one run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the workers inherit it

BASINS = """\
title: "bench: basins on a cluster"
surface: wobbly
start: [-2.8, -2.5]
steps: 1000
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: nesterov, lr: 0.01, momentum: 0.9}
  - {type: rmsprop, lr: 0.05}
  - {type: adam, lr: 0.1}
render: {formats: [png]}
"""
RESOLUTION = 260


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def optviz(*args: str) -> list[str]:
    return [sys.executable, "-m", "optviz", *args]


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _warm() -> None:
    import optviz.analysis.basins  # noqa: F401
    import optviz.app.runner  # noqa: F401
    import optviz.render.contour  # noqa: F401


def busy(c, since: float, wall: float) -> str:
    """How many workers computed at once, on average, over *wall* seconds: the sum
    of the task durations the scheduler recorded since *since*, over *wall*."""
    from distributed import Client

    with Client(c, set_as_default=False) as client:
        tasks = client.get_task_stream(start=since)
    seconds = sum(p["stop"] - p["start"] for t in tasks for p in t["startstops"]
                  if p["action"] == "compute")
    return f"{len(tasks)} tasks, {seconds:.1f} s of compute, {seconds / wall:.2f} workers busy"


def cluster(workers: int):
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                     dashboard_address=None)
    with Client(c, set_as_default=False) as client:
        client.run(_warm)
        client.get_task_stream()  # the scheduler records the task stream from now on
    return c


def main() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        sys.exit('bench_cluster.py needs dask.distributed: pip install -e ".[dask]"')
    work = Path(tempfile.mkdtemp(prefix="optviz-bench-cluster-"))
    os.environ["OPTVIZ_CACHE_DIR"] = str(work / "cache")
    try:
        (work / "basins.yaml").write_text(BASINS)
        print(f"load before: {load()}")
        basins = {}
        for n in (1, 2):
            with cluster(n) as c:
                cmd = optviz("basins", "basins.yaml", "-r", str(RESOLUTION), "-q", "--budget",
                             "1e9", "--out", f"basins-{n}", "--scheduler", c.scheduler_address)
                since = time.time()
                basins[n] = timed(cmd, work)
                steps = 5 * 1000 * RESOLUTION ** 2
                print(f"  optviz basins -r {RESOLUTION} ({steps / 1e6:,.0f} M point-steps), {n} worker"
                      f"{'s' if n > 1 else ' '}: {basins[n]:6.2f} s   "
                      f"({busy(c, since, basins[n])})")
        same = all((work / "basins-1" / f).read_bytes() == (work / "basins-2" / f).read_bytes()
                   for f in ("basins.npz", "basins.csv"))
        ratio = basins[1] / basins[2]
        print(f"  speed-up, 2 workers vs 1: {ratio:4.2f}x   (target >= 1.7x: "
              f"{'ok' if ratio >= 1.7 else 'MISSED'}); data files identical: {same}")

        pool = optviz("batch", "article", "--force", "--jobs", "2", "-q")
        with cluster(2) as c:
            on_cluster = optviz("batch", "article", "--force", "-q", "--scheduler",
                                c.scheduler_address)
            timed(pool, work)  # warm-up: the page cache, the surface cache
            timed(on_cluster, work)
            here, there = [], []
            for _ in range(2):
                here.append(timed(pool, work))
                there.append(timed(on_cluster, work))
        h, t = statistics.median(here), statistics.median(there)
        print(f"  optviz batch article --force --jobs 2 (local pool): {h:6.2f} s "
              f"({', '.join(f'{x:.2f}' for x in here)})")
        print(f"  optviz batch article --force --scheduler (2 workers): {t:6.2f} s "
              f"({', '.join(f'{x:.2f}' for x in there)})")
        print(f"  cluster overhead: {100 * (t / h - 1):+5.1f}%   (target <= +10%: "
              f"{'ok' if t / h <= 1.10 else 'MISSED'})")
        print(f"load after:  {load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
