"""Patients: the list with today's picture, add or merge, read, replace facts, soft delete and
restore. Every read or change is audited (a refused one too)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import HTTPException, Request, Response
from pydantic import BaseModel

from icaht.core.assessment import assess
from icaht.core.course import Course
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.timeline import calendar_day
from icaht.knowledge.profile import Profile
from icaht.service.api.deps import (
    Admin,
    Clinical,
    Db,
    PatientKey,
    api_router,
    chosen_profile,
    stored_course,
    stored_record,
)
from icaht.service.auth import audited
from icaht.service.versioned_cache import VersionedCache
from icaht.store.facts import update_facts
from icaht.store.lookup import DeletedPatientError
from icaht.store.patients import import_records, restore_patient, soft_delete_patient
from icaht.store.versions import data_versions

router = api_router()


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
    profile = chosen_profile(request, None)
    cache: VersionedCache[PatientSummary] = request.app.state.summaries
    out = []
    versions = data_versions(db)
    for key, version in versions.items():
        entry = (key, version, profile.name, profile.version)
        summary = cache.get(entry)
        if summary is None:
            summary = _summary(stored_course(db, key), profile)
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
    record = stored_record(db, patient_id)
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
    if not soft_delete_patient(db, patient_id):
        raise HTTPException(404, f"no patient {patient_id!r}")
    audited(db, who, "delete", patient_key=patient_id)
    return Response(status_code=204)


@router.post("/patients/{patient_id}/restore", status_code=204)
def restore(patient_id: PatientKey, who: Admin, db: Db) -> Response:
    """Restore a deleted patient with its rows (admin only, audited); 404 unless deleted."""
    restore_patient(db, patient_id)
    audited(db, who, "restore", patient_key=patient_id)
    return Response(status_code=204)
