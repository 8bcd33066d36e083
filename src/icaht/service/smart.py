"""SMART App Launch 2.0: open a patient's dashboard page from the EHR.

- ``GET /smart/launch?iss=<FHIR base>&launch=<context>``: EHR launch (scope ``launch``).
- ``GET /smart/launch?iss=<FHIR base>`` or ``GET /smart/launch`` (``ICAHT_SMART_FHIR_BASE``):
  standalone launch (scope ``launch/patient``: the EHR asks the user to pick a patient).
- ``GET /smart/callback``: the authorization server's redirect with ``code`` and ``state``.

The launch discovers ``<iss>/.well-known/smart-configuration``, then redirects the browser to the
authorization endpoint with a random ``state`` and PKCE (S256). The state, the code verifier and
the endpoints travel in a short-lived cookie encrypted and authenticated with a key derived from
``ICAHT_SECRET_KEY`` (Fernet), so any worker process can finish the launch. The callback checks
the state (constant time), exchanges the code (with the verifier; as a public client, or
confidential with a signed JWT assertion or a client secret), reads ``patient`` from the token
response and the user from the id_token (signature checked against the server's JWKS), pulls
the patient's data from the FHIR server with the access token (:mod:`icaht.io.fhir.pull`),
stores it (idempotent import), signs the browser in and redirects to ``/patient?id=<id>``.

Users (a project decision, see README.md, EHR integration): the EHR vouches for the clinician,
so the first launch provisions a user named ``smart:<fhirUser>`` (else ``smart:<sub>``) with the
clinician role and a random password nobody knows (it can only sign in through the EHR). An
administrator can disable it or change its role like any user; a disabled user is refused. A
launch whose id_token names nobody is refused, so every audit entry names a person.

Only FHIR bases listed in ``ICAHT_SMART_ISSUERS`` (or ``ICAHT_SMART_FHIR_BASE``) are contacted: an
``iss`` from anywhere else is refused (no requests to arbitrary hosts). The access token is used
for the pull and dropped: never stored, logged or shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from icaht import NOT_A_MEDICAL_DEVICE
from icaht.errors import IcahtError
from icaht.io.fhir.backend_services import client_assertion, load_private_key
from icaht.io.fhir.pull import pull_patient
from icaht.service.sessions import codec, signed_in
from icaht.service.settings import ServiceSettings
from icaht.store.audit import audit
from icaht.store.lookup import DeletedPatientError
from icaht.store.patients import import_records
from icaht.store.tables import User
from icaht.store.users import create_user

router = APIRouter(prefix="/smart", include_in_schema=False)

COOKIE = "icaht_smart"
#: Project default: seconds a launch may take from redirect to callback.
LAUNCH_MAX_AGE_SECONDS = 600
#: Project default: seconds for one request to the EHR.
EHR_TIMEOUT_SECONDS = 30.0
USER_PREFIX = "smart:"
SMART_ROLE = "clinician"
_USERNAME_MAX = 128
_ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]


class LaunchError(IcahtError):
    """A launch that cannot go on (shown to the user, status 400 unless set)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Pending:
    """A launch waiting for its callback (the content of the encrypted cookie)."""

    state: str
    verifier: str
    iss: str
    token_endpoint: str
    issuer: str | None
    jwks_uri: str | None


