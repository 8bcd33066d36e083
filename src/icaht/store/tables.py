"""The database tables (SQLAlchemy 2 declarative). Migrations in ``store/migrations`` create
them; a test checks that the migrated schema matches these models.

Observations and events keep what was recorded (value and unit as given, times as days after
infusion or ISO text) so a stored patient reads back as the same PatientRecord. Each row has a
content hash: importing the same data again adds nothing. A correction supersedes a row
(``superseded_by``) instead of overwriting it, so the history stays.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of icaht's tables."""


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_key: Mapped[str] = mapped_column(String(128), unique=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ObservationRow(Base):
    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("patient_id", "content_hash", name="uq_observation_content"),
        Index("ix_observations_patient_day", "patient_id", "day"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    day: Mapped[float] = mapped_column(Float, doc="Day after infusion (canonical time)")
    time_text: Mapped[str] = mapped_column(String(40), doc="The time as recorded")
    analyte: Mapped[str | None] = mapped_column(String(64), nullable=True)
    loinc: Mapped[str | None] = mapped_column(String(16), nullable=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    lln: Mapped[float | None] = mapped_column(Float, nullable=True)
    uln: Mapped[float | None] = mapped_column(Float, nullable=True)
    censored: Mapped[str | None] = mapped_column(
        String(1), nullable=True, doc="'<' or '>': the lab reported a bound, the value is it"
    )
    derived: Mapped[str | None] = mapped_column(
        String(200), nullable=True, doc="How a value not measured as such was computed"
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("observations.id"), nullable=True)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("patient_id", "content_hash", name="uq_event_content"),
        Index("ix_events_patient_day", "patient_id", "start_day"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    start_day: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, doc="The event as recorded")
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    """Append-only: who read or changed which patient, from where. Each entry carries the hash
    of its content chained to the previous entry's hash (``store.audit``), and a trigger refuses
    UPDATE and DELETE."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    patient_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), doc="row_hash of the previous entry")
    row_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 of prev_hash and content")


class AuditHead(Base):
    """The one row naming the audit chain's last hash and length: appending takes its row lock,
    so entries chain in order across processes, and a removed tail is detected."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entries: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class AssessmentShown(Base):
    """An assessment shown: to whom, when, as of which day, with which profile and rules."""

    __tablename__ = "assessments_shown"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    patient_key: Mapped[str] = mapped_column(String(128))
    as_of_day: Mapped[int] = mapped_column(Integer)
    profile_name: Mapped[str] = mapped_column(String(64))
    profile_version: Mapped[str] = mapped_column(String(16))
    icaht_version: Mapped[str] = mapped_column(String(32))
    rule_ids: Mapped[list[str]] = mapped_column(JSON)


class TokenUse(Base):
    """A signed client token (CDS Hooks JWT) already accepted: its ``jti`` cannot be replayed
    before it expires, across every server process."""

    __tablename__ = "token_uses"
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignedOutSession(Base):
    """A browser session that was signed out: its cookie is refused until it would have expired.
    Only the SHA-256 of the session's random nonce is kept."""

    __tablename__ = "signed_out_sessions"
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """Recent failed sign-ins of one user name or client address (``kind``), shared by every
    server process: the failure times in the window and the end of a lockout (wall-clock
    seconds). Only the SHA-256 of the name or address is kept."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_last", "last_failure"),)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[list[float]] = mapped_column(JSON)
    last_failure: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float] = mapped_column(Float)
