"""Animations and batch rendering: real files read back, failures leave nothing behind."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from optviz.app.cli import cli
from optviz.app.runner import run, simulate_config
from optviz.errors import RenderError
from optviz.input.config import parse_config
from optviz.render import encoders
from optviz.render import frames as frames_mod
from optviz.render.contour import shown_path
from optviz.render.frames import Animator, frame_steps, hold_frames
from optviz.render.spec import RenderSpec

CONFIG = """\
title: Animation test
surface: wobbly
steps: 12
optimizers:
  - {type: adam, lr: 0.25}
  - {type: sgd, lr: 0.1}
  - {type: nesterov, lr: 0.02, momentum: 0.9}
render: {formats: [png, gif, mp4, html], fps: 10, size: [6, 4], dpi: 60}
"""
COLOURS = [(0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00), (0x00, 0x9E, 0x73)]
FRAMES = 13 + hold_frames(10)


def near(img, colour, tol=60):
    return int((np.abs(img[..., :3].astype(int) - colour).sum(axis=-1) < tol).sum())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("anim")
    cfg = parse_config(CONFIG, "anim.yaml").with_overrides(output=out)
    result = run(cfg)
    assert not result.errors, result.errors
    return cfg, result, out


def test_all_files_written(rendered):
    cfg, result, out = rendered
    assert sorted(p.name for p in out.iterdir()) == [
        "anim.gif", "anim.html", "anim.mp4", "anim.png", "run.json", "trajectories.csv"]


def test_gif_frames_durations_loop_and_exact_colours(rendered):
    _, _, out = rendered
    im = Image.open(out / "anim.gif")
    assert im.n_frames == FRAMES
    assert im.info["loop"] == 0
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info["duration"])
    assert set(durations) == {100}
    im.seek(0)
    first = np.asarray(im.convert("RGB"))
    assert first.shape == (240, 360, 3)
    assert (first[0, 0] == 255).all() and (first[-1, -1] == 255).all()  # pure white margin
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB"))
    for c in COLOURS:  # pinned palette colours come back exact
        assert (np.abs(last.astype(int) - c).sum(axis=-1) == 0).sum() > 10, c


def test_first_frame_shows_only_the_start_and_last_frame_every_path(rendered):
    cfg, result, out = rendered
    im = Image.open(out / "anim.gif")
    anim = frames_mod.make_animator(cfg, result.trajectories)
    plot = slice(0, int(anim.scene.legend.get_window_extent().x0))  # the legend is right
    first = np.asarray(im.convert("RGB"))[:, plot]
    im.seek(12)
    last = np.asarray(im.convert("RGB"))[:, plot]
    for c in COLOURS[:-1]:
        assert near(first, c) < 8, c  # at most the rim of a head under the last one drawn
    assert near(first, COLOURS[-1]) < 30  # the last head drawn, inside the start's ring
    for c in COLOURS:
        assert near(last, c) > 25, c


def test_mp4_frame_count_fps_and_size(rendered):
    import imageio.v2 as iio

    _, _, out = rendered
    reader = iio.get_reader(out / "anim.mp4")
    meta = reader.get_meta_data()
    frames = [f for f in reader]
    reader.close()
    assert meta["fps"] == 10 and meta["codec"] == "h264" and "yuv420p" in meta["pix_fmt"]
    assert len(frames) == FRAMES and frames[0].shape == (240, 360, 3)
    for c in COLOURS:
        assert near(frames[12], c, tol=90) > near(frames[0], c, tol=90), c


def test_html_is_the_interactive_page_with_the_runs_own_paths(rendered):
    """The html format is optviz's one HTML player (optviz.render.web), holding
    the run's own trajectories exactly; tests/test_web.py reads its data back."""
    import json
    import re

    _, result, out = rendered
    page = (out / "anim.html").read_text()
    assert "<video" not in page and "http://" not in page and "https://" not in page
    assert 'id="ov-play"' in page and 'id="ov-scrub"' in page and 'id="ov-fwd"' in page
    meta = json.loads(re.search(r'id="ov-meta">(.*?)</script>', page, re.S).group(1))
    assert meta["own_only"] and meta["steps"] == 12 and meta["fps"] == 10
    assert [o["label"] for o in meta["opts"]] == list(result.trajectories.labels)


def test_frame_stride_caps_long_runs():
    s = frame_steps(5000, 300)
    assert len(s) <= 300 and s[0] == 0 and s[-1] == 5000
    assert list(frame_steps(10, 300)) == list(range(11))


