"""Streaming passes over a table (Arrow batches, read as :func:`icaht.io.tabular.read_table`
reads it) that route every row by its ``patient_id`` into one temporary Parquet file per
partition, keeping the row's original number; and the two routings, by hash and by id range.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from icaht.errors import InputError, Problem

#: Rows per batch of the streaming partitioning pass.
SCATTER_BATCH_ROWS = 1 << 20
#: Column of a routed part holding each row's original 1-based row number.
ROW_COLUMN = "_row"
Progress = Callable[[int], None]


# -- streaming passes -----------------------------------------------------------------------------
def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), f"cannot read table: {exc}")]) from None


def csv_options(path: Path) -> tuple[pacsv.ReadOptions, pacsv.ConvertOptions]:
    """Every column as text, empty cell = null: the options of ``icaht.io.tabular.read_table``."""
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in _csv_header(path)},
        strings_can_be_null=True,
        null_values=[""],
    )
    return pacsv.ReadOptions(block_size=32 << 20), convert


def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The table as Arrow batches, read as :func:`icaht.io.tabular.read_table` reads it."""
    try:
        if path.suffix == ".parquet":
            yield from pq.ParquetFile(path).iter_batches(batch_size=SCATTER_BATCH_ROWS)
            return
        read, convert = csv_options(path)
        yield from pacsv.open_csv(path, read_options=read, convert_options=convert)
    except (OSError, pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), f"cannot read table: {exc}")]) from None


def _schema(path: Path) -> pa.Schema:
    if path.suffix == ".parquet":
        return pq.read_schema(path)
    return pa.schema([(name, pa.string()) for name in _csv_header(path)])


def hash_bucket(ids: pa.Array, buckets: int) -> NDArray[np.int64]:
    """Bucket of each row: CRC-32 of the trimmed patient_id modulo ``buckets`` (stable across
    runs, machines and processes); rows without an id go to bucket 0."""
    encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(pc.cast(ids, pa.string())))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    values = encoded.dictionary.to_pylist()
    per_value = np.array(
        [zlib.crc32(v.encode("utf-8")) % buckets for v in values] + [0], dtype=np.int64
    )
    index = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    found: NDArray[np.int64] = per_value[index]
    return found


def range_bucket(ids: pa.Array, cuts: list[str]) -> NDArray[np.int64]:
    """Partition of each row for ascending cut points: k such that cuts[k-1] <= id < cuts[k];
    rows without an id go to partition 0 (as :class:`TablePart` range reads place them)."""
    encoded = pc.dictionary_encode(pc.cast(ids, pa.string()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    values = encoded.dictionary.to_pylist()
    boundaries = np.array(cuts, dtype=object)
    per_value = np.array(
        [int(np.searchsorted(boundaries, v, side="right")) for v in values] + [0], dtype=np.int64
    )
    index = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    found: NDArray[np.int64] = per_value[index]
    return found


def scatter(
    path: Path,
    folder: Path,
    name: str,
    parts: int,
    assign: Callable[[pa.Array], NDArray[np.int64]],
    progress: Progress | None = None,
) -> list[Path]:
    """Route every row of a table into ``parts`` Parquet files (``{name}-{k}.parquet``), with
    its original 1-based row number in ``_row``; returns the files (all exist, maybe empty)."""
    writers: dict[int, pq.ParquetWriter] = {}
    files = [folder / f"{name}-{k:05d}.parquet" for k in range(parts)]
    schema = _schema(path).append(pa.field(ROW_COLUMN, pa.int64()))
    first = 0
    try:
        for batch in _batches(path):
            n = batch.num_rows
            if not n:
                continue
            if "patient_id" not in batch.schema.names:
                raise InputError([Problem(str(path), "missing column", field="patient_id")])
            table = (
                pa.Table.from_batches([batch])
                .select(schema.names[:-1])
                .append_column(
                    ROW_COLUMN, pa.array(np.arange(first + 1, first + n + 1, dtype=np.int64))
                )
            )
            first += n
            target = assign(table["patient_id"])
            order = np.argsort(target, kind="stable")
            ordered = target[order]
            edges = np.flatnonzero(np.diff(ordered)) + 1
            for lo, hi in zip([0, *edges.tolist()], [*edges.tolist(), n], strict=True):
                k = int(ordered[lo])
                writer = writers.get(k)
                if writer is None:
                    writer = writers[k] = pq.ParquetWriter(files[k], schema)
                writer.write_table(table.take(pa.array(order[lo:hi])).cast(schema))
            if progress is not None:
                progress(n)
    finally:
        for writer in writers.values():
            writer.close()
    for k, file in enumerate(files):
        if k not in writers:
            pq.write_table(schema.empty_table(), file)
    return files
