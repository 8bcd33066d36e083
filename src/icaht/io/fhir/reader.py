"""Read FHIR R4 input: a Bundle (collection, transaction, searchset) or a bulk-data NDJSON
folder (one ``<Type>.ndjson`` file per resource type), parsed with ``fhir.resources.R4B``.

Only the resource types icaht maps are validated (an invalid one is an error naming the resource
id and element path); other types are counted as not mapped, unvalidated.

Memory (NDJSON): :func:`iter_ndjson_records` reads the folder twice. The first pass parses and
validates each line and keeps only its byte offset under its patient (about 16 bytes per
resource) plus the Medication resources (usually few); the second pass reads one patient's lines
back by offset, maps them and yields the record. At most one patient's resources are held as
objects at a time, so memory grows with the number of resources (offsets), not their size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from icaht.core.record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.detect import ndjson_files
from icaht.io.fhir.mapping import PatientResources, map_patient
from icaht.io.fhir.report import ImportReport
from icaht.io.records import read_json

#: Resource types icaht maps (validated on read).
MAPPED_TYPES: frozenset[str] = frozenset(
    {
        "Patient",
        "Observation",
        "Condition",
        "Procedure",
        "DiagnosticReport",
        "MedicationStatement",
        "MedicationAdministration",
        "MedicationRequest",
        "Medication",
    }
)
BUNDLE_TYPES: frozenset[str] = frozenset({"collection", "transaction", "searchset"})
_MAX_PROBLEMS = 200  # stop collecting after this many problems (the input is clearly broken)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def validate_resource(
    raw: object, source: str, row: int | None, prefix: str = ""
) -> DomainResource | list[Problem] | None:
    """A validated model of a mapped resource type, problems naming id and element path, or
    None for a type icaht does not map (not validated)."""
    if not isinstance(raw, dict):
        return [Problem(source, "a resource must be a JSON object", row=row, field=prefix or None)]
    kind = raw.get("resourceType")
    rid = raw.get("id")
    label = f"{kind}/{rid}" if rid else str(kind)
    if not isinstance(kind, str):
        return [Problem(source, "resource without resourceType", row=row, field=prefix or None)]
    if kind not in MAPPED_TYPES:
        return None
    model = get_fhir_model_class(kind)
    try:
        return cast("DomainResource", model.model_validate(raw))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = _dotted(tuple(err["loc"]))
            value = err.get("input")
            problems.append(
                Problem(
                    source,
                    f"invalid {label}: {err['msg']}",
                    row=row,
                    field=f"{prefix}{kind}.{path}" if path else f"{prefix}{kind}",
                    value=None if isinstance(value, dict | list) else value,
                )
            )
        return problems


def patient_key(reference: str | None, aliases: dict[str, str]) -> str | None:
    """``Patient/<id>`` for a reference (relative, absolute, urn:uuid, versioned)."""
    if not reference:
        return None
    if reference in aliases:
        return aliases[reference]
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == "Patient":
        return f"Patient/{parts[-1]}"
    return None


def _subject(resource: DomainResource) -> str | None:
    subject = getattr(resource, "subject", None)
    return getattr(subject, "reference", None) if subject is not None else None


def _medication_keys(resource: Medication, full_url: str | None) -> list[str]:
    keys = [f"Medication/{resource.id}"] if resource.id else []
    if full_url:
        keys.append(full_url)
    return keys


# --------------------------------------------------------------------------------------------
# Bundles
# --------------------------------------------------------------------------------------------


def read_bundle(
    path: Path, id_system: str | None = None
) -> tuple[list[PatientRecord], ImportReport]:
    """The patients of a Bundle file, and the import report.

    Raises :class:`InputError` for malformed JSON, a Bundle of another type, invalid resources
    (with entry index, resource id and element path) or a mapped record that is invalid.
    """
    return bundle_records(read_json(path), str(path), id_system)


def bundle_records(
    data: Any, source: str, id_system: str | None = None
) -> tuple[list[PatientRecord], ImportReport]:
    """The patients of a parsed Bundle (e.g. a CDS Hooks prefetch); errors as for
    :func:`read_bundle`, naming ``source``."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InputError([Problem(source, "not a FHIR Bundle", field="resourceType")])
    if data.get("type") not in BUNDLE_TYPES:
        raise InputError(
            [
                Problem(
                    source,
                    "Bundle type not supported; use " + ", ".join(sorted(BUNDLE_TYPES)),
                    field="Bundle.type",
                    value=data.get("type"),
                )
            ]
        )
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise InputError([Problem(source, "Bundle.entry must be a list", field="Bundle.entry")])
    report = ImportReport(source)
    problems: list[Problem] = []
    parsed: list[tuple[int, str | None, DomainResource]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(Problem(source, "entry must be an object", field=f"Bundle.entry[{i}]"))
            continue
        raw = entry.get("resource")
        if raw is None:
            continue  # e.g. a transaction DELETE
        report.resources_read += 1
        result = validate_resource(raw, source, None, prefix=f"Bundle.entry[{i}].resource.")
        if isinstance(result, list):
            problems += result
            if len(problems) >= _MAX_PROBLEMS:
                break
        elif result is None:
            kind = raw.get("resourceType") if isinstance(raw, dict) else None
            rid = raw.get("id") if isinstance(raw, dict) else None
            report.add_unmapped(str(kind), str(rid) if rid else None, "resource type not mapped")
        else:
            full_url = entry.get("fullUrl")
            parsed.append((i, full_url if isinstance(full_url, str) else None, result))
    if problems:
        raise InputError(problems)
    aliases: dict[str, str] = {}
    medications: dict[str, Medication] = {}
    groups: dict[str, PatientResources] = {}
    for _, full_url, resource in parsed:
        if isinstance(resource, Patient):
            key = (
                f"Patient/{resource.id}" if resource.id else (full_url or f"Patient/#{len(groups)}")
            )
            if full_url:
                aliases[full_url] = key
            groups.setdefault(key, PatientResources(key)).patient = resource
        elif isinstance(resource, Medication):
            for alias in _medication_keys(resource, full_url):
                medications[alias] = resource
            report.add_mapped("Medication")
    for _, _, resource in parsed:
        if isinstance(resource, Patient | Medication):
            continue
        subject_key = patient_key(_subject(resource), aliases)
        if subject_key is None:
            report.add_unmapped(
                type(resource).__name__, resource.id, "no subject reference to a Patient"
            )
            continue
        groups.setdefault(subject_key, PatientResources(subject_key)).resources.append(resource)
    records = _map_groups(list(groups.values()), medications, report, source, id_system)
    return records, report


def _map_groups(
    groups: list[PatientResources],
    medications: dict[str, Medication],
    report: ImportReport,
    source: str,
    id_system: str | None,
) -> list[PatientRecord]:
    records: list[PatientRecord] = []
    problems: list[Problem] = []
    for group in groups:
        try:
            records.append(map_patient(group, medications, report, source, id_system))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    report.patients = len(records)
    return records


# --------------------------------------------------------------------------------------------
# bulk-data NDJSON
# --------------------------------------------------------------------------------------------


def iter_ndjson_records(
    folder: Path, report: ImportReport | None = None, id_system: str | None = None
) -> Iterator[PatientRecord]:
    """The patients of a bulk-data NDJSON folder, one at a time (see the module docstring for
    the memory behaviour). Every problem in the files (malformed JSON, invalid resources, with
    file, line, id and element path) is raised before the first record is yielded; a patient
    whose mapped record is invalid raises when it is reached."""
    report = report if report is not None else ImportReport(str(folder))
    files = ndjson_files(folder)
    if not files:
        raise InputError([Problem(str(folder), "no *.ndjson files in this folder")])
    problems: list[Problem] = []
    offsets: dict[str, list[tuple[int, int]]] = {}  # patient key -> (file index, byte offset)
    patients: dict[str, tuple[int, int]] = {}
    medications: dict[str, Medication] = {}
    for f_index, path in enumerate(files):
        source = str(path)
        with path.open("rb") as handle:
            line_no = 0
            while True:
                offset = handle.tell()
                line = handle.readline()
                if not line:
                    break
                line_no += 1
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    problems.append(Problem(source, f"not valid JSON: {exc}", row=line_no))
                    continue
                report.resources_read += 1
                result = validate_resource(raw, source, line_no)
                if isinstance(result, list):
                    problems += result
                elif result is None:
                    rid = raw.get("id") if isinstance(raw, dict) else None
                    report.add_unmapped(
                        str(raw.get("resourceType")),
                        str(rid) if rid else None,
                        "resource type not mapped",
                    )
                elif isinstance(result, Medication):
                    for alias in _medication_keys(result, None):
                        medications[alias] = result
                    report.add_mapped("Medication")
                elif isinstance(result, Patient):
                    patients[f"Patient/{result.id}"] = (f_index, offset)
                else:
                    key = patient_key(_subject(result), {})
                    if key is None:
                        report.add_unmapped(
                            type(result).__name__, result.id, "no subject reference to a Patient"
                        )
                    else:
                        offsets.setdefault(key, []).append((f_index, offset))
                if len(problems) >= _MAX_PROBLEMS:
                    break
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise InputError(problems)
    keys = list(patients) + [k for k in offsets if k not in patients]
    handles = [path.open("rb") for path in files]
    try:
        for key in keys:
            group = PatientResources(key)
            if key in patients:
                group.patient = cast("Patient", _read_at(handles, files, patients[key]))
            for where in sorted(offsets.get(key, [])):
                group.resources.append(_read_at(handles, files, where))
            record = map_patient(group, medications, report, str(folder), id_system)
            report.patients += 1
            yield record
    finally:
        for handle in handles:
            handle.close()


def _read_at(handles: list[Any], files: list[Path], where: tuple[int, int]) -> DomainResource:
    f_index, offset = where
    handle = handles[f_index]
    handle.seek(offset)
    raw = json.loads(handle.readline())
    result = validate_resource(raw, str(files[f_index]), None)
    if not isinstance(result, DomainResource):  # the file changed between the two passes
        raise InputError([Problem(str(files[f_index]), "file changed while it was read")])
    return result


def read_ndjson(
    folder: Path, id_system: str | None = None
) -> tuple[list[PatientRecord], ImportReport]:
    """Every patient of an NDJSON folder (in memory), and the import report."""
    report = ImportReport(str(folder))
    records = list(iter_ndjson_records(folder, report, id_system))
    return records, report
