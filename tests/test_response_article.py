"""The article's gradient-response figures, all eight families, against the script.

The seed article's response script (a Python file beside the article) defines
eight update rules on a 1-D gradient signal and draws each on six signals for
three parameter values. Below is an independent transcription of its loops,
scalar Python, one value at a time; optviz's response configs must reproduce
all 144 curves to 1e-9, read back from the ``response.csv`` they write.
"""

import csv
import math
from dataclasses import replace

import numpy as np
import pytest

from optviz.analysis.response import (
    SIGNALS,
    article_signals,
    read_article,
    read_linear,
    respond,
)
from optviz.app.runner import run_response
from optviz.errors import ConfigError
from optviz.input.config import load_config, parse_config


# ------------------------------------------------------------ the script, transcribed
def script_read(xs, s):
    """The script's reading of the signal at a fractional index (Python indexing)."""
    lo, hi = math.floor(s), math.ceil(s)
    if lo == hi or hi >= len(xs):
        return xs[lo]
    if lo < 0:
        return xs[hi]
    return xs[lo] + (s - lo) * xs[hi]


def script_look(xs, s):
    return script_read(xs, s) if s < len(xs) else 0


def momentum(xs, gamma, lr=0.25):
    v, out = 0.0, []
    for g in xs:
        v = gamma * v + lr * g
        out.append(v)
    return out


def nesterov(xs, gamma, lr=0.25):
    v, out = 0.0, []
    for i in range(len(xs)):
        v = gamma * v + lr * script_look(xs, i + gamma * v)
        out.append(v)
    return out


def smoothed_nesterov(xs, gamma, lr=0.25):
    v, out = 0.0, []
    for i in range(len(xs)):
        reads = [script_look(xs, i + gamma * v * q) for q in (1 / 4, 1 / 2, 3 / 4, 1)]
        v = gamma * v + lr * sum(reads) / 4
        out.append(v)
    return out


def adagrad(xs, eps, lr=2.5):
    acc, out = 0.0, []
    for g in xs:
        acc += g * g
        out.append(lr / math.sqrt(acc + eps) * g)
    return out


def rmsprop(xs, gamma, lr=0.25, eps=1e-5):
    avg, out = 0.0, []
    for g in xs:
        avg = gamma * avg + (1 - gamma) * g * g
        out.append(lr / math.sqrt(avg + eps) * g)
    return out


def adadelta(xs, gamma, start, eps=1e-3):
    avg, upd, out = 0.0, start, []
    for g in xs:
        avg = gamma * avg + (1 - gamma) * g * g
        step = math.sqrt(upd + eps) / math.sqrt(avg + eps) * g
        out.append(step)
        upd = gamma * upd + (1 - gamma) * step * step
    return out


