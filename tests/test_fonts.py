"""Every script renders: Cyrillic, Chinese and Japanese text is drawn with real
glyphs in PNG, PDF and SVG; PDFs embed TrueType fonts; characters no font has
give one warning line and the run still succeeds.

The CJK tests need a CJK font installed (CI installs fonts-droid-fallback in
.ci/run; on Debian/Ubuntu `apt-get install fonts-droid-fallback`, macOS and
Windows have theirs): without one they fail in CI and are skipped, saying
why, elsewhere.
"""

import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.core.surfaces import load_surface
from optviz.render import fonts
from optviz.render.contour import make_figure
from optviz.render.static import save_figure
from optviz.render.spec import RenderSpec

CHINESE = "优化器的轨迹与损失函数"
JAPANESE = "最適化アルゴリズムの比較"
RUSSIAN = "Траектории оптимизаторов"
TITLE = f"{CHINESE} · {JAPANESE} · {RUSSIAN}"
LABELS = ["亚当 アダム Адам", "随机梯度下降 確率的勾配降下法 Стохастический"]
#: U+0378 is unassigned: no font has it, anywhere
NO_FONT = "\u0378"
LAST_RESORT = "Last Resort High-Efficiency"


def need_cjk_font():
    cjk = [f for f in fonts.families() if f in fonts.CJK_FAMILIES]
    if not cjk:
        message = ("no CJK font installed (apt-get install fonts-droid-fallback; "
                   "see .ci/run)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return cjk


@pytest.fixture(scope="module")
def run():
    s = load_surface("wobbly")
    tr = simulate(s, {LABELS[0]: make_optimizer("adam", lr=0.25),
                      LABELS[1]: make_optimizer("sgd", lr=0.05)}, s.start, 30)
    return s, tr


@pytest.fixture
def figure(run):
    need_cjk_font()
    s, tr = run
    fig, ax = make_figure(s, tr, RenderSpec(title=TITLE, size=(8, 5), dpi=60, loss_panel=True))
    return fig, ax


def title_of(fig):
    from matplotlib.text import Text

    [title] = [t for t in fig.findobj(Text) if t.get_text() == TITLE]
    return title


def glyph(ch: str, props) -> np.ndarray:
    """*ch* drawn alone with the font properties *props*, as a grey bitmap."""
    fig = Figure(figsize=(0.5, 0.5), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.2, ch, fontproperties=props, size=20)
    with warnings.catch_warnings():  # the boxes drawn on purpose
        warnings.filterwarnings("ignore", message=fonts.GLYPH_WARNING)
        fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., 0].copy()


def test_every_character_gets_a_real_glyph_not_the_box(figure):
    """Each distinct character of the title and of the legend, drawn with the
    font properties the figure gave that text, differs from the last-resort
    box drawn for it (LastResort's glyph for its block), from the .notdef box
    of an unassigned code point, and from every other character (boxes of one
    block are all alike)."""
    fig, ax = figure
    [legend] = fig.legends
    texts = [title_of(fig)] + [t for t in legend.get_texts() if not t.get_text().isascii()]
    assert len(texts) == 3
    for text in texts:
        props = text.get_fontproperties()
        assert props.get_family()[0] == fonts.BASE_FAMILY
        chars = sorted({c for c in text.get_text() if not c.isascii() and c != "·"})
        drawn = {c: glyph(c, props) for c in chars}
        box = glyph(NO_FONT, props)
        for c in chars:
            last_resort_props = props.copy()
            last_resort_props.set_family(LAST_RESORT)
            last_resort = glyph(c, last_resort_props)
            assert (drawn[c] < 250).sum() > 10, c  # something is drawn
            assert not np.array_equal(drawn[c], box), c
            assert not np.array_equal(drawn[c], last_resort), c
        bitmaps = [drawn[c].tobytes() for c in chars]
        assert len(set(bitmaps)) == len(chars)


