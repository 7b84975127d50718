"""Whole-process benchmark: what a user waits for, start-up included.

Run:  python benchmarks/bench_process.py            (about three minutes)
      python benchmarks/bench_process.py --quick    (skips the FuncAnimation baseline)

Every figure is a fresh process timed from outside (wall: a monotonic clock
around the child; cpu: the child's user + system time, its ffmpeg children
included), median of RUNS, measured in this one run so the ratios compare
like with like. The surface cache lives in a temporary folder:

1. ``optviz run article/wobbly --formats png``: with the derived surface code
   cached (the usual case: every run after the first) and with the disk cache
   off (``OPTVIZ_CACHE_DIR=""``: SymPy imported and the surface derived, as
   before the cache). Target: <= 0.8 s wall, cached.
2. ``optviz run article/wobbly --formats gif,mp4``, whole process, against the
   FuncAnimation + Animation.save baseline and against our encoders alone on
   the same frames (both timed inside their processes: the animation only, as
   in bench_animation.py). Ours and encode-only alternate. Targets: >= 25x
   the baseline, <= 1.3x the encoders alone.
3. ``optviz batch article --force`` (the 18 configs of configs/article), 2 worker processes.
   Target: <= 15 s wall on 2 cores.

The engine's throughput (>= 10 M point-steps/s, Adam, N = 10,000) is printed
by bench_core.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_animation  # noqa: E402  (its baseline and encode-only scripts)

RUNS = 5


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one fresh process and the children it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_pair(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def optviz(*args: str) -> list[str]:
    return [sys.executable, "-m", "optviz", *args]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the FuncAnimation baseline")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="optviz-bench-"))
    os.environ["OPTVIZ_CACHE_DIR"] = str(work / "cache")  # bench_animation's children too
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    nocache = {**env, "OPTVIZ_CACHE_DIR": ""}
    png = optviz("run", "article/wobbly", "--formats", "png", "--out", str(work / "png"), "-q")
    anim = optviz("run", "article/wobbly", "--formats", "gif,mp4", "--out", str(work / "anim"),
                  "-q")
    try:
        timed(png, env, work)  # warm-up: fills the surface cache and the page cache
        print(f"whole process, fresh processes, median of {args.runs} (wall / cpu s)")
        warm, cold = [], []
        for _ in range(args.runs):
            warm.append(timed(png, env, work))
            cold.append(timed(png, nocache, work))
        w, c = median_pair(warm)
        print(f"  optviz run --formats png, surface cached     {w:6.2f} / {c:5.2f}"
              f"   target <= 0.8 s wall: {'ok' if w <= 0.8 else 'MISSED'}")
        w, c = median_pair(cold)
        print(f"  optviz run --formats png, no surface cache   {w:6.2f} / {c:5.2f}")

        timed(anim, env, work)
        ours, enc = [], []
        for _ in range(args.runs):
            ours.append(timed(anim, env, work))
            enc.append(bench_animation.fresh(bench_animation.ENCODE_ONLY)["seconds"])
        w, c = median_pair(ours)
        e = statistics.median(enc)
        ratios = sorted(o[0] / x for o, x in zip(ours, enc))
        print(f"  optviz run --formats gif,mp4                 {w:6.2f} / {c:5.2f}")
        print(f"  encoders alone on the same frames (in-process) {e:6.2f}")
        print(f"  whole process / encoders alone  {w / e:5.2f}   (target <= 1.3; per pair "
              f"{ratios[0]:.2f}-{ratios[-1]:.2f})")
        if not args.quick:
            base = bench_animation.fresh(bench_animation.BASELINE)["seconds"]
            print(f"  FuncAnimation + Animation.save (in-process)  {base:6.2f}")
            print(f"  speed-up, whole process vs baseline  {base / w:5.1f}x   (target >= 25x)")

        batch = optviz("batch", "article", "--force", "--jobs", "2", "-q")
        timed(batch, env, work)
        runs = [timed(batch, env, work) for _ in range(max(1, args.runs // 2))]
        w, c = median_pair(runs)
        print(f"  optviz batch article --force --jobs 2        {w:6.2f} / {c:5.2f}"
              f"   target <= 15 s wall: {'ok' if w <= 15 else 'MISSED'} (median of {len(runs)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
