"""What a run's renderers read, in one small frozen value.

:func:`render_spec` is the one place a config becomes renderer options: the
still figure (:func:`optviz.render.static.render_static`), the contour scene
(:func:`optviz.render.contour.compose`, ``make_figure``) and the animators
(:class:`optviz.render.frames.Animator`, :class:`optviz.render.view3d.Animator3D`)
all take a :class:`RenderSpec` instead of a dozen keyword arguments.

A new render option needs: a ``Key`` in ``optviz.input.schema.RENDER``, the
``RenderConfig`` field, a ``RenderSpec`` field set in :func:`render_spec`, and
the renderer that draws it reading ``spec.<field>``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optviz.input.schema import CAMERA, RENDER


@dataclass(frozen=True)
class RenderSpec:
    """Every option a run's renderers read; defaults are the config schema's."""

    title: str | None = None
    size: tuple[float, float] = tuple(RENDER.default("size"))
    dpi: int = RENDER.default("dpi")
    loss_panel: bool = RENDER.default("loss_panel")
    view: str = RENDER.default("view")  # "2d" or "3d"
    camera: tuple[float, float, float] = tuple(CAMERA.default(k) for k in CAMERA.names)
    view_box: str = RENDER.default("view_box")
    svg_text: str = RENDER.default("svg_text")
    overlays: tuple[str, ...] = tuple(RENDER.default("overlays"))  # the kinds drawn
    fps: int = RENDER.default("fps")
    max_frames: int = RENDER.default("max_frames")
    # each optimizer's legend text (None: its label) and the run's conventions
    entries: tuple[str, ...] | None = None
    note: str = ""
    # each optimizer's lr (the overlays' gradient and first moment are drawn times
    # it) and what turns its first moment into gradient units (1, or 1 / lr for NAG's v)
    overlay_lrs: tuple[float, ...] | None = None
    moment_scale: tuple[float, ...] | None = None


def render_spec(config) -> RenderSpec:
    """The renderers' options for a run config: the one place they are read from it."""
    from optviz.render.labels import figure_note, legend_heads

    r = config.render
    lrs = tuple(float(o.params.get("lr", 1.0)) for o in config.optimizers)
    # a first moment kept in parameter units (the registry's moment_units: NAG's v) is
    # divided by the lr, to put it in gradient units like the others'
    moment_scale = tuple(1.0 / lr if _moment_units(o.type) == "parameter" else 1.0
                         for o, lr in zip(config.optimizers, lrs))
    return RenderSpec(title=config.title, size=tuple(r.size), dpi=r.dpi,
                      loss_panel=r.loss_panel, view=r.view, camera=tuple(r.camera),
                      view_box=r.view_box, svg_text=r.svg_text, overlays=tuple(r.overlays),
                      fps=r.fps, max_frames=r.max_frames, entries=_heads(legend_heads(config)),
                      note=figure_note(config), overlay_lrs=lrs, moment_scale=moment_scale)


def _heads(heads: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if heads is None else tuple(heads)


def _moment_units(kind: str) -> str:
    from optviz.core.optim.registry import get_spec

    try:
        return get_spec(kind).moment_units
    except Exception:  # torch classes and plugins: no exposed moment of their own
        return "gradient"
