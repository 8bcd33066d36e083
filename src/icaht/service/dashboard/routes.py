"""Dashboard routes (server-rendered HTML at ``/``; not part of the OpenAPI schema).

Every page needs a signed-in browser session (demo mode signs the demo clinician in
automatically); patient pages need the clinician or admin role; every form post is checked
against the session's CSRF token. Every patient read, change and assessment shown is audited.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from icaht import __version__
from icaht.core.assessment import Assessment, assess
from icaht.core.changes import against
from icaht.core.checklist import ChecklistItem
from icaht.core.course import Course
from icaht.core.guidance import Recommendation, settings_used, sources
from icaht.core.observation import Observation
from icaht.core.rule import CATEGORIES, setting_description
from icaht.core.rules import CATALOGUE
from icaht.core.timeline import calendar_day
from icaht.errors import InputError
from icaht.knowledge.analytes import ANALYTES
from icaht.knowledge.bibliography import cite
from icaht.knowledge.profile import Profile, shipped_profiles
from icaht.report.events import event_text
from icaht.service.auth import database
from icaht.service.dashboard import decisions as decision_store
from icaht.service.dashboard.chart import timeline_figure
from icaht.service.dashboard.flowsheet import DEFAULT_DAYS, corrected_cells, flowsheet
from icaht.service.dashboard.forms import (
    EVENT_FIELDS,
    EVENT_FORM_KINDS,
    EVENT_KIND_LABELS,
    LAB_ANALYTES,
    FormResult,
    parse_event,
    parse_lab,
    unit_choices,
)
from icaht.service.dashboard.pdf import summary_pdf
from icaht.service.dashboard.upload import (
    MAX_UPLOAD_BYTES,
    UploadPreview,
    import_preview,
    preview_upload,
)
from icaht.service.dashboard.views import (
    LOOK_ACTION,
    RowCache,
    by_tier,
    count_cells,
    ctcae_cell,
    day_label,
    field_label,
    filter_rows,
    fmt,
    icaht_cell,
    last_views,
    list_rows,
    new_row_cache,
    readable,
    real_day,
    shown_detail,
    sort_rows,
    transfusions_per_week,
)
from icaht.service.sessions import (
    CSRF_FIELD,
    DEMO_USER,
    BrowserSession,
    codec,
    signed_in,
    signed_in_user,
)
from icaht.service.settings import profile_in_force
from icaht.service.signin_limits import SignInLimiter
from icaht.store.audit import assessment_shown, audit, claimed_actor
from icaht.store.patients import (
    DeletedPatientError,
    NotFoundError,
    StoredObservation,
    add_to_patient,
    correct_observation,
    deletion,
    find_observation,
    list_observations,
    load_course,
    patient_facts,
)
from icaht.store.signed_out import sign_out
from icaht.store.tables import Patient
from icaht.store.users import authenticate

HERE = Path(__file__).resolve().parent
PATIENT_ROLES = frozenset({"clinician", "admin"})
#: Content-Security-Policy of every page: scripts only from this server (no inline script);
#: plotly.js sets inline styles, so styles allow 'unsafe-inline'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
MESSAGES = {
    "lab-added": "Laboratory value added; the assessment below includes it.",
    "event-added": "Event added; the assessment below includes it.",
    "decision": "Decision recorded in the audit log.",
    "imported": "Upload imported.",
    "lab-corrected": "Laboratory value corrected; the earlier value is kept in the history.",
}
#: Project default: the longest reason a correction may carry.
MAX_REASON_CHARS = 500


def _event_fields() -> list[tuple[str, str, list[str], tuple[str, ...]]]:
    return [
        (name, label, [k for k, fs in EVENT_FORM_KINDS.items() if name in fs], choices)
        for name, label, choices in EVENT_FIELDS
    ]


# -- templates ----------------------------------------------------------------------------------
def _static(path: str) -> str:
    return f"/static/{path}?v={__version__}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        trim_blocks=False,
    )
    env.globals.update(
        static=_static,
        fmt=fmt,
        cday=calendar_day,
        day_label=day_label,
        ctcae_cell=ctcae_cell,
        icaht_cell=icaht_cell,
        ref=cite,
        real_day=real_day,
        units=unit_choices,
        analyte_name=lambda a: f"{ANALYTES[a].display} ({a.value})",
        describe=setting_description,
        event_text=event_text,
        label=field_label,
        readable=readable,
    )
    env.filters["label"] = field_label
    return env


@dataclass(frozen=True, slots=True)
class PageUser:
    username: str
    role: str
    session: BrowserSession


class SignInRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    """No valid session: sign in (or, in demo mode, be signed in as the demo clinician)."""


class CsrfRejected(Exception):  # noqa: N818
    """A form post without this session's CSRF token."""


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _profile(request: Request) -> Profile:
    return profile_in_force(request)


