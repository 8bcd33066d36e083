"""Write PatientRecords as the tabular form (``patients``/``observations``/``events`` as CSV or
Parquet), the inverse of :func:`icaht.io.tabular_records.read_tabular_records`.

Cells follow docs/tabular.md: times as a day number or ISO text (``time``/``start``/``end``),
``complete_streams`` as names separated by ';', NGS variants as a JSON list, a censored value as
its bound with the ``censored`` column. Every cell is text (CSV and Parquet alike), so a value
reads back exactly as written. The tables are written as ``NAME.ext.partial`` and renamed only
when all are written: an interrupted write leaves no half-written set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel

from icaht.atomic import atomic_path
from icaht.core.observation import Observation
from icaht.core.patient_record import PatientRecord

Rows = list[dict[str, str]]
Format = Literal["csv", "parquet"]


def cell(value: object) -> str | None:
    """One value as table text: numbers in full precision, dates ISO, booleans true/false,
    stream lists joined by ';', variant lists as JSON; None stays empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        if all(isinstance(v, str) for v in value):
            return ";".join(value) if value else None
        return json.dumps(
            [v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v for v in value]
        )
    return str(value)


def _row(patient_id: str, model: BaseModel) -> dict[str, str]:
    row = {"patient_id": patient_id}
    for name in type(model).model_fields:
        text = cell(getattr(model, name))
        if text is not None:
            row[name] = text
    return row


def _observation_row(patient_id: str, observation: Observation) -> dict[str, str]:
    """An observation row: a day number goes in ``day``, an ISO date/datetime in ``time``."""
    row = _row(patient_id, observation)
    if isinstance(observation.time, float):
        row["day"] = row.pop("time")
    return row


def record_rows(records: Iterable[PatientRecord]) -> tuple[Rows, Rows, Rows]:
    """The patients, observations and events rows of the records (only the cells with values)."""
    patients: Rows = []
    observations: Rows = []
    events: Rows = []
    for record in records:
        pid = record.patient.patient_id
        patients.append(_row(pid, record.patient))
        observations += [_observation_row(pid, o) for o in record.observations]
        events += [_row(pid, e) for e in record.events]
    return patients, observations, events


def _table(rows: Rows, first: tuple[str, ...]) -> pa.Table:
    names = dict.fromkeys(first)
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.table(
        {name: pa.array([row.get(name) for row in rows], pa.string()) for name in names}
    )


def write_tabular(
    records: Iterable[PatientRecord], folder: Path, fmt: Format = "csv"
) -> dict[str, int]:
    """Write the records as a tabular set in ``folder``; returns the rows per table."""
    patients, observations, events = record_rows(records)
    tables = {
        "patients": _table(patients, ("patient_id",)),
        "observations": _table(observations, ("patient_id", "day", "analyte", "value", "unit")),
        "events": _table(events, ("patient_id", "kind", "start")),
    }
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as files:  # each table renamed when all are written, removed if one fails
        for name, table in tables.items():
            partial = files.enter_context(atomic_path(folder / f"{name}.{fmt}"))
            if fmt == "csv":
                pacsv.write_csv(table, partial)
            else:
                pq.write_table(table, partial)
    return {name: table.num_rows for name, table in tables.items()}
