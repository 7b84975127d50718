"""Animation benchmark: optviz's frame pipeline against the usual matplotlib way.

Run:  python benchmarks/bench_animation.py     (about two minutes)

One article figure (configs/article/wobbly.yaml: 5 optimizers x 125 steps,
12x8 in at 100 dpi, fps 10), GIF + MP4. Every measurement runs in a fresh
process (timings inside one long-lived process are noisy) on the same
trajectories:

- baseline: FuncAnimation + Animation.save with the pillow writer (GIF) and
  the ffmpeg writer (MP4), the way published optimizer animations are made;
- ours: optviz's render_animation (blitted frames streamed to both encoders);
- encode only: the same frames, rendered beforehand and held in memory, fed
  to our encoders alone (the floor for ours);
- memory: our peak RSS for 125 and for 500 frames (must not grow with frames).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap

CONFIG = "article/wobbly"
PAIRS = 5  # runs of ours and of encode-only, alternating

COMMON = f"""
import json, resource, sys, tempfile, time
from pathlib import Path
import numpy as np
import matplotlib
matplotlib.use("Agg")
from optviz.input.config import load_config
from optviz.app.runner import simulate_config
cfg = load_config({CONFIG!r})
steps = int(sys.argv[1]) if len(sys.argv) > 1 else cfg.steps
cfg = cfg.with_overrides(steps=steps)
if steps + 1 > cfg.render.max_frames:  # the memory check wants one frame per step
    from dataclasses import replace
    cfg = replace(cfg, render=replace(cfg.render, max_frames=steps + 1))
tr = simulate_config(cfg)
out = Path(tempfile.mkdtemp())
"""

BASELINE = COMMON + """
import imageio_ffmpeg
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
t0 = time.perf_counter()
s = cfg.surface
(x0, x1), (y0, y1) = s.domain
X, Y = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
Z = s.f(np.stack([X, Y], axis=-1))
fig, ax = plt.subplots(figsize=cfg.render.size, dpi=cfg.render.dpi)
cs = ax.contour(X, Y, Z, levels=list(s.levels), cmap="viridis", linewidths=0.8)
ax.clabel(cs, fontsize=7)
lines = [ax.plot([], [], lw=2, label=label)[0] for label in tr.labels]
heads = [ax.plot([], [], "o", color=l.get_color())[0] for l in lines]
ax.plot(*cfg.start, "ko")
ax.legend(loc="upper left")
ax.set_title(cfg.title)
def update(i):
    for k, (line, head) in enumerate(zip(lines, heads)):
        p = tr.path(k)[: i + 1]
        line.set_data(p[:, 0], p[:, 1])
        head.set_data(p[-1:, 0], p[-1:, 1])
    return lines + heads
ani = FuncAnimation(fig, update, frames=tr.shape[2] + 1, blit=True)
ani.save(out / "base.gif", writer="pillow", fps=cfg.render.fps)
ani.save(out / "base.mp4", writer="ffmpeg", fps=cfg.render.fps)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "gif": (out / "base.gif").stat().st_size,
                  "mp4": (out / "base.mp4").stat().st_size}))
"""

OURS = COMMON + """
from optviz.render import render_animation
t0 = time.perf_counter()
files, errors = render_animation(cfg, tr, out, ["gif", "mp4"])
dt = time.perf_counter() - t0
assert not errors, errors
print(json.dumps({"seconds": dt,
                  "gif": (out / f"{cfg.stem}.gif").stat().st_size,
                  "mp4": (out / f"{cfg.stem}.mp4").stat().st_size,
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ENCODE_ONLY = COMMON + """
from optviz.render.encoders import open_writers
from optviz.render.frames import frame_stream
frames = [f.copy() for f in frame_stream(cfg, tr)]
h, w = frames[0].shape[:2]
t0 = time.perf_counter()
with open_writers(out / "enc", ["gif", "mp4"], size=(w, h), fps=cfg.render.fps,
                  samples=[frames[0], frames[-1]]) as writers:
    for f in frames:
        writers.write_frame(f)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "frames": len(frames)}))
"""


def fresh(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmark step failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"{CONFIG}: GIF + MP4, fresh processes")
    base = fresh(BASELINE)
    print(f"  baseline (FuncAnimation + Animation.save)  {base['seconds']:7.2f} s"
          f"   gif {base['gif'] / 1024:8.0f} KiB   mp4 {base['mp4'] / 1024:6.0f} KiB")
    # ours and encode-only alternate, so both see the same machine load
    ours_runs, enc_runs = [], []
    for _ in range(PAIRS):
        ours_runs.append(fresh(OURS))
        enc_runs.append(fresh(ENCODE_ONLY))
    ours = statistics.median(r["seconds"] for r in ours_runs)
    enc = statistics.median(r["seconds"] for r in enc_runs)
    ratios = sorted(o["seconds"] / e["seconds"] for o, e in zip(ours_runs, enc_runs))
    r0 = ours_runs[0]
    print(f"  optviz render_animation (median of {PAIRS})      {ours:7.2f} s"
          f"   gif {r0['gif'] / 1024:8.0f} KiB   mp4 {r0['mp4'] / 1024:6.0f} KiB")
    print(f"  encoders alone on the same frames          {enc:7.2f} s")
    print(f"\n  speed-up vs baseline      {base['seconds'] / ours:6.1f}x   (target >= 20x)")
    print(f"  total / encode-only       {ours / enc:6.2f}    (target <= 1.5; per pair "
          f"{ratios[0]:.2f}-{ratios[-1]:.2f})")
    long = fresh(OURS, "500")
    print(f"  peak RSS: 125 frames {r0['maxrss_mib']:6.0f} MiB, 500 frames "
          f"{long['maxrss_mib']:6.0f} MiB (ratio {long['maxrss_mib'] / r0['maxrss_mib']:.2f};"
          " the GIF/MP4 stride caps frames at render.max_frames, raised here)")


if __name__ == "__main__":
    main()
