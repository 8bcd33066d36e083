"""Adding a laboratory value or an event from the patient page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from icaht.errors import InputError
from icaht.service.dashboard.access import PageUser, form_text, patient_form, remote
from icaht.service.dashboard.forms import FormResult, parse_event, parse_lab
from icaht.service.dashboard.pages.patient import patient_url, show_patient
from icaht.service.dashboard.templating import no_patient
from icaht.store.audit import audit
from icaht.store.patients import ImportChanges, add_to_patient
from icaht.store.reading import load_course

router = APIRouter(include_in_schema=False)


def _stored(db: Session, key: str, result: FormResult) -> ImportChanges | None:
    """Add a parsed lab value or event to the patient; when the store refuses it, its problems
    go to the form (rolled back) and the answer is None."""
    try:
        return add_to_patient(
            db,
            key,
            [result.observation] if result.observation else [],
            [result.event] if result.event else [],
        )
    except InputError as exc:
        db.rollback()
        for p in exc.problems:
            result.add("form", p.message)
        return None


def _add_item(request: Request, user: PageUser, form: FormData, kind: str) -> Response:
    key = form_text(form, "id")
    with request.app.state.sessions() as db:
        course = load_course(db, key)
        if course is None:
            return no_patient(request, user)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        result = (
            parse_lab(fields, course.facts) if kind == "lab" else parse_event(fields, course.facts)
        )
        report = _stored(db, key, result) if result.ok else None
        if report is None:
            return show_patient(
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
            remote=remote(request),
            detail={
                "via": f"dashboard-{kind}",
                "observations_added": report.observations_added,
                "events_added": report.events_added,
            },
        )
        db.commit()
    return RedirectResponse(patient_url(key, msg=f"{kind}-added"), status_code=303)


@router.post("/patient/lab")
async def add_lab(request: Request) -> Response:
    form, user = await patient_form(request)
    return await run_in_threadpool(_add_item, request, user, form, "lab")


@router.post("/patient/event")
async def add_event(request: Request) -> Response:
    form, user = await patient_form(request)
    return await run_in_threadpool(_add_item, request, user, form, "event")
