"""Batch does no work twice: each config is parsed once, in the parent, and
the loaded config travels to the worker."""

import pickle

import numpy as np

from optviz.app import batch as batch_mod
from optviz.core.surfaces import load_surface
from optviz.input.config import load_config, parse_config

CONFIG = """\
title: batch
surface: wobbly
steps: 5
optimizers: [{type: adam, lr: 0.25}]
render: {formats: [png], size: [4, 3], dpi: 40}
"""


def test_each_config_is_loaded_once(tmp_path, monkeypatch):
    folder = tmp_path / "figs"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.yaml").write_text(CONFIG + f"output: {tmp_path / 'out' / name}\n")
    loads = []

    def counting(path, *a, **k):
        loads.append(path)
        return load_config(path, *a, **k)

    monkeypatch.setattr(batch_mod, "load_config", counting)
    monkeypatch.setattr("optviz.app.runner.load_config",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded again")))
    results = batch_mod.batch([folder], jobs=1, force=True)
    assert [r.status for r in results] == ["rendered", "rendered"], [r.errors for r in results]
    assert sorted(p.name for p in loads) == ["a.yaml", "b.yaml"]
    assert (tmp_path / "out" / "a" / "a.png").stat().st_size > 0


def test_a_compiled_surface_pickles_without_its_functions_and_recompiles():
    s = load_surface("wobbly")
    pts = np.array([[0.3, -1.2], [2.0, 1.0]])
    before = s.value_and_grad(pts)
    assert "_compiled" in s.__dict__
    back = pickle.loads(pickle.dumps(s))
    assert "_compiled" not in back.__dict__ and back.formula == s.formula
    after = back.value_and_grad(pts)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


def test_animations_are_scheduled_before_still_figures():
    still = parse_config(CONFIG, "still.yaml")
    moving = parse_config(CONFIG.replace("[png]", "[png, gif, mp4]"), "moving.yaml")
    assert batch_mod.job_cost(moving) > batch_mod.job_cost(still)
