"""The record contract's new fields end to end (issue 15, "Record completeness"): JSON, the
tabular form, FHIR, the console and the dashboard event form.

Fields (docs/decisions.md, "Absence is not a negative"; issue 15): streams declared
complete; events with an approximate or unknown day; CRS/ICANS without a grade; IEC-HS/HLH/MAS
diagnoses with status; marrow aplasia, lineages, cytogenetics and NGS; CHIP with gene and the day
it became known; DAT findings; censored values ("> 10,000": the bound is the value).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.utils.rule_helpers import daily, fired

from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.fhir import iter_ndjson_records, read_bundle, write_bundle, write_ndjson
from icaht.io.fhir.writer import record_resources
from icaht.io.records import read_record
from icaht.io.tabular import load_tabular
from icaht.io.tabular_records import read_tabular_records
from icaht.io.tabular_writer import write_tabular
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile import DEFAULT_PROFILE, load_profile
from icaht.report.console import render_assessment
from icaht.service.dashboard.forms import parse_event

PROFILE = load_profile(DEFAULT_PROFILE)

RICH: dict[str, Any] = {
    "patient": {
        "patient_id": "rich-1",
        "complete_streams": ["transfusions", "medications"],
        "infusion_date": "2024-03-20",
    },
    "observations": [
        {"day": 10, "analyte": "ferritin", "value": "> 10,000", "unit": "ng/mL"},
        {"time": "2024-03-31", "analyte": "anc", "value": "<0.1", "unit": "10^9/L"},
        {"day": 12, "analyte": "anc", "value": 0.4, "unit": "10^9/L"},
    ],
    "events": [
        {"kind": "crs", "start": 1, "end": 4},
        {"kind": "icans", "start": 3, "grade": 2, "start_known": "approximate",
         "start_window_days": 2},
        {"kind": "transfusion", "start": 40, "product": "platelets", "start_known": "before"},
        {"kind": "marrow_biopsy", "start": "2024-05-15", "cellularity": "hypocellular",
         "cellularity_pct": 10, "aplasia": True, "erythropoiesis": "reduced",
         "myelopoiesis": "absent", "megakaryopoiesis": "absent", "blasts_pct": 1.5,
         "cytogenetics": "46,XY[20]", "cytogenetics_abnormal": False, "ngs_done": True,
         "ngs_variants": [{"gene": "DNMT3A", "vaf_pct": 12.5, "description": "p.R882H"},
                          {"gene": "TET2"}],
         "donor_chimerism_pct": 95, "graft_dysfunction": False, "note": "aplastic"},
        {"kind": "chip", "start": 60, "gene": "TET2", "vaf_pct": 8},
        {"kind": "iec_hs", "start": 14, "end": 30, "diagnosis": "iec_hs", "status": "confirmed"},
        {"kind": "iec_hs", "start": 15, "diagnosis": "hlh", "status": "suspected"},
        {"kind": "iec_hs", "start": 16, "diagnosis": "mas", "status": "excluded"},
        {"kind": "iec_hs", "start": 17, "end": 20, "diagnosis": "hlh", "status": "resolved"},
        {"kind": "iec_hs", "start": 18, "diagnosis": "iec_hs", "status": "resolved"},
        {"kind": "finding", "start": 20, "finding": "dat_positive", "present": True},
        {"kind": "finding", "start": 21, "finding": "dat_positive", "present": False},
        {"kind": "death", "start": 100, "start_known": "approximate", "start_window_days": 3},
    ],
}  # fmt: skip


def rich() -> PatientRecord:
    return PatientRecord.model_validate(RICH)


def rich_in_days() -> PatientRecord:
    """The record with every time a day number (FHIR writes days on its synthetic anchor)."""
    data = json.loads(json.dumps(RICH))
    del data["patient"]["infusion_date"]
    data["observations"][1] = {**data["observations"][1], "time": 11}
    data["events"][3]["start"] = 56
    return PatientRecord.model_validate(data)


def _canonical(record: PatientRecord) -> tuple[object, ...]:
    """Facts, and observations and events as sorted JSON (their order carries no meaning)."""
    return (
        record.patient,
        sorted(json.dumps(o.model_dump(mode="json"), sort_keys=True) for o in record.observations),
        sorted(json.dumps(e.model_dump(mode="json"), sort_keys=True) for e in record.events),
    )


def _problems(call: Any) -> list[Problem]:
    with pytest.raises(InputError) as info:
        call()
    return info.value.problems


# -- censored values -------------------------------------------------------------------------


def test_a_bound_in_the_value_is_the_value_with_its_comparator() -> None:
    """Issue 15: "> 10,000" is read as the bound 10000 with censored ">" (and "<0.1" as 0.1)."""
    record = rich()
    ferritin, low, _ = record.observations
    assert (ferritin.value, ferritin.censored) == (10000.0, ">")
    assert (low.value, low.censored) == (0.1, "<")
    course = course_from_record(record)
    assert course.series(Analyte.FERRITIN).value.tolist() == [10000.0]


def test_a_ferritin_above_10000_reaches_the_iec_hs_rule() -> None:
    """docs/decisions.md (IEC-HS, seed 001 pattern): resolved CRS, then ferritin at or above
    ``iechs.ferritin_ng_ml`` (10,000), new fever and new severe cytopenia. A lab reporting
    "> 10,000" meets the ferritin criterion (the bound is read as the value)."""
    data: dict[str, Any] = {
        "patient": {"patient_id": "iec"},
        "observations": [
            {"time": day, "analyte": name, "value": value, "unit": "10^9/L"}
            for name, day, value in [*daily("anc", 0, 6, 2.0), ("anc", 12, 0.3)]
        ]
        + [{"time": 12, "analyte": "ferritin", "value": "> 10,000", "unit": "ng/mL"}],
        "events": [
            {"kind": "crs", "start": 1, "end": 5, "grade": 1},
            {"kind": "fever", "start": 12, "temperature_c": 39},
        ],
    }
    shown = fired(PatientRecord.model_validate(data), 12)
    facts = [f for r in shown.values() if r.rule_id.startswith("iec-hs") for f in r.facts]
    assert any(f.label.startswith("Ferritin >=") and f.value.startswith("10000") for f in facts)


def test_unreadable_values_are_errors_naming_file_field_and_value(tmp_path: Path) -> None:
    data = json.loads(json.dumps(RICH))
    data["observations"][0]["value"] = "> 1,0000"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    (problem,) = _problems(lambda: read_record(path))
    assert (problem.source, problem.field, problem.value) == (
        str(path),
        "observations[0].value",
        "> 1,0000",
    )
    data["observations"][0].update(value="> 10", censored="<")
    path.write_text(json.dumps(data), encoding="utf-8")
    (problem,) = _problems(lambda: read_record(path))
    assert "'> 10'" in problem.message
    assert problem.field == "observations[0]"


# -- tabular -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tabular_round_trip_of_every_new_field(tmp_path: Path, fmt: str) -> None:
    """record -> tables -> record gives the same record (issue 15: the tabular form follows)."""
    native = rich()
    write_tabular([native], tmp_path / "set", fmt)  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == [
        f"{name}.{fmt}" for name in ("events", "observations", "patients")
    ]
    (back,) = read_tabular_records(tmp_path / "set")
    assert _canonical(back) == _canonical(native)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)


def test_tabular_cells_for_streams_variants_and_censored_values(tmp_path: Path) -> None:
    """docs/tabular.md: streams as "transfusions;medications", variants as GENE:VAF pairs,
    values as "> 10,000" (thousands separators accepted in such cells)."""
    _write_csv(
        tmp_path / "patients.csv",
        [{"patient_id": "p1", "complete_streams": "transfusions; medications"}],
    )
    _write_csv(
        tmp_path / "observations.csv",
        [
            {"patient_id": "p1", "day": 3, "analyte": "ferritin", "value": "> 10,000",
             "unit": "ng/mL", "censored": ""},
            {"patient_id": "p1", "day": 4, "analyte": "ferritin", "value": "12000",
             "unit": "ng/mL", "censored": ">"},
        ],
    )  # fmt: skip
    _write_csv(
        tmp_path / "events.csv",
        [
            {"patient_id": "p1", "kind": "marrow_biopsy", "start": 30,
             "ngs_variants": "DNMT3A:12.5; TET2", "aplasia": "true"},
            {"patient_id": "p1", "kind": "crs", "start": "40", "start_known": "approximate",
             "start_window_days": "7"},
        ],
    )  # fmt: skip
    (course,) = load_tabular(tmp_path)
    assert course.facts.complete_streams == ("transfusions", "medications")
    assert course.series(Analyte.FERRITIN).value.tolist() == [10000.0, 12000.0]
    marrow, crs = course.events
    assert [(v.gene, v.vaf_pct) for v in marrow.ngs_variants] == [("DNMT3A", 12.5), ("TET2", None)]  # type: ignore[union-attr]
    assert (crs.start_known, crs.start_window_days, crs.grade) == ("approximate", 7.0, None)  # type: ignore[union-attr]
    (record,) = read_tabular_records(tmp_path)
    assert [o.censored for o in record.observations] == [">", ">"]


def test_bad_tabular_cells_name_file_row_field_and_value(tmp_path: Path) -> None:
    """Every new field: a bad cell is a problem with file, row, field and value; nothing loads."""
    _write_csv(
        tmp_path / "patients.csv",
        [{"patient_id": "p1"}, {"patient_id": "p2", "complete_streams": "labs"}],
    )
    _write_csv(
        tmp_path / "observations.csv",
        [
            {"patient_id": "p1", "day": 3, "analyte": "ferritin", "value": "> 1,0000",
             "unit": "ng/mL", "censored": ""},
            {"patient_id": "p1", "day": 4, "analyte": "ferritin", "value": "> 10", "unit": "ng/mL",
             "censored": "<"},
            {"patient_id": "p1", "day": 5, "analyte": "ferritin", "value": "10", "unit": "ng/mL",
             "censored": "about"},
        ],
    )  # fmt: skip
    _write_csv(
        tmp_path / "events.csv",
        [
            {"patient_id": "p1", "kind": "crs", "start": 1, "start_known": "maybe"},
            {"patient_id": "p1", "kind": "crs", "start": 1, "start_window_days": "7"},
            {"patient_id": "p1", "kind": "marrow_biopsy", "start": 2, "ngs_variants": "TET2:x"},
            {"patient_id": "p1", "kind": "iec_hs", "start": 3, "status": "probable"},
            {"patient_id": "p1", "kind": "chip", "start": 4, "vaf_pct": "150"},
            {"patient_id": "p1", "kind": "finding", "start": 5, "finding": "coombs"},
        ],
    )  # fmt: skip
    problems = _problems(lambda: load_tabular(tmp_path))
    found = {(Path(p.source).name, p.row, p.field, p.value) for p in problems}
    assert ("patients.csv", 2, "complete_streams[0]", "labs") in found
    assert ("observations.csv", 1, "value", "> 1,0000") in found
    assert ("observations.csv", 2, "censored", "<") in found
    assert ("observations.csv", 3, "censored", "about") in found
    assert ("events.csv", 1, "start_known", "maybe") in found
    assert ("events.csv", 2, "start_window_days", 7.0) in {
        (n, r, f, float(v)) for n, r, f, v in found if f == "start_window_days"
    }
    assert ("events.csv", 3, "ngs_variants", "TET2:x") in found
    assert ("events.csv", 4, "status", "probable") in found
    assert ("events.csv", 5, "vaf_pct", "150") in found
    assert ("events.csv", 6, "finding", "coombs") in found


def test_tabular_writer_leaves_nothing_half_written(tmp_path: Path) -> None:
    """An error while the records are read leaves no table behind (rows are gathered first,
    then every table is written as .partial and renamed)."""

    def broken() -> Any:
        yield rich()
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        write_tabular(broken(), tmp_path / "set")
    assert not (tmp_path / "set").exists()


# -- FHIR ----------------------------------------------------------------------------------------


def test_fhir_round_trip_of_every_new_field(tmp_path: Path) -> None:
    """record -> FHIR Bundle -> record gives the same record and the same assessment."""
    native = rich_in_days()
    write_bundle([native], tmp_path / "b.json")
    (back,), report = read_bundle(tmp_path / "b.json")
    assert sum(report.unmapped.values()) == 0, report.unmapped_reasons
    assert _canonical(back) == _canonical(native)
    write_ndjson([native], tmp_path / "bulk")
    (streamed,) = iter_ndjson_records(tmp_path / "bulk")
    assert _canonical(streamed) == _canonical(native)
    for as_of in (20, 60):
        assert (
            assess(course_from_record(back), as_of, PROFILE).model_dump_json()
            == assess(course_from_record(native), as_of, PROFILE).model_dump_json()
        )


def _resources(record: PatientRecord, kind: str) -> list[dict[str, Any]]:
    return [r for r in record_resources(record) if r["resourceType"] == kind]


def test_fhir_shape_of_the_new_fields() -> None:
    """docs/fhir.md: ungraded CRS has no "crs:None" and no stage; a censored value has its
    comparator; streams are repeated extensions; HLH carries ICD-10-CM D76.1 and 'suspected'
    is provisional; a variant has the Genomics Reporting LOINC components."""
    record = rich()
    text = json.dumps(record_resources(record))
    assert "None" not in text
    conditions = _resources(record, "Condition")
    crs = conditions[0]
    assert "stage" not in crs
    assert {c["code"] for c in crs["code"]["coding"]} == {"D89.839", "crs"}
    ferritin = _resources(record, "Observation")[0]
    assert ferritin["valueQuantity"]["comparator"] == ">"
    patient = _resources(record, "Patient")[0]
    streams = [e["valueCode"] for e in patient["extension"] if e["url"].endswith("complete-stream")]
    assert streams == ["transfusions", "medications"]
    hlh = next(c for c in conditions if c["code"]["coding"][0]["code"] == "D76.1")
    assert hlh["verificationStatus"]["coding"][0]["code"] == "provisional"
    report = _resources(record, "DiagnosticReport")[0]
    variant = next(c for c in report["contained"] if c["code"]["coding"][0]["code"] == "69548-6")
    assert [c["code"]["coding"][0]["code"] for c in variant["component"]] == ["48018-6", "81258-6"]


def _bundle(tmp_path: Path, *resources: dict[str, Any]) -> Path:
    patient = {"resourceType": "Patient", "id": "x1"}
    entries = [{"resource": r} for r in (patient, *resources)]
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}), "utf-8"
    )
    return path


def test_foreign_fhir_ungraded_crs_dat_result_and_hlh(tmp_path: Path) -> None:
    """A CRS Condition coded 'grade unspecified' without a stage is a CRS episode with the grade
    not recorded (it used to be dropped); a DAT result (LOINC 1007-4) is a DAT finding; an HLH
    Condition (ICD-10-CM D76.1) unconfirmed is a suspected HLH."""
    subject = {"reference": "Patient/x1"}
    path = _bundle(
        tmp_path,
        {
            "resourceType": "Condition",
            "subject": subject,
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D89.839"}]
            },
            "onsetDateTime": "2024-01-03",
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "subject": subject,
            "code": {"coding": [{"system": "http://loinc.org", "code": "1007-4"}]},
            "effectiveDateTime": "2024-01-05",
            "valueCodeableConcept": {"text": "Positive"},
        },
        {
            "resourceType": "Condition",
            "subject": subject,
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D76.1"}]},
            "verificationStatus": {"coding": [{"code": "provisional"}]},
            "onsetDateTime": "2024-01-06",
        },
    )
    (record,), report = read_bundle(path)
    assert sum(report.unmapped.values()) == 0, report.unmapped_reasons
    crs, dat, hlh = sorted(record.events, key=lambda e: str(e.start))
    assert (crs.kind, crs.grade) == ("crs", None)  # type: ignore[union-attr]
    assert (dat.kind, dat.finding, dat.present) == ("finding", "dat_positive", True)  # type: ignore[union-attr]
    assert (hlh.kind, hlh.diagnosis, hlh.status) == ("iec_hs", "hlh", "suspected")  # type: ignore[union-attr]


def test_bad_fhir_extension_values_name_the_patient_and_field(tmp_path: Path) -> None:
    """An invalid start certainty or stream is an error naming the file, patient and field;
    nothing is imported."""
    record = rich()
    write_bundle([record], tmp_path / "b.json")
    bundle = json.loads((tmp_path / "b.json").read_text("utf-8"))
    text = json.dumps(bundle).replace('"valueCode": "before"', '"valueCode": "sometime"')
    text = text.replace('"valueCode": "medications"', '"valueCode": "labs"')
    (tmp_path / "b.json").write_text(text, "utf-8")
    problems = _problems(lambda: read_bundle(tmp_path / "b.json"))
    fields = {p.field for p in problems}
    assert any(f and f.endswith("start_known") for f in fields), fields
    assert "patient.complete_streams[1]" in fields
    assert all("rich-1" in p.source for p in problems)


# -- console and dashboard ---------------------------------------------------------------------


def test_console_shows_uncertain_days_and_missing_grades() -> None:
    """Issue 15: "~day 40 (+/- 7)", "before day 40", "grade not recorded"."""
    course = course_from_record(rich())
    buffer = io.StringIO()
    render_assessment(Console(file=buffer, width=200), course, assess(course, 60, PROFILE))
    text = buffer.getvalue()
    assert "day 1: CRS, grade not recorded (until day 4)" in text
    assert "~day 3 (+/- 2): ICANS, grade 2" in text
    assert "before day 40: Transfusion platelets x1" in text
    assert "day 15: HLH suspected" in text
    assert "day 60: CHIP known: TET2 8%" in text
    assert "day 20: DAT positive" in text
    assert "~day 100" not in text  # not known on day 60


def test_dashboard_event_form_reads_the_new_fields() -> None:
    facts = PatientFacts(patient_id="p1")
    form = {"kind": "iec_hs", "start": "14", "diagnosis": "hlh", "iec_hs_status": "suspected",
            "start_known": "approximate", "start_window_days": "3"}  # fmt: skip
    result = parse_event(form, facts)
    assert result.ok, result.errors
    assert result.event is not None
    assert (result.event.status, result.event.start_window_days) == ("suspected", 3.0)  # type: ignore[union-attr]
    bad = parse_event({**form, "iec_hs_status": "probable", "start_known": "exact"}, facts)
    assert set(bad.errors) == {"iec_hs_status", "start_window_days"}
    marrow = parse_event(
        {"kind": "marrow_biopsy", "start": "56", "aplasia": "yes", "ngs_variants": "TET2:8"},
        facts,
    )
    assert marrow.ok
    assert marrow.event is not None
    assert marrow.event.aplasia is True  # type: ignore[union-attr]
    crs = parse_event({"kind": "crs", "start": "2"}, facts)
    assert crs.ok
    assert crs.event is not None
    assert crs.event.grade is None
