"""Issue 18 items 3 and 14 on the dashboard: the lab-correction page view is audited, and a
patient an admin deleted is answered with the deletion (409) when the dashboard upload names it,
never as an input problem. (The SMART launch of a deleted patient: ``test_smart.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import Site, clinician, csrf_of, site, store

from icaht.store.tables import AuditEntry, ObservationRow, Patient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PATIENT = "jain-2023-case1"
__all__ = ["clinician", "site", "store"]  # the dashboard's fixtures, requested by name


def _audited(site: Site, action: str) -> list[AuditEntry]:
    with Session(site.engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _delete(site: Site, key: str) -> None:
    """An admin's delete, as ``DELETE /api/v1/patients/{id}`` stores it."""
    with Session(site.engine) as session, session.begin():
        session.execute(
            update(Patient).where(Patient.patient_key == key).values(deleted_at=datetime.now(UTC))
        )


def _observations(site: Site) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count()).select_from(ObservationRow)) or 0


def test_the_lab_correction_page_view_is_audited(clinician: Site) -> None:
    """Issue 18 item 14: opening a value's correction form shows that patient's value: audited
    with the row, like the labs page."""
    with Session(clinician.engine) as session:
        row = session.scalars(
            select(ObservationRow.id)
            .join(Patient, Patient.id == ObservationRow.patient_id)
            .where(Patient.patient_key == PATIENT)
        ).first()
    page = clinician.client.get(f"/patient/labs/correct?id={PATIENT}&row={row}")
    assert page.status_code == 200
    (entry,) = _audited(clinician, "dashboard-lab-correction")
    assert (entry.actor, entry.patient_key, entry.detail) == (
        "clinician-user",
        PATIENT,
        {"row": row},
    )


def test_uploading_a_deleted_patient_answers_with_the_deletion(clinician: Site) -> None:
    """Issue 18 item 3: a deleted patient stays deleted until an admin restores it; the upload
    (preview and confirmation) says so with 409, not as a problem of the file."""
    _delete(clinician, PATIENT)
    before = _observations(clinician)
    content = (EXAMPLES / "jain-case1.json").read_text(encoding="utf-8")
    token = csrf_of(clinician.client.get("/upload").text)
    preview = clinician.client.post(
        "/upload",
        data={"csrf_token": token, "target": ""},
        files={"file": ("jain-case1.json", content.encode("utf-8"), "application/json")},
    )
    confirm = clinician.client.post(
        "/upload/confirm",
        data={"csrf_token": token, "content": content, "filename": "jain-case1.json"},
    )
    for response in (preview, confirm):
        assert response.status_code == 409, response.text[:300]
        assert "deleted by an admin" in response.text
        assert "restores it" in response.text
    assert _observations(clinician) == before
    refused = _audited(clinician, "import-refused")
    assert [e.patient_key for e in refused] == [PATIENT, PATIENT]


def test_adding_rows_to_a_deleted_patient_answers_with_the_deletion(clinician: Site) -> None:
    """Issue 18 item 3: a table of values for a deleted patient is refused with the deletion
    (not "unknown patient")."""
    _delete(clinician, PATIENT)
    token = csrf_of(clinician.client.get("/upload").text)
    table = f"patient_id,day,analyte,value,unit\n{PATIENT},400,anc,0.4,10^9/L\n"
    response = clinician.client.post(
        "/upload",
        data={"csrf_token": token, "target": ""},
        files={"file": ("labs.csv", table.encode("utf-8"), "text/csv")},
    )
    assert response.status_code == 409
    assert "deleted by an admin" in response.text
