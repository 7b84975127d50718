"""Static figures: real files with the right size and every optimizer's colour."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.core.surfaces import load_surface
from optviz.errors import RenderError
from optviz.render import render_static
from optviz.render.spec import RenderSpec
from optviz.render.contour import (
    colours,
    labelled_levels,
    last_seen,
    make_figure,
    significant_digits,
)


@pytest.fixture(scope="module")
def run():
    s = load_surface("wobbly")
    tr = simulate(s, {"adam": make_optimizer("adam", lr=0.25),
                      "sgd": make_optimizer("sgd", lr=0.02),
                      "wild": make_optimizer("sgd", lr=30.0)}, s.start, 40)
    return s, tr


def hex_rgb(h):
    return np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)])


def test_png_has_the_size_and_each_optimizer_colour(tmp_path, run):
    s, tr = run
    [png] = render_static(s, tr, tmp_path, "fig", ["png"], RenderSpec(size=(6, 4), dpi=60))
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape == (240, 360, 3)
    for c in colours(3):
        close = (np.abs(img - hex_rgb(c)).sum(axis=-1) < 30).sum()
        assert close > 20, c
    assert (img == 255).all(axis=-1).sum() > 1000  # the white margin stays white


def test_svg_and_pdf_are_real_files(tmp_path, run):
    s, tr = run
    svg, pdf = render_static(s, tr, tmp_path, "fig", ["svg", "pdf"],
                             RenderSpec(size=(4, 3), dpi=50))
    ET.parse(svg)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_legend_shows_final_loss_and_divergence(run):
    s, tr = run
    fig, ax = make_figure(s, tr, RenderSpec(size=(4, 3), dpi=50))
    [legend] = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert tr.diverged[2, 0] and not tr.diverged[0, 0]
    assert texts[0] == f"adam\nfinal loss {tr.final_losses[0, 0]:.4g}"
    assert texts[2].startswith("wild\ndiverged (left the view at step ")
    assert "known minimum" in texts and "start" in texts
    markers = [line.get_marker() for line in ax.lines]
    assert "X" in markers  # the diverged run's end


def test_failed_save_leaves_no_partial_file(tmp_path, run, monkeypatch):
    from matplotlib.figure import Figure

    s, tr = run
    (tmp_path / "fig.png").write_bytes(b"old")

    def broken(self, fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RenderError, match="No space left"):
        render_static(s, tr, tmp_path, "fig", ["png"], RenderSpec(size=(4, 3), dpi=50))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]
    assert (tmp_path / "fig.png").read_bytes() == b"old"


def test_rendering_does_not_import_pyplot():
    code = ("import sys, optviz\nfrom optviz.core.engine import simulate\n"
            "from optviz.core.optim import make_optimizer\nfrom optviz.render.contour import make_figure\n"
            "from optviz.render.spec import RenderSpec\n"
            "s = optviz.load_surface('ravine')\n"
            "tr = simulate(s, {'a': make_optimizer('adam')}, s.start, 3)\n"
            "make_figure(s, tr, RenderSpec(size=(3, 2), dpi=40))\n"
            "print('pyplot' in str(list(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_loss_panel_plots_the_trajectories_losses(run):
    s, tr = run
    fig, ax = make_figure(s, tr, RenderSpec(size=(6, 4), dpi=40, loss_panel=True))
    lax = [a for a in fig.axes if a is not ax][0]
    # a curve and its dashed stretches (none here) each, and the mark where "wild"
    # (diverged) leaves the panel above
    assert len(lax.lines) == 7
    for k, line in enumerate(lax.lines[3:6]):  # NaN, or the curve's own values
        y = line.get_ydata()
        drawn = np.isfinite(y)
        np.testing.assert_array_equal(y[drawn], (tr.loss_path(k) - 0.9155064452470825)[drawn])
    fstar = 0.9155064452470825  # wobbly's minimum value (surfaces/wobbly.yaml)
    assert lax.get_yscale() == "log" and lax.get_title(loc="left").startswith("f − f*")
    assert lax.get_ylabel() == ""  # one title, not a title and a label saying the same
    for k, line in enumerate(lax.lines[:3]):
        np.testing.assert_array_equal(line.get_ydata(), tr.loss_path(k) - fstar)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(tr.steps[k, 0] + 1))
    wild = tr.loss_path(2) - fstar
    assert tr.diverged[2, 0] and not tr.diverged[:2, 0].any()
    top = lax.get_ylim()[1]
    assert top < wild.max()  # clipped: the axis is fitted to the others
    tame = np.concatenate([tr.loss_path(0), tr.loss_path(1)]) - fstar
    hi, lo = tame.max() * 2, tame[tame > 0].min() / 2  # the others' panel
    assert hi < top <= hi * (hi / lo) ** 0.5  # widened, the others keeping two thirds
    [mark] = lax.lines[6:]
    assert mark.get_marker() == "^" and not mark.get_clip_on()
    assert mark.get_xdata()[0] == np.flatnonzero(wild > top)[0] and mark.get_ydata()[0] == top
    assert any("above the panel from step" in t.get_text() for t in lax.texts)
    [legend] = fig.legends
    lbox, pbox = legend.get_window_extent(), lax.get_window_extent()
    assert lbox.y1 < pbox.y0  # the legend under the loss panel


@pytest.mark.parametrize("path, seen", [
    ([(0, 0), (0.5, 0)], (0.5, 0)),                    # ends on the plot: its last point
    ([(0, 0), (0.5, 0), (3, 0)], (1, 0)),              # leaves through the right edge
    ([(0, 0), (0, 0.5), (0, -7)], (0, -1)),            # through the bottom
    ([(0, 0), (5, 0), (-5, 0.5), (-9, 9)], (-1, 0.3)),  # last crossing jumps over the plot
    ([(0, 0), (0.5, 0.5), (4, 4)], (1, 1)),            # through a corner
    ([(3, 3), (4, 3)], (1, 1)),                        # never on the plot: nearest point
])
def test_last_seen_is_where_a_path_leaves_the_plot(path, seen):
    got = last_seen(np.array(path, dtype=float), (-1, 1), (1, -1))  # limits in any order
    np.testing.assert_allclose(got, seen, atol=1e-12)


def test_diverged_run_ends_in_an_x_on_the_plot_edge(run):
    """The run's last point is far off the plot; its X is drawn where it left."""
    s, tr = run
    fig, ax = make_figure(s, tr, RenderSpec(size=(4, 3), dpi=50))
    [x] = [line for line in ax.lines if line.get_marker() == "X"]
    (px,), (py,) = x.get_data()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert not (x0 < tr.path(2)[-1, 0] < x1 and y0 < tr.path(2)[-1, 1] < y1)
    assert x0 <= px <= x1 and y0 <= py <= y1
    assert min(abs(px - x0), abs(px - x1), abs(py - y0), abs(py - y1)) < 1e-9
    assert not x.get_clip_on()  # the whole X shows at the edge


