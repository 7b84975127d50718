"""Property-based tests over the whole config space (issue 20, item 5).

Configs drawn by :mod:`strategies` (every surface, optimizer, schedule,
wrapper, start, noise, tuning, render option and format) go through every
command that takes them: ``run``, ``compare``, ``sweep``, ``basins``, ``web``
through the library, and ``run`` and ``batch`` through the installed command.
Every example must end in success or a clean error (an
:class:`~optviz.errors.OptvizError` naming the file or key; exit status 2
from the command, never a traceback), a failed command must leave no output
folder behind, and a command's outputs must agree with each other, each read
back with a standard parser: the same labels in ``trajectories.csv``, the
summary CSVs, the record, the web page's embedded data and the SVG's text;
final points equal to the last rows of ``trajectories.csv`` exactly; the
record listing exactly the files in the folder, with their hashes.

The default profile is derandomized (the same examples on every run) and small
enough for the default suite (about 30 s on a loaded 2-core machine); a longer
random search (new examples each time, about an hour) is one command::

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py

Every failure found becomes a named test in ``tests/test_property_findings.py``.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

import optviz
from optviz.errors import ConfigError, OptvizError
from optviz.core.optim.registry import OPTIMIZERS
from strategies import PLAIN, run_config, schedule, yaml_text

# no "explain" phase: it re-runs a failing example dozens of times (minutes here)
_COMMON = dict(deadline=None, database=None, print_blob=True,
               phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("default", derandomize=True, **_COMMON)
settings.register_profile("long", derandomize=False, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
LONG = PROFILE == "long"


def examples(default: int, long: int = 200):
    """The examples of one test in the current profile."""
    return settings(settings.get_profile(PROFILE), max_examples=long if LONG else default)


# ------------------------------------------------------------------ running
class Folder:
    """A fresh working folder for one example, removed after it."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="optviz-props-"))
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def write_config(folder: Path, config: dict, name: str = "props") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml_text(config), encoding="utf-8")
    return path


def attempt(command, path: Path, out: Path, **kwargs):
    """Run *command* on the config file; an OptvizError must be clean (name the file
    or the key) and leave no output folder. Returns the result, or None on such
    an error. Any other exception fails the test with its traceback."""
    try:
        return command(path, out=out, **kwargs)
    except OptvizError as e:
        event(f"{type(e).__name__}: {e.detail if isinstance(e, ConfigError) else e}"[:90])
        clean_error(e, path)
        assert not out.exists(), f"a failed command left {sorted(os.listdir(out))} in {out}"
        return None


def clean_error(e: OptvizError, path: Path) -> None:
    message = str(e)
    assert message.strip(), "an error without a message"
    assert "Traceback" not in message, message
    if isinstance(e, ConfigError):  # a config given as a file: the error names it
        assert e.file and Path(e.file).name == path.name, \
            f"a config error not naming {path.name}: {message}"
        assert str(path.name) in message


# ------------------------------------------------------------------ reading back
def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def in_order(values) -> list:
    return list(dict.fromkeys(values))


def check_record(out: Path, record: str, result) -> dict:
    """The record lists exactly the other files in the folder, each with its content's
    hash and size; the result names the same files."""
    data = json.loads((out / record).read_text(encoding="utf-8"))
    assert data["format"] == "optviz-record"
    listed = {f["name"]: f for f in data["files"]}
    present = {p.name for p in out.iterdir()}
    assert present == {*listed, record}, (sorted(present), sorted(listed))
    for name, entry in listed.items():
        content = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), name
        assert entry["bytes"] == len(content), name
    assert sorted(p.name for p in result.files) == sorted(present)
    return data


def given_labels(config: dict) -> dict[int, str]:
    """The labels the config gives (index -> text), as the outputs must keep them."""
    return {i: o["label"] for i, o in enumerate(config["optimizers"]) if "label" in o}


