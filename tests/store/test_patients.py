"""Importing records: transactional, idempotent, and read back as the same record, on SQLite
and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError
from icaht.io.records import read_record
from icaht.knowledge.profile import load_profile
from icaht.store.patients import import_records
from icaht.store.reading import load_course, load_record
from icaht.store.tables import EventRow, ObservationRow, Patient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED = load_profile("seed-2023")


def _counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Patient)) or 0,
            session.scalar(select(func.count()).select_from(ObservationRow)) or 0,
            session.scalar(select(func.count()).select_from(EventRow)) or 0,
        )


def test_importing_the_same_records_twice_adds_nothing(engine: Engine) -> None:
    records = [read_record(p) for p in sorted(EXAMPLES.glob("*.json"))]
    with Session(engine) as session, session.begin():
        first = import_records(session, records, "examples")
    expected = (
        len(records),
        sum(len(r.observations) for r in records),
        sum(len(r.events) for r in records),
    )
    assert (first.patients_created, first.observations_added, first.events_added) == expected
    assert _counts(engine) == expected
    with Session(engine) as session, session.begin():
        again = import_records(session, records, "examples")
    assert (again.patients_created, again.observations_added, again.events_added) == (0, 0, 0)
    assert again.observations_present == expected[1]
    assert _counts(engine) == expected


@pytest.mark.parametrize("case", ["jain-case1", "baur", "scaldaferri"])
def test_a_stored_patient_assesses_like_the_file(engine: Engine, case: str) -> None:
    record = read_record(EXAMPLES / f"{case}.json")
    with Session(engine) as session, session.begin():
        import_records(session, [record], case)
    with Session(engine) as session:
        stored = load_record(session, record.patient.patient_id)
    assert stored is not None
    for day in (20, 90, 200):
        native = assess(course_from_record(record), float(day), SEED)
        again = assess(course_from_record(stored), float(day), SEED)
        assert again == native


def test_a_record_with_a_bad_value_changes_nothing(engine: Engine) -> None:
    good = read_record(EXAMPLES / "baur.json")
    bad = read_record(EXAMPLES / "jain-case1.json")
    broken = bad.model_copy(
        update={
            "observations": [
                *bad.observations,
                bad.observations[0].model_copy(update={"unit": "furlongs"}),
            ]
        }
    )
    with pytest.raises(InputError) as caught, Session(engine) as session, session.begin():
        import_records(session, [good, broken], "upload.json")
    assert "furlongs" in str(caught.value)
    assert "upload.json (patient 2)" in str(caught.value)
    assert _counts(engine) == (0, 0, 0)


def test_changed_facts_update_the_patient(engine: Engine) -> None:
    record = read_record(EXAMPLES / "baur.json")
    with Session(engine) as session, session.begin():
        import_records(session, [record], "a")
    heavier = record.model_copy(
        update={"patient": record.patient.model_copy(update={"weight_kg": 61.0})}
    )
    with Session(engine) as session, session.begin():
        report = import_records(session, [heavier], "b")
    assert (report.patients_created, report.patients_updated) == (0, 1)
    with Session(engine) as session:
        stored = load_record(session, record.patient.patient_id)
    assert stored is not None
    assert stored.patient.weight_kg == 61.0


def test_an_unknown_patient_reads_as_none(engine: Engine) -> None:
    with Session(engine) as session:
        assert load_record(session, "nobody") is None


@pytest.mark.parametrize("case", ["jain-case2", "baur"])
def test_the_columnar_load_assesses_like_the_record(engine: Engine, case: str) -> None:
    """``load_course`` (the service's fast path) gives the same assessments as the file."""
    record = read_record(EXAMPLES / f"{case}.json")
    with Session(engine) as session, session.begin():
        import_records(session, [record], case)
    with Session(engine) as session:
        course = load_course(session, record.patient.patient_id)
        assert load_course(session, "nobody") is None
    assert course is not None
    for day in (10, 60, 150):
        assert assess(course, float(day), SEED) == assess(
            course_from_record(record), float(day), SEED
        )


def test_a_reported_bound_and_a_derived_value_are_stored(engine: Engine) -> None:
    """Issue 15 (record completeness): a censored value ("> 10,000") and a derived ANC read back
    as they were imported; the bound stays the value (docs/tabular.md)."""
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "bounds"},
            "observations": [
                {"time": 10, "analyte": "ferritin", "value": "> 10,000", "unit": "ng/mL"},
                {
                    "time": 10,
                    "analyte": "anc",
                    "value": 0.53,
                    "unit": "10*9/L",
                    "derived": "segmented + band neutrophils",
                },
            ],
        }
    )
    with Session(engine) as session:
        import_records(session, [record], "bounds.json")
        session.commit()
        stored = load_record(session, "bounds")
    assert stored is not None
    by_analyte = {o.analyte: o for o in stored.observations}
    assert (by_analyte["ferritin"].value, by_analyte["ferritin"].censored) == (10000.0, ">")
    assert by_analyte["anc"].derived == "segmented + band neutrophils"