def chosen_fonts(text, props) -> dict:
    """Per character of *text*: (the font matplotlib lays it out in, glyph index)."""
    from matplotlib import _text_helpers, font_manager

    font = font_manager.get_font(font_manager.fontManager._find_fonts_by_props(props))
    return {item.char: (item.ft_object, item.glyph_index)
            for item in _text_helpers.layout(text, font)}


def test_the_font_chosen_for_each_character_has_it(figure):
    """matplotlib's font manager, asked for the title's font list, lays each
    character out in a font whose character map holds it (a real glyph, not
    glyph 0, and not LastResort's)."""
    fig, ax = figure
    chosen = chosen_fonts(TITLE, title_of(fig).get_fontproperties())
    for ch in set(TITLE) - {" "}:
        face, index = chosen[ch]
        assert ord(ch) in face.get_charmap() and index != 0, ch
        assert "LastResort" not in face.fname, ch
    cjk_faces = {chosen[c][0].family_name for c in CHINESE + JAPANESE}
    assert cjk_faces <= set(fonts.CJK_FAMILIES), cjk_faces
    assert {chosen[c][0].family_name for c in RUSSIAN if c != " "} == {fonts.BASE_FAMILY}


def pdf_fonts(data: bytes) -> dict[str, dict]:
    """Each font resource of a (matplotlib) PDF: name -> {subtype, base, unicode map}."""
    objs = {int(m.group(1)): m.group(2)
            for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}

    def stream(num):
        m = re.search(rb"stream\r?\n(.*)\r?\nendstream", objs[num], re.S)
        raw = m.group(1)
        return zlib.decompress(raw) if b"/FlateDecode" in objs[num] else raw

    def cmap(text: bytes) -> dict[int, str]:
        out = {}
        for a, b in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>(?=\s*\n)", text):
            out[int(a, 16)] = bytes.fromhex(b.decode()).decode("utf-16-be")
        for a, b, dest in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*\[([^\]]*)\]",
                                     text):
            for code, d in zip(range(int(a, 16), int(b, 16) + 1), re.findall(rb"<(\w+)>", dest)):
                out[code] = bytes.fromhex(d.decode()).decode("utf-16-be")
        return out

    found = {}
    for num, body in objs.items():
        m = re.search(rb"/Font\s+(\d+) 0 R", body)
        if not m or b"/ProcSet" not in body:
            continue
        for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", objs[int(m.group(1))]):
            font = objs[int(ref)]
            base = re.search(rb"/BaseFont\s*/([^\s/>]+)", font).group(1).decode()
            sub = re.search(rb"/Subtype\s*/(\w+)", font).group(1).decode()
            uni = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
            found[name.decode()] = {"subtype": sub, "base": base,
                                    "map": cmap(stream(int(uni.group(1)))) if uni else {}}
    return found, objs, stream


