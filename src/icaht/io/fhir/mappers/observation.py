"""The Observation mapper: labs (with their units and reference ranges), body weight, fever,
DAT results, differential parts, and the icaht-coded CRS/ICANS grades, disease status, next
therapy and last follow-up."""

from __future__ import annotations

import functools
from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.quantity import Quantity

from icaht.core.units import resolve_analyte, unit_factor
from icaht.io.fhir import codes
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import Collected, FHIRMoment, Skip, skip_by_status
from icaht.io.fhir.mappers.datatypes import (
    code_of,
    concept_grade,
    effective,
    local_code,
    triples,
)

#: Body temperature read as a fever event: >= 38.0 °C (ASTCT fever, Lee 2019;
#: docs/evidence.md 6.1).
FEVER_MIN_CELSIUS = 38.0
_LB_TO_KG = 0.45359237  # international avoirdupois pound (definition)


def _observation_value_unit(obs: Observation, analyte: str) -> tuple[float, str]:
    """The value and its unit; a unit the reviewed unit table does not accept for the analyte
    rejects this observation (never the patient)."""
    quantity = obs.valueQuantity
    if quantity is None or quantity.value is None:
        raise Skip("no numeric value (valueQuantity)")
    unit = _unit(analyte, quantity.unit, quantity.code)
    found = resolve_analyte(analyte, None)
    if found is not None and unit_factor(found, unit) is None:
        raise Skip(f"unit {unit or '(none)'!r} not accepted for {found.value}")
    return float(quantity.value), unit


def _range_limit(
    quantity: Quantity | None, analyte: str, unit: str, report: ImportReport
) -> float | None:
    """A reference-range limit in the value's unit: converted when written in another accepted
    unit, dropped (with a note) when its unit is not accepted."""
    if quantity is None or quantity.value is None:
        return None
    given = quantity.unit or quantity.code
    found = resolve_analyte(analyte, None)
    if not given or found is None or given == unit:
        return float(quantity.value)
    source, target = unit_factor(found, given), unit_factor(found, unit)
    if source is None or target is None:
        report.note("reference range in a unit not accepted: dropped")
        return None
    if source != target:
        report.note("reference range in another unit than its value: converted")
    return float(quantity.value) * source / target


@functools.lru_cache(maxsize=4096)
def _unit(analyte: str, text: str | None, code: str | None) -> str:
    """A quantity's unit text, or its UCUM code when only that is accepted for the analyte
    (memoised: a few combinations recur in every lab series)."""
    found = resolve_analyte(analyte, None)
    candidates = [u for u in (text, code) if u]
    if found is not None:
        for unit in candidates:
            if unit_factor(found, unit) is not None:
                return unit
    return candidates[0] if candidates else ""


