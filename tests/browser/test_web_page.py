"""The interactive page in a real headless Chromium, loaded from file://, used as a
reader uses it: Playwright's mouse and keyboard on the elements (drag a thumb,
click a track, keys on a focused control, click the plot, type coordinates).
The page's own API (window.optviz) is only read, to see what it drew.

What it draws is compared with optviz's engine (simulate_config on a config
with the values the page shows).
"""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optviz.app.runner import run, run_web, simulate_config
from optviz.input.config import parse_config

CONFIG = """\
title: Browser test
surface: wobbly
start: [-2.8, -2.5]
steps: 40
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: adam, lr: 0.1}
web: {lr_decades: 1}
"""
LIVE_RTOL = 1e-9  # the page's live paths against the engine (parity: test_web_parity.py)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    cfg = parse_config(CONFIG, "browser.yaml")
    info = run_web(cfg, out=out).page
    return cfg, info.path


def engine_path(k, start=(-2.8, -2.5), config=CONFIG, **values):
    """Optimizer k's path for these values, from optviz's engine (not from the page)."""
    cfg = parse_config(config)
    opt = cfg.optimizers[k]
    params = {**opt.params, **values}
    text = config.split("start:")[0] + f"start: [{start[0]!r}, {start[1]!r}]\n" + \
        "steps:" + config.split("steps:")[1].split("optimizers:")[0]
    given = ", ".join(f"{name}: {v!r}" for name, v in params.items())
    text += f"optimizers: [{{type: {opt.type}, {given}}}]\n"
    return simulate_config(parse_config(text)).path(0)


def state(page):
    return page.evaluate("({sel: optviz.state.sel, start: optviz.state.start, "
                         "step: optviz.state.step, playing: optviz.state.playing})")


def drawn(page, k):
    d = page.evaluate(f"optviz.drawn({k})")
    return None if d is None else np.array(d)


def slider(page, k, param):
    return page.locator(f'input[type=range][data-k="{k}"][data-param="{param}"]')


def value_box(page, k, param):
    return page.locator(f'input.ov-val[data-k="{k}"][data-param="{param}"]')


def thumb(page, loc, fraction, size=16):
    """Page coordinates of a range input's thumb at *fraction* of its track."""
    box = loc.bounding_box()
    return (box["x"] + size / 2 + (box["width"] - size) * fraction,
            box["y"] + box["height"] / 2)


def drag(page, loc, to_fraction):
    """Press on the thumb where it is, drag it to *to_fraction*, release."""
    frac = page.evaluate("e => (e.value - e.min) / (e.max - e.min)", loc.element_handle())
    page.mouse.move(*thumb(page, loc, frac))
    page.mouse.down()
    x, y = thumb(page, loc, to_fraction)
    page.mouse.move(x, y, steps=8)
    page.mouse.up()


def test_loads_offline_without_errors_and_shows_the_configs_run(site, watched):
    cfg, path = site
    w = watched()
    page = w.open(path)
    assert w.errors == [] and w.network == []
    own = simulate_config(cfg)
    st = state(page)
    assert st["step"] == 40 and st["start"] == [-2.8, -2.5]
    for k in range(3):
        np.testing.assert_array_equal(drawn(page, k), own.path(k))  # the config's run, stored
        check = page.evaluate(f"optviz.selfcheck[{k}]")  # and the page's own computation of it
        assert check["n"] == check["own_n"] == 41 and check["max_rel"] < 1e-12
    assert page.locator(".ov-badge").all_inner_texts() == ["live"] * 3
    assert page.locator("#ov-step").inner_text() == "step 40 / 40"
    assert "final loss" in page.locator(".ov-final").first.inner_text()


