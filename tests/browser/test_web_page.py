"""The interactive page in a real headless Chromium, loaded from file://.

What the reader does (a slider, play, a click on the plot, keys, a link with a
fragment) and what the page then draws, compared with optviz's own runs.
"""

import numpy as np
import pytest
from PIL import Image

from optviz.app.runner import run_web, simulate_config
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
web: {lr_values: 5, lr_decades: 1, main_values: 3, starts: 4, value_grid: 40}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    cfg = parse_config(CONFIG, "browser.yaml")
    info = run_web(cfg, out=out).page
    return cfg, info.path


def engine_path(cfg, k, **values):
    """Optimizer k's path for these values, from optviz's engine (not from the page)."""
    opt = cfg.optimizers[k]
    start = values.pop("start", cfg.start)
    text = CONFIG.split("optimizers:")[0].replace("start: [-2.8, -2.5]",
                                                  f"start: [{start[0]!r}, {start[1]!r}]")
    params = ", ".join(f"{name}: {v!r}" for name, v in values.items())
    text += f"optimizers: [{{type: {opt.type}, {params}}}]\n"
    tr = simulate_config(parse_config(text))
    return tr.path(0)


def state(page):
    return page.evaluate("({sel: optviz.state.sel, start: optviz.state.start, "
                         "step: optviz.state.step, playing: optviz.state.playing})")


def test_loads_offline_without_errors_and_shows_the_configs_run(site, watched):
    cfg, path = site
    w = watched()
    page = w.open(path)
    assert w.errors == [] and w.network == []
    meta = page.evaluate("optviz.meta")
    own = simulate_config(cfg)
    st = state(page)
    assert st["step"] == 40 and st["start"] == meta["own_start"]
    for k in range(3):
        drawn = np.array(page.evaluate(f"optviz.drawn({k})"))
        np.testing.assert_array_equal(drawn, own.path(k))  # exactly the config's run
    assert page.locator("#ov-step").inner_text() == "step 40 / 40"
    assert "final loss" in page.locator(".ov-final").first.inner_text()


def test_moving_an_lr_slider_draws_the_precomputed_path_for_that_value(site, watched):
    cfg, path = site
    page = watched().open(path)
    meta = page.evaluate("optviz.meta")
    mom = meta["opts"][1]
    slider = page.locator('input[data-k="1"][data-param="lr"]')
    slider.focus()
    page.keyboard.press("ArrowRight")  # the range input's own key: one grid value up
    il = mom["own_lr"] + 1
    assert state(page)["sel"][1]["lr"] == il
    assert page.locator(".ov-opt").nth(1).locator("output").first.inner_text() == \
        f"{mom['lr'][il]:.3g}"
    drawn = np.array(page.evaluate("optviz.drawn(1)"))
    expected = engine_path(cfg, 1, lr=mom["lr"][il], momentum=0.9)
    assert drawn.shape == expected.shape == (41, 2)
    np.testing.assert_allclose(drawn, expected, rtol=0, atol=meta["codec"]["q"] / 2 * 1.0001)
    own = simulate_config(cfg).path(1)
    assert np.abs(drawn - own).max() > 0.05  # the path did change
    # the main hyperparameter slider, dragged with the mouse to its left end
    main = page.locator('input[data-k="1"][data-param="main"]')
    box = main.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert state(page)["sel"][1]["main"] == 0
    drawn = np.array(page.evaluate("optviz.drawn(1)"))
    expected = engine_path(cfg, 1, lr=mom["lr"][il], momentum=mom["mains"][0])
    np.testing.assert_allclose(drawn, expected, rtol=0, atol=meta["codec"]["q"] / 2 * 1.0001)


def test_play_advances_the_step_and_pause_stops_it(site, watched):
    page = watched().open(site[1])
    page.click("#ov-play")  # at the last step, play starts over from 0
    page.wait_for_function("optviz.state.step > 3 && optviz.state.step < 40", timeout=5000)
    page.click("#ov-play")
    st = state(page)
    assert not st["playing"] and 3 < st["step"] < 40
    page.wait_for_timeout(300)
    assert state(page)["step"] == st["step"]
    assert len(page.evaluate("optviz.drawn(0)")) == st["step"] + 1  # the path grows
    assert page.locator("#ov-step").inner_text() == f"step {st['step']} / 40"
    page.click("#ov-back")
    assert state(page)["step"] == st["step"] - 1


def test_keyboard_space_and_arrows(site, watched):
    page = watched().open(site[1])
    page.click("h1")
    page.keyboard.press("Home")
    assert state(page)["step"] == 0
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert state(page)["step"] == 2
    page.keyboard.press("Shift+ArrowRight")
    assert state(page)["step"] == 12
    page.keyboard.press(" ")
    assert state(page)["playing"]
    page.keyboard.press(" ")
    assert not state(page)["playing"]


