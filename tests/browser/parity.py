"""The page's engine against optviz's engine: the case matrix and the comparison.

Every shipped optimizer (both conventions where they differ) and every schedule
(on a few optimizers) x every shipped surface x three starts x two
hyperparameter points (more where a choice has more values), 300 steps.
Hyperparameters are Python floats, as in a config's run. The JavaScript runs
in one page holding webengine.js and every surface's generated code; its
trajectories come back as float64 and are compared here.

Parity: the page's points and losses equal the engine's to a relative 1e-12
(``|a - b| <= 1e-12 * max(1, |b|)``) at every step before the engine's own
path from the start nudged by one ulp (x to the next float up) departs by
more than a relative 1e-9; the run lengths and the diverged flag agree when
no such step comes (rounding chaos ends the comparison, and it is reported).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from optviz.core.engine import simulate
from optviz.core.jscode import surface_js
from optviz.core.optim import OPTIMIZERS, make_optimizer
from optviz.core.optim.export import export_optimizer
from optviz.core.optim.registry import BUILTIN
from optviz.core.surfaces import list_surfaces, load_surface

STEPS = 300
RTOL = 1e-12
CHAOS = 1e-9
SCHEDULES = {
    "step": {"type": "step", "step_size": 50, "gamma": 0.5},
    "multistep": {"type": "multistep", "milestones": [30, 100, 100, 200], "gamma": 0.5},
    "exponential": {"type": "exponential", "gamma": 0.99},
    "cosine": {"type": "cosine", "T_max": 100, "eta_min": 0.0001},
    "cosine_restarts": {"type": "cosine_restarts", "T_0": 40, "T_mult": 2, "eta_min": 0.0},
    "linear": {"type": "linear", "start_factor": 0.1, "total_iters": 50},
    "onecycle": {"type": "onecycle", "max_lr": None, "total_steps": 250},
    "sequential": {"type": "sequential", "milestones": [20, 120],
                   "schedules": [{"type": "linear", "start_factor": 0.1, "total_iters": 20},
                                 {"type": "cosine_restarts", "T_0": 30},
                                 {"type": "cosine", "T_max": 90}]},
}
SCHEDULED = ("momentum", "adam", "adagrad", "adabound", "nag")
FRACTIONS = ((0.27, 0.81), (0.71, 0.38))


def shipped() -> list[str]:
    return [k for k in OPTIMIZERS if k in BUILTIN and OPTIMIZERS[k].resolve is None]


def sign_chain(lr=0.01):
    """A user's optimizer composed from the transforms (the only use of scale_by_sign):
    the page runs such a plugin live too."""
    from optviz.core.optim import chain
    from optviz.core.optim import transforms as T

    return chain(T.scale_by_sign(), T.scale_by_learning_rate(lr))


PLUGIN = "sign_chain"
if PLUGIN not in OPTIMIZERS:
    from optviz.core.optim import register_optimizer

    register_optimizer(PLUGIN, sign_chain)


def _moved(p, d):
    """A second value in *p*'s range (the test's other hyperparameter point)."""
    expect = p.expect
    if p.kind == "bool":
        return not d
    if d is None:
        return {"beta3": 0.95, "growth_rate": 2.0}[p.name]
    if expect.startswith("a whole number"):
        return d + 3
    if expect.startswith("in [0, 1") or expect == "in (0, 1)":
        return d * d if d > 0 else 0.05
    if expect == ">= 0":
        return 2 * d if d > 0 else 0.05
    if p.name == "lr":
        return 5 * d
    return 2 * d


def points(kind: str, conventions: str) -> list[dict]:
    """The hyperparameter points of one optimizer: its defaults, then every value
    moved, then one more per further value of a choice (nag's lookahead)."""
    spec = OPTIMIZERS[kind]
    first, second, extra = {}, {}, []
    for p in spec.param_specs(conventions):
        if p.optimizer:
            base = dict(p.default)
            btype = base.pop("type")
            bspec = OPTIMIZERS[btype]
            first[p.name] = {"type": btype}
            second[p.name] = {"type": btype, **{q.name: _moved(q, q.default)
                                               for q in bspec.param_specs(conventions)}}
        elif p.kind == "choice":
            first[p.name] = p.choices[0]
            second[p.name] = p.choices[1 % len(p.choices)]
            extra += [{p.name: c} for c in p.choices[2:]]
        else:
            second[p.name] = _moved(p, p.default)
    return [first, second] + extra


@dataclass
class Case:
    label: str
    kind: str
    conventions: str
    params: dict
    export: dict = field(default_factory=dict)


def cases() -> list[Case]:
    out = []
    for kind in shipped() + [PLUGIN]:
        spec = OPTIMIZERS[kind]
        convs = ["torch"] + (["lasagne"] if spec.lasagne is not None
                             or spec.lasagne_params is not None else [])
        for conv in convs:
            for i, params in enumerate(points(kind, conv)):
                out.append(Case(f"{kind}/{conv}/{i}", kind, conv, params))
    for name, sched in SCHEDULES.items():
        for kind in SCHEDULED:
            for i, params in enumerate(points(kind, "torch")[:2]):
                s = json.loads(json.dumps(sched))
                if s["type"] == "onecycle":
                    s["max_lr"] = 3 * params.get("lr", OPTIMIZERS[kind].defaults()["lr"])
                    s["cycle_momentum"] = OPTIMIZERS[kind].main_param in ("momentum", "beta1")
                out.append(Case(f"{kind}+{name}/{i}", kind, "torch", {**params, "schedule": s}))
    for c in out:
        c.export = export_optimizer(c.kind, c.params, c.conventions)
    return out


def starts(surface) -> np.ndarray:
    (x0, x1), (y0, y1) = surface.domain
    first = surface.start if surface.start is not None else (x0 + 0.15 * (x1 - x0),
                                                             y0 + 0.15 * (y1 - y0))
    return np.array([first] + [(x0 + a * (x1 - x0), y0 + b * (y1 - y0)) for a, b in FRACTIONS],
                    dtype=np.float64)


def engine_runs(surface, case: Case, s: np.ndarray):
    """The engine's trajectories from *s* and from *s* nudged by one ulp (both coordinates up).

    One batch; a run that stopped early is run again alone, because in a batch
    the engine overwrites the loss of a run that left the bound with the loss of
    its previous point when other runs go on (engine.py: ``losses[t, k] = value``
    writes every row); alone it keeps the loss at the point outside.
    """
    nudged = s.copy()
    nudged = np.nextafter(nudged, np.inf)
    every = np.vstack([s, nudged])
    tr = simulate(surface, {case.label: make_optimizer(case.kind, case.conventions,
                                                        **case.params)}, every, STEPS)
    for i in np.flatnonzero(tr.steps[0] < STEPS):
        alone = simulate(surface, {case.label: make_optimizer(case.kind, case.conventions,
                                                               **case.params)},
                         every[i:i + 1], STEPS)
        tr.points[0, i], tr.losses[0, i] = alone.points[0, 0], alone.losses[0, 0]
        tr.steps[0, i], tr.diverged[0, i] = alone.steps[0, 0], alone.diverged[0, 0]
    return tr


# ----------------------------------------------------------------- the page
RUNNER = """
window.runCases = function (name, bound, cases, starts, steps) {
  var S = SURFACES[name], parts = [], total = 0;
  cases.forEach(function (x) {
    starts.forEach(function (st) {
      var r;
      try { r = OPTVIZ_ENGINE.simulate(S, bound, x, st, steps); }
      catch (e) { r = { n: 0, diverged: true, x: [], y: [], l: [], error: String(e) }; }
      if (r.error) throw new Error(r.error);
      var a = new Float64Array(2 + 3 * r.n);
      a[0] = r.n; a[1] = r.diverged ? 1 : 0;
      a.set(r.x, 2); a.set(r.y, 2 + r.n); a.set(r.l, 2 + 2 * r.n);
      parts.push(a); total += a.length;
    });
  });
  var all = new Float64Array(total), at = 0;
  parts.forEach(function (a) { all.set(a, at); at += a.length; });
  var bytes = new Uint8Array(all.buffer), bin = "";
  for (var i = 0; i < bytes.length; i += 32768)
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
  return btoa(bin);
};
"""


def engine_source() -> str:
    return resources.files("optviz.render").joinpath("webengine.js").read_text("utf-8")


def page_html(names, engine: str | None = None) -> str:
    surfaces = ",\n".join(f"{json.dumps(n)}: {surface_js(load_surface(n))}" for n in names)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><script>\n"
            + (engine if engine is not None else engine_source())
            + "\nvar SURFACES = {" + surfaces + "};\n" + RUNNER + "</script></body></html>")