def _row_cache(request: Request) -> RowCache:
    found: RowCache | None = getattr(request.app.state, "dashboard_rows", None)
    if found is None:
        found = new_row_cache()
        request.app.state.dashboard_rows = found
    return found


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


def _record_shown(
    request: Request, db: Session, user: PageUser, key: str, a: Assessment, action: str
) -> None:
    """Audit a page that shows an assessment, and record the assessment shown (committed); a
    patient page also keeps the cards it showed, for "new since you last looked"."""
    assessment_shown(
        db,
        actor=user.username,
        patient_key=key,
        as_of_day=a.as_of_day,
        profile=(a.profile_name, a.profile_version),
        icaht_version=a.icaht_version,
        rule_ids=[r.rule_id for r in a.recommendations],
    )
    detail: dict[str, Any] = {"as_of_day": a.as_of_day}
    if action == LOOK_ACTION:
        detail["shown"] = shown_detail(a.recommendations)
    audit(
        db,
        actor=user.username,
        action=action,
        patient_key=key,
        remote=_remote(request),
        detail=detail,
    )
    db.commit()


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: PageUser | None,
    status_code: int = 200,
    session: BrowserSession | None = None,
) -> HTMLResponse:
    """A page with the common context (user, CSRF token, demo flag, profile, message)."""
    settings = _settings(request)
    profile = _profile(request)
    if session is None:
        session = user.session if user else codec(request).read(request)
    message_key = request.query_params.get("msg", "")
    base = {
        "user": user,
        "csrf": codec(request).csrf_token(session) if session else "",
        "demo": settings.demo,
        "version": __version__,
        "profile_name": profile.name,
        "profile_version": profile.version,
        "message": MESSAGES.get(message_key),
        "nav": "",
    }
    html = _environment().get_template(template).render({**base, **context})
    response = HTMLResponse(html, status_code=status_code)
    _secure_headers(response)
    return response


def _secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def page_user(request: Request, db: Annotated[Session, Depends(database)]) -> PageUser:
    """The signed-in user of a page; redirects to sign-in (or signs the demo user in)."""
    found = signed_in_user(request, db)
    if found is None:
        raise SignInRequired
    return PageUser(found.username, found.role, found.session)


def _error_page(
    request: Request, user: PageUser | None, status: int, heading: str, detail: str
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"heading": heading, "detail": detail},
        user=user,
        status_code=status,
    )


def _forbidden(request: Request, user: PageUser) -> HTMLResponse:
    return _error_page(
        request,
        user,
        403,
        "Not allowed",
        f"The {user.role} role cannot open patient pages (clinician or admin only). "
        "The rule catalogue and the profile are open to every role.",
    )


