"""FHIR out: assessments as Observations and a RiskAssessment, recommendations as CDS Hooks 2.0
cards; everything validated with fhir.resources R4B."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationrequest import MedicationRequest

from icaht.core.assessment import Assessment, assess
from icaht.core.course import course_from_record
from icaht.core.guidance import CitedSource, Recommendation
from icaht.core.outcome import Fact
from icaht.core.patient_record import PatientRecord
from icaht.io.fhir import codes
from icaht.io.fhir.assessment import GRADE_CODES, assessment_bundle, assessment_resources
from icaht.io.fhir.cards import SUMMARY_MAX, card, recommendation_cards
from icaht.io.fhir.writer import record_resources
from icaht.io.inputs import load_courses
from icaht.knowledge.profile import DEFAULT_PROFILE, load_profile

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.json"))
PROFILE = load_profile(DEFAULT_PROFILE)


def _assessments() -> list[Assessment]:
    out = []
    for path in EXAMPLES:
        (course,) = load_courses(path)
        out += [assess(course, day, PROFILE) for day in (7, 30, 120, None)]
    return out


ASSESSMENTS = _assessments()


def _baseline_assessment() -> Assessment:
    """All five CAR-HEMATOTOX inputs before lymphodepletion (Rejeski 2021: 2+1+1+1+2 = 7)."""
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "ht", "ld_start": -5},
            "observations": [
                {"time": -6, "analyte": a, "value": v, "unit": u}
                for a, v, u in (
                    ("platelets", 60, "10^9/L"),
                    ("anc", 1.0, "10^9/L"),
                    ("hb", 8.5, "g/dL"),
                    ("crp", 4.0, "mg/dL"),
                    ("ferritin", 2500, "ng/mL"),
                )
            ],
        }
    )
    return assess(course_from_record(record), 0, PROFILE)


def _local(resource: dict[str, object]) -> str:
    coding = resource["code"]["coding"]  # type: ignore[index]
    return str(coding[0]["code"])


@pytest.mark.parametrize(
    "assessment", ASSESSMENTS[:8], ids=lambda a: f"{a.patient_id}@{a.as_of_day}"
)
def test_grade_observations_carry_the_grades(assessment: Assessment) -> None:
    resources = assessment_resources(assessment, infusion_date=date(2023, 1, 10))
    by_code = {_local(r): r for r in resources if r["resourceType"] == "Observation"}
    for field, code, _ in GRADE_CODES:
        result = getattr(assessment, field)
        obs = by_code[code]
        if result.grade is None:
            assert "valueInteger" not in obs
            assert obs["dataAbsentReason"]["text"]
        else:
            assert obs["valueInteger"] == result.grade
        assert obs["status"] == ("preliminary" if result.provisional else "final")
        assert (
            obs["effectiveDateTime"]
            == date.fromordinal(date(2023, 1, 10).toordinal() + assessment.as_of_day).isoformat()
        )
        assert obs["code"]["coding"][0]["system"] == codes.ICAHT_CODES


def test_car_hematotox_risk_assessment() -> None:
    computable = [_baseline_assessment()]
    assert computable[0].scores.car_hematotox.total == 7
    missing = [a for a in ASSESSMENTS if not a.scores.car_hematotox.computable]
    assert computable
    assert missing
    for assessment in computable[:2] + missing[:2]:
        resources = assessment_resources(assessment)
        (risk,) = [r for r in resources if r["resourceType"] == "RiskAssessment"]
        score = next(
            r
            for r in resources
            if r["resourceType"] == "Observation" and _local(r) == "car-hematotox-score"
        )
        assert risk["basis"] == [{"reference": f"urn:uuid:{score['id']}"}]
        result = assessment.scores.car_hematotox
        if result.computable:
            assert score["valueInteger"] == result.total
            qualitative = risk["prediction"][0]["qualitativeRisk"]["coding"][0]
            assert (qualitative["system"], qualitative["code"]) == (
                codes.RISK_PROBABILITY,
                result.category,
            )
        else:
            assert "prediction" not in risk
            assert "not computable" in risk["note"][0]["text"]
            assert "valueInteger" not in score


def test_assessment_bundle_is_valid_fhir() -> None:
    bundle = assessment_bundle(ASSESSMENTS[1], "Patient/x")
    parsed = Bundle.model_validate(bundle)
    assert len(parsed.entry or []) == 6
    urls = {e.fullUrl for e in parsed.entry or []}
    assert {f"urn:uuid:{e.resource.id}" for e in parsed.entry or []} == urls  # type: ignore[union-attr]


def test_record_resources_are_valid_and_reference_their_patient() -> None:
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "a patient/with odd id"},
            "observations": [],
            "events": [{"kind": "crs", "start": 1, "grade": 2}],
        }
    )
    resources = record_resources(record)
    patient = resources[0]
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", patient["id"])
    assert patient["identifier"][0]["value"] == "a patient/with odd id"
    for resource in resources[1:]:
        assert resource["subject"] == {"reference": f"Patient/{patient['id']}"}
        assert len(resource["id"]) <= 64


def test_cards_follow_cds_hooks() -> None:
    seen_rules = set()
    for assessment in ASSESSMENTS:
        cards = recommendation_cards(assessment)
        assert len(cards) == len(assessment.recommendations)
        for item, rec in zip(cards, assessment.recommendations, strict=True):
            seen_rules.add(rec.rule_id)
            assert 0 < len(item["summary"]) <= SUMMARY_MAX
            assert item["indicator"] in ("info", "warning", "critical")
            assert item["source"]["label"]
            assert item["source"]["topic"]["code"] == rec.rule_id
            for fact in rec.facts:
                assert fact.value.replace("_", "\\_").replace("*", "\\*") in item["detail"]
            for cite in rec.citations:
                if cite.doi:
                    assert f"(https://doi.org/{cite.doi})" in item["detail"]
            if rec.citations and rec.citations[0].doi:
                assert item["source"]["url"] == f"https://doi.org/{rec.citations[0].doi}"
            assert "not a medical device" in item["detail"]
            for suggestion in item.get("suggestions", []):
                assert item["selectionBehavior"] == "at-most-one"
                for action in suggestion["actions"]:
                    assert action["type"] == "create"
                    assert action["resource"]["status"] == "draft"
    assert len(seen_rules) >= 5


def _recommendation(**change: object) -> Recommendation:
    base = {
        "rule_id": "prophylaxis.pjp-start",
        "title": "Start PJP prophylaxis",
        "category": "prophylaxis",
        "decision": "prophylaxis",  # every rule belongs to a decision (docs/decisions.md)
        "strength": "consider",
        "action": "Consider starting PJP prophylaxis with TMP-SMX.",
        "facts": [Fact(label="CD4", value="0.1 10^9/L", day=30)],
        "caveats": ["a caveat"],
        "citations": [
            CitedSource(
                key="JAIN",
                label="Jain T et al., Blood 2023",
                where="L37",
                doi="10.1182/blood.2022017415",
            )
        ],
        "settings": [],
        # issue 16: every fired recommendation carries its episode, signature, novelty and tier
        "episode": {"key": "prophylaxis.pjp-start", "began_day": 30},
        "signature": {"grade": None, "lineages": []},
        "novelty": "new",
        "tier": "standing",
    }
    return Recommendation.model_validate(base | change)


def test_indicator_by_strength_and_category() -> None:
    assessment = ASSESSMENTS[0]
    assert card(_recommendation(), assessment)["indicator"] == "info"
    assert card(_recommendation(strength="source recommends"), assessment)["indicator"] == "warning"
    assert card(_recommendation(category="alert"), assessment)["indicator"] == "warning"
    assert card(_recommendation(strength="alert"), assessment)["indicator"] == "critical"


def test_long_summary_is_cut_to_140_characters() -> None:
    item = card(_recommendation(title="x" * 300), ASSESSMENTS[0])
    assert len(item["summary"]) == SUMMARY_MAX
    assert item["summary"].endswith("…")


def test_pjp_card_suggests_a_draft_tmp_smx_order() -> None:
    item = card(_recommendation(), ASSESSMENTS[0], "Patient/p9")
    (suggestion,) = item["suggestions"]
    order = MedicationRequest.model_validate(suggestion["actions"][0]["resource"])
    assert order.intent == "proposal"
    assert order.subject.reference == "Patient/p9"
    codings = {(c.system, c.code) for c in order.medicationCodeableConcept.coding or []}  # type: ignore[union-attr]
    assert (codes.ATC, "J01EE01") in codings
    assert "- CD4: 0.1 10^9/L (day 30)" in item["detail"]
    assert card(_recommendation(), ASSESSMENTS[0])["uuid"] == item["uuid"]  # stable for feedback


def test_card_without_a_concrete_order_has_no_suggestions() -> None:
    item = card(_recommendation(rule_id="workup.late-cytopenia", category="workup"), ASSESSMENTS[0])
    assert "suggestions" not in item
    assert "selectionBehavior" not in item
