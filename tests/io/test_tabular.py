"""The tabular form: patients / observations / events as CSV or Parquet (icaht.io.tabular).

Contract: docs/tabular.md and docs/architecture.md (layers: io): every problem of every table is
reported together with the file, the 1-based data row, the column and the value, and nothing is
loaded when there is any. Unit conversions: docs/evidence.md 8.2 (500 /uL = 0.5 x10^9/L, 20,000 /uL
= 20 x10^9/L, Hb 100 g/L = 10 g/dL, CRP 30 mg/L = 3.0 mg/dL)."""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icaht.core.record import CrsEpisode, Death, Medication, Transfusion
from icaht.errors import InputError, Problem
from icaht.io.inputs import load_courses
from icaht.io.tabular import (
    is_tabular_folder,
    load_tabular,
    tabular_courses,
    validate_events,
    validate_observations,
    validate_patients,
)
from icaht.knowledge.analytes import Analyte

Rows = list[dict[str, Any]]

#: Columns holding ISO dates/datetimes; Parquet sets store them as real date/timestamp columns.
_DATE_COLUMNS = {"infusion_date"}
_TIME_COLUMNS = {"time"}


def _columns(rows: Rows) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def write_table(folder: Path, name: str, rows: Rows, fmt: str) -> Path:
    """Write one table as CSV (text cells, empty = missing) or Parquet (typed columns)."""
    columns = _columns(rows)
    if fmt == "csv":
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
        return path
    path = folder / f"{name}.parquet"
    data: dict[str, list[Any]] = {c: [row.get(c) for row in rows] for c in columns}
    for c in columns:
        if c in _DATE_COLUMNS:
            data[c] = [date.fromisoformat(v) if v else None for v in data[c]]
        elif c in _TIME_COLUMNS:
            data[c] = [datetime.fromisoformat(v) if v else None for v in data[c]]
    pq.write_table(pa.table(data), path)
    return path


def write_set(
    folder: Path, fmt: str, patients: Rows, observations: Rows, events: Rows | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder, "patients", patients, fmt)
    write_table(folder, "observations", observations, fmt)
    if events is not None:
        write_table(folder, "events", events, fmt)
    return folder


