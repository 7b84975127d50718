"""Explore benchmark: how fast switching surface answers.

Run:  python benchmarks/bench_explore.py     (about half a minute)

The explorer on an Agg canvas (13 x 8 in at 100 dpi, the default config's
five optimizers, 125 steps), every shipped surface warmed beforehand (the
window does it in a background thread: it compiles each formula with SymPy
and finds the surface's default lrs). Per switch, medians over every surface:

- answer: ``set_surface`` up to the redraw request (load, the surface's
  learning rates from a batched 60-lr grid per optimizer, the new contours,
  the simulation, the legend readings): what the window waits for before it
  can paint;
- paint: the one full redraw that follows, on Agg (a GUI backend does the same
  work in its idle callback).
"""

from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")


def main() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from optviz.app.explore import Explorer, shipped_surfaces
    from optviz.input.config import load_config

    names = shipped_surfaces()
    fig = Figure(figsize=(13, 8), dpi=100)
    canvas = FigureCanvasAgg(fig)
    e = Explorer(load_config("default"), fig)
    t0 = time.perf_counter()
    e.warm(names)  # what the window's background thread does
    cold = time.perf_counter() - t0
    canvas.draw_idle = lambda: None  # time the answer and the paint apart
    answers, paints = [], []
    for name in names * 2:
        t = time.perf_counter()
        e.set_surface(name)
        answers.append(time.perf_counter() - t)
        t = time.perf_counter()
        canvas.draw()
        paints.append(time.perf_counter() - t)
    print(f"warm-up, all {len(names)} surfaces (compile, default lrs; once): {cold:.2f} s")
    print(f"switch surface, answer: median {statistics.median(answers) * 1000:.0f} ms, "
          f"max {max(answers) * 1000:.0f} ms")
    print(f"switch surface, paint:  median {statistics.median(paints) * 1000:.0f} ms, "
          f"max {max(paints) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
