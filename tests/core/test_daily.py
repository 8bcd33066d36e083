"""Day-level machinery (icaht.core.daily, day_grid, day_runs, day_text): LIANG-ICAHT steps, via
docs/evidence.md 3.1."""

from __future__ import annotations

import numpy as np
import pytest

from icaht.core import daily, day_grid, day_runs, day_text


def arr(*xs: float) -> np.ndarray:
    return np.array(xs, dtype=np.float64)


def test_daily_minimum_keeps_lowest_per_calendar_day() -> None:
    """LIANG-ICAHT keeps the lowest ANC per day; calendar day = floor (clinical-reference 3.1)."""
    cal, mins = daily.daily_minimum(arr(-0.5, 0.1, 0.9, 1.0, 1.99, 3.2), arr(9, 4, 2, 7, 5, 1))
    assert cal.tolist() == [-1, 0, 1, 3]
    assert mins.tolist() == [9, 2, 5, 1]


def test_prepare_drops_after_end_non_finite_and_sorts() -> None:
    """Values after the end of follow-up are ignored (no look-ahead; docs/architecture.md, "The
    one idea")."""
    p = daily.prepare(arr(5, 1, 3, 12.5, 7), arr(0.5, 1.0, np.nan, 0.1, 0.2), 12.0)
    assert p.days.tolist() == [1, 5, 7]
    assert p.values.tolist() == [1.0, 0.5, 0.2]
    assert p.dropped_non_finite == 1
    assert p.dropped_after_end == 1


def _series(
    days: list[int],
    values: list[float],
    *,
    start: int,
    end: int,
    max_gap: int = 7,
    round_decimals: int | None = None,
    carry_edges: int = 0,
) -> day_grid.DaySeries:
    cal = np.array(days, dtype=np.int64)
    return day_grid.day_series(
        cal,
        np.array(values, dtype=np.float64),
        start_day=start,
        end_day=end,
        max_gap=max_gap,
        round_decimals=round_decimals,
        carry_edges=carry_edges,
    )


def test_seven_missing_days_interpolated() -> None:
    """LIANG-ICAHT interpolates up to 7 consecutive missing days (zoo maxgap = 7)."""
    s = _series([0, 8], [0.8, 0.0], start=0, end=8)
    assert not np.isnan(s.values).any()
    assert s.values[4] == pytest.approx(0.4)
    assert s.n_observed == 2
    assert s.gaps == ()


def test_eight_missing_days_stay_missing_and_are_reported() -> None:
    """LIANG-ICAHT: gaps longer than 7 missing days stay missing (clinical-decisions 'Grading')."""
    s = _series([0, 9], [0.8, 0.0], start=0, end=9)
    assert np.isnan(s.values[1:9]).all()
    assert s.gaps == (day_grid.Gap(1, 8, "internal"),)
    caveats = day_text.gap_caveats(s, "ANC")
    assert caveats == [
        "gap of 8 days without ANC (day 1-8) not interpolated (limit 7 days): incomplete data"
    ]


def test_no_extrapolation_before_first_or_after_last_value() -> None:
    """Only gaps between two values are interpolated (project reading of LIANG-ICAHT 3.1)."""
    s = _series([3, 5], [0.2, 0.4], start=0, end=20)
    assert np.isnan(s.values[:3]).all()
    assert np.isnan(s.values[6:]).all()
    assert s.values[4] == pytest.approx(0.3)
    assert s.gaps[0] == day_grid.Gap(0, 2, "leading")
    assert s.gaps[-1] == day_grid.Gap(6, 20, "trailing")
    # leading 3 days <= limit: not reported; trailing 15 days: reported
    assert len(day_text.gap_caveats(s, "ANC")) == 1


def test_edge_carry_up_to_the_limit() -> None:
    """docs/decisions.md, Grading (Early ICAHT): edge values are carried as the published
    method does (zoo::na.approx rule 2, maxgap 7): a first value at most 7 days after the window
    start is carried back, the last value forward when the gap to the window end is at most 7
    days; the carried days are flagged and are no longer gaps."""
    s = _series([3, 5], [0.2, 0.4], start=0, end=12, carry_edges=7)
    assert s.values.tolist()[:3] == [0.2, 0.2, 0.2]
    assert s.values.tolist()[6:] == [0.4] * 7
    assert s.carried_days() == [0, 1, 2, 6, 7, 8, 9, 10, 11, 12]
    assert s.gaps == ()
    assert day_text.carried_caveats(s, "ANC") == [
        "ANC of day 3 carried back to day 0-2 (edge carry of the published method, LIANG-ICAHT)",
        "ANC of day 5 carried forward to day 6-12 (edge carry of the published method, "
        "LIANG-ICAHT)",
    ]


