"""The patient timeline as a plotly figure (plain JSON: data + layout), built from the course as
known on the as-of day (no look-ahead) and that day's assessment. plotly.js draws it in the
browser from the copy bundled with the installed ``plotly`` package (no CDN).

Panels (one shared day axis, :mod:`.panels`): ANC (log), platelets (log), Hb (linear) with their
threshold lines, CRS/ICANS grade bars, and the lane panel (:mod:`.lanes`) with fever and
infection markers, a lane per transfused product, marrow biopsy and stem cell boost markers and
drug courses as bands with their dose steps. The ICAHT/T-ICAHT episodes that set the grade are
shaded (:mod:`.shading`); hovering a day lists every lineage with its CTCAE grade (:mod:`.hover`).
"""

from __future__ import annotations

from typing import Any

from icaht.core.assessment import Assessment
from icaht.core.course import Course
from icaht.service.dashboard.chart.hover import day_hover_trace
from icaht.service.dashboard.chart.lanes import lanes
from icaht.service.dashboard.chart.palette import MARGIN, panel_domains
from icaht.service.dashboard.chart.panels import axes, grade_bars, lab_traces, phases, thresholds
from icaht.service.dashboard.chart.shading import episode_shapes, graded_runs

#: How near (px) the pointer must be to a day's point for the hover box to show it: small, so
#: that the box lists that day's points and not a neighbouring day's. Presentation only.
HOVER_DISTANCE_PX = 8


def timeline_figure(course: Course, a: Assessment) -> dict[str, Any]:
    """The plotly figure of a course known up to ``a.as_of_day`` (``course`` already cut)."""
    last = float(a.as_of_day)
    first = min([-7.0, *(float(s.day[0]) for s in course.labs.values() if len(s))])
    x_range = (first - 1, last + 2)
    lane_panel = lanes(course, last, x_range[1] - x_range[0])
    runs = graded_runs(a)
    threshold_lines, threshold_notes = thresholds()
    phase_bands, phase_notes = phases(last)
    height, domains = panel_domains(len(lane_panel.names))
    layout = {
        "height": height,
        "margin": MARGIN,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1f2933"},
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.08, "yanchor": "top", "font": {"size": 11}},
        # one hover box per day over every panel (chart.hover)
        "hovermode": "x unified",
        "hoversubplots": "axis",
        "hoverdistance": HOVER_DISTANCE_PX,
        "barmode": "overlay",
        **axes(domains, x_range, lane_panel.names),
        "shapes": [*episode_shapes(runs), *threshold_lines, *phase_bands],
        "annotations": [*threshold_notes, *phase_notes],
    }
    data = [
        *lab_traces(course),
        *grade_bars(course, last),
        *lane_panel.traces,
        day_hover_trace(course, runs),
    ]
    return {"data": data, "layout": layout}
