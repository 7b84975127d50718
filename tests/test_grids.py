"""Big grids stream: sweeps and basin maps run in chunks that are pure functions
of (config, chunk index), write their arrays as .npz, and their CSV up to a size."""

import csv
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import optviz.analysis.sweep as sweep_mod
import optviz.app.runner as runner
import optviz.app.plan as plan_module
from optviz.analysis.basins import basin_grid, basins, basins_chunk, start_grid
from optviz.analysis.sweep import (Grid, chunk_count, chunk_rows, grid_chunk, parse_axis,
                                   run_product, run_rows, sweep)
from optviz.input.config import parse_config
from optviz.outputs import csv_text, write_csv

NOISY = """\
surface: wobbly
steps: 40
noise: {sigma: 0.4, seed: 5}
optimizers:
  - {type: momentum, lr: 0.01, momentum: 0.9}
  - {type: adam, lr: 0.1}
"""


def same(a, b) -> bool:
    """Equal arrays, bit for bit (NaN where NaN, the same dtype)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and \
        a.reshape(-1).tobytes() == b.reshape(-1).tobytes()


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 64 rows (the least), so small grids take several."""
    monkeypatch.setattr(sweep_mod, "CHUNK_VALUES", 1)
    assert chunk_rows(40) == 64


def test_grid_rows_are_the_meshgrid_rows_sweeps_and_basins_used():
    cfg = parse_config(NOISY)
    x, y = parse_axis("lr=1e-3:0.5:log:13"), parse_axis("momentum=0:0.95:11", "--y")
    grid = Grid(((y.param, y.values), (x.param, x.values)))
    X, Y = np.meshgrid(x.values, y.values)
    starts, params = grid.rows(cfg.start, 0, grid.count)
    assert same(params["lr"], X.ravel()) and same(params["momentum"], Y.ravel())
    assert same(starts, np.repeat(np.array([cfg.start]), grid.count, axis=0))
    _, _, old = start_grid(cfg.surface, 17)
    starts, params = basin_grid(cfg.surface, 17).rows(cfg.start, 0, 17 * 17)
    assert same(starts, old) and params == {}
    starts, _ = basin_grid(cfg.surface, 17).rows(cfg.start, 100, 140)  # any rows alone
    assert same(starts, old[100:140])


def test_chunks_in_any_order_give_the_bytes_of_one_batch(small_chunks):
    """Each chunk is a pure function of (config, chunk index): run backwards, the chunks
    assemble to exactly the one-batch result, noise included (its generator restarts
    from the seed in every chunk, as it would for the runs alone)."""
    cfg = parse_config(NOISY)
    opt = cfg.optimizers[0]
    x, y = parse_axis("lr=1e-3:0.5:log:13"), parse_axis("momentum=0:0.95:11", "--y")
    grid = Grid(((y.param, y.values), (x.param, x.values)))
    assert chunk_count(cfg, grid) == 3  # 143 rows in chunks of 64
    starts, params = grid.rows(cfg.start, 0, grid.count)
    whole = run_rows(cfg, opt, params, starts, "steps_to_tol", 0.5)
    parts = [grid_chunk(cfg, opt, grid, i, "steps_to_tol", 0.5) for i in (2, 0, 1)]
    assert sorted(len(p.values) for p in parts) == [15, 64, 64]
    for j, want in enumerate(whole):
        got = np.concatenate([p[j + 1] for p in sorted(parts, key=lambda p: p.lo)])
        assert same(got, want), j
    assert all(same(a, b) for a, b in zip(run_product(cfg, opt, grid, "steps_to_tol", 0.5),
                                          whole))
    with pytest.raises(IndexError):
        grid_chunk(cfg, opt, grid, 3)


def test_a_chunked_basin_map_equals_the_one_batch_map(small_chunks, monkeypatch):
    cfg = parse_config(NOISY)
    chunked = basins(cfg, resolution=12)  # 144 starts: 3 chunks per optimizer
    lo, lab, loss = basins_chunk(cfg, 12, 1, 2)  # a chunk alone, out of order
    assert lo == 128 and same(lab, chunked.labels[1].ravel()[128:])
    assert same(loss, chunked.losses[1].ravel()[128:])
    monkeypatch.setattr(sweep_mod, "CHUNK_VALUES", 10**9)
    whole = basins(cfg, resolution=12)  # one chunk per optimizer
    assert same(chunked.labels, whole.labels) and same(chunked.losses, whole.losses)
    assert chunked.labels.dtype == np.int64


