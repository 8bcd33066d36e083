"""SMART Backend Services tokens renewed during a pull
(``icaht.io.fhir.backend_services.BackendAuth``),
against a small FHIR server and token endpoint on loopback (real HTTP): a token the server
revokes mid-pull (401) is replaced and the refused request repeated; a token about to expire is
replaced before it is sent; a server refusing the new token too stops the pull with the 401."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.utils.fhir_server import send_json

from icaht.io.fhir.backend_services import BackendClient
from icaht.io.fhir.pull import pull_patient
from icaht.io.fhir.server import PullError

PATIENT = "p-1"


@dataclass
class Ehr:
    """What the server did: tokens issued, and the token each FHIR request carried."""

    base: str
    expires_in: float = 3600
    revoke_after: int | None = None  # FHIR requests after which every issued token is refused
    delay_s: float = 0.0  # before answering the Patient read
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, token)


def _handler(ehr: Ehr) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _send(self, status: int, body: dict[str, object]) -> None:
            send_json(self, status, body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            token = f"token-{len(ehr.issued) + 1}"
            ehr.issued.append(token)
            self._send(200, {"access_token": token, "expires_in": ehr.expires_in})

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path.endswith("/.well-known/smart-configuration"):
                self._send(200, {"token_endpoint": f"{ehr.base}/token"})
                return
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            ehr.seen.append((path, token))
            if ehr.revoke_after is not None and len(ehr.seen) > ehr.revoke_after:
                ehr.revoked |= set(ehr.issued[:-1]) if len(ehr.issued) > 1 else set(ehr.issued)
            if token not in ehr.issued or token in ehr.revoked:
                self._send(401, {"resourceType": "OperationOutcome"})
                return
            if path.endswith(f"/Patient/{PATIENT}"):
                time.sleep(ehr.delay_s)
                self._send(200, {"resourceType": "Patient", "id": PATIENT, "gender": "female"})
                return
            self._send(200, {"resourceType": "Bundle", "type": "searchset", "entry": []})

    return Handler


@pytest.fixture
def ehr() -> Iterator[Ehr]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Ehr(f"http://127.0.0.1:{server.server_address[1]}/fhir")
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def backend(tmp_path: Path) -> BackendClient:
    key = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return BackendClient("icaht-test", path)


def test_a_token_revoked_mid_pull_is_replaced_and_the_request_repeated(
    ehr: Ehr, backend: BackendClient
) -> None:
    ehr.revoke_after = 3
    record, _ = pull_patient(ehr.base, PATIENT, backend=backend)
    assert record.patient.patient_id == PATIENT
    assert ehr.issued == ["token-1", "token-2"]
    refused = ehr.seen[3]
    assert refused[1] == "token-1"
    assert ehr.seen[4] == (refused[0], "token-2")  # the same request again, with the new token
    assert {token for _, token in ehr.seen[4:]} == {"token-2"}


def test_a_token_about_to_expire_is_replaced_before_it_is_sent(
    ehr: Ehr, backend: BackendClient
) -> None:
    """A token of 1 s is renewed half-way (``TOKEN_MARGIN_SECONDS`` is at most half its life):
    the searches after a Patient read of 0.6 s carry a new token, none was refused."""
    ehr.expires_in, ehr.delay_s = 1, 0.6
    pull_patient(ehr.base, PATIENT, backend=backend)
    assert ehr.issued == ["token-1", "token-2"]
    # the CapabilityStatement (issue 17: pull searches what the server declares), then the
    # Patient read, with the first token
    assert [token for _, token in ehr.seen[:2]] == ["token-1", "token-1"]
    assert ehr.seen[1][0].endswith(f"/Patient/{PATIENT}")
    assert {token for _, token in ehr.seen[2:]} == {"token-2"}


def test_a_server_refusing_the_new_token_too_stops_the_pull(
    ehr: Ehr, backend: BackendClient
) -> None:
    ehr.revoked.update(f"token-{i}" for i in range(1, 5))
    with pytest.raises(PullError, match=r"refused the credentials \(401\)"):
        pull_patient(ehr.base, PATIENT, backend=backend)
    assert ehr.issued == ["token-1", "token-2"]  # one renewal per refused request, not a loop
