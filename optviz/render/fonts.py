"""Text in every script, and vector files a publisher takes.

Every figure's text is set in DejaVu Sans (matplotlib's own font: Latin,
Greek, Cyrillic, the math signs), and a text with characters it lacks takes
them from the next font of a fallback chain (matplotlib's font fallback, a
list of families): the CJK fonts present on this machine (:data:`CJK_FAMILIES`,
in that order), the fonts of the packages in :data:`PACKAGE_FONTS` if one is
installed (``pip install 'optviz[cjk]'``), then any installed font that has
characters a figure still lacks. Characters no installed font has give one
warning line that names them, not one per glyph, and the run goes on.

PDFs embed TrueType (Type 42) fonts, never Type 3; SVGs keep their text as
text and name the fonts (``render.svg_text: paths`` draws it as outlines).
Figures are built and saved inside :func:`text_style` (the builders carry
:func:`styled`), so the user's own matplotlib settings are left alone.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import unicodedata
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

BASE_FAMILY = "DejaVu Sans"
#: CJK families, best first. Fonts with TrueType outlines come before those
#: with CFF (PostScript) outlines whatever their place here: matplotlib embeds
#: a CFF font in a PDF as TrueType data it is not (matplotlib issues 2869 and
#: 20870; poppler says "Mismatch between font type and embedded font file").
CJK_FAMILIES = (
    # Linux (Debian/Ubuntu packages fonts-noto-cjk, fonts-wqy-*, fonts-droid-fallback,
    # fonts-ipafont-*, fonts-ipaexfont-*, fonts-takao-*, fonts-vlgothic)
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "Source Han Sans", "Source Han Sans JP", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
    "IPAexGothic", "IPAGothic", "IPAPGothic", "TakaoGothic", "VL Gothic",
    "Noto Sans JP", "Noto Sans SC", "Noto Sans TC", "Noto Sans KR",
    # macOS
    "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Hiragino Sans GB", "PingFang SC",
    "Heiti SC", "Heiti TC", "STHeiti", "Apple SD Gothic Neo", "Arial Unicode MS",
    # Windows
    "Microsoft YaHei", "Yu Gothic", "Meiryo", "MS Gothic", "Microsoft JhengHei", "SimHei",
    "Malgun Gothic",
)
#: Packages that ship a CJK font, found at run time: module name -> font file
#: in it. ``optviz[cjk]`` installs the first (Noto Sans CJK, SIL Open Font
#: Licence 1.1: Chinese, Japanese and Korean).
PACKAGE_FONTS = {
    "noto_cjk_sans_otc": "NotoSansCJK-Regular.ttc",
    "matplotlib_fontja": "fonts/ipaexg.ttf",  # IPAexGothic (IPA licence): Japanese
}
HOW_TO_GET_A_FONT = "install a font that has them (the Noto font of their script, say)"
HOW_TO_GET_CJK = ("install a Chinese, Japanese and Korean font (Debian/Ubuntu: "
                  "`apt-get install fonts-noto-cjk`; any system: `pip install 'optviz[cjk]'`)")
CJK_NAMES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC",
             "FULLWIDTH", "HALFWIDTH")
#: matplotlib's own per-glyph warnings: replaced by :func:`check_text`'s one line
GLYPH_WARNING = r"Glyph \d+ .*missing from (current font|font\(s\))"
LOG = logging.getLogger("optviz")

_warned: set[str] = set()  # characters already reported in this process
_added: list[str] = []  # families found for characters the chain lacked


def _rc() -> dict:
    return {"font.family": [BASE_FAMILY], "pdf.fonttype": 42, "ps.fonttype": 42,
            "svg.fonttype": "none"}


class _NoWeightNotes(logging.Filter):
    """Drops matplotlib's note that a fallback font has no bold face (most CJK
    fonts have one weight: the regular one is used, as it says)."""

    def filter(self, record):
        return "Failed to find font weight" not in record.getMessage()


@contextmanager
def text_style(svg_text: str = "text"):
    """Inside: new text is set in DejaVu Sans (:func:`check_text` gives the
    texts that need it the fallback chain: a figure in plain Latin never loads
    a CJK font); PDF fonts are Type 42; SVG text stays text (*svg_text*
    "paths": outlines); matplotlib's per-glyph warnings are silenced
    (:func:`check_text` says it once)."""
    import matplotlib

    rc = _rc()
    if svg_text == "paths":
        rc["svg.fonttype"] = "path"
    quiet = _NoWeightNotes()
    fm_log = logging.getLogger("matplotlib.font_manager")
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=GLYPH_WARNING)
        fm_log.addFilter(quiet)
        try:
            yield
        finally:
            fm_log.removeFilter(quiet)


def styled(fn):
    """Run *fn* (a figure builder) inside :func:`text_style`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with text_style():
            return fn(*args, **kwargs)

    return wrapper


@functools.lru_cache(maxsize=1)
def _chain() -> tuple[str, ...]:
    _register_package_fonts()
    found = _cjk_present()
    if not found and _register_system_fonts():  # a stale font cache hides them?
        found = _cjk_present()
    return (BASE_FAMILY, *found)