def run_page(page, name, surface, case_list, s) -> list[list[dict]]:
    """The page's runs: [case][start] -> {n, diverged, x, y, l}."""
    text = page.evaluate("([n, b, c, s, t]) => runCases(n, b, c, s, t)",
                         [name, surface.bound().tolist(), [c.export for c in case_list],
                          s.tolist(), STEPS])
    data = np.frombuffer(base64.b64decode(text), dtype="<f8")
    out, at = [], 0
    for _ in case_list:
        row = []
        for _ in range(len(s)):
            n = int(data[at])
            div = bool(data[at + 1])
            xyz = data[at + 2: at + 2 + 3 * n].reshape(3, n)
            row.append({"n": n, "diverged": div, "x": xyz[0], "y": xyz[1], "l": xyz[2]})
            at += 2 + 3 * n
        out.append(row)
    assert at == len(data)
    return out


def _rel(a, b):
    return np.abs(a - b) / np.maximum(1.0, np.abs(b))


def compare(tr, i: int, nstarts: int, js: dict) -> dict:
    """Compare the page's run *js* with the engine's run *i* (nudged: i + nstarts)."""
    ne, nn = int(tr.steps[0, i]) + 1, int(tr.steps[0, i + nstarts]) + 1
    P, Q = tr.points[0, i], tr.points[0, i + nstarts]
    m = min(ne, nn)
    dev = np.max(_rel(Q[:m], P[:m]), axis=1)
    over = np.flatnonzero(~(dev <= CHAOS))
    chaos = int(over[0]) if over.size else (m if ne != nn else None)
    upto = ne if chaos is None else chaos
    result = {"chaos": chaos, "compared": upto, "ok": True, "why": ""}
    if chaos is None and (js["n"] != ne or js["diverged"] != bool(tr.diverged[0, i])):
        result.update(ok=False, why=f"length {js['n']} vs engine {ne}, diverged "
                                    f"{js['diverged']} vs {bool(tr.diverged[0, i])}")
        return result
    k = min(upto, js["n"])
    if k < upto:
        result.update(ok=False, why=f"the page stops at {js['n']} before step {upto}")
        return result
    page_pts = np.stack([js["x"][:k], js["y"][:k]], axis=1)
    ep, el = P[:k], tr.losses[0, i, :k]
    bad_p = np.flatnonzero(~(np.max(_rel(page_pts, ep), axis=1) <= RTOL))
    # the loss at the last compared point is only defined if the run went on
    bad_l = np.flatnonzero(~(_rel(js["l"][:k], el) <= RTOL) & ~(np.isnan(js["l"][:k])
                                                                 & np.isnan(el)))
    if bad_p.size or bad_l.size:
        t = int(min(bad_p[0] if bad_p.size else k, bad_l[0] if bad_l.size else k))
        result.update(ok=False, why=f"step {t}: page {page_pts[t].tolist()} loss "
                                    f"{js['l'][t]!r}, engine {ep[t].tolist()} loss {el[t]!r}")
    result["max_rel"] = float(max(np.max(_rel(page_pts, ep), initial=0),
                                  np.nanmax(_rel(js["l"][:k], el), initial=0)))
    return result


