"""Early and late neutrophil ICAHT (EHA/EBMT consensus grading, Rejeski et al., Blood 2023).

Thresholds and tables come from :mod:`icaht.knowledge.icaht_criteria` (ICAHT Table 1 as encoded by
the published automated method, LIANG-ICAHT; docs/evidence.md 3.1). Counting rules are the
profile's :class:`~icaht.knowledge.profile.grading.IcahtSettings` (docs/decisions.md, "Grading").

Inputs are numpy float64 arrays sorted by day: ``days`` relative to infusion (fractional; calendar
day = floor) and ``values`` in 10^9/L. ``end_day`` is the end of usable follow-up as of the
assessment and ``end_reason`` names it ("as-of", "death", "progression", "next therapy",
"last follow-up"). Values after ``end_day`` are ignored. "Cannot evaluate" is a result with
``grade=None`` and a reason, never an exception.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from icaht.core.daily import Comparison, FloatArray, IntArray, calendar_end
from icaht.core.day_grid import DaySeries
from icaht.core.day_text import (
    carried_caveats,
    dropped_caveats,
    fmt_value,
    gap_caveats,
    threshold_label,
)
from icaht.core.kernel import (
    END_NOT_A_NUMBER,
    GRADED,
    NOT_REACHED,
    RULE4_APPLIED,
    RULE4_ONGOING,
    RULE4_UNKNOWN,
    Batch,
    GradingScheme,
    Window,
    WindowGrades,
    grade_window,
    icaht_scheme,
)
from icaht.knowledge.icaht_criteria import EARLY_WINDOW_END_DAY
from icaht.knowledge.profile.grading import IcahtSettings

#: ``end_reason`` of an assessment that is simply made before the window closes (not censoring by
#: an event): the result is the grade so far and is marked provisional.
AS_OF = "as-of"


class Episode(BaseModel):
    """A run of days under a threshold (or one graded value, ``days == 1``) that set a grade."""

    model_config = ConfigDict(frozen=True)
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

    model_config = ConfigDict(frozen=True)
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


# ---------------------------------------------------------------------------------------------
# Neutrophil ICAHT
# ---------------------------------------------------------------------------------------------


def grade_early_icaht(
    days: FloatArray,
    values: FloatArray,
    *,
    end_day: float,
    end_reason: str,
    settings: IcahtSettings,
) -> IcahtResult:
    """Early neutrophil ICAHT, day 0 to +30 (ICAHT Table 1 via LIANG-ICAHT; clinical-reference 3.1).

    Method (docs/decisions.md "Grading"; defaults of LIANG-ICAHT):

    * Window: calendar days 0..30, cut at ``floor(end_day)``; values after ``end_day`` ignored.
    * Lowest ANC per calendar day; linear interpolation over gaps of at most
      ``settings.interpolation_max_gap_days`` missing days, interpolated values rounded to
      0.01 x10^9/L (10/uL). Longer gaps stay missing and are reported as "incomplete data".
    * Edge carry (published method, zoo ``na.approx`` rule 2, maxgap 7; docs/decisions.md,
      Early ICAHT): a first value at most ``settings.carry_edges_days`` days after day 0 is
      carried back to day 0, and the last value forward to the window end (day 30 or the end of
      follow-up) when that gap is at most as long; longer edge stretches stay missing. Carried
      days are listed in ``carried_days`` and named in a caveat (0 = no carry).
    * Thresholds "<=": ANC <= 0.5 and <= 0.1 (0.5 exactly counts).
    * Duration (``settings.duration_method``): ``longest_run`` = longest run under the threshold,
      runs separated by <= ``settings.join_gap_days`` days joined (the days between count);
      ``cumulative`` = the sum of all such joined runs (T-ICAHT footnote).
    * Grade = max of the 0.5 row (1-6 d G1, 7-13 G2, 14-30 G3, >= 31 G4) and the 0.1 row
      (7-13 d G3, >= 14 G4).
    * Extra grade-4 rule (LIANG-ICAHT): a (joined) run of ANC <= 0.5 starting on day
      0..``settings.early_grade4_onset_max_day`` and still running at the last available value,
      with no more than ``interpolation_max_gap_days`` days between that value and the window end
      (LIANG-ICAHT's grid reaches the window end through its interpolation), is grade 4 when the
      window is closed: follow-up reached day 30 (no recovery by day +30) or was ended before
      day 30 by death, progression, next therapy or last follow-up (e.g. early death without
      recovery). **Reading for an as-of before day 30**: the patient is still followed, so no
      recovery *yet* is not censoring; the table grade so far is returned, ``provisional=True``,
      with a caveat that the neutropenia is ongoing and would make grade 4 if it persists.
      If the last value is more than the interpolation limit before the window end, the rule is
      not applied (recovery unknown) and a caveat says so.

    ``provisional`` is True when ``end_reason == "as-of"`` and the window ends before day 30.
    No ANC value in the window gives ``grade=None`` with a reason.
    """
    return grade_one(
        icaht_scheme(settings), "early", days, values, end_day=end_day, end_reason=end_reason
    )


def grade_late_icaht(
    days: FloatArray,
    values: FloatArray,
    *,
    end_day: float,
    end_reason: str,
    settings: IcahtSettings,
) -> IcahtResult:
    """Late neutrophil ICAHT, day +31 onward (ICAHT Table 1 via LIANG-ICAHT; clinical-ref. 3.1).

    Window: calendar days 31..min(``settings.late_window_end_day``, floor(``end_day``)), the
    caller's ``end_day`` being the earliest of as-of, relapse/progression, next therapy, death and
    last follow-up. Before day 31: ``grade=None``, "late window not reached".

    Values: the lowest observed ANC per calendar day (LIANG-ICAHT keeps one value per day, so "at
    least one other value" means one on another day). Not rounded, not interpolated.
    Depth bands "<=": <= 1.5 G1, <= 1.0 G2, <= 0.5 G3, <= 0.1 G4; lowest > 1.5 is grade 0.

    Non-transient rule (``settings.late_rule``):

    * ``lowest_confirmed`` (LIANG-ICAHT): the band of the lowest value, provided at least one
      other value in the window is <= 1.5; otherwise grade 0 (a transient dip; caveat says so).
    * ``second_lowest``: the band of the second-lowest value (both values reach the band).

    The rule is shared with late T-ICAHT (:func:`late_depth`). A single value in the window:
    graded from it, ``provisional=True`` with a caveat. An assessment after the window closed
    (follow-up beyond ``late_window_end_day``) keeps the window's grade with the caveat "late
    window closed on day N; cytopenia after it is not graded by ICAHT" (docs/decisions.md,
    Grading: late windows end quietly no more).
    ``provisional`` is also True while the window is still open (``end_reason == "as-of"`` before
    the window end): later values can raise the grade. ``duration_days`` is empty (late ICAHT is
    graded by depth, not duration). Episodes: the graded value(s), one day each.
    """
    return grade_one(
        icaht_scheme(settings), "late", days, values, end_day=end_day, end_reason=end_reason
    )
