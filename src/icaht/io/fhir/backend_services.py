"""SMART Backend Services (client credentials with a signed JWT client assertion, RS384 or
ES384): the token endpoint discovered from ``<base>/.well-known/smart-configuration``, and a new
token before the last one expires, or when the server answers 401."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from icaht.errors import IcahtError, InputError, Problem
from icaht.io.fhir.server import PullError, get_json, shown_url

#: Default scope asked by SMART Backend Services.
BACKEND_SCOPE = "system/*.read"


#: Lifetime of a client assertion (the SMART specification allows at most five minutes).
ASSERTION_SECONDS = 300


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


#: Project default: seconds a Backend Services token is taken to last when the token endpoint
#: gives no ``expires_in`` (the SMART specification recommends at most five minutes).
TOKEN_SECONDS = 300.0


#: Project default: a Backend Services token is renewed this many seconds before it expires.
TOKEN_MARGIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class BackendClient:
    """A SMART Backend Services client: its id and private key (PEM, RSA or EC P-384)."""

    client_id: str
    key_file: Path
    kid: str | None = None
    scope: str = BACKEND_SCOPE


def smart_configuration(client: httpx.Client, base: str) -> dict[str, Any]:
    """``<base>/.well-known/smart-configuration`` (SMART App Launch 2.0 discovery)."""
    data = get_json(client, base.rstrip("/") + "/.well-known/smart-configuration")
    if not isinstance(data, dict):
        raise PullError(f"{shown_url(base)}: the SMART configuration is not a JSON object")
    return data


def load_private_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        problem = Problem(str(path), f"cannot read the key file: {exc.strerror}")
        raise InputError([problem]) from None
    except (ValueError, TypeError):
        raise InputError([Problem(str(path), "not an unencrypted PEM private key")]) from None
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise InputError([Problem(str(path), "the key must be RSA (RS384) or EC P-384 (ES384)")])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_thumbprint(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """The RFC 7638 JWK thumbprint of the key's public part (used as ``kid`` by default)."""
    public = key.public_key()
    members: dict[str, str]
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        members = {"e": _b64(e), "kty": "RSA", "n": _b64(n)}
    else:
        point = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        members = {
            "crv": "P-384" if public.curve.key_size == 384 else f"P-{public.curve.key_size}",
            "kty": "EC",
            "x": _b64(point.x.to_bytes(size, "big")),
            "y": _b64(point.y.to_bytes(size, "big")),
        }
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _b64(hashlib.sha256(canonical).digest())


def client_assertion(
    client_id: str,
    token_url: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    kid: str | None = None,
) -> str:
    """A signed JWT client assertion (RS384 for RSA keys, ES384 for EC keys)."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size != 384:
        raise IcahtError("an EC key for ES384 must be on the P-384 curve")
    algorithm = "RS384" if isinstance(key, rsa.RSAPrivateKey) else "ES384"
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now + ASSERTION_SECONDS,
        "iat": now,
        "jti": secrets.token_urlsafe(24),
    }
    headers = {"kid": kid or key_thumbprint(key), "typ": "JWT"}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def backend_token(client: httpx.Client, base: str, backend: BackendClient) -> tuple[str, float]:
    """An access token by SMART Backend Services (token endpoint from discovery), and the
    seconds it lasts (``expires_in``; :data:`TOKEN_SECONDS` when the answer does not say)."""
    key = load_private_key(backend.key_file)
    config = smart_configuration(client, base)
    token_url = config.get("token_endpoint")
    if not isinstance(token_url, str) or not token_url:
        raise PullError(f"{shown_url(base)}: the SMART configuration names no token_endpoint")
    form = {
        "grant_type": "client_credentials",
        "scope": backend.scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(backend.client_id, token_url, key, backend.kid),
    }
    try:
        response = client.post(token_url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise PullError(f"cannot reach the token endpoint {shown_url(token_url)}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200 or not isinstance(data, dict):
        error = data.get("error") if isinstance(data, dict) else None
        raise PullError(
            f"the token endpoint {shown_url(token_url)} refused the client "
            f"({response.status_code}{', ' + str(error) if error else ''})"
        )
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise PullError(f"the token endpoint {shown_url(token_url)} returned no access_token")
    lasts = data.get("expires_in")
    if isinstance(lasts, bool) or not isinstance(lasts, int | float) or lasts <= 0:
        return token, TOKEN_SECONDS
    return token, float(lasts)


class BackendAuth(httpx.Auth):
    """SMART Backend Services on every request of a pull. Backend Services has no refresh
    token: a client asks for a new access token when its token expires. This one asks again
    when less than :data:`TOKEN_MARGIN_SECONDS` (at most half) of the token's ``expires_in``
    remain, and once
    more when the FHIR server answers 401 (a token revoked or expired early), then repeats the
    request. Tokens are asked with a client of their own (no FHIR authorization)."""

    def __init__(self, token_client: httpx.Client, base: str, backend: BackendClient) -> None:
        self._client = token_client
        self._base = base
        self._backend = backend
        self._token = ""
        self._renew_at = 0.0

    def _renewed(self) -> str:
        self._token, lasts = backend_token(self._client, self._base, self._backend)
        self._renew_at = time.monotonic() + lasts - min(TOKEN_MARGIN_SECONDS, lasts / 2)
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token if time.monotonic() < self._renew_at else self._renewed()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._renewed()}"
            yield request
