"""The append-only audit log and the record of assessments shown. Entries name the actor, the
patient key and the remote address; no clinical values are written to application logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.store.tables import AssessmentShown, AuditEntry


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    patient_key: str | None = None,
    remote: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry in the session's transaction."""
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            patient_key=patient_key,
            remote=remote,
            detail=detail or {},
        )
    )


def assessment_shown(
    session: Session,
    *,
    actor: str,
    patient_key: str,
    as_of_day: int,
    profile: tuple[str, str],
    icaht_version: str,
    rule_ids: list[str],
) -> None:
    """Record that an assessment (and which recommendations) was shown to someone."""
    session.add(
        AssessmentShown(
            at=datetime.now(UTC),
            actor=actor,
            patient_key=patient_key,
            as_of_day=as_of_day,
            profile_name=profile[0],
            profile_version=profile[1],
            icaht_version=icaht_version,
            rule_ids=rule_ids,
        )
    )


def audit_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every audit entry in order, as plain rows for export."""
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        yield {
            "id": entry.id,
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "patient_key": entry.patient_key,
            "remote": entry.remote,
            "detail": entry.detail,
        }
