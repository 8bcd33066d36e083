"""A stored patient's facts: merged on import, replaced on update, audited with their old and new
values; a change of infusion date re-dates every stored row in the same transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.patient_facts import IDENTIFIER_FACTS, PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Moment
from icaht.errors import InputError, Problem
from icaht.store.audit import audit
from icaht.store.lookup import required_patient
from icaht.store.rows import EVENT, stored_day, stored_moment
from icaht.store.tables import EventRow, ObservationRow, Patient
from icaht.store.validation import validate_records

#: The actor audited for a change made by a program that names none (a test, a script).
SYSTEM_ACTOR = "system"


def facts_dict(facts: PatientFacts) -> dict[str, Any]:
    """Facts as stored (JSON, absent = unknown)."""
    return facts.model_dump(mode="json", exclude_none=True)


def merged_facts(stored: dict[str, Any], sent: PatientFacts) -> PatientFacts:
    """The stored facts with the facts sent replacing them (``null`` clears one); facts not
    sent are kept."""
    given = sent.model_dump(mode="json", include=set(sent.model_fields_set))
    merged = {k: v for k, v in {**stored, **given}.items() if v is not None}
    return PatientFacts.model_validate(merged)


def _facts_change(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """The facts that differ, with their old and new values (None when nothing changed); an
    identifier (name, MRN, birth date) is named, its values are not kept in the audit trail."""
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if not changed:
        return None

    def shown(facts: dict[str, Any], key: str) -> Any:
        value = facts.get(key)
        return "(identifier)" if key in IDENTIFIER_FACTS and value is not None else value

    return {
        "old": {k: shown(old, k) for k in changed},
        "new": {k: shown(new, k) for k in changed},
    }


def _stored_moments(
    session: Session, patient: Patient
) -> list[tuple[ObservationRow | EventRow, Moment]]:
    """Every stored row of a patient (current and superseded) with its recorded time."""
    found: list[tuple[ObservationRow | EventRow, Moment]] = [
        (row, stored_moment(row.time_text))
        for row in session.scalars(
            select(ObservationRow).where(ObservationRow.patient_id == patient.id)
        )
    ]
    found += [
        (row, EVENT.validate_python(row.payload).start)
        for row in session.scalars(select(EventRow).where(EventRow.patient_id == patient.id))
    ]
    return found


def _redate(session: Session, patient: Patient, infusion: date | None) -> None:
    """Recompute every stored row's day from its recorded time and the new infusion date, in
    the caller's transaction; InputError (nothing changed) when a row cannot be dated, e.g. an
    ISO-dated row once the infusion date is removed."""
    problems: list[Problem] = []
    dated: list[tuple[ObservationRow | EventRow, float]] = []
    for row, moment in _stored_moments(session, patient):
        try:
            dated.append((row, stored_day(moment, infusion)))
        except ValueError as exc:
            what = "observation" if isinstance(row, ObservationRow) else "event"
            problems.append(Problem("database", f"stored {what} {row.id}: {exc}"))
    if problems:
        raise InputError(problems)
    for row, day in dated:
        if isinstance(row, ObservationRow):
            row.day = day
        else:
            row.start_day = day


def apply_facts(
    session: Session,
    patient: Patient,
    facts: PatientFacts,
    now: datetime,
    audit_as: tuple[str, str | None],
) -> bool:
    """Store new facts of a known patient: stored rows re-dated when the infusion date changes,
    the change audited with its old and new values (``audit_as`` = actor, remote address).
    True when anything changed."""
    old, new = patient.facts, facts_dict(facts)
    change = _facts_change(old, new)
    if change is None:
        return False
    if old.get("infusion_date") != new.get("infusion_date"):
        _redate(session, patient, facts.infusion_date)
    patient.facts, patient.updated_at = new, now
    actor, remote = audit_as
    audit(
        session,
        actor=actor,
        action="facts-change",
        patient_key=patient.patient_key,
        remote=remote,
        detail=change,
    )
    return True


def update_facts(
    session: Session,
    patient_key: str,
    facts: PatientFacts,
    *,
    actor: str = SYSTEM_ACTOR,
    remote: str | None = None,
) -> bool:
    """Replace a patient's facts (all of them: facts not given become unknown; the id cannot
    change). The stored rows are re-dated when the infusion date changes, and nothing changes
    if one cannot be (e.g. ISO times need the infusion date). The change is audited with its
    old and new values. True if anything changed."""
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
    patient = required_patient(session, patient_key)
    validate_records([PatientRecord(patient=facts)], "request body")
    return apply_facts(session, patient, facts, datetime.now(UTC), (actor, remote))
