"""Data for models: generated with a seed, or read from a CSV file.

A :class:`Dataset` is inputs X (n, p) and one target per row: a real number
(regression) or a class index 0 .. C-1. Generators (NumPy's ``default_rng(seed)``;
the same seed gives the same data on every machine):

- ``moons``: two interleaving half circles (as scikit-learn's make_moons: the
  outer one of radius 1 around (0, 0), the inner one shifted to (1, 0.5)),
  Gaussian noise ``noise`` (0.1) on each coordinate; classes 0 (outer) and 1.
- ``circles``: two concentric circles of radius 1 and ``factor`` (0.5), noise 0.05.
- ``spirals``: two interleaved spirals of 1.5 turns from near the centre to radius
  1, the second the first turned by π; noise 0.03.
- ``xor``: points uniform on [-1, 1]², class 1 where x·y < 0 (the second and fourth
  quadrants); noise 0.05 added to the points after labelling.
- ``blobs``: ``classes`` (2) Gaussian blobs of standard deviation ``noise`` (1.0)
  around centres on the circle of radius 1.5 at angles 2πc/C (for 2 classes
  (1.5, 0) and (-1.5, 0), symmetric about the origin).
- ``regression``: one input x uniform on [-1, 1], target sin(πx) + 0.3x + noise
  (0.1): a curve a straight line cannot fit.
- ``line``: one input x uniform on [-1, 3], target 1.5x - 0.5 + noise (0.5): a line
  whose inputs are off-centre, so slope and intercept are coupled (a long valley).

A CSV file (:func:`read_csv`) holds one row per sample: the inputs, then the
target in the last column; it is read by :func:`optviz.input.table.read_table`
with the limits of every numeric file optviz reads (1 MB, 20,000 rows, values
within +-1e6).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optviz.errors import ConfigError, did_you_mean

GENERATORS = ("moons", "circles", "spirals", "xor", "blobs", "regression", "line")
NOISE = {"moons": 0.1, "circles": 0.05, "spirals": 0.03, "xor": 0.05, "blobs": 1.0,
         "regression": 0.1, "line": 0.5}
MAX_SAMPLES = 20_000  # as many rows as a CSV may hold
MAX_CLASSES = 50


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs (n, p) and targets (n,): real values, or class indices when ``classes`` > 0."""

    name: str
    inputs: np.ndarray
    targets: np.ndarray
    classes: int  # 0: the targets are real values
    source: str  # how it was made, for titles and run records

    @property
    def size(self) -> int:
        return len(self.targets)

    @property
    def features(self) -> int:
        return self.inputs.shape[1]


def generate(kind: str, n: int = 512, *, noise: float | None = None, seed: int = 0,
             classes: int = 2, factor: float = 0.5) -> Dataset:
    """*n* samples of the generated data set *kind* (see the module's list)."""
    if kind not in GENERATORS:
        raise ConfigError(f"unknown data set '{kind}'", key="data.generate",
                          hint=did_you_mean(kind, GENERATORS)
                          or "one of " + ", ".join(GENERATORS))
    n = _whole(n, "data.n", 4, MAX_SAMPLES)
    seed = _whole(seed, "data.seed", 0, 2 ** 63 - 1)
    sigma = NOISE[kind] if noise is None else _number(noise, "data.noise", 0.0, 10.0)
    rng = np.random.default_rng(seed)
    half = n // 2
    labels = np.r_[np.zeros(n - half), np.ones(half)]
    if kind == "moons":
        t_out, t_in = np.linspace(0, np.pi, n - half), np.linspace(0, np.pi, half)
        x = np.r_[np.c_[np.cos(t_out), np.sin(t_out)],
                  np.c_[1 - np.cos(t_in), 0.5 - np.sin(t_in)]]
        x = x + sigma * rng.standard_normal(x.shape)
    elif kind == "circles":
        factor = _number(factor, "data.factor", 0.0, 1.0)
        t_out = np.linspace(0, 2 * np.pi, n - half, endpoint=False)
        t_in = np.linspace(0, 2 * np.pi, half, endpoint=False)
        x = np.r_[np.c_[np.cos(t_out), np.sin(t_out)],
                  factor * np.c_[np.cos(t_in), np.sin(t_in)]]
        x = x + sigma * rng.standard_normal(x.shape)
    elif kind == "spirals":
        turns = 3 * np.pi
        parts = []
        for c, m in ((0, n - half), (1, half)):
            r = np.linspace(0.1, 1.0, m)
            t = r * turns + c * np.pi
            parts.append(np.c_[r * np.cos(t), r * np.sin(t)])
        x = np.concatenate(parts) + sigma * rng.standard_normal((n, 2))
    elif kind == "xor":
        x = rng.uniform(-1, 1, (n, 2))
        labels = (x[:, 0] * x[:, 1] < 0).astype(np.float64)
        x = x + sigma * rng.standard_normal(x.shape)
    elif kind == "blobs":
        classes = _whole(classes, "data.classes", 2, MAX_CLASSES)
        labels = np.arange(n) % classes
        angles = 2 * np.pi * labels / classes
        x = 1.5 * np.c_[np.cos(angles), np.sin(angles)] + sigma * rng.standard_normal((n, 2))
        labels = labels.astype(np.float64)
    elif kind == "regression":
        x = rng.uniform(-1, 1, (n, 1))
        labels = np.sin(np.pi * x[:, 0]) + 0.3 * x[:, 0] + sigma * rng.standard_normal(n)
    else:  # line
        x = rng.uniform(-1, 3, (n, 1))
        labels = 1.5 * x[:, 0] - 0.5 + sigma * rng.standard_normal(n)
    regression = kind in ("regression", "line")
    count = 0 if regression else (classes if kind == "blobs" else 2)
    extra = f", classes={classes}" if kind == "blobs" else ""
    return Dataset(kind, np.ascontiguousarray(x, dtype=np.float64),
                   np.asarray(labels, dtype=np.float64), count,
                   f"{kind}(n={n}, noise={sigma:g}, seed={seed}{extra})")


