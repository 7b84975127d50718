"""Models on data: exact losses, gradients and Hessians, minima, minibatches, data."""

import os

import numpy as np
import pytest

from optviz.core import data, models
from optviz.core.engine import simulate
from optviz.core.optim import make_optimizer
from optviz.errors import ConfigError


def central(fn, p, h=1e-6):
    """Central differences of fn (M, D) -> (M, ...) at p, coordinate by coordinate."""
    eye = np.eye(p.shape[1])
    return np.stack([(fn(p + h * e) - fn(p - h * e)) / (2 * h) for e in eye], axis=1)


def linear(gen="line", **kw):
    return models.build({"model": "linear", "data": {"generate": gen, "n": 64, "seed": 1}, **kw})


def logistic(gen="blobs", **kw):
    return models.build({"model": "logistic", "data": {"generate": gen, "n": 64, "seed": 1},
                         **kw})


def mlp(layers=(2, 5, 4, 1), activation="tanh", loss="bce", gen="moons", n=40, **dkw):
    return models.build({"model": {"mlp": list(layers), "activation": activation, "loss": loss,
                                   "init": {"seed": 3}},
                         "data": {"generate": gen, "n": n, "seed": 2, **dkw}})


# ------------------------------------------------------------ two parameters
def test_linear_minimum_is_the_least_squares_solution():
    m = linear()
    x, y = m.data.inputs[:, 0], m.data.targets
    design = np.c_[x, np.ones_like(x)]
    expected = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(m.minima[0], expected, rtol=1e-12)
    np.testing.assert_allclose(m.minimum_value, np.mean((design @ expected - y) ** 2),
                               rtol=1e-12)
    # ridge: min |Φθ − y|²/n + ½ l2 |θ|², an augmented least-squares problem
    l2 = 0.3
    ridge = linear(l2=l2)
    aug = np.r_[design / np.sqrt(len(x)), np.sqrt(l2 / 2) * np.eye(2)]
    expected = np.linalg.lstsq(aug, np.r_[y / np.sqrt(len(x)), 0, 0], rcond=None)[0]
    np.testing.assert_allclose(ridge.minima[0], expected, rtol=1e-12)


def test_linear_loss_by_hand():
    m = linear()
    p = np.array([[0.7, -1.2], [2.0, 0.1]])
    x, y = m.data.inputs[:, 0], m.data.targets
    expected = [np.mean((a * x + b - y) ** 2) for a, b in p]
    np.testing.assert_allclose(m.f(p), expected, rtol=1e-14)
    g = [[np.mean(2 * (a * x + b - y) * x), np.mean(2 * (a * x + b - y))] for a, b in p]
    np.testing.assert_allclose(m.grad(p), g, rtol=1e-13)


def test_logistic_minimum_is_where_the_gradient_vanishes():
    for m in (logistic(), logistic("xor"), logistic(l2=0.1)):
        best = np.array([m.minima[0]])
        assert np.abs(m.grad(best)).max() < 1e-12
        assert np.linalg.eigvalsh(m.hess(best)[0]).min() > 0
        around = best + np.random.default_rng(0).normal(scale=1e-3, size=(50, 2))
        assert (m.f(around) > m.minimum_value).all()


