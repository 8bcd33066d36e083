"""The units of work of a cohort run: a partition of a tabular set (the rows of each table that
belong to it), of JSON record files or of records already read, and the :class:`Plan` that lists
them. Loading a partition validates it into courses and rejections (:mod:`icaht.cohort.batch`);
row numbers are always the 1-based data row of the original file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from icaht.cohort.batch import (
    Rejection,
    TableRows,
    courses_from_files,
    courses_from_records,
    courses_from_tables,
    rejected_patients,
)
from icaht.cohort.scatter import ROW_COLUMN
from icaht.core.course import Course
from icaht.core.patient_record import PatientRecord
from icaht.io.tabular import read_table

Loaded = tuple[list[Course], list[Rejection], int]
Progress = Callable[[int], None]


class Partition(Protocol):
    """A unit of work: loading gives (valid courses, rejections, patients in the partition)."""

    def load(self) -> Loaded: ...


# -- tables ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TablePart:
    """The rows of one table that belong to a partition.

    ``path`` is read whole (``row_groups`` None) or by row groups; ``low``/``high`` keep
    ``low <= patient_id < high`` (None = open). A file with a ``_row`` column (a temporary part)
    carries the original row numbers; otherwise ``first_rows`` gives the original 0-based row of
    each listed row group (or of the file's first row).
    """

    path: str
    source: str
    row_groups: tuple[int, ...] | None = None
    first_rows: tuple[int, ...] = (0,)
    low: str | None = None
    high: str | None = None

    def read(self) -> TableRows:
        path = Path(self.path)
        if self.row_groups is None:
            table = read_table(path) if path.suffix == ".csv" else pq.read_table(path)
            rows = np.arange(1, table.num_rows + 1, dtype=np.int64) + self.first_rows[0]
        else:
            reader = pq.ParquetFile(path)
            pieces = [reader.read_row_group(i) for i in self.row_groups]
            table = pa.concat_tables(pieces) if pieces else reader.schema_arrow.empty_table()
            rows = np.concatenate(
                [
                    np.arange(1, piece.num_rows + 1, dtype=np.int64) + first
                    for piece, first in zip(pieces, self.first_rows, strict=True)
                ]
                or [np.zeros(0, dtype=np.int64)]
            )
        if ROW_COLUMN in table.column_names:
            rows = np.asarray(table[ROW_COLUMN].to_numpy(), dtype=np.int64)
            table = table.drop_columns([ROW_COLUMN])
        if self.low is not None or self.high is not None:
            mask = _in_range(table, self.low, self.high)
            table, rows = table.filter(pa.array(mask)), rows[mask]
        return TableRows(table, self.source, rows)


def _in_range(table: pa.Table, low: str | None, high: str | None) -> NDArray[np.bool_]:
    ids = pc.cast(table["patient_id"], pa.string())
    mask = pc.is_valid(ids) if low is None else pc.greater_equal(ids, low)
    if high is not None:
        mask = pc.and_(mask, pc.less(ids, high))
    if low is None:  # rows without a patient_id go to the first partition (they are reported)
        mask = pc.or_(pc.fill_null(mask, False), pc.is_null(ids))
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True, slots=True)
class TabularPartition:
    patients: TablePart
    observations: TablePart
    events: TablePart | None

    def load(self) -> Loaded:
        patients = self.patients.read()
        observations = self.observations.read()
        events = self.events.read() if self.events else None
        courses, rejections = courses_from_tables(patients, observations, events)
        return courses, rejections, patients.table.num_rows


@dataclass(frozen=True, slots=True)
class FilesPartition:
    files: tuple[str, ...]

    def load(self) -> Loaded:
        courses, rejections = courses_from_files([Path(f) for f in self.files])
        return courses, rejections, len(self.files)


@dataclass(frozen=True, slots=True)
class RecordsPartition:
    """Records read (with their source), and the rejections of the patients (or lines) that
    could not be read into records."""

    records: tuple[tuple[PatientRecord, str], ...]
    rejections: tuple[Rejection, ...] = ()

    def load(self) -> Loaded:
        courses, rejections = courses_from_records(self.records)
        unread = rejected_patients(self.rejections)
        return courses, [*self.rejections, *rejections], len(self.records) + len(unread)


@dataclass
class Plan:
    """How an input is cut: the partitions (possibly lazy), the expected number of patients
    (None when unknown before reading), a one-line description, and a temporary folder to remove
    when done."""

    partitions: Iterator[Partition]
    patients: int | None
    strategy: str
    kind: str
    workdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    count: int | None = None

    def close(self) -> None:
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None