def _local_path(target: str | None) -> str:
    """A redirect target inside this site (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


def _check_csrf(request: Request, form: FormData, session: BrowserSession | None) -> None:
    token = form.get(CSRF_FIELD)
    if not codec(request).csrf_valid(session, token if isinstance(token, str) else None):
        raise CsrfRejected


async def _session_form(request: Request) -> tuple[FormData, BrowserSession | None]:
    """A posted sign-in or sign-out form and the browser session, once its CSRF token checks."""
    form = await request.form()
    session = codec(request).read(request)
    _check_csrf(request, form, session)
    return form, session


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
Db = Annotated[Session, Depends(database)]


# -- sign-in ------------------------------------------------------------------------------------
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
        "next": _local_path(next),
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
    form, session = await _session_form(request)
    assert session is not None
    username, password = _text(form, "username")[:128], form.get("password")
    target = _local_path(_text(form, "next"))
    limits: SignInLimiter = request.app.state.signin_limits
    address = _remote(request)

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
    _, session = await _session_form(request)
    if session is not None and session.username is not None:
        ended = session

        def record() -> None:
            with request.app.state.sessions() as db:
                sign_out(db, ended.nonce, manager.expires_at(ended))
                audit(db, actor=ended.username or "", action="sign-out", remote=_remote(request))
                db.commit()

        await run_in_threadpool(record)
    response = RedirectResponse("/signin?signed_out=true", status_code=303)
    manager.write(response, request, manager.new())  # anonymous: the old nonce is gone
    return response


# -- patient list -------------------------------------------------------------------------------
@router.get("/patients")
def patients_page(
    request: Request,
    user: User,
    db: Db,
    q: str = "",
    phase: str = "",
    severe: bool = False,
    tpo: bool = False,
    sort: str = "worklist",
    dir: str = "asc",
) -> HTMLResponse:
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    profile = _profile(request)
    rows = list_rows(db, _row_cache(request), profile)
    decided = decision_store.all_decisions(db)
    shown = filter_rows(rows, phase=phase or None, severe=severe, tpo_ra=tpo, query=q)
    descending = dir == "desc"
    shown = sort_rows(shown, sort, descending, decided)
    audit(
        db,
        actor=user.username,
        action="dashboard-list",
        remote=_remote(request),
        detail={"count": len(shown)},
    )
    db.commit()
    filters = {"q": q, "phase": phase, "severe": "1" if severe else "", "tpo": "1" if tpo else ""}

    def query(**change: str) -> str:
        merged = {**filters, "sort": sort, "dir": dir, **change}
        return urlencode({k: v for k, v in merged.items() if v})

    return render(
        request,
        "patients.html",
        {
            "nav": "patients",
            "rows": shown,
            "total": len(rows),
            "decided": decided,
            "looked": last_views(db, user.username),
            "q": q,
            "phase": phase,
            "phases": ("pre-infusion", "early", "prolonged", "late"),
            "severe": severe,
            "tpo": tpo,
            "sort": sort,
            "descending": descending,
            "query": query,
        },
        user=user,
    )


# -- patient page -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PatientView:
    course: Course
    a: Assessment
    known: Course
    first_day: int
    latest_day: int
    max_day: int


def _patient_view(course: Course, as_of: int | None, profile: Profile) -> PatientView:
    last = course.last_data_day()
    latest = 0 if last is None else calendar_day(last)
    days = [float(s.day[0]) for s in course.labs.values() if len(s)]
    first = min(-30, *(calendar_day(d) for d in days)) if days else -30
    max_day = latest
    if course.facts.infusion_date is not None:
        max_day = max(latest, (datetime.now(UTC).date() - course.facts.infusion_date).days)
    if as_of is not None:
        as_of = min(max(as_of, first), max_day)
    a = assess(course, None if as_of is None else float(as_of), profile)
    return PatientView(course, a, a.known_course, first, latest, max_day)


def _show_patient(
    request: Request,
    db: Session,
    user: PageUser,
    key: str,
    as_of: int | None,
    *,
    template: str = "patient.html",
    lab: FormResult | None = None,
    event: FormResult | None = None,
    page_errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    course = load_course(db, key)
    if course is None:
        return _error_page(request, user, 404, "No such patient", "No current patient has this id.")
    profile = _profile(request)
    view = _patient_view(course, as_of, profile)
    a = view.a
    last = last_views(db, user.username, key).get(key)
    # the print view reads against the day before (a print is a hand-over, not a second look)
    printing = template == "print.html"
    recs = a.recommendations if last is None or printing else against(last, a.recommendations)
    decided_by_key = decision_store.decisions(db, key)
    decided = decision_store.covering(decided_by_key, recs, a.as_of_day)
    action = "dashboard-print" if printing else LOOK_ACTION
    _record_shown(request, db, user, key, a, action)
    errors = list(page_errors or [])
    for form in (lab, event):
        if form is not None and form.errors:
            errors += [f"{name}: {'; '.join(msgs)}" for name, msgs in form.errors.items()]
    context = {
        "nav": "patients",
        "facts": course.facts,
        "a": a,
        "tiers": by_tier(recs, decided),
        "checklist": a.checklist,
        "item_decided": decision_store.covering_items(decided_by_key, a.checklist, a.as_of_day),
        "seen_before": last is not None,
        "counts": count_cells(view.known, a),
        "decided": decided,
        "page_errors": errors,
        "figure": timeline_figure(view.known, a.as_of_day),
        "weeks": transfusions_per_week(view.known),
        "first_day": view.first_day,
        "latest_day": view.latest_day,
        "max_day": view.max_day,
        "interactive": True,
        "lab": lab,
        "event": event,
        "lab_analytes": LAB_ANALYTES,
        "event_kinds": EVENT_KIND_LABELS,
        "event_fields": _event_fields(),
        "events": view.known.events,
        "printed": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }
    return render(request, template, context, user=user, status_code=status_code)


@router.get("/patient")
def patient_page(
    request: Request,
    user: User,
    db: Db,
    id: Annotated[str, Query(min_length=1, max_length=128)],
    as_of: int | None = None,
) -> HTMLResponse:
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    return _show_patient(request, db, user, id, as_of)


@router.get("/patient/print")
def print_page(
    request: Request,
    user: User,
    db: Db,
    id: Annotated[str, Query(min_length=1, max_length=128)],
    as_of: int | None = None,
) -> HTMLResponse:
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    return _show_patient(request, db, user, id, as_of, template="print.html")


@router.get("/patient/summary.pdf")
def summary_pdf_page(
    request: Request,
    user: User,
    db: Db,
    id: Annotated[str, Query(min_length=1, max_length=128)],
    as_of: int | None = None,
) -> Response:
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    course = load_course(db, id)
    if course is None:
        return _error_page(request, user, 404, "No such patient", "No current patient has this id.")
    view = _patient_view(course, as_of, _profile(request))
    a = view.a
    _record_shown(request, db, user, id, a, "dashboard-pdf")
    body = summary_pdf(
        view.known,
        a,
        transfusions_per_week(view.known),
        printed_by=user.username,
        demo=bool(_settings(request).demo),
    )
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in id)[:60]
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="icaht-{safe}-day{a.as_of_day}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _post_form(
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
    _check_csrf(request, form, user.session)
    return form, user


def _patient_url(key: str, as_of: str | int | None = None, msg: str | None = None) -> str:
    params: dict[str, str] = {"id": key}
    if as_of not in (None, ""):
        params["as_of"] = str(as_of)
    if msg:
        params["msg"] = msg
    return "/patient?" + urlencode(params)


def _decision_problem(choice: str, reason: str, as_of: int | None, until: int | None) -> str | None:
    """Why a decision form cannot be recorded, or None."""
    if as_of is None:
        return "The decision needs the as-of day it was taken on."
    if choice == "dismiss" and not reason:
        return (
            "Dismissing a recommendation needs a reason (it goes to the audit log): enter one "
            "and dismiss again."
        )
    if choice == "snooze" and (until is None or until <= as_of):
        return f"Snoozing needs a day after day {as_of} on which the card shows again."
    return None


def _int_field(form: FormData, name: str) -> int | None:
    text = _text(form, name)
    return int(text) if text.lstrip("-").isdigit() else None


def _decision_subject(
    a: Assessment, rule_id: str, item_id: str
) -> Recommendation | ChecklistItem | None:
    """The recommendation (by rule id) or checklist item (by id) shown as of the assessment."""
    if item_id:
        return next((i for i in a.checklist if i.id == item_id), None)
    return next((r for r in a.recommendations if r.rule_id == rule_id), None)


@router.post("/patient/decision")
async def decision(request: Request) -> Response:
    """Acknowledge, dismiss (with a reason), snooze (until a day) or reopen one episode of a
    recommendation, or one standing checklist item, as shown as of a day (docs/worklist.md)."""
    form, user = await _post_form(request)
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    key, choice = _text(form, "id"), _text(form, "choice")
    rule_id, item_id = _text(form, "rule_id"), _text(form, "item")
    reason = _text(form, "reason")[: decision_store.MAX_REASON_CHARS]
    as_of, until = _int_field(form, "as_of"), _int_field(form, "until")
    if choice not in decision_store.ACTIONS or not (rule_id or item_id) or not key:
        return _error_page(request, user, 400, "Cannot record", "Unknown decision.")
    problem = _decision_problem(choice, reason, as_of, until)
    anchor = f"#item-{item_id}" if item_id else f"#rec-{rule_id}"

    def save() -> Response | None:
        with request.app.state.sessions() as db:
            course = load_course(db, key)
            if course is None:
                return _error_page(
                    request, user, 404, "No such patient", "No current patient has this id."
                )
            if problem is not None:
                return _show_patient(
                    request, db, user, key, as_of, page_errors=[problem], status_code=422
                )
            assert as_of is not None
            subject = _decision_subject(
                _patient_view(course, as_of, _profile(request)).a, rule_id, item_id
            )
            if subject is None:
                return _show_patient(
                    request,
                    db,
                    user,
                    key,
                    as_of,
                    page_errors=[f"Nothing to decide: this card is not shown as of day {as_of}."],
                    status_code=409,
                )
            decision_store.record_decision(
                db,
                actor=user.username,
                remote=_remote(request),
                patient_key=key,
                subject=subject,
                choice=choice,  # type: ignore[arg-type]
                reason=reason,
                as_of_day=as_of,
                until_day=until if choice == "snooze" else None,
            )
            db.commit()
            return None

    refused = await run_in_threadpool(save)
    if refused is not None:
        return refused
    return RedirectResponse(_patient_url(key, as_of, "decision") + anchor, status_code=303)


def _add_item(request: Request, user: PageUser, form: FormData, kind: str) -> Response:
    key = _text(form, "id")
    with request.app.state.sessions() as db:
        course = load_course(db, key)
        if course is None:
            return _error_page(
                request, user, 404, "No such patient", "No current patient has this id."
            )
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        result = (
            parse_lab(fields, course.facts) if kind == "lab" else parse_event(fields, course.facts)
        )
        if not result.ok:
            return _show_patient(
                request,
                db,
                user,
                key,
                None,
                lab=result if kind == "lab" else None,
                event=result if kind == "event" else None,
                status_code=422,
            )
        try:
            report = add_to_patient(
                db,
                key,
                [result.observation] if result.observation else [],
                [result.event] if result.event else [],
            )
        except InputError as exc:
            db.rollback()
            for p in exc.problems:
                result.add("form", p.message)
            return _show_patient(
                request,
                db,
                user,
                key,
                None,
                lab=result if kind == "lab" else None,
                event=result if kind == "event" else None,
                status_code=422,
            )
        audit(
            db,
            actor=user.username,
            action="add-data",
            patient_key=key,
            remote=_remote(request),
            detail={
                "via": f"dashboard-{kind}",
                "observations_added": report.observations_added,
                "events_added": report.events_added,
            },
        )
        db.commit()
    return RedirectResponse(_patient_url(key, msg=f"{kind}-added"), status_code=303)


@router.post("/patient/lab")
async def add_lab(request: Request) -> Response:
    form, user = await _post_form(request)
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    return await run_in_threadpool(_add_item, request, user, form, "lab")


@router.post("/patient/event")
async def add_event(request: Request) -> Response:
    form, user = await _post_form(request)
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    return await run_in_threadpool(_add_item, request, user, form, "event")


# -- labs and their corrections -----------------------------------------------------------------
def _lab_values(observation: Observation) -> dict[str, str]:
    """A stored value as the lab form's fields."""
    time = observation.time
    return {
        "time": f"{time:.15g}" if isinstance(time, float) else time.isoformat(),
        "analyte": observation.analyte or "",
        "value": f"{observation.value:.15g}",
        "unit": observation.unit or "",
    }


