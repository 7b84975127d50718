"""Encoders that take pixel arrays, not figures: GIF and MP4.

A small writer protocol (``setup`` / ``write_bytes`` / ``finish``, plus
``abort``), as in matplotlib's movie writers but fed RGBA pixels;
:class:`Writers` feeds one frame stream drawn once (``write_frame``) to every
format. GIF and MP4 are encoded by the ffmpeg that imageio-ffmpeg bundles,
each in its own process reading raw frames from a pipe: encoding runs on the other core while Python draws, and memory
does not grow with the number of frames. (One ffmpeg writing both files from
one pipe would copy each frame once, not twice, but the bundled ffmpeg 9
deadlocks now and then on that command: benchmarks/probe_ffmpeg_shared_pipe.py.)

Every output goes to a temporary file beside its target and is renamed into
place only when complete (:func:`optviz.outputs.atomic_path`); nothing is
written to the system's temporary folder. A run writes into a staging folder
(:func:`optviz.outputs.output_folder`), so these temporary files live there too.

Each writer is a context manager end to end: everything it makes (the
temporary file, the GIF's palette file, ffmpeg's message file, the ffmpeg
process, the feeder thread) is registered on its own ExitStack in the same
step that makes it, with SIGINT and SIGTERM held back for that step (a Ctrl-C
between ``Popen`` returning and its kill being registered would otherwise leave
ffmpeg running; :func:`optviz.outputs.signals_held`). So an exception or a
signal at any phase (starting either writer, mid-frame, while finishing, during
the rename) unwinds whatever exists: no ffmpeg process and no ``.part`` file is
left.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optviz.errors import RenderError
from optviz.outputs import signals_held, atomic_path

ANIMATED_FORMATS = ("gif", "mp4")  # "html" is the interactive page (optviz.render.web)
PIPE_BYTES = 1 << 20  # the frame pipe's buffer (widen_pipe)
CRF = 23  # x264 quality: visually clean for flat plots; imageio's "quality" is not crf


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # ImportError, or no binary for this platform
        raise RenderError(f"ffmpeg is not available ({e}); install imageio-ffmpeg "
                          "(pip install imageio-ffmpeg) to write GIF and MP4") from None


def frame_bytes(rgba: np.ndarray) -> memoryview:
    """The frame as packed RGBA: a copy, never a view of the live canvas buffer
    (a writer that queued the view would store the same frame again and again).
    The alpha channel is kept: a plain copy is ~30x cheaper than packing RGB24
    (measured 0.17 ms against 4.8 ms a 1200x800 frame), which costs far more
    than the extra quarter of bytes through the pipe."""
    return memoryview(np.array(rgba, dtype=np.uint8, order="C", copy=True))


def widen_pipe(pipe) -> None:
    """Give the pipe to ffmpeg a 1 MiB buffer where the OS allows it (Linux:
    F_SETPIPE_SZ, up to /proc/sys/fs/pipe-max-size), instead of the default
    64 KiB: a 3.8 MB frame then crosses in a few writes, not sixty, and the
    two processes stop waking each other for every 64 KiB."""
    import fcntl

    with contextlib.suppress(AttributeError, OSError, ValueError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class FfmpegWriter:
    """Raw RGBA frames piped into an ffmpeg process that writes one file.

    A context manager (``with writer: writer.write_bytes(...)``): leaving the
    block normally finishes the file, leaving it by an exception aborts it;
    ``setup`` / ``finish`` / ``abort`` are the same steps by hand.
    """

    def __init__(self, target: Path, size: tuple[int, int], fps: int):
        self.target, self.size, self.fps = Path(target), size, fps
        self.tmp: Path | None = None
        self._stack: contextlib.ExitStack | None = None  # what exists, to unwind
        self._proc = self._thread = self._log = None
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: str | None = None

    def __enter__(self) -> "FfmpegWriter":
        self.setup()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

    def output_args(self) -> list[str]:
        raise NotImplementedError

    def extra_inputs(self, stack: contextlib.ExitStack, tmp: Path) -> list[str]:
        """Further ffmpeg inputs; a file made for them is registered on *stack*."""
        return []

    def setup(self) -> None:
        w, h = self.size
        if w % 2 or h % 2:
            raise RenderError(f"frame size {w}x{h} must be even for H.264/yuv420p")
        self._stack = stack = contextlib.ExitStack()
        try:
            with signals_held():
                self.tmp = stack.enter_context(atomic_path(self.target))
            cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt",
                   "rgba", "-s", f"{w}x{h}", "-r", str(self.fps), "-i", "pipe:0",
                   *self.extra_inputs(stack, self.tmp), *self.output_args(), str(self.tmp)]
            # ffmpeg's messages go to an unnamed file beside the output, not to a
            # pipe: a pipe nobody reads until the end could fill and stall ffmpeg
            with signals_held():
                self._log = stack.enter_context(tempfile.TemporaryFile(dir=self.tmp.parent))
            with signals_held():
                try:
                    self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                                  stdout=subprocess.DEVNULL, stderr=self._log)
                except OSError as e:
                    raise RenderError(f"ffmpeg could not be started ({e.strerror or e}); "
                                      "install imageio-ffmpeg") from None
                stack.callback(self._stop_process)
            widen_pipe(self._proc.stdin)
            with signals_held():
                self._thread = threading.Thread(target=self._feed, daemon=True)
                self._thread.start()
                stack.callback(self._stop_feeder)
        except BaseException:
            self.abort()
            raise

    def write_bytes(self, data: memoryview) -> None:
        """Queue a frame (:func:`frame_bytes`); a feeder thread pipes it to
        ffmpeg, so that drawing the next frame overlaps with this one's transfer
        (bounded queue: memory does not grow with the number of frames)."""
        if self._error is not None:
            self._fail(self._error)
        self._queue.put(data)

    def _feed(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            if self._error is None:
                try:
                    self._proc.stdin.write(item)
                except (BrokenPipeError, OSError, ValueError):
                    self._error = "stopped reading frames"
        with contextlib.suppress(OSError, ValueError):
            self._proc.stdin.close()

    def finish(self) -> Path:
        """Send the end of the frames, wait for ffmpeg and rename the file into place.
        Any failure, a signal included, aborts (nothing is left) and is raised."""
        try:
            self._queue.put(None)
            self._thread.join()
            code = self._proc.wait()
            err = self._messages()
            if code != 0:
                self._fail(f"exited with status {code}", err)
            if self._error is not None:
                self._fail(self._error, err)
            if not self.tmp.exists() or self.tmp.stat().st_size == 0:
                self._fail("wrote no file", err)
            with signals_held():  # unwind in order: the rename comes last
                stack, self._stack = self._stack, None
                stack.close()
        except BaseException:
            self.abort()
            raise
        return self.target

    def abort(self) -> None:
        """Stop ffmpeg and remove everything this writer made (safe to call twice)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            with signals_held():
                # unwound as by an exception: atomic_path removes the temporary file
                with contextlib.suppress(Exception):
                    stack.__exit__(RenderError, RenderError("aborted"), None)

    def _stop_process(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        with contextlib.suppress(Exception):
            self._proc.stdin.close()

    def _stop_feeder(self) -> None:
        if not self._thread.is_alive():
            return
        if self._proc.poll() is None:  # first, so that a write blocked on the pipe fails
            self._proc.kill()
        with contextlib.suppress(queue.Empty):
            while True:  # drain so the feeder sees the end marker
                self._queue.get_nowait()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=5)

    def _messages(self) -> str:
        """What ffmpeg printed (at most its last 64 KiB)."""
        if self._log is None or self._log.closed:
            return ""
        end = self._log.seek(0, 2)
        self._log.seek(max(0, end - 65536))
        return self._log.read().decode(errors="replace")

    def _fail(self, what: str, stderr: str = "") -> None:
        if not stderr and self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.kill()
                self._proc.wait()
                stderr = self._messages()
        self.abort()
        tail = " ".join(stderr.strip().splitlines()[-3:])
        raise RenderError(f"ffmpeg {what} while writing {self.target.name}"
                          + (f": {tail}" if tail else ""))


