"""One resource mapped on its own (:func:`map_resource`), as a :class:`MappedResource` a
process may keep by the resource's digest (the memo: CDS Hooks receives most of a patient's
resources again on every chart opening), with its labs and events as validated record models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure
from pydantic import TypeAdapter, ValidationError

from icaht.core import record
from icaht.core.observation import Observation as RecordObservation
from icaht.io.fhir import codes
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import Collected, Referenced, Skip
from icaht.io.fhir.mappers.condition import map_condition
from icaht.io.fhir.mappers.datatypes import certainty, code_of
from icaht.io.fhir.mappers.diagnostic_report import map_report
from icaht.io.fhir.mappers.medication import map_medication
from icaht.io.fhir.mappers.observation import map_observation
from icaht.io.fhir.mappers.procedure import map_procedure
from icaht.knowledge.profile.inputs import FhirImportSettings

_MAPPERS: dict[type, Callable[..., None]] = {
    Observation: map_observation,
    Condition: map_condition,
    DiagnosticReport: map_report,
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

    collected: Collected
    notes: Counter[str]
    skipped: str | None
    reusable: bool
    _models: dict[date | None, Models] = field(default_factory=dict, compare=False)

    def add_to(self, acc: Collected, report: ImportReport, resource: DomainResource) -> None:
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
        if self.notes:  # most resources have none (Counter.update is a Python call)
            report.notes.update(self.notes)
        kind = type(resource).__name__
        if self.skipped is not None:
            report.add_unmapped(kind, resource.id, self.skipped, _resource_code(resource))
        else:
            report.add_mapped(kind)

    def models(self, anchor: date | None) -> Models | None:
        """The labs and events as validated record models, times counted in days from
        ``anchor`` (None: as mapped); kept for the last anchor asked. None when one of them is
        invalid: the record's validation then names it with its place in the record."""
        kept = self._models.get(anchor)
        if kept is not None:
            return kept
        try:
            made = Models(
                [
                    RecordObservation.model_validate(timed(o, anchor))
                    for o in self.collected.observations
                ],
                [_EVENT.validate_python(timed(e, anchor)) for e in self.collected.events],
            )
        except ValidationError:
            return None
        self._models.clear()
        self._models[anchor] = made
        return made


@dataclass(frozen=True, slots=True)
class Models:
    """The labs and events of a mapped resource as validated record models."""

    observations: list[RecordObservation]
    events: list[record.Event]


_EVENT: TypeAdapter[record.Event] = TypeAdapter(record.Event)
_TIMES = ("time", "start", "end")


def timed(item: dict[str, Any], anchor: date | None) -> dict[str, Any]:
    """A lab or event as the record has it: without absent values, its times counted in days
    from ``anchor`` (None: as mapped)."""
    kept = {k: v for k, v in item.items() if v is not None and not k.startswith("_")}
    if anchor is None:
        return kept
    return {k: to_days(v, anchor) if k in _TIMES else v for k, v in kept.items()}


def to_days(moment: object, anchor: date) -> object:
    """A date or instant as days from ``anchor`` (anything else as it is)."""
    if isinstance(moment, datetime):
        naive = moment.replace(tzinfo=None)
        delta: timedelta = naive - datetime(anchor.year, anchor.month, anchor.day)
        return delta.total_seconds() / 86400.0
    if isinstance(moment, date):
        return float((moment - anchor).days)
    return moment


def _resource_code(resource: DomainResource) -> str | None:
    concept = getattr(resource, "code", None)
    if concept is None:
        concept = getattr(resource, "medicationCodeableConcept", None)
    if concept is None and getattr(resource, "medicationReference", None) is not None:
        reference = resource.medicationReference  # type: ignore[attr-defined]
        found: str | None = reference.reference or reference.display
        return found
    return code_of(concept) if isinstance(concept, CodeableConcept) else None


def map_resource(
    resource: DomainResource,
    medications: Referenced,
    settings: FhirImportSettings | None = None,
) -> MappedResource:
    """Map one resource of a patient (the Patient itself is read by
    :func:`~icaht.io.fhir.mappers.patient.map_patient`); ``medications`` are the resources it
    may refer to (Medication, BiologicallyDerivedProduct) by reference."""
    acc = Collected(settings=settings or FhirImportSettings())
    notes = ImportReport("")
    skipped = None
    mapper = _MAPPERS.get(type(resource))
    reusable = mapper is not None
    try:
        if mapper is not None:
            mapper(resource, acc, notes)
        elif isinstance(resource, Procedure):
            reusable = not resource.usedReference  # reads the products it refers to
            map_procedure(resource, acc, notes, medications)
        elif isinstance(
            resource, MedicationStatement | MedicationAdministration | MedicationRequest
        ):
            map_medication(resource, acc, notes, medications)
        else:
            raise Skip("resource type not mapped")
    except Skip as skip:
        skipped = skip.reason
    known = certainty(resource, codes.EXT_START_CERTAINTY)
    for event in acc.events if known else ():
        event.update(known)
    return MappedResource(acc, notes.notes, skipped, reusable=reusable)