def _correction_page(
    request: Request,
    user: PageUser,
    key: str,
    stored: StoredObservation,
    lab: FormResult,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "nav": "patients",
        "key": key,
        "stored": stored,
        "lab": lab,
        "reason": reason,
        "max_reason": MAX_REASON_CHARS,
        "lab_analytes": LAB_ANALYTES,
    }
    return render(request, "lab_correct.html", context, user=user, status_code=status_code)


@router.get("/patient/labs")
def labs_page(
    request: Request,
    user: User,
    db: Db,
    id: Annotated[str, Query(min_length=1, max_length=128)],
    history: bool = False,
) -> HTMLResponse:
    """Every laboratory value of a patient, each with a link to correct it (audited)."""
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    try:
        rows = list_observations(db, id, -1e9, 1e9, history)
    except NotFoundError:
        return _error_page(request, user, 404, "No such patient", "No current patient has this id.")
    audit(db, actor=user.username, action="dashboard-labs", patient_key=id, remote=_remote(request))
    db.commit()
    context = {"nav": "patients", "key": id, "rows": rows, "history": history}
    return render(request, "labs.html", context, user=user)


@router.get("/patient/flowsheet")
def flowsheet_page(
    request: Request,
    user: User,
    db: Db,
    id: Annotated[str, Query(min_length=1, max_length=128)],
    days: Annotated[int, Query(ge=1, le=3650)] = DEFAULT_DAYS,
) -> HTMLResponse:
    """Laboratory values as a flowsheet: analytes as rows, days as columns, newest first."""
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    course = load_course(db, id)
    if course is None:
        return _error_page(request, user, 404, "No such patient", "No current patient has this id.")
    corrected = corrected_cells(list_observations(db, id, -1e9, 1e9, True))
    audit(db, actor=user.username, action="dashboard-labs", patient_key=id, remote=_remote(request))
    db.commit()
    context = {"nav": "patients", "key": id, "sheet": flowsheet(course, corrected, days)}
    return render(request, "flowsheet.html", context, user=user)


