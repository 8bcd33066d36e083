"""The CDS Hooks 2.0 service (issue 5): discovery, patient-view with prefetch or FHIR-server
fallback, feedback to the audit log, and client JWT verification (signature against the client's
JWKS served over real HTTP on loopback; iss, aud, exp, jti replay)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.service.conftest import EXAMPLES
from tests.utils.icaht_process import running

from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.io.fhir.cards import SUMMARY_CODE
from icaht.io.fhir.writer import record_resources
from icaht.io.records import read_record
from icaht.knowledge.profile import load_profile
from icaht.service import cds_auth
from icaht.service.app import create_app
from icaht.service.cds_hooks import PREFETCH, SERVICE_ID
from icaht.service.settings import ServiceSettings
from icaht.store.audit import audit_rows
from icaht.store.database import make_engine
from icaht.store.settings import SQLITE_FILE, StoreSettings
from icaht.store.sqlite_writer import lock_path

PUBLIC_URL = "http://testserver"
HOOK_URL = f"{PUBLIC_URL}/cds-services/{SERVICE_ID}"
ISSUER = "https://ehr.example.org"
#: A secret that passes the start-up check (``ServiceSettings.check``).
SECRET = "cds-test-secret-0123456789-abcdefghijklmnop"
#: Prefetch keys by resource type (the keys of the discovery document's templates).
KEY_OF = {
    "Patient": "patient",
    "Observation": "labs",
    "MedicationAdministration": "administrations",
    "MedicationRequest": "requests",
    "MedicationStatement": "statements",
    "Procedure": "procedures",
    "Condition": "conditions",
    "DiagnosticReport": "reports",
}


def prefetch_of(case: str) -> dict[str, Any]:
    """An example record as the prefetch a CDS client would send (searchset Bundles)."""
    record = read_record(EXAMPLES / f"{case}.json")
    prefetch: dict[str, Any] = {}
    for resource in record_resources(record):
        key = KEY_OF[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
            continue
        bundle = prefetch.setdefault(key, {"resourceType": "Bundle", "type": "searchset"})
        bundle.setdefault("entry", []).append({"resource": resource})
    for key in PREFETCH:
        prefetch.setdefault(key, {"resourceType": "Bundle", "type": "searchset", "entry": []})
    return prefetch


def as_patient(prefetch: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """The prefetch with its Patient (and every reference to it) given another id."""
    old = prefetch["patient"]["id"]
    text = json.dumps(prefetch).replace(f'"Patient/{old}"', json.dumps(f"Patient/{patient_id}"))
    renamed: dict[str, Any] = json.loads(text)
    renamed["patient"]["id"] = patient_id
    return renamed


def call(case: str, patient_id: str, **extra: Any) -> dict[str, Any]:
    """A patient-view call for an example case; the prefetched Patient has ``patient_id``
    (CDS Hooks: ``context.patientId`` is the id of the patient in view)."""
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": patient_id},
        "prefetch": as_patient(prefetch_of(case), patient_id),
        **extra,
    }


def expected_rule_ids(case: str) -> list[str]:
    """The cards follow the tiers (issue 16, docs/worklist.md): the summary card, then one card
    per new or changed act-now recommendation."""
    course = course_from_record(read_record(EXAMPLES / f"{case}.json"))
    recs = assess(course, None, load_profile()).recommendations
    fresh = [r.rule_id for r in recs if r.tier == "act now" and r.novelty != "unchanged"]
    return [SUMMARY_CODE, *fresh]


@dataclass
class Peer:
    """A loopback HTTP server acting as the client's JWKS host and FHIR server."""

    url: str
    jwks: dict[str, Any]
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    token: str = "fhir-access-token"
    seen_auth: list[str | None] = field(default_factory=list)
    jwks_fetches: int = 0


