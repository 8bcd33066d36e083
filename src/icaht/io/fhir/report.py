"""The import report: what was read, what was mapped, and what could not be mapped (with samples).

Resources icaht cannot map do not fail an import: they are counted by type and reason, and the
first few of each reason are kept as samples (resource type, id, reason) so a data manager can
find them. Malformed JSON and invalid resources are errors (:class:`icaht.errors.InputError`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: Samples kept per unmapped reason. Project default: enough to find the pattern in the source.
UNMAPPED_SAMPLES_PER_REASON = 5


@dataclass(frozen=True, slots=True)
class UnmappedSample:
    """One resource that was not mapped, and why."""

    resource_type: str
    resource_id: str | None
    reason: str


@dataclass(slots=True)
class ImportReport:
    """Counts of one FHIR import."""

    source: str
    resources_read: int = 0
    patients: int = 0
    mapped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    unmapped_reasons: Counter[str] = field(default_factory=Counter)
    samples: list[UnmappedSample] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    def add_mapped(self, resource_type: str) -> None:
        self.mapped[resource_type] += 1

    def add_unmapped(self, resource_type: str, resource_id: str | None, reason: str) -> None:
        """Count a resource that was read but not mapped; keep the first few as samples."""
        self.unmapped[resource_type] += 1
        key = f"{resource_type}: {reason}"
        self.unmapped_reasons[key] += 1
        if self.unmapped_reasons[key] <= UNMAPPED_SAMPLES_PER_REASON:
            self.samples.append(UnmappedSample(resource_type, resource_id, reason))

    def note(self, message: str) -> None:
        """Count a mapping decision worth knowing (e.g. a value given with a comparator)."""
        self.notes[message] += 1

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "source": self.source,
            "resources_read": self.resources_read,
            "patients": self.patients,
            "mapped": dict(sorted(self.mapped.items())),
            "unmapped": dict(sorted(self.unmapped.items())),
            "unmapped_reasons": dict(sorted(self.unmapped_reasons.items())),
            "samples": [
                {"resource_type": s.resource_type, "id": s.resource_id, "reason": s.reason}
                for s in self.samples
            ],
            "notes": dict(sorted(self.notes.items())),
        }

    def summary(self) -> str:
        """One line per fact, for the command line."""
        lines = [
            f"{self.resources_read} resource(s) read, {self.patients} patient(s); "
            f"mapped {sum(self.mapped.values())}, not mapped {sum(self.unmapped.values())}"
        ]
        lines += [
            f"  not mapped: {reason} ({n})" for reason, n in sorted(self.unmapped_reasons.items())
        ]
        lines += [f"  note: {message} ({n})" for message, n in sorted(self.notes.items())]
        return "\n".join(lines)
