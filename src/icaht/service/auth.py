"""Who is calling: a bearer API token (programs), a signed-in browser session (the dashboard; a
state-changing request must then carry the session's CSRF token in ``X-CSRF-Token``), or in demo
mode a demo clinician. Roles decide what each endpoint allows (clinician: patients; researcher:
cohort data only; admin: all)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from icaht.service.sessions import (
    CSRF_HEADER,
    DEMO_ROLE,
    DEMO_USER,
    SAFE_METHODS,
    codec,
    signed_in_user,
)
from icaht.store.audit import audit
from icaht.store.users import user_for_token

__all__ = ["DEMO_USER", "Caller", "allow", "audited", "caller", "database", "database_on_loop"]


@dataclass(frozen=True, slots=True)
class Caller:
    username: str
    role: str
    remote: str | None


def database(request: Request) -> Iterator[Session]:
    """A session per request; the endpoint commits what it writes."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


async def database_on_loop(request: Request) -> AsyncIterator[Session]:
    """:func:`database` for an endpoint served on the event loop (opened and closed there, not
    in a worker thread); it writes through ``service.loop_writes``."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


def caller(request: Request, session: Session = Depends(database)) -> Caller:  # noqa: B008
    """The authenticated caller; 401 without valid credentials."""
    remote = request.client.host if request.client else None
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret:
        user = user_for_token(session, secret.strip())
        if user is None:
            raise HTTPException(
                401, "invalid, expired or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        return Caller(user.username, user.role, remote)
    browser = signed_in_user(request, session)
    if browser is not None:
        if request.method not in SAFE_METHODS and not codec(request).csrf_valid(
            browser.session, request.headers.get(CSRF_HEADER)
        ):
            raise HTTPException(403, "a browser session needs its CSRF token for this request")
        return Caller(browser.username, browser.role, remote)
    if request.app.state.settings.demo:
        return Caller(DEMO_USER, DEMO_ROLE, remote)
    raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})


def allow(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency admitting only the given roles (admin is always admitted)."""

    def check(who: Caller = Depends(caller)) -> Caller:  # noqa: B008
        if who.role != "admin" and who.role not in roles:
            raise HTTPException(403, f"the {who.role} role cannot use this endpoint")
        return who

    return check


def audited(
    db: Session,
    who: Caller,
    action: str,
    patient_key: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record what the caller did (to which patient, from where) in the audit log, and commit."""
    audit(
        db,
        actor=who.username,
        action=action,
        patient_key=patient_key,
        remote=who.remote,
        detail=detail,
    )
    db.commit()