@pytest.fixture
def peer() -> Iterator[Peer]:
    state = Peer("", {"keys": []})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # quiet
            return

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/jwks.json":
                state.jwks_fetches += 1
                self._send(200, state.jwks)
                return
            state.seen_auth.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"resourceType": "OperationOutcome"})
                return
            kind, _, query = self.path.removeprefix("/fhir/").partition("?")
            if "/" in kind:  # a read: Patient/<id>
                found = state.resources.get("Patient", [])
                self._send(200 if found else 404, found[0] if found else {})
                return
            page = int(dict(p.split("=") for p in query.split("&")).get("page", "0"))
            items = state.resources.get(kind, [])
            chunk = items[page * 50 : (page + 1) * 50]
            body: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in chunk],
            }
            if (page + 1) * 50 < len(items):
                body["link"] = [
                    {"relation": "next", "url": f"{state.url}/fhir/{kind}?{query}&page={page + 1}"}
                ]
            self._send(200, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
def demo(store: StoreSettings) -> Iterator[TestClient]:
    app = create_app(ServiceSettings(demo=True), store)
    with TestClient(app) as client:
        yield client


@dataclass
class Signed:
    client: TestClient
    key: ec.EllipticCurvePrivateKey
    store: StoreSettings

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "sub": "ehr-client",
            "aud": HOOK_URL,
            "iat": now,
            "exp": now + 240,
            "jti": str(uuid.uuid4()),
        } | claims
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.key, algorithm="ES384", headers={"kid": "k1"})

    def post(self, token: str | None, body: dict[str, Any], path: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(f"/cds-services/{SERVICE_ID}{path}", json=body, headers=headers)


@pytest.fixture
def signed(store: StoreSettings, peer: Peer) -> Iterator[Signed]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    peer.jwks["keys"] = [jwk | {"kid": "k1", "use": "sig", "alg": "ES384"}]
    settings = ServiceSettings(
        secret_key=SECRET, public_url=PUBLIC_URL, cds_clients={ISSUER: f"{peer.url}/jwks.json"}
    )
    with TestClient(create_app(settings, store)) as client:
        yield Signed(client, key, store)


def test_discovery_lists_patient_view_with_prefetch(demo: TestClient) -> None:
    services = demo.get("/cds-services").json()["services"]
    (service,) = services
    assert (service["hook"], service["id"]) == ("patient-view", SERVICE_ID)
    assert "{{context.patientId}}" in service["prefetch"]["labs"]
    assert "not a medical device" in service["description"]


@pytest.mark.parametrize("case", ["jain-case1", "jain-case2", "baur"])
def test_patient_view_cards_are_the_assessments_recommendations(
    demo: TestClient, case: str
) -> None:
    """One card per recommendation of the same record assessed directly (Jain 2023 and Baur
    2022 cases), each within the CDS Hooks card rules."""
    response = demo.post(f"/cds-services/{SERVICE_ID}", json=call(case, "p-1"))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == expected_rule_ids(case)
    assert cards
    for card in cards:
        assert len(card["summary"]) <= 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["detail"]


def test_repeated_calls_answer_alike_and_changed_data_change_the_cards(
    demo: TestClient, store: StoreSettings
) -> None:
    """The same prefetch again gives the same cards (served from the per-process cache);
    different data for the same patient id give that data's cards; every call is audited."""
    url = f"/cds-services/{SERVICE_ID}"
    first = demo.post(url, json=call("jain-case1", "p-7")).json()["cards"]
    again = demo.post(url, json=call("jain-case1", "p-7")).json()["cards"]
    assert again == first
    other = demo.post(url, json=call("jain-case3", "p-7")).json()["cards"]
    assert [c["source"]["topic"]["code"] for c in other] == expected_rule_ids("jain-case3")
    engine = make_engine(store.url())
    with Session(engine) as session:
        views = [r for r in audit_rows(session) if r["action"] == "cds-patient-view"]
    engine.dispose()
    assert len(views) == 3


def test_resources_seen_before_give_the_same_cards(store: StoreSettings) -> None:
    """With the answer cache off, a repeated prefetch takes its validated resources from the
    per-process resource cache and gives the same cards as the first call."""
    app = create_app(ServiceSettings(demo=True, assessment_cache_entries=0), store)
    url = f"/cds-services/{SERVICE_ID}"
    with TestClient(app) as client:
        first = client.post(url, json=call("jain-case2", "p-8")).json()["cards"]
        again = client.post(url, json=call("jain-case2", "p-8")).json()["cards"]
    assert [c["source"]["topic"]["code"] for c in first] == expected_rule_ids("jain-case2")
    assert again == first


def test_an_invalid_prefetch_resource_is_left_out_naming_its_element(demo: TestClient) -> None:
    """Issue 17 (CDS Hooks robustness): one invalid resource drops that resource, not the call
    (it was a 422 for the whole call); the summary card names it and its element."""
    body = call("baur", "p-9")
    entries = body["prefetch"]["labs"]["entry"]
    entries[0]["resource"]["valueQuantity"]["value"] = "lots"
    rid = entries[0]["resource"]["id"]
    for _ in range(2):  # the same answer when the other resources come from the cache
        response = demo.post(f"/cds-services/{SERVICE_ID}", json=body)
        assert response.status_code == 200, response.text
        summary = response.json()["cards"][0]
        assert summary["source"]["topic"]["code"] == SUMMARY_CODE
        assert f"Observation/{rid} left out" in summary["detail"]
        assert "Observation.valueQuantity.value" in summary["detail"]


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        (b'{"hook": "patient-view", "context": ', "body.", "JSON decode error"),  # cut short
        (b'{"hook": "patient-view", "hookInstance": NaN}', "body.", "JSON decode error"),
        (b'{"hook": "patient-view", "hookInstance": "h"}', "body.context", "Field required"),
    ],
)
def test_a_malformed_call_is_refused_naming_where(
    demo: TestClient, body: bytes, where: str, message: str
) -> None:
    """The body is parsed with orjson (``service.json_route``): what is not JSON (NaN is not,
    though Python's own parser takes it) or not a patient-view call is a 422 problem naming the
    place."""
    response = demo.post(
        f"/cds-services/{SERVICE_ID}", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"].startswith(where)
    assert message in error["message"]


def test_missing_prefetch_is_fetched_from_the_fhir_server(store: StoreSettings, peer: Peer) -> None:
    """Absent prefetch keys are searched on the FHIR server with the supplied access token,
    following the search pages; the result equals the prefetched one. (The loopback FHIR
    server is configured for unsigned demo calls: issue 18, item 8.)"""
    settings = ServiceSettings(demo=True, cds_demo_fhir_servers=[f"{peer.url}/fhir"])
    demo = TestClient(create_app(settings, store))
    body = call("jain-case2", "p-2")
    for value in as_patient(prefetch_of("jain-case2"), "p-2").values():
        bundle = value["resourceType"] == "Bundle"
        for resource in [e["resource"] for e in value["entry"]] if bundle else [value]:
            peer.resources.setdefault(resource["resourceType"], []).append(resource)
    assert len(peer.resources["Observation"]) > 50  # more than one search page
    body.pop("prefetch")
    body["fhirServer"] = f"{peer.url}/fhir"
    body["fhirAuthorization"] = {"access_token": peer.token, "token_type": "Bearer"}
    response = demo.post(f"/cds-services/{SERVICE_ID}", json=body)
    assert response.status_code == 200, response.text
    codes = [c["source"]["topic"]["code"] for c in response.json()["cards"]]
    assert codes == expected_rule_ids("jain-case2")
    assert set(peer.seen_auth) == {f"Bearer {peer.token}"}
    body["fhirAuthorization"] = {"access_token": "wrong", "token_type": "Bearer"}
    refused = demo.post(f"/cds-services/{SERVICE_ID}", json=body)
    assert refused.status_code == 412


def test_feedback_is_audited(demo: TestClient, store: StoreSettings) -> None:
    cards = demo.post(f"/cds-services/{SERVICE_ID}", json=call("jain-case1", "p-3")).json()
    first = cards["cards"][0]["uuid"]
    feedback = {
        "feedback": [
            {
                "card": first,
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "not-applicable"}, "userComment": "known"},
                "outcomeTimestamp": "2026-11-21T03:00:00Z",
            }
        ]
    }
    response = demo.post(f"/cds-services/{SERVICE_ID}/feedback", json=feedback)
    assert response.status_code == 200, response.text
    engine = make_engine(store.url())
    with Session(engine) as session:
        rows = list(audit_rows(session))
    engine.dispose()
    shown = next(r for r in rows if r["action"] == "cds-patient-view")
    assert first in shown["detail"]["cards"]
    fed = next(r for r in rows if r["action"] == "cds-feedback")
    assert (fed["detail"]["card"], fed["detail"]["outcome"]) == (first, "overridden")


