"""The interactive web page (optviz web, formats web and html), read back in Python.

The page's data is decoded here by a small independent reader (base64, gzip,
zigzag varints, deltas) and compared with what `optviz run` writes for the same
values. The browser side is tested in tests/browser/.
"""

import base64
import csv
import gzip
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from optviz.app.cli import cli
from optviz.app.runner import run, run_web
from optviz.errors import ConfigError
from optviz.input.config import parse_config
from optviz.render.web import with_value, zigzag_varints

CONFIG = """\
title: Web test
surface: wobbly
start: [-2.8, -2.5]
steps: 30
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9}
render: {formats: [png], size: [4, 3], dpi: 40}
web: {live: false, lr_values: 5, lr_decades: 1, main_values: 3, starts: 3, value_grid: 20}
"""


def read_page(path):
    """(meta, paths per optimizer, exact arrays, value grid) of a written page."""
    text = path.read_text(encoding="utf-8")

    def script(name):
        m = re.search(rf'<script type="[^"]+" id="ov-{name}">(.*?)</script>', text, re.S)
        assert m, name
        return m.group(1).strip()

    meta = json.loads(script("meta"))
    raw = gzip.decompress(base64.b64decode(script("paths")))
    # independent varint reader
    values, acc, shift = [], 0, 0
    for byte in raw:
        acc |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append((acc >> 1) ^ -(acc & 1))
            acc, shift = 0, 0
    assert shift == 0
    values = np.array(values, dtype=np.int64)
    c = meta["codec"]
    total = sum(o["count"] for o in meta["opts"])
    lengths, pos = values[:total], total
    paths, base = [], 0
    for o in meta["opts"]:
        rows = []
        for n in lengths[base:base + o["count"]]:
            xyz = np.cumsum(values[pos:pos + 3 * n].reshape(3, n), axis=1)
            pos += 3 * n
            rows.append({"x": c["x0"] + xyz[0] * c["q"], "y": c["y0"] + xyz[1] * c["q"],
                         "loss": c["s"] * np.sinh(xyz[2] * c["qu"])})
        paths.append(rows)
        base += o["count"]
    assert pos == len(values)
    exact = np.frombuffer(gzip.decompress(base64.b64decode(script("exact"))), dtype="<f8")
    r = meta["values"]["n"]
    grid, own, at = exact[: r * r].reshape(r, r), [], r * r
    for o in meta["opts"]:
        n = o["own_n"]
        own.append(exact[at:at + 3 * n].reshape(3, n))
        at += 3 * n
    meta["fan_paths"] = []  # the html format's fan: runs 1 .. N-1 of each optimizer, exact
    for runs in meta.get("fan_exact", []):
        meta["fan_paths"].append([])
        for n, _ in runs:
            meta["fan_paths"][-1].append(exact[at:at + 3 * n].reshape(3, n))
            at += 3 * n
    assert at == len(exact)
    return meta, paths, own, grid, text