def test_the_scrubber_moves_by_drag_click_and_keys(site, watched):
    page = watched().open(site[1])
    scrub = page.locator("#ov-scrub")
    drag(page, scrub, 0.25)  # from its end (step 40) to a quarter
    st = state(page)["step"]
    assert 8 <= st <= 12 and page.locator("#ov-step").inner_text() == f"step {st} / 40"
    assert len(drawn(page, 0)) == st + 1
    x, y = thumb(page, scrub, 0.75)
    page.mouse.click(x, y)  # on the track
    assert 28 <= state(page)["step"] <= 32
    page.keyboard.press("Home")  # the scrubber has the focus now
    assert state(page)["step"] == 0 and scrub.input_value() == "0"
    page.keyboard.press("End")
    assert state(page)["step"] == 40
    page.keyboard.press("ArrowLeft")
    assert state(page)["step"] == 39 and scrub.input_value() == "39"
    page.click("#ov-play")  # while playing: grabbing the thumb stops play there
    page.wait_for_function("optviz.state.step > 2")
    drag(page, scrub, 0.5)
    st = state(page)
    assert not st["playing"] and 18 <= st["step"] <= 22
    page.wait_for_timeout(200)
    assert state(page)["step"] == st["step"]


@pytest.mark.parametrize("k, param, name", [(0, "lr", "lr"), (1, "lr", "lr"),
                                            (1, "main", "momentum"), (2, "lr", "lr"),
                                            (2, "main", "beta1")])
def test_every_slider_drives_its_path(site, watched, k, param, name):
    page = watched().open(site[1])
    loc = slider(page, k, param)
    drag(page, loc, 0.2)
    shown = float(value_box(page, k, param).input_value())
    st = state(page)
    j = 0 if param == "lr" else 1
    assert st["sel"][k]["v"][j] == shown  # the value shown is the value used
    own = parse_config(CONFIG).optimizers[k].params[name]
    assert shown != own
    expected = engine_path(k, **{name: shown})
    np.testing.assert_allclose(drawn(page, k), expected, rtol=LIVE_RTOL, atol=1e-12)
    assert "live" in page.locator(".ov-opt").nth(k).inner_text()
    # the keyboard: one position to the right, a new value, its own path
    loc.focus()
    page.keyboard.press("ArrowRight")
    again = float(value_box(page, k, param).input_value())
    assert again != shown and state(page)["sel"][k]["v"][j] == again
    np.testing.assert_allclose(drawn(page, k), engine_path(k, **{name: again}),
                               rtol=LIVE_RTOL, atol=1e-12)
    assert state(page)["step"] == 40  # the slider's arrows did not step the animation


def test_a_typed_value_is_used_exactly_and_a_bad_one_refused(site, watched):
    page = watched().open(site[1])
    box = value_box(page, 1, "lr")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.0123")
    page.keyboard.press("Enter")
    assert state(page)["sel"][1]["v"][0] == 0.0123
    np.testing.assert_allclose(drawn(page, 1), engine_path(1, lr=0.0123), rtol=LIVE_RTOL,
                               atol=1e-12)
    box = value_box(page, 1, "main")  # momentum is in [0, 1): 1 is refused
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    assert box.get_attribute("aria-invalid") == "true"
    assert state(page)["sel"][1]["v"][1] == 0.9


def test_checkbox_play_pause_and_step_buttons(site, watched):
    page = watched().open(site[1])
    page.locator('.ov-opt input[type=checkbox]').first.click()
    assert drawn(page, 0) is None and state(page)["sel"][0]["on"] is False
    page.locator('.ov-opt input[type=checkbox]').first.click()
    assert drawn(page, 0) is not None
    page.click("#ov-play")  # at the last step, play starts over from 0
    page.wait_for_function("optviz.state.step > 3 && optviz.state.step < 40", timeout=5000)
    page.click("#ov-play")
    st = state(page)
    assert not st["playing"] and 3 < st["step"] < 40
    page.wait_for_timeout(300)
    assert state(page)["step"] == st["step"]
    assert len(drawn(page, 0)) == st["step"] + 1  # the path grows
    page.click("#ov-back")
    assert state(page)["step"] == st["step"] - 1
    page.click("#ov-fwd")
    page.click("#ov-fwd")
    assert state(page)["step"] == st["step"] + 1
    page.click("h1")
    page.keyboard.press(" ")
    assert state(page)["playing"]
    page.keyboard.press(" ")
    assert not state(page)["playing"]


def plot_point(page, x, y):
    box = page.locator("#ov-canvas").bounding_box()
    (x0, x1), (y0, y1) = page.evaluate("optviz.meta.domain")
    return (box["x"] + (x - x0) / (x1 - x0) * box["width"],
            box["y"] + (y1 - y) / (y1 - y0) * box["height"])


