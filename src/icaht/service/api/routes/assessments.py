"""A patient's assessment as of a day and its day-by-day replay. Every assessment shown is
recorded (``store.audit.assessment_shown``) and cached per data version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from icaht.core.assessment import Assessment, assess
from icaht.core.record import MAX_DAY_RANGE
from icaht.core.replay import Replay, replay
from icaht.core.timeline import calendar_day
from icaht.knowledge.profile import Profile
from icaht.service.api.deps import (
    AsOfQuery,
    Clinical,
    Db,
    PatientKey,
    ProfileQuery,
    api_router,
    as_of_day,
    chosen_profile,
    parse_as_of,
    stored_course,
)
from icaht.service.auth import audited
from icaht.service.turns import assessment_turn
from icaht.service.versioned_cache import VersionedCache
from icaht.store.audit import assessment_shown
from icaht.store.versions import data_versions

router = api_router()


@dataclass(frozen=True, slots=True)
class _Shown:
    """A cached assessment: its JSON and what the audit records of it."""

    as_of_day: int
    profile: tuple[str, str]
    icaht_version: str
    rule_ids: tuple[str, ...]
    body: str


def _assessment(
    request: Request, db: Session, key: str, as_of: int | date | None, profile: Profile
) -> _Shown:
    """The assessment of a stored patient, from the per-process cache while its data version is
    unchanged (``store.versions``), else computed and cached."""
    version = data_versions(db, [key]).get(key)
    if version is None:
        raise HTTPException(404, f"no patient {key!r}")
    cache: VersionedCache[_Shown] = request.app.state.assessments
    entry = (key, version, as_of, profile.name, profile.version)
    shown = cache.get(entry)
    if shown is None:
        course = stored_course(db, key)
        a = assess(course, as_of_day(course, as_of), profile)
        shown = _Shown(
            a.as_of_day,
            (a.profile_name, a.profile_version),
            a.icaht_version,
            tuple(r.rule_id for r in a.recommendations),
            a.model_dump_json(),
        )
        cache.put(entry, shown)
    return shown


@router.get("/patients/{patient_id}/assessment", response_model=Assessment)
def patient_assessment(
    request: Request,
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    as_of: AsOfQuery = None,
    profile: ProfileQuery = None,
) -> Response:
    """The assessment as of a day (no look-ahead)."""
    chosen = chosen_profile(request, profile)
    moment = parse_as_of(as_of)
    with assessment_turn:
        shown = _assessment(request, db, patient_id, moment, chosen)
        assessment_shown(
            db,
            actor=who.username,
            patient_key=patient_id,
            as_of_day=shown.as_of_day,
            profile=shown.profile,
            icaht_version=shown.icaht_version,
            rule_ids=list(shown.rule_ids),
        )
        detail = {"as_of_day": shown.as_of_day}
        audited(db, who, "assessment", patient_key=patient_id, detail=detail)
    return Response(shown.body, media_type="application/json")


@router.get("/patients/{patient_id}/replay", response_model=Replay)
def patient_replay(
    request: Request,
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    first: Annotated[int, Query(alias="from", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)] = 0,
    last: Annotated[int | None, Query(alias="to", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)] = None,
    profile: ProfileQuery = None,
) -> Response:
    """Day by day, the recommendations that appeared, changed and disappeared."""
    chosen = chosen_profile(request, profile)
    course = stored_course(db, patient_id)
    end = last
    if end is None:
        latest = course.last_data_day()
        end = 0 if latest is None else calendar_day(latest)
    if end < first or end - first > MAX_DAY_RANGE:
        raise HTTPException(422, "'to' must be on or after 'from', at most 10 years later")
    audited(db, who, "replay", patient_key=patient_id)
    body = replay(course, first, end, chosen).model_dump_json()
    return Response(body, media_type="application/json")  # declared as response_model
