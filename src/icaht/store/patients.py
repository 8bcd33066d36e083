"""Importing patients into the database: transactional and idempotent.

An import validates every record first (structure, units, times) and writes nothing if any
problem is found. Rows carry a content hash, so importing the same data twice adds nothing.
Importing a known patient merges its facts: the facts sent replace the stored ones (``null``
clears one), facts not sent are kept (:mod:`icaht.store.facts`). A patient an admin deleted
stays deleted until an admin restores it (:func:`restore_patient`). Reading back
(:mod:`icaht.store.reading`) gives the same PatientRecord, so an assessment from the database
equals one from the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Event
from icaht.errors import Problem
from icaht.store.facts import SYSTEM_ACTOR, apply_facts, facts_dict, merged_facts
from icaht.store.inserts import insert_or_skip
from icaht.store.lookup import (
    DeletedPatientError,
    NotFoundError,
    current_patient,
    existing_patient,
    required_patient,
)
from icaht.store.rows import event_rows, observation_rows
from icaht.store.tables import EventRow, ObservationRow, Patient
from icaht.store.validation import single_record, validate_records


@dataclass(frozen=True, slots=True)
class ImportChanges:
    """What an import changed in the database (rows added or already present, patients created
    or updated); not the FHIR mapping report (:class:`icaht.io.fhir.import_report.ImportReport`)."""

    patients_created: int = 0
    patients_updated: int = 0
    observations_added: int = 0
    observations_present: int = 0
    events_added: int = 0
    events_present: int = 0


def _create_patient(session: Session, facts: PatientFacts, now: datetime) -> Patient | None:
    """A new patient row, or None when a concurrent import created it first."""
    created = session.execute(
        insert_or_skip(session, Patient)
        .values(
            patient_key=facts.patient_id, facts=facts_dict(facts), created_at=now, updated_at=now
        )
        .returning(Patient.id)
    ).scalar_one_or_none()
    return None if created is None else session.get(Patient, created)


def _add_new(
    session: Session,
    table: type[ObservationRow] | type[EventRow],
    patient: Patient,
    rows: list[dict[str, Any]],
) -> tuple[int, int]:
    """Insert the rows not already stored; (added, already present)."""
    existing = set(
        session.scalars(select(table.content_hash).where(table.patient_id == patient.id))
    )
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["content_hash"] not in existing:
            fresh.setdefault(row["content_hash"], row)
    if fresh:
        session.execute(insert_or_skip(session, table), list(fresh.values()))
    return len(fresh), len(rows) - len(fresh)


def _add_rows(
    session: Session, patient: Patient, record: PatientRecord, now: datetime
) -> dict[str, int]:
    """Store the record's rows not stored yet (validated with the patient's facts)."""
    obs_added, obs_present = _add_new(
        session, ObservationRow, patient, observation_rows(patient, record, now)
    )
    ev_added, ev_present = _add_new(session, EventRow, patient, event_rows(patient, record, now))
    return {
        "observations_added": obs_added,
        "observations_present": obs_present,
        "events_added": ev_added,
        "events_present": ev_present,
    }


def _merged_records(
    session: Session, records: Sequence[PatientRecord]
) -> list[tuple[Patient | None, PatientRecord]]:
    """Each record with its stored patient (None if new) and the facts merged into the stored
    ones; :class:`DeletedPatientError` for a patient an admin deleted."""
    merged: list[tuple[Patient | None, PatientRecord]] = []
    for record in records:
        patient = existing_patient(session, record.patient.patient_id)
        if patient is None:
            merged.append((None, record))
            continue
        if patient.deleted_at is not None:
            raise DeletedPatientError(patient.patient_key, patient.deleted_at)
        facts = merged_facts(patient.facts, record.patient)
        merged.append((patient, record.model_copy(update={"patient": facts})))
    return merged


def _import_one(
    session: Session,
    stored: Patient | None,
    record: PatientRecord,
    source: str,
    audit_as: tuple[str, str | None],
) -> dict[str, int]:
    """Store one validated, merged record; what it changed."""
    now = datetime.now(UTC)
    patient = stored or _create_patient(session, record.patient, now)
    if patient is None:  # created meanwhile by a concurrent import: merge into it
        ((patient, merged),) = _merged_records(session, [record])
        validate_records([merged], source)
        assert patient is not None
        return _import_one(session, patient, merged, source, audit_as)
    counts = {"patients_created": int(stored is None), "patients_updated": 0}
    if stored is not None and apply_facts(session, patient, record.patient, now, audit_as):
        counts["patients_updated"] = 1
    return counts | _add_rows(session, patient, record, now)


def import_records(
    session: Session,
    records: Sequence[PatientRecord],
    source: str,
    *,
    actor: str = SYSTEM_ACTOR,
    remote: str | None = None,
) -> ImportChanges:
    """Validate, then add the records in the session's transaction (the caller commits).

    A known patient's facts are merged (facts sent replace the stored ones, facts not sent are
    kept); a change is audited as ``actor`` (from ``remote``) with the old and new values, and a
    new infusion date re-dates every stored row. Raises :class:`InputError` with every problem,
    or :class:`DeletedPatientError`, before anything is written.
    """
    merged = _merged_records(session, records)
    validate_records([record for _, record in merged], source)
    counts = dict.fromkeys(asdict(ImportChanges()), 0)
    for stored, record in merged:
        for name, value in _import_one(session, stored, record, source, (actor, remote)).items():
            counts[name] += value
    return ImportChanges(**counts)


def add_to_patient(
    session: Session,
    patient_key: str,
    observations: Sequence[Observation] = (),
    events: Sequence[Event] = (),
) -> ImportChanges:
    """Add observations and events to a stored patient (validated with the patient's facts)."""
    patient = required_patient(session, patient_key)
    record = single_record(patient, list(observations), list(events))
    return ImportChanges(**_add_rows(session, patient, record, datetime.now(UTC)))


def deletion(session: Session, patient_keys: Iterable[str]) -> DeletedPatientError | None:
    """The deletion of the first (by key) of these patients an admin deleted, or None: what
    importing them would be refused with."""
    found = session.scalars(
        select(Patient)
        .where(Patient.patient_key.in_(set(patient_keys)), Patient.deleted_at.is_not(None))
        .order_by(Patient.patient_key)
        .limit(1)
    ).first()
    if found is None or found.deleted_at is None:
        return None
    return DeletedPatientError(found.patient_key, found.deleted_at)


def current_patient_keys(session: Session) -> list[str]:
    """The ids of the current (not deleted) patients, in the order they were stored."""
    return list(
        session.scalars(
            select(Patient.patient_key).where(Patient.deleted_at.is_(None)).order_by(Patient.id)
        )
    )


def soft_delete_patient(session: Session, patient_key: str) -> bool:
    """Mark a current patient deleted (the caller audits; rows are kept for a restore); False
    when there is no such current patient."""
    patient = current_patient(session, patient_key)
    if patient is None:
        return False
    patient.deleted_at = datetime.now(UTC)
    return True


def restore_patient(session: Session, patient_key: str) -> None:
    """Undo an admin's delete (the caller audits); NotFoundError unless the patient is deleted."""
    patient = existing_patient(session, patient_key)
    if patient is None or patient.deleted_at is None:
        raise NotFoundError([Problem("database", "no deleted patient", value=patient_key)])
    patient.deleted_at, patient.updated_at = None, datetime.now(UTC)
