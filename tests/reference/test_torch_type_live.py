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