def chosen(item: dict) -> bool:
    """Whether an optimizer of the config has values chosen by tuning (``lr: auto``, a
    tuned range), which its label then states after the given text."""
    return any(v == "auto" or isinstance(v, dict) and "tune" in v for v in item.values())


def check_labels(labels: list[str], config: dict) -> None:
    assert len(labels) == len(config["optimizers"])
    assert len(set(labels)) == len(labels), labels
    for i, label in given_labels(config).items():
        if chosen(config["optimizers"][i]):  # "label (0.0312)": the choice appended
            assert labels[i].startswith(label + " ("), (i, labels[i], label)
        else:
            assert labels[i] == label, (i, labels[i], label)


def exact(text: str) -> float:
    return float(text)


def same_float(a: float | None, b: float) -> bool:
    """*a* (from JSON: None for a value that is not finite) equals *b* exactly."""
    if a is None:
        return not math.isfinite(b)
    return a == b or (math.isnan(a) and math.isnan(b))


def last_rows(rows: list[dict]) -> dict[str, dict]:
    """label -> the last row of run 0 in trajectories.csv."""
    out = {}
    for row in rows:
        if row.get("run", "0") == "0":
            out[row["label"]] = row
    return out


def svg_text(path: Path) -> str:
    """All the text of an SVG (its <text> elements, in order), whitespace removed."""
    root = ET.parse(path).getroot()
    parts = [t for el in root.iter() if el.tag.endswith("}text") for t in el.itertext()]
    return "".join("".join(parts).split())


def read_page(path: Path) -> tuple[dict, list[np.ndarray]]:
    """A page's metadata and each optimizer's exact own path (3, n): x, y, loss."""
    text = path.read_text(encoding="utf-8")

    def script(name):
        m = re.search(rf'<script type="[^"]+" id="ov-{name}">(.*?)</script>', text, re.S)
        assert m, name
        return m.group(1).strip()

    meta = json.loads(script("meta"))
    data = np.frombuffer(gzip.decompress(base64.b64decode(script("exact"))), dtype="<f8")
    r = meta["values"]["n"]
    at, own = r * r, []
    for o in meta["opts"]:
        own.append(data[at:at + 3 * o["own_n"]].reshape(3, o["own_n"]))
        at += 3 * o["own_n"]
    assert at == len(data)
    return meta, own


def csv_paths(rows: list[dict]) -> dict[str, np.ndarray]:
    """label -> run 0's path (n, 3) from trajectories.csv."""
    out: dict[str, list] = {}
    for row in rows:
        if row.get("run", "0") == "0":
            out.setdefault(row["label"], []).append(
                [exact(row["x"]), exact(row["y"]), exact(row["loss"])])
    return {k: np.array(v) for k, v in out.items()}


def check_page(page: Path, labels: list[str], paths: dict[str, np.ndarray],
               title: str | None = None) -> None:
    meta, own = read_page(page)
    assert [o["label"] for o in meta["opts"]] == labels
    if title is not None:  # the page's data, and its <title> read by an HTML parser
        assert meta["title"] == title
        assert html_title(page) == " ".join(title.split()) or html_title(page) == title
    for label, arrays in zip(labels, own):
        np.testing.assert_array_equal(arrays.T, paths[label], err_msg=label)


def html_title(page: Path) -> str:
    """The text of a page's <title>, as an HTML parser reads it."""
    from html.parser import HTMLParser

    class Title(HTMLParser):
        inside, text = False, ""

        def handle_starttag(self, tag, attrs):
            self.inside = self.inside or tag == "title"

        def handle_endtag(self, tag):
            if tag == "title":
                self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.text += data

    parser = Title(convert_charrefs=True)
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.text


def check_images(out: Path) -> None:
    """Every PNG and GIF opens and decodes (Pillow); a GIF has at least two frames."""
    from PIL import Image

    for path in [*out.glob("*.png"), *out.glob("*.gif")]:
        with Image.open(path) as image:
            image.load()
            assert image.size[0] >= 100 and image.size[1] >= 100, (path.name, image.size)
            if path.suffix == ".gif":
                assert getattr(image, "n_frames", 1) >= 2, path.name
    for path in out.glob("*.mp4"):
        head = path.read_bytes()[:12]
        assert head[4:8] == b"ftyp", path.name