def test_progress_is_reported_for_every_chunk_and_ends_at_one(small_chunks):
    cfg = parse_config(NOISY)
    seen = []
    basins(cfg, resolution=12, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    for done in range(1, 7):  # 2 optimizers x 3 chunks: each chunk's end is reported
        assert done / 6 in seen
    seen.clear()
    sweep(cfg, parse_axis("lr=1e-3:0.5:log:150"), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 1 / 3 in seen and 2 / 3 in seen


def test_write_csv_streams_the_rows_and_writes_csv_text_bytes(tmp_path):
    """300,000 rows (about 17 MB) are written with little memory: the rows are
    written as they come, not gathered into one string first."""
    def rows():
        for i in range(300_000):
            yield ("opt, \"quoted\"", i * 0.1, -i / 3, i % 3 - 2, float("nan") if i % 7 else i)

    target = tmp_path / "t.csv"
    tracemalloc.start()
    try:
        write_csv(target, ["label", "x", "y", "ends_at", "final_loss"], rows())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    data = target.read_bytes()
    assert data == csv_text(["label", "x", "y", "ends_at", "final_loss"], rows()).encode()
    assert len(data) > 15_000_000 and peak < 2_000_000, peak


def read_table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def exact(text: str, value) -> bool:
    """float(text) is value, bit for bit (NaN as NaN)."""
    return same(np.float64(float(text)), np.float64(value))


def test_basins_write_npz_always_and_csv_up_to_the_limit(tmp_path, monkeypatch):
    cfg = parse_config(NOISY + "render: {formats: [png], size: [4, 3], dpi: 40}\n")
    monkeypatch.setattr(plan_module, "CSV_MAX_ROWS", 2 * 6 * 6)
    small = runner.run_basins(cfg, 6, out=tmp_path / "small")
    assert {p.name for p in small.files} == {f"{cfg.stem}-basins.png", "basins.npz", "basins.csv",
                                              "basins.json"}
    assert small.notes == []
    with np.load(tmp_path / "small" / "basins.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert sorted(arrays) == ["ends_at", "final_loss", "label", "x", "y"]
    assert arrays["label"].tolist() == [o.label for o in cfg.optimizers]
    assert arrays["ends_at"].dtype == np.int64 and arrays["final_loss"].dtype == np.float64
    assert same(arrays["ends_at"], small.value.labels)
    assert same(arrays["final_loss"], small.value.losses)
    rows = read_table(tmp_path / "small" / "basins.csv")
    assert len(rows) == 72
    for n, row in enumerate(rows):  # every CSV value is the npz's, exactly
        k, (i, j) = divmod(n, 36)[0], divmod(n % 36, 6)
        assert row["label"] == arrays["label"][k]
        assert exact(row["x"], arrays["x"][j]) and exact(row["y"], arrays["y"][i])
        assert int(row["ends_at"]) == arrays["ends_at"][k, i, j]
        assert exact(row["final_loss"], arrays["final_loss"][k, i, j])

    big = runner.run_basins(cfg, 7, out=tmp_path / "big")  # 98 rows: over the limit
    assert {p.name for p in big.files} == {f"{cfg.stem}-basins.png", "basins.npz", "basins.json"}
    assert not (tmp_path / "big" / "basins.csv").exists()
    assert big.notes == ["basins.csv not written: 98 rows (over 72); the same values are in "
                         "basins.npz (--csv writes the CSV too)"]
    asked = runner.run_basins(cfg, 7, out=tmp_path / "asked", csv=True)
    assert len(read_table(tmp_path / "asked" / "basins.csv")) == 98 and asked.notes == []
    never = runner.run_basins(cfg, 6, out=tmp_path / "never", csv=False)
    assert {p.name for p in never.files} == {f"{cfg.stem}-basins.png", "basins.npz",
                                             "basins.json"}
    assert not never.notes
    # the earlier, smaller run's basins.csv is listed, unchanged, in its record: the
    # run that writes no CSV removes it (the folder holds one run)
    again = runner.run_basins(cfg, 7, out=tmp_path / "small")
    assert not (tmp_path / "small" / "basins.csv").exists()
    assert again.notes == ["basins.csv not written: 98 rows (over 72); the same values are in "
                           "basins.npz (--csv writes the CSV too)"]


def test_sweep_npz_holds_the_csv_values(tmp_path, monkeypatch):
    cfg = parse_config(NOISY + "render: {formats: [png], size: [4, 3], dpi: 40}\n")
    res = runner.run_sweep(cfg, "lr=1e-3:2:log:9", "momentum=0:0.99:4", out=tmp_path / "s",
                           outcome="distance")
    with np.load(tmp_path / "s" / "sweep.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert sorted(arrays) == ["distance", "diverged", "lr", "momentum"]
    assert arrays["distance"].shape == (4, 9) and arrays["diverged"].dtype == bool
    assert arrays["diverged"].any() and np.isinf(arrays["distance"][arrays["diverged"]]).all()
    rows = read_table(tmp_path / "s" / "sweep.csv")
    assert list(rows[0]) == ["lr", "momentum", "distance", "diverged"] and len(rows) == 36
    for n, row in enumerate(rows):
        i, j = divmod(n, 9)
        assert exact(row["lr"], arrays["lr"][j]) and exact(row["momentum"], arrays["momentum"][i])
        assert exact(row["distance"], arrays["distance"][i, j])
        assert row["diverged"] == str(int(arrays["diverged"][i, j]))
    assert same(arrays["distance"], res.value.values)
    monkeypatch.setattr(plan_module, "CSV_MAX_ROWS", 35)
    over = runner.run_sweep(cfg, "lr=1e-3:2:log:9", "momentum=0:0.99:4", out=tmp_path / "o")
    assert not (tmp_path / "o" / "sweep.csv").exists() and len(over.notes) == 1


def optviz_command() -> str:
    found = shutil.which("optviz", path=os.path.dirname(sys.executable)) or shutil.which("optviz")
    assert found, "the optviz command is not installed"
    return found


def test_cli_basins_no_csv_writes_the_npz_only(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(NOISY + "render: {formats: [png], size: [4, 3], dpi: 40}\n")
    for flag, names in (([], {"c-basins.png", "basins.npz", "basins.csv", "basins.json"}),
                        (["--no-csv"], {"c-basins.png", "basins.npz", "basins.json"})):
        out = tmp_path / ("a" if not flag else "b")
        r = subprocess.run([optviz_command(), "basins", str(cfg), "-r", "5", "--out", str(out),
                            "-q", *flag], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert {p.name for p in out.iterdir() if p.name != ".optviz.lock"} == names
        assert r.stderr == ""
