"""Replay: the recommendations day by day, so a clinician can hold the system against what
happened. Each day is assessed as of that day (no look-ahead); a day lists the recommendations
that appeared, the ones that changed (e.g. the next titration step) and the ones that disappeared
since the day before, compared by episode (:mod:`icaht.core.changes`).
"""

from __future__ import annotations

from pydantic import BaseModel

from icaht.core.assessment import assess
from icaht.core.changes import changes
from icaht.core.course import Course
from icaht.core.frozen import FROZEN
from icaht.core.guidance import Recommendation
from icaht.knowledge.profile import Profile


class Disappeared(BaseModel):
    """A recommendation active the day before and no longer fired."""

    model_config = FROZEN
    rule_id: str
    title: str


class ReplayDay(BaseModel):
    """What changed on one day."""

    model_config = FROZEN
    day: int
    appeared: list[Recommendation]
    changed: list[Recommendation]
    disappeared: list[Disappeared]
    active: list[str]


class Replay(BaseModel):
    """A patient's recommendations from ``first_day`` to ``last_day``; only days with a change."""

    model_config = FROZEN
    patient_id: str
    profile_name: str
    profile_version: str
    first_day: int
    last_day: int
    days: list[ReplayDay]


def replay(course: Course, first_day: int, last_day: int, profile: Profile) -> Replay:
    """Assess every day from ``first_day`` to ``last_day`` and keep the changes
    (:func:`icaht.core.changes.changes` by episode: an episode that ends and begins again is
    listed as disappeared and appeared; another state of one decision, another action or
    strength, or a worse severity signature is changed).

    The first day lists every recommendation active on it as "appeared". Each day after the first
    continues the episodes of the day before (``assess(..., day_before=...)``).
    """
    previous: list[Recommendation] = []
    days: list[ReplayDay] = []
    for day in range(first_day, last_day + 1):
        current = assess(
            course, float(day), profile, day_before=previous if day > first_day else None
        ).recommendations
        diff = changes(previous, current)
        if diff.new or diff.changed or diff.resolved:
            days.append(
                ReplayDay(
                    day=day,
                    appeared=diff.new,
                    changed=diff.changed,
                    disappeared=[
                        Disappeared(rule_id=r.rule_id, title=r.title) for r in diff.resolved
                    ],
                    active=[r.rule_id for r in current],
                )
            )
        previous = current
    return Replay(
        patient_id=course.facts.patient_id,
        profile_name=profile.name,
        profile_version=profile.version,
        first_day=first_day,
        last_day=last_day,
        days=days,
    )
