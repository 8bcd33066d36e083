"""Colours and panel geometry of the patient timeline, shared by its panels, lanes and shading.

Calm, colour-blind-safe palette (Okabe-Ito); colour is never the only carrier: every trace also
has a name and a marker symbol. Presentation only.
"""

from __future__ import annotations

BLUE, ORANGE, GREEN, RED = "#0072B2", "#D55E00", "#009E73", "#CC3311"
PURPLE, SKY, YELLOW, GREY = "#882255", "#56B4E9", "#E69F00", "#555555"
DRUG_COLOURS = (GREEN, BLUE, SKY, RED, PURPLE, YELLOW, ORANGE)

#: Pixel heights of the panels above the lane panel (top to bottom), the gap between panels and
#: the figure margins. The lane panel grows with its lane count (``LANE_PX`` per lane) so that a
#: drug lane has room for a dose label row above and below its band.
PANEL_PX = {"anc": 125, "plt": 132, "hb": 106, "crs": 59}
GAP_PX = 26
LANE_PX = 44
MIN_LANES_PX = 132
MARGIN = {"l": 118, "r": 40, "t": 30, "b": 70}


def panel_domains(lanes: int) -> tuple[int, dict[str, tuple[float, float]]]:
    """The figure height and each panel's domain (fractions of the plot height, bottom to top)
    for a lane panel of ``lanes`` lanes."""
    lanes_px = max(MIN_LANES_PX, LANE_PX * lanes)
    heights = [("lanes", lanes_px), *((name, PANEL_PX[name]) for name in ("crs", "hb", "plt"))]
    heights.append(("anc", PANEL_PX["anc"]))
    plot = sum(px for _, px in heights) + GAP_PX * (len(heights) - 1)
    domains: dict[str, tuple[float, float]] = {}
    bottom = 0
    for name, px in heights:
        domains[name] = (round(bottom / plot, 4), round((bottom + px) / plot, 4))
        bottom += px + GAP_PX
    return plot + MARGIN["t"] + MARGIN["b"], domains
