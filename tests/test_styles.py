"""Up to 21 optimizers told apart: colour, dash and marker, for every reader.

Colour-vision deficiency is simulated with Machado, Oliveira & Fernandes
(2009), "A physiologically-based model for simulation of color vision
deficiency" (IEEE TVCG 15(6)), severity 1.0 (dichromacy), applied to linear
RGB; colour differences are CIEDE2000 (Sharma, Wu & Dalal 2005) in CIELAB
under D65, both written out here in NumPy and checked against published
values.

The threshold is 10 CIEDE2000 units, for path against path and path against
the contour greys. 2.3 units is the just-noticeable difference for two large
patches side by side; paths are 2-pixel lines seen apart, which need several
times that (Szafir 2017, "Modeling Color Difference for Visualization Design",
IEEE TVCG 24(1): about 3 to 5 times for thin marks), and about 4 JND is what
keeps two legend swatches apart at a glance. Okabe & Ito's reddish purple is
2.6 units from the contour lines under deuteranopia: that pair fails.
"""

import itertools
import json

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optviz.render import styles

THRESHOLD = 10.0

MACHADO = {  # severity 1.0, on linear RGB
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
VISIONS = ("normal", "deuteranopia", "protanopia")
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65 = np.array([0.95047, 1.0, 1.08883])


def rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255


def linear(c):
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def encoded(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def seen(colour, vision: str) -> np.ndarray:
    """sRGB (0..1) as a reader with *vision* sees it (Machado et al. 2009)."""
    colour = np.asarray(colour, float)
    if vision == "normal":
        return colour
    return encoded(linear(colour) @ MACHADO[vision].T)


def lab(colour) -> np.ndarray:
    xyz = linear(colour) @ SRGB_TO_XYZ.T / D65
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def ciede2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1), Sharma et al. (2005)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    zero = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(zero, 0.0, dh)
    d_l, d_c = L2 - L1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) > 180,
                     np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2), hsum / 2)
    h_bar = np.where(zero, hsum, h_bar)
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2
                   + r_t * (d_c / s_c) * (d_h / s_h))


def difference(c1, c2, vision: str) -> float:
    return float(ciede2000(lab(seen(c1, vision)), lab(seen(c2, vision))))


@pytest.mark.parametrize("lab1, lab2, expected", [  # Sharma, Wu & Dalal (2005), Table 1
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, -1.0, 2.0), (50.0, 0.0, 0.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (50.0, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
])
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert float(ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("vision, red, green", [("deuteranopia", "#d62728", "#2ca02c"),
                                                 ("protanopia", "#ff0000", "#7a7a00")])
def test_the_simulation_keeps_greys_and_merges_red_and_green(vision, red, green):
    """Machado's matrices leave neutral greys alone (each row sums to 1) and
    bring a red and a green together (72 -> 4.6 and 48 -> 8.4 units)."""
    np.testing.assert_allclose(seen(rgb("#777777"), vision), rgb("#777777"), atol=1e-5)
    red, green = rgb(red), rgb(green)
    assert difference(red, green, vision) < difference(red, green, "normal") / 5


def contour_colours() -> list:
    """The greys a path crosses: both ends of the filled ramp, the contour lines
    over each (alpha-blended as drawn) and the level labels."""
    ramp = [rgb(c) for c in styles.BACKGROUND]
    line, a = rgb(styles.CONTOUR_LINE), styles.CONTOUR_ALPHA
    return ramp + [a * line + (1 - a) * r for r in ramp] + [rgb(styles.LEVEL_LABEL)]


@pytest.mark.parametrize("vision", VISIONS)
def test_twenty_paths_differ_in_colour_or_in_both_dash_and_marker(vision):
    looks = styles.looks(20)
    assert len({(look.colour, look.dashes, look.marker) for look in looks}) == 20
    for a, b in itertools.combinations(looks, 2):
        if a.colour == b.colour:
            assert a.dashes != b.dashes and a.marker != b.marker, (a, b)
        else:
            d = difference(rgb(a.colour), rgb(b.colour), vision)
            assert d >= THRESHOLD, (vision, a.colour, b.colour, round(d, 1))


@pytest.mark.parametrize("vision", VISIONS)
def test_every_path_colour_stands_out_from_the_contour_greys(vision):
    for colour in styles.PATH_COLOURS:
        for grey in contour_colours():
            d = difference(rgb(colour), grey, vision)
            assert d >= THRESHOLD, (vision, colour, np.round(grey * 255), round(d, 1))


def test_the_old_palette_fails_the_same_check():
    """Okabe & Ito's reddish purple (the fourth path before) turns into a grey
    2.6 units from the contour lines for a deuteranope: the check catches it."""
    worst = min(difference(rgb("#CC79A7"), g, "deuteranopia") for g in contour_colours())
    assert worst < 3


def line_coverage(look, width_pt=2.2, dpi=100) -> tuple[float, int]:
    """A horizontal path of *look*, as the figures draw it (round caps), on
    white: the share of a solid line's ink it puts down along its centre, and
    how many gaps break it."""
    fig = Figure(figsize=(4, 0.4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.plot([0.05, 0.95], [0.5, 0.5], color=look.colour, lw=width_pt, ls=look.linestyle(),
            solid_capstyle="round", dash_capstyle="round")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    row = img[img.shape[0] // 2, int(0.1 * img.shape[1]):int(0.9 * img.shape[1])]
    ink = np.abs(row - rgb(look.colour) * 255).sum(axis=1) < 120
    return float(ink.mean()), int(np.sum(ink[1:] & ~ink[:-1]))


def test_every_line_style_keeps_most_of_its_ink_and_shows_its_pattern():
    """At 2.2 pt and 100 dpi (the figures' width; print keeps the proportions,
    dashes being in line widths): each style inks at least 60% of the line
    (the old dotted style: about 40%, lost under its halo), and the broken
    ones show their gaps."""
    solid, dashed, dash_dot = styles.looks(15)[0], styles.looks(15)[7], styles.looks(15)[14]
    assert (solid.dashes, dashed.dashes is not None, dash_dot.dashes is not None) == \
        (None, True, True)
    assert dashed.dashes != dash_dot.dashes
    cover = {name: line_coverage(look) for name, look in
             (("solid", solid), ("dashed", dashed), ("dash-dot", dash_dot))}
    assert cover["solid"] == (1.0, 0)
    for name in ("dashed", "dash-dot"):
        share, breaks = cover[name]
        assert share >= 0.6 and breaks >= 10, (name, cover[name])
    old_dotted = styles.Look("#0072B2", (0.1, 1.9))
    assert line_coverage(old_dotted)[0] < 0.6


def test_the_style_table_is_plain_data():
    table = styles.style_table(21)
    assert json.loads(json.dumps(table)) == table
    assert [(t["colour"], t["marker"]) for t in table] == \
        [(look.colour, look.marker) for look in styles.looks(21)]
    assert table[0]["dashes"] is None and table[7]["dashes"] == list(styles.DASHES[1])
