"""Transfusion and G-CSF dependence in trailing windows (icaht.core.support).

Definitions (clinical-decisions.md, Grading; project defaults, profile settings): platelet-
transfusion dependent = >= 1 platelet transfusion in the trailing 14 days; RBC-dependent = >= 1 RBC
transfusion in the trailing 28 days; independence = none in those windows. G-CSF dependence =
G-CSF given within the trailing window (project default, 14 days). The implementation's stated
rule for a window of W days ending on the as-of day is ``as_of - W < day <= as_of``: the window is
the W calendar days as_of-W+1 .. as_of, so a transfusion exactly W days before as-of is outside.
"""

from __future__ import annotations

from typing import Any

import pytest

from icaht.core.course import Course, course_from_record
from icaht.core.record import PatientRecord
from icaht.core.support import gcsf_days, gcsf_dependence, transfusion_dependence
from icaht.knowledge.profile import GcsfSettings, TransfusionSettings

DEFAULT_TRANSFUSION = TransfusionSettings()
DEFAULT_GCSF = GcsfSettings()


def make_course(*events: dict[str, Any]) -> Course:
    record = PatientRecord.model_validate({"patient": {"patient_id": "p1"}, "events": events})
    return course_from_record(record)


def transfusion(day: float, product: str) -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": product}


def gcsf(start: float, end: float | None = None, drug: str = "filgrastim") -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "start": start, "drug": drug}
    if end is not None:
        event["end"] = end
    return event


def test_default_windows_are_14_and_28_days() -> None:
    """Platelet window 14 days, RBC window 28 days (clinical-decisions.md, Grading)."""
    assert DEFAULT_TRANSFUSION.platelet_dependence_window_days == 14
    assert DEFAULT_TRANSFUSION.rbc_dependence_window_days == 28


# --- platelets: 14-day window ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transfusion_day", "dependent"),
    [
        (16, False),  # exactly 14 days before as-of 30: outside (30 - 14 < 16 is false)
        (16.9, False),  # later the same calendar day: still day 16
        (17, True),  # 13 days before: the first day of the window
        (29, True),
        (30, True),  # on the as-of day itself: inside
        (30.99, True),
        (31, False),  # after the as-of day (course not cut): not counted
    ],
)
def test_platelet_window_edges(transfusion_day: float, dependent: bool) -> None:
    course = make_course(transfusion(transfusion_day, "platelets"))
    status = transfusion_dependence(course, 30, "platelets", DEFAULT_TRANSFUSION)
    assert status.dependent is dependent
    assert status.count_in_window == int(dependent)
    assert status.window_days == 14
    assert status.support == "platelet transfusion"
    assert status.setting == "transfusion.platelet_dependence_window_days"


# --- RBC: 28-day window ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transfusion_day", "dependent"),
    [(22, False), (23, True), (50, True), (51, False)],
)
def test_rbc_window_edges(transfusion_day: float, dependent: bool) -> None:
    """As of day 50: day 22 is exactly 28 days before (outside), day 23 is inside."""
    course = make_course(transfusion(transfusion_day, "rbc"))
    status = transfusion_dependence(course, 50, "rbc", DEFAULT_TRANSFUSION)
    assert status.dependent is dependent
    assert status.window_days == 28
    assert status.support == "RBC transfusion"
    assert status.setting == "transfusion.rbc_dependence_window_days"


def test_products_are_counted_separately() -> None:
    """An RBC transfusion does not make a patient platelet-dependent, and vice versa."""
    course = make_course(transfusion(40, "rbc"), transfusion(41, "plasma"))
    assert not transfusion_dependence(course, 45, "platelets", DEFAULT_TRANSFUSION).dependent
    assert transfusion_dependence(course, 45, "rbc", DEFAULT_TRANSFUSION).dependent
    course = make_course(transfusion(40, "platelets"))
    assert not transfusion_dependence(course, 45, "rbc", DEFAULT_TRANSFUSION).dependent


def test_transfusion_counts_first_and_last_day() -> None:
    course = make_course(
        transfusion(3, "platelets"),
        transfusion(20, "platelets"),
        transfusion(25.5, "platelets"),
        transfusion(30, "platelets"),
    )
    status = transfusion_dependence(course, 30, "platelets", DEFAULT_TRANSFUSION)
    assert status.dependent
    assert status.count_in_window == 3  # days 20, 25, 30 within 17..30
    assert (status.first_day, status.last_day) == (3, 30)


