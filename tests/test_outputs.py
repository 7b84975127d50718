"""The output layer: every file read back and compared with the in-memory results;
a run's outputs change all at once, whatever stops it."""

import csv
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_nothing_lost import assert_whole_run

from optviz.app.cli import cli
from optviz.app.runner import run, run_basins, run_response, run_sweep
from optviz.errors import ConfigError, OptvizError
from optviz.input.config import parse_config
from optviz.outputs import csv_text, json_text, output_folder


def strict_json(text):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert {len(r) for r in rows} == {len(rows[0])}, "a row has a different field count"
    return rows[0], rows[1:]


def folder_bytes(folder):
    return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


def leftovers(root):
    """Temporary files or staging folders anywhere under *root*."""
    return sorted(str(p) for p in Path(root).rglob("*")
                  if ".part" in p.name or p.name.startswith(".optviz-stage-")
                  or "html-movie" in p.name)


# ---------------------------------------------------------------- the writers
def test_csv_floats_round_trip_exactly_and_labels_are_quoted():
    values = [0.1 + 0.2, 1e-310, -0.0, 2.0 ** 0.5, 1.7976931348623157e308, np.float64(1e-3),
              float("nan"), float("inf"), float("-inf")]
    labels = ["momentum lr=0.5, 0.8", 'say "hi"', "two\nlines", "plain"]
    rows = [(label, i, v) for i, (label, v) in
            enumerate(zip(labels * 3, values))]
    text = csv_text(["label", "n", "value"], rows)
    assert "np.float64" not in text
    back = list(csv.reader(text.splitlines(keepends=True)))
    assert back[0] == ["label", "n", "value"] and len(back) == 1 + len(values)
    for (label, i, v), (blabel, bi, bv) in zip(rows, back[1:]):
        assert blabel == label and int(bi) == i
        got = float(bv)
        assert (math.isnan(got) and math.isnan(v)) or (got == v and
                                                       math.copysign(1, got) == math.copysign(1, v))
    assert back[3][2] == "-0.0" and back[2][2] == "1e-310"


def test_json_is_strict_and_says_why_a_value_is_null():
    text = json_text({"a": float("nan"), "b": [1.5, float("inf")], "c": np.float64(0.25),
                      "d": np.array([1, 2]), "e": np.bool_(True), "ok": 1e-300})
    back = strict_json(text)
    assert back == {"a": None, "a_reason": "not finite: nan", "b": [1.5, None],
                    "b_reason": "not finite (written as null): inf", "c": 0.25, "d": [1, 2],
                    "e": True, "ok": 1e-300}