@router.get("/patient/labs/correct")
def correct_lab_page(
    request: Request,
    user: User,
    db: Db,
    id: Annotated[str, Query(min_length=1, max_length=128)],
    row: int,
) -> HTMLResponse:
    """The form to correct one stored laboratory value."""
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    try:
        stored = find_observation(db, id, row)
    except NotFoundError:
        stored = None
    if stored is None or stored.superseded_by is not None:
        return _error_page(
            request, user, 404, "No such value", "This patient has no current value with this id."
        )
    audit(
        db,
        actor=user.username,
        action="dashboard-lab-correction",
        patient_key=id,
        remote=_remote(request),
        detail={"row": row},
    )
    db.commit()
    return _correction_page(request, user, id, stored, FormResult(_lab_values(stored.observation)))


def _correct_lab(request: Request, user: PageUser, form: FormData) -> Response:
    key, reason = _text(form, "id"), _text(form, "reason")
    try:
        row_id = int(_text(form, "row"))
    except ValueError:
        return _error_page(request, user, 404, "No such value", "The form names no stored value.")
    with request.app.state.sessions() as db:
        try:
            stored, facts = find_observation(db, key, row_id), patient_facts(db, key)
        except NotFoundError:
            stored = None
        if stored is None:
            return _error_page(
                request, user, 404, "No such value", "This patient has no value with this id."
            )
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        lab = parse_lab(fields, facts)
        if not reason:
            lab.add("reason", "required: say why the value is corrected")
        elif len(reason) > MAX_REASON_CHARS:
            lab.add("reason", f"at most {MAX_REASON_CHARS} characters")
        if lab.ok and lab.observation is not None:
            kept = stored.observation  # the reference range and LOINC code stay with the value
            corrected = Observation.model_validate(
                {
                    **lab.observation.model_dump(),
                    "loinc": kept.loinc,
                    "lln": kept.lln,
                    "uln": kept.uln,
                }
            )
            try:
                new_id = correct_observation(db, key, row_id, corrected)
            except InputError as exc:
                db.rollback()
                for p in exc.problems:
                    lab.add("form", p.message)
        if not lab.ok:
            return _correction_page(request, user, key, stored, lab, reason, status_code=422)
        audit(
            db,
            actor=user.username,
            action="correct-observation",
            patient_key=key,
            remote=_remote(request),
            detail={"via": "dashboard", "old": row_id, "new": new_id, "reason": reason},
        )
        db.commit()
    return RedirectResponse(
        "/patient/labs?" + urlencode({"id": key, "msg": "lab-corrected"}), status_code=303
    )


