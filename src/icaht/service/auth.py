"""Who is calling: a bearer API token (programs), a signed-in browser session (the dashboard; a
state-changing request must then carry the session's CSRF token in ``X-CSRF-Token``), or in demo
mode a demo clinician. Roles decide what each endpoint allows (clinician: patients; researcher:
cohort data only; admin: all).

A patient route that answers 401, 403 or 404 leaves an audit entry too (:class:`AuditedRoute`),
so guessing patient ids leaves a trace; a caller who is not signed in is recorded as
``unauthenticated``, never under a name it chose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from icaht.service.sessions import (
    CSRF_HEADER,
    DEMO_ROLE,
    DEMO_USER,
    SAFE_METHODS,
    codec,
    signed_in_user,
)
from icaht.store.audit import UNAUTHENTICATED, audit
from icaht.store.lookup import NotFoundError
from icaht.store.users import user_for_token

__all__ = [
    "DEMO_USER",
    "AuditedRoute",
    "Caller",
    "allow",
    "audited",
    "caller",
    "database",
    "database_on_loop",
]


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
    """The authenticated caller (kept on ``request.state.caller``); 401 without valid
    credentials."""
    found = _identify(request, session)
    request.state.caller = found
    return found


def _identify(request: Request, session: Session) -> Caller:
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


#: The refusals of a patient route that are audited (issue 18: id guessing leaves a trace).
AUDITED_REFUSALS = (401, 403, 404)


def _refusal_status(exc: Exception) -> int | None:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    return None


def _audit_refusal(request: Request, status: int) -> None:
    """An audit entry for a refused patient request, in its own transaction."""
    who: Caller | None = getattr(request.state, "caller", None)
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as db:
        audit(
            db,
            actor=UNAUTHENTICATED if who is None else who.username,
            action=f"refused-{status}",
            patient_key=str(request.path_params["patient_id"])[:128],
            remote=request.client.host if request.client else None,
            detail={"method": request.method, "route": request.scope["route"].path},
        )
        db.commit()


class AuditedRoute(APIRoute):
    """A route that audits its 401, 403 and 404 answers when its path names a patient."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def audited_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                status = _refusal_status(exc)
                if status in AUDITED_REFUSALS and "patient_id" in request.path_params:
                    await run_in_threadpool(_audit_refusal, request, status)
                raise

        return audited_handler
