"""Property tests: whatever a reader is given, it loads or raises InputError, nothing else.

docs/architecture.md (layers: io): a bad input is an error that names the field, row and value,
under the one IcahtError hierarchy; the CLI and API map InputError, so any other exception type
escaping a reader is a crash for the user. The documents here are mutations of a valid record and
small random CSV sets."""

from __future__ import annotations

import copy
import csv
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from icaht.core.course import Course
from icaht.core.record import EVENT_KINDS
from icaht.errors import InputError
from icaht.io.records import load_course
from icaht.io.tabular import load_tabular

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

BASE_RECORD: dict[str, Any] = {
    "patient": {
        "patient_id": "p1",
        "age_years": 61,
        "sex": "female",
        "weight_kg": 70.5,
        "ld_start": "2024-03-15",
        "infusion_date": "2024-03-20",
        "stored_cells": "autologous",
    },
    "observations": [
        {"day": -6, "analyte": "platelets", "value": 180, "unit": "10*9/L"},
        {"time": "2024-03-27", "analyte": "anc", "value": 300, "unit": "/uL"},
        {"day": 3, "loinc": "718-7", "value": 85, "unit": "g/L", "lln": 120, "uln": 160},
        {"time": "2024-03-22T08:00:00", "analyte": "crp", "value": 45, "unit": "mg/L"},
    ],
    "events": [
        {"kind": "crs", "start": 1, "end": "2024-03-24", "grade": 2},
        {"kind": "transfusion", "day": 6, "product": "platelets", "units": 1},
        {"kind": "medication", "start": 7, "end": 9, "drug": "filgrastim", "dose": 5},
        {"kind": "disease_status", "start": 30, "status": "cr"},
    ],
}