def test_logistic_on_one_input_has_weight_and_bias(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,label\n-2,0\n-1,0\n-0.5,1\n0,0\n0.5,1\n1,1\n2,1\n")
    m = models.build({"model": "logistic", "data": {"csv": str(path)}})
    assert m.axes == ("weight", "bias")
    p = np.array([[1.3, -0.2]])
    x = np.array([-2, -1, -0.5, 0, 0.5, 1, 2.0])
    y = np.array([0, 0, 1, 0, 1, 1, 1.0])
    z = 1.3 * x - 0.2
    np.testing.assert_allclose(m.f(p), np.mean(np.log1p(np.exp(z)) - y * z), rtol=1e-14)


def test_separable_classes_have_no_minimum_and_are_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,label\n-2,0\n-1,0\n1,1\n2,1\n")
    with pytest.raises(ConfigError, match="separable"):
        models.build({"model": "logistic", "data": {"csv": str(path)}})
    m = models.build({"model": "logistic", "data": {"csv": str(path)}, "l2": 0.1})
    assert np.abs(m.grad(np.array([m.minima[0]]))).max() < 1e-12


@pytest.mark.parametrize("make", [linear, logistic, lambda: logistic("xor", l2=0.01)])
def test_two_parameter_gradient_and_hessian_against_finite_differences(make):
    m = make()
    p = np.random.default_rng(5).normal(size=(6, 2))
    np.testing.assert_allclose(m.grad(p), central(m.f, p), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(m.hess(p), central(m.grad, p), rtol=1e-6, atol=1e-7)
    rows = np.array([3, 7, 11, 60])
    np.testing.assert_allclose(m.hess(p, rows), central(lambda q: m.grad(q, rows), p),
                               rtol=1e-6, atol=1e-7)


def test_two_parameter_models_draw_like_surfaces():
    m = linear()
    grid = np.stack(np.meshgrid(np.linspace(-1, 3, 7), np.linspace(-2, 1, 5)), axis=-1)
    z = m.f(grid)
    assert z.shape == (5, 7)
    np.testing.assert_array_equal(z.ravel(), m.value_and_grad(grid.reshape(-1, 2))[0])
    (x0, x1), (y0, y1) = m.domain
    for point in (m.minima[0], m.start):
        assert x0 < point[0] < x1 and y0 < point[1] < y1


def test_many_points_are_evaluated_in_bounded_chunks(monkeypatch):
    m = linear()
    p = np.random.default_rng(1).normal(size=(301, 2))
    whole = m.value_and_grad(p)
    monkeypatch.setattr(models, "CHUNK", 64 * 7)  # 7 points per chunk
    np.testing.assert_array_equal(m.value_and_grad(p)[0], whole[0])
    np.testing.assert_array_equal(m.value_and_grad(p)[1], whole[1])
    net = mlp()
    q = net.init(range(9))
    full = net.value_and_grad(q)
    monkeypatch.setattr(models, "CHUNK", 40 * 5 * 2)  # 2 parameter vectors per chunk
    np.testing.assert_array_equal(net.value_and_grad(q)[1], full[1])
    np.testing.assert_array_equal(net.f(q), full[0])


# ------------------------------------------------------------ the MLP
MLP_CASES = [(act, loss) for act in models.ACTIVATIONS for loss in models.LOSSES]


@pytest.mark.parametrize("activation,loss", MLP_CASES)
def test_mlp_gradient_against_finite_differences(activation, loss):
    if loss == "ce":
        net = mlp((2, 5, 4, 3), activation, loss, gen="blobs", classes=3)
    elif loss == "mse":
        net = mlp((1, 6, 1), activation, loss, gen="regression")
    else:
        net = mlp((2, 5, 4, 1), activation, loss)
    p = net.init([0, 1]) + np.random.default_rng(0).normal(scale=0.3, size=(2, net.dim))
    value, grad = net.value_and_grad(p)
    np.testing.assert_array_equal(value, net.f(p))
    np.testing.assert_allclose(grad, central(net.f, p), rtol=1e-6, atol=1e-8)
    rows = np.array([0, 5, 9, 33])
    np.testing.assert_allclose(net.grad(p, rows),
                               central(lambda q: net.value_and_grad(q, rows)[0], p),
                               rtol=1e-6, atol=1e-8)


def test_mlp_loss_by_a_plain_loop():
    net = mlp((2, 3, 1), "tanh", "bce")
    p = net.init([4])[0]
    w1, b1 = p[:6].reshape(2, 3), p[6:9]
    w2, b2 = p[9:12].reshape(3, 1), p[12:13]
    total = 0.0
    for x, y in zip(net.data.inputs, net.data.targets):
        z = (np.tanh(x @ w1 + b1) @ w2 + b2)[0]
        total += np.log1p(np.exp(z)) - y * z
    np.testing.assert_allclose(net.f(p[None])[0], total / net.samples, rtol=1e-13)
    assert net.dim == 2 * 3 + 3 + 3 + 1


def test_mlp_init_is_torch_linear_s_uniform_bound_from_the_seed():
    net = mlp((2, 16, 16, 1))
    a, b = net.init([0, 1])
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(net.init([1])[0], b)
    (w1, b1), (w2, _), (w3, _) = net.unpack(net.init([0]))
    assert np.abs(w1).max() <= 1 / np.sqrt(2) and np.abs(b1).max() <= 1 / np.sqrt(2)
    assert np.abs(w2).max() <= 0.25 and np.abs(w2).max() > 0.2
    np.testing.assert_array_equal(net.start, net.init([3])[0])  # the spec's init seed


def test_mlp_runs_stacked_equal_runs_alone():
    net = mlp((2, 16, 16, 1), n=128)
    starts = net.init(range(4))
    opts = {"sgd": make_optimizer("sgd", lr=0.5), "adam": make_optimizer("adam", lr=0.01),
            "nag": make_optimizer("nag", lr=0.1)}
    for noise in (None, models.Minibatch(16, 7)):
        together = simulate(net, opts, starts, 30, noise=noise)
        assert together.points.shape == (3, 4, 31, net.dim)
        for n in range(4):
            alone = simulate(net, opts, starts[n], 30, noise=noise)
            np.testing.assert_array_equal(together.points[:, n], alone.points[:, 0])
            np.testing.assert_array_equal(together.losses[:, n], alone.losses[:, 0])
        assert (together.final_losses < together.losses[:, :, 0]).all()


@pytest.mark.parametrize("activation,loss,gen", [
    ("tanh", "bce", "moons"), ("sigmoid", "ce", "spirals"), ("softplus", "mse", "regression"),
    ("relu", "bce", "circles"), ("leaky_relu", "ce", "blobs")])
def test_the_mlp_hessian_equals_central_differences_of_its_gradient(activation, loss, gen):
    outs = 3 if gen == "blobs" else 2 if loss == "ce" else 1
    net = mlp((1 if gen == "regression" else 2, 5, 4, outs), activation, loss, gen,
              **({"classes": 3} if gen == "blobs" else {}))
    p = net.init([0, 1, 2]) * 1.5
    h = net.hess(p)
    assert h.shape == (3, net.dim, net.dim)
    np.testing.assert_array_equal(h, np.swapaxes(h, 1, 2))
    fd = central(net.grad, p, h=1e-5)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-8 * np.abs(fd).max())
    rows = np.array([2, 7, 11, 30])
    np.testing.assert_allclose(net.hess(p, rows), central(lambda q: net.grad(q, rows), p, 1e-5),
                               rtol=1e-5, atol=1e-8 * np.abs(fd).max())
    for n in range(3):  # stacked equal alone, to the bit
        np.testing.assert_array_equal(net.hess(p[n:n + 1])[0], h[n])


def test_newton_and_sophia_run_on_an_mlp_a_newton_step_solves_h_d_g():
    net = mlp((2, 4, 3, 1), n=60)
    models.check_optimizers(net, {"a": "adam", "n": "newton", "s": "sophia"})
    start = net.init([3])[0]
    tr = simulate(net, {"n": make_optimizer("newton", lr=0.5, fallback=False),
                        "s": make_optimizer("sophia", lr=0.05)}, start, 5)
    p0, g0, h0 = start[None], net.grad(start[None]), central(net.grad, start[None], 1e-5)
    by_hand = p0 - 0.5 * np.linalg.solve(h0[0], g0[0])
    np.testing.assert_allclose(tr.points[0, 0, 1], by_hand[0], rtol=1e-6, atol=1e-9)
    assert np.isfinite(tr.losses).all() and tr.losses[1, 0, -1] < tr.losses[1, 0, 0]
    m = logistic()
    tr = simulate(m, {"n": make_optimizer("newton")}, m.start, 30)
    np.testing.assert_allclose(tr.final_points[0, 0], m.minima[0], rtol=1e-9)


def test_newton_is_refused_on_a_network_past_the_hessian_limit():
    net = mlp((2, 40, 30, 1))
    assert net.dim > models.MAX_HESSIAN_PARAMETERS
    with pytest.raises(ConfigError, match=r"'n' \(newton\) needs the exact Hessian: 1,\d{3} x"):
        models.check_optimizers(net, {"a": "adam", "n": "newton"})
    models.check_optimizers(net, {"a": "adam", "s": "sgd"})


@pytest.mark.parametrize("spec,fragment,key", [
    ({"mlp": [3, 4, 1]}, "the data has 2", "model.mlp"),
    ({"mlp": [2, 4, 2]}, "one output", "model.mlp"),
    ({"mlp": [2, 4, 1], "loss": "ce"}, "one output per class", "model.mlp"),
    ({"mlp": [2, 4, 1], "activation": "tahn"}, "did you mean 'tanh'", "model.activation"),
    ({"mlp": [2, 0, 1]}, "layer sizes", "model.mlp"),
    ({"mlp": [2, 4, 1], "init": {"seed": -1}}, "whole number", "model.init.seed"),
    ({"mlp": [2, 4, 1], "depth": 3}, "unknown key 'depth'", "model.depth"),
    ({"mlp": [2, 400, 400, 1]}, "limit is 100,000", "model.mlp"),
])
def test_bad_networks_are_refused_with_their_key(spec, fragment, key):
    with pytest.raises(ConfigError, match=fragment) as e:
        models.build({"model": spec, "data": {"generate": "moons", "n": 16}})
    assert e.value.key == key


def test_bce_needs_two_classes_and_mse_takes_real_targets():
    with pytest.raises(ConfigError, match="labels 0 and 1"):
        mlp((1, 4, 1), loss="bce", gen="regression")
    with pytest.raises(ConfigError, match="labels 0 and 1"):
        models.build({"model": "logistic", "data": {"generate": "line"}})
    mlp((1, 4, 1), loss="mse", gen="regression")


# ------------------------------------------------------------ minibatches
def test_minibatches_cut_a_fresh_permutation_each_epoch():
    m = linear()  # 64 samples
    noisy = models.Minibatch(24, 5).gradients(m)
    rng = np.random.default_rng(5)
    first, second = rng.permutation(64), rng.permutation(64)
    seen = []
    for _ in range(4):
        noisy.next_step()
        seen.append(noisy.rows.copy())
    # 64 = 2 x 24 + 16: two batches per epoch, the 16 left over are skipped
    np.testing.assert_array_equal(seen[0], first[:24])
    np.testing.assert_array_equal(seen[1], first[24:48])
    np.testing.assert_array_equal(seen[2], second[:24])
    np.testing.assert_array_equal(seen[3], second[24:48])


def test_each_step_uses_one_minibatch_for_every_optimizer_and_losses_stay_full():
    m = linear()
    recorded = []
    opts = {"sgd": make_optimizer("sgd", lr=0.05), "mom": make_optimizer("momentum", lr=0.05)}
    tr = simulate(m, opts, [[0.0, 0.0], [1.0, 1.0]], 6, noise=models.Minibatch(8, 2),
                  observe=lambda t, k, g, step, state: recorded.append((t, k, g.copy())))
    rng = np.random.default_rng(2)
    order = rng.permutation(64)
    x, y = m.data.inputs[:, 0], m.data.targets
    for t, k, g in recorded:
        rows = order[8 * t: 8 * t + 8]  # 8 batches per epoch: 6 steps stay in the first
        theta = tr.points[k, :, t]
        r = theta[:, :1] * x[rows] + theta[:, 1:] - y[rows]
        expected = np.c_[np.mean(2 * r * x[rows], axis=1), np.mean(2 * r, axis=1)]
        np.testing.assert_allclose(g, expected, rtol=1e-13)
    np.testing.assert_array_equal(tr.losses[0, 0], m.f(tr.points[0, 0]))
    full = simulate(m, opts, [[0.0, 0.0], [1.0, 1.0]], 6)
    assert not np.array_equal(full.points, tr.points)


def test_an_exact_optimizer_beside_minibatch_ones_gets_the_full_gradient():
    m = linear()
    opts = {"gd": make_optimizer("sgd", lr=0.05), "sgd": make_optimizer("sgd", lr=0.05)}
    tr = simulate(m, opts, [0.0, 0.0], 10, noise=models.Minibatch(8, 0), exact=("gd",))
    full = simulate(m, {"gd": make_optimizer("sgd", lr=0.05)}, [0.0, 0.0], 10)
    np.testing.assert_array_equal(tr.points[0], full.points[0])
    assert not np.array_equal(tr.points[1], full.points[0])


def test_several_minibatch_seeds_in_one_batch_equal_each_seed_alone():
    net = mlp(n=48)
    starts = np.repeat(net.init([0]), 4, axis=0)
    seeds = [models.Minibatch(8, s) for s in (10, 11)]
    rows = np.array([0, 1, 0, 1])
    opts = {"adam": make_optimizer("adam", lr=0.02)}
    grouped = simulate(net, opts, starts, 12, noise=seeds, noise_rows=rows)
    for n, g in enumerate(rows):
        alone = simulate(net, opts, starts[n], 12, noise=seeds[g])
        np.testing.assert_array_equal(grouped.points[0, n], alone.points[0, 0])
    assert not np.array_equal(grouped.points[0, 0], grouped.points[0, 1])


def test_minibatch_noise_needs_a_model_and_a_batch_that_fits():
    from optviz.core.surfaces import load_surface

    with pytest.raises(ConfigError, match="needs a model on data"):
        simulate(load_surface("wobbly"), {"s": make_optimizer("sgd")}, [0.0, 0.0], 2,
                 noise=models.Minibatch(8, 0))
    with pytest.raises(ConfigError, match="from 1 to the 64 samples"):
        simulate(linear(), {"s": make_optimizer("sgd")}, [0.0, 0.0], 2,
                 noise=models.Minibatch(65, 0))


# ------------------------------------------------------------ data
@pytest.mark.parametrize("kind", data.GENERATORS)
def test_generated_data_is_reproducible_from_its_seed(kind):
    a, b, c = data.generate(kind, 100, seed=4), data.generate(kind, 100, seed=4), \
        data.generate(kind, 100, seed=5)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.inputs, c.inputs)
    assert a.size == 100 and a.inputs.shape[0] == 100
    if a.classes:
        assert set(np.unique(a.targets)) == set(range(a.classes))
        assert np.bincount(a.targets.astype(int)).min() >= 100 // a.classes - 30
    assert np.isfinite(a.inputs).all()