@pytest.mark.parametrize("value, digits", [(0, 1), (4, 1), (0.5, 1), (10, 1), (-200, 1),
                                           (14, 2), (2.25, 3), (0.0625, 3), (7.5625, 5)])
def test_significant_digits(value, digits):
    assert significant_digits(value) == digits


def test_contour_labels_go_to_the_roundest_levels():
    ravine = load_surface("ravine").levels  # squares of quarter steps
    assert labelled_levels(ravine) == [0.0625, 0.25, 1, 2.25, 4, 6.25, 9]
    quarters = [q / 4 for q in range(4, 77)]  # 1 .. 19 in quarter steps
    assert labelled_levels(quarters) == [float(v) for v in range(1, 11)]
    decades = [m * 10.0 ** e for e in range(-3, 4) for m in (1, 2, 5)]  # 21 levels
    assert labelled_levels(decades) == [10.0 ** e for e in range(-3, 4)]  # the decades
    assert len(labelled_levels(range(100), most=12)) <= 12
    assert labelled_levels([1.5, 2.5]) == [1.5, 2.5]  # few levels: all labelled
    assert 0.0 in labelled_levels(range(-10, 11))  # zero is as round as it gets
    assert labelled_levels([]) == []


def test_twenty_optimizers_differ_in_colour_or_style_and_none_looks_like_a_marker():
    from optviz.render.contour import BACKGROUND, START_COLOUR, looks

    got = looks(20)
    assert len({(g.colour, g.dashes, g.marker) for g in got}) == 20
    assert len({g.colour for g in got}) == 7 and {g.dashes for g in got[7:]} != {None}
    banned = {"#000000", "#ffffff", *BACKGROUND}  # start, minima and background colours
    assert START_COLOUR == "black"
    assert not banned & {g.colour.lower() for g in got}
    for g in got:  # far from the light background in luminance
        r, gr, b = hex_rgb(g.colour) / 255
        assert 0.2126 * r + 0.7152 * gr + 0.0722 * b < 0.7, g


