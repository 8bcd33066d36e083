"""The DiagnosticReport mapper: a structured marrow report (its contained result Observations,
NGS variants and conclusion) as a marrow biopsy event."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation

from icaht.io.fhir import codes
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import Collected, Skip, skip_by_status
from icaht.io.fhir.mappers.datatypes import as_float, day, effective, local_code, triples

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


def map_report(report_resource: DiagnosticReport, acc: Collected, report: ImportReport) -> None:
    """Map a marrow DiagnosticReport into ``acc``."""
    skip_by_status(report_resource, "DiagnosticReport")
    target = codes.match(
        "procedures",
        triples(report_resource.code),
        report_resource.code.text if report_resource.code else None,
    )
    if target != "marrow_biopsy":
        raise Skip("not a marrow report (code not mapped to marrow_biopsy)")
    start, _ = effective(report_resource)
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
            event[MARROW_PERCENTS[code]] = as_float(obs.valueQuantity.value)
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
    acc.report_days.add(day(start))
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
            vaf = as_float(quantity.value)
            as_fraction = (quantity.code or quantity.unit) == "1"  # LOINC 81258-6 is NFr
            variant["vaf_pct"] = vaf * 100.0 if vaf is not None and as_fraction else vaf
    return {k: v for k, v in variant.items() if v is not None}
