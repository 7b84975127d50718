"""The web page: build time, size, and time to interactive in headless Chromium.

Run:  python benchmarks/bench_web.py [CONFIG]      (default: the default config)

Prints, for the config's page: the precompute (one engine batch per optimizer),
the background PNG and the whole build in a fresh process; the page's size and
what it holds; then, in Debian's Chromium (/usr/bin/chromium, via Playwright),
the median of 5 fresh loads of: navigation start to the page reporting itself
ready (data decoded, first frame drawn), and a slider move to its redraw.
Targets (issue 12): page under 5 MB, interactive in under a second.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(spec: str = "default") -> None:
    from optviz.app.runner import simulate_config
    from optviz.input.config import load_config
    from optviz.render import web

    t0 = time.perf_counter()
    cfg = load_config(spec)
    own = simulate_config(cfg)
    t1 = time.perf_counter()
    grids = web.optimizer_grids(cfg)
    starts, _ = web.start_grid(cfg)
    web.precompute(cfg, grids, starts)
    t2 = time.perf_counter()
    web.background_png(cfg.surface)
    t3 = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="optviz-bench-web-"))
    page = web.write_page(cfg, own, out / "page.html")
    t4 = time.perf_counter()
    print(f"{spec}: load + own run {t1 - t0:.2f} s, precompute {t2 - t1:.2f} s, "
          f"PNG {t3 - t2:.2f} s, whole page {t4 - t3:.2f} s")
    print(f"page {page.bytes / 1e6:.2f} MB ({page.data_bytes / 1e6:.2f} MB compressed data "
          f"before base64): {page.trajectories:,} paths x {cfg.steps + 1} points; positions "
          f"within {page.position_precision:.2g}, losses within a relative "
          f"{page.loss_precision:.1g}")

    from playwright.sync_api import sync_playwright

    ready, slider = [], []
    with sync_playwright() as p:
        for _ in range(5):
            profile = tempfile.mkdtemp(prefix="optviz-chromium-")
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"])
            pg = ctx.new_page()
            pg.set_viewport_size({"width": 1280, "height": 720})
            pg.goto(page.path.as_uri())
            pg.wait_for_function("document.documentElement.dataset.ready === '1'")
            ready.append(pg.evaluate("performance.now()"))  # since navigation start
            slider.append(pg.evaluate("""() => { const t = performance.now();
                optviz.select(1, 'lr', 0); return performance.now() - t; }"""))
            ctx.close()
    print(f"Chromium: ready after {statistics.median(ready):.0f} ms (median of 5 fresh loads, "
          f"from navigation start; {min(ready):.0f}..{max(ready):.0f}); a slider move redraws "
          f"in {statistics.median(slider):.1f} ms")


if __name__ == "__main__":
    main(*sys.argv[1:])
