"""The web page: build, size, time to interactive and redraw time in headless Chromium.

Run:  python benchmarks/bench_web.py [CONFIG]      (default: the default config)

Prints, for the config's page: the build in this process and the page's size and
what it holds; then, in Debian's Chromium (/usr/bin/chromium, via Playwright),
the median of 5 fresh loads of navigation start to the page reporting itself
ready. Then the live redraw: a page of 10 optimizers x 1,000 steps on the
default config's surface, where a slider's input event and a click on the plot
recompute (one optimizer, and all ten from the new start) and redraw
synchronously in their handlers; their time from dispatching the event until
both canvases are rasterised (a pixel read back), median of 30 of each.
Targets (issue 22): a live page at most 1 MB; 10 x 1,000 steps redrawn within
one frame (16 ms).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TEN = """\
title: Ten optimizers, 1000 steps
surface: wobbly
start: [-2.8, -2.5]
steps: 1000
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: nesterov, lr: 0.01, momentum: 0.9}
  - {type: nag, lr: 0.01, momentum: 0.9}
  - {type: adagrad, lr: 0.5}
  - {type: rmsprop, lr: 0.05}
  - {type: adam, lr: 0.1}
  - {type: adamw, lr: 0.1}
  - {type: nadam, lr: 0.1}
  - {type: lion, lr: 0.01}
"""

# reading a pixel of each canvas waits until what was drawn is rasterised
PIXELS = ("document.getElementById('ov-canvas').getContext('2d').getImageData(0, 0, 1, 1); "
          "document.getElementById('ov-loss').getContext('2d').getImageData(0, 0, 1, 1);")
SLIDER = """() => {
  const inp = document.querySelector('input[type=range][data-k="6"][data-param="lr"]');
  const out = [];
  for (let i = 0; i < 30; i++) {
    inp.value = String(100 + 3 * i);
    const before = optviz.state.sel[6].v[0], t = performance.now();
    inp.dispatchEvent(new Event('input', {bubbles: true}));
    PIXELS();
    out.push(performance.now() - t);
    if (optviz.state.sel[6].v[0] === before) throw new Error('the slider did not move');
  }
  return out;
}"""
SLIDER = SLIDER.replace("PIXELS();", PIXELS)
CLICK = """() => {
  const c = document.getElementById('ov-canvas'), b = c.getBoundingClientRect(), out = [];
  for (let i = 0; i < 30; i++) {
    const x = b.left + b.width * (0.1 + 0.02 * i), y = b.top + b.height * (0.8 - 0.01 * i);
    const before = optviz.state.start[0], t = performance.now();
    c.dispatchEvent(new MouseEvent('click', {clientX: x, clientY: y, bubbles: true}));
    PIXELS();
    out.push(performance.now() - t);
    if (optviz.state.start[0] === before) throw new Error('the start did not move');
  }
  return out;
}""".replace("PIXELS();", PIXELS)


def main(spec: str = "default") -> None:
    from optviz.app.runner import simulate_config
    from optviz.input.config import load_config, parse_config
    from optviz.render import web

    t0 = time.perf_counter()
    cfg = load_config(spec)
    own = simulate_config(cfg)
    t1 = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="optviz-bench-web-"))
    page = web.write_page(cfg, own, out / "page.html")
    t2 = time.perf_counter()
    print(f"{spec}: load + own run {t1 - t0:.2f} s, whole page {t2 - t1:.2f} s")
    print(f"page {page.bytes / 1e6:.2f} MB; live: {len(page.live)} of {len(cfg.optimizers)} "
          f"optimizers; {page.trajectories:,} precomputed paths")
    ten = parse_config(TEN, "ten.yaml")
    ten_page = web.write_page(ten, simulate_config(ten), out / "ten.html")
    print(f"ten optimizers x 1000 steps: page {ten_page.bytes / 1e6:.2f} MB, live: "
          f"{len(ten_page.live)} of 10")

    from playwright.sync_api import sync_playwright

    ready, slider, click = [], [], []
    with sync_playwright() as p:
        for i in range(5):
            profile = tempfile.mkdtemp(prefix="optviz-chromium-")
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            pg = ctx.new_page()
            pg.set_viewport_size({"width": 1280, "height": 720})
            pg.goto(page.path.as_uri())
            pg.wait_for_function("document.documentElement.dataset.ready === '1'")
            ready.append(pg.evaluate("performance.now()"))  # since navigation start
            if i == 0:
                pg.goto(ten_page.path.as_uri())
                pg.wait_for_function("document.documentElement.dataset.ready === '1'")
                for _ in range(2):  # warm up, then measure
                    slider = pg.evaluate(SLIDER)
                    click = pg.evaluate(CLICK)
            ctx.close()
    print(f"Chromium: ready after {statistics.median(ready):.0f} ms (median of 5 fresh loads, "
          f"from navigation start; {min(ready):.0f}..{max(ready):.0f})")
    print(f"live redraw, 10 optimizers x 1000 steps (median of 30; max): a slider move "
          f"{statistics.median(slider):.1f} ms ({max(slider):.1f}); a click on the plot, all ten "
          f"recomputed {statistics.median(click):.1f} ms ({max(click):.1f}); one frame is 16.7 ms")


if __name__ == "__main__":
    main(*sys.argv[1:])
