"""Text from a config never reaches a shell, a terminal or a page unescaped.

Written as an attacker would: real config files, real ``optviz`` processes, and
the printed command pasted into a real shell.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BIN = str(Path(sys.executable).parent)  # the venv's bin: the installed `optviz`
RENDER = "render: {formats: [png], size: [2, 1.5], dpi: 100}\n"


def optviz(*args, cwd, env=None, timeout=120):
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(["optviz", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def strict_json(text):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------- shell
def test_reproduce_command_is_shell_quoted_and_reruns_exactly(tmp_path):
    out_name = "o; touch INJECTED #"
    (tmp_path / "c.yaml").write_text(
        "surface: rosenbrock\nstart: [-1, 1]\nsteps: 4\nstarts: {grid: 2}\n"
        "optimizers:\n  - {type: sgd, lr: 0.001, label: 'a | b'}\n"
        "  - {type: adam, lr: 0.01, label: 'pipe|in\\\\|side'}\n"
        f"{RENDER}output: '{out_name}'\n")
    r = optviz("compare", "c.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / out_name
    md = (out / "summary.md").read_text()
    record = strict_json((out / "compare.json").read_text())
    command = re.search(r"^```+\n(.*)\n```+$", md, re.M).group(1)
    assert command == record["command"]

    # the table: a header, a rule and one row per optimizer, six cells each;
    # an escaped '\|' is text inside a cell, not a cell boundary
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 4, md
    for line in rows:
        cells = re.split(r"(?<!\\)\|", line.replace("\\\\", ""))[1:-1]
        assert len(cells) == 6, line
    labels = [re.split(r"(?<!\\)\|", line.replace("\\\\", "\0"))[1] for line in rows[2:]]
    unescape = [lab.strip().replace("\\|", "|").replace("\0", "\\") for lab in labels]
    assert unescape == ["a | b", r"pipe|in\\|side"]  # as the YAML (single quotes) holds it

    # paste the command into a shell, from the folder the comparison ran in
    (out / "compare.json").unlink()
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("INJECTED")), "the shell ran the folder name as a command"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.yaml", out_name])
    assert strict_json((out / "compare.json").read_text()) == record  # the same comparison


def test_a_config_file_named_like_an_option_is_not_read_as_one(tmp_path):
    (tmp_path / "-q.yaml").write_text(
        "surface: rosenbrock\nstart: [-1, 1]\nsteps: 3\n"
        f"optimizers: [{{type: sgd, lr: 0.001}}]\n{RENDER}output: out\n")
    r = optviz("compare", "./-q.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    command = strict_json((tmp_path / "out" / "compare.json").read_text())["command"]
    (tmp_path / "out" / "compare.json").unlink()
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "compare.json").exists()
