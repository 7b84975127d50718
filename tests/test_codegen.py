"""The on-disk cache of derived surface code (optviz.core.codegen)."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_a_cache_hit_of_any_shipped_surface_does_not_import_sympy(cache):
    """The limits a hit enforces (sympy_checks_needed) still spare SymPy for them all."""
    from optviz.core.surfaces import list_surfaces

    for name in list_surfaces():
        s = load_surface(name)
        codegen.compiled(s.formula, lambda s=s: s._symbolic)
    code = ("import sys, numpy as np\n"
            "from optviz.core.surfaces import list_surfaces, load_surface\n"
            "for n in list_surfaces():\n"
            "    load_surface(n).grad(np.array([[0.5, -1.0]]))\n"
            "print('sympy' in sys.modules)\n")
    env = {**os.environ, "OPTVIZ_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False"]


# ------------------------------------------------------------ hostile cache entries
# An attacker who can write the cache folder writes entries with a valid hash (or
# not a file at all); a real `optviz run` must refuse each entry, derive the code
# again and finish (exit 0), or refuse the formula as it would without the cache.
OPTVIZ = str(Path(sys.executable).with_name("optviz"))
PLAIN = "x**2 + y**2 + 1"
GENUINE = ("def value(x, y):\n    return x**2 + y**2 + 1\n\n"
           "def value_and_grad(x, y):\n    return [x**2 + y**2 + 1, 2*x, 2*y]\n\n"
           "def hessian(x, y):\n    return [2, 0, 2]\n")


def _config(folder: Path, formula: str) -> Path:
    path = folder / "c.yaml"
    path.write_text(f"surface: {{formula: '{formula}', domain: {{x: [-2, 2], y: [-2, 2]}}}}\n"
                    "start: [1, 1]\nsteps: 3\noptimizers: [{type: sgd, lr: 0.1}]\n"
                    "render: {formats: [png], size: [3, 2], dpi: 50}\n"
                    f"output: {folder / 'out'}\n")
    return path


def _optviz(cache: Path, *args, timeout=60):
    def limit_memory():  # a runaway allocation fails here instead of taking the machine
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    env = {**os.environ, "OPTVIZ_CACHE_DIR": str(cache)}
    return subprocess.run([OPTVIZ, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit_memory)


def _forge(cache: Path, formula: str, source: str, names: dict, key=None) -> Path:
    """Write an entry as an attacker would: right key and a recomputed hash."""
    entry = {"key": key if key is not None else codegen.cache_key(formula),
             "source": source, "names": names}
    entry["sha256"] = codegen._digest(entry)
    path = codegen.cache_path(formula, cache)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(entry))
    os.chmod(path, 0o600)
    return path


def _first_loss(folder: Path) -> float:
    import csv

    with open(folder / "out" / "trajectories.csv", newline="") as fh:
        return float(next(csv.DictReader(fh))["loss"])


HOSTILE = {
    # 9**9**9 in Python integers never finishes
    "hang": (GENUINE.replace("return x**2 + y**2 + 1\n", "return 0*(9**9**9) + x**2 + y**2 + 1\n",
                             1), {}),
    # 'value' bound to a NumPy name, then shadowed by the function itself: recursion
    "recursion": (GENUINE.replace("return x**2 + y**2 + 1\n", "return value(x, y)\n", 1),
                  {"value": "sin"}),
    # 8 PB of list
    "allocation": (GENUINE.replace("return x**2 + y**2 + 1\n",
                                   "return reduce(maximum, [x]*10**15)\n", 1),
                   {"reduce": "functools.reduce", "maximum": "maximum"}),
}


def test_a_keyword_other_than_selects_default_is_refused():
    """add(..., out=x) would write into the caller's points."""
    src = GENUINE.replace("return x**2 + y**2 + 1\n", "return add(x**2, y**2 + 1, out=x)\n", 1)
    with pytest.raises(ValueError, match="keyword"):
        codegen._build(src, {"add": "add"})


@pytest.mark.parametrize("kind", [*HOSTILE, "fifo", "nested", "huge"])
def test_a_hostile_cache_entry_is_refused_and_rebuilt(tmp_path, kind):
    cache = tmp_path / "cache"
    cfg = _config(tmp_path, PLAIN)
    path = codegen.cache_path(PLAIN, cache)
    path.parent.mkdir(mode=0o700, parents=True)
    if kind in HOSTILE:
        _forge(cache, PLAIN, *HOSTILE[kind])
    elif kind == "fifo":  # open() would wait for a writer forever
        os.mkfifo(path, 0o600)
    elif kind == "nested":  # json's parser recurses once per '['
        path.write_text("[" * 100_000)
        os.chmod(path, 0o600)
    else:  # a sparse 3 GB file
        with open(path, "wb") as fh:
            fh.truncate(3 << 30)
        os.chmod(path, 0o600)
    r = _optviz(cache, "run", cfg, "-q")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert _first_loss(tmp_path) == 3.0  # x**2 + y**2 + 1 at (1, 1): the true code ran
    rebuilt = json.loads(path.read_text())  # the entry was written anew, sound
    assert rebuilt["key"] == codegen.cache_key(PLAIN) and "9**9" not in rebuilt["source"]
    assert codegen._build(rebuilt["source"], rebuilt["names"])[0](np.array(1.0),
                                                                np.array(1.0)) == 3.0


