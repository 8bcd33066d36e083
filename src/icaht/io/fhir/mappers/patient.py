"""The Patient and the record it is assembled into: facts from the Patient resource and its
icaht extensions, day 0, weight, age, prior HCT and lymphodepletion start from the mapped
resources (:mod:`.memo`), and the validated :class:`~icaht.core.record.PatientRecord`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from icaht.core import record
from icaht.core.observation import Observation as RecordObservation
from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.fhir import codes
from icaht.io.fhir.differential import derive_counts
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import Collected, FHIRMoment, Referenced
from icaht.io.fhir.mappers.datatypes import certainty, day, ext_value, extension, moment
from icaht.io.fhir.mappers.memo import MappedResource, map_resource, timed, to_days
from icaht.io.fhir.options import ImportOptions, use_zone
from icaht.io.problems import from_validation_error
from icaht.knowledge.drugs import CAR_T_PRODUCTS
from icaht.lru import LruCache

#: Anchor of exported records whose times are days relative to infusion (no infusion date):
#: day 0 is written as this date and read back as days. Project default (docs/fhir.md).
SYNTHETIC_ANCHOR = date(2000, 1, 1)
_FACT_FIELDS = frozenset(PatientFacts.model_fields) - {
    "patient_id",
    "sex",
    "weight_kg",
    "infusion_date",
    "complete_streams",
}


@dataclass(slots=True)
class PatientResources:
    """The resources of one patient, as read (before mapping), each with the digest of its JSON
    when the reader knows it (:func:`~icaht.io.fhir.resource_cache.resource_digest`)."""

    key: str
    patient: Patient | None = None
    resources: list[DomainResource] = field(default_factory=list)
    digests: list[bytes | None] = field(default_factory=list)

    def add(self, resource: DomainResource, digest: bytes | None = None) -> None:
        """One more resource of the patient."""
        self.resources.append(resource)
        self.digests.append(digest)


def patient_id(patient: Patient | None, key: str, id_system: str | None = None) -> str:
    """The record's patient_id: the identifier of ``id_system`` (else of the icaht system),
    else the Patient's id, else the id of the patient key (``Patient/<id>``)."""
    if patient is None:
        return key.rsplit("/", 1)[-1]
    for system in [s for s in (id_system, codes.PATIENT_ID_SYSTEM) if s]:
        for ident in patient.identifier or []:
            if ident.system == system and ident.value:
                return ident.value
    return patient.id or key.rsplit("/", 1)[-1]


def _patient_facts(
    patient: Patient | None, key: str, id_system: str | None
) -> tuple[dict[str, Any], bool]:
    """Facts from Patient (identifier, gender, deceased) and the icaht CAR-T extension; and
    whether the times are days on the synthetic anchor."""
    facts: dict[str, Any] = {"patient_id": patient_id(patient, key, id_system)}
    synthetic = False
    if patient is None:
        return facts, synthetic
    if patient.gender:
        facts["sex"] = patient.gender
    streams = [ext_value(e) for e in patient.extension or [] if e.url == codes.EXT_COMPLETE_STREAMS]
    if streams:
        facts["complete_streams"] = streams
    ext = extension(patient.extension, codes.EXT_CART)
    for sub in (ext.extension if ext is not None else None) or []:
        value = ext_value(sub)
        if sub.url == "synthetic-anchor":
            synthetic = bool(value)
        elif sub.url in _FACT_FIELDS:
            facts[sub.url] = value
    if patient.birthDate is not None and isinstance(patient.birthDate, date):
        facts["_birth_date"] = patient.birthDate
    return facts, synthetic


