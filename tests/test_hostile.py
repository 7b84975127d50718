"""Hostile input: every class ends in a clear error (exit 2, file/line/key and a
hint) or, where a figure can honestly be drawn, a figure with a one-line note.
Never a traceback, a hang or unbounded memory."""

import contextlib
import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from PIL import Image

from optviz.analysis.response import load_signal
from optviz.app import cli as cli_module
from optviz.core.surfaces import load_surface
from optviz.errors import ConfigError, SurfaceError
from optviz.input import library
from optviz.input.config import load_config, parse_config
from optviz.input.yamldoc import parse_document
from optviz.render.contour import draw_surface

RENDER = "render: {formats: [png], size: [2, 1.5], dpi: 100}\n"


def invoke(*args):
    return CliRunner().invoke(cli_module.cli, [str(a) for a in args], catch_exceptions=False)


@contextlib.contextmanager
def deadline(seconds):
    """Fail (instead of hanging the suite) if the block runs longer than *seconds*."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def config_file(folder: Path, surface: str, name="c.yaml", extra="", start="[-2, 0]"):
    path = folder / name
    path.write_text(f"surface: {surface}\nstart: {start}\nsteps: 3\n"
                    f"optimizers: [{{type: sgd, lr: 0.01}}]\n{extra}{RENDER}"
                    f"output: {folder / 'out'}\n")
    return path


def refused(r, *parts):
    """Exit 2, one 'Error:' paragraph holding every part, no traceback."""
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: ") and "Traceback" not in r.output
    for part in parts:
        assert part in r.output, (part, r.output)
    return r.output


def note_of(surface) -> str:
    ax = Figure().add_subplot()
    draw_surface(ax, surface, resolution=60)
    return " / ".join(t.get_text() for t in ax.texts)


# ------------------------------------------------------------ surfaces that contour badly
def test_nowhere_finite_surface_draws_a_figure_with_a_note(tmp_path):
    cfg = config_file(tmp_path, "{formula: 'log(x)', domain: {x: [-3, -1], y: [-1, 1]}}")
    r = invoke("run", cfg, "-q")
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "out" / "c.png") as im:
        assert im.size[0] == 200 and im.size[1] >= 150  # taller where the legend needs it
        assert len(np.unique(np.asarray(im.convert("L")))) > 2  # axes and text, not blank
    s = load_surface({"formula": "log(x)", "domain": {"x": [-3, -1], "y": [-1, 1]}})
    assert "not finite anywhere" in note_of(s)


def test_overflowing_surface_gets_log_levels_within_range_and_a_note():
    s = load_surface({"formula": "exp(x**2)", "domain": {"x": [-100, 100], "y": [-100, 100]}})
    ax = Figure().add_subplot()
    lines = draw_surface(ax, s, resolution=60)
    levels = np.asarray(lines.levels)
    assert np.all(np.isfinite(levels)) and np.all(np.diff(levels) > 0)
    assert levels.max() < 1e200 and levels.min() >= 1.0
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # log-spaced
    assert "overflows" in " ".join(t.get_text() for t in ax.texts)


def test_constant_surface_is_drawn_with_a_note():
    s = load_surface({"formula": "x - x + 3", "domain": {"x": [-1, 1], "y": [-1, 1]}})
    assert "constant (3)" in note_of(s)


def test_levels_that_collapse_to_one_value_are_refused(tmp_path):
    cfg = tmp_path / "lv.yaml"
    cfg.write_text("surface:\n  formula: x**2 + y**2\n  domain: {x: [-1, 1], y: [-1, 1]}\n"
                   "  levels: [1, 1]\nstart: [0.5, 0.5]\noptimizers: [sgd]\n")
    refused(invoke("run", cfg), "lv.yaml, line 4, key 'surface.levels'",
            "two different numbers", "e.g. levels:")


@pytest.mark.parametrize("domain", ["{x: [-1e308, 1e308], y: [-1, 1]}",
                                    "{x: [0, 1e-300], y: [0, 1]}"])
def test_domains_the_plot_grid_cannot_hold_are_refused(tmp_path, domain):
    cfg = config_file(tmp_path, f"{{formula: 'x**2 + y**2', domain: {domain}}}")
    refused(invoke("run", cfg), "key 'surface.domain'", "within +-1e+06", "e.g. domain:")


def test_gradient_noise_near_overflow_is_refused():
    with pytest.raises(ConfigError) as e:
        parse_config("surface: wobbly\nnoise: {sigma: 1e308}\noptimizers: [sgd]\n", "n.yaml")
    assert (e.value.line, e.value.key) == (2, "noise.sigma") and "at most 1e6" in str(e.value)


# ------------------------------------------------------------ text and figure size
def test_unparsable_mathtext_title_and_label_are_refused_at_config_time():
    with pytest.raises(ConfigError) as e:
        parse_config("title: '$\\frac{1}{$ cost'\nsurface: wobbly\noptimizers: [sgd]\n", "t.yaml")
    assert (e.value.file, e.value.line, e.value.key) == ("t.yaml", 1, "title")
    assert "\\$" in e.value.hint
    with pytest.raises(ConfigError) as e:
        parse_config("surface: wobbly\noptimizers:\n  - {type: sgd, label: '$\\foo$'}\n", "l.yaml")
    assert (e.value.line, e.value.key) == (3, "optimizers[0].label")
    assert "Unknown symbol" in str(e.value)
    # good math and a lone dollar are kept as written
    cfg = parse_config("title: 'cost $x^2$ for $5'\nsurface: wobbly\noptimizers: [sgd]\n")
    assert cfg.title == "cost $x^2$ for $5"


def test_figure_too_small_to_draw_text_is_refused(tmp_path):
    cfg = config_file(tmp_path, "wobbly", extra="")
    cfg.write_text(cfg.read_text().replace(RENDER, "render: {formats: [png], size: [1, 1], "
                                           "dpi: 20}\n"))
    refused(invoke("run", cfg), "key 'render.size'", "20 x 20 pixels", "at least 100")
    cfg.write_text(cfg.read_text().replace("dpi: 20", "dpi: 100"))  # the smallest allowed
    assert invoke("run", cfg, "-q").exit_code == 0
    with Image.open(tmp_path / "out" / "c.png") as im:
        assert im.size[0] == 100 and im.size[1] >= 100  # taller where the legend needs it


# ------------------------------------------------------------ formulas SymPy folds
@pytest.mark.parametrize("formula, message", [
    ("(x-x+10)**(x-x+10)**(x-x+10)", "exponent 10000000000 is too large"),
    ("(x-x+999999)**(x-x+999999)", "exponent 999999 is too large"),
    ("exp(exp(exp(x-x+10)))", "too large"),
    ("(x-x+1e6)*(x-x+1e6)*(y-y+1e6)", "too large"),
    ("log(x-x-1) + y", "not real"),
    ("x + 1/(x-x)", "undefined or infinite"),
])
def test_constants_that_appear_only_after_simplification_are_bounded(formula, message):
    with deadline(10), pytest.raises(SurfaceError, match=message) as e:
        load_surface({"formula": formula, "domain": {"x": [-1, 1], "y": [-1, 1]}})
    assert e.value.key == "formula"


def test_folded_power_tower_is_refused_through_the_cli(tmp_path):
    cfg = config_file(tmp_path, "{formula: '(x-x+10)**(x-x+10)**(x-x+10)', "
                                "domain: {x: [-1, 1], y: [-1, 1]}}")
    with deadline(20):
        refused(invoke("run", cfg), "c.yaml, line 1, key 'surface.formula'", "SymPy folds")


def test_a_formula_whose_derivatives_explode_is_refused_before_the_hessian():
    # refused when the surface is read (before: at its first gradient)
    with deadline(20), pytest.raises(SurfaceError, match="gradient has .* operations; the "
                                                         "limit is 2,000") as e:
        load_surface({"formula": "**".join(["(x+y)"] * 40),
                      "domain": {"x": [0.5, 1], "y": [0.5, 1]}}).grad(np.array([[0.7, 0.7]]))
    assert e.value.key == "formula"


def test_folded_constants_within_limits_still_work():
    s = load_surface({"formula": "(x-x+2)**(y-y+3) * x**2 + y**2",
                      "domain": {"x": [-1, 1], "y": [-1, 1]}})
    np.testing.assert_allclose(s.f(np.array([[0.5, 0.25]])), [8 * 0.25 + 0.0625])


# ------------------------------------------------------------ YAML and file sizes
def test_yaml_nested_ten_thousand_deep_is_refused(tmp_path):
    cfg = tmp_path / "deep.yaml"
    cfg.write_text("[" * 10_000 + "]" * 10_000 + "\n")
    refused(invoke("run", cfg), "deep.yaml, line 1", "more than 64 levels deep")
    ok, depth = parse_document("a: " + "[" * 60 + "]" * 60 + "\n", "ok.yaml").data["a"], 0
    while ok:
        ok, depth = ok[0], depth + 1
    assert depth == 59  # 60 levels compose (the innermost list is empty)


def test_huge_config_is_refused_by_size_before_reading(tmp_path, monkeypatch):
    cfg = tmp_path / "big.yaml"
    with open(cfg, "wb") as fh:  # a sparse 20 MB file
        fh.truncate(20_000_000)

    def no_read(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_text", no_read)
    monkeypatch.setattr(Path, "read_bytes", no_read)
    refused(invoke("run", cfg), "big.yaml", "20,000,000 bytes; the limit is 262,144")


def test_fifo_and_device_are_refused_unread(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    with deadline(10):
        refused(invoke("run", fifo), "fifo.yaml", "FIFO, socket or device")
        refused(invoke("run", zero), "zero.yaml", "FIFO, socket or device")
        cfg = config_file(tmp_path, str(fifo))
        refused(invoke("run", cfg), "fifo.yaml", "expected a surface file")


def test_output_folder_that_cannot_be_created_names_the_path(tmp_path):
    cfg = config_file(tmp_path, "wobbly")
    refused(invoke("run", cfg, "--out", "/proc/optviz-hostile"), "/proc/optviz-hostile")


# ------------------------------------------------------------ response signals
def test_signal_fifo_and_dev_zero_are_refused_unread(tmp_path):
    fifo = tmp_path / "s.csv"
    os.mkfifo(fifo)
    zero = tmp_path / "z.csv"
    zero.symlink_to("/dev/zero")
    with deadline(10):
        for path in (fifo, zero):
            with pytest.raises(ConfigError, match="FIFO, socket or device"):
                load_signal(path)


def test_signal_bounded_by_bytes_rows_and_values(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(66_000_000)  # 10 million rows' worth, sparse
    with pytest.raises(ConfigError, match="66,000,000 bytes"):
        load_signal(big)
    rows = tmp_path / "rows.csv"
    rows.write_text("1\n" * 20_001)
    with pytest.raises(ConfigError, match="20,001 rows; the limit is 20,000"):
        load_signal(rows)
    rows.write_text("g\n" + "1\n" * 20_000)  # a header and the most rows allowed
    assert load_signal(rows).shape == (20_000,)
    huge = tmp_path / "huge.csv"
    huge.write_text("g\n1\n1e308\n")
    with pytest.raises(ConfigError) as e:
        load_signal(huge)
    assert e.value.line == 3 and "within +-1e+06" in str(e.value)
    edge = tmp_path / "edge.csv"
    edge.write_text("g\n1e6\n-1e6\n")
    np.testing.assert_array_equal(load_signal(edge), [1e6, -1e6])


def test_huge_signal_through_the_cli(tmp_path):
    (tmp_path / "s.csv").write_text("g\n1e308\n-1e308\n")
    cfg = tmp_path / "r.yaml"
    cfg.write_text("response:\n  optimizer: adam\n  vary: {lr: [0.1, 1]}\n  signals: [s.csv]\n"
                   f"output: {tmp_path / 'out'}\n")
    refused(invoke("run", cfg), "s.csv, line 2", "rescale")


# ------------------------------------------------------------ names and paths
def test_config_named_like_a_shipped_surface_gets_the_shipped_surface(tmp_path, monkeypatch):
    cfg = config_file(tmp_path, "wobbly", name="wobbly.yaml", start="[-2.8, -2.5]")
    monkeypatch.chdir(tmp_path)
    r = invoke("run", "wobbly.yaml", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "wobbly.png").is_file()
    shipped = (library.data_dir("surfaces") / "wobbly.yaml").resolve()
    assert load_config("wobbly.yaml").surface.path == shipped
    assert load_config(cfg).surface.path == shipped


def test_a_local_surface_file_still_wins_over_a_name(tmp_path):
    (tmp_path / "wobbly.yaml").write_text("formula: x**2 + y**2\n"
                                          "domain: {x: [-1, 1], y: [-1, 1]}\n")
    (tmp_path / "bowl.yaml").write_text("formula: x**2 + 2*y**2\n"
                                        "domain: {x: [-1, 1], y: [-1, 1]}\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("surface: wobbly\nstart: [0.5, 0.5]\noptimizers: [sgd]\n")
    assert load_config(cfg).surface.formula == "x**2 + y**2"  # a surface of that name
    cfg.write_text("surface: bowl\nstart: [0.5, 0.5]\noptimizers: [sgd]\n")
    assert load_config(cfg).surface.formula == "x**2 + 2*y**2"  # no shipped 'bowl'
    assert library.is_path("bowl.yaml") and not library.is_path("article/wobbly")


def test_names_the_os_refuses_are_errors_not_tracebacks(tmp_path):
    cfg = tmp_path / "n.yaml"
    for spec in ("a" * 300, "a" * 300 + ".yaml", '"a\\0b"'):
        cfg.write_text(f"surface: {spec}\noptimizers: [sgd]\n")
        refused(invoke("run", cfg), "n.yaml, line 1, key 'surface'", "unknown surface")
    refused(invoke("run", "b" * 300), "not found")
    cfg.write_text('surface: wobbly\noptimizers: [sgd]\noutput: "a\\0b"\n')
    refused(invoke("run", cfg), "line 3, key 'output'", "NUL")
    cfg.write_bytes(b"surface: wob\0bly\noptimizers: [sgd]\n")  # a raw NUL byte
    refused(invoke("run", cfg), "n.yaml, line 1", "control character #x0000")


# ------------------------------------------------------------ messages
def test_a_folder_given_as_a_surface_says_folder(tmp_path):
    (tmp_path / "adir").mkdir()
    out = refused(invoke("run", config_file(tmp_path, "adir")), "found a folder")
    assert "no such file" not in out


def test_a_non_surface_file_is_named_but_never_quoted(tmp_path):
    for name, text in (("creds.txt", "password: hunter2\n"), ("notes.txt", "@hunter2 x\n"),
                       ("list.yaml", "- hunter2\n- hunter2\n")):
        (tmp_path / name).write_text(text)
        out = refused(invoke("run", config_file(tmp_path, name)), name)
        assert "hunter2" not in out and "password" not in out and "@" not in out, out
    (tmp_path / "s.yaml").write_text("password: hunter2\n")
    out = refused(invoke("run", tmp_path / "s.yaml"), "this is not a run config")
    assert "hunter2" not in out and "password" not in out


def test_sweep_range_error_names_the_option(tmp_path):
    cfg = config_file(tmp_path, "wobbly")
    out = refused(invoke("sweep", cfg, "--x", "lr=0:1", "--out", tmp_path / "sw"),
                  "key '--x'", "lr=0:1", "values from 0 to 1")
    assert "an array" not in out


def test_numpy_floating_point_warnings_are_not_printed(monkeypatch):
    monkeypatch.setattr(cli_module, "cli", lambda **kw: np.float64(1e308) * 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cli_module.main()
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