def load_problems(folder: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_tabular(folder)
    return info.value.problems


def o(
    pid: str | None,
    analyte: str | None,
    value: Any,
    unit: str | None,
    day: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """An observation row (time, loinc, lln, uln go in ``extra``)."""
    return {
        "patient_id": pid,
        "day": day,
        "time": None,
        "analyte": analyte,
        "loinc": None,
        "value": value,
        "unit": unit,
    } | extra


GOOD_PATIENTS: Rows = [
    {"patient_id": "p1", "infusion_date": "2024-03-20", "age_years": 61, "sex": "female"},
    {"patient_id": "p2", "infusion_date": None, "age_years": 45, "sex": "male"},
    {"patient_id": "p3", "infusion_date": "2024-01-10", "age_years": 70, "sex": None},
]

GOOD_OBSERVATIONS: Rows = [
    o("p1", "anc", 500, "/uL", day=1),  # 0.5 x10^9/L
    o("p2", "hb", 100, "g/L", day=-3),  # 10 g/dL
    o("p1", "anc", 0.2, "10^9/L", day=3),
    o("p1", "platelets", 20_000, "/uL", day=3),  # 20 x10^9/L
    o("p1", "anc", 0.1, "K/uL", time="2024-03-22T12:00:00"),  # day 2.5
    o("p2", None, 45, "10*9/L", day=2, loinc="777-3"),  # platelets by LOINC
    o("p1", "crp", 30, "mg/L", day=0.5, lln=0, uln=5),  # 3.0 mg/dL, ULN 0.5 mg/dL
]

GOOD_EVENTS: Rows = [
    {"patient_id": "p1", "kind": "crs", "day": 1, "end": 4, "grade": 2},
    {"patient_id": "p1", "kind": "transfusion", "day": 5, "product": "platelets"},
    {"patient_id": "p2", "kind": "death", "day": 40},
    {"patient_id": "p1", "kind": "medication", "day": 0.5, "drug": "Filgrastim"},
]


@pytest.fixture(params=["csv", "parquet"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- a good set -------------------------------------------------------------------------------


def test_good_set_loads_per_patient_series(tmp_path: Path, fmt: str) -> None:
    """Each patient gets its own sorted, converted series and events (8.2 conversions)."""
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS, GOOD_OBSERVATIONS, GOOD_EVENTS)
    assert is_tabular_folder(folder)
    courses = load_tabular(folder)
    assert [c.facts.patient_id for c in courses] == ["p1", "p2", "p3"]
    p1, p2, p3 = courses

    anc = p1.series(Analyte.ANC)
    assert anc.day.tolist() == pytest.approx([1.0, 2.5, 3.0])
    assert anc.value.tolist() == pytest.approx([0.5, 0.1, 0.2])
    assert p1.series(Analyte.PLATELETS).value.tolist() == pytest.approx([20.0])
    crp = p1.series(Analyte.CRP)
    assert crp.value.tolist() == pytest.approx([3.0])
    assert crp.uln.tolist() == pytest.approx([0.5])
    assert len(p1.series(Analyte.HB)) == 0
    assert [e.kind for e in p1.events] == ["medication", "crs", "transfusion"]
    crs = p1.of_kind(CrsEpisode)[0]
    assert (crs.start, crs.end, crs.grade) == (1.0, 4.0, 2)
    assert p1.of_kind(Transfusion)[0].product == "platelets"
    assert p1.of_kind(Medication)[0].drug == "filgrastim"

    assert p2.series(Analyte.HB).day.tolist() == [-3.0]
    assert p2.series(Analyte.HB).value.tolist() == pytest.approx([10.0])
    assert p2.series(Analyte.PLATELETS).value.tolist() == pytest.approx([45.0])
    assert len(p2.series(Analyte.ANC)) == 0
    assert [e.start for e in p2.of_kind(Death)] == [40.0]

    assert p3.labs == {}
    assert p3.events == ()
    assert p3.facts.infusion_date == date(2024, 1, 10)


def test_events_table_is_optional(tmp_path: Path, fmt: str) -> None:
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS, GOOD_OBSERVATIONS)
    courses = load_tabular(folder)
    assert all(c.events == () for c in courses)


def test_tabular_and_json_agree(tmp_path: Path) -> None:
    """The same data read as a table and as JSON records gives the same course."""
    folder = write_set(
        tmp_path / "set", "csv", GOOD_PATIENTS[:1], GOOD_OBSERVATIONS[:1] + GOOD_OBSERVATIONS[2:5]
    )
    record = {
        "patient": {
            "patient_id": "p1",
            "infusion_date": "2024-03-20",
            "age_years": 61,
            "sex": "female",
        },
        "observations": [
            {"day": 1, "analyte": "anc", "value": 500, "unit": "/uL"},
            {"day": 3, "analyte": "anc", "value": 0.2, "unit": "10^9/L"},
            {"day": 3, "analyte": "platelets", "value": 20000, "unit": "/uL"},
            {"time": "2024-03-22T12:00:00", "analyte": "anc", "value": 0.1, "unit": "K/uL"},
        ],
    }
    (tmp_path / "p1.json").write_text(json.dumps(record))
    (table_course,) = load_tabular(folder)
    (json_course,) = load_courses(tmp_path / "p1.json")
    for analyte in (Analyte.ANC, Analyte.PLATELETS):
        assert table_course.series(analyte).day.tolist() == pytest.approx(
            json_course.series(analyte).day.tolist()
        )
        assert table_course.series(analyte).value.tolist() == pytest.approx(
            json_course.series(analyte).value.tolist()
        )


# --- bad sets ---------------------------------------------------------------------------------


def test_bad_rows_across_all_tables_give_one_error(tmp_path: Path, fmt: str) -> None:
    """Every problem of every table, each with file, 1-based row, field and value."""
    patients: Rows = [
        {"patient_id": "p1", "infusion_date": "2024-03-20", "age_years": "60", "sex": "female"},
        {"patient_id": "p2", "infusion_date": None, "age_years": "-4", "sex": "male"},  # row 2
        {"patient_id": "p3", "infusion_date": None, "age_years": "50", "sex": "robot"},  # row 3
    ]
    observations: Rows = [
        o("p1", "anc", "500", "/uL", day="1"),
        o("p1", "anc", "0.5", "furlongs", day="2"),  # row 2: unit
        o("p1", "hb", "95", "g/dL", day="2"),  # row 3: implausible value
        o("p9", "anc", "1", "/uL", day="2"),  # row 4: unknown patient
        o("p1", "anc", "abc", "/uL", day="3"),  # row 5: not a number
        o("p1", "unobtainium", "1", "/uL", day="3"),  # row 6: analyte
        o("p1", "anc", "-1", "/uL", day="3"),  # row 7: negative
        o("p1", "anc", "0.5", "10^9/L", day="4"),
    ]
    events: Rows = [
        {"patient_id": "p1", "kind": "crs", "day": "1", "grade": "2", "product": None, "end": None},
        {"patient_id": "p1", "kind": "crs", "day": "2", "grade": "9", "product": None, "end": None},
        {
            "patient_id": "p1",
            "kind": "transfusion",
            "day": "3",
            "grade": None,
            "product": "blood",
            "end": None,
        },
        {"patient_id": "p8", "kind": "crs", "day": "1", "grade": "1", "product": None, "end": None},
    ]
    folder = write_set(tmp_path / "set", fmt, patients, observations, events)
    problems = load_problems(folder)
    found = {(Path(p.source).stem, p.row, p.field, p.value) for p in problems}
    expected = {
        ("patients", 2, "age_years", "-4"),
        ("patients", 3, "sex", "robot"),
        ("observations", 2, "unit", "furlongs"),
        ("observations", 3, "value", 95.0),
        ("observations", 4, "patient_id", "p9"),
        ("observations", 5, "value", "abc"),
        ("observations", 6, "analyte", "unobtainium"),
        ("observations", 7, "value", -1.0),
        ("events", 2, "grade", "9"),
        ("events", 3, "product", "blood"),
        ("events", 4, "patient_id", "p8"),
    }
    assert found == expected
    assert all(Path(p.source).parent == folder for p in problems)
    # the message names the file and row for a human reader too
    text = str(InputError(problems))
    assert "observations." in text
    assert "row 3" in text


def test_day_and_time_both_given(tmp_path: Path, fmt: str) -> None:
    """A row gives day or time, not both (docs/tabular.md); in observations and in events."""
    observations = [
        o("p1", "anc", 0.5, "10^9/L", day=1),
        o("p1", "anc", 0.5, "10^9/L", day=2, time="2024-03-22T00:00:00"),
    ]
    events = [
        {"patient_id": "p1", "kind": "fever", "day": 1, "time": None},
        {"patient_id": "p1", "kind": "fever", "day": 2, "time": "2024-03-22T00:00:00"},
    ]
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS[:1], observations, events)
    problems = load_problems(folder)
    assert {(Path(p.source).stem, p.row) for p in problems} == {("observations", 2), ("events", 2)}
    obs_problem = next(p for p in problems if Path(p.source).stem == "observations")
    assert obs_problem.field == "time"
    assert "not both" in obs_problem.message


def test_time_without_infusion_date(tmp_path: Path, fmt: str) -> None:
    """A date/datetime time needs the patient's infusion_date (docs/tabular.md)."""
    observations = [
        o("p2", "anc", 0.5, "10^9/L", time="2024-03-22T00:00:00"),
        o("p1", "anc", 0.5, "10^9/L", time="2024-03-22T00:00:00"),
    ]
    events = [{"patient_id": "p2", "kind": "fever", "time": "2024-03-22T00:00:00"}]
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS[:2], observations, events)
    problems = load_problems(folder)
    assert {(Path(p.source).stem, p.row) for p in problems} == {("observations", 1), ("events", 1)}
    assert all("infusion_date" in p.message for p in problems)
    obs_problem = next(p for p in problems if Path(p.source).stem == "observations")
    assert obs_problem.field == "time"


