"""Pull one patient's data from a FHIR R4 server into a :class:`PatientRecord`.

Reads the server's CapabilityStatement (``<base>/metadata``), ``Patient/<id>``, and searches the
patient's Observation, MedicationAdministration, MedicationRequest, MedicationStatement,
Procedure, Condition and DiagnosticReport resources (``?patient=<id>&_count=N``), following each
searchset's ``next`` links, fetches Medication resources the medication resources reference, and
maps the lot with :func:`icaht.io.fhir.reader.bundle_records` (one collection Bundle in memory).

Searches follow what servers require and declare (:func:`planned_searches`): Observations are
searched per category (``laboratory``, ``vital-signs``: Epic refuses an Observation search
without a category or code; US Core servers support ``patient`` + ``category``); a type the
CapabilityStatement lists without a ``search-type`` interaction, or does not list, is not
searched, and the import report notes it; ``subject=Patient/<id>`` is used where ``patient`` is
not a declared search parameter. When the CapabilityStatement cannot be read, every search is
tried with ``patient`` (and noted).

Authorization: a bearer token as given, or SMART Backend Services
(:mod:`icaht.io.fhir.backend_services`). The token is sent only to the FHIR base's origin
(a ``next`` link to another origin is refused) and never appears in messages or logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.fhir import codes
from icaht.io.fhir.backend_services import BackendAuth, BackendClient
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.reader import bundle_records
from icaht.io.fhir.server import PullError, fhir_client, get_json, is_outcome, origin, shown_url

#: The patient's resources searched, in this order.
SEARCHED_TYPES: tuple[str, ...] = (
    "Observation",
    "MedicationAdministration",
    "MedicationRequest",
    "MedicationStatement",
    "Procedure",
    "Condition",
    "DiagnosticReport",
)


#: Project default: entries asked per search page (``_count``); servers may return fewer.
PAGE_SIZE = 200


#: Project default: safety limit on pages followed per search (a server looping on ``next``).
MAX_PAGES = 10_000


#: Observation categories searched (FHIR observation-category codes; the ones icaht maps:
#: blood counts and chemistry, and vital signs such as temperature and weight).
OBSERVATION_CATEGORIES: tuple[str, ...] = ("laboratory", "vital-signs")


#: Observations icaht itself writes without a category (``icaht fhir export``), searched by code.
LOCAL_OBSERVATION_CODES: tuple[str, ...] = ("disease-status", "last-follow-up")


Progress = Callable[[str, int], None]


def _next_link(page: dict[str, Any]) -> str | None:
    for link in page.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def page_resources(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``match`` and ``include`` resources of a search page (entries that are not objects
    with a resource object are skipped, and so are OperationOutcomes: :func:`page_outcomes`)."""
    out: list[dict[str, Any]] = []
    for entry in page.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        search = entry.get("search") if isinstance(entry, dict) else None
        mode = search.get("mode") if isinstance(search, dict) else None
        kept = mode in (None, "match", "include") and not is_outcome(resource)
        if isinstance(resource, dict) and kept:
            out.append(resource)
    return out


