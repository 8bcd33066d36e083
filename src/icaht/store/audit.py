"""The append-only audit log and the record of assessments shown. Entries name the actor, the
patient key and the remote address; no clinical values are written to application logs.

Tamper evidence: each entry stores ``row_hash`` = SHA-256 of the previous entry's ``row_hash``
and its own content, so changing, removing or inserting an entry breaks the chain from there on
(:func:`verify_chain`, ``icaht audit verify``); the ``audit_head`` row keeps the last hash and the
number of entries, so removing the newest entries is detected too. Appending first updates that
row, which takes its lock (PostgreSQL) or the writer lock (SQLite), so concurrent writers chain
one after another. A database trigger refuses UPDATE and DELETE on the audit table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from icaht.store.tables import AssessmentShown, AuditEntry, AuditHead

#: The ``prev_hash`` of the first entry.
GENESIS = "0" * 64

#: The actor of an entry written for a caller who is not signed in.
UNAUTHENTICATED = "unauthenticated"
#: Project default: the longest actor name kept (the column holds 128 characters).
MAX_ACTOR_LENGTH = 128
#: Project default: how much of a name an unauthenticated caller typed is kept.
MAX_CLAIMED_NAME = 64


def claimed_actor(name: str) -> str:
    """The actor of an entry about a caller who is not authenticated (a failed sign-in): marked
    ``unauthenticated:`` and capped, control characters dropped, so nobody can write an
    arbitrary actor name into the log."""
    printable = "".join(ch for ch in name if ch.isprintable())[:MAX_CLAIMED_NAME]
    return f"{UNAUTHENTICATED}:{printable}"


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    patient_key: str | None = None,
    remote: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry, chained to the previous one, in the session's transaction."""
    entry = AuditEntry(
        at=datetime.now(UTC),
        actor=actor[:MAX_ACTOR_LENGTH],
        action=action,
        patient_key=patient_key,
        remote=remote,
        detail=detail or {},
    )
    head = session.execute(  # the lock: one appender at a time, in chain order
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(entries=AuditHead.entries + 1)
        .returning(AuditHead.last_hash)
    ).scalar_one()
    entry.prev_hash = head
    entry.row_hash = entry_hash(head, entry_content(entry))
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=entry.row_hash))


class AuditContent(Protocol):
    """What an entry's hash covers: an :class:`AuditEntry` or a row of the audit table."""

    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def patient_key(self) -> str | None: ...
    @property
    def remote(self) -> str | None: ...
    @property
    def detail(self) -> dict[str, Any]: ...


def entry_content(entry: AuditContent) -> dict[str, Any]:
    """What an entry's hash covers (its time in UTC, as the database returns it either way)."""
    at = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=UTC)
    return {
        "at": at.astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "patient_key": entry.patient_key,
        "remote": entry.remote,
        "detail": entry.detail,
    }


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 of the previous entry's hash and an entry's content (canonical JSON)."""
    text = json.dumps([prev_hash, content], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of :func:`verify_chain`: entries checked, and the first broken link if any."""

    entries: int
    broken_at: int | None = None
    reason: str = ""


def verify_chain(session: Session) -> ChainCheck:
    """Walk the audit log in order and report the first entry whose link or content does not
    match, or a chain shorter than the head records (newest entries removed)."""
    prev, count = GENESIS, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        if entry.prev_hash != prev:
            return ChainCheck(count, entry.id, "it does not follow the entry before it")
        if entry_hash(prev, entry_content(entry)) != entry.row_hash:
            return ChainCheck(count, entry.id, "its content was changed")
        prev, count = entry.row_hash, count + 1
    head = session.get(AuditHead, 1)
    if head is None or head.entries != count or head.last_hash != prev:
        recorded = "no head" if head is None else f"{head.entries} entries"
        return ChainCheck(count, count + 1, f"entries are missing at the end ({recorded})")
    return ChainCheck(count)


def assessment_shown(
    session: Session,
    *,
    actor: str,
    patient_key: str,
    as_of_day: int,
    profile: tuple[str, str],
    icaht_version: str,
    rule_ids: list[str],
) -> None:
    """Record that an assessment (and which recommendations) was shown to someone."""
    session.add(
        AssessmentShown(
            at=datetime.now(UTC),
            actor=actor,
            patient_key=patient_key,
            as_of_day=as_of_day,
            profile_name=profile[0],
            profile_version=profile[1],
            icaht_version=icaht_version,
            rule_ids=rule_ids,
        )
    )


def audit_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every audit entry in order, as plain rows for export."""
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        yield {
            "id": entry.id,
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "patient_key": entry.patient_key,
            "remote": entry.remote,
            "detail": entry.detail,
            "prev_hash": entry.prev_hash,
            "row_hash": entry.row_hash,
        }
