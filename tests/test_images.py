"""Image regression: every figure kind against its committed reference.

A figure that changes on purpose gets new references from
``python tests/make_baseline.py`` (look at them before committing); any other
change fails here. Compared with matplotlib's ``compare_images`` at an RMS
tolerance of ``gallery.TOLERANCE`` (0-255 scale).
"""

import os
import sys
from pathlib import Path

import pytest
from matplotlib.testing.compare import compare_images

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gallery import CJK_FONT, GALLERY, TOLERANCE, save  # noqa: E402


def need_font(family: str) -> None:
    """The CJK reference is drawn in one font: CI installs it (.ci/run)."""
    from matplotlib import font_manager

    from optviz.render import fonts

    fonts.families()  # registers fonts installed after matplotlib's cache
    if family not in {e.name for e in font_manager.fontManager.ttflist}:
        message = f"{family} is not installed (apt-get install fonts-droid-fallback)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize("name", list(GALLERY))
def test_figure_matches_its_reference(name, tmp_path):
    reference = HERE / "baseline" / f"{name}.png"
    assert reference.exists(), f"no reference: run python tests/make_baseline.py {name}"
    assert reference.stat().st_size < 75_000
    if name == "cjk":
        need_font(CJK_FONT)
    actual = tmp_path / f"{name}.png"
    save(GALLERY[name](), actual)
    failure = compare_images(str(reference), str(actual), tol=TOLERANCE)
    assert failure is None, failure


def test_a_changed_figure_fails_the_comparison(tmp_path):
    """The comparison can fail: the contour reference against the 3-D one
    (copies in tmp_path: compare_images writes its diff image beside them)."""
    import shutil

    expected, actual = tmp_path / "contour.png", tmp_path / "view3d.png"
    shutil.copy(HERE / "baseline" / "contour.png", expected)
    shutil.copy(HERE / "baseline" / "view3d.png", actual)
    failure = compare_images(str(expected), str(actual), tol=TOLERANCE)
    assert failure is not None
    assert not list((HERE / "baseline").glob("*-failed-diff.png"))
