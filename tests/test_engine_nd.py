"""The engine in D dimensions: every optimizer on (N, D) parameters, lockstep batches
equal to runs alone, and D = 2 as a special case that changes nothing."""

import numpy as np
import pytest
from test_optim import COMPOSED, SETTINGS

from optviz.core.engine import Noise, NoisyGradients, simulate
from optviz.core.optim import make_optimizer
from optviz.core.optim.transforms import _newton_2d, _newton_nd
from optviz.core.surfaces import load_surface

DIM = 5


class Quartic:
    """f(θ) = ½ θᵀAθ − bᵀθ + ¼ Σ θᵢ⁴ in D dimensions (A symmetric positive definite).

    Row by row (elementwise products and sums over the last axis, no matrix
    product whose BLAS kernel could depend on N), so a row's numbers do not
    depend on the rest of the batch."""

    def __init__(self, dim=DIM, seed=3):
        rng = np.random.default_rng(seed)
        q = rng.standard_normal((dim, dim))
        self.A = q @ q.T / dim + np.diag(np.linspace(0.5, 3.0, dim))
        self.b = rng.standard_normal(dim)
        self.dim = dim

    def value_and_grad(self, p):
        ap = (self.A * p[:, None, :]).sum(-1)
        value = (0.5 * ap * p - self.b * p + 0.25 * p ** 4).sum(-1)
        return value, ap - self.b + p ** 3

    def grad(self, p):
        return self.value_and_grad(p)[1]

    def hess(self, p):
        return self.A + np.einsum("ni,ij->nij", 3 * p ** 2, np.eye(self.dim))

    def bound(self):
        return np.array([np.full(self.dim, -50.0), np.full(self.dim, 50.0)])


class Twice:
    """A 2-D surface twice over: f(θ) = s(θ₀, θ₁) + s(θ₂, θ₃), D = 4."""

    dim = 4

    def __init__(self, surface):
        self.s = surface

    def value_and_grad(self, p):
        v1, g1 = self.s.value_and_grad(p[:, :2])
        v2, g2 = self.s.value_and_grad(p[:, 2:])
        return v1 + v2, np.concatenate([g1, g2], axis=1)

    def grad(self, p):
        return self.value_and_grad(p)[1]

    def hess(self, p):
        out = np.zeros((len(p), 4, 4))
        out[:, :2, :2] = self.s.hess(p[:, :2])
        out[:, 2:, 2:] = self.s.hess(p[:, 2:])
        return out

    def bound(self):
        b = self.s.bound()
        return np.concatenate([b, b], axis=1)


STARTS = np.random.default_rng(7).uniform(-1.5, 1.5, (4, DIM))


