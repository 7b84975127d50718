"""The output plan: every file a command writes, derived once from its config.

``plan(config, command)`` lists the products of one command (``run``,
``compare``, ``sweep``, ``basins``, ``response``, ``web``): each file's name,
its format and what makes it. Everything else reads this list: the runner
makes exactly these files (anything else is a bug it refuses to swap in), the
command's record lists them with their hashes, ``batch`` checks them for
being up to date and a run removes the previous run's files that are no
longer planned. The build tools' way (ninja's build log, Snakemake's rules):
declare each product once.

Adding a product is one line in its command's function below (and the code
that writes it, under the same ``maker``)::

    Product("basins.npz", "npz", "basins-grid"),

A plan also carries what its record needs: the config's content hash, the
hash of every input file (config, surface file, signal files) and optviz's
version, so that "up to date" means "made from the same content".
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from optviz.errors import ConfigError
from optviz.input.config import STATIC_FORMATS, ResponseConfig, RunConfig
from optviz.outputs import expand_path, jsonable, plain_name

COMMANDS = ("run", "compare", "sweep", "basins", "response", "web")
#: sweep.csv and basins.csv are written for tables of at most this many rows
#: (about 60 MB) unless asked for (``csv=True``); every grid gets its ``.npz``.
CSV_MAX_ROWS = 1_000_000
#: every command's record, in its output folder: run.json, compare.json, ...
RECORDS = {command: f"{command}.json" for command in COMMANDS}
#: formats that are pages: ``web`` (with sliders) and ``html`` (the run's own values)
PAGE_FORMATS = ("web", "html")


@dataclass(frozen=True)
class Product:
    """One file of a command: its name in the output folder, its format and
    what makes it (``maker``; ``part`` says which one when a maker makes several,
    e.g. a response figure's signal)."""

    name: str
    format: str
    maker: str
    part: str = ""


@dataclass(frozen=True)
class Plan:
    """What one command writes into ``config.output`` (the record last)."""

    command: str
    config: RunConfig | ResponseConfig
    products: tuple[Product, ...]
    arguments: dict[str, Any] = field(default_factory=dict)  # options that shape the files
    inputs: dict[str, Any] = field(default_factory=dict)  # see :func:`input_hashes`

    @property
    def out_dir(self) -> Path:
        return self.config.output

    @property
    def record(self) -> Product:
        return self.products[-1]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.products]

    @property
    def files(self) -> list[Path]:
        """Where each product will be, the record last."""
        return [self.out_dir / p.name for p in self.products]

    @property
    def csv_rows(self) -> int:
        """The rows of a sweep's or basin map's table (0 for other commands)."""
        return _table_rows(self.command, self.config, self.arguments)

    def made_by(self, maker: str, part: str | None = None) -> list[Product]:
        return [p for p in self.products
                if p.maker == maker and (part is None or p.part == part)]

    def formats(self, maker: str, part: str | None = None) -> list[str]:
        """The formats of *maker*'s products (a figure saved once per format)."""
        return [p.format for p in self.made_by(maker, part)]

    @property
    def config_sha256(self) -> str:
        return config_sha256(self.config)

    def header(self) -> dict[str, Any]:
        """The keys every record starts with (after optviz's format key)."""
        return {"kind": self.command, "config_sha256": self.config_sha256,
                "inputs": self.inputs, "arguments": jsonable(self.arguments)}


