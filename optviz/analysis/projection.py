"""The loss on a plane through parameter space, and every path projected onto it.

A model with D > 2 parameters cannot be drawn; a plane through it can. The
plane is c + α·d₁ + β·d₂ through a stated centre c, spanned by two directions
(Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape of
Neural Nets", NeurIPS, arXiv:1712.09913):

- ``pca`` (their section 7): the two principal directions of all optimizers'
  iterates θ_t − c. Here the SVD is of the differences themselves, not
  re-centred on their mean (their code runs scikit-learn's PCA, which
  subtracts the mean of the rows): so the plane is the best-fitting plane
  *through c*, the one drawn. ``variance`` is the share of Σ|θ_t − c|² along
  d₁ and d₂ (σ₁² and σ₂² over Σσ²). Directions have unit norm; each one's
  sign is set so that its largest component is positive. When both the
  iterates and the parameters number over 4,000, the directions come from
  every s-th iterate (as their code takes one model per epoch).
- ``random`` (their section 4): Gaussian directions, filter-normalised at the
  centre: each filter of d (the incoming weights of one neuron: a column of
  W of shape (in, out)) is rescaled to the norm of the same filter of c, and
  the biases' entries are 0 (their ``ignore='biasbn'``). A model without
  layers (``unpack``) is one filter. The two directions are not orthogonal.

A point θ's coordinates are the least-squares (α, β) (for orthonormal PCA
directions, the dot products their code takes); what is left, |θ − c − αd₁ − βd₂|,
is its distance off the plane. For each path, ``explained`` is the share of its
Σ_t|θ_t − c|² that lies in the plane, and ``off_end`` its last point's
distance off the plane. The colours under a path are the loss on the plane,
not the loss the optimizer had; the true losses are kept with the paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz.core.trajectories import Trajectories
from optviz.errors import ConfigError

METHODS = ("pca", "random")
PCA_ROWS = 4000  # the Gram matrix PCA works on is at most this many rows and columns
CENTRES = ("best", "start", "mean")


@dataclass(frozen=True, eq=False)
class Plane:
    """A plane through parameter space, its loss on a grid, and the paths on it."""

    method: str
    centre: np.ndarray  # (D,)
    centre_text: str  # how the centre was chosen, for the figure
    directions: np.ndarray  # (2, D)
    alphas: np.ndarray  # (R,) grid coordinates along d₁
    betas: np.ndarray  # (R,) along d₂
    losses: np.ndarray  # (R, R): losses[j, i] at alphas[i], betas[j] (meshgrid order)
    paths: Trajectories  # (K, 1, T+1, 2) the projected paths, with their true losses
    off: np.ndarray  # (K, T+1) each point's distance off the plane (NaN after a run ends)
    explained: np.ndarray  # (K,) share of each path's squared distance from c in the plane
    variance: tuple[float, float] | None  # pca: each direction's share of the iterates'
    reach: np.ndarray  # (K,) each path's largest distance from the centre (off_end's scale)
    run: int = 0

    @property
    def off_end(self) -> np.ndarray:
        """(K,) each path's last point's distance off the plane."""
        return np.take_along_axis(self.off, self.paths.steps[:, :1], axis=1)[:, 0]

    @property
    def domain(self):
        return ((float(self.alphas[0]), float(self.alphas[-1])),
                (float(self.betas[0]), float(self.betas[-1])))

    def point(self, coords: np.ndarray) -> np.ndarray:
        """Parameters (..., D) at plane coordinates (..., 2)."""
        c = np.asarray(coords, dtype=np.float64)
        return self.centre + c[..., :1] * self.directions[0] + c[..., 1:] * self.directions[1]


def plane(model: Any, traj: Trajectories, *, method: str = "pca", centre: Any = "best",
          run: int = 0, resolution: int = 100, seed: int = 0, margin: float = 0.15) -> Plane:
    """The plane through *centre* for run *run* of every optimizer in *traj* (on *model*,
    an oracle with ``f`` over (..., D) points), its loss on a *resolution*² grid
    covering every projected path (and *margin* of their span around them).

    *centre*: ``best`` (the final point of the optimizer with the lowest final
    loss), ``start`` (the common start), ``mean`` (the mean of the final points),
    an optimizer's label (its final point), or a point (D,). *seed* draws the
    random directions."""
    if method not in METHODS:
        raise ConfigError(f"unknown plane method '{method}'", key="plane.method",
                          hint="pca or random")
    if not 2 <= int(resolution) <= 1000:
        raise ConfigError(f"the plane's resolution must be 2 .. 1000, got {resolution}",
                          key="plane.resolution")
    k_count, n_count, _ = traj.shape
    if not 0 <= run < n_count:
        raise ConfigError(f"there is no run {run} (the trajectories have {n_count})",
                          key="plane.run")
    c, centre_text = _centre(traj, centre, run)
    paths = [traj.path(k, run) for k in range(k_count)]
    rel = [p - c for p in paths]
    variance = None
    if method == "pca":
        dirs, variance = _principal(np.concatenate(rel))
    else:
        dirs = np.stack([_filter_normalised(model, c, np.random.default_rng([seed, i]))
                         for i in range(2)])
        if np.linalg.matrix_rank(dirs) < 2:
            raise ConfigError("the random directions are zero (is the centre all zeros?)",
                              key="plane.centre")
    gram = dirs @ dirs.T
    coords, off = [], np.full((k_count, traj.shape[2] + 1), np.nan)
    explained = np.ones(k_count)
    for k, r in enumerate(rel):
        xy = np.linalg.solve(gram, dirs @ r.T).T  # (M, 2) least squares
        resid = r - xy @ dirs
        dist = np.linalg.norm(resid, axis=1)
        off[k, :len(r)] = dist
        total = float((r * r).sum())
        if total > 0:
            explained[k] = 1.0 - float((dist * dist).sum()) / total
        full = np.full((traj.shape[2] + 1, 2), np.nan)
        full[:len(r)] = xy
        coords.append(full)
    projected = Trajectories(labels=traj.labels, points=np.stack(coords)[:, None],
                             losses=traj.losses[:, run:run + 1], steps=traj.steps[:, run:run + 1],
                             diverged=traj.diverged[:, run:run + 1])
    pts = np.concatenate([xy[np.isfinite(xy).all(1)] for xy in coords] + [np.zeros((1, 2))])
    lo, hi = pts.min(0), pts.max(0)
    span = np.maximum(hi - lo, 1e-9 * max(1.0, float(np.abs(pts).max())))
    lo, hi = lo - margin * span, hi + margin * span
    alphas = np.linspace(lo[0], hi[0], int(resolution))
    betas = np.linspace(lo[1], hi[1], int(resolution))
    losses = np.empty((len(betas), len(alphas)))
    for j, b in enumerate(betas):  # a row at a time: R x D parameters in memory
        grid = c + alphas[:, None] * dirs[0] + b * dirs[1]
        losses[j] = model.f(grid)
    reach = np.array([np.linalg.norm(r, axis=1).max() for r in rel])
    return Plane(method, c, centre_text, dirs, alphas, betas, losses, projected, off, explained,
                 variance, reach, run)


def _principal(rows: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """The two leading right singular vectors of *rows* (M, D) and their shares of
    its squared norm, from the eigenvectors of the smaller Gram matrix (D x D or
    M x M: an SVD of 20,000 x 337 iterates takes seconds, this a fraction). Past
    PCA_ROWS x PCA_ROWS, every s-th row is used (s the smallest that fits)."""
    if min(rows.shape) > PCA_ROWS:
        rows = rows[::-(-len(rows) // PCA_ROWS)]
    if rows.shape[1] <= rows.shape[0]:
        gram = rows.T @ rows
        values, vectors = np.linalg.eigh(gram)
        top = vectors[:, ::-1][:, :2].T
    else:
        gram = rows @ rows.T
        values, vectors = np.linalg.eigh(gram)
        top = (rows.T @ vectors[:, ::-1][:, :2]).T
        top /= np.linalg.norm(top, axis=1, keepdims=True)
    values = np.maximum(values[::-1], 0.0)
    total = float(np.trace(gram))
    if len(values) < 2 or not values[1] > 1e-12 * values[0]:  # sigma2 / sigma1 > 1e-6
        raise ConfigError("the iterates span less than a plane around this centre",
                          key="plane.centre", hint="choose another centre, or random")
    top *= np.where(top[np.arange(2), np.abs(top).argmax(1)] < 0, -1.0, 1.0)[:, None]
    return top, (float(values[0] / total), float(values[1] / total))


def _centre(traj: Trajectories, centre: Any, run: int) -> tuple[np.ndarray, str]:
    finals = traj.final_points[:, run]
    if isinstance(centre, str):
        if centre == "best":
            losses = np.where(np.isfinite(traj.final_losses[:, run]), traj.final_losses[:, run],
                              np.inf)
            k = int(np.argmin(losses))
            return finals[k].copy(), f"the final point of {traj.labels[k]} (lowest final loss)"
        if centre == "start":
            return traj.points[0, run, 0].copy(), "the start"
        if centre == "mean":
            return finals.mean(0), "the mean of the final points"
        if centre in traj.labels:
            k = traj.labels.index(centre)
            return finals[k].copy(), f"the final point of {centre}"
        raise ConfigError(f"unknown centre '{centre}'", key="plane.centre",
                          hint="best, start, mean, an optimizer's label, or a point")
    point = np.asarray(centre, dtype=np.float64)
    if point.shape != (traj.dim,) or not np.isfinite(point).all():
        raise ConfigError(f"a centre point needs {traj.dim} finite numbers", key="plane.centre")
    return point.copy(), "a given point"


def _filter_normalised(model: Any, centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian direction, each filter rescaled to the norm of the centre's (biases 0)."""
    d = rng.standard_normal(centre.shape)
    shapes = getattr(model, "shapes", None)
    if shapes is None:  # no layers: the whole vector is one filter
        return d * (np.linalg.norm(centre) / (np.linalg.norm(d) + 1e-10))
    out = np.zeros_like(d)
    for (i, o), at in zip(shapes, model.offsets):
        w_d = d[at:at + i * o].reshape(i, o)  # W is (in, out): a filter is a column
        w_c = centre[at:at + i * o].reshape(i, o)
        scale = np.linalg.norm(w_c, axis=0) / (np.linalg.norm(w_d, axis=0) + 1e-10)
        out[at:at + i * o] = (w_d * scale).ravel()  # the biases that follow stay 0
    return out
