"""The Procedure mapper: the CAR-T infusion (day 0 and the product), transfusions (with the
product they used), marrow biopsies, stem cell boosts and HCT."""

from __future__ import annotations

from fhir.resources.R4B.biologicallyderivedproduct import BiologicallyDerivedProduct
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.procedure import Procedure

from icaht.io.fhir import codes
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import (
    Collected,
    FHIRMoment,
    Referenced,
    Skip,
    skip_by_status,
)
from icaht.io.fhir.mappers.datatypes import day, ext_value, extension, moment, triples


def _performed(procedure: Procedure) -> FHIRMoment:
    if procedure.performedPeriod is not None:
        return moment(procedure.performedPeriod.start, "performed time")
    return moment(procedure.performedDateTime, "performed time")


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


def map_procedure(
    procedure: Procedure, acc: Collected, report: ImportReport, referenced: Referenced
) -> None:
    """Map a Procedure into ``acc``; ``referenced``: the products it may use by reference."""
    skip_by_status(procedure, "Procedure")
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
        units = extension(procedure.extension, codes.EXT_TRANSFUSION_UNITS)
        irradiated = extension(procedure.extension, codes.EXT_IRRADIATED)
        acc.events.append(
            {
                "kind": "transfusion",
                "start": start,
                "product": detail,
                "units": ext_value(units) if units is not None else 1,
                "irradiated": ext_value(irradiated) if irradiated is not None else None,
            }
        )
    elif kind == "marrow_biopsy":
        acc.biopsy_days.add(day(start))
        acc.events.append({"kind": "marrow_biopsy", "start": start})
    elif kind == "stem_cell_boost":
        source = extension(procedure.extension, codes.EXT_BOOST_SOURCE)
        cd34 = extension(procedure.extension, codes.EXT_CD34)
        if source is None:
            raise Skip("stem cell boost without its source (autologous or donor)")
        acc.events.append(
            {
                "kind": "stem_cell_boost",
                "start": start,
                "source": ext_value(source),
                "cd34_per_kg": ext_value(cd34) if cd34 is not None else None,
            }
        )
    elif kind == "hct":
        if not detail:
            raise Skip("HCT without its type (autologous or allogeneic)")
        acc.events.append({"kind": "hct", "start": start, "hct_type": detail})
    else:  # pragma: no cover - the table test keeps targets known
        raise Skip(f"unknown target {target}")