def check_figure_text(svg: Path, config: dict, labels: list[str]) -> None:
    """Every label the config gives, when short enough to be drawn whole, is in the
    SVG's text (whitespace aside: a figure wraps lines)."""
    drawn = svg_text(svg)
    for i, label in given_labels(config).items():
        if len(label) <= 30 and label != config["optimizers"][i]["type"] \
                and not chosen(config["optimizers"][i]):
            assert "".join(label.split()) in drawn, (label, svg.name)


def expected_runs(config: dict) -> int:
    """Runs per optimizer: the config's start and every listed start, under every seed
    (noise of sigma 0 is none: one seed)."""
    starts = config.get("starts") or {}
    count = starts.get("grid", 0) ** 2 or starts.get("random", 0)
    noise = config.get("noise") or {}
    return (1 + count) * (noise.get("seeds", 1) if noise.get("sigma", 0) > 0 else 1)


def check_run(out: Path, config: dict, result, stem: str = "props") -> None:
    record = check_record(out, "run.json", result)
    labels = [o.label for o in result.config.optimizers]
    check_labels(labels, config)
    rows = read_csv(out / "trajectories.csv")
    assert in_order(r["label"] for r in rows) == labels
    assert [o["label"] for o in record["config"]["optimizers"]] == labels
    assert [s["label"] for s in record["summary"]] == labels
    last = last_rows(rows)
    for s in record["summary"]:
        row = last[s["label"]]
        x, y, loss = exact(row["x"]), exact(row["y"]), exact(row["loss"])
        assert s["final_point"] == [x, y], (s["label"], s["final_point"], row)
        assert same_float(s["final_loss"], loss), (s["label"], s["final_loss"], row)
        assert s["steps"] == int(row["step"])
        outcome = result[s["label"]]
        assert outcome.final_point == (x, y)
    runs = expected_runs(config)
    assert {r.get("run", "0") for r in rows} == {str(n) for n in range(runs)}
    if (out / "summary.csv").exists():
        summary = read_csv(out / "summary.csv")
        assert [r["label"] for r in summary] == labels
        assert all(int(r["runs"]) == runs for r in summary), (runs, summary)
        assert [r["label"] for r in record["comparison"]] == labels
    paths = csv_paths(rows)
    for name in (f"{stem}.html", f"{stem}-web.html"):
        if (out / name).exists():
            check_page(out / name, labels, paths, result.config.title)
    check_images(out)
    assert (out / f"{stem}-lr.png").exists() == result.config.render.lr_panel
    assert (out / f"{stem}-step-size.png").exists() == result.config.render.step_panel
    svg = out / f"{stem}.svg"
    if svg.exists() and result.config.render.svg_text == "text":
        check_figure_text(svg, config, labels)


# ------------------------------------------------------------------ the properties
# the failures found so far (tests/test_property_findings.py), pinned
SMALL = {"formats": ["png"], "size": [4, 3], "dpi": 40}
FOUND_RUN = [
    {"surface": "wobbly", "steps": 3, "optimizers": [
        {"type": "sam", "base": {"type": "sgd", "schedule": {"type": "step", "step_size": 1}}}],
     "render": SMALL},
    {"surface": "wobbly", "steps": 3, "optimizers": [{"type": "lookahead"}],
     "render": {**SMALL, "formats": ["html"]}},
]
FOUND_WEB = [{"surface": "wobbly", "steps": 3, "optimizers": [{"type": "prodigy"}],
              "web": {"live": False, "lr_values": 2, "starts": 1}, "render": SMALL},
             {"surface": "wobbly", "steps": 3, "optimizers": [{"type": "sam"}],
              "web": {"live": False}, "render": SMALL}]


