"""FHIR R4 import: every mapped resource type, unmapped resources counted and sampled, errors
naming file, resource id and element path; Bundle types and NDJSON folders."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from icaht.core.patient_record import PatientRecord
from icaht.core.record import (
    Bleeding,
    CrsEpisode,
    Death,
    Fever,
    Finding,
    Hct,
    IcansEpisode,
    Infection,
    MarrowBiopsy,
    Medication,
    StemCellBoost,
    Transfusion,
)
from icaht.errors import InputError
from icaht.io.fhir import codes, iter_ndjson_records, read_bundle, read_ndjson
from icaht.io.fhir.courses import load_fhir_courses
from icaht.io.fhir.import_report import UNMAPPED_SAMPLES_PER_REASON

SUBJECT = {"reference": "Patient/p1"}
SCT, LOINC, ICD = codes.SNOMED, codes.LOINC, codes.ICD10CM


def _cc(system: str | None, code: str | None, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if system:
        concept["coding"] = [{"system": system, "code": code}]
    if text:
        concept["text"] = text
    return concept


def _obs(rid: str, loinc: str, when: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": _cc(LOINC, loinc),
        "subject": SUBJECT,
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, **({"unit": unit} if unit else {}), **extra},
    }


def _condition(rid: str, code: dict[str, Any], onset: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "code": code,
        "subject": SUBJECT,
        "onsetDateTime": onset,
        **extra,
    }


def _procedure(rid: str, code: dict[str, Any], when: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": code,
        "subject": SUBJECT,
        "performedDateTime": when,
        **extra,
    }


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "urn:mrn", "value": "MRN-7"}],
    "gender": "female",
    "birthDate": "1960-03-01",
    "deceasedDateTime": "2023-09-01",
}

RESOURCES: list[dict[str, Any]] = [
    PATIENT,
    _procedure("cart", _cc(SCT, "1156961008"), "2023-03-01", usedCode=[{"text": "axi-cel"}]),
    _obs("w", "29463-7", "2023-02-20", 132.0, "", system=codes.UCUM, code="[lb_av]"),
    # ANC by UCUM code only, with limits; a manual-count alternative code with a comparator
    {
        **_obs(
            "anc1", "751-8", "2023-03-05T08:30:00+01:00", 0.3, "", system=codes.UCUM, code="10*9/L"
        ),
        "referenceRange": [{"low": {"value": 1.5}, "high": {"value": 7.5}}],
    },
    _obs("anc2", "753-4", "2023-03-06", 0.1, "10*9/L", comparator="<"),
    _obs("plt", "777-3", "2023-03-05", 40, "10*3/uL"),
    _obs("err", "777-3", "2023-03-05", 400, "10*3/uL") | {"status": "entered-in-error"},
    _obs("na", "2345-7", "2023-03-05", 5.1, "mmol/L"),  # glucose: not mapped
    _obs("t1", "8310-5", "2023-03-02T20:00:00Z", 38.6, "Cel"),
    _obs("t2", "8310-5", "2023-03-03T08:00:00Z", 37.1, "Cel"),
    _condition("crs", _cc(ICD, "D89.832"), "2023-03-02", abatementDateTime="2023-03-04"),
    _condition(
        "icans",
        _cc(ICD, "G92.00"),
        "2023-03-04",
        stage=[{"summary": {"text": "ASTCT Grade 3"}}],
    ),
    _condition(
        "inf",
        _cc(None, None, "Pneumonia"),
        "2023-03-10",
        severity={"coding": [{"system": SCT, "code": "24484000"}]},
        bodySite=[{"text": "lung"}],
    ),
    _condition("inf2", _cc(None, None, "Sepsis"), "2023-03-12"),  # no severity: unknown
    _condition(
        "bleed",
        _cc(codes.ICAHT_CODES, "bleeding"),
        "2023-03-11",
        stage=[{"summary": {"coding": [{"system": codes.ICAHT_GRADES, "code": "2"}]}}],
    ),
    _condition(
        "spleen",
        _cc(None, None, "Splenomegaly"),
        "2023-03-11",
        verificationStatus={
            "coding": [{"system": codes.CONDITION_VERIFICATION, "code": "refuted"}]
        },
    ),
    _condition("hs", _cc(codes.ICAHT_CODES, "iec-hs"), "2023-03-15"),
    _condition("fev", _cc(SCT, "386661006"), "2023-03-16"),
    _procedure(
        "rbc",
        _cc(SCT, "116863004"),
        "2023-03-07",
        extension=[{"url": codes.EXT_TRANSFUSION_UNITS, "valueInteger": 2}],
    ),
    _procedure("bm", _cc(SCT, "312581009"), "2023-05-30"),
    _procedure(
        "boost",
        _cc(codes.ICAHT_CODES, "stem-cell-boost"),
        "2023-06-20",
        extension=[{"url": codes.EXT_BOOST_SOURCE, "valueCode": "autologous"}],
    ),
    _procedure("hct", _cc(None, None, "Allogeneic HCT"), "2021-01-10"),
    {
        "resourceType": "DiagnosticReport",
        "id": "bmr",
        "status": "final",
        "code": _cc(codes.ICAHT_CODES, "marrow-biopsy"),
        "subject": SUBJECT,
        "effectiveDateTime": "2023-05-30",
        "conclusion": "Hypocellular marrow.",
        "contained": [
            {
                "resourceType": "Observation",
                "id": "c1",
                "status": "final",
                "code": _cc(codes.ICAHT_CODES, "marrow-cellularity"),
                "valueCodeableConcept": _cc(codes.ICAHT_CODES, "hypocellular"),
            },
            {
                "resourceType": "Observation",
                "id": "c2",
                "status": "final",
                "code": _cc(codes.ICAHT_CODES, "marrow-fibrosis"),
                "valueBoolean": False,
            },
        ],
        "result": [{"reference": "#c1"}, {"reference": "#c2"}],
    },
    {
        "resourceType": "MedicationAdministration",
        "id": "ma",
        "status": "completed",
        "medicationCodeableConcept": _cc(codes.RXNORM, "68442", "Zarxio"),
        "subject": SUBJECT,
        "effectiveDateTime": "2023-03-08T09:00:00Z",
        "dosage": {"dose": {"value": 300, "unit": "ug"}, "route": {"text": "subcutaneous"}},
    },
    {
        "resourceType": "MedicationRequest",
        "id": "mr",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": _cc(codes.ATC, "B02BX05", "eltrombopag choline"),
        "subject": SUBJECT,
        "authoredOn": "2023-05-01",
        "dosageInstruction": [
            {
                "timing": {
                    "code": {"text": "daily"},
                    "repeat": {"boundsPeriod": {"start": "2023-06-01", "end": "2023-07-01"}},
                },
                "doseAndRate": [{"doseQuantity": {"value": 36, "unit": "mg"}}],
            }
        ],
    },
    {"resourceType": "Medication", "id": "med-tmp", "code": _cc(None, None, "Bactrim")},
    {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "status": "active",
        "medicationReference": {"reference": "Medication/med-tmp"},
        "subject": SUBJECT,
        "effectivePeriod": {"start": "2023-04-01"},
    },
    {
        "resourceType": "MedicationStatement",
        "id": "ms2",
        "status": "active",
        "medicationCodeableConcept": _cc(None, None, "paracetamol"),
        "subject": SUBJECT,
        "effectiveDateTime": "2023-04-01",
    },
    {
        "resourceType": "Encounter",
        "id": "enc",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": SUBJECT,
    },
]


def _write_bundle(path: Path, resources: list[dict[str, Any]], kind: str = "collection") -> Path:
    entries = [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}", "resource": r}
        for i, r in enumerate(resources)
    ]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}))
    return path


def _of(record: PatientRecord, kind: type) -> list[Any]:
    return [e for e in record.events if isinstance(e, kind)]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[PatientRecord, Any]:
    path = _write_bundle(tmp_path_factory.mktemp("b") / "bundle.json", RESOURCES)
    (record,), report = read_bundle(path)
    return record, report


def test_patient_facts(imported: tuple[PatientRecord, Any]) -> None:
    record, _ = imported
    facts = record.patient
    assert facts.patient_id == "p1"
    assert facts.sex == "female"
    assert facts.infusion_date == date(2023, 3, 1)
    assert facts.product == "axi-cel"
    assert facts.age_years == round((date(2023, 3, 1) - date(1960, 3, 1)).days / 365.25, 2)
    assert facts.weight_kg == pytest.approx(132.0 * 0.45359237, abs=1e-3)
    assert facts.prior_allo_hct is True  # an allogeneic HCT before the infusion
    (death,) = _of(record, Death)
    assert death.start == date(2023, 9, 1)


def test_patient_id_from_a_chosen_identifier_system(tmp_path: Path) -> None:
    path = _write_bundle(tmp_path / "b.json", RESOURCES[:2])
    (record,), _ = read_bundle(path, id_system="urn:mrn")
    assert record.patient.patient_id == "MRN-7"


def test_observations(imported: tuple[PatientRecord, Any]) -> None:
    record, report = imported
    labs = {(o.analyte, o.value): o for o in record.observations}
    assert set(labs) == {("anc", 0.3), ("anc", 0.1), ("platelets", 40.0)}
    anc = labs[("anc", 0.3)]
    assert (anc.unit, anc.lln, anc.uln) == ("10*9/L", 1.5, 7.5)
    # instants are the site's wall-clock time (ICAHT_TIMEZONE, default UTC; issue 17)
    assert anc.time.isoformat() == "2023-03-05T07:30:00"  # type: ignore[union-attr]
    # issue 15 (censored values): the bound is the value and the comparator is kept
    assert report.notes["value with a comparator (<, >) taken at its limit, kept as censored"] == 1
    assert labs[("anc", 0.1)].censored == "<"
    assert anc.censored is None
    assert report.notes["body temperature below 38 Cel: not a fever"] == 1
    (fever_obs, fever_cond) = sorted(_of(record, Fever), key=lambda f: str(f.start))
    assert fever_obs.temperature_c == 38.6
    assert fever_cond.temperature_c is None


def test_conditions(imported: tuple[PatientRecord, Any]) -> None:
    record, _ = imported
    (crs,) = _of(record, CrsEpisode)
    assert (crs.grade, crs.start, crs.end) == (2, date(2023, 3, 2), date(2023, 3, 4))
    (icans,) = _of(record, IcansEpisode)
    assert icans.grade == 3
    # issue 17: an infection without a severity maps with severity unknown
    infection, sepsis = sorted(_of(record, Infection), key=lambda i: str(i.start))
    assert (infection.severity, infection.site) == ("severe", "lung")
    assert sepsis.severity == "unknown"
    (bleeding,) = _of(record, Bleeding)
    assert bleeding.grade == 2
    findings = {f.finding: f.present for f in _of(record, Finding)}
    assert findings == {"splenomegaly": False, "iec_hs": True}


def test_procedures_and_marrow_report(imported: tuple[PatientRecord, Any]) -> None:
    record, _ = imported
    (rbc,) = _of(record, Transfusion)
    assert (rbc.product, rbc.units) == ("rbc", 2)
    (marrow,) = _of(record, MarrowBiopsy)  # Procedure and report of one day are one biopsy
    assert (marrow.cellularity, marrow.fibrosis, marrow.note) == (
        "hypocellular",
        False,
        "Hypocellular marrow.",
    )
    (boost,) = _of(record, StemCellBoost)
    assert boost.source == "autologous"
    (hct,) = _of(record, Hct)
    assert hct.hct_type == "allogeneic"


def test_medications(imported: tuple[PatientRecord, Any]) -> None:
    record, _ = imported
    meds = {m.drug: m for m in _of(record, Medication)}
    assert set(meds) == {"filgrastim", "eltrombopag", "sulfamethoxazole-trimethoprim"}
    gcsf = meds["filgrastim"]
    assert (gcsf.dose, gcsf.dose_unit, gcsf.route, gcsf.product) == (
        300,
        "ug",
        "subcutaneous",
        "Zarxio",
    )
    assert gcsf.start == gcsf.end
    epag = meds["eltrombopag"]
    assert (epag.product, epag.dose, epag.frequency) == ("eltrombopag choline", 36, "daily")
    assert (epag.start, epag.end) == (date(2023, 6, 1), date(2023, 7, 1))
    assert meds["sulfamethoxazole-trimethoprim"].end is None


def test_report_counts_and_samples_unmapped(imported: tuple[PatientRecord, Any]) -> None:
    _, report = imported
    assert report.resources_read == len(RESOURCES)
    assert report.patients == 1
    assert report.unmapped == {"Observation": 2, "MedicationStatement": 1, "Encounter": 1}
    assert report.unmapped_reasons["Observation: code not in the lab mapping table"] == 1
    assert report.unmapped_reasons["Observation: status entered-in-error"] == 1
    sampled = {(s.resource_type, s.resource_id) for s in report.samples}
    assert {("Observation", "na"), ("MedicationStatement", "ms2")} <= sampled
    assert sum(report.mapped.values()) + sum(report.unmapped.values()) == len(RESOURCES)
    assert json.dumps(report.as_dict())


def test_samples_are_capped_per_reason(tmp_path: Path) -> None:
    extra = [_obs(f"g{i}", "2345-7", "2023-03-05", 5.0, "mmol/L") for i in range(12)]
    (_, report) = read_bundle(_write_bundle(tmp_path / "b.json", RESOURCES[:2] + extra))
    assert report.unmapped["Observation"] == 12
    assert len(report.samples) == UNMAPPED_SAMPLES_PER_REASON


def test_transaction_and_searchset_bundles_with_urn_references(tmp_path: Path) -> None:
    patient_url = "urn:uuid:11111111-1111-4111-8111-111111111111"
    obs = _obs("o", "751-8", "2023-03-02", 0.4, "10*9/L") | {"subject": {"reference": patient_url}}
    cart = _procedure("c", _cc(SCT, "1156961008"), "2023-03-01") | {
        "subject": {"reference": patient_url}
    }
    entries = [
        {
            "fullUrl": patient_url,
            "resource": {"resourceType": "Patient"},
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": "urn:uuid:2",
            "resource": obs,
            "request": {"method": "POST", "url": "Observation"},
        },
        {
            "fullUrl": "urn:uuid:3",
            "resource": cart,
            "request": {"method": "POST", "url": "Procedure"},
        },
        {"request": {"method": "DELETE", "url": "Observation/old"}},
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
    (record,), _ = read_bundle(path)
    assert [o.value for o in record.observations] == [0.4]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational"}],
    }
    search = [PATIENT, RESOURCES[1], RESOURCES[5], outcome]
    (record,), report = read_bundle(_write_bundle(tmp_path / "s.json", search, "searchset"))
    assert [o.analyte for o in record.observations] == ["platelets"]
    assert report.unmapped["OperationOutcome"] == 1


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"resourceType": "Bundle", "type": "collection", "entry": [')
    with pytest.raises(InputError) as caught:
        read_bundle(path)
    (problem,) = caught.value.problems
    assert problem.source == str(path)
    assert "not valid JSON" in problem.message


def test_invalid_resource_names_id_and_element_path(tmp_path: Path) -> None:
    bad = _obs("obs-9", "751-8", "2023-03-02", 0.4, "10*9/L")
    bad["valueQuantity"]["value"] = "lots"
    path = _write_bundle(tmp_path / "b.json", [PATIENT, bad])
    with pytest.raises(InputError) as caught:
        read_bundle(path)
    (problem,) = caught.value.problems
    assert "Observation/obs-9" in problem.message
    assert problem.field == "Bundle.entry[1].resource.Observation.valueQuantity.value"
    assert problem.value == "lots"


def test_unsupported_bundle_type(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_bundle(_write_bundle(tmp_path / "b.json", [PATIENT], "history"))
    assert caught.value.problems[0].field == "Bundle.type"


def test_dates_without_a_car_t_infusion_are_an_error(tmp_path: Path) -> None:
    path = _write_bundle(tmp_path / "b.json", [PATIENT, RESOURCES[5]])
    with pytest.raises(InputError) as caught:
        load_fhir_courses(path)
    assert "no CAR-T infusion" in caught.value.problems[0].message


def _write_ndjson(folder: Path, resources: list[dict[str, Any]]) -> Path:
    folder.mkdir()
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n")
    return folder


def test_ndjson_groups_interleaved_patients(tmp_path: Path) -> None:
    resources: list[dict[str, Any]] = []
    for pid in ("a", "b", "c"):
        resources.append({"resourceType": "Patient", "id": pid})
    for day in range(1, 4):  # lines of the three patients interleaved
        for pid in ("c", "a", "b"):
            obs = _obs(f"{pid}{day}", "777-3", f"2023-03-0{day}", 10 * day, "10*9/L")
            resources.append(obs | {"subject": {"reference": f"Patient/{pid}"}})
    for pid in ("a", "b", "c"):
        cart = _procedure(f"cart-{pid}", _cc(SCT, "1156961008"), "2023-03-01")
        resources.append(cart | {"subject": {"reference": f"Patient/{pid}"}})
    folder = _write_ndjson(tmp_path / "bulk", resources)
    records, report = read_ndjson(folder)
    assert [r.patient.patient_id for r in records] == ["a", "b", "c"]
    for record in records:
        assert [o.value for o in record.observations] == [10, 20, 30]
        assert record.patient.infusion_date == date(2023, 3, 1)
    assert report.patients == 3
    assert report.resources_read == len(resources)


def test_ndjson_errors_name_file_line_id_and_path(tmp_path: Path) -> None:
    folder = _write_ndjson(tmp_path / "bulk", RESOURCES[:4])
    bad = _obs("obs-x", "751-8", "2023-03-02", 0.4, "10*9/L")
    bad["status"] = 5
    with (folder / "Observation.ndjson").open("a") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps(bad) + "\n")
    stream = iter_ndjson_records(folder)
    with pytest.raises(InputError) as caught:
        next(stream)
    malformed, invalid = caught.value.problems
    assert malformed.source.endswith("Observation.ndjson")
    assert malformed.row == 3
    assert "not valid JSON" in malformed.message
    assert invalid.row == 4
    assert "Observation/obs-x" in invalid.message
    assert invalid.field == "Observation.status"


def test_ndjson_folder_without_files(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        list(iter_ndjson_records(tmp_path))