def test_an_entry_from_another_build_is_not_trusted(tmp_path):
    """The key covers the generating code: an entry of an older build with the same
    version strings (the key as it was before: no digest of the generator) and
    different code is rebuilt, not used."""
    from optviz import __version__

    cache = tmp_path / "cache"
    cfg = _config(tmp_path, PLAIN)
    old_key = {"format": 1, "formula": PLAIN, "optviz": __version__,
               "sympy": codegen.sympy_version(), "numpy": np.__version__}
    stale = GENUINE.replace("return x**2 + y**2 + 1\n", "return x**2 + y**2 + 7\n", 1)
    entry = {"key": old_key, "source": stale, "names": {}}
    entry["sha256"] = codegen._digest(entry)
    old_path = cache / "surfaces" / (hashlib.sha256(json.dumps(old_key, sort_keys=True)
                                                    .encode()).hexdigest()[:32] + ".json")
    new_path = codegen.cache_path(PLAIN, cache)
    for path in {old_path, new_path}:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(json.dumps(entry))
        os.chmod(path, 0o600)
    r = _optviz(cache, "run", cfg, "-q")
    assert r.returncode == 0, r.stderr
    assert _first_loss(tmp_path) == 3.0  # not 9.0: the old entry's code did not run
    assert "generator" in codegen.cache_key(PLAIN)


# refused by the SymPy checks: a constant part SymPy folds (10**10**3), and a
# gradient too large to differentiate again (a product of 39 sums: 8,852 operations)
REFUSED = {"folded": ("(x - x + 10)**(x - x + 10)**(x - x + 3)", "is too large"),
           "gradient": ("*".join(f"(x + {i}*y)" for i in range(1, 40)), "operations")}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_cache_hit_enforces_the_formula_limits(tmp_path, kind):
    formula, message = REFUSED[kind]
    cfg = _config(tmp_path, formula)
    r = _optviz(tmp_path / "empty-cache", "run", cfg, "-q")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    without = r.stderr
    cache = tmp_path / "cache"  # a forged entry for the formula: harmless code, valid hash
    _forge(cache, formula, GENUINE, {})
    r = _optviz(cache, "run", cfg, "-q")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr == without
    assert not (tmp_path / "out").exists()


def _random_formula(rng, depth):
    names = ["abs", "sqrt", "exp", "log", "sin", "cos", "tan", "tanh", "atan", "sinh", "cosh"]
    r = rng.random()
    if depth == 0 or r < 0.2:
        return rng.choice(["x", "y", str(rng.randint(1, 9)), "pi", f"{rng.random():.3f}",
                           "(x - x + 2)"])
    if r < 0.65:
        op = rng.choice(["+", "-", "*", "/", "**"])
        if op == "**":
            exponent = rng.choice(["2", "3", "0.5", "-1", f"({_random_formula(rng, depth - 1)})"])
            return f"({_random_formula(rng, depth - 1)})**{exponent}"
        return f"({_random_formula(rng, depth - 1)} {op} {_random_formula(rng, depth - 1)})"
    if r < 0.9:
        return f"{rng.choice(names)}({_random_formula(rng, depth - 1)})"
    return f"{rng.choice(['min', 'max'])}({_random_formula(rng, depth - 1)}, " \
           f"{_random_formula(rng, depth - 1)})"


def test_what_a_cache_hit_skips_sympy_for_passes_sympys_checks():
    """sympy_checks_needed is False only where check_symbolic passes: over random
    formulas (constant parts SymPy folds included) and products near the gradient
    limit (the SymPy-free bound is at its loosest there)."""
    import random

    from optviz.errors import SurfaceError
    from optviz.input import formula as F

    rng = random.Random(19)
    formulas = [_random_formula(rng, rng.randint(2, 6)) for _ in range(250)]
    formulas += ["*".join(f"(x + {i}*y)" for i in range(1, n)) for n in range(2, 45, 3)]
    formulas += ["*".join(f"sin(x + {i})" for i in range(1, n)) for n in range(2, 45, 3)]
    skipped = refused = 0
    for text in formulas:
        try:
            tree = F.validate(text)
        except SurfaceError:
            continue
        try:
            F.check_symbolic(tree)
        except SurfaceError:
            refused += 1
            assert F.sympy_checks_needed(tree), text
            continue
        skipped += not F.sympy_checks_needed(tree)
    assert skipped > 100 and refused > 5  # both sides were exercised
