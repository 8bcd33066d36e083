"""The import report: what was read, what was mapped, and what could not be mapped (with samples).

Resources icaht cannot map do not fail an import: each is listed (resource type, id, code,
reason) in ``dropped`` so a data manager can find it, counted by type and by reason (the summary
per reason), and the first few of each reason are kept as samples for the command line.
Malformed JSON and invalid resources are errors (:class:`icaht.errors.InputError`).
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
    code: str | None = None


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
    dropped: list[UnmappedSample] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    def add_mapped(self, resource_type: str) -> None:
        self.mapped[resource_type] += 1

    def add_unmapped(
        self, resource_type: str, resource_id: str | None, reason: str, code: str | None = None
    ) -> None:
        """List and count a resource that was read but not mapped (``code``: its code, e.g.
        ``http://loinc.org|751-8``); keep the first few of each reason as samples."""
        self.unmapped[resource_type] += 1
        key = f"{resource_type}: {reason}"
        self.unmapped_reasons[key] += 1
        sample = UnmappedSample(resource_type, resource_id, reason, code)
        self.dropped.append(sample)
        if self.unmapped_reasons[key] <= UNMAPPED_SAMPLES_PER_REASON:
            self.samples.append(sample)

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
            "samples": [_sample(s) for s in self.samples],
            "dropped": [_sample(s) for s in self.dropped],
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
        lines += [
            f"    e.g. {s.resource_type}/{s.resource_id or '?'}"
            + (f" [{s.code}]" if s.code else "")
            + f": {s.reason}"
            for s in self.samples
        ]
        lines += [f"  note: {message} ({n})" for message, n in sorted(self.notes.items())]
        return "\n".join(lines)


def _sample(sample: UnmappedSample) -> dict[str, object]:
    return {
        "resource_type": sample.resource_type,
        "id": sample.resource_id,
        "code": sample.code,
        "reason": sample.reason,
    }
