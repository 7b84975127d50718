"""Regression tests for what the property-based tests (tests/test_properties.py)
found: each is the smallest config hypothesis reduced a failure to, named for
the bug, and failed before its fix."""

from __future__ import annotations

import json

import pytest

import optviz
from optviz.errors import ConfigError


def write(tmp_path, text: str, name: str = "found"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("wrapper", ["sam", "lookahead"])
def test_html_format_of_a_wrapper_shows_its_run(tmp_path, wrapper):
    """format html (the run's own values) of a sam or lookahead optimizer failed with
    "the web page's grid varies each optimizer's lr; sam has none of its own": a page
    of the run's own values varies nothing."""
    path = write(tmp_path, f"surface: wobbly\nsteps: 5\noptimizers: [{{type: {wrapper}}}]\n"
                           "render: {formats: [html]}\n")
    result = optviz.run(path, out=tmp_path / "out")
    page = (tmp_path / "out" / "found.html").read_text(encoding="utf-8")
    assert f'"label":"{wrapper}"' in page
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert [f["name"] for f in record["files"]] == ["trajectories.csv", "found.html"]
    assert result.labels == [wrapper]
