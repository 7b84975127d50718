"""Renderers: only this package knows matplotlib and imageio."""

from .static import render_static, save_figure

__all__ = ["render_static", "save_figure"]
