"""Core: surfaces with exact derivatives, the optimizers, the lockstep engine and
the trajectories it returns. No file formats, no matplotlib."""
