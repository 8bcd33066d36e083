"""Map the FHIR R4 resources of one patient (validated ``fhir.resources.R4B`` models) to a
:class:`~icaht.core.patient_record.PatientRecord`.

What maps where is documented in docs/fhir.md; the codes come from the reviewed tables of
``icaht/knowledge/fhir_maps``. A resource that cannot be mapped is counted in the
:class:`~icaht.io.fhir.report.ImportReport` with its reason, never guessed.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.biologicallyderivedproduct import BiologicallyDerivedProduct
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.quantity import Quantity
from pydantic import TypeAdapter, ValidationError

from icaht.core import record
from icaht.core.observation import Observation as RecordObservation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.units import resolve_analyte, unit_factor
from icaht.errors import InputError, Problem
from icaht.io.fhir import codes
from icaht.io.fhir.differential import derive_counts
from icaht.io.fhir.options import ImportOptions, local, use_zone
from icaht.io.fhir.report import ImportReport
from icaht.io.problems import from_validation_error
from icaht.knowledge.drugs import CAR_T_PRODUCTS, LYMPHODEPLETION
from icaht.knowledge.profile.inputs import FhirImportSettings
from icaht.lru import LruCache

#: Anchor of exported records whose times are days relative to infusion (no infusion date):
#: day 0 is written as this date and read back as days. Project default (docs/fhir.md).
SYNTHETIC_ANCHOR = date(2000, 1, 1)
#: Body temperature read as a fever event: >= 38.0 °C (ASTCT fever, Lee 2019;
#: docs/evidence.md 6.1).
FEVER_MIN_CELSIUS = 38.0
_LB_TO_KG = 0.45359237  # international avoirdupois pound (definition)

FHIRMoment = date | datetime
_GRADE = re.compile(r"grade\s*([0-5])", re.IGNORECASE)
_SKIPPED_STATUS: dict[str, frozenset[str]] = {
    "Observation": frozenset({"entered-in-error", "cancelled", "registered"}),
    "Procedure": frozenset({"entered-in-error", "not-done", "preparation"}),
    "DiagnosticReport": frozenset({"entered-in-error", "cancelled", "registered"}),
    "MedicationStatement": frozenset({"entered-in-error", "not-taken", "intended"}),
    "MedicationAdministration": frozenset({"entered-in-error", "not-done"}),
    "MedicationRequest": frozenset({"entered-in-error", "cancelled", "draft"}),
}
_FACT_FIELDS = frozenset(PatientFacts.model_fields) - {
    "patient_id",
    "sex",
    "weight_kg",
    "infusion_date",
    "complete_streams",
}


class Skip(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """This resource is not mapped; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class PatientResources:
    """The resources of one patient, as read (before mapping), each with the digest of its JSON
    when the reader knows it (:func:`~icaht.io.fhir.resource_cache.resource_digest`)."""

    key: str
    patient: Patient | None = None
    resources: list[DomainResource] = field(default_factory=list)
    digests: list[bytes | None] = field(default_factory=list)

    def add(self, resource: DomainResource, digest: bytes | None = None) -> None:
        """One more resource of the patient."""
        self.resources.append(resource)
        self.digests.append(digest)


#: Resources other resources refer to (Medication, BiologicallyDerivedProduct), by reference.
Referenced = Mapping[str, DomainResource]


@dataclass(slots=True)
class _Collected:
    observations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    weights: list[tuple[FHIRMoment, float]] = field(default_factory=list)
    infusions: list[FHIRMoment] = field(default_factory=list)  # given (Procedure, administration)
    ordered: list[FHIRMoment] = field(default_factory=list)  # CAR-T product orders
    ld_doses: list[FHIRMoment] = field(default_factory=list)  # fludarabine / cyclophosphamide
    differential: list[dict[str, Any]] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    biopsy_days: set[date] = field(default_factory=set)
    report_days: set[date] = field(default_factory=set)
    settings: FhirImportSettings = field(default_factory=FhirImportSettings)


# --------------------------------------------------------------------------------------------
# small readers of FHIR datatypes
# --------------------------------------------------------------------------------------------


def triples(concept: CodeableConcept | None) -> list[tuple[str | None, str | None, str | None]]:
    """(system, code, display) of each coding of a concept."""
    if concept is None or not concept.coding:
        return []
    return [(c.system, c.code, c.display) for c in concept.coding]


def local_code(concept: CodeableConcept | None) -> str | None:
    """The icaht local code of a concept, if any."""
    for system, code, _ in triples(concept):
        if system == codes.ICAHT_CODES and code:
            return code
    return None


def _moment(value: object, what: str) -> FHIRMoment:
    """A FHIR date or instant; an instant with a zone becomes the site's local wall-clock time
    (``ICAHT_TIMEZONE``), so its day is the site's day."""
    if isinstance(value, datetime | date):
        return local(value)
    if value is None:
        raise Skip(f"no {what}")
    raise Skip(f"{what} is a partial date ({value})")


def _optional_moment(value: object, what: str) -> FHIRMoment | None:
    return None if value is None else _moment(value, what)


