"""What the mappers gather of one patient (:class:`Collected`), and how a mapper says a
resource is not mapped (:class:`Skip`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.domainresource import DomainResource

from icaht.knowledge.profile.inputs import FhirImportSettings

FHIRMoment = date | datetime
#: Resources other resources refer to (Medication, BiologicallyDerivedProduct), by reference.
Referenced = Mapping[str, DomainResource]

_SKIPPED_STATUS: dict[str, frozenset[str]] = {
    "Observation": frozenset({"entered-in-error", "cancelled", "registered"}),
    "Procedure": frozenset({"entered-in-error", "not-done", "preparation"}),
    "DiagnosticReport": frozenset({"entered-in-error", "cancelled", "registered"}),
    "MedicationStatement": frozenset({"entered-in-error", "not-taken", "intended"}),
    "MedicationAdministration": frozenset({"entered-in-error", "not-done"}),
    "MedicationRequest": frozenset({"entered-in-error", "cancelled", "draft"}),
}


class Skip(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """This resource is not mapped; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Collected:
    """The labs, events and facts the mappers read from a patient's resources."""

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


def skip_by_status(resource: DomainResource, kind: str) -> None:
    """Skip a resource whose status says it did not happen (entered in error, cancelled, ...)."""
    status = getattr(resource, "status", None)
    if status in _SKIPPED_STATUS.get(kind, frozenset()):
        raise Skip(f"status {status}")
