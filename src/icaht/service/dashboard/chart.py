"""The patient timeline as a plotly figure (plain JSON: data + layout), built from the course as
known on the as-of day (no look-ahead). plotly.js draws it in the browser from the copy bundled
with the installed ``plotly`` package (no CDN).

Panels (one shared day axis): ANC (log), platelets (log), Hb (linear), CRS/ICANS grade bars, and a
lane panel with fever and infection markers, transfusions, marrow biopsy and stem cell boost
markers and drug courses as bands labelled with their doses. Threshold lines: ANC 0.5 and 0.1
(ICAHT), platelets 50 and 20 (T-ICAHT), Hb 8 g/dL (CTCAE v5 grade 3 boundary). Shaded bands show
the Jain phases (early < day 30, prolonged 30-90, late > 90).
"""

from __future__ import annotations

import math
from typing import Any

from icaht.core.course import Course, day_of
from icaht.core.record import (
    CrsEpisode,
    Fever,
    IcansEpisode,
    Infection,
    MarrowBiopsy,
    Medication,
    StemCellBoost,
    Transfusion,
)
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.ctcae_criteria import HB_G2_FLOOR_G_PER_DL
from icaht.knowledge.drugs import ESA, GCSF
from icaht.knowledge.icaht_criteria import (
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    PLT_PROFOUND_10E9_PER_L,
    PLT_SEVERE_10E9_PER_L,
)
from icaht.knowledge.timeline_criteria import JAIN_PROLONGED_FIRST_DAY, JAIN_PROLONGED_LAST_DAY

#: Display floors for the log axes (a value of 0 cannot be drawn on a log scale; the hover text
#: shows the measured value). Presentation only, project default.
LOG_FLOOR = {Analyte.ANC: 0.01, Analyte.PLATELETS: 1.0}

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

# Calm, colour-blind-safe palette (Okabe-Ito); each trace also has a name and marker symbol.
_BLUE, _ORANGE, _GREEN, _RED = "#0072B2", "#D55E00", "#009E73", "#CC3311"
_PURPLE, _SKY, _YELLOW, _GREY = "#882255", "#56B4E9", "#E69F00", "#555555"
_DRUG_COLOURS = (_GREEN, _BLUE, _SKY, _RED, _PURPLE, _YELLOW, _ORANGE)
_PHASES = (
    ("early", 0.0, float(JAIN_PROLONGED_FIRST_DAY), "rgba(0,114,178,0.05)"),
    (
        "prolonged",
        float(JAIN_PROLONGED_FIRST_DAY),
        float(JAIN_PROLONGED_LAST_DAY + 1),
        "rgba(230,159,0,0.07)",
    ),
    ("late", float(JAIN_PROLONGED_LAST_DAY + 1), None, "rgba(136,34,85,0.05)"),
)
_ANC_TICKS = [0.01, 0.1, 0.5, 1, 2, 5, 10, 50]
_PLT_TICKS = [1, 5, 10, 20, 50, 100, 200, 500, 1000]
# Panel domains (fractions of the figure height, bottom to top).
_DOMAINS = {
    "lanes": (0.0, 0.2),
    "crs": (0.24, 0.33),
    "hb": (0.37, 0.53),
    "plt": (0.57, 0.77),
    "anc": (0.81, 1.0),
}


def _dose_label(med: Medication) -> str:
    parts = [med.drug]
    if med.dose is not None:
        parts.append(f"{med.dose:g}{' ' + med.dose_unit if med.dose_unit else ''}")
    if med.frequency:
        parts.append(med.frequency)
    return " ".join(parts)


def _lab_trace(
    course: Course, analyte: Analyte, name: str, axis: str, colour: str, symbol: str
) -> dict[str, Any]:
    series = course.series(analyte)
    unit = ANALYTES[analyte].canonical_unit
    floor = LOG_FLOOR.get(analyte)
    days = [round(float(d), 3) for d in series.day]
    values = [float(v) for v in series.value]
    shown = [max(v, floor) for v in values] if floor is not None else values
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": days,
        "y": shown,
        "customdata": [f"{v:.3g}" for v in values],
        "hovertemplate": f"day %{{x:.0f}}: %{{customdata}} {unit}<extra>{name}</extra>",
        "yaxis": axis,
        "line": {"color": colour, "width": 1.6},
        "marker": {"color": colour, "size": 5, "symbol": symbol},
        "connectgaps": True,
    }


def _threshold(
    axis: str, value: float, label: str, colour: str, log: bool
) -> tuple[dict[str, Any], ...]:
    line = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": axis,
        "y0": value,
        "y1": value,
        "line": {"color": colour, "width": 1, "dash": "dot"},
        "layer": "below",
    }
    note = {
        "xref": "paper",
        "x": 1,
        "xanchor": "left",
        "yref": axis,
        "y": math.log10(value) if log else value,  # annotations on a log axis take log10
        "text": label,
        "showarrow": False,
        "font": {"size": 10, "color": colour},
    }
    return line, note


