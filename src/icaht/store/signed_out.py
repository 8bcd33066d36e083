"""Signed-out browser sessions. A session cookie is signed, so it stays valid until it expires
even after its owner signs out; signing out therefore records the session (the SHA-256 of its
random nonce, never the nonce) until that expiry, and a recorded session is refused. Expired
records are removed whenever a new one is added."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from icaht.store.inserts import insert_or_skip
from icaht.store.tables import SignedOutSession


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def sign_out(session: Session, nonce: str, expires_at: datetime) -> None:
    """Record a session as signed out until ``expires_at`` (in the caller's transaction)."""
    session.execute(delete(SignedOutSession).where(SignedOutSession.expires_at < datetime.now(UTC)))
    session.execute(
        insert_or_skip(session, SignedOutSession).values(
            nonce_hash=_nonce_hash(nonce), expires_at=expires_at
        )
    )


def is_signed_out(session: Session, nonce: str) -> bool:
    """True when the session with this nonce was signed out."""
    found = session.scalar(
        select(SignedOutSession.nonce_hash).where(SignedOutSession.nonce_hash == _nonce_hash(nonce))
    )
    return found is not None
