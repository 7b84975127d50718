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


def rivals(kind: str, spec: str | Path, base: Path | None = None) -> tuple[Path, Path] | None:
    """For a *name* that could mean two files, (the local ``<name>.yaml``, the shipped
    one); None for a path, or for a name that only one file answers to."""
    if is_path(spec) or not Path(str(spec)).name:
        return None
    found = shipped(kind, spec)
    if found is None:
        return None
    rel = Path(str(spec))
    folders = [base, Path()] if base is not None else [Path()]
    for cand in (folder / rel.with_suffix(rel.suffix + ".yaml") for folder in folders):
        if _probe(cand, "is_file") and cand.resolve() != found.resolve():
            return cand, found
    return None


def copy_config(name: str, dest: str | Path | None = None) -> list[Path]:
    """Copy the shipped config *name* for editing, with the files it names by a
    relative path (a local surface file, signal CSVs) beside it as it expects them.

    *dest*: a file (ending in .yaml or .yml), a folder, or None for
    ``./<name's last part>.yaml``. Nothing is overwritten: if any file to be
    written exists, nothing is written and a ConfigError says which. Returns the
    files written, the config first.
    """
    import shutil

    from optviz.errors import ConfigError, did_you_mean
    from optviz.input.yamldoc import load_document

    source = shipped("configs", name) if str(name).strip() else None
    if source is None:
        raise ConfigError(f"no shipped config called '{name}'",
                          hint=did_you_mean(str(name), names("configs"))
                          or "run 'optviz list configs' for the names")
    dest = Path(str(dest)) if dest is not None else Path(source.name)
    target = dest if is_path(dest) else dest / source.name
    copies = [(source, target)]
    data = load_document(source, "config file").data
    named = []
    if isinstance(data, dict):
        named.append(data.get("surface"))
        response = data.get("response")
        if isinstance(response, dict):
            signals = response.get("signals")
            named += signals if isinstance(signals, list) else [signals]
    for ref in named:
        if not isinstance(ref, str) or not Path(ref).suffix.lower() in (*SUFFIXES, ".csv"):
            continue
        rel = Path(ref)
        if rel.is_absolute() or ".." in rel.parts or not _probe(source.parent / rel, "is_file"):
            continue
        copies.append((source.parent / rel, target.parent / rel))
    for _, out in copies:
        if _probe(out):
            raise ConfigError(f"{out} already exists; optviz init never overwrites a file",
                              hint=f"give another destination, e.g. optviz init {name} "
                                   f"{target.with_name(target.stem + '-2' + target.suffix)}, "
                                   f"or run the file you have: optviz run {target}")
    written = []
    for src, out in copies:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
        written.append(out)
    return written
