"""Data entry on the patient page: one laboratory value or one clinical event, validated through
the record model and the unit tables (the same checks as an import), with the problems named per
form field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from icaht.core.course import course_from_record
from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Event, Finding
from icaht.core.units import normalise_unit_spelling
from icaht.errors import InputError, Problem
from icaht.io.problems import from_validation_error
from icaht.knowledge.analytes import ANALYTES, Analyte

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)
#: Unit spellings offered for counts (all accepted by the unit tables, docs/evidence.md 8.2).
_COUNT_CHOICES = ("10^9/L", "10^3/uL", "/uL", "cells/mm3", "K/uL", "G/L")
_INDEX = re.compile(r"^(?:observations|events)\[(\d+)\]\.?(.*)$")

#: How well the start is known and the +/- window, read for every kind (issue 15).
_CERTAINTY = ("start_known", "start_window_days")
_MARROW = (
    "cellularity",
    "cellularity_pct",
    "aplasia",
    "megakaryopoiesis",
    "erythropoiesis",
    "myelopoiesis",
    "blasts_pct",
    "malignant_infiltration",
    "mds",
    "dysplasia",
    "fibrosis",
    "hemophagocytosis",
    "cytogenetics",
    "cytogenetics_abnormal",
    "ngs_done",
    "ngs_variants",
    "donor_chimerism_pct",
    "graft_dysfunction",
    "note",
)
#: Event kinds offered in the event form, with the fields each one uses (besides start).
EVENT_FORM_KINDS: dict[str, tuple[str, ...]] = {
    kind: (*fields, *_CERTAINTY)
    for kind, fields in {
        "crs": ("end", "grade"),
        "icans": ("end", "grade"),
        "fever": ("temperature_c",),
        "infection": ("end", "severity", "site", "organism"),
        "bleeding": ("grade",),
        "transfusion": ("product", "units"),
        "medication": ("end", "drug", "dose", "dose_unit", "frequency", "route"),
        "marrow_biopsy": _MARROW,
        "stem_cell_boost": ("source",),
        "iec_hs": ("end", "diagnosis", "iec_hs_status"),
        "chip": ("gene", "vaf_pct"),
        "finding": ("finding", "present"),
        "disease_status": ("status",),
        "next_therapy": ("name",),
        "death": ("cause",),
        "last_follow_up": (),
    }.items()
}
#: Form fields named apart from their model field (two kinds share the model name ``status``).
_MODEL_NAMES = {"iec_hs_status": "status"}
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
    "iec_hs": "IEC-HS / HLH / MAS diagnosis",
    "chip": "CHIP (day it became known)",
    "finding": "Finding (DAT, haemolysis, organomegaly, ...)",
    "disease_status": "Disease status",
    "next_therapy": "Next therapy",
    "death": "Death",
    "last_follow_up": "Last follow-up",
}
_YES_NO = ("yes", "no")
_LEVELS = ("absent", "reduced", "normal", "increased")
#: Fields of the event form: name, label, fixed choices (none: free text). Which kinds use a
#: field is in EVENT_FORM_KINDS.
EVENT_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("start_known", "Start known", ("exact", "approximate", "before")),
    ("start_window_days", "Window +/- days (approximate start)", ()),
    ("end", "End (day; empty = ongoing)", ()),
    ("grade", "Grade (empty = not recorded for CRS/ICANS)", ("1", "2", "3", "4", "5")),
    ("temperature_c", "Temperature °C", ()),
    ("severity", "Severity", ("mild", "moderate", "severe", "life-threatening", "unknown")),
    ("site", "Site", ()),
    ("organism", "Organism", ()),
    ("product", "Product", ("rbc", "platelets", "plasma", "cryoprecipitate", "granulocytes")),
    ("units", "Units", ()),
    ("drug", "Drug (ingredient)", ()),
    ("dose", "Dose", ()),
    ("dose_unit", "Dose unit", ("mg", "ug", "ug/kg", "mg/kg", "mg/m2", "IU", "IU/kg")),
    ("frequency", "Frequency", ("once", "daily", "twice daily", "weekly")),
    ("route", "Route", ("oral", "iv", "sc")),
    ("cellularity", "Cellularity", ("hypocellular", "normocellular", "hypercellular")),
    ("cellularity_pct", "Cellularity %", ()),
    ("aplasia", "Complete aplasia", _YES_NO),
    ("megakaryopoiesis", "Megakaryopoiesis", _LEVELS),
    ("erythropoiesis", "Erythropoiesis", _LEVELS),
    ("myelopoiesis", "Myelopoiesis", _LEVELS),
    ("blasts_pct", "Blasts %", ()),
    ("malignant_infiltration", "Malignant infiltration", _YES_NO),
    ("mds", "MDS / therapy-related myeloid neoplasm", _YES_NO),
    ("dysplasia", "Dysplasia", _YES_NO),
    ("fibrosis", "Fibrosis", _YES_NO),
    ("hemophagocytosis", "Haemophagocytosis", _YES_NO),
    ("cytogenetics", "Karyotype", ()),
    ("cytogenetics_abnormal", "Karyotype abnormal", _YES_NO),
    ("ngs_done", "Myeloid NGS done", _YES_NO),
    ("ngs_variants", "NGS variants (GENE:VAF%; ...)", ()),
    ("donor_chimerism_pct", "Donor chimerism %", ()),
    ("graft_dysfunction", "Donor graft dysfunction", _YES_NO),
    ("note", "Note", ()),
    ("source", "Source", ("autologous", "donor")),
    ("diagnosis", "Diagnosis", ("iec_hs", "hlh", "mas")),
    ("iec_hs_status", "Status", ("suspected", "confirmed", "excluded", "resolved")),
    ("gene", "Gene (HGNC symbol)", ()),
    ("vaf_pct", "VAF %", ()),
    ("finding", "Finding", get_args(Finding.model_fields["finding"].annotation)),
    ("present", "Present", _YES_NO),
    ("status", "Status", ("cr", "pr", "sd", "pd", "relapse", "mrd_negative", "unknown")),
    ("name", "Therapy", ()),
    ("cause", "Cause", ()),
)


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
        data[_MODEL_NAMES.get(name, name)] = _time(text) if name == "end" else text
    try:
        event = _EVENT.validate_python(data)
    except ValidationError as exc:
        _problems_to_fields(result, from_validation_error(exc, "form"))
    else:
        _check_with_patient(result, PatientRecord(patient=facts, events=[event]))
        if result.ok:
            result.event = event
    for form_name, model_name in _MODEL_NAMES.items():  # errors go to the field shown
        if form_name in EVENT_FORM_KINDS[kind] and model_name in result.errors:
            result.errors[form_name] = result.errors.pop(model_name)
    return result
