"""``optviz explore``: an interactive window for live teaching.

Sliders set each optimizer's learning rate (log scale) and its main
hyperparameter, a step slider scrubs through the run, a chooser switches
between every shipped surface, a click on the contour plot moves the shared
start, and a button resets everything to the config. Every change re-runs
all trajectories at once (the vectorised engine makes that a few
milliseconds) and redraws only the paths; the legend reads each optimizer's
loss at the shown step, or that it diverged (its path then ends in an X).

Switching surface resets the start to the surface's suggested one and the
learning rates to sensible ones for it: the config's on the config's own
surface, elsewhere the lr with the lowest final loss among 60 log-spaced
values (1e-5 .. 10, one batched run per optimizer, as ``lr: auto`` does), so
that a learning rate tuned for one surface does not shoot off another.

The window is a plain matplotlib figure, so the same class runs headless on
the Agg canvas (the tests drive its widgets' callbacks there).
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np

from optviz.core.engine import simulate
from optviz.core.optim import get_spec
from optviz.core.surfaces import load_surface
from optviz.input.config import RunConfig

# an optimizer's second slider controls its registry entry's main_param, in this range
MAIN_RANGE = (0.0, 0.999)
LR_RANGE = (-5.0, 1.0)  # log10
SURFACE_LR_GRID = (1e-5, 10.0, 60)  # lo, hi, count: a surface's default lrs


def shipped_surfaces() -> list[str]:
    from optviz.input import library

    return library.names("surfaces")


def surface_lrs(config: RunConfig, surface, start, params) -> list[float]:
    """Per optimizer, the lr of the grid with the lowest final loss on *surface*
    from *start* (diverged runs never win), other hyperparameters as *params*."""
    from optviz.analysis.sweep import run_grid

    cfg = replace(config, surface=surface, start=tuple(start))
    lrs = np.geomspace(*SURFACE_LR_GRID)
    out = []
    for o, p in zip(config.optimizers, params):
        if "lr" not in p:  # sam / lookahead: the lr is the base's, kept as configured
            out.append(None)
            continue
        opt = replace(o, hyperparams=tuple(p.items()))
        values, diverged, _ = run_grid(cfg, opt, {"lr": lrs})
        values = np.where(diverged | ~np.isfinite(values), np.inf, values)
        out.append(float(lrs[int(np.argmin(values))]) if np.isfinite(values).any()
                   else float(p["lr"]))
    return out


class Explorer:
    """The explorer's state and widgets on a given Figure."""

    def __init__(self, config: RunConfig, fig, *, warm: bool = False):
        """*warm*: compile every shipped surface in a background thread, so that
        switching to one answers at once (a first load compiles its formula)."""
        from matplotlib.widgets import Button, RadioButtons, Slider

        from optviz.render.contour import colours, draw_start, draw_surface

        self.config, self.fig = config, fig
        self.surface = config.surface
        self.start = np.array(config.start, dtype=float)
        self.params = [dict(o.params) for o in config.optimizers]
        self.cols = colours(len(config.optimizers))
        self._draw_surface, self._draw_start = draw_surface, draw_start
        self._lrs: dict[str, list[float]] = {}  # surface name -> its default lrs
        self.ax = fig.add_axes((0.05, 0.16, 0.47, 0.76))
        self._background()
        self.lines = [self.ax.plot([], [], color=c, lw=2.2, zorder=6, label=o.label)[0]
                      for c, o in zip(self.cols, config.optimizers)]
        self.heads = [self.ax.plot([], [], "o", color=c, mec="white", ms=8, zorder=7,
                                   ls="")[0] for c in self.cols]
        self._legend()
        self.lr_sliders, self.main_sliders = [], []
        top = 0.92
        for k, o in enumerate(config.optimizers):
            s = None
            if "lr" in self.params[k]:  # wrappers (sam, lookahead): the base's, no slider
                lr = float(self.params[k]["lr"])
                ax_lr = fig.add_axes((0.62, top - 0.05, 0.17, 0.025))
                s = Slider(ax_lr, f"{o.type}\nlr", *LR_RANGE, valinit=math.log10(lr),
                           color=self.cols[k])
                s.valtext.set_text(f"{lr:.3g}")
                s.on_changed(lambda v, k=k: self.set_param(k, "lr", 10 ** v))
            self.lr_sliders.append(s)
            main = get_spec(o.type).main_param
            if main is not None and main in self.params[k]:
                ax_m = fig.add_axes((0.62, top - 0.085, 0.17, 0.025))
                m = Slider(ax_m, main, *MAIN_RANGE, valinit=float(self.params[k][main]),
                           color=self.cols[k])
                m.on_changed(lambda v, k=k, main=main: self.set_param(k, main, v))
                self.main_sliders.append(m)
                top -= 0.12
            else:
                self.main_sliders.append(None)
                top -= 0.08
        ax_step = fig.add_axes((0.12, 0.05, 0.40, 0.03))
        self.step_slider = Slider(ax_step, "step", 0, config.steps, valinit=config.steps,
                                  valstep=1, color="#555555")
        self.step_slider.on_changed(lambda v: self.show())
        names = list(dict.fromkeys([self.surface.name, *shipped_surfaces()]))
        ax_radio = fig.add_axes((0.85, 0.12, 0.14, 0.82))
        ax_radio.set_title("surface", fontsize=10, loc="left")
        self.radio = RadioButtons(ax_radio, names, active=0)
        for label in self.radio.labels:
            label.set_fontsize(8)
        self.radio.on_clicked(self.set_surface)
        self.reset_button = Button(fig.add_axes((0.85, 0.03, 0.14, 0.06)), "reset")
        self.reset_button.on_clicked(lambda event: self.reset())
        self.click_id = fig.canvas.mpl_connect("button_press_event", self.on_click)
        self.rerun()
        if warm:
            threading.Thread(target=self.warm, args=(names,), daemon=True).start()

    def warm(self, names) -> None:
        """Compile each surface and find its default lrs ahead of a switch."""
        for name in names:
            if name != self.config.surface.name:
                self.default_lrs(name)

    def default_lrs(self, name: str) -> list[float]:
        """The lrs a switch to surface *name* sets (computed once, then kept)."""
        if name not in self._lrs:
            surface = load_surface(name)
            start = surface.start if surface.start is not None else \
                [float(np.mean(r)) for r in surface.domain]
            self._lrs[name] = surface_lrs(self.config, surface, start,
                                          [dict(o.params) for o in self.config.optimizers])
        return self._lrs[name]

    # --------------------------------------------------------------- drawing
    def _background(self):
        self.ax.clear()
        (x0, x1), (y0, y1) = self.surface.domain
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self._draw_surface(self.ax, self.surface, resolution=150)
        self.start_marker = self._draw_start(self.ax, self.start)
        self.ax.set_title(f"{self.surface.title} — click to move the start", loc="left",
                          fontsize=12)

    def _legend(self):
        self.legend = self.ax.legend(handles=self.lines, loc="upper left",
                                     bbox_to_anchor=(0.0, -0.08), ncol=2, fontsize=9,
                                     frameon=False)

    # --------------------------------------------------------------- actions
    def set_param(self, k: int, name: str, value: float) -> None:
        if name == "lr":
            self.lr_sliders[k].valtext.set_text(f"{value:.3g}")
        self.params[k][name] = float(value)
        self.rerun()

    def _set_sliders(self) -> None:
        """Put every slider at the current parameters, without callbacks or
        drawing (the caller re-runs and draws once)."""
        for k, s in enumerate(self.lr_sliders):
            sliders = [(s, math.log10(self.params[k]["lr"]))] if s is not None else []
            main = self.main_sliders[k]
            if main is not None:
                name = get_spec(self.config.optimizers[k].type).main_param
                sliders.append((main, self.params[k][name]))
            for slider, value in sliders:
                slider.eventson = slider.drawon = False
                try:
                    slider.set_val(value)
                finally:
                    slider.eventson = slider.drawon = True
            if s is not None:
                s.valtext.set_text(f"{self.params[k]['lr']:.3g}")

    def set_surface(self, name: str) -> None:
        """Switch surface: its start, and learning rates sensible for it."""
        self.surface = load_surface(name)
        if self.surface.start is not None:
            self.start = np.array(self.surface.start, dtype=float)
        else:
            self.start = np.array([np.mean(r) for r in self.surface.domain])
        self.params = [dict(o.params) for o in self.config.optimizers]
        if name == self.config.surface.name:
            self.start = np.array(self.config.start, dtype=float)
        else:
            for p, lr in zip(self.params, self.default_lrs(name)):
                if lr is not None:
                    p["lr"] = lr
        self._redraw_background()
        self._set_sliders()
        self.rerun()

    def _redraw_background(self) -> None:
        lines, heads = self.lines, self.heads
        self._background()
        for artist in (*lines, *heads):
            self.ax.add_line(artist)
        self._legend()

    def reset(self) -> None:
        """Back to the config: its surface, start, hyperparameters and last step."""
        slider = self.step_slider
        slider.eventson = slider.drawon = False
        try:
            slider.set_val(self.config.steps)
        finally:
            slider.eventson = slider.drawon = True
        self.radio.set_active(0)  # the config's surface, listed first: set_surface resets

    def on_click(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            return
        self.start = np.array([event.xdata, event.ydata], dtype=float)
        self.start_marker.set_data([event.xdata], [event.ydata])
        self.rerun()

    def optimizers(self):
        from optviz.core.optim import make_optimizer

        return {o.label: make_optimizer(o.type, self.config.conventions, **self.params[k])
                for k, o in enumerate(self.config.optimizers)}

    def rerun(self) -> None:
        """Simulate every optimizer from the current start (one batch) and redraw."""
        self.traj = simulate(self.surface, self.optimizers(), self.start, self.config.steps,
                             noise=self.config.noise)
        self.show()

    def readings(self) -> list[str]:
        """The legend's text per optimizer at the shown step: its loss, or that
        it diverged (once the step reaches where it stopped)."""
        from optviz.render.labels import number

        step, tr = int(self.step_slider.val), self.traj
        out = []
        for k, o in enumerate(self.config.optimizers):
            last = int(tr.steps[k, 0])
            lr = number(self.params[k]["lr"], 3) if "lr" in self.params[k] else "of its base"
            if tr.diverged[k, 0] and step >= last:
                out.append(f"{o.label} (lr {lr}): diverged at step {last}")
            else:
                out.append(f"{o.label} (lr {lr}): loss {number(tr.losses[k, 0, min(step, last)])}")
        return out

    def show(self) -> None:
        step = int(self.step_slider.val)
        for k, (line, head) in enumerate(zip(self.lines, self.heads)):
            p = self.traj.path(k)[: step + 1]
            line.set_data(p[:, 0], p[:, 1])
            head.set_data(p[-1:, 0], p[-1:, 1])
            stopped = bool(self.traj.diverged[k, 0]) and step >= int(self.traj.steps[k, 0])
            head.set_marker("X" if stopped else "o")
            head.set_markersize(11 if stopped else 8)
        for text, reading in zip(self.legend.get_texts(), self.readings()):
            text.set_text(reading)
        self.fig.canvas.draw_idle()

    def as_config(self) -> RunConfig:
        """The current settings as a run config (e.g. to render them with optviz run)."""
        opts = tuple(replace(o, hyperparams=tuple(self.params[k].items()))
                     for k, o in enumerate(self.config.optimizers))
        return replace(self.config, surface=self.surface, start=tuple(self.start),
                       optimizers=opts)


def explore(config: RunConfig) -> Explorer:
    """Open the explorer in a window (needs an interactive matplotlib backend)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from optviz.errors import RenderError

    if matplotlib.get_backend().lower() in ("agg", "pdf", "svg", "ps", "cairo", "template"):
        raise RenderError("optviz explore needs a window, but matplotlib has no interactive "
                          f"backend here ({matplotlib.get_backend()}); run it on a desktop, "
                          "or set MPLBACKEND (e.g. TkAgg or QtAgg)")
    fig = plt.figure(figsize=(14, 8))
    fig.canvas.manager.set_window_title(f"optviz explore — {config.title}")
    explorer = Explorer(config, fig, warm=True)
    plt.show()
    return explorer
