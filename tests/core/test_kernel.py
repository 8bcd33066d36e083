"""The columnar grading kernel (icaht.core.kernel) against the window graders as they were
before it replaced them: 4,800 recorded cases (tests/core/grading_cases.py; early/late ICAHT
and T-ICAHT per docs/evidence.md 3.1 and 3.4, counting rules of docs/decisions.md "Grading"),
one patient at a time and all patients in one batch."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from tests.core.grading_cases import Case, cases, load_expected, summary

from icaht.core.grading_scheme import GradingScheme, icaht_scheme, ticaht_scheme
from icaht.core.icaht import window_result
from icaht.core.kernel import Batch, batch_daily, grade_window, grade_windows
from icaht.core.neutrophil_icaht import grade_early_icaht, grade_late_icaht
from icaht.core.recovery import recovery_phenotype
from icaht.core.recovery_batch import PHENOTYPES, phenotype_codes
from icaht.core.ticaht import grade_early_ticaht, grade_late_ticaht
from icaht.knowledge.profile.grading import RecoveryPhenotypeSettings

ALL = list(cases())
EXPECTED = load_expected()


def _one(c: Case) -> list[dict[str, Any]]:
    kw: dict[str, Any] = {"end_day": c.end_day, "end_reason": c.end_reason}
    return [
        summary(grade_early_icaht(c.anc_days, c.anc, settings=c.icaht, **kw)),
        summary(grade_late_icaht(c.anc_days, c.anc, settings=c.icaht, **kw)),
        summary(grade_early_ticaht(c.plt_days, c.plt, settings=c.ticaht, **kw)),
        summary(
            grade_late_ticaht(c.plt_days, c.plt, settings=c.ticaht, late_rule=c.late_rule, **kw)
        ),
    ]


def test_one_patient_at_a_time_matches_the_recorded_graders() -> None:
    """Every grade, flag, duration, caveat and episode as recorded (digest of the whole result)."""
    assert len(ALL) == len(EXPECTED)
    wrong = [c.key for c in ALL if _one(c) != EXPECTED[c.key]]
    assert not wrong, f"{len(wrong)} cases differ, e.g. {wrong[:5]}"


def _batch(group: list[Case], anc: bool) -> Batch:
    days = [c.anc_days if anc else c.plt_days for c in group]
    values = [c.anc if anc else c.plt for c in group]
    sizes = np.array([d.size for d in days], dtype=np.int64)
    return Batch(
        np.concatenate(days),
        np.concatenate(values),
        np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        np.array([c.end_day for c in group]),
        np.array([c.end_reason == "as-of" for c in group]),
    )


@pytest.mark.parametrize("column", [0, 1, 2, 3])
def test_whole_cohort_in_one_batch_matches(column: int) -> None:
    """Patients graded together (one batch per settings variant) get the recorded results."""
    groups: dict[GradingScheme, list[Case]] = defaultdict(list)
    for c in ALL:
        scheme = icaht_scheme(c.icaht) if column < 2 else ticaht_scheme(c.ticaht, c.late_rule)
        groups[scheme].append(c)
    window = "early" if column % 2 == 0 else "late"
    wrong = []
    for scheme, group in groups.items():
        grades = grade_window(scheme, window, _batch(group, column < 2))
        for i, c in enumerate(group):
            got = summary(window_result(grades, i, end_day=c.end_day, end_reason=c.end_reason))
            if got != EXPECTED[c.key][column]:
                wrong.append(c.key)
            assert int(grades.grade[i]) == (-1 if got["grade"] is None else got["grade"])
    assert not wrong, f"{len(wrong)} cases differ, e.g. {wrong[:5]}"


def test_both_windows_from_one_daily_series_match_each_window_alone() -> None:
    scheme = icaht_scheme(ALL[0].icaht)
    batch = _batch(ALL, anc=True)
    early, late = grade_windows(scheme, batch)
    for shared, alone in (
        (early, grade_window(scheme, "early", batch)),
        (late, grade_window(scheme, "late", batch)),
    ):
        assert np.array_equal(shared.grade, alone.grade)
        assert np.array_equal(shared.provisional, alone.provisional)
        assert np.array_equal(shared.lower_bound, alone.lower_bound)


def test_the_phenotype_of_a_batch_is_the_phenotype_of_each_patient() -> None:
    """icaht.core.recovery_batch against icaht.core.recovery, per interpolation limit."""
    settings = RecoveryPhenotypeSettings()
    groups: dict[int, list[Case]] = defaultdict(list)
    for c in ALL:
        groups[c.icaht.interpolation_max_gap_days].append(c)
    for gap, group in groups.items():
        batch = _batch(group, anc=True)
        codes = phenotype_codes(batch_daily(batch)[1], batch.end_day, settings, gap)
        one = [
            recovery_phenotype(
                c.anc_days,
                c.anc,
                end_day=c.end_day,
                settings=settings,
                interpolation_max_gap_days=gap,
            ).phenotype
            for c in group
        ]
        assert [PHENOTYPES[k] for k in codes] == one
