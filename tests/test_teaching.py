"""Teaching: demos, per-optimizer exact gradients in noisy runs, notebook display."""

import numpy as np
import pytest
from click.testing import CliRunner

from optviz.app.cli import cli
from optviz.app.runner import run, simulate_config
from optviz.input import library
from optviz.input.config import load_config, parse_config
from optviz.render.spec import RenderSpec

DEMOS = [n.split("/", 1)[1] for n in library.names("configs") if n.startswith("demos/")]


def test_there_are_demos_for_every_lesson():
    assert {"ravine", "newton-bowl", "newton-saddle", "plateau", "too-large-lr",
            "nesterov-vs-momentum", "adagrad-vs-rmsprop", "adabound", "noisy-sgd"} <= set(DEMOS)


@pytest.mark.parametrize("name", DEMOS)
def test_every_demo_runs_and_states_its_lesson(name, tmp_path):
    cfg = load_config(f"demos/{name}")
    assert cfg.lesson and cfg.file.read_text().startswith("# Demo:")
    result = run(cfg, out=tmp_path, formats=["png"])
    assert not result.errors and (tmp_path / f"{name}.png").exists()


def test_demo_lessons_hold():
    """The demos show what they say (final losses from the configs as shipped)."""
    def finals(name):
        tr = simulate_config(load_config(f"demos/{name}"))
        return dict(zip(tr.labels, tr.final_losses[:, 0])), tr

    f, tr = finals("ravine")
    assert f["momentum lr=0.5, 0.6"] < 0.2 * f["SGD lr=0.9"]
    # and in the contour: momentum swings across the valley less than SGD
    # zig-zags (after the first bounce), and gets further along its floor
    sgd, mom = tr.points[tr.labels.index("SGD lr=0.9"), 0], \
        tr.points[tr.labels.index("momentum lr=0.5, 0.6"), 0]
    assert np.abs(mom[3:, 1]).max() < 0.8 * np.abs(sgd[3:, 1]).max()
    assert abs(mom[-1, 0]) < 0.5 * abs(sgd[-1, 0])
    f, tr = finals("newton-bowl")
    assert f["Newton"] < 1e-20 and tr.losses[0, 0, 1] < 1e-20  # one step
    f, _ = finals("plateau")
    assert f["Adam lr=0.05"] < 1e-3 < f["SGD lr=0.1"]
    _, tr = finals("too-large-lr")
    assert tr.diverged[:, 0].tolist() == [False, True, True]
    f, _ = finals("adagrad-vs-rmsprop")
    assert f["RMSProp lr=0.1"] < 1e-3 * f["Adagrad lr=0.5"]
    f, _ = finals("noisy-sgd")
    assert f["full-batch GD"] < 1e-6 < f["noisy SGD (sigma 1.5)"]
    # AdaBound on Adam's path for its first 60 steps, then slowed to SGD's pace
    f, tr = finals("adabound")
    ab, adam, sgd = "AdaBound → SGD lr=0.005", "Adam lr=0.1", "SGD lr=0.005"
    k = {label: i for i, label in enumerate(tr.labels)}
    gap = np.linalg.norm(tr.points[k[ab], 0] - tr.points[k[adam], 0], axis=1)
    assert gap[:61].max() < 1e-2 and gap[-1] > 0.1
    assert 10 * f[adam] < f[ab] < f[sgd]
    late = slice(-100, None)  # the last 100 steps: AdaBound's loss falls like SGD's
    drop = {name: np.log(tr.losses[k[name], 0, late][0] / tr.losses[k[name], 0, -1])
            for name in (ab, adam, sgd)}
    assert drop[ab] < 0.6 * drop[adam] and abs(drop[ab] - drop[sgd]) < abs(drop[ab] - drop[adam])
    # pure Newton goes into the saddle at (0, 0); fallback, damping and SGD leave it
    f, tr = finals("newton-saddle")
    ends = dict(zip(tr.labels, tr.final_points[:, 0]))
    assert np.linalg.norm(ends["pure Newton lr=0.5"]) < 1e-3
    assert all(abs(p[1]) > 0.5 for label, p in ends.items() if label != "pure Newton lr=0.5")


def test_demo_cli_lists_and_suggests(tmp_path):
    r = CliRunner().invoke(cli, ["demo", "--list"])
    assert r.exit_code == 0 and "ravine" in r.output and "zig-zags" in r.output
    r = CliRunner().invoke(cli, ["demo", "ravin"])
    assert r.exit_code == 2 and "did you mean 'ravine'" in r.output
    r = CliRunner().invoke(cli, ["demo", "ravine", "--out", str(tmp_path), "--formats", "png",
                                 "-q"])
    assert r.exit_code == 0 and (tmp_path / "ravine.png").exists()


