"""Write a :class:`~icaht.core.patient_record.PatientRecord` as FHIR R4 resources: a Bundle
(collection) or bulk-data NDJSON (one ``<Type>.ndjson`` per resource type). Every resource is
validated with ``fhir.resources.R4B`` before it is written; files are written as ``X.partial`` and
renamed.

Codes come from the reviewed tables (first row of each coded system for a target); facts without
a standard FHIR home travel in the icaht ``car-t-facts`` Patient extension (docs/fhir.md).
A record whose times are days (no infusion date) is written on the synthetic anchor date and
flagged, so reading it back gives days again.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from fhir.resources.R4B import get_fhir_model_class

from icaht.core.patient_record import PatientRecord
from icaht.core.record import (
    Bleeding,
    Chip,
    CrsEpisode,
    Death,
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
    Variant,
)
from icaht.core.units import normalise_unit_spelling, resolve_analyte
from icaht.io.fhir import codes
from icaht.io.fhir.mapping import (
    FEVER_MIN_CELSIUS,
    MARROW_BOOLEANS,
    MARROW_LEVELS,
    MARROW_PERCENTS,
    SYNTHETIC_ANCHOR,
)
from icaht.knowledge.analytes import ANALYTES

Resource = dict[str, Any]
_ID_OK = re.compile(r"^[A-Za-z0-9\-.]{1,40}$")
_UUID_NAMESPACE = uuid.UUID("6f1b8a34-4c0e-5d8e-9a51-0c6d3c1e7a10")  # icaht export namespace

# UCUM codes for the common spellings (normalised by icaht.core.units.normalise_unit_spelling)
_UCUM_COUNT = {
    "10^9/l": "10*9/L",
    "10*9/l": "10*9/L",
    "10e9/l": "10*9/L",
    "/nl": "/nL",
    "10^3/ul": "10*3/uL",
    "10*3/ul": "10*3/uL",
    "10e3/ul": "10*3/uL",
    "k/ul": "10*3/uL",
    "/ul": "/uL",
    "cells/ul": "/uL",
    "{cells}/ul": "{cells}/uL",
    "/mm3": "/mm3",
    "cells/mm3": "/mm3",
}
_UCUM_OTHER = {
    "g/dl": "g/dL",
    "g/l": "g/L",
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
    "mg/l": "mg/L",
    "ng/ml": "ng/mL",
    "ug/l": "ug/L",
    "pmol/l": "pmol/L",
    "u/l": "U/L",
    "iu/l": "[IU]/L",
    "[iu]/l": "[IU]/L",
    "ukat/l": "ukat/L",
    "umol/l": "umol/L",
    "pg/ml": "pg/mL",
    "ng/l": "ng/L",
    "%": "%",
}


def fhir_id(patient_id: str) -> str:
    """A FHIR id for a patient id: itself when valid and short, else a stable hash."""
    if _ID_OK.match(patient_id):
        return patient_id
    return "p-" + hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:24]


def _coding(row: codes.MapRow) -> dict[str, str]:
    return {"system": row.system, "code": row.code, "display": row.display}


def _concept(table: codes.Table, target: str, text: str | None = None) -> dict[str, Any]:
    rows = codes.codes_for(table, target)
    concept: dict[str, Any] = {"coding": [_coding(r) for r in rows]}
    shown = text or (rows[0].display if rows else target)
    concept["text"] = shown
    return concept


def _local(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": codes.ICAHT_CODES, "code": code, "display": display}]}


def _grade(grade: int, scale: str) -> dict[str, Any]:
    return {
        "coding": [{"system": codes.ICAHT_GRADES, "code": str(grade), "display": f"Grade {grade}"}],
        "text": f"{scale} grade {grade}",
    }


def certainty(event: Event, url: str) -> list[dict[str, Any]]:
    """The start-certainty extension of an event whose start is not exact (else none)."""
    if event.start_known == "exact":
        return []
    subs: list[dict[str, Any]] = [{"url": "known", "valueCode": event.start_known}]
    if event.start_window_days is not None:
        subs.append({"url": "window-days", "valueDecimal": event.start_window_days})
    return [{"url": url, "extension": subs}]


def _lab_code(target: str) -> dict[str, Any]:
    return {"coding": [_coding(r) for r in codes.codes_for("labs", target)]}


def _variant(variant: Variant) -> Resource:
    """One NGS variant as a contained Observation (HL7 Genomics Reporting IG components)."""
    components: list[dict[str, Any]] = [
        {"code": _lab_code("variant.gene"), "valueCodeableConcept": {"text": variant.gene}}
    ]
    if variant.vaf_pct is not None:
        components.append(
            {
                "code": _lab_code("variant.vaf_pct"),
                "valueQuantity": _quantity(variant.vaf_pct, "%", "%"),
            }
        )
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {**_lab_code("marrow.ngs_variant"), "text": "Genetic variant assessment"},
        "component": components,
    }
    if variant.description is not None:
        resource["valueString"] = variant.description
    return resource


class _Clock:
    """FHIR date/dateTime strings for record moments (days are counted from the anchor)."""

    def __init__(self, infusion: date | None) -> None:
        self.synthetic = infusion is None
        self.anchor = SYNTHETIC_ANCHOR if infusion is None else infusion

    def __call__(self, moment: Moment) -> str:
        if isinstance(moment, datetime):
            text = moment.isoformat()
            # FHIR requires a zone with a time; a naive time is written as UTC (wall clock kept)
            return text if moment.tzinfo is not None else text + "Z"
        if isinstance(moment, date):
            return moment.isoformat()
        day = float(moment)
        if day.is_integer():
            return (self.anchor + timedelta(days=int(day))).isoformat()
        start = datetime(self.anchor.year, self.anchor.month, self.anchor.day)
        return (start + timedelta(days=day)).isoformat() + "Z"


def _ucum(analyte_name: str, unit: str) -> str | None:
    analyte = resolve_analyte(analyte_name, None)
    spelled = normalise_unit_spelling(unit)
    if analyte is not None and ANALYTES[analyte].canonical_unit == "10^9/L":
        return _UCUM_COUNT.get(spelled)
    return _UCUM_OTHER.get(spelled)


def _quantity(value: float, unit: str, ucum: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        quantity["system"] = codes.UCUM
        quantity["code"] = ucum
    return quantity


class _Builder:
    def __init__(self, record: PatientRecord, patient_reference: str | None) -> None:
        self.record = record
        self.pid = fhir_id(record.patient.patient_id)
        self.subject = {"reference": patient_reference or f"Patient/{self.pid}"}
        self.when = _Clock(record.patient.infusion_date)
        self.counter = 0
        self.out: list[Resource] = []

    def _id(self, tag: str) -> str:
        self.counter += 1
        return f"{self.pid}-{tag}{self.counter}"

    def add(self, resource: Resource) -> None:
        self.out.append(resource)

    # -- patient and facts ---------------------------------------------------------------------

    def patient(self) -> Resource:
        facts = self.record.patient
        subs: list[dict[str, Any]] = []
        for name in facts.model_dump(exclude_none=True):
            if name in ("patient_id", "sex", "weight_kg", "infusion_date", "complete_streams"):
                continue
            subs.append({"url": name, **self._ext_value(getattr(facts, name))})
        if self.when.synthetic:
            subs.append({"url": "synthetic-anchor", "valueBoolean": True})
        resource: Resource = {
            "resourceType": "Patient",
            "id": self.pid,
            "identifier": [{"system": codes.PATIENT_ID_SYSTEM, "value": facts.patient_id}],
            "gender": facts.sex.value,
        }
        extensions: list[dict[str, Any]] = []
        if subs:
            extensions.append({"url": codes.EXT_CART, "extension": subs})
        extensions += [
            {"url": codes.EXT_COMPLETE_STREAMS, "valueCode": stream}
            for stream in facts.complete_streams
        ]
        deaths = [e for e in self.record.events if isinstance(e, Death)]
        if deaths:
            resource["deceasedDateTime"] = self.when(deaths[0].start)
            if deaths[0].cause:
                extensions.append({"url": codes.EXT_DEATH_CAUSE, "valueString": deaths[0].cause})
            extensions += certainty(deaths[0], codes.EXT_DEATH_CERTAINTY)
        if extensions:
            resource["extension"] = extensions
        return resource

    def _ext_value(self, value: object) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"valueBoolean": value}
        if isinstance(value, int | float):
            return {"valueDecimal": value}
        if isinstance(value, datetime | date):
            return {"valueDateTime": self.when(value)}
        if isinstance(value, tuple | list):  # e.g. complete_streams, read back split on ";"
            return {"valueString": ";".join(str(v) for v in value)}
        return {"valueString": str(getattr(value, "value", value))}

    def infusion(self) -> Resource:
        resource: Resource = {
            "resourceType": "Procedure",
            "id": self._id("cart"),
            "status": "completed",
            "code": _concept("procedures", "car_t_infusion", "CAR-T cell infusion"),
            "subject": self.subject,
            "performedDateTime": self.when.anchor.isoformat(),
        }
        if self.record.patient.product:
            resource["usedCode"] = [{"text": self.record.patient.product}]
        return resource

    def weight(self, kg: float) -> Resource:
        return {
            "resourceType": "Observation",
            "id": self._id("w"),
            "status": "final",
            "category": [self._category("vital-signs")],
            "code": _concept("labs", "patient.weight_kg", "Body weight"),
            "subject": self.subject,
            "effectiveDateTime": self.when.anchor.isoformat(),
            "valueQuantity": _quantity(kg, "kg", "kg"),
        }

    @staticmethod
    def _category(code: str) -> dict[str, Any]:
        return {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code}]}

    # -- observations --------------------------------------------------------------------------

    def observations(self) -> None:
        for obs in self.record.observations:
            analyte = resolve_analyte(obs.analyte, obs.loinc)
            name = analyte.value if analyte is not None else (obs.analyte or "")
            coding: list[dict[str, str]] = []
            if obs.loinc:
                coding.append({"system": codes.LOINC, "code": obs.loinc})
            elif analyte is not None:
                coding += [_coding(r) for r in codes.codes_for("labs", analyte.value)]
            text = ANALYTES[analyte].display if analyte is not None else (obs.analyte or "")
            resource: Resource = {
                "resourceType": "Observation",
                "id": self._id("o"),
                "status": "final",
                "category": [self._category("laboratory")],
                "code": {"coding": coding, "text": text} if coding else {"text": text},
                "subject": self.subject,
                "effectiveDateTime": self.when(obs.time),
                "valueQuantity": _quantity(obs.value, obs.unit, _ucum(name, obs.unit)),
            }
            if obs.censored is not None:
                resource["valueQuantity"]["comparator"] = obs.censored
            if obs.lln is not None or obs.uln is not None:
                limits: dict[str, Any] = {}
                if obs.lln is not None:
                    limits["low"] = _quantity(obs.lln, obs.unit, _ucum(name, obs.unit))
                if obs.uln is not None:
                    limits["high"] = _quantity(obs.uln, obs.unit, _ucum(name, obs.unit))
                resource["referenceRange"] = [limits]
            self.add(resource)

    # -- events --------------------------------------------------------------------------------

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
            "code": _concept("procedures", target, text),
            "subject": self.subject,
            "performedDateTime": self.when(event.start),
        }

    def _local_observation(self, code: str, display: str, event: Event) -> Resource:
        return {
            "resourceType": "Observation",
            "id": self._id("e"),
            "status": "final",
            "code": _local(code, display),
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
                "coding": [_coding(r) for t in targets for r in codes.codes_for("conditions", t)],
                "text": kind.upper(),
            }
            resource = self._condition(concept, event, event.end)
            if event.grade is not None:
                resource["stage"] = [{"summary": _grade(event.grade, "ASTCT")}]
            self.add(resource)
        elif isinstance(event, Fever):
            if event.temperature_c is not None and event.temperature_c >= FEVER_MIN_CELSIUS:
                self.add(
                    {
                        "resourceType": "Observation",
                        "id": self._id("t"),
                        "status": "final",
                        "category": [self._category("vital-signs")],
                        "code": _concept("labs", "fever.temperature_c", "Body temperature"),
                        "subject": self.subject,
                        "effectiveDateTime": self.when(event.start),
                        "valueQuantity": _quantity(event.temperature_c, "Cel", "Cel"),
                    }
                )
            else:
                self.add(self._condition(_concept("conditions", "fever", "Fever"), event, None))
        elif isinstance(event, Infection):
            resource = self._condition(
                _concept("conditions", "infection", "Infection"), event, event.end
            )
            if event.severity != "unknown":  # unknown: no severity (read back as unknown)
                resource["severity"] = self._severity(event.severity)
            if event.site:
                resource["bodySite"] = [{"text": event.site}]
            if event.organism:
                resource["extension"] = [{"url": codes.EXT_ORGANISM, "valueString": event.organism}]
            self.add(resource)
        elif isinstance(event, Bleeding):
            resource = self._condition(_concept("conditions", "bleeding", "Bleeding"), event, None)
            resource["stage"] = [{"summary": _grade(event.grade, "Bleeding")}]
            self.add(resource)
        elif isinstance(event, Finding):
            target = f"finding:{event.finding}"
            self.add(self._condition(_concept("conditions", target), event, None, event.present))
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
            resource["valueCodeableConcept"] = _local(event.status, event.status)
            self.add(resource)
        elif isinstance(event, NextTherapy):
            resource = self._local_observation("next-therapy", "Next therapy", event)
            if event.name:
                resource["valueString"] = event.name
            self.add(resource)
        elif isinstance(event, LastFollowUp):
            self.add(self._local_observation("last-follow-up", "Last follow-up", event))
        # Death is Patient.deceasedDateTime (see patient())

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
        return {**_local("life-threatening", "Life-threatening"), "text": severity}

    def hemophagocytic(self, event: HemophagocyticSyndrome) -> Resource:
        """A Condition: suspected = provisional, excluded = refuted, resolved = clinical status
        resolved; the icaht status also travels in an extension (docs/fhir.md)."""
        concept = _concept("conditions", f"iec_hs:{event.diagnosis}")
        resource = self._condition(concept, event, event.end, event.status != "excluded")
        if event.status == "suspected":
            resource["verificationStatus"]["coding"][0]["code"] = "provisional"
        if event.status == "resolved":
            resource["clinicalStatus"]["coding"][0]["code"] = "resolved"
        resource["extension"] = [{"url": codes.EXT_IEC_HS_STATUS, "valueCode": event.status}]
        return resource

    def chip(self, event: Chip) -> Resource:
        """A Condition recorded (``recordedDate``) on the day CHIP became known; onset unknown."""
        resource = self._condition(_concept("conditions", "chip"), event, None)
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
            "coding": [_coding(r) for r in codes.codes_for("medications", event.drug)],
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
                    "code": _local(code, display),
                    **value,
                }
            )

        if event.cellularity is not None:
            result(
                "marrow-cellularity",
                "Marrow cellularity",
                {"valueCodeableConcept": _local(event.cellularity, event.cellularity)},
            )
        for code, name in MARROW_PERCENTS.items():
            percent = getattr(event, name)
            if percent is not None:
                result(
                    code, name.replace("_", " "), {"valueQuantity": _quantity(percent, "%", "%")}
                )
        for code, name in MARROW_BOOLEANS.items():
            flag = getattr(event, name)
            if flag is not None:
                result(code, name.replace("_", " "), {"valueBoolean": flag})
        for code, name in MARROW_LEVELS.items():
            level = getattr(event, name)
            if level is not None:
                result(code, name.capitalize(), {"valueCodeableConcept": _local(level, level)})
        if event.cytogenetics is not None:
            result("marrow-cytogenetics", "Karyotype", {"valueString": event.cytogenetics})
        for variant in event.ngs_variants:
            contained.append({**_variant(variant), "id": f"r{len(contained) + 1}"})
        resource: Resource = {
            "resourceType": "DiagnosticReport",
            "id": self._id("r"),
            "status": "final",
            "code": {**_local("marrow-biopsy", "Bone marrow biopsy"), "text": "Bone marrow biopsy"},
            "subject": self.subject,
            "effectiveDateTime": self.when(event.start),
        }
        if contained:
            resource["contained"] = contained
            resource["result"] = [{"reference": f"#{c['id']}"} for c in contained]
        if event.note:
            resource["conclusion"] = event.note
        return resource

    def build(self) -> list[Resource]:
        self.add(self.patient())
        self.add(self.infusion())
        if self.record.patient.weight_kg is not None:
            self.add(self.weight(self.record.patient.weight_kg))
        self.observations()
        for event in self.record.events:
            self.event(event)
        return [validated(r) for r in self.out]


def validated(resource: Resource) -> Resource:
    """The resource validated with fhir.resources R4B, as JSON-ready data (raises
    pydantic.ValidationError if invalid: a bug, since the writer builds it)."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    data: Resource = model.model_dump(mode="json", exclude_none=True)
    return data


