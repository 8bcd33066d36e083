"""Data versions (store.versions): every change an assessment can see changes the version, so a
cache keyed on it (the API's assessment cache) never serves a stale result."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.io.records import read_record
from icaht.store.corrections import correct_event, correct_observation
from icaht.store.facts import update_facts
from icaht.store.patients import add_to_patient, import_records
from icaht.store.reading import list_events, list_observations
from icaht.store.versions import data_versions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = "jain-2023-case1"


def _version(engine: Engine) -> object:
    with Session(engine) as session:
        return data_versions(session, [KEY])[KEY]


def test_every_change_changes_the_version(engine: Engine) -> None:
    record = read_record(EXAMPLES / "jain-case1.json")
    other = record.model_copy(
        update={"patient": record.patient.model_copy(update={"patient_id": "other"})}
    )
    with Session(engine) as session, session.begin():
        import_records(session, [record, other], "examples")
    seen = [_version(engine)]
    with Session(engine) as session, session.begin():
        import_records(session, [record], "again")  # nothing new
    assert _version(engine) == seen[-1]

    def changed() -> None:
        now = _version(engine)
        assert now not in seen
        seen.append(now)

    with Session(engine) as session, session.begin():
        add_to_patient(session, KEY, [Observation(time=40, analyte="anc", value=1, unit="10^9/L")])
    changed()
    with Session(engine) as session, session.begin():
        first = list_observations(session, KEY, 40, 40, False)[0]
        correct_observation(
            session, KEY, first.id, first.observation.model_copy(update={"value": 2})
        )
    changed()
    with Session(engine) as session, session.begin():
        crs = next(e for e in list_events(session, KEY, 0, 10, False) if e.event.kind == "crs")
        correct_event(session, KEY, crs.id, crs.event.model_copy(update={"grade": 3}))
    changed()
    with Session(engine) as session, session.begin():
        facts = PatientFacts.model_validate({**record.patient.model_dump(), "weight_kg": 99})
        update_facts(session, KEY, facts)
    changed()
    with Session(engine) as session:
        assert set(data_versions(session)) == {KEY, "other"}
        assert data_versions(session, ["nobody"]) == {}
