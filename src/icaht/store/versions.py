"""Data versions: what changes whenever a stored patient's data change.

A patient's version is its facts' update time plus the newest id and the count of its observation
rows and of its event rows. Rows are only ever added (a correction adds a row and marks the old
one superseded), so any change of what an assessment reads changes the version; a cache keyed on
it never serves a result computed from older data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icaht.store.tables import EventRow, ObservationRow, Patient

Version = tuple[Any, ...]


def _newest_and_count(
    session: Session, table: type[ObservationRow] | type[EventRow], ids: list[int] | None
) -> dict[int, tuple[int, int]]:
    query = select(table.patient_id, func.max(table.id), func.count()).group_by(table.patient_id)
    if ids is not None:
        query = query.where(table.patient_id.in_(ids))
    return {row[0]: (row[1], row[2]) for row in session.execute(query)}


def data_versions(session: Session, keys: Sequence[str] | None = None) -> dict[str, Version]:
    """The version of every current (not deleted) patient, or of the given ones, in patient
    order; three grouped queries whatever the number of patients."""
    query = select(Patient.id, Patient.patient_key, Patient.updated_at).where(
        Patient.deleted_at.is_(None)
    )
    if keys is not None:
        query = query.where(Patient.patient_key.in_(keys))
    patients = session.execute(query.order_by(Patient.id)).all()
    if not patients:
        return {}
    ids = None if keys is None else [pid for pid, _, _ in patients]
    observations = _newest_and_count(session, ObservationRow, ids)
    events = _newest_and_count(session, EventRow, ids)
    return {
        key: (str(updated), observations.get(pid), events.get(pid))
        for pid, key, updated in patients
    }
