"""Where the shipped surfaces and configs live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the optviz package


def data_dir(kind: str) -> Path:
    """The folder of shipped ``surfaces`` or ``configs``.

    In a wheel they are package data under ``optviz/_data/``; in a source
    checkout (or an editable install) they are the top-level folders.
    """
    packaged = _PACKAGE / "_data" / kind
    return packaged if packaged.is_dir() else _PACKAGE.parent / kind


def names(kind: str) -> list[str]:
    """Names of the shipped YAML files of *kind*, relative, without suffix."""
    root = data_dir(kind)
    return sorted(p.relative_to(root).with_suffix("").as_posix()
                  for p in root.rglob("*.yaml"))


def find(kind: str, spec: str | Path) -> Path | None:
    """Resolve *spec* as a path (absolute or relative to the cwd), else a shipped name."""
    path = Path(spec)
    candidates = [path, path.with_suffix(".yaml") if path.suffix != ".yaml" else path]
    for cand in candidates:
        if cand.is_file():
            return cand
    root = data_dir(kind)
    for rel in (path, Path(kind) / path if path.parts[:1] != (kind,) else path):
        stripped = Path(*rel.parts[1:]) if rel.parts[:1] == (kind,) else rel
        cand = root / stripped.with_suffix(".yaml")
        if cand.is_file():
            return cand
    return None
