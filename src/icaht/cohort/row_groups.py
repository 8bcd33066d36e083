"""Parquet row-group statistics of a table: each group's ``patient_id`` range, whether the groups
are in patient order, and where a table in patient order can be cut into partitions by
``patient_id`` range without splitting a patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pyarrow.parquet as pq


@dataclass(frozen=True, slots=True)
class RowGroup:
    low: str
    high: str
    rows: int
    first_row: int


def row_groups(path: Path) -> list[RowGroup] | None:
    """Per row group: min/max ``patient_id`` from the statistics; None when unknown."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    if "patient_id" not in names:
        return None
    column = names.index("patient_id")
    groups: list[RowGroup] = []
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
            groups.append(RowGroup(stats.min, stats.max, group.num_rows, first))
        first += group.num_rows
    return groups


def in_patient_order(groups: list[RowGroup]) -> bool:
    """Row groups ascend by patient_id without overlap (a patient may span adjacent groups)."""
    return all(a.high <= b.low for a, b in pairwise(groups))


#: A partition by id range: its row groups and its [low, high) ``patient_id`` range.
Cut = tuple[list[int], str | None, str | None]


def range_cuts(groups: list[RowGroup], target: int) -> list[Cut]:
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


def overlapping(
    groups: list[RowGroup], low: str | None, high: str | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    chosen = [
        i
        for i, g in enumerate(groups)
        if (low is None or g.high >= low) and (high is None or g.low < high)
    ]
    return tuple(chosen), tuple(groups[i].first_row for i in chosen)
