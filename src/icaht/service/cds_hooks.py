"""The CDS Hooks 2.0 service: discovery, ``patient-view`` and feedback (``/cds-services``).

``patient-view`` reads the patient's recent labs, medications, procedures and conditions from the
prefetch the client sends (templates in the discovery document) or, for any prefetch key that is
absent or null, from the client's FHIR server with the access token it supplies (never logged or
stored), following search paging. The resources are mapped to a PatientRecord by the FHIR
importer (``icaht.io.fhir``), assessed as of today, and every recommendation is returned as a
card (``icaht.io.fhir.cards``). Resources this process has validated before (the same
canonical JSON) are not validated again (``icaht.io.fhir.resource_cache``): a patient's data
recur from one chart opening to the next, and validation is most of the work. Calls must carry a
client JWT that verifies (``service.cds_auth``) unless the server runs in demo mode. The cards
shown and the feedback (accepted or overridden, with the reason) go to the audit log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from icaht import __version__
from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.errors import InputError
from icaht.io.fhir.cards import worklist_cards
from icaht.io.fhir.reader import bundle_records
from icaht.io.fhir.resource_cache import ResourceCache, resource_digest
from icaht.knowledge.profile import Profile
from icaht.service.auth import database_on_loop
from icaht.service.cds_auth import verify_client
from icaht.service.json_route import OrjsonRoute
from icaht.service.loop_writes import write_soon
from icaht.service.problems import PROBLEM_RESPONSES
from icaht.service.settings import profile_in_force
from icaht.service.turns import assessment_turn
from icaht.service.versioned_cache import VersionedCache
from icaht.store.audit import assessment_shown, audit

SERVICE_ID = "icaht-patient-view"
#: Project default: search pages followed per prefetch query when fetching from the FHIR server.
MAX_PAGES = 20
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "labs": "Observation?patient={{context.patientId}}&category=laboratory&_count=500",
    "vitals": "Observation?patient={{context.patientId}}&category=vital-signs&_count=200",
    "administrations": "MedicationAdministration?patient={{context.patientId}}&_count=200",
    "requests": "MedicationRequest?patient={{context.patientId}}&_count=200",
    "statements": "MedicationStatement?patient={{context.patientId}}&_count=200",
    "procedures": "Procedure?patient={{context.patientId}}&_count=200",
    "conditions": "Condition?patient={{context.patientId}}&_count=200",
    "reports": "DiagnosticReport?patient={{context.patientId}}&_count=100",
}

#: Validated prefetch resources, shared by the calls of this process (the resources of a
#: patient recur from one chart opening to the next).
RESOURCES = ResourceCache()

router = APIRouter(
    prefix="/cds-services",
    tags=["CDS Hooks"],
    responses=PROBLEM_RESPONSES,
    route_class=OrjsonRoute,
)
LoopDb = Annotated[Session, Depends(database_on_loop)]


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")
    access_token: str
    token_type: str = "Bearer"
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class PatientViewContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    userId: str  # noqa: N815 (CDS Hooks field name)
    patientId: str = Field(min_length=1, max_length=128, pattern="^[^\\x00]+$")  # noqa: N815
    encounterId: str | None = None  # noqa: N815


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 call of the ``patient-view`` hook."""

    model_config = ConfigDict(extra="allow")
    hook: Literal["patient-view"]
    hookInstance: str  # noqa: N815
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: dict[str, Any] | None = None
    userComment: str | None = None  # noqa: N815


class Feedback(BaseModel):
    model_config = ConfigDict(extra="allow")
    card: str
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] = []  # noqa: N815
    overrideReason: OverrideReason | None = None  # noqa: N815
    outcomeTimestamp: str  # noqa: N815


class FeedbackRequest(BaseModel):
    feedback: list[Feedback] = Field(min_length=1)


