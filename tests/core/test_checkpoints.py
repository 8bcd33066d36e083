"""The rules-only entry point (``recommendation_ids``) and the cohort row's checkpoints against
independent ``assess()`` calls, on a few hundred simulated patients.

``cohort_row`` assesses a patient once (as of its day) and evaluates only the rules as of day 30
and day 90; both must give exactly what a full assessment as of that day lists, and nothing
known after a checkpoint may reach it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from icaht.cohort.results import CHECKPOINT_DAYS, cohort_row, default_as_of_day
from icaht.core.assessment import assess, recommendation_ids
from icaht.core.course import Course, course_from_record
from icaht.core.record import Moment
from icaht.knowledge.profile import Profile, load_profile
from icaht.simulate import simulate_records

PATIENTS = 200
SEED = 5
PROFILES = ("seed-2023", "icaht-2023")


@pytest.fixture(scope="module")
def courses() -> list[Course]:
    return [course_from_record(r) for r in simulate_records(PATIENTS, SEED)]


@pytest.fixture(scope="module", params=PROFILES)
def profile(request: pytest.FixtureRequest) -> Profile:
    return load_profile(request.param)


def _assessed_ids(course: Course, as_of: Moment | None, profile: Profile) -> list[str]:
    return [r.rule_id for r in assess(course, as_of, profile).recommendations]


def _moments(course: Course) -> list[Moment | None]:
    """Checkpoints, the row's default day, phase edges, None (latest data) and, with an infusion
    date, a date and a datetime in the middle of a day."""
    moments: list[Moment | None] = [-2, 21, *CHECKPOINT_DAYS, 200, None, default_as_of_day(course)]
    infusion = course.facts.infusion_date
    if infusion is not None:
        moments.append(infusion + timedelta(days=45))
        moments.append(datetime.combine(infusion + timedelta(days=12), time(9, 30)))
    return moments


def test_the_simulated_patients_exercise_the_rules(courses: list[Course]) -> None:
    """Guard for the comparisons below: many rules fire at the checkpoints they compare and most
    patients pass both checkpoints. (Counted over both checkpoints: since a transfusion given
    after a low count answers its trigger, the simulated patients, transfused on the day of the
    count, no longer show the trigger cards on day 90.)"""
    profile = load_profile()
    fired = {
        rid
        for c in courses
        for day in CHECKPOINT_DAYS
        for rid in recommendation_ids(c, day, profile)
    }
    assert len(fired) >= 15
    assert sum(default_as_of_day(c) >= 90 for c in courses) >= PATIENTS // 2


def test_recommendation_ids_are_those_of_the_assessment(
    courses: list[Course], profile: Profile
) -> None:
    for course in courses:
        for moment in _moments(course):
            expected = _assessed_ids(course, moment, profile)
            assert recommendation_ids(course, moment, profile) == expected, (
                course.facts.patient_id,
                moment,
            )


def test_row_checkpoints_equal_independent_assessments(
    courses: list[Course], profile: Profile
) -> None:
    for course in courses:
        for as_of_day in (None, 60):
            row = cohort_row(course, as_of_day, profile)
            day = row["as_of_day"]
            main = assess(course, day, profile)
            assert row["recommendations"] == ";".join(r.rule_id for r in main.recommendations)
            assert row["not_evaluated"] == ";".join(r.rule_id for r in main.not_evaluated)
            for checkpoint in CHECKPOINT_DAYS:
                found = row[f"recommendations_day{checkpoint}"]
                if checkpoint > day:
                    assert found is None
                else:
                    assert found == ";".join(_assessed_ids(course, checkpoint, profile))


def test_checkpoints_see_nothing_after_their_day(courses: list[Course], profile: Profile) -> None:
    """Evaluating as of day d on the whole course equals evaluating on the course cut after d."""
    for course in courses[:40]:
        for day in CHECKPOINT_DAYS:
            cut = course.until(float(day + 1))
            assert recommendation_ids(course, day, profile) == recommendation_ids(cut, day, profile)
            assert assess(course, day, profile) == assess(cut, day, profile)
