"""{type: torch, class: ...}: torch's own optimizers run on a surface equal the same
optimizer run directly in torch (needs torch: the reference extra)."""

import textwrap

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_bring_your_own import BOWL

from optviz.app.cli import cli
from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.errors import ConfigError
from optviz.input.config import parse_config
from reference.schedule_cases import STARTS, bowl_t

TORCH_CASES = [("ASGD", {"lr": 0.05, "t0": 10.0}), ("Rprop", {"lr": 0.01}),
               ("LBFGS", {"lr": 0.5, "max_iter": 4}), ("Adagrad", {"lr": 0.3})]

@pytest.mark.parametrize("cls,kwargs", TORCH_CASES, ids=[c for c, _ in TORCH_CASES])
def test_torch_class_equals_torch_run_directly(cls, kwargs):
    steps = 25
    tr = simulate(BOWL, {"o": make_optimizer("torch", **{"class": f"torch.optim.{cls}"},
                                             **kwargs)}, STARTS, steps)
    for n, start in enumerate(STARTS):
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = getattr(torch.optim, cls)([p], **kwargs)

        def closure():
            opt.zero_grad()
            loss = bowl_t(p)
            loss.backward()
            return loss

        ref = [p.detach().numpy().copy()]
        for _ in range(steps):
            if cls == "LBFGS":
                opt.step(closure)
            else:
                closure()
                opt.step()
            ref.append(p.detach().numpy().copy())
        np.testing.assert_allclose(tr.points[0, n], np.array(ref), rtol=1e-9, atol=1e-12)


def test_torch_type_in_a_config_and_its_errors():
    cfg = parse_config("surface: wobbly\noptimizers:\n  - {type: torch, class: torch.optim.ASGD,"
                       " lr: 0.02}\n  - {type: torch, class: torch.optim.Adam, "
                       "betas: [0.5, 0.9]}\n")
    assert [o.label for o in cfg.optimizers] == ["torch.ASGD lr=0.02",
                                                 "torch.Adam betas=(0.5, 0.9)"]
    for item, key, fragment in [
            ("{type: torch, class: os.path}", "optimizers[0].class", "--allow-import os"),
            ("{type: torch, class: torch.optim.Adamm}", "optimizers[0].class", "'Adam'"),
            ("{type: torch, class: torch.optim.Adam, lrr: 1}", "optimizers[0].lrr", "'lr'"),
            ("{type: torch}", "optimizers[0].type", "needs a 'class'")]:
        with pytest.raises(ConfigError) as err:
            parse_config(f"surface: wobbly\noptimizers:\n  - {item}\n")
        assert err.value.key == key and fragment in str(err.value) and err.value.line == 3


