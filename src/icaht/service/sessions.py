"""Browser sessions and CSRF protection for the dashboard.

A session is a signed cookie (HMAC-SHA256 with a key derived from ``ICAHT_SECRET_KEY``): HttpOnly,
SameSite=Lax, and Secure outside demo mode or whenever the request came over HTTPS. It carries the
username, a random nonce and the time it was issued; the user is looked up again on every request
(a disabled user is signed out at once, a changed role applies at once). Visitors who are not
signed in get an anonymous session, so the sign-in form is CSRF-protected too; signing in issues
a new session (new nonce), so a session fixed before sign-in is worthless afterwards. Signing
out records the session (``store.signed_out``), so a copy of its cookie is refused afterwards.

CSRF: every state-changing form carries a synchronizer token, an HMAC of the session nonce. The
server recomputes it from the session cookie and compares in constant time; a post without the
token, with another session's token or with a forged one is refused (403).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.store.signed_out import is_signed_out
from icaht.store.tables import User

COOKIE = "icaht_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Sessions expire this long after sign-in (project default: one working shift).
SESSION_MAX_AGE_SECONDS = 8 * 3600
#: The user a demo-mode browser is signed in as when no one signed in (same name as the API's
#: demo caller; ``icaht demo`` creates it with a printed password).
DEMO_USER = "demo"
DEMO_ROLE = "clinician"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """The content of a session cookie. ``username`` is None before sign-in."""

    nonce: str
    issued: int
    username: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.username is not None


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """A user signed in through the browser, as found in the database now."""

    username: str
    role: str
    session: BrowserSession


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and verifies session cookies and derives CSRF tokens from one secret."""

    def __init__(self, secret_key: str, *, demo: bool) -> None:
        root = secret_key.encode("utf-8")
        self._sign_key = hashlib.sha256(b"icaht-session-signing\x00" + root).digest()
        self._csrf_key = hashlib.sha256(b"icaht-csrf\x00" + root).digest()
        self.demo = demo

    # -- sessions -----------------------------------------------------------------------------
    def new(self, username: str | None = None) -> BrowserSession:
        """A fresh session (new nonce) for a user, or anonymous."""
        return BrowserSession(secrets.token_urlsafe(24), int(time.time()), username)

    def encode(self, session: BrowserSession) -> str:
        payload = {"n": session.nonce, "t": session.issued, "u": session.username}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return body + "." + self._signature(body)

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self._sign_key, body.encode("ascii"), hashlib.sha256).digest())

    def decode(self, cookie: str | None, now: float | None = None) -> BrowserSession | None:
        """The session in a cookie value if its signature is valid and it has not expired."""
        if not cookie or "." not in cookie:
            return None
        body, _, signature = cookie.partition(".")
        try:
            if not hmac.compare_digest(self._signature(body), signature):
                return None
            data: dict[str, Any] = json.loads(_unb64(body))
        except (ValueError, UnicodeError):
            return None
        nonce, issued, username = data.get("n"), data.get("t"), data.get("u")
        if not isinstance(nonce, str) or not isinstance(issued, int):
            return None
        if username is not None and not isinstance(username, str):
            return None
        age = (time.time() if now is None else now) - issued
        if age < -60 or age > SESSION_MAX_AGE_SECONDS:
            return None
        return BrowserSession(nonce, issued, username)

    def read(self, request: Request) -> BrowserSession | None:
        """The request's session cookie, when valid."""
        return self.decode(request.cookies.get(COOKIE))

    def write(self, response: Response, request: Request, session: BrowserSession) -> None:
        """Set the session cookie on a response."""
        response.set_cookie(
            COOKIE,
            self.encode(session),
            max_age=SESSION_MAX_AGE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
        )

    def secure(self, request: Request) -> bool:
        """The Secure flag: always outside demo mode, and whenever the request is HTTPS."""
        return not self.demo or request.url.scheme == "https"

    def expires_at(self, session: BrowserSession) -> datetime:
        """When a session's cookie expires."""
        return datetime.fromtimestamp(session.issued + SESSION_MAX_AGE_SECONDS, UTC)

    # -- CSRF ---------------------------------------------------------------------------------
    def csrf_token(self, session: BrowserSession) -> str:
        """The synchronizer token of a session (bound to its nonce)."""
        digest = hmac.new(self._csrf_key, session.nonce.encode("ascii"), hashlib.sha256).digest()
        return _b64(digest)

    def csrf_valid(self, session: BrowserSession | None, token: str | None) -> bool:
        """True when ``token`` is this session's CSRF token (constant-time comparison)."""
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)


def codec(request: Request) -> SessionCodec:
    """The application's session codec (created on first use from the service settings)."""
    state = request.app.state
    found: SessionCodec | None = getattr(state, "session_codec", None)
    if found is None:
        settings = state.settings
        found = SessionCodec(settings.secret_key, demo=settings.demo)
        state.session_codec = found
    return found


def signed_in_user(request: Request, db: Session) -> SignedInUser | None:
    """The user of a valid signed-in session cookie, checked against the database now.

    In demo mode the demo user is accepted even when it has no database row (a database
    prepared with ``icaht db upgrade`` only)."""
    manager = codec(request)
    session = manager.read(request)
    if session is None or session.username is None or is_signed_out(db, session.nonce):
        return None
    user = db.scalars(select(User).where(User.username == session.username)).first()
    if user is None:
        if manager.demo and session.username == DEMO_USER:
            return SignedInUser(DEMO_USER, DEMO_ROLE, session)
        return None
    if user.disabled_at is not None:
        return None
    return SignedInUser(user.username, user.role, session)


def signed_in(session: BrowserSession, username: str) -> BrowserSession:
    """The session after signing in: a new nonce, so earlier tokens and cookies are void."""
    return replace(
        session, nonce=secrets.token_urlsafe(24), issued=int(time.time()), username=username
    )
