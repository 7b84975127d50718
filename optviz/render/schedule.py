"""The learning-rate figure: each optimizer's lr at every step (``render.lr_panel``)."""

from __future__ import annotations

import numpy as np

from optviz.render.contour import colours, new_figure


def lr_figure(labels, lrs, *, title: str, size=(9, 4), dpi=100):
    """One step line per optimizer; a log axis when the lr spans more than a decade."""
    fig = new_figure(size, dpi)
    ax = fig.add_axes((0.1, 0.14, 0.86, 0.74))
    for label, values, c in zip(labels, lrs, colours(len(labels))):
        values = np.asarray(values, dtype=float)
        ax.step(np.arange(1, len(values) + 1), values, where="post", color=c, lw=2, label=label)
    every = np.concatenate([np.asarray(v, dtype=float) for v in lrs]) if lrs else np.ones(1)
    positive = every[every > 0]
    if positive.size and positive.max() / positive.min() > 10:
        ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=11)
    ax.set_ylabel("learning rate", fontsize=11)
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    ax.grid(alpha=0.3)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    ax.legend(loc="best", frameon=True, framealpha=0.85, fontsize=8)
    return fig
