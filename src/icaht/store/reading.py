"""Reading stored patients back: the record (the same PatientRecord as the file it came from),
the canonical course built column-wise, and the rows with their correction state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.course import Course, canonical_events, normalise_rows, normalised_labs, to_day
from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Event
from icaht.errors import InputError, Problem
from icaht.store.lookup import current_patient, required_patient
from icaht.store.rows import EVENT, row_observation
from icaht.store.tables import EventRow, ObservationRow


def load_record(session: Session, patient_key: str) -> PatientRecord | None:
    """The stored record of a patient (current rows only), or None when absent or deleted."""
    patient = current_patient(session, patient_key)
    if patient is None:
        return None
    obs_rows = session.scalars(
        select(ObservationRow)
        .where(ObservationRow.patient_id == patient.id, ObservationRow.superseded_by.is_(None))
        .order_by(ObservationRow.day, ObservationRow.id)
    )
    observations = [row_observation(row) for row in obs_rows]
    event_rows = session.scalars(
        select(EventRow)
        .where(EventRow.patient_id == patient.id, EventRow.superseded_by.is_(None))
        .order_by(EventRow.start_day, EventRow.id)
    )
    events = [EVENT.validate_python(row.payload) for row in event_rows]
    return PatientRecord.model_validate(
        {"patient": patient.facts, "observations": observations, "events": events}
    )


@dataclass(frozen=True, slots=True)
class StoredObservation:
    """An observation row with its id and correction state."""

    id: int
    day: float
    observation: Observation
    superseded_by: int | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row with its id and correction state."""

    id: int
    day: float
    event: Event
    superseded_by: int | None


def _stored_observation(row: ObservationRow) -> StoredObservation:
    return StoredObservation(
        id=row.id, day=row.day, observation=row_observation(row), superseded_by=row.superseded_by
    )


def _stored_event(row: EventRow) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        day=row.start_day,
        event=EVENT.validate_python(row.payload),
        superseded_by=row.superseded_by,
    )


def list_observations(
    session: Session, patient_key: str, first_day: float, last_day: float, history: bool
) -> list[StoredObservation]:
    """Observations with first_day <= day <= last_day (current rows, or all with history)."""
    patient = required_patient(session, patient_key)
    query = select(ObservationRow).where(
        ObservationRow.patient_id == patient.id,
        ObservationRow.day >= first_day,
        ObservationRow.day <= last_day,
    )
    if not history:
        query = query.where(ObservationRow.superseded_by.is_(None))
    rows = session.scalars(query.order_by(ObservationRow.day, ObservationRow.id))
    return [_stored_observation(row) for row in rows]


def list_events(
    session: Session, patient_key: str, first_day: float, last_day: float, history: bool
) -> list[StoredEvent]:
    """Events starting on first_day <= day <= last_day (current rows, or all with history)."""
    patient = required_patient(session, patient_key)
    query = select(EventRow).where(
        EventRow.patient_id == patient.id,
        EventRow.start_day >= first_day,
        EventRow.start_day <= last_day,
    )
    if not history:
        query = query.where(EventRow.superseded_by.is_(None))
    rows = session.scalars(query.order_by(EventRow.start_day, EventRow.id))
    return [_stored_event(row) for row in rows]


def find_observation(session: Session, patient_key: str, row_id: int) -> StoredObservation | None:
    """One observation row of a patient (current or corrected), or None when the patient has no
    row with this id; :class:`NotFoundError` when there is no such current patient."""
    patient = required_patient(session, patient_key)
    row = session.get(ObservationRow, row_id)
    return None if row is None or row.patient_id != patient.id else _stored_observation(row)


def patient_facts(session: Session, patient_key: str) -> PatientFacts:
    """The facts of a current patient (:class:`NotFoundError` when there is none)."""
    return PatientFacts.model_validate(required_patient(session, patient_key).facts)


def _floats(column: Sequence[float | None]) -> NDArray[np.float64]:
    """A column of numbers with NULL as NaN."""
    return np.array(column, dtype=np.float64)


def load_course(session: Session, patient_key: str) -> Course | None:
    """The stored patient as a canonical course, built column-wise from the rows (no
    per-observation objects): the fast path for assessing a stored patient. None when absent."""
    patient = current_patient(session, patient_key)
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
    normalised = normalise_rows(
        list(zip(analyte, loinc, strict=True)), unit, _floats(value), _floats(lln), _floats(uln)
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
        [EVENT.validate_python(p) for p in payloads], facts.infusion_date, "database"
    )
    if problems:
        raise InputError(problems)
    ld_start = None if facts.ld_start is None else to_day(facts.ld_start, facts.infusion_date)
    return Course(facts, normalised_labs(normalised, _floats(day)), events, ld_start)