def test_generated_shapes_by_hand():
    moons = data.generate("moons", 200, noise=0.0)
    outer = moons.inputs[moons.targets == 0]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, rtol=1e-12)
    circles = data.generate("circles", 200, noise=0.0, factor=0.3)
    inner = circles.inputs[circles.targets == 1]
    np.testing.assert_allclose(np.hypot(*inner.T), 0.3, rtol=1e-12)
    xor = data.generate("xor", 300, noise=0.0)
    np.testing.assert_array_equal(xor.targets, (xor.inputs[:, 0] * xor.inputs[:, 1] < 0))
    line = data.generate("line", 300, noise=0.0)
    np.testing.assert_allclose(line.targets, 1.5 * line.inputs[:, 0] - 0.5, rtol=1e-12)


def test_data_from_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,label\n0.5,1,0\n-1,2,1\n\n3,0.25,2\n")
    d = data.read_csv(path)
    np.testing.assert_array_equal(d.inputs, [[0.5, 1], [-1, 2], [3, 0.25]])
    np.testing.assert_array_equal(d.targets, [0, 1, 2])
    assert d.classes == 3
    path.write_text("1,2.5\n2,3.5\n")
    assert data.read_csv(path).classes == 0


@pytest.mark.parametrize("text,fragment,line", [
    ("x,y\n1,2\n3,abc\n", "line 3, column 2 is not a number", 3),
    ("x,y\n1,2\n3\n", "line 3 has 1 values; the first row has 2", 3),
    ("x,y\n1,2\n3,1e7\n", "within \\+-1e\\+06", 3),
    ("x,y\n1,2\n3,nan\n", "within \\+-1e\\+06", 3),
    ("x,y,z\n1,2\n3,4\n", "the header has 3 names", 1),
])
def test_bad_data_files_name_the_line(tmp_path, text, fragment, line):
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment) as e:
        data.read_csv(path)
    assert e.value.line == line and e.value.file == str(path)


