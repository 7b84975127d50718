"""The work budget: each request whose inputs are within their own limits but whose
product is not ends in a clean refusal (exit 2, the keys that multiply, file, line,
what to change) before any work starts -- under 30 s and 3 GiB, checked on a real
`optviz` process with its address space capped at 3 GiB. What is within the budget
runs; ``--budget N`` / ``budget=`` moves the line."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optviz.analysis import budget
from optviz.errors import BudgetError
from optviz.input import library
from optviz.input.config import load_config, parse_config

OPTVIZ = str(Path(sys.executable).with_name("optviz"))
LIMIT = 3 << 30  # bytes of address space for each optviz process
SMALL = "render: {formats: [png], size: [3, 2], dpi: 50}\n"

# the launcher reports the peak memory of its one child, the optviz process
LAUNCHER = textwrap.dedent("""\
    import json, resource, subprocess, sys
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (%d, %d))
    r = subprocess.run(sys.argv[1:], preexec_fn=cap, capture_output=True, text=True,
                       timeout=30)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"rc": r.returncode, "out": r.stdout, "err": r.stderr, "peak": peak}))
    """) % (LIMIT, LIMIT)


def optviz(*args, cwd=None):
    """Run the installed optviz (3 GiB of address space, 30 s); its exit status,
    output and peak resident memory."""
    r = subprocess.run([sys.executable, "-c", LAUNCHER, OPTVIZ, *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr  # the launcher's own timeout: optviz took over 30 s
    result = json.loads(r.stdout)
    assert result["peak"] < LIMIT
    return result


def refused(result, *parts):
    """Exit 2, one 'Error:' paragraph holding every part, no traceback."""
    err = result["err"]
    assert result["rc"] == 2, err
    assert err.startswith("Error: ") and "Traceback" not in err, err
    for part in parts:
        assert part in err, (part, err)
    return err


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text) + SMALL + f"output: {folder / 'out'}\n")
    return path


def test_a_grid_of_starts_times_the_longest_run_is_refused(tmp_path):
    cfg = write(tmp_path, "grid.yaml", """\
        surface: wobbly
        steps: 100000
        starts: {grid: 100}
        optimizers: [adam, sgd, momentum, rmsprop, adagrad]
        """)
    err = refused(optviz("run", cfg), f"{cfg}, line 2, key 'steps'",
                  "starts: {grid: 100} (10,001 runs) x steps: 100000 x 5 optimizers",
                  "GiB; the limit is 3.0 GiB", "lower starts, steps or optimizers")
    assert not (tmp_path / "out").exists()
    assert "memory" in err


def test_ten_thousand_starts_times_a_hundred_seeds_is_refused(tmp_path):
    cfg = write(tmp_path, "seeds.yaml", """\
        surface: wobbly
        steps: 1000
        starts: {random: 10000, seed: 1}
        noise: {sigma: 0.5, seed: 1, seeds: 100}
        optimizers: [adam]
        """)
    refused(optviz("run", cfg), "line 3, key 'starts'", "noise.seeds: 100 x steps: 1000",
            "lower starts, noise.seeds or steps")
    # the web page of the same runs too (it simulates them all)
    refused(optviz("web", cfg, "--out", tmp_path / "web"), "too much memory for one web page")
    assert not (tmp_path / "out").exists() and not (tmp_path / "web").exists()


def test_compare_at_the_largest_tune_budget_is_refused(tmp_path):
    cfg = write(tmp_path, "tune.yaml", """\
        surface: rosenbrock
        steps: 500
        noise: {sigma: 0.5, seed: 1, seeds: 5}
        tune: {budget: 100000, over: {starts: 400, seeds: 100}}
        optimizers:
          - {type: adam, lr: {tune: [1.0e-4, 1.0, log]}, beta1: {tune: [0.5, 0.99]}}
          - {type: sgd, lr: {tune: [1.0e-4, 1.0, log]}}
        """)
    err = refused(optviz("compare", cfg), "line 4, key 'tune.budget'",
                  "too much work for one comparison", "tune.over.starts: 400",
                  "tune.over.seeds: 100", "the budget is 3e8 point-steps",
                  "--budget 4.1e12")
    assert re.search(r"= 2e\+?12 point-steps", err), err


@pytest.mark.parametrize("command", [("basins", "-r", 1000),
                                     ("sweep", "--x", "lr=1e-4:1:log:1000",
                                      "--y", "momentum=0:0.99:1000")])
def test_a_million_point_map_at_the_longest_run_is_refused(tmp_path, command):
    cfg = write(tmp_path, "long.yaml", """\
        surface: two-minimums
        steps: 100000
        optimizers: [{type: momentum, lr: 0.01}]
        """)
    lower = "lower --resolution or steps" if command[0] == "basins" \
        else "lower --x, --y or steps"
    refused(optviz(command[0], cfg, *command[1:], "--out", tmp_path / "map"),
            "steps: 100000", "(1,000,000 starts)" if command[0] == "basins"
            else "(1000 values) x --y momentum=0:0.99:1000 (1000 values)", lower)
    assert not (tmp_path / "map").exists()


def test_a_response_with_three_thousand_values_is_refused(tmp_path):
    values = ", ".join(f"{0.0003 * i:.4f}" for i in range(3000))
    cfg = write(tmp_path, "resp.yaml", f"""\
        response:
          optimizer: momentum
          params: {{lr: 0.25}}
          vary: {{momentum: [{values}]}}
        """)
    refused(optviz("response", cfg), "line 4, key 'response.vary.momentum'",
            "(3,000 values) x 6 signals (the default)", "--budget")


def test_an_animation_of_the_largest_frames_is_refused(tmp_path):
    cfg = tmp_path / "frames.yaml"
    cfg.write_text("surface: wobbly\nsteps: 5000\noptimizers: [adam]\n"
                   "render: {formats: [gif], size: [40, 20], dpi: 200, max_frames: 5000}\n"
                   f"output: {tmp_path / 'out'}\n")
    refused(optviz("run", cfg), "line 4, key 'render.size'", "5,020 frames",
            "8000 x 4000 pixels (render.size x dpi)", "lower render.max_frames or render.size")


def test_batch_refuses_a_config_past_the_budget_and_renders_the_others(tmp_path):
    write(tmp_path, "big.yaml", "surface: wobbly\nsteps: 100000\nstarts: {grid: 100}\n"
                                "optimizers: [adam]\n")
    small = tmp_path / "small"
    small.mkdir()
    write(small, "fine.yaml", "surface: wobbly\nsteps: 5\noptimizers: [adam]\n")
    r = optviz("batch", tmp_path, "-q", "--jobs", "1")
    assert r["rc"] == 1 and "Traceback" not in r["err"], r["err"]
    assert "big.yaml: " in r["err"] and "too much memory for one run" in r["err"]
    assert "1 rendered, 0 up to date, 1 failed" in r["out"]
    assert (small / "out" / "fine.png").is_file() and not (tmp_path / "out").exists()


def test_the_budget_flag_and_keyword_move_the_line(tmp_path):
    from optviz.app.runner import run

    cfg = write(tmp_path, "c.yaml", "surface: wobbly\nsteps: 200\nstarts: {grid: 10}\n"
                                    "optimizers: [adam, sgd]\n")
    # 101 runs x 200 steps x 2 optimizers: 40,400 point-steps, 40,602 CSV rows, a figure
    err = refused(optviz("run", cfg, "--budget", "1e5"), "the budget is 100,000 point-steps",
                  "lower starts, steps or optimizers")
    assert not (tmp_path / "out").exists()
    suggested = re.search(r"--budget (\S+) \(", err).group(1)
    ok = optviz("run", cfg, "--budget", suggested, "-q")  # what the message says is enough
    assert ok["rc"] == 0 and (tmp_path / "out" / "c.png").is_file(), ok["err"]
    with pytest.raises(BudgetError, match="the budget is 100,000 point-steps"):
        run(str(cfg), out=tmp_path / "py", budget=1e5)
    assert not (tmp_path / "py").exists()
    assert run(str(cfg), out=tmp_path / "py", budget=float(suggested)).files
    r = optviz("run", cfg, "--budget", "-3")
    assert r["rc"] == 2 and "--budget" in r["err"] and "Traceback" not in r["err"]


def test_every_shipped_config_and_documented_command_is_within_the_budget():
    for name in library.names("configs"):
        est = budget.check(budget.of_config(load_config(name)))
        assert est.work < budget.WORK_BUDGET / 3, name
    default = load_config("default")
    budget.check(budget.of_sweep(default, "lr=1e-3:1:log:60", "momentum=0:0.99:40",
                                 "momentum"))
    budget.check(budget.of_basins(load_config("article/two-minimums"), 200))
    budget.check(budget.of_web(default))
    bench = parse_config(
        (Path(__file__).parents[1] / "benchmarks" / "bench_compare.py").read_text()
        .split('CONFIG = """\\\n')[1].split('"""')[0], "bench.yaml")
    est = budget.check(budget.of_compare(bench))
    assert 4.5e7 <= est.work  # its 45 M point-steps of tuning are counted


def test_a_request_within_the_budget_stays_within_its_memory_estimate(tmp_path):
    """The memory model against a measured peak: 442 runs x 500 steps x 2 optimizers,
    with trajectories.csv (442,884 rows)."""
    cfg = write(tmp_path, "mid.yaml", "surface: wobbly\nsteps: 500\nstarts: {grid: 21}\n"
                                      "optimizers: [adam, sgd]\n")
    est = budget.of_run(load_config(cfg))
    r = optviz("run", cfg, "-q")
    assert r["rc"] == 0, r["err"]
    assert r["peak"] <= est.memory  # the estimate is an upper bound ...
    assert r["peak"] >= est.memory / 4  # ... and not a wild one
    with open(tmp_path / "out" / "trajectories.csv") as fh:
        assert sum(1 for _ in fh) == 442 * 501 * 2 + 1
