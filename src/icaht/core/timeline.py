"""Timeline: day relative to infusion, Jain phase, ICAHT window, baseline, end of follow-up.

References: Jain et al., Blood 2023 (phases); Rejeski et al., Blood 2023 (ICAHT windows);
docs/decisions.md (Timeline; baseline selection; censoring of the ICAHT windows).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Literal

from icaht.core.course import Course, Series, day_of, to_day
from icaht.core.record import Death as DeathEvent
from icaht.core.record import DiseaseStatus, LastFollowUp, Moment, NextTherapy
from icaht.errors import InputError, Problem
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile.grading import BaselineSettings
from icaht.knowledge.timeline_criteria import (
    ICAHT_EARLY_LAST_DAY,
    JAIN_PROLONGED_FIRST_DAY,
    JAIN_PROLONGED_LAST_DAY,
)

JainPhase = Literal["pre-infusion", "early", "prolonged", "late"]
IcahtWindow = Literal["pre-infusion", "early", "late"]


def calendar_day(day: float) -> int:
    """The calendar day (0 = infusion day) containing a fractional day."""
    return math.floor(day)


def jain_phase(day: int) -> JainPhase:
    """Jain phase of a calendar day: early < 30, prolonged 30-90, late > 90 (JAIN L1, L3)."""
    if day < 0:
        return "pre-infusion"
    if day < JAIN_PROLONGED_FIRST_DAY:
        return "early"
    if day <= JAIN_PROLONGED_LAST_DAY:
        return "prolonged"
    return "late"


def icaht_window(day: int) -> IcahtWindow:
    """ICAHT window of a calendar day: early = day 0-30, late = day >= 31 (ICAHT abstract)."""
    if day < 0:
        return "pre-infusion"
    return "early" if day <= ICAHT_EARLY_LAST_DAY else "late"


def as_of_cut(as_of: Moment | None, course: Course, infusion: date | None) -> float:
    """The exclusive time bound for an as-of moment.

    A day number or a date means "at the end of that calendar day" (everything measured that day
    is known); a datetime is exact. ``None`` means the latest day with any data. A date without
    the patient's infusion date is an :class:`InputError` naming the as-of value.
    """
    if as_of is None:
        last = course.last_data_day()
        return float(calendar_day(last) + 1) if last is not None else 1.0
    if isinstance(as_of, date) and infusion is None:
        message = "a date is given but the patient has no infusion_date to count days from"
        raise InputError([Problem("as-of", message, value=as_of.isoformat())])
    if isinstance(as_of, datetime):
        return to_day(as_of, infusion)
    return float(calendar_day(to_day(as_of, infusion)) + 1)


def baseline_value(
    course: Course, analyte: Analyte, settings: BaselineSettings
) -> tuple[float, float] | None:
    """Pre-infusion baseline (day, value): the last value in [day -lookback, day 0), and before
    lymphodepletion starts when its date is known (docs/decisions.md, Timeline)."""
    stop = 0.0 if course.ld_start_day is None else min(0.0, course.ld_start_day)
    window: Series = course.series(analyte).between(-float(settings.lookback_days), stop)
    if not len(window):
        return None
    return float(window.day[-1]), float(window.value[-1])


def follow_up_end(course: Course, as_of_day: int) -> tuple[int, str]:
    """End of usable follow-up for grading: the earliest of the as-of day, death, relapse or
    progression, next line of therapy and last follow-up (LIANG-ICAHT; T-ICAHT footnote).
    Returns (calendar day, reason)."""
    candidates: list[tuple[int, str]] = [(as_of_day, "as-of")]
    for event in course.events:
        if isinstance(event, DeathEvent):
            candidates.append((calendar_day(day_of(event.start)), "death"))
        elif isinstance(event, DiseaseStatus) and event.status in ("pd", "relapse"):
            candidates.append((calendar_day(day_of(event.start)), "progression"))
        elif isinstance(event, NextTherapy):
            candidates.append((calendar_day(day_of(event.start)), "next therapy"))
    follow_ups = [calendar_day(day_of(e.start)) for e in course.of_kind(LastFollowUp)]
    if follow_ups:
        candidates.append((max(follow_ups), "last follow-up"))
    positive = [c for c in candidates if c[0] >= 0] or candidates
    # A tie with the as-of day goes to the event (docs/decisions.md, Grading: ties at a
    # window's end go to the event).
    return min(positive, key=lambda c: (c[0], c[1] == "as-of"))