def test_a_click_anywhere_starts_every_path_there(site, watched):
    page = watched().open(site[1])
    page.mouse.click(*plot_point(page, 1.234, 1.876))
    sx, sy = state(page)["start"]
    assert abs(sx - 1.234) < 0.02 and abs(sy - 1.876) < 0.02  # a pixel, tidied
    assert page.locator("#ov-sx").input_value() == f"{sx:g}"
    for k in range(3):
        d = drawn(page, k)
        assert d[0].tolist() == [sx, sy]
        np.testing.assert_allclose(d, engine_path(k, start=(sx, sy)), rtol=LIVE_RTOL, atol=1e-12)


def test_the_start_can_be_typed_from_the_keyboard(site, watched):
    page = watched().open(site[1])
    page.locator("#ov-reset").focus()
    page.keyboard.press("Tab")  # the start's x field follows the transport
    page.keyboard.press("Control+A")
    page.keyboard.type("1.25")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("-0.5")
    page.keyboard.press("Enter")
    assert state(page)["start"] == [1.25, -0.5]
    np.testing.assert_allclose(drawn(page, 2), engine_path(2, start=(1.25, -0.5)),
                               rtol=LIVE_RTOL, atol=1e-12)
    page.keyboard.press("Control+A")
    page.keyboard.type("north")
    page.keyboard.press("Enter")
    assert page.locator("#ov-sy").get_attribute("aria-invalid") is not None
    assert state(page)["start"] == [1.25, -0.5]


def test_reset_puts_back_the_configs_values(site, watched):
    cfg, path = site
    page = watched().open(path)
    slider(page, 2, "lr").focus()
    page.keyboard.press("ArrowLeft")
    page.mouse.click(*plot_point(page, 0.5, 0.5))
    page.locator("#ov-scrub").focus()
    page.keyboard.press("Home")
    page.click("#ov-reset")
    st = state(page)
    assert st["start"] == [-2.8, -2.5] and st["step"] == 40
    own = simulate_config(cfg)
    for k in range(3):
        np.testing.assert_array_equal(drawn(page, k), own.path(k))


def test_the_fragment_records_the_settings_and_reopens_them(site, watched):
    page = watched().open(site[1])
    slider(page, 1, "main").focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.mouse.click(*plot_point(page, -1.5, 2.0))
    page.locator('.ov-opt input[type=checkbox]').first.click()
    page.locator("#ov-scrub").focus()
    page.keyboard.press("Home")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    before = state(page)
    page.wait_for_function("location.hash.indexOf('step=5') >= 0")
    fragment = page.evaluate("location.hash")
    again = watched().open(site[1], fragment)
    after = state(again)
    assert after["sel"] == before["sel"] and after["start"] == before["start"]
    assert after["step"] == 5 and after["sel"][0]["on"] is False
    assert drawn(again, 0) is None
    np.testing.assert_array_equal(drawn(again, 1), drawn(page, 1))


def test_hover_shows_path_point_and_surface_value(site, watched):
    cfg, path = site
    page = watched().open(path)
    p = page.evaluate("optviz.drawn(2)")[20]
    page.mouse.move(*plot_point(page, *p))
    tip = page.locator("#ov-tip").inner_text()
    assert "step" in tip and "loss" in tip
    page.mouse.move(*plot_point(page, 2.5, 2.5))  # far from every path
    tip = page.locator("#ov-tip").inner_text()
    assert tip.startswith("f(") and "=" in tip
    x, y = (float(v) for v in tip[2:tip.index(")")].split(", "))
    shown = float(tip.split("= ")[1].split("\n")[0])
    assert shown == pytest.approx(float(cfg.surface.f(np.array([x, y]))), rel=2e-3)


