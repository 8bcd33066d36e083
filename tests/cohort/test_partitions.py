"""Partitioning: every patient's rows in exactly one partition, partitions bounded in size,
original row numbers kept, a stable hash."""

from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.cohort.cohort_data import copy_as, make_cohort, read

from icaht.cohort.partition_units import TabularPartition
from icaht.cohort.partitions import plan
from icaht.cohort.scatter import hash_bucket, range_bucket


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("partitions") / "set", patients=24, chunk=3)


def test_hash_bucket_is_crc32_of_the_trimmed_id() -> None:
    ids = pa.array(["P1", " P1 ", "P2", None, "P1"])
    buckets = hash_bucket(ids, 7).tolist()
    assert buckets[0] == buckets[1] == buckets[4] == zlib.crc32(b"P1") % 7
    assert buckets[2] == zlib.crc32(b"P2") % 7
    assert buckets[3] == 0


def test_range_bucket() -> None:
    ids = pa.array(["A", "B", "C", "D", None])
    assert range_bucket(ids, ["B", "D"]).tolist() == [0, 1, 1, 2, 0]


def _partitions(source: Path, target: int, workroot: Path) -> list[TabularPartition]:
    cohort_plan = plan(source, target_rows=target, workroot=workroot)
    parts = list(cohort_plan.partitions)
    assert all(isinstance(p, TabularPartition) for p in parts)
    tables = [p for p in parts if isinstance(p, TabularPartition)]
    loaded = [
        (p.patients.read(), p.observations.read(), p.events.read() if p.events else None)
        for p in tables
    ]
    _check(source, loaded)
    cohort_plan.close()
    return tables


def _check(source: Path, loaded: list[tuple[object, ...]]) -> None:
    """Each row of each table is in exactly one partition, with its original row number, and a
    patient's rows are all in the partition of its patients row."""
    owner: dict[str, int] = {}
    for position, name in enumerate(("patients", "observations", "events")):
        original = read(source, name) if (source / f"{name}.parquet").exists() else None
        assert original is not None
        seen: Counter[int] = Counter()
        for k, tables in enumerate(loaded):
            part = tables[position]
            rows = part.rows.tolist()  # type: ignore[attr-defined]
            seen.update(rows)
            ids = part.table["patient_id"].to_pylist()  # type: ignore[attr-defined]
            expected = original["patient_id"].take(pa.array([r - 1 for r in rows])).to_pylist()
            assert ids == expected  # the row number points at the same row of the file
            for pid in ids:
                assert owner.setdefault(pid, k) == k
            if position == 0:
                patient_partition = dict.fromkeys(ids, k)
                assert all(owner[p] == k for p in patient_partition)
        assert sorted(seen) == list(range(1, original.num_rows + 1))
        assert set(seen.values()) == {1}


def test_range_partitions_cover_every_row_once(cohort: Path, tmp_path: Path) -> None:
    groups = pq.ParquetFile(cohort / "observations.parquet").metadata.num_row_groups
    parts = _partitions(cohort, 3000, tmp_path)
    assert 1 < len(parts) <= groups
    for part in parts:
        rows = sum(
            pq.ParquetFile(part.observations.path).metadata.row_group(i).num_rows
            for i in part.observations.row_groups or ()
        )
        assert rows <= 3000  # the row groups (3 patients each) allow it


def test_patient_spanning_row_groups_is_never_split(cohort: Path, tmp_path: Path) -> None:
    # 500-row groups: most patients (about 400 rows) span two groups; cuts only between
    # groups that share no patient
    source = tmp_path / "small-groups"
    source.mkdir()
    for name in ("patients", "observations", "events"):
        pq.write_table(read(cohort, name), source / f"{name}.parquet", row_group_size=500)
    parts = _partitions(source, 1000, tmp_path)
    assert len(parts) > 1


def test_hash_partitions_cover_every_row_once(cohort: Path, tmp_path: Path) -> None:
    source = copy_as(cohort, tmp_path / "shuffled", shuffle=("observations",), row_group_size=700)
    parts = _partitions(source, 2000, tmp_path)
    assert len(parts) == -(-read(cohort, "observations").num_rows // 2000)
    assert not list(tmp_path.glob("icaht-cohort-*"))  # closed plans remove their files