def test_noisy_false_gets_exact_gradients():
    text = ("surface: wobbly\nsteps: 20\nnoise: {sigma: 1.0, seed: 5}\n"
            "optimizers: [{type: sgd, lr: 0.01, noisy: false}, {type: sgd, lr: 0.02}]\n")
    tr = simulate_config(parse_config(text))
    exact = simulate_config(parse_config(text.replace("noise: {sigma: 1.0, seed: 5}\n", "")))
    np.testing.assert_array_equal(tr.points[0], exact.points[0])
    assert not np.array_equal(tr.points[1], exact.points[1])


def test_notebook_display(tmp_path):
    cfg = parse_config("surface: wobbly\nsteps: 5\noptimizers: [adam]\n"
                       "render: {formats: [png, mp4], size: [4, 3], dpi: 40}\n", "nb.yaml")
    result = run(cfg, out=tmp_path)
    html = result._repr_html_()
    assert html.startswith("<video") and "data:video/mp4;base64," in html
    assert result._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    still = run(cfg, out=tmp_path / "png", formats=["png"])
    assert still._repr_html_().startswith("<img") and "data:image/png;base64," in \
        still._repr_html_()


def test_ravine_demo_has_equal_axes():
    from optviz.render.frames import make_animator

    cfg = load_config("demos/ravine")
    anim = make_animator(cfg, simulate_config(cfg))
    box = anim.ax.get_window_extent()
    (x0, x1), (y0, y1) = anim.ax.get_xlim(), anim.ax.get_ylim()
    assert abs(box.width / box.height - (x1 - x0) / (y1 - y0)) < 0.02 * (x1 - x0) / (y1 - y0)


def test_overlays_record_gradient_step_and_first_moment():
    from optviz.core.overlays import OverlayRecorder
    from optviz.render.frames import Animator

    cfg = parse_config("surface: ravine\nstart: [-9, 2.5]\nsteps: 15\n"
                       "optimizers: [{type: sgd, lr: 0.9}, {type: momentum, lr: 0.5, momentum: 0.8}]\n"
                       "render: {overlays: [gradient, step, momentum], size: [6, 4], dpi: 40}\n")
    rec = OverlayRecorder(2, cfg.steps)
    tr = simulate_config(cfg, observe=rec)
    o = rec.data
    for k in range(2):
        pts = tr.path(k)
        np.testing.assert_array_equal(o.gradient[k], cfg.surface.grad(pts[:-1]))
        np.testing.assert_allclose(o.step[k], np.diff(pts, axis=0), rtol=1e-12, atol=1e-15)
    assert np.isnan(o.momentum[0]).all()  # plain SGD keeps no first moment
    buf = o.gradient[1, 0]
    for t in range(1, cfg.steps):  # torch's buffer: b ← μ·b + g
        buf = 0.8 * buf + o.gradient[1, t]
        np.testing.assert_allclose(o.momentum[1, t], buf, rtol=1e-12)
    anim = Animator(cfg.surface, tr, RenderSpec(size=(6, 4), dpi=40, overlays=cfg.render.overlays),
                    overlays=o)
    # the stated rule (README, Animator._make_quivers): gradient and first moment are
    # drawn negated, times each optimizer's lr (1 here: none given), and stretched
    # alike so that the run's longest of them is 15% of the plot's larger side;
    # steps are drawn at their true length
    (x0, x1), (y0, y1) = cfg.surface.domain
    assert (anim.ax.get_xlim(), anim.ax.get_ylim()) == ((x0, x1), (y0, y1))  # paths inside
    longest = 0.15 * max(x1 - x0, y1 - y0)
    biggest = max(np.nanmax(np.linalg.norm(getattr(o, kind), axis=-1))
                  for kind in ("gradient", "momentum"))
    factor = {"step": 1.0, "gradient": -longest / biggest, "momentum": -longest / biggest}
    lengths = {}
    anim.draw(7)
    for kind in ("gradient", "step", "momentum"):
        pos, vec = anim.overlay_vectors(kind, 7)
        np.testing.assert_array_equal(pos, tr.points[:, 0, 7])
        expected = getattr(o, kind)[:, 7] * factor[kind]
        np.testing.assert_allclose(vec, expected, rtol=1e-14, atol=0)
        q, drawn = anim.quivers[kind], np.isfinite(expected[:, 0])
        np.testing.assert_allclose(np.asarray(q.U)[drawn], expected[drawn, 0], rtol=1e-14)
        mask = np.zeros(len(drawn), bool) if q.Umask is np.ma.nomask else np.asarray(q.Umask)
        assert mask[~drawn].all()  # nothing drawn there
        # over the whole animation the longest scaled arrow is exactly the stated length
        drawn_lengths = [np.linalg.norm(anim.overlay_vectors(kind, t)[1], axis=-1)
                         for t in range(cfg.steps)]
        if kind != "step":
            lengths[kind] = np.nanmax(drawn_lengths)
    assert max(lengths.values()) == pytest.approx(longest, rel=1e-12)
    # the arrows point along the motion: the negated gradient is downhill
    _, g7 = anim.overlay_vectors("gradient", 7)
    assert (np.einsum("ij,ij->i", g7, o.gradient[:, 7]) < 0).all()


