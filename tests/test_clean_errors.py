"""Inputs that used to end in a traceback or a stray warning: now a clean
``Error:`` (exit 2, file, line, key, a hint) or a quiet success. Each is tried as
a user would, with real files and the installed ``optviz`` command."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = str(Path(sys.executable).parent)  # the venv's bin: the installed `optviz`
RENDER = "render: {formats: [png], size: [2, 1.5], dpi: 100}\n"
HEAD = "surface: rosenbrock\nstart: [-1, 1]\nsteps: 3\n"


def optviz(*args, cwd, env=None, timeout=120):
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(["optviz", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def refused(r, *parts):
    """Exit 2, one 'Error:' paragraph holding every part, a hint, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("Error: ") and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.rstrip().endswith(")"), r.stderr  # the hint, in parentheses
    for part in parts:
        assert part in r.stderr, (part, r.stderr)
    return r.stderr


@pytest.mark.parametrize("text, where", [
    ("a: &a [*a]\n", "line 4, key 'a[0]'"),
    ("optimizers:\n  - &o {type: sgd, more: [*o]}\n", "line 5, key 'optimizers[0].more[0]'"),
    ("d: &d {x: 1, <<: *d}\n", "line 4, key 'd'"),
])
def test_aliases_that_contain_themselves(tmp_path, text, where):
    (tmp_path / "c.yaml").write_text(HEAD + text)
    refused(optviz("run", "c.yaml", cwd=tmp_path), "c.yaml", where, "never end")


def test_aliases_that_nest_past_the_depth_limit(tmp_path):
    lines = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 80)]
    (tmp_path / "c.yaml").write_text(HEAD + "\n".join(lines) + "\n")
    refused(optviz("run", "c.yaml", cwd=tmp_path), "c.yaml", "line 4", "64 levels")


