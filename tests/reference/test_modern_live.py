"""The modern optimizers against their reference implementations, live.

Needs the ``reference`` extra (torch, lion-pytorch, schedulefree, prodigyopt,
pytorch_optimizer, pinned to the versions tested). Every case of
modern_cases.CASES runs on two surfaces from two starts, for a short and a
200-step run, float64; the path and the exposed inner value (schedule-free's
y, SAM's perturbed point, Lookahead's slow weights, Prodigy's d) must agree.
Sophia is compared with a transcription of the paper's Algorithm 3 there.
"""

import numpy as np
import pytest
from reference.modern_cases import (CASES, CHAOTIC, CHAOTIC_SPREAD, LONG, SHORT, STARTS, TOLERANCE,
                          TORCH_SURFACES,
                          case_id, optviz_path, reference_path, versions)




def _compare(ours, ref, exact_steps, tol=(1e-9, 1e-12)):
    n = exact_steps + 1
    np.testing.assert_allclose(ours[:n], ref[:n], rtol=tol[0], atol=tol[1])
    if n < len(ref):
        assert np.abs(ours[n:] - ref[n:]).max() < CHAOTIC_SPREAD


@pytest.mark.parametrize("steps", [SHORT, LONG])
@pytest.mark.parametrize("surface", list(TORCH_SURFACES))
@pytest.mark.parametrize("case", range(len(CASES)), ids=[case_id(i) for i in range(len(CASES))])
def test_matches_reference(case, surface, steps):
    kind, hp = CASES[case]
    exact = min(steps, CHAOTIC.get((case, surface), steps))
    for start in STARTS:
        ours, ours_extra = optviz_path(kind, hp, surface, start, steps)
        ref, ref_extra = reference_path(kind, hp, surface, start, steps)
        tol = TOLERANCE.get(kind, (1e-9, 1e-12))
        _compare(ours, ref, exact, tol)
        if ref_extra is not None:
            # extra[t] belongs to step t + 1
            _compare(ours_extra.reshape(ref_extra.shape), ref_extra, exact - 1, tol)


@pytest.mark.parametrize("case", [i for i, c in enumerate(CASES) if c[0] == "sam"])
def test_sam_with_the_references_float32_norm(case):
    """Unpatched, pytorch_optimizer's float32 gradient norm (relative error ~1e-8)
    moves the perturbation; over a short run the paths still agree to 1e-6."""
    kind, hp = CASES[case]
    for surface in TORCH_SURFACES:
        for start in STARTS:
            ours, _ = optviz_path(kind, hp, surface, start, SHORT)
            ref, _ = reference_path(kind, hp, surface, start, SHORT, sam_float64=False)
            np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)
            assert not np.array_equal(ours, ref)  # the float32 norm does show


def test_versions_are_the_pinned_ones():
    import tomllib
    from pathlib import Path

    extra = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]["reference"]
    pins = dict(line.split("==") for line in extra if "==" in line)
    for name, ver in versions().items():
        assert pins[name].split("+")[0] == ver.split("+")[0], name
