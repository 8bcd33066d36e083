"""Uploading a file of records or table rows: preview, then import."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from icaht.errors import InputError
from icaht.service.dashboard.access import (
    Db,
    PageUser,
    PatientUser,
    form_text,
    patient_form,
    remote,
)
from icaht.service.dashboard.pages.patient import patient_url
from icaht.service.dashboard.templating import error_page, render
from icaht.service.dashboard.upload import (
    MAX_UPLOAD_BYTES,
    UploadPreview,
    import_preview,
    preview_upload,
)
from icaht.store.audit import audit
from icaht.store.lookup import DeletedPatientError
from icaht.store.patients import deletion
from icaht.store.tables import Patient

router = APIRouter(include_in_schema=False)


def _patient_keys(db: Session) -> list[str]:
    return list(
        db.scalars(
            select(Patient.patient_key)
            .where(Patient.deleted_at.is_(None))
            .order_by(Patient.patient_key)
        )
    )


@router.get("/upload")
def upload_page(request: Request, user: PatientUser, db: Db, id: str = "") -> HTMLResponse:
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
                remote=remote(request),
                detail={"via": "dashboard-upload", "reason": "deleted"},
            )
            db.commit()
            return error_page(
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
                        remote=remote(request),
                        detail={
                            "via": "dashboard-upload",
                            "observations_added": report.observations_added,
                            "events_added": report.events_added,
                        },
                    )
                db.commit()
                if len(keys) == 1:
                    return RedirectResponse(patient_url(keys[0], msg="imported"), status_code=303)
                return RedirectResponse("/patients?msg=imported", status_code=303)
        audit(
            db,
            actor=user.username,
            action="upload-preview",
            remote=remote(request),
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
    form, user = await patient_form(request)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        return error_page(request, user, 400, "No file", "Choose a file to upload.")
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    return await run_in_threadpool(
        _preview_response,
        request,
        user,
        file.filename or "upload",
        content,
        form_text(form, "target"),
        False,
    )


@router.post("/upload/confirm")
async def upload_confirm(request: Request) -> Response:
    form, user = await patient_form(request, max_part_size=MAX_UPLOAD_BYTES + 1024)
    content = form.get("content")
    text = content if isinstance(content, str) else ""
    return await run_in_threadpool(
        _preview_response,
        request,
        user,
        form_text(form, "filename") or "upload",
        text.replace("\r\n", "\n").encode("utf-8"),
        form_text(form, "target"),
        True,
    )