class Mp4Writer(FfmpegWriter):
    """H.264 in yuv420p (plays everywhere), +faststart for the web."""

    def output_args(self) -> list[str]:
        # one encoder thread: the other core is busy drawing and encoding the GIF
        return ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(CRF), "-threads", "1",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]


class GifWriter(FfmpegWriter):
    """One global palette for the whole animation, no dithering.

    A per-frame adaptive palette makes files ~50x larger and flickers. The
    palette is built before the first frame from sample frames (the empty
    background and the finished figure), with the exact colours that matter
    pinned (white, black, each path's colour) so that they come back exact;
    ffmpeg's paletteuse then maps every pixel to its true nearest entry, and
    ``diff_mode=rectangle`` re-encodes only the part of a frame that changed.
    """

    def __init__(self, target, size, fps, samples: Sequence[np.ndarray] = (),
                 pinned: Sequence[tuple[int, int, int]] = ()):
        super().__init__(target, size, fps)
        self.samples, self.pinned = samples, pinned

    def extra_inputs(self, stack: contextlib.ExitStack, tmp: Path) -> list[str]:
        palette = global_palette(self.samples, self.pinned)
        path = tmp.with_name(tmp.name + ".palette.png")
        with signals_held():  # removed with the writer, however it ends
            stack.callback(path.unlink, missing_ok=True)
            palette.save(path)
        return ["-i", str(path)]

    def output_args(self) -> list[str]:
        return ["-lavfi", "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle",
                "-loop", "0", "-f", "gif"]


