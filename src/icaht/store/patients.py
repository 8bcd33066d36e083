"""Patients in the database: transactional, idempotent import of records and reading them back.

An import validates every record first (structure, units, times) and writes nothing if any
problem is found. Rows carry a content hash, so importing the same data twice adds nothing; a
changed fact updates the patient. Reading back gives the same PatientRecord, so an assessment
from the database equals one from the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.course import Course, build_labs, canonical_events, course_from_record, to_day
from icaht.core.record import Event, Moment, Observation, PatientFacts, PatientRecord
from icaht.core.units import normalise_observations
from icaht.errors import InputError, Problem
from icaht.store.inserts import insert_or_skip
from icaht.store.tables import EventRow, ObservationRow, Patient

_EVENT = TypeAdapter(Event)
_MOMENT = TypeAdapter(Moment)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import changed."""

    patients_created: int = 0
    patients_updated: int = 0
    observations_added: int = 0
    observations_present: int = 0
    events_added: int = 0
    events_present: int = 0


def _hash(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _time_text(moment: Moment) -> str:
    return moment.isoformat() if isinstance(moment, date) else repr(float(moment))


def validate_records(records: Sequence[PatientRecord], source: str) -> None:
    """Every problem of every record (units, times, duplicate patients); raises InputError."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        where = source if len(records) == 1 else f"{source} (patient {i + 1})"
        try:
            course_from_record(record, source=where)
        except InputError as exc:
            problems += exc.problems
        key = record.patient.patient_id
        if key in seen:
            problems.append(Problem(where, "duplicate patient_id in the import", value=key))
        seen.add(key)
    if problems:
        raise InputError(problems)


def _upsert_patient(session: Session, record: PatientRecord, now: datetime) -> tuple[Patient, str]:
    """The patient row, created if new (safe against a concurrent import creating it too) or
    updated when its facts changed."""
    facts = record.patient.model_dump(mode="json", exclude_none=True)
    key = record.patient.patient_id
    created = session.execute(
        insert_or_skip(session, Patient)
        .values(patient_key=key, facts=facts, created_at=now, updated_at=now)
        .returning(Patient.id)
    ).scalar_one_or_none()
    patient = session.scalars(select(Patient).where(Patient.patient_key == key)).one()
    if created is not None:
        return patient, "created"
    if patient.facts != facts or patient.deleted_at is not None:
        patient.facts, patient.updated_at, patient.deleted_at = facts, now, None
        return patient, "updated"
    return patient, "unchanged"


def _observation_rows(
    patient: Patient, record: PatientRecord, now: datetime
) -> list[dict[str, Any]]:
    infusion = record.patient.infusion_date
    rows = []
    for obs in record.observations:
        data = obs.model_dump(mode="json", exclude_none=True)
        rows.append(
            {
                "patient_id": patient.id,
                "day": to_day(obs.time, infusion),
                "time_text": _time_text(obs.time),
                "analyte": obs.analyte,
                "loinc": obs.loinc,
                "value": obs.value,
                "unit": obs.unit,
                "lln": obs.lln,
                "uln": obs.uln,
                "content_hash": _hash(data),
                "recorded_at": now,
            }
        )
    return rows


def _event_rows(patient: Patient, record: PatientRecord, now: datetime) -> list[dict[str, Any]]:
    infusion = record.patient.infusion_date
    rows = []
    for ev in record.events:
        payload = ev.model_dump(mode="json", exclude_none=True)
        rows.append(
            {
                "patient_id": patient.id,
                "kind": ev.kind,
                "start_day": to_day(ev.start, infusion),
                "payload": payload,
                "content_hash": _hash(payload),
                "recorded_at": now,
            }
        )
    return rows


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


def import_records(session: Session, records: Sequence[PatientRecord], source: str) -> ImportReport:
    """Validate, then add the records in the session's transaction (the caller commits).

    Raises :class:`InputError` with every problem before anything is written.
    """
    validate_records(records, source)
    now = datetime.now(UTC)
    counts = dict.fromkeys(
        (
            "patients_created",
            "patients_updated",
            "observations_added",
            "observations_present",
            "events_added",
            "events_present",
        ),
        0,
    )
    for record in records:
        patient, change = _upsert_patient(session, record, now)
        if change != "unchanged":
            counts[f"patients_{change}"] += 1
        added, present = _add_new(
            session, ObservationRow, patient, _observation_rows(patient, record, now)
        )
        counts["observations_added"] += added
        counts["observations_present"] += present
        added, present = _add_new(session, EventRow, patient, _event_rows(patient, record, now))
        counts["events_added"] += added
        counts["events_present"] += present
    return ImportReport(**counts)


def _moment(text: str) -> Moment:
    try:
        return float(text)
    except ValueError:
        return _MOMENT.validate_python(text)


def _current_patient(session: Session, patient_key: str) -> Patient | None:
    """The patient row unless absent or soft-deleted."""
    return session.scalars(
        select(Patient).where(Patient.patient_key == patient_key, Patient.deleted_at.is_(None))
    ).one_or_none()


def _observation(row: ObservationRow) -> Observation:
    """An observation row as the recorded Observation."""
    return Observation(
        time=_moment(row.time_text),
        analyte=row.analyte,
        loinc=row.loinc,
        value=row.value,
        unit=row.unit,
        lln=row.lln,
        uln=row.uln,
    )


def load_record(session: Session, patient_key: str) -> PatientRecord | None:
    """The stored record of a patient (current rows only), or None when absent or deleted."""
    patient = _current_patient(session, patient_key)
    if patient is None:
        return None
    obs_rows = session.scalars(
        select(ObservationRow)
        .where(ObservationRow.patient_id == patient.id, ObservationRow.superseded_by.is_(None))
        .order_by(ObservationRow.day, ObservationRow.id)
    )
    observations = [_observation(row) for row in obs_rows]
    event_rows = session.scalars(
        select(EventRow)
        .where(EventRow.patient_id == patient.id, EventRow.superseded_by.is_(None))
        .order_by(EventRow.start_day, EventRow.id)
    )
    events = [_EVENT.validate_python(row.payload) for row in event_rows]
    return PatientRecord.model_validate(
        {"patient": patient.facts, "observations": observations, "events": events}
    )


class NotFoundError(InputError):
    """A patient or row that does not exist."""


def _patient(session: Session, patient_key: str) -> Patient:
    patient = _current_patient(session, patient_key)
    if patient is None:
        raise NotFoundError([Problem("database", "no such patient", value=patient_key)])
    return patient


def add_to_patient(
    session: Session,
    patient_key: str,
    observations: Sequence[Observation] = (),
    events: Sequence[Event] = (),
) -> ImportReport:
    """Add observations and events to a stored patient (validated with the patient's facts)."""
    facts = PatientFacts.model_validate(_patient(session, patient_key).facts)
    addition = PatientRecord(patient=facts, observations=list(observations), events=list(events))
    return import_records(session, [addition], "request body")


@dataclass(frozen=True, slots=True)
class StoredObservation:
    """An observation row with its id and correction state."""

    id: int
    day: float
    observation: Observation
    superseded_by: int | None


def list_observations(
    session: Session, patient_key: str, first_day: float, last_day: float, history: bool
) -> list[StoredObservation]:
    """Observations with first_day <= day <= last_day (current rows, or all with history)."""
    patient = _patient(session, patient_key)
    query = select(ObservationRow).where(
        ObservationRow.patient_id == patient.id,
        ObservationRow.day >= first_day,
        ObservationRow.day <= last_day,
    )
    if not history:
        query = query.where(ObservationRow.superseded_by.is_(None))
    rows = session.scalars(query.order_by(ObservationRow.day, ObservationRow.id))
    return [_stored_observation(row) for row in rows]


def _stored_observation(row: ObservationRow) -> StoredObservation:
    return StoredObservation(
        id=row.id, day=row.day, observation=_observation(row), superseded_by=row.superseded_by
    )


def find_observation(session: Session, patient_key: str, row_id: int) -> StoredObservation | None:
    """One observation row of a patient (current or corrected), or None when the patient has no
    row with this id; :class:`NotFoundError` when there is no such current patient."""
    patient = _patient(session, patient_key)
    row = session.get(ObservationRow, row_id)
    return None if row is None or row.patient_id != patient.id else _stored_observation(row)


def patient_facts(session: Session, patient_key: str) -> PatientFacts:
    """The facts of a current patient (:class:`NotFoundError` when there is none)."""
    return PatientFacts.model_validate(_patient(session, patient_key).facts)


def _stored_event(row: EventRow) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        day=row.start_day,
        event=_EVENT.validate_python(row.payload),
        superseded_by=row.superseded_by,
    )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row with its id and correction state."""

    id: int
    day: float
    event: Event
    superseded_by: int | None


def list_events(
    session: Session, patient_key: str, first_day: float, last_day: float, history: bool
) -> list[StoredEvent]:
    """Events starting on first_day <= day <= last_day (current rows, or all with history)."""
    patient = _patient(session, patient_key)
    query = select(EventRow).where(
        EventRow.patient_id == patient.id,
        EventRow.start_day >= first_day,
        EventRow.start_day <= last_day,
    )
    if not history:
        query = query.where(EventRow.superseded_by.is_(None))
    rows = session.scalars(query.order_by(EventRow.start_day, EventRow.id))
    return [_stored_event(row) for row in rows]


def _supersede(
    session: Session,
    patient: Patient,
    table: type[ObservationRow] | type[EventRow],
    row_id: int,
    row: dict[str, Any],
) -> int:
    """Store ``row`` as the correction of row ``row_id``; the old row stays, superseded."""
    old: ObservationRow | EventRow | None
    if table is ObservationRow:
        old, what = session.get(ObservationRow, row_id), "observation"
    else:
        old, what = session.get(EventRow, row_id), "event"
    if old is None or old.patient_id != patient.id:
        raise NotFoundError([Problem("database", f"no such {what}", value=row_id)])
    if old.superseded_by is not None:
        raise InputError(
            [Problem("database", f"already corrected by {old.superseded_by}", value=row_id)]
        )
    existing = session.scalars(
        select(table.id).where(
            table.patient_id == patient.id, table.content_hash == row["content_hash"]
        )
    ).one_or_none()
    if existing is not None:
        raise InputError(
            [Problem("database", f"the corrected {what} is already stored", value=existing)]
        )
    new: ObservationRow | EventRow = table(**row)
    session.add(new)
    session.flush()
    old.superseded_by = new.id
    return new.id


def _single(
    patient: Patient, observations: list[Observation], events: list[Event]
) -> PatientRecord:
    """A validated record of the patient's facts with the given rows only."""
    record = PatientRecord(
        patient=PatientFacts.model_validate(patient.facts),
        observations=observations,
        events=events,
    )
    validate_records([record], "request body")
    return record


def correct_observation(
    session: Session, patient_key: str, row_id: int, corrected: Observation
) -> int:
    """Replace an observation by a corrected one; the old row stays, marked superseded.
    Returns the id of the corrected row."""
    patient = _patient(session, patient_key)
    record = _single(patient, [corrected], [])
    (row,) = _observation_rows(patient, record, datetime.now(UTC))
    return _supersede(session, patient, ObservationRow, row_id, row)


def correct_event(session: Session, patient_key: str, row_id: int, corrected: Event) -> int:
    """Replace an event by a corrected one (e.g. a CRS grade revised); the old row stays, marked
    superseded. Returns the id of the corrected row."""
    patient = _patient(session, patient_key)
    record = _single(patient, [], [corrected])
    (row,) = _event_rows(patient, record, datetime.now(UTC))
    return _supersede(session, patient, EventRow, row_id, row)


def update_facts(session: Session, patient_key: str, facts: PatientFacts) -> bool:
    """Replace a patient's facts (the id cannot change); the stored rows are validated against
    the new facts (e.g. ISO times need the infusion date). True if anything changed."""
    if facts.patient_id != patient_key:
        raise InputError(
            [
                Problem(
                    "request body",
                    "patient_id differs from the patient being updated",
                    field="patient_id",
                    value=facts.patient_id,
                )
            ]
        )
    record = load_record(session, patient_key)
    if record is None:
        raise NotFoundError([Problem("database", "no such patient", value=patient_key)])
    updated = record.model_copy(update={"patient": facts})
    validate_records([updated], "request body")
    patient, change = _upsert_patient(session, updated, datetime.now(UTC))
    if change == "unchanged":
        return False
    infusion = facts.infusion_date
    for obs_row in session.scalars(
        select(ObservationRow).where(ObservationRow.patient_id == patient.id)
    ):
        obs_row.day = to_day(_moment(obs_row.time_text), infusion)
    for ev_row in session.scalars(select(EventRow).where(EventRow.patient_id == patient.id)):
        ev_row.start_day = to_day(_EVENT.validate_python(ev_row.payload).start, infusion)
    return True


def _floats(column: Sequence[float | None]) -> NDArray[np.float64]:
    """A column of numbers with NULL as NaN."""
    return np.array(column, dtype=np.float64)


def load_course(session: Session, patient_key: str) -> Course | None:
    """The stored patient as a canonical course, built column-wise from the rows (no
    per-observation objects): the fast path for assessing a stored patient. None when absent."""
    patient = _current_patient(session, patient_key)
    if patient is None:
        return None
    facts = PatientFacts.model_validate(patient.facts)
    rows = (
        session.connection()
        .execute(  # Core, not ORM: no per-row ORM bookkeeping
            select(
                ObservationRow.day,
                ObservationRow.analyte,
                ObservationRow.loinc,
                ObservationRow.value,
                ObservationRow.unit,
                ObservationRow.lln,
                ObservationRow.uln,
            ).where(ObservationRow.patient_id == patient.id, ObservationRow.superseded_by.is_(None))
        )
        .all()
    )
    day, analyte, loinc, value, unit, lln, uln = zip(*rows, strict=True) if rows else ((),) * 7
    pairs: dict[tuple[str | None, str | None], int] = {}
    units: dict[str, int] = {}
    a_idx = np.array(
        [pairs.setdefault(p, len(pairs)) for p in zip(analyte, loinc, strict=True)], np.int64
    )
    u_idx = np.array([units.setdefault(u, len(units)) for u in unit], np.int64)
    normalised = normalise_observations(
        [name for name, _ in pairs],
        [code for _, code in pairs],
        a_idx,
        list(units),
        u_idx,
        _floats(value),
        _floats(lln),
        _floats(uln),
    )
    if normalised.problems:  # stored rows were validated on import; a unit table change
        raise InputError(
            [
                Problem("database", p.message, field=p.field, value=p.value)
                for p in normalised.problems
            ]
        )
    payloads = session.scalars(
        select(EventRow.payload)
        .where(EventRow.patient_id == patient.id, EventRow.superseded_by.is_(None))
        .order_by(EventRow.start_day, EventRow.id)
    ).all()
    events, problems = canonical_events(
        [_EVENT.validate_python(p) for p in payloads], facts.infusion_date, "database"
    )
    if problems:
        raise InputError(problems)
    ld_start = None if facts.ld_start is None else to_day(facts.ld_start, facts.infusion_date)
    labs = build_labs(
        normalised.analyte_code,
        _floats(day),
        normalised.value,
        normalised.lln,
        normalised.uln,
        normalised.unit_code,
    )
    return Course(facts, labs, events, ld_start)
