"""Nothing lost: each class of data loss found by the third round of hostile use
(issue 19), tried as a user or an attacker would, with the real `optviz`
command: real files, real concurrent processes, a FIFO, a full tmpfs.

Each test failed with the code before the output plan and the verified
record (checked by running this file against that code).
"""

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

QUICK = """\
title: quick
surface: wobbly
start: [-2.8, -2.5]
steps: {steps}
optimizers:
  - {{type: adam, lr: 0.1}}
  - {{type: sgd, lr: 0.05}}
render: {{formats: [{formats}], size: [3, 2], dpi: 50}}
"""

LONG = """\
title: long
surface: wobbly
start: [-2.8, -2.5]
steps: 5000
optimizers:
  - {type: adam, lr: 0.1, label: "adam, fast"}
  - {type: sgd, lr: 0.05}
render: {formats: [png, gif, mp4], size: [4, 3], dpi: 60, max_frames: 5000}
"""


def optviz(*args, cwd=None, timeout=120, limit_memory=True, **kwargs):
    """The real command (as `python -m optviz`), its memory capped at 3 GiB."""
    def cap():
        if limit_memory:
            resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    return subprocess.run([sys.executable, "-m", "optviz", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=cap,
                          **kwargs)


def start(*args, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "optviz", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def folder_bytes(folder):
    return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


def leftovers(root):
    return sorted(str(p) for p in Path(root).rglob("*")
                  if ".part" in p.name or p.name.startswith((".optviz-stage", ".optviz.lock")))


def record_names(folder, record="run.json"):
    """The files a record lists (either the record's entries or plain names)."""
    files = json.loads((Path(folder) / record).read_text())["files"]
    return [f["name"] if isinstance(f, dict) else f for f in files]


def assert_whole_run(folder, record="run.json"):
    """The folder holds one whole run: exactly the files its record lists (and
    the record), each with the content and size the record gives."""
    folder = Path(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*record_names(folder, record),
                                                               record])
    entries = json.loads((folder / record).read_text())["files"]
    assert all(isinstance(e, dict) for e in entries)
    for e in entries:
        data = (folder / e["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (e["bytes"], e["sha256"])


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ---------------------------------------------------------------- another tool's record
def test_a_run_json_from_another_tool_deletes_nothing(tmp_path):
    """`--out .` into a folder where another tool keeps a run.json listing the
    user's files: optviz stops before anything changes, names run.json and says
    what to do (it used to delete all three, exit 0)."""
    work = tmp_path / "thesis"
    work.mkdir()
    (work / "thesis.pdf").write_bytes(b"%PDF-1.5 four years of work")
    (work / "results.csv").write_text("a,b\n1,2\n")
    (work / "model.json").write_text('{"weights": [1, 2, 3]}')
    (work / "run.json").write_text(json.dumps(
        {"tool": "their-pipeline", "files": ["thesis.pdf", "results.csv", "model.json"]}))
    (tmp_path / "c.yaml").write_text(QUICK.format(steps=20, formats="png"))
    before = folder_bytes(work)
    r = optviz("run", tmp_path / "c.yaml", "--out", ".", cwd=work)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "run.json" in r.stderr and "not an optviz record" in r.stderr
    assert "Move them away" in r.stderr
    assert folder_bytes(work) == before
    assert sorted(p.name for p in work.iterdir()) == sorted(before)  # nothing added either


def test_a_record_is_trusted_only_for_files_as_it_recorded_them(tmp_path):
    """A record in optviz's format that lists a file whose content is not what
    it recorded (a user's thesis.pdf, forged or changed since): the file stays
    and a one-line note names it; the run goes on. Entries that are folders or
    hold a NUL are ignored, never a traceback."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.pdf").write_bytes(b"%PDF-1.5 mine")
    (out / "sub.png").mkdir()
    (out / "sub.png" / "inside.txt").write_text("mine too")
    fake = {"name": "thesis.pdf", "sha256": "0" * 64, "bytes": 13}
    (out / "run.json").write_text(json.dumps({
        "format": "optviz-record", "format_version": 1, "kind": "run",
        "files": ["sub.png", "x\u0000.png", fake,
                  {"name": "sub.png", "sha256": "1" * 64, "bytes": 0},
                  {"name": "x\u0000.png", "sha256": "2" * 64, "bytes": 0},
                  {"name": "../escape.png", "sha256": "3" * 64, "bytes": 0}]}))
    (tmp_path / "c.yaml").write_text(QUICK.format(steps=20, formats="png"))
    r = optviz("run", tmp_path / "c.yaml", "--out", out, "-q")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "thesis.pdf (changed since optviz wrote it)" in notes[0]
    assert "sub.png (a folder)" in notes[0] and "escape" not in notes[0]
    assert (out / "thesis.pdf").read_bytes() == b"%PDF-1.5 mine"
    assert (out / "sub.png" / "inside.txt").read_text() == "mine too"
    assert record_names(out) == ["trajectories.csv", "c.png"]


# ---------------------------------------------------------------- concurrent runs
def test_a_run_into_exp_leaves_a_concurrent_run_into_exp_dated_alone(tmp_path):
    """A run into out/exp-20250101 (a suffix that looks like a process id) is
    animating when another run into out/exp starts and ends. The first run
    still ends whole: its folder holds exactly what its run.json lists."""
    (tmp_path / "long.yaml").write_text(LONG)
    (tmp_path / "exp.yaml").write_text(QUICK.format(steps=20, formats="png"))
    dated, plain = tmp_path / "out" / "exp-20250101", tmp_path / "out" / "exp"
    first = optviz("run", tmp_path / "exp.yaml", "--out", dated, "-q")  # a previous good run
    assert first.returncode == 0, first.stderr
    proc = start("run", tmp_path / "long.yaml", "--out", dated, "-q")
    try:
        assert wait_for(lambda: list((tmp_path / "out").rglob(".*.part.gif"))), \
            "the long run never started its animation"
        other = optviz("run", tmp_path / "exp.yaml", "--out", plain, "-q")
        assert other.returncode == 0, other.stderr
        _, err = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert proc.returncode == 0, err
    assert_whole_run(dated)
    assert sorted(record_names(dated)) == ["long.gif", "long.mp4", "long.png",
                                           "trajectories.csv"]
    assert_whole_run(plain)
    assert leftovers(tmp_path) == []


def test_two_concurrent_runs_into_one_folder_never_mix(tmp_path):
    """Two configs run into one folder at the same time: the second waits for the
    first (saying so) and the folder ends holding one whole run, the second's,
    never a file of one beside the other's record."""
    (tmp_path / "long.yaml").write_text(LONG)
    (tmp_path / "b.yaml").write_text(QUICK.format(steps=20, formats="png"))
    out = tmp_path / "out"
    proc = start("run", tmp_path / "long.yaml", "--out", out, "-q")
    try:
        assert wait_for(lambda: list(tmp_path.rglob(".*.part.gif"))), "the long run never animated"
        second = optviz("run", tmp_path / "b.yaml", "--out", out, "-q")
        _, err = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert proc.returncode == 0 and second.returncode == 0, (err, second.stderr)
    assert_whole_run(out)
    assert sorted(record_names(out)) == ["b.png", "trajectories.csv"]
    assert "waiting for another optviz" in second.stderr and str(out) in second.stderr
    assert json.loads((out / "run.json").read_text())["config"]["title"] == "quick"
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- batch
def test_batch_refuses_two_configs_that_write_one_folder(tmp_path):
    """`optviz batch proj1 proj2`, both holding default.yaml: both would write
    output/default. Refused before anything is rendered, naming both."""
    for proj in ("proj1", "proj2"):
        (tmp_path / proj).mkdir()
        (tmp_path / proj / "default.yaml").write_text(QUICK.format(steps=20, formats="png"))
    r = optviz("batch", "proj1", "proj2", "-q", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert "proj1/default.yaml" in r.stderr and "proj2/default.yaml" in r.stderr
    assert "output/default" in r.stderr and "output:" in r.stderr
    assert not (tmp_path / "output").exists()


RESPONSE = """\
response:
  optimizer: momentum
  params: {lr: 0.25}
  vary: {momentum: [0.25, 0.9]}
  signals: [mine.csv]
render: {formats: [png], size: [3, 2], dpi: 50}
"""


def test_batch_up_to_date_means_the_same_content(tmp_path):
    """Up to date is decided by content, not modification times: a changed
    signal CSV re-renders; a config of other content whose file is older than
    the outputs re-renders; a config touched but unchanged does not."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "resp.yaml").write_text(RESPONSE)
    (proj / "mine.csv").write_text("g\n" + "\n".join(str((-1) ** i) for i in range(50)))
    (proj / "run.yaml").write_text(QUICK.format(steps=20, formats="png"))
    r = optviz("batch", "proj", cwd=tmp_path)
    assert r.returncode == 0 and "2 rendered" in r.stdout, r.stdout + r.stderr
    r = optviz("batch", "proj", cwd=tmp_path)
    assert "0 rendered, 2 up to date" in r.stdout, r.stdout

    # the signal changes; its modification time is set back (a copy, a checkout)
    old = (proj / "mine.csv").stat().st_mtime
    (proj / "mine.csv").write_text("g\n" + "\n".join(str(0.5 * (-1) ** i) for i in range(50)))
    os.utime(proj / "mine.csv", (old - 3600, old - 3600))
    # another config of the same name (so the same folder), older than the outputs
    (proj / "run.yaml").write_text(QUICK.format(steps=21, formats="png"))
    os.utime(proj / "run.yaml", (old - 3600, old - 3600))
    r = optviz("batch", "proj", cwd=tmp_path)
    assert "2 rendered, 0 up to date" in r.stdout, r.stdout
    steps = json.loads((tmp_path / "output" / "run" / "run.json").read_text())["summary"]
    assert steps[0]["steps"] == 21
    rows = (tmp_path / "output" / "resp" / "response.csv").read_text().splitlines()
    assert rows[1].split(",")[3] == "0.5"  # signal,label,t,g,step: the new g

    os.utime(proj / "run.yaml")  # touched, not changed
    r = optviz("batch", "proj", cwd=tmp_path)
    assert "0 rendered, 2 up to date" in r.stdout, r.stdout


# ---------------------------------------------------------------- compare
TUNED = """\
surface: booth
start: [-8, 6]
steps: 40
tune: {objective: final_gap, over: {starts: 4, seeds: 1}, budget: 12}
optimizers:
  - {type: momentum, lr: {tune: [1.0e-3, 0.2, log]}, momentum: 0.5}
  - {type: sgd, lr: 0.01}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def test_compare_leaves_no_stale_tuning_files_beside_a_report_that_tunes_nothing(tmp_path):
    (tmp_path / "t.yaml").write_text(TUNED)
    out = tmp_path / "report"
    r = optviz("compare", tmp_path / "t.yaml", "--out", out, "-q")
    assert r.returncode == 0 and (out / "tuning.csv").exists() and \
        (out / "t-tune-1.png").exists(), r.stderr
    (tmp_path / "t.yaml").write_text(TUNED.replace("lr: {tune: [1.0e-3, 0.2, log]}",
                                                   "lr: 0.05"))
    r = optviz("compare", tmp_path / "t.yaml", "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.json", "summary.csv", "summary.md", "t-compare.png"]
    assert_whole_run(out, "compare.json")


# ---------------------------------------------------------------- a full disk
def _mount_tmpfs(where: Path, size: int) -> str | None:
    """Mount a tmpfs of *size* bytes; None when done, else why not."""
    if os.geteuid() != 0:
        return "not root"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else f"mount failed: {r.stderr.strip()}"


@pytest.mark.parametrize("disk", ["tmpfs", "file-size-limit"])
def test_a_disk_filling_during_the_svg_leaves_the_previous_run(tmp_path, disk):
    """The SVG, the largest file, does not fit; everything else would. The run
    stops with exit 2 naming the reason and the previous run stays as it was
    (it used to swap in the new PNG, GIF and MP4, drop the SVG and exit 1).

    tmpfs: a real full disk (ENOSPC), a tmpfs filled to leave room for every
    new file but the SVG (needs root). file-size-limit: RLIMIT_FSIZE between the
    largest other file and the SVG stands in for it (EFBIG), anywhere."""
    config = tmp_path / "c.yaml"
    config.write_text(QUICK.format(steps=30, formats="png, svg, gif, mp4"))
    probe = optviz("run", config, "--out", tmp_path / "probe", "-q")
    assert probe.returncode == 0, probe.stderr
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "probe").iterdir()}
    svg = sizes.pop("c.svg")
    assert svg > 4 * max(sizes.values())  # the SVG is by far the largest
    pages = sum(-(-n // 4096) for n in sizes.values())
    out = tmp_path / "disk" / "out"
    limit = None
    if disk == "tmpfs":
        why = _mount_tmpfs(tmp_path / "disk", 8 << 20)
        if why:
            pytest.skip(f"no tmpfs ({why}); the file-size-limit case covers this")
    else:
        (tmp_path / "disk").mkdir()
        limit = (max(sizes.values()) + svg) // 2
    try:
        first = optviz("run", config, "--out", out, "-q")
        assert first.returncode == 0, first.stderr
        before = folder_bytes(out)
        config.write_text(QUICK.format(steps=31, formats="png, svg, gif, mp4"))
        if disk == "tmpfs":  # room for every new file (and the lock) but not the SVG
            room = (pages + 4) * 4096
            assert room < svg
            stats = os.statvfs(out)
            with open(tmp_path / "disk" / "filler", "wb") as fh:
                os.posix_fallocate(fh.fileno(), 0, stats.f_bavail * stats.f_frsize - room)

        def limited():
            if limit:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        r = subprocess.run([sys.executable, "-m", "optviz", "run", str(config), "--out",
                            str(out), "-q"], capture_output=True, text=True,
                           preexec_fn=limited, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        reason = "No space left on device" if disk == "tmpfs" else "File too large"
        assert reason in r.stderr and "c.svg" in r.stderr and "as it was" in r.stderr
        assert folder_bytes(out) == before
        assert leftovers(tmp_path / "disk") == []
    finally:
        if disk == "tmpfs":
            subprocess.run(["umount", str(tmp_path / "disk")], check=False)


# ---------------------------------------------------------------- paths
def test_output_out_dotdot_leaves_no_empty_out_behind(tmp_path):
    (tmp_path / "c.yaml").write_text(QUICK.format(steps=20, formats="png")
                                     + "output: out/..\n")
    r = optviz("run", "c.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c.png", "c.yaml", "run.json", "trajectories.csv"]


def test_a_long_config_name_is_not_too_long_for_the_staging_folder(tmp_path):
    name = "a-very-long-experiment-name-" * 8 + "x" * 10  # 234 characters
    (tmp_path / f"{name}.yaml").write_text(QUICK.format(steps=20, formats="png, gif"))
    r = optviz("run", f"{name}.yaml", "-q", cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert sorted(p.name for p in (tmp_path / "output" / name).iterdir()) == sorted(
        [f"{name}.png", f"{name}.gif", "run.json", "trajectories.csv"])


# ---------------------------------------------------------------- the record as input
@pytest.mark.parametrize("what", ["fifo", "dev-zero", "sparse-3gb", "folder"])
def test_the_previous_record_is_read_with_input_limits(tmp_path, what):
    """run.json that is a FIFO (reading it would wait for a writer forever), a
    link to /dev/zero, a 3 GB sparse file or a folder: none is read whole, the
    run stops at once with exit 2 naming run.json, within 30 s and 3 GiB."""
    out = tmp_path / "out"
    out.mkdir()
    record = out / "run.json"
    if what == "fifo":
        os.mkfifo(record)
    elif what == "dev-zero":
        record.symlink_to("/dev/zero")
    elif what == "sparse-3gb":
        with open(record, "wb") as fh:
            fh.truncate(3 << 30)
    else:
        record.mkdir()
    (tmp_path / "c.yaml").write_text(QUICK.format(steps=20, formats="png"))
    t0 = time.monotonic()
    try:
        r = optviz("run", tmp_path / "c.yaml", "--out", out, "-q", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung on run.json")
    assert time.monotonic() - t0 < 30
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "run.json" in r.stderr and "not an optviz record" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]


# ---------------------------------------------------------------- commands sharing a folder
def test_a_run_does_not_remove_a_file_another_command_now_owns(tmp_path):
    """`optviz run` with the web format, then `optviz web` (rewrites the page,
    web.json lists it), then `optviz run` without the web format: the page is
    the web command's now and stays; a stale file the run's record alone lists
    goes. A page edited by hand since is left and named in a note."""
    from optviz.app.runner import run, run_web
    from optviz.input.config import parse_config

    cfg = parse_config(QUICK.format(steps=20, formats="png, svg, web")
                       + "web: {lr_values: 2, main_values: 2, starts: 1, value_grid: 10}\n",
                       "a.yaml")
    run(cfg, out=tmp_path)
    run_web(cfg, out=tmp_path)
    result = run(cfg, out=tmp_path, formats="png")
    assert result.notes == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a-web.html", "a.png", "run.json", "trajectories.csv", "web.json"]  # a.svg went
    assert_whole_record(tmp_path, "web.json")

    run(cfg, out=tmp_path, formats="png, web")
    with open(tmp_path / "a-web.html", "a") as fh:
        fh.write("<!-- my notes -->")
    result = run(cfg, out=tmp_path, formats="png")
    assert len(result.notes) == 1 and "a-web.html (changed since optviz wrote it)" in \
        result.notes[0]
    assert (tmp_path / "a-web.html").read_text().endswith("<!-- my notes -->")


def assert_whole_record(folder, record):
    """Every file *record* lists is there with the content it records."""
    for e in json.loads((Path(folder) / record).read_text())["files"]:
        data = (Path(folder) / e["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (e["bytes"], e["sha256"])


def test_outputs_of_an_optviz_without_records_are_named_as_such(tmp_path):
    """A folder written before records had hashes (run.json without the format
    key): nothing is replaced, and the message says what the files are."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.png").write_bytes(b"\x89PNG old figure")
    (out / "run.json").write_text(json.dumps(
        {"config": {}, "versions": {"optviz": "0.1.0"}, "files": ["c.png", "run.json"]}))
    (tmp_path / "c.yaml").write_text(QUICK.format(steps=20, formats="png"))
    before = folder_bytes(out)
    r = optviz("run", tmp_path / "c.yaml", "--out", out, "-q")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "c.png (no optviz record lists it as it is now)" in r.stderr
    assert "run.json (not an optviz record: written by an older optviz" in r.stderr
    assert folder_bytes(out) == before