def _day(moment: FHIRMoment) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def _float(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def _extension(extensions: list[Extension] | None, url: str) -> Extension | None:
    for ext in extensions or []:
        if ext.url == url:
            return ext
    return None


def _ext_value(ext: Extension) -> object:
    for name in (
        "valueBoolean",
        "valueDecimal",
        "valueInteger",
        "valueString",
        "valueCode",
        "valueDate",
        "valueDateTime",
    ):
        value = getattr(ext, name, None)
        if value is not None:
            return float(value) if isinstance(value, Decimal) else value
    return None


def _grade(concept: CodeableConcept | None) -> int | None:
    """A grade from a concept: an icaht grade code, else "grade N" in its text or displays."""
    if concept is None:
        return None
    for system, code, _ in triples(concept):
        if system == codes.ICAHT_GRADES and code and code.isdigit():
            return int(code)
    for text in [concept.text, *(d for _, _, d in triples(concept))]:
        found = _GRADE.search(text or "")
        if found:
            return int(found.group(1))
    return None


def _status(resource: DomainResource, kind: str) -> None:
    status = getattr(resource, "status", None)
    if status in _SKIPPED_STATUS.get(kind, frozenset()):
        raise Skip(f"status {status}")


# --------------------------------------------------------------------------------------------
# one mapper per resource type
# --------------------------------------------------------------------------------------------


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


def _effective(obs: Observation | DiagnosticReport) -> tuple[FHIRMoment, FHIRMoment | None]:
    if obs.effectivePeriod is not None:
        period = obs.effectivePeriod
        start = _moment(period.start, "effective time")
        return start, _optional_moment(period.end, "effective end")
    value: object = obs.effectiveDateTime
    if value is None and isinstance(obs, Observation):
        value = obs.effectiveInstant
    return _moment(value, "effective time"), None


def _map_observation(obs: Observation, acc: _Collected, report: ImportReport) -> None:
    _status(obs, "Observation")
    local = local_code(obs.code)
    if local in ("crs-grade", "icans-grade"):
        start, end = _effective(obs)
        grade = (
            obs.valueInteger if obs.valueInteger is not None else _grade(obs.valueCodeableConcept)
        )
        if grade is None or not 1 <= grade <= 5:
            raise Skip(f"{local} without a grade 1-5")
        acc.events.append(
            {"kind": local.split("-")[0], "start": start, "end": end, "grade": int(grade)}
        )
        return
    if local == "disease-status":
        start, _ = _effective(obs)
        status = local_code(obs.valueCodeableConcept) or (
            obs.valueCodeableConcept.text if obs.valueCodeableConcept else None
        )
        acc.events.append({"kind": "disease_status", "start": start, "status": status})
        return
    if local == "next-therapy":
        start, _ = _effective(obs)
        acc.events.append({"kind": "next_therapy", "start": start, "name": obs.valueString})
        return
    if local == "last-follow-up":
        start, _ = _effective(obs)
        acc.events.append({"kind": "last_follow_up", "start": start})
        return
    target = codes.match("labs", triples(obs.code), obs.code.text if obs.code else None)
    if target is None:
        raise Skip("code not in the lab mapping table")
    start, _ = _effective(obs)
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
        "code": _code_of(obs.code),
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


def _onset(condition: Condition) -> tuple[FHIRMoment, FHIRMoment | None]:
    if condition.onsetPeriod is not None:
        start = _moment(condition.onsetPeriod.start, "onset")
    else:
        start = _moment(condition.onsetDateTime, "onset")
    end: FHIRMoment | None = None
    if condition.abatementPeriod is not None:
        end = _optional_moment(condition.abatementPeriod.end, "abatement")
    elif condition.abatementDateTime is not None:
        end = _moment(condition.abatementDateTime, "abatement")
    return start, end


def _only_recorded(condition: Condition) -> bool:
    """No onset, but a recordedDate (an encounter diagnosis)."""
    return (
        condition.onsetPeriod is None
        and condition.onsetDateTime is None
        and condition.recordedDate is not None
    )


def _onset_or_recorded(condition: Condition) -> tuple[FHIRMoment, FHIRMoment | None]:
    """Onset and abatement; a Condition without an onset starts when it was recorded."""
    if _only_recorded(condition):
        return _moment(condition.recordedDate, "recordedDate"), None
    return _onset(condition)


def _severity(condition: Condition) -> str | None:
    for system, code, _ in triples(condition.severity):
        if system == codes.SNOMED and code in codes.SEVERITY_CODES:
            return codes.SEVERITY_CODES[code]
        if system == codes.ICAHT_CODES and code == "life-threatening":
            return "life-threatening"
    text = (condition.severity.text or "").strip().lower() if condition.severity else ""
    return text if text in ("mild", "moderate", "severe", "life-threatening") else None


def _verified_absent(condition: Condition) -> bool:
    return any(
        system == codes.CONDITION_VERIFICATION and code == "refuted"
        for system, code, _ in triples(condition.verificationStatus)
    )


def _hemophagocytic_status(condition: Condition, absent: bool) -> str:
    """The status of an IEC-HS/HLH/MAS Condition: the icaht extension, else refuted = excluded,
    provisional/differential/unconfirmed = suspected, clinical status resolved/inactive/remission
    = resolved, else confirmed."""
    ext = _extension(condition.extension, codes.EXT_IEC_HS_STATUS)
    if ext is not None:
        return str(_ext_value(ext))
    if absent:
        return "excluded"
    verification = {c for s, c, _ in triples(condition.verificationStatus)}
    if verification & {"provisional", "differential", "unconfirmed"}:
        return "suspected"
    clinical = {c for s, c, _ in triples(condition.clinicalStatus)}
    return "resolved" if clinical & {"resolved", "inactive", "remission"} else "confirmed"


def _map_condition(condition: Condition, acc: _Collected, report: ImportReport) -> None:
    if any(c == "entered-in-error" for _, c, _ in triples(condition.verificationStatus)):
        raise Skip("verificationStatus entered-in-error")
    target = codes.match(
        "conditions", triples(condition.code), condition.code.text if condition.code else None
    )
    if target is None:
        raise Skip("code not in the condition mapping table")
    absent = _verified_absent(condition)
    start, end = _onset_or_recorded(condition)
    kind, _, detail = target.partition(":")
    if kind == "finding":
        acc.events.append(
            {"kind": "finding", "start": start, "finding": detail, "present": not absent}
        )
        return
    if kind == "iec_hs":
        acc.events.append(
            {
                "kind": "iec_hs",
                "start": start,
                "end": end,
                "diagnosis": detail,
                "status": _hemophagocytic_status(condition, absent),
            }
        )
        return
    if absent:
        raise Skip("verificationStatus refuted")
    if kind == "chip":
        gene = _extension(condition.extension, codes.EXT_CHIP_GENE)
        vaf = _extension(condition.extension, codes.EXT_CHIP_VAF)
        known = _optional_moment(condition.recordedDate, "recordedDate")
        acc.events.append(
            {
                "kind": "chip",
                "start": known or start,
                "gene": _ext_value(gene) if gene is not None else None,
                "vaf_pct": _ext_value(vaf) if vaf is not None else None,
            }
        )
        return
    if kind in ("crs", "icans", "bleeding"):
        grade = int(detail) if detail else None
        if grade is None:
            for stage in condition.stage or []:
                grade = _grade(stage.summary)
                if grade is not None:
                    break
        if grade is None and kind == "bleeding":
            raise Skip("bleeding without a grade 1-5 (stage.summary)")
        if grade is not None and not 1 <= grade <= 5:
            raise Skip(f"{kind} grade {grade} is not 1-5")
        event: dict[str, Any] = {"kind": kind, "start": start, "grade": grade}
        if kind != "bleeding":
            event["end"] = end
        if kind != "bleeding" and _only_recorded(condition):
            # an encounter diagnosis: the day it was recorded stands for the onset, flagged
            report.note(f"{kind.upper()} without an onset: recordedDate used, start approximate")
            event["start_known"] = "approximate"
        acc.events.append(event)
    elif kind == "infection":
        severity = _severity(condition) or "unknown"
        if severity == "unknown":
            report.note("infection without a severity: severity unknown")
        organism = _extension(condition.extension, codes.EXT_ORGANISM)
        site = condition.bodySite[0].text if condition.bodySite else None
        acc.events.append(
            {
                "kind": "infection",
                "start": start,
                "end": end,
                "severity": severity,
                "site": site,
                "organism": _ext_value(organism) if organism is not None else None,
            }
        )
    elif kind == "fever":
        acc.events.append({"kind": "fever", "start": start})
    else:  # pragma: no cover - the table test keeps targets known
        raise Skip(f"unknown target {target}")


def _performed(procedure: Procedure) -> FHIRMoment:
    if procedure.performedPeriod is not None:
        return _moment(procedure.performedPeriod.start, "performed time")
    return _moment(procedure.performedDateTime, "performed time")


def _transfused_product(procedure: Procedure, referenced: Referenced) -> str:
    """The product of a generic transfusion code: from the BiologicallyDerivedProduct it used
    (``usedReference``: its productCode), else ``usedCode``."""
    concepts: list[CodeableConcept] = []
    for ref in procedure.usedReference or []:
        product = referenced.get(ref.reference or "")
        if isinstance(product, BiologicallyDerivedProduct) and product.productCode is not None:
            concepts.append(product.productCode)
        elif ref.display:
            concepts.append(CodeableConcept(text=ref.display))
    concepts += list(procedure.usedCode or [])
    for concept in concepts:
        found = codes.match("procedures", triples(concept), concept.text)
        found = found or codes.match_words("procedures", concept.text)
        if found and found.startswith("transfusion:"):
            return found.split(":")[1]
    raise Skip("transfusion without a known product (usedReference, usedCode)")


def _map_procedure(
    procedure: Procedure, acc: _Collected, report: ImportReport, referenced: Referenced
) -> None:
    _status(procedure, "Procedure")
    target = codes.match(
        "procedures", triples(procedure.code), procedure.code.text if procedure.code else None
    )
    if target is None:
        raise Skip("code not in the procedure mapping table")
    start = _performed(procedure)
    kind, _, detail = target.partition(":")
    if kind == "car_t_infusion":
        acc.infusions.append(start)
        if detail:
            acc.products.append(detail)
        for used in procedure.usedCode or []:
            if used.text:
                acc.products.append(used.text)
    elif kind == "transfusion":
        detail = detail or _transfused_product(procedure, referenced)
        units = _extension(procedure.extension, codes.EXT_TRANSFUSION_UNITS)
        irradiated = _extension(procedure.extension, codes.EXT_IRRADIATED)
        acc.events.append(
            {
                "kind": "transfusion",
                "start": start,
                "product": detail,
                "units": _ext_value(units) if units is not None else 1,
                "irradiated": _ext_value(irradiated) if irradiated is not None else None,
            }
        )
    elif kind == "marrow_biopsy":
        acc.biopsy_days.add(_day(start))
        acc.events.append({"kind": "marrow_biopsy", "start": start})
    elif kind == "stem_cell_boost":
        source = _extension(procedure.extension, codes.EXT_BOOST_SOURCE)
        cd34 = _extension(procedure.extension, codes.EXT_CD34)
        if source is None:
            raise Skip("stem cell boost without its source (autologous or donor)")
        acc.events.append(
            {
                "kind": "stem_cell_boost",
                "start": start,
                "source": _ext_value(source),
                "cd34_per_kg": _ext_value(cd34) if cd34 is not None else None,
            }
        )
    elif kind == "hct":
        if not detail:
            raise Skip("HCT without its type (autologous or allogeneic)")
        acc.events.append({"kind": "hct", "start": start, "hct_type": detail})
    else:  # pragma: no cover - the table test keeps targets known
        raise Skip(f"unknown target {target}")


#: Marrow report results (icaht local codes of contained Observations) -> MarrowBiopsy fields.
MARROW_BOOLEANS: dict[str, str] = {
    "marrow-aplasia": "aplasia",
    "marrow-malignant-infiltration": "malignant_infiltration",
    "marrow-mds": "mds",
    "marrow-dysplasia": "dysplasia",
    "marrow-fibrosis": "fibrosis",
    "marrow-hemophagocytosis": "hemophagocytosis",
    "marrow-cytogenetics-abnormal": "cytogenetics_abnormal",
    "marrow-ngs-done": "ngs_done",
    "marrow-graft-dysfunction": "graft_dysfunction",
}
MARROW_LEVELS: dict[str, str] = {
    "marrow-megakaryopoiesis": "megakaryopoiesis",
    "marrow-erythropoiesis": "erythropoiesis",
    "marrow-myelopoiesis": "myelopoiesis",
}
MARROW_PERCENTS: dict[str, str] = {
    "marrow-cellularity-pct": "cellularity_pct",
    "marrow-blasts-pct": "blasts_pct",
    "marrow-donor-chimerism-pct": "donor_chimerism_pct",
}


def _map_report(report_resource: DiagnosticReport, acc: _Collected, report: ImportReport) -> None:
    _status(report_resource, "DiagnosticReport")
    target = codes.match(
        "procedures",
        triples(report_resource.code),
        report_resource.code.text if report_resource.code else None,
    )
    if target != "marrow_biopsy":
        raise Skip("not a marrow report (code not mapped to marrow_biopsy)")
    start, _ = _effective(report_resource)
    event: dict[str, Any] = {"kind": "marrow_biopsy", "start": start}
    contained = {
        f"#{r.id}": r for r in report_resource.contained or [] if isinstance(r, Observation)
    }
    for ref in report_resource.result or []:
        obs = contained.get(ref.reference or "")
        if obs is None:
            report.note("marrow report result not contained in the report: not read")
            continue
        code = local_code(obs.code)
        if code in MARROW_BOOLEANS and obs.valueBoolean is not None:
            event[MARROW_BOOLEANS[code]] = obs.valueBoolean
        elif code == "marrow-cellularity":
            event["cellularity"] = local_code(obs.valueCodeableConcept) or (
                obs.valueCodeableConcept.text if obs.valueCodeableConcept else None
            )
        elif code in MARROW_PERCENTS and obs.valueQuantity is not None:
            event[MARROW_PERCENTS[code]] = _float(obs.valueQuantity.value)
        elif code in MARROW_LEVELS:
            event[MARROW_LEVELS[code]] = local_code(obs.valueCodeableConcept)
        elif code == "marrow-cytogenetics":
            event["cytogenetics"] = obs.valueString
        elif _lab_target(obs) == "marrow.ngs_variant":
            event.setdefault("ngs_variants", []).append(_variant(obs))
        else:
            report.note("marrow report result with an unknown code: not read")
    if report_resource.conclusion:
        event["note"] = report_resource.conclusion
    acc.report_days.add(_day(start))
    acc.events.append(event)


def _lab_target(obs: Observation) -> str | None:
    return codes.match("labs", triples(obs.code), obs.code.text if obs.code else None)


def _variant(obs: Observation) -> dict[str, Any]:
    """An NGS variant from its Observation: gene and VAF components, description as value."""
    variant: dict[str, Any] = {"description": obs.valueString}
    for component in obs.component or []:
        target = codes.match("labs", triples(component.code), component.code.text)
        if target == "variant.gene" and component.valueCodeableConcept is not None:
            concept = component.valueCodeableConcept
            names = [concept.text, *(d or c for _, c, d in triples(concept))]
            variant["gene"] = next((n for n in names if n), None)
        elif target == "variant.vaf_pct" and component.valueQuantity is not None:
            quantity = component.valueQuantity
            vaf = _float(quantity.value)
            as_fraction = (quantity.code or quantity.unit) == "1"  # LOINC 81258-6 is NFr
            variant["vaf_pct"] = vaf * 100.0 if vaf is not None and as_fraction else vaf
    return {k: v for k, v in variant.items() if v is not None}


def _medication_concept(
    resource: MedicationStatement | MedicationAdministration | MedicationRequest,
    referenced: Referenced,
) -> tuple[CodeableConcept | None, list[Extension]]:
    """The medication's concept: the resource's own, else the Medication it refers to (contained,
    in the Bundle or NDJSON), else the reference's ``display`` as text."""
    if resource.medicationCodeableConcept is not None:
        return resource.medicationCodeableConcept, []
    reference = resource.medicationReference
    ref = reference.reference if reference is not None else None
    medication: DomainResource | None = None
    if ref and ref.startswith("#"):
        for contained in resource.contained or []:
            if isinstance(contained, Medication) and f"#{contained.id}" == ref:
                medication = contained
    elif ref:
        medication = referenced.get(ref) or referenced.get(ref.rsplit("/", 1)[-1])
    if isinstance(medication, Medication):
        return medication.code, list(medication.extension or [])
    if reference is not None and reference.display:
        return CodeableConcept(text=reference.display), []
    raise Skip(f"medication reference {ref} not found" if ref else "no medication")


def _drug(concept: CodeableConcept | None) -> str | None:
    """The ingredient of a medication concept: a table code or exact text, a reviewed RxNorm
    product code (``rxnorm_products.csv``), a CAR-T product by its ATC group, else the names of
    the table found as words in order-style text ("filgrastim (NEUPOGEN) injection 480 mcg")."""
    text = concept.text if concept is not None else None
    found = codes.match("medications", triples(concept), text)
    if found is not None:
        return found
    ingredients = codes.rxnorm_ingredients()
    for system, code, _ in triples(concept):
        if system == codes.RXNORM and code in ingredients:
            return ingredients[code]
    names = [text, *(d for _, _, d in triples(concept))]
    for name in names:
        found = codes.match_words("medications", name)
        if found is not None:
            return found
    for system, code, _ in triples(concept):
        if system == codes.ATC and (code or "").startswith(codes.ATC_CELL_THERAPY):
            return next((n for n in names if n), None) or "CAR-T product (ATC L01XL)"
    return None


def _dose(dosage: Dosage | None) -> tuple[float | None, str | None, str | None, str | None]:
    """(dose, dose unit, frequency, route) of a Dosage."""
    if dosage is None:
        return None, None, None, None
    dose: Quantity | None = None
    for rate in dosage.doseAndRate or []:
        if rate.doseQuantity is not None:
            dose = rate.doseQuantity
            break
    frequency = None
    if dosage.timing is not None and dosage.timing.code is not None:
        frequency = dosage.timing.code.text
    route = dosage.route.text if dosage.route is not None else None
    return (
        _float(dose.value) if dose is not None else None,
        (dose.unit or dose.code) if dose is not None else None,
        frequency,
        route,
    )


def _cell_therapy(concept: CodeableConcept | None, drug: str) -> bool:
    """A CAR-T product: a named one, or a product of the ATC cell-therapy group."""
    return drug in CAR_T_PRODUCTS or any(
        system == codes.ATC and (code or "").startswith(codes.ATC_CELL_THERAPY)
        for system, code, _ in triples(concept)
    )


def _map_medication(
    resource: MedicationStatement | MedicationAdministration | MedicationRequest,
    acc: _Collected,
    report: ImportReport,
    referenced: Referenced,
) -> None:
    kind = type(resource).__name__
    _status(resource, kind)
    concept, med_extensions = _medication_concept(resource, referenced)
    drug = _drug(concept)
    if drug is None:
        raise Skip("medication not in the medication mapping table")
    end: FHIRMoment | None = None
    dose: float | None = None
    unit = frequency = route = None
    if isinstance(resource, MedicationStatement):
        if resource.effectivePeriod is not None:
            start = _moment(resource.effectivePeriod.start, "effective time")
            end = _optional_moment(resource.effectivePeriod.end, "effective end")
        else:
            start = _moment(resource.effectiveDateTime, "effective time")
        dose, unit, frequency, route = _dose(resource.dosage[0] if resource.dosage else None)
    elif isinstance(resource, MedicationAdministration):
        if resource.effectivePeriod is not None:
            start = _moment(resource.effectivePeriod.start, "effective time")
            end = _optional_moment(resource.effectivePeriod.end, "effective end")
        else:
            start = _moment(resource.effectiveDateTime, "effective time")
            end = start
        given = resource.dosage
        if given is not None:
            if given.dose is not None:
                dose, unit = _float(given.dose.value), given.dose.unit or given.dose.code
            route = given.route.text if given.route is not None else None
    else:
        first = resource.dosageInstruction[0] if resource.dosageInstruction else None
        bounds = None
        if first is not None and first.timing is not None and first.timing.repeat is not None:
            bounds = first.timing.repeat.boundsPeriod
        if bounds is not None and bounds.start is not None:
            start = _moment(bounds.start, "dosing start")
            end = _optional_moment(bounds.end, "dosing end")
        else:
            start = _moment(resource.authoredOn, "authoredOn")
        dose, unit, frequency, route = _dose(first)
    if _cell_therapy(concept, drug):  # the infusion itself (day 0), not a medication segment
        (acc.ordered if isinstance(resource, MedicationRequest) else acc.infusions).append(start)
        acc.products.append(drug)
        return
    if drug in LYMPHODEPLETION:
        acc.ld_doses.append(start)
    extensions = list(resource.extension or []) + med_extensions
    freq_ext = _extension(extensions, codes.EXT_FREQUENCY)
    if freq_ext is not None:
        frequency = str(_ext_value(freq_ext))
    product_ext = _extension(extensions, codes.EXT_PRODUCT)
    product: object = _ext_value(product_ext) if product_ext is not None else None
    text = (concept.text or "").strip() if concept else ""
    if product is None and text and text.lower() != drug:
        product = text
    acc.events.append(
        {
            "kind": "medication",
            "start": start,
            "end": end,
            "drug": drug,
            "product": product,
            "dose": dose,
            "dose_unit": unit,
            "frequency": frequency,
            "route": route,
        }
    )


# --------------------------------------------------------------------------------------------
# the patient
# --------------------------------------------------------------------------------------------


def patient_id(patient: Patient | None, key: str, id_system: str | None = None) -> str:
    """The record's patient_id: the identifier of ``id_system`` (else of the icaht system),
    else the Patient's id, else the id of the patient key (``Patient/<id>``)."""
    if patient is None:
        return key.rsplit("/", 1)[-1]
    for system in [s for s in (id_system, codes.PATIENT_ID_SYSTEM) if s]:
        for ident in patient.identifier or []:
            if ident.system == system and ident.value:
                return ident.value
    return patient.id or key.rsplit("/", 1)[-1]


def _patient_facts(
    patient: Patient | None, key: str, id_system: str | None
) -> tuple[dict[str, Any], bool]:
    """Facts from Patient (identifier, gender, deceased) and the icaht CAR-T extension; and
    whether the times are days on the synthetic anchor."""
    facts: dict[str, Any] = {"patient_id": patient_id(patient, key, id_system)}
    synthetic = False
    if patient is None:
        return facts, synthetic
    if patient.gender:
        facts["sex"] = patient.gender
    streams = [
        _ext_value(e) for e in patient.extension or [] if e.url == codes.EXT_COMPLETE_STREAMS
    ]
    if streams:
        facts["complete_streams"] = streams
    ext = _extension(patient.extension, codes.EXT_CART)
    for sub in (ext.extension if ext is not None else None) or []:
        value = _ext_value(sub)
        if sub.url == "synthetic-anchor":
            synthetic = bool(value)
        elif sub.url in _FACT_FIELDS:
            facts[sub.url] = value
    if patient.birthDate is not None and isinstance(patient.birthDate, date):
        facts["_birth_date"] = patient.birthDate
    return facts, synthetic


_MAPPERS: dict[type, Callable[..., None]] = {
    Observation: _map_observation,
    Condition: _map_condition,
    DiagnosticReport: _map_report,
}


@dataclass(frozen=True, slots=True)
class MappedResource:
    """What one resource adds to its patient's record (labs, events, infusions, ...) and to the
    import report (notes; why it was not mapped), apart from the other resources.

    A resource of a type mapped on its own (``reusable``: all but the medication resources,
    which read the Medication resources they refer to) always maps alike, so a process may keep
    its mapping by the resource's digest: CDS Hooks receives most of a patient's resources again
    on every chart opening (``service.cds_hooks``). Its labs and events are then kept validated
    as record models too (:meth:`models`), so a record of resources seen before is not
    validated again."""

    collected: _Collected
    notes: Counter[str]
    skipped: str | None
    reusable: bool
    _models: dict[date | None, _Models] = field(default_factory=dict, compare=False)

    def add_to(self, acc: _Collected, report: ImportReport, resource: DomainResource) -> None:
        """Add what the patient's facts are read from to its collected data (shared, never
        changed; the labs and events of the record are taken from each resource's own), and
        this resource to the report."""
        mine = self.collected
        acc.events += mine.events
        acc.weights += mine.weights
        acc.infusions += mine.infusions
        acc.ordered += mine.ordered
        acc.ld_doses += mine.ld_doses
        acc.differential += mine.differential
        acc.products += mine.products
        acc.biopsy_days |= mine.biopsy_days
        acc.report_days |= mine.report_days
        report.notes.update(self.notes)
        kind = type(resource).__name__
        if self.skipped is not None:
            report.add_unmapped(kind, resource.id, self.skipped, _resource_code(resource))
        else:
            report.add_mapped(kind)

    def models(self, anchor: date | None) -> _Models | None:
        """The labs and events as validated record models, times counted in days from
        ``anchor`` (None: as mapped); kept for the last anchor asked. None when one of them is
        invalid: the record's validation then names it with its place in the record."""
        kept = self._models.get(anchor)
        if kept is not None:
            return kept
        try:
            made = _Models(
                [
                    RecordObservation.model_validate(_timed(o, anchor))
                    for o in self.collected.observations
                ],
                [_EVENT.validate_python(_timed(e, anchor)) for e in self.collected.events],
            )
        except ValidationError:
            return None
        self._models.clear()
        self._models[anchor] = made
        return made


@dataclass(frozen=True, slots=True)
class _Models:
    observations: list[RecordObservation]
    events: list[record.Event]


_EVENT: TypeAdapter[record.Event] = TypeAdapter(record.Event)
_TIMES = ("time", "start", "end")


def _timed(item: dict[str, Any], anchor: date | None) -> dict[str, Any]:
    """A lab or event as the record has it: without absent values, its times counted in days
    from ``anchor`` (None: as mapped)."""
    kept = {k: v for k, v in item.items() if v is not None and not k.startswith("_")}
    if anchor is None:
        return kept
    return {k: _to_days(v, anchor) if k in _TIMES else v for k, v in kept.items()}


def _code_of(concept: CodeableConcept | None) -> str | None:
    """``system|code`` of a concept's first coding, else its text (for the import report)."""
    for system, code, _ in triples(concept):
        if code:
            return f"{system}|{code}" if system else code
    return concept.text if concept is not None else None


def _resource_code(resource: DomainResource) -> str | None:
    concept = getattr(resource, "code", None)
    if concept is None:
        concept = getattr(resource, "medicationCodeableConcept", None)
    if concept is None and getattr(resource, "medicationReference", None) is not None:
        reference = resource.medicationReference  # type: ignore[attr-defined]
        found: str | None = reference.reference or reference.display
        return found
    return _code_of(concept) if isinstance(concept, CodeableConcept) else None


def map_resource(
    resource: DomainResource,
    medications: Referenced,
    settings: FhirImportSettings | None = None,
) -> MappedResource:
    """Map one resource of a patient (the Patient itself is read by :func:`map_patient`);
    ``medications`` are the resources it may refer to (Medication, BiologicallyDerivedProduct)
    by reference."""
    acc = _Collected(settings=settings or FhirImportSettings())
    notes = ImportReport("")
    skipped = None
    mapper = _MAPPERS.get(type(resource))
    reusable = mapper is not None
    try:
        if mapper is not None:
            mapper(resource, acc, notes)
        elif isinstance(resource, Procedure):
            reusable = not resource.usedReference  # reads the products it refers to
            _map_procedure(resource, acc, notes, medications)
        elif isinstance(
            resource, MedicationStatement | MedicationAdministration | MedicationRequest
        ):
            _map_medication(resource, acc, notes, medications)
        else:
            raise Skip("resource type not mapped")
    except Skip as skip:
        skipped = skip.reason
    known = _certainty(resource, codes.EXT_START_CERTAINTY)
    for event in acc.events if known else ():
        event.update(known)
    return MappedResource(acc, notes.notes, skipped, reusable=reusable)


def _certainty(resource: DomainResource, url: str) -> dict[str, Any]:
    """``start_known`` and ``start_window_days`` from the start-certainty extension (none when
    absent: the start is exact)."""
    ext = _extension(resource.extension, url)
    if ext is None:
        return {}
    subs = {sub.url: _ext_value(sub) for sub in ext.extension or []}
    return {"start_known": subs.get("known"), "start_window_days": subs.get("window-days")}


def _to_days(moment: object, anchor: date) -> object:
    if isinstance(moment, datetime):
        naive = moment.replace(tzinfo=None)
        delta: timedelta = naive - datetime(anchor.year, anchor.month, anchor.day)
        return delta.total_seconds() / 86400.0
    if isinstance(moment, date):
        return float((moment - anchor).days)
    return moment


def map_patient(
    group: PatientResources,
    medications: Referenced,
    report: ImportReport,
    source: str,
    id_system: str | None = None,
    memo: LruCache[bytes, MappedResource] | None = None,
    options: ImportOptions | None = None,
) -> PatientRecord:
    """One patient's resources as a validated record (structure only; units are checked when
    the record becomes a course). Raises :class:`InputError` if the mapped record is invalid.
    With a ``memo``, a resource mapped before (the same digest) is not mapped again (the memo
    belongs to one site: its time zone and profile). ``options``: the site's time zone and
    profile settings (default :meth:`ImportOptions.for_site`)."""
    options = options or ImportOptions.for_site()
    use_zone(options.zone)
    acc = _Collected()
    parts: list[MappedResource] = []
    for resource, digest in zip(group.resources, group.digests, strict=True):
        found = memo.get(digest) if memo is not None and digest is not None else None
        mapped = found or map_resource(resource, medications, options.settings)
        if found is None and memo is not None and digest is not None and mapped.reusable:
            memo.put(digest, mapped)
        mapped.add_to(acc, report, resource)
        parts.append(mapped)
    facts, synthetic = _patient_facts(group.patient, group.key, id_system)
    birth = facts.pop("_birth_date", None)
    own_events: list[dict[str, Any]] = []  # the Patient's own (death)
    if group.patient is not None:
        report.add_mapped("Patient")
        if group.patient.deceasedDateTime is not None:
            cause = _extension(group.patient.extension, codes.EXT_DEATH_CAUSE)
            own_events.append(
                {
                    "kind": "death",
                    "start": _moment(group.patient.deceasedDateTime, "deceased time"),
                    "cause": _ext_value(cause) if cause is not None else None,
                    **_certainty(group.patient, codes.EXT_DEATH_CERTAINTY),
                }
            )
        elif group.patient.deceasedBoolean:
            report.note("Patient.deceasedBoolean without a date: no death event")
    infusion = _infusion_day(acc, report)
    if acc.products and "product" not in facts:
        facts["product"] = acc.products[0]
    if acc.weights and "weight_kg" not in facts:
        before = [w for w in acc.weights if infusion is None or _day(w[0]) <= infusion]
        chosen = (
            max(before, key=lambda w: _day(w[0]))
            if before
            else min(acc.weights, key=lambda w: _day(w[0]))
        )
        facts["weight_kg"] = round(chosen[1], 3)
    if birth is not None and infusion is not None and "age_years" not in facts:
        facts["age_years"] = round((infusion - birth).days / 365.25, 2)
    for event in acc.events:  # HCT before the infusion sets the prior-HCT facts
        if event["kind"] == "hct" and infusion is not None and _day(event["start"]) < infusion:
            facts.setdefault(
                f"prior_{'auto' if event['hct_type'] == 'autologous' else 'allo'}_hct", True
            )
    ld_start = _ld_start(acc.ld_doses, infusion, options.settings.ld_window_days)
    if ld_start is not None and "ld_start" not in facts:
        report.note("lymphodepletion start from the first fludarabine/cyclophosphamide dose")
        facts["ld_start"] = ld_start
    anchor = infusion if synthetic else None
    if anchor is not None and "ld_start" in facts:
        facts["ld_start"] = _to_days(facts["ld_start"], anchor)
    elif infusion is not None and not synthetic:
        facts["infusion_date"] = infusion
    observations: list[RecordObservation | dict[str, Any]] = [
        _timed(lab, anchor)
        for lab in derive_counts(
            acc.differential,
            [lab for part in parts for lab in part.collected.observations],
            report,
        )
    ]
    events: list[record.Event | dict[str, Any]] = []
    for part in parts:
        # record models pay off only for a mapping kept for the next call
        models = part.models(anchor) if memo is not None and part.reusable else None
        labs: Sequence[RecordObservation | dict[str, Any]]
        happened: Sequence[record.Event | dict[str, Any]]
        if models is None:
            labs = [_timed(o, anchor) for o in part.collected.observations]
            happened = [_timed(e, anchor) for e in part.collected.events]
        else:
            labs, happened = models.observations, models.events
        observations += labs
        # a biopsy Procedure on a day with a structured report is the same biopsy
        from_procedure = bool(part.collected.biopsy_days)
        events += [
            event
            for event, mapped in zip(happened, part.collected.events, strict=True)
            if not (from_procedure and _reported_biopsy(mapped, acc.report_days))
        ]
    events += [_timed(e, anchor) for e in own_events]
    try:
        return PatientRecord.model_validate(
            {"patient": facts, "observations": observations, "events": events}
        )
    except ValidationError as exc:
        where = f"{source} (patient {facts['patient_id']})"
        raise InputError(from_validation_error(exc, where)) from None


def _infusion_day(acc: _Collected, report: ImportReport) -> date | None:
    """Day 0: the first CAR-T infusion given (Procedure, MedicationAdministration); without one,
    the first CAR-T product order (MedicationRequest), noted."""
    given = {_day(m) for m in acc.infusions}
    if not given and acc.ordered:
        report.note("CAR-T infusion day from the product order (no administration recorded)")
        given = {_day(m) for m in acc.ordered}
    if len(given) > 1:
        report.note("several CAR-T infusions: the first is day 0")
    return min(given, default=None)


def _ld_start(doses: list[FHIRMoment], infusion: date | None, window_days: int) -> date | None:
    """The first fludarabine/cyclophosphamide dose within ``window_days`` before the infusion
    (profile setting fhir.ld_window_days), so the CAR-HEMATOTOX baseline is pre-LD."""
    if infusion is None:
        return None
    days = [_day(m) for m in doses]
    return min(
        (d for d in days if timedelta(0) < infusion - d <= timedelta(days=window_days)),
        default=None,
    )


def _reported_biopsy(event: dict[str, Any], report_days: set[date]) -> bool:
    return (
        event["kind"] == "marrow_biopsy" and len(event) == 2 and _day(event["start"]) in report_days
    )


def no_infusion_problem(source: str, record: PatientRecord) -> Problem:
    """The problem of a record with dates but no CAR-T infusion to count days from."""
    return Problem(
        source,
        "no CAR-T infusion found, so days cannot be counted; looked for: a Procedure coded "
        "SNOMED CT 1156961008, CPT 0540T/38228, ICD-10-PCS XW033/XW043 CAR-T codes or the icaht "
        "code car-t-infusion (procedures.csv); a MedicationAdministration or MedicationRequest of "
        "a CAR-T product (RxNorm, ATC L01XL, or the product's name: "
        + ", ".join(sorted(CAR_T_PRODUCTS))
        + ")",
        field="Procedure",
        value=record.patient.patient_id,
    )