def test_blitted_frames_show_the_counter_and_move():
    cfg = parse_config(CONFIG, "anim.yaml")
    tr = simulate_config(cfg)
    anim = Animator(cfg.surface, tr, RenderSpec(size=(4, 3), dpi=50))
    a = anim.draw(0).copy()
    b = anim.draw(12).copy()
    assert anim.counter.get_text() == "12"
    assert anim.counter.caption() == "step 12 / 12"
    assert "".join(t.get_text() for t in anim.ax.texts[::-1]).startswith("step12/12")
    assert (a != b).any()
    np.testing.assert_array_equal(anim.draw(0), a)  # restoring the background is exact


def full_redraw(anim):
    """The same figure drawn the ordinary way: every artist, no blitting."""
    for artist in [*anim.moving, *anim.counter.texts]:
        artist.set_animated(False)
    anim.fig.canvas.draw()
    frame = np.asarray(anim.fig.canvas.buffer_rgba()).copy()
    for artist in [*anim.moving, *anim.counter.texts]:
        artist.set_animated(True)
    return frame


@pytest.mark.parametrize("extra, size, dpi, panel", [
    ("", (6, 4), 60, False), ("", (4, 3), 50, False),
    ("  - {type: sgd, lr: 3.0}\n", (12, 8), 100, False),
    ("  - {type: sgd, lr: 3.0}\n", (8, 5), 80, True)])
def test_blitted_frames_equal_a_full_redraw(extra, size, dpi, panel):
    """Paths, heads (an X for a diverged run), markers on top, the step
    counter's pasted digits and the loss panel are pixel for pixel what a
    full draw gives, at every frame, drawn in order and out of order."""
    cfg = parse_config(CONFIG.replace("render:", extra + "render:"), "anim.yaml")
    tr = simulate_config(cfg)
    assert tr.diverged.any() == bool(extra)
    anim = Animator(cfg.surface, tr, RenderSpec(size=size, dpi=dpi, loss_panel=panel))
    for step in [*range(13), 10, 3, 12]:
        blitted = anim.draw(step).copy()
        np.testing.assert_array_equal(blitted, full_redraw(anim), err_msg=f"step {step}")
    for k in np.flatnonzero(tr.diverged[:, 0]):  # the X where the run left the plot
        point, kind = anim.trails.head(k)
        assert kind == "X"
        shown = shown_path(tr.path(k), anim.ax.get_xlim(), anim.ax.get_ylim(), True)
        np.testing.assert_array_equal(point, shown.end[0])  # where it first left the view


LONG_TITLE = "A title long enough to reach the counter " * 2


@pytest.mark.parametrize("title, size, below", [("Short", (6, 4), False),
                                                (LONG_TITLE, (12, 8), True),
                                                (LONG_TITLE, (6, 4), False),
                                                ("Gradient descent with momentum on a wobbly",
                                                 (12, 8), True)])
def test_step_counter_moves_under_the_plot_when_the_title_needs_the_room(title, size, below):
    """A long title pushes the caption under the plot, where a figure has room
    for it there (not in a small 6 x 4 in figure at 60 dpi)."""
    cfg = parse_config(CONFIG, "anim.yaml")
    tr = simulate_config(cfg)
    anim = Animator(cfg.surface, tr, RenderSpec(title=title, size=size, dpi=60))
    anim.draw(12)
    renderer = anim.fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in anim.counter.texts]
    axes = anim.ax.bbox
    if below:
        assert all(b.y1 < axes.y0 and b.y0 >= 0 for b in boxes)
    else:
        assert all(b.y0 > axes.y1 and b.y1 <= anim.size[1] for b in boxes)
    heading = anim.ax.get_title(loc="left")
    if title == LONG_TITLE and not below:  # no room under the plot: the title gives way
        assert heading.endswith("…") and len(heading) > 15
    else:
        assert heading == title
    # the title and the whole caption ("step", digits, "/ 12") never overlap
    caption = [t.get_window_extent(renderer) for t in anim.ax.texts
               if t.get_text() and t.get_fontfamily() == ["DejaVu Sans Mono"]]
    assert len(caption) == len("step12/12")
    title_box = anim.ax._left_title.get_window_extent(renderer)
    assert all(title_box.x1 < b.x0 or title_box.y0 > b.y1 for b in caption)
    np.testing.assert_array_equal(anim.draw(12).copy(), full_redraw(anim))


def test_a_diverged_x_near_the_counter_leaves_no_trace_in_it():
    """The X of a run that leaves through the top edge, unclipped, reaches into
    the step counter's digit cells: blitted frames must still equal a full
    redraw, whatever step is drawn first."""
    cfg = parse_config("""\
title: T
surface: {formula: "-y", domain: {x: [-3, 3], y: [-3, 3]}}
start: [2.44, 2.0]
steps: 12
optimizers:
  - {type: sgd, lr: 5}
""", "x.yaml")
    tr = simulate_config(cfg)
    assert tr.diverged[0, 0]
    anim = Animator(cfg.surface, tr, RenderSpec(size=(12, 8), dpi=100))
    for step in [12, 0, *range(13)]:
        blitted = anim.draw(step).copy()
        np.testing.assert_array_equal(blitted, full_redraw(anim), err_msg=f"step {step}")