def test_cli_refuses_other_modules_unless_allowed(tmp_path, monkeypatch):
    from optviz.core.optim import torch_adapter

    monkeypatch.setattr(torch_adapter, "ALLOWED_IMPORTS", set())
    (tmp_path / "myopt.py").write_text(textwrap.dedent("""\
        import torch
        class Halving(torch.optim.SGD):
            pass
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("surface: wobbly\nsteps: 3\nrender: {formats: [png], size: [4, 3], dpi: 40}\n"
                   "optimizers: [{type: torch, class: myopt.Halving, lr: 0.01}]\n")
    r = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2 and "--allow-import myopt" in r.output and "line 4" in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / "o"), "-q",
                                 "--allow-import", "myopt"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "trajectories.csv").exists()


def test_torch_class_with_a_schedule_and_a_swept_lr():
    sched = {"type": "onecycle", "max_lr": 0.2, "total_steps": 30}
    theirs = simulate(BOWL, {"t": make_optimizer("torch", **{"class": "torch.optim.Adam"},
                                                 schedule=sched)}, STARTS, 30)
    ours = simulate(BOWL, {"o": make_optimizer("adam", schedule=sched)}, STARTS, 30)
    np.testing.assert_allclose(theirs.points, ours.points, rtol=1e-9, atol=1e-12)
    lrs = np.array([[0.01], [0.1]])
    together = simulate(BOWL, {"t": make_optimizer("torch", **{"class": "torch.optim.Adam"},
                                                   lr=lrs)}, [STARTS[0]] * 2, 20)
    for i in range(2):
        alone = simulate(BOWL, {"t": make_optimizer("torch", **{"class": "torch.optim.Adam"},
                                                    lr=float(lrs[i, 0]))}, STARTS[0], 20)
        np.testing.assert_array_equal(together.points[0, i], alone.points[0, 0])
    with pytest.raises(ConfigError, match="cycle_momentum"):
        make_optimizer("torch", **{"class": "torch.optim.Adagrad"}, schedule=sched)


# ------------------------------------------------------------ hostile torch arguments
# Each of torch's own argument errors ends in a clean exit 2 naming the config key
# (the class is tried on a dummy parameter when the config is read), and closure
# classes (LBFGS) are held to the work budget: a real optviz process, 30 s.
import json as _json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

OPTVIZ = str(Path(sys.executable).with_name("optviz"))


def _optviz(*args, timeout=30):
    r = subprocess.run([OPTVIZ, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stderr


def _config(folder, item, extra="", surface="wobbly", steps=10, formats="png"):
    cfg = folder / "t.yaml"
    cfg.write_text(f"surface: {surface}\nsteps: {steps}\n"
                   f"render: {{formats: [{formats}], size: [3, 2], dpi: 50}}\n"
                   f"optimizers:\n  - {item}\n{extra}output: {folder / 'out'}\n")
    return cfg


TORCH_ERRORS = [
    ("{type: torch, class: torch.optim.Optimizer}", "class", "abstract base class"),
    ("{type: torch, class: torch.optim.Adam, betas: [1.5, 0.9]}", "betas",
     "Invalid beta parameter at index 0: 1.5"),
    ("{type: torch, class: torch.optim.Adam, lr: -1}", "lr", "Invalid learning rate: -1"),
    ("{type: torch, class: torch.optim.Adam, lr: fast}", "lr", "refuses lr='fast'"),
    ("{type: torch, class: torch.optim.SGD, lr: 0.1, nesterov: true}", "nesterov",
     "Nesterov momentum requires a momentum"),
    ("{type: torch, class: torch.optim.Adam, capturable: true}", "capturable",
     "capturable=True"),
    ("{type: torch, class: torch.optim.SparseAdam}", "class", "sparse gradients"),
    ("{type: torch, class: torch.optim.LBFGS, line_search_fn: bogus}", "line_search_fn",
     "only 'strong_wolfe' is supported"),
    ("{type: torch, class: torch.optim.Adam, differentiable: true}", "differentiable",
     "refuses differentiable=True"),
]


@pytest.mark.parametrize("item,key,message", TORCH_ERRORS,
                         ids=[k + "-" + m.split()[0] for _, k, m in TORCH_ERRORS])
def test_torchs_argument_errors_name_the_key(tmp_path, item, key, message):
    rc, err = _optviz("run", _config(tmp_path, item), "-q")
    assert rc == 2 and "Traceback" not in err, err
    assert err.startswith(f"Error: {tmp_path / 't.yaml'}, line 5, key 'optimizers[0].{key}'")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_a_sweep_into_torchs_refusals_names_the_option(tmp_path):
    cfg = _config(tmp_path, "{type: torch, class: torch.optim.Adam, lr: 0.1}")
    rc, err = _optviz("sweep", cfg, "--x", "lr=-1:1:5", "--out", tmp_path / "s")
    assert rc == 2 and "Traceback" not in err and "key '--x'" in err, err
    assert "Invalid learning rate" in err


def test_onecycle_past_its_total_keeps_its_last_values_as_optvizs_own_does(tmp_path):
    """torch raises when OneCycleLR steps past total_steps; optviz's onecycle keeps the
    last values (schedules.py), and so does a torch class's scheduler now."""
    sched = "{type: onecycle, max_lr: 0.2, total_steps: 10}"
    rows = {}
    for name, item in [("torch", "{type: torch, class: torch.optim.Adam, label: t, "
                                 f"schedule: {sched}}}"),
                       ("own", f"{{type: adam, label: t, schedule: {sched}}}")]:
        folder = tmp_path / name
        folder.mkdir()
        # (html: the 3 x 2 inch PNG of this path fails in matplotlib's clabel)
        rc, err = _optviz("run", _config(folder, item, steps=30, formats="html"), "-q")
        assert rc == 0 and "Traceback" not in err, err
        import csv

        with open(folder / "out" / "trajectories.csv", newline="") as fh:
            rows[name] = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(fh)]
    assert len(rows["torch"]) == 31
    np.testing.assert_allclose(rows["torch"], rows["own"], rtol=1e-9, atol=1e-12)
    assert rows["torch"][-1] != rows["torch"][10]  # it went on moving past step 10


LINEAR = "{formula: 'x + y', domain: {x: [-1000, 1000], y: [-1000, 1000]}}"


@pytest.mark.parametrize("case", ["max_iter", "web", "basins"])
def test_closure_classes_are_held_to_the_work_budget(tmp_path, case):
    if case == "max_iter":  # on a plane LBFGS never converges: 1e8 evaluations a step
        cfg = _config(tmp_path, "{type: torch, class: torch.optim.LBFGS, max_iter: 1e8}",
                      surface=LINEAR, extra="start: [0, 0]\n")
        rc, err = _optviz("run", cfg, "-q")
        assert "key 'optimizers[0].max_iter'" in err or "max_iter: 1e+08" in err, err
    elif case == "web":  # the largest grid the page allows
        cfg = _config(tmp_path, "{type: torch, class: torch.optim.LBFGS, lr: 0.5}",
                      extra="web: {lr_values: 41, starts: 30}\n", steps=100)
        rc, err = _optviz("web", cfg, "--out", tmp_path / "out")
    else:
        cfg = _config(tmp_path, "{type: torch, class: torch.optim.LBFGS, lr: 0.5}",
                      steps=125)
        rc, err = _optviz("basins", cfg, "-r", 20, "--out", tmp_path / "out")
    assert rc == 2 and "Traceback" not in err, err
    assert "too much work" in err and "closure evaluations per step" in err
    assert not (tmp_path / "out").exists()


def test_a_small_lbfgs_run_is_within_the_budget(tmp_path):
    cfg = _config(tmp_path, "{type: torch, class: torch.optim.LBFGS, lr: 0.5, max_iter: 4}",
                  steps=25)
    rc, err = _optviz("run", cfg, "-q")
    assert rc == 0, err
    record = _json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["summary"][0]["steps"] == 25
