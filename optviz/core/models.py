"""Models on data: a model's training loss as an oracle, like a Surface.

Every optimizer runs on a model as on a surface: the model is an oracle
(``value_and_grad``, ``grad``, ``hess`` over parameter vectors of shape (N, D))
for :func:`optviz.core.engine.simulate`, N parameter vectors evaluated at once.
The loss is the mean over the whole data set; gradients are exact (written out
by hand for the two-parameter models, backpropagation for the MLP). NumPy only.

Two-parameter models (D = 2, drawn with every surface renderer: they have a
``domain``, ``levels``, ``minima`` and ``f`` over (..., 2) points):

- ``linear``: mean squared error (1/n)·Σ(θ·φᵢ − yᵢ)²;
- ``logistic``: binary cross-entropy (1/n)·Σ(log(1 + e^zᵢ) − yᵢzᵢ), zᵢ = θ·φᵢ, labels 0/1;

over features φᵢ made from the inputs: one input x gives φ = (x, 1), so θ is
(slope or weight, intercept or bias); two inputs give φ = (x₁, x₂), two weights
and no bias (a decision boundary through the origin). ``l2`` adds ½·l2·|θ|².
Their Hessians are exact. The minimum is computed, not stated: linear's from
the normal equations (2/n·ΦᵀΦ + l2·I)θ = 2/n·Φᵀy; logistic's by Newton's method
with the exact Hessian and step halving (the loss is convex), iterated until a
step no longer lowers the loss, the gradient checked to be ~0 there. Where the
classes are separable and l2 = 0 the loss has no minimum (the weights grow
without end): that is refused with a hint.

The MLP (``{mlp: [2, 16, 16, 1], activation: tanh, loss: bce, init: {seed: 0}}``):
layers of sizes [inputs, hidden..., outputs], each z = a·W + b (W of shape
(in, out)), the activation after every layer but the last. The D parameters
are one flat vector, layer by layer, W (row-major) then b. Losses: ``bce``
(one output, a logit; labels 0/1), ``mse`` (one output), ``ce`` (softmax
cross-entropy, one output per class; labels 0 .. C-1). Initialisation as
torch.nn.Linear's default: W and b uniform on ±1/sqrt(in), from
``default_rng(seed)`` (so not torch's numbers). Value and gradient by
backpropagation, batched over the N parameter vectors (stacked matrix
products; no loop over runs). The exact Hessian by Pearlmutter's R-operator on
backpropagation (the Hessian times each unit vector, all at once), so Newton
and Sophia run on networks of up to :data:`MAX_HESSIAN_PARAMETERS` parameters
(:func:`check_optimizers` refuses them past it); every optimizer runs.

Minibatch noise (:class:`Minibatch`): each step's gradient is that of a
sampled minibatch, the same sample for every optimizer and run in that step
(as :class:`~optviz.core.engine.NoisyGradients` shares one noise draw). The
samples are drawn as torch's DataLoader(shuffle=True, drop_last=True) does:
a fresh permutation each epoch, cut into batches of B; the leftover n mod B
samples of an epoch are skipped. Losses stay full-data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from optviz.core.data import Dataset
from optviz.core.data import load as load_data
from optviz.errors import ConfigError, did_you_mean

TWO_PARAMETER = ("linear", "logistic")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "softplus", "leaky_relu")
LOSSES = ("bce", "mse", "ce")
CHUNK = 1 << 16  # floats in one intermediate array when many points are evaluated: small
#                  enough to stay in cache (a 2-16-16-1 net over 512 points: 8 networks a chunk)
MAX_PARAMETERS = 100_000
MAX_WIDTH = 1024
# Newton and Sophia on a network: the Hessian (N, D, D) costs about 2·D gradients and
# 8·D² bytes a run (D = 1,000: 8 MB), Newton's solve D³/3 multiply-adds
MAX_HESSIAN_PARAMETERS = 1_000
LEAK = 0.01  # leaky_relu's slope for z < 0 (torch's default)


# ---------------------------------------------------------------- two parameters
class TwoParameterModel:
    """``linear`` or ``logistic`` regression with two parameters (see the module)."""

    dim = 2
    has_hessian = True
    batch_invariant = True  # a point's numbers do not depend on the others in its batch

    def __init__(self, kind: str, data: Dataset, *, l2: float = 0.0, start=None,
                 domain=None, levels: int | tuple = 30):
        if kind not in TWO_PARAMETER:
            raise ConfigError(f"unknown model '{kind}'", key="model",
                              hint=did_you_mean(kind, TWO_PARAMETER + ("mlp",))
                              or "linear, logistic or {mlp: [...]}")
        if data.features not in (1, 2):
            raise ConfigError(f"a {kind} model with two parameters takes one input (slope and "
                              f"intercept) or two (two weights); the data has {data.features}",
                              key="data")
        if kind == "logistic" and not np.all((data.targets == 0) | (data.targets == 1)):
            raise ConfigError("logistic regression needs labels 0 and 1 (the last column)",
                              key="data", hint="for more classes use an MLP with loss: ce")
        self.kind, self.data, self.l2 = kind, data, float(l2)
        x = data.inputs
        self.phi = np.c_[x[:, 0], np.ones(len(x))] if data.features == 1 else x.copy()
        self.phi0 = np.ascontiguousarray(self.phi[:, 0])
        self.phi1 = np.ascontiguousarray(self.phi[:, 1])
        self.y = data.targets
        self.samples = data.size
        names = ("slope", "intercept") if kind == "linear" else ("weight", "bias")
        self.axes = names if data.features == 1 else ("w₁", "w₂")
        self.name = f"{kind}-{data.name}"
        loss = "mean squared error" if kind == "linear" else "cross-entropy"
        self.title = f"{kind} regression on {data.name}: {loss}"
        self.source = data.source
        self.description = (f"the {loss} of {kind} regression over {data.size} samples "
                            f"({data.source}) as a function of {self.axes[0]} and "
                            f"{self.axes[1]}")
        self.levels = levels
        best = self._minimum()
        self.minima = (tuple(float(v) for v in best),)
        self.minimum_value = float(self.f(best))
        self.start = (0.0, 0.0) if start is None else tuple(float(v) for v in start)
        self.domain = domain if domain is not None else _around(best, np.array(self.start))

    # -------------------------------------------------------------- the loss
    def _evaluate(self, p: np.ndarray, rows, want_grad: bool, want_hess: bool = False):
        """Value (M,), gradient (M, 2) and Hessian (M, 2, 2) at points p (M, 2), each
        sample's terms computed elementwise and averaged per row (so a point's
        numbers do not depend on the other points of the batch)."""
        phi0, phi1, y = (self.phi0, self.phi1, self.y) if rows is None else \
            (self.phi0[rows], self.phi1[rows], self.y[rows])
        z = p[:, :1] * phi0 + p[:, 1:] * phi1  # (M, n)
        if self.kind == "linear":
            r = z - y
            value = (r * r).mean(-1)
            e, w = 2.0 * r, None
        else:
            value = (np.logaddexp(0.0, z) - y * z).mean(-1)
            s = 1.0 / (1.0 + np.exp(-z))
            e, w = s - y, s * (1.0 - s)
        value = value + 0.5 * self.l2 * (p * p).sum(-1) if self.l2 else value
        grad = hess = None
        if want_grad:
            grad = np.stack([(e * phi0).mean(-1), (e * phi1).mean(-1)], axis=-1) + self.l2 * p
        if want_hess:
            hess = np.empty((len(p), 2, 2))
            if w is None:  # linear: constant
                w = 2.0
            hess[:, 0, 0] = (w * phi0 * phi0).mean(-1) + self.l2
            hess[:, 1, 1] = (w * phi1 * phi1).mean(-1) + self.l2
            hess[:, 0, 1] = hess[:, 1, 0] = (w * phi0 * phi1).mean(-1)
        return value, grad, hess

    def _chunks(self, count: int) -> int:
        return max(1, CHUNK // self.samples)

    def f(self, points: np.ndarray) -> np.ndarray:
        """The full-data loss at points of shape (..., 2)."""
        pts = np.asarray(points, dtype=np.float64)
        flat = pts.reshape(-1, 2)
        out = np.empty(len(flat))
        step = self._chunks(len(flat))
        with np.errstate(all="ignore"):
            for i in range(0, len(flat), step):
                out[i:i + step] = self._evaluate(flat[i:i + step], None, False)[0]
        return out.reshape(pts.shape[:-1])

    def value_and_grad(self, points: np.ndarray, rows=None):
        """Loss and gradient at (N, 2) points: of all the data, or of the samples *rows*."""
        pts = np.asarray(points, dtype=np.float64)
        value, grad = np.empty(len(pts)), np.empty(pts.shape)
        step = self._chunks(len(pts))
        with np.errstate(all="ignore"):
            for i in range(0, len(pts), step):
                value[i:i + step], grad[i:i + step], _ = \
                    self._evaluate(pts[i:i + step], rows, True)
        return value, grad

    def grad(self, points: np.ndarray, rows=None) -> np.ndarray:
        return self.value_and_grad(points, rows)[1]

    def hess(self, points: np.ndarray, rows=None) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        out = np.empty(pts.shape + (2,))
        step = self._chunks(len(pts))
        with np.errstate(all="ignore"):
            for i in range(0, len(pts), step):
                out[i:i + step] = self._evaluate(pts[i:i + step], rows, False, True)[2]
        return out

    def predict(self, params: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Outputs (N, M, 1) of the models *params* (N, 2) at inputs (M, p): the
        fitted value (linear) or the probability of class 1 (logistic)."""
        params, x = np.atleast_2d(params), np.asarray(inputs, dtype=np.float64)
        phi = np.c_[x[:, 0], np.ones(len(x))] if x.shape[1] == 1 else x
        z = params[:, None, :1] * phi[:, 0] + params[:, None, 1:] * phi[:, 1]
        with np.errstate(over="ignore"):
            out = z if self.kind == "linear" else 1.0 / (1.0 + np.exp(-z))
        return out[..., None]

    # -------------------------------------------------------------- the minimum
    def _minimum(self) -> np.ndarray:
        if self.kind == "linear":
            n = self.samples
            a = 2.0 / n * (self.phi.T @ self.phi) + self.l2 * np.eye(2)
            if np.linalg.cond(a) > 1e12:
                raise ConfigError("the data do not determine both parameters (are all "
                                  "inputs equal?)", key="data")
            return np.linalg.solve(a, 2.0 / n * (self.phi.T @ self.y))
        def at(theta):
            return tuple(a[0] for a in self._evaluate(theta[None], None, True, True))

        separable = ConfigError("the classes are separable by this model, so the loss has "
                                "no minimum (the weights grow without end)", key="data",
                                hint="use data whose classes overlap, or set l2 > 0")
        theta = np.zeros(2)
        value, grad, hess = at(theta)
        for _ in range(200):
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:  # the curvature vanished: the weights ran away
                raise separable from None
            scale = 1.0
            while scale >= 1e-10:  # halve the step until the loss does not rise
                trial = theta - scale * step
                t_value, t_grad, t_hess = at(trial)
                if t_value <= value:
                    break
                scale /= 2
            else:
                break  # no step lowers the loss: the minimum, to rounding
            if np.abs(trial).max() > 1e4 and not self.l2:
                raise separable
            if np.array_equal(trial, theta):
                break
            theta, value, grad, hess = trial, t_value, t_grad, t_hess
        if not np.abs(grad).max() <= 1e-8 * max(1.0, np.abs(self.phi).max()):
            raise ConfigError("Newton's method found no minimum of this loss", key="data",
                              hint="use data whose classes overlap, or set l2 > 0")
        return theta

    # -------------------------------------------------------------- geometry
    @property
    def extent(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.domain
        return x0, x1, y0, y1

    def bound(self, factor: float = 10.0) -> np.ndarray:
        """A generous box around the domain (as a Surface's): leaving it is diverging."""
        (x0, x1), (y0, y1) = self.domain
        c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        h = np.array([(x1 - x0) / 2, (y1 - y0) / 2]) * factor
        return np.array([c - h, c + h])


def _around(best: np.ndarray, start: np.ndarray):
    """A square box holding the minimum and the start with room around both."""
    lo, hi = np.minimum(best, start), np.maximum(best, start)
    span = max(float((hi - lo).max()), 0.5)
    centre = (lo + hi) / 2
    half = 0.5 * span + 0.3 * span
    return tuple((float(c - half), float(c + half)) for c in centre)


# ---------------------------------------------------------------- the MLP
class MLP:
    """A multilayer perceptron's mean training loss over its flat parameter vector."""

    has_hessian = True
    batch_invariant = True  # stacked matrix products: each run's own, whatever N is

    def __init__(self, layers: Sequence[int], data: Dataset, *, activation: str = "tanh",
                 loss: str = "bce", init_seed: int = 0):
        layers = _layers(layers)
        if activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation '{activation}'", key="model.activation",
                              hint=did_you_mean(activation, ACTIVATIONS)
                              or "one of " + ", ".join(ACTIVATIONS))
        if loss not in LOSSES:
            raise ConfigError(f"unknown loss '{loss}'", key="model.loss",
                              hint=did_you_mean(loss, LOSSES) or "one of " + ", ".join(LOSSES))
        if layers[0] != data.features:
            raise ConfigError(f"the first layer has {layers[0]} inputs; the data has "
                              f"{data.features}", key="model.mlp",
                              hint=f"start the layers with {data.features}")
        out = layers[-1]
        y = data.targets
        if loss in ("bce", "mse") and out != 1:
            raise ConfigError(f"loss {loss} takes one output; the last layer has {out}",
                              key="model.mlp", hint="end the layers with 1, or use loss: ce")
        if loss == "bce" and not np.all((y == 0) | (y == 1)):
            raise ConfigError("loss bce needs labels 0 and 1", key="model.loss",
                              hint="for real-valued targets use loss: mse")
        if loss == "ce":
            if data.classes < 2:
                raise ConfigError("loss ce needs class labels 0 .. C-1", key="model.loss",
                                  hint="for real-valued targets use loss: mse")
            if out != data.classes:
                raise ConfigError(f"loss ce takes one output per class: the data has "
                                  f"{data.classes} classes, the last layer {out} outputs",
                                  key="model.mlp", hint=f"end the layers with {data.classes}")
        self.layers, self.activation, self.loss, self.data = layers, activation, loss, data
        self.shapes = list(zip(layers[:-1], layers[1:]))
        self.offsets = np.cumsum([0] + [i * o + o for i, o in self.shapes]).tolist()
        self.dim = self.offsets[-1]
        if self.dim > MAX_PARAMETERS:
            raise ConfigError(f"the network has {self.dim:,} parameters; the limit is "
                              f"{MAX_PARAMETERS:,}", key="model.mlp")
        self.x = np.ascontiguousarray(data.inputs)
        self.y = y
        self.labels = y.astype(np.int64) if loss == "ce" else None
        self.samples = data.size
        self.init_seed = int(init_seed)
        self.start = tuple(self.init([self.init_seed])[0])
        self.name = f"mlp-{data.name}"
        arch = "-".join(map(str, layers))
        self.title = f"MLP {arch} ({activation}, {loss}) on {data.name}"
        self.source = data.source
        self.description = (f"the mean {loss} loss of a {arch} network ({activation}, "
                            f"{self.dim} parameters) over {data.size} samples ({data.source})")
        self.minima, self.minimum_value = (), None
        self._spaces: dict = {}

    def __getstate__(self):
        """Pickled (to a batch worker) without the evaluation workspaces."""
        return {**self.__dict__, "_spaces": {}}

    def init(self, seeds: Sequence[int]) -> np.ndarray:
        """(len(seeds), D) initial parameters, as torch.nn.Linear's default (W and b
        uniform on ±1/sqrt(in)), each from ``default_rng(seed)``: layer by layer, W then b."""
        out = np.empty((len(seeds), self.dim))
        for r, seed in enumerate(seeds):
            rng = np.random.default_rng(int(seed))
            for (i, o), at in zip(self.shapes, self.offsets):
                bound = 1.0 / math.sqrt(i)
                out[r, at:at + i * o + o] = rng.uniform(-bound, bound, i * o + o)
        return out

    def unpack(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Views (W (N, in, out), b (N, out)) of each layer of params (N, D)."""
        n = len(params)
        return [(params[:, at:at + i * o].reshape(n, i, o), params[:, at + i * o:at + i * o + o])
                for (i, o), at in zip(self.shapes, self.offsets)]

    def _act(self, z, out):
        """The activation of z, written into *out*."""
        if self.activation == "tanh":
            return np.tanh(z, out=out)
        if self.activation == "relu":
            return np.maximum(z, 0.0, out=out)
        if self.activation == "sigmoid":
            return _sigmoid(z, out)
        if self.activation == "softplus":
            return np.logaddexp(0.0, z, out=out)
        out = np.multiply(z, LEAK, out=out)  # max(z, LEAK·z): z where z > 0, else LEAK·z
        return np.maximum(z, out, out=out)

    def _dact(self, z, a, out):
        """The activation's derivative at z (a = act(z)) into *out*; relu'(0) = 0 as torch."""
        if self.activation == "tanh":
            np.multiply(a, a, out=out)
            return np.subtract(1.0, out, out=out)
        if self.activation == "relu":
            return np.greater(z, 0.0, out=out)
        if self.activation == "sigmoid":
            np.subtract(1.0, a, out=out)
            return np.multiply(a, out, out=out)
        if self.activation == "softplus":
            return _sigmoid(z, out)
        np.copyto(out, LEAK)
        np.copyto(out, 1.0, where=z > 0)
        return out

    def _workspace(self, n: int, batch: int) -> dict:
        """Arrays for one (N runs, B samples) evaluation, kept between calls: a step
        allocates nothing large, so the memory allocator does not hand the pages
        back and fault them in again every step (that churn took ~45% of the CPU
        time of a training run)."""
        key = (n, batch)
        ws = self._spaces.get(key)
        if ws is None:
            if len(self._spaces) >= 8:
                self._spaces.clear()
            ws = self._spaces[key] = {
                "z": [np.empty((n, batch, o)) for _, o in self.shapes],
                "a": [np.empty((n, batch, o)) for _, o in self.shapes[:-1]],
                "delta": [np.empty((n, batch, i)) for i, _ in self.shapes[1:]],
                "dact": [np.empty((n, batch, i)) for i, _ in self.shapes[1:]]}
        return ws

    def _forward(self, params, x, ws=None):
        """Pre-activations and activations of every layer: (zs, acts), acts[0] = x;
        into the workspace *ws* (its arrays are overwritten by the next call)."""
        zs, acts = [], [x]
        a = x
        last = len(self.shapes) - 1
        for l, (w, b) in enumerate(self.unpack(params)):
            if ws is None:
                z = np.matmul(a, w)
            else:
                z = np.matmul(a, w, out=ws["z"][l])
            z += b[:, None, :]  # (N, B, out)
            zs.append(z)
            a = z if l == last else self._act(z, None if ws is None else ws["a"][l])
            acts.append(a)
        return zs, acts

    def _loss(self, z, y, labels):
        """Mean loss (N,) over the batch and its derivative with respect to z (N, B, out)."""
        count = z.shape[1]
        if self.loss == "bce":
            zz = z[..., 0]
            value = (np.logaddexp(0.0, zz) - y * zz).mean(-1)
            dz = ((1.0 / (1.0 + np.exp(-zz)) - y) / count)[..., None]
        elif self.loss == "mse":
            r = z[..., 0] - y
            value = (r * r).mean(-1)
            dz = (2.0 * r / count)[..., None]
        else:
            top = z.max(-1, keepdims=True)
            ez = np.exp(z - top)
            total = ez.sum(-1, keepdims=True)
            lse = (top + np.log(total))[..., 0]
            picked = z[:, np.arange(count), labels]
            value = (lse - picked).mean(-1)
            dz = ez / total
            dz[:, np.arange(count), labels] -= 1.0
            dz /= count
        return value, dz

    def _evaluate(self, params, rows, want_grad):
        x, y = (self.x, self.y) if rows is None else (self.x[rows], self.y[rows])
        labels = None if self.labels is None else \
            (self.labels if rows is None else self.labels[rows])
        ws = self._workspace(len(params), len(x))
        zs, acts = self._forward(params, x, ws)
        value, delta = self._loss(zs[-1], y, labels)
        if not want_grad:
            return value, None
        grad = np.empty(params.shape)
        layers = self.unpack(params)
        for l in range(len(layers) - 1, -1, -1):
            (i, o), at = self.shapes[l], self.offsets[l]
            a = acts[l]
            gw = (a.T @ delta) if a.ndim == 2 else np.swapaxes(a, 1, 2) @ delta
            grad[:, at:at + i * o] = gw.reshape(len(params), i * o)
            grad[:, at + i * o:at + i * o + o] = delta.sum(axis=1)
            if l:
                back = np.matmul(delta, np.swapaxes(layers[l][0], 1, 2), out=ws["delta"][l - 1])
                delta = np.multiply(back, self._dact(zs[l - 1], acts[l], ws["dact"][l - 1]),
                                    out=back)
        return value, grad

    def _chunk(self) -> int:
        return max(1, CHUNK // (self.samples * max(self.layers)))

    def f(self, points: np.ndarray) -> np.ndarray:
        """The full-data loss at parameter vectors of shape (..., D)."""
        pts = np.asarray(points, dtype=np.float64)
        flat = pts.reshape(-1, self.dim)
        out = np.empty(len(flat))
        step = self._chunk()
        with np.errstate(all="ignore"):
            for i in range(0, len(flat), step):
                out[i:i + step] = self._evaluate(flat[i:i + step], None, False)[0]
        return out.reshape(pts.shape[:-1])

    def value_and_grad(self, points: np.ndarray, rows=None):
        """Loss and gradient at (N, D) parameters: of all the data, or of the samples *rows*."""
        pts = np.asarray(points, dtype=np.float64)
        value, grad = np.empty(len(pts)), np.empty(pts.shape)
        step = self._chunk()
        with np.errstate(all="ignore"):
            for i in range(0, len(pts), step):
                value[i:i + step], grad[i:i + step] = self._evaluate(pts[i:i + step], rows, True)
        return value, grad

    def grad(self, points: np.ndarray, rows=None) -> np.ndarray:
        return self.value_and_grad(points, rows)[1]

    def _d2act(self, z, a):
        """The activation's second derivative at z (a = act(z)); 0 for relu and leaky_relu
        (piecewise linear: torch's autograd gives 0 there too)."""
        if self.activation == "tanh":
            return -2.0 * a * (1.0 - a * a)
        if self.activation == "sigmoid":
            return a * (1.0 - a) * (1.0 - 2.0 * a)
        if self.activation == "softplus":
            s = _sigmoid(z)
            return s * (1.0 - s)
        return np.zeros_like(z)

    def _loss_rop(self, z, rz):
        """R{dL/dz}: the loss's Hessian with respect to the outputs z (N, B, out)
        applied to rz (N, c, B, out), c directions at once."""
        count = z.shape[1]
        if self.loss == "bce":
            p = 1.0 / (1.0 + np.exp(-z))
            return (p * (1.0 - p))[:, None] * rz / count
        if self.loss == "mse":
            return 2.0 * rz / count
        ez = np.exp(z - z.max(-1, keepdims=True))
        p = (ez / ez.sum(-1, keepdims=True))[:, None]  # softmax: (diag p - p pᵀ)·rz
        return (p * rz - p * (p * rz).sum(-1, keepdims=True)) / count

    def hess(self, points: np.ndarray, rows=None) -> np.ndarray:
        """The exact Hessian (N, D, D) of the mean loss (of all the data, or of the
        samples *rows*) at parameters (N, D): Pearlmutter's R-operator (1994) on
        backpropagation, Hv for the D unit vectors v, in chunks of directions,
        vectorised over the runs and the directions. Costs about 2·D gradients."""
        pts = np.asarray(points, dtype=np.float64)
        n, dim = pts.shape
        x, y = (self.x, self.y) if rows is None else (self.x[rows], self.y[rows])
        labels = None if self.labels is None else \
            (self.labels if rows is None else self.labels[rows])
        out = np.empty((n, dim, dim))
        last = len(self.shapes) - 1
        with np.errstate(all="ignore"):
            zs, acts = self._forward(pts, x)  # fresh arrays: no workspace
            layers = self.unpack(pts)
            deltas = [None] * (last + 1)
            deltas[last] = self._loss(zs[-1], y, labels)[1]
            dacts, backs = [None] * last, [None] * last
            for l in range(last, 0, -1):
                backs[l - 1] = deltas[l] @ np.swapaxes(layers[l][0], 1, 2)
                dacts[l - 1] = self._dact(zs[l - 1], acts[l], np.empty(zs[l - 1].shape))
                deltas[l - 1] = backs[l - 1] * dacts[l - 1]
            width = n * len(x) * max(self.layers)
            chunk = max(1, min(dim, (CHUNK * 16) // max(1, width)))
            eye = np.eye(dim)
            for j0 in range(0, dim, chunk):
                v = eye[j0:j0 + chunk]  # (c, D): the directions
                vl = self.unpack(v)
                rz, ra = [], None  # R{z_l}, R{a_l} (N, c, B, width)
                for l, ((w, _), (vw, vb)) in enumerate(zip(layers, vl)):
                    a = acts[l] if acts[l].ndim == 3 else acts[l][None]
                    z = a[:, None] @ vw[None] + vb[None, :, None, :]
                    if ra is not None:
                        z = z + ra @ w[:, None]
                    rz.append(z)
                    if l < last:
                        ra = dacts[l][:, None] * z
                rdelta = self._loss_rop(zs[-1], rz[-1])
                for l in range(last, -1, -1):
                    (i, o), at = self.shapes[l], self.offsets[l]
                    a = acts[l] if acts[l].ndim == 3 else acts[l][None]
                    rgw = np.swapaxes(a, 1, 2)[:, None] @ rdelta
                    if l:
                        ra_prev = dacts[l - 1][:, None] * rz[l - 1]
                        rgw = rgw + np.swapaxes(ra_prev, 2, 3) @ deltas[l][:, None]
                    c = rgw.shape[1]
                    out[:, at:at + i * o, j0:j0 + c] = np.swapaxes(rgw.reshape(n, c, i * o), 1, 2)
                    out[:, at + i * o:at + i * o + o, j0:j0 + c] = \
                        np.swapaxes(rdelta.sum(axis=2), 1, 2)
                    if l:
                        w, vw = layers[l][0], vl[l][0]
                        rback = rdelta @ np.swapaxes(w, 1, 2)[:, None] + \
                            deltas[l][:, None] @ np.swapaxes(vw, 1, 2)[None]
                        rdelta = rback * dacts[l - 1][:, None] + (backs[l - 1] * self._d2act(
                            zs[l - 1], acts[l]))[:, None] * rz[l - 1]
        return 0.5 * (out + np.swapaxes(out, 1, 2))  # symmetric up to rounding: made exactly so

    def predict(self, params: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Outputs (N, M, out) of the networks *params* (N, D) at inputs (M, p): the
        probability of class 1 (bce), the class probabilities (ce) or the value (mse)."""
        params = np.atleast_2d(np.asarray(params, dtype=np.float64))
        x = np.asarray(inputs, dtype=np.float64)
        with np.errstate(all="ignore"):
            z = self._forward(params, x)[1][-1]  # no workspace: fresh arrays
            if self.loss == "bce":
                return 1.0 / (1.0 + np.exp(-z))
            if self.loss == "ce":
                ez = np.exp(z - z.max(-1, keepdims=True))
                return ez / ez.sum(-1, keepdims=True)
        return z

    def bound(self):
        return None


def _sigmoid(z, out=None):
    """1/(1 + e^-z), into *out* (the same operations, so the same bits, as written out)."""
    out = np.negative(z, out=out)
    np.exp(out, out=out)
    np.add(1.0, out, out=out)
    return np.divide(1.0, out, out=out)


def _layers(value: Any) -> list[int]:
    if not isinstance(value, (list, tuple)) or len(value) < 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_WIDTH
            for v in value):
        raise ConfigError(f"expected the layer sizes [inputs, hidden..., outputs], each a whole "
                          f"number from 1 to {MAX_WIDTH}, got {value!r}", key="model.mlp",
                          hint="e.g. mlp: [2, 16, 16, 1]")
    return list(value)


# ---------------------------------------------------------------- minibatches
class Minibatch(NamedTuple):
    """``noise: {kind: minibatch, batch_size: B, seed: S}``: each step's gradient is
    that of B samples (see the module). ``seeds`` runs seeds S, S + 1, ..."""

    batch_size: int
    seed: int
    seeds: int = 1

    kind = "minibatch"
    active = True  # it changes the gradients (as a Noise with sigma > 0)

    def to_dict(self) -> dict:
        return {"kind": self.kind, **self._asdict()}

    def with_seed(self, seed: int) -> "Minibatch":
        return self._replace(seed=seed, seeds=1)

    def seed_list(self) -> list[int]:
        return [self.seed + j for j in range(self.seeds)]

    def gradients(self, model: Any, dim: int = 2) -> "MinibatchGradients":
        return MinibatchGradients(model, self.batch_size, self.seed)

    @staticmethod
    def grouped(model: Any, models: Sequence["Minibatch"], rows: np.ndarray,
                dim: int = 2) -> "GroupedMinibatches":
        return GroupedMinibatches(model, models, rows)


class MinibatchGradients:
    """The model with each step's gradients (and Hessians) taken on one minibatch."""

    def __init__(self, model: Any, batch_size: int, seed: int):
        samples = getattr(model, "samples", None)
        if samples is None:
            raise ConfigError("minibatch noise needs a model on data, not a surface",
                              key="noise.kind", hint="use kind: gaussian on a surface")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or not 1 <= batch_size <= samples:
            raise ConfigError(f"batch_size must be a whole number from 1 to the {samples} "
                              f"samples, got {batch_size!r}", key="noise.batch_size")
        self.model, self.batch_size = model, int(batch_size)
        self.dim = getattr(model, "dim", None)
        self.batch_invariant = getattr(model, "batch_invariant", False)
        self.rng = np.random.default_rng(seed)
        self.order = np.empty(0, dtype=np.int64)
        self.at = 0
        self.rows = None

    def next_step(self) -> None:
        if self.at + self.batch_size > len(self.order):  # a new epoch
            self.order = self.rng.permutation(self.model.samples)
            self.at = 0
        self.rows = self.order[self.at:self.at + self.batch_size]
        self.at += self.batch_size

    def value_and_grad(self, points):
        """The full-data loss and the minibatch's gradient."""
        return self.model.f(points), self.model.grad(points, self.rows)

    def grad(self, points):
        return self.model.grad(points, self.rows)

    def hess(self, points):
        return self.model.hess(points, self.rows)

    def bound(self):
        return self.model.bound()


class GroupedMinibatches:
    """Several minibatch seeds in one batch: row n samples as seed ``rows[n]`` does alone."""

    def __init__(self, model: Any, models: Sequence[Minibatch], rows: np.ndarray):
        self.model = model
        self.parts = [MinibatchGradients(model, m.batch_size, m.seed) for m in models]
        self.rows = np.asarray(rows, dtype=np.int64)

    def next_step(self) -> None:
        for part in self.parts:
            part.next_step()

    def _each(self, points, fn, shape):
        out = np.empty((len(points),) + shape)
        for g, part in enumerate(self.parts):
            mine = self.rows == g
            if mine.any():
                out[mine] = fn(points[mine], part.rows)
        return out

    def value_and_grad(self, points):
        return self.model.f(points), self.grad(points)

    def grad(self, points):
        return self._each(points, self.model.grad, points.shape[1:])

    def hess(self, points):
        return self._each(points, self.model.hess, points.shape[1:] * 2)

    def bound(self):
        return self.model.bound()


# ---------------------------------------------------------------- entry points
def build(spec: Mapping, base: Path | None = None) -> TwoParameterModel | MLP:
    """A model on data from a plain mapping (the later config's ``surface:`` value):

    ``{model: linear | logistic, data: {...}, l2: 0, start: [a, b], domain: {x: [..], y: [..]},
    levels: 30}`` or ``{model: {mlp: [2, 16, 16, 1], activation: tanh, loss: bce,
    init: {seed: 0}}, data: {...}}``; data as :func:`optviz.core.data.load`
    (relative paths from *base*)."""
    if not isinstance(spec, Mapping) or "model" not in spec or "data" not in spec:
        raise ConfigError("a model needs 'model' and 'data'", key="surface",
                          hint="e.g. {model: linear, data: {generate: line, seed: 0}}")
    model = spec["model"]
    if isinstance(model, Mapping):
        keys = ("mlp", "activation", "loss", "init")
        for k in model:
            if k not in keys:
                raise ConfigError(f"unknown key '{k}' in the model", key=f"model.{k}",
                                  hint=did_you_mean(str(k), keys) or "keys: " + ", ".join(keys))
        _only(spec, ("model", "data"))
        if "mlp" not in model:
            raise ConfigError("a network model needs 'mlp': its layer sizes", key="model",
                              hint="e.g. model: {mlp: [2, 16, 16, 1]}")
        init = model.get("init", {}) or {}
        if not isinstance(init, Mapping) or set(init) - {"seed"}:
            raise ConfigError("init takes one key, seed", key="model.init")
        seed = init.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"the init seed must be a whole number >= 0, got {seed!r}",
                              key="model.init.seed")
        net = MLP(model["mlp"], load_data(spec["data"], base),
                  activation=str(model.get("activation", "tanh")),
                  loss=str(model.get("loss", "bce")), init_seed=seed)
        net.spec = spec
        return net
    _only(spec, ("model", "data", "l2", "start", "domain", "levels"))
    from optviz.core.surfaces import _domain, _levels, _point

    def err(message, key=None, hint=None):
        return ConfigError(message, key=key, hint=hint)

    l2 = spec.get("l2", 0.0)
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not 0 <= l2 <= 1e6:
        raise ConfigError(f"l2 must be a number from 0 to 1e6, got {l2!r}", key="l2")
    start = _point(spec["start"], err, "start") if spec.get("start") is not None else None
    domain = _domain(spec["domain"], err) if spec.get("domain") is not None else None
    levels = _levels(spec.get("levels", 30), err)
    two = TwoParameterModel(str(model), load_data(spec["data"], base), l2=float(l2),
                            start=start, domain=domain, levels=levels)
    two.spec = spec  # what it was built from (a run's record)
    return two


def _only(spec: Mapping, keys: tuple[str, ...]) -> None:
    for k in spec:
        if k not in keys:
            raise ConfigError(f"unknown key '{k}' for this model", key=str(k),
                              hint=did_you_mean(str(k), keys) or "keys: " + ", ".join(keys))


def check_optimizers(model: Any, kinds: Mapping[str, str]) -> None:
    """Refuse, before any step, an optimizer the model cannot serve: *kinds* maps each
    label to its registry type; one that needs the Hessian needs ``has_hessian``."""
    from optviz.core.optim.registry import get_spec

    dim = getattr(model, "dim", 2)
    if getattr(model, "has_hessian", True) and dim <= MAX_HESSIAN_PARAMETERS:
        return
    for label, kind in kinds.items():
        if get_spec(kind).needs == "hessian":
            raise ConfigError(f"'{label}' ({kind}) needs the exact Hessian: {dim:,} x {dim:,} "
                              f"values a run and step for this network, past the "
                              f"{MAX_HESSIAN_PARAMETERS:,} parameters optviz takes it for",
                              key="optimizers",
                              hint="use a first-order optimizer (sgd, momentum, adam, ...) "
                                   "or a smaller network")
