"""Record torch's trajectories and learning rates for tests/reference/schedule_cases.py.

    python tests/reference/record_schedules.py      # needs torch (the test extra)

writes tests/fixtures/reference_schedules.json, which tests/test_schedules.py
compares optviz against without torch installed.
"""

import json
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from schedule_cases import CASES, STARTS, STEPS, torch_lrs, torch_path  # noqa: E402

OUT = HERE.parent / "fixtures" / "reference_schedules.json"


def main() -> None:
    import torch

    warnings.simplefilter("ignore")  # torch's scheduler deprecation notes
    cases = {}
    for case in CASES:
        entry = {"points": [torch_path(case, s).tolist() for s in STARTS]}
        if case[5] is not None:
            entry["lrs"] = torch_lrs(case)
        cases[case[0]] = entry
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"torch": torch.__version__, "steps": STEPS, "starts": STARTS,
                               "cases": cases}, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
