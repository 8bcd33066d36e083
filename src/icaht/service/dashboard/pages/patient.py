"""The patient page: the assessment as of a day with its cards, checklist, chart and forms,
and what each look showed (audited, for "new since you last looked")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from icaht.core.assessment import Assessment, assess
from icaht.core.changes import against
from icaht.core.course import Course
from icaht.core.timeline import calendar_day
from icaht.knowledge.profile import Profile
from icaht.service.dashboard import decisions as decision_store
from icaht.service.dashboard.access import Db, PageUser, PatientId, PatientUser, remote
from icaht.service.dashboard.chart import timeline_figure
from icaht.service.dashboard.counts import count_cells, transfusions_per_week
from icaht.service.dashboard.forms import (
    EVENT_FIELDS,
    EVENT_FORM_KINDS,
    EVENT_KIND_LABELS,
    LAB_ANALYTES,
    FormResult,
)
from icaht.service.dashboard.looks import LOOK_ACTION, by_tier, last_views, shown_detail
from icaht.service.dashboard.templating import no_patient, render
from icaht.service.settings import profile_in_force
from icaht.store.audit import assessment_shown, audit
from icaht.store.reading import load_course

router = APIRouter(include_in_schema=False)


def _event_fields() -> list[tuple[str, str, list[str], tuple[str, ...]]]:
    return [
        (name, label, [k for k, fs in EVENT_FORM_KINDS.items() if name in fs], choices)
        for name, label, choices in EVENT_FIELDS
    ]


def record_shown(
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
        remote=remote(request),
        detail=detail,
    )
    db.commit()


@dataclass(frozen=True, slots=True)
class PatientView:
    course: Course
    a: Assessment
    known: Course
    first_day: int
    latest_day: int
    max_day: int


def patient_view(course: Course, as_of: int | None, profile: Profile) -> PatientView:
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


def show_patient(
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
        return no_patient(request, user)
    profile = profile_in_force(request)
    view = patient_view(course, as_of, profile)
    a = view.a
    last = last_views(db, user.username, key).get(key)
    # the print view reads against the day before (a print is a hand-over, not a second look)
    printing = template == "print.html"
    recs = a.recommendations if last is None or printing else against(last, a.recommendations)
    decided_by_key = decision_store.decisions(db, key)
    decided = decision_store.covering(decided_by_key, recs, a.as_of_day)
    action = "dashboard-print" if printing else LOOK_ACTION
    record_shown(request, db, user, key, a, action)
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
        "figure": timeline_figure(view.known, a),
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
    user: PatientUser,
    db: Db,
    id: PatientId,
    as_of: int | None = None,
) -> HTMLResponse:
    return show_patient(request, db, user, id, as_of)


def patient_url(key: str, as_of: str | int | None = None, msg: str | None = None) -> str:
    params: dict[str, str] = {"id": key}
    if as_of not in (None, ""):
        params["as_of"] = str(as_of)
    if msg:
        params["msg"] = msg
    return "/patient?" + urlencode(params)
