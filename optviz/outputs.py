"""The output layer: every file optviz writes goes through here.

Three promises, each tested by reading the files back:

* **Exact CSV.** :func:`csv_text` writes with the ``csv`` module (fields that
  hold a comma, a quote or a newline are quoted) and every float as
  ``repr(float(v))``, so ``float(text)`` gives back the same float64.
  Non-finite floats are written ``nan``, ``inf`` and ``-inf``, which
  ``float()`` reads back too.
* **Strict JSON.** :func:`json_text` never writes ``NaN`` or ``Infinity``
  (``allow_nan=False``): a non-finite number becomes ``null`` and, in an
  object, a sibling key ``<key>_reason`` says why, e.g.
  ``"final_loss": null, "final_loss_reason": "not finite: nan"``.
* **A run's outputs change all at once.** :func:`staged` collects every output
  of a run in a staging folder beside the output folder (same filesystem) and
  moves them in together only when all are written. An error, Ctrl-C, SIGTERM
  or a full disk leaves the previous outputs untouched and no temporary file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from optviz.errors import ConfigError, OptvizError, RenderError

STAGE_PREFIX = ".optviz-stage-"
OUTPUT_SUFFIXES = (".csv", ".json", ".png", ".svg", ".pdf", ".gif", ".mp4", ".html", ".npz")


class OutputError(OptvizError):
    """An output file or folder cannot be written (the message names the path and reason)."""


# ----------------------------------------------------------------- values
def cell(value: Any) -> str:
    """One CSV field: floats as repr(float) (exact round trip), ints and bools as ints,
    None (no value) as an empty field."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int)) or _is_numpy_int(value):
        return str(int(value))
    if isinstance(value, float) or _is_numpy_float(value):
        return repr(float(value))
    return str(value)


