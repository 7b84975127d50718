"""Run a case of tests/reference/cases.py on its live reference (needs the [reference] extra)."""

from __future__ import annotations

import contextlib
import importlib
import platform
import warnings
from importlib import metadata

import numpy as np
import torch

from reference.cases import TORCH_DEFAULTS, Case
from reference.lasagne_updates import lasagne_loop


def _wobbly(x, y):
    return ((x ** 2 + y ** 2) / 3 + torch.abs(x) * torch.sqrt(torch.abs(x) + 0.1)
            + 3 * torch.sin(x + y) + 3 + 8 * torch.exp(-2 * ((x + 1) ** 2 + (y + 2) ** 2)))


def _two_minimums(x, y):
    return (4 - 0.5 * torch.exp(-((x + 2.5) ** 2 + (y + 2.5) ** 2))
            - 3 * torch.exp(-(x ** 2 + y ** 2)))


def _bowl(x, y):
    return torch.log(1 + x ** 2 + 3 * y ** 2) + 0.1 * x * y


# the surfaces of cases.SURFACES, written again in torch (gradients by autograd)
TORCH_SURFACES = {"wobbly": _wobbly, "two-minimums": _two_minimums, "bowl": _bowl}


@contextlib.contextmanager
def float64():
    """torch keeps scalar state (NAdam's mu_product) in the default dtype: make it float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _class_path(fn, cls, kwargs, start, steps):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    out = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        fn(p[0], p[1]).backward()
        opt.step()
        out.append(p.detach().clone().numpy())
    return np.array(out)


def _autograd(fn):
    def grad(theta):
        p = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        fn(p[0], p[1]).backward()
        return p.grad.numpy().copy()
    return grad


def reference_paths(case: Case) -> np.ndarray:
    """The reference's paths from every start of *case*: shape (N, steps + 1, 2)."""
    fn = TORCH_SURFACES[case.surface]
    with float64(), warnings.catch_warnings():
        # adabound 0.0.5 calls add_(scalar, tensor), deprecated (still supported) in torch 2
        warnings.filterwarnings("ignore", "This overload of add", UserWarning)
        if case.reference.startswith("lasagne."):
            rule = case.reference.removeprefix("lasagne.")
            return np.array([lasagne_loop(rule, _autograd(fn), start, case.steps, **case.kwargs)
                             for start in case.starts])
        cls = _resolve(case.reference)
        return np.array([_class_path(fn, cls, case.kwargs, start, case.steps)
                         for start in case.starts])


def torch_defaults() -> dict:
    """lr, eps and the betas / rho of the torch.optim classes optviz's defaults follow."""
    out = {}
    for kind, cls in TORCH_DEFAULTS.items():
        d = getattr(torch.optim, cls)([torch.zeros(2, requires_grad=True)]).defaults
        out[kind] = {k: (list(d[k]) if isinstance(d[k], tuple) else float(d[k]))
                     for k in ("lr", "eps", "betas", "alpha", "rho") if k in d}
    return out


def versions(family: str) -> dict:
    """The versions a family's fixture was recorded with."""
    out = {"python": platform.python_version(), "numpy": np.__version__,
           "torch": torch.__version__}
    if family not in ("torch", "lasagne"):
        out[family] = metadata.version(PACKAGES.get(family, family))
    return out


# a family's distribution name, where it is not the family's name
PACKAGES: dict[str, str] = {}


REFERENCES = {
    "torch": "torch.optim (PyTorch {torch}), float64",
    "adabound": "adabound {adabound} (the AdaBound authors' package) on torch {torch}, float64",
    "lasagne": ("a literal transcription of Lasagne 0.2's lasagne/updates.py "
                "(tests/reference/lasagne_updates.py), gradients by torch {torch} autograd"),
}
