"""Titles and labels that hold markup leave the page working, shown as text."""

import json

from optviz.app.runner import run, run_web
from optviz.input.config import parse_config

TITLE = "</script><!--<script> & \"q\" __OPTVIZ_META__ <b>bold</b>"
LABELS = ["<!--<script>", "</script><img src=x onerror=alert(1)>", "a & b > c\u2028d"]


def hostile_config():
    items = "".join(f"  - {{type: {t}, lr: 0.001, label: {json.dumps(lab)}}}\n"
                    for t, lab in zip(("sgd", "adam", "rmsprop"), LABELS))
    return parse_config(f"title: {json.dumps(TITLE)}\nsurface: rosenbrock\nstart: [-1, 1]\n"
                        f"steps: 10\noptimizers:\n{items}"
                        "web: {lr_values: 2, main_values: 1, starts: 2, value_grid: 16}\n"
                        "render: {formats: [html], size: [6, 4], dpi: 100}\n", "hostile.yaml")


def test_markup_in_title_and_labels_is_text_and_the_page_runs(tmp_path, watched):
    cfg = hostile_config()
    web = run_web(cfg, out=tmp_path / "web").page
    own = run(cfg, out=tmp_path / "own")
    pages = [web.path, *[p for p in own.files if p.suffix == ".html"]]
    assert len(pages) == 2
    for path in pages:
        w = watched()
        dialogs = []
        w.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page = w.open(path)  # waits until the page's script has decoded its data
        assert w.errors == [] and w.network == [] and dialogs == []
        assert page.title() == TITLE
        assert page.inner_text("#ov-title") == TITLE
        names = page.eval_on_selector_all(".ov-name", "els => els.map(e => e.textContent)")
        assert names == [lab.replace("\u2028", "\n") for lab in LABELS]  # a line break
        assert page.evaluate("document.images.length") == 1  # the background, no injected <img>
        assert page.evaluate("optviz.meta.title") == TITLE