def _is_numpy_int(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and \
        value.dtype.kind in "iub"


def _is_numpy_float(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and \
        value.dtype.kind == "f"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with a header row; see :func:`cell` for how values are written."""
    out = io.StringIO()
    _write_csv_rows(out, header, rows)
    return out.getvalue()


def _write_csv_rows(fh, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(header)
    width = len(header)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a CSV row has {len(row)} fields under a {width}-field header")
        writer.writerow([cell(v) for v in row])


def jsonable(value: Any) -> Any:
    """*value* as plain JSON types; non-finite floats become None (see :func:`json_text`)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            out[key] = jsonable(item)
            reason = _non_finite_reason(item)
            if reason and f"{key}_reason" not in value:
                out[f"{key}_reason"] = reason
        return out
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return jsonable(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _non_finite_reason(value: Any) -> str | None:
    """'not finite: nan' (or inf, -inf) for a non-finite float or a list holding one."""
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return f"not finite: {value!r}"
    if isinstance(value, (list, tuple)):
        bad = sorted({repr(v) for v in value if isinstance(v, float) and not math.isfinite(v)})
        if bad:
            return "not finite (written as null): " + ", ".join(bad)
    return None


def json_text(value: Any) -> str:
    """Strict JSON (RFC 8259): indented, UTF-8, no NaN or Infinity anywhere."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------- paths
_UNSET = re.compile(r"\$(\w+|\{[^}]*\})")


def expand_path(path: str | Path, *, file: str | None = None, key: str = "output") -> Path:
    """``~`` and ``$VAR`` / ``${VAR}`` expanded; a variable that is not set is an error."""
    text = os.path.expandvars(os.path.expanduser(str(path)))
    left = _UNSET.search(text)
    if left:
        raise ConfigError(f"the environment variable {left.group(0)} in {str(path)!r} is not set",
                          file=file, key=key,
                          hint="set it, or write the folder without it")
    return Path(text)


def os_reason(e: OSError) -> str:
    return e.strerror or str(e)


# ----------------------------------------------------------------- files
@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside *target*; rename it onto *target* on success.

    The temporary name keeps the target's suffix (encoders pick formats by
    suffix). On any exception, KeyboardInterrupt included, the temporary file
    is removed and the exception propagates.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}",
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are for sharing
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise OSError(f"nothing was written to {target}")
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | Path, text: str) -> Path:
    """Atomically write a text file (UTF-8); an OS error becomes an OutputError."""
    target = Path(target)
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as e:
        raise OutputError(f"cannot write {target}: {os_reason(e)}") from None
    return target


def write_csv(target: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV file (see :func:`csv_text`), atomically; the rows are written as
    they come, so a generator of any length needs no more memory than one row.
    The bytes are :func:`csv_text`'s, written as :func:`write_text` writes text."""
    target = Path(target)
    try:
        with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            _write_csv_rows(fh, header, rows)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {os_reason(e)}") from None
    return target


def write_npz(target: str | Path, arrays: dict[str, Any]) -> Path:
    """Write NumPy arrays as one uncompressed ``.npz``, atomically: ``np.load`` gives
    back the same dtypes and bits, without pickle (object arrays are refused)."""
    import numpy as np

    arrays = {name: np.asarray(a) for name, a in arrays.items()}
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise ValueError(f"array {name!r} holds Python objects; .npz outputs hold numbers "
                             "and text only")
    target = Path(target)
    try:
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {os_reason(e)}") from None
    return target


def write_json(target: str | Path, value: Any) -> Path:
    """Write strict JSON (see :func:`json_text`)."""
    return write_text(target, json_text(value))


# ----------------------------------------------------------------- staging
class Stage:
    """A staging folder for one run's outputs; :meth:`path` names a file in it."""

    def __init__(self, out_dir: Path, folder: Path):
        self.out_dir, self.dir = out_dir, folder

    def path(self, name: str) -> Path:
        return self.dir / name

    def final(self, staged: Path) -> Path:
        """Where a staged file will be once swapped in."""
        return self.out_dir / Path(staged).name

    def public(self, message: str) -> str:
        """A message with the staging folder's name replaced by the output folder's."""
        return message.replace(str(self.dir), str(self.out_dir))


@contextlib.contextmanager
def staged(out_dir: str | Path, *, replaces: Iterable[str] = ()) -> Iterator[Stage]:
    """Collect a run's outputs in a staging folder; swap them into *out_dir* at the end.

    Write every output to ``stage.path(name)``. When the block ends normally,
    every file in the staging folder is moved into *out_dir* (renames on one
    filesystem, with SIGINT and SIGTERM held off so the swap is never cut in
    half) and the names in *replaces* that this run did not write (the
    previous run's outputs) are removed, so the folder holds one run. If the
    block raises, Ctrl-C and SIGTERM included, the staging folder is deleted and
    *out_dir* is untouched. The staging folder sits beside *out_dir* (inside it
    when its parent cannot be written). OS errors become :class:`OutputError`.
    """
    out_dir = Path(out_dir)
    _check_folder(out_dir)
    folder = _make_stage(out_dir)
    stage = Stage(out_dir, folder)
    try:
        yield stage
        with _signals_held():
            _swap(folder, out_dir, replaces)
    except (OutputError, RenderError) as e:
        if str(folder) not in str(e):
            raise
        raise type(e)(stage.public(str(e))) from None
    except OSError as e:
        name = stage.public(str(e.filename)) if e.filename else ""
        raise OutputError(f"cannot write to the output folder {out_dir}: {os_reason(e)}"
                          + (f" ({name})" if name and name != str(out_dir) else "")) from None
    finally:
        with _signals_held():  # a second Ctrl-C or SIGTERM must not cut the clean-up short
            shutil.rmtree(folder, ignore_errors=True)


def _check_folder(out_dir: Path) -> None:
    """Refuse an output folder that is a file, or lies under one, naming which."""
    for p in (out_dir, *out_dir.parents):
        if p.exists():
            if not p.is_dir():
                what = "it is" if p == out_dir else f"{p} is"
                raise OutputError(f"cannot write to the output folder {out_dir}: {what} a "
                                  "file, not a folder")
            return


def _make_stage(out_dir: Path) -> Path:
    """A staging folder on the output folder's filesystem: beside it, or inside it
    when its parent cannot be written or is another filesystem (a mount point).

    Its name holds this process's id, so that one left by a process that was
    killed outright (SIGKILL, power loss) is recognised and removed next time.
    """
    parent = out_dir.parent
    prefix = f"{STAGE_PREFIX}{out_dir.name}-{os.getpid()}-"
    inside = out_dir.is_dir() and parent.is_dir() and \
        os.stat(out_dir).st_dev != os.stat(parent).st_dev
    if not inside:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            _remove_abandoned(parent, out_dir.name)
            return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        except OSError as first:
            if not out_dir.is_dir():
                raise OutputError(f"cannot create the output folder {out_dir}: "
                                  f"{os_reason(first)}") from None
    try:
        _remove_abandoned(out_dir, out_dir.name)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir))
    except OSError as e:
        raise OutputError(f"cannot write to the output folder {out_dir}: "
                          f"{os_reason(e)}") from None


def _remove_abandoned(where: Path, name: str) -> None:
    """Remove staging folders for *name* in *where* whose process no longer exists."""
    pattern = re.compile(re.escape(f"{STAGE_PREFIX}{name}-") + r"(\d+)-[^/]*$")
    for entry in where.iterdir():
        match = pattern.match(entry.name)
        if not match or not entry.is_dir():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except (PermissionError, OverflowError):
            pass  # another user's process, or not a pid: leave it


def _swap(folder: Path, out_dir: Path, replaces: Iterable[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    # the run record last: a reader that sees the new run.json sees the new files
    names.sort(key=lambda n: n == "run.json")
    for name in names:
        os.replace(folder / name, out_dir / name)
    for name in set(replaces) - set(names):
        # only plain names of the kinds of file optviz writes, never a path
        if name and Path(name).name == name and not name.startswith(".") and \
                Path(name).suffix in OUTPUT_SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT and SIGTERM until the block ends, then deliver them.

    Python runs signal handlers in the main thread only, between bytecodes;
    a handler that only notes the signal keeps a KeyboardInterrupt (or the
    CLI's SIGTERM exit) out of the middle of the swap. Outside the main
    thread handlers cannot be changed and the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        old[sig] = signal.signal(sig, lambda signum, frame: seen.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(seen):
            os.kill(os.getpid(), sig)  # now handled as it would have been


def previous_outputs(out_dir: Path) -> list[str]:
    """The files the previous run in *out_dir* wrote, from its run.json (if readable)."""
    try:
        record = json.loads((Path(out_dir) / "run.json").read_text(encoding="utf-8"))
        files = record.get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []
