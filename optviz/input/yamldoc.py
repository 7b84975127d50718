"""YAML documents that remember where each value came from.

Configs and surface files are read with PyYAML's safe loader; alongside the
plain data we keep the line of every key and list item, so that an error can
name the file, the line and the key. Duplicate keys, which PyYAML silently
collapses, are reported as errors; a key beside a merge key (``<<: *defaults``)
overrides the merged one, as YAML's merge semantics say.

The node graph is checked before anything is built from it: aliases that
contain themselves (``&a [*a]``), nesting deeper than :data:`MAX_DEPTH` (also
through aliases), more than :data:`MAX_NODES` values, whole numbers too long
for Python or too large for a float, and lone surrogates (``"\\ud800"``) are
errors naming the line and the key. A surrogate pair (``"\\ud83d\\ude00"``, as
JSON writes it) is read as the character it encodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optviz.errors import ConfigError

PathKey = tuple[Any, ...]
MAX_NODES = 100_000
MAX_DEPTH = 64  # nested mappings/lists; PyYAML's composer recurses once per level
MAX_BYTES = 256 * 1024  # configs and surfaces are a few KB; parsing 256 KB takes ~1 s
MERGE_TAG = "tag:yaml.org,2002:merge"


def key_name(path: PathKey) -> str:
    """``('optimizers', 1, 'type')`` -> ``'optimizers[1].type'``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class Document:
    """Parsed YAML data plus the line of every key (1-based)."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: PathKey) -> int | None:
        """The line of *path*, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, message: str, path: PathKey = (), hint: str | None = None,
              cls: type[ConfigError] = ConfigError) -> ConfigError:
        """A ConfigError located at *path* in this document."""
        return cls(message, file=self.file, line=self.line(path),
                   key=key_name(path) or None, hint=hint)

    def locate(self, err: ConfigError, prefix: PathKey = ()) -> ConfigError:
        """Fill in file/line of an error raised for a key relative to *prefix*."""
        path = tuple(prefix) + ((err.key,) if err.key else ())
        return type(err)(err.detail, file=err.file or self.file,
                         line=err.line if err.line is not None else self.line(path),
                         key=key_name(path) or None, hint=err.hint)