def page_outcomes(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The OperationOutcomes of a search page (``search.mode`` ``outcome``, or any entry holding
    one): the server's warnings about the search, e.g. results it left out."""
    entries = page.get("entry") or []
    found = [e.get("resource") for e in entries if isinstance(e, dict)]
    return [r for r in found if isinstance(r, dict) and is_outcome(r)]


def search_pages(
    client: httpx.Client,
    url: str,
    params: dict[str, str] | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[dict[str, Any]]:
    """The Bundle pages of a search at ``url``, following ``next`` links on the same origin
    only (the client's access token is never sent to another server). Raises
    :class:`PullError` for a page that cannot be read or is not a Bundle, a ``next`` link to
    another origin, and more than ``max_pages`` pages; messages never quote what was read."""
    first = url
    query: dict[str, str] | None = params
    kind = urlsplit(url).path.rstrip("/").rsplit("/", maxsplit=1)[-1]
    for _ in range(max_pages):
        page = get_json(client, url, query)
        if is_outcome(page):
            raise PullError(
                f"{shown_url(url)}: the search returned an OperationOutcome, not a Bundle",
                outcome=page,
            )
        if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
            raise PullError(f"{shown_url(url)}: the search did not return a Bundle")
        yield page
        found, query = _next_link(page), None
        if found is None:
            return
        if origin(found) != origin(first):
            raise PullError(
                f"{kind} search: the next link leads to another server ({shown_url(found)}); "
                "refused so the access token is not sent there"
            )
        url = found
    raise PullError(f"{kind} search: more than {max_pages} pages; stopped")


def search_all(
    client: httpx.Client,
    base: str,
    kind: str,
    params: dict[str, str],
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every ``match`` resource of a search, following ``next`` links on the base's origin."""
    out: list[dict[str, Any]] = []
    for page in search_pages(client, f"{base.rstrip('/')}/{kind}", params):
        out += page_resources(page)
        if progress is not None:
            progress(kind, len(out))
    return out


def medication_references(resources: list[dict[str, Any]]) -> list[str]:
    """The ``Medication/<id>`` references of ``resources`` (``medicationReference``) that no
    resource of ``resources`` is, in order, once each."""
    present = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    found: list[str] = []
    for resource in resources:
        reference = resource.get("medicationReference")
        ref = reference.get("reference") if isinstance(reference, dict) else None
        wanted = isinstance(ref, str) and ref.startswith("Medication/") and ref not in present
        if wanted and ref not in found:
            found.append(str(ref))
    return found


def read_medications(client: httpx.Client, root: str, references: list[str]) -> list[Any]:
    """The Medication resources of ``references`` read from the server at ``root`` (answers
    that are not a Medication are left out; the mapping then reads the reference's display)."""
    found = [get_json(client, f"{root}/{ref}") for ref in references]
    return [m for m in found if isinstance(m, dict) and m.get("resourceType") == "Medication"]


@dataclass(frozen=True, slots=True)
class Search:
    """One search of a patient's resources: the type and its parameters (without ``_count``)."""

    kind: str
    params: dict[str, str]


def _server_resources(capability: object) -> dict[str, dict[str, Any]] | None:
    """The ``rest[mode=server].resource`` entries of a CapabilityStatement by type; None when
    it is not one."""
    if not isinstance(capability, dict) or capability.get("resourceType") != (
        "CapabilityStatement"
    ):
        return None
    found: dict[str, dict[str, Any]] = {}
    for rest in capability.get("rest") or []:
        if isinstance(rest, dict) and rest.get("mode", "server") == "server":
            for item in rest.get("resource") or []:
                if isinstance(item, dict) and isinstance(item.get("type"), str):
                    found[item["type"]] = item
    return found


def _names(items: object, key: str) -> set[str] | None:
    """The ``key`` values of a list of objects; None when the list is not given."""
    if not isinstance(items, list):
        return None
    return {str(i.get(key)) for i in items if isinstance(i, dict) and i.get(key)}


def planned_searches(capability: object, patient_id: str) -> tuple[list[Search], list[str]]:
    """The searches of the patient's resources the server supports (module docstring), and a
    note for each type not searched or searched otherwise."""
    declared = _server_resources(capability)
    searches: list[Search] = []
    notes: list[str] = []
    if declared is None:
        notes.append("the server's CapabilityStatement was not read: every search was tried")
    for kind in SEARCHED_TYPES:
        entry = {} if declared is None else declared.get(kind)
        if entry is None:
            notes.append(f"{kind}: not searched (not in the server's CapabilityStatement)")
            continue
        interactions = _names(entry.get("interaction"), "code")
        if interactions is not None and "search-type" not in interactions:
            notes.append(f"{kind}: not searched (the server declares no search)")
            continue
        params = _names(entry.get("searchParam"), "name")
        base = (
            {"subject": f"Patient/{patient_id}"}
            if params is not None and "patient" not in params and "subject" in params
            else {"patient": patient_id}
        )
        if kind == "Observation" and (params is None or "category" in params):
            searches += [Search(kind, base | {"category": c}) for c in OBSERVATION_CATEGORIES]
            if params is None or "code" in params:
                local = ",".join(f"{codes.ICAHT_CODES}|{c}" for c in LOCAL_OBSERVATION_CODES)
                searches.append(Search(kind, base | {"code": local}))
            continue
        if kind == "Observation":
            notes.append("Observation: searched without category (not a declared parameter)")
        searches.append(Search(kind, base))
    return searches, notes


def capability_statement(client: httpx.Client, root: str) -> object:
    """The server's CapabilityStatement (``<base>/metadata``), or None when it cannot be read
    (then every search is tried)."""
    try:
        return get_json(client, f"{root}/metadata")
    except PullError as exc:
        if exc.status == 401:
            raise
        return None


def pull_bundle(
    client: httpx.Client,
    base: str,
    patient_id: str,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The patient's resources as one collection Bundle (``fullUrl`` = absolute URL), with the
    searches the server supports (:func:`planned_searches`; their notes go to ``notes``)."""
    root = base.rstrip("/")
    capability = capability_statement(client, root)
    patient = get_json(client, f"{root}/Patient/{patient_id}")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise PullError(f"{shown_url(root)}/Patient/…: not a Patient resource")
    resources: list[dict[str, Any]] = [patient]
    found_id = str(patient.get("id") or patient_id)
    searches, said = planned_searches(capability, found_id)
    if notes is not None:
        notes += said
    for search in searches:
        params = search.params | {"_count": str(page_size)}
        resources += search_all(client, root, search.kind, params, progress)
    resources += read_medications(client, root, medication_references(resources))
    by_url: dict[str, dict[str, Any]] = {}  # once each (an Observation of two categories)
    for index, r in enumerate(resources):
        rid = r.get("id")
        by_url.setdefault(f"{root}/{r.get('resourceType')}/{rid}" if rid else f"#{index}", r)
    entries = [
        {"resource": r} if url.startswith("#") else {"fullUrl": url, "resource": r}
        for url, r in by_url.items()
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def pull_patient(
    base: str,
    patient_id: str,
    *,
    token: str | None = None,
    backend: BackendClient | None = None,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    id_system: str | None = None,
) -> tuple[PatientRecord, ImportReport]:
    """Read one patient from a FHIR R4 server and map it into a record with the import report.

    Authorization: ``token`` (bearer), else ``backend`` (SMART Backend Services), else none.
    Raises :class:`PullError` when the server cannot be read and :class:`InputError` when the
    resources are invalid or map to an invalid record."""
    if not patient_id or "/" in patient_id or "?" in patient_id:
        raise InputError([Problem(base, "not a FHIR id", field="patient", value=patient_id)])
    notes: list[str] = []
    with fhir_client(token) as client, fhir_client() as token_client:
        if token is None and backend is not None:
            client.auth = BackendAuth(token_client, base, backend)
        data = pull_bundle(client, base, patient_id, page_size, progress, notes)
    source = f"{shown_url(base.rstrip('/'))}/Patient/{patient_id}"
    records, report = bundle_records(data, source, id_system)
    for note in notes:
        report.note(note)
    if len(records) != 1:
        raise PullError(f"{source}: expected one patient, mapped {len(records)}")
    return records[0], report
