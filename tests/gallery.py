"""The image-regression gallery: one small figure of each kind.

Each entry draws a figure from a fixed config (no randomness beyond seeded
noise); tests/test_images.py compares them with the references in
tests/baseline/, and ``python tests/make_baseline.py`` rewrites those.
"""

from __future__ import annotations

SIZE, DPI = (5.0, 3.5), 50  # 250 x 175 pixels: small files, every element still there
#: many optimizers: the default size (their legend needs it; the figure grows
#: taller) at a low dpi, 360 x 240 pixels before it grows
MANY_SIZE, MANY_DPI = (12.0, 8.0), 30
TOLERANCE = 2.0  # compare_images' RMS difference (0-255 scale) that still passes
#: the CJK figure is drawn with this font only (CI installs it: .ci/run), so
#: that its reference does not depend on which CJK fonts a machine has
CJK_FONT = "Droid Sans Fallback"


def _run(text: str):
    from optviz.app.runner import simulate_config
    from optviz.input.config import parse_config

    cfg = parse_config(text, "gallery.yaml")
    return cfg, simulate_config(cfg)


def _static(cfg, tr, loss_panel=False):
    from optviz.render.contour import make_figure
    from optviz.render.labels import figure_note, legend_heads
    from optviz.render.spec import RenderSpec

    fig, _ = make_figure(cfg.surface, tr, RenderSpec(
        title=cfg.title, size=SIZE, dpi=DPI, entries=legend_heads(cfg), note=figure_note(cfg),
        loss_panel=loss_panel))
    return fig


def contour():
    return _static(*_run("title: Contour\nsurface: wobbly\nsteps: 60\noptimizers:\n"
                         "  - {type: adam, lr: 0.25}\n  - {type: sgd, lr: 0.05}\n"
                         "  - {type: sgd, lr: 30}\n"))


def many_optimizers():
    kinds = ["sgd", "momentum", "nesterov", "nag", "adagrad", "rmsprop", "adam", "adamax",
             "nadam"]
    lines = "".join(f"  - {{type: {k}, lr: 0.05}}\n" for k in kinds)
    return _static(*_run(f"title: Nine optimizers\nsurface: himmelblau\nsteps: 40\n"
                         f"optimizers:\n{lines}"))


KINDS = ["sgd", "momentum", "nesterov", "nag", "adagrad", "rmsprop", "adam", "adamax", "nadam",
         "adamw", "adadelta", "radam", "amsgrad", "lion", "adan", "adopt", "signsgd", "signum",
         "amsbound", "adabound"]


def _many(n: int, panel: bool):
    lines = "".join(f"  - {{type: {k}, lr: 0.02}}\n" for k in KINDS[:n])
    cfg, tr = _run(f"title: {n} optimizers\nsurface: himmelblau\nsteps: 40\n"
                   f"optimizers:\n{lines}")
    from optviz.render.contour import make_figure
    from optviz.render.labels import figure_note, legend_heads
    from optviz.render.spec import RenderSpec

    fig, _ = make_figure(cfg.surface, tr, RenderSpec(
        title=cfg.title, size=MANY_SIZE, dpi=MANY_DPI, entries=legend_heads(cfg),
        note=figure_note(cfg), loss_panel=panel))
    return fig


def many_12():
    return _many(12, False)


def many_12_loss():
    return _many(12, True)


def many_20():
    return _many(20, False)


def many_20_loss():
    return _many(20, True)


def cjk():
    """Chinese, Japanese and Russian in the title and the legend, with a loss
    panel, in :data:`CJK_FONT` (the chain pinned to DejaVu Sans and it)."""
    from unittest import mock

    from optviz.render import fonts

    with mock.patch.object(fonts, "families", lambda: [fonts.BASE_FAMILY, CJK_FONT]):
        return _static(*_run("title: 优化器的轨迹 · 最適化アルゴリズム · Траектории\n"
                             "surface: wobbly\nsteps: 60\noptimizers:\n"
                             "  - {type: adam, lr: 0.25, label: 亚当 アダム Адам}\n"
                             "  - {type: sgd, lr: 0.05, label: 随机梯度下降 確率的勾配降下法}\n"),
                       loss_panel=True)