# ---------------------------------------------------------------- run exports
RUN = """\
title: "exports, exactly"
surface: {formula: "log(x + 2) + y**2", domain: {x: [-3, 3], y: [-3, 3]}}
start: [1.0, 1.5]
steps: 30
optimizers:
  - {type: sgd, lr: 0.05, label: "sgd, slow"}
  - {type: adam, lr: 0.3, label: 'adam "quoted"'}
  - {type: sgd, lr: 60, label: "fly, off"}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def test_run_exports_equal_the_result_including_a_diverged_run(tmp_path):
    result = run(parse_config(RUN, "exp.yaml"), out=tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["exp.png", "run.json", "trajectories.csv"]
    assert result["fly, off"].diverged and not result["sgd, slow"].diverged
    head, rows = read_rows(out / "trajectories.csv")
    assert head == ["label", "step", "x", "y", "loss"]
    by_label = {}
    for label, step, x, y, loss in rows:
        by_label.setdefault(label, []).append((int(step), float(x), float(y), float(loss)))
    assert list(by_label) == result.labels == ["sgd, slow", 'adam "quoted"', "fly, off"]
    for label, got in by_label.items():
        got = np.array(got)
        o = result[label]
        np.testing.assert_array_equal(got[:, 0], np.arange(o.steps + 1))
        np.testing.assert_array_equal(got[:, 1:3], o.points)
        np.testing.assert_array_equal(got[:, 3], o.losses)
    record = strict_json((out / "run.json").read_text(encoding="utf-8"))
    assert [f["name"] for f in record["files"]] == ["trajectories.csv", "exp.png"]
    for f in record["files"]:
        data = (out / f["name"]).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["format"] == "optviz-record" and record["format_version"] == 1
    for row in record["summary"]:
        o = result.by_label(row["label"])
        assert row["final_loss"] == o.final_loss and row["steps"] == o.steps
        assert row["final_point"] == list(o.final_point) and row["diverged"] == o.diverged


def test_a_run_whose_loss_is_never_finite_writes_null_with_the_reason(tmp_path):
    text = RUN.replace("start: [1.0, 1.5]", "start: [-2.5, 1.5]")  # log of a negative
    result = run(parse_config(text, "nan.yaml"), out=tmp_path)
    assert math.isnan(result["sgd, slow"].final_loss)
    raw = (tmp_path / "run.json").read_text(encoding="utf-8")
    assert "NaN" not in raw and "Infinity" not in raw
    row = strict_json(raw)["summary"][0]
    assert row["final_loss"] is None and row["diverged"] is True and row["steps"] == 0
    assert row["final_loss_reason"] == "no finite loss: diverged at the start"
    _, rows = read_rows(tmp_path / "trajectories.csv")
    assert rows[0] == ["sgd, slow", "0", "-2.5", "1.5", "nan"]


ANALYSIS = """\
surface: wobbly
steps: 40
optimizers:
  - {type: momentum, lr: 0.01, momentum: 0.9, label: "momentum lr=0.5, 0.8"}
  - {type: sgd, lr: 30, label: "sgd, wild"}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def test_sweep_csv_equals_the_result(tmp_path):
    cfg = parse_config(ANALYSIS, "an.yaml")
    result = run_sweep(cfg, "lr=1e-3:20:log:5", "momentum=0:0.9:3", out=tmp_path)
    res = result["momentum lr=0.5, 0.8"]
    assert res is result.value and result.kind == "sweep"
    head, rows = read_rows(tmp_path / "sweep.csv")
    assert head == ["lr", "momentum", "final_loss", "diverged"] and len(rows) == 15
    got = np.array(rows, dtype=float)
    for iy in range(3):
        for ix in range(5):
            lr, mom, value, div = got[iy * 5 + ix]
            assert lr == res.x.values[ix] and mom == res.y.values[iy]
            assert value == res.values[iy, ix] and bool(div) == res.diverged[iy, ix]
    assert res.diverged.any() and np.isinf(got[:, 2]).any()  # diverged: inf, read back


def test_basins_csv_keeps_a_label_with_a_comma_in_one_field(tmp_path):
    cfg = parse_config(ANALYSIS, "an.yaml")
    result = run_basins(cfg, 4, out=tmp_path)
    head, rows = read_rows(tmp_path / "basins.csv")
    assert head == ["label", "x", "y", "ends_at", "final_loss"] and len(rows) == 2 * 16
    for label in ("momentum lr=0.5, 0.8", "sgd, wild"):
        mine = [r for r in rows if r[0] == label]
        m = result[label]
        assert len(mine) == 16
        got = np.array([r[1:] for r in mine], dtype=float)
        np.testing.assert_array_equal(got[:, 0], np.tile(m.xs, 4))
        np.testing.assert_array_equal(got[:, 1], np.repeat(m.ys, 4))
        np.testing.assert_array_equal(got[:, 2], m.ends_at.ravel())
        np.testing.assert_array_equal(got[:, 3], m.final_loss.ravel())  # NaN == NaN here
    assert (result["sgd, wild"].ends_at == -2).any()
    assert any(r[4] == "nan" for r in rows if r[0] == "sgd, wild")


def test_response_csv_equals_the_result(tmp_path):
    cfg = parse_config("response:\n  optimizer: momentum\n  params: {lr: 0.25}\n"
                       "  vary: {momentum: [0.25, 0.9]}\n  signals: [spikes, saturation]\n"
                       "render: {formats: [png], size: [4, 3], dpi: 40}\n", "mom.yaml")
    result = run_response(cfg.with_overrides(output=tmp_path))
    assert result.labels == ["momentum=0.25", "momentum=0.9"]
    head, rows = read_rows(tmp_path / "response.csv")
    assert head == ["signal", "label", "t", "g", "step"] and len(rows) == 2 * 2 * 300
    for sig in ("spikes", "saturation"):
        for label in result.labels:
            mine = np.array([r[2:] for r in rows if r[0] == sig and r[1] == label], dtype=float)
            np.testing.assert_array_equal(mine[:, 0], np.arange(1, 301))
            np.testing.assert_array_equal(mine[:, 2], result[label][sig])


