"""One output plan: every command writes exactly the files its plan lists, its
record lists them with their content, and every command returns one kind of
result (files, labels, errors, the plan)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import optviz
from optviz.app.compare import CompareResult, run_compare
from optviz.app.plan import config_sha256, plan, resolve_output
from optviz.app.runner import Result, run, run_basins, run_response, run_sweep, run_web
from optviz.errors import ConfigError
from optviz.input.config import parse_config

BASE = """\
title: "Plan: every file"
surface: wobbly
start: [-2.8, -2.5]
steps: 12
optimizers:
  - {type: adam, lr: 0.1}
  - {type: momentum, lr: 0.01, momentum: 0.9}
web: {lr_values: 2, main_values: 2, starts: 1, value_grid: 10}
render: {formats: [png], size: [3, 2], dpi: 50}
"""
ALL = BASE.replace("render: {formats: [png],",
                   "render: {formats: [png, svg, gif, html, web], lr_panel: true, "
                   "step_panel: true,")
MANY = BASE + "starts: {grid: 2}\n"
TUNED = """\
surface: booth
start: [-8, 6]
steps: 20
tune: {objective: final_gap, over: {starts: 4, seeds: 1}, budget: 6}
optimizers:
  - {type: momentum, lr: {tune: [1.0e-3, 0.2, log]}, momentum: 0.5}
  - {type: sgd, lr: 0.01}
  - {type: adam, lr: {tune: [1.0e-3, 2.0, log]}}  # chosen inside its range: no warning
render: {formats: [png, svg], size: [3, 2], dpi: 50}
"""
RESPONSE = """\
response:
  optimizer: momentum
  params: {lr: 0.25}
  vary: {momentum: [0.25, 0.9]}
  signals: [spikes, mine.csv]
render: {formats: [png, svg], size: [3, 2], dpi: 50}
"""


def check_record(out, record, names):
    """The record is optviz's, lists *names* (in order) and each file's content."""
    content = json.loads((out / record).read_text())
    assert content["format"] == "optviz-record" and content["format_version"] == 1
    assert [f["name"] for f in content["files"]] == names
    for f in content["files"]:
        data = (out / f["name"]).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    return content


def check(result, out, command, expected):
    """The plan lists *expected* (written by hand), the folder holds exactly
    that, the result's files are those paths and the record lists them."""
    assert isinstance(result, Result) and result.errors == [] and result.notes == []
    assert result.plan.command == command and result.plan.names == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    assert result.files == [out / name for name in expected]
    content = check_record(out, expected[-1], expected[:-1])
    assert content["kind"] == command
    assert content["config_sha256"] == config_sha256(result.plan.config)
    return content


def test_run_writes_what_its_plan_lists(tmp_path):
    result = run(parse_config(ALL, "all.yaml"), out=tmp_path)
    check(result, tmp_path, "run", [
        "trajectories.csv", "all.png", "all.svg", "all-step-size.png", "all-lr.png",
        "all.html", "all-web.html", "all.gif", "run.json"])
    assert result.labels == ["adam lr=0.1", "momentum"]


def test_a_run_of_many_starts_writes_the_summary_and_the_fan(tmp_path):
    result = run(parse_config(MANY, "many.yaml"), out=tmp_path)
    check(result, tmp_path, "run", ["trajectories.csv", "summary.csv", "many.png", "run.json"])


def test_compare_writes_what_its_plan_lists_and_is_a_result(tmp_path):
    result = run_compare(parse_config(TUNED, "t.yaml"), out=tmp_path)
    content = check(result, tmp_path, "compare", [
        "t-compare.png", "t-compare.svg", "t-tune-1.png", "t-tune-1.svg", "t-tune-2.png",
        "t-tune-2.svg", "summary.csv", "summary.md", "tuning.csv", "compare.json"])
    assert isinstance(result, CompareResult)
    assert content["command"].startswith("optviz compare")  # the reproduce line is kept
    sgd = result["sgd"]
    assert sgd is result.row("sgd") and sgd["label"] == "sgd" and sgd["runs"] == 1
    assert len(result.labels) == 3 and result.labels[1] == "sgd"
    with pytest.raises(KeyError, match="labels:"):
        result["nope"]


