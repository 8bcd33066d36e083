"""Migrations and the schema check, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from icaht.store.database import (
    SchemaError,
    current_revision,
    head_revision,
    make_engine,
    require_current,
    upgrade,
)
from icaht.store.settings import StoreSettings
from icaht.store.tables import Base


def test_upgrade_reaches_head_and_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    require_current(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"migrations and models differ: {diff}"


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    assert upgrade(engine) == head_revision()


def test_an_empty_or_older_database_is_refused(database_url: str) -> None:
    eng = make_engine(database_url)
    with pytest.raises(SchemaError, match="is empty"):
        require_current(eng)
    upgrade(eng)
    with eng.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(SchemaError, match="has schema 0000 but this icaht needs schema"):
        require_current(eng)
    eng.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    eng = make_engine(f"sqlite:///{tmp_path}/sub/dir/db.sqlite3")
    with eng.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    eng.dispose()


def test_settings_default_to_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICAHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("ICAHT_DATA_DIR", "/srv/icaht")
    assert StoreSettings().url() == "sqlite:////srv/icaht/icaht.sqlite3"
    monkeypatch.setenv("ICAHT_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert StoreSettings().url() == "postgresql+psycopg://u@h/db"
