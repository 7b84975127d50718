"""Gradient-response figures: an optimizer's steps for a 1-D gradient signal.

No surface: the signal g_1..g_T is fed straight into the update rule of one
coordinate, and the steps −Δθ_t are recorded, for several values of one
hyperparameter at once (each value is a row of one batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optviz.errors import ConfigError, did_you_mean

SIGNAL_LENGTH = 300
SIGNAL_SEED = 413
SIGNALS = ("spikes", "rectangles", "noisy-sin", "very-noisy-sin", "uneven-sawtooth",
           "saturation")
NOT_FOR_RESPONSE = ("newton", "nag")  # they need a surface (Hessian, look-ahead gradients)


def article_signals(length: int = SIGNAL_LENGTH) -> dict[str, np.ndarray]:
    """The seed article's six signals, t = 0 .. length-1.

    The noise comes from NumPy's legacy generator seeded with 413, one
    ``random()`` per sample, in the order the signals are listed (so the
    article's noisy signals are reproduced exactly).
    """
    rng = np.random.RandomState(SIGNAL_SEED)  # the stream of np.random.seed(413)
    t = np.arange(length)
    out = {"spikes": (t % 60 == 0).astype(float),
           "rectangles": np.where(t % 40 < 20, 1.0, -1.0)}
    out["noisy-sin"] = np.array([np.sin(i / 20) + rng.random_sample() - 0.5 for i in t])
    out["very-noisy-sin"] = np.array([np.sin(i / 20) / 5 + rng.random_sample() - 0.5
                                      for i in t])
    out["uneven-sawtooth"] = (t % 20) / (15 * (t > 80) + 5)
    out["saturation"] = (t % 80 < 40).astype(float)
    return out


def load_signal(path: str | Path) -> np.ndarray:
    """A custom signal: a CSV file with one number per line (a header line is allowed)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split()
    except OSError as e:
        raise ConfigError(f"cannot read the signal file: {e.strerror or e}",
                          file=str(path)) from None
    values = []
    for i, line in enumerate(lines, 1):
        cell = line.split(",")[-1]
        try:
            values.append(float(cell))
        except ValueError:
            if i == 1:
                continue  # a header
            raise ConfigError(f"not a number: {cell!r}", file=str(path), line=i) from None
    if len(values) < 2 or not np.all(np.isfinite(values)):
        raise ConfigError("a signal needs at least two finite numbers", file=str(path))
    return np.array(values)


@dataclass
class Response:
    signal_name: str
    signal: np.ndarray  # (T,)
    labels: list[str]
    steps: np.ndarray  # (H, T): −Δθ_t for each hyperparameter value


def respond(kind: str, signal: np.ndarray, *, conventions: str = "torch",
            vary: tuple[str, Sequence[float]] | None = None, **hyperparams) -> np.ndarray:
    """−Δθ_t (shape (H, T)) for the signal fed to *kind*'s update rule.

    With ``vary=(name, values)`` each value gets its own row, all in one batch.
    """
    from optviz.core.optim import make_optimizer

    if kind in NOT_FOR_RESPONSE:
        raise ConfigError(f"{kind} needs a surface (it is not a rule of the gradient alone)",
                          key="optimizer")
    rows = 1
    if vary is not None:
        name, values = vary
        rows = len(values)
        hyperparams = {**hyperparams, name: np.asarray(values, dtype=float)[:, None]}
    opt = make_optimizer(kind, conventions, **hyperparams)
    params = np.zeros((rows, 1))
    state = opt.init(params)
    out = np.empty((rows, len(signal)))
    for t, g in enumerate(signal):
        step, state = opt.update(np.full((rows, 1), g), state, params, None)
        params = params + step
        out[:, t] = -step[:, 0]
    return out


def choose_signals(names: Sequence[str] | None, base: Path | None) -> dict[str, np.ndarray]:
    builtin = article_signals()
    if not names:
        return builtin
    out = {}
    for name in names:
        if name in builtin:
            out[name] = builtin[name]
        elif str(name).endswith(".csv"):
            path = Path(name) if base is None or Path(name).is_absolute() else base / name
            out[Path(name).stem] = load_signal(path)
        else:
            raise ConfigError(f"unknown signal {name!r}", key="signals",
                              hint=did_you_mean(str(name), SIGNALS)
                              or "signals: " + ", ".join(SIGNALS) + ", or a .csv file")
    return out
