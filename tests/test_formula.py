"""The formula language: whitelisted, and refused before anything is evaluated."""

import signal

import pytest

from optviz.errors import SurfaceError
from optviz.input.formula import parse, validate

GOOD = [
    "x**2 + y**2",
    "(x**2 + y**2)/3 + abs(x)*sqrt(abs(x) + 0.1) + 3*sin(x + y) + 3 + 8*exp(-2*((x + 1)**2 + (y + 2)**2))",
    "-x + +y - 1e-3",
    "log(1 + x**2) + tanh(y) + arctan(x) + atan(y) + sinh(x)/cosh(y) + tan(x/10)",
    "max(x, y) + min(x**2, 1) + pi",
    "2**x + x**y + x**-2 + x**0.5",
]

# (formula, a fragment the message must contain)
BAD = [
    ('__import__("os").system("echo pwned")', "function calls"),
    ("x.__class__", "attribute access"),
    ("().__class__.__bases__[0].__subclasses__()", "function calls"),
    ("x[0]", "indexing"),
    ("lambda: 1", "lambda"),
    ("[x for x in y]", "comprehension"),
    ("'abc'", "string"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("z + 1", "unknown name 'z'"),
    ("__builtins__", "dunder"),
    ("x if y else 1", "'if' expression"),
    ("x == y", "comparison"),
    ("x and y", "'and'/'or'"),
    ("x ^ 2", "BitXor"),
    ("x; y", "not a valid expression"),
    ("x = 1", "not a valid expression"),
    ("sin(x, y)", "takes 1 argument"),
    ("max(x)", "takes 2 arguments"),
    ("sin(x=1)", "keyword"),
    ("sin", "is a function"),
    ("", "empty"),
    ("True + x", "True"),
]

# Things that would hang or exhaust SymPy/Python if evaluated.
HANGS = [
    "10**10**10",
    "(10**6)**(10**6)",
    "2**2**2**2**2**2",
    "x**(2**200)",
    "9" * 5000,
    "1e308*1e308*x",
    "exp(exp(exp(100)))",
    "(" * 1000 + "x" + ")" * 1000,
    "-" * 100_000 + "x",
    "x+" * 3000 + "x",
    "sin(" * 200 + "x" + ")" * 200,
]


@pytest.mark.parametrize("text", GOOD)
def test_accepts_the_language(text):
    expr, (x, y) = parse(text)
    assert expr.free_symbols <= {x, y}


@pytest.mark.parametrize("text,fragment", BAD)
def test_refuses_with_a_clear_message(text, fragment):
    with pytest.raises(SurfaceError) as err:
        validate(text)
    assert fragment in str(err.value)
    assert err.value.key == "formula"


def _alarm(signum, frame):  # a hang guard, not a speed target
    raise TimeoutError("formula validation hung")


@pytest.mark.parametrize("text", HANGS, ids=lambda t: t[:30])
def test_refuses_hostile_formulas_without_hanging(text):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        with pytest.raises(SurfaceError):
            parse(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_never_evaluates_user_text(monkeypatch):
    """SymPy's string parser (which calls eval) is never used."""
    import sympy

    def forbidden(*a, **k):
        raise AssertionError("sympify/parse_expr called on user text")

    monkeypatch.setattr(sympy, "sympify", forbidden)
    monkeypatch.setattr(sympy, "parse_expr", forbidden, raising=False)
    expr, _ = parse("x**2 + sin(y)")
    assert str(expr) == "x**2 + sin(y)"


def test_did_you_mean_for_a_misspelt_function():
    with pytest.raises(SurfaceError) as err:
        validate("sqr(x) + y")
    assert "did you mean 'sqrt'" in str(err.value)


def test_non_string_formula():
    with pytest.raises(SurfaceError, match="must be a string"):
        validate(42)
