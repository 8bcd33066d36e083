"""Decisions on a card or checklist item: acknowledge, dismiss, snooze, reopen
(docs/worklist.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from icaht.core.assessment import Assessment
from icaht.core.checklist import ChecklistItem
from icaht.core.guidance import Recommendation
from icaht.service.dashboard import decisions as decision_store
from icaht.service.dashboard.access import form_text, patient_form, remote
from icaht.service.dashboard.pages.patient import patient_url, patient_view, show_patient
from icaht.service.dashboard.templating import error_page, no_patient
from icaht.service.settings import profile_in_force
from icaht.store.reading import load_course

router = APIRouter(include_in_schema=False)


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
    text = form_text(form, name)
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
    form, user = await patient_form(request)
    key, choice = form_text(form, "id"), form_text(form, "choice")
    rule_id, item_id = form_text(form, "rule_id"), form_text(form, "item")
    reason = form_text(form, "reason")[: decision_store.MAX_REASON_CHARS]
    as_of, until = _int_field(form, "as_of"), _int_field(form, "until")
    if choice not in decision_store.ACTIONS or not (rule_id or item_id) or not key:
        return error_page(request, user, 400, "Cannot record", "Unknown decision.")
    problem = _decision_problem(choice, reason, as_of, until)
    anchor = f"#item-{item_id}" if item_id else f"#rec-{rule_id}"

    def save() -> Response | None:
        with request.app.state.sessions() as db:
            course = load_course(db, key)
            if course is None:
                return no_patient(request, user)
            if problem is not None:
                return show_patient(
                    request, db, user, key, as_of, page_errors=[problem], status_code=422
                )
            assert as_of is not None
            subject = _decision_subject(
                patient_view(course, as_of, profile_in_force(request)).a, rule_id, item_id
            )
            if subject is None:
                return show_patient(
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
                remote=remote(request),
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
    return RedirectResponse(patient_url(key, as_of, "decision") + anchor, status_code=303)
