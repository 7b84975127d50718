"""The reference cases: every optviz trajectory compared against another implementation.

One table, read by three programs:

- ``tests/test_optim_fixtures.py`` (the default suite, no torch needed) runs
  optviz on every case and compares with the recorded fixture;
- ``tests/reference/record.py`` runs the live reference on every case and
  writes the fixtures, one file per family (``tests/fixtures/reference_<family>.json``);
- ``tests/reference/test_live.py`` (``pip install -e ".[reference]"``, then
  ``python -m pytest tests/reference``) compares optviz with the live
  reference and checks that the fixture still equals it.

A case's NAME is its identity (test id and fixture key): never renumber, and
re-record after changing anything else in it (the fixture test notices).

``reference`` says how the live reference runs a case: the dotted name of a
``torch.optim``-style class, constructed as ``cls([p], **kwargs)`` on one
float64 parameter tensor and stepped after ``loss.backward()``; or
``lasagne.<rule>``, the literal transcription of that update rule in
``tests/reference/lasagne_updates.py`` (Lasagne needs Theano, so it is not
installed), fed the same torch autograd gradient. A new family (another
package of torch-style optimizers) needs rows here, its package in the
``[reference]`` extra, a line in ``live.REFERENCES`` (and ``live.PACKAGES``
where the distribution is named otherwise) and a record run
(``python tests/reference/record.py FAMILY``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

STEPS = 200
# Fixtures keep every point of the first DENSE steps, then every EVERY-th and the
# last (a 200-step path is 81 points): the files stay small, and a path that
# departs later shows it within a few steps. Live tests compare every point.
DENSE, EVERY = 50, 5
STARTS = ((-2.8, -2.5), (1.0, 0.5))
ARTICLE_START = ((-2.8, -2.5),)

# optviz surface specs (load_surface arguments); the same functions written in
# torch are in tests/reference/live.py under the same keys.
SURFACES = {
    "wobbly": "wobbly",
    "two-minimums": "two-minimums",
    "bowl": {"formula": "log(1 + x**2 + 3*y**2) + 0.1*x*y", "domain": {"x": [-3, 3], "y": [-3, 3]}},
}

CHAOTIC = ("Bounces around a minimum, which amplifies last-bit differences (torch's fused "
           "CPU kernels round differently from step 1-8 on) at a rate set by the dynamics, "
           "not by the formulas: on wobbly the paths drift past 1e-9 at step 119 (centered "
           "RMSprop), 126 (Adadelta lr 20) and 90 (Adam beta1 0.5); measured with torch 2.13. "
           "Compared over 50 steps.")


@dataclass(frozen=True)
class Case:
    name: str                   # stable identity: test id and fixture key
    family: str                 # fixture file tests/fixtures/reference_<family>.json
    kind: str                   # optviz optimizer type
    hp: dict                    # optviz hyperparameters
    surface: str                # key of SURFACES
    reference: str              # how the live reference runs it (see the module docstring)
    kwargs: dict                # the reference's arguments
    conventions: str = "torch"  # optviz conventions
    starts: tuple = STARTS
    steps: int = STEPS
    rtol: float = 1e-9
    atol: float = 1e-12
    why: str = ""               # why the case is there, or departs from the defaults above

    def recorded_steps(self) -> list[int]:
        """The step indices whose points a fixture keeps."""
        return sorted({*range(min(DENSE, self.steps) + 1), *range(0, self.steps + 1, EVERY),
                       self.steps})

    def meta(self) -> dict:
        """What a fixture records about the case (compared with the table on every run)."""
        return {"kind": self.kind, "hp": self.hp, "conventions": self.conventions,
                "surface": SURFACES[self.surface], "reference": self.reference,
                "kwargs": self.kwargs, "starts": [list(s) for s in self.starts],
                "steps": self.steps, "recorded_steps": self.recorded_steps()}


def _over(surfaces, name, **kw):
    return [Case(name=f"{name}/{s}", surface=s, **kw) for s in surfaces]


# ------------------------------------------------------------ torch.optim (PyTorch 2.x)
def _torch(name, kind, hp, cls, kwargs, **kw):
    return _over(("wobbly", "bowl"), name, family="torch", kind=kind, hp=hp,
                 reference=f"torch.optim.{cls}", kwargs=kwargs, **kw)


TORCH = [
    *_torch("sgd", "sgd", {"lr": 0.02}, "SGD", {"lr": 0.02}),
    *_torch("momentum", "momentum", {"lr": 0.01}, "SGD", {"lr": 0.01, "momentum": 0.9}),
    *_torch("momentum-dampening", "momentum", {"lr": 0.01, "momentum": 0.5, "dampening": 0.3},
            "SGD", {"lr": 0.01, "momentum": 0.5, "dampening": 0.3}),
    *_torch("nesterov", "nesterov", {"lr": 0.01, "momentum": 0.95}, "SGD",
            {"lr": 0.01, "momentum": 0.95, "nesterov": True}),
    *_torch("adagrad", "adagrad", {"lr": 0.3}, "Adagrad", {"lr": 0.3}),
    *_torch("adagrad-decay-accumulator", "adagrad",
            {"lr": 0.3, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "eps": 1e-3},
            "Adagrad", {"lr": 0.3, "lr_decay": 0.01, "initial_accumulator_value": 0.5,
                        "eps": 1e-3}),
    *_torch("rmsprop", "rmsprop", {"lr": 0.01}, "RMSprop", {"lr": 0.01}),
    *_torch("rmsprop-centered-momentum", "rmsprop",
            {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True}, "RMSprop",
            {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True},
            steps=50, why="centered RMSprop: the variance estimate cancels. " + CHAOTIC),
    *_torch("rmsprop-momentum", "rmsprop", {"lr": 0.005, "momentum": 0.8}, "RMSprop",
            {"lr": 0.005, "momentum": 0.8}),
    *_torch("adadelta", "adadelta", {}, "Adadelta", {}),
    *_torch("adadelta-lr20", "adadelta", {"lr": 20.0, "rho": 0.8, "eps": 1e-4}, "Adadelta",
            {"lr": 20.0, "rho": 0.8, "eps": 1e-4},
            steps=50, why="Adadelta at lr 20. " + CHAOTIC),
    *_torch("adam", "adam", {"lr": 0.05}, "Adam", {"lr": 0.05}),
    *_torch("adam-beta1-0.5", "adam", {"lr": 0.1, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
            "Adam", {"lr": 0.1, "betas": [0.5, 0.9], "eps": 1e-3},
            steps=50, why="Adam with beta1 0.5. " + CHAOTIC),
    *_torch("amsgrad", "amsgrad", {"lr": 0.05}, "Adam", {"lr": 0.05, "amsgrad": True}),
    *_torch("adamax", "adamax", {"lr": 0.05}, "Adamax", {"lr": 0.05}),
    *_torch("nadam", "nadam", {"lr": 0.05}, "NAdam", {"lr": 0.05}),
    *_torch("nadam-momentum-decay", "nadam", {"lr": 0.05, "momentum_decay": 0.04}, "NAdam",
            {"lr": 0.05, "momentum_decay": 0.04}),
    *_torch("radam", "radam", {"lr": 0.05}, "RAdam", {"lr": 0.05},
            why="rho_t > 5 from step 6 on: both branches of the rectification are taken"),
    *_torch("radam-beta2-0.9", "radam", {"lr": 0.05, "beta2": 0.9}, "RAdam",
            {"lr": 0.05, "betas": [0.9, 0.9]}),
]

# ------------------------------------------------------------ AdaBound (the authors' package)
ADABOUND = [
    Case(name=f"{kind}{suffix}/wobbly", family="adabound", kind=kind, hp=hp, surface="wobbly",
         reference="adabound.AdaBound", kwargs={**hp, "amsbound": kind == "amsbound"},
         starts=ARTICLE_START, rtol=1e-12, atol=1e-14)
    for kind in ("adabound", "amsbound")
    for suffix, hp in (("", {"lr": 0.05}), ("-bounds", {"lr": 0.05, "final_lr": 0.02,
                                                         "gamma": 0.05}))
]

# ------------------------------------------------------------ Lasagne 0.2 (transcribed)
# The article's settings (lr 0.25 / 100 / 1.0 ...) on the article's surfaces, 125 steps.
_LASAGNE = [
    ("adagrad-lr1", "adagrad", {"lr": 1.0}),
    ("adagrad-eps", "adagrad", {"lr": 0.5, "eps": 1e-3}),
    ("rmsprop-lr0.25", "rmsprop", {"lr": 0.25}),
    ("rmsprop-rho0.5", "rmsprop", {"lr": 0.1, "rho": 0.5, "eps": 1e-4}),
    ("adadelta-lr100", "adadelta", {"lr": 100.0}),
    ("adadelta-rho0.9", "adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-3}),
    ("adam-lr0.25", "adam", {"lr": 0.25}),
    ("adam-beta1-0.5", "adam", {"lr": 0.1, "beta1": 0.5}),
    ("adamax-lr0.1", "adamax", {"lr": 0.1}),
    ("nesterov-0.975", "nesterov", {"lr": 0.01, "momentum": 0.975}),
]
LASAGNE = [Case(name=f"lasagne-{name}/{s}", family="lasagne", kind=kind, hp=hp, surface=s,
                conventions="lasagne", reference=f"lasagne.{kind}", kwargs=hp,
                starts=ARTICLE_START, steps=125)
           for name, kind, hp in _LASAGNE for s in ("wobbly", "two-minimums")]
LASAGNE_CHAOTIC = {
    "lasagne-adadelta-rho0.9/wobbly": (80, (
        "Oscillates around wobbly's minimum from step ~75 on, where the gradient nearly "
        "vanishes: the ~1e-11 relative difference between optviz's (SymPy) and torch's "
        "(autograd) gradients there grows 3-4x a step (1e-13 at step 80, 1e-8 at step 90, "
        "1e-3 at step 100). Compared over 80 steps.")),
}
LASAGNE = [replace(c, steps=LASAGNE_CHAOTIC[c.name][0], why=LASAGNE_CHAOTIC[c.name][1])
           if c.name in LASAGNE_CHAOTIC else c for c in LASAGNE]

CASES = {case.name: case for case in [*TORCH, *ADABOUND, *LASAGNE]}
assert len(CASES) == len(TORCH) + len(ADABOUND) + len(LASAGNE), "case names must be unique"
FAMILIES = sorted({case.family for case in CASES.values()})

# optviz's defaults must equal these torch.optim classes' defaults (recorded too)
TORCH_DEFAULTS = {"adam": "Adam", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                  "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam"}


def fixture_path(family: str) -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures" / f"reference_{family}.json"
