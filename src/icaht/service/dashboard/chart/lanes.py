"""The lane panel of the patient timeline: fever and infection, one lane per transfused product,
marrow biopsy and stem cell boost markers, and drug courses as bands with their dose steps.

Markers that can fall on the same day never hide each other: each transfused product has its own
lane and symbol, and the two kinds sharing a lane (fever/infection, biopsy/boost) sit on either
side of its centre line. Dose-step labels never overlap: a label goes on the row above the band,
else the row below, when that row is free from the previous label's end; a step whose label fits
on neither row is named only in the hover of its step tick. The labels are laid out for a wide
and a narrow plot (``LABEL_PLOT_PX``); the browser shows the set that fits. Presentation only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from icaht.core.course import Course, day_of
from icaht.core.record import (
    Fever,
    Infection,
    MarrowBiopsy,
    Medication,
    StemCellBoost,
    Transfusion,
)
from icaht.knowledge.drugs import ESA, GCSF
from icaht.service.dashboard.chart.palette import (
    DRUG_COLOURS,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    RED,
    SKY,
    YELLOW,
)

#: Drug groups drawn as course bands: label -> ingredient names (lower case).
DRUG_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("G-CSF", GCSF),
    ("Eltrombopag", frozenset({"eltrombopag"})),
    ("Romiplostim", frozenset({"romiplostim"})),
    ("Erythropoietin", ESA),
    (
        "Steroids",
        frozenset(
            {
                "dexamethasone",
                "methylprednisolone",
                "prednisone",
                "prednisolone",
                "hydrocortisone",
            }
        ),
    ),
    ("Tocilizumab", frozenset({"tocilizumab"})),
    ("Anakinra", frozenset({"anakinra"})),
)

#: Transfused products in lane order: product -> (trace name, marker symbol, colour).
TRANSFUSED: dict[str, tuple[str, str, str]] = {
    "rbc": ("RBC transfusion", "triangle-down", RED),
    "platelets": ("Platelet transfusion", "square", ORANGE),
    "plasma": ("Plasma transfusion", "circle", YELLOW),
    "cryoprecipitate": ("Cryoprecipitate transfusion", "hexagon", SKY),
    "granulocytes": ("Granulocyte transfusion", "cross", PURPLE),
}
#: Offset (in lanes) of the two marker kinds that share a lane, either side of its centre.
SHARED_LANE_OFFSET = 0.22
#: Dose label rows of a drug lane, as offsets (in lanes) from its band: above, then below.
LABEL_ROWS = (-0.36, 0.36)
#: Width (px) of one dose-label character in the chart's 10 px font (about 5.3 px measured in
#: chromium, rounded up). Presentation only.
LABEL_CHAR_PX = 5.4
#: Plot widths (px) the dose labels are laid out for, widest first: the patient page on a wide
#: screen, and narrow plots (the printed A4 page, about 545 px; tablets). Each set fits a plot
#: at least that wide; the browser shows the widest set that fits (static/dashboard.js), the
#: print view the narrowest. Presentation only.
LABEL_PLOT_PX = (1060, 520)

Point = tuple[float, str]


@dataclass(frozen=True, slots=True)
class Lanes:
    """The lane traces and the lane names (index = lane position, top to bottom)."""

    traces: list[dict[str, Any]]
    names: list[str]


def _markers(name: str, y: float, points: list[Point], symbol: str, colour: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": [p[0] for p in points],
        "y": [y] * len(points),
        "hovertext": [p[1] for p in points],
        "hovertemplate": "%{hovertext}<extra>" + name + "</extra>",
        "yaxis": "y5",
        "marker": {"symbol": symbol, "size": 10, "color": colour, "line": {"width": 1}},
    }


def _point(
    event: Fever | Infection | Transfusion | MarrowBiopsy | StemCellBoost, text: str
) -> Point:
    day = day_of(event.start)
    return day, f"day {day:.0f}: {text}"


#: One kind of marker: trace name, points, symbol, colour.
_Kind = tuple[str, list[Point], str, str]


def _shared_lane(lane: int, above: _Kind, below: _Kind) -> list[dict[str, Any]]:
    """Two marker kinds on one lane, either side of its centre line."""
    return [
        _markers(above[0], lane - SHARED_LANE_OFFSET, *above[1:]),
        _markers(below[0], lane + SHARED_LANE_OFFSET, *below[1:]),
    ]


def _event_lanes(course: Course) -> Lanes:
    """Fever/infection, one lane per transfused product present, biopsy/boost."""
    fevers = [_point(f, f"fever {f.temperature_c or ''}") for f in course.of_kind(Fever)]
    infections = [
        _point(i, f"{i.severity} infection {i.site or ''}") for i in course.of_kind(Infection)
    ]
    names = ["Fever / infection"]
    traces = _shared_lane(
        0, ("Fever", fevers, "triangle-up", RED), ("Infection", infections, "x", PURPLE)
    )
    transfusions = course.of_kind(Transfusion)
    for product, (name, symbol, colour) in TRANSFUSED.items():
        word = name.removesuffix(" transfusion")
        points = [_point(t, f"{word} x{t.units}") for t in transfusions if t.product == product]
        if points:
            traces.append(_markers(name, len(names), points, symbol, colour))
            names.append(name)
    biopsies = [
        _point(b, f"marrow biopsy {b.cellularity or ''}") for b in course.of_kind(MarrowBiopsy)
    ]
    boosts = [_point(s, f"{s.source} stem cell boost") for s in course.of_kind(StemCellBoost)]
    traces += _shared_lane(
        len(names),
        ("Marrow biopsy", biopsies, "diamond", GREY),
        ("Stem cell boost", boosts, "star", GREEN),
    )
    names.append("Biopsy / boost")
    return Lanes(traces, names)


def dose_label(med: Medication, with_drug: bool = True) -> str:
    """A dose step as text: drug (unless the lane names it), dose and unit, frequency."""
    parts = [med.drug] if with_drug else []
    if med.dose is not None:
        parts.append(f"{med.dose:g}{' ' + med.dose_unit if med.dose_unit else ''}")
    if med.frequency:
        parts.append(med.frequency)
    return " ".join(parts) or med.drug


def label_rows(
    starts: Sequence[float], labels: Sequence[str], span: float, plot_px: int
) -> list[int | None]:
    """The row (index into ``LABEL_ROWS``) of each label, or None when it fits on no row: a row
    is free once the previous label on it has ended (its length in ``LABEL_CHAR_PX`` on a plot
    ``plot_px`` wide showing ``span`` days)."""
    days_per_char = LABEL_CHAR_PX / plot_px * span
    free_from = [float("-inf")] * len(LABEL_ROWS)
    rows: list[int | None] = []
    for start, text in zip(starts, labels, strict=True):
        row = next((r for r, free in enumerate(free_from) if start >= free), None)
        if row is not None:
            free_from[row] = start + len(text) * days_per_char
        rows.append(row)
    return rows


def _drug_traces(
    label: str, found: list[Medication], lane: int, colour: str, last: float, span: float
) -> list[dict[str, Any]]:
    """A drug group's band, a tick per dose step (hover) and its dose labels where they fit."""
    spans = [(day_of(m.start), last if m.end is None else day_of(m.end)) for m in found]
    xs: list[float | None] = []
    for start, end in spans:
        xs += [start, end + 1, None]
    with_drug = any(m.drug != label.lower() for m in found)
    texts = [dose_label(m, with_drug) for m in found]
    # one step per dose change: a segment repeating the previous segment's dose is no new step
    steps = [i for i, text in enumerate(texts) if i == 0 or text != texts[i - 1]]
    starts = [spans[i][0] for i in steps]
    band = {
        "type": "scatter",
        "mode": "lines",
        "name": label,
        "x": xs,
        "y": [None if x is None else lane for x in xs],
        "yaxis": "y5",
        "line": {"color": colour, "width": 9},
        "opacity": 0.55,
        "hoverinfo": "skip",
    }
    ticks = {
        "type": "scatter",
        "mode": "markers",
        "name": f"{label} dose steps",
        "x": starts,
        "y": [lane] * len(steps),
        "hovertext": [f"day {spans[i][0]:.0f}-{spans[i][1]:.0f}: {texts[i]}" for i in steps],
        "hovertemplate": "%{hovertext}<extra>" + label + "</extra>",
        "yaxis": "y5",
        "marker": {"symbol": "line-ns", "size": 12, "line": {"width": 2, "color": "#333"}},
        "showlegend": False,
    }
    step_texts = [texts[i] for i in steps]
    return [
        band,
        ticks,
        *(_labels(label, lane, starts, step_texts, span, px) for px in LABEL_PLOT_PX),
    ]


