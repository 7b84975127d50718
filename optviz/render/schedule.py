"""The learning-rate figure: each optimizer's lr at every step (``render.lr_panel``)."""

from __future__ import annotations

import numpy as np

from optviz.render.contour import looks, new_figure
from optviz.render.fonts import styled


#: more optimizers than this: the lr figure's legend goes under the plot, in
#: LEGEND_COLUMNS columns, and the figure grows a LEGEND_ROW taller per row
INSIDE_LEGEND, LEGEND_COLUMNS, LEGEND_ROW = 6, 3, 0.2


@styled
def lr_figure(labels, lrs, *, title: str, size=(9, 4), dpi=100):
    """One step line per optimizer (its colour and dash pattern, as in the
    trajectory figure); a log axis when the lr spans more than a decade."""
    rows = -(-len(labels) // LEGEND_COLUMNS) if len(labels) > INSIDE_LEGEND else 0
    extra = rows * LEGEND_ROW + (0.15 if rows else 0.0)
    w, h = size[0], size[1] + extra
    fig = new_figure((w, h), dpi)
    ax = fig.add_axes((0.1, (0.14 * size[1] + extra) / h, 0.86, 0.74 * size[1] / h))
    for label, values, look in zip(labels, lrs, looks(len(labels))):
        values = np.asarray(values, dtype=float)
        ax.step(np.arange(1, len(values) + 1), values, where="post", color=look.colour, lw=2,
                ls=look.linestyle(), label=label)
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
    if rows:
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, loc="upper left", bbox_to_anchor=(0.1, extra / h),
                   ncol=LEGEND_COLUMNS, frameon=False, fontsize=8, handlelength=3.5)
    else:
        ax.legend(loc="best", frameon=True, framealpha=0.85, fontsize=8)
    return fig


#: the effective step size's symbol as text every font here draws (U+209C for
#: the subscript t: "α_t" in a label is drawn literally, underscore and all)
STEP_SIZE = "αₜ·Vₜ"


@styled
def step_size_figure(labels, sizes, *, title: str, size=(11, 5.5), dpi=100):
    """Each optimizer's effective per-coordinate learning rate α_t·V_t over the steps,
    one panel per coordinate, log scale (``render.step_panel``). *sizes*: (K, T, 2)
    with NaN where an optimizer defines none (it is then named as such)."""
    fig = new_figure(size, dpi)
    styles = looks(len(labels))
    rows = -(-len(labels) // 3)
    bottom = 0.14 + 0.05 * rows
    axes = [fig.add_axes((0.08 + 0.47 * i, bottom, 0.40, 0.84 - bottom)) for i in range(2)]
    t = np.arange(1, sizes.shape[1] + 1)
    missing = []
    for k, (label, look) in enumerate(zip(labels, styles)):
        if not np.isfinite(sizes[k]).any():
            missing.append(label)
            continue
        for i, ax in enumerate(axes):
            ax.plot(t, sizes[k, :, i], color=look.colour, lw=1.8, ls=look.linestyle(),
                    label=label)
    for i, ax in enumerate(axes):
        finite = sizes[..., i][np.isfinite(sizes[..., i]) & (sizes[..., i] > 0)]
        if finite.size:
            ax.set_yscale("log")
        ax.set_xlabel("step", fontsize=10)
        ax.set_title(f"{'xy'[i]} coordinate", loc="left", fontsize=10)
        ax.grid(alpha=0.3)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    axes[0].set_ylabel(f"{STEP_SIZE}  (step per unit gradient)", fontsize=10)
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="lower left", bbox_to_anchor=(0.07, 0.05), ncol=3,
                   frameon=False, fontsize=9, handlelength=3.5)
    fig.text(0.08, 0.92, title, fontsize=12, fontweight="bold")
    if missing:
        fig.text(0.08, 0.015, f"no {STEP_SIZE} form (not drawn): " + ", ".join(missing),
                 fontsize=8, color="#444444")
    return fig