@router.post("/patient/labs/correct")
async def correct_lab(request: Request) -> Response:
    form, user = await _post_form(request)
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    return await run_in_threadpool(_correct_lab, request, user, form)


# -- upload -------------------------------------------------------------------------------------
def _patient_keys(db: Session) -> list[str]:
    return list(
        db.scalars(
            select(Patient.patient_key)
            .where(Patient.deleted_at.is_(None))
            .order_by(Patient.patient_key)
        )
    )


@router.get("/upload")
def upload_page(request: Request, user: User, db: Db, id: str = "") -> HTMLResponse:
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    return render(
        request,
        "upload.html",
        {
            "nav": "upload",
            "patient_keys": _patient_keys(db),
            "target": id,
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        },
        user=user,
    )


def _deleted_in_upload(
    db: Session, preview: UploadPreview, target: str
) -> DeletedPatientError | None:
    """The deletion of a patient the upload names (records, table rows or the chosen patient):
    an admin's delete stands until an admin restores the patient (issue 18 item 3)."""
    keys = {r.patient.patient_id for r in preview.records} | {r.patient for r in preview.rows}
    return deletion(db, keys | ({target} if target else set()))


def _preview_response(
    request: Request, user: PageUser, filename: str, content: bytes, target: str, confirm: bool
) -> Response:
    with request.app.state.sessions() as db:
        preview = preview_upload(filename, content, target or None, db)
        refused = _deleted_in_upload(db, preview, target)
        if refused is not None:
            audit(
                db,
                actor=user.username,
                action="import-refused",
                patient_key=refused.patient_key,
                remote=_remote(request),
                detail={"via": "dashboard-upload", "reason": "deleted"},
            )
            db.commit()
            return _error_page(
                request,
                user,
                409,
                "Patient deleted",
                f"Not imported: {refused.problems[0].message}.",
            )
        if confirm and preview.ok:
            try:
                report = import_preview(db, preview, user.username)
            except InputError as exc:
                db.rollback()
                preview.problems += exc.problems
            else:
                keys = sorted(
                    {*(r.patient.patient_id for r in preview.records), *preview.additions}
                )
                for key in keys:
                    audit(
                        db,
                        actor=user.username,
                        action="import",
                        patient_key=key,
                        remote=_remote(request),
                        detail={
                            "via": "dashboard-upload",
                            "observations_added": report.observations_added,
                            "events_added": report.events_added,
                        },
                    )
                db.commit()
                if len(keys) == 1:
                    return RedirectResponse(_patient_url(keys[0], msg="imported"), status_code=303)
                return RedirectResponse("/patients?msg=imported", status_code=303)
        audit(
            db,
            actor=user.username,
            action="upload-preview",
            remote=_remote(request),
            detail={"rows": len(preview.rows), "problems": len(preview.problems)},
        )
        db.commit()
    text = content.decode("utf-8-sig", errors="replace") if preview.ok else ""
    return render(
        request,
        "upload_preview.html",
        {"nav": "upload", "preview": preview, "content": text, "target": target},
        user=user,
        status_code=200 if preview.ok else 422,
    )


