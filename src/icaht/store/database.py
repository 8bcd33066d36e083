"""Engines, schema version and migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, so
several readers and one writer work at once; writers queue on an OS lock
(``store.sqlite_writer``) rather than in SQLite's sleeping busy handler. ``upgrade`` applies the
Alembic migrations; ``require_current`` refuses a database whose schema is older (or newer) than
the code. Engines hide statement parameters in their errors and logs: a failed statement never
prints patient values.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from icaht.errors import IcahtError
from icaht.store import sqlite_writer

SQLITE_BUSY_TIMEOUT_MS = 10_000  # project default: wait up to 10 s for a writer's lock


class SchemaError(IcahtError):
    """The database schema does not match the code (run ``icaht db upgrade``)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created when missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {
            "factory": sqlite_writer.WriterLockedConnection,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
        engine = create_engine(url, connect_args=connect_args, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        sqlite_writer.install(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _config() -> Config:
    config = Config()
    location = resources.files("icaht.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str:
    """The newest migration the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Apply every pending migration; returns the revision reached."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head_revision()


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaError` unless the database is at the code's migration head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        found = "is empty" if current is None else f"has schema {current}"
        raise SchemaError(
            f"the database {found} but this icaht needs schema {head}: run `icaht db upgrade`"
        )