def test_a_path_leaving_the_view_ends_at_the_edge_with_an_arrow():
    from optviz.render.contour import first_exit, shown_path

    path = np.array([(0, 0), (0.5, 0), (3, 0), (-5, 0.5), (0.2, 0.2)], dtype=float)
    j, point, edge = first_exit(path, (-1, 1), (-1, 1))
    assert (j, edge) == (2, "right")
    np.testing.assert_allclose(point, (1, 0), atol=1e-12)
    shown = shown_path(path, (-1, 1), (-1, 1), diverged=False)
    assert shown.end is None and shown.left_at == 2  # it comes back and ends in view
    gone = shown_path(path[:3], (-1, 1), (-1, 1), diverged=False)  # it leaves for good
    np.testing.assert_allclose(gone.points, [(0, 0), (0.5, 0), (1, 0)], atol=1e-12)
    assert gone.end[1] == ">" and gone.left_at == 2
    diverged = shown_path(path, (-1, 1), (-1, 1), diverged=True)  # only to its first exit
    assert diverged.end[1] == "X" and len(diverged.points) == 3
    assert first_exit(path[:2], (-1, 1), (-1, 1)) is None


def test_view_box_paths_holds_the_paths_domain_clips_them():
    s = load_surface("simple-quad")
    tr = simulate(s, {"over": make_optimizer("sgd", lr=1.02)}, [-2.8, 0.5], 20)  # |x| * 1.04
    (x0, x1), (y0, y1) = s.domain
    assert tr.points[0, 0, :, 0].max() > x1  # it overshoots the domain
    fig, ax = make_figure(s, tr, RenderSpec(size=(6, 4), dpi=40, view_box="paths"))
    assert ax.get_xlim()[1] > tr.points[0, 0, :, 0].max()
    assert not [line for line in ax.lines if line.get_marker() in "<>^v"]
    fig, ax = make_figure(s, tr, RenderSpec(size=(6, 4), dpi=40, view_box="domain"))
    assert ax.get_xlim() == (x0, x1)
    arrows = [line for line in ax.lines if line.get_marker() in "<>"]
    assert arrows and all(abs(a.get_xdata()[0]) == x1 and not a.get_clip_on() for a in arrows)
    [legend] = fig.legends
    assert any("left the view at step" in t.get_text() for t in legend.get_texts())


def test_legend_beside_a_square_plot_and_below_a_wide_one():
    s = load_surface("simple-quad")
    tr = simulate(s, {"adam": make_optimizer("adam", lr=0.1)}, s.start, 10)
    fig, ax = make_figure(s, tr, RenderSpec(size=(12, 8), dpi=40))
    [legend] = fig.legends
    assert legend.get_window_extent().x0 > ax.get_window_extent().x1
    wide = load_surface("ravine")
    tr = simulate(wide, {"sgd": make_optimizer("sgd", lr=0.5)}, wide.start, 10)
    fig, ax = make_figure(wide, tr, RenderSpec(size=(6, 6), dpi=40))
    [legend] = fig.legends
    assert legend.get_window_extent().y1 < ax.get_window_extent().y0
    # the plot takes the width the legend does not need
    assert ax.get_window_extent().width > 0.8 * fig.bbox.width


