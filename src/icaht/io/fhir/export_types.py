"""The FHIR datatypes of the export: ids, codings and concepts from the reviewed code tables,
quantities with their UCUM code, the start-certainty extension, and dates and times of record
moments (a record in days is written on the synthetic anchor date)."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from typing import Any

from icaht.core.record import Event, Moment, Variant
from icaht.core.units import normalise_unit_spelling, resolve_analyte
from icaht.io.fhir import codes
from icaht.io.fhir.mappers.patient import SYNTHETIC_ANCHOR
from icaht.knowledge.analytes import ANALYTES

Resource = dict[str, Any]
_ID_OK = re.compile(r"^[A-Za-z0-9\-.]{1,40}$")

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


def map_coding(row: codes.MapRow) -> dict[str, str]:
    return {"system": row.system, "code": row.code, "display": row.display}


def coded_concept(table: codes.Table, target: str, text: str | None = None) -> dict[str, Any]:
    rows = codes.codes_for(table, target)
    concept: dict[str, Any] = {"coding": [map_coding(r) for r in rows]}
    shown = text or (rows[0].display if rows else target)
    concept["text"] = shown
    return concept


def local_concept(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": codes.ICAHT_CODES, "code": code, "display": display}]}


def grade_concept(grade: int, scale: str) -> dict[str, Any]:
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


def lab_concept(target: str) -> dict[str, Any]:
    return {"coding": [map_coding(r) for r in codes.codes_for("labs", target)]}


def variant_observation(variant: Variant) -> Resource:
    """One NGS variant as a contained Observation (HL7 Genomics Reporting IG components)."""
    components: list[dict[str, Any]] = [
        {"code": lab_concept("variant.gene"), "valueCodeableConcept": {"text": variant.gene}}
    ]
    if variant.vaf_pct is not None:
        components.append(
            {
                "code": lab_concept("variant.vaf_pct"),
                "valueQuantity": fhir_quantity(variant.vaf_pct, "%", "%"),
            }
        )
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {**lab_concept("marrow.ngs_variant"), "text": "Genetic variant assessment"},
        "component": components,
    }
    if variant.description is not None:
        resource["valueString"] = variant.description
    return resource


class Clock:
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


def ucum_unit(analyte_name: str, unit: str) -> str | None:
    analyte = resolve_analyte(analyte_name, None)
    spelled = normalise_unit_spelling(unit)
    if analyte is not None and ANALYTES[analyte].canonical_unit == "10^9/L":
        return _UCUM_COUNT.get(spelled)
    return _UCUM_OTHER.get(spelled)


def fhir_quantity(value: float, unit: str, ucum: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        quantity["system"] = codes.UCUM
        quantity["code"] = ucum
    return quantity
