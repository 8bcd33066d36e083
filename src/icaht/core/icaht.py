"""The result of one ICAHT grading window (EHA/EBMT consensus grading, Rejeski et al., Blood 2023),
shared by neutrophil ICAHT (:mod:`icaht.core.neutrophil_icaht`) and T-ICAHT
(:mod:`icaht.core.ticaht`): :class:`IcahtResult` with its :class:`Episode` runs, and how one
patient's result is read from the kernel's columns (:mod:`icaht.core.kernel`): episodes, the
late-window rules, "cannot evaluate" results (``grade=None`` and a reason, never an exception)
and :func:`grade_one` (a batch of one).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from icaht.core.daily import Comparison, FloatArray, IntArray, calendar_end
from icaht.core.day_grid import DaySeries
from icaht.core.day_text import (
    carried_caveats,
    dropped_caveats,
    fmt_value,
    gap_caveats,
    threshold_label,
)
from icaht.core.frozen import FROZEN
from icaht.core.grading_scheme import GradingScheme
from icaht.core.kernel import (
    END_NOT_A_NUMBER,
    GRADED,
    NOT_REACHED,
    RULE4_APPLIED,
    RULE4_ONGOING,
    RULE4_UNKNOWN,
    Batch,
    Window,
    WindowGrades,
    grade_window,
)
from icaht.knowledge.icaht_criteria import EARLY_WINDOW_END_DAY

#: ``end_reason`` of an assessment that is simply made before the window closes (not censoring by
#: an event): the result is the grade so far and is marked provisional.
AS_OF = "as-of"


class Episode(BaseModel):
    """A run of days under a threshold (or one graded value, ``days == 1``) that set a grade."""

    model_config = FROZEN
    start_day: int
    end_day: int
    days: int
    nadir_10e9_per_l: float
    nadir_day: int
    threshold_10e9_per_l: float
    comparison: Literal["<=", "<"]


class IcahtResult(BaseModel):
    """An ICAHT or T-ICAHT grade for one window, with what set it and what limits it.

    ``grade`` is 0-4, or None when the window cannot be evaluated (``reason`` says why).
    ``provisional`` marks a grade that can still change: the window is not complete as of the
    assessment, or a late grade rests on a single value. ``window_start_day``/``window_end_day``
    are the window actually used (after censoring; end < start means the window is not reached).
    ``censored_by`` names the ``end_reason`` when follow-up ends before the nominal window end.
    ``duration_days`` maps a threshold label (e.g. ``"<=0.5"``) to the counted days.
    ``episodes`` are those that set the grade. ``caveats`` are data-quality findings and the
    notes needed to read the grade.
    """

    model_config = FROZEN
    scale: Literal["ICAHT", "T-ICAHT"]
    window: Literal["early", "late"]
    grade: int | None = Field(default=None, ge=0, le=4)
    reason: str | None = None
    provisional: bool = False
    lower_bound: bool = Field(
        default=False,
        description="Days of the window have no value (beyond the interpolation limit), so the "
        "true duration, and the grade, may be higher: the grade is a minimum.",
    )
    window_start_day: int
    window_end_day: int
    censored_by: str | None = None
    duration_days: dict[str, int] = Field(default_factory=dict)
    episodes: list[Episode] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)
    carried_days: list[int] = Field(
        default_factory=list,
        description="Days of the window whose value was carried from the first value back to "
        "day 0 or from the last value forward to the window end (edge carry of the published "
        "method; setting icaht.carry_edges_days).",
    )


# ---------------------------------------------------------------------------------------------
# One patient's result from the kernel's columns (icaht.core.kernel)
# ---------------------------------------------------------------------------------------------


def episodes_from_runs(
    series: DaySeries,
    starts: IntArray,
    ends: IntArray,
    selected: IntArray,
    *,
    threshold: float,
    comparison: Comparison,
) -> list[Episode]:
    """Episodes for the selected runs of ``series`` (grid indices), with their nadir."""
    out: list[Episode] = []
    if selected.size == 0:
        return out
    vals = series.values
    if bool(np.isnan(vals).any()):  # joined runs may span missing days (short gaps)
        vals = np.where(np.isnan(vals), np.inf, vals)
    for k in selected.tolist():
        s, e = int(starts[k]), int(ends[k])
        seg = vals[s : e + 1]
        j = int(seg.argmin())
        out.append(
            Episode(
                start_day=series.start_day + s,
                end_day=series.start_day + e,
                days=e - s + 1,
                nadir_10e9_per_l=float(seg[j]),
                nadir_day=series.start_day + s + j,
                threshold_10e9_per_l=threshold,
                comparison=comparison,
            )
        )
    return out


def point_episode(day: int, value: float, threshold: float, comparison: Comparison) -> Episode:
    """A single graded value as an episode of one day."""
    return Episode(
        start_day=day,
        end_day=day,
        days=1,
        nadir_10e9_per_l=value,
        nadir_day=day,
        threshold_10e9_per_l=threshold,
        comparison=comparison,
    )


def late_window_closed(
    scale: Literal["ICAHT", "T-ICAHT"], nominal_end: int, end_day: float
) -> list[str]:
    """The caveat of a late grade read after its window closed (docs/decisions.md, Grading:
    "late windows end quietly no more"): the window's grade stands, later values are not graded
    by the scale (the lineage's CTCAE grade of today is)."""
    end_cal = calendar_end(end_day)
    if end_cal is None or end_cal <= nominal_end:
        return []
    return [
        f"late window closed on day {nominal_end}; cytopenia after it is not graded by {scale} "
        f"(today's values are graded by CTCAE)"
    ]


def not_evaluable(
    scale: Literal["ICAHT", "T-ICAHT"],
    window: Literal["early", "late"],
    *,
    reason: str,
    start: int,
    end: int,
    censored_by: str | None,
    caveats: list[str],
    citations: list[str],
) -> IcahtResult:
    """A ``grade=None`` result with its reason."""
    return IcahtResult(
        scale=scale,
        window=window,
        grade=None,
        reason=reason,
        window_start_day=start,
        window_end_day=end,
        censored_by=censored_by,
        caveats=caveats,
        citations=citations,
    )


def window_result(grades: WindowGrades, i: int, *, end_day: float, end_reason: str) -> IcahtResult:
    """Patient ``i`` of a graded batch as an :class:`IcahtResult`: the kernel's grade with the
    episodes that set it, the caveats needed to read it (in a fixed order: ignored values, late
    window closed, gaps, edge carry, the rule that set or limited the grade, window open) and
    the citations. ``end_day``/``end_reason`` are the patient's end of follow-up (messages)."""
    scheme, status = grades.scheme, int(grades.status[i])
    early = grades.window == "early"
    citations = list(scheme.early_citations if early else scheme.late_citations)
    start, end = grades.start, int(grades.end[i])
    censored_by = end_reason if bool(grades.censored[i]) else None
    if status == END_NOT_A_NUMBER:
        return not_evaluable(
            scheme.scale,
            grades.window,
            reason="end of follow-up is not a number",
            start=start,
            end=start - 1,
            censored_by=None,
            caveats=[],
            citations=citations,
        )
    if status == NOT_REACHED:
        reason = f"{grades.window} window not reached (follow-up ends day {end}, {end_reason}"
        if not early:
            reason += f"; late {scheme.scale} starts day {start}"
        return not_evaluable(
            scheme.scale,
            grades.window,
            reason=reason + ")",
            start=start,
            end=end,
            censored_by=censored_by,
            caveats=[],
            citations=citations,
        )
    prep = grades.prepared
    caveats = dropped_caveats(
        int(prep.dropped_non_finite[i]),
        int(prep.dropped_after_end[i]),
        scheme.analyte,
        end_day,
        end_reason,
    )
    if not early:
        caveats += late_window_closed(scheme.scale, grades.nominal_end, end_day)
    if status != GRADED:
        return not_evaluable(
            scheme.scale,
            grades.window,
            reason=f"no {scheme.analyte} value in day {start}-{end}",
            start=start,
            end=end,
            censored_by=censored_by,
            caveats=caveats,
            citations=citations,
        )
    series = None if grades.grid is None else grades.grid.series(i)
    if series is not None:
        caveats += gap_caveats(series, scheme.analyte_plural)
        caveats += carried_caveats(series, scheme.analyte_plural)
    episodes = (
        _early_episodes(grades, i, series, caveats, end_reason)
        if early and series is not None
        else _late_episodes(grades, i, series, caveats)
    )
    if bool(grades.open[i]):
        caveats.append(
            f"early window incomplete (assessed as of day {end}): grade so far, provisional"
            if early
            else f"late window open (assessed as of day {end}, window to day "
            f"{grades.nominal_end}): grade so far, provisional"
        )
    return IcahtResult(
        scale=scheme.scale,
        window=grades.window,
        grade=int(grades.grade[i]),
        provisional=bool(grades.provisional[i]),
        lower_bound=bool(grades.lower_bound[i]),
        window_start_day=start,
        window_end_day=end,
        censored_by=censored_by,
        duration_days={label: int(d[i]) for label, d in grades.durations.items()},
        episodes=episodes,
        caveats=caveats,
        citations=citations,
        carried_days=[] if series is None else series.carried_days(),
    )


def _early_episodes(
    grades: WindowGrades, i: int, series: DaySeries, caveats: list[str], end_reason: str
) -> list[Episode]:
    """The runs that set an early grade (every row reaching the grade, shallow row first, or the
    run of the no-recovery rule), adding the rule's caveat to ``caveats``."""
    scheme = grades.scheme
    cmp = scheme.comparison
    table_grade = max(int(g[i]) for g in grades.row_grades)
    episodes: list[Episode] = []
    for row, runs, row_grade in zip(scheme.early_rows, grades.runs, grades.row_grades, strict=True):
        if int(row_grade[i]) and int(row_grade[i]) == table_grade:
            starts, ends, selected = runs.of(i)
            episodes += episodes_from_runs(
                series, starts, ends, selected, threshold=row.threshold, comparison=cmp
            )
    rule = int(grades.rule4[i])
    if not rule:
        return episodes
    row = scheme.early_rows[0]
    starts, ends, _ = grades.runs[0].of(i)
    last = np.array([starts.size - 1], dtype=np.int64)
    run_start = series.start_day + int(starts[-1])
    last_day = series.start_day + int(ends[-1])
    end = series.end_day
    label = threshold_label(cmp, row.threshold)
    if rule == RULE4_UNKNOWN:
        caveats.append(
            f"{scheme.analyte} {label} since day {run_start} unresolved at the last value (day "
            f"{last_day}), but no {scheme.analyte} on day {last_day + 1}-{end}: recovery "
            f"unknown, grade-4 rule (no recovery) not applied"
        )
    elif rule == RULE4_ONGOING:
        caveats.append(
            f"{scheme.analyte} {label} since day {run_start} is ongoing at the last value (day "
            f"{last_day}): grade 4 if it lasts to day {EARLY_WINDOW_END_DAY} or follow-up ends "
            f"without recovery (LIANG-ICAHT)"
        )
    elif rule == RULE4_APPLIED:
        closed_by = (
            f"follow-up ended day {end} ({end_reason})"
            if end < EARLY_WINDOW_END_DAY
            else f"no recovery by day {EARLY_WINDOW_END_DAY}"
        )
        caveats.append(
            f"grade 4 by the no-recovery rule (LIANG-ICAHT): {scheme.analyte} {label} from day "
            f"{run_start} to the last value (day {last_day}); {closed_by}"
        )
        episodes = episodes_from_runs(
            series, starts, ends, last, threshold=row.threshold, comparison=cmp
        )
    return episodes


def _late_episodes(
    grades: WindowGrades, i: int, series: DaySeries | None, caveats: list[str]
) -> list[Episode]:
    """The value(s) that set a late grade (docs/decisions.md, Grading: the non-transient rule;
    LIANG-ICAHT), or the run of T-ICAHT's deepest band, adding the rule's caveat to
    ``caveats``."""
    late = grades.late
    if late is None:
        return []
    scheme, cmp = grades.scheme, grades.scheme.comparison
    daily = grades.daily
    lo = int(late.lowest[i])
    lo_day, lo_val = int(daily.cal[lo]), float(daily.values[lo])
    lo_grade, lo_thr = int(late.lowest_grade[i]), float(late.lowest_threshold[i])
    episodes: list[Episode] = []
    if int(late.n_tests[i]) < 2:
        if not np.isnan(lo_thr):
            episodes.append(point_episode(lo_day, lo_val, lo_thr, cmp))
        caveats.append(
            f"single {scheme.analyte} value in the late window (day {lo_day}: "
            f"{fmt_value(lo_val)}): grade provisional ({scheme.single_note})"
        )
        return episodes
    nd = int(late.second[i])
    nd_day, nd_val = int(daily.cal[nd]), float(daily.values[nd])
    nd_grade, nd_thr = int(late.second_grade[i]), float(late.second_threshold[i])
    analyte = scheme.analyte_plural
    if scheme.late_rule == "lowest_confirmed":
        if bool(late.confirmed[i]):
            if not np.isnan(lo_thr):
                episodes = [
                    point_episode(lo_day, lo_val, lo_thr, cmp),
                    point_episode(nd_day, nd_val, scheme.late_confirm, cmp),
                ]
        elif lo_grade:
            caveats.append(
                f"lowest {analyte} {fmt_value(lo_val)} on day {lo_day} is transient: no other "
                f"value in the window is {threshold_label(cmp, scheme.late_confirm)} (next "
                f"lowest {fmt_value(nd_val)} on day {nd_day}); graded 0"
            )
    else:
        if not np.isnan(nd_thr):
            episodes = [
                point_episode(lo_day, lo_val, nd_thr, cmp),
                point_episode(nd_day, nd_val, nd_thr, cmp),
            ]
        if lo_grade > nd_grade:
            caveats.append(
                f"lowest {analyte} {fmt_value(lo_val)} on day {lo_day} not matched by a second "
                f"value in its band (second lowest {fmt_value(nd_val)} on day {nd_day}): "
                f"transient, not graded from it"
            )
    if bool(grades.lifted[i]) and series is not None and scheme.late_row is not None:
        starts, ends, selected = grades.runs[0].of(i)
        episodes = episodes_from_runs(
            series, starts, ends, selected, threshold=scheme.late_row.threshold, comparison=cmp
        )
    return episodes


def grade_one(
    scheme: GradingScheme,
    window: Window,
    days: FloatArray,
    values: FloatArray,
    *,
    end_day: float,
    end_reason: str,
) -> IcahtResult:
    """One patient's window graded by the kernel (a batch of one)."""
    batch = Batch.one(days, values, end_day, end_reason == AS_OF)
    grades = grade_window(scheme, window, batch)
    return window_result(grades, 0, end_day=end_day, end_reason=end_reason)
