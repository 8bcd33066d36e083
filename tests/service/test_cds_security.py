"""CDS Hooks against a hostile or careless client (issue 18, items 6-10): the EHR's access token
goes only to the client's configured FHIR bases and their origin, pages that cannot be read are
said on a caveat card, errors quote nothing fetched, the JWT audience is never the Host header,
the prefetched Patient must be the context's patient, and malformed calls are 4xx problems."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.service.test_cds_hooks import as_patient, call, prefetch_of
from tests.utils.fhir_server import send_json

from icaht.errors import IcahtError
from icaht.io.fhir.cards import SUMMARY_CODE
from icaht.service.app import create_app
from icaht.service.cds_hooks import SERVICE_ID
from icaht.service.prefetch import CAVEAT_CODE
from icaht.service.settings import ServiceSettings
from icaht.store.audit import audit_rows
from icaht.store.database import make_engine
from icaht.store.settings import StoreSettings

HOOK = f"/cds-services/{SERVICE_ID}"
PUBLIC_URL = "https://icaht.example.org"
ISSUER = "https://ehr.example.org"
SECRET = "cds-security-test-secret-0123456789-abcdef"
TOKEN = "the-ehrs-access-token"
#: Text only the FHIR server's answers hold: never in an error the service gives.
MARKER = "fetched-content-4f1c"
PATIENT = "p-sec"


@dataclass
class Host:
    """A loopback HTTP server playing a FHIR server (and, for the client, its JWKS host)."""

    url: str = ""
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    #: Where ``next`` links point (default: this server).
    next_base: str | None = None
    #: Search pages (0-based) that answer 500.
    failing_pages: set[int] = field(default_factory=set)
    #: Answer every FHIR request with this JSON (e.g. content that is not FHIR).
    answer: Any = None
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def fhir(self) -> str:
        return f"{self.url}/fhir"


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            return

        def _send(self, status: int, body: object) -> None:
            send_json(self, status, body)

        def do_GET(self) -> None:
            if self.path == "/jwks.json":
                self._send(200, host.jwks)
                return
            host.seen.append((self.path, self.headers.get("Authorization")))
            if host.answer is not None:
                self._send(200, host.answer)
                return
            kind, _, query = self.path.removeprefix("/fhir/").partition("?")
            if "/" in kind:
                found = host.resources.get(kind.split("/")[0], [])
                self._send(200 if found else 404, found[0] if found else {})
                return
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            page = int(params.get("page", "0"))
            if page in host.failing_pages:
                self._send(500, {"resourceType": "OperationOutcome", "id": MARKER})
                return
            items = host.resources.get(kind, [])
            body: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in items[page * 50 : (page + 1) * 50]],
            }
            if (page + 1) * 50 < len(items):
                base = host.next_base or host.url
                body["link"] = [
                    {"relation": "next", "url": f"{base}/fhir/{kind}?{query}&page={page + 1}"}
                ]
            self._send(200, body)

    return Handler


@pytest.fixture
def hosts() -> Iterator[tuple[Host, Host]]:
    """The EHR's FHIR server, loaded with a case, and another server on another origin."""
    pair = (Host(), Host())
    servers = []
    for host in pair:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
        host.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    for value in as_patient(prefetch_of("jain-case2"), PATIENT).values():
        bundle = value["resourceType"] == "Bundle"
        for resource in [e["resource"] for e in value["entry"]] if bundle else [value]:
            pair[0].resources.setdefault(resource["resourceType"], []).append(resource)
    assert len(pair[0].resources["Observation"]) > 100  # three search pages
    yield pair
    for server in servers:
        server.shutdown()


def _demo(store: StoreSettings, *fhir_servers: str) -> TestClient:
    settings = ServiceSettings(demo=True, cds_demo_fhir_servers=list(fhir_servers))
    return TestClient(create_app(settings, store), raise_server_exceptions=False)


def _fetching(fhir_server: str, keep: tuple[str, ...] = ("patient",)) -> dict[str, Any]:
    """A call that prefetched only ``keep`` and names its FHIR server with the access token."""
    body = call("jain-case2", PATIENT)
    body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k in keep}
    body["fhirServer"] = fhir_server
    body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer"}
    return body


def _codes(response: Any) -> list[str]:
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