def test_edge_stretches_longer_than_the_carry_limit_stay_missing() -> None:
    """Longer edge gaps stay missing (docs/decisions.md, Grading): 8 leading days and 8
    trailing days with a limit of 7 are not carried."""
    s = _series([8, 10], [0.2, 0.4], start=0, end=18, carry_edges=7)
    assert np.isnan(s.values[:8]).all()
    assert np.isnan(s.values[11:]).all()
    assert s.carried_days() == []
    assert s.gaps == (day_grid.Gap(0, 7, "leading"), day_grid.Gap(11, 18, "trailing"))


def test_interpolated_values_rounded_observed_not() -> None:
    """LIANG-ICAHT rounds interpolated ANC to the nearest 10/uL (0.01 x10^9/L)."""
    s = _series([0, 2], [0.503, 0.505], start=0, end=2, round_decimals=2)
    assert s.values[0] == 0.503  # observed: untouched
    assert s.values[1] == 0.50  # interpolated 0.504 -> 0.50
    assert day_runs.below(s.values, 0.5, "<=").tolist() == [False, True, False]


def test_window_restricts_values() -> None:
    """Only values inside the window are used (LIANG-ICAHT filters to day 0-30 first)."""
    s = _series([-2, 0, 31], [0.0, 1.0, 0.0], start=0, end=30)
    assert s.n_observed == 1
    assert np.isnan(s.values[1:]).all()


def test_below_comparisons_at_the_threshold() -> None:
    """ICAHT uses "<=" (0.5 counts), T-ICAHT "<" (20 does not); clinical-reference 3.1, 3.4."""
    v = arr(0.5, 0.1 + 0.2, 20.0, 19.99, np.nan)
    assert day_runs.below(v, 0.5, "<=").tolist() == [True, True, False, False, False]
    assert day_runs.below(v, 0.3, "<=")[1]  # float noise: 0.30000000000000004 counts as 0.3
    assert day_runs.below(v, 20.0, "<").tolist() == [True, True, False, True, False]


def test_runs_and_joining_gap_of_two_joined_three_not() -> None:
    """Runs separated by <= 2 days above are joined (stable recovery needs 3 days; LIANG-ICAHT)."""
    mask = np.zeros(30, dtype=np.bool_)
    mask[2:5] = True  # 2-4
    mask[7:9] = True  # 7-8: gap of 2 days (5, 6) -> joined
    mask[12:14] = True  # 12-13: gap of 3 days (9, 10, 11) -> separate
    s, e = day_runs.runs(mask)
    assert s.tolist() == [2, 7, 12]
    assert e.tolist() == [4, 8, 13]
    js, je = day_runs.join_runs(s, e, 2)
    assert js.tolist() == [2, 12]
    assert je.tolist() == [8, 13]
    assert day_runs.run_duration(js, je, "longest_run")[0] == 7
    assert day_runs.run_duration(js, je, "cumulative")[0] == 9


def test_runs_edges() -> None:
    """Runs touching both ends of the grid are found (LIANG-ICAHT exceedances)."""
    mask = np.array([True, True, False, True], dtype=np.bool_)
    s, e = day_runs.runs(mask)
    assert s.tolist() == [0, 3]
    assert e.tolist() == [1, 3]
    assert day_runs.runs(np.zeros(0, dtype=np.bool_))[0].size == 0


def test_grade_for_duration_table() -> None:
    """ICAHT Table 1 <=0.5 row: 1-6 G1, 7-13 G2, 14-30 G3, >= 31 G4 (clinical-reference 3.1)."""
    table = ((1, 1), (7, 2), (14, 3), (31, 4))
    got = [day_runs.grade_for_duration(d, table) for d in (0, 1, 6, 7, 13, 14, 30, 31)]
    assert got == [0, 1, 1, 2, 2, 3, 3, 4]


def test_calendar_end() -> None:
    """End of follow-up is a calendar day (floor); NaN is unknown."""
    assert daily.calendar_end(12.7) == 12
    assert daily.calendar_end(-0.5) == -1
    assert daily.calendar_end(float("nan")) is None
    far = daily.calendar_end(float("inf"))
    assert far is not None
    assert far > 10**6
