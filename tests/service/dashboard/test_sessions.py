"""Browser sessions: sign-in, cookie flags, sign-out, CSRF on every form post, tampering,
expiry, and the API accepting a session (with its CSRF token for writes)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import EXAMPLES, PASSWORD, Site, csrf_of

from icaht.service import signin_limits
from icaht.service.app import create_app
from icaht.service.sessions import COOKIE, SESSION_MAX_AGE_SECONDS, SessionCodec
from icaht.service.settings import ServiceSettings
from icaht.store import users
from icaht.store.settings import StoreSettings
from icaht.store.tables import AuditEntry, ObservationRow

#: The secret of the ``site`` fixture (tests/service/dashboard/conftest.py).
SECRET = "dashboard-test-secret-0123456789-abcdefghij"


def _observations(site: Site) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count()).select_from(ObservationRow)) or 0


def test_pages_need_a_session_outside_demo_mode(site: Site) -> None:
    response = site.client.get("/patients?phase=early", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")
    assert "%2Fpatients%3Fphase%3Dearly" in response.headers["location"]


def test_sign_in_sets_a_hardened_cookie_and_sign_out_ends_it(site: Site) -> None:
    page = site.client.get("/signin")
    assert "Decision support only, not a medical device" in page.text
    response = site.client.post(
        "/signin",
        data={
            "username": "clinician-user",
            "password": "a long enough password",
            "csrf_token": csrf_of(page.text),
            "next": "/rules",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/rules"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" in cookie  # not demo mode
    assert site.client.get("/patients").status_code == 200
    token = site.token()
    out = site.client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert site.client.get("/patients", follow_redirects=False).status_code == 303


def test_a_cookie_copied_before_sign_out_is_refused_afterwards(site: Site) -> None:
    site.sign_in("clinician-user")
    copied = site.client.cookies[COOKIE]
    token = site.token()
    site.client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    site.client.cookies.clear()
    site.client.cookies.set(COOKIE, copied)  # the copy, replayed
    assert site.client.get("/patients", follow_redirects=False).status_code == 303
    assert site.client.get("/api/v1/patients").status_code == 401
    with Session(site.engine) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions[-1] == "sign-out"
    site.sign_in("clinician-user")  # a new sign-in gives a new session, which works
    assert site.client.get("/patients", follow_redirects=False).status_code == 200


def test_wrong_password_and_foreign_redirect_are_refused(site: Site) -> None:
    page = site.client.get("/signin")
    response = site.client.post(
        "/signin",
        data={
            "username": "clinician-user",
            "password": "wrong password here",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert "User name or password is wrong" in response.text
    assert site.client.get("/patients", follow_redirects=False).status_code == 303
    site.sign_in("clinician-user")
    page = site.client.get("/signin?next=//evil.example/x")
    assert 'name="next" value="/patients"' in page.text
    with Session(site.engine) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"sign-in", "sign-in-failed"} <= actions


def test_form_posts_without_or_with_a_wrong_csrf_token_are_refused(clinician: Site) -> None:
    before = _observations(clinician)
    form = {"id": "jain-2023-case1", "time": "365", "analyte": "hb", "value": "6.5"}
    form["unit"] = "g/dL"
    missing = clinician.client.post("/patient/lab", data=form, follow_redirects=False)
    assert missing.status_code == 403
    assert "Form refused" in missing.text
    other = SessionCodec(SECRET, demo=False)
    foreign = other.csrf_token(other.new("clinician-user"))  # a valid token of another session
    for token in ("forged", foreign):
        wrong = clinician.client.post(
            "/patient/lab", data={**form, "csrf_token": token}, follow_redirects=False
        )
        assert wrong.status_code == 403
    assert _observations(clinician) == before
    right = clinician.client.post(
        "/patient/lab", data={**form, "csrf_token": clinician.token()}, follow_redirects=False
    )
    assert right.status_code == 303
    assert _observations(clinician) == before + 1


def test_sign_in_form_itself_needs_its_csrf_token(site: Site) -> None:
    response = site.client.post(
        "/signin",
        data={"username": "clinician-user", "password": "a long enough password"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert site.client.get("/patients", follow_redirects=False).status_code == 303


def test_a_tampered_or_expired_cookie_is_not_a_session(site: Site) -> None:
    site.sign_in("clinician-user")
    value = site.client.cookies.get(COOKIE)
    assert value
    body, _, signature = value.partition(".")
    site.client.cookies.clear()
    site.client.cookies.set(COOKIE, body + "." + signature[::-1])
    assert site.client.get("/patients", follow_redirects=False).status_code == 303
    site.client.cookies.clear()
    site.client.cookies.set(COOKIE, value)
    assert site.client.get("/patients", follow_redirects=False).status_code == 200
    codec = SessionCodec(SECRET, demo=False)
    assert codec.decode(body + "." + signature[::-1]) is None
    assert codec.decode(value) is not None
    assert codec.decode(value, now=time.time() + SESSION_MAX_AGE_SECONDS + 5) is None
    assert SessionCodec("another-secret", demo=False).decode(value) is None


def test_a_session_opens_the_api_and_writes_need_the_csrf_header(clinician: Site) -> None:
    listed = clinician.client.get("/api/v1/patients")
    assert listed.status_code == 200
    assert len(listed.json()) == len(list(EXAMPLES.glob("*.json")))
    body = {"observations": [{"time": 366, "analyte": "anc", "value": 1.2, "unit": "10^9/L"}]}
    path = "/api/v1/patients/jain-2023-case1/data"
    assert clinician.client.post(path, json=body).status_code == 403
    ok = clinician.client.post(path, json=body, headers={"X-CSRF-Token": clinician.token()})
    assert ok.status_code == 201


def test_demo_mode_signs_the_demo_clinician_in_on_every_page(demo: Site) -> None:
    first = demo.client.get("/patients", follow_redirects=False)
    assert first.status_code == 303
    assert "Secure" not in first.headers["set-cookie"]  # plain http on loopback in a demo
    for path in (
        "/patients",
        "/patient?id=baur-2021",
        "/patient/print?id=baur-2021",
        "/rules",
        "/profile",
        "/upload",
        "/signin",
    ):
        page = demo.client.get(path)
        assert page.status_code == 200, path
        assert "Decision support only, not a medical device" in page.text, path
        assert "Demo mode" in page.text, path


def _limited(store: tuple[StoreSettings, Engine], **limits: int) -> Site:
    settings = ServiceSettings(secret_key=SECRET, demo=False, **limits)
    client = TestClient(create_app(settings, store[0]), base_url="https://testserver")
    return Site(client, store[1])


def _attempt(site: Site, username: str, password: str) -> str:
    """Post the sign-in form; where it sends the browser."""
    page = site.client.get("/signin")
    response = site.client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return str(response.headers["location"])


def _actions(site: Site) -> list[str]:
    with Session(site.engine) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_user_name_is_locked_after_repeated_failures(
    store: tuple[StoreSettings, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18, item 12: after ICAHT_SIGNIN_ACCOUNT_FAILURES failures in the window, the name
    is refused even with its right password until the lockout ends; other names are not, and
    an unknown name is locked the same way (a lockout reveals no names)."""
    clock = [1000.0]
    monkeypatch.setattr(signin_limits, "now", lambda: clock[0])
    site = _limited(
        store, signin_account_failures=3, signin_address_failures=100, signin_lockout_seconds=60
    )
    for name in ("clinician-user", "nobody-here"):
        for _ in range(3):
            assert "error=1" in _attempt(site, name, "wrong password here")
        assert "error=locked" in _attempt(site, name, PASSWORD)
    assert "Too many failed sign-ins" in site.client.get("/signin?error=locked").text
    assert _actions(site).count("sign-in-locked") == 2
    assert _attempt(site, "admin-user", PASSWORD) == "/patients"  # another name: accepted
    clock[0] += 61
    assert _attempt(site, "clinician-user", PASSWORD) == "/patients"


def test_an_address_is_locked_after_repeated_failures(
    store: tuple[StoreSettings, Engine],
) -> None:
    """Failures with many names from one address lock the address (ICAHT_SIGNIN_ADDRESS_...)."""
    site = _limited(store, signin_account_failures=100, signin_address_failures=4)
    for name in ("a1", "a2", "a3", "a4"):
        assert "error=1" in _attempt(site, name, "wrong password here")
    assert "error=locked" in _attempt(site, "clinician-user", PASSWORD)


def test_unknown_and_known_names_cost_the_same_password_check(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing oracle (issue 18, item 12: 6 ms for an unknown name against 60 ms for a known
    one told names apart): an unknown name, a known name with a wrong password and a disabled
    user each run the scrypt password check exactly once."""
    calls: list[str] = []
    real = users.check_password

    def counted(password: str, stored: str) -> bool:
        calls.append(stored)
        return real(password, stored)

    monkeypatch.setattr(users, "check_password", counted)
    assert "error=1" in _attempt(site, "nobody-here", "wrong password here")
    assert len(calls) == 1
    assert "error=1" in _attempt(site, "clinician-user", "wrong password here")
    assert len(calls) == 2
