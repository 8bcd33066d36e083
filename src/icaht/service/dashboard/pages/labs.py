"""A patient's laboratory values: the list with history and the flowsheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from icaht.service.dashboard.access import Db, PatientId, PatientUser, remote
from icaht.service.dashboard.flowsheet import DEFAULT_DAYS, corrected_cells, flowsheet
from icaht.service.dashboard.templating import no_patient, render
from icaht.store.audit import audit
from icaht.store.lookup import NotFoundError
from icaht.store.reading import list_observations, load_course

router = APIRouter(include_in_schema=False)


@router.get("/patient/labs")
def labs_page(
    request: Request,
    user: PatientUser,
    db: Db,
    id: PatientId,
    history: bool = False,
) -> HTMLResponse:
    """Every laboratory value of a patient, each with a link to correct it (audited)."""
    try:
        rows = list_observations(db, id, -1e9, 1e9, history)
    except NotFoundError:
        return no_patient(request, user)
    audit(db, actor=user.username, action="dashboard-labs", patient_key=id, remote=remote(request))
    db.commit()
    context = {"nav": "patients", "key": id, "rows": rows, "history": history}
    return render(request, "labs.html", context, user=user)


@router.get("/patient/flowsheet")
def flowsheet_page(
    request: Request,
    user: PatientUser,
    db: Db,
    id: PatientId,
    days: Annotated[int, Query(ge=1, le=3650)] = DEFAULT_DAYS,
) -> HTMLResponse:
    """Laboratory values as a flowsheet: analytes as rows, days as columns, newest first."""
    course = load_course(db, id)
    if course is None:
        return no_patient(request, user)
    corrected = corrected_cells(list_observations(db, id, -1e9, 1e9, True))
    audit(db, actor=user.username, action="dashboard-labs", patient_key=id, remote=remote(request))
    db.commit()
    context = {"nav": "patients", "key": id, "sheet": flowsheet(course, corrected, days)}
    return render(request, "flowsheet.html", context, user=user)
