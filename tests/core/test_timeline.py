"""Timeline: Jain phase, ICAHT window, the as-of cut, baseline selection and end of follow-up.

Sources: docs/evidence.md 1.1 (JAIN L1, L3: early <30 days, prolonged 30-90, late >90) and
section 3 (ICAHT: early day 0-30, late after day +30; late window censored at relapse/progression,
next therapy, death, last follow-up); docs/decisions.md, Timeline (day 30 and day 90 both
belong to "prolonged"; baseline = last value in [day -10, day 0), before LD start when known).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pytest

from icaht.core.course import Course, course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.core.timeline import (
    as_of_cut,
    baseline_value,
    calendar_day,
    follow_up_end,
    icaht_window,
    jain_phase,
)
from icaht.errors import InputError
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile.grading import BaselineSettings

INFUSION = date(2024, 3, 20)


def make_course(
    observations: Sequence[tuple[float | str, str, float, str]] | None = None,
    events: list[dict[str, Any]] | None = None,
    **patient: Any,
) -> Course:
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "p1", **patient},
            "observations": [
                {"time": t, "analyte": a, "value": v, "unit": u}
                for t, a, v, u in observations or []
            ],
            "events": events or [],
        }
    )
    return course_from_record(record)


# --- phases and windows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "phase"),
    [
        (-5, "pre-infusion"),
        (-1, "pre-infusion"),
        (0, "early"),
        (29, "early"),  # JAIN L1: early < 30 days
        (30, "prolonged"),  # day 30 unassigned in JAIN; docs/decisions.md: "day 30-90"
        (60, "prolonged"),
        (90, "prolonged"),  # day 90 unassigned in JAIN; docs/decisions.md: "day 30-90"
        (91, "late"),  # JAIN L3: late > 90 days
        (365, "late"),
    ],
)
def test_jain_phase_boundaries(day: int, phase: str) -> None:
    """Jain phases (docs/evidence.md 1.1, JAIN L1/L3; docs/decisions.md Timeline)."""
    assert jain_phase(day) == phase


@pytest.mark.parametrize(
    ("day", "window"),
    [(-1, "pre-infusion"), (0, "early"), (30, "early"), (31, "late"), (100, "late")],
)
def test_icaht_window_boundaries(day: int, window: str) -> None:
    """ICAHT windows: early = day 0-30, late = day >= 31 (docs/evidence.md 3)."""
    assert icaht_window(day) == window


@pytest.mark.parametrize(("day", "calendar"), [(0.0, 0), (0.99, 0), (1.0, 1), (-0.25, -1)])
def test_calendar_day_floors(day: float, calendar: int) -> None:
    """A fractional day belongs to the calendar day that contains it (day -0.25 is day -1)."""
    assert calendar_day(day) == calendar


# --- as-of cut --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "cut"),
    [
        (28, 29.0),  # a day number means the end of that calendar day
        (0, 1.0),
        (-1, 0.0),
        (28.4, 29.0),
        (date(2024, 3, 20), 1.0),
        (date(2024, 4, 17), 29.0),
        (datetime(2024, 3, 25, 6, 0), 5.25),  # a datetime is exact
        (datetime(2024, 3, 25, 0, 0), 5.0),
    ],
)
def test_as_of_cut(as_of: Any, cut: float) -> None:
    course = make_course(infusion_date=INFUSION)
    assert as_of_cut(as_of, course, INFUSION) == pytest.approx(cut)


def test_as_of_day_includes_everything_measured_that_day() -> None:
    """As of day 28, a value drawn late on day 28 is known and day 29 is not (no look-ahead)."""
    course = make_course(
        [(28.9, "anc", 0.4, "10^9/L"), (29.0, "anc", 0.6, "10^9/L"), (27, "anc", 0.3, "10^9/L")]
    )
    known = course.until(as_of_cut(28, course, None))
    assert known.series(Analyte.ANC).day.tolist() == [27.0, 28.9]


def test_as_of_none_is_the_last_day_with_data() -> None:
    """None = the latest day with any data (observation or event), to the end of that day."""
    course = make_course(
        [(3.5, "anc", 0.4, "10^9/L"), (12.2, "platelets", 40, "10^9/L")],
        [{"kind": "transfusion", "start": 14.5, "product": "platelets"}],
    )
    assert as_of_cut(None, course, None) == 15.0
    assert as_of_cut(None, make_course([(3.5, "anc", 0.4, "10^9/L")]), None) == 4.0


def test_as_of_none_for_an_empty_course_is_the_infusion_day() -> None:
    assert as_of_cut(None, make_course(), None) == 1.0


def test_as_of_date_without_infusion_date_is_an_error() -> None:
    """An input error naming the value (the CLI shows it without a traceback)."""
    with pytest.raises(InputError, match="infusion_date") as info:
        as_of_cut(date(2024, 3, 25), make_course(), None)
    assert info.value.problems[0].value == "2024-03-25"


# --- baseline ---------------------------------------------------------------------------------

_BASELINE_OBS = [
    (-12, "platelets", 210, "10^9/L"),
    (-10, "platelets", 200, "10^9/L"),  # first day inside [-10, 0)
    (-6, "platelets", 190, "10^9/L"),
    (-5, "platelets", 180, "10^9/L"),  # LD start day (when ld_start = -5)
    (-2, "platelets", 120, "10^9/L"),
    (-0.1, "platelets", 110, "10^9/L"),
    (0, "platelets", 100, "10^9/L"),  # infusion day: not a baseline
]


def test_baseline_is_the_last_value_before_day_0_without_ld_date() -> None:
    """Without an LD date: the last value in [day -10, day 0) (docs/decisions.md Timeline)."""
    course = make_course(_BASELINE_OBS)
    assert baseline_value(course, Analyte.PLATELETS, BaselineSettings()) == (-0.1, 110.0)


def test_baseline_is_before_ld_start_when_known() -> None:
    """With LD starting day -5, the baseline is the last value before day -5 (decisions, Timeline).

    The implementation's window is [-lookback, min(0, LD start)), so a value on the LD start day
    itself (day -5.0) is not a baseline.
    """
    course = make_course(_BASELINE_OBS, ld_start=-5)
    assert baseline_value(course, Analyte.PLATELETS, BaselineSettings()) == (-6.0, 190.0)


def test_baseline_ld_start_given_as_a_date() -> None:
    course = make_course(
        [("2024-03-13", "anc", 3.0, "10^9/L"), ("2024-03-17", "anc", 1.0, "10^9/L")],
        infusion_date=INFUSION,
        ld_start="2024-03-15",  # day -5
    )
    assert baseline_value(course, Analyte.ANC, BaselineSettings()) == (-7.0, 3.0)


def test_baseline_lookback_is_inclusive_at_minus_lookback() -> None:
    """Day -10 is inside the window [day -10, day 0); day -12 is not."""
    course = make_course(_BASELINE_OBS[:2] + _BASELINE_OBS[-1:])
    assert baseline_value(course, Analyte.PLATELETS, BaselineSettings()) == (-10.0, 200.0)
    narrower = BaselineSettings(lookback_days=9)
    assert baseline_value(course, Analyte.PLATELETS, narrower) is None


def test_no_baseline_when_nothing_in_the_window() -> None:
    course = make_course([(-30, "hb", 11, "g/dL"), (1, "hb", 9, "g/dL")])
    assert baseline_value(course, Analyte.HB, BaselineSettings()) is None
    assert baseline_value(course, Analyte.CRP, BaselineSettings()) is None


def test_baseline_ld_start_after_infusion_is_ignored() -> None:
    """A (nonsensical) LD start after day 0 never moves the window past day 0."""
    course = make_course([(-1, "anc", 2.0, "10^9/L"), (0.5, "anc", 1.0, "10^9/L")], ld_start=3)
    assert baseline_value(course, Analyte.ANC, BaselineSettings()) == (-1.0, 2.0)


# --- end of follow-up -------------------------------------------------------------------------


def test_follow_up_end_defaults_to_as_of() -> None:
    assert follow_up_end(make_course(), 45) == (45, "as-of")


@pytest.mark.parametrize(
    ("event", "day", "reason"),
    [
        ({"kind": "death", "start": 40.5}, 40, "death"),
        ({"kind": "disease_status", "start": 35, "status": "pd"}, 35, "progression"),
        ({"kind": "disease_status", "start": 36, "status": "relapse"}, 36, "progression"),
        ({"kind": "next_therapy", "start": 50, "name": "glofitamab"}, 50, "next therapy"),
        ({"kind": "last_follow_up", "start": 33}, 33, "last follow-up"),
    ],
)
def test_follow_up_end_censoring_events(event: dict[str, Any], day: int, reason: str) -> None:
    """Each censoring event ends follow-up before the as-of day (docs/evidence.md 3)."""
    assert follow_up_end(make_course(events=[event]), 60) == (day, reason)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"kind": "death", "start": 20.5}, "death"),
        ({"kind": "disease_status", "start": 20, "status": "relapse"}, "progression"),
        ({"kind": "next_therapy", "start": 20, "name": "glofitamab"}, "next therapy"),
        ({"kind": "last_follow_up", "start": 20}, "last follow-up"),
    ],
)
def test_follow_up_end_tie_with_the_as_of_day_goes_to_the_event(
    event: dict[str, Any], reason: str
) -> None:
    """docs/decisions.md, Grading ("Ties at a window's end go to the event"): death,
    relapse, next therapy (or last follow-up) on the as-of day closes the window by that event,
    never "as-of" (the old code said "as-of")."""
    assert follow_up_end(make_course(events=[event]), 20) == (20, reason)


def test_follow_up_end_is_the_earliest_candidate() -> None:
    course = make_course(
        events=[
            {"kind": "next_therapy", "start": 70},
            {"kind": "disease_status", "start": 55, "status": "relapse"},
            {"kind": "death", "start": 80},
            {"kind": "last_follow_up", "start": 90},
        ]
    )
    assert follow_up_end(course, 100) == (55, "progression")
    assert follow_up_end(course, 50) == (50, "as-of")


def test_follow_up_end_ignores_response_statuses() -> None:
    """CR/PR/SD are not censoring events; only progression or relapse are."""
    course = make_course(
        events=[
            {"kind": "disease_status", "start": 30, "status": "cr"},
            {"kind": "disease_status", "start": 31, "status": "pr"},
            {"kind": "disease_status", "start": 32, "status": "sd"},
        ]
    )
    assert follow_up_end(course, 60) == (60, "as-of")


def test_follow_up_end_ignores_pre_infusion_progression_and_bridging() -> None:
    """Progression before infusion (the reason for CAR-T) and bridging therapy do not censor."""
    course = make_course(
        events=[
            {"kind": "disease_status", "start": -20, "status": "pd"},
            {"kind": "next_therapy", "start": -15, "name": "bridging R-GemOx"},
        ]
    )
    assert follow_up_end(course, 45) == (45, "as-of")


def test_follow_up_end_uses_the_latest_last_follow_up() -> None:
    """Several last-follow-up records: the latest one is the last follow-up."""
    course = make_course(
        events=[{"kind": "last_follow_up", "start": 20}, {"kind": "last_follow_up", "start": 40}]
    )
    assert follow_up_end(course, 60) == (40, "last follow-up")


def test_follow_up_end_uses_calendar_days() -> None:
    course = make_course(
        events=[{"kind": "death", "start": "2024-04-30T23:00:00"}], infusion_date=INFUSION
    )
    assert follow_up_end(course, 60) == (41, "death")