def run_matrix(page, names=None, case_list=None, stop_at_first=False):
    """Every case on every surface: a list of (surface, case label, start index, result)."""
    names = list(names or list_surfaces())
    case_list = case_list if case_list is not None else cases()
    out = []
    for name in names:
        surface = load_surface(name)
        s = starts(surface)
        js = run_page(page, name, surface, case_list, s)
        for c, row in zip(case_list, js):
            tr = engine_runs(surface, c, s)
            for i, run in enumerate(row):
                r = compare(tr, i, len(s), run)
                out.append((name, c.label, i, r))
                if stop_at_first and not r["ok"]:
                    return out
    return out


def first_difference(tr, i: int, js: dict) -> tuple[int, str]:
    """The first step where the page's run *js* and the engine's run *i* differ in
    any bit: (t, "point") for the point after step t - 1, (t, "loss") for the loss
    at point t, (t, "length") where one run stops; (-1, "") if none."""
    n = int(tr.steps[0, i]) + 1
    P, L = tr.points[0, i, :n], tr.losses[0, i, :n]
    m = min(n, js["n"])
    for t in range(m):
        if js["x"][t] != P[t, 0] or js["y"][t] != P[t, 1]:
            return t, "point"
        same = js["l"][t] == L[t] or (np.isnan(js["l"][t]) and np.isnan(L[t]))
        if not same:
            return t, "loss"
    return (m, "length") if js["n"] != n else (-1, "")


