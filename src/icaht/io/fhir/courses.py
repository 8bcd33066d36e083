"""FHIR inputs as validated courses (for ``icaht assess bundle.json`` and NDJSON folders)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from icaht.core.course import Course, course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.detect import is_ndjson_folder
from icaht.io.fhir.mappers.patient import no_infusion_problem
from icaht.io.fhir.ndjson import iter_ndjson_records
from icaht.io.fhir.reader import read_bundle


def _has_dates(record: PatientRecord) -> bool:
    if any(isinstance(o.time, date) for o in record.observations):
        return True
    return any(isinstance(e.start, date) for e in record.events)


def missing_infusion(records: Iterable[PatientRecord], source: str) -> list[Problem]:
    """One problem per record with dates but no CAR-T infusion, naming what was looked for."""
    return [
        no_infusion_problem(source, record)
        for record in records
        if record.patient.infusion_date is None and _has_dates(record)
    ]


def courses_from_records(records: Iterable[PatientRecord], source: str) -> list[Course]:
    """Validated courses; every problem of every patient is reported together."""
    courses: list[Course] = []
    problems: list[Problem] = []
    for record in records:
        missing = missing_infusion([record], source)
        if missing:
            problems += missing
            continue
        where = f"{source} (patient {record.patient.patient_id})"
        try:
            courses.append(course_from_record(record, source=where))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return courses


def load_fhir_courses(path: Path) -> list[Course]:
    """The courses of a FHIR Bundle file or a bulk-data NDJSON folder."""
    if path.is_dir() and is_ndjson_folder(path):
        return courses_from_records(iter_ndjson_records(path), str(path))
    records, _ = read_bundle(path)
    return courses_from_records(records, str(path))
