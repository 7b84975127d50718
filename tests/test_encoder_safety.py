"""The GIF and MP4 writers leave nothing behind, whatever stops them and wherever.

An exception (KeyboardInterrupt, as Ctrl-C raises it) or a real SIGINT is
injected at each phase: starting the first writer, between its ffmpeg starting
and its clean-up being registered, starting the second, between frames, while
finishing, during the rename. Afterwards no ffmpeg this process started may be
alive (checked in /proc, by the pids recorded as each started) and no partial
or palette file may remain.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from optviz import outputs
from optviz.render import encoders

SIZE = (64, 48)
FRAMES = 12


@pytest.fixture
def started(monkeypatch):
    """The pids of every process the encoders start, as they start."""
    encoders.ffmpeg_exe()  # imageio-ffmpeg checks its binary once: not an encoder
    pids = []
    real = subprocess.Popen

    class Recorded(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pids.append(self.pid)

    monkeypatch.setattr(encoders.subprocess, "Popen", Recorded)
    return pids


def processes():
    """(pid, state, parent pid, argv) of every process, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # it ended meanwhile
            continue
        yield int(entry.name), fields[0], int(fields[1]), argv


def alive(pid: int) -> bool:
    """A live process (not a zombie waiting to be reaped) with this pid."""
    return any(p == pid and state != "Z" for p, state, _, _ in processes())


def encoders_on(folder: Path, parent: int | None = None) -> list[int]:
    """Live ffmpeg processes writing in *folder* (children of *parent*, if given)."""
    return [pid for pid, state, ppid, argv in processes()
            if state != "Z" and "ffmpeg" in argv[0] and any(str(folder) in a for a in argv)
            and parent in (None, ppid)]


def assert_nothing_left(folder: Path, pids: list[int], allowed=()):
    assert [p for p in pids if alive(p)] == [] and encoders_on(folder, os.getpid()) == []
    left = sorted(p.name for p in folder.iterdir() if p.name not in allowed)
    assert left == [], left


def frames():
    rng = np.random.default_rng(0)
    for _ in range(FRAMES):
        yield rng.integers(0, 255, size=(SIZE[1], SIZE[0], 4), dtype=np.uint8)


def write_all(folder: Path, stop_at_frame: int | None = None, signal_at_frame=None):
    first = next(frames())
    writers = encoders.open_writers(folder / "x", ["gif", "mp4"], SIZE, 10,
                                    samples=[first, first], pinned=[(255, 0, 0)])
    with writers:
        for i, frame in enumerate(frames()):
            if i == stop_at_frame:
                raise KeyboardInterrupt
            if i == signal_at_frame:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the handler runs at the next bytecode: never gets here
            writers.write_frame(frame)
    return writers


def raise_on_call(n: int, real=None):
    """A stand-in that raises KeyboardInterrupt on its n-th call (1-based), else
    calls *real*."""
    calls = []

    def fake(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs) if real else None
    return fake


def test_a_clean_run_writes_both_files_and_leaves_no_process(tmp_path, started):
    w = write_all(tmp_path)
    assert w.errors == {} and sorted(p.name for p in w.files) == ["x.gif", "x.mp4"]
    assert len(started) == 2
    assert_nothing_left(tmp_path, started, allowed=("x.gif", "x.mp4"))


@pytest.mark.parametrize("call", [1, 2], ids=["first writer", "second writer"])
def test_interrupt_before_ffmpeg_starts(tmp_path, started, monkeypatch, call):
    """The temporary file (and the GIF's palette) exist; ffmpeg does not yet."""
    monkeypatch.setattr(encoders, "ffmpeg_exe", raise_on_call(call, encoders.ffmpeg_exe))
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path)
    assert len(started) == call - 1
    assert_nothing_left(tmp_path, started)


@pytest.mark.parametrize("call", [1, 2], ids=["first writer", "second writer"])
def test_interrupt_just_after_ffmpeg_starts(tmp_path, started, monkeypatch, call):
    monkeypatch.setattr(encoders, "widen_pipe", raise_on_call(call, encoders.widen_pipe))
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path)
    assert len(started) == call
    assert_nothing_left(tmp_path, started)


