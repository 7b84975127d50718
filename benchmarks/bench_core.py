"""Core speed benchmarks: CLI start-up and vectorised simulation.

Run:  python benchmarks/bench_core.py          (about a minute)
      python benchmarks/bench_core.py modern   (the modern optimizers' lines only)
      python benchmarks/bench_core.py limit    (the compiled limit's line only)

Every ratio is against a baseline measured in the same run on this machine:
- start-up: `optviz --help` / `optviz list surfaces` against `python -c pass`
  (targets: well under 0.5 s);
- simulation: Adam, 10,000 trajectories x 1,000 steps on "wobbly", in one
  lockstep batch, against the same update run one trajectory at a time in a
  plain Python loop (target >= 100x per point-step, >= 10 M point-steps/s on
  one core). A second baseline, a scalar loop over Python floats with a
  `math`-module gradient (the fastest plain-Python form), is printed too;
- the machine's limit: Adam on "wobbly", 100,000 trajectories x 100 steps,
  against a compiled loop of the same arithmetic (the surface's generated
  value_and_grad and Adam's update in torch's order, compiled with numba,
  one trajectory at a time with its state in registers; outputs allocated
  inside the timing as the engine's are). Target: the lockstep batch within
  2x the compiled loop's time. numba is needed only here:
  `pip install -e ".[bench]"` (or `pip install numba`); without it the line
  says so and the rest runs.
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


def compiled_vg(surface):
    """The surface's generated ``value_and_grad`` as a numba function of two
    floats: the same source the engine runs, with ``math`` in place of NumPy's
    ufuncs and a tuple in place of the returned list (so the same arithmetic,
    one point at a time)."""
    import ast

    import numba

    from optviz.core import codegen

    source, names = codegen.generate(*surface._symbolic)
    tree = ast.parse(source)
    (fn,) = [f for f in tree.body if f.name == "value_and_grad"]
    ret = fn.body[-1]
    ret.value = ast.copy_location(ast.Tuple(elts=ret.value.elts, ctx=ast.Load()), ret.value)
    scalar = {"abs": abs, "sign": np.sign}
    ns = {}
    for name, attr in names.items():
        if attr in scalar:
            ns[name] = scalar[attr]
        elif hasattr(math, attr):
            ns[name] = getattr(math, attr)
        else:
            raise SystemExit(f"limit: no scalar form for NumPy's {attr} in the compiled loop")
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "<limit>", "exec"), ns)
    return numba.njit(ns["value_and_grad"])


def compiled_adam(vg):
    """Adam (torch's order: m ← lerp(m, g, 1−β1), v ← vβ2 + (1−β2)g·g,
    d = m/(sqrt(v)/sqrt(1−β2ᵗ) + eps), θ ← θ + d·(−lr/(1−β1ᵗ))) over N starts
    for T steps, recording points (N, T+1, 2) and losses (N, T+1) as the engine
    does; a run whose loss is not finite or that leaves the bound stops there."""
    import numba

    @numba.njit
    def kernel(starts, steps, lr, b1, b2, eps, centre, half, points, losses):
        for i in range(starts.shape[0]):
            x, y = starts[i, 0], starts[i, 1]
            mx = my = vx = vy = 0.0
            points[i, 0, 0], points[i, 0, 1] = x, y
            last = steps
            for t in range(1, steps + 1):
                f, gx, gy = vg(x, y)
                losses[i, t - 1] = f
                mx = mx + (1 - b1) * (gx - mx)
                my = my + (1 - b1) * (gy - my)
                vx = vx * b2 + (1 - b2) * gx * gx
                vy = vy * b2 + (1 - b2) * gy * gy
                bc2 = (1 - b2 ** t) ** 0.5
                a = lr / (1 - b1 ** t)
                nx = x + mx / (math.sqrt(vx) / bc2 + eps) * -a
                ny = y + my / (math.sqrt(vy) / bc2 + eps) * -a
                if not (math.isfinite(f) and abs(nx - centre[0]) <= half[0]
                        and abs(ny - centre[1]) <= half[1]):
                    last = t - 1
                    break
                x, y = nx, ny
                points[i, t, 0], points[i, t, 1] = x, y
            losses[i, last] = vg(x, y)[0]
            points[i, last + 1:] = np.nan
            losses[i, last + 1:] = np.nan

    def run(starts, steps, lr, b1, b2, eps, centre, half):
        # allocated by NumPy, as the engine's arrays are (the same page handling)
        points = np.empty((len(starts), steps + 1, 2))
        losses = np.empty((len(starts), steps + 1))
        kernel(starts, steps, lr, b1, b2, eps, centre, half, points, losses)
        return points, losses

    return run


def limit(n: int = 100_000, steps: int = 100, lr: float = 0.1) -> None:
    """The lockstep batch against a compiled loop of the same arithmetic."""
    try:
        import numba  # noqa: F401
    except ImportError:
        print("\nlimit: skipped (needs numba, for this benchmark only: "
              "pip install -e '.[bench]')")
        return
    surface = load_surface("wobbly")
    surface.value_and_grad(np.zeros((1, 2)))
    starts = np.random.default_rng(0).uniform(-3, 3, (n, 2))
    bound = surface.bound()
    centre, half = (bound[0] + bound[1]) / 2, (bound[1] - bound[0]) / 2
    run = compiled_adam(compiled_vg(surface))
    run(starts[:2], 2, lr, 0.9, 0.999, 1e-8, centre, half)  # compile outside the timings
    adam = {"adam": make_optimizer("adam", lr=lr)}
    ours, compiled = [], []
    for _ in range(5):  # interleaved, so both see the same load
        ours.append(_time_both(lambda: simulate(surface, adam, starts, steps)))
        compiled.append(_time_both(lambda: run(starts, steps, lr, 0.9, 0.999, 1e-8, centre,
                                               half)))
    (batch, batch_cpu), (loop, loop_cpu) = np.min(ours, axis=0), np.min(compiled, axis=0)
    tr = simulate(surface, adam, starts, steps)
    points, losses = run(starts, steps, lr, 0.9, 0.999, 1e-8, centre, half)
    same_nan = np.array_equal(np.isnan(tr.points[0]), np.isnan(points))
    diff = max(np.nanmax(np.abs(tr.points[0] - points)), np.nanmax(np.abs(tr.losses[0] - losses)))
    print(f"\nthe machine's limit: Adam on wobbly, {n:,} trajectories x {steps} steps "
          "(best of 5, wall and CPU seconds)")
    print(f"  compiled loop (numba {numba.__version__})   {loop:7.3f} s  cpu {loop_cpu:7.3f} s   "
          f"{n * steps / loop / 1e6:7.2f} M point-steps/s")
    print(f"  lockstep batch                {batch:7.3f} s  cpu {batch_cpu:7.3f} s   "
          f"{n * steps / batch / 1e6:7.2f} M point-steps/s")
    print(f"  ratio {batch / loop:5.2f}x the limit (cpu {batch_cpu / loop_cpu:5.2f}x)   "
          f"target <= 2x: {'ok' if batch / loop <= 2 else 'MISSED'}")
    print(f"  same results: largest difference {diff:.1e} (libm against NumPy's sin/cos/exp), "
          f"stops {'identical' if same_nan else 'DIFFER'}")


def _time_both(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; CPU time is steadier on a loaded machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    if sys.argv[1:] == ["modern"]:
        modern()
    elif sys.argv[1:] == ["limit"]:
        limit()
    else:
        startup()
        simulation()
        limit()
        modern()