@examples(36, 400)
@given(run_config())
@example(FOUND_RUN[0])
@example(FOUND_RUN[1])
def test_run(config):
    """optviz.run on any config: success with outputs that agree, or a clean error."""
    with Folder() as tmp:
        path = write_config(tmp, config)
        result = attempt(optviz.run, path, tmp / "out")
        if result is not None:
            check_run(tmp / "out", config, result)


@examples(5, 100)
@given(run_config(formats=("png", "svg", "pdf"), tune=True, many=True, max_optimizers=3))
def test_compare(config):
    """optviz compare: the summary CSV, the Markdown table and compare.json name the
    same optimizers; tuning.csv only tuned ones; compare.json lists the folder."""
    with Folder() as tmp:
        path = write_config(tmp, config)
        result = attempt(optviz.run_compare, path, tmp / "out")
        if result is None:
            return
        out = tmp / "out"
        record = check_record(out, "compare.json", result)
        labels = [o.label for o in result.config.optimizers]
        check_labels(labels, config)
        assert [r["label"] for r in read_csv(out / "summary.csv")] == labels
        assert [r["label"] for r in record["summary"]] == labels
        assert markdown_labels(out / "summary.md") == [" ".join(label.split())
                                                       for label in labels]
        tuned = [o.label for o in result.config.optimizers if o.tune]
        assert list(record["tuning"]) == tuned
        if tuned:
            assert in_order(r["label"] for r in read_csv(out / "tuning.csv")) == tuned
        svg = out / "props-compare.svg"
        if svg.exists() and result.config.render.svg_text == "text":
            check_figure_text(svg, config, labels)


def markdown_labels(path: Path) -> list[str]:
    """The first cell of each row of summary.md's table, unescaped (``\\|``, ``\\\\``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| optimizer |"))
    out = []
    for line in lines[start + 2:]:
        if not line.startswith("| "):
            break
        cell, i = [], 2
        while not (line[i] == " " and line[i + 1] == "|"):
            if line[i] == "\\":
                i += 1
            cell.append(line[i])
            i += 1
        out.append("".join(cell))
    return out


def lr_index(config: dict) -> int | None:
    """The first optimizer whose lr can be swept (a plain number, not auto or tuned)."""
    for i, o in enumerate(config["optimizers"]):
        if o["type"] in PLAIN and not isinstance(o.get("lr"), (str, dict)):
            return i
    return None


@examples(4, 100)
@given(run_config(formats=("png", "svg", "pdf"), max_optimizers=3),
       st.integers(2, 5), st.one_of(st.none(), st.integers(2, 4)))
def test_sweep(config, nx, ny):
    """optviz sweep over lr (and a second hyperparameter): sweep.csv, sweep.npz and
    the result hold the same values; sweep.json lists the folder."""
    k = lr_index(config)
    if k is None:
        config["optimizers"].append({"type": "sgd", "lr": 0.01, "label": "swept"})
        k = len(config["optimizers"]) - 1
    x = f"lr=0.001:0.5:log:{nx}"
    second = [p.name for p in OPTIMIZERS[config["optimizers"][k]["type"]].params
              if p.expect in ("in [0, 1)", ">= 0")]
    y = f"{second[0]}=0:0.9:{ny}" if ny and second else None
    ny = ny if y else None
    with Folder() as tmp:
        path = write_config(tmp, config)
        result = attempt(optviz.run_sweep, path, tmp / "out", x=x, y=y, optimizer=str(k))
        if result is None:
            return
        out = tmp / "out"
        check_record(out, "sweep.json", result)
        label = result.config.optimizers[k].label
        assert list(result.values) == [label]
        rows = read_csv(out / "sweep.csv")
        assert len(rows) == nx * (ny or 1)
        with np.load(out / "sweep.npz") as npz:
            values = npz["final_loss"].ravel()
            diverged = npz["diverged"].ravel()
        for row, v, d in zip(rows, values, diverged):
            assert same_float(float(row["final_loss"]), v)
            assert (row["diverged"] in ("1", "True")) == bool(d), row


@examples(4, 100)
@given(run_config(formats=("png", "svg", "pdf"), max_optimizers=3), st.integers(4, 6))
@example({"surface": "wobbly", "steps": 3, "optimizers": [{"type": "sgd", "lr": "auto",
                                                           "label": "Адам"}],
          "render": SMALL}, 4)
def test_basins(config, resolution):
    """optviz basins: basins.csv has R x R rows per optimizer, labelled as the config;
    basins.npz holds the same values; basins.json lists the folder."""
    with Folder() as tmp:
        path = write_config(tmp, config)
        result = attempt(optviz.run_basins, path, tmp / "out", resolution=resolution)
        if result is None:
            return
        out = tmp / "out"
        check_record(out, "basins.json", result)
        labels = [o.label for o in result.config.optimizers]
        check_labels(labels, config)
        assert list(result.values) == labels
        rows = read_csv(out / "basins.csv")
        assert [r["label"] for r in rows] == [lb for lb in labels
                                              for _ in range(resolution ** 2)]
        with np.load(out / "basins.npz") as npz:
            assert npz["label"].tolist() == labels
            losses = npz["final_loss"].ravel()
        for row, v in zip(rows, losses):
            assert same_float(float(row["final_loss"]), v)


@examples(5, 100)
@given(run_config(formats=("png",), max_optimizers=3))
@example(FOUND_WEB[0])
@example(FOUND_WEB[1])
def test_web(config):
    """optviz web: the page's data names the config's optimizers and holds their own
    runs exactly as the result has them; web.json lists the folder."""
    with Folder() as tmp:
        path = write_config(tmp, config)
        result = attempt(optviz.run_web, path, tmp / "out")
        if result is None:
            return
        out = tmp / "out"
        check_record(out, "web.json", result)
        labels = [o.label for o in result.config.optimizers]
        check_labels(labels, config)
        tr = result.trajectories
        paths = {label: np.column_stack([tr.path(k), tr.loss_path(k)])
                 for k, label in enumerate(tr.labels)}
        check_page(out / "props-web.html", labels, paths, result.config.title)


# ------------------------------------------------------------------ the command line
def optviz_command(*args, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command (as ``python -m optviz``)."""
    return subprocess.run([sys.executable, "-m", "optviz", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "default"})


