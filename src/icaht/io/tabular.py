"""The tabular form: ``patients``, ``observations`` and ``events`` tables as CSV or Parquet.

A folder holds ``patients.csv|parquet``, ``observations.csv|parquet`` and optionally
``events.csv|parquet``. Columns are the PatientRecord field names (``docs/tabular.md``); every row
has ``patient_id``; times are ``day`` (relative to infusion) or ``time`` (ISO date/datetime, needs
the patient's ``infusion_date``), not both. Observations are validated and normalised column-wise
(no per-row Python objects), then split into per-patient columnar courses. Every problem in every
table is reported together (file, 1-based data row, column, value) and nothing is returned when
there is any.

The checks are table-level functions (:func:`validate_patients`, :func:`validate_observations`,
:func:`validate_events`, then :func:`tabular_courses`) that take an Arrow table and give the
validated values and each row's problems. :func:`load_tabular` runs them over whole files; the
cohort engine (:mod:`icaht.cohort.batch`) runs the same functions over each partition's rows and
rejects only the patients the problems belong to.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray
from pydantic import TypeAdapter, ValidationError

from icaht.core.course import Course, day_of, event_in_days, split_sorted_labs, to_day
from icaht.core.patient_facts import PatientFacts
from icaht.core.record import Event
from icaht.core.units import NormalisedObservations, normalise_observations
from icaht.errors import InputError, Problem
from icaht.io.problems import from_validation_error
from icaht.io.tabular_cells import (
    encoded_column,
    epoch_seconds,
    float_column,
    row_dicts,
    time_days,
    uncensored,
)

TABLES = ("patients", "observations", "events")


_EVENT = TypeAdapter(Event)


def find_table(folder: Path, name: str) -> Path | None:
    """The table file ``name.parquet`` or ``name.csv`` in ``folder``, if present."""
    for suffix in (".parquet", ".csv"):
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def is_tabular_folder(path: Path) -> bool:
    """True if ``path`` is a folder with a patients table."""
    return path.is_dir() and find_table(path, "patients") is not None


def read_table(path: Path) -> pa.Table:
    """Read a CSV (every column as text, empty cell = null) or Parquet table."""
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        return pacsv.read_csv(path, convert_options=csv_text_options(path))
    except (OSError, pa.ArrowInvalid, UnicodeDecodeError, StopIteration) as exc:
        raise InputError([Problem(str(path), f"cannot read table: {exc}")]) from None


def csv_text_options(path: Path) -> pacsv.ConvertOptions:
    """How :func:`read_table` converts a CSV: every column of its header as text, empty = null."""
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    return pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        null_values=[""],
    )


def validate_patients(
    table: pa.Table,
    source: str,
    problems: list[Problem],
    rows: NDArray[np.int64] | None = None,
) -> list[PatientFacts]:
    """The valid rows of a patients table as facts, in table order.

    Each invalid row adds its problems (``source``, 1-based row of ``table``, field, value) to
    ``problems`` and gives no facts; a repeated ``patient_id`` is a problem of the later row, whose
    message names the first row by ``rows`` (the original file's 1-based row of each table row,
    when ``table`` is part of a file; default ``1..n``).
    """
    facts: list[PatientFacts] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(row_dicts(table)):
        try:
            fact = PatientFacts.model_validate(row)
        except ValidationError as exc:
            problems += from_validation_error(exc, source, row=i + 1)
            continue
        if fact.patient_id in seen:
            problems.append(
                Problem(
                    source,
                    f"duplicate patient_id (first at row {seen[fact.patient_id]})",
                    row=i + 1,
                    field="patient_id",
                    value=fact.patient_id,
                )
            )
            continue
        if fact.ld_start is not None:
            try:
                to_day(fact.ld_start, fact.infusion_date)
            except ValueError as exc:
                problems.append(Problem(source, str(exc), row=i + 1, field="ld_start"))
                continue
        seen[fact.patient_id] = i + 1 if rows is None else int(rows[i])
        facts.append(fact)
    return facts


def _positions(facts: list[PatientFacts]) -> dict[str, int]:
    """``patient_id`` -> position in ``facts``."""
    return {f.patient_id: i for i, f in enumerate(facts)}


def _patient_rows(
    table: pa.Table,
    source: str,
    index: dict[str, int],
    problems: list[Problem],
    listed: frozenset[str] = frozenset(),
) -> NDArray[np.int64]:
    """Row -> patient position; unknown or missing ids become problems (position -1), except
    ids ``listed`` in the patients table on an invalid row (that row's problem is the cause)."""
    if "patient_id" not in table.column_names:
        problems.append(Problem(source, "missing column", field="patient_id"))
        return np.full(table.num_rows, -1, dtype=np.int64)
    ids, idx = encoded_column(table, "patient_id")
    lookup = np.array(
        [index.get(str(v).strip(), -1) if v is not None else -1 for v in ids], np.int64
    )
    rows = lookup[idx]
    for bad in np.flatnonzero(rows < 0):
        value = ids[int(idx[bad])]
        if value is not None and str(value).strip() in listed:
            continue  # the patient's own row is invalid and says why (one root cause, once)
        message = "missing patient_id" if value is None else "patient_id not in the patients table"
        problems.append(Problem(source, message, row=int(bad) + 1, field="patient_id", value=value))
    return rows


def validate_events(
    table: pa.Table,
    source: str,
    facts: list[PatientFacts],
    problems: list[Problem],
    listed: frozenset[str] = frozenset(),
) -> list[list[Event]]:
    """The valid rows of an events table, per patient of ``facts`` (in table order, times in days
    after infusion); each invalid row (or row of no patient in ``facts``) adds its problems (1-based
    row of ``table``) to ``problems``."""
    index = _positions(facts)
    per_patient: list[list[Event]] = [[] for _ in facts]
    for i, row in enumerate(row_dicts(table)):
        pid = row.pop("patient_id", None)
        position = index.get(str(pid).strip(), -1) if pid is not None else -1
        if position < 0 and pid is not None and str(pid).strip() in listed:
            continue  # the patient's own row is invalid and says why
        if position < 0:
            message = (
                "missing patient_id" if pid is None else "patient_id not in the patients table"
            )
            problems.append(Problem(source, message, row=i + 1, field="patient_id", value=pid))
            continue
        if sum(key in row for key in ("start", "time", "day")) > 1:
            problems.append(
                Problem(source, "give one of start, time, day", row=i + 1, field="start")
            )
            continue
        try:
            event = _EVENT.validate_python(row)
        except ValidationError as exc:
            problems += from_validation_error(exc, source, row=i + 1)
            continue
        try:
            per_patient[position].append(event_in_days(event, facts[position].infusion_date))
        except ValueError as exc:
            field = "end" if "ends before" in str(exc) else "start"
            problems.append(Problem(source, str(exc), row=i + 1, field=field))
    return per_patient


def _require(table: pa.Table, source: str, problems: list[Problem]) -> bool:
    missing = [c for c in ("patient_id", "value", "unit") if c not in table.column_names]
    if "analyte" not in table.column_names and "loinc" not in table.column_names:
        missing.append("analyte (or loinc)")
    if "day" not in table.column_names and "time" not in table.column_names:
        missing.append("day (or time)")
    for name in missing:
        problems.append(Problem(source, "missing column", field=name))
    return not missing


@dataclass(frozen=True, slots=True)
class ObservationColumns:
    """A validated observations table, column-wise: each row's patient (position in the facts it
    was validated against; -1 for none), day after infusion, and normalised analyte and values."""

    patient: NDArray[np.int64]
    day: NDArray[np.float64]
    normalised: NormalisedObservations


def validate_observations(
    table: pa.Table,
    source: str,
    facts: list[PatientFacts],
    problems: list[Problem],
    listed: frozenset[str] = frozenset(),
) -> ObservationColumns:
    """An observations table validated and normalised column-wise against the patients of
    ``facts``; each bad cell or row adds its problem (1-based row of ``table``) to ``problems``.

    Raises :class:`InputError` with ``problems`` (those found so far and the missing ones) when a
    required column is missing: no row can be read then.
    """
    if not _require(table, source, problems):
        raise InputError(problems)
    index = _positions(facts)
    infusion_seconds = np.array(
        [epoch_seconds(f.infusion_date) if f.infusion_date else np.nan for f in facts],
        dtype=np.float64,
    )
    patient_rows = _patient_rows(table, source, index, problems, listed)
    table = uncensored(table, source, problems)
    value = float_column(table, "value", source, problems, required=True)
    lln = float_column(table, "lln", source, problems, required=False)
    uln = float_column(table, "uln", source, problems, required=False)
    day = time_days(table, source, patient_rows, infusion_seconds, problems)
    names, name_idx = encoded_column(table, "analyte")
    loincs, loinc_idx = encoded_column(table, "loinc")
    pair_idx = name_idx * len(loincs) + loinc_idx
    distinct, pair_inverse = np.unique(pair_idx, return_inverse=True)
    units, unit_idx = encoded_column(table, "unit")
    normalised = normalise_observations(
        [names[int(p) // len(loincs)] for p in distinct],
        [loincs[int(p) % len(loincs)] for p in distinct],
        pair_inverse.astype(np.int64),
        units,
        unit_idx,
        np.where(np.isnan(value), 0.0, value),
        lln,
        uln,
    )
    problems += [
        Problem(source, p.message, row=p.row + 1, field=p.field, value=p.value)
        for p in normalised.problems
        if not (p.field == "value" and np.isnan(value[p.row]))
    ]
    return ObservationColumns(patient_rows, day, normalised)


def _invalid_ids(patients: pa.Table, facts: list[PatientFacts]) -> frozenset[str]:
    """Ids on rows of the patients table that gave no facts (their rows say why)."""
    if "patient_id" not in patients.column_names:
        return frozenset()
    valid = {f.patient_id for f in facts}
    ids = {str(v).strip() for v in patients["patient_id"].to_pylist() if v is not None}
    return frozenset(ids - valid)


def load_tabular(folder: Path) -> list[Course]:
    """Validate a tabular set and return one course per patient, in the patients table's order.

    Raises :class:`InputError` with every problem of every table; nothing is returned then.
    """
    problems: list[Problem] = []
    patients_path = find_table(folder, "patients")
    observations_path = find_table(folder, "observations")
    if patients_path is None or observations_path is None:
        raise InputError(
            [
                Problem(str(folder), f"no {name}.csv or {name}.parquet")
                for name, found in (
                    ("patients", patients_path),
                    ("observations", observations_path),
                )
                if found is None
            ]
        )
    patients = read_table(patients_path)
    facts = validate_patients(patients, str(patients_path), problems)
    listed = _invalid_ids(patients, facts)
    observations = validate_observations(
        read_table(observations_path), str(observations_path), facts, problems, listed
    )
    events_path = find_table(folder, "events")
    events = (
        validate_events(read_table(events_path), str(events_path), facts, problems, listed)
        if events_path
        else [[] for _ in facts]
    )
    if problems:
        problems.sort(key=lambda p: (p.source, p.row or 0))
        raise InputError(problems)
    return tabular_courses(facts, events, observations)


def tabular_courses(
    facts: list[PatientFacts], events: list[list[Event]], observations: ObservationColumns
) -> list[Course]:
    """One course per patient of ``facts`` (in order) from validated events and observations."""
    normalised, day, patient_rows = observations.normalised, observations.day, observations.patient
    codes = normalised.analyte_code
    order = np.lexsort((day, codes, patient_rows))
    sorted_patients = patient_rows[order]
    s_codes, s_day = codes[order], day[order]
    s_value, s_lln, s_uln = normalised.value[order], normalised.lln[order], normalised.uln[order]
    s_unit = normalised.unit_code[order]
    bounds = np.searchsorted(sorted_patients, np.arange(len(facts) + 1), side="left")
    courses = []
    for position, fact in enumerate(facts):
        lo, hi = int(bounds[position]), int(bounds[position + 1])
        labs = split_sorted_labs(
            s_codes[lo:hi],
            s_day[lo:hi],
            s_value[lo:hi],
            s_lln[lo:hi],
            s_uln[lo:hi],
            s_unit[lo:hi],
        )
        ld_start = to_day(fact.ld_start, fact.infusion_date) if fact.ld_start is not None else None
        patient_events = tuple(sorted(events[position], key=lambda e: day_of(e.start)))
        courses.append(Course(fact, labs, patient_events, ld_start))
    return courses
