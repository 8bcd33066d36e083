"""Data versions: what changes whenever a stored patient's data change.

A patient's version is its facts' update time plus the newest id of its observation rows and of
its event rows. Rows are only ever added (a correction adds a row and marks the old one
superseded; nothing deletes a row), so any change of what an assessment reads changes the
version; a cache keyed on it never serves a result computed from older data. The newest ids are
read through the tables' patient indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from icaht.store.tables import EventRow, ObservationRow, Patient

Version = tuple[Any, ...]


def _newest(table: type[ObservationRow] | type[EventRow]) -> ScalarSelect[int]:
    return select(func.max(table.id)).where(table.patient_id == Patient.id).scalar_subquery()


def data_versions(session: Session, keys: Sequence[str] | None = None) -> dict[str, Version]:
    """The version of every current (not deleted) patient, or of the given ones, in patient
    order; one query whatever the number of patients."""
    query = select(
        Patient.patient_key, Patient.updated_at, _newest(ObservationRow), _newest(EventRow)
    ).where(Patient.deleted_at.is_(None))
    if keys is not None:
        query = query.where(Patient.patient_key.in_(keys))
    rows = session.execute(query.order_by(Patient.id))
    return {
        key: (str(updated), newest_obs, newest_event)
        for key, updated, newest_obs, newest_event in rows
    }
