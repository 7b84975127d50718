"""A plain `pip install .` into a fresh environment finds surfaces and configs by name."""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_surfaces_and_configs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", dist, ROOT], check=True)
    wheel = next(dist.glob("optviz-*.whl"))
    env_dir = tmp_path / "env"
    # dependencies come from this environment (no network); optviz only from the wheel
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps",
                    "--no-index", "-q", wheel], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def optviz(*args):
        return subprocess.run([env_dir / "bin" / "optviz", *args], cwd=elsewhere, env=clean,
                              capture_output=True, text=True)

    where = subprocess.run([py, "-c", "import optviz; print(optviz.__file__)"], cwd=elsewhere,
                           env=clean, capture_output=True, text=True).stdout
    assert str(env_dir) in where, where
    listing = optviz("list", "surfaces")
    assert listing.returncode == 0 and "wobbly" in listing.stdout, listing.stderr
    assert "article/wobbly" in optviz("list", "configs").stdout
    r = optviz("run", "article/two-minimums", "--steps", "3", "--formats", "png", "-q")
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "output" / "two-minimums" / "two-minimums.png").exists()
