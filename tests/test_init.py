"""optviz init NAME [DEST]: a shipped config copied for editing; and a run of a name
that could mean two files says which one it ran. Driven through the installed
``optviz`` command in temporary folders."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from optviz.errors import ConfigError
from optviz.input import library
from optviz.input.config import load_config

OPTVIZ = Path(sys.executable).parent / "optviz"
SHIPPED = library.data_dir("configs")


def optviz(*args, cwd):
    return subprocess.run([OPTVIZ, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_init_copies_the_shipped_config_and_says_how_to_run_it(tmp_path):
    out = optviz("init", "article/wobbly", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    copy = tmp_path / "wobbly.yaml"
    assert copy.read_bytes() == (SHIPPED / "article" / "wobbly.yaml").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["wobbly.yaml"]
    lines = out.stdout.splitlines()
    assert lines[0] == "wrote wobbly.yaml (a copy of the shipped config 'article/wobbly')"
    assert lines[-1] == "edit it, then run it: optviz run wobbly.yaml"
    # the command it prints runs the copy, edits included
    copy.write_text(copy.read_text(encoding="utf-8").replace('title: "Wobbly: five methods"',
                                                            'title: "My wobbly"'),
                    encoding="utf-8")
    assert "My wobbly" in copy.read_text(encoding="utf-8")
    run = optviz(*lines[-1].split(": ", 1)[1].split()[1:], "--steps", "5", "--formats", "png",
                 "--out", "out", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["config"]["title"] == "My wobbly"
    assert (tmp_path / record["config"]["file"]).resolve() == copy.resolve()
    assert "note:" not in run.stderr  # a path means one file: nothing to say


@pytest.mark.parametrize("dest,expected", [("mine.yaml", "mine.yaml"),
                                           ("a/b/c.yml", "a/b/c.yml"),
                                           ("folder", "folder/response-adam.yaml"),
                                           ("folder/", "folder/response-adam.yaml")])
def test_init_dest_is_a_file_or_a_folder(tmp_path, dest, expected):
    out = optviz("init", "article/response-adam", dest, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / expected).read_bytes() == \
        (SHIPPED / "article" / "response-adam.yaml").read_bytes()
    assert f"optviz run {expected}" in out.stdout


def test_init_never_overwrites(tmp_path):
    mine = tmp_path / "default.yaml"
    mine.write_text("# my own work\n", encoding="utf-8")
    out = optviz("init", "default", cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert out.stderr.startswith("Error: default.yaml already exists")
    assert "optviz init default default-2.yaml" in out.stderr  # the suggestion
    assert mine.read_text(encoding="utf-8") == "# my own work\n"
    assert [p.name for p in tmp_path.iterdir()] == ["default.yaml"]
    again = optviz("init", "default", "default-2.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_init_of_an_unknown_name_suggests_one(tmp_path):
    out = optviz("init", "article/wobly", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "no shipped config called 'article/wobly'" in out.stderr
    assert "did you mean 'article/wobbly'" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_copies_a_local_surface_the_config_names(tmp_path, monkeypatch):
    # no shipped config names a surface file today: a shipped folder of our own
    shipped = tmp_path / "shipped" / "configs"
    (shipped / "demos").mkdir(parents=True)
    (shipped / "demos" / "bowl-surface.yaml").write_text(
        "formula: x**2 + 3*y**2\ndomain: {x: [-2, 2], y: [-2, 2]}\nstart: [1.5, 1]\n",
        encoding="utf-8")
    (shipped / "demos" / "bowl.yaml").write_text(
        "surface: ./bowl-surface.yaml\noptimizers: [adam]\n", encoding="utf-8")
    monkeypatch.setattr(library, "data_dir",
                        lambda kind: shipped if kind == "configs" else tmp_path / "none")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    written = library.copy_config("demos/bowl", "edit")
    assert written == [Path("edit/bowl.yaml"), Path("edit/bowl-surface.yaml")]
    cfg = load_config(work / "edit" / "bowl.yaml")
    assert cfg.surface.path == (work / "edit" / "bowl-surface.yaml").resolve()
    assert cfg.surface.formula == "x**2 + 3*y**2"
    # the surface file is refused to overwrite too, and then nothing is written
    (work / "again").mkdir()
    (work / "again" / "bowl-surface.yaml").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="bowl-surface.yaml already exists"):
        library.copy_config("demos/bowl", "again")
    assert [p.name for p in (work / "again").iterdir()] == ["bowl-surface.yaml"]


def test_a_run_of_a_name_that_means_two_files_says_which_it_ran(tmp_path):
    assert optviz("init", "default", cwd=tmp_path).returncode == 0
    local = tmp_path / "default.yaml"
    text = local.read_text(encoding="utf-8")
    assert text.count("\ntitle: ") == 1
    local.write_text(re.sub(r"\ntitle: .*\n", "\ntitle: The local one\n", text),
                     encoding="utf-8")
    out = optviz("run", "default", "--steps", "3", "--formats", "png", "--out", "o", "-q",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: running the local file default.yaml, not the shipped config "
                     "'default' of that name"]
    record = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert record["config"]["title"] == "The local one"


def test_a_local_file_of_another_kind_leaves_the_shipped_config_and_says_so(tmp_path):
    (tmp_path / "default.yaml").write_text("formula: x**2 + y**2\n", encoding="utf-8")
    out = optviz("run", "default", "--steps", "3", "--formats", "png", "--out", "o", "-q",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert notes[0].startswith("note: running the shipped config 'default' (")
    assert notes[0].endswith("default.yaml is not a run config (it has no 'optimizers' "
                             "or 'response')")
    record = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert (tmp_path / record["config"]["file"]).resolve() == (SHIPPED / "default.yaml").resolve()


def test_a_name_only_one_file_answers_to_runs_without_a_note(tmp_path):
    out = optviz("run", "default", "--steps", "3", "--formats", "png", "--out", "o", "-q",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "note:" not in out.stderr


def test_a_local_file_that_cannot_be_read_is_named_with_its_error(tmp_path):
    (tmp_path / "default.yaml").write_text("optimizers: [adam\n", encoding="utf-8")
    out = optviz("run", "default", "--steps", "3", "--formats", "png", "--out", "o", "-q",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "default.yaml could not be read (" in notes[0], notes
