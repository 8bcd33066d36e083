"""Small readers of FHIR datatypes shared by the mappers: codings, moments, extensions and
grades."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.observation import Observation

from icaht.io.fhir import codes
from icaht.io.fhir.mappers.collected import FHIRMoment, Skip
from icaht.io.fhir.options import local

_GRADE = re.compile(r"grade\s*([0-5])", re.IGNORECASE)


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


def code_of(concept: CodeableConcept | None) -> str | None:
    """``system|code`` of a concept's first coding, else its text (for the import report)."""
    for system, code, _ in triples(concept):
        if code:
            return f"{system}|{code}" if system else code
    return concept.text if concept is not None else None


def moment(value: object, what: str) -> FHIRMoment:
    """A FHIR date or instant; an instant with a zone becomes the site's local wall-clock time
    (``ICAHT_TIMEZONE``), so its day is the site's day."""
    if isinstance(value, datetime | date):
        return local(value)
    if value is None:
        raise Skip(f"no {what}")
    raise Skip(f"{what} is a partial date ({value})")


def optional_moment(value: object, what: str) -> FHIRMoment | None:
    """A FHIR date or instant (:func:`moment`), None when absent."""
    return None if value is None else moment(value, what)


def day(when: FHIRMoment) -> date:
    """The day of a date or instant."""
    return when.date() if isinstance(when, datetime) else when


def effective(obs: Observation | DiagnosticReport) -> tuple[FHIRMoment, FHIRMoment | None]:
    """When an Observation or DiagnosticReport was made: its start and, for a period, its end."""
    if obs.effectivePeriod is not None:
        period = obs.effectivePeriod
        start = moment(period.start, "effective time")
        return start, optional_moment(period.end, "effective end")
    value: object = obs.effectiveDateTime
    if value is None and isinstance(obs, Observation):
        value = obs.effectiveInstant
    return moment(value, "effective time"), None


def as_float(value: Decimal | float | int | None) -> float | None:
    """A FHIR decimal as a float (None stays None)."""
    return None if value is None else float(value)


def extension(extensions: list[Extension] | None, url: str) -> Extension | None:
    """The extension of ``url``, if any."""
    for ext in extensions or []:
        if ext.url == url:
            return ext
    return None


def ext_value(ext: Extension) -> object:
    """The value of an extension (a decimal as a float)."""
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


def concept_grade(concept: CodeableConcept | None) -> int | None:
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


def certainty(resource: DomainResource, url: str) -> dict[str, Any]:
    """``start_known`` and ``start_window_days`` from the start-certainty extension (none when
    absent: the start is exact)."""
    ext = extension(resource.extension, url)
    if ext is None:
        return {}
    subs = {sub.url: ext_value(sub) for sub in ext.extension or []}
    return {"start_known": subs.get("known"), "start_window_days": subs.get("window-days")}
