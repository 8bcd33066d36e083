"""Alembic environment: migrations run on the connection icaht passes in (``icaht db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from icaht.store.tables import Base

connection: Connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
