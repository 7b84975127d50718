"""--scheduler without a cluster: the options are there, dask is imported only when
asked for, and without dask the error says what to install. (The runs on a
cluster are tests/cluster's, with the [dask] extra.)"""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from optviz.app.cli import cli

SMALL = """\
surface: himmelblau
start: [0, 0]
steps: 20
optimizers:
  - {type: adam, lr: 0.2}
render: {formats: [png], size: [4, 3], dpi: 40}
"""


@pytest.mark.parametrize("command", ["batch", "sweep", "basins", "compare", "run"])
def test_every_parallel_command_takes_a_scheduler(command):
    res = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "--scheduler ADDRESS" in text and "OPTVIZ_SCHEDULER" in text
    assert 'pip install "optviz[dask]"' in text


def test_without_dask_a_scheduler_is_a_clean_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SMALL)
    for args, env in ((["--scheduler", "tcp://127.0.0.1:8786"], {}),
                      ([], {"OPTVIZ_SCHEDULER": "tcp://127.0.0.1:8786"})):
        res = CliRunner().invoke(cli, ["basins", str(cfg), "-r", "8", "--out",
                                       str(tmp_path / "out"), *args], env=env)
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output
        assert 'pip install "optviz[dask]"' in res.output
        assert "--scheduler (or OPTVIZ_SCHEDULER)" in res.output
        assert not (tmp_path / "out").exists()  # refused before the folder was made


def test_without_a_scheduler_dask_is_never_imported(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SMALL)
    code = ("import sys; from optviz.app.cli import cli; "
            f"cli(['basins', {str(cfg)!r}, '-r', '8', '-q', '--out', {str(tmp_path / 'o')!r}],"
            " standalone_mode=False); print('dask' in sys.modules, 'distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr
    assert (tmp_path / "o" / "basins.npz").exists()
