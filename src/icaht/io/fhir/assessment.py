"""An :class:`~icaht.core.assessment.Assessment` as FHIR R4 resources.

* One Observation per ICAHT / T-ICAHT grade (early and late window), coded in the icaht local
  code system (``early-icaht-grade``, ``late-icaht-grade``, ``early-ticaht-grade``,
  ``late-ticaht-grade``): ``valueInteger`` = grade 0-4, or ``dataAbsentReason`` with the reason
  when the window cannot be graded; ``status`` ``preliminary`` for a provisional grade;
  components give the as-of day, the window used and the days under each threshold.
* CAR-HEMATOTOX: an Observation with the score (``car-hematotox-score``; one component per
  input) and a RiskAssessment whose ``prediction.qualitativeRisk`` is the published risk group
  (high >= 2, low 0-1; Rejeski 2021) with the score Observation as its ``basis``.

Resources reference each other by ``urn:uuid`` (the Bundle's full URLs). Every resource is
validated with fhir.resources R4B. Decision support only, not a medical device.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from icaht import NOT_A_MEDICAL_DEVICE
from icaht.core.assessment import Assessment
from icaht.core.icaht import IcahtResult
from icaht.io.fhir import codes
from icaht.io.fhir.export_types import Resource, fhir_id
from icaht.io.fhir.writer import validated

_NAMESPACE = uuid.UUID("0d3c7f0e-2f0b-5b4e-8f73-5c8a9d1e4b21")  # icaht assessment namespace

#: Local codes of the grade Observations: (assessment field, code, display).
GRADE_CODES: tuple[tuple[str, str, str], ...] = (
    ("early_icaht", "early-icaht-grade", "Early ICAHT grade (EHA/EBMT, days 0-30)"),
    ("late_icaht", "late-icaht-grade", "Late ICAHT grade (EHA/EBMT, after day 30)"),
    ("early_ticaht", "early-ticaht-grade", "Early T-ICAHT grade (thrombocytopenia)"),
    ("late_ticaht", "late-ticaht-grade", "Late T-ICAHT grade (thrombocytopenia)"),
)


def _local(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": codes.ICAHT_CODES, "code": code, "display": display}]}


def _component_int(code: str, display: str, value: int) -> dict[str, Any]:
    return {"code": _local(code, display), "valueInteger": value}


def _days(code: str, text: str, value: float) -> dict[str, Any]:
    return {
        "code": {**_local(code, "Days below threshold"), "text": text},
        "valueQuantity": {"value": value, "unit": "d", "system": codes.UCUM, "code": "d"},
    }


class _Export:
    def __init__(
        self, assessment: Assessment, patient_reference: str | None, infusion_date: date | None
    ) -> None:
        self.a = assessment
        self.subject = {
            "reference": patient_reference or f"Patient/{fhir_id(assessment.patient_id)}"
        }
        self.when = (
            (infusion_date + timedelta(days=assessment.as_of_day)).isoformat()
            if infusion_date is not None
            else None
        )

    def urn(self, name: str) -> str:
        key = f"{self.a.patient_id}|{self.a.as_of_day}|{self.a.profile_name}|{name}"
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"

    def _base(self, resource_type: str, name: str) -> Resource:
        resource: Resource = {
            "resourceType": resource_type,
            "id": self.urn(name).removeprefix("urn:uuid:"),
            "subject": self.subject,
        }
        return resource

    def _method(self) -> dict[str, Any]:
        return {
            "text": f"icaht {self.a.icaht_version}, profile {self.a.profile_name} "
            f"{self.a.profile_version}"
        }

    def grade(self, field: str, code: str, display: str) -> Resource:
        result: IcahtResult = getattr(self.a, field)
        resource = self._base("Observation", code)
        resource.update(
            {
                "status": "preliminary" if result.provisional else "final",
                "category": [
                    {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "survey"}]}
                ],
                "code": {**_local(code, display), "text": display},
                "method": self._method(),
            }
        )
        if self.when is not None:
            resource["effectiveDateTime"] = self.when
        if result.grade is not None:
            resource["valueInteger"] = result.grade
        else:
            resource["dataAbsentReason"] = {
                "coding": [{"system": codes.DATA_ABSENT_REASON, "code": "unknown"}],
                "text": result.reason or "cannot be graded",
            }
        components = [
            _component_int("as-of-day", "Day of the assessment after infusion", self.a.as_of_day),
            _component_int("window-start-day", "Window start day", result.window_start_day),
            _component_int("window-end-day", "Window end day", result.window_end_day),
        ]
        for threshold, days in result.duration_days.items():
            components.append(
                _days("days-below-threshold", f"days {threshold} x10^9/L", float(days))
            )
        if result.lower_bound:
            components.append(
                {"code": _local("grade-is-minimum", "Grade is a minimum"), "valueBoolean": True}
            )
        resource["component"] = components
        notes = list(result.caveats)
        if result.censored_by:
            notes.append(f"window censored by {result.censored_by}")
        notes.append(NOT_A_MEDICAL_DEVICE)
        resource["note"] = [{"text": n} for n in notes]
        return resource

    def hematotox(self) -> list[Resource]:
        score = self.a.scores.car_hematotox
        observation = self._base("Observation", "car-hematotox-score")
        observation.update(
            {
                "status": "final",
                "category": [
                    {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "survey"}]}
                ],
                "code": {
                    **_local("car-hematotox-score", "CAR-HEMATOTOX score"),
                    "text": "CAR-HEMATOTOX score (Rejeski, Blood 2021)",
                },
                "method": self._method(),
            }
        )
        if self.when is not None:
            observation["effectiveDateTime"] = self.when
        if score.computable and score.total is not None:
            observation["valueInteger"] = int(score.total)
        else:
            observation["dataAbsentReason"] = {
                "coding": [{"system": codes.DATA_ABSENT_REASON, "code": "unknown"}],
                "text": score.reason or "not computable",
            }
        components: list[dict[str, Any]] = []
        for item in score.items:
            component: dict[str, Any] = {
                "code": {**_local(f"car-hematotox-{item.name}", item.name), "text": item.name}
            }
            if item.value is not None:
                component["valueQuantity"] = {"value": item.value, "unit": item.unit}
            else:
                component["dataAbsentReason"] = {
                    "coding": [{"system": codes.DATA_ABSENT_REASON, "code": "unknown"}]
                }
            if item.points is not None:
                component["interpretation"] = [{"text": f"{item.points} point(s): {item.band}"}]
            components.append(component)
        observation["component"] = components
        observation["note"] = [{"text": n} for n in [*score.notes, NOT_A_MEDICAL_DEVICE]]
        risk = self._base("RiskAssessment", "car-hematotox-risk")
        risk.update(
            {
                "status": "final" if score.computable else "preliminary",
                "method": _local("car-hematotox", "CAR-HEMATOTOX (Rejeski, Blood 2021)"),
                "basis": [{"reference": self.urn("car-hematotox-score")}],
            }
        )
        if self.when is not None:
            risk["occurrenceDateTime"] = self.when
        if score.computable and score.category in ("high", "low"):
            risk["prediction"] = [
                {
                    "outcome": {"text": "Hematotoxicity after CAR T-cell therapy (ICAHT)"},
                    "qualitativeRisk": {
                        "coding": [
                            {
                                "system": codes.RISK_PROBABILITY,
                                "code": score.category,
                                "display": score.category.capitalize() + " likelihood",
                            }
                        ],
                        "text": f"{score.category} risk",
                    },
                    "rationale": f"CAR-HEMATOTOX {score.total:g} (high risk >= 2)",
                }
            ]
        else:
            shown = (
                f" (range {score.minimum:g}-{score.maximum:g})"
                if score.minimum is not None and score.maximum is not None
                else ""
            )
            risk["note"] = [{"text": f"not computable: {score.reason}{shown}"}]
        risk.setdefault("note", []).append({"text": NOT_A_MEDICAL_DEVICE})
        return [observation, risk]


def assessment_resources(
    assessment: Assessment,
    patient_reference: str | None = None,
    infusion_date: date | None = None,
) -> list[Resource]:
    """The grade Observations, the CAR-HEMATOTOX Observation and RiskAssessment, validated.
    ``infusion_date`` (if known) dates them: effective = infusion + as-of day."""
    export = _Export(assessment, patient_reference, infusion_date)
    resources = [export.grade(*spec) for spec in GRADE_CODES] + export.hematotox()
    return [validated(r) for r in resources]


def assessment_bundle(
    assessment: Assessment,
    patient_reference: str | None = None,
    infusion_date: date | None = None,
) -> Resource:
    """A collection Bundle of :func:`assessment_resources` (full URLs ``urn:uuid:<id>``)."""
    entries = [
        {"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
        for r in assessment_resources(assessment, patient_reference, infusion_date)
    ]
    return validated({"resourceType": "Bundle", "type": "collection", "entry": entries})
