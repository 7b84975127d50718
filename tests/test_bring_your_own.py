"""Bring your own optimizer: register_optimizer, the optviz.optimizers entry point,
and {type: torch, class: ...}."""

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from optviz.app.cli import cli
from optviz.core.engine import simulate
from optviz.core.optim import OPTIMIZERS, chain, describe_optimizer, make_optimizer
from optviz.core.optim import transforms as T
from optviz.core.optim.registry import register_optimizer
from optviz.core.surfaces import load_surface
from optviz.errors import ConfigError
from optviz.input.config import parse_config

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from schedule_cases import STARTS, SURFACE, bowl_t  # noqa: E402

BOWL = load_surface(SURFACE)


def sign_descent(lr=0.05, weight_decay=0.0):
    """Sign descent: θ ← θ − lr·sign(g + λθ)."""
    return chain(T.add_decayed_weights(weight_decay), T.scale_by_sign(),
                 T.scale_by_learning_rate(lr))


@pytest.fixture
def registered():
    import optviz

    assert optviz.register_optimizer is register_optimizer  # the public API
    spec = register_optimizer("signdescent", sign_descent, reference="a test", main_param=None)
    yield spec
    OPTIMIZERS.pop("signdescent")


def test_registered_optimizer_works_everywhere(registered, tmp_path):
    cfg = parse_config("surface: wobbly\nsteps: 12\nstart: [-2.8, -2.5]\noptimizers:\n"
                       "  - {type: signdescent, lr: 0.1}\n  - {type: signdescent, lr: 0.2, "
                       "weight_decay: 0.5}\n")
    assert [o.label for o in cfg.optimizers] == [
        "signdescent lr=0.1", "signdescent lr=0.2 weight_decay=0.5"]
    from optviz.app.runner import simulate_config

    tr = simulate_config(cfg)
    g0 = cfg.surface.grad(np.array([[-2.8, -2.5]]))[0]
    np.testing.assert_allclose(tr.points[0, 0, 1], [-2.8, -2.5] - 0.1 * np.sign(g0))
    # describe, sweeps, basins, explore
    text = describe_optimizer("signdescent")
    assert "Sign descent" in text and "lr=0.05 (> 0)" in text and "a test" in text
    with pytest.raises(ConfigError, match="must be > 0"):
        parse_config("surface: wobbly\noptimizers: [{type: signdescent, lr: -1}]\n")
    from optviz.analysis.basins import basins
    from optviz.analysis.sweep import parse_axis, sweep

    res = sweep(cfg, parse_axis("lr=0.01:0.3:5"))
    assert res.values.shape == (5,) and np.isfinite(res.values).all()
    alone = simulate(cfg.surface, {"s": sign_descent(lr=0.3)}, cfg.start, cfg.steps)
    assert res.values[-1] == pytest.approx(alone.final_losses[0, 0], rel=1e-12)
    b = basins(cfg, resolution=4)
    assert b.labels.shape == (2, 4, 4)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from optviz.app.explore import Explorer

    e = Explorer(cfg, Figure(figsize=(10, 6)))
    e.set_param(0, "lr", 0.1)
    np.testing.assert_allclose(e.traj.points[0, 0], tr.points[0, 0])


def test_register_refuses_clashes_and_missing_lr():
    with pytest.raises(ValueError, match="already registered"):
        register_optimizer("adam", sign_descent)
    with pytest.raises(ValueError, match="'lr'"):
        register_optimizer("nolr", lambda rate=0.1: sign_descent(rate))
    assert "nolr" not in OPTIMIZERS


# ----------------------------------------------------------------- type: torch
TORCH_CASES = [("ASGD", {"lr": 0.05, "t0": 10.0}), ("Rprop", {"lr": 0.01}),
               ("LBFGS", {"lr": 0.5, "max_iter": 4}), ("Adagrad", {"lr": 0.3})]


@pytest.mark.parametrize("cls,kwargs", TORCH_CASES, ids=[c for c, _ in TORCH_CASES])
def test_torch_class_equals_torch_run_directly(cls, kwargs):
    torch = pytest.importorskip("torch")
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
    pytest.importorskip("torch")
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
    pytest.importorskip("torch")
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


# ----------------------------------------------------------------- entry points
PLUGIN = '''\
"""A tiny optviz plugin."""
import numpy as np
from optviz.core.optim import OptimizerSpec, Param, chain
from optviz.core.optim import transforms as T


def halfsign(lr=0.1):
    """Half-sign descent: theta <- theta - lr * sign(g) / 2."""
    return chain(T.scale_by_sign(), T.scale_by_learning_rate(lr / 2))


spec = OptimizerSpec("halfsign", "half a sign step", "the plugin test", halfsign,
                     (Param("lr", 0.1, lambda v: np.all(v > 0), "> 0"),))
'''


def test_entry_point_plugin_from_the_cli(tmp_path):
    src = tmp_path / "plug"
    (src / "optviz_halfsign").mkdir(parents=True)
    (src / "optviz_halfsign" / "__init__.py").write_text(PLUGIN)
    (src / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "optviz-halfsign"
        version = "0.1"
        [project.entry-points."optviz.optimizers"]
        halfsign = "optviz_halfsign:spec"
        [tool.setuptools]
        packages = ["optviz_halfsign"]
        """))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", dist, src], check=True)
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # optviz and its dependencies come from this environment (no network)
    parent = sysconfig.get_paths()["purelib"]  # addsitedir also runs its .pth files (editable)
    Path(site, "_parent_env.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps",
                    "--no-index", "-q", next(dist.glob("*.whl"))], check=True)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def optviz(*args):
        return subprocess.run([py, "-c", "from optviz.app.cli import main; main()", *args],
                              cwd=tmp_path, env=clean,
                              capture_output=True, text=True)

    listing = optviz("list", "optimizers")
    assert listing.returncode == 0, listing.stderr
    assert "halfsign" in listing.stdout and "[optviz_halfsign]" in listing.stdout
    (tmp_path / "c.yaml").write_text("surface: wobbly\nsteps: 2\nstart: [-2.8, -2.5]\n"
                                     "render: {formats: [png], size: [3, 2], dpi: 30}\n"
                                     "optimizers: [{type: halfsign, lr: 0.4}]\n")
    r = optviz("run", "c.yaml", "--out", "o", "-q")
    assert r.returncode == 0, r.stderr
    from optviz.core.trajectories import read_csv

    rows = read_csv(tmp_path / "o" / "trajectories.csv")["halfsign lr=0.4"]
    g0 = load_surface("wobbly").grad(np.array([[-2.8, -2.5]]))[0]
    np.testing.assert_allclose(rows[1, 1:3], [-2.8, -2.5] - 0.2 * np.sign(g0), rtol=1e-12)
    assert "half a sign step" in optviz("describe", "halfsign").stdout


def test_torch_class_with_a_schedule_and_a_swept_lr():
    pytest.importorskip("torch")
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
