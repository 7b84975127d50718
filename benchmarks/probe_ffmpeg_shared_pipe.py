"""Why GIF and MP4 are encoded by two ffmpeg processes, not one.

Run:  python benchmarks/probe_ffmpeg_shared_pipe.py [--tries 25]   (about three minutes)

One ffmpeg reading the frames once and writing both files (the GIF through
``paletteuse`` with the palette as a second input, the MP4 mapped straight
from the pipe) would send each frame through a pipe once instead of twice.
With the ffmpeg that imageio-ffmpeg bundles (9.0.2 when this was written) that
command deadlocks now and then when frames arrive at drawing pace: every
ffmpeg thread waits on a futex, the pipe fills, the run never ends. This
probe feeds each command 40 frames of 360x240, one every 20 ms, and counts
the tries that have not finished 15 s after the last frame.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

W, H, FRAMES, PACE = 360, 240, 40, 0.02
GIF = ["-lavfi", "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle", "-loop", "0",
       "-f", "gif"]
GIF_MAPPED = ["-filter_complex", "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle[gif]",
              "-map", "[gif]", "-loop", "0", "-f", "gif"]
MP4_ALONE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-threads", "1",
             "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]
MP4 = ["-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-threads", "1",
       "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]


def finishes(cmd: list[str], frames: list[bytes]) -> bool:
    """Whether ffmpeg ends within 15 s of its last frame (the frames are written
    by a thread, so a stalled ffmpeg that stops reading cannot block the probe)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def feed():
        try:
            for k in range(FRAMES):
                proc.stdin.write(frames[k % len(frames)])
                proc.stdin.flush()
                time.sleep(PACE)
            proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        proc.wait(timeout=FRAMES * PACE + 15)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False
    finally:
        feeder.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=25)
    tries = parser.parse_args().tries
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (H, W, 4), dtype=np.uint8).tobytes() for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp / "p.png")
        head = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
                "-pix_fmt", "rgba", "-s", f"{W}x{H}", "-r", "10", "-i", "pipe:0",
                "-i", str(tmp / "p.png")]
        commands = {"one process, GIF and MP4": head + GIF_MAPPED + [str(tmp / "a.gif")]
                    + MP4 + [str(tmp / "a.mp4")],
                    "GIF alone (as optviz runs it)": head + GIF + [str(tmp / "b.gif")],
                    "MP4 alone (as optviz runs it)": head[:-2] + MP4_ALONE + [str(tmp / "b.mp4")]}
        print(f"ffmpeg {imageio_ffmpeg.get_ffmpeg_version()}, {tries} tries each")
        for name, cmd in commands.items():
            hung = sum(not finishes(cmd, frames) for _ in range(tries))
            print(f"{name:32s} hung {hung} of {tries}")


if __name__ == "__main__":
    main()
