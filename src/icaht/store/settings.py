"""Where the data live: ``ICAHT_DATA_DIR`` (embedded SQLite, default ``./icaht-data``) or
``ICAHT_DATABASE_URL`` (e.g. ``postgresql+psycopg://user@host/db``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

SQLITE_FILE = "icaht.sqlite3"


class StoreSettings(BaseSettings):
    """Database location, read from the environment."""

    model_config = SettingsConfigDict(env_prefix="ICAHT_", extra="ignore")
    data_dir: Path = Path("icaht-data")
    database_url: str | None = None

    def url(self) -> str:
        """The SQLAlchemy URL: the configured one, else SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / SQLITE_FILE).resolve()}"
