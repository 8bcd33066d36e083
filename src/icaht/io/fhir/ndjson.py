"""Read a FHIR bulk-data NDJSON folder (one ``<Type>.ndjson`` file per resource type).

Memory: the readers of a folder read it twice. The first pass parses and validates each
line and keeps only its byte offset under its patient (about 16 bytes per resource) plus the
Medication resources (usually few); the second pass reads one patient's lines back by offset,
maps them and yields the record. At most one patient's resources are held as objects at a time,
so memory grows with the number of resources (offsets), not their size.

Problems: :func:`iter_ndjson_records` (``icaht fhir import``, database import) is all
or nothing: any problem raises before the first record. :func:`iter_ndjson_patients` (a cohort
run) rejects only the patient a problem belongs to: an invalid resource belongs to the patient it
is about (a Patient's own id, else its ``subject``), a mapping problem to its patient; malformed
lines and invalid resources of no known patient are reported apart, never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.patient import Patient

from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.detect import ndjson_files
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.patient import PatientResources, map_patient, patient_id
from icaht.io.fhir.options import ImportOptions
from icaht.io.fhir.reader import (
    MAX_PROBLEMS,
    REFERENCED_TYPES,
    medication_keys,
    patient_key,
    subject_reference,
    validate_resource,
)


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
                    for alias in medication_keys(result, None):
                        scan.medications[alias] = result
                    report.add_mapped(type(result).__name__)
                elif isinstance(result, Patient):
                    scan.patients[f"Patient/{result.id}"] = (f_index, offset)
                else:
                    key = patient_key(subject_reference(result), {})
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
    scan = _scan(folder, report, MAX_PROBLEMS)
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
