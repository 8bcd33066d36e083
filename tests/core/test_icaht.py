"""Early and late neutrophil ICAHT (icaht.core.icaht).

Source of every expectation: EHA/EBMT ICAHT Table 1 as encoded by LIANG-ICAHT
(docs/evidence.md 3.1) and the project defaults in docs/decisions.md
("Grading"); seed-case expectations from docs/evidence.md 1.6 [DERIVED].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.utils.series_helpers import ANY_DAYS, ANY_VALUES, daily_series

from icaht.core.icaht import IcahtResult
from icaht.core.neutrophil_icaht import grade_early_icaht, grade_late_icaht
from icaht.knowledge.profile.grading import IcahtSettings

DEFAULT = IcahtSettings()
CUMULATIVE = IcahtSettings(duration_method="cumulative")
SECOND_LOWEST = IcahtSettings(late_rule="second_lowest")


def daily_anc(
    low: dict[tuple[int, int], float], *, base: float = 1.2, first: int = 0, last: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """One ANC a day from ``first`` to ``last``: ``base`` except the inclusive ranges in ``low``."""
    return daily_series(low, base=base, first=first, last=last)


def early(
    days: np.ndarray,
    values: np.ndarray,
    *,
    end_day: float = 60.0,
    end_reason: str = "as-of",
    s: IcahtSettings = DEFAULT,
) -> IcahtResult:
    return grade_early_icaht(days, values, end_day=end_day, end_reason=end_reason, settings=s)


def late(
    days: Sequence[float],
    values: Sequence[float],
    *,
    end_day: float = 120.0,
    end_reason: str = "as-of",
    s: IcahtSettings = DEFAULT,
) -> IcahtResult:
    return grade_late_icaht(
        np.array(days, dtype=np.float64),
        np.array(values, dtype=np.float64),
        end_day=end_day,
        end_reason=end_reason,
        settings=s,
    )


# --------------------------------------------------------------------------------------------
# Early ICAHT: the ANC <= 0.5 row
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "grade"),
    [
        (None, 0),
        ((5, 5), 1),
        ((5, 10), 1),
        ((5, 11), 2),
        ((5, 17), 2),
        ((5, 18), 3),
        ((5, 30), 3),  # 26 days to day 30, onset after day 3: table G3, no grade-4 rule
    ],
)
def test_early_severe_row_every_grade(run: tuple[int, int] | None, grade: int) -> None:
    """ICAHT Table 1 via LIANG-ICAHT: ANC <= 0.5 for 1-6 d G1, 7-13 G2, 14-30 G3 (ref. 3.1)."""
    days, values = daily_anc({} if run is None else {run: 0.3})
    r = early(days, values)
    assert r.grade == grade
    expected_days = 0 if run is None else run[1] - run[0] + 1
    assert r.duration_days == {"<=0.5": expected_days, "<=0.1": 0}
    assert r.provisional is False
    assert r.scale == "ICAHT"
    assert r.window == "early"
    assert (r.window_start_day, r.window_end_day) == (0, 30)
    if grade:
        assert len(r.episodes) == 1
        assert (r.episodes[0].start_day, r.episodes[0].end_day) == run
        assert r.episodes[0].comparison == "<="
    else:
        assert r.episodes == []


def test_early_never_above_half_is_grade_4_by_duration() -> None:
    """ICAHT Table 1: ANC never > 0.5 in day 0-30 (>= 31 days) = G4 (clinical-reference 3.1)."""
    days, values = daily_anc({(0, 40): 0.4})
    r = early(days, values)
    assert r.grade == 4
    assert r.duration_days["<=0.5"] == 31


# --------------------------------------------------------------------------------------------
# Early ICAHT: the ANC <= 0.1 row and the max of the rows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profound", "grade"),
    [
        ((6, 11), 2),  # 6 days <= 0.1 set nothing; 0.5 row: 10 days -> G2
        ((6, 12), 3),  # 7 days <= 0.1 -> G3 although the 0.5 row says G2
        ((6, 14), 3),  # 9 days
    ],
)
def test_early_profound_row(profound: tuple[int, int], grade: int) -> None:
    """ICAHT Table 1: ANC <= 0.1 for 7-13 d G3; grade = higher of the two rows (ref. 3.1)."""
    days, values = daily_anc({(5, 14): 0.3, profound: 0.05})
    r = early(days, values)
    assert r.duration_days["<=0.5"] == 10
    assert r.grade == grade


def test_early_profound_14_days_grade_4() -> None:
    """ICAHT Table 1: ANC <= 0.1 for >= 14 days = G4 (clinical-reference 3.1)."""
    days, values = daily_anc({(5, 25): 0.3, (6, 19): 0.1})  # 0.1 exactly counts ("<=")
    r = early(days, values)
    assert r.duration_days == {"<=0.5": 21, "<=0.1": 14}
    assert r.grade == 4
    assert [e.threshold_10e9_per_l for e in r.episodes] == [0.1]


def test_exactly_half_counts_but_just_above_does_not() -> None:
    """ICAHT thresholds are "<=": ANC exactly 0.5 is severe (clinical-reference 3.1 edge cases)."""
    days, values = daily_anc({(5, 11): 0.5})
    assert early(days, values).grade == 2
    days, values = daily_anc({(5, 11): 0.51})
    assert early(days, values).grade == 0


# --------------------------------------------------------------------------------------------
# Joining and counting
# --------------------------------------------------------------------------------------------


def test_gap_of_two_days_joined() -> None:
    """LIANG-ICAHT joins runs separated by <= 2 days above 0.5 (non-stable recovery)."""
    days, values = daily_anc({(5, 9): 0.3, (12, 16): 0.3})  # days 10-11 above
    r = early(days, values)
    assert r.duration_days["<=0.5"] == 12
    assert r.grade == 2
    assert (r.episodes[0].start_day, r.episodes[0].end_day, r.episodes[0].days) == (5, 16, 12)


def test_gap_of_three_days_not_joined() -> None:
    """LIANG-ICAHT: ANC > 0.5 on 3 consecutive days is stable recovery, runs stay apart."""
    days, values = daily_anc({(5, 9): 0.3, (13, 17): 0.3})  # days 10-12 above
    r = early(days, values)
    assert r.duration_days["<=0.5"] == 5
    assert r.grade == 1


def test_cumulative_and_longest_run_differ() -> None:
    """Longest run (LIANG-ICAHT) vs cumulative days (T-ICAHT footnote): clinical-ref. 3.1, 9.6."""
    days, values = daily_anc({(5, 10): 0.3, (20, 25): 0.3})  # 6 + 6 days, stable recovery between
    longest = early(days, values)
    cumulative = early(days, values, s=CUMULATIVE)
    assert (longest.duration_days["<=0.5"], longest.grade) == (6, 1)
    assert (cumulative.duration_days["<=0.5"], cumulative.grade) == (12, 2)
    assert len(cumulative.episodes) == 2
    assert "T-ICAHT" in cumulative.citations


def test_cumulative_counts_non_stable_recovery_days() -> None:
    """T-ICAHT footnote: days of non-stable recovery (< 3 days) count toward the total."""
    days, values = daily_anc({(5, 9): 0.3, (12, 13): 0.3, (20, 20): 0.3})
    r = early(days, values, s=CUMULATIVE)
    assert r.duration_days["<=0.5"] == 9 + 1  # 5-13 joined (9 days) + day 20


# --------------------------------------------------------------------------------------------
# Interpolation limit
# --------------------------------------------------------------------------------------------


def _with_missing(first_missing: int, last_missing: int) -> tuple[np.ndarray, np.ndarray]:
    days, values = daily_anc({(5, 5): 0.2, (last_missing + 1, last_missing + 1): 0.2})
    keep = (days < first_missing) | (days > last_missing)
    return days[keep], values[keep]


def test_seven_day_gap_interpolated() -> None:
    """LIANG-ICAHT interpolates gaps up to 7 missing days (clinical-decisions 'Grading')."""
    days, values = _with_missing(6, 12)  # 7 missing days between 0.2 on day 5 and day 13
    r = early(days, values)
    assert r.duration_days["<=0.5"] == 9  # days 5-13
    assert r.grade == 2
    assert not any("gap" in c for c in r.caveats)


def test_eight_day_gap_not_interpolated_and_flagged() -> None:
    """LIANG-ICAHT: longer gaps stay missing, result flagged 'incomplete data' (decisions)."""
    days, values = _with_missing(6, 13)  # 8 missing days
    r = early(days, values)
    assert r.duration_days["<=0.5"] == 1
    assert r.grade == 1
    assert any(
        c.startswith("gap of 8 days without ANC (day 6-13)") and "incomplete data" in c
        for c in r.caveats
    )


# --------------------------------------------------------------------------------------------
# Grade-4 rule (onset day 0-3, no recovery to the last value) and censoring
# --------------------------------------------------------------------------------------------


def test_early_death_without_recovery_is_grade_4() -> None:
    """LIANG-ICAHT: ANC <= 0.5 from day 0-3 lasting to the last value, early death = G4."""
    days, values = daily_anc({(2, 40): 0.3})
    values[20:] = 5.0  # values after death must be ignored
    r = early(days, values, end_day=12.0, end_reason="death")
    assert r.grade == 4
    assert r.censored_by == "death"
    assert r.window_end_day == 12
    assert r.provisional is False
    assert r.duration_days["<=0.5"] == 11
    assert (r.episodes[0].start_day, r.episodes[0].end_day) == (2, 12)
    assert any("grade 4 by the no-recovery rule" in c for c in r.caveats)
    assert any("after day 12 (death) ignored" in c for c in r.caveats)


def test_as_of_before_day_30_is_provisional_not_grade_4() -> None:
    """Project reading of LIANG-ICAHT's rule: an as-of before day 30 is not censoring."""
    days, values = daily_anc({(2, 40): 0.3})
    r = early(days, values, end_day=12.0, end_reason="as-of")
    assert r.grade == 2  # 11 days so far
    assert r.provisional is True
    assert r.censored_by == "as-of"
    assert any("ongoing" in c for c in r.caveats)