def test_overlays_draw_every_first_moment_in_the_same_units_with_a_key(tmp_path):
    """NAG keeps v = γv + η∇f in parameter units, torch's momentum a buffer
    b = μb + g in gradient units. At the first step (v = ηg, b = g) with the
    same lr both arrows are the same −lr·g, stretched alike and keyed."""
    from optviz.app.runner import run
    from optviz.core.overlays import OverlayRecorder
    from optviz.render.frames import make_animator

    cfg = parse_config("surface: wobbly\nsteps: 10\n"
                       "optimizers: [{type: momentum, lr: 0.02}, {type: nag, lr: 0.02}]\n"
                       "render: {overlays: [gradient, momentum, step], size: [6, 4], dpi: 40}\n")
    rec = OverlayRecorder(2, cfg.steps)
    tr = simulate_config(cfg, observe=rec)
    np.testing.assert_allclose(rec.data.momentum[1, 0], 0.02 * rec.data.momentum[0, 0])
    anim = make_animator(cfg, tr, rec.data)
    _, vec = anim.overlay_vectors("momentum", 0)
    np.testing.assert_allclose(vec[1], vec[0], rtol=1e-12)
    _, grad = anim.overlay_vectors("gradient", 0)
    np.testing.assert_allclose(grad, vec, rtol=1e-12)  # −lr·g both: b = g and v/lr = g
    key = [a for a in anim.ax.artists if a.__class__.__name__ == "Legend"][0]
    texts = [t.get_text() for t in key.get_texts()]
    assert texts[0].startswith("−lr·gradient ×") and texts[1].startswith("−lr·first moment ×")
    assert texts[2] == "step taken (true length)"
    faces = {kind: tuple(np.round(q.get_facecolor()[0], 3)) for kind, q in anim.quivers.items()}
    assert len(set(faces.values())) == 3  # one look per kind
    assert not run(cfg.with_overrides(formats=["gif"], output=tmp_path)
                   ).errors


def test_unknown_overlay_is_refused():
    from optviz.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean 'gradient'"):
        parse_config("surface: wobbly\noptimizers: [sgd]\nrender: {overlays: [gradeint]}\n")


def test_3d_view_static_and_animated(tmp_path):
    from PIL import Image

    from optviz.render.view3d import SUB, Animator3D

    cfg = parse_config("surface: two-minimums\nsteps: 8\noptimizers: [{type: adam, lr: 0.25}, "
                       "{type: sgd, lr: 0.5}]\nrender: {formats: [png, gif], view: 3d, "
                       "size: [5, 4], dpi: 40, camera: {elev: 30, azim: -50, rotate: 5}}\n",
                       "v3.yaml")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    assert Image.open(tmp_path / "v3.png").size == (200, 160)
    gif = Image.open(tmp_path / "v3.gif")
    assert gif.n_frames == 9 + 15
    tr = simulate_config(cfg)
    anim = Animator3D(cfg.surface, tr, RenderSpec(size=(5, 4), dpi=40, camera=(30, -50, 5)))
    anim.draw(8)
    lift = 0.006 * (anim.hi - anim.lo)
    for k, (line, back) in enumerate(zip(anim.lines, anim.behind)):
        # the paths are drawn on the surface, just above: every point seen
        # (bold) or behind the surface (pale), each step cut into SUB pieces
        seen, behind = np.column_stack(line.get_data_3d()), np.column_stack(back.get_data_3d())
        steps = np.where(np.isnan(seen), behind, seen)[::SUB]
        np.testing.assert_array_equal(steps[:, :2], tr.path(k))
        np.testing.assert_allclose(steps[:, 2], np.clip(tr.loss_path(k), anim.lo, anim.hi) + lift)
    assert anim.ax.azim == pytest.approx(-50 + 5 * 8)  # the camera turns with the frames


