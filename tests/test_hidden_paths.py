"""No path hidden, honest loss panels, paths that leave the view and come back
(issue 21.4-21.6): each test reads the drawn figure (its pixels or its
artists) of a shipped demo or a small run."""

import numpy as np
import pytest

from optviz.app.runner import simulate_config
from optviz.input.config import load_config, parse_config
from optviz.render.contour import make_figure, shown_path
from optviz.render.labels import figure_note, legend_heads
from optviz.render.spec import RenderSpec


def figure(cfg, tr):
    r = cfg.render
    spec = RenderSpec(title=cfg.title, size=r.size, dpi=r.dpi, loss_panel=r.loss_panel,
                      entries=legend_heads(cfg), note=figure_note(cfg), view_box=r.view_box)
    return make_figure(cfg.surface, tr, spec)


def pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def colour_mask(img, hex_colour, tol=40):
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return np.abs(img - rgb).sum(axis=-1) < tol


def inside(mask, bbox, height):
    """*mask* (H, W) restricted to a display bbox (origin bottom left)."""
    out = np.zeros_like(mask)
    rows = slice(int(height - bbox.y1), int(height - bbox.y0))
    cols = slice(int(bbox.x0), int(bbox.x1))
    out[rows, cols] = mask[rows, cols]
    return out


@pytest.fixture(scope="module")
def adabound():
    cfg = load_config("demos/adabound")
    tr = simulate_config(cfg)
    fig, ax = figure(cfg, tr)
    return cfg, tr, fig, ax


def test_adabound_under_adam_shows_along_its_path_and_its_loss_curve(adabound):
    """AdaBound's path lay entirely under Adam's then SGD's (its end dot alone
    showed) and its loss curve under Adam's until about step 80: now its
    colour shows along the shared stretch, in the plot and in the panel."""
    cfg, tr, fig, ax = adabound
    img = pixels(fig)
    height = img.shape[0]
    blue = colour_mask(img, fig.axes[0].lines[0].get_color())
    head_area = np.pi * (8 * fig.dpi / 72 / 2) ** 2  # one head dot, pixels
    in_plot = inside(blue, ax.get_window_extent(), height).sum()
    assert in_plot > 2.5 * head_area, in_plot  # 57 pixels before: the end dot, part hidden
    [lax] = [a for a in fig.axes if a is not ax]
    box = lax.get_window_extent()
    x80 = lax.transData.transform([[70, 1.0]])[0, 0]  # the panel up to step 70
    from matplotlib.transforms import Bbox

    early = inside(blue, Bbox.from_extents(box.x0, box.y0, x80, box.y1), height)
    assert early.sum() > 60, early.sum()  # none before: all under Adam's curve


def test_adabound_legend_says_it_follows_adam_until_it_turns(adabound):
    cfg, tr, fig, ax = adabound
    [legend] = fig.legends
    text = legend.get_texts()[0].get_text()
    assert "follows Adam lr=0.1 until step " in text, text
    until = int(text.rsplit("until step ", 1)[1].split()[0])
    assert 60 <= until <= 110  # the demo's comment: the bounds bite at about step 80
    gap = np.linalg.norm(tr.path(0) - tr.path(1), axis=1)
    span = np.ptp(ax.get_xlim())
    assert gap[: until + 1].max() < 0.01 * span < gap[until + 1:].max()


def test_a_head_at_the_minimum_shows_over_the_star():
    """Newton's end head sat under the minimum's star; now the star lies
    under the paths and the head shows whole."""
    cfg = load_config("demos/newton-bowl")
    tr = simulate_config(cfg)
    fig, ax = figure(cfg, tr)
    img = pixels(fig)
    x, y = ax.transData.transform([cfg.surface.minima[0]])[0]
    r = 8 * fig.dpi / 72 / 2 - 1.5  # inside the head dot's white rim
    rows, cols = np.mgrid[: img.shape[0], : img.shape[1]]
    disk = (cols + 0.5 - x) ** 2 + (rows + 0.5 - (img.shape[0] - y)) ** 2 < r * r
    newton = colour_mask(img, fig.axes[0].lines[0].get_color())
    assert newton[disk].mean() > 0.9, newton[disk].mean()