def _labels(
    label: str, lane: int, starts: list[float], texts: list[str], span: float, plot_px: int
) -> dict[str, Any]:
    """The dose labels that fit a plot ``plot_px`` wide (``meta.label_plot_px``; the widest set
    is visible until the browser picks the set for its plot)."""
    rows = label_rows(starts, texts, span, plot_px)
    placed = [
        (x, text, row) for x, text, row in zip(starts, texts, rows, strict=True) if row is not None
    ]
    return {
        "type": "scatter",
        "mode": "text",
        "name": f"{label} doses ({plot_px} px)",
        "meta": {"label_plot_px": plot_px},
        "visible": plot_px == LABEL_PLOT_PX[0],
        "x": [x for x, _, _ in placed],
        "y": [lane + LABEL_ROWS[row] for _, _, row in placed],
        "text": [text for _, text, _ in placed],
        "textposition": "middle right",
        "textfont": {"size": 10, "color": "#333"},
        "hoverinfo": "skip",
        "yaxis": "y5",
        "showlegend": False,
    }


def lanes(course: Course, last: float, span: float) -> Lanes:
    """The lane panel up to day ``last`` on a day axis ``span`` days wide."""
    events = _event_lanes(course)
    traces, names = events.traces, events.names
    meds = course.of_kind(Medication)
    first_drug_lane = len(names)
    for label, members in DRUG_GROUPS:
        found = [m for m in meds if m.drug in members]
        if not found:
            continue
        colour = DRUG_COLOURS[(len(names) - first_drug_lane) % len(DRUG_COLOURS)]
        traces += _drug_traces(label, found, len(names), colour, last, span)
        names.append(label)
    return Lanes(traces, names)