@router.get("")
def discovery() -> dict[str, Any]:
    """The services this server offers, with their prefetch templates."""
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": SERVICE_ID,
                "title": "icaht: cytopenias after CAR T-cell therapy",
                "description": (
                    "Grades of hematotoxicity after CAR T-cell therapy (CTCAE, ICAHT, T-ICAHT) "
                    "and evidence-cited recommendations with their triggering facts. Decision "
                    f"support only, not a medical device. icaht {__version__}."
                ),
                "prefetch": PREFETCH,
                "usageRequirements": "The patient's CAR T-cell infusion must be recorded "
                "(Procedure) for phase and grades.",
            }
        ]
    }


def _query(template: str, patient_id: str) -> str:
    return template.replace("{{context.patientId}}", patient_id)


def _fetch(server: str, query: str, auth: FhirAuthorization | None) -> list[dict[str, Any]]:
    """The resources of one prefetch query, read from the FHIR server (search pages followed)."""
    headers = {"Accept": "application/fhir+json"}
    if auth is not None:
        headers["Authorization"] = f"Bearer {auth.access_token}"
    url: str | None = f"{server.rstrip('/')}/{query}"
    found: list[dict[str, Any]] = []
    with httpx.Client(timeout=20, headers=headers) as client:
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = client.get(url)
            if response.status_code == 404 and not query.count("?"):
                return found
            if response.status_code != 200:
                kind = query.split("?", maxsplit=1)[0]
                raise HTTPException(
                    412, f"the FHIR server answered {response.status_code} for {kind}"
                )
            body = response.json()
            if body.get("resourceType") == "Bundle":
                found += [e["resource"] for e in body.get("entry") or [] if "resource" in e]
                url = next(
                    (
                        link["url"]
                        for link in body.get("link") or []
                        if link.get("relation") == "next"
                    ),
                    None,
                )
            else:
                found.append(body)
                url = None
    return found


def _incomplete(call: HookRequest) -> bool:
    """Whether a key of the prefetch templates is absent or null in the call's prefetch."""
    prefetch = call.prefetch or {}
    return any(prefetch.get(key) is None for key in PREFETCH)


def _fetches(call: HookRequest) -> bool:
    """Whether :func:`_resources` reads from the FHIR server."""
    return call.fhirServer is not None and _incomplete(call)


def _resources(call: HookRequest) -> list[dict[str, Any]]:
    """Every resource of the prefetch, fetching the keys the client did not prefetch."""
    prefetch = call.prefetch or {}
    resources: list[dict[str, Any]] = []
    for key, template in PREFETCH.items():
        value = prefetch.get(key)
        if value is None:
            if call.fhirServer is None:
                continue
            resources += _fetch(
                call.fhirServer, _query(template, call.context.patientId), call.fhirAuthorization
            )
        elif isinstance(value, dict) and value.get("resourceType") == "Bundle":
            resources += [e["resource"] for e in value.get("entry") or [] if "resource" in e]
        elif isinstance(value, dict):
            resources.append(value)
    return resources


@dataclass(frozen=True, slots=True)
class _Answer:
    """The cards for one patient's data, and what the audit records of them."""

    cards: list[dict[str, Any]]
    as_of_day: int
    profile: tuple[str, str]
    icaht_version: str
    rule_ids: list[str]
    mapped: int
    unmapped: int


