"""The output layer: every file optviz writes goes through here.

Four promises, each tested by reading the files back:

* **Exact CSV.** :func:`csv_text` writes with the ``csv`` module (fields that
  hold a comma, a quote or a newline are quoted) and every float as
  ``repr(float(v))``, so ``float(text)`` gives back the same float64.
  Non-finite floats are written ``nan``, ``inf`` and ``-inf``, which
  ``float()`` reads back too.
* **Strict JSON.** :func:`json_text` never writes ``NaN`` or ``Infinity``
  (``allow_nan=False``): a non-finite number becomes ``null`` and, in an
  object, a sibling key ``<key>_reason`` says why, e.g.
  ``"final_loss": null, "final_loss_reason": "not finite: nan"``.
* **A command's outputs change all at once.** :func:`output_folder` locks the
  output folder, collects every output in a staging folder inside it and
  renames them in together only when all are written. An error, Ctrl-C,
  SIGTERM or a full disk leaves the previous outputs untouched and no
  temporary file; a second command into the same folder waits.
* **Nothing lost.** Each command writes a record (:func:`read_record`): optviz's
  format key and version, the config's hash, and each file's sha256 and size.
  optviz replaces or removes a file only when such a record lists it with its
  current content; anything else in the way stops the command before it starts.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optviz.errors import ConfigError, OptvizError, RenderError


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


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    """The CSV text of *rows* with no header: a part of a table whose parts are made
    apart (on a cluster's workers) and joined by :func:`write_csv_parts`."""
    out = io.StringIO()
    _write_csv_rows(out, None, rows)
    return out.getvalue()


def _write_csv_rows(fh, header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    width = None
    if header is not None:
        writer.writerow(header)
        width = len(header)
    for row in rows:
        width = len(row) if width is None else width
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
    # the temporary name is at most ~60 bytes, whatever the target's length
    # (a 250-character file name must not fail for its temporary's sake)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem[:32]}.",
                               suffix=f".part{target.suffix[:12]}", dir=target.parent)
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


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Atomically write bytes made elsewhere (a figure a cluster's worker drew)."""
    target = Path(target)
    try:
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {os_reason(e)}") from None
    return target


def write_csv_parts(target: str | Path, header: Sequence[str], parts: Iterable[str]) -> Path:
    """Write a CSV file of *header* and the texts *parts* (of :func:`csv_lines`, each
    row as wide as the header), in order, atomically: the bytes of :func:`write_csv`
    given the parts' rows."""
    def fill(fh) -> None:
        _write_csv_rows(fh, header, ())
        fh.writelines(parts)

    return _write_text_as(target, fill)


def write_csv(target: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV file (see :func:`csv_text`), atomically; the rows are written as
    they come, so a generator of any length needs no more memory than one row.
    The bytes are :func:`csv_text`'s, written as :func:`write_text` writes text."""
    return _write_text_as(target, lambda fh: _write_csv_rows(fh, header, rows))


def _write_text_as(target: str | Path, fill) -> Path:
    """Atomically write the UTF-8 text file *target* that ``fill(fh)`` writes into an
    open file; an OS error becomes an OutputError."""
    target = Path(target)
    try:
        with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fill(fh)
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


# ----------------------------------------------------------------- records
#: The first key of every record optviz writes (run.json, compare.json, ...) and
#: its version: a file without them is not optviz's, whatever it lists.
RECORD_FORMAT = "optviz-record"
RECORD_VERSION = 1
#: A record is read like any input: a regular file of at most this many bytes.
RECORD_MAX_BYTES = 4 * 1024 * 1024
STAGE_PREFIX = ".optviz-stage-"
STAGE_MARK = ".optviz-stage"  # a file in every staging folder: only such folders are removed
LOCK_NAME = ".optviz.lock"

log = logging.getLogger("optviz")


class NotARecord(OptvizError):
    """A file at a record's name that is not a record optviz wrote (the message says why)."""


@dataclass(frozen=True)
class Record:
    """A record optviz wrote: its kind (the command that wrote it), the config's
    hash, the inputs and every file it wrote (name -> (sha256, bytes)).
    ``content`` is the whole JSON."""

    kind: str
    config_sha256: str
    inputs: Any
    arguments: Any
    files: dict[str, tuple[str, int]]
    content: dict


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


class _NotAFile(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@contextlib.contextmanager
def _open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """An open descriptor of *path* and its stat, for a regular file only.

    Nothing else is opened: not a symbolic link (which could point at
    /dev/zero), a FIFO (opening one for reading waits for a writer), a device
    or a folder; they raise _NotAFile. FileNotFoundError when there is nothing.
    """
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise _NotAFile(_kind(info.st_mode))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):  # swapped since lstat
            raise _NotAFile(_kind(now.st_mode))
        yield fd, now
    finally:
        os.close(fd)


def digest(path: str | Path) -> tuple[str, int] | None:
    """(sha256 hex, size in bytes) of a regular file, read in chunks; None for
    anything else (missing, a folder, a link, a FIFO, a device)."""
    h = hashlib.sha256()
    size = 0
    try:
        with _open_regular(Path(path)) as (fd, _):
            while chunk := os.read(fd, 1 << 20):
                h.update(chunk)
                size += len(chunk)
    except (OSError, ValueError, _NotAFile):
        return None
    return h.hexdigest(), size


def plain_name(name: Any) -> bool:
    """A file name optviz may write or remove: text, no folder part, not hidden,
    no control character (NUL included), at most 255 bytes."""
    return (isinstance(name, str) and 0 < len(name.encode("utf-8", "replace")) <= 255
            and name not in (".", "..") and not name.startswith(".")
            and "/" not in name and "\\" not in name
            and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name))


_HEX = re.compile(r"[0-9a-f]{64}")


def read_record(path: str | Path) -> Record | None:
    """The record at *path*; None when there is no file there.

    Read with the limits of any input: a regular file only (a FIFO, a device,
    a link or a folder is refused unread), at most RECORD_MAX_BYTES, strict
    JSON. Anything without optviz's format key and version raises NotARecord
    (its message says why). File entries that are not plain names (paths,
    hidden names, a NUL) or carry no valid hash are ignored.
    """
    path = Path(path)
    try:
        with _open_regular(path) as (fd, info):
            if info.st_size > RECORD_MAX_BYTES:
                raise NotARecord(f"{info.st_size:,} bytes, over the {RECORD_MAX_BYTES:,} a "
                                 "record may have")
            data = os.read(fd, RECORD_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except _NotAFile as e:
        raise NotARecord(f"{e.kind}, not a file") from None
    except (OSError, ValueError) as e:
        raise NotARecord(f"cannot be read: {getattr(e, 'strerror', None) or e}") from None
    if len(data) > RECORD_MAX_BYTES:
        raise NotARecord(f"over the {RECORD_MAX_BYTES:,} bytes a record may have")

    def refuse(constant):
        raise ValueError(constant)
    try:
        content = json.loads(data.decode("utf-8"), parse_constant=refuse)
    except (ValueError, RecursionError):
        raise NotARecord("not JSON") from None
    if not isinstance(content, dict) or content.get("format") != RECORD_FORMAT:
        versions = content.get("versions") if isinstance(content, dict) else None
        if isinstance(versions, dict) and "optviz" in versions:
            raise NotARecord("written by an older optviz, which recorded no file hashes: "
                             "if these files are its outputs, delete them once")
        raise NotARecord(f"no \"format\": \"{RECORD_FORMAT}\" key")
    if content.get("format_version") != RECORD_VERSION:
        raise NotARecord(f"format version {content.get('format_version')!r}; this optviz "
                         f"reads version {RECORD_VERSION}")
    files: dict[str, tuple[str, int]] = {}
    entries = content.get("files")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        name, sha, size = entry.get("name"), entry.get("sha256"), entry.get("bytes")
        if plain_name(name) and isinstance(sha, str) and _HEX.fullmatch(sha) and \
                isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            files[name] = (sha, size)
    kind, config = content.get("kind"), content.get("config_sha256")
    return Record(kind=kind if isinstance(kind, str) else "",
                  config_sha256=config if isinstance(config, str) else "",
                  inputs=content.get("inputs"), arguments=content.get("arguments"),
                  files=files, content=content)


def _records(folder: Path, names: Iterable[str]) -> dict[str, Record]:
    """The valid records among *names* in *folder* (the others are skipped)."""
    found = {}
    for name in names:
        try:
            record = read_record(folder / name)
        except NotARecord:
            continue
        if record is not None:
            found[name] = record
    return found


# ----------------------------------------------------------------- the folder lock
class FolderLock:
    """An exclusive ``fcntl.flock`` on ``<folder>/.optviz.lock`` for one command.

    A second optviz writing the same folder waits (saying so once) until the
    first is done. The lock file holds the holder's process id (for that
    message only) and is removed on release; a lock left by a killed process
    is not held (the kernel releases it), so the next run takes it at once.
    """

    def __init__(self, folder: Path, shown: Path):
        self.path, self.shown, self.fd = folder / LOCK_NAME, shown, -1

    def acquire(self) -> None:
        said = False
        while True:
            fd = self._open()
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if not said:
                        holder = self._holder(fd)
                        log.warning(f"waiting for another optviz{holder} writing to "
                                    f"{self.shown} to finish")
                        said = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                # the holder before us may have removed the file we locked
                now = os.stat(self.path, follow_symlinks=False)
                mine = os.fstat(fd)
                if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
                    raise FileNotFoundError
            except FileNotFoundError:
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd = fd
            return

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC |
                         os.O_NONBLOCK, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise OutputError(f"cannot lock the output folder {self.shown}: "
                                  f"{self.shown / LOCK_NAME} is a symbolic link; remove it")
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 32:
            os.close(fd)
            raise OutputError(f"cannot lock the output folder {self.shown}: "
                              f"{self.shown / LOCK_NAME} is not optviz's lock file "
                              f"({_kind(info.st_mode) if not stat.S_ISREG(info.st_mode) else 'it holds data'}); "
                              "move it away")
        return fd

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            text = os.pread(fd, 32, 0).decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return ""
        return f" (process {text})" if text.isdigit() else ""

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while held: whoever waits on it sees it gone and retries
        os.close(self.fd)
        self.fd = -1


# ----------------------------------------------------------------- staging
class Stage:
    """A command's staging folder inside its output folder.

    Write every planned file to :meth:`path`; :meth:`write_record` writes the
    record last, with each file's hash. ``notes`` holds the one-line notes of
    the swap (stale files that were left because optviz cannot vouch for them).
    """

    def __init__(self, shown: Path, stage: Path, products: Sequence[str], record: str):
        self.out_dir, self.dir = shown, stage
        self.products, self.record = list(products), record
        self.notes: list[str] = []
        self.written: dict | None = None

    def path(self, name: str) -> Path:
        return self.dir / name

    def public(self, message: str) -> str:
        """A message with the staging folder's name replaced by the output folder's."""
        return message.replace(str(self.dir), str(self.out_dir))

    def write_record(self, content: dict) -> dict:
        """Write the record: optviz's format key and version, *content*, and the
        name, sha256 and size of every other planned file (all must be staged)."""
        files = []
        for name in self.products:
            if name == self.record:
                continue
            found = digest(self.dir / name)
            if found is None:
                raise RuntimeError(f"the plan lists {name} but it was not written")
            files.append({"name": name, "sha256": found[0], "bytes": found[1]})
        record = {"format": RECORD_FORMAT, "format_version": RECORD_VERSION, **content,
                  "files": files}
        write_json(self.dir / self.record, record)
        self.written = record
        return record


def _in_the_way(folder: Path, names: Sequence[str], records: Sequence[str]) -> list[str]:
    """The files at *names* that optviz may not replace, each with the reason.

    A file may be replaced when its content is what a valid optviz record in the
    folder lists under its name (or, at a record's name, when it is a valid record).
    """
    known: dict[str, set[tuple[str, int]]] = {}
    for record in _records(folder, records).values():
        for name, entry in record.files.items():
            known.setdefault(name, set()).add(entry)
    problems = []
    for name in names:
        path = folder / name
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if name in records:
            try:
                read_record(path)
                continue
            except NotARecord as e:
                problems.append(f"{name} (not an optviz record: {e})")
        elif not stat.S_ISREG(info.st_mode):
            problems.append(f"{name} ({_kind(info.st_mode)})")
        elif digest(path) not in known.get(name, ()):
            problems.append(f"{name} (no optviz record lists it as it is now)")
    return problems


def _refuse(shown: Path, problems: Sequence[str]) -> OutputError:
    listed = ", ".join(problems[:6]) + (f" and {len(problems) - 6} more"
                                        if len(problems) > 6 else "")
    return OutputError(f"nothing was written to {shown}: optviz replaces only files it "
                       f"wrote itself, and these are in the way: {listed}. Move them away, "
                       "or write elsewhere (--out, or 'output:' in the config)")


@contextlib.contextmanager
def output_folder(out_dir: str | Path, *, products: Sequence[str], record: str,
                  records: Sequence[str] = ()) -> Iterator[Stage]:
    """Write one command's files into *out_dir*, all at once, under a lock.

    *products* are the planned file names (the record *record* among them);
    *records* the names of every kind of optviz record (they vouch for files).

    1. The folder is created if need be (``..`` resolved first) and locked: a
       second command into it waits. Staging folders there are abandoned (their
       lock is not held) and are removed.
    2. Before anything is computed: a file at a planned name that no optviz
       record vouches for stops the command (OutputError naming each file).
    3. The block writes every planned file into the stage (``stage.path``) and
       the record last (``stage.write_record``).
    4. On success the files are renamed in, the record last, with SIGINT and
       SIGTERM held off; files the previous record of this command lists and
       the new one does not are removed when their content is still as
       recorded, else left and named in ``stage.notes``.

    If the block raises (an error, Ctrl-C, SIGTERM, a full disk), the stage is
    deleted, folders this call created are removed again, and *out_dir* is as it
    was. OS errors become :class:`OutputError`.
    """
    shown = Path(out_dir)
    _check_folder(shown)
    try:
        folder = Path(os.path.realpath(shown))
    except (OSError, ValueError) as e:
        raise OutputError(f"cannot use the output folder {shown}: {e}") from None
    if folder.name.startswith(".optviz-"):
        raise OutputError(f"cannot write to {shown}: folder names starting with '.optviz-' "
                          "are optviz's own (its staging folders); choose another name")
    names = list(dict.fromkeys([*products, record]))
    lock = FolderLock(folder, shown)
    created: list[Path] = []
    stage_dir: Path | None = None
    done = swapping = False
    try:
        try:
            created = _make_folders(folder)
        except OSError as e:
            raise OutputError(f"cannot create the output folder {shown}: {os_reason(e)}") \
                from None
        lock.acquire()
        _remove_abandoned(folder)
        problems = _in_the_way(folder, names, records)
        if problems:
            raise _refuse(shown, problems)
        try:
            previous = read_record(folder / record)
        except NotARecord:
            previous = None
        stage_dir = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=folder))
        (stage_dir / STAGE_MARK).touch()
        stage = Stage(shown, stage_dir, names, record)
        try:
            yield stage
        except (OutputError, RenderError) as e:
            message = stage.public(str(e))
            raise type(e)(message + ("" if "as it was" in message else
                                     f" ({shown} is as it was)")) from None
        if stage.written is None:
            raise RuntimeError("the record was not written")
        made = sorted(p.name for p in stage_dir.iterdir() if not p.name.startswith("."))
        if made != sorted(names):
            raise RuntimeError(f"the run made {made}, the plan lists {sorted(names)}")
        with signals_held():
            problems = _in_the_way(folder, names, records)  # anything new meanwhile?
            if problems:
                raise _refuse(shown, problems)
            swapping = True
            for name in names:  # the record last: who reads it finds the files it lists
                if name != record:
                    os.replace(stage_dir / name, folder / name)
            os.replace(stage_dir / record, folder / record)
            done = True
            stage.notes = _remove_stale(folder, shown, previous, record, names, records)
    except OSError as e:
        where = str(e.filename) if e.filename else ""
        if stage_dir is not None:
            where = where.replace(str(stage_dir), str(shown))
        raise OutputError(f"cannot write to the output folder {shown}: {os_reason(e)}"
                          + (f" ({where})" if where and where not in (str(shown), str(folder))
                             else "")
                          + ("" if done else
                             f"; the swap was cut short: {shown} holds part of the new run"
                             if swapping else f"; {shown} is as it was")) from None
    finally:
        with signals_held():  # a second Ctrl-C or SIGTERM must not cut the clean-up short
            if stage_dir is not None:
                shutil.rmtree(stage_dir, ignore_errors=True)
            lock.release()
            if not done:
                for made_dir in reversed(created):
                    with contextlib.suppress(OSError):
                        made_dir.rmdir()


def _check_folder(out_dir: Path) -> None:
    """Refuse an output folder that is a file, or lies under one, naming which."""
    for p in (out_dir, *out_dir.parents):
        try:
            exists = p.exists()
        except (OSError, ValueError):
            continue
        if exists:
            if not p.is_dir():
                what = "it is" if p == out_dir else f"{p} is"
                raise OutputError(f"cannot write to the output folder {out_dir}: {what} a "
                                  "file, not a folder")
            return


def _make_folders(folder: Path) -> list[Path]:
    """Create *folder* and its missing parents; the ones created, outermost first."""
    missing = []
    p = folder
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    created = []
    for p in reversed(missing):
        try:
            os.mkdir(p)
        except FileExistsError:
            continue
        created.append(p)
    return created


def _remove_abandoned(folder: Path) -> None:
    """Remove staging folders in *folder*: the caller holds its lock, so no run
    that made them is alive. Only folders holding optviz's stage mark go."""
    for entry in folder.iterdir():
        if entry.name.startswith(STAGE_PREFIX) and not entry.is_symlink() and \
                entry.is_dir() and (entry / STAGE_MARK).is_file():
            shutil.rmtree(entry, ignore_errors=True)


def _remove_stale(folder: Path, shown: Path, previous: Record | None, previous_name: str,
                  names: Sequence[str], records: Sequence[str]) -> list[str]:
    """Remove what the previous record of this command lists and this run did not
    write, when its content is still as recorded. A file another command's record
    now lists (``optviz web`` rewrote a run's page) is left silently; the others
    are named in a note."""
    if previous is None:
        return []
    others: dict[str, set[tuple[str, int]]] = {}  # what the other commands' records list
    for record in _records(folder, [r for r in records if r != previous_name]).values():
        for name, entry in record.files.items():
            others.setdefault(name, set()).add(entry)
    left = []
    for name, entry in previous.files.items():
        if name in names or name in records:
            continue
        path = folder / name
        try:
            info = os.lstat(path)
        except (FileNotFoundError, ValueError):
            continue
        if not stat.S_ISREG(info.st_mode):
            left.append(f"{name} ({_kind(info.st_mode)})")
            continue
        found = digest(path)
        if found in others.get(name, ()):
            continue  # another command's record lists it as it is: its file now
        if found == entry:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            left.append(f"{name} (changed since optviz wrote it)")
    if not left:
        return []
    return [f"left in {shown}: " + ", ".join(left) + "; the previous run wrote it but "
            "optviz removes only files it wrote, unchanged"]


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
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