def loss_panel():
    return _static(*_run("title: Loss panel\nsurface: rosenbrock\nsteps: 80\noptimizers:\n"
                         "  - {type: newton}\n  - {type: adam, lr: 0.05}\n"
                         "  - {type: momentum, lr: 0.001}\n"), loss_panel=True)


def overlays():
    from optviz.app.runner import simulate_config
    from optviz.core.overlays import OverlayRecorder
    from optviz.input.config import parse_config
    from optviz.render.frames import make_animator

    cfg = parse_config("title: Overlays\nsurface: wobbly\nsteps: 30\noptimizers:\n"
                       "  - {type: momentum, lr: 0.02}\n  - {type: nag, lr: 0.02}\n"
                       "render: {overlays: [gradient, momentum, step], size: [5, 3.5], "
                       "dpi: 50}\n", "gallery.yaml")
    rec = OverlayRecorder(len(cfg.optimizers), cfg.steps)
    tr = simulate_config(cfg, observe=rec)
    anim = make_animator(cfg, tr, rec.data)
    anim.draw(12)
    return anim.fig


def view3d():
    from optviz.render.spec import RenderSpec
    from optviz.render.view3d import Animator3D

    cfg, tr = _run("title: 3-D\nsurface: two-minimums\nsteps: 40\noptimizers:\n"
                   "  - {type: adam, lr: 0.25}\n  - {type: sgd, lr: 0.5}\n")
    spec = RenderSpec(title=cfg.title, size=SIZE, dpi=DPI, camera=(35, -60, 0))
    return Animator3D(cfg.surface, tr, spec).still(40)


def _sweep(y=None):
    from optviz.analysis.sweep import parse_axis, sweep
    from optviz.input.config import load_config
    from optviz.render.analysis import sweep_figure

    cfg = load_config("default")
    res = sweep(cfg, parse_axis("lr=1e-3:1:log:16"), parse_axis(y) if y else None,
                optimizer="0" if y is None else "1", kind="steps_to_tol")
    return sweep_figure(res, size=SIZE, dpi=DPI)


def sweep_1d():
    return _sweep()


def sweep_2d():
    return _sweep("momentum=0:0.95:12")


def basins():
    from optviz.analysis.basins import basins as basin_map
    from optviz.input.config import load_config
    from optviz.render.analysis import basins_figure

    cfg = load_config("article/two-minimums-nesterov").with_overrides(steps=40)
    return basins_figure(basin_map(cfg, 16), size=SIZE, dpi=DPI)


def response():
    from optviz.analysis.response import article_signals, respond
    from optviz.render.analysis import response_figure

    signal = article_signals()["spikes"]
    values = (0.25, 0.9)
    steps = respond("momentum", signal, vary=("momentum", values), lr=0.1)
    return response_figure("spikes", signal, steps, [f"momentum={v:g}" for v in values],
                           title="Response", size=SIZE, dpi=DPI)


def demo():
    from optviz.app.runner import simulate_config
    from optviz.input.config import load_config

    cfg = load_config("demos/newton-saddle")
    return _static(cfg, simulate_config(cfg))


GALLERY = {f.__name__: f for f in (contour, many_optimizers, loss_panel, overlays, view3d,
                                   sweep_1d, sweep_2d, basins, response, demo, many_12,
                                   many_12_loss, many_20, many_20_loss, cjk)}


def save(fig, path) -> None:
    """As optviz saves a figure (its fonts and vector settings), at the
    highest PNG compression (the references' pixels are what is compared)."""
    from optviz.render.fonts import text_style

    with text_style():
        fig.savefig(path, format="png", dpi=fig.dpi, facecolor="white",
                    metadata={"Software": None}, pil_kwargs={"compress_level": 9})