def _loader_class():
    """PyYAML's safe loader, reading ``1e-8`` as a number (YAML 1.1 wants ``1.0e-8``)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            # bound the nesting before composing a deeper node (10,000 '[' would
            # otherwise end in a RecursionError)
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise DepthError(mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def construct_text(loader, node):
        from optviz.input.text import join_surrogates

        return join_surrogates(loader.construct_scalar(node))

    Loader.add_constructor("tag:yaml.org,2002:str", construct_text)
    Loader.yaml_implicit_resolvers = {k: list(v) for k, v in
                                      yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"""^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"""),
        list("-+0123456789"))
    return Loader


class DepthError(Exception):
    def __init__(self, line: int):
        self.line = line


def parse_document(text: str, file: str) -> Document:
    """Parse YAML *text* (named *file* in errors) into a Document."""
    import yaml

    if len(text) > MAX_BYTES:
        raise ConfigError(f"the document is {len(text):,} characters long; the limit is "
                          f"{MAX_BYTES:,}", file=file,
                          hint="a config or surface is a few lines of YAML")
    try:
        loader = _loader_class()(text)
    except yaml.reader.ReaderError as e:  # a control character (NUL...) in the text
        line = text.count("\n", 0, e.position) + 1
        raise ConfigError(f"this is not valid YAML: it holds the control character "
                          f"#x{e.character:04x}", file=file, line=line,
                          hint="YAML files are plain text") from None
    try:
        node = loader.get_single_node()
        lines: dict[PathKey, int] = {}
        if node is not None:  # check the graph before building anything from it
            _Walk(loader, file, lines).node(node, (), set())
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"this is not valid YAML: {problem}", file=file,
                          line=mark.line + 1 if mark else None,
                          hint="check indentation, colons and closing brackets "
                               "near that line") from e
    except DepthError as e:
        raise ConfigError(f"the document nests lists and mappings more than {MAX_DEPTH} "
                          "levels deep", file=file, line=e.line,
                          hint="a config needs no more than a few levels") from None
    finally:
        loader.dispose()
    if node is not None:
        lines[()] = node.start_mark.line + 1
    return Document(file=file, data=data, lines=lines)


class _Walk:
    """One pass over the composed node graph: the line of every key and item, and
    the checks that must come before PyYAML builds Python values from the nodes."""

    def __init__(self, loader, file: str, lines: dict[PathKey, int]):
        self.loader, self.file, self.lines = loader, file, lines
        self.budget = MAX_NODES

    def error(self, message: str, node, path: PathKey, hint: str | None = None):
        return ConfigError(message, file=self.file, line=node.start_mark.line + 1,
                           key=key_name(path) or None, hint=hint)

    def node(self, node, path: PathKey, open_: set[int]) -> None:
        """Walk *node* at *path*; *open_* holds the collections being walked (their
        ids), so that an alias back to one of them is found, not followed forever."""
        import yaml

        self.budget -= 1
        if self.budget < 0:  # e.g. a "billion laughs" of nested aliases
            raise ConfigError(f"the document has more than {MAX_NODES:,} values "
                              "(counting each alias as often as it is used)", file=self.file)
        if len(path) > MAX_DEPTH:  # the text nests at most MAX_DEPTH; aliases can nest more
            raise self.error(f"the document nests lists and mappings more than {MAX_DEPTH} "
                             "levels deep (through its aliases)", node, path[:1],
                             hint="a config needs no more than a few levels")
        if isinstance(node, yaml.ScalarNode):
            self.scalar(node, path)
            return
        if id(node) in open_:
            raise self.error("an alias here refers to a list or mapping that contains it, "
                             "which would never end", node, path,
                             hint="an alias (*name) may only repeat a value defined "
                                  "outside itself")
        open_.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                for key, (line, value) in self.entries(node, path, open_).items():
                    self.lines[path + (key,)] = line
                    self.node(value, path + (key,), open_)
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    self.lines[path + (i,)] = item.start_mark.line + 1
                    self.node(item, path + (i,), open_)
        finally:
            open_.discard(id(node))

    def entries(self, node, path: PathKey, open_: set[int]) -> dict[Any, tuple[int, Any]]:
        """The mapping's keys with their lines and value nodes, as PyYAML will build
        it: its own keys (each once), then keys merged from ``<<`` that it does not
        have itself, an earlier merged mapping winning over a later one."""
        import yaml

        own: dict[Any, tuple[int, Any]] = {}
        merged: list = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == MERGE_TAG:
                key = "<<"
                sources = (value_node.value if isinstance(value_node, yaml.SequenceNode)
                           else [value_node])
                merged += [(line, src) for src in sources if isinstance(src, yaml.MappingNode)]
            elif isinstance(key_node, yaml.ScalarNode):
                self.scalar(key_node, path)
                key = self.loader.construct_object(key_node, deep=True)
            else:
                continue  # a list or mapping as a key: PyYAML refuses it when building
            if key in own or (key == "<<" and any(k == "<<" for k in own)):
                raise self.error(f"the key '{key}' appears twice (first on line "
                                 f"{own[key][0]})", key_node, path + (key,),
                                 hint="keep one of them")
            own[key] = (line, value_node)
        own.pop("<<", None)
        for line, src in merged:
            if id(src) in open_:
                raise self.error("a merge key here merges a mapping that contains it, which "
                                 "would never end", src, path,
                                 hint="merge (<<: *name) only mappings defined elsewhere")
            open_.add(id(src))
            try:
                for key, entry in self.entries(src, path, open_).items():
                    own.setdefault(key, entry)
            finally:
                open_.discard(id(src))
        return own

    def scalar(self, node, path: PathKey) -> None:
        """Whole numbers Python cannot read or a float cannot hold, lone surrogates."""
        from optviz.input.text import join_surrogates, lone_surrogate

        if node.tag == "tag:yaml.org,2002:int":
            digits = len(node.value)
            if digits > 400:  # Python reads at most 4300 digits; a float holds ~309
                raise self.error(f"this whole number has {digits:,} digits; the largest "
                                 "a config can use has 309", node, path,
                                 hint="write it as a float, e.g. 1.0e+300")
            try:
                float(self.loader.construct_object(node))
            except OverflowError:  # what every number of a config becomes
                raise self.error(f"this whole number ({digits} digits) is too large for a "
                                 "float (1.8e308 at most)", node, path,
                                 hint="write a smaller number") from None
        elif node.tag == "tag:yaml.org,2002:str":
            lone = lone_surrogate(join_surrogates(node.value))
            if lone is not None:
                raise self.error(f"the text holds a lone surrogate \\u{ord(lone):04x}, which "
                                 "is not a character", node, path,
                                 hint="write the character itself, or \\U and its 8 hex "
                                      "digits (\\U0001F600), or a surrogate pair")


def read_text(path: str | Path, what: str = "file", limit: int = MAX_BYTES) -> str:
    """The text of a small regular file, its size checked before it is read.

    Folders, FIFOs, devices (a symlink to /dev/zero) and files over *limit*
    bytes are refused as ConfigErrors naming the file; nothing is read from them.
    """
    import stat

    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=str(path)) from None
    except ValueError:  # a NUL character in the path
        raise ConfigError(f"the {what}'s path holds a NUL character", file=repr(str(path))) \
            from None
    except OSError as e:
        raise ConfigError(f"cannot read the {what}: {e.strerror or e}", file=str(path)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"expected a {what}, found a folder", file=str(path),
                          hint="give the path of a .yaml file, or a shipped name")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"expected a {what}, found a FIFO, socket or device",
                          file=str(path), hint="give the path of a regular file")
    if info.st_size > limit:
        raise ConfigError(f"the {what} is {info.st_size:,} bytes; the limit is {limit:,}",
                          file=str(path), hint="is this the right file?")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)  # the file may have grown since stat()
    except OSError as e:
        raise ConfigError(f"cannot read the {what}: {e.strerror or e}", file=str(path)) from None
    if len(data) > limit:
        raise ConfigError(f"the {what} is over {limit:,} bytes", file=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} is not UTF-8 text", file=str(path),
                          hint="is this the right file?") from None


def load_document(path: str | Path, what: str = "file") -> Document:
    """Read and parse a YAML file; missing, unreadable or oversized files are ConfigErrors."""
    path = Path(path)
    text = read_text(path, what)
    try:
        return parse_document(text, str(path))
    except ConfigError as e:
        if e.line is None or path.suffix.lower() in (".yaml", ".yml"):
            raise
        # not meant as YAML: do not quote what the parser tripped over
        raise ConfigError(f"expected a YAML {what}; this file does not parse as YAML",
                          file=str(path), line=e.line,
                          hint="surfaces and configs are .yaml files") from None
