"""Platelet T-ICAHT, early and late, and platelet recovery (T-ICAHT Table 1; clin.-ref. 3.4).

Thresholds and tables come from :mod:`icaht.knowledge.icaht_criteria`; counting rules from the
profile's :class:`~icaht.knowledge.profile.grading.TicahtSettings` (docs/decisions.md, "Grading").
Counts are platelets in 10^9/L; thresholds are strict "<" (platelets exactly 20 are not < 20).
The day-level machinery is the one of early ICAHT (:mod:`icaht.core.daily`): lowest value per
calendar day, linear interpolation over gaps of at most
:data:`~icaht.knowledge.icaht_criteria.TICAHT_INTERPOLATION_MAX_GAP_DAYS` missing days (platelets
are not rounded), runs separated by fewer than 3 days above the threshold (non-stable recovery)
joined and counted.
"""

from __future__ import annotations

import numpy as np

from icaht.core.daily import FloatArray, calendar_end, daily_minimum, prepare
from icaht.core.day_grid import day_series
from icaht.core.day_runs import below
from icaht.core.grading_scheme import ticaht_scheme
from icaht.core.icaht import IcahtResult, grade_one
from icaht.knowledge.icaht_criteria import (
    PLT_RECOVERY_10E9_PER_L,
    TICAHT_INTERPOLATION_MAX_GAP_DAYS,
)
from icaht.knowledge.profile.grading import LateRule, TicahtSettings


def grade_early_ticaht(
    days: FloatArray,
    values: FloatArray,
    *,
    end_day: float,
    end_reason: str,
    settings: TicahtSettings,
) -> IcahtResult:
    """Early platelet T-ICAHT, day 0 to +30 (T-ICAHT Table 1; docs/evidence.md 3.4).

    * Window: calendar days 0..30 cut at ``floor(end_day)``; values after ``end_day`` ignored.
    * Day-level series: lowest value per day, linear interpolation over gaps of at most 7 missing
      days (LIANG-ICAHT limit applied to platelets, a project reading), longer gaps missing and
      reported as incomplete data, no extrapolation before the first / after the last value.
    * Thresholds "<" (platelets exactly 50 or 20 do not count).
    * Duration (``settings.duration_method``, default ``cumulative`` per the T-ICAHT footnote):
      runs separated by <= 2 days above the threshold (non-stable recovery, < 3 days) are joined
      and the days between count; ``cumulative`` sums all joined runs, ``longest_run`` takes the
      longest.
    * Grade = max of the < 50 row (1-6 d G1, >= 7 d G2) and the < 20 row (1-13 d G3, >= 14 d G4).

    ``provisional`` is True when ``end_reason == "as-of"`` and the window ends before day 30.
    No platelet value in the window gives ``grade=None`` with a reason.
    """
    return grade_one(
        ticaht_scheme(settings, "lowest_confirmed"),
        "early",
        days,
        values,
        end_day=end_day,
        end_reason=end_reason,
    )


def grade_late_ticaht(
    days: FloatArray,
    values: FloatArray,
    *,
    end_day: float,
    end_reason: str,
    settings: TicahtSettings,
    late_rule: LateRule = "lowest_confirmed",
) -> IcahtResult:
    """Late platelet T-ICAHT, day +31 onward (T-ICAHT Table 1 and footnote; clinical-ref. 3.4).

    Window: calendar days 31..min(``settings.late_window_end_day``, floor(``end_day``)). Before
    day 31: ``grade=None``, "late window not reached".

    Table: < 100 G1, < 50 G2, < 20 for 1-13 days G3, < 20 for >= 14 days G4; grading needs
    >= 2 lab tests (non-transient). With >= 2 tests (days with a value) the depth grade follows
    ``late_rule``, the same setting as late ICAHT (``icaht.late_rule``; docs/decisions.md,
    Grading: "Late T-ICAHT uses the same late_rule as late ICAHT"), see :func:`late_depth`:

    * ``lowest_confirmed`` (default): the band of the lowest value, confirmed by at least one
      other value in the window below 100 x10^9/L; unconfirmed, it is transient: grade 0.
    * ``second_lowest``: the band of the second-lowest daily value (two values below 100 for G1,
      below 50 for G2, below 20 for G3; the footnote and the public T-ICAHT code).

    G4 needs the < 20 band reached and >= 14 days < 20 on the day-level series (same
    interpolation limit as early, durations per ``settings.duration_method`` with non-stable
    recovery joined). With one test in the window the grade is read from it (< 20 counts as 1
    day: G3) and ``provisional=True``. An assessment after the window closed keeps the window's
    grade with the caveat that later cytopenia is not graded by T-ICAHT.
    ``provisional`` is also True while the window is still open (as-of before the window end).
    """
    return grade_one(
        ticaht_scheme(settings, late_rule),
        "late",
        days,
        values,
        end_day=end_day,
        end_reason=end_reason,
    )


