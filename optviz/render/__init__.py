"""Renderers: only this package knows matplotlib and imageio.

The names below are imported on first use, so that a run writing only a PNG
does not load the frame pipeline and its encoders.
"""

__all__ = ["RenderSpec", "render_animation", "render_spec", "render_static", "save_figure",
           "matplotlib_folder"]


def matplotlib_folder() -> None:
    """Give matplotlib a writable folder for its font cache before it is imported.

    matplotlib keeps the cache in ``$XDG_CONFIG_HOME`` / ``$XDG_CACHE_HOME`` (by
    default ``~/.config`` and ``~/.cache``). Where those cannot be written (a
    read-only or missing HOME) it makes a temporary folder itself and prints two
    warnings on every command. Then optviz sets ``MPLCONFIGDIR`` to a private
    temporary folder, removed when the process ends, so nothing is printed and
    nothing stays in the temporary folder; the font cache (about 1 s to build) is
    rebuilt each run unless ``MPLCONFIGDIR`` names a writable folder. A given
    ``MPLCONFIGDIR`` is left alone.
    """
    import os
    from pathlib import Path

    if os.environ.get("MPLCONFIGDIR"):
        return
    try:
        home = Path.home()
    except (RuntimeError, KeyError):
        home = None
    folders = [Path(os.environ.get(var) or home / tail) / "matplotlib"
               for var, tail in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"))
               if os.environ.get(var) or home is not None]
    if len(folders) == 2 and all(_writable(f) for f in folders):
        return
    import atexit
    import shutil
    import tempfile

    try:
        folder = tempfile.mkdtemp(prefix="optviz-matplotlib-")
    except OSError:
        return  # matplotlib will say what it needs
    os.environ["MPLCONFIGDIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def _writable(folder) -> bool:
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def __getattr__(name: str):
    if name == "render_animation":
        from optviz.render.frames import render_animation

        return render_animation
    if name in ("render_static", "save_figure"):
        from optviz.render import static

        return getattr(static, name)
    if name in ("RenderSpec", "render_spec"):
        from optviz.render import spec

        return getattr(spec, name)
    raise AttributeError(f"module 'optviz.render' has no attribute {name!r}")