def test_onset_after_day_3_no_grade_4_rule() -> None:
    """LIANG-ICAHT rule needs neutropenia starting on day 0-3 (IcahtSettings default 3)."""
    days, values = daily_anc({(4, 40): 0.3})
    r = early(days, values, end_day=12.0, end_reason="death")
    assert r.grade == 2  # 9 days


def test_onset_day_3_lasting_to_day_30_is_grade_4() -> None:
    """LIANG-ICAHT: delayed nadir after LD and no recovery by day +30 = G4 (table alone: G3)."""
    days, values = daily_anc({(3, 40): 0.3})
    r = early(days, values, end_day=45.0)
    assert r.duration_days["<=0.5"] == 28
    assert r.grade == 4


def test_recovery_before_death_keeps_table_grade() -> None:
    """LIANG-ICAHT rule applies only without recovery to the last available value."""
    days, values = daily_anc({(2, 9): 0.3})
    r = early(days, values, end_day=12.0, end_reason="death")
    assert r.grade == 2  # 8 days


def test_rule_not_applied_when_last_value_far_before_end() -> None:
    """Recovery unknown when the last ANC is > 7 days before the window end (LIANG-ICAHT grid)."""
    days = np.arange(0, 6, dtype=np.float64)
    values = np.array([1.2, 0.3, 0.3, 0.3, 0.3, 0.3])
    r = early(days, values, end_day=20.0, end_reason="death")
    assert r.grade == 1
    assert any("recovery unknown" in c for c in r.caveats)


