"""Parallel writers lose no data (counted after the run), on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from icaht.io.records import read_record
from icaht.store.patients import import_records
from icaht.store.tables import ObservationRow, Patient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WRITERS = 8
PATIENTS_PER_WRITER = 5


def test_parallel_importers_lose_nothing(engine: Engine) -> None:
    template = read_record(EXAMPLES / "baur.json")

    def write(worker: int) -> None:
        for i in range(PATIENTS_PER_WRITER):
            facts = template.patient.model_copy(update={"patient_id": f"w{worker}-p{i}"})
            record = template.model_copy(update={"patient": facts})
            with Session(engine) as session, session.begin():
                import_records(session, [record], f"writer {worker}")
            # every writer also re-imports one shared patient: idempotent under contention
            shared = template.model_copy(
                update={"patient": template.patient.model_copy(update={"patient_id": "shared"})}
            )
            with Session(engine) as session, session.begin():
                import_records(session, [shared], f"writer {worker}")

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    with Session(engine) as session:
        patients = session.scalar(select(func.count()).select_from(Patient))
        observations = session.scalar(select(func.count()).select_from(ObservationRow))
    assert patients == WRITERS * PATIENTS_PER_WRITER + 1
    assert observations == patients * len(template.observations)