def _fernet(settings: ServiceSettings) -> Fernet:
    digest = hashlib.sha256(b"icaht-smart-launch\x00" + settings.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def _page(status: int, message: str) -> HTMLResponse:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>EHR launch</title></head>"
        f"<body><h1>EHR launch not completed</h1><p>{html.escape(message)}</p>"
        f"<p>{NOT_A_MEDICAL_DEVICE}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _norm(url: str) -> str:
    return url.rstrip("/")


def _trusted(settings: ServiceSettings, iss: str) -> bool:
    allowed = {_norm(u) for u in settings.smart_issuers}
    if settings.smart_fhir_base:
        allowed.add(_norm(settings.smart_fhir_base))
    return _norm(iss) in allowed


def _scopes(settings: ServiceSettings, ehr_launch: bool) -> str:
    """The configured scopes for this kind of launch (``launch`` for an EHR launch,
    ``launch/patient`` for a standalone one)."""
    drop = "launch/patient" if ehr_launch else "launch"
    return " ".join(s for s in settings.smart_scopes.split() if s != drop)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def _json(client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError:
        raise LaunchError(f"the EHR's {what} could not be read", 502) from None
    if response.status_code != 200:
        raise LaunchError(f"the EHR's {what} answered {response.status_code}", 502)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise LaunchError(f"the EHR's {what} is not a JSON object", 502)
    return data


@router.get("/launch")
async def launch(request: Request, iss: str | None = None, launch: str | None = None) -> Response:
    settings = _settings(request)
    if not settings.smart_client_id or not settings.smart_redirect_url:
        return _page(404, "SMART launch is not configured on this server.")
    iss = iss or settings.smart_fhir_base
    if not iss:
        return _page(400, "No FHIR server: the launch names no iss and no default is set.")
    if not _trusted(settings, iss):
        return _page(400, "This FHIR server is not a trusted launch issuer.")
    try:
        async with httpx.AsyncClient(timeout=EHR_TIMEOUT_SECONDS) as client:
            config = await _json(
                client, _norm(iss) + "/.well-known/smart-configuration", "SMART configuration"
            )
    except LaunchError as exc:
        return _page(exc.status, str(exc))
    authorize = config.get("authorization_endpoint")
    token_endpoint = config.get("token_endpoint")
    if not isinstance(authorize, str) or not isinstance(token_endpoint, str):
        return _page(502, "The EHR's SMART configuration lacks its endpoints.")
    methods = config.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        return _page(502, "The EHR does not support PKCE with S256.")
    jwks_uri, issuer = config.get("jwks_uri"), config.get("issuer")
    pending = Pending(
        state=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        iss=_norm(iss),
        token_endpoint=token_endpoint,
        issuer=issuer if isinstance(issuer, str) else None,
        jwks_uri=jwks_uri if isinstance(jwks_uri, str) else None,
    )
    params = {
        "response_type": "code",
        "client_id": settings.smart_client_id,
        "redirect_uri": settings.smart_redirect_url,
        "scope": _scopes(settings, launch is not None),
        "state": pending.state,
        "aud": iss,
        "code_challenge": _s256(pending.verifier),
        "code_challenge_method": "S256",
    }
    if launch is not None:
        params["launch"] = launch
    separator = "&" if "?" in authorize else "?"
    response = RedirectResponse(f"{authorize}{separator}{urlencode(params)}", status_code=302)
    sealed = _fernet(settings).encrypt(json.dumps(asdict(pending)).encode())
    response.set_cookie(
        COOKIE,
        sealed.decode("ascii"),
        max_age=LAUNCH_MAX_AGE_SECONDS,
        path="/smart",
        httponly=True,
        samesite="lax",
        secure=codec(request).secure(request),
    )
    return response


def _pending(request: Request) -> Pending | None:
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        return None
    try:
        raw = _fernet(_settings(request)).decrypt(sealed.encode(), ttl=LAUNCH_MAX_AGE_SECONDS)
        data = json.loads(raw)
        return Pending(**data)
    except (InvalidToken, ValueError, TypeError):
        return None


def _client_auth(settings: ServiceSettings, token_endpoint: str) -> tuple[dict[str, str], Any]:
    """Form fields and HTTP auth of the token request for the client type."""
    client_id = settings.smart_client_id or ""
    if settings.smart_key_file:
        key = load_private_key(Path(settings.smart_key_file))
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(client_id, token_endpoint, key),
        }, None
    if settings.smart_client_secret:
        return {}, httpx.BasicAuth(client_id, settings.smart_client_secret)
    return {"client_id": client_id}, None


async def _exchange(
    client: httpx.AsyncClient, settings: ServiceSettings, pending: Pending, code: str
) -> dict[str, Any]:
    fields, auth = _client_auth(settings, pending.token_endpoint)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.smart_redirect_url or "",
        "code_verifier": pending.verifier,
        **fields,
    }
    try:
        response = await client.post(
            pending.token_endpoint,
            data=form,
            headers={"Accept": "application/json"},
            **({"auth": auth} if auth is not None else {}),
        )
    except httpx.HTTPError:
        raise LaunchError("the EHR's token endpoint could not be reached", 502) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200 or not isinstance(data, dict):
        error = data.get("error") if isinstance(data, dict) else None
        raise LaunchError(
            f"the EHR refused the authorization code ({response.status_code}"
            f"{', ' + str(error) if error else ''})"
        )
    return data


