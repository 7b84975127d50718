"""Text a user gives that matplotlib draws: titles, labels, lessons.

matplotlib reads a line with an even number of unescaped ``$`` as mathtext
(``'loss $\\|x\\|^2$'``). Such text is kept and parsed here, at config time,
so that a formula matplotlib cannot typeset is a ConfigError naming the key,
not a ValueError from the renderer. A literal dollar sign is written ``\\$``;
a single ``$`` is plain text. matplotlib is imported only for text with a ``$``.
"""

from __future__ import annotations


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