def test_unknown_and_missing_patient_id(tmp_path: Path) -> None:
    observations = [
        o("p1", "anc", 0.5, "10^9/L", day=1),
        o("ghost", "anc", 0.5, "10^9/L", day=1),
        o(None, "anc", 0.5, "10^9/L", day=1),
    ]
    events = [{"patient_id": "nobody", "kind": "fever", "day": 1}]
    folder = write_set(tmp_path / "set", "csv", GOOD_PATIENTS, observations, events)
    problems = load_problems(folder)
    found = {(Path(p.source).stem, p.row, p.field, p.value) for p in problems}
    assert found == {
        ("observations", 2, "patient_id", "ghost"),
        ("observations", 3, "patient_id", None),
        ("events", 1, "patient_id", "nobody"),
    }


def test_event_ending_before_it_starts(tmp_path: Path, fmt: str) -> None:
    events = [
        {"patient_id": "p1", "kind": "crs", "day": 5, "end": 3, "grade": 1},
        {"patient_id": "p1", "kind": "crs", "day": 5, "end": 5, "grade": 1},  # same day is fine
    ]
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS[:1], GOOD_OBSERVATIONS[:1], events)
    problems = load_problems(folder)
    assert len(problems) == 1
    assert (Path(problems[0].source).stem, problems[0].row) == ("events", 1)
    assert "ends before" in problems[0].message
    assert problems[0].field in ("start", "end")