# ---------------------------------------------------------- mixed: live and grid
MIXED = """\
title: Mixed
surface: wobbly
start: [-2.8, -2.5]
steps: 30
noise: {sigma: 0.3, seed: 2}
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9, noisy: false}
web: {lr_values: 5, lr_decades: 1, main_values: 3, starts: 4, value_grid: 30}
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    info = run_web(parse_config(MIXED, "mixed.yaml"), out=out).page
    return info.path


def test_a_page_says_which_optimizers_are_live_and_snaps_the_others(mixed, watched):
    w = watched()
    page = w.open(mixed)
    assert page.locator(".ov-badge").all_inner_texts() == ["precomputed", "live"]
    assert "noisy" in page.locator(".ov-badge").first.get_attribute("title")
    meta = page.evaluate("optviz.meta")
    sgd = meta["opts"][0]
    loc = slider(page, 0, "lr")
    loc.focus()
    page.keyboard.press("ArrowRight")  # one grid value up
    assert state(page)["sel"][0]["idx"][0] == sgd["own_lr"] + 1
    # the click: the live optimizer starts there, the precomputed one at the nearest grid start
    page.mouse.click(*plot_point(page, 0.8, -1.3))
    sx, sy = state(page)["start"]
    grid_start = min(meta["starts"], key=lambda s: (s[0] - sx) ** 2 + (s[1] - sy) ** 2)
    assert drawn(page, 1)[0].tolist() == [sx, sy]
    assert drawn(page, 0)[0].tolist() == pytest.approx(grid_start, abs=meta["codec"]["q"])
    assert "nearest grid start" in page.locator("#ov-start-note").inner_text()
    exact = MIXED.replace("noise: {sigma: 0.3, seed: 2}\n", "")  # noisy: false
    np.testing.assert_allclose(drawn(page, 1), engine_path(1, start=(sx, sy), config=exact),
                               rtol=LIVE_RTOL, atol=1e-12)
    page.click("#ov-about summary")
    about = page.locator("#ov-grid").inner_text()
    assert "Live (momentum" in about and "Precomputed" in about and "noisy" in about
    assert w.errors == []


# ------------------------------------------------------------------- layout
SHOTS = Path(os.environ.get("OPTVIZ_SCREENSHOTS", "")) if os.environ.get(
    "OPTVIZ_SCREENSHOTS") else None


@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_screenshots_fit_the_window(site, watched, tmp_path, width, height):
    w = watched(width, height)
    page = w.open(site[1])
    shot = (SHOTS or tmp_path) / f"page-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shot, full_page=width < 600)
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[1] == width
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    plot = page.locator("#ov-canvas").bounding_box()
    assert plot["width"] >= 0.85 * min(width, 600)
    if width == 1280:  # a projector: the plot and its transport controls in one screen
        assert page.locator(".ov-transport").bounding_box()["y"] + 30 <= height
        assert page.locator("#ov-loss").bounding_box()["x"] > plot["x"] + plot["width"]
    for sel in ("#ov-play", "#ov-back", "#ov-fwd", "#ov-reset", "#ov-scrub", "#ov-sx",
                ".ov-row input[type=range]", ".ov-val"):
        assert page.locator(sel).first.bounding_box()["height"] >= 24, sel
    canvas = im.astype(int)  # the paths are drawn: the canvas has each optimizer's colour
    for colour in ((0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00), (0x00, 0x9E, 0x73)):
        assert (np.abs(canvas - colour).sum(axis=-1) < 30).sum() > 30, colour
    assert w.errors == [] and w.network == []


def test_the_default_configs_page_is_small_and_quick(tmp_path, watched):
    info = run_web("default", out=tmp_path).page
    assert info.bytes < 1_000_000 and len(info.live) == 5
    page = watched().open(info.path)
    # readiness, not a timing assertion: the page reports how long it took
    assert page.evaluate("optviz.readyMs") > 0
    assert page.locator(".ov-badge").all_inner_texts() == ["live"] * 5


def test_works_inside_an_iframe_and_as_the_notebook_display(site, watched, tmp_path):
    from optviz.app.runner import run

    cfg, path = site
    host = path.parent / "host.html"
    host.write_text(f'<!DOCTYPE html><title>host</title><p>An article.</p>'
                    f'<iframe src="{path.name}" style="width:900px;height:700px"></iframe>')
    w = watched()
    w.page.goto(host.resolve().as_uri())
    frame = w.page.frame_locator("iframe")
    frame.locator("html[data-ready='1']").wait_for(timeout=15000)
    frame.locator("#ov-play").click()
    assert w.errors == [] and w.network == []
    # Jupyter: the run's _repr_html_ is an iframe whose srcdoc is the page
    result = run(cfg.with_overrides(formats="html"), out=tmp_path)
    nb = tmp_path / "notebook.html"
    nb.write_text("<!DOCTYPE html><title>nb</title>" + result._repr_html_())
    w2 = watched()
    w2.page.goto(nb.resolve().as_uri())
    inner = w2.page.frame_locator("iframe")
    inner.locator("html[data-ready='1']").wait_for(timeout=15000)
    inner.locator("#ov-fwd").click()
    assert inner.locator("#ov-step").inner_text() == "step 40 / 40"  # already at the end
    inner.locator("#ov-back").click()
    assert inner.locator("#ov-step").inner_text() == "step 39 / 40"
    assert w2.errors == [] and w2.network == []


# ------------------------------------------- the same view and marks as the PNG
EDGES = """\
title: Edges
surface: {formula: "x**2 + 3*y**2", domain: {x: [-3, 3], y: [-3, 3]}, minima: [[0, 0]], minimum_value: 0}
start: [-2.5, 1.5]
steps: 100
optimizers:
  - {type: sgd, lr: 0.3}
  - {type: sgd, lr: 0.34}
  - {type: sgd, lr: 0.5}
