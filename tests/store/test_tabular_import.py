"""Storing a tabular set (patients / observations / events, CSV or Parquet): issue 4, "Imports
(JSON record, tabular set) are transactional and idempotent". The stored patients assess exactly
like the files; the same set twice adds nothing; a set with one bad row stores nothing and names
the file, row, column and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.io.test_tabular import GOOD_EVENTS, GOOD_OBSERVATIONS, GOOD_PATIENTS, o, write_set

from icaht.core.assessment import assess
from icaht.errors import InputError
from icaht.io.tabular import load_tabular
from icaht.io.tabular_records import read_tabular_records
from icaht.knowledge.profile import load_profile
from icaht.store.patients import import_records
from icaht.store.reading import load_course
from icaht.store.tables import ObservationRow, Patient


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_stored_tabular_set_assesses_like_the_files(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS, GOOD_OBSERVATIONS, GOOD_EVENTS)
    records = read_tabular_records(folder)
    assert [r.patient.patient_id for r in records] == ["p1", "p2", "p3"]
    with Session(engine) as session, session.begin():
        first = import_records(session, records, str(folder))
    assert (first.patients_created, first.observations_added) == (3, len(GOOD_OBSERVATIONS))
    assert first.events_added == len(GOOD_EVENTS)
    with Session(engine) as session, session.begin():
        again = import_records(session, read_tabular_records(folder), str(folder))
    assert (again.observations_added, again.events_added) == (0, 0)
    profile = load_profile()
    with Session(engine) as session:
        for course in load_tabular(folder):
            stored = load_course(session, course.facts.patient_id)
            assert stored is not None
            for day in (3.0, 45.0):
                expected = assess(course, day, profile).model_dump(mode="json")
                assert assess(stored, day, profile).model_dump(mode="json") == expected


def test_a_set_with_one_bad_row_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    rows = [*GOOD_OBSERVATIONS, o("p2", "anc", 0.4, "furlongs", day=9)]
    folder = write_set(tmp_path / "set", "csv", GOOD_PATIENTS, rows, GOOD_EVENTS)
    with pytest.raises(InputError) as info:
        read_tabular_records(folder)
    (problem,) = info.value.problems
    assert (Path(problem.source).name, problem.row, problem.field, problem.value) == (
        "observations.csv",
        len(rows),
        "unit",
        "furlongs",
    )
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0
        assert session.scalar(select(func.count()).select_from(ObservationRow)) == 0
