"""Issue 18 item 12: sign-in failures and lockouts are shared by every worker process (they live
in the database), on SQLite and PostgreSQL: a name locked by failures at one worker is locked at
the others, so N workers allow no more failures than one."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.utils.icaht_process import running

from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine, upgrade
from icaht.store.settings import StoreSettings
from icaht.store.tables import SignInFailure
from icaht.store.users import create_user

USER, PASSWORD, WRONG = "clinician-user", "a long enough password", "wrong password here"
SECRET = "signin-shared-secret-0123456789-abcdefghij"
FAILURES = 3
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(
    get: httpx.Response, post: Callable[[dict[str, str]], httpx.Response], password: str
) -> str:
    """Where a sign-in with ``password`` sends the browser (``post`` posts the form)."""
    found = _CSRF.search(get.text)
    assert found, "no CSRF token on the sign-in page"
    form = {"username": USER, "password": password, "csrf_token": found.group(1)}
    response = post(form)
    assert response.status_code == 303
    return str(response.headers["location"])


def _app(store: StoreSettings) -> TestClient:
    """One worker: an application of its own on the shared database."""
    settings = ServiceSettings(secret_key=SECRET, demo=False, signin_account_failures=FAILURES)
    return TestClient(create_app(settings, store), base_url="https://testserver")


def _attempt(client: TestClient, password: str) -> str:
    page = client.get("/signin")
    return _sign_in(
        page, lambda form: client.post("/signin", data=form, follow_redirects=False), password
    )


def test_a_name_locked_at_one_worker_is_locked_at_another(store: StoreSettings) -> None:
    """Two applications on one database (as two worker processes): failures at the first lock
    the name at the second, which refuses even the right password; no name is stored."""
    with _app(store) as first, _app(store) as second:
        for _ in range(FAILURES - 1):
            assert "error=1" in _attempt(first, WRONG)
        assert "error=1" in _attempt(second, WRONG)  # the third failure, at the other worker
        assert "error=locked" in _attempt(first, PASSWORD)
        assert "error=locked" in _attempt(second, PASSWORD)
    engine = make_engine(store.url())
    with Session(engine) as session:
        kept = list(session.scalars(select(SignInFailure.key_hash)))
    engine.dispose()
    assert kept, "the lockout is stored"
    assert not {USER, "testclient"} & set(kept)  # hashes only


def test_a_success_clears_the_failures_for_every_worker(store: StoreSettings) -> None:
    with _app(store) as first, _app(store) as second:
        for _ in range(FAILURES - 1):
            assert "error=1" in _attempt(first, WRONG)
        assert _attempt(second, PASSWORD) == "/patients"
        for _ in range(FAILURES - 1):
            assert "error=1" in _attempt(first, WRONG)  # counted from zero again
        assert _attempt(second, PASSWORD) == "/patients"


def _served_attempt(url: str, password: str) -> str:
    """A sign-in over a connection of its own (the kernel hands it to either worker); cookies
    are passed by hand, as the loopback server marks them Secure."""
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/signin")
        cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())

        def post(form: dict[str, str]) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=30) as other:
                return other.post("/signin", data=form, headers={"Cookie": cookie})

        return _sign_in(page, post, password)


def test_two_served_workers_share_the_lockout(tmp_path: Path) -> None:
    """``icaht serve --workers 2``: after the allowed failures, the right password is refused on
    every new connection, whichever worker takes it (per-process counts let most through)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICAHT_")}
    env |= {
        "ICAHT_DATA_DIR": str(tmp_path / "data"),
        "ICAHT_SECRET_KEY": SECRET,
        "ICAHT_SIGNIN_ACCOUNT_FAILURES": str(FAILURES),
    }
    store = StoreSettings(data_dir=tmp_path / "data")
    engine = make_engine(store.url())
    upgrade(engine)
    with Session(engine) as session, session.begin():
        create_user(session, USER, PASSWORD, "clinician")
    engine.dispose()
    with running(["serve", "--workers", "2"], env, tmp_path / "serve.log") as server:
        for _ in range(FAILURES):
            assert "error=1" in _served_attempt(server.url, WRONG)
        answers = [_served_attempt(server.url, PASSWORD) for _ in range(8)]
    assert all("error=locked" in a for a in answers), answers