async def _user_claims(
    client: httpx.AsyncClient, settings: ServiceSettings, pending: Pending, id_token: str
) -> dict[str, Any]:
    """The id_token's claims after checking its signature, audience and issuer."""
    if not pending.jwks_uri:
        raise LaunchError("the EHR publishes no jwks_uri: the id_token cannot be checked")
    keys = await _json(client, pending.jwks_uri, "JWKS")
    try:
        kid = jwt.get_unverified_header(id_token).get("kid")
        jwk_set = jwt.PyJWKSet.from_dict(keys)
        candidates = [k for k in jwk_set.keys if kid is None or k.key_id == kid]
    except jwt.PyJWTError:
        raise LaunchError("the id_token or the EHR's JWKS is malformed") from None
    for key in candidates:
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=_ID_TOKEN_ALGORITHMS,
                audience=settings.smart_client_id,
                issuer=pending.issuer,
                options={"require": ["exp", "iat", "iss", "sub"]},
            )
            return claims
        except jwt.PyJWTError:
            continue
    raise LaunchError("the id_token's signature, audience, issuer or expiry is not valid")


def _username(claims: dict[str, Any]) -> str:
    who = claims.get("fhirUser") or claims.get("sub")
    if not isinstance(who, str) or not who:
        raise LaunchError("the EHR did not identify the user (scopes openid fhirUser)")
    name = USER_PREFIX + who
    if len(name) > _USERNAME_MAX:
        digest = hashlib.sha256(who.encode("utf-8")).hexdigest()[:32]
        name = f"{USER_PREFIX}{who[: _USERNAME_MAX - len(USER_PREFIX) - 33]}#{digest}"
    return name


@router.get("/callback")
async def callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    settings = _settings(request)
    pending = _pending(request)
    if pending is None:
        return _page(400, "No launch is waiting (expired or started elsewhere): launch again.")
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        return _page(400, "The state does not match this browser's launch: refused.")
    if error:
        return _page(400, f"The EHR refused the launch: {error[:100]}.")
    if not code:
        return _page(400, "The EHR sent no authorization code.")
    try:
        async with httpx.AsyncClient(timeout=EHR_TIMEOUT_SECONDS) as client:
            token = await _exchange(client, settings, pending, code)
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise LaunchError("the EHR sent no id_token (scope openid fhirUser)")
            username = _username(await _user_claims(client, settings, pending, id_token))
        patient_id = token.get("patient")
        access = token.get("access_token")
        if not isinstance(patient_id, str) or not patient_id:
            raise LaunchError("the EHR gave no patient in context")
        if not isinstance(access, str) or not access:
            raise LaunchError("the EHR sent no access token")
        record, _ = await run_in_threadpool(pull_patient, pending.iss, patient_id, token=access)
        del access, token
        key = record.patient.patient_id
        await run_in_threadpool(_store, request, record, username, pending.iss)
    except LaunchError as exc:
        return _page(exc.status, str(exc))
    except DeletedPatientError as exc:  # an admin's delete stands (issue 18 item 3)
        return _page(409, f"This patient is not opened: {exc.problems[0].message}.")
    except IcahtError as exc:
        return _page(502, f"The patient's data could not be read from the EHR: {exc}")
    response = RedirectResponse("/patient?" + urlencode({"id": key}), status_code=303)
    manager = codec(request)
    session = manager.read(request) or manager.new()
    manager.write(response, request, signed_in(session, username))
    response.delete_cookie(COOKIE, path="/smart", httponly=True, samesite="lax")
    return response


def _store(request: Request, record: Any, username: str, iss: str) -> None:
    """Provision the SMART user, import the record and audit, in one transaction."""
    remote = request.client.host if request.client else None
    with request.app.state.sessions() as db, db.begin():
        user = db.scalars(select(User).where(User.username == username)).first()
        if user is None:
            create_user(db, username, secrets.token_urlsafe(32), SMART_ROLE)
            audit(db, actor=username, action="smart-user-created", remote=remote)
        elif user.disabled_at is not None:
            raise LaunchError("this EHR user is disabled here", 403)
        key = record.patient.patient_id
        summary = import_records(db, [record], f"{iss}/Patient", actor=username, remote=remote)
        audit(
            db,
            actor=username,
            action="smart-launch",
            patient_key=key,
            remote=remote,
            detail={
                "iss": iss,
                "observations_added": summary.observations_added,
                "events_added": summary.events_added,
            },
        )