def test_3d_still_camera_blits_what_a_full_draw_shows_and_keys_start_and_minima():
    from optviz.render.view3d import Animator3D

    cfg = parse_config("surface: two-minimums\nsteps: 8\noptimizers: [{type: adam, lr: 0.25}, "
                       "{type: sgd, lr: 0.5}]\n")
    tr = simulate_config(cfg)
    anim = Animator3D(cfg.surface, tr, RenderSpec(size=(5, 4), dpi=40, camera=(30, -50, 0)))
    assert anim.blit
    blitted = anim.draw(5).copy()
    anim.draw(8)  # another frame between: the background is restored, not drawn over
    again = anim.draw(5).copy()
    np.testing.assert_array_equal(blitted, again)
    fig = anim.still(5)
    anim.counter.set_text("step 5 / 8")
    fig.canvas.draw()
    full = np.asarray(fig.canvas.buffer_rgba())
    assert (np.abs(full.astype(int) - blitted).sum(axis=-1) > 0).mean() < 0.002
    [legend] = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert "start" in texts and "known minimum" in texts


def test_3d_view_refuses_what_it_cannot_draw():
    from optviz.errors import ConfigError

    with pytest.raises(ConfigError, match="3-D view has no loss panel"):
        parse_config("surface: wobbly\noptimizers: [sgd]\nrender: {view: 3d, loss_panel: true}\n")
    with pytest.raises(ConfigError, match="view must be 2d or 3d"):
        parse_config("surface: wobbly\noptimizers: [sgd]\nrender: {view: 4d}\n")


