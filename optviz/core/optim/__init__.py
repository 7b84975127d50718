"""Optimizers as pure init/update pairs over (N, D) float64 arrays (optax style).

transforms.py holds the small transforms, aliases.py the named optimizers
composed from them, schedules.py torch's learning-rate schedules and
registry.py every fact about each optimizer.
"""

from optviz.core.optim.base import (
    Optimizer,
    chain,
    effective_step,
    find_field,
    first_moment,
)
from optviz.core.optim.registry import (
    CONVENTIONS,
    OPTIMIZERS,
    BasicForm,
    OptimizerSpec,
    Param,
    counters_of,
    default_label,
    describe_optimizer,
    get_spec,
    load_plugins,
    lr_over_steps,
    main_param,
    make_optimizer,
    needs_oracle,
    register_optimizer,
    resolve_hyperparams,
)

__all__ = ["Optimizer", "chain", "effective_step", "find_field", "first_moment", "CONVENTIONS",
           "OPTIMIZERS", "BasicForm", "OptimizerSpec", "Param", "counters_of", "default_label",
           "describe_optimizer", "get_spec", "load_plugins", "lr_over_steps", "main_param", "make_optimizer",
           "needs_oracle", "register_optimizer", "resolve_hyperparams"]
