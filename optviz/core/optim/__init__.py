"""Optimizers as pure init/update pairs over (N, 2) float64 arrays (optax style)."""

from optviz.core.optim.base import Optimizer, first_moment
from optviz.core.optim.registry import (
                       CONVENTIONS,
                       OPTIMIZERS,
                       OptimizerSpec,
                       default_label,
                       describe_optimizer,
                       make_optimizer,
                       resolve_hyperparams,
)

__all__ = ["Optimizer", "first_moment", "CONVENTIONS", "OPTIMIZERS", "OptimizerSpec",
           "default_label", "describe_optimizer", "make_optimizer", "resolve_hyperparams"]
