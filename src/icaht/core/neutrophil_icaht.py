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

from icaht.core.daily import FloatArray
from icaht.core.grading_scheme import icaht_scheme
from icaht.core.icaht import IcahtResult, grade_one
from icaht.knowledge.profile.grading import IcahtSettings


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