def test_censored_by_progression_day_12() -> None:
    """Window cut at relapse/progression (LIANG-ICAHT, T-ICAHT footnote: clinical-ref. 3.1)."""
    days, values = daily_anc({(8, 40): 0.3})
    r = early(days, values, end_day=12.5, end_reason="progression")
    assert (r.window_end_day, r.censored_by, r.provisional) == (12, "progression", False)
    assert r.duration_days["<=0.5"] == 5
    assert r.grade == 1


def test_no_value_in_window_is_not_evaluable() -> None:
    """'Cannot evaluate' is a result with a reason (docs/architecture.md 'Assessment')."""
    r = early(np.array([-3.0, 31.0]), np.array([0.1, 0.1]))
    assert r.grade is None
    assert r.reason == "no ANC value in day 0-30"
    r = early(np.array([-3.0]), np.array([0.1]), end_day=-1.0)
    assert r.grade is None
    assert r.reason is not None
    assert "not reached" in r.reason


# --------------------------------------------------------------------------------------------
# Seed cases (docs/evidence.md 1.6, [DERIVED])
# --------------------------------------------------------------------------------------------


def test_jain_case_1_thirteen_days_grade_2() -> None:
    """JAIN Case 1 (ref. 1.6): ANC <= 0.5 days 2-14 = 13 days -> early ICAHT G2 (borderline)."""
    days, values = daily_anc({(2, 14): 0.3, (2, 4): 0.02, (15, 36): 0.8})
    r = early(days, values)
    assert r.duration_days == {"<=0.5": 13, "<=0.1": 3}
    assert r.grade == 2
    assert r.episodes[0].nadir_10e9_per_l == 0.02
    assert r.episodes[0].nadir_day == 2