def test_duplicate_patient_row(tmp_path: Path) -> None:
    patients = [*GOOD_PATIENTS, {"patient_id": "p1"}]
    folder = write_set(tmp_path / "set", "csv", patients, GOOD_OBSERVATIONS[:1])
    problems = load_problems(folder)
    assert [(p.row, p.field, p.value) for p in problems] == [(4, "patient_id", "p1")]
    assert "duplicate" in problems[0].message


def test_missing_columns_and_missing_tables(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    write_table(folder, "patients", GOOD_PATIENTS, "csv")
    with pytest.raises(InputError) as info:
        load_tabular(folder)
    assert "observations" in info.value.problems[0].message
    write_table(folder, "observations", [{"patient_id": "p1", "value": 1}], "csv")
    problems = load_problems(folder)
    assert {p.field for p in problems} == {"unit", "analyte (or loinc)", "day (or time)"}
    assert all(p.message == "missing column" for p in problems)


def test_missing_value_and_missing_unit_cells(tmp_path: Path) -> None:
    observations = [
        o("p1", "anc", None, "10^9/L", day=1),
        o("p1", "anc", 0.5, None, day=1),
        o("p1", None, 0.5, "/uL", day=1),
    ]
    folder = write_set(tmp_path / "set", "csv", GOOD_PATIENTS[:1], observations)
    problems = load_problems(folder)
    assert {(p.row, p.field) for p in problems} == {(1, "value"), (2, "unit"), (3, "analyte")}


# Regression (fixed): a CSV value cell "nan" (or "NaN") parses as float NaN, is not a
# null, so no "missing value" problem is raised; load_tabular then passes
# np.nan_to_num(value, nan=0.0) to the normaliser and filters out the NaN problem, so the row is
# loaded as a value of 0.0 (here: ANC 0 x10^9/L), silently. The JSON reader rejects NaN values.
@pytest.mark.parametrize("cell", ["nan", "NaN"])
def test_nan_value_cell_is_not_loaded_as_zero(tmp_path: Path, cell: str) -> None:
    folder = write_set(
        tmp_path / "set", "csv", GOOD_PATIENTS[:1], [o("p1", "anc", cell, "10^9/L", day=1)]
    )
    problems = load_problems(folder)
    assert [(p.row, p.field) for p in problems] == [(1, "value")]


@pytest.mark.parametrize(
    ("cell", "message"), [("abc", "not a number"), ("inf", "not a finite number")]
)
def test_an_unusable_value_cell_is_reported_once(tmp_path: Path, cell: str, message: str) -> None:
    folder = write_set(
        tmp_path / "set", "csv", GOOD_PATIENTS[:1], [o("p1", "anc", cell, "10^9/L", day=1)]
    )
    problems = load_problems(folder)
    assert [(p.row, p.field, p.message) for p in problems] == [(1, "value", message)]


# Regression (fixed): time_days converts ISO times with naive datetime.timestamp(), which
# uses the machine's local time zone. Across a daylight-saving change the difference to the infusion
# date is an hour short, so 2024-04-01 (12 days after 2024-03-20) becomes day 11.958 (calendar day
# 11) on a machine in Central European time. The JSON path (core.course.to_day) gives 12.0.
@pytest.fixture
def dst_time_zone() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "CET-1CEST,M3.5.0,M10.5.0/3"  # POSIX rule: no tz database needed
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.usefixtures("dst_time_zone")
def test_time_column_is_independent_of_the_local_time_zone(tmp_path: Path, fmt: str) -> None:
    """Days from ISO times must not depend on the server's time zone or daylight saving."""
    observations = [
        o("p1", "anc", 0.5, "10^9/L", time="2024-04-01T00:00:00"),
        o("p1", "anc", 0.4, "10^9/L", time="2024-04-02T08:00:00"),
    ]
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS[:1], observations)
    (course,) = load_tabular(folder)
    assert course.series(Analyte.ANC).day.tolist() == pytest.approx([12.0, 13 + 8 / 24])


