"""Finding a stored patient: current, deleted by an admin, or absent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.errors import InputError, Problem
from icaht.store.tables import Patient


class DeletedPatientError(InputError):
    """The patient was deleted by an admin: it stays deleted (a re-import is refused) until an
    admin restores it."""

    def __init__(self, patient_key: str, deleted_at: datetime) -> None:
        self.patient_key = patient_key
        self.deleted_at = deleted_at
        message = (
            f"the patient was deleted by an admin on {deleted_at:%Y-%m-%d %H:%M} UTC and stays "
            "deleted until an admin restores it (POST /api/v1/patients/{id}/restore or "
            "`icaht db restore`)"
        )
        super().__init__([Problem("database", message, field="patient_id", value=patient_key)])


class NotFoundError(InputError):
    """A patient or row that does not exist."""


def existing_patient(session: Session, key: str) -> Patient | None:
    """The patient row (deleted or not), or None."""
    return session.scalars(select(Patient).where(Patient.patient_key == key)).one_or_none()


def current_patient(session: Session, patient_key: str) -> Patient | None:
    """The patient row unless absent or soft-deleted."""
    return session.scalars(
        select(Patient).where(Patient.patient_key == patient_key, Patient.deleted_at.is_(None))
    ).one_or_none()


def required_patient(session: Session, patient_key: str) -> Patient:
    patient = current_patient(session, patient_key)
    if patient is None:
        raise NotFoundError([Problem("database", "no such patient", value=patient_key)])
    return patient
