"""Round trip: examples/*.json -> FHIR (Bundle and NDJSON) -> import -> the same assessment as
from the native record (assessments compared as JSON), and the same record."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icaht.cli import app
from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Moment
from icaht.io.fhir import iter_ndjson_records, read_bundle, write_bundle, write_ndjson
from icaht.io.inputs import load_courses
from icaht.io.records import read_record
from icaht.knowledge.profile import DEFAULT_PROFILE, load_profile

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.json"))
PROFILE = load_profile(DEFAULT_PROFILE)
runner = CliRunner()


def _assessment_json(record: PatientRecord, as_of: Moment | None) -> str:
    return assess(course_from_record(record), as_of, PROFILE).model_dump_json()


def _canonical(record: PatientRecord) -> tuple[object, ...]:
    """A record with observations and events as sorted JSON (order carries no meaning)."""
    return (
        record.patient,
        sorted(json.dumps(o.model_dump(mode="json"), sort_keys=True) for o in record.observations),
        sorted(json.dumps(e.model_dump(mode="json"), sort_keys=True) for e in record.events),
    )


def test_examples_found() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_bundle_round_trip_gives_the_same_assessment(path: Path, tmp_path: Path) -> None:
    native = read_record(path)
    write_bundle([native], tmp_path / "bundle.json")
    records, report = read_bundle(tmp_path / "bundle.json")
    assert len(records) == 1
    assert sum(report.unmapped.values()) == 0, report.unmapped_reasons
    back = records[0]
    assert _canonical(back) == _canonical(native)
    for as_of in (None, 14, 30, 90):
        assert _assessment_json(back, as_of) == _assessment_json(native, as_of)


def test_ndjson_round_trip_streams_every_patient(tmp_path: Path) -> None:
    natives = [read_record(p) for p in EXAMPLES]
    counts = write_ndjson(iter(natives), tmp_path / "bulk")
    assert counts["Patient"] == len(natives)
    assert {p.name for p in (tmp_path / "bulk").iterdir()} == {f"{k}.ndjson" for k in counts}
    lines = sum(
        len(p.read_text("utf-8").splitlines()) for p in (tmp_path / "bulk").glob("*.ndjson")
    )
    assert lines == sum(counts.values())
    stream = iter_ndjson_records(tmp_path / "bulk")
    first = next(stream)  # a generator: one patient at a time
    back = {r.patient.patient_id: r for r in [first, *stream]}
    assert set(back) == {r.patient.patient_id for r in natives}
    for native in natives:
        assert _canonical(back[native.patient.patient_id]) == _canonical(native)
        assert _assessment_json(back[native.patient.patient_id], 60) == _assessment_json(native, 60)


def _dated(record: PatientRecord, infusion: date) -> PatientRecord:
    """The record with its day numbers written as dates/datetimes from an infusion date (naive
    times: written as UTC, read back as the site's wall-clock time, ICAHT_TIMEZONE default UTC,
    issue 17)."""

    def when(moment: Moment) -> Moment:
        day = float(moment)  # type: ignore[arg-type]
        if day.is_integer():
            return infusion + timedelta(days=int(day))
        return datetime(infusion.year, infusion.month, infusion.day) + timedelta(days=day)

    data = record.model_dump()
    data["patient"]["infusion_date"] = infusion
    for item in data["observations"]:
        item["time"] = when(item["time"])
    for event in data["events"]:
        event["start"] = when(event["start"])
        if event.get("end") is not None:
            event["end"] = when(event["end"])
    if data["patient"].get("ld_start") is not None:
        data["patient"]["ld_start"] = when(data["patient"]["ld_start"])
    return PatientRecord.model_validate(data)


def test_dated_record_keeps_its_dates_and_infusion_date(tmp_path: Path) -> None:
    native = _dated(read_record(EXAMPLES[0]), date(2023, 3, 14))
    write_bundle([native], tmp_path / "b.json")
    back = read_bundle(tmp_path / "b.json")[0][0]
    assert back.patient.infusion_date == date(2023, 3, 14)
    assert _canonical(back) == _canonical(native)
    assert _assessment_json(back, date(2023, 4, 13)) == _assessment_json(native, 30)


def test_icaht_assess_reads_a_bundle_and_an_ndjson_folder(tmp_path: Path) -> None:
    native = read_record(EXAMPLES[1])
    write_bundle([native], tmp_path / "bundle.json")
    write_ndjson([native], tmp_path / "bulk")
    expected = _assessment_json(native, 45)
    for source in (tmp_path / "bundle.json", tmp_path / "bulk"):
        (course,) = load_courses(source)
        assert assess(course, 45, PROFILE).model_dump_json() == expected
    result = runner.invoke(app, ["assess", str(tmp_path / "bundle.json"), "--as-of", "45"])
    assert result.exit_code == 0, result.output
    assert native.patient.patient_id in result.output


def test_cli_export_and_assessment(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["fhir", "export", str(EXAMPLES[2]), "--out", str(tmp_path / "b.json")]
    )
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "b.json").read_text("utf-8"))
    assert bundle["resourceType"] == "Bundle"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    assert not (tmp_path / "b.json.partial").exists()
    result = runner.invoke(
        app,
        [
            "fhir",
            "assessment",
            str(tmp_path / "b.json"),
            "--as-of",
            "30",
            "--out",
            str(tmp_path / "a.json"),
            "--cards",
            str(tmp_path / "c.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "a.json").read_text("utf-8"))
    kinds = [e["resource"]["resourceType"] for e in out["entry"]]
    assert kinds.count("Observation") == 5
    assert kinds.count("RiskAssessment") == 1
    native = assess(course_from_record(read_record(EXAMPLES[2])), 30, PROFILE)
    cards = json.loads((tmp_path / "c.json").read_text("utf-8"))["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == [
        r.rule_id for r in native.recommendations
    ]
    result = runner.invoke(
        app, ["fhir", "import", str(tmp_path / "b.json"), "--out", str(tmp_path / "records")]
    )
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "records").glob("*.json")
    assert _canonical(read_record(written)) == _canonical(read_record(EXAMPLES[2]))
