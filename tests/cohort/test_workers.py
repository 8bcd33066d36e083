"""Cohort assess workers (issue 20, item 5): a cohort large enough to be spread is assessed by
one worker process per core, each a child of the command that the command waits for (its CPU
time and memory are the command's); a smaller one runs in the command's own process, where
starting workers would cost more than it saves (``MIN_PARTITION_ROWS``)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.cohort.cohort_data import make_cohort

from icaht.cohort.local import run_local
from icaht.cohort.partitions import MIN_PARTITION_ROWS


def _rows(folder: Path) -> int:
    return int(pq.ParquetFile(folder / "observations.parquet").metadata.num_rows)


def test_a_cohort_of_two_minimal_partitions_uses_both_workers(tmp_path: Path) -> None:
    folder = make_cohort(tmp_path / "set", patients=110)
    assert _rows(folder) >= 2 * MIN_PARTITION_ROWS  # the smallest cohort the plan spreads
    summary = run_local(folder, tmp_path / "out" / "results.parquet", workers=2)
    assert summary.assessed == 110
    pids = {pid for pid, _ in summary.workers}
    assert len(pids) == 2
    assert os.getpid() not in pids
    assert {parent for _, parent in summary.workers} == {os.getpid()}  # children of the command
    for pid in pids:  # and waited for: reaped, not left running or as zombies
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert summary.engine == "local (2 worker processes)"


def test_a_cohort_below_that_runs_in_the_command_process(tmp_path: Path) -> None:
    folder = make_cohort(tmp_path / "set", patients=12)
    assert _rows(folder) < 2 * MIN_PARTITION_ROWS
    summary = run_local(folder, tmp_path / "out" / "results.parquet", workers=2)
    assert summary.workers == ((os.getpid(), os.getppid()),)
    assert summary.engine == "local (in this process)"
