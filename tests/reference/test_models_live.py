"""Models on data against torch autograd (needs torch: the reference extra).

Each model's loss is written again in torch from its definition (nn.Linear
layers holding the same flat parameters, torch's own activations and loss
functions), and optviz's value, backpropagated gradient and (for the
two-parameter models) Hessian are compared with torch's autograd in float64.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from optviz.core import models

torch.set_default_dtype(torch.float64)

ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
       "softplus": F.softplus, "leaky_relu": lambda z: F.leaky_relu(z, models.LEAK)}


def torch_mlp_loss(net, theta):
    """The network's mean loss in torch, W of each layer (in, out) row-major then b."""
    x = torch.tensor(net.x)
    a = x
    for l, ((i, o), at) in enumerate(zip(net.shapes, net.offsets)):
        w = theta[at:at + i * o].reshape(i, o)
        b = theta[at + i * o:at + i * o + o]
        a = a @ w + b
        if l < len(net.shapes) - 1:
            a = ACT[net.activation](a)
    y = torch.tensor(net.y)
    if net.loss == "bce":
        return F.binary_cross_entropy_with_logits(a[:, 0], y)
    if net.loss == "mse":
        return F.mse_loss(a[:, 0], y)
    return F.cross_entropy(a, torch.tensor(net.labels))


CASES = [(act, loss) for act in models.ACTIVATIONS for loss in models.LOSSES]


@pytest.mark.parametrize("activation,loss", CASES)
def test_mlp_value_and_gradient_equal_torch_autograd(activation, loss):
    if loss == "ce":
        spec = {"mlp": [2, 7, 5, 3]}, {"generate": "blobs", "classes": 3, "n": 90}
    elif loss == "mse":
        spec = {"mlp": [1, 8, 6, 1]}, {"generate": "regression", "n": 90}
    else:
        spec = {"mlp": [2, 7, 5, 1]}, {"generate": "moons", "n": 90}
    net = models.build({"model": {**spec[0], "activation": activation, "loss": loss},
                        "data": spec[1]})
    params = net.init([0, 1, 2]) + np.random.default_rng(3).normal(scale=0.5, size=(3, net.dim))
    value, grad = net.value_and_grad(params)
    for n in range(3):
        theta = torch.tensor(params[n], requires_grad=True)
        ref = torch_mlp_loss(net, theta)
        ref.backward()
        np.testing.assert_allclose(value[n], ref.item(), rtol=1e-12)
        np.testing.assert_allclose(grad[n], theta.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation,loss", CASES)
def test_mlp_hessian_equals_torch_autograd(activation, loss):
    """The R-operator Hessian (N, D, D) against torch.autograd.functional.hessian of
    the same loss written in torch, every activation x loss, on the data and on a
    minibatch's rows."""
    if loss == "ce":
        spec = {"mlp": [2, 4, 3, 3]}, {"generate": "blobs", "classes": 3, "n": 40}
    elif loss == "mse":
        spec = {"mlp": [1, 5, 4, 1]}, {"generate": "regression", "n": 40}
    else:
        spec = {"mlp": [2, 5, 4, 1]}, {"generate": "moons", "n": 40}
    net = models.build({"model": {**spec[0], "activation": activation, "loss": loss},
                        "data": spec[1]})
    params = net.init([0, 1]) + np.random.default_rng(4).normal(scale=0.5, size=(2, net.dim))
    hess = net.hess(params)
    rows = np.array([3, 1, 4, 15, 9, 26])
    part = net.hess(params, rows)
    for n in range(2):
        ref = torch.autograd.functional.hessian(lambda t: torch_mlp_loss(net, t),
                                                torch.tensor(params[n])).numpy()
        scale = np.abs(ref).max()
        np.testing.assert_allclose(hess[n], ref, rtol=1e-9, atol=1e-12 * scale)
        x_all, y_all = net.x, net.y
        lab_all = net.labels
        try:  # the minibatch's Hessian: the same loss over the rows only
            net.x, net.y = x_all[rows], y_all[rows]
            net.labels = None if lab_all is None else lab_all[rows]
            ref_rows = torch.autograd.functional.hessian(lambda t: torch_mlp_loss(net, t),
                                                         torch.tensor(params[n])).numpy()
        finally:
            net.x, net.y, net.labels = x_all, y_all, lab_all
        np.testing.assert_allclose(part[n], ref_rows, rtol=1e-9,
                                   atol=1e-12 * np.abs(ref_rows).max())


def torch_two_parameter_loss(model, theta):
    phi, y = torch.tensor(model.phi), torch.tensor(model.y)
    z = phi @ theta
    if model.kind == "linear":
        loss = F.mse_loss(z, y)
    else:
        loss = F.binary_cross_entropy_with_logits(z, y)
    return loss + 0.5 * model.l2 * (theta * theta).sum()


@pytest.mark.parametrize("spec", [
    {"model": "linear", "data": {"generate": "line", "n": 80}},
    {"model": "linear", "data": {"generate": "regression", "n": 80}, "l2": 0.2},
    {"model": "logistic", "data": {"generate": "blobs", "n": 80}},
    {"model": "logistic", "data": {"generate": "xor", "n": 80}, "l2": 0.05},
])
def test_two_parameter_models_equal_torch_autograd(spec):
    m = models.build(spec)
    points = np.random.default_rng(1).normal(size=(4, 2)) * 2
    value, grad = m.value_and_grad(points)
    hess = m.hess(points)
    for n, p in enumerate(points):
        theta = torch.tensor(p, requires_grad=True)
        ref = torch_two_parameter_loss(m, theta)
        ref.backward()
        np.testing.assert_allclose(value[n], ref.item(), rtol=1e-12)
        np.testing.assert_allclose(grad[n], theta.grad.numpy(), rtol=1e-10, atol=1e-14)
        h = torch.autograd.functional.hessian(lambda t: torch_two_parameter_loss(m, t),
                                              torch.tensor(p))
        np.testing.assert_allclose(hess[n], h.numpy(), rtol=1e-10, atol=1e-14)
    # the stated minimum: torch's gradient vanishes there
    theta = torch.tensor(m.minima[0], requires_grad=True)
    torch_two_parameter_loss(m, theta).backward()
    assert np.abs(theta.grad.numpy()).max() < 1e-11