def test_trails_draw_what_halo_lines_and_markers_draw():
    """The fast path artist against the matplotlib artists it replaces."""
    from matplotlib import patheffects as pe

    cfg = parse_config(CONFIG, "anim.yaml")
    tr = simulate_config(cfg)
    anim = Animator(cfg.surface, tr, RenderSpec(size=(6, 4), dpi=60))
    fast = anim.draw(7).copy()
    anim.trails.set_visible(False)
    canvas, ax, style = anim.fig.canvas, anim.ax, frames_mod.PathStyle()
    canvas.restore_region(anim.background)
    scale = 0.5 ** 0.5  # (6 x 4 in against 12 x 8)
    made = []
    for k, colour in enumerate(anim.colours):
        p = tr.points[k, 0, :8]
        (line,) = ax.plot(p[:, 0], p[:, 1], color=colour, lw=style.width * scale,
                          solid_capstyle="round", solid_joinstyle="round",
                          path_effects=[pe.Stroke(linewidth=style.halo * scale,
                                                  foreground="white", alpha=0.9), pe.Normal()])
        made.append(line)
    for k, colour in enumerate(anim.colours):  # the stretches later paths hide, dashed over
        q = anim.scene.shared[k].points[: anim.scene.shared[k].upto(7)]
        made += ax.plot(q[:, 0], q[:, 1], color=colour, lw=style.width * scale,
                        ls=(0, (2.0, 2.0)), dash_capstyle="butt", dash_joinstyle="round")
    for k, colour in enumerate(anim.colours):
        p = tr.points[k, 0, 7:8]
        made += ax.plot(p[:, 0], p[:, 1], marker="o", ms=style.head_size * scale, color=colour,
                        mec="white", mew=1.4, ls="")
    for artist in made:
        artist.set_animated(True)
        ax.draw_artist(artist)
    for artist in anim.moving[1:]:
        ax.draw_artist(artist)
    anim.counter.draw(canvas)
    np.testing.assert_array_equal(np.asarray(canvas.buffer_rgba()), fast)


def test_missing_ffmpeg_fails_the_run_and_writes_nothing(tmp_path, monkeypatch):
    """A run's outputs change all at once: with ffmpeg missing, neither the
    animations nor the formats that need no ffmpeg are written, and the error
    names both formats and says how to write the others."""
    monkeypatch.setattr(encoders, "ffmpeg_exe", lambda: str(tmp_path / "no-ffmpeg"))
    cfg = parse_config(CONFIG, "anim.yaml").with_overrides(output=tmp_path / "o")
    with pytest.raises(RenderError) as err:
        run(cfg)
    message = str(err.value)
    assert "gif:" in message and "mp4:" in message and "ffmpeg" in message
    assert "drop the format" in message and "is as it was" in message
    assert not (tmp_path / "o").exists()  # the folder it made is gone again