def _explorer(text="surface: wobbly\nsteps: 40\noptimizers: [{type: momentum, lr: 0.01}, "
                   "{type: adam, lr: 0.1}, {type: sgd, lr: 0.02}]\n"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from optviz.app.explore import Explorer

    fig = Figure(figsize=(13, 8), dpi=40)
    FigureCanvasAgg(fig)
    cfg = parse_config(text)
    return Explorer(cfg, fig), cfg


def _direct(surface, kind, start, steps, **hp):
    from optviz.core.engine import simulate
    from optviz.core.optim import make_optimizer

    return simulate(surface, {"o": make_optimizer(kind, **hp)}, start, steps).path(0)


def test_explore_lr_slider_reruns_like_a_direct_run():
    e, cfg = _explorer()
    e.lr_sliders[1].set_val(np.log10(0.3))  # adam lr -> 0.3 through the widget
    x, y = e.lines[1].get_data()
    direct = _direct(cfg.surface, "adam", cfg.start, 40, lr=10 ** np.log10(0.3))
    np.testing.assert_array_equal(np.column_stack([x, y]), direct)
    e.main_sliders[0].set_val(0.5)  # momentum's main knob
    x, y = e.lines[0].get_data()
    direct = _direct(cfg.surface, "momentum", cfg.start, 40, lr=0.01, momentum=0.5)
    np.testing.assert_array_equal(np.column_stack([x, y]), direct)
    assert e.main_sliders[2] is None  # sgd has no second knob
    assert e.as_config().optimizers[1].params["lr"] == pytest.approx(0.3)


def test_explore_step_slider_click_and_surface_chooser():
    from types import SimpleNamespace

    e, cfg = _explorer()
    e.step_slider.set_val(10)
    assert len(e.lines[0].get_xdata()) == 11
    e.on_click(SimpleNamespace(inaxes=e.ax, xdata=1.0, ydata=-2.0))
    assert tuple(e.start) == (1.0, -2.0)
    np.testing.assert_array_equal(e.traj.points[:, 0, 0], [[1.0, -2.0]] * 3)
    e.on_click(SimpleNamespace(inaxes=None, xdata=None, ydata=None))  # outside: ignored
    assert tuple(e.start) == (1.0, -2.0)
    e.radio.set_active(e.radio.labels.index(next(t for t in e.radio.labels
                                                  if t.get_text() == "rosenbrock")))
    assert e.surface.name == "rosenbrock" and tuple(e.start) == e.surface.start
    e.step_slider.set_val(40)
    lr = e.params[2]["lr"]  # reset for rosenbrock: wobbly's 0.02 would not do
    assert lr != 0.02 and e.lr_sliders[2].val == pytest.approx(np.log10(lr))
    x, y = e.lines[2].get_data()
    direct = _direct(e.surface, "sgd", e.surface.start, 40, lr=lr)
    np.testing.assert_array_equal(np.column_stack([x, y]), direct)


def test_explore_resets_lrs_per_surface_marks_divergence_and_lists_every_surface():
    from optviz.input import library

    e, cfg = _explorer()
    assert {t.get_text() for t in e.radio.labels} == set(library.names("surfaces"))
    e.lr_sliders[2].set_val(np.log10(8.0))  # sgd lr 8 on wobbly: diverges
    assert e.traj.diverged[2, 0] and not e.traj.diverged[:2, 0].any()
    texts = [t.get_text() for t in e.legend.get_texts()]
    assert texts[2].startswith("sgd lr=0.02 (lr 8): diverged at step")
    assert texts[0] == f"{cfg.optimizers[0].label} (lr 0.01): loss " \
        f"{float(f'{e.traj.final_losses[0, 0]:.4g}'):.4g}"
    assert e.heads[2].get_marker() == "X" and e.heads[0].get_marker() == "o"
    e.step_slider.set_val(0)  # before the divergence: a loss, no X
    assert "loss" in e.legend.get_texts()[2].get_text() and e.heads[2].get_marker() == "o"
    e.step_slider.set_val(40)
    for name in ("rosenbrock",):  # the surface's lrs: none shoots off
        e.set_surface(name)
        assert not e.traj.diverged[:, 0].any(), name
        from optviz.analysis.sweep import run_grid

        lrs = np.geomspace(1e-5, 10, 60)  # each lr: the best final loss of the grid
        from dataclasses import replace
        for k, o in enumerate(cfg.optimizers):
            values, div, _ = run_grid(replace(cfg, surface=e.surface, start=tuple(e.start)),
                                      o, {"lr": lrs})
            assert e.params[k]["lr"] == lrs[np.argmin(np.where(div, np.inf, values))]
    e.reset()
    assert e.surface.name == "wobbly" and tuple(e.start) == cfg.start
    assert [p["lr"] for p in e.params] == [0.01, 0.1, 0.02]
    assert e.lr_sliders[2].val == pytest.approx(np.log10(0.02))
    direct = _direct(cfg.surface, "sgd", cfg.start, 40, lr=0.02)
    np.testing.assert_array_equal(np.column_stack(e.lines[2].get_data()), direct)


def test_explore_cli_without_a_display_says_so(monkeypatch):
    r = CliRunner().invoke(cli, ["explore", "default"])
    assert r.exit_code == 2 and "needs a window" in r.output


def test_inner_overlay_points_at_sams_perturbed_point(tmp_path):
    """overlays: [inner] draws, at each head, the arrow to the method's second point:
    for SAM the point θ + ρ·g/(‖g‖ + 1e-12) where the step's gradient was taken,
    worked out here from the path and the surface's gradient."""
    from optviz.core.overlays import OverlayRecorder
    from optviz.render.frames import make_animator

    cfg = parse_config("surface: wobbly\nsteps: 12\noptimizers:\n"
                       "  - {type: sam, rho: 0.3, base: {type: sgd, lr: 0.05}}\n"
                       "  - {type: momentum, lr: 0.01}\n"
                       "render: {formats: [png], size: [4, 3], dpi: 40, "
                       "overlays: [inner, step]}\n", "i.yaml")
    result = run(cfg, out=tmp_path, formats=["png"])
    rec = OverlayRecorder(2, cfg.steps)
    tr = simulate_config(result.config, observe=rec)
    assert rec.data.inner_names == ("perturbed",)
    anim = make_animator(result.config, tr, overlays=rec.data)
    surface = cfg.surface
    for s in (1, 5, 12):
        theta = tr.points[0, 0, s - 1]
        g = surface.grad(theta[None])[0]
        expected = theta + 0.3 * g / (np.linalg.norm(g) + 1e-12) - tr.points[0, 0, s]
        pos, vec = anim.overlay_vectors("inner", s)
        np.testing.assert_allclose(pos[0], tr.points[0, 0, s])
        np.testing.assert_allclose(vec[0], expected, rtol=1e-12, atol=1e-15)
        assert np.isnan(vec[1]).all()  # momentum has no second point
    assert np.isnan(anim.overlay_vectors("inner", 0)[1]).all()