def test_numbers_have_one_format_and_settings_always_show_lr():
    from optviz.render.labels import number, optimizer_label, settings

    assert [number(v) for v in (4, 0.1231, 1.292e-05, 1e-8, 0.123456, 0)] == \
        ["4", "0.1231", "1.292e-5", "1e-8", "0.1235", "0"]
    assert number(0.123456, exact=True) == "0.123456"
    assert optimizer_label("momentum", {"lr": 0.01, "momentum": 0.9, "dampening": 0.0}) == \
        "momentum lr=0.01 momentum=0.9"  # lr at its default, still shown
    assert settings("rmsprop", {"lr": 0.01, "rho": 0.99, "eps": 1e-8, "momentum": 0.0,
                                "centered": False}) == "lr=0.01 rho=0.99"
    assert settings("adam", {"lr": 0.1, "eps": 1e-6}) == "lr=0.1 eps=1e-6"  # changed: shown
    assert settings("adam", {"lr": 0.1}, auto_lr=True) == "lr=0.1 (auto)"


def test_the_figure_states_noise_auto_lr_and_conventions(tmp_path):
    from optviz.app.runner import run as run_config
    from optviz.input.config import parse_config

    cfg = parse_config("""\
surface: simple-quad
steps: 5
conventions: lasagne
noise: {sigma: 0.5, seed: 7}
optimizers:
  - {type: sgd, lr: auto}
  - {type: momentum, lr: 0.01, noisy: false, label: exact}
render: {formats: [png], size: [8, 5], dpi: 40}
""", "n.yaml").with_overrides(output=tmp_path)
    from optviz.analysis.compare import resolve_auto_lr
    from optviz.render.labels import figure_note, legend_heads

    cfg = resolve_auto_lr(cfg)
    note = figure_note(cfg)
    assert "lasagne conventions" in note and "N(0, 0.5²)" in note and "seed 7" in note
    assert "lr (auto)" in note and "5 steps from" in note
    heads = legend_heads(cfg)
    assert "(auto)" in heads[0]
    assert heads[1].startswith("exact\nmomentum lr=0.01 momentum=0.9")
    assert "(exact gradients)" in heads[1]
    result = run_config(cfg, formats=["png"])
    assert not result.errors


def test_dashed_trails_draw_what_dashed_halo_lines_draw():
    """Paths seven and on are dashed: the animation's fast artist must still
    draw them pixel for pixel as Line2D does (blitting stays exact)."""
    from matplotlib import patheffects as pe

    from optviz.render.frames import Animator

    s = load_surface("simple-quad")
    opts = {f"sgd {lr}": make_optimizer("sgd", lr=lr) for lr in np.linspace(0.02, 0.3, 8)}
    tr = simulate(s, opts, s.start, 10)
    anim = Animator(s, tr, RenderSpec(size=(6, 4), dpi=60))
    fast = anim.draw(10).copy()
    anim.trails.set_visible(False)
    canvas, ax = anim.fig.canvas, anim.ax
    canvas.restore_region(anim.background)
    scale, made = 0.5 ** 0.5, []
    for k, look in enumerate(anim.looks):
        p = tr.points[k, 0]
        made += ax.plot(p[:, 0], p[:, 1], color=look.colour, lw=2.2 * scale,
                        ls=look.linestyle(), solid_capstyle="round", solid_joinstyle="round",
                        dash_capstyle="round", dash_joinstyle="round",
                        path_effects=[pe.Stroke(linewidth=4.2 * scale, foreground="white",
                                                alpha=0.9), pe.Normal()])
    for k, look in enumerate(anim.looks):  # the stretches later paths hide, dashed over
        q = anim.scene.shared[k].points
        made += ax.plot(q[:, 0], q[:, 1], color=look.colour, lw=2.2 * scale, ls=(0, (2.0, 2.0)),
                        dash_capstyle="butt", dash_joinstyle="round")
    from optviz.render.contour import head_rings

    ends = ax.transData.transform(tr.points[:, 0, -1])
    rings = head_rings(ends, 8 * scale * 60 / 72, ax.transData.transform([s.start])[0])
    assert rings.any()  # heads on heads: drawn as rings around them
    for k, look in enumerate(anim.looks):
        made += ax.plot(tr.points[k, 0, -1:, 0], tr.points[k, 0, -1:, 1], marker=look.marker,
                        ms=(8 + rings[k]) * scale, color=look.colour, mec="white", mew=1.4,
                        ls="")
    for artist in made:
        artist.set_animated(True)
        ax.draw_artist(artist)
    for artist in anim.moving[1:]:
        ax.draw_artist(artist)
    anim.counter.draw(canvas)
    assert anim.looks[7].dashes is not None and anim.looks[7].marker != "o"
    np.testing.assert_array_equal(np.asarray(canvas.buffer_rgba()), fast)


