"""Rewrite the image-regression references: ``python tests/make_baseline.py``.

Renders every figure of tests/gallery.py into tests/baseline/<name>.png. Run it
after a deliberate visual change, look at every changed PNG, commit them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gallery import GALLERY, save  # noqa: E402


def main(names=()) -> None:
    out = HERE / "baseline"
    out.mkdir(exist_ok=True)
    for name, draw in GALLERY.items():
        if names and name not in names:
            continue
        target = out / f"{name}.png"
        save(draw(), target)
        print(f"{target.relative_to(HERE.parent)}  {target.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv[1:])