def _answer(
    call: HookRequest,
    resources: list[Any],
    digests: list[bytes],
    profile: Profile,
    link: tuple[str, str] | None = None,
) -> _Answer:
    """Map the patient's resources, assess them as of today and make the cards."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
    source = f"CDS Hooks prefetch ({call.hookInstance})"
    try:
        records, report = bundle_records(bundle, source, cache=RESOURCES, digests=digests)
    except InputError as exc:
        raise HTTPException(
            422,
            "; ".join(p.message + (f" ({p.field})" if p.field else "") for p in exc.problems[:5]),
        ) from None
    if len(records) != 1:
        raise HTTPException(412, f"the prefetch holds {len(records)} patients, expected one")
    course = course_from_record(records[0], source=source)
    infusion = course.facts.infusion_date
    a = assess(course, date.today() if infusion is not None else None, profile)
    return _Answer(
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


def _answer_key(
    call: HookRequest, digests: list[bytes], profile: Profile
) -> tuple[str, ...] | None:
    """A cache key for a call whose prefetch is complete (nothing to fetch): the digest of its
    resources (in order), the patient, today's date and the profile. None when data must be
    fetched."""
    if _incomplete(call):
        return None
    digest = hashlib.sha256(b"".join(digests)).hexdigest()
    today = date.today().isoformat()
    return (digest, call.context.patientId, today, profile.name, profile.version)


def dashboard_link(request: Request) -> tuple[str, str] | None:
    """The summary card's link: the SMART launch when SMART is configured, else the dashboard
    page (absolute); None without a public URL."""
    settings = request.app.state.settings
    if not settings.public_url:
        return None
    base = settings.public_url.rstrip("/")
    if settings.smart_client_id:
        return f"{base}/smart/launch", "smart"
    return f"{base}/patients", "absolute"


@router.post(f"/{SERVICE_ID}")
async def patient_view(call: HookRequest, request: Request, db: LoopDb) -> dict[str, Any]:
    """Cards for the patient in view: one per recommendation, most important first. The same
    complete prefetch on the same day gives the same cards, so they are cached per process.

    The call runs on the event loop, in one stretch (mapping, assessment and cards take the
    process's turn, ``service.turns``): handing it to a worker thread made the threads and the
    loop contend for the interpreter, and halved the calls a process answers under load. Only
    waits leave the loop: prefetch keys fetched from the FHIR server, a client's JWKS, and a
    write while another writer holds the database (``service.loop_writes``)."""
    client = await verify_client(request, db)
    profile = profile_in_force(request)
    if _fetches(call):
        resources = await run_in_threadpool(_resources, call)
    else:
        resources = _resources(call)
    with assessment_turn:
        digests = [resource_digest(r) for r in resources]
        key = _answer_key(call, digests, profile)
        cache: VersionedCache[_Answer] = request.app.state.assessments
        answer = None if key is None else cache.get(("cds", *key))
        if answer is None:
            answer = _answer(call, resources, digests, profile, dashboard_link(request))
            if key is not None:
                cache.put(("cds", *key), answer)
    await write_soon(db, lambda: _record_shown(db, request, call, client, answer))
    return {"cards": answer.cards}


def _record_shown(
    db: Session, request: Request, call: HookRequest, client: str, answer: _Answer
) -> None:
    """The audit of a call: what was assessed and which cards were shown."""
    actor = f"{client} / {call.context.userId}"
    assessment_shown(
        db,
        actor=actor,
        patient_key=call.context.patientId,
        as_of_day=answer.as_of_day,
        profile=answer.profile,
        icaht_version=answer.icaht_version,
        rule_ids=answer.rule_ids,
    )
    audit(
        db,
        actor=actor,
        action="cds-patient-view",
        patient_key=call.context.patientId,
        remote=request.client.host if request.client else None,
        detail={
            "hookInstance": call.hookInstance,
            "cards": {c["uuid"]: c["source"]["topic"]["code"] for c in answer.cards},
            "resources_mapped": answer.mapped,
            "resources_unmapped": answer.unmapped,
        },
    )
    db.commit()


@router.post(f"/{SERVICE_ID}/feedback")
async def feedback(body: FeedbackRequest, request: Request, db: LoopDb) -> dict[str, Any]:
    """Record what the clinician did with each card (accepted, or overridden and why)."""
    client = await verify_client(request, db)
    await write_soon(db, lambda: _record_feedback(db, request, body, client))
    return {}


def _record_feedback(db: Session, request: Request, body: FeedbackRequest, client: str) -> None:
    """The audit of each card's outcome."""
    for item in body.feedback:
        detail: dict[str, Any] = {
            "card": item.card,
            "outcome": item.outcome,
            "accepted_suggestions": [s.get("id") for s in item.acceptedSuggestions],
            "at": item.outcomeTimestamp,
        }
        if item.overrideReason is not None:
            detail["override_reason"] = item.overrideReason.reason
            detail["user_comment"] = item.overrideReason.userComment
        audit(
            db,
            actor=client,
            action="cds-feedback",
            remote=request.client.host if request.client else None,
            detail=detail,
        )
    db.commit()
