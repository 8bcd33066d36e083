"""CDS Hooks robustness with real clients (issue 17): what a CDS Hooks 2.0 client may send and
what an EHR's FHIR server may answer, each said on the summary card instead of failing the call
or silently dropping data; CORS so browser clients (the CDS Hooks sandbox) can call the service.

Fixture shapes and their sources:

- ``null`` prefetch keys and OperationOutcome prefetch values: CDS Hooks 2.0, "Prefetch" (a key
  the client has no data for is ``null``; a key it could not prefetch is left out or holds an
  OperationOutcome).
- OperationOutcome entries in a searchset Bundle (``search.mode`` ``outcome``): FHIR R4
  Bundle.entry.search.mode; Epic on FHIR documents searches that answer warnings this way
  (e.g. results the user may not see).
- A resource type the server does not support: FHIR R4 RESTful API (404 for an unknown type,
  an OperationOutcome explaining the error).
- Invalid resources: an empty string (FHIR R4 forbids empty values) and an R5-only element
  (``Observation.triggeredBy``, new in R5).
- Medications by reference (``medicationReference``): Epic and Oracle Health (Cerner)
  MedicationRequest resources, US Core MedicationRequest (medication[x] may be a reference).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.test_cds_hooks import as_patient, call, prefetch_of
from tests.utils.fhir_server import send_json

from icaht.io.fhir.cards import SUMMARY_CODE
from icaht.service.app import create_app
from icaht.service.cds_hooks import PREFETCH, SERVICE_ID
from icaht.service.settings import ServiceSettings
from icaht.store.settings import StoreSettings

HOOK = f"/cds-services/{SERVICE_ID}"
TOKEN = "ehr-access-token"
PATIENT = "p-rob"
SANDBOX = "https://sandbox.cds-hooks.org"
#: Filgrastim by reference, as Epic codes an order (the Medication holds the RxNorm code).
MEDICATION = {
    "resourceType": "Medication",
    "id": "med-filgrastim",
    "code": {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "68442",
                "display": "filgrastim",
            }
        ],
        "text": "filgrastim (NEUPOGEN) injection 480 mcg",
    },
}


def _warning(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "warning", "code": "incomplete", "details": {"text": text}},
            {"severity": "information", "code": "informational", "diagnostics": "not shown"},
        ],
    }


@dataclass
class Ehr:
    """A loopback FHIR server: search results by type, a status per type that it answers
    instead, and Medication reads."""

    url: str = ""
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refuse: dict[str, tuple[int, Any]] = field(default_factory=dict)
    pages_failing_after_first: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    @property
    def fhir(self) -> str:
        return f"{self.url}/fhir"


def _handler(ehr: Ehr) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            return

        def do_GET(self) -> None:
            ehr.seen.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                send_json(self, 401, {"resourceType": "OperationOutcome"})
                return
            kind, _, query = self.path.removeprefix("/fhir/").partition("?")
            if "/" in kind:  # a read
                kind, rid = kind.split("/", 1)
                found = [r for r in ehr.resources.get(kind, []) if r.get("id") == rid]
                send_json(self, 200 if found else 404, found[0] if found else {})
                return
            if kind in ehr.refuse:
                send_json(self, *ehr.refuse[kind])
                return
            if "page=2" in query:
                send_json(self, 500, {"resourceType": "OperationOutcome"})
                return
            body: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in ehr.resources.get(kind, [])],
            }
            if kind in ehr.pages_failing_after_first:
                body["link"] = [{"relation": "next", "url": f"{ehr.fhir}/{kind}?{query}&page=2"}]
            send_json(self, 200, body)

    return Handler


@pytest.fixture
def ehr() -> Iterator[Ehr]:
    state = Ehr()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()


def _client(store: StoreSettings, ehr: Ehr | None = None, **settings: Any) -> TestClient:
    servers = [ehr.fhir] if ehr is not None else []
    return TestClient(
        create_app(ServiceSettings(demo=True, cds_demo_fhir_servers=servers, **settings), store)
    )


def _with_server(body: dict[str, Any], ehr: Ehr) -> dict[str, Any]:
    body["fhirServer"] = ehr.fhir
    body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer"}
    return body


def _load(ehr: Ehr, case: str) -> None:
    """The case's resources on the EHR's server, by type."""
    for value in as_patient(prefetch_of(case), PATIENT).values():
        bundle = value["resourceType"] == "Bundle"
        for resource in [e["resource"] for e in value.get("entry", [])] if bundle else [value]:
            ehr.resources.setdefault(resource["resourceType"], []).append(resource)


def _summary(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    first: dict[str, Any] = response.json()["cards"][0]
    assert first["source"]["topic"]["code"] == SUMMARY_CODE
    return first


def test_a_null_prefetch_key_is_no_data_and_is_not_fetched(store: StoreSettings, ehr: Ehr) -> None:
    """CDS Hooks 2.0: a key the client has no data for is null. It was fetched from the FHIR
    server as if it were left out."""
    body = _with_server(call("jain-case1", PATIENT), ehr)
    body["prefetch"]["statements"] = None
    with _client(store, ehr) as client:
        summary = _summary(client.post(HOOK, json=body))
    assert ehr.seen == []
    assert "Data incomplete" not in summary["detail"]


def test_a_key_left_out_without_a_fhir_server_is_said(store: StoreSettings) -> None:
    """A key the client did not prefetch, and no FHIR server to read it from: said on the
    summary card (it was silently no data)."""
    body = call("jain-case1", PATIENT)
    del body["prefetch"]["conditions"]
    with _client(store) as client:
        summary = _summary(client.post(HOOK, json=body))
    assert "conditions: not prefetched" in summary["detail"]


def test_a_search_the_server_does_not_support_is_left_out_with_a_caveat(
    store: StoreSettings, ehr: Ehr
) -> None:
    """The EHR's server has no MedicationStatement (404 with an OperationOutcome) and answers
    the DiagnosticReport search with an OperationOutcome instead of a Bundle: the call answers
    with what was read and says both on the summary card (it was a 412)."""
    _load(ehr, "jain-case2")
    not_found = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-supported", "diagnostics": "secret-path"}],
    }
    ehr.refuse["MedicationStatement"] = (404, not_found)
    ehr.refuse["DiagnosticReport"] = (200, not_found)
    body = _with_server(call("jain-case2", PATIENT), ehr)
    for key in ("statements", "reports"):
        del body["prefetch"][key]
    with _client(store, ehr) as client:
        summary = _summary(client.post(HOOK, json=body))
    assert "MedicationStatement: not read" in summary["detail"]
    assert "answered 404" in summary["detail"]
    assert "DiagnosticReport: not read" in summary["detail"]
    assert "error (not-supported)" in summary["detail"]
    assert "secret-path" not in summary["detail"]  # what the server answered is not quoted
    assert summary["indicator"] in ("warning", "critical")


def test_operation_outcomes_in_the_prefetch_are_reported(store: StoreSettings) -> None:
    """An OperationOutcome entry of a searchset (search.mode outcome, Epic-style) and a key
    whose value is an OperationOutcome (the client could not prefetch it): their warnings are
    on the summary card; information issues are not (they were read as unmapped resources)."""
    body = call("jain-case1", PATIENT)
    labs = body["prefetch"]["labs"]
    labs["entry"].append(
        {
            "search": {"mode": "outcome"},
            "resource": _warning("Some results are hidden from this user"),
        }
    )
    body["prefetch"]["conditions"] = _warning("Condition search timed out")
    with _client(store) as client:
        summary = _summary(client.post(HOOK, json=body))
    assert "prefetch labs: the EHR reported warning (incomplete)" in summary["detail"]
    assert "Some results are hidden from this user" in summary["detail"]
    assert "Condition search timed out" in summary["detail"]
    assert "not shown" not in summary["detail"]


def test_invalid_resources_are_left_out_not_the_call(store: StoreSettings) -> None:
    """An empty string and an R5-only element each drop their resource, named on the summary
    card with the element; the other resources give the cards (it was a 422)."""
    body = call("jain-case2", PATIENT)
    entries = body["prefetch"]["labs"]["entry"]
    entries[0]["resource"]["status"] = ""
    entries[1]["resource"]["triggeredBy"] = [
        {"observation": {"reference": "Observation/x"}, "type": "reflex"}
    ]
    first, second = entries[0]["resource"]["id"], entries[1]["resource"]["id"]
    with _client(store) as client:
        summary = _summary(client.post(HOOK, json=body))
    assert f"Observation/{first} left out" in summary["detail"]
    assert "Observation.status" in summary["detail"]
    assert f"Observation/{second} left out" in summary["detail"]
    assert "Observation.triggeredBy" in summary["detail"]


def test_a_page_that_cannot_be_read_is_said_on_the_summary_card(
    store: StoreSettings, ehr: Ehr
) -> None:
    """The second labs page answers 500: the caveat is on the summary card (there was a
    separate warning card before it)."""
    _load(ehr, "jain-case2")
    ehr.pages_failing_after_first.add("Observation")
    body = _with_server(call("jain-case2", PATIENT), ehr)
    del body["prefetch"]["labs"]
    with _client(store, ehr) as client:
        response = client.post(HOOK, json=body)
    summary = _summary(response)
    assert "Observation: only 1 page(s) read" in summary["detail"]
    assert summary["summary"].endswith("data incomplete")
    codes = [c["source"]["topic"]["code"] for c in response.json()["cards"]]
    assert codes.count(SUMMARY_CODE) == 1
    assert "data-incomplete" not in codes


def test_prefetch_templates_include_referenced_medications() -> None:
    """Every medication search of the discovery document includes the Medications referenced
    (CDS Hooks clients run the templates as given)."""
    for key, kind in (
        ("administrations", "MedicationAdministration"),
        ("requests", "MedicationRequest"),
        ("statements", "MedicationStatement"),
    ):
        assert f"_include={kind}:medication" in PREFETCH[key]


def test_a_referenced_medication_missing_from_the_prefetch_is_read(
    store: StoreSettings, ehr: Ehr
) -> None:
    """An Epic-style MedicationRequest coded by reference only, its Medication not prefetched:
    read from the FHIR server (it was mapped from the display alone, or not at all)."""
    ehr.resources["Medication"] = [MEDICATION]
    body = _with_server(call("jain-case2", PATIENT), ehr)
    body["prefetch"]["requests"]["entry"].append(
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "order-1",
                "status": "active",
                "intent": "order",
                "medicationReference": {"reference": "Medication/med-filgrastim"},
                "subject": {"reference": f"Patient/{PATIENT}"},
                "authoredOn": "2000-01-10",  # the examples' day 0: 2000-01-01
            }
        }
    )
    with _client(store, ehr) as client:
        _summary(client.post(HOOK, json=body))
    assert ehr.seen == ["/fhir/Medication/med-filgrastim"]


def test_cors_preflight_and_answers_for_the_cds_sandbox(store: StoreSettings) -> None:
    """The sandbox (a public page) may call a local server: the preflight is answered with its
    origin, the methods, the JWT and JSON headers and the Private Network Access permission;
    discovery and service answers name the origin; other origins and the REST API get no CORS
    (OPTIONS was a 405)."""
    with _client(store) as client:
        preflight = client.options(
            HOOK,
            headers={
                "Origin": SANDBOX,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
                "Access-Control-Request-Private-Network": "true",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == SANDBOX
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert preflight.headers["access-control-allow-private-network"] == "true"
        discovery = client.get("/cds-services", headers={"Origin": SANDBOX})
        assert discovery.headers["access-control-allow-origin"] == SANDBOX
        answer = client.post(HOOK, json=call("baur", PATIENT), headers={"Origin": SANDBOX})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == SANDBOX
        other = client.get("/cds-services", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        api = client.get("/api/v1/health", headers={"Origin": SANDBOX})
        assert "access-control-allow-origin" not in api.headers


def test_cors_origins_are_a_setting(store: StoreSettings) -> None:
    """ICAHT_CDS_CORS_ORIGINS replaces the default (here: one hospital's CDS client)."""
    site = "https://cds-client.hospital.example"
    with _client(store, cds_cors_origins=[site]) as client:
        allowed = client.get("/cds-services", headers={"Origin": site})
        sandbox = client.get("/cds-services", headers={"Origin": SANDBOX})
    assert allowed.headers["access-control-allow-origin"] == site
    assert "access-control-allow-origin" not in sandbox.headers