def test_sweep_basins_and_web_write_what_their_plans_list(tmp_path):
    cfg = parse_config(BASE, "an.yaml")
    result = run_sweep(cfg, "lr=1e-3:1:log:3", optimizer="momentum", out=tmp_path / "s")
    content = check(result, tmp_path / "s", "sweep", ["an-sweep.png", "sweep.npz", "sweep.csv", "sweep.json"])
    assert content["arguments"] == {"x": "lr=1e-3:1:log:3", "y": None,
                                    "optimizer": "momentum", "outcome": "final_loss",
                                    "tol": 1e-3, "csv": None}
    result = run_basins(cfg, 4, out=tmp_path / "b")
    content = check(result, tmp_path / "b", "basins",
                    ["an-basins.png", "basins.npz", "basins.csv", "basins.json"])
    assert content["arguments"] == {"resolution": 4, "csv": None}
    result = run_web(cfg, out=tmp_path / "w")
    check(result, tmp_path / "w", "web", ["an-web.html", "web.json"])
    assert result.page.path == tmp_path / "w" / "an-web.html"
    assert result.page.bytes == result.page.path.stat().st_size


def test_response_writes_what_its_plan_lists_and_records_its_signal_file(tmp_path):
    (tmp_path / "resp.yaml").write_text(RESPONSE)
    (tmp_path / "mine.csv").write_text("g\n1\n-1\n1\n")
    out = tmp_path / "out"
    result = run_response(tmp_path / "resp.yaml", out=out)
    content = check(result, out, "response", [
        "resp-spikes.png", "resp-spikes.svg", "resp-mine.png", "resp-mine.svg",
        "response.csv", "response.json"])
    files = content["inputs"]["files"]
    assert files["signal mine"]["sha256"] == hashlib.sha256(b"g\n1\n-1\n1\n").hexdigest()
    assert files["config"]["sha256"] == hashlib.sha256(RESPONSE.encode()).hexdigest()
    assert content["inputs"]["optviz"] == optviz.__version__


def test_two_signals_of_one_name_are_refused_before_anything_is_written(tmp_path):
    (tmp_path / "resp.yaml").write_text(RESPONSE.replace("[spikes, mine.csv]",
                                                         "[mine.csv, sub/mine.csv]"))
    with pytest.raises(ConfigError, match="two outputs would have the same name: "
                                          "resp-mine.png, resp-mine.svg"):
        run_response(tmp_path / "resp.yaml", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_config_hash_follows_the_content_not_where_it_lives(tmp_path):
    a = parse_config(BASE, "a.yaml")
    moved = resolve_output(parse_config(BASE, str(tmp_path / "elsewhere" / "a.yaml")),
                           tmp_path / "x")
    assert config_sha256(a) == config_sha256(moved)
    assert config_sha256(a) != config_sha256(parse_config(BASE.replace("lr: 0.1", "lr: 0.2"),
                                                          "a.yaml"))
    assert plan(a).record.name == "run.json" and plan(a, "web").names == ["a-web.html",
                                                                           "web.json"]


@pytest.mark.parametrize("command", ["sweep", "compare", "basins"])
def test_a_response_config_given_to_a_surface_command_is_a_clean_error(tmp_path, command):
    """It used to be an AttributeError traceback (exit 1)."""
    (tmp_path / "resp.yaml").write_text(RESPONSE.replace("[spikes, mine.csv]", "[spikes]"))
    args = ["--x", "lr=1e-3:1:log:3"] if command == "sweep" else []
    r = subprocess.run([sys.executable, "-m", "optviz", command, "resp.yaml", *args],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "resp.yaml" in r.stderr and f"'optviz {command}'" in r.stderr
    assert "optviz response" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resp.yaml"]


# ---------------------------------------------------------------- parse_config
def test_parse_config_takes_text_a_path_or_a_mapping(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = "title: 'Adam vs SGD: $\\|x\\|^2$'\nsurface: wobbly\noptimizers: [{type: adam}]\n"
    cfg = parse_config(text)
    assert cfg.stem == "adam-vs-sgd-x-2" and cfg.output == Path("output/adam-vs-sgd-x-2")
    assert cfg.file is None
    result = run(cfg, formats="png")
    assert sorted(p.name for p in (tmp_path / "output" / "adam-vs-sgd-x-2").iterdir()) == [
        "adam-vs-sgd-x-2.png", "run.json", "trajectories.csv"]

    cfg = parse_config({"title": "Crème brûlée", "surface": "wobbly",
                        "optimizers": [{"type": "adam"}]})
    assert cfg.stem == "creme-brulee" and cfg.output == Path("output/creme-brulee")
    cfg = parse_config({"surface": "wobbly", "optimizers": [{"type": "adam"}],
                        "output": "here"})
    assert cfg.stem == "wobbly" and cfg.output == Path("here")  # the surface's title
    assert parse_config({"title": "∆∆", "surface": "wobbly",
                         "optimizers": [{"type": "adam"}]}).stem == "run"

    (tmp_path / "mine.yaml").write_text(text)
    for spec in (tmp_path / "mine.yaml", "mine.yaml"):
        cfg = parse_config(spec)
        assert cfg.stem == "mine" and cfg.file.name == "mine.yaml"
    assert parse_config(text, "named.yaml").stem == "named"
    assert result.labels == ["adam"]
