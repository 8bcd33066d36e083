"""Users, roles and API tokens.

Passwords are hashed with scrypt (standard library) and a per-user salt; API tokens are random
(``secrets``), shown once, stored only as their SHA-256 hash, expire and can be revoked.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.errors import IcahtError
from icaht.store.tables import ApiToken, User

Role = Literal["clinician", "researcher", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "icaht_"
MIN_PASSWORD_LENGTH = 12  # project default
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AccountError(IcahtError):
    """A user or token operation that cannot be done (unknown user, weak password, ...)."""


class UnknownUserError(AccountError):
    """No user has this name."""


def hash_password(password: str) -> str:
    """``scrypt$<salt hex>$<hash hex>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison of a password with its stored hash."""
    scheme, salt_hex, digest_hex = stored.split("$")
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def create_user(session: Session, username: str, password: str, role: str) -> User:
    """Add a user; refuses an unknown role, a short password or a taken name."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise AccountError(f"user {username!r} exists")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


@functools.cache
def _no_user_hash() -> str:
    """A hash to check passwords against when there is no such user (made once)."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None. An unknown or disabled user
    costs the same password hash as a known one, so the time taken does not tell them apart."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or user.disabled_at is not None:
        check_password(password, _no_user_hash())
        return None
    return user if check_password(password, user.password_hash) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``secret`` is shown once and never stored."""

    id: int
    secret: str
    expires_at: datetime


def create_token(session: Session, username: str, name: str, days: int) -> IssuedToken:
    """Issue an API token for a user, valid for ``days`` days."""
    user = _user(session, username)
    if days < 1:
        raise AccountError("a token must be valid for at least 1 day")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_token_hash(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return IssuedToken(token.id, secret, token.expires_at)


def revoke_token(session: Session, token_id: int) -> None:
    """Revoke a token by id (revoking twice is harmless)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user of a valid (known, unexpired, unrevoked) token, else None."""
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(secret))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    expires = token.expires_at
    if expires.tzinfo is None:  # SQLite returns naive datetimes (stored as UTC)
        expires = expires.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    user = session.get(User, token.user_id)
    return None if user is None or user.disabled_at is not None else user


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise UnknownUserError(f"no user {username!r}")
    return user


def set_disabled(session: Session, username: str, *, disabled: bool) -> bool:
    """Disable (or enable again) a user; a disabled user's tokens and browser sessions are
    refused from their next request (both are checked against the user on every request).
    True when it changed anything (the caller audits)."""
    user = _user(session, username)
    if (user.disabled_at is not None) == disabled:
        return False
    user.disabled_at = datetime.now(UTC) if disabled else None
    return True


def set_role(session: Session, username: str, role: str) -> str:
    """Give a user another role (applies from their next request); returns the old role."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    user = _user(session, username)
    old, user.role = user.role, role
    return old
