"""Small cohorts for the cohort-engine tests: the deterministic benchmark generator
(benchmarks/cohort.py: mixed units, aliases, LOINC-only rows, ISO dates, transfusions, G-CSF,
CRS/ICANS, death and progression), written in several row groups, plus ways to damage it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from benchmarks.cohort import generate

from icaht.cohort.results import cohort_row, rows_table
from icaht.io.inputs import load_courses
from icaht.knowledge.profile import load_profile

TABLES = ("patients", "observations", "events")


def make_cohort(folder: Path, patients: int = 30, seed: int = 7, chunk: int = 8) -> Path:
    """A tabular Parquet set in patient order, one row group per ``chunk`` patients."""
    generate(folder, patients, seed, chunk=chunk)
    return folder


def read(folder: Path, name: str) -> pa.Table:
    return pq.read_table(folder / f"{name}.parquet")


def copy_as(
    source: Path,
    target: Path,
    *,
    fmt: str = "parquet",
    shuffle: tuple[str, ...] = (),
    row_group_size: int | None = None,
) -> Path:
    """The set at ``source`` rewritten as CSV or Parquet; ``shuffle`` tables get their rows in a
    random (seeded) order and ``row_group_size`` rows per row group; other Parquet tables are
    copied as they are."""
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in TABLES:
        if fmt == "parquet" and name not in shuffle:
            shutil.copy(source / f"{name}.parquet", target / f"{name}.parquet")
            continue
        table = read(source, name)
        if name in shuffle:
            table = table.take(pa.array(rng.permutation(table.num_rows)))
        if fmt == "csv":
            pacsv.write_csv(table, target / f"{name}.csv")
        else:
            pq.write_table(table, target / f"{name}.parquet", row_group_size=row_group_size)
    return target


def reference_rows(folder: Path, as_of_day: int | None = None) -> pa.Table:
    """The expected results: the row function over the whole input loaded in memory."""
    profile = load_profile()
    rows = [cohort_row(c, as_of_day, profile) for c in load_courses(folder)]
    return rows_table(rows).sort_by("patient_id")


def results(path: Path) -> pa.Table:
    return pq.read_table(path).sort_by("patient_id")


def set_cell(folder: Path, name: str, row: int, column: str, value: Any) -> None:
    """Overwrite one cell (0-based row) of a Parquet table, keeping the row groups."""
    path = folder / f"{name}.parquet"
    reader = pq.ParquetFile(path)
    sizes = [reader.metadata.row_group(i).num_rows for i in range(reader.num_row_groups)]
    table = reader.read()
    cells = table[column].to_pylist()
    cells[row] = value
    kind = table.schema.field(column).type
    table = table.set_column(table.schema.get_field_index(column), column, pa.array(cells, kind))
    with pq.ParquetWriter(path, table.schema) as writer:
        first = 0
        for size in sizes:
            writer.write_table(table.slice(first, size))
            first += size


def first_row_of(folder: Path, name: str, patient_id: str) -> int:
    """0-based row of the first row of ``patient_id`` in a table."""
    ids = read(folder, name)["patient_id"].to_pylist()
    return ids.index(patient_id)


def append_copy(folder: Path, name: str, row: int) -> int:
    """Append a copy of one row (0-based) as a new last row group; returns its 0-based row."""
    path = folder / f"{name}.parquet"
    reader = pq.ParquetFile(path)
    groups = [reader.read_row_group(i) for i in range(reader.num_row_groups)]
    table = pa.concat_tables(groups)
    with pq.ParquetWriter(path, table.schema) as writer:
        for group in groups:
            writer.write_table(group)
        writer.write_table(table.slice(row, 1))
    return table.num_rows
