"""Replay: the recommendations day by day, so a clinician can hold the system against what
happened. Each day is assessed as of that day (no look-ahead); a day lists the recommendations
that appeared, the ones whose action changed (e.g. the next titration step) and the ones that
disappeared since the day before.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from icaht.core.assessment import assess
from icaht.core.course import Course
from icaht.core.guidance import Recommendation
from icaht.knowledge.profile import Profile

_FROZEN = ConfigDict(frozen=True)


class Disappeared(BaseModel):
    """A recommendation active the day before and no longer fired."""

    model_config = _FROZEN
    rule_id: str
    title: str


class ReplayDay(BaseModel):
    """What changed on one day."""

    model_config = _FROZEN
    day: int
    appeared: list[Recommendation]
    changed: list[Recommendation]
    disappeared: list[Disappeared]
    active: list[str]


class Replay(BaseModel):
    """A patient's recommendations from ``first_day`` to ``last_day``; only days with a change."""

    model_config = _FROZEN
    patient_id: str
    profile_name: str
    profile_version: str
    first_day: int
    last_day: int
    days: list[ReplayDay]


def _differs(now: Recommendation, before: Recommendation) -> bool:
    """The same rule now says something else (another action or strength)."""
    return (now.action, now.strength) != (before.action, before.strength)


def replay(course: Course, first_day: int, last_day: int, profile: Profile) -> Replay:
    """Assess every day from ``first_day`` to ``last_day`` and keep the changes.

    The first day lists every recommendation active on it as "appeared".
    """
    previous: dict[str, Recommendation] = {}
    days: list[ReplayDay] = []
    for day in range(first_day, last_day + 1):
        current = {r.rule_id: r for r in assess(course, float(day), profile).recommendations}
        appeared = [r for rid, r in current.items() if rid not in previous]
        changed = [
            r
            for rid, r in current.items()
            if rid in previous
            and (r.action, r.strength) != (previous[rid].action, previous[rid].strength)
        ]
        gone = [
            Disappeared(rule_id=rid, title=r.title)
            for rid, r in previous.items()
            if rid not in current
        ]
        if appeared or changed or gone:
            days.append(
                ReplayDay(
                    day=day,
                    appeared=appeared,
                    changed=changed,
                    disappeared=gone,
                    active=list(current),
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