def plan(config: RunConfig | ResponseConfig, command: str = "run", **arguments) -> Plan:
    """The products of *command* on *config* (output already resolved, see
    :func:`resolve_output`). A response config's ``run`` is ``response``.
    *arguments* are the command's options, kept in its record."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}")
    where = str(config.file) if config.file else None
    if isinstance(config, ResponseConfig):
        if command not in ("run", "response"):
            raise ConfigError(f"a response config has no surface or trajectories for "
                              f"'optviz {command}'", file=where,
                              hint="run it with 'optviz response' or 'optviz run'")
        command = "response"
    elif command == "response":
        raise ConfigError("not a response config: it needs a 'response:' section",
                          file=where, hint="see configs/article/response-*.yaml")
    if network(config) and command in NOT_FOR_NETWORKS:
        raise ConfigError(f"'optviz {command}' {NOT_FOR_NETWORKS[command]}; this model has "
                          f"{config.surface.dim:,} parameters", file=where, key="surface",
                          hint="optviz run, compare and sweep take networks; a two-parameter "
                               "model (linear, logistic) takes every command")
    products = [*_PRODUCTS[command](config, arguments),
                Product(RECORDS[command], "json", "record")]
    names = [p.name for p in products]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError("two outputs would have the same name: " + ", ".join(twice),
                          file=where, key="signals" if command == "response" else None,
                          hint="give each signal file its own name")
    for name in names:
        if not plain_name(name):
            raise ConfigError(f"the output file name {name!r} is too long or not a plain "
                              "file name", file=where,
                              hint="shorten the config's file name (or its title)")
    return Plan(command, config, tuple(products), dict(arguments), input_hashes(config))


def figure_formats(config) -> list[str]:
    """An analysis figure's formats: the config's static ones, else PNG."""
    return [f for f in config.render.formats if f in STATIC_FORMATS] or ["png"]


def many_runs(config: RunConfig) -> bool:
    """Whether a run has several starts or seeds (fans of paths, a summary)."""
    return config.starts is not None or (config.noise is not None and config.noise.seeds > 1)


#: commands that draw the 2-D plane of a surface, which a network (D > 2) has not
NOT_FOR_NETWORKS = {
    "basins": "maps where starts on a 2-D grid end; a network starts from its "
              "initialisation, not from a point of a plane",
    "web": "makes a page whose sliders rerun the paths over a 2-D surface; a network's "
           "paths are drawn on a plane only after training (the html format draws that "
           "page: formats: [html])"}


def network(config: RunConfig) -> bool:
    """A model with more than two parameters: its paths are drawn on a plane
    (``<stem>.png`` from ``plane-figure``) and kept in ``parameters.npz``."""
    return getattr(getattr(config, "surface", None), "dim", 2) > 2  # a response: none


def _run(config: RunConfig, arguments: dict) -> list[Product]:
    stem, formats = config.stem, config.render.formats
    static = [f for f in formats if f in STATIC_FORMATS]
    if network(config):
        out = [Product("parameters.npz", "npz", "parameters"),
               Product("losses.csv", "csv", "losses")]
        if many_runs(config):
            out.append(Product("summary.csv", "csv", "summary"))
        out += [Product(f"{stem}.{f}", f, "plane-figure") for f in static]
        if "html" in formats:  # the run's own paths on the plane, as a page
            out.append(Product(f"{stem}.html", "html", "plane-page"))
        out += [Product(f"{stem}.{f}", f, "plane-animation")
                for f in formats if f not in STATIC_FORMATS and f not in PAGE_FORMATS]
        if config.render.lr_panel:
            out.append(Product(f"{stem}-lr.png", "png", "lr-figure"))
        return out
    out = [Product("trajectories.csv", "csv", "trajectories")]
    if static and many_runs(config):
        out.append(Product("summary.csv", "csv", "summary"))
        out += [Product(f"{stem}.{f}", f, "comparison-figure") for f in static]
    else:
        out += [Product(f"{stem}.{f}", f, "figure") for f in static]
    if config.render.step_panel:
        out.append(Product(f"{stem}-step-size.png", "png", "step-size-figure"))
    if config.render.lr_panel:
        out.append(Product(f"{stem}-lr.png", "png", "lr-figure"))
    for f in formats:
        if f == "web":
            out.append(Product(f"{stem}-web.html", "html", "web-page"))
        elif f == "html":
            out.append(Product(f"{stem}.html", "html", "page"))
    out += [Product(f"{stem}.{f}", f, "animation")
            for f in formats if f not in STATIC_FORMATS and f not in PAGE_FORMATS]
    return out


def _compare(config: RunConfig, arguments: dict) -> list[Product]:
    stem, figs = config.stem, figure_formats(config)
    out = [Product(f"{stem}-compare.{f}", f, "comparison-figure") for f in figs]
    tuned = [o for o in config.optimizers if o.tune]
    for i in range(1, len(tuned) + 1):
        out += [Product(f"{stem}-tune-{i}.{f}", f, "tuning-figure", str(i)) for f in figs]
    out += [Product("summary.csv", "csv", "summary"), Product("summary.md", "md", "summary-md")]
    if config.render.step_panel:
        out.append(Product(f"{stem}-step-size.png", "png", "step-size-figure"))
    if tuned:
        out.append(Product("tuning.csv", "csv", "tuning"))
    return out


def _table_rows(command: str, config: RunConfig, arguments: dict) -> int:
    """The rows of ``sweep.csv`` (grid points) or ``basins.csv`` (R² x optimizers)."""
    if command == "sweep":
        from optviz.analysis.sweep import parse_axis

        x = parse_axis(arguments["x"], "--x")
        y = parse_axis(arguments["y"], "--y") if arguments.get("y") else None
        return x.n * (y.n if y else 1)
    if command == "basins":
        return arguments["resolution"] ** 2 * len(config.optimizers)
    return 0


def _tables(command: str, config: RunConfig, arguments: dict) -> list[Product]:
    """``<command>.npz`` always; ``<command>.csv`` when asked for (``csv=True``), or by
    default when it has at most :data:`CSV_MAX_ROWS` rows."""
    csv = arguments.get("csv")
    out = [Product(f"{command}.npz", "npz", f"{command}-grid")]
    if csv or (csv is None and _table_rows(command, config, arguments) <= CSV_MAX_ROWS):
        out.append(Product(f"{command}.csv", "csv", f"{command}-data"))
    return out


def _sweep(config: RunConfig, arguments: dict) -> list[Product]:
    return [*(Product(f"{config.stem}-sweep.{f}", f, "sweep-figure")
              for f in figure_formats(config)), *_tables("sweep", config, arguments)]


def _basins(config: RunConfig, arguments: dict) -> list[Product]:
    return [*(Product(f"{config.stem}-basins.{f}", f, "basins-figure")
              for f in figure_formats(config)), *_tables("basins", config, arguments)]


def signal_names(config: ResponseConfig) -> list[str]:
    """Each signal's name: a shipped signal's own, a CSV file's stem."""
    return [Path(s).stem if str(s).endswith(".csv") else str(s) for s in config.signals]