def platelet_recovery_day(
    days: FloatArray,
    values: FloatArray,
    transfusion_days: FloatArray,
    *,
    end_day: float,
    settings: TicahtSettings,
) -> int | None:
    """First day of platelet recovery (T-ICAHT; docs/evidence.md 3.4), or None.

    Definition: the first of ``settings.recovery_consecutive_days`` (3) consecutive calendar days
    with platelets >= 20 x10^9/L and no platelet transfusion for
    ``settings.recovery_transfusion_free_days`` (7) days. **Exact reading**:

    * Day-level series from day 0 to ``floor(end_day)``: lowest value per calendar day, gaps of at
      most 7 missing days linearly interpolated (as for T-ICAHT durations), longer gaps missing
      (a missing day breaks the consecutive days).
    * Recovery is looked for from the first day the platelets are < 20 or a platelet transfusion
      is given (on or after day 0); a patient who never falls below 20 and is never transfused
      has nothing to recover from: None.
    * Day ``d`` qualifies when the series is >= 20 on ``d .. d+n-1`` (n consecutive days, all
      within follow-up) and no platelet transfusion falls on a calendar day in
      ``[d - T, d + n - 1]``: the T days before the first qualifying day and the qualifying days
      themselves (a count within T days of a transfusion may be the transfused platelets).
    * Values and transfusions after ``end_day`` are ignored; None when not (yet) recovered.
    """
    end = calendar_end(end_day)
    if end is None or end < 0:
        return None
    prep = prepare(days, values, end_day)
    cal, mins = daily_minimum(prep.days, prep.values)
    if cal.size == 0 or cal[-1] < 0:
        return None
    end = min(end, int(cal[-1]))  # no value (and so no recovery) after the last count
    series = day_series(
        cal, mins, start_day=0, end_day=end, max_gap=TICAHT_INTERPOLATION_MAX_GAP_DAYS
    )
    n = series.values.size
    if n == 0:
        return None
    tx = np.asarray(transfusion_days, dtype=np.float64).ravel()
    # only transfusions that can matter: from T days before day 0 to the end of the series
    reach = settings.recovery_transfusion_free_days + 1
    tx = tx[np.isfinite(tx) & (tx <= end_day) & (tx >= -reach) & (tx < end + 1)]
    tx_cal = np.floor(tx).astype(np.int64)
    low = below(series.values, PLT_RECOVERY_10E9_PER_L, "<")
    onset_candidates = [np.flatnonzero(low)]
    tx_in = tx_cal[(tx_cal >= 0) & (tx_cal <= end)]
    if tx_in.size:
        onset_candidates.append(tx_in)
    starts = np.concatenate(onset_candidates)
    if starts.size == 0:
        return None
    onset = int(starts.min())
    ok = ~low & ~np.isnan(series.values)  # >= 20 on a day with a value
    k = settings.recovery_consecutive_days
    if n < k:
        return None
    # windows of k consecutive qualifying days: sliding sum over the boolean series
    csum = np.concatenate(([0], np.cumsum(ok, dtype=np.int64)))
    full = (csum[k:] - csum[:-k]) == k  # full[d] -> days d..d+k-1 all >= 20
    # transfusion-free: no transfusion day t with d - T <= t <= d + k - 1
    t_free = settings.recovery_transfusion_free_days
    cand = np.arange(full.size, dtype=np.int64)
    if tx_cal.size:
        tx_sorted = np.sort(tx_cal)
        lo = np.searchsorted(tx_sorted, cand - t_free, side="left")
        hi = np.searchsorted(tx_sorted, cand + k - 1, side="right")
        full &= hi == lo
    full &= cand > onset
    hits = np.flatnonzero(full)
    return None if hits.size == 0 else int(hits[0])
