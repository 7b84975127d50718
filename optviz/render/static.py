"""Static figures (PNG, SVG, PDF), each written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from optviz.errors import RenderError
from optviz.outputs import atomic_path
from optviz.render.contour import make_figure
from optviz.render.spec import RenderSpec
from optviz.input.config import SVG_TEXT
from optviz.render.fonts import check_text, styled, text_style

#: zlib level for PNG (lossless: the pixels are the same at any level). 3
#: instead of the default 6: measured on the article figure (1200 x 800), about
#: a third less encoding time and a 3% smaller file.
PNG_COMPRESS_LEVEL = 3
#: savefig / imsave keywords for every PNG we write (no software stamp: the
#: bytes depend only on the pixels)
PNG_OPTIONS = {"metadata": {"Software": None},
               "pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}}


def save_figure(fig, stem_path: Path, formats: Sequence[str], *,
                svg_text: str = "text") -> list[Path]:
    """Write *fig* as ``stem_path.<fmt>`` for each format; nothing partial on failure.
    PDFs embed TrueType fonts; SVGs keep text as text naming its fonts (*svg_text*
    "paths": outlines, for a reader without the fonts); see :mod:`optviz.render.fonts`."""
    if svg_text not in SVG_TEXT:
        raise ValueError(f"svg_text must be one of {SVG_TEXT}, got {svg_text!r}")
    check_text(fig)
    written = []
    for fmt in formats:
        target = stem_path.with_name(f"{stem_path.name}.{fmt}")
        try:
            with atomic_path(target) as tmp, text_style(svg_text):
                fig.savefig(tmp, format=fmt, dpi=fig.dpi, facecolor="white",
                            **(PNG_OPTIONS if fmt == "png" else {}))
        except OSError as e:
            raise RenderError(f"cannot write {target}: {e.strerror or e}") from None
        written.append(target)
    return written


def save_pixels(rgba, target: Path, dpi: float) -> Path:
    """Write an RGBA canvas buffer as PNG: the bytes ``save_figure`` writes for
    a figure with those pixels (matplotlib's own PNG call, metadata and dpi)."""
    from matplotlib.image import imsave

    try:
        with atomic_path(target) as tmp:
            imsave(tmp, rgba, format="png", dpi=dpi, **PNG_OPTIONS)
    except OSError as e:
        raise RenderError(f"cannot write {target}: {e.strerror or e}") from None
    return target


@styled
def render_static(surface, traj, out_dir, stem: str, formats: Sequence[str] = ("png",),
                  spec: RenderSpec = RenderSpec()) -> list[Path]:
    """Draw the figure with every path (contours, or the 3-D view, as *spec* says) and
    write it in each static format. ``spec.entries``: each optimizer's legend text
    (its label and settings, :func:`optviz.render.labels.legend_heads`); ``spec.note``:
    the run's conventions (:func:`optviz.render.labels.figure_note`)."""
    if spec.view == "3d":
        from optviz.render.view3d import Animator3D

        elev, azim = spec.camera[:2]  # a still: the camera does not turn
        anim = Animator3D(surface, traj, replace(spec, camera=(elev, azim, 0.0)))
        fig = anim.still(traj.shape[2])
    else:
        fig, _ = make_figure(surface, traj, spec)
    return save_figure(fig, Path(out_dir) / stem, formats, svg_text=spec.svg_text)
