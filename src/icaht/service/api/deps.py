"""What the API routes share: the caller and database dependencies, the path and query
parameters of the API's vocabulary (patient id, day range, profile), and the lookups that turn a
path's patient id into the stored course or record (404 when there is none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from icaht.core.course import Course
from icaht.core.patient_record import PatientRecord
from icaht.core.record import MAX_DAY_RANGE
from icaht.knowledge.profile import Profile
from icaht.service.auth import AuditedRoute, Caller, allow, caller, database
from icaht.service.settings import named_profile, profile_in_force
from icaht.store.reading import load_course, load_record

#: A patient id in a path: the record's patient_id rules (1-128 characters, no NUL).
PatientKey = Annotated[str, PathParam(min_length=1, max_length=128, pattern="^[^\\x00]+$")]
#: A user name in a path.
Username = Annotated[str, PathParam(min_length=1, max_length=128)]

Clinical = Annotated[Caller, Depends(allow("clinician"))]
Admin = Annotated[Caller, Depends(allow("admin"))]
Researcher = Annotated[Caller, Depends(allow("researcher"))]
Anyone = Annotated[Caller, Depends(caller)]
Db = Annotated[Session, Depends(database)]


def api_router(prefix: str = "") -> APIRouter:
    """A router of the API: its routes audit their 401/403/404 answers on a patient's path
    (:class:`icaht.service.auth.AuditedRoute`)."""
    return APIRouter(prefix=prefix, route_class=AuditedRoute)


ProfileQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="A shipped or admin-registered profile name (GET /profiles); never a path.",
    ),
]


#: A day query parameter (``from``/``to`` of a listing or replay): within the documented range
#: (``MAX_DAY_RANGE``, the longest span one request reads or replays, and the reach of listings
#: either side of day 0).
FromDay = Annotated[float, Query(alias="from", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)]
ToDay = Annotated[float, Query(alias="to", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)]


@dataclass(frozen=True, slots=True)
class DayWindow:
    """A listing's ``from``/``to`` day range and whether corrected rows are included."""

    first: float
    last: float
    history: bool


def day_window(
    first: FromDay = -MAX_DAY_RANGE, last: ToDay = MAX_DAY_RANGE, history: bool = False
) -> DayWindow:
    """The listing window of a request (``?from&to&history``)."""
    return DayWindow(first, last, history)


Window = Annotated[DayWindow, Depends(day_window)]

#: ``as_of`` (the API's one as-of vocabulary, docs/architecture.md "As-of"): a day after
#: infusion or an ISO date; absent = the latest data.
AsOfQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description=(
            "As of a day after infusion (e.g. 60) or an ISO date (e.g. 2024-03-01), within "
            f"{MAX_DAY_RANGE} days of the infusion; default: the latest data."
        ),
        examples=["60", "2024-03-01"],
    ),
]


def parse_as_of(text: str | None) -> int | date | None:
    """The ``as_of`` query value: a whole day number within ``MAX_DAY_RANGE`` of day 0 or an ISO
    date (checked against the patient's infusion date by :func:`as_of_day`); 422 otherwise."""
    if text is None:
        return None
    try:
        day = int(text)
    except ValueError:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise HTTPException(
                422, f"as_of={text!r} is neither a day number nor an ISO date"
            ) from None
    _check_range(day, text)
    return day


def as_of_day(course: Course, as_of: int | date | None) -> float | None:
    """The as-of day of a parsed ``as_of`` for this patient (a date counts from the infusion
    date); 422 when a date is given without an infusion date or falls out of range."""
    if not isinstance(as_of, date):
        return None if as_of is None else float(as_of)
    infusion = course.facts.infusion_date
    if infusion is None:
        raise HTTPException(422, "as_of is a date but the patient has no infusion_date")
    day = (as_of - infusion).days
    _check_range(day, as_of.isoformat())
    return float(day)


def _check_range(day: int, text: str) -> None:
    if abs(day) > MAX_DAY_RANGE:
        raise HTTPException(
            422, f"as_of={text!r} is more than {MAX_DAY_RANGE} days from the infusion"
        )


def chosen_profile(request: Request, name: str | None) -> Profile:
    """The named (shipped or admin-registered) profile, or the one the server runs with
    (``ICAHT_PROFILE``)."""
    return named_profile(request, name) if name else profile_in_force(request)


def stored_course(session: Session, key: str) -> Course:
    """The stored patient's course; 404 when there is no such (current) patient."""
    found = load_course(session, key)
    if found is None:
        raise HTTPException(404, f"no patient {key!r}")
    return found


def stored_record(session: Session, key: str) -> PatientRecord:
    """The stored patient's record; 404 when there is no such (current) patient."""
    found = load_record(session, key)
    if found is None:
        raise HTTPException(404, f"no patient {key!r}")
    return found
