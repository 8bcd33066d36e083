"""Minimal records for rule tests: build a record from (analyte, day, value) triples in canonical
units and event dicts, assess it as of a day, and look at what fired."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from icaht.core.assessment import Assessment, assess
from icaht.core.course import course_from_record
from icaht.core.guidance import NotEvaluated, Recommendation
from icaht.core.patient_record import PatientRecord
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.profile import Profile, load_profile

SEED = load_profile("seed-2023")
ICAHT = load_profile("icaht-2023")


def record(
    *,
    patient: Mapping[str, Any] | None = None,
    labs: Iterable[tuple[str, float, float]] = (),
    events: Iterable[Mapping[str, Any]] = (),
) -> PatientRecord:
    """A record with ``labs`` as (analyte, day, value) in the analyte's canonical unit."""
    return PatientRecord.model_validate(
        {
            "patient": {"patient_id": "t", **(patient or {})},
            "observations": [
                {
                    "time": day,
                    "analyte": name,
                    "value": value,
                    "unit": ANALYTES[Analyte(name)].canonical_unit,
                }
                for name, day, value in labs
            ],
            "events": list(events),
        }
    )


def daily(name: str, first: int, last: int, value: float) -> list[tuple[str, float, float]]:
    """The same value on every day first..last (inclusive)."""
    return [(name, float(d), value) for d in range(first, last + 1)]


def assessment_of(rec: PatientRecord, day: int, profile: Profile = SEED) -> Assessment:
    return assess(course_from_record(rec), float(day), profile)


def fired(rec: PatientRecord, day: int, profile: Profile = SEED) -> dict[str, Recommendation]:
    """The recommendations fired as of ``day``, by rule id."""
    return {r.rule_id: r for r in assessment_of(rec, day, profile).recommendations}


def unevaluated(rec: PatientRecord, day: int, profile: Profile = SEED) -> dict[str, NotEvaluated]:
    """The rules that could not be evaluated as of ``day``, by rule id."""
    return {r.rule_id: r for r in assessment_of(rec, day, profile).not_evaluated}
