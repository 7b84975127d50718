"""Small tables of numbers read from CSV files: response signals and model data.

One reader with one set of limits, so every numeric file optviz reads is
bounded alike: only a regular file of at most 1 MB is read (a FIFO or
/dev/zero is refused unread), with at most 20,000 rows, each value a finite
number within +-1e6. Cells are separated by commas; blank lines are skipped;
the first line may be a header (a line that is not all numbers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optviz.errors import ConfigError

MAX_ROWS = 20_000
MAX_BYTES = 1024 * 1024
MAX_VALUE = 1e6  # |value|; squared (Adam, RMSprop, MSE) it stays far from overflow


def read_table(path: str | Path, *, what: str, key: str, noun: str,
               hint: str) -> tuple[np.ndarray, list[str] | None]:
    """The numbers of a small CSV file, shape (rows, columns), and its header cells
    (None without one). *what* names the file in errors ("signal file"), *key*
    the config key that gave it, *noun* its content ("the signal"), *hint* what
    to do about too many rows. Every row must have as many cells as the first."""
    from optviz.input.yamldoc import read_text

    path = Path(path)
    lines = [(i, line) for i, line in
             enumerate(read_text(path, what, limit=MAX_BYTES).splitlines(), 1) if line.strip()]
    if len(lines) > MAX_ROWS + 1:  # before parsing, to bound the work (a header is no row)
        count = len(lines) - (not all(map(_is_number, lines[0][1].split(","))))
        raise ConfigError(f"{noun} has {count:,} rows; the limit is {MAX_ROWS:,}",
                          file=str(path), key=key, hint=hint)
    header, rows, width = None, [], None
    for i, line in lines:
        cells = [c.strip() for c in line.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if header is None and not rows:
                header = cells
                continue
            bad = next(j for j, c in enumerate(cells, 1) if not _is_number(c))
            where = f"line {i}" if len(cells) == 1 else f"line {i}, column {bad}"
            raise ConfigError(f"{where} is not a number", file=str(path), line=i,
                              key=key) from None
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise ConfigError(f"line {i} has {len(values)} values; the first row has {width}",
                              file=str(path), line=i, key=key,
                              hint="every row needs the same columns")
        for v in values:
            if not abs(v) <= MAX_VALUE:
                raise ConfigError(f"the value on line {i} is not a finite number within "
                                  f"+-{MAX_VALUE:g}", file=str(path), line=i, key=key,
                                  hint="rescale the values")
        rows.append(values)
    if len(rows) > MAX_ROWS:
        raise ConfigError(f"{noun} has {len(rows):,} rows; the limit is {MAX_ROWS:,}",
                          file=str(path), key=key, hint=hint)
    if header is not None and width is not None and len(header) != width:
        raise ConfigError(f"the header has {len(header)} names; the rows have {width} values",
                          file=str(path), line=lines[0][0], key=key)
    return np.array(rows, dtype=np.float64).reshape(len(rows), width or 0), header


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip())
    except ValueError:
        return False
    return True
