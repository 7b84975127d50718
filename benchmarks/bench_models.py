"""Models benchmark: is a network's training fast enough to teach with?

Run:  python benchmarks/bench_models.py           (about half a minute)
      python benchmarks/bench_models.py --job     (the job alone, once: what is timed)

The job (issue 23's target): 10 optimizers x 2,000 steps on a 2-16-16-1 tanh
MLP (337 parameters, bce) over 512 generated points (moons), its 100 x 100
loss plane (PCA of the iterates) and the figure written as a PNG. Target: at
most 10 s whole-process on 2 cores (a fresh `python` running the job, imports
included; median of 3).

Ratios against baselines measured in the same run on this machine:
- start-up: `python -c "import numpy, matplotlib"`, the floor of any such process;
- training: the job's rate in parameter-vector steps per second ("point-steps":
  one optimizer's one run advanced one step); and Adam alone in optviz's engine
  against the same network trained by a hand-written NumPy loop (forward,
  backward and the Adam update inline, no engine): the engine's overhead;
- the plane: its 10,000 losses against as many full-data forward passes of
  single networks in a loop.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OPTIMIZERS = [("sgd", {"lr": 0.5}), ("momentum", {"lr": 0.1}), ("nesterov", {"lr": 0.1}),
              ("nag", {"lr": 0.1}), ("adagrad", {"lr": 0.05}), ("rmsprop", {"lr": 0.003}),
              ("adam", {"lr": 0.01}), ("adamw", {"lr": 0.01}), ("lion", {"lr": 0.001}),
              ("adan", {"lr": 0.01})]
SPEC = {"model": {"mlp": [2, 16, 16, 1], "activation": "tanh", "loss": "bce",
                  "init": {"seed": 0}},
        "data": {"generate": "moons", "n": 512, "seed": 0}}
STEPS, RESOLUTION = 2000, 100


def job(out: Path) -> dict[str, float]:
    """The whole task; returns the seconds of each phase."""
    times = {}
    t0 = time.perf_counter()
    from optviz.analysis.projection import plane
    from optviz.core.engine import simulate
    from optviz.core.models import build
    from optviz.core.optim import make_optimizer
    from optviz.render.projection import render_plane

    times["import"] = time.perf_counter() - t0
    t = time.perf_counter()
    model = build(SPEC)
    opts = {f"{k} lr={hp['lr']}": make_optimizer(k, **hp) for k, hp in OPTIMIZERS}
    traj = simulate(model, opts, model.start, STEPS)
    times["train"] = time.perf_counter() - t
    t = time.perf_counter()
    pl = plane(model, traj, resolution=RESOLUTION)
    times["plane"] = time.perf_counter() - t
    t = time.perf_counter()
    render_plane(pl, traj, out / "plane", model=model, title=model.title)
    times["figure"] = time.perf_counter() - t
    return times


def hand_written_adam(model, steps: int, lr=0.01, b1=0.9, b2=0.999, eps=1e-8) -> np.ndarray:
    """The baseline: one network trained with Adam, everything inline in NumPy."""
    theta = np.array(model.start)
    x, y = model.x, model.y
    shapes, offsets = model.shapes, model.offsets
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t in range(1, steps + 1):
        ws = [(theta[at:at + i * o].reshape(i, o), theta[at + i * o:at + i * o + o])
              for (i, o), at in zip(shapes, offsets)]
        acts = [x]
        for j, (w, b) in enumerate(ws):
            z = acts[-1] @ w + b
            acts.append(z if j == len(ws) - 1 else np.tanh(z))
        z = acts[-1][:, 0]
        delta = ((1 / (1 + np.exp(-z)) - y) / len(y))[:, None]
        g = np.empty_like(theta)
        for j in range(len(ws) - 1, -1, -1):
            (i, o), at = shapes[j], offsets[j]
            g[at:at + i * o] = (acts[j].T @ delta).ravel()
            g[at + i * o:at + i * o + o] = delta.sum(0)
            if j:
                delta = (delta @ ws[j][0].T) * (1 - acts[j] ** 2)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr / (1 - b1 ** t) * m / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return theta


def whole_process(repeat: int = 3) -> None:
    py = sys.executable
    floor = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([py, "-c", "import numpy, matplotlib"], check=True)
        floor.append(time.perf_counter() - t0)
    runs, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([py, __file__, "--job", tmp], check=True, stdout=subprocess.DEVNULL)
            runs.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if not (Path(tmp) / "plane.png").stat().st_size:
            raise SystemExit("the job wrote an empty figure")
    t, base = statistics.median(runs), statistics.median(floor)
    print(f"whole process (median of {repeat} fresh processes, 2 cores; on a shared machine the "
          "CPU seconds are the steadier figure)")
    print(f"  python -c 'import numpy, matplotlib'   {base:6.2f} s")
    print(f"  the job: 10 optimizers x {STEPS:,} steps, 2-16-16-1 MLP, 512 points, "
          f"{RESOLUTION}x{RESOLUTION} plane, PNG   wall {t:6.2f} s, CPU "
          f"{statistics.median(cpu):6.2f} s   target <= 10 s wall: {'ok' if t <= 10 else 'MISSED'}")


def in_process() -> None:
    from optviz.core.models import build

    with tempfile.TemporaryDirectory() as tmp:
        times = job(Path(tmp))
    model = build(SPEC)
    point_steps = len(OPTIMIZERS) * STEPS
    print("\nin one process (the job's phases)")
    for name, secs in times.items():
        extra = f"   {point_steps / secs:9,.0f} point-steps/s" if name == "train" else ""
        print(f"  {name:8} {secs:6.2f} s{extra}")
    from optviz.core.engine import simulate
    from optviz.core.optim import make_optimizer

    steps = 500
    loop = min(_rate(lambda: hand_written_adam(model, steps), steps) for _ in range(3))
    adam = {"adam": make_optimizer("adam", lr=0.01)}
    engine = min(_rate(lambda: simulate(model, adam, model.start, steps), steps)
                 for _ in range(3))
    print(f"\ntraining ({steps} steps, best of 3): Adam in optviz's engine {engine:7,.0f} "
          f"steps/s against a hand-written NumPy loop {loop:7,.0f} steps/s: ratio "
          f"{engine / loop:5.2f}x (1 = no engine overhead)")
    grid = model.init(range(RESOLUTION * RESOLUTION))
    n_loop = 500
    t0 = time.perf_counter()
    for p in grid[:n_loop]:
        model.f(p[None])
    single = n_loop / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.f(grid)
    batched = len(grid) / (time.perf_counter() - t0)
    print(f"plane: {batched:9,.0f} networks/s batched against {single:9,.0f}/s one at a time: "
          f"ratio {batched / single:5.1f}x")


def _rate(fn, count: int) -> float:
    t0 = time.perf_counter()
    fn()
    return count / (time.perf_counter() - t0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--job"]:
        out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
        print(job(out))
    else:
        whole_process()
        in_process()