def test_jain_case_1_fourteen_days_grade_3() -> None:
    """JAIN Case 1 (ref. 1.6): ANC <= 0.5 days 1-14 = 14 days -> early ICAHT G3 (borderline)."""
    days, values = daily_anc({(1, 14): 0.3, (2, 4): 0.02, (15, 36): 0.8})
    r = early(days, values)
    assert r.duration_days["<=0.5"] == 14
    assert r.grade == 3


def test_jain_case_1_late_at_least_grade_2() -> None:
    """JAIN Case 1 (ref. 1.6): two values <= 1.0 after day 30 -> late ICAHT >= G2."""
    days, values = daily_anc({(2, 14): 0.3, (15, 36): 0.8}, last=36)
    r = grade_late_icaht(days, values, end_day=100.0, end_reason="as-of", settings=DEFAULT)
    assert r.grade is not None
    assert r.grade >= 2


def test_jain_case_2_never_above_half_grade_4() -> None:
    """JAIN Case 2 (ref. 1.6): ANC never > 500/uL in day 0-30 -> early G4; late >= G3."""
    days = np.arange(0, 121, 2, dtype=np.float64)
    values = np.full(days.size, 0.3)
    values[0] = 2.0  # pre-nadir count on day 0
    r = early(days, values, end_day=120.0)
    assert r.grade == 4
    r_late = grade_late_icaht(days, values, end_day=120.0, end_reason="as-of", settings=DEFAULT)
    assert r_late.grade is not None
    assert r_late.grade >= 3


def test_jain_case_3_profound_six_weeks_grade_4() -> None:
    """JAIN Case 3 (ref. 1.6): ANC < 100/uL for 6 weeks -> early ICAHT G4 (<= 0.1 >= 14 d)."""
    days, values = daily_anc({(0, 42): 0.05}, last=60)
    r = early(days, values, end_day=60.0)
    assert r.grade == 4
    assert r.duration_days["<=0.1"] == 31


# --------------------------------------------------------------------------------------------
# Late ICAHT
# --------------------------------------------------------------------------------------------


def test_late_lowest_confirmed_vs_second_lowest() -> None:
    """Late rule: band of the lowest value if another is <= 1.5 (LIANG-ICAHT) vs second-lowest."""
    days, values = [40, 50, 60], [0.08, 0.9, 2.0]
    r1 = late(days, values)
    r2 = late(days, values, s=SECOND_LOWEST)
    assert r1.grade == 4
    assert r2.grade == 2
    assert [e.nadir_day for e in r1.episodes] == [40, 50]
    assert r1.duration_days == {}


def test_late_transient_dip_is_grade_0() -> None:
    """LIANG-ICAHT: the nadir counts only with a second value <= 1.5 (non-transient)."""
    r = late([40, 50, 60], [0.3, 2.0, 1.8])
    assert r.grade == 0
    assert any("transient" in c for c in r.caveats)
    assert late([40, 50, 60], [0.3, 2.0, 1.8], s=SECOND_LOWEST).grade == 0


@pytest.mark.parametrize(
    ("lowest", "grade"), [(1.51, 0), (1.5, 1), (1.0, 2), (0.51, 2), (0.5, 3), (0.11, 3), (0.1, 4)]
)
def test_late_depth_bands(lowest: float, grade: int) -> None:
    """Late ICAHT bands "<=": 1.5 G1, 1.0 G2, 0.5 G3, 0.1 G4 (ICAHT Table 1 via LIANG, 3.1)."""
    r = late([45, 70], [lowest, 1.5])
    assert r.grade == grade
    assert r.provisional is False


def test_late_single_value_provisional() -> None:
    """LIANG-ICAHT: with one value after day 30 that value is used; reported provisional."""
    r = late([45], [0.4])
    assert r.grade == 3
    assert r.provisional is True
    assert any("single ANC value" in c for c in r.caveats)


def test_late_window_not_reached() -> None:
    """Late ICAHT starts day +31 (ICAHT; LIANG-ICAHT)."""
    r = late([10, 20], [0.1, 0.1], end_day=30.9)
    assert r.grade is None
    assert r.reason is not None
    assert r.reason.startswith("late window not reached")


def test_late_window_end_and_censoring() -> None:
    """Late window ends at day 100 (setting 100/180/365) or earlier censoring (LIANG-ICAHT)."""
    days, values = [50, 60, 150, 160], [1.2, 1.3, 0.05, 0.05]
    r = late(days, values, end_day=200.0)
    assert (r.grade, r.window_end_day, r.censored_by, r.provisional) == (1, 100, None, False)
    r180 = late(days, values, end_day=200.0, s=IcahtSettings(late_window_end_day=180))
    assert r180.grade == 4
    r_prog = late([40, 45, 60], [1.2, 1.2, 0.05], end_day=50.0, end_reason="progression")
    assert (r_prog.grade, r_prog.window_end_day, r_prog.censored_by) == (1, 50, "progression")
    assert r_prog.provisional is False


