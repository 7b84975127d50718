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


class SurfaceError(ConfigError):
    """A surface file or formula is invalid or unsafe."""


class RenderError(OptvizError):
    """Rendering or encoding failed (for example ffmpeg is missing)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean ...?' hint for the choice closest to *name*, if any is close."""
    close = difflib.get_close_matches(str(name), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