def test_a_signed_call_is_accepted_once(signed: Signed) -> None:
    token = signed.token()
    first = signed.post(token, call("baur", "p-4"))
    assert first.status_code == 200, first.text
    replay = signed.post(token, call("baur", "p-4"))
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://other.example.org"}, "unknown issuer"),
        ({"aud": "https://elsewhere.example.org/cds-services/x"}, "audience"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 200}, "expired"),
        ({"exp": int(time.time()) + 3600}, "5 minutes"),
        ({"jti": None}, "jti"),
    ],
)
def test_a_bad_client_token_is_refused(signed: Signed, claims: dict[str, Any], reason: str) -> None:
    response = signed.post(signed.token(**claims), call("baur", "p-5"))
    assert response.status_code == 401
    assert reason.lower() in response.json()["detail"].lower()


def test_unsigned_or_forged_calls_are_refused_outside_demo(signed: Signed) -> None:
    assert signed.post(None, call("baur", "p-6")).status_code == 401
    other_key = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    forged = jwt.encode(
        {"iss": ISSUER, "aud": HOOK_URL, "iat": now, "exp": now + 60, "jti": "x"},
        other_key,
        algorithm="ES384",
        headers={"kid": "k1"},
    )
    response = signed.post(forged, call("baur", "p-6"))
    assert response.status_code == 401
    assert "Signature" in response.json()["detail"]
    feedback = {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "t"}]}
    assert signed.post(None, feedback, "/feedback").status_code == 401