def _response(config: ResponseConfig, arguments: dict) -> list[Product]:
    out = [Product(f"{config.stem}-{sig}.{f}", f, "response-figure", sig)
           for sig in signal_names(config) for f in figure_formats(config)]
    return [*out, Product("response.csv", "csv", "response-data")]


def _web(config: RunConfig, arguments: dict) -> list[Product]:
    return [Product(f"{config.stem}-web.html", "html", "web-page")]


_PRODUCTS = {"run": _run, "compare": _compare, "sweep": _sweep, "basins": _basins,
             "response": _response, "web": _web}


# ------------------------------------------------------------------ what made it
def config_sha256(config: RunConfig | ResponseConfig) -> str:
    """sha256 of the validated config's content (canonical JSON of ``to_dict``),
    leaving out where it lives: its file, its output folder, its surface's path."""
    data = dict(config.to_dict())
    data.pop("output", None)
    data.pop("file", None)
    if isinstance(data.get("surface"), dict):
        data["surface"] = {k: v for k, v in data["surface"].items() if k != "path"}
    text = json.dumps(jsonable(data), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def input_hashes(config: RunConfig | ResponseConfig) -> dict[str, Any]:
    """optviz's version and the sha256 of every file the config was made from
    (the config file, its surface file, its signal files), each read with the
    limits of its kind of input; ``null`` for one that cannot be read (a config
    parsed from text under a file name that does not exist)."""
    from optviz import __version__
    from optviz.input.yamldoc import read_text

    files: dict[str, dict[str, str]] = {}

    def add(role: str, path: Path, what: str, limit: int | None = None) -> None:
        try:
            text = read_text(path, what, **({"limit": limit} if limit else {}))
            sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        except ConfigError:  # a config parsed from text names no file that exists
            sha = None
        files[role] = {"path": str(path), "sha256": sha}

    if config.file is not None:
        add("config", config.file, "config file")
    if isinstance(config, RunConfig):
        data_file = data_path(config.surface)
        if data_file is not None:  # a model's data, read with the limits of every table
            from optviz.input.table import MAX_BYTES as MAX_TABLE_BYTES

            add("data", data_file, "data file", MAX_TABLE_BYTES)
        elif getattr(config.surface, "path", None) is not None:
            add("surface", Path(config.surface.path), "surface file")
    else:
        from optviz.input.table import MAX_BYTES as MAX_SIGNAL_BYTES

        base = config.file.parent if config.file else None
        for sig in config.signals:
            if str(sig).endswith(".csv"):
                path = Path(sig) if base is None or Path(sig).is_absolute() else base / sig
                add(f"signal {Path(sig).stem}", path, "signal file", MAX_SIGNAL_BYTES)
    return {"optviz": __version__, "files": files}


def data_path(surface) -> Path | None:
    """The CSV file a model's data was read from (None: generated, or a surface)."""
    spec = getattr(surface, "spec", None)
    if isinstance(spec, dict) and isinstance(spec.get("data"), dict) and "csv" in spec["data"]:
        return Path(surface.data.source)
    return None


def same_inputs(recorded: Any, now: dict[str, Any]) -> bool:
    """Whether a record's inputs are *now*'s: the same optviz version and the same
    content for every input file (where the files are does not matter)."""
    if not isinstance(recorded, dict) or recorded.get("optviz") != now["optviz"]:
        return False
    files = recorded.get("files")
    if not isinstance(files, dict) or set(files) != set(now["files"]):
        return False
    return all(isinstance(files[role], dict) and now["files"][role]["sha256"] is not None
               and files[role].get("sha256") == now["files"][role]["sha256"]
               for role in files)


# ------------------------------------------------------------------ the folder
def resolve_output(config, out: str | Path | None = None):
    """The config with ``~`` and environment variables in its output folder
    expanded and ``..`` resolved (``out/..`` is the working folder: no ``out``
    is made for it)."""
    given = out is not None
    path = expand_path(config.output, file=None if given else
                       (str(config.file) if config.file else None),
                       key="--out" if given else "output")
    if ".." in path.parts:
        try:
            path = Path(os.path.relpath(os.path.realpath(path))) if not path.is_absolute() \
                else Path(os.path.realpath(path))
        except (OSError, ValueError):
            pass
    return replace(config, output=path)
