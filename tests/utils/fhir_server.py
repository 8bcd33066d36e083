"""A FHIR R4 server with SMART authorization on loopback, for the pull and SMART launch tests.

Two processes play the EHR:

- **sekmet-fhir** (PyPI, ``sekmet serve``), a real FHIR R4 server: reads, searches with ``_count``
  paging and ``next`` links, bearer tokens and SMART Backend Services (client credentials with a
  signed JWT client assertion checked against the client's JWKS). It is loaded with the
  synthetic examples (``examples/*.json`` written as FHIR by ``icaht.io.fhir.writer``) in a
  transaction Bundle.
- **the EHR front** (FastAPI on uvicorn, in a thread of the test process): a small SMART App
  Launch 2.0 authorization server, since sekmet offers no user launch. It serves
  ``/fhir/.well-known/smart-configuration``, ``/auth/authorize`` (an EHR ``launch`` context or a
  standalone patient choice; redirects back with a code; PKCE S256 required), ``/auth/token``
  (authorization code: redirect URI, client and ``code_verifier`` checked; client credentials are
  passed on to sekmet, which verifies the assertion) and passes ``/fhir/...`` reads to sekmet,
  exchanging the access tokens it issued for sekmet's bearer token. sekmet's ``base_url`` is the
  front, so its ``next`` links and its token audience name the front.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from tests.utils.postgres_harness import free_port

from icaht.io.fhir.writer import record_resources
from icaht.io.records import read_records

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Backend Services clients registered at sekmet: one RSA (RS384) and one EC P-384 (ES384) key
#: each (sekmet tries every key of a client and fails on a key of the other type).
BACKEND_CLIENT = "icaht-backend"
BACKEND_EC_CLIENT = "icaht-backend-ec"
#: The clinician the fixture's authorization server signs in (no login page).
FHIR_USER = "Practitioner/dr-example"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class AppClient:
    """A registered SMART app: public (no keys) or confidential asymmetric (a JWKS)."""

    redirect_uris: list[str]
    jwks: dict[str, Any] | None = None


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    patient: str | None
    expires: float
    used: bool = False


@dataclass
class AuthState:
    """What the authorization server knows; tests read ``events`` and ``issued``."""

    clients: dict[str, AppClient] = field(default_factory=dict)
    launches: dict[str, str] = field(default_factory=dict)
    #: The patient a standalone launch picks (the fixture's stand-in for a patient picker).
    standalone_patient: str | None = None
    grants: dict[str, Grant] = field(default_factory=dict)
    issued: dict[str, str | None] = field(default_factory=dict)
    #: Refusals and checks, e.g. ``pkce-ok``, ``pkce-mismatch``, ``authorize-error:...``.
    events: list[str] = field(default_factory=list)
    #: Tests set this to sign id_tokens with a key the JWKS does not publish (a forgery).
    forge_id_token_with: rsa.RSAPrivateKey | None = None

    def new_launch(self, patient_id: str) -> str:
        """An EHR launch context for a patient (the ``launch`` parameter)."""
        launch = secrets.token_urlsafe(12)
        self.launches[launch] = patient_id
        return launch


@dataclass
class FhirServer:
    """The running EHR: ``base`` is the FHIR base URL clients use."""

    base: str
    root: str
    static_token: str
    backend_rsa_key: Path
    backend_ec_key: Path
    patients: list[str]
    auth: AuthState
    signing_key: rsa.RSAPrivateKey
    sekmet_log: Path


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def public_jwk(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str, alg: str
) -> dict[str, Any]:
    """The public JWK of a key, with ``kid`` and ``alg``."""
    if isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _front(state: AuthState, root: str, sekmet: str, static_token: str, key: Any) -> FastAPI:
    app = FastAPI()
    base = f"{root}/fhir"
    token_url = f"{root}/auth/token"
    upstream = httpx.Client(base_url=sekmet, timeout=30)

    @app.get("/fhir/.well-known/smart-configuration")
    def configuration() -> dict[str, Any]:
        return {
            "issuer": root,
            "jwks_uri": f"{root}/auth/jwks",
            "authorization_endpoint": f"{root}/auth/authorize",
            "token_endpoint": token_url,
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "scopes_supported": [
                "openid",
                "fhirUser",
                "launch",
                "launch/patient",
                "patient/*.read",
            ],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": [
                "launch-ehr",
                "launch-standalone",
                "client-public",
                "client-confidential-asymmetric",
                "context-ehr-patient",
                "context-standalone-patient",
                "sso-openid-connect",
                "permission-v1",
            ],
        }

    @app.get("/auth/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [public_jwk(key, "ehr-id-token", "RS256")]}

    @app.get("/auth/authorize")
    def authorize(request: Request) -> Response:
        q = request.query_params
        client = state.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            state.events.append("authorize-error:client")
            return _oauth_error("invalid_request", "unknown client or redirect_uri")

        def back(**params: str) -> RedirectResponse:
            if q.get("state"):
                params["state"] = q["state"]
            return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", status_code=302)

        scope = q.get("scope", "").split()
        problem = None
        if q.get("response_type") != "code":
            problem = "response_type must be code"
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problem = "PKCE S256 is required"
        elif q.get("aud") != base:
            problem = "aud must be this FHIR server"
        elif not q.get("state"):
            problem = "state is required"
        if problem:
            state.events.append(f"authorize-error:{problem}")
            return back(error="invalid_request", error_description=problem)
        patient: str | None = None
        if "launch" in scope:
            patient = state.launches.get(q.get("launch", ""))
            if patient is None:
                state.events.append("authorize-error:launch")
                return back(error="invalid_request", error_description="unknown launch")
        elif "launch/patient" in scope:
            patient = state.standalone_patient
        code = secrets.token_urlsafe(24)
        state.grants[code] = Grant(
            q["client_id"], redirect_uri, q["code_challenge"], " ".join(scope), patient,
            time.time() + 60,
        )  # fmt: skip
        return back(code=code)

    def _client_ok(form: Any, grant: Grant) -> bool:
        client = state.clients[grant.client_id]
        if client.jwks is None:
            return form.get("client_id") == grant.client_id
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return False
        for jwk in client.jwks["keys"]:
            public = (RSAAlgorithm if jwk["kty"] == "RSA" else ECAlgorithm).from_jwk(jwk)
            try:
                claims = jwt.decode(
                    assertion, public, algorithms=["RS384", "ES384"], audience=token_url
                )
            except jwt.PyJWTError:
                continue
            return bool(claims.get("iss") == claims.get("sub") == grant.client_id)
        return False

    @app.post("/auth/token")
    async def token(request: Request) -> Response:
        body = await request.body()
        form = await request.form()
        if form.get("grant_type") == "client_credentials":  # Backend Services: sekmet checks it
            answer = upstream.post(
                "/auth/token",
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            return Response(answer.content, answer.status_code, media_type="application/json")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "authorization_code only")
        grant = state.grants.get(str(form.get("code", "")))
        if grant is None or grant.used or grant.expires < time.time():
            state.events.append("token-error:code")
            return _oauth_error("invalid_grant", "unknown, used or expired code")
        grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            state.events.append("token-error:redirect_uri")
            return _oauth_error("invalid_grant", "redirect_uri differs")
        if not _client_ok(form, grant):
            state.events.append("token-error:client")
            return _oauth_error("invalid_client", "client authentication failed", 401)
        verifier = str(form.get("code_verifier", ""))
        if not verifier or s256(verifier) != grant.challenge:
            state.events.append("pkce-mismatch")
            return _oauth_error("invalid_grant", "code_verifier does not match")
        state.events.append("pkce-ok")
        access = secrets.token_urlsafe(32)
        state.issued[access] = grant.patient
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": grant.scope,
        }
        if grant.patient:
            answer["patient"] = grant.patient
        if "openid" in grant.scope.split():
            now = int(time.time())
            claims = {
                "iss": root,
                "sub": "dr-example",
                "aud": grant.client_id,
                "iat": now,
                "exp": now + 300,
                "fhirUser": f"{base}/{FHIR_USER}",
            }
            signer = state.forge_id_token_with or key
            answer["id_token"] = jwt.encode(
                claims, signer, algorithm="RS256", headers={"kid": "ehr-id-token"}
            )
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    @app.get("/fhir/{path:path}")
    def fhir(path: str, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        headers = {"Accept": "application/fhir+json"}
        if scheme.lower() == "bearer" and credential in state.issued:
            headers["Authorization"] = f"Bearer {static_token}"
        elif header:
            headers["Authorization"] = header
        answer = upstream.get(f"/fhir/{path}", params=request.query_params, headers=headers)
        return Response(
            answer.content,
            answer.status_code,
            media_type=answer.headers.get("content-type", "application/fhir+json"),
        )

    return app


def _sekmet_command() -> list[str]:
    found = shutil.which("sekmet", path=str(Path(sys.executable).parent)) or shutil.which("sekmet")
    if found is None:
        raise RuntimeError("sekmet-fhir is not installed: pip install -e '.[dev]'")
    return [found]


def _wait(url: str, headers: dict[str, str], what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    shown = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log else ""
    raise RuntimeError(f"{what} did not start: {shown}")


def _load(base: str, token: str, files: list[Path]) -> list[str]:
    entries: list[dict[str, Any]] = []
    patients: list[str] = []
    for path in files:
        for record in read_records(path):
            for resource in record_resources(record):
                if resource["resourceType"] == "Patient":
                    patients.append(resource["id"])
                url = f"{resource['resourceType']}/{resource['id']}"
                entries.append({"resource": resource, "request": {"method": "PUT", "url": url}})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    answer = httpx.post(
        base,
        content=json.dumps(bundle),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=120,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"loading the FHIR server failed: {answer.status_code}")
    return patients


@contextmanager
def fhir_server(workdir: Path, examples: list[str] | None = None) -> Iterator[FhirServer]:
    """Start sekmet and the EHR front on loopback, load the examples, yield, stop both."""
    workdir.mkdir(parents=True, exist_ok=True)
    front_port, sekmet_port = free_port(), free_port()
    root = f"http://127.0.0.1:{front_port}"
    static_token = secrets.token_urlsafe(24)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_jwks = {"keys": [public_jwk(rsa_key, "backend-rsa", "RS384")]}
    ec_jwks = {"keys": [public_jwk(ec_key, "backend-ec", "ES384")]}
    settings = {
        "base_url": f"{root}/fhir",
        "host": "127.0.0.1",
        "port": sekmet_port,
        "data_dir": str(workdir / "sekmet-data"),
        "own_private_key_path": str(workdir / "sekmet-own.pem"),
        "log_inbound": False,
        "simulator": {"enabled": False},
        "validation": {"inbound": "warn"},
        "server_auth": {
            "types": ["bearer", "smart"],
            "tokens": [static_token],
            "smart_clients": [
                {"client_id": BACKEND_CLIENT, "jwks": rsa_jwks, "scopes": "system/*.read"},
                {"client_id": BACKEND_EC_CLIENT, "jwks": ec_jwks, "scopes": "system/*.read"},
            ],
        },
    }
    config = workdir / "sekmet.yaml"
    config.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    log = workdir / "sekmet.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [*_sekmet_command(), "serve", "--config", str(config)],
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SEKMET_CONFIG": str(config)},
        )
    state = AuthState()
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sekmet = f"http://127.0.0.1:{sekmet_port}"
    app = _front(state, root, sekmet, static_token, signing_key)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=front_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        auth = {"Authorization": f"Bearer {static_token}"}
        _wait(f"{sekmet}/fhir/metadata", auth, "sekmet-fhir", log)
        thread.start()
        _wait(f"{root}/fhir/.well-known/smart-configuration", {}, "the EHR front")
        files = [EXAMPLES / name for name in (examples or ["jain-case2.json"])]
        patients = _load(f"{sekmet}/fhir", static_token, files)
        yield FhirServer(
            base=f"{root}/fhir",
            root=root,
            static_token=static_token,
            backend_rsa_key=_pem(rsa_key, workdir / "backend-rsa.pem"),
            backend_ec_key=_pem(ec_key, workdir / "backend-ec.pem"),
            patients=patients,
            auth=state,
            signing_key=signing_key,
            sekmet_log=log,
        )
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(timeout=10)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def send_json(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
    """Answer a request of a plain ``http.server`` test server with a FHIR JSON body."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/fhir+json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
