"""Dashboard templates: the Jinja environment and its helpers, the security headers of every
page, and the rendering of a page or an error page with the common context."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from icaht import NOT_A_MEDICAL_DEVICE, __version__
from icaht.core.rule import setting_description
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES
from icaht.knowledge.bibliography import cite
from icaht.report.events import event_text
from icaht.service.dashboard.access import PageUser, service_settings
from icaht.service.dashboard.cells import (
    ctcae_cell,
    day_label,
    field_label,
    fmt,
    icaht_cell,
    readable,
)
from icaht.service.dashboard.forms import unit_choices
from icaht.service.dashboard.rows import real_day
from icaht.service.sessions import BrowserSession, codec
from icaht.service.settings import profile_in_force

HERE = Path(__file__).resolve().parent
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


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        trim_blocks=False,
    )
    env.globals.update(
        not_a_medical_device=NOT_A_MEDICAL_DEVICE,
        static=static_url,
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
    settings = service_settings(request)
    profile = profile_in_force(request)
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
    html = environment().get_template(template).render({**base, **context})
    response = HTMLResponse(html, status_code=status_code)
    secure_headers(response)
    return response


def secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def error_page(
    request: Request, user: PageUser | None, status: int, heading: str, detail: str
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"heading": heading, "detail": detail},
        user=user,
        status_code=status,
    )


def forbidden(request: Request, user: PageUser) -> HTMLResponse:
    return error_page(
        request,
        user,
        403,
        "Not allowed",
        f"The {user.role} role cannot open patient pages (clinician or admin only). "
        "The rule catalogue and the profile are open to every role.",
    )


def no_patient(request: Request, user: PageUser) -> HTMLResponse:
    """The 404 page of a patient key that names no current patient."""
    return error_page(request, user, 404, "No such patient", "No current patient has this id.")
