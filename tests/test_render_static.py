"""Static figures: real files with the right size and every optimizer's colour."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.core.surfaces import load_surface
from optviz.errors import RenderError
from optviz.render import render_static
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
    [png] = render_static(s, tr, tmp_path, "fig", ["png"], size=(6, 4), dpi=60)
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape == (240, 360, 3)
    for c in colours(3):
        close = (np.abs(img - hex_rgb(c)).sum(axis=-1) < 30).sum()
        assert close > 20, c
    assert (img == 255).all(axis=-1).sum() > 1000  # the white margin stays white


def test_svg_and_pdf_are_real_files(tmp_path, run):
    s, tr = run
    svg, pdf = render_static(s, tr, tmp_path, "fig", ["svg", "pdf"], size=(4, 3), dpi=50)
    ET.parse(svg)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_legend_shows_final_loss_and_divergence(run):
    s, tr = run
    fig, ax = make_figure(s, tr, size=(4, 3), dpi=50)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert tr.diverged[2, 0] and not tr.diverged[0, 0]
    assert texts[0] == f"adam\nfinal loss {tr.final_losses[0, 0]:.4g}"
    assert texts[2].startswith("wild\ndiverged")
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
        render_static(s, tr, tmp_path, "fig", ["png"], size=(4, 3), dpi=50)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]
    assert (tmp_path / "fig.png").read_bytes() == b"old"


def test_rendering_does_not_import_pyplot():
    code = ("import sys, optviz\nfrom optviz.core.engine import simulate\n"
            "from optviz.core.optim import make_optimizer\nfrom optviz.render.contour import make_figure\n"
            "s = optviz.load_surface('ravine')\n"
            "tr = simulate(s, {'a': make_optimizer('adam')}, s.start, 3)\n"
            "make_figure(s, tr, size=(3, 2), dpi=40)\nprint('pyplot' in str(list(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_loss_panel_plots_the_trajectories_losses(run):
    s, tr = run
    fig, ax = make_figure(s, tr, size=(6, 4), dpi=40, loss_panel=True)
    lax = [a for a in fig.axes if a is not ax][0]
    assert len(lax.lines) == 3
    for k, line in enumerate(lax.lines):
        np.testing.assert_array_equal(line.get_ydata(), tr.loss_path(k))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(tr.steps[k, 0] + 1))
    assert lax.get_legend() is not None and ax.get_legend() is None


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
    fig, ax = make_figure(s, tr, size=(4, 3), dpi=50)
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
