"""Transfusion and G-CSF dependence in trailing windows (icaht.core.dependence).

Definitions (docs/decisions.md, Grading "Transfusion dependence" and Severity terms, revised
2026-12; project defaults, profile settings): platelet-transfusion dependent = >= 2 platelet
transfusions in the trailing 14 days; RBC-dependent = >= 2 RBC transfusions in the trailing 28 days;
one transfusion is "transfused", not dependent. G-CSF dependent = G-CSF on >= 7 of the trailing 14
days and ANC <= 0.5 x10^9/L at least once in them. A window of W days ending on the as-of day is
``as_of - W < day <= as_of``: a transfusion exactly W days before as-of is outside. Absence is not
a negative: without a stream declared complete, no event reads "none recorded".
"""

from __future__ import annotations

from typing import Any

import pytest

from icaht.core.course import Course, course_from_record
from icaht.core.dependence import gcsf_days, gcsf_dependence, transfusion_dependence
from icaht.core.patient_record import PatientRecord
from icaht.knowledge.profile.management import SeveritySettings
from icaht.knowledge.profile.supportive_care import GcsfSettings, TransfusionSettings

DEFAULT_TRANSFUSION = TransfusionSettings()
DEFAULT_GCSF = GcsfSettings()
DEFAULT_SEVERITY = SeveritySettings()


def make_course(
    *events: dict[str, Any], anc: tuple[tuple[float, float], ...] = (), streams: str = ""
) -> Course:
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "p1", "complete_streams": streams},
            "events": events,
            "observations": [
                {"time": day, "analyte": "anc", "value": value, "unit": "10*9/L"}
                for day, value in anc
            ],
        }
    )
    return course_from_record(record)


def transfusion(day: float, product: str) -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": product}


def gcsf(start: float, end: float | None = None, drug: str = "filgrastim") -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "start": start, "drug": drug}
    if end is not None:
        event["end"] = end
    return event


def test_default_windows_are_14_and_28_days_and_two_transfusions() -> None:
    """Platelet window 14 days, RBC window 28 days, 2 transfusions (docs/decisions.md)."""
    assert DEFAULT_TRANSFUSION.platelet_dependence_window_days == 14
    assert DEFAULT_TRANSFUSION.rbc_dependence_window_days == 28
    assert DEFAULT_TRANSFUSION.dependence_min_transfusions == 2


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
    """A second transfusion on the as-of day; the first decides whether there are two."""
    course = make_course(transfusion(transfusion_day, "platelets"), transfusion(30, "platelets"))
    status = transfusion_dependence(course, 30, "platelets", DEFAULT_TRANSFUSION)
    assert status.dependent is dependent
    assert status.count_in_window == int(dependent) + 1
    assert status.window_days == 14
    assert status.support == "platelet transfusion"
    assert status.setting == "transfusion.platelet_dependence_window_days"


# --- RBC: 28-day window ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transfusion_day", "dependent"),
    [(22, False), (23, True), (50, True), (51, False)],
)
def test_rbc_window_edges(transfusion_day: float, dependent: bool) -> None:
    """As of day 50: day 22 is exactly 28 days before (outside), day 23 is inside (with a
    second RBC transfusion on the as-of day; an earlier second one would have begun a
    dependence that lasts while the window holds any, docs/decisions.md)."""
    course = make_course(transfusion(transfusion_day, "rbc"), transfusion(50, "rbc"))
    status = transfusion_dependence(course, 50, "rbc", DEFAULT_TRANSFUSION)
    assert status.dependent is dependent
    assert status.window_days == 28
    assert status.support == "RBC transfusion"
    assert status.setting == "transfusion.rbc_dependence_window_days"


def test_products_are_counted_separately() -> None:
    """RBC transfusions do not make a patient platelet-dependent, and vice versa."""
    course = make_course(transfusion(40, "rbc"), transfusion(42, "rbc"), transfusion(41, "plasma"))
    assert not transfusion_dependence(course, 45, "platelets", DEFAULT_TRANSFUSION).dependent
    assert transfusion_dependence(course, 45, "rbc", DEFAULT_TRANSFUSION).dependent
    course = make_course(transfusion(40, "platelets"), transfusion(41, "platelets"))
    assert not transfusion_dependence(course, 45, "rbc", DEFAULT_TRANSFUSION).dependent