def test_newton_reaching_f_star_goes_down_to_the_panels_bottom_edge():
    """Newton reaches f* exactly at step 1: its curve drops to the panel's
    bottom edge there, with a mark and a note, and no plateau follows (it was
    floored at SGD's final loss: 'values under 0.18 drawn at it')."""
    cfg = load_config("demos/newton-bowl")
    tr = simulate_config(cfg)
    assert tr.losses[0, 0, 1] == 0.0 and (tr.losses[1, 0] > 0).all()
    fig, ax = figure(cfg, tr)
    [lax] = [a for a in fig.axes if a is not ax]
    bottom = lax.get_ylim()[0]
    newton = lax.lines[0].get_ydata()
    assert newton[0] == tr.losses[0, 0, 0] and newton[1] == bottom
    assert np.isnan(newton[2:]).all()  # no plateau
    marks = [line for line in lax.lines[4:] if line.get_color() == lax.lines[0].get_color()]
    assert [(m.get_xdata()[0], m.get_ydata()[0], m.get_clip_on()) for m in marks] == \
        [(1, bottom, False)]
    texts = " ".join(t.get_text() for t in lax.texts)
    assert "Newton reaches f* exactly at step 1" in texts and "drawn at it" not in texts
    # drawn: the lowest pixel of Newton's colour in the panel is at its bottom edge
    img = pixels(fig)
    box = lax.get_window_extent()
    blue = inside(colour_mask(img, lax.lines[0].get_color()), box, img.shape[0])
    lowest = img.shape[0] - np.flatnonzero(blue.any(axis=1)).max()
    assert abs(lowest - box.y0) <= 5, (lowest, box.y0)


@pytest.fixture(scope="module")
def saddle():
    cfg = load_config("demos/newton-saddle")
    tr = simulate_config(cfg)
    fig, ax = figure(cfg, tr)
    return cfg, tr, fig, ax


def test_escaping_the_saddle_is_not_called_diverging(saddle):
    """The methods that escape the saddle (the lesson) left the view with
    finite, falling losses: the legend says so and never 'diverged'; their
    end mark is an arrow head, not an X."""
    cfg, tr, fig, ax = saddle
    [legend] = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    escaped = [k for k in range(len(tr.labels))
               if tr.diverged[k, 0] and np.isfinite(tr.loss_path(k)).all()]
    assert escaped  # the engine stopped them past its bound
    for k in escaped:
        assert "diverged" not in texts[k] and "left the view at step" in texts[k], texts[k]
        assert "still descending" in texts[k]
    assert not any("diverged" in t for t in texts)
    assert not [line for line in ax.lines if line.get_marker() == "X"]
    assert len([line for line in ax.lines if line.get_marker() == "^"]) == len(escaped)


def test_a_run_that_blows_up_is_still_diverged():
    cfg = load_config("demos/too-large-lr")
    tr = simulate_config(cfg)
    fig, ax = figure(cfg, tr)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "diverged" in texts[1] and "diverged" in texts[2] and "diverged" not in texts[0]


RETURNING = """\
title: leaves and comes back
surface: {formula: "x**2 + 4*y**2", domain: {x: [-2, 0.5], y: [-1, 1]}, minima: [[0, 0]]}
start: [-1.9, 0.3]
steps: 40
optimizers:
  - {type: momentum, lr: 0.1, momentum: 0.9, label: "momentum 0.9"}
render: {view_box: domain, size: [12, 8], dpi: 100}
"""


