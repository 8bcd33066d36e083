"""Validating records before anything is stored: units, times within the documented range of
days, one record per patient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from icaht.core.course import course_from_record
from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Event, Moment
from icaht.errors import InputError, Problem
from icaht.store.rows import stored_day
from icaht.store.tables import Patient


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
            stored_day(moment, infusion)
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


def single_record(
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
