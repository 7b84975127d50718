"""How each optimizer's path looks: colour, dash pattern and head marker.

One table for every figure kind (and, as plain data, for the web page:
:func:`style_table`). Up to 21 optimizers get 21 distinct looks: seven
colours, solid, then dashed, then dash-dotted, each round with its own head
marker, so two paths of one colour differ in both dash and marker.

The seven colours stay apart for readers with deuteranopia or protanopia as
well as for everyone else, and apart from the contour greys: every pair is at
least 10 CIEDE2000 units apart in each of the three visions (Machado et al.
2009 simulations), and every colour at least 10 from the filled-contour ramp,
the contour lines over it and the level labels (tests/test_styles.py). Okabe
& Ito's (2008) blue, vermillion, bluish green, orange and sky blue; Paul Tol's
purple for Okabe & Ito's reddish purple (a bluish grey like the contour lines
under deuteranopia: 2.6 units from them) and his indigo as the seventh.
"""

from __future__ import annotations

from dataclasses import dataclass

# Okabe & Ito (2008), "Color Universal Design": the basins figure's tints
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
#: the paths' colours, in order (black is the start marker's; yellow vanishes
#: on the light background)
PATH_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#AA3377", "#E69F00", "#56B4E9", "#332288")
#: dash patterns in line widths (None: solid), one per round of the colours.
#: Round caps lengthen each dash by one width and shorten each gap by one: the
#: dashed line shows 4.2-width dashes and 1-width gaps, the dash-dotted one
#: 5-width dashes, 1.1-width dots and 1.3-width gaps (a dotted line of
#: 1-width dots vanished under its white halo at print size)
DASHES = (None, (3.2, 2.0), (4.0, 2.3, 0.1, 2.3))
#: head markers, one per round (a head of the same colour differs in shape)
HEAD_MARKERS = ("o", "s", "D")
#: the figure's fixed greys the paths must stand out from (contour.py draws them)
BACKGROUND = ("#fbfbfc", "#c3c8d1")  # the filled contours' light ramp, low to high
CONTOUR_LINE = "#4d5563"
CONTOUR_ALPHA = 0.55
LEVEL_LABEL = "#3a404b"
START_COLOUR = "black"


@dataclass(frozen=True)
class Look:
    """How one optimizer's path is drawn: colour, dash pattern (in line widths,
    None for solid) and head marker."""

    colour: str
    dashes: tuple[float, ...] | None = None
    marker: str = "o"

    def linestyle(self):
        return "-" if self.dashes is None else (0, self.dashes)


def looks(k: int) -> list[Look]:
    """One distinct look per optimizer (21 of them; then they repeat)."""
    n = len(PATH_COLOURS)
    return [Look(PATH_COLOURS[i % n], DASHES[(i // n) % len(DASHES)],
                 HEAD_MARKERS[(i // n) % len(HEAD_MARKERS)]) for i in range(k)]


def colours(k: int) -> list[str]:
    """Each optimizer's colour."""
    return [look.colour for look in looks(k)]


def style_table(k: int) -> list[dict]:
    """The first *k* looks as plain data (JSON-ready): ``{"colour": "#0072B2",
    "dashes": null or [widths...], "marker": "o"}`` (matplotlib marker codes)."""
    return [{"colour": look.colour,
             "dashes": None if look.dashes is None else list(look.dashes),
             "marker": look.marker} for look in looks(k)]