def test_a_path_that_leaves_and_comes_back_is_drawn_in_segments_with_marks():
    """It was drawn only to its first exit; now every stretch in view, with an
    arrow head where it leaves and an open circle where it comes back."""
    cfg = parse_config(RETURNING, "back.yaml")
    tr = simulate_config(cfg)
    path = tr.path(0)
    (x0, x1), (y0, y1) = cfg.surface.domain
    out = (path[:, 0] < x0) | (path[:, 0] > x1) | (path[:, 1] < y0) | (path[:, 1] > y1)
    assert out.any() and not out[-1]  # it leaves, and ends in view
    leaves = np.flatnonzero(~out[:-1] & out[1:])
    returns = np.flatnonzero(out[:-1] & ~out[1:])
    shown = shown_path(path, (x0, x1), (y0, y1), diverged=False)
    breaks = np.isnan(shown.points[:, 0])
    assert breaks.sum() == len(leaves) >= 1  # one segment more than it leaves
    assert sorted(m[2] for m in shown.marks if m[1] == "o") == list(returns + 1)
    assert sorted(m[2] for m in shown.marks if m[1] != "o") == list(leaves + 1)
    np.testing.assert_array_equal(shown.points[~breaks][-1], path[-1])  # drawn to the end
    fig, ax = figure(cfg, tr)
    circles = [line for line in ax.lines if line.get_marker() == "o"
               and line.get_markerfacecolor() == "white"]
    arrows = [line for line in ax.lines if line.get_marker() in "<>^v"]
    assert len(circles) == len(returns) and len(arrows) == len(leaves)
    for mark in circles + arrows:  # on the view's edge, drawn whole
        x, y = mark.get_xdata()[0], mark.get_ydata()[0]
        assert min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) < 1e-9
        assert not mark.get_clip_on()
    [line] = [line for line in ax.lines if len(line.get_xdata()) > 2]
    assert np.isnan(line.get_xdata()).sum() == len(leaves)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"left the view at step {leaves[0] + 1}; final loss" in texts[0]
    assert "where it comes back into view" in texts


def test_the_animation_draws_the_segments_and_marks_as_the_still(tmp_path):
    """The still the animation gives (its last frame without the counter) is
    make_figure's, pixel for pixel, marks and segments included; mid-way, a
    frame shows no head while the path is out of view."""
    from optviz.render.frames import Animator

    cfg = parse_config(RETURNING, "back.yaml")
    tr = simulate_config(cfg)
    anim = Animator(cfg.surface, tr, RenderSpec(
        title=cfg.title, size=(12, 8), dpi=100, entries=legend_heads(cfg), note=figure_note(cfg),
        view_box="domain"))
    still = anim.final_still()
    assert still is not None
    fig, _ = figure(cfg, tr)
    fig.canvas.draw()
    np.testing.assert_array_equal(still, np.asarray(fig.canvas.buffer_rgba()))
    shown = anim.scene.shown[0]
    gone = int(np.flatnonzero(~shown.inside)[0])
    anim.draw(gone)
    assert anim.trails.head(0) is None
    anim.draw(tr.shape[2])
    assert anim.trails.head(0) is not None


def test_heads_on_one_point_show_as_rings_around_the_start():
    """In the plateau demo SGD and momentum never move: both heads sat under
    the start marker (SGD's under momentum's too). Now each head under a later
    one, or under the start ring, grows into a ring around it."""
    cfg = load_config("demos/plateau")
    tr = simulate_config(cfg)
    fig, ax = figure(cfg, tr)
    img = pixels(fig)
    x, y = ax.transData.transform([cfg.start])[0]
    rows, cols = np.mgrid[: img.shape[0], : img.shape[1]]
    disk = (cols + 0.5 - x) ** 2 + (rows + 0.5 - (img.shape[0] - y)) ** 2 < 20 ** 2
    sgd = colour_mask(img, fig.axes[0].lines[0].get_color())
    momentum = colour_mask(img, fig.axes[0].lines[1].get_color())
    assert sgd[disk].sum() > 40 and momentum[disk].sum() > 40, \
        (sgd[disk].sum(), momentum[disk].sum())
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "follows momentum" in texts[0] and "throughout" in texts[0]


def test_the_run_table_does_not_call_the_saddle_escapes_diverged(tmp_path):
    from click.testing import CliRunner

    from optviz.app.cli import cli

    r = CliRunner().invoke(cli, ["demo", "newton-saddle", "--out", str(tmp_path),
                                 "--formats", "png"])
    assert r.exit_code == 0, r.output
    rows = {line.split("  ")[0]: line for line in r.output.splitlines()}
    for label in ("Newton, damping 3", "Newton lr=0.3 (gradient fallback)"):
        assert rows[label].rstrip().endswith("no: stopped far out, loss falling"), rows[label]
