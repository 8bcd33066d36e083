"""The CDS Hooks 2.0 service: discovery, ``patient-view`` and feedback (``/cds-services``).

``patient-view`` reads the patient's recent labs, medications (with the Medications they
reference), procedures and conditions from the prefetch the client sends (templates in the
discovery document) or, for any prefetch key that is absent (or holds an OperationOutcome: the
client could not prefetch it), from the client's FHIR server with the access token it supplies
(never logged or stored), following search paging on that server only (``service.prefetch``: the
server must be one of the client's FHIR bases). A key whose value is ``null`` means the client
has no such data: nothing is fetched for it (CDS Hooks 2.0). The prefetched Patient must be the
context's patient. A resource that is not valid FHIR R4 (an empty string, an element of another
FHIR version) is left out, not the call. Whatever the data lack (pages not read, searches the
server does not support, OperationOutcomes, resources left out) is said on the summary card.
The resources are mapped to a PatientRecord by the FHIR importer (``icaht.io.fhir``), assessed
as of today, and the worklist's cards returned (``icaht.io.fhir.cards``; the whole answer:
``service.cds_answer``; the call bodies' models: ``service.cds_requests``). Resources this
process has validated before (the same canonical JSON) are not validated again
(``icaht.io.fhir.resource_cache``): a patient's data recur from one chart opening to the next,
and validation is most of the work. Calls must carry a client JWT that verifies
(``service.cds_auth``) unless the server runs in demo mode. The cards shown and the feedback
(accepted or overridden, with the reason) go to the audit log.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from icaht import NOT_A_MEDICAL_DEVICE, __version__
from icaht.io.fhir.pull import medication_references
from icaht.io.fhir.server import is_outcome
from icaht.service.auth import database_on_loop
from icaht.service.cds_answer import (
    Answer,
    answer_key,
    check_patient,
    patient_answer,
    resource_digests,
    valid_resources,
)
from icaht.service.cds_auth import DEMO_CLIENT, verify_client
from icaht.service.cds_requests import FeedbackRequest, HookRequest
from icaht.service.collection_pause import PausedCollectionRoute
from icaht.service.loop_writes import write_soon
from icaht.service.prefetch import (
    Fetched,
    check_target,
    fetch_medications,
    fetch_query,
    read_prefetch,
    with_caveats,
)
from icaht.service.problems import PROBLEM_RESPONSES
from icaht.service.settings import ServiceSettings, profile_in_force
from icaht.service.turns import assessment_turn
from icaht.service.versioned_cache import VersionedCache
from icaht.store.audit import assessment_shown, audit

SERVICE_ID = "icaht-patient-view"
#: The prefetch templates. The medication searches include the Medications their resources
#: reference (``_include=<Type>:medication``, a search parameter of each type in FHIR R4):
#: Epic and Oracle Health code many orders by reference only.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "labs": "Observation?patient={{context.patientId}}&category=laboratory&_count=500",
    "vitals": "Observation?patient={{context.patientId}}&category=vital-signs&_count=200",
    "administrations": "MedicationAdministration?patient={{context.patientId}}"
    "&_include=MedicationAdministration:medication&_count=200",
    "requests": "MedicationRequest?patient={{context.patientId}}"
    "&_include=MedicationRequest:medication&_count=200",
    "statements": "MedicationStatement?patient={{context.patientId}}"
    "&_include=MedicationStatement:medication&_count=200",
    "procedures": "Procedure?patient={{context.patientId}}&_count=200",
    "conditions": "Condition?patient={{context.patientId}}&_count=200",
    "reports": "DiagnosticReport?patient={{context.patientId}}&_count=100",
}
router = APIRouter(
    prefix="/cds-services",
    tags=["CDS Hooks"],
    responses=PROBLEM_RESPONSES,
    route_class=PausedCollectionRoute,
)
LoopDb = Annotated[Session, Depends(database_on_loop)]


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
                    "and evidence-cited recommendations with their triggering facts. "
                    f"{NOT_A_MEDICAL_DEVICE} icaht {__version__}."
                ),
                "prefetch": PREFETCH,
                "usageRequirements": "The patient's CAR T-cell infusion must be recorded "
                "(Procedure) for phase and grades.",
            }
        ]
    }


def _query(template: str, patient_id: str) -> str:
    return template.replace("{{context.patientId}}", patient_id)


def _missing(call: HookRequest) -> list[str]:
    """The prefetch keys the client did not prefetch: absent, or holding an OperationOutcome
    (CDS Hooks 2.0: the client could not prefetch it). A ``null`` key is no data, not missing."""
    prefetch = call.prefetch or {}
    return [k for k in PREFETCH if k not in prefetch or is_outcome(prefetch[k])]


def _fhir_bases(settings: ServiceSettings, client: str) -> list[str]:
    """The FHIR bases a client's calls may name (demo: ``ICAHT_CDS_DEMO_FHIR_SERVERS``)."""
    if client == DEMO_CLIENT:
        return settings.cds_demo_fhir_servers
    configured = settings.cds_client(client)
    return configured.fhir_servers if configured is not None else []


def _prefetched(call: HookRequest) -> Fetched:
    """The resources and caveats of the call's prefetch; a key the client did not prefetch is
    said when the call names no FHIR server to read it from."""
    prefetch = call.prefetch or {}
    found = Fetched()
    for key in PREFETCH:
        value = prefetch.get(key)
        if value is not None:
            read_prefetch(key, value, found)
    if call.fhirServer is None:
        found.caveats += [
            f"{key}: not prefetched, and the call names no FHIR server to read it from"
            for key in _missing(call)
        ]
    found.from_client = len(found.resources)
    return found


def _fetches(call: HookRequest, found: Fetched) -> bool:
    """Whether :func:`_fetch` reads from the FHIR server: keys not prefetched, or referenced
    Medications the prefetch does not hold."""
    if call.fhirServer is None:
        return False
    return bool(_missing(call)) or bool(medication_references(found.resources))


def _fetch(call: HookRequest, bases: list[str], demo_call: bool, into: Fetched) -> None:
    """Read from the call's FHIR server (one the client may name, ``service.prefetch``) the
    keys the client did not prefetch, then the referenced Medications not yet read."""
    assert call.fhirServer is not None
    check_target(call.fhirServer, bases, demo_call)
    token = call.fhirAuthorization.access_token if call.fhirAuthorization is not None else None
    for key in _missing(call):
        fetch_query(call.fhirServer, _query(PREFETCH[key], call.context.patientId), token, into)
    fetch_medications(call.fhirServer, token, into)


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
    found = _prefetched(call)
    if _fetches(call, found):
        bases = _fhir_bases(request.app.state.settings, client)
        await run_in_threadpool(_fetch, call, bases, client == DEMO_CLIENT, found)
    check_patient(call, found.resources)
    with assessment_turn:
        resources, digests = valid_resources(found, resource_digests(found.resources))
        key = answer_key(call, found, digests, profile)
        cache: VersionedCache[Answer] = request.app.state.assessments
        answer = None if key is None else cache.get(("cds", *key))
        if answer is None:
            link = dashboard_link(request)
            answer = patient_answer(call, resources, digests, profile, link, found.from_server)
            if key is not None:
                cache.put(("cds", *key), answer)
    answer = replace(answer, cards=with_caveats(answer.cards, found.caveats))
    await write_soon(db, lambda: _record_shown(db, request, call, client, answer))
    return {"cards": answer.cards}


def _record_shown(
    db: Session, request: Request, call: HookRequest, client: str, answer: Answer
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
