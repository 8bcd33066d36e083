"""The all-lineage day hover of the patient timeline (issue 16, chart): hovering a day shows
every lineage measured that day (ANC, platelets, Hb, and WBC and lymphocytes when present) in
its display unit with its CTCAE v5.0 grade, and the ICAHT/T-ICAHT episodes covering the day.

One invisible trace carries a point per day with a lineage value; the figure uses plotly's
``hovermode: "x unified"`` across all panels so the hover box appears wherever the pointer is on
that day. Grades come from :func:`icaht.core.ctcae.grade_array` (the flowsheet's grader), shown
as the flowsheet shows them (:func:`icaht.service.dashboard.cells.ctcae_cell`).
"""

from __future__ import annotations

import math
from typing import Any

from icaht.core.course import Course
from icaht.core.ctcae import grade_array
from icaht.core.lineage import LINEAGES
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.service.dashboard.cells import ctcae_cell, fmt
from icaht.service.dashboard.chart.shading import GradedRun

#: A day's lines for one lineage: calendar day -> hover line.
_DayLines = dict[int, str]


def _lineage_lines(course: Course) -> list[tuple[str, _DayLines]]:
    """Per lineage with values: its name and, per day, the last value that day with its grade."""
    out: list[tuple[str, _DayLines]] = []
    for _, analyte, term, _ in LINEAGES:
        series = course.series(analyte)
        if not len(series):
            continue
        info = ANALYTES[analyte]
        codes = grade_array(term, series.value, series.lln, unit_code=series.unit_code)
        lines: _DayLines = {}
        values = zip(series.day.tolist(), series.value.tolist(), codes.tolist(), strict=True)
        for day, value, code in values:
            grade = ctcae_cell(code if code >= 0 else None, None, not math.isnan(value))
            lines[calendar_day(day)] = (
                f"{info.display} {fmt(value)} {info.canonical_unit} · CTCAE {grade.text}"
            )
        out.append((info.display, lines))
    return out


def day_hover_trace(course: Course, runs: list[GradedRun]) -> dict[str, Any]:
    """The hover-only trace: per day with a lineage value, all lineages and covering episodes."""
    lineages = _lineage_lines(course)
    days = sorted({day for _, lines in lineages for day in lines})
    texts = []
    for day in days:
        lines = [f"<b>Counts on day {day}</b>"]
        lines += [by_day.get(day, f"{name}: no value this day") for name, by_day in lineages]
        lines += [run.text for run in runs if run.start <= day <= run.end]
        texts.append("<br>".join(lines))
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "All lineages",
        "x": days,
        # on the ANC threshold line, inside the axis range whatever the values
        "y": [ANC_SEVERE_10E9_PER_L] * len(days),
        "hovertext": texts,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "yaxis": "y",
        "marker": {"size": 1, "opacity": 0},
        "showlegend": False,
    }