def test_interrupted_render_keeps_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "o"
    cfg = parse_config(CONFIG, "anim.yaml").with_overrides(output=out, formats="gif,mp4")
    run(cfg)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    original = Animator.draw

    def interrupted(self, step):
        calls["n"] += 1
        if calls["n"] > 6:
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(frames_mod.Animator, "draw", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(cfg)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after.keys() == before.keys()
    assert after["anim.gif"] == before["anim.gif"] and after["anim.mp4"] == before["anim.mp4"]


def test_odd_frame_size_is_refused(tmp_path):
    from optviz.errors import RenderError

    w = encoders.Mp4Writer(tmp_path / "x.mp4", (201, 150), 10)
    with pytest.raises(RenderError, match="even"):
        w.setup()
    assert list(tmp_path.iterdir()) == []


def fake_ffmpeg(folder, body):
    """An executable standing in for ffmpeg: a shell script whose last argument
    is the output file, as in the commands the writers build."""
    exe = folder / "fake-ffmpeg"
    exe.write_text('#!/bin/sh\nfor a; do out="$a"; done\n' + body)
    exe.chmod(0o755)
    return str(exe)


def write_frames(out, n=3, size=(40, 30)):
    writers = encoders.open_writers(out / "x", ["mp4"], size, 10)
    with writers:
        for _ in range(n):
            writers.write_frame(np.zeros((size[1], size[0], 4), np.uint8))
    return writers


def test_ffmpeg_failing_is_reported_with_its_last_message_and_leaves_nothing(
        tmp_path, monkeypatch):
    bin_dir, out = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir(), out.mkdir()
    monkeypatch.setattr(encoders, "ffmpeg_exe", lambda: fake_ffmpeg(
        bin_dir, 'cat >/dev/null\necho "first line" >&2\necho "Unknown encoder x" >&2\nexit 3\n'))
    writers = write_frames(out)
    assert writers.files == []
    assert writers.errors == {
        "mp4": "ffmpeg exited with status 3 while writing x.mp4: first line Unknown encoder x"}
    assert list(out.iterdir()) == []


def test_ffmpeg_printing_more_than_a_pipe_holds_cannot_stall_the_run(tmp_path, monkeypatch):
    """ffmpeg's messages are not read until it ends: 1 MB of them (a pipe holds
    64 KiB) printed before it reads the frames (3.7 MB: more than the frame
    pipe holds) must not block it. Run in a child process with a time limit,
    so that a regression fails instead of hanging the suite."""
    import subprocess
    import sys

    script = f"""
import numpy as np
from pathlib import Path
from optviz.render import encoders
exe = Path({str(tmp_path)!r}) / "fake-ffmpeg"
exe.write_text('#!/bin/sh\\nfor a; do out="$a"; done\\n'
               'head -c 1000000 /dev/zero | tr "\\\\0" x >&2\\ncat > "$out"\\n')
exe.chmod(0o755)
encoders.ffmpeg_exe = lambda: str(exe)
w = encoders.open_writers(Path({str(tmp_path)!r}) / "x", ["mp4"], (640, 480), 10)
with w:
    for _ in range(3):
        w.write_frame(np.full((480, 640, 4), 7, np.uint8))
print(w.files, w.errors)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "x.mp4").read_bytes()
    assert written == bytes([7]) * (3 * 640 * 480 * 4)  # every frame reached the "encoder"


def test_the_frame_pipe_is_widened(tmp_path):
    import fcntl

    limit = int(open("/proc/sys/fs/pipe-max-size").read())
    w = encoders.Mp4Writer(tmp_path / "x.mp4", (40, 30), 10)
    w.setup()
    try:
        size = fcntl.fcntl(w._proc.stdin.fileno(), fcntl.F_GETPIPE_SZ)
    finally:
        w.abort()
    assert size == min(encoders.PIPE_BYTES, max(limit, 65536))
    assert list(tmp_path.iterdir()) == []


def test_batch_continues_past_a_broken_config_and_skips_up_to_date(tmp_path):
    folder = tmp_path / "figs"
    folder.mkdir()
    good = CONFIG.replace("[png, gif, mp4, html]", "[png, gif]")
    for name in ("a", "b"):
        (folder / f"{name}.yaml").write_text(good + f"output: {tmp_path / 'out' / name}\n")
    (folder / "broken.yaml").write_text("surface: wobbly\noptimizers: [{type: adma}]\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["batch", str(folder), "--jobs", "2"])
    assert r.exit_code == 1
    assert "2 rendered, 0 up to date, 1 failed" in r.output
    assert "broken.yaml" in r.output and "did you mean 'adam'" in r.output
    for name in ("a", "b"):
        assert (tmp_path / "out" / name / f"{name}.gif").exists()
    (folder / "broken.yaml").unlink()
    r = runner.invoke(cli, ["batch", str(folder)])
    assert r.exit_code == 0 and "0 rendered, 2 up to date, 0 failed" in r.output
    r = runner.invoke(cli, ["batch", str(folder), "--force", "--jobs", "1"])
    assert r.exit_code == 0 and "2 rendered" in r.output


def test_animated_loss_panel_grows_with_the_frames():
    cfg = parse_config(CONFIG.replace("dpi: 60}", "dpi: 60, loss_panel: true}"), "anim.yaml")
    assert cfg.render.loss_panel
    tr = simulate_config(cfg)
    anim = Animator(cfg.surface, tr, RenderSpec(size=(6, 4), dpi=60, loss_panel=True))
    fstar = 0.9155064452470825  # wobbly's minimum value (surfaces/wobbly.yaml)
    for step in (0, 5, 12):
        anim.draw(step)
        for k, line in enumerate(anim.loss_lines):  # f - f*, on a log scale
            np.testing.assert_array_equal(line.get_ydata(), tr.losses[k, 0, : step + 1] - fstar)
            assert anim.loss_heads[k].get_xdata()[0] == step
            assert anim.loss_now[k].get_text() == f"f−f* {tr.losses[k, 0, step] - fstar:.3g}"
    assert anim.loss_ax.get_yscale() == "log"


def test_loss_panel_must_be_a_boolean():
    from optviz.errors import ConfigError

    with pytest.raises(ConfigError, match="loss_panel must be true or false"):
        parse_config("surface: wobbly\noptimizers: [sgd]\nrender: {loss_panel: yes please}\n")