def test_a_next_link_to_another_server_gets_no_token_and_a_caveat(
    store: StoreSettings, hosts: tuple[Host, Host]
) -> None:
    """Item 7: the prefetch-fetch follows ``next`` only on the fhirServer's origin (as ``fhir
    pull`` does); the pages it did not read are said on the summary card (issue 17: it was a
    caveat card of its own)."""
    ehr, other = hosts
    ehr.next_base = other.url
    response = _demo(store, ehr.fhir).post(HOOK, json=_fetching(ehr.fhir))
    assert response.status_code == 200, response.text
    assert other.seen == []  # the token never left the EHR's origin
    assert {auth for _, auth in ehr.seen} == {f"Bearer {TOKEN}"}
    first = response.json()["cards"][0]
    assert first["source"]["topic"]["code"] == SUMMARY_CODE
    assert first["indicator"] in ("warning", "critical")
    assert "Observation" in first["detail"]
    assert "another server" in first["detail"]


def test_a_page_that_cannot_be_read_gives_a_caveat_not_silence(
    store: StoreSettings, hosts: tuple[Host, Host]
) -> None:
    """Item 7: page 2 of the labs answers 500: the cards of what was read, with a caveat on the
    summary card naming the search (and no content of the failed answer)."""
    ehr, _ = hosts
    ehr.failing_pages = {1}
    response = _demo(store, ehr.fhir).post(HOOK, json=_fetching(ehr.fhir))
    assert response.status_code == 200, response.text
    assert _codes(response)[0] == SUMMARY_CODE
    assert "answered 500" in response.json()["cards"][0]["detail"]
    assert MARKER not in response.text


def test_fhir_server_must_be_one_of_the_clients_fhir_bases(
    store: StoreSettings, hosts: tuple[Host, Host]
) -> None:
    """Item 8: a signed client's fhirServer must lie under its ``fhir_servers``
    (``ICAHT_CDS_CLIENTS``); another server gets no request at all."""
    ehr, other = hosts
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    ehr.jwks["keys"] = [jwk | {"kid": "k1", "use": "sig", "alg": "ES384"}]
    clients = {ISSUER: {"jwks": f"{ehr.url}/jwks.json", "fhir_servers": [ehr.fhir]}}
    settings = ServiceSettings(secret_key=SECRET, public_url=PUBLIC_URL, cds_clients=clients)

    def token() -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": PUBLIC_URL + HOOK, "iat": now, "exp": now + 60}
        signed = jwt.encode(
            claims | {"jti": str(uuid.uuid4())}, key, "ES384", headers={"kid": "k1"}
        )
        return {"Authorization": f"Bearer {signed}"}

    with TestClient(create_app(settings, store)) as client:
        for elsewhere in (other.fhir, f"{ehr.url}/other-fhir", "http://169.254.169.254/fhir"):
            refused = client.post(HOOK, json=_fetching(elsewhere), headers=token())
            assert refused.status_code == 400, refused.text
            assert "not a FHIR base configured" in refused.json()["detail"]
        assert other.seen == []
        accepted = client.post(HOOK, json=_fetching(ehr.fhir), headers=token())
        assert accepted.status_code == 200, accepted.text
        assert CAVEAT_CODE not in _codes(accepted)
        assert "Data incomplete" not in accepted.text


@pytest.mark.parametrize(
    "fhir_server",
    ["http://169.254.169.254/latest", "http://127.0.0.1:9/fhir", "http://localhost:9/fhir"],
)
def test_a_demo_call_reaches_no_local_address_unless_configured(
    store: StoreSettings, fhir_server: str
) -> None:
    """Item 8: an unsigned demo call may name only servers on public addresses, or the bases
    of ``ICAHT_CDS_DEMO_FHIR_SERVERS`` (the tests' loopback servers are configured so)."""
    response = _demo(store).post(HOOK, json=_fetching(fhir_server))
    assert response.status_code == 400, response.text
    assert "not on a public address" in response.json()["detail"]


@pytest.mark.parametrize(
    "fhir_server",
    ["file:///etc/passwd", "not a url", "http://user:pw@ehr.example/fhir", "http://x/f?y=1"],
)
def test_an_invalid_fhir_server_is_a_422_problem(store: StoreSettings, fhir_server: str) -> None:
    """Item 6: an invalid fhirServer was a plain 500."""
    response = _demo(store).post(HOOK, json=_fetching(fhir_server))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body.fhirServer"


