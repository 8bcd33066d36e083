"""Patients in the database: transactional, idempotent import of records and reading them back.

An import validates every record first (structure, units, times) and writes nothing if any
problem is found. Rows carry a content hash, so importing the same data twice adds nothing.
Importing a known patient merges its facts: the facts sent replace the stored ones (``null``
clears one), facts not sent are kept; :func:`update_facts` replaces them all. Whenever the
infusion date changes, every stored row's day is recomputed from its recorded time in the same
transaction, and every change of facts is audited with its old and new values. A patient an
admin deleted stays deleted until an admin restores it (:func:`restore_patient`). Reading back
gives the same PatientRecord, so an assessment from the database equals one from the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.course import Course, build_labs, canonical_events, course_from_record, to_day
from icaht.core.observation import Observation
from icaht.core.patient_facts import IDENTIFIER_FACTS, PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import MAX_DAY_RANGE, Event, Moment
from icaht.core.units import normalise_observations
from icaht.errors import InputError, Problem
from icaht.store.audit import audit
from icaht.store.inserts import insert_or_skip
from icaht.store.tables import EventRow, ObservationRow, Patient

_EVENT = TypeAdapter(Event)
#: The actor audited for a change made by a program that names none (a test, a script).
SYSTEM_ACTOR = "system"
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


def _hash(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _time_text(moment: Moment) -> str:
    return moment.isoformat() if isinstance(moment, date) else repr(float(moment))


def _day(moment: Moment, infusion: date | None) -> float:
    """The stored day of a moment: within the documented range of days (``MAX_DAY_RANGE``
    either side of infusion), else ValueError, so that no stored row makes later assessments
    fail."""
    day = to_day(moment, infusion)
    if not -MAX_DAY_RANGE <= day <= MAX_DAY_RANGE:
        raise ValueError(f"more than {MAX_DAY_RANGE} days from the infusion date")
    return day


def _moments(record: PatientRecord) -> list[tuple[str, Moment]]:
    """Every recorded time of a record with its JSON path."""
    found: list[tuple[str, Moment]] = []
    if record.patient.ld_start is not None:
        found.append(("patient.ld_start", record.patient.ld_start))
    found += [(f"observations[{i}].time", o.time) for i, o in enumerate(record.observations)]
    for i, ev in enumerate(record.events):
        found.append((f"events[{i}].start", ev.start))
        end = getattr(ev, "end", None)
        if end is not None:
            found.append((f"events[{i}].end", end))
    return found


def _range_problems(record: PatientRecord, where: str) -> list[Problem]:
    """Times more than MAX_DAY_RANGE days from infusion (a date without an infusion date is
    reported by the course)."""
    infusion = record.patient.infusion_date
    problems = []
    for field, moment in _moments(record):
        if isinstance(moment, date) and infusion is None:
            continue
        try:
            _day(moment, infusion)
        except ValueError as exc:
            problems.append(Problem(where, str(exc), field=field))
    return problems


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
        problems += _range_problems(record, where)
        key = record.patient.patient_id
        if key in seen:
            problems.append(Problem(where, "duplicate patient_id in the import", value=key))
        seen.add(key)
    if problems:
        raise InputError(problems)


def _facts_dict(facts: PatientFacts) -> dict[str, Any]:
    """Facts as stored (JSON, absent = unknown)."""
    return facts.model_dump(mode="json", exclude_none=True)


def _merged_facts(stored: dict[str, Any], sent: PatientFacts) -> PatientFacts:
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
        (row, _moment(row.time_text))
        for row in session.scalars(
            select(ObservationRow).where(ObservationRow.patient_id == patient.id)
        )
    ]
    found += [
        (row, _EVENT.validate_python(row.payload).start)
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
            dated.append((row, _day(moment, infusion)))
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


def _apply_facts(
    session: Session,
    patient: Patient,
    facts: PatientFacts,
    now: datetime,
    audit_as: tuple[str, str | None],
) -> bool:
    """Store new facts of a known patient: stored rows re-dated when the infusion date changes,
    the change audited with its old and new values (``audit_as`` = actor, remote address).
    True when anything changed."""
    old, new = patient.facts, _facts_dict(facts)
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


def _existing(session: Session, key: str) -> Patient | None:
    """The patient row (deleted or not), or None."""
    return session.scalars(select(Patient).where(Patient.patient_key == key)).one_or_none()


def _create_patient(session: Session, facts: PatientFacts, now: datetime) -> Patient | None:
    """A new patient row, or None when a concurrent import created it first."""
    created = session.execute(
        insert_or_skip(session, Patient)
        .values(
            patient_key=facts.patient_id, facts=_facts_dict(facts), created_at=now, updated_at=now
        )
        .returning(Patient.id)
    ).scalar_one_or_none()
    return None if created is None else session.get(Patient, created)


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
                "day": _day(obs.time, infusion),
                "time_text": _time_text(obs.time),
                "analyte": obs.analyte,
                "loinc": obs.loinc,
                "value": obs.value,
                "unit": obs.unit,
                "lln": obs.lln,
                "uln": obs.uln,
                "censored": obs.censored,
                "derived": obs.derived,
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
                "start_day": _day(ev.start, infusion),
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


def _add_rows(
    session: Session, patient: Patient, record: PatientRecord, now: datetime
) -> dict[str, int]:
    """Store the record's rows not stored yet (validated with the patient's facts)."""
    obs_added, obs_present = _add_new(
        session, ObservationRow, patient, _observation_rows(patient, record, now)
    )
    ev_added, ev_present = _add_new(session, EventRow, patient, _event_rows(patient, record, now))
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
        patient = _existing(session, record.patient.patient_id)
        if patient is None:
            merged.append((None, record))
            continue
        if patient.deleted_at is not None:
            raise DeletedPatientError(patient.patient_key, patient.deleted_at)
        facts = _merged_facts(patient.facts, record.patient)
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
    if stored is not None and _apply_facts(session, patient, record.patient, now, audit_as):
        counts["patients_updated"] = 1
    return counts | _add_rows(session, patient, record, now)


def import_records(
    session: Session,
    records: Sequence[PatientRecord],
    source: str,
    *,
    actor: str = SYSTEM_ACTOR,
    remote: str | None = None,
) -> ImportReport:
    """Validate, then add the records in the session's transaction (the caller commits).

    A known patient's facts are merged (facts sent replace the stored ones, facts not sent are
    kept); a change is audited as ``actor`` (from ``remote``) with the old and new values, and a
    new infusion date re-dates every stored row. Raises :class:`InputError` with every problem,
    or :class:`DeletedPatientError`, before anything is written.
    """
    merged = _merged_records(session, records)
    validate_records([record for _, record in merged], source)
    counts = dict.fromkeys(asdict(ImportReport()), 0)
    for stored, record in merged:
        for name, value in _import_one(session, stored, record, source, (actor, remote)).items():
            counts[name] += value
    return ImportReport(**counts)


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


def restore_patient(session: Session, patient_key: str) -> None:
    """Undo an admin's delete (the caller audits); NotFoundError unless the patient is deleted."""
    patient = _existing(session, patient_key)
    if patient is None or patient.deleted_at is None:
        raise NotFoundError([Problem("database", "no deleted patient", value=patient_key)])
    patient.deleted_at, patient.updated_at = None, datetime.now(UTC)


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
        censored=row.censored,
        derived=row.derived,
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
    patient = _patient(session, patient_key)
    record = _single(patient, list(observations), list(events))
    return ImportReport(**_add_rows(session, patient, record, datetime.now(UTC)))


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
    patient = _patient(session, patient_key)
    validate_records([PatientRecord(patient=facts)], "request body")
    return _apply_facts(session, patient, facts, datetime.now(UTC), (actor, remote))


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