def test_clicking_the_plot_chooses_the_nearest_start_of_the_grid(site, watched):
    cfg, path = site
    page = watched().open(path)
    meta = page.evaluate("optviz.meta")
    box = page.locator("#ov-canvas").bounding_box()
    (x0, x1), (y0, y1) = meta["domain"]
    i = 9  # a start of the 4 x 4 grid
    sx, sy = meta["starts"][i]
    page.mouse.move(box["x"] + (sx - x0) / (x1 - x0) * box["width"] + 6,  # a little off:
                    box["y"] + (y1 - sy) / (y1 - y0) * box["height"] - 5)  # it snaps
    page.mouse.down()
    page.mouse.up()
    assert state(page)["start"] == i
    for k, kind in enumerate(("sgd", "momentum", "adam")):
        drawn = np.array(page.evaluate(f"optviz.drawn({k})"))
        params = dict(cfg.optimizers[k].params)
        values = {"lr": params["lr"]}
        if kind == "momentum":
            values["momentum"] = 0.9
        expected = engine_path(cfg, k, start=(sx, sy), **values)
        assert drawn[0].tolist() == pytest.approx([sx, sy], abs=meta["codec"]["q"])
        np.testing.assert_allclose(drawn, expected, rtol=0, atol=meta["codec"]["q"] / 2 * 1.0001)


def test_hover_shows_path_point_and_surface_value(site, watched):
    page = watched().open(site[1])
    meta = page.evaluate("optviz.meta")
    box = page.locator("#ov-canvas").bounding_box()
    (x0, x1), (y0, y1) = meta["domain"]

    def at(x, y):
        return (box["x"] + (x - x0) / (x1 - x0) * box["width"],
                box["y"] + (y1 - y) / (y1 - y0) * box["height"])

    p = page.evaluate("optviz.drawn(2)")[20]
    page.mouse.move(*at(*p))
    tip = page.locator("#ov-tip").inner_text()
    assert "step" in tip and "loss" in tip
    page.mouse.move(*at(2.5, 2.5))  # far from every path
    tip = page.locator("#ov-tip").inner_text()
    assert tip.startswith("f(") and "=" in tip


def test_the_fragment_records_the_settings_and_reopens_them(site, watched):
    page = watched().open(site[1])
    page.evaluate("optviz.select(2, 'lr', 0); optviz.setStart(3); optviz.setStep(17)")
    page.locator('.ov-opt input[type=checkbox]').first.uncheck()
    page.wait_for_function("location.hash.indexOf('start=3') >= 0")
    fragment = page.evaluate("location.hash")
    again = watched().open(site[1], fragment)
    st = state(again)
    assert st["sel"][2]["lr"] == 0 and st["start"] == 3 and st["step"] == 17
    assert st["sel"][0]["on"] is False and again.evaluate("optviz.drawn(0)") is None
    again.click("#ov-reset")
    st = state(again)
    assert st["start"] == again.evaluate("optviz.meta.own_start") and st["step"] == 40
    assert all(q["on"] for q in st["sel"])


def test_the_grid_is_stated_on_request(site, watched):
    page = watched().open(site[1])
    page.click("#ov-about summary")
    text = page.locator("#ov-grid").inner_text()
    assert "momentum 0, 0.9, 0.99" in text and "4\u00d74 grid" in text
    assert "quantised to" in text and "stored exactly" in text


@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_screenshots_fit_the_window(site, watched, tmp_path, width, height):
    w = watched(width, height)
    page = w.open(site[1])
    shot = tmp_path / f"page-{width}x{height}.png"
    page.screenshot(path=shot)
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[:2] == (height, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    plot = page.locator("#ov-canvas").bounding_box()
    assert plot["width"] >= 0.85 * min(width, 600)
    if width == 1280:  # a projector: the plot and its transport controls in one screen
        assert page.locator(".ov-transport").bounding_box()["y"] + 30 <= height
        assert page.locator("#ov-loss").bounding_box()["x"] > plot["x"] + plot["width"]
    # the paths are drawn: the canvas has each optimizer's colour
    canvas = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    for colour in ((0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00), (0x00, 0x9E, 0x73)):
        assert (np.abs(canvas - colour).sum(axis=-1) < 30).sum() > 30, colour
    assert w.errors == [] and w.network == []


def test_the_default_configs_page_is_small_and_quick(tmp_path, watched):
    info = run_web("default", out=tmp_path).page
    assert info.bytes < 5_000_000
    page = watched().open(info.path)
    # readiness, not a timing assertion: the page reports how long decoding took
    assert page.evaluate("optviz.readyMs") > 0
    assert page.evaluate("optviz.meta.trajectories") == info.trajectories


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
