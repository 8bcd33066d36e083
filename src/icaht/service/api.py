"""REST API under ``/api/v1``: patients, their assessment and replay, the rule catalogue and
profiles, and the admin's user management. Every read or change of a patient is audited (a
refused one too); every assessment shown is recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht import __version__
from icaht.core.assessment import Assessment, assess
from icaht.core.course import Course
from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import MAX_DAY_RANGE, Event
from icaht.core.replay import Replay, replay
from icaht.core.timeline import calendar_day
from icaht.knowledge.profile import Profile
from icaht.report.catalogue import catalogue_json
from icaht.service.auth import AuditedRoute, Caller, allow, audited, caller, database
from icaht.service.problems import PROBLEM_RESPONSES
from icaht.service.research import router as research_router
from icaht.service.settings import named_profile, profile_in_force, profile_names
from icaht.service.turns import assessment_turn
from icaht.service.versioned_cache import VersionedCache
from icaht.store.audit import assessment_shown
from icaht.store.database import current_revision
from icaht.store.patients import (
    DeletedPatientError,
    add_to_patient,
    correct_event,
    correct_observation,
    import_records,
    list_events,
    list_observations,
    load_course,
    load_record,
    restore_patient,
    update_facts,
)
from icaht.store.tables import Patient
from icaht.store.users import Role, UnknownUserError, set_disabled, set_role
from icaht.store.versions import data_versions

#: A patient id in a path: the record's patient_id rules (1-128 characters, no NUL).
PatientKey = Annotated[str, PathParam(min_length=1, max_length=128, pattern="^[^\\x00]+$")]
#: A day query parameter: within the documented range of days (``MAX_DAY_RANGE``, the longest
#: span one request reads or replays, and the reach of listings either side of day 0).
DayQuery = Query(ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, route_class=AuditedRoute)
Clinical = Annotated[Caller, Depends(allow("clinician"))]
Admin = Annotated[Caller, Depends(allow("admin"))]
Anyone = Annotated[Caller, Depends(caller)]
Db = Annotated[Session, Depends(database)]


class ImportResult(BaseModel):
    patients_created: int
    patients_updated: int
    observations_added: int
    observations_present: int
    events_added: int
    events_present: int


class PatientSummary(BaseModel):
    patient_id: str
    product: str | None
    day: int | None
    jain_phase: str | None
    current_ctcae: dict[str, int | None]
    early_icaht: int | None
    early_ticaht: int | None
    open_recommendations: int
    last_lab_day: float | None


def _profile(request: Request, name: str | None) -> Profile:
    """The named (shipped or admin-registered) profile, or the one the server runs with
    (``ICAHT_PROFILE``)."""
    return named_profile(request, name) if name else profile_in_force(request)


ProfileQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="A shipped or admin-registered profile name (GET /profiles); never a path.",
    ),
]


@dataclass(frozen=True, slots=True)
class _Shown:
    """A cached assessment: its JSON and what the audit records of it."""

    as_of_day: int
    profile: tuple[str, str]
    icaht_version: str
    rule_ids: tuple[str, ...]
    body: str


def _assessment(
    request: Request, db: Session, key: str, as_of: int | None, profile: Profile
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
        a = assess(_course(db, key), None if as_of is None else float(as_of), profile)
        shown = _Shown(
            a.as_of_day,
            (a.profile_name, a.profile_version),
            a.icaht_version,
            tuple(r.rule_id for r in a.recommendations),
            a.model_dump_json(),
        )
        cache.put(entry, shown)
    return shown


def _course(session: Session, key: str) -> Course:
    found = load_course(session, key)
    if found is None:
        raise HTTPException(404, f"no patient {key!r}")
    return found


def _record(session: Session, key: str) -> PatientRecord:
    found = load_record(session, key)
    if found is None:
        raise HTTPException(404, f"no patient {key!r}")
    return found


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness and the database schema revision (no sign-in needed)."""
    revision = current_revision(request.app.state.engine)
    return {"status": "ok", "icaht": __version__, "schema": revision}


def _summary(course: Course, profile: Profile) -> PatientSummary:
    a = assess(course, None, profile)
    last = course.last_data_day()
    return PatientSummary(
        patient_id=course.facts.patient_id,
        product=course.facts.product,
        day=None if last is None else calendar_day(last),
        jain_phase=a.jain_phase,
        current_ctcae={s.lineage: s.latest_ctcae for s in a.lineages[:3]},
        early_icaht=a.early_icaht.grade,
        early_ticaht=a.early_ticaht.grade,
        open_recommendations=len(a.recommendations),
        last_lab_day=max((float(s.day[-1]) for s in course.labs.values() if len(s)), default=None),
    )