def check_exit(r: subprocess.CompletedProcess, allowed=(0, 2)) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in allowed, (r.returncode, r.stderr)
    if r.returncode == 2:
        assert r.stderr.startswith("Error: "), r.stderr


@examples(2, 40)
@given(run_config(formats=("png", "svg", "html", "gif"), max_optimizers=3))
def test_cli_run(config):
    """`optviz run` on a config file: exit 0 with outputs that agree, or a clean exit 2
    naming the file; never a traceback."""
    with Folder() as tmp:
        path = write_config(tmp, config)
        r = optviz_command("run", path.name, "--out", "out", "-q", cwd=tmp)
        check_exit(r)
        out = tmp / "out"
        if r.returncode == 2:
            assert not out.exists()
            return
        record = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert {f["name"] for f in record["files"]} | {"run.json"} == \
            {p.name for p in out.iterdir()}
        labels = [o["label"] for o in record["config"]["optimizers"]]
        check_labels(labels, config)
        rows = read_csv(out / "trajectories.csv")
        assert in_order(r["label"] for r in rows) == labels
        last = last_rows(rows)
        for s in record["summary"]:
            row = last[s["label"]]
            assert s["final_point"] == [exact(row["x"]), exact(row["y"])]


@examples(1, 20)
@given(st.lists(run_config(formats=("png",), max_optimizers=2), min_size=2, max_size=3))
def test_cli_batch(configs):
    """`optviz batch` on a folder of configs: each is rendered or reported (exit 0, or 1
    listing the failures), never a traceback; a second batch finds them up to date."""
    with Folder() as tmp:
        for i, config in enumerate(configs):
            config = {**config, "output": f"out/{i}"}
            write_config(tmp, config, name=f"c{i}")
        r = optviz_command("batch", ".", "--jobs", "1", "-q", cwd=tmp)
        check_exit(r, allowed=(0, 1))
        failed = r.stderr.count("FAILED")
        assert (r.returncode == 1) == (failed > 0), r.stderr
        done = [i for i in range(len(configs)) if (tmp / "out" / str(i) / "run.json").exists()]
        assert len(done) + failed == len(configs), r.stderr
        again = optviz_command("batch", ".", "--jobs", "1", "-q", cwd=tmp)
        check_exit(again, allowed=(0, 1))
        counts = re.search(r"(\d+) rendered, (\d+) up to date, (\d+) failed", again.stdout)
        assert counts and [int(c) for c in counts.groups()] == [0, len(done), failed], \
            again.stdout


