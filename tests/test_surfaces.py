"""Surfaces: derivatives against finite differences, kinks, loading and errors."""

import numpy as np
import pytest

from optviz.core.surfaces import list_surfaces, load_surface
from optviz.errors import SurfaceError

NAMES = list_surfaces()
SEED = ["simple-quad", "wobbly", "basins-and-walls", "ripple", "giant-plateau",
        "hills-and-canyon", "two-minimums"]


def random_points(surface, n=200, seed=0):
    (x0, x1), (y0, y1) = surface.domain
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    # stay clear of kinks (|x| at 0, max/min ties) where one-sided differences disagree
    return pts[(np.abs(pts) > 1e-3).all(axis=1)]


def central_gradient(f, pts, h=1e-6):
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    return np.column_stack([(f(pts + ex) - f(pts - ex)) / (2 * h),
                            (f(pts + ey) - f(pts - ey)) / (2 * h)])


def test_the_library_has_the_seed_and_classic_surfaces():
    for name in SEED + ["rosenbrock", "beale", "himmelblau", "rastrigin", "booth",
                        "six-hump-camel", "saddle", "ravine"]:
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    s = load_surface(name)
    pts = random_points(s)
    g = s.grad(pts)
    fd = central_gradient(s.f, pts)
    scale = np.maximum(1.0, np.abs(fd))
    assert np.all(np.abs(g - fd) / scale < 1e-5), name


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_finite_differences_of_the_gradient(name):
    s = load_surface(name)
    pts = random_points(s, seed=1)
    h = s.hess(pts)
    eps = 1e-6
    for j, e in enumerate(np.eye(2) * eps):
        fd = (s.grad(pts + e) - s.grad(pts - e)) / (2 * eps)  # column j of H
        scale = np.maximum(1.0, np.abs(fd))
        assert np.all(np.abs(h[:, :, j] - fd) / scale < 1e-4), name
    assert np.allclose(h[:, 0, 1], h[:, 1, 0])


@pytest.mark.parametrize("name", NAMES)
def test_value_and_grad_agree_with_f_and_grad(name):
    s = load_surface(name)
    pts = random_points(s, n=20)
    value, grad = s.value_and_grad(pts)
    assert value.shape == (len(pts),) and grad.shape == (len(pts), 2)
    assert value.dtype == np.float64 and grad.dtype == np.float64
    np.testing.assert_allclose(value, s.f(pts), rtol=1e-14, atol=1e-300)
    # works on any leading shape
    assert s.f(pts.reshape(-1, 1, 2)).shape == (len(pts), 1)
    assert s.hess(pts[:3]).shape == (3, 2, 2)


def inline(formula, **extra):
    return load_surface({"formula": formula, "domain": {"x": [-1, 1], "y": [-1, 1]}, **extra})


def test_kinks_are_subgradients():
    s = inline("abs(x) + 2*abs(y)")
    np.testing.assert_array_equal(s.grad(np.array([[0.0, 0.0]])), [[0.0, 0.0]])
    np.testing.assert_array_equal(s.grad(np.array([[0.5, -0.5]])), [[1.0, -2.0]])
    np.testing.assert_array_equal(s.hess(np.array([[0.0, 0.0]])), np.zeros((1, 2, 2)))
    w = load_surface("wobbly")  # |x|*sqrt(|x| + 0.1) has derivative 0 at x = 0
    g0 = w.grad(np.array([[0.0, 1.0]]))
    fd = central_gradient(w.f, np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(g0, fd, atol=1e-6)
    m = inline("max(x, y)")
    np.testing.assert_array_equal(m.grad(np.array([[0.3, 0.1], [0.1, 0.3], [0.2, 0.2]])),
                                  [[1, 0], [0, 1], [0.5, 0.5]])


def test_constant_derivatives_broadcast():
    s = inline("3*x + 1")
    pts = np.zeros((4, 2))
    np.testing.assert_array_equal(s.grad(pts), [[3, 0]] * 4)
    np.testing.assert_array_equal(s.f(pts), [1] * 4)
    np.testing.assert_array_equal(s.hess(pts), np.zeros((4, 2, 2)))


def test_inline_surface_defaults():
    s = inline("x**2 + y**2")
    assert s.name == "custom" and s.start is None and s.minima == ()
    assert s.bound().shape == (2, 2)


def test_surface_found_by_path_and_by_name(tmp_path):
    path = tmp_path / "bowl.yaml"
    path.write_text("formula: x**2 + 2*y**2\ndomain: {x: [-2, 2], y: [-1, 1]}\n"
                    "start: [1.5, 0.5]\nminima: [[0, 0]]\n")
    s = load_surface(path)
    assert s.name == "bowl" and s.domain == ((-2.0, 2.0), (-1.0, 1.0))
    assert load_surface(str(path)).formula == s.formula
    assert load_surface("wobbly").name == "wobbly"


@pytest.mark.parametrize("text,key,fragment", [
    ("formula: x**2\n", None, "has no 'domain'"),
    ("formula: x**2\ndomain: {x: [1, -1], y: [-1, 1]}\n", "domain", "is empty"),
    ("formula: x**2\ndomain: [-1, 1]\n", "domain", "x and y ranges"),
    ("formula: x**2\ndomain: {x: [-1, 1], y: [-1, 1]}\nlevles: 10\n", "levles",
     "did you mean 'levels'"),
    ("formula: x**2\ndomain: {x: [-1, 1], y: [-1, 1]}\nlevels: 1\n", "levels", "between 2"),
    ("formula: x**2\ndomain: {x: [-1, 1], y: [-1, 1]}\nstart: [1]\n", "start", "[x, y]"),
    ("formula: __import__('os')\ndomain: {x: [-1, 1], y: [-1, 1]}\n", "formula",
     "dunder"),
    ("domain: {x: [-1, 1], y: [-1, 1]}\nformula: x.y\n", "formula", "attribute"),
    ("", None, "empty"),
])
def test_bad_surface_files_name_file_line_and_key(tmp_path, text, key, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SurfaceError) as err:
        load_surface(path)
    e = err.value
    assert e.file == str(path) and fragment in str(e)
    if key:
        assert e.key == key
        assert e.line == next(i for i, l in enumerate(text.splitlines(), 1)
                              if l.startswith(key))


def test_unknown_surface_name_suggests():
    with pytest.raises(SurfaceError, match="did you mean 'wobbly'"):
        load_surface("wobly")