@pytest.mark.parametrize("call", [1, 2], ids=["first writer", "second writer"])
def test_real_sigint_as_popen_returns(tmp_path, monkeypatch, call):
    """A real SIGINT delivered the moment ffmpeg exists, before its writer has the
    Popen object: the signal waits until the process's clean-up is registered."""
    encoders.ffmpeg_exe()
    pids = []
    real = subprocess.Popen

    class Interrupted(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pids.append(self.pid)
            if len(pids) == call:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(encoders.subprocess, "Popen", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path)
    assert len(pids) == call
    assert_nothing_left(tmp_path, pids)


def test_interrupt_while_building_the_palette(tmp_path, started, monkeypatch):
    real = encoders.global_palette

    def palette(*args):
        image = real(*args)
        save = image.save

        def interrupted_save(path, *a, **kw):
            save(path, *a, **kw)  # the file exists, then Ctrl-C
            raise KeyboardInterrupt
        image.save = interrupted_save
        return image

    monkeypatch.setattr(encoders, "global_palette", palette)
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path)
    assert_nothing_left(tmp_path, started)


def test_interrupt_and_real_sigint_between_frames(tmp_path, started):
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path, stop_at_frame=5)
    assert len(started) == 2
    assert_nothing_left(tmp_path, started)
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path, signal_at_frame=5)
    assert len(started) == 4
    assert_nothing_left(tmp_path, started)


@pytest.mark.parametrize("call", [1, 2], ids=["first writer", "second writer"])
def test_interrupt_while_finishing(tmp_path, started, monkeypatch, call):
    """ffmpeg has ended (the first) or is still encoding (the second) when Ctrl-C
    comes while the writer reads its messages."""
    monkeypatch.setattr(encoders.FfmpegWriter, "_messages",
                        raise_on_call(call, encoders.FfmpegWriter._messages))
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path)
    assert len(started) == 2
    # the first writer's file is complete and in place when the second is stopped
    assert_nothing_left(tmp_path, started, allowed=("x.gif",) if call == 2 else ())
    if call == 2:
        assert (tmp_path / "x.gif").read_bytes()[:6] == b"GIF89a"


@pytest.mark.parametrize("call", [1, 2], ids=["first writer", "second writer"])
def test_interrupt_during_the_rename(tmp_path, started, monkeypatch, call):
    monkeypatch.setattr(outputs.os, "replace", raise_on_call(call, os.replace))
    with pytest.raises(KeyboardInterrupt):
        write_all(tmp_path)
    assert_nothing_left(tmp_path, started, allowed=("x.gif",) if call == 2 else ())


def test_a_failing_writer_is_dropped_and_the_other_finishes(tmp_path, started, monkeypatch):
    """A RenderError (not a signal) in one writer's start keeps the other going."""
    from optviz.errors import RenderError

    def broken(*args):
        raise RenderError("no palette today")
    monkeypatch.setattr(encoders, "global_palette", broken)
    w = write_all(tmp_path)
    assert list(w.errors) == ["gif"] and [p.name for p in w.files] == ["x.mp4"]
    assert_nothing_left(tmp_path, started, allowed=("x.mp4",))


# ----------------------------------------------------------- a real `optviz run`
CONFIG = """\
surface: wobbly
start: [-2.8, -2.5]
steps: {steps}
optimizers: [{{type: adam, lr: 0.1}}, {{type: sgd, lr: 0.05}}]
render: {{formats: [gif, mp4], size: [3, 2], dpi: 50, max_frames: 5000}}
"""


@pytest.mark.parametrize("moment", ["first partial file", "both encoders running"])
def test_sigint_to_optviz_run_at_each_moment(tmp_path, moment):
    """SIGINT to a real `optviz run` the moment its first partial file appears (the
    writers are starting) or once both ffmpeg processes run."""
    (tmp_path / "c.yaml").write_text(CONFIG.format(steps=3000))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "optviz", "run", "c.yaml", "--out", "out",
                             "-q"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the run stages inside its output folder
            parts = list(out.glob(".optviz-stage-*/.*.part.*"))
            if parts and (moment == "first partial file"
                          or len(encoders_on(tmp_path)) == 2):
                break
            time.sleep(0.002)
        else:
            pytest.fail(f"never saw: {moment}")
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert encoders_on(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]  # no output, no stage