@router.get("/patients")
def list_patients(request: Request, who: Clinical, db: Db) -> list[PatientSummary]:
    """Every patient with today's picture (as of the latest data; cached per data version)."""
    profile = _profile(request, None)
    cache: VersionedCache[PatientSummary] = request.app.state.summaries
    out = []
    versions = data_versions(db)
    for key, version in versions.items():
        entry = (key, version, profile.name, profile.version)
        summary = cache.get(entry)
        if summary is None:
            summary = _summary(_course(db, key), profile)
            cache.put(entry, summary)
        out.append(summary)
    audited(db, who, "list-patients", detail={"count": len(out), "patient_keys": list(versions)})
    return out


@router.post("/patients", status_code=201, responses={409: {"description": "Patient deleted"}})
def add_patient(record: PatientRecord, who: Clinical, db: Db) -> ImportResult:
    """Add a patient, or merge into a stored one (idempotent: the same record twice adds
    nothing).

    Merge: the observations and events not stored yet are added; the facts sent replace the
    stored ones (``null`` clears one) and facts not sent are kept (``PUT`` replaces them all).
    A new infusion date re-dates every stored row; a fact change is audited with its old and
    new values. A patient an admin deleted is refused with 409 until an admin restores it."""
    try:
        report = import_records(db, [record], "request body", actor=who.username, remote=who.remote)
    except DeletedPatientError as exc:
        raise HTTPException(409, exc.problems[0].message) from None
    audited(
        db,
        who,
        "import",
        patient_key=record.patient.patient_id,
        detail={
            "observations_added": report.observations_added,
            "events_added": report.events_added,
        },
    )
    return ImportResult(**asdict(report))


@router.get("/patients/{patient_id}")
def read_patient(patient_id: PatientKey, who: Clinical, db: Db) -> PatientRecord:
    """The stored record."""
    record = _record(db, patient_id)
    audited(db, who, "read", patient_key=patient_id)
    return record


@router.put("/patients/{patient_id}")
def update_patient(
    patient_id: PatientKey, facts: PatientFacts, who: Clinical, db: Db
) -> dict[str, bool]:
    """Replace all the patient's facts (same patient_id): a fact not sent becomes unknown
    (``POST /patients`` merges instead). Stored labs and events are re-dated when the infusion
    date changes (an ISO-dated value needs the infusion date) and nothing changes on any
    problem; the change is audited with its old and new values."""
    changed = update_facts(db, patient_id, facts, actor=who.username, remote=who.remote)
    audited(db, who, "update-patient", patient_key=patient_id, detail={"changed": changed})
    return {"changed": changed}


@router.delete("/patients/{patient_id}", status_code=204)
def delete_patient(patient_id: PatientKey, who: Admin, db: Db) -> Response:
    """Soft delete (admin only, audited): the patient stays deleted, a re-post is refused with
    409, until an admin restores it."""
    patient = db.scalars(
        select(Patient).where(Patient.patient_key == patient_id, Patient.deleted_at.is_(None))
    ).one_or_none()
    if patient is None:
        raise HTTPException(404, f"no patient {patient_id!r}")
    patient.deleted_at = datetime.now(UTC)
    audited(db, who, "delete", patient_key=patient_id)
    return Response(status_code=204)


@router.post("/patients/{patient_id}/restore", status_code=204)
def restore(patient_id: PatientKey, who: Admin, db: Db) -> Response:
    """Restore a deleted patient with its rows (admin only, audited); 404 unless deleted."""
    restore_patient(db, patient_id)
    audited(db, who, "restore", patient_key=patient_id)
    return Response(status_code=204)


@router.get("/patients/{patient_id}/assessment", response_model=Assessment)
def patient_assessment(
    request: Request,
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    as_of: Annotated[
        int | None,
        Query(
            ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE, description="Day after infusion; default latest"
        ),
    ] = None,
    profile: ProfileQuery = None,
) -> Response:
    """The assessment as of a day (no look-ahead)."""
    chosen = _profile(request, profile)
    with assessment_turn:
        shown = _assessment(request, db, patient_id, as_of, chosen)
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
    chosen = _profile(request, profile)
    course = _course(db, patient_id)
    end = last
    if end is None:
        latest = course.last_data_day()
        end = 0 if latest is None else calendar_day(latest)
    if end < first or end - first > MAX_DAY_RANGE:
        raise HTTPException(422, "'to' must be on or after 'from', at most 10 years later")
    audited(db, who, "replay", patient_key=patient_id)
    body = replay(course, first, end, chosen).model_dump_json()
    return Response(body, media_type="application/json")  # declared as response_model


class ObservationOut(BaseModel):
    id: int
    day: float
    observation: Observation
    superseded_by: int | None


class Additions(BaseModel):
    """Observations and/or events to add to a patient."""

    observations: list[Observation] = []
    events: list[Event] = []


@router.post("/patients/{patient_id}/data", status_code=201)
def add_data(patient_id: PatientKey, body: Additions, who: Clinical, db: Db) -> ImportResult:
    """Add observations and events (one or many; the same data twice adds nothing)."""
    report = add_to_patient(db, patient_id, body.observations, body.events)
    audited(
        db,
        who,
        "add-data",
        patient_key=patient_id,
        detail={
            "observations_added": report.observations_added,
            "events_added": report.events_added,
        },
    )
    return ImportResult(**asdict(report))


