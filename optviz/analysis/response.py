"""Gradient-response figures: an optimizer's steps for a 1-D gradient signal.

No surface: the signal g_1..g_T is fed straight into the update rule of one
coordinate, and the steps −Δθ_t are recorded, for several values of one
hyperparameter at once (each value is a row of one batch).

``conventions: script`` selects the seed article's own response script where
its formulas are its own (see :data:`SCRIPT_RULES`): Nesterov momentum that
looks ahead *in time* (the signal read at a fractional index), its smoothed
four-point form, and the script's Adam (eps inside the square root of the
bias-corrected second moment). The other families of that script are
Lasagne's formulas and use ``conventions: lasagne``.
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
READS = ("article", "linear")  # how a signal is read at a fractional time


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
    """A custom signal: a CSV file with one number per line (a header line is allowed;
    with several columns, the last one is the signal).

    Read by :func:`optviz.input.table.read_table`: only a regular file of at
    most 1 MB is read (a FIFO or /dev/zero is refused unread); it may hold at
    most 20,000 numbers, each within +-1e6.
    """
    from optviz.input.table import read_table

    values, _ = read_table(path, what="signal file", key="signals", noun="the signal",
                           hint="a response figure shows a few hundred steps")
    if len(values) < 2:
        raise ConfigError("a signal needs at least two finite numbers", file=str(path),
                          key="signals")
    return values[:, -1].copy()


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
    from optviz.core.optim import make_optimizer, needs_oracle

    if conventions == "script":
        return respond_script(kind, signal, vary=vary, **hyperparams)
    if needs_oracle(kind):  # the registry: Newton's Hessian, NAG's look-ahead gradients
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


# ------------------------------------------------------------ the article's script
def read_article(signal: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The signal at fractional indices, read as the seed article's script reads it.

    This is the script's published behaviour, kept because the article's
    figures were made with it; it is *not* a linear interpolation. With
    f = floor(s), c = ceil(s) and n = len(signal):

    - s >= n: 0 (the script looks past the end as 0);
    - s whole, or c >= n: signal[f];
    - f < 0: signal[c];
    - otherwise: signal[f] + (s − f)·signal[c] (signal[f] is not weighted by 1 − (s − f)).

    Indices below 0 are Python's: signal[−1] is the last sample, as in the
    script. Where the script would fail (an index below −n) we read 0.
    """
    n = len(signal)
    s = np.asarray(index, dtype=np.float64)
    lo, hi = np.floor(s).astype(np.int64), np.ceil(s).astype(np.int64)

    def at(i):
        ok = (i >= -n) & (i < n)
        return np.where(ok, signal[np.where(ok, i, 0)], 0.0)

    frac = at(lo) + (s - lo) * at(hi)
    out = np.where((lo == hi) | (hi >= n), at(lo), np.where(lo < 0, at(hi), frac))
    return np.where(s < n, out, 0.0)


def read_linear(signal: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The signal at fractional indices by true linear interpolation, 0 outside [0, n − 1]."""
    n = len(signal)
    s = np.asarray(index, dtype=np.float64)
    inside = (s >= 0) & (s <= n - 1)
    return np.where(inside, np.interp(s, np.arange(n), signal), 0.0)


#: Fractions of γv at which the look-ahead reads the signal, equally weighted.
LOOKAHEAD_POINTS = {"single": (1.0,), "mean4": (0.25, 0.5, 0.75, 1.0)}


def nesterov_in_time(signal, lr, momentum, lookahead="single", read="article"):
    """Nesterov momentum on a 1-D signal, looking ahead in time (the article's script).

    v ← γv + lr·G(i + γv) with lookahead=single (the article's GRAD_Nesterov), or
    v ← γv + lr·(G(i + γv/4) + G(i + γv/2) + G(i + 3γv/4) + G(i + γv))/4 with
    lookahead=mean4 (GRAD_Smoothed_Nesterov); the step is v. G reads the signal
    at a fractional index: read=article is the script's rule (:func:`read_article`),
    read=linear a true linear interpolation. Rows of lr/momentum are runs.
    """
    reader = {"article": read_article, "linear": read_linear}[read]
    fractions = LOOKAHEAD_POINTS[lookahead]
    lr, gamma = _rows(lr, momentum)
    rows = len(lr)
    v = np.zeros(rows)
    out = np.empty((rows, len(signal)))
    for i in range(len(signal)):
        ahead = gamma * v
        look = sum(reader(signal, i + f * ahead) for f in fractions) / len(fractions)
        v = ahead + lr * look
        out[:, i] = v
    return out


def adam_script(signal, lr, beta1, beta2=0.999, eps=1e-7):
    """Adam as the article's script computes it: m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ),
    Δθ = lr/sqrt(v̂ + eps)·m̂, eps *inside* the square root (neither torch's nor
    Lasagne's placement). Rows of the hyperparameters are runs."""
    lr, b1, b2, eps = _rows(lr, beta1, beta2, eps)
    rows = len(lr)
    m = np.zeros(rows)
    v = np.zeros(rows)
    out = np.empty((rows, len(signal)))
    for t, g in enumerate(signal, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out[:, t - 1] = lr / np.sqrt(v / (1 - b2 ** t) + eps) * (m / (1 - b1 ** t))
    return out


def _rows(*values) -> list[np.ndarray]:
    """Scalars and (H,) / (H, 1) arrays as (H,) arrays of one length (H runs)."""
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]
    rows = max(len(a) for a in arrays)
    return [np.broadcast_to(a, (rows,)) for a in arrays]


#: The script's own rules, by optimizer type; their hyperparameters (defaults, ranges,
#: choices) are the registry entry's ``script_params``.
SCRIPT_RULES = {"nag": nesterov_in_time, "adam": adam_script}


def resolve_script_params(kind: str, given: dict) -> dict:
    """Every parameter of a script rule, defaults filled in, checked (ConfigError names the key)."""
    from optviz.core.optim.registry import OPTIMIZERS

    if kind not in SCRIPT_RULES:
        raise ConfigError(f"the article's script has no rule of its own for {kind!r}",
                          key="optimizer",
                          hint="script rules: " + ", ".join(SCRIPT_RULES)
                          + "; the script's other families are Lasagne's: use "
                            "conventions: lasagne")
    spec = {p.name: p for p in OPTIMIZERS[kind].script_params}
    out = {name: p.default for name, p in spec.items()}
    for key, value in given.items():
        if key not in spec:
            raise ConfigError(f"{kind} (script) has no parameter '{key}'", key=key,
                              hint=did_you_mean(key, spec) or "it takes: " + ", ".join(spec))
        p = spec[key]
        if p.choices:
            if value not in p.choices:
                raise ConfigError(f"{key} must be one of {', '.join(p.choices)}, got {value!r}",
                                  key=key, hint=did_you_mean(str(value), p.choices))
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not np.isfinite(value) or not p.check(value):
                raise ConfigError(f"{key} must be a number {p.expect}, got {value!r}", key=key)
            value = float(value)
        out[key] = value
    return out


def respond_script(kind: str, signal: np.ndarray, *, vary=None, **hyperparams) -> np.ndarray:
    """The article script's rule for *kind* (``conventions: script``), shape (H, T)."""
    params = resolve_script_params(kind, hyperparams)
    if vary is not None:
        name, values = vary
        params[name] = np.asarray(values, dtype=np.float64)
    return SCRIPT_RULES[kind](np.asarray(signal, dtype=np.float64), **params)
