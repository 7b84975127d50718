"""``optviz explore``: an interactive window for live teaching.

Sliders set each optimizer's learning rate (log scale) and its main
hyperparameter, a step slider scrubs through the run, a chooser switches the
surface, and a click on the contour plot moves the shared start. Every change
re-runs all trajectories at once (the vectorised engine makes that a few
milliseconds) and redraws only the paths.

The window is a plain matplotlib figure, so the same class runs headless on
the Agg canvas (the tests drive its widgets' callbacks there).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from optviz.core.engine import simulate
from optviz.core.optim import get_spec
from optviz.core.surfaces import load_surface
from optviz.input.config import RunConfig

# an optimizer's second slider controls its registry entry's main_param, in this range
MAIN_RANGE = (0.0, 0.999)
LR_RANGE = (-5.0, 1.0)  # log10
SURFACES = ("wobbly", "basins-and-walls", "ripple", "giant-plateau", "hills-and-canyon",
            "two-minimums", "ravine", "rosenbrock", "himmelblau", "saddle")


class Explorer:
    """The explorer's state and widgets on a given Figure."""

    def __init__(self, config: RunConfig, fig):
        from matplotlib.widgets import RadioButtons, Slider

        from optviz.render.contour import colours, draw_start, draw_surface, layout_axes

        self.config, self.fig = config, fig
        self.surface = config.surface
        self.start = np.array(config.start, dtype=float)
        self.params = [dict(o.params) for o in config.optimizers]
        self.cols = colours(len(config.optimizers))
        self._draw_surface, self._draw_start, self._layout = draw_surface, draw_start, layout_axes
        self.ax = fig.add_axes((0.05, 0.16, 0.52, 0.76))
        self._background()
        self.lines = [self.ax.plot([], [], color=c, lw=2.2, zorder=6,
                                   label=o.label)[0]
                      for c, o in zip(self.cols, config.optimizers)]
        self.heads = [self.ax.plot([], [], "o", color=c, mec="white", ms=8, zorder=7)[0]
                      for c in self.cols]
        self.lr_sliders, self.main_sliders = [], []
        top = 0.92
        for k, o in enumerate(config.optimizers):
            lr = float(self.params[k]["lr"])
            ax_lr = fig.add_axes((0.66, top - 0.05, 0.22, 0.025))
            s = Slider(ax_lr, f"{o.type}\nlr", *LR_RANGE, valinit=math.log10(lr),
                       color=self.cols[k])
            s.valtext.set_text(f"{lr:.3g}")
            s.on_changed(lambda v, k=k: self.set_param(k, "lr", 10 ** v))
            self.lr_sliders.append(s)
            main = get_spec(o.type).main_param
            if main is not None and main in self.params[k]:
                ax_m = fig.add_axes((0.66, top - 0.085, 0.22, 0.025))
                m = Slider(ax_m, main, *MAIN_RANGE, valinit=float(self.params[k][main]),
                           color=self.cols[k])
                m.on_changed(lambda v, k=k, main=main: self.set_param(k, main, v))
                self.main_sliders.append(m)
                top -= 0.12
            else:
                self.main_sliders.append(None)
                top -= 0.08
        ax_step = fig.add_axes((0.12, 0.05, 0.45, 0.03))
        self.step_slider = Slider(ax_step, "step", 0, config.steps, valinit=config.steps,
                                  valstep=1, color="#555555")
        self.step_slider.on_changed(lambda v: self.show())
        names = list(dict.fromkeys([self.surface.name, *SURFACES]))
        ax_radio = fig.add_axes((0.66, 0.03, 0.3, max(0.05, min(0.32, top - 0.08))))
        self.radio = RadioButtons(ax_radio, names, active=0)
        self.radio.on_clicked(self.set_surface)
        self.click_id = fig.canvas.mpl_connect("button_press_event", self.on_click)
        self.rerun()

    # --------------------------------------------------------------- actions
    def _background(self):
        self.ax.clear()
        (x0, x1), (y0, y1) = self.surface.domain
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self._draw_surface(self.ax, self.surface, resolution=150)
        self.start_marker = self._draw_start(self.ax, self.start)
        self.ax.set_title(f"{self.surface.title} — click to move the start", loc="left",
                          fontsize=12)

    def set_param(self, k: int, name: str, value: float) -> None:
        self.params[k][name] = float(value)
        if name == "lr":
            self.lr_sliders[k].valtext.set_text(f"{value:.3g}")
        self.rerun()

    def set_surface(self, name: str) -> None:
        self.surface = load_surface(name)
        if self.surface.start is not None:
            self.start = np.array(self.surface.start, dtype=float)
        lines, heads = self.lines, self.heads
        self._background()
        for artist in (*lines, *heads):
            self.ax.add_line(artist)
        self.rerun()

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

    def show(self) -> None:
        step = int(self.step_slider.val)
        for k, (line, head) in enumerate(zip(self.lines, self.heads)):
            p = self.traj.path(k)[: step + 1]
            line.set_data(p[:, 0], p[:, 1])
            head.set_data(p[-1:, 0], p[-1:, 1])
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
    fig = plt.figure(figsize=(13, 8))
    fig.canvas.manager.set_window_title(f"optviz explore — {config.title}")
    explorer = Explorer(config, fig)
    plt.show()
    return explorer