def _cjk_present() -> list[str]:
    """The families of :data:`CJK_FAMILIES` matplotlib knows, TrueType outlines first."""
    from matplotlib import font_manager

    present = {}
    for entry in font_manager.fontManager.ttflist:
        present.setdefault(entry.name, entry.fname)
    found = [name for name in CJK_FAMILIES if name in present]
    found.sort(key=lambda name: not _truetype_outlines(present[name]))  # stable
    return found


def families() -> list[str]:
    """The chain in ``font.family`` order: DejaVu Sans, the CJK families present
    (TrueType outlines first), then families found for other scripts."""
    return list(dict.fromkeys([*_chain(), *_added]))


def _register(paths: Iterable[Path]) -> int:
    """Add the font files matplotlib does not know yet; returns how many."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    known = {entry.fname for entry in fm.ttflist}
    added = 0
    for path in paths:
        if str(path) not in known and path.is_file():
            try:
                fm.addfont(str(path))
            except Exception:  # noqa: BLE001 - an unreadable font file is skipped
                continue
            known.add(str(path))
            added += 1
    return added


def _register_package_fonts() -> int:
    """The fonts of the packages of :data:`PACKAGE_FONTS` that are installed
    (found without importing them)."""
    paths = []
    for module, name in PACKAGE_FONTS.items():
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations:
            paths += [Path(p) / name for p in spec.submodule_search_locations]
    return _register(paths)


@functools.lru_cache(maxsize=1)
def _register_system_fonts() -> int:
    """The system's fonts that matplotlib's font cache lacks: it reads the
    cache and never looks again, so a font installed after it was written is
    unseen until the cache is deleted. Done once, and only when a CJK font
    or a character's font is missing (about 20 ms for fc-list, plus each font
    added)."""
    from matplotlib import font_manager

    return _register(Path(p) for p in font_manager.findSystemFonts(fontext="ttf"))


def _truetype_outlines(path: str) -> bool:
    """Whether the (first) font of *path* has TrueType outlines: its sfnt
    version is 0x00010000 or 'true' ('OTTO' is CFF); a collection ('ttcf')
    points to its first font's header."""
    try:
        with open(path, "rb") as fh:
            tag = fh.read(12)
            if tag[:4] == b"ttcf":
                fh.seek(int.from_bytes(tag[8:12], "big"))
                tag = fh.read(4)
    except OSError:
        return False
    return tag[:4] in (b"\x00\x01\x00\x00", b"true")


@functools.lru_cache(maxsize=None)
def _charmap(family: str) -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    try:
        path = font_manager.findfont(FontProperties(family=family),
                                     fallback_to_default=False)
        return frozenset(font_manager.get_font(path).get_charmap())
    except Exception:  # noqa: BLE001 - not installed after all
        return frozenset()


def _drawn(ch: str) -> bool:
    """Characters that need a glyph (not spaces, line breaks or format marks)."""
    return not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"))


def uncovered(text: str, chain: Iterable[str] | None = None) -> str:
    """The characters of *text* (once each, in order) that no font of *chain*
    (default: :func:`families`) has."""
    if text.isascii():
        return ""
    maps = [_charmap(f) for f in (families() if chain is None else chain)]
    return "".join(dict.fromkeys(c for c in text if _drawn(c)
                                 and not any(ord(c) in m for m in maps)))


def _family_for(chars: str) -> list[str]:
    """Installed families (outside the chain) that together have most of *chars*."""
    from matplotlib import font_manager

    names = sorted({e.name for e in font_manager.fontManager.ttflist} - set(families())
                   - {"Last Resort High-Efficiency"})
    picked, left = [], set(chars)
    for name in names:
        has = {c for c in left if ord(c) in _charmap(name)}
        if has:
            picked.append(name)
            left -= has
        if not left:
            break
    return picked


def check_text(artist) -> str:
    """Give every text of *artist* (a figure, a legend, a text) that needs it
    the fallback chain (:func:`families`, with the families found for scripts
    the chain lacks), so that each character has a font where one is
    installed, and warn once, in one line, about the characters no installed
    font has. Returns those characters. Call it before measuring text."""
    from matplotlib.text import Text

    texts = [t for t in artist.findobj(Text) if not t.get_text().isascii()]
    short = [t for t in texts
             if uncovered(t.get_text(), t.get_fontproperties().get_family())]
    if not short:
        return ""
    if _register_system_fonts():  # fonts the stale cache hid, CJK ones too
        _chain.cache_clear()
    missing = "".join(dict.fromkeys(c for t in short for c in uncovered(t.get_text())))
    if missing:
        _added.extend(f for f in _family_for(missing) if f not in _added)
        missing = uncovered(missing)
    chain = families()
    for t in short:
        t.set_fontfamily(chain)
    new = "".join(c for c in missing if c not in _warned)
    if new:
        _warned.update(new)
        LOG.warning(missing_message(new))
    return missing


def missing_message(chars: str, most: int = 12) -> str:
    """The one warning line about *chars*."""
    shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in chars[:most])
    more = f" and {len(chars) - most} more" if len(chars) > most else ""
    cjk = any(unicodedata.name(c, "").startswith(CJK_NAMES) for c in chars)
    return (f"warning: no installed font has {shown}{more}; they are drawn as boxes. "
            f"To draw them, {HOW_TO_GET_CJK if cjk else HOW_TO_GET_A_FONT}, then run again.")
