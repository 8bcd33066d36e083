"""Read FHIR R4 input: a Bundle (collection, transaction, searchset), parsed with
``fhir.resources.R4B``; the validation of one resource is shared with the NDJSON reader
(:mod:`icaht.io.fhir.ndjson`).

Only the resource types icaht maps are validated (an invalid one is an error naming the resource
id and element path); other types are counted as not mapped, unvalidated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.biologicallyderivedproduct import BiologicallyDerivedProduct
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.memo import MappedResource
from icaht.io.fhir.mappers.patient import PatientResources, map_patient
from icaht.io.fhir.options import ImportOptions
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
MAX_PROBLEMS = 200  # stop collecting after this many problems (the input is clearly broken)


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


def subject_reference(resource: DomainResource) -> str | None:
    subject = getattr(resource, "subject", None)
    return getattr(subject, "reference", None) if subject is not None else None


def medication_keys(resource: DomainResource, full_url: str | None) -> list[str]:
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
            if len(problems) >= MAX_PROBLEMS:
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
            for alias in medication_keys(resource, full_url):
                medications[alias] = resource
            report.add_mapped(type(resource).__name__)
    for _, resource, digest in parsed:
        if isinstance(resource, (Patient, *REFERENCED_TYPES)):
            continue
        subject_key = patient_key(subject_reference(resource), aliases)
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
