"""Correcting a stored observation or event: the corrected row is added and the old one stays,
marked superseded by it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.observation import Observation
from icaht.core.record import Event
from icaht.errors import InputError, Problem
from icaht.store.lookup import NotFoundError, required_patient
from icaht.store.rows import event_rows, observation_rows
from icaht.store.tables import EventRow, ObservationRow, Patient
from icaht.store.validation import single_record


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


def correct_observation(
    session: Session, patient_key: str, row_id: int, corrected: Observation
) -> int:
    """Replace an observation by a corrected one; the old row stays, marked superseded.
    Returns the id of the corrected row."""
    patient = required_patient(session, patient_key)
    record = single_record(patient, [corrected], [])
    (row,) = observation_rows(patient, record, datetime.now(UTC))
    return _supersede(session, patient, ObservationRow, row_id, row)


def correct_event(session: Session, patient_key: str, row_id: int, corrected: Event) -> int:
    """Replace an event by a corrected one (e.g. a CRS grade revised); the old row stays, marked
    superseded. Returns the id of the corrected row."""
    patient = required_patient(session, patient_key)
    record = single_record(patient, [], [corrected])
    (row,) = event_rows(patient, record, datetime.now(UTC))
    return _supersede(session, patient, EventRow, row_id, row)
