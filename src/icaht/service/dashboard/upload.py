"""Upload of data files with a preview and a per-row error report.

Accepted:
- a JSON PatientRecord, or a JSON list of them (creates or updates those patients);
- a JSON object ``{"observations": [...], "events": [...]}`` for the patient chosen on the form;
- a CSV of observations: columns ``day`` or ``time``, ``analyte`` or ``loinc``, ``value`` (a
  number, or a bound such as "> 10,000"), ``unit``, optional ``censored``, ``lln``/``uln`` and
  ``patient_id`` (default: the patient chosen on the form).

- a FHIR R4 Bundle (collection, transaction or searchset), mapped by ``icaht.io.fhir``; what
  could not be mapped is counted in a note.
Everything is validated before anything is written (structure, units, plausibility, times, that
the patients exist); the import is one transaction, so a file with any problem changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Event
from icaht.errors import InputError, Problem
from icaht.io.fhir.reader import bundle_records
from icaht.io.problems import from_validation_error
from icaht.store.patients import ImportChanges, add_to_patient, import_records
from icaht.store.tables import Patient
from icaht.store.validation import validate_records

#: Largest upload accepted (project default).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Rows shown in the preview table (all problems are always listed).
PREVIEW_ROWS = 200
_INDEX = re.compile(r"^(?:patient \d+\)?\s*)?(observations|events)\[(\d+)\](?:\.(.*))?$")
_CSV_COLUMNS = {
    "patient_id",
    "day",
    "time",
    "analyte",
    "loinc",
    "value",
    "censored",
    "unit",
    "lln",
    "uln",
}


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """One row of the file as read, with its problems (empty = fine)."""

    row: int
    patient: str
    what: str
    time: str
    value: str
    unit: str
    problems: tuple[str, ...] = ()


@dataclass
class UploadPreview:
    """What an upload would do: rows read, every problem, and the parsed data when clean."""

    filename: str
    kind: str
    rows: list[PreviewRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: list[PatientRecord] = field(default_factory=list)
    additions: dict[str, tuple[list[Observation], list[Event]]] = field(default_factory=dict)
    new_patients: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.records or self.additions)

    @property
    def shown_rows(self) -> list[PreviewRow]:
        """The rows with problems first, then the others, up to PREVIEW_ROWS."""
        bad = [r for r in self.rows if r.problems]
        good = [r for r in self.rows if not r.problems]
        return (bad + good)[: max(PREVIEW_ROWS, len(bad))]

    @property
    def counts(self) -> tuple[int, int]:
        observations = sum(len(r.observations) for r in self.records)
        events = sum(len(r.events) for r in self.records)
        for obs, evs in self.additions.values():
            observations += len(obs)
            events += len(evs)
        return observations, events


def _facts(db: Session, key: str) -> PatientFacts | None:
    patient = db.scalars(
        select(Patient).where(Patient.patient_key == key, Patient.deleted_at.is_(None))
    ).one_or_none()
    return None if patient is None else PatientFacts.model_validate(patient.facts)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _attach(preview: UploadPreview, problems: list[Problem], index_to_row: dict[int, int]) -> None:
    """Attach problems naming ``observations[i]`` / ``events[i]`` to their preview rows."""
    by_row: dict[int, list[str]] = {}
    for p in problems:
        row = p.row
        if row is None and p.field:
            match = _INDEX.match(p.field)
            if match:
                key = int(match.group(2)) + (0 if match.group(1) == "observations" else 10**6)
                row = index_to_row.get(key)
        if row is not None:
            shown = p.message if p.value is None else f"{p.message} (value {p.value!r})"
            if p.field:
                shown = f"{p.field.rsplit('.', 1)[-1]}: {shown}"
            by_row.setdefault(row, []).append(shown)
    preview.rows = [
        PreviewRow(r.row, r.patient, r.what, r.time, r.value, r.unit, tuple(by_row.get(r.row, ())))
        if r.row in by_row
        else r
        for r in preview.rows
    ]


def _record_rows(record: PatientRecord, start: int) -> list[PreviewRow]:
    rows = []
    key = record.patient.patient_id
    for i, obs in enumerate(record.observations):
        rows.append(
            PreviewRow(
                start + i,
                key,
                obs.analyte or obs.loinc or "",
                _text(obs.time),
                f"{obs.censored or ''}{_text(obs.value)}",
                obs.unit,
            )
        )
    offset = start + len(record.observations)
    for i, ev in enumerate(record.events):
        rows.append(PreviewRow(offset + i, key, f"event: {ev.kind}", _text(ev.start), "", ""))
    return rows


def _preview_json(
    preview: UploadPreview, data: Any, target: str | None, db: Session
) -> UploadPreview:
    source = preview.filename
    fhir = isinstance(data, dict) and "resourceType" in data
    if fhir:
        preview.kind = "FHIR Bundle"
        try:
            mapped, report = bundle_records(data, source)
        except InputError as exc:
            preview.problems += exc.problems
            return preview
        preview.notes.append(report.summary())
        data = [record.model_dump(mode="json", exclude_none=True) for record in mapped]
    if (
        isinstance(data, dict)
        and "patient" not in data
        and ("observations" in data or "events" in data)
    ):
        preview.kind = "JSON additions"
        return _preview_additions(preview, data, target, db)
    items = data if isinstance(data, list) else [data]
    if not fhir:
        preview.kind = "JSON record" if len(items) == 1 else "JSON records"
    records: list[PatientRecord] = []
    row = 1
    for n, item in enumerate(items):
        where = source if len(items) == 1 else f"{source} (patient {n + 1})"
        try:
            record = PatientRecord.model_validate(item)
        except ValidationError as exc:
            preview.problems += from_validation_error(exc, where)
            continue
        records.append(record)
        found = _record_rows(record, row)
        preview.rows += found
        try:
            validate_records([record], where)
        except InputError as exc:
            index = {i: row + i for i in range(len(record.observations))}
            index |= {
                10**6 + i: row + len(record.observations) + i for i in range(len(record.events))
            }
            _attach(preview, exc.problems, index)
            preview.problems += exc.problems
        row += len(found)
    keys = [r.patient.patient_id for r in records]
    for key in {k for k in keys if keys.count(k) > 1}:
        preview.problems.append(Problem(source, "the same patient_id twice in the file", value=key))
    if not preview.problems:
        preview.records = records
        preview.new_patients = [k for k in keys if _facts(db, k) is None]
    return preview


def _preview_additions(
    preview: UploadPreview, data: dict[str, Any], target: str | None, db: Session
) -> UploadPreview:
    source = preview.filename
    facts = _facts(db, target) if target else None
    if facts is None:
        preview.problems.append(
            Problem(source, "choose an existing patient for observations/events", value=target)
        )
        return preview
    extra = set(data) - {"observations", "events"}
    if extra:
        preview.problems.append(Problem(source, f"unexpected keys: {', '.join(sorted(extra))}"))
    try:
        record = PatientRecord.model_validate(
            {
                "patient": facts.model_dump(mode="json", exclude_none=True),
                "observations": data.get("observations", []),
                "events": data.get("events", []),
            }
        )
    except ValidationError as exc:
        preview.problems += from_validation_error(exc, source)
        return preview
    preview.rows = _record_rows(record, 1)
    try:
        validate_records([record], source)
    except InputError as exc:
        index = {i: 1 + i for i in range(len(record.observations))}
        index |= {10**6 + i: 1 + len(record.observations) + i for i in range(len(record.events))}
        _attach(preview, exc.problems, index)
        preview.problems += exc.problems
    if not preview.problems:
        preview.additions[facts.patient_id] = (list(record.observations), list(record.events))
    return preview


def _preview_csv(
    preview: UploadPreview, text: str, target: str | None, db: Session
) -> UploadPreview:
    source = preview.filename
    preview.kind = "CSV observations"
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in _CSV_COLUMNS]
    missing = [
        need
        for need, options in (
            ("day or time", ("day", "time")),
            ("analyte or loinc", ("analyte", "loinc")),
            ("value", ("value",)),
            ("unit", ("unit",)),
        )
        if not any(o in header for o in options)
    ]
    if unknown:
        preview.problems.append(Problem(source, f"unknown columns: {', '.join(unknown)}", row=1))
    if missing:
        preview.problems.append(Problem(source, f"missing columns: {', '.join(missing)}", row=1))
    if preview.problems:
        return preview
    per_patient: dict[str, list[tuple[int, Observation]]] = {}
    facts_cache: dict[str, PatientFacts | None] = {}
    for n, raw in enumerate(reader, start=2):  # row 1 is the header
        cells = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        key = cells.get("patient_id") or (target or "")
        item = {
            k: v
            for k, v in cells.items()
            if v and k in ("analyte", "loinc", "value", "censored", "unit", "lln", "uln")
        }
        when = cells.get("day") or cells.get("time") or ""
        if cells.get("day") and cells.get("time"):
            problem = Problem(source, "give day or time, not both", row=n, field="time")
            preview.problems.append(problem)
        item["time"] = when
        row = PreviewRow(
            n,
            key,
            cells.get("analyte") or cells.get("loinc") or "",
            when,
            cells.get("value", ""),
            cells.get("unit", ""),
        )
        preview.rows.append(row)
        if not key:
            preview.problems.append(
                Problem(source, "no patient_id (and no patient chosen)", row=n, field="patient_id")
            )
            continue
        if key not in facts_cache:
            facts_cache[key] = _facts(db, key)
        if facts_cache[key] is None:
            preview.problems.append(
                Problem(source, "unknown patient", row=n, field="patient_id", value=key)
            )
            continue
        try:
            obs = Observation.model_validate(item)
        except ValidationError as exc:
            preview.problems += from_validation_error(exc, source, row=n)
            continue
        per_patient.setdefault(key, []).append((n, obs))
    for key, items in per_patient.items():
        facts = facts_cache[key]
        assert facts is not None
        record = PatientRecord(patient=facts, observations=[o for _, o in items])
        try:
            validate_records([record], source)
        except InputError as exc:
            index = {i: n for i, (n, _) in enumerate(items)}
            fixed = []
            for p in exc.problems:
                match = _INDEX.match(p.field or "")
                at = index.get(int(match.group(2))) if match else None
                field_name = match.group(3) if match else p.field
                fixed.append(Problem(p.source, p.message, row=at, field=field_name, value=p.value))
            preview.problems += fixed
    by_row: dict[int, list[str]] = {}
    for p in preview.problems:
        if p.row is not None:
            shown = p.message if p.value is None else f"{p.message} (value {p.value!r})"
            by_row.setdefault(p.row, []).append(f"{p.field}: {shown}" if p.field else shown)
    preview.rows = [
        PreviewRow(r.row, r.patient, r.what, r.time, r.value, r.unit, tuple(by_row.get(r.row, ())))
        for r in preview.rows
    ]
    if not preview.rows:
        preview.problems.append(Problem(source, "no data rows"))
    if not preview.problems:
        preview.additions = {k: ([o for _, o in v], []) for k, v in per_patient.items()}
    return preview


def preview_upload(filename: str, content: bytes, target: str | None, db: Session) -> UploadPreview:
    """Read and validate an upload completely; nothing is written."""
    name = filename or "upload"
    preview = UploadPreview(filename=name, kind="unknown")
    if len(content) > MAX_UPLOAD_BYTES:
        preview.problems.append(
            Problem(name, f"file larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        )
        return preview
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        preview.problems.append(Problem(name, "not UTF-8 text"))
        return preview
    if "\x00" in text:
        preview.problems.append(Problem(name, "the file contains a NUL character"))
        return preview
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            preview.kind = "JSON"
            preview.problems.append(Problem(name, f"not valid JSON: {exc}"))
            return preview
        return _preview_json(preview, data, target, db)
    if name.lower().endswith(".csv") or "," in stripped.split("\n", 1)[0]:
        return _preview_csv(preview, text, target, db)
    preview.problems.append(Problem(name, "unknown format: upload a .json record or a .csv table"))
    return preview


def import_preview(db: Session, preview: UploadPreview, actor: str) -> ImportChanges:
    """Write a clean preview in the session's transaction (the caller commits); fact changes
    are audited as ``actor``."""
    if not preview.ok:
        raise InputError(preview.problems or [Problem(preview.filename, "nothing to import")])
    totals = ImportChanges()
    reports = []
    if preview.records:
        reports.append(import_records(db, preview.records, preview.filename, actor=actor))
    for key, (observations, events) in preview.additions.items():
        reports.append(add_to_patient(db, key, observations, events))
    for r in reports:
        totals = ImportChanges(
            totals.patients_created + r.patients_created,
            totals.patients_updated + r.patients_updated,
            totals.observations_added + r.observations_added,
            totals.observations_present + r.observations_present,
            totals.events_added + r.events_added,
            totals.events_present + r.events_present,
        )
    return totals
