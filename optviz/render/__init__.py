"""Renderers: only this package knows matplotlib and imageio."""

from .frames import render_animation
from .static import render_static, save_figure

__all__ = ["render_animation", "render_static", "save_figure"]