def cli_run(tmp_path, name, lr, main=None, start=(-2.8, -2.5), kind="momentum"):
    """trajectories.csv of `optviz run` on a one-optimizer config with these values."""
    opt = f"{{type: {kind}, lr: {lr!r}" + (f", momentum: {main!r}" if main is not None
                                           else "") + "}"
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(f"surface: wobbly\nstart: [{start[0]!r}, {start[1]!r}]\nsteps: 30\n"
                   f"optimizers: [{opt}]\nrender: {{formats: [png], size: [4, 3], dpi: 40}}\n")
    r = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / name), "-q"])
    assert r.exit_code == 0, r.output
    with open(tmp_path / name / "trajectories.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(row["x"]), float(row["y"]), float(row["loss"])] for row in rows])


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """`optviz web` on CONFIG, and what run_web says it wrote."""
    out = tmp_path_factory.mktemp("web")
    (out / "webtest.yaml").write_text(CONFIG)
    r = CliRunner().invoke(cli, ["web", str(out / "webtest.yaml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "webtest-web.html" in r.output and "0 of 2 optimizers live; 200 precomputed paths of 30 steps" in r.output
    path = out / "webtest-web.html"
    info = WebInfo(path.stat().st_size, *[float(v) for v in re.search(
        r"within ([0-9.e-]+), losses to a relative ([0-9.e-]+)", r.output).groups()])
    return (*read_page(path), info)


class WebInfo:
    def __init__(self, size, position, loss):
        self.bytes, self.position_precision, self.loss_precision = size, position, loss


def test_grid_holds_the_configs_values_and_snaps(page):
    meta, paths, own, grid, text, info = page
    sgd, mom = meta["opts"]
    assert sgd["lr"][sgd["own_lr"]] == 0.05 and sgd["main"] is None
    assert mom["lr"][mom["own_lr"]] == 0.01 and mom["mains"][mom["own_main"]] == 0.9
    assert len(sgd["lr"]) == 5 and np.all(np.diff(np.log10(sgd["lr"])) > 0)
    assert sgd["lr"][0] == pytest.approx(0.005, rel=5e-3)  # lr / 10**1, 3 digits
    assert mom["mains"] == [0.0, 0.9, 0.99]  # even in log(1 - value) over [0, 0.99]
    assert len(meta["starts"]) == 10 and meta["starts"][meta["own_start"]] == [-2.8, -2.5]
    assert meta["starts"][0] == [-2.0, -2.0]  # cell centres of a 3 x 3 grid over [-3, 3]
    assert sgd["count"] == 5 * 10 and mom["count"] == 5 * 3 * 10
    assert len(paths[0]) == 50 and len(paths[1]) == 150
    assert meta["trajectories"] == 200


def test_a_grid_point_equals_a_cli_run_within_the_stated_precision(page, tmp_path):
    meta, paths, own, grid, text, info = page
    mom = meta["opts"][1]
    il, im, s = 1, 2, 4  # not the config's own values
    lr, mu, start = mom["lr"][il], mom["mains"][im], meta["starts"][s]
    expected = cli_run(tmp_path, "point", lr, mu, start)
    got = paths[1][(il * len(mom["mains"]) + im) * len(meta["starts"]) + s]
    assert len(got["x"]) == len(expected) == 31
    q = meta["codec"]["q"]
    assert info.position_precision == pytest.approx(q / 2, rel=0.03) and q / 2 <= 2e-4
    assert info.loss_precision == pytest.approx(2.0 ** -15, rel=0.1)
    np.testing.assert_allclose(got["x"], expected[:, 0], rtol=0, atol=q / 2 * 1.0001)
    np.testing.assert_allclose(got["y"], expected[:, 1], rtol=0, atol=q / 2 * 1.0001)
    np.testing.assert_allclose(got["loss"], expected[:, 2], rtol=info.loss_precision * 1.01,
                               atol=meta["codec"]["s"] * 1e-4)
    assert not np.allclose(got["x"], own[1][0], atol=1e-3)  # a different path indeed


def test_the_configs_own_run_is_stored_exactly(page, tmp_path):
    meta, paths, own, grid, text, info = page
    for k, (kind, lr, mu) in enumerate((("sgd", 0.05, None), ("momentum", 0.01, 0.9))):
        expected = cli_run(tmp_path, kind, lr, mu, kind=kind)
        np.testing.assert_array_equal(own[k].T, expected)  # bit for bit
        i = meta["opts"][k]["own_lr"] * max(1, len(meta["opts"][k]["mains"])) \
            + meta["opts"][k]["own_main"]
        quantised = paths[k][i * len(meta["starts"]) + meta["own_start"]]
        np.testing.assert_allclose(quantised["x"], expected[:, 0], atol=meta["codec"]["q"] / 2)


def test_value_grid_is_the_surface_at_its_nodes(page):
    meta, paths, own, grid, text, info = page
    n = meta["values"]["n"]
    xs = np.linspace(-3, 3, n)
    x, y = xs[7], xs[13]
    formula = (x ** 2 + y ** 2) / 3 + abs(x) * np.sqrt(abs(x) + 0.1) + 3 * np.sin(x + y) \
        + 3 + 8 * np.exp(-2 * ((x + 1) ** 2 + (y + 2) ** 2))
    assert grid[13, 7] == pytest.approx(formula, rel=1e-12)  # row = y, column = x


def test_page_is_self_contained(page):
    meta, paths, own, grid, text, info = page
    assert "http://" not in text and "https://" not in text and "<video" not in text
    assert re.search(r'<img[^>]+src="data:image/png;base64,', text)
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', text).group(1))
    from io import BytesIO

    from PIL import Image

    im = Image.open(BytesIO(png))
    assert im.size == tuple(meta["image"]) == (900, 900)  # square domain, equal aspect
    rgb = np.asarray(im.convert("RGB")).astype(int)
    # no margins: the image spans the domain, so the known minimum (-0.172, -0.906)
    # sits at column (x + 3) / 6 * 900, row (3 - y) / 6 * 900: the star's white fill
    col, row = round((-0.172421 + 3) / 6 * 900), round((3 + 0.906302) / 6 * 900)
    assert (rgb[row - 2:row + 3, col - 2:col + 3] == 255).all()
    assert not (rgb[row, col + 30] == 255).all() and not (rgb[row + 30, col] == 255).all()
    assert rgb[0, 0].sum() < 3 * 235 and rgb[-1, -1].sum() < 3 * 235  # ramp, not white margin
    assert len({tuple(p) for p in rgb[::50, ::50].reshape(-1, 3)}) > 10  # contours drawn
    assert "DecompressionStream" in text and 'id="ov-play"' in text
    assert info.bytes == len(text.encode())


def test_default_config_page_is_live_and_under_1_mb(tmp_path):
    result = run_web("default", out=tmp_path)
    info = result.page
    assert info.path.stat().st_size == info.bytes < 1_000_000
    meta, paths, own, grid, text = read_page(info.path)
    assert [o["label"] for o in meta["opts"]] == list(result.trajectories.labels)
    assert all(o["live"] for o in meta["opts"]) and info.live == result.trajectories.labels
    assert meta["trajectories"] == 0 and paths == [[] for _ in meta["opts"]]
    assert grid.size == 0  # the hover read-out computes f itself
    for k in range(len(meta["opts"])):  # the config's runs, stored exactly
        np.testing.assert_array_equal(own[k][:2].T, result.trajectories.path(k))


def test_html_and_web_formats_of_a_run(tmp_path):
    cfg = parse_config(CONFIG.replace("[png]", "[html, web]"), "own.yaml")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "own-web.html", "own.html", "run.json", "trajectories.csv"]
    assert read_page(tmp_path / "own-web.html")[0]["trajectories"] == 200
    meta, paths, own, grid, text = read_page(tmp_path / "own.html")
    assert meta["own_only"] and len(meta["starts"]) == 1
    assert [o["count"] for o in meta["opts"]] == [1, 1]
    for k in range(2):
        np.testing.assert_array_equal(own[k][0], result.trajectories.path(k)[:, 0])
        np.testing.assert_array_equal(own[k][2], result.trajectories.loss_path(k))
    html = result._repr_html_()
    assert html.startswith("<iframe") and "srcdoc=" in html and "&lt;canvas" in html


FAN = CONFIG.replace("steps: 30", "steps: 30\nstarts: {grid: 3}\nnoise: {sigma: 0.3, seeds: 2}")


def test_the_html_format_carries_the_fan_exactly(tmp_path):
    """With starts: and noise seeds, the html page holds every run of every
    optimizer as run.json's trajectories have it, to the bit, and its diverged flags;
    the paths buffer holds run 0 only (its count says one)."""
    cfg = parse_config(FAN.replace("[png]", "[html]").replace(
        "- {type: sgd, lr: 0.05}", "- {type: sgd, lr: 0.05}\n  - {type: sgd, lr: 3, label: wild}"),
        "fan.yaml")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    tr = result.trajectories
    k_count, n_count, _ = tr.shape
    assert n_count == 20 and tr.diverged[1].any()  # 10 starts x 2 seeds; "wild" diverges
    meta, paths, own, grid, text = read_page(tmp_path / "fan.html")
    assert [o["count"] for o in meta["opts"]] == [1] * k_count
    assert meta["fan_left_out"] is None
    for k in range(k_count):
        np.testing.assert_array_equal(own[k][:2].T, tr.path(k, 0))
        assert len(meta["fan_paths"][k]) == n_count - 1
        for i in range(1, n_count):
            got = meta["fan_paths"][k][i - 1]
            np.testing.assert_array_equal(got[:2].T, tr.path(k, i))
            np.testing.assert_array_equal(got[2], tr.loss_path(k, i))
            assert meta["fan_exact"][k][i - 1] == [int(tr.steps[k, i]) + 1, bool(tr.diverged[k, i])]


def test_a_fan_too_large_for_the_html_format_is_left_out_and_the_page_says_so(tmp_path, monkeypatch):
    import optviz.render.web as web

    monkeypatch.setattr(web, "MAX_FAN_POINTS", 100)
    cfg = parse_config(FAN.replace("[png]", "[html]"), "big.yaml")
    result = run(cfg, out=tmp_path)
    assert not result.errors
    meta, paths, own, grid, text = read_page(tmp_path / "big.html")
    assert meta["fan_exact"] == [] and meta["fan_paths"] == []
    assert meta["fan_left_out"].startswith("19 further runs of each optimizer (")
    assert "more than this page carries (100)" in meta["fan_left_out"]
    for k in range(2):  # run 0 still exact
        np.testing.assert_array_equal(own[k][:2].T, result.trajectories.path(k, 0))


@pytest.mark.parametrize("block, key, message", [
    ("{starts: 0}", "web.starts", "starts must be between 1 and 30"),
    ("{lr_values: 2.5}", "web.lr_values", "whole number"),
    ("{lr_decades: -1}", "web.lr_decades", "above 0"),
    ("{main_range: [0.5, 0.2]}", "web.main_range", "0 <= lo < hi < 1"),
    ("{startz: 4}", "web.startz", "did you mean 'starts'"),
    ("{live: yes please}", "web.live", "live must be true or false"),
    ("[1, 2]", "web", "web must be a mapping"),
])
def test_web_block_errors_name_file_line_and_key(tmp_path, block, key, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(CONFIG.replace("web: {live: false, lr_values: 5, lr_decades: 1, "
                                  "main_values: 3, starts: 3, value_grid: 20}", f"web: {block}"))
    r = CliRunner().invoke(cli, ["web", str(cfg)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "bad.yaml" in r.output and "line 9" in r.output and key in r.output
    assert message in r.output


def test_too_large_a_grid_is_refused_with_a_hint(tmp_path):
    cfg = parse_config(CONFIG.replace("steps: 30", "steps: 5000").replace(
        "starts: 3", "starts: 30"), "big.yaml")
    with pytest.raises(ConfigError, match="lower web.lr_values"):
        run_web(cfg, out=tmp_path)
    assert not list(tmp_path.iterdir())


def test_zigzag_varints_match_the_protobuf_encoding():
    # protobuf: zigzag 0, -1, 1, -2 -> 0, 1, 2, 3; 150 -> 300 -> AC 02
    assert zigzag_varints(np.array([0, -1, 1, -2, 150, 63, -64, 64])) == bytes(
        [0, 1, 2, 3, 0xAC, 0x02, 0x7E, 0x7F, 0x80, 0x01])
    big = 2 ** 40 + 5
    assert zigzag_varints(np.array([big]))[-1] == (2 * big) >> 35  # six bytes, the last holds the top bits


def test_with_value_inserts_or_replaces_the_nearest():
    grid, i = with_value(np.array([0.1, 0.2, 0.3]), 0.25, 0.25)
    assert list(grid) == [0.1, 0.2, 0.25, 0.3] and i == 2
    grid, i = with_value(np.array([0.1, 0.2, 0.3]), 0.2001, 0.2001)
    assert list(grid) == [0.1, 0.2001, 0.3] and i == 1


def test_diverged_paths_are_marked_where_last_seen_and_labelled_by_value(tmp_path):
    text = ("surface: wobbly\nsteps: 60\noptimizers: [{type: sgd, lr: 0.3}]\n"
            "web: {live: false, lr_values: 3, lr_decades: 1.5, starts: 1, value_grid: 10}\n")
    (tmp_path / "div.yaml").write_text(text)
    r = CliRunner().invoke(cli, ["web", str(tmp_path / "div.yaml"), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    meta, paths, own, grid, _ = read_page(tmp_path / "div-web.html")
    sgd = meta["opts"][0]
    assert sgd["lr"] == [0.00949, 0.3, 9.49]
    assert [row[0] for row in sgd["labels"]] == ["sgd lr=0.00949", "sgd lr=0.3", "sgd lr=9.49"]
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "div.yaml"), "--out", str(tmp_path / "b"),
                                 "--formats", "png", "-q"])
    assert json.loads((tmp_path / "b" / "run.json").read_text())["summary"][0]["diverged"] \
        is False and not sgd["own_diverged"]
    cfg = tmp_path / "big.yaml"
    cfg.write_text(text.replace("lr: 0.3", "lr: 9.49"))
    r = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / "c"), "--formats", "png",
                                 "-q"])
    summary = json.loads((tmp_path / "c" / "run.json").read_text())["summary"][0]
    assert summary["diverged"] is True
    ((row, sx, sy),) = sgd["diverged"]
    assert row == 2 and len(paths[0][2]["x"]) == summary["steps"] + 1
    assert max(abs(sx), abs(sy)) == pytest.approx(3.0)  # on the edge of the [-3, 3] plot


def test_noisy_runs_share_the_runs_noise_and_noisy_false_stays_exact(tmp_path):
    text = ("surface: wobbly\nsteps: 15\nnoise: {sigma: 0.5, seed: 3}\n"
            "optimizers: [{type: sgd, lr: 0.05}, {type: sgd, lr: 0.02, noisy: false}]\n"
            "web: {lr_values: 3, starts: 2, value_grid: 10}\n")
    cfg = parse_config(text, "noisy.yaml")
    result = run_web(cfg, out=tmp_path)
    info = result.page
    meta, paths, own, grid, _ = read_page(info.path)
    from optviz.app.runner import simulate_config

    noisy, exact_sgd = meta["opts"]
    assert not noisy["live"] and "noisy" in noisy["why"] and exact_sgd["live"]
    row = paths[0][noisy["own_lr"] * len(meta["starts"]) + meta["own_start"]]
    np.testing.assert_allclose(row["x"], own[0][0], atol=meta["codec"]["q"] / 2)
    # a grid point of the noisy optimizer equals the config run at that lr, same noise
    lr = meta["opts"][0]["lr"][0]
    alone = simulate_config(parse_config(text.replace("lr: 0.05", f"lr: {lr!r}")))
    np.testing.assert_allclose(paths[0][0 * len(meta["starts"]) + meta["own_start"]]["x"],
                               alone.path(0)[:, 0], atol=meta["codec"]["q"] / 2)
    # and the exact one is the exact run
    exact = simulate_config(parse_config(text.replace("noise: {sigma: 0.5, seed: 3}\n", "")))
    np.testing.assert_array_equal(own[1][0], exact.path(1)[:, 0])


def test_open_hands_the_file_uri_to_the_browser(tmp_path, monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url))
    (tmp_path / "o.yaml").write_text("surface: wobbly\nsteps: 5\noptimizers: [sgd]\n"
                                     "web: {lr_values: 2, starts: 1, value_grid: 8}\n")
    r = CliRunner().invoke(cli, ["web", str(tmp_path / "o.yaml"), "--out", str(tmp_path),
                                 "--open", "-q"])
    assert r.exit_code == 0 and r.output == ""
    assert opened == [(tmp_path / "o-web.html").resolve().as_uri()]


def test_a_response_config_has_no_page(tmp_path):
    r = CliRunner().invoke(cli, ["web", "article/response-adam", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "no trajectories to show" in r.output
    assert "Traceback" not in r.output


def test_the_page_shows_the_static_figures_view(tmp_path):
    from optviz.render.contour import view_box

    result = run_web("article/wobbly", out=tmp_path)

    info = result.page
    meta = read_page(info.path)[0]
    cfg = result.config
    box = view_box(cfg.surface, result.trajectories, cfg.render.view_box)
    assert meta["domain"] == [list(box[0]), list(box[1])]
    assert meta["domain"][1][0] < -3.5  # grown to hold RMSProp's and Adagrad's excursions
    assert meta["surface_domain"] == [[-3.0, 3.0], [-3.0, 3.0]]
    assert meta["yticks"] == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]  # as the PNG's axis
    ratio = (box[1][1] - box[1][0]) / (box[0][1] - box[0][0])
    assert meta["image"][1] / meta["image"][0] == pytest.approx(ratio, abs=2 / 900)
    assert meta["fstar"] == cfg.surface.minimum_value