def _sweep_result(values, diverged=None):
    from optviz.analysis.sweep import Axis, SweepResult
    from optviz.input.config import load_config

    cfg = load_config("default")
    values = np.asarray(values, dtype=float)
    diverged = np.zeros(values.shape, bool) if diverged is None else np.asarray(diverged)
    x = Axis("lr", 0.01, 1.0, True, values.shape[-1])
    y = Axis("momentum", 0.0, 0.9, False, values.shape[0]) if values.ndim == 2 else None
    return SweepResult(cfg, cfg.optimizers[0], x, y, "steps_to_tol", values, diverged)


def test_the_best_of_tied_points_is_the_one_nearest_their_centre_and_said_so():
    from optviz.render.analysis import sweep_figure

    res = _sweep_result([40, 9, 9, 9, 9, 9, 30, np.inf])  # a plateau of five ties
    assert res.best()["lr"] == res.x.values[3]  # its middle, not its edge (index 1)
    fig = sweep_figure(res, size=(6, 4), dpi=40)
    texts = [t.get_text() for t in fig.texts]
    assert any("5 points tie, the one nearest their centre is starred" in t for t in texts)
    grid = _sweep_result([[5, 5, 7], [5, 5, 7], [9, 9, 9]])
    assert (grid.best()["lr"], grid.best()["momentum"]) in {
        (grid.x.values[i], grid.y.values[j]) for i in (0, 1) for j in (0, 1)}


def test_unconverged_points_are_drawn_in_the_steps_curve_and_titles_have_one_colon():
    from optviz.render.analysis import sweep_figure

    res = _sweep_result([np.inf, 50, 20, np.inf, 80], diverged=[0, 0, 0, 0, 1])
    fig = sweep_figure(res, size=(6, 4), dpi=40)
    ax = fig.axes[0]
    [never] = [line for line in ax.lines if line.get_marker() == "^"]
    np.testing.assert_array_equal(never.get_xdata(), res.x.values[[0, 3]])
    [div] = [line for line in ax.lines if line.get_marker() == "x"]
    np.testing.assert_array_equal(div.get_xdata(), res.x.values[[4]])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("not within tol") for t in labels)
    title = fig._suptitle.get_text()
    assert title.count(":") <= 1 and "steps to tol" in title


def test_basin_minima_labels_are_rounded_and_panels_fill_the_page():
    from optviz.render.analysis import basins_figure, rounded

    assert rounded(-2e-06, 6.0) == "0" and rounded(-2.5000001, 6.0) == "-2.5"
    assert rounded(1.2345678, 0.06) == "1.23457"  # to a thousandth of the span

    from types import SimpleNamespace

    from optviz.input.config import load_config

    # a basin map's fields, made up: the figure only draws them
    res = SimpleNamespace(config=load_config("article/two-minimums"),
                          labels=np.zeros((5, 8, 8), int), losses=np.zeros((5, 8, 8)))
    fig = basins_figure(res, size=(12, 8), dpi=40)
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:2] == ["A: minimum (0, 0)",
                                                              "B: minimum (-2.5, -2.5)"]
    boxes = [ax.get_position() for ax in fig.axes]
    covered = sum(b.width * b.height for b in boxes)
    # five square panels take well over a third of the page (the rest: the key,
    # each panel's shares and axis names, the footnote)
    assert covered > 0.35
    gaps = sorted({round(b.x0, 3) for b in boxes})
    assert max(np.diff(gaps)) < boxes[0].width + 0.06  # columns close together