def map_patient(
    group: PatientResources,
    medications: Referenced,
    report: ImportReport,
    source: str,
    id_system: str | None = None,
    memo: LruCache[bytes, MappedResource] | None = None,
    options: ImportOptions | None = None,
) -> PatientRecord:
    """One patient's resources as a validated record (structure only; units are checked when
    the record becomes a course). Raises :class:`InputError` if the mapped record is invalid.
    With a ``memo``, a resource mapped before (the same digest) is not mapped again (the memo
    belongs to one site: its time zone and profile). ``options``: the site's time zone and
    profile settings (default :meth:`ImportOptions.for_site`)."""
    options = options or ImportOptions.for_site()
    use_zone(options.zone)
    acc = Collected()
    parts: list[MappedResource] = []
    for resource, digest in zip(group.resources, group.digests, strict=True):
        found = memo.get(digest) if memo is not None and digest is not None else None
        mapped = found or map_resource(resource, medications, options.settings)
        if found is None and memo is not None and digest is not None and mapped.reusable:
            memo.put(digest, mapped)
        mapped.add_to(acc, report, resource)
        parts.append(mapped)
    facts, synthetic = _patient_facts(group.patient, group.key, id_system)
    birth = facts.pop("_birth_date", None)
    own_events: list[dict[str, Any]] = []  # the Patient's own (death)
    if group.patient is not None:
        report.add_mapped("Patient")
        if group.patient.deceasedDateTime is not None:
            cause = extension(group.patient.extension, codes.EXT_DEATH_CAUSE)
            own_events.append(
                {
                    "kind": "death",
                    "start": moment(group.patient.deceasedDateTime, "deceased time"),
                    "cause": ext_value(cause) if cause is not None else None,
                    **certainty(group.patient, codes.EXT_DEATH_CERTAINTY),
                }
            )
        elif group.patient.deceasedBoolean:
            report.note("Patient.deceasedBoolean without a date: no death event")
    infusion = _infusion_day(acc, report)
    if acc.products and "product" not in facts:
        facts["product"] = acc.products[0]
    if acc.weights and "weight_kg" not in facts:
        before = [w for w in acc.weights if infusion is None or day(w[0]) <= infusion]
        chosen = (
            max(before, key=lambda w: day(w[0]))
            if before
            else min(acc.weights, key=lambda w: day(w[0]))
        )
        facts["weight_kg"] = round(chosen[1], 3)
    if birth is not None and infusion is not None and "age_years" not in facts:
        facts["age_years"] = round((infusion - birth).days / 365.25, 2)
    for event in acc.events:  # HCT before the infusion sets the prior-HCT facts
        if event["kind"] == "hct" and infusion is not None and day(event["start"]) < infusion:
            facts.setdefault(
                f"prior_{'auto' if event['hct_type'] == 'autologous' else 'allo'}_hct", True
            )
    ld_start = _ld_start(acc.ld_doses, infusion, options.settings.ld_window_days)
    if ld_start is not None and "ld_start" not in facts:
        report.note("lymphodepletion start from the first fludarabine/cyclophosphamide dose")
        facts["ld_start"] = ld_start
    anchor = infusion if synthetic else None
    if anchor is not None and "ld_start" in facts:
        facts["ld_start"] = to_days(facts["ld_start"], anchor)
    elif infusion is not None and not synthetic:
        facts["infusion_date"] = infusion
    observations: list[RecordObservation | dict[str, Any]] = [
        timed(lab, anchor)
        for lab in derive_counts(
            acc.differential,
            [lab for part in parts for lab in part.collected.observations],
            report,
        )
    ]
    events: list[record.Event | dict[str, Any]] = []
    for part in parts:
        # record models pay off only for a mapping kept for the next call
        models = part.models(anchor) if memo is not None and part.reusable else None
        labs: Sequence[RecordObservation | dict[str, Any]]
        happened: Sequence[record.Event | dict[str, Any]]
        if models is None:
            labs = [timed(o, anchor) for o in part.collected.observations]
            happened = [timed(e, anchor) for e in part.collected.events]
        else:
            labs, happened = models.observations, models.events
        observations += labs
        # a biopsy Procedure on a day with a structured report is the same biopsy
        from_procedure = bool(part.collected.biopsy_days)
        events += [
            event
            for event, mapped in zip(happened, part.collected.events, strict=True)
            if not (from_procedure and _reported_biopsy(mapped, acc.report_days))
        ]
    events += [timed(e, anchor) for e in own_events]
    try:
        return PatientRecord.model_validate(
            {"patient": facts, "observations": observations, "events": events}
        )
    except ValidationError as exc:
        where = f"{source} (patient {facts['patient_id']})"
        raise InputError(from_validation_error(exc, where)) from None


def _infusion_day(acc: Collected, report: ImportReport) -> date | None:
    """Day 0: the first CAR-T infusion given (Procedure, MedicationAdministration); without one,
    the first CAR-T product order (MedicationRequest), noted."""
    given = {day(m) for m in acc.infusions}
    if not given and acc.ordered:
        report.note("CAR-T infusion day from the product order (no administration recorded)")
        given = {day(m) for m in acc.ordered}
    if len(given) > 1:
        report.note("several CAR-T infusions: the first is day 0")
    return min(given, default=None)


def _ld_start(doses: list[FHIRMoment], infusion: date | None, window_days: int) -> date | None:
    """The first fludarabine/cyclophosphamide dose within ``window_days`` before the infusion
    (profile setting fhir.ld_window_days), so the CAR-HEMATOTOX baseline is pre-LD."""
    if infusion is None:
        return None
    days = [day(m) for m in doses]
    return min(
        (d for d in days if timedelta(0) < infusion - d <= timedelta(days=window_days)),
        default=None,
    )


def _reported_biopsy(event: dict[str, Any], report_days: set[date]) -> bool:
    return (
        event["kind"] == "marrow_biopsy" and len(event) == 2 and day(event["start"]) in report_days
    )


def no_infusion_problem(source: str, record: PatientRecord) -> Problem:
    """The problem of a record with dates but no CAR-T infusion to count days from."""
    return Problem(
        source,
        "no CAR-T infusion found, so days cannot be counted; looked for: a Procedure coded "
        "SNOMED CT 1156961008, CPT 0540T/38228, ICD-10-PCS XW033/XW043 CAR-T codes or the icaht "
        "code car-t-infusion (procedures.csv); a MedicationAdministration or MedicationRequest of "
        "a CAR-T product (RxNorm, ATC L01XL, or the product's name: "
        + ", ".join(sorted(CAR_T_PRODUCTS))
        + ")",
        field="Procedure",
        value=record.patient.patient_id,
    )