@router.post("/upload")
async def upload(request: Request) -> Response:
    form, user = await _post_form(request)
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        return _error_page(request, user, 400, "No file", "Choose a file to upload.")
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    return await run_in_threadpool(
        _preview_response,
        request,
        user,
        file.filename or "upload",
        content,
        _text(form, "target"),
        False,
    )


@router.post("/upload/confirm")
async def upload_confirm(request: Request) -> Response:
    form, user = await _post_form(request, max_part_size=MAX_UPLOAD_BYTES + 1024)
    if user.role not in PATIENT_ROLES:
        return _forbidden(request, user)
    content = form.get("content")
    text = content if isinstance(content, str) else ""
    return await run_in_threadpool(
        _preview_response,
        request,
        user,
        _text(form, "filename") or "upload",
        text.replace("\r\n", "\n").encode("utf-8"),
        _text(form, "target"),
        True,
    )


# -- catalogue and profile ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleView:
    id: str
    title: str
    category: str
    strength: str
    summary: str
    inputs: tuple[str, ...]
    settings: tuple[Any, ...]
    sources: tuple[Any, ...]


@router.get("/rules")
def rules_page(request: Request, user: User) -> HTMLResponse:
    profile = _profile(request)
    views = [
        RuleView(
            r.id,
            r.title,
            r.category,
            r.strength,
            r.summary,
            r.inputs,
            settings_used(r, profile),
            sources(r),
        )
        for r in CATALOGUE
    ]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    views.sort(key=lambda v: order[v.category])  # type: ignore[index]
    groups = [(c, list(g)) for c, g in groupby(views, key=lambda v: v.category)]
    return render(
        request, "rules.html", {"nav": "rules", "rules": views, "groups": groups}, user=user
    )


