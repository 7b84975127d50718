"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright's Python package.

Not in the default test paths: run with `python -m pytest tests/browser` after
`pip install -e ".[browser]"` and `apt-get install -y chromium` (what .ci/run does).
"""

import os
import shutil
import tempfile

import pytest

CHROMIUM = os.environ.get("OPTVIZ_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install -y chromium "
                           "(or set OPTVIZ_CHROMIUM)")
    profile = tempfile.mkdtemp(prefix="optviz-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM,
                                                   args=ARGS, headless=True)
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


class Watched:
    """A page with its console errors and every request that is not file: or data:."""

    def __init__(self, ctx, width, height):
        self.page = ctx.new_page()
        self.page.set_viewport_size({"width": width, "height": height})
        self.errors, self.network = [], []
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            url = r.request.url
            if not url.startswith(("file:", "data:", "blob:")):
                self.network.append(url)
                return r.abort()
            return r.continue_()

        self.page.route("**", route)

    def open(self, path, fragment=""):
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_function("document.documentElement.dataset.ready", timeout=15000)
        assert self.page.evaluate("document.documentElement.dataset.ready") == "1"
        return self.page


@pytest.fixture
def watched(browser):
    made = []

    def make(width=1280, height=720):
        w = Watched(browser, width, height)
        made.append(w)
        return w

    yield make
    for w in made:
        w.page.close()