def read_csv(path: str | Path, key: str = "data.csv") -> Dataset:
    """A data set from a CSV file: each row the inputs, then the target (last column).

    Targets that are all whole numbers 0 .. C-1 (C <= 50) are class indices
    (``classes`` = C); any others are real values. A model checks that its loss
    fits them (bce: 0 and 1; ce: 0 .. C-1 with C outputs)."""
    from optviz.input.table import read_table

    values, _ = read_table(path, what="data file", key=key, noun="the data",
                           hint="optviz trains on up to 20,000 samples")
    if values.shape[0] < 2 or values.shape[1] < 2:
        raise ConfigError("a data file needs at least two rows of inputs and a target "
                          "(the last column)", file=str(path), key=key)
    x, y = values[:, :-1], values[:, -1]
    whole = np.all(y == np.floor(y)) and y.min() >= 0 and y.max() < MAX_CLASSES
    classes = int(y.max()) + 1 if whole and y.max() >= 1 else 0
    return Dataset(Path(path).stem, np.ascontiguousarray(x), y.copy(), classes, str(path))


def load(spec: Any, base: Path | None = None) -> Dataset:
    """A Dataset from a spec: ``{generate: moons, n: 512, noise: 0.1, seed: 0}``
    or ``{csv: path}`` (relative to *base*), or a Dataset itself."""
    if isinstance(spec, Dataset):
        return spec
    if not isinstance(spec, Mapping) or len({"generate", "csv"} & set(spec)) != 1:
        raise ConfigError("data must be a mapping with either 'generate' (one of "
                          + ", ".join(GENERATORS) + ") or 'csv' (a file)", key="data",
                          hint="e.g. data: {generate: moons, n: 512, seed: 0}")
    if "csv" in spec:
        unknown = set(spec) - {"csv"}
        if unknown:
            raise ConfigError(f"unknown key '{sorted(unknown)[0]}' beside 'csv'", key="data")
        path = Path(str(spec["csv"]))
        if base is not None and not path.is_absolute():
            path = base / path
        return read_csv(path)
    keys = ("generate", "n", "noise", "seed", "classes", "factor")
    for k in spec:
        if k not in keys:
            raise ConfigError(f"unknown key '{k}' in data", key=f"data.{k}",
                              hint=did_you_mean(str(k), keys) or "keys: " + ", ".join(keys))
    return generate(str(spec["generate"]), **{k: spec[k] for k in keys[1:] if k in spec})


def _number(value: Any, key: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(f"expected a number in [{lo:g}, {hi:g}], got {value!r}", key=key)
    return float(value)


def _whole(value: Any, key: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not lo <= value <= hi:
        raise ConfigError(f"expected a whole number in [{lo:,}, {hi:,}], got {value!r}",
                          key=key)
    return int(value)
