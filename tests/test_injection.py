"""Text from a config never reaches a shell, a terminal or a page unescaped.

Written as an attacker would: real config files, real ``optviz`` processes, and
the printed command pasted into a real shell.
"""

import html.parser
import json
import os
import re
import subprocess
import sys
from pathlib import Path


BIN = str(Path(sys.executable).parent)  # the venv's bin: the installed `optviz`
RENDER = "render: {formats: [png], size: [2, 1.5], dpi: 100}\n"


def optviz(*args, cwd, env=None, timeout=120):
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(["optviz", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def strict_json(text):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------- shell
def test_reproduce_command_is_shell_quoted_and_reruns_exactly(tmp_path):
    out_name = "o; touch INJECTED #"
    (tmp_path / "c.yaml").write_text(
        "surface: rosenbrock\nstart: [-1, 1]\nsteps: 4\nstarts: {grid: 2}\n"
        "optimizers:\n  - {type: sgd, lr: 0.001, label: 'a | b'}\n"
        "  - {type: adam, lr: 0.01, label: 'pipe|in\\\\|side'}\n"
        f"{RENDER}output: '{out_name}'\n")
    r = optviz("compare", "c.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / out_name
    md = (out / "summary.md").read_text()
    record = strict_json((out / "compare.json").read_text())
    command = re.search(r"^```+\n(.*)\n```+$", md, re.M).group(1)
    assert command == record["command"]

    # the table: a header, a rule and one row per optimizer, six cells each;
    # an escaped '\|' is text inside a cell, not a cell boundary
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 4, md
    for line in rows:
        cells = re.split(r"(?<!\\)\|", line.replace("\\\\", ""))[1:-1]
        assert len(cells) == 6, line
    labels = [re.split(r"(?<!\\)\|", line.replace("\\\\", "\0"))[1] for line in rows[2:]]
    unescape = [lab.strip().replace("\\|", "|").replace("\0", "\\") for lab in labels]
    assert unescape == ["a | b", r"pipe|in\\|side"]  # as the YAML (single quotes) holds it

    # paste the command into a shell, from the folder the comparison ran in (the
    # report is replaced: its record is optviz's own, so the re-run may replace it)
    before = (out / "compare.json").stat().st_ino
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("INJECTED")), "the shell ran the folder name as a command"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.yaml", out_name])
    assert (out / "compare.json").stat().st_ino != before  # written again ...
    assert strict_json((out / "compare.json").read_text()) == record  # ... the same comparison


def test_a_config_file_named_like_an_option_is_not_read_as_one(tmp_path):
    (tmp_path / "-q.yaml").write_text(
        "surface: rosenbrock\nstart: [-1, 1]\nsteps: 3\n"
        f"optimizers: [{{type: sgd, lr: 0.001}}]\n{RENDER}output: out\n")
    r = optviz("compare", "./-q.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    command = strict_json((tmp_path / "out" / "compare.json").read_text())["command"]
    before = (tmp_path / "out" / "compare.json").stat().st_ino
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "compare.json").stat().st_ino != before  # written again


# ----------------------------------------------------------------------------- pages
HOSTILE_TITLE = "</script><!--<script> & \"q\" __OPTVIZ_META__ <b>bold</b>"
HOSTILE_LABELS = ["<!--<script>", "</script><img src=x onerror=alert(1)>", "a & b > c"]


def page_config(folder: Path, title: str, labels: list[str]) -> Path:
    items = "".join(f"  - {{type: {t}, lr: 0.001, label: {json.dumps(lab)}}}\n"
                    for t, lab in zip(("sgd", "adam", "rmsprop"), labels))
    folder.mkdir(exist_ok=True)
    path = folder / "c.yaml"
    path.write_text(f"surface: rosenbrock\ntitle: {json.dumps(title)}\nstart: [-1, 1]\n"
                    f"steps: 5\noptimizers:\n{items}"
                    "web: {lr_values: 2, main_values: 1, starts: 1, value_grid: 8}\n"
                    "render: {formats: [html], size: [4, 3], dpi: 100}\noutput: out\n")
    return path


def script_text(page: str, element_id: str) -> str:
    """The text of a <script> element as the HTML parser sees it: up to the first
    '</script' (what ends the element when the text holds no '<!--')."""
    start = page.index(f'id="{element_id}">') + len(f'id="{element_id}">')
    return page[start:page.index("</script", start)]


class Texts(html.parser.HTMLParser):
    """The start tags of a page and the text inside each element (by id or tag)."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.where, self.found, self.tags = [], {}, []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.where.append(dict(attrs).get("id") or tag)

    def handle_endtag(self, tag):
        if self.where:
            self.where.pop()

    def handle_data(self, data):
        if self.where:
            self.found[self.where[-1]] = self.found.get(self.where[-1], "") + data


def make_pages(folder: Path, title: str, labels: list[str]) -> list[Path]:
    page_config(folder, title, labels)
    for args in (("web", "c.yaml", "-q"), ("run", "c.yaml", "-q")):
        r = optviz(*args, cwd=folder)
        assert r.returncode == 0, r.stderr
    pages = sorted((folder / "out").glob("*.html"))
    assert [p.name for p in pages] == ["c-web.html", "c.html"]
    return pages


def test_config_text_in_pages_is_escaped_for_its_context(tmp_path):
    plain = [Texts(p.read_text(encoding="utf-8"))
             for p in make_pages(tmp_path / "plain", "plain", ["a", "b", "c"])]
    for path, benign in zip(make_pages(tmp_path / "hostile", HOSTILE_TITLE, HOSTILE_LABELS),
                            plain):
        page = path.read_text(encoding="utf-8")
        meta_text = script_text(page, "ov-meta")
        # nothing in the JSON can end the element or open a comment / nested script
        for bad in ("<", ">", "&", "\u2028", "\u2029"):
            assert bad not in meta_text, (path.name, bad)
        meta = strict_json(meta_text)  # and it reads back as the very same text
        assert meta["title"] == HOSTILE_TITLE
        assert [o["label"] for o in meta["opts"]] == HOSTILE_LABELS
        # the data scripts after it are still separate elements, whole
        assert script_text(page, "ov-paths").strip() and script_text(page, "ov-exact").strip()
        # the title is text in <title> and <h1>, the placeholder in it left as text,
        # and the page has the same elements as one made from harmless text
        parsed = Texts(page)
        assert parsed.found["title"] == HOSTILE_TITLE
        assert parsed.found["ov-title"] == HOSTILE_TITLE
        assert parsed.tags == benign.tags


def test_jupyter_view_embeds_the_page_as_one_escaped_attribute(tmp_path):
    from optviz.app.runner import run

    config = page_config(tmp_path, HOSTILE_TITLE, HOSTILE_LABELS)
    result = run(str(config), out=tmp_path / "out")
    view = result._repr_html_()

    class Frames(html.parser.HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tags = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parsed = Frames()
    parsed.feed(view)
    assert [t for t, _ in parsed.tags] == ["iframe"]
    attrs = parsed.tags[0][1]
    assert attrs["title"] == HOSTILE_TITLE
    assert attrs["srcdoc"] == (tmp_path / "out" / "c.html").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- terminal
# what a hostile config can hold: clear screen, retitle the window (BEL and ST
# ends), C1 CSI, a DCS string, a bare ESC, a carriage return, NUL, DEL, a bidi override
NASTY = ("\x1b[2J", "\x1b]0;pwned\x07", "\x1b]2;pwned\x1b\\", "\x9b31m", "\x90qq\x9c",
         "\x1bc", "\r", "\x00", "\x7f", "\u202e")


def nasty(word: str, but: str = "") -> str:
    """*word* with every hostile sequence (*but* those) inside it, as YAML
    double-quoted text."""
    text = word[:1] + "".join(n for n in NASTY if n not in but) + word[1:]
    return json.dumps(text)  # JSON string escapes are YAML double-quoted escapes


def assert_clean(stream: str, *words, quoted=False):
    """No control character but newline, no ESC, no C1, no bidi override; the visible
    words are all still there. Unless the text was *quoted* (as Python's repr shows
    it, escapes as printable text), no trace of the sequences either."""
    bad = [c for c in stream if (ord(c) < 32 and c not in "\n") or 0x7f <= ord(c) <= 0x9f
           or 0x202a <= ord(c) <= 0x202e]
    assert not bad, (bad, stream)
    if not quoted:
        assert "pwned" not in stream and "31m" not in stream and "[2J" not in stream
    for w in words:
        assert w in stream, (w, stream)


def test_control_characters_never_reach_the_terminal(tmp_path):
    surface = tmp_path / "s.yaml"
    surface.write_text("formula: 'x**2 + y**2'\ndomain: {x: [-2, 2], y: [-2, 2]}\nstart: [1, 1]\n"
                       f"title: {nasty('Bowl')}\ndescription: {nasty('Round')}\n"
                       f"source: {nasty('Made up')}\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"surface: s.yaml\ntitle: {nasty('Hello')}\nstart: [1, 1]\nsteps: 3\n"
                   f"optimizers: [{{type: sgd, lr: 0.1, label: {nasty('fast')}}}]\n"
                   f"{RENDER}output: {nasty('outdir', but=chr(0))}\n")  # a NUL is refused
    r = optviz("run", "c.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_clean(r.stdout + r.stderr, "Hello", "fast", "outdir")
    r = optviz("describe", "s.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_clean(r.stdout + r.stderr, "Bowl", "Round", "Made up")

    # values quoted in errors: an unknown key, a bad value, a file name
    for text, words, quoted in (
            (f"surface: s.yaml\n{nasty('colour')}: 1\noptimizers: [sgd]\n",
             ["colour", "line 2"], False),
            (f"surface: s.yaml\noptimizers: [{{type: {nasty('adma')}}}]\n",  # shown as repr
             ["line 2", "optimizers[0].type"], True),
            (f"surface: {nasty('nowhere.yaml')}\noptimizers: [sgd]\n",
             ["nowhere.yaml", "line 1"], False)):
        cfg.write_text(text)
        r = optviz("run", "c.yaml", cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.startswith("Error: "), r.stderr
        assert_clean(r.stdout + r.stderr, *words, quoted=quoted)
    named = tmp_path / ("a" + "".join(NASTY[:3]) + "b.yaml")
    named.write_text("surface: s.yaml\noptimizers: [{type: sgd, lr: -1}]\n")
    r = optviz("run", named.name, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("Error: "), r.stderr
    assert_clean(r.stdout + r.stderr, "ab.yaml", "lr")
    r = optviz("batch", named.name, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert_clean(r.stdout + r.stderr, "ab.yaml", "FAILED")


def test_control_characters_never_reach_the_figures_or_data(tmp_path):
    (tmp_path / "c.yaml").write_text(
        f"surface: rosenbrock\ntitle: {json.dumps('Two' + ''.join(NASTY) + chr(10) + 'lines')}\n"
        f"start: [-1, 1]\nsteps: 3\n"
        f"optimizers: [{{type: sgd, lr: 0.001, label: {nasty('fast')}}}]\n"
        "render: {formats: [png, svg], size: [3, 2], dpi: 100}\noutput: out\n")
    r = optviz("run", "c.yaml", "-q", cwd=tmp_path, env={"PYTHONWARNINGS": "always"})
    assert r.returncode == 0 and r.stderr == "", r.stderr  # no missing-glyph warnings
    record = strict_json((tmp_path / "out" / "run.json").read_text())
    assert record["config"]["title"] == "Two\nlines"  # the line break kept
    assert record["config"]["optimizers"][0]["label"] == "fast"
    import csv

    with open(tmp_path / "out" / "trajectories.csv", newline="") as fh:
        assert {row["label"] for row in csv.DictReader(fh)} == {"fast"}
    svg = (tmp_path / "out" / "c.svg").read_text()
    assert "\x1b" not in svg and "pwned" not in svg
