"""Lasagne 0.2's update rules (lasagne/updates.py), transcribed literally.

Lasagne runs on Theano, which does not install here, so the reference for
``conventions: lasagne`` is this transcription, one step per iteration on one
coordinate array. The gradient comes from the caller (torch autograd in
tests/reference/live.py), not from optviz.
"""

import numpy as np


def lasagne_loop(kind, grad, theta, steps, lr, **hp):
    """The path of *steps* updates of rule *kind* from *theta*: shape (steps + 1, 2)."""
    theta = np.array(theta, dtype=np.float64)
    out = [theta.copy()]
    zeros = np.zeros_like(theta)
    accu, delta_accu, m, v, u, t = (zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(),
                                    zeros.copy(), 0)
    for _ in range(steps):
        g = grad(theta)
        if kind == "adagrad":
            eps = hp.get("eps", 1e-6)
            accu = accu + g ** 2
            theta = theta - (lr * g / np.sqrt(accu + eps))
        elif kind == "rmsprop":
            rho, eps = hp.get("rho", 0.9), hp.get("eps", 1e-6)
            accu = rho * accu + (1 - rho) * g ** 2
            theta = theta - (lr * g / np.sqrt(accu + eps))
        elif kind == "adadelta":
            rho, eps = hp.get("rho", 0.95), hp.get("eps", 1e-6)
            accu = rho * accu + (1 - rho) * g ** 2
            update = g * np.sqrt(delta_accu + eps) / np.sqrt(accu + eps)
            theta = theta - lr * update
            delta_accu = rho * delta_accu + (1 - rho) * update ** 2
        elif kind == "adam":
            b1, b2, eps = hp.get("beta1", 0.9), hp.get("beta2", 0.999), hp.get("eps", 1e-8)
            t += 1
            a_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            theta = theta - a_t * m / (np.sqrt(v) + eps)
        elif kind == "adamax":
            b1, b2, eps = hp.get("beta1", 0.9), hp.get("beta2", 0.999), hp.get("eps", 1e-8)
            t += 1
            a_t = lr / (1 - b1 ** t)
            m = b1 * m + (1 - b1) * g
            u = np.maximum(b2 * u, np.abs(g))
            theta = theta - a_t * m / (u + eps)
        elif kind == "nesterov":  # nesterov_momentum(sgd(...)): velocity form
            mu = hp.get("momentum", 0.9)
            v = mu * v - lr * g
            theta = theta + mu * v - lr * g
        else:
            raise ValueError(f"no Lasagne transcription for {kind!r}")
        out.append(theta.copy())
    return np.array(out)
