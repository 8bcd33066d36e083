"""EHR-shaped FHIR R4 into the record (issue 17): day 0, transfusions, marrow, conditions,
medications, the neutrophil differential, units, time zones, hs-CRP and the import report.

Where the shapes come from (written here from their public descriptions, nothing copied):
* Epic-style: Epic's public FHIR R4 documentation (open.epic.com): procedures coded CPT with
  upper-case text, instants with the site's UTC offset, the differential as separate segmented /
  band Observations of one ``specimen``, units as the lab prints them (``x10(3)/mcL``,
  ``gm/dL``), medications by ``medicationReference`` with an order-style ``display``.
* Oracle-style: Oracle Health (Cerner) Millennium R4 documentation: labs in UCUM
  (``10*3/uL``), instants in UTC (``Z``), RxNorm-coded MedicationAdministration.
* Synthea-style: Synthea's FHIR R4 output: SNOMED-coded Procedures, LOINC labs with UCUM units,
  ``effectiveDateTime`` with an offset, ``medicationCodeableConcept`` with RxNorm codes.
* US Core: Condition ``recordedDate`` and ``verificationStatus`` (encounter diagnoses).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from icaht.cli import app
from icaht.core.assessment import assess
from icaht.core.patient_record import PatientRecord
from icaht.core.record import CrsEpisode, Infection, MarrowBiopsy, Medication, Transfusion
from icaht.io.fhir import codes, read_bundle, write_bundle
from icaht.io.fhir.courses import courses_from_records
from icaht.io.fhir.options import ImportOptions
from icaht.knowledge.profile import load_profile
from icaht.knowledge.profile.inputs import FhirImportSettings

SUBJECT = {"reference": "Patient/p1"}
LOINC, SCT, RX = codes.LOINC, codes.SNOMED, codes.RXNORM
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1960-01-01"}
INFUSION = date(2024, 3, 1)


def _bundle(tmp_path: Path, resources: list[dict[str, Any]], name: str = "b.json") -> Path:
    path = tmp_path / name
    entries = [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources)]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


def _read(tmp_path: Path, resources: list[dict[str, Any]], **kw: Any) -> tuple[PatientRecord, Any]:
    (record,), report = read_bundle(_bundle(tmp_path, [PATIENT, *resources]), **kw)
    return record, report


def _procedure(rid: str, system: str, code: str, when: str, text: str = "", **extra: Any) -> dict:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        concept["text"] = text
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": concept,
        "subject": SUBJECT,
        "performedDateTime": when,
        **extra,
    }


def _lab(rid: str, loinc: str, when: str, value: float, unit: str, **extra: Any) -> dict:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": SUBJECT,
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit},
        **extra,
    }


def _admin(rid: str, concept: dict[str, Any], when: str, **extra: Any) -> dict:
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": concept,
        "subject": SUBJECT,
        "effectiveDateTime": when,
        **extra,
    }


EPIC_CART = _procedure(
    "cart", codes.CPT, "38228", "2024-03-01T14:00:00-06:00", "CAR-T CELL THERAPY ADMINISTRATION"
)


# ------------------------------------------------------------------------------ day 0


@pytest.mark.parametrize(
    ("resource", "product"),
    [
        (_procedure("c", codes.CPT, "0540T", "2024-03-01"), None),
        (EPIC_CART, None),
        (_procedure("c", codes.ICD10PCS, "XW033H7", "2024-03-01"), "axicabtagene ciloleucel"),
        (_procedure("c", codes.ICD10PCS, "XW043C7", "2024-03-01"), None),
        # ICD-10-PCS by product (Medicare contractor billing page, see procedures.csv)
        (_procedure("c", codes.ICD10PCS, "XW033A7", "2024-03-01"), "ciltacabtagene autoleucel"),
        (_procedure("c", codes.ICD10PCS, "XW24376", "2024-03-01"), "lisocabtagene maraleucel"),
        (
            _admin("c", {"coding": [{"system": RX, "code": "1987402"}]}, "2024-03-01T10:00:00Z"),
            "axicabtagene ciloleucel",
        ),
        (
            _admin("c", {"text": "YESCARTA (axicabtagene ciloleucel) suspension"}, "2024-03-01"),
            "axicabtagene ciloleucel",
        ),
        (
            _admin(
                "c",
                {"coding": [{"system": codes.ATC, "code": "L01XL03"}], "text": "Yescarta"},
                "2024-03-01",
            ),
            "axicabtagene ciloleucel",
        ),
    ],
)
def test_day_0_from_vendor_codes(tmp_path: Path, resource: dict, product: str | None) -> None:
    """Issue 17: the infusion from CPT 0540T/38228, ICD-10-PCS XW0 CAR-T codes, and the
    product's administration (RxNorm, ATC L01XL, its name); before, only SNOMED CT 1156961008."""
    record, _ = _read(tmp_path, [resource])
    assert record.patient.infusion_date == INFUSION
    if product is not None:
        assert record.patient.product == product
    assert not [e for e in record.events if isinstance(e, Medication)]


