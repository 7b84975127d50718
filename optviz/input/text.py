"""Text a user gives: titles, labels, lessons, file names.

Control characters never pass: :func:`clean_text` takes them out of the text
a config or surface file gives to be drawn (titles, labels, lessons,
descriptions) as it is read, keeping line breaks, so that none reaches
matplotlib or a data file; :func:`terminal_text` takes them out of everything
the CLI prints (file names and values echoed in errors included), so that none
reaches a terminal. Other strings (paths, names) are kept as written: an
unknown name is refused and a path the OS refuses is an error. An escape sequence (``ESC [ 2 J``
clears the screen, ``ESC ] 0 ; ... BEL`` retitles the window) goes whole, not
just its ESC.

matplotlib reads a line with an even number of unescaped ``$`` as mathtext
(``'loss $\\|x\\|^2$'``). Such text is kept and parsed here, at config time,
so that a formula matplotlib cannot typeset is a ConfigError naming the key,
not a ValueError from the renderer. A literal dollar sign is written ``\\$``;
a single ``$`` is plain text. matplotlib is imported only for text with a ``$``.
"""

from __future__ import annotations

import re
import unicodedata

# Escape sequences (ECMA-48), each taken out whole: CSI (ESC [ or C1 CSI) with its
# parameters and final byte; OSC, DCS, SOS, PM, APC strings up to their terminator
# (BEL or ST); any other ESC with its intermediate and final bytes.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]")
# what is left: C0 but newline and tab, DEL, C1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# shown reordered by a terminal (the "Trojan source" characters): not for a terminal
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def join_surrogates(text: str) -> str:
    """*text* with each surrogate pair (``"\\ud83d\\ude00"``, as JSON writes a
    character beyond U+FFFF) made the character it encodes; a lone surrogate is left
    for :func:`lone_surrogate` to report."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


def clean_text(text: str) -> str:
    """Text to draw (a title, label, lesson, a surface's description) as optviz keeps
    it: escape sequences, control characters and bidirectional overrides (which
    matplotlib cannot honour) out, line breaks (``\\r\\n``, NEL, U+2028/9) as ``\\n``,
    tabs as spaces."""
    if text.isprintable():  # the common case: nothing to do
        return text
    text = re.sub(r"\r\n|[\x85\u2028\u2029]", "\n", text)
    return _BIDI.sub("", _CONTROL.sub("", _SEQUENCE.sub("", text))).replace("\t", " ")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate of *text* (not a character: it cannot be drawn or
    written as UTF-8), or None."""
    found = _SURROGATE.search(text)
    return found.group() if found else None


def terminal_text(text: str) -> str:
    """*text* made safe to print: escape sequences, control characters (but newline
    and tab) and bidirectional overrides out, lone surrogates as U+FFFD."""
    text = str(text)
    if text.isprintable():
        return text
    text = _BIDI.sub("", _CONTROL.sub("", _SEQUENCE.sub("", text)))
    return _SURROGATE.sub("\ufffd", text)


def mathtext_problem(text: str) -> str | None:
    """Why matplotlib cannot draw *text* as mathtext, or None if it can."""
    if "$" not in text:
        return None
    from matplotlib import cbook
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    for line in text.split("\n"):  # matplotlib lays out (and parses) line by line
        if not cbook.is_math_text(line):
            continue
        try:
            parser.parse(line, dpi=72)
        except (ValueError, RuntimeError) as e:
            lines = str(e).strip().splitlines()
            last = lines[-1] if lines else "cannot parse"
            kind, _, rest = last.partition(": ")
            return rest if kind.endswith("Exception") and rest else last
    return None


MATH_HINT = "text between $ signs is matplotlib mathtext; write \\$ for a literal dollar sign"


def columns(text: str) -> int:
    """How many terminal columns *text* takes: East Asian wide and full-width
    characters (Chinese, Japanese, Korean, full-width forms) take two, combining
    marks and zero-width characters none, every other character one."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """*text* padded with spaces to *width* terminal columns (:func:`columns`)."""
    return text + " " * max(0, width - columns(text))