@router.get("/patients/{patient_id}/observations")
def observations(
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    first: Annotated[float, Query(alias="from", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)] = (
        -MAX_DAY_RANGE
    ),
    last: Annotated[float, Query(alias="to", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)] = MAX_DAY_RANGE,
    history: bool = False,
) -> list[ObservationOut]:
    """Observations in a day range; ``history=true`` includes corrected (superseded) rows."""
    rows = list_observations(db, patient_id, first, last, history)
    audited(db, who, "list-observations", patient_key=patient_id)
    return [
        ObservationOut(id=r.id, day=r.day, observation=r.observation, superseded_by=r.superseded_by)
        for r in rows
    ]


@router.put("/patients/{patient_id}/observations/{observation_id}")
def correct(
    patient_id: PatientKey, observation_id: int, corrected: Observation, who: Clinical, db: Db
) -> dict[str, int]:
    """Correct an observation: the old value is kept as history, superseded by the new one."""
    new_id = correct_observation(db, patient_id, observation_id, corrected)
    audited(
        db,
        who,
        "correct-observation",
        patient_key=patient_id,
        detail={"old": observation_id, "new": new_id},
    )
    return {"id": new_id, "supersedes": observation_id}


class EventOut(BaseModel):
    id: int
    day: float
    event: Event
    superseded_by: int | None


@router.get("/patients/{patient_id}/events")
def events(
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    first: Annotated[float, Query(alias="from", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)] = (
        -MAX_DAY_RANGE
    ),
    last: Annotated[float, Query(alias="to", ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE)] = MAX_DAY_RANGE,
    history: bool = False,
) -> list[EventOut]:
    """Events starting in a day range; ``history=true`` includes corrected (superseded) rows."""
    rows = list_events(db, patient_id, first, last, history)
    audited(db, who, "list-events", patient_key=patient_id)
    return [
        EventOut(id=r.id, day=r.day, event=r.event, superseded_by=r.superseded_by) for r in rows
    ]


@router.put("/patients/{patient_id}/events/{event_id}")
def correct_an_event(
    patient_id: PatientKey, event_id: int, corrected: Event, who: Clinical, db: Db
) -> dict[str, int]:
    """Correct an event: the old one is kept as history, superseded by the new one."""
    new_id = correct_event(db, patient_id, event_id, corrected)
    audited(
        db, who, "correct-event", patient_key=patient_id, detail={"old": event_id, "new": new_id}
    )
    return {"id": new_id, "supersedes": event_id}


@router.get("/rules")
def rules(request: Request, _: Anyone, profile: ProfileQuery = None) -> dict[str, Any]:
    """The rule catalogue with the profile's values of the settings each rule uses."""
    loaded: dict[str, Any] = json.loads(catalogue_json(_profile(request, profile)))
    return loaded


@router.get("/profiles")
def profiles(request: Request, _: Anyone) -> list[str]:
    """The profile names a request may use: shipped and admin-registered."""
    return profile_names(request)


@router.get("/profiles/{name}")
def profile_detail(
    request: Request, name: Annotated[str, PathParam(max_length=64)], _: Anyone
) -> Profile:
    """A shipped or admin-registered profile's settings."""
    if name not in profile_names(request):
        raise HTTPException(404, "no such profile")
    return named_profile(request, name)


class RoleChange(BaseModel):
    role: Role


Username = Annotated[str, PathParam(min_length=1, max_length=128)]
_T = TypeVar("_T")


def _known_user(change: Callable[[], _T]) -> _T:
    """A change of a user; 404 when there is no such user."""
    try:
        return change()
    except UnknownUserError:
        raise HTTPException(404, "no such user") from None


@router.post("/users/{username}/disable", status_code=204)
def disable_user(username: Username, who: Admin, db: Db) -> Response:
    """Disable a user (admin only, audited): their tokens and browser sessions stop working."""
    changed = _known_user(lambda: set_disabled(db, username, disabled=True))
    audited(db, who, "user-disable", detail={"user": username, "changed": changed})
    return Response(status_code=204)


@router.post("/users/{username}/enable", status_code=204)
def enable_user(username: Username, who: Admin, db: Db) -> Response:
    """Enable a disabled user again (admin only, audited)."""
    changed = _known_user(lambda: set_disabled(db, username, disabled=False))
    audited(db, who, "user-enable", detail={"user": username, "changed": changed})
    return Response(status_code=204)


@router.put("/users/{username}/role", status_code=204)
def change_role(username: Username, body: RoleChange, who: Admin, db: Db) -> Response:
    """Change a user's role (admin only, audited); it applies to the user's next request."""
    old = _known_user(lambda: set_role(db, username, body.role))
    audited(db, who, "user-role", detail={"user": username, "old": old, "new": body.role})
    return Response(status_code=204)


router.include_router(research_router)
