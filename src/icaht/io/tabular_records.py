"""A tabular set as PatientRecords, for storing it (``icaht db import FOLDER``).

The set is first validated as a whole by :func:`icaht.io.tabular.load_tabular` (every problem of
every table, with file, row, column and value; nothing is returned when there is any). The
records then keep each row as recorded (value, unit and time as given), so a stored patient
reads back as the rows of the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.io.tabular import find_table, load_tabular, read_table


def _rows_by_patient(path: Path | None) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    if path is None:
        return grouped
    for row in read_table(path).to_pylist():
        cells = {key: value for key, value in row.items() if value is not None}
        grouped.setdefault(str(cells.pop("patient_id")).strip(), []).append(cells)
    return grouped


def read_tabular_records(folder: Path) -> list[PatientRecord]:
    """One record per row of the patients table, in its order (raises InputError on any
    problem in any table)."""
    courses = load_tabular(folder)
    observations = _rows_by_patient(find_table(folder, "observations"))
    events = _rows_by_patient(find_table(folder, "events"))
    records = []
    for course in courses:
        facts: PatientFacts = course.facts
        key = facts.patient_id
        records.append(
            PatientRecord.model_validate(
                {
                    "patient": facts,
                    "observations": observations.get(key, []),
                    "events": events.get(key, []),
                }
            )
        )
    return records
