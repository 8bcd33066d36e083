"""Correcting a stored laboratory value (the earlier value stays in the history)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from icaht.core.observation import Observation
from icaht.errors import InputError
from icaht.service.dashboard.access import (
    Db,
    PageUser,
    PatientId,
    PatientUser,
    form_text,
    patient_form,
    remote,
)
from icaht.service.dashboard.forms import LAB_ANALYTES, FormResult, parse_lab
from icaht.service.dashboard.templating import error_page, render
from icaht.store.audit import audit
from icaht.store.corrections import correct_observation
from icaht.store.lookup import NotFoundError
from icaht.store.reading import StoredObservation, find_observation, patient_facts

router = APIRouter(include_in_schema=False)


#: Project default: the longest reason a correction may carry.
MAX_REASON_CHARS = 500


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


@router.get("/patient/labs/correct")
def correct_lab_page(
    request: Request,
    user: PatientUser,
    db: Db,
    id: PatientId,
    row: int,
) -> HTMLResponse:
    """The form to correct one stored laboratory value."""
    try:
        stored = find_observation(db, id, row)
    except NotFoundError:
        stored = None
    if stored is None or stored.superseded_by is not None:
        return error_page(
            request, user, 404, "No such value", "This patient has no current value with this id."
        )
    audit(
        db,
        actor=user.username,
        action="dashboard-lab-correction",
        patient_key=id,
        remote=remote(request),
        detail={"row": row},
    )
    db.commit()
    return _correction_page(request, user, id, stored, FormResult(_lab_values(stored.observation)))


def _correct_lab(request: Request, user: PageUser, form: FormData) -> Response:
    key, reason = form_text(form, "id"), form_text(form, "reason")
    try:
        row_id = int(form_text(form, "row"))
    except ValueError:
        return error_page(request, user, 404, "No such value", "The form names no stored value.")
    with request.app.state.sessions() as db:
        try:
            stored, facts = find_observation(db, key, row_id), patient_facts(db, key)
        except NotFoundError:
            stored = None
        if stored is None:
            return error_page(
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
            remote=remote(request),
            detail={"via": "dashboard", "old": row_id, "new": new_id, "reason": reason},
        )
        db.commit()
    return RedirectResponse(
        "/patient/labs?" + urlencode({"id": key, "msg": "lab-corrected"}), status_code=303
    )


@router.post("/patient/labs/correct")
async def correct_lab(request: Request) -> Response:
    form, user = await patient_form(request)
    return await run_in_threadpool(_correct_lab, request, user, form)
