"""3-D animation benchmark: the still and the turning camera against the 2-D view.

Run:  python benchmarks/bench_3d.py     (about a minute)

One article figure (configs/article/wobbly.yaml: 5 optimizers x 125 steps,
12 x 8 in at 100 dpi, fps 10), GIF only, each in a fresh process, median of
3: the 2-D animation, the 3-D one with a still camera (surface, axes, legend
drawn once, paths blitted) and with a turning camera (2 degrees a frame:
every frame redrawn whole; the GIF's size is printed too). Targets (issue 10):
still 3-D at most 3x the 2-D time; turning GIF under 5 MB.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

CASE = """
import json, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
from optviz.input.config import load_config
from optviz.app.runner import simulate_config
from optviz.render.frames import render_animation
cfg = load_config("article/wobbly")
view, rotate = sys.argv[1], float(sys.argv[2])
cfg = replace(cfg, render=replace(cfg.render, view=view, camera=(35.0, -60.0, rotate)))
tr = simulate_config(cfg)
out = Path(tempfile.mkdtemp())
t = time.perf_counter()
files, errors = render_animation(cfg, tr, out, ["gif"])
dt = time.perf_counter() - t
assert not errors, errors
print(json.dumps({"seconds": dt, "bytes": files[0].stat().st_size}))
"""


def measure(view: str, rotate: float, runs: int = 3) -> tuple[float, int]:
    got = [json.loads(subprocess.run([sys.executable, "-c", CASE, view, str(rotate)],
                                     capture_output=True, text=True, check=True).stdout)
           for _ in range(runs)]
    return statistics.median(g["seconds"] for g in got), got[0]["bytes"]


def main() -> None:
    flat, flat_size = measure("2d", 0)
    still, still_size = measure("3d", 0)
    turning, turning_size = measure("3d", 2)
    print(f"2-D GIF:               {flat:5.2f} s  {flat_size / 2**20:5.2f} MiB")
    print(f"3-D GIF, still camera: {still:5.2f} s  {still_size / 2**20:5.2f} MiB  "
          f"({still / flat:.2f}x the 2-D time)")
    print(f"3-D GIF, turning:      {turning:5.2f} s  {turning_size / 2**20:5.2f} MiB")


if __name__ == "__main__":
    main()
