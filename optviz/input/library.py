"""Where the shipped surfaces and configs live, and how a name differs from a path.

A spec ending in ``.yaml`` or ``.yml`` is a *path*: the file relative to the
config that names it (or to the working folder). Anything else is a *name*: a
shipped surface or config (``wobbly``, ``article/two-minimums``), unless a local
file ``<name>.yaml`` of the same kind sits there - a surface file (a mapping
with a ``formula``) for a surface, a run config (with ``optimizers`` or
``response``) for a config. So a config saved as ``wobbly.yaml`` that says
``surface: wobbly`` gets the shipped surface, not itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the optviz package
SUFFIXES = (".yaml", ".yml")
#: a local file is of a kind when its top-level mapping has one of these keys
MARKERS = {"surfaces": ("formula",), "configs": ("optimizers", "response")}


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


def is_path(spec: str | Path) -> bool:
    """True when *spec* is a path (it ends in .yaml or .yml), False for a name."""
    return Path(str(spec)).suffix.lower() in SUFFIXES


def _probe(path: Path, test: str = "exists") -> bool:
    """``path.exists()`` (or ``is_file``) that is False for names the OS refuses
    (too long, a NUL character) instead of raising."""
    try:
        return getattr(path, test)()
    except (OSError, ValueError):
        return False


def shipped(kind: str, spec: str | Path) -> Path | None:
    """The shipped file named *spec* (``wobbly``, ``surfaces/wobbly.yaml``), if any."""
    rel = Path(str(spec))
    if rel.is_absolute() or ".." in rel.parts:
        return None
    if rel.parts[:1] == (kind,):
        rel = Path(*rel.parts[1:]) if len(rel.parts) > 1 else rel
    if not rel.name:  # '.', '/': a folder, never a shipped file
        return None
    cand = data_dir(kind) / (rel if is_path(rel) else rel.with_suffix(rel.suffix + ".yaml"))
    return cand if _probe(cand, "is_file") else None


def is_kind(kind: str, path: Path) -> bool:
    """Whether the local file *path* is a document of *kind* (read only if small)."""
    from optviz.errors import ConfigError
    from optviz.input.yamldoc import load_document

    try:
        data = load_document(path).data
    except ConfigError:
        return False
    return isinstance(data, dict) and any(key in data for key in MARKERS[kind])


def find(kind: str, spec: str | Path, base: Path | None = None) -> Path | None:
    """Resolve *spec* (a path or a name, see the module docstring) to a file.

    Relative paths are tried in *base* (the folder of the naming config) and
    then in the working folder. A path that exists but is not a regular file
    (a folder, a FIFO) is still returned, so that the reader can say what it is.
    """
    spec = Path(str(spec))
    folders: Iterable[Path] = [base, Path()] if base is not None else [Path()]
    if is_path(spec):
        for folder in folders:
            cand = folder / spec
            if _probe(cand):
                return cand
        return shipped(kind, spec)
    # '.' or '/' has no name to add .yaml to: it can only be the folder itself
    rels = (spec.with_suffix(spec.suffix + ".yaml"), spec) if spec.name else (spec,)
    local = [folder / rel for folder in folders for rel in rels]
    for cand in local:
        if _probe(cand, "is_file") and is_kind(kind, cand):
            return cand
    found = shipped(kind, spec)
    if found is not None:
        return found
    return next((cand for cand in local if _probe(cand)), None)
