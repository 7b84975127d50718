"""Batch does no work twice: each config is parsed once, in the parent, and
the loaded config travels to the worker."""

import pickle

import numpy as np
import pytest

from optviz.app import batch as batch_mod
from optviz.core.surfaces import load_surface
from optviz.input.config import load_config, parse_config

CONFIG = """\
title: batch
surface: wobbly
steps: 5
optimizers: [{type: adam, lr: 0.25}]
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def test_each_config_is_loaded_once(tmp_path, monkeypatch):
    folder = tmp_path / "figs"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.yaml").write_text(CONFIG + f"output: {tmp_path / 'out' / name}\n")
    loads = []

    def counting(path, *a, **k):
        loads.append(path)
        return load_config(path, *a, **k)

    monkeypatch.setattr(batch_mod, "load_config", counting)
    monkeypatch.setattr("optviz.app.runner.load_config",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded again")))
    results = batch_mod.batch([folder], jobs=1, force=True)
    assert [r.status for r in results] == ["rendered", "rendered"], [r.errors for r in results]
    assert sorted(p.name for p in loads) == ["a.yaml", "b.yaml"]
    assert (tmp_path / "out" / "a" / "a.png").stat().st_size > 0


def test_a_compiled_surface_pickles_without_its_functions_and_recompiles():
    s = load_surface("wobbly")
    pts = np.array([[0.3, -1.2], [2.0, 1.0]])
    before = s.value_and_grad(pts)
    assert "_compiled" in s.__dict__
    back = pickle.loads(pickle.dumps(s))
    assert "_compiled" not in back.__dict__ and back.formula == s.formula
    after = back.value_and_grad(pts)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


def test_animations_are_scheduled_before_still_figures():
    still = parse_config(CONFIG, "still.yaml")
    moving = parse_config(CONFIG.replace("[png]", "[png, gif, mp4]"), "moving.yaml")
    assert batch_mod.job_cost(moving) > batch_mod.job_cost(still)


def test_the_palette_samples_are_the_frames_written_and_nothing_is_drawn_twice(
        tmp_path, monkeypatch):
    from optviz.app.runner import simulate_config
    from optviz.render import frames as frames_mod

    cfg = parse_config(CONFIG.replace("[png]", "[gif]").replace("steps: 5", "steps: 7"),
                       "f.yaml")
    tr = simulate_config(cfg)
    written, drawn = [], []

    class Recorder:
        files, errors = [], {}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def write_frame(self, frame):
            written.append(np.array(frame))

    def fake_writers(stem, formats, size, fps, *, samples, **kw):
        written.extend(["samples", *[np.array(s) for s in samples]])
        return Recorder()

    monkeypatch.setattr(frames_mod, "open_writers", fake_writers)
    real_draw = frames_mod.Animator.draw
    monkeypatch.setattr(frames_mod.Animator, "draw",
                        lambda self, step: drawn.append(step) or real_draw(self, step))
    frames_mod.render_animation(cfg, tr, tmp_path, ["gif"])
    assert sorted(drawn) == list(range(8))  # steps 0..7, each once
    samples, frames = written[1:3], written[3:]
    # an animator of its own, drawing in order, gives the same frames, pixel for pixel
    expected = [np.array(f) for f in frames_mod.frame_stream(cfg, tr)]
    assert len(frames) == len(expected) == 8 + frames_mod.hold_frames(cfg.render.fps)
    for got, want in zip(frames, expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(samples[0], expected[0])
    np.testing.assert_array_equal(samples[1], expected[-1])


LONG_TITLE = "A title long enough to reach the counter " * 2


@pytest.mark.parametrize("title, size, extra, shared", [
    ("Short", (12, 8), "", True),
    (LONG_TITLE, (12, 8), "", True),  # the counter goes under the plot
    ("Short", (12, 8), "  - {type: sgd, lr: 3.0}\n", True),  # a diverged run's X
    ("Short", (12, 8), "  - {type: sgd, lr: 0.4}\n", True),  # leaves the view: an arrow
    ("Short", (12, 8), "noise: {kind: gaussian, sigma: 0.3, seed: 2}\n", True),  # a note
    (LONG_TITLE, (6, 4), "", False)])  # title shortened, halos differ: drawn afresh
def test_the_png_drawn_with_an_animation_equals_the_static_figure(
        tmp_path, monkeypatch, title, size, extra, shared):
    """A run writing PNG and GIF draws the contours once (where the figures
    agree); its PNG is the one render_static writes, pixel for pixel and byte
    for byte."""
    from PIL import Image

    from optviz.app.runner import run
    from optviz.render import static as static_mod
    from optviz.render.spec import render_spec

    calls = []
    real = static_mod.render_static
    monkeypatch.setattr(static_mod, "render_static",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    optimizers = "optimizers:\n  - {type: adam, lr: 0.25}\n"
    if extra.startswith("  -"):
        optimizers += extra
    text = (CONFIG.replace("render: {formats: [png], size: [4, 3], dpi: 40}",
                           f"render: {{formats: [png, gif], size: [{size[0]}, {size[1]}], "
                           "dpi: 40}")
            .replace("title: batch", f"title: {title!r}")
            .replace("optimizers: [{type: adam, lr: 0.25}]\n", optimizers)
            .replace("steps: 5", "steps: 12"))
    if "lr: 0.4" in extra:
        text = text.replace("dpi: 40}", "dpi: 40, view_box: domain}")
    if extra.startswith("noise"):
        text += extra
    cfg = parse_config(text, "p.yaml").with_overrides(output=tmp_path / "both")
    result = run(cfg)
    assert not result.errors, result.errors
    assert len(calls) == (0 if shared else 1)
    assert ("lr: 3.0" in extra) == bool(result.trajectories.diverged.any())
    (ref,) = real(cfg.surface, result.trajectories, tmp_path, "ref", ["png"],
                  render_spec(cfg))
    png = cfg.output / f"{cfg.stem}.png"
    assert png in result.files
    a = np.asarray(Image.open(png).convert("RGBA"))
    b = np.asarray(Image.open(ref).convert("RGBA"))
    assert a.shape == b.shape == (size[1] * 40, size[0] * 40, 4)
    np.testing.assert_array_equal(a, b)
    assert png.read_bytes() == ref.read_bytes()
    # the GIF's last frame is that figure with the step counter
    gif = Image.open(cfg.output / f"{cfg.stem}.gif")
    gif.seek(gif.n_frames - 1)
    last = np.asarray(gif.convert("RGB")).astype(int)
    assert np.abs(last - b[..., :3]).max() > 0  # the counter differs
    assert np.mean(np.abs(last - b[..., :3]).max(axis=-1) > 40) < 0.01