"""


def test_the_view_the_marks_the_legend_and_the_loss_scale_are_the_pngs(tmp_path, watched):
    from optviz.render.contour import legend_text, loss_scale, shown_path, view_box

    cfg = parse_config(EDGES, "edges.yaml")
    own = run_web(cfg, out=tmp_path)
    info = own.page
    own = own.trajectories
    page = watched().open(info.path)
    box = view_box(cfg.surface, own, cfg.render.view_box)
    assert page.evaluate("optviz.meta.domain") == [list(box[0]), list(box[1])]
    for k in range(3):
        s = shown_path(own.path(k), *box, bool(own.diverged[k, 0]))
        png = legend_text("", own.final_losses[k, 0], bool(own.diverged[k, 0]), s.left_at)
        assert page.locator(".ov-final").nth(k).inner_text() == png.split("\n")[1]
    assert "left the view at step 2" in page.locator(".ov-final").nth(2).inner_text()
    ls, png = page.evaluate("optviz.lossScale()"), loss_scale(cfg.surface, own)
    assert (ls["scale"], ls["shift"], ls["label"]) == (png.scale, png.shift,
                                                       png.label.replace("  (", "  ("))
    assert ls["floor"] == pytest.approx(png.floor, rel=1e-12)
    # a slider sends the slow run off the plot too: the card says where, as the PNG would
    slider(page, 0, "lr").focus()
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    assert "left the view at step" in page.locator(".ov-final").first.inner_text()


def test_one_number_format_the_pngs(site, watched):
    from optviz.render.labels import number

    page = watched().open(site[1])
    values = [0, 4, 100, 0.01, 1e-6, 1.2345e-5, 123456.0, -0.5, 0.1231, 2.5e-19, 99999.5,
              0.00012345, 1 / 3, 6912.4, -3.0]
    for d in (2, 3, 4):
        got = page.evaluate(f"vs => vs.map(v => optviz.number(v, {d}))", values)
        assert got == [number(v, d) for v in values], d


FAN = """\
title: Fan
surface: wobbly
start: [-2.8, -2.5]
starts: {grid: 3}
steps: 60
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: adam, lr: 0.1}
"""


def test_a_fan_of_starts_and_its_band_follow_the_sliders(tmp_path, watched):
    cfg = parse_config(FAN, "fan.yaml")
    result = run_web(cfg, out=tmp_path)
    info = result.page
    own = result.trajectories
    page = watched().open(info.path)
    runs = own.shape[1]
    assert runs == 10 and len(page.evaluate("optviz.meta.fan")) == runs - 1
    for k in range(2):  # at the config's values: the engine's runs 1..9
        fan = page.evaluate(f"optviz.fan({k})")
        for n, r in enumerate(fan, start=1):
            np.testing.assert_allclose(np.array([r["x"], r["y"]]).T, own.path(k, n),
                                       rtol=LIVE_RTOL, atol=1e-12)
    # the band: the comparison figure's median and quartiles of f - f* over the runs
    band = page.evaluate("optviz.band(1)")
    values = np.where(own.diverged[1][:, None], np.nan, own.losses[1])
    for t in (0, 7, 30, 60):
        lo, med, hi = np.nanpercentile(values[:, t], [25, 50, 75])
        assert [band["lo"][t], band["med"][t], band["hi"][t]] == pytest.approx(
            [lo, med, hi], rel=1e-9)
    # a slider moves the whole fan
    slider(page, 1, "lr").focus()
    page.keyboard.press("ArrowLeft")
    lr = state(page)["sel"][1]["v"][0]
    moved = page.evaluate("optviz.fan(1)")[3]
    text = FAN.split("starts:")[0] + f"steps: 60\noptimizers: [{{type: adam, lr: {lr!r}}}]\n"
    start = [float(v) for v in own.points[1, 4, 0]]
    text = text.replace("start: [-2.8, -2.5]", f"start: [{start[0]!r}, {start[1]!r}]")
    np.testing.assert_allclose(np.array([moved["x"], moved["y"]]).T,
                               simulate_config(parse_config(text)).path(0), rtol=LIVE_RTOL,
                               atol=1e-12)


def test_the_html_format_shows_the_fan_and_band_as_computed(tmp_path, watched):
    """The html format (no live paths): with starts: and noise seeds, the page draws
    every run of the engine exactly and the band over them, and says so."""
    text = FAN.replace("steps: 60", "steps: 60\nnoise: {sigma: 0.2, seeds: 2}") + \
        "render: {formats: [html]}\n"
    result = run(parse_config(text, "fanhtml.yaml"), out=tmp_path)
    assert not result.errors
    own = result.trajectories
    page = watched().open(tmp_path / "fanhtml.html")
    runs = own.shape[1]
    assert runs == 20
    for k in range(2):
        fan = page.evaluate(f"optviz.fan({k})")
        assert len(fan) == runs - 1
        for n, r in enumerate(fan, start=1):
            np.testing.assert_array_equal(np.array([r["x"], r["y"]]).T, own.path(k, n))
            np.testing.assert_array_equal(r["l"], own.loss_path(k, n))
    band = page.evaluate("optviz.band(0)")
    values = np.where(own.diverged[0][:, None], np.nan, own.losses[0])
    for t in (0, 9, 60):
        assert [band["lo"][t], band["med"][t], band["hi"][t]] == pytest.approx(
            list(np.nanpercentile(values[:, t], [25, 50, 75])), rel=1e-12)
    about = page.text_content("#ov-grid")
    assert "other runs" in about and "19 other runs" in about
    path = tmp_path / "fanhtml.png"
    page.screenshot(path=str(path))
    assert Image.open(path).size[0] > 0


def test_a_networks_html_page_plays_its_projected_paths(tmp_path, watched):
    """A network's run as the html page (issue 23.4): it loads without errors, names
    the plane's axes and says the paths are projections, and the scrubber, moved by
    the keyboard, draws the projected path up to that step."""
    text = """\
title: Net page
surface:
  model: {mlp: [2, 4, 1], activation: tanh, loss: bce, init: {seed: 3}}
  data: {generate: moons, n: 64, seed: 0}
steps: 30
optimizers:
  - {type: sgd, lr: 0.5, label: sgd}
  - {type: adam, lr: 0.05, label: adam}
render: {formats: [html], size: [6, 4], dpi: 50}
"""
    from optviz.app.runner import network_plane

    result = run(parse_config(text, "net.yaml"), out=tmp_path)
    assert not result.errors
    page = watched().open(tmp_path / "net.html")
    axes = page.locator(".ov-axis").all_text_contents()
    assert axes == ["α along PC1", "β along PC2"]
    assert "projections" in page.text_content("#ov-grid")
    scrub = page.locator("#ov-scrub")
    scrub.focus()
    page.keyboard.press("Home")
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    assert state(page)["step"] == 7
    plane = network_plane(result.config, result.trajectories)
    np.testing.assert_array_equal(np.array(drawn(page, 1)), plane.paths.path(1)[:8])