def record_resources(record: PatientRecord, patient_reference: str | None = None) -> list[Resource]:
    """A record as validated FHIR R4 resources (Patient first). ``patient_reference`` is the
    subject reference to use (default ``Patient/<id>``)."""
    return _Builder(record, patient_reference).build()


def _full_url(resource: Resource) -> str:
    name = f"{resource['resourceType']}/{resource['id']}"
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, name)}"


def bundle(records: Iterable[PatientRecord]) -> Resource:
    """A collection Bundle of the records (references by ``urn:uuid`` full URLs)."""
    entries: list[Resource] = []
    for record in records:
        patient_url = _full_url(
            {"resourceType": "Patient", "id": fhir_id(record.patient.patient_id)}
        )
        for resource in record_resources(record, patient_url):
            entries.append({"fullUrl": _full_url(resource), "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def write_bundle(records: Iterable[PatientRecord], path: Path) -> int:
    """Write a collection Bundle of the records atomically; returns the number of resources."""
    data = bundle(records)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return len(data["entry"])


def write_ndjson(records: Iterable[PatientRecord], folder: Path) -> dict[str, int]:
    """Write bulk-data NDJSON (one ``<Type>.ndjson`` per resource type), streaming the records
    (one patient's resources in memory at a time). Files appear only when all are written."""
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, IO[str]] = {}
    counts: Counter[str] = Counter()
    try:
        for record in records:
            for resource in record_resources(record):
                kind = resource["resourceType"]
                handle = handles.get(kind)
                if handle is None:
                    handle = handles[kind] = (folder / f"{kind}.ndjson.partial").open(
                        "w", encoding="utf-8"
                    )
                handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                counts[kind] += 1
    except BaseException:
        for kind, handle in handles.items():
            handle.close()
            (folder / f"{kind}.ndjson.partial").unlink(missing_ok=True)
        raise
    for kind, handle in handles.items():
        handle.close()
        (folder / f"{kind}.ndjson.partial").replace(folder / f"{kind}.ndjson")
    return dict(sorted(counts.items()))