def test_errors_quote_nothing_the_fhir_server_answered(
    store: StoreSettings, hosts: tuple[Host, Host]
) -> None:
    """Item 8: a configured server answering something that is not FHIR (a JWKS, a secret
    file): 412 naming the URL, never the content. An invalid resource among its answers is
    left out (issue 17), said naming its element, never its content or id."""
    ehr, _ = hosts
    ehr.answer = {"keys": [{"kty": "oct", "k": MARKER}], "resourceType": MARKER}
    response = _demo(store, ehr.fhir).post(HOOK, json=_fetching(ehr.fhir, keep=()))
    assert response.status_code == 412, response.text
    assert MARKER not in response.text
    ehr.answer = None
    invalid = {"resourceType": "Observation", "id": MARKER, "status": {"x": MARKER}}
    ehr.resources["Observation"] = [invalid]
    mapped = _demo(store, ehr.fhir).post(HOOK, json=_fetching(ehr.fhir))
    assert mapped.status_code == 200, mapped.text
    assert "one Observation left out" in mapped.text
    assert "Observation.status" in mapped.text
    assert MARKER not in mapped.text
    ehr.failing_pages = {0}
    failed = _demo(store, ehr.fhir).post(HOOK, json=_fetching(ehr.fhir))
    assert failed.status_code == 412
    assert MARKER not in failed.text


def test_an_unreachable_fhir_server_is_a_412_problem(store: StoreSettings) -> None:
    """Nothing listens at the configured base: 412 problem (it was a plain 500)."""
    base = "http://127.0.0.1:9/fhir"
    response = _demo(store, base).post(HOOK, json=_fetching(base))
    assert response.status_code == 412, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_cds_clients_need_a_public_url_outside_demo(store: StoreSettings) -> None:
    """Item 9: without ICAHT_PUBLIC_URL the audience was built from the Host header."""
    clients = {ISSUER: "https://ehr.example.org/jwks.json"}
    with pytest.raises(IcahtError, match="ICAHT_PUBLIC_URL"):
        create_app(ServiceSettings(secret_key=SECRET, cds_clients=clients), store)


def test_the_audience_is_never_taken_from_the_host_header(
    store: StoreSettings, hosts: tuple[Host, Host]
) -> None:
    """Item 9: a token for ``evil.example`` sent with ``Host: evil.example`` was accepted (demo
    mode with a client configured and no public URL); now refused, as is any signed call
    whose audience cannot be checked."""
    ehr, _ = hosts
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    ehr.jwks["keys"] = [jwk | {"kid": "k1", "use": "sig", "alg": "ES384"}]
    settings = ServiceSettings(demo=True, cds_clients={ISSUER: f"{ehr.url}/jwks.json"})
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"http://evil.example{HOOK}", "iat": now, "exp": now + 60}
    token = jwt.encode(claims | {"jti": "j1"}, key, "ES384", headers={"kid": "k1"})
    with TestClient(create_app(settings, store), base_url="http://evil.example") as client:
        response = client.post(
            HOOK, json=call("baur", "p-1"), headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 401
    assert "ICAHT_PUBLIC_URL" in response.json()["detail"]


def test_the_context_patient_must_be_the_prefetched_patient(store: StoreSettings) -> None:
    """Item 10: context.patientId naming another patient than the prefetched Patient is 412,
    and nothing is audited under the wrong patient."""
    body = call("baur", "p-1")
    body["context"]["patientId"] = "someone-else"
    with _demo(store) as client:
        response = client.post(HOOK, json=body)
    assert response.status_code == 412
    assert "context.patientId" in response.json()["detail"]
    engine = make_engine(store.url())
    with Session(engine) as session:
        rows = list(audit_rows(session))
    engine.dispose()
    assert not [r for r in rows if r["patient_key"] == "someone-else"]
    assert not [r for r in rows if r["action"] == "cds-patient-view"]


def test_malformed_calls_are_4xx_problems(store: StoreSettings) -> None:
    """Item 6: entries that are not resources and a resource nested 1,000 deep were plain
    500s; a lone surrogate is refused by the JSON parser."""
    with _demo(store) as client:
        body = call("baur", "p-1")
        body["prefetch"]["labs"]["entry"] = [1, 2]
        entries = client.post(HOOK, json=body)
        assert entries.status_code == 422, entries.text
        assert "Bundle.entry[0]" in entries.json()["detail"]
        text = json.dumps(call("baur", "p-1"))
        nested = '[{"extension": ' * 1000 + "[]" + "}]" * 1000
        deep = text.replace(
            '"resourceType": "Observation"',
            f'"resourceType": "Observation", "extension": {nested}',
            1,
        )
        for content in (deep, text.replace('"Practitioner/1"', '"\\ud800"')):
            response = client.post(
                HOOK, content=content, headers={"Content-Type": "application/json"}
            )
            assert response.status_code in (400, 422), response.text
            assert response.headers["content-type"] == "application/problem+json"
