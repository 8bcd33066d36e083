"""Failed sign-ins shared by every server process (rate limit and lockout per name and address).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("last_failure", sa.Float, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=False),
    )
    op.create_index("ix_signin_failures_last", "signin_failures", ["last_failure"])


def downgrade() -> None:
    op.drop_index("ix_signin_failures_last", table_name="signin_failures")
    op.drop_table("signin_failures")