def test_a_clients_signing_key_is_fetched_once_and_again_when_stale(
    signed: Signed, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JWKS is fetched (in a worker thread, off the event loop) for the first call and its
    key kept for the next ones; a key older than KEY_SECONDS fetches it again. A kid not in the
    JWKS is refused (PyJWT fetches again for it at most every 30 s). Feedback calls: each is
    verified like a hook call, in a few milliseconds."""
    monkeypatch.setattr(cds_auth, "KEY_SECONDS", 2)  # before the first call makes the client
    feedback = {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "t"}]}
    aud = f"{HOOK_URL}/feedback"
    for _ in range(3):
        assert signed.post(signed.token(aud=aud), feedback, "/feedback").status_code == 200
    assert peer.jwks_fetches == 1
    time.sleep(2.1)
    assert signed.post(signed.token(aud=aud), feedback, "/feedback").status_code == 200
    assert peer.jwks_fetches == 2
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 60}
    unknown = jwt.encode(claims | {"jti": "k2"}, signed.key, "ES384", headers={"kid": "k2"})
    refused = signed.post(unknown, feedback, "/feedback")
    assert refused.status_code == 401
    assert "no usable signing key" in refused.json()["detail"]


def test_a_call_waits_for_another_writer_without_holding_up_the_server(tmp_path: Path) -> None:
    """A CDS call runs on the server's event loop, but when another writer holds the SQLite
    database (here: this test, through the writer lock of ``store.sqlite_writer``), the call's
    audit waits in a worker thread: the server answers other requests meanwhile, and the call
    answers with its cards, audited, once the writer is done."""
    data = tmp_path / "data"
    env = {**os.environ, "ICAHT_DATA_DIR": str(data), "ICAHT_DEMO": "1"}
    icaht = [sys.executable, "-m", "icaht.cli"]
    subprocess.run([*icaht, "db", "upgrade"], env=env, check=True, capture_output=True)
    with running(["serve"], env, tmp_path / "serve.log") as server:
        hook = f"{server.url}/cds-services/{SERVICE_ID}"
        assert httpx.post(hook, json=call("baur", "p-8"), timeout=30).status_code == 200
        answered: list[httpx.Response] = []
        lock = os.open(lock_path(str(data / SQLITE_FILE)), os.O_RDWR)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            waiting = threading.Thread(
                target=lambda: answered.append(httpx.post(hook, json=call("baur", "p-8")))
            )
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive()  # its audit waits for the writer
            health = httpx.get(f"{server.url}/api/v1/health", timeout=2)
            assert health.status_code == 200
        finally:
            os.close(lock)  # the writer is done
        waiting.join(20)
        (response,) = answered
        assert response.status_code == 200, response.text
        codes = [c["source"]["topic"]["code"] for c in response.json()["cards"]]
        assert codes == expected_rule_ids("baur")
    engine = make_engine(f"sqlite:///{data / SQLITE_FILE}")
    with Session(engine) as session:
        shown = [r for r in audit_rows(session) if r["action"] == "cds-patient-view"]
    engine.dispose()
    assert len(shown) == 2


def test_the_discovery_document_is_public(signed: Signed) -> None:
    assert signed.client.get("/cds-services").status_code == 200