# ------------------------------------------------------------------ the API's inputs
@examples(25, 1000)
@given(run_config())
def test_dict_text_and_file_give_the_same_config(config):
    """parse_config on the dict, on its YAML text and on the file: the same resolved
    config (where it lives aside), or the same clean error."""
    from optviz.input.config import load_config, parse_config

    with Folder() as tmp:
        path = write_config(tmp, config)
        outcomes = []
        for source in (lambda: parse_config(config), lambda: parse_config(yaml_text(config)),
                       lambda: load_config(path)):
            try:
                cfg = source().to_dict()
                outcomes.append({k: v for k, v in cfg.items() if k not in ("output", "file")})
            except OptvizError as e:
                outcomes.append(type(e).__name__ + ": " + getattr(e, "detail", str(e)))
        assert outcomes[0] == outcomes[1] == outcomes[2]


@examples(200, 5000)
@given(schedule(), st.sampled_from([0.1, 1.0]), st.integers(1, 60))
@example({"type": "onecycle", "max_lr": 0.1, "total_steps": 2, "pct_start": 0.5}, 0.1, 3)
@example({"type": "onecycle", "max_lr": 1.0, "total_steps": 1, "pct_start": 0.0,
          "anneal_strategy": "linear", "cycle_momentum": False}, 0.1, 2)
def test_every_valid_schedule_gives_finite_learning_rates(data, lr, steps):
    """A schedule that validation accepts gives a finite lr (and momentum) at every step,
    past its own length too; one it refuses is refused with a clean error."""
    from optviz.core.optim.schedules import ScheduleError, parse_schedule

    try:
        sched = parse_schedule(data)
    except ScheduleError as e:
        assert e.key and e.key.startswith("schedule"), str(e)
        return
    lrs = sched.lrs(lr, steps, 0.9)
    # torch's recursive forms round: LinearLR to end_factor 0 ends at -4e-18, not 0
    assert len(lrs) == steps and all(math.isfinite(v) and v >= -1e-15 * lr for v in lrs), lrs


@examples(3, 100)
@given(run_config(formats=("png", "svg"), max_optimizers=2))
def test_a_config_built_in_python_is_named_from_its_title(config):
    """optviz.run(parse_config(dict)) without an output folder writes output/<name>/,
    <name> a plain ASCII file name made from the title (else "run"), every file
    named with it."""
    from optviz.input.config import parse_config

    with Folder() as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            try:
                result = optviz.run(parse_config(config))
            except OptvizError as e:
                clean_error_in_memory(e)
                assert not (tmp / "output").exists()
                return
        finally:
            os.chdir(here)
        (folder,) = (tmp / "output").iterdir()
        stem = folder.name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", stem), stem
        assert result.config.stem == stem and result.config.file is None
        assert {p.name for p in folder.iterdir()} == {p.name for p in result.files}
        figures = [p.name for p in folder.iterdir() if p.suffix in (".png", ".svg")]
        assert figures and all(name.startswith(stem) for name in figures), figures


def clean_error_in_memory(e: OptvizError) -> None:
    message = str(e)
    assert message.strip() and "Traceback" not in message
    if isinstance(e, ConfigError):
        assert e.key or e.file, message