def adam(xs, beta1, beta2=0.999, lr=0.25, eps=1e-7):
    m = v = 0.0
    out = []
    for t, g in enumerate(xs, 1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        out.append(lr / math.sqrt(v / (1 - beta2 ** t) + eps) * (m / (1 - beta1 ** t)))
    return out


# config name -> (script rule, the three values the article uses)
FAMILIES = {
    "momentum": (momentum, [0.25, 0.9, 0.975]),
    "nesterov": (nesterov, [0.25, 0.9, 0.975]),
    "smoothed-nesterov": (smoothed_nesterov, [0.25, 0.9, 0.975]),
    "adagrad": (adagrad, [1e-7, 0.1, 10.0]),
    "rmsprop": (rmsprop, [0.25, 0.9, 0.975]),
    "adadelta-zero-start": (lambda xs, g: adadelta(xs, g, 0.0), [0.25, 0.9, 0.975]),
    "adadelta-big-start": (lambda xs, g: adadelta(xs, g, 50.0), [0.25, 0.9, 0.975]),
    "adam": (adam, [0.25, 0.9, 0.975]),
}


def script_signals():
    """The script's six signals, from its own seeded legacy NumPy stream."""
    rng = np.random.RandomState(413)
    t = range(300)
    return {
        "spikes": [float(int(i % 60 == 0)) for i in t],
        "rectangles": [float(2 * int(i % 40 < 20) - 1) for i in t],
        "noisy-sin": [math.sin(i / 20) + rng.random_sample() - 0.5 for i in t],
        "very-noisy-sin": [math.sin(i / 20) / 5 + rng.random_sample() - 0.5 for i in t],
        "uneven-sawtooth": [i % 20 / (15 * int(i > 80) + 5) for i in t],
        "saturation": [float(int(i % 80 < 40)) for i in t],
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_family_reproduces_the_script_read_back_from_csv(family, tmp_path):
    cfg = load_config(f"article/response-{family}")
    rule, values = FAMILIES[family]
    assert list(cfg.vary[1]) == values and set(cfg.signals) == set(SIGNALS)
    small = replace(cfg, output=tmp_path, render=replace(cfg.render, size=(3, 2), dpi=30))
    run_response(small)
    with open(tmp_path / "response.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    signals = script_signals()
    curves = 0
    for name, xs in signals.items():
        np.testing.assert_allclose(
            [float(r["g"]) for r in rows if r["signal"] == name and r["label"].endswith(
                f"={values[0]:g}")], xs, rtol=0, atol=1e-15)
        for value in values:
            label = f"{cfg.vary[0]}={value:g}"
            got = [(int(r["t"]), float(r["step"])) for r in rows
                   if r["signal"] == name and r["label"] == label]
            assert [t for t, _ in got] == list(range(1, 301))
            np.testing.assert_allclose([s for _, s in got], rule(xs, value), rtol=1e-9,
                                       atol=1e-12, err_msg=f"{family} {name} {label}")
            curves += 1
    assert curves == 18  # 8 families x 18 = the article's 144 curves


def test_batch_of_the_article_set_includes_the_new_families():
    from optviz.app.batch import collect_configs
    from optviz.input import library

    names = {p.stem for p in collect_configs([library.data_dir("configs") / "article"])}
    assert {"response-nesterov", "response-smoothed-nesterov"} <= names
    assert all(f"response-{f}" in names for f in FAMILIES)


# ------------------------------------------------------------ the reading rule by hand
X = np.array([1.0, 2.0, 4.0, 8.0])


@pytest.mark.parametrize("s, expected", [
    (1.0, 2.0),              # whole: X[1]
    (1.25, 2.0 + 0.25 * 4),  # X[floor] + frac * X[ceil], X[floor] not weighted by 0.75
    (3.5, 8.0),              # ceil past the end: X[floor]
    (-0.5, 1.0),             # floor < 0: X[ceil]
    (-1.5, 8.0),             # floor < 0, ceil = -1: the script's Python index, the last sample
    (-2.0, 4.0),             # whole and negative: X[-2]
    (4.0, 0.0),              # at or past the end: 0
    (-7.0, 0.0),             # below -n the script fails; optviz reads 0
])
def test_read_article_by_hand(s, expected):
    assert read_article(X, np.array([s]))[0] == expected


def test_read_linear_is_a_true_interpolation():
    np.testing.assert_allclose(read_linear(X, np.array([1.25, 2.5, -0.5, 3.0, 3.5])),
                               [2.5, 6.0, 0.0, 8.0, 0.0])


def test_nesterov_first_steps_by_hand():
    """lr 0.5, γ 0.8 on [1, 2, 4, 8]: fractional look-ahead, then past the end."""
    out = respond("nag", X, conventions="script", vary=("momentum", [0.8]), lr=0.5)[0]
    # i=0: v=0, read X[0] = 1            -> v = 0.5
    # i=1: γv = 0.4, read X[1] + 0.4 X[2] = 3.6 -> v = 0.4 + 1.8 = 2.2
    # i=2: γv = 1.76, s = 3.76: ceil past the end, X[3] = 8 -> v = 1.76 + 4 = 5.76
    # i=3: γv = 4.608, s = 7.608 >= 4: 0  -> v = 4.608
    np.testing.assert_allclose(out, [0.5, 2.2, 5.76, 4.608], rtol=1e-15)


def test_nesterov_reads_a_negative_index_as_the_script_does():
    """A negative velocity looks back before the start: floor < 0 reads X[ceil]."""
    g = np.array([-4.0, 1.0, 3.0])
    out = respond("nag", g, conventions="script", vary=("momentum", [0.5]), lr=1.0)[0]
    # i=0: v = -4;  i=1: γv = -2, s = -1 (whole): X[-1] = 3 -> v = -2 + 3 = 1
    # i=2: γv = 0.5, s = 2.5: ceil past the end, X[2] = 3  -> v = 0.5 + 3 = 3.5
    np.testing.assert_allclose(out, [-4.0, 1.0, 3.5], rtol=1e-15)
    g = np.array([-3.0, 2.0, 5.0])
    out = respond("nag", g, conventions="script", vary=("momentum", [0.2]), lr=1.0)[0]
    # i=1: γv = -0.6, s = 0.4: floor 0, X[0] + 0.4 X[1] = -2.2 -> v = -0.6 - 2.2 = -2.8
    # i=2: γv = -0.56, s = 1.44: X[1] + 0.44 X[2] = 4.2    -> v = -0.56 + 4.2 = 3.64
    np.testing.assert_allclose(out, [-3.0, -2.8, 3.64], rtol=1e-14)
    g = np.array([-9.0, 2.0, 5.0])
    out = respond("nag", g, conventions="script", vary=("momentum", [0.1]), lr=1.0)[0]
    # i=1: γv = -0.9, s = 0.1 -> X[0] + 0.1 X[1] = -8.8 -> v = -9.7
    # i=2: γv = -0.97, s = 1.03 -> X[1] + 0.03 X[2] = 2.15 -> v = 1.18
    np.testing.assert_allclose(out, [-9.0, -9.7, 1.18], rtol=1e-13)


def test_negative_fractional_index_below_zero_reads_x_ceil():
    g = np.array([-10.0, 1.0, 7.0])
    out = respond("nag", g, conventions="script", vary=("momentum", [0.15]), lr=1.0)[0]
    # i=1: γv = -1.5, s = -0.5: floor -1 < 0 -> X[ceil] = X[0] = -10 -> v = -11.5
    # i=2: γv = -1.725, s = 0.275 -> X[0] + 0.275 X[1] = -9.725 -> v = -11.45
    np.testing.assert_allclose(out, [-10.0, -11.5, -11.45], rtol=1e-13)


def test_smoothed_nesterov_first_steps_by_hand():
    out = respond("nag", X, conventions="script", vary=("momentum", [0.8]), lr=0.5,
                  lookahead="mean4")[0]
    # i=0: all four reads at 0: X[0] = 1 -> v = 0.5
    # i=1: γv = 0.4; s = 1.1, 1.2, 1.3, 1.4 -> 2 + 4q for q = .1 .. .4: mean 3.0 -> v = 1.9
    v1 = 0.4 + 0.5 * np.mean([2 + 4 * q for q in (0.1, 0.2, 0.3, 0.4)])
    # i=2: γv = 1.52; s = 2.38, 2.76, 3.14, 3.52 -> 4 + .38*8, 4 + .76*8, 8, 8
    gv = 0.8 * v1
    reads = [4 + (gv / 4) * 8, 4 + (gv / 2) * 8, 8.0, 8.0]
    v2 = gv + 0.5 * np.mean(reads)
    np.testing.assert_allclose(out[:3], [0.5, v1, v2], rtol=1e-14)
    assert v1 == pytest.approx(1.9)


def test_adam_script_first_step_by_hand():
    out = respond("adam", np.array([2.0, -1.0]), conventions="script",
                  vary=("beta1", [0.5]), lr=0.25)[0]
    # t=1: m̂ = 2, v̂ = 4 -> 0.25 * 2 / sqrt(4 + 1e-7)
    assert out[0] == pytest.approx(0.5 / math.sqrt(4 + 1e-7), rel=1e-15)
    m, v = 0.5 * 0.5 * 2 + 0.5 * -1, 0.999 * 0.001 * 4 + 0.001 * 1
    expected = 0.25 / math.sqrt(v / (1 - 0.999 ** 2) + 1e-7) * (m / (1 - 0.25))
    assert out[1] == pytest.approx(expected, rel=1e-14)


def test_script_rules_refuse_what_the_script_does_not_define(tmp_path):
    base = "response:\n  optimizer: {opt}\n  conventions: script\n  params: {params}\n" \
           "  vary: {{momentum: [0.5]}}\n"
    with pytest.raises(ConfigError, match="no rule of its own") as e:
        parse_config(base.format(opt="rmsprop", params="{}"), "r.yaml")
    assert "lasagne" in str(e.value) and "response.optimizer" in str(e.value)
    with pytest.raises(ConfigError, match="read must be one of article, linear") as e:
        parse_config(base.format(opt="nag", params="{read: nearest}"), "r.yaml")
    assert "response.params.read" in str(e.value)
    with pytest.raises(ConfigError, match="unknown conventions"):
        parse_config(base.format(opt="nag", params="{}").replace("script", "scrpit"), "r.yaml")
    cfg = parse_config(base.format(opt="nag", params="{read: linear}"), "r.yaml")
    assert dict(cfg.params)["read"] == "linear"


def test_article_signals_equal_the_scripts():
    ours, theirs = article_signals(), script_signals()
    for name in SIGNALS:
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_the_script_rules_take_their_hyperparameters_from_the_registry():
    """One home per fact: the script's rules' parameters (defaults, ranges, choices) are
    the registry entries' script_params; the rules implement exactly those choices."""
    from optviz.analysis import response
    from optviz.core.optim.registry import OPTIMIZERS

    with_rules = {k for k, s in OPTIMIZERS.items() if s.script_params is not None}
    assert with_rules == set(response.SCRIPT_RULES) == {"nag", "adam"}
    nag = {p.name: p for p in OPTIMIZERS["nag"].script_params}
    assert set(nag["lookahead"].choices) == set(response.LOOKAHEAD_POINTS)
    assert set(nag["read"].choices) == set(response.READS)
    assert response.resolve_script_params("adam", {}) == {"lr": 0.25, "beta1": 0.9,
                                                          "beta2": 0.999, "eps": 1e-7}
    with pytest.raises(ConfigError, match=r"beta1 must be a number in \[0, 1\), got 1.5"):
        response.resolve_script_params("adam", {"beta1": 1.5})
