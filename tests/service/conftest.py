"""A migrated SQLite database with one user and token per role, and the application on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine, upgrade
from icaht.store.settings import StoreSettings
from icaht.store.users import ROLES, create_token, create_user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Service:
    client: TestClient
    tokens: dict[str, str]
    store: StoreSettings

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def store(database_url: str) -> StoreSettings:
    """A migrated database (SQLite and PostgreSQL) with one user per role."""
    settings = StoreSettings(database_url=database_url)
    engine = make_engine(settings.url())
    upgrade(engine)
    with Session(engine) as session, session.begin():
        for role in ROLES:
            create_user(session, f"{role}-user", "a long enough password", role)
    engine.dispose()
    return settings


@pytest.fixture
def service(store: StoreSettings) -> Iterator[Service]:
    engine = make_engine(store.url())
    with Session(engine) as session, session.begin():
        tokens = {role: create_token(session, f"{role}-user", "t", 1).secret for role in ROLES}
    engine.dispose()
    app = create_app(ServiceSettings(secret_key="service-test-secret-0123456789-abcdefghij"), store)
    with TestClient(app) as client:
        yield Service(client, tokens, store)
