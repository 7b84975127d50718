"""The one family of errors optviz raises for user mistakes.

Every error that a user can fix (a typo in a config, an unsafe formula, a
missing file, an encoder that is not installed) is an :class:`OptvizError`.
The CLI catches this base class once and prints the message without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class OptvizError(Exception):
    """Base class of every user-facing optviz error."""


class ConfigError(OptvizError):
    """A run config (or a surface file) is malformed or names something unknown."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None):
        self.file, self.line, self.key, self.hint = file, line, key, hint
        self.detail = message
        super().__init__(self._compose())

    def __reduce__(self):
        """Pickled with its facts (a cluster's worker sends it back whole)."""
        return _rebuild, (type(self), self.detail, self.file, self.line, self.key, self.hint)

    def _compose(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.key:
            where.append(f"key '{self.key}'")
        text = (", ".join(where) + ": " if where else "") + self.detail
        if self.hint:
            text += f" ({self.hint})"
        return text

    def located(self, *, file: str | None = None, line: int | None = None,
                key: str | None = None) -> "ConfigError":
        """The same error with location facts filled in where still missing."""
        return type(self)(self.detail, file=self.file or file,
                          line=self.line if self.line is not None else line,
                          key=self.key or key, hint=self.hint)


def _rebuild(cls, detail, file, line, key, hint):
    return cls(detail, file=file, line=line, key=key, hint=hint)


class SurfaceError(ConfigError):
    """A surface file or formula is invalid or unsafe."""


class BudgetError(ConfigError):
    """A request whose work or memory, estimated before it starts, is past the budget
    (:mod:`optviz.analysis.budget`)."""


class RenderError(OptvizError):
    """Rendering or encoding failed (for example ffmpeg is missing)."""


class LayoutError(RenderError):
    """No layout fits the figure at the config's render.size: raised while drawing,
    located in the config (file, line, key) by the app that runs the plan."""

    key = "render.size"


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean ...?' hint for the choice closest to *name*, if any is close.

    Closeness is the edit distance counting a swap of neighbours as one edit
    ('adma' -> 'adam'), ties broken by difflib's similarity.
    """
    name = str(name)
    choices = sorted({str(c) for c in choices})
    if not choices:
        return None
    scored = [(_edits(name.lower(), c.lower()),
               -difflib.SequenceMatcher(None, name, c).ratio(), c) for c in choices]
    edits, neg_ratio, best = min(scored)
    if edits <= max(1, len(name) // 3) or -neg_ratio >= 0.75:
        return f"did you mean '{best}'?"
    return None


def _edits(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]