def test_the_test_oracle_gradient_and_hessian_agree_with_finite_differences():
    q, p, h = Quartic(), STARTS[:2], 1e-6
    eye = np.eye(DIM)
    fd = np.stack([(q.value_and_grad(p + h * e)[0] - q.value_and_grad(p - h * e)[0]) / (2 * h)
                   for e in eye], axis=1)
    np.testing.assert_allclose(q.grad(p), fd, rtol=1e-7, atol=1e-7)
    fd_h = np.stack([(q.grad(p + h * e) - q.grad(p - h * e)) / (2 * h) for e in eye], axis=1)
    np.testing.assert_allclose(q.hess(p), fd_h, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", COMPOSED)
def test_every_optimizer_runs_in_d_dimensions_and_stacked_equals_alone(kind):
    q = Quartic()
    opt = {"o": make_optimizer(kind, **SETTINGS[kind])}
    together = simulate(q, opt, STARTS, 25)
    assert together.points.shape == (1, len(STARTS), 26, DIM) and together.dim == DIM
    assert np.isfinite(together.final_losses).all()
    for i in range(len(STARTS)):
        alone = simulate(q, opt, STARTS[i], 25)
        np.testing.assert_array_equal(together.points[0, i], alone.points[0, 0])
        np.testing.assert_array_equal(together.losses[0, i], alone.losses[0, 0])
    # and it moved: every optimizer lowers this loss from these starts within 25 steps
    assert (together.final_losses[0] < together.losses[0, :, 0]).all()


# Reductions over a run's coordinates (a norm, a sum) or a D x D solve change the
# numbers when the run has more coordinates: these are checked to rounding only.
NOT_ELEMENTWISE = {"sam": "the perturbation's norm is over the run's D coordinates",
                   "prodigy": "its estimate sums over the run's D coordinates",
                   "newton": "D > 2 solves H d = g; D = 2 uses the 2 x 2 inverse"}


@pytest.mark.parametrize("kind", COMPOSED)
def test_a_surface_twice_over_moves_each_half_as_the_surface_alone(kind):
    wobbly = load_surface("wobbly")
    opt = {"o": make_optimizer(kind, **SETTINGS[kind])}
    start = np.array([1.2, -0.7])
    flat = simulate(wobbly, opt, start, 30)
    both = simulate(Twice(wobbly), opt, np.concatenate([start, start]), 30)
    for half in (both.points[0, 0, :, :2], both.points[0, 0, :, 2:]):
        if kind == "newton":
            np.testing.assert_allclose(half, flat.points[0, 0], rtol=1e-12, atol=1e-12)
        elif kind not in NOT_ELEMENTWISE:
            np.testing.assert_array_equal(half, flat.points[0, 0])
    if kind not in NOT_ELEMENTWISE:
        np.testing.assert_array_equal(both.losses[0, 0], 2 * flat.losses[0, 0])


def test_newton_in_d_dimensions_agrees_with_the_two_by_two_inverse():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((200, 2, 2))
    h = h + np.swapaxes(h, 1, 2)  # symmetric, about half not positive definite
    h[:5] = 0.0  # singular
    g = rng.standard_normal((200, 2))
    for fallback in (True, False):
        for lam in (0.0, 0.3, rng.uniform(0, 1, 200)):
            d2, pd2 = _newton_2d(h, g, lam, fallback)
            dn, pdn = _newton_nd(h, g, lam, fallback)
            np.testing.assert_array_equal(pd2, pdn)
            np.testing.assert_allclose(dn, d2, rtol=1e-9, atol=1e-12)
    assert 20 < pd2.sum() < 180  # both kinds are exercised


def test_newton_solves_a_quadratic_in_one_step_in_d_dimensions():
    q = Quartic()
    q_only = type("Q", (), {"dim": DIM, "A": q.A, "b": q.b})()
    q_only.grad = lambda p: (q.A * p[:, None, :]).sum(-1) - q.b
    q_only.value_and_grad = lambda p: (((0.5 * q_only.grad(p) - 0.5 * q.b) * p).sum(-1),
                                       q_only.grad(p))
    q_only.hess = lambda p: np.broadcast_to(q.A, (len(p), DIM, DIM))
    tr = simulate(q_only, {"n": make_optimizer("newton")}, STARTS, 1)
    np.testing.assert_allclose(tr.points[0, :, 1], np.tile(np.linalg.solve(q.A, q.b), (4, 1)),
                               rtol=1e-12, atol=1e-12)
    # a saddle in 5-D: Newton falls back to a gradient step and counts it
    saddle = type("S", (), {"dim": DIM})()
    diag = np.array([1.0, 2.0, -1.0, 3.0, 4.0])
    saddle.value_and_grad = lambda p: (0.5 * (diag * p * p).sum(-1), diag * p)
    saddle.grad = lambda p: diag * p
    saddle.hess = lambda p: np.broadcast_to(np.diag(diag), (len(p), DIM, DIM))
    tr = simulate(saddle, {"n": make_optimizer("newton", lr=0.1)}, STARTS[:2], 3)
    assert tr.counters["newton_fallbacks"].tolist() == [[3, 3]]
    np.testing.assert_allclose(tr.points[0, :, 1], STARTS[:2] - 0.1 * diag * STARTS[:2])


def test_sophia_takes_the_hessian_diagonal_in_d_dimensions():
    q = Quartic()
    tr = simulate(q, {"s": make_optimizer("sophia", lr=0.05, gamma=0.5, k=1)}, STARTS[:1], 1)
    p = STARTS[0]
    g = q.grad(p[None])[0]
    m = 0.04 * g
    h = 0.01 * np.diagonal(q.hess(p[None])[0])
    expected = p - 0.05 * np.clip(m / np.maximum(0.5 * h, 1e-12), -1, 1)
    np.testing.assert_allclose(tr.points[0, 0, 1], expected, rtol=1e-14, atol=1e-15)


def test_gaussian_noise_in_d_dimensions_draws_d_numbers_per_step():
    q = Quartic()
    noisy = NoisyGradients(q, 0.5, 4, dim=DIM)
    noisy.next_step()
    expected = 0.5 * np.random.default_rng(4).standard_normal(DIM)
    np.testing.assert_array_equal(noisy.current, expected)
    opt = {"a": make_optimizer("adam", lr=0.05), "s": make_optimizer("sgd", lr=0.01)}
    together = simulate(q, opt, STARTS, 10, noise=Noise(0.5, 4))
    for i in range(len(STARTS)):
        alone = simulate(q, opt, STARTS[i], 10, noise=Noise(0.5, 4))
        np.testing.assert_array_equal(together.points[:, i], alone.points[:, 0])
    # the noise made a difference
    assert not np.array_equal(together.points, simulate(q, opt, STARTS, 10).points)


def test_starts_must_match_the_oracle_dimension():
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        simulate(Quartic(), {"s": make_optimizer("sgd")}, [1.0, 2.0], 3)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        simulate(load_surface("wobbly"), {"s": make_optimizer("sgd")}, [1.0, 2.0, 3.0], 3)


def test_the_xy_csv_refuses_points_that_are_not_2d():
    tr = simulate(Quartic(), {"s": make_optimizer("sgd")}, STARTS[0], 3)
    assert tr.final_points.shape == (1, 1, DIM)
    np.testing.assert_array_equal(tr.final_points[0, 0], tr.points[0, 0, 3])
    with pytest.raises(ValueError, match="5 coordinates"):
        tr.to_csv_text()
