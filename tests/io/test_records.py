"""Reading PatientRecord JSON files and folders (icaht.io.records) and the input dispatcher.

docs/architecture.md (layers: io): units are required and normalised at the boundary; an unknown
unit or an implausible value is an error that names the field, row and value; imports report
everything that is wrong and load nothing. Unit conversions: docs/evidence.md 8.2."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from icaht.core.record import CrsEpisode, Transfusion
from icaht.errors import InputError, Problem
from icaht.io.inputs import load_courses
from icaht.io.records import load_course, load_record_folder, read_record
from icaht.knowledge.analytes import Analyte


def valid_record(patient_id: str = "p1") -> dict[str, Any]:
    """A small valid record: dates and day numbers, several units, a few event kinds."""
    return {
        "schema_version": "1",
        "patient": {
            "patient_id": patient_id,
            "age_years": 61,
            "sex": "female",
            "diagnosis": "LBCL",
            "product": "axi-cel",
            "costimulatory_domain": "CD28",
            "ld_start": "2024-03-15",
            "infusion_date": "2024-03-20",
        },
        "observations": [
            {"day": -6, "analyte": "platelets", "value": 180, "unit": "10*9/L"},
            {"time": "2024-03-27", "analyte": "anc", "value": 300, "unit": "/uL"},
            {"day": 3, "analyte": "anc", "value": 0.1, "unit": "10^9/L"},
            {"day": 3, "loinc": "718-7", "value": 85, "unit": "g/L"},
            {"time": "2024-03-22T08:00:00", "analyte": "crp", "value": 45, "unit": "mg/L"},
        ],
        "events": [
            {"kind": "crs", "start": 1, "end": "2024-03-24", "grade": 2},
            {"kind": "transfusion", "day": 6, "product": "platelets"},
            {
                "kind": "medication",
                "start": 7,
                "drug": "Filgrastim",
                "dose": 5,
                "dose_unit": "ug/kg",
            },
        ],
    }


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_course(path)
    return info.value.problems


# --- one good record ----------------------------------------------------------------------------


def test_load_course_valid_record(tmp_path: Path) -> None:
    """A valid record loads with canonical units (8.2) and days relative to infusion."""
    course = load_course(write(tmp_path / "p1.json", valid_record()))
    assert course.facts.patient_id == "p1"
    assert course.ld_start_day == -5.0
    anc = course.series(Analyte.ANC)
    assert anc.day.tolist() == [3.0, 7.0]
    assert anc.value.tolist() == pytest.approx([0.1, 0.3])  # 300/uL = 0.3 x10^9/L
    hb = course.series(Analyte.HB)
    assert hb.value.tolist() == pytest.approx([8.5])  # 85 g/L = 8.5 g/dL
    crp = course.series(Analyte.CRP)
    assert crp.day.tolist() == pytest.approx([2 + 8 / 24])
    assert crp.value.tolist() == pytest.approx([4.5])  # 45 mg/L = 4.5 mg/dL
    assert course.series(Analyte.PLATELETS).value.tolist() == pytest.approx([180.0])
    crs = course.of_kind(CrsEpisode)[0]
    assert (crs.start, crs.end, crs.grade) == (1.0, 4.0, 2)
    assert course.of_kind(Transfusion)[0].start == 6.0
    assert [e.kind for e in course.events] == ["crs", "transfusion", "medication"]


def test_read_record_returns_the_model_without_unit_checks(tmp_path: Path) -> None:
    """read_record checks structure only; units are checked when the course is built."""
    data = valid_record()
    data["observations"][0]["unit"] = "furlongs"
    record = read_record(write(tmp_path / "r.json", data))
    assert record.observations[0].unit == "furlongs"
    problems = problems_of(tmp_path / "r.json")
    assert [(p.field, p.value) for p in problems] == [("observations[0].unit", "furlongs")]


# --- file-level errors --------------------------------------------------------------------------


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "patient": {"patient_id": "p1"},\n  "observations": [}\n', "utf-8")
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].source == str(path)
    assert "not valid JSON" in problems[0].message
    assert "line 3" in problems[0].message
    assert "column 20" in problems[0].message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"patient": {"patient_id": "Müller"}}'.encode("latin-1"))
    problems = problems_of(path)
    assert len(problems) == 1
    assert "UTF-8" in problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nope.json")
    assert len(problems) == 1
    assert "cannot read" in problems[0].message


@pytest.mark.parametrize("document", [[], "a string", 42, None])
def test_top_level_not_an_object(tmp_path: Path, document: Any) -> None:
    problems = problems_of(write(tmp_path / "r.json", document))
    assert len(problems) >= 1
    assert all(p.source == str(tmp_path / "r.json") for p in problems)


# --- schema errors and field paths --------------------------------------------------------------


def test_schema_errors_have_field_paths_without_the_union_tag(tmp_path: Path) -> None:
    """events[1].grade, not events[1].crs.grade: the discriminator tag is not a field."""
    data = valid_record()
    data["events"] = [
        {"kind": "crs", "start": 1, "grade": 2},
        {"kind": "crs", "start": 2, "grade": 9},
        {"kind": "transfusion", "start": 3, "product": "blood"},
        {"kind": "finding", "start": 4, "finding": "rash"},
    ]
    problems = problems_of(write(tmp_path / "r.json", data))
    found = {(p.field, p.value) for p in problems}
    assert found == {
        ("events[1].grade", 9),
        ("events[2].product", "blood"),
        ("events[3].finding", "rash"),  # a field named like an event kind is kept
    }
    assert all("crs." not in (p.field or "") for p in problems)


def test_unknown_event_kind_and_missing_kind(tmp_path: Path) -> None:
    data = valid_record()
    data["events"] = [{"kind": "vacation", "start": 1}, {"start": 2}]
    problems = problems_of(write(tmp_path / "r.json", data))
    # the problem names the discriminator field itself (tag invalid / tag missing)
    assert {p.field for p in problems} == {"events[0].kind", "events[1].kind"}
    assert any("vacation" in p.message for p in problems)


def test_unknown_top_level_field(tmp_path: Path) -> None:
    data = valid_record()
    data["notes"] = "free text"
    problems = problems_of(write(tmp_path / "r.json", data))
    assert [(p.field, p.value) for p in problems] == [("notes", "free text")]


def test_unknown_patient_field_and_bad_values(tmp_path: Path) -> None:
    data = valid_record()
    data["patient"]["favourite_colour"] = "blue"
    data["patient"]["age_years"] = 200
    data["observations"][1]["value"] = "lots"
    del data["observations"][2]["unit"]
    problems = problems_of(write(tmp_path / "r.json", data))
    found = {(p.field, p.value) for p in problems}
    assert ("patient.favourite_colour", "blue") in found
    assert ("patient.age_years", 200) in found
    assert ("observations[1].value", "lots") in found
    assert "observations[2].unit" in {p.field for p in problems}


def test_unit_and_plausibility_errors_carry_json_paths(tmp_path: Path) -> None:
    """Hb 95 'g/dL' and an unknown unit: named by path and value (DESIGN, Data contract)."""
    data = valid_record()
    data["observations"][3] = {"day": 3, "analyte": "hb", "value": 95, "unit": "g/dL"}
    data["observations"][0]["unit"] = "per litre-ish"
    problems = problems_of(write(tmp_path / "r.json", data))
    found = {(p.field, p.value) for p in problems}
    assert found == {("observations[0].unit", "per litre-ish"), ("observations[3].value", 95)}
    hb = next(p for p in problems if p.field == "observations[3].value")
    assert "g/l" in hb.message
    assert str(tmp_path / "r.json") in str(InputError(problems))


# Regression (fixed): NaN/Infinity times are accepted. Python's json module reads the
# literals NaN and Infinity, Observation.time / event start are floats without allow_inf_nan=False,
# and the course then holds a NaN day (calendar_day(nan) later raises ValueError in as_of_cut).
@pytest.mark.parametrize("where", ["observation", "event"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_times_are_input_errors(tmp_path: Path, where: str, bad: float) -> None:
    """A time must be a day number, a date or a datetime; NaN or Infinity is none of these."""
    data = valid_record()
    if where == "observation":
        data["observations"][0] = {"day": bad, "analyte": "anc", "value": 1, "unit": "/uL"}
        path_prefix = "observations[0]"
    else:
        data["events"][0] = {"kind": "fever", "start": bad}
        path_prefix = "events[0]"
    path = write(tmp_path / "r.json", data)  # json.dumps writes NaN / Infinity literals
    problems = problems_of(path)
    assert any((p.field or "").startswith(path_prefix) for p in problems)


# Regression (fixed): an integer literal with more than 4300 digits makes json.loads raise
# a plain ValueError (Python's int max-str-digits limit), which read_record does not catch.
def test_absurdly_long_number_is_an_input_error(tmp_path: Path) -> None:
    """A hostile or corrupt file must still produce an InputError, never a crash."""
    path = tmp_path / "r.json"
    path.write_text('{"patient": {"patient_id": "p1", "age_years": ' + "9" * 5000 + "}}", "utf-8")
    problems = problems_of(path)
    assert problems
    assert problems[0].source == str(path)


# --- folders --------------------------------------------------------------------------------


def test_folder_of_records(tmp_path: Path) -> None:
    for pid in ("a", "b", "c"):
        write(tmp_path / f"{pid}.json", valid_record(pid))
    (tmp_path / "notes.txt").write_text("not a record")
    courses = load_record_folder(tmp_path)
    assert sorted(c.facts.patient_id for c in courses) == ["a", "b", "c"]


def test_folder_with_a_duplicate_patient_id(tmp_path: Path) -> None:
    write(tmp_path / "first.json", valid_record("p1"))
    write(tmp_path / "second.json", valid_record("p1"))
    write(tmp_path / "third.json", valid_record("p2"))
    with pytest.raises(InputError) as info:
        load_record_folder(tmp_path)
    problems = info.value.problems
    assert len(problems) == 1
    assert "duplicate patient_id" in problems[0].message
    assert problems[0].value == "p1"
    # files are read in name order: the second one is reported, naming the first
    assert Path(problems[0].source).name == "second.json"
    assert "first.json" in problems[0].message


def test_folder_reports_every_bad_file(tmp_path: Path) -> None:
    write(tmp_path / "good.json", valid_record("ok"))
    bad_unit = valid_record("u")
    bad_unit["observations"][0]["unit"] = "furlongs"
    write(tmp_path / "bad_unit.json", bad_unit)
    (tmp_path / "broken.json").write_text("{", "utf-8")
    with pytest.raises(InputError) as info:
        load_record_folder(tmp_path)
    sources = {Path(p.source).name for p in info.value.problems}
    assert sources == {"bad_unit.json", "broken.json"}


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_record_folder(tmp_path)
    assert "no *.json" in info.value.problems[0].message


# --- dispatcher -------------------------------------------------------------------------------


def test_load_courses_json_file(tmp_path: Path) -> None:
    courses = load_courses(write(tmp_path / "p1.json", valid_record()))
    assert [c.facts.patient_id for c in courses] == ["p1"]


def test_load_courses_folder_of_records(tmp_path: Path) -> None:
    write(tmp_path / "a.json", valid_record("a"))
    write(tmp_path / "b.json", valid_record("b"))
    assert sorted(c.facts.patient_id for c in load_courses(tmp_path)) == ["a", "b"]


def test_load_courses_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_courses(tmp_path / "does-not-exist")
    assert info.value.problems[0].source == str(tmp_path / "does-not-exist")
    assert "no such file" in info.value.problems[0].message


def test_load_courses_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "record.txt"
    path.write_text(json.dumps(valid_record()))
    with pytest.raises(InputError) as info:
        load_courses(path)
    assert ".json" in info.value.problems[0].message