# ------------------------------------------------------------ many optimizers
KINDS20 = ["sgd", "momentum", "nesterov", "nag", "adagrad", "rmsprop", "adam", "adamax", "nadam",
           "adamw", "adadelta", "radam", "amsgrad", "lion", "adan", "adopt", "signsgd", "signum",
           "amsbound", "adabound"]


def many(n, panel=False, size=(12, 8), schedule="", title=None):
    """A config of the first *n* optimizers of KINDS20 (each with *schedule*),
    simulated: (config, trajectories)."""
    from optviz.app.runner import simulate_config
    from optviz.input.config import parse_config

    extra = f", schedule: {schedule}" if schedule else ""
    lines = "".join(f"  - {{type: {k}, lr: 0.05{extra}}}\n" for k in KINDS20[:n])
    cfg = parse_config(f"title: {title or f'{n} optimizers'}\nsurface: himmelblau\nsteps: 30\n"
                       f"optimizers:\n{lines}render: {{size: [{size[0]}, {size[1]}], dpi: 40, "
                       f"loss_panel: {str(panel).lower()}}}\n", "many.yaml")
    return cfg, simulate_config(cfg)


def draw_many(cfg, tr):
    from optviz.render.labels import figure_note, legend_heads

    r = cfg.render
    return make_figure(cfg.surface, tr, RenderSpec(
        title=cfg.title, size=r.size, dpi=r.dpi, loss_panel=r.loss_panel,
        entries=legend_heads(cfg), note=figure_note(cfg)))


def boxes_apart(a, b) -> bool:
    return a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0


@pytest.mark.parametrize("panel", [False, True], ids=["plain", "loss_panel"])
@pytest.mark.parametrize("n", [5, 12, 13, 20])
def test_up_to_twenty_optimizers_fit_the_default_size_with_any_panel(n, panel):
    """At 12 x 8 in: no error (13 with a loss panel raised LinAlgError), the plot
    spans at least half the figure's width or height (the figure grows taller
    when the legend needs it), and legend, plot (its title and tick labels
    included), loss panel and figure edge never overlap."""
    cfg, tr = many(n, panel, title=f"A long title for {n} optimizers, running on")
    fig, ax = draw_many(cfg, tr)
    w, h = fig.get_size_inches()
    assert w == 12 and 8 <= h <= 8 * 2.5
    if n == 5:
        assert h == 8  # no growth where the legend fits
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    plot, whole = ax.get_window_extent(), fig.bbox
    assert max(plot.width / whole.width, plot.height / whole.height) >= 0.5
    [legend] = fig.legends
    lbox = legend.get_window_extent(renderer)
    assert whole.x0 <= lbox.x0 and lbox.x1 <= whole.x1 + 1 and 0 <= lbox.y0
    parts = [ax.get_tightbbox(renderer), lbox]
    if panel:
        [lax] = [a for a in fig.axes if a is not ax]
        parts.append(lax.get_tightbbox(renderer))
    for a, b in [(0, 1), (0, 2), (1, 2)][: len(parts) * 2 - 3]:
        assert boxes_apart(parts[a], parts[b]), (n, panel, a, b, parts[a], parts[b])


def test_long_schedules_keep_the_legend_short():
    """Five onecycle schedules raised LinAlgError (the legend printed the
    schedule's repr, 15 lines each); now each entry takes at most label,
    three settings lines and the final loss, and the figure keeps its size."""
    cfg, tr = many(5, schedule="{type: onecycle, max_lr: 0.1, total_steps: 30, "
                               "cycle_momentum: false}")
    fig, ax = draw_many(cfg, tr)
    assert tuple(fig.get_size_inches()) == (12, 8)
    [legend] = fig.legends
    entries = [t.get_text() for t in legend.get_texts()][:5]
    assert all("onecycle(max_lr=0.1" in e and "Schedule(" not in e for e in entries)
    assert max(e.count("\n") for e in entries) <= 3
    assert all(len(line) <= 48 for e in entries for line in e.split("\n")[:-1])


