"""A wheel installed into a fresh environment finds its surfaces and configs by name.

The environment borrows nothing from the base interpreter (no system site
packages) and needs no network: optviz comes from the wheel (``--no-deps``),
and its dependencies from the environment running this test, made visible by
a plain path line in a ``.pth`` file. A plain line only extends ``sys.path``;
the ``.pth`` files *in* that directory are not processed, so this
environment's editable optviz cannot leak in (asserted below).
"""

import importlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
# what optviz imports (pyproject's dependencies, by import name)
DEPENDENCIES = ["numpy", "matplotlib", "click", "yaml", "sympy", "imageio", "imageio_ffmpeg",
                "PIL"]


def dependency_dirs():
    """The directories the dependencies are imported from in this environment."""
    return sorted({Path(importlib.import_module(name).__file__).resolve().parent.parent
                   for name in DEPENDENCIES})


def test_wheel_ships_surfaces_and_configs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", dist, ROOT], check=True)
    wheel = next(dist.glob("optviz-*.whl"))
    env_dir = tmp_path / "env"
    venv.create(env_dir, system_site_packages=False, with_pip=False)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps",
                    "--no-index", "-q", wheel], check=True)
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE")}
    clean["PYTHONNOUSERSITE"] = "1"

    def python(code, cwd):
        return subprocess.run([py, "-c", code], cwd=cwd, env=clean, capture_output=True,
                              text=True)

    site = Path(python("import sysconfig; print(sysconfig.get_paths()['purelib'])",
                       tmp_path).stdout.strip())
    assert site.is_relative_to(env_dir), site
    (site / "_optviz_test_dependencies.pth").write_text("".join(
        f"{d}\n" for d in dependency_dirs()))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = python("import json, sys, optviz, matplotlib\n"
                   "print(json.dumps([optviz.__file__, matplotlib.__file__, sys.prefix, sys.path]))",
                   elsewhere)
    assert where.returncode == 0, where.stderr
    optviz_file, mpl_file, prefix, path = json.loads(where.stdout)
    assert Path(prefix) == env_dir
    assert Path(optviz_file).is_relative_to(site), optviz_file  # the wheel, not this checkout
    assert str(ROOT) not in path, path  # this checkout's editable install did not leak in
    assert any(Path(mpl_file).is_relative_to(d) for d in dependency_dirs()), mpl_file

    def optviz(*args):
        return subprocess.run([env_dir / "bin" / "optviz", *args], cwd=elsewhere, env=clean,
                              capture_output=True, text=True)

    listing = optviz("list", "surfaces")
    assert listing.returncode == 0 and "wobbly" in listing.stdout, listing.stderr
    assert "article/wobbly" in optviz("list", "configs").stdout
    r = optviz("run", "article/two-minimums", "--steps", "3", "--formats", "png", "-q")
    assert r.returncode == 0, r.stderr
    png = elsewhere / "output" / "two-minimums" / "two-minimums.png"
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 100 and im.height > 100
