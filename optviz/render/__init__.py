"""Renderers: only this package knows matplotlib and imageio."""

from optviz.render.frames import render_animation
from optviz.render.static import render_static, save_figure

__all__ = ["render_animation", "render_static", "save_figure"]
