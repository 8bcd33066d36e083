"""Shading of the ICAHT and T-ICAHT episodes that set the grade (issue 16, chart).

The episodes come from the grading result of :mod:`icaht.core.icaht` (``IcahtResult.episodes``:
the runs under the threshold, or the graded values, the grader counted); nothing is re-graded
here. Early and late ICAHT (ANC) are shaded on the ANC panel, early and late T-ICAHT (platelets)
on the platelet panel, each with a legend entry naming the grade and the days; the day hover
(:mod:`icaht.service.dashboard.chart.hover`) names the episodes covering the hovered day.
Grading rules: docs/decisions.md (Grading), Rejeski et al. Blood 2023 (ICAHT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from icaht.core.assessment import Assessment
from icaht.core.icaht import Episode, IcahtResult

#: Fill of the shaded days: ICAHT on the ANC panel (blue), T-ICAHT on the platelet panel (orange).
_FILLS = {"ICAHT": "rgba(0,114,178,0.13)", "T-ICAHT": "rgba(213,94,0,0.13)"}
#: The panel (y axis) each scale is shaded on.
_AXES = {"ICAHT": "y", "T-ICAHT": "y2"}
_ANALYTES = {"ICAHT": "ANC", "T-ICAHT": "platelets"}
_SIGNS = {"<=": "≤", "<": "<"}


@dataclass(frozen=True, slots=True)
class GradedRun:
    """One episode that set an ICAHT or T-ICAHT grade, with the words that name it."""

    scale: str  # "ICAHT" or "T-ICAHT"
    grade: str  # "early ICAHT grade 3", the legend group of the result's episodes
    start: int
    end: int  # inclusive calendar day
    text: str  # grade, threshold and days


def _days(episode: Episode) -> str:
    if episode.days == 1:
        return f"day {episode.start_day}"
    return f"day {episode.start_day}-{episode.end_day} ({episode.days} days)"


def _run(result: IcahtResult, episode: Episode) -> GradedRun:
    bound = f"{_SIGNS[episode.comparison]}{episode.threshold_10e9_per_l:g}"
    grade = f"{result.window} {result.scale} grade {result.grade}"
    if result.provisional:
        grade += " (provisional)"
    text = f"{grade}: {_ANALYTES[result.scale]} {bound}, {_days(episode)}"
    return GradedRun(result.scale, grade, episode.start_day, episode.end_day, text)


def graded_runs(a: Assessment) -> list[GradedRun]:
    """The episodes that set the early/late ICAHT and T-ICAHT grades of an assessment."""
    results = (a.early_icaht, a.late_icaht, a.early_ticaht, a.late_ticaht)
    return [_run(r, ep) for r in results if r.grade for ep in r.episodes]


def _legend_names(runs: list[GradedRun]) -> dict[str, str]:
    """Per grade, its legend entry: the grade and the days of all its episodes."""
    days: dict[str, list[str]] = {}
    for run in sorted(runs, key=lambda r: r.start):
        shown = f"{run.start}" if run.start == run.end else f"{run.start}-{run.end}"
        days.setdefault(run.grade, []).append(shown)
    return {grade: f"{grade}: day {', '.join(found)}" for grade, found in days.items()}


def episode_shapes(runs: list[GradedRun]) -> list[dict[str, Any]]:
    """One shaded band per graded run on its lineage's panel; one legend entry per grade."""
    names = _legend_names(runs)
    shapes = []
    for i, run in enumerate(runs):
        first = all(other.grade != run.grade for other in runs[:i])
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "x0": run.start,
                "x1": run.end + 1,
                "yref": f"{_AXES[run.scale]} domain",
                "y0": 0,
                "y1": 1,
                "fillcolor": _FILLS[run.scale],
                "line": {"width": 0},
                "layer": "below",
                "name": names[run.grade],
                "showlegend": first,
                "legendgroup": run.grade,
            }
        )
    return shapes