def global_palette(samples: Sequence[np.ndarray], pinned: Sequence[tuple[int, int, int]]):
    """A 16x16 palette image: the pinned colours first, then the samples' commonest."""
    from PIL import Image

    fixed = [(255, 255, 255), (0, 0, 0)] + [tuple(int(v) for v in c) for c in pinned]
    fixed = list(dict.fromkeys(fixed))
    colours = list(fixed)
    if samples:
        # every other pixel is plenty to find the commonest colours, at a quarter the cost
        stack = np.concatenate([np.asarray(s)[::2, ::2, :3] for s in samples], axis=0)
        quant = Image.fromarray(np.ascontiguousarray(stack)).quantize(
            256 - len(fixed), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        pal = np.array(quant.getpalette()[: 3 * (256 - len(fixed))]).reshape(-1, 3)
        used = np.bincount(np.asarray(quant).ravel(), minlength=len(pal))
        for idx in np.argsort(-used):
            c = tuple(int(v) for v in pal[idx])
            # keep other entries away from the pinned colours, so none can capture them
            if used[idx] and min(sum(abs(a - b) for a, b in zip(c, f)) for f in fixed) > 6:
                colours.append(c)
            if len(colours) == 256:
                break
    colours += [colours[-1]] * (256 - len(colours))
    return Image.fromarray(np.array(colours, dtype=np.uint8).reshape(16, 16, 3))


class Writers:
    """Feed one frame stream to several writers; a writer that fails is dropped
    (its error kept) and the others go on. A context manager over the writers':
    an exception or a signal while starting any of them, between frames or while
    finishing aborts every writer not yet finished."""

    def __init__(self, writers: dict[str, object]):
        self.writers = dict(writers)
        self.errors: dict[str, str] = {}
        self.files: list[Path] = []
        self._stack = contextlib.ExitStack()  # each started writer's abort

    def __enter__(self) -> "Writers":
        try:
            for fmt, w in list(self.writers.items()):
                with signals_held():
                    self._stack.callback(w.abort)
                self._guard(fmt, w.setup)
        except BaseException:
            self._abort_all()
            raise
        return self

    def write_frame(self, rgba: np.ndarray) -> None:
        data = frame_bytes(rgba)  # one copy, shared by every writer
        for fmt, w in list(self.writers.items()):
            self._guard(fmt, w.write_bytes, data)

    def _guard(self, fmt, fn, *args):
        try:
            return fn(*args)
        except RenderError as e:
            self.errors[fmt] = str(e)
            self.writers.pop(fmt).abort()

    def _abort_all(self) -> None:
        with signals_held():
            with contextlib.suppress(Exception):
                self._stack.close()  # every abort; a finished writer's does nothing

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:  # Ctrl-C or a drawing error: nothing is left behind
            self._abort_all()
            return
        try:
            for fmt, w in list(self.writers.items()):
                path = self._guard(fmt, w.finish)
                if path is not None:
                    self.files.append(path)
        finally:
            self._abort_all()


def open_writers(stem_path: Path, formats: Sequence[str], size: tuple[int, int], fps: int, *,
                 samples: Sequence[np.ndarray] = (),
                 pinned: Sequence[tuple[int, int, int]] = ()) -> Writers:
    """Writers for the requested animated formats, as one context manager."""
    stem_path = Path(stem_path)
    made: dict[str, object] = {}
    for fmt in formats:
        target = stem_path.with_name(f"{stem_path.name}.{fmt}")
        if fmt == "gif":
            made[fmt] = GifWriter(target, size, fps, samples, pinned)
        elif fmt == "mp4":
            made[fmt] = Mp4Writer(target, size, fps)
        else:
            raise ValueError(f"not an animated format: {fmt}")
    return Writers(made)
