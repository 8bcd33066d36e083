"""A long table (:mod:`icaht.io.long_table`) read in bounded chunks of whole patients, as arrays.

For a registry's grades-only pass: the Parquet row groups (or CSV blocks) are read in order, the
last patient of a block is carried to the next so that a patient is never split, and each chunk
becomes plain numpy columns (day relative to the patient's ``cart_date``, value in the
analyte's canonical unit, the event days) with no Python object per row. The patient's dates
are those of its first row, as in the rewrite as a tabular set.

Only a *plain* table is read this way: the columns are checked as the long-table reader does
(:func:`~icaht.io.long_table.layout_names`: unknown and missing columns are errors), and any
cell that the tabular reader might judge (a missing or unparsable date, value or patient id, a
non-finite, negative or implausible value, a unit it does not accept, a timestamp) raises
:class:`NotPlain`: the caller then reads the table through the rewrite, whose reader reports
every problem with its file, row and column. A table whose patients' rows are not together is
read again grouped by patient through temporary bucket files (:class:`PatientsApart`).
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
#: Bytes of a CSV row of the layout, to size the reads and buckets of a CSV (project default:
#: ``P0000001,2024-01-01,2024-01-02,1230,2024-04-10,,`` is about 50).
_CSV_BYTES_PER_ROW = 64


class NotPlain(Exception):  # noqa: N818 (a signal, not an error: the full reader takes over)
    """The table holds something only the tabular reader may judge (see the module doc)."""


class PatientsApart(NotPlain):
    """A patient's rows are not together: read the table again grouped (``grouped_in``)."""


@dataclass(frozen=True, slots=True)
class LongChunk:
    """Whole patients of a long table: their ids, their ``cart_date`` (days since 1970), their
    observations concatenated patient after patient (patient ``i`` at
    ``offsets[i]:offsets[i + 1]``; day from ``cart_date``, value in the canonical unit), their
    event days per :data:`EVENT_COLUMNS` column (NaN when none) and the largest value as given
    (for the unit warning)."""

    ids: list[str]
    cart: FloatArray
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
        read_options=pacsv.ReadOptions(block_size=_CSV_BYTES_PER_ROW * rows),
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


def _patient_numbers(ids: pa.ChunkedArray, index: dict[str, int]) -> IntArray:
    """The number of each row's patient in order of first appearance (``index``, updated)."""
    uniques = pc.unique(ids)
    names = uniques.to_pylist()
    for name in names:
        index.setdefault(name, len(index))
    numbers = pa.array([index[name] for name in names], pa.int64())
    return np.asarray(numbers.take(pc.index_in(ids, value_set=uniques)).to_numpy())


def _bucket_count(path: Path, rows: int) -> int:
    """Buckets of about ``rows`` rows for the table at ``path`` (a CSV's rows estimated from
    its size and the bytes per block)."""
    if path.suffix == ".parquet":
        total = int(pq.ParquetFile(path).metadata.num_rows)
        return max(1, -(-total // rows))
    return max(1, -(-path.stat().st_size // (_CSV_BYTES_PER_ROW * rows)))


def _grouped(path: Path, spec: LongTable, rows: int, folder: Path) -> Iterator[pa.Table]:
    """The table's rows grouped by patient (rows of a patient in file order): patient ``k`` in
    order of first appearance goes to bucket file ``k mod B`` in ``folder`` (B buckets of about
    ``rows`` rows), then each bucket is read and sorted by patient (memory: one read and one
    bucket). Patients come bucket after bucket, in order of first appearance within one."""
    index: dict[str, int] = {}
    writers: dict[int, pq.ParquetWriter] = {}
    buckets = _bucket_count(path, rows)
    try:
        for block in _batches(path, rows):
            table = _text_ids(layout_names(block, str(path), spec))
            patient = _patient_numbers(table["patient_id"], index)
            bucket = patient % buckets
            order = np.argsort(bucket, kind="stable")
            table = table.append_column("_patient", pa.array(patient)).take(order)
            bucket = bucket[order]
            cuts = np.flatnonzero(np.diff(bucket)) + 1
            for start, stop in zip(np.append(0, cuts), np.append(cuts, bucket.size), strict=True):
                b = int(bucket[start])
                if b not in writers:
                    writers[b] = pq.ParquetWriter(folder / f"{b}.parquet", table.schema)
                writers[b].write_table(table.slice(start, stop - start))
    finally:
        for writer in writers.values():
            writer.close()
    for b in sorted(writers):
        table = pq.read_table(folder / f"{b}.parquet")
        order = np.argsort(table["_patient"].to_numpy(), kind="stable")
        yield table.take(order).drop_columns(["_patient"])


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
        raise PatientsApart
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
    return LongChunk(names, cart, days, values, offsets, events, largest)


def long_chunks(
    path: Path, spec: LongTable, rows: int | None = None, grouped_in: Path | None = None
) -> Iterator[LongChunk]:
    """The plain long table at ``path`` in chunks of whole patients of about ``rows`` rows
    (default :data:`CHUNK_ROWS`), in order of first appearance: read as it is, or with
    ``grouped_in`` (a folder for temporary files) grouped by patient first. Raises
    :class:`~icaht.errors.InputError` for its columns, :class:`NotPlain` as soon as a cell needs
    the tabular reader (:class:`PatientsApart` when not grouped)."""
    if spec.analyte not in {a.value for a in Analyte}:
        raise NotPlain
    size = CHUNK_ROWS if rows is None else rows
    seen: set[str] = set()
    if grouped_in is None:
        tables = _whole_patients(path, spec, size)
    else:
        tables = _grouped(path, spec, size, grouped_in)
    for table in tables:
        yield _chunk(table, spec, seen)
