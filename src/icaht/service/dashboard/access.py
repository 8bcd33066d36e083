"""Who asks for a dashboard page: the signed-in browser session and its role (patient pages:
clinician or admin), the CSRF check of every form post, and the small readers of a request
shared by the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from icaht.service.auth import database
from icaht.service.sessions import CSRF_FIELD, BrowserSession, codec, signed_in_user

PATIENT_ROLES = frozenset({"clinician", "admin"})


@dataclass(frozen=True, slots=True)
class PageUser:
    username: str
    role: str
    session: BrowserSession


class SignInRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    """No valid session: sign in (or, in demo mode, be signed in as the demo clinician)."""


class CsrfRejected(Exception):  # noqa: N818
    """A form post without this session's CSRF token."""


class PatientAccessDenied(Exception):  # noqa: N818
    """A signed-in user whose role cannot open patient pages (answered 403)."""

    def __init__(self, user: PageUser) -> None:
        super().__init__(user.role)
        self.user = user


def service_settings(request: Request) -> Any:
    return request.app.state.settings


def remote(request: Request) -> str | None:
    return request.client.host if request.client else None


def page_user(request: Request, db: Annotated[Session, Depends(database)]) -> PageUser:
    """The signed-in user of a page; redirects to sign-in (or signs the demo user in)."""
    found = signed_in_user(request, db)
    if found is None:
        raise SignInRequired
    return PageUser(found.username, found.role, found.session)


def local_path(target: str | None) -> str:
    """A redirect target inside this site (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


def check_csrf(request: Request, form: FormData, session: BrowserSession | None) -> None:
    token = form.get(CSRF_FIELD)
    if not codec(request).csrf_valid(session, token if isinstance(token, str) else None):
        raise CsrfRejected


async def session_form(request: Request) -> tuple[FormData, BrowserSession | None]:
    """A posted sign-in or sign-out form and the browser session, once its CSRF token checks."""
    form = await request.form()
    session = codec(request).read(request)
    check_csrf(request, form, session)
    return form, session


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def post_form(
    request: Request, *, max_part_size: int = 1024 * 1024
) -> tuple[FormData, PageUser]:
    """A form post's fields and user, after the session and CSRF checks."""
    form = await request.form(max_part_size=max_part_size)

    def who() -> PageUser | None:
        with request.app.state.sessions() as db:
            found = signed_in_user(request, db)
        return None if found is None else PageUser(found.username, found.role, found.session)

    user = await run_in_threadpool(who)
    if user is None:
        raise SignInRequired
    check_csrf(request, form, user.session)
    return form, user


User = Annotated[PageUser, Depends(page_user)]
Db = Annotated[Session, Depends(database)]


def patient_access(user: User) -> PageUser:
    """The user of a patient page, once signed in; a role outside ``PATIENT_ROLES`` is refused
    (:class:`PatientAccessDenied`) before the page reads its parameters or the patient, so the
    answers come in the order: sign in, 403, then 422 or 404."""
    if user.role not in PATIENT_ROLES:
        raise PatientAccessDenied(user)
    return user


async def patient_form(
    request: Request, *, max_part_size: int = 1024 * 1024
) -> tuple[FormData, PageUser]:
    """A patient page's form post (:func:`post_form`) from a role that may open patient pages."""
    form, user = await post_form(request, max_part_size=max_part_size)
    return form, patient_access(user)


#: The signed-in user of a patient page (clinician or admin).
PatientUser = Annotated[PageUser, Depends(patient_access)]
#: The patient key a patient page names in its query (``?id=``).
PatientId = Annotated[str, Query(min_length=1, max_length=128)]
