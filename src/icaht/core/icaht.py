"""Early and late neutrophil ICAHT (EHA/EBMT consensus grading, Rejeski et al., Blood 2023).

Thresholds and tables come from :mod:`icaht.knowledge.icaht_criteria` (ICAHT Table 1 as encoded by
the published automated method, LIANG-ICAHT; docs/evidence.md 3.1). Counting rules are the
profile's :class:`~icaht.knowledge.profile.IcahtSettings` (docs/decisions.md, "Grading").

Inputs are numpy float64 arrays sorted by day: ``days`` relative to infusion (fractional; calendar
day = floor) and ``values`` in 10^9/L. ``end_day`` is the end of usable follow-up as of the
assessment and ``end_reason`` names it ("as-of", "death", "progression", "next therapy",
"last follow-up"). Values after ``end_day`` are ignored. "Cannot evaluate" is a result with
``grade=None`` and a reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from icaht.core.daily import (
    Comparison,
    DaySeries,
    FloatArray,
    IntArray,
    below,
    calendar_end,
    carried_caveats,
    daily_minimum,
    day_series,
    dropped_caveats,
    fmt_value,
    gap_caveats,
    grade_for_duration,
    has_missing_stretch,
    prepare,
    threshold_label,
    threshold_runs,
)
from icaht.knowledge.icaht_criteria import (
    ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    ANC_LATE_CONFIRM_MAX_10E9_PER_L,
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    EARLY_WINDOW_END_DAY,
    EARLY_WINDOW_START_DAY,
    ICAHT_COMPARISON,
    ICAHT_EARLY_PROFOUND_DURATION_GRADES,
    ICAHT_EARLY_SEVERE_DURATION_GRADES,
    ICAHT_LATE_DEPTH_GRADES_10E9_PER_L,
    LATE_WINDOW_START_DAY,
)
from icaht.knowledge.profile import IcahtSettings, LateRule

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
# Helpers shared with ticaht.py
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


def depth_grade(
    value: float, bands: tuple[tuple[float, int], ...], comparison: Comparison
) -> tuple[int, float | None]:
    """Grade and threshold of the deepest band ``value`` falls in (bands deepest first)."""
    arr = np.array([value], dtype=np.float64)
    for threshold, grade in bands:
        if bool(below(arr, threshold, comparison)[0]):
            return grade, threshold
    return 0, None


def window_bounds(
    nominal_end: int, end_day: float, end_reason: str
) -> tuple[int | None, str | None]:
    """Window end actually used (calendar day) and the censoring reason if it cut the window."""
    end_cal = calendar_end(end_day)
    if end_cal is None:
        return None, None
    if end_cal < nominal_end:
        return end_cal, end_reason
    return nominal_end, None


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


@dataclass(frozen=True, slots=True)
class LateDepth:
    """The depth grade of a late window with at least two daily values, what set it, and why a
    lower value did not count."""

    grade: int
    episodes: list[Episode]
    caveats: list[str]


def late_depth(
    days: IntArray,
    values: FloatArray,
    *,
    bands: tuple[tuple[float, int], ...],
    comparison: Comparison,
    confirm: float,
    rule: LateRule,
    analyte: str,
) -> LateDepth:
    """Late (T-)ICAHT depth grade under the non-transient rule (docs/decisions.md, Grading;
    LIANG-ICAHT), from >= 2 daily values (calendar days and their lowest value).

    * ``lowest_confirmed``: the band of the lowest value, provided another value is under
      ``confirm`` (ANC <= 1.5, platelets < 100); otherwise grade 0, a transient dip.
    * ``second_lowest``: the band of the second-lowest value (both values reach the band).

    Late ICAHT and late T-ICAHT share this rule, so both lineages are judged the same way.
    """
    order = np.argsort(values, kind="stable")
    lo, nd = int(order[0]), int(order[1])
    lo_day, lo_val = int(days[lo]), float(values[lo])
    nd_day, nd_val = int(days[nd]), float(values[nd])
    lo_grade, lo_thr = depth_grade(lo_val, bands, comparison)
    if rule == "lowest_confirmed":
        if bool(below(np.array([nd_val]), confirm, comparison)[0]):
            episodes = []
            if lo_thr is not None:
                episodes = [
                    point_episode(lo_day, lo_val, lo_thr, comparison),
                    point_episode(nd_day, nd_val, confirm, comparison),
                ]
            return LateDepth(lo_grade, episodes, [])
        caveats = []
        if lo_grade:
            caveats.append(
                f"lowest {analyte} {fmt_value(lo_val)} on day {lo_day} is transient: no other "
                f"value in the window is {threshold_label(comparison, confirm)} (next lowest "
                f"{fmt_value(nd_val)} on day {nd_day}); graded 0"
            )
        return LateDepth(0, [], caveats)
    grade, nd_thr = depth_grade(nd_val, bands, comparison)
    episodes = []
    if nd_thr is not None:
        episodes = [
            point_episode(lo_day, lo_val, nd_thr, comparison),
            point_episode(nd_day, nd_val, nd_thr, comparison),
        ]
    caveats = []
    if lo_grade > grade:
        caveats.append(
            f"lowest {analyte} {fmt_value(lo_val)} on day {lo_day} not matched by a second value "
            f"in its band (second lowest {fmt_value(nd_val)} on day {nd_day}): transient, not "
            f"graded from it"
        )
    return LateDepth(grade, episodes, caveats)


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


# ---------------------------------------------------------------------------------------------
# Early ICAHT
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
    citations = ["ICAHT", "LIANG-ICAHT"]
    if settings.duration_method == "cumulative":
        citations.append("T-ICAHT")
    start = EARLY_WINDOW_START_DAY
    end, censored_by = window_bounds(EARLY_WINDOW_END_DAY, end_day, end_reason)
    if end is None:
        return not_evaluable(
            "ICAHT",
            "early",
            reason="end of follow-up is not a number",
            start=start,
            end=start - 1,
            censored_by=None,
            caveats=[],
            citations=citations,
        )
    if end < start:
        return not_evaluable(
            "ICAHT",
            "early",
            reason=f"early window not reached (follow-up ends day {end}, {end_reason})",
            start=start,
            end=end,
            censored_by=censored_by,
            caveats=[],
            citations=citations,
        )
    prep = prepare(days, values, end_day)
    cal, mins = daily_minimum(prep.days, prep.values)
    max_gap = settings.interpolation_max_gap_days
    series = day_series(
        cal,
        mins,
        start_day=start,
        end_day=end,
        max_gap=max_gap,
        round_decimals=ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
        carry_edges=settings.carry_edges_days,
    )
    caveats = dropped_caveats(prep, "ANC", end_day, end_reason)
    if series.n_observed == 0:
        return not_evaluable(
            "ICAHT",
            "early",
            reason=f"no ANC value in day {start}-{end}",
            start=start,
            end=end,
            censored_by=censored_by,
            caveats=caveats,
            citations=citations,
        )
    caveats.extend(gap_caveats(series, "ANC"))
    caveats.extend(carried_caveats(series, "ANC"))
    window_open = end_reason == AS_OF and end < EARLY_WINDOW_END_DAY

    cmp = ICAHT_COMPARISON
    method = settings.duration_method
    join = settings.join_gap_days
    d05, s05, e05, sel05 = threshold_runs(
        series, ANC_SEVERE_10E9_PER_L, cmp, join_gap=join, method=method
    )
    d01, s01, e01, sel01 = threshold_runs(
        series, ANC_PROFOUND_10E9_PER_L, cmp, join_gap=join, method=method
    )
    g05 = grade_for_duration(d05, ICAHT_EARLY_SEVERE_DURATION_GRADES)
    g01 = grade_for_duration(d01, ICAHT_EARLY_PROFOUND_DURATION_GRADES)
    grade = max(g05, g01)
    episodes: list[Episode] = []
    if g05 and g05 >= g01:
        episodes += episodes_from_runs(
            series, s05, e05, sel05, threshold=ANC_SEVERE_10E9_PER_L, comparison=cmp
        )
    if g01 and g01 >= g05:
        episodes += episodes_from_runs(
            series, s01, e01, sel01, threshold=ANC_PROFOUND_10E9_PER_L, comparison=cmp
        )

    # LIANG-ICAHT extra grade-4 rule: neutropenia from day 0..3 that never ends.
    if s05.size and grade < 4:
        last_day = series.last_value_day()
        run_start = series.start_day + int(s05[-1])
        run_end = series.start_day + int(e05[-1])
        if (
            last_day is not None
            and run_end == last_day
            and run_start <= settings.early_grade4_onset_max_day
        ):
            last_idx = np.array([e05.size - 1], dtype=np.int64)
            rule_episode = episodes_from_runs(
                series, s05, e05, last_idx, threshold=ANC_SEVERE_10E9_PER_L, comparison=cmp
            )
            trailing = end - last_day
            if trailing > max_gap:
                caveats.append(
                    f"ANC <=0.5 since day {run_start} unresolved at the last value (day "
                    f"{last_day}), but no ANC on day {last_day + 1}-{end}: recovery unknown, "
                    f"grade-4 rule (no recovery) not applied"
                )
            elif window_open:
                caveats.append(
                    f"ANC <=0.5 since day {run_start} is ongoing at the last value (day "
                    f"{last_day}): grade 4 if it lasts to day {EARLY_WINDOW_END_DAY} or follow-up "
                    f"ends without recovery (LIANG-ICAHT)"
                )
            else:
                closed_by = (
                    f"follow-up ended day {end} ({end_reason})"
                    if end < EARLY_WINDOW_END_DAY
                    else f"no recovery by day {EARLY_WINDOW_END_DAY}"
                )
                caveats.append(
                    f"grade 4 by the no-recovery rule (LIANG-ICAHT): ANC <=0.5 from day "
                    f"{run_start} to the last value (day {last_day}); {closed_by}"
                )
                grade = 4
                episodes = rule_episode
    if window_open:
        caveats.append(
            f"early window incomplete (assessed as of day {end}): grade so far, provisional"
        )
    return IcahtResult(
        scale="ICAHT",
        window="early",
        grade=grade,
        provisional=window_open,
        lower_bound=grade < 4 and has_missing_stretch(series),
        window_start_day=start,
        window_end_day=end,
        censored_by=censored_by,
        duration_days={
            threshold_label(cmp, ANC_SEVERE_10E9_PER_L): d05,
            threshold_label(cmp, ANC_PROFOUND_10E9_PER_L): d01,
        },
        episodes=episodes,
        caveats=caveats,
        citations=citations,
        carried_days=series.carried_days(),
    )


# ---------------------------------------------------------------------------------------------
# Late ICAHT
# ---------------------------------------------------------------------------------------------


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
    citations = ["ICAHT", "LIANG-ICAHT"]
    start = LATE_WINDOW_START_DAY
    nominal_end = settings.late_window_end_day
    end, censored_by = window_bounds(nominal_end, end_day, end_reason)
    if end is None:
        return not_evaluable(
            "ICAHT",
            "late",
            reason="end of follow-up is not a number",
            start=start,
            end=start - 1,
            censored_by=None,
            caveats=[],
            citations=citations,
        )
    if end < start:
        return not_evaluable(
            "ICAHT",
            "late",
            reason=f"late window not reached (follow-up ends day {end}, {end_reason}; late ICAHT "
            f"starts day {start})",
            start=start,
            end=end,
            censored_by=censored_by,
            caveats=[],
            citations=citations,
        )
    prep = prepare(days, values, end_day)
    cal, mins = daily_minimum(prep.days, prep.values)
    in_window = (cal >= start) & (cal <= end)
    wdays, wvals = cal[in_window], mins[in_window]
    caveats = dropped_caveats(prep, "ANC", end_day, end_reason)
    caveats += late_window_closed("ICAHT", nominal_end, end_day)
    if wdays.size == 0:
        return not_evaluable(
            "ICAHT",
            "late",
            reason=f"no ANC value in day {start}-{end}",
            start=start,
            end=end,
            censored_by=censored_by,
            caveats=caveats,
            citations=citations,
        )
    window_open = end_reason == AS_OF and end < nominal_end
    cmp = ICAHT_COMPARISON
    bands = ICAHT_LATE_DEPTH_GRADES_10E9_PER_L
    single = wdays.size == 1
    if single:
        lo_day, lo_val = int(wdays[0]), float(wvals[0])
        grade, lo_thr = depth_grade(lo_val, bands, cmp)
        caveats.append(
            f"single ANC value in the late window (day {lo_day}: {fmt_value(lo_val)}): grade "
            f"provisional (non-transient neutropenia needs a second value)"
        )
        episodes = [] if lo_thr is None else [point_episode(lo_day, lo_val, lo_thr, cmp)]
    else:
        depth = late_depth(
            wdays,
            wvals,
            bands=bands,
            comparison=cmp,
            confirm=ANC_LATE_CONFIRM_MAX_10E9_PER_L,
            rule=settings.late_rule,
            analyte="ANC",
        )
        grade, episodes = depth.grade, depth.episodes
        caveats.extend(depth.caveats)
    if window_open:
        caveats.append(
            f"late window open (assessed as of day {end}, window to day {nominal_end}): grade "
            f"so far, provisional"
        )
    return IcahtResult(
        scale="ICAHT",
        window="late",
        grade=grade,
        provisional=single or window_open,
        window_start_day=start,
        window_end_day=end,
        censored_by=censored_by,
        duration_days={},
        episodes=episodes,
        caveats=caveats,
        citations=citations,
    )