def test_independence_when_no_transfusion() -> None:
    status = transfusion_dependence(make_course(), 30, "platelets", DEFAULT_TRANSFUSION)
    assert not status.dependent
    assert status.count_in_window == 0
    assert (status.first_day, status.last_day) == (None, None)


def test_window_is_a_profile_setting() -> None:
    """A centre's 7-day platelet window: a transfusion 7 days before as-of is outside."""
    settings = TransfusionSettings(platelet_dependence_window_days=7)
    course = make_course(transfusion(23, "platelets"))
    assert not transfusion_dependence(course, 30, "platelets", settings).dependent
    course = make_course(transfusion(24, "platelets"))
    assert transfusion_dependence(course, 30, "platelets", settings).dependent


# --- G-CSF -------------------------------------------------------------------------------------


def test_gcsf_open_segment_runs_to_the_as_of_day() -> None:
    """An open (ongoing) G-CSF segment counts every day from its start to as-of."""
    course = make_course(gcsf(10))
    assert gcsf_days(course, 15) == [10, 11, 12, 13, 14, 15]
    status = gcsf_dependence(course, 15, DEFAULT_GCSF)
    assert status.dependent
    assert status.count_in_window == 6
    assert (status.first_day, status.last_day) == (10, 15)
    assert status.setting == "gcsf.dependence_window_days"


def test_gcsf_closed_segment_ends_on_its_end_day() -> None:
    course = make_course(gcsf(7, 9.5))
    assert gcsf_days(course, 30) == [7, 8, 9]


@pytest.mark.parametrize(("days_before", "dependent"), [(0, True), (-1, False)])
def test_gcsf_dependence_window_edges(days_before: int, dependent: bool) -> None:
    """G-CSF window uses the same as_of - W < day <= as_of rule: the last dose exactly W days
    before as-of is outside, W - 1 days before is inside (W = the profile's window)."""
    window = DEFAULT_GCSF.dependence_window_days
    end_day = 30 - window + 1 + days_before
    course = make_course(gcsf(5, end_day))
    status = gcsf_dependence(course, 30, DEFAULT_GCSF)
    assert status.window_days == window
    assert status.dependent is dependent
    assert status.last_day == end_day


def test_gcsf_segments_are_merged_by_day() -> None:
    """Two overlapping segments (a dose change) count each calendar day once."""
    course = make_course(gcsf(5, 8), gcsf(8, 10), gcsf(20, 21, drug="pegfilgrastim"))
    assert gcsf_days(course, 30) == [5, 6, 7, 8, 9, 10, 20, 21]
    assert gcsf_dependence(course, 30, DEFAULT_GCSF).count_in_window == 2


def test_gcsf_segment_after_as_of_is_ignored_and_long_segment_is_clipped() -> None:
    course = make_course(gcsf(40, 50), gcsf(20, 60))
    assert gcsf_days(course, 25) == [20, 21, 22, 23, 24, 25]


@pytest.mark.parametrize("drug", ["Filgrastim", "PEGFILGRASTIM", "lenograstim", "G-CSF"])
def test_gcsf_drug_names(drug: str) -> None:
    """G-CSF products in any case count (drug names are lower-cased by the record model)."""
    course = make_course(gcsf(28, drug=drug))
    assert gcsf_dependence(course, 30, DEFAULT_GCSF).dependent


@pytest.mark.parametrize("drug", ["sargramostim", "GM-CSF", "eltrombopag", "tocilizumab"])
def test_other_drugs_are_not_gcsf(drug: str) -> None:
    """GM-CSF is not G-CSF (JAIN: avoid GM-CSF), nor are TPO-RAs or tocilizumab."""
    course = make_course(gcsf(28, drug=drug))
    status = gcsf_dependence(course, 30, DEFAULT_GCSF)
    assert not status.dependent
    assert status.first_day is None


def test_gcsf_window_is_a_profile_setting() -> None:
    course = make_course(gcsf(20, 22))
    assert not gcsf_dependence(course, 30, GcsfSettings(dependence_window_days=7)).dependent
    assert gcsf_dependence(course, 30, GcsfSettings(dependence_window_days=9)).dependent