def test_shortened_keeps_short_text_and_ellipsises_long_text():
    from optviz.render.labels import shortened

    assert shortened("adam lr=0.1", 34, 3) == "adam lr=0.1"
    long = " ".join(f"p{i}=0.{i}" for i in range(40))
    out = shortened(long, 34, 3, "  ")
    lines = out.split("\n")
    assert len(lines) == 3 and lines[-1].endswith("…") and lines[1].startswith("  ")
    assert out.replace("\n  ", " ").replace(" …", "") in long
    assert shortened("x" * 80, 34, 2).endswith("…") and len(shortened("x" * 80, 34, 2)) <= 48


def test_a_legend_that_cannot_fit_names_render_size_and_a_size_that_fits():
    from optviz.errors import RenderError

    cfg, tr = many(20, panel=True, size=(5, 3.5))
    with pytest.raises(RenderError, match=r"render\.size") as info:
        draw_many(cfg, tr)
    hint = re.search(r"render\.size: \[([\d.]+), ([\d.]+)\]", str(info.value))
    assert hint, str(info.value)
    bigger = (float(hint.group(1)), float(hint.group(2)))
    cfg2, tr2 = many(20, panel=True, size=bigger)
    fig, _ = draw_many(cfg2, tr2)  # the size it suggests does fit
    assert fig.get_size_inches()[0] == bigger[0]