def test_unknown_label_says_which_labels_there_are(tmp_path):
    result = run(parse_config(RUN, "exp.yaml"), out=tmp_path)
    with pytest.raises(KeyError, match="did you mean 'fly, off'"):
        result["fly off"]
    assert "adam \"quoted\"" in result and result._repr_png_()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- all at once
ANIM = RUN.replace("[png]", "[png, gif]")


def test_an_interrupted_run_leaves_the_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    run(parse_config(ANIM, "exp.yaml"), out=out)
    before = folder_bytes(out)

    import optviz.render.frames as frames

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(frames, "render_animation", interrupted)
    monkeypatch.setattr("optviz.render.render_animation", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(parse_config(ANIM.replace("steps: 30", "steps: 12"), "exp.yaml"), out=out)
    assert folder_bytes(out) == before
    assert leftovers(tmp_path) == []


def test_a_failed_format_leaves_the_previous_run_whole(tmp_path, monkeypatch):
    """ffmpeg missing: the run fails (RenderError, exit 2 from the CLI) and the
    folder keeps the previous run, GIF included, byte for byte; nothing is left."""
    out = tmp_path / "out"
    run(parse_config(ANIM, "exp.yaml"), out=out)
    old = folder_bytes(out)
    from optviz.errors import RenderError
    from optviz.render import encoders

    def missing():
        raise RenderError("ffmpeg is not available (test)")
    monkeypatch.setattr(encoders, "ffmpeg_exe", missing)
    with pytest.raises(RenderError, match="gif: ffmpeg is not available"):
        run(parse_config(ANIM.replace("steps: 30", "steps: 12"), "exp.yaml"), out=out)
    assert folder_bytes(out) == old
    assert leftovers(tmp_path) == []


def test_output_folder_swaps_nothing_when_the_block_fails(tmp_path):
    out = tmp_path / "out"
    run(parse_config(RUN, "keep.yaml"), out=out)
    before = folder_bytes(out)
    with pytest.raises(RuntimeError):
        with output_folder(out, products=["keep.png"], record="run.json",
                           records=["run.json"]) as stage:
            stage.path("keep.png").write_text("new")
            raise RuntimeError("boom")
    assert folder_bytes(out) == before and leftovers(tmp_path) == []
    # a block that writes a file the plan does not list is a bug: nothing is swapped
    with pytest.raises(RuntimeError, match="the plan lists"):
        with output_folder(out, products=["keep.png"], record="run.json",
                           records=["run.json"]) as stage:
            stage.path("keep.png").write_text("new")
            stage.path("extra.png").write_text("new")
            stage.write_record({"kind": "run"})
    assert folder_bytes(out) == before and leftovers(tmp_path) == []


def test_a_staging_folder_left_by_a_killed_run_is_removed_next_time(tmp_path):
    """A run killed outright (SIGKILL: no clean-up at all) leaves its staging
    folder; the next run into that folder takes the lock (no one holds it) and
    removes it. A folder that only looks like one (no stage mark) stays."""
    out = tmp_path / "out"
    (tmp_path / "long.yaml").write_text(LONG.format(steps=3000))
    proc = subprocess.Popen(optviz_cmd("run", tmp_path / "long.yaml", "--out", out, "-q"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert wait_for(lambda: list(out.glob(".optviz-stage-*/.*.part.gif"))), \
            "the animation never started"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_for(lambda: processes_mentioning(str(tmp_path)) == [], timeout=30)
    (abandoned,) = out.glob(".optviz-stage-*")
    lookalike = out / ".optviz-stage-not-a-stage"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("keep")
    run(parse_config(RUN, "c.yaml"), out=out)
    assert not abandoned.exists() and (lookalike / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in out.iterdir()) == [
        ".optviz-stage-not-a-stage", "c.png", "run.json", "trajectories.csv"]


# ---------------------------------------------------------------- output paths
def test_environment_variables_and_home_expand_in_output(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVIZ_TEST_OUT", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    text = RUN + "output: $OPTVIZ_TEST_OUT/x\n"
    (tmp_path / "e.yaml").write_text(text)
    result = run(tmp_path / "e.yaml")
    assert result.config.output == tmp_path / "env" / "x"
    assert (tmp_path / "env" / "x" / "e.png").exists()
    result = run(tmp_path / "e.yaml", out="~/y")
    assert (tmp_path / "home" / "y" / "run.json").exists()
    assert not any("$" in p.name or p.name == "~" for p in tmp_path.rglob("*"))


def test_an_unset_variable_in_output_is_an_error_naming_file_and_key(tmp_path, monkeypatch):
    monkeypatch.delenv("OPTVIZ_SURELY_UNSET", raising=False)
    (tmp_path / "u.yaml").write_text(RUN + "output: ${OPTVIZ_SURELY_UNSET}/x\n")
    with pytest.raises(ConfigError) as err:
        run(tmp_path / "u.yaml")
    assert err.value.key == "output" and err.value.file.endswith("u.yaml")
    assert "${OPTVIZ_SURELY_UNSET}" in str(err.value) and "not set" in str(err.value)
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "u.yaml"), "--out", "$OPTVIZ_SURELY_UNSET"])
    assert r.exit_code == 2 and "--out" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("where, reason", [("/proc/optviz-test/out", "No such file"),
                                           ("/dev/null/out", "/dev/null is a file, not a folder")])
def test_an_unwritable_output_folder_names_path_and_reason(tmp_path, where, reason):
    (tmp_path / "c.yaml").write_text(RUN)
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "c.yaml"), "--out", where])
    assert r.exit_code == 2 and where in r.output and reason in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_an_output_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("mine")
    with pytest.raises(OptvizError, match="it is a file"):
        run(parse_config(RUN, "c.yaml"), out=tmp_path / "file")
    assert (tmp_path / "file").read_text() == "mine"