def test_whole_numbers_too_long_or_too_large(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(HEAD.replace("steps: 3", "steps: " + "9" * 5000)
                   + "optimizers: [sgd]\n")
    refused(optviz("run", "c.yaml", cwd=tmp_path), "c.yaml", "line 3, key 'steps'", "5,000 digits")
    cfg.write_text(HEAD + "optimizers: [{type: sgd, lr: " + "9" * 320 + "}]\n")
    refused(optviz("run", "c.yaml", cwd=tmp_path), "line 4, key 'optimizers[0].lr'",
            "too large for a float")


def test_lone_surrogate_is_refused_and_a_pair_is_its_character(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(HEAD + 'title: "a \\ud800 b"\noptimizers: [sgd]\n' + RENDER)
    refused(optviz("run", "c.yaml", cwd=tmp_path), "c.yaml", "line 4, key 'title'",
            "lone surrogate \\ud800")
    # JSON's way of writing U+00E9 U+1D465 (math italic x): a pair, read as one character
    cfg.write_text(HEAD + 'optimizers: [{type: sgd, lr: 0.001, label: "\\u00e9 \\ud835\\udc65"}]\n'
                   + RENDER + "output: out\n")
    r = optviz("run", "c.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "out" / "trajectories.csv", newline="", encoding="utf-8") as fh:
        assert {row["label"] for row in csv.DictReader(fh)} == {"\u00e9 \U0001d465"}


@pytest.mark.parametrize("spec", ["./", ".", "/"])
def test_a_folder_as_surface_or_config(tmp_path, spec):
    (tmp_path / "c.yaml").write_text(f"surface: '{spec}'\nstart: [0, 0]\noptimizers: [sgd]\n")
    refused(optviz("run", "c.yaml", cwd=tmp_path), "found a folder",
            "c.yaml, line 1, key 'surface'")
    refused(optviz("run", spec, cwd=tmp_path), "found a folder")


@pytest.mark.parametrize("module", [".", "../x", "", "a..b", "x/y"])
def test_allow_import_takes_module_names_only(tmp_path, module):
    (tmp_path / "c.yaml").write_text(HEAD + "optimizers: [sgd]\n" + RENDER)
    for args in (("run", "c.yaml", "--allow-import", module),
                 ("--allow-import", module, "run", "c.yaml")):
        r = optviz(*args, cwd=tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "'--allow-import'" in r.stderr and "not a module name" in r.stderr, r.stderr


def test_allow_import_still_takes_a_module_name(tmp_path):
    (tmp_path / "c.yaml").write_text(HEAD + "optimizers: [sgd]\n" + RENDER + "output: out\n")
    r = optviz("run", "c.yaml", "-q", "--allow-import", "my_pkg.optim", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_tuning_a_whole_number_parameter_is_a_config_error(tmp_path):
    (tmp_path / "c.yaml").write_text(
        HEAD + "optimizers:\n  - {type: sgd, lr: 0.001}\n"
        "  - {type: lookahead, base: {type: sgd, lr: 0.001}, k: {tune: [1, 10]}}\n"
        "tune: {budget: 5, over: {starts: 1, seeds: 1}}\n" + RENDER)
    err = refused(optviz("compare", "c.yaml", cwd=tmp_path),
                  "c.yaml, line 6, key 'optimizers[1].k'", "cannot be tuned", "whole number")
    assert "sweep" not in err


def test_a_key_beside_a_merge_key_overrides_it(tmp_path):
    (tmp_path / "c.yaml").write_text(
        HEAD + "optimizers:\n  - &d {type: sgd, lr: 0.001}\n"
        "  - <<: *d\n    lr: 0.002\n" + RENDER + "output: out\n")
    r = optviz("run", "c.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert [(o["type"], o["lr"]) for o in record["config"]["optimizers"]] == \
        [("sgd", 0.001), ("sgd", 0.002)]
    # a real duplicate is still one
    (tmp_path / "c.yaml").write_text(HEAD + "optimizers: [{type: sgd, lr: 0.1, lr: 0.2}]\n")
    refused(optviz("run", "c.yaml", cwd=tmp_path), "line 4", "appears twice")


def test_compare_with_an_optimizer_that_always_diverges_prints_no_warning(tmp_path):
    (tmp_path / "c.yaml").write_text(
        HEAD.replace("steps: 3", "steps: 20") + "starts: {grid: 2}\n"
        "optimizers:\n  - {type: sgd, lr: 10}\n  - {type: sgd, lr: 0.001}\n"
        + RENDER.replace("[2, 1.5]", "[6, 4]") + "output: out\n")
    r = optviz("compare", "c.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    with open(tmp_path / "out" / "summary.csv", newline="") as fh:
        rates = [float(row["diverged_rate"]) for row in csv.DictReader(fh)]
    assert rates == [1.0, 0.0]


def test_unwritable_home_prints_nothing_and_leaves_no_temporary_folder(tmp_path):
    (tmp_path / "c.yaml").write_text(HEAD + "optimizers: [sgd]\n" + RENDER + "output: out\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"HOME": "/dev/null/home",  # cannot be created, even by root
           "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "", "MPLCONFIGDIR": "", "TMPDIR": str(temp)}
    r = optviz("run", "c.yaml", cwd=tmp_path, env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (tmp_path / "out" / "c.png").stat().st_size > 1000
    assert list(temp.iterdir()) == []
    # a given MPLCONFIGDIR is used, and keeps matplotlib's font cache
    keep = tmp_path / "mpl"
    r = optviz("run", "c.yaml", cwd=tmp_path, env={**env, "MPLCONFIGDIR": str(keep)})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert list(keep.glob("fontlist-*.json")) and list(temp.iterdir()) == []


def test_a_config_given_in_python_gets_the_same_text_rules():
    from optviz.errors import ConfigError
    from optviz.input.config import load_config

    with pytest.raises(ConfigError, match="key 'title': title holds a lone surrogate"):
        load_config({"surface": "rosenbrock", "title": "a\ud800", "optimizers": ["sgd"]})
    cfg = load_config({"surface": "rosenbrock", "title": "a\x1b[2Jb\nc",
                       "optimizers": [{"type": "sgd", "label": "x\x1b]0;t\x07y"}]})
    assert (cfg.title, cfg.optimizers[0].label) == ("ab\nc", "xy")
