"""INSERT statements that skip rows already present (same unique key), on SQLite and PostgreSQL:
a concurrent import of the same data, or a token id used twice, never raises mid-transaction."""

from __future__ import annotations

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from icaht.errors import InputError, Problem
from icaht.store.tables import Base


def insert_or_skip(session: Session, table: type[Base]) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise InputError([Problem("database", f"unsupported database dialect {dialect!r}")])
