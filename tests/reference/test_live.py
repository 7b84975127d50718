"""optviz against the live references, and the fixtures against them too.

Opt-in: ``pip install -e ".[reference]" && python -m pytest tests/reference``
(not in the default testpaths; .ci/run runs it). Every point of every path is
compared, where the fixtures keep a subset (cases.recorded_steps).
"""

import json
from functools import cache

import numpy as np
import pytest

from optviz.core.engine import simulate
from optviz.core.optim import OPTIMIZERS, make_optimizer
from optviz.core.surfaces import load_surface
from reference.cases import CASES, SURFACES, TORCH_DEFAULTS, fixture_path
from reference.live import reference_paths, torch_defaults


@cache
def live(name):
    return reference_paths(CASES[name])


@cache
def fixture(family):
    return json.loads(fixture_path(family).read_text())


@pytest.mark.parametrize("name", CASES)
def test_optviz_matches_live_reference(name):
    case = CASES[name]
    ref = live(name)
    assert ref.shape == (len(case.starts), case.steps + 1, 2) and np.isfinite(ref).all()
    tr = simulate(load_surface(SURFACES[case.surface]),
                  {"o": make_optimizer(case.kind, case.conventions, **case.hp)},
                  np.array(case.starts), case.steps)
    assert (tr.steps[0] == case.steps).all() and not tr.diverged.any()
    np.testing.assert_allclose(tr.points[0], ref, rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("name", CASES)
def test_fixture_equals_live_reference(name):
    case = CASES[name]
    doc = fixture(case.family)
    entry = doc["cases"][name]
    assert {k: v for k, v in entry.items() if k != "paths"} == json.loads(json.dumps(case.meta()))
    np.testing.assert_allclose(
        np.array(entry["paths"]), live(name)[:, case.recorded_steps()], rtol=case.rtol,
        atol=case.atol, err_msg=f"recorded with {doc['versions']}: re-record with "
                                f"`python tests/reference/record.py {case.family}`")


def test_torch_defaults_are_ours_and_recorded():
    theirs = torch_defaults()
    assert fixture("torch")["defaults"] == theirs
    for kind in TORCH_DEFAULTS:
        ours, t = OPTIMIZERS[kind].defaults("torch"), theirs[kind]
        assert (ours["lr"], ours["eps"]) == (t["lr"], t["eps"]), kind
        if "betas" in t:
            assert [ours["beta1"], ours["beta2"]] == t["betas"], kind
        assert ours.get("rho") == t.get("alpha", t.get("rho", ours.get("rho"))), kind