@router.get("/profile")
def profile_page(request: Request, user: User) -> HTMLResponse:
    profile = _profile(request)
    sections = []
    for section in type(profile).model_fields:
        value = getattr(profile, section)
        fields = getattr(type(value), "model_fields", None)
        if not fields:
            continue
        rows = []
        for name in fields:
            dotted = f"{section}.{name}"
            rows.append((dotted, str(getattr(value, name)), setting_description(dotted)))
        sections.append((section, rows))
    return render(
        request,
        "profile.html",
        {
            "nav": "profile",
            "profile": profile,
            "sections": sections,
            "shipped": shipped_profiles(),
        },
        user=user,
    )


# -- assets -------------------------------------------------------------------------------------
@cache
def _plotly_js() -> tuple[bytes, bytes, str]:
    """plotly.min.js from the installed plotly package: plain, gzipped, and its ETag."""
    data = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return data, gzip.compress(data, compresslevel=6), hashlib.sha256(data).hexdigest()[:16]


@router.get("/static/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    plain, packed, etag = _plotly_js()
    headers = {
        "Cache-Control": "public, max-age=86400",
        "ETag": f'"{etag}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/javascript", headers=headers)
    return Response(plain, media_type="application/javascript", headers=headers)


# -- installation -------------------------------------------------------------------------------
def _handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        manager = codec(request)
        params = dict(request.query_params)
        if _settings(request).demo and request.method == "GET" and "autosignin" not in params:
            # Demo mode: sign the demo clinician in and come back; the marker stops a loop when
            # the browser refuses the cookie (it then lands on the sign-in form).
            params["autosignin"] = "1"
            response = RedirectResponse(f"{request.url.path}?{urlencode(params)}", 303)
            manager.write(response, request, manager.new(DEMO_USER))
            return response
        params.pop("autosignin", None)
        target = request.url.path + (f"?{urlencode(params)}" if params else "")
        if request.method != "GET":
            target = "/patients"
        response = RedirectResponse(
            "/signin?" + urlencode({"next": _local_path(target)}), status_code=303
        )
        if manager.read(request) is None:
            manager.write(response, request, manager.new())
        return response

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        return _error_page(
            request,
            None,
            403,
            "Form refused",
            "This form did not carry a valid security token (it may have expired or come "
            "from another site). Reload the page and try again.",
        )


def install(app: FastAPI) -> None:
    """Mount the dashboard on an application: routes at ``/``, static files, error pages."""
    _handlers(app)
    app.include_router(router)
    app.mount(
        "/static", StaticFiles(directory=str(HERE / "static"), follow_symlink=False), "static"
    )