def test_the_cli_draws_thirteen_optimizers_with_a_loss_panel(tmp_path):
    """The installed command: 13 optimizers with loss_panel (a traceback before)
    write a figure taller than asked; 20 in a 5 x 3.5 in figure give a clean
    error naming render.size."""
    import shutil

    exe = shutil.which("optviz", path=str(Path(sys.executable).parent))
    lines = "".join(f"  - {{type: {k}, lr: 0.05}}\n" for k in KINDS20[:13])
    cfg = tmp_path / "thirteen.yaml"
    cfg.write_text(f"title: Thirteen\nsurface: himmelblau\nsteps: 20\noptimizers:\n{lines}"
                   "render: {formats: [png], loss_panel: true, dpi: 40}\n")
    r = subprocess.run([exe, "run", cfg, "--out", tmp_path / "out", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    w, h = Image.open(tmp_path / "out" / "thirteen.png").size
    assert w == 480 and h > 320
    small = tmp_path / "small.yaml"
    small.write_text(cfg.read_text().replace("dpi: 40", "dpi: 40, size: [5, 3.5]"))
    r = subprocess.run([exe, "run", small, "--out", tmp_path / "small", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    # located in the config as any config error: file, the line of render:, the key
    assert "small.yaml, line 18, key 'render.size': 13 optimizers' legend" in r.stderr, r.stderr


def test_lr_and_step_size_figures_tell_twenty_optimizers_apart():
    """The lr and step-size figures draw each optimizer in its colour and dash
    pattern (colours repeat after seven), and the lr figure's legend of 20
    stays inside the figure (under the plot: it grows taller)."""
    from optviz.render.schedule import lr_figure, step_size_figure

    labels = [f"{k} lr=0.05" for k in KINDS20]
    lrs = [np.full(30, 0.05 * (1 + k / 10)) for k in range(20)]
    fig = lr_figure(labels, lrs, title="twenty", size=(9, 4), dpi=40)
    ax = fig.axes[0]
    styles = {(line.get_color(), str(line._unscaled_dash_pattern)) for line in ax.lines}
    assert len(ax.lines) == 20 and len(styles) == 20
    fig.canvas.draw()
    [legend] = fig.legends
    box, whole = legend.get_window_extent(), fig.bbox
    assert box.y0 >= 0 and box.x1 <= whole.x1 and box.y1 < ax.get_window_extent().y0
    assert fig.get_size_inches()[1] > 4
    few = lr_figure(labels[:3], lrs[:3], title="three", size=(9, 4), dpi=40)
    assert tuple(few.get_size_inches()) == (9, 4) and few.axes[0].get_legend() is not None
    sizes = np.full((20, 30, 2), 0.01) * np.arange(1, 21)[:, None, None]
    fig = step_size_figure(labels, sizes, title="twenty", size=(11, 5.5), dpi=40)
    lines = fig.axes[0].lines
    assert len({(line.get_color(), str(line._unscaled_dash_pattern)) for line in lines}) == 20


def test_the_3d_view_grows_to_hold_a_legend_of_twenty():
    """The 3-D figure's legend of 20 ran off its foot; the figure now grows
    taller (the plot keeps its size in inches), and a short legend changes
    nothing."""
    from optviz.render.view3d import Animator3D

    cfg, tr = many(20, size=(12, 8))
    from optviz.render.labels import legend_heads

    anim = Animator3D(cfg.surface, tr, RenderSpec(title=cfg.title, size=(12, 8), dpi=40,
                                                  camera=(35, -60, 0), entries=legend_heads(cfg)))
    fig = anim.still(tr.shape[2])
    w, h = fig.get_size_inches()
    assert w == 12 and h > 8 and anim.size == (480, round(h * 40))
    fig.canvas.draw()
    [legend] = fig.legends
    box = legend.get_window_extent()
    assert box.y0 >= 0 and box.y1 <= fig.bbox.y1
    assert fig.axes[0].get_position().height * h == pytest.approx(0.88 * 8)
    cfg, tr = many(3)
    small = Animator3D(cfg.surface, tr, RenderSpec(size=(12, 8), dpi=40, camera=(35, -60, 0)))
    assert tuple(small.fig.get_size_inches()) == (12, 8)


def test_the_comparison_figure_lays_out_twenty_optimizers_like_the_run_figure():
    """Fans of 20 optimizers (starts): the legend ran off the figure after 7;
    it is laid out as the run figure's (plot, panel and legend apart, the
    plot at least half the figure)."""
    from optviz.analysis.compare import summarize
    from optviz.app.runner import simulate_config
    from optviz.input.config import parse_config
    from optviz.render.compare import comparison_figure

    lines = "".join(f"  - {{type: {k}, lr: 0.02}}\n" for k in KINDS20)
    cfg = parse_config(f"title: Fans\nsurface: himmelblau\nstarts: {{grid: 2}}\nsteps: 20\n"
                       f"optimizers:\n{lines}", "fans.yaml")
    tr = simulate_config(cfg)
    fig = comparison_figure(cfg, tr, summarize(cfg, tr), size=(12, 8), dpi=40)
    w, h = fig.get_size_inches()
    assert w == 12 and 8 < h <= 20
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax, lax = fig.axes
    [legend] = fig.legends
    lbox = legend.get_window_extent(renderer)
    assert lbox.y0 >= 0 and lbox.x1 <= fig.bbox.x1 + 1
    assert len(legend.get_texts()) == 22  # 20 optimizers, the start, the other runs
    plot = ax.get_window_extent()
    assert max(plot.width / fig.bbox.width, plot.height / fig.bbox.height) >= 0.5
    boxes = [ax.get_tightbbox(renderer), lax.get_tightbbox(renderer), lbox]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert boxes_apart(boxes[a], boxes[b]), (a, b)


def test_the_step_counter_never_covers_the_x_label():
    """A narrow plot (4 x 3 in with a loss panel) and a title reaching its
    right corner: the counter went under the plot onto the x label ("s×ep")."""
    from optviz.app.runner import simulate_config
    from optviz.input.config import parse_config
    from optviz.render.frames import make_animator

    cfg = parse_config("title: Column at 4 x 3 in\nsurface: rosenbrock\nsteps: 80\n"
                       "optimizers:\n  - {type: newton}\n  - {type: adam, lr: 0.05}\n"
                       "  - {type: momentum, lr: 0.001}\n"
                       "render: {size: [4, 3], dpi: 100, loss_panel: true}\n", "c.yaml")
    anim = make_animator(cfg, simulate_config(cfg))
    anim.draw(80)
    renderer = anim.fig.canvas.get_renderer()
    label = anim.ax.xaxis.label.get_window_extent(renderer)
    for text in [*anim.counter.fixed, *anim.counter.texts]:
        assert boxes_apart(text.get_window_extent(renderer), label), text.get_text()
