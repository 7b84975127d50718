"""The on-disk cache of derived surface code (optviz.core.codegen)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from optviz.core import codegen
from optviz.core.surfaces import load_surface

# abs/sign (wobbly), pi (rastrigin), min/max -> reduce and select (the inline one)
FORMULAS = [load_surface("wobbly").formula, load_surface("rastrigin").formula,
            "min(x, y)**2 + max(x**2, 2*y) + tanh(y) + atan(x)"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _derive(formula):
    return load_surface({"formula": formula, "domain": {"x": [-1, 1], "y": [-1, 1]}})._symbolic


def _grid():
    xs = np.linspace(-4.1, 4.3, 61)  # includes points off and on the kinks (x = 0 via xs-xs)
    X, Y = np.meshgrid(np.concatenate([xs, [0.0]]), np.concatenate([xs, [0.0]]))
    return X, Y


def _bits(out):
    """Each output of a generated function as raw float64 bits on the grid's shape."""
    shape = _grid()[0].shape
    return [np.broadcast_to(np.asarray(v, dtype=np.float64), shape).view(np.uint64)
            for v in (out if isinstance(out, list) else [out])]


@pytest.mark.parametrize("formula", FORMULAS)
def test_cached_functions_equal_fresh_lambdify_bit_for_bit(cache, formula):
    import sympy as sp

    expr, grad, hess, xy = _derive(formula)
    X, Y = _grid()
    fresh = [sp.lambdify(xy, e, modules="numpy", cse=True) for e in (expr, [expr, *grad], hess)]
    first = codegen.compiled(formula, lambda: _derive(formula))  # derives and writes
    assert codegen.cache_path(formula).is_file()
    second = codegen.compiled(formula, lambda: pytest.fail("the cache was not used"))
    with np.errstate(all="ignore"):
        for f_fresh, f_first, f_second in zip(fresh, first, second):
            want = _bits(f_fresh(X, Y))
            for got in (_bits(f_first(X, Y)), _bits(f_second(X, Y))):
                assert len(got) == len(want)
                for a, b in zip(got, want):
                    np.testing.assert_array_equal(a, b)


def _entry(formula):
    return json.loads(codegen.cache_path(formula).read_text())


def _rewrite(formula, entry, *, fix_hash=True):
    if fix_hash:
        entry["sha256"] = codegen._digest(entry)
    path = codegen.cache_path(formula)
    path.write_text(json.dumps(entry))
    os.chmod(path, 0o600)


def _rebuilt(formula):
    calls = []

    def derive():
        calls.append(1)
        return _derive(formula)

    funcs = codegen.compiled(formula, derive)
    return bool(calls), funcs


@pytest.mark.parametrize("damage", ["garbage", "truncated", "edited", "stale", "forged",
                                    "group-writable", "empty"])
def test_a_bad_cache_file_is_rebuilt_not_trusted(cache, damage):
    formula = FORMULAS[0]
    codegen.compiled(formula, lambda: _derive(formula))
    path = codegen.cache_path(formula)
    good = path.read_text()
    entry = _entry(formula)
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        path.write_text(good[: len(good) // 2])
    elif damage == "empty":
        path.write_text("")
    elif damage == "edited":  # a changed constant without a matching hash
        entry["source"] = entry["source"].replace("3*", "4*", 1)
        _rewrite(formula, entry, fix_hash=False)
    elif damage == "stale":  # written under another SymPy version
        entry["key"]["sympy"] = "0.0.1"
        _rewrite(formula, entry)
    elif damage == "forged":  # an attacker who recomputes the hash
        entry["source"] = entry["source"].replace(
            "def value(x, y):\n", "def value(x, y):\n    open('/tmp/optviz-owned', 'w')\n", 1)
        assert "open(" in entry["source"]
        _rewrite(formula, entry)
    elif damage == "group-writable":
        os.chmod(path, 0o620)
    rebuilt, (value, value_and_grad, hessian) = _rebuilt(formula)
    assert rebuilt
    assert json.loads(path.read_text()) == json.loads(good)  # written back as it should be
    assert value(np.array(0.0), np.array(0.0)) == pytest.approx(3 + 8 * np.exp(-10))
    assert not os.path.exists("/tmp/optviz-owned")


def test_a_sound_cache_file_is_used(cache):
    formula = FORMULAS[0]
    codegen.compiled(formula, lambda: _derive(formula))
    rebuilt, _ = _rebuilt(formula)
    assert not rebuilt
    assert oct(codegen.cache_path(formula).stat().st_mode & 0o777) == "0o600"
    assert oct(codegen.cache_path(formula).parent.stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize("source", [
    "import os\ndef value(x, y):\n    return x\n",
    "def value(x, y):\n    return x.__class__\n",
    "def value(x, y):\n    return exp('a')\n",
    "def value(x, y):\n    return (lambda: x)()\n",
    "def value(x, y):\n    return open(x)\n",
])
def test_the_whitelist_refuses_anything_but_arithmetic(source):
    src = source + "def value_and_grad(x, y):\n    return [x, 1, 1]\n" \
                   "def hessian(x, y):\n    return [0, 0, 0]\n"
    with pytest.raises(ValueError):
        codegen._build(src, {"exp": "exp"})


def test_a_namespace_entry_must_be_a_numpy_ufunc_or_constant():
    src = ("def value(x, y):\n    return load(x)\n"
           "def value_and_grad(x, y):\n    return [x, 1, 1]\n"
           "def hessian(x, y):\n    return [0, 0, 0]\n")
    with pytest.raises(ValueError):
        codegen._build(src, {"load": "load"})
    with pytest.raises(ValueError):
        codegen._build(src.replace("load(x)", "f(x)"), {"f": "__import__"})


def test_every_shipped_surface_is_cacheable():
    """No shipped formula needs a name outside the whitelist (the session's cache)."""
    from optviz.core.surfaces import list_surfaces

    for name in list_surfaces():
        surface = load_surface(name)
        surface.f(np.zeros((1, 2)))
        assert codegen.cache_path(surface.formula).is_file(), name


def test_an_empty_env_var_turns_the_disk_cache_off(monkeypatch):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", "")
    assert codegen.cache_dir() is None and codegen.cache_path("x") is None
    monkeypatch.delenv("OPTVIZ_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert str(codegen.cache_dir()) == "/somewhere/optviz"


def test_a_cache_hit_does_not_import_sympy(cache):
    surface = load_surface("wobbly")
    codegen.compiled(surface.formula, lambda: surface._symbolic)  # fill this test's cache
    p = np.array([[0.5, -1.0]])
    code = ("import sys, numpy as np\n"
            "from optviz.core.surfaces import load_surface\n"
            "s = load_surface('wobbly')\n"
            "p = np.array([[0.5, -1.0]])\n"
            "print('sympy' in sys.modules, repr(float(s.grad(p)[0, 0])),"
            " repr(float(s.hess(p)[0, 1, 1])))\n")
    env = {**os.environ, "OPTVIZ_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", repr(float(surface.grad(p)[0, 0])),
                   repr(float(surface.hess(p)[0, 1, 1]))]
