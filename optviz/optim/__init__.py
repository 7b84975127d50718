"""Optimizers as pure init/update pairs over (N, 2) float64 arrays (optax style)."""

from .base import Optimizer, first_moment
from .registry import (CONVENTIONS, OPTIMIZERS, OptimizerSpec, default_label,
                       describe_optimizer, make_optimizer, resolve_hyperparams)

__all__ = ["Optimizer", "first_moment", "CONVENTIONS", "OPTIMIZERS", "OptimizerSpec",
           "default_label", "describe_optimizer", "make_optimizer", "resolve_hyperparams"]
