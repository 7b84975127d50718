"""The command line, driven through click's CliRunner."""

import json
import unicodedata
import subprocess
import sys

import pytest
from click.testing import CliRunner

from optviz import __version__
from optviz.app.cli import cli
from optviz.core.trajectories import read_csv

CONFIG = """\
title: CLI test
surface: wobbly
steps: 20
optimizers:
  - {type: sgd, lr: 0.05}
  - {type: adam, lr: 0.25}
  - {type: sgd, lr: 50, label: "too fast"}
render: {formats: [png], size: [4, 3], dpi: 50}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_version_and_help():
    assert __version__ in invoke("--version").output
    out = invoke("--help").output
    for command in ("run", "list", "describe"):
        assert command in out


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from optviz.app.cli import main; sys.argv=['optviz','--help']\n"
            "try:\n main()\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('numpy','matplotlib','sympy','yaml','imageio') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out


def test_list_and_describe():
    surfaces = invoke("list", "surfaces").output.splitlines()
    assert any(line.startswith("wobbly") for line in surfaces) and len(surfaces) >= 15
    optimizers = invoke("list", "optimizers").output
    for name in ("sgd", "adam", "adabound", "newton", "nag"):
        assert name in optimizers
    d = invoke("describe", "wobbly").output
    assert "df/dx" in d and "domain" in d and "sign(x)" in d
    assert "beta1" in invoke("describe", "adam").output


def test_describe_unknown_suggests_and_exits_2():
    r = invoke("describe", "adma")
    assert r.exit_code == 2 and "did you mean 'adam'" in r.output


def test_run_writes_figure_csv_and_json(tmp_path):
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    r = invoke("run", cfg, "--out", out)
    assert r.exit_code == 0, r.output
    assert "final loss" in r.output and "too fast" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["demo.png", "run.json", "trajectories.csv"]
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["optimizers"][1]["beta2"] == 0.999
    assert set(record["versions"]) >= {"optviz", "numpy", "matplotlib"}
    summary = {s["label"]: s for s in record["summary"]}
    assert summary["too fast"]["diverged"] and not summary["adam lr=0.25"]["diverged"]
    rows = read_csv(out / "trajectories.csv")
    assert len(rows["adam lr=0.25"]) == 21
    assert len(rows["too fast"]) == summary["too fast"]["steps"] + 1 < 21


def test_run_options_override_the_config(tmp_path):
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(CONFIG)
    r = invoke("run", cfg, "--out", tmp_path / "o", "--steps", 3, "--formats", "svg", "--quiet")
    assert r.exit_code == 0 and r.output == ""
    assert (tmp_path / "o" / "demo.svg").exists() and not (tmp_path / "o" / "demo.png").exists()
    assert len(read_csv(tmp_path / "o" / "trajectories.csv")["adam lr=0.25"]) == 4


def test_run_without_a_config_renders_the_default(tmp_path):
    r = invoke("run", "--out", tmp_path, "--steps", 2, "--formats", "png", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "default.png").exists()


@pytest.mark.parametrize("text", [
    "surface: wobbly\noptimizers: [{type: adma}]\n",
    "surface: wobbly\noptimizers: [adam]\nsteps: 1e9\n",
    ": : :\n",
    "",
])
def test_bad_config_exits_2_without_traceback_or_files(tmp_path, text):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    out = tmp_path / "out"
    r = invoke("run", cfg, "--out", out)
    assert r.exit_code == 2
    assert r.output.startswith("Error: ") and str(cfg) in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_bad_option_values_exit_2(tmp_path):
    r = invoke("run", "default", "--out", tmp_path, "--formats", "png,jpeg")
    assert r.exit_code == 2 and "--formats" in r.output
    assert list(tmp_path.iterdir()) == []


def test_the_run_table_keeps_its_columns_in_line_with_chinese_and_japanese_labels(tmp_path):
    """A CJK character takes two terminal columns: the table pads by columns, not
    by characters, so "final point" starts in the same column on every row."""
    cfg = tmp_path / "cjk.yaml"
    cfg.write_text(CONFIG.replace('label: "too fast"', 'label: "学习率过大"')
                   .replace("{type: adam, lr: 0.25}", "{type: adam, lr: 0.25, label: アダム}"))
    r = subprocess.run(["optviz", "run", str(cfg), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("optimizer"))
    rows = lines[head + 2:head + 5]
    assert [row.split()[0] for row in rows] == ["sgd", "アダム", "学习率过大"]

    def column(row, text):  # terminal columns before text
        before = row[:row.index(text)]
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)

    starts = {column(row, "(") for row in rows}
    assert starts == {column(lines[head], "final point")}, rows
