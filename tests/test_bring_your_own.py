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
from reference.schedule_cases import SURFACE

from optviz.core.engine import simulate
from optviz.core.optim import OPTIMIZERS, chain, describe_optimizer
from optviz.core.optim import transforms as T
from optviz.core.optim.registry import register_optimizer
from optviz.core.surfaces import load_surface
from optviz.errors import ConfigError
from optviz.input.config import parse_config

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


# type: torch is tested against torch itself in tests/reference/test_torch_type_live.py








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
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "optviz-halfsign"
        version = "0.1"
        [project.entry-points."optviz.optimizers"]
        halfsign = "optviz_halfsign:spec"
        [tool.hatch.build.targets.wheel]
        packages = ["optviz_halfsign"]
        """))  # hatchling: in the test extra (a fresh venv has no setuptools)
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
                                     "render: {formats: [png], size: [4, 3], dpi: 40}\n"
                                     "optimizers: [{type: halfsign, lr: 0.4}]\n")
    r = optviz("run", "c.yaml", "--out", "o", "-q")
    assert r.returncode == 0, r.stderr
    from optviz.core.trajectories import read_csv

    rows = read_csv(tmp_path / "o" / "trajectories.csv")["halfsign lr=0.4"]
    g0 = load_surface("wobbly").grad(np.array([[-2.8, -2.5]]))[0]
    np.testing.assert_allclose(rows[1, 1:3], [-2.8, -2.5] - 0.2 * np.sign(g0), rtol=1e-12)
    assert "half a sign step" in optviz("describe", "halfsign").stdout


