"""A 5-optimizer comparison: 400-point tuning over 9 starts x 5 seeds x 500 steps.

About 9 M point-steps per optimizer, 45 M in all (the grid x starts x seeds
runs of the tuning), then the tuned optimizers from a 7 x 7 grid of starts
under 5 seeds. Prints the time of each phase and the point-steps per second.
Target: the whole comparison under 15 s on 2 cores.

    python benchmarks/bench_compare.py
"""

import time

from optviz.analysis.compare import resolve_tuning, simulate_runs, summarize
from optviz.app.runner import build_optimizers
from optviz.input.config import parse_config

CONFIG = """\
surface: rosenbrock
steps: 500
starts: {grid: 7}
noise: {sigma: 0.5, seed: 1, seeds: 5}
tune: {objective: final_gap, tol: 1.0e-3, over: {starts: 9, seeds: 5}, budget: 400}
optimizers:
  - {type: adam, lr: {tune: [1.0e-4, 1.0, log]}, beta1: {tune: [0.5, 0.99]}}
  - {type: momentum, lr: {tune: [1.0e-5, 1.0e-2, log]}, momentum: {tune: [0.0, 0.99]}}
  - {type: rmsprop, lr: {tune: [1.0e-4, 1.0, log]}}
  - {type: adagrad, lr: {tune: [1.0e-3, 10.0, log]}}
  - {type: sgd, lr: {tune: [1.0e-5, 1.0e-2, log]}}
"""


def main():
    cfg = parse_config(CONFIG, "bench.yaml")
    t0 = time.perf_counter()
    tuned, results = resolve_tuning(cfg)
    t1 = time.perf_counter()
    traj = simulate_runs(tuned, build_optimizers(tuned))
    rows = summarize(tuned, traj)
    t2 = time.perf_counter()
    point_steps = sum(r.points * r.runs for r in results.values()) * cfg.steps
    print(f"tuning: {len(results)} optimizers x 400 points x 9 starts x 5 seeds x 500 steps "
          f"= {point_steps / 1e6:.1f} M point-steps in {t1 - t0:.2f} s "
          f"({point_steps / (t1 - t0) / 1e6:.1f} M point-steps/s)")
    runs = traj.shape[1]
    print(f"comparison runs: 5 optimizers x {runs} runs x 500 steps in {t2 - t1:.2f} s")
    print(f"total {t2 - t0:.2f} s (target < 15 s on 2 cores)")
    for r in rows:
        print(f"  {r['label']}: success {r['success_rate']:.0%}, median gap "
              f"{r['median_final_gap']}")


if __name__ == "__main__":
    main()