def _segments(spans: list[tuple[float, float]], lane: float) -> tuple[list[Any], list[Any]]:
    xs: list[Any] = []
    ys: list[Any] = []
    for start, end in spans:
        xs += [start, end + 1, None]
        ys += [lane, lane, None]
    return xs, ys


def timeline_figure(course: Course, as_of_day: int) -> dict[str, Any]:
    """The plotly figure of a course known up to ``as_of_day`` (``course`` already cut)."""
    last = float(as_of_day)
    data: list[dict[str, Any]] = [
        _lab_trace(course, Analyte.ANC, "ANC", "y", _BLUE, "circle"),
        _lab_trace(course, Analyte.PLATELETS, "Platelets", "y2", _ORANGE, "square"),
        _lab_trace(course, Analyte.HB, "Hb", "y3", _RED, "diamond"),
    ]
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    first = min([-7.0, *(float(s.day[0]) for s in course.labs.values() if len(s))])

    # CRS / ICANS grade bars
    episodes: tuple[tuple[list[CrsEpisode] | list[IcansEpisode], str, str, str], ...] = (
        (course.of_kind(CrsEpisode), "CRS grade", _PURPLE, ""),
        (course.of_kind(IcansEpisode), "ICANS grade", _SKY, "/"),
    )
    for found_episodes, name, colour, pattern in episodes:
        xs: list[float] = []
        widths: list[float] = []
        ys: list[int] = []
        texts: list[str] = []
        for ep in found_episodes:
            if ep.grade is None:
                continue
            start = day_of(ep.start)
            end = last + 1 if ep.end is None else day_of(ep.end) + 1
            xs.append((start + end) / 2)
            widths.append(max(end - start, 0.8))
            ys.append(ep.grade)
            texts.append(f"day {start:.0f}-{end - 1:.0f}: grade {ep.grade}")
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": xs,
                "width": widths,
                "y": ys,
                "text": [f"G{y}" for y in ys],
                "textposition": "inside",
                "hovertext": texts,
                "hovertemplate": "%{hovertext}<extra>" + name + "</extra>",
                "yaxis": "y4",
                "marker": {"color": colour, "pattern": {"shape": pattern}},
                "opacity": 0.8,
            }
        )

    # Lanes: markers and drug bands
    lanes: list[str] = ["Fever / infection", "Transfusion", "Biopsy / boost"]
    meds = course.of_kind(Medication)
    groups = [(label, [m for m in meds if m.drug in members]) for label, members in DRUG_GROUPS]
    groups = [(label, found) for label, found in groups if found]
    lanes += [label for label, _ in groups]

    def marker_trace(
        name: str, lane: int, points: list[tuple[float, str]], symbol: str, colour: str
    ) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "x": [p[0] for p in points],
            "y": [lane] * len(points),
            "hovertext": [p[1] for p in points],
            "hovertemplate": "%{hovertext}<extra>" + name + "</extra>",
            "yaxis": "y5",
            "marker": {"symbol": symbol, "size": 10, "color": colour, "line": {"width": 1}},
        }

    fevers = [
        (day_of(f.start), f"day {day_of(f.start):.0f}: fever {f.temperature_c or ''}")
        for f in course.of_kind(Fever)
    ]
    infections = [
        (day_of(i.start), f"day {day_of(i.start):.0f}: {i.severity} infection {i.site or ''}")
        for i in course.of_kind(Infection)
    ]
    transfusions = course.of_kind(Transfusion)
    rbc = [
        (day_of(t.start), f"day {day_of(t.start):.0f}: RBC x{t.units}")
        for t in transfusions
        if t.product == "rbc"
    ]
    plt = [
        (day_of(t.start), f"day {day_of(t.start):.0f}: platelets x{t.units}")
        for t in transfusions
        if t.product == "platelets"
    ]
    biopsies = [
        (
            day_of(b.start),
            f"day {day_of(b.start):.0f}: marrow biopsy {b.cellularity or ''}",
        )
        for b in course.of_kind(MarrowBiopsy)
    ]
    boosts = [
        (day_of(s.start), f"day {day_of(s.start):.0f}: {s.source} stem cell boost")
        for s in course.of_kind(StemCellBoost)
    ]
    data += [
        marker_trace("Fever", 0, fevers, "triangle-up", _RED),
        marker_trace("Infection", 0, infections, "x", _PURPLE),
        marker_trace("RBC transfusion", 1, rbc, "triangle-down", _RED),
        marker_trace("Platelet transfusion", 1, plt, "square", _ORANGE),
        marker_trace("Marrow biopsy", 2, biopsies, "diamond", _GREY),
        marker_trace("Stem cell boost", 2, boosts, "star", _GREEN),
    ]
    for i, (label, found) in enumerate(groups):
        lane = 3 + i
        colour = _DRUG_COLOURS[i % len(_DRUG_COLOURS)]
        spans = [(day_of(m.start), last if m.end is None else day_of(m.end)) for m in found]
        xs, ys = _segments(spans, lane)
        # one label per dose step: a segment repeating the previous segment's dose is not labelled
        labels = [_dose_label(m) for m in found]
        shown = [i for i, text in enumerate(labels) if i == 0 or text != labels[i - 1]]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": xs,
                "y": ys,
                "yaxis": "y5",
                "line": {"color": colour, "width": 9},
                "opacity": 0.55,
                "hoverinfo": "skip",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "text",
                "name": f"{label} doses",
                "x": [spans[i][0] for i in shown],
                "y": [lane + 0.38] * len(shown),
                "text": [labels[i] for i in shown],
                "textposition": "middle right",
                "textfont": {"size": 10, "color": "#333"},
                "hovertext": [
                    f"day {spans[i][0]:.0f}-{spans[i][1]:.0f}: {labels[i]}" for i in shown
                ],
                "hovertemplate": "%{hovertext}<extra>" + label + "</extra>",
                "yaxis": "y5",
                "showlegend": False,
            }
        )

    # Thresholds (ICAHT, T-ICAHT, CTCAE v5) and Jain phase bands
    for axis, value, label, colour in (
        ("y", ANC_SEVERE_10E9_PER_L, f"{ANC_SEVERE_10E9_PER_L:g}", _BLUE),
        ("y", ANC_PROFOUND_10E9_PER_L, f"{ANC_PROFOUND_10E9_PER_L:g}", _BLUE),
        ("y2", PLT_SEVERE_10E9_PER_L, f"{PLT_SEVERE_10E9_PER_L:g}", _ORANGE),
        ("y2", PLT_PROFOUND_10E9_PER_L, f"{PLT_PROFOUND_10E9_PER_L:g}", _ORANGE),
        ("y3", HB_G2_FLOOR_G_PER_DL, f"{HB_G2_FLOOR_G_PER_DL:g}", _RED),
    ):
        line, note = _threshold(axis, value, label, colour, axis in ("y", "y2"))
        shapes.append(line)
        annotations.append(note)
    for name, start, stop, fill in _PHASES:
        end = last + 1 if stop is None else stop
        if start > last + 1:
            continue
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "x0": start,
                "x1": min(end, last + 1),
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "fillcolor": fill,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "xref": "x",
                "x": start,
                "xanchor": "left",
                "yref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "text": f"{name} phase",
                "showarrow": False,
                "font": {"size": 10, "color": _GREY},
            }
        )
    shapes.append(
        {
            "type": "line",
            "xref": "x",
            "x0": last + 1,
            "x1": last + 1,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": "#222", "width": 1.2, "dash": "dash"},
        }
    )

    def y_axis(title: str, domain: tuple[float, float], **extra: Any) -> dict[str, Any]:
        return {
            "title": {"text": title, "font": {"size": 11}},
            "domain": list(domain),
            "anchor": "x",
            "zeroline": False,
            "gridcolor": "#e6e9ee",
            "fixedrange": True,
            **extra,
        }

    layout = {
        "height": 760,
        "margin": {"l": 118, "r": 40, "t": 30, "b": 70},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1f2933"},
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.08, "yanchor": "top", "font": {"size": 11}},
        "hovermode": "closest",
        "barmode": "overlay",
        "xaxis": {
            "title": {"text": "Day after infusion", "font": {"size": 11}},
            "range": [first - 1, last + 2],
            "zeroline": True,
            "zerolinecolor": "#9aa5b1",
            "gridcolor": "#eef1f4",
            "anchor": "y5",
        },
        "yaxis": y_axis("ANC 10^9/L (log)", _DOMAINS["anc"], type="log", tickvals=_ANC_TICKS),
        "yaxis2": y_axis(
            "Platelets 10^9/L (log)", _DOMAINS["plt"], type="log", tickvals=_PLT_TICKS
        ),
        "yaxis3": y_axis("Hb g/dL", _DOMAINS["hb"], rangemode="tozero"),
        "yaxis4": y_axis("CRS / ICANS", _DOMAINS["crs"], range=[0, 5], dtick=1),
        "yaxis5": y_axis(
            "",
            _DOMAINS["lanes"],
            range=[len(lanes) - 0.2, -0.7],
            tickvals=list(range(len(lanes))),
            ticktext=lanes,
            tickfont={"size": 10},
            showgrid=False,
        ),
        "shapes": shapes,
        "annotations": annotations,
    }
    return {"data": data, "layout": layout}