def test_data_files_share_the_signal_limits(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("x,y\n" + "1,0\n" * 20_001)
    with pytest.raises(ConfigError, match="20,001 rows; the limit is 20,000"):
        data.read_csv(rows)
    rows.write_text("x,y\n" + "1,0\n" * 19_999 + "2,1\n")
    assert data.read_csv(rows).size == 20_000
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(2_000_000)
    with pytest.raises(ConfigError, match="2,000,000 bytes"):
        data.read_csv(big)
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="FIFO"):
        data.read_csv(fifo)


@pytest.mark.parametrize("spec,fragment", [
    ({"generate": "moon"}, "did you mean 'moons'"),
    ({"generate": "moons", "n": 2}, "whole number in \\[4"),
    ({"generate": "moons", "noise": -1}, "number in \\[0"),
    ({"generate": "moons", "sede": 1}, "did you mean 'seed'"),
    ({"csv": "a.csv", "generate": "moons"}, "either 'generate'"),
    ("moons", "either 'generate'"),
])
def test_bad_data_specs(spec, fragment):
    with pytest.raises(ConfigError, match=fragment):
        data.load(spec)


def test_optimizers_asked_together_equal_optimizers_asked_one_by_one(monkeypatch):
    """The engine stacks the optimizers a batch-invariant oracle serves into one call
    a step; the numbers are those of one call per optimizer, runs that stop included."""
    for cls, model, starts in ((models.MLP, mlp((2, 8, 8, 1), n=64), None),
                               (models.TwoParameterModel, linear(), [[0.0, 0.0], [1.0, 2.0]])):
        starts = model.init([0, 1]) if starts is None else np.array(starts)
        opts = {"sgd": make_optimizer("sgd", lr=0.05), "adam": make_optimizer("adam", lr=0.02),
                "wild": make_optimizer("sgd", lr=5.0), "gd": make_optimizer("sgd", lr=0.05)}
        calls = []
        real = cls.value_and_grad

        def counted(self, points, rows=None, real=real):
            calls.append(len(points))
            return real(self, points, rows)

        monkeypatch.setattr(cls, "value_and_grad", counted)
        runs, counts = {}, {}
        for together in (True, False):
            monkeypatch.setattr(cls, "batch_invariant", together)
            calls.clear()
            runs[together] = simulate(model, opts, starts, 20, noise=models.Minibatch(16, 1),
                                      exact=("gd",))
            counts[together] = list(calls)
        assert max(counts[False]) == 2  # one by one: 2 runs a call
        assert counts[True][0] == 6  # sgd, adam and wild share the minibatch oracle
        a, b = runs[True], runs[False]
        if cls is models.TwoParameterModel:
            assert a.diverged[2].all() and not a.diverged[[0, 1, 3]].any()
            assert 4 in counts[True]  # once wild stopped, sgd and adam go on together
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.losses, b.losses)
        np.testing.assert_array_equal(a.steps, b.steps)
