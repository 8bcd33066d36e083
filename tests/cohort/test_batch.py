"""The cohort batch path and the tabular reader validate rows with the same functions: the same bad
rows give the same problems (file, 1-based data row of the file, field, value, message), whether
the set is loaded whole (:func:`icaht.io.tabular.load_tabular`), checked as one partition
(:func:`icaht.cohort.batch.courses_from_tables`) or cut into many partitions by the local engine
(``errors.csv``). The one documented difference: the batch path lists a patient whose patients
row is invalid once, with that row's reason, not each of its other rows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from icaht.cohort.batch import Rejection, TableRows, courses_from_tables
from icaht.cohort.local import run_local
from icaht.errors import InputError, Problem
from icaht.io.tabular import find_table, load_tabular, read_table

Rows = list[dict[str, Any]]
Key = tuple[str, int | None, str, str, str]


def _obs(pid: str | None, value: str | None, unit: str = "10^9/L", **cells: str) -> dict[str, Any]:
    return {"patient_id": pid, "analyte": "anc", "value": value, "unit": unit} | cells


def _good(pid: str, infusion: str | None = "2024-03-20") -> dict[str, Any]:
    return {"patient_id": pid, "infusion_date": infusion, "age_years": "60"}


# One bad row per patient (or a row of no patient), so that rejecting a patient hides no other row.
PATIENTS: Rows = [
    _good("p01"),
    {"patient_id": "p02", "infusion_date": None, "age_years": "-4"},  # invalid age
    _good("p03"),
    _good("p04"),
    {"patient_id": "p05", "infusion_date": None, "ld_start": "2024-01-01"},  # date, no infusion
    *(_good(f"p{n:02d}") for n in range(6, 10)),
    _good("p10", infusion=None),
    *(_good(f"p{n:02d}") for n in range(11, 18)),
    {"patient_id": "p06", "age_years": "50"},  # listed twice
]
OBSERVATIONS: Rows = [
    _obs("p01", "0.5", day="1"),
    _obs("p01", "700", unit="/uL", time="2024-03-22T12:00:00"),
    _obs("p02", "0.5", day="1"),  # a row of the patient whose patients row is invalid
    _obs("p03", "0.5", unit="furlongs", day="2"),
    {"patient_id": "p04", "analyte": "hb", "value": "95", "unit": "g/dL", "day": "2"},
    _obs("ghost", "0.5", day="1"),
    _obs(None, "0.5", day="1"),
    _obs("p06", "abc", day="3"),
    {"patient_id": "p07", "analyte": "unobtainium", "value": "1", "unit": "/uL", "day": "3"},
    _obs("p08", "-1", day="3"),
    _obs("p09", "0.5", day="2", time="2024-03-22T00:00:00"),
    _obs("p10", "0.5", time="2024-03-22T00:00:00"),
    _obs("p11", "0.5", time="not a date"),
    _obs("p12", None, day="4"),
    _obs("p13", "nan", day="4"),
    *(_obs(f"p{n:02d}", "1.5", day="5") for n in range(1, 18)),
]
EVENTS: Rows = [
    {"patient_id": "p01", "kind": "crs", "day": "1", "end": "4", "grade": "2"},
    {"patient_id": "p14", "kind": "crs", "day": "2", "grade": "9"},
    {"patient_id": "p15", "kind": "fever", "day": "2", "time": "2024-03-22T00:00:00"},
    {"patient_id": "p16", "kind": "crs", "day": "5", "end": "3", "grade": "1"},
    {"patient_id": "nobody", "kind": "fever", "day": "1"},
    {"patient_id": "p17", "kind": "transfusion", "day": "3", "product": "blood"},
]
TABLES = {"patients": PATIENTS, "observations": OBSERVATIONS, "events": EVENTS}
#: Patients whose patients row is invalid, and the rows of theirs in the other tables.
INVALID = {"p02", "p05"}
ROWS_OF_INVALID = {
    (name, i + 1)
    for name, rows in TABLES.items()
    if name != "patients"
    for i, row in enumerate(rows)
    if row["patient_id"] in INVALID
}


def _write(folder: Path, fmt: str) -> Path:
    """The tables with text cells (an empty cell is missing), as CSV or Parquet."""
    folder.mkdir()
    for name, rows in TABLES.items():
        columns = list(dict.fromkeys(key for row in rows for key in row))
        table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})
        if fmt == "csv":
            pacsv.write_csv(table, folder / f"{name}.csv")
        else:
            pq.write_table(table, folder / f"{name}.parquet", row_group_size=8)
    return folder


def _key(source: str, row: int | None, field: str | None, value: object, message: str) -> Key:
    return (Path(source).stem, row, field or "", "" if value is None else str(value), message)


def _reader_problems(folder: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_tabular(folder)
    return info.value.problems


def _expected(problems: list[Problem]) -> set[Key]:
    """The reader's problems, less those of the rows of invalid patients in the other tables
    (the batch path lists such a patient once, with the reason its patients row is invalid)."""
    return {
        _key(p.source, p.row, p.field, p.value, p.message)
        for p in problems
        if (Path(p.source).stem, p.row) not in ROWS_OF_INVALID
    }


def _whole(folder: Path, name: str) -> TableRows:
    path = find_table(folder, name)
    assert path is not None
    return TableRows.whole(read_table(path), str(path))


@pytest.fixture(params=["csv", "parquet"])
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _write(tmp_path / "set", str(request.param))


def test_the_set_has_a_problem_of_every_kind(folder: Path) -> None:
    """The reader finds each planted problem (so the comparisons below compare something), and
    names each invalid patient once: by its patients row, not again on each of its rows in the
    other tables (revised by issue 20, item 6: one root cause reported once)."""
    problems = _reader_problems(folder)
    assert (
        not {
            (Path(p.source).stem, p.row)
            for p in problems
            if p.message == "patient_id not in the patients table"
        }
        & ROWS_OF_INVALID
    )
    found = {(stem, row, field) for stem, row, field, _, _ in _expected(problems)}
    assert found == {
        ("patients", 2, "age_years"),
        ("patients", 5, "ld_start"),
        ("patients", 18, "patient_id"),
        ("observations", 4, "unit"),
        ("observations", 5, "value"),
        ("observations", 6, "patient_id"),
        ("observations", 7, "patient_id"),
        ("observations", 8, "value"),
        ("observations", 9, "analyte"),
        ("observations", 10, "value"),
        ("observations", 11, "time"),
        ("observations", 12, "time"),
        ("observations", 13, "time"),
        ("observations", 14, "value"),
        ("observations", 15, "value"),
        ("events", 2, "grade"),
        ("events", 3, "start"),
        ("events", 4, "end"),
        ("events", 5, "patient_id"),
        ("events", 6, "product"),
    }


def test_one_partition_reports_what_the_reader_reports(folder: Path) -> None:
    patients = _whole(folder, "patients")
    courses, rejections = courses_from_tables(
        patients, _whole(folder, "observations"), _whole(folder, "events")
    )
    found = {_key(r.source, r.row, r.field, r.value, r.message) for r in rejections}
    assert found == _expected(_reader_problems(folder))
    assert len(found) == len(rejections)  # each problem once
    assert [r for r in rejections if r.patient_id == "p02"] == [
        Rejection(
            "p02",
            str(folder / f"patients{Path(patients.source).suffix}"),
            2,
            "age_years",
            "-4",
            "Input should be greater than or equal to 0",
        )
    ]
    assert {c.facts.patient_id for c in courses} == {"p01"}


def test_partitioned_run_lists_what_the_reader_reports(folder: Path, tmp_path: Path) -> None:
    """Many small partitions: every problem with the original file's row number."""
    out = tmp_path / "out" / "results.parquet"
    summary = run_local(folder, out, workers=1, target_rows=4)
    with (tmp_path / "out" / "errors.csv").open(encoding="utf-8") as handle:
        errors = list(csv.DictReader(handle))
    found = {_key(e["source"], int(e["row"]), e["field"], e["value"], e["message"]) for e in errors}
    assert found == _expected(_reader_problems(folder))
    assert len(found) == len(errors)
    assert summary.assessed == 1
    assert pq.read_table(out)["patient_id"].to_pylist() == ["p01"]
