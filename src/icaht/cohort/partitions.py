"""Stream a cohort's patients in partitions, so memory stays bounded whatever the cohort size.

A partition is a few hundred to a few thousand patients with all their rows (about
:data:`TARGET_PARTITION_ROWS` observations); a worker process loads one, assesses it and moves
on, so memory is about (workers + in-flight results) x one partition, whatever the cohort size.
How an input is cut (:func:`plan`):

* **Tabular Parquet written in patient order** (row groups whose ``patient_id`` ranges, from the
  Parquet statistics, ascend without overlapping, as ``icaht simulate`` and most exporters write
  them): consecutive observation row groups are grouped up to :data:`TARGET_PARTITION_ROWS`
  rows and cut only between two row groups whose id ranges are disjoint, so every patient's
  observations are in one partition. Each partition covers a ``patient_id`` range; its patients
  and events rows are read from the row groups overlapping that range (filtered to it), or, for
  a patients/events file not in patient order, routed by range into a temporary file per
  partition in one streaming pass. No sort, no full read.
* **Anything else** (CSV, Parquet not in patient order, row groups too large to give every
  worker a partition of at most :data:`MAX_PARTITION_ROWS` rows): hash partitioning.
  One streaming pass over each table (Arrow batches, the same CSV options as
  :func:`icaht.io.tabular.read_table`) routes every row by a CRC-32 of its trimmed
  ``patient_id`` into one of K temporary Parquet files per table (K = observations /
  :data:`TARGET_PARTITION_ROWS`), keeping the row's original number for error messages. Then
  partition k is file k of each table. The temporary folder is next to the output and removed at
  the end.
* A small tabular set (up to :data:`TARGET_PARTITION_ROWS` observations) is cut into one
  partition per worker of at least :data:`MIN_PARTITION_ROWS` rows each, so every core works on
  a small cohort too; below that it is one partition.
* **A folder of JSON records**: :data:`RECORDS_PER_PARTITION` files per partition.
* **A folder of FHIR NDJSON** (``*.ndjson``): patients from
  ``icaht.io.fhir.reader.iter_ndjson_patients``, :data:`RECORDS_PER_PARTITION` per partition,
  read lazily in the main process. A patient with an invalid resource or whose resources map to
  an invalid record is rejected with its problems (file, line, element path, value); malformed
  lines and invalid resources of no known patient are listed with an empty patient_id, as rows
  of no patient. The other patients are assessed.

Row numbers in problems are always the 1-based data row of the original file.
"""

from __future__ import annotations

import csv
import math
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice, pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
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
from icaht.core.course import Course
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.tabular import find_table, is_tabular_folder, read_table

#: Observation rows per partition (engine setting; about 500-1,000 patients of a typical course).
TARGET_PARTITION_ROWS = 250_000
#: Observation rows below which a partition is not cut further to give another worker work
#: (engine setting: spreading fewer rows costs more in worker start-up than it saves).
MIN_PARTITION_ROWS = 20_000
#: A range partition that cannot be cut below this many rows is hash-partitioned instead.
MAX_PARTITION_ROWS = 4 * TARGET_PARTITION_ROWS
#: Record files (or FHIR records) per partition.
RECORDS_PER_PARTITION = 200
#: Rows per batch of the streaming partitioning pass.
SCATTER_BATCH_ROWS = 1 << 20
ROW_COLUMN = "_row"
_ESTIMATE_BYTES = 1 << 20

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


# -- Parquet statistics ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Group:
    low: str
    high: str
    rows: int
    first_row: int