# ---------------------------------------------------------------- real signals
LONG = """\
title: long
surface: wobbly
start: [-2.8, -2.5]
steps: {steps}
optimizers:
  - {{type: adam, lr: 0.1, label: "adam, fast"}}
  - {{type: sgd, lr: 0.05}}
render: {{formats: [gif, mp4, html], size: [3, 2], dpi: 50, max_frames: 5000}}
"""


def optviz_cmd(*args):
    return [sys.executable, "-m", "optviz", *map(str, args)]


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def processes_mentioning(text):
    """PIDs of live (not zombie) processes whose command line contains *text*."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def encoders_writing_to(folder):
    """PIDs of the ffmpeg processes (one per animated format) writing under *folder*."""
    found = []
    for pid in processes_mentioning(str(folder)):
        try:
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:  # it ended meanwhile
            continue
        if b"ffmpeg" in program:
            found.append(pid)
    return found


def optviz_temp_dirs():
    """What a run could leave in the system's temp folder: the HTML writer's scratch
    folder of old (optviz-html-*), or any partial file. (Other optviz-* folders
    there belong to benchmarks and browser tests that may run alongside.)"""
    return {p for p in os.listdir(tempfile.gettempdir())
            if p.startswith(("optviz-html", ".optviz-stage")) or ".part" in p}


def test_sigint_and_sigterm_mid_animation_leave_the_previous_run_and_no_temp_files(tmp_path):
    """Two real `optviz run`s (run side by side to save time), one stopped by SIGINT,
    one by SIGTERM while their GIF and MP4 encoders are running (the HTML page,
    which needs no ffmpeg, is already written in the staging folder)."""
    import shutil

    run(parse_config(LONG.format(steps=10), "long.yaml"), out=tmp_path / "previous")
    before = folder_bytes(tmp_path / "previous")
    (tmp_path / "long.yaml").write_text(LONG.format(steps=3000))
    temps = optviz_temp_dirs()
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        home = tmp_path / sig.name
        shutil.copytree(tmp_path / "previous", home / "out")
        procs[sig] = subprocess.Popen(
            optviz_cmd("run", tmp_path / "long.yaml", "--out", home / "out", "-q"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for sig, proc in procs.items():
            home = tmp_path / sig.name
            started = wait_for(lambda: list(home.glob("out/.optviz-stage-*/.*.part.gif"))
                               and len(encoders_writing_to(home)) == 2)
            assert started, "the animation never started"
            os.kill(proc.pid, sig)
        errs = {sig: proc.communicate(timeout=30)[1] for sig, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    for sig, proc in procs.items():
        home = tmp_path / sig.name
        assert proc.returncode == (143 if sig == signal.SIGTERM else 1), errs[sig]
        assert "Traceback" not in errs[sig]
        assert folder_bytes(home / "out") == before
        assert processes_mentioning(str(home)) == []  # no ffmpeg left writing
    assert leftovers(tmp_path) == []
    assert optviz_temp_dirs() <= temps


def test_a_full_disk_leaves_the_previous_run_and_exits_2(tmp_path):
    """A file-size limit stands in for a full disk: writes fail with EFBIG."""
    import resource

    out = tmp_path / "out"
    run(parse_config(ANALYSIS, "c.yaml"), out=out)
    before = folder_bytes(out)
    (tmp_path / "c.yaml").write_text(ANALYSIS.replace("steps: 40", "steps: 10000"))

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
    r = subprocess.run(optviz_cmd("run", tmp_path / "c.yaml", "--out", out, "-q"),
                       capture_output=True, text=True, preexec_fn=limited, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"cannot write {out / 'trajectories.csv'}: File too large" in r.stderr
    assert folder_bytes(out) == before
    assert leftovers(tmp_path) == []


def test_batch_stops_on_ctrl_c_cancels_the_queue_and_leaves_no_process(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    for i in range(5):
        (folder / f"c{i}.yaml").write_text(LONG.format(steps=5000)
                                           + f"output: {tmp_path / 'out' / str(i)}\n")
    proc = subprocess.Popen(optviz_cmd("batch", folder, "--jobs", "2", "-q"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        # both workers animating: their GIFs begun and their four encoders started
        # (the encoders are kept as seen at that moment: one may finish right after)
        seen: list[list[int]] = []

        def both_animating() -> bool:
            encoders = encoders_writing_to(tmp_path)
            if len(list(tmp_path.glob("out/*/.optviz-stage-*/.*.part.gif"))) == 2 and \
                    len(encoders) == 4:
                seen.append(encoders)
            return bool(seen)

        assert wait_for(both_animating), "the two workers never started animating"
        busy = seen[0]  # the workers' ffmpeg processes
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)],
                                                  capture_output=True, text=True
                                                  ).stdout.split()]
        assert len(workers) == 2
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: every process
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    # a run that finished before the signal reached it is kept, whole (on a loaded
    # machine the two in flight, or the next one, can finish while the test looks);
    # the rest of the queue never ran, and nothing partial is left
    rendered = sorted((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    for folder in rendered:
        assert_whole_run(folder)
    assert len(rendered) < 5, "the queue was not cancelled"
    for pid in workers + busy:
        assert not Path(f"/proc/{pid}").exists() or \
            (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    assert processes_mentioning(str(tmp_path)) == []
    assert leftovers(tmp_path) == []


def test_a_stop_signal_masked_by_a_c_call_still_stops_cleanly(monkeypatch, capsys):
    """A signal's exception raised inside a C call that calls back into Python can
    come out as another error (Agg: 'Invalid affine transformation matrix'); main()
    then exits as the signal asked (SIGTERM: 143, SIGINT: "Aborted!" and 1), with
    no traceback -- and an error with no signal behind it is still raised."""
    from optviz.app import cli as cli_module

    def masked(signum):
        def fake_cli(**kwargs):
            cli_module._STOPPED_BY.append(signum)
            raise ValueError("Invalid affine transformation matrix")
        return fake_cli

    for signum, code in ((signal.SIGTERM, 143), (signal.SIGINT, 1)):
        monkeypatch.setattr(cli_module, "_STOPPED_BY", [])
        monkeypatch.setattr(cli_module, "cli", masked(signum))
        with pytest.raises(SystemExit) as stop:
            cli_module.main()
        assert stop.value.code == code
    monkeypatch.setattr(cli_module, "_STOPPED_BY", [])

    def buggy(**kwargs):
        raise ValueError("a real bug")
    monkeypatch.setattr(cli_module, "cli", buggy)
    with pytest.raises(ValueError, match="a real bug"):
        cli_module.main()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
