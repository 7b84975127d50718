"""Schedules and weight decay against live torch (the recorded fixtures are checked
in the default suite, tests/test_schedules.py)."""

import warnings

import numpy as np
import pytest
from test_schedules import CASES, IDS, STARTS, ours


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_live_torch(case):
    from reference.schedule_cases import torch_path

    warnings.simplefilter("ignore")
    tr = ours(case)
    for n, start in enumerate(STARTS):
        np.testing.assert_allclose(tr.points[0, n], torch_path(case, start), rtol=1e-9,
                                   atol=1e-12)
