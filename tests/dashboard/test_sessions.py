"""Browser sessions: sign-in, cookie flags, sign-out, CSRF on every form post, tampering,
expiry, and the API accepting a session (with its CSRF token for writes)."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.dashboard.conftest import EXAMPLES, Site, csrf_of

from icaht.service.sessions import COOKIE, SESSION_MAX_AGE_SECONDS, SessionCodec
from icaht.store.tables import AuditEntry, ObservationRow


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
    other = SessionCodec("dashboard-test-secret", demo=False)
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
    codec = SessionCodec("dashboard-test-secret", demo=False)
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