# Regression (fixed): when no patient row is valid (facts empty) and the observations
# table has a ``time`` column, time_days indexes the empty infusion_seconds array with -1 and
# raises IndexError instead of reporting the problems.
def test_no_valid_patient_with_time_column(tmp_path: Path) -> None:
    patients = [{"patient_id": "p1", "age_years": "200"}]
    observations = [o("p1", "anc", 0.5, "10^9/L", time="2024-04-01T00:00:00")]
    folder = write_set(tmp_path / "set", "csv", patients, observations)
    problems = load_problems(folder)
    found = {(Path(p.source).stem, p.row, p.field) for p in problems}
    assert ("patients", 1, "age_years") in found
    # one root cause reported once (issue 20, item 6): the observation of the invalid patient
    # is not reported again as "patient_id not in the patients table", nor for its time
    assert found == {("patients", 1, "age_years")}


# Regression (fixed): when a ``day`` cell cannot be cast (here "x"), float_column builds
# the column from pa.array(...).to_numpy(), a read-only view; time_days then writes the days of
# the ``time`` rows into it and raises "ValueError: assignment destination is read-only".
def test_bad_day_cell_next_to_a_time_row(tmp_path: Path) -> None:
    observations = [
        o("p1", "anc", 0.5, "10^9/L", day="x"),
        o("p1", "anc", 0.4, "10^9/L", time="2024-03-22T00:00:00"),
    ]
    folder = write_set(tmp_path / "set", "csv", GOOD_PATIENTS[:1], observations)
    problems = load_problems(folder)
    assert ("observations", 1, "day", "x") in {
        (Path(p.source).stem, p.row, p.field, p.value) for p in problems
    }


# Regression (fixed; same root cause as the JSON NaN/Infinity times): a ``day`` of "inf"
# is accepted as a day (observations: float cast; events: pydantic float allows inf), and later
# calendar_day(inf) raises OverflowError during assessment.
@pytest.mark.parametrize("table", ["observations", "events"])
def test_infinite_day_is_an_input_error(tmp_path: Path, table: str) -> None:
    observations = [o("p1", "anc", 0.5, "10^9/L", day="inf" if table == "observations" else "1")]
    events = [{"patient_id": "p1", "kind": "fever", "day": "inf" if table == "events" else "1"}]
    folder = write_set(tmp_path / "set", "csv", GOOD_PATIENTS[:1], observations, events)
    problems = load_problems(folder)
    assert {(Path(p.source).stem, p.row) for p in problems} == {(table, 1)}


# --- table-level functions (run by load_tabular, and by the cohort engine per partition) ------


