"""Sign-in and sign-out pages (the session cookie, failure limits, audit)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from icaht.service.dashboard.access import form_text, local_path, remote, session_form
from icaht.service.dashboard.templating import render
from icaht.service.sessions import DEMO_USER, codec, signed_in
from icaht.service.signin_limits import SignInLimiter
from icaht.store.audit import audit, claimed_actor
from icaht.store.signed_out import sign_out
from icaht.store.users import authenticate

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/patients", status_code=303)


@router.get("/signin")
def signin_page(
    request: Request, next: str | None = None, signed_out: bool = False, error: str | None = None
) -> HTMLResponse:
    manager = codec(request)
    session = manager.read(request)
    fresh = session is None
    if session is None:
        session = manager.new()
    context = {
        "next": local_path(next),
        "signed_out": signed_out,
        "error": _SIGNIN_ERRORS.get(error or "", _SIGNIN_ERRORS["1"]) if error else None,
        "username": "",
        "demo_user": DEMO_USER,
    }
    response = render(request, "signin.html", context, user=None, session=session)
    if fresh:
        manager.write(response, request, session)
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check a user name and password. Failures are counted per name and per address, and a
    locked name or address is refused without checking the password
    (``service.signin_limits``); an unknown name costs the same password hash as a known one
    (``store.users.authenticate``), so neither the answer nor its time tells names apart."""
    form, session = await session_form(request)
    assert session is not None
    username, password = form_text(form, "username")[:128], form.get("password")
    target = local_path(form_text(form, "next"))
    limits: SignInLimiter = request.app.state.signin_limits
    address = remote(request)

    def check() -> tuple[str | None, bool]:
        factory = request.app.state.sessions
        with factory() as db:
            user = None
            locked = limits.locked_seconds(db, username, address) > 0
            if not locked:
                user = authenticate(db, username, password if isinstance(password, str) else "")
                if user is None:
                    limits.failed(db, username, address)
                else:
                    limits.succeeded(db, username)
            action = "sign-in-locked" if locked else ("sign-in" if user else "sign-in-failed")
            audit(
                db,
                actor=user.username if user else claimed_actor(username),
                action=action,
                remote=address,
            )
            db.commit()
            return (user.username if user else None), locked

    found, locked = await run_in_threadpool(check)
    if found is None:
        query = urlencode({"next": target, "error": "locked" if locked else "1"})
        return RedirectResponse(f"/signin?{query}", status_code=303)
    response = RedirectResponse(target, status_code=303)
    codec(request).write(response, request, signed_in(session, found))
    return response


_SIGNIN_ERRORS = {
    "1": "User name or password is wrong.",
    "locked": "Too many failed sign-ins with this user name or from this address: try again "
    "later, or ask an administrator.",
}


@router.post("/signout")
async def signout(request: Request) -> Response:
    manager = codec(request)
    _, session = await session_form(request)
    if session is not None and session.username is not None:
        ended = session

        def record() -> None:
            with request.app.state.sessions() as db:
                sign_out(db, ended.nonce, manager.expires_at(ended))
                audit(db, actor=ended.username or "", action="sign-out", remote=remote(request))
                db.commit()

        await run_in_threadpool(record)
    response = RedirectResponse("/signin?signed_out=true", status_code=303)
    manager.write(response, request, manager.new())  # anonymous: the old nonce is gone
    return response
