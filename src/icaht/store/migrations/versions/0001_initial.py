"""Initial schema: patients, observations, events, users, API tokens, audit log, assessments shown.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_key", sa.String(128), nullable=False, unique=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey("patients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.Float(), nullable=False),
        sa.Column("time_text", sa.String(40), nullable=False),
        sa.Column("analyte", sa.String(64), nullable=True),
        sa.Column("loinc", sa.String(16), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("lln", sa.Float(), nullable=True),
        sa.Column("uln", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("superseded_by", sa.Integer(), sa.ForeignKey("observations.id"), nullable=True),
        sa.UniqueConstraint("patient_id", "content_hash", name="uq_observation_content"),
    )
    op.create_index("ix_observations_patient_day", "observations", ["patient_id", "day"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey("patients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("start_day", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("superseded_by", sa.Integer(), sa.ForeignKey("events.id"), nullable=True),
        sa.UniqueConstraint("patient_id", "content_hash", name="uq_event_content"),
    )
    op.create_index("ix_events_patient_day", "events", ["patient_id", "start_day"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(128), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled_at", _TS, nullable=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("patient_key", sa.String(128), nullable=True),
        sa.Column("remote", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_table(
        "assessments_shown",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("patient_key", sa.String(128), nullable=False),
        sa.Column("as_of_day", sa.Integer(), nullable=False),
        sa.Column("profile_name", sa.String(64), nullable=False),
        sa.Column("profile_version", sa.String(16), nullable=False),
        sa.Column("icaht_version", sa.String(32), nullable=False),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "assessments_shown",
        "audit_log",
        "api_tokens",
        "users",
        "events",
        "observations",
        "patients",
    ):
        op.drop_table(table)
