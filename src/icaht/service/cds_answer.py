"""The cards of one ``patient-view`` call's data (``service.cds_hooks``): the resources that are
valid FHIR R4 (each one left out is a caveat), validated once per process
(``io.fhir.resource_cache``), mapped to a record, assessed as of today and made into the
worklist's cards; and the key under which the answer is cached."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.errors import InputError
from icaht.io.fhir.cards import worklist_cards
from icaht.io.fhir.options import site_today
from icaht.io.fhir.reader import bundle_records, validate_resource
from icaht.io.fhir.resource_cache import ResourceCache, resource_digest
from icaht.knowledge.profile import Profile
from icaht.service.cds_requests import HookRequest
from icaht.service.prefetch import Fetched

#: Validated prefetch resources, shared by the calls of this process (the resources of a
#: patient recur from one chart opening to the next).
RESOURCES = ResourceCache()


def resource_digests(resources: list[dict[str, Any]]) -> list[bytes]:
    """Each resource's digest (``resource_cache``); 400 for a resource nested too deeply to be
    written as JSON (hundreds of levels: no FHIR resource nests so)."""
    try:
        return [resource_digest(r) for r in resources]
    except (ValueError, RecursionError):
        raise HTTPException(400, "a prefetch resource is nested too deeply") from None


def check_patient(call: HookRequest, resources: list[dict[str, Any]]) -> None:
    """412 unless every Patient of the prefetch is the context's patient (so nothing is
    assessed, shown or audited for another patient)."""
    for resource in resources:
        if resource.get("resourceType") == "Patient" and resource.get("id") != (
            call.context.patientId
        ):
            raise HTTPException(
                412, "the prefetched Patient's id is not context.patientId; nothing was assessed"
            )


def _left_out(raw: dict[str, Any], fields: list[str], quote: bool) -> str:
    """The caveat of a resource left out as not valid FHIR R4: its type, its id when ``quote``
    (what the client sent; nothing a FHIR server answered is quoted) and the element paths."""
    kind = str(raw.get("resourceType"))
    rid = raw.get("id")
    label = f"{kind}/{rid}" if quote and isinstance(rid, str) and rid else f"one {kind}"
    shown = ", ".join(sorted(set(fields))[:3]) or "resource level"
    return f"{label} left out: not valid FHIR R4 at {shown}"


def valid_resources(
    found: Fetched, digests: list[bytes]
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The resources that are valid FHIR R4 (validated into the per-process cache, where the
    import takes them from), with their digests; each one left out is a caveat."""
    kept: list[dict[str, Any]] = []
    kept_digests: list[bytes] = []
    for index, (raw, digest) in enumerate(zip(found.resources, digests, strict=True)):
        result = validate_resource(raw, "prefetch", None, "", RESOURCES, digest)
        if isinstance(result, list):
            fields = [p.field for p in result if p.field]
            found.caveats.append(_left_out(raw, fields, quote=index < found.from_client))
            continue
        kept.append(raw)
        kept_digests.append(digest)
    return kept, kept_digests


@dataclass(frozen=True, slots=True)
class Answer:
    """The cards for one patient's data, and what the audit records of them."""

    cards: list[dict[str, Any]]
    as_of_day: int
    profile: tuple[str, str]
    icaht_version: str
    rule_ids: list[str]
    mapped: int
    unmapped: int


def patient_answer(
    call: HookRequest,
    resources: list[Any],
    digests: list[bytes],
    profile: Profile,
    link: tuple[str, str] | None = None,
    from_server: bool = False,
) -> Answer:
    """Map the patient's resources, assess them as of today and make the cards (a record that
    cannot be made is 412 when data were read from the FHIR server, naming elements only)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
    source = f"CDS Hooks prefetch ({call.hookInstance})"
    try:
        records, report = bundle_records(bundle, source, cache=RESOURCES, digests=digests)
    except InputError as exc:
        if from_server:  # what the FHIR server answered is not quoted back: elements only
            fields = sorted({p.field for p in exc.problems if p.field})[:5]
            raise HTTPException(
                412,
                f"{len(exc.problems)} problem(s) in the resources read from the FHIR server, "
                f"at {', '.join(fields) or 'resource level'}",
            ) from None
        raise HTTPException(
            422,
            "; ".join(p.message + (f" ({p.field})" if p.field else "") for p in exc.problems[:5]),
        ) from None
    if len(records) != 1:
        raise HTTPException(412, f"the prefetch holds {len(records)} patients, expected one")
    course = course_from_record(records[0], source=source)
    infusion = course.facts.infusion_date
    a = assess(course, site_today() if infusion is not None else None, profile)
    return Answer(
        worklist_cards(
            a,
            f"Patient/{call.context.patientId}",
            infused=infusion is not None or course.facts.product is not None,
            link=link,
        ),
        a.as_of_day,
        (a.profile_name, a.profile_version),
        a.icaht_version,
        [r.rule_id for r in a.recommendations],
        sum(report.mapped.values()),
        sum(report.unmapped.values()),
    )


def answer_key(
    call: HookRequest, found: Fetched, digests: list[bytes], profile: Profile
) -> tuple[str, ...] | None:
    """A cache key for a call whose data all came in the prefetch: the digest of its valid
    resources (in order), the patient, today's date and the profile. None when data were read
    from the FHIR server."""
    if found.from_server:
        return None
    digest = hashlib.sha256(b"".join(digests)).hexdigest()
    today = site_today().isoformat()
    return (digest, call.context.patientId, today, profile.name, profile.version)
