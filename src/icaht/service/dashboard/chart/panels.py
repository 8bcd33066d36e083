"""The measurement panels of the patient timeline: ANC (log), platelets (log) and Hb (linear)
with their threshold lines, the CRS/ICANS grade bars, the Jain phase bands, the as-of line, and
the axes of all panels (one shared day axis).

Threshold lines: ANC 0.5 and 0.1 (ICAHT), platelets 50 and 20 (T-ICAHT), Hb 8 g/dL (CTCAE v5
grade 3 boundary); phases: early < day 30, prolonged 30-90, late > 90 (Jain et al.).
"""

from __future__ import annotations

import math
from typing import Any

from icaht.core.course import Course, day_of
from icaht.core.record import CrsEpisode, IcansEpisode
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.ctcae_criteria import HB_G2_FLOOR_G_PER_DL
from icaht.knowledge.icaht_criteria import (
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    PLT_PROFOUND_10E9_PER_L,
    PLT_SEVERE_10E9_PER_L,
)
from icaht.knowledge.timeline_criteria import JAIN_PROLONGED_FIRST_DAY, JAIN_PROLONGED_LAST_DAY
from icaht.service.dashboard.chart.palette import BLUE, GREY, ORANGE, PURPLE, RED, SKY

#: Display floors for the log axes (a value of 0 cannot be drawn on a log scale; the hover text
#: shows the measured value). Presentation only, project default.
LOG_FLOOR = {Analyte.ANC: 0.01, Analyte.PLATELETS: 1.0}

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


def _lab_trace(
    course: Course, analyte: Analyte, name: str, axis: str, colour: str, symbol: str
) -> dict[str, Any]:
    """One lineage's values; the day hover (chart.hover) names them with their grades."""
    series = course.series(analyte)
    floor = LOG_FLOOR.get(analyte)
    values = [float(v) for v in series.value]
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": [round(float(d), 3) for d in series.day],
        "y": [max(v, floor) for v in values] if floor is not None else values,
        "hoverinfo": "skip",
        "yaxis": axis,
        "line": {"color": colour, "width": 1.6},
        "marker": {"color": colour, "size": 5, "symbol": symbol},
        "connectgaps": True,
    }


def lab_traces(course: Course) -> list[dict[str, Any]]:
    """ANC, platelets and Hb, each on its panel."""
    return [
        _lab_trace(course, Analyte.ANC, "ANC", "y", BLUE, "circle"),
        _lab_trace(course, Analyte.PLATELETS, "Platelets", "y2", ORANGE, "square"),
        _lab_trace(course, Analyte.HB, "Hb", "y3", RED, "diamond"),
    ]


def grade_bars(course: Course, last: float) -> list[dict[str, Any]]:
    """CRS and ICANS episodes as bars of their grade over their days."""
    traces = []
    for episodes, name, colour, pattern in (
        (course.of_kind(CrsEpisode), "CRS grade", PURPLE, ""),
        (course.of_kind(IcansEpisode), "ICANS grade", SKY, "/"),
    ):
        graded = [ep for ep in episodes if ep.grade is not None]
        starts = [day_of(ep.start) for ep in graded]
        ends = [last + 1 if ep.end is None else day_of(ep.end) + 1 for ep in graded]
        grades = [ep.grade for ep in graded]
        traces.append(
            {
                "type": "bar",
                "name": name,
                "x": [(s + e) / 2 for s, e in zip(starts, ends, strict=True)],
                "width": [max(e - s, 0.8) for s, e in zip(starts, ends, strict=True)],
                "y": grades,
                "text": [f"G{g}" for g in grades],
                "textposition": "inside",
                "hovertext": [
                    f"day {s:.0f}-{e - 1:.0f}: grade {g}"
                    for s, e, g in zip(starts, ends, grades, strict=True)
                ],
                "hovertemplate": "%{hovertext}<extra>" + name + "</extra>",
                "yaxis": "y4",
                "marker": {"color": colour, "pattern": {"shape": pattern}},
                "opacity": 0.8,
            }
        )
    return traces


def _threshold(
    axis: str, value: float, colour: str, log: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
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
        "text": f"{value:g}",
        "showarrow": False,
        "font": {"size": 10, "color": colour},
    }
    return line, note


def thresholds() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ICAHT, T-ICAHT and CTCAE threshold lines (shapes) and their labels (annotations)."""
    shapes, notes = [], []
    for axis, value, colour in (
        ("y", ANC_SEVERE_10E9_PER_L, BLUE),
        ("y", ANC_PROFOUND_10E9_PER_L, BLUE),
        ("y2", PLT_SEVERE_10E9_PER_L, ORANGE),
        ("y2", PLT_PROFOUND_10E9_PER_L, ORANGE),
        ("y3", HB_G2_FLOOR_G_PER_DL, RED),
    ):
        line, note = _threshold(axis, value, colour, axis in ("y", "y2"))
        shapes.append(line)
        notes.append(note)
    return shapes, notes


def phases(last: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Jain phase bands up to day ``last`` and their names, then the as-of line."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for name, start, stop, fill in _PHASES:
        if start > last + 1:
            continue
        end = last + 1 if stop is None else min(stop, last + 1)
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "x0": start,
                "x1": end,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "fillcolor": fill,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        notes.append(
            {
                "xref": "x",
                "x": start,
                "xanchor": "left",
                "yref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "text": f"{name} phase",
                "showarrow": False,
                "font": {"size": 10, "color": GREY},
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
    return shapes, notes


def _y_axis(title: str, domain: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 11}},
        "domain": list(domain),
        "anchor": "x",
        "zeroline": False,
        "gridcolor": "#e6e9ee",
        "fixedrange": True,
        **extra,
    }


def axes(
    domains: dict[str, tuple[float, float]], x_range: tuple[float, float], lanes: list[str]
) -> dict[str, Any]:
    """The shared day axis and the five panels' y axes."""
    anc, plt = ANALYTES[Analyte.ANC], ANALYTES[Analyte.PLATELETS]
    return {
        "xaxis": {
            "title": {"text": "Day after infusion", "font": {"size": 11}},
            "range": list(x_range),
            "zeroline": True,
            "zerolinecolor": "#9aa5b1",
            "gridcolor": "#eef1f4",
            "anchor": "y5",
            "showspikes": True,
            "spikemode": "across",
            "spikethickness": 1,
            "spikecolor": GREY,
            "unifiedhovertitle": {"text": "day %{x:.0f}"},
        },
        "yaxis": _y_axis(
            f"ANC {anc.canonical_unit} (log)", domains["anc"], type="log", tickvals=_ANC_TICKS
        ),
        "yaxis2": _y_axis(
            f"Platelets {plt.canonical_unit} (log)",
            domains["plt"],
            type="log",
            tickvals=_PLT_TICKS,
        ),
        "yaxis3": _y_axis(
            f"Hb {ANALYTES[Analyte.HB].canonical_unit}", domains["hb"], rangemode="tozero"
        ),
        "yaxis4": _y_axis("CRS / ICANS", domains["crs"], range=[0, 5], dtick=1),
        "yaxis5": _y_axis(
            "",
            domains["lanes"],
            range=[len(lanes) - 0.4, -0.7],
            tickvals=list(range(len(lanes))),
            ticktext=lanes,
            tickfont={"size": 10},
            showgrid=False,
        ),
    }
