"""Platelet T-ICAHT and platelet recovery (icaht.core.ticaht).

Source of every expectation: T-ICAHT Table 1 and footnotes (docs/evidence.md 3.4, 3.1
"How the T-ICAHT footnote counts duration") and docs/decisions.md ("Grading").
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.utils.series_helpers import ANY_DAYS, ANY_VALUES, daily_series

from icaht.core.icaht import IcahtResult
from icaht.core.ticaht import (
    grade_early_ticaht,
    grade_late_ticaht,
    platelet_recovery_day,
)
from icaht.knowledge.profile.grading import LateRule, TicahtSettings

DEFAULT = TicahtSettings()
LONGEST = TicahtSettings(duration_method="longest_run")


def daily_plt(
    low: dict[tuple[int, int], float], *, base: float = 150.0, first: int = 0, last: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """One platelet count a day: ``base`` except the inclusive day ranges in ``low``."""
    return daily_series(low, base=base, first=first, last=last)


def early(
    days: np.ndarray,
    values: np.ndarray,
    *,
    end_day: float = 60.0,
    end_reason: str = "as-of",
    s: TicahtSettings = DEFAULT,
) -> IcahtResult:
    return grade_early_ticaht(days, values, end_day=end_day, end_reason=end_reason, settings=s)


def late(
    days: list[float] | np.ndarray,
    values: list[float] | np.ndarray,
    *,
    end_day: float = 120.0,
    end_reason: str = "as-of",
    s: TicahtSettings = DEFAULT,
    rule: LateRule = "lowest_confirmed",
) -> IcahtResult:
    return grade_late_ticaht(
        np.asarray(days, dtype=np.float64),
        np.asarray(values, dtype=np.float64),
        end_day=end_day,
        end_reason=end_reason,
        settings=s,
        late_rule=rule,
    )


# --------------------------------------------------------------------------------------------
# Early T-ICAHT
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "grade", "d50", "d20"),
    [
        ({}, 0, 0, 0),
        ({(5, 5): 40.0}, 1, 1, 0),
        ({(5, 10): 40.0}, 1, 6, 0),
        ({(5, 11): 40.0}, 2, 7, 0),
        ({(5, 25): 40.0}, 2, 21, 0),
        ({(5, 10): 40.0, (6, 6): 15.0}, 3, 6, 1),
        ({(5, 25): 40.0, (6, 18): 15.0}, 3, 21, 13),
        ({(5, 25): 40.0, (6, 19): 15.0}, 4, 21, 14),
    ],
)
def test_early_every_grade(
    low: dict[tuple[int, int], float], grade: int, d50: int, d20: int
) -> None:
    """T-ICAHT Table 1 early: < 50 for 1-6 d G1, >= 7 d G2; < 20 1-13 d G3, >= 14 d G4 (3.4)."""
    days, values = daily_plt(low)
    r = early(days, values)
    assert r.grade == grade
    assert r.duration_days == {"<50": d50, "<20": d20}
    assert r.scale == "T-ICAHT"
    assert r.window == "early"
    if grade >= 3:
        assert {e.threshold_10e9_per_l for e in r.episodes} == {20.0}
        assert all(e.comparison == "<" for e in r.episodes)


def test_exactly_20_and_50_do_not_count() -> None:
    """T-ICAHT thresholds are strict "<": platelets exactly 20 are not < 20 (clinical-ref. 3.4)."""
    days, values = daily_plt({(5, 25): 20.0})
    r = early(days, values)
    assert r.duration_days == {"<50": 21, "<20": 0}
    assert r.grade == 2
    days, values = daily_plt({(5, 25): 19.99})
    assert early(days, values).grade == 4
    days, values = daily_plt({(5, 25): 50.0})
    assert early(days, values).grade == 0


def test_cumulative_default_vs_longest_run() -> None:
    """T-ICAHT footnote: cumulative days (default) vs longest run (setting): clinical-ref. 3.1."""
    days, values = daily_plt({(2, 9): 15.0, (20, 27): 15.0})  # 8 + 8 days, stable between
    cumulative = early(days, values)
    longest = early(days, values, s=LONGEST)
    assert (cumulative.duration_days["<20"], cumulative.grade) == (16, 4)
    assert (longest.duration_days["<20"], longest.grade) == (8, 3)


def test_non_stable_recovery_days_count() -> None:
    """T-ICAHT footnote: days of non-stable recovery (< 3 days) count toward the total."""
    days, values = daily_plt({(2, 7): 15.0, (10, 15): 15.0})  # days 8-9 >= 20: joined
    r = early(days, values, s=LONGEST)
    assert r.duration_days["<20"] == 14
    assert r.grade == 4


def test_early_provisional_and_censored() -> None:
    """Early window day 0-30, censored at progression/death; as-of before day 30 provisional."""
    days, values = daily_plt({(2, 40): 15.0})
    r = early(days, values, end_day=10.0, end_reason="as-of")
    assert (r.grade, r.provisional, r.window_end_day) == (3, True, 10)
    r = early(days, values, end_day=10.0, end_reason="death")
    assert (r.grade, r.provisional, r.censored_by) == (3, False, "death")


def test_early_no_value() -> None:
    """'Cannot evaluate' is a result with a reason (docs/architecture.md)."""
    r = early(np.array([40.0]), np.array([10.0]))
    assert r.grade is None
    assert r.reason == "no platelet value in day 0-30"


def test_early_interpolation_limit() -> None:
    """Same interpolation limit as ICAHT (7 missing days; LIANG-ICAHT, project reading for PLT)."""
    days = np.array([0.0, 5.0, 13.0, 20.0])
    r = early(days, np.array([150.0, 10.0, 10.0, 150.0]))
    assert r.duration_days["<20"] >= 9  # days 5-13 interpolated below 20
    days = np.array([0.0, 5.0, 14.0, 20.0])
    r = early(days, np.array([150.0, 10.0, 10.0, 150.0]))
    assert r.duration_days["<20"] == 2
    assert any("gap of 8 days without platelets" in c for c in r.caveats)


# --------------------------------------------------------------------------------------------
# Late T-ICAHT
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "grade", "transient"),
    [
        ([150.0, 120.0, 130.0], 0, False),
        ([90.0, 150.0, 130.0], 0, True),  # one value < 100: transient
        ([90.0, 99.0, 130.0], 1, False),
        ([100.0, 99.0, 130.0], 0, True),  # 100 is not < 100
        ([40.0, 90.0, 130.0], 1, True),
        ([40.0, 49.0, 130.0], 2, False),
        ([10.0, 49.0, 130.0], 2, True),  # single value < 20 not confirmed
        ([10.0, 19.0, 130.0], 3, False),
    ],
)
def test_late_depth_grades_second_lowest(values: list[float], grade: int, transient: bool) -> None:
    """T-ICAHT late, rule ``second_lowest``: < 100 G1, < 50 G2, < 20 G3 from the second-lowest
    value; >= 2 tests, non-transient (clinical-ref. 3.4; docs/decisions.md, Grading)."""
    r = late([40, 60, 80], values, rule="second_lowest")
    assert r.grade == grade
    assert r.provisional is False
    assert any("transient" in c for c in r.caveats) is transient


@pytest.mark.parametrize(
    ("values", "grade", "transient"),
    [
        ([150.0, 120.0, 130.0], 0, False),
        ([90.0, 150.0, 130.0], 0, True),  # no other value < 100: transient
        ([90.0, 99.0, 130.0], 1, False),
        ([100.0, 99.0, 130.0], 0, True),  # 100 is not < 100
        ([40.0, 90.0, 130.0], 2, False),  # lowest 40 (G2) confirmed by 90 < 100
        ([40.0, 49.0, 130.0], 2, False),
        ([10.0, 49.0, 130.0], 3, False),  # lowest 10 (G3) confirmed by 49 < 100
        ([10.0, 100.0, 130.0], 0, True),  # 100 does not confirm (not < 100)
        ([10.0, 19.0, 130.0], 3, False),
    ],
)
def test_late_depth_grades_lowest_confirmed(
    values: list[float], grade: int, transient: bool
) -> None:
    """Late T-ICAHT uses the same late_rule as late ICAHT; default ``lowest_confirmed``: the band
    of the lowest value, confirmed by at least one other value in the window below 100 x10^9/L
    (docs/decisions.md, Grading). Old code: second-lowest (G1 for [40, 90, 130])."""
    r = late([40, 60, 80], values)
    assert r.grade == grade
    assert r.provisional is False
    assert any("transient" in c for c in r.caveats) is transient


def test_late_grade_4_fourteen_days_below_20() -> None:
    """T-ICAHT late: < 20 for >= 14 days G4; 13 days G3 (clinical-reference 3.4)."""
    days, values = daily_plt({(40, 53): 12.0}, first=31, last=100)
    r = late(days, values)
    assert (r.duration_days["<20"], r.grade) == (14, 4)
    days, values = daily_plt({(40, 52): 12.0}, first=31, last=100)
    r = late(days, values)
    assert (r.duration_days["<20"], r.grade) == (13, 3)


def test_late_weekly_values_interpolated_for_duration() -> None:
    """Late durations on the day-level series with the early interpolation limit (brief, 3.4)."""
    r = late([35, 42, 49, 56, 63], [150.0, 10.0, 10.0, 10.0, 150.0])
    assert r.duration_days["<20"] >= 14
    assert r.grade == 4


def test_late_single_test_provisional() -> None:
    """T-ICAHT footnote: late grading needs >= 2 tests; one test -> provisional (3.4)."""
    r = late([45], [15.0])
    assert (r.grade, r.provisional) == (3, True)
    assert any("single platelet value" in c for c in r.caveats)


def test_late_not_reached_and_no_value() -> None:
    """Late window starts day 31; no value -> not evaluable with a reason (docs/evidence.md 3.4)."""
    r = late([10], [10.0], end_day=20.0)
    assert r.grade is None
    assert r.reason is not None
    assert r.reason.startswith("late window not reached")
    r = late([10], [10.0], end_day=80.0)
    assert r.reason == "no platelet value in day 31-80"


def test_late_window_day_100() -> None:
    """T-ICAHT Table 1: late window day 31-100 (setting late_window_end_day)."""
    r = late([40, 60, 110, 120], [150.0, 150.0, 10.0, 10.0], end_day=200.0)
    assert (r.grade, r.window_end_day) == (0, 100)


# --------------------------------------------------------------------------------------------
# Platelet recovery
# --------------------------------------------------------------------------------------------


def recovery(
    low: dict[tuple[int, int], float], tx: list[float], end_day: float = 60.0
) -> int | None:
    days, values = daily_plt(low, base=60.0, last=60)
    return platelet_recovery_day(
        days, values, np.array(tx, dtype=np.float64), end_day=end_day, settings=DEFAULT
    )


def test_recovery_without_transfusion() -> None:
    """T-ICAHT: recovery = first of 3 consecutive days >= 20 (clinical-reference 3.4)."""
    assert recovery({(0, 10): 12.0}, []) == 11


def test_recovery_exactly_20_counts() -> None:
    """T-ICAHT recovery threshold is ">= 20" (clinical-reference 3.4)."""
    assert recovery({(0, 10): 12.0, (11, 13): 20.0}, []) == 11


def test_recovery_blocked_by_transfusion_in_window() -> None:
    """T-ICAHT: no platelet transfusion for 7 days: in [d-7, d+2] (reading in the docstring)."""
    # transfusion on day 12: candidate days 10..19 contain it in [d-7, d+2] -> first is day 20
    assert recovery({(0, 10): 12.0}, [12.0]) == 20
    # transfusion on day 5: blocks d = 3..12 -> first qualifying day is 13
    assert recovery({(0, 10): 12.0}, [5.0]) == 13
    # transfusion 8 days before day 11 does not block
    assert recovery({(0, 10): 12.0}, [2.9]) == 11


def test_recovery_none_when_not_recovered_or_never_low() -> None:
    """No recovery yet (only 2 days >= 20), or nothing to recover from (never < 20, no Tx)."""
    assert recovery({(0, 57): 12.0}, []) == 58  # days 58-60: exactly 3 days
    assert recovery({(0, 58): 12.0}, []) is None
    assert recovery({}, []) is None
    assert recovery({(0, 57): 12.0}, [], end_day=59.5) is None  # day 60 after end


def test_recovery_needs_consecutive_days_with_values() -> None:
    """Missing (uninterpolated) days break the 3 consecutive days (T-ICAHT, reading)."""
    days = np.array([0.0, 1.0, 2.0, 3.0, 12.0, 13.0, 14.0])
    values = np.array([10.0, 10.0, 30.0, 30.0, 30.0, 30.0, 30.0])
    got = platelet_recovery_day(days, values, np.array([]), end_day=20.0, settings=DEFAULT)
    assert got == 12


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

_day = st.floats(min_value=-5, max_value=130, allow_nan=False)
_plt = st.floats(min_value=0, max_value=200, allow_nan=False)


@st.composite
def _series_and_lowering(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=60))
    days = np.sort(np.array(draw(st.lists(_day, min_size=n, max_size=n)), dtype=np.float64))
    values = np.array(draw(st.lists(_plt, min_size=n, max_size=n)), dtype=np.float64)
    lowered = values.copy()
    for i in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)):
        lowered[i] *= draw(st.floats(min_value=0, max_value=1))
    return days, values, lowered


@settings(max_examples=300, deadline=None)
@given(
    data=_series_and_lowering(),
    end_day=st.floats(min_value=-2, max_value=200, allow_nan=False),
    end_reason=st.sampled_from(["as-of", "death", "progression"]),
)
def test_property_lowering_never_lowers_grade(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], end_day: float, end_reason: str
) -> None:
    """Property (docs/architecture.md): lowering any count never lowers a T-ICAHT grade (fixed
    days)."""
    days, values, lowered = data
    for s in (DEFAULT, LONGEST, TicahtSettings(late_window_end_day=365)):
        for grader in (grade_early_ticaht, grade_late_ticaht):
            a = grader(days, values, end_day=end_day, end_reason=end_reason, settings=s)
            b = grader(days, lowered, end_day=end_day, end_reason=end_reason, settings=s)
            assert (a.grade is None) == (b.grade is None)
            if a.grade is not None and b.grade is not None:
                assert b.grade >= a.grade


@settings(max_examples=300, deadline=None)
@given(
    values=ANY_VALUES,
    days=ANY_DAYS,
    tx=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5),
    end_day=st.floats(allow_nan=True, allow_infinity=True),
)
def test_property_never_raises(
    values: list[float], days: list[float], tx: list[float], end_day: float
) -> None:
    """'Cannot evaluate' is a result, never an exception (docs/architecture.md 'Assessment')."""
    n = min(len(values), len(days))
    d = np.sort(np.array(days[:n], dtype=np.float64))
    v = np.array(values[:n], dtype=np.float64)
    for grader in (grade_early_ticaht, grade_late_ticaht):
        r = grader(d, v, end_day=end_day, end_reason="as-of", settings=DEFAULT)
        assert r.grade is None or 0 <= r.grade <= 4
    got = platelet_recovery_day(d, v, np.array(tx), end_day=end_day, settings=DEFAULT)
    assert got is None or got >= 0