def _row_groups(path: Path) -> list[_Group] | None:
    """Per row group: min/max ``patient_id`` from the statistics; None when unknown."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    if "patient_id" not in names:
        return None
    column = names.index("patient_id")
    groups: list[_Group] = []
    first = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        stats = group.column(column).statistics
        if group.num_rows and (
            stats is None
            or not stats.has_min_max
            or stats.null_count
            or not isinstance(stats.min, str)
            or not isinstance(stats.max, str)
        ):
            return None
        if group.num_rows:
            groups.append(_Group(stats.min, stats.max, group.num_rows, first))
        first += group.num_rows
    return groups


def _in_patient_order(groups: list[_Group]) -> bool:
    """Row groups ascend by patient_id without overlap (a patient may span adjacent groups)."""
    return all(a.high <= b.low for a, b in pairwise(groups))


Cut = tuple[list[int], str | None, str | None]


def _range_cuts(groups: list[_Group], target: int) -> list[Cut]:
    """Consecutive row groups, up to ``target`` rows per partition where the row groups allow,
    cut only where two adjacent groups share no patient; each partition's [low, high) id range
    covers the gaps between partitions."""
    out: list[Cut] = []
    current: list[int] = []
    rows = 0
    low: str | None = None
    for i, group in enumerate(groups):
        current.append(i)
        rows += group.rows
        following = groups[i + 1] if i + 1 < len(groups) else None
        if following is None:
            break
        if rows + following.rows > target and group.high < following.low:
            out.append((current, low, following.low))
            current, rows, low = [], 0, following.low
    out.append((current, low, None))
    return out


def _readable_by_range(groups: list[_Group], cuts: list[Cut]) -> bool:
    """A patients/events file can be read by id range: in patient order, and no partition would
    read more than :data:`MAX_PARTITION_ROWS` rows of it (e.g. one huge row group)."""
    if not _in_patient_order(groups):
        return False
    for _, low, high in cuts:
        chosen, _ = _overlapping(groups, low, high)
        if sum(groups[i].rows for i in chosen) > MAX_PARTITION_ROWS:
            return False
    return True


def _overlapping(
    groups: list[_Group], low: str | None, high: str | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    chosen = [
        i
        for i, g in enumerate(groups)
        if (low is None or g.high >= low) and (high is None or g.low < high)
    ]
    return tuple(chosen), tuple(groups[i].first_row for i in chosen)


# -- streaming passes -----------------------------------------------------------------------------
def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), f"cannot read table: {exc}")]) from None


def _csv_options(path: Path) -> tuple[pacsv.ReadOptions, pacsv.ConvertOptions]:
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
        read, convert = _csv_options(path)
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


# -- planning -------------------------------------------------------------------------------------
def _rows_in(path: Path) -> int:
    """Rows of a table: Parquet metadata, or an estimate for CSV from its size."""
    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(_ESTIMATE_BYTES)
    lines = max(1, head.count(b"\n"))
    return math.ceil(size / max(1, len(head)) * lines)


def _count_patients(path: Path) -> int:
    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    read, convert = _csv_options(path)
    return sum(b.num_rows for b in pacsv.open_csv(path, read_options=read, convert_options=convert))


def _spread(target: int, rows: int, workers: int) -> int:
    """The partition size that gives every worker a partition when the input allows partitions
    of at least :data:`MIN_PARTITION_ROWS` rows (a small cohort too), else ``target``."""
    wanted = max(1, min(workers, rows // MIN_PARTITION_ROWS))
    return min(target, max(MIN_PARTITION_ROWS, math.ceil(rows / wanted)))


def _tabular_plan(
    folder: Path, target: int, workers: int, workroot: Path, progress: Progress | None
) -> Plan:
    patients = find_table(folder, "patients")
    observations = find_table(folder, "observations")
    events = find_table(folder, "events")
    if patients is None or observations is None:
        missing = [n for n, p in (("patients", patients), ("observations", observations)) if not p]
        raise InputError([Problem(str(folder), f"no {n}.csv or {n}.parquet") for n in missing])
    total = _count_patients(patients)
    obs_rows = _rows_in(observations)
    target = _spread(target, obs_rows, workers)
    if obs_rows <= target:
        part = TabularPartition(
            TablePart(str(patients), str(patients)),
            TablePart(str(observations), str(observations)),
            TablePart(str(events), str(events)) if events else None,
        )
        return Plan(iter([part]), total, "one partition (small input)", "tabular", count=1)
    groups = _row_groups(observations) if observations.suffix == ".parquet" else None
    if groups is not None and _in_patient_order(groups):
        cuts = _range_cuts(groups, target)
        largest = max(sum(groups[i].rows for i in chosen) for chosen, _, _ in cuts)
        enough = min(workers, math.ceil(obs_rows / target))  # keep every worker busy
        if largest <= MAX_PARTITION_ROWS and len(cuts) >= enough:
            return _range_plan(patients, observations, events, groups, cuts, total, workroot)
    return _hash_plan(patients, observations, events, obs_rows, target, total, workroot, progress)


def _range_plan(
    patients: Path,
    observations: Path,
    events: Path | None,
    groups: list[_Group],
    cuts: list[Cut],
    total: int,
    workroot: Path,
) -> Plan:
    bounds = [high for _, _, high in cuts[:-1] if high is not None]
    workdir: tempfile.TemporaryDirectory[str] | None = None
    routed: dict[str, list[Path]] = {}
    side_groups: dict[str, list[_Group] | None] = {}
    for name, path in (("patients", patients), ("events", events)):
        if path is None:
            continue
        found = _row_groups(path) if path.suffix == ".parquet" else None
        side_groups[name] = found if found is not None and _readable_by_range(found, cuts) else None
        if side_groups[name] is None:
            if workdir is None:
                workdir = tempfile.TemporaryDirectory(prefix="icaht-cohort-", dir=workroot)
            try:
                routed[name] = scatter(
                    path,
                    Path(workdir.name),
                    name,
                    len(cuts),
                    lambda ids: range_bucket(ids, bounds),
                )
            except BaseException:
                workdir.cleanup()
                raise

    def side(name: str, path: Path | None, k: int, low: str | None, high: str | None) -> TablePart:
        assert path is not None
        if name in routed:
            return TablePart(str(routed[name][k]), str(path))
        chosen, firsts = _overlapping(side_groups[name] or [], low, high)
        return TablePart(str(path), str(path), chosen, firsts, low, high)

    def partitions() -> Iterator[Partition]:
        for k, (chosen, low, high) in enumerate(cuts):
            obs = TablePart(
                str(observations),
                str(observations),
                tuple(chosen),
                tuple(groups[i].first_row for i in chosen),
            )
            yield TabularPartition(
                side("patients", patients, k, low, high),
                obs,
                side("events", events, k, low, high) if events else None,
            )

    how = f"{len(cuts)} partitions by patient_id range (Parquet row groups in patient order)"
    if routed:
        how += "; " + ", ".join(routed) + " routed to them in one pass"
    return Plan(partitions(), total, how, "tabular", workdir, count=len(cuts))


def _hash_plan(
    patients: Path,
    observations: Path,
    events: Path | None,
    obs_rows: int,
    target: int,
    total: int,
    workroot: Path,
    progress: Progress | None,
) -> Plan:
    buckets = max(1, math.ceil(obs_rows / target))
    workdir = tempfile.TemporaryDirectory(prefix="icaht-cohort-", dir=workroot)
    folder = Path(workdir.name)

    def assign(ids: pa.Array) -> NDArray[np.int64]:
        return hash_bucket(ids, buckets)

    sources = {"patients": patients, "observations": observations, "events": events}
    try:
        files = {
            name: scatter(path, folder, name, buckets, assign, progress)
            for name, path in sources.items()
            if path is not None
        }
    except BaseException:
        workdir.cleanup()
        raise

    def part(name: str, k: int) -> TablePart:
        return TablePart(str(files[name][k]), str(sources[name]))

    parts: list[Partition] = [
        TabularPartition(
            part("patients", k), part("observations", k), part("events", k) if events else None
        )
        for k in range(buckets)
    ]
    how = f"{buckets} partitions by hash of patient_id (one streaming pass into temporary files)"
    return Plan(iter(parts), total, how, "tabular", workdir, count=buckets)


def _chunks(items: Iterator[Any], size: int) -> Iterator[tuple[Any, ...]]:
    while chunk := tuple(islice(items, size)):
        yield chunk


def _fhir_plan(folder: Path, per_partition: int) -> Plan:
    # fhir.resources takes a while to import: only for NDJSON input (not in every worker)
    from icaht.io.fhir.reader import RejectedPatient, iter_ndjson_patients  # noqa: PLC0415

    source = str(folder)

    def partitions() -> Iterator[Partition]:
        for chunk in _chunks(iter_ndjson_patients(folder), per_partition):
            records = tuple((r, source) for r in chunk if isinstance(r, PatientRecord))
            rejections = tuple(
                replace(Rejection.of(r.patient_id, p), orphan=r.patient_id is None)
                for r in chunk
                if isinstance(r, RejectedPatient)
                for p in r.problems
            )
            yield RecordsPartition(records, rejections)

    return Plan(partitions(), None, "FHIR NDJSON records, read lazily", "records")


def plan(
    path: Path,
    *,
    target_rows: int = TARGET_PARTITION_ROWS,
    records_per_partition: int = RECORDS_PER_PARTITION,
    workroot: Path | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> Plan:
    """Partitions of the input at ``path`` (see the module doc). Temporary files, if any, go in
    a folder under ``workroot`` (default: the system's temporary folder). Partitions by
    ``patient_id`` range are used only when they are at least as many as ``workers`` (or as the
    rows allow), so that every worker has work."""
    root = workroot if workroot is not None else Path(tempfile.gettempdir())
    if path.is_file():
        if path.suffix.lower() != ".json":
            raise InputError(
                [Problem(str(path), "expected a .json record, or a folder of tables or records")]
            )
        return Plan(iter([FilesPartition((str(path),))]), 1, "one record", "records", count=1)
    if is_tabular_folder(path):
        return _tabular_plan(path, target_rows, workers, root, progress)
    if path.is_dir():
        if any(path.glob("*.ndjson")):
            return _fhir_plan(path, records_per_partition)
        files = sorted(str(p) for p in path.glob("*.json") if p.is_file())
        if not files:
            raise InputError([Problem(str(path), "no tables, *.json records or *.ndjson files")])
        chunks = list(_chunks(iter(files), records_per_partition))
        how = f"{len(chunks)} partitions of up to {records_per_partition} record files"
        parts: list[Partition] = [FilesPartition(c) for c in chunks]
        return Plan(iter(parts), len(files), how, "records", count=len(chunks))
    raise InputError([Problem(str(path), "no such file or folder")])