INTERESTING_TEXT = [
    "",
    " ",
    "2024-03-21",
    "2024-03-21T08:00:00",
    "2024-03-21T08:00:00+05:00",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "NaN",
    "1e400",
    "-5",
    "/uL",
    "g/dL",
    "g/L",
    "mmol/L",
    "10^9/L",
    "K/µL",
    "×10⁹/L",
    "anc",
    "hb",
    "HGB",
    "751-8",
    "777-3",
    *EVENT_KINDS,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(INTERESTING_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path below the root (dict keys and list indexes)."""
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        items: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out += _paths(child, (*prefix, key))
    return out


def _node(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for key in path:
        node = node[key]
    return node


EXTREME_NUMBERS = st.sampled_from(
    [0, -1, -0.5, 1e-300, 1e308, -1e308, 10**30, -(10**30), 2**63, float("inf"), float("nan")]
)


@st.composite
def mutated_records(draw: st.DrawFn) -> Any:
    """A valid record with one to three random mutations."""
    doc: Any = copy.deepcopy(BASE_RECORD)
    ops = ["set", "delete", "delete", "add", "number", "number", "kind", "unit", "analyte", "root"]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(ops))
        paths = _paths(doc)
        if op == "root":  # rarely useful, but a record file can hold any JSON value
            doc = draw(json_values)
        elif op == "add":  # an unknown key in any object, the root included
            objects = [p for p in [(), *paths] if isinstance(_node(doc, p), dict)]
            if objects:
                target = _node(doc, draw(st.sampled_from(objects)))
                target[draw(st.text(max_size=10))] = draw(json_values)
        elif not paths:
            continue
        elif op == "set":
            path = draw(st.sampled_from(paths))
            _node(doc, path[:-1])[path[-1]] = draw(json_values)
        elif op == "delete":
            path = draw(st.sampled_from(paths))
            del _node(doc, path[:-1])[path[-1]]
        elif op == "number":  # huge, negative, tiny and non-finite numbers in numeric fields
            numeric = [
                p
                for p in paths
                if isinstance(_node(doc, p), int | float) and not isinstance(_node(doc, p), bool)
            ]
            if numeric:
                path = draw(st.sampled_from(numeric))
                value = draw(st.one_of(EXTREME_NUMBERS, st.floats(0, 1000), st.integers(-5, 100)))
                _node(doc, path[:-1])[path[-1]] = value
        else:  # random event kinds, units and analytes
            hits = [p for p in paths if p[-1] == op]
            if hits:
                path = draw(st.sampled_from(hits))
                value = draw(
                    st.one_of(st.sampled_from(INTERESTING_TEXT), st.text(max_size=12), json_values)
                )
                _node(doc, path[:-1])[path[-1]] = value
    return doc


def _check_course(course: Course) -> None:
    """Invariants of a loaded course: canonical values are finite, non-negative and aligned."""
    for series in course.labs.values():
        assert len(series.day) == len(series.value) == len(series.lln) == len(series.uln)
        assert np.all(np.isfinite(series.value))
        assert np.all(series.value >= 0)


def _outcome(load: Callable[[], list[Course]]) -> list[Course] | InputError:
    """The loaded courses, or the InputError; any other exception propagates (and fails)."""
    try:
        return load()
    except InputError as exc:
        return exc


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@SETTINGS
@given(doc=mutated_records())
def test_json_records_load_or_raise_input_error(scratch: Path, doc: Any) -> None:
    path = scratch / "record.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    outcome = _outcome(lambda: [load_course(path)])
    if isinstance(outcome, InputError):
        event("input error")
        assert outcome.problems
        assert all(p.source == str(path) for p in outcome.problems)
    else:
        event("loaded")
        _check_course(outcome[0])


def test_base_record_is_valid(scratch: Path) -> None:
    """The property above starts from a record that loads (otherwise it would test nothing)."""
    path = scratch / "base.json"
    path.write_text(json.dumps(BASE_RECORD), encoding="utf-8")
    course = load_course(path)
    assert len(course.events) == 4


# --- tabular ------------------------------------------------------------------------------------

Table = tuple[list[str], list[dict[str, str]]]
TabularSet = tuple[Table, Table, Table | None]

#: Valid cells: analyte -> units accepted for it (docs/evidence.md 8.2).
VALID_UNITS = {
    "anc": ["/uL", "10^9/L", "K/uL"],
    "platelets": ["/uL", "10*9/L", "G/L"],
    "hb": ["g/dL", "g/L", "mmol/L"],
    "crp": ["mg/L", "mg/dL"],
}
VALID_VALUE = {"anc": "0.4", "platelets": "35", "hb": "8.5", "crp": "4"}

#: Noise palettes per column: valid, invalid and odd cells.
NOISE: dict[str, list[str]] = {
    "patient_id": ["p1", "p2", "p4", "", " p1"],
    "infusion_date": ["", "2024-03-20", "2024-02-30", "20/03/2024"],
    "age_years": ["", "50", "-1", "200", "abc"],
    "ld_start": ["", "-5", "2024-03-15", "soon"],
    "day": ["", "0", "-2", "2.5", "x", "1e9", "nan"],
    "time": ["", "2024-03-22", "2024-03-22T08:00:00", "2024-13-40", "yesterday"],
    "analyte": ["", "anc", "HGB", "nonsense"],
    "loinc": ["", "751-8", "777-3", "0000-0"],
    "value": ["", "0", "500", "-1", "abc", "1e400", "95", "5000000"],
    "unit": ["", "/uL", "g/dL", "mmol/L", "furlongs"],
    "lln": ["", "1.5", "-1", "x"],
    "kind": ["", "crs", "fever", "transfusion", "death", "nope"],
    "end": ["", "1", "40", "x"],
    "grade": ["", "1", "9", "x"],
    "product": ["", "rbc", "blood"],
    "drug": ["", "filgrastim"],
    "units": ["", "2", "0", "many"],
}


@st.composite
def tabular_sets(draw: st.DrawFn) -> TabularSet:
    """A small valid tabular set, then zero to three corrupted cells or added columns."""
    ids = draw(st.lists(st.sampled_from(["p1", "p2", "p3"]), unique=True, min_size=1, max_size=3))
    with_infusion = draw(st.booleans())
    patients: Table = (
        ["patient_id", "infusion_date", "age_years"],
        [
            {
                "patient_id": pid,
                "infusion_date": "2024-03-20" if with_infusion else "",
                "age_years": draw(st.sampled_from(["", "50", "72.5"])),
            }
            for pid in ids
        ],
    )
    when = "time" if with_infusion and draw(st.booleans()) else "day"
    obs_rows = []
    for _ in range(draw(st.integers(0, 6))):
        analyte = draw(st.sampled_from(sorted(VALID_UNITS)))
        obs_rows.append(
            {
                "patient_id": draw(st.sampled_from(ids)),
                when: draw(
                    st.sampled_from(["2024-03-22", "2024-03-25T08:30:00"])
                    if when == "time"
                    else st.sampled_from(["-3", "0", "1", "7.25"])
                ),
                "analyte": analyte,
                "value": VALID_VALUE[analyte],
                "unit": draw(st.sampled_from(VALID_UNITS[analyte])),
            }
        )
    observations: Table = (["patient_id", when, "analyte", "value", "unit"], obs_rows)
    events: Table | None = None
    if draw(st.booleans()):
        event_rows = [
            draw(
                st.sampled_from(
                    [
                        {"kind": "crs", "day": "1", "end": "3", "grade": "2"},
                        {"kind": "fever", "day": "2"},
                        {"kind": "transfusion", "day": "5", "product": "platelets"},
                        {"kind": "medication", "day": "7", "drug": "filgrastim"},
                        {"kind": "death", "day": "40"},
                    ]
                )
            )
            | {"patient_id": draw(st.sampled_from(ids))}
            for _ in range(draw(st.integers(0, 4)))
        ]
        header = ["patient_id", "kind", "day", "end", "grade", "product", "drug"]
        events = (header, event_rows)
    tables = [patients, observations] + ([events] if events is not None else [])
    for _ in range(draw(st.integers(0, 3))):
        header, rows = draw(st.sampled_from(tables))
        column = draw(st.sampled_from(sorted(NOISE)))
        if column not in header:
            header.append(column)
        if rows:
            row = draw(st.sampled_from(rows))
            row[column] = draw(st.sampled_from(NOISE[column]))
    return patients, observations, events


def _write_csv(path: Path, table: Table) -> None:
    header, rows = table
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header])


def _obs_row(pid: str, **cells: str) -> dict[str, str]:
    return {"patient_id": pid, "analyte": "anc", "value": "1", "unit": "/uL"} | cells


@SETTINGS
@given(tabular=tabular_sets())
# pinned: no valid patient row while the observations carry a time column (IndexError, reported)
@example(
    tabular=(
        (["patient_id", "age_years"], [{"patient_id": "p1", "age_years": "200"}]),
        (
            ["patient_id", "time", "analyte", "value", "unit"],
            [_obs_row("p1", time="2024-03-22")],
        ),
        None,
    )
)
# pinned: an unparsable day cell plus a time row (read-only array ValueError, reported)
@example(
    tabular=(
        (["patient_id", "infusion_date"], [{"patient_id": "p1", "infusion_date": "2024-03-20"}]),
        (
            ["patient_id", "day", "time", "analyte", "value", "unit"],
            [_obs_row("p1", day="x"), _obs_row("p1", time="2024-03-22")],
        ),
        None,
    )
)
def test_tabular_sets_load_or_raise_input_error(scratch: Path, tabular: TabularSet) -> None:
    patients, observations, events = tabular
    folder = Path(tempfile.mkdtemp(dir=scratch))
    _write_csv(folder / "patients.csv", patients)
    _write_csv(folder / "observations.csv", observations)
    if events is not None:
        _write_csv(folder / "events.csv", events)
    outcome = _outcome(lambda: load_tabular(folder))
    if isinstance(outcome, InputError):
        event("input error")
        assert outcome.problems
    else:
        event("loaded")
        # ids are compared without surrounding white space, as the reader normalises them
        expected = [r["patient_id"].strip() for r in patients[1]]
        assert [c.facts.patient_id for c in outcome] == expected
        for course in outcome:
            _check_course(course)
