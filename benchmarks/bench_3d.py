"""3-D animation benchmark: the still and the turning camera against the 2-D view.

Run:  python benchmarks/bench_3d.py     (about a minute; --runs N)

One article figure (configs/article/wobbly.yaml: 5 optimizers x 125 steps,
12 x 8 in at 100 dpi, fps 10), GIF only, 2-D, 3-D with a still camera
(surface, axes, legend drawn once, paths blitted) and 3-D with a turning
camera (2 degrees a frame: the axes redrawn every frame), each as a whole
process (``optviz run CONFIG --formats gif``, start-up included, timed from
outside: what a user waits for; its CPU time, ffmpeg's included, is
printed too, steadier than the wall time on a loaded machine) and, inside a fresh process, the animation
alone (``render_animation``); median of RUNS, the three kinds alternating so
that a change in the machine's load hits them alike. Prints the load average
before and after: on a shared machine the ratios are what to compare.

Target (issue 21.7): the turning camera's GIF at most 3x the 2-D GIF, whole
process; issue 10's: the still camera at most 3x (the turning GIF's 5 MB is no
longer met: the hill shading that makes its frames look like the still is
about 8 MB of GIF; MP4 is the format for a turning camera).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE = """
import json, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
from optviz.input.config import load_config
from optviz.app.runner import simulate_config
from optviz.render.frames import render_animation
cfg = load_config(sys.argv[1])
tr = simulate_config(cfg)
out = Path(tempfile.mkdtemp())
t = time.perf_counter()
files, errors = render_animation(cfg, tr, out, ["gif"])
dt = time.perf_counter() - t
assert not errors, errors
print(json.dumps({"seconds": dt, "bytes": files[0].stat().st_size}))
"""

KINDS = {"2-D": "", "3-D still": "  view: 3d\n",
         "3-D turning": "  view: 3d\n  camera: {elev: 35, azim: -60, rotate: 2}\n"}


def configs(folder: Path) -> dict[str, Path]:
    """article/wobbly as GIF, one config per kind."""
    base = (Path(__file__).resolve().parents[1] / "configs/article/wobbly.yaml").read_text()
    base = base.replace("formats: [png, gif, mp4]", "formats: [gif]")
    paths = {}
    for i, (kind, extra) in enumerate(KINDS.items()):
        path = folder / f"case{i}.yaml"
        path.write_text(base.rstrip("\n") + "\n" + extra)
        paths[kind] = path
    return paths


def whole(config: Path, out: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one fresh ``optviz run``, its ffmpeg included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "optviz", "run", str(config), "--formats", "gif",
                    "--out", str(out), "-q"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def inside(config: Path) -> dict:
    return json.loads(subprocess.run([sys.executable, "-c", CASE, str(config)],
                                     capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("load average before:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    work = Path(tempfile.mkdtemp(prefix="optviz-bench3d-"))
    paths = configs(work)
    walls = {k: [] for k in KINDS}
    cpus = {k: [] for k in KINDS}
    anims = {k: [] for k in KINDS}
    sizes = {}
    whole(paths["2-D"], work / "warm")  # fills the surface cache and the page cache
    for _ in range(args.runs):
        for kind, path in paths.items():
            wall, cpu = whole(path, work / f"out-{len(walls[kind])}-{kind[:4]}")
            walls[kind].append(wall)
            cpus[kind].append(cpu)
            got = inside(path)
            anims[kind].append(got["seconds"])
            sizes[kind] = got["bytes"]
    med = {k: (statistics.median(walls[k]), statistics.median(cpus[k]),
               statistics.median(anims[k])) for k in KINDS}
    flat = med["2-D"]
    print(f"median of {args.runs}, GIF only, 125 frames at 1200x800 (article/wobbly)")
    print(f"{'':12s} {'whole process: wall':>20s} {'cpu':>14s}   {'animation':>15s}   size")
    for kind in KINDS:
        w, c, a = med[kind]
        print(f"{kind:12s} {w:8.2f} s {w / flat[0]:5.2f}x {c:7.2f} s {c / flat[1]:5.2f}x "
              f"{a:7.2f} s {a / flat[2]:5.2f}x   {sizes[kind] / 2**20:5.2f} MiB")
    print("load average after: ", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
