"""What a figure says in words: optimizer settings, numbers, the run's conventions.

One number format everywhere on a figure (:func:`number`), and labels that let a
reader recreate the run from the figure alone: the optimizer, its lr always,
and every other hyperparameter that shapes its path (:func:`settings`). The
registry's ``default_label`` can call :func:`optimizer_label` to get the same text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np

def number(value: Any, digits: int = 4, *, exact: bool = False) -> str:
    """*value* in the figures' one format: *digits* significant digits,
    trailing zeros dropped, exponents unpadded: 4, 0.1231, 1.292e-5, 1e-8.
    *exact* (settings): more digits where *digits* would print another value."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"  # as a config writes it
    if not isinstance(value, (int, float, np.number)):
        return str(value)
    v = float(value)
    if not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    for d in ((digits, 6, 17) if exact else (digits,)):
        text = f"{v:.{d}g}"
        if float(text) == v:
            break
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}e{int(exp)}"
    return text


def settings(kind: str, params: Mapping[str, Any], conventions: str = "torch", *,
             auto_lr: bool = False) -> str:
    """``lr=0.25 beta1=0.9 beta2=0.999``: lr first and always, then every
    hyperparameter that matters: the registry's quiet ones (numerical guards, switches)
    and those that default to 0 or off only when changed."""
    from optviz.core.optim.registry import get_spec

    specs = get_spec(kind).param_specs(conventions)
    defaults = {p.name: p.default for p in specs}
    quiet = {p.name for p in specs if p.quiet}
    parts = []
    lr = params.get("lr", defaults.get("lr"))
    if lr is not None:
        parts.append(f"lr={number(lr, exact=True)}" + (" (auto)" if auto_lr else ""))
    for key, value in params.items():
        if key == "lr" or isinstance(value, np.ndarray):
            continue
        if isinstance(value, Mapping) and "type" in value:  # a wrapper's base optimizer
            base = {k: v for k, v in value.items() if k != "type"}
            parts.append(f"{key}=({optimizer_label(value['type'], base, conventions)})")
            continue
        if callable(getattr(value, "label", None)):  # a schedule: cosine(T_max=100)
            parts.append(f"{key}={value.label()}")
            continue
        default = defaults.get(key, object())
        if value == default and (key in quiet or default in (0, False)):
            continue
        parts.append(f"{key}={number(value, exact=True)}")
    return " ".join(parts)


def optimizer_label(kind: str, params: Mapping[str, Any], conventions: str = "torch", *,
                    auto_lr: bool = False) -> str:
    """The type and its settings: ``momentum lr=0.01 momentum=0.9``."""
    return " ".join(filter(None, [kind, settings(kind, params, conventions, auto_lr=auto_lr)]))


#: the most lines a legend entry's label, and its settings, take in a figure
LABEL_LINES, SETTINGS_LINES = 2, 3


def shortened(text: str, width: int, lines: int, indent: str = "") -> str:
    """*text* wrapped at *width* characters into at most *lines* lines, each at
    most 1.4 *width* long: what does not fit ends in "…" (figures only: the
    data files keep the whole text)."""
    wrapped = textwrap.wrap(text, width, break_long_words=False, subsequent_indent=indent)
    longest = round(1.4 * width)
    cut = len(wrapped) > lines or any(len(line) > longest for line in wrapped)
    wrapped = [line if len(line) <= longest else line[:longest - 1] + "…"
               for line in wrapped[:lines]]
    if cut and not wrapped[-1].endswith("…"):
        last = wrapped[-1]
        wrapped[-1] = (last if len(last) < longest - 1 else last[:longest - 3]) + " …"
    return "\n".join(wrapped)


def legend_heads(config, width: int = 34) -> list[str]:
    """Per optimizer of a RunConfig, the legend's text above its loss line: the
    label, and under it the type and settings (wrapped at *width* characters),
    or the settings alone where the label is the registry's default one; at
    most :data:`LABEL_LINES` and :data:`SETTINGS_LINES` lines (:func:`shortened`)."""
    from optviz.core.optim.registry import default_label

    heads = []
    for o in config.optimizers:
        full = optimizer_label(o.type, o.params, config.conventions, auto_lr=o.auto_lr)
        if config.noise is not None and not o.noisy:
            full += " (exact gradients)"
        wrapped = shortened(full, width, SETTINGS_LINES, "  ")
        plain = o.label in (full, o.type) or o.label == default_label(o.type, o.params,
                                                                      config.conventions)
        heads.append(wrapped if plain else f"{shortened(o.label, width, LABEL_LINES)}\n{wrapped}")
    return heads


def figure_note(config) -> str:
    """One line of the conventions in use: steps, start, optimizer conventions,
    gradient noise, and how an ``lr: auto`` or a tuned value was chosen."""
    from optviz.analysis.compare import seeds_of
    from optviz.input.config import AUTO_LR, AUTO_TUNE

    start = (f"({number(config.start[0])}, {number(config.start[1])})"
             if len(config.start) == 2 else "the network's initialisation")
    parts = [f"{config.steps} steps from {start}",
             f"{config.conventions} conventions"
             + (" (torch.optim formulas)" if config.conventions == "torch"
                else " (Lasagne formulas)")]
    noise = config.noise
    if getattr(noise, "kind", None) == "minibatch":
        parts.append(f"each step's gradient from a minibatch of {noise.batch_size} samples "
                     f"(reshuffled each epoch), seed {noise.seed}; losses on all the data")
    elif noise is not None:
        sigma, seed = noise[0], noise[1]
        kind, df = getattr(noise, "kind", "gaussian"), getattr(noise, "df", float("inf"))
        law = f"{number(sigma)}·t({number(df)})" if kind != "gaussian" else \
            f"N(0, {number(sigma)}²)"
        parts.append(f"gradient noise {law} per step, seed {seed}")
    if any(o.auto_lr for o in config.optimizers):
        parts.append(f"lr (auto): the lowest {AUTO_TUNE.objective.replace('_', ' ')} of "
                     f"{AUTO_TUNE.budget} log-spaced lr in [{number(AUTO_LR.lo)}, "
                     f"{number(AUTO_LR.hi)}]")
    tune = getattr(config, "tune", None)
    if tune is not None and any(getattr(o, "tune", ()) and not o.auto_lr
                                for o in config.optimizers):
        runs = tune.starts * len(seeds_of(config, tune.seeds))
        parts.append(f"tuned: best {tune.objective.replace('_', ' ')} of {tune.budget} grid "
                     f"points, each the {'worst' if tune.worst else 'median'} of {runs} "
                     f"tuning runs ({tune.starts} starts x {runs // tune.starts} seeds)")
    return " · ".join(parts)
