"""Re-record the reference fixtures: ``python tests/reference/record.py [FAMILY ...]``.

Runs every case of tests/reference/cases.py (or those of the named families)
on its live reference and writes tests/fixtures/reference_<family>.json with
the versions used. Needs the [reference] extra (``pip install -e ".[reference]"``).
Floats are written by ``repr`` (Python's json), so they read back exactly; a
path keeps the points at the case's ``recorded_steps()`` (see cases.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for `reference`

from reference.cases import CASES, FAMILIES, fixture_path  # noqa: E402
from reference.live import REFERENCES, reference_paths, torch_defaults, versions  # noqa: E402


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def fixture_text(family: str) -> str:
    """The fixture of *family*: indented header, one line per case and per recorded path."""
    v = versions(family)
    head = {"family": family, "reference": REFERENCES[family].format(**v), "versions": v,
            "recorded_by": "python tests/reference/record.py"}
    if family == "torch":
        head["defaults"] = torch_defaults()
    entries = []
    for case in CASES.values():
        if case.family != family:
            continue
        recorded = reference_paths(case)
        assert recorded.shape == (len(case.starts), case.steps + 1, 2), case.name
        paths = ",\n   ".join(_compact(path.tolist())
                              for path in recorded[:, case.recorded_steps()])
        entries.append(f"  {_compact(case.name)}: {_compact(case.meta())[:-1]},"
                       f"\n   \"paths\": [\n   {paths}]}}")
    text = json.dumps(head, indent=1, allow_nan=False)[:-2]
    return text + ',\n "cases": {\n' + ",\n".join(entries) + "\n }\n}\n"


def main(argv: list[str]) -> int:
    families = argv or FAMILIES
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        print(f"unknown families {unknown}; known: {FAMILIES}", file=sys.stderr)
        return 2
    for family in families:
        path = fixture_path(family)
        path.parent.mkdir(exist_ok=True)
        text = fixture_text(family)
        json.loads(text)  # strict JSON, or fail before writing
        path.write_text(text)
        n = sum(c.family == family for c in CASES.values())
        print(f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: "
              f"{n} cases, {len(text) / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
