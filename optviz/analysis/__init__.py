"""Analysis: many runs as one batch -- hyperparameter sweeps, basin maps,
gradient responses, automatic learning rates."""
