"""The canonical course: days relative to infusion, unit conversion, and no look-ahead.

Conversions follow ``docs/evidence.md`` 8.2; day 0 = infusion day
(``docs/decisions.md``, Timeline); JSON paths of problems follow docs/architecture.md
(Data contract: an error names the field, row and value).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pytest

from icaht.core.course import Course, Series, course_from_record, to_day
from icaht.core.patient_record import PatientRecord
from icaht.core.record import CrsEpisode, Medication, Transfusion
from icaht.errors import InputError
from icaht.knowledge.analytes import Analyte

INFUSION = date(2024, 3, 20)


def make_course(
    observations: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    **patient: Any,
) -> Course:
    """A course from a record given as plain JSON-like data."""
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "p1", **patient},
            "observations": observations or [],
            "events": events or [],
        }
    )
    return course_from_record(record)


def obs(day: Any, analyte: str | None, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"time": day, "analyte": analyte, "value": value, "unit": unit, **extra}


# --- to_day ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "expected"), [(5, 5.0), (0, 0.0), (-5, -5.0), (12.25, 12.25)])
def test_to_day_numbers_are_days(moment: float, expected: float) -> None:
    """A number already is the day relative to infusion; no infusion date is needed."""
    assert to_day(moment, None) == expected
    assert to_day(moment, INFUSION) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (date(2024, 3, 20), 0.0),
        (date(2024, 3, 21), 1.0),
        (date(2024, 3, 15), -5.0),
        (date(2024, 4, 19), 30.0),  # across a month end
        (date(2024, 2, 29), -20.0),  # across a leap day
    ],
)
def test_to_day_dates(moment: date, expected: float) -> None:
    """A date counts calendar days from the infusion date (day 0)."""
    assert to_day(moment, INFUSION) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 3, 20, 0, 0), 0.0),
        (datetime(2024, 3, 21, 18, 0), 1.75),
        (datetime(2024, 3, 20, 6, 0), 0.25),
        (datetime(2024, 3, 19, 12, 0), -0.5),  # noon the day before infusion
        (datetime(2024, 3, 22, 0, 0, 36), 2.0 + 36 / 86400),
    ],
)
def test_to_day_datetimes_have_a_fraction(moment: datetime, expected: float) -> None:
    """A datetime gives a fractional day (time of day / 24 h)."""
    assert to_day(moment, INFUSION) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("moment", [date(2024, 3, 21), datetime(2024, 3, 21, 8, 0)])
def test_to_day_date_without_infusion_date_is_an_error(moment: date) -> None:
    """A date cannot be placed on the timeline without the infusion date (record.py contract)."""
    with pytest.raises(ValueError, match="infusion_date"):
        to_day(moment, None)


# --- course_from_record --------------------------------------------------------------------------


def test_course_sorts_each_analyte_by_day_and_converts_units() -> None:
    """Observations out of order and in mixed units become sorted canonical series (8.2)."""
    course = make_course(
        [
            obs(5, "anc", 200, "/uL"),
            obs(1, "platelets", 20_000, "/uL"),
            obs(-3, "anc", 2.1, "10^9/L"),
            obs(2, "anc", 0.9, "K/uL"),
            obs(0, "hb", 100, "g/L"),
            obs(-1, "platelets", 150, "10*9/L"),
            obs(3, "hb", 6.2, "mmol/L"),
        ]
    )
    anc = course.series(Analyte.ANC)
    assert anc.day.tolist() == [-3.0, 2.0, 5.0]
    assert anc.value.tolist() == pytest.approx([2.1, 0.9, 0.2])
    plt = course.series(Analyte.PLATELETS)
    assert plt.day.tolist() == [-1.0, 1.0]
    assert plt.value.tolist() == pytest.approx([150.0, 20.0])
    hb = course.series(Analyte.HB)
    assert hb.day.tolist() == [0.0, 3.0]
    assert hb.value.tolist() == pytest.approx([10.0, 10.0], abs=0.01)  # CTCAE pair (8.2)
    assert len(course.series(Analyte.CRP)) == 0


def test_course_resolves_loinc_and_converts_limits() -> None:
    """An observation named only by LOINC (8.1: 751-8 = ANC) with limits in its own unit."""
    course = make_course([obs(1, None, 1200, "/uL", loinc="751-8", lln=1800, uln=7700)])
    anc = course.series(Analyte.ANC)
    assert anc.value.tolist() == pytest.approx([1.2])
    assert anc.lln.tolist() == pytest.approx([1.8])
    assert anc.uln.tolist() == pytest.approx([7.7])


def test_course_dates_times_and_day_numbers_share_one_timeline() -> None:
    """Date, datetime and day-number times all become days; events are sorted; LD start too."""
    course = make_course(
        [
            obs("2024-03-25", "anc", 0.3, "10^9/L"),
            obs("2024-03-21T12:00:00", "anc", 0.4, "10^9/L"),
            obs(3, "anc", 0.2, "10^9/L"),
        ],
        [
            {"kind": "transfusion", "start": "2024-03-30", "product": "platelets"},
            {"kind": "crs", "start": 1, "end": "2024-03-24", "grade": 2},
            {"kind": "fever", "time": "2024-03-20T18:00:00"},
        ],
        infusion_date="2024-03-20",
        ld_start="2024-03-15",
    )
    anc = course.series(Analyte.ANC)
    assert anc.day.tolist() == pytest.approx([1.5, 3.0, 5.0])
    assert anc.value.tolist() == pytest.approx([0.4, 0.2, 0.3])
    assert [e.start for e in course.events] == pytest.approx([0.75, 1.0, 10.0])
    crs = course.of_kind(CrsEpisode)
    assert len(crs) == 1
    assert crs[0].end == 4.0
    assert course.ld_start_day == -5.0
    assert course.last_data_day() == 10.0


def test_course_collects_all_problems_with_json_paths() -> None:
    """Every problem of a record is listed in one InputError with its JSON path (DESIGN)."""
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "p1", "ld_start": "2024-03-15"},  # no infusion_date
            "observations": [
                obs(1, "anc", 0.5, "10^9/L"),  # fine
                obs(1, "anc", 0.5, "furlongs"),
                obs(1, "hb", 95, "g/dL"),
                obs(1, "wizardry", 1, "/uL"),
                obs("2024-03-21", "anc", 0.5, "10^9/L"),
                obs(1, "platelets", -5, "10^9/L"),
            ],
            "events": [
                {"kind": "crs", "start": 1, "grade": 1},  # fine
                {"kind": "fever", "start": "2024-03-21"},
                {"kind": "crs", "start": 5, "end": 3, "grade": 2},
            ],
        }
    )
    with pytest.raises(InputError) as info:
        course_from_record(record, source="p1.json")
    found = {(p.field, p.value) for p in info.value.problems}
    assert found == {
        ("observations[1].unit", "furlongs"),
        ("observations[2].value", 95),
        ("observations[3].analyte", "wizardry"),
        ("observations[4].time", None),
        ("observations[5].value", -5),
        ("events[1]", None),
        ("events[2]", None),
        ("patient.ld_start", None),
    }
    assert all(p.source == "p1.json" for p in info.value.problems)
    by_field = {p.field: p.message for p in info.value.problems}
    assert "ends before" in by_field["events[2]"]
    assert "infusion_date" in by_field["events[1]"]
    assert "infusion_date" in by_field["observations[4].time"]
    assert "p1.json" in str(info.value)


def test_empty_record_gives_an_empty_course() -> None:
    course = make_course()
    assert course.labs == {}
    assert course.events == ()
    assert course.last_data_day() is None
    assert len(course.series(Analyte.ANC)) == 0


# --- Course.until: no look-ahead -----------------------------------------------------------------


def _course_for_cut() -> Course:
    return make_course(
        [obs(d, "anc", v, "10^9/L") for d, v in [(1, 0.9), (4.5, 0.4), (5, 0.3), (8, 0.6)]]
        + [obs(6, "platelets", 30, "10^9/L")],
        [
            {"kind": "crs", "start": 1, "end": 3, "grade": 1},  # closed before the cut
            {"kind": "crs", "start": 4, "end": 5, "grade": 2},  # ends exactly at the cut
            {"kind": "medication", "start": 2, "end": 9, "drug": "filgrastim"},  # open at cut
            {"kind": "medication", "start": 3, "drug": "tocilizumab"},  # never ended
            {"kind": "transfusion", "start": 5, "product": "platelets"},  # at the cut
            {"kind": "transfusion", "start": 7, "product": "rbc"},  # after
        ],
    )


def test_until_drops_values_and_events_at_or_after_the_cut() -> None:
    """As of cut 5 only what happened before day 5 is known (DESIGN: no look-ahead)."""
    cut = _course_for_cut().until(5.0)
    anc = cut.series(Analyte.ANC)
    assert anc.day.tolist() == [1.0, 4.5]
    assert anc.value.tolist() == pytest.approx([0.9, 0.4])
    assert len(cut.series(Analyte.PLATELETS)) == 0
    assert cut.of_kind(Transfusion) == []
    assert cut.cut == 5.0
    assert cut.last_data_day() == 4.5


def test_until_reopens_spans_still_running_at_the_cut() -> None:
    """A span whose end lies at or after the cut was still ongoing then: end becomes None."""
    cut = _course_for_cut().until(5.0)
    crs = cut.of_kind(CrsEpisode)
    assert [(e.start, e.end) for e in crs] == [(1.0, 3.0), (4.0, None)]
    meds = {m.drug: (m.start, m.end) for m in cut.of_kind(Medication)}
    assert meds == {"filgrastim": (2.0, None), "tocilizumab": (3.0, None)}


def test_until_does_not_change_the_original_and_nests() -> None:
    """until() returns a new course; cutting twice keeps the earlier cut."""
    full = _course_for_cut()
    first = full.until(8.0)
    second = first.until(100.0)
    assert second.cut == 8.0
    assert len(full.series(Analyte.ANC)) == 4
    assert full.of_kind(CrsEpisode)[1].end == 5.0
    assert second.series(Analyte.ANC).day.tolist() == [1.0, 4.5, 5.0]
    assert [m.end for m in second.of_kind(Medication)] == [None, None]


# --- Series slicing ------------------------------------------------------------------------------


def _series() -> Series:
    day = np.array([-2.0, 0.0, 1.0, 1.0, 3.5, 7.0])
    value = np.arange(6, dtype=np.float64)
    nan = np.full(6, np.nan)
    return Series(day, value, nan, nan)


@pytest.mark.parametrize(
    ("start", "stop", "days"),
    [
        (0.0, 3.5, [0.0, 1.0, 1.0]),  # start inclusive, stop exclusive
        (1.0, 1.0, []),
        (-10.0, 0.0, [-2.0]),
        (3.5, 100.0, [3.5, 7.0]),
        (7.0, 7.0000001, [7.0]),
        (8.0, 9.0, []),
    ],
)
def test_series_between_is_half_open(start: float, stop: float, days: list[float]) -> None:
    """between(start, stop) keeps start <= day < stop."""
    assert _series().between(start, stop).day.tolist() == days


@pytest.mark.parametrize(
    ("cut", "days"),
    [(1.0, [-2.0, 0.0]), (1.0000001, [-2.0, 0.0, 1.0, 1.0]), (-2.0, []), (100.0, None)],
)
def test_series_before_is_strict(cut: float, days: list[float] | None) -> None:
    """before(cut) keeps day < cut; ties at the cut are excluded."""
    expected = _series().day.tolist() if days is None else days
    assert _series().before(cut).day.tolist() == expected


def test_series_slices_keep_columns_aligned() -> None:
    part = _series().between(1.0, 7.0)
    assert part.value.tolist() == [2.0, 3.0, 4.0]
    assert len(part.lln) == len(part.uln) == len(part) == 3
