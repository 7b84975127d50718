"""Analysis benchmarks: basin maps and sweeps as single batches.

Run:  python benchmarks/bench_analysis.py      (about half a minute)
      python benchmarks/bench_analysis.py big  (whole processes at 1000 x 1000, ~3 min)

- basins: 200 x 200 starts x 5 optimizers x 500 steps on himmelblau;
- sweep: 100 x 100 (lr x momentum) x 500 steps on wobbly.
Each prints point-steps per second and the ratio against the same runs done
one start (or one grid point) at a time, timed on a subset in the same run.
Targets: each in a few seconds on one core.

- big: the whole `optviz basins article/two-minimums` process at -r 200 and
  -r 1000 (5 optimizers x 125 steps: 625 M point-steps) and the README's
  sweep at 1000 x 1000, each with its peak resident memory (the child's
  ru_maxrss) and the ratio of the 1000 x 1000 map's to the 200 x 200 map's.
  Target: at most 1 GiB for every 1000 x 1000 job (the CSV left out above
  1,000,000 rows, and once with --csv, streamed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from optviz.analysis.basins import basins, start_grid  # noqa: E402
from optviz.analysis.sweep import parse_axis, sweep  # noqa: E402
from optviz.core.engine import simulate  # noqa: E402
from optviz.core.optim import make_optimizer  # noqa: E402
from optviz.input.config import parse_config  # noqa: E402

BASINS = """\
surface: himmelblau
steps: 500
optimizers:
  - {type: sgd, lr: 0.01}
  - {type: momentum, lr: 0.002}
  - {type: rmsprop, lr: 0.05}
  - {type: adam, lr: 0.1}
  - {type: nesterov, lr: 0.002}
"""
SWEEP = "surface: wobbly\nsteps: 500\noptimizers: [{type: momentum}]\n"


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def one_at_a_time(cfg, starts, builds, m=20):
    """Seconds per point-step when each run is simulated alone (m runs timed)."""
    t, _ = timed(lambda: [simulate(cfg.surface, {"o": b()}, s, cfg.steps)
                          for b, s in zip(builds[:m], starts[:m])])
    return t / (m * cfg.steps)


def main():
    cfg = parse_config(BASINS)
    cfg.surface.value_and_grad(np.zeros((1, 2)))  # compile outside the timing
    r = 200
    t, _ = timed(lambda: basins(cfg, resolution=r))
    points = r * r * len(cfg.optimizers) * cfg.steps
    _, _, starts = start_grid(cfg.surface, r)
    o = cfg.optimizers[3]
    alone = one_at_a_time(cfg, starts[:: len(starts) // 20],
                          [lambda: make_optimizer(o.type, **o.params)] * 20)
    print(f"basins 200x200 x 5 optimizers x 500 steps: {t:6.2f} s  "
          f"{points / t / 1e6:6.1f} M point-steps/s  ratio vs one start at a time "
          f"{points / t * alone:7.0f}x")

    cfg = parse_config(SWEEP)
    cfg.surface.value_and_grad(np.zeros((1, 2)))
    x, y = parse_axis("lr=1e-4:0.5:log:100"), parse_axis("momentum=0:0.99:100", "--y")
    t, _ = timed(lambda: sweep(cfg, x, y))
    points = x.n * y.n * cfg.steps
    lrs, mus = np.meshgrid(x.values, y.values)
    builds = [lambda lr=lr, mu=mu: make_optimizer("momentum", lr=float(lr), momentum=float(mu))
              for lr, mu in zip(lrs.ravel()[::500], mus.ravel()[::500])]
    alone = one_at_a_time(cfg, [cfg.start] * len(builds), builds)
    print(f"sweep 100x100 x 500 steps:                 {t:6.2f} s  "
          f"{points / t / 1e6:6.1f} M point-steps/s  ratio vs one grid point at a time "
          f"{points / t * alone:7.0f}x")


def whole_process(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one optviz process."""
    exe = shutil.which("optviz", path=os.path.dirname(sys.executable)) or "optviz"
    t0 = time.perf_counter()
    proc = subprocess.Popen([exe, *args, "-q"], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"optviz {' '.join(args)} failed ({proc.returncode})")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def big() -> None:
    gib = 1024
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [("basins -r 200", ["basins", "article/two-minimums", "-r", "200"]),
                ("basins -r 1000", ["basins", "article/two-minimums", "-r", "1000"]),
                ("basins -r 1000 --csv", ["basins", "article/two-minimums", "-r", "1000",
                                          "--csv"]),
                ("sweep 1000 x 1000", ["sweep", "default", "--optimizer", "momentum", "--x",
                                       "lr=1e-3:1:log:1000", "--y", "momentum=0:0.99:1000"])]
        peaks = {}
        print("whole processes (wall under load; peak resident memory)")
        for name, args in jobs:
            wall, peak = whole_process([*args, "--out", os.path.join(tmp, name.replace(" ", "_"))])
            peaks[name] = peak
            target = "" if "200" in name else \
                f"   target <= 1 GiB: {'ok' if peak <= gib else 'MISSED'}"
            print(f"  {name:22} {wall:7.1f} s   {peak:7.0f} MiB{target}")
        print(f"  peak at 1000 x 1000 / at 200 x 200 (25x the starts): "
              f"{peaks['basins -r 1000'] / peaks['basins -r 200']:.2f}x")


if __name__ == "__main__":
    if sys.argv[1:] == ["big"]:
        big()
    else:
        main()
