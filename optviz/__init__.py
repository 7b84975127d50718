"""optviz: see how gradient-descent optimizers move.

The public API (heavy modules are imported on first use, so that importing
optviz, and ``optviz --help``, stay instant)::

    load_config(path_or_name) -> RunConfig
    load_surface(name_or_path_or_mapping) -> Surface
    simulate(surface, {label: optimizer}, starts, steps) -> Trajectories
    make_optimizer(type, conventions="torch", **hyperparams) -> Optimizer
    run(config, out=None, formats=None, steps=None) -> RunResult
    run_sweep(config, "lr=1e-4:1:log:60", y=None) / sweep(config, Axis, Axis)
    run_basins(config, resolution) / basins(config, resolution)
    respond(type, signal, vary=(name, values), **hyperparams)
"""

__version__ = "0.1.0"

_API = {
    "load_config": "config", "parse_config": "config", "RunConfig": "config",
    "load_surface": "surfaces", "list_surfaces": "surfaces", "Surface": "surfaces",
    "simulate": "engine", "Trajectories": "trajectories",
    "make_optimizer": "optim", "OPTIMIZERS": "optim",
    "run": "runner", "RunResult": "runner", "run_sweep": "runner", "run_basins": "runner",
    "sweep": "sweep", "parse_axis": "sweep", "basins": "basins", "respond": "response",
    "article_signals": "response",
    "OptvizError": "errors", "ConfigError": "errors", "SurfaceError": "errors",
    "RenderError": "errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'optviz' has no attribute {name!r}")
