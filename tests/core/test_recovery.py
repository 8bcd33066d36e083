"""Neutrophil recovery phenotype (icaht.core.recovery).

Source of every expectation: HT (Rejeski, Blood 2021) definitions as fixed in
docs/decisions.md ("Grading") and docs/evidence.md section 4.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.utils.series_helpers import ANY_DAYS, ANY_VALUES

from icaht.core.course import Series
from icaht.core.recovery import PhenotypeResult, recovery_after_nadir, recovery_phenotype
from icaht.knowledge.profile.grading import RecoveryPhenotypeSettings

DEFAULT = RecoveryPhenotypeSettings()  # window_end_day = 60


def daily_anc(
    low: dict[tuple[int, int], float], *, base: float = 1.5, last: int = 70
) -> tuple[np.ndarray, np.ndarray]:
    """One ANC a day from day 0: ``base`` except the inclusive day ranges in ``low``."""
    days = np.arange(0, last + 1, dtype=np.float64)
    values = np.full(days.size, base)
    for (a, b), v in low.items():
        values[(days >= a) & (days <= b)] = v
    return days, values


def phenotype(days: np.ndarray, values: np.ndarray, end_day: float = 70.0) -> PhenotypeResult:
    return recovery_phenotype(
        days, values, end_day=end_day, settings=DEFAULT, interpolation_max_gap_days=7
    )


def test_aplastic_fourteen_days_below_half() -> None:
    """HT: aplastic = continuous ANC < 0.5 for >= 14 days (clinical-decisions 'Grading')."""
    days, values = daily_anc({(2, 15): 0.3})
    r = phenotype(days, values)
    assert r.phenotype == "aplastic"
    assert r.longest_severe_run_days == 14
    assert "day 2-15" in r.reason
    assert r.citations == ["HT"]


def test_thirteen_days_not_aplastic_and_half_is_not_below_half() -> None:
    """HT: < 0.5 is strict and the run must reach 14 days (clinical-decisions 'Grading')."""
    days, values = daily_anc({(2, 14): 0.3})
    r = phenotype(days, values)
    assert r.phenotype == "quick"
    assert r.longest_severe_run_days == 13
    days, values = daily_anc({(2, 20): 0.5})
    assert phenotype(days, values).longest_severe_run_days == 0


def test_intermittent_second_dip_after_day_21() -> None:
    """HT: recovery to ANC > 1.0 then a second dip < 1.0 after day +21 = intermittent."""
    days, values = daily_anc({(2, 10): 0.3, (25, 28): 0.8})
    r = phenotype(days, values, end_day=30.0)  # decided before the window end
    assert r.phenotype == "intermittent"
    assert r.first_recovery_day == 11
    assert r.second_dip_day == 25


def test_dip_ending_by_day_21_is_not_a_second_dip() -> None:
    """HT: only a dip after day +21 counts; an earlier wobble does not (clinical-decisions)."""
    days, values = daily_anc({(2, 10): 0.3, (15, 21): 0.8})
    r = phenotype(days, values)
    assert r.phenotype == "quick"
    assert r.second_dip_day is None


def test_quick_needs_follow_up_to_window_end() -> None:
    """Quick only once follow-up reaches window_end_day (project default 60; decisions)."""
    days, values = daily_anc({(2, 10): 0.3})
    r = phenotype(days, values, end_day=60.0)
    assert r.phenotype == "quick"
    assert r.first_recovery_day == 11
    r = phenotype(days, values, end_day=40.0)
    assert r.phenotype == "undetermined"
    assert "follow-up to day 60" in r.reason
    assert r.first_recovery_day == 11


def test_undetermined_without_recovery() -> None:
    """HT: no recovery to > 1.0 and not aplastic -> undetermined with the reason."""
    days, values = daily_anc({(2, 70): 0.7})
    r = phenotype(days, values)
    assert r.phenotype == "undetermined"
    assert "no recovery" in r.reason
    assert r.first_recovery_day is None


def test_undetermined_without_data() -> None:
    """'Undetermined until enough data' (clinical-decisions 'Grading')."""
    r = phenotype(np.array([-5.0]), np.array([2.0]))
    assert r.phenotype == "undetermined"
    assert "no ANC value" in r.reason


def test_undetermined_without_value_after_day_21() -> None:
    """Nothing excludes a second dip without an ANC after day +21 (project reading)."""
    days, values = daily_anc({(2, 10): 0.3}, last=20)
    r = phenotype(days, values, end_day=90.0)
    assert r.phenotype == "undetermined"
    assert "after day +21" in r.reason


def test_precedence_aplastic_over_intermittent() -> None:
    """Precedence aplastic > intermittent > quick (clinical-decisions 'Grading', brief)."""
    days, values = daily_anc({(2, 17): 0.2, (30, 35): 0.6})
    r = phenotype(days, values)
    assert r.phenotype == "aplastic"


@settings(max_examples=200, deadline=None)
@given(
    values=ANY_VALUES,
    days=ANY_DAYS,
    end_day=st.floats(allow_nan=True, allow_infinity=True),
    gap=st.integers(min_value=0, max_value=14),
)
def test_property_never_raises(
    values: list[float], days: list[float], end_day: float, gap: int
) -> None:
    """'Undetermined' is a result, never an exception (docs/architecture.md 'Assessment')."""
    n = min(len(values), len(days))
    d = np.sort(np.array(days[:n], dtype=np.float64))
    v = np.array(values[:n], dtype=np.float64)
    r = recovery_phenotype(d, v, end_day=end_day, settings=DEFAULT, interpolation_max_gap_days=gap)
    assert r.phenotype in {"quick", "intermittent", "aplastic", "undetermined"}
    assert r.reason


def test_fall_before_day_22_lasting_past_it_counts_as_second_dip() -> None:
    """HT: a second dip "after day +21" includes ANC still < 1.0 after day 21 (docstring)."""
    days, values = daily_anc({(2, 10): 0.3, (18, 30): 0.8})
    r = phenotype(days, values)
    assert r.phenotype == "intermittent"
    assert (r.first_recovery_day, r.second_dip_day) == (11, 22)


def _series(days: list[float], values: list[float]) -> Series:
    d, v = np.array(days, dtype=np.float64), np.array(values, dtype=np.float64)
    nan = np.full(d.size, np.nan)
    return Series(d, v, nan, nan)


def test_recovery_after_nadir() -> None:
    series = _series([-3.4, 0.3, 3.3, 3.8, 8.3, 10.3, 12.4], [0.05, 2.0, 0.3, 0.1, 0.45, 0.6, 1.1])
    # nadir 0.1 on day 3 (lowest value of the day; the pre-infusion 0.05 does not count);
    # first later day above 0.5 is day 10
    assert recovery_after_nadir(series, 365, 0.5) == (10, 0.1)
    assert recovery_after_nadir(series, 9, 0.5) == (None, 0.1)  # follow-up ends before
    # exactly at the threshold is not above it
    assert recovery_after_nadir(_series([1.3, 5.3], [0.2, 0.5]), 365, 0.5) == (None, 0.2)
    # never at or below the threshold: nothing to recover from
    assert recovery_after_nadir(_series([1.3, 5.3], [0.8, 0.6]), 365, 0.5) == (None, 0.6)
    assert recovery_after_nadir(Series.empty(), 365, 0.5) == (None, None)