def test_day_0_from_an_order_when_no_administration(tmp_path: Path) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "id": "o",
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {"text": "tisagenlecleucel"},
        "subject": SUBJECT,
        "authoredOn": "2024-03-01",
    }
    record, report = _read(tmp_path, [order])
    assert record.patient.infusion_date == INFUSION
    assert any("product order" in note for note in report.notes)


def test_lymphodepletion_start_from_flu_cy_before_the_infusion(tmp_path: Path) -> None:
    """Issue 17: the LD start from fludarabine/cyclophosphamide given in the days before, so
    the CAR-HEMATOTOX baseline is pre-LD (docs/decisions.md, Timeline)."""
    flu = [
        _admin(f"flu{d}", {"text": "fludarabine (FLUDARA) 30 mg/m2 IV"}, f"2024-02-{d}T09:00:00Z")
        for d in (25, 26, 27)
    ]
    cy = _admin("cy", {"coding": [{"system": codes.ATC, "code": "L01AA01"}]}, "2024-02-25")
    old = _admin("old", {"text": "cyclophosphamide"}, "2023-11-01")  # an earlier regimen
    record, _ = _read(tmp_path, [EPIC_CART, *flu, cy, old])
    assert record.patient.ld_start == date(2024, 2, 25)


def test_no_infusion_fails_the_import_once_naming_what_was_looked_for(tmp_path: Path) -> None:
    """Issue 17: before, ``fhir import`` exited 0 and ``assess`` then failed on every value."""
    path = _bundle(tmp_path, [PATIENT, _lab("a", "751-8", "2024-03-05", 0.3, "10*3/uL")])
    result = CliRunner().invoke(app, ["fhir", "import", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert output.count("no CAR-T infusion found") == 1
    assert "0540T" in output
    assert "axicabtagene ciloleucel" in output


# ------------------------------------------------------------------------------ events


@pytest.mark.parametrize(
    ("system", "code", "product"),
    [
        (codes.ICD10PCS, "30233N1", "rbc"),
        (codes.ICD10PCS, "30233R1", "platelets"),
        (codes.ICD10PCS, "30243R1", "platelets"),
    ],
)
def test_transfusion_codes(tmp_path: Path, system: str, code: str, product: str) -> None:
    record, _ = _read(tmp_path, [EPIC_CART, _procedure("t", system, code, "2024-03-10")])
    (transfusion,) = [e for e in record.events if isinstance(e, Transfusion)]
    assert transfusion.product == product


def test_generic_transfusion_reads_the_biologically_derived_product(tmp_path: Path) -> None:
    """Issue 17: SNOMED 116859006 / CPT 36430 with the product a BiologicallyDerivedProduct."""
    product = {
        "resourceType": "BiologicallyDerivedProduct",
        "id": "bdp1",
        "productCategory": "fluid",
        "productCode": {"text": "Apheresis Platelets"},
    }
    generic = _procedure(
        "t",
        codes.CPT,
        "36430",
        "2024-03-10",
        usedReference=[{"reference": "BiologicallyDerivedProduct/bdp1"}],
    )
    snomed = _procedure(
        "t2", SCT, "116859006", "2024-03-12", usedCode=[{"text": "Red blood cells"}]
    )
    record, _ = _read(tmp_path, [EPIC_CART, product, generic, snomed])
    products = sorted(e.product for e in record.events if isinstance(e, Transfusion))
    assert products == ["platelets", "rbc"]


def test_marrow_biopsy_cpt_and_text_and_round_trip(tmp_path: Path) -> None:
    """Issue 17: CPT 38221 and the Epic text; an exported bare biopsy survives a round trip
    (before, it was exported as a DiagnosticReport and removed on import)."""
    cpt = _procedure("bm1", codes.CPT, "38221", "2024-04-01")
    text = {**_procedure("bm2", "urn:epic:proc", "X1", "2024-05-01")}
    text["code"]["text"] = "BONE MARROW BIOPSY AND ASPIRATION"
    record, _ = _read(tmp_path, [EPIC_CART, cpt, text])
    assert len([e for e in record.events if isinstance(e, MarrowBiopsy)]) == 2
    write_bundle([record], tmp_path / "out.json")
    (back,), _ = read_bundle(tmp_path / "out.json")
    assert len([e for e in back.events if isinstance(e, MarrowBiopsy)]) == 2


def _condition(rid: str, icd: str, **extra: Any) -> dict:
    return {
        "resourceType": "Condition",
        "id": rid,
        "code": {"coding": [{"system": codes.ICD10CM, "code": icd}]},
        "subject": SUBJECT,
        **extra,
    }


def test_conditions_as_encounter_diagnoses(tmp_path: Path) -> None:
    """Issue 17 / US Core: CRS with only ``recordedDate`` starts then (approximate); an
    infection without severity maps with severity unknown; entered-in-error never maps."""
    crs = _condition("crs", "D89.832", recordedDate="2024-03-03")
    wrong = _condition(
        "crs2",
        "D89.834",
        onsetDateTime="2024-03-04",
        verificationStatus={
            "coding": [{"system": codes.CONDITION_VERIFICATION, "code": "entered-in-error"}]
        },
    )
    infection = {
        **_condition("inf", "A41.9", onsetDateTime="2024-03-06"),
        "code": {"text": "Sepsis"},
    }
    record, report = _read(tmp_path, [EPIC_CART, crs, wrong, infection])
    (episode,) = [e for e in record.events if isinstance(e, CrsEpisode)]
    assert (episode.grade, episode.start, episode.start_known) == (
        2,
        date(2024, 3, 3),
        "approximate",
    )
    (inf,) = [e for e in record.events if isinstance(e, Infection)]
    assert inf.severity == "unknown"
    assert report.unmapped_reasons["Condition: verificationStatus entered-in-error"] == 1


# ------------------------------------------------------------------------------ medications


def test_medications_by_rxnorm_product_order_text_and_reference_display(tmp_path: Path) -> None:
    """Issue 17: an RxNorm SCD/SBD code maps to its ingredient (rxnorm_products.csv), order
    text maps by ingredient and brand, a medicationReference by the bundle's Medication, a
    contained one, or its display."""
    by_code = _admin("m1", {"coding": [{"system": RX, "code": "1649946"}]}, "2024-03-05")
    by_text = _admin("m2", {"text": "filgrastim (NEUPOGEN) injection 480 mcg"}, "2024-03-06")
    medication = {
        "resourceType": "Medication",
        "id": "med9",
        "code": {"coding": [{"system": RX, "code": "198335"}]},
    }
    by_ref = {
        "resourceType": "MedicationRequest",
        "id": "m3",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/med9"},
        "subject": SUBJECT,
        "authoredOn": "2024-03-07",
    }
    by_display = {
        **by_ref,
        "id": "m4",
        "medicationReference": {
            "reference": "Medication/elsewhere",
            "display": "acyclovir 400 mg tablet (ZOVIRAX)",
        },
    }
    contained = {
        **by_ref,
        "id": "m5",
        "contained": [
            {"resourceType": "Medication", "id": "c", "code": {"text": "Levaquin 500 mg"}}
        ],
        "medicationReference": {"reference": "#c"},
    }
    record, _ = _read(
        tmp_path, [EPIC_CART, medication, by_code, by_text, by_ref, by_display, contained]
    )
    drugs = sorted(e.drug for e in record.events if isinstance(e, Medication))
    assert drugs == [
        "acyclovir",
        "filgrastim",
        "filgrastim",
        "levofloxacin",
        "sulfamethoxazole-trimethoprim",
    ]


# ------------------------------------------------------------------------------ labs


def _early_grade(record: PatientRecord, day: int = 30) -> int | None:
    (course,) = courses_from_records([record], "t")
    return assess(course, day, load_profile()).early_icaht.grade


def test_segs_plus_bands_are_the_anc_not_segs_alone(tmp_path: Path) -> None:
    """Issue 17: segs 0.45 + bands 0.08 = ANC 0.53 (early ICAHT 0); before, segs alone were read
    as the ANC (early ICAHT 3). Epic-style: one specimen, units as printed."""
    labs = []
    for day in range(1, 15):
        when = f"{(INFUSION + timedelta(days=day)).isoformat()}T06:00:00-06:00"
        spec = {"specimen": {"reference": f"Specimen/s{day}"}}
        labs += [
            _lab(f"s{day}", "30451-9", when, 0.45, "x10(3)/mcL", **spec),
            _lab(f"b{day}", "26507-4", when, 0.08, "x10(3)/mcL", **spec),
        ]
    record, _ = _read(tmp_path, [EPIC_CART, *labs])
    ancs = [o for o in record.observations if o.analyte == "anc"]
    assert {round(o.value, 2) for o in ancs} == {0.53}
    assert all(o.derived for o in ancs)
    assert _early_grade(record) == 0
    alone, _ = _read(tmp_path, [EPIC_CART, *labs[::2]])
    assert not [o for o in alone.observations if o.analyte == "anc"]


def test_anc_and_lymphocytes_from_percent_times_wbc(tmp_path: Path) -> None:
    when = "2024-03-05T08:00:00Z"
    labs = [
        _lab("w", "6690-2", when, 2.0, "10*3/uL"),
        _lab("n", "770-8", when, 25.0, "%"),
        _lab("l", "736-9", when, 10.0, "%"),
    ]
    record, _ = _read(tmp_path, [EPIC_CART, *labs])
    derived = {
        o.analyte: (o.value, o.derived is not None) for o in record.observations if o.derived
    }
    assert derived == {"anc": (0.5, True), "lymphocytes": (0.2, True)}


def test_lab_units_as_printed_and_an_unknown_unit_drops_one_value(tmp_path: Path) -> None:
    labs = [
        _lab("p1", "777-3", "2024-03-05", 40, "Thousand/uL"),
        _lab("p2", "777-3", "2024-03-06", 41, "K/mm3"),
        _lab("h1", "718-7", "2024-03-05", 9.1, "gm/dL"),
        _lab("l1", "2532-0", "2024-03-05", 300, "units/L"),
        _lab("f1", "2276-4", "2024-03-05", 900, "mcg/L"),
        _lab("bad", "777-3", "2024-03-07", 42, "lakh/ml"),
    ]
    record, report = _read(tmp_path, [EPIC_CART, *labs])
    assert len(record.observations) == 5
    (dropped,) = report.dropped
    assert (dropped.resource_id, dropped.code) == ("bad", "http://loinc.org|777-3")
    assert "not accepted" in dropped.reason
    assert report.as_dict()["dropped"][0]["id"] == "bad"
    assert "e.g. Observation/bad [http://loinc.org|777-3]" in report.summary()


def test_reference_range_in_another_unit_is_converted(tmp_path: Path) -> None:
    """Issue 17: a Hb range of 135-175 g/L on a g/dL value became LLN 135 g/dL."""
    hb = _lab(
        "hb",
        "718-7",
        "2024-03-05",
        9.0,
        "g/dL",
        referenceRange=[
            {"low": {"value": 135, "unit": "g/L"}, "high": {"value": 175, "unit": "g/L"}}
        ],
    )
    record, _ = _read(tmp_path, [EPIC_CART, hb])
    (obs,) = record.observations
    assert (obs.lln, obs.uln) == pytest.approx((13.5, 17.5))


def test_site_time_zone_sets_the_local_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: a 21:00 Chicago lab sent in UTC is on its local day; an infusion at 20:00
    local (02:00 UTC next day) keeps its local day 0."""
    monkeypatch.setenv("ICAHT_TIMEZONE", "America/Chicago")
    cart = _procedure("c", codes.CPT, "38228", "2024-03-02T02:00:00Z")
    lab = _lab("a", "751-8", "2024-03-06T03:00:00Z", 0.3, "10*3/uL")
    record, _ = _read(tmp_path, [cart, lab])
    assert record.patient.infusion_date == INFUSION
    (obs,) = record.observations
    assert obs.time == datetime(2024, 3, 5, 21, 0)


def test_hs_crp_only_where_the_profile_says_so(tmp_path: Path) -> None:
    hs = _lab("hs", "30522-7", "2024-03-05", 12.0, "mg/L")
    record, report = _read(tmp_path, [EPIC_CART, hs])
    assert not record.observations
    assert any("hs-CRP" in reason for reason in report.unmapped_reasons)
    on = ImportOptions(settings=FhirImportSettings(hs_crp_as_crp=True))
    record, _ = _read(tmp_path, [EPIC_CART, hs], options=on)
    assert [(o.analyte, o.value) for o in record.observations] == [("crp", 12.0)]


# ------------------------------------------------------------------------------ vendor suite


def _anc(day: int) -> float:
    """One 120-day course: profound early neutropenia, recovery, a late dip."""
    if 1 <= day <= 12:
        return 0.3
    if 40 <= day <= 52:
        return 0.4
    return 2.0


def _epic(day: int, value: float) -> list[dict]:
    when = f"{(INFUSION + timedelta(days=day)).isoformat()}T06:00:00-06:00"
    spec = {"specimen": {"reference": f"Specimen/e{day}"}}
    return [
        _lab(f"s{day}", "30451-9", when, round(value * 0.85, 4), "x10(3)/mcL", **spec),
        _lab(f"b{day}", "26507-4", when, round(value * 0.15, 4), "x10(3)/mcL", **spec),
    ]


def _oracle(day: int, value: float) -> list[dict]:
    when = f"{(INFUSION + timedelta(days=day)).isoformat()}T12:00:00Z"
    lab = _lab(f"a{day}", "751-8", when, value, "10*3/uL")
    lab["valueQuantity"] |= {"system": codes.UCUM, "code": "10*3/uL"}
    return [lab]


def _synthea(day: int, value: float) -> list[dict]:
    when = f"{(INFUSION + timedelta(days=day)).isoformat()}T09:30:00+00:00"
    return [_lab(f"a{day}", "751-8", when, value, "10*3/uL")]


def _international(day: int, value: float) -> list[dict]:
    when = f"{(INFUSION + timedelta(days=day)).isoformat()}T08:00:00+01:00"
    return [
        _lab(f"w{day}", "6690-2", when, value * 2, "G/L"),
        _lab(f"n{day}", "770-8", when, 50.0, "%"),
    ]


VENDORS = {
    "epic": (EPIC_CART, _epic),
    "oracle": (
        _admin("c", {"coding": [{"system": RX, "code": "1987402"}]}, "2024-03-01T16:00:00Z"),
        _oracle,
    ),
    "synthea": (_procedure("c", SCT, "1156961008", "2024-03-01T10:00:00+00:00"), _synthea),
    "international": (_procedure("c", codes.ICD10PCS, "XW033H7", "2024-03-01"), _international),
}


def test_one_course_from_every_vendor_shape_grades_alike(tmp_path: Path) -> None:
    """Issue 17 "done when": the same 120-day course rendered Epic-, Oracle-, Synthea-style and
    in international units imports and grades to the same grades (EHA/EBMT ICAHT)."""
    grades = {}
    for name, (cart, render) in VENDORS.items():
        labs = [lab for day in range(-5, 121) for lab in render(day, _anc(day))]
        (record,), _ = read_bundle(_bundle(tmp_path, [PATIENT, cart, *labs], f"{name}.json"))
        (course,) = courses_from_records([record], name)
        result = assess(course, 120, load_profile())
        grades[name] = (result.early_icaht.grade, result.late_icaht.grade)
    assert len(set(grades.values())) == 1, grades
    assert grades["synthea"][0] is not None
    assert grades["synthea"][0] >= 2