def test_one_transfusion_is_transfused_not_dependent() -> None:
    """docs/decisions.md (revised): one transfusion is "transfused", not "dependent"."""
    status = transfusion_dependence(
        make_course(transfusion(29, "platelets")), 30, "platelets", DEFAULT_TRANSFUSION
    )
    assert not status.dependent
    assert status.state == "not dependent (1 in the trailing 14 days)"


def test_absence_is_none_recorded_unless_the_stream_is_complete() -> None:
    """docs/decisions.md, "Absence is not a negative": no transfusion event says nothing
    unless the record declares its transfusions complete."""
    silent = transfusion_dependence(make_course(), 30, "platelets", DEFAULT_TRANSFUSION)
    assert silent.state == "none recorded"
    assert not silent.stream_complete
    complete = transfusion_dependence(
        make_course(streams="transfusions"), 30, "platelets", DEFAULT_TRANSFUSION
    )
    assert complete.state == "not dependent (none in the trailing 14 days)"
    gcsf_status = gcsf_dependence(
        make_course(streams="medications"), 30, DEFAULT_GCSF, DEFAULT_SEVERITY
    )
    assert gcsf_status.stream_complete  # medications cover G-CSF


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
    """A centre's 7-day platelet window: a transfusion 7 days before as-of is outside; a centre
    counting one transfusion as dependence."""
    settings = TransfusionSettings(platelet_dependence_window_days=7)
    course = make_course(transfusion(23, "platelets"), transfusion(30, "platelets"))
    assert not transfusion_dependence(course, 30, "platelets", settings).dependent
    course = make_course(transfusion(24, "platelets"), transfusion(30, "platelets"))
    assert transfusion_dependence(course, 30, "platelets", settings).dependent
    one = TransfusionSettings(dependence_min_transfusions=1)
    course = make_course(transfusion(30, "platelets"))
    assert transfusion_dependence(course, 30, "platelets", one).dependent


# --- G-CSF -------------------------------------------------------------------------------------


def test_gcsf_open_segment_runs_to_the_as_of_day() -> None:
    """An open (ongoing) G-CSF segment counts every day from its start to as-of."""
    course = make_course(gcsf(10), anc=((12, 0.3),))
    assert gcsf_days(course, 16) == [10, 11, 12, 13, 14, 15, 16]
    status = gcsf_dependence(course, 16, DEFAULT_GCSF, DEFAULT_SEVERITY)
    assert status.dependent  # 7 days of G-CSF and ANC <= 0.5 once
    assert status.count_in_window == 7
    assert not gcsf_dependence(course, 15, DEFAULT_GCSF, DEFAULT_SEVERITY).dependent  # 6 days
    assert (status.first_day, status.last_day) == (10, 16)
    assert status.setting == "gcsf.dependence_window_days"


def test_gcsf_dependence_needs_a_low_anc() -> None:
    """Severity terms: G-CSF-dependent needs ANC <= 0.5 x10^9/L at least once in the window;
    G-CSF given while the ANC stays above it is not dependence."""
    course = make_course(gcsf(10), anc=((12, 0.8), (15, 1.2)))
    assert not gcsf_dependence(course, 20, DEFAULT_GCSF, DEFAULT_SEVERITY).dependent
    course = make_course(gcsf(10), anc=((12, 0.5), (15, 1.2)))
    assert gcsf_dependence(course, 20, DEFAULT_GCSF, DEFAULT_SEVERITY).dependent


def test_gcsf_closed_segment_ends_on_its_end_day() -> None:
    course = make_course(gcsf(7, 9.5))
    assert gcsf_days(course, 30) == [7, 8, 9]


@pytest.mark.parametrize(("days_before", "dependent"), [(0, True), (-1, False)])
def test_gcsf_dependence_window_edges(days_before: int, dependent: bool) -> None:
    """G-CSF window uses the same as_of - W < day <= as_of rule: G-CSF ending W - 7 days before
    as-of leaves exactly 7 days inside the window; one day earlier leaves 6 (W = the profile's
    window)."""
    window = DEFAULT_GCSF.dependence_window_days
    end_day = 30 - window + 7 + days_before
    course = make_course(gcsf(5, end_day), anc=((30, 0.2),))
    status = gcsf_dependence(course, 30, DEFAULT_GCSF, DEFAULT_SEVERITY)
    assert status.window_days == window
    assert status.dependent is dependent
    assert status.last_day == end_day


