"""Observations keep a reported bound ("> 10,000": ``censored``) and how a derived value was
computed (``derived``), so a stored record reads back as it was imported.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("censored", sa.String(1), nullable=True))
        batch.add_column(sa.Column("derived", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("derived")
        batch.drop_column("censored")
