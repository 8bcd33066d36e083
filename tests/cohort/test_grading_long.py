"""``icaht grade --grades-only`` of a long table, chunk by chunk (icaht.cohort.long_grades): the
same rows as the per-patient path, on the example and on a simulated long table with gaps,
several values a day, events (ties among them and before day 0) and patients cut across chunks;
a table whose patients' rows are apart is read grouped; a table that is not plain goes to the
per-patient path and its errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icaht.cohort import grading, long_grades
from icaht.cohort.grading import grade
from icaht.errors import InputError
from icaht.io import long_stream
from icaht.io.long_table import LongTable

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "long-table" / "anc.csv"
CELLS = LongTable(unit="cells/uL")


def _both(
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int = 1,
    as_of: float | date | None = None,
) -> tuple[str, str, str]:
    """(chunked rows, per-patient rows, chunked strategy)."""
    kw: dict[str, Any] = {
        "profile": "seed-2023",
        "long_table": CELLS,
        "grades_only": True,
        "as_of": as_of,
    }
    fast = grade(path, tmp_path / "fast.csv", workers=workers, **kw)
    with monkeypatch.context() as m:
        m.setattr(grading, "fast_long_table", lambda spec, as_of: False)
        grade(path, tmp_path / "slow.csv", **kw)
    return (tmp_path / "fast.csv").read_text(), (tmp_path / "slow.csv").read_text(), fast.strategy


def _dates(cart: np.ndarray, day: np.ndarray) -> pa.Array:
    values = np.where(np.isnan(day), 0, day).astype("timedelta64[D]") + cart
    return pa.array(values.astype("datetime64[D]"), mask=np.isnan(day))


def simulated(patients: int, seed: int, path: Path) -> Path:
    """A long table of ``patients`` with 0-60 ANC values on days -5..120 (some days twice),
    depths around the thresholds and events that end follow-up early, tie or come before day
    0."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(1, 60, patients)
    rows[:2] = (1, 2)  # one or two values
    pid = np.repeat(np.arange(patients), rows)
    day = np.sort(rng.integers(-5, 121, pid.size) + pid * 1000) - pid * 1000
    levels = np.array([0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2.5])
    anc = rng.choice(levels, pid.size) * 1000 + rng.choice([0, 0, 0, 10, -10], pid.size)
    cart = np.datetime64("2024-01-01") + rng.integers(0, 300, patients).astype("timedelta64[D]")
    ends = {}
    for name in ("last_fu_date", "progression_date", "subsequent_therapy_date"):
        ends[name] = rng.integers(-3, 130, patients).astype(np.float64)
        ends[name][rng.random(patients) < 0.6] = np.nan
    tie = np.arange(patients) % 7 == 0  # progression and next therapy the same day
    ends["subsequent_therapy_date"][tie] = ends["progression_date"][tie]
    events = {name: _dates(cart[pid], when[pid]) for name, when in ends.items()}
    table = pa.table(
        {
            "patient_id": pa.array([f"S{p:04d}" for p in pid]),
            "cart_date": pa.array(cart[pid]),
            "date": _dates(cart[pid], day.astype(np.float64)),
            "anc": np.maximum(anc, 0.0),
            **events,
        }
    )
    pq.write_table(table, path, row_group_size=500)
    return path


@pytest.mark.parametrize(("apart", "how"), [(False, "kernel"), (True, "grouped by patient")])
def test_the_example_long_table_as_is_or_with_a_patient_apart_gives_the_per_patient_rows(
    apart: bool, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = EXAMPLE
    if apart:  # lt-1's first row moved to the end
        lines = EXAMPLE.read_text().splitlines()
        path = tmp_path / "apart.csv"
        path.write_text("\n".join([lines[0], *lines[2:], lines[1]]) + "\n")
    fast, slow, strategy = _both(path, tmp_path, monkeypatch)
    assert how in strategy
    assert fast == slow


def test_a_simulated_long_table_in_chunks_gives_the_per_patient_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = simulated(300, 20, tmp_path / "long.parquet")
    monkeypatch.setattr(long_stream, "CHUNK_ROWS", 700)  # patients cut across reads
    fast, slow, strategy = _both(path, tmp_path, monkeypatch, workers=2)
    assert "kernel" in strategy
    assert fast.splitlines()[0] == ",".join(long_grades.columns())
    assert fast == slow


def test_a_shuffled_simulated_table_read_grouped_gives_the_per_patient_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = simulated(300, 21, tmp_path / "long.parquet")
    table = pq.read_table(path)
    order = np.random.default_rng(1).permutation(table.num_rows)
    pq.write_table(table.take(order), path, row_group_size=500)
    monkeypatch.setattr(long_stream, "CHUNK_ROWS", 700)  # several buckets
    fast, slow, strategy = _both(path, tmp_path, monkeypatch, workers=2)
    assert "grouped by patient" in strategy
    head, *rows = fast.splitlines()
    assert rows != sorted(rows)  # bucket after bucket
    assert [head, *sorted(rows)] == [slow.splitlines()[0], *sorted(slow.splitlines()[1:])]


def test_a_bad_value_is_reported_by_the_tabular_reader_with_its_row(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text().splitlines()
    cells = lines[3].split(",")
    cells[3] = "12x"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines[:3], ",".join(cells), *lines[4:]]) + "\n")
    with pytest.raises(InputError) as caught:
        grade(bad, tmp_path / "out.csv", profile="seed-2023", long_table=CELLS, grades_only=True)
    problem = caught.value.problems[0]
    assert (problem.source, problem.row, problem.field) == (str(bad), 3, "anc")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("as_of", [0, 12.5, 30, 45, date(2024, 4, 1)])
def test_as_of_a_day_or_a_date_gives_the_per_patient_rows(
    as_of: float | date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = simulated(120, 22, tmp_path / "long.parquet")
    fast, slow, strategy = _both(path, tmp_path, monkeypatch, as_of=as_of)
    assert "kernel" in strategy
    assert fast == slow
