"""Renderers: only this package knows matplotlib and imageio.

The names below are imported on first use, so that a run writing only a PNG
does not load the frame pipeline and its encoders.
"""

__all__ = ["render_animation", "render_static", "save_figure"]


def __getattr__(name: str):
    if name == "render_animation":
        from optviz.render.frames import render_animation

        return render_animation
    if name in ("render_static", "save_figure"):
        from optviz.render import static

        return getattr(static, name)
    raise AttributeError(f"module 'optviz.render' has no attribute {name!r}")
