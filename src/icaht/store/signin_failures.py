"""Failed sign-ins per user name and per client address, shared by every server process.

One row per name or address with recent failures: the times of the failures in the current
window (a sliding window: older ones are dropped when the next is counted), and the end of its
lockout. Names and addresses are kept as their SHA-256 only (a mistyped password typed in the
name field never reaches the database). Counting takes the row's lock (``SELECT ... FOR UPDATE``
on PostgreSQL; on SQLite every writer holds the database's writer lock), so failures counted
by two workers at once are both counted. Rows whose window and lockout are over are removed
whenever a failure is counted. Times are wall-clock seconds (every process shares them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from icaht.store.inserts import insert_or_skip
from icaht.store.tables import SignInFailure


@dataclass(frozen=True, slots=True)
class Limit:
    """Failures allowed in ``window`` seconds before a lockout of ``lockout`` seconds."""

    failures: int
    window: float
    lockout: float


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def locked_until(session: Session, kind: str, key: str) -> float:
    """When the lockout of this name or address ends (wall-clock seconds; 0: never locked)."""
    found = session.scalar(
        select(SignInFailure.locked_until).where(
            SignInFailure.kind == kind, SignInFailure.key_hash == _key_hash(key)
        )
    )
    return found or 0.0


def count_failure(session: Session, kind: str, key: str, now: float, limit: Limit) -> None:
    """Count one failure at ``now`` (in the caller's transaction); the limit-th in the window
    locks the name or address for the lockout and starts a new count."""
    session.execute(
        delete(SignInFailure).where(
            and_(
                SignInFailure.last_failure < now - limit.window,
                SignInFailure.locked_until < now,
            )
        )
    )
    digest = _key_hash(key)
    session.execute(
        insert_or_skip(session, SignInFailure).values(
            kind=kind, key_hash=digest, failures=[], last_failure=now, locked_until=0.0
        )
    )
    row = session.scalars(
        select(SignInFailure)
        .where(SignInFailure.kind == kind, SignInFailure.key_hash == digest)
        .with_for_update()
    ).one()
    times = [t for t in row.failures if t > now - limit.window] + [now]
    if len(times) >= limit.failures:
        row.locked_until, times = now + limit.lockout, []
    row.failures, row.last_failure = times, now


def clear(session: Session, kind: str, key: str) -> None:
    """Forget the failures of a name or address (in the caller's transaction)."""
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.kind == kind, SignInFailure.key_hash == _key_hash(key)
        )
    )
