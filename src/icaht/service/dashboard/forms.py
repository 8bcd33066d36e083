"""Data entry on the patient page: one laboratory value or one clinical event, validated through
the record model and the unit tables (the same checks as an import), with the problems named per
form field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from icaht.core.course import course_from_record
from icaht.core.record import Event, Observation, PatientFacts, PatientRecord
from icaht.core.units import normalise_unit_spelling
from icaht.errors import InputError, Problem
from icaht.io.problems import from_validation_error
from icaht.knowledge.analytes import ANALYTES, Analyte

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)
#: Unit spellings offered for counts (all accepted by the unit tables, clinical-reference.md 8.2).
_COUNT_CHOICES = ("10^9/L", "10^3/uL", "/uL", "cells/mm3", "K/uL", "G/L")
_INDEX = re.compile(r"^(?:observations|events)\[(\d+)\]\.?(.*)$")

#: Event kinds offered in the event form, with the fields each one uses (besides start/end).
EVENT_FORM_KINDS: dict[str, tuple[str, ...]] = {
    "crs": ("end", "grade"),
    "icans": ("end", "grade"),
    "fever": ("temperature_c",),
    "infection": ("end", "severity", "site", "organism"),
    "bleeding": ("grade",),
    "transfusion": ("product", "units"),
    "medication": ("end", "drug", "dose", "dose_unit", "frequency", "route"),
    "marrow_biopsy": ("cellularity", "note"),
    "stem_cell_boost": ("source",),
    "disease_status": ("status",),
    "next_therapy": ("name",),
    "death": ("cause",),
    "last_follow_up": (),
}
EVENT_KIND_LABELS: dict[str, str] = {
    "crs": "CRS episode",
    "icans": "ICANS episode",
    "fever": "Fever",
    "infection": "Infection",
    "bleeding": "Bleeding",
    "transfusion": "Transfusion",
    "medication": "Medication (one dose step)",
    "marrow_biopsy": "Marrow biopsy",
    "stem_cell_boost": "Stem cell boost",
    "disease_status": "Disease status",
    "next_therapy": "Next therapy",
    "death": "Death",
    "last_follow_up": "Last follow-up",
}


def _pretty(unit: str) -> str:
    text = unit
    for a, b in (("dl", "dL"), ("ml", "mL"), ("ul", "uL"), ("nl", "nL"), ("iu/", "IU/")):
        text = text.replace(a, b)
    if text.endswith("/l"):
        text = text[:-2] + "/L"
    return "U/L" if text == "u/L" else text


def unit_choices(analyte: Analyte) -> list[str]:
    """Unit spellings offered for an analyte, canonical first."""
    info = ANALYTES[analyte]
    if "10^9/l" in info.units:
        choices = [u for u in _COUNT_CHOICES if normalise_unit_spelling(u) in info.units]
    else:
        choices = [_pretty(u) for u in info.units if "[" not in u and "*" not in u]
    canonical = info.canonical_unit
    return [canonical, *(c for c in choices if c != canonical)]


#: Analytes offered in the lab form (the blood counts first).
LAB_ANALYTES: tuple[Analyte, ...] = (
    Analyte.ANC,
    Analyte.PLATELETS,
    Analyte.HB,
    Analyte.WBC,
    Analyte.LYMPHOCYTES,
    *(
        a
        for a in Analyte
        if a not in (Analyte.ANC, Analyte.PLATELETS, Analyte.HB, Analyte.WBC, Analyte.LYMPHOCYTES)
    ),
)


@dataclass
class FormResult:
    """A parsed form: the values as entered, problems per field, and the parsed item."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    observation: Observation | None = None
    event: Event | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _time(text: str) -> Any:
    """A form time: a day number, or ISO date/datetime text left to the model to parse."""
    try:
        return float(text)
    except ValueError:
        return text


def _problems_to_fields(result: FormResult, problems: list[Problem]) -> None:
    for p in problems:
        name = p.field or "form"
        match = _INDEX.match(name)
        if match:
            name = match.group(2) or "form"
        name = name.split(".")[0]
        if name == "time":
            name = "start" if "start" in result.values else "time"
        shown = p.message if p.value is None else f"{p.message} (value {p.value!r})"
        result.add(name, shown)


def _check_with_patient(result: FormResult, record: PatientRecord) -> None:
    """Units, plausibility and times, exactly as an import checks them."""
    try:
        course_from_record(record, source="form")
    except InputError as exc:
        _problems_to_fields(result, exc.problems)


def parse_lab(form: Mapping[str, str], facts: PatientFacts) -> FormResult:
    """One observation from the lab form (time, analyte, value, unit, optional LLN/ULN)."""
    values = {k: str(form.get(k, "")).strip() for k in ("time", "analyte", "value", "unit")}
    result = FormResult(values)
    for name, text in values.items():
        if not text:
            result.add(name, "required")
    if not result.ok:
        return result
    data: dict[str, Any] = {
        "time": _time(values["time"]),
        "analyte": values["analyte"],
        "value": values["value"],
        "unit": values["unit"],
    }
    try:
        observation = Observation.model_validate(data)
    except ValidationError as exc:
        _problems_to_fields(result, from_validation_error(exc, "form"))
        return result
    _check_with_patient(result, PatientRecord(patient=facts, observations=[observation]))
    if result.ok:
        result.observation = observation
    return result


def parse_event(form: Mapping[str, str], facts: PatientFacts) -> FormResult:
    """One event from the event form: the kind decides which fields are read."""
    names = ("kind", "start", *sorted({f for fs in EVENT_FORM_KINDS.values() for f in fs}))
    values = {k: str(form.get(k, "")).strip() for k in names}
    result = FormResult(values)
    kind = values["kind"]
    if kind not in EVENT_FORM_KINDS:
        result.add("kind", "choose the kind of event")
        return result
    if not values["start"]:
        result.add("start", "required")
        return result
    data: dict[str, Any] = {"kind": kind, "start": _time(values["start"])}
    for name in EVENT_FORM_KINDS[kind]:
        text = values.get(name, "")
        if not text:
            continue
        data[name] = _time(text) if name == "end" else text
    try:
        event = _EVENT.validate_python(data)
    except ValidationError as exc:
        _problems_to_fields(result, from_validation_error(exc, "form"))
        return result
    _check_with_patient(result, PatientRecord(patient=facts, events=[event]))
    if result.ok:
        result.event = event
    return result