def test_gcsf_segments_are_merged_by_day() -> None:
    """Two overlapping segments (a dose change) count each calendar day once."""
    course = make_course(gcsf(5, 8), gcsf(8, 10), gcsf(20, 21, drug="pegfilgrastim"))
    assert gcsf_days(course, 30) == [5, 6, 7, 8, 9, 10, 20, 21]
    assert gcsf_dependence(course, 30, DEFAULT_GCSF, DEFAULT_SEVERITY).count_in_window == 2


def test_gcsf_segment_after_as_of_is_ignored_and_long_segment_is_clipped() -> None:
    course = make_course(gcsf(40, 50), gcsf(20, 60))
    assert gcsf_days(course, 25) == [20, 21, 22, 23, 24, 25]


@pytest.mark.parametrize("drug", ["Filgrastim", "PEGFILGRASTIM", "lenograstim", "G-CSF"])
def test_gcsf_drug_names(drug: str) -> None:
    """G-CSF products in any case count (drug names are lower-cased by the record model)."""
    course = make_course(gcsf(20, drug=drug), anc=((25, 0.1),))
    assert gcsf_dependence(course, 30, DEFAULT_GCSF, DEFAULT_SEVERITY).dependent


@pytest.mark.parametrize("drug", ["sargramostim", "GM-CSF", "eltrombopag", "tocilizumab"])
def test_other_drugs_are_not_gcsf(drug: str) -> None:
    """GM-CSF is not G-CSF (JAIN: avoid GM-CSF), nor are TPO-RAs or tocilizumab."""
    course = make_course(gcsf(20, drug=drug), anc=((25, 0.1),))
    status = gcsf_dependence(course, 30, DEFAULT_GCSF, DEFAULT_SEVERITY)
    assert not status.dependent
    assert status.first_day is None


def test_gcsf_window_is_a_profile_setting() -> None:
    """A centre's 7-day window and 2-day threshold: G-CSF on days 21-22 counts with a window of
    10 days (days 21-30), not of 7."""
    course = make_course(gcsf(20, 22), anc=((24, 0.3),))
    severity = SeveritySettings(gcsf_dependent_days=2)
    assert not gcsf_dependence(
        course, 30, GcsfSettings(dependence_window_days=7), severity
    ).dependent
    assert gcsf_dependence(course, 30, GcsfSettings(dependence_window_days=10), severity).dependent


def test_dependence_lasts_until_a_window_without_transfusions() -> None:
    """docs/decisions.md, "Transfusion dependence": independence = none in the window after a
    period of dependence. Platelets every 10 days from day 20 to day 80 (as in Jain case 3's
    regular transfusions): dependent from the second (day 30) without a break, although the
    trailing 14 days hold one transfusion on days 34-39, 44-49, ...; independent on day 94, the
    first day with none in the trailing 14 days. Read as >= 2 on every day, the patient flickered
    between dependent and not, and the cards that follow dependence came and went."""
    course = make_course(*(transfusion(day, "platelets") for day in range(20, 81, 10)))
    dependent = [
        transfusion_dependence(course, day, "platelets", DEFAULT_TRANSFUSION).dependent
        for day in range(20, 100)
    ]
    assert dependent == [day in range(30, 94) for day in range(20, 100)]
    between = transfusion_dependence(course, 35, "platelets", DEFAULT_TRANSFUSION)
    assert between.since_day == 30
    assert between.state == "dependent since day 30 (1 in the trailing 14 days)"


def test_after_independence_one_transfusion_is_again_not_dependence() -> None:
    """Dependence ended (no transfusion in 14 days): a single later transfusion is "transfused",
    not dependent, until a second one within the window."""
    course = make_course(
        transfusion(20, "platelets"), transfusion(25, "platelets"), transfusion(60, "platelets")
    )
    assert transfusion_dependence(course, 30, "platelets", DEFAULT_TRANSFUSION).dependent
    assert not transfusion_dependence(course, 40, "platelets", DEFAULT_TRANSFUSION).dependent
    assert not transfusion_dependence(course, 62, "platelets", DEFAULT_TRANSFUSION).dependent
