"""A long table (:mod:`icaht.io.long_table`) read in bounded chunks of whole patients, as arrays.

For a registry's grades-only pass: the Parquet row groups (or CSV blocks) are read in order, the
last patient of a block is carried to the next so that a patient is never split, and each chunk
becomes plain numpy columns (day relative to the patient's ``cart_date``, value in the
analyte's canonical unit, the event days) with no Python object per row. The patient's dates
are those of its first row, as in the rewrite as a tabular set.

Only a *plain* table is read this way: the columns are checked as the long-table reader does
(:func:`~icaht.io.long_table.layout_names`: unknown and missing columns are errors), and any
cell that the tabular reader might judge (a missing or unparsable date, value or patient id, a
non-finite, negative or implausible value, a unit it does not accept, a timestamp, a patient
whose rows are not together) raises :class:`NotPlain`: the caller then reads the table through
the rewrite, whose reader reports every problem with its file, row and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icaht.core.daily import FloatArray, IntArray
from icaht.core.units import unit_factor
from icaht.io.long_table import EVENT_COLUMNS, LongTable, layout_names
from icaht.io.tabular import csv_text_options
from icaht.knowledge.analytes import ANALYTES, Analyte

#: Rows read at a time (project default: about 2,500 patients of 101 daily values; a chunk's
#: arrays are a few MB).
CHUNK_ROWS = 250_000


class NotPlain(Exception):  # noqa: N818 (a signal, not an error: the full reader takes over)
    """The table holds something only the tabular reader may judge (see the module doc)."""


@dataclass(frozen=True, slots=True)
class LongChunk:
    """Whole patients of a long table: their ids, their observations concatenated patient after
    patient (patient ``i`` at ``offsets[i]:offsets[i + 1]``; day from ``cart_date``, value in
    the canonical unit), their event days per :data:`EVENT_COLUMNS` column (NaN when none) and
    the largest value as given (for the unit warning)."""

    ids: list[str]
    days: FloatArray
    values: FloatArray
    offsets: IntArray
    events: dict[str, FloatArray]
    largest: float


def _batches(path: Path, rows: int) -> Iterator[pa.Table]:
    if path.suffix == ".parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield pa.Table.from_batches([batch])
        return
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=64 * rows),
        convert_options=csv_text_options(path),
    )
    for batch in reader:
        yield pa.Table.from_batches([batch])


def _text_ids(table: pa.Table) -> pa.Table:
    ids = table["patient_id"]
    if ids.null_count:
        raise NotPlain
    where = table.column_names.index("patient_id")
    return table.set_column(where, "patient_id", pc.cast(ids, pa.string()))


def _whole_patients(path: Path, spec: LongTable, rows: int) -> Iterator[pa.Table]:
    """The table in layout names and text patient ids, cut between patients only."""
    pending: pa.Table | None = None
    for block in _batches(path, rows):
        table = _text_ids(layout_names(block, str(path), spec))
        if pending is not None:
            table = pa.concat_tables([pending, table.cast(pending.schema)])
        ids = table["patient_id"].combine_chunks()
        changes = np.flatnonzero(pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False))
        cut = int(changes[-1]) + 1 if changes.size else 0
        if cut:
            yield table.slice(0, cut)
        pending = table.slice(cut)
    if pending is not None and pending.num_rows:
        yield pending


def _day_numbers(column: pa.ChunkedArray) -> FloatArray:
    """Days since 1970 of a date column (Parquet dates or ISO text), NaN where empty."""
    kind = column.type
    if not (pa.types.is_date(kind) or pa.types.is_string(kind) or pa.types.is_null(kind)):
        raise NotPlain
    try:
        dates = pc.cast(column, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise NotPlain from None
    days = pc.cast(dates, pa.int32()).to_numpy(zero_copy_only=False)
    return np.asarray(days, dtype=np.float64)


def _values(column: pa.ChunkedArray, spec: LongTable) -> tuple[FloatArray, float]:
    """The values in the canonical unit, and the largest as given."""
    factor = unit_factor(Analyte(spec.analyte), spec.unit)
    if factor is None or column.null_count:
        raise NotPlain
    try:
        raw = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise NotPlain from None
    canonical = raw * factor
    limit = ANALYTES[Analyte(spec.analyte)].plausible_max
    if not (np.isfinite(raw).all() and (raw >= 0).all() and (canonical <= limit).all()):
        raise NotPlain
    return canonical, float(raw.max())


def _chunk(table: pa.Table, spec: LongTable, seen: set[str]) -> LongChunk:
    ids = table["patient_id"].combine_chunks()
    new = np.ones(len(ids), dtype=np.bool_)
    new[1:] = pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(new)
    names = ids.take(pa.array(starts)).to_pylist()
    if len(set(names)) < len(names) or not seen.isdisjoint(names):
        raise NotPlain  # a patient's rows are not together
    if any(not name or name != name.strip() for name in names):
        raise NotPlain
    seen.update(names)
    cart = _day_numbers(table["cart_date"])[starts]
    when = _day_numbers(table["date"])
    if np.isnan(cart).any() or np.isnan(when).any():
        raise NotPlain
    offsets = np.append(starts, len(ids)).astype(np.int64)
    days = when - np.repeat(cart, np.diff(offsets))
    values, largest = _values(table[spec.analyte], spec)
    events = {
        name: _day_numbers(table[name])[starts] - cart
        for name in EVENT_COLUMNS
        if name in table.column_names
    }
    return LongChunk(names, days, values, offsets, events, largest)


def long_chunks(path: Path, spec: LongTable, rows: int | None = None) -> Iterator[LongChunk]:
    """The plain long table at ``path`` in chunks of whole patients of about ``rows`` rows
    (default :data:`CHUNK_ROWS`), in file order. Raises :class:`~icaht.errors.InputError`
    for its columns, :class:`NotPlain` as soon as a cell needs the tabular reader."""
    if spec.analyte not in {a.value for a in Analyte}:
        raise NotPlain
    seen: set[str] = set()
    for table in _whole_patients(path, spec, CHUNK_ROWS if rows is None else rows):
        yield _chunk(table, spec, seen)
