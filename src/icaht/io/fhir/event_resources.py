"""The FHIR resources of a record's events (conditions, procedures, medication statements,
marrow reports, icaht-coded observations), each with the certainty of its start when it is not
exact (docs/fhir.md)."""

from __future__ import annotations

from typing import Any

from icaht.core.patient_record import PatientRecord
from icaht.core.record import (
    Bleeding,
    Chip,
    CrsEpisode,
    DiseaseStatus,
    Event,
    Fever,
    Finding,
    Hct,
    HemophagocyticSyndrome,
    IcansEpisode,
    Infection,
    LastFollowUp,
    MarrowBiopsy,
    Medication,
    Moment,
    NextTherapy,
    StemCellBoost,
    Transfusion,
)
from icaht.io.fhir import codes
from icaht.io.fhir.export_types import (
    Clock,
    Resource,
    certainty,
    coded_concept,
    fhir_id,
    fhir_quantity,
    grade_concept,
    local_concept,
    map_coding,
    variant_observation,
)
from icaht.io.fhir.mappers.diagnostic_report import MARROW_BOOLEANS, MARROW_LEVELS, MARROW_PERCENTS
from icaht.io.fhir.mappers.observation import FEVER_MIN_CELSIUS


class EventResources:
    """The resources of one record's events, with the ids, subject reference and clock shared
    with the rest of the record's resources (:mod:`icaht.io.fhir.writer`)."""

    def __init__(self, record: PatientRecord, patient_reference: str | None) -> None:
        self.record = record
        self.pid = fhir_id(record.patient.patient_id)
        self.subject = {"reference": patient_reference or f"Patient/{self.pid}"}
        self.when = Clock(record.patient.infusion_date)
        self.counter = 0
        self.out: list[Resource] = []

    def _id(self, tag: str) -> str:
        self.counter += 1
        return f"{self.pid}-{tag}{self.counter}"

    def add(self, resource: Resource) -> None:
        self.out.append(resource)

    @staticmethod
    def _category(code: str) -> dict[str, Any]:
        return {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code}]}

    def _condition(
        self, concept: dict[str, Any], event: Event, end: Moment | None, present: bool = True
    ) -> Resource:
        resource: Resource = {
            "resourceType": "Condition",
            "id": self._id("c"),
            "code": concept,
            "subject": self.subject,
            "onsetDateTime": self.when(event.start),
        }
        if present:
            resource["clinicalStatus"] = {
                "coding": [
                    {
                        "system": codes.CONDITION_CLINICAL,
                        "code": "resolved" if end is not None else "active",
                    }
                ]
            }
            resource["verificationStatus"] = {
                "coding": [{"system": codes.CONDITION_VERIFICATION, "code": "confirmed"}]
            }
        else:
            resource["verificationStatus"] = {
                "coding": [{"system": codes.CONDITION_VERIFICATION, "code": "refuted"}]
            }
        if end is not None:
            resource["abatementDateTime"] = self.when(end)
        return resource

    def _procedure(self, target: str, text: str, event: Event) -> Resource:
        return {
            "resourceType": "Procedure",
            "id": self._id("p"),
            "status": "completed",
            "code": coded_concept("procedures", target, text),
            "subject": self.subject,
            "performedDateTime": self.when(event.start),
        }

    def _local_observation(self, code: str, display: str, event: Event) -> Resource:
        return {
            "resourceType": "Observation",
            "id": self._id("e"),
            "status": "final",
            "code": local_concept(code, display),
            "subject": self.subject,
            "effectiveDateTime": self.when(event.start),
        }

    def event(self, event: Event) -> None:
        """The event's resource (none for death: Patient.deceasedDateTime), with the certainty
        of its start when it is not exact."""
        before = len(self.out)
        self._event(event)
        if len(self.out) > before:
            added = certainty(event, codes.EXT_START_CERTAINTY)
            if added:
                resource = self.out[-1]
                resource["extension"] = [*resource.get("extension", []), *added]

    def _event(self, event: Event) -> None:
        if isinstance(event, CrsEpisode | IcansEpisode):
            kind = event.kind
            targets = [kind] if event.grade is None else [f"{kind}:{event.grade}", kind]
            concept = {
                "coding": [
                    map_coding(r) for t in targets for r in codes.codes_for("conditions", t)
                ],
                "text": kind.upper(),
            }
            resource = self._condition(concept, event, event.end)
            if event.grade is not None:
                resource["stage"] = [{"summary": grade_concept(event.grade, "ASTCT")}]
            self.add(resource)
        elif isinstance(event, Fever):
            if event.temperature_c is not None and event.temperature_c >= FEVER_MIN_CELSIUS:
                self.add(
                    {
                        "resourceType": "Observation",
                        "id": self._id("t"),
                        "status": "final",
                        "category": [self._category("vital-signs")],
                        "code": coded_concept("labs", "fever.temperature_c", "Body temperature"),
                        "subject": self.subject,
                        "effectiveDateTime": self.when(event.start),
                        "valueQuantity": fhir_quantity(event.temperature_c, "Cel", "Cel"),
                    }
                )
            else:
                self.add(
                    self._condition(coded_concept("conditions", "fever", "Fever"), event, None)
                )
        elif isinstance(event, Infection):
            resource = self._condition(
                coded_concept("conditions", "infection", "Infection"), event, event.end
            )
            if event.severity != "unknown":  # unknown: no severity (read back as unknown)
                resource["severity"] = self._severity(event.severity)
            if event.site:
                resource["bodySite"] = [{"text": event.site}]
            if event.organism:
                resource["extension"] = [{"url": codes.EXT_ORGANISM, "valueString": event.organism}]
            self.add(resource)
        elif isinstance(event, Bleeding):
            resource = self._condition(
                coded_concept("conditions", "bleeding", "Bleeding"), event, None
            )
            resource["stage"] = [{"summary": grade_concept(event.grade, "Bleeding")}]
            self.add(resource)
        elif isinstance(event, Finding):
            target = f"finding:{event.finding}"
            self.add(
                self._condition(coded_concept("conditions", target), event, None, event.present)
            )
        elif isinstance(event, HemophagocyticSyndrome):
            self.add(self.hemophagocytic(event))
        elif isinstance(event, Chip):
            self.add(self.chip(event))
        elif isinstance(event, Transfusion):
            resource = self._procedure(
                f"transfusion:{event.product}", f"{event.product} transfusion", event
            )
            extensions: list[dict[str, Any]] = [
                {"url": codes.EXT_TRANSFUSION_UNITS, "valueInteger": event.units}
            ]
            if event.irradiated is not None:
                extensions.append({"url": codes.EXT_IRRADIATED, "valueBoolean": event.irradiated})
            resource["extension"] = extensions
            self.add(resource)
        elif isinstance(event, Medication):
            self.add(self.medication(event))
        elif isinstance(event, MarrowBiopsy):
            self.add(self.marrow(event))
        elif isinstance(event, StemCellBoost):
            resource = self._procedure("stem_cell_boost", "Stem cell boost", event)
            extensions = [{"url": codes.EXT_BOOST_SOURCE, "valueCode": event.source}]
            if event.cd34_per_kg is not None:
                extensions.append({"url": codes.EXT_CD34, "valueDecimal": event.cd34_per_kg})
            resource["extension"] = extensions
            self.add(resource)
        elif isinstance(event, Hct):
            self.add(self._procedure(f"hct:{event.hct_type}", f"{event.hct_type} HCT", event))
        elif isinstance(event, DiseaseStatus):
            resource = self._local_observation("disease-status", "Disease status", event)
            resource["valueCodeableConcept"] = local_concept(event.status, event.status)
            self.add(resource)
        elif isinstance(event, NextTherapy):
            resource = self._local_observation("next-therapy", "Next therapy", event)
            if event.name:
                resource["valueString"] = event.name
            self.add(resource)
        elif isinstance(event, LastFollowUp):
            self.add(self._local_observation("last-follow-up", "Last follow-up", event))

    @staticmethod
    def _severity(severity: str) -> dict[str, Any]:
        for code, name in codes.SEVERITY_CODES.items():
            if name == severity:
                return {
                    "coding": [
                        {
                            "system": codes.SNOMED,
                            "code": code,
                            "display": codes.SEVERITY_DISPLAY[name],
                        }
                    ],
                    "text": severity,
                }
        return {**local_concept("life-threatening", "Life-threatening"), "text": severity}

    def hemophagocytic(self, event: HemophagocyticSyndrome) -> Resource:
        """A Condition: suspected = provisional, excluded = refuted, resolved = clinical status
        resolved; the icaht status also travels in an extension (docs/fhir.md)."""
        concept = coded_concept("conditions", f"iec_hs:{event.diagnosis}")
        resource = self._condition(concept, event, event.end, event.status != "excluded")
        if event.status == "suspected":
            resource["verificationStatus"]["coding"][0]["code"] = "provisional"
        if event.status == "resolved":
            resource["clinicalStatus"]["coding"][0]["code"] = "resolved"
        resource["extension"] = [{"url": codes.EXT_IEC_HS_STATUS, "valueCode": event.status}]
        return resource

    def chip(self, event: Chip) -> Resource:
        """A Condition recorded (``recordedDate``) on the day CHIP became known; onset unknown."""
        resource = self._condition(coded_concept("conditions", "chip"), event, None)
        resource["recordedDate"] = resource.pop("onsetDateTime")
        extensions: list[dict[str, Any]] = []
        if event.gene is not None:
            extensions.append({"url": codes.EXT_CHIP_GENE, "valueString": event.gene})
        if event.vaf_pct is not None:
            extensions.append({"url": codes.EXT_CHIP_VAF, "valueDecimal": event.vaf_pct})
        if extensions:
            resource["extension"] = extensions
        return resource

    def medication(self, event: Medication) -> Resource:
        concept = {
            "coding": [map_coding(r) for r in codes.codes_for("medications", event.drug)],
            "text": event.drug,
        }
        period: dict[str, str] = {"start": self.when(event.start)}
        if event.end is not None:
            period["end"] = self.when(event.end)
        dosage: dict[str, Any] = {}
        if event.frequency:
            dosage["timing"] = {"code": {"text": event.frequency}}
        if event.route:
            dosage["route"] = {"text": event.route}
        if event.dose is not None:
            quantity: dict[str, Any] = {"value": event.dose}
            if event.dose_unit:
                quantity["unit"] = event.dose_unit
            dosage["doseAndRate"] = [{"doseQuantity": quantity}]
        resource: Resource = {
            "resourceType": "MedicationStatement",
            "id": self._id("m"),
            "status": "completed" if event.end is not None else "active",
            "medicationCodeableConcept": concept,
            "subject": self.subject,
            "effectivePeriod": period,
        }
        if dosage:
            resource["dosage"] = [dosage]
        if event.product:
            resource["extension"] = [{"url": codes.EXT_PRODUCT, "valueString": event.product}]
        return resource

    def marrow(self, event: MarrowBiopsy) -> Resource:
        contained: list[Resource] = []

        def result(code: str, display: str, value: dict[str, Any]) -> None:
            contained.append(
                {
                    "resourceType": "Observation",
                    "id": f"r{len(contained) + 1}",
                    "status": "final",
                    "code": local_concept(code, display),
                    **value,
                }
            )

        if event.cellularity is not None:
            result(
                "marrow-cellularity",
                "Marrow cellularity",
                {"valueCodeableConcept": local_concept(event.cellularity, event.cellularity)},
            )
        for code, name in MARROW_PERCENTS.items():
            percent = getattr(event, name)
            if percent is not None:
                result(
                    code,
                    name.replace("_", " "),
                    {"valueQuantity": fhir_quantity(percent, "%", "%")},
                )
        for code, name in MARROW_BOOLEANS.items():
            flag = getattr(event, name)
            if flag is not None:
                result(code, name.replace("_", " "), {"valueBoolean": flag})
        for code, name in MARROW_LEVELS.items():
            level = getattr(event, name)
            if level is not None:
                result(
                    code, name.capitalize(), {"valueCodeableConcept": local_concept(level, level)}
                )
        if event.cytogenetics is not None:
            result("marrow-cytogenetics", "Karyotype", {"valueString": event.cytogenetics})
        for variant in event.ngs_variants:
            contained.append({**variant_observation(variant), "id": f"r{len(contained) + 1}"})
        resource: Resource = {
            "resourceType": "DiagnosticReport",
            "id": self._id("r"),
            "status": "final",
            "code": {
                **local_concept("marrow-biopsy", "Bone marrow biopsy"),
                "text": "Bone marrow biopsy",
            },
            "subject": self.subject,
            "effectiveDateTime": self.when(event.start),
        }
        if contained:
            resource["contained"] = contained
            resource["result"] = [{"reference": f"#{c['id']}"} for c in contained]
        if event.note:
            resource["conclusion"] = event.note
        return resource
