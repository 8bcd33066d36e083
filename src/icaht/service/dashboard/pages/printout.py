"""The printable summary of a patient: the print view and the PDF."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from icaht.service.dashboard.access import Db, PatientId, PatientUser, service_settings
from icaht.service.dashboard.counts import transfusions_per_week
from icaht.service.dashboard.pages.patient import patient_view, record_shown, show_patient
from icaht.service.dashboard.pdf import summary_pdf
from icaht.service.dashboard.templating import no_patient
from icaht.service.settings import profile_in_force
from icaht.store.reading import load_course

router = APIRouter(include_in_schema=False)


@router.get("/patient/print")
def print_page(
    request: Request,
    user: PatientUser,
    db: Db,
    id: PatientId,
    as_of: int | None = None,
) -> HTMLResponse:
    return show_patient(request, db, user, id, as_of, template="print.html")


@router.get("/patient/summary.pdf")
def summary_pdf_page(
    request: Request,
    user: PatientUser,
    db: Db,
    id: PatientId,
    as_of: int | None = None,
) -> Response:
    course = load_course(db, id)
    if course is None:
        return no_patient(request, user)
    view = patient_view(course, as_of, profile_in_force(request))
    a = view.a
    record_shown(request, db, user, id, a, "dashboard-pdf")
    body = summary_pdf(
        view.known,
        a,
        transfusions_per_week(view.known),
        printed_by=user.username,
        demo=bool(service_settings(request).demo),
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
