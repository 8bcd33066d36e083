"""Write a :class:`~icaht.core.patient_record.PatientRecord` as FHIR R4 resources: a Bundle
(collection) or bulk-data NDJSON (one ``<Type>.ndjson`` per resource type). Every resource is
validated with ``fhir.resources.R4B`` before it is written; files are written as ``X.partial`` and
renamed.

Codes come from the reviewed tables (first row of each coded system for a target); facts without
a standard FHIR home travel in the icaht ``car-t-facts`` Patient extension (docs/fhir.md).
A record whose times are days (no infusion date) is written on the synthetic anchor date and
flagged, so reading it back gives days again. The datatypes are built by
:mod:`icaht.io.fhir.export_types`, the events' resources by :mod:`icaht.io.fhir.event_resources`.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from fhir.resources.R4B import get_fhir_model_class

from icaht.atomic import atomic_text, write_text_atomic
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Death
from icaht.core.units import resolve_analyte
from icaht.io.fhir import codes
from icaht.io.fhir.event_resources import EventResources
from icaht.io.fhir.export_types import (
    Resource,
    certainty,
    coded_concept,
    fhir_id,
    fhir_quantity,
    map_coding,
    ucum_unit,
)
from icaht.knowledge.analytes import ANALYTES

_UUID_NAMESPACE = uuid.UUID("6f1b8a34-4c0e-5d8e-9a51-0c6d3c1e7a10")  # icaht export namespace


class _Builder(EventResources):
    """All the resources of one record: the Patient, the infusion, the weight, the
    observations and the events."""

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
            "code": coded_concept("procedures", "car_t_infusion", "CAR-T cell infusion"),
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
            "code": coded_concept("labs", "patient.weight_kg", "Body weight"),
            "subject": self.subject,
            "effectiveDateTime": self.when.anchor.isoformat(),
            "valueQuantity": fhir_quantity(kg, "kg", "kg"),
        }

    def observations(self) -> None:
        for obs in self.record.observations:
            analyte = resolve_analyte(obs.analyte, obs.loinc)
            name = analyte.value if analyte is not None else (obs.analyte or "")
            coding: list[dict[str, str]] = []
            if obs.loinc:
                coding.append({"system": codes.LOINC, "code": obs.loinc})
            elif analyte is not None:
                coding += [map_coding(r) for r in codes.codes_for("labs", analyte.value)]
            text = ANALYTES[analyte].display if analyte is not None else (obs.analyte or "")
            resource: Resource = {
                "resourceType": "Observation",
                "id": self._id("o"),
                "status": "final",
                "category": [self._category("laboratory")],
                "code": {"coding": coding, "text": text} if coding else {"text": text},
                "subject": self.subject,
                "effectiveDateTime": self.when(obs.time),
                "valueQuantity": fhir_quantity(obs.value, obs.unit, ucum_unit(name, obs.unit)),
            }
            if obs.censored is not None:
                resource["valueQuantity"]["comparator"] = obs.censored
            if obs.lln is not None or obs.uln is not None:
                limits: dict[str, Any] = {}
                if obs.lln is not None:
                    limits["low"] = fhir_quantity(obs.lln, obs.unit, ucum_unit(name, obs.unit))
                if obs.uln is not None:
                    limits["high"] = fhir_quantity(obs.uln, obs.unit, ucum_unit(name, obs.unit))
                resource["referenceRange"] = [limits]
            self.add(resource)

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
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return len(data["entry"])


def write_ndjson(records: Iterable[PatientRecord], folder: Path) -> dict[str, int]:
    """Write bulk-data NDJSON (one ``<Type>.ndjson`` per resource type), streaming the records
    (one patient's resources in memory at a time). Files appear only when all are written."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    with ExitStack() as files:  # each file renamed when the block ends, removed if it raises
        handles: dict[str, IO[str]] = {}
        for record in records:
            for resource in record_resources(record):
                kind = resource["resourceType"]
                handle = handles.get(kind)
                if handle is None:
                    handle = handles[kind] = files.enter_context(
                        atomic_text(folder / f"{kind}.ndjson")
                    )
                handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                counts[kind] += 1
    return dict(sorted(counts.items()))
