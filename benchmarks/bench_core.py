"""Core speed benchmarks: CLI start-up and vectorised simulation.

Run:  python benchmarks/bench_core.py          (about a minute)
      python benchmarks/bench_core.py modern   (the modern optimizers' lines only)

Every ratio is against a baseline measured in the same run on this machine:
- start-up: `optviz --help` / `optviz list surfaces` against `python -c pass`
  (targets: well under 0.5 s);
- simulation: Adam, 10,000 trajectories x 1,000 steps on "wobbly", in one
  lockstep batch, against the same update run one trajectory at a time in a
  plain Python loop (target >= 100x per point-step, >= 10 M point-steps/s on
  one core). A second baseline, a scalar loop over Python floats with a
  `math`-module gradient (the fastest plain-Python form), is printed too.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from optviz.core.engine import simulate  # noqa: E402
from optviz.core.optim import make_optimizer  # noqa: E402
from optviz.core.surfaces import load_surface  # noqa: E402


def timed_command(args: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def startup() -> None:
    py = sys.executable
    base = timed_command([py, "-c", "pass"])
    print(f"start-up (median of 5 fresh processes)\n  python -c pass        {base:6.3f} s")
    for args in (["--help"], ["list", "surfaces"], ["list", "optimizers"]):
        t = timed_command([py, "-m", "optviz", *args])
        print(f"  optviz {' '.join(args):15} {t:6.3f} s   ({t - base:+.3f} s over bare Python)"
              f"   target < 0.5 s: {'ok' if t < 0.5 else 'MISSED'}")


def scalar_adam_loop(surface, starts, steps, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    """The plain-Python baseline: one trajectory at a time, floats and math."""
    import sympy as sp

    expr, grad, _, xy = surface._symbolic
    g = sp.lambdify(xy, grad, modules="math")
    for x, y in starts:
        mx = my = vx = vy = 0.0
        for t in range(1, steps + 1):
            gx, gy = g(x, y)
            mx = b1 * mx + (1 - b1) * gx
            my = b1 * my + (1 - b1) * gy
            vx = b2 * vx + (1 - b2) * gx * gx
            vy = b2 * vy + (1 - b2) * gy * gy
            bc1, bc2 = 1 - b1 ** t, math.sqrt(1 - b2 ** t)
            x -= lr / bc1 * mx / (math.sqrt(vx) / bc2 + eps)
            y -= lr / bc1 * my / (math.sqrt(vy) / bc2 + eps)


def simulation() -> None:
    surface = load_surface("wobbly")
    surface.value_and_grad(np.zeros((1, 2)))  # compile once, outside the timings
    rng = np.random.default_rng(0)
    n, steps = 10_000, 1_000
    starts = rng.uniform(-3, 3, (n, 2))
    adam = {"adam": make_optimizer("adam", lr=0.1)}

    batch = min(_time(lambda: simulate(surface, adam, starts, steps)) for _ in range(3))
    ours = n * steps / batch
    m = 20  # the loops are slow: time a subset, per point-step
    loop = _time(lambda: [simulate(surface, adam, s, steps) for s in starts[:m]])
    per_traj = m * steps / loop
    scalar = _time(lambda: scalar_adam_loop(surface, starts[:m], steps))
    plain = m * steps / scalar
    print(f"\nAdam on wobbly, {n:,} trajectories x {steps:,} steps (best of 3)")
    print(f"  lockstep batch               {batch:7.3f} s   {ours / 1e6:7.2f} M point-steps/s"
          f"   target >= 10: {'ok' if ours >= 10e6 else 'MISSED'}")
    print(f"  same update, one trajectory at a time ({m} timed)   {per_traj / 1e6:7.4f} M/s"
          f"   ratio {ours / per_traj:7.1f}x   target >= 100x: "
          f"{'ok' if ours / per_traj >= 100 else 'MISSED'}")
    print(f"  scalar Python floats + math ({m} timed)            {plain / 1e6:7.4f} M/s"
          f"   ratio {ours / plain:7.1f}x")


MODERN = [("adam", {"lr": 0.1}),  # the baseline, timed the same way
          ("lion", {"lr": 0.01}), ("signsgd", {"lr": 0.01}), ("signum", {"lr": 0.01}),
          ("adan", {"lr": 0.05}), ("adopt", {"lr": 0.05}),
          ("sam", {"base": {"type": "sgd", "lr": 0.05}}),
          ("lookahead", {"base": {"type": "adam", "lr": 0.1}}), ("prodigy", {}),
          ("sgd_schedulefree", {"lr": 0.05}), ("adamw_schedulefree", {"lr": 0.05}),
          ("sophia", {"lr": 0.05})]


def modern(n: int = 10_000, steps: int = 200) -> None:
    """One line per modern optimizer: point-steps/s in one lockstep batch (best of 3).
    SAM and schedule-free take a second gradient per step, Sophia a Hessian every k."""
    surface = load_surface("wobbly")
    surface.value_and_grad(np.zeros((1, 2)))
    surface.hess(np.zeros((1, 2)))
    starts = np.random.default_rng(0).uniform(-3, 3, (n, 2))
    print(f"\nmodern optimizers on wobbly, {n:,} trajectories x {steps} steps (best of 3)")
    for kind, hp in MODERN:
        opt = {kind: make_optimizer(kind, **hp)}
        t = min(_time(lambda: simulate(surface, opt, starts, steps)) for _ in range(3))
        print(f"  {kind:20} {t:7.3f} s   {n * steps / t / 1e6:7.2f} M point-steps/s")


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    if sys.argv[1:] == ["modern"]:
        modern()
    else:
        startup()
        simulation()
        modern()