VG = """([name, pts]) => pts.map(p => { const o = [0, 0, 0], h = [0, 0, 0];
  SURFACES[name].vg(p[0], p[1], o); SURFACES[name].hess(p[0], p[1], h); return o.concat(h); })"""


def surface_differs(page, name, surface, points) -> list[int]:
    """The indices of *points* where the page's f, gradient or Hessian differ from
    NumPy's in any bit."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    js = np.array(page.evaluate(VG, [name, pts.tolist()]), dtype=float).reshape(-1, 6)
    v, g = surface.value_and_grad(pts)
    h = surface.hess(pts)
    ref = np.column_stack([v, g[:, 0], g[:, 1], h[:, 0, 0], h[:, 0, 1], h[:, 1, 1]])
    same = (js == ref) | (np.isnan(js) & np.isnan(ref))
    return [int(i) for i in np.flatnonzero(~same.all(axis=1))]


#: optimizers that evaluate the surface at points other than the path's
OTHER_POINTS = {"nag", "sam", "sgd_schedulefree", "adamw_schedulefree"}


def explain(page, name, surface, case: Case, tr, i: int, js: dict, exact_case: bool) -> str:
    """Why the page's run first differs from the engine's: the surface's last bits at
    the point where they part, the case's own transcendental arithmetic, or
    '' when nothing explains it."""
    t, kind = first_difference(tr, i, js)
    if t < 0:
        return "equal in every bit (differs only past the compared steps)"
    # the points both evaluated the surface at (identical so far): the state carries
    # any earlier difference (Adagrad's sum keeps every gradient's last bits)
    P = tr.points[0, i, :t + 1 if kind == "loss" else max(t, 1)]
    differs = surface_differs(page, name, surface, P)
    if differs:
        return f"the surface's last bits at step {differs[0]}"
    if not exact_case:
        return "the case's own cosine schedule or NumPy power"
    if case.kind in OTHER_POINTS or (case.export["hp"].get("base") or {}).get("type") in \
            OTHER_POINTS:
        return "not checked: the optimizer evaluates the surface elsewhere too"
    return ""
