"""What a model's gradient costs, against the work budget's estimate of it.

Run:  python benchmarks/bench_model_cost.py      (about half a minute)

The work budget (:mod:`optviz.analysis.budget`) counts a model on data at
``MODEL_COST`` point-steps per parameter and sample for each gradient, plus
``MODEL_OVERHEAD`` per batch step. The budget's point-step is nominal: its
WORK_BUDGET of 3e8 is about 30 s, 0.1 µs each (a surface's gradient in a large
batch with the optimizer's update; plain SGD on Rosenbrock, measured first,
is faster). Each model's time per run and step (4 SGD optimizers, 1 and 16
runs a batch, best of 3) is printed beside the estimate in time. The estimate
should be within about a factor of 2 of the measurement (larger is safe: it
refuses a little early; smaller lets too much through).
"""

from __future__ import annotations

import time

import numpy as np

MODELS = [
    ({"model": {"mlp": [2, 8, 1]}, "data": {"generate": "moons", "n": 128}}, "2-8-1, 128 samples"),
    ({"model": {"mlp": [2, 16, 16, 1]}, "data": {"generate": "moons", "n": 512}},
     "2-16-16-1, 512 samples"),
    ({"model": {"mlp": [2, 32, 32, 1]}, "data": {"generate": "spirals", "n": 256}},
     "2-32-32-1, 256 samples"),
    ({"model": "linear", "data": {"generate": "line", "n": 512}}, "linear, 512 samples"),
]


def seconds_per_point_step(oracle, start, runs: int, steps: int, optimizers: int = 4) -> float:
    from optviz.core.engine import simulate
    from optviz.core.optim import make_optimizer

    opts = {f"sgd{i}": make_optimizer("sgd", lr=1e-4) for i in range(optimizers)}
    starts = np.repeat(np.atleast_2d(np.asarray(start, dtype=np.float64)), runs, axis=0)
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        simulate(oracle, opts, starts, steps)
        best = min(best, time.perf_counter() - t)
    return best / (optimizers * runs * steps)


def main() -> None:
    from optviz.analysis import budget
    from optviz.core.models import build
    from optviz.core.surfaces import load_surface

    nominal = 30.0 / budget.WORK_BUDGET  # seconds of a point-step, as the budget means it
    sgd = seconds_per_point_step(load_surface("rosenbrock"), [-1.2, 1.0], 10_000, 50)
    print(f"the budget's point-step: {nominal * 1e6:.3f} µs; SGD on Rosenbrock, 10,000 runs "
          f"a batch: {sgd * 1e6:.3f} µs\n")
    print(f"{'model':26} {'runs':>4} {'measured µs':>12} {'estimate µs':>12} {'ratio':>6}")
    for spec, name in MODELS:
        model = build(spec)
        for runs in (1, 16):
            measured = seconds_per_point_step(model, model.start, runs, 100)
            estimate = nominal * (budget.model_cost(model)
                                  + (budget.STEP_OVERHEAD + budget.MODEL_OVERHEAD) / runs)
            print(f"{name:26} {runs:>4} {measured * 1e6:>12,.1f} {estimate * 1e6:>12,.1f} "
                  f"{estimate / measured:>6.2f}")


if __name__ == "__main__":
    main()
