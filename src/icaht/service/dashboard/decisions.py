"""Accepting or dismissing a recommendation, kept in the append-only audit log.

The store has no table for decisions, so a decision is an audit entry (``store.audit.audit``)
with the action ``recommendation-accepted``, ``recommendation-dismissed`` or
``recommendation-reopened`` and the rule id, the as-of day and the reason in its detail. The
latest entry per rule wins; a reopened rule counts as open again. Dismissing needs a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.store.audit import audit
from icaht.store.tables import AuditEntry

Choice = Literal["accept", "dismiss", "reopen"]
ACTIONS: dict[str, str] = {
    "accept": "recommendation-accepted",
    "dismiss": "recommendation-dismissed",
    "reopen": "recommendation-reopened",
}
_CHOICE_OF = {action: choice for choice, action in ACTIONS.items()}
#: Longest reason kept (project default).
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class Decision:
    rule_id: str
    choice: str
    actor: str
    at: datetime
    reason: str
    as_of_day: int | None


def record_decision(
    db: Session,
    *,
    actor: str,
    remote: str | None,
    patient_key: str,
    rule_id: str,
    choice: Choice,
    reason: str,
    as_of_day: int | None,
) -> None:
    """Append a decision to the audit log (the caller commits)."""
    audit(
        db,
        actor=actor,
        action=ACTIONS[choice],
        patient_key=patient_key,
        remote=remote,
        detail={"rule_id": rule_id, "reason": reason, "as_of_day": as_of_day},
    )


def _rows(db: Session, patient_key: str | None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action.in_(tuple(ACTIONS.values())))
    if patient_key is not None:
        query = query.where(AuditEntry.patient_key == patient_key)
    return list(db.scalars(query.order_by(AuditEntry.id)))


def _fold(entries: list[AuditEntry]) -> dict[str, dict[str, Decision]]:
    out: dict[str, dict[str, Decision]] = {}
    for entry in entries:
        detail = entry.detail or {}
        rule_id = str(detail.get("rule_id", ""))
        if not rule_id or entry.patient_key is None:
            continue
        per_patient = out.setdefault(entry.patient_key, {})
        choice = _CHOICE_OF[entry.action]
        if choice == "reopen":
            per_patient.pop(rule_id, None)
            continue
        day = detail.get("as_of_day")
        per_patient[rule_id] = Decision(
            rule_id=rule_id,
            choice=choice,
            actor=entry.actor,
            at=entry.at,
            reason=str(detail.get("reason") or ""),
            as_of_day=day if isinstance(day, int) else None,
        )
    return out


def decisions(db: Session, patient_key: str) -> dict[str, Decision]:
    """The standing decision per rule id for one patient."""
    return _fold(_rows(db, patient_key)).get(patient_key, {})


def all_decisions(db: Session) -> dict[str, dict[str, Decision]]:
    """The standing decisions of every patient (patient key -> rule id -> decision)."""
    return _fold(_rows(db, None))
