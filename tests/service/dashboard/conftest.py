"""Dashboard apps on a migrated SQLite database with the seed cases: one in demo mode, one with
real sign-in (a user per role); clients talk HTTPS so Secure cookies are kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from icaht.io.records import read_records
from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine, upgrade
from icaht.store.patients import import_records
from icaht.store.settings import StoreSettings
from icaht.store.users import ROLES, create_user

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PASSWORD = "a long enough password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Site:
    client: TestClient
    engine: Engine

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        page = self.client.get("/signin")
        response = self.client.post(
            "/signin",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/patients"

    def token(self, path: str = "/patients") -> str:
        return csrf_of(self.client.get(path).text)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[StoreSettings, Engine]]:
    settings = StoreSettings(data_dir=tmp_path / "data", database_url=None)
    engine = make_engine(settings.url())
    upgrade(engine)
    with Session(engine) as session, session.begin():
        import_records(session, read_records(EXAMPLES), "examples")
        for role in ROLES:
            create_user(session, f"{role}-user", PASSWORD, role)
    yield settings, engine
    engine.dispose()


@pytest.fixture
def site(store: tuple[StoreSettings, Engine]) -> Iterator[Site]:
    """Real sign-in (not demo mode)."""
    app = create_app(
        ServiceSettings(secret_key="dashboard-test-secret-0123456789-abcdefghij", demo=False),
        store[0],
    )
    with TestClient(app, base_url="https://testserver") as client:
        yield Site(client, store[1])


@pytest.fixture
def demo(store: tuple[StoreSettings, Engine]) -> Iterator[Site]:
    """Demo mode: pages sign the demo clinician in."""
    app = create_app(ServiceSettings(demo=True), store[0])
    with TestClient(app) as client:
        yield Site(client, store[1])


@pytest.fixture
def clinician(site: Site) -> Site:
    site.sign_in("clinician-user")
    return site