def test_table_functions_number_rows_of_the_table_given() -> None:
    """Problems carry the row of the table given; a duplicate's message names the first row by the
    file's numbering (``rows``: the table is part of a file)."""
    patients = pa.table({"patient_id": ["p1", "p2", "p1"], "age_years": ["60", "-4", "61"]})
    problems: list[Problem] = []
    facts = validate_patients(patients, "patients.csv", problems, rows=np.array([11, 12, 13]))
    assert [f.patient_id for f in facts] == ["p1"]
    assert [(p.row, p.field, p.message) for p in problems] == [
        (2, "age_years", "Input should be greater than or equal to 0"),
        (3, "patient_id", "duplicate patient_id (first at row 11)"),
    ]
    observations = pa.table(
        {
            "patient_id": ["p1", "p2", "p1"],
            "analyte": ["anc", "anc", "anc"],
            "value": ["500", "1", "0.2"],
            "unit": ["/uL", "/uL", "10^9/L"],
            "day": ["3", "1", "1"],
        }
    )
    found: list[Problem] = []
    columns = validate_observations(observations, "observations.csv", facts, found)
    assert columns.patient.tolist() == [0, -1, 0]
    assert [(p.row, p.field, p.value) for p in found] == [(2, "patient_id", "p2")]
    events = pa.table({"patient_id": ["p1", "p2"], "kind": ["fever", "fever"], "day": ["2", "1"]})
    per_patient = validate_events(events, "events.csv", facts, found)
    assert [(p.row, p.field, p.value) for p in found[1:]] == [(2, "patient_id", "p2")]
    (course,) = tabular_courses(facts, per_patient, columns)
    assert course.series(Analyte.ANC).day.tolist() == [1.0, 3.0]
    assert course.series(Analyte.ANC).value.tolist() == pytest.approx([0.2, 0.5])
    assert [e.kind for e in course.events] == ["fever"]


def test_missing_observation_column_stops_with_the_problems_found_so_far() -> None:
    earlier = Problem("patients.csv", "missing value", row=1, field="age_years")
    problems = [earlier]
    with pytest.raises(InputError) as info:
        validate_observations(pa.table({"patient_id": ["p1"]}), "observations.csv", [], problems)
    assert info.value.problems[0] is earlier
    assert [p.field for p in info.value.problems[1:]] == [
        "value",
        "unit",
        "analyte (or loinc)",
        "day (or time)",
    ]


# --- dispatcher -------------------------------------------------------------------------------


def test_load_courses_tabular_folder(tmp_path: Path, fmt: str) -> None:
    folder = write_set(tmp_path / "set", fmt, GOOD_PATIENTS, GOOD_OBSERVATIONS, GOOD_EVENTS)
    assert [c.facts.patient_id for c in load_courses(folder)] == ["p1", "p2", "p3"]


def test_load_courses_tabular_errors_pass_through(tmp_path: Path) -> None:
    folder = write_set(
        tmp_path / "set", "csv", GOOD_PATIENTS, [o("p1", "anc", 1, "furlongs", day=1)]
    )
    with pytest.raises(InputError) as info:
        load_courses(folder)
    assert [(p.row, p.field, p.value) for p in info.value.problems] == [(1, "unit", "furlongs")]


def test_load_courses_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_courses(tmp_path / "missing")
    assert "no such file or folder" in info.value.problems[0].message


def test_folder_without_patients_table_is_not_tabular(tmp_path: Path) -> None:
    write_table(tmp_path, "observations", GOOD_OBSERVATIONS, "csv")
    assert not is_tabular_folder(tmp_path)
    with pytest.raises(InputError) as info:  # falls through to "folder of records": none there
        load_courses(tmp_path)
    assert "no *.json" in info.value.problems[0].message


def test_a_segmented_neutrophil_row_is_refused_not_graded_as_the_anc(tmp_path: Path) -> None:
    """Issue 17: segmented neutrophils (LOINC 30451-9) alone are not the ANC (docs/evidence.md
    8.1); read as the ANC, 0.45 x10^9/L would grade ICAHT where the true ANC (segs + bands) may
    be higher. The table's row, field and code are named."""
    observations = [o("p1", None, 0.45, "10^9/L", day=3, loinc="30451-9")]
    folder = write_set(tmp_path / "set", "csv", GOOD_PATIENTS[:1], observations)
    problems = load_problems(folder)
    assert [(p.row, p.field, p.value) for p in problems] == [(1, "loinc", "30451-9")]
    assert "segmented neutrophils, not the ANC" in problems[0].message
    assert "observations" in problems[0].source