def test_late_as_of_inside_window_is_provisional() -> None:
    """The late grade so far can still rise while the window is open (project reading)."""
    r = late([40, 45], [0.8, 0.9], end_day=60.0, end_reason="as-of")
    assert (r.grade, r.provisional, r.censored_by) == (2, True, "as-of")


def test_late_no_value_in_window() -> None:
    """'Cannot evaluate' with a reason (docs/architecture.md 'Assessment')."""
    r = late([10, 20], [0.1, 0.1], end_day=90.0)
    assert r.grade is None
    assert r.reason == "no ANC value in day 31-90"


def test_late_values_not_rounded() -> None:
    """Late ICAHT uses observed values, not rounded (clinical-decisions 'Grading')."""
    assert late([40, 50], [0.504, 0.504]).grade == 2


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

_day = st.floats(min_value=-5, max_value=130, allow_nan=False)
_anc = st.floats(min_value=0, max_value=4, allow_nan=False)


@st.composite
def _series_and_lowering(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=60))
    days = np.sort(np.array(draw(st.lists(_day, min_size=n, max_size=n)), dtype=np.float64))
    values = np.array(draw(st.lists(_anc, min_size=n, max_size=n)), dtype=np.float64)
    lowered = values.copy()
    for i in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)):
        lowered[i] *= draw(st.floats(min_value=0, max_value=1))
    return days, values, lowered


_SETTINGS = [
    DEFAULT,
    CUMULATIVE,
    SECOND_LOWEST,
    IcahtSettings(interpolation_max_gap_days=0, join_gap_days=6, early_grade4_onset_max_day=7),
]


@settings(max_examples=300, deadline=None)
@given(
    data=_series_and_lowering(),
    end_day=st.floats(min_value=-2, max_value=200, allow_nan=False),
    end_reason=st.sampled_from(["as-of", "death", "progression", "next therapy", "last follow-up"]),
)
def test_property_lowering_never_lowers_grade(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], end_day: float, end_reason: str
) -> None:
    """Property (docs/architecture.md): lowering any count never lowers an ICAHT grade (fixed
    days)."""
    days, values, lowered = data
    for s in _SETTINGS:
        for grader in (grade_early_icaht, grade_late_icaht):
            a = grader(days, values, end_day=end_day, end_reason=end_reason, settings=s)
            b = grader(days, lowered, end_day=end_day, end_reason=end_reason, settings=s)
            assert (a.grade is None) == (b.grade is None)
            if a.grade is not None and b.grade is not None:
                assert b.grade >= a.grade


@settings(max_examples=300, deadline=None)
@given(
    values=ANY_VALUES,
    days=ANY_DAYS,
    end_day=st.floats(allow_nan=True, allow_infinity=True),
)
def test_property_never_raises(values: list[float], days: list[float], end_day: float) -> None:
    """'Cannot evaluate' is a result, never an exception (docs/architecture.md 'Assessment')."""
    n = min(len(values), len(days))
    d = np.sort(np.array(days[:n], dtype=np.float64))
    v = np.array(values[:n], dtype=np.float64)
    for s in _SETTINGS:
        for grader in (grade_early_icaht, grade_late_icaht):
            r = grader(d, v, end_day=end_day, end_reason="as-of", settings=s)
            assert r.grade is None or 0 <= r.grade <= 4
            assert (r.grade is None) == (r.reason is not None)


def test_grade_with_unmeasured_days_is_a_lower_bound() -> None:
    """Scaldaferri (seed 003): no counts before day 28. A grade counted on a window whose days
    were not measured is a minimum (docs/decisions.md: gaps > 7 days stay missing, flagged
    incomplete); a fully sampled window is not."""
    settings = IcahtSettings()
    days = np.array([28.0, 29.0, 30.0])
    sparse = grade_early_icaht(
        days, np.array([0.4, 0.4, 0.4]), end_day=30, end_reason="as-of", settings=settings
    )
    assert sparse.grade == 1
    assert sparse.lower_bound
    full_days = np.arange(0.0, 31.0)
    full = grade_early_icaht(
        full_days, np.full(31, 0.8), end_day=30, end_reason="as-of", settings=settings
    )
    assert full.grade == 0
    assert not full.lower_bound
