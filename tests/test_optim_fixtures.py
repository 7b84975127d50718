"""optviz's trajectories against the recorded reference trajectories (no torch needed).

The cases are tests/reference/cases.py; the fixtures were recorded from the
live references (torch.optim, the AdaBound authors' package, a transcription
of Lasagne's update rules) by ``python tests/reference/record.py``, which names
the versions used inside each file. The live comparison is
``python -m pytest tests/reference`` with the [reference] extra installed.
"""

import json
from functools import cache

import numpy as np
import pytest
from reference.cases import CASES, FAMILIES, SURFACES, TORCH_DEFAULTS, fixture_path

from optviz.core.engine import simulate
from optviz.core.optim import OPTIMIZERS, make_optimizer
from optviz.core.surfaces import load_surface

RERECORD = "the case table changed: re-record with `python tests/reference/record.py`"


@cache
def fixture(family):
    return json.loads(fixture_path(family).read_text())


@cache
def surface(key):
    return load_surface(SURFACES[key])


def test_fixtures_hold_exactly_the_table_cases():
    for family in FAMILIES:
        doc = fixture(family)
        assert doc["family"] == family
        assert doc["versions"]["torch"] and doc["recorded_by"] == "python tests/reference/record.py"
        recorded = set(doc["cases"])
        table = {name for name, case in CASES.items() if case.family == family}
        assert recorded == table, f"{family}: {sorted(recorded ^ table)}: {RERECORD}"


@pytest.mark.parametrize("name", CASES)
def test_matches_recorded_reference(name):
    case = CASES[name]
    entry = dict(fixture(case.family)["cases"][name])
    paths = np.array(entry.pop("paths"), dtype=np.float64)
    assert entry == json.loads(json.dumps(case.meta())), RERECORD
    at = case.recorded_steps()
    assert paths.shape == (len(case.starts), len(at), 2)
    tr = simulate(surface(case.surface), {"o": make_optimizer(case.kind, case.conventions,
                                                              **case.hp)},
                  np.array(case.starts), case.steps)
    assert (tr.steps[0] == case.steps).all() and not tr.diverged.any()
    np.testing.assert_allclose(tr.points[0][:, at], paths, rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("kind", TORCH_DEFAULTS)
def test_defaults_are_torchs(kind):
    theirs = fixture("torch")["defaults"][kind]
    ours = OPTIMIZERS[kind].defaults("torch")
    assert (ours["lr"], ours["eps"]) == (theirs["lr"], theirs["eps"])
    if "betas" in theirs:
        assert [ours["beta1"], ours["beta2"]] == theirs["betas"]
    for key in ("alpha", "rho"):  # torch's RMSprop calls optviz's rho alpha
        if key in theirs:
            assert ours["rho"] == theirs[key]