def map_observation(obs: Observation, acc: Collected, report: ImportReport) -> None:
    """Map an Observation into ``acc``."""
    skip_by_status(obs, "Observation")
    local = local_code(obs.code)
    if local in ("crs-grade", "icans-grade"):
        start, end = effective(obs)
        grade = (
            obs.valueInteger
            if obs.valueInteger is not None
            else concept_grade(obs.valueCodeableConcept)
        )
        if grade is None or not 1 <= grade <= 5:
            raise Skip(f"{local} without a grade 1-5")
        acc.events.append(
            {"kind": local.split("-")[0], "start": start, "end": end, "grade": int(grade)}
        )
        return
    if local == "disease-status":
        start, _ = effective(obs)
        status = local_code(obs.valueCodeableConcept) or (
            obs.valueCodeableConcept.text if obs.valueCodeableConcept else None
        )
        acc.events.append({"kind": "disease_status", "start": start, "status": status})
        return
    if local == "next-therapy":
        start, _ = effective(obs)
        acc.events.append({"kind": "next_therapy", "start": start, "name": obs.valueString})
        return
    if local == "last-follow-up":
        start, _ = effective(obs)
        acc.events.append({"kind": "last_follow_up", "start": start})
        return
    target = codes.match("labs", triples(obs.code), obs.code.text if obs.code else None)
    if target is None:
        raise Skip("code not in the lab mapping table")
    start, _ = effective(obs)
    if target == "patient.weight_kg":
        quantity = obs.valueQuantity
        if quantity is None or quantity.value is None:
            raise Skip("body weight without a value")
        unit = (quantity.code or quantity.unit or "").strip().lower()
        factor = {"kg": 1.0, "[lb_av]": _LB_TO_KG, "lb": _LB_TO_KG, "lbs": _LB_TO_KG}.get(unit)
        if factor is None:
            raise Skip(f"body weight unit {unit!r} not accepted (kg, [lb_av])")
        acc.weights.append((start, float(quantity.value) * factor))
        return
    if target == "fever.temperature_c":
        quantity = obs.valueQuantity
        if quantity is None or quantity.value is None:
            raise Skip("body temperature without a value")
        unit = (quantity.code or quantity.unit or "").strip()
        value = float(quantity.value)
        if unit in ("[degF]", "°F", "degF"):
            value = (value - 32.0) * 5.0 / 9.0
        elif unit not in ("Cel", "°C", "C", "degC"):
            raise Skip(f"body temperature unit {unit!r} not accepted (Cel, [degF])")
        if value < FEVER_MIN_CELSIUS:
            report.note(f"body temperature below {FEVER_MIN_CELSIUS:g} Cel: not a fever")
            return
        acc.events.append({"kind": "fever", "start": start, "temperature_c": round(value, 2)})
        return
    if target == "finding.dat_positive":
        acc.events.append(
            {
                "kind": "finding",
                "start": start,
                "finding": "dat_positive",
                "present": _positive(obs),
            }
        )
        return
    if target.startswith("differential."):
        acc.differential.append(_differential(obs, target.split(".")[1], start))
        return
    if target == "crp.hs":
        if not acc.settings.hs_crp_as_crp:
            raise Skip("hs-CRP (30522-7) not read as CRP (profile setting fhir.hs_crp_as_crp)")
        target = "crp"
    value, unit = _observation_value_unit(obs, target)
    lab: dict[str, Any] = {"time": start, "analyte": target, "value": value, "unit": unit}
    comparator = obs.valueQuantity.comparator if obs.valueQuantity is not None else None
    if comparator:
        report.note("value with a comparator (<, >) taken at its limit, kept as censored")
        lab["censored"] = comparator[0]  # "<=" and ">=" keep their direction
    for ref in obs.referenceRange or []:
        lab["lln"] = _range_limit(ref.low, target, unit, report)
        lab["uln"] = _range_limit(ref.high, target, unit, report)
        break
    if target == "wbc":
        lab["_specimen"] = _specimen(obs)
    acc.observations.append(lab)


def _specimen(obs: Observation) -> str | None:
    return obs.specimen.reference if obs.specimen is not None else None


def _differential(obs: Observation, part: str, start: FHIRMoment) -> dict[str, Any]:
    """A part of a white-cell differential (segmented, bands, neutrophil or lymphocyte %), kept
    to be combined with the others of its specimen (:mod:`icaht.io.fhir.differential`)."""
    quantity = obs.valueQuantity
    if quantity is None or quantity.value is None:
        raise Skip("no numeric value (valueQuantity)")
    return {
        "part": part,
        "time": start,
        "specimen": _specimen(obs),
        "value": float(quantity.value),
        "unit": quantity.unit or quantity.code or "",
        "id": obs.id,
        "code": code_of(obs.code),
    }


def _positive(obs: Observation) -> bool:
    """The result of a qualitative test (DAT): positive or negative, as a code, text or boolean;
    anything else is not mapped."""
    if obs.valueBoolean is not None:
        return bool(obs.valueBoolean)
    for system, code, _ in triples(obs.valueCodeableConcept):
        if system == codes.SNOMED and code in (codes.RESULT_POSITIVE, codes.RESULT_NEGATIVE):
            return code == codes.RESULT_POSITIVE
    concept = obs.valueCodeableConcept
    names = [obs.valueString, concept.text if concept else None]
    names += [d for _, _, d in triples(concept)]
    for name in (n.strip().lower() for n in names if n):
        if name in ("positive", "pos", "+"):
            return True
        if name in ("negative", "neg", "-"):
            return False
    raise Skip("DAT without a positive or negative result")
