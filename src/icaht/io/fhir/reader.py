"""Read FHIR R4 input: a Bundle (collection, transaction, searchset) or a bulk-data NDJSON
folder (one ``<Type>.ndjson`` file per resource type), parsed with ``fhir.resources.R4B``.

Only the resource types icaht maps are validated (an invalid one is an error naming the resource
id and element path); other types are counted as not mapped, unvalidated.

Memory (NDJSON): the readers of a folder read it twice. The first pass parses and validates each
line and keeps only its byte offset under its patient (about 16 bytes per resource) plus the
Medication resources (usually few); the second pass reads one patient's lines back by offset,
maps them and yields the record. At most one patient's resources are held as objects at a time,
so memory grows with the number of resources (offsets), not their size.

Problems (NDJSON): :func:`iter_ndjson_records` (``icaht fhir import``, database import) is all
or nothing: any problem raises before the first record. :func:`iter_ndjson_patients` (a cohort
run) rejects only the patient a problem belongs to: an invalid resource belongs to the patient it
is about (a Patient's own id, else its ``subject``), a mapping problem to its patient; malformed
lines and invalid resources of no known patient are reported apart, never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.biologicallyderivedproduct import BiologicallyDerivedProduct
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.detect import ndjson_files
from icaht.io.fhir.mapping import MappedResource, PatientResources, map_patient, patient_id
from icaht.io.fhir.options import ImportOptions
from icaht.io.fhir.report import ImportReport
from icaht.io.fhir.resource_cache import ResourceCache, resource_digest
from icaht.io.records import read_json
from icaht.lru import LruCache

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
        "BiologicallyDerivedProduct",
    }
)
#: Types other resources refer to (kept by reference, not grouped by patient).
REFERENCED_TYPES: tuple[type, ...] = (Medication, BiologicallyDerivedProduct)
BUNDLE_TYPES: frozenset[str] = frozenset({"collection", "transaction", "searchset"})
_MAX_PROBLEMS = 200  # stop collecting after this many problems (the input is clearly broken)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def validate_resource(
    raw: object,
    source: str,
    row: int | None,
    prefix: str = "",
    cache: ResourceCache | None = None,
    digest: bytes | None = None,
) -> DomainResource | list[Problem] | None:
    """A validated model of a mapped resource type, problems naming id and element path, or
    None for a type icaht does not map (not validated). With a ``cache``, a resource validated
    before (the same canonical JSON; ``digest`` when the caller has it) is not validated
    again."""
    if not isinstance(raw, dict):
        return [Problem(source, "a resource must be a JSON object", row=row, field=prefix or None)]
    kind = raw.get("resourceType")
    rid = raw.get("id")
    label = f"{kind}/{rid}" if rid else str(kind)
    if not isinstance(kind, str):
        return [Problem(source, "resource without resourceType", row=row, field=prefix or None)]
    if kind not in MAPPED_TYPES:
        return None
    if cache is not None:
        digest = digest or resource_digest(raw)
        found = cache.get(digest)
        if found is not None:
            return found
    model = get_fhir_model_class(kind)
    try:
        resource = cast("DomainResource", model.model_validate(raw))
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
    if cache is not None and digest is not None:
        cache.put(digest, resource)
    return resource


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


def _medication_keys(resource: DomainResource, full_url: str | None) -> list[str]:
    keys = [f"{type(resource).__name__}/{resource.id}"] if resource.id else []
    if full_url:
        keys.append(full_url)
    return keys


# --------------------------------------------------------------------------------------------
# Bundles
# --------------------------------------------------------------------------------------------


def read_bundle(
    path: Path, id_system: str | None = None, options: ImportOptions | None = None
) -> tuple[list[PatientRecord], ImportReport]:
    """The patients of a Bundle file, and the import report.

    Raises :class:`InputError` for malformed JSON, a Bundle of another type, invalid resources
    (with entry index, resource id and element path) or a mapped record that is invalid.
    """
    return bundle_records(read_json(path), str(path), id_system, options=options)


def bundle_records(
    data: Any,
    source: str,
    id_system: str | None = None,
    cache: ResourceCache | None = None,
    digests: Sequence[bytes] | None = None,
    options: ImportOptions | None = None,
) -> tuple[list[PatientRecord], ImportReport]:
    """The patients of a parsed Bundle (e.g. a CDS Hooks prefetch); errors as for
    :func:`read_bundle`, naming ``source``. With a ``cache``, resources validated before are
    taken from it (see :mod:`icaht.io.fhir.resource_cache`); ``digests`` are the
    :func:`~icaht.io.fhir.resource_cache.resource_digest` of each entry's resource, in entry
    order, when the caller computed them already. The cache also keeps how each resource mapped,
    so a resource seen before is neither validated nor mapped again."""
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
    parsed: list[tuple[str | None, DomainResource, bytes | None]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(Problem(source, "entry must be an object", field=f"Bundle.entry[{i}]"))
            continue
        raw = entry.get("resource")
        if raw is None:
            continue  # e.g. a transaction DELETE
        report.resources_read += 1
        digest = None
        if cache is not None:
            digest = digests[i] if digests is not None else resource_digest(raw)
        result = validate_resource(raw, source, None, f"Bundle.entry[{i}].resource.", cache, digest)
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
            parsed.append((full_url if isinstance(full_url, str) else None, result, digest))
    if problems:
        raise InputError(problems)
    aliases: dict[str, str] = {}
    medications: dict[str, DomainResource] = {}
    groups: dict[str, PatientResources] = {}
    for full_url, resource, _ in parsed:
        if isinstance(resource, Patient):
            key = (
                f"Patient/{resource.id}" if resource.id else (full_url or f"Patient/#{len(groups)}")
            )
            if full_url:
                aliases[full_url] = key
            groups.setdefault(key, PatientResources(key)).patient = resource
        elif isinstance(resource, REFERENCED_TYPES):
            for alias in _medication_keys(resource, full_url):
                medications[alias] = resource
            report.add_mapped(type(resource).__name__)
    for _, resource, digest in parsed:
        if isinstance(resource, (Patient, *REFERENCED_TYPES)):
            continue
        subject_key = patient_key(_subject(resource), aliases)
        if subject_key is None:
            report.add_unmapped(
                type(resource).__name__, resource.id, "no subject reference to a Patient"
            )
            continue
        groups.setdefault(subject_key, PatientResources(subject_key)).add(resource, digest)
    memo = cache.mapped if cache is not None else None
    records = _map_groups(
        list(groups.values()), medications, report, source, id_system, memo, options
    )
    return records, report


def _map_groups(
    groups: list[PatientResources],
    medications: dict[str, DomainResource],
    report: ImportReport,
    source: str,
    id_system: str | None,
    memo: LruCache[bytes, MappedResource] | None,
    options: ImportOptions | None,
) -> list[PatientRecord]:
    records: list[PatientRecord] = []
    problems: list[Problem] = []
    options = options or ImportOptions.for_site()
    for group in groups:
        try:
            records.append(
                map_patient(group, medications, report, source, id_system, memo, options)
            )
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    report.patients = len(records)
    return records


# --------------------------------------------------------------------------------------------
# bulk-data NDJSON
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RejectedPatient:
    """A patient of an NDJSON folder that cannot be read, with every problem found: its invalid
    resources (file, line, element path), or why its mapped record is invalid. ``patient_id``
    None holds the problems that belong to no patient: malformed JSON lines, and invalid
    resources whose patient cannot be told (no ``subject`` reference to a Patient)."""

    patient_id: str | None
    problems: list[Problem]


@dataclass(slots=True)
class _Scan:
    """The first pass over an NDJSON folder: where each patient's lines are, the Medication
    resources, and the problems found, each under its patient key (None: no patient)."""

    files: list[Path]
    patients: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (file, offset)
    offsets: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    medications: dict[str, DomainResource] = field(default_factory=dict)
    problems: list[tuple[str | None, Problem]] = field(default_factory=list)

    def patient_keys(self) -> list[str]:
        """Every patient key: those with a Patient line first, in file order."""
        keys = dict.fromkeys(self.patients)
        keys |= dict.fromkeys(self.offsets)
        keys |= dict.fromkeys(k for k, _ in self.problems if k is not None)
        return list(keys)


def _raw_patient_key(raw: object) -> str | None:
    """The patient key of an unvalidated resource: its own for a Patient, else its subject."""
    if not isinstance(raw, dict):
        return None
    if raw.get("resourceType") == "Patient":
        rid = raw.get("id")
        return f"Patient/{rid}" if isinstance(rid, str) and rid else None
    subject = raw.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    return patient_key(reference, {}) if isinstance(reference, str) else None


def _scan(folder: Path, report: ImportReport, max_problems: int | None) -> _Scan:
    """Read, parse and validate every line, keeping offsets (see the module docstring); stop
    collecting problems after ``max_problems`` (None: never)."""
    files = ndjson_files(folder)
    if not files:
        raise InputError([Problem(str(folder), "no *.ndjson files in this folder")])
    scan = _Scan(files)
    for f_index, path in enumerate(files):
        source = str(path)
        with path.open("rb") as handle:
            line_no = 0
            while max_problems is None or len(scan.problems) < max_problems:
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
                    problem = Problem(source, f"not valid JSON: {exc}", row=line_no)
                    scan.problems.append((None, problem))
                    continue
                report.resources_read += 1
                result = validate_resource(raw, source, line_no)
                if isinstance(result, list):
                    key = _raw_patient_key(raw)
                    scan.problems += [(key, problem) for problem in result]
                elif result is None:
                    rid = raw.get("id") if isinstance(raw, dict) else None
                    report.add_unmapped(
                        str(raw.get("resourceType")),
                        str(rid) if rid else None,
                        "resource type not mapped",
                    )
                elif isinstance(result, REFERENCED_TYPES):
                    for alias in _medication_keys(result, None):
                        scan.medications[alias] = result
                    report.add_mapped(type(result).__name__)
                elif isinstance(result, Patient):
                    scan.patients[f"Patient/{result.id}"] = (f_index, offset)
                else:
                    key = patient_key(_subject(result), {})
                    if key is None:
                        report.add_unmapped(
                            type(result).__name__, result.id, "no subject reference to a Patient"
                        )
                    else:
                        scan.offsets.setdefault(key, []).append((f_index, offset))
    return scan


class _Lines:
    """The folder's files open for reading one patient's lines back by offset."""

    def __init__(self, files: list[Path]) -> None:
        self._files = files
        self._handles: list[BinaryIO] = []

    def __enter__(self) -> _Lines:
        self._handles = [path.open("rb") for path in self._files]
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self._handles:
            handle.close()

    def resource(self, where: tuple[int, int]) -> DomainResource:
        f_index, offset = where
        handle = self._handles[f_index]
        handle.seek(offset)
        raw = json.loads(handle.readline())
        result = validate_resource(raw, str(self._files[f_index]), None)
        if not isinstance(result, DomainResource):  # the file changed between the two passes
            raise InputError([Problem(str(self._files[f_index]), "file changed while it was read")])
        return result

    def patient(self, scan: _Scan, key: str) -> PatientResources:
        group = PatientResources(key)
        if key in scan.patients:
            group.patient = cast("Patient", self.resource(scan.patients[key]))
        for where in sorted(scan.offsets.get(key, [])):
            group.add(self.resource(where))
        return group


def iter_ndjson_records(
    folder: Path,
    report: ImportReport | None = None,
    id_system: str | None = None,
    options: ImportOptions | None = None,
) -> Iterator[PatientRecord]:
    """The patients of a bulk-data NDJSON folder, one at a time (see the module docstring for
    the memory behaviour), all or nothing: every problem in the files (malformed JSON, invalid
    resources, with file, line, id and element path) is raised before the first record is
    yielded; a patient whose mapped record is invalid raises when it is reached."""
    report = report if report is not None else ImportReport(str(folder))
    scan = _scan(folder, report, _MAX_PROBLEMS)
    if scan.problems:
        raise InputError([problem for _, problem in scan.problems])
    with _Lines(scan.files) as lines:
        for key in scan.patient_keys():
            group = lines.patient(scan, key)
            record = map_patient(
                group, scan.medications, report, str(folder), id_system, options=options
            )
            report.patients += 1
            yield record


def iter_ndjson_patients(
    folder: Path,
    report: ImportReport | None = None,
    id_system: str | None = None,
    options: ImportOptions | None = None,
) -> Iterator[PatientRecord | RejectedPatient]:
    """The patients of a bulk-data NDJSON folder, one at a time, each a record or a
    :class:`RejectedPatient` (a cohort run assesses the others): a patient with an invalid
    resource is rejected with every such problem, unmapped; one whose mapped record is invalid
    with the record's problems. The problems of no patient come first (one
    :class:`RejectedPatient` with ``patient_id`` None). Only a folder without NDJSON files, or a
    file changed while read, raises :class:`InputError`."""
    report = report if report is not None else ImportReport(str(folder))
    scan = _scan(folder, report, None)
    found: dict[str | None, list[Problem]] = {}
    for key, problem in scan.problems:
        found.setdefault(key, []).append(problem)
    if None in found:
        yield RejectedPatient(None, found[None])
    with _Lines(scan.files) as lines:
        for key in scan.patient_keys():
            if key in found:
                where = scan.patients.get(key)
                patient = cast("Patient", lines.resource(where)) if where else None
                yield RejectedPatient(patient_id(patient, key, id_system), found[key])
                continue
            group = lines.patient(scan, key)
            try:
                record = map_patient(
                    group, scan.medications, report, str(folder), id_system, options=options
                )
            except InputError as exc:
                yield RejectedPatient(patient_id(group.patient, key, id_system), exc.problems)
                continue
            report.patients += 1
            yield record


def read_ndjson(
    folder: Path, id_system: str | None = None, options: ImportOptions | None = None
) -> tuple[list[PatientRecord], ImportReport]:
    """Every patient of an NDJSON folder (in memory), and the import report."""
    report = ImportReport(str(folder))
    records = list(iter_ndjson_records(folder, report, id_system, options))
    return records, report
