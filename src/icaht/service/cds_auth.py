"""Trusting CDS clients (CDS Hooks 2.0, section "Trusting CDS Clients").

A client (the EHR) signs every call with a JSON Web Token in ``Authorization: Bearer``: header
``alg`` (ES384 or RS384), ``kid`` and ``typ``; claims ``iss`` (the client), ``aud`` (the absolute
URL of the service endpoint called), ``exp`` (at most five minutes after ``iat``), ``iat`` and
``jti`` (unique). icaht accepts a token when its issuer is configured (``ICAHT_CDS_CLIENTS``: a
JSON object of issuer -> JWKS URL or client settings), its signature verifies against that JWKS
(fetched and kept; a ``jku`` header is honoured only when it equals the configured URL), the
audience is this endpoint under ``ICAHT_PUBLIC_URL`` (never built from the request's Host
header: without the setting a signed call is refused), it has not expired, and its ``jti`` was
not used before (recorded in the database, so a replay is refused by every server process).
Outside demo mode an unsigned call is refused. The token is never logged or stored; only its
``jti`` and issuer are. Errors never quote what the JWKS URL answered.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from fastapi import HTTPException, Request
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from icaht.service.loop_writes import write_soon
from icaht.store.inserts import insert_or_skip
from icaht.store.tables import TokenUse

ALGORITHMS = ("ES384", "RS384")
#: CDS Hooks 2.0: "exp ... no more than 5 minutes in the future" of the token's issue.
MAX_LIFETIME_S = 300
#: Project default: how long a client's signing key is used before its JWKS is fetched again.
KEY_SECONDS = 300
#: Project default: clock skew tolerated between client and service.
LEEWAY_S = 30
DEMO_CLIENT = "demo (unsigned)"


class JwksClients:
    """The signing keys of the configured issuers' JWKS (thread-safe). A key is looked up in a
    worker thread, never on the event loop that serves CDS calls, and then used for
    :data:`KEY_SECONDS`. The lookup reads the JWKS kept by PyJWT's client (fetched again after
    the same time, or for a ``kid`` it does not hold, at most every 30 s)."""

    def __init__(self) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._keys: dict[tuple[str, str | None], tuple[float, jwt.PyJWK]] = {}
        self._lock = threading.Lock()

    def _client(self, url: str) -> jwt.PyJWKClient:
        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = jwt.PyJWKClient(url, cache_keys=False, lifespan=KEY_SECONDS, timeout=10)
                self._clients[url] = client
            return client

    async def signing_key(self, url: str, token: str, kid: str | None) -> jwt.PyJWK:
        """The key that signed ``token`` (its header's ``kid``), from the JWKS at ``url``."""
        now = time.monotonic()
        with self._lock:
            kept = self._keys.get((url, kid))
        if kept is not None and now - kept[0] < KEY_SECONDS:
            return kept[1]
        key = await run_in_threadpool(self._client(url).get_signing_key_from_jwt, token)
        with self._lock:
            self._keys[(url, kid)] = (now, key)
        return key


def _refuse(reason: str) -> HTTPException:
    return HTTPException(401, f"CDS client not trusted: {reason}")


def audience(request: Request, public_url: str | None) -> str:
    """The absolute URL of the endpoint called: ``ICAHT_PUBLIC_URL`` + path (the Host header
    is the caller's to choose, so it never makes the audience)."""
    if not public_url:
        raise _refuse("ICAHT_PUBLIC_URL is not set, so the token's audience cannot be checked")
    return public_url.rstrip("/") + request.url.path


async def verify_client(request: Request, session: Session) -> str:
    """The issuer of a valid client token (or the demo client in demo mode); 401 otherwise.
    Runs on the event loop: the JWKS is fetched and the ``jti`` written without holding it
    (:class:`JwksClients`, ``service.loop_writes``)."""
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if settings.demo:
            return DEMO_CLIENT
        raise _refuse("a signed JWT is required (Authorization: Bearer)")
    token = token.strip()
    try:
        head = jwt.get_unverified_header(token)
        unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _refuse(f"malformed token ({type(exc).__name__})") from None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or (client := settings.cds_client(issuer)) is None:
        raise _refuse("unknown issuer")
    if head.get("alg") not in ALGORITHMS:
        raise _refuse(f"algorithm must be one of {', '.join(ALGORITHMS)}")
    jwks_url = client.jwks
    expected = audience(request, settings.public_url)
    if head.get("jku") not in (None, jwks_url):
        raise _refuse("jku is not the issuer's configured JWKS URL")
    kid: str | None = head.get("kid")  # PyJWT refuses a header whose kid is not a string
    try:
        key = await request.app.state.jwks.signing_key(jwks_url, token, kid)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[head["alg"]],
            audience=expected,
            issuer=issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except (jwt.PyJWKClientError, ValueError) as exc:
        # Never the exception's text: it may quote what the JWKS URL answered.
        raise _refuse(f"no usable signing key ({type(exc).__name__})") from None
    except jwt.PyJWTError as exc:
        raise _refuse(str(exc)) from None
    if int(claims["exp"]) - int(claims["iat"]) > MAX_LIFETIME_S:
        raise _refuse("exp is more than 5 minutes after iat")
    jti, expires = str(claims["jti"]), int(claims["exp"])
    await write_soon(session, lambda: _use_once(session, jti, issuer, expires))
    return issuer


def _use_once(session: Session, jti: str, issuer: str, exp: int) -> None:
    """Record the jti, refusing one already used (expired records are dropped first)."""
    session.execute(delete(TokenUse).where(TokenUse.expires_at < datetime.now(UTC)))
    inserted = session.execute(
        insert_or_skip(session, TokenUse)
        .values(
            jti=f"{issuer}|{jti}"[:256],
            issuer=issuer[:512],
            expires_at=datetime.fromtimestamp(exp + LEEWAY_S, UTC),
        )
        .returning(TokenUse.jti)
    ).scalar_one_or_none()
    session.commit()
    if inserted is None:
        raise _refuse("jti already used (replay)")
