"""The mapper of MedicationStatement, MedicationAdministration and MedicationRequest: a
medication segment (drug, dose, frequency, route), a lymphodepletion dose, or the CAR-T product
given or ordered (day 0)."""

from __future__ import annotations

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.quantity import Quantity

from icaht.io.fhir import codes
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import (
    Collected,
    FHIRMoment,
    Referenced,
    Skip,
    skip_by_status,
)
from icaht.io.fhir.mappers.datatypes import (
    as_float,
    ext_value,
    extension,
    moment,
    optional_moment,
    triples,
)
from icaht.knowledge.drugs import CAR_T_PRODUCTS, LYMPHODEPLETION

MedicationResource = MedicationStatement | MedicationAdministration | MedicationRequest


def _medication_concept(
    resource: MedicationResource, referenced: Referenced
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
        as_float(dose.value) if dose is not None else None,
        (dose.unit or dose.code) if dose is not None else None,
        frequency,
        route,
    )


def _taken(
    resource: MedicationStatement | MedicationAdministration,
) -> tuple[FHIRMoment, FHIRMoment | None]:
    """When a statement or administration says the drug was taken: its effective period, else
    its effective time (an administration then ends when it starts)."""
    period = resource.effectivePeriod
    if period is not None:
        return moment(period.start, "effective time"), optional_moment(period.end, "effective end")
    start = moment(resource.effectiveDateTime, "effective time")
    return start, start if isinstance(resource, MedicationAdministration) else None


def _cell_therapy(concept: CodeableConcept | None, drug: str) -> bool:
    """A CAR-T product: a named one, or a product of the ATC cell-therapy group."""
    return drug in CAR_T_PRODUCTS or any(
        system == codes.ATC and (code or "").startswith(codes.ATC_CELL_THERAPY)
        for system, code, _ in triples(concept)
    )


def map_medication(
    resource: MedicationResource,
    acc: Collected,
    report: ImportReport,
    referenced: Referenced,
) -> None:
    """Map a medication resource into ``acc``; ``referenced``: the Medications it may refer
    to."""
    kind = type(resource).__name__
    skip_by_status(resource, kind)
    concept, med_extensions = _medication_concept(resource, referenced)
    drug = _drug(concept)
    if drug is None:
        raise Skip("medication not in the medication mapping table")
    end: FHIRMoment | None = None
    dose: float | None = None
    unit = frequency = route = None
    if isinstance(resource, MedicationStatement):
        start, end = _taken(resource)
        dose, unit, frequency, route = _dose(resource.dosage[0] if resource.dosage else None)
    elif isinstance(resource, MedicationAdministration):
        start, end = _taken(resource)
        given = resource.dosage
        if given is not None:
            if given.dose is not None:
                dose, unit = as_float(given.dose.value), given.dose.unit or given.dose.code
            route = given.route.text if given.route is not None else None
    else:
        first = resource.dosageInstruction[0] if resource.dosageInstruction else None
        bounds = None
        if first is not None and first.timing is not None and first.timing.repeat is not None:
            bounds = first.timing.repeat.boundsPeriod
        if bounds is not None and bounds.start is not None:
            start = moment(bounds.start, "dosing start")
            end = optional_moment(bounds.end, "dosing end")
        else:
            start = moment(resource.authoredOn, "authoredOn")
        dose, unit, frequency, route = _dose(first)
    if _cell_therapy(concept, drug):  # the infusion itself (day 0), not a medication segment
        (acc.ordered if isinstance(resource, MedicationRequest) else acc.infusions).append(start)
        acc.products.append(drug)
        return
    if drug in LYMPHODEPLETION:
        acc.ld_doses.append(start)
    extensions = list(resource.extension or []) + med_extensions
    freq_ext = extension(extensions, codes.EXT_FREQUENCY)
    if freq_ext is not None:
        frequency = str(ext_value(freq_ext))
    product_ext = extension(extensions, codes.EXT_PRODUCT)
    product: object = ext_value(product_ext) if product_ext is not None else None
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
