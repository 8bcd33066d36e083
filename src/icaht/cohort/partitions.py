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
  ``icaht.io.fhir.ndjson.iter_ndjson_patients``, :data:`RECORDS_PER_PARTITION` per partition,
  read lazily in the main process. A patient with an invalid resource or whose resources map to
  an invalid record is rejected with its problems (file, line, element path, value); malformed
  lines and invalid resources of no known patient are listed with an empty patient_id, as rows
  of no patient. The other patients are assessed.

Row numbers in problems are always the 1-based data row of the original file.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from icaht.cohort.batch import (
    Rejection,
)
from icaht.cohort.partition_units import (
    FilesPartition,
    Partition,
    Plan,
    RecordsPartition,
    TablePart,
    TabularPartition,
)
from icaht.cohort.row_groups import (
    Cut,
    RowGroup,
    in_patient_order,
    overlapping,
    range_cuts,
    row_groups,
)
from icaht.cohort.scatter import Progress, csv_options, hash_bucket, range_bucket, scatter
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.tabular import find_table, is_tabular_folder

#: Observation rows per partition (engine setting; about 500-1,000 patients of a typical course).
TARGET_PARTITION_ROWS = 250_000
#: Observation rows below which a partition is not cut further to give another worker work
#: (engine setting: spreading fewer rows costs more in worker start-up than it saves).
MIN_PARTITION_ROWS = 20_000
#: A range partition that cannot be cut below this many rows is hash-partitioned instead.
MAX_PARTITION_ROWS = 4 * TARGET_PARTITION_ROWS
#: Record files (or FHIR records) per partition.
RECORDS_PER_PARTITION = 200
_ESTIMATE_BYTES = 1 << 20


def _readable_by_range(groups: list[RowGroup], cuts: list[Cut]) -> bool:
    """A patients/events file can be read by id range: in patient order, and no partition would
    read more than :data:`MAX_PARTITION_ROWS` rows of it (e.g. one huge row group)."""
    if not in_patient_order(groups):
        return False
    for _, low, high in cuts:
        chosen, _ = overlapping(groups, low, high)
        if sum(groups[i].rows for i in chosen) > MAX_PARTITION_ROWS:
            return False
    return True


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
    read, convert = csv_options(path)
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
    groups = row_groups(observations) if observations.suffix == ".parquet" else None
    if groups is not None and in_patient_order(groups):
        cuts = range_cuts(groups, target)
        largest = max(sum(groups[i].rows for i in chosen) for chosen, _, _ in cuts)
        enough = min(workers, math.ceil(obs_rows / target))  # keep every worker busy
        if largest <= MAX_PARTITION_ROWS and len(cuts) >= enough:
            return _range_plan(patients, observations, events, groups, cuts, total, workroot)
    return _hash_plan(patients, observations, events, obs_rows, target, total, workroot, progress)


def _range_plan(
    patients: Path,
    observations: Path,
    events: Path | None,
    groups: list[RowGroup],
    cuts: list[Cut],
    total: int,
    workroot: Path,
) -> Plan:
    bounds = [high for _, _, high in cuts[:-1] if high is not None]
    workdir: tempfile.TemporaryDirectory[str] | None = None
    routed: dict[str, list[Path]] = {}
    side_groups: dict[str, list[RowGroup] | None] = {}
    for name, path in (("patients", patients), ("events", events)):
        if path is None:
            continue
        found = row_groups(path) if path.suffix == ".parquet" else None
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
        chosen, firsts = overlapping(side_groups[name] or [], low, high)
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
    from icaht.io.fhir.ndjson import RejectedPatient, iter_ndjson_patients  # noqa: PLC0415

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