def _unescape(m) -> bytes:
    e = m.group(1)
    if e[:1].isdigit():
        return bytes([int(e, 8)])
    return {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(e, e)


def pdf_text(data: bytes) -> str:
    """The text a reader extracts: every string shown, decoded through its
    font's ToUnicode map, in the order drawn."""
    found, objs, stream = pdf_fonts(data)
    out = []
    for num, body in objs.items():
        if b"stream" not in body or b"/Length" not in body:
            continue
        try:
            content = stream(num)
        except zlib.error:
            continue
        if b" Tf" not in content:
            continue
        for block in re.findall(rb"\bBT\b(.*?)\bET\b", content, re.S):
            font = None
            for name, s in re.findall(rb"/(\w+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)",
                                      block, re.S):
                if name:
                    font = found[name.decode()]
                    continue
                s = re.sub(rb"\\([0-7]{1,3}|.)", _unescape, s, flags=re.S)
                codes = [int.from_bytes(s[i:i + 2], "big") for i in range(0, len(s) - 1, 2)]
                out.append("".join(font["map"].get(c, "?") for c in codes))
    return "".join(out)


def test_pdf_embeds_truetype_fonts_with_every_character(tmp_path, figure):
    fig, _ = figure
    [pdf] = save_figure(fig, tmp_path / "fig", ["pdf"])
    data = pdf.read_bytes()
    assert b"/Type3" not in data
    found, _, _ = pdf_fonts(data)
    assert {f["subtype"] for f in found.values()} == {"Type0"}  # CID fonts over TrueType
    assert b"/CIDFontType2" in data and b"/FontFile2" in data
    assert not [f for f in found.values() if "LastResort" in f["base"]]
    cjk = [f for f in found.values() if f["base"].split("+")[-1].replace("-", " ").startswith(
        tuple(n.replace(" ", "") for n in fonts.CJK_FAMILIES))
        or set(CHINESE) <= set(f["map"].values())]
    assert cjk, [f["base"] for f in found.values()]
    text = pdf_text(data)
    for expected in [TITLE, *LABELS]:
        assert expected.replace(" ", "") in text.replace(" ", ""), (expected, text[:300])


def test_svg_keeps_text_as_text_naming_its_fonts(tmp_path, figure):
    fig, _ = figure
    [svg] = save_figure(fig, tmp_path / "fig", ["svg"])
    ns = "{http://www.w3.org/2000/svg}"
    texts = ET.parse(svg).getroot().iter(f"{ns}text")
    styles = {"".join(t.itertext()): t.get("style", "") for t in texts}
    assert TITLE in styles
    family = re.search(r"font-family:([^;]*)", styles[TITLE]).group(1)
    names = [n.strip(" '\"") for n in family.split(",")]
    assert names[0] == fonts.BASE_FAMILY and set(names[1:]) & set(fonts.CJK_FAMILIES)
    for label in LABELS:
        assert any(label in t for t in styles)
    # as outlines on request: no text element left
    [paths] = save_figure(fig, tmp_path / "outlined", ["svg"], svg_text="paths")
    assert not list(ET.parse(paths).getroot().iter(f"{ns}text"))
    assert paths.stat().st_size > svg.stat().st_size


def test_unknown_svg_text_mode_is_refused(tmp_path, figure):
    fig, _ = figure
    with pytest.raises(ValueError, match="svg_text"):
        save_figure(fig, tmp_path / "fig", ["svg"], svg_text="outline")


def test_characters_no_font_has_give_one_warning_line(tmp_path, run, caplog, monkeypatch,
                                                      recwarn):
    monkeypatch.setattr(fonts, "_warned", set())
    s, tr = run
    title = f"missing {NO_FONT}\u0379 here {NO_FONT}"
    caplog.set_level(logging.WARNING)
    fig, _ = make_figure(s, tr, RenderSpec(title=title, size=(5, 3.5), dpi=50))
    files = save_figure(fig, tmp_path / "fig", ["png", "svg", "pdf"])
    fig2, _ = make_figure(s, tr, RenderSpec(title=title, size=(5, 3.5), dpi=50))
    save_figure(fig2, tmp_path / "again", ["png"])
    assert all(f.stat().st_size > 0 for f in files)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert "U+0378" in lines[0] and "U+0379" in lines[0] and "\n" not in lines[0]
    assert "install a font" in lines[0]
    assert not [w for w in recwarn if "Glyph" in str(w.message)]


def test_the_hint_for_missing_cjk_names_cjk_fonts():
    assert "fonts-noto-cjk" in fonts.missing_message("优")
    assert "optviz[cjk]" in fonts.missing_message("ア")
    assert "fonts-noto-cjk" not in fonts.missing_message(NO_FONT)


def test_a_script_outside_the_chain_takes_a_font_that_has_it(run, monkeypatch):
    """A character none of the chain has but some installed font does (one
    of matplotlib's STIX fonts, always there) is drawn with that font."""
    monkeypatch.setattr(fonts, "_added", [])
    monkeypatch.setattr(fonts, "_warned", set())
    chain = fonts.families()
    chain_maps = [fonts._charmap(f) for f in chain]
    stix = fonts._charmap("STIXGeneral")
    ch = next(chr(c) for c in sorted(stix) if c > 0x2000 and fonts._drawn(chr(c))
              and not any(c in m for m in chain_maps))
    s, tr = run
    fig, ax = make_figure(s, tr, RenderSpec(title=f"symbol {ch}", size=(5, 3.5), dpi=50))
    assert fonts.uncovered(ch) == ""
    from matplotlib.text import Text

    [title] = [t for t in fig.findobj(Text) if t.get_text() == f"symbol {ch}"]
    family = title.get_fontproperties().get_family()
    assert family[: len(chain)] == chain and len(family) > len(chain)
    face, index = chosen_fonts(ch, title.get_fontproperties())[ch]
    assert ord(ch) in face.get_charmap() and index != 0


def test_fonts_installed_after_matplotlibs_cache_are_found(monkeypatch):
    """matplotlib reads its font cache and never looks again; a CJK font
    missing from the cache (installed later) is found all the same."""
    from matplotlib import font_manager

    cjk = need_cjk_font()
    fm = font_manager.fontManager
    stale = [e for e in fm.ttflist if e.name not in cjk]
    monkeypatch.setattr(fm, "ttflist", stale)
    fonts._chain.cache_clear()
    fonts._register_system_fonts.cache_clear()
    try:
        assert set(cjk) <= set(fonts.families())
    finally:
        fonts._chain.cache_clear()


def test_a_package_font_is_found_at_run_time(tmp_path, monkeypatch):
    """``optviz[cjk]`` installs a package that ships a font; optviz finds its
    file without importing it. (A stand-in package holding a copy of
    DejaVu Sans under another file name.)"""
    import matplotlib
    from matplotlib import font_manager

    pkg = tmp_path / "fake_font_pkg"
    (pkg / "fonts").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('found, never imported')\n")
    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    shutil.copy(source, pkg / "fonts" / "Stand-in.ttf")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(fonts, "PACKAGE_FONTS", {"fake_font_pkg": "fonts/Stand-in.ttf"})
    fm = font_manager.fontManager
    monkeypatch.setattr(fm, "ttflist", list(fm.ttflist))
    fonts._register_package_fonts()
    assert str(pkg / "fonts" / "Stand-in.ttf") in {e.fname for e in fm.ttflist}


def test_the_cli_draws_cjk_without_a_warning_and_warns_once_for_the_rest(tmp_path):
    """The installed command: a Chinese/Japanese/Russian config writes PNG,
    PDF, SVG and GIF with nothing on stderr; one with characters no font has
    still succeeds, with one line on stderr naming them."""
    need_cjk_font()
    exe = Path(sys.executable).with_name("optviz")
    base = ("surface: wobbly\nsteps: 12\noptimizers:\n"
            "  - {{type: adam, lr: 0.25, label: \"{label}\"}}\n"
            "render: {{formats: [png, pdf, svg, gif], size: [5, 3.5], dpi: 50}}\n")
    good = tmp_path / "good.yaml"
    good.write_text(f"title: \"{TITLE}\"\n" + base.format(label=LABELS[1]), encoding="utf-8")
    r = subprocess.run([exe, "run", good, "--out", tmp_path / "good", "-q"],
                       capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert sorted(p.suffix for p in (tmp_path / "good").iterdir()) == [
        ".csv", ".gif", ".json", ".pdf", ".png", ".svg"]
    assert TITLE.replace(" ", "") in pdf_text((tmp_path / "good" / "good.pdf").read_bytes()
                                              ).replace(" ", "")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"title: \"{CHINESE} {NO_FONT}\"\n" + base.format(label=f"x {NO_FONT}"),
                   encoding="utf-8")
    r = subprocess.run([exe, "run", bad, "--out", tmp_path / "bad", "-q"],
                       capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "U+0378" in lines[0] and "Glyph" not in r.stderr, r.stderr
    assert "优" not in lines[0]  # drawn with a CJK font: not named


def test_render_svg_text_paths_outlines_the_text(tmp_path):
    """``render.svg_text: paths`` (the config key) writes outlines; the default text."""
    exe = Path(sys.executable).with_name("optviz")
    ns = "{http://www.w3.org/2000/svg}"
    counts = {}
    for mode in ("text", "paths"):
        cfg = tmp_path / f"{mode}.yaml"
        cfg.write_text("title: Outlines\nsurface: wobbly\nsteps: 5\n"
                       "optimizers: [{type: sgd, lr: 0.05}]\n"
                       f"render: {{formats: [svg, pdf], size: [4, 3], dpi: 50, "
                       f"svg_text: {mode}}}\n")
        r = subprocess.run([exe, "run", cfg, "--out", tmp_path / mode, "-q"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        root = ET.parse(tmp_path / mode / f"{mode}.svg").getroot()
        counts[mode] = [("".join(t.itertext())) for t in root.iter(f"{ns}text")]
        assert b"/Type3" not in (tmp_path / mode / f"{mode}.pdf").read_bytes()
    assert "Outlines" in counts["text"] and counts["paths"] == []


def test_truetype_outlines_are_told_from_cff_by_the_font_header(tmp_path):
    """Against fontTools (a 'glyf' table) for every installed font, and for a
    CFF font's header and a collection whose first font is CFF."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    for path in sorted({e.fname for e in font_manager.fontManager.ttflist}):
        with TTFont(path, fontNumber=0, lazy=True) as font:
            assert fonts._truetype_outlines(path) == ("glyf" in font), path
    cff = tmp_path / "cff.otf"
    cff.write_bytes(b"OTTO" + bytes(8))
    ttc = tmp_path / "cff.ttc"
    ttc.write_bytes(b"ttcf" + b"\x00\x01\x00\x00" + (16).to_bytes(4, "big") + bytes(4) + b"OTTO")
    tt = tmp_path / "tt.ttc"
    tt.write_bytes(b"ttcf" + b"\x00\x01\x00\x00" + (16).to_bytes(4, "big") + bytes(4)
                   + b"\x00\x01\x00\x00")
    assert not fonts._truetype_outlines(str(cff)) and not fonts._truetype_outlines(str(ttc))
    assert fonts._truetype_outlines(str(tt))
    assert not fonts._truetype_outlines(str(tmp_path / "absent.ttf"))


def test_animation_frames_draw_cjk_with_real_glyphs():
    """The GIF and MP4 frames come from the animator's figure: its title and
    legend take the CJK font too, and a frame's title differs from the same
    title drawn without the fallback (boxes)."""
    from optviz.app.runner import simulate_config
    from optviz.input.config import parse_config
    from optviz.render.frames import make_animator

    need_cjk_font()
    cfg = parse_config(f'title: "{TITLE}"\nsurface: wobbly\nsteps: 10\noptimizers:\n'
                       f'  - {{type: adam, lr: 0.25, label: "{LABELS[0]}"}}\n'
                       "render: {size: [6, 4], dpi: 60}\n", "a.yaml")
    anim = make_animator(cfg, simulate_config(cfg))
    frame = anim.draw(5).copy()
    title = title_of(anim.fig)
    chosen = chosen_fonts(TITLE, title.get_fontproperties())
    assert all(ord(c) in chosen[c][0].get_charmap() and chosen[c][1] != 0
               and "LastResort" not in chosen[c][0].fname for c in CHINESE + JAPANESE)
    [legend] = anim.fig.legends
    label = next(t for t in legend.get_texts() if LABELS[0] in t.get_text())
    assert set(label.get_fontproperties().get_family()) & set(fonts.CJK_FAMILIES)
    box = title.get_window_extent(anim.fig.canvas.get_renderer())
    h = frame.shape[0]
    rows = slice(int(h - box.y1), int(h - box.y0) + 1)
    cols = slice(int(box.x0), int(box.x1) + 1)
    title.set_fontfamily([fonts.BASE_FAMILY])  # the same title in boxes
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=fonts.GLYPH_WARNING)
        anim.fig.canvas.draw()
    boxes = np.asarray(anim.fig.canvas.buffer_rgba())
    assert not np.array_equal(frame[rows, cols], boxes[rows, cols])
