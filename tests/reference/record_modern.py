"""Record the modern optimizers' reference trajectories for the default suite.

Run:  python tests/reference/record_modern.py   (needs the [reference] extra)

Writes tests/fixtures/reference_modern.json: for every case of
modern_cases.CASES, surface and start, the reference's 200-step path (float64,
repr-exact decimals) and its exposed inner value, plus the package versions
used. tests/test_optim_modern.py compares optviz with it without torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the `reference` package

from reference.modern_cases import (BOWL, CASES, CHAOTIC, CHAOTIC_SPREAD, EXTRA,  # noqa: E402
                                    LONG, STARTS, TOLERANCE, TORCH_SURFACES, reference_path,
                                    versions)

OUT = HERE.parent / "fixtures" / "reference_modern.json"


def main() -> None:
    runs = []
    for i, (kind, hp) in enumerate(CASES):
        for surface in TORCH_SURFACES:
            for start in STARTS:
                points, extra = reference_path(kind, hp, surface, start, LONG)
                runs.append({
                    "case": i, "type": kind, "hyperparams": hp, "surface": surface,
                    "start": list(start), "steps": LONG,
                    "exact_steps": CHAOTIC.get((i, surface), LONG),
                    "tolerance": list(TOLERANCE.get(kind, (1e-9, 1e-12))),
                    "points": points.tolist(),
                    "extra_field": EXTRA.get(kind),
                    "extra": None if extra is None else extra.tolist(),
                })
    doc = {"about": __doc__.strip().splitlines()[0], "versions": versions(),
           "sophia_reference": "transcription of Algorithm 3, arXiv:2305.14342 "
                               "(modern_cases.sophia_paper), torch autograd Hessian",
           "surfaces": {"wobbly": "wobbly", "bowl": BOWL}, "chaotic_spread": CHAOTIC_SPREAD,
           "runs": runs}
    OUT.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({len(runs)} runs, {OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
