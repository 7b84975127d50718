"""optviz: see how gradient-descent optimizers move.

The public API (heavy modules are imported on first use, so that importing
optviz, and ``optviz --help``, stay instant)::

    load_config(path_or_name) -> RunConfig
    load_surface(name_or_path_or_mapping) -> Surface
    simulate(surface, {label: optimizer}, starts, steps) -> Trajectories
    make_optimizer(type, conventions="torch", **hyperparams) -> Optimizer
    register_optimizer(name, factory, ...) -> OptimizerSpec   (bring your own)
    run(config, out=None, formats=None, steps=None) -> RunResult
    run_sweep(config, "lr=1e-4:1:log:60", y=None) / sweep(config, Axis, Axis)
    run_basins(config, resolution) / basins(config, resolution)
    run_web(config, out=None) -> RunResult (result.page: the WebPage)
    run_compare(config, out=None) -> CompareResult
    plan(config, command="run") -> Plan   every file a command writes
    respond(type, signal, vary=(name, values), **hyperparams)
"""

__version__ = "0.1.0"

_API = {
    "load_config": "input.config", "parse_config": "input.config", "RunConfig": "input.config",
    "load_surface": "core.surfaces", "list_surfaces": "core.surfaces", "Surface": "core.surfaces",
    "simulate": "core.engine", "Trajectories": "core.trajectories",
    "make_optimizer": "core.optim", "OPTIMIZERS": "core.optim",
    "register_optimizer": "core.optim",
    "run": "app.runner", "RunResult": "app.runner", "run_sweep": "app.runner",
    "run_basins": "app.runner", "run_web": "app.runner", "run_response": "app.runner",
    "Result": "app.runner", "run_compare": "app.compare", "CompareResult": "app.compare",
    "plan": "app.plan", "Plan": "app.plan",
    "sweep": "analysis.sweep", "parse_axis": "analysis.sweep", "basins": "analysis.basins",
    "respond": "analysis.response",
    "article_signals": "analysis.response",
    "OptvizError": "errors", "ConfigError": "errors", "SurfaceError": "errors",
    "RenderError": "errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'optviz' has no attribute {name!r}")
